/* Small file helpers shared by the atomic writer, the section container and
 * the loaders: sizes, positioned exact reads, directory fsync, byte order. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

int wsrl__host_is_le(void) {
  const uint32_t one = 1;
  uint8_t b;
  memcpy(&b, &one, 1);
  return b == 1;
}

void wsrl__f32_swap_le(float *x, size_t n) {
  if (wsrl__host_is_le())
    return;
  for (size_t i = 0; i < n; i++) {
    uint8_t b[4];
    memcpy(b, &x[i], 4);
    x[i] = wsrl__load_f32le(b);
  }
}

wsrl_status_t wsrl__io_corrupt(const char *path, uint64_t offset, const char *field, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt at offset %llu (%s): %s", path, (unsigned long long)offset,
                     field, what);
}

wsrl_status_t wsrl__io_read_at(FILE *fp, const char *path, uint64_t offset, void *dst, size_t n,
                               const char *field) {
  if (offset > (uint64_t)INT64_MAX || fseeko(fp, (off_t)offset, SEEK_SET) != 0)
    return wsrl__error(WSRL_ERR_IO, "'%s': cannot seek to offset %llu (%s): %s", path,
                       (unsigned long long)offset, field, strerror(errno));
  size_t got = fread(dst, 1, n, fp);
  if (got == n)
    return WSRL_OK;
  if (ferror(fp))
    return wsrl__error(WSRL_ERR_IO, "'%s': read error at offset %llu (%s): %s", path,
                       (unsigned long long)offset, field, strerror(errno));
  return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt at offset %llu (%s): truncated, %zu of %zu bytes present",
                     path, (unsigned long long)(offset + got), field, got, n);
}

wsrl_status_t wsrl__io_fsync_dir(const char *path) {
  /* The directory part of path, "." when there is none. */
  const char *slash = strrchr(path, '/');
  char buf[4096];
  const char *dir = ".";
  if (slash != NULL) {
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof buf)
      return wsrl__error(WSRL_ERR_IO, "'%s': directory name too long", path);
    memcpy(buf, path, len);
    buf[len] = '\0';
    dir = buf;
  }
  int fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return wsrl__error(WSRL_ERR_IO, "'%s': cannot open directory '%s': %s", path, dir, strerror(errno));
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  /* Some file systems refuse fsync on directories; the rename itself is done. */
  if (rc != 0 && err != EINVAL && err != EROFS)
    return wsrl__error(WSRL_ERR_IO, "'%s': cannot fsync directory '%s': %s", path, dir, strerror(err));
  return WSRL_OK;
}
