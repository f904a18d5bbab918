/* NN engine: known answers with hand-set weights, agreement with the
 * double reference, Adam and Polyak against their formulas, learned
 * scalars, the tanh-Gaussian policy's closed forms, determinism, the
 * shape cache, no allocation in steady state, and every error path of the
 * internal and public (wsrl_qensemble_*) APIs. Gradient checks live in
 * tests/gradcheck. Small shapes: the suite runs in seconds. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#  include <omp.h>
#endif

#include "ensemble/ensemble.h"
#include "nn/nn.h"
#include "nnref.h"
#include "policy/policy.h"
#include "suites.h"
#include "wsrl/wsrl.h"

#define ck_assert_msg_has(sub) ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), (sub)))

static const wsrl__adam_cfg ADAM = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f};

static wsrl__nn_ctx *make_ctx(int32_t threads) {
  wsrl__alloc a;
  wsrl__alloc_resolve(&a, NULL);
  wsrl__nn_ctx *ctx = NULL;
  ck_assert_int_eq(wsrl__nn_ctx_create(&ctx, &a, threads), WSRL_OK);
  return ctx;
}

/* The same in bf16 where asked; NULL where this CPU has no bf16 (the test
 * then skips). */
static wsrl__nn_ctx *make_ctx_prec(int32_t threads, int bf16) {
  wsrl__nn_ctx *ctx = make_ctx(threads);
  if (bf16 && wsrl__nn_ctx_set_precision(ctx, WSRL__NN_BF16) != WSRL_OK) {
    wsrl_clear_error();
    wsrl__nn_ctx_destroy(ctx);
    return NULL;
  }
  return ctx;
}

static float *W(wsrl__mlp *m, int kind, int l, int e, int k, int n) {
  float *p = wsrl__mlp_elem(m, WSRL__MLP_PARAM, kind, l, e, k, n);
  ck_assert_ptr_nonnull(p);
  return p;
}

static float *G(wsrl__mlp *m, int kind, int l, int e, int k, int n) {
  float *p = wsrl__mlp_elem(m, WSRL__MLP_GRAD, kind, l, e, k, n);
  ck_assert_ptr_nonnull(p);
  return p;
}

/* ------------------------------------------------------------ known answers */

START_TEST(known_answer_dense) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__rng r;
  wsrl__rng_seed(&r, 1, 0);
  wsrl__mlp_spec s = {.ensemble = 2, .in_dim = 2, .out_dim = 1, .n_hidden = 1, .hidden = {2}, .max_batch = 4,
                      .trainable = 1};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
  /* member 0: W0 = [[1, -1], [2, 0.5]], b0 = [0.5, -1], head [1, 2] + 0.25 */
  *W(m, WSRL__MLP_W, 0, 0, 0, 0) = 1, *W(m, WSRL__MLP_W, 0, 0, 0, 1) = -1;
  *W(m, WSRL__MLP_W, 0, 0, 1, 0) = 2, *W(m, WSRL__MLP_W, 0, 0, 1, 1) = 0.5f;
  *W(m, WSRL__MLP_B, 0, 0, 0, 0) = 0.5f, *W(m, WSRL__MLP_B, 0, 0, 0, 1) = -1;
  *W(m, WSRL__MLP_W, 1, 0, 0, 0) = 1, *W(m, WSRL__MLP_W, 1, 0, 1, 0) = 2, *W(m, WSRL__MLP_B, 1, 0, 0, 0) = 0.25f;
  /* member 1: W0 = [[0, 1], [1, 0]], b0 = 0, head [-1, 3] - 0.5 */
  *W(m, WSRL__MLP_W, 0, 1, 0, 0) = 0, *W(m, WSRL__MLP_W, 0, 1, 0, 1) = 1;
  *W(m, WSRL__MLP_W, 0, 1, 1, 0) = 1, *W(m, WSRL__MLP_W, 0, 1, 1, 1) = 0;
  *W(m, WSRL__MLP_B, 0, 1, 0, 0) = 0, *W(m, WSRL__MLP_B, 0, 1, 0, 1) = 0;
  *W(m, WSRL__MLP_W, 1, 1, 0, 0) = -1, *W(m, WSRL__MLP_W, 1, 1, 1, 0) = 3, *W(m, WSRL__MLP_B, 1, 1, 0, 0) = -0.5f;
  const float x[4] = {1, 2, -1, 1};
  float q[4];
  ck_assert_int_eq(wsrl__mlp_forward(m, 2, WSRL__MLP_SHARED, x, q), WSRL_OK);
  /* Worked by hand: member 0 rows 5.75, 2.75; member 1 rows 0.5, -1.5. */
  const float want[4] = {5.75f, 2.75f, 0.5f, -1.5f};
  for (int i = 0; i < 4; i++)
    ck_assert_float_eq_tol(q[i], want[i], 1e-6);
  const float dq[4] = {1, 1, 1, 1};
  float dx[4];
  wsrl__mlp_zero_grad(m);
  ck_assert_int_eq(wsrl__mlp_backward(m, dq, dx, 1), WSRL_OK);
  /* Member 0: row 0 has unit 1 off (z = -1); dz = [1, 0] and [1, 2]. */
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_W, 0, 0, 0, 0), 0.0f, 1e-6);
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_W, 0, 0, 0, 1), -2.0f, 1e-6);
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_W, 0, 0, 1, 0), 3.0f, 1e-6);
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_W, 0, 0, 1, 1), 2.0f, 1e-6);
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_B, 0, 0, 0, 0), 2.0f, 1e-6);
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_B, 0, 0, 0, 1), 2.0f, 1e-6);
  /* Head gradients: sum of activations; bias = number of rows. */
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_W, 1, 0, 0, 0), 5.5f + 1.5f, 1e-6);
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_W, 1, 0, 1, 0), 0.0f + 0.5f, 1e-6);
  ck_assert_float_eq_tol(*G(m, WSRL__MLP_B, 1, 1, 0, 0), 2.0f, 1e-6);
  /* dx summed over members: row 0 = m0 [1*1 + 0*(-1), 1*2 + 0*0.5] + m1 (dz = [-1, 3]) [3, -1]. */
  ck_assert_float_eq_tol(dx[0], 1.0f + 3.0f, 1e-6);
  ck_assert_float_eq_tol(dx[1], 2.0f - 1.0f, 1e-6);
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

START_TEST(known_answer_layernorm) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__rng r;
  wsrl__rng_seed(&r, 1, 0);
  wsrl__mlp_spec s = {.ensemble = 1, .in_dim = 3, .out_dim = 1, .n_hidden = 1, .hidden = {3}, .layer_norm = 1,
                      .max_batch = 2, .trainable = 1};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
  for (int k = 0; k < 3; k++)
    for (int n = 0; n < 3; n++)
      *W(m, WSRL__MLP_W, 0, 0, k, n) = k == n ? 1.0f : 0.0f;
  const float gamma[3] = {1, 1, 2}, beta[3] = {0, 0.5f, 0};
  for (int n = 0; n < 3; n++) {
    *W(m, WSRL__MLP_LN_SCALE, 0, 0, 0, n) = gamma[n];
    *W(m, WSRL__MLP_LN_BIAS, 0, 0, 0, n) = beta[n];
    *W(m, WSRL__MLP_W, 1, 0, n, 0) = 1.0f;
  }
  /* y = [1, 2, 3]: mean 2, var 2/3, xhat = [-a, 0, a] with a = 1/sqrt(2/3 + 1e-6);
   * relu(gamma xhat + beta) = [0, 0.5, 2a]; q = 0.5 + 2a. */
  const float x[3] = {1, 2, 3};
  float q;
  ck_assert_int_eq(wsrl__mlp_forward(m, 1, WSRL__MLP_SHARED, x, &q), WSRL_OK);
  const double a = 1.0 / sqrt(2.0 / 3.0 + 1e-6);
  ck_assert_double_eq_tol(q, 0.5 + 2.0 * a, 1e-5);
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* A random mid-size ensemble (both input modes, matmul output head)
 * agrees with the double reference. */
START_TEST(reference_agreement) {
  wsrl__nn_ctx *ctx = make_ctx(2);
  wsrl__rng r;
  wsrl__rng_seed(&r, 7, 0);
  wsrl__mlp_spec s = {.ensemble = 5, .in_dim = 11, .out_dim = 3, .n_hidden = 2, .hidden = {40, 24},
                      .layer_norm = 1, .max_batch = 33, .trainable = 1, .kernel_scale_final = 0.01f};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
  for (int mode = 0; mode < 2; mode++) {
    const int64_t B = 33, rows = mode ? 5 * B : B;
    float *x = malloc(sizeof(float) * (size_t)(rows * 11)), y[5 * 33 * 3];
    double *xd = malloc(sizeof(double) * (size_t)(rows * 11)), yd[5 * 33 * 3];
    for (int64_t i = 0; i < rows * 11; i++)
      xd[i] = x[i] = (float)wsrl__rng_normal(&r);
    ck_assert_int_eq(wsrl__mlp_forward(m, B, mode, x, y), WSRL_OK);
    nnref_mlp_forward(m, B, mode, xd, yd);
    for (int i = 0; i < 5 * 33 * 3; i++)
      ck_assert_msg(fabs(y[i] - yd[i]) < 1e-5 * (1.0 + fabs(yd[i])), "mode %d out %d: %g vs %g", mode, i, y[i],
                    yd[i]);
    free(x), free(xd);
  }
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* The last hidden layer uses kernel_scale_final, the others sqrt(2):
 * orthogonal columns have norm = gain when fan_in >= fan_out. */
START_TEST(init_gains) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__rng r;
  wsrl__rng_seed(&r, 3, 0);
  wsrl__mlp_spec s = {.ensemble = 2, .in_dim = 40, .out_dim = 1, .n_hidden = 2, .hidden = {32, 16},
                      .layer_norm = 1, .max_batch = 1, .trainable = 0, .kernel_scale_final = 0.01f};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, NULL, &r), WSRL_OK);
  const int fan_in[2] = {40, 32}, fan_out[2] = {32, 16};
  const double gain[2] = {sqrt(2.0), 0.01};
  for (int l = 0; l < 2; l++)
    for (int e = 0; e < 2; e++) {
      for (int c = 0; c < fan_out[l]; c++) {
        double nrm = 0.0, dot = 0.0;
        for (int k = 0; k < fan_in[l]; k++) {
          double w = *W(m, WSRL__MLP_W, l, e, k, c);
          nrm += w * w;
          dot += w * *W(m, WSRL__MLP_W, l, e, k, (c + 1) % fan_out[l]);
        }
        ck_assert_double_eq_tol(sqrt(nrm), gain[l], 1e-5 * gain[l]);
        ck_assert_double_eq_tol(dot, 0.0, 1e-5 * gain[l] * gain[l]);
        ck_assert_float_eq(*W(m, WSRL__MLP_B, l, e, 0, c), 0.0f);
        ck_assert_float_eq(*W(m, WSRL__MLP_LN_SCALE, l, e, 0, c), 1.0f);
      }
    }
  /* Members differ. */
  ck_assert_float_ne(*W(m, WSRL__MLP_W, 0, 0, 0, 0), *W(m, WSRL__MLP_W, 0, 1, 0, 0));
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* var_scaling (the reference IQL's init): hidden kernels uniform in
 * +-sqrt(3 scale / fan_avg), scale kernel_scale_final on the last hidden
 * layer (a variance, as flax's), 1 elsewhere; the output stays orthogonal. */
START_TEST(init_var_scaling) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__rng r;
  wsrl__rng_seed(&r, 5, 0);
  wsrl__mlp_spec s = {.ensemble = 1, .in_dim = 40, .out_dim = 1, .n_hidden = 2, .hidden = {64, 32},
                      .max_batch = 1, .trainable = 0, .kernel_scale_final = 0.01f,
                      .hidden_init = WSRL__INIT_VAR_SCALING};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, NULL, &r), WSRL_OK);
  const int fan_in[2] = {40, 64}, fan_out[2] = {64, 32};
  const double scale[2] = {1.0, 0.01};
  for (int l = 0; l < 2; l++) {
    const double limit = sqrt(3.0 * scale[l] / (0.5 * (fan_in[l] + fan_out[l])));
    double sum2 = 0.0, wmax = 0.0;
    for (int k = 0; k < fan_in[l]; k++)
      for (int c = 0; c < fan_out[l]; c++) {
        const double w = *W(m, WSRL__MLP_W, l, 0, k, c);
        sum2 += w * w;
        wmax = fabs(w) > wmax ? fabs(w) : wmax;
      }
    const double n = fan_in[l] * fan_out[l];
    ck_assert_double_le(wmax, limit);
    ck_assert_double_ge(wmax, 0.9 * limit);
    /* variance of U(-limit, limit) is limit^2 / 3; 2048+ draws: within 10 % */
    ck_assert_double_eq_tol(sum2 / n, limit * limit / 3.0, 0.1 * limit * limit / 3.0);
  }
  /* the output kernel (one column, fan_in 32) is orthogonal: norm sqrt(2) */
  double nrm = 0.0;
  for (int k = 0; k < 32; k++)
    nrm += *W(m, WSRL__MLP_W, 2, 0, k, 0) * *W(m, WSRL__MLP_W, 2, 0, k, 0);
  ck_assert_double_eq_tol(sqrt(nrm), sqrt(2.0), 1e-5);
  wsrl__mlp_destroy(m);
  s.hidden_init = 7;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, NULL, &r), WSRL_ERR_INVALID_ARGUMENT);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* ---------------------------------------------------- optimizer and Polyak */

START_TEST(adam_converges_on_quadratic) {
  enum { N = 20 };
  float p[N], g[N], m[N] = {0}, v[N] = {0}, c[N], w[N];
  wsrl__rng r;
  wsrl__rng_seed(&r, 11, 0);
  for (int i = 0; i < N; i++) {
    p[i] = (float)(3.0 * wsrl__rng_normal(&r));
    c[i] = (float)wsrl__rng_normal(&r);
    w[i] = (float)(0.1 + wsrl__rng_uniform(&r) * 10.0); /* badly scaled on purpose */
  }
  wsrl__adam_cfg cfg = {0.05f, 0.9f, 0.999f, 1e-8f, 0.0f};
  for (int64_t t = 1; t <= 3000; t++) {
    if (t == 2000)
      cfg.lr = 1e-3f;
    for (int i = 0; i < N; i++)
      g[i] = 2.0f * w[i] * (p[i] - c[i]);
    wsrl__adam_update(&cfg, t, 1.0f, p, g, m, v, N);
  }
  for (int i = 0; i < N; i++)
    ck_assert_msg(fabsf(p[i] - c[i]) < 5e-3f, "coordinate %d: %g vs minimum %g", i, p[i], c[i]);
}
END_TEST

START_TEST(learned_scalars) {
  wsrl__adam_cfg cfg = {0.05f, 0.9f, 0.999f, 1e-8f, 0.0f};
  for (int kind = 0; kind < 2; kind++) {
    wsrl__scalar s;
    ck_assert_int_eq(wsrl__scalar_init(&s, kind, 1.0, &cfg), WSRL_OK);
    ck_assert_double_eq_tol(wsrl__scalar_value(&s), 1.0, 1e-6);
    if (kind == WSRL__SCALAR_SOFTPLUS)
      ck_assert_double_eq_tol(s.p, log(exp(1.0) - 1.0), 1e-6);
    for (int i = 0; i < 2000; i++)
      wsrl__scalar_step(&s, 2.0 * (wsrl__scalar_value(&s) - 3.0));
    ck_assert_msg(fabs(wsrl__scalar_value(&s) - 3.0) < 0.05, "kind %d ends at %g", kind, wsrl__scalar_value(&s));
    ck_assert_int_eq(s.t, 2000);
    wsrl__scalar_reset_adam(&s);
    ck_assert(s.t == 0 && s.m == 0.0f && s.v == 0.0f);
  }
  wsrl__scalar s;
  ck_assert_int_eq(wsrl__scalar_init(&s, WSRL__SCALAR_SOFTPLUS, 0.0, &cfg), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("initial value");
  ck_assert_int_eq(wsrl__scalar_init(&s, 7, 1.0, &cfg), WSRL_ERR_INVALID_ARGUMENT);
}
END_TEST

static wsrl_qensemble_t *small_q(wsrl__nn_ctx *ctx, uint64_t seed, int32_t subset) {
  wsrl__rng r;
  wsrl__rng_seed(&r, seed, 0);
  wsrl__qensemble_spec qs = {.obs_dim = 3, .act_dim = 2, .ensemble = 4, .n_hidden = 2, .hidden = {16, 16},
                             .layer_norm = 1, .max_batch = 16, .subset_size = subset, .adam = ADAM};
  wsrl_qensemble_t *q = NULL;
  ck_assert_int_eq(wsrl__qensemble_create(&q, ctx, &qs, &r), WSRL_OK);
  return q;
}

START_TEST(polyak_formula) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl_qensemble_t *q = small_q(ctx, 5, 0);
  wsrl__mlp *on = wsrl__qensemble_mlp(q, WSRL__Q_ONLINE), *tg = wsrl__qensemble_mlp(q, WSRL__Q_TARGET);
  const int64_t n = wsrl__mlp_param_count(on);
  float *a = malloc(sizeof(float) * (size_t)n), *b = malloc(sizeof(float) * (size_t)n);
  float *c = malloc(sizeof(float) * (size_t)n);
  wsrl__rng r;
  wsrl__rng_seed(&r, 9, 0);
  /* Targets start equal to the critics. */
  ck_assert_int_eq(wsrl__mlp_get_params(on, a, n), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_get_params(tg, b, n), WSRL_OK);
  ck_assert_int_eq(memcmp(a, b, sizeof(float) * (size_t)n), 0);
  for (int64_t i = 0; i < n; i++) {
    a[i] = (float)wsrl__rng_normal(&r);
    b[i] = (float)wsrl__rng_normal(&r);
  }
  ck_assert_int_eq(wsrl__mlp_set_params(on, a, n), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_set_params(tg, b, n), WSRL_OK);
  wsrl__qensemble_polyak(q, 0.005f);
  ck_assert_int_eq(wsrl__mlp_get_params(tg, c, n), WSRL_OK);
  for (int64_t i = 0; i < n; i++)
    ck_assert_msg(fabs(c[i] - (0.005 * a[i] + 0.995 * b[i])) < 1e-6 * (1.0 + fabs(b[i])), "element %lld",
                  (long long)i);
  wsrl__qensemble_sync_targets(q);
  ck_assert_int_eq(wsrl__mlp_get_params(tg, c, n), WSRL_OK);
  ck_assert_int_eq(memcmp(a, c, sizeof(float) * (size_t)n), 0);
  /* tau outside [0, 1] is refused by the MLP call. */
  ck_assert_int_eq(wsrl__mlp_polyak(tg, on, 1.5f), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("tau");
  free(a), free(b), free(c);
  wsrl__qensemble_free(q);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* Clipping scales the whole gradient to the configured global norm. */
START_TEST(grad_clip_matches_scaled_gradient) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__mlp_spec s = {.ensemble = 2, .in_dim = 3, .out_dim = 1, .n_hidden = 1, .hidden = {8}, .layer_norm = 1,
                      .max_batch = 4, .trainable = 1};
  wsrl__adam_cfg clip = ADAM;
  clip.grad_clip = 0.01f;
  wsrl__mlp *m1, *m2;
  wsrl__rng r1, r2;
  wsrl__rng_seed(&r1, 4, 0);
  wsrl__rng_seed(&r2, 4, 0);
  ck_assert_int_eq(wsrl__mlp_create(&m1, ctx, &s, &clip, &r1), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_create(&m2, ctx, &s, &ADAM, &r2), WSRL_OK);
  const float x[12] = {1, 2, 3, -1, 0.5f, 2, 0, 1, -2, 3, 1, 1};
  float dy[8] = {1, -2, 3, 0.5f, -1, 2, 1, 1};
  float norm1, norm2;
  wsrl__mlp_zero_grad(m1);
  ck_assert_int_eq(wsrl__mlp_forward(m1, 4, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_backward(m1, dy, NULL, 1), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_adam_step(m1, &norm1), WSRL_OK);
  ck_assert(norm1 > 0.01f);
  /* Gradients are linear in dy: the unclipped twin gets dy scaled to the clip norm. */
  for (int i = 0; i < 8; i++)
    dy[i] *= 0.01f / norm1;
  wsrl__mlp_zero_grad(m2);
  ck_assert_int_eq(wsrl__mlp_forward(m2, 4, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_backward(m2, dy, NULL, 1), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_adam_step(m2, &norm2), WSRL_OK);
  ck_assert_float_eq_tol(norm2, 0.01f, 1e-6);
  const int64_t n = wsrl__mlp_param_count(m1);
  float *p1 = malloc(sizeof(float) * (size_t)n), *p2 = malloc(sizeof(float) * (size_t)n);
  wsrl__mlp_get_params(m1, p1, n);
  wsrl__mlp_get_params(m2, p2, n);
  for (int64_t i = 0; i < n; i++)
    ck_assert_float_eq_tol(p1[i], p2[i], 1e-6);
  free(p1), free(p2);
  wsrl__mlp_destroy(m1);
  wsrl__mlp_destroy(m2);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

START_TEST(nonfinite_gradient_skips_step) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__rng r;
  wsrl__rng_seed(&r, 2, 0);
  wsrl__mlp_spec s = {.ensemble = 1, .in_dim = 2, .out_dim = 1, .n_hidden = 1, .hidden = {4}, .max_batch = 1,
                      .trainable = 1};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
  const int64_t n = wsrl__mlp_param_count(m);
  float *before = malloc(sizeof(float) * (size_t)n), *after = malloc(sizeof(float) * (size_t)n);
  wsrl__mlp_get_params(m, before, n);
  wsrl__mlp_zero_grad(m);
  *G(m, WSRL__MLP_W, 0, 0, 1, 2) = NAN;
  float norm = 0.0f;
  ck_assert_int_eq(wsrl__mlp_adam_step(m, &norm), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("non-finite");
  ck_assert(isnan(norm));
  wsrl__mlp_get_params(m, after, n);
  ck_assert_int_eq(memcmp(before, after, sizeof(float) * (size_t)n), 0);
  ck_assert_int_eq(*wsrl__mlp_adam_t(m), 0);
  free(before), free(after);
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* The gradient norm and the clipped Adam step share one parallel region
 * (wsrl__adam_steps_clipped): every thread count gives the same norm, the
 * same parameters and the same skip of a non-finite step. 182 K parameters
 * are 12 blocks, spread unevenly over 8 threads. */
START_TEST(clipped_step_same_bits_any_threads) {
  enum { E = 10, B = 16, IN = 7 };
  static const int32_t counts[] = {1, 2, 8};
  wsrl__adam_cfg clip = ADAM;
  clip.grad_clip = 0.5f;
  float *params[3], norms[3][2];
  int64_t n = 0;
  for (int t = 0; t < 3; t++) {
    wsrl__nn_ctx *ctx = make_ctx(counts[t]);
    wsrl__rng r;
    wsrl__rng_seed(&r, 5, 0);
    wsrl__mlp_spec s = {.ensemble = E, .in_dim = IN, .out_dim = 1, .n_hidden = 2, .hidden = {128, 128},
                        .layer_norm = 1, .max_batch = B, .trainable = 1};
    wsrl__mlp *m;
    ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &clip, &r), WSRL_OK);
    n = wsrl__mlp_param_count(m);
    float x[B * IN], dy[E * B];
    wsrl__rng_fill_normal(&r, x, B * IN);
    wsrl__rng_fill_normal(&r, dy, E * B);
    for (int step = 0; step < 2; step++) {
      wsrl__mlp_zero_grad(m);
      ck_assert_int_eq(wsrl__mlp_forward(m, B, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK);
      if (step == 0) { /* the norm against a plain double sum of the gradients */
        float *g = malloc(sizeof(float) * (size_t)n);
        ck_assert_int_eq(wsrl__mlp_get_grads(m, g, n), WSRL_OK);
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++)
          ss += (double)g[i] * g[i];
        free(g);
        ck_assert_int_eq(wsrl__mlp_adam_step(m, &norms[t][step]), WSRL_OK);
        ck_assert_double_eq_tol(norms[t][step], sqrt(ss), 1e-6 * sqrt(ss));
        ck_assert(norms[t][step] > clip.grad_clip); /* clipping is active */
      } else {
        ck_assert_int_eq(wsrl__mlp_adam_step(m, &norms[t][step]), WSRL_OK);
      }
    }
    params[t] = malloc(sizeof(float) * (size_t)n);
    ck_assert_int_eq(wsrl__mlp_get_params(m, params[t], n), WSRL_OK);
    /* A non-finite gradient: nothing changes, at any thread count. */
    wsrl__mlp_zero_grad(m);
    ck_assert_int_eq(wsrl__mlp_forward(m, B, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
    ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK);
    *G(m, WSRL__MLP_W, 1, E - 1, 3, 5) = INFINITY;
    float bad = 0.0f, *after = malloc(sizeof(float) * (size_t)n);
    ck_assert_int_eq(wsrl__mlp_adam_step(m, &bad), WSRL_ERR_NON_FINITE);
    ck_assert(!isfinite(bad));
    ck_assert_int_eq(wsrl__mlp_get_params(m, after, n), WSRL_OK);
    ck_assert_int_eq(memcmp(after, params[t], sizeof(float) * (size_t)n), 0);
    ck_assert_int_eq(*wsrl__mlp_adam_t(m), 2);
    free(after);
    wsrl__mlp_destroy(m);
    wsrl__nn_ctx_destroy(ctx);
  }
  for (int t = 1; t < 3; t++) {
    ck_assert_msg(memcmp(norms[0], norms[t], sizeof norms[0]) == 0, "gradient norms differ (%d threads)", counts[t]);
    ck_assert_msg(memcmp(params[0], params[t], sizeof(float) * (size_t)n) == 0, "parameters differ (%d threads)",
                  counts[t]);
  }
  for (int t = 0; t < 3; t++)
    free(params[t]);
}
END_TEST

/* wsrl__mlp_adam_steps: two networks' steps in one region give the bits of
 * the two separate calls, each with its own norm, clip and skip (at 1 and
 * 4 threads); argument errors change nothing. */
START_TEST(joint_steps_match_separate) {
  enum { B = 8, IN = 4 };
  for (int threads = 1; threads <= 4; threads += 3) {
    wsrl__nn_ctx *ctx = make_ctx(threads);
    wsrl__adam_cfg clip = ADAM;
    clip.grad_clip = 0.05f;
    wsrl__mlp_spec sa = {.ensemble = 4, .in_dim = IN, .out_dim = 1, .n_hidden = 2, .hidden = {96, 96},
                         .layer_norm = 1, .max_batch = B, .trainable = 1};
    wsrl__mlp_spec sb = {.ensemble = 1, .in_dim = IN, .out_dim = 3, .n_hidden = 1, .hidden = {40}, .max_batch = B,
                         .trainable = 1};
    wsrl__mlp *net[2][2], *tgt[2]; /* [joint or separate][a or b] */
    for (int k = 0; k < 2; k++) {
      wsrl__rng r;
      wsrl__rng_seed(&r, 12, 0);
      ck_assert_int_eq(wsrl__mlp_create(&net[k][0], ctx, &sa, &clip, &r), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_create(&net[k][1], ctx, &sb, &ADAM, &r), WSRL_OK);
      sa.trainable = 0;
      ck_assert_int_eq(wsrl__mlp_create(&tgt[k], ctx, &sa, NULL, &r), WSRL_OK);
      sa.trainable = 1;
    }
    float x[B * IN], dy[4 * B * 3];
    wsrl__rng r;
    wsrl__rng_seed(&r, 3, 0);
    wsrl__rng_fill_normal(&r, x, B * IN);
    wsrl__rng_fill_normal(&r, dy, 4 * B * 3);
    for (int round = 0; round < 3; round++) { /* round 2: b's gradient is not finite */
      for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++) {
          wsrl__mlp_zero_grad(net[k][j]);
          ck_assert_int_eq(wsrl__mlp_forward(net[k][j], B, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
          ck_assert_int_eq(wsrl__mlp_backward(net[k][j], dy, NULL, 1), WSRL_OK);
          if (round == 2 && j == 1)
            *G(net[k][j], WSRL__MLP_W, 0, 0, 1, 2) = NAN;
        }
      wsrl__mlp_step st[2] = {{net[0][0], tgt[0], 0.3f, 0.0, 0.0f, 1.0f, WSRL_OK},
                              {net[0][1], NULL, 0.0f, 0.25, 0.0f, 1.0f, WSRL_OK}};
      const wsrl_status_t rc = wsrl__mlp_adam_steps(st, 2);
      float na, nb, scale;
      const wsrl_status_t ra = wsrl__mlp_adam_step_polyak(net[1][0], tgt[1], 0.3f, &na);
      const wsrl_status_t rb = wsrl__mlp_adam_step_ext(net[1][1], 0.25, &nb, &scale);
      ck_assert_int_eq(ra, WSRL_OK);
      ck_assert_int_eq(st[0].status, ra);
      ck_assert_int_eq(st[1].status, rb);
      ck_assert_int_eq(rc, round == 2 ? WSRL_ERR_NON_FINITE : WSRL_OK);
      ck_assert_int_eq(rb, round == 2 ? WSRL_ERR_NON_FINITE : WSRL_OK);
      ck_assert(memcmp(&st[0].grad_norm, &na, sizeof na) == 0);
      ck_assert(round == 2 || memcmp(&st[1].grad_norm, &nb, sizeof nb) == 0);
      ck_assert(round == 2 || st[1].scale == scale);
      ck_assert(st[0].scale < 1.0f); /* a's clip is active */
      wsrl_clear_error();
      for (int j = 0; j < 3; j++) {
        wsrl__mlp *p = j < 2 ? net[0][j] : tgt[0], *q = j < 2 ? net[1][j] : tgt[1];
        const int64_t n = wsrl__mlp_param_count(p);
        float *u = malloc(sizeof(float) * (size_t)n), *w = malloc(sizeof(float) * (size_t)n);
        ck_assert_int_eq(wsrl__mlp_get_params(p, u, n), WSRL_OK);
        ck_assert_int_eq(wsrl__mlp_get_params(q, w, n), WSRL_OK);
        ck_assert_msg(memcmp(u, w, sizeof(float) * (size_t)n) == 0, "round %d, %d threads: net %d differs", round,
                      threads, j);
        free(u), free(w);
      }
      ck_assert_int_eq(*wsrl__mlp_adam_t(net[0][1]), *wsrl__mlp_adam_t(net[1][1]));
    }
    wsrl__mlp_step twice[2] = {{net[0][0], NULL, 0.0f, 0.0, 0.0f, 1.0f, WSRL_OK},
                               {net[0][0], NULL, 0.0f, 0.0, 0.0f, 1.0f, WSRL_OK}};
    ck_assert_int_eq(wsrl__mlp_adam_steps(twice, 2), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("one network");
    ck_assert_int_eq(wsrl__mlp_adam_steps(twice, 0), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("count");
    twice[1].m = tgt[0];
    ck_assert_int_eq(wsrl__mlp_adam_steps(twice, 2), WSRL_ERR_WRONG_STATE);
    ck_assert(twice[0].status != WSRL_OK && twice[1].status != WSRL_OK); /* neither ran */
    for (int k = 0; k < 2; k++)
      wsrl__mlp_destroy(net[k][0]), wsrl__mlp_destroy(net[k][1]), wsrl__mlp_destroy(tgt[k]);
    wsrl__nn_ctx_destroy(ctx);
  }
}
END_TEST

/* ------------------------------------------------------------------ policy */

static wsrl__policy *known_policy(wsrl__nn_ctx *ctx, int32_t std_param, int32_t tanh_squash) {
  wsrl__rng r;
  wsrl__rng_seed(&r, 8, 0);
  wsrl__policy_spec s = {.obs_dim = 3, .act_dim = 2, .n_hidden = 1, .hidden = {4}, .layer_norm = 1,
                         .std_param = std_param, .tanh_squash = tanh_squash, .std_min = 1e-5f, .std_max = 10.0f,
                         .max_batch = 2, .max_samples = 2, .adam = ADAM};
  wsrl__policy *p;
  ck_assert_int_eq(wsrl__policy_create(&p, ctx, &s, &r), WSRL_OK);
  /* Output kernel zero: the heads equal their biases, whatever the state. */
  wsrl__mlp *m = wsrl__policy_mlp(p);
  const int D = std_param == WSRL__STD_EXP ? 4 : 2;
  const float bias[4] = {0.3f, -0.2f, -0.5f, 5.0f}; /* mean, then log-std (exp(5) clips to 10) */
  for (int n = 0; n < D; n++) {
    for (int k = 0; k < 4; k++)
      *W(m, WSRL__MLP_W, 1, 0, k, n) = 0.0f;
    *W(m, WSRL__MLP_B, 1, 0, 0, n) = bias[n];
  }
  if (std_param == WSRL__STD_UNIFORM) {
    const int64_t np = wsrl__policy_param_count(p);
    float *flat = malloc(sizeof(float) * (size_t)np);
    wsrl__policy_get_params(p, flat, np);
    flat[np - 2] = -0.5f;
    flat[np - 1] = 5.0f;
    wsrl__policy_set_params(p, flat, np);
    free(flat);
  }
  return p;
}

START_TEST(policy_closed_forms) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  const float obs[6] = {0.1f, -2.0f, 3.0f, 1.0f, 1.0f, 1.0f};
  const double mean[2] = {0.3, -0.2}, sd[2] = {exp(-0.5), 10.0};
  for (int variant = 0; variant < 4; variant++) {
    const int32_t std_param = variant & 1 ? WSRL__STD_UNIFORM : WSRL__STD_EXP, squash = variant & 2 ? 0 : 1;
    wsrl__policy *p = known_policy(ctx, std_param, squash);
    ck_assert_int_eq(wsrl__policy_forward(p, 2, obs), WSRL_OK);
    for (int i = 0; i < 4; i++) {
      ck_assert_float_eq_tol(wsrl__policy_mean(p)[i], mean[i % 2], 1e-6);
      ck_assert_float_eq_tol(wsrl__policy_std(p)[i], sd[i % 2], 1e-6);
    }
    float a[8], lp[4], mode[4];
    const float eps[8] = {1.0f, -1.0f, 0.5f, 2.0f, 0.0f, 0.0f, -3.0f, 0.1f};
    ck_assert_int_eq(wsrl__policy_sample(p, 2, eps, a, lp), WSRL_OK);
    for (int i = 0; i < 4; i++) {
      double want = 0.0;
      for (int k = 0; k < 2; k++) {
        const double u = mean[k] + sd[k] * eps[i * 2 + k];
        ck_assert_double_eq_tol(a[i * 2 + k], squash ? tanh(u) : u, 1e-5);
        want += -0.5 * eps[i * 2 + k] * eps[i * 2 + k] - log(sd[k]) - 0.5 * log(2.0 * 3.14159265358979323846);
        if (squash) /* log(1 - tanh^2 u) = log 4 - 2|u| - 2 log(1 + e^{-2|u|}) */
          want -= log(4.0) - 2.0 * fabs(u) - 2.0 * log1p(exp(-2.0 * fabs(u)));
      }
      ck_assert_msg(fabs(lp[i] - want) < 1e-4 * (1.0 + fabs(want)), "variant %d row %d: %g vs %g", variant, i,
                    lp[i], want);
    }
    ck_assert_int_eq(wsrl__policy_mode(p, mode), WSRL_OK);
    for (int i = 0; i < 4; i++)
      ck_assert_float_eq_tol(mode[i], squash ? tanh(mean[i % 2]) : mean[i % 2], 1e-6);
    /* The clipped std (log-std 5 -> std 10) passes no gradient. */
    const float dlogp[4] = {1, 1, 1, 1};
    wsrl__policy_zero_grad(p);
    ck_assert_int_eq(wsrl__policy_backward_sample(p, NULL, dlogp), WSRL_OK);
    const int64_t np = wsrl__policy_param_count(p);
    float *g = malloc(sizeof(float) * (size_t)np);
    ck_assert_int_eq(wsrl__policy_get_grads(p, g, np), WSRL_OK);
    if (std_param == WSRL__STD_UNIFORM) {
      ck_assert_float_eq(g[np - 1], 0.0f);
      ck_assert_float_ne(g[np - 2], 0.0f);
    } else {
      ck_assert_float_eq(*G(wsrl__policy_mlp(p), WSRL__MLP_B, 1, 0, 0, 3), 0.0f);
      ck_assert_float_ne(*G(wsrl__policy_mlp(p), WSRL__MLP_B, 1, 0, 0, 2), 0.0f);
    }
    free(g);
    /* log_prob of given actions (the AWR path). */
    const float given[4] = {0.5f, -0.25f, -0.9f, 0.0f};
    ck_assert_int_eq(wsrl__policy_log_prob(p, given, lp), WSRL_OK);
    for (int b = 0; b < 2; b++) {
      double want = 0.0;
      for (int k = 0; k < 2; k++) {
        const double u = squash ? atanh((double)given[b * 2 + k]) : given[b * 2 + k];
        const double z = (u - mean[k]) / sd[k];
        want += -0.5 * z * z - log(sd[k]) - 0.5 * log(2.0 * 3.14159265358979323846);
        if (squash)
          want -= log(1.0 - tanh(u) * tanh(u));
      }
      ck_assert_msg(fabs(lp[b] - want) < 1e-4 * (1.0 + fabs(want)), "log_prob variant %d: %g vs %g", variant,
                    lp[b], want);
    }
    /* Backward of the wrong kind is refused. */
    ck_assert_int_eq(wsrl__policy_backward_sample(p, NULL, dlogp), WSRL_ERR_WRONG_STATE);
    wsrl__policy_destroy(p);
  }
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* A policy big enough that its per-row loops fork at 4 threads (an odd
 * action size: tasks must start on a Box-Muller pair). */
static wsrl__policy *rows_policy(wsrl__nn_ctx *ctx, int32_t std_param) {
  wsrl__rng r;
  wsrl__rng_seed(&r, 11, 0);
  wsrl__policy_spec s = {.obs_dim = 4, .act_dim = 3, .n_hidden = 1, .hidden = {16}, .layer_norm = 1,
                         .std_param = std_param, .tanh_squash = 1, .std_min = 1e-5f, .std_max = 10.0f,
                         .max_batch = 301, .max_samples = 2, .adam = ADAM, .kernel_scale_final = 1.0f};
  wsrl__policy *p;
  ck_assert_int_eq(wsrl__policy_create(&p, ctx, &s, &r), WSRL_OK);
  return p;
}

/* Sampling, its noise and the backward split across threads: the bits of
 * one thread drawing the noise with wsrl__rng_fill_normal first, the same
 * draws taken from the stream, for both std parameterizations, one and two
 * samples per row (903 values: the last normal is a pair's first). */
START_TEST(policy_rows_in_parallel_match_serial) {
  enum { B = 301, A = 3, R = B * 2 };
  static float obs[B * 4], eps[R * A], a[3][R * A], lp[3][R], da[R * A], dlp[R], given[B * A];
  wsrl__rng r;
  wsrl__rng_seed(&r, 4, 0);
  wsrl__rng_fill_normal(&r, obs, B * 4);
  wsrl__rng_fill_uniform(&r, da, R * A, -1, 1);
  wsrl__rng_fill_uniform(&r, dlp, R, -1, 1);
  wsrl__rng_fill_uniform(&r, given, B * A, -0.9f, 0.9f);
  for (int32_t std_param = WSRL__STD_EXP; std_param <= WSRL__STD_UNIFORM; std_param++) {
    const int32_t N = std_param == WSRL__STD_EXP ? 1 : 2;
    /* run 0: 1 thread, given noise; 1: 4 threads, the same; 2: noise from
     * the rng in the forward's region on 2 threads (row blocks of 151 and
     * 150 rows: with one sample per row the first block ends inside a
     * Box-Muller pair). */
    float *g[3][2];
    wsrl__rng after[3];
    int64_t np = 0;
    for (int run = 0; run < 3; run++) {
      wsrl__nn_ctx *ctx = make_ctx(run == 0 ? 1 : run == 1 ? 4 : 2);
      wsrl__policy *p = rows_policy(ctx, std_param);
      np = wsrl__policy_param_count(p);
      wsrl__rng noise;
      wsrl__rng_seed(&noise, 9, 2);
      if (run < 2)
        ck_assert_int_eq(wsrl__policy_forward(p, B, obs), WSRL_OK);
      if (run < 2) {
        wsrl__rng_fill_normal(&noise, eps, (size_t)(B * N * A));
        ck_assert_int_eq(wsrl__policy_sample(p, N, eps, a[run], lp[run]), WSRL_OK);
      } else {
        ck_assert_int_eq(wsrl__policy_forward_sample_rng(p, B, obs, N, &noise, a[run], lp[run]), WSRL_OK);
      }
      after[run] = noise;
      wsrl__policy_zero_grad(p);
      ck_assert_int_eq(wsrl__policy_backward_sample(p, da, dlp), WSRL_OK);
      g[run][0] = malloc(sizeof(float) * (size_t)np);
      ck_assert_int_eq(wsrl__policy_get_grads(p, g[run][0], np), WSRL_OK);
      /* the log-probability backward shares the per-row loop */
      ck_assert_int_eq(wsrl__policy_log_prob(p, given, lp[run]), WSRL_OK);
      wsrl__policy_zero_grad(p);
      ck_assert_int_eq(wsrl__policy_backward_log_prob(p, dlp), WSRL_OK);
      g[run][1] = malloc(sizeof(float) * (size_t)np);
      ck_assert_int_eq(wsrl__policy_get_grads(p, g[run][1], np), WSRL_OK);
      wsrl__policy_destroy(p);
      wsrl__nn_ctx_destroy(ctx);
    }
    for (int run = 1; run < 3; run++) {
      ck_assert_mem_eq(after[0].s, after[run].s, sizeof after[0].s);
      ck_assert_mem_eq(a[0], a[run], sizeof(float) * (size_t)(B * N * A));
      ck_assert_mem_eq(lp[0], lp[run], sizeof(float) * B);
      for (int k = 0; k < 2; k++)
        ck_assert_msg(memcmp(g[0][k], g[run][k], sizeof(float) * (size_t)np) == 0,
                      "policy gradients (%s backward, std %d) differ from 1 thread's (run %d)",
                      k ? "log-prob" : "sample", std_param, run);
    }
    for (int run = 0; run < 3; run++)
      free(g[run][0]), free(g[run][1]);
  }
}
END_TEST

START_TEST(policy_errors_and_blobs) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__policy *p = known_policy(ctx, WSRL__STD_UNIFORM, 1);
  float a[4], lp[2];
  const float eps[4] = {0};
  ck_assert_int_eq(wsrl__policy_sample(p, 1, eps, a, lp), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("forward");
  const float obs[6] = {0};
  ck_assert_int_eq(wsrl__policy_forward(p, 3, obs), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("batch");
  ck_assert_int_eq(wsrl__policy_forward(p, 2, obs), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_sample(p, 3, eps, a, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("max_samples");
  ck_assert_int_eq(wsrl__policy_sample(p, 1, NULL, a, lp), WSRL_ERR_INVALID_ARGUMENT);
  /* forward + sample: the same checks, and a failed call leaves no forward */
  wsrl__rng nr;
  wsrl__rng_seed(&nr, 1, 0);
  ck_assert_int_eq(wsrl__policy_forward_sample_rng(p, 2, obs, 3, &nr, a, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("max_samples");
  ck_assert_int_eq(wsrl__policy_forward_sample_rng(p, 3, obs, 1, &nr, a, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("batch");
  ck_assert_int_eq(wsrl__policy_forward_sample_rng(p, 2, obs, 1, NULL, a, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl__policy_forward_sample_rng(p, 2, obs, 1, &nr, NULL, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl__policy_forward(p, 2, obs), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_forward_sample_rng(p, 3, obs, 1, &nr, a, lp), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl__policy_sample(p, 1, eps, a, lp), WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(wsrl__policy_forward_sample_rng(p, 2, obs, 1, &nr, a, lp), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_blob_count(p), 6);
  wsrl__nn_blob b;
  ck_assert_int_eq(wsrl__policy_blob(p, 3, &b), WSRL_OK);
  ck_assert_str_eq(b.name, "log_std");
  ck_assert_int_eq(b.count, 2);
  ck_assert_float_eq(b.data[1], 5.0f);
  ck_assert_int_eq(wsrl__policy_blob(p, 6, &b), WSRL_ERR_INVALID_ARGUMENT);
  wsrl__policy_spec bad = *wsrl__policy_get_spec(p);
  bad.std_min = 0.0f;
  wsrl__policy *q;
  wsrl__rng r;
  wsrl__rng_seed(&r, 1, 0);
  ck_assert_int_eq(wsrl__policy_create(&q, ctx, &bad, &r), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(q);
  ck_assert_msg_has("std bounds");
  wsrl__policy_destroy(p);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* -------------------------------------------------------- Q-ensemble, cache */

/* Gaussian observations and uniform unit actions from a seeded stream. */
static void random_inputs(uint64_t seed, float *obs, size_t n_obs, float *act, size_t n_act) {
  wsrl__rng r;
  wsrl__rng_seed(&r, seed, 0);
  wsrl__rng_fill_normal(&r, obs, n_obs);
  wsrl__rng_fill_uniform(&r, act, n_act, -1, 1);
}

START_TEST(subset_forward_matches_full) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl_qensemble_t *q = small_q(ctx, 12, 3);
  float obs[5 * 3], act[10 * 2], full[4 * 10], sub[3 * 10];
  random_inputs(4, obs, 15, act, 20);
  /* Make the target differ from the online critics first. */
  wsrl__mlp *tg = wsrl__qensemble_mlp(q, WSRL__Q_TARGET);
  *W(tg, WSRL__MLP_B, 2, 1, 0, 0) = 0.75f;
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_TARGET, 10, obs, 2, act, full), WSRL_OK);
  const int32_t members[3] = {1, 3, 1};
  ck_assert_int_eq(wsrl__qensemble_forward_target_subset(q, 10, obs, 2, act, members, 3, sub), WSRL_OK);
  for (int j = 0; j < 3; j++)
    for (int b = 0; b < 10; b++)
      ck_assert_float_eq_tol(sub[j * 10 + b], full[members[j] * 10 + b], 1e-5);
  float mn[10];
  int32_t arg[10];
  wsrl__qensemble_min(full, 4, 10, members, 3, mn, arg);
  for (int b = 0; b < 10; b++) {
    ck_assert(arg[b] == 1 || arg[b] == 3);
    ck_assert_float_eq(mn[b], fminf(full[10 + b], full[30 + b]));
  }
  ck_assert_int_eq(wsrl__qensemble_forward_target_subset(q, 10, obs, 2, act, members, 4, sub),
                   WSRL_ERR_INVALID_ARGUMENT);
  const int32_t outside[3] = {1, 4, 1};
  ck_assert_int_eq(wsrl__qensemble_forward_target_subset(q, 10, obs, 2, act, outside, 3, sub),
                   WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("members[1] = 4");
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, 10, obs, 3, act, full), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_repeat");
  wsrl__qensemble_free(q);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* In bf16 the target-subset copy takes the target's rounded weights along
 * (no rounding pass): the subset's outputs are those of copying the fp32
 * weights and rounding them, for two draws in a row (the first layer's
 * per-member copy must follow), with the copy split across 2 threads. */
START_TEST(subset_copy_carries_bf16_weights) {
  wsrl__nn_ctx *ctx = make_ctx(2);
  if (wsrl__nn_ctx_set_precision(ctx, WSRL__NN_BF16) != WSRL_OK) {
    printf("subset_copy_carries_bf16_weights: skipped (no AVX-512 on this CPU)\n");
    wsrl_clear_error();
    wsrl__nn_ctx_destroy(ctx);
    return;
  }
  enum { B = 32, E = 4, K = 3 };
  wsrl__rng r;
  wsrl__rng_seed(&r, 21, 0);
  wsrl__qensemble_spec qs = {.obs_dim = 3, .act_dim = 2, .ensemble = E, .n_hidden = 2, .hidden = {128, 128},
                             .layer_norm = 1, .max_batch = B, .subset_size = K, .adam = ADAM};
  wsrl_qensemble_t *q = NULL;
  ck_assert_int_eq(wsrl__qensemble_create(&q, ctx, &qs, &r), WSRL_OK);
  float obs[B * 3], act[B * 2], out[E * B], dq[E * B], fast[K * B], ref[K * B];
  random_inputs(6, obs, B * 3, act, B * 2);
  /* One fused critic step: the optimizer's pass writes the targets' bf16 weights. */
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, B, obs, 1, act, out), WSRL_OK);
  for (int i = 0; i < E * B; i++)
    dq[i] = out[i] - 0.5f;
  wsrl__qensemble_zero_grad(q);
  wsrl__mlp_step st = {wsrl__qensemble_mlp(q, WSRL__Q_ONLINE), wsrl__qensemble_mlp(q, WSRL__Q_TARGET), 0.5f, 0.0, 0.0f,
                       1.0f, WSRL_OK};
  ck_assert_int_eq(wsrl__mlp_backward_steps(st.m, dq, &st, 1), WSRL_OK);
  static const int32_t draws[2][K] = {{0, 2, 3}, {1, 3, 1}};
  wsrl__mlp *tg = wsrl__qensemble_mlp(q, WSRL__Q_TARGET);
  for (int d = 0; d < 2; d++) {
    if (d > 0) /* the target's forward rounds its weights again after the reference below */
      ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_TARGET, B, obs, 1, act, out), WSRL_OK);
    ck_assert_int_eq(wsrl__qensemble_forward_target_subset(q, B, obs, 1, act, draws[d], K, fast), WSRL_OK);
    wsrl__mlp_params_written(tg); /* as after a set_params: the copy takes fp32 only */
    ck_assert_int_eq(wsrl__qensemble_forward_target_subset(q, B, obs, 1, act, draws[d], K, ref), WSRL_OK);
    ck_assert_msg(memcmp(fast, ref, sizeof fast) == 0, "draw %d: the subset's outputs differ with the copied bf16 "
                  "weights", d);
  }
  wsrl__qensemble_free(q);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* A forward of dst with the members of src copied in by its team (a
 * forward group of one, as the Q-ensemble's target subset runs). */
static wsrl_status_t forward_copy(wsrl__mlp *dst, const wsrl__mlp *src, const int32_t *members, int32_t k,
                                  int64_t batch, const float *x, float *y_out) {
  const wsrl__mlp_fwd f = {.m = dst, .batch = batch, .x = x, .copy_src = src, .members = members, .k = k};
  const wsrl_status_t rc = wsrl__mlp_forward_group(&f, 1);
  if (rc == WSRL_OK)
    memcpy(y_out, wsrl__mlp_output(dst), sizeof(float) * (size_t)(wsrl__mlp_get_spec(dst)->ensemble * batch));
  return rc;
}

/* A forward group's member copy (run by the forward's team before
 * its rows) gives the bits of wsrl__mlp_copy_members then a forward, at 1,
 * 2 and 8 threads, for whole and partial copies; in bf16 with the rounded
 * weights copied along and the first layer's per-member copy refreshed
 * after them. */
START_TEST(forward_copy_matches_copy_then_forward) {
  const int bf16 = _i;
  enum { B = 40, IN = 5, E = 6, K = 3 };
  static const int32_t counts[] = {1, 2, 8};
  static const int32_t draws[3][K] = {{0, 2, 5}, {4, 1, 1}, {3, 3, 0}};
  static const int32_t ks[3] = {K, K, 2};
  for (int t = 0; t < 3; t++) {
    wsrl__nn_ctx *ctx = make_ctx_prec(counts[t], bf16);
    if (ctx == NULL) { /* no bf16 on this CPU */
      ck_assert_int_eq(t, 0);
      return;
    }
    wsrl__rng r;
    wsrl__rng_seed(&r, 31, 0);
    wsrl__mlp_spec s = {.ensemble = E, .in_dim = IN, .out_dim = 1, .n_hidden = 2, .hidden = {64, 64},
                        .layer_norm = 1, .max_batch = B, .trainable = 0};
    wsrl__mlp *src, *a, *b;
    ck_assert_int_eq(wsrl__mlp_create(&src, ctx, &s, NULL, &r), WSRL_OK);
    s.ensemble = K;
    ck_assert_int_eq(wsrl__mlp_create(&a, ctx, &s, NULL, &r), WSRL_OK);
    ck_assert_int_eq(wsrl__mlp_create(&b, ctx, &s, NULL, &r), WSRL_OK);
    float x[B * IN], ya[K * B], yb[K * B], ys[E * B];
    wsrl__rng_fill_normal(&r, x, B * IN);
    ck_assert_int_eq(wsrl__mlp_forward(src, B, WSRL__MLP_SHARED, x, ys), WSRL_OK); /* src's bf16 weights current */
    for (int d = 0; d < 3; d++) {
      memset(ya, 0, sizeof ya), memset(yb, 0, sizeof yb);
      ck_assert_int_eq(wsrl__mlp_copy_members(a, src, draws[d], ks[d]), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_forward(a, B, WSRL__MLP_SHARED, x, ya), WSRL_OK);
      ck_assert_int_eq(forward_copy(b, src, draws[d], ks[d], B, x, yb), WSRL_OK);
      ck_assert_msg(memcmp(ya, yb, sizeof ya) == 0, "draw %d: outputs differ (%d threads, %s)", d, counts[t],
                    bf16 ? "bf16" : "fp32");
      for (int j = 0; j < ks[d]; j++) /* the copied members compute what their source does */
        ck_assert_msg(memcmp(yb + j * B, ys + draws[d][j] * B, sizeof(float) * B) == 0,
                      "draw %d: member %d differs from source member %d", d, j, draws[d][j]);
    }
    const int32_t bad[K] = {0, E, 1};
    ck_assert_int_eq(forward_copy(b, src, bad, K, B, x, yb), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("members[1]");
    wsrl__mlp_destroy(src), wsrl__mlp_destroy(a), wsrl__mlp_destroy(b);
    wsrl__nn_ctx_destroy(ctx);
  }
}
END_TEST

/* A forward group (wsrl__mlp_forward_group) of a single net with a rows
 * hook, a trainable ensemble, and (after them) a copied member subset whose
 * input the hook's output feeds, must give each net's bits of the same
 * forwards run one after the other, and leave each net's cache for its
 * backward. At 8 threads the subset's input is loaded on the team: without
 * the barrier before it, it reads the hook's rows before they are written. */
typedef struct group_io {
  const float *out; /* the single net's output [B, OUT] */
  float *h;         /* what the hook wrote [B, OUT] */
  const float *x;   /* [B, IN] */
  float *in;        /* the subset's input rows */
  int64_t ld;
} group_io;

enum { G_B = 96, G_IN = 5, G_OUT = 3, G_E = 6, G_K = 2 };

static void group_hook(const void *job, int64_t r0, int64_t r1) {
  const group_io *g = job;
  for (int64_t r = r0; r < r1; r++)
    for (int k = 0; k < G_OUT; k++)
      g->h[r * G_OUT + k] = 0.5f * g->out[r * G_OUT + k];
}

static void group_load(const void *job, int64_t r0, int64_t r1) {
  const group_io *g = job;
  for (int64_t r = r0; r < r1; r++) {
    memcpy(g->in + r * g->ld, g->x + r * G_IN, sizeof(float) * G_IN);
    memcpy(g->in + r * g->ld + G_IN, g->h + r * G_OUT, sizeof(float) * G_OUT);
  }
}

START_TEST(forward_group_matches_separate) {
  const int bf16 = _i;
  enum { IN2 = G_IN + G_OUT };
  static const int32_t counts[] = {1, 2, 8};
  static const int32_t members[G_K] = {4, 1};
  for (int t = 0; t < 3; t++) {
    wsrl__nn_ctx *ctx = make_ctx_prec(counts[t], bf16);
    if (ctx == NULL) { /* no bf16 on this CPU */
      ck_assert_int_eq(t, 0);
      return;
    }
    wsrl__rng r;
    wsrl__rng_seed(&r, 41, 0);
    wsrl__mlp_spec ps = {.ensemble = 1, .in_dim = G_IN, .out_dim = G_OUT, .n_hidden = 2, .hidden = {64, 48},
                         .layer_norm = 1, .max_batch = G_B, .trainable = 1};
    wsrl__mlp_spec qs = {.ensemble = G_E, .in_dim = IN2, .out_dim = 1, .n_hidden = 2, .hidden = {64, 64},
                         .layer_norm = 1, .max_batch = G_B, .trainable = 1};
    wsrl__mlp *p, *q, *tgt, *sub;
    ck_assert_int_eq(wsrl__mlp_create(&p, ctx, &ps, &ADAM, &r), WSRL_OK);
    ck_assert_int_eq(wsrl__mlp_create(&q, ctx, &qs, &ADAM, &r), WSRL_OK);
    qs.trainable = 0;
    ck_assert_int_eq(wsrl__mlp_create(&tgt, ctx, &qs, NULL, &r), WSRL_OK);
    qs.ensemble = G_K;
    ck_assert_int_eq(wsrl__mlp_create(&sub, ctx, &qs, NULL, &r), WSRL_OK);
    float x[G_B * G_IN], xq[G_B * IN2], dy[G_E * G_B], h[G_B * G_OUT];
    wsrl__rng_fill_normal(&r, x, G_B * G_IN);
    wsrl__rng_fill_normal(&r, xq, G_B * IN2);
    wsrl__rng_fill_normal(&r, dy, G_E * G_B);
    group_io io = {wsrl__mlp_output(p), h, x, NULL, 0};
    io.in = wsrl__mlp_input(sub, G_B, WSRL__MLP_SHARED, &io.ld);
    const int64_t n_par = wsrl__mlp_param_count(q);
    float *want[4], *got[4];
    const size_t sizes[4] = {G_B * G_OUT, G_E * G_B, G_K * G_B, (size_t)n_par};
    for (int k = 0; k < 4; k++)
      want[k] = malloc(sizeof(float) * sizes[k]), got[k] = malloc(sizeof(float) * sizes[k]);
    /* One after the other. */
    memset(h, 0, sizeof h);
    ck_assert_int_eq(wsrl__mlp_forward_then(p, G_B, x, group_hook, &io), WSRL_OK);
    ck_assert_int_eq(wsrl__mlp_forward(q, G_B, WSRL__MLP_SHARED, xq, want[1]), WSRL_OK);
    group_load(&io, 0, G_B);
    ck_assert_int_eq(forward_copy(sub, tgt, members, G_K, G_B, NULL, want[2]), WSRL_OK);
    memcpy(want[0], h, sizeof h);
    wsrl__mlp_zero_grad(q);
    ck_assert_int_eq(wsrl__mlp_backward(q, dy, NULL, 1), WSRL_OK);
    ck_assert_int_eq(wsrl__mlp_get_grads(q, want[3], n_par), WSRL_OK);
    /* As a group, twice (the second on warm slots). */
    for (int rep = 0; rep < 2; rep++) {
      memset(h, 0, sizeof h);
      memset(io.in, 0, sizeof(float) * (size_t)(G_B * io.ld));
      const wsrl__mlp_fwd f[3] = {
          {.m = p, .batch = G_B, .x = x, .then = group_hook, .then_job = &io},
          {.m = q, .batch = G_B, .x = xq},
          {.m = sub, .batch = G_B, .load = group_load, .load_job = &io, .copy_src = tgt, .members = members,
           .k = G_K, .after = 1}};
      ck_assert_int_eq(wsrl__mlp_forward_group(f, 3), WSRL_OK);
      memcpy(got[0], h, sizeof h);
      memcpy(got[1], wsrl__mlp_output(q), sizeof(float) * sizes[1]);
      memcpy(got[2], wsrl__mlp_output(sub), sizeof(float) * sizes[2]);
      wsrl__mlp_zero_grad(q);
      ck_assert_int_eq(wsrl__mlp_backward(q, dy, NULL, 1), WSRL_OK); /* the group's forward is q's last */
      ck_assert_int_eq(wsrl__mlp_get_grads(q, got[3], n_par), WSRL_OK);
      static const char *const what[4] = {"hook rows", "ensemble outputs", "subset outputs", "gradients"};
      for (int k = 0; k < 4; k++)
        ck_assert_msg(memcmp(want[k], got[k], sizeof(float) * sizes[k]) == 0, "%s differ (%d threads, %s, run %d)",
                      what[k], counts[t], bf16 ? "bf16" : "fp32", rep);
    }
    /* Errors: nothing run, each net left without a forward to backpropagate. */
    const wsrl__mlp_fwd same[2] = {{.m = q, .batch = G_B, .x = xq}, {.m = q, .batch = G_B, .x = xq}};
    ck_assert_int_eq(wsrl__mlp_forward_group(same, 2), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("same net");
    ck_assert_int_eq(wsrl__mlp_forward_group(same, 0), WSRL_ERR_INVALID_ARGUMENT);
    const wsrl__mlp_fwd big[2] = {{.m = q, .batch = G_B, .x = xq}, {.m = p, .batch = G_B + 1, .x = x}};
    ck_assert_int_eq(wsrl__mlp_forward_group(big, 2), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("max_batch");
    const wsrl__mlp_fwd hook[1] = {{.m = q, .batch = G_B, .x = xq, .then = group_hook, .then_job = &io}};
    ck_assert_int_eq(wsrl__mlp_forward_group(hook, 1), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("one-member");
    wsrl__nn_ctx *other = make_ctx(1);
    wsrl__mlp *o;
    ps.max_batch = G_B;
    ck_assert_int_eq(wsrl__mlp_create(&o, other, &ps, &ADAM, &r), WSRL_OK);
    const wsrl__mlp_fwd two[2] = {{.m = q, .batch = G_B, .x = xq}, {.m = o, .batch = G_B, .x = x}};
    ck_assert_int_eq(wsrl__mlp_forward_group(two, 2), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg_has("one context");
    wsrl__mlp_destroy(o);
    wsrl__nn_ctx_destroy(other);
    for (int k = 0; k < 4; k++)
      free(want[k]), free(got[k]);
    wsrl__mlp_destroy(p), wsrl__mlp_destroy(q), wsrl__mlp_destroy(tgt), wsrl__mlp_destroy(sub);
    wsrl__nn_ctx_destroy(ctx);
  }
}
END_TEST

/* More distinct batch sizes than cache slots: evicted shapes are rebuilt
 * and give the same numbers. */
START_TEST(shape_cache_eviction) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl_qensemble_t *q = small_q(ctx, 3, 0);
  float obs[16 * 3], act[16 * 2], first[4 * 16], again[4 * 16];
  random_inputs(5, obs, 48, act, 32);
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, 16, obs, 1, act, first), WSRL_OK);
  for (int64_t b = 1; b <= 15; b++)
    ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, b, obs, 1, act, again), WSRL_OK);
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, 16, obs, 1, act, again), WSRL_OK);
  ck_assert_int_eq(memcmp(first, again, sizeof first), 0);
  /* A row's value does not depend on the batch it is in (beyond rounding). */
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, 5, obs, 1, act, again), WSRL_OK);
  for (int e = 0; e < 4; e++)
    for (int b = 0; b < 5; b++)
      ck_assert_float_eq_tol(again[e * 5 + b], first[e * 16 + b], 1e-5);
  wsrl__qensemble_free(q);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* Public predictions reuse an already-built larger shape (padding rows)
 * rather than building, and maybe evicting, shapes of a lent ensemble. */
START_TEST(predict_reuses_prepared_shape) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl_qensemble_t *q = small_q(ctx, 6, 0);
  ck_assert_int_eq(wsrl__qensemble_prepare(q, 16), WSRL_OK);
  float obs[5 * 3], act[5 * 2], small[4 * 5], full[4 * 16];
  random_inputs(8, obs, 15, act, 10);
  ck_assert_int_eq(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_ONLINE, 5, obs, act, small), WSRL_OK);
  wsrl__mlp *on = wsrl__qensemble_mlp(q, WSRL__Q_ONLINE);
  ck_assert_int_eq(wsrl__mlp_cached_batch(on, 5, WSRL__MLP_SHARED), 16);
  ck_assert_int_eq(wsrl__mlp_cached_batch(on, 17, WSRL__MLP_SHARED), 0);
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, 5, obs, 1, act, full), WSRL_OK);
  for (int i = 0; i < 4 * 5; i++)
    ck_assert_float_eq_tol(small[i], full[i], 1e-5);
  wsrl__qensemble_free(q);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* ---- counting allocator: after prepare, updates allocate nothing ---- */
static long n_allocs;
static void *count_alloc(void *u, size_t n) { (void)u, n_allocs++; return malloc(n); }
static void *count_realloc(void *u, void *p, size_t n) { (void)u, n_allocs++; return realloc(p, n); }
static void count_free(void *u, void *p) { (void)u, free(p); }

/* sac_update's critic step: Adam then Polyak, or the fused single pass. */
static int fused_critic_step;

/* A SAC-shaped update: target, online forward/backward, Adam, Polyak, actor. */
static void sac_update(wsrl_qensemble_t *q, wsrl__policy *p, wsrl__rng *r, int64_t B) {
  float obs[32 * 3], act[32 * 2], eps[32 * 2], a2[32 * 2], lp[32], qv[4 * 32], dq[4 * 32], mn[32], da[32 * 2];
  float dlp[32];
  int32_t arg[32], members[2];
  wsrl__rng_fill_normal(r, obs, (size_t)(B * 3));
  wsrl__rng_fill_uniform(r, act, (size_t)(B * 2), -1, 1);
  wsrl__rng_fill_normal(r, eps, (size_t)(B * 2));
  ck_assert_int_eq(wsrl__policy_forward(p, B, obs), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_sample(p, 1, eps, a2, lp), WSRL_OK);
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_TARGET, B, obs, 1, a2, qv), WSRL_OK);
  wsrl__qensemble_draw_subset(r, 4, 2, members);
  wsrl__qensemble_min(qv, 4, B, members, 2, mn, NULL);
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, B, obs, 1, act, qv), WSRL_OK);
  for (int e = 0; e < 4; e++)
    for (int b = 0; b < B; b++)
      dq[e * B + b] = 2.0f * (qv[e * B + b] - (0.1f + 0.99f * mn[b])) / (float)(4 * B);
  wsrl__qensemble_zero_grad(q);
  if (fused_critic_step) { /* as the agents: the backward, then Adam with Polyak in one pass */
    wsrl__mlp_step st = {wsrl__qensemble_mlp(q, WSRL__Q_ONLINE), wsrl__qensemble_mlp(q, WSRL__Q_TARGET), 0.005f, 0.0,
                         0.0f, 1.0f, WSRL_OK};
    ck_assert_int_eq(wsrl__mlp_backward_steps(st.m, dq, &st, 1), WSRL_OK);
  } else {
    ck_assert_int_eq(wsrl__qensemble_backward(q, dq, NULL, 1), WSRL_OK);
    ck_assert_int_eq(wsrl__qensemble_adam_step(q, NULL), WSRL_OK);
    wsrl__qensemble_polyak(q, 0.005f);
  }
  ck_assert_int_eq(wsrl__policy_forward(p, B, obs), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_sample(p, 1, eps, a2, lp), WSRL_OK);
  ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, B, obs, 1, a2, qv), WSRL_OK);
  wsrl__qensemble_min(qv, 4, B, NULL, 0, mn, arg);
  memset(dq, 0, sizeof dq);
  for (int b = 0; b < B; b++) {
    dq[arg[b] * B + b] = -1.0f / (float)B;
    dlp[b] = 0.1f / (float)B;
  }
  ck_assert_int_eq(wsrl__qensemble_backward(q, dq, da, 0), WSRL_OK);
  wsrl__policy_zero_grad(p);
  ck_assert_int_eq(wsrl__policy_backward_sample(p, da, dlp), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_adam_step(p, NULL), WSRL_OK);
}

/* Matmul precision of the learners make_learner creates. */
static int32_t learner_precision = WSRL__NN_FP32;

static void make_learner(int32_t threads, wsrl__nn_ctx **ctx, wsrl_qensemble_t **q, wsrl__policy **p,
                         const wsrl__alloc *alloc) {
  wsrl__alloc a;
  if (alloc != NULL)
    a = *alloc;
  else
    wsrl__alloc_resolve(&a, NULL);
  ck_assert_int_eq(wsrl__nn_ctx_create(ctx, &a, threads), WSRL_OK);
  ck_assert_int_eq(wsrl__nn_ctx_set_precision(*ctx, learner_precision), WSRL_OK);
  wsrl__rng r;
  wsrl__rng_seed(&r, 77, 0);
  wsrl__qensemble_spec qs = {.obs_dim = 3, .act_dim = 2, .ensemble = 4, .n_hidden = 2, .hidden = {32, 32},
                             .layer_norm = 1, .max_batch = 32, .adam = ADAM, .kernel_scale_final = 0.01f};
  ck_assert_int_eq(wsrl__qensemble_create(q, *ctx, &qs, &r), WSRL_OK);
  wsrl__policy_spec ps = {.obs_dim = 3, .act_dim = 2, .n_hidden = 2, .hidden = {32, 32}, .layer_norm = 1,
                          .std_param = WSRL__STD_EXP, .tanh_squash = 1, .std_min = 1e-5f, .std_max = 10.0f,
                          .max_batch = 32, .max_samples = 1, .adam = ADAM};
  ck_assert_int_eq(wsrl__policy_create(p, *ctx, &ps, &r), WSRL_OK);
}

static void learner_params(wsrl_qensemble_t *q, wsrl__policy *p, float **out, int64_t *n) {
  const int64_t nq = wsrl__mlp_param_count(wsrl__qensemble_mlp(q, WSRL__Q_ONLINE));
  const int64_t np = wsrl__policy_param_count(p);
  *n = 2 * nq + np;
  *out = malloc(sizeof(float) * (size_t)*n);
  wsrl__mlp_get_params(wsrl__qensemble_mlp(q, WSRL__Q_ONLINE), *out, nq);
  wsrl__mlp_get_params(wsrl__qensemble_mlp(q, WSRL__Q_TARGET), *out + nq, nq);
  wsrl__policy_get_params(p, *out + 2 * nq, np);
}

START_TEST(deterministic_updates) {
  /* Same seed and thread count: bitwise-equal parameters after N updates. */
  float *params[2];
  int64_t n[2];
  static const int32_t counts[] = {1, 2, 8, 16}; /* 8, 16: oversubscribed on small machines */
  const int32_t threads = counts[_i];
  for (int run = 0; run < 2; run++) {
    wsrl__nn_ctx *ctx;
    wsrl_qensemble_t *q;
    wsrl__policy *p;
    make_learner(threads, &ctx, &q, &p, NULL);
    wsrl__rng r;
    wsrl__rng_seed(&r, 123, 0);
    for (int i = 0; i < 5; i++)
      sac_update(q, p, &r, i % 2 ? 32 : 24);
    learner_params(q, p, &params[run], &n[run]);
    wsrl__qensemble_free(q);
    wsrl__policy_destroy(p);
    wsrl__nn_ctx_destroy(ctx);
  }
  ck_assert_int_eq(n[0], n[1]);
  ck_assert_msg(memcmp(params[0], params[1], sizeof(float) * (size_t)n[0]) == 0,
                "parameters differ between two identical runs with %d thread(s)", threads);
  free(params[0]), free(params[1]);
}
END_TEST

/* Net i of a backward_steps_match_separate case: the trained net, its
 * forward-only target (same weights) and another trained one-member net
 * whose step joins (the policy's idle step beside the critics'). */
typedef struct bs_nets {
  wsrl__mlp *m, *target, *other;
} bs_nets;

static bs_nets bs_make(wsrl__nn_ctx *ctx, const wsrl__mlp_spec *spec) {
  bs_nets n;
  wsrl__rng r, rt;
  wsrl__rng_seed(&r, 31, 0);
  rt = r;
  wsrl__mlp_spec ts = *spec, os = {.ensemble = 1, .in_dim = 5, .out_dim = 2, .n_hidden = 1, .hidden = {32},
                                   .layer_norm = 1, .max_batch = 16, .trainable = 1};
  ts.trainable = 0;
  ck_assert_int_eq(wsrl__mlp_create(&n.m, ctx, spec, &ADAM, &r), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_create(&n.target, ctx, &ts, NULL, &rt), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_create(&n.other, ctx, &os, &ADAM, &r), WSRL_OK);
  return n;
}

/* All parameters of the three nets, in one new array of *count floats. */
static float *bs_params(const bs_nets *n, int64_t *count) {
  const wsrl__mlp *nets[3] = {n->m, n->target, n->other};
  int64_t total = 0;
  for (int i = 0; i < 3; i++)
    total += wsrl__mlp_param_count(nets[i]);
  float *p = malloc(sizeof(float) * (size_t)total), *at = p;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(wsrl__mlp_get_params(nets[i], at, wsrl__mlp_param_count(nets[i])), WSRL_OK);
    at += wsrl__mlp_param_count(nets[i]);
  }
  *count = total;
  return p;
}

/* wsrl__mlp_backward_steps gives the bits of the backward then the steps
 * (the critic's with Polyak, another net's beside it), on every backward
 * path: members in parallel (2 threads), split into column and row blocks
 * (4 and 16), a one-member net's row blocks, the serial one (1 thread); a
 * non-finite gradient skips the step in both, the target still averaged. */
START_TEST(backward_steps_match_separate) {
  const int bf16 = _i;
  static const int32_t counts[] = {1, 2, 4, 16};
  const wsrl__mlp_spec specs[2] = {
      {.ensemble = 10, .in_dim = 7, .out_dim = 1, .n_hidden = 2, .hidden = {64, 48}, .layer_norm = 1,
       .max_batch = 96, .trainable = 1},
      {.ensemble = 1, .in_dim = 7, .out_dim = 3, .n_hidden = 2, .hidden = {64, 48}, .layer_norm = 1,
       .max_batch = 128, .trainable = 1}};
  for (int t = 0; t < 4; t++)
    for (int c = 0; c < 2; c++) {
      const wsrl__mlp_spec *spec = &specs[c];
      const int64_t B = spec->max_batch, n_out = spec->ensemble * B * spec->out_dim;
      float *x = malloc(sizeof(float) * (size_t)(B * 7)), *dy = malloc(sizeof(float) * (size_t)n_out);
      float ox[16 * 5], ody[16 * 2];
      float *res[2];
      int64_t n_res = 0;
      wsrl__nn_ctx *ctx = NULL;
      for (int merged = 0; merged < 2; merged++) {
        ctx = make_ctx_prec(counts[t], bf16);
        if (ctx == NULL) { /* no bf16 on this CPU */
          free(x), free(dy);
          return;
        }
        bs_nets n = bs_make(ctx, spec);
        wsrl__rng r;
        wsrl__rng_seed(&r, 8, 0);
        for (int it = 0; it < 4; it++) {
          wsrl__rng_fill_normal(&r, x, (size_t)(B * 7));
          wsrl__rng_fill_normal(&r, dy, (size_t)n_out);
          wsrl__rng_fill_normal(&r, ox, 16 * 5);
          wsrl__rng_fill_normal(&r, ody, 16 * 2);
          if (it == 3) /* the last: the trained net's step is skipped */
            dy[n_out / 2] = NAN;
          wsrl__mlp_zero_grad(n.other);
          ck_assert_int_eq(wsrl__mlp_forward(n.other, 16, WSRL__MLP_SHARED, ox, NULL), WSRL_OK);
          ck_assert_int_eq(wsrl__mlp_backward(n.other, ody, NULL, 1), WSRL_OK);
          ck_assert_int_eq(wsrl__mlp_forward(n.m, B, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
          wsrl__mlp_zero_grad(n.m);
          wsrl__mlp_step st[2] = {{n.m, n.target, 0.05f, 0.0, 0.0f, 1.0f, WSRL_OK},
                                  {n.other, NULL, 0.0f, 0.0, 0.0f, 1.0f, WSRL_OK}};
          wsrl_status_t rc;
          if (merged) {
            rc = wsrl__mlp_backward_steps(n.m, dy, st, 2);
          } else {
            ck_assert_int_eq(wsrl__mlp_backward(n.m, dy, NULL, 1), WSRL_OK);
            rc = wsrl__mlp_adam_steps(st, 2);
          }
          ck_assert_int_eq(rc, it == 3 ? WSRL_ERR_NON_FINITE : WSRL_OK);
          ck_assert_int_eq(st[0].status, it == 3 ? WSRL_ERR_NON_FINITE : WSRL_OK);
          ck_assert_int_eq(st[1].status, WSRL_OK);
        }
        res[merged] = bs_params(&n, &n_res);
        wsrl__mlp_destroy(n.m), wsrl__mlp_destroy(n.target), wsrl__mlp_destroy(n.other);
        wsrl__nn_ctx_destroy(ctx);
      }
      ck_assert_msg(memcmp(res[0], res[1], sizeof(float) * (size_t)n_res) == 0,
                    "backward with steps differs from backward then steps (%d threads, %s, %s)", counts[t],
                    c ? "one-member net" : "ensemble", bf16 ? "bf16" : "fp32");
      if (t == 1 && c == 0) { /* bad arguments: a status naming them, nothing run */
        wsrl__nn_ctx *c1 = make_ctx_prec(counts[t], bf16), *c2 = make_ctx_prec(counts[t], bf16);
        bs_nets n = bs_make(c1, spec), o = bs_make(c2, spec);
        ck_assert_int_eq(wsrl__mlp_forward(n.m, B, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
        wsrl__mlp_step st = {n.m, n.target, 0.05f, 0.0, 0.0f, 1.0f, WSRL_OK};
        ck_assert_int_eq(wsrl__mlp_backward_steps(n.m, NULL, &st, 1), WSRL_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(wsrl__mlp_backward_steps(n.m, dy, NULL, 1), WSRL_ERR_INVALID_ARGUMENT);
        ck_assert_int_eq(wsrl__mlp_backward_steps(n.m, dy, &st, 0), WSRL_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "count"));
        wsrl__mlp_step other = {o.other, NULL, 0.0f, 0.0, 0.0f, 1.0f, WSRL_OK};
        ck_assert_int_eq(wsrl__mlp_backward_steps(n.m, dy, &other, 1), WSRL_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "context"));
        ck_assert_int_eq(other.status, WSRL_ERR_INVALID_ARGUMENT); /* not run */
        int64_t n0, n1;
        float *p0 = bs_params(&n, &n0);
        ck_assert_int_eq(wsrl__mlp_backward_steps(n.m, dy, &st, 1), WSRL_ERR_NON_FINITE); /* dy holds a NaN */
        float *p1 = bs_params(&n, &n1);
        ck_assert_msg(memcmp(p0, p1, sizeof(float) * (size_t)(n0 - wsrl__mlp_param_count(n.other) -
                                                                wsrl__mlp_param_count(n.target))) == 0,
                      "a skipped step changed the trained net");
        free(p0), free(p1);
        wsrl__mlp_destroy(n.m), wsrl__mlp_destroy(n.target), wsrl__mlp_destroy(n.other);
        wsrl__mlp_destroy(o.m), wsrl__mlp_destroy(o.target), wsrl__mlp_destroy(o.other);
        wsrl__nn_ctx_destroy(c1), wsrl__nn_ctx_destroy(c2);
      }
      free(res[0]), free(res[1]), free(x), free(dy);
    }
}
END_TEST

/* The fused Adam + Polyak pass gives the bits of the two separate passes
 * (fp32 and bf16), and in bf16 the rounded weights it writes are those a
 * fresh forward rounds (a copy whose weights were set from outside). */
START_TEST(adam_polyak_fused_matches_separate) {
  learner_precision = _i ? WSRL__NN_BF16 : WSRL__NN_FP32;
  wsrl__nn_ctx *probe = make_ctx(1);
  const int bf16_ok = wsrl__nn_ctx_set_precision(probe, WSRL__NN_BF16) == WSRL_OK;
  wsrl_clear_error();
  wsrl__nn_ctx_destroy(probe);
  if (_i && !bf16_ok) {
    printf("adam_polyak_fused_matches_separate: bf16 skipped (no AVX-512 on this CPU)\n");
    learner_precision = WSRL__NN_FP32;
    return;
  }
  float *params[2], *out[3];
  int64_t n[2];
  wsrl__nn_ctx *ctx[3];
  wsrl_qensemble_t *q[3];
  wsrl__policy *p[3];
  float obs[32 * 3], act[32 * 2];
  wsrl__rng r;
  wsrl__rng_seed(&r, 5, 0);
  wsrl__rng_fill_normal(&r, obs, 32 * 3);
  wsrl__rng_fill_uniform(&r, act, 32 * 2, -1, 1);
  for (int run = 0; run < 3; run++) {
    make_learner(1, &ctx[run], &q[run], &p[run], NULL);
    wsrl__rng_seed(&r, 123, 0);
    fused_critic_step = run == 1;
    for (int i = 0; i < 4 && run < 2; i++)
      sac_update(q[run], p[run], &r, 32);
    if (run < 2)
      learner_params(q[run], p[run], &params[run], &n[run]);
  }
  fused_critic_step = 0;
  for (int which = 0; which < 2; which++) { /* run 2: run 1's weights, set from outside */
    const int32_t w = which ? WSRL__Q_TARGET : WSRL__Q_ONLINE;
    const int64_t nq = wsrl__mlp_param_count(wsrl__qensemble_mlp(q[1], w));
    ck_assert_int_eq(wsrl__mlp_set_params(wsrl__qensemble_mlp(q[2], w), params[1] + which * nq, nq), WSRL_OK);
  }
  ck_assert_int_eq(n[0], n[1]);
  ck_assert_msg(memcmp(params[0], params[1], sizeof(float) * (size_t)n[0]) == 0,
                "fused Adam + Polyak differs from the separate passes (%s)", _i ? "bf16" : "fp32");
  for (int which = 0; which < 2; which++) {
    for (int run = 0; run < 3; run++) {
      out[run] = malloc(sizeof(float) * 4 * 32);
      ck_assert_int_eq(wsrl__qensemble_forward(q[run], which ? WSRL__Q_TARGET : WSRL__Q_ONLINE, 32, obs, 1, act,
                                               out[run]),
                       WSRL_OK);
    }
    ck_assert_msg(memcmp(out[0], out[1], sizeof(float) * 4 * 32) == 0, "outputs differ (which %d)", which);
    ck_assert_msg(memcmp(out[1], out[2], sizeof(float) * 4 * 32) == 0,
                  "the fused pass's rounded weights are stale (which %d)", which);
    for (int run = 0; run < 3; run++)
      free(out[run]);
  }
  for (int run = 0; run < 3; run++) {
    wsrl__qensemble_free(q[run]);
    wsrl__policy_destroy(p[run]);
    wsrl__nn_ctx_destroy(ctx[run]);
  }
  free(params[0]), free(params[1]);
  learner_precision = WSRL__NN_FP32;
}
END_TEST

/* With 2 threads an ensemble runs its members in parallel (one thread
 * each); with 16 threads (more than its 10 members) its forward also
 * splits each member's rows into blocks. The numbers must be the same bits
 * as with 1 thread: outputs, parameter gradients and input gradients, both
 * input modes, trainable and forward-only (outputs) networks. */
/* zero_grad() is deferred (each member's backward task zeroes its own
 * slices): gradients read after it are 0 by every route, a backward after
 * it gives the gradients of that backward alone, and a second backward
 * without it adds. */
START_TEST(zero_grad_deferred) {
  enum { E = 3, B = 40 };
  wsrl__nn_ctx *ctx = make_ctx(2);
  wsrl__rng r;
  wsrl__rng_seed(&r, 5, 0);
  wsrl__mlp_spec s = {.ensemble = E, .in_dim = 5, .out_dim = 1, .n_hidden = 2, .hidden = {32, 16},
                      .layer_norm = 1, .max_batch = B, .trainable = 1};
  wsrl__mlp *m;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
  const int64_t n = wsrl__mlp_param_count(m);
  float x[B * 5], dy[E * B];
  wsrl__rng_fill_normal(&r, x, B * 5);
  wsrl__rng_fill_normal(&r, dy, E * B);
  float *once = malloc(sizeof(float) * (size_t)n), *got = malloc(sizeof(float) * (size_t)n);
  ck_assert_int_eq(wsrl__mlp_forward(m, B, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, once, n), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK); /* adds: 2x */
  ck_assert_int_eq(wsrl__mlp_get_grads(m, got, n), WSRL_OK);
  for (int64_t i = 0; i < n; i++)
    ck_assert_float_eq(got[i], once[i] + once[i]);
  wsrl__mlp_zero_grad(m);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, got, n), WSRL_OK);
  for (int64_t i = 0; i < n; i++)
    ck_assert_float_eq(got[i], 0.0f);
  ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_get_grads(m, got, n), WSRL_OK);
  ck_assert_int_eq(memcmp(got, once, sizeof(float) * (size_t)n), 0);
  wsrl__mlp_zero_grad(m);
  ck_assert_float_eq(*wsrl__mlp_elem(m, WSRL__MLP_GRAD, WSRL__MLP_W, 1, 2, 3, 4), 0.0f);
  ck_assert_float_eq(*wsrl__mlp_elem(m, WSRL__MLP_GRAD, WSRL__MLP_LN_SCALE, 0, 1, 0, 7), 0.0f);
  free(once), free(got);
  wsrl__mlp_destroy(m);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

START_TEST(members_in_parallel_match_serial) {
  const int32_t mode = _i & 1, bf16 = _i >> 1; /* bf16: where the CPU has it */
  enum { E = 10 };
  static const int32_t counts[] = {1, 2, 8, 16}; /* 8, 16: oversubscribed on small machines */
  /* 600 rows (CQL's critics see thousands): the weight gradients sum row
   * chunks, whose column blocks give the bits of the whole. */
  static const int64_t batches[] = {70, 600};
  for (int bi = 0; bi < 2; bi++) {
    const int64_t B = batches[bi];
    /* g: a forward-only pair of members (the drawn target subset) on 255
     * rows: at 8 and 16 threads its rows split into 4 and 7 blocks, the last
     * one shorter. */
    enum { GB = 255 };
    /* res[t][5]: parameter gradients without the input gradient, which at
     * 16 threads (more than the 10 members) run split into column and row
     * blocks (slot.bsplits). */
    float *res[4][6];
    int64_t n_out = 0, n_par = 0, n_dx = 0;
    for (int t = 0; t < 4; t++) {
      wsrl__nn_ctx *ctx = make_ctx_prec(counts[t], bf16);
      if (ctx == NULL) { /* no bf16 on this CPU */
        ck_assert_int_eq(t, 0);
        return;
      }
      wsrl__rng r;
      wsrl__rng_seed(&r, 21, 0);
      wsrl__mlp_spec s = {.ensemble = E, .in_dim = 7, .out_dim = 1, .n_hidden = 2, .hidden = {64, 48},
                          .layer_norm = 1, .max_batch = B, .trainable = 1};
      if (t == 1) {
        /* A single network of the same layer shapes first builds oneDNN
         * primitives split across 2 threads; the members' one-thread
         * primitives must not be confused with them (oneDNN's cache keys on
         * the thread count). */
        wsrl__mlp_spec one = s;
        one.ensemble = 1;
        wsrl__mlp *m1;
        wsrl__rng r1;
        wsrl__rng_seed(&r1, 1, 0);
        ck_assert_int_eq(wsrl__mlp_create(&m1, ctx, &one, &ADAM, &r1), WSRL_OK);
        ck_assert_int_eq(wsrl__mlp_prepare(m1, 40, WSRL__MLP_SHARED), WSRL_OK);
        wsrl__mlp_destroy(m1);
      }
      wsrl__mlp *m, *f;
      wsrl__rng rf = r;
      ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
      wsrl__mlp_spec fs = s;
      fs.trainable = 0;
      ck_assert_int_eq(wsrl__mlp_create(&f, ctx, &fs, NULL, &rf), WSRL_OK); /* same weights */
      const int64_t rows = mode ? E * B : B;
      n_out = E * B, n_par = wsrl__mlp_param_count(m), n_dx = rows * 7;
      float *x = malloc(sizeof(float) * (size_t)n_dx), *dy = malloc(sizeof(float) * (size_t)n_out);
      wsrl__rng_fill_normal(&r, x, (size_t)n_dx);
      wsrl__rng_fill_normal(&r, dy, (size_t)n_out);
      res[t][0] = malloc(sizeof(float) * (size_t)n_out);
      res[t][1] = malloc(sizeof(float) * (size_t)n_par);
      res[t][2] = malloc(sizeof(float) * (size_t)n_dx);
      res[t][3] = malloc(sizeof(float) * (size_t)n_out);
      /* Without the input gradient first: nothing the other path leaves in
       * the shared buffers can stand in for what the split path writes. */
      res[t][5] = malloc(sizeof(float) * (size_t)n_par);
      ck_assert_int_eq(wsrl__mlp_forward(m, B, mode, x, NULL), WSRL_OK);
      wsrl__mlp_zero_grad(m);
      ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_get_grads(m, res[t][5], n_par), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_forward(m, B, mode, x, res[t][0]), WSRL_OK);
      wsrl__mlp_zero_grad(m);
      ck_assert_int_eq(wsrl__mlp_backward(m, dy, res[t][2], 1), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_get_grads(m, res[t][1], n_par), WSRL_OK);
      ck_assert_msg(memcmp(res[t][1], res[t][5], sizeof(float) * (size_t)n_par) == 0,
                    "parameter gradients differ without the input gradient (%d threads)", counts[t]);
      ck_assert_int_eq(wsrl__mlp_forward(f, B, mode, x, res[t][3]), WSRL_OK);
      wsrl__mlp *g;
      wsrl__mlp_spec gs = fs;
      gs.ensemble = 2, gs.max_batch = GB;
      ck_assert_int_eq(wsrl__mlp_create(&g, ctx, &gs, NULL, &r), WSRL_OK);
      float *gx = malloc(sizeof(float) * 2 * GB * 7);
      wsrl__rng_fill_normal(&r, gx, 2 * GB * 7);
      res[t][4] = malloc(sizeof(float) * 2 * GB);
      ck_assert_int_eq(wsrl__mlp_forward(g, GB, mode, gx, res[t][4]), WSRL_OK);
      free(x), free(dy), free(gx);
      wsrl__mlp_destroy(m);
      wsrl__mlp_destroy(f);
      wsrl__mlp_destroy(g);
      wsrl__nn_ctx_destroy(ctx);
    }
    for (int t = 1; t < 4; t++) {
      ck_assert_msg(memcmp(res[0][0], res[t][0], sizeof(float) * (size_t)n_out) == 0, "outputs differ (%d threads)",
                    counts[t]);
      ck_assert_msg(memcmp(res[0][1], res[t][1], sizeof(float) * (size_t)n_par) == 0,
                    "parameter gradients differ (%d threads)", counts[t]);
      ck_assert_msg(memcmp(res[0][2], res[t][2], sizeof(float) * (size_t)n_dx) == 0,
                    "input gradients differ (%d threads)", counts[t]);
      ck_assert_msg(memcmp(res[0][3], res[t][3], sizeof(float) * (size_t)n_out) == 0,
                    "forward-only outputs differ (%d threads)", counts[t]);
      ck_assert_msg(memcmp(res[0][4], res[t][4], sizeof(float) * 2 * GB) == 0,
                    "two-member forward-only outputs differ (%d threads)", counts[t]);
    }
    ck_assert_msg(memcmp(res[0][0], res[0][3], sizeof(float) * (size_t)n_out) == 0, "forward-only net differs");
    for (int t = 0; t < 4; t++)
      for (int k = 0; k < 6; k++)
        free(res[t][k]);
  }
}
END_TEST

/* A trainable single net (the actor) runs its forward as row blocks on
 * the team (mlp.row_team) and its backward as their counterpart (column
 * blocks of dW, row blocks of dX, the LayerNorm kernel's row chunks; one
 * region, slot.rsplits): outputs, parameter and input gradients must be the
 * bits of one thread, for a matmul output (5 units) and the fused head (1).
 * 255 rows: a shorter last forward block (2 blocks at 2 threads, 7 at 8
 * and 16) and whole dW / dX tasks; 256: 4 and 8 blocks of each at 8 and 16
 * threads; 1000: weight gradients summed in row chunks, the last shorter
 * (without the chunks the column blocks' sums give other bits). The input
 * gradient takes the primitives split across the threads. */
START_TEST(single_net_row_blocks_match_serial) {
  const int32_t out = _i & 1 ? 1 : 5, bf16 = _i >> 1;
  enum { IN = 7, MAXB = 1000 };
  static const int32_t counts[] = {1, 2, 8, 16};
  static const int64_t batches[] = {255, 256, 1000};
  for (int bi = 0; bi < 3; bi++) {
    const int64_t B = batches[bi];
    float *res[4][4];
    int64_t n_out = 0, n_par = 0;
    for (int t = 0; t < 4; t++) {
      wsrl__nn_ctx *ctx = make_ctx_prec(counts[t], bf16);
      if (ctx == NULL) { /* no bf16 on this CPU */
        ck_assert_int_eq(t, 0);
        return;
      }
      wsrl__rng r;
      wsrl__rng_seed(&r, 23, 0);
      wsrl__mlp_spec s = {.ensemble = 1, .in_dim = IN, .out_dim = out, .n_hidden = 2, .hidden = {64, 48},
                          .layer_norm = 1, .max_batch = MAXB, .trainable = 1};
      wsrl__mlp *m;
      ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
      n_out = B * out, n_par = wsrl__mlp_param_count(m);
      float *x = malloc(sizeof(float) * (size_t)(B * IN)), *dy = malloc(sizeof(float) * (size_t)n_out);
      wsrl__rng_fill_normal(&r, x, (size_t)(B * IN));
      wsrl__rng_fill_normal(&r, dy, (size_t)n_out);
      for (int k = 0; k < 4; k++)
        res[t][k] = malloc(sizeof(float) * (size_t)(k == 0 ? n_out : k == 2 ? B * IN : n_par));
      ck_assert_int_eq(wsrl__mlp_forward(m, B, WSRL__MLP_SHARED, x, res[t][0]), WSRL_OK);
      wsrl__mlp_zero_grad(m);
      ck_assert_int_eq(wsrl__mlp_backward(m, dy, res[t][2], 1), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_get_grads(m, res[t][1], n_par), WSRL_OK);
      /* Parameter gradients alone (the row backward), added twice: the
       * second adds onto the first without zeroing. */
      ck_assert_int_eq(wsrl__mlp_forward(m, B, WSRL__MLP_SHARED, x, NULL), WSRL_OK);
      wsrl__mlp_zero_grad(m);
      ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_get_grads(m, res[t][3], n_par), WSRL_OK);
      ck_assert_msg(memcmp(res[t][1], res[t][3], sizeof(float) * (size_t)n_par) == 0,
                    "parameter gradients differ without the input gradient (%d threads, %lld rows)", counts[t],
                    (long long)B);
      ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_OK);
      ck_assert_int_eq(wsrl__mlp_get_grads(m, res[t][3], n_par), WSRL_OK);
      free(x), free(dy);
      wsrl__mlp_destroy(m);
      wsrl__nn_ctx_destroy(ctx);
    }
    for (int t = 1; t < 4; t++) {
      ck_assert_msg(memcmp(res[0][0], res[t][0], sizeof(float) * (size_t)n_out) == 0,
                    "outputs differ (%d threads, %lld rows)", counts[t], (long long)B);
      ck_assert_msg(memcmp(res[0][1], res[t][1], sizeof(float) * (size_t)n_par) == 0,
                    "parameter gradients differ (%d threads, %lld rows)", counts[t], (long long)B);
      ck_assert_msg(memcmp(res[0][2], res[t][2], sizeof(float) * (size_t)(B * IN)) == 0,
                    "input gradients differ (%d threads, %lld rows)", counts[t], (long long)B);
      ck_assert_msg(memcmp(res[0][3], res[t][3], sizeof(float) * (size_t)n_par) == 0,
                    "twice-added parameter gradients differ (%d threads, %lld rows)", counts[t], (long long)B);
    }
    for (int t = 0; t < 4; t++)
      for (int k = 0; k < 4; k++)
        free(res[t][k]);
  }
}
END_TEST

/* Without LayerNorm the ReLU rides on the forward matmul (oneDNN post-op)
 * and writes the next layer's input directly (in bf16 mode, for a
 * forward-only net, in bf16). A forward-only copy must give the trainable
 * net's bits (fp32: both use the post-op; bf16: the trainable net's
 * kernel rounds what the forward-only net's matmul rounds), and the
 * trainable net must match the double reference (gradcheck covers its
 * gradients). Heads: a matmul output (out 3) and the fused unit (out 1). */
START_TEST(relu_post_op_matches_kernel) {
  const int bf16 = _i >> 1;
  const int32_t out = _i & 1 ? 1 : 3;
  enum { E = 3, IN = 5, B = 37 };
  wsrl__nn_ctx *ctx = make_ctx(1);
  if (bf16 && wsrl__nn_ctx_set_precision(ctx, WSRL__NN_BF16) != WSRL_OK) {
    printf("relu_post_op_matches_kernel: bf16 skipped: %s\n", wsrl_last_error_message());
    wsrl__nn_ctx_destroy(ctx);
    return;
  }
  wsrl__rng r, rf;
  wsrl__rng_seed(&r, 8, 0);
  rf = r;
  wsrl__mlp_spec s = {.ensemble = E, .in_dim = IN, .out_dim = out, .n_hidden = 3, .hidden = {32, 24, 16},
                      .layer_norm = 0, .max_batch = B, .trainable = 1};
  wsrl__mlp *m, *f;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
  s.trainable = 0;
  ck_assert_int_eq(wsrl__mlp_create(&f, ctx, &s, NULL, &rf), WSRL_OK);
  float x[B * IN], ym[E * B * 3], yf[E * B * 3];
  wsrl__rng_fill_normal(&r, x, B * IN);
  ck_assert_int_eq(wsrl__mlp_forward(m, B, WSRL__MLP_SHARED, x, ym), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_forward(f, B, WSRL__MLP_SHARED, x, yf), WSRL_OK);
  ck_assert_msg(memcmp(ym, yf, sizeof(float) * (size_t)(E * B * out)) == 0,
                "forward-only and trainable outputs differ (bf16 %d, out %d)", bf16, out);
  if (!bf16) {
    double xd[B * IN], yd[E * B * 3];
    for (int i = 0; i < B * IN; i++)
      xd[i] = x[i];
    nnref_mlp_forward(m, B, WSRL__MLP_SHARED, xd, yd);
    for (int i = 0; i < E * B * out; i++)
      ck_assert_msg(fabs(ym[i] - yd[i]) <= 1e-4 * (1.0 + fabs(yd[i])), "y[%d]: %.7g vs %.7g", i, (double)ym[i],
                    yd[i]);
  }
  wsrl__mlp_destroy(m);
  wsrl__mlp_destroy(f);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

/* The actor's backward through the critics (input gradient only, dQ
 * non-zero for one member per row) takes the sparse path: gathered rows,
 * chunked matmuls. It must give the dense path's input gradient, leave the
 * parameter gradients alone, and give the same bits for 1 and 2 threads.
 * B = 67 leaves a partial chunk; one row reaches two members, one none;
 * the row count shows which path ran. Loops 2 and 3: the same in bf16
 * (both paths' matmuls read bf16 gradients and weights). */
/* Loop bits: per-member input mode, bf16, and skew: most rows reach one
 * member (as the actor's loss often does), whose 32-row blocks then run on
 * different threads. */
START_TEST(sparse_input_grad_matches_dense) {
  const int32_t mode = _i & 1, bf16 = (_i >> 1) & 1, skew = _i >> 2;
  enum { E = 5, IN = 7, B = 67 };
  const int64_t rows = mode ? E * B : B;
  float *sparse[2];
  for (int t = 0; t < 2; t++) {
    wsrl__nn_ctx *ctx = make_ctx(t + 1);
    if (bf16 && wsrl__nn_ctx_set_precision(ctx, WSRL__NN_BF16) != WSRL_OK) {
      printf("sparse_input_grad_matches_dense: bf16 skipped: %s\n", wsrl_last_error_message());
      wsrl__nn_ctx_destroy(ctx);
      for (int u = 0; u < t; u++)
        free(sparse[u]);
      return;
    }
    wsrl__rng r;
    wsrl__rng_seed(&r, 33, 0);
    wsrl__mlp_spec s = {.ensemble = E, .in_dim = IN, .out_dim = 1, .n_hidden = 2, .hidden = {64, 48},
                        .layer_norm = 1, .max_batch = 70, .trainable = 1};
    wsrl__mlp *m;
    ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
    const int64_t n_par = wsrl__mlp_param_count(m);
    float *x = malloc(sizeof(float) * (size_t)(rows * IN)), *dq = calloc(E * B, sizeof(float));
    float *dense = malloc(sizeof(float) * (size_t)(rows * IN)), *g = malloc(sizeof(float) * (size_t)n_par);
    sparse[t] = malloc(sizeof(float) * (size_t)(rows * IN));
    wsrl__rng_fill_normal(&r, x, (size_t)(rows * IN));
    for (int64_t b = 0; b < B; b++)
      if (b != 5)
        dq[(skew && b % 5 ? 2 : (int64_t)(wsrl__rng_next(&r) % E)) * B + b] = 0.5f + (float)b / B;
    for (int64_t e = 0; e < E; e++) /* row 9 reaches exactly two members */
      dq[e * B + 9] = 0.0f;
    dq[0 * B + 9] = -0.25f, dq[3 * B + 9] = 0.75f;
    ck_assert_int_eq(wsrl__mlp_forward(m, B, mode, x, NULL), WSRL_OK);
    wsrl__mlp_zero_grad(m);
    ck_assert_int_eq(wsrl__mlp_backward(m, dq, sparse[t], 0), WSRL_OK);
    ck_assert_int_eq(wsrl__mlp_last_backward_rows(m), B); /* B - 2 rows with one member, one with two */
    ck_assert_int_eq(wsrl__mlp_get_grads(m, g, n_par), WSRL_OK);
    for (int64_t i = 0; i < n_par; i++)
      ck_assert_msg(g[i] == 0.0f, "parameter gradient %lld touched", (long long)i);
    ck_assert_int_eq(wsrl__mlp_backward(m, dq, dense, 1), WSRL_OK);
    ck_assert_int_eq(wsrl__mlp_last_backward_rows(m), E * B);
    for (int64_t i = 0; i < rows * IN; i++)
      ck_assert_msg(fabsf(sparse[t][i] - dense[i]) <= 1e-5f * (1.0f + fabsf(dense[i])), "dx[%lld]: %.9g vs %.9g",
                    (long long)i, (double)sparse[t][i], (double)dense[i]);
    for (int64_t k = 0; k < IN && !mode; k++)
      ck_assert_msg(sparse[t][5 * IN + k] == 0.0f, "row without gradient got one");
    free(x), free(dq), free(dense), free(g);
    wsrl__mlp_destroy(m);
    wsrl__nn_ctx_destroy(ctx);
  }
  ck_assert_msg(memcmp(sparse[0], sparse[1], sizeof(float) * (size_t)(rows * IN)) == 0, "1 vs 2 threads differ");
  free(sparse[0]), free(sparse[1]);
}
END_TEST

START_TEST(no_allocation_in_steady_state) {
  wsrl__alloc counting = {count_alloc, count_realloc, count_free, NULL};
  wsrl__nn_ctx *ctx;
  wsrl_qensemble_t *q;
  wsrl__policy *p;
  make_learner(1, &ctx, &q, &p, &counting);
  ck_assert_int_eq(wsrl__qensemble_prepare(q, 32), WSRL_OK);
  ck_assert_int_eq(wsrl__policy_prepare(p, 32), WSRL_OK);
  wsrl__rng r;
  wsrl__rng_seed(&r, 1, 0);
  const long before = n_allocs;
  ck_assert(before > 0); /* create went through the hooks */
  for (int i = 0; i < 3; i++)
    sac_update(q, p, &r, 32);
  ck_assert_int_eq(n_allocs, before);
  wsrl__qensemble_free(q);
  wsrl__policy_destroy(p);
  wsrl__nn_ctx_destroy(ctx);
}
END_TEST

START_TEST(thread_count_applied_and_restored) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  ck_assert_int_eq(wsrl__nn_ctx_threads(ctx), 1);
#ifdef _OPENMP
  /* The caller's OpenMP setting survives calls with 1 thread and with a
   * 2-thread context whose ensemble runs members in parallel. */
  wsrl__nn_ctx *ctx2 = make_ctx(2);
  for (int k = 0; k < 2; k++) {
    omp_set_num_threads(3);
    wsrl_qensemble_t *q = small_q(k ? ctx2 : ctx, 1, 0);
    float obs[3] = {0}, act[2] = {0}, qv[4], dq[4] = {1, 1, 1, 1}, da[2];
    ck_assert_int_eq(wsrl__qensemble_forward(q, WSRL__Q_ONLINE, 1, obs, 1, act, qv), WSRL_OK);
    ck_assert_int_eq(wsrl__qensemble_backward(q, dq, da, 1), WSRL_OK);
    ck_assert_int_eq(wsrl__qensemble_adam_step(q, NULL), WSRL_OK);
    ck_assert_int_eq(omp_get_max_threads(), 3);
    wsrl__qensemble_free(q);
  }
  wsrl__nn_ctx_destroy(ctx2);
#endif
  wsrl__nn_ctx_destroy(ctx);
  wsrl__nn_ctx *bad = NULL;
  wsrl__alloc a;
  wsrl__alloc_resolve(&a, NULL);
  ck_assert_int_eq(wsrl__nn_ctx_create(&bad, &a, -1), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("agent.threads");
}
END_TEST

static void no_rows(const void *job, int64_t r0, int64_t r1) { (void)job, (void)r0, (void)r1; }

START_TEST(mlp_errors) {
  wsrl__nn_ctx *ctx = make_ctx(1);
  wsrl__rng r;
  wsrl__rng_seed(&r, 1, 0);
  wsrl__mlp_spec s = {.ensemble = 2, .in_dim = 3, .out_dim = 1, .n_hidden = 1, .hidden = {4}, .max_batch = 4,
                      .trainable = 1};
  wsrl__mlp *m = NULL;
  ck_assert_int_eq(wsrl__mlp_create(&m, NULL, &s, &ADAM, &r), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("ctx");
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, NULL, &r), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("Adam");
  wsrl__mlp_spec bad = s;
  bad.n_hidden = 0;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &bad, &ADAM, &r), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("hidden layer count");
  bad = s;
  bad.hidden[0] = 0;
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &bad, &ADAM, &r), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("hidden[0]");
  ck_assert_ptr_null(m);
  ck_assert_int_eq(wsrl__mlp_create(&m, ctx, &s, &ADAM, &r), WSRL_OK);
  float x[12] = {0}, y[8], dy[8] = {0};
  ck_assert_int_eq(wsrl__mlp_backward(m, dy, NULL, 1), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("without a preceding");
  ck_assert_int_eq(wsrl__mlp_forward(m, 5, WSRL__MLP_SHARED, x, y), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("max_batch = 4");
  ck_assert_int_eq(wsrl__mlp_forward(m, 0, WSRL__MLP_SHARED, x, y), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl__mlp_forward(m, 2, 9, x, y), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("input mode");
  ck_assert_int_eq(wsrl__mlp_set_params(m, x, 3), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("count");
  ck_assert_ptr_null(wsrl__mlp_elem(m, WSRL__MLP_PARAM, WSRL__MLP_W, 0, 2, 0, 0));
  ck_assert_ptr_null(wsrl__mlp_elem(m, WSRL__MLP_PARAM, WSRL__MLP_LN_SCALE, 0, 0, 0, 0)); /* no LayerNorm */
  wsrl__mlp_spec ts = s;
  ts.trainable = 0;
  wsrl__mlp *t;
  ck_assert_int_eq(wsrl__mlp_create(&t, ctx, &ts, NULL, &r), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_forward(t, 2, WSRL__MLP_SHARED, x, y), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_backward(t, dy, NULL, 1), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("forward-only");
  ck_assert_int_eq(wsrl__mlp_forward(m, 2, WSRL__MLP_SHARED, x, y), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_backward_from(m, no_rows, NULL, dy), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("one-member");
  ck_assert_int_eq(wsrl__mlp_backward_from(m, NULL, NULL, dy), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl__mlp_adam_step(t, NULL), WSRL_ERR_WRONG_STATE);
  ck_assert_int_eq(wsrl__mlp_blob_count(t), 1);
  ck_assert_int_eq(wsrl__mlp_blob_count(m), 3);
  wsrl__nn_blob b;
  ck_assert_int_eq(wsrl__mlp_blob(m, 2, &b), WSRL_OK);
  ck_assert_str_eq(b.name, "adam.v");
  ck_assert(b.count >= wsrl__mlp_param_count(m));
  ck_assert(wsrl__mlp_memory_usage(m) > (size_t)wsrl__mlp_param_count(m) * 4 * sizeof(float));
  wsrl__mlp_spec other = s;
  other.hidden[0] = 5;
  wsrl__mlp *o;
  ck_assert_int_eq(wsrl__mlp_create(&o, ctx, &other, &ADAM, &r), WSRL_OK);
  ck_assert_int_eq(wsrl__mlp_polyak(m, o, 0.1f), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("different architectures");
  ck_assert_int_eq(wsrl__mlp_copy_params(m, o), WSRL_ERR_INVALID_ARGUMENT);
  wsrl__mlp_destroy(o);
  wsrl__mlp_destroy(t);
  wsrl__mlp_destroy(m);
  wsrl__mlp_destroy(NULL);
  wsrl__nn_ctx_destroy(ctx);
  wsrl__nn_ctx_destroy(NULL);
}
END_TEST

/* ---------------------------------------------------------- public handle */

static wsrl_qensemble_t *public_q(int64_t max_batch) {
  wsrl_config_t *cfg;
  ck_assert_int_eq(wsrl_config_create(&cfg), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.ensemble_size", "3"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.hidden", "16,8"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(cfg, "agent.threads", "1"), WSRL_OK);
  wsrl_qensemble_t *q = NULL;
  ck_assert_int_eq(wsrl_qensemble_create(&q, cfg, 4, 2, max_batch), WSRL_OK);
  wsrl_config_destroy(cfg);
  return q;
}

START_TEST(public_qensemble) {
  const int64_t live = wsrl_live_handles();
  wsrl_qensemble_t *q = public_q(4);
  ck_assert_int_eq(wsrl_live_handles(), live + 1);
  int32_t E, O, A;
  int64_t np;
  ck_assert_int_eq(wsrl_qensemble_info(q, &E, &O, &A, &np), WSRL_OK);
  ck_assert(E == 3 && O == 4 && A == 2 && np > 0);
  ck_assert_int_eq(wsrl_qensemble_info(q, NULL, NULL, NULL, NULL), WSRL_OK);
  /* Chunked prediction (batch 10 > max_batch 4) equals row-by-row. */
  float obs[10 * 4], act[10 * 2], qv[3 * 10], one[3], mn[10];
  random_inputs(3, obs, 40, act, 20);
  ck_assert_int_eq(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_ONLINE, 10, obs, act, qv), WSRL_OK);
  for (int b = 0; b < 10; b++) {
    ck_assert_int_eq(wsrl_qensemble_predict(q, WSRL_QENSEMBLE_TARGET, 1, obs + b * 4, act + b * 2, one), WSRL_OK);
    for (int e = 0; e < 3; e++)
      ck_assert_float_eq_tol(one[e], qv[e * 10 + b], 1e-5);
  }
  const int32_t members[2] = {2, 0};
  ck_assert_int_eq(wsrl_qensemble_predict_min(q, WSRL_QENSEMBLE_ONLINE, 10, obs, act, members, 2, mn), WSRL_OK);
  for (int b = 0; b < 10; b++)
    ck_assert_float_eq_tol(mn[b], fminf(qv[20 + b], qv[b]), 1e-6);
  ck_assert_int_eq(wsrl_qensemble_predict_min(q, WSRL_QENSEMBLE_ONLINE, 10, obs, act, NULL, 0, mn), WSRL_OK);
  for (int b = 0; b < 10; b++)
    ck_assert_float_eq_tol(mn[b], fminf(fminf(qv[b], qv[10 + b]), qv[20 + b]), 1e-6);
  /* Subsample: a pure function of the seed, indices in range. */
  int32_t s1[8], s2[8];
  ck_assert_int_eq(wsrl_qensemble_subsample(q, 99, 8, s1), WSRL_OK);
  ck_assert_int_eq(wsrl_qensemble_subsample(q, 99, 8, s2), WSRL_OK);
  ck_assert_int_eq(memcmp(s1, s2, sizeof s1), 0);
  for (int j = 0; j < 8; j++)
    ck_assert(s1[j] >= 0 && s1[j] < 3);
  /* Parameters: round trip, Polyak, sync. */
  float *p = malloc(sizeof(float) * (size_t)np), *t = malloc(sizeof(float) * (size_t)np);
  ck_assert_int_eq(wsrl_qensemble_get_params(q, WSRL_QENSEMBLE_ONLINE, p, np), WSRL_OK);
  for (int64_t i = 0; i < np; i++)
    p[i] += 1.0f;
  ck_assert_int_eq(wsrl_qensemble_set_params(q, WSRL_QENSEMBLE_ONLINE, p, np), WSRL_OK);
  ck_assert_int_eq(wsrl_qensemble_polyak_update(q, 0.5), WSRL_OK);
  ck_assert_int_eq(wsrl_qensemble_get_params(q, WSRL_QENSEMBLE_TARGET, t, np), WSRL_OK);
  for (int64_t i = 0; i < np; i++)
    ck_assert_float_eq_tol(t[i], p[i] - 0.5f, 1e-5);
  ck_assert_int_eq(wsrl_qensemble_sync_targets(q), WSRL_OK);
  ck_assert_int_eq(wsrl_qensemble_get_params(q, WSRL_QENSEMBLE_TARGET, t, np), WSRL_OK);
  ck_assert_int_eq(memcmp(p, t, sizeof(float) * (size_t)np), 0);
  uint64_t bytes = 0;
  ck_assert_int_eq(wsrl_qensemble_memory_usage(q, &bytes), WSRL_OK);
  ck_assert(bytes > (uint64_t)np * 4 * sizeof(float));
  free(p), free(t);
  wsrl_qensemble_destroy(q);
  wsrl_qensemble_destroy(NULL);
  ck_assert_int_eq(wsrl_live_handles(), live);
}
END_TEST

START_TEST(public_qensemble_errors) {
  wsrl_qensemble_t *q = NULL;
  ck_assert_int_eq(wsrl_qensemble_create(NULL, NULL, 4, 2, 8), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("q_out");
  ck_assert_int_eq(wsrl_qensemble_create(&q, NULL, 0, 2, 8), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("obs_dim");
  ck_assert_int_eq(wsrl_qensemble_create(&q, NULL, 4, 2, 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("max_batch");
  ck_assert_ptr_null(q);
  q = public_q(4);
  float obs[4] = {0}, act[2] = {0}, out[3], p[4] = {0};
  int32_t members[2] = {0, 3};
  ck_assert_int_eq(wsrl_qensemble_predict(NULL, 0, 1, obs, act, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'q'");
  ck_assert_int_eq(wsrl_qensemble_predict(q, 0, 1, NULL, act, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("'obs'");
  ck_assert_int_eq(wsrl_qensemble_predict(q, 2, 1, obs, act, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("which");
  ck_assert_int_eq(wsrl_qensemble_predict(q, 0, 0, obs, act, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("batch");
  ck_assert_int_eq(wsrl_qensemble_predict_min(q, 0, 1, obs, act, members, 2, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("members[1] = 3");
  ck_assert_int_eq(wsrl_qensemble_predict_min(q, 0, 1, obs, act, members, 0, out), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_qensemble_subsample(q, 1, 0, members), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("k must be");
  ck_assert_int_eq(wsrl_qensemble_polyak_update(q, -0.1), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_qensemble_polyak_update(q, NAN), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("tau");
  ck_assert_int_eq(wsrl_qensemble_get_params(q, 0, p, 4), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("count is 4");
  ck_assert_int_eq(wsrl_qensemble_set_params(q, 1, p, 4), WSRL_ERR_INVALID_ARGUMENT);
  int64_t np;
  wsrl_qensemble_info(q, NULL, NULL, NULL, &np);
  float *big = calloc((size_t)np, sizeof(float));
  big[np / 2] = INFINITY;
  ck_assert_int_eq(wsrl_qensemble_set_params(q, 0, big, np), WSRL_ERR_NON_FINITE);
  ck_assert_msg_has("not finite");
  ck_assert_int_eq(wsrl_qensemble_get_params(q, 7, big, np), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_qensemble_sync_targets(NULL), WSRL_ERR_INVALID_ARGUMENT);
  uint64_t bytes;
  ck_assert_int_eq(wsrl_qensemble_memory_usage(q, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_qensemble_memory_usage(NULL, &bytes), WSRL_ERR_INVALID_ARGUMENT);
  free(big);
  wsrl_qensemble_destroy(q);
}
END_TEST

Suite *wsrl_test_suite_nn(void) {
  Suite *s = suite_create("nn");
  TCase *tc = tcase_create("layers");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, known_answer_dense);
  tcase_add_test(tc, known_answer_layernorm);
  tcase_add_test(tc, reference_agreement);
  tcase_add_test(tc, init_gains);
  tcase_add_test(tc, init_var_scaling);
  suite_add_tcase(s, tc);
  tc = tcase_create("optimizer");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, adam_converges_on_quadratic);
  tcase_add_test(tc, learned_scalars);
  tcase_add_test(tc, polyak_formula);
  tcase_add_test(tc, grad_clip_matches_scaled_gradient);
  tcase_add_test(tc, nonfinite_gradient_skips_step);
  tcase_add_test(tc, clipped_step_same_bits_any_threads);
  tcase_add_test(tc, joint_steps_match_separate);
  suite_add_tcase(s, tc);
  tc = tcase_create("policy");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, policy_closed_forms);
  tcase_add_test(tc, policy_errors_and_blobs);
  tcase_add_test(tc, policy_rows_in_parallel_match_serial);
  suite_add_tcase(s, tc);
  tc = tcase_create("engine");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, subset_forward_matches_full);
  tcase_add_test(tc, subset_copy_carries_bf16_weights);
  tcase_add_loop_test(tc, forward_copy_matches_copy_then_forward, 0, 2);
  tcase_add_loop_test(tc, forward_group_matches_separate, 0, 2);
  tcase_add_test(tc, shape_cache_eviction);
  tcase_add_test(tc, predict_reuses_prepared_shape);
  tcase_add_loop_test(tc, deterministic_updates, 0, 4);
  tcase_add_loop_test(tc, adam_polyak_fused_matches_separate, 0, 2);
  tcase_add_loop_test(tc, backward_steps_match_separate, 0, 2);
  tcase_add_loop_test(tc, relu_post_op_matches_kernel, 0, 4);
  tcase_add_loop_test(tc, members_in_parallel_match_serial, 0, 4);
  tcase_add_loop_test(tc, single_net_row_blocks_match_serial, 0, 4);
  tcase_add_test(tc, zero_grad_deferred);
  tcase_add_loop_test(tc, sparse_input_grad_matches_dense, 0, 8);
  tcase_add_test(tc, no_allocation_in_steady_state);
  tcase_add_test(tc, thread_count_applied_and_restored);
  tcase_add_test(tc, mlp_errors);
  suite_add_tcase(s, tc);
  tc = tcase_create("qensemble");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, public_qensemble);
  tcase_add_test(tc, public_qensemble_errors);
  suite_add_tcase(s, tc);
  return s;
}
