/* PyTorch zip format (torch.save since 1.6): <name>/data.pkl, <name>/data/<key>, <name>/version,
 * optionally <name>/byteorder, all stored uncompressed. Entries are read in place at the offset their
 * local header gives (torch pads the local extra field to align the data; the central directory does
 * not say so). ZIP64 end records and extra fields are understood. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights/weights_internal.h"

/* Fixed sizes of the zip records (APPNOTE 4.3): the end-of-central-directory record (before its
 * comment), the ZIP64 end record locator, the ZIP64 end record (before its extensible data), a central
 * directory header and a local file header (before their names); 0xffff / 0xffffffff in a field say
 * "see the ZIP64 record". */
enum { EOCD_SIZE = 22, ZIP64_LOCATOR_SIZE = 20, ZIP64_EOCD_SIZE = 56, CENTRAL_SIZE = 46, LOCAL_SIZE = 30 };
#define ZIP64_16 0xffffu
#define ZIP64_32 0xffffffffu
#define MAX_COMMENT 65535

typedef struct zentry {
  const char *name;
  size_t name_len;
  uint64_t header; /* local header offset */
  uint64_t data, size;
} zentry;


static wmf_status find_eocd(wmf_weights *w, const uint8_t *d, size_t n, uint64_t *count, uint64_t *cd_off,
                            uint64_t *cd_size, uint64_t *cd_end_limit) {
  if (n < EOCD_SIZE) return wmfi_fail(WMF_ERR_CORRUPT, "%s: %zu bytes, too short for a zip file", w->origin, n);
  size_t lo = n - EOCD_SIZE > MAX_COMMENT ? n - EOCD_SIZE - MAX_COMMENT : 0, e = n - EOCD_SIZE + 1;
  do {
    if (e-- == lo) return wmfi_fail(WMF_ERR_CORRUPT, "%s: zip end-of-central-directory record not found", w->origin);
  } while (memcmp(d + e, "PK\x05\x06", 4) != 0 || (size_t)wmfi_le16(d + e + 20) > n - e - EOCD_SIZE);
  if (wmfi_le16(d + e + 4) != 0 || wmfi_le16(d + e + 6) != 0)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: multi-disk zip files are not supported", w->origin);
  *count = wmfi_le16(d + e + 10);
  *cd_size = wmfi_le32(d + e + 12);
  *cd_off = wmfi_le32(d + e + 16);
  *cd_end_limit = e;
  if (*count != ZIP64_16 && *cd_size != ZIP64_32 && *cd_off != ZIP64_32) return WMF_OK;
  /* ZIP64: a locator just before the record points at the ZIP64 end record */
  if (e < ZIP64_LOCATOR_SIZE || memcmp(d + e - ZIP64_LOCATOR_SIZE, "PK\x06\x07", 4) != 0)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: zip needs ZIP64 records but has no ZIP64 locator", w->origin);
  size_t locator = e - ZIP64_LOCATOR_SIZE;
  uint64_t z = wmfi_le64(d + locator + 8);
  if (z > locator || locator - z < ZIP64_EOCD_SIZE || memcmp(d + z, "PK\x06\x06", 4) != 0)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: ZIP64 end record offset %llu is invalid", w->origin, (unsigned long long)z);
  *count = wmfi_le64(d + z + 32);
  *cd_size = wmfi_le64(d + z + 40);
  *cd_off = wmfi_le64(d + z + 48);
  *cd_end_limit = z;
  return WMF_OK;
}

/* Values that did not fit 32 bits sit, in this order, in the ZIP64 extra field (id 1). */
static wmf_status zip64_extra(wmf_weights *w, const uint8_t *x, size_t xl, uint64_t *usize, uint64_t *csize,
                              uint64_t *hdr) {
  bool need = *usize == ZIP64_32 || *csize == ZIP64_32 || *hdr == ZIP64_32;
  while (xl >= 4) {
    uint16_t id = wmfi_le16(x), len = wmfi_le16(x + 2);
    if (len > xl - 4) break;
    if (id == 1) {
      const uint8_t *p = x + 4;
      size_t left = len;
      uint64_t *fields[3] = {usize, csize, hdr};
      for (int i = 0; i < 3; i++)
        if (*fields[i] == ZIP64_32) {
          if (left < 8) return wmfi_fail(WMF_ERR_CORRUPT, "%s: short ZIP64 extra field", w->origin);
          *fields[i] = wmfi_le64(p);
          p += 8;
          left -= 8;
        }
      return WMF_OK;
    }
    x += 4 + len;
    xl -= 4 + len;
  }
  return need ? wmfi_fail(WMF_ERR_CORRUPT, "%s: zip entry needs a ZIP64 extra field and has none", w->origin) : WMF_OK;
}

static int by_header(const void *a, const void *b) {
  const zentry *x = a, *y = b;
  return x->header < y->header ? -1 : x->header > y->header;
}

/* The entry named prefix + rest, or NULL. */
static const zentry *find_entry(const zentry *es, const wmfi_index *ix, const char *prefix, size_t pl,
                                const char *rest, size_t rl) {
  uint64_t h = wmfi_index_hash2(prefix, pl, rest, rl);
  for (size_t c = SIZE_MAX, i; (i = wmfi_index_next(ix, h, &c)) != SIZE_MAX;)
    if (es[i].name_len == pl + rl && memcmp(es[i].name, prefix, pl) == 0 && memcmp(es[i].name + pl, rest, rl) == 0)
      return &es[i];
  return NULL;
}

/* Reads the central directory into *out (count_out entries) and indexes the names in *ix (which the
 * caller frees, also on failure). Two entries with one name are refused: readers disagree on which one
 * counts (torch.load reads the last). */
static wmf_status read_directory(wmf_weights *w, const uint8_t *d, size_t n, zentry **out, size_t *count_out,
                                 wmfi_index *ix) {
  wmf_status st = WMF_OK;
  zentry *es = NULL, *sorted = NULL;
  uint64_t count = 0, cd_off = 0, cd_size = 0, cd_limit = 0;
  WMFI_TRY(find_eocd(w, d, n, &count, &cd_off, &cd_size, &cd_limit));
  WMFI_CHECK(cd_off <= cd_limit && cd_size <= cd_limit - cd_off, WMF_ERR_CORRUPT,
             "%s: zip central directory [%llu, +%llu) is outside the file", w->origin, (unsigned long long)cd_off,
             (unsigned long long)cd_size);
  WMFI_CHECK(count <= cd_size / CENTRAL_SIZE, WMF_ERR_CORRUPT, "%s: %llu zip entries cannot fit a %llu-byte central directory",
             w->origin, (unsigned long long)count, (unsigned long long)cd_size);
  es = wmfi_calloc((size_t)count + 1, sizeof *es);
  WMFI_CHECK(es, WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for %llu zip entries", w->origin, (unsigned long long)count);
  const uint8_t *p = d + cd_off, *end = p + cd_size;
  for (uint64_t i = 0; i < count; i++) {
    size_t at = (size_t)(p - d);
    WMFI_CHECK(end - p >= CENTRAL_SIZE && memcmp(p, "PK\x01\x02", 4) == 0, WMF_ERR_CORRUPT,
               "%s: bad zip central directory entry at byte %zu", w->origin, at);
    uint16_t flags = wmfi_le16(p + 8), method = wmfi_le16(p + 10), nl = wmfi_le16(p + 28), xl = wmfi_le16(p + 30),
             cl = wmfi_le16(p + 32);
    uint64_t csize = wmfi_le32(p + 20), usize = wmfi_le32(p + 24), hdr = wmfi_le32(p + 42);
    WMFI_CHECK((size_t)(end - p) - CENTRAL_SIZE >= (size_t)nl + xl + cl, WMF_ERR_CORRUPT,
               "%s: zip central directory entry at byte %zu overruns the directory", w->origin, at);
    es[i].name = (const char *)p + CENTRAL_SIZE;
    es[i].name_len = nl;
    WMFI_TRY(zip64_extra(w, p + CENTRAL_SIZE + nl, xl, &usize, &csize, &hdr));
    WMFI_CHECK(!(flags & 1) && method == 0, WMF_ERR_UNSUPPORTED,
               "%s: zip entry '%.*s' is %s; torch.save stores entries uncompressed", w->origin, (int)nl, es[i].name,
               flags & 1 ? "encrypted" : "compressed");
    WMFI_CHECK(csize == usize, WMF_ERR_CORRUPT, "%s: stored zip entry '%.*s' has differing sizes", w->origin, (int)nl,
               es[i].name);
    /* the local header: its own name and extra lengths decide where the data starts */
    WMFI_CHECK(hdr <= cd_off && cd_off - hdr >= LOCAL_SIZE && memcmp(d + hdr, "PK\x03\x04", 4) == 0, WMF_ERR_CORRUPT,
               "%s: zip entry '%.*s': local header at byte %llu is missing or outside the file", w->origin, (int)nl,
               es[i].name, (unsigned long long)hdr);
    uint64_t lnl = wmfi_le16(d + hdr + 26), lxl = wmfi_le16(d + hdr + 28), data = hdr + LOCAL_SIZE + lnl + lxl;
    WMFI_CHECK(data <= cd_off && usize <= cd_off - data, WMF_ERR_CORRUPT,
               "%s: zip entry '%.*s' data [%llu, +%llu) runs past the central directory", w->origin, (int)nl,
               es[i].name, (unsigned long long)data, (unsigned long long)usize);
    WMFI_CHECK(lnl == nl && memcmp(d + hdr + LOCAL_SIZE, es[i].name, nl) == 0, WMF_ERR_CORRUPT,
               "%s: zip entry '%.*s': local header at byte %llu names another file", w->origin, (int)nl, es[i].name,
               (unsigned long long)hdr);
    es[i].header = hdr;
    es[i].data = data;
    es[i].size = usize;
    p += CENTRAL_SIZE + nl + xl + cl;
    const zentry *twin = find_entry(es, ix, es[i].name, nl, "", 0);
    WMFI_CHECK(!twin, WMF_ERR_CORRUPT, "%s: the zip holds two entries named '%.*s' (at bytes %llu and %llu)",
               w->origin, (int)nl, es[i].name, (unsigned long long)twin->header, (unsigned long long)hdr);
    WMFI_CHECK(wmfi_index_add(ix, wmfi_index_hash(es[i].name, nl), (size_t)i), WMF_ERR_OUT_OF_MEMORY,
               "%s: out of memory for the zip entry index", w->origin);
  }
  /* entries may not overlap: each one's data ends before the next local header */
  WMFI_ALLOC(sorted, wmfi_alloc_array((size_t)count + 1, sizeof *sorted), w->origin);
  if (count) memcpy(sorted, es, (size_t)count * sizeof *es);
  qsort(sorted, (size_t)count, sizeof *sorted, by_header);
  for (uint64_t i = 1; i < count; i++)
    WMFI_CHECK(sorted[i].header >= sorted[i - 1].data + sorted[i - 1].size, WMF_ERR_CORRUPT,
               "%s: zip entries '%.*s' and '%.*s' overlap", w->origin, (int)sorted[i - 1].name_len, sorted[i - 1].name,
               (int)sorted[i].name_len, sorted[i].name);
  *out = es;
  *count_out = (size_t)count;
  es = NULL;
done:
  wmfi_free(sorted);
  wmfi_free(es);
  return st;
}

wmf_status wmfi_weights_parse_zip(wmf_weights *w, const uint8_t *d, size_t n, const wmf_weights_options *opt) {
  wmf_status st = WMF_OK;
  zentry *es = NULL;
  size_t count = 0;
  wmfi_index ix = {0};
  wmfi_pickle *pk = NULL;
  WMFI_TRY(read_directory(w, d, n, &es, &count, &ix));
  /* the one "<name>/data.pkl" at the top level gives the archive's folder name */
  const zentry *pkl = NULL;
  size_t pl = 0;
  for (size_t i = 0; i < count; i++) {
    const char *slash = memchr(es[i].name, '/', es[i].name_len);
    if (!slash || es[i].name_len - (size_t)(slash - es[i].name) != 9 || memcmp(slash, "/data.pkl", 9) != 0) continue;
    WMFI_CHECK(!pkl, WMF_ERR_CORRUPT, "%s: the zip holds two top-level data.pkl entries", w->origin);
    pkl = &es[i];
    pl = (size_t)(slash - es[i].name) + 1;
  }
  WMFI_CHECK(pkl, WMF_ERR_UNSUPPORTED, "%s: a zip file without <name>/data.pkl is not a PyTorch file", w->origin);
  const zentry *bo = find_entry(es, &ix, pkl->name, pl, "byteorder", 9);
  WMFI_CHECK(!bo || (bo->size == 6 && memcmp(d + bo->data, "little", 6) == 0), WMF_ERR_UNSUPPORTED,
             "%s: byteorder '%.*s': only little-endian files are read", w->origin,
             (int)(bo->size > 16 ? 16 : bo->size), (const char *)d + bo->data);
  char what[300];
  snprintf(what, sizeof what, "%.*sdata.pkl", (int)(pl > 256 ? 256 : pl), pkl->name);
  WMFI_TRY(wmfi_pickle_create(&pk, w->origin));
  const wmfi_pv *root;
  size_t used;
  WMFI_TRY(wmfi_pickle_run(pk, d + pkl->data, (size_t)pkl->size, what, &root, &used));
  for (size_t i = 0; i < wmfi_pickle_storage_count(pk); i++) {
    wmfi_pk_storage *s = wmfi_pickle_storage(pk, i);
    char rest[300];
    int rl = snprintf(rest, sizeof rest, "data/%.*s", (int)(s->key_len > 256 ? 256 : s->key_len), s->key);
    const zentry *e = s->key_len <= 256 ? find_entry(es, &ix, pkl->name, pl, rest, (size_t)rl) : NULL;
    size_t need;
    WMFI_CHECK(e, WMF_ERR_CORRUPT, "%s: storage '%.*s' has no zip entry %.*s%s", w->origin,
               (int)(s->key_len > 64 ? 64 : s->key_len), s->key, (int)pl, pkl->name, rest);
    WMFI_CHECK(s->numel <= SIZE_MAX && wmfi_mul((size_t)s->numel, wmfi_weights_dtype_size(s->dtype), &need) &&
                   e->size >= need,
               WMF_ERR_CORRUPT, "%s: storage '%.*s' needs %llu %s elements, its entry holds %llu bytes", w->origin,
               (int)(s->key_len > 64 ? 64 : s->key_len), s->key, (unsigned long long)s->numel,
               wmf_dtype_name(s->dtype), (unsigned long long)e->size);
    s->data = d + e->data;
    s->resolved = true;
  }
  WMFI_TRY(wmfi_pickle_collect(pk, root, w, opt));
done:
  wmfi_pickle_destroy(pk);
  wmfi_free(es);
  wmfi_index_free(&ix);
  return st;
}
