/* wsrl-train finetune: WSRL (default) or any baseline of ALGORITHMS.md §6
 * from a pretrained checkpoint, or from scratch. The library's session owns
 * the online buffer and the warmup -> online phase machine; wsrl_finetune()
 * runs it against the task in chunks of run.checkpoint_interval steps, after
 * each of which the whole session (agent, counters, online buffer) is saved
 * to session.ckpt, so an interrupted run resumes (--resume) where it was. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer.h"

static const tr_alias_t aliases[] = {
    {"--checkpoint FILE", "finetune.checkpoint", "pretrained checkpoint (omit for scratch / RLPD)"},
    {"--dataset FILE", "finetune.dataset", "offline data for offline_data = mixed | append"},
    {"--steps N", "finetune.steps", "online environment steps, warmup included"},
    {"--warmup K", "finetune.warmup_steps", "warmup steps of the pretrained policy (0: no warmup)"},
    {"--task NAME", "task", "task to fine-tune on"},
    {"--resume", NULL, "continue the run in --out from its session checkpoint"},
    {NULL, NULL, NULL}};

static const char *const prefixes[] = {"task", "finetune.", "norm.", "run.", NULL};

static const tr_command_t command = {
    "finetune",
    "Online fine-tuning: WSRL (warmup, then SAC-ensemble on online data only) or a baseline.",
    "[--checkpoint FILE]",
    "Creates the agent from the checkpoint's config with the given keys applied on top, loads\n"
    "its state, starts a fine-tuning session (empty online buffer), and runs finetune.steps\n"
    "environment steps with evaluations every eval.interval steps (and at the switch).\n"
    "Baselines (ALGORITHMS.md section 6) by configuration:\n"
    "  no warmup          --set finetune.warmup_steps=0\n"
    "  keep data, mixed   --set finetune.offline_data=mixed --set finetune.offline_ratio=0.5 --dataset D\n"
    "  keep data, append  --set finetune.offline_data=append --dataset D\n"
    "  CQL/Cal-QL online  --set finetune.online_algorithm=same\n"
    "  RLPD               --set agent.algorithm=sac --set finetune.offline_data=mixed --dataset D\n"
    "                     (no --checkpoint)\n"
    "  SAC from scratch   --set agent.algorithm=sac (no --checkpoint)\n"
    "Writes train.csv, eval.csv, final.ckpt, curve.png and summary.json; session.ckpt while running.\n",
    aliases,
    NULL,
    prefixes};

/* Summary numbers from eval.csv (which spans every resumed part of the run). */
static void summarize(const char *eval_csv, int64_t warmup, int64_t window, tr_finetune_result_t *res,
                      const tr_norm_t *norm) {
  enum { CAP = 100000 };
  double *v = malloc(CAP * sizeof *v);
  int64_t *s = malloc(CAP * sizeof *s);
  int n = v && s ? tr_csv_column(eval_csv, NULL, "return_mean", v, s, CAP) : 0;
  res->switch_return = res->final_return = res->min_return = res->best_return = NAN;
  for (int i = 0; i < n; i++) {
    if (s[i] == 0)
      res->switch_return = v[i];
    /* The dip: the lowest evaluation in the window after the warmup's end. */
    if (s[i] > warmup && s[i] <= warmup + window && (isnan(res->min_return) || v[i] < res->min_return))
      res->min_return = v[i];
    if (isnan(res->best_return) || v[i] > res->best_return)
      res->best_return = v[i];
  }
  if (n > 0)
    res->final_return = v[n - 1];
  res->switch_normalized = tr_normalize(norm, res->switch_return);
  res->final_normalized = tr_normalize(norm, res->final_return);
  res->min_normalized = tr_normalize(norm, res->min_return);
  res->normalized = norm->have;
  free(v);
  free(s);
}

int tr_run_finetune(tr_ctx_t *ctx, const char *dir, const char *label, tr_finetune_result_t *res) {
  memset(res, 0, sizeof *res);
  const double t_start = tr_now();
  const char *ckpt = tr_str(ctx, "finetune.checkpoint");
  int rc = 0;
  wsrl_status_t st;
  /* The checkpoint's config is the base; the command line's keys apply on top. */
  if (ckpt[0]) {
    wsrl_config_t *base = NULL;
    st = wsrl_agent_checkpoint_config(ckpt, &base);
    if (st != WSRL_OK)
      return tr_fail(st, ckpt);
    rc = tr_apply_ops(ctx, base);
    wsrl_config_destroy(base);
    if (rc)
      return rc;
  }
  char path[TR_PATH], session_path[TR_PATH];
  if (tr_join(path, sizeof path, dir, "config.txt") == 0)
    tr_write_config(ctx, path); /* the effective config, checkpoint's keys included */
  const int64_t total = tr_int(ctx, "finetune.steps");
  const int64_t warmup = tr_cfg_int(ctx, "finetune.warmup_steps");
  int64_t chunk = tr_int(ctx, "run.checkpoint_interval");
  const int64_t eval_every = tr_cfg_int(ctx, "eval.interval");
  if (chunk <= 0 || chunk > total)
    chunk = total > 0 ? total : 1;
  if (eval_every > 0 && chunk % eval_every != 0) /* no extra evaluations at chunk ends */
    chunk = (chunk / eval_every + 1) * eval_every;

  wsrl_env_t *env = NULL, *eval_env = NULL;
  wsrl_agent_t *agent = NULL;
  wsrl_replay_t *data = NULL;
  wsrl_session_t *session = NULL;
  const wsrl_example_task_info_t *info = NULL;
  tr_sink_t sink;
  memset(&sink, 0, sizeof sink);
  tr_norm_t norm;
  if ((rc = tr_make_env(ctx, &env, &info)) != 0 || (rc = tr_make_env(ctx, &eval_env, NULL)) != 0)
    goto out;
  char offline[32] = "none";
  wsrl_config_get(ctx->cfg, "finetune.offline_data", offline, sizeof offline, NULL);
  const char *dataset = tr_str(ctx, "finetune.dataset");
  if (strcmp(offline, "none") != 0) {
    if (!dataset[0]) {
      rc = tr_usage_error(ctx->cmd, "finetune.offline_data = %s needs finetune.dataset (--dataset FILE)", offline);
      goto out;
    }
    if ((rc = tr_load_dataset(ctx, info, dataset, &data)) != 0)
      goto out;
  }
  tr_norm_resolve(ctx, ckpt[0] ? ckpt : dataset, &norm);

  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  st = wsrl_env_get_spec(env, &spec);
  if (st == WSRL_OK)
    st = wsrl_agent_create(&agent, ctx->cfg, &spec);
  if (st == WSRL_OK && ckpt[0])
    st = wsrl_agent_load(agent, ckpt);
  if (st != WSRL_OK) {
    rc = tr_fail(st, ckpt[0] ? ckpt : "agent");
    goto out;
  }
  wsrl_session_options_t so = WSRL_SESSION_OPTIONS_INIT;
  so.offline = data;
  so.max_episode_steps = spec.max_episode_steps;
  st = wsrl_session_create(&session, agent, &so);
  if (st != WSRL_OK) {
    rc = tr_fail(st, "session");
    goto out;
  }
  if (tr_join(session_path, sizeof session_path, dir, "session.ckpt") != 0 ||
      tr_join(res->checkpoint, sizeof res->checkpoint, dir, "final.ckpt") != 0) {
    rc = TR_EXIT_FAIL;
    goto out;
  }
  wsrl_session_info_t si = WSRL_SESSION_INFO_INIT;
  int resumed = 0;
  if ((rc = tr_session_resume(ctx, session, dir, session_path, &si, &resumed)) != 0)
    goto out;
  if ((rc = tr_sink_open(&sink, dir, label, total, ctx, &norm, resumed)) != 0)
    goto out;
  sink.phase = warmup > si.env_steps ? "warmup" : "online";
  if (resumed)
    tr_log(&sink.prog, "[%s] resuming at step %lld of %lld", label, (long long)si.env_steps, (long long)total);
  else if (!ctx->quiet) {
    char alg[16] = "?", online[16] = "?";
    wsrl_config_get(ctx->cfg, "agent.algorithm", alg, sizeof alg, NULL);
    wsrl_config_get(ctx->cfg, "finetune.online_algorithm", online, sizeof online, NULL);
    tr_log(&sink.prog, "[%s] %s %s -> %s online, warmup %lld, offline data %s, %lld steps", label,
           ckpt[0] ? "from" : "from scratch", ckpt[0] ? ckpt : "", strcmp(online, "sac") == 0 ? "sac" : alg,
           (long long)warmup, offline, (long long)total);
  }
  int64_t done = si.env_steps;
  while (done < total) {
    int64_t n = chunk - done % chunk;
    if (n > total - done)
      n = total - done;
    st = wsrl_finetune(session, env, eval_env, n, tr_sink_progress, &sink);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", wsrl_last_error_message()); /* before the save below */
    wsrl_session_info(session, &si);
    done = si.env_steps;
    wsrl_status_t sv = wsrl_session_save(session, session_path, WSRL_SESSION_SAVE_REPLAY);
    if (sv != WSRL_OK) {
      rc = tr_fail(sv, session_path);
      goto out;
    }
    if (st != WSRL_OK) {
      if (st == WSRL_ERR_CANCELLED)
        tr_log(&sink.prog, "[%s] interrupted at step %lld; session saved: rerun with --resume --out %s", label,
               (long long)done, dir);
      rc = tr_fail_msg(st, "finetune", msg);
      goto out;
    }
  }
  st = wsrl_agent_save(agent, res->checkpoint);
  if (st != WSRL_OK) {
    rc = tr_fail(st, res->checkpoint);
    goto out;
  }
  remove(session_path); /* finished: final.ckpt and the CSVs are what stays */
  res->steps = done;
  res->seconds = tr_now() - t_start;
  snprintf(res->csv, sizeof res->csv, "%s", sink.train_path);
  snprintf(res->eval_csv, sizeof res->eval_csv, "%s", sink.eval_path);
  tr_csv_close(&sink.train);
  tr_csv_close(&sink.eval);
  summarize(sink.eval_path, warmup, tr_int(ctx, "run.dip_window"), res, &norm);
  {
    char ex[128];
    snprintf(ex, sizeof ex, "final eval %.2f", res->final_return);
    sink.prog.last_step = done;
    tr_progress_done(&sink.prog, ex);
  }
  tr_write_file(dir, "summary.json",
                "{\n  \"command\": \"finetune\",\n  \"steps\": %lld,\n  \"warmup_steps\": %lld,\n"
                "  \"offline_data\": \"%s\",\n  \"seconds\": %.1f,\n  \"switch_return\": %.6g,\n"
                "  \"dip_window\": %lld,\n  \"min_return_after_warmup\": %.6g,\n  \"best_return\": %.6g,\n  "
                "\"final_return\": %.6g,\n"
                "  \"switch_normalized\": %.6g,\n  \"min_normalized\": %.6g,\n  \"final_normalized\": %.6g,\n"
                "  \"random_return\": %.6g,\n  \"expert_return\": %.6g\n}\n",
                (long long)done, (long long)warmup, offline, res->seconds, res->switch_return,
                (long long)tr_int(ctx, "run.dip_window"), res->min_return, res->best_return, res->final_return,
                res->switch_normalized, res->min_normalized, res->final_normalized, norm.random_return,
                norm.expert_return);
  {
    const tr_series_t top[] = {
        {sink.eval_path, "deterministic evaluation", norm.have ? "normalized" : "return_mean", NULL}};
    tr_plot_run(ctx, dir, &sink, "online fine-tuning", norm.have ? "normalized return" : "return", top, 1);
  }

out:
  tr_sink_close(&sink);
  wsrl_session_destroy(session);
  wsrl_agent_destroy(agent);
  wsrl_replay_destroy(data);
  wsrl_env_destroy(eval_env);
  wsrl_env_destroy(env);
  return rc;
}

static int finetune_main(tr_ctx_t *ctx, const char *dir) {
  tr_finetune_result_t res;
  int rc = tr_run_finetune(ctx, dir, "finetune", &res);
  if (rc == 0) {
    printf("return at the switch: %.2f   lowest in run.dip_window after warmup: %.2f   final: %.2f\n",
           res.switch_return, res.min_return, res.final_return);
    if (res.normalized)
      printf("normalized:           %.1f   lowest in run.dip_window after warmup: %.1f   final: %.1f\n",
             res.switch_normalized, res.min_normalized, res.final_normalized);
    printf("checkpoint: %s\nrun folder: %s\n", res.checkpoint, dir);
  }
  return rc;
}

int tr_cmd_finetune(int argc, char **argv) { return tr_main(argc, argv, &command, finetune_main); }
