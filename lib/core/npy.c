/* NumPy .npy arrays: the one reader and writer of the library (masks, the wmfeat program's feature
 * files through wmf_npy_save_f32 / wmf_npy_load_f32). Format: numpy's NEP 1, "The .npy format". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .npy code reads and writes little-endian values in place"
#endif

#define MAGIC "\x93NUMPY"
#define MAX_HEADER 65536u

static const struct {
  const char *descr;
  size_t size;
} dtypes[] = {{"'<f4'", 4}, {"'<f8'", 8}, {"'|u1'", 1}, {"'|b1'", 1}, {"'<i4'", 4}, {"'<i8'", 8}};

/* The text after `key` and its colon in a header dict, or NULL. */
static const char *dict_value(const char *h, const char *key) {
  const char *p = strstr(h, key);
  if (!p) return NULL;
  p += strlen(key);
  while (*p == ' ') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

/* Reads "(a,)", "(a)", "(a, b)" or "(a, b,)" into shape; the number of dimensions, 0 for a malformed
 * tuple, 3 for three or more. */
static size_t parse_shape(const char *s, size_t shape[2]) {
  if (*s++ != '(') return 0;
  size_t ndim = 0;
  for (;;) {
    while (*s == ' ') s++;
    if (*s == ')') return ndim;
    if (*s < '0' || *s > '9') return 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (ndim == 2) return 3;
    shape[ndim++] = (size_t)v;
    if (v > SIZE_MAX) return 0;
    s = end;
    while (*s == ' ') s++;
    if (*s == ',') s++;
    else if (*s != ')') return 0;
  }
}

wmf_status wmfi_npy_parse(wmfi_npy *out, const uint8_t *d, size_t size, const char *path, const char *fn) {
  wmf_status st = WMF_OK;
  char *h = NULL;
  *out = (wmfi_npy){0};
  WMFI_CHECK(size >= 10 && !memcmp(d, MAGIC, 6), WMF_ERR_CORRUPT, "%s: '%s': not a .npy file (magic at offset 0)", fn,
             path);
  size_t hlen, off;
  if (d[6] == 1) hlen = wmfi_le16(d + 8), off = 10;
  else if ((d[6] == 2 || d[6] == 3) && size >= 12) hlen = wmfi_le32(d + 8), off = 12;
  else WMFI_FAIL(WMF_ERR_UNSUPPORTED, "%s: '%s': .npy format version %u", fn, path, d[6]);
  WMFI_CHECK(hlen <= MAX_HEADER && hlen <= size - off, WMF_ERR_CORRUPT, "%s: '%s': header length %zu exceeds the file",
             fn, path, hlen);
  WMFI_ALLOC(h, wmfi_malloc(hlen + 1), fn);
  memcpy(h, d + off, hlen);
  h[hlen] = 0;
  const char *descr = dict_value(h, "'descr'"), *fo = dict_value(h, "'fortran_order'"), *sh = dict_value(h, "'shape'");
  WMFI_CHECK(descr && fo && sh, WMF_ERR_CORRUPT, "%s: '%s': header lacks descr, fortran_order or shape", fn, path);
  int t = -1;
  for (int i = 0; i < (int)(sizeof dtypes / sizeof *dtypes); i++)
    if (!strncmp(descr, dtypes[i].descr, strlen(dtypes[i].descr))) t = i;
  WMFI_CHECK(t >= 0, WMF_ERR_UNSUPPORTED, "%s: '%s': dtype %.12s is not one of <f4 <f8 |u1 |b1 <i4 <i8", fn, path, descr);
  WMFI_CHECK(!strncmp(fo, "False", 5), WMF_ERR_UNSUPPORTED, "%s: '%s': Fortran order", fn, path);
  size_t shape[2] = {0, 1}, ndim = parse_shape(sh, shape);
  WMFI_CHECK(ndim, WMF_ERR_CORRUPT, "%s: '%s': bad shape %.40s", fn, path, sh);
  WMFI_CHECK(ndim <= 2, WMF_ERR_UNSUPPORTED, "%s: '%s': shape %.40s has more than 2 dimensions", fn, path, sh);
  size_t count, bytes, data = off + hlen, isz = dtypes[t].size;
  WMFI_CHECK(wmfi_mul(shape[0], shape[1], &count) && wmfi_mul(count, isz, &bytes) && size - data == bytes,
             WMF_ERR_CORRUPT, "%s: '%s': %zu data bytes for %zu x %zu values of %zu bytes", fn, path, size - data,
             shape[0], shape[1], isz);
  *out = (wmfi_npy){(wmfi_npy_dtype)t, isz, ndim, {shape[0], shape[1]}, count, data, d + data};
done:
  wmfi_free(h);
  return st;
}

double wmfi_npy_value(const wmfi_npy *a, size_t i) {
  const uint8_t *p = a->data + i * a->item_size;
  switch (a->dtype) {
  case WMFI_NPY_F4: { float f; memcpy(&f, p, 4); return f; }
  case WMFI_NPY_F8: { double v; memcpy(&v, p, 8); return v; }
  case WMFI_NPY_I4: return (int32_t)wmfi_le32(p);
  case WMFI_NPY_I8: return (double)(int64_t)wmfi_le64(p);
  default: return *p; /* |u1 and |b1 */
  }
}

wmf_status wmfi_npy_write_f32(const char *path, const float *data, size_t ndim, const size_t shape[2], const char *fn) {
  size_t count, bytes;
  if (!wmfi_mul(shape[0], ndim == 2 ? shape[1] : 1, &count) || !wmfi_mul(count, sizeof(float), &bytes))
    return wmfi_fail(WMF_ERR_LIMIT, "%s: '%s': %zu x %zu values overflow", fn, path, shape[0], ndim == 2 ? shape[1] : 1);
  char head[192];
  int dl = ndim == 2 ? snprintf(head + 10, 128, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                                shape[0], shape[1])
                     : snprintf(head + 10, 128, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", shape[0]);
  size_t pad = (64 - (10 + (size_t)dl + 1) % 64) % 64, hlen = (size_t)dl + pad + 1; /* 64-byte aligned data */
  memcpy(head, MAGIC "\x01\x00", 8);
  wmfi_put_le16((uint8_t *)head + 8, (uint16_t)hlen);
  memset(head + 10 + dl, ' ', pad);
  head[10 + hlen - 1] = '\n';
  wmfi_part parts[2] = {{head, 10 + hlen}, {data, bytes}};
  return wmfi_write_parts_atomic(path, parts, 2);
}

/* ---- the public API ---- */

wmf_status wmf_npy_save_f32(const char *path, const float *data, size_t rows, size_t cols) {
  WMFI_REQUIRE(path && (data || !rows || !cols), "wmf_npy_save_f32: NULL argument");
  size_t shape[2] = {rows, cols};
  return wmfi_npy_write_f32(path, data, 2, shape, "wmf_npy_save_f32");
}

wmf_status wmf_npy_load_f32(float *out, size_t out_len, size_t *out_rows, size_t *out_cols, const char *path) {
  static const char fn[] = "wmf_npy_load_f32";
  WMFI_REQUIRE(out_rows && out_cols && path, "%s: NULL argument", fn);
  *out_rows = *out_cols = 0;
  wmfi_file f = {0};
  wmfi_npy a;
  wmf_status st = WMF_OK;
  WMFI_TRY(wmfi_file_open(&f, path));
  WMFI_TRY(wmfi_npy_parse(&a, f.data, f.size, path, fn));
  WMFI_CHECK(a.ndim == 2 && a.dtype == WMFI_NPY_F4, WMF_ERR_UNSUPPORTED,
             "%s: '%s' holds a %zu-D array of %s; this reads 2-D float32 ('<f4')", fn, path, a.ndim,
             dtypes[a.dtype].descr);
  *out_rows = a.shape[0], *out_cols = a.shape[1];
  if (out) {
    WMFI_CHECK(out_len >= a.count, WMF_ERR_BUFFER_TOO_SMALL, "%s: buffer of %zu for the %zu x %zu values of '%s'", fn,
               out_len, a.shape[0], a.shape[1], path);
    memcpy(out, a.data, a.count * sizeof(float));
  }
done:
  wmfi_file_close(&f);
  return st;
}
