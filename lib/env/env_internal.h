/*
 * Internal view of a wsrl_env_t for the library's own loops (lib/train:
 * warmup, finetune, evaluate) and for the host-owned fine-tuning session.
 *
 * The public wsrl_env_reset()/wsrl_env_step() are thin wrappers around the
 * functions here; the loops call these directly so that they can apply the
 * config's `env.nonfinite` policy and read the episode counters without a
 * second copy of the bookkeeping.
 *
 * Episode state machine (the same for the public calls):
 *
 *   created --reset ok--> active --step ok, not ended--> active
 *                            |--step ok, terminated or truncated--> ended
 *                            |--callback error / non-finite output--> ended
 *   any state --reset ok--> active;  reset failing --> ended
 *
 * step() is valid only in `active` (else WSRL_ERR_WRONG_STATE). A rejected
 * action (NaN/inf) does not call the host and leaves the state unchanged.
 */
#ifndef WSRL_ENV_INTERNAL_H
#define WSRL_ENV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "core/action.h"
#include "wsrl/env.h"

/* Largest obs_dim / act_dim accepted (keeps every size computation far from
 * overflow; a flattened 4-frame 84x84 RGB image is 84672). */
#define WSRL__ENV_MAX_DIM WSRL__SPEC_MAX_DIM

/* ---- read-only accessors; env must be non-NULL ---- */
int32_t wsrl__env_obs_dim(const wsrl_env_t *env);
int32_t wsrl__env_act_dim(const wsrl_env_t *env);
/* 0 = no time limit. */
int64_t wsrl__env_max_episode_steps(const wsrl_env_t *env);
/* act_dim bounds, owned by the env (defaults -1 / +1 already filled in). */
const float *wsrl__env_action_low(const wsrl_env_t *env);
const float *wsrl__env_action_high(const wsrl_env_t *env);

/* Steps taken in the current (or just ended) episode; 0 right after reset. */
int64_t wsrl__env_episode_steps(const wsrl_env_t *env);
/* 1 while an episode is running (step is allowed), else 0. */
int32_t wsrl__env_episode_active(const wsrl_env_t *env);
/* Successful steps since create, over all episodes (skipped steps excluded). */
int64_t wsrl__env_total_steps(const wsrl_env_t *env);

/* ---- non-finite outputs from the host ----
 * 1 if the most recent step() or reset() failed because the host returned a
 * NaN/inf observation or reward (not a NaN action, not a callback error),
 * else 0. Cleared by every step()/reset() that reaches the host. */
int32_t wsrl__env_last_nonfinite(const wsrl_env_t *env);
/* Steps dropped under WSRL__NONFINITE_SKIP_RESET since create (a metrics
 * counter for the loops). */
int64_t wsrl__env_nonfinite_skips(const wsrl_env_t *env);

/* ---- reset / step used by the loops ----
 * wsrl__env_reset() is exactly wsrl_env_reset(). A non-finite observation
 * from reset is always an error: retrying the same seed would give the same
 * observation, and choosing another seed is the loop's decision. */
wsrl_status_t wsrl__env_reset(wsrl_env_t *env, uint64_t seed, float *obs_out);

/* Step under a non-finite policy (WSRL__NONFINITE_ERROR or
 * WSRL__NONFINITE_SKIP_RESET from config_values.h, i.e. the config's
 * `env.nonfinite`).
 *
 *  - ERROR: behaves exactly as wsrl_env_step(); *skipped_out is set to 0.
 *  - SKIP_RESET: when the host returns a non-finite observation or reward,
 *    the call returns WSRL_OK with *skipped_out = 1, leaves obs_out,
 *    reward_out and the flags untouched, logs a warning, counts the skip and
 *    ends the episode. The caller must not store a transition and must call
 *    wsrl__env_reset() before stepping again. Every other failure (callback
 *    error, NaN action, re-entry) is still returned as an error.
 *
 * skipped_out may be NULL only under ERROR. */
wsrl_status_t wsrl__env_step_policy(wsrl_env_t *env, int32_t nonfinite_policy, const float *action_unit,
                                    float *obs_out, float *reward_out, int32_t *terminated_out,
                                    int32_t *truncated_out, int32_t *skipped_out);

/* ---- action scaling, shared with the host-owned session and datasets ----
 * unit -> [low, high]: clip unit to [-1, 1], then low + (u + 1) / 2 * (high - low)
 * computed in double and clamped, so the result is always inside [low, high]
 * even for bounds near +-FLT_MAX. unit must be finite (checked by callers). */
/* The env's busy flag: the library's loops (evaluate, finetune) hold it
 * while they step the env. */
wsrl__busy *wsrl__env_busy(wsrl_env_t *env);


#endif /* WSRL_ENV_INTERNAL_H */
