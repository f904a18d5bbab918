/*
 * The SAC family's shared parts (sac.c), used by the CQL/Cal-QL (cql.c) and
 * IQL (iql.c) learners: the state every SAC-family state begins with (so
 * the SAC learner can run on it after the switch online), the TD target,
 * the actor and temperature losses and the family's metric table.
 * Dependencies go one way: cql.c and iql.c include this, sac.c includes
 * neither.
 */
#ifndef WSRL_AGENTS_SAC_H
#define WSRL_AGENTS_SAC_H

#include "learner.h"

/* Metric indices of the SAC family: SAC reports [0, TD_LOSS), CQL
 * [0, CALQL_BOUND), Cal-QL all. */
enum {
  WSRL__M_CRITIC_LOSS = 0,
  WSRL__M_Q_MEAN,
  WSRL__M_TARGET_Q,
  WSRL__M_ACTOR_LOSS,
  WSRL__M_ENTROPY,
  WSRL__M_TEMPERATURE,
  WSRL__M_CRITIC_GN,
  WSRL__M_ACTOR_GN,
  WSRL__M_TD_LOSS,
  WSRL__M_CQL_DIFF,
  WSRL__M_CQL_OOD,
  WSRL__M_CQL_ALPHA,
  WSRL__M_LAGRANGE,
  WSRL__M_CALQL_BOUND,
  WSRL__M_SACFAM_COUNT
};
extern const char *const wsrl__sacfam_metric_names[WSRL__M_SACFAM_COUNT];

/* Statistics of the critic steps of one update (sums over minibatches). */
typedef struct wsrl__critic_stats {
  double critic_loss, q_mean, target_mean, td_loss, cql_diff, cql_ood, bound_rate;
} wsrl__critic_stats;

/* The SAC family's state: the first member of CQL's and IQL's states. */
typedef struct wsrl__sac_state {
  wsrl__scalar temperature; /* alpha = softplus(p) */
  wsrl__scalar lagrange;    /* CQL multiplier (cql.autotune_alpha); saved by every family member */
  int32_t has_lagrange;
  float target_entropy;
  /* this update */
  wsrl__critic_stats sum;
  double cql_alpha, temperature_before, actor_loss, entropy, temp_grad;
} wsrl__sac_state;

/* Initialise the scalars (has_lagrange: the learner tunes the CQL weight). */
wsrl_status_t wsrl__sac_state_init(const wsrl_agent_t *ag, wsrl__sac_state *st, int32_t has_lagrange);

/* Sizes of the SAC-family passes with n_rep next actions per state in the
 * backup (and the temperature loss) and rq rows of the CQL critic pass. */
void wsrl__sac_plan(const wsrl__config_values *v, int32_t n_rep, int64_t rq, wsrl__learner_plan *plan);

/* TD targets of n rows into ag->s.y: r + gamma * mask * T(s') with T the
 * subset-min of the target critics at a' ~ pi(.|s') (max over n_rep samples;
 * minus alpha log pi inside with backup_entropy). *target_mean gets the
 * mean of y. with (may be NULL): a planned forward of another net that
 * runs in the same region as the policy's (it must not read a' or the
 * targets). */
wsrl_status_t wsrl__sac_td_target(wsrl_agent_t *ag, const wsrl__sac_state *st, int32_t n_rep, int32_t backup_entropy,
                                  int64_t n, const float *reward, const float *next_obs, const float *mask,
                                  const wsrl__mlp_fwd *with, double *target_mean);

/* SAC critic gradients on n rows (zeroed first): TD loss
 * mean_{i,b} (Q_i(s, a) - y)^2 over every member, the SAC learner's backup. */
wsrl_status_t wsrl__sac_critic_grads(wsrl_agent_t *ag, const wsrl__sac_state *ss, int64_t n, const float *obs,
                                     const float *act, const float *reward, const float *next_obs, const float *mask,
                                     wsrl__critic_stats *st);
void wsrl__sac_add_stats(wsrl__critic_stats *sum, const wsrl__critic_stats *st);

/* Actor gradients on n rows: loss = mean(alpha log pi(a~|s) - min over ALL
 * online critics of Q_i(s, a~)), alpha as it is now. The actor's gradient
 * buffer is zeroed and filled; the critics' is untouched. */
wsrl_status_t wsrl__sac_actor_grads(wsrl_agent_t *ag, const wsrl__sac_state *st, int64_t n, const float *obs,
                                    double *loss_out, double *entropy_out);
/* d loss_alpha / d alpha = H - H_target, H = -mean log pi of n_rep fresh
 * samples per next state. */
wsrl_status_t wsrl__sac_temperature_grad(wsrl_agent_t *ag, const wsrl__sac_state *st, int64_t n,
                                         const float *next_obs, int32_t n_rep, double *grad_out,
                                         double *entropy_out);

/* The family's actor side on the whole batch: actor gradients (loss =
 * mean(alpha log pi(a~|s) - min over ALL online critics of Q_i(s, a~))) and
 * the temperature gradient over n_rep fresh samples per next state. */
wsrl_status_t wsrl__sac_actor_side(wsrl_agent_t *ag, wsrl__sac_state *st, const wsrl__agent_batch *batch,
                                   int32_t n_rep);
/* The temperature's step (and the multiplier's with lagrange). */
wsrl_status_t wsrl__sac_scalars_step(wsrl_agent_t *ag, wsrl__sac_state *st, int32_t trained, int32_t lagrange);
/* begin: note the temperature before the update; finish_common: metrics
 * [0, TD_LOSS) and reset the sums. */
void wsrl__sac_begin(wsrl_agent_t *ag, void *state);
void wsrl__sac_finish_common(wsrl_agent_t *ag, wsrl__sac_state *st);
void wsrl__sac_reset_optimizer(void *state);
/* Introspection of the family's scalars (temperature; the multiplier when tuned). */
void wsrl__sac_net(const wsrl_agent_t *ag, void *state, int32_t net, wsrl__learner_net *out);
void wsrl__sac_scalars(void *state, wsrl__scalar *out[2]);

/* CQL / Cal-QL critic gradients on n rows (cql.c; zeroed first): TD over
 * every member + alpha * mean(cql_diff) over the drawn members; *alpha_out
 * gets the CQL weight used. mc_return is read only with calql. */
wsrl_status_t wsrl__cql_critic_grads(wsrl_agent_t *ag, const wsrl__sac_state *ss, int32_t calql, int64_t n,
                                     const float *obs, const float *act, const float *reward, const float *next_obs,
                                     const float *mask, const float *mc_return, wsrl__critic_stats *st,
                                     double *alpha_out);

/* IQL (iql.c): the value network (NULL for another learner), and the losses
 * on n rows as plain calls. */
typedef struct wsrl__iql_stats {
  double critic_loss, q_mean, target_mean, value_loss, v_mean;
} wsrl__iql_stats;
wsrl__mlp *wsrl__iql_value(const wsrl_agent_t *ag);
wsrl_status_t wsrl__iql_critic_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act,
                                     const float *reward, const float *next_obs, const float *mask,
                                     wsrl__iql_stats *st);
wsrl_status_t wsrl__iql_actor_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *adv_out, double *weight_out);

#endif /* WSRL_AGENTS_SAC_H */
