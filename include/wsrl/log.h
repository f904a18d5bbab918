/**
 * @file wsrl/log.h
 * @brief Log handler and host allocator hooks.
 */
#ifndef WSRL_LOG_H
#define WSRL_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"

WSRL_BEGIN_DECLS

/** @brief Log levels, most severe first. */
typedef enum wsrl_log_level {
  WSRL_LOG_ERROR = 0,
  WSRL_LOG_WARN = 1,
  WSRL_LOG_INFO = 2,
  WSRL_LOG_DEBUG = 3
} wsrl_log_level_t;

/**
 * @brief Receives one log line (no trailing newline).
 * May be called from any thread that calls into libwsrl: it must be thread-safe.
 */
typedef void (*wsrl_log_fn)(void *user, int32_t level, const char *message);

/**
 * @brief Install a process-wide log handler; by default nothing is logged.
 * @param[in] fn           new handler, or NULL to silence logging.
 * @param[in] user         passed first to every call of @p fn.
 * @param[in] max_level    lines above this level (e.g. WSRL_LOG_DEBUG) are dropped.
 * @param[out] prev_fn_out   previous handler (may be NULL).
 * @param[out] prev_user_out previous user pointer (may be NULL).
 * Ownership: @p user stays the caller's. Nullable: every pointer.
 * Thread-safety: call before starting threads that use libwsrl.
 */
WSRL_API void wsrl_set_log_handler(wsrl_log_fn fn, void *user, int32_t max_level,
                                   wsrl_log_fn *prev_fn_out, void **prev_user_out);

/**
 * @brief Host memory hooks. Starts with its own size for ABI growth: fill it
 * with WSRL_ALLOCATOR_INIT or wsrl_allocator_init().
 *
 * alloc must return memory aligned for any C type; libwsrl aligns its own
 * large buffers on top. oneDNN's internal allocations bypass these hooks.
 */
typedef struct wsrl_allocator {
  uint32_t struct_size;
  void *(*alloc)(void *user, size_t size);
  void *(*realloc)(void *user, void *ptr, size_t size);
  void (*free)(void *user, void *ptr);
  void *user;
} wsrl_allocator_t;

#define WSRL_ALLOCATOR_INIT {(uint32_t)sizeof(wsrl_allocator_t), 0, 0, 0, 0}

/**
 * @brief Initialise @p allocator to empty hooks with the right struct_size (for FFI).
 * @return WSRL_ERR_INVALID_ARGUMENT if @p allocator is NULL.
 * Ownership: none. Nullable: none. Thread-safety: any thread.
 */
WSRL_API wsrl_status_t wsrl_allocator_init(wsrl_allocator_t *allocator, uint32_t struct_size);

/**
 * @brief Install process-wide allocator hooks (NULL restores malloc/realloc/free).
 *
 * Legal only while no libwsrl handle is alive (before the first create or
 * after the last destroy); otherwise WSRL_ERR_WRONG_STATE. alloc, realloc and
 * free must be all set. A per-handle override can be given to handles created
 * from a config (wsrl_config_set_allocator()).
 * @return WSRL_OK, WSRL_ERR_INVALID_ARGUMENT, WSRL_ERR_VERSION_MISMATCH,
 *         WSRL_ERR_WRONG_STATE.
 * Ownership: the struct is copied. Nullable: @p allocator.
 * Thread-safety: not thread-safe; call at start-up.
 */
WSRL_API wsrl_status_t wsrl_set_allocator(const wsrl_allocator_t *allocator);

/**
 * @brief Number of libwsrl handles currently alive in this process.
 * Ownership: none. Nullable: none. Thread-safety: any thread.
 */
WSRL_API int64_t wsrl_live_handles(void);

WSRL_END_DECLS

#endif /* WSRL_LOG_H */
