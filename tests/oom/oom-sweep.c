/* Allocation-failure sweep (docs/reliability.md): for each scenario
 * (create/load/import/save of every handle) count its allocations through
 * the host allocator hooks, then rerun it failing the N-th allocation for
 * N = 1..all. Every run must end with WSRL_OK or WSRL_ERR_OUT_OF_MEMORY
 * from the failing call, the handles that exist must still work (act,
 * sample, save with the allocator healthy again), and after destroying
 * them no allocation may be outstanding; freeing an unknown or already
 * freed pointer aborts. oneDNN's own allocations bypass the hooks and are
 * not swept.
 *
 * Usage: oom-sweep [SCENARIO]   (all scenarios without an argument) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wsrl/wsrl.h"

/* ---- the counting allocator ---- */

#define LIVE_CAP (1u << 18)
static void *live[LIVE_CAP]; /* open addressing; (void *)1 marks a deleted slot */
static long outstanding, calls, fail_at;
#define TOMB ((void *)1)

static size_t slot_of(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 46); }

static void live_add(void *p) {
  for (size_t i = slot_of(p);; i = (i + 1) & (LIVE_CAP - 1))
    if (live[i] == NULL || live[i] == TOMB) {
      live[i] = p;
      outstanding++;
      return;
    }
}

static void live_del(void *p) {
  for (size_t i = slot_of(p); live[i] != NULL; i = (i + 1) & (LIVE_CAP - 1))
    if (live[i] == p) {
      live[i] = TOMB;
      outstanding--;
      return;
    }
  fprintf(stderr, "oom-sweep: free of a pointer not allocated or already freed (double free) at fail_at %ld\n",
          fail_at);
  abort();
}

static int should_fail(void) { return ++calls == fail_at; }

static void *t_alloc(void *user, size_t size) {
  if (should_fail())
    return NULL;
  void *p = malloc(size ? size : 1);
  if (p)
    live_add(p);
  return p;
}

static void *t_realloc(void *user, void *ptr, size_t size) {
  if (should_fail())
    return NULL;
  if (ptr)
    live_del(ptr);
  void *p = realloc(ptr, size ? size : 1);
  live_add(p ? p : ptr); /* on failure ptr stays the caller's */
  return p;
}

static void t_free(void *user, void *ptr) {
  if (ptr) {
    live_del(ptr);
    free(ptr);
  }
}

/* ---- scenarios ---- */

static char dir[256];
static char path_a[300], path_b[300], path_c[300];
static int failures;

#define CHECK(cond, what)                                                                                              \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      fprintf(stderr, "oom-sweep: %s: %s at fail_at %ld (last error: %s)\n", scenario, what, fail_at,                 \
              wsrl_last_error_message());                                                                              \
      failures++;                                                                                                      \
    }                                                                                                                  \
  } while (0)

/* A step either succeeds or fails with OUT_OF_MEMORY; returns 1 to go on. */
static int step(const char *scenario, wsrl_status_t st, const char *what) {
  if (st == WSRL_OK)
    return 1;
  if (st != WSRL_ERR_OUT_OF_MEMORY) {
    char m[200];
    snprintf(m, sizeof m, "%s returned %s instead of OUT_OF_MEMORY", what, wsrl_status_string(st));
    CHECK(0, m);
  }
  return 0;
}

static void disarm(void) { fail_at = 0; }

static const char small_text[] = "critic.hidden = 8,8\nactor.hidden = 8,8\ncritic.ensemble_size = 2\n"
                                 "critic.subsample = 2\nupdate.batch_size = 4\ncql.n_actions = 2\nagent.threads = 1\n"
                                 "replay.capacity = 64\nfinetune.warmup_steps = 2\n";
static const float obs0[3] = {0.1f, -0.2f, 0.3f};

static void fill(wsrl_replay_t *r, int rows) {
  float o[3] = {0}, a[2] = {0};
  for (int i = 0; i < rows; i++) {
    o[0] = (float)i;
    wsrl_replay_add(r, o, a, 0.5f * (float)i, o, i % 4 == 3, 0);
  }
}

static void sc_config(void) {
  const char *scenario = "config";
  wsrl_config_t *c = NULL;
  if (step(scenario, wsrl_config_create(&c), "config_create") &&
      step(scenario, wsrl_config_parse_string(c, small_text), "config_parse_string") &&
      step(scenario, wsrl_config_parse_file(c, path_c), "config_parse_file")) {
    size_t need = 0;
    step(scenario, wsrl_config_write_string(c, NULL, 0, &need), "config_write_string");
  }
  disarm();
  if (c != NULL)
    CHECK(wsrl_config_parse_string(c, "agent.seed = 3\n") == WSRL_OK, "the config is unusable after a failure");
  wsrl_config_destroy(c);
}

static void check_replay(const char *scenario, wsrl_replay_t *r) {
  int64_t n = 0;
  wsrl_replay_size(r, &n);
  float so[6], sa[4], rew[2], next[6], mask[2], mc[2];
  if (n > 0)
    CHECK(wsrl_replay_sample(r, 2, so, sa, rew, next, mask, mc) == WSRL_OK, "the buffer does not sample");
  CHECK(wsrl_replay_save(r, path_b) == WSRL_OK, "the buffer does not save");
}

static void sc_replay(void) {
  const char *scenario = "replay";
  wsrl_replay_t *r = NULL, *s = NULL;
  if (step(scenario, wsrl_replay_create(&r, 3, 2, 32, NULL), "replay_create")) {
    fill(r, 20);
    if (step(scenario, wsrl_replay_save(r, path_b), "replay_save") &&
        step(scenario, wsrl_replay_create(&s, 3, 2, 32, NULL), "replay_create") &&
        step(scenario, wsrl_replay_load(s, path_a, NULL), "replay_load"))
      step(scenario, wsrl_replay_load(s, path_b, NULL), "replay_load");
  }
  disarm();
  if (r)
    check_replay(scenario, r);
  if (s)
    check_replay(scenario, s);
  wsrl_replay_destroy(s);
  wsrl_replay_destroy(r);
}

static void sc_hdf5(void) {
  const char *scenario = "hdf5";
  wsrl_replay_t *r = NULL;
  char h5[320];
  snprintf(h5, sizeof h5, "%s/out.h5", dir);
  if (step(scenario, wsrl_replay_create(&r, 3, 2, 32, NULL), "replay_create") &&
      step(scenario, wsrl_replay_import_hdf5(r, path_a, NULL), "replay_import_hdf5"))
    step(scenario, wsrl_replay_export_hdf5(r, h5), "replay_export_hdf5");
  disarm();
  if (r)
    check_replay(scenario, r);
  wsrl_replay_destroy(r);
}

static void check_agent(const char *scenario, wsrl_agent_t *a) {
  float act[2];
  CHECK(wsrl_agent_act(a, 1, obs0, WSRL_ACT_DETERMINISTIC, act) == WSRL_OK, "the agent does not act");
  CHECK(wsrl_agent_save(a, path_b) == WSRL_OK, "the agent does not save");
}

static wsrl_status_t small_agent(wsrl_agent_t **out, const char *algorithm) {
  wsrl_config_t *c = NULL;
  wsrl_status_t st = wsrl_config_create(&c);
  if (st == WSRL_OK)
    st = wsrl_config_parse_string(c, small_text);
  if (st == WSRL_OK)
    st = wsrl_config_set(c, "agent.algorithm", algorithm);
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = 3;
  spec.act_dim = 2;
  if (st == WSRL_OK)
    st = wsrl_agent_create(out, c, &spec);
  wsrl_config_destroy(c);
  return st;
}

static void sc_agent(void) {
  const char *scenario = "agent";
  wsrl_agent_t *a = NULL, *b = NULL;
  if (step(scenario, small_agent(&a, "calql"), "agent_create") &&
      step(scenario, wsrl_agent_save(a, path_b), "agent_save") &&
      step(scenario, wsrl_agent_load(a, path_a), "agent_load"))
    step(scenario, wsrl_agent_create_from_checkpoint(&b, path_a, NULL), "agent_create_from_checkpoint");
  disarm();
  if (a)
    check_agent(scenario, a);
  if (b)
    check_agent(scenario, b);
  wsrl_agent_destroy(b);
  wsrl_agent_destroy(a);
}

static void sc_session(void) {
  const char *scenario = "session";
  wsrl_agent_t *a = NULL;
  wsrl_replay_t *d = NULL;
  wsrl_session_t *s = NULL;
  wsrl_session_options_t o = WSRL_SESSION_OPTIONS_INIT;
  if (step(scenario, small_agent(&a, "calql"), "agent_create") &&
      step(scenario, wsrl_replay_create(&d, 3, 2, 16, NULL), "replay_create")) {
    fill(d, 8);
    o.offline = d;
    float act[2];
    if (step(scenario, wsrl_session_create(&s, a, &o), "session_create") &&
        step(scenario, wsrl_session_act(s, obs0, act), "session_act") &&
        step(scenario, wsrl_session_observe(s, obs0, act, 1.0f, obs0, 0, 0), "session_observe") &&
        step(scenario, wsrl_session_save(s, path_b, WSRL_SESSION_SAVE_REPLAY), "session_save") &&
        access(path_a, F_OK) == 0) /* absent while write_inputs() makes it */
      step(scenario, wsrl_session_load(s, path_a), "session_load");
  }
  disarm();
  if (s) {
    float act[2];
    CHECK(wsrl_session_act(s, obs0, act) == WSRL_OK, "the session does not act");
    CHECK(wsrl_session_save(s, path_b, WSRL_SESSION_SAVE_REPLAY) == WSRL_OK, "the session does not save");
  }
  wsrl_session_destroy(s);
  wsrl_replay_destroy(d);
  wsrl_agent_destroy(a);
}

/* ---- inputs the loads read, written with the allocator healthy ---- */

static void write_inputs(const char *name) {
  FILE *f = fopen(path_c, "w");
  fputs(small_text, f);
  fclose(f);
  wsrl_replay_t *r = NULL;
  wsrl_agent_t *a = NULL;
  if (strcmp(name, "replay") == 0 || strcmp(name, "hdf5") == 0) {
    wsrl_replay_create(&r, 3, 2, 32, NULL);
    fill(r, 20);
    if ((strcmp(name, "hdf5") == 0 ? wsrl_replay_export_hdf5(r, path_a) : wsrl_replay_save(r, path_a)) != WSRL_OK)
      abort();
    wsrl_replay_destroy(r);
  } else if (strcmp(name, "agent") == 0) {
    if (small_agent(&a, "calql") != WSRL_OK || wsrl_agent_save(a, path_a) != WSRL_OK)
      abort();
    wsrl_agent_destroy(a);
  } else if (strcmp(name, "session") == 0) {
    remove(path_a);
    sc_session(); /* writes path_b */
    if (rename(path_b, path_a) != 0)
      abort();
  }
}

typedef struct scenario_def {
  const char *name;
  void (*run)(void);
} scenario_def;

static const scenario_def scenarios[] = {
    {"config", sc_config}, {"replay", sc_replay}, {"hdf5", sc_hdf5}, {"agent", sc_agent}, {"session", sc_session},
};

static void sweep(const scenario_def *s) {
  write_inputs(s->name);
  disarm();
  calls = 0;
  s->run();
  long total = calls;
  if (outstanding != 0 || failures) {
    fprintf(stderr, "oom-sweep: %s fails without injected failures (%ld outstanding)\n", s->name, outstanding);
    failures++;
    return;
  }
  int before = failures;
  for (long n = 1; n <= total; n++) {
    calls = 0;
    fail_at = n;
    s->run();
    if (outstanding != 0) {
      fprintf(stderr, "oom-sweep: %s leaks %ld allocations when allocation %ld fails\n", s->name, outstanding, n);
      failures++;
      outstanding = 0;
      memset(live, 0, sizeof live);
    }
  }
  printf("oom-sweep: %-8s %5ld allocation points, %d failing\n", s->name, total, failures - before);
}

int main(int argc, char **argv) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(dir, sizeof dir, "%s/wsrl-oom-XXXXXX", tmp);
  if (mkdtemp(dir) == NULL)
    return 1;
  snprintf(path_a, sizeof path_a, "%s/in", dir);
  snprintf(path_b, sizeof path_b, "%s/out", dir);
  snprintf(path_c, sizeof path_c, "%s/config", dir);
  wsrl_allocator_t al = WSRL_ALLOCATOR_INIT;
  al.alloc = t_alloc;
  al.realloc = t_realloc;
  al.free = t_free;
  if (wsrl_set_allocator(&al) != WSRL_OK)
    return 1;
  for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
    if (argc > 1 && strcmp(argv[1], scenarios[i].name) != 0)
      continue;
    if (strcmp(scenarios[i].name, "hdf5") == 0 && !WSRL_OOM_HDF5)
      continue;
    sweep(&scenarios[i]);
  }
  char p[320];
  const char *names[] = {"in", "out", "config", "out.h5"};
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    remove(p);
  }
  rmdir(dir);
  return failures != 0;
}
