/* PyTorch legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False): five pickles
 * back to back (magic number, protocol version 1001, sys_info, the object, the sorted storage keys),
 * then every storage in key order as a little-endian 8-byte element count and its raw bytes. */
#include <stdio.h>
#include <string.h>

#include "weights/weights_internal.h"

static const uint8_t magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static wmf_status run_header(wmf_weights *w, wmfi_pickle *pk, const uint8_t *d, size_t n, size_t *at) {
  const wmfi_pv *v;
  size_t used;
  wmf_status st = wmfi_pickle_run(pk, d, n, "legacy magic number", &v, &used);
  if (st) return st;
  if (v->kind != WMFI_PV_BIGINT || v->u.str.len != sizeof magic || memcmp(v->u.str.s, magic, sizeof magic) != 0)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: not a PyTorch legacy file (magic number)", w->origin);
  *at = used;
  if ((st = wmfi_pickle_run(pk, d + *at, n - *at, "legacy protocol version", &v, &used))) return st;
  if (v->kind != WMFI_PV_INT || v->u.i != 1001)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: legacy protocol version is not 1001", w->origin);
  *at += used;
  if ((st = wmfi_pickle_run(pk, d + *at, n - *at, "legacy sys_info", &v, &used))) return st;
  const wmfi_pv *le = wmfi_pv_get(v, "little_endian");
  if (!le || le->kind != WMFI_PV_BOOL)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: legacy sys_info has no little_endian flag", w->origin);
  if (!le->u.i)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: written on a big-endian machine; load and re-save it with torch on a "
                                          "little-endian one", w->origin);
  *at += used;
  return WMF_OK;
}

wmf_status wmfi_weights_parse_legacy(wmf_weights *w, const uint8_t *d, size_t n, const wmf_weights_options *opt) {
  wmf_status st = WMF_OK;
  wmfi_pickle *pk = NULL;
  WMFI_TRY(wmfi_pickle_create(&pk, w->origin));
  size_t at = 0, used;
  const wmfi_pv *root, *keys;
  WMFI_TRY(run_header(w, pk, d, n, &at));
  WMFI_TRY(wmfi_pickle_run(pk, d + at, n - at, "legacy object pickle", &root, &used));
  at += used;
  WMFI_TRY(wmfi_pickle_run(pk, d + at, n - at, "legacy storage key list", &keys, &used));
  at += used;
  WMFI_CHECK(keys->kind == WMFI_PV_LIST, WMF_ERR_CORRUPT, "%s: legacy storage key list is not a list", w->origin);
  for (size_t i = 0; i < keys->u.seq.n; i++) {
    const wmfi_pv *k = keys->u.seq.items[i];
    wmfi_pk_storage *s = k->kind == WMFI_PV_STR ? wmfi_pickle_find_storage(pk, k->u.str.s, k->u.str.len) : NULL;
    WMFI_CHECK(s, WMF_ERR_CORRUPT, "%s: legacy storage key %zu is not named by the object pickle", w->origin, i);
    int kl = (int)(s->key_len > 64 ? 64 : s->key_len); /* of the key in messages */
    size_t bytes;
    WMFI_CHECK(n - at >= 8, WMF_ERR_CORRUPT, "%s: truncated at byte %zu: storage '%.*s' size missing", w->origin, n, kl,
               s->key);
    uint64_t count = wmfi_le64(d + at);
    WMFI_CHECK(count == s->numel && !s->resolved && count <= SIZE_MAX &&
                   wmfi_mul((size_t)count, wmfi_weights_dtype_size(s->dtype), &bytes),
               WMF_ERR_CORRUPT, "%s: storage '%.*s' at byte %zu holds %llu elements, the pickle says %llu%s", w->origin,
               kl, s->key, at, (unsigned long long)count, (unsigned long long)s->numel,
               s->resolved ? " (and it is listed twice)" : "");
    at += 8;
    WMFI_CHECK(n - at >= bytes, WMF_ERR_CORRUPT,
               "%s: truncated at byte %zu: storage '%.*s' needs %zu bytes from byte %zu", w->origin, n, kl, s->key,
               bytes, at);
    s->data = d + at;
    s->resolved = true;
    at += bytes;
  }
  WMFI_TRY(wmfi_pickle_collect(pk, root, w, opt));
done:
  wmfi_pickle_destroy(pk);
  return st;
}
