/* A hash index from names (byte strings) to item numbers: open addressing with linear probing over
 * (hash, item + 1) slots, grown at half load. The names stay with the caller, who confirms a candidate
 * with its own comparison; the index stores only hashes, so it can grow without them. */
#include <string.h>

#include "weights/weights_internal.h"

uint64_t wmfi_index_hash2(const void *a, size_t alen, const void *b, size_t blen) {
  const uint8_t *p = a, *q = b;
  uint64_t h = 1469598103934665603ull; /* FNV-1a, 64 bit */
  for (size_t i = 0; i < alen; i++) h = (h ^ p[i]) * 1099511628211ull;
  for (size_t i = 0; i < blen; i++) h = (h ^ q[i]) * 1099511628211ull;
  return h ^ (h >> 29);
}

uint64_t wmfi_index_hash(const void *key, size_t len) { return wmfi_index_hash2(key, len, NULL, 0); }

void wmfi_index_free(wmfi_index *ix) {
  wmfi_free(ix->slots);
  memset(ix, 0, sizeof *ix);
}

static bool grow(wmfi_index *ix) {
  size_t cap = ix->cap ? ix->cap * 2 : 64, mask = cap - 1;
  if (cap < ix->cap) return false;
  wmfi_index_slot *s = wmfi_alloc_array(cap, sizeof *s);
  if (!s) return false;
  memset(s, 0, cap * sizeof *s);
  for (size_t i = 0; i < ix->cap; i++) {
    if (!ix->slots[i].item) continue;
    size_t j = (size_t)ix->slots[i].hash & mask;
    while (s[j].item) j = (j + 1) & mask;
    s[j] = ix->slots[i];
  }
  wmfi_free(ix->slots);
  ix->slots = s;
  ix->cap = cap;
  return true;
}

bool wmfi_index_add(wmfi_index *ix, uint64_t hash, size_t item) {
  if (2 * (ix->count + 1) > ix->cap && !grow(ix)) return false;
  size_t mask = ix->cap - 1, j = (size_t)hash & mask;
  while (ix->slots[j].item) j = (j + 1) & mask;
  ix->slots[j].hash = hash;
  ix->slots[j].item = item + 1;
  ix->count++;
  return true;
}

size_t wmfi_index_next(const wmfi_index *ix, uint64_t hash, size_t *cursor) {
  if (!ix->cap) return SIZE_MAX;
  size_t mask = ix->cap - 1;
  size_t j = *cursor == SIZE_MAX ? (size_t)hash & mask : (*cursor + 1) & mask;
  for (; ix->slots[j].item; j = (j + 1) & mask)
    if (ix->slots[j].hash == hash) {
      *cursor = j;
      return ix->slots[j].item - 1;
    }
  return SIZE_MAX;
}
