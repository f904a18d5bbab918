/* Fuzz harness: agent checkpoints (wsrl_agent_create_from_checkpoint and
 * wsrl_agent_load). Every input gives an allowed status; a failed load
 * leaves the target agent acting as before; a checkpoint that loads acts
 * with a finite action (or WSRL_ERR_NON_FINITE), saves and loads again. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static const char *const algorithms[] = {"sac", "calql", "iql"};
static wsrl_agent_t *target;
static float before[2];

static void act(wsrl_agent_t *a, float out[2]) {
  const float obs[3] = {0.1f, -0.2f, 0.3f};
  wsrl_status_t st = wsrl_agent_act(a, 1, obs, WSRL_ACT_DETERMINISTIC, out);
  if (st != WSRL_OK && st != WSRL_ERR_NON_FINITE)
    fuzz_die("act on a loaded agent failed");
  if (st == WSRL_OK && !(isfinite(out[0]) && isfinite(out[1])))
    fuzz_die("act returned OK with a non-finite action");
}

static void cleanup(void) { wsrl_agent_destroy(target); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (target == NULL) {
    atexit(cleanup); /* leak checkers see only the library's leaks */
    wsrl_config_t *c = fuzz_small_config("sac");
    target = fuzz_small_agent(c);
    wsrl_config_destroy(c);
    act(target, before);
  }
  const char *in = fuzz_scratch(0);
  fuzz_write(in, data, size);
  wsrl_agent_t *a = NULL;
  wsrl_status_t st = wsrl_agent_create_from_checkpoint(&a, in, NULL);
  if (!fuzz_status_allowed(st) && st != WSRL_ERR_OUT_OF_MEMORY)
    fuzz_die("create_from_checkpoint returned an unexpected status");
  if (st == WSRL_OK) {
    float out[2];
    act(a, out);
    if (wsrl_agent_save(a, fuzz_scratch(1)) != WSRL_OK)
      fuzz_die("saving a loaded agent failed");
    wsrl_agent_t *b = NULL;
    if (wsrl_agent_create_from_checkpoint(&b, fuzz_scratch(1), NULL) != WSRL_OK)
      fuzz_die("a saved agent does not load again");
    wsrl_agent_destroy(b);
    wsrl_agent_destroy(a);
  } else if (a != NULL) {
    fuzz_die("a failed create left an agent");
  }
  st = wsrl_agent_load(target, in);
  if (!fuzz_status_allowed(st))
    fuzz_die("agent_load returned an unexpected status");
  if (st != WSRL_OK) {
    float out[2];
    act(target, out);
    if (memcmp(out, before, sizeof out) != 0)
      fuzz_die("a failed load changed the agent");
  } else {
    act(target, before);
  }
  return 0;
}

static int write_seeds(const char *dir) {
  char path[600];
  int n = 0;
  for (size_t k = 0; k < sizeof algorithms / sizeof algorithms[0]; k++) {
    wsrl_config_t *c = fuzz_small_config(algorithms[k]);
    wsrl_agent_t *a = fuzz_small_agent(c);
    snprintf(path, sizeof path, "%s/seed-%d", dir, n++);
    if (wsrl_agent_save(a, path) != WSRL_OK)
      fuzz_die("seed save failed");
    wsrl_agent_destroy(a);
    wsrl_config_destroy(c);
  }
  return n;
}

const fuzz_target_t fuzz_target = {"checkpoint", write_seeds, 1, NULL};
