/* Public wsrl_qensemble_* API: validation, chunking, standalone handles. */
#include <string.h>

#include "ensemble_internal.h"

/* Stream id of a standalone ensemble's RNG (init only). */
#define QENS_RNG_STREAM 0x51656e73ULL

wsrl_status_t wsrl_qensemble_create(wsrl_qensemble_t **q_out, const wsrl_config_t *config, int32_t obs_dim,
                                    int32_t act_dim, int64_t max_batch) {
  WSRL__CHECK_NULL(q_out);
  *q_out = NULL;
  if (obs_dim < 1 || act_dim < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_qensemble_create: obs_dim and act_dim must be > 0 (got %d, %d)",
                       obs_dim, act_dim);
  if (max_batch < 1 || max_batch > (int64_t)1 << 24)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_qensemble_create: max_batch must be in [1, 2^24] (got %lld)",
                       (long long)max_batch);
  wsrl__config_values defaults;
  const wsrl__config_values *v = config != NULL ? wsrl__config_values_of(config) : NULL;
  if (v == NULL) {
    wsrl__config_defaults(&defaults);
    v = &defaults;
  }
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, config != NULL ? wsrl__config_allocator(config) : NULL);
  wsrl__qensemble_spec spec;
  wsrl__qensemble_spec_from_config(&spec, v, obs_dim, act_dim, max_batch);
  wsrl__nn_ctx *ctx;
  WSRL__TRY(wsrl__nn_ctx_create(&ctx, &alloc, (int32_t)v->agent_threads));
  wsrl_status_t prc = wsrl__nn_ctx_set_precision(ctx, (int32_t)v->nn_precision);
  if (prc != WSRL_OK) {
    wsrl__nn_ctx_destroy(ctx);
    return prc;
  }
  wsrl__rng rng;
  wsrl__rng_seed(&rng, (uint64_t)v->agent_seed, QENS_RNG_STREAM);
  wsrl_qensemble_t *q;
  wsrl_status_t rc = wsrl__qensemble_create(&q, ctx, &spec, &rng);
  if (rc != WSRL_OK) {
    wsrl__nn_ctx_destroy(ctx);
    return wsrl__error_wrap(rc, "wsrl_qensemble_create: ");
  }
  q->standalone = 1;
  wsrl__handle_created();
  *q_out = q;
  return WSRL_OK;
}

void wsrl_qensemble_destroy(wsrl_qensemble_t *q) {
  if (q == NULL)
    return;
  if (!q->standalone) {
    wsrl__log(WSRL_LOG_WARN, "wsrl_qensemble_destroy: ignored for an ensemble owned by an agent");
    return;
  }
  wsrl__nn_ctx *ctx = q->ctx;
  wsrl__qensemble_free(q);
  wsrl__nn_ctx_destroy(ctx);
  wsrl__handle_destroyed();
}

wsrl_status_t wsrl_qensemble_info(const wsrl_qensemble_t *q, int32_t *ensemble_size_out, int32_t *obs_dim_out,
                                  int32_t *act_dim_out, int64_t *param_count_out) {
  WSRL__CHECK_NULL(q);
  if (ensemble_size_out != NULL)
    *ensemble_size_out = q->spec.ensemble;
  if (obs_dim_out != NULL)
    *obs_dim_out = q->spec.obs_dim;
  if (act_dim_out != NULL)
    *act_dim_out = q->spec.act_dim;
  if (param_count_out != NULL)
    *param_count_out = wsrl__mlp_param_count(q->online);
  return WSRL_OK;
}

static wsrl_status_t check_predict(const wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs,
                                   const float *act, const void *out, const char *fn) {
  if (q == NULL || obs == NULL || act == NULL || out == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: argument '%s' is NULL", fn,
                       q == NULL ? "q" : obs == NULL ? "obs" : act == NULL ? "act" : "output");
  if (which != WSRL_QENSEMBLE_ONLINE && which != WSRL_QENSEMBLE_TARGET)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: which must be WSRL_QENSEMBLE_ONLINE or _TARGET (got %d)", fn,
                       which);
  if (batch < 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: batch must be > 0 (got %lld)", fn, (long long)batch);
  return WSRL_OK;
}

/* Run chunks of at most max_batch rows; after each, consume(user, r0, n,
 * q_chunk, ld) with q_chunk [E, ld]. A chunk runs at the smallest shape
 * already built that holds it (extra rows are ignored: rows are
 * independent), so predictions on a lent ensemble do not evict the
 * agent's prepared shapes. */
typedef void (*chunk_fn)(void *user, int64_t r0, int64_t n, const float *q_chunk, int64_t ld);

static wsrl_status_t run_chunks(wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs, const float *act,
                                chunk_fn consume, void *user) {
  const int64_t O = q->spec.obs_dim, A = q->spec.act_dim;
  wsrl__mlp *m = wsrl__qensemble_mlp(q, which);
  for (int64_t r0 = 0; r0 < batch; r0 += q->spec.max_batch) {
    const int64_t n = batch - r0 < q->spec.max_batch ? batch - r0 : q->spec.max_batch;
    int64_t run = wsrl__mlp_cached_batch(m, n, WSRL__MLP_SHARED);
    if (run == 0)
      run = n;
    WSRL__TRY(wsrl__qensemble_forward_rows(q, which, run, n, obs + r0 * O, act + r0 * A));
    consume(user, r0, n, wsrl__qensemble_output(q, which), run);
  }
  return WSRL_OK;
}

typedef struct {
  float *out;
  int64_t batch;
  int32_t ensemble;
  const int32_t *members;
  int32_t k;
} sink;

static void copy_chunk(void *user, int64_t r0, int64_t n, const float *qc, int64_t ld) {
  sink *s = user;
  for (int32_t e = 0; e < s->ensemble; e++)
    memcpy(s->out + (int64_t)e * s->batch + r0, qc + (int64_t)e * ld, (size_t)n * sizeof(float));
}

static void min_chunk(void *user, int64_t r0, int64_t n, const float *qc, int64_t ld) {
  sink *s = user;
  wsrl__qensemble_min_strided(qc, s->ensemble, ld, n, s->members, s->k, s->out + r0, NULL);
}

void wsrl__qensemble_share_busy(wsrl_qensemble_t *q, wsrl__busy *owner) { q->busy = owner; }

/* A writer that computes: the flag, then the fork check. */
static wsrl_status_t q_enter(wsrl_qensemble_t *q, const char *fn) {
  WSRL__TRY(wsrl__busy_enter(q->busy, WSRL__BUSY_WRITE, "Q-ensemble", fn));
  wsrl_status_t st = wsrl__nn_ctx_check_process(q->ctx, fn);
  if (st != WSRL_OK)
    wsrl__busy_leave(q->busy, WSRL__BUSY_WRITE);
  return st;
}
#define Q_GUARDED(q, fn, call)                       \
  do {                                               \
    WSRL__TRY(q_enter((q), (fn)));                   \
    wsrl_status_t q_st_ = (call);                    \
    wsrl__busy_leave((q)->busy, WSRL__BUSY_WRITE);   \
    return q_st_;                                    \
  } while (0)

/* Predictions run through the ensemble's workspace and primitive cache:
 * they write the handle, so they take it alone. */
wsrl_status_t wsrl_qensemble_predict(wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs,
                                     const float *act, float *q_out) {
  WSRL__TRY(check_predict(q, which, batch, obs, act, q_out, "wsrl_qensemble_predict"));
  sink s = {q_out, batch, q->spec.ensemble, NULL, 0};
  Q_GUARDED(q, "wsrl_qensemble_predict",
                run_chunks(q, which, batch, obs, act, copy_chunk, &s));
}

wsrl_status_t wsrl_qensemble_predict_min(wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs,
                                         const float *act, const int32_t *members, int32_t k, float *min_out) {
  WSRL__TRY(check_predict(q, which, batch, obs, act, min_out, "wsrl_qensemble_predict_min"));
  if (members != NULL) {
    if (k < 1 || k > WSRL__Q_MAX_SUBSET)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_qensemble_predict_min: k must be in [1, %d] (got %d)",
                         WSRL__Q_MAX_SUBSET, k);
    for (int32_t j = 0; j < k; j++)
      if (members[j] < 0 || members[j] >= q->spec.ensemble)
        return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                           "wsrl_qensemble_predict_min: members[%d] = %d is outside [0, %d)", j, members[j],
                           q->spec.ensemble);
  }
  sink s = {min_out, batch, q->spec.ensemble, members, k};
  Q_GUARDED(q, "wsrl_qensemble_predict_min",
                run_chunks(q, which, batch, obs, act, min_chunk, &s));
}

wsrl_status_t wsrl_qensemble_subsample(const wsrl_qensemble_t *q, uint64_t seed, int32_t k, int32_t *members_out) {
  WSRL__CHECK_NULL(q);
  WSRL__CHECK_NULL(members_out);
  if (k < 1 || k > WSRL__Q_MAX_SUBSET)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_qensemble_subsample: k must be in [1, %d] (got %d)",
                       WSRL__Q_MAX_SUBSET, k);
  wsrl__rng rng;
  wsrl__rng_seed(&rng, seed, 0);
  wsrl__qensemble_draw_subset(&rng, q->spec.ensemble, k, members_out);
  return WSRL_OK;
}

wsrl_status_t wsrl_qensemble_polyak_update(wsrl_qensemble_t *q, double tau) {
  WSRL__CHECK_NULL(q);
  if (!(tau >= 0.0 && tau <= 1.0))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_qensemble_polyak_update: tau must be in [0, 1] (got %g)", tau);
  WSRL__TRY(q_enter(q, "wsrl_qensemble_polyak_update"));
  wsrl__qensemble_polyak(q, (float)tau);
  wsrl__busy_leave(q->busy, WSRL__BUSY_WRITE);
  return WSRL_OK;
}

wsrl_status_t wsrl_qensemble_sync_targets(wsrl_qensemble_t *q) {
  WSRL__CHECK_NULL(q);
  WSRL__TRY(q_enter(q, "wsrl_qensemble_sync_targets"));
  wsrl__qensemble_sync_targets(q);
  wsrl__busy_leave(q->busy, WSRL__BUSY_WRITE);
  return WSRL_OK;
}

static wsrl_status_t check_params(const wsrl_qensemble_t *q, int32_t which, const void *buf, const char *fn) {
  if (q == NULL || buf == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: argument '%s' is NULL", fn, q == NULL ? "q" : "params");
  if (which != WSRL_QENSEMBLE_ONLINE && which != WSRL_QENSEMBLE_TARGET)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: which must be WSRL_QENSEMBLE_ONLINE or _TARGET (got %d)", fn,
                       which);
  return WSRL_OK;
}

wsrl_status_t wsrl_qensemble_get_params(const wsrl_qensemble_t *q, int32_t which, float *params_out, int64_t count) {
  WSRL__TRY(check_params(q, which, params_out, "wsrl_qensemble_get_params"));
  WSRL__GUARDED(q->busy, WSRL__BUSY_READ, "Q-ensemble", "wsrl_qensemble_get_params",
                wsrl__mlp_get_params(which == WSRL_QENSEMBLE_TARGET ? q->target : q->online, params_out, count));
}

wsrl_status_t wsrl_qensemble_set_params(wsrl_qensemble_t *q, int32_t which, const float *params, int64_t count) {
  WSRL__TRY(check_params(q, which, params, "wsrl_qensemble_set_params"));
  wsrl__mlp *m = wsrl__qensemble_mlp(q, which);
  if (count != wsrl__mlp_param_count(m))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_qensemble_set_params: count is %lld but the ensemble has %lld "
                       "parameters", (long long)count, (long long)wsrl__mlp_param_count(m));
  WSRL__TRY(wsrl__nn_check_params(params, count, "wsrl_qensemble_set_params"));
  WSRL__GUARDED(q->busy, WSRL__BUSY_WRITE, "Q-ensemble", "wsrl_qensemble_set_params",
                wsrl__mlp_set_params(m, params, count));
}

wsrl_status_t wsrl_qensemble_memory_usage(const wsrl_qensemble_t *q, uint64_t *bytes_out) {
  WSRL__CHECK_NULL(q);
  WSRL__CHECK_NULL(bytes_out);
  *bytes_out = (uint64_t)wsrl__qensemble_memory_usage(q);
  return WSRL_OK;
}
