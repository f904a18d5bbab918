/* wsrl_finetune(): the library-owned WSRL loop on top of a session. Per
 * step: act (a sample of pi), env step, observe, run the due update; logs
 * every log.interval env steps and evaluations on a separate env. Nothing
 * in the step allocates. */
#include <math.h>
#include <string.h>

#include "env/env_internal.h"
#include "train_internal.h"

static const char *const EVAL_NAMES[] = {"eval/return_mean", "eval/return_std", "eval/return_min",
                                         "eval/return_max",  "eval/length_mean", "eval/nonfinite_skips"};

static wsrl_status_t evaluate_and_report(wsrl_session_t *s, wsrl_env_t *eval_env, wsrl_progress_fn progress,
                                         void *user) {
  wsrl_eval_result_t r;
  WSRL__TRY(wsrl__evaluate_run(s->agent, eval_env, (int32_t)s->cfg.eval_episodes, s->eval_seed,
                               s->cfg.env_nonfinite, s->ev_obs, s->ev_next, s->ev_act, &r));
  s->evaluations++;
  s->last_eval_step = s->env_steps;
  s->last_eval = r;
  wsrl__progress *p = &s->progress;
  p->n = 0;
  wsrl__progress_add(p, "env_steps", (double)s->env_steps);
  const double v[] = {r.return_mean, r.return_std, r.return_min, r.return_max, r.length_mean,
                      (double)r.nonfinite_skips};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    wsrl__progress_add(p, EVAL_NAMES[i], v[i]);
  return wsrl__progress_emit(progress, user, s->env_steps, p, "wsrl_finetune");
}

static wsrl_status_t log_report(wsrl_session_t *s, wsrl_progress_fn progress, void *user) {
  if (progress == NULL)
    return WSRL_OK;
  int64_t size = 0;
  wsrl_replay_size(s->online, &size);
  wsrl__progress *p = &s->progress;
  p->n = 0;
  wsrl__progress_add(p, "env_steps", (double)s->env_steps);
  wsrl__progress_add(p, "phase", s->env_steps >= s->warmup ? (double)WSRL_SESSION_ONLINE : WSRL_SESSION_WARMUP);
  wsrl__progress_add(p, "updates", (double)s->updates_done);
  wsrl__progress_add(p, "buffer_size", (double)size);
  wsrl__progress_add(p, "episode/count", (double)s->episodes);
  wsrl__progress_add(p, "episode/return", s->last_ep_return);
  wsrl__progress_add(p, "episode/length", s->episodes > 0 ? (double)s->last_ep_length : NAN);
  wsrl__progress_add(p, "env/nonfinite_skips", (double)s->nonfinite_skips);
  wsrl__progress_add_agent(p, s->agent);
  return wsrl__progress_emit(progress, user, s->env_steps, p, "wsrl_finetune");
}

static wsrl_status_t check_env(const wsrl_session_t *s, const wsrl_env_t *env, const char *what) {
  const int32_t O = wsrl__env_obs_dim(env), A = wsrl__env_act_dim(env);
  if (O != s->obs_dim || A != s->act_dim)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_finetune: '%s' has obs_dim %d, act_dim %d but the agent has %d, %d", what, O, A,
                       s->obs_dim, s->act_dim);
  return WSRL_OK;
}

/* One environment step of the loop; *stepped is 1 when a transition was
 * observed (0 for a step skipped under env.nonfinite = skip_reset). */
static wsrl_status_t loop_step(wsrl_session_t *s, wsrl_env_t *env, int32_t *stepped) {
  *stepped = 0;
  if (!s->loop_active) {
    /* A new episode: whatever was left open in the buffer is cut there. */
    wsrl__session_cut_episode(s);
    WSRL__TRY(wsrl__env_reset(env, wsrl__rng_next(&s->rng), s->obs));
    s->loop_env = env;
    s->loop_active = 1;
  }
  /* Any failure below ends this episode for the loop (the env ends it too,
   * or is left mid-episode after a failed act; either way we reset next). */
  s->loop_active = 0;
  WSRL__TRY(wsrl__agent_act_unit(s->agent, 1, s->obs, 0, s->act));
  float reward = 0;
  int32_t te = 0, tr = 0, skipped = 0;
  WSRL__TRY(wsrl__env_step_policy(env, s->cfg.env_nonfinite, s->act, s->next_obs, &reward, &te, &tr, &skipped));
  if (skipped) {
    s->nonfinite_skips++;
    return WSRL_OK;
  }
  WSRL__TRY(wsrl__session_observe_unit(s, s->obs, s->act, reward, s->next_obs, te, tr));
  *stepped = 1;
  if (!te && !tr) {
    memcpy(s->obs, s->next_obs, (size_t)s->obs_dim * sizeof(float));
    s->loop_active = 1;
    s->loop_env_total = wsrl__env_total_steps(env);
  }
  /* After the warmup exactly one update is due per step. */
  return wsrl__session_train(s, -1, NULL);
}

static wsrl_status_t run(wsrl_session_t *s, wsrl_env_t *env, wsrl_env_t *eval_env, int64_t steps,
                         wsrl_progress_fn progress, void *user) {
  if (s->episode_len_hint == 0 && wsrl__env_max_episode_steps(env) > 0) {
    s->episode_len_hint = wsrl__env_max_episode_steps(env);
    wsrl__session_resolve_start(s);
  }
  /* Continue the running episode only if nobody used the env since. */
  if (s->loop_active && (s->loop_env != env || !wsrl__env_episode_active(env) ||
                         wsrl__env_total_steps(env) != s->loop_env_total))
    s->loop_active = 0;

  /* The pretrained policy at the switch, before the first online step. */
  if (eval_env != NULL && s->env_steps == 0 && s->evaluations == 0)
    WSRL__TRY(evaluate_and_report(s, eval_env, progress, user));

  const int64_t log_every = s->cfg.log_interval, eval_every = s->cfg.eval_interval;
  for (int64_t i = 0; i < steps; i++) {
    int32_t stepped = 0;
    WSRL__TRY(loop_step(s, env, &stepped));
    if (!stepped)
      continue;
    /* A stop asked at the log record skips this step's evaluation; the
     * last step of a later call evaluates again. */
    if (s->env_steps % log_every == 0)
      WSRL__TRY(log_report(s, progress, user));
    if (eval_env != NULL && eval_every > 0 && s->env_steps % eval_every == 0)
      WSRL__TRY(evaluate_and_report(s, eval_env, progress, user));
  }
  if (eval_env != NULL && steps > 0 && s->last_eval_step != s->env_steps)
    WSRL__TRY(evaluate_and_report(s, eval_env, progress, user));
  return WSRL_OK;
}

static wsrl_status_t finetune_impl(wsrl_session_t *session, wsrl_env_t *env, wsrl_env_t *eval_env, int64_t steps,
                            wsrl_progress_fn progress, void *user) {
  WSRL__CHECK_NULL(session);
  if (steps < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_finetune: steps must be >= 0 (got %lld)", (long long)steps);
  if (eval_env == env)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_finetune: 'eval_env' must be a separate env (evaluating on 'env' would cut its episodes)");
  WSRL__TRY(check_env(session, env, "env"));
  if (eval_env != NULL)
    WSRL__TRY(check_env(session, eval_env, "eval_env"));
  if (session->busy)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "wsrl_finetune: the session is running a loop (called from a callback?)");
  session->busy = 1;
  wsrl_status_t st = run(session, env, eval_env, steps, progress, user);
  session->busy = 0;
  return st;
}

/* The session's and agent's flags are taken by the caller; this takes the
 * envs' (a separate eval_env is checked by finetune_impl). */
static wsrl_status_t finetune_envs(wsrl_session_t *session, wsrl_env_t *env, wsrl_env_t *eval_env, int64_t steps,
                                   wsrl_progress_fn progress, void *user) {
  const char *fn = "wsrl_finetune";
  const int other = eval_env != NULL && eval_env != env;
  WSRL__TRY(wsrl__busy_enter(wsrl__env_busy(env), WSRL__BUSY_WRITE, "env", fn));
  wsrl_status_t st = other ? wsrl__busy_enter(wsrl__env_busy(eval_env), WSRL__BUSY_WRITE, "env", fn) : WSRL_OK;
  if (st == WSRL_OK) {
    st = finetune_impl(session, env, eval_env, steps, progress, user);
    if (other)
      wsrl__busy_leave(wsrl__env_busy(eval_env), WSRL__BUSY_WRITE);
  }
  wsrl__busy_leave(wsrl__env_busy(env), WSRL__BUSY_WRITE);
  return st;
}

wsrl_status_t wsrl_finetune(wsrl_session_t *session, wsrl_env_t *env, wsrl_env_t *eval_env, int64_t steps,
                            wsrl_progress_fn progress, void *user) {
  WSRL__CHECK_NULL(session);
  WSRL__CHECK_NULL(env);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_WRITE, WSRL__BUSY_WRITE, "wsrl_finetune",
                        finetune_envs(session, env, eval_env, steps, progress, user));
}
