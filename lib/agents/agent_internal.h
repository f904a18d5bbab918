/*
 * Internal agent API for the library's own loops (lib/train: pretrain,
 * warmup, finetune, evaluate and the host-owned fine-tuning session), and
 * the layout shared by the files of lib/agents (agent.c, sac.c, cql.c,
 * iql.c, checkpoint.c).
 *
 * What the loops use (everything below "for lib/train"):
 *   - wsrl__agent_update(): one update on a batch given as plain pointers
 *     into arrays the caller owns (e.g. a wsrl__replay_batch filled by
 *     wsrl__replay_sample_into()), no copy and no validation;
 *   - wsrl__agent_act_unit(): actions in [-1, 1] for wsrl__env_step_policy();
 *   - wsrl__agent_switch_online(): the offline -> online conversion;
 *   - counters, metrics (name/value arrays for progress callbacks), the
 *     config the agent copied, and a spare RNG stream for the loop itself;
 *   - checkpoint sections to embed the agent in a larger file, with a
 *     staged all-or-nothing load.
 *
 * Units: unit actions ([-1, 1]) everywhere in this header.
 * Threading: one thread per agent at a time; nothing here is thread-safe.
 */
#ifndef WSRL_AGENT_INTERNAL_H
#define WSRL_AGENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "ensemble/ensemble.h"
#include "io/io.h"
#include "nn/nn.h"
#include "policy/policy.h"
#include "policy/snapshot.h"
#include "wsrl/agent.h"

/* =========================================================== for lib/train */

/* A batch as pointers into caller-owned row-major arrays. mask = 1 -
 * terminated. mc_return may be NULL unless wsrl__agent_needs_mc_return().
 * Every row must be finite (the replay buffer guarantees it). The field
 * types match wsrl__replay_batch, so a sampled batch converts by
 * assignment. */
typedef struct wsrl__agent_batch {
  int64_t size;           /* must equal wsrl__agent_batch_rows() */
  const float *obs;       /* [size, obs_dim] */
  const float *action;    /* [size, act_dim], unit */
  const float *reward;    /* [size] */
  const float *next_obs;  /* [size, obs_dim] */
  const float *mask;      /* [size] */
  const float *mc_return; /* [size] or NULL */
} wsrl__agent_batch;

/* Rows one update takes now: utd * update.batch_size online, update.batch_size
 * offline. Constant within a phase. */
int64_t wsrl__agent_batch_rows(const wsrl_agent_t *agent);
/* The largest value wsrl__agent_batch_rows() can take (utd * batch_size):
 * size sampling buffers with it once. */
int64_t wsrl__agent_max_batch_rows(const wsrl_agent_t *agent);
/* 1 while the current loss reads mc_return (Cal-QL offline, or online with
 * finetune.online_algorithm = same). */
int32_t wsrl__agent_needs_mc_return(const wsrl_agent_t *agent);

/* One update (see wsrl_agent_update()); never allocates, never validates
 * the numbers. WSRL_ERR_INVALID_ARGUMENT for a wrong size or a missing
 * mc_return; WSRL_ERR_BACKEND. A NaN/inf gradient is counted, not an error. */
wsrl_status_t wsrl__agent_update(wsrl_agent_t *agent, const wsrl__agent_batch *batch);

/* Actions in [-1, 1] for count observations (count >= 1, any size; chunks
 * internally). deterministic != 0: the mode; else samples from the act
 * stream. No finiteness check of obs. Never allocates. */
wsrl_status_t wsrl__agent_act_unit(wsrl_agent_t *agent, int64_t count, const float *obs, int32_t deterministic,
                                   float *action_unit_out);

/* Offline -> online (wsrl_agent_switch_online()). A no-op when online. */
wsrl_status_t wsrl__agent_switch_online(wsrl_agent_t *agent);
int32_t wsrl__agent_phase(const wsrl_agent_t *agent); /* WSRL_AGENT_OFFLINE / _ONLINE */

/* Counters, plain data (saved in checkpoints). */
typedef struct wsrl__agent_counters {
  int64_t updates, offline_updates, online_updates;
  int64_t critic_steps, actor_steps;
  int64_t nonfinite_skips;
  int64_t act_calls;
} wsrl__agent_counters;
const wsrl__agent_counters *wsrl__agent_get_counters(const wsrl_agent_t *agent);

/* Metrics of the last update of the current learner: *count_out names and
 * values (NaN until the learner's first update). The arrays live in the
 * agent, are stable for the phase, and are refreshed by every update. */
void wsrl__agent_metrics(const wsrl_agent_t *agent, int32_t *count_out, const char *const **names_out,
                         const double **values_out);

/* The agent's busy flag (a session takes it around every call that uses
 * the agent). Reference counting: a borrower retains the agent, and
 * wsrl__agent_release() frees it with the last reference. */
wsrl__busy *wsrl__agent_busy(wsrl_agent_t *agent);
void wsrl__agent_retain(wsrl_agent_t *agent);
/* The agent's flag plus, for a writer, the fork check
 * (wsrl__nn_ctx_check_process): what every public call that computes
 * on the agent takes. */
wsrl_status_t wsrl__agent_enter(wsrl_agent_t *agent, int32_t mode, const char *fn);
#define WSRL__AGENT_GUARDED(agent, fn, call)                                  \
  do {                                                                        \
    WSRL__TRY(wsrl__agent_enter((agent), WSRL__BUSY_WRITE, (fn)));            \
    wsrl_status_t wsrl__ast_ = (call);                                        \
    wsrl__busy_leave(wsrl__agent_busy(agent), WSRL__BUSY_WRITE);              \
    return wsrl__ast_;                                                        \
  } while (0)
void wsrl__agent_release(wsrl_agent_t *agent);

/* The config values the agent copied at create (read-only). */
const wsrl__config_values *wsrl__agent_config(const wsrl_agent_t *agent);
/* Publish the actor as the latest snapshot (after it changed). */
void wsrl__agent_publish(wsrl_agent_t *agent);
int32_t wsrl__agent_obs_dim(const wsrl_agent_t *agent);
int32_t wsrl__agent_act_dim(const wsrl_agent_t *agent);
/* act_dim bounds (owned by the agent). */
const float *wsrl__agent_action_low(const wsrl_agent_t *agent);
const float *wsrl__agent_action_high(const wsrl_agent_t *agent);
/* The agent's allocator (for buffers the loops allocate). */
const wsrl__alloc *wsrl__agent_alloc(const wsrl_agent_t *agent);

/* RNG streams, all seeded from agent.seed and saved in checkpoints.
 * UPDATE: losses (noise, subsets); ACT: stochastic act; LOOP: never used by
 * the agent, reserved for the caller's loop (env reset seeds, replay
 * seeds), so the loop's randomness resumes bitwise too. */
enum { WSRL__AGENT_RNG_UPDATE = 0, WSRL__AGENT_RNG_ACT = 1, WSRL__AGENT_RNG_LOOP = 2, WSRL__AGENT_RNG_COUNT = 3 };
wsrl__rng *wsrl__agent_rng(wsrl_agent_t *agent, int32_t which);

/* ---- checkpoint sections (checkpoint.c; format in docs/checkpoints.md) ----
 * The agent writes its sections with names "<prefix><name>" (prefix at most
 * WSRL__AGENT_PREFIX_MAX characters, may be ""), so a loop checkpoint can
 * hold the agent next to a replay buffer and its own counters. */
#define WSRL__AGENT_PREFIX_MAX 6
#define WSRL__AGENT_CKPT_MAGIC "WSRLAGNT"
#define WSRL__AGENT_CKPT_VERSION 1u
wsrl_status_t wsrl__agent_write_sections(const wsrl_agent_t *agent, wsrl__secwriter *writer, const char *prefix);

/* Staged load: wsrl__agent_stage_load() reads and checks every agent
 * section (sizes, checksums, finite values, compatibility with this agent)
 * into a staging copy without touching the agent; then either
 * wsrl__agent_stage_commit() (cannot fail; frees the stage) or
 * wsrl__agent_stage_free(). Lets a loader verify every component of a
 * file before changing any. The stage allocates. */
typedef struct wsrl__agent_stage wsrl__agent_stage;
wsrl_status_t wsrl__agent_stage_load(const wsrl_agent_t *agent, const wsrl__secreader *reader, const char *prefix,
                                     wsrl__agent_stage **stage_out);
void wsrl__agent_stage_commit(wsrl_agent_t *agent, wsrl__agent_stage *stage);
void wsrl__agent_stage_free(const wsrl_agent_t *agent, wsrl__agent_stage *stage);

/* ============================================ private to lib/agents below */

#define WSRL__AGENT_MAX_METRICS 24
#define WSRL__AGENT_ACT_CHUNK 64 /* rows of a batched act pass */

/* One learner: the loss behind an update. The iface is static; the context
 * is the learner's own settings (owned by the agent). */
typedef struct wsrl__agent_ops {
  const char *name; /* "sac", "cql", "calql", "iql" */
  int32_t metric_count;
  const char *const *metric_names;
  wsrl_status_t (*update)(wsrl_agent_t *agent, void *context, const wsrl__agent_batch *batch);
} wsrl__agent_ops;

typedef struct wsrl__agent_learner {
  const wsrl__agent_ops *iface;
  void *context;
} wsrl__agent_learner;

/* Settings of the SAC/CQL/Cal-QL family (sac.c, cql.c). */
typedef struct wsrl__cql_ctx {
  int32_t cql_loss;          /* add the CQL regulariser (0: plain SAC ensemble) */
  int32_t calql;             /* clip the pi-sampled Q by mc_return */
  int32_t max_target_backup; /* max over n_backup next actions */
  int32_t backup_entropy;    /* subtract alpha log pi in the target (SAC only) */
} wsrl__cql_ctx;

/* Learners (sac.c, cql.c, iql.c). */
extern const wsrl__agent_ops wsrl__sac_ops;
extern const wsrl__agent_ops wsrl__cql_ops;
extern const wsrl__agent_ops wsrl__calql_ops;
extern const wsrl__agent_ops wsrl__iql_ops;

/* Preallocated scratch of the losses, sized at create (agent.c). R is the
 * largest row count of any pass, Rq the CQL rows B * (3N + 1). */
typedef struct wsrl__agent_scratch {
  void *block;      /* the one allocation everything below lives in */
  float *eps;       /* normal noise [R, A] */
  float *act_n;     /* sampled actions [R, A] */
  float *act1;      /* actor-step / temporary actions [R, A] */
  float *logp_n;    /* log pi of sampled actions [R] */
  float *logp1;     /* [R] */
  float *q_tmp;     /* critic outputs [E, R] */
  float *dq;        /* dLoss/dQ [E, R] */
  float *y;         /* TD targets [R] */
  float *vmin;      /* per-row minima [R] */
  int32_t *argmin;  /* [R] */
  float *dact;      /* dLoss/da [R, A] */
  float *dlogp;     /* dLoss/dlogp [R] */
  float *col;       /* per-row work [R] */
  float *col2;      /* per-row work [R] */
  float *mask_conv; /* [U * B] public update: mask from terminated */
  float *act_conv;  /* [U * B, A] public update: unit actions from scaled */
  float *act_obs;   /* [ACT_CHUNK, O] padded act chunk */
  float *act_out;   /* [ACT_CHUNK, A] */
  float *act_eps;   /* [ACT_CHUNK, A] */
  double *work;     /* [Rq + 2 (3N + 1) + 8] logsumexp work */
} wsrl__agent_scratch;

struct wsrl_agent {
  wsrl__alloc alloc;
  wsrl__config_values cfg; /* copied at create */
  wsrl_config_t *config;   /* a clone, written into checkpoints */
  int32_t obs_dim, act_dim;
  float *act_low, *act_high; /* [A] each */

  wsrl__nn_ctx *nn;
  wsrl_qensemble_t *q;      /* critics + targets */
  wsrl__policy *pi;         /* actor */
  wsrl__snap_pool *snaps;   /* published actor snapshots (NULL: actor too wide) */
  wsrl__scalar temperature; /* SAC alpha = softplus(p) */
  wsrl__scalar lagrange;    /* CQL multiplier (cql.autotune_alpha) */
  int32_t has_lagrange;
  wsrl__mlp *value; /* IQL V(s); NULL for the other algorithms */

  wsrl__rng rng[WSRL__AGENT_RNG_COUNT];

  int32_t phase;               /* WSRL_AGENT_OFFLINE / _ONLINE */
  wsrl__agent_learner offline; /* learner of agent.algorithm */
  wsrl__agent_learner online;  /* learner after the switch */
  wsrl__cql_ctx ctx_offline, ctx_online;
  int32_t utd; /* critic steps of the current phase */

  /* sizes fixed at create */
  int64_t batch;     /* B: critic minibatch rows */
  int64_t rows_max;  /* U * B (>= B) */
  int32_t n_actions; /* N of the CQL samples (cql.n_actions) */
  int32_t n_backup;  /* next actions of the max-target backup (td.max_target_actions) */
  int32_t ensemble;  /* E */
  int32_t subsample; /* k */
  float target_entropy;

  wsrl__agent_counters counters;
  const char *const *metric_names; /* of the current learner */
  int32_t metric_count;
  double metrics[WSRL__AGENT_MAX_METRICS];

  wsrl__agent_scratch s;
  size_t scratch_bytes;

  wsrl__busy busy;     /* the threading contract (shared by the lent Q-ensemble and a session) */
  _Atomic int32_t refs; /* 1 for the host + 1 per session using the agent */
};

/* The learner in use. */
static inline const wsrl__agent_learner *wsrl__agent_current(const wsrl_agent_t *ag) {
  return ag->phase == WSRL_AGENT_ONLINE ? &ag->online : &ag->offline;
}

/* Switch the learner, utd and metric set to a phase (agent.c). */
void wsrl__agent_apply_phase(wsrl_agent_t *ag, int32_t phase);

/* ---- optimizer steps (agent.c) ----
 * A NaN/inf gradient leaves the parameters untouched and is counted in
 * counters.nonfinite_skips (not an error). norm_out (may be NULL): the
 * gradient norm before clipping. */
wsrl_status_t wsrl__agent_critic_step(wsrl_agent_t *ag, float *norm_out);
/* The critic step and the targets' Polyak update (tau) in one pass. */
wsrl_status_t wsrl__agent_critic_step_polyak(wsrl_agent_t *ag, float tau, float *norm_out);
wsrl_status_t wsrl__agent_actor_step(wsrl_agent_t *ag, float *norm_out);
wsrl_status_t wsrl__agent_value_step(wsrl_agent_t *ag);
void wsrl__agent_scalar_step(wsrl_agent_t *ag, wsrl__scalar *s, double dloss_dvalue);

/* Optimizer steps of networks not trained in this part of an update
 * (optim.step_untrained = reference): zero gradients, one Adam step each,
 * no Polyak update. */
enum { WSRL__NET_CRITIC = 1, WSRL__NET_ACTOR = 2, WSRL__NET_TEMP = 4, WSRL__NET_LAGRANGE = 8, WSRL__NET_VALUE = 16 };
wsrl_status_t wsrl__agent_step_untrained(wsrl_agent_t *ag, int32_t nets);

/* Draw the members of a subset-min from the update stream: returns k
 * (members filled) or 0 when critic.subsample == critic.ensemble_size
 * (no subsampling: every member). */
int32_t wsrl__agent_draw_members(wsrl_agent_t *ag, int32_t *members);

/* ---- the SAC family (sac.c, cql.c) ---- */

/* Metric indices of the SAC family: SAC reports [0, TD_LOSS), CQL
 * [0, CALQL_BOUND), Cal-QL all. */
enum {
  WSRL__M_CRITIC_LOSS = 0,
  WSRL__M_Q_MEAN,
  WSRL__M_TARGET_Q,
  WSRL__M_ACTOR_LOSS,
  WSRL__M_ENTROPY,
  WSRL__M_TEMPERATURE,
  WSRL__M_CRITIC_GN,
  WSRL__M_ACTOR_GN,
  WSRL__M_TD_LOSS,
  WSRL__M_CQL_DIFF,
  WSRL__M_CQL_OOD,
  WSRL__M_CQL_ALPHA,
  WSRL__M_LAGRANGE,
  WSRL__M_CALQL_BOUND,
  WSRL__M_SACFAM_COUNT
};
extern const char *const wsrl__sacfam_metric_names[WSRL__M_SACFAM_COUNT];

/* Statistics of one critic step. */
typedef struct wsrl__critic_stats {
  double critic_loss, q_mean, target_mean, td_loss, cql_diff, cql_ood, bound_rate;
} wsrl__critic_stats;

/* The update of the SAC family (the ops' update; context is a wsrl__cql_ctx). */
wsrl_status_t wsrl__sacfam_update(wsrl_agent_t *ag, void *context, const wsrl__agent_batch *batch);

/* TD targets of n rows into ag->s.y: r + gamma * mask * T(s') with T the
 * subset-min of the target critics at a' ~ pi(.|s') (max over n_backup
 * samples with ctx->max_target_backup; minus alpha log pi inside with
 * ctx->backup_entropy). *target_mean gets the mean of y. */
wsrl_status_t wsrl__sac_td_target(wsrl_agent_t *ag, const wsrl__cql_ctx *ctx, int64_t n, const float *reward,
                                  const float *next_obs, const float *mask, double *target_mean);

/* TD gradients of every online critic toward ag->s.y on n rows (zeroed
 * first): loss = mean_{i,b} (Q_i(s, a) - y_b)^2 (sac.c; SAC and IQL). */
wsrl_status_t wsrl__critic_td_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *q_mean_out);

/* SAC critic gradients on n rows (zeroed first): TD loss
 * mean_{i,b} (Q_i(s, a) - y)^2 over every member. */
wsrl_status_t wsrl__sac_critic_grads(wsrl_agent_t *ag, const wsrl__cql_ctx *ctx, int64_t n, const float *obs,
                                     const float *act, const float *reward, const float *next_obs, const float *mask,
                                     wsrl__critic_stats *st);

/* Actor gradients on n rows: loss = mean(alpha log pi(a~|s) - min over ALL
 * online critics of Q_i(s, a~)), alpha as it is now. The actor's gradient
 * buffer is zeroed and filled; the critics' is untouched. */
wsrl_status_t wsrl__sac_actor_grads(wsrl_agent_t *ag, int64_t n, const float *obs, double *loss_out,
                                    double *entropy_out);

/* d loss_alpha / d alpha = H - H_target, H = -mean log pi of n_rep fresh
 * samples per next state. */
wsrl_status_t wsrl__sac_temperature_grad(wsrl_agent_t *ag, int64_t n, const float *next_obs, int32_t n_rep,
                                         double *grad_out, double *entropy_out);

/* CQL / Cal-QL critic gradients on n rows (zeroed first): TD over every
 * member + alpha * mean(cql_diff) over the drawn members; *alpha_out gets
 * the CQL weight used. mc_return is read only for Cal-QL. */
wsrl_status_t wsrl__cql_critic_grads(wsrl_agent_t *ag, const wsrl__cql_ctx *ctx, int64_t n, const float *obs,
                                     const float *act, const float *reward, const float *next_obs, const float *mask,
                                     const float *mc_return, wsrl__critic_stats *st, double *alpha_out);

/* ---- IQL (iql.c) ---- */
typedef struct wsrl__iql_stats {
  double critic_loss, q_mean, target_mean, value_loss, v_mean;
} wsrl__iql_stats;
/* Value (expectile) and critic (TD toward V(s')) gradients on n rows. */
wsrl_status_t wsrl__iql_critic_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act,
                                     const float *reward, const float *next_obs, const float *mask,
                                     wsrl__iql_stats *st);
/* AWR actor gradients on n rows. */
wsrl_status_t wsrl__iql_actor_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *adv_out, double *weight_out);

/* Set metric i of the current learner. */
static inline void wsrl__agent_set_metric(wsrl_agent_t *ag, int32_t i, double v) {
  if (i >= 0 && i < WSRL__AGENT_MAX_METRICS)
    ag->metrics[i] = v;
}

#endif /* WSRL_AGENT_INTERNAL_H */
