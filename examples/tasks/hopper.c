/* "hopper" (Gymnasium Hopper-v4 definitions): reward = forward velocity of
 * rootx + 1 (healthy) - 1e-3 |a|^2; terminates when unhealthy: torso height
 * qpos[1] <= 0.7, |torso angle qpos[2]| >= 0.2, or any |state[2:]| >= 100.
 * obs: qpos[1:] (5), clip(qvel, -10, 10) (6). */
#include "mjtask.h"

static int healthy(const mjtask *t) {
  double z = t->d->qpos[1], angle = t->d->qpos[2];
  return mjtask_state_ok(t, 2, 100.0) && z > 0.7 && angle > -0.2 && angle < 0.2;
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
             .reward_scale = 1,
             .random_return = 19.88},
    .reset_qpos_noise = 5e-3,
    .reset_qvel_noise = 5e-3,
    .healthy_bonus = 1.0,
    .ctrl_cost_weight = 1e-3,
    .healthy = healthy,
    .obs_qpos_skip = 1,
    .obs_vel_clip = 10.0,
};
