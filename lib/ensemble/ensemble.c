/* Q-ensemble: online critics, Polyak targets and an optional small
 * network holding copies of the drawn target members. */
#include <string.h>

#include "ensemble_internal.h"

void wsrl__qensemble_spec_from_config(wsrl__qensemble_spec *spec, const wsrl__config_values *v, int32_t obs_dim,
                                      int32_t act_dim, int64_t max_batch) {
  memset(spec, 0, sizeof *spec);
  spec->obs_dim = obs_dim;
  spec->act_dim = act_dim;
  spec->ensemble = (int32_t)v->critic_ensemble_size;
  spec->n_hidden = v->critic_hidden.n;
  for (int32_t i = 0; i < v->critic_hidden.n && i < WSRL__NN_MAX_HIDDEN; i++)
    spec->hidden[i] = (int32_t)v->critic_hidden.v[i];
  spec->layer_norm = v->critic_layer_norm;
  spec->kernel_scale_final = (float)v->critic_kernel_scale_final;
  spec->kernel_init = v->critic_kernel_init;
  spec->max_batch = max_batch;
  spec->subset_size = v->critic_evaluate_all_targets ? 0 : (int32_t)v->critic_subsample;
  wsrl__adam_cfg_from_config(&spec->adam, v, v->optim_critic_lr);
}

static void mlp_spec(const wsrl__qensemble_spec *q, int32_t ensemble, int32_t trainable, wsrl__mlp_spec *m) {
  memset(m, 0, sizeof *m);
  m->ensemble = ensemble;
  m->in_dim = q->obs_dim + q->act_dim;
  m->out_dim = 1;
  m->n_hidden = q->n_hidden;
  memcpy(m->hidden, q->hidden, sizeof m->hidden);
  m->layer_norm = q->layer_norm;
  m->kernel_scale_final = q->kernel_scale_final;
  m->hidden_init = q->kernel_init;
  m->max_batch = q->max_batch;
  m->trainable = trainable;
}

wsrl_status_t wsrl__qensemble_create(wsrl_qensemble_t **q_out, wsrl__nn_ctx *ctx, const wsrl__qensemble_spec *spec,
                                     wsrl__rng *rng) {
  WSRL__CHECK_NULL(q_out);
  *q_out = NULL;
  WSRL__CHECK_NULL(ctx);
  WSRL__CHECK_NULL(spec);
  WSRL__CHECK_NULL(rng);
  if (spec->obs_dim < 1 || spec->act_dim < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble: obs_dim and act_dim must be > 0 (got %d, %d)",
                       spec->obs_dim, spec->act_dim);
  if (spec->subset_size < 0 || spec->subset_size > WSRL__Q_MAX_SUBSET)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble: subset size must be in [0, %d] (got %d)",
                       WSRL__Q_MAX_SUBSET, spec->subset_size);
  const wsrl__alloc *alloc = wsrl__nn_ctx_alloc(ctx);
  wsrl_qensemble_t *q = wsrl__calloc(alloc, 1, sizeof *q);
  if (q != NULL)
    q->busy = &q->own_busy;
  if (q == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating a Q-ensemble");
  q->spec = *spec;
  q->ctx = ctx;
  wsrl__mlp_spec ms;
  mlp_spec(spec, spec->ensemble, 1, &ms);
  wsrl_status_t rc = wsrl__mlp_create(&q->online, ctx, &ms, &spec->adam, rng);
  if (rc == WSRL_OK) {
    ms.trainable = 0;
    rc = wsrl__mlp_create(&q->target, ctx, &ms, NULL, rng);
  }
  if (rc == WSRL_OK && spec->subset_size > 0) {
    mlp_spec(spec, spec->subset_size, 0, &ms);
    rc = wsrl__mlp_create(&q->subset, ctx, &ms, NULL, rng);
  }
  if (rc == WSRL_OK) {
    q->dx = wsrl__malloc(alloc, (size_t)spec->max_batch * (size_t)(spec->obs_dim + spec->act_dim) * sizeof(float));
    if (q->dx == NULL)
      rc = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating the Q-ensemble input-gradient buffer");
  }
  if (rc == WSRL_OK)
    rc = wsrl__mlp_copy_params(q->target, q->online);
  if (rc != WSRL_OK) {
    wsrl__qensemble_free(q);
    return rc;
  }
  *q_out = q;
  return WSRL_OK;
}

void wsrl__qensemble_free(wsrl_qensemble_t *q) {
  if (q == NULL)
    return;
  const wsrl__alloc *alloc = wsrl__nn_ctx_alloc(q->ctx);
  wsrl__mlp_destroy(q->online);
  wsrl__mlp_destroy(q->target);
  wsrl__mlp_destroy(q->subset);
  wsrl__free(alloc, q->dx);
  wsrl__free(alloc, q);
}

const wsrl__qensemble_spec *wsrl__qensemble_get_spec(const wsrl_qensemble_t *q) { return &q->spec; }

size_t wsrl__qensemble_memory_usage(const wsrl_qensemble_t *q) {
  size_t n = sizeof *q + wsrl__mlp_memory_usage(q->online) + wsrl__mlp_memory_usage(q->target);
  if (q->subset != NULL)
    n += wsrl__mlp_memory_usage(q->subset);
  return n + (size_t)q->spec.max_batch * (size_t)(q->spec.obs_dim + q->spec.act_dim) * sizeof(float);
}

wsrl_status_t wsrl__qensemble_prepare(wsrl_qensemble_t *q, int64_t batch) {
  WSRL__CHECK_NULL(q);
  WSRL__TRY(wsrl__mlp_prepare(q->online, batch, WSRL__MLP_SHARED));
  WSRL__TRY(wsrl__mlp_prepare(q->target, batch, WSRL__MLP_SHARED));
  if (q->subset != NULL)
    WSRL__TRY(wsrl__mlp_prepare(q->subset, batch, WSRL__MLP_SHARED));
  return WSRL_OK;
}

static wsrl__mlp *pick(wsrl_qensemble_t *q, int32_t which) {
  return which == WSRL__Q_TARGET ? q->target : which == WSRL__Q_ONLINE ? q->online : NULL;
}

/* Input rows [r0, r1): concat(obs[r / obs_repeat], act[r]). */
static void load_rows(const void *job, int64_t r0, int64_t r1) {
  const wsrl__q_load *j = job;
  const int64_t O = j->q->spec.obs_dim, A = j->q->spec.act_dim;
  for (int64_t r = r0; r < r1 && r < j->rows; r++) {
    memcpy(j->in + r * j->ld, j->obs + (r / j->obs_repeat) * O, (size_t)O * sizeof(float));
    memcpy(j->in + r * j->ld + O, j->act + r * A, (size_t)A * sizeof(float));
  }
}

static void copy_out(const void *job, wsrl_status_t status) {
  const wsrl__q_load *j = job;
  if (status == WSRL_OK && j->q_out != NULL)
    memcpy(j->q_out, j->out, (size_t)j->n_out * sizeof(float));
}

/* Check a forward's input and fill net m's load record and *f. */
static wsrl_status_t plan(wsrl_qensemble_t *q, wsrl__mlp *m, wsrl__q_load *ld, int64_t batch, const float *obs,
                          int64_t obs_repeat, const float *act, float *q_out, int64_t n_out, wsrl__mlp_fwd *f) {
  WSRL__CHECK_NULL(f);
  if (obs == NULL || act == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble forward: obs and act must not be NULL");
  if (obs_repeat < 1 || batch % obs_repeat != 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble forward: obs_repeat %lld must divide batch %lld",
                       (long long)obs_repeat, (long long)batch);
  int64_t ldi;
  float *in = wsrl__mlp_input(m, batch, WSRL__MLP_SHARED, &ldi);
  if (in == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble forward: batch %lld outside [1, max_batch = %lld]",
                       (long long)batch, (long long)q->spec.max_batch);
  *ld = (wsrl__q_load){q, in, ldi, obs_repeat, batch, obs, act, wsrl__mlp_output(m), q_out, n_out};
  *f = (wsrl__mlp_fwd){.m = m, .batch = batch, .load = load_rows, .load_job = ld, .done = copy_out, .done_job = ld};
  return WSRL_OK;
}

wsrl_status_t wsrl__qensemble_forward_plan(wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs,
                                           int64_t obs_repeat, const float *act, float *q_out, wsrl__mlp_fwd *f) {
  WSRL__CHECK_NULL(q);
  wsrl__mlp *m = pick(q, which);
  if (m == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble: `which` must be online (0) or target (1), got %d",
                       which);
  return plan(q, m, &q->load[which == WSRL__Q_TARGET], batch, obs, obs_repeat, act, q_out,
              (int64_t)q->spec.ensemble * batch, f);
}

wsrl_status_t wsrl__qensemble_target_subset_plan(wsrl_qensemble_t *q, int64_t batch, const float *obs,
                                                 int64_t obs_repeat, const float *act, const int32_t *members,
                                                 int32_t k, float *q_out, wsrl__mlp_fwd *f) {
  WSRL__CHECK_NULL(q);
  WSRL__CHECK_NULL(members);
  WSRL__CHECK_NULL(q_out);
  if (q->subset == NULL || k < 1 || k > q->spec.subset_size)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble: subset forward of %d members needs subset_size >= %d "
                       "(created with %d)", k, k, q->spec.subset_size);
  /* The subset network has subset_size members; only the first k are ours. */
  WSRL__TRY(plan(q, q->subset, &q->load[2], batch, obs, obs_repeat, act, q_out, (int64_t)k * batch, f));
  /* The drawn targets' weights copied in by the forward's own team. */
  f->copy_src = q->target, f->members = members, f->k = k;
  return WSRL_OK;
}

wsrl_status_t wsrl__qensemble_forward(wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs,
                                      int64_t obs_repeat, const float *act, float *q_out) {
  wsrl__mlp_fwd f;
  WSRL__TRY(wsrl__qensemble_forward_plan(q, which, batch, obs, obs_repeat, act, q_out, &f));
  return wsrl__mlp_forward_group(&f, 1);
}

wsrl_status_t wsrl__qensemble_forward_rows(wsrl_qensemble_t *q, int32_t which, int64_t batch, int64_t rows,
                                           const float *obs, const float *act) {
  WSRL__CHECK_NULL(q);
  if (rows < 1 || rows > batch)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "qensemble: bad rows (%lld of %lld)", (long long)rows,
                       (long long)batch);
  wsrl__mlp_fwd f;
  WSRL__TRY(wsrl__qensemble_forward_plan(q, which, rows, obs, 1, act, NULL, &f));
  f.batch = batch; /* the first `rows` loaded, the rest stale */
  return wsrl__mlp_forward_group(&f, 1);
}

const float *wsrl__qensemble_output(const wsrl_qensemble_t *q, int32_t which) {
  return wsrl__mlp_output(which == WSRL__Q_TARGET ? q->target : q->online);
}

wsrl_status_t wsrl__qensemble_forward_target_subset(wsrl_qensemble_t *q, int64_t batch, const float *obs,
                                                    int64_t obs_repeat, const float *act, const int32_t *members,
                                                    int32_t k, float *q_out) {
  wsrl__mlp_fwd f;
  WSRL__TRY(wsrl__qensemble_target_subset_plan(q, batch, obs, obs_repeat, act, members, k, q_out, &f));
  return wsrl__mlp_forward_group(&f, 1);
}

wsrl_status_t wsrl__qensemble_backward(wsrl_qensemble_t *q, const float *dq, float *dact_out, int32_t param_grads) {
  WSRL__CHECK_NULL(q);
  WSRL__CHECK_NULL(dq);
  WSRL__TRY(wsrl__mlp_backward(q->online, dq, dact_out != NULL ? q->dx : NULL, param_grads));
  if (dact_out != NULL) {
    /* Keep the action columns of dLoss/d concat(s, a). */
    const int64_t O = q->spec.obs_dim, A = q->spec.act_dim, IN = O + A;
    const int64_t batch = wsrl__mlp_last_batch(q->online);
    for (int64_t r = 0; r < batch; r++)
      memcpy(dact_out + r * A, q->dx + r * IN + O, (size_t)A * sizeof(float));
  }
  return WSRL_OK;
}

void wsrl__qensemble_draw_subset(wsrl__rng *rng, int32_t ensemble, int32_t k, int32_t *members_out) {
  for (int32_t j = 0; j < k; j++)
    members_out[j] = (int32_t)wsrl__rng_below(rng, (uint64_t)ensemble);
}

void wsrl__qensemble_min_strided(const float *q, int32_t ensemble, int64_t ld, int64_t rows, const int32_t *members,
                                 int32_t k, float *min_out, int32_t *argmin_out) {
  const int32_t n = members != NULL ? k : ensemble;
  for (int64_t r = 0; r < rows; r++) {
    int32_t best = members != NULL ? members[0] : 0;
    float v = q[(int64_t)best * ld + r];
    for (int32_t j = 1; j < n; j++) {
      const int32_t e = members != NULL ? members[j] : j;
      const float x = q[(int64_t)e * ld + r];
      if (x < v) {
        v = x;
        best = e;
      }
    }
    min_out[r] = v;
    if (argmin_out != NULL)
      argmin_out[r] = best;
  }
}

void wsrl__qensemble_min(const float *q, int32_t ensemble, int64_t batch, const int32_t *members, int32_t k,
                         float *min_out, int32_t *argmin_out) {
  wsrl__qensemble_min_strided(q, ensemble, batch, batch, members, k, min_out, argmin_out);
}

void wsrl__qensemble_zero_grad(wsrl_qensemble_t *q) { wsrl__mlp_zero_grad(q->online); }

wsrl_status_t wsrl__qensemble_adam_step(wsrl_qensemble_t *q, float *grad_norm_out) {
  WSRL__CHECK_NULL(q);
  return wsrl__mlp_adam_step(q->online, grad_norm_out);
}

void wsrl__qensemble_adam_reset(wsrl_qensemble_t *q) { wsrl__mlp_adam_reset(q->online); }

void wsrl__qensemble_polyak(wsrl_qensemble_t *q, float tau) {
  /* Same architecture by construction and tau checked by callers: cannot fail. */
  (void)wsrl__mlp_polyak(q->target, q->online, tau);
}

void wsrl__qensemble_sync_targets(wsrl_qensemble_t *q) { (void)wsrl__mlp_copy_params(q->target, q->online); }

wsrl__mlp *wsrl__qensemble_mlp(wsrl_qensemble_t *q, int32_t which) { return pick(q, which); }
