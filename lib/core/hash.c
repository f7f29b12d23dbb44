/* wmfi_hash, the streaming 64-bit fingerprint (weights, input lists, recipes), and wmfi_checksum, the
 * checksum of the saved binary formats (core.h says why they differ). */
#include <string.h>

#include "core.h"

#define PRIME 0x100000001b3ull

static uint64_t word(const uint8_t *p) { /* little-endian whatever the host: one load where it is little-endian */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
#else
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
#endif
}

void wmfi_hash_init(wmfi_hash *hash) { *hash = (wmfi_hash){.h = 0xcbf29ce484222325ull}; }

void wmfi_hash_update(wmfi_hash *hash, const void *data, size_t size) {
  const uint8_t *p = data;
  hash->len += size;
  if (hash->nbuf) {
    while (size && hash->nbuf < 8) hash->buf[hash->nbuf++] = *p++, size--;
    if (hash->nbuf < 8) return;
    hash->h = (hash->h ^ word(hash->buf)) * PRIME;
    hash->nbuf = 0;
  }
  for (; size >= 8; p += 8, size -= 8) hash->h = (hash->h ^ word(p)) * PRIME;
  memcpy(hash->buf, p, size);
  hash->nbuf = size;
}

uint64_t wmfi_hash_final(const wmfi_hash *hash) {
  uint64_t h = hash->h;
  if (hash->nbuf) {
    uint8_t last[8] = {0};
    memcpy(last, hash->buf, hash->nbuf);
    h = (h ^ word(last)) * PRIME;
  }
  h ^= hash->len;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull; /* splitmix64 finalizer */
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

uint64_t wmfi_checksum(const void *data, size_t size) {
  const uint8_t *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; i++) h = (h ^ p[i]) * PRIME;
  return h;
}
