/* Generic libwsrl callbacks over a MuJoCo model; see mjtask.h. */
#include "mjtask.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char error_msg[1200];

wsrl_status_t mjtask_fail(wsrl_status_t st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_msg, sizeof error_msg, fmt, ap);
  va_end(ap);
  return st;
}

const char *wsrl_example_task_error(void) { return error_msg; }

/* ---- randomness: splitmix64 seeded by the reset seed ---- */

static uint64_t next_u64(mjtask *t) {
  uint64_t z = (t->rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double mjtask_uniform(mjtask *t, double lo, double hi) {
  return lo + (hi - lo) * (double)(next_u64(t) >> 11) * 0x1.0p-53;
}

double mjtask_normal(mjtask *t) {
  /* Box-Muller; u1 in (0, 1] keeps the log finite. */
  double u1 = 1.0 - mjtask_uniform(t, 0, 1), u2 = mjtask_uniform(t, 0, 1);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ---- helpers for task files ---- */

void mjtask_perturb(mjtask *t, double qpos_scale, double qvel_scale, int qvel_normal) {
  const mjModel *m = t->m;
  mjData *d = t->d;
  for (int i = 0; i < m->nq; i++)
    d->qpos[i] += mjtask_uniform(t, -qpos_scale, qpos_scale);
  for (int i = 0; i < m->nv; i++)
    d->qvel[i] += qvel_normal ? qvel_scale * mjtask_normal(t) : mjtask_uniform(t, -qvel_scale, qvel_scale);
  for (int j = 0; j < m->njnt; j++) {
    int type = m->jnt_type[j], adr = m->jnt_qposadr[j];
    if (type == mjJNT_FREE)
      mju_normalize4(d->qpos + adr + 3);
    else if (type == mjJNT_BALL)
      mju_normalize4(d->qpos + adr);
  }
}

static int warning_count(const mjData *d) {
  return d->warning[mjWARN_BADQACC].number + d->warning[mjWARN_BADQVEL].number +
         d->warning[mjWARN_BADQPOS].number;
}

void mjtask_simulate(mjtask *t, const float *action) {
  const mjModel *m = t->m;
  mjData *d = t->d;
  for (int i = 0; i < m->nu; i++)
    d->ctrl[i] = action[i];
  int before = warning_count(d);
  for (int k = 0; k < t->def->info.frame_skip; k++)
    mj_step(m, d);
  /* MuJoCo resets the state itself after a blow-up: end the episode then. */
  if (warning_count(d) != before)
    t->unstable = 1;
}

double mjtask_simulate_vx(mjtask *t, const float *action) {
  const mjtNum *x = t->body >= 0 ? &t->d->xpos[3 * t->body] : &t->d->qpos[0];
  double x0 = *x;
  mjtask_simulate(t, action);
  return (*x - x0) / mjtask_dt(t);
}

double mjtask_dt(const mjtask *t) { return t->m->opt.timestep * t->def->info.frame_skip; }

double mjtask_sumsq(const mjtask *t, const float *action) {
  double s = 0;
  for (int i = 0; i < t->m->nu; i++)
    s += (double)action[i] * action[i];
  return s;
}

void mjtask_put(float *dst, const mjtNum *src, int n, double clip) {
  for (int i = 0; i < n; i++) {
    double x = src[i];
    if (clip > 0)
      x = x < -clip ? -clip : x > clip ? clip : x;
    dst[i] = (float)x;
  }
}

int mjtask_state_ok(const mjtask *t, int from, double bound) {
  const mjModel *m = t->m;
  for (int i = from; i < m->nq + m->nv; i++) {
    double x = i < m->nq ? t->d->qpos[i] : t->d->qvel[i - m->nq];
    if (!isfinite(x) || (bound > 0 && fabs(x) >= bound))
      return 0;
  }
  return 1;
}

int mjtask_body(mjtask *t, const char *name) {
  int id = mj_name2id(t->m, mjOBJ_BODY, name);
  if (id < 0)
    mjtask_fail(WSRL_ERR_CORRUPT, "%s: model has no body named '%s'", t->def->info.name, name);
  return id;
}

/* ---- the callbacks ---- */

static void task_observe(const mjtask *t, float *obs) {
  const mjtask_def *def = t->def;
  if (def->observe != NULL) {
    def->observe(t, obs);
    return;
  }
  int nq = t->m->nq - def->obs_qpos_skip;
  mjtask_put(obs, t->d->qpos + def->obs_qpos_skip, nq, 0);
  mjtask_put(obs + nq, t->d->qvel, t->m->nv, def->obs_vel_clip);
}

static int32_t task_reset(void *user, uint64_t seed, float *obs_out) {
  mjtask *t = user;
  const mjtask_def *def = t->def;
  mj_resetData(t->m, t->d);
  t->rng = seed;
  t->unstable = 0;
  if (def->reset != NULL)
    def->reset(t);
  else
    mjtask_perturb(t, def->reset_qpos_noise, def->reset_qvel_noise, def->reset_qvel_normal);
  mj_forward(t->m, t->d);
  task_observe(t, obs_out);
  return 0;
}

static int32_t task_step(void *user, const float *action, float *obs_out, float *reward_out,
                         int32_t *terminated_out, int32_t *truncated_out) {
  mjtask *t = user;
  const mjtask_def *def = t->def;
  double reward = 0;
  int32_t terminated = 0;
  if (def->step != NULL) {
    def->step(t, action, &reward, &terminated);
  } else {
    reward = mjtask_simulate_vx(t, action) + def->healthy_bonus - def->ctrl_cost_weight * mjtask_sumsq(t, action);
    terminated = def->healthy != NULL && !def->healthy(t);
  }
  task_observe(t, obs_out);
  *reward_out = (float)reward;
  *terminated_out = terminated;
  *truncated_out = t->unstable;
  return 0;
}

static void task_close(void *user) {
  mjtask *t = user;
  mj_deleteData(t->d);
  mj_deleteModel(t->m);
  free(t);
}

wsrl_status_t mjtask_create(wsrl_env_t **env_out, const mjtask_def *def, mjModel *m, int64_t max_episode_steps) {
  const wsrl_example_task_info_t *info = &def->info;
  int generic_obs = def->observe == NULL ? m->nq - def->obs_qpos_skip + m->nv : info->obs_dim;
  if (m->nu != info->act_dim || generic_obs != info->obs_dim || fabs(m->opt.timestep - info->timestep) > 1e-12) {
    wsrl_status_t st = mjtask_fail(WSRL_ERR_CORRUPT,
                                   "%s: model gives %d actuators, %d observations, timestep %g; the task expects "
                                   "%d, %d, %g",
                                   info->name, m->nu, generic_obs, m->opt.timestep, (int)info->act_dim,
                                   (int)info->obs_dim, info->timestep);
    mj_deleteModel(m);
    return st;
  }
  mjtask *t = calloc(1, sizeof *t);
  float *bounds = malloc(2 * (size_t)m->nu * sizeof *bounds);
  mjData *d = mj_makeData(m);
  wsrl_status_t st = WSRL_OK;
  if (t == NULL || bounds == NULL || d == NULL) {
    st = mjtask_fail(WSRL_ERR_OUT_OF_MEMORY, "%s: out of memory", info->name);
    goto fail;
  }
  t->def = def;
  t->m = m;
  t->d = d;
  t->body = -1;
  if (def->init != NULL && def->init(t) != 0) {
    st = WSRL_ERR_CORRUPT;
    goto fail;
  }
  for (int i = 0; i < m->nu; i++) {
    /* Unlimited actuators would leave the library nothing to scale to. */
    if (!m->actuator_ctrllimited[i]) {
      st = mjtask_fail(WSRL_ERR_CORRUPT, "%s: actuator %d has no ctrlrange", info->name, i);
      goto fail;
    }
    bounds[i] = (float)m->actuator_ctrlrange[2 * i];
    bounds[m->nu + i] = (float)m->actuator_ctrlrange[2 * i + 1];
  }

  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = info->obs_dim;
  spec.act_dim = info->act_dim;
  spec.action_low = bounds;
  spec.action_high = bounds + m->nu;
  spec.max_episode_steps = max_episode_steps > 0 ? max_episode_steps : info->max_episode_steps;
  wsrl_env_callbacks_t cb = WSRL_ENV_CALLBACKS_INIT;
  cb.reset = task_reset;
  cb.step = task_step;
  cb.close = task_close;
  st = wsrl_env_create(env_out, &spec, &cb, t);
  if (st != WSRL_OK) {
    mjtask_fail(st, "%s: wsrl_env_create: %s", info->name, wsrl_last_error_message());
    goto fail;
  }
  free(bounds); /* the env copied them */
  return WSRL_OK;

fail:
  free(bounds);
  if (d != NULL)
    mj_deleteData(d);
  mj_deleteModel(m);
  free(t);
  return st;
}
