/* Helper for d4rl-h5py-check.py: import a D4RL HDF5 file through the public
 * API, export it again, print the load report as 'name value' lines. With
 * WSRL_TEST_ISOLATED=1 in the environment the isolated info and import run.
 * Usage: replay-h5-roundtrip IN.hdf5 OUT.hdf5 [max_episode_steps] */
#include <stdio.h>
#include <stdlib.h>

#include <wsrl/wsrl.h>

static int fail(const char *what, wsrl_status_t st) {
  fprintf(stderr, "%s: %s: %s\n", what, wsrl_status_string(st), wsrl_last_error_message());
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3)
    return fprintf(stderr, "usage: %s IN.hdf5 OUT.hdf5 [max_episode_steps]\n", argv[0]), 2;
  const char *iso = getenv("WSRL_TEST_ISOLATED");
  const int isolated = iso != NULL && iso[0] == '1';
  int32_t obs_dim, act_dim;
  int64_t rows;
  wsrl_status_t st = isolated ? wsrl_replay_hdf5_info_isolated(argv[1], &obs_dim, &act_dim, &rows)
                              : wsrl_replay_hdf5_info(argv[1], &obs_dim, &act_dim, &rows);
  if (st != WSRL_OK)
    return fail("hdf5_info", st);
  wsrl_replay_options_t opt;
  wsrl_replay_options_init(&opt, sizeof opt);
  opt.max_episode_steps = argc > 3 ? atoll(argv[3]) : 0;
  wsrl_replay_t *r = NULL;
  if ((st = wsrl_replay_create(&r, obs_dim, act_dim, rows > 0 ? rows : 1, &opt)) != WSRL_OK)
    return fail("create", st);
  wsrl_replay_report_t rep;
  wsrl_replay_report_init(&rep, sizeof rep);
  st = isolated ? wsrl_replay_import_hdf5_isolated(r, argv[1], &rep) : wsrl_replay_import_hdf5(r, argv[1], &rep);
  if (st != WSRL_OK)
    return fail("import_hdf5", st);
  if ((st = wsrl_replay_export_hdf5(r, argv[2])) != WSRL_OK)
    return fail("export_hdf5", st);
  printf("rows %lld\nloaded %lld\ndropped_timeout %lld\ndropped_last %lld\nepisodes %lld\n", (long long)rep.rows,
         (long long)rep.loaded, (long long)rep.dropped_timeout, (long long)rep.dropped_last, (long long)rep.episodes);
  wsrl_replay_destroy(r);
  return 0;
}
