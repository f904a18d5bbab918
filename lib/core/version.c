#include <stddef.h>

#include "wsrl/version.h"

const char *wsrl_version_string(void) { return WSRL_VERSION_STRING; }

uint32_t wsrl_version_number(void) { return (uint32_t)WSRL_VERSION_NUMBER; }

void wsrl_version(uint32_t *major_out, uint32_t *minor_out, uint32_t *patch_out) {
  if (major_out != NULL)
    *major_out = WSRL_VERSION_MAJOR;
  if (minor_out != NULL)
    *minor_out = WSRL_VERSION_MINOR;
  if (patch_out != NULL)
    *patch_out = WSRL_VERSION_PATCH;
}
