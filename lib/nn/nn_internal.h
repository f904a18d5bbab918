/*
 * Private to lib/nn: oneDNN plumbing shared by the files of this folder.
 * Nothing outside lib/nn includes this header (or dnnl.h).
 */
#ifndef WSRL_NN_INTERNAL_H
#define WSRL_NN_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>

#include "nn.h"

struct wsrl__nn_ctx {
  wsrl__alloc alloc;
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  int32_t threads; /* configured; 0 = runtime default */
  /* One user scratchpad shared by every primitive of the context: a context
   * runs one primitive at a time. Grown only while building primitives. */
  void *scratch;
  size_t scratch_size;
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

/* Make the shared scratchpad at least `size` bytes (only at build time). */
wsrl_status_t wsrl__nn_ctx_reserve_scratch(wsrl__nn_ctx *ctx, size_t size);

/* Plain f32 descriptor from dims and strides (rank 2 or 3). */
wsrl_status_t wsrl__nn_md(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides);

/* One matmul primitive with its memory objects. Data pointers are bound at
 * every run (cheap), so the same primitive serves any buffers. */
typedef struct wsrl__nn_matmul {
  dnnl_primitive_t prim;
  dnnl_memory_t src, wei, dst, scratch;
} wsrl__nn_matmul;

/* dst = src x wei (accumulate: dst += src x wei). */
wsrl_status_t wsrl__nn_matmul_init(wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx, const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *wei, const dnnl_memory_desc_t *dst, int accumulate);
wsrl_status_t wsrl__nn_matmul_run(const wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx, const float *src, const float *wei,
                                  float *dst);
void wsrl__nn_matmul_fini(wsrl__nn_matmul *mm);

/* ---- fused element-wise kernels (kernels.c), OpenMP-parallel over rows ----
 * A layer's pre-activation y of member e, row b, lives at
 * y + e * y_es + b * y_bs (row of n contiguous floats). */
typedef struct wsrl__ln_args {
  int32_t ensemble;
  int64_t batch;
  int64_t n;              /* features */
  float *y;               /* pre-activation, read (and, for LN, overwritten by xhat) */
  int64_t y_es, y_bs;
  float *out;             /* activation, [E, B, ld_out] (ones column stays untouched) */
  int64_t ld_out;
  const float *gamma;     /* [E, n] or NULL (no LayerNorm) */
  const float *beta;      /* [E, n] */
  float *rstd;            /* [E, B] 1/sqrt(var + eps) */
} wsrl__ln_args;

/* out = relu(LN(y)) (or relu(y)); y <- xhat in place when LN is on. */
void wsrl__nn_ln_relu_fwd(const wsrl__ln_args *a);

/* Backward of the above. dout [E, B, ld_dout] is dLoss/dout. Writes
 * dLoss/dy into dy (same layout as y), and with param grads ADDS into
 * dgamma/dbeta [E, n]. y holds xhat (LN) or the pre-activation (no LN);
 * out is read for the ReLU mask. */
void wsrl__nn_ln_relu_bwd(const wsrl__ln_args *a, const float *dout, int64_t ld_dout, float *dy, float *dgamma,
                          float *dbeta);

/* Output head with one unit per member: q[e, b] = dot(h[e, b, 0:k1], w[e, 0:k1])
 * where h has the ones column at k1 - 1 and w ends with the bias. */
void wsrl__nn_head1_fwd(int32_t ensemble, int64_t batch, int64_t k1, const float *h, const float *w, float *q);
/* dh[e, b, 0:k] = dq[e, b] * w[e, 0:k] (ld_dh); when dw: dw[e, 0:k1] += sum_b dq h. */
void wsrl__nn_head1_bwd(int32_t ensemble, int64_t batch, int64_t k1, const float *h, const float *w,
                        const float *dq, float *dh, int64_t ld_dh, float *dw);

/* Orthogonal init (init.c): w[r * ld + c] for r < rows, c < cols, as flax's
 * orthogonal(gain) on a (rows = fan_in, cols = fan_out) kernel. */
wsrl_status_t wsrl__nn_orthogonal(const wsrl__alloc *alloc, wsrl__rng *rng, float gain, int64_t rows,
                                  int64_t cols, float *w, int64_t ld_row, int64_t ld_col);

#endif /* WSRL_NN_INTERNAL_H */
