/* Allocation through user-replaceable hooks. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static void *default_malloc(void *user, size_t size) { return malloc(size); }
static void *default_realloc(void *user, void *ptr, size_t size) { return realloc(ptr, size); }
static void default_free(void *user, void *ptr) { free(ptr); }

static wmf_allocator hooks = {default_malloc, default_realloc, default_free, NULL};

wmf_status wmf_set_allocator(const wmf_allocator *allocator) {
  if (!allocator) {
    hooks = (wmf_allocator){default_malloc, default_realloc, default_free, NULL};
    return WMF_OK;
  }
  WMFI_REQUIRE(allocator->malloc_fn && allocator->realloc_fn && allocator->free_fn,
               "wmf_set_allocator: malloc_fn, realloc_fn and free_fn must all be set");
  hooks = *allocator;
  return WMF_OK;
}

void *wmfi_malloc(size_t size) { return hooks.malloc_fn(hooks.user, size ? size : 1); }

void *wmfi_alloc_array(size_t n, size_t size) {
  size_t total;
  return wmfi_mul(n, size, &total) ? wmfi_malloc(total) : NULL;
}

void *wmfi_calloc(size_t n, size_t size) {
  size_t total;
  if (!wmfi_mul(n, size, &total)) return NULL;
  void *p = wmfi_malloc(total);
  if (p) memset(p, 0, total);
  return p;
}

void *wmfi_realloc(void *ptr, size_t size) { return hooks.realloc_fn(hooks.user, ptr, size ? size : 1); }

void wmfi_free(void *ptr) {
  if (ptr) hooks.free_fn(hooks.user, ptr);
}

char *wmfi_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = wmfi_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
