/* Progress display: a redrawn line on a terminal, plain lines otherwise
 * (pipes, CI logs, files), and the interrupt flag the loops poll. */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "trainer.h"

void tr_format_duration(double seconds, char *out, size_t size) {
  if (!isfinite(seconds) || seconds < 0) {
    snprintf(out, size, "--:--");
    return;
  }
  long s = (long)(seconds + 0.5);
  if (s >= 3600)
    snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

void tr_progress_start(tr_progress_t *p, const char *label, int64_t total, int tty, int quiet) {
  memset(p, 0, sizeof *p);
  p->label = label;
  p->total = total;
  p->tty = tty;
  p->quiet = quiet;
  p->t0 = p->last_draw = p->last_line = p->t_rate = tr_now();
}

static void clear_line(tr_progress_t *p) {
  if (p->tty && p->drawn) {
    fputs("\r\033[K", stderr);
    p->drawn = 0;
  }
}

static void render(tr_progress_t *p, int64_t step, const char *extra, char *buf, size_t size) {
  double now = tr_now(), elapsed = now - p->t0;
  /* Smoothed rate over windows of >= 1 s, so warmup (no updates) and
   * training (updates) each show their own speed after a second. */
  if (now - p->t_rate >= 1.0 && step > p->step_rate) {
    double r = (double)(step - p->step_rate) / (now - p->t_rate);
    p->rate = p->rate > 0 ? 0.5 * p->rate + 0.5 * r : r;
    p->t_rate = now;
    p->step_rate = step;
  } else if (p->rate <= 0 && elapsed > 0 && step > 0) {
    p->rate = (double)step / elapsed;
  }
  char eta[32], el[32];
  double left = p->rate > 0 && p->total > 0 ? (double)(p->total - step) / p->rate : NAN;
  tr_format_duration(left, eta, sizeof eta);
  tr_format_duration(elapsed, el, sizeof el);
  double pct = p->total > 0 ? 100.0 * (double)step / (double)p->total : 0;
  snprintf(buf, size, "[%s] %lld/%lld (%.0f%%)  %.0f steps/s  elapsed %s  ETA %s%s%s", p->label, (long long)step,
           (long long)p->total, pct, p->rate, el, eta, extra && *extra ? "  " : "", extra ? extra : "");
}

void tr_progress_update(tr_progress_t *p, int64_t step, const char *extra, int force) {
  if (p->quiet)
    return;
  double now = tr_now();
  char buf[512];
  p->last_step = step;
  if (p->tty) {
    if (!force && now - p->last_draw < 0.2)
      return;
    render(p, step, extra, buf, sizeof buf);
    /* Keep it on one line of a narrow terminal. */
    fprintf(stderr, "\r\033[K%.150s", buf);
    fflush(stderr);
    p->drawn = 1;
    p->last_draw = now;
  } else {
    if (!force && now - p->last_line < 10.0)
      return;
    render(p, step, extra, buf, sizeof buf);
    fprintf(stderr, "%s\n", buf);
    p->last_line = now;
  }
}

void tr_progress_done(tr_progress_t *p, const char *extra) {
  if (p->quiet)
    return;
  char buf[512], el[32];
  clear_line(p);
  double elapsed = tr_now() - p->t0;
  tr_format_duration(elapsed, el, sizeof el);
  snprintf(buf, sizeof buf, "[%s] done: %lld steps in %s (%.0f steps/s)%s%s", p->label, (long long)p->last_step, el,
           elapsed > 0 ? (double)p->last_step / elapsed : 0.0, extra && *extra ? "  " : "", extra ? extra : "");
  fprintf(stderr, "%s\n", buf);
}

void tr_log(tr_progress_t *p, const char *fmt, ...) {
  if (p && p->quiet)
    return;
  if (p)
    clear_line(p);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (p && p->tty)
    p->last_draw = 0; /* redraw at once */
}

/* --------------------------------------------------------------- interrupt */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
  (void)sig;
  if (interrupted) {
    signal(SIGINT, SIG_DFL);
    raise(SIGINT);
    return;
  }
  interrupted = 1;
  static const char msg[] = "\nwsrl-train: stopping after this step (Ctrl-C again to kill)\n";
  ssize_t r = write(2, msg, sizeof msg - 1);
  (void)r;
}

void tr_install_interrupt(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int tr_interrupted(void) { return interrupted != 0; }
