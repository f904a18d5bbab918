/* Deterministic evaluation: wsrl_evaluate() and the periodic evaluation of
 * the fine-tuning loop share wsrl__evaluate_run(). */
#include <math.h>
#include <string.h>

#include "env/env_internal.h"
#include "train_internal.h"

WSRL__DEFINE_STRUCT_INIT(wsrl_eval_result_init, wsrl_eval_result_t, result, WSRL_EVAL_RESULT_INIT)

wsrl_status_t wsrl__evaluate_run(wsrl_agent_t *agent, wsrl_env_t *env, int32_t episodes, uint64_t seed,
                                 int32_t nonfinite_policy, float *obs, float *next_obs, float *act,
                                 wsrl_eval_result_t *result) {
  const size_t O = (size_t)wsrl__env_obs_dim(env);
  double sum = 0, sum_sq = 0, lo = INFINITY, hi = -INFINITY, len_sum = 0;
  int64_t skips = 0;
  for (int32_t e = 0; e < episodes; e++) {
    WSRL__TRY(wsrl__env_reset(env, seed + (uint64_t)e, obs));
    double ret = 0;
    int64_t len = 0;
    for (;;) {
      WSRL__TRY(wsrl__agent_act_unit(agent, 1, obs, 1, act));
      float r = 0;
      int32_t te = 0, tr = 0, skipped = 0;
      WSRL__TRY(wsrl__env_step_policy(env, nonfinite_policy, act, next_obs, &r, &te, &tr, &skipped));
      if (skipped) {
        skips++;
        break;
      }
      ret += (double)r;
      len++;
      if (te || tr)
        break;
      memcpy(obs, next_obs, O * sizeof(float));
    }
    sum += ret;
    sum_sq += ret * ret;
    lo = ret < lo ? ret : lo;
    hi = ret > hi ? ret : hi;
    len_sum += (double)len;
  }
  const double n = (double)episodes, mean = sum / n, var = sum_sq / n - mean * mean;
  const wsrl_eval_result_t full = {(uint32_t)sizeof(wsrl_eval_result_t),
                                   episodes,
                                   mean,
                                   var > 0 ? sqrt(var) : 0.0,
                                   lo,
                                   hi,
                                   len_sum / n,
                                   skips};
  *result = full;
  return WSRL_OK;
}

static wsrl_status_t evaluate_impl(wsrl_agent_t *agent, wsrl_env_t *env, int32_t episodes, uint64_t seed,
                            wsrl_eval_result_t *result_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__TRY(wsrl__struct_check_size(result_out->struct_size, sizeof(wsrl_eval_result_t),
                                    "wsrl_evaluate: result_out", "WSRL_EVAL_RESULT_INIT"));
  if (episodes < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_evaluate: episodes must be >= 1 (got %d)", (int)episodes);
  const int32_t O = wsrl__env_obs_dim(env), A = wsrl__env_act_dim(env);
  if (O != wsrl__agent_obs_dim(agent) || A != wsrl__agent_act_dim(agent))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_evaluate: the env has obs_dim %d, act_dim %d but the agent has %d, %d", O, A,
                       wsrl__agent_obs_dim(agent), wsrl__agent_act_dim(agent));
  const wsrl__alloc *alloc = wsrl__agent_alloc(agent);
  float *buf = wsrl__malloc(alloc, (size_t)(2 * O + A) * sizeof(float));
  if (buf == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_evaluate: cannot allocate %d floats", 2 * O + A);
  wsrl_eval_result_t full;
  wsrl_status_t st = wsrl__evaluate_run(agent, env, episodes, seed, wsrl__agent_config(agent)->env_nonfinite, buf,
                                        buf + O, buf + 2 * O, &full);
  wsrl__free(alloc, buf);
  if (st == WSRL_OK)
    wsrl__struct_copy_out(result_out, &full, result_out->struct_size);
  return st;
}

/* The agent's flag is taken by the caller; this takes the env's. */
static wsrl_status_t evaluate_env(wsrl_agent_t *agent, wsrl_env_t *env, int32_t episodes, uint64_t seed,
                                  wsrl_eval_result_t *result_out) {
  WSRL__GUARDED(wsrl__env_busy(env), WSRL__BUSY_WRITE, "env", "wsrl_evaluate",
                evaluate_impl(agent, env, episodes, seed, result_out));
}

wsrl_status_t wsrl_evaluate(wsrl_agent_t *agent, wsrl_env_t *env, int32_t episodes, uint64_t seed,
                            wsrl_eval_result_t *result_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(env);
  WSRL__CHECK_NULL(result_out);
  WSRL__AGENT_GUARDED(agent, "wsrl_evaluate", evaluate_env(agent, env, episodes, seed, result_out));
}
