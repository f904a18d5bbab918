/* Configuration handle over the key table of config_keys.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* A config is a few kilobytes of text; the cap keeps a wrong path (a log, a
 * dataset) from being read whole into memory. */

struct wsrl_config {
  wsrl__alloc alloc;
  wsrl__config_values v;
  int32_t has_allocator;
  wsrl_allocator_t allocator;
};

typedef struct key_info {
  const char *name;
  int32_t type;
  size_t offset;
  const char *def;
  double lo, hi;
  const char *choices;
  const char *doc;
} key_info;

#define KEY_ROW(T, name, field, def, lo, hi, choices, doc) \
  {name, WSRL_CONFIG_##T, offsetof(wsrl__config_values, field), def, lo, hi, choices, doc},
static const key_info keys[] = {WSRL__CONFIG_KEYS(KEY_ROW)};
#undef KEY_ROW
#define NKEYS (sizeof keys / sizeof keys[0])

static const char *type_name(int32_t t) {
  static const char *names[] = {"integer", "number", "boolean", "choice", "integer list"};
  return names[t];
}

/* ---- key lookup and the nearest-key suggestion ---- */

/* Levenshtein distance of a and b, or limit when it is limit or more: the
 * suggestion only needs the nearest key, and stopping early keeps an unknown
 * key cheap (hostile configs are full of them; cf. the fuzz campaign). */
static size_t edit_distance(const char *a, const char *b, size_t limit) {
  size_t la = strlen(a), lb = strlen(b), row[128];
  if (lb >= 127)
    return (size_t)-1;
  if ((la > lb ? la - lb : lb - la) >= limit)
    return limit;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    size_t low = row[0];
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = diag + (a[i - 1] != b[j - 1]);
      size_t best = row[j - 1] + 1 < up + 1 ? row[j - 1] + 1 : up + 1;
      row[j] = cost < best ? cost : best;
      low = row[j] < low ? row[j] : low;
      diag = up;
    }
    if (low >= limit) /* a row's minimum never decreases further down */
      return limit;
  }
  return row[lb] < limit ? row[lb] : limit;
}

static const key_info *nearest_key(const char *key) {
  const key_info *best = NULL;
  size_t best_d = (size_t)-1;
  for (size_t i = 0; i < NKEYS; i++) {
    const char *dot = strchr(keys[i].name, '.');
    /* A bare leaf name ("ensemble_size") is the closest possible miss. */
    size_t d = (dot != NULL && strcmp(dot + 1, key) == 0) ? 0 : edit_distance(key, keys[i].name, best_d);
    if (d < best_d) {
      best_d = d;
      best = &keys[i];
    }
  }
  return best;
}

/* Keys renamed before 0.1.0, refused with their new name. */
static const struct {
  const char *old_name, *new_name, *note;
} renamed[] = {
#define WSRL__RENAMED(o, n, note) {o, n, note},
    WSRL__RENAMED_KEYS(WSRL__RENAMED)
#undef WSRL__RENAMED
};

static wsrl_status_t find_key(const char *key, const key_info **out) {
  for (size_t i = 0; i < NKEYS; i++) {
    if (strcmp(keys[i].name, key) == 0) {
      *out = &keys[i];
      return WSRL_OK;
    }
  }
  for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
    if (strcmp(renamed[i].old_name, key) == 0)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s' was renamed to '%s'%s", key,
                         renamed[i].new_name, renamed[i].note);
  const key_info *near = nearest_key(key);
  return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "unknown config key '%s' (did you mean '%s'?)", key,
                     near != NULL ? near->name : "");
}

static wsrl_status_t find_typed(const char *key, int32_t type, const key_info **out) {
  WSRL__TRY(find_key(key, out));
  if ((*out)->type != type)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s' is a %s, not a %s", key,
                       type_name((*out)->type), type_name(type));
  return WSRL_OK;
}

/* ---- parsing one value ---- */

static void trim(const char **s, size_t *n) {
  while (*n > 0 && isspace((unsigned char)**s)) {
    (*s)++;
    (*n)--;
  }
  while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
    (*n)--;
}

static wsrl_status_t range_error(const key_info *k, const char *what) {
  return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': %s is out of range [%.17g, %.17g]",
                     k->name, what, k->lo, k->hi);
}

/* Copy a trimmed numeric token into buf[64] as a C string. */
static wsrl_status_t numeric_token(const key_info *k, const char *s, size_t n, char buf[64], const char *what) {
  trim(&s, &n);
  if (n == 0 || n >= 64)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': '%.*s' is not %s", k->name, (int)n, s, what);
  memcpy(buf, s, n);
  buf[n] = '\0';
  return WSRL_OK;
}

/* strtod would read hexadecimal ("0x10", "0x1p4") and words such as "inf"; a
 * config value is decimal text, so anything but digits, sign, '.', 'e' is refused. */
static wsrl_status_t decimal_only(const key_info *k, const char *buf, const char *what) {
  if (buf[strspn(buf, "0123456789+-.eE")] != '\0')
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': '%s' is not %s (decimal notation only)", k->name,
                       buf, what);
  return WSRL_OK;
}

static wsrl_status_t parse_int(const key_info *k, const char *s, size_t n, int64_t *out) {
  char buf[64];
  WSRL__TRY(numeric_token(k, s, n, buf, "an integer"));
  WSRL__TRY(decimal_only(k, buf, "an integer"));
  char *end;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (*end != '\0') { /* accept "1e6" when it is integral */
    double d = strtod(buf, &end);
    if (*end != '\0' || d != floor(d) || fabs(d) > 9.2e18)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': '%s' is not an integer", k->name, buf);
    v = (long long)d;
  } else if (errno == ERANGE) {
    return range_error(k, buf);
  }
  if ((double)v < k->lo || (double)v > k->hi)
    return range_error(k, buf);
  *out = (int64_t)v;
  return WSRL_OK;
}

static wsrl_status_t check_float(const key_info *k, double v) {
  if (isnan(v) && strcmp(k->def, "auto") == 0)
    return WSRL_OK;
  if (!isfinite(v))
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': value must be finite%s", k->name,
                       strcmp(k->def, "auto") == 0 ? " or 'auto'" : "");
  if (v < k->lo || v > k->hi) {
    char what[64];
    snprintf(what, sizeof what, "%.17g", v);
    return range_error(k, what);
  }
  return WSRL_OK;
}

static wsrl_status_t parse_float(const key_info *k, const char *s, size_t n, double *out) {
  char buf[64];
  WSRL__TRY(numeric_token(k, s, n, buf, "a number"));
  if (strcmp(buf, "auto") == 0 && strcmp(k->def, "auto") == 0) {
    *out = NAN;
    return WSRL_OK;
  }
  WSRL__TRY(decimal_only(k, buf, "a number"));
  char *end;
  double v = strtod(buf, &end);
  if (*end != '\0')
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': '%s' is not a number", k->name, buf);
  WSRL__TRY(check_float(k, v));
  *out = v;
  return WSRL_OK;
}

static int text_is(const char *s, size_t n, const char *word) {
  return strlen(word) == n && strncmp(s, word, n) == 0;
}

static wsrl_status_t parse_bool(const key_info *k, const char *s, size_t n, int32_t *out) {
  trim(&s, &n);
  if (text_is(s, n, "1") || text_is(s, n, "true") || text_is(s, n, "yes") || text_is(s, n, "on"))
    *out = 1;
  else if (text_is(s, n, "0") || text_is(s, n, "false") || text_is(s, n, "no") || text_is(s, n, "off"))
    *out = 0;
  else
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': '%.*s' is not a boolean (true/false/1/0)",
                       k->name, (int)n, s);
  return WSRL_OK;
}

/* Index of a '|'-separated choice, or -1. */
static int32_t choice_index(const char *choices, const char *s, size_t n) {
  int32_t idx = 0;
  for (const char *c = choices; *c != '\0'; idx++) {
    const char *bar = strchr(c, '|');
    size_t len = bar != NULL ? (size_t)(bar - c) : strlen(c);
    if (len == n && strncmp(c, s, n) == 0)
      return idx;
    c += len + (bar != NULL);
  }
  return -1;
}

static wsrl_status_t parse_enum(const key_info *k, const char *s, size_t n, int32_t *out) {
  trim(&s, &n);
  int32_t idx = choice_index(k->choices, s, n);
  if (idx < 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': '%.*s' is not one of %s", k->name,
                       (int)n, s, k->choices);
  *out = idx;
  return WSRL_OK;
}

static wsrl_status_t parse_list(const key_info *k, const char *s, size_t n, wsrl__int_list *out) {
  wsrl__int_list l = {{0}, 0};
  trim(&s, &n);
  while (n > 0) {
    const char *comma = memchr(s, ',', n);
    size_t len = comma != NULL ? (size_t)(comma - s) : n;
    if (l.n == WSRL_CONFIG_MAX_LIST)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': more than %d values", k->name,
                         WSRL_CONFIG_MAX_LIST);
    WSRL__TRY(parse_int(k, s, len, &l.v[l.n++]));
    if (comma == NULL)
      break;
    s += len + 1;
    n -= len + 1;
    if (n == 0)
      return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': trailing ','", k->name);
  }
  if (l.n == 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': empty list", k->name);
  *out = l;
  return WSRL_OK;
}

/* Parse text into the field of v that k describes; v is untouched on error. */
static wsrl_status_t parse_value(const key_info *k, const char *s, size_t n, wsrl__config_values *v) {
  void *field = (char *)v + k->offset;
  switch (k->type) {
  case WSRL_CONFIG_INT: {
    int64_t x = 0;
    WSRL__TRY(parse_int(k, s, n, &x));
    memcpy(field, &x, sizeof x);
    return WSRL_OK;
  }
  case WSRL_CONFIG_FLOAT: {
    double x = 0;
    WSRL__TRY(parse_float(k, s, n, &x));
    memcpy(field, &x, sizeof x);
    return WSRL_OK;
  }
  case WSRL_CONFIG_BOOL:
    return parse_bool(k, s, n, (int32_t *)field);
  case WSRL_CONFIG_ENUM:
    return parse_enum(k, s, n, (int32_t *)field);
  default:
    return parse_list(k, s, n, (wsrl__int_list *)field);
  }
}

/* ---- formatting ---- */

static void format_double(double x, char *buf, size_t cap) {
  if (isnan(x)) {
    snprintf(buf, cap, "auto");
    return;
  }
  /* Shortest of %.15g/%.17g that reads back exactly. */
  snprintf(buf, cap, "%.15g", x);
  if (strtod(buf, NULL) != x)
    snprintf(buf, cap, "%.17g", x);
}

/* Write the value as text; returns the length (snprintf semantics). */
static int format_value(const key_info *k, const wsrl__config_values *v, char *buf, size_t cap) {
  const void *field = (const char *)v + k->offset;
  char tmp[256];
  switch (k->type) {
  case WSRL_CONFIG_INT: {
    int64_t x = 0;
    memcpy(&x, field, sizeof x);
    return snprintf(buf, cap, "%lld", (long long)x);
  }
  case WSRL_CONFIG_FLOAT: {
    double x = 0;
    memcpy(&x, field, sizeof x);
    format_double(x, tmp, sizeof tmp);
    return snprintf(buf, cap, "%s", tmp);
  }
  case WSRL_CONFIG_BOOL:
    return snprintf(buf, cap, "%s", *(const int32_t *)field ? "true" : "false");
  case WSRL_CONFIG_ENUM: {
    const char *c = k->choices;
    for (int32_t i = *(const int32_t *)field; i > 0; i--)
      c = strchr(c, '|') + 1;
    const char *bar = strchr(c, '|');
    return snprintf(buf, cap, "%.*s", (int)(bar != NULL ? (size_t)(bar - c) : strlen(c)), c);
  }
  default: {
    const wsrl__int_list *l = field;
    size_t len = 0;
    tmp[0] = '\0';
    for (int32_t i = 0; i < l->n; i++)
      len += (size_t)snprintf(tmp + len, sizeof tmp - len, i ? ",%lld" : "%lld", (long long)l->v[i]);
    return snprintf(buf, cap, "%s", tmp);
  }
  }
}

/* ---- handle ---- */

void wsrl__config_defaults(wsrl__config_values *v) {
  memset(v, 0, sizeof *v);
  for (size_t i = 0; i < NKEYS; i++) {
    wsrl_status_t st = parse_value(&keys[i], keys[i].def, strlen(keys[i].def), v);
    (void)st; /* defaults are checked by the config unit tests */
  }
}

const wsrl__config_values *wsrl__config_values_of(const wsrl_config_t *config) { return &config->v; }

const wsrl_allocator_t *wsrl__config_allocator(const wsrl_config_t *config) {
  return config->has_allocator ? &config->allocator : NULL;
}

wsrl_status_t wsrl_config_create(wsrl_config_t **config_out) {
  WSRL__CHECK_NULL(config_out);
  *config_out = NULL;
  wsrl__alloc a;
  wsrl__alloc_resolve(&a, NULL);
  wsrl_config_t *c = wsrl__calloc(&a, 1, sizeof *c);
  if (c == NULL)
    return wsrl__error(WSRL_ERR_OUT_OF_MEMORY, "wsrl_config_create: out of memory");
  c->alloc = a;
  wsrl__config_defaults(&c->v);
  wsrl__handle_created();
  *config_out = c;
  return WSRL_OK;
}

wsrl_status_t wsrl_config_clone(wsrl_config_t **config_out, const wsrl_config_t *config) {
  WSRL__CHECK_NULL(config_out);
  WSRL__CHECK_NULL(config);
  WSRL__TRY(wsrl_config_create(config_out));
  wsrl__alloc a = (*config_out)->alloc;
  **config_out = *config;
  (*config_out)->alloc = a;
  return WSRL_OK;
}

void wsrl_config_destroy(wsrl_config_t *config) {
  if (config == NULL)
    return;
  wsrl__alloc a = config->alloc;
  wsrl__free(&a, config);
  wsrl__handle_destroyed();
}

wsrl_status_t wsrl_config_set_allocator(wsrl_config_t *config, const wsrl_allocator_t *allocator) {
  WSRL__CHECK_NULL(config);
  if (allocator == NULL) {
    config->has_allocator = 0;
    return WSRL_OK;
  }
  WSRL__TRY(wsrl__allocator_check(allocator, "wsrl_config_set_allocator"));
  config->allocator = *allocator;
  config->has_allocator = 1;
  return WSRL_OK;
}

wsrl_status_t wsrl_config_set(wsrl_config_t *config, const char *key, const char *value) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(key);
  WSRL__CHECK_NULL(value);
  const key_info *k = NULL;
  WSRL__TRY(find_key(key, &k));
  return parse_value(k, value, strlen(value), &config->v);
}

wsrl_status_t wsrl_config_set_int(wsrl_config_t *config, const char *key, int64_t value) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(key);
  const key_info *k = NULL;
  WSRL__TRY(find_key(key, &k));
  if (k->type != WSRL_CONFIG_INT && k->type != WSRL_CONFIG_INT_LIST)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s' is a %s, not an integer", key,
                       type_name(k->type));
  char buf[32];
  snprintf(buf, sizeof buf, "%lld", (long long)value);
  return parse_value(k, buf, strlen(buf), &config->v);
}

wsrl_status_t wsrl_config_set_float(wsrl_config_t *config, const char *key, double value) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(key);
  const key_info *k = NULL;
  WSRL__TRY(find_typed(key, WSRL_CONFIG_FLOAT, &k));
  WSRL__TRY(check_float(k, value));
  memcpy((char *)&config->v + k->offset, &value, sizeof value);
  return WSRL_OK;
}

wsrl_status_t wsrl_config_set_bool(wsrl_config_t *config, const char *key, int32_t value) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(key);
  const key_info *k = NULL;
  WSRL__TRY(find_typed(key, WSRL_CONFIG_BOOL, &k));
  if (value != 0 && value != 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': boolean must be 0 or 1 (got %d)", key,
                       (int)value);
  *(int32_t *)((char *)&config->v + k->offset) = value;
  return WSRL_OK;
}

wsrl_status_t wsrl_config_set_int_list(wsrl_config_t *config, const char *key, const int64_t *values,
                                       size_t count) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(key);
  WSRL__CHECK_NULL(values);
  const key_info *k = NULL;
  WSRL__TRY(find_typed(key, WSRL_CONFIG_INT_LIST, &k));
  if (count == 0 || count > WSRL_CONFIG_MAX_LIST)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config key '%s': count must be in [1, %d] (got %zu)", key,
                       WSRL_CONFIG_MAX_LIST, count);
  wsrl__int_list l = {{0}, (int32_t)count};
  for (size_t i = 0; i < count; i++) {
    if ((double)values[i] < k->lo || (double)values[i] > k->hi) {
      char what[48];
      snprintf(what, sizeof what, "element %zu (%lld)", i, (long long)values[i]);
      return range_error(k, what);
    }
    l.v[i] = values[i];
  }
  memcpy((char *)&config->v + k->offset, &l, sizeof l);
  return WSRL_OK;
}

/* Copy text into a caller buffer with the needed-size protocol. */
static wsrl_status_t copy_out(const char *what, const char *text, size_t len, char *buf, size_t buf_size,
                              size_t *needed_out) {
  if (needed_out != NULL)
    *needed_out = len + 1;
  if (buf == NULL && buf_size != 0)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: argument 'buf' is NULL but buf_size is %zu", what,
                       buf_size);
  if (buf == NULL && needed_out != NULL)
    return WSRL_OK; /* a size query, not an error (as wsrl_config_write_string) */
  if (buf_size < len + 1)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "%s: buf_size %zu is too small (%zu bytes needed)", what,
                       buf_size, len + 1);
  memcpy(buf, text, len + 1);
  return WSRL_OK;
}

wsrl_status_t wsrl_config_get(const wsrl_config_t *config, const char *key, char *buf, size_t buf_size,
                              size_t *needed_out) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(key);
  const key_info *k = NULL;
  WSRL__TRY(find_key(key, &k));
  char text[256];
  int len = format_value(k, &config->v, text, sizeof text);
  return copy_out("wsrl_config_get", text, (size_t)len, buf, buf_size, needed_out);
}

#define TYPED_GET(fn, T, ctype)                                                       \
  wsrl_status_t fn(const wsrl_config_t *config, const char *key, ctype *value_out) { \
    WSRL__CHECK_NULL(config);                                                         \
    WSRL__CHECK_NULL(key);                                                            \
    WSRL__CHECK_NULL(value_out);                                                      \
    const key_info *k = NULL;                                                                \
    WSRL__TRY(find_typed(key, T, &k));                                                \
    memcpy(value_out, (const char *)&config->v + k->offset, sizeof *value_out);       \
    return WSRL_OK;                                                                   \
  }
TYPED_GET(wsrl_config_get_int, WSRL_CONFIG_INT, int64_t)
TYPED_GET(wsrl_config_get_float, WSRL_CONFIG_FLOAT, double)
TYPED_GET(wsrl_config_get_bool, WSRL_CONFIG_BOOL, int32_t)
#undef TYPED_GET

wsrl_status_t wsrl_config_get_int_list(const wsrl_config_t *config, const char *key, int64_t *values,
                                       size_t cap, size_t *count_out) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(key);
  const key_info *k = NULL;
  WSRL__TRY(find_typed(key, WSRL_CONFIG_INT_LIST, &k));
  const wsrl__int_list *l = (const wsrl__int_list *)((const char *)&config->v + k->offset);
  if (count_out != NULL)
    *count_out = (size_t)l->n;
  if (cap < (size_t)l->n)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_config_get_int_list: cap %zu is too small for '%s' (%d values)",
                       cap, key, (int)l->n);
  WSRL__CHECK_NULL(values);
  memcpy(values, l->v, sizeof(int64_t) * (size_t)l->n);
  return WSRL_OK;
}

/* ---- text files ---- */

wsrl_status_t wsrl_config_parse_string(wsrl_config_t *config, const char *text) {
  WSRL__CHECK_NULL(config);
  WSRL__CHECK_NULL(text);
  wsrl__config_values v = config->v; /* commit only if every line parses */
  int line = 1;
  for (const char *p = text; *p != '\0'; line++) {
    const char *eol = strchr(p, '\n');
    size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);
    const char *hash = memchr(p, '#', n);
    size_t m = hash != NULL ? (size_t)(hash - p) : n;
    const char *s = p;
    trim(&s, &m);
    if (m > 0) {
      const char *eq = memchr(s, '=', m);
      if (eq == NULL)
        return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config line %d: expected 'key = value', got '%.*s'",
                           line, (int)m, s);
      const char *ks = s;
      size_t kn = (size_t)(eq - s);
      trim(&ks, &kn);
      char key[128];
      if (kn == 0 || kn >= sizeof key)
        return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "config line %d: missing or overlong key", line);
      memcpy(key, ks, kn);
      key[kn] = '\0';
      const key_info *k = NULL;
      wsrl_status_t st = find_key(key, &k);
      if (st == WSRL_OK)
        st = parse_value(k, eq + 1, (size_t)(s + m - (eq + 1)), &v);
      if (st != WSRL_OK)
        return wsrl__error_wrap(st, "config line %d: ", line);
    }
    p += n + (eol != NULL);
  }
  config->v = v;
  return WSRL_OK;
}

wsrl_status_t wsrl_config_write_string(const wsrl_config_t *config, char *buf, size_t buf_size,
                                       size_t *needed_out) {
  WSRL__CHECK_NULL(config);
  size_t need = 1;
  char line[512];
  for (int pass = 0; pass < 2; pass++) {
    size_t pos = 0;
    for (size_t i = 0; i < NKEYS; i++) {
      char val[256];
      format_value(&keys[i], &config->v, val, sizeof val);
      int n = snprintf(line, sizeof line, "%s = %s\n", keys[i].name, val);
      if (pass == 1)
        memcpy(buf + pos, line, (size_t)n + 1);
      pos += (size_t)n;
    }
    need = pos + 1;
    if (pass == 0) {
      if (needed_out != NULL)
        *needed_out = need;
      if (buf == NULL && buf_size == 0)
        return WSRL_OK; /* a size query, not an error: the last message stays */
      if (buf == NULL || buf_size < need)
        return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                           "wsrl_config_write_string: buf_size %zu is too small (%zu bytes needed)", buf_size,
                           need);
    }
  }
  return WSRL_OK;
}

/* ---- introspection ---- */

size_t wsrl_config_key_count(void) { return NKEYS; }

wsrl_status_t wsrl_config_key_info(size_t index, const char **name_out, int32_t *type_out, const char **doc_out) {
  if (index >= NKEYS)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT, "wsrl_config_key_info: index %zu is out of range [0, %zu)", index,
                       NKEYS);
  if (name_out != NULL)
    *name_out = keys[index].name;
  if (type_out != NULL)
    *type_out = keys[index].type;
  if (doc_out != NULL)
    *doc_out = keys[index].doc;
  return WSRL_OK;
}

wsrl_status_t wsrl_config_key_bounds(const char *key, const char **default_out, double *min_out, double *max_out,
                                     const char **choices_out) {
  WSRL__CHECK_NULL(key);
  const key_info *k = NULL;
  WSRL__TRY(find_key(key, &k));
  double lo = k->lo, hi = k->hi;
  if (k->type == WSRL_CONFIG_BOOL) {
    lo = 0;
    hi = 1;
  } else if (k->type == WSRL_CONFIG_ENUM) {
    lo = 0;
    hi = 0;
    for (const char *c = k->choices; (c = strchr(c, '|')) != NULL; c++)
      hi++;
  }
  if (default_out != NULL)
    *default_out = k->def;
  if (min_out != NULL)
    *min_out = lo;
  if (max_out != NULL)
    *max_out = hi;
  if (choices_out != NULL)
    *choices_out = k->choices;
  return WSRL_OK;
}

