/* Env: spec and callback validation, struct_size versioning, action scaling,
 * time limit, non-finite checks, callback errors, re-entrancy, toy tasks. */
#include <check.h>
#include <float.h>
#include <stdio.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config_values.h"
#include "env/env_internal.h"
#include "suites.h"
#include "toy_envs.h"
#include "wsrl/wsrl.h"

#define ck_assert_msg_has(sub) ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), (sub)))

/* ---- a scriptable mock host ---- */

typedef struct mock {
  int32_t obs_dim;
  int resets, steps, closes;
  float last_action[4];
  int32_t fail_code;     /* returned by the next callback when non-zero */
  const char *fail_msg;  /* set with wsrl_set_callback_error() before failing */
  int nan_obs;           /* step writes NaN into obs[1] */
  int skip_obs;          /* step does not write obs */
  float reward;          /* step's reward */
  int32_t terminate_at;  /* step count at which terminated = 1 */
  int32_t flag_value;    /* value written for terminated when terminating */
  int reenter;           /* 1: step re-enters step; 2: reset re-enters reset; 3: destroy; 4: other env */
  wsrl_env_t *env;       /* the env serving this mock (for re-entry) */
  wsrl_env_t *other;     /* another env for case 4 */
  wsrl_status_t reenter_status;
} mock;

static int32_t mock_reset(void *user, uint64_t seed, float *obs_out) {
  mock *m = user;
  m->resets++;
  if (m->reenter == 2) {
    float o[8];
    m->reenter_status = wsrl_env_reset(m->env, seed, o);
  }
  if (m->fail_code != 0) {
    if (m->fail_msg)
      wsrl_set_callback_error(m->fail_msg);
    return m->fail_code;
  }
  for (int32_t i = 0; i < m->obs_dim; i++)
    obs_out[i] = (float)seed + (float)i;
  return 0;
}

static int32_t mock_step(void *user, const float *action, float *obs_out, float *reward_out,
                         int32_t *terminated_out, int32_t *truncated_out) {
  mock *m = user;
  m->steps++;
  memcpy(m->last_action, action, sizeof m->last_action);
  if (m->reenter == 1) {
    float a[4] = {0}, o[8], r;
    int32_t te, tr;
    m->reenter_status = wsrl_env_step(m->env, a, o, &r, &te, &tr);
  } else if (m->reenter == 3) {
    wsrl_env_destroy(m->env);
  } else if (m->reenter == 4) {
    float o[8];
    m->reenter_status = wsrl_env_reset(m->other, 1, o);
  }
  if (m->fail_code != 0) {
    if (m->fail_msg)
      wsrl_set_callback_error(m->fail_msg);
    return m->fail_code;
  }
  if (!m->skip_obs)
    for (int32_t i = 0; i < m->obs_dim; i++)
      obs_out[i] = (float)m->steps;
  if (m->nan_obs)
    obs_out[1] = NAN;
  *reward_out = m->reward;
  if (m->terminate_at > 0 && m->steps == m->terminate_at)
    *terminated_out = m->flag_value ? m->flag_value : 1;
  *truncated_out = 0;
  return 0;
}

static void mock_close(void *user) { ((mock *)user)->closes++; }

static const float LOW3[3] = {-2, 0, 10}, HIGH3[3] = {2, 1, 20};

/* A valid spec (obs 4, act 3) and table; tests break one field at a time. */
static void valid(wsrl_env_spec_t *s, wsrl_env_callbacks_t *cb) {
  wsrl_env_spec_t si = WSRL_ENV_SPEC_INIT;
  wsrl_env_callbacks_t ci = WSRL_ENV_CALLBACKS_INIT;
  *s = si;
  *cb = ci;
  s->obs_dim = 4;
  s->act_dim = 3;
  s->action_low = LOW3;
  s->action_high = HIGH3;
  s->max_episode_steps = 5;
  cb->reset = mock_reset;
  cb->step = mock_step;
  cb->close = mock_close;
}

static wsrl_env_t *make(mock *m) {
  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  valid(&s, &cb);
  memset(m, 0, sizeof *m);
  m->obs_dim = 4;
  wsrl_env_t *env = NULL;
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, m), WSRL_OK);
  m->env = env;
  return env;
}

/* make() and a first reset (seed 0). */
static wsrl_env_t *make_running(mock *m) {
  wsrl_env_t *env = make(m);
  float o[4];
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  return env;
}

static wsrl_status_t step(wsrl_env_t *env, float a0, float *reward, int32_t *te, int32_t *tr) {
  float a[3] = {a0, a0, a0}, o[4];
  return wsrl_env_step(env, a, o, reward, te, tr);
}

/* ---- init and create ---- */

START_TEST(init_functions) {
  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  memset(&s, 0xAB, sizeof s);
  memset(&cb, 0xAB, sizeof cb);
  ck_assert_int_eq(wsrl_env_spec_init(&s, sizeof s), WSRL_OK);
  ck_assert_int_eq(wsrl_env_callbacks_init(&cb, sizeof cb), WSRL_OK);
  ck_assert_uint_eq(s.struct_size, sizeof s);
  ck_assert_uint_eq(cb.struct_size, sizeof cb);
  ck_assert_int_eq(s.obs_dim, 0);
  ck_assert_ptr_null(s.action_low);
  ck_assert(cb.reset == NULL);
  ck_assert(cb.close == NULL);
  ck_assert_int_eq(wsrl_env_spec_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_env_callbacks_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(create_copies_spec) {
  float low[3] = {-2, 0, 10}, high[3] = {2, 1, 20};
  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  valid(&s, &cb);
  s.action_low = low;
  s.action_high = high;
  mock m = {.obs_dim = 4};
  size_t live = wsrl_live_handles();
  wsrl_env_t *env = NULL;
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, &m), WSRL_OK);
  ck_assert_uint_eq(wsrl_live_handles(), live + 1);
  low[0] = -100; /* later edits never reach the env */
  wsrl_env_spec_t out = WSRL_ENV_SPEC_INIT;
  ck_assert_int_eq(wsrl_env_get_spec(env, &out), WSRL_OK);
  ck_assert_int_eq(out.obs_dim, 4);
  ck_assert_int_eq(out.act_dim, 3);
  ck_assert_int_eq(out.max_episode_steps, 5);
  ck_assert_float_eq(out.action_low[0], -2);
  ck_assert_float_eq(out.action_high[2], 20);
  ck_assert_ptr_ne(out.action_low, low);
  ck_assert_int_eq(m.resets + m.steps, 0); /* create runs no callback */
  ck_assert_int_eq(wsrl__env_obs_dim(env), 4);
  ck_assert_int_eq(wsrl__env_act_dim(env), 3);
  ck_assert_int_eq(wsrl__env_max_episode_steps(env), 5);
  ck_assert_float_eq(wsrl__env_action_low(env)[1], 0);
  ck_assert_float_eq(wsrl__env_action_high(env)[1], 1);
  ck_assert_int_eq(wsrl__env_episode_active(env), 0);
  wsrl_env_destroy(env);
  ck_assert_int_eq(m.closes, 1);
  ck_assert_uint_eq(wsrl_live_handles(), live);
  wsrl_env_destroy(NULL);
}
END_TEST

START_TEST(create_default_bounds) {
  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  valid(&s, &cb);
  s.action_low = NULL;
  s.action_high = NULL;
  cb.close = NULL; /* optional */
  mock m = {.obs_dim = 4};
  wsrl_env_t *env = NULL;
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, &m), WSRL_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_float_eq(wsrl__env_action_low(env)[i], -1);
    ck_assert_float_eq(wsrl__env_action_high(env)[i], 1);
  }
  wsrl_env_destroy(env);
  ck_assert_int_eq(m.closes, 0);
}
END_TEST

/* Each row breaks one thing; the status and a message fragment are checked. */
typedef struct bad_case {
  const char *what;
  wsrl_status_t status;
  const char *fragment;
} bad_case;

static wsrl_status_t create_broken(int which, mock *m) {
  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  valid(&s, &cb);
  static float nan_low[3] = {-1, NAN, 0}, inf_high[3] = {1, 1, INFINITY}, eq_high[3] = {2, 0, 20},
               low_one[3] = {1, 1, 1};
  wsrl_env_t *env = (wsrl_env_t *)&env; /* must be set to NULL on failure */
  switch (which) {
  case 0: s.obs_dim = 0; break;
  case 1: s.obs_dim = -3; break;
  case 2: s.act_dim = 0; break;
  case 3: s.act_dim = WSRL__ENV_MAX_DIM + 1; break;
  case 4: s.action_low = nan_low; break;
  case 5: s.action_high = inf_high; break;
  case 6: s.action_high = eq_high; break;
  case 7: s.action_low = low_one; s.action_high = NULL; break;
  case 8: s.max_episode_steps = -1; break;
  case 9: cb.reset = NULL; break;
  case 10: cb.step = NULL; break;
  case 11: s.struct_size = 0; break;
  case 12: cb.struct_size = 0; break;
  case 13: return wsrl_env_create(NULL, &s, &cb, m);
  case 14: return wsrl_env_create(&env, NULL, &cb, m);
  case 15: return wsrl_env_create(&env, &s, NULL, m);
  }
  wsrl_status_t st = wsrl_env_create(&env, &s, &cb, m);
  ck_assert_ptr_null(env);
  return st;
}

static const bad_case BAD[] = {
    {"obs_dim 0", WSRL_ERR_INVALID_ARGUMENT, "obs_dim"},
    {"obs_dim < 0", WSRL_ERR_INVALID_ARGUMENT, "obs_dim"},
    {"act_dim 0", WSRL_ERR_INVALID_ARGUMENT, "act_dim"},
    {"act_dim huge", WSRL_ERR_INVALID_ARGUMENT, "act_dim"},
    {"NaN low", WSRL_ERR_INVALID_ARGUMENT, "action_low[1]"},
    {"inf high", WSRL_ERR_INVALID_ARGUMENT, "action_high[2]"},
    {"low == high", WSRL_ERR_INVALID_ARGUMENT, "action_low[1] = 0 must be < spec->action_high[1]"},
    {"low 1 with default high", WSRL_ERR_INVALID_ARGUMENT, "NULL bound"},
    {"negative max steps", WSRL_ERR_INVALID_ARGUMENT, "max_episode_steps"},
    {"no reset", WSRL_ERR_INVALID_ARGUMENT, "callbacks->reset"},
    {"no step", WSRL_ERR_INVALID_ARGUMENT, "callbacks->step"},
    {"spec struct_size 0", WSRL_ERR_INVALID_ARGUMENT, "WSRL_ENV_SPEC_INIT"},
    {"callbacks struct_size 0", WSRL_ERR_INVALID_ARGUMENT, "WSRL_ENV_CALLBACKS_INIT"},
    {"NULL env_out", WSRL_ERR_INVALID_ARGUMENT, "env_out"},
    {"NULL spec", WSRL_ERR_INVALID_ARGUMENT, "spec"},
    {"NULL callbacks", WSRL_ERR_INVALID_ARGUMENT, "callbacks"},
};

START_TEST(create_rejects_invalid) {
  size_t live = wsrl_live_handles();
  for (int i = 0; i < (int)(sizeof BAD / sizeof BAD[0]); i++) {
    mock m = {.obs_dim = 4};
    wsrl_clear_error();
    wsrl_status_t st = create_broken(i, &m);
    ck_assert_msg(st == BAD[i].status, "%s: status %d", BAD[i].what, (int)st);
    ck_assert_msg(strstr(wsrl_last_error_message(), BAD[i].fragment) != NULL, "%s: message '%s'", BAD[i].what,
                  wsrl_last_error_message());
    ck_assert_int_eq(m.resets + m.steps + m.closes, 0);
  }
  ck_assert_uint_eq(wsrl_live_handles(), live);
}
END_TEST

/* ---- struct_size: older, shorter structs and newer, larger ones ---- */

START_TEST(old_struct_sizes) {
  /* Garbage past the old size must be ignored: the fields count as absent. */
  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  valid(&s, &cb);
  s.struct_size = (uint32_t)offsetof(wsrl_env_spec_t, max_episode_steps);
  s.max_episode_steps = 1; /* absent: no time limit */
  cb.struct_size = (uint32_t)offsetof(wsrl_env_callbacks_t, close);
  mock m = {.obs_dim = 4};
  wsrl_env_t *env = NULL;
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, &m), WSRL_OK);
  ck_assert_int_eq(wsrl__env_max_episode_steps(env), 0);
  float o[4], r;
  int32_t te, tr;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
    ck_assert_int_eq(tr, 0);
  }
  /* spec_out of the old size: the bytes past it stay untouched. */
  wsrl_env_spec_t out;
  memset(&out, 0x5A, sizeof out);
  out.struct_size = (uint32_t)offsetof(wsrl_env_spec_t, max_episode_steps);
  ck_assert_int_eq(wsrl_env_get_spec(env, &out), WSRL_OK);
  ck_assert_int_eq(out.act_dim, 3);
  unsigned char tail[sizeof out.max_episode_steps];
  memset(tail, 0x5A, sizeof tail);
  ck_assert_int_eq(memcmp(&out.max_episode_steps, tail, sizeof tail), 0);
  wsrl_env_destroy(env);
  ck_assert_int_eq(m.closes, 0); /* close was past the old size */

  /* Bounds absent: defaults; too short to hold the sizes: refused. */
  valid(&s, &cb);
  s.struct_size = (uint32_t)offsetof(wsrl_env_spec_t, action_low);
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, &m), WSRL_OK);
  ck_assert_float_eq(wsrl__env_action_high(env)[2], 1);
  wsrl_env_destroy(env);
  s.struct_size = (uint32_t)offsetof(wsrl_env_spec_t, act_dim);
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, &m), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("too small");
  valid(&s, &cb);
  cb.struct_size = (uint32_t)offsetof(wsrl_env_callbacks_t, step);
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, &m), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("callbacks->step");
  ck_assert_msg_has("absent");
}
END_TEST

START_TEST(newer_struct_sizes) {
  struct {
    wsrl_env_spec_t s;
    uint64_t future_field;
  } big_spec;
  struct {
    wsrl_env_callbacks_t cb;
    void *future_fn;
  } big_cb;
  memset(&big_spec, 0, sizeof big_spec);
  memset(&big_cb, 0, sizeof big_cb);
  valid(&big_spec.s, &big_cb.cb);
  mock m = {.obs_dim = 4};
  wsrl_env_t *env = NULL;
  char want[64], known[64];
  snprintf(known, sizeof known, "knows %zu", sizeof(wsrl_env_spec_t));

  big_spec.s.struct_size = (uint32_t)sizeof big_spec;
  ck_assert_int_eq(wsrl_env_create(&env, &big_spec.s, &big_cb.cb, &m), WSRL_ERR_VERSION_MISMATCH);
  snprintf(want, sizeof want, "struct_size is %zu", sizeof big_spec);
  ck_assert_msg_has(want);
  ck_assert_msg_has(known);

  big_spec.s.struct_size = (uint32_t)sizeof big_spec.s;
  big_cb.cb.struct_size = (uint32_t)sizeof big_cb;
  ck_assert_int_eq(wsrl_env_create(&env, &big_spec.s, &big_cb.cb, &m), WSRL_ERR_VERSION_MISMATCH);
  snprintf(want, sizeof want, "callbacks->struct_size is %zu", sizeof big_cb);
  ck_assert_msg_has(want);
  ck_assert_ptr_null(env);

  big_cb.cb.struct_size = (uint32_t)sizeof big_cb.cb;
  ck_assert_int_eq(wsrl_env_create(&env, &big_spec.s, &big_cb.cb, &m), WSRL_OK);
  big_spec.s.struct_size = (uint32_t)sizeof big_spec;
  ck_assert_int_eq(wsrl_env_get_spec(env, &big_spec.s), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_int_eq(wsrl_env_get_spec(NULL, &big_spec.s), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_env_get_spec(env, NULL), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_env_destroy(env);
}
END_TEST

/* ---- reset / step ---- */

START_TEST(null_arguments_and_state) {
  mock m;
  wsrl_env_t *env = make(&m);
  float a[3] = {0}, o[4], r;
  int32_t te, tr;
  ck_assert_int_eq(wsrl_env_reset(NULL, 0, o), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("wsrl_env_reset");
  ck_assert_int_eq(wsrl_env_reset(env, 0, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_out");
  /* Step before any reset. */
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("wsrl_env_reset()");
  ck_assert_int_eq(wsrl_env_reset(env, 7, o), WSRL_OK);
  ck_assert_float_eq(o[3], 10); /* seed + 3 */
  ck_assert_int_eq(wsrl_env_step(NULL, a, o, &r, &te, &tr), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_env_step(env, NULL, o, &r, &te, &tr), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("action_unit");
  ck_assert_int_eq(wsrl_env_step(env, a, NULL, &r, &te, &tr), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_env_step(env, a, o, NULL, &te, &tr), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, NULL, &tr), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("truncated_out");
  ck_assert_int_eq(m.steps, 0); /* validation failures never call the host */
  ck_assert_int_eq(wsrl_env_last_callback_code(NULL), 0);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(nonfinite_action) {
  mock m;
  wsrl_env_t *env = make_running(&m);
  float o[4], r;
  int32_t te, tr;
  float a[3] = {0, NAN, 0};
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("action[1]");
  a[1] = 0;
  a[2] = -INFINITY;
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("action[2]");
  ck_assert_int_eq(m.steps, 0);
  ck_assert_int_eq(wsrl__env_last_nonfinite(env), 0); /* the library's input, not the host's output */
  /* The episode goes on. */
  ck_assert_int_eq(wsrl__env_episode_active(env), 1);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(action_scaling) {
  mock m;
  wsrl_env_t *env = make_running(&m);
  float o[4], r;
  int32_t te, tr;
  float a[3] = {-1, 0.5f, 5}; /* 5 is clipped to 1 */
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_OK);
  ck_assert_float_eq(m.last_action[0], -2);
  ck_assert_float_eq(m.last_action[1], 0.75f);
  ck_assert_float_eq(m.last_action[2], 20);
  float b[3] = {1, -7, 0};
  ck_assert_int_eq(wsrl_env_step(env, b, o, &r, &te, &tr), WSRL_OK);
  ck_assert_float_eq(m.last_action[0], 2);
  ck_assert_float_eq(m.last_action[1], 0);
  ck_assert_float_eq(m.last_action[2], 15);
  wsrl_env_destroy(env);

  /* Extreme bounds stay finite and inside; unscale inverts scale. */
  float lo[2] = {-FLT_MAX, -1e-3f}, hi[2] = {FLT_MAX, 1e-3f}, u[2] = {0.999f, -0.25f}, out[2], back[2];
  wsrl__action_scale(lo, hi, 2, u, out);
  ck_assert(isfinite(out[0]) && out[0] <= FLT_MAX && out[0] > 0);
  ck_assert_float_eq_tol(out[1], -0.25e-3f, 1e-9f);
  wsrl__action_unscale(lo, hi, 2, out, back);
  ck_assert_float_eq_tol(back[0], 0.999f, 1e-6f);
  ck_assert_float_eq_tol(back[1], -0.25f, 1e-6f);
  float outside[1] = {50}, l1[1] = {0}, h1[1] = {10}, ub[1];
  wsrl__action_unscale(l1, h1, 1, outside, ub);
  ck_assert_float_eq(ub[0], 1);
}
END_TEST

START_TEST(time_limit_and_episode_end) {
  mock m;
  wsrl_env_t *env = make(&m); /* max_episode_steps 5 */
  float o[4], r;
  int32_t te, tr;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  for (int i = 1; i <= 5; i++) {
    ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
    ck_assert_int_eq(te, 0);
    ck_assert_int_eq(tr, i == 5);
    ck_assert_int_eq(wsrl__env_episode_steps(env), i);
  }
  ck_assert_int_eq(wsrl__env_episode_active(env), 0);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(m.steps, 5);
  /* Reset starts a new episode; a host's terminated flag is normalised to 1. */
  ck_assert_int_eq(wsrl_env_reset(env, 1, o), WSRL_OK);
  ck_assert_int_eq(wsrl__env_episode_steps(env), 0);
  m.terminate_at = 7;
  m.flag_value = 5;
  m.reward = 0.5f;
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(te, 1);
  ck_assert_int_eq(tr, 0);
  ck_assert_float_eq(r, 0.5f);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(wsrl__env_total_steps(env), 7);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(callback_failure_keeps_code_and_message) {
  mock m;
  wsrl_env_t *env = make(&m);
  float o[4] = {-9, -9, -9, -9}, r = -9;
  int32_t te = -9, tr = -9;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  m.fail_code = 42;
  m.fail_msg = "motor 3 overheated";
  o[0] = -9;
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(wsrl_env_last_callback_code(env), 42);
  ck_assert_msg_has("step callback returned 42");
  ck_assert_msg_has("motor 3 overheated");
  ck_assert_int_eq(wsrl_last_error_status(), WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(te, -9); /* outputs untouched */
  ck_assert_float_eq(r, -9);
  ck_assert_int_eq(wsrl__env_episode_active(env), 0);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_WRONG_STATE);

  /* A later failure without a message does not reuse the old one. */
  m.fail_code = -3;
  m.fail_msg = NULL;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(wsrl_env_last_callback_code(env), -3);
  ck_assert_msg_has("reset callback returned -3");
  ck_assert_ptr_null(strstr(wsrl_last_error_message(), "overheated"));

  /* Long messages are truncated to 255 bytes. */
  char longmsg[600];
  memset(longmsg, 'x', sizeof longmsg - 1);
  longmsg[sizeof longmsg - 1] = '\0';
  m.fail_msg = longmsg;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_ERR_ENV_CALLBACK);
  const char *x = strchr(wsrl_last_error_message(), 'x');
  ck_assert_ptr_nonnull(x);
  ck_assert_uint_eq(strspn(x, "x"), 255);

  /* Recovery: the code stays that of the last failing callback. */
  m.fail_code = 0;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  ck_assert_int_eq(wsrl_env_last_callback_code(env), -3);
  wsrl_set_callback_error(NULL);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(nonfinite_outputs) {
  mock m;
  wsrl_env_t *env = make(&m);
  float o[4], r = 0;
  int32_t te, tr;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  m.nan_obs = 1;
  o[1] = 123;
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("obs[1]");
  ck_assert_float_eq(o[1], 123); /* obs_out untouched */
  ck_assert_int_eq(wsrl__env_last_nonfinite(env), 1);
  ck_assert_int_eq(wsrl__env_episode_active(env), 0);

  m.nan_obs = 0;
  m.reward = INFINITY;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  ck_assert_int_eq(wsrl__env_last_nonfinite(env), 0);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("reward");

  m.reward = NAN;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_NON_FINITE);

  /* An observation the host did not write is caught too. */
  m.reward = 0;
  m.skip_obs = 1;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("did not write");
  ck_assert_int_eq(wsrl__env_nonfinite_skips(env), 0);
  wsrl_env_destroy(env);
}
END_TEST

static int32_t nan_reset(void *user, uint64_t seed, float *obs_out) {
  (void)user;
  (void)seed;
  obs_out[0] = 0;
  obs_out[1] = 0;
  obs_out[2] = NAN;
  return 0;
}

START_TEST(nonfinite_reset_obs) {
  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  valid(&s, &cb);
  s.obs_dim = 3;
  cb.reset = nan_reset;
  mock m = {.obs_dim = 3};
  wsrl_env_t *env = NULL;
  ck_assert_int_eq(wsrl_env_create(&env, &s, &cb, &m), WSRL_OK);
  float o[3];
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("reset callback returned a non-finite observation: obs[2]");
  ck_assert_int_eq(wsrl__env_last_nonfinite(env), 1);
  ck_assert_int_eq(wsrl__env_episode_active(env), 0);
  wsrl_env_destroy(env);
}
END_TEST

static int warnings;
static void count_warnings(void *user, int32_t level, const char *message) {
  (void)user;
  (void)message;
  if (level == WSRL_LOG_WARN)
    warnings++;
}

START_TEST(skip_reset_policy) {
  mock m;
  wsrl_env_t *env = make(&m);
  wsrl_set_log_handler(count_warnings, NULL, WSRL_LOG_DEBUG, NULL, NULL);
  warnings = 0;
  float a[3] = {0}, o[4], r = -9;
  int32_t te, tr, skipped = -1;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  ck_assert_int_eq(wsrl__env_step_policy(env, WSRL__NONFINITE_SKIP_RESET, a, o, &r, &te, &tr, &skipped), WSRL_OK);
  ck_assert_int_eq(skipped, 0);
  m.nan_obs = 1;
  r = -9;
  ck_assert_int_eq(wsrl__env_step_policy(env, WSRL__NONFINITE_SKIP_RESET, a, o, &r, &te, &tr, &skipped), WSRL_OK);
  ck_assert_int_eq(skipped, 1);
  ck_assert_float_eq(r, -9);
  ck_assert_int_eq(wsrl__env_last_nonfinite(env), 1);
  ck_assert_int_eq(wsrl__env_nonfinite_skips(env), 1);
  ck_assert_int_eq(wsrl__env_episode_active(env), 0);
  ck_assert_int_eq(warnings, 1);
  /* The loop must reset; stepping now is a state error. */
  ck_assert_int_eq(wsrl__env_step_policy(env, WSRL__NONFINITE_SKIP_RESET, a, o, &r, &te, &tr, &skipped),
                   WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  /* Callback errors are not skipped. */
  m.nan_obs = 0;
  m.fail_code = 5;
  ck_assert_int_eq(wsrl__env_step_policy(env, WSRL__NONFINITE_SKIP_RESET, a, o, &r, &te, &tr, &skipped),
                   WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(skipped, 0);
  /* Bad policy or missing skipped_out. */
  ck_assert_int_eq(wsrl__env_step_policy(env, 7, a, o, &r, &te, &tr, &skipped), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl__env_step_policy(env, WSRL__NONFINITE_SKIP_RESET, a, o, &r, &te, &tr, NULL),
                   WSRL_ERR_INVALID_ARGUMENT);
  wsrl_set_log_handler(NULL, NULL, 0, NULL, NULL);
  wsrl_env_destroy(env);
}
END_TEST

START_TEST(reentry_is_refused) {
  mock m;
  wsrl_env_t *env = make(&m);
  float o[4], r;
  int32_t te, tr;
  m.reenter = 2;
  ck_assert_int_eq(wsrl_env_reset(env, 0, o), WSRL_OK);
  ck_assert_int_eq(m.reenter_status, WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(m.resets, 1);
  m.reenter = 1;
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(m.reenter_status, WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(m.steps, 1);
  /* Destroy from inside a callback is ignored (logged), not a use-after-free. */
  m.reenter = 3;
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(m.closes, 0);
  /* Another env may be used from inside a callback. */
  mock m2;
  wsrl_env_t *other = make(&m2);
  m.env = env;
  m.other = other;
  m.reenter = 4;
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(m.reenter_status, WSRL_OK);
  ck_assert_int_eq(m2.resets, 1);
  m.reenter = 0;
  ck_assert_int_eq(step(env, 0, &r, &te, &tr), WSRL_OK);
  wsrl_env_destroy(other);
  wsrl_env_destroy(env);
  ck_assert_int_eq(m.closes, 1);
}
END_TEST

/* ---- toy tasks (tests/envs) ---- */

static void run_fixed(wsrl_env_t *env, uint64_t seed, float *trace, int n, int act_dim) {
  float o[8], r, a[2];
  int32_t te, tr;
  ck_assert_int_eq(wsrl_env_reset(env, seed, o), WSRL_OK);
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < act_dim; j++)
      a[j] = (float)sin(0.7 * i + j);
    ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_OK);
    trace[i] = r + o[0];
    if (te || tr)
      ck_assert_int_eq(wsrl_env_reset(env, seed + 100 + (uint64_t)i, o), WSRL_OK);
  }
}

START_TEST(toy_tasks_are_deterministic) {
  wsrl_status_t (*create[2])(wsrl_env_t **, const toy_env_options_t *) = {toy_point_create, toy_pendulum_create};
  int act[2] = {TOY_POINT_ACT_DIM, TOY_PENDULUM_ACT_DIM};
  for (int k = 0; k < 2; k++) {
    wsrl_env_t *e1, *e2;
    ck_assert_int_eq(create[k](&e1, NULL), WSRL_OK);
    ck_assert_int_eq(create[k](&e2, NULL), WSRL_OK);
    float t1[120], t2[120], t3[120];
    run_fixed(e1, 3, t1, 120, act[k]);
    run_fixed(e2, 3, t2, 120, act[k]);
    run_fixed(e2, 4, t3, 120, act[k]);
    ck_assert_int_eq(memcmp(t1, t2, sizeof t1), 0);
    ck_assert_int_ne(memcmp(t1, t3, sizeof t1), 0);
    wsrl_env_destroy(e1);
    wsrl_env_destroy(e2);
  }
}
END_TEST

START_TEST(toy_reference_returns) {
  struct {
    wsrl_status_t (*create)(wsrl_env_t **, const toy_env_options_t *);
    toy_policy_fn expert;
    double random_return, expert_return;
  } t[2] = {{toy_point_create, toy_point_expert, TOY_POINT_RANDOM_RETURN, TOY_POINT_EXPERT_RETURN},
            {toy_pendulum_create, toy_pendulum_expert, TOY_PENDULUM_RANDOM_RETURN, TOY_PENDULUM_EXPERT_RETURN}};
  for (int k = 0; k < 2; k++) {
    wsrl_env_t *env;
    double rnd, exp_ret;
    ck_assert_int_eq(t[k].create(&env, NULL), WSRL_OK);
    ck_assert_int_eq(toy_mean_return(env, NULL, NULL, 100, 0, &rnd), WSRL_OK);
    ck_assert_int_eq(toy_mean_return(env, t[k].expert, NULL, 100, 0, &exp_ret), WSRL_OK);
    /* Deterministic up to libm differences across platforms. */
    ck_assert_double_eq_tol(rnd, t[k].random_return, 0.005 * fabs(t[k].random_return) + 0.01);
    ck_assert_double_eq_tol(exp_ret, t[k].expert_return, 0.005 * fabs(t[k].expert_return) + 0.01);
    ck_assert_double_gt(exp_ret, rnd + 0.5 * fabs(rnd));
    wsrl_env_destroy(env);
  }
}
END_TEST

START_TEST(toy_fault_injection) {
  int32_t closes = 0;
  toy_env_options_t opt = {0};
  opt.fail_step = 3;
  opt.fail_code = 17;
  opt.fail_message = "injected";
  opt.nan_obs_step = 5;
  opt.nan_reward_step = 6;
  opt.close_count = &closes;
  opt.max_episode_steps = 100;
  wsrl_env_t *env;
  ck_assert_int_eq(toy_point_create(&env, &opt), WSRL_OK);
  ck_assert_int_eq(wsrl__env_max_episode_steps(env), 100);
  float o[TOY_POINT_OBS_DIM], a[2] = {0, 0}, r;
  int32_t te, tr;
  ck_assert_int_eq(wsrl_env_reset(env, 1, o), WSRL_OK);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(wsrl_env_last_callback_code(env), 17);
  ck_assert_msg_has("injected");
  ck_assert_int_eq(wsrl_env_reset(env, 1, o), WSRL_OK);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_OK);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("obs[0]");
  ck_assert_int_eq(wsrl_env_reset(env, 1, o), WSRL_OK);
  ck_assert_int_eq(wsrl_env_step(env, a, o, &r, &te, &tr), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("reward");
  wsrl_env_destroy(env);
  ck_assert_int_eq(closes, 1);

  toy_env_options_t opt2 = {0};
  opt2.fail_reset = 2;
  ck_assert_int_eq(toy_pendulum_create(&env, &opt2), WSRL_OK);
  float p[TOY_PENDULUM_OBS_DIM];
  ck_assert_int_eq(wsrl_env_reset(env, 0, p), WSRL_OK);
  ck_assert_int_eq(wsrl_env_reset(env, 0, p), WSRL_ERR_ENV_CALLBACK);
  ck_assert_int_eq(wsrl_env_last_callback_code(env), 1);
  wsrl_env_destroy(env);
}
END_TEST

Suite *wsrl_test_suite_env(void) {
  Suite *s = suite_create("env");
  TCase *api = tcase_create("api");
  tcase_add_test(api, init_functions);
  tcase_add_test(api, create_copies_spec);
  tcase_add_test(api, create_default_bounds);
  tcase_add_test(api, create_rejects_invalid);
  tcase_add_test(api, old_struct_sizes);
  tcase_add_test(api, newer_struct_sizes);
  tcase_add_test(api, null_arguments_and_state);
  suite_add_tcase(s, api);
  TCase *run = tcase_create("step");
  tcase_add_test(run, nonfinite_action);
  tcase_add_test(run, action_scaling);
  tcase_add_test(run, time_limit_and_episode_end);
  tcase_add_test(run, callback_failure_keeps_code_and_message);
  tcase_add_test(run, nonfinite_outputs);
  tcase_add_test(run, nonfinite_reset_obs);
  tcase_add_test(run, skip_reset_policy);
  tcase_add_test(run, reentry_is_refused);
  suite_add_tcase(s, run);
  TCase *toy = tcase_create("toy");
  tcase_add_test(toy, toy_tasks_are_deterministic);
  tcase_add_test(toy, toy_reference_returns);
  tcase_add_test(toy, toy_fault_injection);
  suite_add_tcase(s, toy);
  return s;
}
