/*
 * SAC with a Q-ensemble (ALGORITHMS.md §2) and the update schedule shared
 * by the SAC family (SAC, CQL, Cal-QL): U critic steps on U minibatches,
 * each followed by a Polyak update, then one actor + temperature (+ CQL
 * Lagrange) step on the whole batch. With U = 1 every loss is computed from
 * the parameters before the update and then every optimizer steps, as the
 * reference's single functional update does.
 */
#include <math.h>
#include <string.h>

#include "agent_internal.h"

const char *const wsrl__sacfam_metric_names[WSRL__M_SACFAM_COUNT] = {
    "critic_loss",     "q_mean",  "target_q_mean", "actor_loss", "entropy",   "temperature", "critic_grad_norm",
    "actor_grad_norm", "td_loss", "cql_diff",      "cql_ood",    "cql_alpha", "lagrange",    "calql_bound_rate"};

/* The SAC learner reports the first 8 names, CQL the first 13, Cal-QL all
 * 14 (indices WSRL__M_* in agent_internal.h). */

int32_t wsrl__agent_draw_members(wsrl_agent_t *ag, int32_t *members) {
  /* subsample == ensemble_size means no subsampling (the reference's
   * critic_subsample_size = None): the min over every member. */
  if (ag->subsample >= ag->ensemble)
    return 0;
  wsrl__qensemble_draw_subset(&ag->rng[WSRL__AGENT_RNG_UPDATE], ag->ensemble, ag->subsample, members);
  return ag->subsample;
}

wsrl_status_t wsrl__sac_td_target(wsrl_agent_t *ag, const wsrl__cql_ctx *ctx, int64_t n, const float *reward,
                                  const float *next_obs, const float *mask, double *target_mean) {
  const int64_t A = ag->act_dim;
  const int32_t nr = ctx->max_target_backup ? ag->n_backup : 1;
  const int64_t rows = n * nr;
  wsrl__agent_scratch *s = &ag->s;
  wsrl__rng *rng = &ag->rng[WSRL__AGENT_RNG_UPDATE];

  /* a' ~ pi(.|s'), nr per next state (row b * nr + j). */
  WSRL__TRY(wsrl__policy_forward(ag->pi, n, next_obs));
  wsrl__rng_fill_normal(rng, s->eps, (size_t)(rows * A));
  WSRL__TRY(wsrl__policy_sample(ag->pi, nr, s->eps, s->act_n, s->logp_n));

  /* The subset is drawn before any target is evaluated, so evaluating all
   * E targets or only the drawn ones gives the same numbers. */
  int32_t members[64];
  const int32_t k = wsrl__agent_draw_members(ag, members);
  if (k == 0 || ag->cfg.critic_evaluate_all_targets) {
    WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_TARGET, rows, next_obs, nr, s->act_n, s->q_tmp));
    wsrl__qensemble_min(s->q_tmp, ag->ensemble, rows, k > 0 ? members : NULL, k, s->vmin, NULL);
  } else {
    WSRL__TRY(wsrl__qensemble_forward_target_subset(ag->q, rows, next_obs, nr, s->act_n, members, k, s->q_tmp));
    wsrl__qensemble_min(s->q_tmp, k, rows, NULL, k, s->vmin, NULL);
  }

  const double gamma = ag->cfg.td_discount;
  const double alpha = wsrl__scalar_value(&ag->temperature);
  double sum = 0.0;
  for (int64_t b = 0; b < n; b++) {
    double best = 0.0;
    for (int32_t j = 0; j < nr; j++) {
      double v = s->vmin[b * nr + j];
      if (ctx->backup_entropy)
        v -= alpha * (double)s->logp_n[b * nr + j];
      if (j == 0 || v > best)
        best = v;
    }
    const double y = (double)reward[b] + gamma * (double)mask[b] * best;
    s->y[b] = (float)y;
    sum += y;
  }
  *target_mean = sum / (double)n;
  return WSRL_OK;
}

wsrl_status_t wsrl__critic_td_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *q_mean_out) {
  wsrl__agent_scratch *s = &ag->s;
  const int64_t E = ag->ensemble;
  wsrl__qensemble_zero_grad(ag->q);
  WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_ONLINE, n, obs, 1, act, s->q_tmp));
  const double scale = 1.0 / (double)(E * n);
  double loss = 0.0, qsum = 0.0;
  for (int64_t i = 0; i < E; i++)
    for (int64_t b = 0; b < n; b++) {
      const double d = (double)s->q_tmp[i * n + b] - (double)s->y[b];
      loss += d * d;
      qsum += s->q_tmp[i * n + b];
      s->dq[i * n + b] = (float)(2.0 * d * scale);
    }
  *loss_out = loss * scale;
  *q_mean_out = qsum * scale;
  return wsrl__qensemble_backward(ag->q, s->dq, NULL, 1);
}

wsrl_status_t wsrl__sac_critic_grads(wsrl_agent_t *ag, const wsrl__cql_ctx *ctx, int64_t n, const float *obs,
                                     const float *act, const float *reward, const float *next_obs, const float *mask,
                                     wsrl__critic_stats *st) {
  WSRL__TRY(wsrl__sac_td_target(ag, ctx, n, reward, next_obs, mask, &st->target_mean));
  WSRL__TRY(wsrl__critic_td_grads(ag, n, obs, act, &st->critic_loss, &st->q_mean));
  st->td_loss = st->critic_loss;
  return WSRL_OK;
}

wsrl_status_t wsrl__sac_actor_grads(wsrl_agent_t *ag, int64_t n, const float *obs, double *loss_out,
                                    double *entropy_out) {
  wsrl__agent_scratch *s = &ag->s;
  const int64_t A = ag->act_dim, E = ag->ensemble;
  /* a~ ~ pi(.|s) reparameterised; Q at (s, a~) of every online critic. */
  WSRL__TRY(wsrl__policy_forward(ag->pi, n, obs));
  wsrl__rng_fill_normal(&ag->rng[WSRL__AGENT_RNG_UPDATE], s->eps, (size_t)(n * A));
  WSRL__TRY(wsrl__policy_sample(ag->pi, 1, s->eps, s->act1, s->logp1));
  WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_ONLINE, n, obs, 1, s->act1, s->q_tmp));
  wsrl__qensemble_min(s->q_tmp, (int32_t)E, n, NULL, (int32_t)E, s->vmin, s->argmin);

  /* loss = mean(alpha log pi - min_i Q_i): d/dQ flows to the argmin member only. */
  const double alpha = wsrl__scalar_value(&ag->temperature);
  double loss = 0.0, lp = 0.0;
  memset(s->dq, 0, (size_t)(E * n) * sizeof(float));
  for (int64_t b = 0; b < n; b++) {
    loss += alpha * (double)s->logp1[b] - (double)s->vmin[b];
    lp += s->logp1[b];
    s->dq[(int64_t)s->argmin[b] * n + b] = (float)(-1.0 / (double)n);
    s->dlogp[b] = (float)(alpha / (double)n);
  }
  WSRL__TRY(wsrl__qensemble_backward(ag->q, s->dq, s->dact, 0));
  wsrl__policy_zero_grad(ag->pi);
  /* The policy's sample cache is the one above: the critic forward in
   * between does not touch it. */
  WSRL__TRY(wsrl__policy_backward_sample(ag->pi, s->dact, s->dlogp));
  *loss_out = loss / (double)n;
  *entropy_out = -lp / (double)n;
  return WSRL_OK;
}

wsrl_status_t wsrl__sac_temperature_grad(wsrl_agent_t *ag, int64_t n, const float *next_obs, int32_t n_rep,
                                         double *grad_out, double *entropy_out) {
  wsrl__agent_scratch *s = &ag->s;
  const int64_t A = ag->act_dim, rows = n * n_rep;
  WSRL__TRY(wsrl__policy_forward(ag->pi, n, next_obs));
  wsrl__rng_fill_normal(&ag->rng[WSRL__AGENT_RNG_UPDATE], s->eps, (size_t)(rows * A));
  WSRL__TRY(wsrl__policy_sample(ag->pi, n_rep, s->eps, s->act_n, s->logp_n));
  double lp = 0.0;
  for (int64_t r = 0; r < rows; r++)
    lp += s->logp_n[r];
  const double entropy = -lp / (double)rows;
  /* loss_alpha = alpha * (H - H_target): d loss / d alpha = H - H_target. */
  *grad_out = entropy - (double)ag->target_entropy;
  *entropy_out = entropy;
  return WSRL_OK;
}

wsrl_status_t wsrl__sacfam_update(wsrl_agent_t *ag, void *context, const wsrl__agent_batch *bt) {
  const wsrl__cql_ctx *ctx = context;
  const int64_t U = ag->utd, B = ag->batch, M = U * B, O = ag->obs_dim, A = ag->act_dim;
  const int32_t reference = ag->cfg.optim_step_untrained == WSRL__STEP_UNTRAINED_REFERENCE;
  const int32_t lagrange = ctx->cql_loss && ag->has_lagrange;
  const float tau = (float)ag->cfg.td_tau;
  const double temperature = wsrl__scalar_value(&ag->temperature);
  wsrl__critic_stats sum;
  memset(&sum, 0, sizeof sum);
  double cql_alpha = 0.0;
  float cnorm = 0.0f;
  double cnorm_sum = 0.0;

  for (int64_t u = 0; u < U; u++) {
    const int64_t off = u * B;
    wsrl__critic_stats st;
    memset(&st, 0, sizeof st);
    if (ctx->cql_loss)
      WSRL__TRY(wsrl__cql_critic_grads(ag, ctx, B, bt->obs + off * O, bt->action + off * A, bt->reward + off,
                                       bt->next_obs + off * O, bt->mask + off,
                                       bt->mc_return != NULL ? bt->mc_return + off : NULL, &st, &cql_alpha));
    else
      WSRL__TRY(wsrl__sac_critic_grads(ag, ctx, B, bt->obs + off * O, bt->action + off * A, bt->reward + off,
                                       bt->next_obs + off * O, bt->mask + off, &st));
    sum.critic_loss += st.critic_loss;
    sum.q_mean += st.q_mean;
    sum.target_mean += st.target_mean;
    sum.td_loss += st.td_loss;
    sum.cql_diff += st.cql_diff;
    sum.cql_ood += st.cql_ood;
    sum.bound_rate += st.bound_rate;
    if (U > 1) {
      /* High UTD: this critic step now, the actor and the others once below. */
      WSRL__TRY(wsrl__agent_critic_step_polyak(ag, tau, &cnorm));
      cnorm_sum += cnorm;
      ag->counters.critic_steps++;
      if (reference)
        WSRL__TRY(
            wsrl__agent_step_untrained(ag, WSRL__NET_ACTOR | WSRL__NET_TEMP | (lagrange ? WSRL__NET_LAGRANGE : 0)));
    }
  }

  /* Actor and temperature on the whole batch (critic as it is now: before
   * its step when U = 1, after the U steps otherwise). */
  double actor_loss = 0.0, entropy = 0.0, temp_grad = 0.0, temp_entropy = 0.0;
  WSRL__TRY(wsrl__sac_actor_grads(ag, M, bt->obs, &actor_loss, &entropy));
  const int32_t n_rep = ctx->max_target_backup ? ag->n_backup : 1;
  WSRL__TRY(wsrl__sac_temperature_grad(ag, M, bt->next_obs, n_rep, &temp_grad, &temp_entropy));

  if (U == 1) {
    WSRL__TRY(wsrl__agent_critic_step_polyak(ag, tau, &cnorm));
    cnorm_sum += cnorm;
    ag->counters.critic_steps++;
  }
  float anorm = 0.0f;
  WSRL__TRY(wsrl__agent_actor_step(ag, &anorm));
  ag->counters.actor_steps++;
  wsrl__agent_scalar_step(ag, &ag->temperature, temp_grad);
  if (lagrange) {
    /* Lagrange loss = -lambda (mean cql_diff - gap), minimised over lambda;
     * the gap is the mean over this update's critic steps (docs/algorithms.md). */
    const double diff = sum.cql_diff / (double)U;
    wsrl__agent_scalar_step(ag, &ag->lagrange, -(diff - ag->cfg.cql_target_action_gap));
  }
  if (U > 1 && reference)
    WSRL__TRY(wsrl__agent_step_untrained(ag, WSRL__NET_CRITIC));

  const double inv = 1.0 / (double)U;
  wsrl__agent_set_metric(ag, WSRL__M_CRITIC_LOSS, sum.critic_loss * inv);
  wsrl__agent_set_metric(ag, WSRL__M_Q_MEAN, sum.q_mean * inv);
  wsrl__agent_set_metric(ag, WSRL__M_TARGET_Q, sum.target_mean * inv);
  wsrl__agent_set_metric(ag, WSRL__M_ACTOR_LOSS, actor_loss);
  wsrl__agent_set_metric(ag, WSRL__M_ENTROPY, entropy);
  wsrl__agent_set_metric(ag, WSRL__M_TEMPERATURE, temperature);
  wsrl__agent_set_metric(ag, WSRL__M_CRITIC_GN, cnorm_sum * inv);
  wsrl__agent_set_metric(ag, WSRL__M_ACTOR_GN, anorm);
  if (ctx->cql_loss) {
    wsrl__agent_set_metric(ag, WSRL__M_TD_LOSS, sum.td_loss * inv);
    wsrl__agent_set_metric(ag, WSRL__M_CQL_DIFF, sum.cql_diff * inv);
    wsrl__agent_set_metric(ag, WSRL__M_CQL_OOD, sum.cql_ood * inv);
    wsrl__agent_set_metric(ag, WSRL__M_CQL_ALPHA, cql_alpha);
    wsrl__agent_set_metric(ag, WSRL__M_CALQL_BOUND, sum.bound_rate * inv);
    wsrl__agent_set_metric(ag, WSRL__M_LAGRANGE, ag->has_lagrange ? wsrl__scalar_value(&ag->lagrange) : NAN);
  }
  return WSRL_OK;
}

const wsrl__agent_ops wsrl__sac_ops = {"sac", WSRL__M_TD_LOSS, wsrl__sacfam_metric_names, wsrl__sacfam_update};
