/*
 * IQL (ALGORITHMS.md §4): expectile value V(s) on the target critics' min,
 * TD critics toward r + gamma (1 - d) V(s'), and an AWR actor weighted by
 * min(exp(beta (Q'(s, a) - V(s))), max_weight), on update.c's schedule: with
 * U > 1 (IQL kept online) the value and critic step U times on minibatches,
 * then the actor once on the whole batch. The state begins with the SAC
 * family's (sac.h), so finetune.online_algorithm = sac switches to SAC on it;
 * the value network then stays as it is.
 */
#include <math.h>
#include <string.h>

#include "sac.h"

enum {
  M_CRITIC_LOSS = 0,
  M_Q_MEAN,
  M_TARGET_Q,
  M_ACTOR_LOSS,
  M_VALUE_LOSS,
  M_V_MEAN,
  M_ADV_MEAN,
  M_WEIGHT_MEAN,
  M_CRITIC_GN,
  M_ACTOR_GN,
  M_COUNT
};

static const char *const iql_metric_names[M_COUNT] = {
    "critic_loss", "q_mean",   "target_q_mean", "actor_loss",       "value_loss",
    "v_mean",      "adv_mean", "weight_mean",   "critic_grad_norm", "actor_grad_norm"};

typedef struct iql_state {
  wsrl__sac_state base; /* first: the SAC learner runs on it after the switch */
  wsrl__mlp *value;     /* V(s) */
  wsrl__iql_stats sum;  /* of this update's critic steps */
  double actor_loss, adv, weight;
} iql_state;

wsrl__mlp *wsrl__iql_value(const wsrl_agent_t *ag) {
  return ag->offline == &wsrl__iql_ops ? ((const iql_state *)ag->lstate)->value : NULL;
}

/* min over every target critic of Q'(s, a) on n rows into out. */
static wsrl_status_t target_min(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, float *out) {
  WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_TARGET, n, obs, 1, act, ag->s.q_tmp));
  wsrl__qensemble_min(ag->s.q_tmp, ag->ensemble, n, NULL, ag->ensemble, out, NULL);
  return WSRL_OK;
}

/* Value and critic gradients on n rows (zeroed first). */
wsrl_status_t wsrl__iql_critic_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act,
                                     const float *reward, const float *next_obs, const float *mask,
                                     wsrl__iql_stats *st) {
  wsrl__mlp *value = ((iql_state *)ag->lstate)->value;
  wsrl__agent_scratch *s = &ag->s;
  const double gamma = ag->cfg.td_discount, tau_e = ag->cfg.iql_expectile;

  /* y = r + gamma (1 - d) V(s'). */
  WSRL__TRY(wsrl__mlp_forward(value, n, WSRL__MLP_SHARED, next_obs, NULL));
  const float *vn = wsrl__mlp_output(value);
  double ysum = 0.0;
  for (int64_t b = 0; b < n; b++) {
    const double y = (double)reward[b] + gamma * (double)mask[b] * (double)vn[b];
    s->y[b] = (float)y;
    ysum += y;
  }
  st->target_mean = ysum / (double)n;

  /* Expectile loss of min_i Q'_i(s, a) - V(s). */
  WSRL__TRY(target_min(ag, n, obs, act, s->col2));
  wsrl__mlp_zero_grad(value);
  WSRL__TRY(wsrl__mlp_forward(value, n, WSRL__MLP_SHARED, obs, NULL));
  const float *v = wsrl__mlp_output(value);
  double vloss = 0.0, vsum = 0.0;
  for (int64_t b = 0; b < n; b++) {
    const double d = (double)s->col2[b] - (double)v[b];
    const double wgt = d < 0.0 ? 1.0 - tau_e : tau_e;
    vloss += wgt * d * d;
    vsum += v[b];
    s->col[b] = (float)(-2.0 * wgt * d / (double)n);
  }
  st->value_loss = vloss / (double)n;
  st->v_mean = vsum / (double)n;
  WSRL__TRY(wsrl__mlp_backward(value, s->col, NULL, 1));

  /* TD loss of every critic toward y. */
  return wsrl__critic_td_grads(ag, n, obs, act, &st->critic_loss, &st->q_mean);
}

static wsrl_status_t iql_critic_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *mb) {
  iql_state *is = state;
  wsrl__iql_stats st;
  WSRL__TRY(wsrl__iql_critic_grads(ag, mb->size, mb->obs, mb->action, mb->reward, mb->next_obs, mb->mask, &st));
  is->sum.critic_loss += st.critic_loss;
  is->sum.q_mean += st.q_mean;
  is->sum.target_mean += st.target_mean;
  is->sum.value_loss += st.value_loss;
  is->sum.v_mean += st.v_mean;
  return WSRL_OK;
}

/* AWR actor gradients on n rows: loss = -mean(w log pi(a|s)). */
wsrl_status_t wsrl__iql_actor_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *adv_out, double *weight_out) {
  wsrl__mlp *value = ((iql_state *)ag->lstate)->value;
  wsrl__agent_scratch *s = &ag->s;
  const double beta = ag->cfg.iql_temperature, wmax = ag->cfg.iql_max_weight;
  WSRL__TRY(target_min(ag, n, obs, act, s->col2));
  WSRL__TRY(wsrl__mlp_forward(value, n, WSRL__MLP_SHARED, obs, NULL));
  const float *v = wsrl__mlp_output(value);
  double adv_sum = 0.0, w_sum = 0.0;
  for (int64_t b = 0; b < n; b++) {
    const double adv = (double)s->col2[b] - (double)v[b];
    double w = exp(beta * adv);
    if (!(w < wmax)) /* also catches overflow to inf */
      w = wmax;
    s->col[b] = (float)w;
    adv_sum += adv;
    w_sum += w;
  }
  WSRL__TRY(wsrl__policy_forward(ag->pi, n, obs));
  WSRL__TRY(wsrl__policy_log_prob(ag->pi, act, s->logp1));
  double loss = 0.0;
  for (int64_t b = 0; b < n; b++) {
    loss -= (double)s->col[b] * (double)s->logp1[b];
    s->dlogp[b] = (float)(-(double)s->col[b] / (double)n);
  }
  wsrl__policy_zero_grad(ag->pi);
  WSRL__TRY(wsrl__policy_backward_log_prob(ag->pi, s->dlogp));
  *loss_out = loss / (double)n;
  *adv_out = adv_sum / (double)n;
  *weight_out = w_sum / (double)n;
  return WSRL_OK;
}

static wsrl_status_t iql_actor_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *bt) {
  iql_state *st = state;
  return wsrl__iql_actor_grads(ag, bt->size, bt->obs, bt->action, &st->actor_loss, &st->adv, &st->weight);
}

static wsrl_status_t iql_critic_aux_step(wsrl_agent_t *ag, void *state, int32_t trained) {
  return wsrl__agent_mlp_step(ag, ((iql_state *)state)->value, trained);
}

static void iql_finish(wsrl_agent_t *ag, void *state) {
  iql_state *st = state;
  const double inv = 1.0 / (double)ag->utd;
  wsrl__agent_set_metric(ag, M_CRITIC_LOSS, st->sum.critic_loss * inv);
  wsrl__agent_set_metric(ag, M_Q_MEAN, st->sum.q_mean * inv);
  wsrl__agent_set_metric(ag, M_TARGET_Q, st->sum.target_mean * inv);
  wsrl__agent_set_metric(ag, M_ACTOR_LOSS, st->actor_loss);
  wsrl__agent_set_metric(ag, M_VALUE_LOSS, st->sum.value_loss * inv);
  wsrl__agent_set_metric(ag, M_V_MEAN, st->sum.v_mean * inv);
  wsrl__agent_set_metric(ag, M_ADV_MEAN, st->adv);
  wsrl__agent_set_metric(ag, M_WEIGHT_MEAN, st->weight);
  wsrl__agent_set_metric(ag, M_CRITIC_GN, ag->critic_gn);
  wsrl__agent_set_metric(ag, M_ACTOR_GN, ag->actor_gn);
  memset(&st->sum, 0, sizeof st->sum);
}

static void iql_destroy(wsrl_agent_t *ag, void *state) {
  iql_state *st = state;
  if (st == NULL)
    return;
  wsrl__mlp_destroy(st->value);
  wsrl__free(&ag->alloc, st);
}

/* V(s): the critics' architecture with one output, created after the
 * critics and the actor from the same initialisation stream. */
static wsrl_status_t iql_create(wsrl_agent_t *ag, wsrl__rng *init, void **state_out) {
  const wsrl__config_values *v = &ag->cfg;
  iql_state *st = wsrl__calloc(&ag->alloc, 1, sizeof *st);
  if (st == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating the IQL learner's state");
  wsrl__mlp_spec ms;
  memset(&ms, 0, sizeof ms);
  ms.ensemble = 1;
  ms.in_dim = ag->obs_dim;
  ms.out_dim = 1;
  ms.n_hidden = v->critic_hidden.n;
  for (int32_t i = 0; i < v->critic_hidden.n; i++)
    ms.hidden[i] = (int32_t)v->critic_hidden.v[i];
  ms.layer_norm = v->critic_layer_norm;
  ms.kernel_scale_final = (float)v->critic_kernel_scale_final;
  ms.hidden_init = v->critic_kernel_init;
  ms.max_batch = ag->rows_max;
  ms.trainable = 1;
  wsrl__adam_cfg ac;
  wsrl__adam_cfg_from_config(&ac, v, v->optim_critic_lr);
  wsrl_status_t rc = wsrl__mlp_create(&st->value, ag->nn, &ms, &ac, init);
  if (rc == WSRL_OK)
    rc = wsrl__sac_state_init(ag, &st->base, 0);
  if (rc == WSRL_OK)
    rc = wsrl__mlp_prepare(st->value, ag->batch, WSRL__MLP_SHARED);
  if (rc == WSRL_OK)
    rc = wsrl__mlp_prepare(st->value, ag->rows_max, WSRL__MLP_SHARED);
  if (rc != WSRL_OK) {
    iql_destroy(ag, st);
    return rc;
  }
  *state_out = st;
  return WSRL_OK;
}

static size_t iql_memory_usage(const void *state) { return wsrl__mlp_memory_usage(((const iql_state *)state)->value); }

static void iql_reset_optimizer(void *state) {
  iql_state *st = state;
  wsrl__sac_reset_optimizer(&st->base);
  wsrl__mlp_adam_reset(st->value);
}

static int32_t iql_blobs(const wsrl_agent_t *ag, void *state, wsrl__learner_blob *out) {
  (void)ag;
  iql_state *st = state;
  int32_t n = 0;
  for (int32_t i = 0; i < wsrl__mlp_blob_count(st->value) && n < WSRL__LEARNER_MAX_BLOBS; i++) {
    wsrl__nn_blob b;
    if (wsrl__mlp_blob(st->value, i, &b) != WSRL_OK)
      continue;
    snprintf(out[n].name, sizeof out[n].name, "value.%s", b.name);
    out[n].data = b.data;
    out[n].count = b.count;
    out[n].owner = b.owner;
    n++;
  }
  return n;
}

/* V(s), and the temperature only when the agent switches to SAC online. */
static void iql_net(const wsrl_agent_t *ag, void *state, int32_t net, wsrl__learner_net *out) {
  iql_state *st = state;
  if (net == WSRL_NET_VALUE)
    out->mlp = st->value;
  else if (net == WSRL_NET_TEMPERATURE && ag->online != ag->offline)
    out->scalar = &st->base.temperature;
  else if (net == WSRL_NET_TEMPERATURE)
    out->why = WSRL__WHY_NO_TEMPERATURE;
  else if (net == WSRL_NET_LAGRANGE)
    out->why = WSRL__WHY_NO_LAGRANGE;
}

static int64_t *iql_aux_adam_t(void *state) { return wsrl__mlp_adam_t(((iql_state *)state)->value); }

const wsrl__learner_ops wsrl__iql_ops = {
    .version = WSRL__LEARNER_VERSION,
    .name = "iql",
    .flags = WSRL__LEARNER_SAC_BASE,
    .metric_count = M_COUNT,
    .metric_names = iql_metric_names,
    .plan = wsrl__learner_plan_basic,
    .create = iql_create,
    .destroy = iql_destroy,
    .memory_usage = iql_memory_usage,
    .critic_grads = iql_critic_grads,
    .actor_grads = iql_actor_grads,
    .critic_aux_step = iql_critic_aux_step,
    .finish = iql_finish,
    .reset_optimizer = iql_reset_optimizer,
    .net = iql_net,
    .blobs = iql_blobs,
    .scalars = wsrl__sac_scalars,
    .aux_adam_t = iql_aux_adam_t,
};
