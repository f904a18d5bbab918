/* The trivial C env of the env-step benchmarks (env-trivial.c). */
#ifndef BENCH_ENV_TRIVIAL_H
#define BENCH_ENV_TRIVIAL_H

#include <stdint.h>

/* HalfCheetah's sizes. */
enum { BENCH_TRIVIAL_OBS = 17, BENCH_TRIVIAL_ACT = 6 };

int32_t bench_trivial_reset(void *user, uint64_t seed, float *obs);
int32_t bench_trivial_step(void *user, const float *action, float *obs, float *reward, int32_t *terminated,
                           int32_t *truncated);

#endif
