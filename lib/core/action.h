/*
 * Action spaces (action.c): the one check of an env spec and the maps
 * between unit actions ([-1, 1]) and [low, high], shared by lib/env and
 * lib/agents.
 */
#ifndef WSRL_CORE_ACTION_H
#define WSRL_CORE_ACTION_H

#include <stddef.h>

#include "core.h"
#include "wsrl/env.h"

#define WSRL__SPEC_MAX_DIM (1 << 24) /* largest obs_dim / act_dim */

/* Copy the host's spec (maybe older and shorter) into a full-size *out and
 * check it: dimensions in [1, WSRL__SPEC_MAX_DIM], max_episode_steps >= 0,
 * finite bounds with low < high (NULL bounds mean -1 and +1).
 * WSRL_ERR_INVALID_ARGUMENT / _VERSION_MISMATCH naming the field. */
wsrl_status_t wsrl__spec_read(wsrl_env_spec_t *out, const wsrl_env_spec_t *spec);

/* Unit actions to [low, high] (clipped to both). */
void wsrl__action_scale(const float *low, const float *high, size_t n, const float *unit, float *out);
/* Inverse for actions already in [low, high] (e.g. a host's logged actions):
 * 2 * (a - low) / (high - low) - 1, clipped to [-1, 1]. */
void wsrl__action_unscale(const float *low, const float *high, size_t n, const float *scaled, float *unit_out);

#endif /* WSRL_CORE_ACTION_H */
