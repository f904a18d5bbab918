/*
 * Internal agent API for the library's own loops (lib/train: pretrain,
 * warmup, finetune, evaluate and the host-owned fine-tuning session), and
 * the layout shared by the files of lib/agents (agent.c, update.c,
 * checkpoint.c and the learners behind learner.h).
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
/* 1 when the learner after the switch reads mc_return: online rows then
 * come from completed episodes and updates start after one (the session's
 * start rule). */
int32_t wsrl__agent_online_needs_mc_return(const wsrl_agent_t *agent);
/* Show the learner the dataset a pretraining run samples (rows
 * observations), before the agent's first update; later calls do nothing
 * (e.g. TD3+BC's state normalisation, saved in checkpoints). */
wsrl_status_t wsrl__agent_fit_dataset(wsrl_agent_t *agent, int64_t rows, const float *obs);

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

/* The learner interface (learner.h). */
typedef struct wsrl__learner_ops wsrl__learner_ops;

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
  float *act_in;    /* [ACT_CHUNK, O] the actor's input (learner.h actor_input) */
  double *work;     /* [Rq + 2 (3N + 1) + 8] logsumexp work */
} wsrl__agent_scratch;

struct wsrl_agent {
  wsrl__alloc alloc;
  wsrl__config_values cfg; /* copied at create */
  wsrl_config_t *config;   /* a clone, written into checkpoints */
  int32_t obs_dim, act_dim;
  float *act_low, *act_high; /* [A] each */

  wsrl__nn_ctx *nn;
  wsrl_qensemble_t *q;    /* critics + targets */
  wsrl__policy *pi;       /* actor */
  wsrl__snap_pool *snaps; /* published actor snapshots (NULL: actor too wide) */

  wsrl__rng rng[WSRL__AGENT_RNG_COUNT];

  int32_t phase;                    /* WSRL_AGENT_OFFLINE / _ONLINE */
  const wsrl__learner_ops *offline; /* learner of agent.algorithm (owns lstate) */
  const wsrl__learner_ops *online;  /* learner after the switch (runs on lstate) */
  void *lstate;                     /* the learner's state (learner.h) */
  int32_t utd;                      /* critic steps of the current phase */

  /* sizes fixed at create */
  int64_t batch;     /* B: critic minibatch rows */
  int64_t rows_max;  /* U * B (>= B) */
  int32_t n_actions; /* N of the CQL samples (cql.n_actions) */
  int32_t n_backup;  /* next actions of the max-target backup (td.max_target_actions) */
  int32_t ensemble;  /* E */
  int32_t subsample; /* k */

  /* wsrl__agent_critic_backward() left to the critic step that follows it
   * (update.c): allowed while the schedule sets critic_defer; pending once
   * deferred, until that step runs it. */
  int32_t critic_defer, critic_pending;

  wsrl__agent_counters counters;
  double critic_gn, actor_gn;      /* of this update: mean critic gradient norm, actor's */
  const char *const *metric_names; /* of the current learner */
  int32_t metric_count;
  double metrics[WSRL__AGENT_MAX_METRICS];

  wsrl__agent_scratch s;
  size_t scratch_bytes;

  wsrl__busy busy;     /* the threading contract (shared by the lent Q-ensemble and a session) */
  _Atomic int32_t refs; /* 1 for the host + 1 per session using the agent */
};

/* The learner in use. */
static inline const wsrl__learner_ops *wsrl__agent_current(const wsrl_agent_t *ag) {
  return ag->phase == WSRL_AGENT_ONLINE ? ag->online : ag->offline;
}

/* Switch the learner, utd and metric set to a phase (agent.c). */
void wsrl__agent_apply_phase(wsrl_agent_t *ag, int32_t phase);

/* ---- optimizer steps (update.c) ----
 * A NaN/inf gradient leaves the parameters untouched and is counted in
 * counters.nonfinite_skips (not an error). norm_out (may be NULL): the
 * gradient norm before clipping. */
wsrl_status_t wsrl__agent_count_skip(wsrl_agent_t *ag, wsrl_status_t st);
wsrl_status_t wsrl__agent_critic_step(wsrl_agent_t *ag, float *norm_out);
wsrl_status_t wsrl__agent_actor_step(wsrl_agent_t *ag, float *norm_out);
/* One Adam step of a learned scalar from dLoss/dvalue; trained = 0: the
 * idle step on a zero gradient. */
void wsrl__agent_scalar_step(wsrl_agent_t *ag, wsrl__scalar *s, double dloss_dvalue, int32_t trained);
/* One Adam step of an extra network of a learner; trained = 0: on zeros. */
wsrl_status_t wsrl__agent_mlp_step(wsrl_agent_t *ag, wsrl__mlp *m, int32_t trained);

/* Draw the members of a subset-min from the update stream: returns k
 * (members filled) or 0 when critic.subsample == critic.ensemble_size
 * (no subsampling: every member). */
int32_t wsrl__agent_draw_members(wsrl_agent_t *ag, int32_t *members);

/* The online critics' parameter gradients (zeroed first) from dLoss/dQ in
 * ag->s.dq, back through their latest forward: every learner's
 * critic_grads ends with it, so that the schedule can run it in one region
 * with the critic step that follows (learner.h). */
wsrl_status_t wsrl__agent_critic_backward(wsrl_agent_t *ag);

/* TD gradients of every online critic toward ag->s.y on n rows (zeroed
 * first): loss = mean_{i,b} (Q_i(s, a) - y_b)^2 (update.c; every learner):
 * _backward from the online critics' latest forward (on those n rows),
 * _grads with that forward first. */
wsrl_status_t wsrl__critic_td_backward(wsrl_agent_t *ag, int64_t n, double *loss_out, double *q_mean_out);
wsrl_status_t wsrl__critic_td_grads(wsrl_agent_t *ag, int64_t n, const float *obs, const float *act, double *loss_out,
                                    double *q_mean_out);

/* Rows [off, off + n) of a batch as a batch of its own. */
void wsrl__agent_batch_slice(const wsrl__agent_batch *b, int32_t obs_dim, int32_t act_dim, int64_t off, int64_t n,
                             wsrl__agent_batch *out);

/* Set metric i of the current learner. */
static inline void wsrl__agent_set_metric(wsrl_agent_t *ag, int32_t i, double v) {
  if (i >= 0 && i < WSRL__AGENT_MAX_METRICS)
    ag->metrics[i] = v;
}

#endif /* WSRL_AGENT_INTERNAL_H */
