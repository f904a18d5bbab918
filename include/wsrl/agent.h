/**
 * @file wsrl/agent.h
 * @brief The learning agent: SAC-ensemble, CQL, Cal-QL and IQL behind one handle.
 *
 * An agent owns an actor (tanh-Gaussian, or Gaussian for IQL), an ensemble of
 * E critics with Polyak targets, the SAC temperature, the CQL Lagrange
 * multiplier, IQL's value network or TD3+BC's target actor, every Adam
 * state, and its own RNG streams. It is created from a config
 * (`agent.algorithm` = sac | cql | calql | iql | td3bc plus the keys of
 * docs/config.md) and an environment spec
 * (sizes and action bounds); everything it needs is allocated there, so
 * wsrl_agent_act() and wsrl_agent_update() never allocate (oneDNN's own
 * internal allocations aside) and are safe in a control loop.
 *
 * Phases. An agent starts in the OFFLINE phase, training with its
 * algorithm's loss (an agent created with `agent.algorithm = sac` starts
 * ONLINE). wsrl_agent_switch_online() turns it into the online fine-tuner
 * with the same networks: the SAC-ensemble learner of WSRL
 * (`finetune.online_algorithm = sac`, the CQL regulariser off) or the same
 * loss kept online (`same`, the CQL/Cal-QL/IQL baselines; TD3+BC always
 * stays itself). See docs/algorithms.md.
 *
 * Units. Networks work on actions in [-1, 1] ("unit" actions, the replay
 * buffer's units). wsrl_agent_act() returns actions in the environment's
 * [low, high] unless WSRL_ACT_UNIT is given; batches given to
 * wsrl_agent_update() hold unit actions unless their `action_scaled` field
 * says they are in [low, high].
 *
 * Threading (docs/threading.md): each call is a writer (act, update, load,
 * ...: one at a time) or a reader (save, counters, metrics: any number at
 * once, never beside a writer); an overlapping call gets WSRL_ERR_BUSY.
 * Each function's Thread-safety section says which. Distinct agents run in
 * parallel. The Q-ensemble lent by wsrl_agent_qensemble() shares the
 * agent's workspace and flag.
 */
#ifndef WSRL_AGENT_H
#define WSRL_AGENT_H

#include <stdint.h>
#include "config.h"
#include "env.h"
#include "export.h"
#include "qensemble.h"
#include "status.h"

WSRL_BEGIN_DECLS

/** @brief Opaque agent. */
typedef struct wsrl_agent wsrl_agent_t;

/** @brief Flags of wsrl_agent_act(), combined with bitwise or. */
typedef enum wsrl_act_flags {
  WSRL_ACT_STOCHASTIC = 0,    /**< sample a ~ pi(.|s) (the default) */
  WSRL_ACT_DETERMINISTIC = 1, /**< the mode: tanh(mean), or the mean without tanh */
  WSRL_ACT_UNIT = 2           /**< return actions in [-1, 1] instead of [low, high] */
} wsrl_act_flags_t;

/** @brief Training phase of an agent. */
typedef enum wsrl_agent_phase {
  WSRL_AGENT_OFFLINE = 0, /**< pretraining with the algorithm's own loss */
  WSRL_AGENT_ONLINE = 1   /**< after wsrl_agent_switch_online() (or an algorithm = sac agent) */
} wsrl_agent_phase_t;

/**
 * @brief Learning algorithm of an agent: the config key `agent.algorithm`
 * (sac | cql | calql | iql | td3bc). Passed as an int32_t (wsrl_agent_info()).
 */
typedef enum wsrl_algorithm {
  WSRL_ALGORITHM_SAC = 0,   /**< SAC with a REDQ-style critic ensemble (WSRL's online learner) */
  WSRL_ALGORITHM_CQL = 1,   /**< Conservative Q-Learning */
  WSRL_ALGORITHM_CALQL = 2, /**< Calibrated Q-Learning (CQL with the Monte-Carlo lower bound) */
  WSRL_ALGORITHM_IQL = 3,   /**< Implicit Q-Learning (expectile value network, AWR actor) */
  WSRL_ALGORITHM_TD3BC = 4  /**< TD3+BC (deterministic actor, target actor, BC-regularised actor loss) */
} wsrl_algorithm_t;

/**
 * @brief The networks (and learned scalars) of an agent, for
 * wsrl_agent_param_count(), wsrl_agent_get_params() and
 * wsrl_agent_set_params(). Passed as an int32_t. See "Parameter vectors"
 * below for each one's flat layout.
 */
typedef enum wsrl_net {
  WSRL_NET_ACTOR = 0,          /**< the policy (every agent) */
  WSRL_NET_CRITICS = 1,        /**< the E online critics Q_i (every agent) */
  WSRL_NET_TARGET_CRITICS = 2, /**< their Polyak targets Q'_i (every agent) */
  WSRL_NET_VALUE = 3,          /**< IQL's V(s) (agent.algorithm = iql only) */
  WSRL_NET_TEMPERATURE = 4,    /**< SAC temperature: agents whose offline or online learner is sac, cql or calql */
  WSRL_NET_LAGRANGE = 5,       /**< CQL/Cal-QL Lagrange multiplier (cql.autotune_alpha = true only) */
  WSRL_NET_TARGET_ACTOR = 6    /**< TD3+BC's Polyak target actor pi' (agent.algorithm = td3bc only) */
} wsrl_net_t;

/**
 * @brief A batch of transitions given to wsrl_agent_update(). Arrays are
 * row-major and borrowed for the duration of the call. Starts with its own
 * size for ABI growth: fill it with WSRL_BATCH_INIT or wsrl_batch_init().
 */
typedef struct wsrl_batch {
  uint32_t struct_size;      /**< sizeof(wsrl_batch_t) as the host compiled it */
  int32_t action_scaled;     /**< 0: actions in [-1, 1]; 1: in the env's [low, high] (converted and clipped) */
  int64_t size;              /**< rows; must equal wsrl_agent_batch_rows() */
  const float *obs;          /**< [size, obs_dim] */
  const float *action;       /**< [size, act_dim] */
  const float *reward;       /**< [size], already transformed (scale/bias) */
  const float *next_obs;     /**< [size, obs_dim] */
  const float *mask;         /**< [size] 1 - terminated (as wsrl_replay_sample() writes); NULL: use terminated */
  const int32_t *terminated; /**< [size] non-zero for a terminal state; used only when mask is NULL */
  const float *mc_return;    /**< [size] Monte-Carlo return-to-go; required while the loss is Cal-QL, else ignored */
} wsrl_batch_t;

/** Static initialiser: this header's struct_size, every field 0 / NULL. */
#define WSRL_BATCH_INIT                                                                                                \
  { (uint32_t)sizeof(wsrl_batch_t), 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * @brief Counters of an agent. The caller sets struct_size
 * (WSRL_AGENT_COUNTERS_INIT or wsrl_agent_counters_init()); the library
 * fills the fields that fit.
 */
typedef struct wsrl_agent_counters {
  uint32_t struct_size;    /**< sizeof the host's struct (set by the init) */
  int32_t phase;           /**< a wsrl_agent_phase_t */
  int64_t updates;         /**< successful wsrl_agent_update() calls, both phases */
  int64_t offline_updates; /**< ... of which before the switch to online */
  int64_t online_updates;  /**< ... of which after it */
  int64_t critic_steps;    /**< critic gradient steps (utd per update) */
  int64_t actor_steps;     /**< actor gradient steps (one per update) */
  int64_t nonfinite_skips; /**< optimizer steps skipped for a NaN/inf gradient (parameters kept) */
  int64_t act_calls;       /**< wsrl_agent_act() calls that sampled (stochastic) */
} wsrl_agent_counters_t;

/** Static initialiser: this header's struct_size, every counter 0. */
#define WSRL_AGENT_COUNTERS_INIT                                                                                       \
  { (uint32_t)sizeof(wsrl_agent_counters_t), 0, 0, 0, 0, 0, 0, 0, 0 }

/**
 * @brief Initialise @p batch like WSRL_BATCH_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] batch the struct to fill.
 * @param[in]  struct_size sizeof(*batch) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p batch is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_batch_init(wsrl_batch_t *batch, uint32_t struct_size);

/**
 * @brief Initialise @p counters like WSRL_AGENT_COUNTERS_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] counters the struct to fill.
 * @param[in]  struct_size sizeof(*counters) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p counters is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_agent_counters_init(wsrl_agent_counters_t *counters, uint32_t struct_size);

/**
 * @brief Create an agent: networks initialised from `agent.seed`, every
 * buffer and oneDNN primitive built for the configured batch shapes.
 * @param[out] agent_out  the new agent (NULL on failure).
 * @param[in]  config     configuration, copied (NULL: the defaults). Its
 *                        per-handle allocator (if any) is used.
 * @param[in]  spec       environment sizes and action bounds (copied; see
 *                        wsrl_env_get_spec() for an existing env).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT naming the bad field or key
 *         (sizes, bounds, critic.subsample > critic.ensemble_size, ...);
 *         WSRL_ERR_VERSION_MISMATCH for a spec struct_size larger than this
 *         library knows; WSRL_ERR_OUT_OF_MEMORY; WSRL_ERR_BACKEND.
 * @ownership the caller destroys it with wsrl_agent_destroy().
 * @nullable @p config.
 * @threadsafety any thread (a reader of @p config).
 */
WSRL_API wsrl_status_t wsrl_agent_create(wsrl_agent_t **agent_out, const wsrl_config_t *config,
                                         const wsrl_env_spec_t *spec);

/**
 * @brief Create an agent from a checkpoint written by wsrl_agent_save(): the
 * file's config, sizes and bounds, then its whole state.
 * @param[out] agent_out  the new agent (NULL on failure).
 * @param[in]  path       a checkpoint file.
 * @param[in]  allocator  per-handle allocator (NULL: the process-wide hooks).
 * @return as wsrl_agent_create() and wsrl_agent_load().
 * @ownership the caller destroys the agent with wsrl_agent_destroy().
 * @nullable @p allocator.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_agent_create_from_checkpoint(wsrl_agent_t **agent_out, const char *path,
                                                         const wsrl_allocator_t *allocator);

/**
 * @brief Drop the caller's reference to an agent; NULL is ignored.
 *
 * A session holds its own reference, so the agent is freed when the last
 * holder lets go (any destroy order is safe). Policy snapshots taken from
 * it stay valid.
 * @param[in] agent  the agent, or NULL.
 * @ownership the caller's handle is invalid afterwards.
 * @nullable @p agent.
 * @threadsafety no other call on @p agent through this handle at the same time.
 */
WSRL_API void wsrl_agent_destroy(wsrl_agent_t *agent);

/**
 * @brief Actions for @p count observations.
 *
 * Stochastic sampling draws from the agent's act RNG stream (saved in
 * checkpoints); deterministic calls draw nothing. Never allocates.
 * @param[in,out] agent    the agent.
 * @param[in]  count       rows, >= 1 (any number; large batches run in chunks).
 * @param[in]  obs         [count, obs_dim].
 * @param[in]  flags       wsrl_act_flags_t values or-ed together.
 * @param[out] action_out  [count, act_dim]: in [low, high], or in [-1, 1]
 *                         with WSRL_ACT_UNIT. A Gaussian (non-tanh) policy's
 *                         samples are clipped to [-1, 1] first.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, count < 1, unknown
 *         flag); WSRL_ERR_NON_FINITE (an observation holds NaN/inf, the
 *         message names the row; or the policy's action overflowed);
 *         WSRL_ERR_BACKEND; WSRL_ERR_BUSY (another thread is in a call on the
 *         agent: act from a wsrl_policy_t instead); WSRL_ERR_WRONG_STATE
 *         (re-entered from a callback, or a forked child with threads > 1).
 * @ownership buffers stay the caller's.
 * @nullable none.
 * @threadsafety a writer: one thread per agent.
 */
WSRL_API wsrl_status_t wsrl_agent_act(wsrl_agent_t *agent, int64_t count, const float *obs, int32_t flags,
                                      float *action_out);

/**
 * @brief Rows an update needs now: utd * update.batch_size in the online phase,
 * update.batch_size in the offline phase (one critic step per pretraining update).
 * @param[in]  agent     the agent.
 * @param[out] rows_out  the rows wsrl_batch_t::size must hold.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_agent_batch_rows(const wsrl_agent_t *agent, int64_t *rows_out);

/**
 * @brief One training update on @p batch with the current phase's loss
 * (docs/algorithms.md): U critic steps on U consecutive minibatches of
 * size/U rows, each followed by a Polyak update, then one actor (and
 * temperature, Lagrange multiplier) step on all rows. Never allocates.
 * A NaN/inf gradient skips that optimizer step (counted in
 * nonfinite_skips), it is not an error.
 * @param[in,out] agent  the agent.
 * @param[in]     batch  rows for this update (struct_size set; arrays borrowed
 *                       for the call).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL field, size differs from
 *         wsrl_agent_batch_rows(), missing mc_return for Cal-QL);
 *         WSRL_ERR_VERSION_MISMATCH (struct_size too large);
 *         WSRL_ERR_NON_FINITE (NaN/inf in the batch, naming the array and row;
 *         nothing changed); WSRL_ERR_BACKEND; WSRL_ERR_BUSY;
 *         WSRL_ERR_WRONG_STATE (re-entered).
 * @ownership arrays stay the caller's.
 * @nullable none (fields as documented).
 * @threadsafety a writer: one thread per agent.
 */
WSRL_API wsrl_status_t wsrl_agent_update(wsrl_agent_t *agent, const wsrl_batch_t *batch);

/**
 * @brief Switch from the offline phase to online fine-tuning, keeping every
 * network: per `finetune.online_algorithm` the SAC-ensemble learner (WSRL)
 * or the pretraining loss itself; Adam moments kept unless
 * `finetune.reset_optimizer`. A no-op returning WSRL_OK when already online.
 * @param[in,out] agent  the agent.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p agent); WSRL_ERR_BUSY;
 *         WSRL_ERR_WRONG_STATE (re-entered).
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per agent.
 */
WSRL_API wsrl_status_t wsrl_agent_switch_online(wsrl_agent_t *agent);

/**
 * @brief Current phase.
 * @param[in]  agent      the agent.
 * @param[out] phase_out  a wsrl_agent_phase_t.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_agent_phase(const wsrl_agent_t *agent, int32_t *phase_out);

/**
 * @brief Fill the counters that fit in @p counters_out->struct_size.
 * @param[in]     agent         the agent.
 * @param[in,out] counters_out  struct_size set by the caller
 *                              (WSRL_AGENT_COUNTERS_INIT).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, struct_size
 *         below 4); WSRL_ERR_VERSION_MISMATCH (struct_size too large);
 *         WSRL_ERR_BUSY (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_agent_counters(const wsrl_agent_t *agent, wsrl_agent_counters_t *counters_out);

/**
 * @brief Number of metrics of the current learner (fixed per phase), e.g.
 * critic_loss, q_mean, actor_loss, entropy, temperature.
 * @param[in]  agent      the agent.
 * @param[out] count_out  the number of metrics.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_agent_metric_count(const wsrl_agent_t *agent, int32_t *count_out);

/**
 * @brief Metric number @p index of the last update: a static name and its
 * value (NaN before the first update of the phase).
 * @param[in]  agent      the agent.
 * @param[in]  index      0 .. metric count - 1.
 * @param[out] name_out   the metric's static name.
 * @param[out] value_out  its value after the last update.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p agent, index out of
 *         range); WSRL_ERR_BUSY (a writer is running).
 * @ownership the name is static; never free it.
 * @nullable @p name_out, @p value_out.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_agent_metric(const wsrl_agent_t *agent, int32_t index, const char **name_out,
                                         double *value_out);

/**
 * @brief Value of the metric called @p name.
 * @param[in]  agent      the agent.
 * @param[in]  name       a metric name of the current learner.
 * @param[out] value_out  its value after the last update (NaN before one).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, unknown name
 *         for this learner); WSRL_ERR_BUSY (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_agent_metric_by_name(const wsrl_agent_t *agent, const char *name, double *value_out);

/**
 * @brief The agent's Q-ensemble, read-only (wsrl_qensemble_predict() etc.).
 * Each new batch size given to a prediction builds (allocates) its oneDNN
 * primitives, and the networks cache a few shapes: use one or two fixed
 * batch sizes for monitoring, or a later update may rebuild its own.
 * @param[in] agent  the agent.
 * @return a borrowed pointer valid while the agent lives; NULL (with an
 *         error message) when @p agent is NULL.
 * @ownership the agent's; never destroy it.
 * @nullable none.
 * @threadsafety any thread (no flag); calls on the ensemble share the agent's
 * flag (predictions are writers).
 */
WSRL_API wsrl_qensemble_t *wsrl_agent_qensemble(wsrl_agent_t *agent);

/**
 * @brief Sizes and algorithm of an agent.
 * @param[in]  agent         the agent.
 * @param[out] obs_dim_out   observation length.
 * @param[out] act_dim_out   action length.
 * @param[out] algorithm_out the configured `agent.algorithm`, a wsrl_algorithm_t.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p agent).
 * @ownership none.
 * @nullable every out pointer.
 * @threadsafety any thread (fixed at create).
 */
WSRL_API wsrl_status_t wsrl_agent_info(const wsrl_agent_t *agent, int32_t *obs_dim_out, int32_t *act_dim_out,
                                       int32_t *algorithm_out);

/**
 * @brief Bytes allocated by the agent (parameters, optimizer state,
 * workspaces; oneDNN's internal allocations are not counted).
 * @param[in]  agent      the agent.
 * @param[out] bytes_out  the byte count.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer).
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread (sizes fixed at create; no flag).
 */
WSRL_API wsrl_status_t wsrl_agent_memory_usage(const wsrl_agent_t *agent, uint64_t *bytes_out);

/**
 * @brief Save the whole training state to @p path (docs/checkpoints.md):
 * config, sizes and bounds, every network and target, Adam moments and
 * step counts, temperature, CQL multiplier, IQL value network, RNG
 * streams, phase, counters and the last metrics. Written to a temporary
 * file beside @p path, fsynced and renamed: a crash never damages an
 * existing checkpoint.
 * @param[in] agent  the agent.
 * @param[in] path   the file to create or replace.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_IO
 *         naming the file; WSRL_ERR_OUT_OF_MEMORY; WSRL_ERR_BUSY (a writer is
 *         running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_agent_save(const wsrl_agent_t *agent, const char *path);

/**
 * @brief Restore a state written by wsrl_agent_save(). The whole file is
 * validated first (magic, versions, table, every checksum and size, finite
 * values, compatibility) and the agent changes only when all of it checks
 * out. The agent keeps its own config for everything that does not shape
 * the state (learning rates, batch sizes, ...). Continuing after a load
 * gives bitwise the numbers of an agent that never stopped, for the same
 * config, instruction set and thread count.
 * @param[in,out] agent  the agent to restore.
 * @param[in]     path   a file written by wsrl_agent_save().
 * @return WSRL_OK; WSRL_ERR_IO (cannot open or read); WSRL_ERR_CORRUPT
 *         naming the offset or section (bad magic, truncation, checksum);
 *         WSRL_ERR_VERSION_MISMATCH (a newer format);
 *         WSRL_ERR_INVALID_ARGUMENT for an incompatible checkpoint, naming
 *         the field and both values (e.g. "critic.hidden");
 *         WSRL_ERR_NON_FINITE; WSRL_ERR_OUT_OF_MEMORY (staging buffers);
 *         WSRL_ERR_BUSY; WSRL_ERR_WRONG_STATE (re-entered).
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per agent.
 */
WSRL_API wsrl_status_t wsrl_agent_load(wsrl_agent_t *agent, const char *path);

/**
 * @brief Read the config stored in a checkpoint (to inspect it, or to
 * create a matching agent). Validates the file's header, table and the
 * config section.
 * @param[in]  path        a checkpoint file.
 * @param[out] config_out  a new config holding the file's keys (NULL on failure).
 * @return as wsrl_agent_load(); WSRL_ERR_OUT_OF_MEMORY.
 * @ownership the caller destroys *config_out with wsrl_config_destroy().
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_agent_checkpoint_config(const char *path, wsrl_config_t **config_out);

/**
 * @brief Convert @p count actions from [low, high] to [-1, 1] units with the
 * agent's bounds (clipped), e.g. to store a host's logged actions.
 * @param[in]  agent     the agent (gives the bounds).
 * @param[in]  count     rows, >= 1.
 * @param[in]  scaled    [count, act_dim] actions in [low, high].
 * @param[out] unit_out  [count, act_dim] in [-1, 1] (may equal @p scaled).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer, count < 1).
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread (the bounds are immutable; no flag).
 */
WSRL_API wsrl_status_t wsrl_agent_unit_actions(const wsrl_agent_t *agent, int64_t count, const float *scaled,
                                               float *unit_out);

/**
 * @name Introspection: parameters, log-probabilities, config, spec, bounds
 *
 * Parameter vectors. wsrl_agent_get_params() and wsrl_agent_set_params()
 * move one network as a flat float vector, without padding, in this
 * layout (the same as wsrl_qensemble_get_params()):
 *
 * - A network is an ensemble of E members (E = `critic.ensemble_size` for
 *   WSRL_NET_CRITICS and WSRL_NET_TARGET_CRITICS, 1 for the actor, the
 *   target actor and the value network). WSRL_NET_TARGET_ACTOR has the
 *   actor's layout. Member 0 comes first; each member is one contiguous
 *   slice of count / E floats (the actor: of count - act_dim floats with a
 *   uniform std, see below).
 * - A member is an MLP with L hidden layers (`critic.hidden` or
 *   `actor.hidden`) and an output layer, layer l = 0..L in order. Layer l
 *   maps fan_in(l) inputs to fan_out(l) outputs as y = x W + b and stores:
 *   the kernel W, fan_in(l) x fan_out(l) floats, row-major (W[k * fan_out(l)
 *   + n] weighs input k into output n); then the bias b, fan_out(l) floats;
 *   then, for a hidden layer when LayerNorm is on (`critic.layer_norm`,
 *   `actor.layer_norm`), the LayerNorm gain, fan_out(l) floats, and the
 *   LayerNorm bias, fan_out(l) floats. A hidden layer computes
 *   relu(LayerNorm(x W + b)) with LayerNorm(y) = (y - mean(y)) /
 *   sqrt(var(y) + 1e-6) * gain + bias (or relu(x W + b) without it).
 * - fan_in(0): obs_dim for the actor and the value network; obs_dim +
 *   act_dim for a critic, whose input is concat(obs, action) with the
 *   observation first and the action in [-1, 1] units. fan_out(l) for l < L
 *   is hidden[l]; the output layer has 1 unit for a critic and the value
 *   network, and for the actor act_dim units (the mean) with
 *   `actor.std_parameterization = uniform`, else 2 * act_dim (the mean in
 *   units 0..act_dim-1, log std in units act_dim..2*act_dim-1).
 * - With a uniform std the actor's vector ends with the state-independent
 *   log std, act_dim floats. The std is exp(log std) clipped to [1e-5, 10];
 *   the action is tanh(mean + std * noise) (`actor.tanh_squash`, else
 *   without tanh).
 * - WSRL_NET_TEMPERATURE and WSRL_NET_LAGRANGE are one float each: the
 *   unconstrained parameter p whose value is softplus(p) = log(1 + e^p)
 *   (the "temperature" and "lagrange" metrics report the value).
 *
 * Setting parameters changes only that network: the targets are not
 * synchronised with the critics (set both for that), and every Adam state
 * (first and second moments, step count) is kept as it is, so setting the
 * vector a get returned leaves the agent bitwise unchanged (training
 * continues with the same numbers). A new actor is published at once as
 * the latest policy snapshot (wsrl_agent_policy(); its update count is the
 * agent's, unchanged).
 * @{
 */

/**
 * @brief Number of floats in the flat parameter vector of @p net.
 * @param[in]  agent     the agent.
 * @param[in]  net       a wsrl_net_t.
 * @param[out] count_out the length of the vector (see "Parameter vectors").
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, unknown @p net);
 *         WSRL_ERR_UNSUPPORTED (a network this agent does not have, e.g.
 *         WSRL_NET_VALUE of a non-IQL agent; the message names it and why);
 *         WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable none.
 * @threadsafety one thread per handle (a reader: may run alongside other
 * readers).
 */
WSRL_API wsrl_status_t wsrl_agent_param_count(const wsrl_agent_t *agent, int32_t net, int64_t *count_out);

/**
 * @brief Copy the parameters of @p net out, in the documented flat layout.
 * @param[in]  agent      the agent.
 * @param[in]  net        a wsrl_net_t.
 * @param[out] params_out @p count floats.
 * @param[in]  count      must equal wsrl_agent_param_count().
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, unknown @p net, wrong
 *         @p count naming both sizes); WSRL_ERR_UNSUPPORTED (a network this
 *         agent does not have); WSRL_ERR_BUSY.
 * @ownership the buffer stays the caller's.
 * @nullable none.
 * @threadsafety one thread per handle (a reader).
 */
WSRL_API wsrl_status_t wsrl_agent_get_params(const wsrl_agent_t *agent, int32_t net, float *params_out,
                                             int64_t count);

/**
 * @brief Overwrite the parameters of @p net (same layout as
 * wsrl_agent_get_params()). Every value is checked first; on any error
 * nothing changes. Adam moments and step counts are kept; a new actor is
 * published as the latest policy snapshot. Never allocates.
 * @param[in,out] agent  the agent.
 * @param[in]     net    a wsrl_net_t.
 * @param[in]     params @p count floats, each finite and within +-1e6 (the
 *                       bound checkpoint loading applies to weights).
 * @param[in]     count  must equal wsrl_agent_param_count().
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, unknown @p net, wrong
 *         @p count, a value beyond +-1e6 naming its index);
 *         WSRL_ERR_NON_FINITE (a NaN/inf value, naming its index);
 *         WSRL_ERR_UNSUPPORTED (a network this agent does not have);
 *         WSRL_ERR_BUSY.
 * @ownership @p params is copied.
 * @nullable none.
 * @threadsafety one thread per handle (a writer).
 */
WSRL_API wsrl_status_t wsrl_agent_set_params(wsrl_agent_t *agent, int32_t net, const float *params, int64_t count);

/**
 * @brief log pi(a | s) of given actions under the current actor: the
 * density the learner uses (the IQL/AWR actor loss; the SAC entropy term).
 * For a tanh-squashed actor, log N(u; mean, std) - sum_j log(1 - tanh(u_j)^2)
 * with u = atanh(a) (an |a_j| above 1 - 1e-6 is evaluated at +-(1 - 1e-6),
 * as the learner does); without squashing (`actor.tanh_squash = false`,
 * a Gaussian actor for IQL) the diagonal Gaussian density log N(a; mean, std). Draws no random numbers;
 * never allocates.
 * @param[in]  agent         the agent.
 * @param[in]  count         rows, >= 1 (any number; large batches run in chunks).
 * @param[in]  obs           [count, obs_dim] observations.
 * @param[in]  action        [count, act_dim] actions in [-1, 1] units
 *                           (wsrl_agent_unit_actions() converts from
 *                           [low, high]): |a| < 1 for a tanh-squashed actor,
 *                           |a| <= 1 otherwise.
 * @param[out] log_prob_out  [count] natural-log densities (summed over the
 *                           action dimensions).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, count < 1, an action
 *         outside the range above naming its row and column);
 *         WSRL_ERR_NON_FINITE (NaN/inf in @p obs or @p action, naming the
 *         array and row); WSRL_ERR_BUSY; WSRL_ERR_BACKEND.
 * @ownership buffers stay the caller's.
 * @nullable none.
 * @threadsafety one thread per handle (a writer: it runs the actor's
 * workspace).
 */
WSRL_API wsrl_status_t wsrl_agent_log_prob(wsrl_agent_t *agent, int64_t count, const float *obs,
                                           const float *action, float *log_prob_out);

/**
 * @brief A copy of the config the agent was created with (the one its
 * checkpoints store).
 * @param[in]  agent      the agent.
 * @param[out] config_out a new config; edits to it never reach the agent.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL); WSRL_ERR_OUT_OF_MEMORY.
 * @ownership the caller destroys *config_out with wsrl_config_destroy().
 * @nullable none.
 * @threadsafety any thread (the agent's config never changes after create), not
 * concurrently with wsrl_agent_destroy().
 */
WSRL_API wsrl_status_t wsrl_agent_get_config(const wsrl_agent_t *agent, wsrl_config_t **config_out);

/**
 * @brief The agent's environment spec: obs_dim, act_dim and the action
 * bounds it was created with; max_episode_steps is 0 (an episode limit is
 * the env's, not the agent's). Fills only the fields inside the caller's
 * @p spec_out->struct_size (set it first: WSRL_ENV_SPEC_INIT).
 * @param[in]     agent    the agent.
 * @param[in,out] spec_out the spec to fill; action_low and action_high
 *                         point into the agent and live as long as it.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, struct_size too small);
 *         WSRL_ERR_VERSION_MISMATCH (struct_size larger than this library's).
 * @ownership the bounds stay the agent's.
 * @nullable none.
 * @threadsafety any thread (fixed at create), not concurrently with
 * wsrl_agent_destroy().
 */
WSRL_API wsrl_status_t wsrl_agent_get_spec(const wsrl_agent_t *agent, wsrl_env_spec_t *spec_out);

/**
 * @brief Copy the agent's action bounds (the [low, high] of
 * wsrl_agent_act() and wsrl_agent_unit_actions()).
 * @param[in]  agent    the agent.
 * @param[out] low_out  act_dim floats.
 * @param[out] high_out act_dim floats.
 * @param[in]  act_dim  the length of each array; must equal the agent's act_dim.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, act_dim differs, naming both).
 * @ownership buffers stay the caller's.
 * @nullable none.
 * @threadsafety any thread (fixed at create).
 */
WSRL_API wsrl_status_t wsrl_agent_action_bounds(const wsrl_agent_t *agent, float *low_out, float *high_out,
                                                int32_t act_dim);

/** @} */

WSRL_END_DECLS

#endif /* WSRL_AGENT_H */
