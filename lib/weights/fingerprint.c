/* wmf_weights_fingerprint: a hash of every tensor (name, dtype, shape, element bytes in C order),
 * taken in name order so the same state_dict stored in another container or order hashes the same. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "weights/weights_internal.h"

static void put_le(wmfi_hash *h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
  wmfi_hash_update(h, b, 8);
}

/* Hashes dimension `d` onward of a strided tensor (the elements in C order). */
static void hash_dims(wmfi_hash *h, const wmfi_tensor *t, uint32_t d, const uint8_t *p, size_t es) {
  if (d == t->ndim) {
    wmfi_hash_update(h, p, es);
    return;
  }
  bool inner_contiguous = true; /* dimensions d.. stored C-contiguously: one update */
  int64_t expect = 1;
  for (uint32_t k = t->ndim; k-- > d;) {
    if (t->shape[k] != 1 && t->stride[k] != expect) inner_contiguous = false;
    expect *= t->shape[k];
  }
  if (inner_contiguous) {
    wmfi_hash_update(h, p, (size_t)expect * es);
    return;
  }
  for (int64_t i = 0; i < t->shape[d]; i++) hash_dims(h, t, d + 1, p + (ptrdiff_t)(i * t->stride[d]) * (ptrdiff_t)es, es);
}

wmf_status wmf_weights_fingerprint(char *out, size_t capacity, const wmf_weights *w) {
  WMFI_REQUIRE(out && w, "wmf_weights_fingerprint: NULL argument");
  WMFI_REQUIRE(capacity >= 17, "wmf_weights_fingerprint: capacity %zu, 17 bytes needed", capacity);
  wmfi_hash h;
  wmfi_hash_init(&h);
  put_le(&h, w->count);
  for (size_t k = 0; k < w->count; k++) {
    const wmfi_tensor *t = &w->tensors[w->sorted[k]];
    size_t len = strlen(t->name), es = wmfi_weights_dtype_size(t->dtype);
    put_le(&h, len);
    wmfi_hash_update(&h, t->name, len);
    put_le(&h, (uint64_t)t->dtype);
    put_le(&h, t->ndim);
    for (uint32_t d = 0; d < t->ndim; d++) put_le(&h, (uint64_t)t->shape[d]);
    const uint8_t *data;
    uint8_t *owned;
    wmf_status st = wmfi_weights_extent(w, t, &data, &owned);
    if (st != WMF_OK) return st;
    if (t->numel) hash_dims(&h, t, 0, data, es);
    wmfi_free(owned);
  }
  snprintf(out, capacity, "%016" PRIx64, wmfi_hash_final(&h));
  return WMF_OK;
}
