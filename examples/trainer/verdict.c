/* The demo summary's reading of one seed's two dips (trainer.h). */
#include "trainer.h"

const char *tr_dip_verdict(double drop_warmup, double drop_nowarmup, double big) {
  if (!(drop_warmup == drop_warmup && drop_nowarmup == drop_nowarmup))
    return "(not measured: a run has no evaluation after its warmup)";
  /* A drop below big is no dip, whatever the other run did: two runs that
   * both rose are not a warmup that "kept" anything. */
  if (drop_warmup < big && drop_nowarmup < big)
    return "Neither run dipped here: the warmup only delayed learning.";
  if (drop_nowarmup > drop_warmup + big)
    return "Here the warmup kept the pretrained policy from dipping.";
  if (drop_warmup > drop_nowarmup + big)
    return "Here the run with the warmup dipped deeper; one seed decides little (docs/results.md compares ten).";
  return "The dips are alike here; one seed decides little (docs/results.md compares ten).";
}
