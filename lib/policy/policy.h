/*
 * Actor: diagonal Gaussian policy on an MLP, tanh-squashed (SAC, CQL,
 * Cal-QL) or not (IQL's AWR actor).
 *
 *   h = MLP(s); mean = Dense_A(h);
 *   log-std: "exp" head Dense_A(h), or "uniform" learned vector (state-independent);
 *   std = clip(exp(log_std), std_min, std_max)   (gradient 0 where clipped)
 *   u = mean + std * eps,  a = tanh(u)  (a = u without squashing)
 *   log pi(a|s) = sum_j [ -eps_j^2/2 - log std_j - log(2 pi)/2
 *                         - 2 (log 2 - u_j - softplus(-2 u_j)) ]  (last term with tanh only)
 *   mode = tanh(mean) (mean without squashing)
 *
 * Actions are in [-1, 1] units; the env layer scales them to the bounds.
 * Threading: one thread at a time per policy (and per nn context).
 */
#ifndef WSRL_POLICY_ACTOR_H
#define WSRL_POLICY_ACTOR_H

#include <stdint.h>

#include "core.h"
#include "nn/nn.h"

typedef struct wsrl__policy_spec {
  int32_t obs_dim;
  int32_t act_dim;
  int32_t n_hidden;
  int32_t hidden[WSRL__NN_MAX_HIDDEN];
  int32_t layer_norm;
  float kernel_scale_final; /* 0 = sqrt(2) */
  int32_t kernel_init;      /* hidden kernels: WSRL__INIT_ORTHOGONAL or WSRL__INIT_VAR_SCALING */
  int32_t std_param;        /* WSRL__STD_EXP or WSRL__STD_UNIFORM (config_values.h) */
  int32_t tanh_squash;
  float std_min, std_max;   /* 1e-5, 10 */
  int64_t max_batch;        /* max rows of a forward (n samples per row do not count) */
  int32_t max_samples;      /* max n of wsrl__policy_sample */
  wsrl__adam_cfg adam;
} wsrl__policy_spec;

/* actor.* and optim.actor_lr into a spec (std bounds 1e-5 / 10, max_samples 1). */
void wsrl__policy_spec_from_config(wsrl__policy_spec *spec, const wsrl__config_values *v, int32_t obs_dim,
                                   int32_t act_dim, int64_t max_batch);

typedef struct wsrl__policy wsrl__policy;

/* ctx is borrowed. rng is advanced (initialisation only). */
wsrl_status_t wsrl__policy_create(wsrl__policy **p_out, wsrl__nn_ctx *ctx, const wsrl__policy_spec *spec,
                                  wsrl__rng *rng);
void wsrl__policy_destroy(wsrl__policy *p);
const wsrl__policy_spec *wsrl__policy_get_spec(const wsrl__policy *p);
size_t wsrl__policy_memory_usage(const wsrl__policy *p);
wsrl_status_t wsrl__policy_prepare(wsrl__policy *p, int64_t batch);

/* Run the network on batch observations [batch, O]; keeps mean and std
 * ([batch, A] each, wsrl__policy_mean/std) for the calls below. */
wsrl_status_t wsrl__policy_forward(wsrl__policy *p, int64_t batch, const float *obs);
const float *wsrl__policy_mean(const wsrl__policy *p);
const float *wsrl__policy_std(const wsrl__policy *p);

/* Reparameterised samples of the latest forward, n per observation:
 * eps [batch * n, A] standard normal noise; row b * n + j uses observation
 * b. a_out [batch * n, A]; logp_out [batch * n] (may be NULL). Kept for
 * wsrl__policy_backward_sample(). */
wsrl_status_t wsrl__policy_sample(wsrl__policy *p, int32_t n, const float *eps, float *a_out, float *logp_out);
/* wsrl__policy_forward then wsrl__policy_sample with the noise drawn from
 * rng (the numbers of wsrl__rng_fill_normal(rng, eps, batch * n * A), rng
 * advanced the same), in the forward's parallel region: each thread
 * finishes the rows it has just computed (no team of their own). */
wsrl_status_t wsrl__policy_forward_sample_rng(wsrl__policy *p, int64_t batch, const float *obs, int32_t n,
                                              wsrl__rng *rng, float *a_out, float *logp_out);
/* wsrl__policy_forward_sample_rng as a forward of a group
 * (wsrl__mlp_forward_group): the arguments are checked and the noise drawn
 * now, *f is filled, the samples are written on the group's team and the
 * policy holds them (for wsrl__policy_backward_sample) once the group has
 * run. */
wsrl_status_t wsrl__policy_forward_sample_plan(wsrl__policy *p, int64_t batch, const float *obs, int32_t n,
                                               wsrl__rng *rng, float *a_out, float *logp_out, wsrl__mlp_fwd *f);

/* Deterministic action of the latest forward: [batch, A]. */
wsrl_status_t wsrl__policy_mode(wsrl__policy *p, float *a_out);

/* log pi(a|s) of given actions a [batch, A] for the latest forward
 * (tanh: a is clipped to +-(1 - 1e-6) and inverted). logp_out [batch]. Kept
 * for wsrl__policy_backward_log_prob(). */
wsrl_status_t wsrl__policy_log_prob(wsrl__policy *p, const float *a, float *logp_out);

/* Backward of the latest sample: da = dLoss/da [batch * n, A] and
 * dlogp = dLoss/dlogp [batch * n] (either may be NULL = zero). ADDS into
 * the actor's gradients (zero them first). */
wsrl_status_t wsrl__policy_backward_sample(wsrl__policy *p, const float *da, const float *dlogp);
/* Backward of the latest log_prob: dlogp [batch]; ADDS into the gradients. */
wsrl_status_t wsrl__policy_backward_log_prob(wsrl__policy *p, const float *dlogp);

void wsrl__policy_zero_grad(wsrl__policy *p);
wsrl_status_t wsrl__policy_adam_step(wsrl__policy *p, float *grad_norm_out);
/* The same as one part of a joint optimizer step (wsrl__mlp_adam_steps,
 * one parallel region with other networks' steps): begin fills st (the
 * network, the log-std gradient counted in the clip); after the joint
 * call, end steps the state-independent log-std with the network's step
 * counter and clip scale when the step ran. */
void wsrl__policy_step_begin(wsrl__policy *p, wsrl__mlp_step *st);
void wsrl__policy_step_end(wsrl__policy *p, const wsrl__mlp_step *st);
void wsrl__policy_adam_reset(wsrl__policy *p);

/* State arrays for checkpoints: the MLP's blobs followed (uniform std) by
 * "log_std", "log_std.adam.m", "log_std.adam.v". The Adam step counter is
 * wsrl__policy_adam_t(). */
int32_t wsrl__policy_blob_count(const wsrl__policy *p);
wsrl_status_t wsrl__policy_blob(wsrl__policy *p, int32_t index, wsrl__nn_blob *blob_out);
int64_t *wsrl__policy_adam_t(wsrl__policy *p);

/* Flat parameters (MLP then log-std vector), for tests. */
int64_t wsrl__policy_param_count(const wsrl__policy *p);
wsrl_status_t wsrl__policy_get_params(const wsrl__policy *p, float *out, int64_t count);
wsrl_status_t wsrl__policy_set_params(wsrl__policy *p, const float *in, int64_t count);
wsrl_status_t wsrl__policy_get_grads(const wsrl__policy *p, float *out, int64_t count);
wsrl__mlp *wsrl__policy_mlp(wsrl__policy *p);
/* The learned log-std vector (act_dim floats; uniform std only, else unused). */
const float *wsrl__policy_log_std(const wsrl__policy *p);

#endif /* WSRL_POLICY_ACTOR_H */
