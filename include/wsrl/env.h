/**
 * @file wsrl/env.h
 * @brief The host's simulator (or robot) behind callbacks.
 *
 * The host fills a wsrl_env_spec_t (sizes, action bounds, episode limit) and
 * a wsrl_env_callbacks_t (reset, step, optional close), both starting with
 * their own struct_size, and creates a wsrl_env_t with a `user` pointer that
 * is passed first to every callback. libwsrl scales actions from [-1, 1] to
 * [low, high] before step(), applies max_episode_steps itself (truncation),
 * and checks every observation and reward for NaN/inf.
 *
 * Callbacks return 0 on success. Any other value stops the library's loop
 * cleanly with WSRL_ERR_ENV_CALLBACK; the host's code is kept
 * (wsrl_env_last_callback_code()) together with an optional message the
 * callback set with wsrl_set_callback_error(). Buffers passed to callbacks
 * are library-owned and valid only during the call. Callbacks run on the
 * calling thread, never concurrently for one env, and must not re-enter the
 * env they serve (such a call returns WSRL_ERR_WRONG_STATE).
 *
 * Episodes: wsrl_env_step() is valid between a successful wsrl_env_reset()
 * and the end of that episode (terminated, truncated, or a failed step);
 * outside it returns WSRL_ERR_WRONG_STATE. On any failure the caller's
 * output buffers are left untouched.
 */
#ifndef WSRL_ENV_H
#define WSRL_ENV_H

#include <stdint.h>
#include "export.h"
#include "status.h"

WSRL_BEGIN_DECLS

/** @brief Opaque environment handle. */
typedef struct wsrl_env wsrl_env_t;

/**
 * @brief Start an episode from @p seed (all randomness of the episode's
 * initial state should come from it): write obs_dim floats to @p obs_out.
 * @param[in]  user     the pointer given to wsrl_env_create().
 * @param[in]  seed     the episode's seed.
 * @param[out] obs_out  obs_dim floats, library-owned, valid during the call.
 * @return 0 on success, any other value on failure (kept by
 *         wsrl_env_last_callback_code()).
 */
typedef int32_t (*wsrl_env_reset_fn)(void *user, uint64_t seed, float *obs_out);

/**
 * @brief Apply @p action and write the next observation, the reward and the
 * two end flags.
 * @param[in]  user            the pointer given to wsrl_env_create().
 * @param[in]  action          act_dim floats, already within [low, high].
 * @param[out] obs_out         obs_dim floats of the next observation.
 * @param[out] reward_out      the step's reward (finite).
 * @param[out] terminated_out  1 for a true terminal state (the TD target
 *                             does not bootstrap), else 0.
 * @param[out] truncated_out   1 when the host cut the episode (e.g. its own
 *                             time limit; the target bootstraps), else 0.
 * @return 0 on success, any other value on failure (kept by
 *         wsrl_env_last_callback_code()).
 */
typedef int32_t (*wsrl_env_step_fn)(void *user, const float *action, float *obs_out, float *reward_out,
                                    int32_t *terminated_out, int32_t *truncated_out);

/**
 * @brief Optional: release the host's resources; called once by wsrl_env_destroy().
 * @param[in] user  the pointer given to wsrl_env_create().
 */
typedef void (*wsrl_env_close_fn)(void *user);

/** @brief Callback table. reset and step are required, close is optional. */
typedef struct wsrl_env_callbacks {
  uint32_t struct_size;    /**< sizeof(wsrl_env_callbacks_t) as the host compiled it */
  wsrl_env_reset_fn reset; /**< required: start an episode */
  wsrl_env_step_fn step;   /**< required: advance one step */
  wsrl_env_close_fn close; /**< optional (NULL): release the host's resources */
} wsrl_env_callbacks_t;

/** Static initialiser: this header's struct_size, every callback NULL. */
#define WSRL_ENV_CALLBACKS_INIT {(uint32_t)sizeof(wsrl_env_callbacks_t), 0, 0, 0}

/** @brief Sizes and bounds of an environment. The arrays are copied at create. */
typedef struct wsrl_env_spec {
  uint32_t struct_size;        /**< sizeof(wsrl_env_spec_t) as the host compiled it */
  int32_t obs_dim;             /**< observation length, in [1, 2^24] */
  int32_t act_dim;             /**< action length, in [1, 2^24] */
  const float *action_low;     /**< act_dim lower bounds; NULL means -1 */
  const float *action_high;    /**< act_dim upper bounds (> low); NULL means +1 */
  int64_t max_episode_steps;   /**< truncate after this many steps; 0 = never */
} wsrl_env_spec_t;

/** Static initialiser: this header's struct_size, sizes 0, bounds NULL, no time limit. */
#define WSRL_ENV_SPEC_INIT {(uint32_t)sizeof(wsrl_env_spec_t), 0, 0, 0, 0, 0}

/**
 * @brief Initialise @p callbacks like WSRL_ENV_CALLBACKS_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] callbacks the struct to fill.
 * @param[in]  struct_size sizeof(*callbacks) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p callbacks is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_env_callbacks_init(wsrl_env_callbacks_t *callbacks, uint32_t struct_size);
/**
 * @brief Initialise @p spec like WSRL_ENV_SPEC_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] spec the struct to fill.
 * @param[in]  struct_size sizeof(*spec) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p spec is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_env_spec_init(wsrl_env_spec_t *spec, uint32_t struct_size);

/**
 * @brief Create an environment from a spec, callbacks and a user pointer.
 *
 * Both structs may come from an older header with a smaller struct_size:
 * fields past it count as absent (NULL callbacks, NULL bounds, no time
 * limit); obs_dim, act_dim, reset and step are required.
 * @param[out] env_out    the new env (NULL on failure).
 * @param[in]  spec       sizes and bounds; copied.
 * @param[in]  callbacks  the host's callbacks; copied.
 * @param[in]  user       passed first to every callback.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT naming the bad field (sizes,
 *         bounds not finite or low >= high, missing reset/step, a
 *         struct_size of 0); WSRL_ERR_VERSION_MISMATCH for a struct_size
 *         larger than this library knows (the message names both sizes);
 *         WSRL_ERR_OUT_OF_MEMORY. No callback runs.
 * @ownership the caller destroys it with wsrl_env_destroy(); @p user stays
 * the host's and must outlive the env.
 * @nullable @p user.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_env_create(wsrl_env_t **env_out, const wsrl_env_spec_t *spec,
                                       const wsrl_env_callbacks_t *callbacks, void *user);

/**
 * @brief Call close (if set) and free the env; NULL is ignored.
 *
 * Called from inside one of the env's own callbacks it does nothing (and
 * logs an error). A session or loop using the env must be done with it.
 * @param[in] env  the env, or NULL.
 * @ownership frees @p env.
 * @nullable @p env.
 * @threadsafety not concurrently with other calls on @p env.
 */
WSRL_API void wsrl_env_destroy(wsrl_env_t *env);

/**
 * @brief Copy the env's spec into @p spec_out (whose struct_size the caller
 * set; only the fields inside it are written).
 *
 * action_low/high point into the env and live as long as it.
 * @param[in]     env       the env.
 * @param[in,out] spec_out  struct_size set by the caller (WSRL_ENV_SPEC_INIT);
 *                          the fields it covers are filled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer or a
 *         struct_size below 4; WSRL_ERR_VERSION_MISMATCH for a struct_size
 *         larger than this library's.
 * @ownership the bounds stay the env's.
 * @nullable none.
 * @threadsafety any thread (no flag), not concurrently with wsrl_env_destroy().
 */
WSRL_API wsrl_status_t wsrl_env_get_spec(const wsrl_env_t *env, wsrl_env_spec_t *spec_out);

/**
 * @brief Reset through the callback and validate the observation.
 * @param[in]  env      the env.
 * @param[in]  seed     passed to the reset callback.
 * @param[out] obs_out  obs_dim floats, written only on success.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer;
 *         WSRL_ERR_ENV_CALLBACK (the callback returned non-zero: its code is
 *         kept, its message appended); WSRL_ERR_NON_FINITE (a NaN/inf entry,
 *         or one the callback did not write); WSRL_ERR_WRONG_STATE
 *         (re-entered from a callback); WSRL_ERR_BUSY (another thread is in a
 *         call on @p env).
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per env (others get WSRL_ERR_BUSY).
 */
WSRL_API wsrl_status_t wsrl_env_reset(wsrl_env_t *env, uint64_t seed, float *obs_out);

/**
 * @brief Step with a normalised action in [-1, 1] (clipped, then scaled to
 * [low, high]), apply the time limit and validate the outputs.
 * @param[in]  env             the env.
 * @param[in]  action_unit     act_dim floats in [-1, 1] (clipped to it).
 * @param[out] obs_out         obs_dim floats of the next observation.
 * @param[out] reward_out      the reward.
 * @param[out] terminated_out  1 at a terminal state, else 0.
 * @param[out] truncated_out   1 when the host truncated or when this step
 *                             reached max_episode_steps, else 0.
 * @return as wsrl_env_reset(); WSRL_ERR_NON_FINITE also for a NaN or
 *         infinite action (the host is not called and the episode goes on);
 *         WSRL_ERR_WRONG_STATE when no episode is running. Outputs are
 *         written only on success.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per env (others get WSRL_ERR_BUSY).
 */
WSRL_API wsrl_status_t wsrl_env_step(wsrl_env_t *env, const float *action_unit, float *obs_out,
                                     float *reward_out, int32_t *terminated_out, int32_t *truncated_out);

/**
 * @brief The code the last failing callback of @p env returned.
 * @param[in] env  the env, or NULL.
 * @return the non-zero code, 0 if none has failed yet (later successes do not
 *         clear it) or if @p env is NULL.
 * @ownership none.
 * @nullable @p env (gives 0).
 * @threadsafety not flagged: read it on the thread that stepped.
 */
WSRL_API int32_t wsrl_env_last_callback_code(const wsrl_env_t *env);

/**
 * @brief Called by a host callback before it returns non-zero: the message
 * becomes part of the error message the library reports.
 *
 * It is cleared before every callback call, so it never leaks into a later
 * failure.
 * @param[in] message  the reason, copied and truncated to 255 bytes (never
 *                     inside a UTF-8 sequence); NULL clears it.
 * @ownership copied.
 * @nullable @p message (clears it).
 * @threadsafety per thread (the callback runs on the calling thread).
 */
WSRL_API void wsrl_set_callback_error(const char *message);

WSRL_END_DECLS

#endif /* WSRL_ENV_H */
