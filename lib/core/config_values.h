/* The parsed configuration as a plain struct, generated from config_keys.h. */
#ifndef WSRL_CONFIG_VALUES_H
#define WSRL_CONFIG_VALUES_H

#include <stdint.h>

#include "config_keys.h"

typedef struct wsrl__int_list {
  int64_t v[8]; /* WSRL_CONFIG_MAX_LIST */
  int32_t n;
} wsrl__int_list;

#define WSRL__CTYPE_INT int64_t
#define WSRL__CTYPE_FLOAT double
#define WSRL__CTYPE_BOOL int32_t
#define WSRL__CTYPE_ENUM int32_t /* index into the key's choices */
#define WSRL__CTYPE_INT_LIST wsrl__int_list

typedef struct wsrl__config_values {
#define WSRL__FIELD(T, name, field, def, lo, hi, choices, doc) WSRL__CTYPE_##T field;
  WSRL__CONFIG_KEYS(WSRL__FIELD)
#undef WSRL__FIELD
} wsrl__config_values;

/* ENUM indices, in the order of their choices strings. */
enum { WSRL__ALGO_SAC = 0, WSRL__ALGO_CQL = 1, WSRL__ALGO_CALQL = 2, WSRL__ALGO_IQL = 3, WSRL__ALGO_TD3BC = 4 };
enum { WSRL__STD_EXP = 0, WSRL__STD_UNIFORM = 1 };
enum { WSRL__STEP_UNTRAINED_REFERENCE = 0, WSRL__STEP_UNTRAINED_SKIP = 1 };
enum { WSRL__OFFLINE_NONE = 0, WSRL__OFFLINE_MIXED = 1, WSRL__OFFLINE_APPEND = 2 };
enum { WSRL__ONLINE_SAC = 0, WSRL__ONLINE_SAME = 1 };
enum { WSRL__NONFINITE_ERROR = 0, WSRL__NONFINITE_SKIP_RESET = 1 };
enum { WSRL__INIT_ORTHOGONAL = 0, WSRL__INIT_VAR_SCALING = 1 };
enum { WSRL__MIXED_BLOCKS = 0, WSRL__MIXED_INTERLEAVED = 1 };
enum { WSRL__START_REFERENCE = 0, WSRL__START_WARMUP = 1 };
enum { WSRL__MAX_BACKUP_CQL = 0, WSRL__MAX_BACKUP_ALL = 1, WSRL__MAX_BACKUP_NONE = 2 };
enum { WSRL__MISMATCH_ERROR = 0, WSRL__MISMATCH_WARN = 1 };

#endif /* WSRL_CONFIG_VALUES_H */
