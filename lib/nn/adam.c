/* Adam (optax's scale_by_adam + learning rate), norms and learned scalars. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_THREAD__)
/* (Not under ThreadSanitizer: its runtime is not up yet when the loader
 * runs the clones' ifunc resolvers, and the process crashes at start.) */
#  define WSRL__CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#  define WSRL__CLONES
#endif

#define ADAM_BLOCK 16384

void wsrl__adam_cfg_from_config(wsrl__adam_cfg *cfg, const wsrl__config_values *v, double lr) {
  cfg->lr = (float)lr;
  cfg->beta1 = (float)v->optim_adam_beta1;
  cfg->beta2 = (float)v->optim_adam_beta2;
  cfg->eps = (float)v->optim_adam_eps;
  cfg->grad_clip = (float)v->optim_grad_clip;
}

/* Adam's step constants (bias corrections folded into a and c). */
typedef struct adam_k {
  float gs, b1, b2, ob1, ob2, a, c, eps;
} adam_k;

/* Element i: new moments into m[i], v[i]; returns the new parameter. */
static inline __attribute__((always_inline)) float adam_elem(const adam_k *k, float p, float g, float *m, float *v) {
  const float gi = g * k->gs;
  const float mi = k->b1 * *m + k->ob1 * gi;
  const float vi = k->b2 * *v + k->ob2 * gi * gi;
  *m = mi;
  *v = vi;
  return p - k->a * mi / (sqrtf(vi * k->c) + k->eps);
}

WSRL__CLONES
static void adam_block(float *p, const float *g, float *m, float *v, size_t n, adam_k k) {
#pragma omp simd
  for (size_t i = 0; i < n; i++)
    p[i] = adam_elem(&k, p[i], g[i], m + i, v + i);
}

/* adam_block with the Polyak average of the new parameters in the same
 * loop: tp = tau p + (1 - tau) tp, the expression wsrl__mlp_polyak uses
 * (no FMA contraction under -std=c11), so the bits are those of the two
 * passes one after the other. */
WSRL__CLONES
static void adam_polyak_block(float *p, const float *g, float *m, float *v, float *tp, size_t n, adam_k k, float tau) {
  const float keep = 1.0f - tau;
#pragma omp simd
  for (size_t i = 0; i < n; i++) {
    const float pi = adam_elem(&k, p[i], g[i], m + i, v + i);
    p[i] = pi;
    tp[i] = tau * pi + keep * tp[i];
  }
}

/* One Adam step's arrays, shared by its blocks. */
typedef struct fused_job {
  const adam_k *ak;
  float *p;
  const float *g;
  float *m, *v;
  size_t n;
  const wsrl__adam_fused *x;
} fused_job;

/* Block k of a fused step: Adam (with Polyak), then the bf16 copies and
 * the gradient zeroed for the next backward, while the block is in L1/L2. */
static void fused_block(const void *job, int64_t k) {
  const fused_job *j = job;
  const size_t i0 = (size_t)k * ADAM_BLOCK, len = j->n - i0 < ADAM_BLOCK ? j->n - i0 : ADAM_BLOCK;
  const wsrl__adam_fused *x = j->x;
  float *tp = x != NULL ? x->target : NULL;
  if (tp != NULL)
    adam_polyak_block(j->p + i0, j->g + i0, j->m + i0, j->v + i0, tp + i0, len, *j->ak, x->tau);
  else
    adam_block(j->p + i0, j->g + i0, j->m + i0, j->v + i0, len, *j->ak);
  if (x != NULL && x->p16 != NULL)
    wsrl__nn_bf16_block(x->p16 + i0, j->p + i0, (int64_t)len);
  if (x != NULL && x->target16 != NULL)
    wsrl__nn_bf16_block(x->target16 + i0, tp + i0, (int64_t)len);
  if (x != NULL && x->grad_zero != NULL)
    memset(x->grad_zero + i0, 0, len * sizeof(float));
}

/* Step t's constants: bias corrections in double once per step; the
 * element loop is float. */
static adam_k adam_consts(const wsrl__adam_cfg *cfg, int64_t t, float g_scale) {
  const double bc1 = 1.0 - pow((double)cfg->beta1, (double)t);
  const double bc2 = 1.0 - pow((double)cfg->beta2, (double)t);
  return (adam_k){g_scale, cfg->beta1, cfg->beta2, 1.0f - cfg->beta1, 1.0f - cfg->beta2,
                  (float)((double)cfg->lr / bc1), (float)(1.0 / bc2), cfg->eps};
}

void wsrl__adam_update(const wsrl__adam_cfg *cfg, int64_t t, float g_scale, float *p, const float *g, float *m,
                       float *v, size_t n) {
  const adam_k ak = adam_consts(cfg, t, g_scale);
  const int64_t blocks = (int64_t)((n + ADAM_BLOCK - 1) / ADAM_BLOCK);
  const fused_job job = {&ak, p, g, m, v, n, NULL};
  wsrl__nn_tasks(blocks, blocks, 2, fused_block, &job);
}

WSRL__CLONES
static double sumsq_block(const float *x, size_t n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (size_t i = 0; i < n; i++)
    s += (double)x[i] * (double)x[i];
  return s;
}

size_t wsrl__adam_blocks(size_t n) { return (n + ADAM_BLOCK - 1) / ADAM_BLOCK; }

static void sumsq_part(const float *g, size_t n, double *part, int64_t k) {
  const size_t i0 = (size_t)k * ADAM_BLOCK;
  part[k] = sumsq_block(g + i0, n - i0 < ADAM_BLOCK ? n - i0 : ADAM_BLOCK);
}

/* The norm from the blocks' sums (in block order: wsrl__nn_l2norm's bits)
 * and the step's constants; 0 where the norm is not finite. */
static int clipped_k(const wsrl__adam_cfg *cfg, int64_t t, double extra_sumsq, const double *part, int64_t blocks,
                     adam_k *ak, double *norm_out) {
  double total = 0.0;
  for (int64_t k = 0; k < blocks; k++)
    total += part[k];
  const double own = sqrt(total), norm = sqrt(own * own + extra_sumsq);
  *norm_out = norm;
  if (!isfinite(norm))
    return 0;
  float scale = 1.0f;
  if (cfg->grad_clip > 0.0f && norm > (double)cfg->grad_clip)
    scale = (float)((double)cfg->grad_clip / norm);
  *ak = adam_consts(cfg, t, scale);
  return 1;
}

/* Set i's block k of the global block index g (sets' blocks in order). */
static void set_block(const wsrl__adam_set *sets, int32_t count, int64_t g, int32_t *i, int64_t *k) {
  *i = 0;
  while (*i < count - 1 && g >= (int64_t)wsrl__adam_blocks(sets[*i].n))
    g -= (int64_t)wsrl__adam_blocks(sets[(*i)++].n);
  *k = g;
}

int64_t wsrl__adam_sets_blocks(const wsrl__adam_set *sets, int32_t count) {
  int64_t total = 0;
  for (int32_t i = 0; i < count; i++)
    total += (int64_t)wsrl__adam_blocks(sets[i].n);
  return total;
}

void wsrl__adam_norm_block(const wsrl__adam_set *sets, int32_t count, int64_t g) {
  int32_t i;
  int64_t k;
  set_block(sets, count, g, &i, &k);
  sumsq_part(sets[i].g, sets[i].n, sets[i].part, k);
}

void wsrl__adam_pass_block(const wsrl__adam_set *sets, int32_t count, int64_t g) {
  int32_t i;
  int64_t k;
  set_block(sets, count, g, &i, &k);
  /* Every block adds its set's sums again (a few dozen doubles, in block
   * order), so all threads agree on the norm and on skipping. */
  const wsrl__adam_set *set = &sets[i];
  adam_k ak;
  double norm;
  if (!clipped_k(set->cfg, set->t, set->extra_sumsq, set->part, (int64_t)wsrl__adam_blocks(set->n), &ak, &norm))
    return;
  const fused_job job = {&ak, set->p, set->g, set->m, set->v, set->n, &set->x};
  fused_block(&job, k);
}

void wsrl__adam_sets_done(wsrl__adam_set *sets, int32_t count) {
  for (int32_t s = 0; s < count; s++) {
    adam_k ak;
    sets[s].stepped = clipped_k(sets[s].cfg, sets[s].t, sets[s].extra_sumsq, sets[s].part,
                                (int64_t)wsrl__adam_blocks(sets[s].n), &ak, &sets[s].norm);
    sets[s].scale = sets[s].stepped ? ak.gs : 1.0f;
  }
}

void wsrl__adam_steps_clipped(wsrl__adam_set *sets, int32_t count) {
  const int64_t total = wsrl__adam_sets_blocks(sets, count);
  if (wsrl__nn_fork(total, 2)) {
    /* One region: the norms' block sums, the barrier, the passes. */
#pragma omp parallel
    {
#pragma omp for schedule(static)
      for (int64_t g = 0; g < total; g++)
        wsrl__adam_norm_block(sets, count, g);
#pragma omp for schedule(static) nowait
      for (int64_t g = 0; g < total; g++)
        wsrl__adam_pass_block(sets, count, g);
    }
  } else {
    for (int64_t g = 0; g < total; g++)
      wsrl__adam_norm_block(sets, count, g);
    for (int64_t g = 0; g < total; g++)
      wsrl__adam_pass_block(sets, count, g);
  }
  wsrl__adam_sets_done(sets, count);
}

/* Blocks g0 + k of x[0, n) into part[k]. */
typedef struct sumsq_job {
  const float *x;
  size_t n, g0;
  double *part;
} sumsq_job;

static void sumsq_task(const void *job, int64_t k) {
  const sumsq_job *j = job;
  const size_t i0 = (j->g0 + (size_t)k) * ADAM_BLOCK;
  j->part[k] = sumsq_block(j->x + i0, j->n - i0 < ADAM_BLOCK ? j->n - i0 : ADAM_BLOCK);
}

double wsrl__nn_l2norm(const float *x, size_t n) {
  /* Fixed blocks summed in a fixed order: the same bits for any thread
   * count. Groups of GROUP blocks keep the partial sums on the stack. */
  enum { GROUP = 64 };
  const size_t blocks = (n + ADAM_BLOCK - 1) / ADAM_BLOCK;
  double total = 0.0;
  for (size_t g0 = 0; g0 < blocks; g0 += GROUP) {
    double part[GROUP];
    const int64_t gn = (int64_t)(blocks - g0 < GROUP ? blocks - g0 : GROUP);
    const sumsq_job job = {x, n, g0, part};
    wsrl__nn_tasks(gn, gn, 2, sumsq_task, &job);
    for (int64_t k = 0; k < gn; k++)
      total += part[k];
  }
  return sqrt(total);
}

double wsrl__softplus(double x) { return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

double wsrl__sigmoid(double x) {
  if (x >= 0.0)
    return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

/* ---- learned scalars ---- */

wsrl_status_t wsrl__scalar_init(wsrl__scalar *s, int32_t kind, double initial_value, const wsrl__adam_cfg *adam) {
  WSRL__CHECK_NULL(s);
  WSRL__CHECK_NULL(adam);
  if (!(initial_value > 0.0) || !isfinite(initial_value))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "learned scalar: initial value must be finite and > 0 (got %g)",
                       initial_value);
  if (kind != WSRL__SCALAR_SOFTPLUS && kind != WSRL__SCALAR_EXP)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "learned scalar: unknown kind %d", kind);
  s->kind = kind;
  s->adam = *adam;
  /* Inverse of the parameterisation: softplus^-1(y) = y + log(-expm1(-y)). */
  s->p = kind == WSRL__SCALAR_EXP ? (float)log(initial_value)
                                   : (float)(initial_value + log(-expm1(-initial_value)));
  wsrl__scalar_reset_adam(s);
  return WSRL_OK;
}

double wsrl__scalar_value(const wsrl__scalar *s) {
  return s->kind == WSRL__SCALAR_EXP ? exp((double)s->p) : wsrl__softplus((double)s->p);
}

double wsrl__scalar_dvalue_dp(const wsrl__scalar *s) {
  return s->kind == WSRL__SCALAR_EXP ? exp((double)s->p) : wsrl__sigmoid((double)s->p);
}

void wsrl__scalar_step(wsrl__scalar *s, double dloss_dvalue) {
  float g = (float)(dloss_dvalue * wsrl__scalar_dvalue_dp(s));
  s->t++;
  wsrl__adam_update(&s->adam, s->t, 1.0f, &s->p, &g, &s->m, &s->v, 1);
}

void wsrl__scalar_reset_adam(wsrl__scalar *s) {
  s->m = 0.0f;
  s->v = 0.0f;
  s->t = 0;
}
