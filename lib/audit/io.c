/* wmf_audit_save / wmf_audit_load: the versioned binary format (docs/audit.md).
 *
 *   offset 0  "WMFAUDIT"            magic
 *          8  u32 version = 1, u32 flags = 0
 *         16  u64 num_classes, u64 num_features, u64 num_pairs
 *         40  f32 clean logits [num_classes][num_pairs], then watermarked logits (column-major),
 *             f32 clean features [num_features][num_pairs], then watermarked features,
 *             i32 labels [num_pairs] (WMF_NO_LABEL = -1)
 *        end  u64 FNV-1a 64 of every byte before it
 * All little-endian. */
#include <math.h>
#include <string.h>

#include "audit.h"

#define MAGIC "WMFAUDIT"
#define VERSION 1u
#define HEADER 40u

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the audit file format code assumes a little-endian host"
#endif

wmf_status wmfi_audit_append_columns(wmf_audit *a, size_t n, const float *cl, const float *wl,
                                     const float *cf, const float *wf, const int32_t *labels);

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Bytes of the payload for the given sizes, or 0 on overflow. */
static size_t payload_size(uint64_t C, uint64_t F, uint64_t n) {
  size_t cols, bytes, t;
  if (!wmfi_add(C, F, &cols) || !wmfi_mul(cols, 2, &cols) || !wmfi_add(cols, 1, &cols) ||
      !wmfi_mul(cols, n, &t) || !wmfi_mul(t, 4, &bytes))
    return 0;
  return bytes;
}

/* Writes column `col` of a matrix (select 0 clean logits, 1 wm logits, 2 clean features, 3 wm features)
 * over all pairs. */
static uint8_t *put_column(uint8_t *p, const wmf_audit *a, int select, size_t col) {
  for (size_t k = 0; k < a->num_chunks; k++) {
    const wmfi_audit_chunk *ch = &a->chunks[k];
    const float *m = select == 0 ? ch->cl : select == 1 ? ch->wl : select == 2 ? ch->cf : ch->wf;
    memcpy(p, m + col * WMFI_AUDIT_CHUNK, ch->rows * sizeof(float));
    p += ch->rows * sizeof(float);
  }
  return p;
}

wmf_status wmf_audit_save(const wmf_audit *a, const char *path) {
  WMFI_REQUIRE(a && path, "wmf_audit_save: NULL argument");
  size_t payload = payload_size(a->num_classes, a->num_features, a->n), total;
  if (!payload || !wmfi_add(payload, HEADER + 8, &total))
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_save: '%s': size overflows", path);
  uint8_t *buf = wmfi_malloc(total);
  if (!buf) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_save: out of memory for %zu bytes", total);
  memcpy(buf, MAGIC, 8);
  put_u32(buf + 8, VERSION);
  put_u32(buf + 12, 0);
  put_u64(buf + 16, a->num_classes);
  put_u64(buf + 24, a->num_features);
  put_u64(buf + 32, a->n);
  uint8_t *p = buf + HEADER;
  for (int s = 0; s < 4; s++) {
    size_t cols = s < 2 ? a->num_classes : a->num_features;
    for (size_t c = 0; c < cols; c++) p = put_column(p, a, s, c);
  }
  for (size_t k = 0; k < a->num_chunks; k++) {
    memcpy(p, a->chunks[k].labels, a->chunks[k].rows * sizeof(int32_t));
    p += a->chunks[k].rows * sizeof(int32_t);
  }
  put_u64(p, fnv1a(buf, (size_t)(p - buf)));
  wmf_status st = wmfi_write_file_atomic(path, buf, total);
  wmfi_free(buf);
  return st;
}

wmf_status wmfi_audit_parse(wmf_audit **out, const uint8_t *d, size_t size, const char *path) {
  if ((uintptr_t)d % _Alignof(float)) { /* the columns are read in place: align a misaligned buffer once */
    uint8_t *copy = wmfi_malloc(size);
    if (!copy) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_load: cannot copy '%s' (%zu bytes)", path, size);
    memcpy(copy, d, size);
    wmf_status st = wmfi_audit_parse(out, copy, size, path);
    wmfi_free(copy);
    return st;
  }
  if (size < HEADER + 8 || memcmp(d, MAGIC, 8) != 0)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s' is not an audit file (magic at offset 0)", path);
  uint32_t version = get_u32(d + 8), flags = get_u32(d + 12);
  if (version > VERSION)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "wmf_audit_load: '%s' has format version %u, this library reads %u",
                     path, version, VERSION);
  if (version == 0 || flags != 0)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': bad version %u or flags %u (offset 8)", path,
                     version, flags);
  uint64_t C = get_u64(d + 16), F = get_u64(d + 24), n = get_u64(d + 32);
  if ((C == 0 && F == 0) || C > WMFI_AUDIT_MAX_DIM || F > WMFI_AUDIT_MAX_DIM || n > WMFI_AUDIT_MAX_PAIRS)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_audit_load: '%s': %llu classes, %llu features, %llu pairs (offset 16)",
                     path, (unsigned long long)C, (unsigned long long)F, (unsigned long long)n);
  size_t payload = payload_size(C, F, n);
  if ((n && !payload) || size - HEADER - 8 != payload)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s' has %zu bytes, its header implies %zu", path, size,
                     payload + HEADER + 8);
  uint64_t sum = get_u64(d + size - 8);
  if (sum != fnv1a(d, size - 8))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': checksum mismatch (stored at offset %zu)", path,
                     size - 8);
  const float *cl = (const float *)(void *)(d + HEADER); /* d is aligned and 40 is a multiple of 4 */
  const float *wl = cl + C * n, *cf = wl + C * n, *wf = cf + F * n;
  const int32_t *labels = (const int32_t *)(const void *)(wf + F * n);
  size_t values = (size_t)(2 * (C + F) * n);
  for (size_t i = 0; i < values; i++)
    if (!isfinite(cl[i]))
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': non-finite value at offset %zu", path,
                       HEADER + 4 * i);
  for (size_t i = 0; i < n; i++)
    if (labels[i] != WMF_NO_LABEL && (labels[i] < 0 || (uint64_t)labels[i] >= C))
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': label %d out of range at offset %zu", path,
                       (int)labels[i], HEADER + 4 * (values + i));
  wmf_audit *a;
  wmf_status st = wmf_audit_create(&a, C, F);
  if (st) return st;
  if (n) st = wmfi_audit_append_columns(a, n, cl, wl, cf, wf, labels);
  if (st) {
    wmf_audit_destroy(a);
    return st;
  }
  *out = a;
  return WMF_OK;
}

wmf_status wmf_audit_load(wmf_audit **out, const char *path) {
  WMFI_REQUIRE(out && path, "wmf_audit_load: NULL argument");
  *out = NULL;
  wmfi_file f;
  wmf_status st = wmfi_file_open(&f, path);
  if (st) return st;
  st = wmfi_audit_parse(out, f.data, f.size, path);
  wmfi_file_close(&f);
  return st;
}
