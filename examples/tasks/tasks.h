/*
 * libwsrl example tasks: MuJoCo simulations behind libwsrl's public env
 * callbacks (wsrl/env.h). Example code, not part of libwsrl: it links
 * libmujoco, and no MuJoCo type appears in this header either.
 *
 * Tasks: "pendulum" (the fast demo task), "hopper", "halfcheetah",
 * "walker2d", "ant" (dense locomotion rewards, Gymnasium v4 definitions),
 * "antmaze" and "pointmaze" (sparse: reward 1 at the goal of a U-maze). docs/tasks.md gives each task's
 * observation and action layout, reward terms, termination and timing.
 *
 * All randomness comes from the seed passed to reset (initial-state noise),
 * so an episode is reproducible from its seed.
 *
 * Models are looked up, in order, in $WSRL_MODEL_DIR, the installed data
 * directory (<datadir>/wsrl/models) and the source tree's examples/models.
 */
#ifndef WSRL_EXAMPLE_TASKS_H
#define WSRL_EXAMPLE_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "wsrl/env.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief Static description of a task (what docs/tasks.md states). */
typedef struct wsrl_example_task_info {
  const char *name;          /**< registry name, e.g. "hopper" */
  const char *description;   /**< one line */
  const char *model_file;    /**< MJCF file name inside the model directory */
  int32_t obs_dim;
  int32_t act_dim;
  double timestep;           /**< physics timestep in seconds (as in the model) */
  int32_t frame_skip;        /**< physics steps per env step; env dt = timestep * frame_skip */
  int64_t max_episode_steps; /**< the time limit given to libwsrl (truncation) */
  int32_t sparse;            /**< 1: reward is 1 at the goal and 0 elsewhere */
  double reward_scale;       /**< recommended reward processing r * scale + bias */
  double reward_bias;        /**< (ALGORITHMS.md section 7) */
  double random_return;      /**< mean return of uniform random actions (wsrl-tasks-check --episodes 100) */
} wsrl_example_task_info_t;

/**
 * @brief Shaping potential phi(obs) of a task (NULL: the task has none).
 *
 * For potential-based reward shaping (Ng, Harada & Russell, 1999): learning
 * from r + gamma * phi(s') - phi(s), with phi(s') = 0 when s' is terminal,
 * leaves the optimal policies unchanged. `wsrl-train collect` uses it
 * (collect.shaping) to train its data-collecting SAC on a sparse task; the
 * datasets keep the task's own reward. antmaze, pointmaze: minus the
 * remaining path length to the goal along the maze's corridors, in metres.
 */
typedef double (*wsrl_example_potential_fn)(const float *obs);

/** @brief The potential of task @p name, or NULL (unknown task or none). */
wsrl_example_potential_fn wsrl_example_task_potential(const char *name);

/** @brief Options for wsrl_example_task_create(); zero-initialise for defaults. */
typedef struct wsrl_example_task_options {
  const char *model_dir;     /**< NULL: search as described above */
  int64_t max_episode_steps; /**< 0: the task's default; > 0 overrides it */
} wsrl_example_task_options_t;

/** @brief Number of registered tasks. */
size_t wsrl_example_task_count(void);

/** @brief Task by index (< count), or NULL. Static storage. */
const wsrl_example_task_info_t *wsrl_example_task_at(size_t index);

/** @brief Task by name, or NULL. Static storage. */
const wsrl_example_task_info_t *wsrl_example_task_find(const char *name);

/**
 * @brief Load a task's model and wrap it in a libwsrl env.
 * @param[out] env_out  the env; destroy it with wsrl_env_destroy() (which
 *                      also frees the MuJoCo model and data).
 * @param[in] name      a registry name.
 * @param[in] options   may be NULL.
 * @return WSRL_OK; WSRL_ERR_INVALID_ARGUMENT (NULL or unknown name);
 *         WSRL_ERR_IO (model file not found or not loadable);
 *         WSRL_ERR_CORRUPT (the model does not match the task's sizes);
 *         WSRL_ERR_OUT_OF_MEMORY; or wsrl_env_create()'s status.
 *         On failure wsrl_example_task_error() says why.
 * Thread-safety: any thread; model loading is serialised internally.
 */
wsrl_status_t wsrl_example_task_create(wsrl_env_t **env_out, const char *name,
                                       const wsrl_example_task_options_t *options);

/** @brief Message of the calling thread's last failed create ("" if none). */
const char *wsrl_example_task_error(void);

/**
 * @brief The directory the model of @p name would be loaded from (without
 * options->model_dir), or NULL when no candidate holds it. Static or
 * environment storage; do not free.
 */
const char *wsrl_example_model_dir(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* WSRL_EXAMPLE_TASKS_H */
