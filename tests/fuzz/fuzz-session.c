/* Fuzz harness: session files (wsrl_session_load into a Cal-QL session
 * with a small offline dataset). Every input gives an allowed status; a
 * failed load leaves the session acting as before; a file that loads
 * acts with a finite action (or WSRL_ERR_NON_FINITE), saves and loads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

typedef struct fixture {
  wsrl_config_t *config;
  wsrl_agent_t *agent;
  wsrl_replay_t *offline;
  wsrl_session_t *session;
} fixture;

static fixture fx;
static float before[2];

static const float obs0[3] = {0.1f, -0.2f, 0.3f};

static void make(fixture *f) {
  f->config = fuzz_small_config("calql");
  f->agent = fuzz_small_agent(f->config);
  if (wsrl_replay_create(&f->offline, 3, 2, 16, NULL) != WSRL_OK)
    fuzz_die("cannot make the dataset");
  float o[3] = {0}, a[2] = {0};
  for (int i = 0; i < 8; i++) {
    o[0] = (float)i;
    wsrl_replay_add(f->offline, o, a, 0.5f * (float)i, o, i % 4 == 3, 0);
  }
  wsrl_session_options_t opt = WSRL_SESSION_OPTIONS_INIT;
  opt.offline = f->offline;
  if (wsrl_session_create(&f->session, f->agent, &opt) != WSRL_OK)
    fuzz_die("cannot make the session");
}

static void unmake(fixture *f) {
  wsrl_session_destroy(f->session);
  wsrl_replay_destroy(f->offline);
  wsrl_agent_destroy(f->agent);
  wsrl_config_destroy(f->config);
}

static void act(float out[2]) {
  wsrl_status_t st = wsrl_agent_act(fx.agent, 1, obs0, WSRL_ACT_DETERMINISTIC, out);
  if (st != WSRL_OK && st != WSRL_ERR_NON_FINITE)
    fuzz_die("act after a session load failed");
  if (st == WSRL_OK && !(isfinite(out[0]) && isfinite(out[1])))
    fuzz_die("act returned OK with a non-finite action");
}

static void cleanup(void) { unmake(&fx); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fx.session == NULL) {
    atexit(cleanup); /* leak checkers see only the library's leaks */
    make(&fx);
    act(before);
  }
  const char *in = fuzz_scratch(0);
  fuzz_write(in, data, size);
  wsrl_status_t st = wsrl_session_load(fx.session, in);
  if (!fuzz_status_allowed(st))
    fuzz_die("session_load returned an unexpected status");
  float out[2];
  act(out);
  if (st != WSRL_OK) {
    if (memcmp(out, before, sizeof out) != 0)
      fuzz_die("a failed load changed the agent");
    return 0;
  }
  memcpy(before, out, sizeof out);
  if (wsrl_session_save(fx.session, fuzz_scratch(1), WSRL_SESSION_SAVE_REPLAY) != WSRL_OK)
    fuzz_die("saving a loaded session failed");
  if (wsrl_session_load(fx.session, fuzz_scratch(1)) != WSRL_OK)
    fuzz_die("a saved session does not load again");
  return 0;
}

/* A fresh session, and one with steps observed, with and without its buffer. */
static int write_seeds(const char *dir) {
  fixture f = {0};
  make(&f);
  char path[600];
  int n = 0;
  for (int k = 0; k < 3; k++) {
    if (k == 1) {
      float a[2];
      for (int i = 0; i < 5; i++) {
        if (wsrl_session_act(f.session, obs0, a) != WSRL_OK ||
            wsrl_session_observe(f.session, obs0, a, 1.0f, obs0, 0, i == 4) != WSRL_OK)
          fuzz_die("seed steps failed");
      }
    }
    snprintf(path, sizeof path, "%s/seed-%d", dir, n++);
    if (wsrl_session_save(f.session, path, k == 2 ? 0 : WSRL_SESSION_SAVE_REPLAY) != WSRL_OK)
      fuzz_die("seed save failed");
  }
  unmake(&f);
  return n;
}

const fuzz_target_t fuzz_target = {"session", write_seeds, 1, NULL};
