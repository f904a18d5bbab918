/*
 * wsrl_env_t: validation of the host's spec and callback table, action
 * scaling, the time limit, non-finite checks and the re-entrancy guard.
 * See env_internal.h for the episode state machine.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core.h"
#include "env_internal.h"
#include "wsrl/version.h"

struct wsrl_env {
  wsrl__alloc alloc;
  wsrl__busy busy; /* the threading contract: reset and step are writers */
  wsrl_env_callbacks_t cb; /* full-size copy; fields past the host's struct_size are NULL */
  void *user;
  int32_t obs_dim;
  int32_t act_dim;
  int64_t max_episode_steps;
  /* One block: low[act], high[act], action[act], obs[obs]. The callbacks only
   * ever see `action` and `obs`, never the caller's buffers. */
  float *block;
  float *low;
  float *high;
  float *action;
  float *obs;
  int64_t episode_steps;
  int64_t total_steps;
  int64_t nonfinite_skips;
  int32_t active;
  int32_t in_callback;
  int32_t last_code;
  int32_t last_nonfinite;
};

/* ---- the host's optional message (wsrl_set_callback_error) ---- */

#define CB_MSG_MAX 256
static _Thread_local char cb_msg[CB_MSG_MAX];
static _Thread_local int32_t cb_msg_set;

void wsrl_set_callback_error(const char *message) {
  if (message == NULL) {
    cb_msg_set = 0;
    cb_msg[0] = '\0';
    return;
  }
  size_t n = strlen(message);
  if (n > CB_MSG_MAX - 1) {
    n = CB_MSG_MAX - 1;
    /* Do not cut a UTF-8 sequence in half. */
    while (n > 0 && ((unsigned char)message[n] & 0xC0) == 0x80)
      n--;
  }
  memcpy(cb_msg, message, n);
  cb_msg[n] = '\0';
  cb_msg_set = 1;
}

/* ---- init functions (for FFI) ---- */

WSRL__DEFINE_STRUCT_INIT(wsrl_env_callbacks_init, wsrl_env_callbacks_t, callbacks, WSRL_ENV_CALLBACKS_INIT)

WSRL__DEFINE_STRUCT_INIT(wsrl_env_spec_init, wsrl_env_spec_t, spec, WSRL_ENV_SPEC_INIT)

/* ---- create / destroy ---- */

wsrl_status_t wsrl_env_create(wsrl_env_t **env_out, const wsrl_env_spec_t *spec,
                              const wsrl_env_callbacks_t *callbacks, void *user) {
  WSRL__CHECK_NULL(env_out);
  *env_out = NULL;
  WSRL__CHECK_NULL(spec);
  WSRL__CHECK_NULL(callbacks);

  wsrl_env_spec_t s;
  wsrl_env_callbacks_t cb;
  WSRL__TRY(wsrl__spec_read(&s, spec));
  WSRL__TRY(wsrl__struct_copy_in(&cb, sizeof cb, callbacks, callbacks->struct_size, "callbacks",
                           "WSRL_ENV_CALLBACKS_INIT"));
  if (cb.reset == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "callbacks->reset is required but NULL%s",
                       WSRL__FIELD_PRESENT(callbacks->struct_size, wsrl_env_callbacks_t, reset)
                           ? ""
                           : " (absent: callbacks->struct_size is too small)");
  if (cb.step == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "callbacks->step is required but NULL%s",
                       WSRL__FIELD_PRESENT(callbacks->struct_size, wsrl_env_callbacks_t, step)
                           ? ""
                           : " (absent: callbacks->struct_size is too small)");

  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, NULL);
  wsrl_env_t *env = wsrl__calloc(&alloc, 1, sizeof *env);
  size_t act = (size_t)s.act_dim, obs = (size_t)s.obs_dim;
  float *block = env ? wsrl__calloc(&alloc, 3 * act + obs, sizeof(float)) : NULL;
  if (block == NULL) {
    wsrl__free(&alloc, env);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_env_create: out of memory (obs_dim %d, act_dim %d)",
                       (int)s.obs_dim, (int)s.act_dim);
  }
  env->alloc = alloc;
  env->cb = cb;
  env->user = user;
  env->obs_dim = s.obs_dim;
  env->act_dim = s.act_dim;
  env->max_episode_steps = s.max_episode_steps;
  env->block = block;
  env->low = block;
  env->high = block + act;
  env->action = block + 2 * act;
  env->obs = block + 3 * act;
  for (size_t i = 0; i < act; i++) {
    env->low[i] = s.action_low ? s.action_low[i] : -1.0f;
    env->high[i] = s.action_high ? s.action_high[i] : 1.0f;
  }
  wsrl__handle_created();
  *env_out = env;
  return WSRL_OK;
}

void wsrl_env_destroy(wsrl_env_t *env) {
  if (env == NULL)
    return;
  if (env->in_callback) {
    /* Freeing now would pull the env from under the running call. */
    wsrl__log(WSRL_LOG_ERROR, "wsrl_env_destroy: called from inside a callback of the same env; ignored");
    return;
  }
  if (env->cb.close != NULL) {
    env->in_callback = 1;
    env->cb.close(env->user);
    env->in_callback = 0;
  }
  wsrl__alloc alloc = env->alloc;
  wsrl__free(&alloc, env->block);
  wsrl__free(&alloc, env);
  wsrl__handle_destroyed();
}

wsrl_status_t wsrl_env_get_spec(const wsrl_env_t *env, wsrl_env_spec_t *spec_out) {
  WSRL__CHECK_NULL(env);
  WSRL__CHECK_NULL(spec_out);
  uint32_t size = spec_out->struct_size;
  wsrl_env_spec_t s;
  WSRL__TRY(wsrl__struct_copy_in(&s, sizeof s, spec_out, size, "spec_out", "WSRL_ENV_SPEC_INIT"));
  s.struct_size = size;
  s.obs_dim = env->obs_dim;
  s.act_dim = env->act_dim;
  s.action_low = env->low;
  s.action_high = env->high;
  s.max_episode_steps = env->max_episode_steps;
  /* Write back only the fields the caller's struct has. */
  memcpy(spec_out, &s, size);
  return WSRL_OK;
}

int32_t wsrl_env_last_callback_code(const wsrl_env_t *env) {
  return env ? env->last_code : 0;
}

/* ---- reset / step ---- */

/* WSRL__CHECK_NULL names __func__, which here would be an internal helper. */
#define CHECK_ARG(p, fn)                                                                        \
  do {                                                                                          \
    if ((p) == NULL)                                                                            \
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: argument '%s' is NULL", fn, #p);       \
  } while (0)

static wsrl_status_t check_not_reentered(const wsrl_env_t *env, const char *fn) {
  if (env->in_callback)
    return wsrl__error(WSRL_ERR_WRONG_STATE,
                       "%s: called from inside a callback of the same env (callbacks must not re-enter their env)",
                       fn);
  return WSRL_OK;
}

/* Record a failing callback: keep the host's code and fold its message in. */
static wsrl_status_t callback_failed(wsrl_env_t *env, const char *what, int32_t code) {
  env->last_code = code;
  env->active = 0;
  if (cb_msg_set)
    return wsrl__error(WSRL_ERR_ENV_CALLBACK, "env %s callback returned %d at episode step %lld: %s", what,
                       (int)code, (long long)env->episode_steps, cb_msg);
  return wsrl__error(WSRL_ERR_ENV_CALLBACK, "env %s callback returned %d at episode step %lld", what, (int)code,
                     (long long)env->episode_steps);
}

static int32_t first_nonfinite(const float *x, int32_t n) {
  for (int32_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return i;
  return -1;
}

/* The obs buffer is filled with NaN before each call, so an entry the host
 * forgot to write is caught here too. */
static wsrl_status_t nonfinite_obs(wsrl_env_t *env, const char *what, int32_t i) {
  env->last_nonfinite = 1;
  env->active = 0;
  return wsrl__error(WSRL_ERR_NON_FINITE,
                     "env %s callback returned a non-finite observation: obs[%d] = %g at episode step %lld "
                     "(NaN also when the callback did not write it)",
                     what, (int)i, (double)env->obs[i], (long long)env->episode_steps);
}

static void fill_nan(float *x, int32_t n) {
  for (int32_t i = 0; i < n; i++)
    x[i] = NAN;
}

static int32_t call_reset(wsrl_env_t *env, uint64_t seed) {
  wsrl_set_callback_error(NULL);
  env->in_callback = 1;
  int32_t rc = env->cb.reset(env->user, seed, env->obs);
  env->in_callback = 0;
  return rc;
}

wsrl_status_t wsrl__env_reset(wsrl_env_t *env, uint64_t seed, float *obs_out) {
  CHECK_ARG(env, "wsrl_env_reset");
  WSRL__TRY(check_not_reentered(env, "wsrl_env_reset"));
  CHECK_ARG(obs_out, "wsrl_env_reset");

  env->last_nonfinite = 0;
  env->active = 0;
  env->episode_steps = 0;
  fill_nan(env->obs, env->obs_dim);
  int32_t rc = call_reset(env, seed);
  if (rc != 0)
    return callback_failed(env, "reset", rc);
  int32_t bad = first_nonfinite(env->obs, env->obs_dim);
  if (bad >= 0)
    return nonfinite_obs(env, "reset", bad);
  memcpy(obs_out, env->obs, (size_t)env->obs_dim * sizeof(float));
  env->active = 1;
  return WSRL_OK;
}

wsrl__busy *wsrl__env_busy(wsrl_env_t *env) { return &env->busy; }

wsrl_status_t wsrl_env_reset(wsrl_env_t *env, uint64_t seed, float *obs_out) {
  WSRL__CHECK_NULL(env);
  WSRL__GUARDED(&env->busy, WSRL__BUSY_WRITE, "env", "wsrl_env_reset", wsrl__env_reset(env, seed, obs_out));
}

static wsrl_status_t check_step_args(wsrl_env_t *env, const float *action_unit, float *obs_out, float *reward_out,
                                     int32_t *terminated_out, int32_t *truncated_out) {
  const char *fn = "wsrl_env_step";
  CHECK_ARG(env, fn);
  WSRL__TRY(check_not_reentered(env, fn));
  CHECK_ARG(action_unit, fn);
  CHECK_ARG(obs_out, fn);
  CHECK_ARG(reward_out, fn);
  CHECK_ARG(terminated_out, fn);
  CHECK_ARG(truncated_out, fn);
  if (!env->active)
    return wsrl__error(WSRL_ERR_WRONG_STATE,
                       "wsrl_env_step: no episode is running (not reset yet, or the last episode ended by "
                       "termination, truncation or an error): call wsrl_env_reset() first");
  int32_t bad = first_nonfinite(action_unit, env->act_dim);
  if (bad >= 0)
    return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_env_step: action[%d] is %g; actions must be finite", (int)bad,
                       (double)action_unit[bad]);
  return WSRL_OK;
}

wsrl_status_t wsrl__env_step_policy(wsrl_env_t *env, int32_t nonfinite_policy, const float *action_unit,
                                    float *obs_out, float *reward_out, int32_t *terminated_out,
                                    int32_t *truncated_out, int32_t *skipped_out) {
  if (skipped_out != NULL)
    *skipped_out = 0;
  if (nonfinite_policy != WSRL__NONFINITE_ERROR && nonfinite_policy != WSRL__NONFINITE_SKIP_RESET)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl__env_step_policy: unknown non-finite policy %d",
                       (int)nonfinite_policy);
  if (nonfinite_policy == WSRL__NONFINITE_SKIP_RESET)
    CHECK_ARG(skipped_out, "wsrl__env_step_policy");
  WSRL__TRY(check_step_args(env, action_unit, obs_out, reward_out, terminated_out, truncated_out));

  env->last_nonfinite = 0;
  wsrl__action_scale(env->low, env->high, (size_t)env->act_dim, action_unit, env->action);
  fill_nan(env->obs, env->obs_dim);
  float reward = NAN;
  int32_t terminated = 0, truncated = 0;

  wsrl_set_callback_error(NULL);
  env->in_callback = 1;
  int32_t rc = env->cb.step(env->user, env->action, env->obs, &reward, &terminated, &truncated);
  env->in_callback = 0;
  if (rc != 0)
    return callback_failed(env, "step", rc);

  int32_t bad = first_nonfinite(env->obs, env->obs_dim);
  if (bad >= 0 || !isfinite(reward)) {
    if (nonfinite_policy == WSRL__NONFINITE_SKIP_RESET) {
      env->last_nonfinite = 1;
      env->active = 0;
      env->nonfinite_skips++;
      wsrl__log(WSRL_LOG_WARN,
                "env step %lld returned a non-finite %s; step skipped, episode reset (%lld skips so far)",
                (long long)env->episode_steps, bad >= 0 ? "observation" : "reward",
                (long long)env->nonfinite_skips);
      *skipped_out = 1;
      return WSRL_OK;
    }
    if (bad >= 0)
      return nonfinite_obs(env, "step", bad);
    env->last_nonfinite = 1;
    env->active = 0;
    return wsrl__error(WSRL_ERR_NON_FINITE,
                       "env step callback returned a non-finite reward %g at episode step %lld (NaN also when "
                       "the callback did not write it)",
                       (double)reward, (long long)env->episode_steps);
  }

  env->episode_steps++;
  env->total_steps++;
  terminated = terminated != 0;
  truncated = truncated != 0;
  if (env->max_episode_steps > 0 && env->episode_steps >= env->max_episode_steps)
    truncated = 1;
  if (terminated || truncated)
    env->active = 0;
  memcpy(obs_out, env->obs, (size_t)env->obs_dim * sizeof(float));
  *reward_out = reward;
  *terminated_out = terminated;
  *truncated_out = truncated;
  return WSRL_OK;
}

wsrl_status_t wsrl_env_step(wsrl_env_t *env, const float *action_unit, float *obs_out, float *reward_out,
                            int32_t *terminated_out, int32_t *truncated_out) {
  WSRL__CHECK_NULL(env);
  WSRL__GUARDED(&env->busy, WSRL__BUSY_WRITE, "env", "wsrl_env_step",
                wsrl__env_step_policy(env, WSRL__NONFINITE_ERROR, action_unit, obs_out, reward_out, terminated_out,
                                      truncated_out, NULL));
}

/* ---- internal accessors ---- */

int32_t wsrl__env_obs_dim(const wsrl_env_t *env) { return env->obs_dim; }
int32_t wsrl__env_act_dim(const wsrl_env_t *env) { return env->act_dim; }
int64_t wsrl__env_max_episode_steps(const wsrl_env_t *env) { return env->max_episode_steps; }
const float *wsrl__env_action_low(const wsrl_env_t *env) { return env->low; }
const float *wsrl__env_action_high(const wsrl_env_t *env) { return env->high; }
int64_t wsrl__env_episode_steps(const wsrl_env_t *env) { return env->episode_steps; }
int32_t wsrl__env_episode_active(const wsrl_env_t *env) { return env->active; }
int64_t wsrl__env_total_steps(const wsrl_env_t *env) { return env->total_steps; }
int32_t wsrl__env_last_nonfinite(const wsrl_env_t *env) { return env->last_nonfinite; }
int64_t wsrl__env_nonfinite_skips(const wsrl_env_t *env) { return env->nonfinite_skips; }
