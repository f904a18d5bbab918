/* "pendulum": torque-limited swing-up (the classic Pendulum definition on a
 * MuJoCo hinge). obs: cos(theta), sin(theta), theta_dot with theta = 0
 * upright; reward -(theta^2 + 0.1 theta_dot^2 + 0.001 u^2) on the state
 * before the step (theta wrapped to [-pi, pi)); never terminates. */
#include <math.h>

#include "mjtask.h"

#define PI 3.14159265358979323846

static void reset(mjtask *t) {
  t->d->qpos[0] = mjtask_uniform(t, -PI, PI);
  t->d->qvel[0] = mjtask_uniform(t, -1, 1);
}

static void step(mjtask *t, const float *action, double *reward, int32_t *terminated) {
  double th = fmod(fmod(t->d->qpos[0] + PI, 2 * PI) + 2 * PI, 2 * PI) - PI;
  double thdot = t->d->qvel[0], u = action[0];
  *reward = -(th * th + 0.1 * thdot * thdot + 0.001 * u * u);
  *terminated = 0;
  mjtask_simulate(t, action);
}

static void observe(const mjtask *t, float *obs) {
  obs[0] = (float)cos(t->d->qpos[0]);
  obs[1] = (float)sin(t->d->qpos[0]);
  obs[2] = (float)t->d->qvel[0];
}

const mjtask_def wsrl_task_pendulum = {
    .info = {.name = "pendulum",
             .description = "pole swing-up with a 2 N m motor (fast demo task)",
             .model_file = "pendulum.xml",
             .obs_dim = 3,
             .act_dim = 1,
             .timestep = 0.01,
             .frame_skip = 5,
             .max_episode_steps = 200,
             .reward_scale = 1,
             .random_return = -1267.73},
    .reset = reset,
    .step = step,
    .observe = observe,
};
