/* Training loops (lib/train): the fine-tuning session's phase machine and
 * due updates, mixed/append sampling, the library-owned loop with env
 * errors, NaNs and cancellation, evaluation, pretraining and session
 * checkpoints. Small networks: these check bookkeeping, not learning (that
 * is tests/learning). */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suites.h"
#include "toy_envs.h"
#include "train/train_internal.h"
#include "wsrl/wsrl.h"

#define ck_assert_msg_has(sub) ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), (sub)))

/* ---- fixture: no error-level log line may appear ---- */

static int error_lines, warn_lines;

static void count_log(void *user, int32_t level, const char *message) {
  (void)user;
  if (level == WSRL_LOG_ERROR) {
    error_lines++;
    fprintf(stderr, "unexpected error log: %s\n", message);
  } else if (level == WSRL_LOG_WARN) {
    warn_lines++;
  }
}

static char dir[64];

static void setup(void) {
  error_lines = warn_lines = 0;
  wsrl_set_log_handler(count_log, NULL, WSRL_LOG_WARN, NULL, NULL);
  snprintf(dir, sizeof dir, "/tmp/wsrl-test-train-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
  wsrl_set_log_handler(NULL, NULL, 0, NULL, NULL);
  DIR *d = opendir(dir);
  if (d != NULL) {
    struct dirent *e;
    char p[600];
    while ((e = readdir(d)) != NULL)
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        remove(p);
      }
    closedir(d);
    rmdir(dir);
  }
  ck_assert_int_eq(error_lines, 0);
}

/* ---- helpers ---- */

/* Tiny networks: ensemble 2, batch 8, UTD 2 (16 rows an online update).
 * finetune.start_rule = warmup: updates right after the K warmup steps, so
 * the phase cases count from there (the reference's rule: start_rule_*). */
static wsrl_config_t *small_config(const char *algorithm) {
  wsrl_config_t *c = NULL;
  ck_assert_int_eq(wsrl_config_create(&c), WSRL_OK);
  const char *text = "critic.hidden = 16,16\nactor.hidden = 16,16\ncritic.ensemble_size = 2\n"
                     "critic.subsample = 2\nupdate.batch_size = 8\nupdate.utd = 2\ncql.n_actions = 2\ntd.max_target_actions = 2\n"
                     "replay.capacity = 1000\nfinetune.warmup_steps = 10\nlog.interval = 10\n"
                     "eval.episodes = 2\neval.interval = 0\nagent.threads = 1\nfinetune.start_rule = warmup\n";
  ck_assert_int_eq(wsrl_config_parse_string(c, text), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(c, "agent.algorithm", algorithm), WSRL_OK);
  return c;
}

static wsrl_env_t *point_env(const toy_env_options_t *o) {
  wsrl_env_t *env = NULL;
  ck_assert_int_eq(toy_point_create(&env, o), WSRL_OK);
  return env;
}

static wsrl_agent_t *make_agent(const wsrl_config_t *c, const wsrl_env_t *env) {
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  ck_assert_int_eq(wsrl_env_get_spec(env, &spec), WSRL_OK);
  wsrl_agent_t *a = NULL;
  ck_assert_int_eq(wsrl_agent_create(&a, c, &spec), WSRL_OK);
  return a;
}

static wsrl_session_t *make_session(wsrl_agent_t *agent, wsrl_replay_t *offline) {
  wsrl_session_options_t o = WSRL_SESSION_OPTIONS_INIT;
  o.offline = offline;
  wsrl_session_t *s = NULL;
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_OK);
  return s;
}

static wsrl_session_info_t info_of(const wsrl_session_t *s) {
  wsrl_session_info_t i = WSRL_SESSION_INFO_INIT;
  ck_assert_int_eq(wsrl_session_info(s, &i), WSRL_OK);
  return i;
}

static wsrl_agent_counters_t counters_of(const wsrl_agent_t *a) {
  wsrl_agent_counters_t c = WSRL_AGENT_COUNTERS_INIT;
  ck_assert_int_eq(wsrl_agent_counters(a, &c), WSRL_OK);
  return c;
}

/* A synthetic point-mass transition number i (obs 6, action in [-2, 2]). */
static void transition(int64_t i, float *obs, float *act, float *next) {
  for (int j = 0; j < 6; j++) {
    obs[j] = (float)sin(0.37 * (double)i + j);
    next[j] = (float)sin(0.37 * (double)(i + 1) + j);
  }
  act[0] = (float)(1.5 * cos(0.11 * (double)i));
  act[1] = (float)(-1.2 * sin(0.23 * (double)i));
}

static void observe_n(wsrl_session_t *s, int64_t first, int64_t n, float reward, int64_t episode_len) {
  float o[6], a[2], nx[6];
  for (int64_t i = first; i < first + n; i++) {
    transition(i, o, a, nx);
    int32_t tr = episode_len > 0 && (i + 1) % episode_len == 0;
    ck_assert_int_eq(wsrl_session_observe(s, o, a, reward, nx, 0, tr), WSRL_OK);
  }
}

/* A dataset of n transitions with a constant raw reward (a marker). */
static wsrl_replay_t *dataset(int64_t n, float reward) {
  wsrl_replay_t *r = NULL;
  ck_assert_int_eq(wsrl_replay_create(&r, 6, 2, n, NULL), WSRL_OK);
  float o[6], a[2], nx[6];
  for (int64_t i = 0; i < n; i++) {
    transition(1000 + i, o, a, nx);
    a[0] *= 0.5f;
    a[1] *= 0.5f;
    ck_assert_int_eq(wsrl_replay_add(r, o, a, reward, nx, 0, (i + 1) % 25 == 0), WSRL_OK);
  }
  return r;
}

/* Deterministic action of the agent on a fixed probe observation. */
static void probe(wsrl_agent_t *a, float out[2]) {
  const float obs[6] = {0.1f, -0.2f, 0.3f, 0.0f, -0.5f, 0.25f};
  ck_assert_int_eq(wsrl_agent_act(a, 1, obs, WSRL_ACT_DETERMINISTIC | WSRL_ACT_UNIT, out), WSRL_OK);
}

/* ---- init functions, arguments ---- */

/* Tear down what a case built (any of them may be NULL). */
static void destroy_all(wsrl_session_t *s, wsrl_agent_t *agent, wsrl_config_t *c, wsrl_env_t *env) {
  wsrl_session_destroy(s);
  wsrl_agent_destroy(agent);
  wsrl_config_destroy(c);
  wsrl_env_destroy(env);
}

START_TEST(init_functions) {
  wsrl_session_options_t o;
  wsrl_session_info_t i;
  wsrl_eval_result_t r;
  memset(&o, 0xAB, sizeof o);
  memset(&i, 0xAB, sizeof i);
  memset(&r, 0xAB, sizeof r);
  ck_assert_int_eq(wsrl_session_options_init(&o, sizeof o), WSRL_OK);
  ck_assert_uint_eq(o.struct_size, sizeof o);
  ck_assert_ptr_null(o.offline);
  ck_assert_int_eq(o.max_episode_steps, 0);
  ck_assert_int_eq(wsrl_session_info_init(&i, sizeof i), WSRL_OK);
  ck_assert_uint_eq(i.struct_size, sizeof i);
  ck_assert_int_eq(wsrl_eval_result_init(&r, sizeof r), WSRL_OK);
  ck_assert_uint_eq(r.struct_size, sizeof r);
  ck_assert_int_eq(wsrl_session_options_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_info_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_eval_result_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(create_rejects_invalid) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("calql");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = (wsrl_session_t *)0x1;
  wsrl_session_options_t o = WSRL_SESSION_OPTIONS_INIT;
  const wsrl__rng loop = *wsrl__agent_rng(agent, WSRL__AGENT_RNG_LOOP);

  ck_assert_int_eq(wsrl_session_create(NULL, agent, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_create(&s, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(s);
  ck_assert_msg_has("agent");

  o.struct_size = 0;
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("WSRL_SESSION_OPTIONS_INIT");
  o.struct_size = sizeof o + 8;
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_ERR_VERSION_MISMATCH);
  o.struct_size = sizeof o;
  o.max_episode_steps = -1;
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("max_episode_steps");
  o.max_episode_steps = 0;

  /* mixed / append (the agent's config) need a non-empty dataset of the agent's sizes */
  wsrl_config_t *mixed = small_config("calql");
  ck_assert_int_eq(wsrl_config_set(mixed, "finetune.offline_data", "mixed"), WSRL_OK);
  wsrl_agent_t *magent = make_agent(mixed, env);
  ck_assert_int_eq(wsrl_session_create(&s, magent, &o), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("options->offline");
  wsrl_replay_t *empty = NULL, *wrong = NULL;
  ck_assert_int_eq(wsrl_replay_create(&empty, 6, 2, 10, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_create(&wrong, 5, 2, 10, NULL), WSRL_OK);
  o.offline = empty;
  ck_assert_int_eq(wsrl_session_create(&s, magent, &o), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("empty");
  o.offline = wrong;
  ck_assert_int_eq(wsrl_session_create(&s, magent, &o), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim 5");
  o.offline = NULL;
  wsrl_agent_destroy(magent);

  /* failed creates left the agent offline */
  int32_t phase = -1;
  ck_assert_int_eq(wsrl_agent_phase(agent, &phase), WSRL_OK);
  ck_assert_int_eq(phase, WSRL_AGENT_OFFLINE);
  ck_assert_mem_eq(wsrl__agent_rng(agent, WSRL__AGENT_RNG_LOOP), &loop, sizeof loop);

  /* an older, shorter options struct: absent fields are defaults */
  o.struct_size = (uint32_t)offsetof(wsrl_session_options_t, max_episode_steps);
  o.max_episode_steps = -5; /* past struct_size: never read */
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_phase(agent, &phase), WSRL_OK);
  ck_assert_int_eq(phase, WSRL_AGENT_ONLINE);
  wsrl_session_destroy(s);
  wsrl_session_destroy(NULL);

  wsrl_replay_destroy(empty);
  wsrl_replay_destroy(wrong);
  wsrl_config_destroy(mixed);
  wsrl_agent_destroy(agent);
  wsrl_config_destroy(c);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(null_arguments) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  float o[6] = {0}, a[2] = {0};
  int64_t n = 0;
  int32_t p = 0;
  wsrl_session_info_t info = WSRL_SESSION_INFO_INIT;

  ck_assert_int_eq(wsrl_session_observe(NULL, o, a, 0, o, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_observe(s, NULL, a, 0, o, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs");
  ck_assert_int_eq(wsrl_session_observe(s, o, NULL, 0, o, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_observe(s, o, a, 0, NULL, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_train(NULL, -1, &n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_phase(NULL, &p), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_phase(s, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_updates_due(NULL, &n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_updates_due(s, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_info(NULL, &info), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_info(s, NULL), WSRL_ERR_INVALID_ARGUMENT);
  info.struct_size = 0;
  ck_assert_int_eq(wsrl_session_info(s, &info), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("WSRL_SESSION_INFO_INIT");
  info.struct_size = sizeof info + 4;
  ck_assert_int_eq(wsrl_session_info(s, &info), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_ptr_null(wsrl_session_agent(NULL));
  ck_assert_ptr_null(wsrl_session_replay(NULL));
  ck_assert_ptr_eq(wsrl_session_agent(s), agent);
  ck_assert_ptr_nonnull(wsrl_session_replay(s));
  ck_assert_int_eq(wsrl_session_act(NULL, o, a), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_act(s, NULL, a), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_act(s, o, a), WSRL_OK);
  ck_assert(a[0] >= -2 && a[0] <= 2 && a[1] >= -2 && a[1] <= 2);

  /* non-finite transitions: nothing stored, nothing counted */
  o[3] = NAN;
  ck_assert_int_eq(wsrl_session_observe(s, o, a, 0, o, 0, 0), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("obs");
  o[3] = 0;
  ck_assert_int_eq(wsrl_session_observe(s, o, a, INFINITY, o, 0, 0), WSRL_ERR_NON_FINITE);
  a[1] = NAN;
  ck_assert_int_eq(wsrl_session_observe(s, o, a, 0, o, 0, 0), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("action");
  ck_assert_int_eq(info_of(s).env_steps, 0);
  ck_assert_int_eq(info_of(s).buffer_size, 0);

  ck_assert_int_eq(wsrl_finetune(NULL, env, NULL, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_finetune(s, NULL, NULL, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, -1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("steps");
  ck_assert_int_eq(wsrl_finetune(s, env, env, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("eval_env");
  wsrl_env_t *pend = NULL;
  ck_assert_int_eq(toy_pendulum_create(&pend, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_finetune(s, pend, NULL, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim 3");
  ck_assert_int_eq(wsrl_finetune(s, env, pend, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 0, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(info_of(s).env_steps, 0);

  ck_assert_int_eq(wsrl_session_save(NULL, "x", 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_save(s, NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_save(s, "x", 4), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_load(NULL, "x"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_session_load(s, NULL), WSRL_ERR_INVALID_ARGUMENT);

  wsrl_env_destroy(pend);
  destroy_all(s, agent, c, env);
}
END_TEST

/* ---- the phase machine ---- */

START_TEST(warmup_k_transitions_no_update) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("calql");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  /* the switch happens at create, before the warmup */
  int32_t phase = -1;
  ck_assert_int_eq(wsrl_agent_phase(agent, &phase), WSRL_OK);
  ck_assert_int_eq(phase, WSRL_AGENT_ONLINE);

  for (int64_t k = 0; k < 10; k++) {
    ck_assert_int_eq(wsrl_session_phase(s, &phase), WSRL_OK);
    ck_assert_int_eq(phase, WSRL_SESSION_WARMUP);
    ck_assert_int_eq(info_of(s).warmup_done, k);
    observe_n(s, k, 1, 0.5f, 0);
    int64_t done = -1, due = -1;
    ck_assert_int_eq(wsrl_session_train(s, -1, &done), WSRL_OK);
    ck_assert_int_eq(done, 0);
    ck_assert_int_eq(wsrl_session_updates_due(s, &due), WSRL_OK);
    ck_assert_int_eq(due, 0);
  }
  wsrl_session_info_t i = info_of(s);
  ck_assert_int_eq(i.phase, WSRL_SESSION_ONLINE);
  ck_assert_int_eq(i.env_steps, 10);
  ck_assert_int_eq(i.warmup_steps, 10);
  ck_assert_int_eq(i.warmup_done, 10);
  ck_assert_int_eq(i.buffer_size, 10);
  ck_assert_int_eq(i.updates_due, 0);
  ck_assert_int_eq(i.updates_done, 0);
  ck_assert_int_eq(counters_of(agent).updates, 0);

  /* the buffer holds exactly what was observed, actions in [-1, 1] */
  float o[6], a[2], nx[6], got_o[6], got_a[2];
  transition(3, o, a, nx);
  ck_assert_int_eq(wsrl_replay_get(wsrl_session_replay(s), 3, 1, got_o, got_a, NULL, NULL, NULL, NULL, NULL),
                   WSRL_OK);
  ck_assert_mem_eq(got_o, o, sizeof o);
  ck_assert_float_eq_tol(got_a[0], a[0] / 2, 1e-6);
  ck_assert_float_eq_tol(got_a[1], a[1] / 2, 1e-6);

  observe_n(s, 10, 1, 0.5f, 0);
  ck_assert_int_eq(info_of(s).updates_due, 1);
  int64_t done = 0;
  ck_assert_int_eq(wsrl_session_train(s, -1, &done), WSRL_OK);
  ck_assert_int_eq(done, 1);
  ck_assert_int_eq(counters_of(agent).online_updates, 1);
  ck_assert_int_eq(counters_of(agent).offline_updates, 0);

  destroy_all(s, agent, c, env);
}
END_TEST

START_TEST(finetune_warmup_then_one_update_per_step) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("cql");
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 30), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 30, NULL, NULL), WSRL_OK);
  wsrl_agent_counters_t ac = counters_of(agent);
  ck_assert_int_eq(ac.updates, 0);
  ck_assert_int_eq(ac.act_calls, 30);
  wsrl_session_info_t i = info_of(s);
  ck_assert_int_eq(i.buffer_size, 30);
  ck_assert_int_eq(i.env_steps, 30);
  ck_assert_int_eq(i.phase, WSRL_SESSION_ONLINE);
  ck_assert_int_eq(i.updates_done, 0);

  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 7, NULL, NULL), WSRL_OK);
  ac = counters_of(agent);
  ck_assert_int_eq(ac.online_updates, 7);
  ck_assert_int_eq(ac.critic_steps, 7 * 2); /* UTD 2 */
  ck_assert_int_eq(ac.actor_steps, 7);
  i = info_of(s);
  ck_assert_int_eq(i.updates_done, 7);
  ck_assert_int_eq(i.updates_due, 0);
  ck_assert_int_eq(i.buffer_size, 37);
  /* 37 point-mass steps: the first episode (50 steps) is still running */
  ck_assert_int_le(i.episodes, 1);

  destroy_all(s, agent, c, env);
}
END_TEST

START_TEST(updates_due_counting) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set_int(c, "update.utd", 4), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 3), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  observe_n(s, 0, 8, 0, 0); /* 3 warmup + 5 due */
  int64_t due = 0, done = 0;
  ck_assert_int_eq(wsrl_session_updates_due(s, &due), WSRL_OK);
  ck_assert_int_eq(due, 5);
  ck_assert_int_eq(wsrl_session_train(s, 2, &done), WSRL_OK);
  ck_assert_int_eq(done, 2);
  ck_assert_int_eq(info_of(s).updates_due, 3);
  ck_assert_int_eq(wsrl_session_train(s, 0, &done), WSRL_OK);
  ck_assert_int_eq(done, 0);
  ck_assert_int_eq(wsrl_session_train(s, -1, &done), WSRL_OK);
  ck_assert_int_eq(done, 3);
  ck_assert_int_eq(wsrl_session_train(s, -1, NULL), WSRL_OK);
  wsrl_agent_counters_t ac = counters_of(agent);
  ck_assert_int_eq(ac.updates, 5);
  ck_assert_int_eq(ac.critic_steps, 5 * 4);
  ck_assert_int_eq(ac.actor_steps, 5);
  ck_assert_int_eq(info_of(s).updates_done, 5);
  destroy_all(s, agent, c, env);
}
END_TEST

START_TEST(start_updates_after_rule) {
  wsrl_env_t *env = point_env(NULL);
  /* an explicit threshold */
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 5), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.start_updates_after", 15), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  ck_assert_int_eq(info_of(s).start_updates_after, 15);
  observe_n(s, 0, 14, 0, 0);
  ck_assert_int_eq(info_of(s).updates_due, 0);
  ck_assert_int_eq(info_of(s).phase, WSRL_SESSION_ONLINE);
  observe_n(s, 14, 2, 0, 0);
  ck_assert_int_eq(info_of(s).updates_due, 2);
  wsrl_session_destroy(s);
  wsrl_agent_destroy(agent);
  wsrl_config_destroy(c);

  /* Cal-QL kept online: max(batch rows, episode length) */
  c = small_config("calql");
  ck_assert_int_eq(wsrl_config_set(c, "finetune.online_algorithm", "same"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 0), WSRL_OK);
  agent = make_agent(c, env);
  wsrl_session_options_t o = WSRL_SESSION_OPTIONS_INIT;
  o.max_episode_steps = 40;
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_OK);
  ck_assert_int_eq(info_of(s).start_updates_after, 40);
  wsrl_session_destroy(s);
  o.max_episode_steps = 0;
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_OK);
  ck_assert_int_eq(info_of(s).start_updates_after, 16); /* utd 2 x batch 8 */
  /* wsrl_finetune() learns the episode length from its env (50) */
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 49, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(info_of(s).start_updates_after, 50);
  ck_assert_int_eq(info_of(s).updates_done, 0);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 3, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(info_of(s).updates_done, 3);
  ck_assert_int_eq(counters_of(agent).online_updates, 3);
  destroy_all(s, agent, c, env);
}
END_TEST

/* ---- offline data baselines ---- */

static int count_marker(const float *reward, int64_t from, int64_t to, float marker) {
  int n = 0;
  for (int64_t i = from; i < to; i++)
    n += reward[i] == marker;
  return n;
}

/* First transition (1-based) after which an update is due, observing one
 * at a time (episodes of episode_len, 0 = never ending). */
static int64_t first_due(wsrl_session_t *s, int64_t limit, int64_t episode_len) {
  float o[6], a[2], nx[6];
  for (int64_t i = 0; i < limit; i++) {
    transition(i, o, a, nx);
    int32_t tr = episode_len > 0 && (i + 1) % episode_len == 0;
    ck_assert_int_eq(wsrl_session_observe(s, o, a, 0.0f, nx, 0, tr), WSRL_OK);
    if (info_of(s).updates_due > 0)
      return i + 1;
  }
  return -1;
}

/* A session of `algorithm` with K and extra config text; runs first_due. */
static int64_t first_due_of(const char *algorithm, int64_t k, const char *extra, int64_t max_episode_steps,
                            int64_t episode_len, int64_t *threshold_out) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config(algorithm);
  ck_assert_int_eq(wsrl_config_set(c, "finetune.start_rule", "reference"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", k), WSRL_OK);
  ck_assert_int_eq(wsrl_config_parse_string(c, extra), WSRL_OK);
  wsrl_replay_t *data = dataset(40, 7.0f);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_options_t o = WSRL_SESSION_OPTIONS_INIT;
  o.offline = data;
  o.max_episode_steps = max_episode_steps;
  wsrl_session_t *s = NULL;
  ck_assert_int_eq(wsrl_session_create(&s, agent, &o), WSRL_OK);
  *threshold_out = info_of(s).start_updates_after;
  const int64_t first = first_due(s, 200, episode_len);
  wsrl_replay_destroy(data);
  destroy_all(s, agent, c, env);
  return first;
}

/* The reference's start rule (finetune.start_rule = reference, the default):
 * no update while the buffer holds <= max(K, online rows of an update)
 * transitions, so K = 0 still waits for a batch of online data. */
START_TEST(start_rule_reference) {
  wsrl_config_t *c = NULL;
  ck_assert_int_eq(wsrl_config_create(&c), WSRL_OK);
  char v[32];
  ck_assert_int_eq(wsrl_config_get(c, "finetune.start_rule", v, sizeof v, NULL), WSRL_OK);
  ck_assert_str_eq(v, "reference");
  wsrl_config_destroy(c);
  int64_t t = 0;
  /* WSRL without warmup: UTD 2 x batch 8 = 16 online rows; first update at 17 */
  ck_assert_int_eq(first_due_of("sac", 0, "", 0, 0, &t), 17);
  ck_assert_int_eq(t, 17);
  /* K above the rows: the warmup decides (update at K + 1) */
  ck_assert_int_eq(first_due_of("calql", 30, "", 0, 0, &t), 31);
  /* mixed 50/50: 8 of the 16 rows are online */
  ck_assert_int_eq(first_due_of("sac", 0, "finetune.offline_data = mixed\n", 0, 0, &t), 9);
  /* mixed 0.3: int(0.3 * 16) = 4 offline rows, 12 online */
  ck_assert_int_eq(first_due_of("sac", 0, "finetune.offline_data = mixed\nfinetune.offline_ratio = 0.3\n", 0, 0, &t),
                   13);
  /* append counts online steps, not the dataset's rows */
  ck_assert_int_eq(first_due_of("sac", 0, "finetune.offline_data = append\n", 0, 0, &t), 17);
  /* Cal-QL kept online: also the episode length (40) */
  ck_assert_int_eq(first_due_of("calql", 0, "finetune.online_algorithm = same\n", 40, 40, &t), 41);
  /* the warmup-only rule starts right after K */
  ck_assert_int_eq(first_due_of("sac", 0, "finetune.start_rule = warmup\n", 0, 0, &t), 1);
  ck_assert_int_eq(first_due_of("sac", 4, "finetune.start_rule = warmup\n", 0, 0, &t), 5);
  /* an explicit threshold wins over both */
  ck_assert_int_eq(first_due_of("sac", 0, "finetune.start_updates_after = 6\n", 0, 0, &t), 6);
}
END_TEST

/* Cal-QL kept online draws its online rows from completed episodes only
 * (calql.online_completed_episodes, the reference's ReplayBufferMC). */
START_TEST(calql_online_completed_episodes) {
  wsrl_env_t *env = point_env(NULL);
  for (int on = 1; on >= 0; on--) {
    wsrl_config_t *c = small_config("calql");
    ck_assert_int_eq(wsrl_config_set(c, "finetune.online_algorithm", "same"), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 0), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set_int(c, "finetune.start_updates_after", 1), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set(c, "calql.online_completed_episodes", on ? "1" : "0"), WSRL_OK);
    wsrl_agent_t *agent = make_agent(c, env);
    wsrl_session_t *s = make_session(agent, NULL);
    /* an open episode: nothing completed, so no update is due with the rule */
    observe_n(s, 0, 6, 5.0f, 0);
    ck_assert_int_eq(info_of(s).updates_due, on ? 0 : 6);
    int64_t done = 0;
    ck_assert_int_eq(wsrl_session_train(s, -1, &done), WSRL_OK);
    /* close it (reward 5), then open another (reward 9) */
    float o[6], a[2], nx[6];
    transition(6, o, a, nx);
    ck_assert_int_eq(wsrl_session_observe(s, o, a, 5.0f, nx, 0, 1), WSRL_OK);
    observe_n(s, 7, 20, 9.0f, 0);
    int open_rows = 0;
    for (int u = 0; u < 20; u++) {
      ck_assert_int_eq(wsrl_session_train(s, 1, &done), WSRL_OK);
      ck_assert_int_eq(done, 1);
      open_rows += count_marker(s->batch.reward, 0, 16, 9.0f);
    }
    /* 320 draws, 20 of 27 rows open without the rule */
    if (on)
      ck_assert_int_eq(open_rows, 0);
    else
      ck_assert_int_gt(open_rows, 150);
    wsrl_session_destroy(s);
    wsrl_agent_destroy(agent);
    wsrl_config_destroy(c);
  }
  wsrl_env_destroy(env);
}
END_TEST

/* A sac session (warmup-only start, K = 0) over `data` with mixed batches of
 * the given ratio and layout; observes one transition, runs one update and
 * returns its batch rewards (16 rows: online ones 0, the dataset's 7), `steps`
 * times, calling check(rewards, arg) on each. */
static void mixed_updates(wsrl_env_t *env, wsrl_replay_t *data, double ratio, const char *layout, int steps,
                          void (*check)(const float *reward, int arg), int arg) {
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "finetune.offline_data", "mixed"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(c, "finetune.mixed_layout", layout), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_float(c, "finetune.offline_ratio", ratio), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 0), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, data);
  ck_assert_int_eq(info_of(s).buffer_size, 0); /* mixed keeps the dataset apart */
  for (int64_t step = 0; step < steps; step++) {
    observe_n(s, step, 1, 0.0f, 0);
    int64_t done = 0;
    ck_assert_int_eq(wsrl_session_train(s, -1, &done), WSRL_OK);
    ck_assert_int_eq(done, 1);
    check(s->batch.reward, arg);
  }
  wsrl_session_destroy(s);
  wsrl_agent_destroy(agent);
  wsrl_config_destroy(c);
}

/* interleaved: round(ratio * 16) dataset rows, every UTD minibatch of 8
 * keeping the ratio */
static void check_interleaved(const float *r, int n_off) {
  ck_assert_int_eq(count_marker(r, 0, 16, 7.0f), n_off);
  ck_assert_int_eq(count_marker(r, 0, 8, 7.0f), n_off / 2);
  ck_assert_int_eq(count_marker(r, 0, 16, 0.0f), 16 - n_off);
}

START_TEST(mixed_sampling_fraction) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_replay_t *data = dataset(60, 7.0f);
  wsrl__rng data_rng = *wsrl__replay_rng(data);
  const double ratios[] = {0.25, 0.5, 1.0};
  const int expect[] = {4, 8, 16}; /* of 16 rows: round(ratio * 16) */
  for (int k = 0; k < 3; k++)
    mixed_updates(env, data, ratios[k], "interleaved", 5, check_interleaved, expect[k]);
  /* the dataset's own RNG is the host's: the session drew with its own */
  ck_assert_mem_eq(wsrl__replay_rng(data), &data_rng, sizeof data_rng);
  wsrl_replay_destroy(data);
  wsrl_env_destroy(env);
}
END_TEST

/* blocks: the online rows first, then int(ratio * 16) dataset rows */
static void check_blocks(const float *r, int n_off) {
  ck_assert_int_eq(count_marker(r, 0, 16 - n_off, 0.0f), 16 - n_off);
  ck_assert_int_eq(count_marker(r, 16 - n_off, 16, 7.0f), n_off);
}

/* finetune.mixed_layout = blocks (the default, the reference's concatenation):
 * at 0.5 and UTD 2 the first critic minibatch is all online and the second
 * all offline. */
START_TEST(mixed_blocks_layout) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_replay_t *data = dataset(60, 7.0f);
  const double ratios[] = {0.5, 0.25, 0.3};
  const int n_off[] = {8, 4, 4};
  for (int k = 0; k < 3; k++)
    mixed_updates(env, data, ratios[k], "blocks", 4, check_blocks, n_off[k]);
  wsrl_replay_destroy(data);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(append_and_none_sampling) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_replay_t *data = dataset(30, 7.0f);
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "finetune.offline_data", "append"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 0), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "replay.capacity", 10), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, data);
  /* the dataset is copied in; capacity = dataset + replay.capacity */
  ck_assert_int_eq(info_of(s).buffer_size, 30);
  int64_t cap = 0, eps = 0;
  ck_assert_int_eq(wsrl_replay_capacity(wsrl_session_replay(s), &cap), WSRL_OK);
  ck_assert_int_eq(cap, 40);
  observe_n(s, 0, 10, 0.0f, 0);
  ck_assert_int_eq(info_of(s).buffer_size, 40);
  /* online transitions never join the dataset's episodes */
  ck_assert_int_eq(wsrl_replay_episode_count(wsrl_session_replay(s), &eps), WSRL_OK);
  ck_assert_int_eq(eps, 2); /* the dataset's 30 rows: one closed at 25, the tail closed by the session */
  int offline_rows = 0;
  for (int u = 0; u < 10; u++) {
    int64_t done = 0;
    ck_assert_int_eq(wsrl_session_train(s, 1, &done), WSRL_OK);
    ck_assert_int_eq(done, 1);
    offline_rows += count_marker(s->batch.reward, 0, 16, 7.0f);
  }
  /* 160 uniform draws from 30 offline + 10 online rows: 120 expected, sd 5.5 */
  ck_assert_int_ge(offline_rows, 95);
  ck_assert_int_le(offline_rows, 145);
  wsrl_session_destroy(s);

  /* none: only online rows, the dataset is ignored */
  ck_assert_int_eq(wsrl_config_set(c, "finetune.offline_data", "none"), WSRL_OK);
  wsrl_agent_destroy(agent); /* the session reads its agent's config */
  agent = make_agent(c, env);
  s = make_session(agent, data);
  ck_assert_int_eq(info_of(s).buffer_size, 0);
  observe_n(s, 0, 3, 0.0f, 0);
  ck_assert_int_eq(wsrl_session_train(s, -1, NULL), WSRL_OK);
  ck_assert_int_eq(count_marker(s->batch.reward, 0, 16, 7.0f), 0);
  wsrl_session_destroy(s);

  wsrl_agent_destroy(agent);
  wsrl_config_destroy(c);
  wsrl_replay_destroy(data);
  wsrl_env_destroy(env);
}
END_TEST

/* ---- the library-owned loop: failures keep everything ---- */

START_TEST(env_callback_error_keeps_counters) {
  toy_env_options_t eo = {0};
  eo.fail_step = 25;
  eo.fail_code = 42;
  eo.fail_message = "motor fault";
  wsrl_env_t *env = point_env(&eo);
  wsrl_config_t *c = small_config("sac");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 100, NULL, NULL), WSRL_ERR_ENV_CALLBACK);
  ck_assert_msg_has("motor fault");
  ck_assert_int_eq(wsrl_env_last_callback_code(env), 42);
  wsrl_session_info_t i = info_of(s);
  ck_assert_int_eq(i.env_steps, 24);
  ck_assert_int_eq(i.buffer_size, 24);
  ck_assert_int_eq(i.updates_done, 14); /* K = 10 */
  ck_assert_int_eq(counters_of(agent).online_updates, 14);
  /* a later call goes on with a new episode; the cut one is closed */
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 10, NULL, NULL), WSRL_OK);
  i = info_of(s);
  ck_assert_int_eq(i.env_steps, 34);
  ck_assert_int_eq(i.updates_done, 24);
  int64_t eps = 0;
  ck_assert_int_eq(wsrl_replay_episode_count(wsrl_session_replay(s), &eps), WSRL_OK);
  ck_assert_int_eq(eps, 1);
  destroy_all(s, agent, c, env);

  /* a failing reset is reported the same way */
  toy_env_options_t ro = {0};
  ro.fail_reset = 1;
  ro.fail_code = 7;
  env = point_env(&ro);
  c = small_config("sac");
  agent = make_agent(c, env);
  s = make_session(agent, NULL);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 5, NULL, NULL), WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(wsrl_env_last_callback_code(env), 7);
  ck_assert_int_eq(info_of(s).env_steps, 0);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 5, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(info_of(s).env_steps, 5);
  destroy_all(s, agent, c, env);
}
END_TEST

START_TEST(nan_observation_error_vs_skip_reset) {
  toy_env_options_t eo = {0};
  eo.nan_obs_step = 15;
  wsrl_env_t *env = point_env(&eo);
  wsrl_config_t *c = small_config("sac");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 30, NULL, NULL), WSRL_ERR_NON_FINITE);
  ck_assert_int_eq(info_of(s).env_steps, 14);
  ck_assert_int_eq(info_of(s).buffer_size, 14);
  ck_assert_int_eq(info_of(s).updates_done, 4);
  destroy_all(s, agent, c, env);

  /* the same NaN observation under skip_reset */
  env = point_env(&eo);
  c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "env.nonfinite", "skip_reset"), WSRL_OK);
  agent = make_agent(c, env);
  s = make_session(agent, NULL);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 30, NULL, NULL), WSRL_OK);
  wsrl_session_info_t i = info_of(s);
  ck_assert_int_eq(i.nonfinite_skips, 1);
  ck_assert_int_eq(i.env_steps, 29); /* the skipped step is not a transition */
  ck_assert_int_eq(i.buffer_size, 29);
  ck_assert_int_eq(i.updates_done, 19);
  ck_assert_int_ge(warn_lines, 1);
  /* the episode cut by the skip is closed in the buffer; the next one runs */
  int64_t eps = 0, open = 0;
  ck_assert_int_eq(wsrl_replay_episode_count(wsrl_session_replay(s), &eps), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_open_length(wsrl_session_replay(s), &open), WSRL_OK);
  ck_assert_int_eq(eps, 1);
  ck_assert_int_eq(open, 15);
  destroy_all(s, agent, c, env);

  /* a NaN reward under error stops the loop too */
  toy_env_options_t ro = {0};
  ro.nan_reward_step = 3;
  env = point_env(&ro);
  c = small_config("sac");
  agent = make_agent(c, env);
  s = make_session(agent, NULL);
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 10, NULL, NULL), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("reward");
  ck_assert_int_eq(info_of(s).env_steps, 2);
  destroy_all(s, agent, c, env);
}
END_TEST

typedef struct recorder {
  int64_t stop_at;        /* return 1 at the first record with step >= stop_at (0: never) */
  int calls, eval_calls, log_calls;
  int64_t last_step;
  double last_phase, last_eval_mean;
  int saw_agent_metric;
  wsrl_session_t *session; /* re-entry probe */
  wsrl_env_t *env;
  wsrl_status_t reenter_observe, reenter_finetune, reenter_save;
} recorder;

static int32_t record(void *user, int64_t step, int32_t n, const char *const *names, const double *values) {
  recorder *r = user;
  r->calls++;
  r->last_step = step;
  int is_eval = 0;
  for (int32_t i = 0; i < n; i++) {
    if (strcmp(names[i], "eval/return_mean") == 0) {
      is_eval = 1;
      r->last_eval_mean = values[i];
    }
    if (strcmp(names[i], "phase") == 0)
      r->last_phase = values[i];
    if (strcmp(names[i], "critic_loss") == 0)
      r->saw_agent_metric = 1;
  }
  if (is_eval)
    r->eval_calls++;
  else
    r->log_calls++;
  if (r->session != NULL) {
    float o[6] = {0}, a[2] = {0};
    r->reenter_observe = wsrl_session_observe(r->session, o, a, 0, o, 0, 0);
    r->reenter_finetune = wsrl_finetune(r->session, r->env, NULL, 0, NULL, NULL);
    r->reenter_save = wsrl_session_save(r->session, "/nonexistent/x", 0);
  }
  return r->stop_at > 0 && step >= r->stop_at;
}

START_TEST(cancel_from_progress_and_resume) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  recorder r = {0};
  r.stop_at = 20;
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 100, record, &r), WSRL_ERR_CANCELLED);
  ck_assert_msg_has("progress");
  ck_assert_int_eq(r.log_calls, 2); /* at 10 and 20 (log.interval 10) */
  ck_assert_int_eq(r.last_step, 20);
  ck_assert(r.saw_agent_metric);
  ck_assert_double_eq(r.last_phase, WSRL_SESSION_ONLINE);
  ck_assert_int_eq(info_of(s).env_steps, 20);
  ck_assert_int_eq(info_of(s).updates_done, 10);
  /* Saving after the stop succeeds and keeps the stop's message (a
   * successful call never rewrites it). */
  char path[64];
  snprintf(path, sizeof path, "/tmp/wsrl-cancel-%ld.sess", (long)getpid());
  ck_assert_int_eq(wsrl_session_save(s, path, WSRL_SESSION_SAVE_REPLAY), WSRL_OK);
  remove(path);
  ck_assert_msg_has("progress callback asked to stop");
  /* resumable: the rest of the steps, same episode */
  r.stop_at = 0;
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 80, record, &r), WSRL_OK);
  ck_assert_int_eq(info_of(s).env_steps, 100);
  ck_assert_int_eq(info_of(s).updates_done, 90);
  ck_assert_int_ge(info_of(s).episodes, 2); /* 50-step episodes, or shorter when the goal is reached */
  ck_assert_int_eq(r.log_calls, 10);
  destroy_all(s, agent, c, env);
}
END_TEST

START_TEST(reentry_from_callback_refused) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  recorder r = {0};
  r.session = s;
  r.env = env;
  ck_assert_int_eq(wsrl_finetune(s, env, NULL, 10, record, &r), WSRL_OK);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.reenter_observe, WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(r.reenter_save, WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(r.reenter_finetune, WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(info_of(s).env_steps, 10);
  destroy_all(s, agent, c, env);
}
END_TEST

START_TEST(finetune_evaluations_and_logs) {
  wsrl_env_t *env = point_env(NULL), *eval_env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set_int(c, "eval.interval", 20), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  recorder r = {0};
  ck_assert_int_eq(wsrl_finetune(s, env, eval_env, 45, record, &r), WSRL_OK);
  /* at the switch (0), at 20 and 40, and after the last step (45) */
  ck_assert_int_eq(r.eval_calls, 4);
  ck_assert_int_eq(r.log_calls, 4);
  wsrl_session_info_t i = info_of(s);
  ck_assert_int_eq(i.evaluations, 4);
  ck_assert_int_eq(i.last_eval_step, 45);
  ck_assert_double_eq(i.last_eval_return, r.last_eval_mean);
  ck_assert(isfinite(i.last_eval_return) && i.last_eval_return < 0);
  /* the evaluation equals wsrl_evaluate() with the session's seeds */
  wsrl_eval_result_t e = WSRL_EVAL_RESULT_INIT;
  ck_assert_int_eq(wsrl_evaluate(agent, eval_env, 2, s->eval_seed, &e), WSRL_OK);
  ck_assert_double_eq(e.return_mean, i.last_eval_return);
  /* evaluation does not disturb the training episode or the agent's streams */
  ck_assert_int_eq(counters_of(agent).act_calls, 45);
  destroy_all(s, agent, c, env);
  wsrl_env_destroy(eval_env);
}
END_TEST

/* Counting allocator: the per-step path must not allocate. */
static long allocs;
static void *count_alloc(void *u, size_t n) {
  (void)u;
  allocs++;
  return malloc(n);
}
static void *count_realloc(void *u, void *p, size_t n) {
  (void)u;
  allocs++;
  return realloc(p, n);
}
static void count_free(void *u, void *p) {
  (void)u;
  free(p);
}

START_TEST(no_allocation_per_step) {
  wsrl_env_t *env = point_env(NULL), *eval_env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set_int(c, "eval.interval", 20), WSRL_OK);
  wsrl_allocator_t hooks = WSRL_ALLOCATOR_INIT;
  hooks.alloc = count_alloc;
  hooks.realloc = count_realloc;
  hooks.free = count_free;
  ck_assert_int_eq(wsrl_config_set_allocator(c, &hooks), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  ck_assert_int_gt(allocs, 0);
  ck_assert_int_eq(wsrl_finetune(s, env, eval_env, 5, NULL, NULL), WSRL_OK);
  long before = allocs;
  recorder r = {0};
  ck_assert_int_eq(wsrl_finetune(s, env, eval_env, 60, record, &r), WSRL_OK);
  ck_assert_int_eq(allocs, before);
  ck_assert_int_gt(info_of(s).updates_done, 40);
  destroy_all(s, agent, c, env);
  wsrl_env_destroy(eval_env);
}
END_TEST

START_TEST(finetune_split_equals_uninterrupted) {
  /* 25 + 35 steps in two calls equal 60 steps in one, bitwise */
  float act[2][2];
  for (int run = 0; run < 2; run++) {
    wsrl_env_t *env = point_env(NULL);
    wsrl_config_t *c = small_config("sac");
    wsrl_agent_t *agent = make_agent(c, env);
    wsrl_session_t *s = make_session(agent, NULL);
    if (run == 0) {
      ck_assert_int_eq(wsrl_finetune(s, env, NULL, 60, NULL, NULL), WSRL_OK);
    } else {
      ck_assert_int_eq(wsrl_finetune(s, env, NULL, 25, NULL, NULL), WSRL_OK);
      ck_assert_int_eq(wsrl_finetune(s, env, NULL, 35, NULL, NULL), WSRL_OK);
    }
    probe(agent, act[run]);
    wsrl_session_destroy(s);
    wsrl_agent_destroy(agent);
    wsrl_config_destroy(c);
    wsrl_env_destroy(env);
  }
  ck_assert_mem_eq(act[0], act[1], sizeof act[0]);
}
END_TEST

/* ---- evaluation ---- */

START_TEST(evaluate_deterministic) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_eval_result_t r1 = WSRL_EVAL_RESULT_INIT, r2 = WSRL_EVAL_RESULT_INIT;
  ck_assert_int_eq(wsrl_evaluate(agent, env, 3, 5, &r1), WSRL_OK);
  ck_assert_int_eq(wsrl_evaluate(agent, env, 3, 5, &r2), WSRL_OK);
  ck_assert_mem_eq(&r1, &r2, sizeof r1);
  ck_assert_int_eq(r1.episodes, 3);
  ck_assert(r1.return_min <= r1.return_mean && r1.return_mean <= r1.return_max);
  ck_assert(r1.return_std >= 0);
  ck_assert(r1.length_mean > 0 && r1.length_mean <= TOY_POINT_MAX_STEPS);
  ck_assert_int_eq(counters_of(agent).act_calls, 0); /* deterministic: no sampling */
  /* one episode: std 0, min = max = mean */
  ck_assert_int_eq(wsrl_evaluate(agent, env, 1, 5, &r2), WSRL_OK);
  ck_assert_double_eq(r2.return_std, 0);
  ck_assert_double_eq(r2.return_min, r2.return_max);

  /* an older, shorter result struct is filled only up to its size */
  struct {
    wsrl_eval_result_t r;
    char guard[8];
  } old;
  memset(&old, 0x5A, sizeof old);
  old.r.struct_size = (uint32_t)offsetof(wsrl_eval_result_t, return_std);
  ck_assert_int_eq(wsrl_evaluate(agent, env, 3, 5, &old.r), WSRL_OK);
  ck_assert_double_eq(old.r.return_mean, r1.return_mean);
  ck_assert_uint_eq(old.r.struct_size, offsetof(wsrl_eval_result_t, return_std));
  unsigned char tail[sizeof(wsrl_eval_result_t) - offsetof(wsrl_eval_result_t, return_std)];
  memset(tail, 0x5A, sizeof tail);
  ck_assert_mem_eq((unsigned char *)&old.r + offsetof(wsrl_eval_result_t, return_std), tail, sizeof tail);

  wsrl_eval_result_t bad = WSRL_EVAL_RESULT_INIT;
  ck_assert_int_eq(wsrl_evaluate(NULL, env, 1, 0, &bad), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_evaluate(agent, NULL, 1, 0, &bad), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_evaluate(agent, env, 1, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_evaluate(agent, env, 0, 0, &bad), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("episodes");
  bad.struct_size = 2;
  ck_assert_int_eq(wsrl_evaluate(agent, env, 1, 0, &bad), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("WSRL_EVAL_RESULT_INIT");
  bad.struct_size = sizeof bad + 8;
  ck_assert_int_eq(wsrl_evaluate(agent, env, 1, 0, &bad), WSRL_ERR_VERSION_MISMATCH);
  bad.struct_size = sizeof bad;
  wsrl_env_t *pend = NULL;
  ck_assert_int_eq(toy_pendulum_create(&pend, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_evaluate(agent, pend, 1, 0, &bad), WSRL_ERR_INVALID_ARGUMENT);
  /* an env error stops the evaluation and writes nothing */
  toy_env_options_t eo = {0};
  eo.fail_step = 3;
  wsrl_env_t *failing = point_env(&eo);
  memset(&bad, 0, sizeof bad);
  bad.struct_size = sizeof bad;
  ck_assert_int_eq(wsrl_evaluate(agent, failing, 2, 0, &bad), WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(bad.episodes, 0);

  wsrl_env_destroy(failing);
  wsrl_env_destroy(pend);
  wsrl_agent_destroy(agent);
  wsrl_config_destroy(c);
  wsrl_env_destroy(env);
}
END_TEST

/* ---- pretraining ---- */

START_TEST(pretrain_arguments_and_cancel) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("calql");
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_replay_t *data = dataset(100, -1.0f), *empty = NULL, *wrong = NULL;
  ck_assert_int_eq(wsrl_replay_create(&empty, 6, 2, 10, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_create(&wrong, 6, 3, 10, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_pretrain(NULL, data, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_pretrain(agent, NULL, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_pretrain(agent, data, -1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_pretrain(agent, empty, 1, NULL, NULL), WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(wsrl_pretrain(agent, wrong, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("act_dim 3");
  ck_assert_int_eq(wsrl_pretrain(agent, data, 0, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(counters_of(agent).updates, 0);

  recorder r = {0};
  r.stop_at = 20;
  ck_assert_int_eq(wsrl_pretrain(agent, data, 50, record, &r), WSRL_ERR_CANCELLED);
  wsrl_agent_counters_t ac = counters_of(agent);
  ck_assert_int_eq(ac.offline_updates, 20);
  ck_assert_int_eq(ac.critic_steps, 20); /* one critic step per offline update */
  ck_assert_int_eq(r.calls, 2);
  ck_assert(r.saw_agent_metric);
  r.stop_at = 0;
  ck_assert_int_eq(wsrl_pretrain(agent, data, 30, record, &r), WSRL_OK);
  ck_assert_int_eq(counters_of(agent).offline_updates, 50);
  ck_assert_int_eq(r.last_step, 50);
  wsrl_replay_destroy(wrong);
  wsrl_replay_destroy(empty);
  wsrl_replay_destroy(data);
  wsrl_agent_destroy(agent);
  wsrl_config_destroy(c);
  wsrl_env_destroy(env);
}
END_TEST

/* A dataset like dataset() with options from a config (and one field changed). */
static wsrl_replay_t *dataset_for(const wsrl_config_t *c, int64_t n, const char *field, double value) {
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  ck_assert_int_eq(wsrl_replay_options_from_config(c, &opt), WSRL_OK);
  if (field && strcmp(field, "discount") == 0)
    opt.discount = value;
  else if (field && strcmp(field, "reward_scale") == 0)
    opt.reward_scale = value;
  else if (field && strcmp(field, "reward_bias") == 0)
    opt.reward_bias = value;
  else if (field && strcmp(field, "mc_sparse") == 0)
    opt.mc_sparse = (int32_t)value;
  else if (field && strcmp(field, "mc_sparse_reward") == 0)
    opt.mc_sparse_reward = value;
  wsrl_replay_t *r = NULL;
  ck_assert_int_eq(wsrl_replay_create(&r, 6, 2, n, &opt), WSRL_OK);
  float o[6], a[2], nx[6];
  for (int64_t i = 0; i < n; i++) {
    transition(1000 + i, o, a, nx);
    a[0] *= 0.5f;
    a[1] *= 0.5f;
    ck_assert_int_eq(wsrl_replay_add(r, o, a, -1.0f, nx, 0, (i + 1) % 25 == 0), WSRL_OK);
  }
  return r;
}

START_TEST(dataset_must_agree_with_the_agents_config) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("calql");
  ck_assert_int_eq(wsrl_config_parse_string(c, "td.discount = 0.9\nreplay.reward_scale = 10\n"
                                               "replay.reward_bias = -5\nreplay.mc_sparse_reward = -1\n"), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  /* The case: a default dataset buffer under that config. */
  wsrl_replay_t *plain = dataset(50, -1.0f);
  ck_assert_int_eq(wsrl_pretrain(agent, plain, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("wsrl_pretrain: the dataset disagrees");
  ck_assert_msg_has("td.discount 0.9");
  ck_assert_msg_has("replay.reward_scale 10");
  ck_assert_msg_has("replay.reward_bias -5");
  ck_assert_msg_has("wsrl_replay_options_from_config");
  ck_assert_int_eq(counters_of(agent).updates, 0);
  /* Built from the agent's config: accepted. */
  wsrl_replay_t *good = dataset_for(c, 50, NULL, 0);
  ck_assert_int_eq(wsrl_pretrain(agent, good, 1, NULL, NULL), WSRL_OK);
  /* Each learner field alone is caught, named. */
  struct {
    const char *field;
    double value;
    const char *key;
  } cases[] = {{"discount", 0.99, "td.discount"},
               {"reward_scale", 1, "replay.reward_scale"},
               {"reward_bias", 0, "replay.reward_bias"},
               {"mc_sparse", 1, "replay.mc_sparse"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wsrl_replay_t *d = dataset_for(c, 50, cases[i].field, cases[i].value);
    ck_assert_int_eq(wsrl_pretrain(agent, d, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has(cases[i].key);
    wsrl_replay_destroy(d);
  }
  /* The sparse reward matters only under the sparse rule. */
  wsrl_config_t *sc = NULL;
  ck_assert_int_eq(wsrl_config_clone(&sc, c), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(sc, "replay.mc_sparse", "1"), WSRL_OK);
  wsrl_agent_t *sagent = make_agent(sc, env);
  wsrl_replay_t *sd = dataset_for(sc, 50, "mc_sparse_reward", 0);
  ck_assert_int_eq(wsrl_pretrain(sagent, sd, 1, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("replay.mc_sparse_reward -1");
  wsrl_replay_t *dd = dataset_for(c, 50, "mc_sparse_reward", 0); /* no sparse rule: agrees */
  ck_assert_int_eq(wsrl_pretrain(agent, dd, 1, NULL, NULL), WSRL_OK);

  /* replay.mismatch = warn: one warning through the log per call, then the work. */
  wsrl_config_t *wc = NULL;
  ck_assert_int_eq(wsrl_config_clone(&wc, c), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(wc, "replay.mismatch", "warn"), WSRL_OK);
  wsrl_agent_t *wagent = make_agent(wc, env);
  ck_assert_int_eq(warn_lines, 0);
  ck_assert_int_eq(wsrl_pretrain(wagent, plain, 2, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(warn_lines, 1);
  ck_assert_int_eq(counters_of(wagent).updates, 2);

  /* Sessions: a mixed or append dataset is checked the same way. */
  const char *modes[] = {"mixed", "append"};
  for (int m = 0; m < 2; m++) {
    wsrl_config_t *mc = NULL, *mw = NULL;
    ck_assert_int_eq(wsrl_config_clone(&mc, c), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set(mc, "finetune.offline_data", modes[m]), WSRL_OK);
    ck_assert_int_eq(wsrl_config_clone(&mw, mc), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set(mw, "replay.mismatch", "warn"), WSRL_OK);
    wsrl_agent_t *ma = make_agent(mc, env), *mwa = make_agent(mw, env);
    wsrl_session_options_t o = WSRL_SESSION_OPTIONS_INIT;
    o.offline = plain;
    wsrl_session_t *s = (wsrl_session_t *)1;
    ck_assert_int_eq(wsrl_session_create(&s, ma, &o), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(s);
    ck_assert_msg_has("options->offline disagrees");
    ck_assert_msg_has("td.discount");
    const int before = warn_lines;
    s = make_session(mwa, plain);
    ck_assert_int_eq(warn_lines, before + 1);
    wsrl_session_destroy(s);
    s = make_session(ma, good);
    wsrl_session_destroy(s);
    wsrl_agent_destroy(mwa);
    wsrl_agent_destroy(ma);
    wsrl_config_destroy(mw);
    wsrl_config_destroy(mc);
  }
  wsrl_agent_destroy(wagent);
  wsrl_config_destroy(wc);
  wsrl_replay_destroy(dd);
  wsrl_replay_destroy(sd);
  wsrl_agent_destroy(sagent);
  wsrl_config_destroy(sc);
  wsrl_replay_destroy(good);
  wsrl_replay_destroy(plain);
  destroy_all(NULL, agent, c, env);
}
END_TEST

START_TEST(session_buffer_follows_the_agents_config) {
  /* The sparse rule and reward transform of the online buffer are the
   * agent's replay.* keys (no session option duplicates them). */
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_parse_string(c, "td.discount = 0.9\nreplay.mc_sparse = 1\n"
                                               "replay.mc_sparse_reward = -1\nreplay.reward_scale = 2\n"), WSRL_OK);
  wsrl_agent_t *agent = make_agent(c, env);
  wsrl_session_t *s = make_session(agent, NULL);
  observe_n(s, 0, 4, -1.0f, 4);
  float mc[4], rew[4];
  ck_assert_int_eq(wsrl_replay_get(wsrl_session_replay(s), 0, 4, NULL, NULL, rew, NULL, NULL, NULL, mc), WSRL_OK);
  for (int i = 0; i < 4; i++) {
    ck_assert_float_eq_tol(rew[i], -2.0f, 1e-6f);
    ck_assert_float_eq_tol(mc[i], -2.0f / (1.0f - 0.9f), 1e-4f); /* the sparse rule, transformed */
  }
  /* A config whose replay keys give invalid options fails the session, naming the key. */
  wsrl_session_destroy(s);
  wsrl_agent_destroy(agent);
  ck_assert_int_eq(wsrl_config_set(c, "replay.reward_scale", "0"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(c, "agent.algorithm", "calql"), WSRL_OK);
  agent = make_agent(c, env);
  s = (wsrl_session_t *)1;
  ck_assert_int_eq(wsrl_session_create(&s, agent, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'replay.reward_scale'");
  int32_t phase = -1;
  ck_assert_int_eq(wsrl_agent_phase(agent, &phase), WSRL_OK);
  ck_assert_int_eq(phase, WSRL_AGENT_OFFLINE); /* untouched */
  destroy_all(NULL, agent, c, env);
}
END_TEST

START_TEST(pretrain_split_and_checkpoint_resume_bitwise) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_replay_t *data = dataset(100, -1.0f);
  wsrl__rng data_rng = *wsrl__replay_rng(data);
  wsrl_config_t *c = small_config("cql");
  char path[128];
  snprintf(path, sizeof path, "%s/agent.ckpt", dir);
  float out[3][2];
  /* 0: 30 updates in one call; 1: 12 + 18; 2: 12, save, new agent loads, 18 */
  for (int run = 0; run < 3; run++) {
    wsrl_agent_t *agent = make_agent(c, env);
    if (run == 0) {
      ck_assert_int_eq(wsrl_pretrain(agent, data, 30, NULL, NULL), WSRL_OK);
    } else {
      ck_assert_int_eq(wsrl_pretrain(agent, data, 12, NULL, NULL), WSRL_OK);
      if (run == 2) {
        ck_assert_int_eq(wsrl_agent_save(agent, path), WSRL_OK);
        wsrl_agent_destroy(agent);
        ck_assert_int_eq(wsrl_agent_create_from_checkpoint(&agent, path, NULL), WSRL_OK);
      }
      ck_assert_int_eq(wsrl_pretrain(agent, data, 18, NULL, NULL), WSRL_OK);
    }
    ck_assert_int_eq(counters_of(agent).offline_updates, 30);
    probe(agent, out[run]);
    wsrl_agent_destroy(agent);
  }
  ck_assert_mem_eq(out[0], out[1], sizeof out[0]);
  ck_assert_mem_eq(out[0], out[2], sizeof out[0]);
  ck_assert_mem_eq(wsrl__replay_rng(data), &data_rng, sizeof data_rng);
  wsrl_config_destroy(c);
  wsrl_replay_destroy(data);
  wsrl_env_destroy(env);
}
END_TEST

/* ---- session checkpoints ---- */

START_TEST(session_save_load_resume_bitwise) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_replay_t *data = dataset(40, 3.0f);
  wsrl_config_t *c = small_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "finetune.offline_data", "mixed"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "finetune.warmup_steps", 5), WSRL_OK);
  char path[128];
  snprintf(path, sizeof path, "%s/session.ckpt", dir);

  /* A: 24 transitions (episodes of 12), 2 updates left pending, save, go on. */
  wsrl_agent_t *a = make_agent(c, env);
  wsrl_session_t *sa = make_session(a, data);
  observe_n(sa, 0, 24, -0.5f, 12);
  ck_assert_int_eq(wsrl_session_train(sa, 17, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_session_save(sa, path, WSRL_SESSION_SAVE_REPLAY), WSRL_OK);
  wsrl_session_info_t ia = info_of(sa);
  ck_assert_int_eq(ia.updates_due, 2);

  /* B: a fresh agent and session restored from the file */
  wsrl_agent_t *b = make_agent(c, env);
  wsrl_session_t *sb = make_session(b, data);
  ck_assert_int_eq(wsrl_session_load(sb, path), WSRL_OK);
  wsrl_session_info_t ib = info_of(sb);
  ck_assert_int_eq(ib.env_steps, 24);
  ck_assert_int_eq(ib.updates_due, 2);
  ck_assert_int_eq(ib.updates_done, 17);
  ck_assert_int_eq(ib.buffer_size, 24);
  ck_assert_int_eq(ib.episodes, 2);
  ck_assert_double_eq(ib.last_episode_return, ia.last_episode_return);

  for (int k = 0; k < 2; k++) {
    wsrl_session_t *s = k == 0 ? sa : sb;
    observe_n(s, 24, 12, -0.5f, 12);
    ck_assert_int_eq(wsrl_session_train(s, -1, NULL), WSRL_OK);
  }
  float pa[2], pb[2];
  probe(a, pa);
  probe(b, pb);
  ck_assert_mem_eq(pa, pb, sizeof pa);
  ck_assert_int_eq(info_of(sb).updates_done, 31);

  /* without the buffer: counters come back, pending updates are dropped */
  ck_assert_int_eq(wsrl_session_save(sa, path, WSRL_SESSION_SAVE_DEFAULT), WSRL_OK);
  observe_n(sb, 100, 3, 0, 0);
  ck_assert_int_eq(wsrl_session_load(sb, path), WSRL_OK);
  ib = info_of(sb);
  ck_assert_int_eq(ib.env_steps, 36);
  ck_assert_int_eq(ib.buffer_size, 0);
  ck_assert_int_eq(ib.updates_due, 0);

  wsrl_session_destroy(sb);
  wsrl_agent_destroy(b);
  wsrl_session_destroy(sa);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
  wsrl_replay_destroy(data);
  wsrl_env_destroy(env);
}
END_TEST

/* A session file's episode-length hint is validated, and loading replaces
 * it: a bad first load cannot stick (issue 16, fault 12). */
START_TEST(session_load_episode_hint) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  char good[128], bad[128];
  snprintf(good, sizeof good, "%s/good.ckpt", dir);
  snprintf(bad, sizeof bad, "%s/bad.ckpt", dir);
  wsrl_agent_t *a = make_agent(c, env);
  wsrl_session_t *s = make_session(a, NULL);
  observe_n(s, 0, 5, 1, 0);
  s->episode_len_hint = 40;
  ck_assert_int_eq(wsrl_session_save(s, good, 0), WSRL_OK);
  s->episode_len_hint = 7;
  ck_assert_int_eq(wsrl_session_save(s, bad, 0), WSRL_OK);
  ck_assert_int_eq(wsrl_session_load(s, good), WSRL_OK);
  ck_assert_int_eq(s->episode_len_hint, 40);
  ck_assert_int_eq(wsrl_session_load(s, bad), WSRL_OK);
  ck_assert_int_eq(s->episode_len_hint, 7);
  ck_assert_int_eq(wsrl_session_load(s, good), WSRL_OK); /* the earlier load does not stick */
  ck_assert_int_eq(s->episode_len_hint, 40);
  /* A hint no episode in the buffer could meet: Cal-QL would never start. */
  s->episode_len_hint = (int64_t)1e18;
  ck_assert_int_eq(wsrl_session_save(s, bad, 0), WSRL_OK);
  s->episode_len_hint = 40;
  ck_assert_int_eq(wsrl_session_load(s, bad), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("episode_length_hint");
  ck_assert_int_eq(s->episode_len_hint, 40);
  wsrl_session_destroy(s);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(session_load_rejects_bad_files) {
  wsrl_env_t *env = point_env(NULL);
  wsrl_config_t *c = small_config("sac");
  char path[128], cut[128];
  snprintf(path, sizeof path, "%s/s.ckpt", dir);
  snprintf(cut, sizeof cut, "%s/cut.ckpt", dir);
  wsrl_agent_t *a = make_agent(c, env);
  wsrl_session_t *s = make_session(a, NULL);
  observe_n(s, 0, 15, 1, 0);
  ck_assert_int_eq(wsrl_session_save(s, path, WSRL_SESSION_SAVE_REPLAY), WSRL_OK);
  observe_n(s, 15, 4, 1, 0);
  float before[2], after[2];
  probe(a, before);

  /* a truncated copy */
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert_uint_gt(n, 200);
  f = fopen(cut, "wb");
  fwrite(buf, 1, n - 100, f);
  fclose(f);
  wsrl_status_t st = wsrl_session_load(s, cut);
  ck_assert(st == WSRL_ERR_CORRUPT || st == WSRL_ERR_IO);
  /* a flipped byte in the middle */
  buf[n / 2] ^= 0x10;
  f = fopen(cut, "wb");
  fwrite(buf, 1, n, f);
  fclose(f);
  ck_assert_int_eq(wsrl_session_load(s, cut), WSRL_ERR_CORRUPT);
  /* a missing file, an agent checkpoint (other magic) */
  snprintf(cut, sizeof cut, "%s/none.ckpt", dir);
  ck_assert_int_eq(wsrl_session_load(s, cut), WSRL_ERR_IO);
  snprintf(cut, sizeof cut, "%s/agent.ckpt", dir);
  ck_assert_int_eq(wsrl_agent_save(a, cut), WSRL_OK);
  ck_assert_int_eq(wsrl_session_load(s, cut), WSRL_ERR_CORRUPT);
  /* nothing changed */
  ck_assert_int_eq(info_of(s).env_steps, 19);
  ck_assert_int_eq(info_of(s).buffer_size, 19);
  probe(a, after);
  ck_assert_mem_eq(before, after, sizeof before);

  /* an incompatible session: another offline mode */
  wsrl_replay_t *data = dataset(30, 0);
  wsrl_config_t *mixed = small_config("sac");
  ck_assert_int_eq(wsrl_config_set(mixed, "finetune.offline_data", "mixed"), WSRL_OK);
  wsrl_agent_t *b = make_agent(mixed, env);
  wsrl_session_t *sb = make_session(b, data);
  ck_assert_int_eq(wsrl_session_load(sb, path), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("finetune.offline_data");
  ck_assert_int_eq(info_of(sb).env_steps, 0);

  wsrl_session_destroy(sb);
  wsrl_agent_destroy(b);
  wsrl_config_destroy(mixed);
  wsrl_replay_destroy(data);
  wsrl_session_destroy(s);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
  wsrl_env_destroy(env);
}
END_TEST

/* ---- baselines run end to end (small, a few steps each) ---- */

START_TEST(baselines_run) {
  /* name, agent.algorithm, extra config lines, pretrain, with dataset */
  static const struct {
    const char *name, *algo, *cfg;
    int pretrain, data;
  } b[] = {
      {"wsrl", "calql", "", 1, 0},
      {"no warmup", "calql", "finetune.warmup_steps = 0\n", 1, 0},
      {"mixed", "calql", "finetune.offline_data = mixed\nfinetune.offline_ratio = 0.5\n", 1, 1},
      {"append", "cql", "finetune.offline_data = append\n", 1, 1},
      {"calql kept online", "calql", "finetune.online_algorithm = same\nfinetune.warmup_steps = 0\n", 1, 0},
      {"iql kept online", "iql", "finetune.online_algorithm = same\nactor.tanh_squash = 0\n", 1, 0},
      {"rlpd", "sac", "finetune.offline_data = mixed\nfinetune.offline_ratio = 0.5\nfinetune.warmup_steps = 0\n", 0, 1},
      {"from scratch", "sac", "", 0, 0},
  };
  wsrl_env_t *env = point_env(NULL);
  wsrl_replay_t *data = dataset(80, -1.0f);
  for (size_t k = 0; k < sizeof b / sizeof b[0]; k++) {
    wsrl_config_t *c = small_config(b[k].algo);
    ck_assert_int_eq(wsrl_config_parse_string(c, b[k].cfg), WSRL_OK);
    wsrl_agent_t *agent = make_agent(c, env);
    if (b[k].pretrain)
      ck_assert_int_eq(wsrl_pretrain(agent, data, 5, NULL, NULL), WSRL_OK);
    wsrl_session_t *s = make_session(agent, b[k].data ? data : NULL);
    wsrl_status_t st = wsrl_finetune(s, env, NULL, 70, NULL, NULL);
    ck_assert_msg(st == WSRL_OK, "%s: %s", b[k].name, wsrl_last_error_message());
    ck_assert_int_gt(info_of(s).updates_done, 0);
    ck_assert_int_eq(counters_of(agent).online_updates, info_of(s).updates_done);
    wsrl_session_destroy(s);
    wsrl_agent_destroy(agent);
    wsrl_config_destroy(c);
  }
  wsrl_replay_destroy(data);
  wsrl_env_destroy(env);
}
END_TEST

/* Every case: the log fixture, a scratch directory, 60 s (small nets, but
 * loaded machines). */
static TCase *add_case(Suite *s, const char *name) {
  TCase *t = tcase_create(name);
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_set_timeout(t, 60);
  suite_add_tcase(s, t);
  return t;
}

Suite *wsrl_test_suite_train(void) {
  Suite *s = suite_create("train");
  TCase *api = add_case(s, "api");
  tcase_add_test(api, init_functions);
  tcase_add_test(api, create_rejects_invalid);
  tcase_add_test(api, null_arguments);

  TCase *phase = add_case(s, "session");
  tcase_add_test(phase, warmup_k_transitions_no_update);
  tcase_add_test(phase, finetune_warmup_then_one_update_per_step);
  tcase_add_test(phase, updates_due_counting);
  tcase_add_test(phase, start_updates_after_rule);
  tcase_add_test(phase, mixed_sampling_fraction);
  tcase_add_test(phase, start_rule_reference);
  tcase_add_test(phase, mixed_blocks_layout);
  tcase_add_test(phase, calql_online_completed_episodes);
  tcase_add_test(phase, append_and_none_sampling);

  TCase *loop = add_case(s, "finetune");
  tcase_add_test(loop, env_callback_error_keeps_counters);
  tcase_add_test(loop, nan_observation_error_vs_skip_reset);
  tcase_add_test(loop, cancel_from_progress_and_resume);
  tcase_add_test(loop, reentry_from_callback_refused);
  tcase_add_test(loop, finetune_evaluations_and_logs);
  tcase_add_test(loop, no_allocation_per_step);
  tcase_add_test(loop, finetune_split_equals_uninterrupted);
  tcase_add_test(loop, evaluate_deterministic);
  tcase_add_test(loop, baselines_run);

  TCase *ck = add_case(s, "pretrain-checkpoint");
  tcase_add_test(ck, pretrain_arguments_and_cancel);
  tcase_add_test(ck, dataset_must_agree_with_the_agents_config);
  tcase_add_test(ck, session_buffer_follows_the_agents_config);
  tcase_add_test(ck, pretrain_split_and_checkpoint_resume_bitwise);
  tcase_add_test(ck, session_save_load_resume_bitwise);
  tcase_add_test(ck, session_load_rejects_bad_files);
  tcase_add_test(ck, session_load_episode_hint);
  return s;
}
