/* Fuzz harness: D4RL-format HDF5 files (wsrl_replay_hdf5_info and
 * wsrl_replay_import_hdf5). Every input gives an allowed status; a failed
 * import leaves the buffer as it was; a file that imports gives finite
 * rows that sample. Crashes inside libhdf5 itself are what the isolated
 * import exists for (docs/reliability.md); this harness finds the
 * library's own. */
#include <math.h>
#include <stdio.h>

#include "fuzz.h"

/* libhdf5 reports a failed read of a damaged dataset as it would a disk
 * error, so WSRL_ERR_IO is allowed here too. */
static int allowed(wsrl_status_t st) { return fuzz_status_allowed(st) || st == WSRL_ERR_IO; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *in = fuzz_scratch(0);
  fuzz_write(in, data, size);
  int32_t od = 0, ad = 0;
  int64_t rows = 0;
  wsrl_status_t st = wsrl_replay_hdf5_info(in, &od, &ad, &rows);
  if (!allowed(st))
    fuzz_die("hdf5_info returned an unexpected status");
  int fits = st == WSRL_OK && od > 0 && od <= 16 && ad > 0 && ad <= 16 && rows > 0 && rows <= 1024;
  wsrl_replay_t *r = NULL;
  if (wsrl_replay_create(&r, fits ? od : 3, fits ? ad : 2, fits ? rows : 8, NULL) != WSRL_OK)
    fuzz_die("create failed");
  float o[16] = {0}, a[16] = {0};
  wsrl_replay_add(r, o, a, 1.0f, o, 0, 0); /* a row a failed import must keep */
  st = wsrl_replay_import_hdf5(r, in, NULL);
  if (!allowed(st))
    fuzz_die("import returned an unexpected status");
  int64_t n = -1;
  wsrl_replay_size(r, &n);
  if (st != WSRL_OK && n != 1)
    fuzz_die("a failed import changed the buffer");
  if (st == WSRL_OK && n > 0) {
    float so[16 * 2], sa[16 * 2], rew[2], next[16 * 2], mask[2], mc[2];
    if (wsrl_replay_sample(r, 2, so, sa, rew, next, mask, mc) != WSRL_OK)
      fuzz_die("sampling an imported buffer failed");
    for (int i = 0; i < 2; i++)
      if (!isfinite(rew[i]) || !isfinite(mc[i]))
        fuzz_die("non-finite row after a successful import");
  }
  wsrl_replay_destroy(r);
  return 0;
}

/* Files the library exports: a few shapes, with an open episode. */
static int write_seeds(const char *dir) {
  const int32_t dims[2][2] = {{3, 2}, {1, 1}};
  char path[600];
  for (int k = 0; k < 2; k++) {
    wsrl_replay_t *r = NULL;
    if (wsrl_replay_create(&r, dims[k][0], dims[k][1], 16, NULL) != WSRL_OK)
      fuzz_die("seed create failed");
    float o[3] = {0}, a[2] = {0};
    for (int i = 0; i < 10; i++) {
      o[0] = (float)i;
      a[0] = 0.05f * (float)i;
      wsrl_replay_add(r, o, a, (float)i, o, i % 4 == 3, i == 6);
    }
    snprintf(path, sizeof path, "%s/seed-%d", dir, k);
    if (wsrl_replay_export_hdf5(r, path) != WSRL_OK)
      fuzz_die("seed export failed");
    wsrl_replay_destroy(r);
  }
  return 2;
}

const fuzz_target_t fuzz_target = {"hdf5", write_seeds, 0, "libhdf5"};
