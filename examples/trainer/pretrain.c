/* wsrl-train pretrain: CQL / Cal-QL / IQL on a D4RL-format dataset ->
 * checkpoint. Runs wsrl_pretrain() in chunks of pretrain.eval_interval
 * updates; after each chunk the deterministic policy is evaluated and the
 * checkpoint saved, so an interrupted run resumes (--resume) from it. */
#include <math.h>
#include <string.h>

#include "trainer.h"

static const tr_alias_t aliases[] = {{"--dataset FILE", "pretrain.dataset", "dataset to pretrain on (HDF5, D4RL keys)"},
                                     {"--steps N", "pretrain.steps", "offline updates"},
                                     {"--algorithm NAME", "agent.algorithm", "cql | calql | iql | td3bc"},
                                     {"--task NAME", "task", "task the dataset belongs to (for evaluation)"},
                                     {"--resume", NULL, "continue the run in --out from its checkpoint"},
                                     {NULL, NULL, NULL}};

static const char *const prefixes[] = {"task", "pretrain.", "norm.", "run.", NULL};

static const tr_command_t command = {
    "pretrain",
    "Offline pretraining (CQL, Cal-QL, IQL or TD3+BC) on a dataset; writes pretrained.ckpt.",
    "[--dataset FILE]",
    "Samples batches uniformly from the dataset and runs pretrain.steps updates of the agent's\n"
    "offline loss (agent.algorithm, default calql). Every pretrain.eval_interval updates the\n"
    "deterministic policy is evaluated (eval.episodes episodes) on the task and the checkpoint\n"
    "is saved. Writes train.csv, eval.csv, pretrained.ckpt, curve.png and summary.json.\n"
    "Example:\n"
    "  wsrl-train pretrain --dataset runs/collect-hopper/medium.hdf5 --set task=hopper \\\n"
    "      --set agent.algorithm=calql --set pretrain.steps=50000\n",
    aliases,
    NULL,
    prefixes};

int tr_evaluate(const tr_ctx_t *ctx, wsrl_agent_t *agent, wsrl_env_t *env, int64_t episodes, uint64_t seed,
                double *mean_out, double *std_out, double *len_out) {
  (void)ctx;
  wsrl_eval_result_t r = WSRL_EVAL_RESULT_INIT;
  wsrl_status_t st = wsrl_evaluate(agent, env, (int32_t)episodes, seed, &r);
  if (st != WSRL_OK)
    return tr_fail(st, "evaluate");
  *mean_out = r.return_mean;
  if (std_out)
    *std_out = r.return_std;
  if (len_out)
    *len_out = r.length_mean;
  return 0;
}

int tr_run_pretrain(tr_ctx_t *ctx, const char *dir, const char *label, tr_pretrain_result_t *res) {
  memset(res, 0, sizeof *res);
  res->eval_return = res->eval_normalized = NAN;
  const char *dataset_path = tr_str(ctx, "pretrain.dataset");
  if (!dataset_path[0])
    return tr_usage_error(ctx->cmd, "pretrain.dataset is not set (use --dataset FILE)");
  const int64_t total = tr_int(ctx, "pretrain.steps");
  int64_t chunk = tr_int(ctx, "pretrain.eval_interval");
  if (chunk <= 0 || chunk > total)
    chunk = total > 0 ? total : 1;
  const int64_t episodes = tr_cfg_int(ctx, "eval.episodes");
  const uint64_t eval_seed = 1000000u + 1000u * (uint64_t)tr_cfg_int(ctx, "agent.seed");

  wsrl_env_t *eval_env = NULL;
  wsrl_replay_t *data = NULL;
  wsrl_agent_t *agent = NULL;
  const wsrl_example_task_info_t *info = NULL;
  tr_sink_t sink;
  memset(&sink, 0, sizeof sink);
  int rc = tr_make_env(ctx, &eval_env, &info);
  if (rc)
    return rc;
  rc = tr_load_dataset(ctx, info, dataset_path, &data);
  if (rc)
    goto out;
  tr_norm_t norm;
  tr_norm_resolve(ctx, dataset_path, &norm);
  char path[TR_PATH];
  if (norm.have && tr_join(path, sizeof path, dir, "normalisation.json") == 0)
    tr_norm_write(path, &norm); /* so finetune runs from this checkpoint find it */

  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  wsrl_status_t st = wsrl_env_get_spec(eval_env, &spec);
  if (st == WSRL_OK)
    st = wsrl_agent_create(&agent, ctx->cfg, &spec);
  if (st != WSRL_OK) {
    rc = tr_fail(st, "agent");
    goto out;
  }
  if (tr_join(res->checkpoint, sizeof res->checkpoint, dir, "pretrained.ckpt") != 0) {
    rc = TR_EXIT_FAIL;
    goto out;
  }
  int64_t done = 0;
  if (ctx->resume && tr_file_exists(res->checkpoint)) {
    st = wsrl_agent_load(agent, res->checkpoint);
    if (st != WSRL_OK) {
      rc = tr_fail(st, res->checkpoint);
      goto out;
    }
    wsrl_agent_counters_t c = WSRL_AGENT_COUNTERS_INIT;
    wsrl_agent_counters(agent, &c);
    done = c.offline_updates;
    if ((rc = tr_run_truncate(dir, done)) != 0)
      goto out;
  }
  rc = tr_sink_open(&sink, dir, label, total, ctx, &norm, ctx->resume && done > 0);
  if (rc)
    goto out;
  sink.phase = "offline";
  if (done > 0)
    tr_log(&sink.prog, "[%s] resuming at update %lld of %lld", label, (long long)done, (long long)total);
  else if (!ctx->quiet) {
    int64_t size = 0;
    wsrl_replay_size(data, &size);
    tr_log(&sink.prog, "[%s] %s on %s (%lld transitions), %lld updates", label,
           wsrl_config_get(ctx->cfg, "agent.algorithm", path, sizeof path, NULL) == WSRL_OK ? path : "?", dataset_path,
           (long long)size, (long long)total);
  }
  while (done < total) {
    int64_t n = chunk - done % chunk; /* keep evaluations on multiples of the interval */
    if (n > total - done)
      n = total - done;
    st = wsrl_pretrain(agent, data, n, tr_sink_progress, &sink);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", wsrl_last_error_message()); /* before the save below */
    wsrl_agent_counters_t c = WSRL_AGENT_COUNTERS_INIT;
    wsrl_agent_counters(agent, &c);
    done = c.offline_updates;
    if (st == WSRL_OK) {
      double mean = NAN, sd = NAN, len = NAN;
      rc = tr_evaluate(ctx, agent, eval_env, episodes, eval_seed, &mean, &sd, &len);
      if (rc)
        break;
      tr_sink_eval(&sink, done, mean, sd, len);
    }
    wsrl_status_t sv = wsrl_agent_save(agent, res->checkpoint);
    if (sv != WSRL_OK) {
      rc = tr_fail(sv, res->checkpoint);
      break;
    }
    if (st != WSRL_OK) {
      if (st == WSRL_ERR_CANCELLED)
        tr_log(&sink.prog, "[%s] interrupted at update %lld; checkpoint saved: rerun with --resume --out %s", label,
               (long long)done, dir);
      rc = tr_fail_msg(st, "pretrain", msg);
      break;
    }
  }
  if (rc == 0) {
    res->eval_return = sink.last_eval;
    res->eval_normalized = tr_normalize(&norm, sink.last_eval);
    char ex[96];
    snprintf(ex, sizeof ex, "eval return %.2f", sink.last_eval);
    sink.prog.last_step = done; /* also when no progress record came (log.interval > steps) */
    tr_progress_done(&sink.prog, ex);
    tr_write_file(dir, "summary.json",
                  "{\n  \"command\": \"pretrain\",\n  \"updates\": %lld,\n  \"eval_return\": %.6g,\n"
                  "  \"eval_normalized\": %.6g,\n  \"checkpoint\": \"%s\"\n}\n",
                  (long long)done, res->eval_return, res->eval_normalized, res->checkpoint);
    const tr_series_t top[] = {{sink.eval_path, "deterministic evaluation", "return_mean", NULL}};
    tr_plot_run(ctx, dir, &sink, "offline pretraining", "return", top, 1);
  }
out:
  tr_sink_close(&sink);
  wsrl_agent_destroy(agent);
  wsrl_replay_destroy(data);
  wsrl_env_destroy(eval_env);
  return rc;
}

static int pretrain_main(tr_ctx_t *ctx, const char *dir) {
  tr_pretrain_result_t res;
  int rc = tr_run_pretrain(ctx, dir, "pretrain", &res);
  if (rc == 0)
    printf("checkpoint: %s\neval return: %.2f (normalized %.1f)\nrun folder: %s\n", res.checkpoint, res.eval_return,
           res.eval_normalized, dir);
  return rc;
}

int tr_cmd_pretrain(int argc, char **argv) { return tr_main(argc, argv, &command, pretrain_main); }
