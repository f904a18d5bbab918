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

/* The corridors' centre line from the start cell to the goal cell. */
static const double PATH[][2] = {{0, 0}, {6, 0}, {6, 6}, {0, 6}};
#define PATH_POINTS (sizeof PATH / sizeof PATH[0])

/* Minus the path length left to the goal: the torso's xy (obs[0], obs[1])
 * is projected onto the nearest segment of the centre line (the walls
 * keep each corridor nearest to its own segment). */
static double potential(const float *obs) {
  double best_d2 = INFINITY, left = 0.0;
  for (size_t i = 0; i + 1 < PATH_POINTS; i++) {
    const double ax = PATH[i][0], ay = PATH[i][1], dx = PATH[i + 1][0] - ax, dy = PATH[i + 1][1] - ay;
    const double len = hypot(dx, dy);
    double u = ((obs[0] - ax) * dx + (obs[1] - ay) * dy) / (len * len);
    u = u < 0.0 ? 0.0 : u > 1.0 ? 1.0 : u;
    const double ex = obs[0] - (ax + u * dx), ey = obs[1] - (ay + u * dy), d2 = ex * ex + ey * ey;
    if (d2 < best_d2) {
      best_d2 = d2;
      left = (1.0 - u) * len;
      for (size_t j = i + 1; j + 1 < PATH_POINTS; j++)
        left += hypot(PATH[j + 1][0] - PATH[j][0], PATH[j + 1][1] - PATH[j][1]);
    }
  }
  return -left;
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
    .potential = potential,
};
