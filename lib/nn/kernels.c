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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && !defined(__SANITIZE_THREAD__)
/* (Not under ThreadSanitizer: its runtime is not up yet when the loader
 * runs the clones' ifunc resolvers, and the process crashes at start.) */
#  define WSRL__CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#  define WSRL__CLONES
#endif

#define LN_EPS 1e-6f /* flax.linen.LayerNorm's default */
/* Below this many floats a parallel region costs more than it saves. */
#define PAR_MIN 32768
#define FWD_ROWS 16 /* rows per forward task */
#define BWD_ROWS 64 /* rows per backward task (= one parameter partial) */

/* max(x, 0) as a compare-select: fmaxf() is a libm call without -ffast-math
 * and would stop vectorisation. */
static inline float relu(float x) { return x > 0.0f ? x : 0.0f; }

static int64_t chunks(int64_t batch, int64_t rows) { return (batch + rows - 1) / rows; }

/* Scratch of one backward task: its partial sums dgamma, dbeta (n each)
 * and head (n + 1), then at row_scratch() the current row's xhat and
 * dLoss/dxhat (n each), which the row's second pass reads back from L1
 * instead of recomputing them. */
static int64_t up16(int64_t n) { return (n + 15) / 16 * 16; }
static int64_t row_scratch(int64_t n) { return up16(3 * n + 1); }
static int64_t partial_stride(int64_t n) { return row_scratch(n) + up16(2 * n); }

size_t wsrl__nn_ln_partial_floats(int32_t ensemble, int64_t max_batch, int64_t n) {
  return (size_t)((int64_t)ensemble * chunks(max_batch, BWD_ROWS) * partial_stride(n));
}

/* 16-float vectors (GCC vector extensions): each clone lowers them to its
 * widest registers. Row sums use fixed lanes and a fixed lane order, so a
 * clone always rounds the same way. (`#pragma omp simd reduction` compiled
 * to stack-resident lane arrays here and ran 3x slower.) */
#if defined(__GNUC__) && !defined(__clang__)
/* The helpers below are always inlined: no vector crosses a call, so the
 * note about the AVX-512 calling convention does not apply. */
#  pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v16 __attribute__((vector_size(64)));
typedef int32_t m16 __attribute__((vector_size(64)));
#define V 16
_Static_assert(FWD_ROWS <= V, "rows_stats holds a forward task's rows in one vector");
#define INL static inline __attribute__((always_inline))
INL v16 vld(const float *p) {
  v16 v;
  memcpy(&v, p, sizeof v);
  return v;
}
INL void vst(float *p, v16 v) { memcpy(p, &v, sizeof v); }
INL v16 vdup(float x) { return (v16){0} + x; }
INL v16 vrelu(v16 z) { return (v16)((m16)z & (z > (v16){0})); }
/* x where o > 0, else 0 (the ReLU mask of the forward output o). */
INL v16 vmask(v16 o, v16 x) { return (v16)((m16)x & (o > (v16){0})); }
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));
/* Horizontal sum as a fixed tree (halves, then quarters): short latency,
 * same order every time. */
INL float vsum(v16 v) {
  v8 lo, hi;
  memcpy(&lo, &v, sizeof lo);
  memcpy(&hi, (const char *)&v + sizeof lo, sizeof hi);
  const v8 a = lo + hi;
  v4 alo, ahi;
  memcpy(&alo, &a, sizeof alo);
  memcpy(&ahi, (const char *)&a + sizeof alo, sizeof ahi);
  const v4 b = alo + ahi;
  return (b[0] + b[2]) + (b[1] + b[3]);
}

/* Round to nearest even in the integer domain (what oneDNN's reorders do);
 * a NaN keeps its sign and becomes the quiet NaN. */
typedef uint32_t u16v __attribute__((vector_size(64)));
INL u16v bits_of(v16 x) {
  u16v u;
  memcpy(&u, &x, sizeof u);
  return u;
}
/* The rounding of x not NaN, in the low 16 bits of each lane. */
INL u16v round16(u16v u) { return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16; }
INL void store16(uint16_t *dst, u16v r) {
  for (int k = 0; k < V; k++)
    dst[k] = (uint16_t)r[k];
}
INL void vst16(uint16_t *dst, v16 x) {
  const u16v u = bits_of(x), nan = (u16v)(x != x);
  store16(dst, (round16(u) & ~nan) | (((u >> 16) | 0x40u) & nan));
}
/* The same for x not NaN (a ReLU output): four operations fewer. */
INL void vst16_num(uint16_t *dst, v16 x) { store16(dst, round16(bits_of(x))); }
typedef uint16_t h16 __attribute__((vector_size(32)));
INL uint16_t bf16_of(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return x != x ? (uint16_t)((u >> 16) | 0x40u) : (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* A row's sum and sum of squares (the LayerNorm statistics' inputs). */
INL void row_sums(const float *y, int64_t n, float *s_out, float *ss_out) {
  v16 s0 = {0}, s1 = {0}, q0 = {0}, q1 = {0};
  int64_t i = 0;
  for (; i + 2 * V <= n; i += 2 * V) {
    const v16 u = vld(y + i), w = vld(y + i + V);
    s0 += u, s1 += w, q0 += u * u, q1 += w * w;
  }
  for (; i + V <= n; i += V) {
    const v16 u = vld(y + i);
    s0 += u, q0 += u * u;
  }
  float s = vsum(s0 + s1), ss = vsum(q0 + q1);
  for (; i < n; i++)
    s += y[i], ss += y[i] * y[i];
  *s_out = s, *ss_out = ss;
}

/* mean and 1/std of up to V rows from their sums, a lane per row: one
 * chain of vector divides and a square root instead of a scalar chain per
 * row (the same IEEE operations, so the same bits). */
INL void rows_stats(const float *s, const float *ss, int64_t rows, int64_t n, float *mean_out, float *rstd_out) {
  v16 sv = {0}, qv = {0};
  memcpy(&sv, s, sizeof(float) * (size_t)rows);
  memcpy(&qv, ss, sizeof(float) * (size_t)rows);
  const v16 nv = vdup((float)n), mean = sv / nv;
  v16 d = vrelu(qv / nv - mean * mean) + vdup(LN_EPS);
  for (int k = 0; k < V; k++)
    d[k] = sqrtf(d[k]);
  const v16 rstd = vdup(1.0f) / d;
  memcpy(mean_out, &mean, sizeof(float) * (size_t)rows);
  memcpy(rstd_out, &rstd, sizeof(float) * (size_t)rows);
}

/* Rows [b0, b0 + FWD_ROWS) at most. The statistics of all rows come first:
 * each row's ends in a chain of divides and a square root, which then
 * overlap with the other rows' sums instead of stalling every row's
 * output pass. */
WSRL__CLONES
static void fwd_rows(const wsrl__ln_args *a, int64_t e, int64_t b0, int64_t b1) {
  const int64_t n = a->n, nv = n / V * V;
  const float *g = a->gamma != NULL ? a->gamma + e * n : NULL;
  const float *be = a->beta != NULL ? a->beta + e * n : NULL;
  const float *hw = a->head_w != NULL ? a->head_w + e * (n + 1) : NULL;
  float means[FWD_ROWS], rstds[FWD_ROWS];
  for (int64_t b = b0; b < b1; b++)
    means[b - b0] = 0.0f, rstds[b - b0] = 1.0f;
  if (g != NULL) {
    float sums[FWD_ROWS], sqs[FWD_ROWS];
    for (int64_t b = b0; b < b1; b++)
      row_sums(a->y + e * a->y_es + b * a->y_bs, n, &sums[b - b0], &sqs[b - b0]);
    rows_stats(sums, sqs, b1 - b0, n, means, rstds);
  }
  for (int64_t b = b0; b < b1; b++) {
    const int64_t r = e * a->batch + b;
    const float *y = a->y + e * a->y_es + b * a->y_bs;
    float *o = a->out != NULL ? a->out + r * a->ld_out : NULL;
    uint16_t *o16 = a->out16 != NULL ? a->out16 + r * a->ld_out : NULL;
    const float mean = means[b - b0], rstd = rstds[b - b0];
    if (g != NULL && a->rstd != NULL) {
      a->mean[r] = mean;
      a->rstd[r] = rstd;
    }
    /* z = relu(gamma * xhat + beta) (or relu(y)); q = z . w_head */
    const v16 mv = vdup(mean), rv = vdup(rstd);
    v16 qv = {0};
    int64_t i = 0;
    for (; i < nv; i += V) {
      v16 z = vld(y + i);
      if (g != NULL)
        z = vld(g + i) * ((z - mv) * rv) + vld(be + i);
      z = vrelu(z);
      if (o != NULL)
        vst(o + i, z);
      if (o16 != NULL) /* the bf16 matmul input, rounded while z is in a register */
        vst16_num(o16 + i, z);
      if (hw != NULL)
        qv += z * vld(hw + i);
    }
    float q = vsum(qv);
    for (; i < n; i++) {
      const float z = relu(g != NULL ? g[i] * ((y[i] - mean) * rstd) + be[i] : y[i]);
      if (o != NULL)
        o[i] = z;
      if (o16 != NULL)
        o16[i] = bf16_of(z);
      if (hw != NULL)
        q += z * hw[i];
    }
    if (hw != NULL)
      a->head_q[r] = q + hw[n];
  }
}

typedef struct fwd_job {
  const wsrl__ln_args *a;
  int64_t per; /* tasks per member */
} fwd_job;

/* Forward task t: FWD_ROWS rows of one member. */
static void fwd_task(const void *job, int64_t t) {
  const fwd_job *j = job;
  const int64_t e = t / j->per, b0 = (t % j->per) * FWD_ROWS;
  fwd_rows(j->a, e, b0, b0 + FWD_ROWS < j->a->batch ? b0 + FWD_ROWS : j->a->batch);
}

void wsrl__nn_ln_relu_fwd(const wsrl__ln_args *a) {
  const fwd_job job = {a, chunks(a->batch, FWD_ROWS)};
  wsrl__nn_tasks(a->ensemble * job.per, (int64_t)a->ensemble * a->batch * a->n, PAR_MIN, fwd_task, &job);
}

/* The backward reads each row's pre-activation, written by the forward
 * long before and cache-cold by now (the hardware prefetcher did not keep
 * up: the kernel ran at half its warm-cache speed in place); the row this
 * far ahead is prefetched into L1, across task ends (on one thread the
 * next task is the member's next rows). */
#define Y_AHEAD 2
INL void prefetch_row(const float *y, int64_t n) {
  for (int64_t k = 0; k < n; k += 64 / (int64_t)sizeof(float))
    __builtin_prefetch(y + k, 0, 3);
}

/* Row b's share of a->prefetch: its cache lines spread evenly over the
 * rows, into L1 (into L2 only, the matmul still ran 15 % slower). */
INL void prefetch_share(const wsrl__ln_args *a, int64_t b) {
  if (a->prefetch == NULL)
    return;
  const int64_t run = (a->prefetch_len + 63) / 64, lines = a->prefetch_runs * run;
  const int64_t per = (lines + a->batch - 1) / a->batch;
  const char *p = (const char *)a->prefetch;
  for (int64_t k = b * per; k < (b + 1) * per && k < lines; k++)
    __builtin_prefetch(p + k / run * a->prefetch_ld + k % run * 64, 1, 3);
}

static int pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/* x / n, as a multiply where n is a power of two (then inv_n = 1 / n is
 * exact and so is the product's rounding: the same bits, without a
 * divide's latency on every row). */
INL float over_n(float x, int64_t n, float inv_n) { return inv_n != 0.0f ? x * inv_n : x / (float)n; }

/* One backward task: rows [b0, b1) of member e; parameter sums into p
 * (dgamma | dbeta | head), which this task owns. */
WSRL__CLONES
static void bwd_rows(const wsrl__ln_args *a, int64_t e, int64_t b0, int64_t b1, const float *dout, int64_t ld_dout,
                     const float *head_dq, float *dy_base, uint16_t *dy16_base, float *p, int want_ln,
                     int want_head) {
  const int64_t n = a->n, nv = n / V * V;
  const float *g = a->gamma != NULL ? a->gamma + e * n : NULL;
  const float *be = a->beta != NULL ? a->beta + e * n : NULL;
  const float *hw = a->head_w != NULL ? a->head_w + e * (n + 1) : NULL;
  float *pg = p, *pb = p + n, *ph = p + 2 * n, *xs = p + row_scratch(n), *ds = xs + n;
  const float inv_n = pow2(n) ? 1.0f / (float)n : 0.0f;
  memset(p, 0, sizeof(float) * (size_t)(3 * n + 1));
  for (int64_t b = b0; b < b1; b++) {
    /* Cached state lives at the source row; gradients are at row b. */
    const int64_t src = a->gather != NULL ? a->gather[b] : b;
    const int64_t r = e * a->batch + b, rs = e * a->batch + src;
    /* With LayerNorm the activation is recomputed from y (fwd_rows'
     * expression, so the same bits) instead of read: a bf16 forward does
     * not write it, and the read was cache-cold. */
    const float *o = g == NULL ? a->out + rs * a->ld_out : NULL;
    const float *y = a->y + e * a->y_es + src * a->y_bs;
    /* dy in fp32, or only its bf16 rounding (what a bf16 matmul reads). */
    float *dy = dy16_base == NULL ? dy_base + e * a->y_es + b * a->y_bs : NULL;
    uint16_t *dy16 = dy16_base != NULL ? dy16_base + e * a->y_es + b * a->y_bs : NULL;
    /* dLoss/dout of this row: a matmul's output, or the head's dq * w. */
    const float *dr = dout != NULL ? dout + r * ld_dout : hw;
    const float scale = dout != NULL ? 1.0f : head_dq[r];
    const v16 sv = vdup(scale);
    int64_t i;
    prefetch_share(a, b);
    if (g != NULL && b + Y_AHEAD < a->batch)
      prefetch_row(a->y + e * a->y_es + (a->gather != NULL ? a->gather[b + Y_AHEAD] : b + Y_AHEAD) * a->y_bs, n);
    /* A head row with dq = 0 has dy = 0 and adds nothing to the
     * parameters: skip its (cache-cold) activation and input. (A matmul's
     * output row is not scanned for zeros: in the dense backward it
     * practically never is all zero, the actor's loss reaching each row
     * through one critic takes the sparse path, and the scan cost about 8 %
     * of this kernel; an all-zero row computed in full gives zero dy, up to
     * the sign of zero, and the same parameter gradients.) */
    if (dout == NULL && scale == 0.0f) {
      if (dy != NULL)
        memset(dy, 0, sizeof(float) * (size_t)n);
      else
        memset(dy16, 0, sizeof(uint16_t) * (size_t)n);
      continue;
    }
    if (want_head && g == NULL) { /* with LayerNorm this joins the first pass below */
      for (i = 0; i < nv; i += V)
        vst(ph + i, vld(ph + i) + sv * vld(o + i));
      for (; i < n; i++)
        ph[i] += scale * o[i];
    }
    if (want_head)
      ph[n] += scale; /* bias: the ones column */
    if (g == NULL) {
      for (i = 0; i < nv; i += V) {
        const v16 d = vmask(vld(o + i), sv * vld(dr + i));
        if (dy != NULL)
          vst(dy + i, d);
        else
          vst16(dy16 + i, d);
      }
      for (; i < n; i++) {
        const float d = o[i] > 0.0f ? scale * dr[i] : 0.0f;
        if (dy != NULL)
          dy[i] = d;
        else
          dy16[i] = bf16_of(d);
      }
      continue;
    }
    const float mean = a->mean[rs], rstd = a->rstd[rs];
    const v16 mv = vdup(mean), rv = vdup(rstd);
    v16 a1 = {0}, a2 = {0};
    for (i = 0; i < nv; i += V) {
      const v16 xh = (vld(y + i) - mv) * rv;
      const v16 z = vld(g + i) * xh + vld(be + i); /* the pre-ReLU activation */
      const v16 gi = vmask(z, sv * vld(dr + i));
      const v16 dxh = gi * vld(g + i);
      a1 += dxh, a2 += dxh * xh;
      vst(xs + i, xh), vst(ds + i, dxh);
      if (want_ln) {
        vst(pg + i, vld(pg + i) + gi * xh);
        vst(pb + i, vld(pb + i) + gi);
      }
      if (want_head)
        vst(ph + i, vld(ph + i) + sv * vrelu(z));
    }
    float s1 = vsum(a1), s2 = vsum(a2);
    for (; i < n; i++) {
      const float xh = (y[i] - mean) * rstd, z = g[i] * xh + be[i];
      const float gi = z > 0.0f ? scale * dr[i] : 0.0f;
      const float dxh = gi * g[i];
      s1 += dxh, s2 += dxh * xh;
      xs[i] = xh, ds[i] = z > 0.0f ? dxh : 0.0f; /* +0 where masked, as the vector lanes */
      if (want_ln)
        pg[i] += gi * xh, pb[i] += gi;
      if (want_head)
        ph[i] += scale * relu(z);
    }
    const float m1 = over_n(s1, n, inv_n), m2 = over_n(s2, n, inv_n);
    const v16 m1v = vdup(m1), m2v = vdup(m2);
    for (i = 0; i < nv; i += V) {
      const v16 d = rv * (vld(ds + i) - m1v - vld(xs + i) * m2v);
      if (dy != NULL)
        vst(dy + i, d);
      else
        vst16(dy16 + i, d);
    }
    for (; i < n; i++) {
      const float d = rstd * (ds[i] - m1 - xs[i] * m2);
      if (dy != NULL)
        dy[i] = d;
      else
        dy16[i] = bf16_of(d);
    }
  }
}

WSRL__CLONES
static void add_rows(float *dst, const float *src, int64_t n) {
  int64_t i = 0;
  for (; i + V <= n; i += V)
    vst(dst + i, vld(dst + i) + vld(src + i));
  for (; i < n; i++)
    dst[i] += src[i];
}

/* The arguments of a backward pass, shared by its tasks. */
typedef struct bwd_job {
  const wsrl__ln_args *a;
  const float *dout, *head_dq;
  int64_t ld_dout, per, ps;
  float *dy, *partial;
  uint16_t *dy16;
  int want_ln, want_head;
} bwd_job;

/* Backward task t: BWD_ROWS rows of one member, into partial sums t. */
static void bwd_task(const void *job, int64_t t) {
  const bwd_job *j = job;
  const int64_t e = t / j->per, b0 = (t % j->per) * BWD_ROWS, batch = j->a->batch;
  bwd_rows(j->a, e, b0, b0 + BWD_ROWS < batch ? b0 + BWD_ROWS : batch, j->dout, j->ld_dout, j->head_dq, j->dy,
           j->dy16, j->partial + t * j->ps, j->want_ln, j->want_head);
}

int64_t wsrl__nn_ln_bwd_chunks(const wsrl__ln_args *a) { return (int64_t)a->ensemble * chunks(a->batch, BWD_ROWS); }

static bwd_job bwd_job_of(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, const float *head_dq,
                          float *dy, uint16_t *dy16, int params, float *partial) {
  const bwd_job job = {a,  dout,         head_dq, ld_dout, chunks(a->batch, BWD_ROWS), partial_stride(a->n),
                       dy, partial, dy16, params && a->gamma != NULL, params && a->head_w != NULL};
  return job;
}

void wsrl__nn_ln_relu_bwd_chunk(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, const float *head_dq,
                                float *dy, uint16_t *dy16, int params, float *partial, int64_t t) {
  const bwd_job job = bwd_job_of(a, dout, ld_dout, head_dq, dy, dy16, params, partial);
  bwd_task(&job, t);
}

void wsrl__nn_ln_relu_bwd_sum(const wsrl__ln_args *a, const float *partial, float *dgamma, float *dbeta,
                              float *dhead_w, int64_t c0, int64_t c1) {
  const int64_t n = a->n, per = chunks(a->batch, BWD_ROWS), ps = partial_stride(n);
  const int want_ln = a->gamma != NULL && dgamma != NULL, want_head = a->head_w != NULL && dhead_w != NULL;
  /* Chunks added in a fixed order, whatever thread computed them; each
   * column on its own, so any column split gives the same bits. */
  for (int64_t t = 0; t < a->ensemble * per; t++) {
    const int64_t e = t / per;
    const float *p = partial + t * ps;
    if (want_ln) {
      add_rows(dgamma + e * n + c0, p + c0, c1 - c0);
      add_rows(dbeta + e * n + c0, p + n + c0, c1 - c0);
    }
    if (want_head) /* the bias (column n) with the last columns */
      add_rows(dhead_w + e * (n + 1) + c0, p + 2 * n + c0, c1 - c0 + (c1 == n));
  }
}

void wsrl__nn_ln_relu_bwd(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, const float *head_dq,
                          float *dy, uint16_t *dy16, float *dgamma, float *dbeta, float *dhead_w, float *partial) {
  const int params = (a->gamma != NULL && dgamma != NULL) || (a->head_w != NULL && dhead_w != NULL);
  const bwd_job job = bwd_job_of(a, dout, ld_dout, head_dq, dy, dy16, params, partial);
  const int64_t tasks = wsrl__nn_ln_bwd_chunks(a);
  wsrl__nn_tasks(tasks, (int64_t)a->ensemble * a->batch * a->n, PAR_MIN, bwd_task, &job);
  if (params)
    wsrl__nn_ln_relu_bwd_sum(a, partial, dgamma, dbeta, dhead_w, 0, a->n);
}

WSRL__CLONES
void wsrl__nn_bf16_block(uint16_t *dst, const float *src, int64_t n) {
  int64_t i = 0;
  for (; i + V <= n; i += V)
    vst16(dst + i, vld(src + i));
  for (; i < n; i++)
    dst[i] = bf16_of(src[i]);
}

void wsrl__nn_to_bf16(uint16_t *dst, const float *src, int64_t n) {
  enum { BLOCK = 16384 };
  const int64_t blocks = (n + BLOCK - 1) / BLOCK;
  if (!wsrl__nn_fork(n, 8 * PAR_MIN)) {
    wsrl__nn_bf16_block(dst, src, n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < blocks; k++)
    wsrl__nn_bf16_block(dst + k * BLOCK, src + k * BLOCK, n - k * BLOCK < BLOCK ? n - k * BLOCK : BLOCK);
}

/* A 16 x 16 tile transposed in registers: four perfect-shuffle rounds
 * (rows i and i + 8 interleaved into rows 2i and 2i + 1).
 * __builtin_shufflevector: GCC >= 12 and clang (GCC's __builtin_shuffle is
 * GCC-only). */
INL void tile16(uint16_t *dst, int64_t ld_dst, const uint16_t *src, int64_t ld_src) {
  h16 r[16], t[16];
  for (int i = 0; i < 16; i++)
    memcpy(&r[i], src + i * ld_src, sizeof r[i]);
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < 8; i++) {
      t[2 * i] = __builtin_shufflevector(r[i], r[i + 8], 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      t[2 * i + 1] =
          __builtin_shufflevector(r[i], r[i + 8], 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    }
    memcpy(r, t, sizeof r);
  }
  for (int i = 0; i < 16; i++)
    memcpy(dst + i * ld_dst, &r[i], sizeof r[i]);
}

/* Column tiles outermost: each 16-row strip of dst is written in order
 * (row tiles outermost ran 5x slower at 1024 rows, dst rows 2 KiB apart). */
WSRL__CLONES
void wsrl__nn_bf16_transpose_cols(uint16_t *dst, const uint16_t *src, int64_t rows, int64_t cols, int64_t c0,
                                  int64_t c1) {
  const int64_t rt = rows / 16 * 16, ct = cols / 16 * 16;
  for (int64_t c = c0; c < c1 && c < ct; c += 16)
    for (int64_t r0 = 0; r0 < rt; r0 += 16)
      tile16(dst + c * rows + r0, rows, src + r0 * cols + c, cols);
  for (int64_t c = c0; c < c1; c++) /* what the whole tiles left */
    for (int64_t r = c < ct ? rt : 0; r < rows; r++)
      dst[c * rows + r] = src[r * cols + c];
}

void wsrl__nn_bf16_transpose(uint16_t *dst, const uint16_t *src, int64_t rows, int64_t cols) {
  wsrl__nn_bf16_transpose_cols(dst, src, rows, cols, 0, cols);
}
