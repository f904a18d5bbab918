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
  WSRL_LOG_ERROR = 0, /**< errors */
  WSRL_LOG_WARN = 1,  /**< the call went on, but the host should know (e.g. a slow oneDNN kernel) */
  WSRL_LOG_INFO = 2,  /**< milestones (e.g. the switch to online fine-tuning) */
  WSRL_LOG_DEBUG = 3  /**< every error the library sets, with its status */
} wsrl_log_level_t;

/**
 * @brief Receives one log line (no trailing newline).
 *
 * May be called from any thread that calls into libwsrl: it must be thread-safe.
 * @param[in] user     the pointer given to wsrl_set_log_handler().
 * @param[in] level    a wsrl_log_level_t.
 * @param[in] message  the line, valid only during the call.
 */
typedef void (*wsrl_log_fn)(void *user, int32_t level, const char *message);

/**
 * @brief Install a process-wide log handler; by default nothing is logged.
 * @param[in] fn           new handler, or NULL to silence logging.
 * @param[in] user         passed first to every call of @p fn.
 * @param[in] max_level    lines above this level (e.g. WSRL_LOG_DEBUG) are dropped.
 * @param[out] prev_fn_out   previous handler (may be NULL).
 * @param[out] prev_user_out previous user pointer (may be NULL).
 * @ownership @p user stays the caller's.
 * @nullable every pointer.
 * @threadsafety not thread-safe: call before starting threads that use libwsrl.
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
  uint32_t struct_size;                                 /**< sizeof the host's struct (set by the init) */
  void *(*alloc)(void *user, size_t size);              /**< like malloc(); NULL on failure */
  void *(*realloc)(void *user, void *ptr, size_t size); /**< like realloc() */
  void (*free)(void *user, void *ptr);                  /**< like free(); never called with NULL */
  void *user;                                           /**< passed first to every hook */
} wsrl_allocator_t;

/** Static initialiser: this header's struct_size, every hook NULL. */
#define WSRL_ALLOCATOR_INIT {(uint32_t)sizeof(wsrl_allocator_t), 0, 0, 0, 0}

/**
 * @brief Initialise @p allocator to empty hooks with the caller's struct_size (for FFI).
 *
 * Writes only the first @p struct_size bytes (an older, smaller host struct
 * is never overrun).
 * @param[out] allocator    the struct to fill.
 * @param[in]  struct_size  sizeof the caller's wsrl_allocator_t.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p allocator is NULL or
 *         @p struct_size is below 4; WSRL_ERR_VERSION_MISMATCH if it is larger
 *         than this library's struct.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_allocator_init(wsrl_allocator_t *allocator, uint32_t struct_size);

/**
 * @brief Install process-wide allocator hooks (NULL restores malloc/realloc/free).
 *
 * Legal only while no libwsrl handle is alive (before the first create or
 * after the last destroy); otherwise WSRL_ERR_WRONG_STATE. alloc, realloc and
 * free must be all set. A per-handle override can be given to handles created
 * from a config (wsrl_config_set_allocator()).
 * @param[in] allocator  hooks with struct_size equal to this library's
 *                       (WSRL_ALLOCATOR_INIT), or NULL for the C library's.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a smaller struct_size or a
 *         NULL hook; WSRL_ERR_VERSION_MISMATCH for a larger struct_size;
 *         WSRL_ERR_WRONG_STATE while a handle is alive.
 * @ownership the struct is copied; @p allocator->user stays the caller's.
 * @nullable @p allocator.
 * @threadsafety not thread-safe; call at start-up.
 */
WSRL_API wsrl_status_t wsrl_set_allocator(const wsrl_allocator_t *allocator);

/**
 * @brief Number of libwsrl handles currently alive in this process.
 * @return handles created and not yet destroyed (configs, agents,
 *         sessions, buffers, envs, ensembles, policy snapshots), 0 when wsrl_set_allocator() is legal.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread (an atomic counter).
 */
WSRL_API int64_t wsrl_live_handles(void);

WSRL_END_DECLS

#endif /* WSRL_LOG_H */
