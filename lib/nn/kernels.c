/* Fused element-wise kernels around the matmuls: LayerNorm + ReLU forward
 * and backward with a per-member scale and bias, and the one-unit output
 * head. oneDNN's layer normalization keeps one scale/shift for all rows,
 * so E members would need E primitive runs plus separate ReLU and bias
 * passes; these loops do it in one pass over memory.
 *
 * Determinism: each row, and each parameter-gradient element, is reduced
 * by one thread in a fixed order, so results do not depend on the thread
 * count. Vector width does change the rounding of the row sums: clones are
 * chosen per CPU, like oneDNN's kernels. */
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
/* Feature chunk of the parameter-gradient reductions. */
#define CHUNK 64

WSRL__CLONES
static void ln_relu_fwd_row(int64_t n, float *y, float *out, const float *gamma, const float *beta, float *rstd_out) {
  if (gamma == NULL) {
    for (int64_t i = 0; i < n; i++)
      out[i] = y[i] > 0.0f ? y[i] : 0.0f;
    return;
  }
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++)
    s += y[i];
  const float mean = s / (float)n;
  float v = 0.0f;
#pragma omp simd reduction(+ : v)
  for (int64_t i = 0; i < n; i++) {
    float d = y[i] - mean;
    v += d * d;
  }
  const float rstd = 1.0f / sqrtf(v / (float)n + LN_EPS);
  *rstd_out = rstd;
  for (int64_t i = 0; i < n; i++) {
    float xh = (y[i] - mean) * rstd;
    float z = gamma[i] * xh + beta[i];
    y[i] = xh;
    out[i] = z > 0.0f ? z : 0.0f;
  }
}

void wsrl__nn_ln_relu_fwd(const wsrl__ln_args *a) {
  const int64_t rows = (int64_t)a->ensemble * a->batch;
  const int64_t n = a->n;
#pragma omp parallel for schedule(static) if (rows * n >= PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t e = r / a->batch, b = r % a->batch;
    const float *g = a->gamma != NULL ? a->gamma + e * n : NULL;
    const float *be = a->beta != NULL ? a->beta + e * n : NULL;
    float *rs = a->rstd != NULL ? a->rstd + r : NULL;
    float dummy;
    ln_relu_fwd_row(n, a->y + e * a->y_es + b * a->y_bs, a->out + r * a->ld_out, g, be, rs != NULL ? rs : &dummy);
  }
}

WSRL__CLONES
static void ln_relu_bwd_row(int64_t n, const float *xh, const float *out, const float *dout, const float *gamma,
                            float rstd, float *dy) {
  if (gamma == NULL) {
    for (int64_t i = 0; i < n; i++)
      dy[i] = out[i] > 0.0f ? dout[i] : 0.0f;
    return;
  }
  float s1 = 0.0f, s2 = 0.0f;
#pragma omp simd reduction(+ : s1, s2)
  for (int64_t i = 0; i < n; i++) {
    float dxh = out[i] > 0.0f ? dout[i] * gamma[i] : 0.0f;
    s1 += dxh;
    s2 += dxh * xh[i];
  }
  const float m1 = s1 / (float)n, m2 = s2 / (float)n;
  for (int64_t i = 0; i < n; i++) {
    float dxh = out[i] > 0.0f ? dout[i] * gamma[i] : 0.0f;
    dy[i] = rstd * (dxh - m1 - xh[i] * m2);
  }
}

WSRL__CLONES
static void ln_param_chunk(int64_t batch, int64_t len, const float *xh, int64_t xh_bs, const float *out, int64_t ld_out,
                           const float *dout, int64_t ld_dout, float *dgamma, float *dbeta) {
  for (int64_t b = 0; b < batch; b++) {
    const float *x = xh + b * xh_bs, *o = out + b * ld_out, *d = dout + b * ld_dout;
#pragma omp simd
    for (int64_t i = 0; i < len; i++) {
      float g = o[i] > 0.0f ? d[i] : 0.0f;
      dgamma[i] += g * x[i];
      dbeta[i] += g;
    }
  }
}

void wsrl__nn_ln_relu_bwd(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, float *dy, float *dgamma,
                          float *dbeta) {
  const int64_t rows = (int64_t)a->ensemble * a->batch;
  const int64_t n = a->n;
#pragma omp parallel for schedule(static) if (rows * n >= PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t e = r / a->batch, b = r % a->batch;
    const int64_t off = e * a->y_es + b * a->y_bs;
    ln_relu_bwd_row(n, a->y + off, a->out + r * a->ld_out, dout + r * ld_dout,
                    a->gamma != NULL ? a->gamma + e * n : NULL, a->rstd != NULL ? a->rstd[r] : 0.0f, dy + off);
  }
  if (a->gamma == NULL || dgamma == NULL)
    return;
  /* Parameter gradients: one (member, feature chunk) per task, rows summed
   * in order, so the result is independent of the thread count. */
  const int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (rows * n >= PAR_MIN)
  for (int64_t t = 0; t < (int64_t)a->ensemble * chunks; t++) {
    const int64_t e = t / chunks, c0 = (t % chunks) * CHUNK;
    const int64_t len = n - c0 < CHUNK ? n - c0 : CHUNK;
    ln_param_chunk(a->batch, len, a->y + e * a->y_es + c0, a->y_bs, a->out + e * a->batch * a->ld_out + c0,
                   a->ld_out, dout + e * a->batch * ld_dout + c0, ld_dout, dgamma + e * n + c0, dbeta + e * n + c0);
  }
}

WSRL__CLONES
static float dot(const float *x, const float *w, int64_t n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++)
    s += x[i] * w[i];
  return s;
}

void wsrl__nn_head1_fwd(int32_t ensemble, int64_t batch, int64_t k1, const float *h, const float *w, float *q) {
  const int64_t rows = (int64_t)ensemble * batch;
#pragma omp parallel for schedule(static) if (rows * k1 >= PAR_MIN)
  for (int64_t r = 0; r < rows; r++)
    q[r] = dot(h + r * k1, w + (r / batch) * k1, k1);
}

WSRL__CLONES
static void scale_row(float *dst, const float *w, float s, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    dst[i] = s * w[i];
}

WSRL__CLONES
static void head1_dw_chunk(int64_t batch, int64_t len, const float *h, int64_t k1, const float *dq, float *dw) {
  for (int64_t b = 0; b < batch; b++) {
    const float *x = h + b * k1;
    const float d = dq[b];
#pragma omp simd
    for (int64_t i = 0; i < len; i++)
      dw[i] += d * x[i];
  }
}

void wsrl__nn_head1_bwd(int32_t ensemble, int64_t batch, int64_t k1, const float *h, const float *w,
                        const float *dq, float *dh, int64_t ld_dh, float *dw) {
  const int64_t rows = (int64_t)ensemble * batch;
  if (dh != NULL) {
#pragma omp parallel for schedule(static) if (rows * k1 >= PAR_MIN)
    for (int64_t r = 0; r < rows; r++)
      scale_row(dh + r * ld_dh, w + (r / batch) * k1, dq[r], k1 - 1);
  }
  if (dw == NULL)
    return;
  const int64_t chunks = (k1 + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(static) if (rows * k1 >= PAR_MIN)
  for (int64_t t = 0; t < (int64_t)ensemble * chunks; t++) {
    const int64_t e = t / chunks, c0 = (t % chunks) * CHUNK;
    const int64_t len = k1 - c0 < CHUNK ? k1 - c0 : CHUNK;
    head1_dw_chunk(batch, len, h + e * batch * k1 + c0, k1, dq + e * batch, dw + e * k1 + c0);
  }
}
