/* Fuzz harness: the native replay format (and the section container under
 * it); modes as every harness (fuzz.h). Every input must give OK, CORRUPT, VERSION_MISMATCH, NON_FINITE or
 * INVALID_ARGUMENT (never a crash, hang or sanitizer report), a failed load
 * must leave the buffer as it was, and a successful one a consistent buffer
 * that saves and reloads identically. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay_internal.h"
#include "fuzz.h"

#define MAX_DIM 64
#define MAX_ROWS 4096


/* The rows of two buffers are identical. */
static void same(const wsrl_replay_t *a, const wsrl_replay_t *b) {
  if (a->size != b->size || a->closed != b->closed || a->open_len != b->open_len)
    fuzz_die("reloaded counters differ");
  for (int64_t i = 0; i < a->size; i++) {
    int64_t s = wsrl__replay_slot(a, i), t = wsrl__replay_slot(b, i);
    if (memcmp(a->obs + s * a->obs_dim, b->obs + t * b->obs_dim, (size_t)a->obs_dim * 4) ||
        memcmp(a->action + s * a->act_dim, b->action + t * b->act_dim, (size_t)a->act_dim * 4) ||
        a->reward[s] != b->reward[t] || a->flags[s] != b->flags[t] || a->mc_return[s] != b->mc_return[t])
      fuzz_die("reloaded rows differ");
  }
}

static void check_loaded(wsrl_replay_t *r) {
  if (r->size < 0 || r->size > r->capacity || r->open_len > r->size || r->closed > r->size)
    fuzz_die("inconsistent counters after a successful load");
  int64_t ends = 0;
  for (int64_t i = 0; i < r->size; i++) {
    int64_t s = wsrl__replay_slot(r, i);
    ends += (r->flags[s] & WSRL__REPLAY_END) != 0;
    if (!isfinite(r->reward[s]) || !isfinite(r->mc_return[s]) || (r->flags[s] & ~WSRL__REPLAY_END))
      fuzz_die("bad row after a successful load");
    for (int32_t j = 0; j < r->obs_dim; j++)
      if (!isfinite(r->obs[s * r->obs_dim + j]) || !isfinite(r->next_obs[s * r->obs_dim + j]))
        fuzz_die("non-finite observation after a successful load");
  }
  if (ends != r->closed)
    fuzz_die("episode count disagrees with the flags");
  if (r->size > 0) {
    float obs[MAX_DIM * 4], act[MAX_DIM * 4], rew[4], next[MAX_DIM * 4], mask[4], mc[4];
    if (wsrl_replay_sample(r, 4, obs, act, rew, next, mask, mc) != WSRL_OK)
      fuzz_die("sampling a loaded buffer failed");
  }
  /* Save and reload: identical. */
  if (wsrl_replay_save(r, fuzz_scratch(1)) != WSRL_OK)
    fuzz_die("saving a loaded buffer failed");
  wsrl_replay_t *again = NULL;
  if (wsrl_replay_create(&again, r->obs_dim, r->act_dim, r->capacity, &r->opt) != WSRL_OK ||
      wsrl_replay_load(again, fuzz_scratch(1), NULL) != WSRL_OK)
    fuzz_die("reloading a saved buffer failed");
  same(r, again);
  wsrl_replay_destroy(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_write(fuzz_scratch(0), data, size);
  int32_t od = 0, ad = 0;
  int64_t count = 0;
  wsrl_status_t st = wsrl_replay_file_info(fuzz_scratch(0), &od, &ad, &count);
  int allowed = st == WSRL_OK || st == WSRL_ERR_CORRUPT || st == WSRL_ERR_VERSION_MISMATCH;
  if (!allowed)
    fuzz_die("file_info returned an unexpected status");
  /* Dimensions the fuzzer chose only if they are small; otherwise a fixed buffer. */
  int fits = st == WSRL_OK && od <= MAX_DIM && ad <= MAX_DIM && count <= MAX_ROWS;
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.nonfinite = (size & 1) ? WSRL_REPLAY_NONFINITE_DROP : WSRL_REPLAY_NONFINITE_ERROR;
  wsrl_replay_t *r = NULL;
  if (wsrl_replay_create(&r, fits ? od : 3, fits ? ad : 2, fits && count > 0 ? count : 8, &opt) != WSRL_OK)
    fuzz_die("create failed");
  float o[MAX_DIM] = {0}, a[MAX_DIM] = {0};
  wsrl_replay_add(r, o, a, 1.0f, o, 0, 0); /* a row that a failed load must keep */
  st = wsrl_replay_load(r, fuzz_scratch(0), NULL);
  if (st == WSRL_OK) {
    check_loaded(r);
  } else {
    if (st != WSRL_ERR_CORRUPT && st != WSRL_ERR_VERSION_MISMATCH && st != WSRL_ERR_NON_FINITE &&
        st != WSRL_ERR_INVALID_ARGUMENT)
      fuzz_die("load returned an unexpected status");
    if (r->size != 1 || r->reward[0] != 1.0f || r->open_len != 1)
      fuzz_die("a failed load changed the buffer");
  }
  wsrl_replay_destroy(r);
  return 0;
}

/* Valid files of a few shapes: wrapped ring with an open tail, empty, wide. */
static int write_seeds(const char *dir_path) {
  const int32_t dims[3][2] = {{3, 2}, {1, 1}, {5, 3}};
  const int64_t caps[3] = {7, 4, 64}, rows[3] = {12, 0, 40};
  char path[600];
  for (int k = 0; k < 3; k++) {
    wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
    opt.discount = 0.9;
    opt.mc_sparse = k == 2;
    wsrl_replay_t *r = NULL;
    if (wsrl_replay_create(&r, dims[k][0], dims[k][1], caps[k], &opt) != WSRL_OK)
      fuzz_die("seed create failed");
    float o[8], a[8];
    for (int64_t i = 0; i < rows[k]; i++) {
      for (int j = 0; j < 8; j++)
        o[j] = (float)i + 0.1f * (float)j, a[j] = 0.01f * (float)(i % 50);
      wsrl_replay_add(r, o, a, k == 2 && i % 9 ? 0.0f : (float)i, o, i % 5 == 4, i % 11 == 10);
    }
    snprintf(path, sizeof path, "%s/seed-%d", dir_path, k);
    if (wsrl_replay_save(r, path) != WSRL_OK)
      fuzz_die("seed save failed");
    wsrl_replay_destroy(r);
  }
  return 3;
}

const fuzz_target_t fuzz_target = {"replay", write_seeds, 1, NULL};
