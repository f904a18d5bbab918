/*
 * Toy tasks for tests: small, fast, deterministic control problems written
 * in plain C against the public env callbacks (no MuJoCo), for the learning
 * tests and the training-loop tests.
 *
 * Both tasks are deterministic given the seed passed to reset: the seed
 * draws the initial state (and the goal), the dynamics have no noise.
 * Each create function returns a wsrl_env_t that owns its task state; the
 * state is freed by the env's close callback (wsrl_env_destroy()).
 *
 * Reference returns (TOY_*_RETURN) are means over 100 episodes with reset
 * seeds 0..99, measured with toy_mean_return(); the random policy draws
 * uniform actions in [-1, 1] from toy_mean_return()'s own generator seeded
 * with 0. test-env checks them.
 */
#ifndef WSRL_TOY_ENVS_H
#define WSRL_TOY_ENVS_H

#include <stdint.h>

#include "wsrl/env.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- point-mass reach ----
 * A point in the box [-1, 1]^2 pushed by a force toward a goal drawn with
 * the start position at reset.
 *   obs (6): x, y, vx, vy, goal_x - x, goal_y - y
 *   act (2): force, bounds [-2, 2] (so actions are scaled by the library)
 *   dynamics (per step): v <- 0.8 v + 0.25 a; p <- clip(p + 0.1 v, -1, 1),
 *     a velocity component is zeroed when its wall is hit
 *   reward: -|p - goal| after the move
 *   terminated: |p - goal| < 0.1; time limit 50 steps */
#define TOY_POINT_OBS_DIM 6
#define TOY_POINT_ACT_DIM 2
#define TOY_POINT_MAX_STEPS 50
#define TOY_POINT_RANDOM_RETURN (-48.65)
#define TOY_POINT_EXPERT_RETURN (-3.84)

/* ---- pendulum swing-up (the classic Pendulum-v1 definition) ----
 *   obs (3): cos(theta), sin(theta), theta_dot   (theta = 0 is upright)
 *   act (1): torque, bounds [-2, 2]
 *   dynamics: dt 0.05, g 10, m 1, l 1;
 *     theta_dot <- clip(theta_dot + (3 g / (2 l) sin(theta) + 3 / (m l^2) u) dt, -8, 8);
 *     theta <- theta + theta_dot dt
 *   reward: -(norm(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2) on the state before the step
 *   reset: theta ~ U[-pi, pi], theta_dot ~ U[-1, 1]
 *   never terminates; time limit 200 steps */
#define TOY_PENDULUM_OBS_DIM 3
#define TOY_PENDULUM_ACT_DIM 1
#define TOY_PENDULUM_MAX_STEPS 200
#define TOY_PENDULUM_RANDOM_RETURN (-1235.21)
#define TOY_PENDULUM_EXPERT_RETURN (-150.82)

/* Fault injection and overrides; zero-initialise ({0}) for the defaults.
 * Step and reset counts are 1-based and run over the env's whole life. */
typedef struct toy_env_options {
  int64_t max_episode_steps; /* 0 = the task's default above */
  int64_t fail_step;         /* the fail_step-th step callback returns fail_code */
  int64_t fail_reset;        /* the fail_reset-th reset callback returns fail_code */
  int32_t fail_code;         /* 0 means 1 */
  const char *fail_message;  /* given to wsrl_set_callback_error() when failing; may be NULL */
  int64_t nan_obs_step;      /* the nan_obs_step-th step writes NaN into obs[0] */
  int64_t nan_reward_step;   /* the nan_reward_step-th step returns a NaN reward */
  int32_t *close_count;      /* incremented by the close callback; may be NULL */
} toy_env_options_t;

/* options may be NULL. Returns wsrl_env_create()'s status (or
 * WSRL_ERR_OUT_OF_MEMORY for the task state). */
wsrl_status_t toy_point_create(wsrl_env_t **env_out, const toy_env_options_t *options);
wsrl_status_t toy_pendulum_create(wsrl_env_t **env_out, const toy_env_options_t *options);

/* A policy: write act_dim actions in [-1, 1] for obs. */
typedef void (*toy_policy_fn)(void *user, const float *obs, float *action_unit_out);

/* Scripted near-optimal controllers (user unused), e.g. for offline datasets. */
void toy_point_expert(void *user, const float *obs, float *action_unit_out);
void toy_pendulum_expert(void *user, const float *obs, float *action_unit_out);

/* Mean undiscounted return over `episodes` episodes with reset seeds
 * seed, seed + 1, ...; policy NULL = uniform random actions drawn from a
 * generator seeded with `seed`. Returns the first failing status. */
wsrl_status_t toy_mean_return(wsrl_env_t *env, toy_policy_fn policy, void *user, int32_t episodes, uint64_t seed,
                              double *mean_out);

#ifdef __cplusplus
}
#endif

#endif /* WSRL_TOY_ENVS_H */
