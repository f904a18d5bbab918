/**
 * @file wsrl/qensemble.h
 * @brief Ensemble of Q critics with Polyak target copies.
 *
 * E critics Q_i(s, a) = Dense_1(MLP_i(concat(s, a))), i = 0..E-1, each with a
 * target copy Q'_i. An agent owns one (wsrl_agent_qensemble() lends it out,
 * const); a standalone one can be created from a config for inspection,
 * tests and FFI. Predictions are written member-major: q[i * batch + r].
 *
 * Parameter vectors (wsrl_qensemble_get_params()): member after member,
 * each member's layers in order (kernel row-major [fan_in, fan_out], bias,
 * LayerNorm gain and bias), without padding: the layout documented in
 * wsrl/agent.h ("Parameter vectors"), the same as wsrl_agent_get_params()
 * of WSRL_NET_CRITICS / WSRL_NET_TARGET_CRITICS. Their length is the
 * param_count of wsrl_qensemble_info().
 */
#ifndef WSRL_QENSEMBLE_H
#define WSRL_QENSEMBLE_H

#include <stdint.h>
#include "config.h"
#include "export.h"
#include "status.h"

WSRL_BEGIN_DECLS

/** @brief Opaque Q-ensemble. */
typedef struct wsrl_qensemble wsrl_qensemble_t;

/** @brief Which copy of the critics a call reads or writes. */
typedef enum wsrl_qensemble_which {
  WSRL_QENSEMBLE_ONLINE = 0, /**< the trained critics Q_i */
  WSRL_QENSEMBLE_TARGET = 1  /**< their Polyak averages Q'_i */
} wsrl_qensemble_which_t;

/**
 * @brief Create a standalone Q-ensemble from the critic.* keys of @p config
 * (ensemble_size, hidden, layer_norm, kernel_scale_final), seeded from
 * agent.seed, using agent.threads. Targets start equal to the critics.
 * @param[out] q_out      the new ensemble.
 * @param[in]  config     configuration (copied; NULL uses the defaults).
 * @param[in]  obs_dim    observation length, > 0.
 * @param[in]  act_dim    action length, > 0.
 * @param[in]  max_batch  rows per internal pass, > 0; larger predictions run in chunks.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL @p q_out or a size
 *         out of range (@p max_batch in [1, 2^24]); WSRL_ERR_OUT_OF_MEMORY;
 *         WSRL_ERR_BACKEND (names the oneDNN call).
 * @ownership the caller destroys it with wsrl_qensemble_destroy().
 * @nullable @p config.
 * @threadsafety any thread (a reader of @p config).
 */
WSRL_API wsrl_status_t wsrl_qensemble_create(wsrl_qensemble_t **q_out, const wsrl_config_t *config,
                                             int32_t obs_dim, int32_t act_dim, int64_t max_batch);

/**
 * @brief Free a standalone ensemble; NULL is ignored. An ensemble lent out
 * by an agent is not freed here (the agent owns it; a warning is logged).
 * @param[in] q  a standalone ensemble, or NULL.
 * @ownership @p q is invalid afterwards.
 * @nullable @p q.
 * @threadsafety no other call on @p q at the same time.
 */
WSRL_API void wsrl_qensemble_destroy(wsrl_qensemble_t *q);

/**
 * @brief Sizes of an ensemble.
 * @param[in]  q                  the ensemble.
 * @param[out] ensemble_size_out  E.
 * @param[out] obs_dim_out        observation length.
 * @param[out] act_dim_out        action length.
 * @param[out] param_count_out    floats in one parameter vector (online or target).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p q).
 * @ownership none.
 * @nullable every out pointer.
 * @threadsafety any thread (immutable after create).
 */
WSRL_API wsrl_status_t wsrl_qensemble_info(const wsrl_qensemble_t *q, int32_t *ensemble_size_out,
                                           int32_t *obs_dim_out, int32_t *act_dim_out, int64_t *param_count_out);

/**
 * @brief Evaluate every member on a batch.
 * @param[in]  q      the ensemble.
 * @param[in]  which  WSRL_QENSEMBLE_ONLINE or WSRL_QENSEMBLE_TARGET.
 * @param[in]  batch  rows, > 0.
 * @param[in]  obs    [batch, obs_dim] row-major.
 * @param[in]  act    [batch, act_dim] row-major, in [-1, 1] units.
 * @param[out] q_out  [E, batch]: q_out[i * batch + r] = Q_i(obs_r, act_r).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, an unknown
 *         @p which, @p batch < 1); WSRL_ERR_BACKEND; WSRL_ERR_BUSY (another
 *         thread is in a call on the ensemble or, for a lent one, its agent);
 *         WSRL_ERR_WRONG_STATE (re-entered from a callback of that agent).
 * @ownership buffers stay the caller's.
 * @nullable none.
 * @threadsafety a writer (it uses the handle's workspace): one thread per
 * handle, and for a lent ensemble not concurrently with calls on its agent
 * (it shares the agent's flag).
 */
WSRL_API wsrl_status_t wsrl_qensemble_predict(wsrl_qensemble_t *q, int32_t which, int64_t batch,
                                              const float *obs, const float *act, float *q_out);

/**
 * @brief Minimum over a subset of members (the REDQ target minimum).
 * @param[in]  q        the ensemble.
 * @param[in]  which    WSRL_QENSEMBLE_ONLINE or WSRL_QENSEMBLE_TARGET.
 * @param[in]  batch    rows, > 0.
 * @param[in]  obs      [batch, obs_dim] row-major.
 * @param[in]  act      [batch, act_dim] row-major, in [-1, 1] units.
 * @param[in]  members  k member indices (repeats allowed), or NULL for all E.
 * @param[in]  k        length of @p members (ignored when NULL), 1..64.
 * @param[out] min_out  [batch] minimum per row.
 * @return as wsrl_qensemble_predict(); WSRL_ERR_INVALID_ARGUMENT also for
 *         @p k or an index out of range.
 * @ownership buffers stay the caller's.
 * @nullable @p members.
 * @threadsafety as wsrl_qensemble_predict().
 */
WSRL_API wsrl_status_t wsrl_qensemble_predict_min(wsrl_qensemble_t *q, int32_t which, int64_t batch,
                                                  const float *obs, const float *act, const int32_t *members,
                                                  int32_t k, float *min_out);

/**
 * @brief Draw k member indices uniformly with replacement (the agent draws
 * its own from its RNG stream; this one is a pure function of @p seed).
 * @param[in]  q            the ensemble (gives E).
 * @param[in]  seed         the draw's seed.
 * @param[in]  k            how many indices, 1..64.
 * @param[out] members_out  k indices in [0, E).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (k < 1 or k > 64, NULL).
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread (no flag).
 */
WSRL_API wsrl_status_t wsrl_qensemble_subsample(const wsrl_qensemble_t *q, uint64_t seed, int32_t k,
                                                int32_t *members_out);

/**
 * @brief Polyak update of every target: theta' <- tau * theta + (1 - tau) * theta'.
 * @param[in] q    the ensemble.
 * @param[in] tau  in [0, 1].
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p q, @p tau out of
 *         range); WSRL_ERR_BUSY; WSRL_ERR_WRONG_STATE (re-entered).
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per handle (a lent one shares its agent's flag).
 */
WSRL_API wsrl_status_t wsrl_qensemble_polyak_update(wsrl_qensemble_t *q, double tau);

/**
 * @brief Copy the critics into their targets (tau = 1).
 * @param[in] q  the ensemble.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p q); WSRL_ERR_BUSY;
 *         WSRL_ERR_WRONG_STATE (re-entered).
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per handle (a lent one shares its agent's flag).
 */
WSRL_API wsrl_status_t wsrl_qensemble_sync_targets(wsrl_qensemble_t *q);

/**
 * @brief Copy the online or target parameter vector out.
 * @param[in]  q           the ensemble.
 * @param[in]  which       WSRL_QENSEMBLE_ONLINE or WSRL_QENSEMBLE_TARGET.
 * @param[out] params_out  @p count floats.
 * @param[in]  count       must equal param_count (wsrl_qensemble_info()).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, an unknown
 *         @p which, a wrong count: the message names both sizes);
 *         WSRL_ERR_BUSY (a writer is running).
 * @ownership buffer stays the caller's.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_qensemble_get_params(const wsrl_qensemble_t *q, int32_t which, float *params_out,
                                                 int64_t count);

/**
 * @brief Overwrite the online or target parameter vector.
 * @param[in,out] q       the ensemble.
 * @param[in]     which   WSRL_QENSEMBLE_ONLINE or WSRL_QENSEMBLE_TARGET.
 * @param[in]     params  @p count floats, in the order wsrl_qensemble_get_params()
 *                        gives, each finite and within +-1e6 (the bound
 *                        checkpoint loading applies).
 * @param[in]     count   must equal param_count (wsrl_qensemble_info()).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, an unknown
 *         @p which, a wrong count, a value beyond +-1e6); WSRL_ERR_NON_FINITE
 *         (a NaN/inf value, named by index); WSRL_ERR_BUSY;
 *         WSRL_ERR_WRONG_STATE (re-entered). On any error nothing is changed.
 * @ownership @p params is copied.
 * @nullable none.
 * @threadsafety a writer: one thread per handle (a lent one shares its agent's flag).
 */
WSRL_API wsrl_status_t wsrl_qensemble_set_params(wsrl_qensemble_t *q, int32_t which, const float *params,
                                                 int64_t count);

/**
 * @brief Bytes of parameters, optimizer state and workspace held by @p q
 * (oneDNN's internal allocations not counted).
 * @param[in]  q          the ensemble.
 * @param[out] bytes_out  the byte count.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer).
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread (no flag).
 */
WSRL_API wsrl_status_t wsrl_qensemble_memory_usage(const wsrl_qensemble_t *q, uint64_t *bytes_out);

WSRL_END_DECLS

#endif /* WSRL_QENSEMBLE_H */
