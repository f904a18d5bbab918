/* wsrl-train collect: train SAC online on a task, then write D4RL-like
 * datasets (HDF5, D4RL keys) through wsrl_replay_export_hdf5():
 *   medium.hdf5         rollouts of the "medium" policy (the first evaluated
 *                       snapshot reaching random + collect.medium_fraction *
 *                       (expert - random), or collect.medium_return);
 *   medium-replay.hdf5  the replay buffer up to that snapshot;
 *   expert.hdf5         rollouts of the best evaluated snapshot;
 *   normalisation.json  random and expert returns (scores 0 and 100).
 * Snapshots are kept only when an evaluation sets or ties the best so far:
 * the first evaluation above any threshold is such a record, so the medium
 * policy is among them whatever the threshold turns out to be; the expert is
 * the latest record. While training, the session (agent, counters, replay
 * buffer) is saved every run.checkpoint_interval steps and on an
 * interruption, and snapshots.csv lists the snapshots: --resume continues. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer.h"

static const tr_alias_t aliases[] = {
    {"--task NAME", "task", "task to train on"},
    {"--steps N", "collect.steps", "online SAC steps (budget)"},
    {"--target-return R", "collect.target_return", "stop early once an evaluation reaches R"},
    {"--dataset-steps N", "collect.dataset_steps", "transitions in medium.hdf5 and expert.hdf5"},
    {"--resume", NULL, "continue the run in --out from its session checkpoint"},
    {NULL, NULL, NULL}};

static const char *const prefixes[] = {"task", "collect.", "run.", NULL};

static const tr_command_t command = {
    "collect",
    "Train SAC online, then write medium, medium-replay and expert datasets (D4RL HDF5).",
    "",
    "Trains the SAC ensemble from scratch (agent.algorithm = sac, collect.start_steps steps of the\n"
    "initial policy first) for collect.steps steps or until an evaluation reaches\n"
    "collect.target_return, evaluating every eval.interval steps. Then writes medium.hdf5,\n"
    "medium-replay.hdf5 and expert.hdf5 (D4RL keys: observations, actions, rewards,\n"
    "next_observations, terminals, timeouts; raw rewards), normalisation.json (random and expert\n"
    "returns for normalised scores), medium.ckpt, expert.ckpt, train.csv, eval.csv and curve.png.\n"
    "While training, session.ckpt (every run.checkpoint_interval steps and on Ctrl-C, run.stop_at or\n"
    "run.time_limit) and the kept snapshots let --resume continue an interrupted run.\n"
    "Example:\n"
    "  wsrl-train collect --task hopper --steps 200000 --set critic.hidden=128,128\n",
    aliases,
    NULL,
    prefixes};

typedef struct snapshot {
  int64_t step;
  double ret;
  char path[TR_PATH];
} snapshot_t;

/* Stochastic rollouts of a checkpoint's policy into a raw buffer, exported. */
static int rollouts(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, wsrl_env_t *env, const char *ckpt,
                    int64_t steps, uint64_t seed, const char *out, double *mean_return_out) {
  wsrl_agent_t *agent = NULL;
  wsrl_replay_t *rb = NULL;
  wsrl_status_t st = wsrl_agent_create_from_checkpoint(&agent, ckpt, NULL);
  if (st != WSRL_OK)
    return tr_fail(st, ckpt);
  wsrl_replay_options_t opt;
  st = tr_replay_options(ctx, info, 1, seed, &opt);
  if (st == WSRL_OK)
    st = wsrl_replay_create(&rb, info->obs_dim, info->act_dim, steps, &opt);
  if (st != WSRL_OK) {
    wsrl_agent_destroy(agent);
    return tr_fail(st, "dataset buffer");
  }
  float *obs = calloc((size_t)info->obs_dim, sizeof *obs), *next = calloc((size_t)info->obs_dim, sizeof *next);
  float *unit = calloc((size_t)info->act_dim, sizeof *unit);
  double ret = 0, sum = 0;
  int64_t episodes = 0;
  int active = 0;
  for (int64_t i = 0; i < steps && st == WSRL_OK && obs && next && unit; i++) {
    if (!active) {
      st = wsrl_env_reset(env, seed + (uint64_t)episodes, obs);
      active = 1;
      ret = 0;
    }
    float r = 0;
    int32_t te = 0, tr = 0;
    if (st == WSRL_OK)
      st = wsrl_agent_act(agent, 1, obs, WSRL_ACT_STOCHASTIC | WSRL_ACT_UNIT, unit);
    if (st == WSRL_OK)
      st = wsrl_env_step(env, unit, next, &r, &te, &tr);
    if (st != WSRL_OK)
      break;
    const int ended = te || tr;
    /* The last transition of the dataset ends its episode as a cut. */
    if (i == steps - 1 && !te)
      tr = 1;
    ret += r;
    st = wsrl_replay_add(rb, obs, unit, r, next, te, tr);
    if (ended) { /* a whole episode: count its return */
      sum += ret;
      episodes++;
    }
    if (te || tr) {
      active = 0;
    } else {
      memcpy(obs, next, (size_t)info->obs_dim * sizeof *obs);
    }
  }
  int rc = 0;
  if (!obs || !next || !unit) {
    fprintf(stderr, "wsrl-train: out of memory\n");
    rc = TR_EXIT_FAIL;
  } else if (st != WSRL_OK) {
    rc = tr_fail(st, "rollouts");
  } else if ((st = wsrl_replay_export_hdf5(rb, out)) != WSRL_OK) {
    rc = tr_fail(st, out);
  }
  *mean_return_out = episodes > 0 ? sum / (double)episodes : NAN;
  free(obs);
  free(next);
  free(unit);
  wsrl_replay_destroy(rb);
  wsrl_agent_destroy(agent);
  return rc;
}

/* The first @p rows transitions of the online buffer as a raw dataset. */
static int replay_slice(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, const wsrl_replay_t *online,
                        int64_t rows, const char *out) {
  const int32_t O = info->obs_dim, A = info->act_dim;
  const double scale = tr_cfg_float(ctx, "replay.reward_scale"), bias = tr_cfg_float(ctx, "replay.reward_bias");
  float *obs = malloc((size_t)rows * (size_t)O * sizeof *obs), *next = malloc((size_t)rows * (size_t)O * sizeof *next);
  float *act = malloc((size_t)rows * (size_t)A * sizeof *act), *rew = malloc((size_t)rows * sizeof *rew);
  int32_t *te = malloc((size_t)rows * sizeof *te), *tr = malloc((size_t)rows * sizeof *tr);
  wsrl_replay_t *rb = NULL;
  int rc = 0;
  wsrl_status_t st = WSRL_OK;
  if (!obs || !next || !act || !rew || !te || !tr) {
    fprintf(stderr, "wsrl-train: out of memory\n");
    rc = TR_EXIT_FAIL;
    goto out;
  }
  st = wsrl_replay_get(online, 0, rows, obs, act, rew, next, te, tr, NULL);
  if (st == WSRL_OK) {
    for (int64_t i = 0; i < rows; i++) /* stored rewards are transformed: undo it */
      rew[i] = (float)((rew[i] - bias) / (scale != 0 ? scale : 1.0));
    if ((rc = tr_shaping_undo(ctx, info, rows, obs, next, te, rew)) != 0)
      goto out;
    if (!te[rows - 1])
      tr[rows - 1] = 1;
    wsrl_replay_options_t opt;
    st = tr_replay_options(ctx, info, 1, 0, &opt);
    if (st == WSRL_OK)
      st = wsrl_replay_create(&rb, O, A, rows, &opt);
  }
  if (st == WSRL_OK)
    st = wsrl_replay_add_batch(rb, rows, obs, act, rew, next, te, tr);
  if (st == WSRL_OK)
    st = wsrl_replay_export_hdf5(rb, out);
  if (st != WSRL_OK)
    rc = tr_fail(st, out);
out:
  free(obs);
  free(next);
  free(act);
  free(rew);
  free(te);
  free(tr);
  wsrl_replay_destroy(rb);
  return rc;
}

/* The kept snapshots, a growable list (a resumed run may bring more records
 * than its own evaluations would make, e.g. with a different eval.interval). */
typedef struct snapshots {
  snapshot_t *at;
  int n, cap;
} snapshots_t;

static snapshot_t *snapshots_push(snapshots_t *l) {
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 16;
    snapshot_t *at = realloc(l->at, (size_t)cap * sizeof *at);
    if (at == NULL)
      return NULL;
    l->at = at, l->cap = cap;
  }
  return &l->at[l->n];
}

/* snapshots.csv: "step,return" of every kept snapshot, so a resumed collect
 * knows its records (the files are snapshot-<step>.ckpt beside it). */
static int snapshot_path(char *path, const char *dir, int64_t step) {
  char name[64];
  snprintf(name, sizeof name, "snapshot-%09lld.ckpt", (long long)step);
  return tr_join(path, TR_PATH, dir, name);
}

/* Save the agent as the snapshot of `step` and append it to the list and to
 * snapshots.csv. */
static int save_record(wsrl_agent_t *agent, const char *dir, const char *records, int64_t step, double ret,
                       snapshots_t *l) {
  snapshot_t *s = snapshots_push(l);
  if (s == NULL || snapshot_path(s->path, dir, step) != 0)
    return TR_EXIT_FAIL;
  s->step = step;
  s->ret = ret;
  wsrl_status_t st = wsrl_agent_save(agent, s->path);
  if (st != WSRL_OK)
    return tr_fail(st, s->path);
  l->n++;
  FILE *f = fopen(records, "a");
  if (f == NULL || fprintf(f, "%lld,%.17g\n", (long long)step, ret) < 0 || fclose(f) != 0) {
    fprintf(stderr, "wsrl-train: cannot append to %s\n", records);
    return TR_EXIT_FAIL;
  }
  return 0;
}

/* The records up to step `upto` (the resumed session's) whose snapshot files
 * exist; *best is their best return (-inf when none). Later records belong to
 * training the session no longer has: their files are removed and the list
 * is rewritten without them, so they cannot come back twice. */
static int load_records(const char *records, const char *dir, int64_t upto, snapshots_t *l, double *best) {
  FILE *f = fopen(records, "r");
  long long step;
  double ret;
  char path[TR_PATH];
  int rc = 0;
  while (rc == 0 && f != NULL && fscanf(f, "%lld,%lf", &step, &ret) == 2) {
    if (snapshot_path(path, dir, step) != 0)
      continue;
    if (step > upto) {
      remove(path);
    } else if (tr_file_exists(path)) {
      snapshot_t *s = snapshots_push(l);
      if (s == NULL) {
        rc = -1;
        break;
      }
      *s = (snapshot_t){.step = step, .ret = ret};
      memcpy(s->path, path, sizeof path);
      *best = ret > *best ? ret : *best;
      l->n++;
    }
  }
  if (f != NULL)
    fclose(f);
  f = rc == 0 ? fopen(records, "w") : NULL;
  for (int i = 0; f != NULL && i < l->n; i++)
    fprintf(f, "%lld,%.17g\n", (long long)l->at[i].step, l->at[i].ret);
  if (f == NULL || fclose(f) != 0)
    return -1;
  return 0;
}

int tr_run_collect(tr_ctx_t *ctx, const char *dir, tr_collect_result_t *res) {
  memset(res, 0, sizeof *res);
  /* Collect trains SAC online from scratch, with no offline data. */
  char cap[32];
  const int64_t total = tr_int(ctx, "collect.steps");
  snprintf(cap, sizeof cap, "%lld",
           (long long)(total > tr_cfg_int(ctx, "replay.capacity") ? total : tr_cfg_int(ctx, "replay.capacity")));
  char start[32];
  snprintf(start, sizeof start, "%lld", (long long)tr_int(ctx, "collect.start_steps"));
  if (tr_cfg_set(ctx, "agent.algorithm", "sac") || tr_cfg_set(ctx, "finetune.offline_data", "none") ||
      tr_cfg_set(ctx, "finetune.warmup_steps", start) || tr_cfg_set(ctx, "replay.capacity", cap))
    return TR_EXIT_FAIL;
  char path[TR_PATH];
  if (tr_join(path, sizeof path, dir, "config.txt") == 0)
    tr_write_config(ctx, path);

  const double target = tr_float(ctx, "collect.target_return");
  int64_t eval_every = tr_cfg_int(ctx, "eval.interval");
  if (eval_every <= 0 || eval_every > total)
    eval_every = total > 0 ? total : 1;
  const int64_t episodes = tr_cfg_int(ctx, "eval.episodes");
  const int64_t seed = tr_cfg_int(ctx, "agent.seed");

  wsrl_env_t *env = NULL, *eval_env = NULL;
  wsrl_agent_t *agent = NULL;
  wsrl_session_t *session = NULL;
  const wsrl_example_task_info_t *info = NULL;
  snapshots_t list = {NULL, 0, 0};
  int rc;
  tr_sink_t sink;
  memset(&sink, 0, sizeof sink);
  tr_norm_t norm;
  memset(&norm, 0, sizeof norm);
  if ((rc = tr_make_env(ctx, &env, &info)) != 0 || (rc = tr_make_env(ctx, &eval_env, NULL)) != 0)
    goto out;
  /* The time limit and sparse rule come from the task env, shaped or not. */
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  wsrl_status_t st = wsrl_env_get_spec(env, &spec);
  if (st == WSRL_OK && (rc = tr_shaping_wrap(ctx, info, &env)) != 0)
    goto out;
  snprintf(norm.task, sizeof norm.task, "%s", info->name);
  norm.random_return =
      !isnan(tr_float(ctx, "norm.random_return")) ? tr_float(ctx, "norm.random_return") : info->random_return;
  norm.expert_return = norm.medium_return = NAN;

  if (st == WSRL_OK)
    st = wsrl_agent_create(&agent, ctx->cfg, &spec);
  wsrl_session_options_t so = WSRL_SESSION_OPTIONS_INIT;
  so.max_episode_steps = spec.max_episode_steps;
  if (st == WSRL_OK)
    st = wsrl_session_create(&session, agent, &so);
  if (st != WSRL_OK) {
    rc = tr_fail(st, "agent");
    goto out;
  }
  char session_path[TR_PATH], records_path[TR_PATH];
  if (tr_join(session_path, sizeof session_path, dir, "session.ckpt") ||
      tr_join(records_path, sizeof records_path, dir, "snapshots.csv")) {
    rc = TR_EXIT_FAIL;
    goto out;
  }
  wsrl_session_info_t si = WSRL_SESSION_INFO_INIT;
  double best = -INFINITY;
  int resumed = 0;
  if ((rc = tr_session_resume(ctx, session, dir, session_path, &si, &resumed)) != 0)
    goto out;
  if (!resumed) {
    remove(records_path); /* a fresh run: no records of an earlier one */
  } else if (load_records(records_path, dir, si.env_steps, &list, &best) != 0) {
    fprintf(stderr, "wsrl-train: cannot read or rewrite %s\n", records_path);
    rc = TR_EXIT_FAIL;
    goto out;
  }
  if ((rc = tr_sink_open(&sink, dir, "collect", total, ctx, &norm, resumed)) != 0)
    goto out;
  sink.phase = "online";
  if (resumed)
    tr_log(&sink.prog, "[collect] resuming at step %lld of %lld (%d snapshots kept)", (long long)si.env_steps,
           (long long)total, list.n);
  else
    tr_log(&sink.prog, "[collect] SAC on %s: up to %lld steps%s", info->name, (long long)total,
           isnan(target) ? "" : " or the target return");
  const int64_t ckpt_every = tr_int(ctx, "run.checkpoint_interval");
  int64_t done = si.env_steps, saved = done;
  while (done < total) {
    int64_t n = eval_every - done % eval_every;
    if (n > total - done)
      n = total - done;
    st = wsrl_finetune(session, env, eval_env, n, tr_sink_progress, &sink);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", wsrl_last_error_message()); /* before the saves below */
    wsrl_session_info(session, &si);
    done = si.env_steps;
    /* Ties count as records too: a sparse task's success rate saturates, and
     * the later of two equal snapshots has trained longer. */
    if (st == WSRL_OK && si.last_eval_step == done && si.last_eval_return >= best) {
      best = si.last_eval_return;
      if ((rc = save_record(agent, dir, records_path, done, best, &list)) != 0)
        goto out;
    }
    /* The session (agent, counters, replay buffer) every
     * run.checkpoint_interval steps and on an interruption, for --resume. */
    if ((st == WSRL_ERR_CANCELLED || (ckpt_every > 0 && done / ckpt_every > saved / ckpt_every)) && done < total) {
      wsrl_status_t sv = wsrl_session_save(session, session_path, WSRL_SESSION_SAVE_REPLAY);
      if (sv != WSRL_OK) {
        rc = tr_fail(sv, session_path);
        goto out;
      }
      saved = done;
    }
    if (st != WSRL_OK) {
      if (st == WSRL_ERR_CANCELLED)
        tr_log(&sink.prog, "[collect] interrupted at step %lld; session saved: rerun with --resume --out %s",
               (long long)done, dir);
      rc = tr_fail_msg(st, "collect", msg);
      goto out;
    }
    if (!isnan(target) && si.last_eval_return >= target) {
      tr_log(&sink.prog, "[collect] target return %.2f reached at step %lld", target, (long long)done);
      break;
    }
  }
  sink.prog.last_step = done;
  tr_progress_done(&sink.prog, NULL);
  res->steps = done;
  const snapshot_t *snaps = list.at;
  const int n_snaps = list.n;
  if (n_snaps == 0) {
    fprintf(stderr, "wsrl-train: collect: no evaluation ran (collect.steps = %lld)\n", (long long)total);
    rc = TR_EXIT_FAIL;
    goto out;
  }

  /* Expert = the best snapshot, evaluated afresh on other seeds and more
   * episodes (its selection return is biased upwards). */
  const snapshot_t *expert = &snaps[n_snaps - 1];
  wsrl_agent_t *ev = NULL;
  const int64_t ref_episodes = episodes > 20 ? episodes : 20;
  double sd = 0;
  st = wsrl_agent_create_from_checkpoint(&ev, expert->path, NULL);
  if (st != WSRL_OK) {
    rc = tr_fail(st, expert->path);
    goto out;
  }
  rc = tr_evaluate(ctx, ev, eval_env, ref_episodes, 5000000u + 1000u * (uint64_t)seed, &norm.expert_return, &sd, NULL);
  wsrl_agent_destroy(ev);
  if (rc)
    goto out;
  double threshold = tr_float(ctx, "collect.medium_return");
  if (isnan(threshold))
    threshold =
        norm.random_return + tr_float(ctx, "collect.medium_fraction") * (norm.expert_return - norm.random_return);
  int mi = n_snaps - 1;
  for (int i = 0; i < n_snaps; i++)
    if (snaps[i].ret >= threshold) {
      mi = i;
      break;
    }
  const snapshot_t *medium = &snaps[mi];
  norm.have = norm.expert_return > norm.random_return;
  if (!norm.have)
    tr_log(&sink.prog,
           "[collect] warning: the expert (%.2f) is no better than the random policy (%.2f): "
           "normalised scores are unavailable; raise collect.steps",
           norm.expert_return, norm.random_return);
  tr_log(&sink.prog,
         "[collect] expert: step %lld, return %.2f +- %.2f (%lld episodes); medium: step %lld, eval %.2f "
         "(threshold %.2f)",
         (long long)expert->step, norm.expert_return, sd, (long long)ref_episodes, (long long)medium->step, medium->ret,
         threshold);

  /* Keep the two policies under fixed names; drop the other snapshots. */
  char medium_ckpt[TR_PATH], expert_ckpt[TR_PATH];
  if (tr_join(medium_ckpt, sizeof medium_ckpt, dir, "medium.ckpt") ||
      tr_join(expert_ckpt, sizeof expert_ckpt, dir, "expert.ckpt")) {
    rc = TR_EXIT_FAIL;
    goto out;
  }
  if (mi == n_snaps - 1) {
    /* one policy for both: copy by saving the file twice through an agent */
    wsrl_agent_t *tmp = NULL;
    st = wsrl_agent_create_from_checkpoint(&tmp, expert->path, NULL);
    if (st == WSRL_OK)
      st = wsrl_agent_save(tmp, medium_ckpt);
    wsrl_agent_destroy(tmp);
    if (st != WSRL_OK || rename(expert->path, expert_ckpt) != 0) {
      rc = tr_fail(st, medium_ckpt);
      goto out;
    }
  } else if (rename(medium->path, medium_ckpt) != 0 || rename(expert->path, expert_ckpt) != 0) {
    fprintf(stderr, "wsrl-train: cannot rename the snapshots in %s\n", dir);
    rc = TR_EXIT_FAIL;
    goto out;
  }
  for (int i = 0; i < n_snaps; i++)
    if (i != mi && i != n_snaps - 1)
      remove(snaps[i].path);
  wsrl_agent_t *mev = NULL;
  st = wsrl_agent_create_from_checkpoint(&mev, medium_ckpt, NULL);
  if (st != WSRL_OK) {
    rc = tr_fail(st, medium_ckpt);
    goto out;
  }
  rc =
      tr_evaluate(ctx, mev, eval_env, ref_episodes, 5000000u + 1000u * (uint64_t)seed, &norm.medium_return, NULL, NULL);
  wsrl_agent_destroy(mev);
  if (rc)
    goto out;

  /* The datasets. */
  const int64_t dsteps = tr_int(ctx, "collect.dataset_steps");
  double medium_data_return = NAN, expert_data_return = NAN;
  if (tr_join(res->medium, sizeof res->medium, dir, "medium.hdf5") ||
      tr_join(res->medium_replay, sizeof res->medium_replay, dir, "medium-replay.hdf5") ||
      tr_join(res->expert, sizeof res->expert, dir, "expert.hdf5") ||
      tr_join(res->norm_file, sizeof res->norm_file, dir, "normalisation.json")) {
    rc = TR_EXIT_FAIL;
    goto out;
  }
  tr_log(&sink.prog, "[collect] writing %s, %s, %s", res->medium, res->medium_replay, res->expert);
  /* Rollouts run on the plain task env (the training env may be shaped). */
  if ((rc = rollouts(ctx, info, eval_env, medium_ckpt, dsteps, 20000000u + 100000u * (uint64_t)seed, res->medium,
                     &medium_data_return)) != 0 ||
      (rc = replay_slice(ctx, info, wsrl_session_replay(session), medium->step, res->medium_replay)) != 0 ||
      (rc = rollouts(ctx, info, eval_env, expert_ckpt, dsteps, 30000000u + 100000u * (uint64_t)seed, res->expert,
                     &expert_data_return)) != 0)
    goto out;
  if ((rc = tr_norm_write(res->norm_file, &norm)) != 0)
    goto out;
  remove(session_path); /* finished: the datasets, checkpoints and CSVs are what stays */
  remove(records_path);
  res->norm = norm;
  tr_write_file(
      dir, "summary.json",
      "{\n  \"command\": \"collect\",\n  \"task\": \"%s\",\n  \"steps\": %lld,\n"
      "  \"random_return\": %.6g,\n  \"expert_return\": %.6g,\n  \"expert_step\": %lld,\n"
      "  \"medium_return\": %.6g,\n  \"medium_step\": %lld,\n  \"medium_threshold\": %.6g,\n"
      "  \"medium_dataset\": {\"file\": \"medium.hdf5\", \"transitions\": %lld, \"episode_return\": %.6g},\n"
      "  \"medium_replay_dataset\": {\"file\": \"medium-replay.hdf5\", \"transitions\": %lld},\n"
      "  \"expert_dataset\": {\"file\": \"expert.hdf5\", \"transitions\": %lld, \"episode_return\": %.6g}\n}\n",
      info->name, (long long)done, norm.random_return, norm.expert_return, (long long)expert->step, norm.medium_return,
      (long long)medium->step, threshold, (long long)dsteps, medium_data_return, (long long)medium->step,
      (long long)dsteps, expert_data_return);
  tr_log(&sink.prog,
         "[collect] datasets: medium %lld transitions (episode return %.2f), medium-replay %lld, expert %lld "
         "(episode return %.2f)",
         (long long)dsteps, medium_data_return, (long long)medium->step, (long long)dsteps, expert_data_return);
  {
    const tr_series_t top[] = {{sink.eval_path, "deterministic evaluation", "return_mean", NULL},
                               {sink.train_path, "training episodes", "episode_return", NULL}};
    tr_plot_run(ctx, dir, &sink, "collect: SAC from scratch", "return", top, 2);
  }
out:
  tr_sink_close(&sink);
  free(list.at);
  wsrl_session_destroy(session);
  wsrl_agent_destroy(agent);
  wsrl_env_destroy(eval_env);
  wsrl_env_destroy(env);
  return rc;
}

static int collect_main(tr_ctx_t *ctx, const char *dir) {
  tr_collect_result_t res;
  int rc = tr_run_collect(ctx, dir, &res);
  if (rc == 0)
    printf("random return %.2f, expert return %.2f, medium return %.2f\ndatasets: %s %s %s\nrun folder: %s\n",
           res.norm.random_return, res.norm.expert_return, res.norm.medium_return, res.medium, res.medium_replay,
           res.expert, dir);
  return rc;
}

int tr_cmd_collect(int argc, char **argv) { return tr_main(argc, argv, &command, collect_main); }
