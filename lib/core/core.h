/*
 * Internal core services shared by every module: errors, logging, memory,
 * RNG, handle accounting. Nothing here is exported.
 */
#ifndef WSRL_CORE_H
#define WSRL_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wsrl/config.h"
#include "wsrl/log.h"
#include "wsrl/status.h"

#if defined(__GNUC__)
#  define WSRL__PRINTF(f, a) __attribute__((format(printf, f, a)))
#  define WSRL__UNUSED __attribute__((unused))
#else
#  define WSRL__PRINTF(f, a)
#  define WSRL__UNUSED
#endif

/* ---- errors (status.c) ---- */

/* Record a per-thread error message and return st, so callers write
 * `return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "obs_dim must be > 0 (got %d)", n);` */
wsrl_status_t wsrl__error(wsrl_status_t st, const char *fmt, ...) WSRL__PRINTF(2, 3);
/* Prefix the current message with context ("loading 'x.ckpt': ") and return st. */
wsrl_status_t wsrl__error_wrap(wsrl_status_t st, const char *fmt, ...) WSRL__PRINTF(2, 3);

/* Argument checks that name the argument. */
#define WSRL__CHECK_NULL(p)                                                          \
  do {                                                                               \
    if ((p) == NULL)                                                                 \
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: argument '%s' is NULL",     \
                         __func__, #p);                                              \
  } while (0)

#define WSRL__TRY(expr)                 \
  do {                                  \
    wsrl_status_t wsrl__st_ = (expr);   \
    if (wsrl__st_ != WSRL_OK)           \
      return wsrl__st_;                 \
  } while (0)

/* ---- busy flags (busy.c; the threading contract of docs/threading.md) ----
 * One per handle, taken without blocking by every public call on it:
 * readers (calls that only read the handle) share it, a writer (a call
 * that changes the handle or uses its workspace) holds it alone. A call
 * that finds it taken returns WSRL_ERR_BUSY naming the call in progress,
 * never a wrong result. The thread holding it as a writer may read the
 * handle from a callback; a second writer call from that thread is a
 * re-entry (WSRL_ERR_WRONG_STATE). A lent handle (the agent's Q-ensemble, a session's
 * agent) points at its owner's flag. */
typedef struct wsrl__busy {
  _Atomic int32_t state;      /* 0 idle, n > 0 readers, -1 one writer */
  _Atomic(const char *) call; /* the call that took it last (for the message) */
  _Atomic(const void *) owner; /* the thread that took it last */
} wsrl__busy;
enum { WSRL__BUSY_READ = 0, WSRL__BUSY_WRITE = 1 };
wsrl_status_t wsrl__busy_enter(wsrl__busy *b, int32_t mode, const char *handle, const char *fn);
void wsrl__busy_leave(wsrl__busy *b, int32_t mode);
/* return call, run under the flag. */
#define WSRL__GUARDED(b, mode, handle, fn, call)            \
  do {                                                      \
    WSRL__TRY(wsrl__busy_enter((b), (mode), (handle), (fn))); \
    wsrl_status_t wsrl__gst_ = (call);                      \
    wsrl__busy_leave((b), (mode));                          \
    return wsrl__gst_;                                      \
  } while (0)

/* ---- logging (log.c) ---- */
void wsrl__log(int32_t level, const char *fmt, ...) WSRL__PRINTF(2, 3);

/* ---- memory (alloc.c) ----
 * Each handle resolves its allocator once at create (per-handle override or
 * the process-wide hooks) and keeps the copy, so a later wsrl_set_allocator()
 * can never free memory with the wrong hooks. */
typedef struct wsrl__alloc {
  void *(*alloc)(void *user, size_t size);
  void *(*realloc)(void *user, void *ptr, size_t size);
  void (*free)(void *user, void *ptr);
  void *user;
} wsrl__alloc;

/* override may be NULL (process-wide hooks). */
void wsrl__alloc_resolve(wsrl__alloc *out, const wsrl_allocator_t *override_or_null);
/* Return NULL on failure (caller maps to WSRL_ERR_OUT_OF_MEMORY); size 0 -> NULL-safe. */
void *wsrl__malloc(const wsrl__alloc *a, size_t size);
void *wsrl__calloc(const wsrl__alloc *a, size_t n, size_t size); /* overflow-checked, zeroed */
void *wsrl__realloc(const wsrl__alloc *a, void *ptr, size_t size);
void wsrl__free(const wsrl__alloc *a, void *ptr);
/* 64-byte aligned (oneDNN likes it); free only with wsrl__aligned_free. Zeroed. */
void *wsrl__aligned_alloc(const wsrl__alloc *a, size_t size);
void wsrl__aligned_free(const wsrl__alloc *a, void *ptr);
/* Live-handle accounting so wsrl_set_allocator() refuses while handles live. */
/* Validate a host allocator struct; fn names the public call for the message. */
wsrl_status_t wsrl__allocator_check(const wsrl_allocator_t *a, const char *fn);
void wsrl__handle_created(void);
void wsrl__handle_destroyed(void);

/* ---- RNG (rng.c): xoshiro256** seeded by splitmix64. One stream per handle;
 * the struct is plain data so checkpoints save it byte for byte. ---- */
typedef struct wsrl__rng {
  uint64_t s[4];
} wsrl__rng;

void wsrl__rng_seed(wsrl__rng *r, uint64_t seed, uint64_t stream);
uint64_t wsrl__rng_next(wsrl__rng *r);
double wsrl__rng_uniform(wsrl__rng *r);            /* [0, 1) with 53 bits */
uint64_t wsrl__rng_below(wsrl__rng *r, uint64_t n); /* unbiased in [0, n), n > 0 */
double wsrl__rng_normal(wsrl__rng *r);             /* standard normal (Box-Muller, no cached spare) */
void wsrl__rng_fill_normal(wsrl__rng *r, float *x, size_t n);
/* The same n normals in two steps, so that threads can share the second:
 * the draws (serial and cheap: draws holds n rounded up to even), then the
 * transform of any range [i0, i1) of [0, n). */
void wsrl__rng_normal_draws(wsrl__rng *r, uint64_t *draws, size_t n);
void wsrl__normals_from_draws(const uint64_t *draws, float *x, size_t i0, size_t i1);
void wsrl__rng_fill_uniform(wsrl__rng *r, float *x, size_t n, float lo, float hi);
/* Derive an independent child stream (e.g. per-module RNGs of one agent). */
void wsrl__rng_split(wsrl__rng *r, wsrl__rng *child);

/* ---- config values (config.c): the parsed table as a plain struct ---- */
#include "config_values.h"

/* The live values of a config; handles copy this struct at create. */
const wsrl__config_values *wsrl__config_values_of(const wsrl_config_t *config);
/* The per-handle allocator override of a config, or NULL. */
const wsrl_allocator_t *wsrl__config_allocator(const wsrl_config_t *config);
/* Fill a values struct with the defaults (for handles created without a config). */
void wsrl__config_defaults(wsrl__config_values *v);

/* ---- versioned host structs (struct_size first) ---- */

/* A field is present when the host's struct reaches past its end. */
#define WSRL__FIELD_PRESENT(size, type, field) ((size) >= offsetof(type, field) + sizeof(((type *)0)->field))

/* Copy the host's (possibly older, shorter) struct of `size` bytes into a
 * zeroed full-size one of `known` bytes, so absent fields read as 0/NULL.
 * A size below 4 is WSRL_ERR_INVALID_ARGUMENT naming init_macro; a size
 * above `known` (a newer header) is WSRL_ERR_VERSION_MISMATCH naming both.
 * what: the argument's name in messages, e.g. "spec". */
wsrl_status_t wsrl__struct_copy_in(void *dst, size_t known, const void *src, uint32_t size, const char *what,
                                   const char *init_macro);
/* The size check alone, for structs the library fills (out-structs). */
wsrl_status_t wsrl__struct_check_size(uint32_t size, size_t known, const char *what, const char *init_macro);
/* Write the caller's prefix (size <= sizeof *full, checked) of a filled struct. */
void wsrl__struct_copy_out(void *dst, const void *full, uint32_t size);

/* Define the public init function of a versioned struct from its _INIT
 * macro (the FFI twin of the macro): `wsrl_status_t fn(type *arg)`. */
/* An init writes the defaults of the first struct_size bytes only: an older
 * host's smaller struct is never overrun. */
#define WSRL__DEFINE_STRUCT_INIT(fn, type, arg, init_macro)                       \
  wsrl_status_t fn(type *arg, uint32_t struct_size) {                             \
    WSRL__CHECK_NULL(arg);                                                        \
    WSRL__TRY(wsrl__struct_check_size(struct_size, sizeof(type), #arg, #init_macro)); \
    static const type init_ = init_macro; /* static: padding bytes are zero */ \
    wsrl__struct_copy_out(arg, &init_, struct_size);                              \
    return WSRL_OK;                                                               \
  }

/* ---- small helpers ---- */
int wsrl__all_finite(const float *x, size_t n);

/* Open path for reading only when it is a regular file: the open never blocks
 * (a FIFO or a device is refused before any read) and the size comes back
 * with the stream. `what` names the file in messages ("config file"). */
wsrl_status_t wsrl__fopen_regular(const char *path, const char *what, FILE **fp_out, uint64_t *size_out);

#endif /* WSRL_CORE_H */
