/* Introspection through the public API only, as a binding or a tester sees
 * it: the documented flat parameter layout (a float64 forward written here
 * from the header's description must reproduce the agent's actions,
 * Q-values and log-probabilities), get/set round trips, what a set changes
 * and keeps, errors, the config/spec/bounds getters, the algorithm enum, and
 * docs/metrics.md listing every metric name the library reports. */
#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "toy_envs.h"
#include "wsrl/wsrl.h"

#define O 3
#define A 2
#define E 3
#define MAXW 64
#define ROWS 70 /* > one act chunk (64): exercises the padded last chunk */

#define OK(call) ck_assert_msg((call) == WSRL_OK, "%s: %s", #call, wsrl_last_error_message())
#define ck_assert_msg_has(sub)                                                                                         \
  ck_assert_msg(strstr(wsrl_last_error_message(), (sub)) != NULL, "message '%s' lacks '%s'",                           \
                wsrl_last_error_message(), (sub))

static const float low[A] = {-2.0f, 0.0f}, high[A] = {2.0f, 1.0f};
static const int32_t all_nets[] = {WSRL_NET_ACTOR,  WSRL_NET_CRITICS,     WSRL_NET_TARGET_CRITICS,
                                   WSRL_NET_VALUE,  WSRL_NET_TEMPERATURE, WSRL_NET_LAGRANGE,
                                   WSRL_NET_TARGET_ACTOR};
#define NNETS 7

/* A small deterministic generator (the test's own, not the library's). */
static double urand(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(*s >> 11) / 9007199254740992.0;
}
static double nrand(uint64_t *s) {
  const double u = urand(s) + 1e-12, v = urand(s);
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static wsrl_config_t *config_of(const char *algo, const char *extra) {
  wsrl_config_t *c = NULL;
  OK(wsrl_config_create(&c));
  char text[1024];
  snprintf(text, sizeof text,
           "agent.algorithm = %s\nagent.threads = 1\nagent.seed = 3\ncritic.ensemble_size = 3\n"
           "critic.subsample = 2\ncritic.hidden = 6,4\nactor.hidden = 5,7\nupdate.batch_size = 4\n"
           "update.utd = 2\ncql.n_actions = 2\ntd.max_target_actions = 2\n%s",
           algo, extra != NULL ? extra : "");
  OK(wsrl_config_parse_string(c, text));
  return c;
}

static wsrl_agent_t *agent_of(const char *algo, const char *extra) {
  wsrl_config_t *c = config_of(algo, extra);
  wsrl_env_spec_t s = WSRL_ENV_SPEC_INIT;
  s.obs_dim = O;
  s.act_dim = A;
  s.action_low = low;
  s.action_high = high;
  wsrl_agent_t *ag = NULL;
  OK(wsrl_agent_create(&ag, c, &s));
  wsrl_config_destroy(c);
  return ag;
}

static float *params_of(const wsrl_agent_t *ag, int32_t net, int64_t *n_out) {
  int64_t n = 0;
  OK(wsrl_agent_param_count(ag, net, &n));
  ck_assert_int_gt(n, 0);
  float *p = malloc(sizeof(float) * (size_t)n);
  OK(wsrl_agent_get_params(ag, net, p, n));
  if (n_out != NULL)
    *n_out = n;
  return p;
}

/* Randomize a network's weights (scale s) through the public setter. */
static void randomize(wsrl_agent_t *ag, int32_t net, double s, uint64_t seed) {
  int64_t n;
  float *p = params_of(ag, net, &n);
  for (int64_t i = 0; i < n; i++)
    p[i] = (float)(s * nrand(&seed));
  OK(wsrl_agent_set_params(ag, net, p, n));
  free(p);
}

static void fill(float *x, int64_t n, double lo, double hi, uint64_t *seed) {
  for (int64_t i = 0; i < n; i++)
    x[i] = (float)(lo + (hi - lo) * urand(seed));
}

/* One public update on a batch drawn from seed. */
static void update_once(wsrl_agent_t *ag, uint64_t seed) {
  int64_t rows = 0;
  OK(wsrl_agent_batch_rows(ag, &rows));
  float *obs = malloc(sizeof(float) * (size_t)(rows * O)), *nobs = malloc(sizeof(float) * (size_t)(rows * O));
  float *act = malloc(sizeof(float) * (size_t)(rows * A)), *rew = malloc(sizeof(float) * (size_t)rows);
  float *mask = malloc(sizeof(float) * (size_t)rows), *mc = malloc(sizeof(float) * (size_t)rows);
  fill(obs, rows * O, -1, 1, &seed);
  fill(nobs, rows * O, -1, 1, &seed);
  fill(act, rows * A, -0.9, 0.9, &seed);
  fill(rew, rows, -1, 1, &seed);
  fill(mc, rows, -1, 1, &seed);
  for (int64_t r = 0; r < rows; r++)
    mask[r] = r % 3 == 2 ? 0.0f : 1.0f;
  wsrl_batch_t b = WSRL_BATCH_INIT;
  b.size = rows;
  b.obs = obs;
  b.action = act;
  b.reward = rew;
  b.next_obs = nobs;
  b.mask = mask;
  b.mc_return = mc;
  OK(wsrl_agent_update(ag, &b));
  free(obs), free(nobs), free(act), free(rew), free(mask), free(mc);
}

/* ----------------------------------------- the layout, read as documented */

typedef struct mlp_shape {
  int32_t in, out, n_hidden, hidden[4], ln;
} mlp_shape;

/* One member, read from *p (advanced past it) exactly as include/wsrl/
 * agent.h describes: per layer W [in, out] row-major, b, then LayerNorm
 * gain and bias on hidden layers. */
static void ref_member(const float **p, const mlp_shape *sh, const double *x, double *y) {
  double h[MAXW], z[MAXW];
  int32_t w = sh->in;
  memcpy(h, x, sizeof(double) * (size_t)w);
  for (int32_t l = 0; l <= sh->n_hidden; l++) {
    const int32_t N = l < sh->n_hidden ? sh->hidden[l] : sh->out;
    const float *W = *p, *b = *p + (int64_t)w * N;
    for (int32_t n = 0; n < N; n++) {
      z[n] = b[n];
      for (int32_t k = 0; k < w; k++)
        z[n] += h[k] * (double)W[k * N + n];
    }
    *p += (int64_t)(w + 1) * N;
    if (l == sh->n_hidden) {
      memcpy(y, z, sizeof(double) * (size_t)N);
      return;
    }
    if (sh->ln) {
      const float *g = *p, *beta = *p + N;
      double mean = 0.0, var = 0.0;
      for (int32_t n = 0; n < N; n++)
        mean += z[n] / N;
      for (int32_t n = 0; n < N; n++)
        var += (z[n] - mean) * (z[n] - mean) / N;
      for (int32_t n = 0; n < N; n++)
        z[n] = (z[n] - mean) / sqrt(var + 1e-6) * g[n] + beta[n];
      *p += 2 * N;
    }
    for (int32_t n = 0; n < N; n++)
      h[n] = z[n] > 0.0 ? z[n] : 0.0;
    w = N;
  }
}

typedef struct actor_kind {
  int tanh, uniform, ln;
} actor_kind;

/* Mean and std of the actor at one observation, from its flat vector. */
static void ref_actor(const float *p, int64_t n, const actor_kind *k, const float *obs, double *mean, double *sd) {
  const mlp_shape sh = {O, k->uniform ? A : 2 * A, 2, {5, 7}, k->ln};
  double x[O], y[2 * A];
  for (int j = 0; j < O; j++)
    x[j] = obs[j];
  const float *q = p;
  ref_member(&q, &sh, x, y);
  ck_assert_int_eq(q - p + (k->uniform ? A : 0), n); /* the documented length */
  for (int j = 0; j < A; j++) {
    mean[j] = y[j];
    const double ls = k->uniform ? (double)q[j] : y[A + j];
    sd[j] = fmin(fmax(exp(ls), 1e-5), 10.0);
  }
}

static double rel_err(double got, double want) { return fabs(got - want) / fmax(1.0, fabs(want)); }

/* Every actor variant: the documented layout reproduces the deterministic
 * action and the log-probability (float64, written from the formula). */
START_TEST(actor_layout_and_log_prob) {
  const struct {
    const char *algo, *extra;
    actor_kind k;
  } v[] = {{"sac", "actor.layer_norm = 1\n", {1, 0, 1}},
           {"sac", "actor.layer_norm = 0\n", {1, 0, 0}},
           {"iql", "actor.std_parameterization = uniform\nactor.tanh_squash = 0\n", {0, 1, 1}},
           {"cql", "actor.std_parameterization = uniform\n", {1, 1, 1}}};
  for (size_t t = 0; t < sizeof v / sizeof v[0]; t++) {
    wsrl_agent_t *ag = agent_of(v[t].algo, v[t].extra);
    randomize(ag, WSRL_NET_ACTOR, 0.5, 11 + t);
    int64_t n;
    float *p = params_of(ag, WSRL_NET_ACTOR, &n);
    uint64_t seed = 100 + t;
    float obs[ROWS * O], act[ROWS * A], mode[ROWS * A], lp[ROWS], one;
    fill(obs, ROWS * O, -2, 2, &seed);
    fill(act, ROWS * A, -0.97, 0.97, &seed);
    OK(wsrl_agent_act(ag, ROWS, obs, WSRL_ACT_DETERMINISTIC | WSRL_ACT_UNIT, mode));
    OK(wsrl_agent_log_prob(ag, ROWS, obs, act, lp));
    for (int r = 0; r < ROWS; r++) {
      double mean[A], sd[A], want = 0.0;
      ref_actor(p, n, &v[t].k, obs + r * O, mean, sd);
      for (int j = 0; j < A; j++) {
        const double m = v[t].k.tanh ? tanh(mean[j]) : fmin(fmax(mean[j], -1.0), 1.0);
        ck_assert_msg(fabs(mode[r * A + j] - m) < 1e-5, "variant %zu row %d: mode %g, layout says %g", t, r,
                      (double)mode[r * A + j], m);
        const double a = act[r * A + j], u = v[t].k.tanh ? atanh(a) : a, z = (u - mean[j]) / sd[j];
        want += -0.5 * z * z - log(sd[j]) - 0.5 * log(2.0 * 3.14159265358979323846);
        if (v[t].k.tanh)
          want -= log(1.0 - a * a); /* d tanh(u)/du = 1 - a^2 */
      }
      ck_assert_msg(rel_err(lp[r], want) < 1e-4, "variant %zu row %d: log pi %.7g, float64 %.7g", t, r, (double)lp[r],
                    want);
      /* One row at a time gives the same density. */
      OK(wsrl_agent_log_prob(ag, 1, obs + r * O, act + r * A, &one));
      ck_assert(rel_err(one, want) < 1e-4);
    }
    free(p);
    wsrl_agent_destroy(ag);
  }
}
END_TEST

/* Critics and targets: member e is slice e; input concat(obs, action). */
START_TEST(critic_layout) {
  const char *extras[] = {"critic.layer_norm = 1\n", "critic.layer_norm = 0\n"};
  for (int t = 0; t < 2; t++) {
    wsrl_agent_t *ag = agent_of("sac", extras[t]);
    randomize(ag, WSRL_NET_CRITICS, 0.6, 21 + (uint64_t)t);
    randomize(ag, WSRL_NET_TARGET_CRITICS, 0.6, 31 + (uint64_t)t);
    const int32_t nets[2] = {WSRL_NET_CRITICS, WSRL_NET_TARGET_CRITICS};
    for (int w = 0; w < 2; w++) {
      int64_t n, qn;
      float *p = params_of(ag, nets[w], &n);
      OK(wsrl_qensemble_info(wsrl_agent_qensemble(ag), NULL, NULL, NULL, &qn));
      ck_assert_int_eq(qn, n);
      /* wsrl_qensemble_get_params is the same vector. */
      float *qp = malloc(sizeof(float) * (size_t)n);
      OK(wsrl_qensemble_get_params(wsrl_agent_qensemble(ag), w, qp, n));
      ck_assert_mem_eq(qp, p, sizeof(float) * (size_t)n);
      free(qp);
      uint64_t seed = 7;
      float obs[8 * O], act[8 * A], q[E * 8];
      fill(obs, 8 * O, -1, 1, &seed);
      fill(act, 8 * A, -1, 1, &seed);
      OK(wsrl_qensemble_predict(wsrl_agent_qensemble(ag), w, 8, obs, act, q));
      const mlp_shape sh = {O + A, 1, 2, {6, 4}, t == 0};
      for (int r = 0; r < 8; r++) {
        const float *m = p;
        for (int e = 0; e < E; e++) {
          double x[O + A], y;
          for (int j = 0; j < O; j++)
            x[j] = obs[r * O + j];
          for (int j = 0; j < A; j++)
            x[O + j] = act[r * A + j];
          ref_member(&m, &sh, x, &y);
          ck_assert_msg(rel_err(q[e * 8 + r], y) < 1e-4, "net %d member %d row %d: Q %g, layout says %g", nets[w], e,
                        r, (double)q[e * 8 + r], y);
        }
        ck_assert_int_eq(m - p, n); /* E contiguous slices */
      }
      free(p);
    }
    wsrl_agent_destroy(ag);
  }
}
END_TEST

/* -------------------------------------------------- round trip and effects */

static int has_net(const wsrl_agent_t *ag, int32_t net) {
  int64_t n = -1;
  const wsrl_status_t st = wsrl_agent_param_count(ag, net, &n);
  ck_assert_msg(st == WSRL_OK || st == WSRL_ERR_UNSUPPORTED, "net %d: %s", net, wsrl_last_error_message());
  return st == WSRL_OK;
}

/* Setting every net to what get returned changes nothing: the next updates
 * give bitwise the numbers of a twin that was never touched (Adam kept). */
START_TEST(roundtrip_is_identity) {
  const char *algos[][2] = {
      {"sac", ""}, {"cql", "cql.autotune_alpha = 1\n"}, {"calql", ""}, {"iql", ""}, {"td3bc", ""}};
  for (int t = 0; t < 5; t++) {
    wsrl_agent_t *a = agent_of(algos[t][0], algos[t][1]), *b = agent_of(algos[t][0], algos[t][1]);
    update_once(a, 5);
    update_once(b, 5);
    for (int i = 0; i < NNETS; i++) {
      if (!has_net(a, all_nets[i]))
        continue;
      int64_t n;
      float *p = params_of(a, all_nets[i], &n);
      OK(wsrl_agent_set_params(a, all_nets[i], p, n));
      float *q = params_of(a, all_nets[i], NULL);
      ck_assert_mem_eq(p, q, sizeof(float) * (size_t)n);
      free(p), free(q);
    }
    update_once(a, 6);
    update_once(b, 6);
    for (int i = 0; i < NNETS; i++) {
      if (!has_net(a, all_nets[i]))
        continue;
      int64_t n;
      float *p = params_of(a, all_nets[i], &n), *q = params_of(b, all_nets[i], NULL);
      ck_assert_msg(memcmp(p, q, sizeof(float) * (size_t)n) == 0, "%s net %d differs from its twin", algos[t][0],
                    all_nets[i]);
      free(p), free(q);
    }
    wsrl_agent_destroy(a);
    wsrl_agent_destroy(b);
  }
}
END_TEST

/* Which nets each algorithm has (the rest: WSRL_ERR_UNSUPPORTED, named). */
START_TEST(nets_per_algorithm) {
  const struct {
    const char *algo, *extra;
    int has[NNETS];
  } v[] = {{"sac", "", {1, 1, 1, 0, 1, 0, 0}},
           {"cql", "", {1, 1, 1, 0, 1, 0, 0}},
           {"cql", "cql.autotune_alpha = 1\n", {1, 1, 1, 0, 1, 1, 0}},
           {"calql", "cql.autotune_alpha = 1\n", {1, 1, 1, 0, 1, 1, 0}},
           {"iql", "", {1, 1, 1, 1, 1, 0, 0}}, /* online: the sac learner uses a temperature */
           {"iql", "finetune.online_algorithm = same\n", {1, 1, 1, 1, 0, 0, 0}},
           {"td3bc", "", {1, 1, 1, 0, 0, 0, 1}}};
  for (size_t t = 0; t < sizeof v / sizeof v[0]; t++) {
    wsrl_agent_t *ag = agent_of(v[t].algo, v[t].extra);
    for (int i = 0; i < NNETS; i++) {
      ck_assert_msg(has_net(ag, all_nets[i]) == v[t].has[i], "%s %s net %d", v[t].algo, v[t].extra, i);
      if (!v[t].has[i]) {
        float x[1] = {0};
        ck_assert_int_eq(wsrl_agent_get_params(ag, all_nets[i], x, 1), WSRL_ERR_UNSUPPORTED);
        ck_assert_msg_has("has no WSRL_NET_");
        ck_assert_int_eq(wsrl_agent_set_params(ag, all_nets[i], x, 1), WSRL_ERR_UNSUPPORTED);
      }
    }
    wsrl_agent_destroy(ag);
  }
}
END_TEST

START_TEST(set_changes_what_it_sets) {
  wsrl_agent_t *ag = agent_of("cql", "cql.autotune_alpha = 1\n");
  uint64_t seed = 9;
  float obs[4 * O], a0[4 * A], a1[4 * A], ap[4 * A];
  fill(obs, 4 * O, -1, 1, &seed);
  /* The actor: act changes, and the latest snapshot acts the same. */
  OK(wsrl_agent_act(ag, 4, obs, WSRL_ACT_DETERMINISTIC, a0));
  randomize(ag, WSRL_NET_ACTOR, 0.5, 77);
  OK(wsrl_agent_act(ag, 4, obs, WSRL_ACT_DETERMINISTIC, a1));
  ck_assert(memcmp(a0, a1, sizeof a0) != 0);
  wsrl_policy_t *pol = NULL;
  OK(wsrl_agent_policy(ag, &pol));
  for (int r = 0; r < 4; r++)
    OK(wsrl_policy_act(pol, obs + r * O, WSRL_ACT_DETERMINISTIC, NULL, ap + r * A));
  wsrl_policy_release(pol);
  for (int i = 0; i < 4 * A; i++)
    ck_assert_msg(fabsf(ap[i] - a1[i]) < 1e-5, "snapshot %g, agent %g", (double)ap[i], (double)a1[i]);
  /* The critics change Q, the targets stay. */
  float act[4 * A], q0[E * 4], q1[E * 4], t0[E * 4], t1[E * 4];
  fill(act, 4 * A, -1, 1, &seed);
  wsrl_qensemble_t *q = wsrl_agent_qensemble(ag);
  OK(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_ONLINE, 4, obs, act, q0));
  OK(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_TARGET, 4, obs, act, t0));
  randomize(ag, WSRL_NET_CRITICS, 0.6, 78);
  OK(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_ONLINE, 4, obs, act, q1));
  OK(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_TARGET, 4, obs, act, t1));
  ck_assert(memcmp(q0, q1, sizeof q0) != 0);
  ck_assert_mem_eq(t0, t1, sizeof t0);
  /* The scalars: the next update reports softplus(p) as its temperature, and
   * its CQL weight is the multiplier's value. */
  const float tp = -1.5f, lp = 0.25f;
  OK(wsrl_agent_set_params(ag, WSRL_NET_TEMPERATURE, &tp, 1));
  OK(wsrl_agent_set_params(ag, WSRL_NET_LAGRANGE, &lp, 1));
  update_once(ag, 3);
  double temp, alpha;
  OK(wsrl_agent_metric_by_name(ag, "temperature", &temp));
  OK(wsrl_agent_metric_by_name(ag, "cql_alpha", &alpha));
  ck_assert(rel_err(temp, log1p(exp((double)tp))) < 1e-6);
  ck_assert(rel_err(alpha, log1p(exp((double)lp))) < 1e-6);
  wsrl_agent_destroy(ag);
}
END_TEST

/* TD3+BC's target actor: the actor's layout, starts as its copy, and moves
 * the critics' TD targets but not the actions. */
START_TEST(td3bc_target_actor) {
  wsrl_agent_t *ag = agent_of("td3bc", ""), *twin = agent_of("td3bc", "");
  int64_t n, nt;
  float *actor = params_of(ag, WSRL_NET_ACTOR, &n), *target = params_of(ag, WSRL_NET_TARGET_ACTOR, &nt);
  ck_assert_int_eq(n, nt);
  ck_assert_mem_eq(actor, target, sizeof(float) * (size_t)n);
  uint64_t seed = 4;
  float obs[4 * O], a0[4 * A], a1[4 * A];
  fill(obs, 4 * O, -1, 1, &seed);
  OK(wsrl_agent_act(ag, 4, obs, WSRL_ACT_DETERMINISTIC, a0));
  randomize(ag, WSRL_NET_TARGET_ACTOR, 0.5, 79);
  OK(wsrl_agent_act(ag, 4, obs, WSRL_ACT_DETERMINISTIC, a1));
  ck_assert_mem_eq(a0, a1, sizeof a0);
  float *after = params_of(ag, WSRL_NET_ACTOR, NULL);
  ck_assert_mem_eq(actor, after, sizeof(float) * (size_t)n);
  update_once(ag, 5);
  update_once(twin, 5);
  double tq, tq_twin;
  OK(wsrl_agent_metric_by_name(ag, "target_q_mean", &tq));
  OK(wsrl_agent_metric_by_name(twin, "target_q_mean", &tq_twin));
  ck_assert_msg(tq != tq_twin, "a new target actor left the TD target at %g", tq);
  free(actor), free(target), free(after);
  wsrl_agent_destroy(ag);
  wsrl_agent_destroy(twin);
}
END_TEST

/* ------------------------------------------------------------------ errors */

START_TEST(bad_inputs) {
  wsrl_agent_t *ag = agent_of("sac", "");
  int64_t n;
  float *p = params_of(ag, WSRL_NET_CRITICS, &n), *before = params_of(ag, WSRL_NET_CRITICS, NULL);
  ck_assert_int_eq(wsrl_agent_param_count(NULL, WSRL_NET_ACTOR, &n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("agent");
  ck_assert_int_eq(wsrl_agent_param_count(ag, WSRL_NET_ACTOR, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_param_count(ag, 7, &n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("net 7 is not a wsrl_net_t");
  ck_assert_int_eq(wsrl_agent_get_params(ag, -1, p, n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_get_params(ag, WSRL_NET_CRITICS, NULL, n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_get_params(ag, WSRL_NET_CRITICS, p, n - 1), WSRL_ERR_INVALID_ARGUMENT);
  char want[128];
  snprintf(want, sizeof want, "count is %lld but WSRL_NET_CRITICS of this agent has %lld", (long long)(n - 1),
           (long long)n);
  ck_assert_msg_has(want);
  ck_assert_int_eq(wsrl_agent_set_params(ag, WSRL_NET_CRITICS, p, n + 1), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_set_params(NULL, WSRL_NET_CRITICS, p, n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_set_params(ag, WSRL_NET_CRITICS, NULL, n), WSRL_ERR_INVALID_ARGUMENT);
  /* A NaN or a weight beyond 1e6 anywhere: refused, naming the index, nothing changed. */
  for (int k = 0; k < 3; k++) {
    memcpy(p, before, sizeof(float) * (size_t)n);
    p[k] = 0.5f; /* the values before the bad one would be written first by a careless setter */
    p[n - 1 - k] = k == 0 ? NAN : k == 1 ? -INFINITY : 2e6f;
    ck_assert_int_eq(wsrl_agent_set_params(ag, WSRL_NET_CRITICS, p, n),
                     k < 2 ? WSRL_ERR_NON_FINITE : WSRL_ERR_INVALID_ARGUMENT);
    snprintf(want, sizeof want, "params[%lld]", (long long)(n - 1 - k));
    ck_assert_msg_has(want);
    ck_assert_msg_has(k < 2 ? "not finite" : "+-1e+06");
    float *now = params_of(ag, WSRL_NET_CRITICS, NULL);
    ck_assert_mem_eq(now, before, sizeof(float) * (size_t)n);
    free(now);
  }
  /* 1e6 itself is allowed (the bound is inclusive, as checkpoint loading's). */
  const float edge = 1e6f;
  OK(wsrl_agent_set_params(ag, WSRL_NET_TEMPERATURE, &edge, 1));
  const float over = 1.0000001e6f;
  ck_assert_int_eq(wsrl_agent_set_params(ag, WSRL_NET_TEMPERATURE, &over, 1), WSRL_ERR_INVALID_ARGUMENT);
  /* The Q-ensemble's own setter applies the same checks. */
  p[0] = 3e6f;
  ck_assert_int_eq(wsrl_qensemble_set_params(wsrl_agent_qensemble(ag), WSRL_QENSEMBLE_ONLINE, p, n),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("params[0]");

  /* log_prob: the actor's support, finiteness, sizes. */
  float obs[2 * O] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, act[2 * A] = {0.5f, -0.5f, 0.2f, 1.0f}, lp[2];
  ck_assert_int_eq(wsrl_agent_log_prob(ag, 2, obs, act, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("action[1][1] = 1 is outside (-1, 1)");
  act[3] = -1.5f;
  ck_assert_int_eq(wsrl_agent_log_prob(ag, 2, obs, act, lp), WSRL_ERR_INVALID_ARGUMENT);
  act[3] = NAN;
  ck_assert_int_eq(wsrl_agent_log_prob(ag, 2, obs, act, lp), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("action row 1");
  act[3] = 0.0f;
  obs[4] = INFINITY;
  ck_assert_int_eq(wsrl_agent_log_prob(ag, 2, obs, act, lp), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("obs row 1");
  obs[4] = 0.0f;
  ck_assert_int_eq(wsrl_agent_log_prob(ag, 0, obs, act, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("count must be >= 1");
  ck_assert_int_eq(wsrl_agent_log_prob(ag, 2, obs, act, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_log_prob(NULL, 2, obs, act, lp), WSRL_ERR_INVALID_ARGUMENT);
  OK(wsrl_agent_log_prob(ag, 2, obs, act, lp));
  ck_assert(isfinite(lp[0]) && isfinite(lp[1]));
  free(p), free(before);
  wsrl_agent_destroy(ag);

  /* A Gaussian (untanhed) actor takes the closed interval. */
  ag = agent_of("iql", "actor.tanh_squash = 0\n");
  act[3] = 1.0f;
  OK(wsrl_agent_log_prob(ag, 2, obs, act, lp));
  act[3] = 1.0001f;
  ck_assert_int_eq(wsrl_agent_log_prob(ag, 2, obs, act, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("outside [-1, 1], the Gaussian actor's range");
  wsrl_agent_destroy(ag);
}
END_TEST

/* --------------------------------------------- config, spec, bounds, enum */

/* The choices of agent.algorithm ("sac|cql|..."), split in place. */
static int algorithm_names(char *buf, size_t size, const char **names, int max) {
  const char *choices = NULL;
  OK(wsrl_config_key_bounds("agent.algorithm", NULL, NULL, NULL, &choices));
  snprintf(buf, size, "%s", choices);
  int n = 0;
  for (char *tok = strtok(buf, "|"); tok != NULL && n < max; tok = strtok(NULL, "|"))
    names[n++] = tok;
  return n;
}

START_TEST(getters_and_algorithm_enum) {
  const char *known[] = {"sac", "cql", "calql", "iql", "td3bc"};
  const int32_t ids[] = {WSRL_ALGORITHM_SAC, WSRL_ALGORITHM_CQL, WSRL_ALGORITHM_CALQL, WSRL_ALGORITHM_IQL,
                         WSRL_ALGORITHM_TD3BC};
  ck_assert_uint_eq(sizeof(wsrl_algorithm_t), sizeof(int32_t));
  ck_assert_uint_eq(sizeof(wsrl_net_t), sizeof(int32_t));
  /* The enum and the config key agree: choice t is value t. */
  char buf[256];
  const char *names[16];
  const int na = algorithm_names(buf, sizeof buf, names, 16);
  ck_assert_msg(na == 5, "agent.algorithm has %d choices but wsrl_algorithm_t ends at WSRL_ALGORITHM_TD3BC = 4: add "
                "the new value to wsrl/agent.h and here", na);
  for (int t = 0; t < na; t++) {
    ck_assert_str_eq(names[t], known[t]);
    wsrl_agent_t *ag = agent_of(names[t], "td.discount = 0.97\n");
    int32_t algo = -1, od = 0, ad = 0;
    OK(wsrl_agent_info(ag, &od, &ad, &algo));
    ck_assert_int_eq(algo, ids[t]);
    /* The config: a copy holding what the agent was made with. */
    wsrl_config_t *c = NULL;
    OK(wsrl_agent_get_config(ag, &c));
    char text[32];
    OK(wsrl_config_get(c, "agent.algorithm", text, sizeof text, NULL));
    ck_assert_str_eq(text, names[t]);
    OK(wsrl_config_get(c, "td.discount", text, sizeof text, NULL));
    ck_assert_str_eq(text, "0.97");
    OK(wsrl_config_set(c, "td.discount", "0.5")); /* the copy is the caller's */
    wsrl_config_t *c2 = NULL;
    OK(wsrl_agent_get_config(ag, &c2));
    OK(wsrl_config_get(c2, "td.discount", text, sizeof text, NULL));
    ck_assert_str_eq(text, "0.97");
    wsrl_config_destroy(c);
    wsrl_config_destroy(c2);
    wsrl_agent_destroy(ag);
  }
  wsrl_agent_t *ag = agent_of("sac", "");
  /* The spec: sizes and the agent's own bounds. */
  wsrl_env_spec_t s = WSRL_ENV_SPEC_INIT;
  s.max_episode_steps = 99;
  OK(wsrl_agent_get_spec(ag, &s));
  ck_assert_int_eq(s.obs_dim, O);
  ck_assert_int_eq(s.act_dim, A);
  ck_assert_int_eq(s.max_episode_steps, 0);
  ck_assert_mem_eq(s.action_low, low, sizeof low);
  ck_assert_mem_eq(s.action_high, high, sizeof high);
  /* An older, shorter spec is filled only as far as its size. */
  struct {
    wsrl_env_spec_t s;
    unsigned char guard[8];
  } old;
  memset(&old, 0xAB, sizeof old);
  old.s.struct_size = (uint32_t)offsetof(wsrl_env_spec_t, max_episode_steps);
  OK(wsrl_agent_get_spec(ag, &old.s));
  ck_assert_int_eq(old.s.act_dim, A);
  ck_assert_uint_eq(((unsigned char *)&old.s)[offsetof(wsrl_env_spec_t, max_episode_steps)], 0xAB);
  s.struct_size = (uint32_t)sizeof s + 8;
  ck_assert_int_eq(wsrl_agent_get_spec(ag, &s), WSRL_ERR_VERSION_MISMATCH);
  s.struct_size = 4;
  ck_assert_int_eq(wsrl_agent_get_spec(ag, &s), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_agent_get_spec(NULL, &s), WSRL_ERR_INVALID_ARGUMENT);
  /* The bounds, copied. */
  float lo[A], hi[A];
  OK(wsrl_agent_action_bounds(ag, lo, hi, A));
  ck_assert_mem_eq(lo, low, sizeof lo);
  ck_assert_mem_eq(hi, high, sizeof hi);
  ck_assert_int_eq(wsrl_agent_action_bounds(ag, lo, hi, A + 1), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("act_dim is 3 but the agent's is 2");
  ck_assert_int_eq(wsrl_agent_action_bounds(ag, NULL, hi, A), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_config_t *c = (wsrl_config_t *)1;
  ck_assert_int_eq(wsrl_agent_get_config(NULL, &c), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(c);
  wsrl_agent_destroy(ag);
}
END_TEST

/* --------------------------------------------------------- metrics.md */

static char *read_metrics_doc(void) {
  const char *root = getenv("WSRL_SOURCE_ROOT");
  ck_assert_msg(root != NULL, "WSRL_SOURCE_ROOT is not set (meson sets it for the unit suite)");
  char path[1024];
  snprintf(path, sizeof path, "%s/docs/metrics.md", root);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  static char buf[1 << 16];
  const size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

/* Names reported so far (the page must not list a name nothing reports). */
static char reported[4096];

/* A name is documented when it has its own table row: "| `name` |". */
static void check_documented(const char *doc, const char *name, const char *where) {
  char row[128];
  snprintf(row, sizeof row, "\n| `%s` |", name);
  ck_assert_msg(strstr(doc, row) != NULL, "metric '%s' (%s) is not documented in docs/metrics.md", name, where);
  if (strstr(reported, row) == NULL && strlen(reported) + strlen(row) < sizeof reported)
    strcat(reported, row);
}

/* Every row of the page's tables names a metric the library reported. */
static void check_no_stale_rows(const char *doc) {
  for (const char *at = strstr(doc, "\n| `"); at != NULL; at = strstr(at + 1, "\n| `")) {
    const char *end = strstr(at + 4, "` |");
    ck_assert_ptr_nonnull(end);
    char row[128];
    snprintf(row, sizeof row, "%.*s", (int)(end + 3 - at), at);
    ck_assert_msg(strstr(reported, row) != NULL, "docs/metrics.md lists %s but no learner or loop reports it",
                  row + 1);
  }
}

typedef struct seen {
  const char *doc;
  wsrl_agent_t *agent;
  int calls;
} seen;

static int32_t check_progress(void *user, int64_t step, int32_t n, const char *const *names, const double *values) {
  (void)step, (void)values;
  seen *s = user;
  s->calls++;
  /* Inside the loop's callback: reading the agent is allowed, writing not. */
  float t;
  ck_assert_int_eq(wsrl_agent_get_params(s->agent, WSRL_NET_TEMPERATURE, &t, 1), WSRL_OK);
  ck_assert_int_eq(wsrl_agent_set_params(s->agent, WSRL_NET_TEMPERATURE, &t, 1), WSRL_ERR_WRONG_STATE);
  for (int32_t i = 0; i < n; i++)
    check_documented(s->doc, names[i], "a progress report of wsrl_finetune");
  return 0;
}

START_TEST(metrics_documented) {
  const char *doc = read_metrics_doc();
  /* Every learner of every phase: each algorithm offline, then online kept
   * (`same`) or switched to the SAC learner. */
  char buf[256];
  const char *algos[16];
  const int na = algorithm_names(buf, sizeof buf, algos, 16);
  ck_assert_int_ge(na, 4);
  int total = 0;
  for (int t = 0; t < 2 * na; t++) {
    wsrl_agent_t *ag = agent_of(algos[t / 2], t % 2 ? "finetune.online_algorithm = same\n" : "");
    for (int phase = 0; phase < 2; phase++) {
      int32_t n = 0;
      OK(wsrl_agent_metric_count(ag, &n));
      ck_assert_int_gt(n, 0);
      for (int32_t i = 0; i < n; i++) {
        const char *name = NULL;
        OK(wsrl_agent_metric(ag, i, &name, NULL));
        check_documented(doc, name, algos[t / 2]);
        total++;
      }
      OK(wsrl_agent_switch_online(ag));
    }
    wsrl_agent_destroy(ag);
  }
  ck_assert_int_ge(total, 50);
  /* The loops' own names: a short fine-tuning run with logs and evaluations. */
  wsrl_env_t *env = NULL, *eval = NULL;
  OK(toy_point_create(&env, NULL));
  OK(toy_point_create(&eval, NULL));
  wsrl_config_t *c = config_of("sac", "replay.capacity = 200\nfinetune.warmup_steps = 8\nlog.interval = 10\n"
                                      "eval.episodes = 1\neval.interval = 10\nfinetune.start_rule = warmup\n");
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  OK(wsrl_env_get_spec(env, &spec));
  wsrl_agent_t *ag = NULL;
  OK(wsrl_agent_create(&ag, c, &spec));
  wsrl_session_t *s = NULL;
  OK(wsrl_session_create(&s, ag, NULL));
  seen sn = {doc, ag, 0};
  OK(wsrl_finetune(s, env, eval, 20, check_progress, &sn));
  ck_assert_int_ge(sn.calls, 4); /* logs at 10 and 20, evaluations at 0, 10 and 20 */
  check_no_stale_rows(doc);
  wsrl_session_destroy(s);
  wsrl_agent_destroy(ag);
  wsrl_config_destroy(c);
  wsrl_env_destroy(env);
  wsrl_env_destroy(eval);
}
END_TEST

Suite *wsrl_test_suite_introspect(void) {
  Suite *s = suite_create("introspect");
  TCase *tc = tcase_create("params");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, actor_layout_and_log_prob);
  tcase_add_test(tc, critic_layout);
  tcase_add_test(tc, roundtrip_is_identity);
  tcase_add_test(tc, nets_per_algorithm);
  tcase_add_test(tc, set_changes_what_it_sets);
  tcase_add_test(tc, td3bc_target_actor);
  tcase_add_test(tc, bad_inputs);
  suite_add_tcase(s, tc);
  tc = tcase_create("info");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, getters_and_algorithm_enum);
  tcase_add_test(tc, metrics_documented);
  suite_add_tcase(s, tc);
  return s;
}
