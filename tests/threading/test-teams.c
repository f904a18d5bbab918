/* OpenMP teams forked by act() (meson test `teams`, suite unit).
 *
 * act() on a learner with agent.threads = 2 and one observation must run on
 * the calling thread: forking a team for a one-row forward cost more than
 * the forward (6.4 us at 1 thread, 14 us at 2). This executable replaces
 * libgomp's GOMP_parallel (exported, so it also catches oneDNN's regions),
 * counts the teams and forwards to the real one. A 256-row act() is the
 * control: it must fork, else the OpenMP runtime is not libgomp (clang's
 * libomp enters through other symbols) and the test is skipped. It runs
 * in chunks of 64 rows, and the actor's forward of a chunk is one team of
 * row blocks through all layers (not a team per matmul and kernel): at
 * most 4 teams.
 *
 * An update (SAC, UTD 4) forks a team per fork and join it pays for: per
 * critic step one for its forwards (the policy at s' and the online critics,
 * then the targets: one forward group), one for the critic backward and one
 * for the joint Adam step; for the actor, one for its forward group, one for
 * the critics' input gradient, one for its backward (the sample backward's
 * rows inside), one for the temperature's forward and one for the Adam
 * step: 17 in all (33 before the forward groups, 24 before the actor's
 * backward ran in one region). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "wsrl/wsrl.h"

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);

static atomic_long teams;

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags) {
  static gomp_parallel_fn real;
  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "GOMP_parallel");
  if (real == NULL) {
    fprintf(stderr, "teams: GOMP_parallel called but not found in libgomp\n");
    abort();
  }
  atomic_fetch_add(&teams, 1);
  real(fn, data, num_threads, flags);
}

#define O 17
#define A 6
#define ROWS 256

static void check(wsrl_status_t st, const char *what) {
  if (st != WSRL_OK) {
    fprintf(stderr, "teams: %s: %s\n", what, wsrl_last_error_message());
    exit(1);
  }
}

/* Teams forked by one act() on n observations. */
static long act_teams(wsrl_agent_t *ag, int32_t n, int32_t flags, const float *obs, float *act) {
  const long before = atomic_load(&teams);
  check(wsrl_agent_act(ag, n, obs, flags, act), "act");
  return atomic_load(&teams) - before;
}

/* An agent for O observations and A actions from a config text. */
static wsrl_agent_t *make_agent(const char *config) {
  wsrl_config_t *c = NULL;
  check(wsrl_config_create(&c), "config");
  check(wsrl_config_parse_string(c, config), "config");
  wsrl_env_spec_t s = WSRL_ENV_SPEC_INIT;
  s.obs_dim = O;
  s.act_dim = A;
  wsrl_agent_t *ag = NULL;
  check(wsrl_agent_create(&ag, c, &s), "agent");
  wsrl_config_destroy(c);
  return ag;
}

#define UPDATE_TEAMS 13

/* Teams per update of a small SAC learner at 2 threads, after warm-up
 * updates (which build the shapes): 1 if above UPDATE_TEAMS. */
static int update_teams_high(void) {
  wsrl_agent_t *ag = make_agent("agent.algorithm = sac\nagent.threads = 2\nupdate.batch_size = 256\n"
                                 "update.utd = 4\ncritic.hidden = 256,256\nactor.hidden = 256,256\n");
  int64_t rows = 0;
  check(wsrl_agent_batch_rows(ag, &rows), "batch_rows");
  float *obs = malloc(sizeof(float) * (size_t)(rows * O)), *next = malloc(sizeof(float) * (size_t)(rows * O));
  float *act = malloc(sizeof(float) * (size_t)(rows * A)), *rew = malloc(sizeof(float) * (size_t)rows);
  float *mask = malloc(sizeof(float) * (size_t)rows);
  for (int64_t i = 0; i < rows * O; i++)
    obs[i] = (float)((i * 37) % 101) / 50.0f - 1.0f, next[i] = (float)((i * 53) % 97) / 48.0f - 1.0f;
  for (int64_t i = 0; i < rows * A; i++)
    act[i] = (float)((i * 29) % 89) / 44.0f - 1.0f;
  for (int64_t i = 0; i < rows; i++)
    rew[i] = (float)(i % 7) / 7.0f, mask[i] = 1.0f;
  wsrl_batch_t b = WSRL_BATCH_INIT;
  b.size = rows, b.obs = obs, b.action = act, b.reward = rew, b.next_obs = next, b.mask = mask;
  for (int i = 0; i < 2; i++)
    check(wsrl_agent_update(ag, &b), "update");
  const long before = atomic_load(&teams);
  check(wsrl_agent_update(ag, &b), "update");
  const long n = atomic_load(&teams) - before;
  printf("teams: an update (SAC, UTD 4, agent.threads = 2): %ld teams (at most %d)\n", n, UPDATE_TEAMS);
  wsrl_agent_destroy(ag);
  free(obs), free(next), free(act), free(rew), free(mask);
  return n > UPDATE_TEAMS;
}

int main(void) {
  wsrl_agent_t *ag = make_agent("agent.algorithm = sac\nagent.threads = 2\n");
  static float obs[ROWS * O], act[ROWS * A];
  for (int i = 0; i < ROWS * O; i++)
    obs[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  /* First calls build each shape's primitives; count the second ones. */
  (void)act_teams(ag, ROWS, WSRL_ACT_DETERMINISTIC, obs, act);
  const long control = act_teams(ag, ROWS, WSRL_ACT_DETERMINISTIC, obs, act);
  if (control == 0) {
    printf("teams: a %d-row act() forked no GOMP_parallel team: not libgomp, skipped\n", ROWS);
    wsrl_agent_destroy(ag);
    return 77;
  }
  /* One observation, as a control loop asks (more are padded to the
   * agent's act chunk, a shape worth a team). */
  int failures = 0;
  if (control > ROWS / 64) {
    printf("teams: a %d-row deterministic act() forked %ld teams (at most %d: one per 64-row chunk)\n", ROWS,
           control, ROWS / 64);
    failures++;
  }
  for (int32_t flags = 0; flags <= WSRL_ACT_DETERMINISTIC; flags += WSRL_ACT_DETERMINISTIC) {
    (void)act_teams(ag, 1, flags, obs, act);
    const long t = act_teams(ag, 1, flags, obs, act);
    printf("teams: act(%s) on one observation, agent.threads = 2: %ld team(s) (%d rows: %ld)\n",
           flags ? "deterministic" : "stochastic", t, ROWS, control);
    failures += t != 0;
  }
  failures += update_teams_high();
  wsrl_agent_destroy(ag);
  return failures != 0;
}
