/*
 * SAC with a Q-ensemble (ALGORITHMS.md §2): the SAC learner (the online
 * learner of WSRL) and the parts the CQL/Cal-QL and IQL learners share with
 * it (sac.h). The update schedule is update.c's (learner.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sac.h"

const char *const wsrl__sacfam_metric_names[WSRL__M_SACFAM_COUNT] = {
    "critic_loss",     "q_mean",  "target_q_mean", "actor_loss", "entropy",   "temperature", "critic_grad_norm",
    "actor_grad_norm", "td_loss", "cql_diff",      "cql_ood",    "cql_alpha", "lagrange",    "calql_bound_rate"};

/* The SAC learner reports the first 8 names, CQL the first 13, Cal-QL all
 * 14 (indices WSRL__M_* in sac.h). */

wsrl_status_t wsrl__sac_state_init(const wsrl_agent_t *ag, wsrl__sac_state *st, int32_t has_lagrange) {
  const wsrl__config_values *v = &ag->cfg;
  st->target_entropy =
      isnan(v->temperature_target_entropy) ? (float)-ag->act_dim : (float)v->temperature_target_entropy;
  wsrl__adam_cfg ac;
  wsrl__adam_cfg_from_config(&ac, v, v->optim_temperature_lr);
  WSRL__TRY(wsrl__scalar_init(&st->temperature, WSRL__SCALAR_SOFTPLUS, v->temperature_initial, &ac));
  st->has_lagrange = has_lagrange;
  wsrl__adam_cfg_from_config(&ac, v, v->cql_lagrange_lr);
  return wsrl__scalar_init(&st->lagrange, WSRL__SCALAR_SOFTPLUS, v->cql_lagrange_init, &ac);
}

void wsrl__sac_add_stats(wsrl__critic_stats *sum, const wsrl__critic_stats *st) {
  sum->critic_loss += st->critic_loss;
  sum->q_mean += st->q_mean;
  sum->target_mean += st->target_mean;
  sum->td_loss += st->td_loss;
  sum->cql_diff += st->cql_diff;
  sum->cql_ood += st->cql_ood;
  sum->bound_rate += st->bound_rate;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

void wsrl__sac_plan(const wsrl__config_values *v, int32_t n_rep, int64_t rq, wsrl__learner_plan *plan) {
  const int64_t B = v->update_batch_size, M = v->update_utd * B, N = v->cql_n_actions;
  const int64_t shapes[] = {B, M, B * n_rep, rq};
  memset(plan, 0, sizeof *plan);
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    wsrl__learner_plan_shape(plan, shapes[i]);
  plan->q_rows = max64(max64(rq, M), B * n_rep);
  plan->rows = max64(plan->q_rows, M * n_rep);
  plan->work = rq + 2 * (3 * N + 1) + 8;
  plan->samples = n_rep;
}

wsrl_status_t wsrl__sac_td_target(wsrl_agent_t *ag, const wsrl__sac_state *st, int32_t n_rep, int32_t backup_entropy,
                                  int64_t n, const float *reward, const float *next_obs, const float *mask,
                                  const wsrl__mlp_fwd *with, double *target_mean) {
  const int32_t nr = n_rep;
  const int64_t rows = n * nr;
  wsrl__agent_scratch *s = &ag->s;
  wsrl__rng *rng = &ag->rng[WSRL__AGENT_RNG_UPDATE];

  /* a' ~ pi(.|s'), nr per next state (row b * nr + j), then the targets at
   * (s', a'): one region, a barrier between (forward group). */
  wsrl__mlp_fwd f[3];
  int32_t nf = 0;
  WSRL__TRY(wsrl__policy_forward_sample_plan(ag->pi, n, next_obs, nr, rng, s->act_n, s->logp_n, &f[nf++]));
  if (with != NULL)
    f[nf++] = *with;

  /* The subset is drawn before any target is evaluated, so evaluating all
   * E targets or only the drawn ones gives the same numbers. */
  int32_t members[64];
  const int32_t k = wsrl__agent_draw_members(ag, members);
  const int all = k == 0 || ag->cfg.critic_evaluate_all_targets;
  if (all)
    WSRL__TRY(wsrl__qensemble_forward_plan(ag->q, WSRL__Q_TARGET, rows, next_obs, nr, s->act_n, s->q_tmp, &f[nf]));
  else
    WSRL__TRY(wsrl__qensemble_target_subset_plan(ag->q, rows, next_obs, nr, s->act_n, members, k, s->q_tmp, &f[nf]));
  f[nf++].after = 1;
  WSRL__TRY(wsrl__mlp_forward_group(f, nf));
  if (all)
    wsrl__qensemble_min(s->q_tmp, ag->ensemble, rows, k > 0 ? members : NULL, k, s->vmin, NULL);
  else
    wsrl__qensemble_min(s->q_tmp, k, rows, NULL, k, s->vmin, NULL);

  const double gamma = ag->cfg.td_discount;
  const double alpha = wsrl__scalar_value(&st->temperature);
  double sum = 0.0;
  for (int64_t b = 0; b < n; b++) {
    double best = 0.0;
    for (int32_t j = 0; j < nr; j++) {
      double v = s->vmin[b * nr + j];
      if (backup_entropy)
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

wsrl_status_t wsrl__sac_actor_grads(wsrl_agent_t *ag, const wsrl__sac_state *st, int64_t n, const float *obs,
                                    double *loss_out, double *entropy_out) {
  wsrl__agent_scratch *s = &ag->s;
  const int64_t E = ag->ensemble;
  /* a~ ~ pi(.|s) reparameterised, then Q at (s, a~) of every online
   * critic: one region, a barrier between. */
  wsrl__mlp_fwd f[2];
  WSRL__TRY(wsrl__policy_forward_sample_plan(ag->pi, n, obs, 1, &ag->rng[WSRL__AGENT_RNG_UPDATE], s->act1, s->logp1,
                                             &f[0]));
  WSRL__TRY(wsrl__qensemble_forward_plan(ag->q, WSRL__Q_ONLINE, n, obs, 1, s->act1, s->q_tmp, &f[1]));
  f[1].after = 1;
  WSRL__TRY(wsrl__mlp_forward_group(f, 2));
  wsrl__qensemble_min(s->q_tmp, (int32_t)E, n, NULL, (int32_t)E, s->vmin, s->argmin);

  /* loss = mean(alpha log pi - min_i Q_i): d/dQ flows to the argmin member only. */
  const double alpha = wsrl__scalar_value(&st->temperature);
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

wsrl_status_t wsrl__sac_temperature_grad(wsrl_agent_t *ag, const wsrl__sac_state *st, int64_t n,
                                         const float *next_obs, int32_t n_rep, double *grad_out,
                                         double *entropy_out) {
  wsrl__agent_scratch *s = &ag->s;
  const int64_t rows = n * n_rep;
  WSRL__TRY(wsrl__policy_forward_sample_rng(ag->pi, n, next_obs, n_rep, &ag->rng[WSRL__AGENT_RNG_UPDATE], s->act_n,
                                            s->logp_n));
  double lp = 0.0;
  for (int64_t r = 0; r < rows; r++)
    lp += s->logp_n[r];
  const double entropy = -lp / (double)rows;
  /* loss_alpha = alpha * (H - H_target): d loss / d alpha = H - H_target. */
  *grad_out = entropy - (double)st->target_entropy;
  *entropy_out = entropy;
  return WSRL_OK;
}

wsrl_status_t wsrl__sac_actor_side(wsrl_agent_t *ag, wsrl__sac_state *st, const wsrl__agent_batch *bt,
                                   int32_t n_rep) {
  double temp_entropy = 0.0;
  WSRL__TRY(wsrl__sac_actor_grads(ag, st, bt->size, bt->obs, &st->actor_loss, &st->entropy));
  return wsrl__sac_temperature_grad(ag, st, bt->size, bt->next_obs, n_rep, &st->temp_grad, &temp_entropy);
}

wsrl_status_t wsrl__sac_scalars_step(wsrl_agent_t *ag, wsrl__sac_state *st, int32_t trained, int32_t lagrange) {
  wsrl__agent_scalar_step(ag, &st->temperature, trained ? st->temp_grad : 0.0, trained);
  if (lagrange && st->has_lagrange) {
    /* Lagrange loss = -lambda (mean cql_diff - gap), minimised over lambda;
     * the gap is the mean over this update's critic steps (docs/algorithms.md). */
    const double diff = st->sum.cql_diff / (double)ag->utd;
    wsrl__agent_scalar_step(ag, &st->lagrange, trained ? -(diff - ag->cfg.cql_target_action_gap) : 0.0, trained);
  }
  return WSRL_OK;
}

void wsrl__sac_begin(wsrl_agent_t *ag, void *state) {
  (void)ag;
  wsrl__sac_state *st = state;
  st->temperature_before = wsrl__scalar_value(&st->temperature);
}

void wsrl__sac_finish_common(wsrl_agent_t *ag, wsrl__sac_state *st) {
  const double inv = 1.0 / (double)ag->utd;
  wsrl__agent_set_metric(ag, WSRL__M_CRITIC_LOSS, st->sum.critic_loss * inv);
  wsrl__agent_set_metric(ag, WSRL__M_Q_MEAN, st->sum.q_mean * inv);
  wsrl__agent_set_metric(ag, WSRL__M_TARGET_Q, st->sum.target_mean * inv);
  wsrl__agent_set_metric(ag, WSRL__M_ACTOR_LOSS, st->actor_loss);
  wsrl__agent_set_metric(ag, WSRL__M_ENTROPY, st->entropy);
  wsrl__agent_set_metric(ag, WSRL__M_TEMPERATURE, st->temperature_before);
  wsrl__agent_set_metric(ag, WSRL__M_CRITIC_GN, ag->critic_gn);
  wsrl__agent_set_metric(ag, WSRL__M_ACTOR_GN, ag->actor_gn);
}

void wsrl__sac_reset_optimizer(void *state) {
  wsrl__sac_state *st = state;
  wsrl__scalar_reset_adam(&st->temperature);
  wsrl__scalar_reset_adam(&st->lagrange);
}

void wsrl__sac_net(const wsrl_agent_t *ag, void *state, int32_t net, wsrl__learner_net *out) {
  (void)ag;
  wsrl__sac_state *st = state;
  if (net == WSRL_NET_TEMPERATURE)
    out->scalar = &st->temperature;
  else if (net == WSRL_NET_LAGRANGE && st->has_lagrange)
    out->scalar = &st->lagrange;
  else if (net == WSRL_NET_VALUE)
    out->why = WSRL__WHY_NO_VALUE;
  else if (net == WSRL_NET_LAGRANGE)
    out->why = WSRL__WHY_NO_LAGRANGE;
}

void wsrl__sac_scalars(void *state, wsrl__scalar *out[2]) {
  wsrl__sac_state *st = state;
  out[0] = &st->temperature;
  out[1] = &st->lagrange;
}

/* ------------------------------------------------------ the SAC learner */

static void sac_plan(const wsrl__config_values *v, int32_t obs_dim, int32_t act_dim, wsrl__learner_plan *plan) {
  (void)obs_dim;
  (void)act_dim;
  const int32_t n_rep = v->td_max_target_backup == WSRL__MAX_BACKUP_ALL ? (int32_t)v->td_max_target_actions : 1;
  wsrl__sac_plan(v, n_rep, v->update_batch_size, plan);
}

static wsrl_status_t sac_create(wsrl_agent_t *ag, wsrl__rng *init, void **state_out) {
  (void)init;
  wsrl__sac_state *st = wsrl__calloc(&ag->alloc, 1, sizeof *st);
  if (st == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating the SAC learner's state");
  wsrl_status_t rc = wsrl__sac_state_init(ag, st, 0);
  if (rc != WSRL_OK) {
    wsrl__free(&ag->alloc, st);
    return rc;
  }
  *state_out = st;
  return WSRL_OK;
}

static void sac_destroy(wsrl_agent_t *ag, void *state) { wsrl__free(&ag->alloc, state); }

/* n_rep of the SAC learner's backup (td.max_target_backup = all). */
static int32_t sac_n_rep(const wsrl_agent_t *ag) {
  return ag->cfg.td_max_target_backup == WSRL__MAX_BACKUP_ALL ? ag->n_backup : 1;
}

wsrl_status_t wsrl__sac_critic_grads(wsrl_agent_t *ag, const wsrl__sac_state *ss, int64_t n, const float *obs,
                                     const float *act, const float *reward, const float *next_obs, const float *mask,
                                     wsrl__critic_stats *st) {
  /* The online critics' forward on (s, a) in the policy's region. */
  wsrl__mlp_fwd online;
  WSRL__TRY(wsrl__qensemble_forward_plan(ag->q, WSRL__Q_ONLINE, n, obs, 1, act, NULL, &online));
  WSRL__TRY(wsrl__sac_td_target(ag, ss, sac_n_rep(ag), ag->cfg.td_backup_entropy, n, reward, next_obs, mask, &online,
                                &st->target_mean));
  WSRL__TRY(wsrl__critic_td_backward(ag, n, &st->critic_loss, &st->q_mean));
  st->td_loss = st->critic_loss;
  return WSRL_OK;
}

static wsrl_status_t sac_critic_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *mb) {
  wsrl__sac_state *ss = state;
  wsrl__critic_stats st;
  memset(&st, 0, sizeof st);
  WSRL__TRY(wsrl__sac_critic_grads(ag, ss, mb->size, mb->obs, mb->action, mb->reward, mb->next_obs, mb->mask, &st));
  wsrl__sac_add_stats(&ss->sum, &st);
  return WSRL_OK;
}

static wsrl_status_t sac_actor_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *bt) {
  return wsrl__sac_actor_side(ag, state, bt, sac_n_rep(ag));
}

static wsrl_status_t sac_actor_aux_step(wsrl_agent_t *ag, void *state, int32_t trained) {
  return wsrl__sac_scalars_step(ag, state, trained, 0);
}

static void sac_finish(wsrl_agent_t *ag, void *state) {
  wsrl__sac_state *st = state;
  wsrl__sac_finish_common(ag, st);
  memset(&st->sum, 0, sizeof st->sum);
}

const wsrl__learner_ops wsrl__sac_ops = {
    .version = WSRL__LEARNER_VERSION,
    .name = "sac",
    .flags = WSRL__LEARNER_STARTS_ONLINE | WSRL__LEARNER_SAC_BASE,
    .metric_count = WSRL__M_TD_LOSS,
    .metric_names = wsrl__sacfam_metric_names,
    .plan = sac_plan,
    .create = sac_create,
    .destroy = sac_destroy,
    .begin = wsrl__sac_begin,
    .critic_grads = sac_critic_grads,
    .actor_grads = sac_actor_grads,
    .actor_aux_step = sac_actor_aux_step,
    .finish = sac_finish,
    .reset_optimizer = wsrl__sac_reset_optimizer,
    .net = wsrl__sac_net,
    .scalars = wsrl__sac_scalars,
};
