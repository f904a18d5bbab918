/* Print the loaded library's struct layout table (wsrl/layout.h) as
 * tests/abi/layout.tsv holds it: one `sizeof` row per struct, then its
 * fields in declaration order. */
#include <stdio.h>
#include <string.h>

#include <wsrl/wsrl.h>

int main(void) {
  printf("# libwsrl struct layout: struct, field, offset, size (bytes), from wsrl_layout_info().\n"
         "# Regenerate with scripts/update-abi.sh; fields are only ever appended (docs/api-stability.md).\n");
  const char *prev = "";
  for (size_t i = 0; i < wsrl_layout_count(); i++) {
    const char *type = NULL, *field = NULL;
    uint32_t offset = 0, size = 0, total = 0;
    if (wsrl_layout_info(i, &type, &field, &offset, &size) != WSRL_OK) {
      fprintf(stderr, "layout-dump: %s\n", wsrl_last_error_message());
      return 1;
    }
    if (strcmp(type, prev) != 0) {
      if (wsrl_layout_get(type, NULL, NULL, &total) != WSRL_OK) {
        fprintf(stderr, "layout-dump: %s\n", wsrl_last_error_message());
        return 1;
      }
      printf("%s\tsizeof\t0\t%u\n", type, (unsigned)total);
      prev = type;
    }
    printf("%s\t%s\t%u\t%u\n", type, field, (unsigned)offset, (unsigned)size);
  }
  return 0;
}
