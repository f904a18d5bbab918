/* The Q-ensemble's struct, shared by ensemble.c (internal API) and
 * qensemble.c (public API). Private to lib/ensemble. */
#ifndef WSRL_ENSEMBLE_INTERNAL_H
#define WSRL_ENSEMBLE_INTERNAL_H

#include "ensemble.h"

#define WSRL__Q_MAX_SUBSET 64

/* A planned forward's input rows and output (wsrl__qensemble_forward_plan):
 * kept in the ensemble, one per net, until the group has run. */
typedef struct wsrl__q_load {
  const wsrl_qensemble_t *q;
  float *in;         /* the net's input rows, ld floats apart */
  int64_t ld, obs_repeat;
  int64_t rows;      /* rows loaded (the rest of a forward_rows batch stale) */
  const float *obs, *act;
  const float *out;  /* the net's output */
  float *q_out;      /* where the done copies n_out floats of it, or NULL */
  int64_t n_out;
} wsrl__q_load;

struct wsrl_qensemble {
  wsrl__qensemble_spec spec;
  wsrl__nn_ctx *ctx;   /* borrowed, or owned when standalone */
  int32_t standalone;  /* created by wsrl_qensemble_create: owns ctx, counted as a live handle */
  wsrl__mlp *online;   /* E trainable critics */
  wsrl__mlp *target;   /* their Polyak copies (forward only) */
  wsrl__mlp *subset;   /* subset_size members copied from target on demand, or NULL */
  float *dx;           /* [max_batch, O + A] dLoss/d concat(s, a) */
  wsrl__q_load load[3]; /* planned forwards of online, target, subset */
  wsrl__busy own_busy; /* the flag of a standalone ensemble */
  wsrl__busy *busy;    /* own_busy, or the owning agent's */
};

#endif /* WSRL_ENSEMBLE_INTERNAL_H */
