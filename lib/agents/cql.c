/*
 * CQL and Cal-QL critic loss (ALGORITHMS.md §3): the TD loss of §2 (with
 * the max-target backup, no entropy term) plus alpha * mean(cql_diff) over
 * the members in use. The actor and temperature are the SAC family's
 * (sac.h), the schedule update.c's.
 *
 * Per state the critics are evaluated once on G = 3N + 1 actions, in this
 * order: N uniform, N from pi(.|s), N from pi(.|s'), then the dataset
 * action. One forward and one backward serve both the TD and the CQL
 * terms.
 */
#include <math.h>
#include <string.h>

#include "sac.h"

/* Next actions of the CQL backup (td.max_target_backup != none). */
static int32_t cql_n_rep(const wsrl__config_values *v) {
  return v->td_max_target_backup != WSRL__MAX_BACKUP_NONE ? (int32_t)v->td_max_target_actions : 1;
}

wsrl_status_t wsrl__cql_critic_grads(wsrl_agent_t *ag, const wsrl__sac_state *ss, int32_t calql, int64_t n,
                                      const float *obs, const float *act, const float *reward, const float *next_obs,
                                      const float *mask, const float *mc_return, wsrl__critic_stats *st,
                                      double *alpha_out) {
  wsrl__agent_scratch *s = &ag->s;
  wsrl__rng *rng = &ag->rng[WSRL__AGENT_RNG_UPDATE];
  const int64_t A = ag->act_dim, E = ag->ensemble, N = ag->n_actions, G = 3 * N + 1, rows = n * G;
  const size_t arow = (size_t)A * sizeof(float);

  WSRL__TRY(
      wsrl__sac_td_target(ag, ss, cql_n_rep(&ag->cfg), 0, n, reward, next_obs, mask, NULL, &st->target_mean));

  /* Sampled actions, [n, G, A]. */
  for (int64_t b = 0; b < n; b++)
    wsrl__rng_fill_uniform(rng, s->act_n + b * G * A, (size_t)(N * A), -1.0f, 1.0f);
  float *logp_cur = s->logp_n, *logp_next = s->logp_n + n * N;
  const float *states[2] = {obs, next_obs};
  float *logps[2] = {logp_cur, logp_next};
  for (int32_t h = 0; h < 2; h++) {
    WSRL__TRY(wsrl__policy_forward_sample_rng(ag->pi, n, states[h], (int32_t)N, rng, s->act1, logps[h]));
    for (int64_t b = 0; b < n; b++)
      memcpy(s->act_n + (b * G + (h + 1) * N) * A, s->act1 + b * N * A, (size_t)N * arow);
  }
  for (int64_t b = 0; b < n; b++)
    memcpy(s->act_n + (b * G + 3 * N) * A, act + b * A, arow);

  /* The members of the CQL term: a draw of its own, as the reference. */
  int32_t members[64];
  int32_t k = wsrl__agent_draw_members(ag, members);
  if (k == 0) {
    k = (int32_t)E;
    for (int32_t i = 0; i < k; i++)
      members[i] = i;
  }

  WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_ONLINE, rows, obs, G, s->act_n, s->q_tmp));
  const float *q = s->q_tmp;
  memset(s->dq, 0, (size_t)(E * rows) * sizeof(float));

  /* TD term over every member. */
  const double td_scale = 1.0 / (double)(E * n);
  double td = 0.0, qsum = 0.0;
  for (int64_t i = 0; i < E; i++)
    for (int64_t b = 0; b < n; b++) {
      const int64_t at = i * rows + b * G + 3 * N;
      const double d = (double)q[at] - (double)s->y[b];
      td += d * d;
      qsum += q[at];
      s->dq[at] = (float)(2.0 * d * td_scale);
    }

  /* CQL term over the members in use. */
  const double alpha = ss->has_lagrange ? wsrl__scalar_value(&ss->lagrange) : ag->cfg.cql_alpha;
  const double temp = ag->cfg.cql_temp;
  const int32_t is = ag->cfg.cql_importance_sample;
  const int32_t clip_uniform = ag->cfg.calql_clip_uniform;
  const double log_uniform = (double)A * log(0.5);
  const int64_t nv = is ? 3 * N : G;
  const double log_nv = log((double)nv);
  const double cw = alpha / ((double)k * (double)n);
  double *w = s->work, *pass = s->work + G; /* logits; 1 where the gradient flows */
  double diff_sum = 0.0, ood_sum = 0.0;
  int64_t bound_hits = 0;
  for (int32_t j = 0; j < k; j++) {
    const int64_t i = members[j];
    for (int64_t b = 0; b < n; b++) {
      const float *qi = q + i * rows + b * G;
      double mx = -INFINITY;
      for (int64_t t = 0; t < 3 * N; t++) {
        double x = qi[t];
        pass[t] = 1.0;
        if (calql && (t >= N || clip_uniform)) {
          /* Cal-QL: the pi-sampled Q values are bounded below by the MC return. */
          const double lb = mc_return[b];
          if (x < lb) {
            x = lb;
            pass[t] = 0.0;
            bound_hits++;
          }
        }
        if (is)
          x -= t < N ? log_uniform : t < 2 * N ? logp_cur[b * N + t - N] : logp_next[b * N + t - 2 * N];
        w[t] = x / temp;
      }
      if (!is) {
        w[3 * N] = (double)qi[3 * N] / temp;
        pass[3 * N] = 1.0;
      }
      for (int64_t t = 0; t < nv; t++) {
        if (!is)
          w[t] -= log_nv; /* the reference subtracts log(3N + 1) * temp before dividing */
        if (w[t] > mx)
          mx = w[t];
      }
      double se = 0.0;
      for (int64_t t = 0; t < nv; t++)
        se += exp(w[t] - mx);
      const double lse = mx + log(se);
      const double ood = temp * lse;
      diff_sum += ood - (double)qi[3 * N];
      ood_sum += ood;
      /* d ood / d x_t = softmax_t; d cql_diff / d Q(s, a) = -1. */
      float *dqi = s->dq + i * rows + b * G;
      for (int64_t t = 0; t < nv; t++)
        dqi[t] += (float)(cw * exp(w[t] - lse) * pass[t]);
      dqi[3 * N] -= (float)cw;
    }
  }
  const double kn = (double)k * (double)n;
  st->td_loss = td * td_scale;
  st->q_mean = qsum * td_scale;
  st->cql_diff = diff_sum / kn;
  st->cql_ood = ood_sum / kn;
  st->bound_rate = calql ? (double)bound_hits / (kn * (double)(3 * N)) : 0.0;
  st->critic_loss =
      st->td_loss + alpha * (ss->has_lagrange ? st->cql_diff - ag->cfg.cql_target_action_gap : st->cql_diff);
  *alpha_out = alpha;
  return wsrl__agent_critic_backward(ag);
}

/* ------------------------------------------------------------ the learners */

static void cql_plan(const wsrl__config_values *v, int32_t obs_dim, int32_t act_dim, wsrl__learner_plan *plan) {
  (void)obs_dim;
  (void)act_dim;
  const int64_t N = v->cql_n_actions;
  wsrl__sac_plan(v, cql_n_rep(v), v->update_batch_size * (3 * N + 1), plan);
  if (plan->samples < N)
    plan->samples = (int32_t)N;
}

static wsrl_status_t cql_create(wsrl_agent_t *ag, wsrl__rng *init, void **state_out) {
  (void)init;
  wsrl__sac_state *st = wsrl__calloc(&ag->alloc, 1, sizeof *st);
  if (st == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating the CQL learner's state");
  wsrl_status_t rc = wsrl__sac_state_init(ag, st, ag->cfg.cql_autotune_alpha);
  if (rc != WSRL_OK) {
    wsrl__free(&ag->alloc, st);
    return rc;
  }
  *state_out = st;
  return WSRL_OK;
}

static void cql_destroy(wsrl_agent_t *ag, void *state) { wsrl__free(&ag->alloc, state); }

static wsrl_status_t critic_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *mb, int32_t calql) {
  wsrl__sac_state *ss = state;
  wsrl__critic_stats st;
  memset(&st, 0, sizeof st);
  WSRL__TRY(wsrl__cql_critic_grads(ag, ss, calql, mb->size, mb->obs, mb->action, mb->reward, mb->next_obs,
                                   mb->mask, mb->mc_return, &st, &ss->cql_alpha));
  wsrl__sac_add_stats(&ss->sum, &st);
  return WSRL_OK;
}

static wsrl_status_t cql_critic_grads_hook(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *mb) {
  return critic_grads(ag, state, mb, 0);
}

static wsrl_status_t calql_critic_grads_hook(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *mb) {
  return critic_grads(ag, state, mb, 1);
}

static wsrl_status_t cql_actor_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *bt) {
  return wsrl__sac_actor_side(ag, state, bt, cql_n_rep(&ag->cfg));
}

static wsrl_status_t cql_actor_aux_step(wsrl_agent_t *ag, void *state, int32_t trained) {
  return wsrl__sac_scalars_step(ag, state, trained, 1);
}

static void cql_finish(wsrl_agent_t *ag, void *state) {
  wsrl__sac_state *st = state;
  const double inv = 1.0 / (double)ag->utd;
  wsrl__sac_finish_common(ag, st);
  wsrl__agent_set_metric(ag, WSRL__M_TD_LOSS, st->sum.td_loss * inv);
  wsrl__agent_set_metric(ag, WSRL__M_CQL_DIFF, st->sum.cql_diff * inv);
  wsrl__agent_set_metric(ag, WSRL__M_CQL_OOD, st->sum.cql_ood * inv);
  wsrl__agent_set_metric(ag, WSRL__M_CQL_ALPHA, st->cql_alpha);
  wsrl__agent_set_metric(ag, WSRL__M_CALQL_BOUND, st->sum.bound_rate * inv);
  wsrl__agent_set_metric(ag, WSRL__M_LAGRANGE, st->has_lagrange ? wsrl__scalar_value(&st->lagrange) : NAN);
  memset(&st->sum, 0, sizeof st->sum);
}

#define CQL_OPS(NAME, FLAGS, COUNT, GRADS)                                                                             \
  {                                                                                                                    \
    .version = WSRL__LEARNER_VERSION, .name = NAME, .flags = WSRL__LEARNER_SAC_BASE | (FLAGS), .metric_count = COUNT, \
    .metric_names = wsrl__sacfam_metric_names, .plan = cql_plan, .create = cql_create, .destroy = cql_destroy,         \
    .begin = wsrl__sac_begin, .critic_grads = GRADS, .actor_grads = cql_actor_grads,                                   \
    .actor_aux_step = cql_actor_aux_step, .finish = cql_finish, .reset_optimizer = wsrl__sac_reset_optimizer,          \
    .net = wsrl__sac_net, .scalars = wsrl__sac_scalars                                                                 \
  }

const wsrl__learner_ops wsrl__cql_ops = CQL_OPS("cql", 0, WSRL__M_CALQL_BOUND, cql_critic_grads_hook);
const wsrl__learner_ops wsrl__calql_ops =
    CQL_OPS("calql", WSRL__LEARNER_NEEDS_MC_RETURN, WSRL__M_SACFAM_COUNT, calql_critic_grads_hook);
