/* Core: version, status strings, per-thread errors, allocator hooks, RNG. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "suites.h"
#include "wsrl/wsrl.h"

/* Every versioned struct's init, given an older host's smaller size inside
 * guard bytes: it writes exactly that prefix (struct_size = the host's) and
 * not one byte around it; a larger size than the library knows writes nothing. */
typedef wsrl_status_t (*init_fn)(void *, uint32_t);
#define INIT_WRAPPER(T, fn, init) \
  static wsrl_status_t wrap_##fn(void *p, uint32_t size) { return fn((T *)p, size); }
#define STRUCT_INITS(X)                                                                                 \
  X(wsrl_batch_t, wsrl_batch_init, WSRL_BATCH_INIT)                                                     \
  X(wsrl_agent_counters_t, wsrl_agent_counters_init, WSRL_AGENT_COUNTERS_INIT)                          \
  X(wsrl_env_callbacks_t, wsrl_env_callbacks_init, WSRL_ENV_CALLBACKS_INIT)                             \
  X(wsrl_env_spec_t, wsrl_env_spec_init, WSRL_ENV_SPEC_INIT)                                            \
  X(wsrl_allocator_t, wsrl_allocator_init, WSRL_ALLOCATOR_INIT)                                         \
  X(wsrl_replay_options_t, wsrl_replay_options_init, WSRL_REPLAY_OPTIONS_INIT)                          \
  X(wsrl_replay_report_t, wsrl_replay_report_init, WSRL_REPLAY_REPORT_INIT)                             \
  X(wsrl_eval_result_t, wsrl_eval_result_init, WSRL_EVAL_RESULT_INIT)                                   \
  X(wsrl_session_options_t, wsrl_session_options_init, WSRL_SESSION_OPTIONS_INIT)                       \
  X(wsrl_session_info_t, wsrl_session_info_init, WSRL_SESSION_INFO_INIT)

STRUCT_INITS(INIT_WRAPPER)
#undef INIT_WRAPPER

enum { GUARD = 32 };

static void check_init_sizes(const char *name, init_fn fn, const void *want, size_t full) {
  _Alignas(16) unsigned char buf[GUARD + 512 + GUARD];
  ck_assert_uint_le(full, 512);
  for (size_t size = sizeof(uint32_t); size <= full; size += sizeof(uint32_t)) {
    memset(buf, 0xA5, sizeof buf);
    ck_assert_msg(fn(buf + GUARD, (uint32_t)size) == WSRL_OK, "%s size %zu: %s", name, size,
                  wsrl_last_error_message());
    uint32_t got = 0;
    memcpy(&got, buf + GUARD, sizeof got);
    ck_assert_msg(got == size, "%s: struct_size %u, host's %zu", name, (unsigned)got, size);
    ck_assert_msg(memcmp(buf + GUARD + 4, (const unsigned char *)want + 4, size - 4) == 0, "%s: prefix %zu", name,
                  size);
    for (size_t i = 0; i < sizeof buf; i++)
      if (i < GUARD || i >= GUARD + size)
        ck_assert_msg(buf[i] == 0xA5, "%s size %zu: guard byte %zd written", name, size, (ssize_t)i - GUARD);
  }
  memset(buf, 0xA5, sizeof buf);
  ck_assert_int_eq(fn(buf + GUARD, (uint32_t)full + 8), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_int_eq(fn(buf + GUARD, 0), WSRL_ERR_INVALID_ARGUMENT);
  for (size_t i = 0; i < sizeof buf; i++)
    ck_assert_uint_eq(buf[i], 0xA5);
  ck_assert_int_eq(fn(NULL, (uint32_t)full), WSRL_ERR_INVALID_ARGUMENT);
}

START_TEST(struct_init_writes_only_the_callers_size) {
#define CHECK_INIT(T, fn, init)                                                   \
  {                                                                               \
    static const T want = init;                                                        \
    check_init_sizes(#T, wrap_##fn, &want, sizeof want);        \
  }
  STRUCT_INITS(CHECK_INIT)
#undef CHECK_INIT
}
END_TEST

/* The run-time layout table (wsrl/layout.h): the numbers of this compile,
 * one entry per versioned struct (a new one joins STRUCT_INITS), and errors
 * that name what is missing. */
START_TEST(layout_table_matches_this_compile) {
  uint32_t off = 99, size = 0;
  size_t nstructs = 0;
#define CHECK_LAYOUT(T, fn, init)                                                    \
  ck_assert_int_eq(wsrl_layout_get(#T, NULL, &off, &size), WSRL_OK);                 \
  ck_assert_uint_eq(off, 0);                                                         \
  ck_assert_uint_eq(size, sizeof(T));                                                \
  ck_assert_int_eq(wsrl_layout_get(#T, "struct_size", &off, &size), WSRL_OK);        \
  ck_assert_uint_eq(off, 0);                                                         \
  ck_assert_uint_eq(size, sizeof(uint32_t));                                         \
  nstructs++;
  STRUCT_INITS(CHECK_LAYOUT)
#undef CHECK_LAYOUT
  ck_assert_int_eq(wsrl_layout_get("wsrl_env_spec_t", "max_episode_steps", &off, &size), WSRL_OK);
  ck_assert_uint_eq(off, offsetof(wsrl_env_spec_t, max_episode_steps));
  ck_assert_uint_eq(size, sizeof(int64_t));
  ck_assert_int_eq(wsrl_layout_get("wsrl_batch_t", "obs", NULL, NULL), WSRL_OK);

  size_t seen = 0;
  const char *prev = "";
  for (size_t i = 0; i < wsrl_layout_count(); i++) {
    const char *type = NULL, *field = NULL;
    ck_assert_int_eq(wsrl_layout_info(i, &type, &field, &off, &size), WSRL_OK);
    ck_assert_ptr_nonnull(field);
    ck_assert_int_eq(wsrl_layout_get(type, field, NULL, &size), WSRL_OK);
    seen += strcmp(type, prev) != 0;
    prev = type;
  }
  ck_assert_uint_eq(seen, nstructs);
  ck_assert_int_eq(wsrl_layout_info(0, NULL, NULL, NULL, NULL), WSRL_OK);

  ck_assert_int_eq(wsrl_layout_info(wsrl_layout_count(), NULL, NULL, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "out of range"));
  ck_assert_int_eq(wsrl_layout_get(NULL, NULL, &off, &size), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "struct_name"));
  ck_assert_int_eq(wsrl_layout_get("wsrl_future_t", NULL, &off, &size), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "wsrl_future_t"));
  ck_assert_int_eq(wsrl_layout_get("wsrl_env_spec_t", "future_field", &off, &size), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "future_field"));
  wsrl_clear_error();
}
END_TEST

START_TEST(version_matches_header) {
  uint32_t ma, mi, pa;
  wsrl_version(&ma, &mi, &pa);
  ck_assert_uint_eq(ma, WSRL_VERSION_MAJOR);
  ck_assert_uint_eq(mi, WSRL_VERSION_MINOR);
  ck_assert_uint_eq(pa, WSRL_VERSION_PATCH);
  ck_assert_uint_eq(wsrl_version_number(), WSRL_VERSION_NUMBER);
  ck_assert_str_eq(wsrl_version_string(), WSRL_VERSION_STRING);
  wsrl_version(NULL, NULL, NULL); /* every out pointer is optional */
}
END_TEST

START_TEST(status_strings) {
  ck_assert_str_eq(wsrl_status_string(WSRL_OK), "ok");
  ck_assert_str_eq(wsrl_status_string(WSRL_ERR_INVALID_ARGUMENT), "invalid argument");
  for (int s = WSRL_ERR_BUSY; s < 0; s++)
    ck_assert_str_ne(wsrl_status_string((wsrl_status_t)s), "unknown status");
  ck_assert_str_eq(wsrl_status_string((wsrl_status_t)-999), "unknown status");
  ck_assert_str_eq(wsrl_status_string((wsrl_status_t)7), "unknown status");
}
END_TEST

START_TEST(last_error_is_set_and_cleared) {
  wsrl_clear_error();
  ck_assert_str_eq(wsrl_last_error_message(), "");
  ck_assert_int_eq(wsrl_last_error_status(), WSRL_OK);
  ck_assert_int_eq(wsrl_config_create(NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "config_out"));
  ck_assert_int_eq(wsrl_last_error_status(), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_clear_error();
  ck_assert_str_eq(wsrl_last_error_message(), "");
}
END_TEST

static void *fail_in_thread(void *arg) {
  (void)arg;
  wsrl__error(WSRL_ERR_IO, "thread-local message");
  return NULL;
}

START_TEST(last_error_is_per_thread) {
  wsrl_clear_error();
  pthread_t t;
  pthread_create(&t, NULL, fail_in_thread, NULL);
  pthread_join(t, NULL);
  ck_assert_str_eq(wsrl_last_error_message(), "");
  wsrl__error(WSRL_ERR_IO, "a %s b", "x");
  wsrl__error_wrap(WSRL_ERR_IO, "ctx %d: ", 3);
  ck_assert_str_eq(wsrl_last_error_message(), "ctx 3: a x b");
}
END_TEST

/* ---- allocator hooks ---- */

typedef struct {
  long allocs, frees;
} counts;

static void *count_alloc(void *u, size_t n) {
  ((counts *)u)->allocs++;
  return malloc(n);
}
static void *count_realloc(void *u, void *p, size_t n) {
  if (p == NULL)
    ((counts *)u)->allocs++;
  return realloc(p, n);
}
static void count_free(void *u, void *p) {
  ((counts *)u)->frees++;
  free(p);
}

START_TEST(allocator_hooks_are_used_and_guarded) {
  counts c = {0, 0};
  wsrl_allocator_t a = WSRL_ALLOCATOR_INIT;
  ck_assert_int_eq(wsrl_set_allocator(&a), WSRL_ERR_INVALID_ARGUMENT); /* hooks missing */
  a.alloc = count_alloc;
  a.realloc = count_realloc;
  a.free = count_free;
  a.user = &c;
  ck_assert_int_eq(wsrl_set_allocator(&a), WSRL_OK);
  wsrl_config_t *cfg = NULL;
  ck_assert_int_eq(wsrl_config_create(&cfg), WSRL_OK);
  ck_assert_int_eq(wsrl_live_handles(), 1);
  ck_assert_int_eq(wsrl_set_allocator(NULL), WSRL_ERR_WRONG_STATE);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "alive"));
  wsrl_config_destroy(cfg);
  ck_assert_int_eq(c.allocs, 1);
  ck_assert_int_eq(c.frees, 1);
  ck_assert_int_eq(wsrl_live_handles(), 0);
  ck_assert_int_eq(wsrl_set_allocator(NULL), WSRL_OK);

  wsrl_allocator_t big = a;
  big.struct_size = sizeof a + 8;
  ck_assert_int_eq(wsrl_set_allocator(&big), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_int_eq(wsrl_allocator_init(NULL, 0), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_allocator_t z;
  ck_assert_int_eq(wsrl_allocator_init(&z, sizeof z), WSRL_OK);
  ck_assert_uint_eq(z.struct_size, sizeof z);
  ck_assert(z.alloc == NULL && z.free == NULL);
}
END_TEST

typedef struct {
  int calls;
  int32_t level;
  char last[256];
} log_sink;

static void sink_log(void *user, int32_t level, const char *message) {
  log_sink *k = user;
  k->calls++;
  k->level = level;
  snprintf(k->last, sizeof k->last, "%s", message);
}

START_TEST(log_handler_receives_and_filters) {
  log_sink k = {0, -1, ""};
  wsrl_log_fn prev = (wsrl_log_fn)1;
  void *prev_user = (void *)1;
  wsrl_set_log_handler(sink_log, &k, WSRL_LOG_DEBUG, &prev, &prev_user);
  ck_assert(prev == NULL && prev_user == NULL); /* silent by default */
  wsrl__log(WSRL_LOG_WARN, "disk %d%% full", 95);
  ck_assert_int_eq(k.calls, 1);
  ck_assert_int_eq(k.level, WSRL_LOG_WARN);
  ck_assert_str_eq(k.last, "disk 95% full");
  /* Errors are logged at debug level with their status name. */
  wsrl_config_set(NULL, "k", "v");
  ck_assert_int_eq(k.calls, 2);
  ck_assert_ptr_nonnull(strstr(k.last, "invalid argument"));
  /* Lines above max_level are dropped. */
  wsrl_set_log_handler(sink_log, &k, WSRL_LOG_ERROR, NULL, NULL);
  wsrl__log(WSRL_LOG_INFO, "dropped");
  ck_assert_int_eq(k.calls, 2);
  wsrl_set_log_handler(NULL, NULL, WSRL_LOG_INFO, &prev, &prev_user);
  ck_assert(prev == sink_log && prev_user == &k);
  wsrl__log(WSRL_LOG_ERROR, "nobody listens");
  ck_assert_int_eq(k.calls, 2);
}
END_TEST

START_TEST(config_allocator_override_is_validated) {
  wsrl_config_t *cfg;
  ck_assert_int_eq(wsrl_config_create(&cfg), WSRL_OK);
  wsrl_allocator_t a = WSRL_ALLOCATOR_INIT;
  ck_assert_int_eq(wsrl_config_set_allocator(cfg, &a), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(wsrl__config_allocator(cfg));
  counts c = {0, 0};
  a.alloc = count_alloc;
  a.realloc = count_realloc;
  a.free = count_free;
  a.user = &c;
  ck_assert_int_eq(wsrl_config_set_allocator(cfg, &a), WSRL_OK);
  ck_assert_ptr_eq(wsrl__config_allocator(cfg)->user, &c);
  a.struct_size = 3;
  ck_assert_int_eq(wsrl_config_set_allocator(cfg, &a), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set_allocator(NULL, &a), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set_allocator(cfg, NULL), WSRL_OK);
  ck_assert_ptr_null(wsrl__config_allocator(cfg));
  wsrl_config_destroy(cfg);
}
END_TEST

START_TEST(aligned_alloc_is_aligned_and_zeroed) {
  wsrl__alloc a;
  wsrl__alloc_resolve(&a, NULL);
  for (size_t n = 1; n < 5000; n += 777) {
    unsigned char *p = wsrl__aligned_alloc(&a, n);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
    for (size_t i = 0; i < n; i++)
      ck_assert_uint_eq(p[i], 0);
    wsrl__aligned_free(&a, p);
  }
  ck_assert_ptr_null(wsrl__aligned_alloc(&a, 0));
  ck_assert_ptr_null(wsrl__calloc(&a, SIZE_MAX / 2, 4)); /* overflow caught */
}
END_TEST

/* ---- RNG ---- */

START_TEST(rng_is_deterministic_and_streams_differ) {
  wsrl__rng a, b, c;
  wsrl__rng_seed(&a, 42, 0);
  wsrl__rng_seed(&b, 42, 0);
  wsrl__rng_seed(&c, 42, 1);
  int same_c = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = wsrl__rng_next(&a);
    ck_assert_uint_eq(x, wsrl__rng_next(&b));
    same_c += x == wsrl__rng_next(&c);
  }
  ck_assert_int_eq(same_c, 0);
}
END_TEST

START_TEST(rng_known_answer) {
  /* xoshiro256** from state {1,2,3,4}: reference outputs of the published algorithm. */
  wsrl__rng r = {{1, 2, 3, 4}};
  ck_assert_uint_eq(wsrl__rng_next(&r), 11520ULL);
  ck_assert_uint_eq(wsrl__rng_next(&r), 0ULL);
  ck_assert_uint_eq(wsrl__rng_next(&r), 1509978240ULL);
  ck_assert_uint_eq(wsrl__rng_next(&r), 1215971899390074240ULL);
}
END_TEST

/* The normals: Box-Muller of the stream's consecutive draws (pinned: a
 * seed must keep its numbers), and the two-step fill gives the same ones
 * whatever the split. */
START_TEST(rng_normals_in_two_steps) {
  static const size_t sizes[] = {1, 2, 7, 64, 101};
  for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
    const size_t n = sizes[c];
    float x[101], y[101];
    uint64_t draws[102];
    wsrl__rng a, b, ref;
    wsrl__rng_seed(&a, 3, 1);
    b = ref = a;
    wsrl__rng_fill_normal(&a, x, n);
    for (size_t i = 0; i < n; i += 2) {
      const double u1 = 1.0 - wsrl__rng_uniform(&ref), u2 = wsrl__rng_uniform(&ref);
      const double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
      ck_assert_float_eq(x[i], (float)(rad * cos(th)));
      if (i + 1 < n)
        ck_assert_float_eq(x[i + 1], (float)(rad * sin(th)));
    }
    wsrl__rng_normal_draws(&b, draws, n);
    ck_assert_mem_eq(a.s, b.s, sizeof a.s);
    ck_assert_mem_eq(a.s, ref.s, sizeof a.s);
    /* blocks of 2, 4, 6, ... from the end of the previous one, then of
     * 1, 2, 3, ... (odd ends take one half of a Box-Muller pair) */
    for (size_t i0 = 0, len = 2; i0 < n; i0 += len, len += 2)
      wsrl__normals_from_draws(draws, y, i0, i0 + len < n ? i0 + len : n);
    ck_assert_mem_eq(x, y, n * sizeof(float));
    memset(y, 0, sizeof y);
    for (size_t i0 = 0, len = 1; i0 < n; i0 += len, len++)
      wsrl__normals_from_draws(draws, y, i0, i0 + len < n ? i0 + len : n);
    ck_assert_mem_eq(x, y, n * sizeof(float));
  }
}
END_TEST

START_TEST(rng_distributions) {
  wsrl__rng r;
  wsrl__rng_seed(&r, 7, 0);
  enum { N = 200000 };
  static float x[N];
  wsrl__rng_fill_normal(&r, x, N);
  double m = 0, v = 0;
  for (int i = 0; i < N; i++)
    m += x[i];
  m /= N;
  for (int i = 0; i < N; i++)
    v += (x[i] - m) * (x[i] - m);
  v /= N;
  ck_assert_double_lt(fabs(m), 0.01);
  ck_assert_double_lt(fabs(v - 1.0), 0.02);
  wsrl__rng_fill_uniform(&r, x, N, -2.0f, 3.0f);
  m = 0;
  for (int i = 0; i < N; i++) {
    ck_assert(x[i] >= -2.0f && x[i] < 3.0f);
    m += x[i];
  }
  ck_assert_double_lt(fabs(m / N - 0.5), 0.02);
  long hist[7] = {0};
  for (int i = 0; i < 70000; i++)
    hist[wsrl__rng_below(&r, 7)]++;
  for (int i = 0; i < 7; i++)
    ck_assert(hist[i] > 9500 && hist[i] < 10500);
}
END_TEST

START_TEST(finite_check) {
  float x[3] = {1.0f, 2.0f, 3.0f};
  ck_assert(wsrl__all_finite(x, 3));
  x[1] = NAN;
  ck_assert(!wsrl__all_finite(x, 3));
  x[1] = INFINITY;
  ck_assert(!wsrl__all_finite(x, 3));
}
END_TEST

Suite *wsrl_test_suite_core(void) {
  Suite *s = suite_create("core");
  TCase *t = tcase_create("core");
  tcase_add_test(t, version_matches_header);
  tcase_add_test(t, status_strings);
  tcase_add_test(t, last_error_is_set_and_cleared);
  tcase_add_test(t, last_error_is_per_thread);
  tcase_add_test(t, allocator_hooks_are_used_and_guarded);
  tcase_add_test(t, log_handler_receives_and_filters);
  tcase_add_test(t, config_allocator_override_is_validated);
  tcase_add_test(t, aligned_alloc_is_aligned_and_zeroed);
  tcase_add_test(t, rng_is_deterministic_and_streams_differ);
  tcase_add_test(t, rng_known_answer);
  tcase_add_test(t, rng_distributions);
  tcase_add_test(t, rng_normals_in_two_steps);
  tcase_add_test(t, finite_check);
  tcase_add_test(t, struct_init_writes_only_the_callers_size);
  tcase_add_test(t, layout_table_matches_this_compile);
  suite_add_tcase(s, t);
  return s;
}
