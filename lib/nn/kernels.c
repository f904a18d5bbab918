/* Fused element-wise kernels around the matmuls: LayerNorm + ReLU (+ the
 * one-unit output head) forward and backward with a per-member scale and
 * bias. oneDNN's layer normalization keeps one scale/shift for all rows,
 * so E members would need E primitive runs plus separate ReLU, head and
 * gradient passes; here each row is read once per direction (its second
 * pass hits L1).
 *
 * Statistics follow flax.linen.LayerNorm: var = E[y^2] - E[y]^2 (clamped
 * at 0), eps 1e-6. The forward keeps y and stores mean and 1/std per row;
 * the backward recomputes xhat from them instead of storing it.
 *
 * Determinism: rows are independent; parameter gradients are summed per
 * fixed chunk of rows and the chunks added in order, so results do not
 * depend on the thread count. Vector width changes rounding: clones are
 * picked per CPU, like oneDNN's kernels. */
#include <math.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#  define WSRL__CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#  define WSRL__CLONES
#endif

#define LN_EPS 1e-6f /* flax.linen.LayerNorm's default */
/* Below this many floats a parallel region costs more than it saves. */
#define PAR_MIN 32768
#define FWD_ROWS 16 /* rows per forward task */
#define BWD_ROWS 64 /* rows per backward task (= one parameter partial) */

static int64_t chunks(int64_t batch, int64_t rows) { return (batch + rows - 1) / rows; }

/* Partial sums of one backward task: dgamma, dbeta (n each), head (n + 1). */
static int64_t partial_stride(int64_t n) { return (3 * n + 1 + 15) / 16 * 16; }

size_t wsrl__nn_ln_partial_floats(int32_t ensemble, int64_t max_batch, int64_t n) {
  return (size_t)((int64_t)ensemble * chunks(max_batch, BWD_ROWS) * partial_stride(n));
}

WSRL__CLONES
static void fwd_rows(const wsrl__ln_args *a, int64_t e, int64_t b0, int64_t b1) {
  const int64_t n = a->n;
  const float *restrict g = a->gamma != NULL ? a->gamma + e * n : NULL;
  const float *restrict be = a->beta != NULL ? a->beta + e * n : NULL;
  const float *restrict hw = a->head_w != NULL ? a->head_w + e * (n + 1) : NULL;
  for (int64_t b = b0; b < b1; b++) {
    const int64_t r = e * a->batch + b;
    const float *restrict y = a->y + e * a->y_es + b * a->y_bs;
    float *restrict o = a->out + r * a->ld_out;
    float q = 0.0f;
    if (g != NULL) {
      float s = 0.0f, ss = 0.0f;
#pragma omp simd reduction(+ : s, ss)
      for (int64_t i = 0; i < n; i++) {
        s += y[i];
        ss += y[i] * y[i];
      }
      const float mean = s / (float)n;
      const float var = fmaxf(ss / (float)n - mean * mean, 0.0f);
      const float rstd = 1.0f / sqrtf(var + LN_EPS);
      if (a->rstd != NULL) {
        a->mean[r] = mean;
        a->rstd[r] = rstd;
      }
      if (hw != NULL) {
#pragma omp simd reduction(+ : q)
        for (int64_t i = 0; i < n; i++) {
          const float z = fmaxf(g[i] * ((y[i] - mean) * rstd) + be[i], 0.0f);
          o[i] = z;
          q += z * hw[i];
        }
      } else {
#pragma omp simd
        for (int64_t i = 0; i < n; i++)
          o[i] = fmaxf(g[i] * ((y[i] - mean) * rstd) + be[i], 0.0f);
      }
    } else if (hw != NULL) {
#pragma omp simd reduction(+ : q)
      for (int64_t i = 0; i < n; i++) {
        const float z = fmaxf(y[i], 0.0f);
        o[i] = z;
        q += z * hw[i];
      }
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        o[i] = fmaxf(y[i], 0.0f);
    }
    if (hw != NULL)
      a->head_q[r] = q + hw[n];
  }
}

void wsrl__nn_ln_relu_fwd(const wsrl__ln_args *a) {
  const int64_t per = chunks(a->batch, FWD_ROWS), tasks = (int64_t)a->ensemble * per;
#pragma omp parallel for schedule(static) if ((int64_t)a->ensemble * a->batch * a->n >= PAR_MIN)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t e = t / per, b0 = (t % per) * FWD_ROWS;
    fwd_rows(a, e, b0, b0 + FWD_ROWS < a->batch ? b0 + FWD_ROWS : a->batch);
  }
}

/* One backward task: rows [b0, b1) of member e; parameter sums into p
 * (dgamma | dbeta | head), which this task owns. */
WSRL__CLONES
static void bwd_rows(const wsrl__ln_args *a, int64_t e, int64_t b0, int64_t b1, const float *dout, int64_t ld_dout,
                     const float *head_dq, float *dy_base, float *restrict p, int want_ln, int want_head) {
  const int64_t n = a->n;
  const float *restrict g = a->gamma != NULL ? a->gamma + e * n : NULL;
  const float *restrict hw = a->head_w != NULL ? a->head_w + e * (n + 1) : NULL;
  float *restrict pg = p, *restrict pb = p + n, *restrict ph = p + 2 * n;
  memset(p, 0, sizeof(float) * (size_t)(3 * n + 1));
  for (int64_t b = b0; b < b1; b++) {
    const int64_t r = e * a->batch + b, off = e * a->y_es + b * a->y_bs;
    const float *restrict o = a->out + r * a->ld_out;
    const float *restrict y = a->y + off;
    float *restrict dy = dy_base + off;
    /* dLoss/dout of this row: a matmul's output, or the head's dq * w. */
    const float *restrict dr = dout != NULL ? dout + r * ld_dout : hw;
    const float scale = dout != NULL ? 1.0f : head_dq[r];
    if (want_head) {
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        ph[i] += scale * o[i];
      ph[n] += scale; /* bias: the ones column */
    }
    if (g == NULL) {
#pragma omp simd
      for (int64_t i = 0; i < n; i++)
        dy[i] = o[i] > 0.0f ? scale * dr[i] : 0.0f;
      continue;
    }
    const float mean = a->mean[r], rstd = a->rstd[r];
    float s1 = 0.0f, s2 = 0.0f;
    if (want_ln) {
#pragma omp simd reduction(+ : s1, s2)
      for (int64_t i = 0; i < n; i++) {
        const float gi = o[i] > 0.0f ? scale * dr[i] : 0.0f;
        const float xh = (y[i] - mean) * rstd;
        const float dxh = gi * g[i];
        s1 += dxh;
        s2 += dxh * xh;
        pg[i] += gi * xh;
        pb[i] += gi;
      }
    } else {
#pragma omp simd reduction(+ : s1, s2)
      for (int64_t i = 0; i < n; i++) {
        const float dxh = o[i] > 0.0f ? scale * dr[i] * g[i] : 0.0f;
        s1 += dxh;
        s2 += dxh * ((y[i] - mean) * rstd);
      }
    }
    const float m1 = s1 / (float)n, m2 = s2 / (float)n;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
      const float dxh = o[i] > 0.0f ? scale * dr[i] * g[i] : 0.0f;
      dy[i] = rstd * (dxh - m1 - ((y[i] - mean) * rstd) * m2);
    }
  }
}

WSRL__CLONES
static void add_rows(float *restrict dst, const float *restrict src, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++)
    dst[i] += src[i];
}

void wsrl__nn_ln_relu_bwd(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, const float *head_dq,
                          float *dy, float *dgamma, float *dbeta, float *dhead_w, float *partial) {
  const int64_t n = a->n, per = chunks(a->batch, BWD_ROWS), tasks = (int64_t)a->ensemble * per;
  const int64_t ps = partial_stride(n);
  const int want_ln = a->gamma != NULL && dgamma != NULL, want_head = a->head_w != NULL && dhead_w != NULL;
#pragma omp parallel for schedule(static) if ((int64_t)a->ensemble * a->batch * n >= PAR_MIN)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t e = t / per, b0 = (t % per) * BWD_ROWS;
    bwd_rows(a, e, b0, b0 + BWD_ROWS < a->batch ? b0 + BWD_ROWS : a->batch, dout, ld_dout, head_dq, dy,
             partial + t * ps, want_ln, want_head);
  }
  if (!want_ln && !want_head)
    return;
  /* Chunks added in a fixed order, whatever thread computed them. */
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t e = t / per;
    const float *p = partial + t * ps;
    if (want_ln) {
      add_rows(dgamma + e * n, p, n);
      add_rows(dbeta + e * n, p + n, n);
    }
    if (want_head)
      add_rows(dhead_w + e * (n + 1), p + 2 * n, n + 1);
  }
}
