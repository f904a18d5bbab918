/* Matmul throughput probe for bench/: the practical peak of this machine
 * and the rate of the ensemble's own matmul shape. */
#include <stdio.h>
#include <time.h>

#include "nn_internal.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

wsrl_status_t wsrl__nn_matmul_rate(wsrl__nn_ctx *ctx, int64_t E, int64_t M, int64_t K, int64_t N, double seconds,
                                   double *gflops_out) {
  WSRL__CHECK_NULL(ctx);
  WSRL__CHECK_NULL(gflops_out);
  if (E < 1 || M < 1 || K < 1 || N < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "matmul rate: sizes must be > 0");
  dnnl_memory_desc_t a, b, c;
  int rank = E > 1 ? 3 : 2;
  int64_t da[3] = {E, M, K}, sa[3] = {M * K, K, 1}, db[3] = {E, K, N}, sb[3] = {K * N, N, 1};
  int64_t dc[3] = {E, M, N}, sc[3] = {M * N, N, 1};
  const int o = 3 - rank;
  /* Inputs in the context's precision (bf16: the buffers' bits reread). */
  const dnnl_data_type_t in = ctx->precision == WSRL__NN_BF16 ? dnnl_bf16 : dnnl_f32;
  WSRL__TRY(wsrl__nn_md_dt(&a, rank, da + o, sa + o, in));
  WSRL__TRY(wsrl__nn_md_dt(&b, rank, db + o, sb + o, in));
  WSRL__TRY(wsrl__nn_md(&c, rank, dc + o, sc + o));
  const size_t fa = (size_t)(E * M * K), fb = (size_t)(E * K * N), fc = (size_t)(E * M * N);
  float *buf = wsrl__aligned_alloc(&ctx->alloc, (fa + fb + fc + 48) * sizeof(float));
  if (buf == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "matmul rate: allocating buffers");
  float *pa = buf, *pb = buf + ((fa + 15) / 16) * 16, *pc = pb + ((fb + 15) / 16) * 16;
  for (size_t i = 0; i < fa; i++)
    pa[i] = 1e-3f * (float)(i % 7);
  for (size_t i = 0; i < fb; i++)
    pb[i] = 1e-3f * (float)(i % 5);
  int32_t saved = wsrl__nn_enter(ctx);
  wsrl__nn_matmul mm;
  wsrl_status_t rc = wsrl__nn_matmul_init(&mm, ctx, &a, &b, &c, 0, 1);
  if (rc == WSRL_OK) {
    int64_t runs = 0;
    double t0 = 0.0, t = 0.0;
    for (int64_t i = 0; rc == WSRL_OK; i++) {
      rc = wsrl__nn_matmul_run(&mm, ctx, 0, pa, pb, pc);
      if (i == 2)
        t0 = now(); /* after warm-up runs */
      if (i > 2) {
        runs++;
        t = now();
        if (t - t0 >= seconds)
          break;
      }
    }
    if (rc == WSRL_OK)
      *gflops_out = 2.0 * (double)(E * M * K * N) * (double)runs / (t - t0) * 1e-9;
    wsrl__nn_matmul_fini(&mm, ctx);
  }
  wsrl__nn_leave(saved);
  wsrl__aligned_free(&ctx->alloc, buf);
  return rc;
}

const char *wsrl__nn_backend_info(void) {
  const dnnl_version_t *v = dnnl_version();
  static char text[96];
  (void)snprintf(text, sizeof text, "oneDNN %d.%d.%d (cpu runtime %s)", v->major, v->minor, v->patch,
                 v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other");
  return text;
}
