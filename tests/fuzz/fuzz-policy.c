/* Fuzz harness: policy files (wsrl_policy_load). Every input gives an
 * allowed status and, on failure, no policy; a policy that loads acts from
 * any observation with a finite action inside its bounds (deterministic and
 * stochastic), saves, and loads again acting with the same bits. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

enum { MAXD = WSRL_POLICY_MAX_WIDTH };

static void check_act(const wsrl_policy_t *p, int32_t O, int32_t A, float *out) {
  static float obs[MAXD], low[MAXD], high[MAXD];
  for (int32_t i = 0; i < O; i++)
    obs[i] = (float)((i % 7) - 3) * 0.37f;
  wsrl_policy_bounds(p, low, high);
  for (int32_t flags = 0; flags < 2; flags++) {
    uint64_t stream = 9;
    const wsrl_status_t st = wsrl_policy_act(p, obs, flags, &stream, out + flags * A);
    if (st != WSRL_OK && st != WSRL_ERR_NON_FINITE)
      fuzz_die("act on a loaded policy failed");
    for (int32_t k = 0; st == WSRL_OK && k < A; k++)
      if (!(out[flags * A + k] >= low[k] && out[flags * A + k] <= high[k]))
        fuzz_die("act returned OK with an action outside the bounds (or NaN)");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = fuzz_scratch(0);
  fuzz_write(in, data, size);
  wsrl_policy_t *p = (wsrl_policy_t *)&size;
  wsrl_status_t st = wsrl_policy_load(&p, in);
  if (!fuzz_status_allowed(st))
    fuzz_die("policy_load returned an unexpected status");
  if (st != WSRL_OK) {
    if (p != NULL)
      fuzz_die("a failed load left a policy");
    return 0;
  }
  int32_t O = 0, A = 0;
  wsrl_policy_info(p, &O, &A, NULL);
  static float a1[2 * MAXD], a2[2 * MAXD];
  check_act(p, O, A, a1);
  wsrl_policy_t *q = NULL;
  if (wsrl_policy_save(p, fuzz_scratch(1)) != WSRL_OK || wsrl_policy_load(&q, fuzz_scratch(1)) != WSRL_OK)
    fuzz_die("a loaded policy does not save and load again");
  check_act(q, O, A, a2);
  if (memcmp(a1, a2, sizeof(float) * 2 * (size_t)A) != 0)
    fuzz_die("a reloaded policy acts differently");
  wsrl_policy_release(q);
  wsrl_policy_release(p);
  return 0;
}

static int write_seeds(const char *dir) {
  /* The actor variants: exp std + tanh (sac), uniform std without tanh, no
   * LayerNorm, TD3+BC's deterministic head behind an observation
   * normalisation (sections "head" and "obs_norm"). */
  static const char *const variants[][3] = {{"sac", NULL, NULL},
                                            {"iql", "actor.std_parameterization", "uniform"},
                                            {"sac", "actor.layer_norm", "0"},
                                            {"td3bc", "td3bc.normalize_states", "1"}};
  char path[600];
  int n = 0;
  for (size_t k = 0; k < sizeof variants / sizeof variants[0]; k++) {
    wsrl_config_t *c = fuzz_small_config(variants[k][0]);
    if (variants[k][1] != NULL && wsrl_config_set(c, variants[k][1], variants[k][2]) != WSRL_OK)
      fuzz_die("seed config failed");
    if (k == 1 && wsrl_config_set(c, "actor.tanh_squash", "0") != WSRL_OK)
      fuzz_die("seed config failed");
    wsrl_agent_t *a = fuzz_small_agent(c);
    wsrl_policy_t *p = NULL;
    snprintf(path, sizeof path, "%s/seed-%d", dir, n++);
    if (wsrl_agent_policy(a, &p) != WSRL_OK || wsrl_policy_save(p, path) != WSRL_OK)
      fuzz_die("seed save failed");
    wsrl_policy_release(p);
    wsrl_agent_destroy(a);
    wsrl_config_destroy(c);
  }
  return n;
}

const fuzz_target_t fuzz_target = {"policy", write_seeds, 1, NULL};
