/* The threading contract of docs/threading.md, enforced (suite `threading`):
 *
 *   readers_match_one_thread  calls that only read a handle (counters,
 *                             metrics, parameters, save) hammered from many
 *                             threads give the bits one thread gets
 *   overlap_is_refused        a call on an agent while another thread is
 *                             inside one that writes it returns
 *                             WSRL_ERR_BUSY naming both, deterministically
 *                             (the lent Q-ensemble and the dataset too)
 *   act_act_never_wrong       two threads acting on one agent: every call is
 *                             BUSY or the single-thread action, bit for bit
 *   act_update_never_wrong    act and update racing: BUSY or OK, never a
 *                             torn result, and the counters add up
 *   session_shares_the_agent  a session's calls and its agent's exclude
 *                             each other
 *   env_overlap_is_refused    an env reset while another thread steps it
 *   destroy_orders            agent / dataset / session destroyed in every
 *                             order (run under ASan to see a dangling use)
 *   policy_matches_agent      a snapshot's deterministic actions equal the
 *                             agent's within 1e-6 (std heads, LayerNorm on
 *                             and off, squashed or not), through a policy
 *                             file too; bad files are refused
 *   policy_many_threads       wsrl_policy_act from many threads: the bits
 *                             of one thread; the caller's RNG state fixes a sample
 *   policy_while_training     a control thread acts from the latest
 *                             snapshot while another trains: never refused,
 *                             a version never changes its actions, the last
 *                             one is the trained actor
 *
 * agent.threads = 1 everywhere: libgomp is not TSan-instrumented, and the
 * suite is what the ThreadSanitizer CI build runs. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wsrl/wsrl.h"

#define OK(x) ck_assert_msg((x) == WSRL_OK, "%s: %s", #x, wsrl_last_error_message())
#define O 5
#define A 2
#define NT 4

static void nap(void) {
  const struct timespec ts = {0, 100000};
  nanosleep(&ts, NULL);
}

static const float low[A] = {-2.0f, -1.0f}, high[A] = {2.0f, 3.0f};

/* The agent, or NULL where creation refuses it with WSRL_ERR_UNSUPPORTED
 * (nn.precision = bf16 on a CPU without AVX-512) when may_refuse is set. */
static wsrl_agent_t *make_agent_or_null(const char *extra, int may_refuse) {
  wsrl_config_t *c = NULL;
  OK(wsrl_config_create(&c));
  OK(wsrl_config_parse_string(c, "agent.threads = 1\ncritic.hidden = 16,16\nactor.hidden = 16,16\n"
                                 "critic.ensemble_size = 4\nupdate.batch_size = 8\nlog.interval = 1\n"));
  if (extra != NULL)
    OK(wsrl_config_parse_string(c, extra));
  wsrl_env_spec_t s = WSRL_ENV_SPEC_INIT;
  s.obs_dim = O;
  s.act_dim = A;
  s.action_low = low;
  s.action_high = high;
  wsrl_agent_t *ag = NULL;
  const wsrl_status_t st = wsrl_agent_create(&ag, c, &s);
  wsrl_config_destroy(c);
  if (may_refuse && st == WSRL_ERR_UNSUPPORTED) {
    printf("skipped: %s\n", wsrl_last_error_message());
    return NULL;
  }
  ck_assert_msg(st == WSRL_OK, "wsrl_agent_create: %s", wsrl_last_error_message());
  return ag;
}

static wsrl_agent_t *make_agent(const char *extra) { return make_agent_or_null(extra, 0); }

static void fill(float *x, int64_t n, uint32_t seed) {
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

static wsrl_replay_t *make_dataset(int64_t n) {
  wsrl_replay_t *r = NULL;
  OK(wsrl_replay_create(&r, O, A, n, NULL));
  float o[O], a[A], no[O];
  for (int64_t i = 0; i < n; i++) {
    fill(o, O, (uint32_t)i);
    fill(a, A, (uint32_t)i + 7u);
    fill(no, O, (uint32_t)i + 13u);
    OK(wsrl_replay_add(r, o, a, 0.1f * (float)(i % 7), no, i % 50 == 49, 0));
  }
  return r;
}

/* Enough updates that metrics and parameters are not the initial ones. */
static void train_a_bit(wsrl_agent_t *ag) {
  wsrl_replay_t *d = make_dataset(200);
  OK(wsrl_pretrain(ag, d, 5, NULL, NULL));
  wsrl_replay_destroy(d);
}

/* --------------------------------------------------------------- readers */

typedef struct reader_ref {
  wsrl_agent_t *agent;
  int64_t nparams;
  float *params;          /* expected */
  wsrl_agent_counters_t counters;
  double metric0;
  char ckpt[256];         /* one thread's save */
  long ckpt_size;
  unsigned char *ckpt_bytes;
  int thread;
  int failures;
  pthread_barrier_t *start; /* the readers start together: their first saves overlap */
} reader_ref;

static unsigned char *slurp(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)*size);
  if (fread(b, 1, (size_t)*size, f) != (size_t)*size)
    *size = -1;
  fclose(f);
  return b;
}

static void *reader(void *p) {
  reader_ref *r = p;
  wsrl_qensemble_t *q = wsrl_agent_qensemble(r->agent);
  float *got = malloc(sizeof(float) * (size_t)r->nparams);
  char path[300];
  snprintf(path, sizeof path, "%s.%d", r->ckpt, r->thread);
  pthread_barrier_wait(r->start);
  for (int it = 0; it < 30; it++) {
    wsrl_agent_counters_t c = WSRL_AGENT_COUNTERS_INIT;
    double m = 0;
    if (wsrl_agent_counters(r->agent, &c) != WSRL_OK || memcmp(&c, &r->counters, sizeof c) != 0)
      r->failures++;
    if (wsrl_agent_metric(r->agent, 0, NULL, &m) != WSRL_OK || memcmp(&m, &r->metric0, sizeof m) != 0)
      r->failures++;
    if (wsrl_qensemble_get_params(q, WSRL_QENSEMBLE_ONLINE, got, r->nparams) != WSRL_OK ||
        memcmp(got, r->params, sizeof(float) * (size_t)r->nparams) != 0)
      r->failures++;
    if (it % 10 == 0) {
      long n = 0;
      if (wsrl_agent_save(r->agent, path) != WSRL_OK)
        r->failures++;
      unsigned char *b = slurp(path, &n);
      if (b == NULL || n != r->ckpt_size || memcmp(b, r->ckpt_bytes, (size_t)n) != 0)
        r->failures++;
      free(b);
    }
  }
  unlink(path);
  free(got);
  return NULL;
}

/* Loop 0 in fp32, loop 1 in bf16. The expected values come from a twin
 * trained the same way (same bits), so the readers' agent is untouched by
 * any call between its last update and the threads: the bf16 weight copies
 * are as the update left them, and the first saves race if one writes. */
static const char *const reader_precision[2] = {"nn.precision = fp32\n", "nn.precision = bf16\n"};

START_TEST(readers_match_one_thread) {
  wsrl_agent_t *ag = make_agent_or_null(reader_precision[_i], _i == 1);
  if (ag == NULL)
    return;
  wsrl_agent_t *twin = make_agent(reader_precision[_i]);
  train_a_bit(ag);
  train_a_bit(twin);
  pthread_barrier_t start;
  ck_assert_int_eq(pthread_barrier_init(&start, NULL, NT), 0);
  reader_ref ref = {ag, 0, NULL, WSRL_AGENT_COUNTERS_INIT, 0, "", 0, NULL, 0, 0, &start};
  OK(wsrl_qensemble_info(wsrl_agent_qensemble(twin), NULL, NULL, NULL, &ref.nparams));
  ref.params = malloc(sizeof(float) * (size_t)ref.nparams);
  OK(wsrl_qensemble_get_params(wsrl_agent_qensemble(twin), WSRL_QENSEMBLE_ONLINE, ref.params, ref.nparams));
  OK(wsrl_agent_counters(twin, &ref.counters));
  OK(wsrl_agent_metric(twin, 0, NULL, &ref.metric0));
  snprintf(ref.ckpt, sizeof ref.ckpt, "/tmp/wsrl-threading-readers-%d.ckpt", (int)getpid());
  OK(wsrl_agent_save(twin, ref.ckpt));
  wsrl_agent_destroy(twin);
  ref.ckpt_bytes = slurp(ref.ckpt, &ref.ckpt_size);
  ck_assert_ptr_nonnull(ref.ckpt_bytes);
  pthread_t t[NT];
  reader_ref rs[NT];
  for (int i = 0; i < NT; i++) {
    rs[i] = ref;
    rs[i].thread = i;
    ck_assert_int_eq(pthread_create(&t[i], NULL, reader, &rs[i]), 0);
  }
  for (int i = 0; i < NT; i++) {
    pthread_join(t[i], NULL);
    ck_assert_msg(rs[i].failures == 0, "reader thread %d: %d results differ from one thread's", i, rs[i].failures);
  }
  pthread_barrier_destroy(&start);
  unlink(ref.ckpt);
  free(ref.ckpt_bytes);
  free(ref.params);
  wsrl_agent_destroy(ag);
}
END_TEST

/* ------------------------------------------------- a guaranteed overlap */

typedef struct overlap {
  wsrl_agent_t *agent;
  wsrl_replay_t *dataset; /* the learner's (pretrain holds it) */
  atomic_int inside, tried;
  wsrl_status_t act_status, counters_status;
  char act_msg[512];
} overlap;

/* pretrain's progress callback: runs while wsrl_pretrain holds the agent. */
static int32_t hold(void *user, int64_t step, int32_t n, const char *const *names, const double *values) {
  overlap *o = user;
  (void)step, (void)n, (void)names, (void)values;
  if (atomic_load(&o->inside) == 0) {
    atomic_store(&o->inside, 1);
    while (atomic_load(&o->tried) == 0)
      nap();
  }
  return 0;
}

static void *learner(void *p) {
  overlap *o = p;
  if (wsrl_pretrain(o->agent, o->dataset, 2, hold, o) != WSRL_OK)
    atomic_store(&o->inside, -1);
  return NULL;
}

START_TEST(overlap_is_refused) {
  overlap o = {make_agent(NULL), make_dataset(100), 0, 0, WSRL_OK, WSRL_OK, ""};
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, learner, &o), 0);
  while (atomic_load(&o.inside) == 0)
    nap();
  ck_assert_int_eq(atomic_load(&o.inside), 1);
  float obs[O], act[A] = {42.0f, 42.0f};
  fill(obs, O, 3);
  o.act_status = wsrl_agent_act(o.agent, 1, obs, WSRL_ACT_DETERMINISTIC, act);
  snprintf(o.act_msg, sizeof o.act_msg, "%s", wsrl_last_error_message());
  wsrl_agent_counters_t c = WSRL_AGENT_COUNTERS_INIT;
  o.counters_status = wsrl_agent_counters(o.agent, &c);
  wsrl_status_t q_status = wsrl_qensemble_sync_targets(wsrl_agent_qensemble(o.agent));
  /* Introspection: get is a reader, set and log_prob are writers. */
  float temp = 0.0f, bad_temp = 3.0f, lp = 0.0f;
  const wsrl_status_t get_status = wsrl_agent_get_params(o.agent, WSRL_NET_TEMPERATURE, &temp, 1);
  const wsrl_status_t set_status = wsrl_agent_set_params(o.agent, WSRL_NET_TEMPERATURE, &bad_temp, 1);
  const wsrl_status_t lp_status = wsrl_agent_log_prob(o.agent, 1, obs, (const float[A]){0}, &lp);
  /* pretrain samples the dataset (its RNG): the dataset is taken too. */
  float ro[O] = {0}, ra[A] = {0};
  int64_t size = 0;
  wsrl_status_t add_status = wsrl_replay_add(o.dataset, ro, ra, 0.0f, ro, 0, 0);
  wsrl_status_t size_status = wsrl_replay_size(o.dataset, &size);
  atomic_store(&o.tried, 1);
  pthread_join(t, NULL);
  ck_assert_int_eq(o.act_status, WSRL_ERR_BUSY);
  ck_assert_msg(strstr(o.act_msg, "wsrl_agent_act") && strstr(o.act_msg, "agent") &&
                    strstr(o.act_msg, "wsrl_pretrain"),
                "message names the handle, the call and the call in progress: %s", o.act_msg);
  ck_assert_msg(act[0] == 42.0f && act[1] == 42.0f, "a refused act wrote the action");
  ck_assert_int_eq(o.counters_status, WSRL_ERR_BUSY); /* a reader during a writer */
  ck_assert_int_eq(q_status, WSRL_ERR_BUSY);          /* the lent ensemble shares the flag */
  ck_assert_int_eq(get_status, WSRL_ERR_BUSY);
  ck_assert_int_eq(set_status, WSRL_ERR_BUSY);
  ck_assert_int_eq(lp_status, WSRL_ERR_BUSY);
  OK(wsrl_agent_get_params(o.agent, WSRL_NET_TEMPERATURE, &temp, 1));
  ck_assert(temp != bad_temp); /* the refused set wrote nothing */
  ck_assert_int_eq(add_status, WSRL_ERR_BUSY);
  ck_assert_int_eq(size_status, WSRL_ERR_BUSY);
  OK(wsrl_replay_size(o.dataset, &size));
  ck_assert_int_eq(size, 100); /* the refused add stored nothing */
  wsrl_replay_destroy(o.dataset);
  ck_assert_str_eq(wsrl_status_string(WSRL_ERR_BUSY), "busy (another thread is inside a call on this handle)");
  /* Afterwards the agent is free again. */
  OK(wsrl_agent_act(o.agent, 1, obs, WSRL_ACT_DETERMINISTIC, act));
  wsrl_agent_destroy(o.agent);
}
END_TEST

/* ----------------------------------------------------------- racing act */

typedef struct racer {
  wsrl_agent_t *agent;
  const float *obs;      /* [64, O] */
  const float *expected; /* [64, A] single-thread deterministic actions */
  int calls, ok, busy, wrong, other;
  int update; /* this thread updates instead of acting */
  const wsrl_batch_t *batch;
} racer;

static atomic_int updater_done;

/* An acting racer runs until the updating one is done; the updater retries
 * a refused update until it has done `calls`. */
static void *race(void *p) {
  racer *r = p;
  for (int i = 0; r->update ? r->ok < r->calls : i < r->calls || !atomic_load(&updater_done); i++) {
    const int row = i % 64;
    float a[A] = {NAN, NAN};
    wsrl_status_t st = r->update ? wsrl_agent_update(r->agent, r->batch)
                                 : wsrl_agent_act(r->agent, 1, r->obs + row * O, WSRL_ACT_DETERMINISTIC, a);
    if (st == WSRL_ERR_BUSY) {
      r->busy++;
    } else if (st != WSRL_OK) {
      r->other++;
    } else {
      r->ok++;
      if (!r->update && (r->expected != NULL ? memcmp(a, r->expected + row * A, sizeof a) != 0
                                             : !(isfinite(a[0]) && isfinite(a[1]))))
        r->wrong++;
    }
  }
  if (r->update)
    atomic_store(&updater_done, 1);
  return NULL;
}

static void run_racers(racer *r, int n) {
  pthread_t t[NT];
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, race, &r[i]), 0);
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
}

START_TEST(act_act_never_wrong) {
  wsrl_agent_t *ag = make_agent(NULL);
  float obs[64 * O], expected[64 * A];
  fill(obs, 64 * O, 11);
  for (int r = 0; r < 64; r++)
    OK(wsrl_agent_act(ag, 1, obs + r * O, WSRL_ACT_DETERMINISTIC, expected + r * A));
  racer rs[2] = {{ag, obs, expected, 3000, 0, 0, 0, 0, 0, NULL}, {ag, obs, expected, 3000, 0, 0, 0, 0, 0, NULL}};
  atomic_store(&updater_done, 1);
  run_racers(rs, 2);
  for (int i = 0; i < 2; i++) {
    ck_assert_msg(rs[i].wrong == 0 && rs[i].other == 0, "thread %d: %d wrong actions, %d other errors", i,
                  rs[i].wrong, rs[i].other);
  }
  fprintf(stderr, "act/act: %d + %d OK, %d + %d busy\n", rs[0].ok, rs[1].ok, rs[0].busy, rs[1].busy);
  wsrl_agent_destroy(ag);
}
END_TEST

START_TEST(act_update_never_wrong) {
  wsrl_agent_t *ag = make_agent("agent.algorithm = sac\n");
  int64_t rows = 0;
  OK(wsrl_agent_batch_rows(ag, &rows));
  float *buf = malloc(sizeof(float) * (size_t)(rows * (2 * O + A + 2)));
  float *bo = buf, *bn = bo + rows * O, *ba = bn + rows * O, *br = ba + rows * A, *bm = br + rows;
  fill(bo, rows * O, 1);
  fill(bn, rows * O, 2);
  fill(ba, rows * A, 3);
  for (int64_t i = 0; i < rows; i++)
    br[i] = 0.5f, bm[i] = 1.0f;
  wsrl_batch_t b = WSRL_BATCH_INIT;
  b.size = rows, b.obs = bo, b.action = ba, b.reward = br, b.next_obs = bn, b.mask = bm;
  float obs[64 * O];
  fill(obs, 64 * O, 5);
  racer rs[2] = {{ag, obs, NULL, 200, 0, 0, 0, 0, 0, NULL}, {ag, obs, NULL, 30, 0, 0, 0, 0, 1, &b}};
  atomic_store(&updater_done, 0);
  run_racers(rs, 2);
  ck_assert_msg(rs[0].wrong == 0 && rs[0].other == 0 && rs[1].other == 0, "act: %d wrong, %d errors; update: %d errors",
                rs[0].wrong, rs[0].other, rs[1].other);
  wsrl_agent_counters_t c = WSRL_AGENT_COUNTERS_INIT;
  OK(wsrl_agent_counters(ag, &c));
  ck_assert_int_eq(c.updates, rs[1].ok);
  ck_assert_int_eq(rs[1].ok, 30);
  fprintf(stderr, "act/update: act %d OK %d busy; update %d OK %d busy\n", rs[0].ok, rs[0].busy, rs[1].ok,
          rs[1].busy);
  free(buf);
  wsrl_agent_destroy(ag);
}
END_TEST

/* -------------------------------------------------------------- session */

START_TEST(session_shares_the_agent) {
  overlap o = {make_agent(NULL), make_dataset(100), 0, 0, WSRL_OK, WSRL_OK, ""};
  wsrl_session_t *s = NULL;
  OK(wsrl_session_create(&s, o.agent, NULL));
  wsrl_agent_destroy(o.agent); /* the session keeps it alive */
  o.agent = wsrl_session_agent(s);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, learner, &o), 0);
  while (atomic_load(&o.inside) == 0)
    nap();
  float obs[O], act[A];
  fill(obs, O, 9);
  wsrl_status_t act_st = wsrl_session_act(s, obs, act);
  int64_t done = 7;
  wsrl_status_t train_st = wsrl_session_train(s, 1, &done);
  wsrl_session_info_t info = WSRL_SESSION_INFO_INIT;
  wsrl_status_t info_st = wsrl_session_info(s, &info); /* session state only: allowed */
  atomic_store(&o.tried, 1);
  pthread_join(t, NULL);
  ck_assert_int_eq(act_st, WSRL_ERR_BUSY);
  ck_assert_int_eq(train_st, WSRL_ERR_BUSY);
  ck_assert_int_eq(done, 0);
  ck_assert_int_eq(info_st, WSRL_OK);
  OK(wsrl_session_act(s, obs, act));
  wsrl_session_destroy(s);
  wsrl_replay_destroy(o.dataset);
  ck_assert_int_eq(wsrl_live_handles(), 0);
}
END_TEST

/* ------------------------------------------------------------------ env */

typedef struct slow_env {
  atomic_int inside, release;
} slow_env;

static int32_t slow_reset(void *user, uint64_t seed, float *obs) {
  (void)user, (void)seed;
  memset(obs, 0, sizeof(float) * O);
  return 0;
}

/* Steps wait inside the callback until released. */
static int32_t slow_step(void *user, const float *action, float *obs, float *reward, int32_t *term, int32_t *trunc) {
  slow_env *e = user;
  (void)action;
  atomic_store(&e->inside, 1);
  while (!atomic_load(&e->release))
    nap();
  memset(obs, 0, sizeof(float) * O);
  *reward = 0.0f, *term = 0, *trunc = 0;
  return 0;
}

typedef struct stepper {
  wsrl_env_t *env;
  wsrl_status_t st;
} stepper;

static void *step_once(void *p) {
  stepper *s = p;
  const float a[A] = {0};
  float obs[O], r;
  int32_t te, tr;
  s->st = wsrl_env_step(s->env, a, obs, &r, &te, &tr);
  return NULL;
}

START_TEST(env_overlap_is_refused) {
  slow_env e = {0, 0};
  wsrl_env_callbacks_t cb = WSRL_ENV_CALLBACKS_INIT;
  cb.reset = slow_reset;
  cb.step = slow_step;
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = O;
  spec.act_dim = A;
  stepper st = {NULL, WSRL_ERR_IO};
  OK(wsrl_env_create(&st.env, &spec, &cb, &e));
  float obs[O];
  OK(wsrl_env_reset(st.env, 1, obs));
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, step_once, &st), 0);
  while (!atomic_load(&e.inside))
    nap();
  const wsrl_status_t reset_st = wsrl_env_reset(st.env, 2, obs);
  char msg[512];
  snprintf(msg, sizeof msg, "%s", wsrl_last_error_message());
  atomic_store(&e.release, 1);
  pthread_join(t, NULL);
  OK(st.st);
  ck_assert_int_eq(reset_st, WSRL_ERR_BUSY);
  ck_assert_msg(strstr(msg, "wsrl_env_reset") && strstr(msg, "wsrl_env_step"), "message: %s", msg);
  OK(wsrl_env_reset(st.env, 2, obs));
  wsrl_env_destroy(st.env);
}
END_TEST

/* ------------------------------------------------------------ lifetimes */

/* Every order of destroying agent (a), dataset (d) and session (s) that a
 * garbage collector may pick; the session acts and trains after each of
 * its borrowed handles is gone. */
START_TEST(destroy_orders) {
  static const char *const orders[] = {"ads", "asd", "das", "dsa", "sad", "sda"};
  for (int k = 0; k < 6; k++) {
    wsrl_agent_t *ag = make_agent("finetune.offline_data = mixed\n");
    wsrl_replay_t *d = make_dataset(100);
    wsrl_session_options_t opt = WSRL_SESSION_OPTIONS_INIT;
    opt.offline = d;
    wsrl_session_t *s = NULL;
    OK(wsrl_session_create(&s, ag, &opt));
    float obs[O], act[A], next[O];
    fill(obs, O, 1);
    fill(next, O, 2);
    for (const char *c = orders[k]; *c; c++) {
      if (*c == 'a')
        wsrl_agent_destroy(ag);
      else if (*c == 'd')
        wsrl_replay_destroy(d);
      else
        wsrl_session_destroy(s);
      if (*c != 's' && strchr(c + 1, 's') != NULL) { /* the session is still alive: use it */
        for (int i = 0; i < 20; i++) {
          OK(wsrl_session_act(s, obs, act));
          OK(wsrl_session_observe(s, obs, act, 1.0f, next, 0, i == 19));
        }
        OK(wsrl_session_train(s, 2, NULL));
      }
    }
    ck_assert_msg(wsrl_live_handles() == 0, "order %s: %lld handles left", orders[k],
                  (long long)wsrl_live_handles());
  }
}
END_TEST

/* ------------------------------------------------------------ snapshots */

static void check_policy_matches(wsrl_agent_t *ag, wsrl_policy_t *p, const char *what) {
  float obs[64 * O];
  fill(obs, 64 * O, 21);
  for (int unit = 0; unit < 2; unit++) {
    const int32_t flags = WSRL_ACT_DETERMINISTIC | (unit ? WSRL_ACT_UNIT : 0);
    float a[64 * A], b[A];
    OK(wsrl_agent_act(ag, 64, obs, flags, a));
    for (int r = 0; r < 64; r++) {
      OK(wsrl_policy_act(p, obs + r * O, flags, NULL, b));
      for (int k = 0; k < A; k++) /* 1e-6 in [-1, 1] units: scaled by the half-range */
        ck_assert_msg(fabsf(a[r * A + k] - b[k]) <= 1e-6f * (unit ? 1.0f : 0.5f * (high[k] - low[k])),
                      "%s: row %d dim %d: agent %.9g policy %.9g", what, r, k, a[r * A + k], b[k]);
    }
  }
}

START_TEST(policy_matches_agent) {
  static const char *const variants[] = {
      "", "actor.layer_norm = 0\n", "actor.std_parameterization = uniform\n",
      "actor.tanh_squash = 0\nactor.std_parameterization = uniform\n"};
  for (int v = 0; v < 4; v++) {
    char extra[256];
    snprintf(extra, sizeof extra, "actor.hidden = 32,32,32\nagent.algorithm = cql\n%s", variants[v]);
    wsrl_agent_t *ag = make_agent(extra);
    train_a_bit(ag);
    wsrl_policy_t *p = NULL;
    OK(wsrl_agent_policy(ag, &p));
    int32_t od = 0, ad = 0;
    uint64_t version = 0;
    wsrl_agent_counters_t c = WSRL_AGENT_COUNTERS_INIT;
    OK(wsrl_agent_counters(ag, &c));
    OK(wsrl_policy_info(p, &od, &ad, &version));
    ck_assert_int_eq(od, O);
    ck_assert_int_eq(ad, A);
    ck_assert_int_eq((int64_t)version, c.updates);
    check_policy_matches(ag, p, variants[v]);
    /* The policy file: the same bits back, no agent needed. */
    char path[64];
    snprintf(path, sizeof path, "threading-%d.policy", (int)getpid());
    OK(wsrl_policy_save(p, path));
    wsrl_policy_t *q = NULL;
    OK(wsrl_policy_load(&q, path));
    float obs[O], a1[A], a2[A];
    fill(obs, O, 77);
    for (int32_t flags = 0; flags < 4; flags++) {
      uint64_t r1 = 56, r2 = 56;
      OK(wsrl_policy_act(p, obs, flags, &r1, a1));
      OK(wsrl_policy_act(q, obs, flags, &r2, a2));
      ck_assert_msg(memcmp(a1, a2, sizeof a1) == 0, "loaded policy differs (flags %d)", flags);
    }
    OK(wsrl_policy_info(q, NULL, NULL, &version));
    ck_assert_int_eq((int64_t)version, c.updates);
    wsrl_policy_release(q);
    /* A flipped byte in the weights fails the CRC; a truncated file is refused. */
    long n = 0;
    unsigned char *bytes = slurp(path, &n);
    bytes[n - 9] ^= 0x40;
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, (size_t)n, f);
    fclose(f);
    ck_assert_int_eq(wsrl_policy_load(&q, path), WSRL_ERR_CORRUPT);
    ck_assert_ptr_null(q);
    f = fopen(path, "wb");
    fwrite(bytes, 1, (size_t)n / 2, f);
    fclose(f);
    ck_assert_int_ne(wsrl_policy_load(&q, path), WSRL_OK);
    free(bytes);
    unlink(path);
    /* A snapshot outlives its agent. */
    wsrl_agent_destroy(ag);
    OK(wsrl_policy_act(p, obs, 1, NULL, a2));
    wsrl_policy_release(p);
    ck_assert_int_eq(wsrl_live_handles(), 0);
  }
  float obs[O] = {NAN};
  float a[A];
  wsrl_agent_t *ag = make_agent(NULL);
  wsrl_policy_t *p = NULL;
  OK(wsrl_agent_policy(ag, &p));
  ck_assert_int_eq(wsrl_policy_act(p, obs, 1, NULL, a), WSRL_ERR_NON_FINITE);
  ck_assert_int_eq(wsrl_policy_act(p, obs, 8, NULL, a), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_policy_release(p);
  ck_assert_int_eq(wsrl_policy_load(&p, "/nonexistent/x.policy"), WSRL_ERR_IO);
  wsrl_agent_destroy(ag);
  ck_assert_int_eq(wsrl_live_handles(), 0);
}
END_TEST

typedef struct pol_job {
  const wsrl_policy_t *p;
  const float *obs;      /* [64, O] */
  const float *expected; /* [64 * 2, A]: deterministic, then sampled with (7, row) */
  int wrong;
} pol_job;

static void *pol_hammer(void *arg) {
  pol_job *j = arg;
  for (int it = 0; it < 200; it++)
    for (int r = 0; r < 64; r++) {
      float a[A], b[A];
      uint64_t rs = 7 + (uint64_t)r;
      if (wsrl_policy_act(j->p, j->obs + r * O, WSRL_ACT_DETERMINISTIC, NULL, a) != WSRL_OK ||
          memcmp(a, j->expected + r * A, sizeof a) != 0)
        j->wrong++;
      if (wsrl_policy_act(j->p, j->obs + r * O, 0, &rs, b) != WSRL_OK ||
          memcmp(b, j->expected + (64 + r) * A, sizeof b) != 0)
        j->wrong++;
    }
  return NULL;
}

START_TEST(policy_many_threads) {
  wsrl_agent_t *ag = make_agent(NULL);
  train_a_bit(ag);
  wsrl_policy_t *p = NULL;
  OK(wsrl_agent_policy(ag, &p));
  float obs[64 * O], expected[128 * A];
  fill(obs, 64 * O, 31);
  for (int r = 0; r < 64; r++) {
    uint64_t rs = 7 + (uint64_t)r;
    OK(wsrl_policy_act(p, obs + r * O, WSRL_ACT_DETERMINISTIC, NULL, expected + r * A));
    OK(wsrl_policy_act(p, obs + r * O, 0, &rs, expected + (64 + r) * A));
  }
  /* The noise comes from the caller's state alone: another state, another action. */
  float other[A];
  uint64_t rs = 1000;
  OK(wsrl_policy_act(p, obs, 0, &rs, other));
  ck_assert(memcmp(other, expected + 64 * A, sizeof other) != 0);
  pthread_t t[NT];
  pol_job jobs[NT];
  for (int i = 0; i < NT; i++) {
    jobs[i] = (pol_job){p, obs, expected, 0};
    ck_assert_int_eq(pthread_create(&t[i], NULL, pol_hammer, &jobs[i]), 0);
  }
  for (int i = 0; i < NT; i++) {
    pthread_join(t[i], NULL);
    ck_assert_msg(jobs[i].wrong == 0, "thread %d: %d actions differ from one thread's", i, jobs[i].wrong);
  }
  wsrl_policy_release(p);
  wsrl_agent_destroy(ag);
}
END_TEST

typedef struct control {
  wsrl_agent_t *agent;
  atomic_int stop;
  int ticks, refused, changed, backwards;
  int64_t last_version;
} control;

/* A control loop: take the latest snapshot, act, release. Remembers the
 * action of each version it saw last and checks it never changes. */
static void *control_loop(void *arg) {
  control *c = arg;
  float obs[O], a[A], seen[A] = {0};
  fill(obs, O, 41);
  int64_t seen_version = -1;
  while (!atomic_load(&c->stop) || c->ticks < 100) {
    wsrl_policy_t *p = NULL;
    uint64_t v = 0;
    if (wsrl_agent_policy(c->agent, &p) != WSRL_OK || wsrl_policy_info(p, NULL, NULL, &v) != WSRL_OK ||
        wsrl_policy_act(p, obs, WSRL_ACT_DETERMINISTIC, NULL, a) != WSRL_OK) {
      c->refused++;
    } else {
      if ((int64_t)v < c->last_version)
        c->backwards++;
      if ((int64_t)v == seen_version && memcmp(a, seen, sizeof a) != 0)
        c->changed++;
      seen_version = (int64_t)v;
      memcpy(seen, a, sizeof a);
      c->last_version = (int64_t)v;
    }
    wsrl_policy_release(p);
    c->ticks++;
  }
  return NULL;
}

START_TEST(policy_while_training) {
  control c = {make_agent("agent.algorithm = cql\n"), 0, 0, 0, 0, 0, -1};
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, control_loop, &c), 0);
  wsrl_replay_t *d = make_dataset(200);
  OK(wsrl_pretrain(c.agent, d, 40, NULL, NULL));
  wsrl_replay_destroy(d);
  atomic_store(&c.stop, 1);
  pthread_join(t, NULL);
  ck_assert_msg(c.refused == 0 && c.changed == 0 && c.backwards == 0,
                "%d ticks: %d refused, %d changed within a version, %d went backwards", c.ticks, c.refused,
                c.changed, c.backwards);
  fprintf(stderr, "control: %d ticks, last version %lld\n", c.ticks, (long long)c.last_version);
  wsrl_policy_t *p = NULL;
  OK(wsrl_agent_policy(c.agent, &p));
  uint64_t v = 0;
  OK(wsrl_policy_info(p, NULL, NULL, &v));
  ck_assert_int_eq(v, 40);
  check_policy_matches(c.agent, p, "after training");
  wsrl_policy_release(p);
  wsrl_agent_destroy(c.agent);
}
END_TEST

int main(void) {
  Suite *s = suite_create("threading");
  TCase *tc = tcase_create("threading");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, readers_match_one_thread, 0, 2);
  tcase_add_test(tc, overlap_is_refused);
  tcase_add_test(tc, act_act_never_wrong);
  tcase_add_test(tc, act_update_never_wrong);
  tcase_add_test(tc, session_shares_the_agent);
  tcase_add_test(tc, env_overlap_is_refused);
  tcase_add_test(tc, destroy_orders);
  tcase_add_test(tc, policy_matches_agent);
  tcase_add_test(tc, policy_many_threads);
  tcase_add_test(tc, policy_while_training);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
