/* Diagonal-Gaussian actor, optionally tanh-squashed (see policy.h for the
 * formulas). The MLP's output is [mean | log-std] ("exp") or [mean]
 * ("uniform", with a learned log-std vector); both heads are one output
 * Dense initialised as a single orthogonal kernel. */
#include <math.h>
#include <string.h>

#include "policy.h"

#define HALF_LOG_2PI 0.91893853320467274178
#define LOG2 0.69314718055994530942
#define ATANH_CLIP (1.0 - 1e-6)
/* Rows per task of the per-row loops (even: a task's noise starts on a
 * Box-Muller pair), and the fewest values worth a team: a value costs
 * 50-100 ns (tanh, log, softplus in double), a fork a few us. */
#define TASK_ROWS 16
#define PAR_MIN 512

enum { CACHE_NONE = 0, CACHE_SAMPLE = 1, CACHE_LOG_PROB = 2 };

/* What a forward computes on its rows' thread (wsrl__mlp_forward_then):
 * the std, and with a_out the samples of those rows' observations. */
typedef struct rows_job {
  wsrl__policy *p;
  const float *out; /* the MLP's output */
  int32_t n;        /* samples per observation */
  float *a_out, *logp_out;
  int64_t batch;
} rows_job;

struct wsrl__policy {
  wsrl__policy_spec spec;
  wsrl__nn_ctx *ctx;
  wsrl__mlp *mlp;
  int32_t out_dim;   /* A or 2A */
  /* uniform std: log_std, its gradient and Adam moments (A each) */
  float *log_std, *g_log_std, *m_log_std, *v_log_std;
  /* per forward row [max_batch, A] */
  float *mean, *std, *dstd_dls; /* dstd_dls: d std / d log_std (0 where clipped) */
  float *dout;                  /* [max_batch, out_dim] gradient into the MLP */
  float *gstd;                  /* [max_batch, A] dLoss/dstd */
  /* per sample row [max_batch * max_samples, A] */
  float *eps, *act;             /* eps (sample) or z = (u - mean) / std (log_prob); a */
  float *u;                     /* pre-squash u */
  uint64_t *draws;              /* the RNG draws of wsrl__policy_forward_sample_rng's noise */
  int64_t batch;                /* rows of the latest forward (0: none) */
  int32_t n;                    /* samples per row of the latest sample */
  int32_t cache;
  size_t bytes;
  rows_job planned;             /* a planned forward's (wsrl__policy_forward_sample_plan) */
};

void wsrl__policy_spec_from_config(wsrl__policy_spec *spec, const wsrl__config_values *v, int32_t obs_dim,
                                   int32_t act_dim, int64_t max_batch) {
  memset(spec, 0, sizeof *spec);
  spec->obs_dim = obs_dim;
  spec->act_dim = act_dim;
  spec->n_hidden = v->actor_hidden.n;
  for (int32_t i = 0; i < v->actor_hidden.n && i < WSRL__NN_MAX_HIDDEN; i++)
    spec->hidden[i] = (int32_t)v->actor_hidden.v[i];
  spec->layer_norm = v->actor_layer_norm;
  spec->kernel_scale_final = (float)v->actor_kernel_scale_final;
  spec->kernel_init = v->actor_kernel_init;
  spec->std_param = v->actor_std_parameterization;
  spec->tanh_squash = v->actor_tanh_squash;
  spec->std_min = 1e-5f;
  spec->std_max = 10.0f;
  spec->max_batch = max_batch;
  spec->max_samples = 1;
  wsrl__adam_cfg_from_config(&spec->adam, v, v->optim_actor_lr);
}

static wsrl_status_t check_spec(const wsrl__policy_spec *s) {
  if (s->obs_dim < 1 || s->act_dim < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "policy: obs_dim and act_dim must be > 0 (got %d, %d)", s->obs_dim,
                       s->act_dim);
  if (s->std_param != WSRL__STD_EXP && s->std_param != WSRL__STD_UNIFORM)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "policy: unknown std parameterization %d", s->std_param);
  if (!(s->std_min > 0.0f) || !(s->std_max >= s->std_min))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "policy: std bounds must satisfy 0 < min <= max (got %g, %g)",
                       (double)s->std_min, (double)s->std_max);
  if (s->max_batch < 1 || s->max_samples < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "policy: max_batch and max_samples must be > 0 (got %lld, %d)",
                       (long long)s->max_batch, s->max_samples);
  return WSRL_OK;
}

wsrl_status_t wsrl__policy_create(wsrl__policy **p_out, wsrl__nn_ctx *ctx, const wsrl__policy_spec *spec,
                                  wsrl__rng *rng) {
  WSRL__CHECK_NULL(p_out);
  *p_out = NULL;
  WSRL__CHECK_NULL(ctx);
  WSRL__CHECK_NULL(spec);
  WSRL__CHECK_NULL(rng);
  WSRL__TRY(check_spec(spec));
  const wsrl__alloc *alloc = wsrl__nn_ctx_alloc(ctx);
  wsrl__policy *p = wsrl__calloc(alloc, 1, sizeof *p);
  if (p == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating a policy");
  p->spec = *spec;
  p->ctx = ctx;
  const int64_t A = spec->act_dim, rows = spec->max_batch, srows = spec->max_batch * spec->max_samples;
  p->out_dim = (int32_t)(spec->std_param == WSRL__STD_EXP ? 2 * A : A);
  wsrl__mlp_spec ms;
  memset(&ms, 0, sizeof ms);
  ms.ensemble = 1;
  ms.in_dim = spec->obs_dim;
  ms.out_dim = p->out_dim;
  ms.n_hidden = spec->n_hidden;
  memcpy(ms.hidden, spec->hidden, sizeof ms.hidden);
  ms.layer_norm = spec->layer_norm;
  ms.kernel_scale_final = spec->kernel_scale_final;
  ms.hidden_init = spec->kernel_init;
  ms.max_batch = spec->max_batch;
  ms.trainable = 1;
  wsrl_status_t rc = wsrl__mlp_create(&p->mlp, ctx, &ms, &spec->adam, rng);
  if (rc != WSRL_OK) {
    wsrl__free(alloc, p);
    return rc;
  }
  /* One zeroed block for every array (log-std starts at 0: std 1). */
  const size_t floats = (size_t)(4 * A + 4 * rows * A + rows * p->out_dim + 3 * srows * A);
  float *buf = wsrl__aligned_alloc(alloc, floats * sizeof(float));
  if (buf == NULL) {
    wsrl__policy_destroy(p);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating %zu bytes of policy buffers", floats * sizeof(float));
  }
  float *q = buf;
  p->log_std = q, q += A;
  p->g_log_std = q, q += A;
  p->m_log_std = q, q += A;
  p->v_log_std = q, q += A;
  p->mean = q, q += rows * A;
  p->std = q, q += rows * A;
  p->dstd_dls = q, q += rows * A;
  p->dout = q, q += rows * p->out_dim;
  p->gstd = q, q += rows * A;
  p->eps = q, q += srows * A;
  p->act = q, q += srows * A;
  p->u = q;
  const size_t draws = (size_t)(srows * A + 1) / 2 * 2;
  p->draws = wsrl__aligned_alloc(alloc, draws * sizeof(uint64_t));
  if (p->draws == NULL) {
    wsrl__policy_destroy(p);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating %zu bytes of policy noise draws", draws * sizeof(uint64_t));
  }
  p->bytes = sizeof *p + floats * sizeof(float) + draws * sizeof(uint64_t) + wsrl__mlp_memory_usage(p->mlp);
  *p_out = p;
  return WSRL_OK;
}

void wsrl__policy_destroy(wsrl__policy *p) {
  if (p == NULL)
    return;
  const wsrl__alloc *alloc = wsrl__nn_ctx_alloc(p->ctx);
  wsrl__mlp_destroy(p->mlp);
  wsrl__aligned_free(alloc, p->log_std);
  wsrl__aligned_free(alloc, p->draws);
  wsrl__free(alloc, p);
}

const wsrl__policy_spec *wsrl__policy_get_spec(const wsrl__policy *p) { return &p->spec; }
size_t wsrl__policy_memory_usage(const wsrl__policy *p) { return p->bytes; }

wsrl_status_t wsrl__policy_prepare(wsrl__policy *p, int64_t batch) {
  WSRL__CHECK_NULL(p);
  return wsrl__mlp_prepare(p->mlp, batch, WSRL__MLP_SHARED);
}

static int64_t row_tasks(int64_t rows) { return (rows + TASK_ROWS - 1) / TASK_ROWS; }

/* Rows [r0, r1) of a task of `rows`. */
static void task_rows(int64_t t, int64_t rows, int64_t *r0, int64_t *r1) {
  *r0 = t * TASK_ROWS;
  *r1 = *r0 + TASK_ROWS < rows ? *r0 + TASK_ROWS : rows;
}

/* Mean, std and d std / d log_std of rows [b0, b1) from the MLP's output. */
static void std_rows(wsrl__policy *p, const float *out, int64_t b0, int64_t b1) {
  const int64_t A = p->spec.act_dim, D = p->out_dim;
  const double lo = p->spec.std_min, hi = p->spec.std_max;
  for (int64_t b = b0; b < b1; b++)
    for (int64_t k = 0; k < A; k++) {
      const double ls = p->spec.std_param == WSRL__STD_EXP ? out[b * D + A + k] : p->log_std[k];
      const double s = exp(ls);
      p->mean[b * A + k] = out[b * D + k];
      p->std[b * A + k] = (float)(s < lo ? lo : s > hi ? hi : s);
      p->dstd_dls[b * A + k] = s < lo || s > hi ? 0.0f : (float)s;
    }
}

static void sample_rows(wsrl__policy *p, int32_t n, const float *eps, float *a_out, float *logp_out, int64_t i0,
                        int64_t i1);

static void forward_rows(const void *job, int64_t b0, int64_t b1) {
  const rows_job *j = job;
  std_rows(j->p, j->out, b0, b1);
  if (j->a_out != NULL)
    sample_rows(j->p, j->n, NULL, j->a_out, j->logp_out, b0 * j->n, b1 * j->n);
}

wsrl_status_t wsrl__policy_forward(wsrl__policy *p, int64_t batch, const float *obs) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(obs);
  p->batch = 0;
  p->cache = CACHE_NONE;
  /* The std in the forward's own region, on the threads of its rows. */
  const rows_job job = {p, wsrl__mlp_output(p->mlp), 1, NULL, NULL, batch};
  WSRL__TRY(wsrl__mlp_forward_then(p->mlp, batch, obs, forward_rows, &job));
  p->batch = batch;
  return WSRL_OK;
}

const float *wsrl__policy_mean(const wsrl__policy *p) { return p->mean; }
const float *wsrl__policy_std(const wsrl__policy *p) { return p->std; }
const float *wsrl__policy_log_std(const wsrl__policy *p) { return p->log_std; }

/* -log(1 - tanh(u)^2) computed stably: 2 (log 2 - u - softplus(-2u)) is log(1 - tanh^2). */
static double tanh_log_det(double u) { return 2.0 * (LOG2 - u - wsrl__softplus(-2.0 * u)); }

static wsrl_status_t need_forward(const wsrl__policy *p, const char *fn) {
  if (p->batch == 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "%s: no preceding policy forward", fn);
  return WSRL_OK;
}

typedef struct sample_job {
  wsrl__policy *p;
  int32_t n;
  const float *eps; /* NULL: the normals of p->draws */
  float *a_out, *logp_out;
  int64_t rows;
} sample_job;

/* Sample rows [i0, i1) (row i uses observation i / n); each row's
 * log-probability sums its components in order, so the bits do not depend
 * on how rows are split. eps NULL: the normals of p->draws. */
static void sample_rows(wsrl__policy *p, int32_t n, const float *eps, float *a_out, float *logp_out, int64_t i0,
                        int64_t i1) {
  const int64_t A = p->spec.act_dim;
  if (eps == NULL)
    wsrl__normals_from_draws(p->draws, p->eps, (size_t)(i0 * A), (size_t)(i1 * A));
  eps = eps != NULL ? eps : p->eps;
  for (int64_t i = i0; i < i1; i++) {
    const int64_t b = i / n;
    double lp = 0.0;
    for (int64_t k = 0; k < A; k++) {
      const double e = eps[i * A + k], s = p->std[b * A + k];
      const double u = p->mean[b * A + k] + s * e;
      const double a = p->spec.tanh_squash ? tanh(u) : u;
      lp += -0.5 * e * e - log(s) - HALF_LOG_2PI;
      if (p->spec.tanh_squash)
        lp -= tanh_log_det(u);
      p->eps[i * A + k] = (float)e;
      p->u[i * A + k] = (float)u;
      p->act[i * A + k] = (float)a;
      a_out[i * A + k] = (float)a;
    }
    if (logp_out != NULL)
      logp_out[i] = (float)lp;
  }
}

static void sample_task(const void *job, int64_t t) {
  const sample_job *j = job;
  int64_t i0, i1;
  task_rows(t, j->rows, &i0, &i1);
  sample_rows(j->p, j->n, j->eps, j->a_out, j->logp_out, i0, i1);
}

static wsrl_status_t run_sample(wsrl__policy *p, int32_t n, const float *eps, float *a_out, float *logp_out) {
  const int64_t rows = p->batch * n;
  const sample_job job = {p, n, eps, a_out, logp_out, rows};
  wsrl__nn_ctx_tasks(p->ctx, row_tasks(rows), rows * p->spec.act_dim, PAR_MIN, sample_task, &job);
  p->n = n;
  p->cache = CACHE_SAMPLE;
  return WSRL_OK;
}

static wsrl_status_t check_sample(const wsrl__policy *p, int32_t n, const float *a_out, const char *fn) {
  WSRL__CHECK_NULL(a_out);
  WSRL__TRY(need_forward(p, fn));
  if (n < 1 || n > p->spec.max_samples)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: n must be in [1, max_samples = %d] (got %d)", fn,
                       p->spec.max_samples, n);
  return WSRL_OK;
}

wsrl_status_t wsrl__policy_sample(wsrl__policy *p, int32_t n, const float *eps, float *a_out, float *logp_out) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(eps);
  WSRL__TRY(check_sample(p, n, a_out, "policy sample"));
  return run_sample(p, n, eps, a_out, logp_out);
}

/* The planned forward+sample's state, once its group has run. */
static void sampled(const void *job, wsrl_status_t status) {
  const rows_job *j = job;
  if (status != WSRL_OK)
    return;
  j->p->batch = j->batch;
  j->p->n = j->n;
  j->p->cache = CACHE_SAMPLE;
}

wsrl_status_t wsrl__policy_forward_sample_plan(wsrl__policy *p, int64_t batch, const float *obs, int32_t n,
                                               wsrl__rng *rng, float *a_out, float *logp_out, wsrl__mlp_fwd *f) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(obs);
  WSRL__CHECK_NULL(rng);
  WSRL__CHECK_NULL(a_out);
  WSRL__CHECK_NULL(f);
  p->batch = 0; /* as a failed wsrl__policy_forward: no forward to sample from */
  p->cache = CACHE_NONE;
  if (n < 1 || n > p->spec.max_samples)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "policy forward+sample: n must be in [1, max_samples = %d] (got %d)",
                       p->spec.max_samples, n);
  if (batch < 1 || batch > p->spec.max_batch)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "policy forward+sample: batch %lld outside [1, max_batch = %lld]",
                       (long long)batch, (long long)p->spec.max_batch);
  /* The draws first (serial, the forward does not touch rng), then the
   * std and the samples of each block of rows inside the forward's region. */
  wsrl__rng_normal_draws(rng, p->draws, (size_t)(batch * n * p->spec.act_dim));
  p->planned = (rows_job){p, wsrl__mlp_output(p->mlp), n, a_out, logp_out, batch};
  *f = (wsrl__mlp_fwd){.m = p->mlp, .batch = batch, .x = obs, .then = forward_rows, .then_job = &p->planned,
                       .done = sampled, .done_job = &p->planned};
  return WSRL_OK;
}

wsrl_status_t wsrl__policy_forward_sample_rng(wsrl__policy *p, int64_t batch, const float *obs, int32_t n,
                                              wsrl__rng *rng, float *a_out, float *logp_out) {
  wsrl__mlp_fwd f;
  WSRL__TRY(wsrl__policy_forward_sample_plan(p, batch, obs, n, rng, a_out, logp_out, &f));
  return wsrl__mlp_forward_group(&f, 1);
}

wsrl_status_t wsrl__policy_mode(wsrl__policy *p, float *a_out) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(a_out);
  WSRL__TRY(need_forward(p, "policy mode"));
  const int64_t n = p->batch * p->spec.act_dim;
  for (int64_t i = 0; i < n; i++)
    a_out[i] = p->spec.tanh_squash ? tanhf(p->mean[i]) : p->mean[i];
  return WSRL_OK;
}

wsrl_status_t wsrl__policy_log_prob(wsrl__policy *p, const float *a, float *logp_out) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(a);
  WSRL__CHECK_NULL(logp_out);
  WSRL__TRY(need_forward(p, "policy log_prob"));
  const int64_t A = p->spec.act_dim;
  for (int64_t b = 0; b < p->batch; b++) {
    double lp = 0.0;
    for (int64_t k = 0; k < A; k++) {
      double x = a[b * A + k], u = x;
      if (p->spec.tanh_squash) {
        x = x > ATANH_CLIP ? ATANH_CLIP : x < -ATANH_CLIP ? -ATANH_CLIP : x;
        u = atanh(x);
      }
      const double s = p->std[b * A + k], z = (u - p->mean[b * A + k]) / s;
      lp += -0.5 * z * z - log(s) - HALF_LOG_2PI;
      if (p->spec.tanh_squash)
        lp -= tanh_log_det(u);
      p->eps[b * A + k] = (float)z; /* the "noise" that reproduces u */
      p->u[b * A + k] = (float)u;
    }
    logp_out[b] = (float)lp;
  }
  p->n = 1;
  p->cache = CACHE_LOG_PROB;
  return WSRL_OK;
}

typedef struct backward_job {
  wsrl__policy *p;
  const float *da, *dlogp;
} backward_job;

/* dL/dmean and dL/dstd of a task's forward rows, each summed over the
 * row's samples in order (so the split does not change the bits); with
 * the exp parameterization also dL/dlog_std. */
static void backward_rows(const void *job, int64_t b0, int64_t b1) {
  const backward_job *j = job;
  wsrl__policy *p = j->p;
  const int64_t A = p->spec.act_dim, D = p->out_dim, n = p->n;
  const int sample = p->cache == CACHE_SAMPLE;
  memset(p->dout + b0 * D, 0, (size_t)((b1 - b0) * D) * sizeof(float));
  memset(p->gstd + b0 * A, 0, (size_t)((b1 - b0) * A) * sizeof(float));
  for (int64_t i = b0 * n; i < b1 * n; i++) {
    const int64_t b = i / n;
    const double dlp = j->dlogp != NULL ? j->dlogp[i] : 0.0;
    for (int64_t k = 0; k < A; k++) {
      const double s = p->std[b * A + k], e = p->eps[i * A + k];
      double dmean, dstd;
      if (sample) {
        /* u = mean + std e; a = tanh(u); d(-log(1 - tanh^2 u))/du = 2 tanh(u). */
        const double dai = j->da != NULL ? j->da[i * A + k] : 0.0;
        double du = dai;
        if (p->spec.tanh_squash) {
          const double a = p->act[i * A + k];
          du = dai * (1.0 - a * a) + dlp * 2.0 * a;
        }
        dmean = du;
        dstd = du * e - dlp / s;
      } else {
        /* e holds z = (u - mean) / std of the given action. */
        dmean = dlp * e / s;
        dstd = dlp * (e * e - 1.0) / s;
      }
      p->dout[b * D + k] += (float)dmean;
      p->gstd[b * A + k] += (float)dstd;
    }
  }
  if (p->spec.std_param == WSRL__STD_EXP)
    for (int64_t b = b0; b < b1; b++)
      for (int64_t k = 0; k < A; k++)
        p->dout[b * D + A + k] = p->gstd[b * A + k] * p->dstd_dls[b * A + k];
}

/* dL/dmean goes into the mean columns of p->dout, dL/dstd into p->gstd;
 * then through d std / d log_std into the log-std columns (exp) or the
 * vector's gradient (uniform: summed over the rows in order, after). The
 * rows are written inside the MLP backward's region (a block on the
 * thread that then reads it). */
static wsrl_status_t backward(wsrl__policy *p, const float *da, const float *dlogp) {
  const int64_t A = p->spec.act_dim;
  const backward_job job = {p, da, dlogp};
  WSRL__TRY(wsrl__mlp_backward_from(p->mlp, backward_rows, &job, p->dout));
  if (p->spec.std_param == WSRL__STD_UNIFORM)
    for (int64_t b = 0; b < p->batch; b++)
      for (int64_t k = 0; k < A; k++)
        p->g_log_std[k] += p->gstd[b * A + k] * p->dstd_dls[b * A + k];
  return WSRL_OK;
}

wsrl_status_t wsrl__policy_backward_sample(wsrl__policy *p, const float *da, const float *dlogp) {
  WSRL__CHECK_NULL(p);
  if (p->cache != CACHE_SAMPLE)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "policy backward_sample: the latest policy call was not a sample");
  return backward(p, da, dlogp);
}

wsrl_status_t wsrl__policy_backward_log_prob(wsrl__policy *p, const float *dlogp) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(dlogp);
  if (p->cache != CACHE_LOG_PROB)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "policy backward_log_prob: the latest policy call was not log_prob");
  return backward(p, NULL, dlogp);
}

void wsrl__policy_zero_grad(wsrl__policy *p) {
  wsrl__mlp_zero_grad(p->mlp);
  memset(p->g_log_std, 0, (size_t)p->spec.act_dim * sizeof(float));
}

void wsrl__policy_step_begin(wsrl__policy *p, wsrl__mlp_step *st) {
  const int uniform = p->spec.std_param == WSRL__STD_UNIFORM;
  const double extra = uniform ? wsrl__nn_l2norm(p->g_log_std, (size_t)p->spec.act_dim) : 0.0;
  *st = (wsrl__mlp_step){p->mlp, NULL, 0.0f, extra * extra, 0.0f, 1.0f, WSRL_OK};
}

void wsrl__policy_step_end(wsrl__policy *p, const wsrl__mlp_step *st) {
  if (st->status == WSRL_OK && p->spec.std_param == WSRL__STD_UNIFORM) /* the network's step counter and clip */
    wsrl__adam_update(&p->spec.adam, *wsrl__mlp_adam_t(p->mlp), st->scale, p->log_std, p->g_log_std, p->m_log_std,
                      p->v_log_std, (size_t)p->spec.act_dim);
}

wsrl_status_t wsrl__policy_adam_step(wsrl__policy *p, float *grad_norm_out) {
  WSRL__CHECK_NULL(p);
  wsrl__mlp_step st;
  wsrl__policy_step_begin(p, &st);
  const wsrl_status_t rc = wsrl__mlp_adam_steps(&st, 1);
  wsrl__policy_step_end(p, &st);
  if (grad_norm_out != NULL && (rc == WSRL_OK || rc == WSRL_ERR_NON_FINITE))
    *grad_norm_out = st.grad_norm;
  return rc;
}

void wsrl__policy_adam_reset(wsrl__policy *p) {
  wsrl__mlp_adam_reset(p->mlp);
  memset(p->m_log_std, 0, (size_t)p->spec.act_dim * sizeof(float));
  memset(p->v_log_std, 0, (size_t)p->spec.act_dim * sizeof(float));
}

int32_t wsrl__policy_blob_count(const wsrl__policy *p) {
  return wsrl__mlp_blob_count(p->mlp) + (p->spec.std_param == WSRL__STD_UNIFORM ? 3 : 0);
}

wsrl_status_t wsrl__policy_blob(wsrl__policy *p, int32_t index, wsrl__nn_blob *blob_out) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(blob_out);
  const int32_t nm = wsrl__mlp_blob_count(p->mlp);
  if (index < nm)
    return wsrl__mlp_blob(p->mlp, index, blob_out);
  static const char *const names[3] = {"log_std", "log_std.adam.m", "log_std.adam.v"};
  float *data[3] = {p->log_std, p->m_log_std, p->v_log_std};
  if (index >= wsrl__policy_blob_count(p))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "policy blob index %d out of range [0, %d)", index,
                       wsrl__policy_blob_count(p));
  blob_out->name = names[index - nm];
  blob_out->data = data[index - nm];
  blob_out->count = p->spec.act_dim;
  blob_out->owner = NULL;
  return WSRL_OK;
}

int64_t *wsrl__policy_adam_t(wsrl__policy *p) { return wsrl__mlp_adam_t(p->mlp); }

int64_t wsrl__policy_param_count(const wsrl__policy *p) {
  return wsrl__mlp_param_count(p->mlp) + (p->spec.std_param == WSRL__STD_UNIFORM ? p->spec.act_dim : 0);
}

/* Flat vector = MLP parameters, then the log-std vector (uniform). */
static wsrl_status_t flat(const wsrl__policy *p, float *buf, int64_t count, int dir, const char *what) {
  if (count != wsrl__policy_param_count(p))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: count is %lld but the policy has %lld parameters", what,
                       (long long)count, (long long)wsrl__policy_param_count(p));
  const int64_t nm = wsrl__mlp_param_count(p->mlp), A = p->spec.act_dim;
  const int uniform = p->spec.std_param == WSRL__STD_UNIFORM;
  switch (dir) {
  case 0:
    WSRL__TRY(wsrl__mlp_get_params(p->mlp, buf, nm));
    if (uniform)
      memcpy(buf + nm, p->log_std, (size_t)A * sizeof(float));
    return WSRL_OK;
  case 1:
    WSRL__TRY(wsrl__mlp_set_params(p->mlp, buf, nm));
    if (uniform)
      memcpy(p->log_std, buf + nm, (size_t)A * sizeof(float));
    return WSRL_OK;
  default:
    WSRL__TRY(wsrl__mlp_get_grads(p->mlp, buf, nm));
    if (uniform)
      memcpy(buf + nm, p->g_log_std, (size_t)A * sizeof(float));
    return WSRL_OK;
  }
}

wsrl_status_t wsrl__policy_get_params(const wsrl__policy *p, float *out, int64_t count) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(out);
  return flat(p, out, count, 0, "policy get params");
}

wsrl_status_t wsrl__policy_set_params(wsrl__policy *p, const float *in, int64_t count) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(in);
  return flat(p, (float *)in, count, 1, "policy set params");
}

wsrl_status_t wsrl__policy_get_grads(const wsrl__policy *p, float *out, int64_t count) {
  WSRL__CHECK_NULL(p);
  WSRL__CHECK_NULL(out);
  return flat(p, out, count, 2, "policy get grads");
}

wsrl__mlp *wsrl__policy_mlp(wsrl__policy *p) { return p->mlp; }
