/*
 * Config files: wsrl_config_parse_file() and wsrl_config_write_file(), the
 * file side of lib/core's config (parsing and formatting text stay there).
 * In lib/io because writing is atomic (atomic.c): lib/core includes
 * nothing above it (docs/design.md).
 */
#include <stdio.h>
#include <string.h>

#include "io.h"

#define WSRL__CONFIG_FILE_MAX (1u << 20)

/* The config's own allocations use the process-wide allocator (its
 * allocator setting is for the handles created from it). */
static wsrl__alloc config_alloc(const wsrl_config_t *config) {
  (void)config;
  wsrl__alloc a;
  wsrl__alloc_resolve(&a, NULL);
  return a;
}

wsrl_status_t wsrl_config_parse_file(wsrl_config_t *config, const char *path) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(path);
  const wsrl__alloc alloc = config_alloc(config);
  FILE *f = NULL;
  uint64_t size = 0;
  WSRL__TRY(wsrl__fopen_regular(path, "config file", &f, &size));
  if (size > WSRL__CONFIG_FILE_MAX) {
    fclose(f);
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config file '%s' is %llu bytes, more than the %u a config may have",
                       path, (unsigned long long)size, (unsigned)WSRL__CONFIG_FILE_MAX);
  }
  char *text = NULL;
  size_t len = 0, cap = 0;
  wsrl_status_t st = WSRL_OK;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      char *t = wsrl__realloc(&alloc, text, cap);
      if (t == NULL) {
        st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "reading config file '%s': out of memory", path);
        break;
      }
      text = t;
    }
    size_t got = fread(text + len, 1, 4096, f);
    len += got;
    if (len > WSRL__CONFIG_FILE_MAX) { /* the file grew while we read it */
      st = wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config file '%s' is more than the %u bytes a config may have", path,
                       (unsigned)WSRL__CONFIG_FILE_MAX);
      break;
    }
    if (got < 4096) {
      if (ferror(f))
        st = wsrl__error(WSRL_ERR_IO, "reading config file '%s' failed", path);
      break;
    }
  }
  fclose(f);
  if (st == WSRL_OK) {
    text[len] = '\0';
    if (strlen(text) != len)
      st = wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config file '%s' contains a NUL byte", path);
    else if ((st = wsrl_config_parse_string(config, text)) != WSRL_OK)
      wsrl__error_wrap(st, "config file '%s': ", path);
  }
  wsrl__free(&alloc, text);
  return st;
}

wsrl_status_t wsrl_config_write_file(const wsrl_config_t *config, const char *path) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(path);
  const wsrl__alloc alloc = config_alloc(config);
  size_t need = 0;
  WSRL__TRY(wsrl_config_write_string(config, NULL, 0, &need)); /* size query */
  char *text = wsrl__malloc(&alloc, need);
  if (text == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_config_write_file: out of memory");
  wsrl_status_t st = wsrl_config_write_string(config, text, need, NULL);
  if (st == WSRL_OK) {
    wsrl__afile f;
    st = wsrl__afile_open(&f, path, &alloc);
    if (st == WSRL_OK) {
      wsrl__afile_write(&f, text, need - 1);
      st = wsrl__afile_commit(&f);
    }
  }
  wsrl__free(&alloc, text);
  return st;
}
