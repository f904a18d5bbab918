/* One runner for every unit suite: `unit-runner <suite>` runs one suite,
 * no argument runs all. No oneDNN work may happen here before
 * srunner_run_all: a forked child of a process that already ran an OpenMP
 * primitive can hang. Set CK_FORK=no to debug a case in-process. */
#include <stdio.h>
#include <string.h>

#include "suites.h"

typedef struct {
  const char *name;
  Suite *(*make)(void);
} entry;

#define WSRL_TEST_ENTRY(name) {#name, wsrl_test_suite_##name},
static const entry suites[] = {WSRL_TEST_SUITES(WSRL_TEST_ENTRY)};
#undef WSRL_TEST_ENTRY

int main(int argc, char **argv) {
  SRunner *sr = NULL;
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
    if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
      continue;
    if (sr == NULL)
      sr = srunner_create(suites[i].make());
    else
      srunner_add_suite(sr, suites[i].make());
  }
  if (sr == NULL) {
    fprintf(stderr, "unknown suite '%s'\n", argc > 1 ? argv[1] : "");
    return 2;
  }
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
