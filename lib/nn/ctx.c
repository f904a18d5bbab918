/* oneDNN engine, stream, thread count and the shared scratchpad; the matmul
 * wrapper every layer uses. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#ifdef _OPENMP
#  include <omp.h>
#endif

#include <oneapi/dnnl/dnnl_debug.h>

#include "nn_internal.h"

static const char *dnnl_status_name(dnnl_status_t st) {
  switch (st) {
  case dnnl_success: return "success";
  case dnnl_out_of_memory: return "out of memory";
  case dnnl_invalid_arguments: return "invalid arguments";
  case dnnl_unimplemented: return "unimplemented";
  case dnnl_iterator_ends: return "iterator ends";
  case dnnl_runtime_error: return "runtime error";
  case dnnl_not_required: return "not required";
  }
  return "unknown dnnl status";
}

wsrl_status_t wsrl__nn_dnnl_error(dnnl_status_t st, const char *call) {
  return wsrl__error(st == dnnl_out_of_memory ? WSRL_ERR_OUT_OF_MEMORY : WSRL_ERR_BACKEND,
                     "oneDNN call failed (%s): %s", dnnl_status_name(st), call);
}

/* fork(): GNU OpenMP's thread pool does not survive it, so a child whose
 * parent ran a parallel region of more than one thread hangs in its first
 * such region. We note when that happened and refuse, in the child, any
 * handle that would compute with more than one thread. */
static atomic_int ran_threads;   /* this process ran an OpenMP team of > 1 */
static atomic_int forked_child;  /* ... and then forked: we are the child */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) {
  if (atomic_load(&ran_threads))
    atomic_store(&forked_child, 1);
}
static void register_atfork(void) { (void)pthread_atfork(NULL, NULL, on_fork_child); }

wsrl_status_t wsrl__nn_ctx_check_process(const wsrl__nn_ctx *ctx, const char *fn) {
  const int32_t t = wsrl__nn_ctx_threads(ctx);
  if (t <= 1 || !atomic_load(&forked_child))
    return WSRL_OK;
  return wsrl__error(WSRL_ERR_WRONG_STATE,
                     "%s: this process was forked after libwsrl ran multi-threaded OpenMP work, and GNU OpenMP cannot "
                     "start threads in a forked child (it would hang): compute here with agent.threads = 1 "
                     "(this handle uses %d), act from a wsrl_policy_t, or start processes with exec/spawn "
                     "(docs/threading.md)",
                     fn, t);
}

int32_t wsrl__nn_enter(const wsrl__nn_ctx *ctx) {
#ifdef _OPENMP
  int32_t saved = (int32_t)omp_get_max_threads();
  if ((ctx->threads > 1 || (ctx->threads == 0 && saved > 1)) && !atomic_load_explicit(&ran_threads, memory_order_relaxed))
    atomic_store(&ran_threads, 1);
  if (ctx->threads > 0 && ctx->threads != saved)
    omp_set_num_threads(ctx->threads);
  return saved;
#else
  (void)ctx;
  return 1;
#endif
}

int32_t wsrl__nn_single_thread_begin(void) {
#ifdef _OPENMP
  int32_t saved = (int32_t)omp_get_max_threads();
  omp_set_num_threads(1);
  return saved;
#else
  return 1;
#endif
}

void wsrl__nn_tasks(int64_t n, int64_t work, int64_t min, wsrl__nn_task_fn fn, const void *job) {
  if (wsrl__nn_fork(work, min)) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < n; t++)
      fn(job, t);
    return;
  }
  for (int64_t t = 0; t < n; t++)
    fn(job, t);
}

void wsrl__nn_ctx_tasks(const wsrl__nn_ctx *ctx, int64_t n, int64_t work, int64_t min, wsrl__nn_task_fn fn,
                        const void *job) {
  const int32_t saved = wsrl__nn_enter(ctx);
  wsrl__nn_tasks(n, work, min, fn, job);
  wsrl__nn_leave(saved);
}

void wsrl__nn_leave(int32_t saved) {
#ifdef _OPENMP
  if (omp_get_max_threads() != saved)
    omp_set_num_threads(saved);
#else
  (void)saved;
#endif
}

wsrl_status_t wsrl__nn_ctx_create(wsrl__nn_ctx **ctx_out, const wsrl__alloc *alloc, int32_t threads) {
  WSRL__CHECK_NULL(ctx_out);
  WSRL__CHECK_NULL(alloc);
  *ctx_out = NULL;
  if (threads < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "agent.threads must be >= 0 (got %d)", threads);
  wsrl__nn_ctx *ctx = wsrl__calloc(alloc, 1, sizeof *ctx);
  if (ctx == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating the oneDNN context");
  ctx->alloc = *alloc;
  ctx->threads = threads;
  pthread_once(&atfork_once, register_atfork);
  const int32_t t = wsrl__nn_ctx_threads(ctx);
  ctx->team = t < 1 ? 1 : t > WSRL__NN_MAX_TEAM ? WSRL__NN_MAX_TEAM : t;
  dnnl_status_t st = dnnl_engine_create(&ctx->engine, dnnl_cpu, 0);
  if (st != dnnl_success) {
    wsrl__nn_ctx_destroy(ctx);
    return wsrl__nn_dnnl_error(st, "dnnl_engine_create(cpu)");
  }
  for (int32_t i = 0; i < ctx->team; i++) {
    st = dnnl_stream_create(&ctx->streams[i], ctx->engine, dnnl_stream_in_order);
    if (st != dnnl_success) {
      wsrl__nn_ctx_destroy(ctx);
      return wsrl__nn_dnnl_error(st, "dnnl_stream_create");
    }
  }
  *ctx_out = ctx;
  return WSRL_OK;
}

void wsrl__nn_ctx_destroy(wsrl__nn_ctx *ctx) {
  if (ctx == NULL)
    return;
  for (int32_t i = 0; i < WSRL__NN_MAX_TEAM; i++)
    if (ctx->streams[i] != NULL)
      dnnl_stream_destroy(ctx->streams[i]);
  if (ctx->engine != NULL)
    dnnl_engine_destroy(ctx->engine);
  wsrl__aligned_free(&ctx->alloc, ctx->scratch);
  wsrl__alloc a = ctx->alloc;
  wsrl__free(&a, ctx);
}

wsrl_status_t wsrl__nn_ctx_set_precision(wsrl__nn_ctx *ctx, int32_t precision) {
  WSRL__CHECK_NULL(ctx);
  if (precision != WSRL__NN_FP32 && precision != WSRL__NN_BF16)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "nn.precision: unknown value %d", precision);
  /* oneDNN runs bf16 matmuls natively from AVX512-BF16 (and AMX) up and
   * emulates them on plain AVX-512; below that it has no fast kernel. */
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  if (precision == WSRL__NN_BF16 && (isa & dnnl_cpu_isa_avx512_core) != dnnl_cpu_isa_avx512_core)
    return wsrl__error(WSRL_ERR_UNSUPPORTED,
                       "nn.precision = bf16 needs a CPU with AVX-512 (oneDNN's ISA here: %s); use nn.precision = fp32",
                       dnnl_cpu_isa2str(isa));
  ctx->precision = precision;
  return WSRL_OK;
}

int32_t wsrl__nn_ctx_precision(const wsrl__nn_ctx *ctx) { return ctx->precision; }

const char *wsrl__nn_ctx_impl(const wsrl__nn_ctx *ctx, int32_t precision) {
  return ctx->impl[precision == WSRL__NN_BF16];
}

int32_t wsrl__nn_ctx_threads(const wsrl__nn_ctx *ctx) {
  if (ctx->threads > 0)
    return ctx->threads;
#ifdef _OPENMP
  return (int32_t)omp_get_max_threads();
#else
  return 1;
#endif
}

const wsrl__alloc *wsrl__nn_ctx_alloc(const wsrl__nn_ctx *ctx) { return &ctx->alloc; }

wsrl_status_t wsrl__nn_ctx_reserve_scratch(wsrl__nn_ctx *ctx, size_t size) {
  size = (size + 63) / 64 * 64;
  if (size <= ctx->scratch_stride)
    return WSRL_OK;
  void *p = wsrl__aligned_alloc(&ctx->alloc, size * (size_t)ctx->team);
  if (p == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating %d oneDNN scratchpads of %zu bytes", ctx->team, size);
  wsrl__aligned_free(&ctx->alloc, ctx->scratch);
  ctx->scratch = p;
  ctx->scratch_stride = size;
  return WSRL_OK;
}

wsrl_status_t wsrl__nn_ctx_wait(wsrl__nn_ctx *ctx) {
  for (int32_t i = 0; i < ctx->team; i++)
    WSRL__DNNL(dnnl_stream_wait(ctx->streams[i]));
  return WSRL_OK;
}

wsrl_status_t wsrl__nn_md(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides) {
  return wsrl__nn_md_dt(md, rank, dims, strides, dnnl_f32);
}

wsrl_status_t wsrl__nn_md_dt(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides,
                             dnnl_data_type_t dt) {
  dnnl_dims_t d, s;
  for (int i = 0; i < rank; i++) {
    d[i] = dims[i];
    s[i] = strides[i];
  }
  WSRL__DNNL(dnnl_memory_desc_init_by_strides(md, rank, d, dt, s));
  return WSRL_OK;
}

wsrl_status_t wsrl__nn_matmul_init(wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx, const dnnl_memory_desc_t *src,
                                   const dnnl_memory_desc_t *wei, const dnnl_memory_desc_t *dst, int post,
                                   int32_t team) {
  memset(mm, 0, sizeof *mm);
  if (team < 1 || team > ctx->team)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "matmul team %d outside [1, %d]", team, ctx->team);
  dnnl_matmul_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t ops = NULL;
  dnnl_primitive_desc_t pd = NULL;
  wsrl_status_t rc = WSRL_OK;
  dnnl_status_t st;
  /* Every failure below leaves through `out` so attr/ops/pd are released. */
#define STEP(call)                                    \
  do {                                                \
    if ((st = (call)) != dnnl_success) {              \
      rc = wsrl__nn_dnnl_error(st, #call);            \
      goto out;                                       \
    }                                                 \
  } while (0)
  STEP(dnnl_matmul_desc_init(&desc, src, wei, NULL, dst));
  STEP(dnnl_primitive_attr_create(&attr));
  STEP(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
  if (post != 0) {
    STEP(dnnl_post_ops_create(&ops));
    if (post & WSRL__MM_SUM)
      STEP(dnnl_post_ops_append_sum(ops, 1.0f));
    if (post & WSRL__MM_RELU) /* oneDNN 2.x: scale, kind, alpha (negative slope), beta */
      STEP(dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
    STEP(dnnl_primitive_attr_set_post_ops(attr, ops));
  }
  STEP(dnnl_primitive_desc_create(&pd, &desc, attr, ctx->engine, NULL));
  /* A layout oneDNN has no fast kernel for falls back to "ref:any", about
   * 1000x slower (measured): say so loudly rather than silently crawl. */
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl != NULL &&
      strncmp(impl, "ref", 3) == 0) {
    /* bf16 on the reference kernel would be slower than fp32: refuse. */
    if (src->data_type == dnnl_bf16) {
      rc = wsrl__error(WSRL_ERR_UNSUPPORTED, "nn.precision = bf16: oneDNN has only its reference kernel (%s) for "
                       "this bf16 matmul on this CPU; use nn.precision = fp32", impl);
      goto out;
    }
    wsrl__log(WSRL_LOG_WARN, "oneDNN chose its reference matmul kernel (%s): this layer will be very slow", impl);
  }
  if (impl != NULL)
    snprintf(ctx->impl[src->data_type == dnnl_bf16], sizeof ctx->impl[0], "%s", impl);
  STEP(dnnl_primitive_create(&mm->prim, pd));
  const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (smd == NULL) {
    rc = wsrl__error(WSRL_ERR_BACKEND, "dnnl_primitive_desc_query_md(scratchpad) returned NULL");
    goto out;
  }
  rc = wsrl__nn_ctx_reserve_scratch(ctx, dnnl_memory_desc_get_size(smd));
  if (rc != WSRL_OK)
    goto out;
  mm->mem = wsrl__calloc(&ctx->alloc, (size_t)team, sizeof *mm->mem);
  if (mm->mem == NULL) {
    rc = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "allocating matmul memory objects");
    goto out;
  }
  mm->team = team;
  /* Handles are bound at every run; DNNL_MEMORY_NONE avoids oneDNN buffers. */
  for (int32_t t = 0; t < team; t++) {
    STEP(dnnl_memory_create(&mm->mem[t][0], src, ctx->engine, DNNL_MEMORY_NONE));
    STEP(dnnl_memory_create(&mm->mem[t][1], wei, ctx->engine, DNNL_MEMORY_NONE));
    STEP(dnnl_memory_create(&mm->mem[t][2], dst, ctx->engine, DNNL_MEMORY_NONE));
    STEP(dnnl_memory_create(&mm->mem[t][3], smd, ctx->engine, DNNL_MEMORY_NONE));
  }
#undef STEP
out:
  if (pd != NULL)
    dnnl_primitive_desc_destroy(pd);
  if (ops != NULL)
    dnnl_post_ops_destroy(ops);
  if (attr != NULL)
    dnnl_primitive_attr_destroy(attr);
  if (rc != WSRL_OK)
    wsrl__nn_matmul_fini(mm, ctx);
  return rc;
}

wsrl_status_t wsrl__nn_matmul_run(const wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx, int32_t tid, const void *src,
                                  const void *wei, void *dst) {
  dnnl_stream_t stream = ctx->streams[tid];
  dnnl_memory_t *mem = mm->mem[tid];
  WSRL__DNNL(dnnl_memory_set_data_handle_v2(mem[0], (void *)src, stream));
  WSRL__DNNL(dnnl_memory_set_data_handle_v2(mem[1], (void *)wei, stream));
  WSRL__DNNL(dnnl_memory_set_data_handle_v2(mem[2], dst, stream));
  /* No scratchpad is a NULL one (NULL + 0 is undefined behaviour). */
  char *scratch = ctx->scratch ? (char *)ctx->scratch + (size_t)tid * ctx->scratch_stride : NULL;
  WSRL__DNNL(dnnl_memory_set_data_handle_v2(mem[3], scratch, stream));
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mem[0]},
                             {DNNL_ARG_WEIGHTS, mem[1]},
                             {DNNL_ARG_DST, mem[2]},
                             {DNNL_ARG_SCRATCHPAD, mem[3]}};
  WSRL__DNNL(dnnl_primitive_execute(mm->prim, stream, 4, args));
  return WSRL_OK;
}

void wsrl__nn_matmul_fini(wsrl__nn_matmul *mm, wsrl__nn_ctx *ctx) {
  if (mm->prim != NULL)
    dnnl_primitive_destroy(mm->prim);
  if (mm->mem != NULL) {
    for (int32_t t = 0; t < mm->team; t++)
      for (int i = 0; i < 4; i++)
        if (mm->mem[t][i] != NULL)
          dnnl_memory_destroy(mm->mem[t][i]);
    wsrl__free(&ctx->alloc, mm->mem);
  }
  memset(mm, 0, sizeof *mm);
}
