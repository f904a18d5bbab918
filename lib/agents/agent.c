/*
 * The agent handle: create (every network, optimizer, RNG stream, scratch
 * buffer and oneDNN shape built here), act, the public update wrapper,
 * phase switch, counters and metrics. The losses live in sac.c, cql.c and
 * iql.c behind wsrl__agent_ops; checkpoints in checkpoint.c.
 */
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "agent_internal.h"
#include "env/env_internal.h"

#define FIELD_PRESENT WSRL__FIELD_PRESENT

/* ------------------------------------------------------------ init helpers */

WSRL__DEFINE_STRUCT_INIT(wsrl_batch_init, wsrl_batch_t, batch, WSRL_BATCH_INIT)

WSRL__DEFINE_STRUCT_INIT(wsrl_agent_counters_init, wsrl_agent_counters_t, counters, WSRL_AGENT_COUNTERS_INIT)

/* ------------------------------------------------------------------ create */

/* Read the host's spec (maybe older and shorter) into a full-size copy. */
static wsrl_status_t read_spec(wsrl_env_spec_t *s, const wsrl_env_spec_t *spec) {
  WSRL__TRY(wsrl__struct_copy_in(s, sizeof *s, spec, spec->struct_size, "spec", "WSRL_ENV_SPEC_INIT"));
  if (!FIELD_PRESENT(spec->struct_size, wsrl_env_spec_t, act_dim))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->struct_size %u is too small to hold obs_dim and act_dim",
                       (unsigned)spec->struct_size);
  if (s->obs_dim < 1 || s->obs_dim > WSRL__ENV_MAX_DIM)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->obs_dim must be in [1, %d] (got %d)", WSRL__ENV_MAX_DIM,
                       (int)s->obs_dim);
  if (s->act_dim < 1 || s->act_dim > WSRL__ENV_MAX_DIM)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "spec->act_dim must be in [1, %d] (got %d)", WSRL__ENV_MAX_DIM,
                       (int)s->act_dim);
  for (int32_t i = 0; i < s->act_dim; i++) {
    const float lo = s->action_low != NULL ? s->action_low[i] : -1.0f;
    const float hi = s->action_high != NULL ? s->action_high[i] : 1.0f;
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "spec->action_low[%d] = %g and action_high[%d] = %g: bounds must be finite with low < high",
                         (int)i, (double)lo, (int)i, (double)hi);
  }
  return WSRL_OK;
}

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
static wsrl_status_t alloc_scratch(wsrl_agent_t *ag, int64_t R, int64_t Rq) {
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
      {(void **)&ag->s.act_eps, C * A * 4}, {(void **)&ag->s.work, (Rq + 2 * (3 * (int64_t)ag->n_actions + 1) + 8) * 8},
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
  const wsrl__agent_learner *l = wsrl__agent_current(ag);
  ag->metric_names = l->iface->metric_names;
  ag->metric_count = l->iface->metric_count;
  for (int32_t i = 0; i < WSRL__AGENT_MAX_METRICS; i++)
    ag->metrics[i] = NAN;
}

/* Learner settings from the config. */
static void setup_learners(wsrl_agent_t *ag) {
  const wsrl__config_values *v = &ag->cfg;
  const int32_t algo = v->agent_algorithm;
  memset(&ag->ctx_offline, 0, sizeof ag->ctx_offline);
  memset(&ag->ctx_online, 0, sizeof ag->ctx_online);
  /* The online SAC-ensemble learner (WSRL): no CQL term, optional options of §2. */
  wsrl__cql_ctx sac = {0, 0, v->td_max_target_backup == WSRL__MAX_BACKUP_ALL, v->td_backup_entropy};
  switch (algo) {
  case WSRL__ALGO_CQL:
  case WSRL__ALGO_CALQL:
    ag->ctx_offline.cql_loss = 1;
    ag->ctx_offline.calql = algo == WSRL__ALGO_CALQL;
    ag->ctx_offline.max_target_backup = v->td_max_target_backup != WSRL__MAX_BACKUP_NONE;
    ag->ctx_offline.backup_entropy = 0; /* never in the CQL target */
    ag->offline.iface = algo == WSRL__ALGO_CALQL ? &wsrl__calql_ops : &wsrl__cql_ops;
    ag->offline.context = &ag->ctx_offline;
    break;
  case WSRL__ALGO_IQL:
    ag->offline.iface = &wsrl__iql_ops;
    ag->offline.context = NULL;
    break;
  default:
    ag->ctx_offline = sac;
    ag->offline.iface = &wsrl__sac_ops;
    ag->offline.context = &ag->ctx_offline;
    break;
  }
  if (v->finetune_online_algorithm == WSRL__ONLINE_SAME || algo == WSRL__ALGO_SAC) {
    ag->ctx_online = ag->ctx_offline;
    ag->online.iface = ag->offline.iface;
    ag->online.context = ag->offline.context == NULL ? NULL : &ag->ctx_online;
  } else {
    ag->ctx_online = sac;
    ag->online.iface = &wsrl__sac_ops;
    ag->online.context = &ag->ctx_online;
  }
}

void wsrl__agent_apply_phase(wsrl_agent_t *ag, int32_t phase) {
  ag->phase = phase;
  ag->utd = phase == WSRL_AGENT_ONLINE ? (int32_t)ag->cfg.update_utd : 1;
  set_learner_metrics(ag);
}

/* Build every primitive the losses and act will use, so that they never
 * allocate later. */
static wsrl_status_t prepare_shapes(wsrl_agent_t *ag, int32_t n_rep_max, int64_t Rq) {
  const int64_t B = ag->batch, M = ag->rows_max;
  const int64_t pol[] = {1, WSRL__AGENT_ACT_CHUNK, B, M};
  for (size_t i = 0; i < sizeof pol / sizeof pol[0]; i++)
    WSRL__TRY(wsrl__policy_prepare(ag->pi, pol[i]));
  const int64_t qs[] = {B, M, B * n_rep_max, Rq, B * ag->n_backup};
  const size_t max_backup = sizeof qs / sizeof qs[0] - 1;
  for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
    if (i == max_backup && n_rep_max == 1)
      continue; /* the max-backup shape is not used (by position: M may equal it) */
    WSRL__TRY(wsrl__qensemble_prepare(ag->q, qs[i]));
  }
  if (ag->value != NULL) {
    WSRL__TRY(wsrl__mlp_prepare(ag->value, B, WSRL__MLP_SHARED));
    WSRL__TRY(wsrl__mlp_prepare(ag->value, M, WSRL__MLP_SHARED));
  }
  return WSRL_OK;
}

static void agent_free(wsrl_agent_t *ag) {
  wsrl__snap_pool_drop(ag->snaps);
  wsrl__mlp_destroy(ag->value);
  wsrl__policy_destroy(ag->pi);
  wsrl__qensemble_free(ag->q);
  wsrl__nn_ctx_destroy(ag->nn);
  wsrl__aligned_free(&ag->alloc, ag->s.block);
  wsrl__free(&ag->alloc, ag->act_low);
  wsrl_config_destroy(ag->config);
  wsrl__alloc a = ag->alloc;
  wsrl__free(&a, ag);
}

wsrl_status_t wsrl_agent_create(wsrl_agent_t **agent_out, const wsrl_config_t *config, const wsrl_env_spec_t *spec) {
  WSRL__CHECK_NULL(agent_out);
  *agent_out = NULL;
  WSRL__CHECK_NULL(spec);
  wsrl_env_spec_t sp;
  WSRL__TRY(read_spec(&sp, spec));
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
  ag->target_entropy = isnan(v.temperature_target_entropy) ? (float)-sp.act_dim : (float)v.temperature_target_entropy;

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

  setup_learners(ag);
  const int32_t algo = v.agent_algorithm;
  const int32_t cql = algo == WSRL__ALGO_CQL || algo == WSRL__ALGO_CALQL;
  const int32_t n_rep_max = (cql && v.td_max_target_backup != WSRL__MAX_BACKUP_NONE) ||
                                  v.td_max_target_backup == WSRL__MAX_BACKUP_ALL
                              ? ag->n_backup
                              : 1;
  const int64_t B = ag->batch, M = ag->rows_max, N = ag->n_actions;
  const int64_t Rq = cql ? B * (3 * N + 1) : B;
  const int64_t q_rows = max64(max64(Rq, M), B * n_rep_max);
  const int64_t R = max64(max64(q_rows, M * n_rep_max), WSRL__AGENT_ACT_CHUNK);

  rc = wsrl__nn_ctx_create(&ag->nn, &alloc, (int32_t)v.agent_threads);
  if (rc == WSRL_OK)
    rc = wsrl__nn_ctx_set_precision(ag->nn, (int32_t)v.nn_precision);
  if (rc == WSRL_OK) {
    wsrl__qensemble_spec qs;
    wsrl__qensemble_spec_from_config(&qs, &v, sp.obs_dim, sp.act_dim, q_rows);
    rc = wsrl__qensemble_create(&ag->q, ag->nn, &qs, &init);
    if (rc == WSRL_OK)
      wsrl__qensemble_share_busy(ag->q, &ag->busy);
  }
  if (rc == WSRL_OK) {
    wsrl__policy_spec ps;
    wsrl__policy_spec_from_config(&ps, &v, sp.obs_dim, sp.act_dim, max64(M, WSRL__AGENT_ACT_CHUNK));
    ps.max_samples = (int32_t)(cql ? N : n_rep_max);
    if (ps.max_samples < n_rep_max)
      ps.max_samples = n_rep_max;
    rc = wsrl__policy_create(&ag->pi, ag->nn, &ps, &init);
  }
  if (rc == WSRL_OK && algo == WSRL__ALGO_IQL) {
    /* IQL's V(s): the critics' architecture with one output. */
    wsrl__mlp_spec ms;
    memset(&ms, 0, sizeof ms);
    ms.ensemble = 1;
    ms.in_dim = sp.obs_dim;
    ms.out_dim = 1;
    ms.n_hidden = v.critic_hidden.n;
    for (int32_t i = 0; i < v.critic_hidden.n; i++)
      ms.hidden[i] = (int32_t)v.critic_hidden.v[i];
    ms.layer_norm = v.critic_layer_norm;
    ms.kernel_scale_final = (float)v.critic_kernel_scale_final;
    ms.hidden_init = v.critic_kernel_init;
    ms.max_batch = M;
    ms.trainable = 1;
    wsrl__adam_cfg ac;
    wsrl__adam_cfg_from_config(&ac, &v, v.optim_critic_lr);
    rc = wsrl__mlp_create(&ag->value, ag->nn, &ms, &ac, &init);
  }
  if (rc == WSRL_OK) {
    wsrl__adam_cfg ac;
    wsrl__adam_cfg_from_config(&ac, &v, v.optim_temperature_lr);
    rc = wsrl__scalar_init(&ag->temperature, WSRL__SCALAR_SOFTPLUS, v.temperature_initial, &ac);
  }
  if (rc == WSRL_OK) {
    ag->has_lagrange = cql && v.cql_autotune_alpha;
    wsrl__adam_cfg ac;
    wsrl__adam_cfg_from_config(&ac, &v, v.cql_lagrange_lr);
    rc = wsrl__scalar_init(&ag->lagrange, WSRL__SCALAR_SOFTPLUS, v.cql_lagrange_init, &ac);
  }
  if (rc == WSRL_OK)
    rc = alloc_scratch(ag, R, Rq);
  if (rc == WSRL_OK)
    rc = prepare_shapes(ag, n_rep_max, Rq);
  if (rc == WSRL_OK) {
    /* An actor too wide for snapshots only loses wsrl_agent_policy(). */
    rc = wsrl__snap_pool_create(&ag->snaps, ag->pi, ag->act_low, ag->act_high, &ag->alloc);
    if (rc == WSRL_ERR_UNSUPPORTED)
      rc = WSRL_OK;
  }
  if (rc != WSRL_OK) {
    agent_free(ag);
    return rc;
  }
  wsrl__agent_apply_phase(ag, algo == WSRL__ALGO_SAC ? WSRL_AGENT_ONLINE : WSRL_AGENT_OFFLINE);
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
  WSRL__TRY(wsrl__policy_forward(ag->pi, pass_rows, obs));
  float *a = pass_rows == rows ? out : ag->s.act_out;
  if (det) {
    WSRL__TRY(wsrl__policy_mode(ag->pi, a));
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
      wsrl__env_scale_action(agent->act_low, agent->act_high, (size_t)A, action_out + r * A, action_out + r * A);
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
    wsrl__env_unscale_action(agent->act_low, agent->act_high, (size_t)A, scaled + r * A, unit_out + r * A);
  return WSRL_OK;
}

/* ------------------------------------------------------------------ update */

int64_t wsrl__agent_batch_rows(const wsrl_agent_t *agent) { return (int64_t)agent->utd * agent->batch; }
int64_t wsrl__agent_max_batch_rows(const wsrl_agent_t *agent) { return agent->rows_max; }

int32_t wsrl__agent_needs_mc_return(const wsrl_agent_t *agent) {
  const wsrl__agent_learner *l = wsrl__agent_current(agent);
  return l->iface == &wsrl__calql_ops;
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
  if (batch->mc_return == NULL && wsrl__agent_needs_mc_return(agent))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "agent update: Cal-QL needs the batch's mc_return");
  const wsrl__agent_learner *l = wsrl__agent_current(agent);
  WSRL__TRY(l->iface->update(agent, l->context, batch));
  agent->counters.updates++;
  if (agent->phase == WSRL_AGENT_ONLINE)
    agent->counters.online_updates++;
  else
    agent->counters.offline_updates++;
  wsrl__agent_publish(agent);
  return WSRL_OK;
}

void wsrl__agent_publish(wsrl_agent_t *agent) {
  if (agent->snaps != NULL)
    wsrl__snap_pool_publish(agent->snaps, agent->pi, (uint64_t)agent->counters.updates);
}

wsrl_status_t wsrl_agent_policy(wsrl_agent_t *agent, wsrl_policy_t **policy_out) {
  WSRL__CHECK_NULL(policy_out);
  *policy_out = NULL;
  WSRL__CHECK_NULL(agent);
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
      wsrl__env_unscale_action(agent->act_low, agent->act_high, (size_t)A, b.action + r * A, agent->s.act_conv + r * A);
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
    wsrl__scalar_reset_adam(&ag->temperature);
    wsrl__scalar_reset_adam(&ag->lagrange);
    if (ag->value != NULL)
      wsrl__mlp_adam_reset(ag->value);
  }
  wsrl__agent_apply_phase(ag, WSRL_AGENT_ONLINE);
  wsrl__log(WSRL_LOG_INFO, "agent: switched to online fine-tuning with the %s learner (utd %d)", ag->online.iface->name,
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
                     wsrl__agent_current(agent)->iface->name, name);
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
  if (agent->value != NULL)
    n += wsrl__mlp_memory_usage(agent->value);
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

/* -------------------------------------------------- optimizer step helpers */

/* A non-finite gradient leaves the parameters as they were; count it. */
static wsrl_status_t count_skip(wsrl_agent_t *ag, wsrl_status_t st) {
  if (st == WSRL_ERR_NON_FINITE) {
    ag->counters.nonfinite_skips++;
    wsrl_clear_error();
    return WSRL_OK;
  }
  return st;
}

wsrl_status_t wsrl__agent_critic_step(wsrl_agent_t *ag, float *norm_out) {
  return count_skip(ag, wsrl__qensemble_adam_step(ag->q, norm_out));
}

wsrl_status_t wsrl__agent_critic_step_polyak(wsrl_agent_t *ag, float tau, float *norm_out) {
  return count_skip(ag, wsrl__qensemble_adam_step_polyak(ag->q, tau, norm_out));
}

wsrl_status_t wsrl__agent_actor_step(wsrl_agent_t *ag, float *norm_out) {
  return count_skip(ag, wsrl__policy_adam_step(ag->pi, norm_out));
}

wsrl_status_t wsrl__agent_value_step(wsrl_agent_t *ag) { return count_skip(ag, wsrl__mlp_adam_step(ag->value, NULL)); }

void wsrl__agent_scalar_step(wsrl_agent_t *ag, wsrl__scalar *s, double grad) {
  if (!isfinite(grad)) {
    ag->counters.nonfinite_skips++;
    return;
  }
  wsrl__scalar_step(s, grad);
}

wsrl_status_t wsrl__agent_step_untrained(wsrl_agent_t *ag, int32_t nets) {
  if (nets & WSRL__NET_CRITIC) {
    wsrl__qensemble_zero_grad(ag->q);
    WSRL__TRY(wsrl__agent_critic_step(ag, NULL));
  }
  if (nets & WSRL__NET_ACTOR) {
    wsrl__policy_zero_grad(ag->pi);
    WSRL__TRY(wsrl__agent_actor_step(ag, NULL));
  }
  if (nets & WSRL__NET_TEMP)
    wsrl__scalar_step(&ag->temperature, 0.0);
  if ((nets & WSRL__NET_LAGRANGE) && ag->has_lagrange)
    wsrl__scalar_step(&ag->lagrange, 0.0);
  if ((nets & WSRL__NET_VALUE) && ag->value != NULL) {
    wsrl__mlp_zero_grad(ag->value);
    WSRL__TRY(wsrl__agent_value_step(ag));
  }
  return WSRL_OK;
}
