#include "nnref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HALF_LOG_2PI 0.91893853320467274178

static double w_at(wsrl__mlp *m, int32_t kind, int32_t l, int32_t e, int32_t k, int32_t n) {
  const float *p = wsrl__mlp_elem(m, WSRL__MLP_PARAM, kind, l, e, k, n);
  return p != NULL ? (double)*p : 0.0;
}

void nnref_mlp_forward(wsrl__mlp *m, int64_t batch, int32_t mode, const double *x, double *y) {
  const wsrl__mlp_spec *s = wsrl__mlp_get_spec(m);
  const int32_t E = s->ensemble, L = s->n_hidden;
  int32_t widest = s->in_dim > s->out_dim ? s->in_dim : s->out_dim;
  for (int32_t l = 0; l < L; l++)
    widest = s->hidden[l] > widest ? s->hidden[l] : widest;
  double *h = malloc(sizeof(double) * (size_t)widest), *z = malloc(sizeof(double) * (size_t)widest);
  for (int32_t e = 0; e < E; e++)
    for (int64_t b = 0; b < batch; b++) {
      const double *xr = x + ((mode == WSRL__MLP_PER_MEMBER && E > 1 ? (int64_t)e * batch : 0) + b) * s->in_dim;
      int32_t width = s->in_dim;
      memcpy(h, xr, sizeof(double) * (size_t)width);
      for (int32_t l = 0; l <= L; l++) {
        const int32_t nout = l < L ? s->hidden[l] : s->out_dim;
        for (int32_t n = 0; n < nout; n++) {
          double acc = w_at(m, WSRL__MLP_B, l, e, 0, n);
          for (int32_t k = 0; k < width; k++)
            acc += h[k] * w_at(m, WSRL__MLP_W, l, e, k, n);
          z[n] = acc;
        }
        if (l == L) {
          for (int32_t n = 0; n < nout; n++)
            y[((int64_t)e * batch + b) * nout + n] = z[n];
          break;
        }
        if (s->layer_norm) {
          double mu = 0.0, var = 0.0;
          for (int32_t n = 0; n < nout; n++)
            mu += z[n];
          mu /= nout;
          for (int32_t n = 0; n < nout; n++)
            var += (z[n] - mu) * (z[n] - mu);
          var /= nout;
          const double rstd = 1.0 / sqrt(var + 1e-6);
          for (int32_t n = 0; n < nout; n++)
            z[n] = w_at(m, WSRL__MLP_LN_SCALE, l, e, 0, n) * (z[n] - mu) * rstd +
                   w_at(m, WSRL__MLP_LN_BIAS, l, e, 0, n);
        }
        for (int32_t n = 0; n < nout; n++)
          h[n] = z[n] > 0.0 ? z[n] : 0.0;
        width = nout;
      }
    }
  free(h);
  free(z);
}

static double softplus(double x) { return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

void nnref_policy_dist(wsrl__policy *p, int64_t batch, const double *obs, double *mean, double *std) {
  const wsrl__policy_spec *s = wsrl__policy_get_spec(p);
  const int32_t A = s->act_dim, D = s->std_param == WSRL__STD_EXP ? 2 * A : A;
  double *out = malloc(sizeof(double) * (size_t)(batch * D));
  nnref_mlp_forward(wsrl__policy_mlp(p), batch, WSRL__MLP_SHARED, obs, out);
  int64_t np = wsrl__policy_param_count(p);
  float *flat = malloc(sizeof(float) * (size_t)np);
  wsrl__policy_get_params(p, flat, np);
  for (int64_t b = 0; b < batch; b++)
    for (int32_t k = 0; k < A; k++) {
      double ls = s->std_param == WSRL__STD_EXP ? out[b * D + A + k] : (double)flat[np - A + k];
      double sd = exp(ls);
      sd = sd < s->std_min ? s->std_min : sd > s->std_max ? s->std_max : sd;
      mean[b * A + k] = out[b * D + k];
      std[b * A + k] = sd;
    }
  free(flat);
  free(out);
}

void nnref_policy_sample(wsrl__policy *p, int64_t batch, const double *obs, int32_t n, const double *eps,
                         double *a_out, double *logp_out) {
  const wsrl__policy_spec *s = wsrl__policy_get_spec(p);
  const int32_t A = s->act_dim;
  double *mean = malloc(sizeof(double) * (size_t)(batch * A)), *std = malloc(sizeof(double) * (size_t)(batch * A));
  nnref_policy_dist(p, batch, obs, mean, std);
  for (int64_t i = 0; i < batch * n; i++) {
    const int64_t b = i / n;
    double lp = 0.0;
    for (int32_t k = 0; k < A; k++) {
      const double m = mean[b * A + k], sd = std[b * A + k];
      const double u = m + sd * eps[i * A + k];
      /* Gaussian density of u written out, not through eps. */
      lp += -0.5 * ((u - m) / sd) * ((u - m) / sd) - log(sd) - HALF_LOG_2PI;
      if (s->tanh_squash) {
        lp -= 2.0 * (log(2.0) - u - softplus(-2.0 * u));
        a_out[i * A + k] = tanh(u);
      } else {
        a_out[i * A + k] = u;
      }
    }
    logp_out[i] = lp;
  }
  free(mean);
  free(std);
}

void nnref_policy_log_prob(wsrl__policy *p, int64_t batch, const double *obs, const double *a, double *logp_out) {
  const wsrl__policy_spec *s = wsrl__policy_get_spec(p);
  const int32_t A = s->act_dim;
  double *mean = malloc(sizeof(double) * (size_t)(batch * A)), *std = malloc(sizeof(double) * (size_t)(batch * A));
  nnref_policy_dist(p, batch, obs, mean, std);
  for (int64_t b = 0; b < batch; b++) {
    double lp = 0.0;
    for (int32_t k = 0; k < A; k++) {
      double u = a[b * A + k];
      if (s->tanh_squash)
        u = atanh(u);
      const double z = (u - mean[b * A + k]) / std[b * A + k];
      lp += -0.5 * z * z - log(std[b * A + k]) - HALF_LOG_2PI;
      if (s->tanh_squash)
        lp -= 2.0 * (log(2.0) - u - softplus(-2.0 * u));
    }
    logp_out[b] = lp;
  }
  free(mean);
  free(std);
}
