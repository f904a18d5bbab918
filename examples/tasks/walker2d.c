/* "walker2d" (Gymnasium Walker2d-v4 definitions): reward = forward velocity
 * of rootx + 1 (healthy) - 1e-3 |a|^2; terminates when unhealthy: torso
 * height qpos[1] outside (0.8, 2.0) or torso angle qpos[2] outside (-1, 1).
 * obs: qpos[1:] (8), clip(qvel, -10, 10) (9). */
#include "mjtask.h"

static void reset(mjtask *t) { mjtask_perturb(t, 5e-3, 5e-3, 0); }

static int healthy(const mjtask *t) {
  double z = t->d->qpos[1], angle = t->d->qpos[2];
  return z > 0.8 && z < 2.0 && angle > -1.0 && angle < 1.0;
}

static void step(mjtask *t, const float *action, double *reward, int32_t *terminated) {
  *reward = mjtask_simulate_vx(t, action) + 1.0 - 1e-3 * mjtask_sumsq(t, action);
  *terminated = !healthy(t);
}

static void observe(const mjtask *t, float *obs) {
  mjtask_put(obs, t->d->qpos + 1, 8, 0);
  mjtask_put(obs + 8, t->d->qvel, 9, 10.0);
}

const mjtask_def wsrl_task_walker2d = {
    .info = {.name = "walker2d",
             .description = "planar biped, walk forward without falling",
             .model_file = "walker2d.xml",
             .obs_dim = 17,
             .act_dim = 6,
             .timestep = 0.002,
             .frame_skip = 4,
             .max_episode_steps = 1000,
             .sparse = 0,
             .reward_scale = 1,
             .reward_bias = 0,
             .random_return = 0},
    .reset = reset,
    .step = step,
    .observe = observe,
};
