/* Agent: known-answer tests of every loss against an independent
 * double-precision reference written here from ALGORITHMS.md (networks
 * evaluated by tests/gradcheck/nnref.c on the agent's own parameters),
 * finite-difference checks of whole critic / value / actor losses,
 * determinism, checkpoint round trips and rejection, argument errors, and
 * no allocation in act / update.
 *
 * Random draws: the reference replays the agent's update stream in the
 * documented order (docs/algorithms.md, "Random draws"), so both sides see
 * the same noise, uniform actions and member subsets. */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/agent_internal.h"
#include "agents/learner.h"
#include "agents/sac.h"
#include "nnref.h"
#include "suites.h"
#include "wsrl/wsrl.h"

/* The SAC-family state of an agent (sac, cql, calql or iql). */
#define SAC(ag) ((wsrl__sac_state *)(ag)->lstate)

#define O 3
#define A 2
#define E 3
#define B 4
#define U 2
#define N 3  /* cql.n_actions */
#define NB 2 /* td.max_target_actions: differs from N, so each is proved to drive its own use */
#define G (3 * N + 1)
#define MAXR 64
#define GAMMA 0.9
#define FD_STEP 1e-5
#define FD_BOUND 1e-2

#define ck_assert_msg_has(sub)                                                                                         \
  ck_assert_msg(strstr(wsrl_last_error_message(), (sub)) != NULL, "message '%s' lacks '%s'",                           \
                wsrl_last_error_message(), (sub))

static const float low[A] = {-2.0f, 0.0f}, high[A] = {2.0f, 1.0f};

/* ------------------------------------------------------------------ setup */

static wsrl_config_t *tiny_config(const char *algo) {
  wsrl_config_t *c = NULL;
  ck_assert_int_eq(wsrl_config_create(&c), WSRL_OK);
  char text[1024];
  snprintf(text, sizeof text,
           "agent.algorithm = %s\n"
           "agent.threads = 1\n"
           "agent.seed = 7\n"
           "critic.ensemble_size = 3\n"
           "critic.subsample = 2\n"
           "critic.hidden = 5\n"
           "actor.hidden = 5\n"
           "critic.kernel_scale_final = 0\n"
           "actor.kernel_scale_final = 0\n"
           "update.batch_size = 4\n"
           "update.utd = 2\n"
           "cql.n_actions = 3\n"
           "td.max_target_actions = 2\n"
           "td.discount = 0.9\n"
           "temperature.initial = 0.7\n"
           "iql.temperature = 2.0\n"
           "iql.max_weight = 3.0\n",
           algo);
  ck_assert_int_eq(wsrl_config_parse_string(c, text), WSRL_OK);
  return c;
}

static wsrl_env_spec_t tiny_spec(void) {
  wsrl_env_spec_t s = WSRL_ENV_SPEC_INIT;
  s.obs_dim = O;
  s.act_dim = A;
  s.action_low = low;
  s.action_high = high;
  return s;
}

static wsrl_agent_t *make_agent(wsrl_config_t *c) {
  wsrl_env_spec_t s = tiny_spec();
  wsrl_agent_t *ag = NULL;
  wsrl_status_t st = wsrl_agent_create(&ag, c, &s);
  ck_assert_msg(st == WSRL_OK, "create: %s", wsrl_last_error_message());
  return ag;
}

static void set_random(wsrl__mlp *m, wsrl__rng *r, double scale) {
  const int64_t n = wsrl__mlp_param_count(m);
  float *p = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    p[i] = (float)(scale * wsrl__rng_normal(r));
  ck_assert_int_eq(wsrl__mlp_set_params(m, p, n), WSRL_OK);
  free(p);
}

/* Weights large enough that every loss term matters. */
static void randomize(wsrl_agent_t *ag, uint64_t seed) {
  wsrl__rng r;
  wsrl__rng_seed(&r, seed, 99);
  set_random(wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE), &r, 0.6);
  set_random(wsrl__qensemble_mlp(ag->q, WSRL__Q_TARGET), &r, 0.6);
  set_random(wsrl__policy_mlp(ag->pi), &r, 0.5);
  if (wsrl__iql_value(ag) != NULL)
    set_random(wsrl__iql_value(ag), &r, 0.6);
}

typedef struct tbatch {
  float obs[MAXR * O], act[MAXR * A], rew[MAXR], nobs[MAXR * O], mask[MAXR], mc[MAXR];
} tbatch;

static void make_batch(tbatch *b, uint64_t seed) {
  wsrl__rng r;
  wsrl__rng_seed(&r, seed, 5);
  for (int i = 0; i < MAXR; i++) {
    for (int j = 0; j < O; j++) {
      b->obs[i * O + j] = (float)wsrl__rng_normal(&r);
      b->nobs[i * O + j] = (float)wsrl__rng_normal(&r);
    }
    for (int j = 0; j < A; j++)
      b->act[i * A + j] = (float)(1.9 * wsrl__rng_uniform(&r) - 0.95);
    b->rew[i] = (float)wsrl__rng_normal(&r);
    b->mask[i] = i % 3 == 2 ? 0.0f : 1.0f;
    b->mc[i] = (float)wsrl__rng_normal(&r);
  }
}

static wsrl__agent_batch ibatch(const tbatch *b, int64_t rows) {
  wsrl__agent_batch x = {rows, b->obs, b->act, b->rew, b->nobs, b->mask, b->mc};
  return x;
}

static void to_double(const float *x, double *y, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    y[i] = x[i];
}

static int close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * (1.0 + fabs(a) + fabs(b)); }

/* -------------------------------------------------------------- reference */

/* q[e * n + r] = Q_e(obs[r / rep], act[r]) in double. */
static void ref_q(wsrl__mlp *m, int64_t n, const float *obs, int64_t rep, const double *act, double *q) {
  const int32_t ens = wsrl__mlp_get_spec(m)->ensemble;
  double *x = malloc(sizeof(double) * (size_t)(n * (O + A)));
  double *y = malloc(sizeof(double) * (size_t)(n * ens));
  for (int64_t r = 0; r < n; r++) {
    for (int j = 0; j < O; j++)
      x[r * (O + A) + j] = obs[(r / rep) * O + j];
    for (int j = 0; j < A; j++)
      x[r * (O + A) + O + j] = act[r * A + j];
  }
  nnref_mlp_forward(m, n, WSRL__MLP_SHARED, x, y);
  memcpy(q, y, sizeof(double) * (size_t)(n * ens));
  free(x);
  free(y);
}

static void ref_value(wsrl__mlp *m, int64_t n, const float *obs, double *v) {
  double x[MAXR * O];
  to_double(obs, x, n * O);
  nnref_mlp_forward(m, n, WSRL__MLP_SHARED, x, v);
}

/* Reparameterised samples at obs with noise drawn from r (as the agent draws it). */
static void ref_sample(wsrl_agent_t *ag, wsrl__rng *r, int64_t n, const float *obs, int32_t nrep, double *a,
                       double *logp) {
  float eps[MAXR * N * A];
  double epsd[MAXR * N * A], od[MAXR * O];
  wsrl__rng_fill_normal(r, eps, (size_t)(n * nrep * A));
  to_double(eps, epsd, n * nrep * A);
  to_double(obs, od, n * O);
  nnref_policy_sample(ag->pi, n, od, nrep, epsd, a, logp);
}

static int32_t ref_members(wsrl_agent_t *ag, wsrl__rng *r, int32_t *mem) {
  if (ag->subsample >= ag->ensemble) {
    for (int32_t i = 0; i < ag->ensemble; i++)
      mem[i] = i;
    return ag->ensemble;
  }
  wsrl__qensemble_draw_subset(r, ag->ensemble, ag->subsample, mem);
  return ag->subsample;
}

/* y = r + gamma * mask * max_j min_{i in subset} (Q'_i(s', a'_j) [- alpha log pi]). */
static void ref_td(wsrl_agent_t *ag, wsrl__rng *r, int32_t nrep, int32_t backup_entropy, int64_t n, const tbatch *b,
                   double *y) {
  double a[MAXR * N * A], logp[MAXR * N], q[E * MAXR * N];
  int32_t mem[64];
  ref_sample(ag, r, n, b->nobs, nrep, a, logp);
  const int32_t k = ref_members(ag, r, mem);
  ref_q(wsrl__qensemble_mlp(ag->q, WSRL__Q_TARGET), n * nrep, b->nobs, nrep, a, q);
  const double alpha = wsrl__scalar_value(&SAC(ag)->temperature);
  for (int64_t i = 0; i < n; i++) {
    double best = -INFINITY;
    for (int32_t j = 0; j < nrep; j++) {
      double m = INFINITY;
      for (int32_t t = 0; t < k; t++)
        m = fmin(m, q[mem[t] * n * nrep + i * nrep + j]);
      if (backup_entropy)
        m -= alpha * logp[i * nrep + j];
      best = fmax(best, m);
    }
    y[i] = b->rew[i] + GAMMA * b->mask[i] * best;
  }
}

/* ------------------------------------------------ finite differences */

typedef double (*loss_fn)(void *user);

static double max_err(const double *a, const double *n, int64_t count) {
  double scale = 0.0, worst = 0.0;
  for (int64_t i = 0; i < count; i++)
    scale = fmax(scale, fabs(n[i]));
  for (int64_t i = 0; i < count; i++)
    worst = fmax(worst, fabs(a[i] - n[i]) / (fabs(a[i]) + fabs(n[i]) + 1e-3 * scale + 1e-300));
  return worst;
}

typedef struct fd_obj {
  int32_t policy; /* 1: the agent's policy, else mlp */
  wsrl__policy *p;
  wsrl__mlp *m;
} fd_obj;

static int64_t fd_count(const fd_obj *o) {
  return o->policy ? wsrl__policy_param_count(o->p) : wsrl__mlp_param_count(o->m);
}
static void fd_get(const fd_obj *o, float *x, int64_t n) {
  ck_assert_int_eq(o->policy ? wsrl__policy_get_params(o->p, x, n) : wsrl__mlp_get_params(o->m, x, n), WSRL_OK);
}
static void fd_set(const fd_obj *o, const float *x, int64_t n) {
  ck_assert_int_eq(o->policy ? wsrl__policy_set_params(o->p, x, n) : wsrl__mlp_set_params(o->m, x, n), WSRL_OK);
}
static void fd_grads(const fd_obj *o, float *x, int64_t n) {
  ck_assert_int_eq(o->policy ? wsrl__policy_get_grads(o->p, x, n) : wsrl__mlp_get_grads(o->m, x, n), WSRL_OK);
}

/* Analytic gradients (already in the object's gradient buffer) against
 * central differences of the reference loss; returns the max error. */
static double fd_check(const fd_obj *o, loss_fn f, void *user) {
  const int64_t n = fd_count(o);
  float *p = malloc(sizeof(float) * (size_t)n), *g = malloc(sizeof(float) * (size_t)n);
  double *ga = malloc(sizeof(double) * (size_t)n), *gn = malloc(sizeof(double) * (size_t)n);
  fd_grads(o, g, n);
  fd_get(o, p, n);
  for (int64_t i = 0; i < n; i++) {
    const float v = p[i], vp = (float)(v + FD_STEP), vm = (float)(v - FD_STEP);
    p[i] = vp;
    fd_set(o, p, n);
    const double fp = f(user);
    p[i] = vm;
    fd_set(o, p, n);
    const double fm = f(user);
    p[i] = v;
    gn[i] = (fp - fm) / ((double)vp - (double)vm);
    ga[i] = g[i];
  }
  fd_set(o, p, n);
  const double err = max_err(ga, gn, n);
  if (getenv("WSRL_TEST_VERBOSE"))
    fprintf(stderr, "fd check: %lld params, max error %.3g\n", (long long)n, err);
  free(p);
  free(g);
  free(ga);
  free(gn);
  return err;
}

/* ================================================================ SAC */

typedef struct sac_user {
  wsrl_agent_t *ag;
  const tbatch *b;
  double y[MAXR];
  int64_t n;
} sac_user;

static double ref_sac_critic_loss(void *u_) {
  sac_user *u = u_;
  double a[MAXR * A], q[E * MAXR], loss = 0.0;
  to_double(u->b->act, a, u->n * A);
  ref_q(wsrl__qensemble_mlp(u->ag->q, WSRL__Q_ONLINE), u->n, u->b->obs, 1, a, q);
  for (int e = 0; e < E; e++)
    for (int64_t i = 0; i < u->n; i++)
      loss += (q[e * u->n + i] - u->y[i]) * (q[e * u->n + i] - u->y[i]);
  return loss / (double)(E * u->n);
}

static void check_td(int32_t nrep, int32_t backup_entropy) {
  wsrl_config_t *c = tiny_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "td.max_target_backup", nrep > 1 ? "all" : "none"), WSRL_OK);
  wsrl_agent_t *ag = make_agent(c);
  randomize(ag, 11);
  tbatch b;
  make_batch(&b, 3);
  wsrl__rng r = *wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE);
  double y[MAXR], mean = 0.0;
  ref_td(ag, &r, nrep, backup_entropy, B, &b, y);
  ck_assert_int_eq(wsrl__sac_td_target(ag, SAC(ag), nrep, backup_entropy, B, b.rew, b.nobs, b.mask, NULL, &mean), WSRL_OK);
  double sum = 0.0;
  for (int i = 0; i < B; i++) {
    ck_assert_msg(close_rel(ag->s.y[i], y[i], 1e-4), "y[%d] = %.7g, reference %.7g", i, (double)ag->s.y[i], y[i]);
    sum += y[i];
  }
  ck_assert(close_rel(mean, sum / B, 1e-4));
  /* Exactly the documented draws were made. */
  ck_assert_mem_eq(&r, wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE), sizeof r);
  wsrl_agent_destroy(ag);
  wsrl_config_destroy(c);
}

START_TEST(sac_target_subset_min) { check_td(1, 0); }
END_TEST

START_TEST(sac_target_backup_entropy) { check_td(1, 1); }
END_TEST

START_TEST(sac_target_max_backup) { check_td(NB, 0); }
END_TEST

START_TEST(sac_target_subset_forward_same_numbers) {
  /* Evaluating only the drawn target members gives the numbers of
   * evaluating all of them (the draw is made first). */
  float y[2][B];
  for (int v = 0; v < 2; v++) {
    wsrl_config_t *c = tiny_config("sac");
    ck_assert_int_eq(wsrl_config_set(c, "critic.evaluate_all_targets", v ? "0" : "1"), WSRL_OK);
    wsrl_agent_t *ag = make_agent(c);
    randomize(ag, 11);
    tbatch b;
    make_batch(&b, 3);
    double mean;
    ck_assert_int_eq(wsrl__sac_td_target(ag, SAC(ag), 1, 0, B, b.rew, b.nobs, b.mask, NULL, &mean), WSRL_OK);
    memcpy(y[v], ag->s.y, sizeof y[v]);
    wsrl_agent_destroy(ag);
    wsrl_config_destroy(c);
  }
  for (int i = 0; i < B; i++)
    ck_assert_msg(close_rel(y[0][i], y[1][i], 1e-6), "row %d: %.9g vs %.9g", i, (double)y[0][i], (double)y[1][i]);
}
END_TEST

START_TEST(sac_no_subsample_uses_all_members) {
  /* critic.subsample == critic.ensemble_size: min over every member, no draw. */
  wsrl_config_t *c = tiny_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "critic.subsample", "3"), WSRL_OK);
  wsrl_agent_t *ag = make_agent(c);
  randomize(ag, 12);
  tbatch b;
  make_batch(&b, 4);
  wsrl__rng r = *wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE);
  double y[MAXR], mean;
  ref_td(ag, &r, 1, 0, B, &b, y);
  ck_assert_int_eq(wsrl__sac_td_target(ag, SAC(ag), 1, 0, B, b.rew, b.nobs, b.mask, NULL, &mean), WSRL_OK);
  for (int i = 0; i < B; i++)
    ck_assert(close_rel(ag->s.y[i], y[i], 1e-4));
  ck_assert_mem_eq(&r, wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE), sizeof r);
  wsrl_agent_destroy(ag);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(sac_critic_loss_and_gradient) {
  wsrl_config_t *c = tiny_config("sac");
  wsrl_agent_t *ag = make_agent(c);
  randomize(ag, 13);
  tbatch b;
  make_batch(&b, 5);
  sac_user u = {ag, &b, {0}, B};
  wsrl__rng r = *wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE);
  ref_td(ag, &r, 1, 0, B, &b, u.y);
  wsrl__critic_stats st;
  memset(&st, 0, sizeof st);
  ck_assert_int_eq(wsrl__sac_critic_grads(ag, SAC(ag), B, b.obs, b.act, b.rew, b.nobs, b.mask, &st), WSRL_OK);
  const double ref = ref_sac_critic_loss(&u);
  ck_assert_msg(close_rel(st.critic_loss, ref, 1e-4), "critic loss %.7g, reference %.7g", st.critic_loss, ref);
  fd_obj o = {0, NULL, wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE)};
  const double err = fd_check(&o, ref_sac_critic_loss, &u);
  ck_assert_msg(err < FD_BOUND, "critic gradient error %g", err);
  wsrl_agent_destroy(ag);
  wsrl_config_destroy(c);
}
END_TEST

typedef struct actor_user {
  wsrl_agent_t *ag;
  const float *obs;
  double eps[MAXR * A];
  int64_t n;
  double alpha;
} actor_user;

static double ref_actor_loss(void *u_) {
  actor_user *u = u_;
  double od[MAXR * O], a[MAXR * A], logp[MAXR], q[E * MAXR], loss = 0.0;
  to_double(u->obs, od, u->n * O);
  nnref_policy_sample(u->ag->pi, u->n, od, 1, u->eps, a, logp);
  ref_q(wsrl__qensemble_mlp(u->ag->q, WSRL__Q_ONLINE), u->n, u->obs, 1, a, q);
  for (int64_t i = 0; i < u->n; i++) {
    double m = INFINITY;
    for (int e = 0; e < E; e++) /* the min over ALL members */
      m = fmin(m, q[e * u->n + i]);
    loss += u->alpha * logp[i] - m;
  }
  return loss / (double)u->n;
}

START_TEST(sac_actor_loss_and_gradient) {
  for (int uniform = 0; uniform < 2; uniform++) {
    wsrl_config_t *c = tiny_config("sac");
    ck_assert_int_eq(wsrl_config_set(c, "actor.std_parameterization", uniform ? "uniform" : "exp"), WSRL_OK);
    wsrl_agent_t *ag = make_agent(c);
    randomize(ag, 14);
    tbatch b;
    make_batch(&b, 6);
    actor_user u = {ag, b.obs, {0}, U * B, wsrl__scalar_value(&SAC(ag)->temperature)};
    wsrl__rng r = *wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE);
    float eps[MAXR * A];
    wsrl__rng_fill_normal(&r, eps, (size_t)(u.n * A));
    to_double(eps, u.eps, u.n * A);
    double loss, ent;
    ck_assert_int_eq(wsrl__sac_actor_grads(ag, SAC(ag), u.n, b.obs, &loss, &ent), WSRL_OK);
    const double ref = ref_actor_loss(&u);
    ck_assert_msg(close_rel(loss, ref, 1e-4), "actor loss %.7g, reference %.7g", loss, ref);
    fd_obj o = {1, ag->pi, NULL};
    const double err = fd_check(&o, ref_actor_loss, &u);
    ck_assert_msg(err < FD_BOUND, "actor gradient error %g (std %s)", err, uniform ? "uniform" : "exp");
    wsrl_agent_destroy(ag);
    wsrl_config_destroy(c);
  }
}
END_TEST

START_TEST(sac_temperature_gradient) {
  wsrl_config_t *c = tiny_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "td.max_target_backup", "all"), WSRL_OK);
  wsrl_agent_t *ag = make_agent(c);
  randomize(ag, 15);
  tbatch b;
  make_batch(&b, 7);
  for (int32_t nrep = 1; nrep <= NB; nrep += NB - 1) {
    wsrl__rng r = *wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE);
    double a[MAXR * N * A], logp[MAXR * N], h = 0.0;
    ref_sample(ag, &r, U * B, b.nobs, nrep, a, logp);
    for (int i = 0; i < U * B * nrep; i++)
      h -= logp[i];
    h /= U * B * nrep;
    double grad, ent;
    ck_assert_int_eq(wsrl__sac_temperature_grad(ag, SAC(ag), U * B, b.nobs, nrep, &grad, &ent), WSRL_OK);
    ck_assert(close_rel(ent, h, 1e-4));
    ck_assert(close_rel(grad, h - (-A), 1e-4)); /* target entropy auto = -A */
  }
  wsrl_agent_destroy(ag);
  wsrl_config_destroy(c);
}
END_TEST

/* ================================================================ CQL */

typedef struct cql_user {
  wsrl_agent_t *ag;
  const tbatch *b;
  int64_t n;
  double y[MAXR];
  double acts[MAXR * G * A]; /* [n, G, A] as the agent orders them */
  double logp_cur[MAXR * N], logp_next[MAXR * N];
  int32_t mem[64];
  int32_t k;
  int32_t calql, is, clip_uniform;
  double alpha, temp;
  /* outputs of the last evaluation */
  double td, diff, ood;
  int64_t hits;
} cql_user;

/* Replay every draw of one CQL critic step. */
static void ref_cql_samples(cql_user *u, wsrl__rng *r) {
  wsrl_agent_t *ag = u->ag;
  const int64_t n = u->n;
  ref_td(ag, r, NB, 0, n, u->b, u->y);
  float uni[N * A];
  for (int64_t i = 0; i < n; i++) {
    wsrl__rng_fill_uniform(r, uni, N * A, -1.0f, 1.0f);
    for (int j = 0; j < N * A; j++)
      u->acts[i * G * A + j] = uni[j];
  }
  double a[MAXR * N * A];
  ref_sample(ag, r, n, u->b->obs, N, a, u->logp_cur);
  for (int64_t i = 0; i < n; i++)
    memcpy(u->acts + (i * G + N) * A, a + i * N * A, sizeof(double) * N * A);
  ref_sample(ag, r, n, u->b->nobs, N, a, u->logp_next);
  for (int64_t i = 0; i < n; i++) {
    memcpy(u->acts + (i * G + 2 * N) * A, a + i * N * A, sizeof(double) * N * A);
    for (int j = 0; j < A; j++)
      u->acts[(i * G + 3 * N) * A + j] = u->b->act[i * A + j];
  }
  u->k = ref_members(ag, r, u->mem);
}

static double ref_cql_loss(void *u_) {
  cql_user *u = u_;
  const int64_t n = u->n, rows = n * G;
  double *q = malloc(sizeof(double) * (size_t)(E * rows));
  ref_q(wsrl__qensemble_mlp(u->ag->q, WSRL__Q_ONLINE), rows, u->b->obs, G, u->acts, q);
  double td = 0.0;
  for (int e = 0; e < E; e++)
    for (int64_t i = 0; i < n; i++) {
      const double d = q[e * rows + i * G + 3 * N] - u->y[i];
      td += d * d;
    }
  td /= (double)(E * n);
  double diff = 0.0, ood_sum = 0.0;
  int64_t hits = 0;
  for (int32_t j = 0; j < u->k; j++) {
    const int e = u->mem[j];
    for (int64_t i = 0; i < n; i++) {
      const double *qi = q + e * rows + i * G;
      double x[G];
      int nv = 0;
      for (int t = 0; t < 3 * N; t++) {
        double v = qi[t];
        if (u->calql && (t >= N || u->clip_uniform) && v < u->b->mc[i]) {
          v = u->b->mc[i];
          hits++;
        }
        if (u->is)
          v -= t < N ? A * log(0.5) : t < 2 * N ? u->logp_cur[i * N + t - N] : u->logp_next[i * N + t - 2 * N];
        x[nv++] = v;
      }
      if (!u->is) {
        x[nv++] = qi[3 * N];
        for (int t = 0; t < nv; t++)
          x[t] -= log((double)nv) * u->temp;
      }
      double m = -INFINITY, s = 0.0;
      for (int t = 0; t < nv; t++)
        m = fmax(m, x[t] / u->temp);
      for (int t = 0; t < nv; t++)
        s += exp(x[t] / u->temp - m);
      const double ood = u->temp * (m + log(s));
      ood_sum += ood;
      diff += ood - qi[3 * N];
    }
  }
  free(q);
  u->td = td;
  u->diff = diff / (u->k * n);
  u->ood = ood_sum / (u->k * n);
  u->hits = hits;
  return td + u->alpha * u->diff;
}

static void check_cql(const char *algo, int32_t is, int32_t clip_uniform, double temp, int32_t subsample) {
  wsrl_config_t *c = tiny_config(algo);
  ck_assert_int_eq(wsrl_config_set(c, "cql.importance_sample", is ? "1" : "0"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(c, "calql.clip_uniform", clip_uniform ? "1" : "0"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_float(c, "cql.temp", temp), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_int(c, "critic.subsample", subsample), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set_float(c, "cql.alpha", 2.5), WSRL_OK);
  wsrl_agent_t *ag = make_agent(c);
  randomize(ag, 21);
  tbatch b;
  make_batch(&b, 8);
  cql_user u;
  memset(&u, 0, sizeof u);
  u.ag = ag;
  u.b = &b;
  u.n = B;
  u.calql = strcmp(algo, "calql") == 0;
  u.is = is;
  u.clip_uniform = clip_uniform;
  u.alpha = 2.5;
  u.temp = temp;
  wsrl__rng r = *wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE);
  ref_cql_samples(&u, &r);
  if (u.calql) {
    /* MC returns at the mean of the subset's pi-sampled Q values: some clip, some do not. */
    double *q = malloc(sizeof(double) * E * B * G);
    ref_q(wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE), B * G, b.obs, G, u.acts, q);
    for (int i = 0; i < B; i++) {
      double s = 0.0;
      for (int32_t j = 0; j < u.k; j++) /* the members the loss clips */
        for (int t = N; t < 3 * N; t++)
          s += q[u.mem[j] * B * G + i * G + t];
      b.mc[i] = (float)(s / (u.k * 2 * N));
    }
    free(q);
  }
  const int32_t calql = strcmp(algo, "calql") == 0;
  ck_assert_int_eq(wsrl__agent_needs_mc_return(ag), calql);
  wsrl__critic_stats st;
  memset(&st, 0, sizeof st);
  double alpha_used = 0.0;
  ck_assert_int_eq(wsrl__cql_critic_grads(ag, SAC(ag), calql, B, b.obs, b.act, b.rew, b.nobs, b.mask, b.mc, &st, &alpha_used),
                   WSRL_OK);
  ck_assert_mem_eq(&r, wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE), sizeof r);
  const double ref = ref_cql_loss(&u);
  ck_assert_msg(close_rel(st.critic_loss, ref, 1e-4), "%s loss %.7g, reference %.7g", algo, st.critic_loss, ref);
  ck_assert(close_rel(st.td_loss, u.td, 1e-4));
  ck_assert(close_rel(st.cql_diff, u.diff, 1e-4));
  ck_assert(close_rel(st.cql_ood, u.ood, 1e-4));
  ck_assert(alpha_used == 2.5);
  if (u.calql) {
    ck_assert_msg(u.hits > 0 && u.hits < u.k * B * (clip_uniform ? 3 : 2) * N,
                  "the test should clip some values (%lld)", (long long)u.hits);
    ck_assert(close_rel(st.bound_rate, (double)u.hits / (u.k * B * 3 * N), 1e-9));
  }
  fd_obj o = {0, NULL, wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE)};
  const double err = fd_check(&o, ref_cql_loss, &u);
  ck_assert_msg(err < FD_BOUND, "%s critic gradient error %g", algo, err);
  wsrl_agent_destroy(ag);
  wsrl_config_destroy(c);
}

START_TEST(cql_loss_importance_sampling) { check_cql("cql", 1, 0, 1.0, 2); }
END_TEST

START_TEST(cql_loss_no_importance_sampling) { check_cql("cql", 0, 0, 0.5, 2); }
END_TEST

START_TEST(cql_loss_all_members) { check_cql("cql", 1, 0, 1.0, 3); }
END_TEST

START_TEST(calql_lower_bound) { check_cql("calql", 1, 0, 1.0, 2); }
END_TEST

START_TEST(calql_lower_bound_uniform_too) { check_cql("calql", 1, 1, 1.0, 2); }
END_TEST

START_TEST(cql_lagrange_autotune) {
  /* alpha comes from the multiplier; after one update lambda moves against
   * (mean diff - gap) as a maximiser: up when the gap is exceeded. */
  for (int above = 0; above < 2; above++) {
    wsrl_config_t *c = tiny_config("cql");
    ck_assert_int_eq(wsrl_config_set(c, "cql.autotune_alpha", "1"), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set_float(c, "cql.target_action_gap", above ? -100.0 : 100.0), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set_float(c, "cql.lagrange_init", 1.5), WSRL_OK);
    wsrl_agent_t *ag = make_agent(c);
    randomize(ag, 22);
    tbatch b;
    make_batch(&b, 9);
    ck_assert(close_rel(wsrl__scalar_value(&SAC(ag)->lagrange), 1.5, 1e-6));
    wsrl__agent_batch ib = ibatch(&b, B);
    ck_assert_int_eq(wsrl__agent_update(ag, &ib), WSRL_OK);
    double alpha;
    ck_assert_int_eq(wsrl_agent_metric_by_name(ag, "cql_alpha", &alpha), WSRL_OK);
    ck_assert(close_rel(alpha, 1.5, 1e-6)); /* the value before the step */
    const double after = wsrl__scalar_value(&SAC(ag)->lagrange);
    ck_assert_msg(above ? after > 1.5 : after < 1.5, "lambda %g after one step (gap %s)", after,
                  above ? "exceeded" : "not reached");
    ck_assert_int_eq(SAC(ag)->lagrange.t, 1);
    wsrl_agent_destroy(ag);
    wsrl_config_destroy(c);
  }
}
END_TEST

/* ================================================================ IQL */

typedef struct iql_user {
  wsrl_agent_t *ag;
  const tbatch *b;
  int64_t n;
  double tau_e, beta, wmax;
  double y[MAXR];
  double value_loss, critic_loss, actor_loss;
} iql_user;

static void ref_target_min(wsrl_agent_t *ag, int64_t n, const tbatch *b, double *qmin) {
  double a[MAXR * A], q[E * MAXR];
  to_double(b->act, a, n * A);
  ref_q(wsrl__qensemble_mlp(ag->q, WSRL__Q_TARGET), n, b->obs, 1, a, q);
  for (int64_t i = 0; i < n; i++) {
    qmin[i] = INFINITY;
    for (int e = 0; e < E; e++)
      qmin[i] = fmin(qmin[i], q[e * n + i]);
  }
}

static double ref_value_loss(void *u_) {
  iql_user *u = u_;
  double qmin[MAXR], v[MAXR], loss = 0.0;
  ref_target_min(u->ag, u->n, u->b, qmin);
  ref_value(wsrl__iql_value(u->ag), u->n, u->b->obs, v);
  for (int64_t i = 0; i < u->n; i++) {
    const double d = qmin[i] - v[i], w = d < 0 ? 1.0 - u->tau_e : u->tau_e;
    loss += w * d * d;
  }
  return u->value_loss = loss / (double)u->n;
}

static double ref_iql_critic_loss(void *u_) {
  iql_user *u = u_;
  double a[MAXR * A], q[E * MAXR], loss = 0.0;
  to_double(u->b->act, a, u->n * A);
  ref_q(wsrl__qensemble_mlp(u->ag->q, WSRL__Q_ONLINE), u->n, u->b->obs, 1, a, q);
  for (int e = 0; e < E; e++)
    for (int64_t i = 0; i < u->n; i++)
      loss += (q[e * u->n + i] - u->y[i]) * (q[e * u->n + i] - u->y[i]);
  return u->critic_loss = loss / (double)(E * u->n);
}

static double ref_awr_loss(void *u_) {
  iql_user *u = u_;
  double qmin[MAXR], v[MAXR], od[MAXR * O], ad[MAXR * A], logp[MAXR], loss = 0.0;
  ref_target_min(u->ag, u->n, u->b, qmin);
  ref_value(wsrl__iql_value(u->ag), u->n, u->b->obs, v);
  to_double(u->b->obs, od, u->n * O);
  to_double(u->b->act, ad, u->n * A);
  nnref_policy_log_prob(u->ag->pi, u->n, od, ad, logp);
  for (int64_t i = 0; i < u->n; i++)
    loss -= fmin(exp(u->beta * (qmin[i] - v[i])), u->wmax) * logp[i];
  return u->actor_loss = loss / (double)u->n;
}

START_TEST(iql_losses_and_gradients) {
  for (int tanh_policy = 0; tanh_policy < 2; tanh_policy++) {
    wsrl_config_t *c = tiny_config("iql");
    /* The faithful IQL actor: Gaussian without tanh, state-independent std;
     * and the tanh variant used for WSRL. */
    ck_assert_int_eq(wsrl_config_set(c, "actor.tanh_squash", tanh_policy ? "1" : "0"), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set(c, "actor.std_parameterization", "uniform"), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set_float(c, "iql.expectile", 0.7), WSRL_OK);
    wsrl_agent_t *ag = make_agent(c);
    ck_assert_ptr_nonnull(wsrl__iql_value(ag));
    randomize(ag, 31);
    tbatch b;
    make_batch(&b, 10);
    iql_user u = {ag, &b, B, 0.7, 2.0, 3.0, {0}, 0, 0, 0};
    double vn[MAXR];
    ref_value(wsrl__iql_value(ag), B, b.nobs, vn);
    for (int i = 0; i < B; i++)
      u.y[i] = b.rew[i] + GAMMA * b.mask[i] * vn[i];

    wsrl__iql_stats st;
    ck_assert_int_eq(wsrl__iql_critic_grads(ag, B, b.obs, b.act, b.rew, b.nobs, b.mask, &st), WSRL_OK);
    ck_assert_msg(close_rel(st.value_loss, ref_value_loss(&u), 1e-4), "value loss %.7g vs %.7g", st.value_loss,
                  u.value_loss);
    ck_assert_msg(close_rel(st.critic_loss, ref_iql_critic_loss(&u), 1e-4), "critic loss %.7g vs %.7g", st.critic_loss,
                  u.critic_loss);
    fd_obj ov = {0, NULL, wsrl__iql_value(ag)};
    double err = fd_check(&ov, ref_value_loss, &u);
    ck_assert_msg(err < FD_BOUND, "value gradient error %g", err);
    fd_obj oc = {0, NULL, wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE)};
    err = fd_check(&oc, ref_iql_critic_loss, &u);
    ck_assert_msg(err < FD_BOUND, "IQL critic gradient error %g", err);

    double loss, adv, w;
    ck_assert_int_eq(wsrl__iql_actor_grads(ag, B, b.obs, b.act, &loss, &adv, &w), WSRL_OK);
    ck_assert_msg(close_rel(loss, ref_awr_loss(&u), 1e-4), "AWR loss %.7g vs %.7g", loss, u.actor_loss);
    fd_obj oa = {1, ag->pi, NULL};
    err = fd_check(&oa, ref_awr_loss, &u);
    ck_assert_msg(err < FD_BOUND, "AWR gradient error %g", err);
    wsrl_agent_destroy(ag);
    wsrl_config_destroy(c);
  }
}
END_TEST

/* ======================================================= whole updates */

static void get_all_params(wsrl_agent_t *ag, float **out, int64_t *n) {
  wsrl__mlp *ms[3] = {wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE), wsrl__qensemble_mlp(ag->q, WSRL__Q_TARGET),
                      wsrl__iql_value(ag)};
  int64_t total = wsrl__policy_param_count(ag->pi) + 4;
  for (int i = 0; i < 3; i++)
    if (ms[i] != NULL)
      total += wsrl__mlp_param_count(ms[i]);
  float *p = malloc(sizeof(float) * (size_t)total), *q = p;
  for (int i = 0; i < 3; i++)
    if (ms[i] != NULL) {
      ck_assert_int_eq(wsrl__mlp_get_params(ms[i], q, wsrl__mlp_param_count(ms[i])), WSRL_OK);
      q += wsrl__mlp_param_count(ms[i]);
    }
  ck_assert_int_eq(wsrl__policy_get_params(ag->pi, q, wsrl__policy_param_count(ag->pi)), WSRL_OK);
  q += wsrl__policy_param_count(ag->pi);
  q[0] = q[1] = q[2] = q[3] = 0.0f;
  if (ag->offline->flags & WSRL__LEARNER_SAC_BASE) { /* the learned scalars */
    q[0] = SAC(ag)->temperature.p;
    q[1] = SAC(ag)->temperature.m;
    q[2] = SAC(ag)->lagrange.p;
    q[3] = SAC(ag)->lagrange.m;
  }
  *out = p;
  *n = total;
}

/* k updates on batches seeded from `seed`, switching online after `offline` of them. */
static void run_updates(wsrl_agent_t *ag, int k, int offline, uint64_t seed) {
  for (int i = 0; i < k; i++) {
    if (i == offline)
      ck_assert_int_eq(wsrl_agent_switch_online(ag), WSRL_OK);
    tbatch b;
    make_batch(&b, seed + (uint64_t)i);
    wsrl__agent_batch ib = ibatch(&b, wsrl__agent_batch_rows(ag));
    wsrl_status_t st = wsrl__agent_update(ag, &ib);
    ck_assert_msg(st == WSRL_OK, "update %d: %s", i, wsrl_last_error_message());
  }
}

static void same_params(wsrl_agent_t *a, wsrl_agent_t *b) {
  float *pa, *pb;
  int64_t na, nb;
  get_all_params(a, &pa, &na);
  get_all_params(b, &pb, &nb);
  ck_assert_int_eq(na, nb);
  ck_assert_msg(memcmp(pa, pb, sizeof(float) * (size_t)na) == 0, "parameters differ");
  free(pa);
  free(pb);
}

START_TEST(update_deterministic) {
  const char *algos[] = {"sac", "cql", "calql", "iql"};
  for (int i = 0; i < 4; i++) {
    wsrl_config_t *c = tiny_config(algos[i]);
    wsrl_agent_t *a = make_agent(c), *b = make_agent(c);
    same_params(a, b); /* same seed, same initialisation */
    run_updates(a, 4, 2, 100);
    run_updates(b, 4, 2, 100);
    same_params(a, b);
    for (int32_t m = 0; m < a->metric_count; m++)
      ck_assert(memcmp(&a->metrics[m], &b->metrics[m], sizeof(double)) == 0);
    ck_assert_int_eq(a->counters.updates, 4);
    wsrl_agent_destroy(a);
    wsrl_agent_destroy(b);
    wsrl_config_destroy(c);
  }
}
END_TEST

START_TEST(update_changes_params_and_metrics_finite) {
  const char *algos[] = {"sac", "cql", "calql", "iql"};
  for (int i = 0; i < 4; i++) {
    wsrl_config_t *c = tiny_config(algos[i]);
    wsrl_agent_t *a = make_agent(c);
    float *p0, *p1;
    int64_t n;
    get_all_params(a, &p0, &n);
    run_updates(a, 3, 3, 200);
    get_all_params(a, &p1, &n);
    ck_assert(memcmp(p0, p1, sizeof(float) * (size_t)n) != 0);
    int32_t count;
    ck_assert_int_eq(wsrl_agent_metric_count(a, &count), WSRL_OK);
    ck_assert_int_gt(count, 0);
    for (int32_t m = 0; m < count; m++) {
      const char *name;
      double v;
      ck_assert_int_eq(wsrl_agent_metric(a, m, &name, &v), WSRL_OK);
      ck_assert_msg(isfinite(v) || strcmp(name, "lagrange") == 0, "%s: metric %s = %g", algos[i], name, v);
    }
    free(p0);
    free(p1);
    wsrl_agent_destroy(a);
    wsrl_config_destroy(c);
  }
}
END_TEST

START_TEST(update_step_untrained) {
  /* One online update with utd U: reference steps every optimizer on each
   * of the U + 1 sub-steps; skip only the trained ones. */
  for (int skip = 0; skip < 2; skip++) {
    wsrl_config_t *c = tiny_config("sac");
    ck_assert_int_eq(wsrl_config_set(c, "optim.step_untrained", skip ? "skip" : "reference"), WSRL_OK);
    wsrl_agent_t *a = make_agent(c);
    run_updates(a, 1, 0, 300);
    const int64_t ct = *wsrl__mlp_adam_t(wsrl__qensemble_mlp(a->q, WSRL__Q_ONLINE));
    const int64_t at = *wsrl__policy_adam_t(a->pi);
    ck_assert_int_eq(ct, skip ? U : U + 1);
    ck_assert_int_eq(at, skip ? 1 : U + 1);
    ck_assert_int_eq(SAC(a)->temperature.t, skip ? 1 : U + 1);
    ck_assert_int_eq(a->counters.critic_steps, U);
    ck_assert_int_eq(a->counters.actor_steps, 1);
    wsrl_agent_destroy(a);
    wsrl_config_destroy(c);
  }
}
END_TEST

START_TEST(update_high_utd_schedule) {
  /* With U = 2 the critic takes two Polyak-followed steps on the two
   * minibatches, then the actor one step on the whole batch: replaying the
   * same calls by hand gives bitwise the same networks. */
  wsrl_config_t *c = tiny_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "optim.step_untrained", "skip"), WSRL_OK);
  wsrl_agent_t *a = make_agent(c), *h = make_agent(c);
  tbatch b;
  make_batch(&b, 400);
  wsrl__agent_batch ib = ibatch(&b, U * B);
  ck_assert_int_eq(wsrl__agent_update(a, &ib), WSRL_OK);
  for (int u = 0; u < U; u++) {
    wsrl__critic_stats st;
    ck_assert_int_eq(wsrl__sac_critic_grads(h, SAC(h), B, b.obs + u * B * O, b.act + u * B * A, b.rew + u * B,
                                            b.nobs + u * B * O, b.mask + u * B, &st),
                     WSRL_OK);
    ck_assert_int_eq(wsrl__agent_critic_step(h, NULL), WSRL_OK);
    wsrl__qensemble_polyak(h->q, 0.005f);
  }
  double loss, ent, g;
  ck_assert_int_eq(wsrl__sac_actor_grads(h, SAC(h), U * B, b.obs, &loss, &ent), WSRL_OK);
  ck_assert_int_eq(wsrl__sac_temperature_grad(h, SAC(h), U * B, b.nobs, 1, &g, &ent), WSRL_OK);
  ck_assert_int_eq(wsrl__agent_actor_step(h, NULL), WSRL_OK);
  wsrl__agent_scalar_step(h, &SAC(h)->temperature, g, 1);
  same_params(a, h);
  wsrl_agent_destroy(a);
  wsrl_agent_destroy(h);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(update_single_step_schedule) {
  /* With U = 1 every loss reads the parameters from before the update: the
   * critic's gradients are taken, then the actor's through the unchanged
   * critic, then the temperature's, and only then does anything step. */
  wsrl_config_t *c = tiny_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "update.utd", "1"), WSRL_OK);
  wsrl_agent_t *a = make_agent(c), *h = make_agent(c);
  tbatch b;
  make_batch(&b, 410);
  wsrl__agent_batch ib = ibatch(&b, B);
  ck_assert_int_eq(wsrl__agent_update(a, &ib), WSRL_OK);
  wsrl__critic_stats st;
  double loss, ent, g;
  ck_assert_int_eq(wsrl__sac_critic_grads(h, SAC(h), B, b.obs, b.act, b.rew, b.nobs, b.mask, &st), WSRL_OK);
  ck_assert_int_eq(wsrl__sac_actor_grads(h, SAC(h), B, b.obs, &loss, &ent), WSRL_OK);
  ck_assert_int_eq(wsrl__sac_temperature_grad(h, SAC(h), B, b.nobs, 1, &g, &ent), WSRL_OK);
  ck_assert_int_eq(wsrl__agent_critic_step(h, NULL), WSRL_OK);
  wsrl__qensemble_polyak(h->q, 0.005f);
  ck_assert_int_eq(wsrl__agent_actor_step(h, NULL), WSRL_OK);
  wsrl__agent_scalar_step(h, &SAC(h)->temperature, g, 1);
  same_params(a, h);
  wsrl_agent_destroy(a);
  wsrl_agent_destroy(h);
  wsrl_config_destroy(c);
}
END_TEST

/* ============================================================= phases */

START_TEST(phase_switch) {
  wsrl_config_t *c = tiny_config("calql");
  wsrl_agent_t *a = make_agent(c);
  int32_t phase;
  int64_t rows;
  ck_assert_int_eq(wsrl_agent_phase(a, &phase), WSRL_OK);
  ck_assert_int_eq(phase, WSRL_AGENT_OFFLINE);
  ck_assert_int_eq(wsrl_agent_batch_rows(a, &rows), WSRL_OK);
  ck_assert_int_eq(rows, B);
  ck_assert_int_eq(wsrl__agent_needs_mc_return(a), 1);
  double v;
  ck_assert_int_eq(wsrl_agent_metric_by_name(a, "calql_bound_rate", &v), WSRL_OK);
  ck_assert(isnan(v));
  ck_assert_int_eq(wsrl_agent_switch_online(a), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_switch_online(a), WSRL_OK); /* no-op */
  ck_assert_int_eq(wsrl_agent_phase(a, &phase), WSRL_OK);
  ck_assert_int_eq(phase, WSRL_AGENT_ONLINE);
  ck_assert_int_eq(wsrl_agent_batch_rows(a, &rows), WSRL_OK);
  ck_assert_int_eq(rows, U * B);
  ck_assert_int_eq(wsrl__agent_needs_mc_return(a), 0);
  ck_assert_int_eq(wsrl_agent_metric_by_name(a, "cql_diff", &v), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("cql_diff");
  int32_t count;
  ck_assert_int_eq(wsrl_agent_metric_count(a, &count), WSRL_OK);
  ck_assert_int_eq(count, WSRL__M_TD_LOSS);
  wsrl_agent_destroy(a);

  /* online_algorithm = same keeps the Cal-QL loss online, with the utd. */
  ck_assert_int_eq(wsrl_config_set(c, "finetune.online_algorithm", "same"), WSRL_OK);
  a = make_agent(c);
  ck_assert_int_eq(wsrl_agent_switch_online(a), WSRL_OK);
  ck_assert_int_eq(wsrl__agent_needs_mc_return(a), 1);
  ck_assert_int_eq(wsrl__agent_batch_rows(a), U * B);
  run_updates(a, 1, 1, 500);
  ck_assert_int_eq(wsrl_agent_metric_by_name(a, "cql_diff", &v), WSRL_OK);
  ck_assert(isfinite(v));
  wsrl_agent_destroy(a);

  /* reset_optimizer forgets the moments at the switch. */
  ck_assert_int_eq(wsrl_config_set(c, "finetune.online_algorithm", "sac"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(c, "finetune.reset_optimizer", "1"), WSRL_OK);
  a = make_agent(c);
  run_updates(a, 1, 1, 600);
  ck_assert_int_eq(*wsrl__policy_adam_t(a->pi), 1);
  ck_assert_int_eq(wsrl_agent_switch_online(a), WSRL_OK);
  ck_assert_int_eq(*wsrl__policy_adam_t(a->pi), 0);
  ck_assert_int_eq(SAC(a)->temperature.t, 0);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);

  /* A sac agent starts online. */
  c = tiny_config("sac");
  a = make_agent(c);
  ck_assert_int_eq(wsrl__agent_phase(a), WSRL_AGENT_ONLINE);
  ck_assert_int_eq(wsrl__agent_batch_rows(a), U * B);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(iql_switch_to_sac) {
  for (int gaussian = 0; gaussian < 2; gaussian++) {
    wsrl_config_t *c = tiny_config("iql");
    /* the tanh variant, and the faithful Gaussian kept as it is by SAC */
    ck_assert_int_eq(wsrl_config_set(c, "actor.tanh_squash", gaussian ? "0" : "1"), WSRL_OK);
    wsrl_agent_t *a = make_agent(c);
    run_updates(a, 3, 1, 700); /* one IQL update, then two SAC ones */
    ck_assert_int_eq(a->counters.offline_updates, 1);
    ck_assert_int_eq(a->counters.online_updates, 2);
    double v;
    ck_assert_int_eq(wsrl_agent_metric_by_name(a, "temperature", &v), WSRL_OK);
    ck_assert(isfinite(v));
    ck_assert_int_eq(wsrl_agent_metric_by_name(a, "actor_loss", &v), WSRL_OK);
    ck_assert(isfinite(v));
    wsrl_agent_destroy(a);
    wsrl_config_destroy(c);
  }
}
END_TEST

/* ================================================================ act */

START_TEST(act_deterministic_and_units) {
  wsrl_config_t *c = tiny_config("sac");
  wsrl_agent_t *a = make_agent(c);
  randomize(a, 41);
  tbatch b;
  make_batch(&b, 11);
  float act[MAXR * A], unit[MAXR * A];
  ck_assert_int_eq(wsrl_agent_act(a, 5, b.obs, WSRL_ACT_DETERMINISTIC, act), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_act(a, 5, b.obs, WSRL_ACT_DETERMINISTIC | WSRL_ACT_UNIT, unit), WSRL_OK);
  double od[MAXR * O], mean[MAXR * A], std[MAXR * A];
  to_double(b.obs, od, 5 * O);
  nnref_policy_dist(a->pi, 5, od, mean, std);
  for (int i = 0; i < 5 * A; i++) {
    const double u = tanh(mean[i]);
    ck_assert_msg(fabs(unit[i] - u) < 1e-5, "unit action %d: %g vs tanh(mean) %g", i, (double)unit[i], u);
    const double lo = low[i % A], hi = high[i % A];
    ck_assert(fabs(act[i] - (lo + (u + 1.0) * 0.5 * (hi - lo))) < 1e-5);
  }
  /* Deterministic acting draws nothing. */
  wsrl__rng r = *wsrl__agent_rng(a, WSRL__AGENT_RNG_ACT);
  ck_assert_int_eq(wsrl_agent_act(a, 1, b.obs, WSRL_ACT_DETERMINISTIC, act), WSRL_OK);
  ck_assert_mem_eq(&r, wsrl__agent_rng(a, WSRL__AGENT_RNG_ACT), sizeof r);
  ck_assert_int_eq(a->counters.act_calls, 0);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(act_batches_and_sampling) {
  wsrl_config_t *c = tiny_config("sac");
  wsrl_agent_t *a = make_agent(c), *b2 = make_agent(c);
  enum { COUNT = 150 }; /* two full chunks and a padded one */
  float *obs = malloc(sizeof(float) * COUNT * O), *big = malloc(sizeof(float) * COUNT * A);
  wsrl__rng r;
  wsrl__rng_seed(&r, 3, 3);
  for (int i = 0; i < COUNT * O; i++)
    obs[i] = (float)wsrl__rng_normal(&r);
  ck_assert_int_eq(wsrl_agent_act(a, COUNT, obs, WSRL_ACT_DETERMINISTIC, big), WSRL_OK);
  for (int i = 0; i < COUNT; i += 7) {
    float one[A];
    ck_assert_int_eq(wsrl_agent_act(a, 1, obs + i * O, WSRL_ACT_DETERMINISTIC, one), WSRL_OK);
    for (int j = 0; j < A; j++)
      ck_assert(fabsf(one[j] - big[i * A + j]) < 1e-5f);
  }
  /* Stochastic: inside the bounds, reproducible per seed, the stream moves. */
  float s1[COUNT * A], s2[COUNT * A];
  ck_assert_int_eq(wsrl_agent_act(a, COUNT, obs, WSRL_ACT_STOCHASTIC, s1), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_act(b2, COUNT, obs, WSRL_ACT_STOCHASTIC, s2), WSRL_OK);
  ck_assert(memcmp(s1, s2, sizeof s1) == 0);
  ck_assert(memcmp(s1, big, sizeof s1) != 0);
  for (int i = 0; i < COUNT * A; i++)
    ck_assert(s1[i] >= low[i % A] && s1[i] <= high[i % A]);
  ck_assert_int_eq(a->counters.act_calls, 1);
  free(obs);
  free(big);
  wsrl_agent_destroy(a);
  wsrl_agent_destroy(b2);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(act_gaussian_policy_clipped) {
  wsrl_config_t *c = tiny_config("iql");
  ck_assert_int_eq(wsrl_config_set(c, "actor.tanh_squash", "0"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(c, "actor.std_parameterization", "uniform"), WSRL_OK);
  wsrl_agent_t *a = make_agent(c);
  randomize(a, 42);
  tbatch b;
  make_batch(&b, 12);
  float u[MAXR * A];
  for (int k = 0; k < 20; k++) {
    ck_assert_int_eq(wsrl_agent_act(a, MAXR, b.obs, WSRL_ACT_UNIT, u), WSRL_OK);
    for (int i = 0; i < MAXR * A; i++)
      ck_assert(u[i] >= -1.0f && u[i] <= 1.0f);
  }
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

/* ========================================================= checkpoints */

static void tmp_path(char *buf, size_t cap, const char *tag) {
  snprintf(buf, cap, "/tmp/wsrl-test-agent-%d-%s.ckpt", (int)getpid(), tag);
}

/* Two offline updates, the switch, one online update, save; then (a)
 * continue, (b) a fresh agent loads and continues: bitwise equal,
 * stochastic acting included. With used, (b) trains and acts before the
 * load, so the load overwrites weights whose bf16 copies are current. */
static void check_resume_used(const char *algo, const char *key, const char *value, int used) {
  wsrl_config_t *c = tiny_config(algo);
  ck_assert_int_eq(wsrl_config_set(c, key, value), WSRL_OK);
  char path[256];
  tmp_path(path, sizeof path, "resume");
  wsrl_agent_t *a = make_agent(c);
  tbatch fit; /* a learner that normalises states (TD3+BC) takes them from here; others ignore it */
  make_batch(&fit, 555);
  ck_assert_int_eq(wsrl__agent_fit_dataset(a, U * B, fit.obs), WSRL_OK);
  run_updates(a, 3, 2, 800);
  const float zero_obs[O] = {0};
  float sa[A];
  ck_assert_int_eq(wsrl_agent_act(a, 1, zero_obs, 0, sa), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_save(a, path), WSRL_OK);

  ck_assert_int_eq(wsrl_config_set(c, "agent.seed", "12345"), WSRL_OK); /* not part of the state */
  wsrl_agent_t *b = make_agent(c);
  if (used) {
    run_updates(b, 2, 1, 700);
    ck_assert_int_eq(wsrl_agent_act(b, 1, zero_obs, 0, sa), WSRL_OK);
  }
  ck_assert_int_eq(wsrl_agent_load(b, path), WSRL_OK);
  ck_assert_int_eq(wsrl__agent_phase(b), WSRL_AGENT_ONLINE);
  same_params(a, b);
  ck_assert_mem_eq(a->rng, b->rng, sizeof a->rng);
  ck_assert_mem_eq(&a->counters, &b->counters, sizeof a->counters);
  for (int k = 0; k < 2; k++) {
    tbatch bt;
    make_batch(&bt, 900 + (uint64_t)k);
    wsrl__agent_batch ib = ibatch(&bt, U * B);
    ck_assert_int_eq(wsrl__agent_update(a, &ib), WSRL_OK);
    ck_assert_int_eq(wsrl__agent_update(b, &ib), WSRL_OK);
    float x1[MAXR * A], x2[MAXR * A];
    ck_assert_int_eq(wsrl_agent_act(a, 9, bt.obs, WSRL_ACT_STOCHASTIC, x1), WSRL_OK);
    ck_assert_int_eq(wsrl_agent_act(b, 9, bt.obs, WSRL_ACT_STOCHASTIC, x2), WSRL_OK);
    ck_assert(memcmp(x1, x2, sizeof(float) * 9 * A) == 0);
  }
  same_params(a, b);
  for (int32_t m = 0; m < a->metric_count; m++)
    ck_assert(memcmp(&a->metrics[m], &b->metrics[m], sizeof(double)) == 0);

  /* create_from_checkpoint and checkpoint_config read the same file. */
  wsrl_agent_t *d = NULL;
  ck_assert_int_eq(wsrl_agent_create_from_checkpoint(&d, path, NULL), WSRL_OK);
  wsrl_config_t *fc = NULL;
  ck_assert_int_eq(wsrl_agent_checkpoint_config(path, &fc), WSRL_OK);
  char stored[16];
  ck_assert_int_eq(wsrl_config_get(fc, "agent.algorithm", stored, sizeof stored, NULL), WSRL_OK);
  ck_assert_str_eq(stored, algo);
  int64_t seed;
  ck_assert_int_eq(wsrl_config_get_int(fc, "agent.seed", &seed), WSRL_OK);
  ck_assert_int_eq(seed, 7);
  ck_assert_int_eq(wsrl__agent_phase(d), WSRL_AGENT_ONLINE);
  ck_assert_int_eq(d->counters.updates, 3);
  wsrl_config_destroy(fc);
  wsrl_agent_destroy(d);
  remove(path);
  wsrl_agent_destroy(a);
  wsrl_agent_destroy(b);
  wsrl_config_destroy(c);
}

static void check_resume(const char *algo, const char *key, const char *value) {
  check_resume_used(algo, key, value, 0);
}

START_TEST(checkpoint_resume_bitwise) {
  check_resume("calql", "cql.autotune_alpha", "1");             /* with the Lagrange multiplier */
  check_resume("iql", "actor.std_parameterization", "uniform"); /* value net, log-std vector */
  check_resume("sac", "optim.step_untrained", "skip");
  check_resume("td3bc", "td3bc.policy_freq", "2"); /* target actor, state normalisation, delayed actor */
  check_resume_used("sac", "optim.step_untrained", "skip", 1);
}
END_TEST

/* bf16: a load into a used agent makes it round the loaded weights, not
 * keep the copies of its own (where this CPU takes bf16). */
START_TEST(checkpoint_resume_bitwise_bf16) {
  wsrl_config_t *c = tiny_config("sac");
  ck_assert_int_eq(wsrl_config_set(c, "nn.precision", "bf16"), WSRL_OK);
  wsrl_env_spec_t s = tiny_spec();
  wsrl_agent_t *ag = NULL;
  const wsrl_status_t st = wsrl_agent_create(&ag, c, &s);
  wsrl_config_destroy(c);
  if (st == WSRL_ERR_UNSUPPORTED)
    return;
  ck_assert_msg(st == WSRL_OK, "create: %s", wsrl_last_error_message());
  wsrl_agent_destroy(ag);
  check_resume_used("sac", "nn.precision", "bf16", 1);
}
END_TEST

static long file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fclose(f);
  return n;
}

static void copy_file(const char *src, const char *dst, long keep, long flip_at) {
  FILE *f = fopen(src, "rb");
  long n = file_size(src);
  unsigned char *buf = malloc((size_t)n);
  ck_assert_int_eq((long)fread(buf, 1, (size_t)n, f), n);
  fclose(f);
  if (flip_at >= 0)
    buf[flip_at] ^= 0x5a;
  f = fopen(dst, "wb");
  fwrite(buf, 1, (size_t)(keep < n ? keep : n), f);
  fclose(f);
  free(buf);
}

/* The agent is bitwise what it was. */
static void untouched(wsrl_agent_t *a, const float *before, int64_t n, const wsrl__agent_counters *cnt,
                      const wsrl__rng *rng) {
  float *now;
  int64_t m;
  get_all_params(a, &now, &m);
  ck_assert_int_eq(m, n);
  ck_assert(memcmp(now, before, sizeof(float) * (size_t)n) == 0);
  ck_assert_mem_eq(&a->counters, cnt, sizeof *cnt);
  ck_assert_mem_eq(a->rng, rng, sizeof a->rng);
  free(now);
}

START_TEST(checkpoint_rejects_bad_files) {
  wsrl_config_t *c = tiny_config("cql");
  wsrl_agent_t *src = make_agent(c);
  run_updates(src, 2, 2, 1000);
  char path[256], bad[256];
  tmp_path(path, sizeof path, "good");
  tmp_path(bad, sizeof bad, "bad");
  ck_assert_int_eq(wsrl_agent_save(src, path), WSRL_OK);

  wsrl_agent_t *a = make_agent(c); /* differs from src: never updated */
  float *before;
  int64_t n;
  get_all_params(a, &before, &n);
  wsrl__agent_counters cnt = a->counters;
  wsrl__rng rng[WSRL__AGENT_RNG_COUNT];
  memcpy(rng, a->rng, sizeof rng);
  const long size = file_size(path);

  /* truncated at several points */
  const long cuts[] = {0, 10, 64, size / 2, size - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    copy_file(path, bad, cuts[i], -1);
    const wsrl_status_t st = wsrl_agent_load(a, bad);
    ck_assert_msg(st == WSRL_ERR_CORRUPT, "cut at %ld: %s (%s)", cuts[i], wsrl_status_string(st),
                  wsrl_last_error_message());
    untouched(a, before, n, &cnt, rng);
  }
  /* one flipped byte in a payload (checksum), in the table, in the header */
  const long flips[] = {size / 2, size - 20, 70, 5};
  for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
    copy_file(path, bad, size, flips[i]);
    const wsrl_status_t st = wsrl_agent_load(a, bad);
    ck_assert_msg(st == WSRL_ERR_CORRUPT, "flip at %ld: %s (%s)", flips[i], wsrl_status_string(st),
                  wsrl_last_error_message());
    untouched(a, before, n, &cnt, rng);
  }
  /* missing file */
  ck_assert_int_eq(wsrl_agent_load(a, "/nonexistent/dir/x.ckpt"), WSRL_ERR_IO);
  untouched(a, before, n, &cnt, rng);

  /* incompatible configs name the field */
  struct {
    const char *key, *value, *field;
  } inc[] = {{"critic.hidden", "6", "critic.hidden"},
             {"critic.ensemble_size", "4", "critic.ensemble_size"},
             {"actor.std_parameterization", "uniform", "actor.std_parameterization"},
             {"agent.algorithm", "calql", "agent.algorithm"},
             {"agent.algorithm", "sac", "agent.algorithm"}, /* an offline file into a sac agent */
             {"actor.layer_norm", "0", "actor.layer_norm"}};
  for (size_t i = 0; i < sizeof inc / sizeof inc[0]; i++) {
    wsrl_config_t *c2 = tiny_config("cql");
    ck_assert_int_eq(wsrl_config_set(c2, inc[i].key, inc[i].value), WSRL_OK);
    wsrl_agent_t *x = make_agent(c2);
    float *xb;
    int64_t xn;
    get_all_params(x, &xb, &xn);
    wsrl__agent_counters xc = x->counters;
    wsrl__rng xr[WSRL__AGENT_RNG_COUNT];
    memcpy(xr, x->rng, sizeof xr);
    ck_assert_int_eq(wsrl_agent_load(x, path), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has(inc[i].field);
    untouched(x, xb, xn, &xc, xr);
    free(xb);
    wsrl_agent_destroy(x);
    wsrl_config_destroy(c2);
  }
  /* other dimensions and bounds */
  wsrl_env_spec_t s = tiny_spec();
  s.obs_dim = O + 1;
  wsrl_agent_t *x = NULL;
  ck_assert_int_eq(wsrl_agent_create(&x, c, &s), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_load(x, path), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim");
  wsrl_agent_destroy(x);
  s = tiny_spec();
  const float other_high[A] = {3.0f, 1.0f};
  s.action_high = other_high;
  ck_assert_int_eq(wsrl_agent_create(&x, c, &s), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_load(x, path), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("bounds");
  wsrl_agent_destroy(x);

  /* a settings-only difference loads (the agent keeps its own lr) */
  wsrl_config_t *c3 = tiny_config("cql");
  ck_assert_int_eq(wsrl_config_set_float(c3, "optim.critic_lr", 1e-3), WSRL_OK);
  x = make_agent(c3);
  ck_assert_int_eq(wsrl_agent_load(x, path), WSRL_OK);
  same_params(x, src);
  wsrl_agent_destroy(x);
  wsrl_config_destroy(c3);

  /* and the intact file loads into a */
  ck_assert_int_eq(wsrl_agent_load(a, path), WSRL_OK);
  same_params(a, src);
  free(before);
  remove(path);
  remove(bad);
  wsrl_agent_destroy(a);
  wsrl_agent_destroy(src);
  wsrl_config_destroy(c);
}
END_TEST

/* Set element k of a network blob ("params", "adam.v", ...) in memory, the
 * way a crafted file would carry it once saved and resealed by the library. */
static void poke_blob(wsrl__mlp *m, const char *name, int64_t k, float value) {
  for (int32_t i = 0; i < wsrl__mlp_blob_count(m); i++) {
    wsrl__nn_blob b;
    ck_assert_int_eq(wsrl__mlp_blob(m, i, &b), WSRL_OK);
    if (strcmp(b.name, name) == 0) {
      ck_assert_int_lt(k, b.count);
      b.data[k] = value;
      if (b.owner != NULL)
        wsrl__mlp_params_written(b.owner);
      return;
    }
  }
  ck_abort_msg("no blob %s", name);
}

/* The learner's own array called name (e.g. "td3bc.obs_std"). */
static wsrl__learner_blob learner_blob(wsrl_agent_t *a, const char *name) {
  wsrl__learner_blob b[WSRL__LEARNER_MAX_BLOBS];
  const int32_t n = a->offline->blobs(a, a->lstate, b);
  for (int32_t i = 0; i < n; i++)
    if (strcmp(b[i].name, name) == 0)
      return b[i];
  ck_abort_msg("no learner blob %s", name);
  return b[0];
}

/* TD3+BC divides by the saved observation std: 0 (or a negative) is
 * refused at load naming the section, not left to make act return
 * WSRL_ERR_NON_FINITE. */
START_TEST(checkpoint_rejects_zero_obs_std) {
  wsrl_config_t *c = tiny_config("td3bc");
  const float bad[] = {0.0f, -0.5f, -0.0f};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    wsrl_agent_t *src = make_agent(c), *dst = make_agent(c);
    learner_blob(src, "td3bc.obs_std").data[1] = bad[i];
    char path[256];
    tmp_path(path, sizeof path, "obsstd");
    ck_assert_int_eq(wsrl_agent_save(src, path), WSRL_OK);
    ck_assert_int_eq(wsrl_agent_load(dst, path), WSRL_ERR_CORRUPT);
    ck_assert_msg_has("td3bc.obs_std");
    ck_assert_msg_has("not > 0");
    ck_assert_float_eq(learner_blob(dst, "td3bc.obs_std").data[1], 1.0f); /* untouched */
    wsrl_agent_t *x = NULL;
    ck_assert_int_eq(wsrl_agent_create_from_checkpoint(&x, path, NULL), WSRL_ERR_CORRUPT);
    ck_assert_ptr_null(x);
    remove(path);
    wsrl_agent_destroy(src);
    wsrl_agent_destroy(dst);
  }
  wsrl_config_destroy(c);
}
END_TEST

/* Finite but impossible state (issue 16, faults 1 and 2) is refused at load
 * with the section named, and leaves the loading agent as it was. */
START_TEST(checkpoint_rejects_out_of_range_state) {
  wsrl_config_t *c = tiny_config("cql");
  const struct {
    int actor;
    const char *blob;
    float value;
    const char *says;
  } cases[] = {{0, "params", 1e30f, "parameter 1e+30 is beyond"},
               {1, "params", -2e6f, "beyond"},
               {0, "adam.v", -1.0f, "Adam second moment -1 < 0"},
               {1, "adam.v", -1e-30f, "second moment"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wsrl_agent_t *src = make_agent(c), *dst = make_agent(c);
    run_updates(src, 1, 1, 1000);
    wsrl__mlp *m = cases[i].actor ? wsrl__policy_mlp(src->pi) : wsrl__qensemble_mlp(src->q, WSRL__Q_ONLINE);
    poke_blob(m, cases[i].blob, 3, cases[i].value);
    char path[256];
    tmp_path(path, sizeof path, "range");
    ck_assert_int_eq(wsrl_agent_save(src, path), WSRL_OK);
    float *before;
    int64_t n;
    get_all_params(dst, &before, &n);
    wsrl__agent_counters cnt = dst->counters;
    wsrl__rng rng[WSRL__AGENT_RNG_COUNT];
    memcpy(rng, dst->rng, sizeof rng);
    ck_assert_int_eq(wsrl_agent_load(dst, path), WSRL_ERR_CORRUPT);
    ck_assert_msg_has(cases[i].says);
    ck_assert_msg_has(cases[i].actor ? "actor." : "critic.");
    untouched(dst, before, n, &cnt, rng);
    wsrl_agent_t *x = NULL;
    ck_assert_int_eq(wsrl_agent_create_from_checkpoint(&x, path, NULL), WSRL_ERR_CORRUPT);
    ck_assert_ptr_null(x);
    free(before);
    remove(path);
    wsrl_agent_destroy(src);
    wsrl_agent_destroy(dst);
  }
  wsrl_config_destroy(c);
}
END_TEST

/* Finite inputs that overflow the forward pass give an error, never a NaN
 * action with WSRL_OK (issue 16, fault 1). */
START_TEST(act_refuses_non_finite_actions) {
  wsrl_config_t *c = tiny_config("sac");
  wsrl_agent_t *a = make_agent(c);
  float obs[O], act[A];
  /* Huge finite observations: an error or finite actions, whichever the
   * forward pass gives; never NaN with WSRL_OK. */
  for (int i = 0; i < O; i++)
    obs[i] = i % 2 ? 3e38f : -3e38f;
  const wsrl_status_t st = wsrl_agent_act(a, 1, obs, WSRL_ACT_DETERMINISTIC, act);
  ck_assert(st == WSRL_ERR_NON_FINITE || (st == WSRL_OK && isfinite(act[0]) && isfinite(act[A - 1])));
  for (int i = 0; i < O; i++)
    obs[i] = 0.5f;
  ck_assert_int_eq(wsrl_agent_act(a, 1, obs, WSRL_ACT_DETERMINISTIC, act), WSRL_OK);
  /* A forward pass that overflows somewhere (which weights and inputs do it
   * depends on the network; ReLU and tanh hide many cases) ends as NaN in the
   * head: NaN parameters stand for all of them here. */
  wsrl__nn_blob b;
  ck_assert_int_eq(wsrl__mlp_blob(wsrl__policy_mlp(a->pi), 0, &b), WSRL_OK);
  for (int64_t k = 0; k < b.count; k++)
    b.data[k] = NAN;
  wsrl__mlp_params_written(b.owner);
  ck_assert_int_eq(wsrl_agent_act(a, 1, obs, WSRL_ACT_STOCHASTIC, act), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("NaN or infinite");
  ck_assert_int_eq(wsrl_agent_act(a, 40, (float[40 * O]){0}, WSRL_ACT_DETERMINISTIC, (float[40 * A]){0}),
                   WSRL_ERR_NON_FINITE);
  /* A snapshot published from those parameters refuses the same way. */
  wsrl__agent_publish(a);
  wsrl_policy_t *pol = NULL;
  ck_assert_int_eq(wsrl_agent_policy(a, &pol), WSRL_OK);
  uint64_t stream = 1;
  ck_assert_int_eq(wsrl_policy_act(pol, obs, WSRL_ACT_DETERMINISTIC, NULL, act), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("NaN or infinite");
  ck_assert_int_eq(wsrl_policy_act(pol, obs, WSRL_ACT_STOCHASTIC, &stream, act), WSRL_ERR_NON_FINITE);
  wsrl_policy_release(pol);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

/* ========================================================= snapshots */

static void train_steps(wsrl_agent_t *a, int k, uint64_t seed) {
  tbatch b;
  make_batch(&b, seed);
  wsrl_batch_t pb = WSRL_BATCH_INIT;
  pb.obs = b.obs;
  pb.action = b.act;
  pb.reward = b.rew;
  pb.next_obs = b.nobs;
  pb.mask = b.mask;
  pb.mc_return = b.mc;
  for (int i = 0; i < k; i++) {
    ck_assert_int_eq(wsrl_agent_batch_rows(a, &pb.size), WSRL_OK);
    ck_assert_int_eq(wsrl_agent_update(a, &pb), WSRL_OK);
  }
}

/* max |policy action - agent action| over MAXR observations (flags as given). */
static double policy_vs_agent(wsrl_agent_t *a, const wsrl_policy_t *p, int32_t flags) {
  tbatch b;
  make_batch(&b, 77);
  double worst = 0.0;
  for (int r = 0; r < MAXR; r++) {
    float x[A], y[A];
    ck_assert_int_eq(wsrl_agent_act(a, 1, b.obs + r * O, WSRL_ACT_DETERMINISTIC | flags, x), WSRL_OK);
    ck_assert_int_eq(wsrl_policy_act(p, b.obs + r * O, WSRL_ACT_DETERMINISTIC | flags, NULL, y), WSRL_OK);
    for (int j = 0; j < A; j++)
      worst = fmax(worst, fabs((double)x[j] - (double)y[j]));
  }
  return worst;
}

/* A tiny SAC agent with random weights after `steps` updates, and its latest snapshot. */
static wsrl_agent_t *snapshot_agent(wsrl_config_t **c_out, uint64_t seed, int steps, wsrl_policy_t **p_out) {
  *c_out = tiny_config("sac");
  wsrl_agent_t *a = make_agent(*c_out);
  randomize(a, seed);
  train_steps(a, steps, seed + 100);
  ck_assert_int_eq(wsrl_agent_policy(a, p_out), WSRL_OK);
  return a;
}

START_TEST(snapshot_matches_agent) {
  /* Every actor variant: LayerNorm or not, exp or uniform std, tanh or not,
   * TD3+BC's deterministic actor behind its state normalisation. */
  const char *variants[][3] = {{"sac", "actor.layer_norm", "0"},
                               {"sac", "actor.layer_norm", "1"},
                               {"iql", "actor.std_parameterization", "uniform"},
                               {"iql", "actor.tanh_squash", "0"},
                               {"td3bc", "td3bc.normalize_states", "1"}};
  for (int v = 0; v < 5; v++) {
    wsrl_config_t *c = tiny_config(variants[v][0]);
    ck_assert_int_eq(wsrl_config_set(c, variants[v][1], variants[v][2]), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set(c, "actor.hidden", "33,17"), WSRL_OK);
    wsrl_agent_t *a = make_agent(c);
    randomize(a, 60 + (uint64_t)v);
    if (a->offline->fit_dataset != NULL) { /* a dataset far from mean 0, std 1 */
      float d[3 * O];
      for (int i = 0; i < 3 * O; i++)
        d[i] = 2.0f + (float)(i % 3) * (0.3f + 0.1f * (float)(i % O));
      ck_assert_int_eq(a->offline->fit_dataset(a, a->lstate, 3, d), WSRL_OK);
      ck_assert_float_ne(learner_blob(a, "td3bc.obs_mean").data[0], 0.0f);
    }
    train_steps(a, 1, 5); /* the update publishes the randomized actor */
    wsrl_policy_t *p = NULL;
    ck_assert_int_eq(wsrl_agent_policy(a, &p), WSRL_OK);
    int32_t od, ad;
    uint64_t ver;
    ck_assert_int_eq(wsrl_policy_info(p, &od, &ad, &ver), WSRL_OK);
    ck_assert_int_eq(od, O);
    ck_assert_int_eq(ad, A);
    ck_assert_uint_eq(ver, 1);
    const double du = policy_vs_agent(a, p, WSRL_ACT_UNIT), ds = policy_vs_agent(a, p, 0);
    ck_assert_msg(du <= 1e-6 && ds <= 1e-6, "variant %d: policy differs from the agent by %g (unit) / %g", v, du, ds);
    /* A policy file carries the same (normalisation and head included). */
    char path[256];
    tmp_path(path, sizeof path, "pol");
    wsrl_policy_t *q = NULL;
    ck_assert_int_eq(wsrl_policy_save(p, path), WSRL_OK);
    ck_assert_int_eq(wsrl_policy_load(&q, path), WSRL_OK);
    ck_assert_double_le(policy_vs_agent(a, q, WSRL_ACT_UNIT), 1e-6);
    wsrl_policy_release(q);
    remove(path);
    float lo[A], hi[A];
    ck_assert_int_eq(wsrl_policy_bounds(p, lo, hi), WSRL_OK);
    ck_assert_mem_eq(lo, low, sizeof lo);
    ck_assert_mem_eq(hi, high, sizeof hi);
    wsrl_policy_release(p);
    wsrl_agent_destroy(a);
    wsrl_config_destroy(c);
  }
}
END_TEST

START_TEST(snapshot_is_immutable_and_outlives_agent) {
  wsrl_config_t *c;
  wsrl_policy_t *old = NULL, *cur = NULL;
  wsrl_agent_t *a = snapshot_agent(&c, 61, 1, &old);
  tbatch b;
  make_batch(&b, 8);
  float before[A], after[A];
  ck_assert_int_eq(wsrl_policy_act(old, b.obs, WSRL_ACT_DETERMINISTIC, NULL, before), WSRL_OK);
  /* More updates than slots, one snapshot held throughout. */
  for (int k = 0; k < 6; k++) {
    train_steps(a, 1, 20 + (uint64_t)k);
    ck_assert_int_eq(wsrl_agent_policy(a, &cur), WSRL_OK);
    uint64_t ver;
    ck_assert_int_eq(wsrl_policy_info(cur, NULL, NULL, &ver), WSRL_OK);
    ck_assert_uint_eq(ver, 2 + (uint64_t)k);
    ck_assert_double_le(policy_vs_agent(a, cur, WSRL_ACT_UNIT), 1e-6);
    wsrl_policy_release(cur);
  }
  ck_assert_int_eq(wsrl_policy_act(old, b.obs, WSRL_ACT_DETERMINISTIC, NULL, after), WSRL_OK);
  ck_assert_mem_eq(before, after, sizeof before);
  /* Hold every slot: publishing skips instead of overwriting a held one. */
  wsrl_policy_t *held[4] = {old, NULL, NULL, NULL};
  for (int k = 1; k < 4; k++) {
    train_steps(a, 1, 40 + (uint64_t)k);
    ck_assert_int_eq(wsrl_agent_policy(a, &held[k]), WSRL_OK);
  }
  train_steps(a, 2, 50);
  ck_assert_int_eq(wsrl_agent_policy(a, &cur), WSRL_OK);
  ck_assert_ptr_eq(cur, held[3]);
  wsrl_policy_release(cur);
  ck_assert_int_eq(wsrl_policy_act(old, b.obs, WSRL_ACT_DETERMINISTIC, NULL, after), WSRL_OK);
  ck_assert_mem_eq(before, after, sizeof before);
  /* The snapshots outlive the agent (ASan/valgrind check the frees). */
  wsrl_agent_destroy(a);
  ck_assert_int_eq(wsrl_policy_act(old, b.obs, WSRL_ACT_DETERMINISTIC, NULL, after), WSRL_OK);
  ck_assert_mem_eq(before, after, sizeof before);
  for (int k = 0; k < 4; k++)
    wsrl_policy_release(held[k]);
  wsrl_policy_release(NULL);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(snapshot_stochastic_and_errors) {
  wsrl_config_t *c;
  wsrl_policy_t *p = NULL;
  wsrl_agent_t *a = snapshot_agent(&c, 62, 1, &p);
  tbatch b;
  make_batch(&b, 9);
  float x[A], y[A], d[A];
  uint64_t s1 = 5, s2 = 5;
  ck_assert_int_eq(wsrl_policy_act(p, b.obs, WSRL_ACT_STOCHASTIC, &s1, x), WSRL_OK);
  ck_assert_int_eq(wsrl_policy_act(p, b.obs, WSRL_ACT_STOCHASTIC, &s2, y), WSRL_OK);
  ck_assert_mem_eq(x, y, sizeof x); /* same stream, same action */
  ck_assert_uint_eq(s1, s2);
  ck_assert_uint_ne(s1, 5);
  ck_assert_int_eq(wsrl_policy_act(p, b.obs, WSRL_ACT_STOCHASTIC, &s1, y), WSRL_OK);
  ck_assert(memcmp(x, y, sizeof x) != 0); /* the stream moved */
  ck_assert_int_eq(wsrl_policy_act(p, b.obs, WSRL_ACT_DETERMINISTIC, NULL, d), WSRL_OK);
  for (int j = 0; j < A; j++)
    ck_assert(x[j] >= low[j] && x[j] <= high[j] && x[j] != d[j]);
  ck_assert_int_eq(wsrl_policy_act(p, b.obs, WSRL_ACT_STOCHASTIC, NULL, x), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("rng_state");
  ck_assert_int_eq(wsrl_policy_act(p, b.obs, 8, NULL, x), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_policy_act(NULL, b.obs, 1, NULL, x), WSRL_ERR_INVALID_ARGUMENT);
  float bad[O] = {0};
  bad[1] = NAN;
  ck_assert_int_eq(wsrl_policy_act(p, bad, 1, NULL, x), WSRL_ERR_NON_FINITE);
  wsrl_policy_release(p);
  ck_assert_int_eq(wsrl_agent_policy(a, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_policy(NULL, &p), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(p);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

/* snapshot_agent() whose snapshot is saved at path; bad names a scratch file (256 bytes each). */
static wsrl_agent_t *saved_snapshot(wsrl_config_t **c_out, uint64_t seed, int steps, wsrl_policy_t **p_out,
                                    const char *tag, char *path, char *bad) {
  wsrl_agent_t *a = snapshot_agent(c_out, seed, steps, p_out);
  char t[64];
  tmp_path(path, 256, tag);
  snprintf(t, sizeof t, "%s-bad", tag);
  tmp_path(bad, 256, t);
  ck_assert_int_eq(wsrl_policy_save(*p_out, path), WSRL_OK);
  return a;
}

START_TEST(policy_file_roundtrip_and_rejects) {
  wsrl_config_t *c;
  wsrl_policy_t *p = NULL, *q = NULL;
  char path[256], bad[256];
  wsrl_agent_t *a = saved_snapshot(&c, 63, 3, &p, "policy", path, bad);
  const int64_t live = wsrl_live_handles();
  ck_assert_int_eq(wsrl_policy_load(&q, path), WSRL_OK);
  ck_assert_int_eq(wsrl_live_handles(), live + 1);
  uint64_t ver;
  ck_assert_int_eq(wsrl_policy_info(q, NULL, NULL, &ver), WSRL_OK);
  ck_assert_uint_eq(ver, 3);
  tbatch b;
  make_batch(&b, 11);
  for (int r = 0; r < MAXR; r++) {
    float x[A], y[A];
    ck_assert_int_eq(wsrl_policy_act(p, b.obs + r * O, 1, NULL, x), WSRL_OK);
    ck_assert_int_eq(wsrl_policy_act(q, b.obs + r * O, 1, NULL, y), WSRL_OK);
    ck_assert_mem_eq(x, y, sizeof x); /* the file holds the exact weights */
  }
  /* 1e-6 in unit actions (the other snapshot checks), times the bounds' half-width 2. */
  ck_assert_double_le(policy_vs_agent(a, q, WSRL_ACT_UNIT), 1e-6);
  ck_assert_double_le(policy_vs_agent(a, q, 0), 2e-6);
  wsrl_policy_release(q);
  ck_assert_int_eq(wsrl_live_handles(), live);
  /* A flipped byte anywhere past the header, a cut file, a missing file. */
  const long n = file_size(path);
  for (long at = 0; at < n; at += 37) {
    copy_file(path, bad, n, at);
    q = (wsrl_policy_t *)1;
    const wsrl_status_t st = wsrl_policy_load(&q, bad);
    ck_assert_msg(st == WSRL_ERR_CORRUPT || st == WSRL_ERR_VERSION_MISMATCH, "flip at %ld: %s", at,
                  wsrl_status_string(st));
    ck_assert_ptr_null(q);
  }
  copy_file(path, bad, n / 2, -1);
  ck_assert_int_eq(wsrl_policy_load(&q, bad), WSRL_ERR_CORRUPT);
  remove(bad);
  ck_assert_int_eq(wsrl_policy_load(&q, bad), WSRL_ERR_IO);
  /* An agent checkpoint is not a policy file. */
  ck_assert_int_eq(wsrl_agent_save(a, bad), WSRL_OK);
  ck_assert_int_eq(wsrl_policy_load(&q, bad), WSRL_ERR_CORRUPT);
  remove(bad);
  remove(path);
  wsrl_policy_release(p);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

/* Rewrite a section's payload bytes [at, at + n) and reseal every CRC, the
 * way a crafted (not a damaged) file would look. */
static void reseal_edit(const char *path, const char *section, long at, const void *bytes, size_t n) {
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  const long size = file_size(path);
  uint8_t *b = malloc((size_t)size);
  ck_assert_int_eq((long)fread(b, 1, (size_t)size, f), size);
  const uint64_t table = wsrl__load_u64le(b + 24);
  const uint32_t count = wsrl__load_u32le(b + 20);
  for (uint32_t i = 0; i < count; i++) {
    uint8_t *e = b + table + 56 * i;
    if (strcmp((const char *)e, section) != 0)
      continue;
    const uint64_t off = wsrl__load_u64le(e + 32), len = wsrl__load_u64le(e + 40);
    memcpy(b + off + at, bytes, n);
    wsrl__store_u32le(e + 48, wsrl__crc32(0, b + off, (size_t)len));
  }
  wsrl__store_u32le(b + 40, wsrl__crc32(0, b + table, (size_t)count * 56));
  wsrl__store_u32le(b + 60, wsrl__crc32(0, b, 60));
  rewind(f);
  ck_assert_int_eq((long)fwrite(b, 1, (size_t)size, f), size);
  fclose(f);
  free(b);
}

START_TEST(policy_file_rejects_crafted_fields) {
  wsrl_config_t *c;
  wsrl_policy_t *p = NULL, *q = NULL;
  char path[256], bad[256];
  wsrl_agent_t *a = saved_snapshot(&c, 64, 1, &p, "policy-crafted", path, bad);
  /* shape: int32 obs, act, n_hidden, layer_norm, std_param, tanh, width[9]; f32 std_min, std_max. */
  struct {
    long at;
    uint32_t value;
    wsrl_status_t want;
    const char *msg;
  } cases[] = {
      {0, 0, WSRL_ERR_CORRUPT, "sizes"},                 /* obs_dim 0 */
      {0, 1u << 30, WSRL_ERR_UNSUPPORTED, "obs_dim"},    /* obs_dim huge: refused before allocating */
      {8, 9, WSRL_ERR_CORRUPT, "sizes"},                 /* nine hidden layers */
      {12, 2, WSRL_ERR_CORRUPT, "head"},                 /* layer_norm 2 */
      {16, 7, WSRL_ERR_CORRUPT, "head"},                 /* unknown std parameterization */
      {24, 0xffffffffu, WSRL_ERR_CORRUPT, "wide"},       /* width -1 */
      {24, 5000, WSRL_ERR_UNSUPPORTED, "5000"},          /* wider than the act path takes */
      {24, 6, WSRL_ERR_CORRUPT, "weights"},              /* weights no longer fit the sizes */
      {24 + 4, 3, WSRL_ERR_CORRUPT, "head"},             /* head width != 2 * act_dim */
      {60, 0xbf800000u, WSRL_ERR_CORRUPT, "head"},       /* std_min -1 */
      {64, 0x7f800000u, WSRL_ERR_CORRUPT, "head"},       /* std_max infinity */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    copy_file(path, bad, file_size(path), -1);
    uint8_t v[4];
    wsrl__store_u32le(v, cases[i].value);
    reseal_edit(bad, "shape", cases[i].at, v, 4);
    q = (wsrl_policy_t *)1;
    ck_assert_msg(wsrl_policy_load(&q, bad) == cases[i].want, "case %zu: %s", i, wsrl_last_error_message());
    ck_assert_msg_has(cases[i].msg);
    ck_assert_ptr_null(q);
  }
  /* A NaN weight, and bounds that are not low < high (the last 2A floats;
   * an exp-std actor has no log-std vector). */
  const int64_t n_w = wsrl__policy_param_count(a->pi) + 2 * A;
  const float nan = NAN, two = 2.0f;
  copy_file(path, bad, file_size(path), -1);
  reseal_edit(bad, "weights", 4 * 3, &nan, 4);
  ck_assert_int_eq(wsrl_policy_load(&q, bad), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("NaN");
  copy_file(path, bad, file_size(path), -1);
  reseal_edit(bad, "weights", 4L * (n_w - 2 * A), &two, 4); /* low[0] = 2 = high[0] */
  ck_assert_int_eq(wsrl_policy_load(&q, bad), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("low < high");
  /* A newer format version is refused; version 1 (no optional sections)
   * still loads. */
  for (uint32_t version = 3; version != 0; version = version == 3 ? 1 : 0) {
    copy_file(path, bad, file_size(path), -1);
    FILE *f = fopen(bad, "r+b");
    uint8_t h[64];
    ck_assert_int_eq((int)fread(h, 1, 64, f), 64);
    wsrl__store_u32le(h + 12, version);
    wsrl__store_u32le(h + 60, wsrl__crc32(0, h, 60));
    rewind(f);
    ck_assert_int_eq((int)fwrite(h, 1, 64, f), 64);
    fclose(f);
    ck_assert_int_eq(wsrl_policy_load(&q, bad), (version == 3 ? WSRL_ERR_VERSION_MISMATCH : WSRL_OK));
    wsrl_policy_release(q);
    q = NULL;
  }
  remove(bad);
  remove(path);
  wsrl_policy_release(p);
  wsrl_agent_destroy(a);
  /* TD3+BC's sections: a normalisation std of 0 and an unknown head. */
  wsrl_config_t *c3 = tiny_config("td3bc");
  a = make_agent(c3);
  ck_assert_int_eq(wsrl_agent_policy(a, &p), WSRL_OK);
  ck_assert_int_eq(wsrl_policy_save(p, path), WSRL_OK);
  const float zero = 0.0f;
  const int32_t two_i = 2;
  copy_file(path, bad, file_size(path), -1);
  reseal_edit(bad, "obs_norm", 4L * (O + 1), &zero, 4); /* std[1] = 0 */
  ck_assert_int_eq(wsrl_policy_load(&q, bad), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("normalisation 1");
  copy_file(path, bad, file_size(path), -1);
  reseal_edit(bad, "head", 0, &two_i, 4);
  ck_assert_int_eq(wsrl_policy_load(&q, bad), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("head");
  ck_assert_ptr_null(q);
  remove(bad);
  remove(path);
  wsrl_policy_release(p);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c3);
  wsrl_config_destroy(c);
}
END_TEST

/* Copy an agent checkpoint section by section through the library's own
 * writer, replacing one section's payload: a crafted file whose checksums
 * are all valid. */
static void reseal_with(const char *src, const char *dst, const char *section, const void *data, size_t size) {
  wsrl__secreader r;
  wsrl__secwriter w;
  ck_assert_int_eq(wsrl__secreader_open(&r, src, WSRL__AGENT_CKPT_MAGIC, WSRL__AGENT_CKPT_VERSION, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_open(&w, dst, WSRL__AGENT_CKPT_MAGIC, WSRL__AGENT_CKPT_VERSION, NULL), WSRL_OK);
  for (uint32_t i = 0; i < r.count; i++) {
    const wsrl__section *sec = &r.sections[i];
    if (strcmp(sec->name, section) == 0) {
      ck_assert_int_eq(wsrl__secwriter_add(&w, sec->name, data, size), WSRL_OK);
      continue;
    }
    void *buf = malloc(sec->size + 1);
    ck_assert_int_eq(wsrl__secreader_read_all(&r, sec, buf), WSRL_OK);
    ck_assert_int_eq(wsrl__secwriter_add(&w, sec->name, buf, sec->size), WSRL_OK);
    free(buf);
  }
  ck_assert_int_eq(wsrl__secwriter_commit(&w), WSRL_OK);
  wsrl__secreader_close(&r);
}

/* A small file whose config asks for 8192x8192 critics is refused before a
 * network is built (it used to take 300 s and 3.7 GB; issue 16, fault 11). */
START_TEST(checkpoint_config_larger_than_its_arrays) {
  wsrl_config_t *c = tiny_config("cql");
  wsrl_agent_t *a = make_agent(c);
  char path[256], bad[256];
  tmp_path(path, sizeof path, "small");
  tmp_path(bad, sizeof bad, "huge");
  ck_assert_int_eq(wsrl_agent_save(a, path), WSRL_OK);
  wsrl_config_t *big = tiny_config("cql");
  ck_assert_int_eq(wsrl_config_set(big, "critic.hidden", "8192,8192"), WSRL_OK);
  size_t need = 0;
  ck_assert_int_eq(wsrl_config_write_string(big, NULL, 0, &need), WSRL_OK);
  char *text = malloc(need);
  ck_assert_int_eq(wsrl_config_write_string(big, text, need, NULL), WSRL_OK);
  reseal_with(path, bad, "config", text, strlen(text));
  wsrl_agent_t *x = NULL;
  ck_assert_int_eq(wsrl_agent_create_from_checkpoint(&x, bad, NULL), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("critic.hidden needs at least");
  ck_assert_ptr_null(x);
  /* The unchanged copy still loads: the check is not too strict. */
  reseal_with(path, bad, "none", NULL, 0);
  ck_assert_int_eq(wsrl_agent_create_from_checkpoint(&x, bad, NULL), WSRL_OK);
  wsrl_agent_destroy(x);
  free(text);
  remove(path);
  remove(bad);
  wsrl_config_destroy(big);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(checkpoint_save_errors) {
  wsrl_config_t *c = tiny_config("sac");
  wsrl_agent_t *a = make_agent(c);
  ck_assert_int_eq(wsrl_agent_save(a, "/nonexistent/dir/x.ckpt"), WSRL_ERR_IO);
  ck_assert_int_eq(wsrl_agent_save(NULL, "x"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_save(a, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_load(a, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_load(NULL, "x"), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_agent_t *d = (wsrl_agent_t *)1;
  ck_assert_int_eq(wsrl_agent_create_from_checkpoint(&d, "/nonexistent/x", NULL), WSRL_ERR_IO);
  ck_assert_ptr_null(d);
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

/* ============================================================= errors */

START_TEST(create_errors) {
  wsrl_config_t *c = tiny_config("sac");
  wsrl_env_spec_t s = tiny_spec();
  wsrl_agent_t *a = (wsrl_agent_t *)1;
  ck_assert_int_eq(wsrl_agent_create(NULL, c, &s), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_create(&a, c, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(a);
  s.obs_dim = 0;
  ck_assert_int_eq(wsrl_agent_create(&a, c, &s), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim");
  s = tiny_spec();
  const float bad_high[A] = {-3.0f, 1.0f};
  s.action_high = bad_high;
  ck_assert_int_eq(wsrl_agent_create(&a, c, &s), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("action_low[0]");
  s = tiny_spec();
  s.struct_size = sizeof s + 8;
  ck_assert_int_eq(wsrl_agent_create(&a, c, &s), WSRL_ERR_VERSION_MISMATCH);
  s = tiny_spec();
  s.struct_size = 0;
  ck_assert_int_eq(wsrl_agent_create(&a, c, &s), WSRL_ERR_INVALID_ARGUMENT);
  /* An older, shorter spec without bounds: defaults to [-1, 1]. */
  s = tiny_spec();
  s.struct_size = (uint32_t)offsetof(wsrl_env_spec_t, action_low);
  ck_assert_int_eq(wsrl_agent_create(&a, c, &s), WSRL_OK);
  ck_assert(a->act_low[0] == -1.0f && a->act_high[1] == 1.0f);
  wsrl_agent_destroy(a);
  s = tiny_spec();
  ck_assert_int_eq(wsrl_config_set(c, "critic.subsample", "4"), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_create(&a, c, &s), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("critic.subsample");
  /* Defaults (NULL config) create fine. */
  ck_assert_int_eq(wsrl_agent_create(&a, NULL, &s), WSRL_OK);
  uint64_t bytes = 0;
  ck_assert_int_eq(wsrl_agent_memory_usage(a, &bytes), WSRL_OK);
  ck_assert_uint_gt(bytes, 1000000); /* 10 critics of 256 x 256 */
  int32_t od, ad, algo;
  ck_assert_int_eq(wsrl_agent_info(a, &od, &ad, &algo), WSRL_OK);
  ck_assert(od == O && ad == A && algo == WSRL__ALGO_CALQL);
  wsrl_agent_destroy(a);
  wsrl_agent_destroy(NULL);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(update_errors) {
  wsrl_config_t *c = tiny_config("calql");
  wsrl_agent_t *a = make_agent(c);
  tbatch b;
  make_batch(&b, 1100);
  wsrl_batch_t pb = WSRL_BATCH_INIT;
  pb.size = B;
  pb.obs = b.obs;
  pb.action = b.act;
  pb.reward = b.rew;
  pb.next_obs = b.nobs;
  pb.mask = b.mask;
  pb.mc_return = b.mc;
  float *before;
  int64_t n;
  get_all_params(a, &before, &n);
  wsrl__agent_counters cnt = a->counters;
  wsrl__rng rng[WSRL__AGENT_RNG_COUNT];
  memcpy(rng, a->rng, sizeof rng);

  ck_assert_int_eq(wsrl_agent_update(NULL, &pb), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_update(a, NULL), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_batch_t x = pb;
  x.size = B + 1;
  ck_assert_int_eq(wsrl_agent_update(a, &x), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("wsrl_agent_batch_rows");
  x = pb;
  x.next_obs = NULL;
  ck_assert_int_eq(wsrl_agent_update(a, &x), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("next_obs");
  x = pb;
  x.mc_return = NULL;
  ck_assert_int_eq(wsrl_agent_update(a, &x), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("mc_return");
  x = pb;
  x.struct_size = sizeof x + 4;
  ck_assert_int_eq(wsrl_agent_update(a, &x), WSRL_ERR_VERSION_MISMATCH);
  x = pb;
  x.struct_size = 8;
  ck_assert_int_eq(wsrl_agent_update(a, &x), WSRL_ERR_INVALID_ARGUMENT);
  b.nobs[2 * O + 1] = NAN;
  ck_assert_int_eq(wsrl_agent_update(a, &pb), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("next_obs row 2");
  b.nobs[2 * O + 1] = 0.0f;
  b.mc[3] = INFINITY;
  ck_assert_int_eq(wsrl_agent_update(a, &pb), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("mc_return row 3");
  b.mc[3] = 0.0f;
  untouched(a, before, n, &cnt, rng);

  /* terminated instead of mask, scaled actions: the same update as mask + unit actions */
  wsrl_agent_t *a2 = make_agent(c);
  int32_t term[B];
  float scaled[B * A];
  for (int i = 0; i < B; i++) {
    term[i] = b.mask[i] == 0.0f;
    for (int j = 0; j < A; j++)
      scaled[i * A + j] = low[j] + (b.act[i * A + j] + 1.0f) * 0.5f * (high[j] - low[j]);
  }
  ck_assert_int_eq(wsrl_agent_update(a, &pb), WSRL_OK);
  x = pb;
  x.mask = NULL;
  x.terminated = term;
  ck_assert_int_eq(wsrl_agent_update(a2, &x), WSRL_OK);
  same_params(a, a2);
  float u[B * A];
  ck_assert_int_eq(wsrl_agent_unit_actions(a, B, scaled, u), WSRL_OK);
  for (int i = 0; i < B * A; i++)
    ck_assert(fabsf(u[i] - b.act[i]) < 1e-5f);
  x.action = scaled;
  x.action_scaled = 1;
  ck_assert_int_eq(wsrl_agent_update(a2, &x), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_update(a, &pb), WSRL_OK);
  float *p1, *p2;
  int64_t n1, n2;
  get_all_params(a, &p1, &n1);
  get_all_params(a2, &p2, &n2);
  for (int64_t i = 0; i < n1; i++)
    ck_assert(fabsf(p1[i] - p2[i]) <= 1e-4f * (1.0f + fabsf(p1[i])));
  free(p1);
  free(p2);

  /* act errors */
  float out[A];
  ck_assert_int_eq(wsrl_agent_act(a, 0, b.obs, 0, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_act(a, 1, NULL, 0, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_act(a, 1, b.obs, 8, out), WSRL_ERR_INVALID_ARGUMENT);
  b.obs[O] = NAN;
  ck_assert_int_eq(wsrl_agent_act(a, 2, b.obs, 0, out), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("row 1");
  const char *name;
  double v;
  ck_assert_int_eq(wsrl_agent_metric(a, -1, &name, &v), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_metric(a, 99, &name, &v), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(wsrl_agent_qensemble(NULL));
  wsrl_agent_counters_t cn = WSRL_AGENT_COUNTERS_INIT;
  ck_assert_int_eq(wsrl_agent_counters(a, &cn), WSRL_OK);
  ck_assert_int_eq(cn.updates, 2);
  ck_assert_int_eq(cn.offline_updates, 2);
  ck_assert_int_eq(cn.phase, WSRL_AGENT_OFFLINE);
  /* an older, shorter counters struct gets only its fields */
  wsrl_agent_counters_t small;
  memset(&small, 0xab, sizeof small);
  small.struct_size = (uint32_t)offsetof(wsrl_agent_counters_t, offline_updates);
  ck_assert_int_eq(wsrl_agent_counters(a, &small), WSRL_OK);
  ck_assert_int_eq(small.updates, 2);
  ck_assert_int_ne(small.offline_updates, 2);
  free(before);
  wsrl_agent_destroy(a);
  wsrl_agent_destroy(a2);
  wsrl_config_destroy(c);
}
END_TEST

START_TEST(qensemble_lent) {
  wsrl_config_t *c = tiny_config("sac");
  wsrl_agent_t *a = make_agent(c);
  randomize(a, 51);
  wsrl_qensemble_t *q = wsrl_agent_qensemble(a);
  ck_assert_ptr_nonnull(q);
  int32_t e;
  ck_assert_int_eq(wsrl_qensemble_info(q, &e, NULL, NULL, NULL), WSRL_OK);
  ck_assert_int_eq(e, E);
  tbatch b;
  make_batch(&b, 13);
  float out[E * B];
  double a_d[B * A], ref[E * B];
  ck_assert_int_eq(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_ONLINE, B, b.obs, b.act, out), WSRL_OK);
  to_double(b.act, a_d, B * A);
  ref_q(wsrl__qensemble_mlp(a->q, WSRL__Q_ONLINE), B, b.obs, 1, a_d, ref);
  for (int i = 0; i < E * B; i++)
    ck_assert(close_rel(out[i], ref[i], 1e-4));
  wsrl_agent_destroy(a);
  wsrl_config_destroy(c);
}
END_TEST

/* ========================================================= allocation */

static int64_t n_allocs;
static void *count_alloc(void *u, size_t s) {
  (void)u;
  n_allocs++;
  return malloc(s);
}
static void *count_realloc(void *u, void *p, size_t s) {
  (void)u;
  n_allocs++;
  return realloc(p, s);
}
static void count_free(void *u, void *p) {
  (void)u;
  free(p);
}

START_TEST(no_allocation_in_act_and_update) {
  wsrl_allocator_t al = WSRL_ALLOCATOR_INIT;
  al.alloc = count_alloc;
  al.realloc = count_realloc;
  al.free = count_free;
  ck_assert_int_eq(wsrl_set_allocator(&al), WSRL_OK); /* process-wide: every module */
  const char *algos[] = {"cql", "calql", "iql", "sac"};
  for (int i = 0; i < 4; i++) {
    wsrl_config_t *c = tiny_config(algos[i]);
    ck_assert_int_eq(wsrl_config_set_allocator(c, &al), WSRL_OK);
    ck_assert_int_eq(wsrl_config_set(c, "cql.autotune_alpha", "1"), WSRL_OK);
    wsrl_agent_t *a = make_agent(c);
    ck_assert_int_gt(n_allocs, 0);
    tbatch b;
    make_batch(&b, 1200);
    wsrl_batch_t pb = WSRL_BATCH_INIT;
    pb.obs = b.obs;
    pb.action = b.act;
    pb.reward = b.rew;
    pb.next_obs = b.nobs;
    pb.mask = b.mask;
    pb.mc_return = b.mc;
    float out[MAXR * A];
    wsrl_policy_t *snap = NULL;
    ck_assert_int_eq(wsrl_agent_policy(a, &snap), WSRL_OK);
    uint64_t stream = 1;
    n_allocs = 0;
    for (int k = 0; k < 3; k++) {
      ck_assert_int_eq(wsrl_policy_act(snap, b.obs, 0, &stream, out), WSRL_OK);
      ck_assert_int_eq(wsrl_policy_act(snap, b.obs, WSRL_ACT_DETERMINISTIC, NULL, out), WSRL_OK);
      if (k == 2)
        ck_assert_int_eq(wsrl_agent_switch_online(a), WSRL_OK);
      ck_assert_int_eq(wsrl_agent_batch_rows(a, &pb.size), WSRL_OK);
      ck_assert_int_eq(wsrl_agent_update(a, &pb), WSRL_OK);
      ck_assert_int_eq(wsrl_agent_act(a, 1, b.obs, 0, out), WSRL_OK);
      ck_assert_int_eq(wsrl_agent_act(a, 1, b.obs, WSRL_ACT_DETERMINISTIC, out), WSRL_OK);
      ck_assert_int_eq(wsrl_agent_act(a, 50, b.obs, 0, out), WSRL_OK);
      ck_assert_int_eq(wsrl_agent_act(a, MAXR, b.obs, WSRL_ACT_DETERMINISTIC | WSRL_ACT_UNIT, out), WSRL_OK);
    }
    ck_assert_msg(n_allocs == 0, "%s: %lld allocations in act/update", algos[i], (long long)n_allocs);
    wsrl_policy_release(snap);
    wsrl_agent_destroy(a);
    wsrl_config_destroy(c);
  }
  ck_assert_int_eq(wsrl_set_allocator(NULL), WSRL_OK);
}
END_TEST

/* ============================================================== suite */

Suite *wsrl_test_suite_agent(void) {
  Suite *s = suite_create("agent");
  TCase *tc = tcase_create("losses");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, sac_target_subset_min);
  tcase_add_test(tc, sac_target_backup_entropy);
  tcase_add_test(tc, sac_target_max_backup);
  tcase_add_test(tc, sac_target_subset_forward_same_numbers);
  tcase_add_test(tc, sac_no_subsample_uses_all_members);
  tcase_add_test(tc, sac_critic_loss_and_gradient);
  tcase_add_test(tc, sac_actor_loss_and_gradient);
  tcase_add_test(tc, sac_temperature_gradient);
  tcase_add_test(tc, cql_loss_importance_sampling);
  tcase_add_test(tc, cql_loss_no_importance_sampling);
  tcase_add_test(tc, cql_loss_all_members);
  tcase_add_test(tc, calql_lower_bound);
  tcase_add_test(tc, calql_lower_bound_uniform_too);
  tcase_add_test(tc, cql_lagrange_autotune);
  tcase_add_test(tc, iql_losses_and_gradients);
  suite_add_tcase(s, tc);

  tc = tcase_create("updates");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, update_deterministic);
  tcase_add_test(tc, update_changes_params_and_metrics_finite);
  tcase_add_test(tc, update_step_untrained);
  tcase_add_test(tc, update_high_utd_schedule);
  tcase_add_test(tc, update_single_step_schedule);
  tcase_add_test(tc, phase_switch);
  tcase_add_test(tc, iql_switch_to_sac);
  tcase_add_test(tc, act_deterministic_and_units);
  tcase_add_test(tc, act_batches_and_sampling);
  tcase_add_test(tc, act_gaussian_policy_clipped);
  tcase_add_test(tc, qensemble_lent);
  suite_add_tcase(s, tc);

  tc = tcase_create("checkpoints");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, checkpoint_resume_bitwise);
  tcase_add_test(tc, checkpoint_resume_bitwise_bf16);
  tcase_add_test(tc, checkpoint_rejects_bad_files);
  tcase_add_test(tc, checkpoint_rejects_out_of_range_state);
  tcase_add_test(tc, checkpoint_rejects_zero_obs_std);
  tcase_add_test(tc, checkpoint_config_larger_than_its_arrays);
  tcase_add_test(tc, act_refuses_non_finite_actions);
  tcase_add_test(tc, checkpoint_save_errors);
  suite_add_tcase(s, tc);

  tc = tcase_create("snapshots");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, snapshot_matches_agent);
  tcase_add_test(tc, snapshot_is_immutable_and_outlives_agent);
  tcase_add_test(tc, snapshot_stochastic_and_errors);
  tcase_add_test(tc, policy_file_roundtrip_and_rejects);
  tcase_add_test(tc, policy_file_rejects_crafted_fields);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, create_errors);
  tcase_add_test(tc, update_errors);
  tcase_add_test(tc, no_allocation_in_act_and_update);
  suite_add_tcase(s, tc);
  return s;
}
