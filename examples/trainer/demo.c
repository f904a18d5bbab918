/* wsrl-train demo: the whole WSRL chain on the fast pendulum task with a
 * small configuration:
 *   1. collect   SAC from scratch -> medium / medium-replay / expert datasets
 *   2. pretrain  Cal-QL on the medium dataset -> pretrained.ckpt
 *   3. finetune  WSRL: warmup with the pretrained policy, then SAC-ensemble
 *                updates on online data only
 *   4. finetune  the same without warmup (K = 0), for contrast
 * then a summary table and learning curves (compare.png) of 3 against 4.
 * Every stage is a normal subcommand run in a subfolder of the demo's run
 * folder, with the same files a standalone run writes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer.h"

/* The demo's configuration: small networks, short budgets; any key can be
 * overridden on the command line (--set, --config). Measured timings are in
 * docs/results.md. */
static const char demo_preset[] = "task = pendulum\n"
                                  "critic.hidden = 64,64\n"
                                  "actor.hidden = 64,64\n"
                                  "critic.ensemble_size = 10\n"
                                  "update.batch_size = 64\n"
                                  "update.utd = 4\n"
                                  "agent.threads = 1\n"
                                  "collect.steps = 12000\n"
                                  "collect.start_steps = 1000\n"
                                  "collect.dataset_steps = 20000\n"
                                  "collect.medium_fraction = 0.5\n"
                                  "eval.interval = 1000\n"
                                  "eval.episodes = 10\n"
                                  "run.dip_window = 3000\n"
                                  "log.interval = 200\n"
                                  "agent.algorithm = calql\n"
                                  "cql.n_actions = 4\n"
                                  "td.max_target_actions = 4\n"
                                  "replay.reward_scale = 0.1\n"
                                  "optim.critic_lr = 1e-3\n"
                                  "pretrain.steps = 12000\n"
                                  "pretrain.eval_interval = 2000\n"
                                  "finetune.steps = 8000\n"
                                  "finetune.warmup_steps = 1000\n"
                                  "run.checkpoint_interval = 0\n";

/* --smoke: a tiny run for the test suite (tens of seconds). */
static const char smoke_preset[] = "critic.hidden = 32,32\n"
                                   "actor.hidden = 32,32\n"
                                   "critic.ensemble_size = 4\n"
                                   "update.batch_size = 32\n"
                                   "collect.steps = 1200\n"
                                   "collect.start_steps = 400\n"
                                   "collect.dataset_steps = 1000\n"
                                   "eval.interval = 400\n"
                                   "eval.episodes = 2\n"
                                   "log.interval = 100\n"
                                   "pretrain.steps = 300\n"
                                   "pretrain.eval_interval = 150\n"
                                   "finetune.steps = 800\n"
                                   "finetune.warmup_steps = 400\n"
                                   "run.checkpoint_interval = 400\n";

static const tr_alias_t aliases[] = {
    {"--smoke", NULL, "tiny budgets (tens of seconds): what the test suite runs"},
    {"--task NAME", "task", "task (default pendulum; others need much larger budgets)"},
    {NULL, NULL, NULL}};

static const tr_command_t command = {
    "demo",
    "The whole WSRL chain on the pendulum: collect -> pretrain -> finetune with and without warmup.",
    "[--smoke]",
    "1. collect: SAC from scratch; medium, medium-replay and expert datasets (HDF5, D4RL keys)\n"
    "2. pretrain: Cal-QL on medium.hdf5\n"
    "3. finetune: WSRL, warmup finetune.warmup_steps steps of the pretrained policy, then the\n"
    "   SAC ensemble at UTD 4 on online data only\n"
    "4. finetune: the same without warmup, for contrast\n"
    "Prints a summary table and writes compare.png (learning curves and Q mean of 3 and 4),\n"
    "summary.txt and one subfolder per stage into the run folder (runs/demo-<timestamp>/).\n"
    "About 3 minutes on 2 cores (docs/results.md); --smoke takes seconds.\n",
    aliases,
    NULL,
    NULL};

static int sub_dir(const char *dir, const char *name, char *out, size_t size) {
  if (tr_join(out, size, dir, name) != 0 || tr_mkdir_p(out) != 0) {
    fprintf(stderr, "wsrl-train: cannot create %s/%s\n", dir, name);
    return TR_EXIT_FAIL;
  }
  return 0;
}

static void stage(const tr_ctx_t *ctx, int i, const char *what) {
  if (!ctx->quiet)
    fprintf(stderr, "\n== %d/4 %s\n", i, what);
}

static void fmt(char *buf, size_t size, double v, int decimals) {
  if (isfinite(v))
    snprintf(buf, size, "%.*f", decimals, v);
  else
    snprintf(buf, size, "-");
}

int tr_cmd_demo(int argc, char **argv) {
  tr_ctx_t ctx;
  /* --smoke is a switch: look for it first, its preset goes before the
   * command line's settings. */
  int smoke = 0;
  for (int i = 1; i < argc; i++)
    smoke |= strcmp(argv[i], "--smoke") == 0;
  size_t len = sizeof demo_preset + sizeof smoke_preset;
  char *presets = malloc(len);
  if (!presets)
    return TR_EXIT_FAIL;
  snprintf(presets, len, "%s%s", demo_preset, smoke ? smoke_preset : "");
  int rc = tr_parse(&ctx, &command, argc, argv, presets);
  free(presets);
  if (rc != 0) {
    tr_ctx_free(&ctx);
    return rc < 0 ? TR_EXIT_OK : rc;
  }
  const double t0 = tr_now();
  double t_stage[5] = {0};
  char dir[TR_PATH], d_collect[TR_PATH], d_pre[TR_PATH], d_wsrl[TR_PATH], d_now[TR_PATH], path[TR_PATH];
  tr_collect_result_t col;
  tr_pretrain_result_t pre;
  tr_finetune_result_t ws, nw;
  memset(&ws, 0, sizeof ws);
  memset(&nw, 0, sizeof nw);
  if ((rc = tr_make_run_dir(&ctx, smoke ? "demo-smoke" : "demo", dir, sizeof dir)) != 0 ||
      (rc = sub_dir(dir, "collect", d_collect, sizeof d_collect)) != 0 ||
      (rc = sub_dir(dir, "pretrain", d_pre, sizeof d_pre)) != 0 ||
      (rc = sub_dir(dir, "finetune-wsrl", d_wsrl, sizeof d_wsrl)) != 0 ||
      (rc = sub_dir(dir, "finetune-nowarmup", d_now, sizeof d_now)) != 0)
    goto out;
  if (!ctx.quiet)
    fprintf(stderr, "wsrl-train demo: task %s, run folder %s\n", tr_str(&ctx, "task"), dir);

  stage(&ctx, 1, "collect: SAC from scratch, then medium / medium-replay / expert datasets");
  /* collect sets agent.algorithm = sac & co. in ctx.cfg; the tr_apply_ops()
   * calls below rebuild the config from the recorded settings. */
  tr_ctx_t *c = &ctx;
  if ((rc = tr_run_collect(c, d_collect, &col)) != 0)
    goto out;
  t_stage[1] = tr_now() - t0;

  stage(&ctx, 2, "pretrain: offline on medium.hdf5");
  if ((rc = tr_push_op(c, "pretrain.dataset", col.medium, "demo")) != 0 || (rc = tr_apply_ops(c, NULL)) != 0 ||
      (rc = tr_join(path, sizeof path, d_pre, "config.txt")) != 0 || (rc = tr_write_config(c, path)) != 0 ||
      (rc = tr_run_pretrain(c, d_pre, "pretrain", &pre)) != 0)
    goto out;
  t_stage[2] = tr_now() - t0;

  stage(&ctx, 3, "finetune: WSRL (warmup, then online updates on online data only)");
  if ((rc = tr_push_op(c, "finetune.checkpoint", pre.checkpoint, "demo")) != 0 || (rc = tr_apply_ops(c, NULL)) != 0 ||
      (rc = tr_run_finetune(c, d_wsrl, "wsrl", &ws)) != 0)
    goto out;
  t_stage[3] = tr_now() - t0;

  stage(&ctx, 4, "finetune: no warmup (K = 0), for contrast");
  if ((rc = tr_push_op(c, "finetune.warmup_steps", "0", "demo")) != 0 || (rc = tr_apply_ops(c, NULL)) != 0 ||
      (rc = tr_run_finetune(c, d_now, "no-warmup", &nw)) != 0)
    goto out;
  t_stage[4] = tr_now() - t0;

  /* The summary table. */
  {
    const int have = col.norm.have;
    char a[32], b[32], d[32], e[32], f[32];
    char table[4096];
    size_t n = 0;
#define ADD(...) n += (size_t)snprintf(table + n, sizeof table - n, __VA_ARGS__)
    ADD("\nWSRL demo on %s (%s)\n", tr_str(&ctx, "task"), smoke ? "smoke configuration" : "demo configuration");
    ADD("scores: %s; random %.1f, expert %.1f\n\n",
        have ? "normalized, 0 = random policy, 100 = expert of collect" : "raw returns", col.norm.random_return,
        col.norm.expert_return);
    ADD("%-22s %10s %10s %10s %10s %8s\n", "stage", "start", "lowest", "final", "steps", "time s");
    fmt(a, sizeof a, have ? tr_normalize(&col.norm, col.norm.expert_return) : col.norm.expert_return, 1);
    fmt(b, sizeof b, have ? tr_normalize(&col.norm, col.norm.medium_return) : col.norm.medium_return, 1);
    ADD("%-22s %10s %10s %10s %10lld %8.0f\n", "collect: expert", "-", "-", a, (long long)col.steps, t_stage[1]);
    ADD("%-22s %10s %10s %10s %10s %8s\n", "collect: medium", "-", "-", b, "-", "");
    fmt(a, sizeof a, have ? pre.eval_normalized : pre.eval_return, 1);
    ADD("%-22s %10s %10s %10s %10lld %8.0f\n", "pretrain (offline)", "-", "-", a,
        (long long)tr_int(&ctx, "pretrain.steps"), t_stage[2] - t_stage[1]);
    const tr_finetune_result_t *rows[2] = {&ws, &nw};
    const char *names[2] = {"finetune WSRL", "finetune no warmup"};
    for (int i = 0; i < 2; i++) {
      const tr_finetune_result_t *r = rows[i];
      fmt(d, sizeof d, have ? r->switch_normalized : r->switch_return, 1);
      fmt(e, sizeof e, have ? r->min_normalized : r->min_return, 1);
      fmt(f, sizeof f, have ? r->final_normalized : r->final_return, 1);
      ADD("%-22s %10s %10s %10s %10lld %8.0f\n", names[i], d, e, f, (long long)r->steps, r->seconds);
    }
    ADD("\n'start' is the pretrained policy at the switch, 'lowest' the worst evaluation in the first %lld\n"
        "steps after the warmup (the dip), 'final' the last evaluation. Total time %.0f s.\n",
        (long long)tr_int(&ctx, "run.dip_window"), tr_now() - t0);
    /* What to look at: each run's drop from its start to its lowest. */
    const double big = have ? 10.0 : 0.1 * fabs(col.norm.expert_return - col.norm.random_return);
    double drop[2];
    for (int i = 0; i < 2; i++)
      drop[i] = have ? rows[i]->switch_normalized - rows[i]->min_normalized
                     : rows[i]->switch_return - rows[i]->min_return;
    ADD("What to look at: the dip (start minus lowest): %.1f without the warmup, %.1f with it.\n%s\n", drop[1],
        drop[0], tr_dip_verdict(drop[0], drop[1], big));
#undef ADD
    printf("%s", table);
    tr_write_file(dir, "summary.txt", "%s", table);
  }
  if (tr_bool(&ctx, "run.plot") && tr_join(path, sizeof path, dir, "compare.png") == 0) {
    const int z = ws.normalized && nw.normalized;
    const char *y = z ? "normalized" : "return_mean";
    tr_series_t top[] = {{ws.eval_csv, "WSRL (warmup)", y, NULL}, {nw.eval_csv, "no warmup", y, NULL}};
    tr_series_t bottom[] = {{ws.csv, "WSRL (warmup)", "q_mean", NULL}, {nw.csv, "no warmup", "q_mean", NULL}};
    if (tr_plot(path, "WSRL fine-tuning: warmup vs no warmup", z ? "normalized return" : "return", top, 2, "Q mean",
                bottom, 2, ctx.quiet) == 0)
      printf("learning curves: %s\n", path);
  }
  printf("run folder: %s\n", dir);
out:
  tr_ctx_free(&ctx);
  return rc;
}
