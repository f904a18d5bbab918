/*
 * Introspection of an agent (include/wsrl/agent.h, "Introspection"): the
 * flat parameter vector of every network, log-probabilities of given
 * actions, and copies of the config, spec and bounds. For bindings and
 * testers; nothing here runs inside the training loop.
 */
#include <math.h>
#include <string.h>

#include "learner.h"

static const char *const net_names[] = {"WSRL_NET_ACTOR", "WSRL_NET_CRITICS",     "WSRL_NET_TARGET_CRITICS",
                                        "WSRL_NET_VALUE", "WSRL_NET_TEMPERATURE", "WSRL_NET_LAGRANGE",
                                        "WSRL_NET_TARGET_ACTOR"};

/* One network's parameters: exactly one of the three is set. */
typedef struct net_view {
  wsrl__policy *pi;     /* the actor */
  wsrl__mlp *mlp;       /* critics, targets, value network */
  wsrl__scalar *scalar; /* temperature, Lagrange multiplier */
  int64_t count;
} net_view;

static wsrl_status_t lacks(const wsrl_agent_t *ag, int32_t net, const char *fn, const char *why) {
  return wsrl__error(WSRL_ERR_UNSUPPORTED, "%s: this %s agent has no %s: %s", fn, ag->offline->name,
                     net_names[net], why);
}

/* The view of @p net, or the error naming why this agent has none. The
 * agent is not changed here; setters write through the view. */
static wsrl_status_t view_net(const wsrl_agent_t *agent, int32_t net, net_view *v, const char *fn) {
  wsrl_agent_t *ag = (wsrl_agent_t *)agent;
  memset(v, 0, sizeof *v);
  switch (net) {
  case WSRL_NET_ACTOR:
    v->pi = ag->pi;
    v->count = wsrl__policy_param_count(ag->pi);
    return WSRL_OK;
  case WSRL_NET_CRITICS:
  case WSRL_NET_TARGET_CRITICS:
    v->mlp = wsrl__qensemble_mlp(ag->q, net == WSRL_NET_CRITICS ? WSRL__Q_ONLINE : WSRL__Q_TARGET);
    break;
  case WSRL_NET_VALUE:
  case WSRL_NET_TEMPERATURE:
  case WSRL_NET_LAGRANGE:
  case WSRL_NET_TARGET_ACTOR: {
    /* The learner's own parameters, if it has these. */
    wsrl__learner_net ln = {NULL, NULL, NULL,
                            net == WSRL_NET_TARGET_ACTOR ? WSRL__WHY_NO_TARGET_ACTOR : "its learner has none"};
    if (ag->offline->net != NULL)
      ag->offline->net(ag, ag->lstate, net, &ln);
    if (ln.pi != NULL) {
      v->pi = ln.pi;
      v->count = wsrl__policy_param_count(ln.pi);
      return WSRL_OK;
    }
    if (ln.scalar != NULL) {
      v->scalar = ln.scalar;
      v->count = 1;
      return WSRL_OK;
    }
    if (ln.mlp == NULL)
      return lacks(ag, net, fn, ln.why);
    v->mlp = ln.mlp;
    break;
  }
  default:
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "%s: net %d is not a wsrl_net_t (WSRL_NET_ACTOR = 0 .. WSRL_NET_TARGET_ACTOR = 6)", fn, (int)net);
  }
  v->count = wsrl__mlp_param_count(v->mlp);
  return WSRL_OK;
}

static wsrl_status_t view_checked(const wsrl_agent_t *ag, int32_t net, int64_t count, net_view *v, const char *fn) {
  WSRL__TRY(view_net(ag, net, v, fn));
  if (count != v->count)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: count is %lld but %s of this agent has %lld parameters", fn,
                       (long long)count, net_names[net], (long long)v->count);
  return WSRL_OK;
}

/* The flag of a const handle: taking it as a reader is the one write a
 * read-only call makes. */
static wsrl__busy *busy_of(const wsrl_agent_t *agent) { return wsrl__agent_busy((wsrl_agent_t *)agent); }

/* ---------------------------------------------------------- param vectors */

static wsrl_status_t param_count(const wsrl_agent_t *agent, int32_t net, int64_t *count_out) {
  net_view v;
  WSRL__TRY(view_net(agent, net, &v, "wsrl_agent_param_count"));
  *count_out = v.count;
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_param_count(const wsrl_agent_t *agent, int32_t net, int64_t *count_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(count_out);
  WSRL__GUARDED(busy_of(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_param_count",
                param_count(agent, net, count_out));
}

static wsrl_status_t get_params(const wsrl_agent_t *agent, int32_t net, float *out, int64_t count) {
  net_view v;
  WSRL__TRY(view_checked(agent, net, count, &v, "wsrl_agent_get_params"));
  if (v.pi != NULL)
    return wsrl__policy_get_params(v.pi, out, count);
  if (v.mlp != NULL)
    return wsrl__mlp_get_params(v.mlp, out, count);
  out[0] = v.scalar->p;
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_get_params(const wsrl_agent_t *agent, int32_t net, float *params_out, int64_t count) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(params_out);
  WSRL__GUARDED(busy_of(agent), WSRL__BUSY_READ, "agent", "wsrl_agent_get_params",
                get_params(agent, net, params_out, count));
}

/* Everything is checked before anything is written; Adam state is kept. */
static wsrl_status_t set_params(wsrl_agent_t *agent, int32_t net, const float *in, int64_t count) {
  net_view v;
  WSRL__TRY(view_checked(agent, net, count, &v, "wsrl_agent_set_params"));
  WSRL__TRY(wsrl__nn_check_params(in, count, "wsrl_agent_set_params"));
  if (v.pi != NULL) {
    WSRL__TRY(wsrl__policy_set_params(v.pi, in, count));
    if (v.pi == agent->pi)
      wsrl__agent_publish(agent); /* acting from a snapshot sees the new actor */
  } else if (v.mlp != NULL) {
    WSRL__TRY(wsrl__mlp_set_params(v.mlp, in, count));
  } else {
    v.scalar->p = in[0];
  }
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_set_params(wsrl_agent_t *agent, int32_t net, const float *params, int64_t count) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(params);
  WSRL__GUARDED(wsrl__agent_busy(agent), WSRL__BUSY_WRITE, "agent", "wsrl_agent_set_params",
                set_params(agent, net, params, count));
}

/* ----------------------------------------------------------- log-prob */

/* Rows a log-probability may be asked for: finite, and inside the actor's
 * support (tanh: the open interval, where atanh is finite). */
static wsrl_status_t check_log_prob_rows(const wsrl_agent_t *ag, int64_t count, const float *obs,
                                         const float *action) {
  const int64_t O = ag->obs_dim, A = ag->act_dim;
  const int tanh_squash = wsrl__policy_get_spec(ag->pi)->tanh_squash;
  for (int64_t r = 0; r < count; r++) {
    if (!wsrl__all_finite(obs + r * O, (size_t)O))
      return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_agent_log_prob: obs row %lld holds NaN or infinity",
                         (long long)r);
    if (!wsrl__all_finite(action + r * A, (size_t)A))
      return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_agent_log_prob: action row %lld holds NaN or infinity",
                         (long long)r);
    for (int64_t j = 0; j < A; j++) {
      const float a = fabsf(action[r * A + j]);
      if (tanh_squash ? a >= 1.0f : a > 1.0f)
        return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                           "wsrl_agent_log_prob: action[%lld][%lld] = %g is outside %s, the %s actor's range "
                           "(actions are in [-1, 1] units: see wsrl_agent_unit_actions())",
                           (long long)r, (long long)j, (double)action[r * A + j], tanh_squash ? "(-1, 1)" : "[-1, 1]",
                           tanh_squash ? "tanh-squashed" : "Gaussian");
    }
  }
  return WSRL_OK;
}

/* One actor pass over pass_rows rows (the prepared shapes 1 and
 * WSRL__AGENT_ACT_CHUNK) of which the first rows are wanted. */
static wsrl_status_t log_prob_pass(wsrl_agent_t *ag, int64_t rows, int64_t pass_rows, const float *obs,
                                   const float *action, float *out) {
  if (ag->offline->actor_input != NULL) /* the observations the actor sees (TD3+BC's normalisation) */
    obs = ag->offline->actor_input(ag, ag->lstate, pass_rows, obs, ag->s.act_in);
  WSRL__TRY(wsrl__policy_forward(ag->pi, pass_rows, obs));
  WSRL__TRY(wsrl__policy_log_prob(ag->pi, action, ag->s.logp1));
  if (!wsrl__all_finite(ag->s.logp1, (size_t)rows))
    return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_agent_log_prob: the log-probability is NaN or infinite (an "
                                            "observation or a parameter out of range)");
  memcpy(out, ag->s.logp1, (size_t)rows * sizeof(float));
  return WSRL_OK;
}

static wsrl_status_t agent_log_prob(wsrl_agent_t *ag, int64_t count, const float *obs, const float *action,
                                    float *out) {
  if (count < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_log_prob: count must be >= 1 (got %lld)",
                       (long long)count);
  WSRL__TRY(check_log_prob_rows(ag, count, obs, action));
  if (count == 1)
    return log_prob_pass(ag, 1, 1, obs, action, out);
  const int64_t O = ag->obs_dim, A = ag->act_dim, C = WSRL__AGENT_ACT_CHUNK;
  for (int64_t off = 0; off < count; off += C) {
    const int64_t rows = count - off < C ? count - off : C;
    const float *o = obs + off * O, *a = action + off * A;
    if (rows < C) {
      /* Pad the last chunk to the prepared shape with zero rows (inside
       * every actor's support; rows are independent). */
      memcpy(ag->s.act_obs, o, (size_t)(rows * O) * sizeof(float));
      memset(ag->s.act_obs + rows * O, 0, (size_t)((C - rows) * O) * sizeof(float));
      memcpy(ag->s.act_out, a, (size_t)(rows * A) * sizeof(float));
      memset(ag->s.act_out + rows * A, 0, (size_t)((C - rows) * A) * sizeof(float));
      o = ag->s.act_obs;
      a = ag->s.act_out;
    }
    WSRL__TRY(log_prob_pass(ag, rows, C, o, a, out + off));
  }
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_log_prob(wsrl_agent_t *agent, int64_t count, const float *obs, const float *action,
                                  float *log_prob_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(obs);
  WSRL__CHECK_NULL(action);
  WSRL__CHECK_NULL(log_prob_out);
  WSRL__AGENT_GUARDED(agent, "wsrl_agent_log_prob", agent_log_prob(agent, count, obs, action, log_prob_out));
}

/* ---------------------------------------------------- config, spec, bounds */

/* The config, sizes and bounds never change after create: no flag. */

wsrl_status_t wsrl_agent_get_config(const wsrl_agent_t *agent, wsrl_config_t **config_out) {
  WSRL__CHECK_NULL(config_out);
  *config_out = NULL;
  WSRL__CHECK_NULL(agent);
  return wsrl_config_clone(config_out, agent->config);
}

wsrl_status_t wsrl_agent_get_spec(const wsrl_agent_t *agent, wsrl_env_spec_t *spec_out) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(spec_out);
  const uint32_t size = spec_out->struct_size;
  wsrl_env_spec_t s;
  WSRL__TRY(wsrl__struct_copy_in(&s, sizeof s, spec_out, size, "spec_out", "WSRL_ENV_SPEC_INIT"));
  if (!WSRL__FIELD_PRESENT(size, wsrl_env_spec_t, act_dim))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_get_spec: spec_out->struct_size %u is too small to "
                       "hold obs_dim and act_dim", (unsigned)size);
  s.struct_size = size;
  s.obs_dim = agent->obs_dim;
  s.act_dim = agent->act_dim;
  s.action_low = agent->act_low;
  s.action_high = agent->act_high;
  s.max_episode_steps = 0; /* the env's limit, not the agent's */
  wsrl__struct_copy_out(spec_out, &s, size);
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_action_bounds(const wsrl_agent_t *agent, float *low_out, float *high_out, int32_t act_dim) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(low_out);
  WSRL__CHECK_NULL(high_out);
  if (act_dim != agent->act_dim)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_agent_action_bounds: act_dim is %d but the agent's is %d",
                       (int)act_dim, (int)agent->act_dim);
  memcpy(low_out, agent->act_low, (size_t)act_dim * sizeof(float));
  memcpy(high_out, agent->act_high, (size_t)act_dim * sizeof(float));
  return WSRL_OK;
}
