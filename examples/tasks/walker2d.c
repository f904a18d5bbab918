/* "walker2d" (Gymnasium Walker2d-v4 definitions): reward = forward velocity
 * of rootx + 1 (healthy) - 1e-3 |a|^2; terminates when unhealthy: torso
 * height qpos[1] outside (0.8, 2.0) or torso angle qpos[2] outside (-1, 1).
 * obs: qpos[1:] (8), clip(qvel, -10, 10) (9). */
#include "mjtask.h"

static int healthy(const mjtask *t) {
  double z = t->d->qpos[1], angle = t->d->qpos[2];
  return z > 0.8 && z < 2.0 && angle > -1.0 && angle < 1.0;
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
             .reward_scale = 1,
             .random_return = 2.90},
    .reset_qpos_noise = 5e-3,
    .reset_qvel_noise = 5e-3,
    .healthy_bonus = 1.0,
    .ctrl_cost_weight = 1e-3,
    .healthy = healthy,
    .obs_qpos_skip = 1,
    .obs_vel_clip = 10.0,
};
