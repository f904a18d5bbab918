/* LD_PRELOAD shim for bench/serial-share.sh: the wall time the calling
 * thread spends inside OpenMP teams (GNU libgomp's GOMP_parallel, which
 * both libwsrl's loops and oneDNN's primitives enter), counted from the
 * SERIAL_SHIM_SKIP-th team on, so that start-up drops out. At exit it
 * prints one line to stderr:
 *
 *   serial-shim: span S inside I teams N busy W
 *
 * span: seconds from the first counted team's start to the last one's end;
 * inside: seconds within counted teams; teams: every outermost team; busy:
 * thread-seconds the team's threads spent in the counted teams' work (the
 * rest of T x inside is threads waiting for the team's slowest one, and the
 * fork and join). span minus inside is the time one thread worked while the
 * others waited: the floor no thread count lowers. Teams forked inside a
 * team do not count. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);

static double first, last, inside;
static long teams, skip = -1;
static _Thread_local int depth;
static atomic_llong busy_ns;

/* The region's work on each thread, timed. */
typedef struct region {
  void (*fn)(void *);
  void *data;
  atomic_llong busy; /* ns, all threads */
  atomic_int threads;
} region;

static void timed(void *arg) {
  region *r = arg;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  depth++;
  r->fn(r->data);
  depth--;
  clock_gettime(CLOCK_MONOTONIC, &b);
  const long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
  atomic_fetch_add(&r->busy, ns);
  atomic_fetch_add(&busy_ns, ns);
  atomic_fetch_add(&r->threads, 1);
}

/* With SERIAL_SHIM_SITES=1, the wait per region function and the caller
 * of the function that forked it (outermost teams only, on the calling
 * thread: no locking; backtrace() costs a few us per team, so only then). */
enum { SITES = 128 };
static struct site {
  void (*fn)(void *);
  void *caller;
  long calls;
  double inside, wait; /* s; wait in thread-seconds */
} sites[SITES];
static int n_sites, want_sites = -1;

static int sites_wanted(void) {
  if (want_sites < 0)
    want_sites = getenv("SERIAL_SHIM_SITES") != NULL && atoi(getenv("SERIAL_SHIM_SITES")) != 0;
  return want_sites;
}

static void note_site(void (*fn)(void *), void *caller, double wall, const region *r) {
  int i = 0;
  while (i < n_sites && (sites[i].fn != fn || sites[i].caller != caller))
    i++;
  if (i == n_sites) {
    if (n_sites == SITES)
      return;
    sites[n_sites].fn = fn;
    sites[n_sites++].caller = caller;
  }
  sites[i].calls++;
  sites[i].inside += wall;
  sites[i].wait += atomic_load(&r->threads) * wall - 1e-9 * (double)atomic_load(&r->busy);
}

/* An address as its object and offset, for addr2line -f -e OBJECT OFFSET. */
static void locate(void *addr, const char **obj, unsigned long *off) {
  Dl_info info;
  *obj = "?";
  *off = (unsigned long)(uintptr_t)addr;
  if (addr != NULL && dladdr(addr, &info) != 0 && info.dli_fname != NULL) {
    *obj = info.dli_fname;
    *off -= (unsigned long)(uintptr_t)info.dli_fbase;
  }
}

/* One line per site: the region function, then the caller of the
 * function that forked it. */
static void report_sites(void) {
  for (int i = 0; i < n_sites; i++) {
    const char *obj, *cobj;
    unsigned long off, coff;
    locate(*(void **)&sites[i].fn, &obj, &off);
    locate(sites[i].caller, &cobj, &coff);
    fprintf(stderr, "serial-shim-site: %s 0x%lx calls %ld inside %.6f wait %.6f caller %s 0x%lx\n", obj, off,
            sites[i].calls, sites[i].inside, sites[i].wait, cobj, coff);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

__attribute__((destructor)) static void report(void) {
  report_sites();
  /* Fewer teams than skipped: nothing was counted. */
  fprintf(stderr, "serial-shim: span %.6f inside %.6f teams %ld busy %.6f\n", teams > skip ? last - first : 0.0, inside,
          teams, 1e-9 * (double)atomic_load(&busy_ns));
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
  region r = {fn, data, 0, 0};
  void *caller = NULL;
  if (teams >= skip && sites_wanted()) {
    void *frames[3]; /* this function, the one that forked, its caller */
    caller = backtrace(frames, 3) == 3 ? frames[2] : NULL;
  }
  if (teams >= skip)
    real(timed, &r, num_threads, flags);
  else
    real(fn, data, num_threads, flags);
  last = now();
  if (teams++ >= skip) {
    inside += last - t0;
    if (sites_wanted())
      note_site(fn, caller, last - t0, &r);
  }
  depth--;
}
