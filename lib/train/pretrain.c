/* wsrl_pretrain(): offline updates on batches sampled from a dataset. */
#include "train_internal.h"

static wsrl_status_t pretrain_impl(wsrl_agent_t *agent, wsrl_replay_t *dataset, int64_t steps, wsrl_progress_fn progress,
                            void *user) {
  WSRL__CHECK_NULL(agent);
  if (steps < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_pretrain: steps must be >= 0 (got %lld)", (long long)steps);
  int32_t O = 0, A = 0;
  int64_t size = 0;
  WSRL__TRY(wsrl_replay_dims(dataset, &O, &A));
  WSRL__TRY(wsrl_replay_size(dataset, &size));
  if (O != wsrl__agent_obs_dim(agent) || A != wsrl__agent_act_dim(agent))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_pretrain: the dataset has obs_dim %d, act_dim %d but the agent has %d, %d", O, A,
                       wsrl__agent_obs_dim(agent), wsrl__agent_act_dim(agent));
  if (size == 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "wsrl_pretrain: the dataset is empty");
  WSRL__TRY(wsrl__replay_check_agrees(dataset, wsrl__agent_config(agent), "wsrl_pretrain", "the dataset"));
  if (steps == 0)
    return WSRL_OK;

  /* The learner sees the dataset before its first update (TD3+BC's state
   * normalisation); stored rows are [0, size) of the ring. */
  WSRL__TRY(wsrl__agent_fit_dataset(agent, size, dataset->obs));

  const wsrl__alloc *alloc = wsrl__agent_alloc(agent);
  wsrl__replay_batch batch;
  WSRL__TRY(wsrl__replay_batch_alloc(&batch, alloc, wsrl__agent_max_batch_rows(agent), O, A, 0));
  const int64_t interval = wsrl__agent_config(agent)->log_interval;
  wsrl__progress p;
  wsrl_status_t st = WSRL_OK;
  for (int64_t i = 0; i < steps && st == WSRL_OK; i++) {
    const int64_t rows = wsrl__agent_batch_rows(agent);
    /* The agent's loop stream, not the dataset's: pretraining depends only
     * on the agent's state (saved in its checkpoints), and the dataset's RNG
     * stays the host's. */
    st = wsrl__replay_sample_into(dataset, wsrl__agent_rng(agent, WSRL__AGENT_RNG_LOOP), rows, 0, &batch);
    if (st != WSRL_OK)
      break;
    const wsrl__agent_batch b = {rows, batch.obs, batch.action, batch.reward, batch.next_obs, batch.mask,
                                 batch.mc_return};
    st = wsrl__agent_update(agent, &b);
    if (st != WSRL_OK)
      break;
    const int64_t updates = wsrl__agent_get_counters(agent)->updates;
    if (progress != NULL && updates % interval == 0) {
      p.n = 0;
      wsrl__progress_add(&p, "updates", (double)updates);
      wsrl__progress_add_agent(&p, agent);
      st = wsrl__progress_emit(progress, user, updates, &p, "wsrl_pretrain");
    }
  }
  wsrl__replay_batch_free(&batch, alloc);
  return st;
}

/* The agent's flag is taken by the caller; sampling advances the dataset's
 * RNG, so this takes the dataset's flag as a writer. */
static wsrl_status_t pretrain_data(wsrl_agent_t *agent, wsrl_replay_t *dataset, int64_t steps,
                                   wsrl_progress_fn progress, void *user) {
  WSRL__GUARDED(wsrl__replay_busy(dataset), WSRL__BUSY_WRITE, "replay buffer", "wsrl_pretrain",
                pretrain_impl(agent, dataset, steps, progress, user));
}

wsrl_status_t wsrl_pretrain(wsrl_agent_t *agent, wsrl_replay_t *dataset, int64_t steps, wsrl_progress_fn progress,
                            void *user) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(dataset);
  WSRL__AGENT_GUARDED(agent, "wsrl_pretrain", pretrain_data(agent, dataset, steps, progress, user));
}
