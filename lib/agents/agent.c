/*
 * The agent handle: create (every network, optimizer, RNG stream, scratch
 * buffer and oneDNN shape built here), act, the public update wrapper,
 * phase switch, counters and metrics. The learners (sac.c, cql.c, iql.c)
 * plug in through learner.h, the update schedule is update.c's,
 * checkpoints are checkpoint.c's.
 */
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "learner.h"
#include "core/action.h"

#define FIELD_PRESENT WSRL__FIELD_PRESENT

/* ------------------------------------------------------------ init helpers */

WSRL__DEFINE_STRUCT_INIT(wsrl_batch_init, wsrl_batch_t, batch, WSRL_BATCH_INIT)

WSRL__DEFINE_STRUCT_INIT(wsrl_agent_counters_init, wsrl_agent_counters_t, counters, WSRL_AGENT_COUNTERS_INIT)

/* ------------------------------------------------------------------ create */

static wsrl_status_t check_config(const wsrl__config_values *v) {
  if (v->critic_subsample > v->critic_ensemble_size)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "config key 'critic.subsample' (%lld) must be <= 'critic.ensemble_size' (%lld)",
                       (long long)v->critic_subsample, (long long)v->critic_ensemble_size);
  if (v->critic_hidden.n < 1 || v->actor_hidden.n < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config keys 'critic.hidden' and 'actor.hidden' need >= 1 layer");
  const int64_t rows = v->update_utd * v->update_batch_size;
  const int64_t nq = v->update_batch_size * (3 * v->cql_n_actions + 1);
  if (rows > ((int64_t)1 << 24) || nq > ((int64_t)1 << 26))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "config keys 'update.utd' * 'update.batch_size' = %lld rows (and %lld CQL rows) are too large",
                       (long long)rows, (long long)nq);
  return WSRL_OK;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Carve every scratch array out of one aligned block. */
static wsrl_status_t alloc_scratch(wsrl_agent_t *ag, int64_t R, int64_t work) {
  const int64_t A = ag->act_dim, O = ag->obs_dim, E = ag->ensemble, C = WSRL__AGENT_ACT_CHUNK;
  const int64_t M = ag->rows_max;
  struct {
    void **p;
    int64_t bytes;
  } parts[] = {
      {(void **)&ag->s.eps, R * A * 4},     {(void **)&ag->s.act_n, R * A * 4},
      {(void **)&ag->s.act1, R * A * 4},    {(void **)&ag->s.logp_n, R * 4},
      {(void **)&ag->s.logp1, R * 4},       {(void **)&ag->s.q_tmp, E * R * 4},
      {(void **)&ag->s.dq, E * R * 4},      {(void **)&ag->s.y, R * 4},
      {(void **)&ag->s.vmin, R * 4},        {(void **)&ag->s.argmin, R * 4},
      {(void **)&ag->s.dact, R * A * 4},    {(void **)&ag->s.dlogp, R * 4},
      {(void **)&ag->s.col, R * 4},         {(void **)&ag->s.col2, R * 4},
      {(void **)&ag->s.mask_conv, M * 4},   {(void **)&ag->s.act_conv, M * A * 4},
      {(void **)&ag->s.act_obs, C * O * 4}, {(void **)&ag->s.act_out, C * A * 4},
      {(void **)&ag->s.act_eps, C * A * 4}, {(void **)&ag->s.act_in, C * O * 4},
      {(void **)&ag->s.work, work * 8},
  };
  int64_t total = 0;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    total += (parts[i].bytes + 63) / 64 * 64;
  char *block = wsrl__aligned_alloc(&ag->alloc, (size_t)total);
  if (block == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating %lld bytes of agent scratch", (long long)total);
  ag->s.block = block;
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    *parts[i].p = block;
    block += (parts[i].bytes + 63) / 64 * 64;
  }
  ag->scratch_bytes = (size_t)total;
  return WSRL_OK;
}

static void set_learner_metrics(wsrl_agent_t *ag) {
  const wsrl__learner_ops *l = wsrl__agent_current(ag);
  ag->metric_names = l->metric_names;
  ag->metric_count = l->metric_count;
  for (int32_t i = 0; i < WSRL__AGENT_MAX_METRICS; i++)
    ag->metrics[i] = NAN;
}

void wsrl__agent_apply_phase(wsrl_agent_t *ag, int32_t phase) {
  ag->phase = phase;
  ag->utd = phase == WSRL_AGENT_ONLINE ? (int32_t)ag->cfg.update_utd : 1;
  set_learner_metrics(ag);
}

/* Build every primitive the losses and act will use, so that they never
 * allocate later. */
static wsrl_status_t prepare_shapes(wsrl_agent_t *ag, const wsrl__learner_plan *plan) {
  const int64_t B = ag->batch, M = ag->rows_max;
  const int64_t pol[] = {1, WSRL__AGENT_ACT_CHUNK, B, M};
  for (size_t i = 0; i < sizeof pol / sizeof pol[0]; i++)
    WSRL__TRY(wsrl__policy_prepare(ag->pi, pol[i]));
  for (int32_t i = 0; i < plan->n_q_shapes; i++)
    WSRL__TRY(wsrl__qensemble_prepare(ag->q, plan->q_shapes[i]));
  return WSRL_OK;
}

static void agent_free(wsrl_agent_t *ag) {
  wsrl__snap_pool_drop(ag->snaps);
  if (ag->lstate != NULL)
    ag->offline->destroy(ag, ag->lstate);
  wsrl__policy_destroy(ag->pi);
  wsrl__qensemble_free(ag->q);
  wsrl__nn_ctx_destroy(ag->nn);
  wsrl__aligned_free(&ag->alloc, ag->s.block);
  wsrl__free(&ag->alloc, ag->act_low);
  wsrl_config_destroy(ag->config);
  wsrl__alloc a = ag->alloc;
  wsrl__free(&a, ag);
}

/* What snapshots apply around the actor, from the learner's hook. */
static void snap_extras(const wsrl_agent_t *ag, wsrl__snap_extras *ex) {
  memset(ex, 0, sizeof *ex);
  if (ag->offline->snapshot != NULL)
    ag->offline->snapshot(ag, ag->lstate, ex);
}

wsrl_status_t wsrl_agent_create(wsrl_agent_t **agent_out, const wsrl_config_t *config, const wsrl_env_spec_t *spec) {
  WSRL__CHECK_NULL(agent_out);
  *agent_out = NULL;
  WSRL__CHECK_NULL(spec);
  wsrl_env_spec_t sp;
  WSRL__TRY(wsrl__spec_read(&sp, spec));
  wsrl__config_values v;
  if (config != NULL)
    v = *wsrl__config_values_of(config);
  else
    wsrl__config_defaults(&v);
  WSRL__TRY(check_config(&v));

  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, config != NULL ? wsrl__config_allocator(config) : NULL);
  wsrl_agent_t *ag = wsrl__calloc(&alloc, 1, sizeof *ag);
  if (ag == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating an agent");
  ag->alloc = alloc;
  ag->cfg = v;
  ag->obs_dim = sp.obs_dim;
  ag->act_dim = sp.act_dim;
  ag->ensemble = (int32_t)v.critic_ensemble_size;
  ag->subsample = (int32_t)v.critic_subsample;
  ag->n_actions = (int32_t)v.cql_n_actions;
  ag->n_backup = (int32_t)v.td_max_target_actions;
  ag->batch = v.update_batch_size;
  ag->rows_max = v.update_utd * v.update_batch_size;
  ag->offline = wsrl__learner_for(v.agent_algorithm);
  ag->online = wsrl__learner_online(ag->offline, &v);

  wsrl_status_t rc = WSRL_OK;
  if (config != NULL)
    rc = wsrl_config_clone(&ag->config, config);
  else
    rc = wsrl_config_create(&ag->config);
  if (rc != WSRL_OK) {
    wsrl__free(&alloc, ag);
    return rc;
  }
  ag->act_low = wsrl__malloc(&alloc, 2 * (size_t)sp.act_dim * sizeof(float));
  if (ag->act_low == NULL) {
    agent_free(ag);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating the agent's action bounds");
  }
  ag->act_high = ag->act_low + sp.act_dim;
  for (int32_t i = 0; i < sp.act_dim; i++) {
    ag->act_low[i] = sp.action_low != NULL ? sp.action_low[i] : -1.0f;
    ag->act_high[i] = sp.action_high != NULL ? sp.action_high[i] : 1.0f;
  }

  /* RNG streams: initialisation (not kept), then update / act / loop. */
  const uint64_t seed = (uint64_t)v.agent_seed;
  wsrl__rng init;
  wsrl__rng_seed(&init, seed, 0);
  for (int32_t i = 0; i < WSRL__AGENT_RNG_COUNT; i++)
    wsrl__rng_seed(&ag->rng[i], seed, (uint64_t)i + 1);

  /* What the passes of both phases' learners need. */
  wsrl__learner_plan plan, online_plan;
  ag->offline->plan(&v, sp.obs_dim, sp.act_dim, &plan);
  ag->online->plan(&v, sp.obs_dim, sp.act_dim, &online_plan);
  wsrl__learner_plan_merge(&plan, &online_plan);
  const int64_t M = ag->rows_max;
  const int64_t R = max64(plan.rows, WSRL__AGENT_ACT_CHUNK);

  rc = wsrl__nn_ctx_create(&ag->nn, &alloc, (int32_t)v.agent_threads);
  if (rc == WSRL_OK)
    rc = wsrl__nn_ctx_set_precision(ag->nn, (int32_t)v.nn_precision);
  if (rc == WSRL_OK) {
    wsrl__qensemble_spec qs;
    wsrl__qensemble_spec_from_config(&qs, &v, sp.obs_dim, sp.act_dim, plan.q_rows);
    rc = wsrl__qensemble_create(&ag->q, ag->nn, &qs, &init);
    if (rc == WSRL_OK)
      wsrl__qensemble_share_busy(ag->q, &ag->busy);
  }
  if (rc == WSRL_OK) {
    wsrl__policy_spec ps;
    wsrl__policy_spec_from_config(&ps, &v, sp.obs_dim, sp.act_dim, max64(M, WSRL__AGENT_ACT_CHUNK));
    ps.max_samples = plan.samples;
    rc = wsrl__policy_create(&ag->pi, ag->nn, &ps, &init);
  }
  if (rc == WSRL_OK)
    rc = ag->offline->create(ag, &init, &ag->lstate);
  if (rc == WSRL_OK)
    rc = alloc_scratch(ag, R, plan.work);
  if (rc == WSRL_OK)
    rc = prepare_shapes(ag, &plan);
  if (rc == WSRL_OK && (ag->offline->actor_input == NULL || ag->offline->snapshot != NULL)) {
    /* An actor too wide for snapshots, or one behind an input transform
     * its learner does not describe, only loses wsrl_agent_policy(). */
    wsrl__snap_extras ex;
    snap_extras(ag, &ex);
    rc = wsrl__snap_pool_create(&ag->snaps, ag->pi, ag->act_low, ag->act_high, &ex, &ag->alloc);
    if (rc == WSRL_ERR_UNSUPPORTED)
      rc = WSRL_OK;
  }
  if (rc != WSRL_OK) {
    agent_free(ag);
    return rc;
  }
  wsrl__agent_apply_phase(ag, ag->offline->flags & WSRL__LEARNER_STARTS_ONLINE ? WSRL_AGENT_ONLINE : WSRL_AGENT_OFFLINE);
  atomic_init(&ag->refs, 1);
  wsrl__handle_created();
  *agent_out = ag;
  return WSRL_OK;
}

wsrl__busy *wsrl__agent_busy(wsrl_agent_t *agent) { return &agent->busy; }
void wsrl__agent_retain(wsrl_agent_t *agent) { atomic_fetch_add(&agent->refs, 1); }

wsrl_status_t wsrl__agent_enter(wsrl_agent_t *agent, int32_t mode, const char *fn) {
  WSRL__TRY(wsrl__busy_enter(&agent->busy, mode, "agent", fn));
  wsrl_status_t st = mode == WSRL__BUSY_WRITE ? wsrl__nn_ctx_check_process(agent->nn, fn) : WSRL_OK;
  if (st != WSRL_OK)
    wsrl__busy_leave(&agent->busy, mode);
  return st;
}

void wsrl__agent_release(wsrl_agent_t *agent) {
  if (atomic_fetch_sub(&agent->refs, 1) != 1)
    return;
  agent_free(agent);
  wsrl__handle_destroyed();
}

/* Drops the host's reference: a session still using the agent keeps it
 * alive until the session is destroyed (any destroy order is safe). */
void wsrl_agent_destroy(wsrl_agent_t *agent) {
  if (agent == NULL)
    return;
  wsrl__agent_release(agent);
}

/* The flag of a const handle: taking it as a reader is the one write a
 * read-only call makes. */
static wsrl__busy *agent_busy(const wsrl_agent_t *agent) { return (wsrl__busy *)&agent->busy; }

/* --------------------------------------------------------------------- act */

/* One pass of the policy on `rows` observations (rows <= CHUNK or == 1). */
static wsrl_status_t act_pass(wsrl_agent_t *ag, int64_t rows, int64_t pass_rows, const float *obs, int32_t det,
                              float *out) {
  const int64_t A = ag->act_dim;
  if (ag->offline->actor_input != NULL) /* e.g. TD3+BC's state normalisation */
    obs = ag->offline->actor_input(ag, ag->lstate, pass_rows, obs, ag->s.act_in);
  WSRL__TRY(wsrl__policy_forward(ag->pi, pass_rows, obs));
  float *a = pass_rows == rows ? out : ag->s.act_out;
  if (det || ag->offline->explore != NULL) {
    WSRL__TRY(wsrl__policy_mode(ag->pi, a));
    if (!det) /* a deterministic actor's exploration, on the real rows only */
      ag->offline->explore(ag, ag->lstate, &ag->rng[WSRL__AGENT_RNG_ACT], rows, a);
  } else {
    /* Draw noise for the real rows only: the stream advances by count * A
     * whatever the chunking. */
    wsrl__rng_fill_normal(&ag->rng[WSRL__AGENT_RNG_ACT], ag->s.act_eps, (size_t)(rows * A));
    if (pass_rows > rows)
      memset(ag->s.act_eps + rows * A, 0, (size_t)((pass_rows - rows) * A) * sizeof(float));
    WSRL__TRY(wsrl__policy_sample(ag->pi, 1, ag->s.act_eps, a, NULL));
  }
  if (a != out)
    memcpy(out, a, (size_t)(rows * A) * sizeof(float));
  if (!ag->cfg.actor_tanh_squash)
    for (int64_t i = 0; i < rows * A; i++)
      out[i] = out[i] > 1.0f ? 1.0f : out[i] < -1.0f ? -1.0f : out[i];
  /* Finite inputs can still overflow the forward pass (an observation of
   * 1e38, weights far out of range): never hand a NaN action to a robot. */
  if (!wsrl__all_finite(out, (size_t)(rows * A)))
    return wsrl__error(WSRL_ERR_NON_FINITE,
                       "act: the policy's action is NaN or infinite (an observation or a parameter out of range)");
  return WSRL_OK;
}

wsrl_status_t wsrl__agent_act_unit(wsrl_agent_t *ag, int64_t count, const float *obs, int32_t deterministic,
                                   float *action_unit_out) {
  const int64_t O = ag->obs_dim, A = ag->act_dim, C = WSRL__AGENT_ACT_CHUNK;
  if (!deterministic)
    ag->counters.act_calls++;
  if (count == 1)
    return act_pass(ag, 1, 1, obs, deterministic, action_unit_out);
  for (int64_t off = 0; off < count; off += C) {
    const int64_t rows = count - off < C ? count - off : C;
    const float *o = obs + off * O;
    if (rows < C) {
      /* Pad the last chunk to the prepared shape (rows are independent). */
      memcpy(ag->s.act_obs, o, (size_t)(rows * O) * sizeof(float));
      memset(ag->s.act_obs + rows * O, 0, (size_t)((C - rows) * O) * sizeof(float));
      o = ag->s.act_obs;
    }
    WSRL__TRY(act_pass(ag, rows, C, o, deterministic, action_unit_out + off * A));
  }
  return WSRL_OK;
}

static wsrl_status_t agent_act(wsrl_agent_t *agent, int64_t count, const float *obs, int32_t flags, float *action_out) {
  if (count < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_act: count must be >= 1 (got %lld)", (long long)count);
  if ((flags & ~(WSRL_ACT_DETERMINISTIC | WSRL_ACT_UNIT)) != 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_act: unknown flags 0x%x", (unsigned)flags);
  const int64_t O = agent->obs_dim, A = agent->act_dim;
  for (int64_t r = 0; r < count; r++)
    if (!wsrl__all_finite(obs + r * O, (size_t)O))
      return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_agent_act: observation row %lld holds NaN or infinity",
                         (long long)r);
  WSRL__TRY(wsrl__agent_act_unit(agent, count, obs, flags & WSRL_ACT_DETERMINISTIC, action_out));
  if (!(flags & WSRL_ACT_UNIT))
    for (int64_t r = 0; r < count; r++)
      wsrl__action_scale(agent->act_low, agent->act_high, (size_t)A, action_out + r * A, action_out + r * A);
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_act(wsrl_agent_t *agent, int64_t count, const float *obs, int32_t flags, float *action_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(obs);
  WSRL__CHECK_NULL(action_out);
  WSRL__AGENT_GUARDED(agent, "wsrl_agent_act",
                agent_act(agent, count, obs, flags, action_out));
}

wsrl_status_t wsrl_agent_unit_actions(const wsrl_agent_t *agent, int64_t count, const float *scaled, float *unit_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(scaled);
  WSRL__CHECK_NULL(unit_out);
  if (count < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_unit_actions: count must be >= 1 (got %lld)",
                       (long long)count);
  const int64_t A = agent->act_dim;
  for (int64_t r = 0; r < count; r++)
    wsrl__action_unscale(agent->act_low, agent->act_high, (size_t)A, scaled + r * A, unit_out + r * A);
  return WSRL_OK;
}

/* ------------------------------------------------------------------ update */

void wsrl__agent_publish(wsrl_agent_t *agent) {
  if (agent->snaps == NULL)
    return;
  wsrl__snap_extras ex;
  snap_extras(agent, &ex);
  wsrl__snap_pool_publish(agent->snaps, agent->pi, &ex, (uint64_t)agent->counters.updates);
}

wsrl_status_t wsrl_agent_policy(wsrl_agent_t *agent, wsrl_policy_t **policy_out) {
  WSRL__CHECK_NULL(policy_out);
  *policy_out = NULL;
  WSRL__CHECK_NULL(agent);
  if (agent->snaps == NULL && agent->offline->actor_input != NULL)
    return wsrl__error(WSRL_ERR_UNSUPPORTED,
                       "wsrl_agent_policy: the %s learner transforms observations before the actor and does not "
                       "describe the transform to policy snapshots",
                       agent->offline->name);
  if (agent->snaps == NULL)
    return wsrl__error(WSRL_ERR_UNSUPPORTED, "wsrl_agent_policy: the actor is wider than WSRL_POLICY_MAX_WIDTH = %d",
                       WSRL_POLICY_MAX_WIDTH);
  *policy_out = wsrl__snap_pool_latest(agent->snaps);
  return WSRL_OK;
}

/* Check one array of the public batch for NaN/inf, naming the row. */
static wsrl_status_t check_rows(const float *x, int64_t rows, int64_t width, const char *name) {
  for (int64_t r = 0; r < rows; r++)
    if (!wsrl__all_finite(x + r * width, (size_t)width))
      return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_agent_update: batch->%s row %lld holds NaN or infinity", name,
                         (long long)r);
  return WSRL_OK;
}

static wsrl_status_t agent_update(wsrl_agent_t *agent, const wsrl_batch_t *batch) {
  wsrl_batch_t b;
  WSRL__TRY(wsrl__struct_copy_in(&b, sizeof b, batch, batch->struct_size, "batch", "WSRL_BATCH_INIT"));
  if (!FIELD_PRESENT(batch->struct_size, wsrl_batch_t, mc_return))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "batch->struct_size %u is too small to hold the batch fields",
                       (unsigned)batch->struct_size);
  const int64_t rows = wsrl__agent_batch_rows(agent);
  if (b.size != rows)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_agent_update: batch->size is %lld but this phase needs %lld rows (utd %d x "
                       "update.batch_size %lld; see wsrl_agent_batch_rows())",
                       (long long)b.size, (long long)rows, (int)agent->utd, (long long)agent->batch);
  const char *missing = b.obs == NULL                              ? "obs"
                        : b.action == NULL                         ? "action"
                        : b.reward == NULL                         ? "reward"
                        : b.next_obs == NULL                       ? "next_obs"
                        : (b.mask == NULL && b.terminated == NULL) ? "mask (or terminated)"
                                                                   : NULL;
  if (missing != NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_update: batch->%s is NULL", missing);
  const int32_t need_mc = wsrl__agent_needs_mc_return(agent);
  if (need_mc && b.mc_return == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_agent_update: batch->mc_return is NULL but the Cal-QL loss needs it");
  const int64_t O = agent->obs_dim, A = agent->act_dim;
  WSRL__TRY(check_rows(b.obs, rows, O, "obs"));
  WSRL__TRY(check_rows(b.action, rows, A, "action"));
  WSRL__TRY(check_rows(b.reward, rows, 1, "reward"));
  WSRL__TRY(check_rows(b.next_obs, rows, O, "next_obs"));
  if (b.mask != NULL)
    WSRL__TRY(check_rows(b.mask, rows, 1, "mask"));
  if (need_mc)
    WSRL__TRY(check_rows(b.mc_return, rows, 1, "mc_return"));

  wsrl__agent_batch ib = {rows, b.obs, b.action, b.reward, b.next_obs, b.mask, need_mc ? b.mc_return : NULL};
  if (b.mask == NULL) {
    for (int64_t r = 0; r < rows; r++)
      agent->s.mask_conv[r] = b.terminated[r] != 0 ? 0.0f : 1.0f;
    ib.mask = agent->s.mask_conv;
  }
  if (b.action_scaled) {
    for (int64_t r = 0; r < rows; r++)
      wsrl__action_unscale(agent->act_low, agent->act_high, (size_t)A, b.action + r * A, agent->s.act_conv + r * A);
    ib.action = agent->s.act_conv;
  }
  return wsrl__agent_update(agent, &ib);
}

wsrl_status_t wsrl_agent_update(wsrl_agent_t *agent, const wsrl_batch_t *batch) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(batch);
  WSRL__AGENT_GUARDED(agent, "wsrl_agent_update", agent_update(agent, batch));
}

wsrl_status_t wsrl_agent_batch_rows(const wsrl_agent_t *agent, int64_t *rows_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(rows_out);
  WSRL__TRY(wsrl__busy_enter(agent_busy(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_batch_rows"));
  *rows_out = wsrl__agent_batch_rows(agent);
  wsrl__busy_leave(agent_busy(agent), WSRL__BUSY_READ);
  return WSRL_OK;
}

/* ------------------------------------------------------------ phase switch */

wsrl_status_t wsrl__agent_switch_online(wsrl_agent_t *ag) {
  if (ag->phase == WSRL_AGENT_ONLINE)
    return WSRL_OK;
  if (ag->cfg.finetune_reset_optimizer) {
    wsrl__qensemble_adam_reset(ag->q);
    wsrl__policy_adam_reset(ag->pi);
    if (ag->offline->reset_optimizer != NULL)
      ag->offline->reset_optimizer(ag->lstate);
  }
  wsrl__agent_apply_phase(ag, WSRL_AGENT_ONLINE);
  wsrl__log(WSRL_LOG_INFO, "agent: switched to online fine-tuning with the %s learner (utd %d)", ag->online->name,
            (int)ag->utd);
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_switch_online(wsrl_agent_t *agent) {
  WSRL__CHECK_NULL(agent);
  WSRL__GUARDED(&agent->busy, WSRL__BUSY_WRITE, "agent", "wsrl_agent_switch_online", wsrl__agent_switch_online(agent));
}

int32_t wsrl__agent_phase(const wsrl_agent_t *agent) { return agent->phase; }

wsrl_status_t wsrl_agent_phase(const wsrl_agent_t *agent, int32_t *phase_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(phase_out);
  WSRL__TRY(wsrl__busy_enter(agent_busy(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_phase"));
  *phase_out = agent->phase;
  wsrl__busy_leave(agent_busy(agent), WSRL__BUSY_READ);
  return WSRL_OK;
}

/* ------------------------------------------------------ counters / metrics */

const wsrl__agent_counters *wsrl__agent_get_counters(const wsrl_agent_t *agent) { return &agent->counters; }

wsrl_status_t wsrl_agent_counters(const wsrl_agent_t *agent, wsrl_agent_counters_t *counters_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(counters_out);
  const uint32_t size = counters_out->struct_size;
  wsrl_agent_counters_t probe;
  WSRL__TRY(wsrl__struct_copy_in(&probe, sizeof probe, counters_out, size, "counters", "WSRL_AGENT_COUNTERS_INIT"));
  WSRL__TRY(wsrl__busy_enter(agent_busy(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_counters"));
  const wsrl__agent_counters *c = &agent->counters;
  wsrl_agent_counters_t full = {
      size,           agent->phase,       c->updates,  c->offline_updates, c->online_updates, c->critic_steps,
      c->actor_steps, c->nonfinite_skips, c->act_calls};
  wsrl__busy_leave(agent_busy(agent), WSRL__BUSY_READ);
  memcpy(counters_out, &full, size);
  return WSRL_OK;
}

void wsrl__agent_metrics(const wsrl_agent_t *agent, int32_t *count_out, const char *const **names_out,
                         const double **values_out) {
  if (count_out != NULL)
    *count_out = agent->metric_count;
  if (names_out != NULL)
    *names_out = agent->metric_names;
  if (values_out != NULL)
    *values_out = agent->metrics;
}

wsrl_status_t wsrl_agent_metric_count(const wsrl_agent_t *agent, int32_t *count_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(count_out);
  WSRL__TRY(wsrl__busy_enter(agent_busy(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_metric_count"));
  *count_out = agent->metric_count;
  wsrl__busy_leave(agent_busy(agent), WSRL__BUSY_READ);
  return WSRL_OK;
}

static wsrl_status_t agent_metric(const wsrl_agent_t *agent, int32_t index, const char **name_out, double *value_out) {
  if (index < 0 || index >= agent->metric_count)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_metric: index %d is out of range [0, %d)", (int)index,
                       (int)agent->metric_count);
  if (name_out != NULL)
    *name_out = agent->metric_names[index];
  if (value_out != NULL)
    *value_out = agent->metrics[index];
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_metric(const wsrl_agent_t *agent, int32_t index, const char **name_out, double *value_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__GUARDED(agent_busy(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_metric",
                agent_metric(agent, index, name_out, value_out));
}

static wsrl_status_t agent_metric_by_name(const wsrl_agent_t *agent, const char *name, double *value_out) {
  for (int32_t i = 0; i < agent->metric_count; i++)
    if (strcmp(agent->metric_names[i], name) == 0) {
      *value_out = agent->metrics[i];
      return WSRL_OK;
    }
  return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_metric_by_name: the %s learner has no metric '%s'",
                     wsrl__agent_current(agent)->name, name);
}

wsrl_status_t wsrl_agent_metric_by_name(const wsrl_agent_t *agent, const char *name, double *value_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(name);
  WSRL__CHECK_NULL(value_out);
  WSRL__GUARDED(agent_busy(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_metric_by_name",
                agent_metric_by_name(agent, name, value_out));
}

/* ---------------------------------------------------------------- getters */

wsrl_qensemble_t *wsrl_agent_qensemble(wsrl_agent_t *agent) {
  if (agent == NULL) {
    (void)wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_qensemble: argument 'agent' is NULL");
    return NULL;
  }
  return agent->q;
}

wsrl_status_t wsrl_agent_info(const wsrl_agent_t *agent, int32_t *obs_dim_out, int32_t *act_dim_out,
                              int32_t *algorithm_out) {
  WSRL__CHECK_NULL(agent);
  if (obs_dim_out != NULL)
    *obs_dim_out = agent->obs_dim;
  if (act_dim_out != NULL)
    *act_dim_out = agent->act_dim;
  if (algorithm_out != NULL)
    *algorithm_out = agent->cfg.agent_algorithm;
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_memory_usage(const wsrl_agent_t *agent, uint64_t *bytes_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(bytes_out);
  /* Sizes fixed at create: no flag needed. */
  uint64_t n = sizeof *agent + agent->scratch_bytes + 2 * (uint64_t)agent->act_dim * sizeof(float);
  n += wsrl__qensemble_memory_usage(agent->q) + wsrl__policy_memory_usage(agent->pi);
  if (agent->offline->memory_usage != NULL)
    n += agent->offline->memory_usage(agent->lstate);
  *bytes_out = n;
  return WSRL_OK;
}

const wsrl__config_values *wsrl__agent_config(const wsrl_agent_t *agent) { return &agent->cfg; }
int32_t wsrl__agent_obs_dim(const wsrl_agent_t *agent) { return agent->obs_dim; }
int32_t wsrl__agent_act_dim(const wsrl_agent_t *agent) { return agent->act_dim; }
const float *wsrl__agent_action_low(const wsrl_agent_t *agent) { return agent->act_low; }
const float *wsrl__agent_action_high(const wsrl_agent_t *agent) { return agent->act_high; }
const wsrl__alloc *wsrl__agent_alloc(const wsrl_agent_t *agent) { return &agent->alloc; }

wsrl__rng *wsrl__agent_rng(wsrl_agent_t *agent, int32_t which) {
  return which >= 0 && which < WSRL__AGENT_RNG_COUNT ? &agent->rng[which] : NULL;
}
