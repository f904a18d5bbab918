/**
 * @file wsrl/status.h
 * @brief Status codes and the per-thread last-error message.
 *
 * Every fallible call returns a wsrl_status_t. WSRL_OK is zero; errors are
 * negative, explicit and never reused. After a failure,
 * wsrl_last_error_message() names the argument, key or file and what was
 * wrong. No libwsrl call aborts or exits the process.
 */
#ifndef WSRL_STATUS_H
#define WSRL_STATUS_H

#include "export.h"

WSRL_BEGIN_DECLS

/** @brief Result of every fallible libwsrl call. Values are stable ABI. */
typedef enum wsrl_status {
  /** Success. */
  WSRL_OK = 0,
  /** An argument is NULL, out of range or inconsistent with another. */
  WSRL_ERR_INVALID_ARGUMENT = -1,
  /** An allocation (host hooks or oneDNN) failed. */
  WSRL_ERR_OUT_OF_MEMORY = -2,
  /** A file could not be opened, read, written or renamed. */
  WSRL_ERR_IO = -3,
  /** A file's contents are malformed: bad magic, sizes, checksum, truncation. */
  WSRL_ERR_CORRUPT = -4,
  /** A struct, file or header version the library does not know. */
  WSRL_ERR_VERSION_MISMATCH = -5,
  /** The oneDNN backend failed; the message names the dnnl call. */
  WSRL_ERR_BACKEND = -6,
  /** A host environment callback returned non-zero. */
  WSRL_ERR_ENV_CALLBACK = -7,
  /** A NaN or infinity was found where a finite number is required. */
  WSRL_ERR_NON_FINITE = -8,
  /** The call is not valid in the handle's current state (or re-entered). */
  WSRL_ERR_WRONG_STATE = -9,
  /** A progress callback asked to stop; the work done so far is kept. */
  WSRL_ERR_CANCELLED = -10,
  /** The feature is not available: not built into this library (e.g. HDF5),
   *  or not part of this handle (e.g. a network the agent's algorithm lacks). */
  WSRL_ERR_UNSUPPORTED = -11,
  /** Another thread is inside a call on this handle that this call must not
   *  overlap; nothing was done. The message names the handle and that call
   *  (docs/threading.md lists which calls may overlap). */
  WSRL_ERR_BUSY = -12
} wsrl_status_t;

/**
 * @brief Static name of a status, e.g. "invalid argument".
 * @param[in] status any value; unknown values give "unknown status".
 * @return the name, never NULL.
 * @ownership static storage; never free it.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API const char *wsrl_status_string(wsrl_status_t status);

/**
 * @brief Message describing the calling thread's most recent failure.
 * @return never NULL; "" when no call on this thread has failed since the
 *         last wsrl_clear_error(). Valid until the next libwsrl call on this
 *         thread.
 * @ownership thread-local storage owned by the library.
 * @nullable none.
 * @threadsafety per thread.
 */
WSRL_API const char *wsrl_last_error_message(void);

/**
 * @brief Status of the calling thread's most recent failure.
 * @return the status of the last failed call on this thread, WSRL_OK if none
 *         failed since the last wsrl_clear_error().
 * @ownership none.
 * @nullable none.
 * @threadsafety per thread.
 */
WSRL_API wsrl_status_t wsrl_last_error_status(void);

/**
 * @brief Forget the calling thread's last error (status WSRL_OK, message "").
 * @ownership none.
 * @nullable none.
 * @threadsafety per thread.
 */
WSRL_API void wsrl_clear_error(void);

WSRL_END_DECLS

#endif /* WSRL_STATUS_H */
