/* Single-observation act latency at 1 thread: wsrl_policy_act() on a
 * snapshot (plain C) against wsrl_agent_act() (oneDNN), for the default
 * 256x256 LayerNorm actor on HalfCheetah's sizes (obs 17, act 6).
 * Also the cost an update pays to publish a snapshot (a copy of the actor).
 * Prints 'name value unit' lines; each call is timed on its own. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agents/agent_internal.h"
#include "wsrl/wsrl.h"

enum { OBS = 17, ACT = 6, CALLS = 20000, WARMUP = 2000 };

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int fail(const char *what) {
  fprintf(stderr, "bench-policy: %s failed: %s\n", what, wsrl_last_error_message());
  return 1;
}

/* which 0: the snapshot, deterministic; 1: the snapshot, stochastic; 2: the agent. */
static int measure(wsrl_agent_t *ag, const wsrl_policy_t *p, int which, const float *obs, double *lat) {
  float a[ACT];
  uint64_t stream = 1;
  for (int i = -WARMUP; i < CALLS; i++) {
    const float *o = obs + (size_t)((i + WARMUP) % 64) * OBS;
    const double t0 = now_us();
    wsrl_status_t st = which == 0   ? wsrl_policy_act(p, o, WSRL_ACT_DETERMINISTIC, NULL, a)
                       : which == 1 ? wsrl_policy_act(p, o, WSRL_ACT_STOCHASTIC, &stream, a)
                                    : wsrl_agent_act(ag, 1, o, WSRL_ACT_DETERMINISTIC, a);
    const double t1 = now_us();
    if (st != WSRL_OK)
      return fail("act");
    if (i >= 0)
      lat[i] = t1 - t0;
  }
  qsort(lat, CALLS, sizeof *lat, cmp);
  return 0;
}

int main(void) {
  wsrl_config_t *c = NULL;
  if (wsrl_config_create(&c) != WSRL_OK || wsrl_config_set(c, "agent.threads", "1") != WSRL_OK)
    return fail("config");
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = OBS;
  spec.act_dim = ACT;
  wsrl_agent_t *ag = NULL;
  wsrl_policy_t *p = NULL;
  if (wsrl_agent_create(&ag, c, &spec) != WSRL_OK)
    return fail("wsrl_agent_create");
  if (wsrl_agent_policy(ag, &p) != WSRL_OK)
    return fail("wsrl_agent_policy");
  static float obs[64 * OBS];
  srand(1);
  for (int i = 0; i < 64 * OBS; i++)
    obs[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
  static double lat[CALLS];
  const char *names[3] = {"policy_act_det", "policy_act_stoch", "agent_act_det"};
  printf("bench-policy: 256x256 LayerNorm actor, obs %d, act %d, 1 thread, %d calls each\n", OBS, ACT, CALLS);
  for (int w = 0; w < 3; w++) {
    if (measure(ag, p, w, obs, lat) != 0)
      return 1;
    printf("%s_p50 %.2f us\n%s_p99 %.2f us\n", names[w], lat[CALLS / 2], names[w], lat[CALLS * 99 / 100]);
  }
  /* Publishing: what every update adds (no reader holds the new slots). */
  for (int i = 0; i < CALLS / 10; i++) {
    const double t0 = now_us();
    wsrl__agent_publish(ag);
    lat[i] = now_us() - t0;
  }
  qsort(lat, CALLS / 10, sizeof *lat, cmp);
  printf("policy_publish_p50 %.2f us\npolicy_publish_p99 %.2f us\n", lat[CALLS / 20], lat[CALLS / 10 * 99 / 100]);
  wsrl_policy_release(p);
  wsrl_agent_destroy(ag);
  wsrl_config_destroy(c);
  return 0;
}
