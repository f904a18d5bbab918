/* wsrl-train: the example trainer of libwsrl.
 *
 *   wsrl-train collect   train SAC online, write medium / medium-replay / expert datasets
 *   wsrl-train pretrain  CQL / Cal-QL / IQL on a dataset -> checkpoint
 *   wsrl-train finetune  WSRL (warmup, no offline data) or a baseline -> checkpoint
 *   wsrl-train eval      deterministic evaluation of a checkpoint
 *   wsrl-train demo      the whole chain on the pendulum in a few minutes
 *
 * Everything goes through libwsrl's public API (<wsrl/wsrl.h>) and the
 * example MuJoCo tasks (examples/tasks). */
#include <stdio.h>
#include <string.h>

#include "trainer.h"

typedef struct subcommand {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} subcommand_t;

static const subcommand_t subcommands[] = {
    {"collect", tr_cmd_collect, "train SAC online; write medium, medium-replay and expert datasets (HDF5)"},
    {"pretrain", tr_cmd_pretrain, "offline pretraining (CQL, Cal-QL, IQL, TD3+BC) on a dataset -> checkpoint"},
    {"finetune", tr_cmd_finetune, "online fine-tuning: WSRL (default) or a baseline, from a checkpoint"},
    {"eval", tr_cmd_eval, "deterministic evaluation of a checkpoint"},
    {"demo", tr_cmd_demo, "collect -> pretrain -> finetune with and without warmup, on the pendulum"},
};

static void usage(FILE *f) {
  fprintf(f,
          "usage: wsrl-train COMMAND [options] [KEY=VALUE ...]\n\n"
          "The example trainer of libwsrl %s (WSRL: warm-start RL fine-tuning without offline data).\n\n"
          "Commands:\n",
          wsrl_version_string());
  for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf(f, "\nEvery command takes --help, --config FILE, --set KEY=VALUE, --seed N, --out DIR.\n"
             "Start with: wsrl-train demo\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return TR_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return TR_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("wsrl-train (libwsrl %s)\n", wsrl_version_string());
    return TR_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
    if (!strcmp(argv[1], subcommands[i].name)) {
      tr_install_interrupt();
      return subcommands[i].run(argc - 1, argv + 1);
    }
  fprintf(stderr, "wsrl-train: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return TR_EXIT_USAGE;
}
