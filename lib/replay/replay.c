/* The replay handle: options, the ring buffer, episode bookkeeping and MC
 * return-to-go, reading back, append. Sampling is in sample.c, files in
 * native.c and hdf5.c. */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>

#include "replay_internal.h"

/* Stream id of replay RNGs, so a replay and another module seeded alike differ. */
#define REPLAY_RNG_STREAM 0x7265706c6179ull /* "replay" */

WSRL__DEFINE_STRUCT_INIT(wsrl_replay_options_init, wsrl_replay_options_t, options, WSRL_REPLAY_OPTIONS_INIT)

WSRL__DEFINE_STRUCT_INIT(wsrl_replay_report_init, wsrl_replay_report_t, report, WSRL_REPLAY_REPORT_INIT)

wsrl_status_t wsrl__replay_report_check(const wsrl_replay_report_t *report, const char *fn) {
  if (report == NULL)
    return WSRL_OK;
  char what[96];
  snprintf(what, sizeof what, "%s: report_out", fn);
  return wsrl__struct_check_size(report->struct_size, sizeof *report, what, "WSRL_REPLAY_REPORT_INIT");
}

void wsrl__replay_report_out(wsrl_replay_report_t *out, const wsrl_replay_report_t *full) {
  if (out != NULL) /* fields end at the caller's struct_size (checked <= ours) */
    wsrl__struct_copy_out(out, full, out->struct_size);
}

float wsrl__replay_stored_reward(const wsrl_replay_options_t *opt, double raw) {
  return (float)(raw * opt->reward_scale + opt->reward_bias);
}

float wsrl__replay_reward_limit(const wsrl_replay_t *r) {
  double horizon = r->opt.discount < 1 ? 1.0 / (1.0 - r->opt.discount) : (double)r->capacity;
  if (horizon > (double)r->capacity)
    horizon = (double)r->capacity;
  return (float)(FLT_MAX / (horizon < 1 ? 1 : horizon));
}

/* The first invalid field of full-size options: its name and why (NULL if
 * all are valid). Every field but seed (any value is a seed) is checked. */
static const char *invalid_field(const wsrl_replay_options_t *o, const char **why, double *v) {
#define BAD(field, text, value) return (*why = (text), *v = (double)(value), field)
  if (o->mc_sparse != 0 && o->mc_sparse != 1)
    BAD("mc_sparse", "must be 0 or 1", o->mc_sparse);
  if (!isfinite(o->reward_scale))
    BAD("reward_scale", "must be finite", o->reward_scale);
  if (o->allow_zero_reward_scale != 0 && o->allow_zero_reward_scale != 1)
    BAD("allow_zero_reward_scale", "must be 0 or 1", o->allow_zero_reward_scale);
  if (o->reward_scale == 0 && !o->allow_zero_reward_scale)
    BAD("reward_scale", "is 0, which stores every reward as reward_bias (set allow_zero_reward_scale = 1 if meant; "
        "WSRL_REPLAY_OPTIONS_INIT gives 1)", 0);
  if (!isfinite(o->reward_bias))
    BAD("reward_bias", "must be finite", o->reward_bias);
  if (!(o->action_clip >= 0 && isfinite(o->action_clip)))
    BAD("action_clip", "must be >= 0 and finite (0 disables)", o->action_clip);
  if (!(o->discount >= 0 && o->discount <= 1))
    BAD("discount", "must be in [0, 1]", o->discount);
  if (!isfinite(o->mc_sparse_reward))
    BAD("mc_sparse_reward", "must be finite", o->mc_sparse_reward);
  if (o->mc_sparse && o->discount >= 1)
    BAD("mc_sparse", "needs discount < 1 (r_neg / (1 - discount))", o->discount);
  if (o->max_episode_steps < 0)
    BAD("max_episode_steps", "must be >= 0 (0 = never)", o->max_episode_steps);
  if (o->nonfinite != WSRL_REPLAY_NONFINITE_ERROR && o->nonfinite != WSRL_REPLAY_NONFINITE_DROP)
    BAD("nonfinite", "must be WSRL_REPLAY_NONFINITE_ERROR (0) or WSRL_REPLAY_NONFINITE_DROP (1)", o->nonfinite);
#undef BAD
  return NULL;
}

/* Copy the caller's options (honouring a shorter struct_size) and validate them. */
static wsrl_status_t resolve_options(wsrl_replay_options_t *out, const wsrl_replay_options_t *in) {
  const wsrl_replay_options_t d = WSRL_REPLAY_OPTIONS_INIT;
  *out = d;
  if (in == NULL)
    return WSRL_OK;
  /* Fields past an older caller's struct_size keep their defaults. */
  wsrl_replay_options_t given;
  WSRL__TRY(wsrl__struct_copy_in(&given, sizeof given, in, in->struct_size, "wsrl_replay_create: options",
                                 "WSRL_REPLAY_OPTIONS_INIT"));
  memcpy(out, &given, in->struct_size);
  const char *why = NULL;
  double v = 0;
  const char *bad = invalid_field(out, &why, &v);
  if (bad != NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_replay_create: options.%s %s (got %g)", bad, why, v);
  if (out->allocator != NULL)
    WSRL__TRY(wsrl__allocator_check(out->allocator, "wsrl_replay_create: options.allocator"));
  return WSRL_OK;
}

static void free_storage(wsrl_replay_t *r) {
  wsrl__aligned_free(&r->alloc, r->obs);
  wsrl__aligned_free(&r->alloc, r->next_obs);
  wsrl__aligned_free(&r->alloc, r->action);
  wsrl__aligned_free(&r->alloc, r->reward);
  wsrl__aligned_free(&r->alloc, r->mc_return);
  wsrl__aligned_free(&r->alloc, r->flags);
}

wsrl_status_t wsrl_replay_create(wsrl_replay_t **replay_out, int32_t obs_dim, int32_t act_dim, int64_t capacity,
                                 const wsrl_replay_options_t *options) {
  WSRL__CHECK_NULL(replay_out);
  *replay_out = NULL;
  if (obs_dim < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_replay_create: obs_dim must be >= 1 (got %d)", obs_dim);
  if (act_dim < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_replay_create: act_dim must be >= 1 (got %d)", act_dim);
  if (capacity < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_replay_create: capacity must be >= 1 (got %lld)",
                       (long long)capacity);
  int32_t widest = obs_dim > act_dim ? obs_dim : act_dim;
  if ((uint64_t)capacity > (uint64_t)(PTRDIFF_MAX / 8) / (uint64_t)widest)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_replay_create: capacity %lld x %d floats per row does not fit in memory",
                       (long long)capacity, widest);
  wsrl_replay_options_t opt;
  WSRL__TRY(resolve_options(&opt, options));
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, opt.allocator);
  opt.allocator = NULL;

  wsrl_replay_t *r = wsrl__calloc(&alloc, 1, sizeof *r);
  if (r == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_replay_create: cannot allocate the handle");
  r->alloc = alloc;
  r->opt = opt;
  r->obs_dim = obs_dim;
  r->act_dim = act_dim;
  r->capacity = capacity;
  size_t n = (size_t)capacity;
  size_t obs_bytes = n * (size_t)obs_dim * sizeof(float), act_bytes = n * (size_t)act_dim * sizeof(float);
  r->obs = wsrl__aligned_alloc(&alloc, obs_bytes);
  r->next_obs = wsrl__aligned_alloc(&alloc, obs_bytes);
  r->action = wsrl__aligned_alloc(&alloc, act_bytes);
  r->reward = wsrl__aligned_alloc(&alloc, n * sizeof(float));
  r->mc_return = wsrl__aligned_alloc(&alloc, n * sizeof(float));
  r->flags = wsrl__aligned_alloc(&alloc, n);
  r->bytes = (int64_t)(sizeof *r + 2 * obs_bytes + act_bytes + 2 * n * sizeof(float) + n);
  if (!r->obs || !r->next_obs || !r->action || !r->reward || !r->mc_return || !r->flags) {
    free_storage(r);
    wsrl__free(&alloc, r);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_replay_create: cannot allocate %lld bytes for %lld transitions",
                       (long long)(2 * obs_bytes + act_bytes + 9 * n), (long long)capacity);
  }
  r->sparse_reward = wsrl__replay_stored_reward(&opt, (double)(float)opt.mc_sparse_reward);
  wsrl__rng_seed(&r->rng, opt.seed, REPLAY_RNG_STREAM);
  wsrl__replay_reset(r);
  atomic_init(&r->refs, 1);
  wsrl__handle_created();
  *replay_out = r;
  return WSRL_OK;
}

wsrl__busy *wsrl__replay_busy(wsrl_replay_t *r) { return &r->busy; }

void wsrl__replay_retain(wsrl_replay_t *r) { atomic_fetch_add(&r->refs, 1); }

void wsrl__replay_release(wsrl_replay_t *replay) {
  if (atomic_fetch_sub(&replay->refs, 1) != 1)
    return;
  wsrl__alloc alloc = replay->alloc;
  free_storage(replay);
  wsrl__free(&alloc, replay);
  wsrl__handle_destroyed();
}

void wsrl_replay_destroy(wsrl_replay_t *replay) {
  if (replay != NULL)
    wsrl__replay_release(replay);
}

void wsrl__replay_reset(wsrl_replay_t *r) {
  r->size = r->head = r->closed = r->open_len = 0;
  r->open_all_sparse = 1;
}

/* ---- MC return-to-go ---- */

/* G over logical rows [first, first + len), all of one episode. */
static void mc_span(wsrl_replay_t *r, int64_t first, int64_t len, int sparse) {
  if (sparse) {
    float v = (float)((double)r->sparse_reward / (1.0 - r->opt.discount));
    for (int64_t i = 0; i < len; i++)
      r->mc_return[wsrl__replay_slot(r, first + i)] = v;
    return;
  }
  double g = 0, gamma = r->opt.discount;
  for (int64_t i = len - 1; i >= 0; i--) {
    int64_t s = wsrl__replay_slot(r, first + i);
    g = (double)r->reward[s] + ((r->flags[s] & WSRL__REPLAY_TERMINATED) ? 0.0 : gamma * g);
    r->mc_return[s] = (float)g;
  }
}

/* Provisional values of the open episode: the return a truncation now would give. */
static void mc_open_tail(wsrl_replay_t *r) {
  if (r->open_len > 0)
    mc_span(r, r->size - r->open_len, r->open_len, r->opt.mc_sparse && r->open_all_sparse);
}

/* Write one row at head, keeping the episode counters right when the oldest
 * row is overwritten. The reward is in stored units; clip > 0 clips the stored
 * action. Returns 1 when the row closed an episode (then open_len counts it). */
static int push_row(wsrl_replay_t *r, const float *obs, const float *action, float reward, const float *next_obs,
                    uint8_t flags, float clip) {
  int64_t s = r->head;
  if (r->size == r->capacity) {
    if (r->flags[s] & WSRL__REPLAY_END)
      r->closed--;
    else if (r->open_len == r->size)
      r->open_len--; /* the whole buffer is one open episode: its oldest row goes */
  } else {
    r->size++;
  }
  int32_t O = r->obs_dim, A = r->act_dim;
  memcpy(r->obs + s * O, obs, (size_t)O * sizeof(float));
  memcpy(r->next_obs + s * O, next_obs, (size_t)O * sizeof(float));
  float *a = r->action + s * A;
  memcpy(a, action, (size_t)A * sizeof(float));
  if (clip > 0)
    wsrl__replay_clip(a, A, clip);
  r->reward[s] = reward;
  r->flags[s] = flags;
  r->mc_return[s] = 0;
  r->head = s + 1 == r->capacity ? 0 : s + 1;
  r->open_len++;
  if (reward != r->sparse_reward)
    r->open_all_sparse = 0;
  if (flags & WSRL__REPLAY_END) {
    r->closed++;
    return 1;
  }
  return 0;
}

/* The episode that push_row just closed: compute its returns (or keep copied
 * ones) and start a new one. */
static void close_episode(wsrl_replay_t *r, int compute) {
  if (compute)
    mc_open_tail(r);
  r->open_len = 0;
  r->open_all_sparse = 1;
}

void wsrl__replay_rebuild(wsrl_replay_t *r) {
  r->closed = 0;
  int64_t start = 0;
  for (int64_t i = 0; i < r->size; i++) {
    int64_t s = wsrl__replay_slot(r, i);
    if (!(r->flags[s] & WSRL__REPLAY_END))
      continue;
    int all = 1;
    for (int64_t k = start; k <= i && all; k++)
      all = r->reward[wsrl__replay_slot(r, k)] == r->sparse_reward;
    mc_span(r, start, i + 1 - start, r->opt.mc_sparse && all);
    r->closed++;
    start = i + 1;
  }
  r->open_len = r->size - start;
  r->open_all_sparse = 1;
  for (int64_t k = start; k < r->size; k++)
    if (r->reward[wsrl__replay_slot(r, k)] != r->sparse_reward)
      r->open_all_sparse = 0;
  mc_open_tail(r);
}

/* ---- adding ---- */

static int64_t first_nonfinite(const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return i;
  return -1;
}

static wsrl_status_t nonfinite_error(const char *fn, int single, const char *what, int64_t row, int64_t elem,
                                     float value) {
  if (single)
    return wsrl__error(WSRL_ERR_NON_FINITE, "%s: '%s'[%lld] is %g; nothing was stored", fn, what,
                       (long long)elem, (double)value);
  return wsrl__error(WSRL_ERR_NON_FINITE, "%s: '%s' row %lld element %lld is %g; nothing was stored", fn, what,
                     (long long)row, (long long)elem, (double)value);
}

/* Validate every row, then insert them all: add and add_batch share this. */
static wsrl_status_t add_rows(wsrl_replay_t *r, const char *fn, int single, int64_t n, const float *obs,
                              const float *action, const float *reward, const float *next_obs,
                              const int32_t *terminated, const int32_t *truncated) {
  int32_t O = r->obs_dim, A = r->act_dim;
  for (int64_t i = 0; i < n; i++) {
    int64_t e;
    if ((e = first_nonfinite(obs + i * O, O)) >= 0)
      return nonfinite_error(fn, single, "obs", i, e, obs[i * O + e]);
    if ((e = first_nonfinite(action + i * A, A)) >= 0)
      return nonfinite_error(fn, single, "action", i, e, action[i * A + e]);
    if ((e = first_nonfinite(next_obs + i * O, O)) >= 0)
      return nonfinite_error(fn, single, "next_obs", i, e, next_obs[i * O + e]);
    if (!isfinite(reward[i]))
      return nonfinite_error(fn, single, "reward", i, 0, reward[i]);
    float stored = wsrl__replay_stored_reward(&r->opt, reward[i]);
    if (!isfinite(stored))
      return wsrl__error(WSRL_ERR_NON_FINITE,
                         "%s: reward %g (row %lld) overflows to %g after scale %g and bias %g; nothing was stored",
                         fn, (double)reward[i], (long long)i, (double)stored, r->opt.reward_scale,
                         r->opt.reward_bias);
    if (fabsf(stored) > wsrl__replay_reward_limit(r))
      return wsrl__error(WSRL_ERR_NON_FINITE,
                         "%s: reward %g (row %lld, stored %g) is beyond %g, past which a discounted return "
                         "(discount %g) overflows float; nothing was stored",
                         fn, (double)reward[i], (long long)i, (double)stored, (double)wsrl__replay_reward_limit(r),
                         r->opt.discount);
  }
  float clip = (float)r->opt.action_clip;
  for (int64_t i = 0; i < n; i++) {
    uint8_t flags = (uint8_t)((terminated && terminated[i] ? WSRL__REPLAY_TERMINATED : 0u) |
                              (truncated && truncated[i] ? WSRL__REPLAY_TRUNCATED : 0u));
    if (push_row(r, obs + i * O, action + i * A, wsrl__replay_stored_reward(&r->opt, reward[i]),
                 next_obs + i * O, flags, clip))
      close_episode(r, 1);
  }
  mc_open_tail(r);
  return WSRL_OK;
}

static wsrl_status_t replay_add_impl(wsrl_replay_t *replay, const float *obs, const float *action, float reward,
                                     const float *next_obs, int32_t terminated, int32_t truncated) {
  return add_rows(replay, "wsrl_replay_add", 1, 1, obs, action, &reward, next_obs, &terminated, &truncated);
}

wsrl_status_t wsrl_replay_add(wsrl_replay_t *replay, const float *obs, const float *action, float reward,
                              const float *next_obs, int32_t terminated, int32_t truncated) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(obs);
  WSRL__CHECK_NULL(action);
  WSRL__CHECK_NULL(next_obs);
  WSRL__GUARDED(wsrl__replay_busy(replay), WSRL__BUSY_WRITE, "replay buffer", "wsrl_replay_add", replay_add_impl(replay, obs, action, reward, next_obs, terminated, truncated));
}

static wsrl_status_t replay_add_batch_impl(wsrl_replay_t *replay, int64_t count, const float *obs, const float *action,
                                           const float *reward, const float *next_obs, const int32_t *terminated,
                                           const int32_t *truncated) {
  if (count < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: count must be >= 0 (got %lld)", "wsrl_replay_add_batch",
                       (long long)count);
  if (count == 0)
    return WSRL_OK;
  WSRL__CHECK_NULL(obs);
  WSRL__CHECK_NULL(action);
  WSRL__CHECK_NULL(reward);
  WSRL__CHECK_NULL(next_obs);
  return add_rows(replay, "wsrl_replay_add_batch", 0, count, obs, action, reward, next_obs, terminated, truncated);
}

wsrl_status_t wsrl_replay_add_batch(wsrl_replay_t *replay, int64_t count, const float *obs, const float *action,
                                    const float *reward, const float *next_obs, const int32_t *terminated,
                                    const int32_t *truncated) {
  WSRL__CHECK_NULL(replay);
  WSRL__GUARDED(wsrl__replay_busy(replay), WSRL__BUSY_WRITE, "replay buffer", "wsrl_replay_add_batch", replay_add_batch_impl(replay, count, obs, action, reward, next_obs, terminated, truncated));
}

/* ---- append ---- */

static int same_mc_rule(const wsrl_replay_t *a, const wsrl_replay_t *b) {
  return a->opt.discount == b->opt.discount && a->opt.mc_sparse == b->opt.mc_sparse &&
         (!a->opt.mc_sparse || a->sparse_reward == b->sparse_reward);
}

static wsrl_status_t replay_append_impl(wsrl_replay_t *dst, const wsrl_replay_t *src) {
  if (dst == src)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: 'dst' and 'src' are the same buffer", "wsrl_replay_append");
  if (dst->obs_dim != src->obs_dim || dst->act_dim != src->act_dim)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "%s: 'src' has obs_dim %d, act_dim %d but 'dst' has obs_dim %d, act_dim %d", "wsrl_replay_append",
                       src->obs_dim, src->act_dim, dst->obs_dim, dst->act_dim);
  if (dst->open_len > 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE,
                       "%s: 'dst' has an open episode of %lld transitions; close it (terminated or truncated) "
                       "before appending", "wsrl_replay_append", (long long)dst->open_len);
  int same = same_mc_rule(dst, src);
  int32_t O = src->obs_dim, A = src->act_dim;
  for (int64_t i = 0; i < src->size; i++) {
    int64_t s = wsrl__replay_slot(src, i);
    int64_t d = dst->head;
    int closed = push_row(dst, src->obs + s * O, src->action + s * A, src->reward[s], src->next_obs + s * O,
                          src->flags[s], 0.0f);
    if (same)
      dst->mc_return[d] = src->mc_return[s];
    if (closed)
      close_episode(dst, !same);
  }
  if (!same)
    mc_open_tail(dst);
  else if (dst->open_len > 0)
    dst->open_all_sparse = src->open_all_sparse;
  return WSRL_OK;
}

wsrl_status_t wsrl_replay_append(wsrl_replay_t *dst, const wsrl_replay_t *src) {
  WSRL__CHECK_NULL(dst);
  WSRL__CHECK_NULL(src);
  WSRL__TRY(wsrl__busy_enter(wsrl__replay_busy(dst), WSRL__BUSY_WRITE, "replay buffer", "wsrl_replay_append"));
  wsrl_status_t st = wsrl__busy_enter(wsrl__replay_busy((wsrl_replay_t *)src), WSRL__BUSY_READ, "replay buffer", "wsrl_replay_append");
  if (st == WSRL_OK) {
    st = replay_append_impl(dst, src);
    wsrl__busy_leave(wsrl__replay_busy((wsrl_replay_t *)src), WSRL__BUSY_READ);
  }
  wsrl__busy_leave(wsrl__replay_busy(dst), WSRL__BUSY_WRITE);
  return st;
}

/* ---- reading back and counters ---- */

static wsrl_status_t replay_get_impl(const wsrl_replay_t *replay, int64_t first, int64_t count, float *obs_out,
                                     float *action_out, float *reward_out, float *next_obs_out, int32_t *terminated_out,
                                     int32_t *truncated_out, float *mc_return_out) {
  if (first < 0 || count < 0 || first > replay->size || count > replay->size - first)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "%s: %lld rows from row %lld (count, first) are not within the %lld stored transitions",
                       "wsrl_replay_get", (long long)count, (long long)first, (long long)replay->size);
  int32_t O = replay->obs_dim, A = replay->act_dim;
  for (int64_t i = 0; i < count; i++) {
    int64_t s = wsrl__replay_slot(replay, first + i);
    if (obs_out)
      memcpy(obs_out + i * O, replay->obs + s * O, (size_t)O * sizeof(float));
    if (action_out)
      memcpy(action_out + i * A, replay->action + s * A, (size_t)A * sizeof(float));
    if (reward_out)
      reward_out[i] = replay->reward[s];
    if (next_obs_out)
      memcpy(next_obs_out + i * O, replay->next_obs + s * O, (size_t)O * sizeof(float));
    if (terminated_out)
      terminated_out[i] = (replay->flags[s] & WSRL__REPLAY_TERMINATED) ? 1 : 0;
    if (truncated_out)
      truncated_out[i] = (replay->flags[s] & WSRL__REPLAY_TRUNCATED) ? 1 : 0;
    if (mc_return_out)
      mc_return_out[i] = replay->mc_return[s];
  }
  return WSRL_OK;
}

wsrl_status_t wsrl_replay_get(const wsrl_replay_t *replay, int64_t first, int64_t count, float *obs_out,
                              float *action_out, float *reward_out, float *next_obs_out, int32_t *terminated_out,
                              int32_t *truncated_out, float *mc_return_out) {
  WSRL__CHECK_NULL(replay);
  WSRL__GUARDED(wsrl__replay_busy((wsrl_replay_t *)replay), WSRL__BUSY_READ, "replay buffer", "wsrl_replay_get", replay_get_impl(replay, first, count, obs_out, action_out, reward_out, next_obs_out, terminated_out, truncated_out, mc_return_out));
}

#define GETTER(name, type, expr)                                                                      \
  wsrl_status_t name(const wsrl_replay_t *replay, type *value_out) {                                    \
    WSRL__CHECK_NULL(replay);                                                                         \
    WSRL__CHECK_NULL(value_out);                                                                      \
    wsrl__busy *b = wsrl__replay_busy((wsrl_replay_t *)replay);                                       \
    WSRL__TRY(wsrl__busy_enter(b, WSRL__BUSY_READ, "replay buffer", #name));                          \
    *value_out = (expr);                                                                              \
    wsrl__busy_leave(b, WSRL__BUSY_READ);                                                             \
    return WSRL_OK;                                                                                   \
  }
GETTER(wsrl_replay_size, int64_t, replay->size)
GETTER(wsrl_replay_capacity, int64_t, replay->capacity)
GETTER(wsrl_replay_episode_count, int64_t, replay->closed)
GETTER(wsrl_replay_open_length, int64_t, replay->open_len)
GETTER(wsrl_replay_memory_usage, int64_t, replay->bytes)
#undef GETTER

wsrl_status_t wsrl_replay_dims(const wsrl_replay_t *replay, int32_t *obs_dim_out, int32_t *act_dim_out) {
  WSRL__CHECK_NULL(replay);
  if (obs_dim_out)
    *obs_dim_out = replay->obs_dim;
  if (act_dim_out)
    *act_dim_out = replay->act_dim;
  return WSRL_OK;
}

static wsrl_status_t replay_clear_impl(wsrl_replay_t *replay) {
  wsrl__replay_reset(replay);
  return WSRL_OK;
}

wsrl_status_t wsrl_replay_clear(wsrl_replay_t *replay) {
  WSRL__CHECK_NULL(replay);
  WSRL__GUARDED(wsrl__replay_busy(replay), WSRL__BUSY_WRITE, "replay buffer", "wsrl_replay_clear", replay_clear_impl(replay));
}

static wsrl_status_t replay_seed_impl(wsrl_replay_t *replay, uint64_t seed) {
  wsrl__rng_seed(&replay->rng, seed, REPLAY_RNG_STREAM);
  return WSRL_OK;
}

wsrl_status_t wsrl_replay_seed(wsrl_replay_t *replay, uint64_t seed) {
  WSRL__CHECK_NULL(replay);
  WSRL__GUARDED(wsrl__replay_busy(replay), WSRL__BUSY_WRITE, "replay buffer", "wsrl_replay_seed", replay_seed_impl(replay, seed));
}

/* ---- glue ---- */

wsrl__rng *wsrl__replay_rng(wsrl_replay_t *replay) { return &replay->rng; }

/* The config key that sets each field wsrl__replay_options_from_config fills. */
static const char *key_of(const char *field) {
  static const char *const map[][2] = {
      {"reward_scale", "replay.reward_scale"},   {"reward_bias", "replay.reward_bias"},
      {"action_clip", "replay.clip_action"},     {"discount", "td.discount"},
      {"mc_sparse", "replay.mc_sparse"},         {"mc_sparse_reward", "replay.mc_sparse_reward"},
      {"allow_zero_reward_scale", "replay.allow_zero_reward_scale"}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(map[i][0], field) == 0)
      return map[i][1];
  return field;
}

wsrl_status_t wsrl__replay_options_from_config(wsrl_replay_options_t *options, const wsrl__config_values *v,
                                               const char *fn) {
  wsrl_replay_options_t o = *options;
  o.reward_scale = v->replay_reward_scale;
  o.reward_bias = v->replay_reward_bias;
  o.action_clip = v->replay_clip_action;
  o.discount = v->td_discount;
  o.mc_sparse = v->replay_mc_sparse;
  o.mc_sparse_reward = v->replay_mc_sparse_reward;
  o.allow_zero_reward_scale = v->replay_allow_zero_reward_scale;
  const char *why = NULL;
  double bad_v = 0;
  const char *bad = invalid_field(&o, &why, &bad_v);
  if (bad != NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: config key '%s' gives replay options.%s that %s (got %g)", fn,
                       key_of(bad), bad, why, bad_v);
  *options = o;
  return WSRL_OK;
}

wsrl_status_t wsrl_replay_options_from_config(const wsrl_config_t *config, wsrl_replay_options_t *options_out) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(options_out);
  WSRL__TRY(wsrl__struct_check_size(options_out->struct_size, sizeof *options_out,
                                    "wsrl_replay_options_from_config: options_out", "WSRL_REPLAY_OPTIONS_INIT"));
  /* Work on a full-size copy: fields past the caller's size read as defaults. */
  wsrl_replay_options_t full = WSRL_REPLAY_OPTIONS_INIT;
  memcpy(&full, options_out, options_out->struct_size);
  WSRL__TRY(wsrl__replay_options_from_config(&full, wsrl__config_values_of(config),
                                             "wsrl_replay_options_from_config"));
  wsrl__struct_copy_out(options_out, &full, options_out->struct_size);
  return WSRL_OK;
}

/* Each way a dataset's options can differ from a config, named. */
wsrl_status_t wsrl__replay_check_agrees(const wsrl_replay_t *data, const wsrl__config_values *v, const char *fn,
                                        const char *what) {
  const wsrl_replay_options_t *o = &data->opt;
  char diff[512];
  size_t n = 0;
  diff[0] = '\0';
#define DIFF(cond, ...)                                                         \
  if ((cond) && n < sizeof diff)                                               \
    n += (size_t)snprintf(diff + n, sizeof diff - n, __VA_ARGS__)
  DIFF(o->discount != v->td_discount, "; discount %.17g vs td.discount %.17g", o->discount, v->td_discount);
  DIFF(o->reward_scale != v->replay_reward_scale, "; reward_scale %.17g vs replay.reward_scale %.17g",
       o->reward_scale, v->replay_reward_scale);
  DIFF(o->reward_bias != v->replay_reward_bias, "; reward_bias %.17g vs replay.reward_bias %.17g", o->reward_bias,
       v->replay_reward_bias);
  DIFF(o->mc_sparse != v->replay_mc_sparse, "; mc_sparse %d vs replay.mc_sparse %d", (int)o->mc_sparse,
       (int)v->replay_mc_sparse);
  DIFF(o->mc_sparse && v->replay_mc_sparse && o->mc_sparse_reward != v->replay_mc_sparse_reward,
       "; mc_sparse_reward %.17g vs replay.mc_sparse_reward %.17g", o->mc_sparse_reward, v->replay_mc_sparse_reward);
#undef DIFF
  if (diff[0] == '\0')
    return WSRL_OK;
  if (v->replay_mismatch == WSRL__MISMATCH_WARN) {
    wsrl__log(WSRL_LOG_WARN, "%s: %s was built for other learning targets than the agent's config (%s); going on as "
              "replay.mismatch = warn asks", fn, what, diff + 2);
    return WSRL_OK;
  }
  return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                     "%s: %s disagrees with the agent's config (%s): its stored rewards and MC returns are not the "
                     "ones the agent learns from; create it with wsrl_replay_options_from_config() on the agent's "
                     "config, or set replay.mismatch = warn", fn, what, diff + 2);
}

/* ---- for the training loops ---- */

wsrl_status_t wsrl__replay_close_open(wsrl_replay_t *replay) {
  WSRL__CHECK_NULL(replay);
  if (replay->open_len == 0 || replay->size == 0)
    return WSRL_OK;
  /* The open tail already holds the returns a truncation now gives. */
  replay->flags[wsrl__replay_slot(replay, replay->size - 1)] |= WSRL__REPLAY_TRUNCATED;
  replay->closed++;
  close_episode(replay, 0);
  return WSRL_OK;
}
