/* The host-owned fine-tuning session: the online buffer, the warmup ->
 * online phase machine and the due updates. wsrl_finetune() (finetune.c)
 * drives the same functions from the library's own loop. */
#include <math.h>
#include <string.h>

#include "env/env_internal.h"
#include "train_internal.h"

/* Stream ids for the session's RNG children, so equal seeds never collide
 * with the agent's own streams. */
#define SESSION_RNG_STREAM 0x73657373696f6eull /* "session" */

WSRL__DEFINE_STRUCT_INIT(wsrl_session_options_init, wsrl_session_options_t, options, WSRL_SESSION_OPTIONS_INIT)

WSRL__DEFINE_STRUCT_INIT(wsrl_session_info_init, wsrl_session_info_t, info, WSRL_SESSION_INFO_INIT)

/* ------------------------------------------------------------------ create */

/* Rows of an update drawn from the dataset (mixed) and from the online buffer.
 * blocks takes int(ratio * rows) like the reference; interleaved rounds. */
static int64_t offline_rows(const wsrl_session_t *s, int64_t rows) {
  if (s->mode != WSRL__OFFLINE_MIXED)
    return 0;
  const double x = s->ratio * (double)rows;
  return (int64_t)(s->cfg.finetune_mixed_layout == WSRL__MIXED_BLOCKS ? floor(x) : floor(x + 0.5));
}

void wsrl__session_resolve_start(wsrl_session_t *s) {
  /* A learner reading MC returns online (Cal-QL kept online) needs final
   * ones: completed episodes only, and no update before one is in. */
  const int calql_online = wsrl__agent_online_needs_mc_return(s->agent);
  const int64_t rows = wsrl__agent_batch_rows(s->agent);
  const int64_t ep = calql_online ? s->episode_len_hint : 0;
  s->completed_only = calql_online && s->cfg.calql_online_completed_episodes;
  if (s->cfg.finetune_start_updates_after > 0) {
    s->start_after = s->cfg.finetune_start_updates_after;
  } else if (s->cfg.finetune_start_rule == WSRL__START_REFERENCE) {
    /* The reference's min_steps_to_update: no update until the buffer holds
     * more than max(K, online rows of an update [, episode length]). */
    const int64_t m = rows - offline_rows(s, rows);
    s->start_after = (m > ep ? m : ep) + 1;
  } else if (calql_online) {
    s->start_after = rows > ep ? rows : ep;
  } else {
    s->start_after = 0;
  }
}

static void session_free(wsrl_session_t *s) {
  wsrl__replay_batch_free(&s->batch, &s->alloc);
  wsrl_replay_destroy(s->online);
  if (s->retained) {
    wsrl__agent_release(s->agent);
    if (s->offline != NULL)
      wsrl__replay_release(s->offline);
  }
  wsrl__free(&s->alloc, s->obs);
  wsrl__alloc a = s->alloc;
  wsrl__free(&a, s);
}

wsrl_status_t wsrl__session_fill_append(wsrl_session_t *s) {
  if (s->mode != WSRL__OFFLINE_APPEND)
    return WSRL_OK;
  return wsrl_replay_append(s->online, s->offline);
}

/* Validate the options and the dataset; fills opt (full size). */
static wsrl_status_t check_options(wsrl_agent_t *agent, const wsrl_session_options_t *options,
                                   wsrl_session_options_t *opt, const wsrl__config_values **cfg_out) {
  if (options == NULL) {
    const wsrl_session_options_t init = WSRL_SESSION_OPTIONS_INIT;
    *opt = init;
  } else {
    WSRL__TRY(wsrl__struct_copy_in(opt, sizeof *opt, options, options->struct_size, "options",
                                   "WSRL_SESSION_OPTIONS_INIT"));
  }
  const wsrl__config_values *cfg = wsrl__agent_config(agent); /* one config per agent and session */
  if (opt->max_episode_steps < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_session_create: options->max_episode_steps must be >= 0 (got %lld)",
                       (long long)opt->max_episode_steps);
  if (cfg->finetune_offline_data != WSRL__OFFLINE_NONE) {
    const char *mode = cfg->finetune_offline_data == WSRL__OFFLINE_MIXED ? "mixed" : "append";
    if (opt->offline == NULL)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "wsrl_session_create: finetune.offline_data = %s needs options->offline (the dataset)", mode);
    int32_t O = 0, A = 0;
    int64_t n = 0;
    WSRL__TRY(wsrl_replay_dims(opt->offline, &O, &A));
    WSRL__TRY(wsrl_replay_size(opt->offline, &n));
    if (O != wsrl__agent_obs_dim(agent) || A != wsrl__agent_act_dim(agent))
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "wsrl_session_create: options->offline has obs_dim %d, act_dim %d but the agent has %d, %d",
                         O, A, wsrl__agent_obs_dim(agent), wsrl__agent_act_dim(agent));
    if (n == 0)
      return wsrl__error(WSRL_ERR_WRONG_STATE, "wsrl_session_create: options->offline (finetune.offline_data = %s) "
                         "is empty", mode);
    /* Mixed batches and the appended buffer feed the dataset's stored
     * rewards and MC returns to the learner as they are. */
    WSRL__TRY(wsrl__replay_check_agrees(opt->offline, cfg, "wsrl_session_create", "options->offline"));
  }
  *cfg_out = cfg;
  return WSRL_OK;
}

wsrl_status_t wsrl_session_create(wsrl_session_t **session_out, wsrl_agent_t *agent,
                                  const wsrl_session_options_t *options) {
  WSRL__CHECK_NULL(session_out);
  *session_out = NULL;
  WSRL__CHECK_NULL(agent);
  wsrl_session_options_t opt;
  const wsrl__config_values *cfg = NULL;
  WSRL__TRY(check_options(agent, options, &opt, &cfg));

  const wsrl__alloc *alloc = wsrl__agent_alloc(agent);
  wsrl_session_t *s = wsrl__calloc(alloc, 1, sizeof *s);
  if (s == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_session_create: cannot allocate the session");
  s->alloc = *alloc;
  s->agent = agent;
  s->cfg = *cfg;
  s->obs_dim = wsrl__agent_obs_dim(agent);
  s->act_dim = wsrl__agent_act_dim(agent);
  s->mode = (int32_t)cfg->finetune_offline_data;
  s->ratio = cfg->finetune_offline_ratio;
  s->offline = s->mode == WSRL__OFFLINE_NONE ? NULL : opt.offline;
  s->warmup = cfg->finetune_warmup_steps;
  s->episode_len_opt = s->episode_len_hint = opt.max_episode_steps;
  s->last_ep_return = NAN;
  s->last_eval_step = -1;
  s->last_eval.return_mean = NAN;

  /* Seeds: one draw from the agent's loop stream (committed on success),
   * so a session is reproducible from the agent's state. */
  wsrl__rng loop = *wsrl__agent_rng(agent, WSRL__AGENT_RNG_LOOP), seeder;
  wsrl__rng_seed(&seeder, wsrl__rng_next(&loop), SESSION_RNG_STREAM);
  wsrl__rng_split(&seeder, &s->rng);
  wsrl__rng_split(&seeder, &s->offline_rng);
  s->eval_seed = wsrl__rng_next(&seeder) >> 1;

  const size_t O = (size_t)s->obs_dim, A = (size_t)s->act_dim;
  wsrl_status_t st = WSRL_OK;
  s->obs = wsrl__malloc(alloc, (4 * O + 3 * A) * sizeof(float));
  if (s->obs == NULL) {
    st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_session_create: cannot allocate the loop buffers");
    goto fail;
  }
  s->next_obs = s->obs + O;
  s->ev_obs = s->obs + 2 * O;
  s->ev_next = s->obs + 3 * O;
  s->act = s->obs + 4 * O;
  s->ev_act = s->act + A;
  s->act_unit = s->act + 2 * A;

  int64_t capacity = cfg->replay_capacity;
  if (s->mode == WSRL__OFFLINE_APPEND) {
    int64_t n = 0;
    wsrl_replay_size(s->offline, &n);
    capacity += n; /* the dataset plus replay.capacity online transitions */
  }
  wsrl_replay_options_t ro = WSRL_REPLAY_OPTIONS_INIT;
  st = wsrl__replay_options_from_config(&ro, cfg, "wsrl_session_create");
  if (st != WSRL_OK)
    goto fail;
  ro.seed = wsrl__rng_next(&seeder);
  const wsrl_allocator_t hooks = {(uint32_t)sizeof(wsrl_allocator_t), alloc->alloc, alloc->realloc, alloc->free,
                                  alloc->user};
  ro.allocator = &hooks;
  st = wsrl_replay_create(&s->online, s->obs_dim, s->act_dim, capacity, &ro);
  if (st != WSRL_OK) {
    wsrl__error_wrap(st, "wsrl_session_create: online buffer (replay.capacity %lld): ", (long long)capacity);
    goto fail;
  }
  st = wsrl__replay_batch_alloc(&s->batch, alloc, wsrl__agent_max_batch_rows(agent), s->obs_dim, s->act_dim, 0);
  if (st != WSRL_OK)
    goto fail;
  st = wsrl__session_fill_append(s);
  if (st != WSRL_OK)
    goto fail;
  wsrl__replay_close_open(s->online); /* online episodes never join the dataset's last one */

  /* Everything is in place: only now touch the agent. */
  st = wsrl__agent_switch_online(agent);
  if (st != WSRL_OK)
    goto fail;
  *wsrl__agent_rng(agent, WSRL__AGENT_RNG_LOOP) = loop;
  wsrl__session_resolve_start(s);
  /* The session keeps what it borrows alive: the host may destroy the
   * agent or the dataset first (a garbage collector's order). */
  wsrl__agent_retain(agent);
  if (s->offline != NULL)
    wsrl__replay_retain(s->offline);
  s->retained = 1;
  wsrl__handle_created();
  *session_out = s;
  return WSRL_OK;
fail:
  session_free(s);
  return st;
}

wsrl_status_t wsrl__session_enter(const wsrl_session_t *s, int32_t mode, int32_t agent_mode, const char *fn) {
  wsrl__busy *g = (wsrl__busy *)&s->guard;
  WSRL__TRY(wsrl__busy_enter(g, mode, "session", fn));
  if (agent_mode != WSRL__AGENT_UNUSED) {
    wsrl_status_t st = wsrl__agent_enter(s->agent, agent_mode, fn);
    /* Training reads the host's dataset: no one may write it meanwhile. */
    if (st == WSRL_OK && agent_mode == WSRL__BUSY_WRITE && s->offline != NULL) {
      st = wsrl__busy_enter(wsrl__replay_busy(s->offline), WSRL__BUSY_READ, "replay buffer", fn);
      if (st != WSRL_OK)
        wsrl__busy_leave(wsrl__agent_busy(s->agent), agent_mode);
    }
    if (st != WSRL_OK) {
      wsrl__busy_leave(g, mode);
      return st;
    }
  }
  return WSRL_OK;
}

void wsrl__session_leave(const wsrl_session_t *s, int32_t mode, int32_t agent_mode) {
  if (agent_mode == WSRL__BUSY_WRITE && s->offline != NULL)
    wsrl__busy_leave(wsrl__replay_busy(s->offline), WSRL__BUSY_READ);
  if (agent_mode != WSRL__AGENT_UNUSED)
    wsrl__busy_leave(wsrl__agent_busy(s->agent), agent_mode);
  wsrl__busy_leave((wsrl__busy *)&s->guard, mode);
}

void wsrl_session_destroy(wsrl_session_t *session) {
  if (session == NULL)
    return;
  session_free(session);
  wsrl__handle_destroyed();
}

/* ----------------------------------------------------------------- getters */

#define CHECK_IDLE(s, fn)                                                                                    \
  do {                                                                                                       \
    if ((s)->busy)                                                                                           \
      return wsrl__error(WSRL_ERR_WRONG_STATE, "%s: the session is running a loop (called from a callback?)", \
                         fn);                                                                                \
  } while (0)

wsrl_agent_t *wsrl_session_agent(const wsrl_session_t *session) {
  if (session == NULL) {
    wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_session_agent: argument 'session' is NULL");
    return NULL;
  }
  return session->agent;
}

wsrl_status_t wsrl_session_policy(wsrl_session_t *session, wsrl_policy_t **policy_out) {
  WSRL__CHECK_NULL(session);
  return wsrl_agent_policy(session->agent, policy_out);
}

const wsrl_replay_t *wsrl_session_replay(const wsrl_session_t *session) {
  if (session == NULL) {
    wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_session_replay: argument 'session' is NULL");
    return NULL;
  }
  return session->online;
}

static int32_t phase_of(const wsrl_session_t *s) {
  return s->env_steps >= s->warmup ? WSRL_SESSION_ONLINE : WSRL_SESSION_WARMUP;
}

static wsrl_status_t session_phase_impl(const wsrl_session_t *session, int32_t *phase_out) {
  WSRL__CHECK_NULL(session);
  *phase_out = phase_of(session);
  return WSRL_OK;
}

wsrl_status_t wsrl_session_phase(const wsrl_session_t *session, int32_t *phase_out) {
  WSRL__CHECK_NULL(session);
  WSRL__CHECK_NULL(phase_out);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_READ, WSRL__AGENT_UNUSED, "wsrl_session_phase", session_phase_impl(session, phase_out));
}

static wsrl_status_t session_updates_due_impl(const wsrl_session_t *session, int64_t *due_out) {
  WSRL__CHECK_NULL(session);
  *due_out = session->updates_due;
  return WSRL_OK;
}

wsrl_status_t wsrl_session_updates_due(const wsrl_session_t *session, int64_t *due_out) {
  WSRL__CHECK_NULL(session);
  WSRL__CHECK_NULL(due_out);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_READ, WSRL__AGENT_UNUSED, "wsrl_session_updates_due",
                        session_updates_due_impl(session, due_out));
}

static wsrl_status_t session_info_impl(const wsrl_session_t *session, wsrl_session_info_t *info_out) {
  WSRL__CHECK_NULL(session);
  WSRL__TRY(wsrl__struct_check_size(info_out->struct_size, sizeof(wsrl_session_info_t),
                                    "wsrl_session_info: info_out", "WSRL_SESSION_INFO_INIT"));
  const wsrl_session_t *s = session;
  int64_t size = 0;
  wsrl_replay_size(s->online, &size);
  const wsrl_session_info_t full = {(uint32_t)sizeof(wsrl_session_info_t),
                                    phase_of(s),
                                    s->env_steps,
                                    s->warmup,
                                    s->env_steps < s->warmup ? s->env_steps : s->warmup,
                                    s->start_after,
                                    s->updates_due,
                                    s->updates_done,
                                    size,
                                    s->episodes,
                                    s->last_ep_return,
                                    s->last_ep_length,
                                    s->nonfinite_skips,
                                    s->evaluations,
                                    s->last_eval_step,
                                    s->last_eval.return_mean};
  wsrl__struct_copy_out(info_out, &full, info_out->struct_size);
  return WSRL_OK;
}

wsrl_status_t wsrl_session_info(const wsrl_session_t *session, wsrl_session_info_t *info_out) {
  WSRL__CHECK_NULL(session);
  WSRL__CHECK_NULL(info_out);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_READ, WSRL__AGENT_UNUSED, "wsrl_session_info", session_info_impl(session, info_out));
}

/* ------------------------------------------------------------ act, observe */

static wsrl_status_t session_act_impl(wsrl_session_t *session, const float *obs, float *action_out) {
  WSRL__CHECK_NULL(session);
  CHECK_IDLE(session, "wsrl_session_act");
  return wsrl_agent_act(session->agent, 1, obs, WSRL_ACT_STOCHASTIC, action_out);
}

wsrl_status_t wsrl_session_act(wsrl_session_t *session, const float *obs, float *action_out) {
  WSRL__CHECK_NULL(session);
  /* wsrl_agent_act() takes the agent's flag. */
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_WRITE, WSRL__AGENT_UNUSED, "wsrl_session_act", session_act_impl(session, obs, action_out));
}

wsrl_status_t wsrl__session_observe_unit(wsrl_session_t *s, const float *obs, const float *act_unit, float reward,
                                         const float *next_obs, int32_t terminated, int32_t truncated) {
  WSRL__TRY(wsrl_replay_add(s->online, obs, act_unit, reward, next_obs, terminated, truncated));
  s->env_steps++;
  /* Transition n (1-based) makes an update due after the warmup, once the
   * start rule's threshold is reached. */
  if (s->env_steps > s->warmup && s->env_steps >= s->start_after &&
      (!s->completed_only || wsrl__replay_completed_rows(s->online) > 0))
    s->updates_due++;
  s->ep_return += (double)reward;
  s->ep_length++;
  if (terminated || truncated) {
    s->episodes++;
    s->last_ep_return = s->ep_return;
    s->last_ep_length = s->ep_length;
    s->ep_return = 0;
    s->ep_length = 0;
  }
  return WSRL_OK;
}

static wsrl_status_t session_observe_impl(wsrl_session_t *session, const float *obs, const float *action, float reward,
                                   const float *next_obs, int32_t terminated, int32_t truncated) {
  WSRL__CHECK_NULL(session);
  CHECK_IDLE(session, "wsrl_session_observe");
  wsrl_session_t *s = session;
  if (!wsrl__all_finite(action, (size_t)s->act_dim))
    return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_session_observe: 'action' holds NaN or infinity; nothing was "
                       "stored");
  wsrl__action_unscale(wsrl__agent_action_low(s->agent), wsrl__agent_action_high(s->agent),
                           (size_t)s->act_dim, action, s->act_unit);
  wsrl_status_t st = wsrl__session_observe_unit(s, obs, s->act_unit, reward, next_obs, terminated, truncated);
  if (st != WSRL_OK)
    return wsrl__error_wrap(st, "wsrl_session_observe: ");
  return WSRL_OK;
}

wsrl_status_t wsrl_session_observe(wsrl_session_t *session, const float *obs, const float *action, float reward,
                                   const float *next_obs, int32_t terminated, int32_t truncated) {
  WSRL__CHECK_NULL(session);
  WSRL__CHECK_NULL(obs);
  WSRL__CHECK_NULL(action);
  WSRL__CHECK_NULL(next_obs);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_WRITE, WSRL__AGENT_UNUSED, "wsrl_session_observe",
                        session_observe_impl(session, obs, action, reward, next_obs, terminated, truncated));
}

void wsrl__session_cut_episode(wsrl_session_t *s) {
  wsrl__replay_close_open(s->online);
  s->ep_return = 0;
  s->ep_length = 0;
}

/* ------------------------------------------------------------------- train */

static wsrl_status_t sample_online(wsrl_session_t *s, int64_t n, int64_t row_offset) {
  wsrl__rng *rng = wsrl__replay_rng(s->online); /* the session's own buffer, saved with it */
  if (s->completed_only)
    return wsrl__replay_sample_completed_into(s->online, rng, n, row_offset, &s->batch);
  return wsrl__replay_sample_into(s->online, rng, n, row_offset, &s->batch);
}

/* One batch for the current phase: online rows only, or mixed with the
 * dataset (whose draws come from the session's own stream): online rows
 * first, then the dataset's (blocks), or spread evenly (interleaved). */
static wsrl_status_t sample_batch(wsrl_session_t *s, int64_t rows) {
  if (s->mode != WSRL__OFFLINE_MIXED)
    return sample_online(s, rows, 0);
  const int64_t n_off = offline_rows(s, rows), n_on = rows - n_off;
  wsrl_status_t st = n_on > 0 && s->cfg.finetune_mixed_layout == WSRL__MIXED_BLOCKS ? sample_online(s, n_on, 0)
                                                                                    : WSRL_OK;
  if (st != WSRL_OK)
    return st;
  if (s->cfg.finetune_mixed_layout == WSRL__MIXED_BLOCKS)
    return n_off > 0 ? wsrl__replay_sample_into(s->offline, &s->offline_rng, n_off, n_on, &s->batch) : WSRL_OK;
  return wsrl__replay_sample_mixed_into(s->online, wsrl__replay_rng(s->online), s->offline, &s->offline_rng, s->ratio,
                                        rows, s->completed_only, &s->batch);
}

wsrl_status_t wsrl__session_train(wsrl_session_t *s, int64_t max, int64_t *done_out) {
  int64_t done = 0;
  wsrl_status_t st = WSRL_OK;
  while (s->updates_due > 0 && (max < 0 || done < max)) {
    const int64_t rows = wsrl__agent_batch_rows(s->agent);
    st = sample_batch(s, rows);
    if (st != WSRL_OK)
      break;
    const wsrl__agent_batch b = {rows,         s->batch.obs,  s->batch.action,   s->batch.reward,
                                 s->batch.next_obs, s->batch.mask, s->batch.mc_return};
    st = wsrl__agent_update(s->agent, &b);
    if (st != WSRL_OK)
      break;
    s->updates_due--;
    s->updates_done++;
    done++;
  }
  if (done_out != NULL)
    *done_out = done;
  return st;
}

static wsrl_status_t session_train_impl(wsrl_session_t *session, int64_t max_updates, int64_t *done_out) {
  if (done_out != NULL)
    *done_out = 0;
  WSRL__CHECK_NULL(session);
  CHECK_IDLE(session, "wsrl_session_train");
  session->busy = 1;
  wsrl_status_t st = wsrl__session_train(session, max_updates, done_out);
  session->busy = 0;
  return st;
}

wsrl_status_t wsrl_session_train(wsrl_session_t *session, int64_t max_updates, int64_t *done_out) {
  if (done_out != NULL)
    *done_out = 0;
  WSRL__CHECK_NULL(session);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_WRITE, WSRL__BUSY_WRITE, "wsrl_session_train", session_train_impl(session, max_updates, done_out));
}
