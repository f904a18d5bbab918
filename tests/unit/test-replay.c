/* Replay: options, ring buffer, episodes, MC returns, sampling (uniform,
 * mixed, internal), append, native files (round trip and corruption), HDF5
 * (D4RL semantics, round trip, malformed files). Data is built in code. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>

#include "replay/replay_internal.h"
#include "suites.h"
#include "test-tmpdir.h"
#include "wsrl/wsrl.h"
#include "wsrl_build_config.h"
#if WSRL_HAVE_HDF5
#  include <hdf5.h>
#endif

#define ck_assert_msg_has(sub) ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), (sub)))
#define ck_assert_close(a, b) ck_assert_msg(fabs((double)(a) - (double)(b)) <= 1e-5 * (1 + fabs((double)(b))), \
                                            "%.9g != %.9g", (double)(a), (double)(b))

enum { O = 3, A = 2 };

/* ---- helpers ---- */

static char dir[256];

static void make_dir(void) { wsrl_test_tmpdir_make(dir, sizeof dir, "replay"); }
static void remove_dir(void) { wsrl_test_tmpdir_remove(dir); }

static const char *path_of(const char *name) {
  static char p[2][600];
  static int k;
  k ^= 1;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

/* Transition number id: obs[j] = id + j/100, next_obs[j] = id + 0.5 + j/100,
 * action in [-0.9, 0.9], reward = id / 2. */
static void row(int64_t id, float *obs, float *act, float *rew, float *next) {
  for (int j = 0; j < O; j++) {
    obs[j] = (float)id + 0.01f * (float)j;
    next[j] = (float)id + 0.5f + 0.01f * (float)j;
  }
  for (int j = 0; j < A; j++)
    act[j] = (float)((id + j) % 7) * 0.3f - 0.9f;
  *rew = (float)id * 0.5f;
}

static void add_id(wsrl_replay_t *r, int64_t id, int32_t term, int32_t trunc) {
  float obs[O], act[A], rew, next[O];
  row(id, obs, act, &rew, next);
  ck_assert_int_eq(wsrl_replay_add(r, obs, act, rew, next, term, trunc), WSRL_OK);
}

static wsrl_replay_t *make(int64_t cap, const wsrl_replay_options_t *opt) {
  wsrl_replay_t *r = NULL;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, cap, opt), WSRL_OK);
  ck_assert_ptr_nonnull(r);
  return r;
}

static int64_t size_of(const wsrl_replay_t *r) {
  int64_t n = -1;
  ck_assert_int_eq(wsrl_replay_size(r, &n), WSRL_OK);
  return n;
}

static int64_t episodes_of(const wsrl_replay_t *r) {
  int64_t n = -1;
  ck_assert_int_eq(wsrl_replay_episode_count(r, &n), WSRL_OK);
  return n;
}

static int64_t open_of(const wsrl_replay_t *r) {
  int64_t n = -1;
  ck_assert_int_eq(wsrl_replay_open_length(r, &n), WSRL_OK);
  return n;
}

/* Every stored field of two buffers is equal. */
static void assert_same_contents(const wsrl_replay_t *a, const wsrl_replay_t *b) {
  int64_t n = size_of(a);
  ck_assert_int_eq(size_of(b), n);
  ck_assert_int_eq(episodes_of(a), episodes_of(b));
  ck_assert_int_eq(open_of(a), open_of(b));
  for (int64_t i = 0; i < n; i++) {
    float o1[O], a1[A], r1, n1[O], m1, o2[O], a2[A], r2, n2[O], m2;
    int32_t t1, u1, t2, u2;
    ck_assert_int_eq(wsrl_replay_get(a, i, 1, o1, a1, &r1, n1, &t1, &u1, &m1), WSRL_OK);
    ck_assert_int_eq(wsrl_replay_get(b, i, 1, o2, a2, &r2, n2, &t2, &u2, &m2), WSRL_OK);
    ck_assert_int_eq(memcmp(o1, o2, sizeof o1), 0);
    ck_assert_int_eq(memcmp(a1, a2, sizeof a1), 0);
    ck_assert_int_eq(memcmp(n1, n2, sizeof n1), 0);
    ck_assert(r1 == r2);
    ck_assert_close(m1, m2);
    ck_assert_int_eq(t1, t2);
    ck_assert_int_eq(u1, u2);
  }
}

/* The obs id of logical row i. */
static int64_t id_at(const wsrl_replay_t *r, int64_t i) {
  float obs[O];
  ck_assert_int_eq(wsrl_replay_get(r, i, 1, obs, NULL, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  return (int64_t)lroundf(obs[0]);
}

static float mc_at(const wsrl_replay_t *r, int64_t i) {
  float m;
  ck_assert_int_eq(wsrl_replay_get(r, i, 1, NULL, NULL, NULL, NULL, NULL, NULL, &m), WSRL_OK);
  return m;
}

static void add_rewards(wsrl_replay_t *r, const float *rews, int n, int32_t term_last, int32_t trunc_last) {
  float obs[O] = {0}, act[A] = {0}, next[O] = {0};
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(wsrl_replay_add(r, obs, act, rews[i], next, i == n - 1 ? term_last : 0,
                                     i == n - 1 ? trunc_last : 0), WSRL_OK);
}

/* ---- options and create ---- */

START_TEST(create_validates_arguments) {
  wsrl_replay_t *r = (wsrl_replay_t *)1;
  ck_assert_int_eq(wsrl_replay_create(NULL, O, A, 10, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("replay_out");
  ck_assert_int_eq(wsrl_replay_create(&r, 0, A, 10, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(r);
  ck_assert_msg_has("obs_dim");
  ck_assert_int_eq(wsrl_replay_create(&r, O, -1, 10, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("act_dim");
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("capacity");
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, INT64_MAX / 2, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("capacity");

  struct {
    size_t off;
    double value;
    const char *name;
  } bad[] = {
      {offsetof(wsrl_replay_options_t, reward_scale), NAN, "reward_scale"},
      {offsetof(wsrl_replay_options_t, reward_bias), INFINITY, "reward_bias"},
      {offsetof(wsrl_replay_options_t, action_clip), -1, "action_clip"},
      {offsetof(wsrl_replay_options_t, discount), 1.5, "discount"},
      {offsetof(wsrl_replay_options_t, discount), NAN, "discount"},
      {offsetof(wsrl_replay_options_t, mc_sparse_reward), NAN, "mc_sparse_reward"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
    memcpy((char *)&opt + bad[i].off, &bad[i].value, sizeof(double));
    ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has(bad[i].name);
  }
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.mc_sparse = 2;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("mc_sparse");
  opt.mc_sparse = 1;
  opt.discount = 1.0;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("discount < 1");
  wsrl_replay_options_init(&opt, sizeof opt);
  opt.nonfinite = 7;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("nonfinite");
  wsrl_replay_options_init(&opt, sizeof opt);
  opt.max_episode_steps = -1;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("max_episode_steps");
  wsrl_replay_options_init(&opt, sizeof opt);
  wsrl_allocator_t al = WSRL_ALLOCATOR_INIT; /* hooks missing */
  opt.allocator = &al;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("options.allocator");
  wsrl_replay_options_init(&opt, sizeof opt);
  opt.struct_size = 2;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("struct_size");
  opt.struct_size = sizeof opt + 8;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_msg_has("struct_size");
  ck_assert_int_eq(wsrl_replay_options_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_replay_report_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_replay_destroy(NULL);
}
END_TEST

START_TEST(older_options_struct_takes_defaults) {
  /* A caller built when the struct ended before `discount`: discount keeps 0.99. */
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.discount = 0.5;
  opt.reward_scale = 3.0;
  opt.struct_size = (uint32_t)offsetof(wsrl_replay_options_t, discount);
  wsrl_replay_t *r = make(10, &opt);
  float rews[2] = {1, 1};
  add_rewards(r, rews, 2, 1, 0);
  ck_assert_close(mc_at(r, 0), 3 + 0.99 * 3); /* scale applied, default discount */
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(zero_reward_scale_refused_unless_asked) {
  /* The case: a zeroed struct with only struct_size set. */
  wsrl_replay_options_t opt;
  memset(&opt, 0, sizeof opt);
  opt.struct_size = sizeof opt;
  wsrl_replay_t *r = (wsrl_replay_t *)1;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(r);
  ck_assert_msg_has("options.reward_scale is 0");
  ck_assert_msg_has("allow_zero_reward_scale");
  wsrl_replay_options_init(&opt, sizeof opt);
  opt.reward_scale = 0;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("reward_scale");
  opt.allow_zero_reward_scale = 2;
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("options.allow_zero_reward_scale");
  /* Asked for: every stored reward is the bias. */
  opt.allow_zero_reward_scale = 1;
  opt.reward_bias = -2;
  r = make(4, &opt);
  float rews[2] = {7, -3}, got[2];
  add_rewards(r, rews, 2, 1, 0);
  ck_assert_int_eq(wsrl_replay_get(r, 0, 2, NULL, NULL, got, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert(got[0] == -2 && got[1] == -2);
  wsrl_replay_destroy(r);
  /* A host built before the field existed gets its default (refused). */
  wsrl_replay_options_init(&opt, sizeof opt);
  opt.reward_scale = 0;
  opt.allow_zero_reward_scale = 1;
  opt.struct_size = (uint32_t)offsetof(wsrl_replay_options_t, allow_zero_reward_scale);
  ck_assert_int_eq(wsrl_replay_create(&r, O, A, 10, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("reward_scale");
}
END_TEST

static wsrl_config_t *config_of(const char *text) {
  wsrl_config_t *c = NULL;
  ck_assert_int_eq(wsrl_config_create(&c), WSRL_OK);
  ck_assert_int_eq(wsrl_config_parse_string(c, text), WSRL_OK);
  return c;
}

START_TEST(options_from_config_fills_the_learner_fields) {
  wsrl_config_t *c = config_of("td.discount = 0.9\nreplay.reward_scale = 10\nreplay.reward_bias = -5\n"
                               "replay.clip_action = 0.5\nreplay.mc_sparse = 1\nreplay.mc_sparse_reward = -1\n");
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.seed = 42;
  opt.max_episode_steps = 7;
  opt.nonfinite = WSRL_REPLAY_NONFINITE_DROP;
  ck_assert_int_eq(wsrl_replay_options_from_config(c, &opt), WSRL_OK);
  ck_assert(opt.discount == 0.9 && opt.reward_scale == 10 && opt.reward_bias == -5 && opt.action_clip == 0.5);
  ck_assert(opt.mc_sparse == 1 && opt.mc_sparse_reward == -1 && opt.allow_zero_reward_scale == 0);
  /* the caller's own fields are kept */
  ck_assert(opt.seed == 42 && opt.max_episode_steps == 7 && opt.nonfinite == WSRL_REPLAY_NONFINITE_DROP);
  ck_assert_uint_eq(opt.struct_size, sizeof opt);
  wsrl_replay_t *r = make(4, &opt);
  wsrl_replay_destroy(r);

  /* an older host's struct: nothing written past its struct_size */
  unsigned char raw[sizeof(wsrl_replay_options_t) + 16];
  memset(raw, 0xAB, sizeof raw);
  wsrl_replay_options_t *old = (wsrl_replay_options_t *)(void *)raw;
  const uint32_t size = (uint32_t)offsetof(wsrl_replay_options_t, discount);
  ck_assert_int_eq(wsrl_replay_options_init(old, size), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_options_from_config(c, old), WSRL_OK);
  ck_assert(old->reward_scale == 10 && old->reward_bias == -5 && old->action_clip == 0.5 && old->mc_sparse == 1);
  for (size_t i = size; i < sizeof raw; i++)
    ck_assert_uint_eq(raw[i], 0xAB);

  /* keys that make invalid options are refused naming the key; nothing written */
  wsrl_config_t *zero = config_of("replay.reward_scale = 0\n");
  wsrl_replay_options_init(&opt, sizeof opt);
  ck_assert_int_eq(wsrl_replay_options_from_config(zero, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'replay.reward_scale'");
  ck_assert(opt.reward_scale == 1.0);
  ck_assert_int_eq(wsrl_config_set(zero, "replay.allow_zero_reward_scale", "1"), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_options_from_config(zero, &opt), WSRL_OK);
  ck_assert(opt.reward_scale == 0 && opt.allow_zero_reward_scale == 1);
  wsrl_config_t *sparse1 = config_of("replay.mc_sparse = 1\ntd.discount = 1\n");
  ck_assert_int_eq(wsrl_replay_options_from_config(sparse1, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'replay.mc_sparse'");

  ck_assert_int_eq(wsrl_replay_options_from_config(NULL, &opt), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("config");
  ck_assert_int_eq(wsrl_replay_options_from_config(c, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("options_out");
  opt.struct_size = 2;
  ck_assert_int_eq(wsrl_replay_options_from_config(c, &opt), WSRL_ERR_INVALID_ARGUMENT);
  opt.struct_size = sizeof opt + 8;
  ck_assert_int_eq(wsrl_replay_options_from_config(c, &opt), WSRL_ERR_VERSION_MISMATCH);
  wsrl_config_destroy(sparse1);
  wsrl_config_destroy(zero);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(init_functions_match_macros) {
  wsrl_replay_options_t a = WSRL_REPLAY_OPTIONS_INIT, b;
  memset(&b, 0xAB, sizeof b);
  ck_assert_int_eq(wsrl_replay_options_init(&b, sizeof b), WSRL_OK);
  ck_assert_uint_eq(b.struct_size, sizeof b);
  ck_assert(a.reward_scale == b.reward_scale && a.discount == b.discount && b.allocator == NULL);
  ck_assert(b.discount == 0.99 && b.reward_scale == 1.0 && b.action_clip == 0.0);
  wsrl_replay_report_t rep;
  ck_assert_int_eq(wsrl_replay_report_init(&rep, sizeof rep), WSRL_OK);
  ck_assert_uint_eq(rep.struct_size, sizeof rep);
}
END_TEST

START_TEST(add_get_transform_and_clip) {
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.reward_scale = 10;
  opt.reward_bias = -5;
  opt.action_clip = 0.5;
  wsrl_replay_t *r = make(4, &opt);
  float obs[O] = {1, 2, 3}, act[A] = {0.9f, -0.7f}, next[O] = {4, 5, 6};
  ck_assert_int_eq(wsrl_replay_add(r, obs, act, 1.0f, next, 0, 7 /* any non-zero */), WSRL_OK);
  float o[O], a[A], rw, n[O], m;
  int32_t t, u;
  ck_assert_int_eq(wsrl_replay_get(r, 0, 1, o, a, &rw, n, &t, &u, &m), WSRL_OK);
  ck_assert_int_eq(memcmp(o, obs, sizeof o), 0);
  ck_assert_int_eq(memcmp(n, next, sizeof n), 0);
  ck_assert(a[0] == 0.5f && a[1] == -0.5f);
  ck_assert(rw == 5.0f);
  ck_assert_int_eq(t, 0);
  ck_assert_int_eq(u, 1);
  ck_assert(m == 5.0f);
  int32_t od, ad;
  int64_t cap, bytes;
  ck_assert_int_eq(wsrl_replay_dims(r, &od, &ad), WSRL_OK);
  ck_assert_int_eq(od, O);
  ck_assert_int_eq(ad, A);
  ck_assert_int_eq(wsrl_replay_dims(r, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_capacity(r, &cap), WSRL_OK);
  ck_assert_int_eq(cap, 4);
  ck_assert_int_eq(wsrl_replay_memory_usage(r, &bytes), WSRL_OK);
  ck_assert_int_ge(bytes, 4 * (2 * O + A + 2) * 4);
  ck_assert_int_eq(wsrl_replay_size(r, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("value_out");
  ck_assert_int_eq(wsrl_replay_size(NULL, &cap), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("replay");
  /* Bounds of get. */
  ck_assert_int_eq(wsrl_replay_get(r, 1, 1, o, NULL, NULL, NULL, NULL, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("not within the 1 stored");
  ck_assert_int_eq(wsrl_replay_get(r, -1, 1, o, NULL, NULL, NULL, NULL, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_replay_get(r, 0, -1, o, NULL, NULL, NULL, NULL, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_replay_get(r, 0, INT64_MAX, o, NULL, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_replay_get(r, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_clear(r), WSRL_OK);
  ck_assert_int_eq(size_of(r), 0);
  ck_assert_int_eq(episodes_of(r), 0);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(add_rejects_bad_input_atomically) {
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.reward_scale = 1e30;
  wsrl_replay_t *r = make(8, &opt);
  float obs[O] = {1, NAN, 3}, act[A] = {0, 0}, next[O] = {0, 0, 0};
  ck_assert_int_eq(wsrl_replay_add(r, obs, act, 0, next, 0, 0), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("'obs'[1]");
  obs[1] = 2;
  act[1] = INFINITY;
  ck_assert_int_eq(wsrl_replay_add(r, obs, act, 0, next, 0, 0), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("'action'[1]");
  act[1] = 0;
  ck_assert_int_eq(wsrl_replay_add(r, obs, act, NAN, next, 0, 0), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("'reward'");
  ck_assert_int_eq(wsrl_replay_add(r, obs, act, 1e20f, next, 0, 0), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("overflows");
  ck_assert_int_eq(wsrl_replay_add(r, NULL, act, 0, next, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'obs'");
  ck_assert_int_eq(wsrl_replay_add(r, obs, NULL, 0, next, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'action'");
  ck_assert_int_eq(wsrl_replay_add(r, obs, act, 0, NULL, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'next_obs'");
  ck_assert_int_eq(wsrl_replay_add(NULL, obs, act, 0, next, 0, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(size_of(r), 0);

  /* A batch with one bad row stores nothing. */
  float bo[4 * O], ba[4 * A], br[4], bn[4 * O];
  for (int i = 0; i < 4; i++)
    row(i, bo + i * O, ba + i * A, &br[i], bn + i * O);
  for (int i = 0; i < 4; i++)
    br[i] = 0; /* keep scale 1e30 finite */
  bn[3 * O + 2] = NAN;
  ck_assert_int_eq(wsrl_replay_add_batch(r, 4, bo, ba, br, bn, NULL, NULL), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("'next_obs' row 3 element 2");
  ck_assert_int_eq(size_of(r), 0);
  ck_assert_int_eq(wsrl_replay_add_batch(r, -1, bo, ba, br, bn, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("count");
  ck_assert_int_eq(wsrl_replay_add_batch(r, 0, NULL, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_add_batch(r, 2, bo, ba, NULL, bn, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'reward'");
  bn[3 * O + 2] = 0;
  int32_t term[4] = {0, 1, 0, 0}, trunc[4] = {0, 0, 0, 1};
  ck_assert_int_eq(wsrl_replay_add_batch(r, 4, bo, ba, br, bn, term, trunc), WSRL_OK);
  ck_assert_int_eq(size_of(r), 4);
  ck_assert_int_eq(episodes_of(r), 2);
  ck_assert_int_eq(open_of(r), 0);
  wsrl_replay_destroy(r);
}
END_TEST

/* ---- ring buffer and episodes ---- */

START_TEST(ring_overwrites_oldest_and_counts_episodes) {
  wsrl_replay_t *r = make(5, NULL);
  for (int i = 0; i < 3; i++)
    add_id(r, i, i == 2, 0); /* episode A: 0..2 terminated */
  for (int i = 3; i < 5; i++)
    add_id(r, i, 0, i == 4); /* episode B: 3..4 truncated */
  ck_assert_int_eq(episodes_of(r), 2);
  for (int i = 5; i < 8; i++)
    add_id(r, i, 0, 0); /* episode C open: 5..7 */
  ck_assert_int_eq(size_of(r), 5);
  ck_assert_int_eq(id_at(r, 0), 3);
  ck_assert_int_eq(id_at(r, 4), 7);
  ck_assert_int_eq(episodes_of(r), 1); /* A is gone entirely */
  ck_assert_int_eq(open_of(r), 3);
  for (int i = 8; i < 10; i++)
    add_id(r, i, 0, 0); /* B gone, C has 5 rows */
  ck_assert_int_eq(episodes_of(r), 0);
  ck_assert_int_eq(open_of(r), 5);
  add_id(r, 10, 0, 0); /* C longer than the capacity */
  ck_assert_int_eq(open_of(r), 5);
  ck_assert_int_eq(id_at(r, 0), 6);
  add_id(r, 11, 1, 0);
  ck_assert_int_eq(episodes_of(r), 1);
  ck_assert_int_eq(open_of(r), 0);

  /* Batch insert larger than the capacity keeps the newest rows. */
  wsrl_replay_t *b = make(3, NULL);
  float bo[10 * O], ba[10 * A], br[10], bn[10 * O];
  int32_t term[10] = {0};
  for (int i = 0; i < 10; i++)
    row(i, bo + i * O, ba + i * A, &br[i], bn + i * O);
  term[8] = 1;
  ck_assert_int_eq(wsrl_replay_add_batch(b, 10, bo, ba, br, bn, term, NULL), WSRL_OK);
  ck_assert_int_eq(size_of(b), 3);
  ck_assert_int_eq(id_at(b, 0), 7);
  ck_assert_int_eq(id_at(b, 2), 9);
  ck_assert_int_eq(episodes_of(b), 1);
  ck_assert_int_eq(open_of(b), 1);
  wsrl_replay_destroy(b);
  wsrl_replay_destroy(r);
}
END_TEST

/* ---- MC return-to-go ---- */

START_TEST(mc_returns_terminal_truncated_open) {
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.discount = 0.9;
  wsrl_replay_t *r = make(100, &opt);
  float e1[3] = {1, 2, 3};
  add_rewards(r, e1, 3, 1, 0); /* terminated */
  ck_assert_close(mc_at(r, 0), 1 + 0.9 * (2 + 0.9 * 3));
  ck_assert_close(mc_at(r, 1), 2 + 0.9 * 3);
  ck_assert_close(mc_at(r, 2), 3);
  float e2[2] = {1, 1};
  add_rewards(r, e2, 2, 0, 1); /* truncated: the observed part only */
  ck_assert_close(mc_at(r, 3), 1.9);
  ck_assert_close(mc_at(r, 4), 1);
  float e3[3] = {1, 1, 1};
  add_rewards(r, e3, 3, 0, 0); /* open: provisional, as if truncated now */
  ck_assert_close(mc_at(r, 5), 1 + 0.9 + 0.81);
  ck_assert_close(mc_at(r, 7), 1);
  float last = 2;
  add_rewards(r, &last, 1, 1, 0); /* closes it */
  ck_assert_close(mc_at(r, 5), 1 + 0.9 + 0.81 + 0.729 * 2);
  ck_assert_close(mc_at(r, 8), 2);
  /* Earlier episodes are untouched by later ones. */
  ck_assert_close(mc_at(r, 2), 3);
  ck_assert_int_eq(episodes_of(r), 3);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(mc_returns_sparse_rule) {
  /* Antmaze-style: raw rewards 0/1, scale 10, bias -5, r_neg = 0 raw = -5 stored. */
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.discount = 0.9;
  opt.reward_scale = 10;
  opt.reward_bias = -5;
  opt.mc_sparse = 1;
  opt.mc_sparse_reward = 0;
  wsrl_replay_t *r = make(100, &opt);
  float fail[4] = {0, 0, 0, 0};
  add_rewards(r, fail, 4, 0, 1);
  for (int i = 0; i < 4; i++)
    ck_assert_close(mc_at(r, i), -5 / (1 - 0.9));
  float win[3] = {0, 0, 1};
  add_rewards(r, win, 3, 1, 0);
  ck_assert_close(mc_at(r, 4), -5 + 0.9 * (-5 + 0.9 * 5));
  ck_assert_close(mc_at(r, 6), 5);
  /* An open all-failure episode is already at the constant. */
  add_rewards(r, fail, 2, 0, 0);
  ck_assert_close(mc_at(r, 7), -50);
  /* Without the rule: the plain recursion. */
  opt.mc_sparse = 0;
  wsrl_replay_t *p = make(100, &opt);
  add_rewards(p, fail, 4, 0, 1);
  ck_assert_close(mc_at(p, 0), -5 * (1 + 0.9 + 0.81 + 0.729));
  wsrl_replay_destroy(p);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(mc_returns_survive_overwrite) {
  /* An open episode longer than the buffer: the stored rows keep exact returns. */
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.discount = 0.5;
  wsrl_replay_t *r = make(4, &opt);
  float ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  add_rewards(r, ones, 9, 1, 0);
  ck_assert_int_eq(size_of(r), 4);
  ck_assert_close(mc_at(r, 0), 1 + 0.5 + 0.25 + 0.125);
  ck_assert_close(mc_at(r, 3), 1);
  wsrl_replay_destroy(r);
}
END_TEST

/* ---- sampling ---- */

START_TEST(sample_rows_are_consistent) {
  wsrl_replay_t *r = make(64, NULL);
  for (int i = 0; i < 100; i++) /* wraps: ids 36..99 stored */
    add_id(r, i, i % 10 == 9, 0);
  enum { B = 500 };
  static float obs[B * O], act[B * A], rew[B], next[B * O], mask[B], mc[B];
  ck_assert_int_eq(wsrl_replay_sample(r, B, obs, act, rew, next, mask, mc), WSRL_OK);
  for (int k = 0; k < B; k++) {
    int64_t id = (int64_t)lroundf(obs[k * O]);
    ck_assert_int_ge(id, 36);
    ck_assert_int_le(id, 99);
    float eo[O], ea[A], er, en[O], emc;
    int32_t term;
    ck_assert_int_eq(wsrl_replay_get(r, id - 36, 1, eo, ea, &er, en, &term, NULL, &emc), WSRL_OK);
    ck_assert_int_eq(memcmp(obs + k * O, eo, sizeof eo), 0);
    ck_assert_int_eq(memcmp(act + k * A, ea, sizeof ea), 0);
    ck_assert_int_eq(memcmp(next + k * O, en, sizeof en), 0);
    ck_assert(rew[k] == er);
    ck_assert(mc[k] == emc);
    ck_assert(mask[k] == (term ? 0.0f : 1.0f));
    ck_assert(mask[k] == (id % 10 == 9 ? 0.0f : 1.0f));
  }
  /* Outputs are optional. */
  ck_assert_int_eq(wsrl_replay_sample(r, 3, NULL, NULL, rew, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_sample(r, 0, obs, act, rew, next, mask, mc), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("batch_size");
  ck_assert_int_eq(wsrl_replay_sample(NULL, 1, obs, act, rew, next, mask, mc), WSRL_ERR_INVALID_ARGUMENT);
  /* A count no caller's arrays hold is refused before any row is written. */
  ck_assert_int_eq(wsrl_replay_sample(r, WSRL_REPLAY_MAX_BATCH + 1, obs, act, rew, next, mask, mc),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("batch_size must be in [1, 16777216]");
  ck_assert_int_eq(wsrl_replay_sample(r, (int64_t)1 << 28, obs, act, rew, next, mask, mc), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_replay_sample_mixed(r, NULL, 0.0, INT64_MAX, obs, act, rew, next, mask, mc),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("batch_size");
  /* Huge rows in wsrl_replay_get: an error, and a message built without overflow (UBSan). */
  ck_assert_int_eq(wsrl_replay_get(r, INT64_MAX, INT64_MAX, obs, NULL, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("9223372036854775807 rows from row 9223372036854775807");
  ck_assert_int_eq(wsrl_replay_get(r, 1, INT64_MAX, obs, NULL, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  wsrl_replay_clear(r);
  ck_assert_int_eq(wsrl_replay_sample(r, 1, obs, act, rew, next, mask, mc), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("empty");
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(sample_is_seeded_and_uniform) {
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.seed = 42;
  wsrl_replay_t *a = make(10, &opt), *b = make(10, &opt);
  opt.seed = 43;
  wsrl_replay_t *c = make(10, &opt);
  for (int i = 0; i < 10; i++) {
    add_id(a, i, 0, 0);
    add_id(b, i, 0, 0);
    add_id(c, i, 0, 0);
  }
  enum { B = 20000 };
  static float oa[B * O], ob[B * O], oc[B * O];
  ck_assert_int_eq(wsrl_replay_sample(a, B, oa, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_sample(b, B, ob, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_sample(c, B, oc, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(memcmp(oa, ob, sizeof oa), 0);
  ck_assert_int_ne(memcmp(oa, oc, sizeof oa), 0);
  /* Reseeding restarts the stream. */
  ck_assert_int_eq(wsrl_replay_seed(b, 42), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_sample(b, B, ob, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(memcmp(oa, ob, sizeof oa), 0);
  /* Chi-square over the 10 rows (df 9; 27.9 is the 0.999 quantile). */
  double count[10] = {0};
  for (int k = 0; k < B; k++)
    count[lroundf(oa[k * O])]++;
  double chi = 0;
  for (int i = 0; i < 10; i++)
    chi += (count[i] - B / 10.0) * (count[i] - B / 10.0) / (B / 10.0);
  ck_assert_msg(chi < 27.9, "chi-square %g", chi);
  wsrl_replay_destroy(a);
  wsrl_replay_destroy(b);
  wsrl_replay_destroy(c);
}
END_TEST

START_TEST(internal_sample_into_offsets_and_index) {
  wsrl_replay_t *r = make(8, NULL);
  for (int i = 0; i < 11; i++) /* wraps: logical 0 = id 3 */
    add_id(r, i, 0, 0);
  wsrl__alloc al;
  wsrl__alloc_resolve(&al, NULL);
  wsrl__replay_batch b;
  ck_assert_int_eq(wsrl__replay_batch_alloc(&b, &al, 64, O, A, 1), WSRL_OK);
  ck_assert_int_eq((uintptr_t)b.obs % 64, 0);
  for (int k = 0; k < 64; k++)
    b.reward[k] = -1;
  ck_assert_int_eq(wsrl__replay_sample_into(r, wsrl__replay_rng(r), 32, 32, &b), WSRL_OK);
  for (int k = 0; k < 32; k++)
    ck_assert(b.reward[k] == -1); /* rows before the offset untouched */
  for (int k = 32; k < 64; k++) {
    ck_assert_int_ge(b.index[k], 0);
    ck_assert_int_lt(b.index[k], 8);
    ck_assert_int_eq(id_at(r, b.index[k]), lroundf(b.obs[k * O]));
  }
  ck_assert_int_eq(wsrl__replay_sample_into(r, wsrl__replay_rng(r), 1, -1, &b), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("row_offset");
  wsrl__replay_batch_free(&b, &al);
  ck_assert_ptr_null(b.obs);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(mixed_sampling_ratio_and_layout) {
  wsrl_replay_t *on = make(100, NULL), *off = make(100, NULL);
  for (int i = 0; i < 50; i++) {
    add_id(on, i, 0, 0);         /* online ids < 1000 */
    add_id(off, 1000 + i, 0, 0); /* offline ids >= 1000 */
  }
  float obs[8 * O];
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, off, 0.25, 8, obs, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  for (int k = 0; k < 8; k++)
    ck_assert_int_eq(obs[k * O] >= 1000, k == 0 || k == 4);
  /* RLPD's interleaving at 0.5: offline at even rows. */
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, off, 0.5, 6, obs, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  for (int k = 0; k < 6; k++)
    ck_assert_int_eq(obs[k * O] >= 1000, k % 2 == 0);
  /* Exact count and even spread for an awkward ratio. */
  enum { B = 1000 };
  static float big[B * O];
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, off, 0.3, B, big, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  int total = 0;
  for (int k = 0; k < B; k++) {
    total += big[k * O] >= 1000;
    if (k % 250 == 249) /* every UTD minibatch of 250 keeps the ratio */
      ck_assert_int_eq(total, 75 * (k + 1) / 250);
  }
  /* Extremes: ratio 0 needs no offline buffer, ratio 1 no online data. */
  wsrl_replay_t *empty = make(10, NULL);
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, NULL, 0.0, 4, obs, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_sample_mixed(empty, off, 1.0, 4, obs, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  for (int k = 0; k < 4; k++)
    ck_assert(obs[k * O] >= 1000);
  /* Errors. */
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, off, 1.5, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("offline_ratio");
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, off, NAN, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, NULL, 0.5, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'offline' is NULL");
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, on, 0.5, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("same buffer");
  ck_assert_int_eq(wsrl_replay_sample_mixed(empty, off, 0.5, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("online buffer is empty");
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, empty, 0.5, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("offline buffer is empty");
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, off, 0.5, 0, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  wsrl_replay_t *wide = NULL;
  ck_assert_int_eq(wsrl_replay_create(&wide, O + 1, A, 10, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_sample_mixed(on, wide, 0.5, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim");
  ck_assert_int_eq(wsrl_replay_sample_mixed(NULL, off, 0.5, 4, obs, NULL, NULL, NULL, NULL, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  wsrl_replay_destroy(wide);
  wsrl_replay_destroy(empty);
  wsrl_replay_destroy(on);
  wsrl_replay_destroy(off);
}
END_TEST

/* ---- append ---- */

START_TEST(append_copies_as_stored) {
  wsrl_replay_options_t so = WSRL_REPLAY_OPTIONS_INIT;
  so.reward_scale = 2;
  so.discount = 0.9;
  wsrl_replay_t *src = make(6, &so);
  for (int i = 0; i < 9; i++) /* wraps; last episode open */
    add_id(src, i, i == 4, 0);
  wsrl_replay_t *dst = make(20, &so);
  ck_assert_int_eq(wsrl_replay_append(dst, src), WSRL_OK);
  assert_same_contents(dst, src); /* rewards not scaled twice, returns copied */
  /* Another discount: returns recomputed for dst's settings. */
  wsrl_replay_options_t d2 = WSRL_REPLAY_OPTIONS_INIT;
  d2.discount = 0.5;
  wsrl_replay_t *dst2 = make(20, &d2);
  ck_assert_int_eq(wsrl_replay_append(dst2, src), WSRL_OK);
  float r3, r4;
  ck_assert_int_eq(wsrl_replay_get(src, 0, 1, NULL, NULL, &r3, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_get(src, 1, 1, NULL, NULL, &r4, NULL, NULL, NULL, NULL), WSRL_OK);
  ck_assert_close(mc_at(dst2, 0), r3 + 0.5 * r4); /* ids 3, 4 (terminal) */
  ck_assert_close(mc_at(dst2, 1), r4);
  /* The open tail continues in dst. */
  ck_assert_int_eq(open_of(dst), 4);
  add_id(dst, 9, 1, 0);
  ck_assert_int_eq(open_of(dst), 0);
  ck_assert_int_eq(episodes_of(dst), 2);
  /* Errors. */
  add_id(dst2, 50, 0, 0);
  ck_assert_int_eq(wsrl_replay_append(dst2, src), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("open episode");
  ck_assert_int_eq(wsrl_replay_append(dst, dst), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("same buffer");
  ck_assert_int_eq(wsrl_replay_append(NULL, src), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("dst");
  wsrl_replay_t *wide = NULL;
  ck_assert_int_eq(wsrl_replay_create(&wide, O, A + 1, 10, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_append(wide, src), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("act_dim");
  wsrl_replay_destroy(wide);
  wsrl_replay_destroy(src);
  wsrl_replay_destroy(dst);
  wsrl_replay_destroy(dst2);
}
END_TEST

/* ---- native files ---- */

/* 12 transitions through a capacity-7 ring: episodes closed by terminal and
 * truncation, an open tail. */
static wsrl_replay_t *filled(const wsrl_replay_options_t *opt) {
  wsrl_replay_t *r = make(7, opt);
  for (int i = 0; i < 12; i++)
    add_id(r, i, i == 5, i == 8);
  return r;
}

START_TEST(native_round_trip) {
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.discount = 0.8;
  wsrl_replay_t *a = filled(&opt);
  const char *p = path_of("a.wsrl");
  ck_assert_int_eq(wsrl_replay_save(a, p), WSRL_OK);
  int32_t od, ad;
  int64_t count;
  ck_assert_int_eq(wsrl_replay_file_info(p, &od, &ad, &count), WSRL_OK);
  ck_assert_int_eq(od, O);
  ck_assert_int_eq(ad, A);
  ck_assert_int_eq(count, 7);
  wsrl_replay_t *b = make(7, &opt);
  add_id(b, 77, 0, 0); /* replaced by the load */
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_load(b, p, &rep), WSRL_OK);
  assert_same_contents(a, b);
  ck_assert_int_eq(rep.rows, 7);
  ck_assert_int_eq(rep.loaded, 7);
  ck_assert_int_eq(rep.episodes, 2);
  ck_assert_int_eq(rep.mc_recomputed, 0);
  ck_assert_int_eq(rep.dropped_nonfinite, 0);
  /* Both continue identically (the open episode included). */
  add_id(a, 12, 1, 0);
  add_id(b, 12, 1, 0);
  assert_same_contents(a, b);
  /* Into a larger buffer, then fill it past the loaded rows. */
  wsrl_replay_t *c = make(30, &opt);
  ck_assert_int_eq(wsrl_replay_load(c, p, NULL), WSRL_OK);
  ck_assert_int_eq(size_of(c), 7);
  ck_assert_int_eq(id_at(c, 0), 5);
  add_id(c, 12, 1, 0);
  ck_assert_int_eq(id_at(c, 7), 12);
  ck_assert_int_eq(episodes_of(c), 3);
  /* An empty buffer round-trips too. */
  wsrl_replay_t *e = make(3, &opt);
  ck_assert_int_eq(wsrl_replay_save(e, path_of("e.wsrl")), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_load(c, path_of("e.wsrl"), NULL), WSRL_OK);
  ck_assert_int_eq(size_of(c), 0);
  wsrl_replay_destroy(e);
  wsrl_replay_destroy(a);
  wsrl_replay_destroy(b);
  wsrl_replay_destroy(c);
}
END_TEST

START_TEST(native_load_recomputes_for_other_discount) {
  wsrl_replay_options_t o1 = WSRL_REPLAY_OPTIONS_INIT, o2 = WSRL_REPLAY_OPTIONS_INIT;
  o1.discount = 0.8;
  o2.discount = 0.3;
  wsrl_replay_t *a = filled(&o1), *want = filled(&o2), *b = make(7, &o2);
  ck_assert_int_eq(wsrl_replay_save(a, path_of("a.wsrl")), WSRL_OK);
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_load(b, path_of("a.wsrl"), &rep), WSRL_OK);
  ck_assert_int_eq(rep.mc_recomputed, 1);
  assert_same_contents(b, want);
  wsrl_replay_destroy(a);
  wsrl_replay_destroy(b);
  wsrl_replay_destroy(want);
}
END_TEST

START_TEST(native_load_argument_errors) {
  wsrl_replay_t *a = filled(NULL);
  const char *p = path_of("a.wsrl");
  ck_assert_int_eq(wsrl_replay_save(a, p), WSRL_OK);
  wsrl_replay_t *small = make(6, NULL);
  add_id(small, 99, 0, 0);
  ck_assert_int_eq(wsrl_replay_load(small, p, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("capacity is 6");
  ck_assert_int_eq(id_at(small, 0), 99);
  wsrl_replay_t *wide = NULL;
  ck_assert_int_eq(wsrl_replay_create(&wide, O + 2, A, 10, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_load(wide, p, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim 3");
  ck_assert_int_eq(wsrl_replay_load(small, path_of("nope.wsrl"), NULL), WSRL_ERR_IO);
  ck_assert_msg_has("nope.wsrl");
  ck_assert_int_eq(wsrl_replay_load(small, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("path");
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  rep.struct_size = sizeof rep + 4;
  ck_assert_int_eq(wsrl_replay_load(small, p, &rep), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_msg_has("report_out");
  /* An older, shorter report gets only its fields. */
  wsrl_replay_t *b = make(7, NULL);
  wsrl_replay_report_t old;
  memset(&old, 0x55, sizeof old);
  old.struct_size = (uint32_t)offsetof(wsrl_replay_report_t, dropped_timeout);
  ck_assert_int_eq(wsrl_replay_load(b, p, &old), WSRL_OK);
  ck_assert_int_eq(old.loaded, 7);
  ck_assert_int_eq(old.dropped_timeout, 0x5555555555555555ll);
  ck_assert_int_eq(wsrl_replay_save(a, "/nonexistent-dir-wsrl/x.wsrl"), WSRL_ERR_IO);
  ck_assert_msg_has("/nonexistent-dir-wsrl/x.wsrl");
  ck_assert_int_eq(wsrl_replay_save(NULL, p), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_replay_destroy(b);
  wsrl_replay_destroy(wide);
  wsrl_replay_destroy(small);
  wsrl_replay_destroy(a);
}
END_TEST

/* File bytes and a re-seal that recomputes every CRC after an edit, so that
 * the field checks behind the checksums are reached. */
static long slurp(const char *p, uint8_t *buf, size_t cap) {
  FILE *f = fopen(p, "rb");
  ck_assert_ptr_nonnull(f);
  long n = (long)fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static void spit(const char *p, const uint8_t *buf, long n) {
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq((long)fwrite(buf, 1, (size_t)n, f), n);
  fclose(f);
}

static void reseal(uint8_t *f) {
  uint32_t count = wsrl__load_u32le(f + 20);
  uint64_t to = wsrl__load_u64le(f + 24);
  for (uint32_t i = 0; i < count; i++) {
    uint8_t *e = f + to + (uint64_t)i * WSRL__SECTION_ENTRY_SIZE;
    wsrl__store_u32le(e + 48, wsrl__crc32(0, f + wsrl__load_u64le(e + 32), (size_t)wsrl__load_u64le(e + 40)));
  }
  wsrl__store_u32le(f + 40, wsrl__crc32(0, f + to, (size_t)count * WSRL__SECTION_ENTRY_SIZE));
  wsrl__store_u32le(f + 60, wsrl__crc32(0, f, 60));
}

/* Offset of a section's payload in a file image. */
static uint64_t payload_of(const uint8_t *f, const char *name) {
  uint32_t count = wsrl__load_u32le(f + 20);
  uint64_t to = wsrl__load_u64le(f + 24);
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *e = f + to + (uint64_t)i * WSRL__SECTION_ENTRY_SIZE;
    if (strcmp((const char *)e, name) == 0)
      return wsrl__load_u64le(e + 32);
  }
  ck_abort_msg("no section %s", name);
  return 0;
}

/* Load a file image into a buffer holding other data; on failure the buffer
 * must be unchanged. */
static wsrl_status_t load_image(const uint8_t *f, long n, wsrl_replay_t *r) {
  const char *p = path_of("img.wsrl");
  spit(p, f, n);
  int64_t before = size_of(r);
  int64_t first = before > 0 ? id_at(r, 0) : -1;
  wsrl_status_t st = wsrl_replay_load(r, p, NULL);
  if (st != WSRL_OK) {
    ck_assert_int_eq(size_of(r), before);
    if (before > 0)
      ck_assert_int_eq(id_at(r, 0), first);
  }
  return st;
}

START_TEST(native_rejects_corruption) {
  wsrl_replay_t *a = filled(NULL);
  const char *p = path_of("a.wsrl");
  ck_assert_int_eq(wsrl_replay_save(a, p), WSRL_OK);
  static uint8_t orig[8192], f[8192];
  long n = slurp(p, orig, sizeof orig);
  ck_assert_int_lt(n, (long)sizeof orig);
  wsrl_replay_t *b = make(7, NULL);
  for (int i = 0; i < 3; i++)
    add_id(b, 500 + i, 0, 0);

  /* Truncation anywhere. */
  for (long cut = 0; cut < n; cut += 7)
    ck_assert_int_eq(load_image(orig, cut, b), WSRL_ERR_CORRUPT);
  ck_assert_int_eq(load_image(orig, n - 100, b), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("truncated");
  /* Every single-byte change is caught, whatever it hits. */
  for (long i = 0; i < n; i++) {
    memcpy(f, orig, (size_t)n);
    f[i] ^= 0x04;
    wsrl_status_t st = load_image(f, n, b);
    ck_assert_msg(st == WSRL_ERR_CORRUPT || st == WSRL_ERR_VERSION_MISMATCH, "byte %ld: status %d", i, st);
  }
  /* Named cases. */
  memcpy(f, orig, (size_t)n);
  memcpy(f, "WSRLCKPT", 8);
  ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.magic");
  memcpy(f, orig, (size_t)n);
  f[payload_of(f, "observations") + 5] ^= 1;
  ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("(observations): checksum");
  memcpy(f, orig, (size_t)n);
  wsrl__store_u32le(f + 12, 2); /* a newer format */
  reseal(f);
  ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_msg_has("format version 2");

  /* Field checks behind valid checksums. */
  uint64_t meta = payload_of(orig, "meta");
  struct {
    uint64_t at;
    int64_t value;
    int width;
    const char *field;
  } cases[] = {
      {meta + 0, 0, 4, "meta.obs_dim"},
      {meta + 4, -2, 4, "meta.act_dim"},
      {meta + 8, -1, 8, "meta.count"},
      {meta + 8, 8, 8, "meta.count"},          /* above its capacity 7 */
      {meta + 8, 6, 8, "(observations): 84 bytes, expected 72"},
      {meta + 16, 3, 8, "meta.episodes"},      /* the flags close 2 */
      {meta + 24, 1, 8, "meta.open_len"},      /* 3 rows follow the last end */
      {meta + 72, 3, 4, "meta.mc_sparse"},
      {meta + 76, 2, 4, "meta.open_all_sparse"},
      {meta + 90, 1, 4, "meta.reserved"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    memcpy(f, orig, (size_t)n);
    if (cases[k].width == 4)
      wsrl__store_i32le(f + cases[k].at, (int32_t)cases[k].value);
    else
      wsrl__store_i64le(f + cases[k].at, cases[k].value);
    reseal(f);
    ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_CORRUPT);
    ck_assert_msg_has(cases[k].field);
  }
  memcpy(f, orig, (size_t)n);
  wsrl__store_f64le(f + meta + 32, 1.5);
  reseal(f);
  ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("meta.discount");
  memcpy(f, orig, (size_t)n);
  f[payload_of(f, "flags") + 2] = 0x10;
  reseal(f);
  ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("flag bits 0x10");
  memcpy(f, orig, (size_t)n);
  f[payload_of(f, "flags") + 2] = 0x01; /* an extra episode end, counters stale */
  reseal(f);
  ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("meta.episodes");
  /* A missing section: rename it in the table. */
  memcpy(f, orig, (size_t)n);
  uint64_t to = wsrl__load_u64le(f + 24);
  for (uint32_t i = 0; i < wsrl__load_u32le(f + 20); i++)
    if (strcmp((char *)f + to + i * WSRL__SECTION_ENTRY_SIZE, "rewards") == 0)
      memcpy(f + to + i * WSRL__SECTION_ENTRY_SIZE, "rewardz", 7);
  reseal(f);
  ck_assert_int_eq(load_image(f, n, b), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("'rewards' is missing");
  ck_assert_int_eq(wsrl_replay_file_info(path_of("img.wsrl"), NULL, NULL, NULL), WSRL_OK);
  wsrl_replay_destroy(a);
  wsrl_replay_destroy(b);
}
END_TEST

START_TEST(native_nonfinite_error_or_drop) {
  wsrl_replay_t *a = filled(NULL);
  const char *p = path_of("a.wsrl");
  ck_assert_int_eq(wsrl_replay_save(a, p), WSRL_OK);
  static uint8_t f[8192];
  long n = slurp(p, f, sizeof f);
  /* Logical row 1 (id 6, just after the terminal at id 5): NaN in its action. */
  float nan = NAN;
  uint8_t nb[4];
  memcpy(nb, &nan, 4);
  memcpy(f + payload_of(f, "actions") + (1 * A + 1) * 4, nb, 4);
  /* Row 4 (id 9, after the truncation at id 8): infinite next observation. */
  float inf = INFINITY;
  memcpy(f + payload_of(f, "next_observations") + (4 * O + 0) * 4, &inf, 4);
  reseal(f);
  spit(path_of("nan.wsrl"), f, n);
  wsrl_replay_t *b = make(7, NULL);
  ck_assert_int_eq(wsrl_replay_load(b, path_of("nan.wsrl"), NULL), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("section 'actions' row 1 element 1");
  ck_assert_int_eq(size_of(b), 0);

  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.nonfinite = WSRL_REPLAY_NONFINITE_DROP;
  wsrl_replay_t *c = make(7, &opt);
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_load(c, path_of("nan.wsrl"), &rep), WSRL_OK);
  ck_assert_int_eq(rep.rows, 7);
  ck_assert_int_eq(rep.loaded, 5);
  ck_assert_int_eq(rep.dropped_nonfinite, 2);
  ck_assert_int_eq(rep.mc_recomputed, 1);
  /* Kept ids 5, 7, 8, 10, 11: 5 terminal, 7-8 truncated at 8, 10-11 open. */
  int64_t want[5] = {5, 7, 8, 10, 11};
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(id_at(c, i), want[i]);
  ck_assert_int_eq(episodes_of(c), 2);
  ck_assert_int_eq(open_of(c), 2);
  ck_assert_close(mc_at(c, 1), 3.5 + 0.99 * 4.0);
  wsrl_replay_destroy(a);
  wsrl_replay_destroy(b);
  wsrl_replay_destroy(c);
}
END_TEST

START_TEST(checkpoint_sections_with_prefix) {
  /* The checkpoint code embeds a buffer under a prefix beside its own sections. */
  wsrl_replay_t *a = filled(NULL), *b = make(7, NULL);
  const char *p = path_of("ckpt.bin");
  wsrl__secwriter w;
  ck_assert_int_eq(wsrl__secwriter_open(&w, p, "WSRLCKPT", 1, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_add(&w, "agent.params", "xyz", 3), WSRL_OK);
  ck_assert_int_eq(wsrl__replay_write_sections(a, &w, "replay."), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_commit(&w), WSRL_OK);
  wsrl__secreader rd;
  ck_assert_int_eq(wsrl__secreader_open(&rd, p, "WSRLCKPT", 1, NULL), WSRL_OK);
  ck_assert_ptr_nonnull(wsrl__secreader_find(&rd, "replay.next_observations"));
  ck_assert_int_eq(wsrl__replay_read_sections(b, &rd, "replay.", NULL), WSRL_OK);
  assert_same_contents(a, b);
  ck_assert_int_eq(wsrl__replay_read_sections(b, &rd, "other.", NULL), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("'other.meta' is missing");
  ck_assert_int_eq(wsrl__replay_read_sections(b, &rd, "much.too.long.prefix.", NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("prefix");
  wsrl__secreader_close(&rd);
  wsrl_replay_destroy(a);
  wsrl_replay_destroy(b);
}
END_TEST

/* ---- HDF5 ---- */

#if WSRL_HAVE_HDF5

/* Write a D4RL-style file: observations (float64 as in some D4RL releases),
 * actions float32, rewards (N,) float32, terminals/timeouts as h5py bools. */
typedef struct h5spec {
  int n;
  const double *obs;    /* n x O */
  const float *act;     /* n x A */
  const float *rew;     /* n */
  const uint8_t *term;  /* n */
  const uint8_t *tout;  /* n or NULL (no dataset) */
  const float *next;    /* n x O or NULL (no dataset) */
  const char *skip;     /* a dataset to leave out */
  int rew_rows;         /* rows of rewards if not n */
} h5spec;

static void h5_put(hid_t f, const char *key, hid_t ftype, hid_t mtype, int rank, hsize_t rows, hsize_t cols,
                   const void *data) {
  hsize_t dims[2] = {rows, cols};
  hid_t sp = H5Screate_simple(rank, dims, NULL);
  hid_t d = H5Dcreate2(f, key, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(d, 0);
  if (rows > 0)
    ck_assert_int_ge(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
  H5Dclose(d);
  H5Sclose(sp);
}

static void write_h5(const char *path, const h5spec *s) {
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(f, 0);
  hid_t b = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t v = 0;
  H5Tenum_insert(b, "FALSE", &v);
  v = 1;
  H5Tenum_insert(b, "TRUE", &v);
  if (!s->skip || strcmp(s->skip, "observations"))
    h5_put(f, "observations", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, (hsize_t)s->n, O, s->obs);
  if (!s->skip || strcmp(s->skip, "actions"))
    h5_put(f, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, (hsize_t)s->n, A, s->act);
  if (!s->skip || strcmp(s->skip, "rewards"))
    h5_put(f, "rewards", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t)(s->rew_rows ? s->rew_rows : s->n), 1,
           s->rew);
  if (!s->skip || strcmp(s->skip, "terminals"))
    h5_put(f, "terminals", b, b, 1, (hsize_t)s->n, 1, s->term);
  if (s->tout)
    h5_put(f, "timeouts", b, b, 1, (hsize_t)s->n, 1, s->tout);
  if (s->next)
    h5_put(f, "next_observations", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, (hsize_t)s->n, O, s->next);
  H5Tclose(b);
  H5Fclose(f);
}

/* Ten rows with obs[i][j] = i + j/100, actions, rewards i. */
typedef struct d4rl_data {
  double obs[10 * O];
  float act[10 * A], rew[10], next[10 * O];
  uint8_t term[10], tout[10];
} d4rl_data;

static void d4rl_fill(d4rl_data *d) {
  memset(d, 0, sizeof *d);
  for (int i = 0; i < 10; i++) {
    for (int j = 0; j < O; j++) {
      d->obs[i * O + j] = i + j / 100.0;
      d->next[i * O + j] = (float)(i + 0.5 + j / 100.0);
    }
    for (int j = 0; j < A; j++)
      d->act[i * A + j] = 0.1f * (float)(i - 5);
    d->rew[i] = (float)i;
  }
}

static h5spec spec_of(const d4rl_data *d) {
  h5spec s = {10, d->obs, d->act, d->rew, d->term, d->tout, NULL, NULL, 0};
  return s;
}

/* Flags of logical row i as "t" (terminated), "u" (truncated), "-". */
static char flag_at(const wsrl_replay_t *r, int64_t i) {
  int32_t t, u;
  ck_assert_int_eq(wsrl_replay_get(r, i, 1, NULL, NULL, NULL, NULL, &t, &u, NULL), WSRL_OK);
  return t ? 't' : (u ? 'u' : '-');
}

START_TEST(hdf5_d4rl_qlearning_semantics) {
  d4rl_data d;
  d4rl_fill(&d);
  d.term[3] = 1;
  d.tout[6] = 1;
  h5spec s = spec_of(&d);
  const char *p = path_of("d4rl.hdf5");
  write_h5(p, &s);
  int32_t od, ad;
  int64_t rows;
  ck_assert_int_eq(wsrl_replay_hdf5_info(p, &od, &ad, &rows), WSRL_OK);
  ck_assert_int_eq(od, O);
  ck_assert_int_eq(ad, A);
  ck_assert_int_eq(rows, 10);
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.discount = 0.5;
  opt.action_clip = 0.3;
  wsrl_replay_t *r = make(20, &opt);
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, p, &rep), WSRL_OK);
  /* qlearning_dataset: i in [0, 9), the timeout row 6 skipped. */
  int64_t kept[8] = {0, 1, 2, 3, 4, 5, 7, 8};
  const char *flags = "---t-u-u";
  ck_assert_int_eq(size_of(r), 8);
  for (int k = 0; k < 8; k++) {
    float o[O], a[A], rw, nx[O];
    ck_assert_int_eq(wsrl_replay_get(r, k, 1, o, a, &rw, nx, NULL, NULL, NULL), WSRL_OK);
    int64_t i = kept[k];
    for (int j = 0; j < O; j++) {
      ck_assert(o[j] == (float)d.obs[i * O + j]);
      ck_assert(nx[j] == (float)d.obs[(i + 1) * O + j]); /* next row, even after the terminal */
    }
    for (int j = 0; j < A; j++) {
      float want = d.act[i * A + j];
      want = want > 0.3f ? 0.3f : (want < -0.3f ? -0.3f : want);
      ck_assert(a[j] == want);
    }
    ck_assert(rw == (float)i);
    ck_assert_int_eq(flag_at(r, k), flags[k]);
  }
  ck_assert_int_eq(rep.rows, 10);
  ck_assert_int_eq(rep.loaded, 8);
  ck_assert_int_eq(rep.dropped_timeout, 1);
  ck_assert_int_eq(rep.dropped_last, 1);
  ck_assert_int_eq(rep.episodes, 3);
  ck_assert_int_eq(episodes_of(r), 3);
  ck_assert_int_eq(open_of(r), 0);
  ck_assert_close(mc_at(r, 0), 0 + 0.5 * (1 + 0.5 * (2 + 0.5 * 3)));
  ck_assert_close(mc_at(r, 4), 4 + 0.5 * 5);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(hdf5_d4rl_without_timeouts_uses_step_counter) {
  /* D4RL's counter with max_episode_steps 4: reset on a terminal to 0 then
   * incremented (so the next episode is one step shorter), reset on a timeout. */
  d4rl_data d;
  d4rl_fill(&d);
  d.term[1] = 1;
  h5spec s = spec_of(&d);
  s.tout = NULL;
  write_h5(path_of("old.hdf5"), &s);
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.max_episode_steps = 4;
  wsrl_replay_t *r = make(20, &opt);
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("old.hdf5"), &rep), WSRL_OK);
  int64_t kept[7] = {0, 1, 2, 3, 5, 6, 7};
  const char *flags = "-t-u--u";
  ck_assert_int_eq(size_of(r), 7);
  for (int k = 0; k < 7; k++) {
    ck_assert_int_eq(id_at(r, k), kept[k]);
    ck_assert_int_eq(flag_at(r, k), flags[k]);
  }
  ck_assert_int_eq(rep.dropped_timeout, 2);
  /* Without a step limit nothing is cut but the last row. */
  wsrl_replay_t *q = make(20, NULL);
  ck_assert_int_eq(wsrl_replay_import_hdf5(q, path_of("old.hdf5"), &rep), WSRL_OK);
  ck_assert_int_eq(size_of(q), 9);
  ck_assert_int_eq(rep.dropped_timeout, 0);
  ck_assert_int_eq(episodes_of(q), 2);
  wsrl_replay_destroy(q);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(hdf5_with_next_observations_keeps_every_row) {
  d4rl_data d;
  d4rl_fill(&d);
  d.term[3] = 1;
  d.tout[6] = 1;
  h5spec s = spec_of(&d);
  s.next = d.next;
  write_h5(path_of("n.hdf5"), &s);
  wsrl_replay_t *r = make(10, NULL);
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("n.hdf5"), &rep), WSRL_OK);
  ck_assert_int_eq(size_of(r), 10);
  const char *flags = "---t--u--u";
  for (int k = 0; k < 10; k++) {
    float nx[O];
    ck_assert_int_eq(wsrl_replay_get(r, k, 1, NULL, NULL, NULL, nx, NULL, NULL, NULL), WSRL_OK);
    ck_assert(nx[1] == d.next[k * O + 1]);
    ck_assert_int_eq(flag_at(r, k), flags[k]);
  }
  ck_assert_int_eq(rep.dropped_last + rep.dropped_timeout, 0);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(hdf5_rows_across_read_chunks) {
  /* More rows than one read chunk (65536): next_obs at the chunk edge comes
   * from the following chunk, and a timeout right at the edge is skipped. */
  enum { N = 70001 };
  double *obs = malloc(sizeof(double) * N * O);
  float *act = calloc((size_t)N * A, sizeof(float)), *rew = malloc(sizeof(float) * N);
  uint8_t *term = calloc(N, 1), *tout = calloc(N, 1);
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < O; j++)
      obs[i * O + j] = i + j / 100.0;
    rew[i] = (float)(i % 1000);
  }
  tout[65536] = 1;
  term[65535 - 2] = 1;
  h5spec s = {N, obs, act, rew, term, tout, NULL, NULL, 0};
  write_h5(path_of("big.hdf5"), &s);
  wsrl_replay_t *r = make(N, NULL);
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("big.hdf5"), &rep), WSRL_OK);
  ck_assert_int_eq(size_of(r), N - 2);
  ck_assert_int_eq(rep.dropped_timeout, 1);
  for (int64_t k = 65530; k < 65540; k++) {
    int64_t i = k < 65536 ? k : k + 1; /* row 65536 was skipped */
    float o[O], nx[O];
    ck_assert_int_eq(wsrl_replay_get(r, k, 1, o, NULL, NULL, nx, NULL, NULL, NULL), WSRL_OK);
    ck_assert(o[0] == (float)i && nx[0] == (float)(i + 1));
    ck_assert_int_eq(flag_at(r, k), i == 65533 ? 't' : (i == 65535 ? 'u' : '-'));
  }
  ck_assert_int_eq(episodes_of(r), 3);
  free(obs), free(act), free(rew), free(term), free(tout);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(hdf5_export_import_round_trip) {
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.discount = 0.7;
  wsrl_replay_t *a = make(7, &opt);
  for (int i = 0; i < 12; i++)
    add_id(a, i, i == 5, i == 8 || i == 11); /* every episode closed */
  const char *p = path_of("x.hdf5");
  ck_assert_int_eq(wsrl_replay_export_hdf5(a, p), WSRL_OK);
  wsrl_replay_t *b = make(7, &opt);
  ck_assert_int_eq(wsrl_replay_import_hdf5(b, p, NULL), WSRL_OK);
  assert_same_contents(a, b);
  /* An open tail is closed (truncated) by the import. */
  add_id(a, 12, 0, 0);
  ck_assert_int_eq(wsrl_replay_export_hdf5(a, p), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_import_hdf5(b, p, NULL), WSRL_OK);
  ck_assert_int_eq(open_of(b), 0);
  ck_assert_int_eq(flag_at(b, 6), 'u');
  /* Empty buffer. */
  wsrl_replay_t *e = make(3, NULL);
  ck_assert_int_eq(wsrl_replay_export_hdf5(e, p), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_import_hdf5(b, p, NULL), WSRL_OK);
  ck_assert_int_eq(size_of(b), 0);
  ck_assert_int_eq(wsrl_replay_export_hdf5(a, "/nonexistent-dir-wsrl/x.hdf5"), WSRL_ERR_IO);
  ck_assert_msg_has("/nonexistent-dir-wsrl/x.hdf5");
  wsrl_replay_destroy(e);
  wsrl_replay_destroy(a);
  wsrl_replay_destroy(b);
}
END_TEST

/* A file of 4 transitions (one episode) whose actions are acts[i][j], no clip. */
static void write_actions(const char *p, float acts[4][A]) {
  wsrl_replay_t *r = make(4, NULL);
  for (int i = 0; i < 4; i++) {
    float obs[O], act[A], rew, next[O];
    row(i, obs, act, &rew, next);
    ck_assert_int_eq(wsrl_replay_add(r, obs, acts[i], rew, next, 0, i == 3), WSRL_OK);
  }
  ck_assert_int_eq(wsrl_replay_export_hdf5(r, p), WSRL_OK);
  wsrl_replay_destroy(r);
}

static float action_at(const wsrl_replay_t *r, int64_t i, int j) {
  float a[A];
  ck_assert_int_eq(wsrl_replay_get(r, i, 1, NULL, a, NULL, NULL, NULL, NULL, NULL), WSRL_OK);
  return a[j];
}

static int warnings;
static void count_warnings(void *user, int32_t level, const char *message) {
  (void)user, (void)message;
  warnings += level == WSRL_LOG_WARN;
}

START_TEST(hdf5_action_bounds_rescale_and_refuse) {
  const float lo2[A] = {-2, -2}, hi2[A] = {2, 2};
  /* Environment units +-2 (and 0..4 on a shifted second axis below). */
  float env[4][A] = {{2, -2}, {-2, 2}, {1, 0}, {-0.5f, 1.5f}};
  const char *p = path_of("env.hdf5");
  write_actions(p, env);
  for (uint32_t flags = 0; flags <= WSRL_REPLAY_IMPORT_ISOLATED; flags += WSRL_REPLAY_IMPORT_ISOLATED) {
    wsrl_replay_t *r = make(4, NULL);
    ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, lo2, hi2, flags, NULL), WSRL_OK);
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < A; j++)
        ck_assert_float_eq(action_at(r, i, j), env[i][j] / 2); /* +-2 -> +-1, exactly */
    wsrl_replay_destroy(r);
  }
  /* Per-element bounds, the buffer's clip after the rescale. */
  const float lo[A] = {-2, 0}, hi[A] = {2, 4};
  float shifted[4][A] = {{2, 4}, {-2, 0}, {0, 2}, {1, 3}};
  write_actions(p, shifted);
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.action_clip = 0.99999;
  wsrl_replay_t *r = make(4, &opt);
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, lo, hi, 0, NULL), WSRL_OK);
  ck_assert_float_eq(action_at(r, 0, 0), 0.99999f);
  ck_assert_float_eq(action_at(r, 0, 1), 0.99999f);
  ck_assert_float_eq(action_at(r, 1, 1), -0.99999f);
  ck_assert_float_eq(action_at(r, 2, 1), 0.0f);
  ck_assert_float_eq(action_at(r, 3, 1), 0.5f);

  /* Outside the bounds: refused naming row, element, value; buffer unchanged. */
  float out[4][A] = {{0, 0}, {0, 0}, {0, 2.5f}, {0, 0}};
  write_actions(p, out);
  for (uint32_t flags = 0; flags <= WSRL_REPLAY_IMPORT_ISOLATED; flags += WSRL_REPLAY_IMPORT_ISOLATED) {
    ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, lo2, hi2, flags, NULL), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("'actions' row 2 element 1 is 2.5, outside the action bounds [-2, 2]");
    ck_assert_float_eq(action_at(r, 3, 1), 0.5f);
  }
  /* The tolerance: 1e-5 of the half-range. */
  float near[4][A] = {{0, 2.000015f}, {0, -2.000015f}, {0, 0}, {0, 0}};
  write_actions(p, near);
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, lo2, hi2, 0, NULL), WSRL_OK);
  ck_assert_float_eq(action_at(r, 0, 1), 0.99999f); /* clamped to 1, then the clip */
  float beyond[4][A] = {{0, 0}, {0, 0}, {0, 0}, {-2.00003f, 0}};
  write_actions(p, beyond);
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, lo2, hi2, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("row 3 element 0");

  /* NULL bounds: [-1, 1] units, which the +-2 file is not. */
  write_actions(p, env);
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, NULL, NULL, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("row 0 element 0 is 2, outside the action bounds [-1, 1]");

  /* The plain import keeps [-1, 1] files working unchanged and warns once
   * (in this process, also for the isolated import) about the +-2 file. */
  wsrl_set_log_handler(count_warnings, NULL, WSRL_LOG_WARN, NULL, NULL);
  warnings = 0;
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, p, NULL), WSRL_OK);
  ck_assert_int_eq(warnings, 1);
  ck_assert_float_eq(action_at(r, 0, 0), 0.99999f); /* clipped as before */
  ck_assert_int_eq(wsrl_replay_import_hdf5_isolated(r, p, NULL), WSRL_OK);
  ck_assert_int_eq(warnings, 2);
  float unit[4][A] = {{1, -1}, {0.5f, 0}, {-0.25f, 0.75f}, {0, 1}};
  write_actions(p, unit);
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, p, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, NULL, NULL, 0, NULL), WSRL_OK);
  ck_assert_int_eq(warnings, 2);
  ck_assert_float_eq(action_at(r, 2, 1), 0.75f);
  wsrl_set_log_handler(NULL, NULL, 0, NULL, NULL);

  /* Bad arguments. */
  const float nan_lo[A] = {-1, NAN}, flat[A] = {2, -2};
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, nan_lo, NULL, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("action_low[1]");
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, flat, hi2, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("low < high");
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, p, lo2, hi2, 2, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("flags");
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(NULL, p, lo2, hi2, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, NULL, lo2, hi2, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_replay_destroy(r);
}
END_TEST

START_TEST(hdf5_malformed_files) {
  d4rl_data d;
  d4rl_fill(&d);
  wsrl_replay_t *r = make(20, NULL);
  for (int i = 0; i < 3; i++)
    add_id(r, 700 + i, 0, 0);
  h5spec s = spec_of(&d);
  s.skip = "rewards";
  write_h5(path_of("m1.hdf5"), &s);
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("m1.hdf5"), NULL), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("'rewards' is missing");
  s = spec_of(&d);
  s.rew_rows = 9;
  write_h5(path_of("m2.hdf5"), &s);
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("m2.hdf5"), NULL), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("'rewards' has 9 rows");
  spit(path_of("m3.hdf5"), (const uint8_t *)"not an hdf5 file at all", 23);
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("m3.hdf5"), NULL), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("not an HDF5 file");
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("none.hdf5"), NULL), WSRL_ERR_IO);
  ck_assert_msg_has("none.hdf5");
  /* Dimensions and capacity are the caller's problem, not the file's. */
  wsrl_replay_t *wide = NULL, *small = make(5, NULL);
  ck_assert_int_eq(wsrl_replay_create(&wide, O + 1, A, 20, NULL), WSRL_OK);
  s = spec_of(&d);
  write_h5(path_of("ok.hdf5"), &s);
  ck_assert_int_eq(wsrl_replay_import_hdf5(wide, path_of("ok.hdf5"), NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim 4");
  ck_assert_int_eq(wsrl_replay_import_hdf5(small, path_of("ok.hdf5"), NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("capacity is 5");
  /* Non-finite values: error naming dataset and row, or drop. */
  d.obs[4 * O + 2] = NAN;
  s = spec_of(&d);
  write_h5(path_of("nan.hdf5"), &s);
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path_of("nan.hdf5"), NULL), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("dataset 'observations' row 4 element 2");
  ck_assert_int_eq(size_of(r), 3); /* unchanged by every failure above */
  ck_assert_int_eq(id_at(r, 0), 700);
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.nonfinite = WSRL_REPLAY_NONFINITE_DROP;
  wsrl_replay_t *q = make(20, &opt);
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  ck_assert_int_eq(wsrl_replay_import_hdf5(q, path_of("nan.hdf5"), &rep), WSRL_OK);
  /* Row 4 is bad as obs of transition 4 and next_obs of transition 3. */
  ck_assert_int_eq(rep.dropped_nonfinite, 2);
  ck_assert_int_eq(size_of(q), 7);
  ck_assert_int_eq(id_at(q, 2), 2);
  ck_assert_int_eq(flag_at(q, 2), 'u');
  ck_assert_int_eq(id_at(q, 3), 5);
  wsrl_replay_destroy(q);
  wsrl_replay_destroy(wide);
  wsrl_replay_destroy(small);
  wsrl_replay_destroy(r);
}
END_TEST

/* A D4RL file whose 'rewards' is added by `how` (the rest written normally). */
enum { EXTERNAL_STORAGE, EXTERNAL_LINK, SOFT_LINK, VIRTUAL, NOT_STORED, HUGE_NOT_STORED };

static void write_hostile(const char *path, const d4rl_data *d, int how, const char *other) {
  h5spec s = spec_of(d);
  s.skip = how == HUGE_NOT_STORED ? "observations" : "rewards";
  write_h5(path, &s);
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  ck_assert_int_ge(f, 0);
  hsize_t n = 10, chunk = 4, huge[2] = {(hsize_t)1 << 31, O}, hchunk[2] = {1024, O};
  hid_t sp = H5Screate_simple(1, &n, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE), dset = -1;
  switch (how) {
  case EXTERNAL_STORAGE: /* raw data read from any local file */
    ck_assert_int_ge(H5Pset_external(dcpl, other, 0, 40), 0);
    break;
  case EXTERNAL_LINK:
    ck_assert_int_ge(H5Lcreate_external(other, "/rewards", f, "rewards", H5P_DEFAULT, H5P_DEFAULT), 0);
    break;
  case SOFT_LINK:
    ck_assert_int_ge(H5Lcreate_soft("/terminals", f, "rewards", H5P_DEFAULT, H5P_DEFAULT), 0);
    break;
  case VIRTUAL:
    ck_assert_int_ge(H5Pset_virtual(dcpl, sp, other, "/rewards", sp), 0);
    break;
  case NOT_STORED:
    ck_assert_int_ge(H5Pset_chunk(dcpl, 1, &chunk), 0);
    break;
  default:
    H5Sclose(sp);
    sp = H5Screate_simple(2, huge, NULL);
    ck_assert_int_ge(H5Pset_chunk(dcpl, 2, hchunk), 0);
  }
  if (how != EXTERNAL_LINK && how != SOFT_LINK) {
    dset = H5Dcreate2(f, how == HUGE_NOT_STORED ? "observations" : "rewards", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl,
                      H5P_DEFAULT);
    ck_assert_int_ge(dset, 0);
    H5Dclose(dset);
  }
  H5Pclose(dcpl);
  H5Sclose(sp);
  H5Fclose(f);
}

/* Data from outside the file, or declared but never stored, is refused
 * before a row is read (issue 16, faults 9 and 10). */
START_TEST(hdf5_refuses_data_outside_the_file) {
  d4rl_data d;
  d4rl_fill(&d);
  char good[600], secret[600], bad[600];
  snprintf(good, sizeof good, "%s", path_of("good.hdf5"));
  snprintf(secret, sizeof secret, "%s", path_of("secret.bin"));
  snprintf(bad, sizeof bad, "%s", path_of("bad.hdf5"));
  h5spec s = spec_of(&d);
  write_h5(good, &s);
  const float words[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  spit(secret, (const uint8_t *)words, sizeof words);
  wsrl_replay_t *r = make(20, NULL);
  add_id(r, 700, 0, 0);
  const struct {
    int how;
    const char *other, *says;
  } cases[] = {{EXTERNAL_STORAGE, secret, "external raw storage"},
               {EXTERNAL_LINK, good, "link"},
               {SOFT_LINK, NULL, "link"},
               {VIRTUAL, good, "virtual dataset"},
               {NOT_STORED, NULL, "declares 10 rows but does not store them all"},
               {HUGE_NOT_STORED, NULL, "declares 2147483648 rows"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_hostile(bad, &d, cases[i].how, cases[i].other);
    ck_assert_int_eq(wsrl_replay_import_hdf5(r, bad, NULL), WSRL_ERR_CORRUPT);
    ck_assert_msg_has(cases[i].says);
    ck_assert_int_eq(wsrl_replay_hdf5_info(bad, NULL, NULL, NULL), WSRL_ERR_CORRUPT);
  }
  ck_assert_int_eq(size_of(r), 1);
  ck_assert_int_eq(id_at(r, 0), 700);
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, good, NULL), WSRL_OK);
  wsrl_replay_destroy(r);
}
END_TEST

/* An allocator that fails its n-th allocation (0: never) and counts what is
 * outstanding, so a failed import shows neither a leak nor a double free. */
typedef struct failing {
  int64_t calls, fail_at, live;
} failing;

static void *fail_alloc(void *user, size_t size) {
  failing *f = user;
  if (++f->calls == f->fail_at)
    return NULL;
  void *p = malloc(size);
  f->live += p != NULL;
  return p;
}

static void *fail_realloc(void *user, void *ptr, size_t size) {
  failing *f = user;
  if (++f->calls == f->fail_at)
    return NULL;
  void *p = realloc(ptr, size);
  f->live += ptr == NULL && p != NULL;
  return p;
}

static void fail_free(void *user, void *ptr) {
  failing *f = user;
  f->live -= ptr != NULL;
  free(ptr);
}

/* Every allocation of an import failing in turn gives OUT_OF_MEMORY, frees
 * what it took (the chunk buffers used to be freed twice, fault 8), and
 * leaves the buffer as it was. */
START_TEST(hdf5_import_allocation_failures) {
  d4rl_data d;
  d4rl_fill(&d);
  h5spec s = spec_of(&d);
  const char *path = path_of("ok.hdf5");
  write_h5(path, &s);
  failing f = {0, 0, 0};
  wsrl_allocator_t al = {(uint32_t)sizeof al, fail_alloc, fail_realloc, fail_free, &f};
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.allocator = &al;
  wsrl_replay_t *r = make(20, &opt);
  add_id(r, 700, 0, 0);
  const int64_t base = f.live;
  f.calls = 0;
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, path, NULL), WSRL_OK);
  const int64_t needed = f.calls;
  ck_assert_int_gt(needed, 3);
  ck_assert_int_eq(f.live, base);
  for (int64_t k = 1; k <= needed; k++) {
    wsrl_replay_clear(r);
    add_id(r, 700, 0, 0);
    f.calls = 0;
    f.fail_at = k;
    ck_assert_int_eq(wsrl_replay_import_hdf5(r, path, NULL), WSRL_ERR_OUT_OF_MEMORY);
    f.fail_at = 0;
    ck_assert_msg(f.live == base, "allocation %lld failing leaks %lld blocks", (long long)k, (long long)(f.live - base));
    ck_assert_int_eq(size_of(r), 1);
    ck_assert_int_eq(id_at(r, 0), 700);
  }
  wsrl_replay_destroy(r);
}
END_TEST

/* An export that hits the file-size limit (EFBIG) fails cleanly, keeps the
 * previous file and leaves no HDF5 file open: the process still exits
 * normally (it used to die in libhdf5's exit handler, fault 4). */
START_TEST(hdf5_export_fails_cleanly_on_a_full_file) {
  const char *path = path_of("prev.hdf5");
  wsrl_replay_t *r = make(400, NULL);
  for (int i = 0; i < 400; i++)
    add_id(r, i, i % 50 == 49, 0);
  spit(path, (const uint8_t *)"previous", 8);
  pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0) {
    struct rlimit lim = {4096, 4096};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
      _exit(2);
    wsrl_status_t st = wsrl_replay_export_hdf5(r, path);
    exit(st == WSRL_ERR_IO ? 0 : 3); /* exit(), not _exit(): run libhdf5's handlers */
  }
  int status = 0;
  ck_assert_int_eq(waitpid(child, &status, 0), child);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: %s %d",
                WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  uint8_t buf[16];
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fread(buf, 1, sizeof buf, fp), 8);
  fclose(fp);
  ck_assert_int_eq(memcmp(buf, "previous", 8), 0);
  ck_assert_int_eq(wsrl_replay_export_hdf5(r, path), WSRL_OK); /* without the limit it works */
  wsrl_replay_destroy(r);
}
END_TEST

#else

START_TEST(hdf5_unsupported) {
  wsrl_replay_t *r = make(4, NULL);
  ck_assert_int_eq(wsrl_replay_import_hdf5(r, "x.hdf5", NULL), WSRL_ERR_UNSUPPORTED);
  ck_assert_msg_has("without HDF5");
  ck_assert_int_eq(wsrl_replay_export_hdf5(r, "x.hdf5"), WSRL_ERR_UNSUPPORTED);
  ck_assert_int_eq(wsrl_replay_hdf5_info("x.hdf5", NULL, NULL, NULL), WSRL_ERR_UNSUPPORTED);
  ck_assert_int_eq(wsrl_replay_import_hdf5_bounded(r, "x.hdf5", NULL, NULL, 0, NULL), WSRL_ERR_UNSUPPORTED);
  wsrl_replay_destroy(r);
}
END_TEST

#endif

/* Finite rewards whose discounted return overflows float are refused on
 * every way in: add, load with a larger discount, HDF5 import (issue 16,
 * fault 5); the buffer keeps what it had. */
START_TEST(returns_that_overflow_float_are_refused) {
  wsrl_replay_options_t half = WSRL_REPLAY_OPTIONS_INIT;
  half.discount = 0.5; /* limit FLT_MAX / 2 */
  wsrl_replay_t *src = make(100, &half);
  float obs[O] = {0}, act[A] = {0}, next[O] = {0};
  ck_assert_int_eq(wsrl_replay_add(src, obs, act, 1e38f, next, 0, 0), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_add(src, obs, act, 1e38f, next, 1, 0), WSRL_OK);
  float mc[2];
  ck_assert_int_eq(wsrl_replay_get(src, 0, 2, NULL, NULL, NULL, NULL, NULL, NULL, mc), WSRL_OK);
  ck_assert(isfinite(mc[0]) && mc[0] == 1.5e38f);

  wsrl_replay_t *dst = make(100, NULL); /* discount 0.99: limit FLT_MAX / 100 */
  ck_assert_int_eq(wsrl_replay_add(dst, obs, act, 1e37f, next, 0, 0), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("overflows float");
  ck_assert_int_eq(size_of(dst), 0);
  ck_assert_int_eq(wsrl_replay_add(dst, obs, act, 3e36f, next, 1, 0), WSRL_OK);

  const char *path = path_of("big.wsrlrb");
  ck_assert_int_eq(wsrl_replay_save(src, path), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_load(dst, path, NULL), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("overflows float");
  ck_assert_int_eq(size_of(dst), 1);
#if WSRL_HAVE_HDF5
  path = path_of("big.hdf5");
  ck_assert_int_eq(wsrl_replay_export_hdf5(src, path), WSRL_OK);
  ck_assert_int_eq(wsrl_replay_import_hdf5(dst, path, NULL), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("overflow float");
  ck_assert_int_eq(size_of(dst), 1);
#endif
  wsrl_replay_destroy(src);
  wsrl_replay_destroy(dst);
}
END_TEST

Suite *wsrl_test_suite_replay(void) {
  Suite *s = suite_create("replay");
  TCase *t = tcase_create("api");
  tcase_add_test(t, create_validates_arguments);
  tcase_add_test(t, older_options_struct_takes_defaults);
  tcase_add_test(t, init_functions_match_macros);
  tcase_add_test(t, zero_reward_scale_refused_unless_asked);
  tcase_add_test(t, options_from_config_fills_the_learner_fields);
  tcase_add_test(t, add_get_transform_and_clip);
  tcase_add_test(t, add_rejects_bad_input_atomically);
  tcase_add_test(t, ring_overwrites_oldest_and_counts_episodes);
  suite_add_tcase(s, t);
  t = tcase_create("mc");
  tcase_add_test(t, mc_returns_terminal_truncated_open);
  tcase_add_test(t, mc_returns_sparse_rule);
  tcase_add_test(t, mc_returns_survive_overwrite);
  suite_add_tcase(s, t);
  t = tcase_create("sampling");
  tcase_add_test(t, sample_rows_are_consistent);
  tcase_add_test(t, sample_is_seeded_and_uniform);
  tcase_add_test(t, internal_sample_into_offsets_and_index);
  tcase_add_test(t, mixed_sampling_ratio_and_layout);
  tcase_add_test(t, append_copies_as_stored);
  suite_add_tcase(s, t);
  t = tcase_create("native");
  tcase_add_checked_fixture(t, make_dir, remove_dir);
  tcase_add_test(t, native_round_trip);
  tcase_add_test(t, native_load_recomputes_for_other_discount);
  tcase_add_test(t, native_load_argument_errors);
  tcase_add_test(t, native_rejects_corruption);
  tcase_add_test(t, native_nonfinite_error_or_drop);
  tcase_add_test(t, checkpoint_sections_with_prefix);
  tcase_add_test(t, returns_that_overflow_float_are_refused);
  suite_add_tcase(s, t);
  t = tcase_create("hdf5");
  tcase_add_checked_fixture(t, make_dir, remove_dir);
#if WSRL_HAVE_HDF5
  tcase_add_test(t, hdf5_d4rl_qlearning_semantics);
  tcase_add_test(t, hdf5_d4rl_without_timeouts_uses_step_counter);
  tcase_add_test(t, hdf5_with_next_observations_keeps_every_row);
  tcase_add_test(t, hdf5_rows_across_read_chunks);
  tcase_add_test(t, hdf5_export_import_round_trip);
  tcase_add_test(t, hdf5_action_bounds_rescale_and_refuse);
  tcase_add_test(t, hdf5_malformed_files);
  tcase_add_test(t, hdf5_refuses_data_outside_the_file);
  tcase_add_test(t, hdf5_import_allocation_failures);
  tcase_add_test(t, hdf5_export_fails_cleanly_on_a_full_file);
#else
  tcase_add_test(t, hdf5_unsupported);
#endif
  suite_add_tcase(s, t);
  return s;
}
