/* A host program built only through `pkg-config --cflags --libs wsrl`. */
#include <stdio.h>
#include <wsrl/wsrl.h>

int main(void) {
  if (wsrl_version_number() / 10000 != WSRL_VERSION_MAJOR) {
    fprintf(stderr, "header %s vs library %s\n", WSRL_VERSION_STRING, wsrl_version_string());
    return 1;
  }
  wsrl_config_t *cfg = NULL;
  if (wsrl_config_create(&cfg) != WSRL_OK)
    return 1;
  int64_t e = 0;
  wsrl_status_t st = wsrl_config_get_int(cfg, "critic.ensemble_size", &e);
  wsrl_config_destroy(cfg);
  if (st != WSRL_OK || e != 10)
    return 1;
  printf("consumer ok: libwsrl %s, ensemble %lld\n", wsrl_version_string(), (long long)e);
  return 0;
}
