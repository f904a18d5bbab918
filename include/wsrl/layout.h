/**
 * @file wsrl/layout.h
 * @brief The loaded library's layout of every public struct, for bindings.
 *
 * A binding that mirrors libwsrl's structs (cffi, ctypes, Rust, Go, ...)
 * checks its mirror when it loads the library: for every field it declares,
 * wsrl_layout_get() must give the same offset and size. A struct may be
 * shorter in the binding than in the library (an older binding: the library
 * honours a smaller struct_size), never longer, and fields only ever appear
 * at a struct's end, so a field the library does not know means the library
 * is older than the binding's headers.
 *
 * The table is generated from the public headers at build time
 * (tools/gen-layout.py) and its numbers come from the compiler (offsetof and
 * sizeof). The released table is committed as tests/abi/layout.tsv; the abi
 * suite fails when a struct changes other than by appended fields.
 *
 * Threading: every call is thread-safe; the table is static and immutable.
 */
#ifndef WSRL_LAYOUT_H
#define WSRL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include "export.h"
#include "status.h"

WSRL_BEGIN_DECLS

/**
 * @brief Offset and size of one field of a public struct, or the struct's size.
 *
 * Example: `wsrl_layout_get("wsrl_env_spec_t", "max_episode_steps", &off, &size)`.
 * @param[in]  struct_name  the struct's typedef name, e.g. "wsrl_batch_t".
 * @param[in]  field        a field name; NULL asks for the whole struct
 *                          (offset 0, size = sizeof).
 * @param[out] offset_out   offsetof(struct, field) in bytes; may be NULL.
 * @param[out] size_out     sizeof the field (or the struct) in bytes; may be NULL.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p struct_name is NULL;
 *         WSRL_ERR_VERSION_MISMATCH if this library has no such struct or
 *         field (it is older than the headers the caller mirrors, or the
 *         name is misspelt; the message names it).
 * Ownership: none. Nullable: @p field, @p offset_out, @p size_out.
 * Thread-safety: any thread.
 */
WSRL_API wsrl_status_t wsrl_layout_get(const char *struct_name, const char *field, uint32_t *offset_out,
                                       uint32_t *size_out);

/**
 * @brief Number of fields in the layout table (every field of every public
 * struct), for wsrl_layout_info().
 * @return the count; it only grows from one release to the next.
 * Ownership: none. Nullable: none. Thread-safety: any thread.
 */
WSRL_API size_t wsrl_layout_count(void);

/**
 * @brief Describe field number @p index of the layout table. Fields are
 * grouped by struct, in declaration order.
 * @param[in]  index        0 .. wsrl_layout_count() - 1.
 * @param[out] struct_out   the struct's typedef name (static string).
 * @param[out] field_out    the field's name (static string).
 * @param[out] offset_out   its offset in bytes.
 * @param[out] size_out     its size in bytes.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT if @p index is out of range.
 * Ownership: the strings are static, never freed. Nullable: every out pointer.
 * Thread-safety: any thread.
 */
WSRL_API wsrl_status_t wsrl_layout_info(size_t index, const char **struct_out, const char **field_out,
                                        uint32_t *offset_out, uint32_t *size_out);

WSRL_END_DECLS

#endif /* WSRL_LAYOUT_H */
