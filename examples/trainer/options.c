/* Trainer keys, config files, --set overrides and command lines.
 *
 * A config file holds "key = value" lines ('#' starts a comment). A key is
 * either one of the trainer's own keys below (task, collect.*, pretrain.*,
 * ...) or a library key of docs/config.md, which goes to wsrl_config_set()
 * unchanged, so the library's own range checks and messages apply. Files
 * and --set overrides are recorded in command-line order and replayed onto
 * a base config: the defaults, or (finetune, eval) the config stored in the
 * checkpoint, so a checkpoint's network shapes need not be repeated. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trainer.h"

typedef enum { TK_STRING, TK_INT, TK_FLOAT, TK_BOOL } tk_type_t;

typedef struct tkey {
  const char *name;
  tk_type_t type;
  const char *def;
  const char *doc;
} tkey_t;

/* The trainer's own keys. Library keys (agent.*, critic.*, finetune.warmup_steps,
 * eval.episodes, ...) are documented in docs/config.md. */
static const tkey_t tkeys[] = {
    {"task", TK_STRING, "pendulum",
     "Example task: pendulum, hopper, halfcheetah, walker2d, ant, antmaze, pointmaze (docs/tasks.md)."},
    {"task.max_episode_steps", TK_INT, "0", "Time limit override; 0 keeps the task's own."},
    {"collect.steps", TK_INT, "100000", "Online SAC steps (budget) to train the expert policy."},
    {"collect.target_return", TK_FLOAT, "auto",
     "Stop training early once an evaluation reaches this return (auto: use the whole budget)."},
    {"collect.start_steps", TK_INT, "5000",
     "Steps of the freshly initialised (near-uniform) policy before the first SAC update."},
    {"collect.medium_fraction", TK_FLOAT, "0.33",
     "Medium policy: the first evaluated snapshot reaching random + fraction * (expert - random)."},
    {"collect.medium_return", TK_FLOAT, "auto", "Medium policy threshold as a return (overrides the fraction)."},
    {"collect.dataset_steps", TK_INT, "100000", "Transitions in the medium and expert datasets (D4RL has 1M)."},
    {"collect.shaping", TK_BOOL, "0",
     "Train the collecting SAC on the task's potential-based shaped reward (sparse tasks: antmaze, pointmaze); "
     "datasets and evaluations keep the task's own reward."},
    {"collect.shaping_gamma", TK_FLOAT, "auto",
     "Shaped reward r + g phi(s') - phi(s) with this g; auto: td.discount (policy-invariant); 1: a progress "
     "reward, stronger when the goal is far (not policy-invariant; the datasets still get the task's reward)."},
    {"pretrain.dataset", TK_STRING, "", "D4RL-format HDF5 dataset to pretrain on (e.g. a collect run's medium.hdf5)."},
    {"pretrain.steps", TK_INT, "100000", "Offline gradient updates."},
    {"pretrain.eval_interval", TK_INT, "10000", "Updates between evaluations while pretraining (0: only at the end)."},
    {"finetune.checkpoint", TK_STRING, "",
     "Pretrained checkpoint to fine-tune; empty: start from scratch (SAC, or RLPD with finetune.dataset)."},
    {"finetune.dataset", TK_STRING, "", "Offline dataset kept online (finetune.offline_data = mixed | append, RLPD)."},
    {"finetune.steps", TK_INT, "50000", "Online environment steps, warmup included."},
    {"eval.checkpoint", TK_STRING, "", "Checkpoint to evaluate (eval)."},
    {"norm.file", TK_STRING, "",
     "normalisation.json of a collect run (default: the one beside the dataset or checkpoint)."},
    {"norm.random_return", TK_FLOAT, "auto", "Return of the random policy (score 0); auto: norm.file or the task's."},
    {"norm.expert_return", TK_FLOAT, "auto", "Return of the expert policy (score 100); auto: norm.file."},
    {"run.checkpoint_interval", TK_INT, "10000",
     "Steps between resumable checkpoints of collect/pretrain/finetune (0: only at the end or on a stop)."},
    {"run.plot", TK_BOOL, "1", "Write learning-curve PNGs with gnuplot when it is installed."},
    {"run.dip_window", TK_INT, "20000",
     "Summaries: the dip is the lowest evaluation within this many steps after the warmup ends."},
    {"run.stop_at", TK_INT, "0",
     "Stop collect/pretrain/finetune cleanly at this step, as on Ctrl-C (resumable with --resume; exit 3); 0: never."},
    {"run.time_limit", TK_FLOAT, "auto",
     "Stop collect/pretrain/finetune cleanly after this many seconds (resumable; exit 3); auto: no limit."},
};
#define N_TKEYS ((int)(sizeof tkeys / sizeof tkeys[0]))

static int tkey_index(const char *key) {
  for (int i = 0; i < N_TKEYS; i++)
    if (strcmp(tkeys[i].name, key) == 0)
      return i;
  return -1;
}

int tr_is_trainer_key(const char *key) { return tkey_index(key) >= 0; }

static void trim(char *s) {
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  size_t i = 0;
  while (s[i] && isspace((unsigned char)s[i]))
    i++;
  if (i > 0)
    memmove(s, s + i, n - i + 1);
}

/* Validate a trainer key's text; returns 0 or -1 with a message in msg. */
static int tkey_check(const tkey_t *k, const char *value, char *msg, size_t size) {
  /* Quote at most 200 bytes of the value. */
  char *end = NULL;
  errno = 0;
  switch (k->type) {
  case TK_STRING:
    return 0;
  case TK_INT: {
    long long v = strtoll(value, &end, 10);
    if (end == value || *end || errno || v < 0) {
      snprintf(msg, size, "%s: expected a non-negative integer, got '%.200s'", k->name, value);
      return -1;
    }
    return 0;
  }
  case TK_FLOAT: {
    if (strcmp(value, "auto") == 0)
      return 0;
    double v = strtod(value, &end);
    if (end == value || *end || !isfinite(v)) {
      snprintf(msg, size, "%s: expected a number or 'auto', got '%.200s'", k->name, value);
      return -1;
    }
    return 0;
  }
  case TK_BOOL:
    if (!strcmp(value, "0") || !strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "false"))
      return 0;
    snprintf(msg, size, "%s: expected true|false|1|0, got '%.200s'", k->name, value);
    return -1;
  }
  return 0;
}

/* ---------------------------------------------------------------- accessors */

static const char *value_of(const tr_ctx_t *ctx, const char *key) {
  int i = tkey_index(key);
  if (i < 0) {
    fprintf(stderr, "wsrl-train: internal error: unknown trainer key %s\n", key);
    return "";
  }
  return ctx->values[i];
}

const char *tr_str(const tr_ctx_t *ctx, const char *key) { return value_of(ctx, key); }

int64_t tr_int(const tr_ctx_t *ctx, const char *key) { return (int64_t)strtoll(value_of(ctx, key), NULL, 10); }

double tr_float(const tr_ctx_t *ctx, const char *key) {
  const char *v = value_of(ctx, key);
  return strcmp(v, "auto") == 0 || !*v ? NAN : strtod(v, NULL);
}

int tr_bool(const tr_ctx_t *ctx, const char *key) {
  const char *v = value_of(ctx, key);
  return strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
}

int tr_was_set(const tr_ctx_t *ctx, const char *key) {
  int i = tkey_index(key);
  return i >= 0 && ctx->explicit_set[i];
}

int64_t tr_cfg_int(const tr_ctx_t *ctx, const char *key) {
  int64_t v = 0;
  if (wsrl_config_get_int(ctx->cfg, key, &v) != WSRL_OK)
    fprintf(stderr, "wsrl-train: %s\n", wsrl_last_error_message());
  return v;
}

double tr_cfg_float(const tr_ctx_t *ctx, const char *key) {
  double v = 0;
  if (wsrl_config_get_float(ctx->cfg, key, &v) != WSRL_OK)
    fprintf(stderr, "wsrl-train: %s\n", wsrl_last_error_message());
  return v;
}

int tr_cfg_set(tr_ctx_t *ctx, const char *key, const char *value) {
  if (wsrl_config_set(ctx->cfg, key, value) != WSRL_OK) {
    fprintf(stderr, "wsrl-train: %s\n", wsrl_last_error_message());
    return TR_EXIT_FAIL;
  }
  return 0;
}

/* --------------------------------------------------------------------- ops */

int tr_push_op(tr_ctx_t *ctx, const char *key, const char *value, const char *where) {
  if (ctx->n_ops >= TR_MAX_OPS) {
    fprintf(stderr, "wsrl-train: more than %d settings\n", TR_MAX_OPS);
    return TR_EXIT_USAGE;
  }
  tr_op_t *op = &ctx->ops[ctx->n_ops];
  if (strlen(key) >= sizeof op->key || strlen(value) >= sizeof op->value) {
    fprintf(stderr, "wsrl-train: %s: setting too long: %s\n", where, key);
    return TR_EXIT_USAGE;
  }
  snprintf(op->key, sizeof op->key, "%s", key);
  snprintf(op->value, sizeof op->value, "%s", value);
  snprintf(op->where, sizeof op->where, "%s", where);
  ctx->n_ops++;
  return 0;
}

/* Split "key=value" (or "key = value") into trimmed parts. */
static int split_kv(const char *text, char *key, size_t ksize, char *value, size_t vsize) {
  const char *eq = strchr(text, '=');
  if (!eq || (size_t)(eq - text) >= ksize || strlen(eq + 1) >= vsize)
    return -1;
  memcpy(key, text, (size_t)(eq - text));
  key[eq - text] = '\0';
  snprintf(value, vsize, "%s", eq + 1);
  trim(key);
  trim(value);
  return *key ? 0 : -1;
}

/* Record every line of a config file (or preset text) as ops. */
static int push_text(tr_ctx_t *ctx, const char *text, const char *origin) {
  int line_no = 0;
  const char *p = text;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char line[TR_PATH + 256];
    line_no++;
    if (len >= sizeof line) {
      fprintf(stderr, "wsrl-train: %s:%d: line too long\n", origin, line_no);
      return TR_EXIT_USAGE;
    }
    memcpy(line, p, len);
    line[len] = '\0';
    char *hash = strchr(line, '#');
    if (hash)
      *hash = '\0';
    trim(line);
    if (*line) {
      char key[128], value[TR_PATH], where[TR_PATH + 32];
      snprintf(where, sizeof where, "%s:%d", origin, line_no);
      if (split_kv(line, key, sizeof key, value, sizeof value) != 0) {
        fprintf(stderr, "wsrl-train: %s: expected 'key = value', got '%s'\n", where, line);
        return TR_EXIT_USAGE;
      }
      int rc = tr_push_op(ctx, key, value, where);
      if (rc)
        return rc;
    }
    p += len + (nl ? 1 : 0);
  }
  return 0;
}

static int push_file(tr_ctx_t *ctx, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "wsrl-train: --config %s: %s\n", path, strerror(errno));
    return TR_EXIT_USAGE;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int c;
  while ((c = fgetc(f)) != EOF) {
    if (len + 2 > cap) {
      cap = cap ? cap * 2 : 4096;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return TR_EXIT_FAIL;
      }
      buf = nb;
    }
    buf[len++] = (char)c;
  }
  fclose(f);
  if (!buf)
    return 0;
  buf[len] = '\0';
  int rc = push_text(ctx, buf, path);
  free(buf);
  return rc;
}

int tr_apply_ops(tr_ctx_t *ctx, const wsrl_config_t *base) {
  wsrl_config_t *cfg = NULL;
  wsrl_status_t st = base ? wsrl_config_clone(&cfg, base) : wsrl_config_create(&cfg);
  if (st != WSRL_OK)
    return tr_fail(st, "config");
  wsrl_config_destroy(ctx->cfg);
  ctx->cfg = cfg;
  for (int i = 0; i < N_TKEYS; i++) {
    snprintf(ctx->values[i], TR_PATH, "%s", tkeys[i].def);
    ctx->explicit_set[i] = 0;
  }
  for (int i = 0; i < ctx->n_ops; i++) {
    const tr_op_t *op = &ctx->ops[i];
    int k = tkey_index(op->key);
    if (k >= 0) {
      char msg[512];
      if (tkey_check(&tkeys[k], op->value, msg, sizeof msg) != 0)
        return tr_usage_error(ctx->cmd, "%s: %s", op->where, msg);
      snprintf(ctx->values[k], TR_PATH, "%s", op->value);
      ctx->explicit_set[k] = 1;
    } else if (wsrl_config_set(ctx->cfg, op->key, op->value) != WSRL_OK) {
      return tr_usage_error(ctx->cmd, "%s: %s", op->where, wsrl_last_error_message());
    }
  }
  /* Sparse tasks use Cal-QL's sparse MC rule unless a setting says otherwise:
   * in the config, so the agent, its online buffer and the datasets (built
   * with wsrl_replay_options_from_config()) agree. */
  const wsrl_example_task_info_t *info = wsrl_example_task_find(ctx->values[tkey_index("task")]);
  int sparse_set = 0;
  for (int i = 0; i < ctx->n_ops; i++)
    sparse_set |= strcmp(ctx->ops[i].key, "replay.mc_sparse") == 0;
  wsrl_status_t st_sparse = info && info->sparse && !sparse_set ? wsrl_config_set(ctx->cfg, "replay.mc_sparse", "1")
                                                                 : WSRL_OK;
  return st_sparse == WSRL_OK ? 0 : tr_fail(st_sparse, "config");
}

/* ---------------------------------------------------------------- command line */

static const tr_alias_t common_flags[] = {
    {"--config FILE", NULL, "apply the 'key = value' lines of FILE (in command-line order with --set)"},
    {"--set KEY=VALUE", NULL, "set one key (also: a bare KEY=VALUE argument); lists as 64,64"},
    {"--seed N", NULL, "same as --set agent.seed=N (networks, sampling and environment seeds)"},
    {"--out DIR", NULL, "run folder (default runs/<name>-<timestamp>/)"},
    {"--name NAME", NULL, "run name used in the default folder"},
    {"--quiet", NULL, "only errors and the final summary"},
    {"--help", NULL, "this help; --help-keys lists every key"},
    {NULL, NULL, NULL}};

static void print_flag(FILE *f, const char *flag, const char *help) { fprintf(f, "  %-24s %s\n", flag, help); }

static void print_keys(FILE *f, const tr_command_t *cmd, int all) {
  fprintf(f, "\nTrainer keys (key = default: meaning):\n");
  for (int i = 0; i < N_TKEYS; i++) {
    int show = all || !cmd->key_prefixes;
    for (int p = 0; !show && cmd->key_prefixes[p]; p++)
      show = strncmp(tkeys[i].name, cmd->key_prefixes[p], strlen(cmd->key_prefixes[p])) == 0;
    if (show)
      fprintf(f, "  %s = %s\n      %s\n", tkeys[i].name, tkeys[i].def, tkeys[i].doc);
  }
  if (!all) {
    fprintf(f, "\nEvery library key of docs/config.md is accepted too (agent.*, critic.*, actor.*, optim.*,\n"
               "sac.*, cql.*, iql.*, td3bc.*, finetune.*, replay.*, eval.*, log.*); --help-keys lists them all.\n");
    return;
  }
  fprintf(f, "\nLibrary keys (docs/config.md):\n");
  size_t n = wsrl_config_key_count();
  for (size_t i = 0; i < n; i++) {
    const char *name = NULL, *doc = NULL, *def = NULL, *choices = NULL;
    wsrl_config_key_info(i, &name, NULL, &doc);
    wsrl_config_key_bounds(name, &def, NULL, NULL, &choices);
    fprintf(f, "  %s = %s%s%s%s\n      %s\n", name, def, choices && *choices ? "  (" : "", choices ? choices : "",
            choices && *choices ? ")" : "", doc);
  }
}

void tr_usage(FILE *f, const tr_command_t *cmd, int verbose) {
  fprintf(f, "usage: wsrl-train %s [options] %s\n", cmd->name, cmd->usage_extra ? cmd->usage_extra : "");
  if (!verbose)
    return;
  fprintf(f, "\n%s\n", cmd->summary);
  if (cmd->description)
    fprintf(f, "\n%s", cmd->description);
  fprintf(f, "\nOptions:\n");
  for (const tr_alias_t *a = cmd->aliases; a && a->flag; a++) {
    char flag[64];
    snprintf(flag, sizeof flag, "%s", a->flag);
    print_flag(f, flag, a->help);
  }
  for (const tr_alias_t *a = common_flags; a->flag; a++)
    print_flag(f, a->flag, a->help);
  print_keys(f, cmd, 0);
}

int tr_usage_error(const tr_command_t *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "wsrl-train %s: ", cmd ? cmd->name : "");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  if (cmd) {
    tr_usage(stderr, cmd, 0);
    fprintf(stderr, "Try 'wsrl-train %s --help'.\n", cmd->name);
  }
  return TR_EXIT_USAGE;
}

/* The flag part of an alias ("--dataset FILE" -> "--dataset"). */
static int flag_matches(const char *alias_flag, const char *arg) {
  size_t n = strcspn(alias_flag, " ");
  return strlen(arg) == n && strncmp(alias_flag, arg, n) == 0;
}

static int flag_takes_value(const char *alias_flag) { return strchr(alias_flag, ' ') != NULL; }

int tr_parse(tr_ctx_t *ctx, const tr_command_t *cmd, int argc, char **argv, const char *presets) {
  memset(ctx, 0, sizeof *ctx);
  ctx->cmd = cmd;
  ctx->argc = argc;
  ctx->argv = argv;
  ctx->tty = isatty(fileno(stderr));
  ctx->values = calloc((size_t)N_TKEYS, sizeof *ctx->values);
  ctx->explicit_set = calloc((size_t)N_TKEYS, 1);
  ctx->ops = calloc(TR_MAX_OPS, sizeof *ctx->ops);
  if (!ctx->values || !ctx->explicit_set || !ctx->ops) {
    fprintf(stderr, "wsrl-train: out of memory\n");
    return TR_EXIT_FAIL;
  }
  int rc = presets ? push_text(ctx, presets, "(built-in preset)") : 0;
  if (rc)
    return rc;
  int positional_seen = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                                                   \
  do {                                                                                                                 \
    if (!next)                                                                                                         \
      return tr_usage_error(cmd, "%s needs a value", a);                                                               \
    i++;                                                                                                               \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      tr_usage(stdout, cmd, 1);
      return -1;
    } else if (!strcmp(a, "--help-keys")) {
      tr_usage(stdout, cmd, 0);
      print_keys(stdout, cmd, 1);
      return -1;
    } else if (!strcmp(a, "--config")) {
      NEED_VALUE();
      rc = push_file(ctx, next);
      if (rc)
        return tr_usage_error(cmd, "--config %s: cannot use this file", next);
    } else if (!strcmp(a, "--set")) {
      NEED_VALUE();
      char key[128], value[TR_PATH];
      if (split_kv(next, key, sizeof key, value, sizeof value) != 0)
        return tr_usage_error(cmd, "--set %s: expected KEY=VALUE", next);
      rc = tr_push_op(ctx, key, value, "--set");
    } else if (!strcmp(a, "--seed")) {
      NEED_VALUE();
      rc = tr_push_op(ctx, "agent.seed", next, "--seed");
    } else if (!strcmp(a, "--out")) {
      NEED_VALUE();
      snprintf(ctx->out_dir, sizeof ctx->out_dir, "%s", next);
    } else if (!strcmp(a, "--name")) {
      NEED_VALUE();
      snprintf(ctx->name, sizeof ctx->name, "%s", next);
    } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
      ctx->quiet = 1;
    } else if (a[0] == '-' && a[1] == '-') {
      const tr_alias_t *hit = NULL;
      for (const tr_alias_t *al = cmd->aliases; al && al->flag && !hit; al++)
        if (flag_matches(al->flag, a))
          hit = al;
      if (!hit)
        return tr_usage_error(cmd, "unknown option '%s'", a);
      if (!hit->key) { /* a plain switch handled by the subcommand */
        if (!strcmp(a, "--smoke"))
          ctx->smoke = 1;
        else if (!strcmp(a, "--resume"))
          ctx->resume = 1;
        continue;
      }
      if (flag_takes_value(hit->flag)) {
        NEED_VALUE();
        rc = tr_push_op(ctx, hit->key, next, a);
      } else {
        rc = tr_push_op(ctx, hit->key, "1", a);
      }
    } else if (strchr(a, '=') && a[0] != '-') {
      char key[128], value[TR_PATH];
      if (split_kv(a, key, sizeof key, value, sizeof value) != 0)
        return tr_usage_error(cmd, "'%s': expected KEY=VALUE", a);
      rc = tr_push_op(ctx, key, value, "command line");
    } else if (cmd->positional_key && !positional_seen && a[0] != '-') {
      positional_seen = 1;
      rc = tr_push_op(ctx, cmd->positional_key, a, "command line");
    } else {
      return tr_usage_error(cmd, "unexpected argument '%s'", a);
    }
#undef NEED_VALUE
  }
  if (rc)
    return rc;
  return tr_apply_ops(ctx, NULL);
}

void tr_ctx_free(tr_ctx_t *ctx) {
  wsrl_config_destroy(ctx->cfg);
  free(ctx->values);
  free(ctx->explicit_set);
  free(ctx->ops);
  memset(ctx, 0, sizeof *ctx);
}

int tr_write_config(const tr_ctx_t *ctx, const char *path) {
  size_t needed = 0;
  wsrl_config_write_string(ctx->cfg, NULL, 0, &needed); /* asks the size: "fails" by design */
  wsrl_clear_error();
  char *lib = malloc(needed ? needed : 1);
  if (!lib || wsrl_config_write_string(ctx->cfg, lib, needed, NULL) != WSRL_OK) {
    free(lib);
    return tr_fail(wsrl_last_error_status(), "config");
  }
  FILE *f = fopen(path, "w");
  if (!f) {
    free(lib);
    fprintf(stderr, "wsrl-train: %s: %s\n", path, strerror(errno));
    return TR_EXIT_FAIL;
  }
  fprintf(f, "# Effective configuration of this run; reuse it with --config.\n# trainer keys\n");
  for (int i = 0; i < N_TKEYS; i++)
    fprintf(f, "%s = %s\n", tkeys[i].name, ctx->values[i]);
  fprintf(f, "# library keys (docs/config.md)\n%s", lib);
  free(lib);
  return fclose(f) == 0 ? 0 : TR_EXIT_FAIL;
}
