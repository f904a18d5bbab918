/* Actor snapshots: publish without allocation or locks, act in plain C,
 * save and load policy files (see snapshot.h for the slot protocol). */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "core/action.h"
#include "io/io.h"
#include "snapshot.h"

/* Slots per agent: the latest, up to two held by hosts, one to write. */
#define POOL_SLOTS 4
#define FILE_MAGIC "WSRLPOL1"
/* 2: optional sections "obs_norm" (mean then std, obs_dim floats each) and
 * "head" (i32 deterministic, f32 noise); a file without them (any version
 * 1 file) has no normalisation and the Gaussian head. */
#define FILE_VERSION 2u
#define HEAD_BYTES 8
#define SHAPE_INTS (6 + WSRL__NN_MAX_HIDDEN + 1)
#define SHAPE_BYTES (SHAPE_INTS * 4 + 2 * 4 + 8)
#define LN_EPS 1e-6f /* lib/nn/kernels.c's, flax's default */

/* The act path's loops, compiled per instruction set (as lib/nn's kernels). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_THREAD__)
/* (Not under ThreadSanitizer: its runtime is not up yet when the loader
 * runs the clones' ifunc resolvers, and the process crashes at start.) */
#  define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#  define CLONES
#endif

typedef struct shape {
  int32_t obs_dim, act_dim, n_hidden;
  int32_t layer_norm, std_param, tanh_squash;
  int32_t width[WSRL__NN_MAX_HIDDEN + 1]; /* out width of each layer; the last is the head (A or 2A) */
  float std_min, std_max;
  int32_t obs_norm;      /* the slot's weights end with obs mean and std */
  int32_t deterministic; /* wsrl__snap_extras */
  float noise;
} shape;

struct wsrl_policy {
  _Atomic int32_t refs;  /* -1 written, 0 free, n > 0 held */
  wsrl__snap_pool *pool; /* NULL: a standalone (loaded) snapshot */
  wsrl__alloc alloc;
  shape sh;
  uint64_t version;
  float *w; /* layers (W rows, bias row, LN scale, LN bias), log-std (uniform), low, high, obs mean and std */
};

struct wsrl__snap_pool {
  _Atomic int32_t refs; /* 1 for the owner + 1 per host reference */
  _Atomic(wsrl_policy_t *) latest;
  wsrl__alloc alloc;
  int64_t floats;
  wsrl_policy_t slot[POOL_SLOTS];
  float *block;
};

/* ------------------------------------------------------------ the layout */

static int32_t fan_in(const shape *s, int32_t l) { return l == 0 ? s->obs_dim : s->width[l - 1]; }
static int has_ln(const shape *s, int32_t l) { return s->layer_norm && l < s->n_hidden; }

static int64_t layer_floats(const shape *s, int32_t l) {
  return ((int64_t)fan_in(s, l) + 1) * s->width[l] + (has_ln(s, l) ? 2 * (int64_t)s->width[l] : 0);
}

static int64_t weight_floats(const shape *s) {
  int64_t n = 0;
  for (int32_t l = 0; l <= s->n_hidden; l++)
    n += layer_floats(s, l);
  return n + (s->std_param == WSRL__STD_UNIFORM ? s->act_dim : 0) + 2 * (int64_t)s->act_dim;
}

static const float *log_std_of(const wsrl_policy_t *p) {
  const float *w = p->w;
  for (int32_t l = 0; l <= p->sh.n_hidden; l++)
    w += layer_floats(&p->sh, l);
  return w;
}
static const float *low_of(const wsrl_policy_t *p) {
  return log_std_of(p) + (p->sh.std_param == WSRL__STD_UNIFORM ? p->sh.act_dim : 0);
}
static const float *high_of(const wsrl_policy_t *p) { return low_of(p) + p->sh.act_dim; }
static const float *mean_of(const wsrl_policy_t *p) { return high_of(p) + p->sh.act_dim; }
static const float *std_of(const wsrl_policy_t *p) { return mean_of(p) + p->sh.obs_dim; }
static int64_t norm_floats(const shape *s) { return s->obs_norm ? 2 * (int64_t)s->obs_dim : 0; }

/* Each std must be > 0 and finite (a division), each mean finite. */
static wsrl_status_t check_norm(const wsrl_policy_t *p, const char *what) {
  for (int32_t i = 0; p->sh.obs_norm && i < p->sh.obs_dim; i++)
    if (!isfinite(mean_of(p)[i]) || !(std_of(p)[i] > 0.0f) || !isfinite(std_of(p)[i]))
      return wsrl__error(WSRL_ERR_CORRUPT, "%s: observation normalisation %d (mean %g, std %g) needs a finite mean "
                         "and a finite std > 0", what, i, (double)mean_of(p)[i], (double)std_of(p)[i]);
  return WSRL_OK;
}

static wsrl_status_t check_shape(const shape *s, const char *what) {
  if (s->obs_dim < 1 || s->act_dim < 1 || s->n_hidden < 1 || s->n_hidden > WSRL__NN_MAX_HIDDEN)
    return wsrl__error(WSRL_ERR_CORRUPT, "%s: sizes out of range (obs_dim %d, act_dim %d, %d hidden layers)", what,
                       s->obs_dim, s->act_dim, s->n_hidden);
  if (s->obs_dim > WSRL_POLICY_MAX_WIDTH || s->act_dim > WSRL_POLICY_MAX_WIDTH / 2)
    return wsrl__error(WSRL_ERR_UNSUPPORTED, "%s: obs_dim %d or act_dim %d is above the snapshot limit %d", what,
                       s->obs_dim, s->act_dim, WSRL_POLICY_MAX_WIDTH);
  for (int32_t l = 0; l < s->n_hidden; l++) {
    if (s->width[l] < 1)
      return wsrl__error(WSRL_ERR_CORRUPT, "%s: hidden layer %d is %d wide", what, l, s->width[l]);
    if (s->width[l] > WSRL_POLICY_MAX_WIDTH)
      return wsrl__error(WSRL_ERR_UNSUPPORTED, "%s: hidden layer %d is %d wide; snapshots take at most %d", what, l,
                         s->width[l], WSRL_POLICY_MAX_WIDTH);
  }
  const int32_t head = s->std_param == WSRL__STD_EXP ? 2 * s->act_dim : s->act_dim;
  if ((s->std_param != WSRL__STD_EXP && s->std_param != WSRL__STD_UNIFORM) || s->width[s->n_hidden] != head ||
      (s->layer_norm != 0 && s->layer_norm != 1) || (s->tanh_squash != 0 && s->tanh_squash != 1) ||
      !(s->std_min > 0.0f) || !(s->std_max >= s->std_min) || !isfinite(s->std_max) ||
      (s->obs_norm != 0 && s->obs_norm != 1) || (s->deterministic != 0 && s->deterministic != 1) ||
      !(s->noise >= 0.0f) || !isfinite(s->noise))
    return wsrl__error(WSRL_ERR_CORRUPT, "%s: inconsistent head (std parameterization %d, head width %d, act_dim %d)",
                       what, s->std_param, s->width[s->n_hidden], s->act_dim);
  return WSRL_OK;
}

static void shape_of(shape *s, const wsrl__policy *pi, const wsrl__snap_extras *ex) {
  const wsrl__policy_spec *ps = wsrl__policy_get_spec(pi);
  memset(s, 0, sizeof *s);
  s->obs_dim = ps->obs_dim;
  s->act_dim = ps->act_dim;
  s->n_hidden = ps->n_hidden;
  for (int32_t l = 0; l < ps->n_hidden; l++)
    s->width[l] = ps->hidden[l];
  s->width[ps->n_hidden] = ps->std_param == WSRL__STD_EXP ? 2 * ps->act_dim : ps->act_dim;
  s->layer_norm = ps->layer_norm != 0;
  s->std_param = ps->std_param;
  s->tanh_squash = ps->tanh_squash != 0;
  s->std_min = ps->std_min;
  s->std_max = ps->std_max;
  s->obs_norm = ex->obs_mean != NULL;
  s->deterministic = ex->deterministic != 0;
  s->noise = ex->noise;
}

/* Copy the actor's parameters into w (the layout above, bounds excluded):
 * the actor's documented flat vector (wsrl/agent.h), so a policy file
 * holds what wsrl_agent_get_params(WSRL_NET_ACTOR) returns. */
static void copy_actor(const shape *s, wsrl__policy *pi, float *w) {
  (void)wsrl__policy_get_params(pi, w, weight_floats(s) - 2 * (int64_t)s->act_dim); /* sizes match by shape_of() */
}

/* ------------------------------------------------------------------ pool */

wsrl_status_t wsrl__snap_pool_create(wsrl__snap_pool **pool_out, wsrl__policy *pi, const float *low,
                                     const float *high, const wsrl__snap_extras *ex, const wsrl__alloc *alloc) {
  *pool_out = NULL;
  shape sh;
  shape_of(&sh, pi, ex);
  WSRL__TRY(check_shape(&sh, "policy snapshot"));
  wsrl__snap_pool *pool = wsrl__calloc(alloc, 1, sizeof *pool);
  const int64_t floats = weight_floats(&sh) + norm_floats(&sh);
  float *block = pool != NULL ? wsrl__aligned_alloc(alloc, (size_t)(POOL_SLOTS * floats) * sizeof(float)) : NULL;
  if (block == NULL) {
    wsrl__free(alloc, pool);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating %d policy snapshots of %lld floats", POOL_SLOTS,
                       (long long)floats);
  }
  pool->alloc = *alloc;
  pool->floats = floats;
  pool->block = block;
  atomic_init(&pool->refs, 1);
  for (int i = 0; i < POOL_SLOTS; i++) {
    wsrl_policy_t *p = &pool->slot[i];
    atomic_init(&p->refs, 0);
    p->pool = pool;
    p->alloc = *alloc;
    p->sh = sh;
    p->w = block + i * floats;
    /* Bounds never change: written once into every slot. */
    memcpy((float *)low_of(p), low, (size_t)sh.act_dim * sizeof(float));
    memcpy((float *)high_of(p), high, (size_t)sh.act_dim * sizeof(float));
  }
  atomic_init(&pool->latest, NULL);
  wsrl__snap_pool_publish(pool, pi, ex, 0);
  *pool_out = pool;
  return WSRL_OK;
}

static void pool_unref(wsrl__snap_pool *pool) {
  if (atomic_fetch_sub(&pool->refs, 1) != 1)
    return;
  wsrl__alloc a = pool->alloc;
  wsrl__aligned_free(&a, pool->block);
  wsrl__free(&a, pool);
}

void wsrl__snap_pool_publish(wsrl__snap_pool *pool, wsrl__policy *pi, const wsrl__snap_extras *ex,
                             uint64_t version) {
  wsrl_policy_t *latest = atomic_load(&pool->latest);
  for (int i = 0; i < POOL_SLOTS; i++) {
    wsrl_policy_t *p = &pool->slot[i];
    int32_t expect = 0;
    if (p == latest || !atomic_compare_exchange_strong(&p->refs, &expect, -1))
      continue;
    copy_actor(&p->sh, pi, p->w);
    if (p->sh.obs_norm && ex->obs_mean != NULL) {
      memcpy((float *)mean_of(p), ex->obs_mean, (size_t)p->sh.obs_dim * sizeof(float));
      memcpy((float *)std_of(p), ex->obs_std, (size_t)p->sh.obs_dim * sizeof(float));
    }
    p->version = version;
    atomic_store(&p->refs, 1); /* the pool's "latest" reference; publishes the weights */
    wsrl_policy_t *old = atomic_exchange(&pool->latest, p);
    if (old != NULL)
      atomic_fetch_sub(&old->refs, 1);
    return;
  }
  /* Every slot is held: keep the latest; the next update publishes. */
}

wsrl_policy_t *wsrl__snap_pool_latest(wsrl__snap_pool *pool) {
  atomic_fetch_add(&pool->refs, 1);
  for (;;) {
    wsrl_policy_t *p = atomic_load(&pool->latest);
    int32_t n = atomic_load(&p->refs);
    /* A slot with n > 0 holds a complete snapshot: take it. Otherwise the
     * publisher recycled it after we looked: look again. */
    while (n > 0)
      if (atomic_compare_exchange_weak(&p->refs, &n, n + 1))
        return p;
  }
}

void wsrl__snap_pool_drop(wsrl__snap_pool *pool) {
  if (pool == NULL)
    return;
  wsrl_policy_t *old = atomic_exchange(&pool->latest, NULL);
  if (old != NULL)
    atomic_fetch_sub(&old->refs, 1);
  pool_unref(pool);
}

/* ------------------------------------------------------------ references */

wsrl_status_t wsrl_policy_retain(wsrl_policy_t *policy) {
  WSRL__CHECK_NULL(policy);
  if (policy->pool != NULL)
    atomic_fetch_add(&policy->pool->refs, 1);
  atomic_fetch_add(&policy->refs, 1);
  return WSRL_OK;
}

void wsrl_policy_release(wsrl_policy_t *policy) {
  if (policy == NULL)
    return;
  wsrl__snap_pool *pool = policy->pool;
  const int32_t left = atomic_fetch_sub(&policy->refs, 1) - 1;
  if (pool != NULL) {
    pool_unref(pool);
  } else if (left == 0) {
    wsrl__alloc a = policy->alloc;
    wsrl__aligned_free(&a, policy->w);
    wsrl__free(&a, policy);
    wsrl__handle_destroyed();
  }
}

wsrl_status_t wsrl_policy_info(const wsrl_policy_t *policy, int32_t *obs_dim_out, int32_t *act_dim_out,
                               uint64_t *updates_out) {
  WSRL__CHECK_NULL(policy);
  if (obs_dim_out != NULL)
    *obs_dim_out = policy->sh.obs_dim;
  if (act_dim_out != NULL)
    *act_dim_out = policy->sh.act_dim;
  if (updates_out != NULL)
    *updates_out = policy->version;
  return WSRL_OK;
}

wsrl_status_t wsrl_policy_bounds(const wsrl_policy_t *policy, float *low_out, float *high_out) {
  WSRL__CHECK_NULL(policy);
  if (low_out != NULL)
    memcpy(low_out, low_of(policy), (size_t)policy->sh.act_dim * sizeof(float));
  if (high_out != NULL)
    memcpy(high_out, high_of(policy), (size_t)policy->sh.act_dim * sizeof(float));
  return WSRL_OK;
}

/* ------------------------------------------------------------------- act */

/* y[N] = x[K] W + b: rows of W (K of them, then the bias) are N long. */
CLONES static void dense(const float *restrict x, int32_t K, int32_t N, const float *restrict w, float *restrict y) {
  memcpy(y, w + (int64_t)K * N, (size_t)N * sizeof(float));
  for (int32_t k = 0; k < K; k++) {
    const float xk = x[k];
    const float *restrict row = w + (int64_t)k * N;
    for (int32_t n = 0; n < N; n++)
      y[n] += xk * row[n];
  }
}

/* Sum of a[l] + b[l] over 16 lanes as lib/nn/kernels.c's vsum() adds them
 * (halves, then quarters, then pairs). */
static float lane_sum(const float *a, const float *b) {
  float v[16], h[8], q[4];
  for (int l = 0; l < 16; l++)
    v[l] = a[l] + b[l];
  for (int l = 0; l < 8; l++)
    h[l] = v[l] + v[l + 8];
  for (int l = 0; l < 4; l++)
    q[l] = h[l] + h[l + 4];
  return (q[0] + q[2]) + (q[1] + q[3]);
}

/* relu(LayerNorm(y)) in place. The row statistics add in the order of
 * lib/nn/kernels.c (two 16-lane partial sums), so the snapshot rounds as
 * the agent does: the mean-square minus squared mean cancels, and another
 * order moved actions by up to 4e-7. */
CLONES static void ln_relu(float *y, int32_t n, const float *g, const float *b) {
  float mean = 0.0f, rstd = 1.0f;
  if (g != NULL) {
    float s0[16] = {0}, s1[16] = {0}, q0[16] = {0}, q1[16] = {0};
    int32_t i = 0;
    for (; i + 32 <= n; i += 32)
      for (int l = 0; l < 16; l++) {
        const float u = y[i + l], w = y[i + 16 + l];
        s0[l] += u, s1[l] += w, q0[l] += u * u, q1[l] += w * w;
      }
    for (; i + 16 <= n; i += 16)
      for (int l = 0; l < 16; l++)
        s0[l] += y[i + l], q0[l] += y[i + l] * y[i + l];
    float s = lane_sum(s0, s1), ss = lane_sum(q0, q1);
    for (; i < n; i++)
      s += y[i], ss += y[i] * y[i];
    mean = s / (float)n;
    const float var = ss / (float)n - mean * mean;
    rstd = 1.0f / sqrtf((var > 0.0f ? var : 0.0f) + LN_EPS);
  }
  for (int32_t i = 0; i < n; i++) {
    const float z = g != NULL ? g[i] * ((y[i] - mean) * rstd) + b[i] : y[i];
    y[i] = z > 0.0f ? z : 0.0f;
  }
}

/* splitmix64: the caller's stream, one 64-bit state. */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double normal(uint64_t *s) {
  const double u1 = ((double)(next_u64(s) >> 11) + 1.0) * 0x1.0p-53; /* (0, 1] */
  const double u2 = (double)(next_u64(s) >> 11) * 0x1.0p-53;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

wsrl_status_t wsrl_policy_act(const wsrl_policy_t *policy, const float *obs, int32_t flags, uint64_t *rng_state,
                              float *action_out) {
  WSRL__CHECK_NULL(policy);
  WSRL__CHECK_NULL(obs);
  WSRL__CHECK_NULL(action_out);
  if ((flags & ~(WSRL_ACT_DETERMINISTIC | WSRL_ACT_UNIT)) != 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_policy_act: unknown flags 0x%x", (unsigned)flags);
  const int det = (flags & WSRL_ACT_DETERMINISTIC) != 0;
  if (!det && rng_state == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_policy_act: argument 'rng_state' is NULL (a stochastic action needs a noise stream)");
  const shape *s = &policy->sh;
  if (!wsrl__all_finite(obs, (size_t)s->obs_dim))
    return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_policy_act: the observation holds NaN or infinity");
  /* Per-call workspace on the stack: any number of threads may act. */
  float buf[2][WSRL_POLICY_MAX_WIDTH];
  const float *x = obs, *w = policy->w;
  int32_t cur = 0;
  if (s->obs_norm) { /* as the learner's actor input; layer 0 writes buf[0] */
    for (int32_t i = 0; i < s->obs_dim; i++)
      buf[1][i] = (obs[i] - mean_of(policy)[i]) / std_of(policy)[i];
    x = buf[1];
  }
  for (int32_t l = 0; l <= s->n_hidden; l++, cur ^= 1) {
    const int32_t K = fan_in(s, l), N = s->width[l];
    dense(x, K, N, w, buf[cur]);
    w += ((int64_t)K + 1) * N;
    if (l < s->n_hidden) {
      ln_relu(buf[cur], N, has_ln(s, l) ? w : NULL, has_ln(s, l) ? w + N : NULL);
      w += has_ln(s, l) ? 2 * N : 0;
    }
    x = buf[cur];
  }
  const int32_t A = s->act_dim;
  float *unit = buf[cur]; /* free: x is the other buffer */
  for (int32_t k = 0; k < A; k++) {
    double u = x[k];
    if (!det && !s->deterministic) {
      const double ls = s->std_param == WSRL__STD_EXP ? x[A + k] : log_std_of(policy)[k];
      const double sd = exp(ls);
      u += (sd < s->std_min ? s->std_min : sd > s->std_max ? s->std_max : sd) * normal(rng_state);
    }
    const float a = s->tanh_squash ? (float)tanh(u) : (float)u;
    unit[k] = a > 1.0f ? 1.0f : a < -1.0f ? -1.0f : a;
    if (!det && s->deterministic) { /* the learner's exploration: mode + N(0, noise) */
      const double e = (double)unit[k] + (double)s->noise * normal(rng_state);
      unit[k] = (float)(e > 1.0 ? 1.0 : e < -1.0 ? -1.0 : e);
    }
  }
  /* As wsrl_agent_act: a forward pass that overflowed ends as NaN here, and
   * a controller must get an error, never a NaN action with WSRL_OK. */
  if (!wsrl__all_finite(unit, (size_t)A))
    return wsrl__error(WSRL_ERR_NON_FINITE,
                       "wsrl_policy_act: the policy's action is NaN or infinite (an observation or a parameter out of "
                       "range)");
  if (flags & WSRL_ACT_UNIT)
    memcpy(action_out, unit, (size_t)A * sizeof(float));
  else
    wsrl__action_scale(low_of(policy), high_of(policy), (size_t)A, unit, action_out);
  return WSRL_OK;
}

/* ------------------------------------------------------------ policy file */

static void encode_shape(uint8_t *b, const shape *s, uint64_t version) {
  const int32_t head[6] = {s->obs_dim, s->act_dim, s->n_hidden, s->layer_norm, s->std_param, s->tanh_squash};
  for (int i = 0; i < 6; i++)
    wsrl__store_i32le(b + 4 * i, head[i]);
  for (int i = 0; i <= WSRL__NN_MAX_HIDDEN; i++)
    wsrl__store_i32le(b + 4 * (6 + i), s->width[i]);
  wsrl__store_f32le(b + 4 * SHAPE_INTS, s->std_min);
  wsrl__store_f32le(b + 4 * SHAPE_INTS + 4, s->std_max);
  wsrl__store_u64le(b + 4 * SHAPE_INTS + 8, version);
}

static void decode_shape(const uint8_t *b, shape *s, uint64_t *version) {
  memset(s, 0, sizeof *s);
  int32_t *head[6] = {&s->obs_dim, &s->act_dim, &s->n_hidden, &s->layer_norm, &s->std_param, &s->tanh_squash};
  for (int i = 0; i < 6; i++)
    *head[i] = wsrl__load_i32le(b + 4 * i);
  for (int i = 0; i <= WSRL__NN_MAX_HIDDEN; i++)
    s->width[i] = wsrl__load_i32le(b + 4 * (6 + i));
  s->std_min = wsrl__load_f32le(b + 4 * SHAPE_INTS);
  s->std_max = wsrl__load_f32le(b + 4 * SHAPE_INTS + 4);
  *version = wsrl__load_u64le(b + 4 * SHAPE_INTS + 8);
}

wsrl_status_t wsrl_policy_save(const wsrl_policy_t *policy, const char *path) {
  WSRL__CHECK_NULL(policy);
  WSRL__CHECK_NULL(path);
  uint8_t hdr[SHAPE_BYTES];
  encode_shape(hdr, &policy->sh, policy->version);
  wsrl__secwriter w;
  WSRL__TRY(wsrl__secwriter_open(&w, path, FILE_MAGIC, FILE_VERSION, &policy->alloc));
  wsrl_status_t st = wsrl__secwriter_add(&w, "shape", hdr, sizeof hdr);
  if (st == WSRL_OK)
    st = wsrl__secwriter_begin(&w, "weights");
  if (st == WSRL_OK)
    st = wsrl__secwriter_write_f32(&w, policy->w, (size_t)weight_floats(&policy->sh));
  if (st == WSRL_OK)
    st = wsrl__secwriter_end(&w);
  if (st == WSRL_OK && policy->sh.obs_norm) {
    st = wsrl__secwriter_begin(&w, "obs_norm");
    if (st == WSRL_OK)
      st = wsrl__secwriter_write_f32(&w, mean_of(policy), (size_t)norm_floats(&policy->sh));
    if (st == WSRL_OK)
      st = wsrl__secwriter_end(&w);
  }
  if (st == WSRL_OK && policy->sh.deterministic) {
    uint8_t head[HEAD_BYTES];
    wsrl__store_i32le(head, 1);
    wsrl__store_f32le(head + 4, policy->sh.noise);
    st = wsrl__secwriter_add(&w, "head", head, sizeof head);
  }
  if (st != WSRL_OK) {
    wsrl__secwriter_abort(&w);
    return st;
  }
  return wsrl__secwriter_commit(&w);
}

static wsrl_status_t read_policy(const wsrl__secreader *r, const char *path, const wsrl__alloc *alloc,
                                 wsrl_policy_t **out) {
  const wsrl__section *sec;
  uint8_t hdr[SHAPE_BYTES];
  WSRL__TRY(wsrl__secreader_require(r, "shape", SHAPE_BYTES, &sec));
  WSRL__TRY(wsrl__secreader_read_all(r, sec, hdr));
  shape sh;
  uint64_t version;
  decode_shape(hdr, &sh, &version);
  /* The optional sections of format 2 (absent: identity, Gaussian head). */
  const wsrl__section *head_sec = wsrl__secreader_find(r, "head"), *norm_sec = NULL;
  if (head_sec != NULL) {
    uint8_t head[HEAD_BYTES];
    WSRL__TRY(wsrl__secreader_require(r, "head", HEAD_BYTES, &head_sec));
    WSRL__TRY(wsrl__secreader_read_all(r, head_sec, head));
    sh.deterministic = wsrl__load_i32le(head);
    sh.noise = wsrl__load_f32le(head + 4);
  }
  sh.obs_norm = wsrl__secreader_find(r, "obs_norm") != NULL;
  wsrl_status_t st = check_shape(&sh, path);
  if (st != WSRL_OK)
    return st;
  const int64_t floats = weight_floats(&sh), all = floats + norm_floats(&sh);
  WSRL__TRY(wsrl__secreader_require(r, "weights", floats * (int64_t)sizeof(float), &sec));
  if (sh.obs_norm)
    WSRL__TRY(wsrl__secreader_require(r, "obs_norm", norm_floats(&sh) * (int64_t)sizeof(float), &norm_sec));
  wsrl_policy_t *p = wsrl__calloc(alloc, 1, sizeof *p);
  float *w = p != NULL ? wsrl__aligned_alloc(alloc, (size_t)all * sizeof(float)) : NULL;
  if (w == NULL) {
    wsrl__free(alloc, p);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "%s: allocating %lld floats of weights", path, (long long)all);
  }
  st = wsrl__secreader_read_all(r, sec, w);
  if (st == WSRL_OK && norm_sec != NULL)
    st = wsrl__secreader_read_all(r, norm_sec, w + floats);
  wsrl__f32_swap_le(w, (size_t)all);
  if (st == WSRL_OK && !wsrl__all_finite(w, (size_t)all))
    st = wsrl__error(WSRL_ERR_CORRUPT, "%s: the weights hold NaN or infinity", path);
  p->alloc = *alloc;
  p->sh = sh;
  p->version = version;
  p->w = w;
  atomic_init(&p->refs, 1);
  for (int32_t k = 0; st == WSRL_OK && k < sh.act_dim; k++)
    if (!(low_of(p)[k] < high_of(p)[k]))
      st = wsrl__error(WSRL_ERR_CORRUPT, "%s: action bound %d is not low < high", path, k);
  if (st == WSRL_OK)
    st = check_norm(p, path);
  if (st != WSRL_OK) {
    wsrl__aligned_free(alloc, w);
    wsrl__free(alloc, p);
    return st;
  }
  *out = p;
  return WSRL_OK;
}

wsrl_status_t wsrl_policy_load(wsrl_policy_t **policy_out, const char *path) {
  WSRL__CHECK_NULL(policy_out);
  *policy_out = NULL;
  WSRL__CHECK_NULL(path);
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, NULL);
  wsrl__secreader r;
  WSRL__TRY(wsrl__secreader_open(&r, path, FILE_MAGIC, FILE_VERSION, &alloc));
  const wsrl_status_t st = read_policy(&r, path, &alloc, policy_out);
  wsrl__secreader_close(&r);
  if (st == WSRL_OK)
    wsrl__handle_created();
  return st;
}
