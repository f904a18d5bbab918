/* A scratch directory per test (created in the forked child by a checked
 * fixture, removed with its files afterwards), shared by the io and replay
 * suites. */
#ifndef WSRL_TEST_TMPDIR_H
#define WSRL_TEST_TMPDIR_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mkdtemp "/tmp/wsrl-test-<tag>-XXXXXX" into dir (at least 64 bytes). */
static inline void wsrl_test_tmpdir_make(char *dir, size_t size, const char *tag) {
  snprintf(dir, size, "/tmp/wsrl-test-%s-XXXXXX", tag);
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Remove the files of dir (one level) and dir itself. */
static inline void wsrl_test_tmpdir_remove(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  char p[1024];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    remove(p);
  }
  closedir(d);
  rmdir(dir);
}

#endif
