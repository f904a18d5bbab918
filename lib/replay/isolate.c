/* Untrusted HDF5 files parsed in a child process. libhdf5 itself crashes,
 * aborts or tries multi-gigabyte allocations on crafted files (fuzzed: 15 of
 * 18 files); the library cannot fix libhdf5, but a host must not die for
 * opening a dataset. The child imports into a buffer of its own, saves it in
 * the native format (CRC-checked, fully validated on load) and reports its
 * status through a pipe; the parent loads the native file. A child that
 * crashes, runs out of its memory limit or hangs past the time limit is an
 * error naming what happened, and the host's buffer is untouched. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay_internal.h"

#define ISOLATED_SECONDS 600          /* a child still parsing after this is killed ... */
#define ISOLATED_SECONDS_ENV "WSRL_HDF5_ISOLATED_SECONDS" /* ... unless this says otherwise */
#define ISOLATED_MIN_MEMORY (4ll << 30) /* address space of the child, at least */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LIMIT_MEMORY 0 /* sanitizers reserve terabytes of address space */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LIMIT_MEMORY 0
#else
#define LIMIT_MEMORY 1
#endif
#else
#define LIMIT_MEMORY 1
#endif

/* What the child sends back. */
typedef struct result {
  int32_t status, obs_dim, act_dim;
  int64_t rows;
  wsrl_replay_report_t report;
  int64_t outside; /* the bounds' counters: the parent warns, never the child */
  float worst;
  char message[1024];
} result;

static void write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return;
    p += k, n -= (size_t)k;
  }
}

static size_t read_all(int fd, void *data, size_t n) {
  char *p = data;
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, p + got, n - got);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      break;
    got += (size_t)k;
  }
  return got;
}

/* The child's work: info only (replay NULL) or a full import into a copy of
 * replay's shape and options, saved to native_path. */
static void child_main(int fd, const wsrl_replay_t *replay, wsrl__replay_bounds *bounds, const char *path,
                       const char *native_path, int64_t memory, const char *fn) {
  result res;
  memset(&res, 0, sizeof res);
  const char *env = getenv(ISOLATED_SECONDS_ENV);
  const long seconds = env != NULL ? strtol(env, NULL, 10) : 0;
  alarm(seconds > 0 ? (unsigned)seconds : ISOLATED_SECONDS);
  if (LIMIT_MEMORY) {
    struct rlimit lim = {(rlim_t)memory, (rlim_t)memory};
    setrlimit(RLIMIT_AS, &lim);
  }
  wsrl_status_t st;
  if (replay == NULL) {
    st = wsrl_replay_hdf5_info(path, &res.obs_dim, &res.act_dim, &res.rows);
  } else {
    wsrl_replay_t *copy = NULL;
    res.report = (wsrl_replay_report_t)WSRL_REPLAY_REPORT_INIT;
    st = wsrl_replay_create(&copy, replay->obs_dim, replay->act_dim, replay->capacity, &replay->opt);
    if (st == WSRL_OK)
      st = wsrl__replay_import_hdf5(copy, path, bounds, &res.report, fn);
    res.outside = bounds->outside;
    res.worst = bounds->worst;
    if (st == WSRL_OK)
      st = wsrl_replay_save(copy, native_path);
    wsrl_replay_destroy(copy);
  }
  res.status = st;
  if (st != WSRL_OK)
    snprintf(res.message, sizeof res.message, "%s", wsrl_last_error_message());
  write_all(fd, &res, sizeof res);
  _exit(0); /* no exit handlers: they belong to the parent */
}

/* Fork, run child_main, collect its result. */
static wsrl_status_t run_child(const wsrl_replay_t *replay, wsrl__replay_bounds *bounds, const char *path,
                               const char *native_path, int64_t memory, result *out, const char *fn) {
  int fds[2];
  if (pipe(fds) != 0)
    return wsrl__error(WSRL_ERR_IO, "%s: '%s': cannot create a pipe: %s", fn, path, strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    return wsrl__error(WSRL_ERR_IO, "%s: '%s': cannot fork the isolated importer: %s", fn, path, strerror(err));
  }
  if (pid == 0) {
    close(fds[0]);
    child_main(fds[1], replay, bounds, path, native_path, memory, fn);
  }
  close(fds[1]);
  const size_t got = read_all(fds[0], out, sizeof *out);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == sizeof *out && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    if (out->status == WSRL_OK)
      return WSRL_OK;
    out->message[sizeof out->message - 1] = '\0';
    return wsrl__error((wsrl_status_t)out->status, "%s", out->message);
  }
  if (WIFSIGNALED(status))
    return wsrl__error(WSRL_ERR_CORRUPT,
                       "%s: '%s': the HDF5 reader died with signal %d (%s) in the isolated importer: the file is "
                       "malformed in a way libhdf5 cannot survive; nothing was imported",
                       fn, path, WTERMSIG(status),
                       WTERMSIG(status) == SIGALRM ? "time limit" : strsignal(WTERMSIG(status)));
  return wsrl__error(WSRL_ERR_CORRUPT, "%s: '%s': the isolated importer ended without a result; nothing was imported",
                     fn, path);
}

wsrl_status_t wsrl_replay_hdf5_info_isolated(const char *path, int32_t *obs_dim_out, int32_t *act_dim_out,
                                             int64_t *rows_out) {
  WSRL__CHECK_NULL(path);
  result res;
  WSRL__TRY(run_child(NULL, NULL, path, NULL, ISOLATED_MIN_MEMORY, &res, __func__));
  if (obs_dim_out)
    *obs_dim_out = res.obs_dim;
  if (act_dim_out)
    *act_dim_out = res.act_dim;
  if (rows_out)
    *rows_out = res.rows;
  return WSRL_OK;
}

wsrl_status_t wsrl_replay_import_hdf5_isolated(wsrl_replay_t *replay, const char *path,
                                               wsrl_replay_report_t *report_out) {
  WSRL__CHECK_NULL(replay);
  WSRL__CHECK_NULL(path);
  wsrl__replay_bounds b = {0};
  return wsrl__replay_import_hdf5_isolated(replay, path, &b, report_out, __func__);
}

wsrl_status_t wsrl__replay_import_hdf5_isolated(wsrl_replay_t *replay, const char *path, wsrl__replay_bounds *bounds,
                                                wsrl_replay_report_t *report_out, const char *fn) {
  WSRL__TRY(wsrl__replay_report_check(report_out, fn));
  const char *dir = getenv("TMPDIR");
  char native[4096];
  snprintf(native, sizeof native, "%s/wsrl-import-XXXXXX", dir != NULL && dir[0] != '\0' ? dir : "/tmp");
  int fd = mkstemp(native);
  if (fd < 0)
    return wsrl__error(WSRL_ERR_IO, "%s: cannot create a temporary file '%s': %s", fn, native, strerror(errno));
  close(fd);
  /* The child may use a few times the buffer's own size (read chunks, plan). */
  const int64_t row_bytes = (2 * (int64_t)replay->obs_dim + replay->act_dim + 3) * (int64_t)sizeof(float) + 1;
  int64_t memory = 4 * replay->capacity * row_bytes;
  memory = memory < ISOLATED_MIN_MEMORY ? ISOLATED_MIN_MEMORY : memory;
  result res;
  wsrl_status_t st = run_child(replay, bounds, path, native, memory, &res, fn);
  if (st == WSRL_OK)
    st = wsrl_replay_load(replay, native, NULL);
  unlink(native);
  if (st != WSRL_OK)
    return st;
  wsrl__replay_report_out(report_out, &res.report);
  bounds->outside = res.outside;
  bounds->worst = res.worst;
  wsrl__replay_warn_units(fn, path, bounds);
  return WSRL_OK;
}
