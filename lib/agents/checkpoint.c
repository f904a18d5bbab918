/*
 * Agent checkpoints (docs/checkpoints.md): the section container of
 * lib/io with one section per state array, all little-endian. Loading is
 * staged: every section is read into private buffers and checked (sizes,
 * CRC32, finite values, compatibility with this agent) before a single
 * byte of the agent changes; the commit then only copies.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learner.h"

#define META_VERSION 1u
#define META_SIZE 64
#define SCALAR_REC 24 /* p, m, v (f32), pad (u32), t (i64) */
#define NAME_CAP (WSRL__SECTION_NAME_MAX + 1)
#define MAX_BLOBS (16 + WSRL__LEARNER_MAX_BLOBS)

/* ------------------------------------------------------------ state list */

/* One float array of the state; its name is without the prefix. */
typedef wsrl__learner_blob blob_ref;
_Static_assert(sizeof(((blob_ref *)0)->name) == NAME_CAP, "blob names hold a section name");

static int add_blobs_mlp(blob_ref *out, int n, const char *what, wsrl__mlp *m) {
  for (int32_t i = 0; i < wsrl__mlp_blob_count(m); i++) {
    wsrl__nn_blob b;
    if (wsrl__mlp_blob(m, i, &b) != WSRL_OK)
      continue;
    snprintf(out[n].name, NAME_CAP, "%s.%s", what, b.name);
    out[n].data = b.data;
    out[n].count = b.count;
    out[n].positive = 0;
    out[n].owner = b.owner;
    n++;
  }
  return n;
}

/* Every float array of the agent's state, in file order. */
static int collect_blobs(const wsrl_agent_t *agent, blob_ref *out) {
  wsrl_agent_t *ag = (wsrl_agent_t *)agent; /* blob pointers are read-only here */
  int n = 0;
  n = add_blobs_mlp(out, n, "critic", wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE));
  n = add_blobs_mlp(out, n, "target", wsrl__qensemble_mlp(ag->q, WSRL__Q_TARGET));
  for (int32_t i = 0; i < wsrl__policy_blob_count(ag->pi); i++) {
    wsrl__nn_blob b;
    if (wsrl__policy_blob(ag->pi, i, &b) != WSRL_OK)
      continue;
    snprintf(out[n].name, NAME_CAP, "actor.%s", b.name);
    out[n].data = b.data;
    out[n].count = b.count;
    out[n].positive = 0;
    out[n].owner = b.owner;
    n++;
  }
  if (ag->offline->blobs != NULL) { /* the learner's own arrays (flags default to 0) */
    memset(out + n, 0, WSRL__LEARNER_MAX_BLOBS * sizeof *out);
    n += ag->offline->blobs(ag, ag->lstate, out + n);
  }
  return n;
}

static void section_name(char *buf, const char *prefix, const char *name) {
  snprintf(buf, NAME_CAP, "%.6s%.25s", prefix, name);
}

/* ----------------------------------------------------------------- records */

static void put_scalar(uint8_t *p, const wsrl__scalar *s) {
  wsrl__store_f32le(p, s->p);
  wsrl__store_f32le(p + 4, s->m);
  wsrl__store_f32le(p + 8, s->v);
  wsrl__store_u32le(p + 12, 0);
  wsrl__store_i64le(p + 16, s->t);
}

static void get_scalar(const uint8_t *p, wsrl__scalar *s) {
  s->p = wsrl__load_f32le(p);
  s->m = wsrl__load_f32le(p + 4);
  s->v = wsrl__load_f32le(p + 8);
  s->t = wsrl__load_i64le(p + 16);
}

/* The Adam step of the learner's own network, or NULL. */
static int64_t *learner_adam_t(const wsrl_agent_t *ag) {
  return ag->offline->aux_adam_t != NULL ? ag->offline->aux_adam_t(ag->lstate) : NULL;
}

/* The learner's two saved scalars (NULL where it has none). */
static void learner_scalars(const wsrl_agent_t *ag, wsrl__scalar *out[2]) {
  out[0] = out[1] = NULL;
  if (ag->offline->scalars != NULL)
    ag->offline->scalars(ag->lstate, out);
}

static void put_meta(uint8_t *p, const wsrl_agent_t *ag) {
  memset(p, 0, META_SIZE);
  wsrl__store_u32le(p, META_VERSION);
  wsrl__store_i32le(p + 4, ag->obs_dim);
  wsrl__store_i32le(p + 8, ag->act_dim);
  wsrl__store_i32le(p + 12, ag->cfg.agent_algorithm);
  wsrl__store_i32le(p + 16, ag->phase);
  wsrl__store_i32le(p + 20, ag->ensemble);
  wsrl__store_i32le(p + 24, ag->cfg.actor_tanh_squash);
  wsrl__store_i32le(p + 28, ag->cfg.actor_std_parameterization);
  wsrl__store_i32le(p + 32, learner_adam_t(ag) != NULL); /* the learner has a network of its own */
}

#define N_COUNTERS 7
static void counters_to_array(const wsrl__agent_counters *c, int64_t *a) {
  a[0] = c->updates;
  a[1] = c->offline_updates;
  a[2] = c->online_updates;
  a[3] = c->critic_steps;
  a[4] = c->actor_steps;
  a[5] = c->nonfinite_skips;
  a[6] = c->act_calls;
}
static void counters_from_array(wsrl__agent_counters *c, const int64_t *a) {
  c->updates = a[0];
  c->offline_updates = a[1];
  c->online_updates = a[2];
  c->critic_steps = a[3];
  c->actor_steps = a[4];
  c->nonfinite_skips = a[5];
  c->act_calls = a[6];
}

/* ------------------------------------------------------------------- write */

static wsrl_status_t add_section(wsrl__secwriter *w, const char *prefix, const char *name, const void *data,
                                 size_t size) {
  char full[NAME_CAP];
  section_name(full, prefix, name);
  return wsrl__secwriter_add(w, full, data, size);
}

wsrl_status_t wsrl__agent_write_sections(const wsrl_agent_t *agent, wsrl__secwriter *writer, const char *prefix) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(writer);
  WSRL__CHECK_NULL(prefix);
  if (strlen(prefix) > WSRL__AGENT_PREFIX_MAX)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "agent checkpoint: section prefix '%s' is longer than %d", prefix,
                       WSRL__AGENT_PREFIX_MAX);
  wsrl_agent_t *ag = (wsrl_agent_t *)agent;
  uint8_t meta[META_SIZE];
  put_meta(meta, ag);
  WSRL__TRY(add_section(writer, prefix, "meta", meta, sizeof meta));

  /* The config as text ("key = value" lines), NUL excluded. */
  size_t need = 0;
  WSRL__TRY(wsrl_config_write_string(ag->config, NULL, 0, &need)); /* size query */
  char *text = wsrl__malloc(&ag->alloc, need + 1);
  if (text == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "agent checkpoint: allocating %zu bytes for the config", need + 1);
  wsrl_status_t st = wsrl_config_write_string(ag->config, text, need + 1, NULL);
  if (st == WSRL_OK)
    st = add_section(writer, prefix, "config", text, strlen(text));
  wsrl__free(&ag->alloc, text);
  WSRL__TRY(st);

  char full[NAME_CAP];
  section_name(full, prefix, "bounds");
  WSRL__TRY(wsrl__secwriter_begin(writer, full));
  WSRL__TRY(wsrl__secwriter_write_f32(writer, ag->act_low, (size_t)ag->act_dim));
  WSRL__TRY(wsrl__secwriter_write_f32(writer, ag->act_high, (size_t)ag->act_dim));
  WSRL__TRY(wsrl__secwriter_end(writer));

  blob_ref blobs[MAX_BLOBS];
  const int nb = collect_blobs(ag, blobs);
  for (int i = 0; i < nb; i++) {
    section_name(full, prefix, blobs[i].name);
    WSRL__TRY(wsrl__secwriter_begin(writer, full));
    WSRL__TRY(wsrl__secwriter_write_f32(writer, blobs[i].data, (size_t)blobs[i].count));
    WSRL__TRY(wsrl__secwriter_end(writer));
  }

  /* Adam step counters of the critics, the actor and the learner's own
   * network (0 without one). */
  uint8_t steps[24];
  const int64_t *aux_t = learner_adam_t(ag);
  wsrl__store_i64le(steps, *wsrl__mlp_adam_t(wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE)));
  wsrl__store_i64le(steps + 8, *wsrl__policy_adam_t(ag->pi));
  wsrl__store_i64le(steps + 16, aux_t != NULL ? *aux_t : 0);
  WSRL__TRY(add_section(writer, prefix, "adam_steps", steps, sizeof steps));

  uint8_t sc[2 * SCALAR_REC];
  wsrl__scalar *scalars[2];
  learner_scalars(ag, scalars);
  const wsrl__scalar none = {0};
  put_scalar(sc, scalars[0] != NULL ? scalars[0] : &none);
  put_scalar(sc + SCALAR_REC, scalars[1] != NULL ? scalars[1] : &none);
  WSRL__TRY(add_section(writer, prefix, "scalars", sc, sizeof sc));

  uint8_t rng[WSRL__AGENT_RNG_COUNT * 32];
  for (int32_t i = 0; i < WSRL__AGENT_RNG_COUNT; i++)
    for (int32_t j = 0; j < 4; j++)
      wsrl__store_u64le(rng + i * 32 + j * 8, ag->rng[i].s[j]);
  WSRL__TRY(add_section(writer, prefix, "rng", rng, sizeof rng));

  int64_t c[N_COUNTERS];
  uint8_t cb[N_COUNTERS * 8];
  counters_to_array(&ag->counters, c);
  for (int32_t i = 0; i < N_COUNTERS; i++)
    wsrl__store_i64le(cb + i * 8, c[i]);
  WSRL__TRY(add_section(writer, prefix, "counters", cb, sizeof cb));

  uint8_t mb[8 + WSRL__AGENT_MAX_METRICS * 8];
  memset(mb, 0, sizeof mb);
  wsrl__store_i32le(mb, ag->metric_count);
  for (int32_t i = 0; i < WSRL__AGENT_MAX_METRICS; i++)
    wsrl__store_f64le(mb + 8 + i * 8, ag->metrics[i]);
  return add_section(writer, prefix, "metrics", mb, sizeof mb);
}

static wsrl_status_t agent_sections(wsrl__secwriter *w, const void *agent) {
  return wsrl__agent_write_sections(agent, w, "");
}

static wsrl_status_t agent_save(const wsrl_agent_t *agent, const char *path) {
  return wsrl__section_file_save(path, WSRL__AGENT_CKPT_MAGIC, WSRL__AGENT_CKPT_VERSION, &agent->alloc,
                                 agent_sections, agent);
}

wsrl_status_t wsrl_agent_save(const wsrl_agent_t *agent, const char *path) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(path);
  WSRL__GUARDED(wsrl__agent_busy((wsrl_agent_t *)agent), WSRL__BUSY_READ, "agent", "wsrl_agent_save",
                agent_save(agent, path));
}

/* -------------------------------------------------------------------- load */

struct wsrl__agent_stage {
  int32_t phase;
  int nb;
  blob_ref dst[MAX_BLOBS]; /* where each array goes in the agent */
  float *data[MAX_BLOBS];  /* its staged contents */
  int64_t adam_t[3];
  wsrl__scalar temperature, lagrange; /* p, m, v, t only */
  wsrl__rng rng[WSRL__AGENT_RNG_COUNT];
  wsrl__agent_counters counters;
  int32_t metric_count;
  double metrics[WSRL__AGENT_MAX_METRICS];
};

void wsrl__agent_stage_free(const wsrl_agent_t *agent, wsrl__agent_stage *stage) {
  if (stage == NULL)
    return;
  for (int i = 0; i < stage->nb; i++)
    wsrl__free(&agent->alloc, stage->data[i]);
  wsrl__free(&agent->alloc, stage);
}

/* Read a small fixed-size section whole (CRC checked). */
static wsrl_status_t read_fixed(const wsrl__secreader *r, const char *prefix, const char *name, void *dst,
                                size_t size) {
  char full[NAME_CAP];
  const wsrl__section *s;
  section_name(full, prefix, name);
  WSRL__TRY(wsrl__secreader_require(r, full, (int64_t)size, &s));
  return wsrl__secreader_read_all(r, s, dst);
}

/* The config text of a checkpoint, parsed into a new config. */
static wsrl_status_t read_config(const wsrl__secreader *r, const char *prefix, const wsrl__alloc *alloc,
                                 wsrl_config_t **out) {
  char full[NAME_CAP];
  const wsrl__section *s;
  section_name(full, prefix, "config");
  WSRL__TRY(wsrl__secreader_require(r, full, -1, &s));
  if (s->size > ((uint64_t)1 << 24))
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': section '%s' is %llu bytes, more than a config can be", r->path, full,
                       (unsigned long long)s->size);
  char *text = wsrl__malloc(alloc, (size_t)s->size + 1);
  if (text == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': allocating the config text", r->path);
  wsrl_status_t st = wsrl__secreader_read_all(r, s, text);
  if (st == WSRL_OK) {
    text[s->size] = '\0';
    if (strlen(text) != (size_t)s->size)
      st = wsrl__error(WSRL_ERR_CORRUPT, "'%s': section '%s' holds a NUL byte", r->path, full);
  }
  if (st == WSRL_OK)
    st = wsrl_config_create(out);
  if (st == WSRL_OK) {
    st = wsrl_config_parse_string(*out, text);
    if (st != WSRL_OK) {
      wsrl_config_destroy(*out);
      *out = NULL;
      st = wsrl__error_wrap(WSRL_ERR_CORRUPT, "'%s': section '%s': ", r->path, full);
    }
  }
  wsrl__free(alloc, text);
  return st;
}

static int lists_equal(const wsrl__int_list *a, const wsrl__int_list *b) {
  if (a->n != b->n)
    return 0;
  for (int32_t i = 0; i < a->n; i++)
    if (a->v[i] != b->v[i])
      return 0;
  return 1;
}

static void list_text(const wsrl__int_list *l, char *buf, size_t cap) {
  size_t len = 0;
  buf[0] = '\0';
  for (int32_t i = 0; i < l->n && len < cap; i++)
    len += (size_t)snprintf(buf + len, cap - len, i ? ",%lld" : "%lld", (long long)l->v[i]);
}

/* Compare every key that shapes the saved state; name the first that differs. */
static wsrl_status_t check_compatible(const char *path, const wsrl_agent_t *ag, const wsrl_config_t *file_cfg) {
  const wsrl__config_values *f = wsrl__config_values_of(file_cfg), *a = &ag->cfg;
  static const char *const stds[] = {"exp", "uniform"};
#define CK_INT(field, key)                                                                                             \
  if (f->field != a->field)                                                                                            \
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,                                                                      \
                       "checkpoint '%s' is incompatible with this agent: " key " is %lld in the file but %lld here",   \
                       path, (long long)f->field, (long long)a->field);
#define CK_LIST(field, key)                                                                                            \
  if (!lists_equal(&f->field, &a->field)) {                                                                            \
    char x[128], y[128];                                                                                               \
    list_text(&f->field, x, sizeof x);                                                                                 \
    list_text(&a->field, y, sizeof y);                                                                                 \
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,                                                                      \
                       "checkpoint '%s' is incompatible with this agent: " key " is %s in the file but %s here", path, \
                       x, y);                                                                                          \
  }
  if (f->agent_algorithm != a->agent_algorithm)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "checkpoint '%s' is incompatible with this agent: agent.algorithm is %s in the file but %s here",
                       path, wsrl__learner_for(f->agent_algorithm)->name, wsrl__learner_for(a->agent_algorithm)->name);
  CK_INT(critic_ensemble_size, "critic.ensemble_size")
  CK_LIST(critic_hidden, "critic.hidden")
  CK_INT(critic_layer_norm, "critic.layer_norm")
  CK_LIST(actor_hidden, "actor.hidden")
  CK_INT(actor_layer_norm, "actor.layer_norm")
  if (f->actor_std_parameterization != a->actor_std_parameterization)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "checkpoint '%s' is incompatible with this agent: actor.std_parameterization is %s in the file "
                       "but %s here",
                       path, stds[f->actor_std_parameterization & 1], stds[a->actor_std_parameterization & 1]);
  CK_INT(actor_tanh_squash, "actor.tanh_squash")
#undef CK_INT
#undef CK_LIST
  return WSRL_OK;
}

static wsrl_status_t check_meta(const char *path, const wsrl_agent_t *ag, const uint8_t *m) {
  const uint32_t version = wsrl__load_u32le(m);
  if (version != META_VERSION)
    return wsrl__error(version > META_VERSION ? WSRL_ERR_VERSION_MISMATCH : WSRL_ERR_CORRUPT,
                       "'%s': agent meta version %u (this library reads %u)", path, (unsigned)version,
                       (unsigned)META_VERSION);
  const int32_t od = wsrl__load_i32le(m + 4), ad = wsrl__load_i32le(m + 8);
  if (od != ag->obs_dim)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "checkpoint '%s' is incompatible with this agent: obs_dim is %d in the file but %d here", path,
                       (int)od, (int)ag->obs_dim);
  if (ad != ag->act_dim)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "checkpoint '%s' is incompatible with this agent: act_dim is %d in the file but %d here", path,
                       (int)ad, (int)ag->act_dim);
  const int32_t phase = wsrl__load_i32le(m + 16);
  if (phase != WSRL_AGENT_OFFLINE && phase != WSRL_AGENT_ONLINE)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt agent meta: phase %d", path, (int)phase);
  return WSRL_OK;
}

/* Loaded state must be something training could have produced: finite
 * everywhere, Adam's second moments never negative (sqrt of one is NaN on the
 * next step), and weights within PARAM_ABS_MAX (lib/nn: the bound
 * wsrl_agent_set_params() applies too). A file breaking these is refused
 * before it is applied. */
#define PARAM_ABS_MAX WSRL__PARAM_ABS_MAX

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static wsrl_status_t check_blob(const char *path, const char *section, const blob_ref *dst, const float *x,
                                int64_t count) {
  const char *name = dst->name;
  const int second_moment = ends_with(name, "adam.v"), weights = !ends_with(name, "adam.m") && !second_moment;
  for (int64_t k = 0; k < count; k++) {
    if (!isfinite(x[k]))
      return wsrl__error(WSRL_ERR_NON_FINITE, "'%s': section '%s' element %lld is %g", path, section, (long long)k,
                         (double)x[k]);
    if (second_moment && x[k] < 0.0f)
      return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt at section '%s' element %lld: Adam second moment %g < 0",
                         path, section, (long long)k, (double)x[k]);
    if (weights && fabsf(x[k]) > PARAM_ABS_MAX)
      return wsrl__error(WSRL_ERR_CORRUPT,
                         "'%s': corrupt at section '%s' element %lld: parameter %g is beyond +-%g, out of any "
                         "trained network's range",
                         path, section, (long long)k, (double)x[k], (double)PARAM_ABS_MAX);
    if (dst->positive && !(x[k] > 0.0f))
      return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt at section '%s' element %lld: %g is not > 0 (a divisor)",
                         path, section, (long long)k, (double)x[k]);
  }
  return WSRL_OK;
}

static wsrl_status_t stage_blobs(const wsrl_agent_t *ag, const wsrl__secreader *r, const char *prefix,
                                 wsrl__agent_stage *stage) {
  stage->nb = collect_blobs(ag, stage->dst);
  for (int i = 0; i < stage->nb; i++) {
    char full[NAME_CAP];
    const wsrl__section *s;
    const int64_t count = stage->dst[i].count;
    section_name(full, prefix, stage->dst[i].name);
    WSRL__TRY(wsrl__secreader_require(r, full, count * 4, &s));
    stage->data[i] = wsrl__malloc(&ag->alloc, (size_t)count * sizeof(float));
    if (stage->data[i] == NULL)
      return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': allocating %lld bytes to stage section '%s'", r->path,
                         (long long)count * 4, full);
    WSRL__TRY(wsrl__secreader_read_all(r, s, stage->data[i]));
    wsrl__f32_swap_le(stage->data[i], (size_t)count);
    WSRL__TRY(check_blob(r->path, full, &stage->dst[i], stage->data[i], count));
  }
  return WSRL_OK;
}

wsrl_status_t wsrl__agent_stage_load(const wsrl_agent_t *agent, const wsrl__secreader *reader, const char *prefix,
                                     wsrl__agent_stage **stage_out) {
  WSRL__CHECK_NULL(stage_out);
  *stage_out = NULL;
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(reader);
  WSRL__CHECK_NULL(prefix);
  if (strlen(prefix) > WSRL__AGENT_PREFIX_MAX)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "agent checkpoint: section prefix '%s' is longer than %d", prefix,
                       WSRL__AGENT_PREFIX_MAX);
  const char *path = reader->path;
  uint8_t meta[META_SIZE];
  WSRL__TRY(read_fixed(reader, prefix, "meta", meta, sizeof meta));
  WSRL__TRY(check_meta(path, agent, meta));
  wsrl_config_t *fcfg = NULL;
  WSRL__TRY(read_config(reader, prefix, &agent->alloc, &fcfg));
  wsrl_status_t st = check_compatible(path, agent, fcfg);
  wsrl_config_destroy(fcfg);
  WSRL__TRY(st);
  /* Only now, with the algorithms known equal, is this the file's own fault
   * (an offline checkpoint loaded into a sac agent fails above, naming
   * agent.algorithm). */
  if (wsrl__load_i32le(meta + 16) == WSRL_AGENT_OFFLINE && (agent->offline->flags & WSRL__LEARNER_STARTS_ONLINE))
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt agent meta: an offline phase for a %s agent", path,
                       agent->offline->name);

  /* Bounds must match: the policy's actions mean something only in them. */
  const size_t A = (size_t)agent->act_dim;
  char full[NAME_CAP];
  const wsrl__section *sec;
  section_name(full, prefix, "bounds");
  WSRL__TRY(wsrl__secreader_require(reader, full, (int64_t)(2 * A * 4), &sec));
  float *bounds = wsrl__malloc(&agent->alloc, 2 * A * sizeof(float));
  if (bounds == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': allocating the bounds", path);
  st = wsrl__secreader_read_all(reader, sec, bounds);
  if (st == WSRL_OK) {
    wsrl__f32_swap_le(bounds, 2 * A);
    for (size_t i = 0; i < A && st == WSRL_OK; i++)
      if (memcmp(&bounds[i], &agent->act_low[i], 4) != 0 || memcmp(&bounds[A + i], &agent->act_high[i], 4) != 0)
        st = wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "checkpoint '%s' is incompatible with this agent: action bounds [%d] are [%g, %g] in the "
                         "file but [%g, %g] here",
                         path, (int)i, (double)bounds[i], (double)bounds[A + i], (double)agent->act_low[i],
                         (double)agent->act_high[i]);
  }
  wsrl__free(&agent->alloc, bounds);
  WSRL__TRY(st);

  wsrl__agent_stage *stage = wsrl__calloc(&agent->alloc, 1, sizeof *stage);
  if (stage == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': allocating the load stage", path);
  stage->phase = wsrl__load_i32le(meta + 16);
  st = stage_blobs(agent, reader, prefix, stage);

  uint8_t steps[24], sc[2 * SCALAR_REC], rng[WSRL__AGENT_RNG_COUNT * 32], cb[N_COUNTERS * 8],
      mb[8 + WSRL__AGENT_MAX_METRICS * 8];
  if (st == WSRL_OK)
    st = read_fixed(reader, prefix, "adam_steps", steps, sizeof steps);
  if (st == WSRL_OK)
    st = read_fixed(reader, prefix, "scalars", sc, sizeof sc);
  if (st == WSRL_OK)
    st = read_fixed(reader, prefix, "rng", rng, sizeof rng);
  if (st == WSRL_OK)
    st = read_fixed(reader, prefix, "counters", cb, sizeof cb);
  if (st == WSRL_OK)
    st = read_fixed(reader, prefix, "metrics", mb, sizeof mb);
  if (st == WSRL_OK) {
    for (int i = 0; i < 3; i++) {
      stage->adam_t[i] = wsrl__load_i64le(steps + 8 * i);
      if (stage->adam_t[i] < 0)
        st = wsrl__error(WSRL_ERR_CORRUPT, "'%s': negative Adam step count %lld", path, (long long)stage->adam_t[i]);
    }
    get_scalar(sc, &stage->temperature);
    get_scalar(sc + SCALAR_REC, &stage->lagrange);
    const wsrl__scalar *ss[2] = {&stage->temperature, &stage->lagrange};
    for (int i = 0; i < 2 && st == WSRL_OK; i++)
      if (!isfinite(ss[i]->p) || !isfinite(ss[i]->m) || !isfinite(ss[i]->v) || ss[i]->t < 0)
        st = wsrl__error(WSRL_ERR_NON_FINITE, "'%s': section 'scalars': the %s is not finite", path,
                         i == 0 ? "temperature" : "CQL multiplier");
      else if (ss[i]->v < 0 || fabsf(ss[i]->p) > PARAM_ABS_MAX)
        st = wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt at section 'scalars': the %s has %s", path,
                         i == 0 ? "temperature" : "CQL multiplier",
                         ss[i]->v < 0 ? "a negative Adam second moment" : "a parameter out of range");
    for (int32_t i = 0; i < WSRL__AGENT_RNG_COUNT; i++) {
      uint64_t any = 0;
      for (int32_t j = 0; j < 4; j++)
        any |= stage->rng[i].s[j] = wsrl__load_u64le(rng + i * 32 + j * 8);
      if (any == 0 && st == WSRL_OK) /* xoshiro's one forbidden state */
        st = wsrl__error(WSRL_ERR_CORRUPT, "'%s': section 'rng': stream %d is all zero", path, (int)i);
    }
    int64_t c[N_COUNTERS];
    for (int32_t i = 0; i < N_COUNTERS; i++)
      c[i] = wsrl__load_i64le(cb + i * 8);
    counters_from_array(&stage->counters, c);
    stage->metric_count = wsrl__load_i32le(mb);
    for (int32_t i = 0; i < WSRL__AGENT_MAX_METRICS; i++)
      stage->metrics[i] = wsrl__load_f64le(mb + 8 + i * 8);
  }
  if (st != WSRL_OK) {
    wsrl__agent_stage_free(agent, stage);
    return st;
  }
  *stage_out = stage;
  return WSRL_OK;
}

void wsrl__agent_stage_commit(wsrl_agent_t *ag, wsrl__agent_stage *stage) {
  /* The blob list of the stage was taken from this agent: same order and sizes. */
  for (int i = 0; i < stage->nb; i++) {
    memcpy(stage->dst[i].data, stage->data[i], (size_t)stage->dst[i].count * sizeof(float));
    if (stage->dst[i].owner != NULL)
      wsrl__mlp_params_written(stage->dst[i].owner);
  }
  *wsrl__mlp_adam_t(wsrl__qensemble_mlp(ag->q, WSRL__Q_ONLINE)) = stage->adam_t[0];
  *wsrl__policy_adam_t(ag->pi) = stage->adam_t[1];
  int64_t *aux_t = learner_adam_t(ag);
  if (aux_t != NULL)
    *aux_t = stage->adam_t[2];
  /* Only the learned state: the kind and Adam settings stay this agent's. */
  wsrl__scalar *dst[2];
  learner_scalars(ag, dst);
  const wsrl__scalar *src[2] = {&stage->temperature, &stage->lagrange};
  for (int i = 0; i < 2; i++) {
    if (dst[i] == NULL)
      continue;
    dst[i]->p = src[i]->p;
    dst[i]->m = src[i]->m;
    dst[i]->v = src[i]->v;
    dst[i]->t = src[i]->t;
  }
  memcpy(ag->rng, stage->rng, sizeof ag->rng);
  ag->counters = stage->counters;
  wsrl__agent_apply_phase(ag, stage->phase);
  if (stage->metric_count == ag->metric_count)
    memcpy(ag->metrics, stage->metrics, sizeof ag->metrics);
  wsrl__agent_stage_free(ag, stage);
  wsrl__agent_publish(ag);
}

/* Verify every section's checksum, including ones this version ignores. */
static wsrl_status_t verify_all(const wsrl__secreader *r) {
  for (uint32_t i = 0; i < r->count; i++)
    WSRL__TRY(wsrl__secreader_verify(r, &r->sections[i]));
  return WSRL_OK;
}

static wsrl_status_t agent_load(wsrl_agent_t *agent, const char *path) {
  wsrl__secreader r;
  WSRL__TRY(wsrl__secreader_open(&r, path, WSRL__AGENT_CKPT_MAGIC, WSRL__AGENT_CKPT_VERSION, &agent->alloc));
  wsrl__agent_stage *stage = NULL;
  wsrl_status_t st = verify_all(&r);
  if (st == WSRL_OK)
    st = wsrl__agent_stage_load(agent, &r, "", &stage);
  wsrl__secreader_close(&r);
  if (st != WSRL_OK)
    return st;
  wsrl__agent_stage_commit(agent, stage);
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_load(wsrl_agent_t *agent, const char *path) {
  WSRL__CHECK_NULL(agent);
  WSRL__CHECK_NULL(path);
  WSRL__GUARDED(wsrl__agent_busy(agent), WSRL__BUSY_WRITE, "agent", "wsrl_agent_load", agent_load(agent, path));
}

wsrl_status_t wsrl_agent_checkpoint_config(const char *path, wsrl_config_t **config_out) {
  WSRL__CHECK_NULL(config_out);
  *config_out = NULL;
  WSRL__CHECK_NULL(path);
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, NULL);
  wsrl__secreader r;
  WSRL__TRY(wsrl__secreader_open(&r, path, WSRL__AGENT_CKPT_MAGIC, WSRL__AGENT_CKPT_VERSION, &alloc));
  wsrl_status_t st = read_config(&r, "", &alloc, config_out);
  wsrl__secreader_close(&r);
  return st;
}

/* Weights of dense layers in -> hidden... -> out, times members: a lower
 * bound on a network's parameter count (biases, LayerNorm and padding come
 * on top). Computed in double so that no size can overflow. */
static double dense_weights(int64_t members, int64_t in, const wsrl__int_list *hidden, int64_t out) {
  double n = 0, prev = (double)in;
  for (int32_t i = 0; i < hidden->n; i++) {
    n += prev * (double)hidden->v[i];
    prev = (double)hidden->v[i];
  }
  return (double)members * (n + prev * (double)out);
}

/* A file's config decides how large the networks are: compare that with the
 * parameter sections the file really holds before building anything, so a
 * small crafted file cannot make us build (and orthogonally initialise) huge
 * networks before its arrays are found to be missing. */
static wsrl_status_t check_network_sizes(const wsrl__secreader *r, const wsrl_config_t *cfg, int32_t od, int32_t ad) {
  const wsrl__config_values *v = wsrl__config_values_of(cfg);
  const struct {
    const char *section, *key;
    double need;
  } nets[] = {
      {"critic.params", "critic.hidden", dense_weights(v->critic_ensemble_size, od + ad, &v->critic_hidden, 1)},
      {"actor.params", "actor.hidden", dense_weights(1, od, &v->actor_hidden, ad)},
  };
  for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
    const wsrl__section *s = wsrl__secreader_find(r, nets[i].section);
    const double have = s != NULL ? (double)(s->size / sizeof(float)) : 0;
    if (have < nets[i].need)
      return wsrl__error(WSRL_ERR_CORRUPT,
                         "'%s': corrupt: section '%s' holds %.0f parameters but the file's %s needs at least %.0f",
                         r->path, nets[i].section, have, nets[i].key, nets[i].need);
  }
  return WSRL_OK;
}

wsrl_status_t wsrl_agent_create_from_checkpoint(wsrl_agent_t **agent_out, const char *path,
                                                const wsrl_allocator_t *allocator) {
  WSRL__CHECK_NULL(agent_out);
  *agent_out = NULL;
  WSRL__CHECK_NULL(path);
  if (allocator != NULL)
    WSRL__TRY(wsrl__allocator_check(allocator, "wsrl_agent_create_from_checkpoint"));
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, allocator);
  wsrl__secreader r;
  WSRL__TRY(wsrl__secreader_open(&r, path, WSRL__AGENT_CKPT_MAGIC, WSRL__AGENT_CKPT_VERSION, &alloc));
  wsrl_config_t *cfg = NULL;
  float *bounds = NULL;
  uint8_t meta[META_SIZE];
  wsrl_status_t st = verify_all(&r);
  if (st == WSRL_OK)
    st = read_fixed(&r, "", "meta", meta, sizeof meta);
  if (st == WSRL_OK && wsrl__load_u32le(meta) != META_VERSION)
    st = wsrl__error(WSRL_ERR_VERSION_MISMATCH, "'%s': agent meta version %u (this library reads %u)", path,
                     (unsigned)wsrl__load_u32le(meta), (unsigned)META_VERSION);
  int32_t od = 0, ad = 0;
  if (st == WSRL_OK) {
    od = wsrl__load_i32le(meta + 4);
    ad = wsrl__load_i32le(meta + 8);
    if (od < 1 || ad < 1 || od > (1 << 24) || ad > (1 << 24))
      st = wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt agent meta: obs_dim %d, act_dim %d", path, (int)od, (int)ad);
  }
  if (st == WSRL_OK)
    st = read_config(&r, "", &alloc, &cfg);
  if (st == WSRL_OK)
    st = check_network_sizes(&r, cfg, od, ad);
  if (st == WSRL_OK && allocator != NULL)
    st = wsrl_config_set_allocator(cfg, allocator);
  if (st == WSRL_OK) {
    bounds = wsrl__malloc(&alloc, 2 * (size_t)ad * sizeof(float));
    if (bounds == NULL)
      st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': allocating the bounds", path);
  }
  if (st == WSRL_OK) {
    st = read_fixed(&r, "", "bounds", bounds, 2 * (size_t)ad * sizeof(float));
    wsrl__f32_swap_le(bounds, 2 * (size_t)ad);
  }
  wsrl_agent_t *ag = NULL;
  if (st == WSRL_OK) {
    wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
    spec.obs_dim = od;
    spec.act_dim = ad;
    spec.action_low = bounds;
    spec.action_high = bounds + ad;
    st = wsrl_agent_create(&ag, cfg, &spec);
  }
  wsrl__agent_stage *stage = NULL;
  if (st == WSRL_OK)
    st = wsrl__agent_stage_load(ag, &r, "", &stage);
  wsrl__secreader_close(&r);
  wsrl__free(&alloc, bounds);
  wsrl_config_destroy(cfg);
  if (st != WSRL_OK) {
    wsrl_agent_destroy(ag);
    return st;
  }
  wsrl__agent_stage_commit(ag, stage);
  *agent_out = ag;
  return WSRL_OK;
}
