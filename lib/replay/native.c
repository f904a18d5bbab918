/* The native replay file: the section container of lib/io with magic
 * "WSRLRPLY", format version 1, and the sections below (rows oldest first,
 * little-endian). Loading validates everything before touching the buffer.
 *
 *   meta               96 bytes, layout in write_meta()
 *   observations       count x obs_dim fp32
 *   actions            count x act_dim fp32
 *   rewards            count fp32 (stored, i.e. transformed, units)
 *   next_observations  count x obs_dim fp32
 *   flags              count bytes: bit 0 terminated, bit 1 truncated
 *   mc_returns         count fp32
 */
#include <float.h>
#include <math.h>

#include "replay_internal.h"

#define MAGIC "WSRLRPLY"
#define FORMAT_VERSION 1u
#define META_SIZE 96

enum { S_META, S_OBS, S_ACT, S_REW, S_NEXT, S_FLAGS, S_MC, S_COUNT };
static const char *const section_names[S_COUNT] = {"meta",  "observations", "actions",   "rewards",
                                                   "next_observations", "flags", "mc_returns"};

typedef struct meta {
  int32_t obs_dim, act_dim;
  int64_t count, episodes, open_len, capacity;
  double discount, reward_scale, reward_bias, action_clip, mc_sparse_reward;
  int32_t mc_sparse, open_all_sparse;
} meta;

/* Field offsets inside the meta section (documented in docs/datasets.md). */
enum {
  M_OBS_DIM = 0, M_ACT_DIM = 4, M_COUNT = 8, M_EPISODES = 16, M_OPEN_LEN = 24, M_DISCOUNT = 32,
  M_SCALE = 40, M_BIAS = 48, M_CLIP = 56, M_SPARSE_REWARD = 64, M_SPARSE = 72, M_OPEN_SPARSE = 76,
  M_CAPACITY = 80, M_RESERVED = 88
};

static wsrl_status_t section_name(char out[WSRL__SECTION_NAME_MAX + 1], const char *prefix, int which) {
  if (strlen(prefix) > WSRL__REPLAY_PREFIX_MAX)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "replay section prefix '%s' is longer than %d characters", prefix,
                       WSRL__REPLAY_PREFIX_MAX);
  snprintf(out, WSRL__SECTION_NAME_MAX + 1, "%s%s", prefix, section_names[which]);
  return WSRL_OK;
}

/* ---- writing ---- */

static void write_meta(const wsrl_replay_t *r, uint8_t m[META_SIZE]) {
  memset(m, 0, META_SIZE);
  wsrl__store_i32le(m + M_OBS_DIM, r->obs_dim);
  wsrl__store_i32le(m + M_ACT_DIM, r->act_dim);
  wsrl__store_i64le(m + M_COUNT, r->size);
  wsrl__store_i64le(m + M_EPISODES, r->closed);
  wsrl__store_i64le(m + M_OPEN_LEN, r->open_len);
  wsrl__store_f64le(m + M_DISCOUNT, r->opt.discount);
  wsrl__store_f64le(m + M_SCALE, r->opt.reward_scale);
  wsrl__store_f64le(m + M_BIAS, r->opt.reward_bias);
  wsrl__store_f64le(m + M_CLIP, r->opt.action_clip);
  wsrl__store_f64le(m + M_SPARSE_REWARD, r->opt.mc_sparse_reward);
  wsrl__store_i32le(m + M_SPARSE, r->opt.mc_sparse);
  wsrl__store_i32le(m + M_OPEN_SPARSE, r->open_all_sparse);
  wsrl__store_i64le(m + M_CAPACITY, r->capacity);
}

/* One ring array (dim values per row; dim 0 means the byte flags) in logical order. */
static wsrl_status_t write_ring(wsrl__secwriter *w, const wsrl_replay_t *r, const void *base, int32_t dim) {
  int64_t start = wsrl__replay_slot(r, 0);
  int64_t first = r->size < r->capacity - start ? r->size : r->capacity - start;
  int64_t spans[2][2] = {{start, first}, {0, r->size - first}};
  for (int k = 0; k < 2; k++) {
    int64_t s = spans[k][0], n = spans[k][1];
    if (n == 0)
      continue;
    if (dim == 0)
      WSRL__TRY(wsrl__secwriter_write(w, (const uint8_t *)base + s, (size_t)n));
    else
      WSRL__TRY(wsrl__secwriter_write_f32(w, (const float *)base + s * dim, (size_t)(n * dim)));
  }
  return WSRL_OK;
}

wsrl_status_t wsrl__replay_write_sections(const wsrl_replay_t *r, wsrl__secwriter *w, const char *prefix) {
  char name[WSRL__SECTION_NAME_MAX + 1];
  uint8_t m[META_SIZE];
  write_meta(r, m);
  WSRL__TRY(section_name(name, prefix, S_META));
  WSRL__TRY(wsrl__secwriter_add(w, name, m, sizeof m));
  const void *bases[S_COUNT] = {NULL, r->obs, r->action, r->reward, r->next_obs, r->flags, r->mc_return};
  const int32_t dims[S_COUNT] = {0, r->obs_dim, r->act_dim, 1, r->obs_dim, 0, 1};
  for (int k = S_OBS; k < S_COUNT; k++) {
    WSRL__TRY(section_name(name, prefix, k));
    WSRL__TRY(wsrl__secwriter_begin(w, name));
    WSRL__TRY(write_ring(w, r, bases[k], dims[k]));
    WSRL__TRY(wsrl__secwriter_end(w));
  }
  return WSRL_OK;
}

static wsrl_status_t replay_sections(wsrl__secwriter *w, const void *replay) {
  return wsrl__replay_write_sections(replay, w, "");
}

static wsrl_status_t replay_save_impl(const wsrl_replay_t *replay, const char *path) {
  return wsrl__section_file_save(path, MAGIC, FORMAT_VERSION, &replay->alloc, replay_sections, replay);
}

wsrl_status_t wsrl_replay_save(const wsrl_replay_t *replay, const char *path) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(path);
  WSRL__GUARDED(wsrl__replay_busy((wsrl_replay_t *)replay), WSRL__BUSY_READ, "replay buffer", "wsrl_replay_save", replay_save_impl(replay, path));
}

/* ---- reading ---- */

static wsrl_status_t read_meta(const wsrl__secreader *rd, const char *prefix, meta *m, uint64_t *at_out) {
  char name[WSRL__SECTION_NAME_MAX + 1];
  const wsrl__section *s;
  uint8_t b[META_SIZE];
  WSRL__TRY(section_name(name, prefix, S_META));
  WSRL__TRY(wsrl__secreader_require(rd, name, META_SIZE, &s));
  WSRL__TRY(wsrl__secreader_read_all(rd, s, b));
  uint64_t at = s->offset;
  *at_out = at;
  m->obs_dim = wsrl__load_i32le(b + M_OBS_DIM);
  m->act_dim = wsrl__load_i32le(b + M_ACT_DIM);
  m->count = wsrl__load_i64le(b + M_COUNT);
  m->episodes = wsrl__load_i64le(b + M_EPISODES);
  m->open_len = wsrl__load_i64le(b + M_OPEN_LEN);
  m->discount = wsrl__load_f64le(b + M_DISCOUNT);
  m->reward_scale = wsrl__load_f64le(b + M_SCALE);
  m->reward_bias = wsrl__load_f64le(b + M_BIAS);
  m->action_clip = wsrl__load_f64le(b + M_CLIP);
  m->mc_sparse_reward = wsrl__load_f64le(b + M_SPARSE_REWARD);
  m->mc_sparse = wsrl__load_i32le(b + M_SPARSE);
  m->open_all_sparse = wsrl__load_i32le(b + M_OPEN_SPARSE);
  m->capacity = wsrl__load_i64le(b + M_CAPACITY);
  const char *p = rd->path;
  if (m->obs_dim < 1)
    return wsrl__io_corrupt(p, at + M_OBS_DIM, "meta.obs_dim", "%d, expected >= 1", m->obs_dim);
  if (m->act_dim < 1)
    return wsrl__io_corrupt(p, at + M_ACT_DIM, "meta.act_dim", "%d, expected >= 1", m->act_dim);
  if (m->count < 0 || m->capacity < m->count)
    return wsrl__io_corrupt(p, at + M_COUNT, "meta.count", "%lld with capacity %lld",
                            (long long)m->count, (long long)m->capacity);
  if (m->episodes < 0 || m->episodes > m->count)
    return wsrl__io_corrupt(p, at + M_EPISODES, "meta.episodes", "%lld with %lld transitions",
                            (long long)m->episodes, (long long)m->count);
  if (m->open_len < 0 || m->open_len > m->count)
    return wsrl__io_corrupt(p, at + M_OPEN_LEN, "meta.open_len", "%lld with %lld transitions",
                            (long long)m->open_len, (long long)m->count);
  if (!(m->discount >= 0 && m->discount <= 1))
    return wsrl__io_corrupt(p, at + M_DISCOUNT, "meta.discount", "%g is not in [0, 1]", m->discount);
  if (!isfinite(m->reward_scale) || !isfinite(m->reward_bias) || !(m->action_clip >= 0 && isfinite(m->action_clip)) ||
      !isfinite(m->mc_sparse_reward))
    return wsrl__io_corrupt(p, at + M_SCALE, "meta.reward_scale..mc_sparse_reward", "a value is not finite or negative");
  if ((m->mc_sparse != 0 && m->mc_sparse != 1) || (m->mc_sparse && m->discount >= 1))
    return wsrl__io_corrupt(p, at + M_SPARSE, "meta.mc_sparse", "%d with discount %g", m->mc_sparse, m->discount);
  if (m->open_all_sparse != 0 && m->open_all_sparse != 1)
    return wsrl__io_corrupt(p, at + M_OPEN_SPARSE, "meta.open_all_sparse", "%d, expected 0 or 1", m->open_all_sparse);
  for (int i = M_RESERVED; i < META_SIZE; i++)
    if (b[i] != 0)
      return wsrl__io_corrupt(p, at + (uint64_t)i, "meta.reserved", "byte 0x%02x, expected 0", b[i]);
  return WSRL_OK;
}

/* Pass 1 over a float section: checksum and non-finite values, a chunk of
 * rows at a time. keep (count bytes, 1 = keep) is allocated on the first
 * non-finite value when the policy is DROP. */
/* limit: largest |value| allowed (the reward limit for rewards, FLT_MAX else);
 * a finite value beyond it is an error whatever the non-finite policy. */
static wsrl_status_t scan_f32(wsrl_replay_t *r, const wsrl__secreader *rd, const wsrl__section *s, int64_t count,
                              int32_t dim, float limit, uint8_t **keep, int64_t *bad_rows) {
  size_t row_bytes = (size_t)dim * sizeof(float);
  int64_t chunk_rows = (int64_t)((1u << 20) / row_bytes);
  if (chunk_rows < 1)
    chunk_rows = 1;
  if (chunk_rows > count)
    chunk_rows = count > 0 ? count : 1;
  float *buf = wsrl__malloc(&r->alloc, (size_t)chunk_rows * row_bytes);
  if (buf == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate a read buffer", rd->path);
  uint32_t crc = 0;
  wsrl_status_t st = WSRL_OK;
  for (int64_t row = 0; row < count && st == WSRL_OK;) {
    int64_t k = count - row < chunk_rows ? count - row : chunk_rows;
    st = wsrl__secreader_read(rd, s, (uint64_t)row * row_bytes, buf, (size_t)k * row_bytes);
    if (st != WSRL_OK)
      break;
    crc = wsrl__crc32(crc, buf, (size_t)k * row_bytes);
    wsrl__f32_swap_le(buf, (size_t)(k * dim));
    for (int64_t i = 0; i < k && st == WSRL_OK; i++) {
      const float *x = buf + i * dim;
      for (int32_t j = 0; j < dim; j++) {
        if (fabsf(x[j]) <= limit)
          continue;
        if (isfinite(x[j])) {
          st = wsrl__error(WSRL_ERR_NON_FINITE,
                           "'%s': section '%s' row %lld is %g, beyond %g, past which a discounted return "
                           "(this buffer's discount %g) overflows float",
                           rd->path, s->name, (long long)(row + i), (double)x[j], (double)limit, r->opt.discount);
          break;
        }
        if (r->opt.nonfinite == WSRL_REPLAY_NONFINITE_ERROR) {
          st = wsrl__error(WSRL_ERR_NON_FINITE, "'%s': section '%s' row %lld element %d is %g", rd->path, s->name,
                           (long long)(row + i), j, (double)x[j]);
          break;
        }
        if (*keep == NULL) {
          *keep = wsrl__malloc(&r->alloc, (size_t)count);
          if (*keep == NULL) {
            st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate the row mask", rd->path);
            break;
          }
          memset(*keep, 1, (size_t)count);
        }
        if ((*keep)[row + i]) {
          (*keep)[row + i] = 0;
          (*bad_rows)++;
        }
        break;
      }
    }
    row += k;
  }
  wsrl__free(&r->alloc, buf);
  if (st == WSRL_OK && crc != s->crc)
    st = wsrl__io_corrupt(rd->path, s->offset, s->name, "checksum 0x%08x, the table says 0x%08x", crc, s->crc);
  return st;
}

/* Pass 1 over the flags: checksum, valid bits, and agreement with the meta counters. */
static wsrl_status_t scan_flags(const wsrl__secreader *rd, const wsrl__section *s, const meta *m,
                                uint64_t meta_at) {
  uint8_t buf[4096];
  uint32_t crc = 0;
  int64_t ends = 0, last_end = -1;
  for (int64_t row = 0; row < m->count;) {
    int64_t k = m->count - row < (int64_t)sizeof buf ? m->count - row : (int64_t)sizeof buf;
    WSRL__TRY(wsrl__secreader_read(rd, s, (uint64_t)row, buf, (size_t)k));
    crc = wsrl__crc32(crc, buf, (size_t)k);
    for (int64_t i = 0; i < k; i++) {
      if (buf[i] & ~WSRL__REPLAY_END)
        return wsrl__io_corrupt(rd->path, s->offset + (uint64_t)(row + i), s->name, "row %lld has flag bits 0x%02x",
                                (long long)(row + i), buf[i]);
      if (buf[i] & WSRL__REPLAY_END) {
        ends++;
        last_end = row + i;
      }
    }
    row += k;
  }
  if (crc != s->crc)
    return wsrl__io_corrupt(rd->path, s->offset, s->name, "checksum 0x%08x, the table says 0x%08x", crc, s->crc);
  if (ends != m->episodes)
    return wsrl__io_corrupt(rd->path, meta_at + M_EPISODES, "meta.episodes", "%lld, but the flags close %lld",
                            (long long)m->episodes, (long long)ends);
  if (m->count - 1 - last_end != m->open_len)
    return wsrl__io_corrupt(rd->path, meta_at + M_OPEN_LEN, "meta.open_len", "%lld, but %lld rows follow the last end",
                            (long long)m->open_len, (long long)(m->count - 1 - last_end));
  return WSRL_OK;
}

/* Drop the rows whose keep byte is 0, keeping order; the kept row before a
 * dropped one ends its episode (truncated). Returns the rows kept. */
static int64_t compact(wsrl_replay_t *r, const uint8_t *keep, int64_t count) {
  int32_t O = r->obs_dim, A = r->act_dim;
  int64_t w = 0;
  for (int64_t i = 0; i < count; i++) {
    if (!keep[i]) {
      if (w > 0 && !(r->flags[w - 1] & WSRL__REPLAY_END))
        r->flags[w - 1] |= WSRL__REPLAY_TRUNCATED;
      continue;
    }
    if (w != i) {
      memcpy(r->obs + w * O, r->obs + i * O, (size_t)O * sizeof(float));
      memcpy(r->next_obs + w * O, r->next_obs + i * O, (size_t)O * sizeof(float));
      memcpy(r->action + w * A, r->action + i * A, (size_t)A * sizeof(float));
      r->reward[w] = r->reward[i];
      r->mc_return[w] = r->mc_return[i];
      r->flags[w] = r->flags[i];
    }
    w++;
  }
  return w;
}

wsrl_status_t wsrl__replay_read_sections(wsrl_replay_t *r, const wsrl__secreader *rd, const char *prefix,
                                         wsrl_replay_report_t *report) {
  WSRL__CHECK_NULL(r);
  WSRL__CHECK_NULL(rd);
  WSRL__CHECK_NULL(prefix);
  WSRL__TRY(wsrl__replay_report_check(report, __func__));
  meta m;
  uint64_t meta_at = 0;
  WSRL__TRY(read_meta(rd, prefix, &m, &meta_at));
  if (m.obs_dim != r->obs_dim || m.act_dim != r->act_dim)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "'%s' holds obs_dim %d, act_dim %d; the buffer has obs_dim %d, act_dim %d",
                       rd->path, m.obs_dim, m.act_dim, r->obs_dim, r->act_dim);
  if (m.count > r->capacity)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "'%s' holds %lld transitions; the buffer's capacity is %lld",
                       rd->path, (long long)m.count, (long long)r->capacity);

  /* Every section present with its exact size. */
  const wsrl__section *sec[S_COUNT];
  const int32_t dims[S_COUNT] = {0, m.obs_dim, m.act_dim, 1, m.obs_dim, 0, 1};
  for (int k = S_OBS; k < S_COUNT; k++) {
    char name[WSRL__SECTION_NAME_MAX + 1];
    WSRL__TRY(section_name(name, prefix, k));
    int64_t bytes = k == S_FLAGS ? m.count : m.count * dims[k] * (int64_t)sizeof(float);
    WSRL__TRY(wsrl__secreader_require(rd, name, bytes, &sec[k]));
  }

  /* Pass 1: checksums, flags, non-finite values. The buffer is not touched. */
  uint8_t *keep = NULL;
  int64_t bad = 0;
  wsrl_status_t st = scan_flags(rd, sec[S_FLAGS], &m, meta_at);
  for (int k = S_OBS; k < S_COUNT && st == WSRL_OK; k++)
    if (k != S_FLAGS)
      st = scan_f32(r, rd, sec[k], m.count, dims[k], k == S_REW ? wsrl__replay_reward_limit(r) : FLT_MAX, &keep,
                    &bad);

  /* Pass 2: read straight into the arrays (rows 0..count-1), checksums again
   * in case the file changed in between. */
  if (st == WSRL_OK) {
    wsrl__replay_reset(r);
    float *arrays[S_COUNT] = {NULL, r->obs, r->action, r->reward, r->next_obs, NULL, r->mc_return};
    for (int k = S_OBS; k < S_COUNT && st == WSRL_OK; k++) {
      void *dst = k == S_FLAGS ? (void *)r->flags : (void *)arrays[k];
      st = wsrl__secreader_read_all(rd, sec[k], dst);
      if (k != S_FLAGS)
        wsrl__f32_swap_le(arrays[k], (size_t)(m.count * dims[k]));
    }
    if (st != WSRL_OK)
      wsrl__replay_reset(r);
  }
  if (st != WSRL_OK) {
    wsrl__free(&r->alloc, keep);
    return st;
  }

  int64_t n = keep ? compact(r, keep, m.count) : m.count;
  wsrl__free(&r->alloc, keep);
  wsrl__replay_set_rows(r, n);
  int same = m.discount == r->opt.discount && m.mc_sparse == r->opt.mc_sparse &&
             (!m.mc_sparse || (float)((double)(float)m.mc_sparse_reward * m.reward_scale + m.reward_bias) ==
                                  r->sparse_reward);
  wsrl_replay_report_t full = WSRL_REPLAY_REPORT_INIT;
  if (bad > 0 || !same) {
    wsrl__replay_rebuild(r);
    full.mc_recomputed = 1;
  } else {
    r->closed = m.episodes;
    r->open_len = m.open_len;
    r->open_all_sparse = m.open_all_sparse;
  }
  if (m.reward_scale != r->opt.reward_scale || m.reward_bias != r->opt.reward_bias ||
      m.action_clip != r->opt.action_clip)
    wsrl__log(WSRL_LOG_WARN,
              "'%s' was saved with reward scale %g, bias %g, action clip %g; this buffer transforms new data with "
              "%g, %g, %g", rd->path, m.reward_scale, m.reward_bias, m.action_clip, r->opt.reward_scale,
              r->opt.reward_bias, r->opt.action_clip);
  full.rows = m.count;
  full.loaded = n;
  full.dropped_nonfinite = bad;
  full.episodes = r->closed;
  wsrl__replay_report_out(report, &full);
  return WSRL_OK;
}

static wsrl_status_t replay_load_impl(wsrl_replay_t *replay, const char *path, wsrl_replay_report_t *report_out) {
  WSRL__TRY(wsrl__replay_report_check(report_out, "wsrl_replay_load")); /* before the file is opened */
  wsrl__secreader rd;
  WSRL__TRY(wsrl__secreader_open(&rd, path, MAGIC, FORMAT_VERSION, &replay->alloc));
  wsrl_status_t st = wsrl__replay_read_sections(replay, &rd, "", report_out);
  wsrl__secreader_close(&rd);
  return st;
}

wsrl_status_t wsrl_replay_load(wsrl_replay_t *replay, const char *path, wsrl_replay_report_t *report_out) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(path);
  WSRL__GUARDED(wsrl__replay_busy(replay), WSRL__BUSY_WRITE, "replay buffer", "wsrl_replay_load", replay_load_impl(replay, path, report_out));
}

wsrl_status_t wsrl_replay_file_info(const char *path, int32_t *obs_dim_out, int32_t *act_dim_out, int64_t *count_out) {
  WSRL__CHECK_NULL(path);
  wsrl__secreader rd;
  WSRL__TRY(wsrl__secreader_open(&rd, path, MAGIC, FORMAT_VERSION, NULL));
  meta m;
  uint64_t at;
  wsrl_status_t st = read_meta(&rd, "", &m, &at);
  wsrl__secreader_close(&rd);
  if (st != WSRL_OK)
    return st;
  if (obs_dim_out)
    *obs_dim_out = m.obs_dim;
  if (act_dim_out)
    *act_dim_out = m.act_dim;
  if (count_out)
    *count_out = m.count;
  return WSRL_OK;
}
