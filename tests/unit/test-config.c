/* Config: defaults, typed access, parsing, ranges, suggestions, round trip. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "suites.h"
#include "wsrl/wsrl.h"

static wsrl_config_t *cfg;

static void setup(void) { ck_assert_int_eq(wsrl_config_create(&cfg), WSRL_OK); }
static void teardown(void) {
  wsrl_config_destroy(cfg);
  cfg = NULL;
}

static const char *get_text(const char *key) {
  static char buf[256];
  ck_assert_int_eq(wsrl_config_get(cfg, key, buf, sizeof buf, NULL), WSRL_OK);
  return buf;
}

START_TEST(defaults_are_reference_locomotion) {
  int64_t i;
  double d;
  int32_t b;
  ck_assert_int_eq(wsrl_config_get_int(cfg, "critic.ensemble_size", &i), WSRL_OK);
  ck_assert_int_eq(i, 10);
  wsrl_config_get_int(cfg, "critic.subsample", &i);
  ck_assert_int_eq(i, 2);
  wsrl_config_get_bool(cfg, "critic.layer_norm", &b);
  ck_assert_int_eq(b, 1);
  ck_assert_str_eq(get_text("critic.hidden"), "256,256");
  wsrl_config_get_float(cfg, "optim.actor_lr", &d);
  ck_assert_double_eq(d, 1e-4);
  wsrl_config_get_float(cfg, "optim.critic_lr", &d);
  ck_assert_double_eq(d, 3e-4);
  wsrl_config_get_float(cfg, "optim.temperature_lr", &d);
  ck_assert_double_eq(d, 1e-4);
  wsrl_config_get_float(cfg, "temperature.initial", &d);
  ck_assert_double_eq(d, 1.0);
  wsrl_config_get_float(cfg, "td.discount", &d);
  ck_assert_double_eq(d, 0.99);
  wsrl_config_get_float(cfg, "td.tau", &d);
  ck_assert_double_eq(d, 0.005);
  wsrl_config_get_float(cfg, "temperature.target_entropy", &d);
  ck_assert(isnan(d)); /* auto = -act_dim */
  ck_assert_str_eq(get_text("temperature.target_entropy"), "auto");
  wsrl_config_get_int(cfg, "update.utd", &i);
  ck_assert_int_eq(i, 4);
  wsrl_config_get_int(cfg, "update.batch_size", &i);
  ck_assert_int_eq(i, 256);
  wsrl_config_get_int(cfg, "finetune.warmup_steps", &i);
  ck_assert_int_eq(i, 5000);
  ck_assert_str_eq(get_text("finetune.offline_data"), "none");
}
END_TEST

START_TEST(every_default_is_valid_and_round_trips) {
  /* Setting each key to its own documented default text must succeed. */
  for (size_t k = 0; k < wsrl_config_key_count(); k++) {
    const char *name, *doc, *def, *choices;
    int32_t type;
    double lo, hi;
    ck_assert_int_eq(wsrl_config_key_info(k, &name, &type, &doc), WSRL_OK);
    ck_assert_int_eq(wsrl_config_key_bounds(name, &def, &lo, &hi, &choices), WSRL_OK);
    ck_assert_msg(strlen(doc) > 10, "key %s has no doc", name);
    ck_assert_msg(wsrl_config_set(cfg, name, def) == WSRL_OK, "default of %s: %s", name,
                  wsrl_last_error_message());
    ck_assert(lo <= hi);
    ck_assert(type >= WSRL_CONFIG_INT && type <= WSRL_CONFIG_INT_LIST);
  }
  ck_assert_int_eq(wsrl_config_key_info(wsrl_config_key_count(), NULL, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(typed_set_get) {
  ck_assert_int_eq(wsrl_config_set_int(cfg, "critic.ensemble_size", 5), WSRL_OK);
  ck_assert_str_eq(get_text("critic.ensemble_size"), "5");
  ck_assert_int_eq(wsrl_config_set_float(cfg, "td.tau", 0.01), WSRL_OK);
  ck_assert_str_eq(get_text("td.tau"), "0.01");
  ck_assert_int_eq(wsrl_config_set_bool(cfg, "critic.layer_norm", 0), WSRL_OK);
  ck_assert_str_eq(get_text("critic.layer_norm"), "false");
  int64_t h[3] = {64, 32, 16}, back[8];
  size_t n;
  ck_assert_int_eq(wsrl_config_set_int_list(cfg, "actor.hidden", h, 3), WSRL_OK);
  ck_assert_int_eq(wsrl_config_get_int_list(cfg, "actor.hidden", back, 8, &n), WSRL_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(back[2], 16);
  ck_assert_int_eq(wsrl_config_get_int_list(cfg, "actor.hidden", back, 2, &n), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(wsrl_config_set(cfg, "agent.algorithm", "iql"), WSRL_OK);
  ck_assert_str_eq(get_text("agent.algorithm"), "iql");
  ck_assert_int_eq(wsrl__config_values_of(cfg)->agent_algorithm, WSRL__ALGO_IQL);
  ck_assert_int_eq(wsrl_config_set(cfg, "replay.capacity", "1e6"), WSRL_OK);
  ck_assert_int_eq(wsrl__config_values_of(cfg)->replay_capacity, 1000000);
  ck_assert_int_eq(wsrl_config_set(cfg, "temperature.target_entropy", "-3.5"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(cfg, "temperature.target_entropy", "auto"), WSRL_OK);
}
END_TEST

START_TEST(unknown_key_suggests_nearest) {
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.ensembel_size", "3"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "did you mean 'critic.ensemble_size'"));
  ck_assert_int_eq(wsrl_config_set_int(cfg, "warmup_steps", 3), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "finetune.warmup_steps"));
}
END_TEST

/* Plain Levenshtein distance, without the library's early stop. */
static size_t full_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[128];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j], cost = diag + (a[i - 1] != b[j - 1]);
      size_t best = row[j - 1] + 1 < up + 1 ? row[j - 1] + 1 : up + 1;
      row[j] = cost < best ? cost : best;
      diag = up;
    }
  }
  return row[lb];
}

/* The suggestion (which stops each distance once it cannot win) is the
 * first key at the smallest full distance, for typos of every key: a
 * dropped, doubled, replaced and appended character and a swap. */
START_TEST(suggestion_is_the_nearest_key) {
  const size_t n = wsrl_config_key_count();
  for (size_t k = 0; k < n; k++) {
    const char *name = NULL;
    ck_assert_int_eq(wsrl_config_key_info(k, &name, NULL, NULL), WSRL_OK);
    const size_t len = strlen(name);
    for (int edit = 0; edit < 5; edit++) {
      char typo[128];
      const size_t at = (k * 7 + (size_t)edit * 3) % len;
      snprintf(typo, sizeof typo, "%s", name);
      if (edit == 0)
        memmove(typo + at, typo + at + 1, len - at);
      else if (edit == 1)
        memmove(typo + at + 1, typo + at, len - at + 1);
      else if (edit == 2)
        typo[at] = typo[at] == 'x' ? 'q' : 'x';
      else if (edit == 3)
        snprintf(typo, sizeof typo, "%sxyz%zu", name, k);
      else if (at + 1 < len) {
        const char c = typo[at];
        typo[at] = typo[at + 1], typo[at + 1] = c;
      }
      const char *want = NULL;
      size_t best = (size_t)-1;
      for (size_t i = 0; i < n; i++) {
        const char *other = NULL;
        wsrl_config_key_info(i, &other, NULL, NULL);
        const char *dot = strchr(other, '.');
        const size_t d = dot != NULL && strcmp(dot + 1, typo) == 0 ? 0 : full_distance(typo, other);
        if (d < best)
          best = d, want = other;
      }
      if (best == 0) /* the typo is a key (or a bare leaf name) */
        continue;
      char expect[200];
      snprintf(expect, sizeof expect, "did you mean '%s'", want);
      ck_assert_int_eq(wsrl_config_set(cfg, typo, "1"), WSRL_ERR_INVALID_ARGUMENT);
      if (strstr(wsrl_last_error_message(), "was renamed") != NULL)
        continue;
      ck_assert_msg(strstr(wsrl_last_error_message(), expect) != NULL, "'%s': %s, expected %s", typo,
                    wsrl_last_error_message(), want);
    }
  }
}
END_TEST

/* Every key renamed before 0.1.0 is refused (text, typed and parsed) with
 * its new name, and the new name exists. */
START_TEST(renamed_keys_name_their_successor) {
  static const char *const pairs[][2] = {
      {"sac.batch_size", "update.batch_size"},       {"sac.utd", "update.utd"},
      {"sac.discount", "td.discount"},               {"sac.tau", "td.tau"},
      {"sac.backup_entropy", "td.backup_entropy"},   {"sac.initial_temperature", "temperature.initial"},
      {"sac.target_entropy", "temperature.target_entropy"}, {"cql.max_target_backup", "td.max_target_backup"},
      {"sac.max_target_backup", "td.max_target_backup"},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    char want[128], line[128];
    snprintf(want, sizeof want, "'%s' was renamed to '%s'", pairs[i][0], pairs[i][1]);
    ck_assert_int_eq(wsrl_config_set(cfg, pairs[i][0], "1"), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(wsrl_last_error_message(), want) != NULL, "%s", wsrl_last_error_message());
    ck_assert_int_eq(wsrl_config_set_int(cfg, pairs[i][0], 1), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), want));
    snprintf(line, sizeof line, "%s = 1\n", pairs[i][0]);
    ck_assert_int_eq(wsrl_config_parse_string(cfg, line), WSRL_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), want));
    const char *d = NULL;
    double lo = 0, hi = 0;
    ck_assert_int_eq(wsrl_config_key_bounds(pairs[i][1], &d, &lo, &hi, NULL), WSRL_OK);
  }
}
END_TEST

START_TEST(bad_values_name_key_and_range) {
  ck_assert_int_eq(wsrl_config_set_int(cfg, "critic.ensemble_size", 0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "critic.ensemble_size"));
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "[1, 64]"));
  ck_assert_int_eq(wsrl_config_set(cfg, "td.discount", "1.5"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "td.discount", "abc"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "td.discount", "auto"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set_float(cfg, "td.discount", NAN), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set_float(cfg, "td.tau", INFINITY), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.ensemble_size", "2.5"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.layer_norm", "maybe"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set_bool(cfg, "critic.layer_norm", 2), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "agent.algorithm", "td3"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "sac|cql|calql|iql"));
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.hidden", "256,,256"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.hidden", "256,"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.hidden", ""), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.hidden", "1,2,3,4,5,6,7,8,9"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.hidden", "0"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "agent.seed", "99999999999999999999999"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set_float(cfg, "critic.ensemble_size", 1.0), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "not a number"));
  int64_t l[1] = {-1};
  ck_assert_int_eq(wsrl_config_set_int_list(cfg, "critic.hidden", l, 1), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set_int_list(cfg, "critic.hidden", l, 0), WSRL_ERR_INVALID_ARGUMENT);
  /* nothing changed */
  ck_assert_str_eq(get_text("critic.hidden"), "256,256");
  ck_assert_str_eq(get_text("critic.ensemble_size"), "10");
}
END_TEST

START_TEST(null_arguments) {
  int64_t i;
  char buf[8];
  ck_assert_int_eq(wsrl_config_set(NULL, "a", "b"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, NULL, "b"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "'key'"));
  ck_assert_int_eq(wsrl_config_set(cfg, "td.tau", NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_get_int(cfg, "agent.seed", NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_get_int(NULL, "agent.seed", &i), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_get(cfg, "agent.seed", NULL, 8, NULL), WSRL_ERR_INVALID_ARGUMENT);
  size_t need = 0;
  ck_assert_int_eq(wsrl_config_get(cfg, "agent.algorithm", NULL, 0, &need), WSRL_OK); /* a size query */
  ck_assert_uint_eq(need, strlen("calql") + 1);
  ck_assert_int_eq(wsrl_config_get(cfg, "agent.algorithm", buf, 2, &need), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_uint_eq(need, 6); /* "calql" + NUL */
  ck_assert_int_eq(wsrl_config_parse_string(cfg, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_parse_file(cfg, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_write_string(NULL, buf, 8, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_clone(NULL, cfg), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_key_bounds(NULL, NULL, NULL, NULL, NULL), WSRL_ERR_INVALID_ARGUMENT);
  wsrl_config_destroy(NULL);
}
END_TEST

START_TEST(parse_string_is_all_or_nothing) {
  const char *good = "# comment\n  critic.ensemble_size = 4 \n\ntd.tau=0.01 # trailing\r\ncritic.hidden = 64, 64\n";
  ck_assert_int_eq(wsrl_config_parse_string(cfg, good), WSRL_OK);
  ck_assert_str_eq(get_text("critic.ensemble_size"), "4");
  ck_assert_str_eq(get_text("critic.hidden"), "64,64");
  ck_assert_str_eq(get_text("td.tau"), "0.01");
  const char *bad = "critic.ensemble_size = 8\ntd.tau = 7\n";
  ck_assert_int_eq(wsrl_config_parse_string(cfg, bad), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "line 2"));
  ck_assert_str_eq(get_text("critic.ensemble_size"), "4");
  ck_assert_int_eq(wsrl_config_parse_string(cfg, "no equals sign"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_parse_string(cfg, " = 3"), WSRL_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(write_and_parse_round_trip) {
  wsrl_config_set(cfg, "critic.hidden", "32,16,8");
  wsrl_config_set(cfg, "agent.algorithm", "cql");
  wsrl_config_set(cfg, "td.discount", "0.987654321");
  size_t need = 0;
  /* A size query succeeds and leaves the last error message alone. */
  ck_assert_int_eq(wsrl_config_set(cfg, "no.such.key", "1"), WSRL_ERR_INVALID_ARGUMENT);
  char before[256];
  snprintf(before, sizeof before, "%s", wsrl_last_error_message());
  ck_assert_int_eq(wsrl_config_write_string(cfg, NULL, 0, &need), WSRL_OK);
  ck_assert_str_eq(wsrl_last_error_message(), before);
  ck_assert_uint_gt(need, 100);
  char *text = malloc(need);
  ck_assert_int_eq(wsrl_config_write_string(cfg, text, need - 1, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "too small"));
  ck_assert_int_eq(wsrl_config_write_string(cfg, NULL, 8, NULL), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_write_string(cfg, text, need, NULL), WSRL_OK);
  ck_assert_uint_eq(strlen(text) + 1, need);
  wsrl_config_t *other;
  ck_assert_int_eq(wsrl_config_create(&other), WSRL_OK);
  ck_assert_int_eq(wsrl_config_parse_string(other, text), WSRL_OK);
  ck_assert_int_eq(memcmp(wsrl__config_values_of(cfg), wsrl__config_values_of(other), sizeof(wsrl__config_values)), 0);
  free(text);
  wsrl_config_destroy(other);
}
END_TEST

START_TEST(files_round_trip_and_errors) {
  char path[] = "/tmp/wsrl-config-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  wsrl_config_set(cfg, "critic.ensemble_size", "3");
  ck_assert_int_eq(wsrl_config_write_file(cfg, path), WSRL_OK);
  wsrl_config_t *other;
  wsrl_config_create(&other);
  ck_assert_int_eq(wsrl_config_parse_file(other, path), WSRL_OK);
  ck_assert_int_eq(memcmp(wsrl__config_values_of(cfg), wsrl__config_values_of(other), sizeof(wsrl__config_values)), 0);
  FILE *f = fopen(path, "w");
  fputs("critic.ensemble_size = 7\ncritic.bogus = 1\n", f);
  fclose(f);
  ck_assert_int_eq(wsrl_config_parse_file(other, path), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), path));
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "line 2"));
  unlink(path);
  ck_assert_int_eq(wsrl_config_parse_file(other, "/nonexistent/dir/x.cfg"), WSRL_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "/nonexistent/dir/x.cfg"));
  ck_assert_int_eq(wsrl_config_write_file(cfg, "/nonexistent/dir/x.cfg"), WSRL_ERR_IO);
  wsrl_config_destroy(other);
}
END_TEST

/* Integer and number text is decimal: hexadecimal and C99 words are refused,
 * an integral exponent form is an integer (documented in docs/config.md). */
START_TEST(numbers_are_decimal_only) {
  int64_t i = 0;
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.ensemble_size", "0x4"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "critic.ensemble_size"));
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "decimal"));
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.hidden", "0x40,64"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "optim.actor_lr", "0x1p-4"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "optim.actor_lr", "infinity"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "replay.capacity", "2.5"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wsrl_config_set(cfg, "replay.capacity", "1e6"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_get_int(cfg, "replay.capacity", &i), WSRL_OK);
  ck_assert_int_eq(i, 1000000);
  ck_assert_int_eq(wsrl_config_set(cfg, "critic.ensemble_size", "+4"), WSRL_OK);
  ck_assert_int_eq(wsrl_config_set(cfg, "optim.actor_lr", "3e-4"), WSRL_OK);
  /* Adam's epsilon keeps a zero second moment from dividing 0 by 0. */
  ck_assert_int_eq(wsrl_config_set(cfg, "optim.adam_eps", "0"), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "optim.adam_eps"));
  ck_assert_int_eq(wsrl_config_set(cfg, "optim.adam_eps", "1e-12"), WSRL_OK);
}
END_TEST

/* A config path that is not a regular file is refused before any read: a
 * FIFO would block forever and /dev/zero would read until memory runs out. */
START_TEST(config_file_must_be_a_small_regular_file) {
  char dir[] = "/tmp/wsrl-config-dir-XXXXXX", path[64];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/fifo", dir);
  ck_assert_int_eq(mkfifo(path, 0600), 0);
  ck_assert_int_eq(wsrl_config_parse_file(cfg, path), WSRL_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "not a regular file"));
  unlink(path);
  ck_assert_int_eq(wsrl_config_parse_file(cfg, "/dev/zero"), WSRL_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "/dev/zero"));
  ck_assert_int_eq(wsrl_config_parse_file(cfg, dir), WSRL_ERR_IO);
  /* 2 MiB of comments: a text file, but no config is that large. */
  snprintf(path, sizeof path, "%s/big.cfg", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  for (int k = 0; k < 2 * 1024 * 64; k++)
    fputs("# fifteen chars\n", f);
  fclose(f);
  ck_assert_int_eq(wsrl_config_parse_file(cfg, path), WSRL_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wsrl_last_error_message(), "bytes"));
  unlink(path);
  rmdir(dir);
}
END_TEST

START_TEST(clone_is_independent) {
  wsrl_config_t *c2;
  wsrl_config_set(cfg, "critic.ensemble_size", "3");
  ck_assert_int_eq(wsrl_config_clone(&c2, cfg), WSRL_OK);
  wsrl_config_set(cfg, "critic.ensemble_size", "5");
  int64_t i;
  wsrl_config_get_int(c2, "critic.ensemble_size", &i);
  ck_assert_int_eq(i, 3);
  wsrl_config_destroy(c2);
}
END_TEST

Suite *wsrl_test_suite_config(void) {
  Suite *s = suite_create("config");
  TCase *t = tcase_create("config");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, defaults_are_reference_locomotion);
  tcase_add_test(t, every_default_is_valid_and_round_trips);
  tcase_add_test(t, typed_set_get);
  tcase_add_test(t, unknown_key_suggests_nearest);
  tcase_add_test(t, suggestion_is_the_nearest_key);
  tcase_add_test(t, renamed_keys_name_their_successor);
  tcase_add_test(t, bad_values_name_key_and_range);
  tcase_add_test(t, null_arguments);
  tcase_add_test(t, parse_string_is_all_or_nothing);
  tcase_add_test(t, write_and_parse_round_trip);
  tcase_add_test(t, files_round_trip_and_errors);
  tcase_add_test(t, clone_is_independent);
  tcase_add_test(t, numbers_are_decimal_only);
  tcase_add_test(t, config_file_must_be_a_small_regular_file);
  suite_add_tcase(s, t);
  return s;
}
