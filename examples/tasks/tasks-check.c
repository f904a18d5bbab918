/* wsrl-tasks-check: load every example task (or the ones named), run
 * uniform random actions and print the sizes and the mean random return.
 * Fails (exit 1) when a task does not load, its sizes disagree with the
 * registry, a step fails, an episode does not replay identically from its
 * seed, a shaping potential misses its known values, or a maze task starts
 * outside its start cells. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasks.h"

static uint64_t rng_state = 12345;

static float uniform_unit(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (float)(2.0 * (double)(z >> 11) * 0x1.0p-53 - 1.0);
}

/* One episode with random actions from the current generator state. */
static wsrl_status_t episode(wsrl_env_t *env, const wsrl_example_task_info_t *info, uint64_t seed, float *obs,
                             float *act, double *ret_out, int64_t *len_out) {
  wsrl_status_t st = wsrl_env_reset(env, seed, obs);
  int32_t terminated = 0, truncated = 0;
  double ret = 0;
  int64_t len = 0;
  while (st == WSRL_OK && !terminated && !truncated) {
    for (int32_t i = 0; i < info->act_dim; i++)
      act[i] = uniform_unit();
    float r = 0;
    st = wsrl_env_step(env, act, obs, &r, &terminated, &truncated);
    ret += r;
    len++;
  }
  *ret_out = ret;
  *len_out = len;
  return st;
}

static int check_task(const wsrl_example_task_info_t *info, int episodes, int64_t max_steps) {
  wsrl_example_task_options_t opt = {NULL, max_steps};
  wsrl_env_t *env = NULL;
  if (wsrl_example_task_create(&env, info->name, &opt) != WSRL_OK) {
    fprintf(stderr, "%s: %s\n", info->name, wsrl_example_task_error());
    return 1;
  }
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  wsrl_env_get_spec(env, &spec);
  int bad = spec.obs_dim != info->obs_dim || spec.act_dim != info->act_dim;
  float *obs = calloc((size_t)spec.obs_dim, sizeof *obs), *act = calloc((size_t)spec.act_dim, sizeof *act);
  double sum = 0, sumsq = 0, first = 0, replay = 0;
  int64_t steps = 0, len = 0;
  clock_t t0 = clock();
  wsrl_status_t st = WSRL_OK;
  for (int e = 0; e < episodes && st == WSRL_OK && !bad; e++) {
    double ret;
    st = episode(env, info, (uint64_t)e, obs, act, &ret, &len);
    sum += ret;
    sumsq += ret * ret;
    steps += len;
    if (e == 0)
      first = ret;
  }
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  /* Same seed and same actions must give the same episode. */
  if (st == WSRL_OK && !bad) {
    rng_state = 12345;
    st = episode(env, info, 0, obs, act, &replay, &len);
    bad = replay != first;
  }
  double mean = sum / episodes, sd = sqrt(fmax(0, sumsq / episodes - mean * mean));
  printf("%-12s obs %3d act %2d  dt %.3f s  limit %5lld  random return %9.2f +- %7.2f  (%d episodes, "
         "%.0f steps/episode, %.0f steps/s)\n",
         info->name, (int)spec.obs_dim, (int)spec.act_dim, info->timestep * info->frame_skip,
         (long long)spec.max_episode_steps, mean, sd, episodes, (double)steps / episodes,
         secs > 0 ? (double)steps / secs : 0.0);
  if (st != WSRL_OK)
    fprintf(stderr, "%s: %s: %s\n", info->name, wsrl_status_string(st), wsrl_last_error_message());
  else if (spec.obs_dim != info->obs_dim || spec.act_dim != info->act_dim)
    fprintf(stderr, "%s: sizes differ from the registry (obs %d, act %d)\n", info->name, (int)info->obs_dim,
            (int)info->act_dim);
  else if (bad)
    fprintf(stderr, "%s: episode 0 replayed with return %.17g instead of %.17g\n", info->name, replay, first);
  free(obs);
  free(act);
  wsrl_env_destroy(env);
  return st != WSRL_OK || bad;
}

/* Known values of the shaping potentials (docs/tasks.md): the maze tasks'
 * is minus the corridor centre line's length left from the body's (x, y). */
static const struct {
  const char *task;
  float x, y;
  double phi;
} potential_points[] = {
    {"antmaze", 0, 0, -18}, {"antmaze", 6, 0, -12}, {"antmaze", 6, 3, -9}, {"antmaze", 3, 6.5f, -3},
    {"antmaze", 0, 6, 0},   {"antmaze", -1, 6, 0},   {"pointmaze", 0, 0, -18}, {"pointmaze", 6, 4, -8},
};

static int check_potentials(void) {
  int bad = 0;
  float obs[64] = {0};
  for (size_t i = 0; i < sizeof potential_points / sizeof potential_points[0]; i++) {
    wsrl_example_potential_fn phi = wsrl_example_task_potential(potential_points[i].task);
    obs[0] = potential_points[i].x;
    obs[1] = potential_points[i].y;
    const double got = phi != NULL ? phi(obs) : NAN;
    if (!(fabs(got - potential_points[i].phi) < 1e-9)) {
      fprintf(stderr, "%s: potential at (%g, %g) is %g, expected %g\n", potential_points[i].task,
              (double)obs[0], (double)obs[1], got, potential_points[i].phi);
      bad = 1;
    }
  }
  if (wsrl_example_task_potential("hopper") != NULL || wsrl_example_task_potential("no-such-task") != NULL) {
    fprintf(stderr, "a dense or unknown task reports a shaping potential\n");
    bad = 1;
  }
  return bad;
}

/* Both maze tasks reset into one of the six open cells other than the
 * goal's, U(+-0.5 m) around its centre (docs/tasks.md): over 300 reset
 * seeds every start lies in some cell's square and every cell is used. */
static int check_maze_starts(const char *task) {
  static const float cells[6][2] = {{0, 0}, {3, 0}, {6, 0}, {6, 3}, {6, 6}, {3, 6}};
  wsrl_env_t *env = NULL;
  if (wsrl_example_task_create(&env, task, NULL) != WSRL_OK) {
    fprintf(stderr, "%s: %s\n", task, wsrl_example_task_error());
    return 1;
  }
  float obs[64];
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  wsrl_env_get_spec(env, &spec);
  int used[6] = {0}, bad = spec.obs_dim > 64;
  if (bad)
    fprintf(stderr, "%s: obs_dim %d does not fit the check's buffer\n", task, (int)spec.obs_dim);
  for (uint64_t seed = 0; seed < 300 && !bad; seed++) {
    if (wsrl_env_reset(env, seed, obs) != WSRL_OK) {
      fprintf(stderr, "%s: reset with seed %llu failed\n", task, (unsigned long long)seed);
      bad = 1;
      break;
    }
    int cell = -1;
    for (int c = 0; c < 6; c++)
      if (fabsf(obs[0] - cells[c][0]) <= 0.5f && fabsf(obs[1] - cells[c][1]) <= 0.5f)
        cell = c;
    if (cell < 0) {
      fprintf(stderr, "%s: reset seed %llu starts at (%g, %g), outside the start cells\n", task,
              (unsigned long long)seed, (double)obs[0], (double)obs[1]);
      bad = 1;
    } else {
      used[cell]++;
    }
  }
  for (int c = 0; c < 6 && !bad; c++)
    if (used[c] == 0) {
      fprintf(stderr, "%s: no reset seed of 300 starts in the cell at (%g, %g)\n", task, (double)cells[c][0],
              (double)cells[c][1]);
      bad = 1;
    }
  wsrl_env_destroy(env);
  return bad;
}

int main(int argc, char **argv) {
  int episodes = 10, named = 0, failures = 0;
  int64_t max_steps = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      printf("usage: %s [--episodes N] [--max-steps N] [TASK...]\n"
             "Runs uniform random actions in each example task (all by default) with reset seeds 0..N-1\n"
             "and prints the sizes and the mean random return. Models are searched in $WSRL_MODEL_DIR,\n"
             "the installed data directory and the source tree.\n",
             argv[0]);
      return 0;
    }
    if (strcmp(argv[i], "--episodes") == 0 && i + 1 < argc)
      episodes = atoi(argv[++i]);
    else if (strcmp(argv[i], "--max-steps") == 0 && i + 1 < argc)
      max_steps = atoll(argv[++i]);
    else
      named++;
  }
  if (episodes < 1) {
    fprintf(stderr, "--episodes must be >= 1\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--episodes") == 0 || strcmp(argv[i], "--max-steps") == 0) {
      i++;
      continue;
    }
    const wsrl_example_task_info_t *info = wsrl_example_task_find(argv[i]);
    if (info == NULL) {
      fprintf(stderr, "unknown task '%s'\n", argv[i]);
      return 2;
    }
    rng_state = 12345;
    failures += check_task(info, episodes, max_steps);
  }
  for (size_t i = 0; named == 0 && i < wsrl_example_task_count(); i++) {
    rng_state = 12345;
    failures += check_task(wsrl_example_task_at(i), episodes, max_steps);
  }
  failures += check_potentials();
  failures += check_maze_starts("antmaze") + check_maze_starts("pointmaze");
  return failures == 0 ? 0 : 1;
}
