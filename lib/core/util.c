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

wsrl_status_t wsrl__struct_check_size(uint32_t size, size_t known, const char *what, const char *init_macro) {
  if (size < sizeof(uint32_t))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "%s->struct_size is %u: initialise the struct with %s (or its init function)", what,
                       (unsigned)size, init_macro);
  if (size > known)
    return wsrl__error(WSRL_ERR_VERSION_MISMATCH,
                       "%s->struct_size is %u bytes but libwsrl %s knows %zu: the host was built against "
                       "newer libwsrl headers than the library it runs with",
                       what, (unsigned)size, WSRL_VERSION_STRING, known);
  return WSRL_OK;
}

wsrl_status_t wsrl__struct_copy_in(void *dst, size_t known, const void *src, uint32_t size, const char *what,
                                   const char *init_macro) {
  memset(dst, 0, known);
  WSRL__TRY(wsrl__struct_check_size(size, known, what, init_macro));
  memcpy(dst, src, size);
  return WSRL_OK;
}

void wsrl__struct_copy_out(void *dst, const void *full, uint32_t size) {
  /* Fields end at the caller's struct_size: copy that prefix, keep its size. */
  memcpy(dst, full, size);
  memcpy(dst, &size, sizeof size);
}
