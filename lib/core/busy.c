/* Per-handle busy flags: overlapping calls that are not allowed to overlap
 * are detected (compare-exchange, never a wait) and refused. */
#include <stdatomic.h>

#include "core.h"

/* A per-thread address identifies the calling thread. */
static _Thread_local char thread_anchor;
static const void *self(void) { return &thread_anchor; }

wsrl_status_t wsrl__busy_enter(wsrl__busy *b, int32_t mode, const char *handle, const char *fn) {
  int32_t cur = atomic_load(&b->state);
  for (;;) {
    if (cur < 0 || (mode == WSRL__BUSY_WRITE && cur != 0))
      break;
    if (atomic_compare_exchange_weak(&b->state, &cur, mode == WSRL__BUSY_WRITE ? -1 : cur + 1)) {
      /* Only a writer records itself: a stale owner can never match a
       * later writer (the writer clears it before it leaves). */
      if (mode == WSRL__BUSY_WRITE)
        atomic_store(&b->owner, self());
      atomic_store(&b->call, fn);
      return WSRL_OK;
    }
  }
  const char *other = atomic_load(&b->call);
  if (cur < 0 && atomic_load(&b->owner) == self()) {
    /* Our own writer is paused in a callback: reading is consistent. */
    if (mode == WSRL__BUSY_READ)
      return WSRL_OK;
    return wsrl__error(WSRL_ERR_WRONG_STATE, "%s: re-entered the %s from inside %s (a callback?)", fn, handle,
                       other != NULL ? other : "another call");
  }
  return wsrl__error(WSRL_ERR_BUSY,
                     "%s: the %s is busy: %s is running on another thread (calls on one %s must not overlap; "
                     "see docs/threading.md)",
                     fn, handle, other != NULL ? other : "another call", handle);
}

void wsrl__busy_leave(wsrl__busy *b, int32_t mode) {
  if (mode == WSRL__BUSY_WRITE) {
    atomic_store(&b->owner, NULL);
    atomic_store(&b->state, 0);
  } else if (!(atomic_load(&b->state) < 0 && atomic_load(&b->owner) == self())) { /* not a re-entrant read */
    atomic_fetch_sub(&b->state, 1);
  }
}
