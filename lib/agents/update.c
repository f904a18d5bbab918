/*
 * The one update schedule of every learner (learner.h), the optimizer
 * steps it takes, and the loss helpers every learner shares (subset draw,
 * TD gradients toward ag->s.y).
 */
#include <math.h>
#include <string.h>

#include "learner.h"

/* ------------------------------------------------------- optimizer steps */

/* A non-finite gradient leaves the parameters as they were; count it. */
wsrl_status_t wsrl__agent_count_skip(wsrl_agent_t *ag, wsrl_status_t st) {
  if (st == WSRL_ERR_NON_FINITE) {
    ag->counters.nonfinite_skips++;
    wsrl_clear_error();
    return WSRL_OK;
  }
  return st;
}

void wsrl__agent_scalar_step(wsrl_agent_t *ag, wsrl__scalar *s, double grad, int32_t trained) {
  if (trained && !isfinite(grad)) {
    ag->counters.nonfinite_skips++;
    return;
  }
  wsrl__scalar_step(s, trained ? grad : 0.0);
}

wsrl_status_t wsrl__agent_mlp_step(wsrl_agent_t *ag, wsrl__mlp *m, int32_t trained) {
  if (!trained)
    wsrl__mlp_zero_grad(m);
  return wsrl__agent_count_skip(ag, wsrl__mlp_adam_step(m, NULL));
}

wsrl_status_t wsrl__agent_critic_step(wsrl_agent_t *ag, float *norm_out) {
  return wsrl__agent_count_skip(ag, wsrl__qensemble_adam_step(ag->q, norm_out));
}

wsrl_status_t wsrl__agent_critic_backward(wsrl_agent_t *ag) {
  wsrl__qensemble_zero_grad(ag->q); /* deferred too: the backward zeroes */
  if (ag->critic_defer) {
    ag->critic_pending = 1;
    return WSRL_OK;
  }
  return wsrl__qensemble_backward(ag->q, ag->s.dq, NULL, 1);
}

wsrl_status_t wsrl__agent_actor_step(wsrl_agent_t *ag, float *norm_out) {
  return wsrl__agent_count_skip(ag, wsrl__policy_adam_step(ag->pi, norm_out));
}

/* What follows the critics' step: its norm summed, the learner's
 * critic-side networks, the count. */
static wsrl_status_t critic_stepped(wsrl_agent_t *ag, const wsrl__learner_ops *L, float cnorm, double *cnorm_sum) {
  *cnorm_sum += cnorm;
  if (L->critic_aux_step != NULL)
    WSRL__TRY(L->critic_aux_step(ag, ag->lstate, 1));
  ag->counters.critic_steps++;
  return WSRL_OK;
}

/* Count each skipped step of a joint call as wsrl__agent_count_skip does. */
static wsrl_status_t joint_status(wsrl_agent_t *ag, wsrl_status_t rc, const wsrl__mlp_step *st, int32_t n) {
  if (rc != WSRL_OK && rc != WSRL_ERR_NON_FINITE)
    return rc;
  for (int32_t i = 0; i < n; i++)
    WSRL__TRY(wsrl__agent_count_skip(ag, st[i].status));
  return WSRL_OK;
}

/* The critics' step st[0] (Polyak into the targets when polyak) and the
 * steps st[1, n) in one region, after the critics' deferred backward when
 * one is pending (the same numbers as the backward, then the steps). */
static wsrl_status_t critic_steps(wsrl_agent_t *ag, int polyak, wsrl__mlp_step *st, int32_t n) {
  wsrl__mlp *online = wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE);
  wsrl__mlp *target = polyak ? wsrl__qensemble_mlp(ag->q, WSRL__Q_TARGET) : NULL;
  st[0] = (wsrl__mlp_step){online, target, (float)ag->cfg.td_tau, 0.0, 0.0f, 1.0f, WSRL_OK};
  wsrl_status_t rc;
  if (ag->critic_pending) {
    ag->critic_pending = 0;
    rc = wsrl__mlp_backward_steps(online, ag->s.dq, st, n);
  } else {
    rc = wsrl__mlp_adam_steps(st, n);
  }
  return joint_status(ag, rc, st, n);
}

/* The critics' step on their gradients (Polyak unless the learner delays
 * it to the actor's step; one pass over the parameters for both), then the
 * learner's critic-side networks. */
static wsrl_status_t critic_step(wsrl_agent_t *ag, const wsrl__learner_ops *L, float *cnorm, double *cnorm_sum) {
  wsrl__mlp_step st;
  WSRL__TRY(critic_steps(ag, !(L->flags & WSRL__LEARNER_POLYAK_WITH_ACTOR), &st, 1));
  *cnorm = st.grad_norm;
  return critic_stepped(ag, L, *cnorm, cnorm_sum);
}

/* Idle mode (optim.step_untrained = reference): the networks not trained in
 * this part of an update take one Adam step on zero gradients, no Polyak.
 * After each critic step the actor's: critic_step then the actor's idle
 * step and actor_aux_step(idle), with both Adam steps in one parallel
 * region (the same numbers: neither step reads the other's parameters,
 * nor does critic_aux_step the actor's). */
static wsrl_status_t critic_step_idle_actor(wsrl_agent_t *ag, const wsrl__learner_ops *L, float *cnorm,
                                            double *cnorm_sum) {
  wsrl__policy_zero_grad(ag->pi);
  wsrl__mlp_step st[2];
  wsrl__policy_step_begin(ag->pi, &st[1]);
  const wsrl_status_t rc = critic_steps(ag, !(L->flags & WSRL__LEARNER_POLYAK_WITH_ACTOR), st, 2);
  wsrl__policy_step_end(ag->pi, &st[1]);
  WSRL__TRY(rc);
  *cnorm = st[0].grad_norm;
  WSRL__TRY(critic_stepped(ag, L, *cnorm, cnorm_sum));
  return L->actor_aux_step != NULL ? L->actor_aux_step(ag, ag->lstate, 0) : WSRL_OK;
}

static wsrl_status_t idle_critic(wsrl_agent_t *ag, const wsrl__learner_ops *L) {
  wsrl__qensemble_zero_grad(ag->q);
  WSRL__TRY(wsrl__agent_critic_step(ag, NULL));
  return L->critic_aux_step != NULL ? L->critic_aux_step(ag, ag->lstate, 0) : WSRL_OK;
}

/* The actor's step and actor_aux_step(trained), then idle_critic, with both
 * Adam steps in one region: only for learners without
 * WSRL__LEARNER_POLYAK_WITH_ACTOR, whose Polyak average in between reads
 * the critics. */
static wsrl_status_t actor_step_idle_critic(wsrl_agent_t *ag, const wsrl__learner_ops *L, float *anorm) {
  wsrl__qensemble_zero_grad(ag->q);
  wsrl__mlp_step st[2] = {{0}, {wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE), NULL, 0.0f, 0.0, 0.0f, 1.0f, WSRL_OK}};
  wsrl__policy_step_begin(ag->pi, &st[0]);
  const wsrl_status_t rc = wsrl__mlp_adam_steps(st, 2);
  wsrl__policy_step_end(ag->pi, &st[0]);
  WSRL__TRY(joint_status(ag, rc, st, 2));
  *anorm = st[0].grad_norm;
  ag->counters.actor_steps++;
  if (L->actor_aux_step != NULL)
    WSRL__TRY(L->actor_aux_step(ag, ag->lstate, 1));
  return L->critic_aux_step != NULL ? L->critic_aux_step(ag, ag->lstate, 0) : WSRL_OK;
}

/* ---------------------------------------------------------------- schedule */

void wsrl__agent_batch_slice(const wsrl__agent_batch *b, int32_t obs_dim, int32_t act_dim, int64_t off, int64_t n,
                             wsrl__agent_batch *out) {
  const int64_t O = obs_dim, A = act_dim;
  out->size = n;
  out->obs = b->obs + off * O;
  out->action = b->action + off * A;
  out->reward = b->reward + off;
  out->next_obs = b->next_obs + off * O;
  out->mask = b->mask + off;
  out->mc_return = b->mc_return != NULL ? b->mc_return + off : NULL;
}

/* U critic steps on U minibatches, then the actor on the whole batch
 * (learner.h draws the order). */
static wsrl_status_t run_schedule(wsrl_agent_t *ag, const wsrl__learner_ops *L, const wsrl__agent_batch *bt) {
  void *st = ag->lstate;
  const int64_t U = ag->utd, B = ag->batch;
  const int32_t idle = ag->cfg.optim_step_untrained == WSRL__STEP_UNTRAINED_REFERENCE;
  const int32_t actor_due = L->actor_due == NULL || L->actor_due(ag, st);
  float cnorm = 0.0f, anorm = 0.0f;
  double cnorm_sum = 0.0;
  if (L->begin != NULL)
    L->begin(ag, st);
  for (int64_t u = 0; u < U; u++) {
    wsrl__agent_batch mb;
    wsrl__agent_batch_slice(bt, ag->obs_dim, ag->act_dim, u * B, B, &mb);
    /* With U > 1 the critic step follows at once: the critics' backward
     * may wait for it (wsrl__agent_critic_backward). */
    ag->critic_defer = U > 1;
    ag->critic_pending = 0;
    const wsrl_status_t rc = L->critic_grads(ag, st, &mb);
    ag->critic_defer = 0;
    if (rc != WSRL_OK) {
      ag->critic_pending = 0;
      return rc;
    }
    if (U > 1) {
      /* High UTD: this critic step now, the actor and the others once below. */
      if (idle)
        WSRL__TRY(critic_step_idle_actor(ag, L, &cnorm, &cnorm_sum));
      else
        WSRL__TRY(critic_step(ag, L, &cnorm, &cnorm_sum));
    }
  }
  /* The actor on the whole batch, the critic as it is now: before its step
   * when U = 1, after the U steps otherwise. */
  if (actor_due)
    WSRL__TRY(L->actor_grads(ag, st, bt));
  if (U == 1)
    WSRL__TRY(critic_step(ag, L, &cnorm, &cnorm_sum));
  const int32_t idle_critic_due = U > 1 && idle;
  if (actor_due && idle_critic_due && !(L->flags & WSRL__LEARNER_POLYAK_WITH_ACTOR)) {
    WSRL__TRY(actor_step_idle_critic(ag, L, &anorm));
  } else {
    if (actor_due) {
      WSRL__TRY(wsrl__agent_actor_step(ag, &anorm));
      ag->counters.actor_steps++;
      if (L->actor_aux_step != NULL)
        WSRL__TRY(L->actor_aux_step(ag, st, 1));
      if (L->flags & WSRL__LEARNER_POLYAK_WITH_ACTOR)
        wsrl__qensemble_polyak(ag->q, (float)ag->cfg.td_tau);
    }
    if (idle_critic_due)
      WSRL__TRY(idle_critic(ag, L));
  }
  ag->critic_gn = cnorm_sum * (1.0 / (double)U);
  ag->actor_gn = anorm;
  L->finish(ag, st);
  return WSRL_OK;
}

int64_t wsrl__agent_batch_rows(const wsrl_agent_t *agent) { return (int64_t)agent->utd * agent->batch; }
int64_t wsrl__agent_max_batch_rows(const wsrl_agent_t *agent) { return agent->rows_max; }

int32_t wsrl__agent_needs_mc_return(const wsrl_agent_t *agent) {
  return (wsrl__agent_current(agent)->flags & WSRL__LEARNER_NEEDS_MC_RETURN) != 0;
}

int32_t wsrl__agent_online_needs_mc_return(const wsrl_agent_t *agent) {
  return (agent->online->flags & WSRL__LEARNER_NEEDS_MC_RETURN) != 0;
}

wsrl_status_t wsrl__agent_update(wsrl_agent_t *agent, const wsrl__agent_batch *batch) {
  const int64_t rows = wsrl__agent_batch_rows(agent);
  if (batch->size != rows)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "agent update: the batch has %lld rows but this phase needs %lld (utd %d x update.batch_size %lld)",
                       (long long)batch->size, (long long)rows, (int)agent->utd, (long long)agent->batch);
  if (batch->obs == NULL || batch->action == NULL || batch->reward == NULL || batch->next_obs == NULL ||
      batch->mask == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "agent update: obs, action, reward, next_obs and mask are required");
  const wsrl__learner_ops *L = wsrl__agent_current(agent);
  if (batch->mc_return == NULL && (L->flags & WSRL__LEARNER_NEEDS_MC_RETURN))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "agent update: the %s learner needs the batch's mc_return", L->name);
  WSRL__TRY(run_schedule(agent, L, batch));
  agent->counters.updates++;
  if (agent->phase == WSRL_AGENT_ONLINE)
    agent->counters.online_updates++;
  else
    agent->counters.offline_updates++;
  wsrl__agent_publish(agent);
  return WSRL_OK;
}

wsrl_status_t wsrl__agent_fit_dataset(wsrl_agent_t *agent, int64_t rows, const float *obs) {
  if (agent->offline->fit_dataset == NULL || agent->counters.updates > 0)
    return WSRL_OK;
  return agent->offline->fit_dataset(agent, agent->lstate, rows, obs);
}

/* ------------------------------------------------------------ loss helpers */

int32_t wsrl__agent_draw_members(wsrl_agent_t *ag, int32_t *members) {
  /* subsample == ensemble_size means no subsampling (the reference's
   * critic_subsample_size = None): the min over every member. */
  if (ag->subsample >= ag->ensemble)
    return 0;
  wsrl__qensemble_draw_subset(&ag->rng[WSRL__AGENT_RNG_UPDATE], ag->ensemble, ag->subsample, members);
  return ag->subsample;
}

wsrl_status_t wsrl__critic_td_backward(wsrl_agent_t *ag, int64_t n, double *loss_out, double *q_mean_out) {
  wsrl__agent_scratch *s = &ag->s;
  const int64_t E = ag->ensemble;
  const float *q = wsrl__qensemble_output(ag->q, WSRL__Q_ONLINE);
  const double scale = 1.0 / (double)(E * n);
  double loss = 0.0, qsum = 0.0;
  for (int64_t i = 0; i < E; i++)
    for (int64_t b = 0; b < n; b++) {
      const double d = (double)q[i * n + b] - (double)s->y[b];
      loss += d * d;
      qsum += q[i * n + b];
      s->dq[i * n + b] = (float)(2.0 * d * scale);
    }
  *loss_out = loss * scale;
  *q_mean_out = qsum * scale;
  return wsrl__agent_critic_backward(ag);
}

wsrl_status_t wsrl__critic_td_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *q_mean_out) {
  WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_ONLINE, n, obs, 1, act, NULL));
  return wsrl__critic_td_backward(ag, n, loss_out, q_mean_out);
}

