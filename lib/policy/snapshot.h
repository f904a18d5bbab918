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

/* A pool for actor pi with bounds low/high (copied), and the first snapshot
 * published (version 0). WSRL_ERR_UNSUPPORTED when the actor is too wide. */
wsrl_status_t wsrl__snap_pool_create(wsrl__snap_pool **pool_out, wsrl__policy *pi, const float *low,
                                     const float *high, const wsrl__alloc *alloc);
/* Copy the actor into a free slot and make it the latest (the owner's
 * thread, which must not be writing the actor meanwhile). No allocation;
 * skipped when every slot is held. */
void wsrl__snap_pool_publish(wsrl__snap_pool *pool, wsrl__policy *pi, uint64_t version);
/* The latest snapshot, retained (any thread). */
wsrl_policy_t *wsrl__snap_pool_latest(wsrl__snap_pool *pool);
/* Drop the owner's reference (at its destroy); the last holder frees. */
void wsrl__snap_pool_drop(wsrl__snap_pool *pool);

#endif /* WSRL_POLICY_SNAPSHOT_H */
