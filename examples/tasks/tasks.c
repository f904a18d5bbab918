/* Task registry and model lookup; see tasks.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mjtask.h"

#ifndef WSRL_EXAMPLES_MODEL_INSTALL_DIR
#  define WSRL_EXAMPLES_MODEL_INSTALL_DIR ""
#endif
#ifndef WSRL_EXAMPLES_MODEL_SOURCE_DIR
#  define WSRL_EXAMPLES_MODEL_SOURCE_DIR ""
#endif

static const mjtask_def *const registry[] = {
    &wsrl_task_pendulum, &wsrl_task_hopper, &wsrl_task_halfcheetah,
    &wsrl_task_walker2d, &wsrl_task_ant,    &wsrl_task_antmaze, &wsrl_task_pointmaze,
};
#define NTASKS (sizeof registry / sizeof registry[0])

size_t wsrl_example_task_count(void) { return NTASKS; }

const wsrl_example_task_info_t *wsrl_example_task_at(size_t index) {
  return index < NTASKS ? &registry[index]->info : NULL;
}

static const mjtask_def *find_def(const char *name) {
  for (size_t i = 0; name != NULL && i < NTASKS; i++)
    if (strcmp(registry[i]->info.name, name) == 0)
      return registry[i];
  return NULL;
}

const wsrl_example_task_info_t *wsrl_example_task_find(const char *name) {
  const mjtask_def *def = find_def(name);
  return def ? &def->info : NULL;
}

wsrl_example_potential_fn wsrl_example_task_potential(const char *name) {
  const mjtask_def *def = find_def(name);
  return def ? def->potential : NULL;
}

static int has_file(const char *dir, const char *file) {
  char path[4096];
  if (dir == NULL || dir[0] == '\0')
    return 0;
  int n = snprintf(path, sizeof path, "%s/%s", dir, file);
  return n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

const char *wsrl_example_model_dir(const char *name) {
  const mjtask_def *def = find_def(name);
  if (def == NULL)
    return NULL;
  const char *candidates[] = {getenv("WSRL_MODEL_DIR"), WSRL_EXAMPLES_MODEL_INSTALL_DIR,
                              WSRL_EXAMPLES_MODEL_SOURCE_DIR};
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
    if (has_file(candidates[i], def->info.model_file))
      return candidates[i];
  return NULL;
}

/* MuJoCo 2.2's XML parser keeps global state: load one model at a time. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

wsrl_status_t wsrl_example_task_create(wsrl_env_t **env_out, const char *name,
                                       const wsrl_example_task_options_t *options) {
  mjtask_fail(WSRL_OK, "%s", "");
  if (env_out == NULL)
    return mjtask_fail(WSRL_ERR_INVALID_ARGUMENT, "wsrl_example_task_create: env_out is NULL");
  *env_out = NULL;
  const mjtask_def *def = find_def(name);
  if (def == NULL) {
    char known[256] = "";
    for (size_t i = 0; i < NTASKS; i++) {
      strncat(known, registry[i]->info.name, sizeof known - strlen(known) - 1);
      if (i + 1 < NTASKS)
        strncat(known, ", ", sizeof known - strlen(known) - 1);
    }
    return mjtask_fail(WSRL_ERR_INVALID_ARGUMENT, "unknown task '%s' (known: %s)", name ? name : "(null)", known);
  }
  const char *dir = options && options->model_dir ? options->model_dir : wsrl_example_model_dir(name);
  if (dir == NULL || !has_file(dir, def->info.model_file))
    return mjtask_fail(WSRL_ERR_IO,
                       "%s: model file '%s' not found in %s (set WSRL_MODEL_DIR to the folder holding the "
                       "examples/models files)",
                       name, def->info.model_file,
                       dir ? dir : "$WSRL_MODEL_DIR, " WSRL_EXAMPLES_MODEL_INSTALL_DIR " or "
                                   WSRL_EXAMPLES_MODEL_SOURCE_DIR);
  char path[4096], err[1000] = "";
  snprintf(path, sizeof path, "%s/%s", dir, def->info.model_file);
  pthread_mutex_lock(&load_lock);
  mjModel *m = mj_loadXML(path, NULL, err, sizeof err);
  pthread_mutex_unlock(&load_lock);
  if (m == NULL)
    return mjtask_fail(WSRL_ERR_IO, "%s: MuJoCo could not load '%s': %s", name, path, err);
  return mjtask_create(env_out, def, m, options ? options->max_episode_steps : 0);
}
