/* CRC32 (IEEE, reflected polynomial 0xEDB88320), slicing-by-8: about 8x the
 * byte-wise speed, which matters for checksumming 100+ MB replay files. The
 * tables are built once per process. */
#include <pthread.h>

#include "io.h"

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFFu];
}

uint32_t wsrl__crc32(uint32_t crc, const void *data, size_t size) {
  pthread_once(&table_once, build_tables);
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (size >= 8) {
    /* Bytes are combined explicitly, so the result does not depend on host order. */
    uint32_t lo = c ^ wsrl__load_u32le(p);
    uint32_t hi = wsrl__load_u32le(p + 4);
    c = table[7][lo & 0xFFu] ^ table[6][(lo >> 8) & 0xFFu] ^ table[5][(lo >> 16) & 0xFFu] ^
        table[4][lo >> 24] ^ table[3][hi & 0xFFu] ^ table[2][(hi >> 8) & 0xFFu] ^
        table[1][(hi >> 16) & 0xFFu] ^ table[0][hi >> 24];
    p += 8;
    size -= 8;
  }
  while (size-- > 0)
    c = table[0][(c ^ *p++) & 0xFFu] ^ (c >> 8);
  return ~c;
}
