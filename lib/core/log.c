/* Process-wide log handler; silent by default. */
#include <stdio.h>

#include "core.h"

static wsrl_log_fn log_fn;
static void *log_user;
static int32_t log_max_level = WSRL_LOG_INFO;

void wsrl_set_log_handler(wsrl_log_fn fn, void *user, int32_t max_level, wsrl_log_fn *prev_fn_out,
                          void **prev_user_out) {
  if (prev_fn_out != NULL)
    *prev_fn_out = log_fn;
  if (prev_user_out != NULL)
    *prev_user_out = log_user;
  log_fn = fn;
  log_user = user;
  log_max_level = max_level;
}

void wsrl__log(int32_t level, const char *fmt, ...) {
  if (log_fn == NULL || level > log_max_level)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  log_fn(log_user, level, line);
}
