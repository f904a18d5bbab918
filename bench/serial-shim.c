/* LD_PRELOAD shim for bench/serial-share.sh: the wall time the calling
 * thread spends inside OpenMP teams (GNU libgomp's GOMP_parallel, which
 * both libwsrl's loops and oneDNN's primitives enter), counted from the
 * SERIAL_SHIM_SKIP-th team on, so that start-up drops out. At exit it
 * prints one line to stderr:
 *
 *   serial-shim: span S inside I teams N
 *
 * span: seconds from the first counted team's start to the last one's end;
 * inside: seconds within counted teams; teams: every outermost team. span
 * minus inside is the time one thread worked while the others waited: the
 * floor no thread count lowers. Teams forked inside a team do not count. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);

static double first, last, inside;
static long teams, skip = -1;
static _Thread_local int depth;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

__attribute__((destructor)) static void report(void) {
  /* Fewer teams than skipped: nothing was counted. */
  fprintf(stderr, "serial-shim: span %.6f inside %.6f teams %ld\n", teams > skip ? last - first : 0.0, inside, teams);
}

void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags) {
  static gomp_parallel_fn real;
  if (real == NULL)
    *(void **)&real = dlsym(RTLD_NEXT, "GOMP_parallel");
  if (real == NULL) {
    fprintf(stderr, "serial-shim: GOMP_parallel not found after the shim\n");
    abort();
  }
  if (depth++ > 0) {
    real(fn, data, num_threads, flags);
    depth--;
    return;
  }
  if (skip < 0)
    skip = getenv("SERIAL_SHIM_SKIP") != NULL ? atol(getenv("SERIAL_SHIM_SKIP")) : 0;
  const double t0 = now();
  if (teams == skip)
    first = t0;
  real(fn, data, num_threads, flags);
  last = now();
  if (teams++ >= skip)
    inside += last - t0;
  depth--;
}
