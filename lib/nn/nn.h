/*
 * Neural-network engine on oneDNN (internal). lib/nn is the only code that
 * includes dnnl.h; everything above it sees plain float buffers.
 *
 * Pieces:
 *   wsrl__nn_ctx   oneDNN engine, thread count, per-thread streams and scratchpads.
 *   wsrl__mlp      an ensemble of E identical MLPs (E = 1 for actor / value):
 *                  per hidden layer Dense -> LayerNorm (optional) -> ReLU,
 *                  then an output Dense. Forward caches what backward needs.
 *   wsrl__adam_*   bias-corrected Adam over flat float arrays.
 *   wsrl__scalar   a learned positive scalar (SAC temperature, CQL Lagrange
 *                  multiplier) stored as an unconstrained parameter p with
 *                  value softplus(p) or exp(p), with its own Adam state.
 *
 * Threading: a context and everything created from it are used by one
 * thread at a time. Calls that run oneDNN or OpenMP work set the calling
 * thread's OpenMP thread count to the context's (when > 0) and restore it
 * on return. With T threads an ensemble of E >= T members runs its members
 * in parallel (one thread each); smaller ones split each primitive. Results
 * do not depend on T (tested for ensembles: same bits for 1 and 2).
 *
 * Memory: create allocates every buffer for max_batch rows; each distinct
 * (batch, input mode) gets its primitives built once, on first use or by
 * wsrl__mlp_prepare(), and cached in a small table (WSRL__NN_SHAPE_SLOTS,
 * least recently used evicted). Steady-state forward/backward/step calls
 * do not allocate.
 */
#ifndef WSRL_NN_H
#define WSRL_NN_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define WSRL__NN_MAX_HIDDEN 8 /* = WSRL_CONFIG_MAX_LIST */
#define WSRL__NN_SHAPE_SLOTS 8

/* ------------------------------------------------------------------ context */

typedef struct wsrl__nn_ctx wsrl__nn_ctx;

/* threads: OpenMP threads for this context's work; 0 keeps the runtime's
 * default (OMP_NUM_THREADS or all cores). alloc is copied. */
wsrl_status_t wsrl__nn_ctx_create(wsrl__nn_ctx **ctx_out, const wsrl__alloc *alloc, int32_t threads);
void wsrl__nn_ctx_destroy(wsrl__nn_ctx *ctx);
/* WSRL_ERR_WRONG_STATE (naming fn) when this process is a child forked
 * after the library ran OpenMP threads and ctx would compute with more
 * than one: GNU OpenMP would hang. Compute entry points call it. */
wsrl_status_t wsrl__nn_ctx_check_process(const wsrl__nn_ctx *ctx, const char *fn);
/* Matmul input precision of MLPs created after this call: fp32, or bf16
 * inputs with fp32 accumulation (fp32 weights, gradients, Adam state and
 * element-wise work; docs/performance.md). WSRL_ERR_UNSUPPORTED where
 * oneDNN has no fast bf16 kernel (below AVX-512). */
enum { WSRL__NN_FP32 = 0, WSRL__NN_BF16 = 1 };
wsrl_status_t wsrl__nn_ctx_set_precision(wsrl__nn_ctx *ctx, int32_t precision);
int32_t wsrl__nn_ctx_precision(const wsrl__nn_ctx *ctx);
/* oneDNN's implementation name of the latest matmul of that precision this
 * context built ("" if none). */
const char *wsrl__nn_ctx_impl(const wsrl__nn_ctx *ctx, int32_t precision);
/* The effective thread count (the runtime's default when configured 0). */
int32_t wsrl__nn_ctx_threads(const wsrl__nn_ctx *ctx);
const wsrl__alloc *wsrl__nn_ctx_alloc(const wsrl__nn_ctx *ctx);

/* Task t of a loop, reading its arguments from job. */
typedef void (*wsrl__nn_task_fn)(const void *job, int64_t t);
/* fn(job, t) for t in [0, n) on ctx's threads (static schedule) when the
 * loop's `work` elements are at least `min`, the context has more than one
 * thread and no team is running yet; else in order on this thread. For
 * the per-row work of the layers above (policy sampling), which would
 * otherwise run on one thread while the rest of the team waits. */
void wsrl__nn_ctx_tasks(const wsrl__nn_ctx *ctx, int64_t n, int64_t work, int64_t min, wsrl__nn_task_fn fn,
                        const void *job);

/* --------------------------------------------------------------------- Adam */

typedef struct wsrl__adam_cfg {
  float lr;
  float beta1;
  float beta2;
  float eps;
  float grad_clip; /* global-norm clip of the whole gradient; 0 = off */
} wsrl__adam_cfg;

/* Fill beta1/beta2/eps/grad_clip from optim.* and set lr. */
void wsrl__adam_cfg_from_config(wsrl__adam_cfg *cfg, const wsrl__config_values *v, double lr);

/* One bias-corrected Adam step on n elements (optax's formula):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *   p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 * t is the step number after this step (>= 1). g_scale multiplies g
 * (global-norm clipping); pass 1. Deterministic for any thread count. */
void wsrl__adam_update(const wsrl__adam_cfg *cfg, int64_t t, float g_scale, float *p, const float *g,
                       float *m, float *v, size_t n);

/* Euclidean norm of n floats, accumulated in double in a fixed order. */
double wsrl__nn_l2norm(const float *x, size_t n);

/* ----------------------------------------------------------- learned scalar */

enum { WSRL__SCALAR_SOFTPLUS = 0, WSRL__SCALAR_EXP = 1 };

/* Plain data: checkpoints save it field by field. */
typedef struct wsrl__scalar {
  float p;      /* unconstrained parameter */
  float m, v;   /* Adam moments */
  int64_t t;    /* Adam steps taken */
  int32_t kind; /* WSRL__SCALAR_* */
  wsrl__adam_cfg adam;
} wsrl__scalar;

/* initial_value > 0; p is set so that value() == initial_value. */
wsrl_status_t wsrl__scalar_init(wsrl__scalar *s, int32_t kind, double initial_value, const wsrl__adam_cfg *adam);
double wsrl__scalar_value(const wsrl__scalar *s);
/* d value / d p (sigmoid(p) or exp(p)). */
double wsrl__scalar_dvalue_dp(const wsrl__scalar *s);
/* One Adam step on p given dLoss/dvalue (chain rule applied here). To
 * maximise a quantity (Lagrange multiplier) pass the negated gradient. */
void wsrl__scalar_step(wsrl__scalar *s, double dloss_dvalue);
/* Forget the moments (t = 0), keep p. */
void wsrl__scalar_reset_adam(wsrl__scalar *s);

/* ---------------------------------------------------------------------- MLP */

typedef struct wsrl__mlp_spec {
  int32_t ensemble;                       /* E >= 1 independent members */
  int32_t in_dim;                         /* input features */
  int32_t out_dim;                        /* output features (1: fused dot-product head) */
  int32_t n_hidden;                       /* 1 .. WSRL__NN_MAX_HIDDEN */
  int32_t hidden[WSRL__NN_MAX_HIDDEN];    /* widths */
  int32_t layer_norm;                     /* LayerNorm (learned scale/bias per member) */
  float hidden_gain;                      /* orthogonal gain of hidden kernels; 0 = sqrt(2) */
  float kernel_scale_final;               /* gain of the LAST hidden kernel; 0 = hidden_gain */
  float out_gain;                         /* gain of the output kernel; 0 = sqrt(2) */
  int32_t hidden_init;                    /* hidden kernels: WSRL__INIT_ORTHOGONAL or WSRL__INIT_VAR_SCALING
                                             (then kernel_scale_final is the variance scale, as flax's) */
  int64_t max_batch;                      /* max rows per member of any forward */
  int32_t trainable;                      /* 0: forward only (targets): no grads, Adam, cache */
} wsrl__mlp_spec;

typedef struct wsrl__mlp wsrl__mlp;

/* Input modes of the first layer. */
enum {
  WSRL__MLP_SHARED = 0,    /* x is [B, in], the same for every member */
  WSRL__MLP_PER_MEMBER = 1 /* x is [E, B, in], one slab per member */
};

/* Allocate parameters (orthogonal init from rng, zero biases, LN scale 1,
 * bias 0), gradients, Adam state (adam may be NULL when !trainable) and the
 * workspace. adam is copied; rng is advanced. */
wsrl_status_t wsrl__mlp_create(wsrl__mlp **mlp_out, wsrl__nn_ctx *ctx, const wsrl__mlp_spec *spec,
                               const wsrl__adam_cfg *adam, wsrl__rng *rng);
void wsrl__mlp_destroy(wsrl__mlp *m);
const wsrl__mlp_spec *wsrl__mlp_get_spec(const wsrl__mlp *m);
/* Bytes held by this MLP (our buffers; oneDNN's internals not counted). */
size_t wsrl__mlp_memory_usage(const wsrl__mlp *m);

/* Build (or find) the primitives for this batch and input mode now, so
 * that later calls with this shape do not allocate. */
wsrl_status_t wsrl__mlp_prepare(wsrl__mlp *m, int64_t batch, int32_t mode);

/* Smallest batch >= `batch` whose primitives are already built for this
 * mode, or 0 if none: callers that may pad rows (predictions) use it to
 * avoid building a new shape. */
int64_t wsrl__mlp_cached_batch(const wsrl__mlp *m, int64_t batch, int32_t mode);

/* The internal input buffer of a forward with (batch, mode): rows of in_dim
 * floats with row stride *ld_out (B rows, or E*B rows per member). Writing
 * the input here and calling forward with x = NULL avoids a copy (the
 * critic writes concat(s, a) this way). */
float *wsrl__mlp_input(wsrl__mlp *m, int64_t batch, int32_t mode, int64_t *ld_out);

/* Forward pass. x: dense [B, in] (SHARED) or [E, B, in] (PER_MEMBER), or
 * NULL when the input was written through wsrl__mlp_input(). y_out:
 * [E, B, out] (may be NULL; see wsrl__mlp_output()). A trainable MLP keeps
 * what backward needs until its next forward. */
wsrl_status_t wsrl__mlp_forward(wsrl__mlp *m, int64_t batch, int32_t mode, const float *x, float *y_out);

/* Post-processing of a one-member net's output rows [r0, r1), run by
 * wsrl__mlp_forward_then on the thread that has just written them. */
typedef void (*wsrl__mlp_rows_fn)(const void *job, int64_t r0, int64_t r1);

/* wsrl__mlp_forward (SHARED, y_out NULL) of a one-member net that calls
 * fn on each block of output rows as soon as it is written, inside the
 * forward's parallel region: the rows' post-processing forks no team of
 * its own. Blocks are disjoint and cover [0, batch); fn must touch only
 * its rows' data and must not fail. */
wsrl_status_t wsrl__mlp_forward_then(wsrl__mlp *m, int64_t batch, const float *x, wsrl__mlp_rows_fn fn,
                                     const void *job);

/* One forward of wsrl__mlp_forward_group. Zero-initialise, then set m,
 * batch and what applies. */
typedef struct wsrl__mlp_fwd {
  wsrl__mlp *m;
  int64_t batch;
  int32_t mode;               /* WSRL__MLP_SHARED or _PER_MEMBER */
  const float *x;             /* input as wsrl__mlp_forward's, or NULL */
  /* Writes input rows [r0, r1) (of batch, or E * batch per member) into
   * wsrl__mlp_input() on the team, before the rows are read; or NULL. */
  wsrl__mlp_rows_fn load;
  const void *load_job;
  wsrl__mlp_rows_fn then;     /* as wsrl__mlp_forward_then's fn (one-member nets), or NULL */
  const void *then_job;
  /* wsrl__mlp_copy_members(m, copy_src, members, k) first, shared by the
   * team at the start of the region (no region of its own); or NULL. */
  const wsrl__mlp *copy_src;
  const int32_t *members;
  int32_t k;
  /* 1: starts once every forward before it in the group has finished (its
   * load or input reads what they wrote). */
  int32_t after;
  /* Called on the calling thread once the group has run (status: the
   * group's), or NULL. */
  void (*done)(const void *job, wsrl_status_t status);
  const void *done_job;
} wsrl__mlp_fwd;

/* Run count forwards of distinct nets of one context, in order but for
 * `after`: where every one runs on the whole team they share one parallel
 * region (a fork and join for all, not one each; the tasks of forwards
 * between two `after`s interleave), else each runs as wsrl__mlp_forward.
 * Outputs: wsrl__mlp_output() of each net; every net's last forward is this
 * one (or none after a failure). */
wsrl_status_t wsrl__mlp_forward_group(const wsrl__mlp_fwd *fw, int32_t count);

/* Output of the latest forward, [E, B, out], valid until the next forward. */
const float *wsrl__mlp_output(const wsrl__mlp *m);
/* Batch of the latest successful forward (0 if none). */
int64_t wsrl__mlp_last_batch(const wsrl__mlp *m);
/* Rows, summed over members, the latest backward ran through: E * B for
 * the dense path, the rows with a non-zero dy for the sparse input-gradient
 * path (actor steps through the critics). */
int64_t wsrl__mlp_last_backward_rows(const wsrl__mlp *m);

/* Backward pass of the latest forward. dy: dLoss/dy [E, B, out].
 * param_grads != 0 ADDS the parameter gradients into the gradient buffer
 * (call wsrl__mlp_zero_grad() first). dx_out (may be NULL) receives
 * dLoss/dx: [B, in] summed over members (SHARED) or [E, B, in]
 * (PER_MEMBER). WSRL_ERR_WRONG_STATE without a preceding forward. */
wsrl_status_t wsrl__mlp_backward(wsrl__mlp *m, const float *dy, float *dx_out, int32_t param_grads);
/* wsrl__mlp_backward(m, dy, NULL, 1) of a one-member net whose dy rows
 * [r0, r1) fn writes first: inside the backward's region, each block on
 * the thread that then reads it, where the net runs its backward as row
 * blocks (its forward did); else all rows on the calling thread first.
 * fn must touch only its rows' data and must not fail. */
wsrl_status_t wsrl__mlp_backward_from(wsrl__mlp *m, wsrl__mlp_rows_fn fn, const void *job, float *dy);

void wsrl__mlp_zero_grad(wsrl__mlp *m);
/* Adam step with the accumulated gradients (clipped to the global norm in
 * the Adam config when set). grad_norm_out (may be NULL): the norm before
 * clipping. WSRL_ERR_NON_FINITE (parameters untouched) if a gradient is
 * NaN/inf; the caller counts it as a skipped step. */
wsrl_status_t wsrl__mlp_adam_step(wsrl__mlp *m, float *grad_norm_out);
/* Same, for a model with extra parameters outside the MLP (the policy's
 * log-std vector): extra_sumsq joins the global norm; *scale_out gets the
 * clip factor applied (1 without clipping) so the caller scales its own. */
wsrl_status_t wsrl__mlp_adam_step_ext(wsrl__mlp *m, double extra_sumsq, float *grad_norm_out, float *scale_out);
/* Adam step of m (as wsrl__mlp_adam_step), then target <- tau * params +
 * (1 - tau) * target, in one pass over the parameters (and their bf16
 * copies): the bits of the two calls one after the other. A skipped
 * (non-finite) step still averages the target and returns
 * WSRL_ERR_NON_FINITE. */
wsrl_status_t wsrl__mlp_adam_step_polyak(wsrl__mlp *m, wsrl__mlp *target, float tau, float *grad_norm_out);

/* One network's part of wsrl__mlp_adam_steps: m's step (Polyak into
 * target when non-NULL, with tau; extra_sumsq as in
 * wsrl__mlp_adam_step_ext), and what it did. */
typedef struct wsrl__mlp_step {
  wsrl__mlp *m;
  wsrl__mlp *target;
  float tau;
  double extra_sumsq;
  float grad_norm;      /* out */
  float scale;          /* out: the clip scale */
  wsrl_status_t status; /* out: WSRL_OK, WSRL_ERR_NON_FINITE (skipped), or not run (an argument error) */
} wsrl__mlp_step;
#define WSRL__MLP_MAX_STEPS 4

/* The Adam steps of count (<= WSRL__MLP_MAX_STEPS) distinct networks of one
 * context in one parallel region: the calls above one after the other,
 * each with its own norm, clip and skip, the same numbers. Returns the
 * first skipped step's status and message, else WSRL_OK; an argument
 * error changes nothing. */
wsrl_status_t wsrl__mlp_adam_steps(wsrl__mlp_step *steps, int32_t count);
/* wsrl__mlp_backward(m, dy, NULL, 1) then wsrl__mlp_adam_steps(steps,
 * count), the same numbers, in one parallel region where the backward runs
 * on a team (one fork and join fewer per critic update). A failed backward
 * runs no step (each left "not run"). */
wsrl_status_t wsrl__mlp_backward_steps(wsrl__mlp *m, const float *dy, wsrl__mlp_step *steps, int32_t count);
void wsrl__mlp_adam_reset(wsrl__mlp *m);
void wsrl__mlp_set_lr(wsrl__mlp *m, float lr);

/* target <- tau * src + (1 - tau) * target, over every parameter. The two
 * MLPs must have the same architecture (WSRL_ERR_INVALID_ARGUMENT). */
wsrl_status_t wsrl__mlp_polyak(wsrl__mlp *target, const wsrl__mlp *src, float tau);
/* dst parameters <- src parameters (same architecture). */
wsrl_status_t wsrl__mlp_copy_params(wsrl__mlp *dst, const wsrl__mlp *src);

/* Copy the parameters of members[j] of src into member j of dst, j < k:
 * same layer shapes, ensemble sizes may differ (the target-subset network
 * of the Q-ensemble). Split across the threads; in bf16 the rounded
 * weights come along where src's are current. */
wsrl_status_t wsrl__mlp_copy_members(wsrl__mlp *dst, const wsrl__mlp *src, const int32_t *members, int32_t k);

/* Flat parameter vector (public get/set, tests): the documented layout of
 * include/wsrl/agent.h, member by member, without padding. count must
 * equal wsrl__mlp_param_count(). */
int64_t wsrl__mlp_param_count(const wsrl__mlp *m);
wsrl_status_t wsrl__mlp_get_params(const wsrl__mlp *m, float *out, int64_t count);
wsrl_status_t wsrl__mlp_set_params(wsrl__mlp *m, const float *in, int64_t count);
/* Same for the gradient buffer (tests). */
wsrl_status_t wsrl__mlp_get_grads(const wsrl__mlp *m, float *out, int64_t count);

/* Weights a host or a file may set: finite (WSRL_ERR_NON_FINITE) and within
 * +-WSRL__PARAM_ABS_MAX (WSRL_ERR_INVALID_ARGUMENT), far above any trained
 * network's yet low enough that a forward pass cannot overflow to NaN
 * through LayerNorm. Messages name fn and the index. */
#define WSRL__PARAM_ABS_MAX 1e6f
wsrl_status_t wsrl__nn_check_params(const float *x, int64_t count, const char *fn);

/* Element addresses, for hand-set weights, reference paths and tests
 * (write through them before the next forward: bf16 mode rounds the
 * weights again only after such a call).
 * which: WSRL__MLP_PARAM or WSRL__MLP_GRAD. layer: 0 .. n_hidden (n_hidden
 * is the output layer). kind: WSRL__MLP_W (row k < fan_in, col n < fan_out),
 * WSRL__MLP_B (col n), WSRL__MLP_LN_SCALE / WSRL__MLP_LN_BIAS (col n; hidden
 * layers with LayerNorm only). Returns NULL when out of range. */
enum { WSRL__MLP_PARAM = 0, WSRL__MLP_GRAD = 1 };
enum { WSRL__MLP_W = 0, WSRL__MLP_B = 1, WSRL__MLP_LN_SCALE = 2, WSRL__MLP_LN_BIAS = 3 };
float *wsrl__mlp_elem(wsrl__mlp *m, int32_t which, int32_t kind, int32_t layer, int32_t member, int32_t k,
                      int32_t n);

/* Every state array of the MLP, for checkpoints: parameters, then (when
 * trainable) Adam's m and v. Each blob is one contiguous float array in
 * the internal layout (padding included, always zero). The Adam step
 * counter lives in *adam_t. Pointers are owned by the MLP. Getting a blob
 * writes nothing (concurrent saves read them); whoever writes through
 * data of a blob with an owner calls wsrl__mlp_params_written(owner)
 * before the net's next forward. */
typedef struct wsrl__nn_blob {
  const char *name; /* "params", "adam.m", "adam.v" */
  float *data;
  int64_t count;
  wsrl__mlp *owner; /* the net whose weights data holds ("params"), else NULL */
} wsrl__nn_blob;
int32_t wsrl__mlp_blob_count(const wsrl__mlp *m);
wsrl_status_t wsrl__mlp_blob(wsrl__mlp *m, int32_t index, wsrl__nn_blob *blob_out);
/* m's weights were written from outside (a checkpoint load): bf16 mode
 * rounds them again at the next forward. */
void wsrl__mlp_params_written(wsrl__mlp *m);
int64_t *wsrl__mlp_adam_t(wsrl__mlp *m);

/* ---------------------------------------------------------------- bench */

/* Measured rate of a batched matmul [E, M, K] x [E, K, N] (E = 1: 2-D) on
 * this context's threads, run for about `seconds`: GFLOP/s counting
 * 2*E*M*K*N per run. For bench/ (which must not include dnnl.h). */
wsrl_status_t wsrl__nn_matmul_rate(wsrl__nn_ctx *ctx, int64_t E, int64_t M, int64_t K, int64_t N, double seconds,
                                   double *gflops_out);
/* oneDNN's implementation name of that matmul (static storage of oneDNN). */
const char *wsrl__nn_backend_info(void);

/* ------------------------------------------------------ small float kernels */

/* Row-wise helpers used by the heads above nn (policy, ensemble). */
double wsrl__softplus(double x); /* log(1 + e^x), stable */
double wsrl__sigmoid(double x);

#endif /* WSRL_NN_H */
