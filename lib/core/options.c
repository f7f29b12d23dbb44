/* Versioned option structs: one reader and one initializer for every public `*_options` struct. */
#include <string.h>

#include "core.h"

wmf_status wmfi_options_read(void *dst, size_t dst_size, const void *src, size_t size_1_0, const char *fn,
                             const char *type) {
  if (!src) return WMF_OK; /* NULL: the defaults already in dst */
  uint32_t given;
  memcpy(&given, src, sizeof given);
  if (given < size_1_0)
    return wmfi_fail(WMF_ERR_INVALID_ARGUMENT,
                     "%s: options.struct_size is %u, below the %zu bytes of a 1.0 %s (initialize it with %s_init() "
                     "or its *_INIT macro)",
                     fn, given, size_1_0, type, type);
  /* a caller built against an older header: its fields, then our defaults; a newer one: what we know */
  memcpy(dst, src, given < dst_size ? given : dst_size);
  memcpy(dst, &(uint32_t){(uint32_t)dst_size}, sizeof(uint32_t));
  return WMF_OK;
}

wmf_status wmfi_options_init(void *dst, size_t size, const void *defaults, size_t cur_size, size_t size_1_0,
                             const char *fn, const char *type) {
  WMFI_REQUIRE(dst, "%s: options is NULL", fn);
  WMFI_REQUIRE(size >= size_1_0 && size <= UINT32_MAX,
               "%s: struct_size %zu is below the %zu bytes of a 1.0 %s (pass sizeof(%s))", fn, size, size_1_0, type,
               type);
  size_t n = size < cur_size ? size : cur_size;
  memset(dst, 0, size);
  memcpy(dst, defaults, n);
  memcpy(dst, &(uint32_t){(uint32_t)n}, sizeof(uint32_t));
  return WMF_OK;
}
