/* The progress callback every loop shares: it writes the library's
 * name/value records to the run's CSVs (train.csv for the periodic
 * records, eval.csv for evaluations), keeps the progress line up to date,
 * and asks the loop to stop on Ctrl-C. */
#include <math.h>
#include <string.h>

#include "trainer.h"

#define MAX_COLS 64

int tr_sink_open(tr_sink_t *s, const char *dir, const char *label, int64_t total, const tr_ctx_t *ctx,
                 const tr_norm_t *norm, int append) {
  memset(s, 0, sizeof *s);
  char path[TR_PATH];
  snprintf(s->label, sizeof s->label, "%s", label);
  s->norm = norm;
  s->first_eval = s->last_eval = s->min_eval = s->best_eval = s->last_return = NAN;
  s->t0 = tr_now();
  if (tr_join(s->train_path, sizeof s->train_path, dir, "train.csv") != 0 ||
      tr_join(s->eval_path, sizeof s->eval_path, dir, "eval.csv") != 0)
    return TR_EXIT_FAIL;
  if (tr_csv_open(&s->train, s->train_path, append) != 0 || tr_csv_open(&s->eval, s->eval_path, append) != 0)
    return TR_EXIT_FAIL;
  (void)path;
  tr_progress_start(&s->prog, s->label, total, ctx->tty, ctx->quiet);
  s->stop_at = tr_int(ctx, "run.stop_at");
  double limit = tr_float(ctx, "run.time_limit");
  s->deadline = isnan(limit) ? INFINITY : s->t0 + limit;
  return 0;
}

void tr_sink_close(tr_sink_t *s) {
  tr_csv_close(&s->train);
  tr_csv_close(&s->eval);
}

static void extra_text(const tr_sink_t *s, char *buf, size_t size) {
  char a[64] = "", b[96] = "";
  if (isfinite(s->last_return))
    snprintf(a, sizeof a, "return %.1f", s->last_return);
  if (isfinite(s->last_eval)) {
    double z = tr_normalize(s->norm, s->last_eval);
    if (isfinite(z))
      snprintf(b, sizeof b, "%seval %.1f (%.0f)", *a ? "  " : "", s->last_eval, z);
    else
      snprintf(b, sizeof b, "%seval %.1f", *a ? "  " : "", s->last_eval);
  }
  snprintf(buf, size, "%s%s", a, b);
}

void tr_sink_eval(tr_sink_t *s, int64_t step, double mean, double std, double len) {
  double z = tr_normalize(s->norm, mean);
  const char *names[] = {"return_mean", "return_std", "length_mean", "normalized", "elapsed_s"};
  const double values[] = {mean, std, len, z, tr_now() - s->t0};
  tr_csv_row(&s->eval, step + s->step_offset, s->phase ? s->phase : s->label, 5, names, values);
  if (isnan(s->first_eval))
    s->first_eval = mean;
  s->last_eval = mean;
  s->min_eval = isnan(s->min_eval) ? mean : fmin(s->min_eval, mean);
  s->best_eval = isnan(s->best_eval) ? mean : fmax(s->best_eval, mean);
  s->n_evals++;
  char extra[160];
  extra_text(s, extra, sizeof extra);
  if (!s->prog.quiet) { /* a line per evaluation, also on a terminal (scrollback) */
    if (isfinite(z))
      tr_log(&s->prog, "[%s] step %lld: eval return %.2f +- %.2f (normalized %.1f)", s->label, (long long)step, mean,
             std, z);
    else
      tr_log(&s->prog, "[%s] step %lld: eval return %.2f +- %.2f", s->label, (long long)step, mean, std);
  }
  if (s->prog.tty)
    tr_progress_update(&s->prog, step, extra, 1);
}

/* Non-zero asks the loop for a clean, resumable stop. */
static int32_t want_stop(tr_sink_t *s, int64_t step) {
  if (tr_interrupted() || (s->stop_at > 0 && step >= s->stop_at) || tr_now() >= s->deadline) {
    if (!s->stopped && !tr_interrupted())
      tr_log(&s->prog, "[%s] stopping at step %lld (run.stop_at / run.time_limit)", s->label, (long long)step);
    s->stopped = 1;
    return 1;
  }
  return 0;
}

int32_t tr_sink_progress(void *user, int64_t step, int32_t n, const char *const *names, const double *values) {
  tr_sink_t *s = user;
  /* CSV-friendly names: "eval/return_mean" -> "return_mean" in eval.csv,
   * "episode/return" -> "episode_return" in train.csv. */
  char buf[MAX_COLS][64];
  const char *out_names[MAX_COLS + 1];
  double out_values[MAX_COLS + 1];
  int32_t m = 0, is_eval = 0;
  for (int32_t i = 0; i < n; i++)
    if (strncmp(names[i], "eval/", 5) == 0)
      is_eval = 1;
  if (is_eval) {
    double mean = NAN, std = NAN, len = NAN;
    for (int32_t i = 0; i < n; i++) {
      if (!strcmp(names[i], "eval/return_mean"))
        mean = values[i];
      else if (!strcmp(names[i], "eval/return_std"))
        std = values[i];
      else if (!strcmp(names[i], "eval/length_mean"))
        len = values[i];
    }
    tr_sink_eval(s, step, mean, std, len);
    return want_stop(s, step);
  }
  for (int32_t i = 0; i < n && m < MAX_COLS; i++) {
    if (!strcmp(names[i], "phase")) { /* a number; the CSV's phase column says it in words */
      s->phase = values[i] == (double)WSRL_SESSION_ONLINE ? "online" : "warmup";
      continue;
    }
    snprintf(buf[m], sizeof buf[m], "%s", names[i]);
    for (char *c = buf[m]; *c; c++)
      if (*c == '/')
        *c = '_';
    out_names[m] = buf[m];
    out_values[m] = values[i];
    if (!strcmp(names[i], "episode/return") && isfinite(values[i]))
      s->last_return = values[i];
    m++;
  }
  out_names[m] = "elapsed_s";
  out_values[m] = tr_now() - s->t0;
  m++;
  tr_csv_row(&s->train, step + s->step_offset, s->phase ? s->phase : s->label, m, out_names, out_values);
  char extra[160];
  extra_text(s, extra, sizeof extra);
  tr_progress_update(&s->prog, step, extra, 0);
  return want_stop(s, step);
}
