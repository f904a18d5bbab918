/* Uniform and mixed sampling. The hot path allocates nothing: indices are
 * drawn a block at a time and each row is prefetched a few rows before it is
 * gathered. A 1M-row buffer is bound by cache and TLB misses (about 75 ns per
 * transition on the development machine; bench/bench-replay). */
#include <math.h>

#include "replay_internal.h"

#define BLOCK 64 /* indices drawn at a time */
#define AHEAD 8  /* rows prefetched ahead of the copy */

#if defined(__GNUC__) || defined(__clang__)
#  define PREFETCH(p) __builtin_prefetch(p)
#else
#  define PREFETCH(p) ((void)0)
#endif

static inline void prefetch_row(const wsrl_replay_t *r, int64_t s) {
  PREFETCH(r->obs + s * r->obs_dim);
  PREFETCH(r->next_obs + s * r->obs_dim);
  PREFETCH(r->action + s * r->act_dim);
  PREFETCH(r->reward + s);
  PREFETCH(r->mc_return + s);
  PREFETCH(r->flags + s);
}

static inline void copy_row(const wsrl_replay_t *r, int64_t s, const wsrl__replay_batch *out, int64_t i) {
  int32_t O = r->obs_dim, A = r->act_dim;
  if (out->obs)
    memcpy(out->obs + i * O, r->obs + s * O, (size_t)O * sizeof(float));
  if (out->action)
    memcpy(out->action + i * A, r->action + s * A, (size_t)A * sizeof(float));
  if (out->reward)
    out->reward[i] = r->reward[s];
  if (out->next_obs)
    memcpy(out->next_obs + i * O, r->next_obs + s * O, (size_t)O * sizeof(float));
  if (out->mask)
    out->mask[i] = (r->flags[s] & WSRL__REPLAY_TERMINATED) ? 0.0f : 1.0f;
  if (out->mc_return)
    out->mc_return[i] = r->mc_return[s];
  if (out->index) {
    /* Until the buffer first fills, slot == logical index (head == size). */
    int64_t logical = s - (r->head - r->size);
    out->index[i] = logical >= r->capacity ? logical - r->capacity : (logical < 0 ? logical + r->capacity : logical);
  }
}

/* Stored rows are slots [0, size) until the buffer first fills, then all
 * slots: either way a uniform slot below size is a uniform stored row. */
static inline int64_t draw(const wsrl_replay_t *r, wsrl__rng *rng) {
  return (int64_t)wsrl__rng_below(rng, (uint64_t)r->size);
}

/* completed: a uniform row of the closed episodes only (logical rows
 * [0, size - open_len): the open episode is the newest rows). */
static inline int64_t draw_row(const wsrl_replay_t *r, wsrl__rng *rng, int32_t completed) {
  if (!completed)
    return draw(r, rng);
  return wsrl__replay_slot(r, (int64_t)wsrl__rng_below(rng, (uint64_t)(r->size - r->open_len)));
}

static wsrl_status_t check_completed(const wsrl_replay_t *r, int32_t completed, const char *fn) {
  if (completed && r->size - r->open_len == 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "%s: the buffer holds no completed episode yet", fn);
  return WSRL_OK;
}

static wsrl_status_t check_batch(int64_t n, const char *fn) {
  if (n < 1 || n > WSRL_REPLAY_MAX_BATCH)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: batch_size must be in [1, %lld] (got %lld)", fn,
                       (long long)WSRL_REPLAY_MAX_BATCH, (long long)n);
  return WSRL_OK;
}

/* rng: the stream of the draws (the caller's, or the handle's own). */
static wsrl_status_t sample(wsrl_replay_t *r, wsrl__rng *rng, const char *fn, int64_t n, int64_t row_offset,
                            int32_t completed, const wsrl__replay_batch *out) {
  WSRL__TRY(check_batch(n, fn));
  if (row_offset < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: row_offset must be >= 0 (got %lld)", fn,
                       (long long)row_offset);
  if (r->size == 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "%s: the buffer is empty", fn);
  WSRL__TRY(check_completed(r, completed, fn));
  int64_t slots[BLOCK];
  for (int64_t done = 0; done < n;) {
    int64_t k = n - done < BLOCK ? n - done : BLOCK;
    for (int64_t j = 0; j < k; j++)
      slots[j] = draw_row(r, rng, completed);
    for (int64_t j = 0; j < k && j < AHEAD; j++)
      prefetch_row(r, slots[j]);
    for (int64_t j = 0; j < k; j++) {
      if (j + AHEAD < k)
        prefetch_row(r, slots[j + AHEAD]);
      copy_row(r, slots[j], out, row_offset + done + j);
    }
    done += k;
  }
  return WSRL_OK;
}

wsrl_status_t wsrl__replay_sample_into(wsrl_replay_t *replay, wsrl__rng *rng, int64_t n, int64_t row_offset,
                                       const wsrl__replay_batch *out) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(rng);
  WSRL__CHECK_NULL(out);
  return sample(replay, rng, __func__, n, row_offset, 0, out);
}

wsrl_status_t wsrl__replay_sample_completed_into(wsrl_replay_t *replay, wsrl__rng *rng, int64_t n,
                                                 int64_t row_offset, const wsrl__replay_batch *out) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(rng);
  WSRL__CHECK_NULL(out);
  return sample(replay, rng, __func__, n, row_offset, 1, out);
}

static wsrl_status_t replay_sample_impl(wsrl_replay_t *replay, int64_t batch_size, float *obs_out, float *action_out,
                                        float *reward_out, float *next_obs_out, float *mask_out, float *mc_return_out) {
  const wsrl__replay_batch out = {obs_out, action_out, reward_out, next_obs_out, mask_out, mc_return_out, NULL};
  return sample(replay, &replay->rng, "wsrl_replay_sample", batch_size, 0, 0, &out);
}

wsrl_status_t wsrl_replay_sample(wsrl_replay_t *replay, int64_t batch_size, float *obs_out, float *action_out,
                                 float *reward_out, float *next_obs_out, float *mask_out, float *mc_return_out) {
  WSRL__CHECK_NULL(replay);
  WSRL__GUARDED(wsrl__replay_busy(replay), WSRL__BUSY_WRITE, "replay buffer", "wsrl_replay_sample", replay_sample_impl(replay, batch_size, obs_out, action_out, reward_out, next_obs_out, mask_out, mc_return_out));
}

static wsrl_status_t sample_mixed(wsrl_replay_t *online, wsrl__rng *online_rng, wsrl_replay_t *offline,
                                  wsrl__rng *offline_rng, double ratio, int64_t n, int32_t completed,
                                  const wsrl__replay_batch *out, const char *fn) {
  WSRL__CHECK_NULL(online);
  if (!(ratio >= 0 && ratio <= 1))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: offline_ratio must be in [0, 1] (got %g)", fn, ratio);
  WSRL__TRY(check_batch(n, fn));
  int64_t n_off = (int64_t)floor(ratio * (double)n + 0.5);
  if (n_off > n)
    n_off = n;
  if (offline != NULL) {
    if (offline == online)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: 'online' and 'offline' are the same buffer", fn);
    if (offline->obs_dim != online->obs_dim || offline->act_dim != online->act_dim)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "%s: 'offline' has obs_dim %d, act_dim %d but 'online' has obs_dim %d, act_dim %d", fn,
                         offline->obs_dim, offline->act_dim, online->obs_dim, online->act_dim);
  }
  if (n_off > 0 && offline == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: argument 'offline' is NULL but offline_ratio %g asks for %lld rows",
                       fn, ratio, (long long)n_off);
  if (n_off > 0 && offline->size == 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "%s: the offline buffer is empty", fn);
  if (n_off < n && online->size == 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "%s: the online buffer is empty", fn);
  if (n_off < n)
    WSRL__TRY(check_completed(online, completed, fn));
  /* Row i is offline iff (i * n_off) mod n < n_off: exactly n_off rows, evenly
   * spread (acc tracks (i * n_off) mod n without overflow). */
  int64_t acc = 0;
  for (int64_t i = 0; i < n; i++) {
    if (acc < n_off)
      copy_row(offline, draw(offline, offline_rng), out, i);
    else
      copy_row(online, draw_row(online, online_rng, completed), out, i);
    acc += n_off;
    if (acc >= n)
      acc -= n;
  }
  return WSRL_OK;
}

wsrl_status_t wsrl__replay_sample_mixed_into(wsrl_replay_t *online, wsrl__rng *online_rng, wsrl_replay_t *offline,
                                             wsrl__rng *offline_rng, double offline_ratio, int64_t n,
                                             int32_t online_completed, const wsrl__replay_batch *out) {
  WSRL__CHECK_NULL(online_rng);
  WSRL__CHECK_NULL(out);
  if (offline != NULL)
    WSRL__CHECK_NULL(offline_rng);
  return sample_mixed(online, online_rng, offline, offline_rng, offline_ratio, n, online_completed, out, __func__);
}

static wsrl_status_t replay_sample_mixed_impl(wsrl_replay_t *online, wsrl_replay_t *offline, double offline_ratio,
                                              int64_t batch_size, float *obs_out, float *action_out, float *reward_out,
                                              float *next_obs_out, float *mask_out, float *mc_return_out) {
  const wsrl__replay_batch out = {obs_out, action_out, reward_out, next_obs_out, mask_out, mc_return_out, NULL};
  return sample_mixed(online, online != NULL ? &online->rng : NULL, offline, offline != NULL ? &offline->rng : NULL,
                      offline_ratio, batch_size, 0, &out, "wsrl_replay_sample_mixed");
}

wsrl_status_t wsrl_replay_sample_mixed(wsrl_replay_t *online, wsrl_replay_t *offline, double offline_ratio,
                                       int64_t batch_size, float *obs_out, float *action_out, float *reward_out,
                                       float *next_obs_out, float *mask_out, float *mc_return_out) {
  if (online == NULL || offline == NULL) /* refused by the checks, with their message */
    return replay_sample_mixed_impl(online, offline, offline_ratio, batch_size, obs_out, action_out, reward_out,
                                    next_obs_out, mask_out, mc_return_out);
  const char *fn = "wsrl_replay_sample_mixed";
  WSRL__TRY(wsrl__busy_enter(wsrl__replay_busy(online), WSRL__BUSY_WRITE, "replay buffer", fn));
  wsrl_status_t st =
      offline == online ? WSRL_OK : wsrl__busy_enter(wsrl__replay_busy(offline), WSRL__BUSY_WRITE, "replay buffer", fn);
  if (st == WSRL_OK) {
    st = replay_sample_mixed_impl(online, offline, offline_ratio, batch_size, obs_out, action_out, reward_out,
                                  next_obs_out, mask_out, mc_return_out);
    if (offline != online)
      wsrl__busy_leave(wsrl__replay_busy(offline), WSRL__BUSY_WRITE);
  }
  wsrl__busy_leave(wsrl__replay_busy(online), WSRL__BUSY_WRITE);
  return st;
}

wsrl_status_t wsrl__replay_batch_alloc(wsrl__replay_batch *b, const wsrl__alloc *a, int64_t rows, int32_t obs_dim,
                                       int32_t act_dim, int32_t with_index) {
  WSRL__CHECK_NULL(b);
  memset(b, 0, sizeof *b);
  if (rows < 1 || obs_dim < 1 || act_dim < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: rows %lld, obs_dim %d and act_dim %d must be >= 1", __func__,
                       (long long)rows, obs_dim, act_dim);
  size_t n = (size_t)rows;
  b->obs = wsrl__aligned_alloc(a, n * (size_t)obs_dim * sizeof(float));
  b->next_obs = wsrl__aligned_alloc(a, n * (size_t)obs_dim * sizeof(float));
  b->action = wsrl__aligned_alloc(a, n * (size_t)act_dim * sizeof(float));
  b->reward = wsrl__aligned_alloc(a, n * sizeof(float));
  b->mask = wsrl__aligned_alloc(a, n * sizeof(float));
  b->mc_return = wsrl__aligned_alloc(a, n * sizeof(float));
  if (with_index)
    b->index = wsrl__aligned_alloc(a, n * sizeof(int64_t));
  if (!b->obs || !b->next_obs || !b->action || !b->reward || !b->mask || !b->mc_return || (with_index && !b->index)) {
    wsrl__replay_batch_free(b, a);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "%s: cannot allocate a batch of %lld rows", __func__, (long long)rows);
  }
  return WSRL_OK;
}

void wsrl__replay_batch_free(wsrl__replay_batch *b, const wsrl__alloc *a) {
  if (b == NULL)
    return;
  wsrl__aligned_free(a, b->obs);
  wsrl__aligned_free(a, b->next_obs);
  wsrl__aligned_free(a, b->action);
  wsrl__aligned_free(a, b->reward);
  wsrl__aligned_free(a, b->mask);
  wsrl__aligned_free(a, b->mc_return);
  wsrl__aligned_free(a, b->index);
  memset(b, 0, sizeof *b);
}

int64_t wsrl__replay_completed_rows(const wsrl_replay_t *replay) { return replay->size - replay->open_len; }
