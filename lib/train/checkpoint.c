/* Session checkpoints: one section-container file (lib/io) holding the agent
 * (sections "a.*"), the session state ("s.state") and optionally the online
 * buffer ("r.*"). Layout in docs/checkpoints.md. Loading validates every
 * part before changing any. */
#include <math.h>
#include <string.h>

#include "train_internal.h"

#define MAGIC "WSRLSESS"
#define FORMAT_VERSION 1u
#define AGENT_PREFIX "a."
#define REPLAY_PREFIX "r."
#define STATE_SECTION "s.state"

/* Offsets inside "s.state" (all little-endian). */
enum {
  S_OBS_DIM = 0, S_ACT_DIM = 4, S_MODE = 8, S_HAS_REPLAY = 12, S_WARMUP = 16, S_ENV_STEPS = 24,
  S_UPDATES_DUE = 32, S_UPDATES_DONE = 40, S_EPISODES = 48, S_LAST_EP_RETURN = 56, S_LAST_EP_LENGTH = 64,
  S_NONFINITE = 72, S_EVALUATIONS = 80, S_LAST_EVAL_STEP = 88, S_EVAL = 96 /* 5 f64 + i32 episodes + i32 0 */,
  S_EVAL_SKIPS = 144, S_EVAL_SEED = 152, S_EP_HINT = 160, S_RNG = 168, S_OFFLINE_RNG = 200, S_REPLAY_RNG = 232,
  S_SIZE = 264
};

static void put_rng(uint8_t *p, const wsrl__rng *r) {
  for (int i = 0; i < 4; i++)
    wsrl__store_u64le(p + 8 * i, r->s[i]);
}

static void get_rng(const uint8_t *p, wsrl__rng *r) {
  for (int i = 0; i < 4; i++)
    r->s[i] = wsrl__load_u64le(p + 8 * i);
}

static void write_state(const wsrl_session_t *s, int32_t has_replay, uint8_t b[S_SIZE]) {
  memset(b, 0, S_SIZE);
  wsrl__store_i32le(b + S_OBS_DIM, s->obs_dim);
  wsrl__store_i32le(b + S_ACT_DIM, s->act_dim);
  wsrl__store_i32le(b + S_MODE, s->mode);
  wsrl__store_i32le(b + S_HAS_REPLAY, has_replay);
  wsrl__store_i64le(b + S_WARMUP, s->warmup);
  wsrl__store_i64le(b + S_ENV_STEPS, s->env_steps);
  wsrl__store_i64le(b + S_UPDATES_DUE, s->updates_due);
  wsrl__store_i64le(b + S_UPDATES_DONE, s->updates_done);
  wsrl__store_i64le(b + S_EPISODES, s->episodes);
  wsrl__store_f64le(b + S_LAST_EP_RETURN, s->last_ep_return);
  wsrl__store_i64le(b + S_LAST_EP_LENGTH, s->last_ep_length);
  wsrl__store_i64le(b + S_NONFINITE, s->nonfinite_skips);
  wsrl__store_i64le(b + S_EVALUATIONS, s->evaluations);
  wsrl__store_i64le(b + S_LAST_EVAL_STEP, s->last_eval_step);
  const wsrl_eval_result_t *e = &s->last_eval;
  const double ev[5] = {e->return_mean, e->return_std, e->return_min, e->return_max, e->length_mean};
  for (int i = 0; i < 5; i++)
    wsrl__store_f64le(b + S_EVAL + 8 * i, ev[i]);
  wsrl__store_i32le(b + S_EVAL + 40, e->episodes);
  wsrl__store_i64le(b + S_EVAL_SKIPS, e->nonfinite_skips);
  wsrl__store_u64le(b + S_EVAL_SEED, s->eval_seed);
  wsrl__store_i64le(b + S_EP_HINT, s->episode_len_hint);
  put_rng(b + S_RNG, &s->rng);
  put_rng(b + S_OFFLINE_RNG, &s->offline_rng);
  put_rng(b + S_REPLAY_RNG, wsrl__replay_rng(s->online));
}

/* The sections of a session file: the agent, the loop's state, the online
 * buffer (optional). */
typedef struct save_ctx {
  const wsrl_session_t *session;
  int32_t with_replay;
  uint8_t state[S_SIZE];
} save_ctx;

static wsrl_status_t session_sections(wsrl__secwriter *w, const void *ctx) {
  const save_ctx *c = ctx;
  WSRL__TRY(wsrl__agent_write_sections(c->session->agent, w, AGENT_PREFIX));
  WSRL__TRY(wsrl__secwriter_add(w, STATE_SECTION, c->state, sizeof c->state));
  return c->with_replay ? wsrl__replay_write_sections(c->session->online, w, REPLAY_PREFIX) : WSRL_OK;
}

static wsrl_status_t session_save_impl(const wsrl_session_t *session, const char *path, int32_t flags) {
  WSRL__CHECK_NULL(session);
  if ((flags & ~WSRL_SESSION_SAVE_REPLAY) != 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_session_save: unknown flags 0x%x", (unsigned)flags);
  if (session->busy)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "wsrl_session_save: the session is running a loop; save after it "
                       "returns");
  save_ctx c = {session, (flags & WSRL_SESSION_SAVE_REPLAY) != 0, {0}};
  write_state(session, c.with_replay, c.state);
  return wsrl__section_file_save(path, MAGIC, FORMAT_VERSION, &session->alloc, session_sections, &c);
}

wsrl_status_t wsrl_session_save(const wsrl_session_t *session, const char *path, int32_t flags) {
  WSRL__CHECK_NULL(session);
  WSRL__CHECK_NULL(path);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_READ, WSRL__BUSY_READ, "wsrl_session_save", session_save_impl(session, path, flags));
}

/* Parsed "s.state" (validated before anything changes). */
typedef struct state {
  int32_t has_replay;
  int64_t env_steps, updates_due, updates_done, episodes, last_ep_length, nonfinite, evaluations, last_eval_step;
  int64_t ep_hint;
  double last_ep_return;
  wsrl_eval_result_t eval;
  uint64_t eval_seed;
  wsrl__rng rng, offline_rng, replay_rng;
} state;

static wsrl_status_t read_state(const wsrl_session_t *s, const wsrl__secreader *rd, const char *path, state *out) {
  const wsrl__section *sec;
  WSRL__TRY(wsrl__secreader_require(rd, STATE_SECTION, S_SIZE, &sec));
  uint8_t b[S_SIZE];
  WSRL__TRY(wsrl__secreader_read_all(rd, sec, b));
  const int32_t O = wsrl__load_i32le(b + S_OBS_DIM), A = wsrl__load_i32le(b + S_ACT_DIM);
  if (O != s->obs_dim || A != s->act_dim)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_session_load: '%s' holds a session for obs_dim %d, act_dim %d but this one has %d, %d",
                       path, O, A, s->obs_dim, s->act_dim);
  const int32_t mode = wsrl__load_i32le(b + S_MODE);
  if (mode != s->mode)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "wsrl_session_load: '%s' was saved with finetune.offline_data = %d but this session uses %d "
                       "(0 none, 1 mixed, 2 append)", path, mode, s->mode);
  out->has_replay = wsrl__load_i32le(b + S_HAS_REPLAY);
  out->env_steps = wsrl__load_i64le(b + S_ENV_STEPS);
  out->updates_due = wsrl__load_i64le(b + S_UPDATES_DUE);
  out->updates_done = wsrl__load_i64le(b + S_UPDATES_DONE);
  out->episodes = wsrl__load_i64le(b + S_EPISODES);
  out->last_ep_return = wsrl__load_f64le(b + S_LAST_EP_RETURN);
  out->last_ep_length = wsrl__load_i64le(b + S_LAST_EP_LENGTH);
  out->nonfinite = wsrl__load_i64le(b + S_NONFINITE);
  out->evaluations = wsrl__load_i64le(b + S_EVALUATIONS);
  out->last_eval_step = wsrl__load_i64le(b + S_LAST_EVAL_STEP);
  memset(&out->eval, 0, sizeof out->eval);
  out->eval.struct_size = (uint32_t)sizeof out->eval;
  out->eval.return_mean = wsrl__load_f64le(b + S_EVAL);
  out->eval.return_std = wsrl__load_f64le(b + S_EVAL + 8);
  out->eval.return_min = wsrl__load_f64le(b + S_EVAL + 16);
  out->eval.return_max = wsrl__load_f64le(b + S_EVAL + 24);
  out->eval.length_mean = wsrl__load_f64le(b + S_EVAL + 32);
  out->eval.episodes = wsrl__load_i32le(b + S_EVAL + 40);
  out->eval.nonfinite_skips = wsrl__load_i64le(b + S_EVAL_SKIPS);
  out->eval_seed = wsrl__load_u64le(b + S_EVAL_SEED);
  out->ep_hint = wsrl__load_i64le(b + S_EP_HINT);
  get_rng(b + S_RNG, &out->rng);
  get_rng(b + S_OFFLINE_RNG, &out->offline_rng);
  get_rng(b + S_REPLAY_RNG, &out->replay_rng);

  /* Counters are non-negative and consistent; returns finite or NaN ("none"). */
  const uint64_t at = sec->offset;
  const int64_t counts[] = {out->env_steps, out->updates_due, out->updates_done, out->episodes,
                            out->last_ep_length, out->nonfinite, out->evaluations, out->ep_hint,
                            out->eval.nonfinite_skips};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
    if (counts[i] < 0)
      return wsrl__io_corrupt(path, at, STATE_SECTION, "counter %zu is negative (%lld)", i, (long long)counts[i]);
  if (out->has_replay != 0 && out->has_replay != 1)
    return wsrl__io_corrupt(path, at + S_HAS_REPLAY, STATE_SECTION ".has_replay", "%d is not 0 or 1",
                            (int)out->has_replay);
  if (out->last_eval_step < -1 || out->last_eval_step > out->env_steps || out->updates_due > out->env_steps ||
      out->episodes > out->env_steps)
    return wsrl__io_corrupt(path, at, STATE_SECTION, "inconsistent counters (env_steps %lld, updates_due %lld, "
                            "episodes %lld, last_eval_step %lld)", (long long)out->env_steps,
                            (long long)out->updates_due, (long long)out->episodes, (long long)out->last_eval_step);
  /* Cal-QL kept online waits for an episode of this length: one longer than
   * the buffer can hold would stop training for good. */
  int64_t capacity = 0;
  wsrl_replay_capacity(s->online, &capacity);
  if (out->ep_hint > capacity)
    return wsrl__io_corrupt(path, at + S_EP_HINT, STATE_SECTION ".episode_length_hint",
                            "%lld is more than the online buffer's capacity %lld", (long long)out->ep_hint,
                            (long long)capacity);
  const double reals[] = {out->last_ep_return, out->eval.return_mean, out->eval.return_std, out->eval.return_min,
                          out->eval.return_max, out->eval.length_mean};
  for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
    if (isinf(reals[i]))
      return wsrl__error(WSRL_ERR_NON_FINITE, "wsrl_session_load: '%s': %s value %zu is infinite", path,
                         STATE_SECTION, i);
  const wsrl__rng *rngs[] = {&out->rng, &out->offline_rng, &out->replay_rng};
  for (size_t i = 0; i < 3; i++)
    if ((rngs[i]->s[0] | rngs[i]->s[1] | rngs[i]->s[2] | rngs[i]->s[3]) == 0)
      return wsrl__io_corrupt(path, at + S_RNG + 32 * i, STATE_SECTION, "RNG state %zu is all zero", i);
  return WSRL_OK;
}

static wsrl_status_t session_load_impl(wsrl_session_t *session, const char *path) {
  WSRL__CHECK_NULL(session);
  wsrl_session_t *s = session;
  if (s->busy)
    return wsrl__error(WSRL_ERR_WRONG_STATE, "wsrl_session_load: the session is running a loop");
  wsrl__secreader rd;
  WSRL__TRY(wsrl__secreader_open(&rd, path, MAGIC, FORMAT_VERSION, &s->alloc));
  wsrl__agent_stage *stage = NULL;
  state st_file;
  wsrl_status_t st = wsrl__agent_stage_load(s->agent, &rd, AGENT_PREFIX, &stage);
  if (st == WSRL_OK)
    st = read_state(s, &rd, path, &st_file);
  if (st == WSRL_OK && st_file.has_replay) {
    /* Validates every buffer section before replacing the contents. */
    st = wsrl__replay_read_sections(s->online, &rd, REPLAY_PREFIX, NULL);
  }
  wsrl__secreader_close(&rd);
  if (st != WSRL_OK) {
    if (stage != NULL)
      wsrl__agent_stage_free(s->agent, stage);
    return st;
  }

  /* Everything checked out: commit. */
  wsrl__agent_stage_commit(s->agent, stage);
  if (!st_file.has_replay) {
    wsrl_replay_clear(s->online);
    wsrl__session_fill_append(s); /* cannot fail on an empty buffer of matching dims */
    st_file.updates_due = 0;
  }
  s->env_steps = st_file.env_steps;
  s->updates_due = st_file.updates_due;
  s->updates_done = st_file.updates_done;
  s->episodes = st_file.episodes;
  s->last_ep_return = st_file.last_ep_return;
  s->last_ep_length = st_file.last_ep_length;
  s->nonfinite_skips = st_file.nonfinite;
  s->evaluations = st_file.evaluations;
  s->last_eval_step = st_file.last_eval_step;
  s->last_eval = st_file.eval;
  s->eval_seed = st_file.eval_seed;
  /* Loaded state replaces, never accumulates: a second load must undo a first. */
  s->episode_len_hint = s->episode_len_opt > 0 ? s->episode_len_opt : st_file.ep_hint;
  s->rng = st_file.rng;
  s->offline_rng = st_file.offline_rng;
  *wsrl__replay_rng(s->online) = st_file.replay_rng;
  /* The env's episode is not part of the file: the next step starts anew. */
  wsrl__session_cut_episode(s);
  s->loop_active = 0;
  s->loop_env = NULL;
  wsrl__session_resolve_start(s);
  return WSRL_OK;
}

wsrl_status_t wsrl_session_load(wsrl_session_t *session, const char *path) {
  WSRL__CHECK_NULL(session);
  WSRL__CHECK_NULL(path);
  WSRL__SESSION_GUARDED(session, WSRL__BUSY_WRITE, WSRL__BUSY_WRITE, "wsrl_session_load", session_load_impl(session, path));
}
