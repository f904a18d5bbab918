/*
 * Bitwise guard of the learners: a few hundred updates of every algorithm
 * (tiny networks, fixed seed, one oneDNN thread) on a fixed synthetic batch
 * stream, hashed over the whole learned state (every checkpoint section but
 * the config text: parameters, Adam moments, scalars, RNG streams, counters)
 * and every metric of every update, plus stochastic actions at the end.
 * A refactor of lib/agents must leave each hash unchanged.
 *
 *   bitwise-updates EXPECTED_FILE        compare (exit 77 = skipped)
 *   bitwise-updates --print              print the file's contents
 *
 * Numbers are bitwise reproducible only for one instruction set and thread
 * count (docs/threading.md): meson pins DNNL_MAX_CPU_ISA=AVX2 and the file
 * records the CPU features the library's own kernels dispatch on
 * (target_clones) and the compiler; on another CPU or compiler the test prints its hashes and skips. A
 * change that means to alter the numbers regenerates the file with --print
 * and says why in its commit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "wsrl/wsrl.h"

#define OBS 5
#define ACT 3
#define POOL 512

static const char *const BASE = "critic.hidden = 16,16\nactor.hidden = 16,16\nupdate.batch_size = 8\n"
                                "update.utd = 2\ncritic.ensemble_size = 4\ncritic.subsample = 2\n"
                                "cql.n_actions = 3\ntd.max_target_actions = 3\nagent.threads = 1\nagent.seed = 7\n"
                                "optim.actor_lr = 1e-3\noptim.critic_lr = 1e-3\n";

typedef struct variant {
  const char *name;
  const char *config;
  int offline, online; /* updates before and after wsrl_agent_switch_online() */
} variant;

/* Every learner, both phases, both UTD paths, the optional terms. */
static const variant VARIANTS[] = {
    {"sac", "agent.algorithm = sac\ntd.backup_entropy = 1\ntd.max_target_backup = all\n", 0, 300},
    {"sac-skip", "agent.algorithm = sac\noptim.step_untrained = skip\ncritic.subsample = 4\n", 0, 200},
    {"cql", "agent.algorithm = cql\ncql.autotune_alpha = 1\n", 150, 150},
    {"cql-same", "agent.algorithm = cql\nfinetune.online_algorithm = same\ncql.importance_sample = 0\n", 100, 100},
    {"calql", "agent.algorithm = calql\ncalql.clip_uniform = 1\n", 150, 150},
    {"calql-same", "agent.algorithm = calql\nfinetune.online_algorithm = same\nfinetune.reset_optimizer = 1\n", 100,
     100},
    {"iql", "agent.algorithm = iql\nactor.tanh_squash = 0\nactor.std_parameterization = uniform\n", 150, 150},
    {"iql-same", "agent.algorithm = iql\nfinetune.online_algorithm = same\n", 100, 100},
    {"td3bc", "agent.algorithm = td3bc\ncritic.ensemble_size = 2\n", 150, 150},
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ c[i]) * 0x100000001b3ull;
  return h;
}

/* A fixed pool of transitions from a fixed generator (not the library's). */
static float pool_obs[POOL * OBS], pool_next[POOL * OBS], pool_act[POOL * ACT], pool_r[POOL], pool_mask[POOL],
    pool_mc[POOL];

static float unif(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((*s >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void make_pool(void) {
  uint64_t s = 12345;
  for (int i = 0; i < POOL * OBS; i++) {
    pool_obs[i] = unif(&s);
    pool_next[i] = pool_obs[i] + 0.1f * unif(&s);
  }
  for (int i = 0; i < POOL * ACT; i++)
    pool_act[i] = 0.95f * unif(&s);
  for (int i = 0; i < POOL; i++) {
    pool_r[i] = unif(&s) - 0.5f * pool_obs[i * OBS] * pool_obs[i * OBS];
    pool_mask[i] = unif(&s) > -0.9f ? 1.0f : 0.0f;
    pool_mc[i] = 10.0f * unif(&s);
  }
}

#define FAIL(what)                                                                                                     \
  do {                                                                                                                 \
    fprintf(stderr, "%s: %s: %s\n", v->name, what, wsrl_last_error_message());                                       \
    return 0;                                                                                                          \
  } while (0)

static int update_once(wsrl_agent_t *ag, const variant *v, int64_t *at, uint64_t *h) {
  int64_t rows = 0;
  if (wsrl_agent_batch_rows(ag, &rows) != WSRL_OK)
    FAIL("batch_rows");
  if (*at + rows > POOL)
    *at = 0;
  wsrl_batch_t b = WSRL_BATCH_INIT;
  b.size = rows;
  b.obs = pool_obs + *at * OBS;
  b.action = pool_act + *at * ACT;
  b.reward = pool_r + *at;
  b.next_obs = pool_next + *at * OBS;
  b.mask = pool_mask + *at;
  b.mc_return = pool_mc + *at;
  *at += rows;
  if (wsrl_agent_update(ag, &b) != WSRL_OK)
    FAIL("update");
  int32_t n = 0;
  wsrl_agent_metric_count(ag, &n);
  for (int32_t i = 0; i < n; i++) {
    double x = 0;
    wsrl_agent_metric(ag, i, NULL, &x);
    *h = fnv(*h, &x, sizeof x);
  }
  return 1;
}

/* Hash every section of the agent's checkpoint except its config text. */
static int hash_state(const wsrl_agent_t *ag, const variant *v, uint64_t *h) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/wsrl-bitwise-%d.ckpt", (int)getpid());
  if (wsrl_agent_save(ag, path) != WSRL_OK)
    FAIL("save");
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, NULL);
  wsrl__secreader r;
  if (wsrl__secreader_open(&r, path, "WSRLAGNT", 1, &alloc) != WSRL_OK)
    FAIL("open");
  int ok = 1;
  for (uint32_t i = 0; i < r.count && ok; i++) {
    const wsrl__section *s = &r.sections[i];
    if (strcmp(s->name, "config") == 0)
      continue;
    void *buf = malloc(s->size + 1);
    ok = buf != NULL && wsrl__secreader_read_all(&r, s, buf) == WSRL_OK;
    if (ok) {
      *h = fnv(*h, s->name, strlen(s->name));
      *h = fnv(*h, buf, s->size);
    }
    free(buf);
  }
  wsrl__secreader_close(&r);
  remove(path);
  if (!ok)
    FAIL("read");
  return 1;
}

static int run(const variant *v, uint64_t *hash_out) {
  wsrl_config_t *c = NULL;
  wsrl_agent_t *ag = NULL;
  int ok = wsrl_config_create(&c) == WSRL_OK && wsrl_config_parse_string(c, BASE) == WSRL_OK &&
           wsrl_config_parse_string(c, v->config) == WSRL_OK;
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = OBS;
  spec.act_dim = ACT;
  ok = ok && wsrl_agent_create(&ag, c, &spec) == WSRL_OK;
  wsrl_config_destroy(c);
  if (!ok) {
    fprintf(stderr, "%s: create: %s\n", v->name, wsrl_last_error_message());
    return 0;
  }
  uint64_t h = 0xcbf29ce484222325ull;
  int64_t at = 0;
  for (int i = 0; i < v->offline && ok; i++)
    ok = update_once(ag, v, &at, &h);
  if (ok && v->offline > 0)
    ok = wsrl_agent_switch_online(ag) == WSRL_OK;
  for (int i = 0; i < v->online && ok; i++)
    ok = update_once(ag, v, &at, &h);
  float act[4 * ACT];
  ok = ok && wsrl_agent_act(ag, 4, pool_obs, 0, act) == WSRL_OK;
  if (ok)
    h = fnv(h, act, sizeof act);
  ok = ok && hash_state(ag, v, &h);
  wsrl_agent_destroy(ag);
  *hash_out = h;
  return ok;
}

/* What the numbers depend on besides the code: the CPU features the
 * library's kernels dispatch on, and the compiler (its floating-point
 * contraction) of this build. */
#if defined(__clang__)
#  define COMPILER "clang"
#elif defined(__GNUC__)
#  define COMPILER "gcc"
#else
#  define COMPILER "cc"
#endif
static const char *isa(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") ? "avx512f-" COMPILER
         : __builtin_cpu_supports("avx2")  ? "avx2-" COMPILER
                                           : "default-" COMPILER;
#else
  return "other-" COMPILER;
#endif
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s EXPECTED_FILE | --print\n", argv[0]);
    return 2;
  }
  const char *dnnl_isa = getenv("DNNL_MAX_CPU_ISA");
  if (dnnl_isa == NULL || strcmp(dnnl_isa, "AVX2") != 0) {
    fprintf(stderr, "run with DNNL_MAX_CPU_ISA=AVX2 (meson test does)\n");
    return 2;
  }
  make_pool();
  uint64_t got[N_VARIANTS];
  for (size_t i = 0; i < N_VARIANTS; i++)
    if (!run(&VARIANTS[i], &got[i]))
      return 1;
  if (strcmp(argv[1], "--print") == 0) {
    printf("isa %s\n", isa());
    for (size_t i = 0; i < N_VARIANTS; i++)
      printf("%s %016llx\n", VARIANTS[i].name, (unsigned long long)got[i]);
    return 0;
  }
  FILE *f = fopen(argv[1], "r");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  char word[64], want_isa[64] = "";
  unsigned long long want;
  int fails = 0, seen = 0;
  if (fscanf(f, "isa %63s", want_isa) != 1) {
    fprintf(stderr, "%s: first line must be 'isa <name>'\n", argv[1]);
    fclose(f);
    return 1;
  }
  const int same_isa = strcmp(want_isa, isa()) == 0;
  while (fscanf(f, "%63s %llx", word, &want) == 2) {
    for (size_t i = 0; i < N_VARIANTS; i++)
      if (strcmp(word, VARIANTS[i].name) == 0) {
        seen++;
        const int eq = got[i] == (uint64_t)want;
        printf("%-12s %016llx %s\n", word, (unsigned long long)got[i], eq ? "ok" : "DIFFERS");
        fails += !eq;
      }
  }
  fclose(f);
  if (seen != (int)N_VARIANTS) {
    fprintf(stderr, "%s lists %d of the %d variants\n", argv[1], seen, (int)N_VARIANTS);
    return 1;
  }
  if (!same_isa) {
    printf("recorded on '%s', this CPU is '%s': numbers may differ, skipped\n", want_isa, isa());
    return 77;
  }
  return fails == 0 ? 0 : 1;
}
