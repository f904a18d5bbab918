/* "ant" (Gymnasium Ant-v4 definitions, contact forces off): reward =
 * forward x velocity of the torso body + 1 (healthy) - 0.5 |a|^2; terminates
 * when unhealthy: a non-finite state or torso height qpos[2] outside
 * [0.2, 1.0]. obs: qpos[2:] (13: z, orientation quaternion, 8 joints),
 * qvel (14). */
#include "mjtask.h"

static int init(mjtask *t) { return (t->body = mjtask_body(t, "torso")) < 0 ? -1 : 0; }

static int healthy(const mjtask *t) {
  double z = t->d->qpos[2];
  return mjtask_state_ok(t, 0, 0) && z >= 0.2 && z <= 1.0;
}

const mjtask_def wsrl_task_ant = {
    .info = {.name = "ant",
             .description = "quadruped on a flat floor, run forward (+x)",
             .model_file = "ant.xml",
             .obs_dim = 27,
             .act_dim = 8,
             .timestep = 0.01,
             .frame_skip = 5,
             .max_episode_steps = 1000,
             .reward_scale = 1,
             .random_return = -52.09},
    .init = init,
    .reset_qpos_noise = 0.1,
    .reset_qvel_noise = 0.1,
    .reset_qvel_normal = 1,
    .healthy_bonus = 1.0,
    .ctrl_cost_weight = 0.5,
    .healthy = healthy,
    .obs_qpos_skip = 2,
};
