#include <math.h>
#include <string.h>

#include "core.h"
#include "wsrl/version.h"

int wsrl__all_finite(const float *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      return 0;
  return 1;
}

wsrl_status_t wsrl__struct_copy_in(void *dst, size_t known, const void *src, uint32_t size, const char *what,
                                   const char *init_macro) {
  memset(dst, 0, known);
  if (size < sizeof(uint32_t))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "%s->struct_size is %u: initialise the struct with %s (or its init function)", what,
                       (unsigned)size, init_macro);
  if (size > known)
    return wsrl__error(WSRL_ERR_VERSION_MISMATCH,
                       "%s->struct_size is %u bytes but libwsrl %s knows %zu: the host was built against "
                       "newer libwsrl headers than the library it runs with",
                       what, (unsigned)size, WSRL_VERSION_STRING, known);
  memcpy(dst, src, size);
  return WSRL_OK;
}
