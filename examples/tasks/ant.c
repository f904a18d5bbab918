/* "ant" (Gymnasium Ant-v4 definitions, contact forces off): reward =
 * forward x velocity of the torso body + 1 (healthy) - 0.5 |a|^2; terminates
 * when unhealthy: a non-finite state or torso height qpos[2] outside
 * [0.2, 1.0]. obs: qpos[2:] (13: z, orientation quaternion, 8 joints),
 * qvel (14). */
#include "mjtask.h"

static int init(mjtask *t) { return (t->body = mjtask_body(t, "torso")) < 0 ? -1 : 0; }

static void reset(mjtask *t) { mjtask_perturb(t, 0.1, 0.1, 1); }

static void step(mjtask *t, const float *action, double *reward, int32_t *terminated) {
  *reward = mjtask_simulate_vx(t, action) + 1.0 - 0.5 * mjtask_sumsq(t, action);
  double z = t->d->qpos[2];
  *terminated = !(mjtask_state_ok(t, 0, 0) && z >= 0.2 && z <= 1.0);
}

static void observe(const mjtask *t, float *obs) {
  mjtask_put(obs, t->d->qpos + 2, 13, 0);
  mjtask_put(obs + 13, t->d->qvel, 14, 0);
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
             .sparse = 0,
             .reward_scale = 1,
             .reward_bias = 0,
             .random_return = 0},
    .init = init,
    .reset = reset,
    .step = step,
    .observe = observe,
};
