/* wmf_audit_save / wmf_audit_load: the versioned binary format (docs/audit.md).
 *
 *   offset 0  "WMFAUDIT"            magic
 *          8  u32 version = 2, u32 flags = 0
 *         16  u64 num_classes, u64 num_features, u64 num_pairs
 *         40  u64 items_done, u64 M = bytes of the provenance block (a multiple of 8)     [version 2]
 *         56  provenance: u32 count, then per entry (keys sorted, unique) u32 key length, key bytes,
 *             u32 value length, value bytes (UTF-8, no NUL); zero bytes up to M             [version 2]
 *     56 + M  f32 clean logits [num_classes][num_pairs], then watermarked logits (column-major),
 *             f32 clean features [num_features][num_pairs], then watermarked features,
 *             i32 labels [num_pairs] (WMF_NO_LABEL = -1)
 *        end  u64 checksum (wmfi_checksum: FNV-1a 64) of every byte before it
 * All little-endian. Version 1 files (header of 40 bytes, no items_done or provenance) still load:
 * their audit has no provenance and items_done 0. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"

#define MAGIC "WMFAUDIT"
#define VERSION 2u
#define HEADER_V1 40u
#define HEADER 56u

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the audit file format code assumes a little-endian host"
#endif

/* Bytes of the payload for the given sizes into *out; false on overflow. (0 pairs: 0 bytes.) */
static bool payload_size(uint64_t C, uint64_t F, uint64_t n, size_t *out) {
  size_t cols, t;
  return wmfi_add(C, F, &cols) && wmfi_mul(cols, 2, &cols) && wmfi_add(cols, 1, &cols) && wmfi_mul(cols, n, &t) &&
         wmfi_mul(t, 4, out);
}

/* Bytes of the provenance block (padded to 8). */
static size_t provenance_size(const wmf_audit *a) {
  size_t b = 4;
  for (size_t i = 0; i < a->prov_count; i++) b += 8 + strlen(a->prov_keys[i]) + strlen(a->prov_values[i]);
  return (b + 7) / 8 * 8; /* at most 64 keys of 64 + 65536 bytes: no overflow */
}

static uint8_t *put_string(uint8_t *p, const char *s) {
  uint32_t len = (uint32_t)strlen(s);
  wmfi_put_le32(p, len);
  memcpy(p + 4, s, len);
  return p + 4 + len;
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
  size_t payload, total, meta = provenance_size(a);
  if (!payload_size(a->num_classes, a->num_features, a->n, &payload) || !wmfi_add(payload, HEADER + 8 + meta, &total))
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_audit_save: '%s': size overflows", path);
  uint8_t *buf = wmfi_calloc(1, total);
  if (!buf) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_save: out of memory for %zu bytes", total);
  wmfi_format_put_header(buf, MAGIC, VERSION);
  wmfi_put_le64(buf + 16, a->num_classes);
  wmfi_put_le64(buf + 24, a->num_features);
  wmfi_put_le64(buf + 32, a->n);
  wmfi_put_le64(buf + 40, a->items_done);
  wmfi_put_le64(buf + 48, meta);
  uint8_t *q = buf + HEADER;
  wmfi_put_le32(q, (uint32_t)a->prov_count);
  q += 4;
  for (size_t i = 0; i < a->prov_count; i++) q = put_string(put_string(q, a->prov_keys[i]), a->prov_values[i]);
  uint8_t *p = buf + HEADER + meta;
  for (int s = 0; s < 4; s++) {
    size_t cols = s < 2 ? a->num_classes : a->num_features;
    for (size_t c = 0; c < cols; c++) p = put_column(p, a, s, c);
  }
  for (size_t k = 0; k < a->num_chunks; k++) {
    memcpy(p, a->chunks[k].labels, a->chunks[k].rows * sizeof(int32_t));
    p += a->chunks[k].rows * sizeof(int32_t);
  }
  wmf_status st = wmfi_format_write(path, buf, (size_t)(p - buf));
  wmfi_free(buf);
  return st;
}

wmf_status wmf_audit_load(wmf_audit **out, const char *path) {
  return wmfi_load_file(out, path, "wmf_audit_load", wmfi_audit_parse);
}

/* Copies n bytes into a new NUL-terminated string. */
static char *copy_string(const char *s, size_t n) {
  char *c = wmfi_malloc(n + 1);
  if (c) memcpy(c, s, n), c[n] = 0;
  return c;
}

/* Reads the provenance block (`size` bytes at file offset `at`) into the audit. */
static wmf_status parse_provenance(wmf_audit *a, const uint8_t *p, size_t size, size_t at, const char *path) {
  static const char fn[] = "wmf_audit_load";
  wmf_status st = WMF_OK;
  uint32_t count = wmfi_le32(p);
  char **keys = NULL, **values = NULL;
  WMFI_CHECK(count <= WMFI_AUDIT_MAX_PROVENANCE, WMF_ERR_CORRUPT,
             "%s: '%s': %u provenance entries (offset %zu), at most %d", fn, path, count, at, WMFI_AUDIT_MAX_PROVENANCE);
  WMFI_ALLOC(keys, wmfi_calloc(count ? count : 1, sizeof *keys), fn);
  WMFI_ALLOC(values, wmfi_calloc(count ? count : 1, sizeof *values), fn);
  size_t off = 4;
  for (uint32_t i = 0; i < count; i++) {
    const char *kv[2];
    uint32_t len[2];
    for (int j = 0; j < 2; j++) {
      WMFI_CHECK(size - off >= 4 && (len[j] = wmfi_le32(p + off)) <= size - off - 4, WMF_ERR_CORRUPT,
                 "%s: '%s': provenance entry %u runs past its block (offset %zu)", fn, path, i, at + off);
      kv[j] = (const char *)p + off + 4, off += 4 + len[j];
    }
    char where[160];
    snprintf(where, sizeof where, "%s: '%.40s' provenance entry %u (offset %zu)", fn, path, i, at + off);
    if (wmfi_audit_check_provenance_entry(where, kv[0], len[0], kv[1], len[1])) { /* in a file: damage */
      char msg[512];
      snprintf(msg, sizeof msg, "%s", wmf_last_error());
      WMFI_FAIL(WMF_ERR_CORRUPT, "%s", msg);
    }
    WMFI_ALLOC(keys[i], copy_string(kv[0], len[0]), fn);
    WMFI_ALLOC(values[i], copy_string(kv[1], len[1]), fn);
    WMFI_CHECK(!i || strcmp(keys[i - 1], keys[i]) < 0, WMF_ERR_CORRUPT,
               "%s: '%s': provenance keys not sorted and unique at entry %u (offset %zu)", fn, path, i, at + off);
  }
  for (size_t i = off; i < size; i++)
    WMFI_CHECK(!p[i], WMF_ERR_CORRUPT, "%s: '%s': nonzero padding after the provenance (offset %zu)", fn, path, at + i);
  wmfi_audit_adopt_provenance(a, keys, values, count);
  keys = values = NULL;
done:
  for (uint32_t i = 0; keys && values && i < count; i++) wmfi_free(keys[i]), wmfi_free(values[i]);
  wmfi_free(keys), wmfi_free(values);
  return st;
}

wmf_status wmfi_audit_parse(void *out, const uint8_t *d, size_t size, const char *path) {
  wmf_audit **result = out;
  *result = NULL;
  if ((uintptr_t)d % _Alignof(float)) { /* the columns are read in place: align a misaligned buffer once */
    uint8_t *copy = wmfi_malloc(size);
    if (!copy) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_load: cannot copy '%s' (%zu bytes)", path, size);
    memcpy(copy, d, size);
    wmf_status st = wmfi_audit_parse(out, copy, size, path);
    wmfi_free(copy);
    return st;
  }
  uint32_t version;
  wmf_status st = wmfi_format_check_header(&version, d, size, HEADER_V1 + 8, MAGIC, VERSION, "wmf_audit_load", path,
                                           "an audit file");
  if (st) return st;
  size_t header = version == 1 ? HEADER_V1 : HEADER;
  if (size < header + 8)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s' has %zu bytes, less than its %zu-byte header", path,
                     size, header + 8);
  uint64_t C = wmfi_le64(d + 16), F = wmfi_le64(d + 24), n = wmfi_le64(d + 32);
  uint64_t items_done = version == 1 ? 0 : wmfi_le64(d + 40), M = version == 1 ? 0 : wmfi_le64(d + 48);
  if ((C == 0 && F == 0) || C > WMFI_AUDIT_MAX_DIM || F > WMFI_AUDIT_MAX_DIM || n > WMFI_AUDIT_MAX_PAIRS)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_audit_load: '%s': %llu classes, %llu features, %llu pairs (offset 16)",
                     path, (unsigned long long)C, (unsigned long long)F, (unsigned long long)n);
  if (M % 8 || M > size - header - 8 || (version > 1 && M < 8))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': provenance size %llu is invalid (offset 48)", path,
                     (unsigned long long)M);
  size_t payload;
  if (!payload_size(C, F, n, &payload) || size - header - 8 - M != payload)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s' has %zu bytes, its header implies %llu", path, size,
                     (unsigned long long)payload + header + 8 + M);
  if (!wmfi_format_checksum_ok(d, size))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': checksum mismatch (stored at offset %zu)", path,
                     size - 8);
  size_t data_at = header + (size_t)M;
  const float *cl = (const float *)(void *)(d + data_at); /* d is aligned and data_at a multiple of 4 */
  const float *wl = cl + C * n, *cf = wl + C * n, *wf = cf + F * n;
  const int32_t *labels = (const int32_t *)(const void *)(wf + F * n);
  size_t values = (size_t)(2 * (C + F) * n);
  for (size_t i = 0; i < values; i++)
    if (!isfinite(cl[i]))
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': non-finite value at offset %zu", path,
                       data_at + 4 * i);
  for (size_t i = 0; i < n; i++)
    if (labels[i] != WMF_NO_LABEL && (labels[i] < 0 || (uint64_t)labels[i] >= C))
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_audit_load: '%s': label %d out of range at offset %zu", path,
                       (int)labels[i], data_at + 4 * (values + i));
  wmf_audit *a = NULL;
  WMFI_TRY(wmf_audit_create(&a, C, F));
  a->items_done = items_done;
  if (M) WMFI_TRY(parse_provenance(a, d + header, (size_t)M, header, path));
  if (n) WMFI_TRY(wmfi_audit_append_columns(a, n, cl, wl, cf, wf, labels));
  *result = a;
done:
  if (st) wmf_audit_destroy(a);
  return st;
}
