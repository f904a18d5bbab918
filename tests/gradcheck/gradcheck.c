/* Gradient checks: analytic gradients of the oneDNN fp32 path against
 * central finite differences of the double-precision reference path
 * (nnref.c) at the same parameters. Every layer type (dense, LayerNorm,
 * ReLU, the one-unit head, the tanh-Gaussian heads), both input modes,
 * whole critic and actor losses, and Adam against its closed form.
 *
 * Error of one entry: |a - n| / (|a| + |n| + 1e-3 * max|n|); each case
 * prints its maximum and asserts it below BOUND. FD step 1e-6 in double:
 * small enough that a ReLU kink is almost never crossed, far above the
 * double round-off. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/learner.h"
#include "ensemble/ensemble.h"
#include "nn/nn.h"
#include "nnref.h"
#include "policy/policy.h"

#define BOUND 1e-2
#define FD_STEP 1e-6

/* Ensembles are checked on 2 threads, which run members in parallel. */
static wsrl__nn_ctx *make_ctx_threads(int32_t threads) {
  wsrl__alloc a;
  wsrl__alloc_resolve(&a, NULL);
  wsrl__nn_ctx *ctx = NULL;
  ck_assert_int_eq(wsrl__nn_ctx_create(&ctx, &a, threads), WSRL_OK);
  return ctx;
}

static wsrl__nn_ctx *make_ctx(void) { return make_ctx_threads(2); }

static void fill(wsrl__rng *r, double *x, int64_t n, double scale) {
  for (int64_t i = 0; i < n; i++)
    x[i] = scale * wsrl__rng_normal(r);
}

static void to_float(const double *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    y[i] = (float)x[i];
}

static void to_double(const float *x, double *y, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    y[i] = (double)x[i];
}

/* Compare analytic a[] to numeric n[]; return the max error. */
static double max_err(const double *a, const double *n, int64_t count) {
  double scale = 0.0, worst = 0.0;
  for (int64_t i = 0; i < count; i++)
    scale = fabs(n[i]) > scale ? fabs(n[i]) : scale;
  for (int64_t i = 0; i < count; i++) {
    double e = fabs(a[i] - n[i]) / (fabs(a[i]) + fabs(n[i]) + 1e-3 * scale + 1e-300);
    worst = e > worst ? e : worst;
  }
  return worst;
}

static double weighted_sum(const double *c, const double *y, int64_t n) {
  double f = 0.0;
  for (int64_t i = 0; i < n; i++)
    f += c[i] * y[i];
  return f;
}

/* Finite differences over a float parameter vector read by get/set. */
typedef struct fd_target {
  int64_t count;
  wsrl_status_t (*get)(void *obj, float *out, int64_t count);
  wsrl_status_t (*set)(void *obj, const float *in, int64_t count);
  void *obj;
  double (*loss)(void *user); /* reference loss at the current parameters */
  void *user;
} fd_target;

static void fd_params(const fd_target *t, double *numeric) {
  float *p = malloc(sizeof(float) * (size_t)t->count);
  ck_assert_int_eq(t->get(t->obj, p, t->count), WSRL_OK);
  for (int64_t i = 0; i < t->count; i++) {
    const float v = p[i];
    const float vp = (float)((double)v + FD_STEP), vm = (float)((double)v - FD_STEP);
    p[i] = vp;
    ck_assert_int_eq(t->set(t->obj, p, t->count), WSRL_OK);
    const double fp = t->loss(t->user);
    p[i] = vm;
    ck_assert_int_eq(t->set(t->obj, p, t->count), WSRL_OK);
    const double fm = t->loss(t->user);
    p[i] = v;
    numeric[i] = (fp - fm) / ((double)vp - (double)vm);
  }
  ck_assert_int_eq(t->set(t->obj, p, t->count), WSRL_OK);
  free(p);
}

static wsrl_status_t mlp_get(void *o, float *x, int64_t n) { return wsrl__mlp_get_params(o, x, n); }
static wsrl_status_t mlp_set(void *o, const float *x, int64_t n) { return wsrl__mlp_set_params(o, x, n); }
static wsrl_status_t pol_get(void *o, float *x, int64_t n) { return wsrl__policy_get_params(o, x, n); }
static wsrl_status_t pol_set(void *o, const float *x, int64_t n) { return wsrl__policy_set_params(o, x, n); }

/* Random LayerNorm scale/bias so their gradients are generic. */
static void randomize_ln(wsrl__mlp *m, wsrl__rng *r) {
  const wsrl__mlp_spec *s = wsrl__mlp_get_spec(m);
  if (!s->layer_norm)
    return;
  for (int32_t l = 0; l < s->n_hidden; l++)
    for (int32_t e = 0; e < s->ensemble; e++)
      for (int32_t n = 0; n < s->hidden[l]; n++) {
        *wsrl__mlp_elem(m, WSRL__MLP_PARAM, WSRL__MLP_LN_SCALE, l, e, 0, n) = (float)(1.0 + 0.3 * wsrl__rng_normal(r));
        *wsrl__mlp_elem(m, WSRL__MLP_PARAM, WSRL__MLP_LN_BIAS, l, e, 0, n) = (float)(0.2 * wsrl__rng_normal(r));
      }
}

static void randomize_biases(wsrl__mlp *m, wsrl__rng *r) {
  const wsrl__mlp_spec *s = wsrl__mlp_get_spec(m);
  for (int32_t l = 0; l <= s->n_hidden; l++) {
    const int32_t nout = l < s->n_hidden ? s->hidden[l] : s->out_dim;
    for (int32_t e = 0; e < s->ensemble; e++)
      for (int32_t n = 0; n < nout; n++)
        *wsrl__mlp_elem(m, WSRL__MLP_PARAM, WSRL__MLP_B, l, e, 0, n) = (float)(0.1 * wsrl__rng_normal(r));
  }
}

/* ------------------------------------------------------------------ MLP */

typedef struct mlp_case {
  wsrl__mlp *m;
  int64_t batch;
  int32_t mode;
  double *x, *c; /* input, loss weights: loss = sum c * y */
  int64_t nx, ny;
} mlp_case;

static double mlp_loss(void *user) {
  mlp_case *k = user;
  double *y = malloc(sizeof(double) * (size_t)k->ny);
  nnref_mlp_forward(k->m, k->batch, k->mode, k->x, y);
  const double f = weighted_sum(k->c, y, k->ny);
  free(y);
  return f;
}

static void check_mlp(int32_t E, int32_t ln, int32_t out, int32_t mode, int32_t n_hidden, int32_t threads) {
  wsrl__nn_ctx *ctx = make_ctx_threads(threads);
  wsrl__rng r;
  wsrl__rng_seed(&r, 1234 + (uint64_t)(E * 100 + ln * 10 + out + mode * 1000 + n_hidden * 7), 0);
  wsrl__mlp_spec s = {.ensemble = E, .in_dim = 5, .out_dim = out, .n_hidden = n_hidden, .hidden = {7, 6},
                      .layer_norm = ln, .max_batch = 8, .trainable = 1, .kernel_scale_final = 0.5f};
  wsrl__adam_cfg adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &adam, &r), WSRL_OK);
  randomize_ln(m, &r);
  randomize_biases(m, &r);
  mlp_case k = {m, 4, mode, NULL, NULL, 0, 0};
  const int64_t rows = mode == WSRL__MLP_PER_MEMBER && E > 1 ? E * k.batch : k.batch;
  k.nx = rows * s.in_dim;
  k.ny = E * k.batch * out;
  k.x = malloc(sizeof(double) * (size_t)k.nx);
  k.c = malloc(sizeof(double) * (size_t)k.ny);
  fill(&r, k.x, k.nx, 1.0);
  fill(&r, k.c, k.ny, 1.0);
  float *xf = malloc(sizeof(float) * (size_t)k.nx), *cf = malloc(sizeof(float) * (size_t)k.ny);
  float *yf = malloc(sizeof(float) * (size_t)k.ny), *dxf = malloc(sizeof(float) * (size_t)k.nx);
  to_float(k.x, xf, k.nx);
  to_double(xf, k.x, k.nx); /* the reference sees exactly the float inputs */
  to_float(k.c, cf, k.ny);
  to_double(cf, k.c, k.ny);

  /* Forward agreement. */
  double *yref = malloc(sizeof(double) * (size_t)k.ny);
  ck_assert_int_eq(wsrl__mlp_forward(m, k.batch, mode, xf, yf), WSRL_OK);
  nnref_mlp_forward(m, k.batch, mode, k.x, yref);
  double fwd = 0.0;
  for (int64_t i = 0; i < k.ny; i++)
    fwd = fmax(fwd, fabs(yf[i] - yref[i]) / (1.0 + fabs(yref[i])));
  ck_assert_msg(fwd < 1e-4, "forward differs from the reference by %g", fwd);

  /* Analytic gradients (accumulated twice to check accumulation). */
  wsrl__mlp_zero_grad(m);
  ck_assert_int_eq(wsrl__mlp_backward(m, cf, dxf, 1), WSRL_OK);
  const int64_t np = wsrl__mlp_param_count(m);
  float *gf = malloc(sizeof(float) * (size_t)np);
  double *ga = malloc(sizeof(double) * (size_t)np), *gn = malloc(sizeof(double) * (size_t)np);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, gf, np), WSRL_OK);
  to_double(gf, ga, np);
  ck_assert_int_eq(wsrl__mlp_backward(m, cf, NULL, 1), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, gf, np), WSRL_OK);
  for (int64_t i = 0; i < np; i++)
    ck_assert_msg(fabs(gf[i] - 2.0 * ga[i]) <= 1e-5 * (1.0 + fabs(ga[i])), "accumulation: grad %lld", (long long)i);

  fd_target t = {np, mlp_get, mlp_set, m, mlp_loss, &k};
  fd_params(&t, gn);
  const double err_p = max_err(ga, gn, np);

  /* Input gradient. */
  double *dxa = malloc(sizeof(double) * (size_t)k.nx), *dxn = malloc(sizeof(double) * (size_t)k.nx);
  to_double(dxf, dxa, k.nx);
  for (int64_t i = 0; i < k.nx; i++) {
    const double v = k.x[i];
    k.x[i] = v + FD_STEP;
    const double fp = mlp_loss(&k);
    k.x[i] = v - FD_STEP;
    const double fm = mlp_loss(&k);
    k.x[i] = v;
    dxn[i] = (fp - fm) / (2.0 * FD_STEP);
  }
  const double err_x = max_err(dxa, dxn, k.nx);
  printf("gradcheck mlp E=%d ln=%d out=%d mode=%s hidden=%d threads=%d: %lld params max rel err %.2e, dx %.2e, "
         "fwd %.1e\n", E, ln, out, mode == WSRL__MLP_PER_MEMBER ? "per-member" : "shared", n_hidden, threads,
         (long long)np, err_p, err_x, fwd);
  ck_assert_msg(err_p < BOUND, "parameter gradient error %g", err_p);
  ck_assert_msg(err_x < BOUND, "input gradient error %g", err_x);
  free(k.x), free(k.c), free(xf), free(cf), free(yf), free(dxf), free(yref), free(gf), free(ga), free(gn);
  free(dxa), free(dxn);
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}

/* _i: bit 0 LayerNorm, bit 1 out 4 (matmul head) vs 1 (fused head), bit 2
 * one hidden layer, bit 3 two threads (members in parallel for ensembles). */
START_TEST(mlp_single) { check_mlp(1, _i & 1, _i & 2 ? 4 : 1, WSRL__MLP_SHARED, _i & 4 ? 1 : 2, _i & 8 ? 2 : 1); }
END_TEST

START_TEST(mlp_ensemble_shared) {
  check_mlp(3, _i & 1, _i & 2 ? 4 : 1, WSRL__MLP_SHARED, _i & 4 ? 1 : 2, _i & 8 ? 2 : 1);
}
END_TEST

START_TEST(mlp_ensemble_per_member) {
  check_mlp(3, _i & 1, _i & 2 ? 4 : 1, WSRL__MLP_PER_MEMBER, _i & 4 ? 1 : 2, _i & 8 ? 2 : 1);
}
END_TEST

/* The locomotion critic shape (E = 10, 23 -> 256 -> 256 -> 1, LayerNorm)
 * picks other oneDNN kernels than the tiny cases: check the gradient along
 * a random direction d, (L(p + h d) - L(p - h d)) / 2h = g . d, and the
 * input gradient the same way. */
START_TEST(locomotion_shape_directional) {
  const int32_t mode = _i & 1 ? WSRL__MLP_PER_MEMBER : WSRL__MLP_SHARED, threads = _i & 2 ? 2 : 1;
  wsrl__nn_ctx *ctx = make_ctx_threads(threads);
  wsrl__rng r;
  wsrl__rng_seed(&r, 31337 + (uint64_t)_i, 0);
  wsrl__mlp_spec s = {.ensemble = 10, .in_dim = 23, .out_dim = 1, .n_hidden = 2, .hidden = {256, 256},
                      .layer_norm = 1, .max_batch = 48, .trainable = 1, .kernel_scale_final = 0.01f};
  wsrl__adam_cfg adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &adam, &r), WSRL_OK);
  randomize_ln(m, &r);
  randomize_biases(m, &r);
  mlp_case k = {m, 48, mode, NULL, NULL, 0, 0};
  const int64_t rows = mode == WSRL__MLP_PER_MEMBER ? 10 * k.batch : k.batch;
  k.nx = rows * s.in_dim;
  k.ny = 10 * k.batch;
  k.x = malloc(sizeof(double) * (size_t)k.nx);
  k.c = malloc(sizeof(double) * (size_t)k.ny);
  fill(&r, k.x, k.nx, 1.0);
  fill(&r, k.c, k.ny, 1.0);
  float *xf = malloc(sizeof(float) * (size_t)k.nx), *cf = malloc(sizeof(float) * (size_t)k.ny);
  float *dxf = malloc(sizeof(float) * (size_t)k.nx);
  to_float(k.x, xf, k.nx);
  to_double(xf, k.x, k.nx);
  to_float(k.c, cf, k.ny);
  to_double(cf, k.c, k.ny);
  ck_assert_int_eq(wsrl__mlp_forward(m, k.batch, mode, xf, NULL), WSRL_OK);
  wsrl__mlp_zero_grad(m);
  ck_assert_int_eq(wsrl__mlp_backward(m, cf, dxf, 1), WSRL_OK);
  const int64_t np = wsrl__mlp_param_count(m);
  float *p0 = malloc(sizeof(float) * (size_t)np), *g = malloc(sizeof(float) * (size_t)np);
  float *pp = malloc(sizeof(float) * (size_t)np), *pm = malloc(sizeof(float) * (size_t)np);
  ck_assert_int_eq(wsrl__mlp_get_params(m, p0, np), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, g, np), WSRL_OK);
  /* Per-element steps of 1e-6 relative to each parameter's scale. */
  double gd = 0.0;
  for (int64_t i = 0; i < np; i++) {
    const double h = 1e-6 * (fabs(p0[i]) + 1e-2) * wsrl__rng_normal(&r);
    pp[i] = (float)(p0[i] + h);
    pm[i] = (float)(p0[i] - h);
    gd += (double)g[i] * ((double)pp[i] - (double)pm[i]);
  }
  ck_assert_int_eq(wsrl__mlp_set_params(m, pp, np), WSRL_OK);
  const double fp = mlp_loss(&k);
  ck_assert_int_eq(wsrl__mlp_set_params(m, pm, np), WSRL_OK);
  const double fm = mlp_loss(&k);
  ck_assert_int_eq(wsrl__mlp_set_params(m, p0, np), WSRL_OK);
  const double err_p = fabs((fp - fm) - gd) / (fabs(fp - fm) + fabs(gd));
  /* Input direction. */
  double *xd = malloc(sizeof(double) * (size_t)k.nx), dxd = 0.0;
  memcpy(xd, k.x, sizeof(double) * (size_t)k.nx);
  double *dir = malloc(sizeof(double) * (size_t)k.nx);
  fill(&r, dir, k.nx, 1e-7);
  for (int64_t i = 0; i < k.nx; i++) {
    k.x[i] = xd[i] + dir[i];
    dxd += 2.0 * dir[i] * dxf[i];
  }
  const double fxp = mlp_loss(&k);
  for (int64_t i = 0; i < k.nx; i++)
    k.x[i] = xd[i] - dir[i];
  const double fxm = mlp_loss(&k);
  const double err_x = fabs((fxp - fxm) - dxd) / (fabs(fxp - fxm) + fabs(dxd));
  printf("  detail: dparam num %.6e ana %.6e; dx num %.6e ana %.6e\n", fp - fm, gd, fxp - fxm, dxd);
  printf("gradcheck locomotion critic shape (E=10, 23-256-256-1, LN, B=48, %s, %d thread(s)): directional rel err "
         "params %.2e, input %.2e\n", mode == WSRL__MLP_PER_MEMBER ? "per-member" : "shared", threads, err_p, err_x);
  ck_assert_msg(err_p < BOUND, "directional parameter gradient error %g", err_p);
  ck_assert_msg(err_x < BOUND, "directional input gradient error %g", err_x);
  free(k.x), free(k.c), free(xf), free(cf), free(dxf), free(p0), free(g), free(pp), free(pm), free(xd), free(dir);
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* --------------------------------------------------------------- policy */

typedef struct pol_case {
  wsrl__policy *p;
  int64_t batch;
  int32_t n;
  double *obs, *eps, *ca, *cl, *a_given;
} pol_case;

static double pol_sample_loss(void *user) {
  pol_case *k = user;
  const int32_t A = wsrl__policy_get_spec(k->p)->act_dim;
  const int64_t rows = k->batch * k->n;
  double *a = malloc(sizeof(double) * (size_t)(rows * A)), *lp = malloc(sizeof(double) * (size_t)rows);
  nnref_policy_sample(k->p, k->batch, k->obs, k->n, k->eps, a, lp);
  const double f = weighted_sum(k->cl, lp, rows) + weighted_sum(k->ca, a, rows * A);
  free(a), free(lp);
  return f;
}

static double pol_logprob_loss(void *user) {
  pol_case *k = user;
  double *lp = malloc(sizeof(double) * (size_t)k->batch);
  nnref_policy_log_prob(k->p, k->batch, k->obs, k->a_given, lp);
  const double f = weighted_sum(k->cl, lp, k->batch);
  free(lp);
  return f;
}

static void check_policy(int32_t std_param, int32_t tanh_squash) {
  wsrl__nn_ctx *ctx = make_ctx();
  wsrl__rng r;
  wsrl__rng_seed(&r, 77 + (uint64_t)(std_param * 2 + tanh_squash), 0);
  wsrl__policy_spec s = {.obs_dim = 4, .act_dim = 3, .n_hidden = 2, .hidden = {8, 6}, .layer_norm = 1,
                         .kernel_scale_final = 0.5f, .std_param = std_param, .tanh_squash = tanh_squash,
                         .std_min = 1e-5f, .std_max = 10.0f, .max_batch = 8, .max_samples = 2,
                         .adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f}};
  wsrl__policy *p;
  ck_assert_int_eq(wsrl__policy_create(&p, ctx, &s, &r), WSRL_OK);
  randomize_ln(wsrl__policy_mlp(p), &r);
  randomize_biases(wsrl__policy_mlp(p), &r);
  const int64_t np = wsrl__policy_param_count(p);
  if (std_param == WSRL__STD_UNIFORM) { /* a non-zero log-std vector */
    float *flat = malloc(sizeof(float) * (size_t)np);
    wsrl__policy_get_params(p, flat, np);
    for (int32_t j = 0; j < s.act_dim; j++)
      flat[np - s.act_dim + j] = (float)(0.3 * wsrl__rng_normal(&r) - 0.5);
    wsrl__policy_set_params(p, flat, np);
    free(flat);
  }
  const int64_t B = 3, A = s.act_dim;
  const int32_t n = 2;
  pol_case k = {p, B, n, NULL, NULL, NULL, NULL, NULL};
  double *buf = malloc(sizeof(double) * (size_t)(B * s.obs_dim + 3 * B * n * A + B * n + B * A));
  k.obs = buf;
  k.eps = k.obs + B * s.obs_dim;
  k.ca = k.eps + B * n * A;
  k.cl = k.ca + B * n * A;
  k.a_given = k.cl + B * n;
  fill(&r, k.obs, B * s.obs_dim, 1.0);
  fill(&r, k.eps, B * n * A, 1.0);
  fill(&r, k.ca, B * n * A, 1.0);
  fill(&r, k.cl, B * n, 1.0);
  for (int64_t i = 0; i < B * A; i++)
    k.a_given[i] = tanh_squash ? 0.9 * tanh(wsrl__rng_normal(&r)) : wsrl__rng_normal(&r);
  const int64_t nf = B * s.obs_dim + 3 * B * n * A + B * n + B * A;
  float *f = malloc(sizeof(float) * (size_t)nf);
  to_float(buf, f, nf);
  to_double(f, buf, nf);
  const float *obs_f = f, *eps_f = f + B * s.obs_dim, *ca_f = eps_f + B * n * A, *cl_f = ca_f + B * n * A,
              *ag_f = cl_f + B * n;

  /* Sample: values against the reference, then gradients. */
  float a_out[64], lp_out[16];
  double a_ref[64], lp_ref[16];
  ck_assert_int_eq(wsrl__policy_forward(p, B, obs_f), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_sample(p, n, eps_f, a_out, lp_out), WSRL_OK);
  nnref_policy_sample(p, B, k.obs, n, k.eps, a_ref, lp_ref);
  for (int64_t i = 0; i < B * n; i++) {
    ck_assert_msg(fabs(lp_out[i] - lp_ref[i]) < 1e-4 * (1.0 + fabs(lp_ref[i])), "logp %g vs %g", lp_out[i],
                  lp_ref[i]);
    for (int64_t j = 0; j < A; j++)
      ck_assert(fabs(a_out[i * A + j] - a_ref[i * A + j]) < 1e-4 * (1.0 + fabs(a_ref[i * A + j])));
  }
  wsrl__policy_zero_grad(p);
  ck_assert_int_eq(wsrl__policy_backward_sample(p, ca_f, cl_f), WSRL_OK);
  float *gf = malloc(sizeof(float) * (size_t)np);
  double *ga = malloc(sizeof(double) * (size_t)np), *gn = malloc(sizeof(double) * (size_t)np);
  ck_assert_int_eq(wsrl__policy_get_grads(p, gf, np), WSRL_OK);
  to_double(gf, ga, np);
  fd_target t = {np, pol_get, pol_set, p, pol_sample_loss, &k};
  fd_params(&t, gn);
  const double err_s = max_err(ga, gn, np);

  /* log_prob of given actions. */
  float lp_given[8];
  double lp_given_ref[8];
  ck_assert_int_eq(wsrl__policy_forward(p, B, obs_f), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_log_prob(p, ag_f, lp_given), WSRL_OK);
  nnref_policy_log_prob(p, B, k.obs, k.a_given, lp_given_ref);
  for (int64_t i = 0; i < B; i++)
    ck_assert_msg(fabs(lp_given[i] - lp_given_ref[i]) < 1e-3 * (1.0 + fabs(lp_given_ref[i])), "log_prob %g vs %g",
                  lp_given[i], lp_given_ref[i]);
  wsrl__policy_zero_grad(p);
  ck_assert_int_eq(wsrl__policy_backward_log_prob(p, cl_f), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_get_grads(p, gf, np), WSRL_OK);
  to_double(gf, ga, np);
  t.loss = pol_logprob_loss;
  fd_params(&t, gn);
  const double err_l = max_err(ga, gn, np);
  printf("gradcheck policy std=%s tanh=%d: %lld params max rel err sample %.2e, log_prob %.2e\n",
         std_param == WSRL__STD_EXP ? "exp" : "uniform", tanh_squash, (long long)np, err_s, err_l);
  ck_assert_msg(err_s < BOUND, "sample gradient error %g", err_s);
  ck_assert_msg(err_l < BOUND, "log_prob gradient error %g", err_l);
  free(buf), free(f), free(gf), free(ga), free(gn);
  wsrl__policy_destroy(p);
  wsrl__nn_ctx_destroy(ctx);
}

START_TEST(policy_heads) { check_policy(_i & 1 ? WSRL__STD_UNIFORM : WSRL__STD_EXP, _i & 2 ? 0 : 1); }
END_TEST

/* ---------------------------------------------------- whole-loss checks */

enum { OBS = 4, ACT = 2, BATCH = 3, ENS = 3 };

static wsrl_qensemble_t *make_q(wsrl__nn_ctx *ctx, wsrl__rng *r) {
  wsrl__qensemble_spec qs = {.obs_dim = OBS, .act_dim = ACT, .ensemble = ENS, .n_hidden = 2, .hidden = {8, 7},
                             .layer_norm = 1, .kernel_scale_final = 0.5f, .max_batch = 8,
                             .adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f}};
  wsrl_qensemble_t *q;
  ck_assert_int_eq(wsrl__qensemble_create(&q, ctx, &qs, r), WSRL_OK);
  randomize_ln(wsrl__qensemble_mlp(q, WSRL__Q_ONLINE), r);
  randomize_biases(wsrl__qensemble_mlp(q, WSRL__Q_ONLINE), r);
  return q;
}

/* Reference Q of all members at (s, a): q [ENS, BATCH]. */
static void ref_q(wsrl_qensemble_t *q, const double *s, const double *a, double *out) {
  double x[BATCH * (OBS + ACT)];
  for (int b = 0; b < BATCH; b++) {
    memcpy(x + b * (OBS + ACT), s + b * OBS, sizeof(double) * OBS);
    memcpy(x + b * (OBS + ACT) + OBS, a + b * ACT, sizeof(double) * ACT);
  }
  nnref_mlp_forward(wsrl__qensemble_mlp(q, WSRL__Q_ONLINE), BATCH, WSRL__MLP_SHARED, x, out);
}

typedef struct critic_case {
  wsrl_qensemble_t *q;
  double s[BATCH * OBS], a[BATCH * ACT], y[BATCH];
} critic_case;

/* Critic TD loss: mean over members and batch of (Q_i(s, a) - y)^2. */
static double critic_loss(void *user) {
  critic_case *k = user;
  double qv[ENS * BATCH], f = 0.0;
  ref_q(k->q, k->s, k->a, qv);
  for (int e = 0; e < ENS; e++)
    for (int b = 0; b < BATCH; b++)
      f += (qv[e * BATCH + b] - k->y[b]) * (qv[e * BATCH + b] - k->y[b]);
  return f / (ENS * BATCH);
}

/* min over members of row b of qv [ENS, BATCH]. */
static double row_min(const double *qv, int b) {
  double m = qv[b];
  for (int e = 1; e < ENS; e++)
    m = fmin(m, qv[e * BATCH + b]);
  return m;
}

/* -mean_b min_i Q_i(s, a), the action term of the actor loss. */
static double min_q_loss(void *user) {
  critic_case *k = user;
  double qv[ENS * BATCH], f = 0.0;
  ref_q(k->q, k->s, k->a, qv);
  for (int b = 0; b < BATCH; b++)
    f -= row_min(qv, b);
  return f / BATCH;
}

START_TEST(critic_loss_and_action_gradient) {
  wsrl__nn_ctx *ctx = make_ctx();
  wsrl__rng r;
  wsrl__rng_seed(&r, 99, 0);
  critic_case k;
  k.q = make_q(ctx, &r);
  fill(&r, k.s, BATCH * OBS, 1.0);
  fill(&r, k.a, BATCH * ACT, 0.5);
  fill(&r, k.y, BATCH, 1.0);
  float s[BATCH * OBS], a[BATCH * ACT], qf[ENS * BATCH], dq[ENS * BATCH], da[BATCH * ACT];
  to_float(k.s, s, BATCH * OBS);
  to_double(s, k.s, BATCH * OBS);
  to_float(k.a, a, BATCH * ACT);
  to_double(a, k.a, BATCH * ACT);
  ck_assert_int_eq(wsrl__qensemble_forward(k.q, WSRL__Q_ONLINE, BATCH, s, 1, a, qf), WSRL_OK);
  for (int e = 0; e < ENS; e++)
    for (int b = 0; b < BATCH; b++)
      dq[e * BATCH + b] = (float)(2.0 * (qf[e * BATCH + b] - k.y[b]) / (ENS * BATCH));
  wsrl__qensemble_zero_grad(k.q);
  ck_assert_int_eq(wsrl__qensemble_backward(k.q, dq, NULL, 1), WSRL_OK);
  wsrl__mlp *m = wsrl__qensemble_mlp(k.q, WSRL__Q_ONLINE);
  const int64_t np = wsrl__mlp_param_count(m);
  float *gf = malloc(sizeof(float) * (size_t)np);
  double *ga = malloc(sizeof(double) * (size_t)np), *gn = malloc(sizeof(double) * (size_t)np);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, gf, np), WSRL_OK);
  to_double(gf, ga, np);
  fd_target t = {np, mlp_get, mlp_set, m, critic_loss, &k};
  fd_params(&t, gn);
  const double err_c = max_err(ga, gn, np);

  /* d(-mean min_i Q_i)/da through the argmin one-hot. */
  float mn[BATCH];
  int32_t arg[BATCH];
  wsrl__qensemble_min(qf, ENS, BATCH, NULL, 0, mn, arg);
  memset(dq, 0, sizeof dq);
  for (int b = 0; b < BATCH; b++)
    dq[arg[b] * BATCH + b] = -1.0f / BATCH;
  ck_assert_int_eq(wsrl__qensemble_backward(k.q, dq, da, 0), WSRL_OK);
  double daa[BATCH * ACT], dan[BATCH * ACT];
  to_double(da, daa, BATCH * ACT);
  for (int i = 0; i < BATCH * ACT; i++) {
    const double v = k.a[i];
    k.a[i] = v + FD_STEP;
    const double fp = min_q_loss(&k);
    k.a[i] = v - FD_STEP;
    const double fm = min_q_loss(&k);
    k.a[i] = v;
    dan[i] = (fp - fm) / (2.0 * FD_STEP);
  }
  const double err_a = max_err(daa, dan, BATCH * ACT);
  printf("gradcheck critic TD loss (E=%d, LN): %lld params max rel err %.2e; d min Q / da %.2e\n", ENS,
         (long long)np, err_c, err_a);
  ck_assert_msg(err_c < BOUND, "critic loss gradient error %g", err_c);
  ck_assert_msg(err_a < BOUND, "action gradient error %g", err_a);
  free(gf), free(ga), free(gn);
  wsrl__qensemble_free(k.q);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

typedef struct actor_case {
  wsrl__policy *p;
  wsrl_qensemble_t *q;
  double s[BATCH * OBS], eps[BATCH * ACT];
  double alpha;
} actor_case;

/* SAC actor loss: mean_b (alpha log pi(a~|s) - min_i Q_i(s, a~)), a~ = tanh(mean + std eps). */
static double actor_loss(void *user) {
  actor_case *k = user;
  double a[BATCH * ACT], lp[BATCH], qv[ENS * BATCH], f = 0.0;
  nnref_policy_sample(k->p, BATCH, k->s, 1, k->eps, a, lp);
  ref_q(k->q, k->s, a, qv);
  for (int b = 0; b < BATCH; b++)
    f += k->alpha * lp[b] - row_min(qv, b);
  return f / BATCH;
}

START_TEST(actor_loss_through_critics) {
  wsrl__nn_ctx *ctx = make_ctx();
  wsrl__rng r;
  wsrl__rng_seed(&r, 2024, 0);
  actor_case k;
  k.q = make_q(ctx, &r);
  wsrl__policy_spec ps = {.obs_dim = OBS, .act_dim = ACT, .n_hidden = 2, .hidden = {8, 6}, .layer_norm = 1,
                          .kernel_scale_final = 0.5f, .std_param = WSRL__STD_EXP, .tanh_squash = 1,
                          .std_min = 1e-5f, .std_max = 10.0f, .max_batch = 8, .max_samples = 1,
                          .adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f}};
  ck_assert_int_eq(wsrl__policy_create(&k.p, ctx, &ps, &r), WSRL_OK);
  randomize_ln(wsrl__policy_mlp(k.p), &r);
  randomize_biases(wsrl__policy_mlp(k.p), &r);
  k.alpha = 0.7;
  fill(&r, k.s, BATCH * OBS, 1.0);
  fill(&r, k.eps, BATCH * ACT, 1.0);
  float s[BATCH * OBS], eps[BATCH * ACT], a[BATCH * ACT], lp[BATCH], qf[ENS * BATCH], dq[ENS * BATCH];
  float da[BATCH * ACT], dlp[BATCH], mn[BATCH];
  int32_t arg[BATCH];
  to_float(k.s, s, BATCH * OBS);
  to_double(s, k.s, BATCH * OBS);
  to_float(k.eps, eps, BATCH * ACT);
  to_double(eps, k.eps, BATCH * ACT);
  /* The agent's actor step, written out. */
  ck_assert_int_eq(wsrl__policy_forward(k.p, BATCH, s), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_sample(k.p, 1, eps, a, lp), WSRL_OK);
  ck_assert_int_eq(wsrl__qensemble_forward(k.q, WSRL__Q_ONLINE, BATCH, s, 1, a, qf), WSRL_OK);
  wsrl__qensemble_min(qf, ENS, BATCH, NULL, 0, mn, arg);
  memset(dq, 0, sizeof dq);
  for (int b = 0; b < BATCH; b++) {
    dq[arg[b] * BATCH + b] = -1.0f / BATCH;
    dlp[b] = (float)(k.alpha / BATCH);
  }
  ck_assert_int_eq(wsrl__qensemble_backward(k.q, dq, da, 0), WSRL_OK);
  wsrl__policy_zero_grad(k.p);
  ck_assert_int_eq(wsrl__policy_backward_sample(k.p, da, dlp), WSRL_OK);
  const int64_t np = wsrl__policy_param_count(k.p);
  float *gf = malloc(sizeof(float) * (size_t)np);
  double *ga = malloc(sizeof(double) * (size_t)np), *gn = malloc(sizeof(double) * (size_t)np);
  ck_assert_int_eq(wsrl__policy_get_grads(k.p, gf, np), WSRL_OK);
  to_double(gf, ga, np);
  fd_target t = {np, pol_get, pol_set, k.p, actor_loss, &k};
  fd_params(&t, gn);
  const double err = max_err(ga, gn, np);
  printf("gradcheck SAC actor loss through %d critics: %lld params max rel err %.2e\n", ENS, (long long)np, err);
  ck_assert_msg(err < BOUND, "actor loss gradient error %g", err);
  free(gf), free(ga), free(gn);
  wsrl__policy_destroy(k.p);
  wsrl__qensemble_free(k.q);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* TD3+BC actor loss on a real agent (normalised states, Q_1 only, lambda
 * held fixed as the loss detaches it):
 *   -lambda mean_b Q_1(s_b, pi(s_b)) + mean_{b,j} (pi(s_b)_j - a_bj)^2. */
typedef struct td3bc_case {
  wsrl_agent_t *ag;
  double s[BATCH * OBS], a[BATCH * ACT], lambda;
} td3bc_case;

static double td3bc_loss(void *user) {
  td3bc_case *k = user;
  double zero[BATCH * ACT] = {0}, pi[BATCH * ACT], lp[BATCH], qv[ENS * BATCH], f = 0.0;
  nnref_policy_sample(k->ag->pi, BATCH, k->s, 1, zero, pi, lp);
  ref_q(k->ag->q, k->s, pi, qv);
  for (int b = 0; b < BATCH; b++)
    f -= k->lambda * qv[b] / BATCH; /* member 0 */
  for (int i = 0; i < BATCH * ACT; i++)
    f += (pi[i] - k->a[i]) * (pi[i] - k->a[i]) / (BATCH * ACT);
  return f;
}

START_TEST(td3bc_actor_loss) {
  wsrl_config_t *c = NULL;
  ck_assert_int_eq(wsrl_config_create(&c), WSRL_OK);
  ck_assert_int_eq(wsrl_config_parse_string(c, "agent.algorithm = td3bc\ncritic.hidden = 8,7\nactor.hidden = 8,6\n"
                                               "critic.ensemble_size = 3\ncritic.subsample = 2\n"
                                               "update.batch_size = 3\nupdate.utd = 1\nagent.threads = 1\n"
                                               "critic.kernel_scale_final = 1\nactor.kernel_scale_final = 1\n"),
                   WSRL_OK);
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = OBS;
  spec.act_dim = ACT;
  td3bc_case k;
  ck_assert_int_eq(wsrl_agent_create(&k.ag, c, &spec), WSRL_OK);
  wsrl__rng r;
  wsrl__rng_seed(&r, 77, 0);
  randomize_ln(wsrl__policy_mlp(k.ag->pi), &r);
  randomize_biases(wsrl__policy_mlp(k.ag->pi), &r);
  randomize_ln(wsrl__qensemble_mlp(k.ag->q, WSRL__Q_ONLINE), &r);
  randomize_biases(wsrl__qensemble_mlp(k.ag->q, WSRL__Q_ONLINE), &r);
  /* A dataset far from zero mean and unit std: normalisation matters. */
  double raw[BATCH * OBS], data[64 * OBS];
  float rawf[BATCH * OBS], dataf[64 * OBS], act[BATCH * ACT], rew[BATCH] = {0}, mask[BATCH] = {1, 1, 1};
  fill(&r, data, 64 * OBS, 3.0);
  for (int i = 0; i < 64 * OBS; i++)
    dataf[i] = (float)(data[i] + 5.0 * (i % OBS));
  ck_assert_int_eq(wsrl__agent_fit_dataset(k.ag, 64, dataf), WSRL_OK);
  fill(&r, raw, BATCH * OBS, 3.0);
  to_float(raw, rawf, BATCH * OBS);
  fill(&r, k.a, BATCH * ACT, 0.5);
  to_float(k.a, act, BATCH * ACT);
  to_double(act, k.a, BATCH * ACT);
  /* The reference's states: normalised in double by the dataset's float
   * statistics, recomputed here. */
  for (int i = 0; i < OBS; i++) {
    double m = 0.0, v = 0.0;
    for (int j = 0; j < 64; j++)
      m += dataf[j * OBS + i];
    m /= 64;
    for (int j = 0; j < 64; j++)
      v += (dataf[j * OBS + i] - m) * (dataf[j * OBS + i] - m);
    const float mf = (float)m, sf = (float)sqrt(v / 64) + 1e-3f;
    for (int b = 0; b < BATCH; b++)
      k.s[b * OBS + i] = (double)((rawf[b * OBS + i] - mf) / sf);
  }
  const wsrl__agent_batch bt = {BATCH, rawf, act, rew, rawf, mask, NULL};
  ck_assert_int_eq(wsrl__td3bc_ops.actor_grads(k.ag, k.ag->lstate, &bt), WSRL_OK);
  /* lambda = alpha / mean |Q_1(s, pi(s))| at these parameters. */
  double zero[BATCH * ACT] = {0}, pi[BATCH * ACT], lp[BATCH], qv[ENS * BATCH], qabs = 0.0;
  nnref_policy_sample(k.ag->pi, BATCH, k.s, 1, zero, pi, lp);
  ref_q(k.ag->q, k.s, pi, qv);
  for (int b = 0; b < BATCH; b++)
    qabs += fabs(qv[b]);
  k.lambda = 2.5 / (qabs / BATCH);
  const int64_t np = wsrl__policy_param_count(k.ag->pi);
  float *gf = malloc(sizeof(float) * (size_t)np);
  double *ga = malloc(sizeof(double) * (size_t)np), *gn = malloc(sizeof(double) * (size_t)np);
  ck_assert_int_eq(wsrl__policy_get_grads(k.ag->pi, gf, np), WSRL_OK);
  to_double(gf, ga, np);
  fd_target t = {np, pol_get, pol_set, k.ag->pi, td3bc_loss, &k};
  fd_params(&t, gn);
  const double err = max_err(ga, gn, np);
  printf("gradcheck TD3+BC actor loss (lambda %.3g, normalised states): %lld params max rel err %.2e\n", k.lambda,
         (long long)np, err);
  ck_assert_msg(err < BOUND, "TD3+BC actor gradient error %g", err);
  free(gf), free(ga), free(gn);
  wsrl_agent_destroy(k.ag);
  wsrl_config_destroy(c);
}
END_TEST

/* ------------------------------------------------ optimizer, closed form */

START_TEST(adam_closed_form) {
  /* Three steps of the formula in double against wsrl__adam_update. */
  enum { N = 37 };
  wsrl__adam_cfg c = {0.01f, 0.9f, 0.999f, 1e-8f, 0.0f};
  wsrl__rng r;
  wsrl__rng_seed(&r, 5, 0);
  float p[N], g[N], m[N] = {0}, v[N] = {0};
  double pd[N], md[N] = {0}, vd[N] = {0};
  for (int i = 0; i < N; i++)
    pd[i] = p[i] = (float)wsrl__rng_normal(&r);
  double worst = 0.0;
  for (int t = 1; t <= 3; t++) {
    for (int i = 0; i < N; i++)
      g[i] = (float)wsrl__rng_normal(&r);
    wsrl__adam_update(&c, t, 1.0f, p, g, m, v, N);
    for (int i = 0; i < N; i++) {
      md[i] = 0.9 * md[i] + 0.1 * g[i];
      vd[i] = 0.999 * vd[i] + 0.001 * (double)g[i] * g[i];
      const double mh = md[i] / (1.0 - pow(0.9, t)), vh = vd[i] / (1.0 - pow(0.999, t));
      pd[i] -= 0.01 * mh / (sqrt(vh) + 1e-8);
      worst = fmax(worst, fabs(p[i] - pd[i]));
    }
  }
  printf("gradcheck adam vs closed form: max abs diff %.2e after 3 steps\n", worst);
  ck_assert_msg(worst < 1e-6, "Adam differs from the closed form by %g", worst);
  /* First step moves every coordinate by lr in the direction of -g. */
  float p1[2] = {0.0f, 0.0f}, g1[2] = {3.0f, -0.01f}, m1[2] = {0}, v1[2] = {0};
  wsrl__adam_update(&c, 1, 1.0f, p1, g1, m1, v1, 2);
  ck_assert(fabs(p1[0] + 0.01) < 1e-7 && fabs(p1[1] - 0.01) < 1e-6);
}
END_TEST

START_TEST(scalar_derivative) {
  wsrl__adam_cfg c = {0.01f, 0.9f, 0.999f, 1e-8f, 0.0f};
  for (int kind = 0; kind < 2; kind++) {
    wsrl__scalar s;
    ck_assert_int_eq(wsrl__scalar_init(&s, kind, 0.37, &c), WSRL_OK);
    ck_assert(fabs(wsrl__scalar_value(&s) - 0.37) < 1e-6);
    const float p0 = s.p;
    s.p = p0 + 1e-3f;
    const double vp = wsrl__scalar_value(&s);
    s.p = p0 - 1e-3f;
    const double vm = wsrl__scalar_value(&s);
    s.p = p0;
    const double num = (vp - vm) / ((double)(p0 + 1e-3f) - (double)(p0 - 1e-3f));
    ck_assert_msg(fabs(num - wsrl__scalar_dvalue_dp(&s)) < 1e-4, "kind %d: %g vs %g", kind, num,
                  wsrl__scalar_dvalue_dp(&s));
  }
}
END_TEST

/* nn.precision = bf16: the same network (same seed) in fp32 and bf16 on
 * the locomotion critic shape (E = 10, LayerNorm, one-unit head) and the
 * actor shape (E = 1, 12 outputs). bf16 rounds every matmul operand to 8
 * significant bits, so the forward output, parameter gradient and input
 * gradient must agree with fp32 in relative L2 norm (output 1e-2, gradients
 * 1e-1: measured 0.4% and 3-6%, the gradients dominated by ReLU inputs near 0
 * whose sign rounding flips; a wrong operand gives O(1)); bf16 results
 * must be the same bits on 1 and 2 threads. */
static double rel_l2_diff(const float *a, const float *b, int64_t n) {
  double d = 0.0, r = 0.0;
  for (int64_t i = 0; i < n; i++) {
    d += ((double)a[i] - (double)b[i]) * ((double)a[i] - (double)b[i]);
    r += (double)b[i] * (double)b[i];
  }
  return sqrt(d / (r + 1e-300));
}

/* Forward + backward of a fresh MLP (seed 7) at precision prec; returns
 * output, param grads and dx in malloc'd arrays. */
static void run_precision(int32_t prec, int32_t threads, const wsrl__mlp_spec *s, int32_t mode, int64_t B,
                          const float *x, const float *dy, float **out, float **g, float **dx, int64_t *np) {
  wsrl__nn_ctx *ctx = make_ctx_threads(threads);
  ck_assert_int_eq(wsrl__nn_ctx_set_precision(ctx, prec), WSRL_OK);
  wsrl__rng r;
  wsrl__rng_seed(&r, 7, 0);
  wsrl__adam_cfg adam = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, s, &adam, &r), WSRL_OK);
  randomize_ln(m, &r);
  randomize_biases(m, &r);
  const int64_t E = s->ensemble, rows = mode == WSRL__MLP_PER_MEMBER ? E * B : B;
  *np = wsrl__mlp_param_count(m);
  *out = malloc(sizeof(float) * (size_t)(E * B * s->out_dim));
  *g = malloc(sizeof(float) * (size_t)*np);
  *dx = malloc(sizeof(float) * (size_t)(rows * s->in_dim));
  ck_assert_int_eq(wsrl__mlp_forward(m, B, mode, x, *out), WSRL_OK);
  wsrl__mlp_zero_grad(m);
  ck_assert_int_eq(wsrl__mlp_backward(m, dy, *dx, 1), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, *g, *np), WSRL_OK);
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}

START_TEST(bf16_matches_fp32) {
  const int critic = _i < 2;
  const int32_t mode = _i == 1 ? WSRL__MLP_PER_MEMBER : WSRL__MLP_SHARED;
  wsrl__mlp_spec s = {.ensemble = critic ? 10 : 1, .in_dim = critic ? 23 : 17, .out_dim = critic ? 1 : 12,
                      .n_hidden = 2, .hidden = {256, 256}, .layer_norm = 1, .max_batch = 64, .trainable = 1};
  const int64_t B = 64, E = s.ensemble, rows = mode == WSRL__MLP_PER_MEMBER ? E * B : B;
  wsrl__rng r;
  wsrl__rng_seed(&r, 99, 0);
  float *x = malloc(sizeof(float) * (size_t)(rows * s.in_dim)), *dy = malloc(sizeof(float) * (size_t)(E * B * s.out_dim));
  for (int64_t i = 0; i < rows * s.in_dim; i++)
    x[i] = (float)wsrl__rng_normal(&r);
  for (int64_t i = 0; i < E * B * s.out_dim; i++)
    dy[i] = (float)wsrl__rng_normal(&r);
  float *o32, *g32, *dx32, *o16, *g16, *dx16, *o16b, *g16b, *dx16b;
  int64_t np;
  run_precision(WSRL__NN_FP32, 1, &s, mode, B, x, dy, &o32, &g32, &dx32, &np);
  run_precision(WSRL__NN_BF16, 1, &s, mode, B, x, dy, &o16, &g16, &dx16, &np);
  run_precision(WSRL__NN_BF16, 2, &s, mode, B, x, dy, &o16b, &g16b, &dx16b, &np);
  const double eo = rel_l2_diff(o16, o32, E * B * s.out_dim), eg = rel_l2_diff(g16, g32, np);
  const double ex = rel_l2_diff(dx16, dx32, rows * s.in_dim);
  printf("gradcheck bf16 vs fp32 (%s, %s): rel diff out %.2e, grads %.2e, dx %.2e\n", critic ? "critic E=10" : "actor",
         mode == WSRL__MLP_PER_MEMBER ? "per-member" : "shared", eo, eg, ex);
  ck_assert_msg(eo < 1e-2 && eg < 1e-1 && ex < 1e-1, "bf16 differs from fp32: out %g grads %g dx %g", eo, eg, ex);
  ck_assert_msg(eo > 0.0, "bf16 gave fp32's exact output: bf16 kernels did not run");
  ck_assert(memcmp(o16, o16b, sizeof(float) * (size_t)(E * B * s.out_dim)) == 0);
  ck_assert(memcmp(g16, g16b, sizeof(float) * (size_t)np) == 0);
  ck_assert(memcmp(dx16, dx16b, sizeof(float) * (size_t)(rows * s.in_dim)) == 0);
  free(x), free(dy), free(o32), free(g32), free(dx32), free(o16), free(g16), free(dx16), free(o16b), free(g16b),
      free(dx16b);
}
END_TEST

/* Without AVX-512 (oneDNN capped to AVX2 here) bf16 is refused by name. */
START_TEST(bf16_needs_avx512) {
  setenv("ONEDNN_MAX_CPU_ISA", "AVX2", 1);
  wsrl__nn_ctx *ctx = make_ctx_threads(1);
  ck_assert_int_eq(wsrl__nn_ctx_set_precision(ctx, WSRL__NN_BF16), WSRL_ERR_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "nn.precision = bf16"));
  ck_assert_int_eq(wsrl__nn_ctx_set_precision(ctx, 5), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl__nn_ctx_set_precision(ctx, WSRL__NN_FP32), WSRL_OK);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

static Suite *gradcheck_suite(void) {
  Suite *s = suite_create("gradcheck");
  TCase *tc = tcase_create("layers");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, mlp_single, 0, 16);
  tcase_add_loop_test(tc, mlp_ensemble_shared, 0, 16);
  tcase_add_loop_test(tc, mlp_ensemble_per_member, 0, 16);
  tcase_add_loop_test(tc, policy_heads, 0, 4);
  tcase_add_loop_test(tc, locomotion_shape_directional, 0, 4);
  tcase_add_loop_test(tc, bf16_matches_fp32, 0, 3);
  tcase_add_test(tc, bf16_needs_avx512);
  suite_add_tcase(s, tc);
  tc = tcase_create("losses");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, critic_loss_and_action_gradient);
  tcase_add_test(tc, actor_loss_through_critics);
  tcase_add_test(tc, td3bc_actor_loss);
  suite_add_tcase(s, tc);
  tc = tcase_create("optimizer");
  tcase_add_test(tc, adam_closed_form);
  tcase_add_test(tc, scalar_derivative);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  /* No oneDNN work before srunner_run_all (forked OpenMP children can hang). */
  SRunner *sr = srunner_create(gradcheck_suite());
  srunner_run_all(sr, CK_VERBOSE);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
