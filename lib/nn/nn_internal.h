/*
 * Private to lib/nn: oneDNN plumbing shared by the files of this folder.
 * Nothing outside lib/nn includes this header (or dnnl.h).
 */
#ifndef WSRL_NN_INTERNAL_H
#define WSRL_NN_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

#include "nn.h"

#ifdef _OPENMP
#  include <omp.h>
#endif

/* Whether a loop over `work` elements should fork a team: at least `min`
 * of them, more than one thread to run them, and not already inside a
 * team (an ensemble's members run on one thread each, and a nested region
 * there still costs libgomp a team's set-up: ~14 us measured, hundreds per
 * env-step). The loops take a plain serial path otherwise: no OpenMP call. */
static inline int wsrl__nn_fork(int64_t work, int64_t min) {
#ifdef _OPENMP
  return work >= min && omp_get_max_threads() > 1 && !omp_in_parallel();
#else
  (void)work, (void)min;
  return 0;
#endif
}

/* fn(job, t) for t in [0, n): split across the threads (static schedule)
 * when wsrl__nn_fork(work, min), else in order on this thread. */
void wsrl__nn_tasks(int64_t n, int64_t work, int64_t min, wsrl__nn_task_fn fn, const void *job);

/* Most threads a context runs members on (more are used intra-op only). */
#define WSRL__NN_MAX_TEAM 64

struct wsrl__nn_ctx {
  wsrl__alloc alloc;
  dnnl_engine_t engine;
  int32_t threads; /* configured; 0 = runtime default */
  int32_t team;    /* threads at create, 1 .. WSRL__NN_MAX_TEAM: one stream and scratchpad each */
  int32_t precision; /* WSRL__NN_FP32 | WSRL__NN_BF16: matmul inputs of MLPs created from now on */
  char impl[2][64];  /* oneDNN's name of the latest fp32 / bf16 matmul kernel built */
  dnnl_stream_t streams[WSRL__NN_MAX_TEAM];
  /* One user scratchpad per team thread, shared by every primitive of the
   * context (a thread runs one primitive at a time): team * stride bytes,
   * grown only while building primitives. */
  void *scratch;
  size_t scratch_stride;
};

/* Map a failed dnnl call to WSRL_ERR_BACKEND naming it. */
wsrl_status_t wsrl__nn_dnnl_error(dnnl_status_t st, const char *call);
#define WSRL__DNNL(call)                                        \
  do {                                                          \
    dnnl_status_t wsrl__dst_ = (call);                          \
    if (wsrl__dst_ != dnnl_success)                             \
      return wsrl__nn_dnnl_error(wsrl__dst_, #call);            \
  } while (0)

/* Run with the context's thread count on this thread; restore on leave. */
int32_t wsrl__nn_enter(const wsrl__nn_ctx *ctx);
void wsrl__nn_leave(int32_t saved);
/* One OpenMP thread until wsrl__nn_leave(returned value). */
int32_t wsrl__nn_single_thread_begin(void);

/* Make every thread's scratchpad at least `size` bytes (only at build time). */
wsrl_status_t wsrl__nn_ctx_reserve_scratch(wsrl__nn_ctx *ctx, size_t size);

/* Plain f32 descriptor from dims and strides (rank 2 or 3). */
wsrl_status_t wsrl__nn_md(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides);
/* Same with a data type (dnnl_f32 or dnnl_bf16). */
wsrl_status_t wsrl__nn_md_dt(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides,
                             dnnl_data_type_t dt);

/* One matmul primitive with a set of memory objects per team thread. Data
 * pointers are bound at every run (cheap), so the same primitive serves
 * any buffers, and threads 0 .. team-1 may run it concurrently. */
typedef struct wsrl__nn_matmul {
  dnnl_primitive_t prim;
  int32_t team;
  dnnl_memory_t (*mem)[4]; /* [team][src, weights, dst, scratchpad] */
} wsrl__nn_matmul;

/* Post-ops of a matmul (oneDNN attributes). */
enum {
  WSRL__MM_SUM = 1, /* dst += src x wei */
  WSRL__MM_RELU = 2 /* dst = max(src x wei, 0) (a layer without LayerNorm) */
};
/* dst = src x wei with the WSRL__MM_* post-ops in `post`, runnable by
 * `team` threads. */
wsrl_status_t wsrl__nn_matmul_init(wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx, const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *wei, const dnnl_memory_desc_t *dst, int post,
                                   int32_t team);
/* Run on team thread tid's memory objects, stream and scratchpad. */
wsrl_status_t wsrl__nn_matmul_run(const wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx, int32_t tid, const void *src,
                                  const void *wei, void *dst);
void wsrl__nn_matmul_fini(wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx);
/* Wait for every team stream (CPU streams run synchronously; kept for form). */
wsrl_status_t wsrl__nn_ctx_wait(wsrl__nn_ctx *ctx);

/* ---- fused element-wise kernels (kernels.c), OpenMP-parallel ----
 * A layer's pre-activation y of member e, row b, lives at
 * y + e * y_es + b * y_bs (row of n contiguous floats); the activation of
 * row r = e * B + b at out + r * ld_out. The one-unit output head of the
 * critics and value nets is fused into the last hidden layer's kernels. */
typedef struct wsrl__ln_args {
  int32_t ensemble;
  int64_t batch;
  int64_t n;              /* features */
  const float *y;         /* pre-activation (kept for backward) */
  int64_t y_es, y_bs;
  float *out;             /* activation [E, B, ld_out] (the ones column is never written), or NULL */
  uint16_t *out16;        /* its bf16 rounding, same layout (a bf16 matmul's input), or NULL */
  int64_t ld_out;
  const float *gamma;     /* [E, n], or NULL: no LayerNorm */
  const float *beta;      /* [E, n] */
  float *mean, *rstd;     /* [E * B] row statistics, or NULL (forward-only nets) */
  const float *head_w;    /* [E, n + 1] one-unit head on this layer (bias last), or NULL */
  float *head_q;          /* forward: [E, B] head output */
  /* Backward only, ensemble 1: row b of the call is cached row gather[b]
   * (y, out, mean, rstd are read there) while dout, head_dq and dy are
   * compact (row b). NULL: row b is row b. */
  const int32_t *gather;
  /* Backward only: memory the next matmul reads and writes (its parameter
   * gradients, cache-cold since the last optimizer step), prefetched a
   * share per row so that its misses overlap this kernel's arithmetic:
   * prefetch_runs runs of prefetch_len bytes, prefetch_ld bytes apart.
   * NULL: none. */
  const void *prefetch;
  int64_t prefetch_runs, prefetch_len, prefetch_ld;
} wsrl__ln_args;

/* out = relu(LN(y)) (or relu(y)); with a head, head_q = out . w + bias. */
void wsrl__nn_ln_relu_fwd(const wsrl__ln_args *a);

/* Floats of the partial-sum scratch wsrl__nn_ln_relu_bwd needs. */
size_t wsrl__nn_ln_partial_floats(int32_t ensemble, int64_t max_batch, int64_t n);

/* Backward of the above. dLoss/dout is dout [E*B, ld_dout], or with a head
 * and dout NULL, head_dq[r] * head_w[e, :n]. Writes dLoss/dy into dy (same
 * layout as y), or with dy16 non-NULL only its bf16 rounding there, and ADDS the parameter gradients into dgamma/dbeta [E, n]
 * and dhead_w [E, n + 1] (each may be NULL). Deterministic for any thread
 * count: parameter sums go through fixed row chunks (partial). */
void wsrl__nn_ln_relu_bwd(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, const float *head_dq,
                          float *dy, uint16_t *dy16, float *dgamma, float *dbeta, float *dhead_w, float *partial);
/* The same in pieces, for a caller that runs them as tasks of its own
 * region (the same bits): chunk t of wsrl__nn_ln_bwd_chunks(a) (a fixed
 * row range of one member) writes its rows' dy and, with params, its
 * partial sums; then _sum adds every chunk's partial sums in order into
 * columns [c0, c1) of dgamma, dbeta and dhead_w (its bias with c1 = n). */
int64_t wsrl__nn_ln_bwd_chunks(const wsrl__ln_args *a);
void wsrl__nn_ln_relu_bwd_chunk(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, const float *head_dq,
                                float *dy, uint16_t *dy16, int params, float *partial, int64_t t);
void wsrl__nn_ln_relu_bwd_sum(const wsrl__ln_args *a, const float *partial, float *dgamma, float *dbeta,
                              float *dhead_w, int64_t c0, int64_t c1);

/* dst = src rounded to bfloat16 (nearest even; NaN stays NaN), n values.
 * OpenMP-parallel when large. */
void wsrl__nn_to_bf16(uint16_t *dst, const float *src, int64_t n);

/* The same on this thread only (inside a parallel region). */
void wsrl__nn_bf16_block(uint16_t *dst, const float *src, int64_t n);

/* dst[c * rows + r] = src[r * cols + c]: a [rows, cols] bf16 matrix
 * transposed, on this thread. */
void wsrl__nn_bf16_transpose(uint16_t *dst, const uint16_t *src, int64_t rows, int64_t cols);
/* Columns [c0, c1) of src only (c0 a multiple of 16): their rows of dst. */
void wsrl__nn_bf16_transpose_cols(uint16_t *dst, const uint16_t *src, int64_t rows, int64_t cols, int64_t c0,
                                  int64_t c1);

/* Extra work of an Adam step's single pass over the parameters (each may
 * be NULL): the Polyak average target = tau p + (1 - tau) target of the
 * updated p, the bf16 copies of p and target, and zeroing the gradient g
 * it has read (grad_zero: g itself). */
typedef struct wsrl__adam_fused {
  float *target;
  float tau;
  uint16_t *p16, *target16;
  float *grad_zero;
} wsrl__adam_fused;

/* Doubles of scratch (wsrl__adam_set.part) an Adam step needs for n parameters. */
size_t wsrl__adam_blocks(size_t n);

/* One clipped Adam step: t, the parameters, the fused pass's extra work
 * x, extra_sumsq (squared norm of gradients outside g that count in the
 * clip) and part (wsrl__adam_blocks(n) doubles of scratch); the step
 * writes its gradient norm, clip scale and whether it ran. */
typedef struct wsrl__adam_set {
  const wsrl__adam_cfg *cfg;
  int64_t t;
  double extra_sumsq;
  float *p, *g, *m, *v;
  size_t n;
  wsrl__adam_fused x;
  double *part;
  double norm;   /* out */
  float scale;   /* out: the clip scale (1 without clipping or step) */
  int stepped;   /* out: 0 where the norm is not finite (nothing changed) */
} wsrl__adam_set;
#define WSRL__ADAM_MAX_SETS WSRL__MLP_MAX_STEPS

/* count (<= WSRL__ADAM_MAX_SETS) Adam steps clipped each to its own global
 * norm, in one parallel region: the norms (wsrl__nn_l2norm's bits), a
 * barrier, then the Adam passes with their extra work, block by block
 * while each is in cache. A set with a non-finite norm changes nothing. */
void wsrl__adam_steps_clipped(wsrl__adam_set *sets, int32_t count);
/* Its parts, for a caller that runs them in its own region: the global
 * blocks (every set's in order), a block's norm sum, and once all norm
 * sums are in (a barrier) a block's pass; then the outcomes (norm, scale,
 * stepped) on one thread. Any assignment of blocks to threads gives the
 * same bits. */
int64_t wsrl__adam_sets_blocks(const wsrl__adam_set *sets, int32_t count);
void wsrl__adam_norm_block(const wsrl__adam_set *sets, int32_t count, int64_t g);
void wsrl__adam_pass_block(const wsrl__adam_set *sets, int32_t count, int64_t g);
void wsrl__adam_sets_done(wsrl__adam_set *sets, int32_t count);

/* Orthogonal init (init.c): w[r * ld + c] for r < rows, c < cols, as flax's
 * orthogonal(gain) on a (rows = fan_in, cols = fan_out) kernel. */
wsrl_status_t wsrl__nn_orthogonal(const wsrl__alloc *alloc, wsrl__rng *rng, float gain, int64_t rows,
                                  int64_t cols, float *w, int64_t ld_row, int64_t ld_col);

/* flax's variance_scaling(scale, "fan_avg", "uniform") on the same layout. */
void wsrl__nn_var_scaling(wsrl__rng *rng, float scale, int64_t rows, int64_t cols, float *w, int64_t ld_row,
                          int64_t ld_col);

#endif /* WSRL_NN_INTERNAL_H */
