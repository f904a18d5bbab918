/* Run folders, score normalisation, and the set-up every subcommand shares
 * (task env, replay options, datasets). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "trainer.h"

int tr_fail(wsrl_status_t st, const char *what) { return tr_fail_msg(st, what, wsrl_last_error_message()); }

int tr_fail_msg(wsrl_status_t st, const char *what, const char *msg) {
  if (st == WSRL_ERR_CANCELLED) {
    fprintf(stderr, "wsrl-train: %s: stopped (resumable)\n", what);
    return TR_EXIT_INTERRUPTED;
  }
  fprintf(stderr, "wsrl-train: %s: %s%s%s\n", what, wsrl_status_string(st), *msg ? ": " : "", msg);
  return st == WSRL_ERR_CANCELLED ? TR_EXIT_INTERRUPTED : TR_EXIT_FAIL;
}

double tr_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int tr_file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

int tr_join(char *out, size_t size, const char *dir, const char *name) {
  int n = snprintf(out, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size) {
    fprintf(stderr, "wsrl-train: path too long: %s/%s\n", dir, name);
    return -1;
  }
  return 0;
}

void tr_dirname(const char *path, char *out, size_t size) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(out, size, ".");
  else if (slash == path)
    snprintf(out, size, "/");
  else
    snprintf(out, size, "%.*s", (int)(slash - path), path);
}

int tr_mkdir_p(const char *path) {
  char buf[TR_PATH];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -1;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  if (mkdir(buf, 0777) != 0 && errno != EEXIST)
    return -1;
  return 0;
}

int tr_make_run_dir(tr_ctx_t *ctx, const char *default_name, char *dir_out, size_t size) {
  if (ctx->out_dir[0]) {
    snprintf(dir_out, size, "%s", ctx->out_dir);
  } else {
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    const char *name = ctx->name[0] ? ctx->name : default_name;
    snprintf(dir_out, size, "runs/%s-%s", name, stamp);
    /* Two runs started in the same second get -2, -3, ... */
    for (int i = 2; tr_file_exists(dir_out) && i < 1000; i++)
      snprintf(dir_out, size, "runs/%s-%s-%d", name, stamp, i);
  }
  if (tr_mkdir_p(dir_out) != 0) {
    fprintf(stderr, "wsrl-train: cannot create run folder %s: %s\n", dir_out, strerror(errno));
    return TR_EXIT_FAIL;
  }
  char path[TR_PATH];
  if (tr_join(path, sizeof path, dir_out, "config.txt") != 0 || tr_write_config(ctx, path) != 0)
    return TR_EXIT_FAIL;
  if (tr_join(path, sizeof path, dir_out, "command.txt") != 0)
    return TR_EXIT_FAIL;
  FILE *f = fopen(path, ctx->resume ? "a" : "w");
  if (f) {
    fprintf(f, "wsrl-train");
    for (int i = 0; i < ctx->argc; i++)
      fprintf(f, " %s", ctx->argv[i]);
    fprintf(f, "\n");
    fclose(f);
  }
  return 0;
}

/* ------------------------------------------------------------ normalisation */

int tr_norm_write(const char *path, const tr_norm_t *norm) {
  char tmp[TR_PATH + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "wsrl-train: %s: %s\n", tmp, strerror(errno));
    return TR_EXIT_FAIL;
  }
  fprintf(f,
          "{\n  \"task\": \"%s\",\n  \"random_return\": %.6g,\n  \"expert_return\": %.6g,\n"
          "  \"medium_return\": %.6g\n}\n",
          norm->task, norm->random_return, norm->expert_return, norm->medium_return);
  if (fclose(f) != 0 || rename(tmp, path) != 0) {
    fprintf(stderr, "wsrl-train: %s: %s\n", path, strerror(errno));
    return TR_EXIT_FAIL;
  }
  return 0;
}

/* Find "name": <number> in a small JSON text. */
static int json_number(const char *text, const char *name, double *out) {
  char pat[80];
  snprintf(pat, sizeof pat, "\"%s\"", name);
  const char *p = strstr(text, pat);
  if (!p)
    return -1;
  p = strchr(p + strlen(pat), ':');
  if (!p)
    return -1;
  char *end = NULL;
  double v = strtod(p + 1, &end);
  if (end == p + 1)
    return -1;
  *out = v;
  return 0;
}

int tr_norm_read(const char *path, tr_norm_t *norm) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char text[4096];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  memset(norm, 0, sizeof *norm);
  norm->medium_return = NAN;
  const char *t = strstr(text, "\"task\"");
  if (t && (t = strchr(t + 6, '"')) != NULL)
    sscanf(t + 1, "%63[^\"]", norm->task);
  if (json_number(text, "random_return", &norm->random_return) != 0 ||
      json_number(text, "expert_return", &norm->expert_return) != 0)
    return -1;
  json_number(text, "medium_return", &norm->medium_return);
  norm->have = 1;
  return 0;
}

void tr_norm_resolve(const tr_ctx_t *ctx, const char *near_path, tr_norm_t *norm) {
  memset(norm, 0, sizeof *norm);
  norm->random_return = norm->expert_return = norm->medium_return = NAN;
  tr_norm_t file;
  char path[TR_PATH] = "";
  if (tr_str(ctx, "norm.file")[0]) {
    snprintf(path, sizeof path, "%s", tr_str(ctx, "norm.file"));
  } else if (near_path && near_path[0]) {
    char dir[TR_PATH];
    tr_dirname(near_path, dir, sizeof dir);
    tr_join(path, sizeof path, dir, "normalisation.json");
  }
  if (path[0] && tr_norm_read(path, &file) == 0) {
    *norm = file;
  } else if (tr_str(ctx, "norm.file")[0]) {
    fprintf(stderr, "wsrl-train: warning: norm.file %s: cannot read it\n", path);
  }
  const wsrl_example_task_info_t *info = wsrl_example_task_find(tr_str(ctx, "task"));
  if (isnan(norm->random_return) && info)
    norm->random_return = info->random_return;
  if (!isnan(tr_float(ctx, "norm.random_return")))
    norm->random_return = tr_float(ctx, "norm.random_return");
  if (!isnan(tr_float(ctx, "norm.expert_return")))
    norm->expert_return = tr_float(ctx, "norm.expert_return");
  /* An "expert" no better than random gives no usable scale. */
  norm->have =
      isfinite(norm->random_return) && isfinite(norm->expert_return) && norm->expert_return > norm->random_return;
}

double tr_normalize(const tr_norm_t *norm, double ret) {
  if (!norm->have)
    return NAN;
  return 100.0 * (ret - norm->random_return) / (norm->expert_return - norm->random_return);
}

/* ------------------------------------------------------------------ set-up */

int tr_make_env(const tr_ctx_t *ctx, wsrl_env_t **env_out, const wsrl_example_task_info_t **info_out) {
  const char *name = tr_str(ctx, "task");
  const wsrl_example_task_info_t *info = wsrl_example_task_find(name);
  if (!info) {
    fprintf(stderr, "wsrl-train: task = %s: unknown task; known:", name);
    for (size_t i = 0; i < wsrl_example_task_count(); i++)
      fprintf(stderr, " %s", wsrl_example_task_at(i)->name);
    fprintf(stderr, "\n");
    return TR_EXIT_USAGE;
  }
  wsrl_example_task_options_t opt = {NULL, tr_int(ctx, "task.max_episode_steps")};
  if (wsrl_example_task_create(env_out, name, &opt) != WSRL_OK) {
    fprintf(stderr, "wsrl-train: task %s: %s\n", name, wsrl_example_task_error());
    return TR_EXIT_FAIL;
  }
  if (info_out)
    *info_out = info;
  return 0;
}

wsrl_status_t tr_replay_options(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, int raw, uint64_t seed,
                                wsrl_replay_options_t *opt) {
  wsrl_replay_options_t o = WSRL_REPLAY_OPTIONS_INIT;
  /* The learner's keys (discount, reward transform, sparse rule): a dataset
   * must agree with the agent that trains on it. */
  wsrl_status_t st = wsrl_replay_options_from_config(ctx->cfg, &o);
  o.seed = seed;
  if (raw) { /* stored as the env gave them: no reward transform, no clip */
    o.reward_scale = 1.0;
    o.reward_bias = 0.0;
    o.action_clip = 0.0;
  }
  if (info) {
    o.mc_sparse_reward = 0.0; /* sparse tasks: 0 everywhere but the goal */
    o.max_episode_steps =
        tr_int(ctx, "task.max_episode_steps") > 0 ? tr_int(ctx, "task.max_episode_steps") : info->max_episode_steps;
  }
  *opt = o;
  return st;
}

int tr_load_dataset(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, const char *path,
                    wsrl_replay_t **replay_out) {
  int32_t obs_dim = 0, act_dim = 0;
  int64_t rows = 0;
  /* Datasets come from anywhere: parse them in a child process, so a file
   * that crashes or hangs libhdf5 is an error here, never a dead trainer. */
  wsrl_status_t st = wsrl_replay_hdf5_info_isolated(path, &obs_dim, &act_dim, &rows);
  if (st != WSRL_OK)
    return tr_fail(st, path);
  if (info && (obs_dim != info->obs_dim || act_dim != info->act_dim)) {
    fprintf(stderr, "wsrl-train: %s: dataset has obs %d act %d but task %s has obs %d act %d\n", path, (int)obs_dim,
            (int)act_dim, info->name, (int)info->obs_dim, (int)info->act_dim);
    return TR_EXIT_FAIL;
  }
  wsrl_replay_options_t opt;
  st = tr_replay_options(ctx, info, 0, (uint64_t)tr_cfg_int(ctx, "agent.seed") * 7919u + 17u, &opt);
  wsrl_replay_t *rb = NULL;
  if (st == WSRL_OK)
    st = wsrl_replay_create(&rb, obs_dim, act_dim, rows > 0 ? rows : 1, &opt);
  if (st != WSRL_OK)
    return tr_fail(st, "dataset buffer");
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  /* The agent's actions are in [-1, 1]: a file beyond that (a dataset in
   * the environment's units) is refused naming the value, not clipped. */
  st = wsrl_replay_import_hdf5_bounded(rb, path, NULL, NULL, WSRL_REPLAY_IMPORT_ISOLATED, &rep);
  if (st != WSRL_OK) {
    wsrl_replay_destroy(rb);
    return tr_fail(st, path);
  }
  *replay_out = rb;
  return 0;
}

int tr_write_file(const char *dir, const char *name, const char *fmt, ...) {
  char path[TR_PATH];
  if (tr_join(path, sizeof path, dir, name) != 0)
    return TR_EXIT_FAIL;
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "wsrl-train: %s: %s\n", path, strerror(errno));
    return TR_EXIT_FAIL;
  }
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  return fclose(f) == 0 ? 0 : TR_EXIT_FAIL;
}

int tr_main(int argc, char **argv, const tr_command_t *cmd, int (*body)(tr_ctx_t *ctx, const char *dir)) {
  tr_ctx_t ctx;
  int rc = tr_parse(&ctx, cmd, argc, argv, NULL);
  if (rc == 0) {
    char dir[TR_PATH], name[160];
    snprintf(name, sizeof name, "%s-%s", cmd->name, tr_str(&ctx, "task"));
    rc = tr_make_run_dir(&ctx, name, dir, sizeof dir);
    if (rc == 0)
      rc = body(&ctx, dir);
  }
  tr_ctx_free(&ctx);
  return rc < 0 ? TR_EXIT_OK : rc;
}

void tr_plot_run(const tr_ctx_t *ctx, const char *dir, const tr_sink_t *sink, const char *title, const char *ylabel,
                 const tr_series_t *top, int n) {
  char path[TR_PATH];
  if (!tr_bool(ctx, "run.plot") || tr_join(path, sizeof path, dir, "curve.png") != 0)
    return;
  const tr_series_t bottom[] = {{sink->train_path, "Q mean (training batches)", "q_mean", NULL}};
  tr_plot(path, title, ylabel, top, n, "Q mean", bottom, 1, ctx->quiet);
}

int tr_run_truncate(const char *dir, int64_t step) {
  static const char *const logs[] = {"train.csv", "eval.csv"};
  char path[TR_PATH];
  for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
    if (tr_join(path, sizeof path, dir, logs[i]) != 0) /* tr_join said why */
      return TR_EXIT_FAIL;
    if (tr_csv_truncate(path, step) != 0)
      return tr_fail_msg(WSRL_ERR_IO, path, "cannot cut the log back to the resumed step (is the folder writable?)");
  }
  return 0;
}

int tr_session_resume(const tr_ctx_t *ctx, wsrl_session_t *session, const char *dir, const char *session_path,
                      wsrl_session_info_t *si, int *resumed) {
  *resumed = 0;
  if (!ctx->resume || !tr_file_exists(session_path))
    return 0;
  wsrl_status_t st = wsrl_session_load(session, session_path);
  if (st != WSRL_OK)
    return tr_fail(st, session_path);
  wsrl_session_info(session, si);
  *resumed = si->env_steps > 0;
  return tr_run_truncate(dir, si->env_steps);
}
