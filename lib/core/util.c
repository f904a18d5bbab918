#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

wsrl_status_t wsrl__fopen_regular(const char *path, const char *what, FILE **fp_out, uint64_t *size_out) {
  *fp_out = NULL;
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return wsrl__error(WSRL_ERR_IO, "cannot open %s '%s': %s", what, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return wsrl__error(WSRL_ERR_IO, "cannot stat %s '%s': %s", what, path, strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return wsrl__error(WSRL_ERR_IO, "%s '%s' is not a regular file (a directory, FIFO, socket or device)", what,
                       path);
  }
  int flags = fcntl(fd, F_GETFL);
  FILE *fp = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ? NULL : fdopen(fd, "rb");
  if (fp == NULL) {
    int err = errno;
    close(fd);
    return wsrl__error(WSRL_ERR_IO, "cannot open %s '%s': %s", what, path, strerror(err));
  }
  *fp_out = fp;
  if (size_out != NULL)
    *size_out = (uint64_t)st.st_size;
  return WSRL_OK;
}
