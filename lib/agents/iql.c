/*
 * IQL (ALGORITHMS.md §4): expectile value V(s) on the target critics' min,
 * TD critics toward r + gamma (1 - d) V(s'), and an AWR actor weighted by
 * min(exp(beta (Q'(s, a) - V(s))), max_weight). Like the SAC family, with
 * U = 1 every loss reads the parameters from before the update; with U > 1
 * (IQL kept online) the value and critic step U times on minibatches, then
 * the actor once on the whole batch.
 */
#include <math.h>
#include <string.h>

#include "agent_internal.h"

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
  wsrl__agent_scratch *s = &ag->s;
  const double gamma = ag->cfg.td_discount, tau_e = ag->cfg.iql_expectile;

  /* y = r + gamma (1 - d) V(s'). */
  WSRL__TRY(wsrl__mlp_forward(ag->value, n, WSRL__MLP_SHARED, next_obs, NULL));
  const float *vn = wsrl__mlp_output(ag->value);
  double ysum = 0.0;
  for (int64_t b = 0; b < n; b++) {
    const double y = (double)reward[b] + gamma * (double)mask[b] * (double)vn[b];
    s->y[b] = (float)y;
    ysum += y;
  }
  st->target_mean = ysum / (double)n;

  /* Expectile loss of min_i Q'_i(s, a) - V(s). */
  WSRL__TRY(target_min(ag, n, obs, act, s->col2));
  wsrl__mlp_zero_grad(ag->value);
  WSRL__TRY(wsrl__mlp_forward(ag->value, n, WSRL__MLP_SHARED, obs, NULL));
  const float *v = wsrl__mlp_output(ag->value);
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
  WSRL__TRY(wsrl__mlp_backward(ag->value, s->col, NULL, 1));

  /* TD loss of every critic toward y. */
  return wsrl__critic_td_grads(ag, n, obs, act, &st->critic_loss, &st->q_mean);
}

/* AWR actor gradients on n rows: loss = -mean(w log pi(a|s)). */
wsrl_status_t wsrl__iql_actor_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *adv_out, double *weight_out) {
  wsrl__agent_scratch *s = &ag->s;
  const double beta = ag->cfg.iql_temperature, wmax = ag->cfg.iql_max_weight;
  WSRL__TRY(target_min(ag, n, obs, act, s->col2));
  WSRL__TRY(wsrl__mlp_forward(ag->value, n, WSRL__MLP_SHARED, obs, NULL));
  const float *v = wsrl__mlp_output(ag->value);
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

static wsrl_status_t iql_update(wsrl_agent_t *ag, void *context, const wsrl__agent_batch *bt) {
  (void)context;
  const int64_t U = ag->utd, B = ag->batch, M = U * B, O = ag->obs_dim, A = ag->act_dim;
  const int32_t reference = ag->cfg.optim_step_untrained == WSRL__STEP_UNTRAINED_REFERENCE;
  const float tau = (float)ag->cfg.td_tau;
  wsrl__iql_stats sum;
  memset(&sum, 0, sizeof sum);
  float cnorm = 0.0f;
  double cnorm_sum = 0.0;
  for (int64_t u = 0; u < U; u++) {
    const int64_t off = u * B;
    wsrl__iql_stats st;
    WSRL__TRY(wsrl__iql_critic_grads(ag, B, bt->obs + off * O, bt->action + off * A, bt->reward + off,
                                     bt->next_obs + off * O, bt->mask + off, &st));
    sum.critic_loss += st.critic_loss;
    sum.q_mean += st.q_mean;
    sum.target_mean += st.target_mean;
    sum.value_loss += st.value_loss;
    sum.v_mean += st.v_mean;
    if (U > 1) {
      WSRL__TRY(wsrl__agent_critic_step_polyak(ag, tau, &cnorm));
      cnorm_sum += cnorm;
      WSRL__TRY(wsrl__agent_value_step(ag));
      ag->counters.critic_steps++;
      if (reference)
        WSRL__TRY(wsrl__agent_step_untrained(ag, WSRL__NET_ACTOR));
    }
  }
  double actor_loss = 0.0, adv = 0.0, weight = 0.0;
  WSRL__TRY(wsrl__iql_actor_grads(ag, M, bt->obs, bt->action, &actor_loss, &adv, &weight));
  if (U == 1) {
    WSRL__TRY(wsrl__agent_critic_step_polyak(ag, tau, &cnorm));
    cnorm_sum += cnorm;
    WSRL__TRY(wsrl__agent_value_step(ag));
    ag->counters.critic_steps++;
  }
  float anorm = 0.0f;
  WSRL__TRY(wsrl__agent_actor_step(ag, &anorm));
  ag->counters.actor_steps++;
  if (U > 1 && reference)
    WSRL__TRY(wsrl__agent_step_untrained(ag, WSRL__NET_CRITIC | WSRL__NET_VALUE));

  const double inv = 1.0 / (double)U;
  wsrl__agent_set_metric(ag, M_CRITIC_LOSS, sum.critic_loss * inv);
  wsrl__agent_set_metric(ag, M_Q_MEAN, sum.q_mean * inv);
  wsrl__agent_set_metric(ag, M_TARGET_Q, sum.target_mean * inv);
  wsrl__agent_set_metric(ag, M_ACTOR_LOSS, actor_loss);
  wsrl__agent_set_metric(ag, M_VALUE_LOSS, sum.value_loss * inv);
  wsrl__agent_set_metric(ag, M_V_MEAN, sum.v_mean * inv);
  wsrl__agent_set_metric(ag, M_ADV_MEAN, adv);
  wsrl__agent_set_metric(ag, M_WEIGHT_MEAN, weight);
  wsrl__agent_set_metric(ag, M_CRITIC_GN, cnorm_sum * inv);
  wsrl__agent_set_metric(ag, M_ACTOR_GN, anorm);
  return WSRL_OK;
}

const wsrl__agent_ops wsrl__iql_ops = {"iql", M_COUNT, iql_metric_names, iql_update};
