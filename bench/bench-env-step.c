/* Per-step cost of the WSRL warmup with a trivial C env (what
 * bench-python.py's Python env is compared against): the default 256x256
 * actor at 1 thread on HalfCheetah's sizes, wsrl_finetune() steps that
 * all fall inside the warmup (act + env + replay add, no update). The
 * figure is the fastest of BLOCKS blocks, which a loaded machine disturbs
 * least. Prints 'name value unit' lines. */
#include <stdio.h>
#include <time.h>

#include "env-trivial.h"
#include "wsrl/wsrl.h"

enum { OBS = BENCH_TRIVIAL_OBS, ACT = BENCH_TRIVIAL_ACT, BLOCK = 2000, BLOCKS = 10 };

static int fail(const char *what) {
  fprintf(stderr, "bench-env-step: %s failed: %s\n", what, wsrl_last_error_message());
  return 1;
}

int main(void) {
  wsrl_config_t *c = NULL;
  if (wsrl_config_create(&c) != WSRL_OK || wsrl_config_set(c, "agent.threads", "1") != WSRL_OK ||
      wsrl_config_set(c, "agent.algorithm", "sac") != WSRL_OK ||
      wsrl_config_set_int(c, "finetune.warmup_steps", 1000000) != WSRL_OK)
    return fail("config");
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = OBS;
  spec.act_dim = ACT;
  spec.max_episode_steps = 1000;
  wsrl_env_callbacks_t cb = WSRL_ENV_CALLBACKS_INIT;
  cb.reset = bench_trivial_reset;
  cb.step = bench_trivial_step;
  wsrl_env_t *env = NULL;
  wsrl_agent_t *ag = NULL;
  wsrl_session_t *s = NULL;
  wsrl_session_options_t o = WSRL_SESSION_OPTIONS_INIT; /* the session reads the agent's config */
  if (wsrl_env_create(&env, &spec, &cb, NULL) != WSRL_OK || wsrl_agent_create(&ag, c, &spec) != WSRL_OK ||
      wsrl_session_create(&s, ag, &o) != WSRL_OK)
    return fail("create");
  if (wsrl_finetune(s, env, NULL, 2000, NULL, NULL) != WSRL_OK) /* warm caches */
    return fail("wsrl_finetune");
  double best = 0.0;
  for (int b = 0; b < BLOCKS; b++) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (wsrl_finetune(s, env, NULL, BLOCK, NULL, NULL) != WSRL_OK)
      return fail("wsrl_finetune");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-3) / BLOCK;
    best = b == 0 || us < best ? us : best;
  }
  printf("c_env_warmup_step %.2f us\n", best);
  wsrl_session_destroy(s);
  wsrl_agent_destroy(ag);
  wsrl_env_destroy(env);
  wsrl_config_destroy(c);
  return 0;
}
