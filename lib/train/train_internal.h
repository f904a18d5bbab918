/*
 * Shared state of the training loops (lib/train): the session layout, the
 * progress record and the evaluation core. Nothing here is exported.
 *
 *   pretrain.c    wsrl_pretrain()
 *   evaluate.c    wsrl_evaluate() and the evaluation the fine-tuning loop runs
 *   session.c     the host-owned session: create, observe, train, queries
 *   finetune.c    the library-owned loop on top of the session
 *   checkpoint.c  session save/load (agent + counters + optional buffer)
 *
 * Threading: one thread per session; `busy` refuses re-entry from callbacks.
 */
#ifndef WSRL_TRAIN_INTERNAL_H
#define WSRL_TRAIN_INTERNAL_H

#include <stdint.h>

#include "agents/agent_internal.h"
#include "core.h"
#include "replay/replay_internal.h"
#include "wsrl/train.h"

/* Name/value pairs handed to a progress callback: fixed arrays, filled
 * without allocating. */
#define WSRL__PROGRESS_MAX (16 + WSRL__AGENT_MAX_METRICS)

typedef struct wsrl__progress {
  const char *names[WSRL__PROGRESS_MAX];
  double values[WSRL__PROGRESS_MAX];
  int32_t n;
} wsrl__progress;

static inline void wsrl__progress_add(wsrl__progress *p, const char *name, double value) {
  if (p->n < WSRL__PROGRESS_MAX) {
    p->names[p->n] = name;
    p->values[p->n] = value;
    p->n++;
  }
}

/* Append the agent's metrics of its current learner. */
void wsrl__progress_add_agent(wsrl__progress *p, const wsrl_agent_t *agent);

/* Call the host's progress callback (if any); returns WSRL_ERR_CANCELLED
 * with a message naming `what` and the step when it asks to stop. */
wsrl_status_t wsrl__progress_emit(wsrl_progress_fn fn, void *user, int64_t step, const wsrl__progress *p,
                                  const char *what);

/* ---- evaluation core (evaluate.c) ----
 * Deterministic episodes with reset seeds seed, seed + 1, ...; obs, next_obs
 * ([obs_dim]) and act ([act_dim]) are the caller's scratch. The result is
 * a full-size struct. */
wsrl_status_t wsrl__evaluate_run(wsrl_agent_t *agent, wsrl_env_t *env, int32_t episodes, uint64_t seed,
                                 int32_t nonfinite_policy, float *obs, float *next_obs, float *act,
                                 wsrl_eval_result_t *result);

/* ---- the session ---- */

struct wsrl_session {
  wsrl__alloc alloc;
  wsrl_agent_t *agent;          /* retained (reference counted) */
  wsrl__busy guard;             /* the threading contract (docs/threading.md) */
  int32_t retained;             /* holds a reference on agent and offline */
  wsrl__config_values cfg;      /* the session's keys, copied at create */
  int32_t obs_dim, act_dim;

  /* data */
  wsrl_replay_t *online;        /* owned; starts empty (append: the dataset) */
  wsrl_replay_t *offline;       /* retained dataset (mixed and append), else NULL */
  int32_t mode;                 /* WSRL__OFFLINE_NONE / _MIXED / _APPEND */
  double ratio;                 /* offline fraction of a mixed batch */
  wsrl__replay_batch batch;     /* wsrl__agent_max_batch_rows() rows */

  /* phase machine */
  int64_t warmup;               /* K */
  int64_t start_after;          /* resolved threshold (env steps) */
  int64_t episode_len_hint;     /* max_episode_steps for Cal-QL's rule (0 unknown) */
  int64_t episode_len_opt;      /* the options' max_episode_steps: wins over a loaded hint */
  int32_t completed_only;       /* online rows from completed episodes only (Cal-QL kept online) */
  int64_t env_steps, updates_due, updates_done;

  /* episode statistics (raw rewards) */
  double ep_return;
  int64_t ep_length, episodes;
  double last_ep_return;
  int64_t last_ep_length;

  /* RNG streams (saved in session checkpoints) */
  wsrl__rng rng;                /* env reset seeds of wsrl_finetune() */
  wsrl__rng offline_rng;        /* draws from the borrowed dataset */
  uint64_t eval_seed;           /* first reset seed of every evaluation */

  /* the library-owned loop */
  float *obs, *next_obs, *act;  /* [O], [O], [A] current episode */
  float *ev_obs, *ev_next, *ev_act;
  float *act_unit;              /* [A] observe: host actions to [-1, 1] */
  const wsrl_env_t *loop_env;   /* env of the running episode (identity only) */
  int64_t loop_env_total;       /* its wsrl__env_total_steps() after our last step */
  int32_t loop_active;          /* s->obs is the current observation of loop_env */
  int64_t nonfinite_skips;
  int64_t evaluations, last_eval_step;
  wsrl_eval_result_t last_eval;

  int32_t busy;                 /* a loop or train call is running */
  wsrl__progress progress;
};

/* Resolve the start rule from the config, the agent and episode_len_hint. */
void wsrl__session_resolve_start(wsrl_session_t *s);
/* Take the session's busy flag (mode) and, unless agent_mode is
 * WSRL__AGENT_UNUSED, the agent's too; leave releases both. */
enum { WSRL__AGENT_UNUSED = -1 };
wsrl_status_t wsrl__session_enter(const wsrl_session_t *s, int32_t mode, int32_t agent_mode, const char *fn);
void wsrl__session_leave(const wsrl_session_t *s, int32_t mode, int32_t agent_mode);
#define WSRL__SESSION_GUARDED(s, mode, agent_mode, fn, call)            \
  do {                                                                  \
    WSRL__TRY(wsrl__session_enter((s), (mode), (agent_mode), (fn)));    \
    wsrl_status_t wsrl__sst_ = (call);                                  \
    wsrl__session_leave((s), (mode), (agent_mode));                     \
    return wsrl__sst_;                                                  \
  } while (0)
/* Record a transition whose action is already in [-1, 1]. */
wsrl_status_t wsrl__session_observe_unit(wsrl_session_t *s, const float *obs, const float *act_unit, float reward,
                                         const float *next_obs, int32_t terminated, int32_t truncated);
/* Run up to max (< 0: all) due updates; *done_out counts them. */
wsrl_status_t wsrl__session_train(wsrl_session_t *s, int64_t max, int64_t *done_out);
/* Abandon the running episode: close it in the buffer, forget its statistics. */
void wsrl__session_cut_episode(wsrl_session_t *s);
/* Put the dataset into the (empty) online buffer in append mode. */
wsrl_status_t wsrl__session_fill_append(wsrl_session_t *s);

#endif /* WSRL_TRAIN_INTERNAL_H */
