/*
 * Action spaces: the checks of an env spec (dimensions, episode limit,
 * finite bounds with low < high) and the maps between unit actions
 * ([-1, 1]) and the env's [low, high]. One module for lib/env, which steps
 * the host's simulator, and lib/agents, which acts and learns in unit
 * actions, so a spec is validated by the same code everywhere.
 */
#include <math.h>

#include "action.h"

static wsrl_status_t check_bounds(const float *b, int32_t n, const char *name) {
  if (b == NULL)
    return WSRL_OK;
  for (int32_t i = 0; i < n; i++)
    if (!isfinite(b[i]))
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->%s[%d] is %g: action bounds must be finite", name,
                         (int)i, (double)b[i]);
  return WSRL_OK;
}

static wsrl_status_t validate_spec(const wsrl_env_spec_t *s, uint32_t host_size) {
  if (!WSRL__FIELD_PRESENT(host_size, wsrl_env_spec_t, act_dim))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "spec->struct_size %u is too small to hold obs_dim and act_dim", (unsigned)host_size);
  if (s->obs_dim <= 0 || s->obs_dim > WSRL__SPEC_MAX_DIM)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->obs_dim must be in [1, %d] (got %d)", WSRL__SPEC_MAX_DIM,
                       (int)s->obs_dim);
  if (s->act_dim <= 0 || s->act_dim > WSRL__SPEC_MAX_DIM)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->act_dim must be in [1, %d] (got %d)", WSRL__SPEC_MAX_DIM,
                       (int)s->act_dim);
  if (s->max_episode_steps < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->max_episode_steps must be >= 0 (got %lld; 0 = no limit)",
                       (long long)s->max_episode_steps);
  WSRL__TRY(check_bounds(s->action_low, s->act_dim, "action_low"));
  WSRL__TRY(check_bounds(s->action_high, s->act_dim, "action_high"));
  for (int32_t i = 0; i < s->act_dim; i++) {
    float lo = s->action_low ? s->action_low[i] : -1.0f;
    float hi = s->action_high ? s->action_high[i] : 1.0f;
    if (!(lo < hi))
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->action_low[%d] = %g must be < spec->action_high[%d] = %g%s",
                         (int)i, (double)lo, (int)i, (double)hi,
                         (s->action_low == NULL || s->action_high == NULL) ? " (a NULL bound means -1 or +1)" : "");
  }
  return WSRL_OK;
}

wsrl_status_t wsrl__spec_read(wsrl_env_spec_t *out, const wsrl_env_spec_t *spec) {
  WSRL__TRY(wsrl__struct_copy_in(out, sizeof *out, spec, spec->struct_size, "spec", "WSRL_ENV_SPEC_INIT"));
  return validate_spec(out, spec->struct_size);
}

void wsrl__action_scale(const float *low, const float *high, size_t n, const float *unit, float *out) {
  for (size_t i = 0; i < n; i++) {
    double u = unit[i] < -1.0f ? -1.0 : unit[i] > 1.0f ? 1.0 : (double)unit[i];
    double lo = low[i], hi = high[i];
    /* (hi - lo) in double cannot overflow for float bounds. */
    float a = (float)(lo + (u + 1.0) * 0.5 * (hi - lo));
    out[i] = a < low[i] ? low[i] : a > high[i] ? high[i] : a;
  }
}

void wsrl__action_unscale(const float *low, const float *high, size_t n, const float *scaled, float *unit_out) {
  for (size_t i = 0; i < n; i++) {
    double lo = low[i], hi = high[i];
    double u = 2.0 * ((double)scaled[i] - lo) / (hi - lo) - 1.0;
    unit_out[i] = u < -1.0 ? -1.0f : u > 1.0 ? 1.0f : (float)u;
  }
}
