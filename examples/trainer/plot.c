/* Learning-curve PNGs through gnuplot (Debian gnuplot-nox). gnuplot is
 * optional: without it the trainer prints a notice and keeps the CSVs.
 * The script is written beside the PNG so the plot can be redone by hand
 * (gnuplot curve.gp). */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trainer.h"

int tr_have_gnuplot(void) {
  const char *path = getenv("PATH");
  if (!path)
    return 0;
  char dir[TR_PATH], exe[TR_PATH + 16];
  while (*path) {
    size_t n = strcspn(path, ":");
    snprintf(dir, sizeof dir, "%.*s", (int)n, path);
    snprintf(exe, sizeof exe, "%s/gnuplot", n ? dir : ".");
    if (access(exe, X_OK) == 0)
      return 1;
    path += n + (path[n] == ':');
  }
  return 0;
}

static void plot_series(FILE *f, const tr_series_t *s, int n, int style_offset) {
  fprintf(f, "plot ");
  for (int i = 0; i < n; i++) {
    if (s[i].phase)
      fprintf(f,
              "%s'%s' using \"step\":(strcol(\"phase\") eq \"%s\" ? column(\"%s\") : NaN) with lines ls %d "
              "title \"%s\"",
              i ? ", \\\n     " : "", s[i].path, s[i].phase, s[i].ycol, i + 1 + style_offset, s[i].title);
    else
      fprintf(f, "%s'%s' using \"step\":\"%s\" with lines ls %d title \"%s\"", i ? ", \\\n     " : "", s[i].path,
              s[i].ycol, i + 1 + style_offset, s[i].title);
  }
  fprintf(f, "\n");
}

int tr_plot(const char *png, const char *title, const char *ylabel, const tr_series_t *series, int n,
            const char *series2_ylabel, const tr_series_t *series2, int n2, int quiet) {
  if (!tr_have_gnuplot()) {
    if (!quiet)
      fprintf(stderr, "wsrl-train: gnuplot not found: skipping %s (install gnuplot-nox for plots)\n", png);
    return 1;
  }
  char script[TR_PATH + 8];
  snprintf(script, sizeof script, "%.*s.gp", (int)(strlen(png) > 4 ? strlen(png) - 4 : strlen(png)), png);
  FILE *f = fopen(script, "w");
  if (!f) {
    fprintf(stderr, "wsrl-train: cannot write %s\n", script);
    return -1;
  }
  fprintf(f,
          "# Written by wsrl-train; run 'gnuplot %s' to redo the plot.\n"
          "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
          "  set terminal pngcairo size 1000,%d font \"sans,10\"\n"
          "} else {\n"
          "  set terminal png size 1000,%d\n"
          "}\n"
          "set output '%s'\n"
          "set datafile separator ','\n"
          "set datafile missing 'nan'\n"
          "set key bottom right\n"
          "set grid\n"
          "set style line 1 lc rgb '#1f77b4' lw 2\n"
          "set style line 2 lc rgb '#d62728' lw 2\n"
          "set style line 3 lc rgb '#2ca02c' lw 2\n"
          "set style line 4 lc rgb '#9467bd' lw 2\n"
          "set style line 5 lc rgb '#ff7f0e' lw 2\n"
          "set style line 6 lc rgb '#8c564b' lw 2\n",
          script, n2 > 0 ? 800 : 500, n2 > 0 ? 800 : 500, png);
  if (n2 > 0)
    fprintf(f, "set multiplot layout 2,1 title \"%s\"\n", title);
  else
    fprintf(f, "set title \"%s\"\n", title);
  fprintf(f, "set xlabel 'environment steps'\nset ylabel '%s'\n", ylabel);
  plot_series(f, series, n, 0);
  if (n2 > 0) {
    fprintf(f, "set ylabel '%s'\nset key top right\n", series2_ylabel);
    plot_series(f, series2, n2, 0);
    fprintf(f, "unset multiplot\n");
  }
  fclose(f);
  /* The child must not flush a copy of our buffered output. */
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    /* gnuplot warns on empty series; keep those out of the user's terminal. */
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
      _exit(126);
    execlp("gnuplot", "gnuplot", script, (char *)NULL);
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !tr_file_exists(png)) {
    fprintf(stderr, "wsrl-train: gnuplot failed on %s (exit %d); the CSVs are kept\n", script,
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return -1;
  }
  return 0;
}
