/* Status names and the per-thread last error (libgit2's model). */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define MSG_CAP 1024

static _Thread_local char last_msg[MSG_CAP];
static _Thread_local wsrl_status_t last_status = WSRL_OK;

const char *wsrl_status_string(wsrl_status_t status) {
  switch (status) {
  case WSRL_OK: return "ok";
  case WSRL_ERR_INVALID_ARGUMENT: return "invalid argument";
  case WSRL_ERR_OUT_OF_MEMORY: return "out of memory";
  case WSRL_ERR_IO: return "I/O error";
  case WSRL_ERR_CORRUPT: return "corrupt file";
  case WSRL_ERR_VERSION_MISMATCH: return "version mismatch";
  case WSRL_ERR_BACKEND: return "backend (oneDNN) failure";
  case WSRL_ERR_ENV_CALLBACK: return "environment callback error";
  case WSRL_ERR_NON_FINITE: return "non-finite value";
  case WSRL_ERR_WRONG_STATE: return "wrong state";
  case WSRL_ERR_CANCELLED: return "cancelled";
  case WSRL_ERR_UNSUPPORTED: return "unsupported";
  case WSRL_ERR_BUSY: return "busy (another thread is inside a call on this handle)";
  }
  return "unknown status";
}

const char *wsrl_last_error_message(void) { return last_msg; }

wsrl_status_t wsrl_last_error_status(void) { return last_status; }

void wsrl_clear_error(void) {
  last_msg[0] = '\0';
  last_status = WSRL_OK;
}

wsrl_status_t wsrl__error(wsrl_status_t st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_msg, sizeof last_msg, fmt, ap);
  va_end(ap);
  last_status = st;
  wsrl__log(WSRL_LOG_DEBUG, "%s: %s", wsrl_status_string(st), last_msg);
  return st;
}

wsrl_status_t wsrl__error_wrap(wsrl_status_t st, const char *fmt, ...) {
  char prefix[MSG_CAP], old[MSG_CAP];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  /* Concatenate by hand: truncation at MSG_CAP is intended. */
  memcpy(old, last_msg, sizeof old);
  size_t n = strlen(prefix), m = strlen(old);
  if (m > MSG_CAP - 1 - n)
    m = MSG_CAP - 1 - n;
  memcpy(last_msg, prefix, n);
  memcpy(last_msg + n, old, m);
  last_msg[n + m] = '\0';
  last_status = st;
  return st;
}
