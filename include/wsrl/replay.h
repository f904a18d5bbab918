/**
 * @file wsrl/replay.h
 * @brief Replay buffers and offline datasets.
 *
 * A wsrl_replay_t is a ring buffer of transitions
 * (obs, action, reward, next_obs, terminated, truncated) stored as contiguous
 * fp32 arrays, with a Monte-Carlo discounted return-to-go per transition
 * (Cal-QL needs it). WSRL fine-tunes from an EMPTY online buffer; the
 * baselines that keep offline data use wsrl_replay_sample_mixed() or
 * wsrl_replay_append() with a second buffer holding the dataset.
 *
 * Conventions:
 * - Rows are addressed by a logical index: 0 is the oldest stored transition,
 *   size - 1 the newest. Adding to a full buffer overwrites the oldest.
 * - terminated: a true terminal state, the TD target does not bootstrap
 *   (mask = 1 - terminated). truncated: the episode was cut (time limit, end
 *   of data); it ends the episode but the target still bootstraps. Either
 *   flag closes the current episode. Flags are int32_t: any non-zero is true.
 * - Rewards are transformed on insert (r * reward_scale + reward_bias) and
 *   actions clipped to [-action_clip, action_clip] when action_clip > 0, as
 *   the reference does per domain. Stored values, samples and files hold the
 *   transformed values.
 * - MC return-to-go: G_t = r_t + discount * (1 - terminated_t) * G_{t+1}, with
 *   G = 0 after the last transition of the episode; a truncated episode sums
 *   over its observed part (Cal-QL's choice). With mc_sparse set, an episode
 *   whose every stored reward equals the transformed mc_sparse_reward gets
 *   G_t = that reward / (1 - discount) for all t. While an episode is still
 *   open its transitions carry the value a truncation now would give; the
 *   final value is written when it closes. See docs/datasets.md.
 * - Non-finite numbers are never stored: wsrl_replay_add() rejects them;
 *   loaders reject or drop them as wsrl_replay_options_t::nonfinite says.
 *
 * Threading (docs/threading.md): adding, sampling, clearing and loading
 * are writers (one at a time; mixed sampling writes both handles); reading
 * calls (get, size, save, export) are readers that may overlap each other.
 * An overlapping call gets WSRL_ERR_BUSY. Distinct handles run in parallel.
 */
#ifndef WSRL_REPLAY_H
#define WSRL_REPLAY_H

#include <stdint.h>
#include "config.h"
#include "export.h"
#include "log.h"
#include "status.h"

WSRL_BEGIN_DECLS

/** @brief Opaque replay buffer. */
typedef struct wsrl_replay wsrl_replay_t;

/** @brief What loaders do with a row holding NaN or infinity. */
typedef enum wsrl_replay_nonfinite {
  /** Fail with WSRL_ERR_NON_FINITE naming the field and row; the buffer is unchanged. */
  WSRL_REPLAY_NONFINITE_ERROR = 0,
  /** Drop the transition, count it in the report, and truncate the episode before it. */
  WSRL_REPLAY_NONFINITE_DROP = 1
} wsrl_replay_nonfinite_t;

/**
 * @brief Creation options. Starts with its own size for ABI growth: fill it
 * with WSRL_REPLAY_OPTIONS_INIT or wsrl_replay_options_init(). Fields past
 * an older caller's struct_size take their defaults.
 */
typedef struct wsrl_replay_options {
  uint32_t struct_size;     /**< sizeof the host's struct (set by the init) */
  int32_t mc_sparse;        /**< 1: apply the sparse-reward MC rule (default 0) */
  uint64_t seed;            /**< seed of the handle's sampling RNG, any value (default 0) */
  double reward_scale;      /**< stored reward = r * scale + bias, finite; 0 only with
                                 allow_zero_reward_scale (default 1) */
  double reward_bias;       /**< added after the scale, finite (default 0) */
  double action_clip;       /**< clip stored actions to +-c; 0 disables (default 0) */
  double discount;          /**< gamma of the MC return, in [0, 1] (default 0.99) */
  double mc_sparse_reward;  /**< r_neg, in raw (untransformed) reward units (default 0) */
  int64_t max_episode_steps; /**< HDF5 files without `timeouts`: cut episodes after
                                  this many steps as D4RL does; 0 = never (default 0) */
  int32_t nonfinite;        /**< a wsrl_replay_nonfinite_t for loaders (default ERROR) */
  /** Per-handle allocator override, copied at create; NULL uses the process-wide hooks. */
  const wsrl_allocator_t *allocator;
  /** 1 accepts reward_scale = 0 (every stored reward is then reward_bias);
   *  0 refuses it, as a zero scale is almost always a field left unset
   *  (default 0; config key `replay.allow_zero_reward_scale`). */
  int32_t allow_zero_reward_scale;
} wsrl_replay_options_t;

/** Static initialiser: this header's struct_size and every default. */
#define WSRL_REPLAY_OPTIONS_INIT \
  {(uint32_t)sizeof(wsrl_replay_options_t), 0, 0, 1.0, 0.0, 0.0, 0.99, 0.0, 0, WSRL_REPLAY_NONFINITE_ERROR, NULL, 0}

/**
 * @brief What a load did. The caller sets struct_size (WSRL_REPLAY_REPORT_INIT
 * or wsrl_replay_report_init()); the library fills the fields that fit.
 */
typedef struct wsrl_replay_report {
  uint32_t struct_size;      /**< sizeof the host's struct (set by the init) */
  int32_t mc_recomputed;     /**< 1 if the MC returns were recomputed for this buffer's settings */
  int64_t rows;              /**< rows in the file */
  int64_t loaded;            /**< transitions now in the buffer */
  int64_t dropped_timeout;   /**< transitions dropped at timeouts (derived next_obs, D4RL) */
  int64_t dropped_last;      /**< the final row, dropped when next_obs is derived (D4RL) */
  int64_t dropped_nonfinite; /**< transitions dropped for NaN/inf (WSRL_REPLAY_NONFINITE_DROP) */
  int64_t episodes;          /**< closed episodes now in the buffer */
} wsrl_replay_report_t;

/** Static initialiser: this header's struct_size, every count 0. */
#define WSRL_REPLAY_REPORT_INIT {(uint32_t)sizeof(wsrl_replay_report_t), 0, 0, 0, 0, 0, 0, 0}

/**
 * @brief Initialise @p options like WSRL_REPLAY_OPTIONS_INIT (for FFI).
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
WSRL_API wsrl_status_t wsrl_replay_options_init(wsrl_replay_options_t *options, uint32_t struct_size);

/**
 * @brief Initialise @p report like WSRL_REPLAY_REPORT_INIT (for FFI).
 *
 * Writes only the first @p struct_size bytes (the caller's sizeof), so a
 * host built against older headers is never overrun.
 * @param[out] report the struct to fill.
 * @param[in]  struct_size sizeof(*report) as the caller was compiled.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p report is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH (nothing
 *         written) if it is larger than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_replay_report_init(wsrl_replay_report_t *report, uint32_t struct_size);

/**
 * @brief Fill the fields of @p options_out that a config decides, from the
 * same keys an agent and its session read: reward_scale and reward_bias
 * (`replay.reward_scale`, `replay.reward_bias`), action_clip
 * (`replay.clip_action`), discount (`td.discount`), mc_sparse and
 * mc_sparse_reward (`replay.mc_sparse`, `replay.mc_sparse_reward`) and
 * allow_zero_reward_scale (`replay.allow_zero_reward_scale`). A dataset
 * buffer created with these options agrees with an agent created from the
 * same config, as wsrl_pretrain() and wsrl_session_create() require
 * (`replay.mismatch`). The other fields (struct_size, seed,
 * max_episode_steps, nonfinite, allocator) are left as they are, so
 * initialise the struct first (WSRL_REPLAY_OPTIONS_INIT or
 * wsrl_replay_options_init()); only the first struct_size bytes are written.
 * @param[in]     config      the config to read (e.g. the agent's).
 * @param[in,out] options_out struct_size set by the caller; receives the
 *                            config's fields that fit in it.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, struct_size below 4, or
 *         keys that give invalid options, e.g. `replay.reward_scale` = 0
 *         without `replay.allow_zero_reward_scale`, or `replay.mc_sparse`
 *         with `td.discount` = 1; nothing is written then);
 *         WSRL_ERR_VERSION_MISMATCH (struct_size larger than this library's).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader of @p config: any thread, as long as no other
 * thread modifies it.
 */
WSRL_API wsrl_status_t wsrl_replay_options_from_config(const wsrl_config_t *config,
                                                       wsrl_replay_options_t *options_out);

/**
 * @brief Create an empty buffer; all storage is allocated here.
 * @param[out] replay_out the new buffer (NULL on failure).
 * @param[in] obs_dim     observation length, >= 1.
 * @param[in] act_dim     action length, >= 1.
 * @param[in] capacity    transitions kept, >= 1.
 * @param[in] options     NULL for the defaults.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT naming the bad argument or option
 *         field; WSRL_ERR_VERSION_MISMATCH for an options struct_size larger
 *         than this library knows; WSRL_ERR_OUT_OF_MEMORY.
 * @ownership the caller destroys it with wsrl_replay_destroy(); options are
 *            copied (the allocator struct too; its user pointer must outlive
 *            the buffer).
 * @nullable @p options.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_replay_create(wsrl_replay_t **replay_out, int32_t obs_dim, int32_t act_dim,
                                          int64_t capacity, const wsrl_replay_options_t *options);

/**
 * @brief Drop the caller's reference to a buffer; NULL is ignored.
 *
 * A session that uses the buffer as its offline dataset holds its own
 * reference, so the storage is freed when the last holder lets go.
 * @param[in] replay  the buffer, or NULL.
 * @ownership the caller's handle is invalid afterwards.
 * @nullable @p replay.
 * @threadsafety no other call on @p replay through this handle at the same time.
 */
WSRL_API void wsrl_replay_destroy(wsrl_replay_t *replay);

/**
 * @brief Add one transition (reward transformed and action clipped on insert).
 * @param[in] replay     the buffer.
 * @param[in] obs        obs_dim floats.
 * @param[in] action     act_dim floats.
 * @param[in] reward     raw reward.
 * @param[in] next_obs   obs_dim floats.
 * @param[in] terminated non-zero for a terminal state.
 * @param[in] truncated  non-zero when the episode was cut here.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL array);
 *         WSRL_ERR_NON_FINITE naming the array and element, or a reward whose
 *         discounted return would overflow float (nothing stored);
 *         WSRL_ERR_BUSY (another thread is in a call on @p replay).
 * @ownership arrays are copied.
 * @nullable none.
 * @threadsafety a writer: one thread per handle (others get WSRL_ERR_BUSY).
 */
WSRL_API wsrl_status_t wsrl_replay_add(wsrl_replay_t *replay, const float *obs, const float *action, float reward,
                                       const float *next_obs, int32_t terminated, int32_t truncated);

/**
 * @brief Add @p count transitions stored row-major.
 *
 * All-or-nothing: every row is validated before any is stored.
 * @param[in] replay      the buffer.
 * @param[in] count       rows, >= 0.
 * @param[in] obs         [count, obs_dim].
 * @param[in] action      [count, act_dim].
 * @param[in] reward      [count] raw rewards.
 * @param[in] next_obs    [count, obs_dim].
 * @param[in] terminated  [count] flags, or NULL for all 0.
 * @param[in] truncated   [count] flags, or NULL for all 0.
 * @return as wsrl_replay_add(); WSRL_ERR_INVALID_ARGUMENT also for a
 *         negative @p count; the message names the array and the row.
 * @ownership arrays are copied.
 * @nullable @p terminated and @p truncated (all 0).
 * @threadsafety a writer: one thread per handle.
 */
WSRL_API wsrl_status_t wsrl_replay_add_batch(wsrl_replay_t *replay, int64_t count, const float *obs,
                                             const float *action, const float *reward, const float *next_obs,
                                             const int32_t *terminated, const int32_t *truncated);

/** Most rows one sample call draws (2^24): a larger count is a caller's
 * mistake (no batch of this library needs it), refused before any write. */
#define WSRL_REPLAY_MAX_BATCH ((int64_t)1 << 24)

/**
 * @brief Sample @p batch_size transitions uniformly with replacement from the
 * handle's own RNG into caller arrays (row-major, batch_size rows each).
 * @param[in]  replay        the buffer (its RNG advances).
 * @param[in]  batch_size    rows, 1 .. WSRL_REPLAY_MAX_BATCH.
 * @param[out] obs_out       [batch_size, obs_dim].
 * @param[out] action_out    [batch_size, act_dim].
 * @param[out] reward_out    [batch_size] stored (transformed) rewards.
 * @param[out] next_obs_out  [batch_size, obs_dim].
 * @param[out] mask_out      [batch_size] 1 - terminated.
 * @param[out] mc_return_out [batch_size] MC return-to-go of each transition.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p replay, batch_size < 1
 *         or above WSRL_REPLAY_MAX_BATCH); WSRL_ERR_WRONG_STATE when the
 *         buffer is empty; WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable every output (that field is skipped).
 * @threadsafety a writer (the RNG): one thread per handle.
 */
WSRL_API wsrl_status_t wsrl_replay_sample(wsrl_replay_t *replay, int64_t batch_size, float *obs_out,
                                          float *action_out, float *reward_out, float *next_obs_out,
                                          float *mask_out, float *mc_return_out);

/**
 * @brief Sample a batch of which round(offline_ratio * batch_size) rows come
 * from @p offline and the rest from @p online, spread evenly through the batch
 * (row i is offline iff (i * n_offline) mod batch_size < n_offline; at 0.5
 * this is RLPD's interleaving), so every contiguous UTD minibatch keeps the
 * ratio. Each buffer draws its rows with its own RNG.
 * @param[in]  online        the online buffer.
 * @param[in]  offline       may be NULL only when no row comes from it.
 * @param[in]  offline_ratio in [0, 1].
 * @param[in]  batch_size    rows, 1 .. WSRL_REPLAY_MAX_BATCH.
 * @param[out] obs_out       [batch_size, obs_dim].
 * @param[out] action_out    [batch_size, act_dim].
 * @param[out] reward_out    [batch_size].
 * @param[out] next_obs_out  [batch_size, obs_dim].
 * @param[out] mask_out      [batch_size] 1 - terminated.
 * @param[out] mc_return_out [batch_size].
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (ratio, batch_size outside
 *         [1, WSRL_REPLAY_MAX_BATCH], dimensions that
 *         differ, the same handle twice); WSRL_ERR_WRONG_STATE when a buffer
 *         that must give rows is empty; WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable @p offline (see above); every output.
 * @threadsafety a writer on both handles.
 */
WSRL_API wsrl_status_t wsrl_replay_sample_mixed(wsrl_replay_t *online, wsrl_replay_t *offline,
                                                double offline_ratio, int64_t batch_size, float *obs_out,
                                                float *action_out, float *reward_out, float *next_obs_out,
                                                float *mask_out, float *mc_return_out);

/**
 * @brief Copy every transition of @p src, oldest first, into @p dst (the
 * "append" baseline: offline data put into the online buffer). Values are
 * copied as stored (no second transform); MC returns are recomputed when the
 * two buffers' discount or sparse rule differ. A full @p dst overwrites its
 * oldest rows.
 * @param[in,out] dst  the buffer to add to.
 * @param[in]     src  the buffer to copy from (unchanged).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL, dimensions differ, same
 *         handle); WSRL_ERR_WRONG_STATE when @p dst has an open episode (it
 *         would be joined to the first copied one); WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer on @p dst, a reader on @p src.
 */
WSRL_API wsrl_status_t wsrl_replay_append(wsrl_replay_t *dst, const wsrl_replay_t *src);

/**
 * @brief Copy @p count stored transitions starting at logical index @p first
 * (0 = oldest) into caller arrays.
 * @param[in]  replay          the buffer.
 * @param[in]  first           logical index of the first row.
 * @param[in]  count           rows to copy.
 * @param[out] obs_out         [count, obs_dim].
 * @param[out] action_out      [count, act_dim].
 * @param[out] reward_out      [count] stored (transformed) rewards.
 * @param[out] next_obs_out    [count, obs_dim].
 * @param[out] terminated_out  [count] 0 or 1.
 * @param[out] truncated_out   [count] 0 or 1.
 * @param[out] mc_return_out   [count] MC returns-to-go.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p replay, or
 *         [first, first + count) not within [0, size)); WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable every output (that field is skipped).
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_replay_get(const wsrl_replay_t *replay, int64_t first, int64_t count, float *obs_out,
                                       float *action_out, float *reward_out, float *next_obs_out,
                                       int32_t *terminated_out, int32_t *truncated_out, float *mc_return_out);

/**
 * @brief Stored transitions.
 * @param[in]  replay  the buffer.
 * @param[out] size_out  transitions stored, 0 .. capacity.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_replay_size(const wsrl_replay_t *replay, int64_t *size_out);
/**
 * @brief Capacity given at create.
 * @param[in]  replay  the buffer.
 * @param[out] capacity_out  the capacity.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_replay_capacity(const wsrl_replay_t *replay, int64_t *capacity_out);
/**
 * @brief Closed episodes with at least one transition still stored (an open
 * episode is not counted; wsrl_replay_open_length() tells its stored length).
 * @param[in]  replay  the buffer.
 * @param[out] episodes_out  the episode count.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_replay_episode_count(const wsrl_replay_t *replay, int64_t *episodes_out);
/**
 * @brief Stored transitions of the episode still open (0 if the last one closed).
 * @param[in]  replay  the buffer.
 * @param[out] length_out  the open episode's stored length.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_replay_open_length(const wsrl_replay_t *replay, int64_t *length_out);
/**
 * @brief Observation and action lengths.
 * @param[in]  replay       the buffer.
 * @param[out] obs_dim_out  observation length.
 * @param[out] act_dim_out  action length.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p replay).
 * @ownership none.
 * @nullable either output.
 * @threadsafety any thread (immutable after create; no flag).
 */
WSRL_API wsrl_status_t wsrl_replay_dims(const wsrl_replay_t *replay, int32_t *obs_dim_out, int32_t *act_dim_out);
/**
 * @brief Bytes this handle allocated.
 * @param[in]  replay  the buffer.
 * @param[out] bytes_out  bytes of the handle and its storage.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_BUSY
 *         (a writer is running).
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_replay_memory_usage(const wsrl_replay_t *replay, int64_t *bytes_out);

/**
 * @brief Forget every transition (storage and the RNG state are kept).
 * @param[in] replay  the buffer.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p replay); WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per handle.
 */
WSRL_API wsrl_status_t wsrl_replay_clear(wsrl_replay_t *replay);

/**
 * @brief Restart the sampling RNG from @p seed.
 * @param[in] replay  the buffer.
 * @param[in] seed    the new seed (as wsrl_replay_options_t::seed).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL @p replay); WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: one thread per handle.
 */
WSRL_API wsrl_status_t wsrl_replay_seed(wsrl_replay_t *replay, uint64_t seed);

/**
 * @brief Write the buffer to @p path in the native format (docs/datasets.md):
 * rows oldest first, the open episode included, little-endian fp32, CRC32 per
 * section; written to a temporary file, fsynced and renamed, so a crash never
 * leaves a half-written file under @p path.
 * @param[in] replay  the buffer.
 * @param[in] path    the file to create or replace.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_IO
 *         naming the file (the previous file is kept); WSRL_ERR_OUT_OF_MEMORY;
 *         WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a writer.
 */
WSRL_API wsrl_status_t wsrl_replay_save(const wsrl_replay_t *replay, const char *path);

/**
 * @brief Replace the buffer's contents with a native file. Every header field,
 * section size and checksum is validated (and non-finite values handled per
 * the nonfinite option) before the buffer is touched; on any error the buffer
 * is unchanged. Stored values are restored as saved (no second transform);
 * the MC returns are recomputed if the file's discount or sparse rule differ
 * from this buffer's. The RNG state is not part of the file.
 * @param[in,out] replay     the buffer to fill.
 * @param[in]     path       a native replay file (a regular file).
 * @param[in,out] report_out what was loaded (may be NULL; struct_size set by
 *                           the caller).
 * @return WSRL_OK; WSRL_ERR_IO (cannot open or read); WSRL_ERR_CORRUPT naming
 *         the offset and field (bad magic, truncation, sizes, checksum);
 *         WSRL_ERR_VERSION_MISMATCH (a newer format);
 *         WSRL_ERR_INVALID_ARGUMENT (dimensions differ from the buffer's, or
 *         more transitions than its capacity, a NULL pointer);
 *         WSRL_ERR_NON_FINITE; WSRL_ERR_OUT_OF_MEMORY; WSRL_ERR_BUSY.
 * @ownership none.
 * @nullable @p report_out.
 * @threadsafety a writer: one thread per handle.
 */
WSRL_API wsrl_status_t wsrl_replay_load(wsrl_replay_t *replay, const char *path, wsrl_replay_report_t *report_out);

/**
 * @brief Read a native file's header only: dimensions and transition count
 * (to create a matching buffer before wsrl_replay_load()).
 * @param[in]  path         a native replay file.
 * @param[out] obs_dim_out  observation length.
 * @param[out] act_dim_out  action length.
 * @param[out] count_out    transitions in the file.
 * @return as wsrl_replay_load() for the header and table.
 * @ownership none.
 * @nullable every output.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_replay_file_info(const char *path, int32_t *obs_dim_out, int32_t *act_dim_out,
                                             int64_t *count_out);

/**
 * @brief Replace the buffer's contents with a D4RL-format HDF5 file: datasets
 * `observations` (N x obs_dim), `actions` (N x act_dim), `rewards` (N),
 * `terminals` (N), optional `timeouts` (N) and `next_observations`
 * (N x obs_dim); floats of any width, flags as bool/int/float. Without
 * `next_observations`, next_obs[i] = observations[i + 1] and the transitions
 * at timeouts and the last row are dropped, exactly as D4RL's
 * qlearning_dataset(); the transition before a dropped one is marked
 * truncated. Rewards are transformed and actions clipped with this buffer's
 * options; MC returns are computed. All-or-nothing like wsrl_replay_load().
 * Actions must already be in [-1, 1] units (the agent's and the buffer's,
 * docs/datasets.md); action values outside [-1, 1] are stored as they are
 * (clipped by action_clip) and reported by one WSRL_LOG_WARN line naming how
 * many: a file in the environment's units needs
 * wsrl_replay_import_hdf5_bounded().
 * @param[in,out] replay     the buffer to fill.
 * @param[in]     path       the HDF5 file.
 * @param[in,out] report_out what was imported (may be NULL; struct_size set
 *                           by the caller).
 * @return as wsrl_replay_load(); WSRL_ERR_CORRUPT also for a missing dataset
 *         or mismatched row counts; WSRL_ERR_UNSUPPORTED when built without HDF5.
 * @ownership none.
 * @nullable @p report_out.
 * @threadsafety a writer: one thread per handle; HDF5 itself may not be
 * thread-safe (Debian's serial build is not): one HDF5 call at a time per process.
 */
WSRL_API wsrl_status_t wsrl_replay_import_hdf5(wsrl_replay_t *replay, const char *path,
                                               wsrl_replay_report_t *report_out);

/** Flag of wsrl_replay_import_hdf5_bounded(): parse the file in a forked
 * child as wsrl_replay_import_hdf5_isolated() does. */
#define WSRL_REPLAY_IMPORT_ISOLATED 1u

/**
 * @brief wsrl_replay_import_hdf5() for a file whose actions are in the
 * environment's units: action element j is mapped from
 * [action_low[j], action_high[j]] to [-1, 1] (u = 2 (a - low) / (high - low)
 * - 1 in double, as wsrl_session_observe() maps a host's action), before
 * the buffer's action_clip. A value beyond its bounds by more than 1e-5 of
 * the half-range (float32 rounding of data clipped to the bounds stays far
 * below; a unit error far above) refuses the whole file naming the row,
 * element, value and bounds; values within that tolerance are clamped to
 * +-1. With both bounds NULL the file must be in [-1, 1] units, checked the
 * same way. Rewards, observations and flags are imported as by
 * wsrl_replay_import_hdf5().
 * @param[in,out] replay      the buffer, replaced on success, unchanged on error.
 * @param[in]     path        the D4RL-format file.
 * @param[in]     action_low  act_dim lower bounds, e.g. wsrl_env_spec_t's
 *                            (copied during the call); NULL means -1 each.
 * @param[in]     action_high act_dim upper bounds (> low); NULL means +1 each.
 * @param[in]     flags       0 or WSRL_REPLAY_IMPORT_ISOLATED.
 * @param[out]    report_out  what was loaded (struct_size set by the caller).
 * @return as wsrl_replay_import_hdf5(); WSRL_ERR_INVALID_ARGUMENT also for
 *         bounds that are not finite with low < high, unknown flags, or an
 *         action outside the bounds; with WSRL_REPLAY_IMPORT_ISOLATED also as
 *         wsrl_replay_import_hdf5_isolated().
 * @ownership none.
 * @nullable @p action_low, @p action_high, @p report_out.
 * @threadsafety as wsrl_replay_import_hdf5() (isolated: as
 * wsrl_replay_import_hdf5_isolated()).
 */
WSRL_API wsrl_status_t wsrl_replay_import_hdf5_bounded(wsrl_replay_t *replay, const char *path,
                                                       const float *action_low, const float *action_high,
                                                       uint32_t flags, wsrl_replay_report_t *report_out);

/**
 * @brief wsrl_replay_import_hdf5() for a file you did not write: libhdf5 (not
 * this library) crashes or makes huge allocations on some crafted files, so
 * the file is parsed in a forked child process with a memory limit (the
 * larger of 4 GiB and four times this buffer) and a time limit (600 s, or
 * the environment's WSRL_HDF5_ISOLATED_SECONDS), which
 * hands the rows back through a native replay file in $TMPDIR (or /tmp). A
 * child that dies is an error naming the signal; this process and the buffer
 * are untouched by anything libhdf5 does. Costs one fork plus writing and
 * reading the rows once more.
 * @param[in,out] replay     the buffer to fill.
 * @param[in]     path       the HDF5 file.
 * @param[in,out] report_out what was imported (may be NULL).
 * @return as wsrl_replay_import_hdf5(); WSRL_ERR_CORRUPT when the child died
 *         (signal named); WSRL_ERR_IO when no child or temporary file could
 *         be made.
 * @ownership none.
 * @nullable @p report_out.
 * @threadsafety a writer: one thread per handle; uses fork(): the child runs
 * no OpenMP and no host callback.
 */
WSRL_API wsrl_status_t wsrl_replay_import_hdf5_isolated(wsrl_replay_t *replay, const char *path,
                                                        wsrl_replay_report_t *report_out);

/**
 * @brief Write the buffer as a D4RL-format HDF5 file (the keys above with
 * `next_observations` always present, `terminals`/`timeouts` as h5py-style
 * bool, fp32 data), atomically like wsrl_replay_save(). Values are the stored
 * (transformed) ones; the root attributes wsrl_reward_scale, wsrl_reward_bias,
 * wsrl_action_clip and wsrl_discount record the buffer's options.
 * @param[in] replay  the buffer.
 * @param[in] path    the file to create or replace.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (a NULL pointer); WSRL_ERR_IO
 *         (the previous file is kept); WSRL_ERR_OUT_OF_MEMORY; WSRL_ERR_BUSY;
 *         WSRL_ERR_UNSUPPORTED when built without HDF5.
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader on @p replay; one HDF5 call at a time per process.
 */
WSRL_API wsrl_status_t wsrl_replay_export_hdf5(const wsrl_replay_t *replay, const char *path);

/**
 * @brief Read the shapes of a D4RL-format HDF5 file: dimensions and rows N
 * (the buffer needs at most N transitions of capacity).
 * @param[in]  path         the HDF5 file.
 * @param[out] obs_dim_out  observation length.
 * @param[out] act_dim_out  action length.
 * @param[out] rows_out     rows N.
 * @return as wsrl_replay_import_hdf5() for the shapes.
 * @ownership none.
 * @nullable every output.
 * @threadsafety one HDF5 call at a time per process.
 */
WSRL_API wsrl_status_t wsrl_replay_hdf5_info(const char *path, int32_t *obs_dim_out, int32_t *act_dim_out,
                                             int64_t *rows_out);

/**
 * @brief wsrl_replay_hdf5_info() in a forked child, as
 * wsrl_replay_import_hdf5_isolated() (same limits, same errors).
 * @param[in]  path         the HDF5 file.
 * @param[out] obs_dim_out  observation length.
 * @param[out] act_dim_out  action length.
 * @param[out] rows_out     rows N.
 * @return as wsrl_replay_hdf5_info(); errors of
 *         wsrl_replay_import_hdf5_isolated() for the child.
 * @ownership none.
 * @nullable every output.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_replay_hdf5_info_isolated(const char *path, int32_t *obs_dim_out, int32_t *act_dim_out,
                                                      int64_t *rows_out);

WSRL_END_DECLS

#endif /* WSRL_REPLAY_H */
