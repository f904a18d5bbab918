/* Toy tasks on the public env callbacks; see toy_envs.h for the definitions. */
#include "toy_envs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* splitmix64: enough for drawing initial states from a reset seed. */
static uint64_t mix_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double mix_uniform(uint64_t *s, double lo, double hi) {
  return lo + (hi - lo) * (double)(mix_next(s) >> 11) * 0x1.0p-53;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ---- shared task state, fault injection and callbacks ---- */

typedef struct toy toy;

/* A task: draw the initial state from the reset seed, advance one step,
 * and write the observation. */
typedef struct toy_task {
  void (*init)(double *s, uint64_t *rng);
  void (*advance)(double *s, const float *action, float *reward, int32_t *terminated);
  void (*observe)(const double *s, float *obs);
} toy_task;

struct toy {
  const toy_task *task;
  toy_env_options_t opt;
  int64_t steps;  /* step callbacks so far */
  int64_t resets; /* reset callbacks so far */
  double s[6];    /* task state: point x, y, vx, vy, gx, gy / pendulum theta, theta_dot */
};

static int32_t fail(const toy *t) {
  if (t->opt.fail_message != NULL)
    wsrl_set_callback_error(t->opt.fail_message);
  return t->opt.fail_code != 0 ? t->opt.fail_code : 1;
}

static int32_t toy_reset(void *user, uint64_t seed, float *obs_out) {
  toy *t = user;
  if (++t->resets == t->opt.fail_reset)
    return fail(t);
  uint64_t r = seed;
  t->task->init(t->s, &r);
  t->task->observe(t->s, obs_out);
  return 0;
}

static int32_t toy_step(void *user, const float *action, float *obs_out, float *reward_out,
                        int32_t *terminated_out, int32_t *truncated_out) {
  toy *t = user;
  if (++t->steps == t->opt.fail_step)
    return fail(t);
  t->task->advance(t->s, action, reward_out, terminated_out);
  t->task->observe(t->s, obs_out);
  *truncated_out = 0;
  if (t->steps == t->opt.nan_obs_step)
    obs_out[0] = NAN;
  if (t->steps == t->opt.nan_reward_step)
    *reward_out = NAN;
  return 0;
}

static void toy_close(void *user) {
  toy *t = user;
  if (t->opt.close_count != NULL)
    (*t->opt.close_count)++;
  free(t);
}

static wsrl_status_t toy_create(wsrl_env_t **env_out, const toy_env_options_t *options, const toy_task *task,
                                int32_t obs_dim, int32_t act_dim, const float *low, const float *high,
                                int64_t max_steps) {
  if (env_out != NULL)
    *env_out = NULL;
  toy *t = calloc(1, sizeof *t);
  if (t == NULL)
    return WSRL_ERR_OUT_OF_MEMORY;
  t->task = task;
  if (options != NULL)
    t->opt = *options;
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = obs_dim;
  spec.act_dim = act_dim;
  spec.action_low = low;
  spec.action_high = high;
  spec.max_episode_steps = t->opt.max_episode_steps > 0 ? t->opt.max_episode_steps : max_steps;
  wsrl_env_callbacks_t cb = WSRL_ENV_CALLBACKS_INIT;
  cb.reset = toy_reset;
  cb.step = toy_step;
  cb.close = toy_close;
  wsrl_status_t st = wsrl_env_create(env_out, &spec, &cb, t);
  if (st != WSRL_OK)
    free(t);
  return st;
}

/* ---- point-mass reach ---- */

static void point_obs(const double *s, float *obs) {
  obs[0] = (float)s[0];
  obs[1] = (float)s[1];
  obs[2] = (float)s[2];
  obs[3] = (float)s[3];
  obs[4] = (float)(s[4] - s[0]);
  obs[5] = (float)(s[5] - s[1]);
}

static void point_init(double *s, uint64_t *r) {
  s[0] = mix_uniform(r, -1, 1);
  s[1] = mix_uniform(r, -1, 1);
  s[2] = s[3] = 0;
  s[4] = mix_uniform(r, -1, 1);
  s[5] = mix_uniform(r, -1, 1);
}

static void point_advance(double *s, const float *action, float *reward, int32_t *terminated) {
  for (int i = 0; i < 2; i++) {
    double v = 0.8 * s[2 + i] + 0.25 * clampd(action[i], -2, 2);
    double p = s[i] + 0.1 * v;
    if (p < -1 || p > 1) {
      p = clampd(p, -1, 1);
      v = 0;
    }
    s[i] = p;
    s[2 + i] = v;
  }
  double dist = hypot(s[4] - s[0], s[5] - s[1]);
  *reward = (float)-dist;
  *terminated = dist < 0.1;
}

static const toy_task point_task = {point_init, point_advance, point_obs};

wsrl_status_t toy_point_create(wsrl_env_t **env_out, const toy_env_options_t *options) {
  static const float low[2] = {-2, -2}, high[2] = {2, 2};
  return toy_create(env_out, options, &point_task, TOY_POINT_OBS_DIM, TOY_POINT_ACT_DIM, low, high,
                    TOY_POINT_MAX_STEPS);
}

/* Dead-beat controller: ask for the velocity that lands on the goal next
 * step, within the force limit. */
void toy_point_expert(void *user, const float *obs, float *action_unit_out) {
  (void)user;
  for (int i = 0; i < 2; i++) {
    double v_want = 10.0 * obs[4 + i];
    double force = (v_want - 0.8 * obs[2 + i]) / 0.25;
    action_unit_out[i] = (float)clampd(force / 2.0, -1, 1);
  }
}

/* ---- pendulum swing-up ---- */

static double angle_normalize(double x) { return fmod(fmod(x + PI, 2 * PI) + 2 * PI, 2 * PI) - PI; }

static void pendulum_obs(const double *s, float *obs) {
  obs[0] = (float)cos(s[0]);
  obs[1] = (float)sin(s[0]);
  obs[2] = (float)s[1];
}

static void pendulum_init(double *s, uint64_t *r) {
  s[0] = mix_uniform(r, -PI, PI);
  s[1] = mix_uniform(r, -1, 1);
}

static void pendulum_advance(double *s, const float *action, float *reward, int32_t *terminated) {
  const double g = 10, m = 1, l = 1, dt = 0.05;
  double th = s[0], thdot = s[1];
  double u = clampd(action[0], -2, 2);
  double th_n = angle_normalize(th);
  double cost = th_n * th_n + 0.1 * thdot * thdot + 0.001 * u * u;
  thdot = clampd(thdot + (3 * g / (2 * l) * sin(th) + 3.0 / (m * l * l) * u) * dt, -8, 8);
  s[0] = th + thdot * dt;
  s[1] = thdot;
  *reward = (float)-cost;
  *terminated = 0;
}

static const toy_task pendulum_task = {pendulum_init, pendulum_advance, pendulum_obs};

wsrl_status_t toy_pendulum_create(wsrl_env_t **env_out, const toy_env_options_t *options) {
  static const float low[1] = {-2}, high[1] = {2};
  return toy_create(env_out, options, &pendulum_task, TOY_PENDULUM_OBS_DIM, TOY_PENDULUM_ACT_DIM, low, high,
                    TOY_PENDULUM_MAX_STEPS);
}

/* Energy pumping far from the top, a PD law near it. With theta = 0 upright
 * the undamped motion keeps E = theta_dot^2 / 2 + 15 cos(theta); upright at
 * rest is E = 15, and dE/dt = 3 u theta_dot. */
void toy_pendulum_expert(void *user, const float *obs, float *action_unit_out) {
  (void)user;
  double th = atan2(obs[1], obs[0]), thdot = obs[2];
  double u;
  if (obs[0] > 0.85) {
    u = -(10.0 * th + 2.0 * thdot);
  } else {
    double e = 0.5 * thdot * thdot + 15.0 * obs[0];
    u = (15.0 - e) * (thdot >= 0 ? 1.0 : -1.0);
  }
  action_unit_out[0] = (float)clampd(u / 2.0, -1, 1);
}

/* ---- evaluation helper ---- */

wsrl_status_t toy_mean_return(wsrl_env_t *env, toy_policy_fn policy, void *user, int32_t episodes, uint64_t seed,
                              double *mean_out) {
  if (env == NULL || mean_out == NULL || episodes <= 0)
    return WSRL_ERR_INVALID_ARGUMENT;
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  wsrl_status_t st = wsrl_env_get_spec(env, &spec);
  if (st != WSRL_OK)
    return st;
  float *obs = calloc((size_t)spec.obs_dim, sizeof *obs);
  float *act = calloc((size_t)spec.act_dim, sizeof *act);
  if (obs == NULL || act == NULL) {
    free(obs);
    free(act);
    return WSRL_ERR_OUT_OF_MEMORY;
  }
  uint64_t r = seed;
  double total = 0;
  for (int32_t e = 0; e < episodes && st == WSRL_OK; e++) {
    st = wsrl_env_reset(env, seed + (uint64_t)e, obs);
    int32_t terminated = 0, truncated = 0;
    while (st == WSRL_OK && !terminated && !truncated) {
      if (policy != NULL)
        policy(user, obs, act);
      else
        for (int32_t i = 0; i < spec.act_dim; i++)
          act[i] = (float)mix_uniform(&r, -1, 1);
      float reward = 0;
      st = wsrl_env_step(env, act, obs, &reward, &terminated, &truncated);
      total += reward;
    }
  }
  free(obs);
  free(act);
  *mean_out = total / episodes;
  return st;
}
