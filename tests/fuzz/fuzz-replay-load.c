/* Loader fuzzing for the native replay format (and the section container
 * under it). One harness, three ways to run it:
 *
 *   fuzz-replay-load --mutate N [SEED]   N deterministic mutations of valid
 *                                        files (meson suite 'fuzz')
 *   fuzz-replay-load FILE|DIR...         replay a corpus or crashers
 *   fuzz-replay-load --write-seeds DIR   write the valid seed files
 *
 * Built with clang -fsanitize=fuzzer,address -DWSRL_FUZZ_LIBFUZZER the same
 * file is a libFuzzer target (LLVMFuzzerTestOneInput; libFuzzer's main).
 *
 * Every input must give OK, CORRUPT, VERSION_MISMATCH, NON_FINITE or
 * INVALID_ARGUMENT (never a crash, hang or sanitizer report), a failed load
 * must leave the buffer as it was, and a successful one a consistent buffer
 * that saves and reloads identically. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay/replay_internal.h"
#include "wsrl/wsrl.h"

#define MAX_DIM 64
#define MAX_ROWS 4096

static char scratch[2][512];

static void die(const char *what) {
  fprintf(stderr, "fuzz-replay-load: %s (last error: %s)\n", what, wsrl_last_error_message());
  abort();
}

static void write_bytes(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, size, f) != size)
    die("cannot write the scratch file");
  fclose(f);
}

/* The rows of two buffers are identical. */
static void same(const wsrl_replay_t *a, const wsrl_replay_t *b) {
  if (a->size != b->size || a->closed != b->closed || a->open_len != b->open_len)
    die("reloaded counters differ");
  for (int64_t i = 0; i < a->size; i++) {
    int64_t s = wsrl__replay_slot(a, i), t = wsrl__replay_slot(b, i);
    if (memcmp(a->obs + s * a->obs_dim, b->obs + t * b->obs_dim, (size_t)a->obs_dim * 4) ||
        memcmp(a->action + s * a->act_dim, b->action + t * b->act_dim, (size_t)a->act_dim * 4) ||
        a->reward[s] != b->reward[t] || a->flags[s] != b->flags[t] || a->mc_return[s] != b->mc_return[t])
      die("reloaded rows differ");
  }
}

static void check_loaded(wsrl_replay_t *r) {
  if (r->size < 0 || r->size > r->capacity || r->open_len > r->size || r->closed > r->size)
    die("inconsistent counters after a successful load");
  int64_t ends = 0;
  for (int64_t i = 0; i < r->size; i++) {
    int64_t s = wsrl__replay_slot(r, i);
    ends += (r->flags[s] & WSRL__REPLAY_END) != 0;
    if (!isfinite(r->reward[s]) || !isfinite(r->mc_return[s]) || (r->flags[s] & ~WSRL__REPLAY_END))
      die("bad row after a successful load");
    for (int32_t j = 0; j < r->obs_dim; j++)
      if (!isfinite(r->obs[s * r->obs_dim + j]) || !isfinite(r->next_obs[s * r->obs_dim + j]))
        die("non-finite observation after a successful load");
  }
  if (ends != r->closed)
    die("episode count disagrees with the flags");
  if (r->size > 0) {
    float obs[MAX_DIM * 4], act[MAX_DIM * 4], rew[4], next[MAX_DIM * 4], mask[4], mc[4];
    if (wsrl_replay_sample(r, 4, obs, act, rew, next, mask, mc) != WSRL_OK)
      die("sampling a loaded buffer failed");
  }
  /* Save and reload: identical. */
  if (wsrl_replay_save(r, scratch[1]) != WSRL_OK)
    die("saving a loaded buffer failed");
  wsrl_replay_t *again = NULL;
  if (wsrl_replay_create(&again, r->obs_dim, r->act_dim, r->capacity, &r->opt) != WSRL_OK ||
      wsrl_replay_load(again, scratch[1], NULL) != WSRL_OK)
    die("reloading a saved buffer failed");
  same(r, again);
  wsrl_replay_destroy(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (scratch[0][0] == '\0') {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(scratch[0], sizeof scratch[0], "%s/fuzz-replay-%ld-in.wsrl", tmp, (long)getpid());
    snprintf(scratch[1], sizeof scratch[1], "%s/fuzz-replay-%ld-out.wsrl", tmp, (long)getpid());
  }
  write_bytes(scratch[0], data, size);
  int32_t od = 0, ad = 0;
  int64_t count = 0;
  wsrl_status_t st = wsrl_replay_file_info(scratch[0], &od, &ad, &count);
  int allowed = st == WSRL_OK || st == WSRL_ERR_CORRUPT || st == WSRL_ERR_VERSION_MISMATCH;
  if (!allowed)
    die("file_info returned an unexpected status");
  /* Dimensions the fuzzer chose only if they are small; otherwise a fixed buffer. */
  int fits = st == WSRL_OK && od <= MAX_DIM && ad <= MAX_DIM && count <= MAX_ROWS;
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.nonfinite = (size & 1) ? WSRL_REPLAY_NONFINITE_DROP : WSRL_REPLAY_NONFINITE_ERROR;
  wsrl_replay_t *r = NULL;
  if (wsrl_replay_create(&r, fits ? od : 3, fits ? ad : 2, fits && count > 0 ? count : 8, &opt) != WSRL_OK)
    die("create failed");
  float o[MAX_DIM] = {0}, a[MAX_DIM] = {0};
  wsrl_replay_add(r, o, a, 1.0f, o, 0, 0); /* a row that a failed load must keep */
  st = wsrl_replay_load(r, scratch[0], NULL);
  if (st == WSRL_OK) {
    check_loaded(r);
  } else {
    if (st != WSRL_ERR_CORRUPT && st != WSRL_ERR_VERSION_MISMATCH && st != WSRL_ERR_NON_FINITE &&
        st != WSRL_ERR_INVALID_ARGUMENT)
      die("load returned an unexpected status");
    if (r->size != 1 || r->reward[0] != 1.0f || r->open_len != 1)
      die("a failed load changed the buffer");
  }
  wsrl_replay_destroy(r);
  return 0;
}

#ifndef WSRL_FUZZ_LIBFUZZER

/* ---- seeds and mutations ---- */

typedef struct blob {
  uint8_t *data;
  size_t size;
} blob;

static blob read_file(const char *path) {
  blob b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    die("cannot read an input file");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b.data = malloc((size_t)n + 1);
  b.size = fread(b.data, 1, (size_t)n, f);
  fclose(f);
  return b;
}

/* Valid files of a few shapes: wrapped ring with an open tail, empty, wide. */
static int make_seeds(const char *dir_path, blob *seeds) {
  const int32_t dims[3][2] = {{3, 2}, {1, 1}, {5, 3}};
  const int64_t caps[3] = {7, 4, 64}, rows[3] = {12, 0, 40};
  char path[600];
  for (int k = 0; k < 3; k++) {
    wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
    opt.discount = 0.9;
    opt.mc_sparse = k == 2;
    wsrl_replay_t *r = NULL;
    if (wsrl_replay_create(&r, dims[k][0], dims[k][1], caps[k], &opt) != WSRL_OK)
      die("seed create failed");
    float o[8], a[8];
    for (int64_t i = 0; i < rows[k]; i++) {
      for (int j = 0; j < 8; j++)
        o[j] = (float)i + 0.1f * (float)j, a[j] = 0.01f * (float)(i % 50);
      wsrl_replay_add(r, o, a, k == 2 && i % 9 ? 0.0f : (float)i, o, i % 5 == 4, i % 11 == 10);
    }
    snprintf(path, sizeof path, "%s/seed-%d.wsrl", dir_path, k);
    if (wsrl_replay_save(r, path) != WSRL_OK)
      die("seed save failed");
    wsrl_replay_destroy(r);
    if (seeds)
      seeds[k] = read_file(path);
  }
  return 3;
}

static uint64_t rng_state;
static uint64_t next_rand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Recompute every CRC so that a mutation reaches the checks behind them
 * (only when the header and table still make sense). */
static void reseal(uint8_t *f, size_t n) {
  if (n < 64)
    return;
  uint32_t count = wsrl__load_u32le(f + 20);
  uint64_t to = wsrl__load_u64le(f + 24);
  if (count > 64 || to > n || (n - to) / WSRL__SECTION_ENTRY_SIZE < count)
    return;
  for (uint32_t i = 0; i < count; i++) {
    uint8_t *e = f + to + (uint64_t)i * WSRL__SECTION_ENTRY_SIZE;
    uint64_t off = wsrl__load_u64le(e + 32), len = wsrl__load_u64le(e + 40);
    if (off <= n && len <= n - off)
      wsrl__store_u32le(e + 48, wsrl__crc32(0, f + off, (size_t)len));
  }
  wsrl__store_u32le(f + 40, wsrl__crc32(0, f + to, (size_t)count * WSRL__SECTION_ENTRY_SIZE));
  wsrl__store_u32le(f + 60, wsrl__crc32(0, f, 60));
}

static size_t mutate(uint8_t *f, size_t n, size_t cap) {
  static const int64_t interesting[] = {0, 1, -1, 2, 7, 8, 64, 4096, 65536, INT32_MAX, INT32_MIN, INT64_MAX,
                                        INT64_MIN, 0x7FC00000 /* NaN bits */, 0x7F800000 /* inf */};
  int ops = 1 + (int)(next_rand() % 4);
  for (int k = 0; k < ops && n > 0; k++) {
    size_t at = (size_t)(next_rand() % n);
    switch (next_rand() % 6) {
    case 0: /* bit flip */
      f[at] ^= (uint8_t)(1u << (next_rand() % 8));
      break;
    case 1: /* random byte */
      f[at] = (uint8_t)next_rand();
      break;
    case 2: /* truncate */
      n = at;
      break;
    case 3: { /* an interesting 4- or 8-byte value at a 4-aligned offset (fields, floats) */
      at &= ~(size_t)3;
      int64_t v = interesting[next_rand() % (sizeof interesting / sizeof interesting[0])];
      if (at + 8 <= n && next_rand() % 2)
        wsrl__store_i64le(f + at, v);
      else if (at + 4 <= n)
        wsrl__store_i32le(f + at, (int32_t)v);
      break;
    }
    case 4: /* duplicate a chunk */
      if (n + 64 <= cap) {
        size_t len = (size_t)(next_rand() % 64);
        if (at + len > n)
          len = n - at;
        memmove(f + at + len, f + at, n - at);
        n += len;
      }
      break;
    default: /* the meta section, where the counters live */
      if (n > 64 + 96) {
        size_t m = 64 + (size_t)(next_rand() % 12) * 8;
        wsrl__store_i64le(f + m, interesting[next_rand() % (sizeof interesting / sizeof interesting[0])]);
      }
      break;
    }
  }
  if (next_rand() % 4 != 0)
    reseal(f, n);
  return n;
}

static void run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    die("no such input");
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.')
        continue;
      snprintf(p, sizeof p, "%s/%s", path, e->d_name);
      run_path(p);
    }
    closedir(d);
    return;
  }
  blob b = read_file(path);
  LLVMFuzzerTestOneInput(b.data, b.size);
  free(b.data);
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--write-seeds") == 0) {
    make_seeds(argv[2], NULL);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "--mutate") == 0) {
    long iters = atol(argv[2]);
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x9E3779B97F4A7C15ull;
    char dir_path[512];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir_path, sizeof dir_path, "%s/fuzz-replay-seeds-XXXXXX", tmp);
    if (mkdtemp(dir_path) == NULL)
      die("mkdtemp failed");
    blob seeds[3];
    int n_seeds = make_seeds(dir_path, seeds);
    long ok = 0;
    for (long i = 0; i < iters; i++) {
      const blob *s = &seeds[next_rand() % (uint64_t)n_seeds];
      size_t cap = s->size + 256;
      uint8_t *f = malloc(cap);
      memcpy(f, s->data, s->size);
      size_t n = i % 10 == 0 ? s->size : mutate(f, s->size, cap);
      LLVMFuzzerTestOneInput(f, n);
      ok += wsrl_last_error_status() == WSRL_OK;
      free(f);
    }
    for (int k = 0; k < n_seeds; k++) {
      char p[600];
      snprintf(p, sizeof p, "%s/seed-%d.wsrl", dir_path, k);
      remove(p);
      free(seeds[k].data);
    }
    rmdir(dir_path);
    printf("fuzz-replay-load: %ld inputs, no crash\n", iters);
    (void)ok;
  } else if (argc >= 2) {
    for (int i = 1; i < argc; i++)
      run_path(argv[i]);
  } else {
    fprintf(stderr, "usage: %s --mutate N [SEED] | FILE|DIR... | --write-seeds DIR\n", argv[0]);
    return 2;
  }
  remove(scratch[0]);
  remove(scratch[1]);
  return 0;
}

#endif /* WSRL_FUZZ_LIBFUZZER */
