/* CSV logs: "step,phase" then the metric names of the first row. Appending
 * to an existing file (a resumed run) keeps its header and columns. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trainer.h"

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static void free_cols(tr_csv_t *csv) {
  for (int i = 0; i < csv->ncols; i++)
    free(csv->cols[i]);
  free(csv->cols);
  csv->cols = NULL;
  csv->ncols = 0;
}

/* Split a header line into columns (after "step,phase"). */
static int read_header(tr_csv_t *csv, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char line[8192];
  int ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  if (!ok || strncmp(line, "step,phase", 10) != 0)
    return -1;
  line[strcspn(line, "\r\n")] = '\0';
  int n = 0;
  for (const char *p = line; *p; p++)
    n += *p == ',';
  csv->cols = calloc((size_t)(n > 0 ? n : 1), sizeof *csv->cols);
  if (!csv->cols)
    return -1;
  char *save = NULL;
  char *tok = strtok_r(line, ",", &save); /* step */
  tok = strtok_r(NULL, ",", &save);       /* phase */
  while ((tok = strtok_r(NULL, ",", &save)) != NULL)
    csv->cols[csv->ncols++] = dup_str(tok);
  return 0;
}

int tr_csv_open(tr_csv_t *csv, const char *path, int append) {
  memset(csv, 0, sizeof *csv);
  if (append && tr_file_exists(path) && read_header(csv, path) == 0) {
    csv->f = fopen(path, "a");
  } else {
    free_cols(csv);
    csv->f = fopen(path, "w");
  }
  if (!csv->f) {
    fprintf(stderr, "wsrl-train: cannot write %s\n", path);
    free_cols(csv);
    return TR_EXIT_FAIL;
  }
  return 0;
}

static void put_value(FILE *f, double v) {
  if (isnan(v))
    fputs("nan", f);
  else if (v == floor(v) && fabs(v) < 1e15)
    fprintf(f, "%.0f", v);
  else
    fprintf(f, "%.6g", v);
}

int tr_csv_row(tr_csv_t *csv, int64_t step, const char *phase, int32_t n, const char *const *names,
               const double *values) {
  if (!csv->f)
    return -1;
  if (!csv->cols) { /* first row: its names become the columns */
    csv->cols = calloc((size_t)(n > 0 ? n : 1), sizeof *csv->cols);
    if (!csv->cols)
      return -1;
    fputs("step,phase", csv->f);
    for (int32_t i = 0; i < n; i++) {
      csv->cols[csv->ncols++] = dup_str(names[i]);
      fprintf(csv->f, ",%s", names[i]);
    }
    fputc('\n', csv->f);
  }
  fprintf(csv->f, "%lld,%s", (long long)step, phase);
  for (int c = 0; c < csv->ncols; c++) {
    fputc(',', csv->f);
    for (int32_t i = 0; i < n; i++)
      if (csv->cols[c] && strcmp(csv->cols[c], names[i]) == 0) {
        put_value(csv->f, values[i]);
        break;
      }
  }
  fputc('\n', csv->f);
  fflush(csv->f);
  return 0;
}

void tr_csv_close(tr_csv_t *csv) {
  if (csv->f)
    fclose(csv->f);
  free_cols(csv);
  memset(csv, 0, sizeof *csv);
}

int tr_csv_column(const char *path, const char *phase, const char *col, double *values, int64_t *steps, int cap) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[8192];
  int idx = -1, n = 0;
  if (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    char *save = NULL;
    int i = 0;
    for (char *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++)
      if (strcmp(tok, col) == 0)
        idx = i;
  }
  while (idx >= 0 && n < cap && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    /* Fields may be empty: walk commas by hand instead of strtok. */
    char *field = line;
    long long step = 0;
    char ph[64] = "";
    double v = NAN;
    for (int i = 0; field; i++) {
      char *comma = strchr(field, ',');
      if (comma)
        *comma = '\0';
      if (i == 0)
        step = strtoll(field, NULL, 10);
      else if (i == 1)
        snprintf(ph, sizeof ph, "%.63s", field);
      if (i == idx && *field)
        v = strtod(field, NULL);
      field = comma ? comma + 1 : NULL;
    }
    if (phase && strcmp(ph, phase) != 0)
      continue;
    if (!isfinite(v))
      continue;
    values[n] = v;
    if (steps)
      steps[n] = step;
    n++;
  }
  fclose(f);
  return n;
}

int tr_csv_truncate(const char *path, int64_t max_step) {
  FILE *in = fopen(path, "r");
  if (!in)
    return 0;
  char tmp[TR_PATH + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *out = fopen(tmp, "w");
  if (!out) {
    fclose(in);
    return -1;
  }
  char line[8192];
  int first = 1;
  while (fgets(line, sizeof line, in)) {
    if (first || strtoll(line, NULL, 10) <= max_step)
      fputs(line, out);
    first = 0;
  }
  fclose(in);
  if (fclose(out) != 0 || rename(tmp, path) != 0)
    return -1;
  return 0;
}
