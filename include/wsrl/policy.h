/**
 * @file wsrl/policy.h
 * @brief Immutable policy snapshots: act from the latest actor while
 * another thread trains, and deploy an actor without the training stack.
 *
 * An agent publishes its actor (weights, observation/action sizes, action
 * bounds) as a snapshot at create, after every update, after a load and
 * after wsrl_agent_set_params() of the actor.
 * Publishing copies the actor into one of a few slots allocated at create
 * and swaps a pointer atomically: no allocation, no lock. A thread that
 * takes the latest snapshot with wsrl_agent_policy() holds a reference; the
 * snapshot never changes while held, and its slot is reused only after its
 * last wsrl_policy_release(). When every slot is held, publishing skips
 * that update (the next update publishes); hold at most two snapshots per
 * agent at a time to never miss one.
 *
 * wsrl_policy_act() runs the actor in plain C (no oneDNN call, no
 * allocation, about 32 KiB of stack at most) from any number of threads.
 * A policy file (wsrl_policy_save()) holds only the actor, with what its
 * learner applies around it (TD3+BC: the observation normalisation and a
 * deterministic head): versioned (format 2; format 1 files, which have
 * neither, still load), CRC-checked, written atomically.
 */
#ifndef WSRL_POLICY_H
#define WSRL_POLICY_H

#include <stdint.h>
#include "agent.h"
#include "export.h"
#include "status.h"
#include "train.h"

WSRL_BEGIN_DECLS

/** @brief Opaque, immutable, reference-counted actor snapshot. */
typedef struct wsrl_policy wsrl_policy_t;

/** @brief Widest hidden layer a snapshot supports (the act path's stack workspace). */
#define WSRL_POLICY_MAX_WIDTH 4096

/**
 * @brief The agent's latest published snapshot, as a new reference.
 * @param[in]  agent      the agent.
 * @param[out] policy_out the snapshot; release it with wsrl_policy_release().
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer;
 *         WSRL_ERR_UNSUPPORTED when the actor is wider than
 *         WSRL_POLICY_MAX_WIDTH.
 * @ownership the caller holds one reference; the snapshot may outlive the agent.
 * @nullable none.
 * @threadsafety lock-free and allowed while another thread is inside any call
 * on the agent (an update, a load) except wsrl_agent_destroy().
 */
WSRL_API wsrl_status_t wsrl_agent_policy(wsrl_agent_t *agent, wsrl_policy_t **policy_out);

/**
 * @brief The latest snapshot of the session's agent (as wsrl_agent_policy()).
 * @param[in]  session    the session.
 * @param[out] policy_out the snapshot; release it with wsrl_policy_release().
 * @return as wsrl_agent_policy().
 * @ownership the caller holds one reference.
 * @nullable none.
 * @threadsafety as wsrl_agent_policy(), also during wsrl_session_train().
 */
WSRL_API wsrl_status_t wsrl_session_policy(wsrl_session_t *session, wsrl_policy_t **policy_out);

/**
 * @brief Take one more reference to @p policy.
 * @param[in] policy  a snapshot the caller holds a reference to.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p policy is NULL.
 * @ownership the caller holds one more reference (release each one).
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_policy_retain(wsrl_policy_t *policy);

/**
 * @brief Drop one reference; the last one frees (or recycles) the snapshot.
 * @param[in] policy  the snapshot, or NULL (ignored).
 * @ownership one reference is given back; the snapshot must not be used
 *            through it afterwards.
 * @nullable @p policy.
 * @threadsafety any thread.
 */
WSRL_API void wsrl_policy_release(wsrl_policy_t *policy);

/**
 * @brief Sizes and version of a snapshot.
 * @param[in]  policy      the snapshot.
 * @param[out] obs_dim_out observation length (nullable).
 * @param[out] act_dim_out action length (nullable).
 * @param[out] updates_out the agent's update count when it was published
 *                         (nullable); grows with every published update.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p policy is NULL.
 * @ownership none.
 * @nullable every out pointer.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_policy_info(const wsrl_policy_t *policy, int32_t *obs_dim_out, int32_t *act_dim_out,
                                        uint64_t *updates_out);

/**
 * @brief Action bounds of a snapshot (the env spec's, in environment units).
 * @param[in]  policy    the snapshot.
 * @param[out] low_out   act_dim floats (nullable).
 * @param[out] high_out  act_dim floats (nullable).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p policy is NULL.
 * @ownership the bounds are copied out.
 * @nullable @p low_out, @p high_out.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_policy_bounds(const wsrl_policy_t *policy, float *low_out, float *high_out);

/**
 * @brief One action for one observation.
 *
 * Deterministic actions equal the agent's wsrl_agent_act() to within 1e-6
 * in [-1, 1] units (float sums partly in another order), observation
 * normalisation included (TD3+BC). Stochastic ones follow the same
 * distribution (a deterministic actor's: the mode plus its exploration
 * noise) but not the agent's noise stream.
 * @param[in]     policy     the snapshot.
 * @param[in]     obs        obs_dim finite floats.
 * @param[in]     flags      WSRL_ACT_DETERMINISTIC (the mode) or WSRL_ACT_STOCHASTIC,
 *                           optionally | WSRL_ACT_UNIT (as wsrl_agent_act()).
 * @param[in,out] rng_state  the caller's noise stream for a stochastic action:
 *                           any 64-bit seed, advanced by the call (one per
 *                           thread); NULL is allowed for a deterministic one.
 * @param[out]    action_out act_dim floats.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer, unknown
 *         flags or a stochastic action without @p rng_state;
 *         WSRL_ERR_NON_FINITE for a non-finite observation or an action that
 *         overflowed (nothing written on error).
 * @ownership none.
 * @nullable @p rng_state for a deterministic action.
 * @threadsafety any number of threads at once on one snapshot; no allocation.
 */
WSRL_API wsrl_status_t wsrl_policy_act(const wsrl_policy_t *policy, const float *obs, int32_t flags,
                                       uint64_t *rng_state, float *action_out);

/**
 * @brief Write the snapshot to a policy file (atomic: a crash leaves the old file).
 * @param[in] policy  the snapshot.
 * @param[in] path    the file to create or replace.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer; WSRL_ERR_IO
 *         (the previous file is kept); WSRL_ERR_OUT_OF_MEMORY.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_policy_save(const wsrl_policy_t *policy, const char *path);

/**
 * @brief Load a policy file written by wsrl_policy_save().
 * @param[out] policy_out a standalone snapshot (one reference; release it);
 *                        NULL on error.
 * @param[in]  path       the policy file (a regular file).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer;
 *         WSRL_ERR_IO, WSRL_ERR_CORRUPT (bad CRC, sizes or values, NaN
 *         weights, bounds not low < high, a normalisation std <= 0), WSRL_ERR_VERSION_MISMATCH (a newer
 *         format) or WSRL_ERR_UNSUPPORTED (a layer wider than
 *         WSRL_POLICY_MAX_WIDTH), naming the file; WSRL_ERR_OUT_OF_MEMORY.
 * @ownership the caller holds the one reference; wsrl_policy_release() frees it.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_policy_load(wsrl_policy_t **policy_out, const char *path);

WSRL_END_DECLS

#endif /* WSRL_POLICY_H */
