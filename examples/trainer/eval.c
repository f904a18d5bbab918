/* wsrl-train eval: deterministic evaluation of a checkpoint (tanh(mean)
 * actions, eval.episodes episodes, reset seeds --eval-seed + i). */
#include <math.h>
#include <string.h>

#include "trainer.h"

static const tr_alias_t aliases[] = {{"--task NAME", "task", "task to evaluate on"},
                                     {"--episodes N", "eval.episodes", "episodes (default eval.episodes)"},
                                     {NULL, NULL, NULL}};

static const char *const prefixes[] = {"task", "eval.", "norm.", NULL};

static const tr_command_t command = {
    "eval",
    "Deterministic evaluation of a checkpoint (pretrained.ckpt, final.ckpt, expert.ckpt, ...).",
    "CHECKPOINT",
    "Runs eval.episodes episodes with the deterministic policy and prints the mean return, its\n"
    "standard deviation, min/max, the mean length and the normalised score (0 = random,\n"
    "100 = the expert of collect, from normalisation.json beside the checkpoint or norm.*).\n"
    "Writes nothing unless --out DIR is given (then eval.csv and summary.json there).\n"
    "Example:\n"
    "  wsrl-train eval runs/demo-*/finetune-wsrl/final.ckpt --set task=pendulum --episodes 20\n",
    aliases,
    "eval.checkpoint",
    prefixes};

int tr_cmd_eval(int argc, char **argv) {
  tr_ctx_t ctx;
  int rc = tr_parse(&ctx, &command, argc, argv, NULL);
  if (rc != 0) {
    tr_ctx_free(&ctx);
    return rc < 0 ? TR_EXIT_OK : rc;
  }
  const char *ckpt = tr_str(&ctx, "eval.checkpoint");
  wsrl_env_t *env = NULL;
  wsrl_agent_t *agent = NULL;
  if (!ckpt[0]) {
    rc = tr_usage_error(&command, "missing CHECKPOINT");
    goto out;
  }
  /* Keys from the command line apply on top of the checkpoint's config. */
  wsrl_config_t *base = NULL;
  wsrl_status_t st = wsrl_agent_checkpoint_config(ckpt, &base);
  if (st != WSRL_OK) {
    rc = tr_fail(st, ckpt);
    goto out;
  }
  rc = tr_apply_ops(&ctx, base);
  wsrl_config_destroy(base);
  if (rc)
    goto out;
  const wsrl_example_task_info_t *info = NULL;
  if ((rc = tr_make_env(&ctx, &env, &info)) != 0)
    goto out;
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  st = wsrl_env_get_spec(env, &spec);
  if (st == WSRL_OK)
    st = wsrl_agent_create(&agent, ctx.cfg, &spec);
  if (st == WSRL_OK)
    st = wsrl_agent_load(agent, ckpt);
  if (st != WSRL_OK) {
    rc = tr_fail(st, ckpt);
    goto out;
  }
  const int64_t episodes = tr_cfg_int(&ctx, "eval.episodes");
  const uint64_t seed = 1000000u + 1000u * (uint64_t)tr_cfg_int(&ctx, "agent.seed");
  wsrl_eval_result_t r = WSRL_EVAL_RESULT_INIT;
  double t0 = tr_now();
  st = wsrl_evaluate(agent, env, (int32_t)episodes, seed, &r);
  if (st != WSRL_OK) {
    rc = tr_fail(st, "evaluate");
    goto out;
  }
  tr_norm_t norm;
  tr_norm_resolve(&ctx, ckpt, &norm);
  double z = tr_normalize(&norm, r.return_mean);
  printf("%s on %s: return %.2f +- %.2f (min %.2f, max %.2f) over %d episodes, mean length %.1f, %.1f s\n", ckpt,
         info->name, r.return_mean, r.return_std, r.return_min, r.return_max, (int)r.episodes, r.length_mean,
         tr_now() - t0);
  if (isfinite(z))
    printf("normalized score: %.1f (random %.2f = 0, expert %.2f = 100)\n", z, norm.random_return, norm.expert_return);
  if (ctx.out_dir[0]) {
    char dir[TR_PATH], path[TR_PATH];
    if ((rc = tr_make_run_dir(&ctx, "eval", dir, sizeof dir)) != 0)
      goto out;
    tr_write_file(
        dir, "summary.json",
        "{\n  \"command\": \"eval\",\n  \"checkpoint\": \"%s\",\n  \"task\": \"%s\",\n  \"episodes\": %d,\n"
        "  \"return_mean\": %.6g,\n  \"return_std\": %.6g,\n  \"return_min\": %.6g,\n  \"return_max\": %.6g,\n"
        "  \"length_mean\": %.6g,\n  \"normalized\": %.6g\n}\n",
        ckpt, info->name, (int)r.episodes, r.return_mean, r.return_std, r.return_min, r.return_max, r.length_mean, z);
    tr_csv_t csv;
    if (tr_join(path, sizeof path, dir, "eval.csv") == 0 && tr_csv_open(&csv, path, 0) == 0) {
      const char *names[] = {"return_mean", "return_std", "length_mean", "normalized"};
      const double values[] = {r.return_mean, r.return_std, r.length_mean, z};
      tr_csv_row(&csv, 0, "eval", 4, names, values);
      tr_csv_close(&csv);
    }
  }
out:
  wsrl_agent_destroy(agent);
  wsrl_env_destroy(env);
  tr_ctx_free(&ctx);
  return rc;
}
