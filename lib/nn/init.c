/* Kernel initialisers. Orthogonal as flax's nn.initializers.orthogonal(gain):
 * QR of a Gaussian (max x min) matrix with the signs of diag(R) made
 * positive — which is what Gram-Schmidt yields — transposed when the
 * kernel is wider than tall. */
#include <math.h>

#include "nn_internal.h"

wsrl_status_t wsrl__nn_orthogonal(const wsrl__alloc *alloc, wsrl__rng *rng, float gain, int64_t rows,
                                  int64_t cols, float *w, int64_t ld_row, int64_t ld_col) {
  const int64_t big = rows > cols ? rows : cols, small = rows > cols ? cols : rows;
  /* q holds `small` column vectors of length `big`, in double. */
  double *q = wsrl__malloc(alloc, (size_t)(big * small) * sizeof *q);
  if (q == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating a %lldx%lld init matrix", (long long)big,
                       (long long)small);
  /* flax draws A row-major with shape (big, small): element (i, j) is draw i*small + j. */
  for (int64_t i = 0; i < big; i++)
    for (int64_t j = 0; j < small; j++)
      q[j * big + i] = wsrl__rng_normal(rng);
  /* Modified Gram-Schmidt, orthogonalising twice for accuracy. */
  for (int64_t j = 0; j < small; j++) {
    double *v = q + j * big;
    for (int pass = 0; pass < 2; pass++)
      for (int64_t p = 0; p < j; p++) {
        const double *u = q + p * big;
        double d = 0.0;
        for (int64_t i = 0; i < big; i++)
          d += u[i] * v[i];
        for (int64_t i = 0; i < big; i++)
          v[i] -= d * u[i];
      }
    double nrm = 0.0;
    for (int64_t i = 0; i < big; i++)
      nrm += v[i] * v[i];
    nrm = sqrt(nrm);
    if (!(nrm > 1e-300))
      nrm = 1.0; /* a degenerate draw; practically impossible */
    for (int64_t i = 0; i < big; i++)
      v[i] /= nrm;
  }
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      /* rows >= cols: Q (rows x cols) directly; else Q^T. */
      double x = rows >= cols ? q[c * big + r] : q[r * big + c];
      w[r * ld_row + c * ld_col] = (float)(gain * x);
    }
  wsrl__free(alloc, q);
  return WSRL_OK;
}

void wsrl__nn_var_scaling(wsrl__rng *rng, float scale, int64_t rows, int64_t cols, float *w, int64_t ld_row,
                          int64_t ld_col) {
  const double limit = sqrt(3.0 * (double)scale / (0.5 * (double)(rows + cols)));
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      w[r * ld_row + c * ld_col] = (float)(limit * (2.0 * wsrl__rng_uniform(rng) - 1.0));
}
