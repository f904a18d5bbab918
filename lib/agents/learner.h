/*
 * The learner interface: how an algorithm plugs into the agent, in the
 * manner of libgit2's backends (a versioned table of hooks plus a state the
 * learner allocates, which may embed a parent state as its first member).
 * docs/adding-a-learner.md walks through it with TD3+BC.
 *
 * The agent (agent.c) owns what every learner shares: the critic ensemble
 * with its targets, the actor, the RNG streams, counters, metrics and the
 * loss scratch. A learner owns everything else (extra networks, learned
 * scalars, target actor, statistics) through create/destroy, and supplies
 * the losses' gradients. update.c runs the one schedule of every update:
 *
 *   for each of the U minibatches:  critic_grads
 *       U > 1: critic Adam step (+ Polyak), critic_aux_step(trained)
 *              idle mode: the actor and actor_aux_step(idle) step on zeros
 *   if actor_due: actor_grads on the whole batch
 *   U = 1:  critic Adam step (+ Polyak), critic_aux_step(trained)
 *   if actor_due: actor Adam step, actor_aux_step(trained)
 *   U > 1 and idle mode: the critic and critic_aux_step(idle) step on zeros
 *   finish: the metrics of this update
 *
 * In idle mode an idle Adam step runs in one parallel region with the
 * trained step before it (the actor's with each critic step, the critics'
 * with the actor's unless WSRL__LEARNER_POLYAK_WITH_ACTOR), so both have
 * stepped before either aux hook: a critic_aux_step must not read the
 * actor's parameters, nor an actor_aux_step the critics'.
 *
 * With U = 1 every loss reads the parameters from before the update (the
 * reference's single functional update); idle mode is
 * optim.step_untrained = reference. Flags below change the schedule, never
 * an `if (algorithm == ...)` outside the learner's file.
 *
 * Rules (docs/adding-a-learner.md): hooks never allocate (create sizes
 * everything, the plan sizes the agent's scratch); every random number
 * comes from wsrl__agent_rng(ag, WSRL__AGENT_RNG_UPDATE); everything that
 * changes across updates is in a checkpoint section (blobs, scalars,
 * aux_adam_t) so a resumed run is bitwise the same.
 */
#ifndef WSRL_AGENTS_LEARNER_H
#define WSRL_AGENTS_LEARNER_H

#include <stdint.h>

#include "agent_internal.h"

/* Version of the table below; a learner states the one it was written for. */
#define WSRL__LEARNER_VERSION 1u

enum {
  /* Batches must carry mc_return (Cal-QL); online, the session also starts
   * updating only once a whole episode is in the buffer. */
  WSRL__LEARNER_NEEDS_MC_RETURN = 1u << 0,
  /* No offline phase: the agent is online from create (SAC). */
  WSRL__LEARNER_STARTS_ONLINE = 1u << 1,
  /* The state begins with a wsrl__sac_state, so finetune.online_algorithm =
   * sac can switch to the SAC learner on it. Without this flag the learner
   * stays itself online. */
  WSRL__LEARNER_SAC_BASE = 1u << 2,
  /* Polyak the target critics after each actor step instead of after each
   * critic step (TD3's delayed target update). */
  WSRL__LEARNER_POLYAK_WITH_ACTOR = 1u << 3,
  /* The learner keeps a target actor of its own (checkpointed through blobs). */
  WSRL__LEARNER_TARGET_ACTOR = 1u << 4,
};

/* What the learner's passes need, so the agent sizes its scratch, the
 * critics' and the actor's largest batch and prepares every oneDNN shape at
 * create. B = update.batch_size, M = utd * B. */
typedef struct wsrl__learner_plan {
  int64_t q_shapes[8]; /* batch sizes (state rows) of critic passes */
  int32_t n_q_shapes;
  int64_t q_rows;      /* largest row count of one critic pass (>= every q_shapes) */
  int64_t rows;        /* largest row count of any per-row scratch array */
  int64_t work;        /* doubles of scratch work */
  int32_t samples;     /* most actions drawn from pi per state in one pass */
} wsrl__learner_plan;

/* A float array the learner owns, saved as section "<name>" (lower case,
 * [a-z0-9_.]) and checked on load like the agent's own: finite, Adam second
 * moments (names ending in adam.v) >= 0, weights within +-1e6; with
 * positive set, every element > 0 too (a divisor, e.g. a std). */
typedef struct wsrl__learner_blob {
  char name[32];
  float *data;
  int64_t count;
  int32_t positive;
  wsrl__mlp *owner; /* the wsrl__nn_blob's owner, told after a load writes data */
} wsrl__learner_blob;
#define WSRL__LEARNER_MAX_BLOBS 12

/* A learner's own parameters for introspection (wsrl_agent_get_params()):
 * exactly one of pi, mlp and scalar, or none and why (static text). */
typedef struct wsrl__learner_net {
  wsrl__policy *pi; /* an actor-shaped network (TD3+BC's target actor) */
  wsrl__mlp *mlp;
  wsrl__scalar *scalar;
  const char *why;
} wsrl__learner_net;
#define WSRL__WHY_NO_VALUE "only IQL agents (agent.algorithm = iql) learn a value network"
#define WSRL__WHY_NO_TEMPERATURE "neither of its learners uses the SAC temperature (finetune.online_algorithm = sac adds one)"
#define WSRL__WHY_NO_TARGET_ACTOR "only TD3+BC agents (agent.algorithm = td3bc) keep a target actor"
#define WSRL__WHY_NO_LAGRANGE "only CQL and Cal-QL agents with cql.autotune_alpha = true learn one"

typedef struct wsrl__learner_ops {
  uint32_t version; /* WSRL__LEARNER_VERSION */
  const char *name; /* the agent.algorithm value */
  uint32_t flags;   /* WSRL__LEARNER_* */
  int32_t metric_count;
  const char *const *metric_names;

  /* Sizes of this learner's passes for config v (adds to what the agent
   * needs for act and for the critic and actor passes of B and M rows). */
  void (*plan)(const wsrl__config_values *v, int32_t obs_dim, int32_t act_dim, wsrl__learner_plan *plan);

  /* Create the learner's state after the agent built its critics and actor
   * (init: the initialisation stream, continued in a fixed order). Only the
   * algorithm's own learner is created; its online successor (SAC, for a
   * state with WSRL__LEARNER_SAC_BASE) runs on the same state. */
  wsrl_status_t (*create)(wsrl_agent_t *ag, wsrl__rng *init, void **state_out);
  void (*destroy)(wsrl_agent_t *ag, void *state);
  size_t (*memory_usage)(const void *state); /* bytes beyond sizeof the state; may be NULL */

  /* Start of an update (e.g. note a value the metrics report as it was
   * before any step). May be NULL. */
  void (*begin)(wsrl_agent_t *ag, void *state);
  /* The losses. critic_grads: the critics' gradients (and the critic-side
   * networks', e.g. IQL's value) on one minibatch, accumulating statistics
   * in the state; the critics' backward last, by wsrl__agent_critic_backward
   * (which with U > 1 leaves it to the critic step that follows: one
   * parallel region for both). actor_grads: the actor's gradients (and the actor-side
   * scalars', e.g. SAC's temperature) on the whole batch. */
  wsrl_status_t (*critic_grads)(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *minibatch);
  wsrl_status_t (*actor_grads)(wsrl_agent_t *ag, void *state, const wsrl__agent_batch *batch);
  /* Steps of the learner's own parameters after the critic's / actor's
   * step. trained = 0: the idle step on zero gradients. May be NULL. */
  wsrl_status_t (*critic_aux_step)(wsrl_agent_t *ag, void *state, int32_t trained);
  wsrl_status_t (*actor_aux_step)(wsrl_agent_t *ag, void *state, int32_t trained);
  /* 1 when this update steps the actor (TD3's policy_freq); NULL: always. */
  int32_t (*actor_due)(const wsrl_agent_t *ag, const void *state);
  /* Metrics of this update (wsrl__agent_set_metric); resets the sums. */
  void (*finish)(wsrl_agent_t *ag, void *state);

  /* Adam moments of the learner's parameters reset (finetune.reset_optimizer). May be NULL. */
  void (*reset_optimizer)(void *state);
  /* The dataset a pretraining run will sample (rows observations, row-major):
   * e.g. TD3+BC's state normalisation. Called by wsrl_pretrain() before the
   * agent's first update. May be NULL. */
  wsrl_status_t (*fit_dataset)(wsrl_agent_t *ag, void *state, int64_t rows, const float *obs);
  /* The observations the actor sees (act and the losses): NULL, or writes n
   * transformed rows into out and returns out. */
  const float *(*actor_input)(const wsrl_agent_t *ag, const void *state, int64_t n, const float *obs, float *out);

  /* Introspection: the learner's parameters of public net id net
   * (WSRL_NET_VALUE, _TEMPERATURE, _LAGRANGE or _TARGET_ACTOR) into *out,
   * which comes with why set to that net's generic reason. May be NULL (none). */
  void (*net)(const wsrl_agent_t *ag, void *state, int32_t net, wsrl__learner_net *out);

  /* Stochastic act of a deterministic actor: noise added to the mode of n
   * rows (unit actions, clipped to [-1, 1]) from rng (the act stream).
   * NULL: sample the actor's distribution. */
  void (*explore)(const wsrl_agent_t *ag, const void *state, wsrl__rng *rng, int64_t n, float *action);
  /* What a policy snapshot applies around the actor so wsrl_policy_act()
   * acts as act does (policy/snapshot.h): the normalisation actor_input
   * applies (pointers into the state, read at each publish), and for a
   * learner with explore, the deterministic head and its noise. Required
   * with actor_input (without it the agent has no snapshots); out comes
   * zeroed. May be NULL. */
  void (*snapshot)(const wsrl_agent_t *ag, const void *state, wsrl__snap_extras *out);

  /* Checkpoint. blobs: the learner's float arrays (returns how many, at
   * most WSRL__LEARNER_MAX_BLOBS); scalars: its two learned scalars in the
   * 'scalars' section (NULL entries are stored as zeros); aux_adam_t: the
   * Adam step of its extra network ('adam_steps'[2]), or NULL. */
  int32_t (*blobs)(const wsrl_agent_t *ag, void *state, wsrl__learner_blob *out);
  void (*scalars)(void *state, wsrl__scalar *out[2]);
  int64_t *(*aux_adam_t)(void *state);
} wsrl__learner_ops;

/* The learner of an agent.algorithm value (registry in learner.c), or NULL. */
const wsrl__learner_ops *wsrl__learner_for(int32_t algorithm);
/* The learner after the switch for config v (itself, or the SAC learner). */
const wsrl__learner_ops *wsrl__learner_online(const wsrl__learner_ops *offline, const wsrl__config_values *v);
/* The larger of two plans, field by field, shapes merged. */
void wsrl__learner_plan_merge(wsrl__learner_plan *into, const wsrl__learner_plan *p);
/* The plan of a learner whose passes take B or M rows of one action per
 * state (IQL, TD3+BC). */
void wsrl__learner_plan_basic(const wsrl__config_values *v, int32_t obs_dim, int32_t act_dim,
                              wsrl__learner_plan *plan);
/* Add a critic shape to a plan (no duplicates). */
void wsrl__learner_plan_shape(wsrl__learner_plan *plan, int64_t rows);

/* The registered learners (one file each). */
extern const wsrl__learner_ops wsrl__sac_ops;
extern const wsrl__learner_ops wsrl__cql_ops;
extern const wsrl__learner_ops wsrl__calql_ops;
extern const wsrl__learner_ops wsrl__iql_ops;
extern const wsrl__learner_ops wsrl__td3bc_ops;

#endif /* WSRL_AGENTS_LEARNER_H */
