/* "antmaze": the quadruped in a U-maze (antmaze-umaze-like). Sparse reward:
 * 1 when the torso's xy is within 0.5 m of the goal site, then the episode
 * terminates; 0 otherwise. No unhealthy termination. obs: qpos (15: x, y,
 * z, orientation quaternion, 8 joints), qvel (14); the goal is fixed and not
 * observed. */
#include <math.h>

#include "mjtask.h"

static int init(mjtask *t) {
  if ((t->body = mjtask_body(t, "torso")) < 0)
    return -1;
  int goal = mj_name2id(t->m, mjOBJ_SITE, "goal");
  if (goal < 0) {
    mjtask_fail(WSRL_ERR_CORRUPT, "antmaze: model has no site named 'goal'");
    return -1;
  }
  t->goal[0] = t->m->site_pos[3 * goal];
  t->goal[1] = t->m->site_pos[3 * goal + 1];
  return 0;
}

static void step(mjtask *t, const float *action, double *reward, int32_t *terminated) {
  mjtask_simulate(t, action);
  const mjtNum *p = t->d->xpos + 3 * t->body;
  int at_goal = hypot(p[0] - t->goal[0], p[1] - t->goal[1]) <= 0.5;
  *reward = at_goal ? 1.0 : 0.0;
  *terminated = at_goal;
}

const mjtask_def wsrl_task_antmaze = {
    .info = {.name = "antmaze",
             .description = "quadruped reaching the goal of a small U-maze (sparse reward)",
             .model_file = "antmaze.xml",
             .obs_dim = 29,
             .act_dim = 8,
             .timestep = 0.01,
             .frame_skip = 5,
             .max_episode_steps = 700,
             .sparse = 1,
             .reward_scale = 10,
             .reward_bias = -5,
             .random_return = 0},
    .init = init,
    .reset_qpos_noise = 0.1,
    .reset_qvel_noise = 0.1,
    .reset_qvel_normal = 1,
    .step = step,
};
