/* Pieces every loop shares: the progress record and the struct_size'd
 * output structs. */
#include <string.h>

#include "train_internal.h"

void wsrl__progress_add_agent(wsrl__progress *p, const wsrl_agent_t *agent) {
  int32_t n = 0;
  const char *const *names = NULL;
  const double *values = NULL;
  wsrl__agent_metrics(agent, &n, &names, &values);
  for (int32_t i = 0; i < n; i++)
    wsrl__progress_add(p, names[i], values[i]);
}

wsrl_status_t wsrl__progress_emit(wsrl_progress_fn fn, void *user, int64_t step, const wsrl__progress *p,
                                  const char *what) {
  if (fn == NULL)
    return WSRL_OK;
  if (fn(user, step, p->n, p->names, p->values) != 0)
    return wsrl__error(WSRL_ERR_CANCELLED,
                       "%s: the progress callback asked to stop at step %lld; everything done so far is kept and a "
                       "later call continues", what, (long long)step);
  return WSRL_OK;
}
