/* safetensors: an 8-byte little-endian header length, a JSON header, then one byte buffer that the
 * tensors' data_offsets must tile exactly (in order, no gap, no overlap). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "weights/weights_internal.h"

/* The reference implementation caps the header at 100 MB; a real header is a few hundred KB. */
#define HEADER_CAP ((uint64_t)100 << 20)

typedef struct entry {
  const char *name;
  size_t name_len;
  wmf_dtype dtype;
  uint32_t ndim;
  int64_t shape[WMF_MAX_DIMS];
  uint64_t begin, end;
  size_t order; /* position in the header, to keep zero-length tensors stable */
} entry;

static int by_offset(const void *a, const void *b) {
  const entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Dtype strings of the format. Known ones this library does not convert are UNSUPPORTED; anything
 * else is a corrupt header. */
static wmf_status parse_dtype(const wmf_weights *w, const char *name, const char *s, wmf_dtype *out) {
  static const struct {
    const char *s;
    wmf_dtype d;
  } known[] = {{"F32", WMF_DTYPE_F32}, {"F16", WMF_DTYPE_F16}, {"BF16", WMF_DTYPE_BF16},
               {"F64", WMF_DTYPE_F64}, {"I64", WMF_DTYPE_I64}, {"I32", WMF_DTYPE_I32},
               {"I16", WMF_DTYPE_I16}, {"I8", WMF_DTYPE_I8},   {"U8", WMF_DTYPE_U8},
               {"BOOL", WMF_DTYPE_BOOL}};
  static const char *const other[] = {"U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "C64", "F6_E2M3",
                                      "F6_E3M2", "F4", "F8_E8M0"};
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (strcmp(s, known[i].s) == 0) {
      *out = known[i].d;
      return WMF_OK;
    }
  for (size_t i = 0; i < sizeof other / sizeof *other; i++)
    if (strcmp(s, other[i]) == 0)
      return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, which this library does not read",
                       w->origin, name, s);
  return wmfi_fail(WMF_ERR_CORRUPT, "%s: tensor '%s' has an unknown dtype '%.40s'", w->origin, name, s);
}

static wmf_status parse_entry(const wmf_weights *w, const char *name, json_t *v, entry *e) {
  if (!json_is_object(v)) return wmfi_fail(WMF_ERR_CORRUPT, "%s: header entry '%s' is not an object", w->origin, name);
  json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
         *off = json_object_get(v, "data_offsets");
  if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(off) || json_array_size(off) != 2 ||
      json_object_size(v) != 3)
    return wmfi_fail(WMF_ERR_CORRUPT,
                     "%s: header entry '%s' needs exactly dtype (string), shape (array), data_offsets ([begin, end])",
                     w->origin, name);
  wmf_status st = parse_dtype(w, name, json_string_value(dt), &e->dtype);
  if (st) return st;
  size_t nd = json_array_size(shape);
  if (nd > WMF_MAX_DIMS)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: tensor '%s' has %zu dimensions (at most %d)", w->origin, name, nd, WMF_MAX_DIMS);
  e->ndim = (uint32_t)nd;
  size_t numel = 1;
  for (size_t i = 0; i < nd; i++) {
    json_t *d = json_array_get(shape, i);
    if (!json_is_integer(d) || json_integer_value(d) < 0)
      return wmfi_fail(WMF_ERR_CORRUPT, "%s: tensor '%s': shape[%zu] is not a non-negative integer", w->origin, name, i);
    e->shape[i] = json_integer_value(d);
    if (!wmfi_mul(numel, (size_t)e->shape[i], &numel))
      return wmfi_fail(WMF_ERR_CORRUPT, "%s: tensor '%s': element count overflows", w->origin, name);
  }
  json_t *b = json_array_get(off, 0), *en = json_array_get(off, 1);
  if (!json_is_integer(b) || !json_is_integer(en) || json_integer_value(b) < 0 ||
      json_integer_value(en) < json_integer_value(b))
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: tensor '%s': data_offsets must be integers 0 <= begin <= end", w->origin, name);
  e->begin = (uint64_t)json_integer_value(b);
  e->end = (uint64_t)json_integer_value(en);
  size_t bytes;
  if (!wmfi_mul(numel, wmfi_weights_dtype_size(e->dtype), &bytes) || bytes != e->end - e->begin)
    return wmfi_fail(WMF_ERR_CORRUPT,
                     "%s: tensor '%s': %zu elements of %s do not fill data_offsets [%llu, %llu]", w->origin, name,
                     numel, wmf_dtype_name(e->dtype), (unsigned long long)e->begin, (unsigned long long)e->end);
  return WMF_OK;
}

static wmf_status read_metadata(wmf_weights *w, json_t *m) {
  if (!json_is_object(m)) return wmfi_fail(WMF_ERR_CORRUPT, "%s: __metadata__ is not an object", w->origin);
  w->meta = wmfi_calloc(json_object_size(m) + 1, sizeof *w->meta);
  if (!w->meta) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for metadata", w->origin);
  const char *k;
  json_t *v;
  json_object_foreach(m, k, v) {
    if (!json_is_string(v))
      return wmfi_fail(WMF_ERR_CORRUPT, "%s: __metadata__ value of '%s' is not a string", w->origin, k);
    wmfi_meta *me = &w->meta[w->meta_count];
    me->key = wmfi_strdup(k);
    me->value = wmfi_strdup(json_string_value(v));
    w->meta_count++;
    if (!me->key || !me->value) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for metadata", w->origin);
  }
  return WMF_OK;
}

static wmf_status parse_header(wmf_weights *w, json_t *root, const uint8_t *buf, uint64_t buf_size) {
  if (!json_is_object(root)) return wmfi_fail(WMF_ERR_CORRUPT, "%s: safetensors header is not a JSON object", w->origin);
  wmf_status st = WMF_OK;
  size_t n = json_object_size(root), count = 0;
  entry *es = wmfi_calloc(n + 1, sizeof *es);
  WMFI_CHECK(es, WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu header entries", w->origin, n);
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "__metadata__") == 0) {
      WMFI_CHECK(!w->meta, WMF_ERR_CORRUPT, "%s: two __metadata__ entries", w->origin);
      WMFI_TRY(read_metadata(w, v));
    } else {
      es[count].name = key;
      es[count].name_len = strlen(key);
      es[count].order = count;
      WMFI_TRY(parse_entry(w, key, v, &es[count]));
      count++;
    }
  }
  qsort(es, count, sizeof *es, by_offset);
  uint64_t at = 0;
  for (size_t i = 0; i < count; i++) {
    WMFI_CHECK(es[i].begin == at, WMF_ERR_CORRUPT,
               "%s: tensor '%s' starts at byte %llu of the data buffer, expected %llu (%s)", w->origin, es[i].name,
               (unsigned long long)es[i].begin, (unsigned long long)at, es[i].begin < at ? "overlap" : "gap");
    WMFI_CHECK(es[i].end <= buf_size, WMF_ERR_CORRUPT,
               "%s: tensor '%s' ends at byte %llu beyond the %llu-byte data buffer", w->origin, es[i].name,
               (unsigned long long)es[i].end, (unsigned long long)buf_size);
    at = es[i].end;
  }
  WMFI_CHECK(at == buf_size, WMF_ERR_CORRUPT, "%s: the tensors cover %llu of the %llu bytes of the data buffer",
             w->origin, (unsigned long long)at, (unsigned long long)buf_size);
  for (size_t i = 0; i < count; i++)
    WMFI_TRY(wmfi_weights_add(w, es[i].name, es[i].name_len, es[i].dtype, es[i].ndim, es[i].shape, NULL,
                              buf + es[i].begin));
done:
  wmfi_free(es);
  return st;
}

wmf_status wmfi_weights_parse_safetensors(wmf_weights *w, const uint8_t *data, size_t size) {
  if (size < 8) return wmfi_fail(WMF_ERR_CORRUPT, "%s: %zu bytes, too short for a safetensors header length", w->origin, size);
  uint64_t hlen = wmfi_le64(data);
  if (hlen > HEADER_CAP)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: safetensors header length %llu exceeds the %llu-byte cap", w->origin,
                     (unsigned long long)hlen, (unsigned long long)HEADER_CAP);
  if (hlen > size - 8)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: safetensors header length %llu exceeds the file (%zu bytes)", w->origin,
                     (unsigned long long)hlen, size);
  json_error_t err;
  json_t *root = json_loadb((const char *)data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &err);
  if (!root)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: safetensors header, byte %d: %s", w->origin, err.position + 8, err.text);
  wmf_status st = parse_header(w, root, data + 8 + hlen, size - 8 - hlen);
  json_decref(root);
  return st;
}
