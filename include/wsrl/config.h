/**
 * @file wsrl/config.h
 * @brief Configuration: typed keys with defaults, ranges and docs.
 *
 * A wsrl_config_t holds one value per key of the library's key table (see
 * docs/config.md, generated from the same table). Keys are dotted, e.g.
 * "critic.ensemble_size". Handles copy the config at create: editing it later
 * never reaches a live handle. Files and strings use one "key = value" per
 * line; '#' starts a comment; lists are comma separated ("256, 256").
 */
#ifndef WSRL_CONFIG_H
#define WSRL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "log.h"
#include "status.h"

WSRL_BEGIN_DECLS

/** @brief Opaque configuration. */
typedef struct wsrl_config wsrl_config_t;

/** @brief Value type of a key. */
typedef enum wsrl_config_type {
  WSRL_CONFIG_INT = 0,    /**< int64_t */
  WSRL_CONFIG_FLOAT = 1,  /**< double */
  WSRL_CONFIG_BOOL = 2,   /**< int32_t 0 or 1; text "true"/"false"/"1"/"0" */
  WSRL_CONFIG_ENUM = 3,   /**< one of a fixed set of names, read as text */
  WSRL_CONFIG_INT_LIST = 4 /**< up to WSRL_CONFIG_MAX_LIST int64_t values */
} wsrl_config_type_t;

#define WSRL_CONFIG_MAX_LIST 8

/**
 * @brief Create a config holding every key's default.
 * @param[out] config_out  the new config.
 * @return WSRL_OK, WSRL_ERR_INVALID_ARGUMENT, WSRL_ERR_OUT_OF_MEMORY.
 * Ownership: caller destroys with wsrl_config_destroy(). Nullable: none.
 * Thread-safety: any thread.
 */
WSRL_API wsrl_status_t wsrl_config_create(wsrl_config_t **config_out);

/**
 * @brief Create a copy of @p config.
 * Ownership: caller destroys the copy. Nullable: none. Thread-safety: any thread.
 */
WSRL_API wsrl_status_t wsrl_config_clone(wsrl_config_t **config_out, const wsrl_config_t *config);

/** @brief Free a config; NULL is ignored. Thread-safety: one thread per handle. */
WSRL_API void wsrl_config_destroy(wsrl_config_t *config);

/**
 * @brief Set a key from text (any type), e.g. ("critic.hidden", "256,256").
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for an unknown key (the message
 *         suggests the nearest key), unparsable text or an out-of-range value
 *         (the message names the range). The config is unchanged on error.
 * Ownership: strings are copied. Nullable: none. Thread-safety: one thread per handle.
 */
WSRL_API wsrl_status_t wsrl_config_set(wsrl_config_t *config, const char *key, const char *value);

/** @brief Set an INT key (or an INT_LIST key to one element). Errors as wsrl_config_set(). */
WSRL_API wsrl_status_t wsrl_config_set_int(wsrl_config_t *config, const char *key, int64_t value);
/** @brief Set a FLOAT key. Non-finite values are rejected unless the key documents "auto" (NaN). */
WSRL_API wsrl_status_t wsrl_config_set_float(wsrl_config_t *config, const char *key, double value);
/** @brief Set a BOOL key (0 or 1). */
WSRL_API wsrl_status_t wsrl_config_set_bool(wsrl_config_t *config, const char *key, int32_t value);
/** @brief Set an INT_LIST key from @p count values (1..WSRL_CONFIG_MAX_LIST). */
WSRL_API wsrl_status_t wsrl_config_set_int_list(wsrl_config_t *config, const char *key,
                                                const int64_t *values, size_t count);

/**
 * @brief Read a key as text into @p buf (NUL-terminated).
 * @param[out] needed_out  bytes needed including the NUL (may be NULL).
 * @return WSRL_OK, also for a size query (@p buf NULL, @p buf_size 0,
 *         @p needed_out set); WSRL_ERR_INVALID_ARGUMENT for an unknown key or
 *         a buffer too small (then *needed_out says how large).
 * Nullable: @p buf when @p buf_size is 0; @p needed_out.
 */
WSRL_API wsrl_status_t wsrl_config_get(const wsrl_config_t *config, const char *key, char *buf,
                                       size_t buf_size, size_t *needed_out);
/** @brief Read an INT key. WSRL_ERR_INVALID_ARGUMENT if unknown or of another type. */
WSRL_API wsrl_status_t wsrl_config_get_int(const wsrl_config_t *config, const char *key, int64_t *value_out);
/** @brief Read a FLOAT key (NaN means "auto" where the key documents it). */
WSRL_API wsrl_status_t wsrl_config_get_float(const wsrl_config_t *config, const char *key, double *value_out);
/** @brief Read a BOOL key as 0 or 1. */
WSRL_API wsrl_status_t wsrl_config_get_bool(const wsrl_config_t *config, const char *key, int32_t *value_out);
/** @brief Read an INT_LIST key into @p values (capacity @p cap); *count_out gets its length. */
WSRL_API wsrl_status_t wsrl_config_get_int_list(const wsrl_config_t *config, const char *key,
                                                int64_t *values, size_t cap, size_t *count_out);

/**
 * @brief Apply "key = value" lines from a string. Stops at the first bad line
 * and leaves the config unchanged; the message names the line number.
 * @return WSRL_OK, WSRL_ERR_INVALID_ARGUMENT.
 */
WSRL_API wsrl_status_t wsrl_config_parse_string(wsrl_config_t *config, const char *text);

/**
 * @brief Apply "key = value" lines from a file (as wsrl_config_parse_string()).
 * @return WSRL_OK, WSRL_ERR_INVALID_ARGUMENT, WSRL_ERR_IO (names the path).
 */
WSRL_API wsrl_status_t wsrl_config_parse_file(wsrl_config_t *config, const char *path);

/**
 * @brief Write every key as "key = value" text into @p buf.
 * @param[out] needed_out bytes needed including the NUL (may be NULL).
 * @return WSRL_OK; with @p buf NULL and @p buf_size 0 only the size is
 * reported (WSRL_OK, nothing written); WSRL_ERR_INVALID_ARGUMENT if a
 * @p buf_size > 0 is too small or @p buf is NULL with @p buf_size > 0.
 * Nullable: @p buf when @p buf_size is 0; @p needed_out.
 */
WSRL_API wsrl_status_t wsrl_config_write_string(const wsrl_config_t *config, char *buf,
                                                size_t buf_size, size_t *needed_out);

/**
 * @brief Write every key to @p path atomically (temporary file, fsync, rename).
 * @return WSRL_OK, WSRL_ERR_INVALID_ARGUMENT, WSRL_ERR_IO.
 */
WSRL_API wsrl_status_t wsrl_config_write_file(const wsrl_config_t *config, const char *path);

/**
 * @brief Per-handle allocator for handles created from this config
 * (NULL: use the process-wide hooks). The struct is copied.
 */
WSRL_API wsrl_status_t wsrl_config_set_allocator(wsrl_config_t *config, const wsrl_allocator_t *allocator);

/* ---- Introspection: enumerate the key table (for docs, CLIs, Python kwargs). ---- */

/** @brief Number of keys in the table. */
WSRL_API size_t wsrl_config_key_count(void);

/**
 * @brief Describe key number @p index (0 .. count-1).
 * @param[out] name_out     static key name, e.g. "critic.hidden".
 * @param[out] type_out     its wsrl_config_type_t.
 * @param[out] doc_out      static one-line documentation.
 * Any out pointer may be NULL. @return WSRL_ERR_INVALID_ARGUMENT if out of range.
 */
WSRL_API wsrl_status_t wsrl_config_key_info(size_t index, const char **name_out, int32_t *type_out,
                                            const char **doc_out);

/**
 * @brief Default value and range of a key, as static text.
 * @param[out] default_out  e.g. "256,256" (static).
 * @param[out] min_out, max_out  numeric bounds (for lists: per element;
 *                              for BOOL 0 and 1; for ENUM 0 and choices-1).
 * @param[out] choices_out  for ENUM keys "a|b|c", else "" (static).
 * Any out pointer may be NULL.
 */
WSRL_API wsrl_status_t wsrl_config_key_bounds(const char *key, const char **default_out, double *min_out,
                                              double *max_out, const char **choices_out);

WSRL_END_DECLS

#endif /* WSRL_CONFIG_H */
