/**
 * @file wsrl/train.h
 * @brief Training loops: offline pretraining, WSRL fine-tuning (library-owned
 * or host-owned), deterministic evaluation, and resumable fine-tuning state.
 *
 * The WSRL recipe (ALGORITHMS.md §5, docs/training.md):
 *   1. wsrl_pretrain(): offline updates of a CQL / Cal-QL / IQL agent on a
 *      dataset buffer;
 *   2. wsrl_session_create(): the fine-tuning session. It switches the agent
 *      to its online learner at once (the SAC ensemble unless
 *      `finetune.online_algorithm = same`) and keeps an online replay buffer
 *      that starts EMPTY;
 *   3. warmup: the first K = `finetune.warmup_steps` transitions come from
 *      the pretrained policy's stochastic samples and no update runs;
 *   4. online: every further transition makes one high-UTD update due
 *      (`update.utd` critic steps on a batch of utd * `update.batch_size` rows).
 * wsrl_finetune() runs that loop against a wsrl_env_t; a host that owns its
 * control loop (a robot) calls wsrl_session_observe() after each step and
 * wsrl_session_train() whenever it wants the due updates to run.
 *
 * The baselines of ALGORITHMS.md §6 are configurations of the same session
 * (`finetune.warmup_steps`, `finetune.offline_data`, `finetune.offline_ratio`,
 * `finetune.online_algorithm`, `agent.algorithm`); docs/training.md lists them.
 *
 * Progress. Loops call an optional wsrl_progress_fn with name/value pairs:
 * every `log.interval` updates (pretraining) or environment steps
 * (fine-tuning), and after every evaluation ("eval/return_mean", ...). A
 * non-zero return asks for a clean stop: the loop finishes the step it is in
 * and returns WSRL_ERR_CANCELLED with everything learned kept; calling it
 * again continues where it stopped.
 *
 * Threading (docs/threading.md): a session's act, observe, train and load
 * and wsrl_finetune() are writers on the session (all but observe also on
 * its agent): one at a time, an overlapping call gets WSRL_ERR_BUSY; info,
 * phase and save are readers. Policy snapshots (wsrl/policy.h) act beside
 * training. Callbacks run
 * on the calling thread and must not call into the session or agent being
 * trained (such calls return WSRL_ERR_WRONG_STATE where detected).
 */
#ifndef WSRL_TRAIN_H
#define WSRL_TRAIN_H

#include <stdint.h>
#include "agent.h"
#include "config.h"
#include "env.h"
#include "export.h"
#include "replay.h"
#include "status.h"

WSRL_BEGIN_DECLS

/**
 * @brief Progress callback of the training loops.
 *
 * The arrays are valid only during the call.
 * @param[in] user    the pointer given to the loop.
 * @param[in] step    agent updates so far (pretraining) or environment steps
 *                    observed by the session (fine-tuning).
 * @param[in] n       number of name/value pairs.
 * @param[in] names   static metric names, e.g. "critic_loss", "eval/return_mean".
 * @param[in] values  their values (NaN when not available yet).
 * @return 0 to continue, non-zero to stop cleanly (WSRL_ERR_CANCELLED).
 */
typedef int32_t (*wsrl_progress_fn)(void *user, int64_t step, int32_t n, const char *const *names,
                                    const double *values);

/* ------------------------------------------------------------ pretraining */

/**
 * @brief Offline training: @p steps updates of @p agent on batches sampled
 * uniformly from @p dataset with the agent's current loss (the pretraining
 * loss while offline). Batches carry the MC return-to-go, so Cal-QL works on
 * any buffer. Sampling draws from the agent's loop RNG stream (saved in its
 * checkpoints), not from the dataset's own RNG, so pretrain(a) then
 * pretrain(b) equals pretrain(a + b) and a saved agent resumes bitwise.
 * Progress every `log.interval` updates: "updates" then the agent's metrics.
 * The dataset's discount, reward transform and sparse rule must agree with
 * the agent's config (`td.discount`, `replay.reward_scale`,
 * `replay.reward_bias`, `replay.mc_sparse`, `replay.mc_sparse_reward`):
 * create it with wsrl_replay_options_from_config(). A difference is refused,
 * or only logged as a warning under `replay.mismatch = warn`.
 * @param[in,out] agent   the learner (its config decides the checks).
 * @param[in,out] dataset the offline data (its sampling advances the
 *                        agent's loop RNG, not the dataset's).
 * @param[in] steps  updates to run now, >= 0.
 * @param[in] progress optional callback, every `log.interval` updates.
 * @param[in] user   passed to @p progress.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, steps < 0, dataset
 *         dimensions differ from the agent's, the dataset disagrees with
 *         the agent's config naming each field); WSRL_ERR_WRONG_STATE (empty
 *         dataset);
 *         WSRL_ERR_CANCELLED (progress returned non-zero; the updates done
 *         are kept); WSRL_ERR_OUT_OF_MEMORY (the batch, allocated once per
 *         call); WSRL_ERR_BACKEND; WSRL_ERR_BUSY (another thread is in a
 *         call on the agent or writing the dataset).
 * @ownership all borrowed.
 * @nullable @p progress, @p user.
 * @threadsafety a writer on the agent and the dataset for the whole run.
 */
WSRL_API wsrl_status_t wsrl_pretrain(wsrl_agent_t *agent, wsrl_replay_t *dataset, int64_t steps,
                                     wsrl_progress_fn progress, void *user);

/* ------------------------------------------------------------- evaluation */

/**
 * @brief Result of wsrl_evaluate(). The caller sets struct_size
 * (WSRL_EVAL_RESULT_INIT or wsrl_eval_result_init()); the library fills the
 * fields that fit.
 */
typedef struct wsrl_eval_result {
  uint32_t struct_size;     /**< sizeof the host's struct (set by the init) */
  int32_t episodes;         /**< episodes run */
  double return_mean;       /**< mean undiscounted return */
  double return_std;        /**< population standard deviation of the returns */
  double return_min;        /**< lowest episode return */
  double return_max;        /**< highest episode return */
  double length_mean;       /**< mean episode length in steps */
  int64_t nonfinite_skips;  /**< episodes cut by a non-finite env output (env.nonfinite = skip_reset) */
} wsrl_eval_result_t;

/** Static initialiser: this header's struct_size, every field 0. */
#define WSRL_EVAL_RESULT_INIT {(uint32_t)sizeof(wsrl_eval_result_t), 0, 0, 0, 0, 0, 0, 0}

/**
 * @brief Initialise @p result like WSRL_EVAL_RESULT_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] result the struct to fill.
 * @param[in]  struct_size sizeof(*result) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p result is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_eval_result_init(wsrl_eval_result_t *result, uint32_t struct_size);

/**
 * @brief Run @p episodes episodes with the deterministic policy (tanh(mean))
 * and report their returns. Episode i resets with seed @p seed + i, so equal
 * seeds give equal episodes. Episodes end when the env terminates or
 * truncates (its max_episode_steps): an env that never ends an episode never
 * returns. Non-finite env outputs follow the agent's `env.nonfinite`: error
 * stops; skip_reset ends that episode there (counted in nonfinite_skips).
 * Draws nothing from the agent's RNG streams.
 * @param[in,out] agent     the agent (its deterministic policy acts).
 * @param[in,out] env       the env to run.
 * @param[in]  episodes  >= 1.
 * @param[in]  seed      episode i resets with @p seed + i.
 * @param[out] result_out filled up to its struct_size.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, episodes < 1, env and
 *         agent sizes differ); WSRL_ERR_VERSION_MISMATCH (struct_size too
 *         large); WSRL_ERR_ENV_CALLBACK; WSRL_ERR_NON_FINITE;
 *         WSRL_ERR_WRONG_STATE (re-entered); WSRL_ERR_OUT_OF_MEMORY;
 *         WSRL_ERR_BACKEND; WSRL_ERR_BUSY. On error @p result_out is not
 *         written.
 * @ownership borrowed.
 * @nullable none.
 * @threadsafety a writer on the agent and the env for the whole run.
 */
WSRL_API wsrl_status_t wsrl_evaluate(wsrl_agent_t *agent, wsrl_env_t *env, int32_t episodes, uint64_t seed,
                                     wsrl_eval_result_t *result_out);

/* ------------------------------------------------------ fine-tuning session */

/** @brief Opaque fine-tuning session (online buffer + phase machine). */
typedef struct wsrl_session wsrl_session_t;

/** @brief Phase of a session. */
typedef enum wsrl_session_phase {
  WSRL_SESSION_WARMUP = 0, /**< fewer than K transitions observed: no update is due */
  WSRL_SESSION_ONLINE = 1  /**< every further transition makes one update due */
} wsrl_session_phase_t;

/**
 * @brief Options of wsrl_session_create(). Starts with its own size: fill it
 * with WSRL_SESSION_OPTIONS_INIT or wsrl_session_options_init(). Every field
 * defaults to zero / NULL; fields past an older caller's struct_size take
 * those defaults. There is no config here: one config per agent and session,
 * the session reads the keys finetune.*, replay.*, env.nonfinite, eval.* and
 * log.* from its agent's (set them before wsrl_agent_create(); an agent from
 * a checkpoint has the checkpoint's).
 */
typedef struct wsrl_session_options {
  uint32_t struct_size; /**< sizeof the host's struct (set by the init) */
  /** Offline dataset for `finetune.offline_data` = mixed or append
   *  (borrowed; with mixed it must outlive the session); ignored with none.
   *  Its discount, reward transform and sparse rule must agree with the
   *  agent's config (`replay.mismatch`). */
  wsrl_replay_t *offline;
  /** Episode length for Cal-QL's start rule, >= 0; 0 = unknown
   *  (wsrl_finetune() then takes its env's max_episode_steps). */
  int64_t max_episode_steps;
} wsrl_session_options_t;

/** Static initialiser: this header's struct_size, every field 0 / NULL. */
#define WSRL_SESSION_OPTIONS_INIT {(uint32_t)sizeof(wsrl_session_options_t), NULL, 0}

/**
 * @brief State of a session. The caller sets struct_size
 * (WSRL_SESSION_INFO_INIT or wsrl_session_info_init()); the library fills
 * the fields that fit.
 */
typedef struct wsrl_session_info {
  uint32_t struct_size;         /**< sizeof the host's struct (set by the init) */
  int32_t phase;                /**< a wsrl_session_phase_t */
  int64_t env_steps;            /**< transitions observed (skipped steps excluded) */
  int64_t warmup_steps;         /**< K */
  int64_t warmup_done;          /**< min(env_steps, K) */
  int64_t start_updates_after;  /**< online transitions needed before the first update (resolved) */
  int64_t updates_due;          /**< due and not yet run */
  int64_t updates_done;         /**< run by wsrl_session_train() */
  int64_t buffer_size;          /**< transitions in the online buffer (append: dataset included) */
  int64_t episodes;             /**< episodes ended (terminated or truncated) */
  double last_episode_return;   /**< raw return of the last ended episode (NaN: none yet) */
  int64_t last_episode_length;  /**< steps of the last ended episode (0: none yet) */
  int64_t nonfinite_skips;      /**< steps dropped under env.nonfinite = skip_reset (wsrl_finetune) */
  int64_t evaluations;          /**< evaluations run by wsrl_finetune() */
  int64_t last_eval_step;       /**< env_steps at the last evaluation (-1: none) */
  double last_eval_return;      /**< its mean return (NaN: none) */
} wsrl_session_info_t;

/** Static initialiser: this header's struct_size, every field 0. */
#define WSRL_SESSION_INFO_INIT {(uint32_t)sizeof(wsrl_session_info_t), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** @brief Flags of wsrl_session_save(). */
typedef enum wsrl_session_save_flags {
  WSRL_SESSION_SAVE_DEFAULT = 0, /**< agent and session counters */
  WSRL_SESSION_SAVE_REPLAY = 1   /**< also the online buffer (needed to resume bitwise) */
} wsrl_session_save_flags_t;

/**
 * @brief Initialise @p options like WSRL_SESSION_OPTIONS_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] options the struct to fill.
 * @param[in]  struct_size sizeof(*options) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p options is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_session_options_init(wsrl_session_options_t *options, uint32_t struct_size);

/**
 * @brief Initialise @p info like WSRL_SESSION_INFO_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] info the struct to fill.
 * @param[in]  struct_size sizeof(*info) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p info is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_session_info_init(wsrl_session_info_t *info, uint32_t struct_size);

/**
 * @brief Start fine-tuning @p agent: allocate the online buffer
 * (`replay.capacity` transitions, rewards transformed by
 * `replay.reward_scale`/`reward_bias`, actions clipped to
 * `replay.clip_action`; with append also room for the dataset, which is
 * copied in now) and the batch arrays, then switch the agent to its online
 * learner (wsrl_agent_switch_online()). The switch happens here, at the
 * start of the warmup, so the warmup samples the pretrained policy (the
 * networks do not change at the switch) and every later update uses the
 * online loss. Seeds of the buffer sampling and env resets are drawn from
 * the agent's loop RNG stream.
 * Start rule (`finetune.start_rule`, docs/training.md): by default
 * (`reference`) no update is due until the buffer holds more than max(K,
 * online rows of an update) transitions, and also max_episode_steps for an
 * agent of algorithm calql kept online (`finetune.online_algorithm = same`),
 * whose online rows then come from completed episodes only
 * (`calql.online_completed_episodes`); `warmup` starts right after K (Cal-QL
 * kept online: max(batch rows, max_episode_steps)). A positive
 * `finetune.start_updates_after` is used as given instead.
 * @param[out] session_out the new session (NULL on failure).
 * @param[in,out] agent  switched online; the session holds a reference, so
 *                     the agent lives until both are destroyed.
 * @param[in]  options NULL: all defaults.
 * The online buffer's options come from the agent's config
 * (wsrl_replay_options_from_config()); a dataset for mixed or append must
 * agree with it as for wsrl_pretrain() (`replay.mismatch`).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT naming the field (NULL agent,
 *         mixed/append without options->offline, dataset sizes differ, the
 *         dataset disagrees with the agent's config, replay.* keys that give
 *         invalid buffer options); WSRL_ERR_VERSION_MISMATCH
 *         (struct_size too large); WSRL_ERR_WRONG_STATE (empty dataset for
 *         mixed/append); WSRL_ERR_OUT_OF_MEMORY; WSRL_ERR_BUSY. On error
 *         the agent is unchanged.
 * @ownership the caller destroys it with wsrl_session_destroy(); the session
 *            holds references to the agent and the offline dataset, so any
 *            destroy order is safe.
 * @nullable @p options.
 * @threadsafety a writer on the agent.
 */
WSRL_API wsrl_status_t wsrl_session_create(wsrl_session_t **session_out, wsrl_agent_t *agent,
                                           const wsrl_session_options_t *options);

/**
 * @brief Free a session and drop its references to the agent and the
 * offline dataset (each is freed when its last holder lets go); NULL is ignored.
 * @param[in] session  the session, or NULL.
 * @ownership @p session is invalid afterwards.
 * @nullable @p session.
 * @threadsafety no other call on @p session at the same time.
 */
WSRL_API void wsrl_session_destroy(wsrl_session_t *session);

/**
 * @brief The session's agent (borrowed).
 * @param[in] session  the session.
 * @return the agent, valid while the session lives; NULL (with an error
 *         message) when @p session is NULL.
 * @ownership borrowed: never destroy it through this pointer (the caller's
 *            own handle from wsrl_agent_create() is still theirs to destroy).
 * @nullable none.
 * @threadsafety any thread (no flag).
 */
WSRL_API wsrl_agent_t *wsrl_session_agent(const wsrl_session_t *session);

/**
 * @brief The online buffer, read-only (wsrl_replay_size(), wsrl_replay_get()).
 * @param[in] session  the session.
 * @return the buffer, valid while the session lives; NULL (with an error
 *         message) when @p session is NULL.
 * @ownership the session's; never destroy it.
 * @nullable none.
 * @threadsafety any thread (no flag); its readers share the buffer's flag
 * with the session's writers.
 */
WSRL_API const wsrl_replay_t *wsrl_session_replay(const wsrl_session_t *session);

/**
 * @brief A stochastic action of the agent's policy for one observation, in
 * the environment's [low, high] (what the warmup and online phases both use;
 * equivalent to wsrl_agent_act() with WSRL_ACT_STOCHASTIC).
 * @param[in,out] session     the session (the agent's act RNG advances).
 * @param[in]     obs         obs_dim finite floats.
 * @param[out]    action_out  act_dim floats in [low, high].
 * @return as wsrl_agent_act(); WSRL_ERR_WRONG_STATE while a loop runs.
 * @ownership buffers stay the caller's.
 * @nullable none.
 * @threadsafety a writer on the session and its agent.
 */
WSRL_API wsrl_status_t wsrl_session_act(wsrl_session_t *session, const float *obs, float *action_out);

/**
 * @brief Record one environment transition in the online buffer and advance
 * the phase machine. Transition number n (1-based) makes one update due
 * when n > K and n >= the start rule's threshold.
 * @param[in,out] session the session.
 * @param[in] obs         obs_dim floats: the observation the action was taken in.
 * @param[in] action      act_dim values in the environment's [low, high]
 *                        (as wsrl_agent_act() returns them; converted to
 *                        [-1, 1] with the agent's bounds and clipped).
 * @param[in] reward      raw reward (the buffer transforms it).
 * @param[in] next_obs    obs_dim floats: the observation after the step.
 * @param[in] terminated  non-zero for a true terminal state (no bootstrap).
 * @param[in] truncated   non-zero when the episode was cut (time limit).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL); WSRL_ERR_NON_FINITE
 *         naming the array (nothing stored, nothing counted);
 *         WSRL_ERR_WRONG_STATE while a loop runs; WSRL_ERR_BUSY.
 * @ownership arrays are copied.
 * @nullable none.
 * @threadsafety a writer on the session.
 */
WSRL_API wsrl_status_t wsrl_session_observe(wsrl_session_t *session, const float *obs, const float *action,
                                            float reward, const float *next_obs, int32_t terminated,
                                            int32_t truncated);

/**
 * @brief Run up to @p max_updates of the updates that are due, each on a
 * fresh batch from the online buffer (or mixed with the dataset).
 * @param[in,out] session   the session.
 * @param[in]  max_updates  < 0: all due; 0: none.
 * @param[out] done_out     updates run by this call (also on error).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL); WSRL_ERR_WRONG_STATE
 *         (re-entered); WSRL_ERR_BACKEND; WSRL_ERR_BUSY; statuses of
 *         wsrl_agent_update().
 * @ownership none.
 * @nullable @p done_out.
 * @threadsafety a writer on the session and its agent (a reader on the dataset).
 */
WSRL_API wsrl_status_t wsrl_session_train(wsrl_session_t *session, int64_t max_updates, int64_t *done_out);

/**
 * @brief Phase of a session.
 * @param[in]  session    the session.
 * @param[out] phase_out  a wsrl_session_phase_t.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_session_phase(const wsrl_session_t *session, int32_t *phase_out);

/**
 * @brief Updates due and not yet run.
 * @param[in]  session  the session.
 * @param[out] due_out  the count.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_session_updates_due(const wsrl_session_t *session, int64_t *due_out);

/**
 * @brief Fill the fields of @p info_out that fit in its struct_size.
 * @param[in]     session   the session.
 * @param[in,out] info_out  struct_size set by the caller (WSRL_SESSION_INFO_INIT).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, struct_size
 *         below 4); WSRL_ERR_VERSION_MISMATCH (struct_size too large);
 *         WSRL_ERR_BUSY (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_session_info(const wsrl_session_t *session, wsrl_session_info_t *info_out);

/**
 * @brief Library-owned fine-tuning loop: @p steps environment steps of the
 * session's agent in @p env. Each step: reset when no episode runs (seed
 * from the session's RNG), sample an action, wsrl_env step (action scaling,
 * time limit, `env.nonfinite`), observe, run the due update (none during
 * the warmup, one per step after it). Evaluates on @p eval_env with the
 * deterministic policy (`eval.episodes` episodes, the same reset seeds every
 * time) before the first step of a new session (the pretrained policy at
 * the switch), every `eval.interval` env steps and after the last step;
 * each evaluation is reported through @p progress as "env_steps",
 * "eval/return_mean", "eval/return_std", "eval/return_min",
 * "eval/return_max", "eval/length_mean". Every `log.interval` env steps the
 * progress gets "env_steps", "phase", "updates", "buffer_size",
 * "episode/count", "episode/return", "episode/length", "env/nonfinite_skips"
 * and the agent's metrics (critic_loss, q_mean, temperature, ...).
 * A running episode continues across calls (when the env was not used in
 * between); a failed call ends it.
 * @param[in,out] session   the session.
 * @param[in,out] env       the env to train in.
 * @param[in,out] eval_env  a separate env for evaluation, or NULL for none.
 * @param[in] steps     environment steps to take now, >= 0 (skipped steps count).
 * @param[in] progress  optional callback (see above).
 * @param[in] user      passed to @p progress.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, steps < 0, eval_env ==
 *         env, sizes differ); WSRL_ERR_ENV_CALLBACK (the env's message and
 *         code kept; wsrl_env_last_callback_code()); WSRL_ERR_NON_FINITE
 *         (env.nonfinite = error); WSRL_ERR_CANCELLED; WSRL_ERR_WRONG_STATE
 *         (re-entered); WSRL_ERR_BACKEND. On every error the counters, the
 *         buffer and the agent keep everything done before it, and a later
 *         call continues. WSRL_ERR_BUSY when another thread is in a call
 *         on the session, its agent or an env.
 * @ownership borrowed.
 * @nullable @p eval_env, @p progress, @p user.
 * @threadsafety a writer on the session, its agent and both envs for the whole run.
 */
WSRL_API wsrl_status_t wsrl_finetune(wsrl_session_t *session, wsrl_env_t *env, wsrl_env_t *eval_env, int64_t steps,
                                     wsrl_progress_fn progress, void *user);

/**
 * @brief Save the agent and the session's state (counters, RNG streams,
 * episode statistics, and with WSRL_SESSION_SAVE_REPLAY the online buffer)
 * to one file (docs/checkpoints.md), atomically (temporary file, fsync,
 * rename).
 * @param[in] session  the session.
 * @param[in] path     the file to create or replace.
 * @param[in] flags    wsrl_session_save_flags_t values.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, unknown
 *         flags); WSRL_ERR_IO naming the file (the previous file is kept);
 *         WSRL_ERR_WRONG_STATE (re-entered); WSRL_ERR_OUT_OF_MEMORY;
 *         WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader on the session and its agent.
 */
WSRL_API wsrl_status_t wsrl_session_save(const wsrl_session_t *session, const char *path, int32_t flags);

/**
 * @brief Restore a file written by wsrl_session_save() into a session
 * created for a compatible agent and options. Everything is validated
 * before anything changes (agent sections, session state, buffer). Without
 * a saved buffer the online buffer restarts empty (with append: the dataset
 * only) and pending updates are dropped. An episode left open in the buffer
 * is closed as truncated: the next step starts a new episode.
 * @param[in,out] session  the session (and its agent) to restore.
 * @param[in]     path     a file written by wsrl_session_save().
 * @return WSRL_OK; WSRL_ERR_IO; WSRL_ERR_CORRUPT naming the section;
 *         WSRL_ERR_VERSION_MISMATCH; WSRL_ERR_INVALID_ARGUMENT (an
 *         incompatible agent or sizes, naming the field); WSRL_ERR_NON_FINITE;
 *         WSRL_ERR_WRONG_STATE (re-entered); WSRL_ERR_OUT_OF_MEMORY;
 *         WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer on the session and its agent.
 */
WSRL_API wsrl_status_t wsrl_session_load(wsrl_session_t *session, const char *path);

WSRL_END_DECLS

#endif /* WSRL_TRAIN_H */
