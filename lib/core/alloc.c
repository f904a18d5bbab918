/* Host allocator hooks, resolved once per handle, and aligned buffers. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static void *default_alloc(void *user, size_t size) { (void)user; return malloc(size); }
static void *default_realloc(void *user, void *p, size_t size) { (void)user; return realloc(p, size); }
static void default_free(void *user, void *p) { (void)user; free(p); }

static wsrl__alloc process_alloc = {default_alloc, default_realloc, default_free, NULL};
static atomic_llong live_handles;

WSRL__DEFINE_STRUCT_INIT(wsrl_allocator_init, wsrl_allocator_t, allocator, WSRL_ALLOCATOR_INIT)

/* Validate a host allocator struct (shared with wsrl_config_set_allocator). */
static wsrl_status_t check_allocator(const wsrl_allocator_t *a, const char *fn) {
  if (a->struct_size > sizeof *a)
    return wsrl__error(WSRL_ERR_VERSION_MISMATCH,
                       "%s: allocator->struct_size %u is larger than this library's %zu",
                       fn, a->struct_size, sizeof *a);
  if (a->struct_size < sizeof *a)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "%s: allocator->struct_size %u is smaller than %zu (use WSRL_ALLOCATOR_INIT)",
                       fn, a->struct_size, sizeof *a);
  if (a->alloc == NULL || a->realloc == NULL || a->free == NULL)
    return wsrl__error(WSRL_ERR_INVALID_ARGUMENT,
                       "%s: allocator->alloc, realloc and free must all be set", fn);
  return WSRL_OK;
}

wsrl_status_t wsrl__allocator_check(const wsrl_allocator_t *a, const char *fn) {
  return check_allocator(a, fn);
}

wsrl_status_t wsrl_set_allocator(const wsrl_allocator_t *allocator) {
  if (atomic_load(&live_handles) != 0)
    return wsrl__error(WSRL_ERR_WRONG_STATE,
                       "wsrl_set_allocator: %lld handle(s) are alive; set the allocator before "
                       "the first create or after the last destroy",
                       (long long)atomic_load(&live_handles));
  if (allocator == NULL) {
    process_alloc = (wsrl__alloc){default_alloc, default_realloc, default_free, NULL};
    return WSRL_OK;
  }
  WSRL__TRY(check_allocator(allocator, "wsrl_set_allocator"));
  process_alloc = (wsrl__alloc){allocator->alloc, allocator->realloc, allocator->free, allocator->user};
  return WSRL_OK;
}

int64_t wsrl_live_handles(void) { return (int64_t)atomic_load(&live_handles); }
void wsrl__handle_created(void) { atomic_fetch_add(&live_handles, 1); }
void wsrl__handle_destroyed(void) { atomic_fetch_sub(&live_handles, 1); }

void wsrl__alloc_resolve(wsrl__alloc *out, const wsrl_allocator_t *override_or_null) {
  if (override_or_null != NULL)
    *out = (wsrl__alloc){override_or_null->alloc, override_or_null->realloc, override_or_null->free,
                         override_or_null->user};
  else
    *out = process_alloc;
}

void *wsrl__malloc(const wsrl__alloc *a, size_t size) {
  return size == 0 ? NULL : a->alloc(a->user, size);
}

void *wsrl__calloc(const wsrl__alloc *a, size_t n, size_t size) {
  if (n != 0 && size > SIZE_MAX / n)
    return NULL;
  void *p = wsrl__malloc(a, n * size);
  if (p != NULL)
    memset(p, 0, n * size);
  return p;
}

void *wsrl__realloc(const wsrl__alloc *a, void *ptr, size_t size) { return a->realloc(a->user, ptr, size); }

void wsrl__free(const wsrl__alloc *a, void *ptr) {
  if (ptr != NULL)
    a->free(a->user, ptr);
}

/* Over-allocate by the alignment and keep the raw pointer just below the
 * aligned block, so any host allocator (16-byte aligned) works. */
#define ALIGN 64

void *wsrl__aligned_alloc(const wsrl__alloc *a, size_t size) {
  if (size == 0 || size > SIZE_MAX - ALIGN - sizeof(void *))
    return NULL;
  unsigned char *raw = wsrl__malloc(a, size + ALIGN + sizeof(void *));
  if (raw == NULL)
    return NULL;
  uintptr_t p = ((uintptr_t)(raw + sizeof(void *)) + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
  ((void **)p)[-1] = raw;
  memset((void *)p, 0, size);
  return (void *)p;
}

void wsrl__aligned_free(const wsrl__alloc *a, void *ptr) {
  if (ptr != NULL)
    wsrl__free(a, ((void **)ptr)[-1]);
}
