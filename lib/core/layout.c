/* The run-time layout table of every public struct (wsrl/layout.h). The
 * field list is generated from the public headers (tools/gen-layout.py);
 * the numbers are the compiler's. Public types only: no module's internals. */
#include <stddef.h>
#include <string.h>

#include "core.h"
#include "wsrl/wsrl.h"

typedef struct row {
  const char *type;
  const char *field; /* NULL: the struct itself */
  uint32_t offset;
  uint32_t size;
} row;

#define WSRL__LAYOUT_STRUCT(T)
#define WSRL__LAYOUT_FIELD(T, f) {#T, #f, (uint32_t)offsetof(T, f), (uint32_t)sizeof(((T *)0)->f)},
static const row fields[] = {
#include "wsrl_layout_fields.h"
};
#undef WSRL__LAYOUT_STRUCT
#undef WSRL__LAYOUT_FIELD

#define WSRL__LAYOUT_STRUCT(T) {#T, NULL, 0, (uint32_t)sizeof(T)},
#define WSRL__LAYOUT_FIELD(T, f)
static const row structs[] = {
#include "wsrl_layout_fields.h"
};
#undef WSRL__LAYOUT_STRUCT
#undef WSRL__LAYOUT_FIELD

#define NFIELDS (sizeof fields / sizeof fields[0])
#define NSTRUCTS (sizeof structs / sizeof structs[0])

wsrl_status_t wsrl_layout_get(const char *struct_name, const char *field, uint32_t *offset_out, uint32_t *size_out) {
  WSRL__CHECK_NULL(struct_name);
  const row *found = NULL;
  for (size_t i = 0; i < NSTRUCTS && found == NULL; i++)
    if (strcmp(structs[i].type, struct_name) == 0)
      found = &structs[i];
  if (found == NULL)
    return wsrl__error(WSRL_ERR_VERSION_MISMATCH,
                       "wsrl_layout_get: libwsrl %s has no public struct '%s' (older library, or misspelt)",
                       WSRL_VERSION_STRING, struct_name);
  if (field != NULL) {
    const row *f = NULL;
    for (size_t i = 0; i < NFIELDS && f == NULL; i++)
      if (strcmp(fields[i].type, struct_name) == 0 && strcmp(fields[i].field, field) == 0)
        f = &fields[i];
    if (f == NULL)
      return wsrl__error(WSRL_ERR_VERSION_MISMATCH,
                         "wsrl_layout_get: %s has no field '%s' in libwsrl %s (older library, or misspelt)",
                         struct_name, field, WSRL_VERSION_STRING);
    found = f;
  }
  if (offset_out != NULL)
    *offset_out = found->offset;
  if (size_out != NULL)
    *size_out = found->size;
  return WSRL_OK;
}

size_t wsrl_layout_count(void) { return NFIELDS; }

wsrl_status_t wsrl_layout_info(size_t index, const char **struct_out, const char **field_out, uint32_t *offset_out,
                               uint32_t *size_out) {
  if (index >= NFIELDS)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_layout_info: index %zu is out of range [0, %zu)", index,
                       (size_t)NFIELDS);
  if (struct_out != NULL)
    *struct_out = fields[index].type;
  if (field_out != NULL)
    *field_out = fields[index].field;
  if (offset_out != NULL)
    *offset_out = fields[index].offset;
  if (size_out != NULL)
    *size_out = fields[index].size;
  return WSRL_OK;
}
