/*
 * Shared machinery of the example tasks (internal to examples/tasks): one
 * generic set of libwsrl callbacks over a MuJoCo model, parameterised by a
 * task definition. A task file only states its sizes and writes reset noise,
 * reward/termination and the observation.
 */
#ifndef WSRL_EXAMPLE_MJTASK_H
#define WSRL_EXAMPLE_MJTASK_H

#include <mujoco/mujoco.h>

#include "tasks.h"

typedef struct mjtask mjtask;

typedef struct mjtask_def {
  wsrl_example_task_info_t info;
  /* Optional: look up ids in the loaded model; return 0, or set an error
   * with mjtask_fail() and return -1. */
  int (*init)(mjtask *t);

  /* Reset: the state starts at the model's defaults, then either reset()
   * perturbs it, or (reset == NULL) the standard noise below is added:
   * qpos += U(-reset_qpos_noise, +), qvel += U(-reset_qvel_noise, +) or
   * reset_qvel_noise * N(0, 1) when reset_qvel_normal. */
  void (*reset)(mjtask *t);
  double reset_qpos_noise;
  double reset_qvel_noise;
  int reset_qvel_normal;

  /* Step: either step() applies the action (mjtask_simulate) and scores the
   * transition, or (step == NULL) the locomotion definition is used:
   * reward = forward velocity (mjtask_simulate_vx) + healthy_bonus
   *          - ctrl_cost_weight |a|^2,
   * terminated = healthy != NULL && !healthy(t). */
  void (*step)(mjtask *t, const float *action, double *reward, int32_t *terminated);
  double healthy_bonus;
  double ctrl_cost_weight;
  int (*healthy)(const mjtask *t);

  /* Observation: either observe() writes info.obs_dim floats, or
   * (observe == NULL) it is qpos[obs_qpos_skip:] followed by qvel clipped to
   * [-obs_vel_clip, obs_vel_clip] (0: not clipped). */
  void (*observe)(const mjtask *t, float *obs);
  int obs_qpos_skip;
  double obs_vel_clip;

  /* Optional shaping potential (tasks.h, wsrl_example_task_potential). */
  wsrl_example_potential_fn potential;
} mjtask_def;

struct mjtask {
  const mjtask_def *def;
  mjModel *m;
  mjData *d;
  uint64_t rng;  /* splitmix64 state, seeded by reset */
  int body;      /* the tracked body (torso), if the task uses one */
  double goal[2];
  int unstable;  /* MuJoCo reported bad qpos/qvel/qacc during the last step */
};

/* Registered tasks (one file each). */
extern const mjtask_def wsrl_task_pendulum;
extern const mjtask_def wsrl_task_hopper;
extern const mjtask_def wsrl_task_halfcheetah;
extern const mjtask_def wsrl_task_walker2d;
extern const mjtask_def wsrl_task_ant;
extern const mjtask_def wsrl_task_antmaze;
extern const mjtask_def wsrl_task_pointmaze;

/* Create the env for def from an already loaded model (takes ownership of m
 * on success and on failure). */
wsrl_status_t mjtask_create(wsrl_env_t **env_out, const mjtask_def *def, mjModel *m, int64_t max_episode_steps);

/* Record the thread's error message (printf-style) and return st. */
wsrl_status_t mjtask_fail(wsrl_status_t st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- helpers for task files ---- */
double mjtask_uniform(mjtask *t, double lo, double hi);
double mjtask_normal(mjtask *t);
/* qpos += U(-qpos_scale, qpos_scale); qvel += U(-s, s) or s * N(0, 1) when
 * qvel_normal; quaternions of free/ball joints are renormalised. */
void mjtask_perturb(mjtask *t, double qpos_scale, double qvel_scale, int qvel_normal);
/* Set ctrl from the action and run frame_skip physics steps. */
void mjtask_simulate(mjtask *t, const float *action);
/* mjtask_simulate, returning the forward (+x) velocity over the step: of
 * the tracked body t->body when set (>= 0), else of qpos[0] (a rootx slide). */
double mjtask_simulate_vx(mjtask *t, const float *action);
/* Seconds per env step: timestep * frame_skip. */
double mjtask_dt(const mjtask *t);
/* sum of action^2 over the actuators. */
double mjtask_sumsq(const mjtask *t, const float *action);
/* Copy n values as floats, clipped to [-clip, clip] when clip > 0. */
void mjtask_put(float *dst, const mjtNum *src, int n, double clip);
/* 1 when every entry of the state vector [qpos, qvel] from index `from` on
 * is finite and |x| < bound (bound <= 0: finiteness only). */
int mjtask_state_ok(const mjtask *t, int from, double bound);
/* Body id by name, or -1 after mjtask_fail(). */
int mjtask_body(mjtask *t, const char *name);

#endif /* WSRL_EXAMPLE_MJTASK_H */
