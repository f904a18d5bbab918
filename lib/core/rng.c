/* xoshiro256** (Blackman & Vigna) seeded by splitmix64: fast, 256-bit state,
 * plain data so a checkpoint restores the exact stream. */
#include <math.h>

#include "core.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void wsrl__rng_seed(wsrl__rng *r, uint64_t seed, uint64_t stream) {
  uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&x);
}

uint64_t wsrl__rng_next(wsrl__rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double wsrl__rng_uniform(wsrl__rng *r) { return (double)(wsrl__rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t wsrl__rng_below(wsrl__rng *r, uint64_t n) {
  /* Lemire's rejection keeps the draw unbiased for any n. */
  uint64_t threshold = (0 - n) % n;
  for (;;) {
    uint64_t x = wsrl__rng_next(r);
    if (x >= threshold)
      return x % n;
  }
}

double wsrl__rng_normal(wsrl__rng *r) {
  /* Box-Muller without a cached spare keeps the state a pure function of draws. */
  double u1 = 1.0 - wsrl__rng_uniform(r); /* (0, 1] */
  double u2 = wsrl__rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* The normals of one pair of draws (a, b): Box-Muller's two outputs, or
 * only the first where x1 is NULL (the odd last one of a fill). */
static void box_muller(uint64_t a, uint64_t b, float *x0, float *x1) {
  double u1 = 1.0 - (double)(a >> 11) * 0x1.0p-53, u2 = (double)(b >> 11) * 0x1.0p-53;
  double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
  *x0 = (float)(rad * cos(th));
  if (x1 != NULL)
    *x1 = (float)(rad * sin(th));
}

void wsrl__rng_fill_normal(wsrl__rng *r, float *x, size_t n) {
  /* Both Box-Muller outputs are used here: half the log/sqrt work. */
  for (size_t i = 0; i < n; i += 2) {
    const uint64_t a = wsrl__rng_next(r), b = wsrl__rng_next(r);
    box_muller(a, b, x + i, i + 1 < n ? x + i + 1 : NULL);
  }
}

void wsrl__rng_normal_draws(wsrl__rng *r, uint64_t *draws, size_t n) {
  for (size_t i = 0; i < (n + 1) / 2 * 2; i++)
    draws[i] = wsrl__rng_next(r);
}

void wsrl__normals_from_draws(const uint64_t *draws, float *x, size_t i0, size_t i1) {
  /* From the pair holding i0: an odd i0 (or i1) takes one half of its pair. */
  for (size_t i = i0 / 2 * 2; i < i1; i += 2) {
    float pair[2];
    box_muller(draws[i], draws[i + 1], pair, pair + 1);
    if (i >= i0)
      x[i] = pair[0];
    if (i + 1 < i1)
      x[i + 1] = pair[1];
  }
}

void wsrl__rng_fill_uniform(wsrl__rng *r, float *x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++)
    x[i] = lo + (hi - lo) * (float)wsrl__rng_uniform(r);
}

void wsrl__rng_split(wsrl__rng *r, wsrl__rng *child) {
  wsrl__rng_seed(child, wsrl__rng_next(r), wsrl__rng_next(r));
}
