/*
 * The registry of learners: agent.algorithm's value -> its ops table
 * (learner.h). Adding a learner adds its line here and its name to the
 * agent.algorithm choices (lib/core/config_keys.h), in the same order.
 */
#include <string.h>

#include "learner.h"

static const wsrl__learner_ops *const LEARNERS[] = {
    [WSRL__ALGO_SAC] = &wsrl__sac_ops,
    [WSRL__ALGO_CQL] = &wsrl__cql_ops,
    [WSRL__ALGO_CALQL] = &wsrl__calql_ops,
    [WSRL__ALGO_IQL] = &wsrl__iql_ops,
    [WSRL__ALGO_TD3BC] = &wsrl__td3bc_ops,
};

const wsrl__learner_ops *wsrl__learner_for(int32_t algorithm) {
  if (algorithm < 0 || (size_t)algorithm >= sizeof LEARNERS / sizeof LEARNERS[0])
    return NULL;
  return LEARNERS[algorithm];
}

const wsrl__learner_ops *wsrl__learner_online(const wsrl__learner_ops *offline, const wsrl__config_values *v) {
  if (v->finetune_online_algorithm == WSRL__ONLINE_SAME || !(offline->flags & WSRL__LEARNER_SAC_BASE))
    return offline;
  return &wsrl__sac_ops;
}

void wsrl__learner_plan_basic(const wsrl__config_values *v, int32_t obs_dim, int32_t act_dim,
                              wsrl__learner_plan *plan) {
  (void)obs_dim;
  (void)act_dim;
  const int64_t B = v->update_batch_size, M = v->update_utd * B;
  memset(plan, 0, sizeof *plan);
  wsrl__learner_plan_shape(plan, B);
  wsrl__learner_plan_shape(plan, M);
  plan->q_rows = M;
  plan->rows = M;
  plan->work = 8;
  plan->samples = 1;
}

void wsrl__learner_plan_shape(wsrl__learner_plan *plan, int64_t rows) {
  for (int32_t i = 0; i < plan->n_q_shapes; i++)
    if (plan->q_shapes[i] == rows)
      return;
  if (plan->n_q_shapes < (int32_t)(sizeof plan->q_shapes / sizeof plan->q_shapes[0]))
    plan->q_shapes[plan->n_q_shapes++] = rows;
}

#define MAX_INTO(f)                                                                                                    \
  if (p->f > into->f)                                                                                                  \
  into->f = p->f
void wsrl__learner_plan_merge(wsrl__learner_plan *into, const wsrl__learner_plan *p) {
  for (int32_t i = 0; i < p->n_q_shapes; i++)
    wsrl__learner_plan_shape(into, p->q_shapes[i]);
  MAX_INTO(q_rows);
  MAX_INTO(rows);
  MAX_INTO(work);
  MAX_INTO(samples);
}
#undef MAX_INTO
