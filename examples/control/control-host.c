/*
 * wsrl-control-host: learn and control at once.
 *
 * A control thread ticks at a fixed rate (1 kHz by default): each tick it
 * takes the agent's latest policy snapshot (lock-free), acts on the plant's
 * observation in plain C, steps the plant (a bundled MuJoCo task, stepped
 * once per tick: a stand-in for a real robot) and hands the transition to
 * the learner through a lock-free single-producer queue. A learner thread
 * feeds those transitions to a WSRL fine-tuning session and runs its due
 * updates; every update publishes a new snapshot. The control thread never
 * waits for the learner and never touches the agent itself.
 *
 * It runs the control loop twice, first with the learner idle, then with it
 * training, and prints the tick latency (the work of one tick) p50/p99/max,
 * deadline misses and how old the snapshot in use was (milliseconds since
 * it appeared, and updates behind the learner).
 *
 *   wsrl-control-host [--task NAME] [--rate HZ] [--idle-seconds S]
 *                     [--train-seconds S] [--checkpoint FILE] [--realtime 0|1]
 *                     [--set KEY=VALUE]...
 *
 * --realtime 1 runs the control thread under SCHED_FIFO (priority 80) with
 * its memory locked, as a real controller would (needs CAP_SYS_NICE; a
 * warning and normal scheduling otherwise).
 *
 * Without --checkpoint the agent starts untrained (a real host would load
 * a pretrained agent: the WSRL recipe). Exit status 1 on any error, and
 * when the control thread never picked up a newer snapshot while training.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "tasks.h"
#include "wsrl/wsrl.h"

enum { QUEUE = 8192 }; /* transitions in flight, a power of two */

typedef struct host {
  wsrl_agent_t *agent;
  wsrl_session_t *session;
  wsrl_env_t *plant;
  int32_t O, A;
  float *low, *high;
  /* The queue: the control thread writes slot head, the learner reads tail. */
  float *q_obs, *q_act, *q_next, *q_rew;
  int32_t *q_done; /* 1 terminated, 2 truncated */
  _Atomic int64_t head, tail, dropped;
  _Atomic int32_t learning, stop, failed;
  _Atomic int64_t updates; /* run by the learner so far */
} host;

typedef struct stats {
  double *lat, *age_ms, *behind; /* per tick */
  int64_t ticks, missed, versions;
  double late_max;
} stats;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int report(const char *what, wsrl_status_t st) {
  fprintf(stderr, "wsrl-control-host: %s: %s (%s)\n", what, wsrl_status_string(st), wsrl_last_error_message());
  return 1;
}

/* ---------------------------------------------------------------- learner */

static void *learner(void *arg) {
  host *h = arg;
  while (!atomic_load(&h->stop)) {
    int64_t tail = atomic_load(&h->tail), fed = 0, done = 0;
    for (; tail < atomic_load(&h->head); tail++, fed++) {
      const int64_t i = tail & (QUEUE - 1);
      const wsrl_status_t st =
          wsrl_session_observe(h->session, h->q_obs + i * h->O, h->q_act + i * h->A, h->q_rew[i],
                               h->q_next + i * h->O, h->q_done[i] == 1, h->q_done[i] == 2);
      atomic_store(&h->tail, tail + 1);
      if (st != WSRL_OK) {
        report("wsrl_session_observe", st);
        atomic_store(&h->failed, 1);
        return NULL;
      }
    }
    if (atomic_load(&h->learning)) {
      const wsrl_status_t st = wsrl_session_train(h->session, 1, &done);
      if (st != WSRL_OK) {
        report("wsrl_session_train", st);
        atomic_store(&h->failed, 1);
        return NULL;
      }
      atomic_fetch_add(&h->updates, done);
    }
    if (fed == 0 && done == 0)
      nanosleep(&(struct timespec){0, 200000}, NULL);
  }
  return NULL;
}

/* ---------------------------------------------------------------- control */

static void enqueue(host *h, const float *obs, const float *unit, float rew, const float *next, int32_t done) {
  const int64_t head = atomic_load(&h->head);
  if (head - atomic_load(&h->tail) >= QUEUE) {
    atomic_fetch_add(&h->dropped, 1); /* the learner fell behind: never wait for it */
    return;
  }
  const int64_t i = head & (QUEUE - 1);
  memcpy(h->q_obs + i * h->O, obs, sizeof(float) * (size_t)h->O);
  memcpy(h->q_next + i * h->O, next, sizeof(float) * (size_t)h->O);
  for (int32_t k = 0; k < h->A; k++) /* the session takes actions in [low, high] */
    h->q_act[i * h->A + k] = h->low[k] + (unit[k] + 1.0f) * 0.5f * (h->high[k] - h->low[k]);
  h->q_rew[i] = rew;
  h->q_done[i] = done;
  atomic_store(&h->head, head + 1); /* publishes the slot */
}

/* Run the control loop for `ticks` ticks at `rate` Hz; fills s. */
static int control(host *h, double rate, int64_t ticks, int train, uint64_t *episode_seed, stats *s) {
  float obs[WSRL_POLICY_MAX_WIDTH], next[WSRL_POLICY_MAX_WIDTH], unit[WSRL_POLICY_MAX_WIDTH / 2];
  uint64_t stream = 12345, version = 0;
  wsrl_policy_t *cur = NULL;
  double seen_at = 0.0;
  wsrl_status_t st = wsrl_env_reset(h->plant, (*episode_seed)++, obs);
  if (st != WSRL_OK)
    return report("wsrl_env_reset", st);
  const double period = 1.0 / rate;
  double deadline = now_s();
  s->ticks = ticks;
  s->missed = s->versions = 0;
  s->late_max = 0.0;
  for (int64_t t = 0; t < ticks && !atomic_load(&h->failed); t++) {
    const double t0 = now_s();
    wsrl_policy_t *latest = NULL;
    if ((st = wsrl_agent_policy(h->agent, &latest)) != WSRL_OK)
      return report("wsrl_agent_policy", st);
    if (latest != cur) {
      wsrl_policy_release(cur);
      cur = latest;
      wsrl_policy_info(cur, NULL, NULL, &version);
      seen_at = t0;
      s->versions++;
    } else {
      wsrl_policy_release(latest);
    }
    /* Explore while learning; the mode otherwise. */
    st = wsrl_policy_act(cur, obs, WSRL_ACT_UNIT | (train ? WSRL_ACT_STOCHASTIC : WSRL_ACT_DETERMINISTIC), &stream,
                         unit);
    float rew = 0.0f;
    int32_t term = 0, trunc = 0;
    if (st == WSRL_OK)
      st = wsrl_env_step(h->plant, unit, next, &rew, &term, &trunc);
    if (st != WSRL_OK) {
      wsrl_policy_release(cur);
      return report("act/step", st);
    }
    if (train)
      enqueue(h, obs, unit, rew, next, term ? 1 : trunc ? 2 : 0);
    if (term || trunc)
      st = wsrl_env_reset(h->plant, (*episode_seed)++, obs);
    else
      memcpy(obs, next, sizeof(float) * (size_t)h->O);
    const double t1 = now_s();
    s->lat[t] = (t1 - t0) * 1e6;
    s->age_ms[t] = (t0 - seen_at) * 1e3;
    s->behind[t] = (double)((uint64_t)atomic_load(&h->updates) > version ? (uint64_t)atomic_load(&h->updates) - version : 0);
    if (st != WSRL_OK) {
      wsrl_policy_release(cur);
      return report("wsrl_env_reset", st);
    }
    /* Sleep to the next deadline (absolute, so lateness does not accumulate). */
    deadline += period;
    const double wake = deadline > t1 ? deadline : t1;
    struct timespec ts = {(time_t)wake, (long)((wake - (double)(time_t)wake) * 1e9)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    const double late = now_s() - deadline;
    if (late > s->late_max)
      s->late_max = late;
    if (late > period)
      s->missed++;
  }
  wsrl_policy_release(cur);
  return atomic_load(&h->failed);
}

static int cmp(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double pct(double *v, int64_t n, double p) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[(int64_t)(p * (double)(n - 1))];
}

static void print_stats(const char *name, stats *s) {
  const int64_t n = s->ticks;
  printf("%-9s %7lld %8.1f %8.1f %8.1f %7lld %9.1f %9.1f %8.0f %8.0f %5lld\n", name, (long long)n,
         pct(s->lat, n, 0.5), pct(s->lat, n, 0.99), pct(s->lat, n, 1.0), (long long)s->missed, pct(s->age_ms, n, 0.5),
         pct(s->age_ms, n, 1.0), pct(s->behind, n, 0.5), pct(s->behind, n, 1.0), (long long)s->versions);
}

/* ------------------------------------------------------------------- main */

/* SCHED_FIFO for the calling (control) thread and locked memory. */
static void go_realtime(void) {
  struct sched_param sp = {.sched_priority = 80};
  const int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
  if (err != 0)
    fprintf(stderr, "wsrl-control-host: SCHED_FIFO refused (%s): normal scheduling\n", strerror(err));
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
    fprintf(stderr, "wsrl-control-host: mlockall failed (%s)\n", strerror(errno));
}

static int setup(host *h, const char *task, const char *checkpoint, wsrl_config_t *cfg) {
  wsrl_status_t st = wsrl_example_task_create(&h->plant, task, NULL);
  if (st != WSRL_OK) {
    fprintf(stderr, "wsrl-control-host: task %s: %s\n", task, wsrl_example_task_error());
    return 1;
  }
  wsrl_env_spec_t spec = WSRL_ENV_SPEC_INIT;
  if ((st = wsrl_env_get_spec(h->plant, &spec)) != WSRL_OK)
    return report("wsrl_env_get_spec", st);
  st = checkpoint != NULL ? wsrl_agent_create_from_checkpoint(&h->agent, checkpoint, NULL)
                          : wsrl_agent_create(&h->agent, cfg, &spec);
  if (st != WSRL_OK)
    return report(checkpoint != NULL ? checkpoint : "wsrl_agent_create", st);
  wsrl_session_options_t so = WSRL_SESSION_OPTIONS_INIT;
  if ((st = wsrl_session_create(&h->session, h->agent, &so)) != WSRL_OK)
    return report("wsrl_session_create", st);
  h->O = spec.obs_dim;
  h->A = spec.act_dim;
  if (h->O > WSRL_POLICY_MAX_WIDTH || h->A > WSRL_POLICY_MAX_WIDTH / 2)
    return report("task sizes", WSRL_ERR_UNSUPPORTED);
  const size_t O = (size_t)h->O, A = (size_t)h->A;
  h->low = malloc(sizeof(float) * 2 * A);
  h->q_obs = malloc(sizeof(float) * QUEUE * (2 * O + A + 1));
  h->q_done = malloc(sizeof(int32_t) * QUEUE);
  if (h->low == NULL || h->q_obs == NULL || h->q_done == NULL)
    return report("malloc", WSRL_ERR_OUT_OF_MEMORY);
  h->high = h->low + A;
  h->q_next = h->q_obs + QUEUE * O;
  h->q_act = h->q_next + QUEUE * O;
  h->q_rew = h->q_act + QUEUE * A;
  wsrl_policy_t *p = NULL;
  if ((st = wsrl_agent_policy(h->agent, &p)) != WSRL_OK)
    return report("wsrl_agent_policy", st);
  wsrl_policy_bounds(p, h->low, h->high);
  wsrl_policy_release(p);
  return 0;
}

int main(int argc, char **argv) {
  const char *task = "pendulum", *checkpoint = NULL;
  double rate = 1000.0, idle_s = 2.0, train_s = 10.0;
  int realtime = 0;
  wsrl_config_t *cfg = NULL;
  if (wsrl_config_create(&cfg) != WSRL_OK || wsrl_config_set(cfg, "agent.threads", "1") != WSRL_OK)
    return report("config", wsrl_last_error_status());
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL) {
      fprintf(stderr, "wsrl-control-host: %s needs a value (see the comment at the top of control-host.c)\n", a);
      return 1;
    }
    i++;
    if (strcmp(a, "--task") == 0) {
      task = v;
    } else if (strcmp(a, "--rate") == 0) {
      rate = atof(v);
    } else if (strcmp(a, "--idle-seconds") == 0) {
      idle_s = atof(v);
    } else if (strcmp(a, "--train-seconds") == 0) {
      train_s = atof(v);
    } else if (strcmp(a, "--realtime") == 0) {
      realtime = atoi(v);
    } else if (strcmp(a, "--checkpoint") == 0) {
      checkpoint = v;
    } else if (strcmp(a, "--set") == 0 && strchr(v, '=') != NULL) {
      char key[128];
      const size_t n = (size_t)(strchr(v, '=') - v);
      snprintf(key, sizeof key, "%.*s", (int)(n < sizeof key ? n : sizeof key - 1), v);
      wsrl_status_t st = wsrl_config_set(cfg, key, v + n + 1);
      if (st != WSRL_OK)
        return report(v, st);
    } else {
      fprintf(stderr, "wsrl-control-host: unknown option %s %s\n", a, v);
      return 1;
    }
  }
  if (!(rate >= 1.0 && rate <= 100000.0) || !(idle_s > 0.0) || !(train_s > 0.0)) {
    fprintf(stderr, "wsrl-control-host: --rate must be in [1, 100000] Hz and the durations > 0\n");
    return 1;
  }
  host h;
  memset(&h, 0, sizeof h);
  int rc = setup(&h, task, checkpoint, cfg);
  const int64_t n_idle = (int64_t)(idle_s * rate), n_train = (int64_t)(train_s * rate), n = n_idle > n_train ? n_idle : n_train;
  stats s = {malloc(sizeof(double) * (size_t)n), malloc(sizeof(double) * (size_t)n), malloc(sizeof(double) * (size_t)n), 0, 0, 0, 0.0};
  if (rc == 0 && (s.lat == NULL || s.age_ms == NULL || s.behind == NULL))
    rc = report("malloc", WSRL_ERR_OUT_OF_MEMORY);
  pthread_t lt;
  if (rc == 0 && pthread_create(&lt, NULL, learner, &h) != 0)
    rc = report("pthread_create", WSRL_ERR_OUT_OF_MEMORY);
  else if (rc == 0) {
    printf("wsrl-control-host: task %s, control at %.0f Hz%s, one learner thread (agent.threads 1)\n", task, rate,
           realtime ? " (SCHED_FIFO requested)" : "");
    printf("%-9s %7s %8s %8s %8s %7s %9s %9s %8s %8s %5s\n", "phase", "ticks", "p50_us", "p99_us", "max_us",
           "missed", "age_p50ms", "age_maxms", "behind50", "behind_max", "snaps");
    if (realtime) /* after the learner started: it keeps normal scheduling */
      go_realtime();
    uint64_t seed = 1;
    rc = control(&h, rate, n_idle, 0, &seed, &s);
    if (rc == 0)
      print_stats("idle", &s);
    atomic_store(&h.learning, 1);
    if (rc == 0)
      rc = control(&h, rate, n_train, 1, &seed, &s);
    atomic_store(&h.stop, 1);
    pthread_join(lt, NULL);
    if (rc == 0 && !atomic_load(&h.failed)) {
      print_stats("training", &s);
      wsrl_session_info_t info = WSRL_SESSION_INFO_INIT;
      wsrl_session_info(h.session, &info);
      printf("learner: %lld transitions, %lld updates, %lld dropped by the queue, last episode return %.1f\n",
             (long long)info.env_steps, (long long)info.updates_done, (long long)atomic_load(&h.dropped),
             info.last_episode_return);
      if (s.versions < 2) {
        fprintf(stderr, "wsrl-control-host: the control thread never saw a newer snapshot while training "
                        "(no update ran: lengthen --train-seconds or lower finetune.warmup_steps)\n");
        rc = 1;
      }
    }
    rc = rc != 0 || atomic_load(&h.failed);
  }
  free(s.lat);
  free(s.age_ms);
  free(s.behind);
  free(h.low);
  free(h.q_obs);
  free(h.q_done);
  wsrl_session_destroy(h.session);
  wsrl_agent_destroy(h.agent);
  wsrl_env_destroy(h.plant);
  wsrl_config_destroy(cfg);
  return rc;
}
