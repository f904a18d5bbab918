/*
 * Internal replay API: the handle layout (private to lib/replay), the
 * no-allocation sampling entry points the agents call every update, and the
 * section I/O that checkpoints reuse to embed a buffer.
 */
#ifndef WSRL_REPLAY_INTERNAL_H
#define WSRL_REPLAY_INTERNAL_H

#include <stdint.h>

#include "core.h"
#include "io/io.h"
#include "wsrl/replay.h"

/* ---- batches ---- */

/* Destination of a sampled batch: row-major arrays of at least row_offset + n
 * rows. Every pointer may be NULL (the field is skipped). */
typedef struct wsrl__replay_batch {
  float *obs;       /* rows x obs_dim */
  float *action;    /* rows x act_dim */
  float *reward;    /* rows */
  float *next_obs;  /* rows x obs_dim */
  float *mask;      /* rows: 1 - terminated */
  float *mc_return; /* rows: MC return-to-go */
  int64_t *index;   /* rows: logical index (0 = oldest) of the sampled transition */
} wsrl__replay_batch;

/* Allocate every array of a batch (64-byte aligned, zeroed; index only if
 * with_index). On failure nothing stays allocated. */
wsrl_status_t wsrl__replay_batch_alloc(wsrl__replay_batch *batch, const wsrl__alloc *alloc, int64_t rows,
                                       int32_t obs_dim, int32_t act_dim, int32_t with_index);
/* Free what wsrl__replay_batch_alloc allocated; the struct is zeroed. */
void wsrl__replay_batch_free(wsrl__replay_batch *batch, const wsrl__alloc *alloc);

/* Sample n rows uniformly with replacement, drawing from the caller's
 * stream rng (a loop's own, saved with its state; wsrl__replay_rng() for
 * the handle's), into rows [row_offset, row_offset + n) of out. Never
 * allocates. WSRL_ERR_INVALID_ARGUMENT for n < 1 or row_offset < 0,
 * WSRL_ERR_WRONG_STATE for an empty buffer. */
wsrl_status_t wsrl__replay_sample_into(wsrl_replay_t *replay, wsrl__rng *rng, int64_t n, int64_t row_offset,
                                       const wsrl__replay_batch *out);
/* The same from the rows of completed (closed) episodes only, whose MC
 * returns are final; WSRL_ERR_WRONG_STATE while no episode is closed. */
wsrl_status_t wsrl__replay_sample_completed_into(wsrl_replay_t *replay, wsrl__rng *rng, int64_t n,
                                                 int64_t row_offset, const wsrl__replay_batch *out);
/* Mixed sampling as wsrl_replay_sample_mixed() into rows [0, n), each
 * buffer's rows drawn from its stream (offline_rng may be NULL only with
 * offline), the online rows from completed episodes only if
 * online_completed. Never allocates. */
wsrl_status_t wsrl__replay_sample_mixed_into(wsrl_replay_t *online, wsrl__rng *online_rng, wsrl_replay_t *offline,
                                             wsrl__rng *offline_rng, double offline_ratio, int64_t n,
                                             int32_t online_completed, const wsrl__replay_batch *out);
/* Stored rows that belong to closed episodes. */
int64_t wsrl__replay_completed_rows(const wsrl_replay_t *replay);

/* ---- glue for the agents and checkpoints ---- */

/* Set the fields of (full-size) options a config decides: reward scale/bias,
 * action clip, discount, the sparse rule, allow_zero_reward_scale; the rest
 * (seed, allocator, ...) is left to the caller. Invalid results are
 * WSRL_ERR_INVALID_ARGUMENT naming fn and the config key; options unchanged. */
wsrl_status_t wsrl__replay_options_from_config(wsrl_replay_options_t *options, const wsrl__config_values *values,
                                               const char *fn);
/* A dataset must hold what a config's learner expects: the same discount,
 * reward transform and sparse rule (the MC returns and stored rewards
 * depend on them). On a difference: WSRL_ERR_INVALID_ARGUMENT naming fn,
 * what (e.g. "the dataset") and every differing field, or a warning through
 * the log under replay.mismatch = warn. */
wsrl_status_t wsrl__replay_check_agrees(const wsrl_replay_t *data, const wsrl__config_values *values, const char *fn,
                                        const char *what);

/* The handle's sampling RNG (plain data: checkpoints save it byte for byte). */
wsrl__rng *wsrl__replay_rng(wsrl_replay_t *replay);

/* Write the buffer as sections "<prefix>meta", "<prefix>observations", ...
 * (prefix at most WSRL__REPLAY_PREFIX_MAX characters, may be ""). */
#define WSRL__REPLAY_PREFIX_MAX 14
wsrl_status_t wsrl__replay_write_sections(const wsrl_replay_t *replay, wsrl__secwriter *writer, const char *prefix);
/* Validate every section written by wsrl__replay_write_sections (sizes,
 * checksums, flags, counts, non-finite values per the handle's policy), then
 * replace the buffer's contents. The buffer is untouched on any error found
 * before the copy; if the file changes under the copy, it is left empty and
 * WSRL_ERR_CORRUPT returned. report may be NULL. */
wsrl_status_t wsrl__replay_read_sections(wsrl_replay_t *replay, const wsrl__secreader *reader, const char *prefix,
                                         wsrl_replay_report_t *report);

/* Close the open episode (if any) by marking its newest stored row
 * truncated, e.g. when a training loop abandons an episode it cannot
 * finish (an env error, a non-finite skip, a resumed session), so the next
 * transition starts a new episode. MC returns are those a truncation gives. */
wsrl_status_t wsrl__replay_close_open(wsrl_replay_t *replay);

/* ---- HDF5 import (hdf5.c, isolate.c) ---- */

/* Half-range fraction by which a file's action may pass its bound and still
 * be taken (then clamped to [-1, 1]): float32 rounding of data clipped to
 * the bounds and a rescale round trip stay within a few ulps (1e-7), while a
 * unit error (environment units for [-1, 1], +-2 for +-1) is far beyond.
 * 1e-5 is also the reference's own clip margin (clip_action 1 - 1e-5). */
#define WSRL__REPLAY_ACTION_TOL 1e-5

/* Action units of an import. given: the file holds actions in [low, high]
 * (NULL: -1 / +1 each), mapped to [-1, 1]; values beyond the bounds by more
 * than the tolerance are refused. Not given: actions must be in [-1, 1]
 * units already; values beyond are only counted (outside, worst) so the
 * caller can warn. */
typedef struct wsrl__replay_bounds {
  int32_t given;
  const float *low, *high;
  int64_t outside; /* out: action values beyond [-1, 1] (+ tolerance), when not given */
  float worst;     /* out: the largest |value| among them */
} wsrl__replay_bounds;

/* The import behind every public HDF5 import; fn names the public call. */
wsrl_status_t wsrl__replay_import_hdf5(wsrl_replay_t *replay, const char *path, wsrl__replay_bounds *bounds,
                                       wsrl_replay_report_t *report_out, const char *fn);
/* The same parsed in a forked child (isolate.c). */
wsrl_status_t wsrl__replay_import_hdf5_isolated(wsrl_replay_t *replay, const char *path, wsrl__replay_bounds *bounds,
                                                wsrl_replay_report_t *report_out, const char *fn);
/* One warning through the log when an import without bounds saw actions
 * outside [-1, 1]. */
void wsrl__replay_warn_units(const char *fn, const char *path, const wsrl__replay_bounds *bounds);

/* ---- handle layout (private to lib/replay) ---- */

#define WSRL__REPLAY_TERMINATED 1u
#define WSRL__REPLAY_TRUNCATED 2u
#define WSRL__REPLAY_END (WSRL__REPLAY_TERMINATED | WSRL__REPLAY_TRUNCATED)

/* Reference counting: a session retains its dataset; wsrl_replay_destroy()
 * drops the host's reference and the last release frees. */
void wsrl__replay_retain(wsrl_replay_t *r);
void wsrl__replay_release(wsrl_replay_t *r);
/* The buffer's busy flag: public calls take it; the library's loops take it
 * around their use of a host's buffer (a session's dataset). */
wsrl__busy *wsrl__replay_busy(wsrl_replay_t *r);

struct wsrl_replay {
  wsrl__alloc alloc;
  _Atomic int32_t refs; /* 1 for the host + 1 per session using it as its dataset */
  wsrl__busy busy;      /* the threading contract (docs/threading.md) */
  wsrl_replay_options_t opt; /* copied at create; opt.allocator is NULL */
  int32_t obs_dim, act_dim;
  int64_t capacity;
  int64_t size;     /* stored transitions */
  int64_t head;     /* slot the next transition goes to */
  int64_t closed;   /* stored end flags = closed episodes with a stored transition */
  int64_t open_len; /* stored transitions after the last end flag */
  int32_t open_all_sparse; /* every reward of the open episode so far equals sparse_reward */
  float sparse_reward; /* mc_sparse_reward transformed like a stored reward */
  wsrl__rng rng;
  float *obs, *next_obs, *action, *reward, *mc_return;
  uint8_t *flags; /* WSRL__REPLAY_TERMINATED | WSRL__REPLAY_TRUNCATED */
  int64_t bytes;
};

/* Slot of logical row i (0 = oldest). */
static inline int64_t wsrl__replay_slot(const wsrl_replay_t *r, int64_t i) {
  int64_t s = r->head - r->size + i;
  if (s < 0)
    s += r->capacity;
  else if (s >= r->capacity)
    s -= r->capacity;
  return s;
}

/* After rows were written straight into slots 0..n-1 of a reset buffer. */
static inline void wsrl__replay_set_rows(wsrl_replay_t *r, int64_t n) {
  r->size = n;
  r->head = n == r->capacity ? 0 : n;
}

/* Clip n stored action values to [-clip, clip] (clip > 0). */
static inline void wsrl__replay_clip(float *a, int32_t n, float clip) {
  for (int32_t j = 0; j < n; j++)
    a[j] = a[j] > clip ? clip : (a[j] < -clip ? -clip : a[j]);
}

/* Stored form of a raw reward (transform, then fp32). */
float wsrl__replay_stored_reward(const wsrl_replay_options_t *opt, double raw);
/* Largest |stored reward| whose MC return stays a finite float in this buffer
 * (an episode's discounted sum is at most min(1/(1-gamma), capacity) rewards). */
float wsrl__replay_reward_limit(const wsrl_replay_t *r);
/* Check a caller's report struct_size (NULL is fine) / copy a full report into it. */
wsrl_status_t wsrl__replay_report_check(const wsrl_replay_report_t *report, const char *fn);
void wsrl__replay_report_out(wsrl_replay_report_t *out, const wsrl_replay_report_t *full);
/* Forget every transition. */
void wsrl__replay_reset(wsrl_replay_t *replay);
/* Recount closed/open_len from the flags and recompute every MC return
 * (each episode judged on its stored rewards for the sparse rule). */
void wsrl__replay_rebuild(wsrl_replay_t *replay);

#endif /* WSRL_REPLAY_INTERNAL_H */
