/*
 * wsrl-train: the example trainer. Shared declarations of its files.
 *
 * The trainer is example code: it uses only libwsrl's public API
 * (<wsrl/wsrl.h>) plus the example task registry (tasks.h), the way a host
 * program would. One file per subcommand (collect.c, pretrain.c,
 * finetune.c, eval.c, demo.c) on top of small helpers:
 *   options.c  trainer keys, config files, --set overrides, command lines
 *   run.c      run folders, normalisation files, task/agent/buffer set-up
 *   csvlog.c   CSV logs
 *   progress.c progress line (terminal) or plain log lines (pipes, files)
 *   plot.c     learning-curve PNGs through gnuplot (optional)
 */
#ifndef WSRL_TRAINER_H
#define WSRL_TRAINER_H

#include <stdint.h>
#include <stdio.h>

#include <wsrl/wsrl.h>

#include "tasks.h"

#define TR_PATH 1024
#define TR_MAX_OPS 256

/* Exit codes of the program. */
enum { TR_EXIT_OK = 0, TR_EXIT_FAIL = 1, TR_EXIT_USAGE = 2, TR_EXIT_INTERRUPTED = 3 };

/* ------------------------------------------------------------------ options.c */

/* One setting from a config file or the command line, replayed in order
 * onto a base config (defaults, or a checkpoint's config). */
typedef struct tr_op {
  char key[128];
  char value[TR_PATH];
  char where[TR_PATH + 32]; /* "file.conf:12" or "--set" for error messages */
} tr_op_t;

/* Command-line flag that is a shortcut for a key ("--dataset" -> "pretrain.dataset"). */
typedef struct tr_alias {
  const char *flag;
  const char *key;
  const char *help;
} tr_alias_t;

/* What a subcommand accepts, for parsing and its --help. */
typedef struct tr_command {
  const char *name;
  const char *summary;
  const char *usage_extra;         /* after "wsrl-train NAME [options]" */
  const char *description;         /* paragraph(s) for --help */
  const tr_alias_t *aliases;       /* terminated by {NULL} */
  const char *positional_key;      /* key of one positional argument, or NULL */
  const char *const *key_prefixes; /* trainer-key sections listed by --help, NULL-terminated */
} tr_command_t;

typedef struct tr_ctx {
  const tr_command_t *cmd;
  /* Trainer-owned keys (task, collect.*, pretrain.*, ...): text values. */
  char (*values)[TR_PATH];
  uint8_t *explicit_set;
  /* Every setting in command-line order, replayed by tr_apply_ops(). */
  tr_op_t *ops;
  int n_ops;
  /* The library config (defaults or a checkpoint's config, then the ops). */
  wsrl_config_t *cfg;
  char out_dir[TR_PATH]; /* --out, or "" for runs/<name>-<timestamp> */
  char name[128];        /* --name */
  int quiet;
  int smoke;  /* demo --smoke */
  int resume; /* --resume: continue the run in --out */
  int tty;    /* stderr is a terminal */
  int argc;
  char **argv;
} tr_ctx_t;

/* Parse the command line of a subcommand (argv[0] is the subcommand name).
 * presets: "key = value" lines applied before files and --set (may be NULL).
 * Returns 0 to go on, -1 after printing --help (exit 0), or an exit code
 * (TR_EXIT_USAGE after printing the message and usage). */
int tr_parse(tr_ctx_t *ctx, const tr_command_t *cmd, int argc, char **argv, const char *presets);
void tr_ctx_free(tr_ctx_t *ctx);
/* Append a setting as if given with --set (before tr_apply_ops). */
int tr_push_op(tr_ctx_t *ctx, const char *key, const char *value, const char *where);
/* Reset the library config to @p base (a clone; NULL: defaults), the trainer
 * keys to their defaults, and replay every op. Returns 0 or TR_EXIT_USAGE
 * after printing the message naming the setting. */
int tr_apply_ops(tr_ctx_t *ctx, const wsrl_config_t *base);
/* Is @p key a trainer key (as opposed to a library key)? */
int tr_is_trainer_key(const char *key);

const char *tr_str(const tr_ctx_t *ctx, const char *key);
int64_t tr_int(const tr_ctx_t *ctx, const char *key);
double tr_float(const tr_ctx_t *ctx, const char *key); /* NaN for "auto" */
int tr_bool(const tr_ctx_t *ctx, const char *key);
int tr_was_set(const tr_ctx_t *ctx, const char *key);
/* Library config readers that print and return defaults on error. */
int64_t tr_cfg_int(const tr_ctx_t *ctx, const char *key);
double tr_cfg_float(const tr_ctx_t *ctx, const char *key);
/* Set a library key, printing the library's message on failure. */
int tr_cfg_set(tr_ctx_t *ctx, const char *key, const char *value);

void tr_usage(FILE *f, const tr_command_t *cmd, int verbose);
/* "wsrl-train NAME: MESSAGE" + "try --help", returns TR_EXIT_USAGE. */
int tr_usage_error(const tr_command_t *cmd, const char *fmt, ...);

/* Write the effective configuration (trainer keys, then the library's) to @p path. */
int tr_write_config(const tr_ctx_t *ctx, const char *path);

/* ----------------------------------------------------------------------- run.c */

/* Print "wsrl-train: WHAT: <status>: <last error message>" and return TR_EXIT_FAIL. */
int tr_fail(wsrl_status_t st, const char *what);
/* The same with a message saved earlier (later calls may replace the library's). */
int tr_fail_msg(wsrl_status_t st, const char *what, const char *msg);
/* Create the run folder (ctx->out_dir, or runs/<name>-<timestamp>) and
 * write config.txt and command.txt there. @p dir_out gets the path. */
int tr_make_run_dir(tr_ctx_t *ctx, const char *default_name, char *dir_out, size_t size);
int tr_mkdir_p(const char *path);
int tr_file_exists(const char *path);
/* dir/name into out (returns 0, or -1 when it does not fit). */
int tr_join(char *out, size_t size, const char *dir, const char *name);
/* Directory part of a path ("." when none). */
void tr_dirname(const char *path, char *out, size_t size);
double tr_now(void); /* monotonic seconds */

/* Score normalisation: 0 = random policy, 100 = the expert policy of collect. */
typedef struct tr_norm {
  char task[64];
  double random_return;
  double expert_return;
  double medium_return;
  int have; /* both returns known */
} tr_norm_t;

int tr_norm_write(const char *path, const tr_norm_t *norm);
int tr_norm_read(const char *path, tr_norm_t *norm);
/* Resolve the normalisation of a run: norm.random_return / norm.expert_return
 * keys, else norm.file, else normalisation.json beside @p near_path, else the
 * task's random return only. */
void tr_norm_resolve(const tr_ctx_t *ctx, const char *near_path, tr_norm_t *norm);
double tr_normalize(const tr_norm_t *norm, double ret); /* NaN without both returns */

/* The demo summary's sentence on one seed's dips (start minus lowest, the
 * warmup run and the no-warmup run; a drop of `big` or more is a dip). */
const char *tr_dip_verdict(double drop_warmup, double drop_nowarmup, double big);

/* Create the task env named by the `task` key (errors printed). */
int tr_make_env(const tr_ctx_t *ctx, wsrl_env_t **env_out, const wsrl_example_task_info_t **info_out);
/* Replay options from the library config (wsrl_replay_options_from_config:
 * reward scale/bias, clip, discount, sparse rule; tr_apply_ops() turns the
 * sparse rule on for sparse tasks); raw = 1 keeps rewards and actions
 * untransformed (what collect stores in its datasets). Returns the status of
 * wsrl_replay_options_from_config() (e.g. replay.reward_scale = 0 refused). */
wsrl_status_t tr_replay_options(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, int raw, uint64_t seed,
                                wsrl_replay_options_t *opt);
/* ------------------------------------------------------------------ shaping.c */

/* With collect.shaping on, replace *env by an env that adds the task's
 * potential-based shaping to its rewards (and owns the task env). Returns
 * 0, or an exit code after printing why (no potential: TR_EXIT_USAGE). */
int tr_shaping_wrap(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, wsrl_env_t **env);
/* Take the shaping off `rows` raw rewards recorded through such an env
 * (sparse tasks: checked to come out 0 or 1; else TR_EXIT_FAIL, printed). */
int tr_shaping_undo(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, int64_t rows, const float *obs,
                    const float *next_obs, const int32_t *terminated, float *reward);

/* Create a buffer holding a D4RL-format HDF5 dataset (transformed per config). */
int tr_load_dataset(const tr_ctx_t *ctx, const wsrl_example_task_info_t *info, const char *path,
                    wsrl_replay_t **replay_out);

/* ------------------------------------------------------------------- csvlog.c */

/* A CSV file whose columns are "step,phase" plus the metric names of the
 * first row; later rows fill those columns by name (missing: empty). */
typedef struct tr_csv {
  FILE *f;
  int ncols;
  char **cols;
} tr_csv_t;

int tr_csv_open(tr_csv_t *csv, const char *path, int append);
int tr_csv_row(tr_csv_t *csv, int64_t step, const char *phase, int32_t n, const char *const *names,
               const double *values);
void tr_csv_close(tr_csv_t *csv);
/* Drop the rows whose step is above @p max_step (resuming from a checkpoint). */
int tr_csv_truncate(const char *path, int64_t max_step);
/* Resuming at @p step: cut dir's train.csv and eval.csv back to it (a
 * missing file is fine). Prints the failure and returns TR_EXIT_FAIL when
 * a log cannot be rewritten, 0 otherwise. */
int tr_run_truncate(const char *dir, int64_t step);
/* --resume of an online run: load dir's session.ckpt (at session_path) into
 * session when --resume is given and the file exists, fill *si and cut
 * train.csv / eval.csv back to its step. *resumed = 1 when it had steps.
 * Returns 0 or an exit code (the message printed). */
int tr_session_resume(const tr_ctx_t *ctx, wsrl_session_t *session, const char *dir, const char *session_path,
                      wsrl_session_info_t *si, int *resumed);
/* Read the column @p col of a CSV file (rows whose phase matches @p phase,
 * or all rows when NULL): counts rows with a finite value. For summaries. */
int tr_csv_column(const char *path, const char *phase, const char *col, double *values, int64_t *steps, int cap);

/* ----------------------------------------------------------------- progress.c */

typedef struct tr_progress {
  const char *label;
  int64_t total;
  int tty;
  int quiet;
  double t0, last_draw, last_line;
  int64_t last_step;
  double rate; /* steps/s, smoothed */
  double t_rate;
  int64_t step_rate;
  int drawn;
} tr_progress_t;

void tr_progress_start(tr_progress_t *p, const char *label, int64_t total, int tty, int quiet);
/* Redraw the line (terminal, at most ~5 times/s) or print a plain line
 * (at most every @p line_every seconds, and always when @p force). */
void tr_progress_update(tr_progress_t *p, int64_t step, const char *extra, int force);
void tr_progress_done(tr_progress_t *p, const char *extra);
/* Print a log line, clearing a drawn progress line first. */
void tr_log(tr_progress_t *p, const char *fmt, ...);
/* "1:02:03" or "4:05" */
void tr_format_duration(double seconds, char *out, size_t size);

/* SIGINT handling: the first Ctrl-C asks loops to stop cleanly (resumable),
 * the second one kills the process. */
void tr_install_interrupt(void);
int tr_interrupted(void);

/* --------------------------------------------------------------------- sink.c */

/* What the loops' progress callback writes to: train.csv, eval.csv and the
 * progress line of one run. */
typedef struct tr_sink {
  char label[64];
  const char *phase;   /* CSV phase of the next rows ("offline", "warmup", "online") */
  int64_t step_offset; /* added to the loop's step in the CSVs */
  const tr_norm_t *norm;
  tr_progress_t prog;
  tr_csv_t train, eval;
  char train_path[TR_PATH], eval_path[TR_PATH];
  double t0;
  double last_return; /* last finished training episode */
  double first_eval, last_eval, min_eval, best_eval;
  int64_t n_evals;
  int64_t stop_at; /* run.stop_at (0: never) */
  double deadline; /* tr_now() + run.time_limit (inf: none) */
  int stopped;     /* the sink asked the loop to stop */
} tr_sink_t;

int tr_sink_open(tr_sink_t *s, const char *dir, const char *label, int64_t total, const tr_ctx_t *ctx,
                 const tr_norm_t *norm, int append);
void tr_sink_close(tr_sink_t *s);
/* A wsrl_progress_fn: user is a tr_sink_t. */
int32_t tr_sink_progress(void *user, int64_t step, int32_t n, const char *const *names, const double *values);
/* Record an evaluation the trainer ran itself (pretrain, collect). */
void tr_sink_eval(tr_sink_t *s, int64_t step, double mean, double std, double len);

/* --------------------------------------------------------------------- plot.c */

/* One curve: column @p ycol against `step` from CSV @p path, rows of @p phase (or all). */
typedef struct tr_series {
  const char *path;
  const char *title;
  const char *ycol;
  const char *phase; /* NULL: all rows */
} tr_series_t;

/* Write PLOT.gp and run gnuplot to make @p png. Returns 0 when the PNG was
 * written, 1 when gnuplot is missing (a notice is printed), -1 on failure. */
int tr_plot(const char *png, const char *title, const char *ylabel, const tr_series_t *series, int n,
            const char *series2_ylabel, const tr_series_t *series2, int n2, int quiet);
int tr_have_gnuplot(void);

/* A subcommand's main: parse, create the run folder runs/<command>-<task>-<time>
 * (or --out), run @p body there, free; returns the exit code. */
int tr_main(int argc, char **argv, const tr_command_t *cmd, int (*body)(tr_ctx_t *ctx, const char *dir));
/* Write formatted text to dir/name (summary.json and the like). */
int tr_write_file(const char *dir, const char *name, const char *fmt, ...);
/* curve.png of a run: @p top curves above, the Q mean of train.csv below (if run.plot). */
void tr_plot_run(const tr_ctx_t *ctx, const char *dir, const tr_sink_t *sink, const char *title, const char *ylabel,
                 const tr_series_t *top, int n);

/* ------------------------------------------------------------- subcommands */

int tr_cmd_collect(int argc, char **argv);
int tr_cmd_pretrain(int argc, char **argv);
int tr_cmd_finetune(int argc, char **argv);
int tr_cmd_eval(int argc, char **argv);
int tr_cmd_demo(int argc, char **argv);

/* Building blocks shared by the subcommands and the demo (return exit codes;
 * errors printed). Each writes its files into @p dir. */
typedef struct tr_collect_result {
  char medium[TR_PATH], medium_replay[TR_PATH], expert[TR_PATH], norm_file[TR_PATH];
  tr_norm_t norm;
  int64_t steps;
} tr_collect_result_t;
int tr_run_collect(tr_ctx_t *ctx, const char *dir, tr_collect_result_t *res);

typedef struct tr_pretrain_result {
  char checkpoint[TR_PATH];
  double eval_return, eval_normalized;
} tr_pretrain_result_t;
int tr_run_pretrain(tr_ctx_t *ctx, const char *dir, const char *label, tr_pretrain_result_t *res);

typedef struct tr_finetune_result {
  char checkpoint[TR_PATH];
  char csv[TR_PATH], eval_csv[TR_PATH];
  double switch_return, final_return, min_return, best_return;
  double switch_normalized, final_normalized, min_normalized;
  int64_t steps;
  double seconds;
  int normalized; /* the *_normalized fields are known */
} tr_finetune_result_t;
int tr_run_finetune(tr_ctx_t *ctx, const char *dir, const char *label, tr_finetune_result_t *res);

/* Deterministic evaluation: mean/std over the configured episodes. */
int tr_evaluate(const tr_ctx_t *ctx, wsrl_agent_t *agent, wsrl_env_t *env, int64_t episodes, uint64_t seed,
                double *mean_out, double *std_out, double *len_out);

#endif /* WSRL_TRAINER_H */
