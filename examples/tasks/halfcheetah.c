/* "halfcheetah" (Gymnasium HalfCheetah-v4 definitions): reward = forward
 * velocity of rootx - 0.1 |a|^2; never terminates.
 * obs: qpos[1:] (8), qvel (9). */
#include "mjtask.h"

static void reset(mjtask *t) { mjtask_perturb(t, 0.1, 0.1, 1); }

static void step(mjtask *t, const float *action, double *reward, int32_t *terminated) {
  *reward = mjtask_simulate_vx(t, action) - 0.1 * mjtask_sumsq(t, action);
  *terminated = 0;
}

static void observe(const mjtask *t, float *obs) {
  mjtask_put(obs, t->d->qpos + 1, 8, 0);
  mjtask_put(obs + 8, t->d->qvel, 9, 0);
}

const mjtask_def wsrl_task_halfcheetah = {
    .info = {.name = "halfcheetah",
             .description = "planar cheetah, run forward",
             .model_file = "halfcheetah.xml",
             .obs_dim = 17,
             .act_dim = 6,
             .timestep = 0.01,
             .frame_skip = 5,
             .max_episode_steps = 1000,
             .sparse = 0,
             .reward_scale = 1,
             .reward_bias = 0,
             .random_return = 0},
    .reset = reset,
    .step = step,
    .observe = observe,
};
