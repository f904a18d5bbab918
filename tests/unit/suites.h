/* Unit suites: one per lib concern. Add a line X(name) and a file
 * test-<name>.c defining `Suite *wsrl_test_suite_<name>(void)`. */
#ifndef WSRL_TEST_SUITES_H
#define WSRL_TEST_SUITES_H

#include <check.h>

#define WSRL_TEST_SUITES(X) \
  X(core)                   \
  X(config)                 \
  X(env)                    \
  X(io)                     \
  X(replay)                 \
  X(agent)                  \
  X(train)                  \
  X(nn)                     \
  X(introspect)

#define WSRL_TEST_DECLARE(name) Suite *wsrl_test_suite_##name(void);
WSRL_TEST_SUITES(WSRL_TEST_DECLARE)
#undef WSRL_TEST_DECLARE

#endif
