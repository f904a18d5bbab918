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

/** Most elements an INT_LIST key holds. */
#define WSRL_CONFIG_MAX_LIST 8

/**
 * @brief Create a config holding every key's default.
 * @param[out] config_out  the new config (NULL on failure).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p config_out is NULL;
 *         WSRL_ERR_OUT_OF_MEMORY.
 * @ownership the caller destroys it with wsrl_config_destroy().
 * @nullable none.
 * @threadsafety any thread.
 */
WSRL_API wsrl_status_t wsrl_config_create(wsrl_config_t **config_out);

/**
 * @brief Create a copy of @p config (values and per-handle allocator).
 * @param[out] config_out  the copy.
 * @param[in]  config      the config to copy.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if a pointer is NULL;
 *         WSRL_ERR_OUT_OF_MEMORY.
 * @ownership the caller destroys the copy with wsrl_config_destroy().
 * @nullable none.
 * @threadsafety a reader of @p config: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_clone(wsrl_config_t **config_out, const wsrl_config_t *config);

/**
 * @brief Free a config. Handles created from it keep their own copy.
 * @param[in] config  the config, or NULL (ignored).
 * @ownership @p config is freed.
 * @nullable @p config.
 * @threadsafety no other call on @p config at the same time.
 */
WSRL_API void wsrl_config_destroy(wsrl_config_t *config);

/**
 * @brief Set a key from text (any type), e.g. ("critic.hidden", "256,256").
 *
 * Numbers are decimal; a FLOAT key documented as "auto" also takes "auto".
 * @param[in,out] config  the config to change.
 * @param[in]     key     dotted key name, e.g. "critic.hidden".
 * @param[in]     value   the value as text, as in a config file.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer, an unknown
 *         key (the message suggests the nearest key), a renamed key (the
 *         message gives the new name), unparsable text or an out-of-range
 *         value (the message names the range). The config is unchanged on error.
 * @ownership strings are copied.
 * @nullable none.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_set(wsrl_config_t *config, const char *key, const char *value);

/**
 * @brief Set an INT key (or an INT_LIST key to one element).
 * @param[in,out] config  the config to change.
 * @param[in]     key     an INT or INT_LIST key.
 * @param[in]     value   the value, within the key's range.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT as wsrl_config_set(), or for a
 *         key of another type. The config is unchanged on error.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_set_int(wsrl_config_t *config, const char *key, int64_t value);

/**
 * @brief Set a FLOAT key.
 * @param[in,out] config  the config to change.
 * @param[in]     key     a FLOAT key.
 * @param[in]     value   a finite value within the key's range; NaN means
 *                        "auto" for keys whose default is "auto".
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT as wsrl_config_set(), for a key
 *         of another type, or a non-finite value where "auto" is not allowed.
 *         The config is unchanged on error.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_set_float(wsrl_config_t *config, const char *key, double value);

/**
 * @brief Set a BOOL key.
 * @param[in,out] config  the config to change.
 * @param[in]     key     a BOOL key.
 * @param[in]     value   0 or 1.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT as wsrl_config_set(), for a key
 *         of another type or a value other than 0 and 1.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_set_bool(wsrl_config_t *config, const char *key, int32_t value);

/**
 * @brief Set an INT_LIST key from @p count values.
 * @param[in,out] config  the config to change.
 * @param[in]     key     an INT_LIST key.
 * @param[in]     values  @p count values, each within the key's range.
 * @param[in]     count   1 .. WSRL_CONFIG_MAX_LIST.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT as wsrl_config_set(), for a key
 *         of another type, a count out of range or an element out of range
 *         (named by index). The config is unchanged on error.
 * @ownership the values are copied.
 * @nullable none.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_set_int_list(wsrl_config_t *config, const char *key,
                                                const int64_t *values, size_t count);

/**
 * @brief Read a key as text into @p buf (NUL-terminated), as a config file
 * would hold it.
 * @param[in]  config      the config to read.
 * @param[in]  key         any key.
 * @param[out] buf         receives the text.
 * @param[in]  buf_size    bytes available at @p buf.
 * @param[out] needed_out  bytes needed including the NUL (may be NULL).
 * @return WSRL_OK, also for a size query (@p buf NULL, @p buf_size 0,
 *         @p needed_out set); WSRL_ERR_INVALID_ARGUMENT for a NULL @p config
 *         or @p key, an unknown key, or a buffer too small (then *needed_out
 *         says how large).
 * @ownership the text is copied into @p buf.
 * @nullable @p buf when @p buf_size is 0; @p needed_out.
 * @threadsafety a reader: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_get(const wsrl_config_t *config, const char *key, char *buf,
                                       size_t buf_size, size_t *needed_out);

/**
 * @brief Read an INT key.
 * @param[in]  config     the config to read.
 * @param[in]  key        an INT key.
 * @param[out] value_out  its value.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer, an unknown
 *         key or a key of another type.
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_get_int(const wsrl_config_t *config, const char *key, int64_t *value_out);

/**
 * @brief Read a FLOAT key.
 * @param[in]  config     the config to read.
 * @param[in]  key        a FLOAT key.
 * @param[out] value_out  its value; NaN means "auto" where the key documents it.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer, an unknown
 *         key or a key of another type.
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_get_float(const wsrl_config_t *config, const char *key, double *value_out);

/**
 * @brief Read a BOOL key.
 * @param[in]  config     the config to read.
 * @param[in]  key        a BOOL key.
 * @param[out] value_out  0 or 1.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer, an unknown
 *         key or a key of another type.
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_get_bool(const wsrl_config_t *config, const char *key, int32_t *value_out);

/**
 * @brief Read an INT_LIST key.
 * @param[in]  config     the config to read.
 * @param[in]  key        an INT_LIST key.
 * @param[out] values     receives the elements.
 * @param[in]  cap        room at @p values (WSRL_CONFIG_MAX_LIST always suffices).
 * @param[out] count_out  the list's length, set even when @p cap is too small
 *                        (may be NULL).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL @p config, @p key or
 *         @p values, an unknown key, a key of another type, or @p cap below
 *         the length.
 * @ownership the values are copied into @p values.
 * @nullable @p count_out.
 * @threadsafety a reader: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_get_int_list(const wsrl_config_t *config, const char *key,
                                                int64_t *values, size_t cap, size_t *count_out);

/**
 * @brief Apply "key = value" lines from a string. Stops at the first bad line
 * and leaves the config unchanged; the message names the line number.
 * @param[in,out] config  the config to change.
 * @param[in]     text    NUL-terminated lines; '#' starts a comment.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer or a bad line
 *         (errors as wsrl_config_set(), prefixed with the line number).
 * @ownership none; @p text stays the caller's.
 * @nullable none.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_parse_string(wsrl_config_t *config, const char *text);

/**
 * @brief Apply "key = value" lines from a file (as wsrl_config_parse_string()).
 *
 * The path must name a regular file of at most 1 MiB with no NUL byte.
 * @param[in,out] config  the config to change; unchanged on any error.
 * @param[in]     path    the file.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer, a bad line,
 *         a file over 1 MiB or with a NUL byte; WSRL_ERR_IO (names the path)
 *         when it cannot be opened or read, or is not a regular file;
 *         WSRL_ERR_OUT_OF_MEMORY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_parse_file(wsrl_config_t *config, const char *path);

/**
 * @brief Write every key as "key = value" text into @p buf.
 * @param[in]  config      the config to write.
 * @param[out] buf         receives the NUL-terminated text.
 * @param[in]  buf_size    bytes available at @p buf.
 * @param[out] needed_out  bytes needed including the NUL (may be NULL).
 * @return WSRL_OK; with @p buf NULL and @p buf_size 0 only the size is
 * reported (WSRL_OK, nothing written); WSRL_ERR_INVALID_ARGUMENT if
 * @p config is NULL, a @p buf_size > 0 is too small or @p buf is NULL with
 * @p buf_size > 0.
 * @ownership the text is copied into @p buf.
 * @nullable @p buf when @p buf_size is 0; @p needed_out.
 * @threadsafety a reader: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_write_string(const wsrl_config_t *config, char *buf,
                                                size_t buf_size, size_t *needed_out);

/**
 * @brief Write every key to @p path atomically (temporary file, fsync, rename).
 * @param[in] config  the config to write.
 * @param[in] path    the file to create or replace.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL pointer;
 *         WSRL_ERR_IO (the previous file is kept); WSRL_ERR_OUT_OF_MEMORY.
 * @ownership none.
 * @nullable none.
 * @threadsafety a reader: any number at once, not alongside a setter.
 */
WSRL_API wsrl_status_t wsrl_config_write_file(const wsrl_config_t *config, const char *path);

/**
 * @brief Per-handle allocator for handles created from this config.
 * @param[in,out] config     the config to change.
 * @param[in]     allocator  hooks as wsrl_set_allocator() takes them, or NULL
 *                           to use the process-wide hooks.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL @p config, a smaller
 *         struct_size or a NULL hook; WSRL_ERR_VERSION_MISMATCH for a larger
 *         struct_size.
 * @ownership the struct is copied; its user pointer stays the caller's and
 *            must outlive every handle created from this config.
 * @nullable @p allocator.
 * @threadsafety a writer: no other call on @p config at the same time.
 */
WSRL_API wsrl_status_t wsrl_config_set_allocator(wsrl_config_t *config, const wsrl_allocator_t *allocator);

/* ---- Introspection: enumerate the key table (for docs, CLIs, Python kwargs). ---- */

/**
 * @brief Number of keys in the table.
 * @return the key count; keys are numbered 0 .. count-1.
 * @ownership none.
 * @nullable none.
 * @threadsafety any thread (static table).
 */
WSRL_API size_t wsrl_config_key_count(void);

/**
 * @brief Describe key number @p index (0 .. count-1).
 * @param[in]  index        the key's number.
 * @param[out] name_out     static key name, e.g. "critic.hidden".
 * @param[out] type_out     its wsrl_config_type_t.
 * @param[out] doc_out      static one-line documentation.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p index is out of range.
 * @ownership the strings are static; never free them.
 * @nullable every out pointer.
 * @threadsafety any thread (static table).
 */
WSRL_API wsrl_status_t wsrl_config_key_info(size_t index, const char **name_out, int32_t *type_out,
                                            const char **doc_out);

/**
 * @brief Default value and range of a key, as static text.
 * @param[in]  key          any key.
 * @param[out] default_out  e.g. "256,256" (static).
 * @param[out] min_out      lower bound (for lists: per element; 0 for BOOL
 *                          and ENUM).
 * @param[out] max_out      upper bound (for lists: per element; 1 for BOOL;
 *                          choices-1 for ENUM).
 * @param[out] choices_out  for ENUM keys "a|b|c", else "" (static).
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT for a NULL or unknown key.
 * @ownership the strings are static; never free them.
 * @nullable every out pointer.
 * @threadsafety any thread (static table).
 */
WSRL_API wsrl_status_t wsrl_config_key_bounds(const char *key, const char **default_out, double *min_out,
                                              double *max_out, const char **choices_out);

WSRL_END_DECLS

#endif /* WSRL_CONFIG_H */
