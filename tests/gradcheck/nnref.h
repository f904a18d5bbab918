/* Double-precision reference implementations of the NN engine's
 * networks, reading the parameters of the real objects. Used by the
 * gradient checks (finite differences on this path) and the unit tests
 * (the oneDNN path must agree with it). Plain loops: small shapes only. */
#ifndef WSRL_TEST_NNREF_H
#define WSRL_TEST_NNREF_H

#include <stdint.h>

#include "nn/nn.h"
#include "policy/policy.h"

/* y [E, B, out] = MLP(x): x [B, in] (SHARED) or [E, B, in] (PER_MEMBER). */
void nnref_mlp_forward(wsrl__mlp *m, int64_t batch, int32_t mode, const double *x, double *y);

/* Policy on obs [B, O]: mean and std [B, A] (std clipped as the policy does). */
void nnref_policy_dist(wsrl__policy *p, int64_t batch, const double *obs, double *mean, double *std);

/* Reparameterised samples (n per row, eps [B*n, A]): a_out [B*n, A], logp_out [B*n]. */
void nnref_policy_sample(wsrl__policy *p, int64_t batch, const double *obs, int32_t n, const double *eps,
                         double *a_out, double *logp_out);

/* log pi(a|s) of given actions a [B, A]: logp_out [B]. */
void nnref_policy_log_prob(wsrl__policy *p, int64_t batch, const double *obs, const double *a, double *logp_out);

#endif
