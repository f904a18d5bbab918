/* D4RL-format HDF5 import and export through the HDF5 C API. Without HDF5
 * (-Dhdf5=disabled) the same calls validate nothing and return
 * WSRL_ERR_UNSUPPORTED, so hosts can probe for the feature.
 *
 * Import follows D4RL's qlearning_dataset() (d4rl/__init__.py) when the file
 * has no next_observations: for i in [0, N-1): next_obs = observations[i+1];
 * a row whose timeout is set is skipped; the episode-step counter used when
 * `timeouts` is absent reproduces D4RL's (including its reset-to-1 after a
 * terminal). With next_observations every row is kept and a timeout becomes
 * `truncated`. Either way the kept row before a dropped one, and the last
 * kept row, are closed as truncated so that episodes and MC returns are right. */
#include <errno.h>
#include <math.h>

#include "replay_internal.h"
#include "wsrl_build_config.h"

void wsrl__replay_warn_units(const char *fn, const char *path, const wsrl__replay_bounds *b) {
  if (!b->given && b->outside > 0)
    wsrl__log(WSRL_LOG_WARN,
              "%s: '%s': %lld action values lie outside [-1, 1] (largest |a| = %g): the library's actions are in "
              "[-1, 1] units; if the file holds the environment's units, import it with "
              "wsrl_replay_import_hdf5_bounded() and the env's action bounds",
              fn, path, (long long)b->outside, (double)b->worst);
}

#if !WSRL_HAVE_HDF5

static wsrl_status_t unsupported(const char *fn) {
  return wsrl__error(WSRL_ERR_UNSUPPORTED, "%s: libwsrl was built without HDF5 (configure with -Dhdf5=enabled)", fn);
}

wsrl_status_t wsrl__replay_import_hdf5(wsrl_replay_t *replay, const char *path, wsrl__replay_bounds *bounds,
                                       wsrl_replay_report_t *report_out, const char *fn) {
  (void)replay, (void)path, (void)bounds, (void)report_out;
  return unsupported(fn);
}

wsrl_status_t wsrl_replay_import_hdf5(wsrl_replay_t *replay, const char *path, wsrl_replay_report_t *report_out) {
  (void)replay, (void)path, (void)report_out;
  return unsupported(__func__);
}

wsrl_status_t wsrl_replay_import_hdf5_bounded(wsrl_replay_t *replay, const char *path, const float *action_low,
                                              const float *action_high, uint32_t flags,
                                              wsrl_replay_report_t *report_out) {
  (void)replay, (void)path, (void)action_low, (void)action_high, (void)flags, (void)report_out;
  return unsupported(__func__);
}

wsrl_status_t wsrl_replay_export_hdf5(const wsrl_replay_t *replay, const char *path) {
  (void)replay, (void)path;
  return unsupported(__func__);
}

wsrl_status_t wsrl_replay_hdf5_info(const char *path, int32_t *obs_dim_out, int32_t *act_dim_out, int64_t *rows_out) {
  (void)path, (void)obs_dim_out, (void)act_dim_out, (void)rows_out;
  return unsupported(__func__);
}

#else

#include <hdf5.h>

#define CHUNK_ROWS 65536           /* flag rows read at a time */
#define CHUNK_BYTES (4u << 20)      /* data read at a time: rows scale with the row size */

/* HDF5 prints its error stack to stderr by default: silence it around our
 * calls and restore the host's setting afterwards. */
typedef struct quiet {
  H5E_auto2_t fn;
  void *data;
} quiet;

static void quiet_begin(quiet *q) {
  H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_end(const quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }

/* One dataset of the file. */
typedef struct col {
  const char *key;
  hid_t dset; /* < 0 when absent */
  int rank;
  int64_t rows, cols;
  H5T_class_t cls;
} col;

static void col_close(col *c) {
  if (c->dset >= 0)
    H5Dclose(c->dset);
  c->dset = -1;
}

/* Every chunk of a chunked dataset is stored (compressed chunks make
 * H5Dget_space_status() say "partly allocated", so count them instead). */
static int all_chunks_stored(const col *c, hid_t dcpl, const hsize_t dims[2]) {
  hsize_t chunk[2] = {1, 1}, stored = 0;
  if (H5Pget_chunk(dcpl, c->rank, chunk) != c->rank || chunk[0] == 0 || (c->rank == 2 && chunk[1] == 0))
    return 0;
  hsize_t want = (dims[0] + chunk[0] - 1) / chunk[0];
  if (c->rank == 2)
    want *= (dims[1] + chunk[1] - 1) / chunk[1];
  hid_t space = H5Dget_space(c->dset);
  herr_t rc = space >= 0 ? H5Dget_num_chunks(c->dset, space, &stored) : -1;
  if (space >= 0)
    H5Sclose(space);
  return rc >= 0 && stored == want;
}

/* Raw data kept in other files (external storage, virtual datasets) would
 * make an import read whatever local file the dataset names; a dataset can
 * also declare rows it never stored (reads then return fill values, billions
 * of them from a 2 KB file). Both are refused before any read. */
static wsrl_status_t check_storage(const col *c, const char *path, const hsize_t dims[2]) {
  hid_t dcpl = H5Dget_create_plist(c->dset);
  if (dcpl < 0)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' has no readable creation properties", path,
                       c->key);
  const int external = H5Pget_external_count(dcpl);
  const H5D_layout_t layout = H5Pget_layout(dcpl);
  H5D_space_status_t space = H5D_SPACE_STATUS_ERROR;
  int stored = c->rows == 0;
  if (!stored && layout == H5D_CHUNKED)
    stored = all_chunks_stored(c, dcpl, dims);
  else if (!stored && (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT))
    stored = H5Dget_space_status(c->dset, &space) >= 0 && space == H5D_SPACE_STATUS_ALLOCATED;
  H5Pclose(dcpl);
  if (external != 0 || layout == H5D_VIRTUAL || layout == H5D_LAYOUT_ERROR)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': refused: dataset '%s' keeps its data outside the file (%s)", path,
                       c->key, external != 0 ? "external raw storage" : layout == H5D_VIRTUAL ? "a virtual dataset"
                                                                                               : "unknown layout");
  if (!stored)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' declares %lld rows but does not store them all",
                       path, c->key, (long long)c->rows);
  return WSRL_OK;
}

static wsrl_status_t col_open(hid_t file, const char *path, const char *key, int required, col *c) {
  memset(c, 0, sizeof *c);
  c->key = key;
  c->dset = -1;
  if (H5Lexists(file, key, H5P_DEFAULT) <= 0)
    return required ? wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' is missing (a D4RL file has "
                                  "observations, actions, rewards, terminals)", path, key)
                    : WSRL_OK;
  /* A soft or external link could point anywhere, a file outside this one
   * included: only datasets stored in the file itself are read. */
  H5L_info_t link;
  if (H5Lget_info(file, key, &link, H5P_DEFAULT) < 0 || link.type != H5L_TYPE_HARD)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': refused: '%s' is a soft, external or user-defined link, not a dataset "
                       "stored in the file", path, key);
  c->dset = H5Dopen2(file, key, H5P_DEFAULT);
  if (c->dset < 0)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: '%s' is not a readable dataset", path, key);
  hid_t space = H5Dget_space(c->dset);
  hid_t type = H5Dget_type(c->dset);
  c->rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  hsize_t dims[2] = {0, 1};
  if (c->rank == 1 || c->rank == 2)
    H5Sget_simple_extent_dims(space, dims, NULL);
  c->cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  if (space >= 0)
    H5Sclose(space);
  if (type >= 0)
    H5Tclose(type);
  if (c->rank != 1 && c->rank != 2)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' has rank %d, expected 1 or 2", path, key,
                       c->rank);
  if (dims[0] > (hsize_t)INT64_MAX || dims[1] > (hsize_t)INT32_MAX)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' is too large", path, key);
  c->rows = (int64_t)dims[0];
  c->cols = c->rank == 2 ? (int64_t)dims[1] : 1;
  return check_storage(c, path, dims);
}

/* Read rows [first, first + n) of a dataset converted to memtype. */
static wsrl_status_t col_read(const col *c, const char *path, hid_t memtype, int64_t first, int64_t n, void *dst) {
  hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, (hsize_t)c->cols};
  hid_t fspace = H5Dget_space(c->dset);
  hid_t mspace = H5Screate_simple(c->rank, count, NULL);
  herr_t rc = -1;
  if (fspace >= 0 && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
    rc = H5Dread(c->dset, memtype, mspace, fspace, H5P_DEFAULT, dst);
  if (fspace >= 0)
    H5Sclose(fspace);
  if (mspace >= 0)
    H5Sclose(mspace);
  if (rc < 0)
    return wsrl__error(WSRL_ERR_IO, "'%s': cannot read rows %lld..%lld of dataset '%s'", path, (long long)first,
                       (long long)(first + n), c->key);
  return WSRL_OK;
}

/* A flag column (bool enum as h5py writes it, integer or float) as bytes 0/1. */
static wsrl_status_t read_flags(const col *c, const char *path, const wsrl__alloc *a, uint8_t *out) {
  if (c->cls != H5T_ENUM && c->cls != H5T_INTEGER && c->cls != H5T_FLOAT)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' is not boolean, integer or float", path, c->key);
  if (c->cols != 1)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' has %lld columns, expected 1", path, c->key,
                       (long long)c->cols);
  hid_t ftype = H5Dget_type(c->dset);
  /* An enum converts only to an enum: read it as its own native type and look at the integer. */
  hid_t mtype = c->cls == H5T_ENUM ? H5Tget_native_type(ftype, H5T_DIR_ASCEND) : H5Tcopy(H5T_NATIVE_DOUBLE);
  size_t esize = mtype >= 0 ? H5Tget_size(mtype) : 0;
  H5Tclose(ftype);
  if (mtype < 0 || esize == 0 || esize > 8) {
    if (mtype >= 0)
      H5Tclose(mtype);
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' has an unsupported element type", path, c->key);
  }
  uint8_t *buf = wsrl__malloc(a, (size_t)CHUNK_ROWS * esize);
  wsrl_status_t st = buf ? WSRL_OK : wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate a read buffer", path);
  for (int64_t row = 0; row < c->rows && st == WSRL_OK; row += CHUNK_ROWS) {
    int64_t k = c->rows - row < CHUNK_ROWS ? c->rows - row : CHUNK_ROWS;
    st = col_read(c, path, mtype, row, k, buf);
    for (int64_t i = 0; i < k && st == WSRL_OK; i++) {
      if (c->cls == H5T_ENUM) {
        uint64_t v = 0; /* any non-zero byte of the integer means true, whatever its width and sign */
        for (size_t b = 0; b < esize; b++)
          v |= buf[(size_t)i * esize + b];
        out[row + i] = v != 0;
      } else {
        double v;
        memcpy(&v, buf + (size_t)i * 8, 8);
        if (isnan(v))
          st = wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' row %lld is NaN", path, c->key,
                           (long long)(row + i));
        out[row + i] = v != 0;
      }
    }
  }
  wsrl__free(a, buf);
  H5Tclose(mtype);
  return st;
}

/* The datasets of one D4RL file and the plan of what to keep. */
typedef struct d4rl {
  const char *path;
  hid_t file;
  col obs, act, rew, term, tout, next;
  int64_t n; /* rows */
  int derived; /* next_obs from observations[i + 1] */
  int64_t chunk; /* data rows read at a time */
} d4rl;

static void d4rl_close(d4rl *d) {
  col *cols[] = {&d->obs, &d->act, &d->rew, &d->term, &d->tout, &d->next};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
    col_close(cols[i]);
  if (d->file >= 0)
    H5Fclose(d->file);
  d->file = -1;
}

static wsrl_status_t d4rl_open(d4rl *d, const char *path) {
  memset(d, 0, sizeof *d);
  d->path = path;
  d->file = -1;
  d->obs.dset = d->act.dset = d->rew.dset = d->term.dset = d->tout.dset = d->next.dset = -1;
  FILE *fp = NULL;
  WSRL__TRY(wsrl__fopen_regular(path, "HDF5 file", &fp, NULL));
  fclose(fp);
  if (H5Fis_hdf5(path) <= 0)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: not an HDF5 file", path);
  d->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (d->file < 0)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: HDF5 cannot open it", path);
  WSRL__TRY(col_open(d->file, path, "observations", 1, &d->obs));
  WSRL__TRY(col_open(d->file, path, "actions", 1, &d->act));
  WSRL__TRY(col_open(d->file, path, "rewards", 1, &d->rew));
  WSRL__TRY(col_open(d->file, path, "terminals", 1, &d->term));
  WSRL__TRY(col_open(d->file, path, "timeouts", 0, &d->tout));
  WSRL__TRY(col_open(d->file, path, "next_observations", 0, &d->next));
  d->n = d->obs.rows;
  d->derived = d->next.dset < 0;
  d->chunk = (int64_t)(CHUNK_BYTES / ((2 * (size_t)d->obs.cols + (size_t)d->act.cols + 1) * sizeof(float)));
  d->chunk = d->chunk < 1 ? 1 : (d->chunk > CHUNK_ROWS ? CHUNK_ROWS : d->chunk);
  const col *cols[] = {&d->act, &d->rew, &d->term, &d->tout, &d->next};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
    if (cols[i]->dset >= 0 && cols[i]->rows != d->n)
      return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' has %lld rows but 'observations' has %lld",
                         path, cols[i]->key, (long long)cols[i]->rows, (long long)d->n);
  const col *nums[] = {&d->obs, &d->act, &d->rew, &d->next};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
    if (nums[i]->dset >= 0 && nums[i]->cls != H5T_FLOAT && nums[i]->cls != H5T_INTEGER)
      return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset '%s' is not numeric", path, nums[i]->key);
  if (d->rew.cols != 1)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: dataset 'rewards' has %lld columns, expected 1", path,
                       (long long)d->rew.cols);
  if (d->next.dset >= 0 && d->next.cols != d->obs.cols)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: 'next_observations' has %lld columns, 'observations' %lld",
                       path, (long long)d->next.cols, (long long)d->obs.cols);
  return WSRL_OK;
}

/* Chunk buffers: rows [row, row + k), k <= d->chunk (+1 observation row when derived). */
typedef struct chunk {
  float *obs, *act, *rew, *next;
} chunk;

static void chunk_free(chunk *c, const wsrl__alloc *a) {
  wsrl__free(a, c->obs);
  wsrl__free(a, c->act);
  wsrl__free(a, c->rew);
  wsrl__free(a, c->next);
  /* chunk_alloc frees a partial set and its caller frees again: no double free. */
  c->obs = c->act = c->rew = c->next = NULL;
}

static wsrl_status_t chunk_alloc(chunk *c, const d4rl *d, const wsrl__alloc *a) {
  size_t rows = (size_t)d->chunk + 1;
  c->obs = wsrl__malloc(a, rows * (size_t)d->obs.cols * sizeof(float));
  c->act = wsrl__malloc(a, rows * (size_t)d->act.cols * sizeof(float));
  c->rew = wsrl__malloc(a, rows * sizeof(float));
  c->next = d->derived ? NULL : wsrl__malloc(a, rows * (size_t)d->obs.cols * sizeof(float));
  if (!c->obs || !c->act || !c->rew || (!d->derived && !c->next)) {
    chunk_free(c, a);
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate read buffers", d->path);
  }
  return WSRL_OK;
}

static wsrl_status_t chunk_read(chunk *c, const d4rl *d, int64_t row, int64_t k) {
  WSRL__TRY(col_read(&d->obs, d->path, H5T_NATIVE_FLOAT, row, d->derived ? k + 1 : k, c->obs));
  WSRL__TRY(col_read(&d->act, d->path, H5T_NATIVE_FLOAT, row, k, c->act));
  WSRL__TRY(col_read(&d->rew, d->path, H5T_NATIVE_FLOAT, row, k, c->rew));
  if (!d->derived)
    WSRL__TRY(col_read(&d->next, d->path, H5T_NATIVE_FLOAT, row, k, c->next));
  return WSRL_OK;
}

static const float *chunk_next(const chunk *c, const d4rl *d, int64_t i) {
  return d->derived ? c->obs + (i + 1) * d->obs.cols : c->next + i * d->obs.cols;
}

/* plan[i]: KEEP plus the stored end flags of row i. */
#define KEEP 0x80u

/* Pass 1: decide every row from the flags and the values, without touching the buffer. */
/* Bounds of action element j of an import (NULL arrays: -1 / +1). */
static double bound_lo(const wsrl__replay_bounds *b, int32_t j) { return b->low != NULL ? b->low[j] : -1.0; }
static double bound_hi(const wsrl__replay_bounds *b, int32_t j) { return b->high != NULL ? b->high[j] : 1.0; }

/* An action row against the import's units: refused beyond the given bounds
 * (plus the tolerance), counted beyond [-1, 1] when none were given. */
static wsrl_status_t check_units(const d4rl *d, wsrl__replay_bounds *b, const float *a, int32_t n, int64_t row) {
  for (int32_t j = 0; j < n; j++) {
    const double lo = bound_lo(b, j), hi = bound_hi(b, j);
    const double u = 2.0 * ((double)a[j] - lo) / (hi - lo) - 1.0;
    if (fabs(u) <= 1.0 + WSRL__REPLAY_ACTION_TOL)
      continue;
    if (b->given)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "'%s': dataset 'actions' row %lld element %d is %g, outside the action bounds [%g, %g] "
                         "(tolerance %g of the half-range): the file's actions are not in these units; nothing was "
                         "imported", d->path, (long long)row, (int)j, (double)a[j], lo, hi, WSRL__REPLAY_ACTION_TOL);
    b->outside++;
    if (fabsf(a[j]) > b->worst)
      b->worst = fabsf(a[j]);
  }
  return WSRL_OK;
}

static wsrl_status_t make_plan(wsrl_replay_t *r, const d4rl *d, const chunk *bufs, uint8_t *plan, wsrl_replay_report_t *rep,
                               wsrl__replay_bounds *b) {
  const wsrl__alloc *a = &r->alloc;
  int64_t n = d->n;
  memset(plan, 0, (size_t)(n > 0 ? n : 1));
  uint8_t *term = wsrl__calloc(a, (size_t)(n > 0 ? n : 1), 1);
  uint8_t *tout = wsrl__calloc(a, (size_t)(n > 0 ? n : 1), 1);
  wsrl_status_t st = term && tout ? WSRL_OK
                                  : wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate flag arrays", d->path);
  if (st == WSRL_OK)
    st = read_flags(&d->term, d->path, a, term);
  if (st == WSRL_OK && d->tout.dset >= 0)
    st = read_flags(&d->tout, d->path, a, tout);
  chunk c = *bufs; /* read buffers, allocated by the caller */
  /* D4RL's loop: for i in range(N - 1) when next_obs is derived. */
  int64_t last = d->derived ? n - 1 : n;
  int64_t episode_step = 0, prev = -1; /* prev: last kept row */
  int32_t O = (int32_t)d->obs.cols, A = (int32_t)d->act.cols;
  for (int64_t row = 0; row < last && st == WSRL_OK; row += d->chunk) {
    int64_t k = last - row < d->chunk ? last - row : d->chunk;
    st = chunk_read(&c, d, row, k);
    for (int64_t i = 0; i < k && st == WSRL_OK; i++) {
      int64_t g = row + i;
      int final = d->tout.dset >= 0 ? tout[g]
                                    : (r->opt.max_episode_steps > 0 && episode_step == r->opt.max_episode_steps - 1);
      int drop = 0;
      if (d->derived && final) {
        rep->dropped_timeout++;
        episode_step = 0;
        drop = 1;
      } else {
        if (term[g] || final)
          episode_step = 0;
        episode_step++;
        /* Values: observation, action, reward (raw and stored), next observation. */
        const char *bad_key = NULL, *note = "";
        int64_t bad_j = 0, bad_row = g;
        float bad_v = 0;
        const float *vals[3] = {c.obs + i * O, c.act + i * A, chunk_next(&c, d, i)};
        const int32_t lens[3] = {O, A, O};
        const char *keys[3] = {"observations", "actions", d->derived ? "observations" : "next_observations"};
        for (int q = 0; q < 3 && !bad_key; q++)
          for (int32_t j = 0; j < lens[q]; j++)
            if (!isfinite(vals[q][j])) {
              bad_key = keys[q], bad_j = j, bad_v = vals[q][j];
              bad_row = g + (q == 2 && d->derived ? 1 : 0);
              break;
            }
        const float stored = wsrl__replay_stored_reward(&r->opt, c.rew[i]);
        if (!bad_key && !(fabsf(stored) <= wsrl__replay_reward_limit(r))) {
          bad_key = "rewards", bad_v = c.rew[i];
          note = !isfinite(c.rew[i])  ? ""
                 : !isfinite(stored) ? " (infinite after the reward transform)"
                                     : " (its discounted return would overflow float)";
        }
        /* A unit error is the file's, not a row's glitch: refused whatever nonfinite says. */
        if (!bad_key && (st = check_units(d, b, c.act + i * A, A, g)) != WSRL_OK)
          break;
        if (bad_key) {
          if (r->opt.nonfinite == WSRL_REPLAY_NONFINITE_ERROR) {
            st = wsrl__error(WSRL_ERR_NON_FINITE, "'%s': dataset '%s' row %lld element %lld is %g%s", d->path,
                             bad_key, (long long)bad_row, (long long)bad_j, (double)bad_v, note);
            break;
          }
          rep->dropped_nonfinite++;
          drop = 1;
        }
      }
      if (drop) {
        if (prev >= 0 && !(plan[prev] & WSRL__REPLAY_END))
          plan[prev] |= WSRL__REPLAY_TRUNCATED;
        continue;
      }
      plan[g] = (uint8_t)(KEEP | (term[g] ? WSRL__REPLAY_TERMINATED : 0u) |
                          (!d->derived && final ? WSRL__REPLAY_TRUNCATED : 0u));
      prev = g;
      rep->loaded++;
    }
  }
  if (st == WSRL_OK && prev >= 0 && !(plan[prev] & WSRL__REPLAY_END))
    plan[prev] |= WSRL__REPLAY_TRUNCATED; /* the data ends: close the last episode */
  if (d->derived && n > 0)
    rep->dropped_last = 1;
  wsrl__free(a, term);
  wsrl__free(a, tout);
  return st;
}

/* Pass 2: copy the kept rows into slots 0.. of the (reset) buffer. */
static wsrl_status_t copy_rows(wsrl_replay_t *r, const d4rl *d, const chunk *bufs, const uint8_t *plan,
                               const wsrl__replay_bounds *b) {
  chunk c = *bufs; /* read buffers, allocated by the caller */
  int32_t O = r->obs_dim, A = r->act_dim;
  float clip = (float)r->opt.action_clip;
  int64_t last = d->derived ? d->n - 1 : d->n, w = 0;
  wsrl_status_t st = WSRL_OK;
  for (int64_t row = 0; row < last && st == WSRL_OK; row += d->chunk) {
    int64_t k = last - row < d->chunk ? last - row : d->chunk;
    st = chunk_read(&c, d, row, k);
    for (int64_t i = 0; i < k && st == WSRL_OK; i++) {
      uint8_t p = plan[row + i];
      if (!(p & KEEP))
        continue;
      memcpy(r->obs + w * O, c.obs + i * O, (size_t)O * sizeof(float));
      memcpy(r->next_obs + w * O, chunk_next(&c, d, i), (size_t)O * sizeof(float));
      float *act = r->action + w * A;
      memcpy(act, c.act + i * A, (size_t)A * sizeof(float));
      /* [low, high] to [-1, 1] as wsrl_session_observe() maps a host's action
       * (wsrl__env_unscale_action), so offline and online rows agree. */
      for (int32_t j = 0; j < A && b->given; j++) {
        const double lo = bound_lo(b, j), hi = bound_hi(b, j), u = 2.0 * ((double)act[j] - lo) / (hi - lo) - 1.0;
        act[j] = u < -1.0 ? -1.0f : u > 1.0 ? 1.0f : (float)u;
      }
      if (clip > 0)
        wsrl__replay_clip(act, A, clip);
      r->reward[w] = wsrl__replay_stored_reward(&r->opt, c.rew[i]);
      r->flags[w] = (uint8_t)(p & WSRL__REPLAY_END);
      w++;
    }
  }
  wsrl__replay_set_rows(r, w);
  return st;
}

static wsrl_status_t replay_import_hdf5_impl(wsrl_replay_t *replay, const char *path, wsrl__replay_bounds *b,
                                             wsrl_replay_report_t *report_out, const char *fn) {
  WSRL__TRY(wsrl__replay_report_check(report_out, fn));
  quiet q;
  quiet_begin(&q);
  d4rl d;
  uint8_t *plan = NULL;
  wsrl_replay_report_t rep = WSRL_REPLAY_REPORT_INIT;
  wsrl_status_t st = d4rl_open(&d, path);
  if (st == WSRL_OK && (d.obs.cols != replay->obs_dim || d.act.cols != replay->act_dim))
    st = wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                     "'%s' has %lld observation and %lld action columns; the buffer has obs_dim %d, act_dim %d", path,
                     (long long)d.obs.cols, (long long)d.act.cols, replay->obs_dim, replay->act_dim);
  /* Refuse a file larger than the buffer before reading a row of it (a file
   * can declare 2^31 rows); at most the derived last row is never kept. */
  if (st == WSRL_OK && d.n - (d.derived && d.n > 0) > replay->capacity)
    st = wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                     "'%s' holds %lld rows; the buffer's capacity is %lld (create it from wsrl_replay_hdf5_info())",
                     path, (long long)(d.n - (d.derived && d.n > 0)), (long long)replay->capacity);
  if (st == WSRL_OK) {
    plan = wsrl__malloc(&replay->alloc, (size_t)(d.n > 0 ? d.n : 1));
    if (plan == NULL)
      st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate a plan of %lld rows", path, (long long)d.n);
  }
  /* Every buffer is taken before the replay is touched: all or nothing. */
  chunk c = {0};
  if (st == WSRL_OK)
    st = chunk_alloc(&c, &d, &replay->alloc);
  if (st == WSRL_OK)
    st = make_plan(replay, &d, &c, plan, &rep, b);
  if (st == WSRL_OK && rep.loaded > replay->capacity)
    st = wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "'%s' gives %lld transitions; the buffer's capacity is %lld", path,
                     (long long)rep.loaded, (long long)replay->capacity);
  if (st == WSRL_OK) {
    wsrl__replay_reset(replay);
    st = copy_rows(replay, &d, &c, plan, b);
    if (st != WSRL_OK)
      wsrl__replay_reset(replay);
    else
      wsrl__replay_rebuild(replay);
  }
  chunk_free(&c, &replay->alloc);
  wsrl__free(&replay->alloc, plan);
  d4rl_close(&d);
  quiet_end(&q);
  if (st != WSRL_OK)
    return st;
  rep.rows = d.n;
  rep.episodes = replay->closed;
  rep.mc_recomputed = 1;
  wsrl__replay_report_out(report_out, &rep);
  return WSRL_OK;
}

wsrl_status_t wsrl__replay_import_hdf5(wsrl_replay_t *replay, const char *path, wsrl__replay_bounds *bounds,
                                       wsrl_replay_report_t *report_out, const char *fn) {
  WSRL__GUARDED(wsrl__replay_busy(replay), WSRL__BUSY_WRITE, "replay buffer", fn,
                replay_import_hdf5_impl(replay, path, bounds, report_out, fn));
}

wsrl_status_t wsrl_replay_import_hdf5(wsrl_replay_t *replay, const char *path, wsrl_replay_report_t *report_out) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(path);
  wsrl__replay_bounds b = {0};
  WSRL__TRY(wsrl__replay_import_hdf5(replay, path, &b, report_out, __func__));
  wsrl__replay_warn_units(__func__, path, &b);
  return WSRL_OK;
}

wsrl_status_t wsrl_replay_import_hdf5_bounded(wsrl_replay_t *replay, const char *path, const float *action_low,
                                              const float *action_high, uint32_t flags,
                                              wsrl_replay_report_t *report_out) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(path);
  if (flags & ~(uint32_t)WSRL_REPLAY_IMPORT_ISOLATED)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: flags 0x%x has unknown bits (only WSRL_REPLAY_IMPORT_ISOLATED)",
                       __func__, (unsigned)flags);
  wsrl__replay_bounds b = {1, action_low, action_high, 0, 0};
  for (int32_t j = 0; j < replay->act_dim; j++) {
    const double lo = bound_lo(&b, j), hi = bound_hi(&b, j);
    if (!isfinite(lo) || !isfinite(hi) || !(lo < hi))
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                         "%s: action_low[%d] = %g and action_high[%d] = %g: bounds must be finite with low < high",
                         __func__, (int)j, lo, (int)j, hi);
  }
  if (flags & WSRL_REPLAY_IMPORT_ISOLATED)
    return wsrl__replay_import_hdf5_isolated(replay, path, &b, report_out, __func__);
  return wsrl__replay_import_hdf5(replay, path, &b, report_out, __func__);
}

wsrl_status_t wsrl_replay_hdf5_info(const char *path, int32_t *obs_dim_out, int32_t *act_dim_out, int64_t *rows_out) {
  WSRL__CHECK_NULL(path);
  quiet q;
  quiet_begin(&q);
  d4rl d;
  wsrl_status_t st = d4rl_open(&d, path);
  if (st == WSRL_OK) {
    if (obs_dim_out)
      *obs_dim_out = (int32_t)d.obs.cols;
    if (act_dim_out)
      *act_dim_out = (int32_t)d.act.cols;
    if (rows_out)
      *rows_out = d.n;
  }
  d4rl_close(&d);
  quiet_end(&q);
  return st;
}

/* ---- export ---- */

static hid_t make_dataset(hid_t file, const char *key, hid_t type, int64_t rows, int64_t cols) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t space = H5Screate_simple(cols > 0 ? 2 : 1, dims, NULL);
  if (space < 0)
    return -1;
  hid_t d = H5Dcreate2(file, key, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(space);
  return d;
}

/* Write rows [first, first + n) of a rank-1 (cols 0) or rank-2 dataset. */
static herr_t write_rows(hid_t dset, hid_t memtype, int64_t first, int64_t n, int64_t cols, const void *src) {
  int rank = cols > 0 ? 2 : 1;
  hsize_t start[2] = {(hsize_t)first, 0}, count[2] = {(hsize_t)n, (hsize_t)cols};
  hid_t fspace = H5Dget_space(dset), mspace = H5Screate_simple(rank, count, NULL);
  herr_t rc = -1;
  if (fspace >= 0 && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) >= 0)
    rc = H5Dwrite(dset, memtype, mspace, fspace, H5P_DEFAULT, src);
  if (fspace >= 0)
    H5Sclose(fspace);
  if (mspace >= 0)
    H5Sclose(mspace);
  return rc;
}

static herr_t write_attr(hid_t file, const char *name, double v) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t at = space >= 0 ? H5Acreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT) : -1;
  herr_t rc = at >= 0 ? H5Awrite(at, H5T_NATIVE_DOUBLE, &v) : -1;
  if (at >= 0)
    H5Aclose(at);
  if (space >= 0)
    H5Sclose(space);
  return rc;
}

/* h5py's boolean: an int8 enum {FALSE = 0, TRUE = 1}; numpy reads it as bool. */
static hid_t bool_type(void) {
  hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t v = 0;
  H5Tenum_insert(t, "FALSE", &v);
  v = 1;
  H5Tenum_insert(t, "TRUE", &v);
  return t;
}

static wsrl_status_t export_to(const wsrl_replay_t *r, hid_t file, const char *path) {
  int64_t n = r->size;
  int32_t O = r->obs_dim, A = r->act_dim;
  hid_t btype = bool_type();
  hid_t obs = make_dataset(file, "observations", H5T_IEEE_F32LE, n, O);
  hid_t act = make_dataset(file, "actions", H5T_IEEE_F32LE, n, A);
  hid_t rew = make_dataset(file, "rewards", H5T_IEEE_F32LE, n, 0);
  hid_t nxt = make_dataset(file, "next_observations", H5T_IEEE_F32LE, n, O);
  hid_t term = make_dataset(file, "terminals", btype, n, 0);
  hid_t tout = make_dataset(file, "timeouts", btype, n, 0);
  herr_t rc = (btype < 0 || obs < 0 || act < 0 || rew < 0 || nxt < 0 || term < 0 || tout < 0) ? -1 : 0;
  /* The ring as at most two contiguous spans of slots, oldest first. */
  int64_t start = wsrl__replay_slot(r, 0);
  int64_t first = n < r->capacity - start ? n : r->capacity - start;
  int64_t spans[2][3] = {{start, first, 0}, {0, n - first, first}}; /* slot, rows, file row */
  int8_t flags[4096];
  for (int k = 0; k < 2 && rc >= 0; k++) {
    int64_t s = spans[k][0], m = spans[k][1], f = spans[k][2];
    if (m == 0)
      continue;
    if (write_rows(obs, H5T_NATIVE_FLOAT, f, m, O, r->obs + s * O) < 0 ||
        write_rows(act, H5T_NATIVE_FLOAT, f, m, A, r->action + s * A) < 0 ||
        write_rows(rew, H5T_NATIVE_FLOAT, f, m, 0, r->reward + s) < 0 ||
        write_rows(nxt, H5T_NATIVE_FLOAT, f, m, O, r->next_obs + s * O) < 0)
      rc = -1;
    for (int64_t done = 0; done < m && rc >= 0;) {
      int64_t b = m - done < (int64_t)sizeof flags ? m - done : (int64_t)sizeof flags;
      for (int64_t i = 0; i < b; i++)
        flags[i] = (r->flags[s + done + i] & WSRL__REPLAY_TERMINATED) ? 1 : 0;
      if (write_rows(term, btype, f + done, b, 0, flags) < 0)
        rc = -1;
      for (int64_t i = 0; i < b; i++)
        flags[i] = (r->flags[s + done + i] & WSRL__REPLAY_TRUNCATED) ? 1 : 0;
      if (rc >= 0 && write_rows(tout, btype, f + done, b, 0, flags) < 0)
        rc = -1;
      done += b;
    }
  }
  if (rc >= 0 && (write_attr(file, "wsrl_reward_scale", r->opt.reward_scale) < 0 ||
                  write_attr(file, "wsrl_reward_bias", r->opt.reward_bias) < 0 ||
                  write_attr(file, "wsrl_action_clip", r->opt.action_clip) < 0 ||
                  write_attr(file, "wsrl_discount", r->opt.discount) < 0))
    rc = -1;
  hid_t ids[] = {obs, act, rew, nxt, term, tout};
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
    if (ids[i] >= 0)
      H5Dclose(ids[i]);
  if (btype >= 0)
    H5Tclose(btype);
  return rc < 0 ? wsrl__error(WSRL_ERR_IO, "'%s': HDF5 failed to write the datasets", path) : WSRL_OK;
}

/* The file is built in memory (HDF5's core driver, no backing store) and
 * written with the library's atomic writer: a full disk or a file-size limit
 * then fails in our write, never inside an HDF5 flush, which used to leave
 * the HDF5 file open and crash the process in libhdf5's exit handler. */
static wsrl_status_t replay_export_hdf5_impl(const wsrl_replay_t *replay, const char *path) {
  quiet q;
  quiet_begin(&q);
  wsrl_status_t st = WSRL_OK;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0)
    st = wsrl__error(WSRL_ERR_BACKEND, "'%s': HDF5 cannot set up an in-memory file", path);
  hid_t file = st == WSRL_OK ? H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : -1;
  if (st == WSRL_OK && file < 0)
    st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': HDF5 cannot create the file in memory", path);
  if (st == WSRL_OK)
    st = export_to(replay, file, path);
  void *image = NULL;
  ssize_t size = -1;
  if (st == WSRL_OK && (H5Fflush(file, H5F_SCOPE_LOCAL) < 0 || (size = H5Fget_file_image(file, NULL, 0)) <= 0))
    st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': HDF5 cannot build the file image", path);
  if (st == WSRL_OK && (image = wsrl__malloc(&replay->alloc, (size_t)size)) == NULL)
    st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate %lld bytes for the file image", path,
                     (long long)size);
  if (st == WSRL_OK && H5Fget_file_image(file, image, (size_t)size) != size)
    st = wsrl__error(WSRL_ERR_BACKEND, "'%s': HDF5 cannot copy the file image", path);
  if (file >= 0)
    H5Fclose(file); /* in memory: nothing left to write */
  if (fapl >= 0)
    H5Pclose(fapl);
  quiet_end(&q);
  wsrl__afile out;
  if (st == WSRL_OK)
    st = wsrl__afile_open(&out, path, &replay->alloc);
  if (st == WSRL_OK) {
    st = wsrl__afile_write(&out, image, (size_t)size);
    st = st == WSRL_OK ? wsrl__afile_commit(&out) : (wsrl__afile_abort(&out), st);
  }
  wsrl__free(&replay->alloc, image);
  return st;
}

wsrl_status_t wsrl_replay_export_hdf5(const wsrl_replay_t *replay, const char *path) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(path);
  WSRL__GUARDED(wsrl__replay_busy((wsrl_replay_t *)replay), WSRL__BUSY_READ, "replay buffer", "wsrl_replay_export_hdf5", replay_export_hdf5_impl(replay, path));
}

#endif /* WSRL_HAVE_HDF5 */
