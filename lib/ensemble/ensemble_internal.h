/* The Q-ensemble's struct, shared by ensemble.c (internal API) and
 * qensemble.c (public API). Private to lib/ensemble. */
#ifndef WSRL_ENSEMBLE_INTERNAL_H
#define WSRL_ENSEMBLE_INTERNAL_H

#include "ensemble.h"

#define WSRL__Q_MAX_SUBSET 64

struct wsrl_qensemble {
  wsrl__qensemble_spec spec;
  wsrl__nn_ctx *ctx;   /* borrowed, or owned when standalone */
  int32_t standalone;  /* created by wsrl_qensemble_create: owns ctx, counted as a live handle */
  wsrl__mlp *online;   /* E trainable critics */
  wsrl__mlp *target;   /* their Polyak copies (forward only) */
  wsrl__mlp *subset;   /* subset_size members copied from target on demand, or NULL */
  float *dx;           /* [max_batch, O + A] dLoss/d concat(s, a) */
  wsrl__busy own_busy; /* the flag of a standalone ensemble */
  wsrl__busy *busy;    /* own_busy, or the owning agent's */
};

#endif /* WSRL_ENSEMBLE_INTERNAL_H */
