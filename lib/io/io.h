/*
 * Shared low-level file I/O: CRC32, little-endian encoding, atomic writes and
 * a small "section table" container. Used by the replay files (lib/replay) and
 * the agent checkpoints (lib/agents, lib/train). Nothing here is exported.
 *
 * Every function that fails records a message with wsrl__error() naming the
 * file, and for a malformed file the byte offset and the field, e.g.
 *   "'run.wsrl': corrupt at offset 24 (header.table_offset): 9000 is beyond the file size 4096"
 *
 * ---- Section container, version 1 (all integers little-endian) ----
 *
 *   header, 64 bytes at offset 0
 *     0   8  magic            the file kind, e.g. "WSRLRPLY" (replay), chosen by the caller
 *     8   4  container        WSRL__SECTION_CONTAINER_VERSION (1)
 *    12   4  format_version   the file kind's own version, chosen by the caller
 *    16   4  header_size      64
 *    20   4  section_count    <= WSRL__SECTION_MAX
 *    24   8  table_offset     where the section table starts
 *    32   8  file_size        total bytes; table_offset + section_count * 56
 *    40   4  table_crc        CRC32 of the whole table
 *    44  16  reserved         zero
 *    60   4  header_crc       CRC32 of bytes 0..59
 *   sections: payloads one after the other, each starting on an 8-byte
 *     boundary (zero padding), in the order they were written
 *   table, section_count entries of 56 bytes at table_offset
 *     0  32  name             [a-z0-9_.] NUL-padded, at least one NUL, unique
 *    32   8  offset           >= 64, multiple of 8, ascending, no overlap
 *    40   8  size             offset + size <= table_offset
 *    48   4  crc              CRC32 of the payload
 *    52   4  reserved         zero
 *
 * The table is written last so a writer can stream sections of unknown size;
 * the header is written twice (placeholder first, then the real one). Files are
 * always written to a temporary name beside the target, fsynced, renamed over
 * the target and the directory fsynced: a crash leaves the old file or the new
 * one, never a mix.
 *
 * A reader validates the header, the table and every offset at open (without
 * reading payloads); payload CRCs are checked by wsrl__secreader_verify() or
 * wsrl__secreader_read_all(). A loader that must not touch its target before
 * the whole file is known good verifies every section first, then reads.
 */
#ifndef WSRL_IO_H
#define WSRL_IO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

/* ---- CRC32 (IEEE 802.3, reflected 0xEDB88320: the zlib / PNG / gzip CRC) ----
 * Incremental: start with crc = 0 and feed the result back in.
 * wsrl__crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t wsrl__crc32(uint32_t crc, const void *data, size_t size);

/* ---- little-endian encoding ---- */

static inline void wsrl__store_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static inline void wsrl__store_u64le(uint8_t *p, uint64_t v) {
  wsrl__store_u32le(p, (uint32_t)v);
  wsrl__store_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t wsrl__load_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t wsrl__load_u64le(const uint8_t *p) {
  return (uint64_t)wsrl__load_u32le(p) | (uint64_t)wsrl__load_u32le(p + 4) << 32;
}
static inline void wsrl__store_i32le(uint8_t *p, int32_t v) { wsrl__store_u32le(p, (uint32_t)v); }
static inline void wsrl__store_i64le(uint8_t *p, int64_t v) { wsrl__store_u64le(p, (uint64_t)v); }
static inline int32_t wsrl__load_i32le(const uint8_t *p) { return (int32_t)wsrl__load_u32le(p); }
static inline int64_t wsrl__load_i64le(const uint8_t *p) { return (int64_t)wsrl__load_u64le(p); }
/* IEEE-754 binary32/binary64 bit patterns (NaN payloads preserved). */
static inline void wsrl__store_f32le(uint8_t *p, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  wsrl__store_u32le(p, u);
}
static inline void wsrl__store_f64le(uint8_t *p, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  wsrl__store_u64le(p, u);
}
static inline float wsrl__load_f32le(const uint8_t *p) {
  uint32_t u = wsrl__load_u32le(p);
  float v;
  memcpy(&v, &u, 4);
  return v;
}
static inline double wsrl__load_f64le(const uint8_t *p) {
  uint64_t u = wsrl__load_u64le(p);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

/* 1 on a little-endian host. Bulk fp32 arrays are stored as-is there. */
int wsrl__host_is_le(void);
/* Convert n floats between host order and little-endian in place (no-op on LE hosts). */
void wsrl__f32_swap_le(float *x, size_t n);

/* ---- small file helpers ---- */

/* Seek to offset and read exactly n bytes. A short read is WSRL_ERR_CORRUPT naming the
 * offset and field ("truncated"); a read error is WSRL_ERR_IO. */
wsrl_status_t wsrl__io_read_at(FILE *fp, const char *path, uint64_t offset, void *dst, size_t n,
                               const char *field);
/* Record and return WSRL_ERR_CORRUPT as "'<path>': corrupt at offset <offset> (<field>): <what>". */
wsrl_status_t wsrl__io_corrupt(const char *path, uint64_t offset, const char *field, const char *fmt, ...)
    WSRL__PRINTF(4, 5);
/* fsync the directory that holds path (after a rename); WSRL_ERR_IO on failure. */
wsrl_status_t wsrl__io_fsync_dir(const char *path);

/* ---- atomic writes ----
 * For writers that produce the bytes themselves. A sticky status: after the
 * first failure later calls do nothing and return it, so a writer may check
 * only at commit. Always end with commit or abort (abort after a failed
 * commit is allowed and does nothing). */
typedef struct wsrl__afile {
  FILE *fp;
  char *path;     /* target */
  char *tmp_path; /* "<path>.tmp-<pid>-<n>", beside the target */
  uint64_t offset; /* current write position */
  wsrl_status_t status;
  wsrl__alloc alloc;
} wsrl__afile;

/* Create the temporary file (mode 0666 & ~umask, exclusive). */
wsrl_status_t wsrl__afile_open(wsrl__afile *f, const char *path, const wsrl__alloc *alloc);
wsrl_status_t wsrl__afile_write(wsrl__afile *f, const void *data, size_t size);
/* Absolute repositioning (to patch a header); offset <= bytes written so far. */
wsrl_status_t wsrl__afile_seek(wsrl__afile *f, uint64_t offset);
/* fflush, fsync, close, rename over the target, fsync the directory. On failure
 * the temporary file is removed and the target is untouched. */
wsrl_status_t wsrl__afile_commit(wsrl__afile *f);
/* Close and remove the temporary file; the target is untouched. */
void wsrl__afile_abort(wsrl__afile *f);

/* ---- section container ---- */

#define WSRL__SECTION_CONTAINER_VERSION 1u
#define WSRL__SECTION_HEADER_SIZE 64u
#define WSRL__SECTION_ENTRY_SIZE 56u
#define WSRL__SECTION_NAME_MAX 31 /* characters, excluding the NUL */
#define WSRL__SECTION_MAX 65536u

typedef struct wsrl__section {
  char name[WSRL__SECTION_NAME_MAX + 1];
  uint64_t offset; /* of the payload in the file */
  uint64_t size;
  uint32_t crc;
} wsrl__section;

typedef struct wsrl__secwriter {
  wsrl__afile file;
  char magic[8];
  uint32_t format_version;
  wsrl__section *sections; /* grows with wsrl__realloc */
  uint32_t count, cap;
  int32_t open; /* a section is being written */
} wsrl__secwriter;

/* magic: exactly 8 bytes (not NUL-terminated). */
wsrl_status_t wsrl__secwriter_open(wsrl__secwriter *w, const char *path, const char magic[8],
                                   uint32_t format_version, const wsrl__alloc *alloc);
/* Start a section; names are [a-z0-9_.], 1..31 characters, unique in the file. */
wsrl_status_t wsrl__secwriter_begin(wsrl__secwriter *w, const char *name);
wsrl_status_t wsrl__secwriter_write(wsrl__secwriter *w, const void *data, size_t size);
/* Write n host floats as little-endian fp32. */
wsrl_status_t wsrl__secwriter_write_f32(wsrl__secwriter *w, const float *x, size_t n);
wsrl_status_t wsrl__secwriter_end(wsrl__secwriter *w);
/* Convenience: begin + write + end. */
wsrl_status_t wsrl__secwriter_add(wsrl__secwriter *w, const char *name, const void *data, size_t size);
/* Write the table and the header, then commit atomically. Frees the writer. */
wsrl_status_t wsrl__secwriter_commit(wsrl__secwriter *w);
/* Drop everything (temporary file removed). Safe after a failed commit. */
void wsrl__secwriter_abort(wsrl__secwriter *w);

/* A whole section file in one call (every writer of agent, replay and
 * session files): open, write(w, ctx) the sections, commit atomically; on
 * any failure the writer is dropped and a file already at path is kept. */
typedef wsrl_status_t (*wsrl__section_write_fn)(wsrl__secwriter *w, const void *ctx);
wsrl_status_t wsrl__section_file_save(const char *path, const char magic[8], uint32_t format_version,
                                      const wsrl__alloc *alloc, wsrl__section_write_fn write, const void *ctx);

typedef struct wsrl__secreader {
  FILE *fp;
  char *path;
  uint64_t file_size;
  uint32_t format_version;
  wsrl__section *sections;
  uint32_t count;
  wsrl__alloc alloc;
} wsrl__secreader;

/* Open and validate the header and the table. magic must match (else
 * WSRL_ERR_CORRUPT); a container or format version above what the caller
 * knows (max_format_version) is WSRL_ERR_VERSION_MISMATCH; a missing file is
 * WSRL_ERR_IO. Payloads are not read. */
wsrl_status_t wsrl__secreader_open(wsrl__secreader *r, const char *path, const char magic[8],
                                   uint32_t max_format_version, const wsrl__alloc *alloc);
/* The section called name, or NULL. */
const wsrl__section *wsrl__secreader_find(const wsrl__secreader *r, const char *name);
/* The section called name, which must exist and (if expected_size >= 0) have
 * exactly that size; otherwise WSRL_ERR_CORRUPT naming the section. */
wsrl_status_t wsrl__secreader_require(const wsrl__secreader *r, const char *name, int64_t expected_size,
                                      const wsrl__section **out);
/* Stream the payload and compare its CRC; WSRL_ERR_CORRUPT on mismatch. */
wsrl_status_t wsrl__secreader_verify(const wsrl__secreader *r, const wsrl__section *s);
/* Read a part of a payload (no CRC check). */
wsrl_status_t wsrl__secreader_read(const wsrl__secreader *r, const wsrl__section *s, uint64_t offset,
                                   void *dst, size_t n);
/* Read the whole payload into dst (s->size bytes) and check its CRC. */
wsrl_status_t wsrl__secreader_read_all(const wsrl__secreader *r, const wsrl__section *s, void *dst);
void wsrl__secreader_close(wsrl__secreader *r);

#endif /* WSRL_IO_H */
