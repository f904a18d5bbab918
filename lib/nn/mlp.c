/* Ensemble MLP: E members on oneDNN matmuls.
 *
 * Layout and schedule (docs/performance.md has the measurements):
 * - Biases are folded into the weights: every layer input carries a
 *   constant ones column (index fan_in) and every kernel an extra last row
 *   holding the bias. A per-member bias argument would send oneDNN's
 *   batched matmul to its reference kernel; the folded bias costs one
 *   extra K row and its gradient falls out of the weight-gradient matmul.
 * - Members run one after the other, depth first: member e's layer-0
 *   matmul, LayerNorm/ReLU, next matmul... on about 1 MB that stays in L2.
 *   Running each layer for all members at once (one batched matmul, or for
 *   layer 0 one [B, in+1] x [in+1, E*N] matmul) streamed 2.6 MB per layer
 *   through L3 between the matmuls and the element-wise kernels, which then
 *   took a quarter of an update (docs/performance.md).
 * - With T > 1 threads and E >= T/2 members (E >= 2; any E >= 2 for a
 *   forward-only net), members run in parallel on single-threaded
 *   primitives: no fork/join inside a member's chain (hundreds per update
 *   otherwise) and every matmul keeps its whole working set in its own
 *   core's L2. The forward splits each member's rows into blocks (rows are
 *   independent; blocks of >= 32 rows) so that the E x blocks tasks fill
 *   the T threads evenly (split_count). The backward runs one member per
 *   thread, or, where the members do not divide evenly over the threads,
 *   each layer's weight gradients in column blocks and input gradients in
 *   row blocks (bwd_split_count; a column block sums over all rows in the
 *   same order). Smaller ensembles split each primitive across threads
 *   instead, except a trainable single net (the actor), which runs its
 *   forward as row blocks like a member's and its backward (without input
 *   gradient) as their counterpart: dW column blocks, dX row blocks, the
 *   LayerNorm kernel's row chunks (row_team; one region each).
 * - Each member's result is computed by one thread in a fixed order, a
 *   shared input's dX sums the members' contributions in member order, and
 *   a weight gradient sums the batch in fixed chunks of DW_CHUNK rows, so
 *   numbers do not depend on the thread count (given oneDNN's kernels do
 *   not for those shapes; on AVX-512 they did not, under
 *   DNNL_MAX_CPU_ISA=AVX2 some did).
 * - A backward with parameter gradients can take Adam steps along in its
 *   region (wsrl__mlp_backward_steps): after its last phase the norms'
 *   block sums, a barrier, the passes (each_phase; a critic update's
 *   backward and step, one fork and join fewer).
 * - The layer-0 kernel is stored [in+1][E][N] (each member a strided slice).
 * - A one-unit output (critics, value) is fused into the last LayerNorm/
 *   ReLU kernel, not a matmul with N = 1.
 * - oneDNN has no matmul backward: dW = X^T dY and dX = dY W^T are matmuls
 *   over transposed (strided) descriptors; dW accumulates via a sum post-op.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#ifdef _OPENMP
#  include <omp.h>
#endif

#include "nn_internal.h"

#define MAX_LAYERS (WSRL__NN_MAX_HIDDEN + 1)
#define MAX_TENSORS (3 * MAX_LAYERS)
#define ALIGN_FLOATS 16 /* 64 bytes */
/* Rows per matmul of the sparse input-gradient backward (see sparse_member). */
#define SPARSE_CHUNK 32
/* Fewest rows per block of a forward split across threads (smaller
 * matmuls lose more than idle threads would), and the fixed cost of a
 * block (primitive calls, kernel set-up) in rows of work. */
#define SPLIT_MIN_ROWS 32
#define SPLIT_TASK_ROWS 8
/* Most rows of a forward that a net without parallel members runs on one
 * thread (see slot.serial). */
#define SERIAL_ROWS 8
/* Rows per chunk of a weight gradient's sum over the batch (slot.dw_rows).
 * oneDNN's kernels sum a longer reduction in blocks chosen by the shape of
 * the output, so a weight gradient split into column or row blocks (the
 * split and row backwards) gave other bits than the whole for 512 rows and
 * more; up to 384 they gave the same for any split (AVX-512, fp32 and
 * bf16). Summing fixed chunks in order keeps the numbers the same for any
 * thread count. */
#define DW_CHUNK 256

typedef struct slot {
  int64_t batch; /* 0: empty */
  int32_t mode;
  uint64_t stamp;
  wsrl__nn_matmul fwd[MAX_LAYERS], bww[MAX_LAYERS], bwd[MAX_LAYERS];
  /* Every weight-gradient matmul (bww, bww_part, rbw) runs per chunk of
   * dw_rows rows in order, the last chunk of dw_tail rows on its _t twin
   * (built where dw_tail differs). */
  int64_t dw_rows, dw_tail;
  wsrl__nn_matmul bww_t[MAX_LAYERS], bww_part_t[MAX_LAYERS], rbw_t[MAX_LAYERS];
  /* Forward split into row blocks when the team outnumbers the members
   * (splits > 1): blocks of part_rows rows, the last of tail_rows, with
   * their own forward matmuls (fwd_tail only when tail_rows differs). */
  int32_t splits;
  int64_t part_rows, tail_rows;
  wsrl__nn_matmul fwd_part[MAX_LAYERS], fwd_tail[MAX_LAYERS];
  /* A net without parallel members on at most SERIAL_ROWS rows (act() on
   * the learner): its primitives are built for, and run on, one thread;
   * forking the team for them cost more than their work (a one-row
   * forward took 6.4 us at 1 thread and 14 us at 2). */
  int32_t serial;
  /* Critic backward split where the members do not divide evenly over
   * the team (bwd_split_count): weight gradients in bsplits column blocks,
   * input gradients in bsplits row blocks, each block a task (bww_part,
   * bwd_part). 1: one task per member. */
  int32_t bsplits;
  wsrl__nn_matmul bww_part[MAX_LAYERS], bwd_part[MAX_LAYERS];
  /* Backward of a one-member net whose forward runs row blocks (row_team;
   * rsplits 0: none): each layer's dW in rsplits column blocks (the
   * output layer's whole) and dX in rsplits row blocks, one-thread
   * primitives, one region for all layers (row_backward). */
  int32_t rsplits;
  wsrl__nn_matmul rbw[MAX_LAYERS], rbx[MAX_LAYERS];
} slot;

struct wsrl__mlp {
  wsrl__nn_ctx *ctx;
  wsrl__mlp_spec spec;
  wsrl__adam_cfg adam;
  int64_t adam_t;
  int32_t nl;                                     /* layers incl. output = n_hidden + 1 */
  int32_t team;                                   /* threads running members in parallel (1: none) */
  int32_t row_team;                               /* threads a one-member net's forward splits its rows over (1: none) */
  wsrl__mlp_rows_fn then;                         /* wsrl__mlp_forward_then's hook during its forward, else NULL */
  const void *then_job;
  wsrl__mlp_rows_fn before;                       /* wsrl__mlp_backward_from's hook during a row backward, else NULL */
  const void *before_job;
  int32_t bf16;                                   /* matmul inputs in bf16 (nn.precision) */
  int64_t fan_in[MAX_LAYERS], fan_out[MAX_LAYERS];
  /* parameter tensors (offsets into params/grads) */
  int64_t w_off[MAX_LAYERS], ln_off[MAX_LAYERS];  /* ln: gamma [E,N] then beta [E,N] */
  int32_t n_tensors;
  int64_t t_off[MAX_TENSORS], t_cnt[MAX_TENSORS];
  int64_t n_params;                               /* without padding */
  int64_t n_padded;                               /* floats of each state array */
  float *arena;
  size_t bytes;
  float *params, *grads, *adam_m, *adam_v;
  double *norm_part; /* the optimizer step's block sums (wsrl__adam_set.part) */
  /* zero_grad() only marks the gradients; the backward's member tasks
   * zero their own slices in parallel just before accumulating into them,
   * and anything else that reads them zeroes them first (settle_grads). */
  int32_t grads_zero_pending;
  /* workspace, sized for max_batch rows per member */
  float *xin;                                     /* [rows, in+1], ones column */
  float *act[WSRL__NN_MAX_HIDDEN];                /* [E*B, N+1], ones column; forward-only: [B, N+1] per thread */
  float *y[WSRL__NN_MAX_HIDDEN];                  /* pre-activation (matmul output) */
  float *mean[WSRL__NN_MAX_HIDDEN], *rstd[WSRL__NN_MAX_HIDDEN]; /* LayerNorm row statistics */
  float *out;                                     /* [E, B, out] */
  /* Per team thread, one member's worth: */
  float *chain_y;                                 /* y of a forward-only net */
  float *dact, *dy;                               /* backward ping-pong */
  float *partial;                                 /* parameter-gradient chunk sums */
  int64_t chain_stride, grad_stride, partial_stride; /* floats between threads' copies */
  float *dxp;                                     /* [E, Bp, in] members' dX (Bp: max_batch padded to a chunk) */
  /* Sparse input-gradient backward (ensembles with a one-unit head): per
   * member the rows with a non-zero dQ, their dQ, their count, and dX
   * matmuls over SPARSE_CHUNK rows that serve any row count. */
  int32_t *gidx;                                  /* [E, max_batch] */
  float *gdq;                                     /* [E, max_batch] */
  int32_t *gcount;                                /* [E] */
  int32_t *gtask;                                 /* per chunk task: e * Bp + its first gathered row */
  int64_t gtasks;
  /* bf16 mode: rounded copies of what the matmuls read, same layouts as
   * params, xin, act and (per team thread) dy. Weights are rounded once
   * per forward; backward uses that copy (parameters do not change in
   * between), the sparse input-gradient path included. */
  uint16_t *w16, *xin16, *act16[WSRL__NN_MAX_HIDDEN], *dy16;
  /* Trainable bf16 nets, per team thread: a layer input transposed
   * ([K+1, B]) for its weight-gradient matmul, which oneDNN runs about
   * 1.8x faster on a plain than on a transposed bf16 source. */
  uint16_t *xt16;
  int64_t xt_stride;                              /* bf16 values between threads' copies */
  /* w16 holds the current params (written by the fused Adam/Polyak pass
   * or the latest forward); anything else that may change params clears
   * it, and the next forward rounds them again. */
  int32_t w16_fresh;
  /* bf16 ensembles: the first layer's bf16 kernels again, one member after
   * another ([E][in+1][N]), so that each member's matmuls read a plain
   * matrix (oneDNN 2.6 runs its brgemm kernels on that, and a slower gemm
   * on the strided one: 17 against 8 us per call at 256 x 24 x 256).
   * Rewritten from w16 when w16_version moved past w0_version. */
  uint16_t *w0_16;
  uint64_t w16_version, w0_version;
  /* grads are all zero (zeroed, or cleared by the Adam pass that read them):
   * zero_grad has nothing to do. Any write to grads clears it. */
  int32_t grads_zero;
  int64_t gpad;                                   /* Bp */
  wsrl__nn_matmul chunk_dx[WSRL__NN_MAX_HIDDEN];
  slot slots[WSRL__NN_SHAPE_SLOTS];
  uint64_t clock;
  slot *last;                                     /* slot of the latest forward */
  int64_t last_bwd_rows;                          /* rows (over members) of the latest backward */
};

static int64_t round_up(int64_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* Bump allocator over the arena: with base NULL it only measures. */
static float *take(float *base, int64_t *off, int64_t n) {
  float *p = base != NULL ? base + *off : NULL;
  *off += round_up(n);
  return p;
}

/* n bf16 values from the arena (NULL unless in bf16 mode). */
static uint16_t *take16(const wsrl__mlp *m, float *base, int64_t *off, int64_t n) {
  return m->bf16 ? (uint16_t *)take(base, off, (n + 1) / 2) : NULL;
}

static int64_t max_rows(const wsrl__mlp *m) { return (int64_t)m->spec.ensemble * m->spec.max_batch; }

/* The sparse backward serves trainable ensembles whose output is the fused
 * one-unit head (critics): the actor's loss reaches each row of them
 * through one member only. */
static int has_sparse(const wsrl__mlp *m) {
  return m->spec.trainable && m->spec.ensemble > 1 && m->fan_out[m->nl - 1] == 1;
}

/* Column/row blocks per member of the split critic backward (slot.bsplits)
 * of a trainable ensemble with a fused one-unit head whose members run in
 * parallel. One task per member costs ceil(E / T) rounds of a LayerNorm
 * backward (0.1) and a dW and a dX matmul (1 each); split, ceil(E / T)
 * rounds of LayerNorm, then ceil(2 E S / T) rounds of blocks of 1 / S, each
 * charged 1/32 more for its smaller matmul, and one more region (0.05).
 * The cheapest S in 2..8 that divides the rows (unless batch is 0) and
 * every hidden width, if it beats one task per member. 10 members at
 * batch 256: none at 2 and 12 threads, 2 blocks at 4, 8 and 20, 4 at 16. */
static int32_t bwd_split_count(const wsrl__mlp *m, int64_t batch) {
  const int64_t E = m->spec.ensemble, T = m->team;
  if (!m->spec.trainable || T <= 1 || m->fan_out[m->spec.n_hidden] != 1)
    return 1;
  const double ln_rounds = (double)((E + T - 1) / T);
  int32_t best = 1;
  double best_cost = ln_rounds * 2.1;
  for (int32_t S = 2; S <= 8; S++) {
    int fits = batch <= 0 || batch % S == 0;
    for (int32_t l = 0; l < m->spec.n_hidden; l++)
      fits = fits && m->fan_out[l] % S == 0;
    const double cost = ln_rounds * 0.1 + (double)((2 * E * S + T - 1) / T) * (1.0 / S + 1.0 / 32) + 0.05;
    if (fits && cost < best_cost)
      best = S, best_cost = cost;
  }
  return best;
}

/* Place every array; returns the total floats. Called twice (measure, place). */
static int64_t plan(wsrl__mlp *m, float *base) {
  const int64_t E = m->spec.ensemble, L = m->spec.n_hidden;
  int64_t off = 0, poff = 0;
  m->n_tensors = 0;
  m->n_params = 0;
  for (int32_t l = 0; l < m->nl; l++) {
    int64_t cnt = (m->fan_in[l] + 1) * m->fan_out[l] * E;
    m->w_off[l] = poff;
    m->t_off[m->n_tensors] = poff;
    m->t_cnt[m->n_tensors++] = cnt;
    m->n_params += cnt;
    poff += round_up(cnt);
    if (l < L && m->spec.layer_norm) {
      cnt = 2 * E * m->fan_out[l];
      m->ln_off[l] = poff;
      m->t_off[m->n_tensors] = poff;
      m->t_cnt[m->n_tensors++] = cnt;
      m->n_params += cnt;
      poff += round_up(cnt);
    }
  }
  m->n_padded = poff;
  const int trainable = m->spec.trainable;
  m->params = take(base, &off, poff);
  m->grads = trainable ? take(base, &off, poff) : NULL;
  m->adam_m = trainable ? take(base, &off, poff) : NULL;
  m->adam_v = trainable ? take(base, &off, poff) : NULL;
  /* The optimizer step's per-block sums of squares (doubles). */
  m->norm_part = trainable ? (double *)(void *)take(base, &off, 2 * (int64_t)wsrl__adam_blocks((size_t)poff)) : NULL;
  const int64_t rows = max_rows(m);
  int64_t widest = m->fan_out[m->nl - 1];
  for (int32_t l = 0; l < L; l++)
    widest = m->fan_out[l] > widest ? m->fan_out[l] : widest;
  /* Room for max_batch rows padded to whole chunks (sparse backward). */
  m->gpad = (m->spec.max_batch + SPARSE_CHUNK - 1) / SPARSE_CHUNK * SPARSE_CHUNK;
  const int64_t member = round_up(m->gpad * widest), T = m->team;
  /* Backward buffers: one copy per team thread, or per member where the
   * split critic backward (bwd_split_count) may index them by member. */
  const int64_t TB = m->spec.ensemble > T && bwd_split_count(m, 0) > 1 ? m->spec.ensemble : T;
  m->xin = take(base, &off, rows * (m->fan_in[0] + 1));
  m->w16 = take16(m, base, &off, poff);
  m->w0_16 = m->spec.ensemble > 1 ? take16(m, base, &off, (m->fan_in[0] + 1) * m->spec.ensemble * m->fan_out[0]) : NULL;
  m->xin16 = take16(m, base, &off, rows * (m->fan_in[0] + 1));
  /* A forward-only net needs y only inside one member's chain. */
  m->chain_stride = trainable ? 0 : member;
  m->chain_y = trainable ? NULL : take(base, &off, T * member);
  for (int32_t l = 0; l < L; l++) {
    /* A forward-only net keeps no activations: one member's rows per thread,
     * which stay in that core's L2 between the kernel and the next matmul. */
    m->act[l] = take(base, &off, (trainable ? rows : T * m->spec.max_batch) * (m->fan_out[l] + 1));
    m->act16[l] = take16(m, base, &off, (trainable ? rows : T * m->spec.max_batch) * (m->fan_out[l] + 1));
    m->y[l] = trainable ? take(base, &off, rows * m->fan_out[l]) : NULL;
    m->mean[l] = trainable && m->spec.layer_norm ? take(base, &off, rows) : NULL;
    m->rstd[l] = trainable && m->spec.layer_norm ? take(base, &off, rows) : NULL;
  }
  m->out = take(base, &off, rows * m->fan_out[m->nl - 1]);
  m->grad_stride = trainable ? member : 0;
  m->dact = trainable ? take(base, &off, TB * member) : NULL;
  m->dy = trainable ? take(base, &off, TB * member) : NULL;
  m->dy16 = trainable ? take16(m, base, &off, TB * member) : NULL;
  int64_t k1 = 0; /* widest input (ones column included) of the layers after the first */
  for (int32_t l = 1; l < m->nl; l++)
    k1 = m->fan_in[l] + 1 > k1 ? m->fan_in[l] + 1 : k1;
  m->xt_stride = trainable && m->bf16 ? 2 * round_up((k1 * m->spec.max_batch + 1) / 2) : 0;
  m->xt16 = trainable ? take16(m, base, &off, TB * m->xt_stride) : NULL;
  int64_t part = 0;
  for (int32_t l = 0; l < L && trainable; l++) {
    int64_t f = (int64_t)wsrl__nn_ln_partial_floats(1, m->spec.max_batch, m->fan_out[l]);
    part = f > part ? f : part;
  }
  m->partial_stride = round_up(part);
  m->partial = trainable ? take(base, &off, TB * m->partial_stride) : NULL;
  m->dxp = trainable && m->spec.ensemble > 1 ? take(base, &off, m->spec.ensemble * m->gpad * m->fan_in[0]) : NULL;
  const int sparse = has_sparse(m);
  /* int32 arrays in the float arena: same size, and malloc'd memory takes
   * the type of what is stored in it. */
  m->gidx = sparse ? (int32_t *)take(base, &off, rows) : NULL;
  m->gdq = sparse ? take(base, &off, rows) : NULL;
  m->gcount = sparse ? (int32_t *)take(base, &off, m->spec.ensemble) : NULL;
  m->gtask = sparse ? (int32_t *)take(base, &off, m->spec.ensemble * (m->gpad / SPARSE_CHUNK)) : NULL;
  return off;
}

/* Where member e's kernel of layer l lies: `rows` runs of `len` floats,
 * `stride` apart (layer 0 is [in+1][E][N]; the others [E][in+1][N]). */
static void member_runs(const wsrl__mlp *m, int32_t l, int64_t *rows, int64_t *len, int64_t *stride) {
  const int64_t N = m->fan_out[l], K1 = m->fan_in[l] + 1;
  *rows = l == 0 ? K1 : 1;
  *len = l == 0 ? N : K1 * N;
  *stride = l == 0 ? m->spec.ensemble * N : 0;
}

/* Element (k, n) of member e's kernel of layer l (k == fan_in is the bias). */
static int64_t w_index(const wsrl__mlp *m, int32_t l, int64_t e, int64_t k, int64_t n) {
  const int64_t E = m->spec.ensemble, N = m->fan_out[l], K1 = m->fan_in[l] + 1;
  if (l == 0)
    return m->w_off[0] + k * (E * N) + e * N + n;
  return m->w_off[l] + e * K1 * N + k * N + n;
}

/* Leading dimension of layer l's kernel as the matmuls read it (mm_w). */
static int64_t w_ld(const wsrl__mlp *m, int32_t l) {
  return l == 0 && m->w0_16 == NULL ? m->spec.ensemble * m->fan_out[0] : m->fan_out[l];
}

static wsrl_status_t check_spec(const wsrl__mlp_spec *s) {
  if (s->ensemble < 1 || s->ensemble > 1024)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: ensemble size must be in [1, 1024] (got %d)", s->ensemble);
  if (s->in_dim < 1 || s->out_dim < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: in_dim and out_dim must be > 0 (got %d, %d)", s->in_dim,
                       s->out_dim);
  if (s->n_hidden < 1 || s->n_hidden > WSRL__NN_MAX_HIDDEN)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: hidden layer count must be in [1, %d] (got %d)",
                       WSRL__NN_MAX_HIDDEN, s->n_hidden);
  for (int32_t l = 0; l < s->n_hidden; l++)
    if (s->hidden[l] < 1)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: hidden[%d] must be > 0 (got %d)", l, s->hidden[l]);
  if (s->max_batch < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: max_batch must be > 0 (got %lld)", (long long)s->max_batch);
  if (!(s->hidden_gain >= 0.0f) || !(s->kernel_scale_final >= 0.0f) || !(s->out_gain >= 0.0f))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: init gains must be >= 0");
  if (s->hidden_init != WSRL__INIT_ORTHOGONAL && s->hidden_init != WSRL__INIT_VAR_SCALING)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: unknown hidden kernel init %d", s->hidden_init);
  return WSRL_OK;
}

static wsrl_status_t init_params(wsrl__mlp *m, wsrl__rng *rng) {
  const float sqrt2 = 1.41421356237309515f;
  const int32_t L = m->spec.n_hidden;
  const float hidden = m->spec.hidden_gain > 0.0f ? m->spec.hidden_gain : sqrt2;
  for (int32_t l = 0; l < m->nl; l++) {
    float gain = hidden;
    if (l == L - 1 && m->spec.kernel_scale_final > 0.0f)
      gain = m->spec.kernel_scale_final;
    if (l == L)
      gain = m->spec.out_gain > 0.0f ? m->spec.out_gain : sqrt2;
    const int64_t ld_row = l == 0 ? (int64_t)m->spec.ensemble * m->fan_out[0] : m->fan_out[l];
    const int var_scaling = l < L && m->spec.hidden_init == WSRL__INIT_VAR_SCALING;
    /* var_scaling: flax's scale is a variance, 1 unless the last hidden layer's is set */
    const float scale = l == L - 1 && m->spec.kernel_scale_final > 0.0f ? m->spec.kernel_scale_final : 1.0f;
    for (int32_t e = 0; e < m->spec.ensemble; e++) {
      float *w = m->params + w_index(m, l, e, 0, 0);
      if (var_scaling)
        wsrl__nn_var_scaling(rng, scale, m->fan_in[l], m->fan_out[l], w, ld_row, 1);
      else
        WSRL__TRY(wsrl__nn_orthogonal(&m->ctx->alloc, rng, gain, m->fan_in[l], m->fan_out[l], w, ld_row, 1));
    }
    if (l < L && m->spec.layer_norm) {
      float *g = m->params + m->ln_off[l];
      for (int64_t i = 0; i < (int64_t)m->spec.ensemble * m->fan_out[l]; i++)
        g[i] = 1.0f; /* scale 1; the bias half stays 0 */
    }
  }
  return WSRL_OK;
}

/* The constant ones columns of every layer input, for all rows. */
static void set_ones(wsrl__mlp *m) {
  for (int32_t l = 0; l <= m->spec.n_hidden; l++) {
    const int64_t rows = l == 0 || m->spec.trainable ? max_rows(m) : m->team * m->spec.max_batch;
    float *buf = l == 0 ? m->xin : m->act[l - 1];
    uint16_t *buf16 = m->bf16 ? (l == 0 ? m->xin16 : m->act16[l - 1]) : NULL;
    const int64_t k = m->fan_in[l], k1 = k + 1;
    for (int64_t r = 0; r < rows; r++) {
      buf[r * k1 + k] = 1.0f;
      if (buf16 != NULL) /* the kernels write only the features */
        buf16[r * k1 + k] = 0x3f80; /* 1.0 in bf16 */
    }
  }
}

static wsrl_status_t build_sparse(wsrl__mlp *m);

wsrl_status_t wsrl__mlp_create(wsrl__mlp **mlp_out, wsrl__nn_ctx *ctx, const wsrl__mlp_spec *spec,
                               const wsrl__adam_cfg *adam, wsrl__rng *rng) {
  WSRL__CHECK_NULL(mlp_out);
  *mlp_out = NULL;
  WSRL__CHECK_NULL(ctx);
  WSRL__CHECK_NULL(spec);
  WSRL__CHECK_NULL(rng);
  WSRL__TRY(check_spec(spec));
  if (spec->trainable && adam == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: a trainable MLP needs an Adam config");
  wsrl__mlp *m = wsrl__calloc(&ctx->alloc, 1, sizeof *m);
  if (m == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating an MLP");
  m->ctx = ctx;
  m->spec = *spec;
  if (adam != NULL)
    m->adam = *adam;
  m->nl = spec->n_hidden + 1;
  /* Members in parallel when they keep at least half the threads busy in
   * the backward (one member per thread), and always in a forward-only net
   * (the forward splits rows to fill the threads: split_count). Else (the
   * actor, E = 1) every primitive splits across the threads. */
  const int32_t T = ctx->team;
  m->team = T > 1 && spec->ensemble >= 2 && (2 * spec->ensemble >= T || !spec->trainable) ? T : 1;
  /* A trainable single net (the actor) runs its forward as row blocks on
   * the team, one region for all layers, instead of a team per primitive
   * and per LayerNorm kernel; its backward still splits each primitive. */
  m->row_team = T > 1 && spec->ensemble == 1 && spec->trainable ? T : 1;
  m->bf16 = ctx->precision == WSRL__NN_BF16;
  for (int32_t l = 0; l < m->nl; l++) {
    m->fan_in[l] = l == 0 ? spec->in_dim : spec->hidden[l - 1];
    m->fan_out[l] = l < spec->n_hidden ? spec->hidden[l] : spec->out_dim;
  }
  int64_t floats = plan(m, NULL);
  if ((uint64_t)floats > SIZE_MAX / sizeof(float)) {
    wsrl__free(&ctx->alloc, m);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "mlp: workspace size overflows");
  }
  m->bytes = (size_t)floats * sizeof(float) + sizeof *m;
  m->arena = wsrl__aligned_alloc(&ctx->alloc, (size_t)floats * sizeof(float));
  if (m->arena == NULL) {
    wsrl__free(&ctx->alloc, m);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating %lld bytes for an MLP (max_batch %lld, ensemble %d)",
                       (long long)floats * 4, (long long)spec->max_batch, spec->ensemble);
  }
  plan(m, m->arena); /* wsrl__aligned_alloc zeroes: padding, grads, moments start at 0 */
  set_ones(m);
  wsrl_status_t rc = init_params(m, rng);
  if (rc == WSRL_OK && has_sparse(m))
    rc = build_sparse(m);
  if (rc != WSRL_OK) {
    wsrl__mlp_destroy(m);
    return rc;
  }
  *mlp_out = m;
  return WSRL_OK;
}

static void slot_clear(slot *s, wsrl__nn_ctx *ctx) {
  for (int32_t l = 0; l < MAX_LAYERS; l++) {
    wsrl__nn_matmul_fini(&s->fwd_part[l], ctx);
    wsrl__nn_matmul_fini(&s->fwd_tail[l], ctx);
    wsrl__nn_matmul_fini(&s->fwd[l], ctx);
    wsrl__nn_matmul_fini(&s->bww[l], ctx);
    wsrl__nn_matmul_fini(&s->bww_part[l], ctx);
    wsrl__nn_matmul_fini(&s->bwd_part[l], ctx);
    wsrl__nn_matmul_fini(&s->bwd[l], ctx);
    wsrl__nn_matmul_fini(&s->rbw[l], ctx);
    wsrl__nn_matmul_fini(&s->bww_t[l], ctx);
    wsrl__nn_matmul_fini(&s->bww_part_t[l], ctx);
    wsrl__nn_matmul_fini(&s->rbw_t[l], ctx);
    wsrl__nn_matmul_fini(&s->rbx[l], ctx);
  }
  s->batch = 0;
  s->splits = 1;
  s->bsplits = 1;
  s->rsplits = 0;
}

void wsrl__mlp_destroy(wsrl__mlp *m) {
  if (m == NULL)
    return;
  for (int32_t i = 0; i < WSRL__NN_SHAPE_SLOTS; i++)
    slot_clear(&m->slots[i], m->ctx);
  for (int32_t l = 0; l < WSRL__NN_MAX_HIDDEN; l++)
    wsrl__nn_matmul_fini(&m->chunk_dx[l], m->ctx);
  wsrl__aligned_free(&m->ctx->alloc, m->arena);
  wsrl__free(&m->ctx->alloc, m);
}

const wsrl__mlp_spec *wsrl__mlp_get_spec(const wsrl__mlp *m) { return &m->spec; }
size_t wsrl__mlp_memory_usage(const wsrl__mlp *m) { return m->bytes; }

/* ---- primitives per shape ---- */

/* Descriptor of an r x c matrix with strides (sr, sc). */
static wsrl_status_t md2(dnnl_memory_desc_t *md, int64_t r, int64_t c, int64_t sr, int64_t sc) {
  int64_t d[2] = {r, c}, st[2] = {sr, sc};
  return wsrl__nn_md(md, 2, d, st);
}

/* Same for a matmul input: bf16 in bf16 mode. */
static wsrl_status_t md2_in(const wsrl__mlp *m, dnnl_memory_desc_t *md, int64_t r, int64_t c, int64_t sr,
                            int64_t sc) {
  int64_t d[2] = {r, c}, st[2] = {sr, sc};
  return wsrl__nn_md_dt(md, 2, d, st, m->bf16 ? dnnl_bf16 : dnnl_f32);
}

/* A hidden layer without LayerNorm whose ReLU rides on its forward matmul
 * (oneDNN post-op), written straight into the next layer's input: no
 * element-wise pass. Not the layer carrying a fused one-unit head, nor a
 * trainable bf16 net (its backward reads the fp32 activation, the next
 * matmul the bf16 one: the kernel writes both in one pass). */
static int relu_in_matmul(const wsrl__mlp *m, int32_t l) {
  const int32_t L = m->spec.n_hidden;
  return l < L && !m->spec.layer_norm && !(l == L - 1 && m->fan_out[L] == 1) && !(m->bf16 && m->spec.trainable);
}

/* Forward matmul of layer l on `rows` rows of one member: into y, or with
 * relu_in_matmul() into the activation (ld N + 1; bf16 in bf16 mode). */
static wsrl_status_t build_fwd(wsrl__mlp *m, wsrl__nn_matmul *mm, int32_t l, int64_t rows, int32_t team) {
  const int64_t K1 = m->fan_in[l] + 1, N = m->fan_out[l];
  const int relu = relu_in_matmul(m, l);
  dnnl_memory_desc_t src, wei, dst;
  WSRL__TRY(md2_in(m, &src, rows, K1, K1, 1));
  WSRL__TRY(md2_in(m, &wei, K1, N, w_ld(m, l), 1));
  if (relu)
    WSRL__TRY(md2_in(m, &dst, rows, N, N + 1, 1));
  else
    WSRL__TRY(md2(&dst, rows, N, N, 1));
  return wsrl__nn_matmul_init(mm, m->ctx, &src, &wei, &dst, relu ? WSRL__MM_RELU : 0, team);
}

/* Whether the weight gradient of layer l reads the transposed input copy. */
static int xt_layer(const wsrl__mlp *m, int32_t l) { return m->xt16 != NULL && l > 0; }

/* dW (+)= X^T dY of layer l on `rows` of a batch of B, for `cols` of its
 * N output columns (dY read with ld N), written where the kernel lives; X
 * read transposed, or (bf16, after the first layer) its transposed copy
 * xt16 (ld B). */
static wsrl_status_t build_dw(wsrl__mlp *m, wsrl__nn_matmul *mm, int32_t l, int64_t B, int64_t rows, int64_t cols,
                              int32_t team) {
  const int64_t K1 = m->fan_in[l] + 1, N = m->fan_out[l];
  const int64_t ldw = l == 0 ? m->spec.ensemble * N : N; /* kernel rows: [K1][E][N] or [E][K1][N] */
  dnnl_memory_desc_t src, wei, dst;
  if (xt_layer(m, l))
    WSRL__TRY(md2_in(m, &src, K1, rows, B, 1));
  else
    WSRL__TRY(md2_in(m, &src, K1, rows, 1, K1));
  WSRL__TRY(md2_in(m, &wei, rows, cols, N, 1));
  WSRL__TRY(md2(&dst, K1, cols, ldw, 1));
  return wsrl__nn_matmul_init(mm, m->ctx, &src, &wei, &dst, WSRL__MM_SUM, team);
}

/* A weight-gradient matmul's chunk primitive and, where the last chunk is
 * shorter, its tail twin (slot.dw_rows). */
static wsrl_status_t build_dw_chunks(wsrl__mlp *m, const slot *s, wsrl__nn_matmul *chunk, wsrl__nn_matmul *tail,
                                     int32_t l, int64_t cols, int32_t team) {
  WSRL__TRY(build_dw(m, chunk, l, s->batch, s->dw_rows, cols, team));
  return s->dw_tail != s->dw_rows ? build_dw(m, tail, l, s->batch, s->dw_tail, cols, team) : WSRL_OK;
}

/* dX = dY W^T of layer l on `rows` rows, without the bias row. */
static wsrl_status_t build_dx(wsrl__mlp *m, wsrl__nn_matmul *mm, int32_t l, int64_t rows, int32_t team) {
  const int64_t K = m->fan_in[l], N = m->fan_out[l];
  dnnl_memory_desc_t src, wei, dst;
  WSRL__TRY(md2_in(m, &src, rows, N, N, 1));
  WSRL__TRY(md2_in(m, &wei, N, K, 1, w_ld(m, l)));
  WSRL__TRY(md2(&dst, rows, K, K, 1));
  return wsrl__nn_matmul_init(mm, m->ctx, &src, &wei, &dst, 0, team);
}

/* The forward matmuls of layer l's row blocks (slot.splits), each run
 * by one thread of the team. */
static wsrl_status_t build_parts(wsrl__mlp *m, slot *s, int32_t l) {
  const int32_t team = m->row_team > 1 ? m->row_team : m->team;
  WSRL__TRY(build_fwd(m, &s->fwd_part[l], l, s->part_rows, team));
  if (s->tail_rows != s->part_rows)
    WSRL__TRY(build_fwd(m, &s->fwd_tail[l], l, s->tail_rows, team));
  return WSRL_OK;
}

/* Blocks of a row backward (slot.rsplits) of a trainable one-member net
 * whose forward runs row blocks: dW and dX blocks are 2 S tasks, one round
 * on the team with S = T / 2 (two threads: the whole dW and the whole dX,
 * side by side); S must divide the rows and every hidden width. 0: none
 * (each primitive then splits across the threads, as before). */
static int32_t row_bwd_split(const wsrl__mlp *m, const slot *s) {
  if (!m->spec.trainable || m->row_team <= 1 || s->splits <= 1)
    return 0;
  int32_t S = m->row_team / 2 > 1 ? m->row_team / 2 : 1;
  for (;; S--) {
    int fits = s->batch % S == 0;
    for (int32_t l = 0; l < m->spec.n_hidden; l++)
      fits = fits && m->fan_out[l] % S == 0;
    if (fits)
      return S;
  }
}

/* The row backward's primitives of layer l (one thread each): dW of N / S
 * columns (the output layer's whole), dX of B / S rows (not the first
 * layer's: no input gradient). */
static wsrl_status_t build_row_bwd(wsrl__mlp *m, slot *s, int32_t l) {
  const int64_t S = s->rsplits, N = m->fan_out[l];
  WSRL__TRY(build_dw_chunks(m, s, &s->rbw[l], &s->rbw_t[l], l, l < m->spec.n_hidden ? N / S : N, m->row_team));
  return l > 0 ? build_dx(m, &s->rbx[l], l, s->batch / S, m->row_team) : WSRL_OK;
}

/* Build forward (and, when trainable, both backward) matmuls of layer l
 * for one member; they run E times on shifted pointers. */
static wsrl_status_t build_layer(wsrl__mlp *m, slot *s, int32_t l) {
  const int64_t B = s->batch, N = m->fan_out[l];
  WSRL__TRY(build_fwd(m, &s->fwd[l], l, B, m->team));
  if (s->splits > 1 && m->row_team == 1)
    WSRL__TRY(build_parts(m, s, l));
  if (!m->spec.trainable)
    return WSRL_OK;
  WSRL__TRY(build_dw_chunks(m, s, &s->bww[l], &s->bww_t[l], l, N, m->team));
  WSRL__TRY(build_dx(m, &s->bwd[l], l, B, m->team));
  if (s->bsplits == 1 || l >= m->spec.n_hidden)
    return WSRL_OK;
  /* The split backward's blocks: dW's columns [c, c + N / S), dX's rows
   * [r, r + B / S). */
  WSRL__TRY(build_dw_chunks(m, s, &s->bww_part[l], &s->bww_part_t[l], l, N / s->bsplits, m->team));
  return build_dx(m, &s->bwd_part[l], l, B / s->bsplits, m->team);
}

/* dX = dY W^T on SPARSE_CHUNK rows for every hidden layer (sparse_member);
 * built once, they serve any row count. */
static wsrl_status_t build_sparse(wsrl__mlp *m) {
  const int32_t entered = wsrl__nn_enter(m->ctx);
  const int32_t saved = m->team > 1 ? wsrl__nn_single_thread_begin() : 0;
  wsrl_status_t rc = WSRL_OK;
  for (int32_t l = 0; l < m->spec.n_hidden && rc == WSRL_OK; l++)
    rc = build_dx(m, &m->chunk_dx[l], l, SPARSE_CHUNK, m->team);
  if (m->team > 1)
    wsrl__nn_leave(saved);
  wsrl__nn_leave(entered);
  return rc;
}

static int normalize_mode(const wsrl__mlp *m, int32_t mode) {
  return m->spec.ensemble == 1 ? WSRL__MLP_SHARED : mode;
}

static wsrl_status_t check_shape(const wsrl__mlp *m, int64_t batch, int32_t mode) {
  if (batch < 1 || batch > m->spec.max_batch)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: batch %lld outside [1, max_batch = %lld]",
                       (long long)batch, (long long)m->spec.max_batch);
  if (mode != WSRL__MLP_SHARED && mode != WSRL__MLP_PER_MEMBER)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: unknown input mode %d", mode);
  return WSRL_OK;
}

/* Row blocks per member of a forward on `batch` rows: the count whose
 * E x blocks tasks finish soonest on the team (static round-robin: the
 * busiest thread runs ceil(E blocks / T) of them), each task charged
 * SPLIT_TASK_ROWS rows of fixed cost on top of its own; blocks of at least
 * SPLIT_MIN_ROWS rows; the fewest blocks on a tie. 10 members of 256 rows:
 * 1 block on 2 threads, 2 on 4 (128 rows), 4 on 8 (64), 8 on 16 (32). */
static int64_t split_count(const wsrl__mlp *m, int64_t batch) {
  const int64_t E = m->spec.ensemble, T = m->row_team > 1 ? m->row_team : m->team;
  int64_t best = 1, best_cost = -1;
  for (int64_t s = 1; T > 1 && s <= batch / SPLIT_MIN_ROWS; s++) {
    const int64_t rows = (batch + s - 1) / s;
    const int64_t cost = (E * s + T - 1) / T * (rows + SPLIT_TASK_ROWS);
    if (best_cost < 0 || cost < best_cost)
      best = s, best_cost = cost;
  }
  return best;
}

/* Find the slot of (batch, mode), building it (evicting the least recently
 * used) when missing. */
static wsrl_status_t get_slot(wsrl__mlp *m, int64_t batch, int32_t mode, slot **out) {
  slot *victim = &m->slots[0];
  for (int32_t i = 0; i < WSRL__NN_SHAPE_SLOTS; i++) {
    slot *s = &m->slots[i];
    if (s->batch == batch && s->mode == mode) {
      s->stamp = ++m->clock;
      *out = s;
      return WSRL_OK;
    }
    /* Victim: the first empty slot, else the least recently used. */
    if (victim->batch != 0 && (s->batch == 0 || s->stamp < victim->stamp))
      victim = s;
  }
  if (m->last == victim)
    m->last = NULL;
  slot_clear(victim, m->ctx);
  victim->batch = batch;
  victim->mode = mode;
  const int64_t splits = split_count(m, batch);
  victim->part_rows = (batch + splits - 1) / splits;
  victim->splits = (int32_t)((batch + victim->part_rows - 1) / victim->part_rows);
  victim->tail_rows = batch - (victim->splits - 1) * victim->part_rows;
  const int32_t n_mm = m->fan_out[m->nl - 1] == 1 ? m->nl - 1 : m->nl; /* a 1-unit head is not a matmul */
  victim->serial = m->team == 1 && batch <= SERIAL_ROWS;
  victim->bsplits = bwd_split_count(m, batch);
  victim->dw_rows = batch < DW_CHUNK ? batch : DW_CHUNK;
  victim->dw_tail = batch - (batch - 1) / victim->dw_rows * victim->dw_rows;
  /* Primitives that run one per thread must be built for one thread:
   * oneDNN splits a primitive's work by the thread count it saw at creation. */
  const int one = m->team > 1 || victim->serial;
  const int32_t saved = one ? wsrl__nn_single_thread_begin() : 0;
  wsrl_status_t rc = WSRL_OK;
  for (int32_t l = 0; l < n_mm && rc == WSRL_OK; l++) {
    rc = build_layer(m, victim, l);
    if (rc != WSRL_OK)
      rc = wsrl__error_wrap(rc, "building layer %d for batch %lld: ", l, (long long)batch);
  }
  if (one)
    wsrl__nn_leave(saved);
  if (rc == WSRL_OK && m->row_team > 1 && victim->splits > 1) {
    /* A one-member net's row blocks: one-thread primitives, one per team
     * thread at a time, like the members' of an ensemble. */
    const int32_t single = wsrl__nn_single_thread_begin();
    victim->rsplits = row_bwd_split(m, victim);
    for (int32_t l = 0; l < n_mm && rc == WSRL_OK; l++) {
      rc = build_parts(m, victim, l);
      if (rc == WSRL_OK && victim->rsplits > 0)
        rc = build_row_bwd(m, victim, l);
      if (rc != WSRL_OK)
        rc = wsrl__error_wrap(rc, "building layer %d's row blocks for batch %lld: ", l, (long long)batch);
    }
    wsrl__nn_leave(single);
  }
  if (rc != WSRL_OK) {
    slot_clear(victim, m->ctx);
    return rc;
  }
  victim->stamp = ++m->clock;
  *out = victim;
  return WSRL_OK;
}

wsrl_status_t wsrl__mlp_prepare(wsrl__mlp *m, int64_t batch, int32_t mode) {
  WSRL__CHECK_NULL(m);
  mode = normalize_mode(m, mode);
  WSRL__TRY(check_shape(m, batch, mode));
  slot *s;
  int32_t saved = wsrl__nn_enter(m->ctx);
  wsrl_status_t rc = get_slot(m, batch, mode, &s);
  wsrl__nn_leave(saved);
  return rc;
}

int64_t wsrl__mlp_cached_batch(const wsrl__mlp *m, int64_t batch, int32_t mode) {
  mode = normalize_mode(m, mode);
  int64_t best = 0;
  for (int32_t i = 0; i < WSRL__NN_SHAPE_SLOTS; i++) {
    const slot *s = &m->slots[i];
    if (s->batch >= batch && s->mode == mode && (best == 0 || s->batch < best))
      best = s->batch;
  }
  return best;
}

float *wsrl__mlp_input(wsrl__mlp *m, int64_t batch, int32_t mode, int64_t *ld_out) {
  if (ld_out != NULL)
    *ld_out = m->fan_in[0] + 1;
  if (batch < 1 || batch > m->spec.max_batch)
    return NULL;
  return m->xin;
}

/* LayerNorm/ReLU arguments of hidden layer l for member e on team thread tid. */
static void ln_args(const wsrl__mlp *m, const slot *s, int32_t l, int64_t e, int32_t tid, wsrl__ln_args *a) {
  const int64_t E = m->spec.ensemble, N = m->fan_out[l], B = s->batch;
  memset(a, 0, sizeof *a);
  a->ensemble = 1;
  a->batch = B;
  a->n = N;
  a->y = m->spec.trainable ? m->y[l] + e * B * N : m->chain_y + tid * m->chain_stride;
  a->y_bs = N;
  a->out = m->act[l] + (m->spec.trainable ? e : tid) * B * (N + 1);
  a->ld_out = N + 1;
  if (m->spec.layer_norm) {
    a->gamma = m->params + m->ln_off[l] + e * N;
    a->beta = m->params + m->ln_off[l] + (E + e) * N;
  }
  a->mean = m->mean[l] != NULL ? m->mean[l] + e * B : NULL;
  a->rstd = m->rstd[l] != NULL ? m->rstd[l] + e * B : NULL;
  /* A one-unit output is fused into the last hidden layer's kernels. */
  const int32_t L = m->spec.n_hidden;
  if (l == L - 1 && m->fan_out[L] == 1) {
    a->head_w = m->params + w_index(m, L, e, 0, 0);
    a->head_q = m->out + e * B;
  }
}

/* Input rows of layer l for member e (on team thread tid): the shared or
 * per-member input for layer 0, else the previous layer's activation. */
static const float *layer_src(const wsrl__mlp *m, const slot *s, int32_t l, int64_t e, int32_t tid) {
  const int64_t K1 = m->fan_in[l] + 1;
  if (l > 0)
    return m->act[l - 1] + (m->spec.trainable ? e : tid) * s->batch * K1;
  return s->mode == WSRL__MLP_PER_MEMBER ? m->xin + e * s->batch * K1 : m->xin;
}

/* What the matmuls of layer l read from row `row` on: layer_src(), or its
 * bf16 copy. */
static const void *mm_src_rows(const wsrl__mlp *m, const slot *s, int32_t l, int64_t e, int32_t tid, int64_t row) {
  const float *p = layer_src(m, s, l, e, tid) + row * (m->fan_in[l] + 1);
  if (!m->bf16)
    return p;
  return (l > 0 ? m->act16[l - 1] : m->xin16) + (p - (l > 0 ? m->act[l - 1] : m->xin));
}

static const void *mm_src(const wsrl__mlp *m, const slot *s, int32_t l, int64_t e, int32_t tid) {
  const float *p = layer_src(m, s, l, e, tid);
  if (!m->bf16)
    return p;
  return (l > 0 ? m->act16[l - 1] : m->xin16) + (p - (l > 0 ? m->act[l - 1] : m->xin));
}

/* Member e's kernel of layer l as the matmuls read it. */
static const void *mm_w(const wsrl__mlp *m, int32_t l, int64_t e) {
  if (l == 0 && m->w0_16 != NULL)
    return m->w0_16 + e * (m->fan_in[0] + 1) * m->fan_out[0];
  const int64_t i = w_index(m, l, e, 0, 0);
  return m->bf16 ? (const void *)(m->w16 + i) : (const void *)(m->params + i);
}

/* A backward matmul operand: x itself, or (bf16) x rounded into this
 * thread's dy16. */
static const void *mm_grad(const wsrl__mlp *m, int32_t tid, const float *x, int64_t n) {
  if (!m->bf16)
    return x;
  uint16_t *d = m->dy16 + tid * m->grad_stride;
  wsrl__nn_to_bf16(d, x, n);
  return d;
}

/* Member e's forward chain over rows [b0, b0 + rows) on team thread tid,
 * with the forward matmuls mm (built for that many rows). A forward-only
 * net keeps the block at the start of its thread's buffers. */
static wsrl_status_t forward_rows(wsrl__mlp *m, slot *s, int64_t e, int32_t tid, int64_t b0, int64_t rows,
                                  const wsrl__nn_matmul *mm) {
  const int32_t L = m->spec.n_hidden;
  const int64_t rb = m->spec.trainable ? b0 : 0; /* row of the block in the cached buffers */
  for (int32_t l = 0; l < L; l++) {
    const int64_t N = m->fan_out[l];
    wsrl__ln_args a;
    ln_args(m, s, l, e, tid, &a);
    a.batch = rows;
    a.y += rb * N;
    a.out += rb * (N + 1);
    if (a.mean != NULL) {
      a.mean += rb;
      a.rstd += rb;
    }
    if (a.head_q != NULL)
      a.head_q += b0;
    if (relu_in_matmul(m, l)) {
      void *dst = m->bf16 ? (void *)(m->act16[l] + (a.out - m->act[l])) : (void *)a.out;
      WSRL__TRY(wsrl__nn_matmul_run(&mm[l], m->ctx, tid, mm_src_rows(m, s, l, e, tid, l == 0 ? b0 : rb),
                                    mm_w(m, l, e), dst));
      continue;
    }
    WSRL__TRY(wsrl__nn_matmul_run(&mm[l], m->ctx, tid, mm_src_rows(m, s, l, e, tid, l == 0 ? b0 : rb),
                                  mm_w(m, l, e), (float *)a.y));
    const int head = l == L - 1 && m->fan_out[L] == 1; /* fused into this kernel */
    /* bf16: the next matmul reads the rounding, written by the same pass. */
    if (m->bf16 && !head)
      a.out16 = m->act16[l] + (a.out - m->act[l]);
    /* The fp32 activation is read by the next fp32 matmul and by the
     * backward of a net without LayerNorm (with it, the backward
     * recomputes the activation from y). */
    if (m->spec.layer_norm ? m->bf16 || head : m->bf16 && !m->spec.trainable)
      a.out = NULL;
    wsrl__nn_ln_relu_fwd(&a);
  }
  if (m->fan_out[L] != 1) /* else computed by the last LayerNorm/ReLU kernel */
    WSRL__TRY(wsrl__nn_matmul_run(&mm[L], m->ctx, tid, mm_src_rows(m, s, L, e, tid, rb), mm_w(m, L, e),
                                  m->out + (e * s->batch + b0) * m->fan_out[L]));
  if (m->then != NULL)
    m->then(m->then_job, b0, b0 + rows);
  return WSRL_OK;
}

/* Member e's forward chain on team thread tid. */
static wsrl_status_t forward_member(wsrl__mlp *m, slot *s, int64_t e, int32_t tid, const void *unused) {
  (void)unused;
  return forward_rows(m, s, e, tid, 0, s->batch, s->fwd);
}

/* Task t of a split forward: member t / splits, row block t % splits. */
static wsrl_status_t forward_block(wsrl__mlp *m, slot *s, int64_t t, int32_t tid, const void *unused) {
  (void)unused;
  const int64_t e = t / s->splits, j = t % s->splits;
  const int last = j == s->splits - 1;
  const int64_t rows = last ? s->tail_rows : s->part_rows;
  return forward_rows(m, s, e, tid, j * s->part_rows, rows, rows == s->part_rows ? s->fwd_part : s->fwd_tail);
}

typedef wsrl_status_t (*member_fn)(wsrl__mlp *m, slot *s, int64_t e, int32_t tid, const void *arg);

/* A member copy (wsrl__mlp_copy_members) as tasks: per member, a piece of
 * each layer. */
typedef struct copy_job {
  wsrl__mlp *dst;
  const wsrl__mlp *src;
  const int32_t *members;
  int64_t per; /* tasks per member */
  int with16;  /* also copy the bf16 weights */
  int32_t k;   /* members copied */
} copy_job;

static void copy_part(const copy_job *j, int64_t part, int64_t parts);

/* A forward's input staging: the members copied in (copy, first), the
 * input rows copied in (x) or written (load) and rounded (bf16), and a
 * bf16 ensemble's per-member first-layer copies refreshed (w0). Split into
 * parts that the team's threads run before their tasks, so that none of
 * it waits on one thread. */
typedef struct stage_job {
  const float *x;
  wsrl__mlp_rows_fn load;
  const void *load_job;
  int64_t rows;
  int w0;
  const copy_job *copy;
} stage_job;

/* Member e's first-layer bf16 kernel into w0_16 ([in+1][E][N] to [E][in+1][N]). */
static void w0_member(wsrl__mlp *m, int64_t e) {
  const int64_t K1 = m->fan_in[0] + 1, N = m->fan_out[0];
  for (int64_t k = 0; k < K1; k++)
    memcpy(m->w0_16 + (e * K1 + k) * N, m->w16 + w_index(m, 0, e, k, 0), (size_t)N * sizeof(uint16_t));
}

static void stage_part(wsrl__mlp *m, const stage_job *j, int64_t part, int64_t parts) {
  const int64_t K = m->fan_in[0], r0 = j->rows * part / parts, r1 = j->rows * (part + 1) / parts;
  if (j->x != NULL)
    for (int64_t r = r0; r < r1; r++)
      memcpy(m->xin + r * (K + 1), j->x + r * K, (size_t)K * sizeof(float));
  else if (j->load != NULL && r1 > r0)
    j->load(j->load_job, r0, r1);
  if (m->bf16)
    wsrl__nn_to_bf16(m->xin16 + r0 * (K + 1), m->xin + r0 * (K + 1), (r1 - r0) * (K + 1));
  for (int64_t e = part; j->w0 && e < m->spec.ensemble; e += parts)
    w0_member(m, e);
}

/* One loop of tasks 0 .. n-1 (members, or `per` row blocks per member;
 * per 0: tasks that name their member in their own errors). */
typedef struct phase {
  int64_t n, per;
  member_fn fn;
  const void *arg;
} phase;
#define MAX_PHASES (2 * WSRL__NN_MAX_HIDDEN)

/* The first failure of a parallel run: phase, task, status and message. */
typedef struct run_error {
  wsrl_status_t status;
  int32_t p;
  int64_t e;
  char msg[512];
  int32_t failed; /* the phase of the first failure (atomic), else INT32_MAX */
} run_error;

/* Task e of phase ph (number p of its run) on team thread tid, its
 * failure kept if it is the first in (phase, task) order. */
static void phase_task(wsrl__mlp *m, slot *s, const phase *ph, int32_t p, int64_t e, int32_t tid, run_error *err) {
  int32_t failed;
#ifdef _OPENMP
#  pragma omp atomic read
#endif
  failed = err->failed;
  if (failed < p) /* what follows a failed phase would read its garbage */
    return;
  const wsrl_status_t st = ph->fn(m, s, e, tid, ph->arg);
  if (st == WSRL_OK)
    return;
#ifdef _OPENMP
#  pragma omp critical(wsrl__mlp_member_error)
#endif
  {
    if (err->status == WSRL_OK || p < err->p || (p == err->p && e < err->e)) {
      err->status = st, err->p = p, err->e = e;
      snprintf(err->msg, sizeof err->msg, "%s", wsrl_last_error_message());
    }
    if (p < err->failed) {
#ifdef _OPENMP
#  pragma omp atomic write
#endif
      err->failed = p;
    }
  }
}

/* The error of a parallel run, reported on the calling thread. */
static wsrl_status_t run_failed(const run_error *err, int64_t per) {
  return per > 0 ? wsrl__error(err->status, "ensemble member %lld: %s", (long long)(err->e / per), err->msg)
                 : wsrl__error(err->status, "%s", err->msg);
}

/* Run the phases one after the other: in parallel on `team` threads, one
 * task per thread at a time, in one region with a barrier between phases;
 * with team 1 in order on the calling thread (each primitive then splits
 * across the threads). The first failing task's member, status and message
 * are reported on the calling thread; the phases after a failed one do not
 * run. */
static wsrl_status_t each_phase(wsrl__mlp *m, slot *s, int32_t team, const phase *ph, int32_t count) {
#ifdef _OPENMP
  if (team > 1) {
    run_error err = {WSRL_OK, 0, 0, "", INT32_MAX};
#  pragma omp parallel num_threads(team)
    {
      /* Regions nested below (our kernels, oneDNN's) stay on this thread. */
      omp_set_num_threads(1);
      const int32_t tid = (int32_t)omp_get_thread_num();
      for (int32_t p = 0; p < count - 1; p++) {
#  pragma omp for schedule(static, 1)
        for (int64_t e = 0; e < ph[p].n; e++)
          phase_task(m, s, &ph[p], p, e, tid, &err);
      }
      /* nowait: the region's end joins anyway; no extra barrier. */
#  pragma omp for schedule(static, 1) nowait
      for (int64_t e = 0; e < ph[count - 1].n; e++)
        phase_task(m, s, &ph[count - 1], count - 1, e, tid, &err);
    }
    return err.status != WSRL_OK ? run_failed(&err, ph[err.p].per) : WSRL_OK;
  }
#endif
  for (int32_t p = 0; p < count; p++)
    for (int64_t e = 0; e < ph[p].n; e++)
      WSRL__TRY(ph[p].fn(m, s, e, 0, ph[p].arg));
  return WSRL_OK;
}

static wsrl_status_t each_task(wsrl__mlp *m, slot *s, int64_t n, int64_t per, member_fn fn, const void *arg) {
  const phase ph = {n, per, fn, arg};
  return each_phase(m, s, m->team, &ph, 1);
}

/* ---- forwards, alone or in a group ---- */

#define MAX_GROUP 8

/* A forward of a group, ready to run. */
typedef struct fwd_run {
  wsrl__mlp *m;
  slot *s;
  stage_job stage;
  copy_job copy;
  phase ph;
  int32_t team; /* threads its tasks run on (1: in order on the calling thread) */
} fwd_run;

static void run_copy(const copy_job *j);
static copy_job copy_plan(wsrl__mlp *dst, const wsrl__mlp *src, const int32_t *members, int32_t k);
static wsrl_status_t check_copy(const wsrl__mlp *dst, const wsrl__mlp *src, const int32_t *members, int32_t k);

static wsrl_status_t fwd_check(const wsrl__mlp_fwd *f, const wsrl__mlp *first) {
  wsrl__mlp *m = f->m;
  WSRL__CHECK_NULL(m);
  if (m->ctx != first->ctx)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: a forward group's nets must share one context");
  WSRL__TRY(check_shape(m, f->batch, normalize_mode(m, f->mode)));
  if (f->then != NULL && m->spec.ensemble != 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: forward_then needs a one-member net (ensemble %d)",
                       m->spec.ensemble);
  return f->copy_src != NULL ? check_copy(m, f->copy_src, f->members, f->k) : WSRL_OK;
}

/* Slot, weights, staging and tasks of forward f. */
static wsrl_status_t fwd_prepare(const wsrl__mlp_fwd *f, fwd_run *r) {
  wsrl__mlp *m = f->m;
  const int32_t mode = normalize_mode(m, f->mode);
  const int64_t E = m->spec.ensemble;
  slot *s;
  WSRL__TRY(get_slot(m, f->batch, mode, &s));
  r->m = m, r->s = s;
  int copy = 0;
  if (f->copy_src != NULL) {
    r->copy = copy_plan(m, f->copy_src, f->members, f->k);
    /* A bf16 net whose weights the copy does not leave rounded rounds them
     * all before the region: copy first, on its own. */
    if (m->bf16 && !r->copy.with16)
      run_copy(&r->copy);
    else
      copy = 1;
  }
  if (m->bf16 && !m->w16_fresh) {
    wsrl__nn_to_bf16(m->w16, m->params, m->n_padded);
    m->w16_version++;
  }
  m->w16_fresh = m->bf16;
  r->stage = (stage_job){f->x, f->load, f->load_job, mode == WSRL__MLP_PER_MEMBER ? E * f->batch : f->batch,
                         m->w0_16 != NULL && m->w0_version != m->w16_version, copy ? &r->copy : NULL};
  m->w0_version = m->w16_version;
  /* Rows are independent: blocks of a member may run on different threads. */
  if (s->splits > 1) {
    r->ph = (phase){E * s->splits, s->splits, forward_block, NULL};
    r->team = m->team > 1 ? m->team : m->row_team;
  } else {
    r->ph = (phase){E, 1, forward_member, NULL};
    r->team = m->team;
  }
  m->then = f->then, m->then_job = f->then_job;
  return WSRL_OK;
}

/* Task t of the forwards r[i], r[i + 1], ... taken as one list. */
static void wave_task(fwd_run *r, int32_t i, int64_t t, int32_t tid, run_error *err) {
  while (t >= r[i].ph.n)
    t -= r[i++].ph.n;
  phase_task(r[i].m, r[i].s, &r[i].ph, i, t, tid, err);
}

/* Thread tid's share of the staging of forwards [i, j): member copies,
 * then (after a barrier where a first-layer copy reads them) the inputs. */
static void wave_stage(fwd_run *r, int32_t i, int32_t j, int32_t tid, int32_t nt) {
  int w0_copied = 0;
  for (int32_t k = i; k < j; k++)
    if (r[k].stage.copy != NULL) {
      copy_part(r[k].stage.copy, tid, nt);
      w0_copied |= r[k].stage.w0;
    }
#ifdef _OPENMP
  if (w0_copied) {
#  pragma omp barrier
  }
#endif
  for (int32_t k = i; k < j; k++)
    stage_part(r[k].m, &r[k].stage, tid, nt);
}

/* Forwards r[0, count) in order on the calling thread. */
static wsrl_status_t run_in_order(fwd_run *r, int32_t count) {
  for (int32_t k = 0; k < count; k++) {
    wave_stage(r, k, k + 1, 0, 1);
    for (int64_t e = 0; e < r[k].ph.n; e++)
      WSRL__TRY(r[k].ph.fn(r[k].m, r[k].s, e, 0, r[k].ph.arg));
  }
  return WSRL_OK;
}

/* The forwards in one region on `team` threads: per wave (a forward and
 * those after it up to the next `after`) the staging, a barrier, the
 * tasks of all of them interleaved, a barrier. */
static wsrl_status_t run_joint(fwd_run *r, const wsrl__mlp_fwd *f, int32_t count, int32_t team) {
#ifdef _OPENMP
  run_error err = {WSRL_OK, 0, 0, "", INT32_MAX};
#  pragma omp parallel num_threads(team)
  {
    omp_set_num_threads(1); /* nested regions (kernels, oneDNN) stay on this thread */
    const int32_t tid = (int32_t)omp_get_thread_num(), nt = (int32_t)omp_get_num_threads();
    for (int32_t i = 0, j; i < count; i = j) {
      int64_t tasks = r[i].ph.n;
      for (j = i + 1; j < count && !f[j].after; j++)
        tasks += r[j].ph.n;
      wave_stage(r, i, j, tid, nt);
#  pragma omp barrier
      if (j < count) {
#  pragma omp for schedule(static, 1)
        for (int64_t t = 0; t < tasks; t++)
          wave_task(r, i, t, tid, &err);
      } else { /* nowait: the region's end joins anyway */
#  pragma omp for schedule(static, 1) nowait
        for (int64_t t = 0; t < tasks; t++)
          wave_task(r, i, t, tid, &err);
      }
    }
  }
  return err.status != WSRL_OK ? run_failed(&err, r[err.p].ph.per) : WSRL_OK;
#else
  (void)f, (void)team;
  return run_in_order(r, count);
#endif
}

/* One forward on its own: its team's region, or in order on the calling
 * thread (a serial slot's primitives on one thread). */
static wsrl_status_t run_alone(fwd_run *r, const wsrl__mlp_fwd *f) {
  if (r->team > 1)
    return run_joint(r, f, 1, r->team);
  const int32_t outer = r->s->serial ? wsrl__nn_single_thread_begin() : 0;
  const wsrl_status_t rc = run_in_order(r, 1);
  if (r->s->serial)
    wsrl__nn_leave(outer);
  return rc;
}

static wsrl_status_t run_group(fwd_run *r, const wsrl__mlp_fwd *fw, int32_t count, int32_t team) {
  int joint = team > 1;
  for (int32_t k = 0; k < count; k++)
    joint = joint && r[k].team == team && !r[k].s->serial;
  if (joint)
    return run_joint(r, fw, count, team);
  for (int32_t k = 0; k < count; k++)
    WSRL__TRY(run_alone(&r[k], &fw[k]));
  return WSRL_OK;
}

wsrl_status_t wsrl__mlp_forward_group(const wsrl__mlp_fwd *fw, int32_t count) {
  WSRL__CHECK_NULL(fw);
  if (count < 1 || count > MAX_GROUP)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: a forward group has 1 to %d forwards (got %d)", MAX_GROUP,
                       count);
  WSRL__CHECK_NULL(fw[0].m);
  for (int32_t k = 0; k < count; k++) {
    WSRL__TRY(fwd_check(&fw[k], fw[0].m));
    for (int32_t i = 0; i < k; i++)
      if (fw[i].m == fw[k].m)
        return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: forwards %d and %d of a group run the same net", i, k);
  }
  wsrl__nn_ctx *ctx = fw[0].m->ctx;
  for (int32_t k = 0; k < count; k++)
    fw[k].m->last = NULL;
  const int32_t saved = wsrl__nn_enter(ctx);
  fwd_run r[MAX_GROUP];
  int32_t ready = 0;
  wsrl_status_t rc = WSRL_OK;
  while (ready < count && rc == WSRL_OK)
    if ((rc = fwd_prepare(&fw[ready], &r[ready])) == WSRL_OK)
      ready++;
  if (rc == WSRL_OK)
    rc = run_group(r, fw, count, ctx->team);
  if (rc == WSRL_OK)
    rc = wsrl__nn_ctx_wait(ctx);
  wsrl__nn_leave(saved);
  for (int32_t k = 0; k < ready; k++) {
    r[k].m->then = NULL, r[k].m->then_job = NULL;
    if (rc != WSRL_OK && r[k].stage.copy != NULL) /* it may not have run: leave m as copy_members would */
      run_copy(r[k].stage.copy);
    r[k].m->last = rc == WSRL_OK ? r[k].s : NULL;
  }
  for (int32_t k = 0; k < count; k++)
    if (fw[k].done != NULL)
      fw[k].done(fw[k].done_job, rc);
  return rc;
}

wsrl_status_t wsrl__mlp_forward(wsrl__mlp *m, int64_t batch, int32_t mode, const float *x, float *y_out) {
  const wsrl__mlp_fwd f = {.m = m, .batch = batch, .mode = mode, .x = x};
  WSRL__TRY(wsrl__mlp_forward_group(&f, 1));
  if (y_out != NULL)
    memcpy(y_out, m->out, (size_t)(m->spec.ensemble * batch * m->fan_out[m->nl - 1]) * sizeof(float));
  return WSRL_OK;
}

wsrl_status_t wsrl__mlp_forward_then(wsrl__mlp *m, int64_t batch, const float *x, wsrl__mlp_rows_fn fn,
                                     const void *job) {
  WSRL__CHECK_NULL(fn);
  const wsrl__mlp_fwd f = {.m = m, .batch = batch, .x = x, .then = fn, .then_job = job};
  return wsrl__mlp_forward_group(&f, 1);
}

const float *wsrl__mlp_output(const wsrl__mlp *m) { return m->out; }
int64_t wsrl__mlp_last_batch(const wsrl__mlp *m) { return m->last != NULL ? m->last->batch : 0; }
int64_t wsrl__mlp_last_backward_rows(const wsrl__mlp *m) { return m->last_bwd_rows; }

typedef struct backward_arg {
  const float *dy; /* dLoss/d output [E, B, out] */
  float *dx;       /* dLoss/d input, or NULL */
  float *gw;       /* gradient buffer, or NULL: no parameter gradients */
} backward_arg;

/* dW (+)= X^T dY of layer l with the chunk primitive `chunk` (and its
 * `tail`) over the batch's row chunks in order: x is what dw_src() gives
 * (rows [B][K1], or the transposed copy [K1][B]), dy the gradient rows (ld
 * the layer's width) from the primitives' first column, dst that column of
 * the kernel gradient. */
static wsrl_status_t run_dw(const wsrl__mlp *m, const slot *s, const wsrl__nn_matmul *chunk,
                            const wsrl__nn_matmul *tail, int32_t l, int32_t tid, const void *x, const void *dy,
                            float *dst) {
  const int64_t B = s->batch, K1 = m->fan_in[l] + 1, N = m->fan_out[l];
  const size_t es = m->bf16 ? sizeof(uint16_t) : sizeof(float);
  for (int64_t r = 0; r < B; r += s->dw_rows) {
    const char *xc = (const char *)x + (size_t)(xt_layer(m, l) ? r : r * K1) * es;
    WSRL__TRY(wsrl__nn_matmul_run(B - r < s->dw_rows ? tail : chunk, m->ctx, tid, xc,
                                  (const char *)dy + (size_t)(r * N) * es, dst));
  }
  return WSRL_OK;
}

/* The input of layer l's weight-gradient matmul for member e: mm_src(),
 * or with xt_layer() its transpose, written into this thread's xt16. */
static const void *dw_src(const wsrl__mlp *m, const slot *s, int32_t l, int64_t e, int32_t tid) {
  const void *x = mm_src(m, s, l, e, tid);
  if (!xt_layer(m, l))
    return x;
  uint16_t *t = m->xt16 + tid * m->xt_stride;
  wsrl__nn_bf16_transpose(t, x, s->batch, m->fan_in[l] + 1);
  return t;
}

/* Have a's backward kernel prefetch member e's layer-l kernel gradient,
 * which the weight-gradient matmul after it adds into on this thread. */
static void prefetch_grads(const wsrl__mlp *m, int32_t l, int64_t e, wsrl__ln_args *a) {
  int64_t runs, len, stride;
  member_runs(m, l, &runs, &len, &stride);
  a->prefetch = m->grads + w_index(m, l, e, 0, 0);
  a->prefetch_runs = runs;
  a->prefetch_len = len * (int64_t)sizeof(float);
  a->prefetch_ld = stride * (int64_t)sizeof(float);
}

/* Zero member e's parameter gradients of layer l (kernel and LayerNorm). */
static void zero_layer_grads(wsrl__mlp *m, int32_t l, int64_t e) {
  const int64_t E = m->spec.ensemble;
  int64_t rows, len, stride;
  member_runs(m, l, &rows, &len, &stride);
  float *g = m->grads + w_index(m, l, e, 0, 0);
  for (int64_t r = 0; r < rows; r++)
    memset(g + r * stride, 0, (size_t)len * sizeof(float));
  if (l < m->spec.n_hidden && m->spec.layer_norm)
    for (int half = 0; half < 2; half++)
      memset(m->grads + m->ln_off[l] + (half * E + e) * m->fan_out[l], 0, (size_t)m->fan_out[l] * sizeof(float));
}

/* Zero member e's parameter gradients (kernels and LayerNorm). */
static void zero_member_grads(wsrl__mlp *m, int64_t e) {
  for (int32_t l = 0; l < m->nl; l++)
    zero_layer_grads(m, l, e);
}

/* Carry out a pending zero_grad() before the gradients are read. */
static void settle_grads(wsrl__mlp *m) {
  if (m->grads_zero_pending)
    memset(m->grads, 0, (size_t)m->n_padded * sizeof(float));
  m->grads_zero_pending = 0;
}

/* Member e's backward chain on team thread tid. */
static wsrl_status_t backward_member(wsrl__mlp *m, slot *s, int64_t e, int32_t tid, const void *arg) {
  const backward_arg *ba = arg;
  const int64_t E = m->spec.ensemble, B = s->batch;
  const int32_t L = m->spec.n_hidden;
  float *gw = ba->gw, *dact = m->dact + tid * m->grad_stride, *dyl = m->dy + tid * m->grad_stride;
  const int head = m->fan_out[L] == 1;
  if (gw != NULL && m->grads_zero_pending)
    zero_member_grads(m, e); /* on this member's thread, just before it adds into them */
  /* Output layer: a matmul into dact, or (one unit) fused below. */
  if (!head) {
    const void *dye = mm_grad(m, tid, ba->dy + e * B * m->fan_out[L], B * m->fan_out[L]);
    if (gw != NULL)
      WSRL__TRY(run_dw(m, s, &s->bww[L], &s->bww_t[L], L, tid, dw_src(m, s, L, e, tid), dye,
                                    gw + w_index(m, L, e, 0, 0)));
    WSRL__TRY(wsrl__nn_matmul_run(&s->bwd[L], m->ctx, tid, dye, mm_w(m, L, e), dact));
  }
  for (int32_t l = L - 1; l >= 0; l--) {
    const int64_t N = m->fan_out[l];
    wsrl__ln_args a;
    ln_args(m, s, l, e, tid, &a);
    const int fused = head && l == L - 1;
    float *dg = gw != NULL && m->spec.layer_norm ? gw + m->ln_off[l] + e * N : NULL;
    /* bf16: the kernel writes dy rounded, straight into the matmuls' input. */
    uint16_t *dy16 = m->bf16 ? m->dy16 + tid * m->grad_stride : NULL;
    /* Only where this thread runs the matmul whole (not split across the
     * team, whose other threads would pull the lines from this core). */
    if (gw != NULL && (m->team > 1 || m->ctx->team == 1))
      prefetch_grads(m, l, e, &a);
    wsrl__nn_ln_relu_bwd(&a, fused ? NULL : dact, N, fused ? ba->dy + e * B : NULL, dyl, dy16, dg,
                         dg != NULL ? dg + E * N : NULL, fused && gw != NULL ? gw + w_index(m, L, e, 0, 0) : NULL,
                         m->partial + tid * m->partial_stride);
    const void *dym = dy16 != NULL ? (const void *)dy16 : (const void *)dyl;
    if (gw != NULL)
      WSRL__TRY(run_dw(m, s, &s->bww[l], &s->bww_t[l], l, tid, dw_src(m, s, l, e, tid), dym,
                                    gw + w_index(m, l, e, 0, 0)));
    if (l > 0) {
      WSRL__TRY(wsrl__nn_matmul_run(&s->bwd[l], m->ctx, tid, dym, mm_w(m, l, e), dact));
    } else if (ba->dx != NULL) {
      /* Per-member inputs get their own dX; a shared input's is summed
       * over members afterwards (members' parts in dxp). */
      const int64_t K = m->fan_in[0];
      float *dx = s->mode == WSRL__MLP_PER_MEMBER ? ba->dx + e * B * K : E > 1 ? m->dxp + e * B * K : ba->dx;
      WSRL__TRY(wsrl__nn_matmul_run(&s->bwd[0], m->ctx, tid, dym, mm_w(m, 0, e), dx));
    }
  }
  return WSRL_OK;
}

/* One SPARSE_CHUNK-row block of member e's rows with a non-zero dQ
 * (gathered by sparse_gather) through every layer: rows are independent
 * without parameter gradients, so the blocks of all members are tasks of
 * their own (the actor's loss often sends most rows to one member). The
 * LayerNorm/ReLU kernels read the cached rows in place and write compact
 * gradients; the last block of a member is padded with zero rows. */
static wsrl_status_t sparse_chunk(wsrl__mlp *m, slot *s, int64_t t, int32_t tid, const void *unused) {
  (void)unused;
  const int64_t e = m->gtask[t] / m->gpad, c0 = m->gtask[t] % m->gpad;
  const int64_t n = m->gcount[e] - c0 < SPARSE_CHUNK ? m->gcount[e] - c0 : SPARSE_CHUNK;
  const int64_t maxb = m->spec.max_batch;
  const int32_t L = m->spec.n_hidden;
  float *dact = m->dact + tid * m->grad_stride, *dyl = m->dy + tid * m->grad_stride;
  /* bf16: the kernel writes dy rounded and the matmuls read the bf16
   * weights the forward just read (warm, half the bytes). */
  uint16_t *dy16 = m->bf16 ? m->dy16 + tid * m->grad_stride : NULL;
  const size_t dsize = m->bf16 ? sizeof(uint16_t) : sizeof(float);
  for (int32_t l = L - 1; l >= 0; l--) {
    const int64_t N = m->fan_out[l], K = m->fan_in[l];
    wsrl__ln_args a;
    ln_args(m, s, l, e, tid, &a);
    a.gather = m->gidx + e * maxb + c0;
    a.batch = n;
    const int head = l == L - 1;
    wsrl__nn_ln_relu_bwd(&a, head ? NULL : dact, N, head ? m->gdq + e * maxb + c0 : NULL, dyl, dy16, NULL, NULL,
                         NULL, m->partial + tid * m->partial_stride);
    char *dyb = dy16 != NULL ? (char *)dy16 : (char *)dyl;
    memset(dyb + (size_t)(n * N) * dsize, 0, (size_t)((SPARSE_CHUNK - n) * N) * dsize);
    float *dst = l > 0 ? dact : m->dxp + (e * m->gpad + c0) * K;
    const wsrl_status_t rc = wsrl__nn_matmul_run(&m->chunk_dx[l], m->ctx, tid, dyb, mm_w(m, l, e), dst);
    if (rc != WSRL_OK)
      return wsrl__error_wrap(rc, "ensemble member %lld: ", (long long)e);
  }
  return WSRL_OK;
}

/* Input gradient (no parameter gradients) of a one-unit-head ensemble when
 * at most half of the [E, B] dQ is non-zero: the actor's loss reaches each
 * row through its argmin member only, so this does about 1/E of the dense
 * backward's dX work. Members' rows are added into dx in member order, as
 * in the dense path. Returns 0 (nothing done) when dQ is too dense. */
static int sparse_gather(wsrl__mlp *m, const slot *s, const float *dy) {
  const int64_t E = m->spec.ensemble, B = s->batch, maxb = m->spec.max_batch;
  int64_t total = 0;
  for (int64_t e = 0; e < E; e++) {
    int32_t c = 0;
    for (int64_t b = 0; b < B; b++)
      if (dy[e * B + b] != 0.0f) {
        m->gidx[e * maxb + c] = (int32_t)b;
        m->gdq[e * maxb + c++] = dy[e * B + b];
      }
    m->gcount[e] = c;
    total += c;
  }
  m->gtasks = 0;
  for (int64_t e = 0; e < E; e++)
    for (int64_t c0 = 0; c0 < m->gcount[e]; c0 += SPARSE_CHUNK)
      m->gtask[m->gtasks++] = (int32_t)(e * m->gpad + c0);
  return 2 * total <= E * B;
}

static wsrl_status_t sparse_backward(wsrl__mlp *m, slot *s, float *dx_out) {
  const int64_t E = m->spec.ensemble, B = s->batch, K = m->fan_in[0], maxb = m->spec.max_batch;
  WSRL__TRY(each_task(m, s, m->gtasks, 0, sparse_chunk, NULL));
  WSRL__TRY(wsrl__nn_ctx_wait(m->ctx));
  const int shared = s->mode == WSRL__MLP_SHARED;
  if (shared)
    memset(dx_out, 0, (size_t)(B * K) * sizeof(float));
  for (int64_t e = 0; e < E; e++) {
    float *out = shared ? dx_out : dx_out + e * B * K;
    if (!shared)
      memset(out, 0, (size_t)(B * K) * sizeof(float));
    const float *src = m->dxp + e * m->gpad * K;
    for (int64_t j = 0; j < m->gcount[e]; j++) {
      float *row = out + (int64_t)m->gidx[e * maxb + j] * K;
      for (int64_t k = 0; k < K; k++)
        row[k] += src[j * K + k];
    }
  }
  return WSRL_OK;
}

/* Adam steps that run after a backward in its region
 * (wsrl__mlp_backward_steps): two phases over the sets' blocks, the norm
 * sums and then the passes, each in `parts` runs of consecutive blocks
 * (one per team thread: the streams of wsrl__adam_steps_clipped's
 * schedule(static), which measured faster than blocks dealt round). */
typedef struct steps_tail {
  const wsrl__adam_set *sets;
  int32_t count;
  int64_t blocks, parts;
} steps_tail;

/* fn over run j of the tail's blocks. */
static wsrl_status_t tail_run(const steps_tail *t, int64_t j,
                              void (*fn)(const wsrl__adam_set *, int32_t, int64_t)) {
  for (int64_t g = t->blocks * j / t->parts; g < t->blocks * (j + 1) / t->parts; g++)
    fn(t->sets, t->count, g);
  return WSRL_OK;
}

static wsrl_status_t tail_norm(wsrl__mlp *m, slot *s, int64_t j, int32_t tid, const void *arg) {
  (void)m, (void)s, (void)tid;
  return tail_run(arg, j, wsrl__adam_norm_block);
}

static wsrl_status_t tail_pass(wsrl__mlp *m, slot *s, int64_t j, int32_t tid, const void *arg) {
  (void)m, (void)s, (void)tid;
  return tail_run(arg, j, wsrl__adam_pass_block);
}

/* The n phases ph[0, n) followed by tail's (if any); the new count. */
static int32_t with_tail(phase *ph, int32_t n, const steps_tail *t) {
  if (t == NULL)
    return n;
  ph[n++] = (phase){t->parts, 0, tail_norm, t};
  ph[n++] = (phase){t->parts, 0, tail_pass, t};
  return n;
}

/* ---- the critic backward split into blocks across the team ----
 * Layer by layer in one region: the members' LayerNorm backward (one task
 * each; in bf16 it also writes the member's transposed input), a barrier,
 * then each member's weight gradient in column blocks and input gradient
 * in row blocks (slot.bsplits of each), a barrier. The backward buffers
 * (dy, dact, xt16, partial sums) are there max(T, E) times: member e uses
 * copy e. */
typedef struct split_arg {
  const float *dy; /* dLoss/dq [E, B] */
  float *gw;
  int32_t l;
} split_arg;

/* Member e's buffers of the split backward. */
static float *split_dact(const wsrl__mlp *m, int64_t e) { return m->dact + e * m->grad_stride; }
static float *split_dy(const wsrl__mlp *m, int64_t e) { return m->dy + e * m->grad_stride; }
static uint16_t *split_dy16(const wsrl__mlp *m, int64_t e) {
  return m->bf16 ? m->dy16 + e * m->grad_stride : NULL;
}

static wsrl_status_t split_ln_task(wsrl__mlp *m, slot *s, int64_t e, int32_t tid, const void *arg) {
  const split_arg *sa = arg;
  const int64_t E = m->spec.ensemble, B = s->batch, l = sa->l, N = m->fan_out[l];
  const int32_t L = m->spec.n_hidden;
  if (l == L - 1 && m->grads_zero_pending)
    zero_member_grads(m, e); /* before any block adds into them */
  wsrl__ln_args a;
  ln_args(m, s, (int32_t)l, e, tid, &a);
  const int head = l == L - 1;
  float *dg = m->spec.layer_norm ? sa->gw + m->ln_off[l] + e * N : NULL;
  wsrl__nn_ln_relu_bwd(&a, head ? NULL : split_dact(m, e), N, head ? sa->dy + e * B : NULL, split_dy(m, e),
                       split_dy16(m, e), dg, dg != NULL ? dg + E * N : NULL,
                       head ? sa->gw + w_index(m, L, e, 0, 0) : NULL, m->partial + e * m->partial_stride);
  if (xt_layer(m, (int32_t)l))
    wsrl__nn_bf16_transpose(m->xt16 + e * m->xt_stride, mm_src(m, s, (int32_t)l, e, tid), B, m->fan_in[l] + 1);
  return WSRL_OK;
}

/* Task t: member t / (2 S); block t % (2 S): dW columns (< S) or dX rows. */
static wsrl_status_t split_mm_task(wsrl__mlp *m, slot *s, int64_t t, int32_t tid, const void *arg) {
  const split_arg *sa = arg;
  const int32_t l = sa->l, S = s->bsplits;
  const int64_t e = t / (2 * S), j = t % (2 * S), B = s->batch, N = m->fan_out[l], K = m->fan_in[l];
  const size_t es = m->bf16 ? sizeof(uint16_t) : sizeof(float); /* dy's element size */
  const char *dym = m->bf16 ? (const char *)split_dy16(m, e) : (const char *)split_dy(m, e);
  if (j < S) {
    const int64_t c = j * (N / S);
    const void *x = xt_layer(m, l) ? (const void *)(m->xt16 + e * m->xt_stride) : mm_src(m, s, l, e, tid);
    return run_dw(m, s, &s->bww_part[l], &s->bww_part_t[l], l, tid, x, dym + (size_t)c * es,
                  sa->gw + w_index(m, l, e, 0, c));
  }
  if (l == 0) /* no input gradient wanted */
    return WSRL_OK;
  const int64_t r = (j - S) * (B / S);
  return wsrl__nn_matmul_run(&s->bwd_part[l], m->ctx, tid, dym + (size_t)(r * N) * es, mm_w(m, l, e),
                             split_dact(m, e) + r * K);
}

/* All layers in one region: per layer (last first) the LayerNorm tasks,
 * a barrier, the matmul blocks, a barrier. */
static wsrl_status_t split_backward(wsrl__mlp *m, slot *s, const float *dy, const steps_tail *tail) {
  const int64_t E = m->spec.ensemble;
  const int32_t L = m->spec.n_hidden;
  split_arg sa[WSRL__NN_MAX_HIDDEN];
  phase ph[MAX_PHASES + 2];
  for (int32_t k = 0; k < L; k++) {
    const int32_t l = L - 1 - k;
    sa[k] = (split_arg){dy, m->grads, l};
    ph[2 * k] = (phase){E, 1, split_ln_task, &sa[k]};
    ph[2 * k + 1] = (phase){E * 2 * s->bsplits, 2 * s->bsplits, split_mm_task, &sa[k]};
  }
  return each_phase(m, s, m->team, ph, with_tail(ph, 2 * L, tail));
}

/* ---- a one-member net's backward as row blocks across the team ----
 * The counterpart of its forward's row blocks (slot.rsplits > 0): every
 * layer in one region, a barrier between phases (each_phase):
 *   first:   pending gradients zeroed (a task per layer); dy written by
 *            the caller's hook (wsrl__mlp_backward_from) and in bf16
 *            rounded, in row blocks; in bf16 the output layer's input
 *            transposed in column blocks for its dW;
 *   output:  its dW whole (one task) and dX in S row blocks (into dact);
 *   per hidden layer l, last first:
 *     ln:    the LayerNorm/ReLU backward in its kernel's row chunks (dy and
 *            partial sums), in bf16 with the transposes of l's input;
 *     mm:    the chunks' parameter sums (one task), dW in S column blocks,
 *            dX in S row blocks (not the first layer's).
 * The arrays are the first thread's copies of the backward buffers (dy,
 * dact, xt16, partial), full-sized for one member. A one-unit head fused
 * into the last kernel has no output phase (nor dy to round). Same bits as
 * the whole primitives on one thread: a dW column sums the same row chunks
 * (DW_CHUNK) in order, a dX row its columns, the LayerNorm parameter sums
 * their chunks in order. */
typedef struct row_arg {
  const float *dy; /* dLoss/d output [B, out] */
  int32_t l;       /* the layer of the phase */
  int64_t tiles;   /* transpose tasks (bf16) */
} row_arg;

/* Transpose task j of `tiles` of layer l's input into xt16 (16-column tiles). */
static void row_transpose(wsrl__mlp *m, const slot *s, int32_t l, int64_t j, int64_t tiles) {
  const int64_t K1 = m->fan_in[l] + 1, nt = (K1 + 15) / 16;
  const int64_t c0 = nt * j / tiles * 16, c1 = j == tiles - 1 ? K1 : nt * (j + 1) / tiles * 16;
  wsrl__nn_bf16_transpose_cols(m->xt16, mm_src(m, s, l, 0, 0), s->batch, K1, c0, c1);
}

/* Transpose tasks for layer l's input: none in fp32 or for the first layer. */
static int64_t row_tiles(const wsrl__mlp *m, int32_t l) {
  const int64_t nt = (m->fan_in[l] + 1 + 15) / 16;
  return xt_layer(m, l) ? (nt < m->row_team ? nt : m->row_team) : 0;
}

/* Row blocks of the first phase: the hook's and, in bf16 (not a fused
 * head), dy's rounding; none if neither. */
static int64_t row_first_blocks(const wsrl__mlp *m) {
  const int head = m->fan_out[m->spec.n_hidden] == 1;
  return m->before != NULL || (m->bf16 && !head) ? m->row_team : 0;
}

static wsrl_status_t row_first(wsrl__mlp *m, slot *s, int64_t t, int32_t tid, const void *arg) {
  (void)tid;
  const row_arg *ra = arg;
  const int32_t L = m->spec.n_hidden;
  const int64_t R = row_first_blocks(m), N = m->fan_out[L], B = s->batch;
  if (t < m->nl) {
    if (m->grads_zero_pending)
      zero_layer_grads(m, (int32_t)t, 0);
  } else if (t < m->nl + R) {
    const int64_t j = t - m->nl, r0 = B * j / R, r1 = B * (j + 1) / R;
    if (m->before != NULL)
      m->before(m->before_job, r0, r1);
    if (m->bf16 && N > 1)
      wsrl__nn_bf16_block(m->dy16 + r0 * N, ra->dy + r0 * N, (r1 - r0) * N);
  } else {
    row_transpose(m, s, L, t - m->nl - R, ra->tiles);
  }
  return WSRL_OK;
}

static wsrl_status_t row_output(wsrl__mlp *m, slot *s, int64_t t, int32_t tid, const void *arg) {
  const row_arg *ra = arg;
  const int32_t L = m->spec.n_hidden;
  const int64_t N = m->fan_out[L], K = m->fan_in[L], rows = s->batch / s->rsplits;
  const size_t es = m->bf16 ? sizeof(uint16_t) : sizeof(float);
  const char *dy = m->bf16 ? (const char *)m->dy16 : (const char *)ra->dy;
  if (t == 0) {
    const void *x = xt_layer(m, L) ? (const void *)m->xt16 : mm_src(m, s, L, 0, 0);
    return run_dw(m, s, &s->rbw[L], &s->rbw_t[L], L, tid, x, dy, m->grads + w_index(m, L, 0, 0, 0));
  }
  const int64_t r = (t - 1) * rows;
  return wsrl__nn_matmul_run(&s->rbx[L], m->ctx, tid, dy + (size_t)(r * N) * es, mm_w(m, L, 0), m->dact + r * K);
}

/* Layer l's LayerNorm/ReLU arguments and parameter-gradient pointers. */
static void row_ln_args(const wsrl__mlp *m, const slot *s, int32_t l, wsrl__ln_args *a, float **dg, float **dhead) {
  const int32_t L = m->spec.n_hidden;
  ln_args(m, s, l, 0, 0, a);
  *dg = m->spec.layer_norm ? m->grads + m->ln_off[l] : NULL;
  *dhead = l == L - 1 && m->fan_out[L] == 1 ? m->grads + w_index(m, L, 0, 0, 0) : NULL;
}

static wsrl_status_t row_ln(wsrl__mlp *m, slot *s, int64_t t, int32_t tid, const void *arg) {
  (void)tid;
  const row_arg *ra = arg;
  const int32_t l = ra->l;
  wsrl__ln_args a;
  float *dg, *dhead;
  row_ln_args(m, s, l, &a, &dg, &dhead);
  const int64_t chunks = wsrl__nn_ln_bwd_chunks(&a);
  if (t >= chunks) {
    row_transpose(m, s, l, t - chunks, ra->tiles);
    return WSRL_OK;
  }
  const int head = dhead != NULL;
  wsrl__nn_ln_relu_bwd_chunk(&a, head ? NULL : m->dact, m->fan_out[l], head ? ra->dy : NULL, m->dy,
                             m->bf16 ? m->dy16 : NULL, dg != NULL || head, m->partial, t);
  return WSRL_OK;
}

static wsrl_status_t row_mm(wsrl__mlp *m, slot *s, int64_t t, int32_t tid, const void *arg) {
  const row_arg *ra = arg;
  const int32_t l = ra->l;
  const int64_t S = s->rsplits, N = m->fan_out[l], K = m->fan_in[l];
  if (t == 0) {
    wsrl__ln_args a;
    float *dg, *dhead;
    row_ln_args(m, s, l, &a, &dg, &dhead);
    wsrl__nn_ln_relu_bwd_sum(&a, m->partial, dg, dg != NULL ? dg + N : NULL, dhead, 0, N);
    return WSRL_OK;
  }
  const size_t es = m->bf16 ? sizeof(uint16_t) : sizeof(float);
  const char *dy = m->bf16 ? (const char *)m->dy16 : (const char *)m->dy;
  if (t <= S) {
    const int64_t c = (t - 1) * (N / S);
    const void *x = xt_layer(m, l) ? (const void *)m->xt16 : mm_src(m, s, l, 0, 0);
    return run_dw(m, s, &s->rbw[l], &s->rbw_t[l], l, tid, x, dy + (size_t)c * es, m->grads + w_index(m, l, 0, 0, c));
  }
  const int64_t r = (t - 1 - S) * (s->batch / S);
  return wsrl__nn_matmul_run(&s->rbx[l], m->ctx, tid, dy + (size_t)(r * N) * es, mm_w(m, l, 0), m->dact + r * K);
}

static wsrl_status_t row_backward(wsrl__mlp *m, slot *s, const float *dy, const steps_tail *tail) {
  const int32_t L = m->spec.n_hidden;
  const int64_t S = s->rsplits;
  const int head = m->fan_out[L] == 1;
  row_arg ra[MAX_LAYERS + 1];
  phase ph[MAX_PHASES + 4];
  int32_t n = 0;
  ra[L] = (row_arg){dy, L, head ? 0 : row_tiles(m, L)};
  ph[n++] = (phase){m->nl + row_first_blocks(m) + ra[L].tiles, 0, row_first, &ra[L]};
  if (!head)
    ph[n++] = (phase){1 + S, 0, row_output, &ra[L]};
  for (int32_t l = L - 1; l >= 0; l--) {
    wsrl__ln_args a;
    float *dg, *dhead;
    row_ln_args(m, s, l, &a, &dg, &dhead);
    ra[l] = (row_arg){dy, l, row_tiles(m, l)};
    ph[n++] = (phase){wsrl__nn_ln_bwd_chunks(&a) + ra[l].tiles, 0, row_ln, &ra[l]};
    ph[n++] = (phase){1 + S + (l > 0 ? S : 0), 0, row_mm, &ra[l]};
  }
  return each_phase(m, s, m->row_team, ph, with_tail(ph, n, tail));
}

/* The backward (dx_out and/or parameter gradients), and with tail (only
 * with parameter gradients, no dx_out, and a team: backward_team()) the
 * Adam steps after it in the same region. */
static wsrl_status_t backward(wsrl__mlp *m, slot *s, const float *dy, float *dx_out, int32_t param_grads,
                              const steps_tail *tail) {
  const int64_t E = m->spec.ensemble, B = s->batch, K = m->fan_in[0];
  m->last_bwd_rows = E * B;
  if (!param_grads && dx_out != NULL && has_sparse(m) && sparse_gather(m, s, dy)) {
    m->last_bwd_rows = 0;
    for (int64_t e = 0; e < E; e++)
      m->last_bwd_rows += m->gcount[e];
    return sparse_backward(m, s, dx_out);
  }
  const backward_arg ba = {dy, dx_out, param_grads ? m->grads : NULL};
  if (param_grads)
    m->grads_zero = 0;
  if (param_grads && dx_out == NULL && s->rsplits > 0) {
    WSRL__TRY(row_backward(m, s, dy, tail));
  } else if (param_grads && dx_out == NULL && s->bsplits > 1) {
    WSRL__TRY(split_backward(m, s, dy, tail));
  } else {
    phase ph[3] = {{E, 1, backward_member, &ba}};
    WSRL__TRY(each_phase(m, s, m->team, ph, with_tail(ph, 1, tail)));
  }
  if (param_grads) /* every member zeroed its slices (the padding stays 0) */
    m->grads_zero_pending = 0;
  WSRL__TRY(wsrl__nn_ctx_wait(m->ctx));
  if (dx_out != NULL && s->mode == WSRL__MLP_SHARED && E > 1) {
    /* Members added in order: the same bits for any thread count. */
    const int64_t n = B * K;
    memcpy(dx_out, m->dxp, (size_t)n * sizeof(float));
    for (int64_t e = 1; e < E; e++) {
      const float *p = m->dxp + e * n;
      for (int64_t i = 0; i < n; i++)
        dx_out[i] += p[i];
    }
  }
  return WSRL_OK;
}

static wsrl_status_t check_backward(const wsrl__mlp *m, const float *dy) {
  WSRL__CHECK_NULL(m);
  WSRL__CHECK_NULL(dy);
  if (!m->spec.trainable)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "mlp: backward on a forward-only (target) network");
  if (m->last == NULL)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "mlp: backward without a preceding successful forward");
  return WSRL_OK;
}

wsrl_status_t wsrl__mlp_backward_from(wsrl__mlp *m, wsrl__mlp_rows_fn fn, const void *job, float *dy) {
  WSRL__TRY(check_backward(m, dy));
  WSRL__CHECK_NULL(fn);
  if (m->spec.ensemble != 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: backward_from needs a one-member net (ensemble %d)",
                       m->spec.ensemble);
  if (m->last->rsplits == 0) { /* no row backward: the rows first, here */
    fn(job, 0, m->last->batch);
    return wsrl__mlp_backward(m, dy, NULL, 1);
  }
  m->before = fn, m->before_job = job;
  const wsrl_status_t rc = wsrl__mlp_backward(m, dy, NULL, 1);
  m->before = NULL, m->before_job = NULL;
  return rc;
}

wsrl_status_t wsrl__mlp_backward(wsrl__mlp *m, const float *dy, float *dx_out, int32_t param_grads) {
  WSRL__TRY(check_backward(m, dy));
  int32_t saved = wsrl__nn_enter(m->ctx);
  const int32_t outer = m->last->serial ? wsrl__nn_single_thread_begin() : 0;
  wsrl_status_t rc = backward(m, m->last, dy, dx_out, param_grads, NULL);
  if (m->last->serial)
    wsrl__nn_leave(outer);
  wsrl__nn_leave(saved);
  return rc;
}

/* ---- optimizer ---- */

void wsrl__mlp_zero_grad(wsrl__mlp *m) {
  /* Deferred: the next backward zeroes each member's slices on its own
   * thread (a 10-critic ensemble's 2.9 MB memset on the calling thread
   * left the others idle), anything else reading them first settles.
   * Nothing to do after an Adam pass, which zeroed what it read. */
  if (m->grads != NULL && !m->grads_zero)
    m->grads_zero_pending = 1;
}

static wsrl_status_t check_same(const wsrl__mlp *a, const wsrl__mlp *b, const char *what);

static wsrl_status_t check_step(const wsrl__mlp_step *st) {
  WSRL__CHECK_NULL(st->m);
  if (!st->m->spec.trainable)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "mlp: Adam step on a forward-only (target) network");
  if (st->target == NULL)
    return WSRL_OK;
  WSRL__TRY(check_same(st->target, st->m, "Adam step with Polyak update"));
  if (!(st->tau >= 0.0f && st->tau <= 1.0f))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "Adam step with Polyak update: tau must be in [0, 1] (got %g)",
                       (double)st->tau);
  return WSRL_OK;
}

/* The optimizer's view of step st: m's arrays and, with a target, the
 * Polyak average into it in the same pass. */
static wsrl__adam_set step_set(const wsrl__mlp_step *st) {
  wsrl__mlp *m = st->m, *tg = st->target;
  const wsrl__adam_fused x = {tg != NULL ? tg->params : NULL, st->tau, m->bf16 ? m->w16 : NULL,
                              tg != NULL && tg->bf16 ? tg->w16 : NULL, m->grads};
  return (wsrl__adam_set){&m->adam, m->adam_t + 1, st->extra_sumsq, m->params, m->grads, m->adam_m, m->adam_v,
                          (size_t)m->n_padded, x, m->norm_part, 0.0, 1.0f, 0};
}

/* Step st's outcome: the new state of m (and its target), or for a
 * skipped (non-finite) step the target's Polyak average all the same, as
 * the separate calls do. */
static void step_done(wsrl__mlp_step *st, const wsrl__adam_set *set) {
  wsrl__mlp *m = st->m, *tg = st->target;
  st->grad_norm = (float)set->norm;
  st->scale = set->scale;
  if (!set->stepped) {
    if (tg != NULL)
      (void)wsrl__mlp_polyak(tg, m, st->tau);
    st->status = WSRL_ERR_NON_FINITE;
    return;
  }
  m->adam_t++;
  m->grads_zero = 1;
  m->w16_fresh = m->bf16;
  m->w16_version += m->bf16 != 0;
  if (tg != NULL) {
    tg->w16_fresh = tg->bf16;
    tg->w16_version += tg->bf16 != 0;
  }
  st->status = WSRL_OK;
}

/* Check steps[0, count) (each marked not run until it has; with fresh, in
 * fresh's context) and write their sets; the gradients of each but
 * `fresh` (whose backward is still to come) settled. */
static wsrl_status_t steps_begin(wsrl__mlp_step *steps, int32_t count, wsrl__mlp *fresh, wsrl__adam_set *sets) {
  WSRL__CHECK_NULL(steps);
  if (count < 1 || count > WSRL__ADAM_MAX_SETS)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: Adam steps: count must be in [1, %d] (got %d)",
                       WSRL__ADAM_MAX_SETS, count);
  for (int32_t i = 0; i < count; i++) /* until a step has run */
    steps[i].status = WSRL_ERR_INVALID_ARGUMENT;
  for (int32_t i = 0; i < count; i++) {
    WSRL__TRY(check_step(&steps[i]));
    if (steps[i].m->ctx != steps[0].m->ctx)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: Adam steps: steps[%d]'s network has another context", i);
    for (int32_t j = 0; j < i; j++)
      if (steps[j].m == steps[i].m)
        return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp: Adam steps: steps[%d] and [%d] are one network", j, i);
  }
  if (fresh != NULL && steps[0].m->ctx != fresh->ctx)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "mlp: backward with Adam steps: the steps' networks have another context than m");
  for (int32_t i = 0; i < count; i++) {
    if (steps[i].m != fresh)
      settle_grads(steps[i].m);
    sets[i] = step_set(&steps[i]);
  }
  return WSRL_OK;
}

/* The steps' outcomes from their sets; the first skipped one's error. */
static wsrl_status_t steps_end(wsrl__mlp_step *steps, int32_t count, const wsrl__adam_set *sets) {
  wsrl_status_t first = WSRL_OK;
  for (int32_t i = 0; i < count; i++) {
    step_done(&steps[i], &sets[i]);
    if (steps[i].status != WSRL_OK && first == WSRL_OK)
      first = wsrl__error(steps[i].status, "mlp: non-finite gradient (norm %g); step skipped",
                          (double)steps[i].grad_norm);
  }
  return first;
}

wsrl_status_t wsrl__mlp_adam_steps(wsrl__mlp_step *steps, int32_t count) {
  wsrl__adam_set sets[WSRL__ADAM_MAX_SETS];
  WSRL__TRY(steps_begin(steps, count, NULL, sets));
  /* The norms and the steps of all in one region (one fork and join). */
  const int32_t saved = wsrl__nn_enter(steps[0].m->ctx);
  wsrl__adam_steps_clipped(sets, count);
  wsrl__nn_leave(saved);
  return steps_end(steps, count, sets);
}

/* The team a parameter-gradient backward of slot s runs on (1: none). */
static int32_t backward_team(const wsrl__mlp *m, const slot *s) {
  if (s->serial)
    return 1;
  return s->rsplits > 0 ? m->row_team : m->team;
}

wsrl_status_t wsrl__mlp_backward_steps(wsrl__mlp *m, const float *dy, wsrl__mlp_step *steps, int32_t count) {
  WSRL__TRY(check_backward(m, dy));
  wsrl__adam_set sets[WSRL__ADAM_MAX_SETS];
  WSRL__TRY(steps_begin(steps, count, m, sets));
  if (backward_team(m, m->last) <= 1) { /* no team region to share */
    WSRL__TRY(wsrl__mlp_backward(m, dy, NULL, 1));
    const int32_t saved = wsrl__nn_enter(m->ctx);
    wsrl__adam_steps_clipped(sets, count);
    wsrl__nn_leave(saved);
    return steps_end(steps, count, sets);
  }
  const steps_tail tail = {sets, count, wsrl__adam_sets_blocks(sets, count), backward_team(m, m->last)};
  const int32_t saved = wsrl__nn_enter(m->ctx);
  const wsrl_status_t rc = backward(m, m->last, dy, NULL, 1, &tail);
  wsrl__nn_leave(saved);
  if (rc != WSRL_OK) /* no step ran (each_phase skips them after a failure) */
    return rc;
  wsrl__adam_sets_done(sets, count);
  return steps_end(steps, count, sets);
}

wsrl_status_t wsrl__mlp_adam_step_ext(wsrl__mlp *m, double extra_sumsq, float *grad_norm_out, float *scale_out) {
  WSRL__CHECK_NULL(m);
  wsrl__mlp_step st = {m, NULL, 0.0f, extra_sumsq, 0.0f, 1.0f, WSRL_OK};
  const wsrl_status_t rc = wsrl__mlp_adam_steps(&st, 1);
  if (grad_norm_out != NULL && rc != WSRL_ERR_WRONG_STATE)
    *grad_norm_out = st.grad_norm;
  if (scale_out != NULL && rc == WSRL_OK)
    *scale_out = st.scale;
  return rc;
}

wsrl_status_t wsrl__mlp_adam_step(wsrl__mlp *m, float *grad_norm_out) {
  return wsrl__mlp_adam_step_ext(m, 0.0, grad_norm_out, NULL);
}

wsrl_status_t wsrl__mlp_adam_step_polyak(wsrl__mlp *m, wsrl__mlp *target, float tau, float *grad_norm_out) {
  WSRL__CHECK_NULL(m);
  WSRL__CHECK_NULL(target);
  wsrl__mlp_step st = {m, target, tau, 0.0, 0.0f, 1.0f, WSRL_OK};
  const wsrl_status_t rc = wsrl__mlp_adam_steps(&st, 1);
  if (grad_norm_out != NULL && (rc == WSRL_OK || rc == WSRL_ERR_NON_FINITE))
    *grad_norm_out = st.grad_norm;
  return rc;
}

void wsrl__mlp_adam_reset(wsrl__mlp *m) {
  if (!m->spec.trainable)
    return;
  memset(m->adam_m, 0, (size_t)m->n_padded * sizeof(float));
  memset(m->adam_v, 0, (size_t)m->n_padded * sizeof(float));
  m->adam_t = 0;
}

void wsrl__mlp_set_lr(wsrl__mlp *m, float lr) { m->adam.lr = lr; }

static wsrl_status_t check_same(const wsrl__mlp *a, const wsrl__mlp *b, const char *what) {
  if (a->n_padded != b->n_padded || a->n_params != b->n_params || a->nl != b->nl ||
      a->spec.ensemble != b->spec.ensemble || a->spec.layer_norm != b->spec.layer_norm)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: the two networks have different architectures", what);
  for (int32_t l = 0; l < a->nl; l++)
    if (a->fan_in[l] != b->fan_in[l] || a->fan_out[l] != b->fan_out[l])
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: layer %d shapes differ", what, l);
  return WSRL_OK;
}

wsrl_status_t wsrl__mlp_polyak(wsrl__mlp *target, const wsrl__mlp *src, float tau) {
  WSRL__CHECK_NULL(target);
  WSRL__CHECK_NULL(src);
  WSRL__TRY(check_same(target, src, "polyak update"));
  if (!(tau >= 0.0f && tau <= 1.0f))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "polyak update: tau must be in [0, 1] (got %g)", (double)tau);
  int32_t saved = wsrl__nn_enter(target->ctx);
  float *t = target->params;
  const float *s = src->params;
  const float keep = 1.0f - tau;
  const int64_t n = target->n_padded;
  target->w16_fresh = 0;
  if (wsrl__nn_fork(n, 65536)) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; i++)
      t[i] = tau * s[i] + keep * t[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; i++)
      t[i] = tau * s[i] + keep * t[i];
  }
  wsrl__nn_leave(saved);
  return WSRL_OK;
}

wsrl_status_t wsrl__mlp_copy_params(wsrl__mlp *dst, const wsrl__mlp *src) {
  WSRL__CHECK_NULL(dst);
  WSRL__CHECK_NULL(src);
  WSRL__TRY(check_same(dst, src, "parameter copy"));
  dst->w16_fresh = 0;
  memcpy(dst->params, src->params, (size_t)dst->n_padded * sizeof(float));
  return WSRL_OK;
}

/* Floats per task of a member copy (layers after the first are one
 * contiguous run each, split into pieces this long). */
#define COPY_CHUNK 16384

/* Pieces of layer l in a member copy: the first layer's strided rows are
 * one piece (its K1 x N floats are few). */
static int64_t copy_pieces(const wsrl__mlp *m, int32_t l) {
  int64_t rows, len, stride;
  member_runs(m, l, &rows, &len, &stride);
  return rows > 1 ? 1 : (len + COPY_CHUNK - 1) / COPY_CHUNK;
}

/* Floats [off, off + n) of every row of member e's layer l run, from
 * member se of src (and the bf16 copies with with16). */
static void copy_run(const copy_job *j, int32_t l, int64_t e, int64_t se, int64_t off, int64_t n) {
  int64_t rows, len, dstride, sstride;
  member_runs(j->dst, l, &rows, &len, &dstride);
  member_runs(j->src, l, &rows, &len, &sstride);
  const int64_t d = w_index(j->dst, l, e, 0, 0) + off, s = w_index(j->src, l, se, 0, 0) + off;
  for (int64_t r = 0; r < rows; r++) {
    memcpy(j->dst->params + d + r * dstride, j->src->params + s + r * sstride, (size_t)n * sizeof(float));
    if (j->with16)
      memcpy(j->dst->w16 + d + r * dstride, j->src->w16 + s + r * sstride, (size_t)n * sizeof(uint16_t));
  }
}

/* Copy task t: one piece of one layer of one member; a layer's first
 * piece also carries its LayerNorm gain and bias. */
static void copy_task(const void *job, int64_t t) {
  const copy_job *j = job;
  const wsrl__mlp *dst = j->dst, *src = j->src;
  const int64_t e = t / j->per, se = j->members[e];
  int64_t piece = t % j->per;
  int32_t l = 0;
  while (piece >= copy_pieces(dst, l))
    piece -= copy_pieces(dst, l++);
  int64_t rows, len, stride;
  member_runs(dst, l, &rows, &len, &stride);
  const int64_t off = piece * COPY_CHUNK;
  copy_run(j, l, e, se, off, rows > 1 ? len : (len - off < COPY_CHUNK ? len - off : COPY_CHUNK));
  if (piece > 0 || l >= dst->spec.n_hidden || !dst->spec.layer_norm)
    return;
  const int64_t N = dst->fan_out[l];
  for (int half = 0; half < 2; half++) {
    const int64_t d = dst->ln_off[l] + (half * dst->spec.ensemble + e) * N;
    const int64_t s = src->ln_off[l] + (half * src->spec.ensemble + se) * N;
    memcpy(dst->params + d, src->params + s, (size_t)N * sizeof(float));
    if (j->with16)
      memcpy(dst->w16 + d, src->w16 + s, (size_t)N * sizeof(uint16_t));
  }
}

static wsrl_status_t check_copy(const wsrl__mlp *dst, const wsrl__mlp *src, const int32_t *members, int32_t k) {
  WSRL__CHECK_NULL(dst);
  WSRL__CHECK_NULL(src);
  WSRL__CHECK_NULL(members);
  if (dst->nl != src->nl || dst->spec.layer_norm != src->spec.layer_norm)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "member copy: the two networks have different architectures");
  for (int32_t l = 0; l < dst->nl; l++)
    if (dst->fan_in[l] != src->fan_in[l] || dst->fan_out[l] != src->fan_out[l])
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "member copy: layer %d shapes differ", l);
  if (k < 1 || k > dst->spec.ensemble)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "member copy: k must be in [1, %d] (got %d)", dst->spec.ensemble,
                       k);
  for (int32_t i = 0; i < k; i++)
    if (members[i] < 0 || members[i] >= src->spec.ensemble)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "member copy: members[%d] = %d outside [0, %d)", i, members[i],
                         src->spec.ensemble);
  return WSRL_OK;
}

/* The copy's tasks, with its bf16 decision: the bf16 copies come along
 * when src's are current (the optimizer's pass wrote them) and dst's are
 * current or all overwritten, so no rounding pass runs before dst's next
 * forward. Marks dst's bf16 weights as the copy leaves them. */
static copy_job copy_plan(wsrl__mlp *dst, const wsrl__mlp *src, const int32_t *members, int32_t k) {
  const int with16 = dst->bf16 && src->bf16 && src->w16_fresh && (dst->w16_fresh || k == dst->spec.ensemble);
  copy_job job = {dst, src, members, 0, with16, k};
  for (int32_t l = 0; l < dst->nl; l++)
    job.per += copy_pieces(dst, l);
  dst->w16_fresh = with16;
  dst->w16_version += with16; /* the first layer's per-member copy follows */
  return job;
}

/* Part `part` of `parts` of the copy's tasks (disjoint pieces). */
static void copy_part(const copy_job *j, int64_t part, int64_t parts) {
  for (int64_t t = part; t < j->k * j->per; t += parts)
    copy_task(j, t);
}

/* The copy on the team, in a region of its own. */
static void run_copy(const copy_job *j) {
  wsrl__mlp *dst = j->dst;
  const int32_t saved = wsrl__nn_enter(dst->ctx);
  wsrl__nn_tasks(j->k * j->per, (int64_t)j->k * (dst->n_params / dst->spec.ensemble), COPY_CHUNK, copy_task, j);
  wsrl__nn_leave(saved);
}

wsrl_status_t wsrl__mlp_copy_members(wsrl__mlp *dst, const wsrl__mlp *src, const int32_t *members, int32_t k) {
  WSRL__TRY(check_copy(dst, src, members, k));
  const copy_job job = copy_plan(dst, src, members, k);
  run_copy(&job);
  return WSRL_OK;
}

/* ---- flat access ---- */

int64_t wsrl__mlp_param_count(const wsrl__mlp *m) { return m->n_params; }

/* The documented flat layout (include/wsrl/agent.h, "Parameter vectors"):
 * member by member; within one, layer by layer: the kernel [fan_in,
 * fan_out] row-major, then the bias [fan_out] (together: the rows of the
 * augmented kernel), then for a hidden layer with LayerNorm its gain and
 * its bias [fan_out] each. A member is one contiguous slice. */
static wsrl_status_t flat_copy(const wsrl__mlp *m, float *buf, const float *state, int64_t count, int to_state,
                               const char *what) {
  if (count != m->n_params)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: count is %lld but the network has %lld parameters", what,
                       (long long)count, (long long)m->n_params);
  const int64_t E = m->spec.ensemble;
  int64_t pos = 0;
  for (int64_t e = 0; e < E; e++)
    for (int32_t l = 0; l < m->nl; l++) {
      const int64_t N = m->fan_out[l];
      const int ln = l < m->spec.n_hidden && m->spec.layer_norm;
      for (int64_t r = 0; r < m->fan_in[l] + 1 + (ln ? 2 : 0); r++, pos += N) {
        /* rows 0..fan_in: kernel then bias; then LayerNorm gain, bias */
        const int64_t at = r <= m->fan_in[l] ? w_index(m, l, e, r, 0)
                                               : m->ln_off[l] + ((r - m->fan_in[l] - 1) * E + e) * N;
        if (to_state)
          memcpy((float *)state + at, buf + pos, (size_t)N * sizeof(float));
        else
          memcpy(buf + pos, state + at, (size_t)N * sizeof(float));
      }
    }
  return WSRL_OK;
}

wsrl_status_t wsrl__nn_check_params(const float *x, int64_t count, const char *fn) {
  for (int64_t i = 0; i < count; i++) {
    if (!isfinite(x[i]))
      return wsrl__error(WSRL_ERR_NON_FINITE, "%s: params[%lld] = %g is not finite; nothing was changed", fn,
                         (long long)i, (double)x[i]);
    if (fabsf(x[i]) > WSRL__PARAM_ABS_MAX)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "%s: params[%lld] = %g is beyond +-%g, out of any trained network's range (the bound "
                         "checkpoint loading applies); nothing was changed",
                         fn, (long long)i, (double)x[i], (double)WSRL__PARAM_ABS_MAX);
  }
  return WSRL_OK;
}

wsrl_status_t wsrl__mlp_get_params(const wsrl__mlp *m, float *out, int64_t count) {
  WSRL__CHECK_NULL(m);
  WSRL__CHECK_NULL(out);
  return flat_copy(m, out, m->params, count, 0, "get params");
}

wsrl_status_t wsrl__mlp_set_params(wsrl__mlp *m, const float *in, int64_t count) {
  WSRL__CHECK_NULL(m);
  WSRL__CHECK_NULL(in);
  m->w16_fresh = 0;
  return flat_copy(m, (float *)in, m->params, count, 1, "set params");
}

wsrl_status_t wsrl__mlp_get_grads(const wsrl__mlp *m, float *out, int64_t count) {
  WSRL__CHECK_NULL(m);
  WSRL__CHECK_NULL(out);
  if (m->grads == NULL)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "get grads: forward-only network");
  WSRL__TRY(flat_copy(m, out, m->grads, count, 0, "get grads"));
  if (m->grads_zero_pending) /* zeroed, not yet written (a reader: nothing changes) */
    memset(out, 0, (size_t)count * sizeof(float));
  return WSRL_OK;
}

float *wsrl__mlp_elem(wsrl__mlp *m, int32_t which, int32_t kind, int32_t layer, int32_t member, int32_t k,
                      int32_t n) {
  if (which == WSRL__MLP_GRAD && m->grads != NULL)
    settle_grads(m); /* the caller may read or write through the pointer */
  float *base = which == WSRL__MLP_GRAD ? m->grads : m->params;
  if (which != WSRL__MLP_GRAD)
    m->w16_fresh = 0; /* the caller may write through the pointer */
  else
    m->grads_zero = 0;
  if (base == NULL || layer < 0 || layer >= m->nl || member < 0 || member >= m->spec.ensemble || n < 0 ||
      n >= m->fan_out[layer])
    return NULL;
  switch (kind) {
  case WSRL__MLP_W:
    return k >= 0 && k < m->fan_in[layer] ? base + w_index(m, layer, member, k, n) : NULL;
  case WSRL__MLP_B:
    return base + w_index(m, layer, member, m->fan_in[layer], n);
  case WSRL__MLP_LN_SCALE:
  case WSRL__MLP_LN_BIAS:
    if (layer >= m->spec.n_hidden || !m->spec.layer_norm)
      return NULL;
    return base + m->ln_off[layer] + (kind == WSRL__MLP_LN_BIAS ? m->spec.ensemble * m->fan_out[layer] : 0) +
           (int64_t)member * m->fan_out[layer] + n;
  default:
    return NULL;
  }
}

int32_t wsrl__mlp_blob_count(const wsrl__mlp *m) { return m->spec.trainable ? 3 : 1; }

wsrl_status_t wsrl__mlp_blob(wsrl__mlp *m, int32_t index, wsrl__nn_blob *blob_out) {
  WSRL__CHECK_NULL(m);
  WSRL__CHECK_NULL(blob_out);
  static const char *const names[3] = {"params", "adam.m", "adam.v"};
  float *data[3] = {m->params, m->adam_m, m->adam_v};
  if (index < 0 || index >= wsrl__mlp_blob_count(m))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "mlp blob index %d out of range [0, %d)", index,
                       wsrl__mlp_blob_count(m));
  blob_out->name = names[index];
  blob_out->data = data[index];
  blob_out->count = m->n_padded;
  blob_out->owner = index == 0 ? m : NULL;
  return WSRL_OK;
}

void wsrl__mlp_params_written(wsrl__mlp *m) { m->w16_fresh = 0; }

int64_t *wsrl__mlp_adam_t(wsrl__mlp *m) { return &m->adam_t; }
