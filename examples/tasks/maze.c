/* The U-maze tasks (umaze.xml): "antmaze" (the quadruped, antmaze-umaze-like)
 * and "pointmaze" (a point mass, maze2d-umaze-like). Both are sparse: reward 1
 * when the tracked body's xy is within 0.5 m of the goal site, then the
 * episode terminates; 0 otherwise; no unhealthy termination; the goal is
 * fixed and not observed. obs: qpos then qvel, whole (antmaze: x, y, z,
 * orientation quaternion, 8 joints, then 14 velocities; pointmaze: x, y, vx,
 * vy), so obs[0], obs[1] is the tracked body's xy for the potential. */
#include <math.h>

#include "mjtask.h"

static int init_maze(mjtask *t, const char *body) {
  if ((t->body = mjtask_body(t, body)) < 0)
    return -1;
  int goal = mj_name2id(t->m, mjOBJ_SITE, "goal");
  if (goal < 0) {
    mjtask_fail(WSRL_ERR_CORRUPT, "%s: model has no site named 'goal'", t->def->info.name);
    return -1;
  }
  t->goal[0] = t->m->site_pos[3 * goal];
  t->goal[1] = t->m->site_pos[3 * goal + 1];
  return 0;
}

static int init_ant(mjtask *t) { return init_maze(t, "torso"); }
static int init_point(mjtask *t) { return init_maze(t, "ball"); }

/* The corridors' centre line from the start cell to the goal cell. */
static const double PATH[][2] = {{0, 0}, {6, 0}, {6, 6}, {0, 6}};
#define PATH_POINTS (sizeof PATH / sizeof PATH[0])

/* Minus the path length left to the goal: the body's xy (obs[0], obs[1])
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

/* Both tasks start anywhere but the goal cell (as D4RL's maze2d, which
 * starts in a random cell): one of the six other open cells, uniformly,
 * then U(+-0.5 m) around its centre. The success rate then grades a policy
 * by how far from the goal it copes, and a learner from scratch sees
 * successes from its first episodes (the quadruped, from the far start
 * only, saw none in 500K steps: docs/results.md). */
static const double START_CELLS[][2] = {{0, 0}, {3, 0}, {6, 0}, {6, 3}, {6, 6}, {3, 6}};
#define START_CELL_COUNT (sizeof START_CELLS / sizeof START_CELLS[0])

static const double *start_cell(mjtask *t) {
  size_t cell = (size_t)mjtask_uniform(t, 0, START_CELL_COUNT);
  return START_CELLS[cell < START_CELL_COUNT ? cell : START_CELL_COUNT - 1];
}

/* The point mass: U(+-0.1 m/s) velocities. */
static void reset_point(mjtask *t) {
  const double *cell = start_cell(t);
  for (int i = 0; i < 2; i++) {
    t->d->qpos[i] = cell[i] + mjtask_uniform(t, -0.5, 0.5);
    t->d->qvel[i] = mjtask_uniform(t, -0.1, 0.1);
  }
}

/* The quadruped: the reset noise of ant, then the torso moved to its start
 * cell. */
static void reset_ant(mjtask *t) {
  mjtask_perturb(t, wsrl_task_ant.reset_qpos_noise, wsrl_task_ant.reset_qvel_noise,
                 wsrl_task_ant.reset_qvel_normal);
  const double *cell = start_cell(t);
  for (int i = 0; i < 2; i++)
    t->d->qpos[i] = cell[i] + mjtask_uniform(t, -0.5, 0.5);
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
             .random_return = 0.02},
    .init = init_ant,
    .reset = reset_ant,
    .step = step,
    .potential = potential,
};

const mjtask_def wsrl_task_pointmaze = {
    .info = {.name = "pointmaze",
             .description = "point mass reaching the goal of a small U-maze (sparse reward; fast)",
             .model_file = "pointmaze.xml",
             .obs_dim = 4,
             .act_dim = 2,
             .timestep = 0.01,
             .frame_skip = 5,
             .max_episode_steps = 300,
             .sparse = 1,
             .reward_scale = 10,
             .reward_bias = -5,
             .random_return = 0.01},
    .init = init_point,
    .reset = reset_point,
    .step = step,
    .potential = potential,
};
