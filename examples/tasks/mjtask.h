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
  /* Perturb the state just reset to the model's defaults (use t's RNG). */
  void (*reset)(mjtask *t);
  /* Apply the action (mjtask_simulate), then score the transition. */
  void (*step)(mjtask *t, const float *action, double *reward, int32_t *terminated);
  /* Write info.obs_dim floats. */
  void (*observe)(const mjtask *t, float *obs);
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
