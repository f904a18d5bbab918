/* Replay benchmark: sampled transitions per second for batch 256 and 1024
 * from a 1M-transition buffer (obs 17, act 6: HalfCheetah-sized), plus mixed
 * sampling, inserts and native file throughput. Prints 'name value unit'.
 * Usage: bench-replay [capacity] (default 1000000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "replay/replay_internal.h"
#include "wsrl/wsrl.h"

enum { OBS = 17, ACT = 6, EPISODE = 1000, CHUNK = 4096 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void check(wsrl_status_t st, const char *what) {
  if (st != WSRL_OK) {
    fprintf(stderr, "bench-replay: %s: %s: %s\n", what, wsrl_status_string(st), wsrl_last_error_message());
    exit(1);
  }
}

/* Fill with pseudo-random transitions in episodes of EPISODE steps. */
static void fill(wsrl_replay_t *r, int64_t n, uint64_t seed) {
  static float obs[CHUNK * OBS], act[CHUNK * ACT], rew[CHUNK], next[CHUNK * OBS];
  static int32_t trunc[CHUNK];
  uint64_t x = seed * 2654435761u + 1;
  for (int64_t done = 0; done < n;) {
    int64_t k = n - done < CHUNK ? n - done : CHUNK;
    for (int64_t i = 0; i < k; i++) {
      for (int j = 0; j < OBS; j++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        obs[i * OBS + j] = (float)(x >> 40) / (float)(1u << 24) - 0.5f;
        next[i * OBS + j] = obs[i * OBS + j] + 0.01f;
      }
      for (int j = 0; j < ACT; j++)
        act[i * ACT + j] = obs[i * OBS + j];
      rew[i] = obs[i * OBS];
      trunc[i] = (done + i) % EPISODE == EPISODE - 1;
    }
    check(wsrl_replay_add_batch(r, k, obs, act, rew, next, NULL, trunc), "add_batch");
    done += k;
  }
}

/* Run fn-like sampling until ~0.5 s have passed; return transitions per second. */
static double bench_sample(wsrl_replay_t *on, wsrl_replay_t *off, double ratio, int64_t batch,
                           const wsrl__replay_batch *b, double *us_per_batch) {
  int64_t iters = 0;
  double t0 = now(), t = t0;
  while (t - t0 < 0.5) {
    for (int k = 0; k < 16; k++) {
      if (off)
        check(wsrl__replay_sample_mixed_into(on, wsrl__replay_rng(on), off, wsrl__replay_rng(off), ratio, batch, 0, b), "sample_mixed");
      else
        check(wsrl__replay_sample_into(on, wsrl__replay_rng(on), batch, 0, b), "sample");
    }
    iters += 16;
    t = now();
  }
  *us_per_batch = 1e6 * (t - t0) / (double)iters;
  return (double)(iters * batch) / (t - t0);
}

int main(int argc, char **argv) {
  int64_t cap = argc > 1 ? atoll(argv[1]) : 1000000;
  if (cap < 1024) {
    fprintf(stderr, "usage: bench-replay [capacity >= 1024]\n");
    return 2;
  }
  wsrl_replay_options_t opt = WSRL_REPLAY_OPTIONS_INIT;
  opt.seed = 1;
  wsrl_replay_t *r = NULL, *off = NULL;
  check(wsrl_replay_create(&r, OBS, ACT, cap, &opt), "create");
  check(wsrl_replay_create(&off, OBS, ACT, cap, &opt), "create");

  double t0 = now();
  fill(r, cap, 1);
  double t_fill = now() - t0;
  fill(off, cap, 2);
  int64_t bytes;
  check(wsrl_replay_memory_usage(r, &bytes), "memory_usage");
  printf("replay_capacity %lld transitions\n", (long long)cap);
  printf("replay_memory %.1f MiB\n", (double)bytes / (1 << 20));
  printf("replay_add_batch %.0f transitions/s\n", (double)cap / t_fill);

  /* One add at a time, as the online loop does (episodes of 1000 steps). */
  float o[OBS] = {0}, a[ACT] = {0}, nx[OBS] = {0};
  int64_t adds = 200000;
  t0 = now();
  for (int64_t i = 0; i < adds; i++)
    check(wsrl_replay_add(r, o, a, 1.0f, nx, 0, i % EPISODE == EPISODE - 1), "add");
  printf("replay_add %.0f transitions/s\n", (double)adds / (now() - t0));

  wsrl__alloc al;
  wsrl__alloc_resolve(&al, NULL);
  wsrl__replay_batch b;
  check(wsrl__replay_batch_alloc(&b, &al, 1024, OBS, ACT, 0), "batch_alloc");
  const int64_t batches[2] = {256, 1024};
  for (int k = 0; k < 2; k++) {
    double us;
    double tps = bench_sample(r, NULL, 0, batches[k], &b, &us);
    printf("replay_sample_b%lld %.0f transitions/s\n", (long long)batches[k], tps);
    printf("replay_sample_b%lld_latency %.2f us/batch\n", (long long)batches[k], us);
  }
  double us;
  double tps = bench_sample(r, off, 0.5, 1024, &b, &us);
  printf("replay_sample_mixed_b1024 %.0f transitions/s\n", tps);
  printf("replay_sample_mixed_b1024_latency %.2f us/batch\n", us);
  wsrl__replay_batch_free(&b, &al);

  /* Native file round trip of up to 100k transitions. */
  int64_t file_rows = cap < 100000 ? cap : 100000;
  wsrl_replay_t *f = NULL;
  check(wsrl_replay_create(&f, OBS, ACT, file_rows, &opt), "create");
  fill(f, file_rows, 3);
  const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  char path[512];
  snprintf(path, sizeof path, "%s/bench-replay-%ld.wsrl", tmpdir, (long)getpid());
  double mib = (double)file_rows * (2 * OBS + ACT + 2) * 4 / (1 << 20);
  t0 = now();
  check(wsrl_replay_save(f, path), "save");
  printf("replay_save %.0f MiB/s\n", mib / (now() - t0));
  t0 = now();
  check(wsrl_replay_load(f, path, NULL), "load");
  printf("replay_load %.0f MiB/s\n", mib / (now() - t0));
  remove(path);

  wsrl_replay_destroy(f);
  wsrl_replay_destroy(off);
  wsrl_replay_destroy(r);
  return 0;
}
