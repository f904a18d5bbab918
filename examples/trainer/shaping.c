/* collect.shaping: potential-based reward shaping (Ng, Harada & Russell,
 * 1999) for the data-collecting SAC on sparse tasks. The task env is
 * wrapped in an env of our own whose step reports
 *   r + gamma * phi(s') - phi(s)    (phi(s') = 0 when s' is terminal),
 * which keeps the optimal policies but gives SAC a gradient towards the
 * goal. Evaluations and the medium/expert rollouts use the plain task env,
 * and the medium-replay slice has the shaping taken off again, so every
 * dataset holds the task's own reward.
 * collect.shaping_gamma = 1 instead rewards progress, phi(s') - phi(s): not
 * policy-invariant, but its values do not cancel the shaping. With the
 * invariant form the learnt values become Q(s, a) - phi(s), the shaping's
 * action-dependent part cancels, and only the sparse task's own signal
 * (gamma^steps-to-goal) orders the actions: too weak when the goal is
 * hundreds of steps away (the quadruped's maze). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer.h"

typedef struct shaped {
  wsrl_env_t *inner;
  wsrl_example_potential_fn phi;
  double gamma;
  float *obs; /* s of the step to come */
  int32_t obs_dim;
} shaped_t;

/* The shaping's gamma: collect.shaping_gamma, auto = td.discount (the
 * policy-invariant form). */
static double shaping_gamma(const tr_ctx_t *ctx) {
  const double g = tr_float(ctx, "collect.shaping_gamma");
  return isnan(g) ? tr_cfg_float(ctx, "td.discount") : g;
}

static int32_t fail_from_inner(wsrl_status_t st) {
  wsrl_set_callback_error(wsrl_last_error_message());
  return (int32_t)st;
}

static int32_t shaped_reset(void *user, uint64_t seed, float *obs) {
  shaped_t *s = user;
  wsrl_status_t st = wsrl_env_reset(s->inner, seed, obs);
  if (st != WSRL_OK)
    return fail_from_inner(st);
  memcpy(s->obs, obs, (size_t)s->obs_dim * sizeof *obs);
  return 0;
}

static int32_t shaped_step(void *user, const float *action, float *obs, float *reward, int32_t *terminated,
                           int32_t *truncated) {
  shaped_t *s = user;
  /* The wrapper's bounds are [-1, 1], so `action` is already the unit action. */
  wsrl_status_t st = wsrl_env_step(s->inner, action, obs, reward, terminated, truncated);
  if (st != WSRL_OK)
    return fail_from_inner(st);
  const double next = *terminated ? 0.0 : s->phi(obs);
  *reward = (float)((double)*reward + s->gamma * next - s->phi(s->obs));
  memcpy(s->obs, obs, (size_t)s->obs_dim * sizeof *obs);
  return 0;
}

static void shaped_close(void *user) {
  shaped_t *s = user;
  wsrl_env_destroy(s->inner);
  free(s->obs);
  free(s);
}

int tr_shaping_wrap(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, wsrl_env_t **env) {
  /* Checked with the shaping off too: a bad value is an error, not ignored. */
  const double gamma = shaping_gamma(ctx);
  if (!(gamma >= 0.0 && gamma <= 1.0)) {
    fprintf(stderr, "wsrl-train: collect.shaping_gamma must be in [0, 1], got %g\n", gamma);
    return TR_EXIT_USAGE;
  }
  if (!tr_bool(ctx, "collect.shaping"))
    return 0;
  wsrl_example_potential_fn phi = wsrl_example_task_potential(info->name);
  if (phi == NULL) {
    fprintf(stderr, "wsrl-train: collect.shaping = 1: task %s has no shaping potential (the maze tasks have one)\n",
            info->name);
    return TR_EXIT_USAGE;
  }
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  wsrl_status_t st = wsrl_env_get_spec(*env, &spec);
  if (st != WSRL_OK)
    return tr_fail(st, "collect.shaping");
  shaped_t *s = calloc(1, sizeof *s);
  float *obs = calloc((size_t)spec.obs_dim, sizeof *obs);
  if (s == NULL || obs == NULL) {
    free(s), free(obs);
    fprintf(stderr, "wsrl-train: out of memory\n");
    return TR_EXIT_FAIL;
  }
  *s = (shaped_t){*env, phi, gamma, obs, spec.obs_dim};
  /* Unit bounds (the inner env scales); the inner env keeps the time limit. */
  wsrl_env_spec_t outer = WSRL_ENV_SPEC_INIT;
  outer.obs_dim = spec.obs_dim;
  outer.act_dim = spec.act_dim;
  wsrl_env_callbacks_t cb = WSRL_ENV_CALLBACKS_INIT;
  cb.reset = shaped_reset;
  cb.step = shaped_step;
  cb.close = shaped_close;
  wsrl_env_t *wrapped = NULL;
  st = wsrl_env_create(&wrapped, &outer, &cb, s);
  if (st != WSRL_OK) {
    free(s), free(obs);
    return tr_fail(st, "collect.shaping");
  }
  *env = wrapped;
  return 0;
}

int tr_shaping_undo(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, int64_t rows, const float *obs,
                    const float *next_obs, const int32_t *terminated, float *reward) {
  wsrl_example_potential_fn phi = wsrl_example_task_potential(info->name);
  if (!tr_bool(ctx, "collect.shaping") || phi == NULL)
    return 0;
  const double gamma = shaping_gamma(ctx);
  const int32_t O = info->obs_dim;
  for (int64_t i = 0; i < rows; i++) {
    const double next = terminated[i] ? 0.0 : phi(next_obs + i * O);
    double r = (double)reward[i] - (gamma * next - phi(obs + i * O));
    if (info->sparse) {
      /* A sparse reward is 0 or 1: round off the float storage's error,
       * which must be small, or the shaping did not come from this task. */
      const double exact = r > 0.5 ? 1.0 : 0.0;
      if (fabs(r - exact) > 1e-3) {
        fprintf(stderr, "wsrl-train: collect.shaping: transition %lld: unshaped reward %.6f is not 0 or 1\n",
                (long long)i, r);
        return TR_EXIT_FAIL;
      }
      r = exact;
    }
    reward[i] = (float)r;
  }
  return 0;
}
