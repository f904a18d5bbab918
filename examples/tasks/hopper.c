/* "hopper" (Gymnasium Hopper-v4 definitions): reward = forward velocity of
 * rootx + 1 (healthy) - 1e-3 |a|^2; terminates when unhealthy: torso height
 * qpos[1] <= 0.7, |torso angle qpos[2]| >= 0.2, or any |state[2:]| >= 100.
 * obs: qpos[1:] (5), clip(qvel, -10, 10) (6). */
#include "mjtask.h"

static void reset(mjtask *t) { mjtask_perturb(t, 5e-3, 5e-3, 0); }

static int healthy(const mjtask *t) {
  double z = t->d->qpos[1], angle = t->d->qpos[2];
  return mjtask_state_ok(t, 2, 100.0) && z > 0.7 && angle > -0.2 && angle < 0.2;
}

static void step(mjtask *t, const float *action, double *reward, int32_t *terminated) {
  *reward = mjtask_simulate_vx(t, action) + 1.0 - 1e-3 * mjtask_sumsq(t, action);
  *terminated = !healthy(t);
}

static void observe(const mjtask *t, float *obs) {
  mjtask_put(obs, t->d->qpos + 1, 5, 0);
  mjtask_put(obs + 5, t->d->qvel, 6, 10.0);
}

const mjtask_def wsrl_task_hopper = {
    .info = {.name = "hopper",
             .description = "planar one-legged hopper, run forward without falling",
             .model_file = "hopper.xml",
             .obs_dim = 11,
             .act_dim = 3,
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
