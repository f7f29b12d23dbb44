/* Builds a safetensors file in memory from a JSON header and a data buffer, for tests that craft
 * weight files. */
#ifndef WMF_TESTS_ST_BUILD_H
#define WMF_TESTS_ST_BUILD_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The file's bytes (caller frees) and *size. */
static inline uint8_t *st_build(const char *json, const void *buf, size_t nbuf, size_t *size) {
  size_t h = strlen(json);
  *size = 8 + h + nbuf;
  uint8_t *f = malloc(*size + 1);
  for (int i = 0; i < 8; i++) f[i] = (uint8_t)((uint64_t)h >> (8 * i));
  memcpy(f + 8, json, h);
  if (nbuf) memcpy(f + 8 + h, buf, nbuf);
  return f;
}

#endif
