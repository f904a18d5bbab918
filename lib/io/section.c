/* The section container described in io.h: a streaming writer that puts the
 * table last, and a reader that validates header, table and offsets before any
 * payload is trusted. */
#include <errno.h>
#include <stdlib.h>

#include "io.h"

/* ---- names ---- */

static int name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > WSRL__SECTION_NAME_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
      return 0;
  }
  return 1;
}

/* Printable copy of 8 magic bytes for messages. */
static void magic_text(const uint8_t *m, char out[33]) {
  char *p = out;
  for (int i = 0; i < 8; i++) {
    if (m[i] >= 0x20 && m[i] < 0x7f && m[i] != '\\')
      *p++ = (char)m[i];
    else
      p += sprintf(p, "\\x%02x", m[i]);
  }
  *p = '\0';
}

/* ---- writer ---- */

static const uint8_t zeros[8];

static wsrl_status_t writer_fail(wsrl__secwriter *w, wsrl_status_t st) {
  if (w->file.status == WSRL_OK)
    w->file.status = st;
  return st;
}

static wsrl_status_t pad8(wsrl__secwriter *w) {
  size_t pad = (size_t)((8u - (w->file.offset & 7u)) & 7u);
  return wsrl__afile_write(&w->file, zeros, pad);
}

wsrl_status_t wsrl__secwriter_open(wsrl__secwriter *w, const char *path, const char magic[8],
                                   uint32_t format_version, const wsrl__alloc *alloc) {
  memset(w, 0, sizeof *w);
  memcpy(w->magic, magic, 8);
  w->format_version = format_version;
  WSRL__TRY(wsrl__afile_open(&w->file, path, alloc));
  uint8_t header[WSRL__SECTION_HEADER_SIZE] = {0};
  return wsrl__afile_write(&w->file, header, sizeof header); /* placeholder, rewritten at commit */
}

wsrl_status_t wsrl__secwriter_begin(wsrl__secwriter *w, const char *name) {
  if (w->file.status != WSRL_OK)
    return w->file.status;
  if (w->open)
    return writer_fail(w, wsrl__error(WSRL_ERR_WRONG_STATE, "'%s': section '%s' begun inside section '%s'",
                                      w->file.path, name, w->sections[w->count - 1].name));
  if (name == NULL || !name_ok(name))
    return writer_fail(w, wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                                      "'%s': section name '%s' is not 1..%d characters of [a-z0-9_.]",
                                      w->file.path, name ? name : "(null)", WSRL__SECTION_NAME_MAX));
  for (uint32_t i = 0; i < w->count; i++)
    if (strcmp(w->sections[i].name, name) == 0)
      return writer_fail(w, wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "'%s': section '%s' written twice",
                                        w->file.path, name));
  if (w->count == WSRL__SECTION_MAX)
    return writer_fail(w, wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "'%s': more than %u sections", w->file.path,
                                      WSRL__SECTION_MAX));
  if (w->count == w->cap) {
    uint32_t cap = w->cap ? w->cap * 2 : 16;
    wsrl__section *s = wsrl__realloc(&w->file.alloc, w->sections, (size_t)cap * sizeof *s);
    if (s == NULL)
      return writer_fail(w, wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot grow the section table",
                                        w->file.path));
    w->sections = s;
    w->cap = cap;
  }
  WSRL__TRY(pad8(w));
  wsrl__section *s = &w->sections[w->count++];
  memset(s, 0, sizeof *s);
  strcpy(s->name, name);
  s->offset = w->file.offset;
  w->open = 1;
  return WSRL_OK;
}

static wsrl_status_t need_open(wsrl__secwriter *w) {
  if (w->file.status != WSRL_OK)
    return w->file.status;
  if (!w->open)
    return writer_fail(w, wsrl__error(WSRL_ERR_WRONG_STATE, "'%s': write outside a section", w->file.path));
  return WSRL_OK;
}

wsrl_status_t wsrl__secwriter_write(wsrl__secwriter *w, const void *data, size_t size) {
  WSRL__TRY(need_open(w));
  wsrl__section *s = &w->sections[w->count - 1];
  s->crc = wsrl__crc32(s->crc, data, size);
  return wsrl__afile_write(&w->file, data, size);
}

wsrl_status_t wsrl__secwriter_write_f32(wsrl__secwriter *w, const float *x, size_t n) {
  if (wsrl__host_is_le())
    return wsrl__secwriter_write(w, x, n * sizeof(float));
  uint8_t buf[4096];
  while (n > 0) {
    size_t k = n < sizeof buf / 4 ? n : sizeof buf / 4;
    for (size_t i = 0; i < k; i++)
      wsrl__store_f32le(buf + 4 * i, x[i]);
    WSRL__TRY(wsrl__secwriter_write(w, buf, 4 * k));
    x += k;
    n -= k;
  }
  return WSRL_OK;
}

wsrl_status_t wsrl__secwriter_end(wsrl__secwriter *w) {
  WSRL__TRY(need_open(w));
  wsrl__section *s = &w->sections[w->count - 1];
  s->size = w->file.offset - s->offset;
  w->open = 0;
  return WSRL_OK;
}

wsrl_status_t wsrl__secwriter_add(wsrl__secwriter *w, const char *name, const void *data, size_t size) {
  WSRL__TRY(wsrl__secwriter_begin(w, name));
  WSRL__TRY(wsrl__secwriter_write(w, data, size));
  return wsrl__secwriter_end(w);
}

static void writer_free(wsrl__secwriter *w) {
  wsrl__free(&w->file.alloc, w->sections);
  w->sections = NULL;
  w->count = w->cap = 0;
}

wsrl_status_t wsrl__secwriter_commit(wsrl__secwriter *w) {
  wsrl_status_t st = w->file.status;
  if (st == WSRL_OK && w->open)
    st = writer_fail(w, wsrl__error(WSRL_ERR_WRONG_STATE, "'%s': section '%s' not ended before commit",
                                    w->file.path, w->sections[w->count - 1].name));
  if (st == WSRL_OK)
    st = pad8(w);
  uint64_t table_offset = w->file.offset;
  uint32_t table_crc = 0;
  for (uint32_t i = 0; st == WSRL_OK && i < w->count; i++) {
    uint8_t e[WSRL__SECTION_ENTRY_SIZE] = {0};
    memcpy(e, w->sections[i].name, strlen(w->sections[i].name));
    wsrl__store_u64le(e + 32, w->sections[i].offset);
    wsrl__store_u64le(e + 40, w->sections[i].size);
    wsrl__store_u32le(e + 48, w->sections[i].crc);
    table_crc = wsrl__crc32(table_crc, e, sizeof e);
    st = wsrl__afile_write(&w->file, e, sizeof e);
  }
  if (st == WSRL_OK) {
    uint8_t h[WSRL__SECTION_HEADER_SIZE] = {0};
    memcpy(h, w->magic, 8);
    wsrl__store_u32le(h + 8, WSRL__SECTION_CONTAINER_VERSION);
    wsrl__store_u32le(h + 12, w->format_version);
    wsrl__store_u32le(h + 16, WSRL__SECTION_HEADER_SIZE);
    wsrl__store_u32le(h + 20, w->count);
    wsrl__store_u64le(h + 24, table_offset);
    wsrl__store_u64le(h + 32, w->file.offset);
    wsrl__store_u32le(h + 40, table_crc);
    wsrl__store_u32le(h + 60, wsrl__crc32(0, h, 60));
    st = wsrl__afile_seek(&w->file, 0);
    if (st == WSRL_OK)
      st = wsrl__afile_write(&w->file, h, sizeof h);
  }
  writer_free(w);
  if (st != WSRL_OK) {
    wsrl__afile_abort(&w->file);
    return st;
  }
  return wsrl__afile_commit(&w->file);
}

void wsrl__secwriter_abort(wsrl__secwriter *w) {
  writer_free(w);
  wsrl__afile_abort(&w->file);
}

/* ---- reader ---- */

#define corrupt(r, ...) wsrl__io_corrupt((r)->path, __VA_ARGS__)

/* Names must be unique: merge-sort the indices by name and compare neighbours,
 * O(n log n) even for a hostile table of 65536 entries. */
static wsrl_status_t check_unique(wsrl__secreader *r, uint64_t table_offset) {
  uint32_t n = r->count;
  if (n < 2)
    return WSRL_OK;
  uint32_t *a = wsrl__malloc(&r->alloc, 2 * (size_t)n * sizeof *a);
  if (a == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate %u section indices", r->path, n);
  uint32_t *b = a + n;
  for (uint32_t i = 0; i < n; i++)
    a[i] = i;
  for (uint32_t width = 1; width < n; width *= 2) {
    for (uint32_t lo = 0; lo < n; lo += 2 * width) {
      uint32_t mid = lo + width < n ? lo + width : n;
      uint32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      uint32_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi)
        b[k++] = strcmp(r->sections[a[i]].name, r->sections[a[j]].name) <= 0 ? a[i++] : a[j++];
      while (i < mid)
        b[k++] = a[i++];
      while (j < hi)
        b[k++] = a[j++];
    }
    uint32_t *t = a;
    a = b;
    b = t;
  }
  wsrl_status_t st = WSRL_OK;
  for (uint32_t i = 1; i < n && st == WSRL_OK; i++)
    if (strcmp(r->sections[a[i - 1]].name, r->sections[a[i]].name) == 0) {
      uint32_t later = a[i] > a[i - 1] ? a[i] : a[i - 1];
      st = corrupt(r, table_offset + (uint64_t)later * WSRL__SECTION_ENTRY_SIZE, "table.name",
                   "section '%s' appears twice", r->sections[a[i]].name);
    }
  wsrl__free(&r->alloc, a < b ? a : b);
  return st;
}

static wsrl_status_t read_header(wsrl__secreader *r, const char magic[8], uint32_t max_format_version,
                                 uint64_t *table_offset_out, uint32_t *table_crc_out) {
  uint8_t h[WSRL__SECTION_HEADER_SIZE];
  if (r->file_size < WSRL__SECTION_HEADER_SIZE)
    return corrupt(r, r->file_size, "header", "truncated: the file has %llu of the %u header bytes",
                   (unsigned long long)r->file_size, WSRL__SECTION_HEADER_SIZE);
  WSRL__TRY(wsrl__io_read_at(r->fp, r->path, 0, h, sizeof h, "header"));
  if (memcmp(h, magic, 8) != 0) {
    char got[33], want[33];
    magic_text(h, got);
    magic_text((const uint8_t *)magic, want);
    return corrupt(r, 0, "header.magic", "'%s', expected '%s'", got, want);
  }
  uint32_t container = wsrl__load_u32le(h + 8);
  if (container != WSRL__SECTION_CONTAINER_VERSION)
    return wsrl__error(WSRL_ERR_VERSION_MISMATCH,
                       "'%s': container version %u at offset 8 (header.container), this library reads %u",
                       r->path, container, WSRL__SECTION_CONTAINER_VERSION);
  uint32_t crc = wsrl__crc32(0, h, 60);
  if (crc != wsrl__load_u32le(h + 60))
    return corrupt(r, 60, "header.header_crc", "checksum 0x%08x, computed 0x%08x", wsrl__load_u32le(h + 60), crc);
  r->format_version = wsrl__load_u32le(h + 12);
  if (r->format_version == 0)
    return corrupt(r, 12, "header.format_version", "0 is not a version");
  if (r->format_version > max_format_version)
    return wsrl__error(WSRL_ERR_VERSION_MISMATCH,
                       "'%s': format version %u at offset 12 (header.format_version), this library reads up to %u",
                       r->path, r->format_version, max_format_version);
  if (wsrl__load_u32le(h + 16) != WSRL__SECTION_HEADER_SIZE)
    return corrupt(r, 16, "header.header_size", "%u, expected %u", wsrl__load_u32le(h + 16),
                   WSRL__SECTION_HEADER_SIZE);
  r->count = wsrl__load_u32le(h + 20);
  if (r->count > WSRL__SECTION_MAX)
    return corrupt(r, 20, "header.section_count", "%u exceeds %u", r->count, WSRL__SECTION_MAX);
  uint64_t table_offset = wsrl__load_u64le(h + 24);
  uint64_t file_size = wsrl__load_u64le(h + 32);
  for (int i = 44; i < 60; i++)
    if (h[i] != 0)
      return corrupt(r, (uint64_t)i, "header.reserved", "byte 0x%02x, expected 0", h[i]);
  if (file_size > r->file_size)
    return corrupt(r, r->file_size, "header.file_size", "truncated: the header says %llu bytes, the file has %llu",
                   (unsigned long long)file_size, (unsigned long long)r->file_size);
  if (file_size < r->file_size)
    return corrupt(r, file_size, "header.file_size", "%llu trailing bytes after the declared end",
                   (unsigned long long)(r->file_size - file_size));
  uint64_t table_size = (uint64_t)r->count * WSRL__SECTION_ENTRY_SIZE;
  if (table_offset < WSRL__SECTION_HEADER_SIZE || table_offset > file_size ||
      file_size - table_offset != table_size)
    return corrupt(r, 24, "header.table_offset", "%llu with %u sections does not end at the file size %llu",
                   (unsigned long long)table_offset, r->count, (unsigned long long)file_size);
  *table_offset_out = table_offset;
  *table_crc_out = wsrl__load_u32le(h + 40);
  return WSRL_OK;
}

static uint64_t align8(uint64_t x) { return (x + 7u) & ~(uint64_t)7u; }

/* Every byte of a file is covered: padding must be zero. */
static wsrl_status_t check_padding(const wsrl__secreader *r, uint64_t from, uint64_t to) {
  uint8_t pad[8];
  if (to <= from)
    return WSRL_OK;
  WSRL__TRY(wsrl__io_read_at(r->fp, r->path, from, pad, (size_t)(to - from), "padding"));
  for (uint64_t i = 0; i < to - from; i++)
    if (pad[i] != 0)
      return corrupt(r, from + i, "padding", "byte 0x%02x, expected 0", pad[i]);
  return WSRL_OK;
}

static wsrl_status_t read_table(wsrl__secreader *r, uint64_t table_offset, uint32_t table_crc) {
  size_t table_size = (size_t)r->count * WSRL__SECTION_ENTRY_SIZE;
  uint8_t *t = NULL;
  wsrl_status_t st = WSRL_OK;
  if (r->count > 0) {
    t = wsrl__malloc(&r->alloc, table_size);
    r->sections = wsrl__calloc(&r->alloc, r->count, sizeof *r->sections);
  }
  if (r->count > 0 && (t == NULL || r->sections == NULL))
    st = wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate a table of %u sections", r->path, r->count);
  if (st == WSRL_OK)
    st = wsrl__io_read_at(r->fp, r->path, table_offset, t, table_size, "table");
  if (st == WSRL_OK && wsrl__crc32(0, t, table_size) != table_crc)
    st = corrupt(r, 40, "header.table_crc", "the table's checksum is 0x%08x, the header says 0x%08x",
                 wsrl__crc32(0, t, table_size), table_crc);
  uint64_t end_prev = WSRL__SECTION_HEADER_SIZE;
  for (uint32_t i = 0; st == WSRL_OK && i < r->count; i++) {
    const uint8_t *e = t + (size_t)i * WSRL__SECTION_ENTRY_SIZE;
    uint64_t at = table_offset + (uint64_t)i * WSRL__SECTION_ENTRY_SIZE;
    wsrl__section *s = &r->sections[i];
    if (memchr(e, 0, 32) == NULL) {
      st = corrupt(r, at, "table.name", "entry %u has no NUL terminator", i);
      break;
    }
    memcpy(s->name, e, 32);
    s->offset = wsrl__load_u64le(e + 32);
    s->size = wsrl__load_u64le(e + 40);
    s->crc = wsrl__load_u32le(e + 48);
    if (!name_ok(s->name))
      st = corrupt(r, at, "table.name", "entry %u: invalid section name", i);
    else if (wsrl__load_u32le(e + 52) != 0)
      st = corrupt(r, at + 52, "table.reserved", "section '%s': nonzero", s->name);
    else if (s->offset != align8(end_prev))
      st = corrupt(r, at + 32, "table.offset", "section '%s' at %llu, expected %llu (sections follow each other, "
                   "8-byte aligned, without overlap)", s->name, (unsigned long long)s->offset,
                   (unsigned long long)align8(end_prev));
    else if (s->offset > table_offset || s->size > table_offset - s->offset)
      st = corrupt(r, at + 40, "table.size", "section '%s' (%llu bytes at %llu) runs past the table at %llu",
                   s->name, (unsigned long long)s->size, (unsigned long long)s->offset,
                   (unsigned long long)table_offset);
    else
      st = check_padding(r, end_prev, s->offset);
    end_prev = s->offset + s->size;
  }
  if (st == WSRL_OK && table_offset != align8(end_prev))
    st = corrupt(r, 24, "header.table_offset", "%llu, expected %llu right after the last section",
                 (unsigned long long)table_offset, (unsigned long long)align8(end_prev));
  if (st == WSRL_OK)
    st = check_padding(r, end_prev, table_offset);
  wsrl__free(&r->alloc, t);
  if (st == WSRL_OK)
    st = check_unique(r, table_offset);
  return st;
}

wsrl_status_t wsrl__secreader_open(wsrl__secreader *r, const char *path, const char magic[8],
                                   uint32_t max_format_version, const wsrl__alloc *alloc) {
  memset(r, 0, sizeof *r);
  if (alloc != NULL)
    r->alloc = *alloc;
  else
    wsrl__alloc_resolve(&r->alloc, NULL);
  if (path == NULL || path[0] == '\0')
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "argument 'path' is NULL or empty");
  size_t n = strlen(path) + 1;
  r->path = wsrl__malloc(&r->alloc, n);
  if (r->path == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate the file name", path);
  memcpy(r->path, path, n);
  wsrl_status_t st = WSRL_OK;
  uint64_t table_offset = 0;
  uint32_t table_crc = 0;
  st = wsrl__fopen_regular(path, "file", &r->fp, &r->file_size);
  if (st == WSRL_OK)
    st = read_header(r, magic, max_format_version, &table_offset, &table_crc);
  if (st == WSRL_OK)
    st = read_table(r, table_offset, table_crc);
  if (st != WSRL_OK)
    wsrl__secreader_close(r);
  return st;
}

const wsrl__section *wsrl__secreader_find(const wsrl__secreader *r, const char *name) {
  for (uint32_t i = 0; i < r->count; i++)
    if (strcmp(r->sections[i].name, name) == 0)
      return &r->sections[i];
  return NULL;
}

wsrl_status_t wsrl__secreader_require(const wsrl__secreader *r, const char *name, int64_t expected_size,
                                      const wsrl__section **out) {
  const wsrl__section *s = wsrl__secreader_find(r, name);
  if (s == NULL)
    return wsrl__error(WSRL_ERR_CORRUPT, "'%s': corrupt: section '%s' is missing", r->path, name);
  if (expected_size >= 0 && s->size != (uint64_t)expected_size)
    return corrupt(r, s->offset, s->name, "%llu bytes, expected %lld", (unsigned long long)s->size,
                   (long long)expected_size);
  *out = s;
  return WSRL_OK;
}

wsrl_status_t wsrl__secreader_read(const wsrl__secreader *r, const wsrl__section *s, uint64_t offset,
                                   void *dst, size_t n) {
  if (offset > s->size || n > s->size - offset)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "'%s': read of %zu bytes at %llu past section '%s' (%llu bytes)",
                       r->path, n, (unsigned long long)offset, s->name, (unsigned long long)s->size);
  return wsrl__io_read_at(r->fp, r->path, s->offset + offset, dst, n, s->name);
}

static wsrl_status_t crc_mismatch(const wsrl__secreader *r, const wsrl__section *s, uint32_t crc) {
  return corrupt(r, s->offset, s->name, "checksum 0x%08x, the table says 0x%08x", crc, s->crc);
}

wsrl_status_t wsrl__secreader_verify(const wsrl__secreader *r, const wsrl__section *s) {
  size_t chunk = 1u << 20;
  if (s->size < chunk)
    chunk = s->size > 0 ? (size_t)s->size : 1;
  uint8_t *buf = wsrl__malloc(&r->alloc, chunk);
  if (buf == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "'%s': cannot allocate a %zu-byte read buffer", r->path, chunk);
  uint32_t crc = 0;
  wsrl_status_t st = WSRL_OK;
  for (uint64_t done = 0; done < s->size && st == WSRL_OK;) {
    size_t k = s->size - done < chunk ? (size_t)(s->size - done) : chunk;
    st = wsrl__io_read_at(r->fp, r->path, s->offset + done, buf, k, s->name);
    crc = wsrl__crc32(crc, buf, k);
    done += k;
  }
  wsrl__free(&r->alloc, buf);
  if (st == WSRL_OK && crc != s->crc)
    st = crc_mismatch(r, s, crc);
  return st;
}

wsrl_status_t wsrl__secreader_read_all(const wsrl__secreader *r, const wsrl__section *s, void *dst) {
  WSRL__TRY(wsrl__io_read_at(r->fp, r->path, s->offset, dst, (size_t)s->size, s->name));
  uint32_t crc = wsrl__crc32(0, dst, (size_t)s->size);
  return crc == s->crc ? WSRL_OK : crc_mismatch(r, s, crc);
}

void wsrl__secreader_close(wsrl__secreader *r) {
  if (r->fp != NULL)
    fclose(r->fp);
  wsrl__free(&r->alloc, r->sections);
  wsrl__free(&r->alloc, r->path);
  r->fp = NULL;
  r->sections = NULL;
  r->path = NULL;
  r->count = 0;
}

wsrl_status_t wsrl__section_file_save(const char *path, const char magic[8], uint32_t format_version,
                                      const wsrl__alloc *alloc, wsrl__section_write_fn write, const void *ctx) {
  wsrl__secwriter w;
  WSRL__TRY(wsrl__secwriter_open(&w, path, magic, format_version, alloc));
  wsrl_status_t st = write(&w, ctx);
  if (st != WSRL_OK) {
    wsrl__secwriter_abort(&w);
    return st;
  }
  return wsrl__secwriter_commit(&w);
}
