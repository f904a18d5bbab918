/*
 * Actor snapshots (wsrl_policy_t, include/wsrl/policy.h): a pool of a few
 * preallocated slots per agent, recycled by reference count, and the
 * plain-C forward of a snapshot.
 *
 * A slot's refs: -1 while the publisher writes it, 0 free, n > 0 held
 * (the pool's "latest" pointer holds one). A reader takes a reference by
 * compare-exchange from n > 0 only, so it never sees a slot being written;
 * whatever slot it lands on is a complete snapshot (possibly newer than
 * the one it looked up).
 */
#ifndef WSRL_POLICY_SNAPSHOT_H
#define WSRL_POLICY_SNAPSHOT_H

#include <wsrl/policy.h>

#include "core.h"
#include "policy.h"

typedef struct wsrl__snap_pool wsrl__snap_pool;

/* What a snapshot applies around the actor, as the learner acts (its
 * snapshot hook, agents/learner.h). All zero: the plain Gaussian actor.
 *   obs_mean, obs_std: obs_dim floats each; the actor sees
 *     (obs - mean) / std. NULL: no normalisation.
 *   deterministic: the action is the actor's mode; a stochastic act adds
 *     N(0, noise) per component (in [-1, 1] units, clipped) instead of
 *     sampling the actor's Gaussian. */
typedef struct wsrl__snap_extras {
  const float *obs_mean, *obs_std;
  int32_t deterministic;
  float noise;
} wsrl__snap_extras;

/* A pool for actor pi with bounds low/high and extras ex (copied; the
 * normalisation's presence, the head and its noise stay as at create), and
 * the first snapshot published (version 0). WSRL_ERR_UNSUPPORTED when the
 * actor is too wide. */
wsrl_status_t wsrl__snap_pool_create(wsrl__snap_pool **pool_out, wsrl__policy *pi, const float *low,
                                     const float *high, const wsrl__snap_extras *ex, const wsrl__alloc *alloc);
/* Copy the actor and the normalisation of ex into a free slot and make it
 * the latest (the owner's thread, which must not be writing the actor
 * meanwhile). No allocation; skipped when every slot is held. */
void wsrl__snap_pool_publish(wsrl__snap_pool *pool, wsrl__policy *pi, const wsrl__snap_extras *ex,
                             uint64_t version);
/* The latest snapshot, retained (any thread). */
wsrl_policy_t *wsrl__snap_pool_latest(wsrl__snap_pool *pool);
/* Drop the owner's reference (at its destroy); the last holder frees. */
void wsrl__snap_pool_drop(wsrl__snap_pool *pool);

#endif /* WSRL_POLICY_SNAPSHOT_H */
