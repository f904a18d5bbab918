/* "halfcheetah" (Gymnasium HalfCheetah-v4 definitions): reward = forward
 * velocity of rootx - 0.1 |a|^2; never terminates.
 * obs: qpos[1:] (8), qvel (9). */
#include "mjtask.h"

const mjtask_def wsrl_task_halfcheetah = {
    .info = {.name = "halfcheetah",
             .description = "planar cheetah, run forward",
             .model_file = "halfcheetah.xml",
             .obs_dim = 17,
             .act_dim = 6,
             .timestep = 0.01,
             .frame_skip = 5,
             .max_episode_steps = 1000,
             .reward_scale = 1,
             .random_return = -279.25},
    .reset_qpos_noise = 0.1,
    .reset_qvel_noise = 0.1,
    .reset_qvel_normal = 1,
    .ctrl_cost_weight = 0.1,
    .obs_qpos_skip = 1,
};
