/*
 * TD3+BC (Fujimoto & Gu, "A Minimalist Approach to Offline Reinforcement
 * Learning", 2021), added through learner.h alone:
 *
 *   critic:  y = r + gamma * mask * min_i Q'_i(s', a'),
 *            a' = clip(pi'(s') + clip(N(0, sigma), -c, c), -1, 1)
 *            (target policy smoothing, sigma = td3bc.policy_noise,
 *            c = td3bc.noise_clip, in [-1, 1] action units); TD loss over
 *            every member as the other learners.
 *   actor:   deterministic a = pi(s) (the actor's mode), every
 *            td3bc.policy_freq updates:
 *            loss = -lambda mean Q_1(s, pi(s)) + mean((pi(s) - a)^2),
 *            lambda = alpha / mean |Q_1(s, pi(s))| (not differentiated).
 *   targets: the target actor and the target critics move by Polyak only
 *            after an actor step (WSRL__LEARNER_POLYAK_WITH_ACTOR).
 *   states:  with td3bc.normalize_states, (s - mean) / (std + 1e-3) of the
 *            pretraining dataset (fit_dataset), for every pass and act;
 *            saved in checkpoints.
 *
 * The learner stays itself online (no SAC base): fine-tuning keeps the
 * TD3+BC loss, with or without the WSRL warmup, and explores with the mode
 * plus N(0, td3bc.expl_noise) noise.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "learner.h"

enum { M_CRITIC_LOSS = 0, M_Q_MEAN, M_TARGET_Q, M_ACTOR_LOSS, M_BC_LOSS, M_LAMBDA, M_CRITIC_GN, M_ACTOR_GN, M_COUNT };

static const char *const td3bc_metric_names[M_COUNT] = {
    "critic_loss", "q_mean", "target_q_mean", "actor_loss", "bc_loss", "lambda", "critic_grad_norm", "actor_grad_norm"};

#define STD_EPS 1e-3f /* added to the dataset's std, as the reference */

typedef struct td3bc_state {
  wsrl__policy *target; /* pi' */
  float *obs_mean, *obs_std; /* [O] each; identity until fit_dataset */
  float *obs_n, *next_n;     /* [M, O] normalised batch */
  /* this update */
  double critic_loss, q_mean, target_mean, actor_loss, bc_loss, lambda;
} td3bc_state;

/* Normalised copy of n observations (or obs itself when not normalising). */
static const float *normalise(const wsrl_agent_t *ag, const td3bc_state *st, int64_t n, const float *obs, float *out) {
  if (!ag->cfg.td3bc_normalize_states)
    return obs;
  const int64_t O = ag->obs_dim;
  for (int64_t b = 0; b < n; b++)
    for (int64_t i = 0; i < O; i++)
      out[b * O + i] = (obs[b * O + i] - st->obs_mean[i]) / st->obs_std[i];
  return out;
}

/* ---------------------------------------------------------------- losses */

/* TD targets of a minibatch into ag->s.y with the smoothed target action. */
static wsrl_status_t td_target(wsrl_agent_t *ag, td3bc_state *st, int64_t n, const float *reward,
                               const float *next_obs, const float *mask) {
  wsrl__agent_scratch *s = &ag->s;
  const int64_t A = ag->act_dim, E = ag->ensemble;
  const float sigma = (float)ag->cfg.td3bc_policy_noise, c = (float)ag->cfg.td3bc_noise_clip;
  WSRL__TRY(wsrl__policy_forward(st->target, n, next_obs));
  WSRL__TRY(wsrl__policy_mode(st->target, s->act_n));
  wsrl__rng_fill_normal(&ag->rng[WSRL__AGENT_RNG_UPDATE], s->eps, (size_t)(n * A));
  for (int64_t k = 0; k < n * A; k++) {
    float e = sigma * s->eps[k];
    e = e > c ? c : e < -c ? -c : e;
    const float a = s->act_n[k] + e;
    s->act_n[k] = a > 1.0f ? 1.0f : a < -1.0f ? -1.0f : a;
  }
  WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_TARGET, n, next_obs, 1, s->act_n, s->q_tmp));
  wsrl__qensemble_min(s->q_tmp, (int32_t)E, n, NULL, (int32_t)E, s->vmin, NULL);
  const double gamma = ag->cfg.td_discount;
  double sum = 0.0;
  for (int64_t b = 0; b < n; b++) {
    const double y = (double)reward[b] + gamma * (double)mask[b] * (double)s->vmin[b];
    s->y[b] = (float)y;
    sum += y;
  }
  st->target_mean += sum / (double)n;
  return WSRL_OK;
}

static wsrl_status_t td3bc_critic_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *mb) {
  td3bc_state *st = state;
  const int64_t n = mb->size;
  const float *obs = normalise(ag, st, n, mb->obs, st->obs_n);
  const float *next = normalise(ag, st, n, mb->next_obs, st->next_n);
  WSRL__TRY(td_target(ag, st, n, mb->reward, next, mb->mask));
  double loss = 0.0, q_mean = 0.0;
  WSRL__TRY(wsrl__critic_td_grads(ag, n, obs, mb->action, &loss, &q_mean));
  st->critic_loss += loss;
  st->q_mean += q_mean;
  return WSRL_OK;
}

/* Actor gradients on the whole batch: d/da of -lambda Q_1(s, a) through
 * the critic, plus the BC term's 2 (pi(s) - a) / (n A), back through the
 * deterministic action (a sample with zero noise is the mode). */
static wsrl_status_t td3bc_actor_grads(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *bt) {
  td3bc_state *st = state;
  wsrl__agent_scratch *s = &ag->s;
  const int64_t n = bt->size, A = ag->act_dim, E = ag->ensemble;
  const float *obs = normalise(ag, st, n, bt->obs, st->obs_n);
  WSRL__TRY(wsrl__policy_forward(ag->pi, n, obs));
  memset(s->eps, 0, (size_t)(n * A) * sizeof(float));
  WSRL__TRY(wsrl__policy_sample(ag->pi, 1, s->eps, s->act1, NULL));
  WSRL__TRY(wsrl__qensemble_forward(ag->q, WSRL__Q_ONLINE, n, obs, 1, s->act1, s->q_tmp));
  double qsum = 0.0, qabs = 0.0;
  for (int64_t b = 0; b < n; b++) { /* member 0 is Q_1 */
    qsum += s->q_tmp[b];
    qabs += fabs((double)s->q_tmp[b]);
  }
  const double lambda = ag->cfg.td3bc_alpha / (qabs / (double)n > 1e-12 ? qabs / (double)n : 1e-12);
  memset(s->dq, 0, (size_t)(E * n) * sizeof(float));
  for (int64_t b = 0; b < n; b++)
    s->dq[b] = (float)(-lambda / (double)n);
  WSRL__TRY(wsrl__qensemble_backward(ag->q, s->dq, s->dact, 0));
  double bc = 0.0;
  const double bc_scale = 2.0 / (double)(n * A);
  for (int64_t k = 0; k < n * A; k++) {
    const double d = (double)s->act1[k] - (double)bt->action[k];
    bc += d * d;
    s->dact[k] += (float)(bc_scale * d);
  }
  wsrl__policy_zero_grad(ag->pi);
  /* The policy's sample cache is the one above: the critic passes in
   * between do not touch it. */
  WSRL__TRY(wsrl__policy_backward_sample(ag->pi, s->dact, NULL));
  st->bc_loss = bc / (double)(n * A);
  st->lambda = lambda;
  st->actor_loss = -lambda * qsum / (double)n + st->bc_loss;
  return WSRL_OK;
}

/* The target actor follows the actor after each actor step. */
static wsrl_status_t td3bc_actor_aux_step(wsrl_agent_t *ag, void *state, int32_t trained) {
  td3bc_state *st = state;
  if (!trained)
    return WSRL_OK;
  return wsrl__mlp_polyak(wsrl__policy_mlp(st->target), wsrl__policy_mlp(ag->pi), (float)ag->cfg.td_tau);
}

static int32_t td3bc_actor_due(const wsrl_agent_t *ag, const void *state) {
  (void)state;
  return (ag->counters.updates + 1) % ag->cfg.td3bc_policy_freq == 0;
}

static void td3bc_finish(wsrl_agent_t *ag, void *state) {
  td3bc_state *st = state;
  const double inv = 1.0 / (double)ag->utd;
  wsrl__agent_set_metric(ag, M_CRITIC_LOSS, st->critic_loss * inv);
  wsrl__agent_set_metric(ag, M_Q_MEAN, st->q_mean * inv);
  wsrl__agent_set_metric(ag, M_TARGET_Q, st->target_mean * inv);
  wsrl__agent_set_metric(ag, M_ACTOR_LOSS, st->actor_loss);
  wsrl__agent_set_metric(ag, M_BC_LOSS, st->bc_loss);
  wsrl__agent_set_metric(ag, M_LAMBDA, st->lambda);
  wsrl__agent_set_metric(ag, M_CRITIC_GN, ag->critic_gn);
  wsrl__agent_set_metric(ag, M_ACTOR_GN, ag->actor_gn);
  st->critic_loss = st->q_mean = st->target_mean = 0.0;
}

/* ------------------------------------------------------------ lifecycle */

static void td3bc_destroy(wsrl_agent_t *ag, void *state) {
  td3bc_state *st = state;
  if (st == NULL)
    return;
  wsrl__policy_destroy(st->target);
  wsrl__free(&ag->alloc, st->obs_mean);
  wsrl__free(&ag->alloc, st);
}

static wsrl_status_t td3bc_create(wsrl_agent_t *ag, wsrl__rng *init, void **state_out) {
  const int64_t O = ag->obs_dim, M = ag->rows_max;
  td3bc_state *st = wsrl__calloc(&ag->alloc, 1, sizeof *st);
  if (st == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating the TD3+BC learner's state");
  st->obs_mean = wsrl__malloc(&ag->alloc, (size_t)(2 * O + 2 * M * O) * sizeof(float));
  wsrl_status_t rc = st->obs_mean != NULL ? WSRL_OK
                                          : wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating TD3+BC's state buffers");
  if (rc == WSRL_OK) {
    st->obs_std = st->obs_mean + O;
    st->obs_n = st->obs_std + O;
    st->next_n = st->obs_n + M * O;
    for (int64_t i = 0; i < O; i++) {
      st->obs_mean[i] = 0.0f;
      st->obs_std[i] = 1.0f;
    }
    /* The target actor: the actor's architecture, starting as its copy. */
    rc = wsrl__policy_create(&st->target, ag->nn, wsrl__policy_get_spec(ag->pi), init);
  }
  if (rc == WSRL_OK)
    rc = wsrl__mlp_copy_params(wsrl__policy_mlp(st->target), wsrl__policy_mlp(ag->pi));
  if (rc == WSRL_OK)
    rc = wsrl__policy_prepare(st->target, ag->batch);
  if (rc == WSRL_OK)
    rc = wsrl__policy_prepare(st->target, M);
  if (rc != WSRL_OK) {
    td3bc_destroy(ag, st);
    return rc;
  }
  *state_out = st;
  return WSRL_OK;
}

static size_t td3bc_memory_usage(const void *state) {
  return wsrl__policy_memory_usage(((const td3bc_state *)state)->target);
}

/* Mean and std (+1e-3) of the dataset's observations, in double. */
static wsrl_status_t td3bc_fit_dataset(wsrl_agent_t *ag, void *state, int64_t rows, const float *obs) {
  td3bc_state *st = state;
  const int64_t O = ag->obs_dim;
  if (!ag->cfg.td3bc_normalize_states || rows < 1)
    return WSRL_OK;
  for (int64_t i = 0; i < O; i++) {
    double sum = 0.0, sq = 0.0;
    for (int64_t r = 0; r < rows; r++)
      sum += obs[r * O + i];
    const double mean = sum / (double)rows;
    for (int64_t r = 0; r < rows; r++) {
      const double d = obs[r * O + i] - mean;
      sq += d * d;
    }
    st->obs_mean[i] = (float)mean;
    st->obs_std[i] = (float)sqrt(sq / (double)rows) + STD_EPS;
  }
  wsrl__log(WSRL_LOG_INFO, "td3bc: state normalisation from %lld dataset rows", (long long)rows);
  return WSRL_OK;
}

/* Online exploration: the mode plus N(0, td3bc.expl_noise) per component,
 * clipped to [-1, 1] (the reference's fine-tuning). */
static void td3bc_explore(const wsrl_agent_t *ag, const void *state, wsrl__rng *rng, int64_t n, float *action) {
  (void)state;
  const int64_t A = ag->act_dim;
  const double sigma = ag->cfg.td3bc_expl_noise;
  for (int64_t k = 0; k < n * A; k++) {
    const double a = (double)action[k] + sigma * wsrl__rng_normal(rng);
    action[k] = (float)(a > 1.0 ? 1.0 : a < -1.0 ? -1.0 : a);
  }
}

static const float *td3bc_actor_input(const wsrl_agent_t *ag, const void *state, int64_t n, const float *obs,
                                      float *out) {
  return normalise(ag, state, n, obs, out);
}

/* Snapshots normalise as actor_input and explore as td3bc_explore. */
/* Introspection: the target actor (TD3+BC learns no value network,
 * temperature or Lagrange multiplier). */
static void td3bc_net(const wsrl_agent_t *ag, void *state, int32_t net, wsrl__learner_net *out) {
  (void)ag;
  if (net == WSRL_NET_TARGET_ACTOR)
    out->pi = ((td3bc_state *)state)->target;
}

static void td3bc_snapshot(const wsrl_agent_t *ag, const void *state, wsrl__snap_extras *out) {
  const td3bc_state *st = state;
  if (ag->cfg.td3bc_normalize_states) {
    out->obs_mean = st->obs_mean;
    out->obs_std = st->obs_std;
  }
  out->deterministic = 1;
  out->noise = (float)ag->cfg.td3bc_expl_noise;
}

/* The normalisation (std a divisor: > 0) and the target actor's parameters. */
static int32_t td3bc_blobs(const wsrl_agent_t *ag, void *state, wsrl__learner_blob *out) {
  td3bc_state *st = state;
  snprintf(out[0].name, sizeof out[0].name, "td3bc.obs_mean");
  out[0].data = st->obs_mean;
  out[0].count = ag->obs_dim;
  snprintf(out[1].name, sizeof out[1].name, "td3bc.obs_std");
  out[1].data = st->obs_std;
  out[1].count = ag->obs_dim;
  out[1].positive = 1;
  wsrl__nn_blob b;
  if (wsrl__mlp_blob(wsrl__policy_mlp(st->target), 0, &b) != WSRL_OK) /* "params" */
    return 2;
  snprintf(out[2].name, sizeof out[2].name, "actor_target.%s", b.name);
  out[2].data = b.data;
  out[2].count = b.count;
  out[2].owner = b.owner;
  return 3;
}

const wsrl__learner_ops wsrl__td3bc_ops = {
    .version = WSRL__LEARNER_VERSION,
    .name = "td3bc",
    .flags = WSRL__LEARNER_POLYAK_WITH_ACTOR | WSRL__LEARNER_TARGET_ACTOR,
    .metric_count = M_COUNT,
    .metric_names = td3bc_metric_names,
    .plan = wsrl__learner_plan_basic,
    .create = td3bc_create,
    .destroy = td3bc_destroy,
    .memory_usage = td3bc_memory_usage,
    .critic_grads = td3bc_critic_grads,
    .actor_grads = td3bc_actor_grads,
    .actor_aux_step = td3bc_actor_aux_step,
    .actor_due = td3bc_actor_due,
    .finish = td3bc_finish,
    .fit_dataset = td3bc_fit_dataset,
    .actor_input = td3bc_actor_input,
    .explore = td3bc_explore,
    .snapshot = td3bc_snapshot,
    .net = td3bc_net,
    .blobs = td3bc_blobs,
};
