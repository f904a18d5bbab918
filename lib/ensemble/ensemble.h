/*
 * Q-ensemble (internal side of the public wsrl_qensemble_t): E critics
 * Q_i(s, a) = Dense_1(MLP_i(concat(s, a))) and their Polyak target copies,
 * evaluated as one batched network. Outputs are [E, B] (member-major).
 *
 * Threading: one thread at a time per ensemble (and per nn context).
 */
#ifndef WSRL_ENSEMBLE_H
#define WSRL_ENSEMBLE_H

#include <stdint.h>

#include "core.h"
#include "nn/nn.h"
#include "wsrl/qensemble.h"

typedef struct wsrl__qensemble_spec {
  int32_t obs_dim;
  int32_t act_dim;
  int32_t ensemble;                    /* E */
  int32_t n_hidden;
  int32_t hidden[WSRL__NN_MAX_HIDDEN];
  int32_t layer_norm;
  float kernel_scale_final;            /* 0 = sqrt(2) */
  int32_t kernel_init;                 /* hidden kernels: WSRL__INIT_ORTHOGONAL or WSRL__INIT_VAR_SCALING */
  int64_t max_batch;                   /* max rows (actions) of one forward */
  int32_t subset_size;                 /* k of the target subset forward; 0 = not used */
  wsrl__adam_cfg adam;
} wsrl__qensemble_spec;

/* critic.* and optim.* (critic_lr) into a spec; subset_size = critic.subsample
 * when critic.evaluate_all_targets is off, else 0. */
void wsrl__qensemble_spec_from_config(wsrl__qensemble_spec *spec, const wsrl__config_values *v, int32_t obs_dim,
                                      int32_t act_dim, int64_t max_batch);

/* ctx is borrowed (it must outlive the ensemble). Targets start as copies
 * of the online critics. rng is advanced (initialisation only). */
wsrl_status_t wsrl__qensemble_create(wsrl_qensemble_t **q_out, wsrl__nn_ctx *ctx, const wsrl__qensemble_spec *spec,
                                     wsrl__rng *rng);
/* Make the ensemble's public calls take the owner's busy flag (a lent
 * ensemble is part of its agent). */
void wsrl__qensemble_share_busy(wsrl_qensemble_t *q, wsrl__busy *owner);
/* Destroy one created by wsrl__qensemble_create (the agent's). */
void wsrl__qensemble_free(wsrl_qensemble_t *q);
const wsrl__qensemble_spec *wsrl__qensemble_get_spec(const wsrl_qensemble_t *q);
size_t wsrl__qensemble_memory_usage(const wsrl_qensemble_t *q);

/* Build the primitives for `batch` rows now (online and target). */
wsrl_status_t wsrl__qensemble_prepare(wsrl_qensemble_t *q, int64_t batch);

enum { WSRL__Q_ONLINE = WSRL_QENSEMBLE_ONLINE, WSRL__Q_TARGET = WSRL_QENSEMBLE_TARGET };

/* q_out[e * batch + r] = Q_e(obs[r / obs_repeat], act[r]) for all E members.
 * obs: [batch / obs_repeat, O] (obs_repeat >= 1 divides batch), act:
 * [batch, A]. The online forward keeps its cache for wsrl__qensemble_backward().
 * q_out may be NULL (then read wsrl__qensemble_output()). */
wsrl_status_t wsrl__qensemble_forward(wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs,
                                      int64_t obs_repeat, const float *act, float *q_out);
/* Forward at a batch of `batch` rows of which only the first `rows` are
 * loaded (the rest hold stale inputs whose outputs the caller ignores):
 * lets a prediction reuse an already-built larger shape. */
wsrl_status_t wsrl__qensemble_forward_rows(wsrl_qensemble_t *q, int32_t which, int64_t batch, int64_t rows,
                                           const float *obs, const float *act);

/* Output [E, B] of the latest forward of `which`. */
const float *wsrl__qensemble_output(const wsrl_qensemble_t *q, int32_t which);

/* Target critics of the k members listed (repeats allowed) only:
 * q_out [k, batch]. Needs spec.subset_size >= k. Same numbers as the
 * matching rows of a full target forward. */
wsrl_status_t wsrl__qensemble_forward_target_subset(wsrl_qensemble_t *q, int64_t batch, const float *obs,
                                                    int64_t obs_repeat, const float *act, const int32_t *members,
                                                    int32_t k, float *q_out);

/* wsrl__qensemble_forward and _forward_target_subset as forwards of a
 * group (wsrl__mlp_forward_group): the arguments are checked now, *f is
 * filled, the input rows are written on the group's team (so act may be
 * written by an earlier forward of the group, with f->after set) and q_out
 * (may be NULL) once the group has run. One plan per net at a time. */
wsrl_status_t wsrl__qensemble_forward_plan(wsrl_qensemble_t *q, int32_t which, int64_t batch, const float *obs,
                                           int64_t obs_repeat, const float *act, float *q_out, wsrl__mlp_fwd *f);
wsrl_status_t wsrl__qensemble_target_subset_plan(wsrl_qensemble_t *q, int64_t batch, const float *obs,
                                                 int64_t obs_repeat, const float *act, const int32_t *members,
                                                 int32_t k, float *q_out, wsrl__mlp_fwd *f);

/* Backward of the latest ONLINE forward. dq: dLoss/dQ [E, B].
 * param_grads != 0 adds parameter gradients (zero them first). dact_out
 * (may be NULL): dLoss/da [B, A] summed over members — for the actor loss
 * pass dq = one-hot of the per-row argmin (see wsrl__qensemble_min). */
wsrl_status_t wsrl__qensemble_backward(wsrl_qensemble_t *q, const float *dq, float *dact_out, int32_t param_grads);

/* k member indices drawn uniformly WITH replacement from [0, E). */
void wsrl__qensemble_draw_subset(wsrl__rng *rng, int32_t ensemble, int32_t k, int32_t *members_out);

/* Per row r: min over the listed members (members NULL: all E, k ignored)
 * of q[e * batch + r]. argmin_out (may be NULL) gets the member index e.
 * Ties pick the first listed. */
void wsrl__qensemble_min(const float *q, int32_t ensemble, int64_t batch, const int32_t *members, int32_t k,
                         float *min_out, int32_t *argmin_out);

/* Same over the first `rows` rows of q laid out [E, ld]. */
void wsrl__qensemble_min_strided(const float *q, int32_t ensemble, int64_t ld, int64_t rows, const int32_t *members,
                                 int32_t k, float *min_out, int32_t *argmin_out);

void wsrl__qensemble_zero_grad(wsrl_qensemble_t *q);
/* Adam step of the online critics (see wsrl__mlp_adam_step). */
wsrl_status_t wsrl__qensemble_adam_step(wsrl_qensemble_t *q, float *grad_norm_out);
void wsrl__qensemble_adam_reset(wsrl_qensemble_t *q);
/* target <- tau * online + (1 - tau) * target. */
void wsrl__qensemble_polyak(wsrl_qensemble_t *q, float tau);
/* target <- online. */
void wsrl__qensemble_sync_targets(wsrl_qensemble_t *q);

/* The two networks, for checkpoints (wsrl__mlp_blob) and tests. */
wsrl__mlp *wsrl__qensemble_mlp(wsrl_qensemble_t *q, int32_t which);

#endif /* WSRL_ENSEMBLE_H */
