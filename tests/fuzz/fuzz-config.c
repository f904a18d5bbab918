/* Fuzz harness: config text (wsrl_config_parse_string and, through a
 * file, wsrl_config_parse_file). Every input gives OK, INVALID_ARGUMENT,
 * IO or CORRUPT; a failed parse leaves the config as it was; a config
 * that parses writes text that parses again to the same text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static char *text_of(const wsrl_config_t *c) {
  size_t need = 0;
  if (wsrl_config_write_string(c, NULL, 0, &need) != WSRL_OK)
    fuzz_die("write_string size failed");
  char *buf = malloc(need);
  if (buf == NULL || wsrl_config_write_string(c, buf, need, NULL) != WSRL_OK)
    fuzz_die("write_string failed");
  return buf;
}

static int allowed(wsrl_status_t st) {
  return st == WSRL_OK || st == WSRL_ERR_INVALID_ARGUMENT || st == WSRL_ERR_IO || st == WSRL_ERR_CORRUPT;
}

/* The text of a fresh config (the same for every input: made once). */
static const char *fresh_text(void) {
  static char *text;
  if (text == NULL) {
    wsrl_config_t *c = NULL;
    if (wsrl_config_create(&c) != WSRL_OK)
      fuzz_die("config create failed");
    text = text_of(c);
    wsrl_config_destroy(c);
  }
  return text;
}

/* Parse (string or file); on failure the text must be unchanged. A parse
 * that ends as the previous one did (same status, same text: the file holds
 * the same bytes) is not written and parsed back a second time. Returns the
 * written text, which prev (the previous parse's, or NULL) may be. */
static char *parse(const char *text, int from_file, wsrl_status_t *prev_st, const char *prev) {
  wsrl_config_t *c = NULL;
  if (wsrl_config_create(&c) != WSRL_OK)
    fuzz_die("config create failed");
  wsrl_status_t st = from_file ? wsrl_config_parse_file(c, fuzz_scratch(0)) : wsrl_config_parse_string(c, text);
  if (!allowed(st))
    fuzz_die("parse returned an unexpected status");
  char *now = text_of(c);
  if (st != WSRL_OK && strcmp(fresh_text(), now) != 0)
    fuzz_die("a failed parse changed the config");
  int repeat = prev != NULL && st == *prev_st && strcmp(prev, now) == 0;
  *prev_st = st;
  if (st == WSRL_OK && !repeat) {
    wsrl_config_t *again = NULL;
    if (wsrl_config_create(&again) != WSRL_OK || wsrl_config_parse_string(again, now) != WSRL_OK)
      fuzz_die("written text does not parse again");
    char *third = text_of(again);
    if (strcmp(now, third) != 0)
      fuzz_die("written text parses to another config");
    free(third);
    wsrl_config_destroy(again);
  }
  wsrl_config_destroy(c);
  return now;
}

static void cleanup(void) { free((char *)fresh_text()); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  static int registered;
  if (!registered) {
    registered = 1;
    atexit(cleanup); /* leak checkers see only the library's leaks */
  }
  fuzz_write(fuzz_scratch(0), data, size);
  wsrl_status_t st = WSRL_OK;
  char *from_string = parse(text, 0, &st, NULL);
  free(parse(text, 1, &st, from_string));
  free(from_string);
  free(text);
  return 0;
}

/* The defaults as the library writes them, and a small hand-written config. */
static int write_seeds(const char *dir) {
  wsrl_config_t *c = NULL;
  if (wsrl_config_create(&c) != WSRL_OK)
    fuzz_die("config create failed");
  char path[600];
  char *text = text_of(c);
  snprintf(path, sizeof path, "%s/seed-0", dir);
  fuzz_write(path, (const uint8_t *)text, strlen(text));
  free(text);
  wsrl_config_destroy(c);
  c = fuzz_small_config("iql");
  text = text_of(c);
  snprintf(path, sizeof path, "%s/seed-1", dir);
  fuzz_write(path, (const uint8_t *)text, strlen(text));
  free(text);
  wsrl_config_destroy(c);
  static const char small[] = "# comment\ncritic.hidden = 16, 16\n\nagent.seed = 7 # trailing\n"
                              "optim.adam_eps = 1e-8\nagent.algorithm = sac\n";
  snprintf(path, sizeof path, "%s/seed-2", dir);
  fuzz_write(path, (const uint8_t *)small, sizeof small - 1);
  return 3;
}

const fuzz_target_t fuzz_target = {"config", write_seeds, 0, NULL};
