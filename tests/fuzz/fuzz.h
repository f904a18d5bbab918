/* Shared driver for the loader fuzz harnesses (tests/fuzz/fuzz-driver.c).
 *
 * A harness defines LLVMFuzzerTestOneInput() and fuzz_target (its name,
 * its seed generator and whether its files are section containers whose
 * CRCs the mutator reseals). The driver gives every harness three modes:
 *
 *   fuzz-X --mutate N [SEED]   N deterministic mutations of the seeds
 *                              (meson suite 'fuzz', any compiler)
 *   fuzz-X FILE|DIR...         replay a corpus or crashers
 *   fuzz-X --write-seeds DIR   write the seeds the library generates
 *
 * Built with clang -fsanitize=fuzzer -DWSRL_FUZZ_LIBFUZZER the driver's
 * main() drops out (libFuzzer's runs) and LLVMFuzzerCustomMutator reseals
 * the CRCs after libFuzzer's own mutation, so mutants reach the parsers. */
#ifndef WSRL_TESTS_FUZZ_H
#define WSRL_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "wsrl/wsrl.h"

typedef struct fuzz_target {
  const char *name;
  /* Write the valid seed files into dir (names seed-*); returns how many. */
  int (*write_seeds)(const char *dir);
  /* Files are section containers (io.h): reseal CRCs after a mutation. */
  int sectioned;
  /* Non-NULL: in the driver's modes each input runs in a child process, and
   * a crash with a frame in a library whose path contains this string is
   * counted as that library's (reported, not failed): libhdf5 crashes on
   * crafted files (docs/reliability.md). Crashes elsewhere still fail. */
  const char *foreign_lib;
} fuzz_target_t;

extern const fuzz_target_t fuzz_target;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the library's last error (a finding). */
void fuzz_die(const char *what);
/* A per-process scratch path (k in 0..3) under $TMPDIR. */
const char *fuzz_scratch(int k);
/* Write data to path or die. */
void fuzz_write(const char *path, const uint8_t *data, size_t size);
/* The statuses a loader may return for hostile input. */
int fuzz_status_allowed(wsrl_status_t st);
/* A config for tiny networks (hidden 8,8, ensemble 2) and the given algorithm. */
wsrl_config_t *fuzz_small_config(const char *algorithm);
/* A tiny agent (obs 3, act 2) for the config. */
wsrl_agent_t *fuzz_small_agent(const wsrl_config_t *config);

#endif
