/* meson test 'trainer-verdict': the demo summary's reading of the dips
 * (tr_dip_verdict), on the cases the demo's seeds produced. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "trainer.h"

static int failures;

static void expect(double warm, double none, const char *start) {
  const char *got = tr_dip_verdict(warm, none, 10.0);
  if (strncmp(got, start, strlen(start)) != 0) {
    printf("FAIL: drops %.1f (warmup) / %.1f (no warmup): \"%s\", expected \"%s...\"\n", warm, none, got, start);
    failures++;
  }
}

int main(void) {
  expect(-69.1, 78.2, "Here the warmup kept");   /* no warmup dipped, WSRL rose */
  expect(5.0, 30.0, "Here the warmup kept");     /* both counted, no warmup deeper */
  expect(-32.2, -14.3, "Neither run dipped");    /* both rose: nothing was kept */
  expect(-109.4, -107.1, "Neither run dipped");
  expect(9.9, -50.0, "Neither run dipped");
  expect(129.4, 0.7, "Here the run with the warmup dipped deeper");
  expect(44.8, 20.9, "Here the run with the warmup dipped deeper");
  expect(30.0, 25.0, "The dips are alike");
  expect(25.0, 34.0, "The dips are alike");
  expect(NAN, 20.0, "(not measured");
  expect(20.0, NAN, "(not measured");
  if (failures == 0)
    printf("OK\n");
  return failures != 0;
}
