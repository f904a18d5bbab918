/* I/O: CRC32, little-endian helpers, atomic writes, the section container
 * (round trip and every way a file can be malformed). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/io.h"
#include "suites.h"
#include "test-tmpdir.h"
#include "wsrl/wsrl.h"

#define ck_assert_msg_has(sub) ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), (sub)))

static char dir[256];

static void make_dir(void) { wsrl_test_tmpdir_make(dir, sizeof dir, "io"); }
static void remove_dir(void) { wsrl_test_tmpdir_remove(dir); }

static int count_entries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static char *path_of(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return p;
}

static long read_file(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  long n = (long)fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static void write_file(const char *path, const uint8_t *buf, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
  fclose(f);
}

/* ---- CRC32 and byte order ---- */

START_TEST(crc32_known_values) {
  ck_assert_uint_eq(wsrl__crc32(0, "123456789", 9), 0xCBF43926u);
  ck_assert_uint_eq(wsrl__crc32(0, "", 0), 0u);
  ck_assert_uint_eq(wsrl__crc32(0, "a", 1), 0xE8B7BE43u);
  /* Incremental feeding at every split (covers the 8-byte fast path and the tail). */
  uint8_t data[1000];
  for (int i = 0; i < 1000; i++)
    data[i] = (uint8_t)(i * 31 + 7);
  uint32_t whole = wsrl__crc32(0, data, sizeof data);
  for (size_t cut = 0; cut <= 17; cut++)
    ck_assert_uint_eq(wsrl__crc32(wsrl__crc32(0, data, cut), data + cut, sizeof data - cut), whole);
  /* A byte-wise reference: the slicing tables must agree with it. */
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < sizeof data; i++) {
    c ^= data[i];
    for (int k = 0; k < 8; k++)
      c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
  }
  ck_assert_uint_eq(~c, whole);
}
END_TEST

START_TEST(little_endian_helpers) {
  uint8_t b[8];
  wsrl__store_u32le(b, 0x11223344u);
  ck_assert_uint_eq(b[0], 0x44);
  ck_assert_uint_eq(b[3], 0x11);
  ck_assert_uint_eq(wsrl__load_u32le(b), 0x11223344u);
  wsrl__store_u64le(b, 0x0102030405060708ull);
  ck_assert_uint_eq(b[0], 0x08);
  ck_assert_uint_eq(b[7], 0x01);
  ck_assert(wsrl__load_u64le(b) == 0x0102030405060708ull);
  wsrl__store_i64le(b, -5);
  ck_assert(wsrl__load_i64le(b) == -5);
  wsrl__store_i32le(b, -7);
  ck_assert_int_eq(wsrl__load_i32le(b), -7);
  wsrl__store_f32le(b, 1.0f);
  ck_assert_uint_eq(wsrl__load_u32le(b), 0x3F800000u);
  ck_assert(wsrl__load_f32le(b) == 1.0f);
  wsrl__store_f64le(b, -2.5);
  ck_assert(wsrl__load_f64le(b) == -2.5);
  float x[3] = {1.5f, -2.0f, 3.25f};
  wsrl__f32_swap_le(x, 3); /* twice is the identity on any host */
  wsrl__f32_swap_le(x, 3);
  ck_assert(x[0] == 1.5f && x[1] == -2.0f && x[2] == 3.25f);
}
END_TEST

/* ---- atomic writes ---- */

START_TEST(atomic_commit_replaces_and_leaves_no_temp) {
  const char *p = path_of("a.bin");
  write_file(p, (const uint8_t *)"old", 3);
  wsrl__afile f;
  ck_assert_int_eq(wsrl__afile_open(&f, p, NULL), WSRL_OK);
  ck_assert_int_eq(count_entries(), 2); /* target + temporary */
  /* The target keeps its old contents until the commit. */
  uint8_t buf[16];
  ck_assert_int_eq(read_file(p, buf, sizeof buf), 3);
  ck_assert_int_eq(wsrl__afile_write(&f, "hello world", 11), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_seek(&f, 0), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_write(&f, "J", 1), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_commit(&f), WSRL_OK);
  ck_assert_int_eq(read_file(p, buf, sizeof buf), 11);
  ck_assert_int_eq(memcmp(buf, "Jello world", 11), 0);
  ck_assert_int_eq(count_entries(), 1);
  wsrl__afile_abort(&f); /* harmless after commit */
  ck_assert_int_eq(count_entries(), 1);
}
END_TEST

START_TEST(atomic_abort_keeps_target) {
  const char *p = path_of("b.bin");
  write_file(p, (const uint8_t *)"keep", 4);
  wsrl__afile f;
  ck_assert_int_eq(wsrl__afile_open(&f, p, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_write(&f, "xxxxxxxx", 8), WSRL_OK);
  wsrl__afile_abort(&f);
  uint8_t buf[16];
  ck_assert_int_eq(read_file(p, buf, sizeof buf), 4);
  ck_assert_int_eq(memcmp(buf, "keep", 4), 0);
  ck_assert_int_eq(count_entries(), 1);
}
END_TEST

START_TEST(atomic_errors_name_the_file) {
  wsrl__afile f;
  ck_assert_int_eq(wsrl__afile_open(&f, "/nonexistent-dir-wsrl/x.bin", NULL), WSRL_ERR_IO);
  ck_assert_msg_has("/nonexistent-dir-wsrl/x.bin");
  ck_assert_int_eq(wsrl__afile_open(&f, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("path");
  /* A target that is a directory: the rename fails and the temp file goes away. */
  const char *p = path_of("sub");
  ck_assert_int_eq(mkdir(p, 0700), 0);
  char inner[600];
  snprintf(inner, sizeof inner, "%s/x", p);
  write_file(inner, (const uint8_t *)"1", 1);
  ck_assert_int_eq(wsrl__afile_open(&f, p, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_write(&f, "data", 4), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_commit(&f), WSRL_ERR_IO);
  ck_assert_msg_has("rename");
  ck_assert_int_eq(count_entries(), 1);
  remove(inner);
  rmdir(p);
}
END_TEST

/* ---- sections ---- */

static const char MAGIC[8] = {'W', 'S', 'R', 'L', 'T', 'E', 'S', 'T'};

/* A file with sections "alpha" (5 bytes), "beta" (floats), "empty" (0 bytes). */
static void write_sample(const char *p) {
  wsrl__secwriter w;
  ck_assert_int_eq(wsrl__secwriter_open(&w, p, MAGIC, 3, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_add(&w, "alpha", "12345", 5), WSRL_OK);
  float f[4] = {1, 2, 3, 4};
  ck_assert_int_eq(wsrl__secwriter_begin(&w, "beta"), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_write_f32(&w, f, 2), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_write_f32(&w, f + 2, 2), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_end(&w), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_add(&w, "empty", NULL, 0), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_commit(&w), WSRL_OK);
}

START_TEST(sections_round_trip) {
  const char *p = path_of("s.bin");
  write_sample(p);
  wsrl__secreader r;
  ck_assert_int_eq(wsrl__secreader_open(&r, p, MAGIC, 3, NULL), WSRL_OK);
  ck_assert_uint_eq(r.count, 3);
  ck_assert_uint_eq(r.format_version, 3);
  const wsrl__section *a, *b, *e;
  ck_assert_int_eq(wsrl__secreader_require(&r, "alpha", 5, &a), WSRL_OK);
  ck_assert_int_eq(wsrl__secreader_require(&r, "beta", 16, &b), WSRL_OK);
  ck_assert_int_eq(wsrl__secreader_require(&r, "empty", 0, &e), WSRL_OK);
  ck_assert_uint_eq(a->offset, 64);
  ck_assert_uint_eq(b->offset % 8, 0);
  ck_assert_int_eq(wsrl__secreader_verify(&r, a), WSRL_OK);
  ck_assert_int_eq(wsrl__secreader_verify(&r, b), WSRL_OK);
  ck_assert_int_eq(wsrl__secreader_verify(&r, e), WSRL_OK);
  uint8_t buf[16];
  ck_assert_int_eq(wsrl__secreader_read_all(&r, b, buf), WSRL_OK);
  ck_assert(wsrl__load_f32le(buf + 12) == 4.0f);
  ck_assert_int_eq(wsrl__secreader_read(&r, a, 1, buf, 3), WSRL_OK);
  ck_assert_int_eq(memcmp(buf, "234", 3), 0);
  ck_assert_int_eq(wsrl__secreader_read(&r, a, 3, buf, 3), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(wsrl__secreader_find(&r, "gamma"));
  ck_assert_int_eq(wsrl__secreader_require(&r, "gamma", -1, &a), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("'gamma' is missing");
  ck_assert_int_eq(wsrl__secreader_require(&r, "alpha", 6, &a), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("(alpha): 5 bytes, expected 6");
  wsrl__secreader_close(&r);
  wsrl__secreader_close(&r); /* idempotent */
  /* Version and magic checks. */
  ck_assert_int_eq(wsrl__secreader_open(&r, p, MAGIC, 2, NULL), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_msg_has("format version 3");
  ck_assert_int_eq(wsrl__secreader_open(&r, p, "WSRLXXXX", 3, NULL), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.magic");
  ck_assert_int_eq(wsrl__secreader_open(&r, path_of("missing"), MAGIC, 3, NULL), WSRL_ERR_IO);
  ck_assert_msg_has("missing");
}
END_TEST

START_TEST(writer_misuse) {
  const char *p = path_of("m.bin");
  wsrl__secwriter w;
  ck_assert_int_eq(wsrl__secwriter_open(&w, p, MAGIC, 1, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_write(&w, "x", 1), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("outside a section");
  ck_assert_int_eq(wsrl__secwriter_commit(&w), WSRL_ERR_WRONG_STATE); /* sticky */
  ck_assert_int_eq(count_entries(), 0);

  ck_assert_int_eq(wsrl__secwriter_open(&w, p, MAGIC, 1, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_begin(&w, "Bad Name"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("Bad Name");
  wsrl__secwriter_abort(&w);

  ck_assert_int_eq(wsrl__secwriter_open(&w, p, MAGIC, 1, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_add(&w, "a", "1", 1), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_add(&w, "a", "1", 1), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_msg_has("twice");
  wsrl__secwriter_abort(&w);

  ck_assert_int_eq(wsrl__secwriter_open(&w, p, MAGIC, 1, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_begin(&w, "a"), WSRL_OK);
  ck_assert_int_eq(wsrl__secwriter_commit(&w), WSRL_ERR_WRONG_STATE);
  ck_assert_msg_has("not ended");
  ck_assert_int_eq(count_entries(), 0);
}
END_TEST

/* Open a mutated copy of the sample file; return the status. */
static wsrl_status_t open_mutated(uint8_t *file, long n) {
  const char *q = path_of("mut.bin");
  write_file(q, file, (size_t)n);
  wsrl__secreader r;
  wsrl_status_t st = wsrl__secreader_open(&r, q, MAGIC, 3, NULL);
  if (st == WSRL_OK) {
    for (uint32_t i = 0; i < r.count && st == WSRL_OK; i++)
      st = wsrl__secreader_verify(&r, &r.sections[i]);
    wsrl__secreader_close(&r);
  }
  return st;
}

/* Recompute the header CRC (and optionally the table CRC) after an edit, so
 * that the field-level checks are reached. */
static void reseal(uint8_t *f, long n, int table) {
  if (table) {
    uint64_t to = wsrl__load_u64le(f + 24);
    wsrl__store_u32le(f + 40, wsrl__crc32(0, f + to, (size_t)(n - (long)to)));
  }
  wsrl__store_u32le(f + 60, wsrl__crc32(0, f, 60));
}

START_TEST(reader_rejects_corruption) {
  const char *p = path_of("s.bin");
  write_sample(p);
  uint8_t orig[512], f[512];
  long n = read_file(p, orig, sizeof orig);
  ck_assert_int_gt(n, 64);
  uint64_t to = wsrl__load_u64le(orig + 24);

  /* Every truncation is CORRUPT (or the header cannot be read). */
  for (long cut = 0; cut < n; cut++) {
    memcpy(f, orig, (size_t)n);
    ck_assert_int_eq(open_mutated(f, cut), WSRL_ERR_CORRUPT);
  }
  ck_assert_int_eq(open_mutated(orig, n), WSRL_OK);
  memcpy(f, orig, (size_t)n);
  ck_assert_int_eq(open_mutated(f, 10), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("truncated");
  ck_assert_int_eq(open_mutated(f, n - 1), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.file_size");

  /* Every single-byte flip is detected (by a CRC or a field check). */
  for (long i = 0; i < n; i++) {
    memcpy(f, orig, (size_t)n);
    f[i] ^= 0x20;
    wsrl_status_t st = open_mutated(f, n);
    ck_assert_msg(st == WSRL_ERR_CORRUPT || st == WSRL_ERR_VERSION_MISMATCH, "flip at %ld gave %d", i, st);
  }
  /* Trailing garbage. */
  memcpy(f, orig, (size_t)n);
  f[n] = 0;
  ck_assert_int_eq(open_mutated(f, n + 1), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("trailing");

  /* Field checks behind a valid header CRC. */
  memcpy(f, orig, (size_t)n);
  wsrl__store_u32le(f + 8, 2);
  reseal(f, n, 0);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_VERSION_MISMATCH);
  ck_assert_msg_has("container version 2");

  memcpy(f, orig, (size_t)n);
  wsrl__store_u32le(f + 60, 0);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.header_crc");

  memcpy(f, orig, (size_t)n);
  wsrl__store_u32le(f + 20, 70000);
  reseal(f, n, 0);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.section_count");

  memcpy(f, orig, (size_t)n);
  wsrl__store_u64le(f + 24, to - 8);
  reseal(f, n, 0);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.table_offset");

  memcpy(f, orig, (size_t)n);
  f[50] = 1;
  reseal(f, n, 0);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.reserved");

  memcpy(f, orig, (size_t)n);
  f[to] ^= 1; /* first entry's name, CRC of the table stale */
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("header.table_crc");

  /* Table entries behind a valid table CRC. */
  memcpy(f, orig, (size_t)n);
  memcpy(f + to + WSRL__SECTION_ENTRY_SIZE, "alpha", 5); /* "beta" renamed "alpha" */
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("appears twice");

  memcpy(f, orig, (size_t)n);
  f[to] = 'A';
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("invalid section name");

  memcpy(f, orig, (size_t)n);
  memset(f + to, 'a', 32);
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("NUL");

  memcpy(f, orig, (size_t)n);
  wsrl__store_u64le(f + to + 32, 60); /* below the header */
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("table.offset");

  memcpy(f, orig, (size_t)n);
  wsrl__store_u64le(f + to + 40, 1000); /* runs into the table */
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("table.size");

  memcpy(f, orig, (size_t)n);
  wsrl__store_u64le(f + to + 40, UINT64_MAX - 10); /* overflow */
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);

  memcpy(f, orig, (size_t)n);
  wsrl__store_u64le(f + to + WSRL__SECTION_ENTRY_SIZE + 32, 64); /* beta overlaps alpha */
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("without overlap");

  memcpy(f, orig, (size_t)n);
  wsrl__store_u32le(f + to + 52, 1);
  reseal(f, n, 1);
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("table.reserved");

  /* Payload flips: the reader opens, verify names the section. */
  memcpy(f, orig, (size_t)n);
  f[64] ^= 1;
  ck_assert_int_eq(open_mutated(f, n), WSRL_ERR_CORRUPT);
  ck_assert_msg_has("(alpha): checksum");
}
END_TEST

START_TEST(many_sections_unique_check) {
  /* 2000 sections: the uniqueness check must stay fast and exact. */
  const char *p = path_of("many.bin");
  wsrl__secwriter w;
  ck_assert_int_eq(wsrl__secwriter_open(&w, p, MAGIC, 1, NULL), WSRL_OK);
  char name[32];
  for (int i = 0; i < 2000; i++) {
    snprintf(name, sizeof name, "s%d", (i * 7919) % 2000);
    ck_assert_int_eq(wsrl__secwriter_add(&w, name, &i, sizeof i), WSRL_OK);
  }
  ck_assert_int_eq(wsrl__secwriter_commit(&w), WSRL_OK);
  wsrl__secreader r;
  ck_assert_int_eq(wsrl__secreader_open(&r, p, MAGIC, 1, NULL), WSRL_OK);
  ck_assert_uint_eq(r.count, 2000);
  const wsrl__section *s;
  ck_assert_int_eq(wsrl__secreader_require(&r, "s1999", 4, &s), WSRL_OK);
  wsrl__secreader_close(&r);
}
END_TEST

/* Every section-file loader (replay files, checkpoints, sessions, policies)
 * opens through the reader: a FIFO must be refused at once, never waited on,
 * and a device or directory refused before a byte is read. */
START_TEST(reader_refuses_non_regular_files) {
  const char *p = path_of("fifo");
  ck_assert_int_eq(mkfifo(p, 0600), 0);
  wsrl__secreader r;
  ck_assert_int_eq(wsrl__secreader_open(&r, p, MAGIC, 1, NULL), WSRL_ERR_IO);
  ck_assert_msg_has("not a regular file");
  ck_assert_int_eq(wsrl__secreader_open(&r, "/dev/zero", MAGIC, 1, NULL), WSRL_ERR_IO);
  ck_assert_msg_has("/dev/zero");
  ck_assert_int_eq(wsrl__secreader_open(&r, dir, MAGIC, 1, NULL), WSRL_ERR_IO);
  ck_assert_msg_has("not a regular file");
}
END_TEST

/* A writer killed mid-save leaves "<path>.tmp-<pid>-<n>"; the next save of
 * that path removes it, and leaves alone every temporary file of a live
 * process and every other name (issue 16, fault 6). */
START_TEST(atomic_save_removes_dead_writers_temps) {
  const char *p = path_of("c.bin");
  for (int k = 0; k < 3; k++) {
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
      wsrl__afile f;
      if (wsrl__afile_open(&f, p, NULL) == WSRL_OK)
        wsrl__afile_write(&f, "partial", 7);
      raise(SIGKILL);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFSIGNALED(status));
  }
  /* Each new save already removed the previous dead writer's file. */
  ck_assert_int_eq(count_entries(), 1);
  char keep[3][600];
  snprintf(keep[0], sizeof keep[0], "%s.tmp-%ld-77", p, (long)getpid()); /* this process: maybe another thread */
  snprintf(keep[1], sizeof keep[1], "%s.tmp-1-0", p);                   /* init is alive */
  snprintf(keep[2], sizeof keep[2], "%s.tmp-notapid", p);
  for (int k = 0; k < 3; k++)
    write_file(keep[k], (const uint8_t *)"x", 1);
  wsrl__afile f;
  ck_assert_int_eq(wsrl__afile_open(&f, p, NULL), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_write(&f, "whole", 5), WSRL_OK);
  ck_assert_int_eq(wsrl__afile_commit(&f), WSRL_OK);
  ck_assert_int_eq(count_entries(), 4); /* c.bin and the three kept, the dead writer's gone */
  for (int k = 0; k < 3; k++)
    ck_assert_int_eq(access(keep[k], F_OK), 0);
}
END_TEST

Suite *wsrl_test_suite_io(void) {
  Suite *s = suite_create("io");
  TCase *t = tcase_create("crc-endian");
  tcase_add_test(t, crc32_known_values);
  tcase_add_test(t, little_endian_helpers);
  suite_add_tcase(s, t);
  t = tcase_create("atomic");
  tcase_add_checked_fixture(t, make_dir, remove_dir);
  tcase_add_test(t, atomic_commit_replaces_and_leaves_no_temp);
  tcase_add_test(t, atomic_abort_keeps_target);
  tcase_add_test(t, atomic_errors_name_the_file);
  tcase_add_test(t, atomic_save_removes_dead_writers_temps);
  suite_add_tcase(s, t);
  t = tcase_create("sections");
  tcase_add_checked_fixture(t, make_dir, remove_dir);
  tcase_add_test(t, sections_round_trip);
  tcase_add_test(t, writer_misuse);
  tcase_add_test(t, reader_rejects_corruption);
  tcase_add_test(t, many_sections_unique_check);
  tcase_add_test(t, reader_refuses_non_regular_files);
  suite_add_tcase(s, t);
  return s;
}
