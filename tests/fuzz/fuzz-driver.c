/* The fuzz harnesses' shared driver: scratch files, CRC resealing, the
 * deterministic mutator of the 'fuzz' suite, corpus replay, seeds, and the
 * libFuzzer custom mutator. See fuzz.h. */
#define _GNU_SOURCE /* dladdr */
#include <dirent.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"
#include "io/io.h"

#if defined(__SANITIZE_ADDRESS__)
#define WSRL_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WSRL_FUZZ_ASAN 1
#endif
#endif

static char scratch_dir[512], scratch[4][560];
static pid_t scratch_owner;

/* Remove the scratch directory and everything in it (temporary files of a
 * save that crashed in a child too); only the process that made it. */
static void scratch_cleanup(void) {
  if (scratch_dir[0] == '\0' || getpid() != scratch_owner)
    return;
  DIR *d = opendir(scratch_dir);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      unlinkat(dirfd(d), e->d_name, 0);
  if (d != NULL)
    closedir(d);
  rmdir(scratch_dir);
}

void fuzz_die(const char *what) {
  fprintf(stderr, "fuzz-%s: %s (last error: %s)\n", fuzz_target.name, what, wsrl_last_error_message());
  abort();
}

/* The scratch files live in a private directory: saves scan their
 * directory for stale temporary files, which must stay cheap per input. */
const char *fuzz_scratch(int k) {
  if (scratch_dir[0] == '\0') {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(scratch_dir, sizeof scratch_dir, "%s/fuzz-%s-XXXXXX", tmp, fuzz_target.name);
    if (mkdtemp(scratch_dir) == NULL) {
      scratch_dir[0] = '\0';
      fuzz_die("cannot make the scratch directory");
    }
    scratch_owner = getpid();
    atexit(scratch_cleanup);
  }
  if (scratch[k][0] == '\0')
    snprintf(scratch[k], sizeof scratch[k], "%s/%d", scratch_dir, k);
  return scratch[k];
}

void fuzz_write(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, size, f) != size)
    fuzz_die("cannot write the scratch file");
  fclose(f);
}

int fuzz_status_allowed(wsrl_status_t st) {
  return st == WSRL_OK || st == WSRL_ERR_CORRUPT || st == WSRL_ERR_VERSION_MISMATCH || st == WSRL_ERR_NON_FINITE ||
         st == WSRL_ERR_INVALID_ARGUMENT || st == WSRL_ERR_UNSUPPORTED;
}

wsrl_config_t *fuzz_small_config(const char *algorithm) {
  static const char text[] = "critic.hidden = 8,8\nactor.hidden = 8,8\ncritic.ensemble_size = 2\n"
                             "critic.subsample = 2\nupdate.batch_size = 4\ncql.n_actions = 2\nagent.threads = 1\n"
                             "replay.capacity = 64\nfinetune.warmup_steps = 2\n";
  wsrl_config_t *c = NULL;
  if (wsrl_config_create(&c) != WSRL_OK || wsrl_config_parse_string(c, text) != WSRL_OK ||
      wsrl_config_set(c, "agent.algorithm", algorithm) != WSRL_OK)
    fuzz_die("cannot make the small config");
  return c;
}

wsrl_agent_t *fuzz_small_agent(const wsrl_config_t *config) {
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = 3;
  spec.act_dim = 2;
  wsrl_agent_t *a = NULL;
  if (wsrl_agent_create(&a, config, &spec) != WSRL_OK)
    fuzz_die("cannot make the small agent");
  return a;
}

/* Recompute every CRC of a section container so that a mutation reaches
 * the checks behind them (only when the header and table still make sense). */
static void reseal(uint8_t *f, size_t n) {
  if (!fuzz_target.sectioned || n < 64)
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

#ifdef WSRL_FUZZ_LIBFUZZER

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* libFuzzer's mutation, then (3 times in 4) valid CRCs again. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, max_size);
  if (seed % 4 != 0)
    reseal(data, size);
  return size;
}

#else

typedef struct blob {
  uint8_t *data;
  size_t size;
} blob;

static blob read_file(const char *path) {
  blob b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    fuzz_die("cannot read an input file");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b.data = malloc((size_t)n + 1);
  b.size = fread(b.data, 1, (size_t)n, f);
  fclose(f);
  return b;
}

static uint64_t rng_state;
static uint64_t next_rand(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static const int64_t interesting[] = {0, 1, -1, 2, 7, 8, 64, 4096, 65536, INT32_MAX, INT32_MIN, INT64_MAX,
                                      INT64_MIN, 0x7FC00000 /* NaN bits */, 0x7F800000 /* inf */,
                                      0x7149F2CA /* 1e30f */};

static size_t mutate(uint8_t *f, size_t n, size_t cap) {
  int ops = 1 + (int)(next_rand() % 4);
  for (int k = 0; k < ops && n > 0; k++) {
    size_t at = (size_t)(next_rand() % n);
    switch (next_rand() % 6) {
    case 0: /* bit flip */
      f[at] ^= (uint8_t)(1u << (next_rand() % 8));
      break;
    case 1: /* random byte (printable half the time, for text formats) */
      f[at] = next_rand() % 2 ? (uint8_t)(' ' + next_rand() % 95) : (uint8_t)next_rand();
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
    default: /* the first section, where the counters and sizes live */
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

#define FOREIGN_EXIT 86

/* In the child: a fatal signal with a frame in the foreign library exits
 * FOREIGN_EXIT; any other is re-raised with the default action. */
static void on_fatal(int sig) {
  void *frames[64];
  int n = backtrace(frames, 64);
  for (int i = 0; i < n; i++) {
    Dl_info info;
    if (dladdr(frames[i], &info) && info.dli_fname && strstr(info.dli_fname, fuzz_target.foreign_lib))
      _exit(FOREIGN_EXIT);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static long foreign_crashes;

/* One input, in a child process when the target asks for it. */
static void run_one(const uint8_t *data, size_t size) {
  if (fuzz_target.foreign_lib == NULL) {
    LLVMFuzzerTestOneInput(data, size);
    return;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    fuzz_die("fork failed");
  if (pid == 0) {
    /* 1 GiB of address space: a file asking for more fails fast (under
     * ASan, whose shadow needs more, ASAN_OPTIONS max_allocation_size_mb). */
#ifndef WSRL_FUZZ_ASAN
    struct rlimit lim = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    setrlimit(RLIMIT_AS, &lim);
#endif
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
      signal(sigs[i], on_fatal);
    LLVMFuzzerTestOneInput(data, size);
    _exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    fuzz_die("waitpid failed");
  if (WIFEXITED(status) && WEXITSTATUS(status) == FOREIGN_EXIT) {
    foreign_crashes++;
    return;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "fuzz-%s: an input crashed outside %s (status 0x%x)\n", fuzz_target.name,
            fuzz_target.foreign_lib, (unsigned)status);
    abort();
  }
}

static void run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    fuzz_die("no such input");
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
  run_one(b.data, b.size);
  free(b.data);
}

/* The seeds, each run once, then iters mutants. */
static void run_mutations(long iters) {
  char dir_path[512];
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(dir_path, sizeof dir_path, "%s/fuzz-%s-seeds-XXXXXX", tmp, fuzz_target.name);
  if (mkdtemp(dir_path) == NULL)
    fuzz_die("mkdtemp failed");
  int n_seeds = fuzz_target.write_seeds(dir_path);
  blob *seeds = calloc((size_t)n_seeds, sizeof *seeds);
  char p[600];
  for (int k = 0; k < n_seeds; k++) {
    snprintf(p, sizeof p, "%s/seed-%d", dir_path, k);
    seeds[k] = read_file(p);
    run_one(seeds[k].data, seeds[k].size);
    remove(p);
  }
  rmdir(dir_path);
  for (long i = 0; i < iters; i++) {
    const blob *s = &seeds[next_rand() % (uint64_t)n_seeds];
    size_t cap = s->size + 256;
    uint8_t *f = malloc(cap);
    memcpy(f, s->data, s->size);
    size_t n = mutate(f, s->size, cap);
    run_one(f, n);
    free(f);
  }
  for (int k = 0; k < n_seeds; k++)
    free(seeds[k].data);
  free(seeds);
  printf("fuzz-%s: %d seeds and %ld mutants, no crash in libwsrl", fuzz_target.name, n_seeds, iters);
  if (fuzz_target.foreign_lib != NULL)
    printf("; %ld crashes inside %s", foreign_crashes, fuzz_target.foreign_lib);
  printf("\n");
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--write-seeds") == 0) {
    printf("fuzz-%s: %d seeds\n", fuzz_target.name, fuzz_target.write_seeds(argv[2]));
    return 0;
  }
  fuzz_scratch(0); /* before any fork: children share the directory */
  if (argc >= 3 && strcmp(argv[1], "--mutate") == 0) {
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x9E3779B97F4A7C15ull;
    run_mutations(atol(argv[2]));
  } else if (argc >= 2) {
    for (int i = 1; i < argc; i++)
      run_path(argv[i]);
  } else {
    fprintf(stderr, "usage: %s --mutate N [SEED] | FILE|DIR... | --write-seeds DIR\n", argv[0]);
    return 2;
  }
  return 0;
}

#endif /* WSRL_FUZZ_LIBFUZZER */
