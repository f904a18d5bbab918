/* bench-nn: throughput of the NN engine on the WSRL locomotion shape.
 *
 * For 1 and 2 threads (or the counts given as arguments) it prints
 *   (a) fp32 GFLOP/s of a large oneDNN matmul (the practical peak) and of
 *       the ensemble's own matmul [10, B, 257] x [10, 257, 256];
 *   (b) SAC critic updates/s (actor sample at s', all 10 target critics,
 *       subset-min target, online forward/backward, Adam, Polyak) at batch
 *       256 and 1024, with achieved GFLOP/s;
 *   (c) actor + temperature updates/s at batch 1024 (min over all critics);
 *   (d) WSRL env-steps/s: 4 critic updates on 256-row minibatches + 1 actor
 *       update on the 1024 rows (UTD 4, no environment), against the bound
 *       FLOPs per env-step / measured ensemble-matmul rate; (d) evaluates
 *       all 10 target critics (the reference's work, which the bound
 *       counts), (d2) only the 2 drawn ones (the library's default,
 *       critic.evaluate_all_targets = 0: the same numbers, less work);
 *   (e) single-observation act() latency (forward + sample);
 *   (f) the same env-step through the public agent (wsrl_agent_update of a
 *       SAC agent in its online phase: UTD 4 x 256 rows), which adds the
 *       agent's own work (metrics, reference-mode optimizer steps).
 *   (g) the oneDNN kernels (fp32, bf16) and, where the CPU supports bf16, the
 *       bf16 figures (nn.precision = bf16): ensemble matmul rate, env-steps
 *       against the bf16 bound, agent env-steps and the bf16/fp32 ratios.
 * It ends with one line per figure, `name value unit`, for scripts.
 * Obs 17, act 6, 10 critics and an actor of 256x256 with LayerNorm.
 * FLOPs count the matmuls (2 per multiply-add, bias row included) of the
 * dense computation. The engine skips some of that work: the actor's
 * backward through the critics runs only on each row's argmin member (the
 * only one its gradient reaches), and (d2) skips 8 of the 10 targets; the
 * GFLOP/s and %-of-bound figures still count the dense FLOPs, so they say
 * how fast the update runs against the same yardstick, not how busy the
 * matmul units are. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ensemble/ensemble.h"
#include "nn/nn.h"
#include "policy/policy.h"
#include "wsrl/wsrl.h"

enum { OBS = 17, ACT = 6, ENS = 10, HID = 256, B_CRITIC = 256, B_TOTAL = 1024, UTD = 4, SUBSET = 2 };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define CHECK(call)                                                                              \
  do {                                                                                           \
    wsrl_status_t st_ = (call);                                                                  \
    if (st_ != WSRL_OK) {                                                                        \
      fprintf(stderr, "bench-nn: %s failed: %s (%s)\n", #call, wsrl_status_string(st_),         \
              wsrl_last_error_message());                                                        \
      exit(1);                                                                                   \
    }                                                                                            \
  } while (0)

/* ---- FLOP model (matmuls only) ---- */

/* Forward of an E-member MLP in -> HID -> HID -> out on B rows. */
static double mlp_fwd(double E, double B, double in, double out) {
  return 2.0 * E * B * ((in + 1) * HID + (HID + 1) * HID + (HID + 1) * out);
}
/* dX through the layers above the first (needed for any backward). */
static double mlp_dx_hidden(double E, double B, double out) { return 2.0 * E * B * (HID * HID + HID * out); }
static double mlp_dx_input(double E, double B, double in) { return 2.0 * E * B * in * HID; }

static double critic_update_flops(double B) {
  return mlp_fwd(1, B, OBS, 2 * ACT)                                   /* actor at s' */
         + mlp_fwd(ENS, B, OBS + ACT, 1)                               /* targets */
         + 2 * mlp_fwd(ENS, B, OBS + ACT, 1)                           /* online fwd + dW */
         + mlp_dx_hidden(ENS, B, 1);
}

static double actor_update_flops(double B) {
  return mlp_fwd(1, B, OBS, 2 * ACT) + mlp_fwd(ENS, B, OBS + ACT, 1) + mlp_dx_hidden(ENS, B, 1) +
         mlp_dx_input(ENS, B, OBS + ACT) + mlp_fwd(1, B, OBS, 2 * ACT) + mlp_dx_hidden(1, B, 2 * ACT);
}

/* ---- a SAC learner written against the internal API ---- */

typedef struct learner {
  wsrl__nn_ctx *ctx;
  wsrl_qensemble_t *q;
  wsrl__policy *pi;
  wsrl__scalar temp;
  wsrl__rng rng;
  float *s, *a, *r, *s2, *d;   /* B_TOTAL transitions */
  float *eps, *a_pi, *logp;    /* B_TOTAL rows */
  float *qbuf, *qtarget, *dq, *y, *qmin; /* [ENS, B_TOTAL] */
  int32_t *arg;
  float *dact, *dlogp;
  int subset; /* evaluate only the drawn target critics */
} learner;

static float *fbuf(size_t n) {
  float *p = calloc(n, sizeof(float));
  if (p == NULL) {
    fprintf(stderr, "bench-nn: out of memory\n");
    exit(1);
  }
  return p;
}

static void learner_init(learner *L, int32_t threads, int32_t precision) {
  memset(L, 0, sizeof *L);
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, NULL);
  CHECK(wsrl__nn_ctx_create(&L->ctx, &alloc, threads));
  CHECK(wsrl__nn_ctx_set_precision(L->ctx, precision));
  wsrl__config_values v;
  wsrl__config_defaults(&v);
  wsrl__rng_seed(&L->rng, 42, 0);
  wsrl__qensemble_spec qs;
  wsrl__qensemble_spec_from_config(&qs, &v, OBS, ACT, B_TOTAL);
  qs.subset_size = SUBSET;
  CHECK(wsrl__qensemble_create(&L->q, L->ctx, &qs, &L->rng));
  wsrl__policy_spec ps;
  wsrl__policy_spec_from_config(&ps, &v, OBS, ACT, B_TOTAL);
  CHECK(wsrl__policy_create(&L->pi, L->ctx, &ps, &L->rng));
  wsrl__adam_cfg tc;
  wsrl__adam_cfg_from_config(&tc, &v, v.optim_temperature_lr);
  CHECK(wsrl__scalar_init(&L->temp, WSRL__SCALAR_SOFTPLUS, 1.0, &tc));
  /* Build every shape now: the timed loops never allocate. */
  CHECK(wsrl__qensemble_prepare(L->q, B_CRITIC));
  CHECK(wsrl__qensemble_prepare(L->q, B_TOTAL));
  CHECK(wsrl__policy_prepare(L->pi, B_CRITIC));
  CHECK(wsrl__policy_prepare(L->pi, B_TOTAL));
  CHECK(wsrl__policy_prepare(L->pi, 1));
  const size_t n = B_TOTAL;
  L->s = fbuf(n * OBS), L->s2 = fbuf(n * OBS), L->a = fbuf(n * ACT), L->r = fbuf(n), L->d = fbuf(n);
  L->eps = fbuf(n * ACT), L->a_pi = fbuf(n * ACT), L->logp = fbuf(n);
  L->qbuf = fbuf(ENS * n), L->qtarget = fbuf(ENS * n), L->dq = fbuf(ENS * n), L->y = fbuf(n), L->qmin = fbuf(n);
  L->arg = calloc(n, sizeof(int32_t));
  L->dact = fbuf(n * ACT), L->dlogp = fbuf(n);
  wsrl__rng_fill_normal(&L->rng, L->s, n * OBS);
  wsrl__rng_fill_normal(&L->rng, L->s2, n * OBS);
  wsrl__rng_fill_uniform(&L->rng, L->a, n * ACT, -1.0f, 1.0f);
  wsrl__rng_fill_normal(&L->rng, L->r, n);
}

static void learner_free(learner *L) {
  wsrl__qensemble_free(L->q);
  wsrl__policy_destroy(L->pi);
  wsrl__nn_ctx_destroy(L->ctx);
  float *bufs[] = {L->s, L->s2, L->a, L->r, L->d, L->eps, L->a_pi, L->logp, L->qbuf, L->qtarget, L->dq, L->y, L->qmin,
                   L->dact, L->dlogp};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    free(bufs[i]);
  free(L->arg);
}

/* One SAC critic step on rows [off, off + B). */
static void critic_update(learner *L, int64_t off, int64_t B) {
  const float *s = L->s + off * OBS, *a = L->a + off * ACT, *s2 = L->s2 + off * OBS;
  /* As the SAC learner: a' ~ pi(.|s') and the online critics' forward on
   * (s, a), then the targets at (s', a'), in one region (forward group). */
  wsrl__mlp_fwd f[3];
  CHECK(wsrl__policy_forward_sample_plan(L->pi, B, s2, 1, &L->rng, L->a_pi, L->logp, &f[0]));
  CHECK(wsrl__qensemble_forward_plan(L->q, WSRL__Q_ONLINE, B, s, 1, a, L->qbuf, &f[1]));
  int32_t members[SUBSET];
  wsrl__qensemble_draw_subset(&L->rng, ENS, SUBSET, members);
  if (L->subset)
    CHECK(wsrl__qensemble_target_subset_plan(L->q, B, s2, 1, L->a_pi, members, SUBSET, L->qtarget, &f[2]));
  else
    CHECK(wsrl__qensemble_forward_plan(L->q, WSRL__Q_TARGET, B, s2, 1, L->a_pi, L->qtarget, &f[2]));
  f[2].after = 1;
  CHECK(wsrl__mlp_forward_group(f, 3));
  if (L->subset)
    wsrl__qensemble_min(L->qtarget, SUBSET, B, NULL, SUBSET, L->qmin, NULL);
  else
    wsrl__qensemble_min(L->qtarget, ENS, B, members, SUBSET, L->qmin, NULL);
  for (int64_t i = 0; i < B; i++)
    L->y[i] = L->r[off + i] + 0.99f * (1.0f - L->d[off + i]) * L->qmin[i];
  const float scale = 2.0f / (float)(ENS * B);
  for (int64_t e = 0; e < ENS; e++)
    for (int64_t i = 0; i < B; i++)
      L->dq[e * B + i] = scale * (L->qbuf[e * B + i] - L->y[i]);
  wsrl__qensemble_zero_grad(L->q);
  /* The backward, then the Adam step with the Polyak average in one pass,
   * in one region, as the agents do. */
  wsrl__mlp_step st = {wsrl__qensemble_mlp(L->q, WSRL__Q_ONLINE), wsrl__qensemble_mlp(L->q, WSRL__Q_TARGET), 0.005f,
                       0.0, 0.0f, 1.0f, WSRL_OK};
  CHECK(wsrl__mlp_backward_steps(st.m, L->dq, &st, 1));
}

/* One actor + temperature step on the first B rows. */
static void actor_update(learner *L, int64_t B) {
  wsrl__mlp_fwd f[2];
  CHECK(wsrl__policy_forward_sample_plan(L->pi, B, L->s, 1, &L->rng, L->a_pi, L->logp, &f[0]));
  CHECK(wsrl__qensemble_forward_plan(L->q, WSRL__Q_ONLINE, B, L->s, 1, L->a_pi, L->qbuf, &f[1]));
  f[1].after = 1;
  CHECK(wsrl__mlp_forward_group(f, 2));
  wsrl__qensemble_min(L->qbuf, ENS, B, NULL, 0, L->qmin, L->arg);
  memset(L->dq, 0, sizeof(float) * (size_t)(ENS * B));
  const float alpha = (float)wsrl__scalar_value(&L->temp);
  double entropy = 0.0;
  for (int64_t i = 0; i < B; i++) {
    L->dq[(int64_t)L->arg[i] * B + i] = -1.0f / (float)B;
    L->dlogp[i] = alpha / (float)B;
    entropy -= L->logp[i];
  }
  CHECK(wsrl__qensemble_backward(L->q, L->dq, L->dact, 0));
  wsrl__policy_zero_grad(L->pi);
  CHECK(wsrl__policy_backward_sample(L->pi, L->dact, L->dlogp));
  CHECK(wsrl__policy_adam_step(L->pi, NULL));
  wsrl__scalar_step(&L->temp, entropy / (double)B - (-(double)ACT));
}

static void env_step(learner *L) {
  for (int u = 0; u < UTD; u++)
    critic_update(L, (int64_t)u * B_CRITIC, B_CRITIC);
  actor_update(L, B_TOTAL);
}

/* Calls per second of fn over about `seconds` after one warm-up call. */
typedef void (*work_fn)(learner *L, int64_t arg);
static void w_critic(learner *L, int64_t b) { critic_update(L, 0, b); }
static void w_actor(learner *L, int64_t b) { actor_update(L, b); }
static void w_env(learner *L, int64_t b) { (void)b, env_step(L); }
static void w_act(learner *L, int64_t b) {
  (void)b;
  CHECK(wsrl__policy_forward(L->pi, 1, L->s));
  CHECK(wsrl__policy_sample(L->pi, 1, L->eps, L->a_pi, L->logp));
}

static double rate(learner *L, work_fn fn, int64_t arg, double seconds) {
  fn(L, arg);
  int64_t n = 0;
  const double t0 = now();
  double t;
  do {
    fn(L, arg);
    n++;
    t = now();
  } while (t - t0 < seconds);
  return (double)n / (t - t0);
}

/* A public SAC agent in its online phase with a fixed random batch. */
typedef struct agent_run {
  wsrl_agent_t *ag;
  float *obs, *next, *act, *rew, *mask;
  wsrl_batch_t b;
} agent_run;

static void agent_init(agent_run *A, int32_t threads, int32_t precision) {
  wsrl_config_t *cfg;
  CHECK(wsrl_config_create(&cfg));
  CHECK(wsrl_config_set(cfg, "agent.algorithm", "sac"));
  CHECK(wsrl_config_set_int(cfg, "agent.threads", threads));
  CHECK(wsrl_config_set(cfg, "nn.precision", precision == WSRL__NN_BF16 ? "bf16" : "fp32"));
  CHECK(wsrl_config_set_int(cfg, "update.utd", UTD));
  CHECK(wsrl_config_set_int(cfg, "update.batch_size", B_CRITIC));
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  spec.obs_dim = OBS;
  spec.act_dim = ACT;
  CHECK(wsrl_agent_create(&A->ag, cfg, &spec));
  wsrl_config_destroy(cfg);
  CHECK(wsrl_agent_switch_online(A->ag));
  int64_t rows;
  CHECK(wsrl_agent_batch_rows(A->ag, &rows));
  A->obs = fbuf((size_t)(rows * OBS)), A->next = fbuf((size_t)(rows * OBS)), A->act = fbuf((size_t)(rows * ACT));
  A->rew = fbuf((size_t)rows), A->mask = fbuf((size_t)rows);
  wsrl__rng r;
  wsrl__rng_seed(&r, 7, 0);
  wsrl__rng_fill_normal(&r, A->obs, (size_t)(rows * OBS));
  wsrl__rng_fill_normal(&r, A->next, (size_t)(rows * OBS));
  wsrl__rng_fill_uniform(&r, A->act, (size_t)(rows * ACT), -1.0f, 1.0f);
  wsrl__rng_fill_normal(&r, A->rew, (size_t)rows);
  for (int64_t i = 0; i < rows; i++)
    A->mask[i] = 1.0f;
  A->b = (wsrl_batch_t)WSRL_BATCH_INIT;
  A->b.size = rows, A->b.obs = A->obs, A->b.action = A->act, A->b.reward = A->rew, A->b.next_obs = A->next;
  A->b.mask = A->mask;
}

static void agent_free(agent_run *A) {
  wsrl_agent_destroy(A->ag);
  free(A->obs), free(A->next), free(A->act), free(A->rew), free(A->mask);
}

/* Updates/s (one update = one env-step) after one warm-up update. */
static double agent_rate(int32_t threads, int32_t precision, double seconds) {
  agent_run A;
  agent_init(&A, threads, precision);
  CHECK(wsrl_agent_update(A.ag, &A.b));
  int64_t n = 0;
  const double t0 = now();
  double t;
  do {
    CHECK(wsrl_agent_update(A.ag, &A.b));
    n++;
    t = now();
  } while (t - t0 < seconds);
  agent_free(&A);
  return (double)n / (t - t0);
}

typedef struct result {
  int32_t threads;
  double peak, ens_rate, critic256, critic1024, actor, env, env_subset, act_us, agent;
  char kernel[64]; /* oneDNN's implementation of the ensemble matmul */
  /* bf16 (nn.precision = bf16), when this CPU supports it */
  int bf16;
  double ens_rate16, env16, env_subset16, agent16;
  char kernel16[64];
} result;

/* The bf16 figures: ensemble matmul rate and env-steps (dense and subset). */
static void run_bf16(result *R, double seconds) {
  wsrl__alloc alloc;
  wsrl__alloc_resolve(&alloc, NULL);
  wsrl__nn_ctx *probe;
  CHECK(wsrl__nn_ctx_create(&probe, &alloc, R->threads));
  R->bf16 = wsrl__nn_ctx_set_precision(probe, WSRL__NN_BF16) == WSRL_OK;
  wsrl__nn_ctx_destroy(probe);
  if (!R->bf16) {
    printf("bf16: %s\n", wsrl_last_error_message());
    return;
  }
  learner L;
  learner_init(&L, R->threads, WSRL__NN_BF16);
  CHECK(wsrl__nn_matmul_rate(L.ctx, ENS, B_CRITIC, HID + 1, HID, seconds, &R->ens_rate16));
  snprintf(R->kernel16, sizeof R->kernel16, "%s", wsrl__nn_ctx_impl(L.ctx, WSRL__NN_BF16));
  R->env16 = rate(&L, w_env, 0, 2 * seconds);
  L.subset = 1;
  R->env_subset16 = rate(&L, w_env, 0, 2 * seconds);
  learner_free(&L);
  R->agent16 = agent_rate(R->threads, WSRL__NN_BF16, 2 * seconds);
}

static result run(int32_t threads, double seconds) {
  result R = {.threads = threads};
  learner L;
  learner_init(&L, threads, WSRL__NN_FP32);
  CHECK(wsrl__nn_matmul_rate(L.ctx, 1, 2048, 2048, 2048, seconds, &R.peak));
  CHECK(wsrl__nn_matmul_rate(L.ctx, ENS, B_CRITIC, HID + 1, HID, seconds, &R.ens_rate));
  snprintf(R.kernel, sizeof R.kernel, "%s", wsrl__nn_ctx_impl(L.ctx, WSRL__NN_FP32));
  R.critic256 = rate(&L, w_critic, B_CRITIC, seconds);
  R.critic1024 = rate(&L, w_critic, B_TOTAL, seconds);
  R.actor = rate(&L, w_actor, B_TOTAL, seconds);
  R.env = rate(&L, w_env, 0, 2 * seconds);
  L.subset = 1;
  R.env_subset = rate(&L, w_env, 0, 2 * seconds);
  L.subset = 0;
  R.act_us = 1e6 / rate(&L, w_act, 1, seconds);
  learner_free(&L);
  R.agent = agent_rate(threads, WSRL__NN_FP32, 2 * seconds);
  run_bf16(&R, seconds);
  return R;
}

int main(int argc, char **argv) {
  int32_t counts[8] = {1, 2};
  int n_counts = 2;
  double seconds = 2.0;
  const char *env_sec = getenv("WSRL_BENCH_SECONDS");
  if (env_sec != NULL && atof(env_sec) > 0)
    seconds = atof(env_sec);
  if (argc > 1) {
    n_counts = 0;
    for (int i = 1; i < argc && n_counts < 8; i++)
      counts[n_counts++] = atoi(argv[i]);
  }
  /* WSRL_BENCH_ENV_ONLY=fp32|bf16: only the env-steps (d) of that
   * precision, e.g. under perf record (WSRL_BENCH_AGENT=1: the public
   * agent's updates (f) instead); with WSRL_BENCH_ENV_STEPS=n exactly n
   * env-steps after one warm-up (to count events per env-step: the
   * difference of two counts). */
  const char *only = getenv("WSRL_BENCH_ENV_ONLY");
  if (only != NULL) {
    const int32_t precision = strcmp(only, "bf16") == 0 ? WSRL__NN_BF16 : WSRL__NN_FP32;
    const char *steps = getenv("WSRL_BENCH_ENV_STEPS"), *agent = getenv("WSRL_BENCH_AGENT");
    const char *name = precision == WSRL__NN_BF16 ? "bf16" : "fp32";
    for (int i = 0; i < n_counts; i++) {
      if (agent != NULL && atoi(agent) != 0) {
        if (steps == NULL) {
          printf("agent_env_steps_%s_t%d %.2f 1/s\n", name, counts[i], agent_rate(counts[i], precision, seconds));
          continue;
        }
        agent_run A;
        agent_init(&A, counts[i], precision);
        for (int n = atoi(steps), k = 0; k <= n; k++)
          CHECK(wsrl_agent_update(A.ag, &A.b));
        agent_free(&A);
        continue;
      }
      learner L;
      learner_init(&L, counts[i], precision);
      if (steps != NULL) {
        for (int n = atoi(steps), k = 0; k <= n; k++)
          env_step(&L);
      } else {
        printf("env_steps_%s_t%d %.2f 1/s\n", name, counts[i], rate(&L, w_env, 0, seconds));
      }
      learner_free(&L);
    }
    return 0;
  }
  const double fc256 = critic_update_flops(B_CRITIC), fc1024 = critic_update_flops(B_TOTAL);
  const double fa = actor_update_flops(B_TOTAL), fenv = UTD * fc256 + fa;
  printf("bench-nn: %s; obs %d, act %d, %d critics + actor of %dx%d with LayerNorm\n", wsrl__nn_backend_info(), OBS,
         ACT, ENS, HID, HID);
  printf("FLOPs per update (matmuls): critic@256 %.3f G, critic@1024 %.3f G, actor+temp@1024 %.3f G, "
         "env-step (%d x critic@256 + actor@1024) %.3f G\n",
         fc256 * 1e-9, fc1024 * 1e-9, fa * 1e-9, UTD, fenv * 1e-9);
  result res[8];
  for (int i = 0; i < n_counts; i++) {
    result R = res[i] = run(counts[i], seconds);
    const double bound = R.ens_rate * 1e9 / fenv;
    printf("\n== %d thread(s)\n", R.threads);
    printf("(a) peak matmul 2048^3: %.1f GFLOP/s; ensemble matmul [10,256,257]x[10,257,256]: %.1f GFLOP/s\n",
           R.peak, R.ens_rate);
    printf("(b) critic updates: %.1f/s at batch 256 (%.1f GFLOP/s), %.1f/s at batch 1024 (%.1f GFLOP/s)\n",
           R.critic256, R.critic256 * fc256 * 1e-9, R.critic1024, R.critic1024 * fc1024 * 1e-9);
    printf("(c) actor+temperature updates: %.1f/s at batch 1024 (%.1f GFLOP/s)\n", R.actor, R.actor * fa * 1e-9);
    printf("(d) WSRL env-steps: %.2f/s (%.1f GFLOP/s); bound %.2f/s -> %.0f%% of bound\n", R.env,
           R.env * fenv * 1e-9, bound, 100.0 * R.env / bound);
    printf("(d2) the same, target subset only (library default): %.2f/s -> %.0f%% of bound\n", R.env_subset,
           100.0 * R.env_subset / bound);
    printf("(e) act() latency, 1 observation: %.1f us\n", R.act_us);
    printf("(f) public SAC agent, wsrl_agent_update (UTD %d x %d): %.2f env-steps/s -> %.0f%% of bound\n", UTD,
           B_CRITIC, R.agent, 100.0 * R.agent / bound);
    printf("(g) kernels: fp32 %s", R.kernel);
    if (R.bf16) {
      const double b16 = R.ens_rate16 * 1e9 / fenv;
      printf(", bf16 %s\n(g) bf16: ensemble matmul %.1f GFLOP/s; env-steps %.2f/s, bound %.2f/s -> %.0f%% of bound; "
             "subset %.2f/s; agent %.2f/s; bf16/fp32 env-steps x%.2f, agent x%.2f\n",
             R.kernel16, R.ens_rate16, R.env16, b16, 100.0 * R.env16 / b16, R.env_subset16, R.agent16,
             R.env16 / R.env, R.agent16 / R.agent);
    } else {
      printf("; bf16 not supported here\n");
    }
  }
  for (int i = 1; i < n_counts && res[0].threads == 1; i++)
    printf("%sscaling %d vs 1 thread(s): env-steps x%.2f, agent x%.2f\n", i == 1 ? "\n" : "", res[i].threads,
           res[i].env / res[0].env, res[i].agent / res[0].agent);
  printf("\n");
  printf("flops_critic_update_256 %.0f FLOP\n", fc256);
  printf("flops_critic_update_1024 %.0f FLOP\n", fc1024);
  printf("flops_actor_update_1024 %.0f FLOP\n", fa);
  printf("flops_env_step %.0f FLOP\n", fenv);
  for (int i = 0; i < n_counts; i++) {
    const result *R = &res[i];
    const int t = R->threads;
    printf("peak_matmul_t%d %.1f GFLOP/s\n", t, R->peak);
    printf("ensemble_matmul_t%d %.1f GFLOP/s\n", t, R->ens_rate);
    printf("critic_updates_256_t%d %.2f 1/s\n", t, R->critic256);
    printf("critic_gflops_256_t%d %.1f GFLOP/s\n", t, R->critic256 * fc256 * 1e-9);
    printf("critic_updates_1024_t%d %.2f 1/s\n", t, R->critic1024);
    printf("critic_gflops_1024_t%d %.1f GFLOP/s\n", t, R->critic1024 * fc1024 * 1e-9);
    printf("actor_updates_1024_t%d %.2f 1/s\n", t, R->actor);
    printf("env_steps_t%d %.2f 1/s\n", t, R->env);
    printf("env_steps_bound_t%d %.2f 1/s\n", t, R->ens_rate * 1e9 / fenv);
    printf("env_steps_of_bound_t%d %.1f %%\n", t, 100.0 * R->env / (R->ens_rate * 1e9 / fenv));
    printf("env_steps_subset_t%d %.2f 1/s\n", t, R->env_subset);
    printf("env_steps_subset_of_bound_t%d %.1f %%\n", t, 100.0 * R->env_subset / (R->ens_rate * 1e9 / fenv));
    printf("act_latency_t%d %.1f us\n", t, R->act_us);
    printf("agent_env_steps_t%d %.2f 1/s\n", t, R->agent);
    printf("kernel_fp32_t%d %s impl\n", t, R->kernel);
    printf("bf16_supported_t%d %d bool\n", t, R->bf16);
    if (R->bf16) {
      const double b16 = R->ens_rate16 * 1e9 / fenv;
      printf("kernel_bf16_t%d %s impl\n", t, R->kernel16);
      printf("ensemble_matmul_bf16_t%d %.1f GFLOP/s\n", t, R->ens_rate16);
      printf("env_steps_bf16_t%d %.2f 1/s\n", t, R->env16);
      printf("env_steps_bf16_bound_t%d %.2f 1/s\n", t, b16);
      printf("env_steps_bf16_of_bound_t%d %.1f %%\n", t, 100.0 * R->env16 / b16);
      printf("env_steps_subset_bf16_t%d %.2f 1/s\n", t, R->env_subset16);
      printf("agent_env_steps_bf16_t%d %.2f 1/s\n", t, R->agent16);
      printf("env_steps_bf16_fp32_ratio_t%d %.2f x\n", t, R->env16 / R->env);
      printf("agent_env_steps_bf16_fp32_ratio_t%d %.2f x\n", t, R->agent16 / R->agent);
    }
  }
  for (int i = 1; i < n_counts && res[0].threads == 1; i++) {
    printf("env_steps_scaling_t%d %.2f x\n", res[i].threads, res[i].env / res[0].env);
    printf("agent_env_steps_scaling_t%d %.2f x\n", res[i].threads, res[i].agent / res[0].agent);
    if (res[i].bf16 && res[0].bf16)
      printf("env_steps_bf16_scaling_t%d %.2f x\n", res[i].threads, res[i].env16 / res[0].env16);
  }
  return 0;
}
