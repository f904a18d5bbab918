/* fork() after training (meson test `fork`, suite unit): the child acts or
 * gets a clear error within a second, never hangs.
 *
 * GNU OpenMP's thread pool does not survive fork(): a child whose parent ran
 * a multi-threaded region hangs in its first one. The library notices the
 * fork (pthread_atfork) and refuses, with WSRL_ERR_WRONG_STATE and a message,
 * a handle that would compute with more than one thread; single-threaded
 * handles keep working, and so does a policy snapshot. Run with OMP_NUM_THREADS=2, so agent.threads = 0
 * means two threads. Not in suite threading: this one runs libgomp teams,
 * which ThreadSanitizer cannot see. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wsrl/wsrl.h"

#define OK(x) ck_assert_msg((x) == WSRL_OK, "%s: %s", #x, wsrl_last_error_message())
#define O 4
#define A 2

static wsrl_agent_t *trained_agent(int threads) {
  wsrl_config_t *c = NULL;
  OK(wsrl_config_create(&c));
  OK(wsrl_config_parse_string(c, "critic.hidden = 64,64\nactor.hidden = 64,64\ncritic.ensemble_size = 4\n"
                                 "update.batch_size = 64\nagent.algorithm = sac\n"));
  OK(wsrl_config_set_int(c, "agent.threads", threads));
  wsrl_env_spec_t s = WSRL_ENV_SPEC_INIT;
  s.obs_dim = O;
  s.act_dim = A;
  wsrl_agent_t *ag = NULL;
  OK(wsrl_agent_create(&ag, c, &s));
  wsrl_config_destroy(c);
  wsrl_replay_t *d = NULL;
  OK(wsrl_replay_create(&d, O, A, 256, NULL));
  float o[O] = {0.1f, 0.2f, 0.3f, 0.4f}, a[A] = {0.5f, -0.5f};
  for (int i = 0; i < 256; i++) {
    o[i % O] += 0.01f;
    OK(wsrl_replay_add(d, o, a, 1.0f, o, 0, i % 32 == 31));
  }
  OK(wsrl_pretrain(ag, d, 3, NULL, NULL));
  wsrl_replay_destroy(d);
  return ag;
}

enum { CHILD_ACTED = 10, CHILD_REFUSED = 11, CHILD_OTHER = 12 };

/* Fork; the child acts once on `ag` (or, when p is not NULL, from the
 * snapshot p). Returns the child's verdict, or -1 if it did not finish
 * within a second (killed). */
static int child_act(wsrl_agent_t *ag, const wsrl_policy_t *p) {
  fflush(NULL);
  const pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    alarm(5); /* belt and braces: a hung child never outlives the test */
    const float obs[O] = {0.1f, 0.2f, 0.3f, 0.4f};
    float act[A];
    const wsrl_status_t st = p != NULL ? wsrl_policy_act(p, obs, WSRL_ACT_DETERMINISTIC, NULL, act)
                                       : wsrl_agent_act(ag, 1, obs, WSRL_ACT_DETERMINISTIC, act);
    if (st == WSRL_ERR_WRONG_STATE)
      fprintf(stderr, "child: %s\n", wsrl_last_error_message());
    _exit(st == WSRL_OK ? CHILD_ACTED
          : st == WSRL_ERR_WRONG_STATE && strstr(wsrl_last_error_message(), "fork") != NULL ? CHILD_REFUSED
                                                                                            : CHILD_OTHER);
  }
  for (int i = 0; i < 100; i++) { /* up to one second */
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    const struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

/* agent.threads 0 (= 2 here), 1 and 2. */
START_TEST(fork_after_training) {
  static const int threads[3] = {0, 1, 2};
  const int t = threads[_i];
  wsrl_agent_t *ag = trained_agent(t);
  const int verdict = child_act(ag, NULL);
  ck_assert_msg(verdict != -1, "agent.threads = %d: the forked child hung", t);
  if (t == 1)
    ck_assert_msg(verdict == CHILD_ACTED, "agent.threads = 1: the child should act (got %d)", verdict);
  else
    ck_assert_msg(verdict == CHILD_REFUSED, "agent.threads = %d: the child should get a clear error (got %d)", t,
                  verdict);
  /* A policy snapshot (plain C) acts in any child. */
  wsrl_policy_t *p = NULL;
  OK(wsrl_agent_policy(ag, &p));
  ck_assert_int_eq(child_act(ag, p), CHILD_ACTED);
  wsrl_policy_release(p);
  /* The parent is unaffected. */
  const float obs[O] = {0};
  float act[A];
  OK(wsrl_agent_act(ag, 1, obs, WSRL_ACT_DETERMINISTIC, act));
  wsrl_agent_destroy(ag);
}
END_TEST

/* After multi-threaded training, a single-threaded agent still works in the child. */
START_TEST(single_thread_agent_works_in_child) {
  wsrl_agent_t *multi = trained_agent(2);
  wsrl_agent_t *single = trained_agent(1);
  ck_assert_int_eq(child_act(single, NULL), CHILD_ACTED);
  ck_assert_int_eq(child_act(multi, NULL), CHILD_REFUSED);
  wsrl_agent_destroy(single);
  wsrl_agent_destroy(multi);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fork");
  TCase *tc = tcase_create("fork");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, fork_after_training, 0, 3);
  tcase_add_test(tc, single_thread_agent_works_in_child);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  const int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
