/* The trivial C env of the env-step benchmarks: observations of zeros,
 * reward 0, never ends. bench-env-step links it; bench-python.py loads the
 * bench-env-trivial module to run it next to its Python twin in one process. */
#include "env-trivial.h"

#include <string.h>

int32_t bench_trivial_reset(void *user, uint64_t seed, float *obs) {
  (void)user;
  (void)seed;
  memset(obs, 0, BENCH_TRIVIAL_OBS * sizeof *obs);
  return 0;
}

int32_t bench_trivial_step(void *user, const float *action, float *obs, float *reward, int32_t *terminated,
                           int32_t *truncated) {
  (void)user;
  (void)action;
  memset(obs, 0, BENCH_TRIVIAL_OBS * sizeof *obs);
  *reward = 0.0f;
  *terminated = 0;
  *truncated = 0;
  return 0;
}
