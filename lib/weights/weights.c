/* The tensor table, format detection, and conversion of stored elements to float. */
#include <stddef.h>
#include <string.h>
#include <stdio.h>

#include "weights/weights_internal.h"

static const char *const dtype_names[] = {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8",
                                          "BOOL"};
static const size_t dtype_sizes[] = {4, 2, 2, 8, 8, 4, 2, 1, 1, 1};

const char *wmf_dtype_name(wmf_dtype dtype) {
  return (unsigned)dtype < sizeof dtype_names / sizeof *dtype_names ? dtype_names[dtype] : "?";
}

size_t wmfi_weights_dtype_size(wmf_dtype dtype) {
  return (unsigned)dtype < sizeof dtype_sizes / sizeof *dtype_sizes ? dtype_sizes[dtype] : 0;
}

wmf_status wmfi_weights_add(wmf_weights *w, const char *name, size_t len, wmf_dtype dtype, uint32_t ndim,
                            const int64_t *shape, const int64_t *stride, const uint8_t *data) {
  if (ndim > WMF_MAX_DIMS)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: tensor '%.*s' has %u dimensions (at most %d)", w->origin,
                     (int)(len > 200 ? 200 : len), name, ndim, WMF_MAX_DIMS);
  if (memchr(name, 0, len))
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: a tensor name contains a NUL byte", w->origin);
  size_t bad;
  const char *why;
  if (!wmfi_utf8_check(name, len, &bad, &why))
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: the name of tensor %zu is not valid UTF-8 (%s at byte %zu of the name)",
                     w->origin, w->count, why, bad);
  /* contiguous strides of the non-zero dimensions: a zero dimension makes the element count 0, so the
   * callers' overflow check of the count does not cover them */
  int64_t run = 1;
  for (int i = (int)ndim - 1; i >= 0; i--)
    if (shape[i] < 0 || __builtin_mul_overflow(run, shape[i] ? shape[i] : 1, &run))
      return wmfi_fail(WMF_ERR_LIMIT, "%s: tensor '%.*s': the sizes of its non-empty dimensions overflow 64 bits",
                       w->origin, (int)(len > 200 ? 200 : len), name);
  if (w->count == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    wmfi_tensor *t = wmfi_alloc_array(cap, sizeof *t);
    if (!t) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for the tensor table", w->origin);
    if (w->count) memcpy(t, w->tensors, w->count * sizeof *t);
    wmfi_free(w->tensors);
    w->tensors = t;
    w->cap = cap;
  }
  wmfi_tensor *t = &w->tensors[w->count];
  memset(t, 0, sizeof *t);
  t->name = wmfi_malloc(len + 1);
  if (!t->name) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for a tensor name", w->origin);
  memcpy(t->name, name, len);
  t->name[len] = 0;
  t->dtype = dtype;
  t->ndim = ndim;
  t->numel = 1;
  run = 1;
  for (int i = (int)ndim - 1; i >= 0; i--) {
    t->shape[i] = shape[i];
    t->stride[i] = stride ? stride[i] : run;
    run *= shape[i] ? shape[i] : 1; /* checked above */
    t->numel *= (uint64_t)shape[i];
  }
  t->data = data;
  w->count++;
  return WMF_OK;
}

/* Format detection from the content, then the parser, then name normalization. Takes ownership of
 * nothing: w->file or w->copy already hold the bytes. */
static wmf_status parse_any(wmf_weights *w, const uint8_t *d, size_t n, const wmf_weights_options *opt) {
  static const uint8_t legacy_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                         0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  wmf_status st;
  if (n >= 4 && memcmp(d, "PK\x03\x04", 4) == 0) {
    w->format = "pytorch-zip";
    st = wmfi_weights_parse_zip(w, d, n, opt);
  } else if (n >= sizeof legacy_magic && memcmp(d, legacy_magic, sizeof legacy_magic) == 0) {
    w->format = "pytorch-legacy";
    st = wmfi_weights_parse_legacy(w, d, n, opt);
  } else if (n >= 9 && d[8] == '{') {
    w->format = "safetensors";
    st = wmfi_weights_parse_safetensors(w, d, n);
  } else {
    return wmfi_fail(WMF_ERR_UNSUPPORTED,
                     "%s: not a weight file this library reads (safetensors, PyTorch zip or legacy .pth)",
                     w->origin);
  }
  return st ? st : wmfi_weights_normalize(w);
}

#define WMFI_WEIGHTS_OPTIONS_SIZE_1_0 WMFI_SIZE_THROUGH(wmf_weights_options, state_dict_key)

WMFI_DEFINE_OPTIONS_INIT(wmf_weights_options_init, wmf_weights_options, WMF_WEIGHTS_OPTIONS_INIT, WMFI_WEIGHTS_OPTIONS_SIZE_1_0)

/* Parses the bytes `w` holds and hands it to *out; destroys it on failure. */
static wmf_status open_common(wmf_weights **out, wmf_weights *w, const char *fn, const wmf_weights_options *options) {
  wmf_status st = WMF_OK;
  wmf_weights_options o = WMF_WEIGHTS_OPTIONS_INIT;
  WMFI_TRY(wmfi_options_read(&o, sizeof o, options, WMFI_WEIGHTS_OPTIONS_SIZE_1_0, fn, "wmf_weights_options"));
  const uint8_t *d = w->copy ? w->copy : w->file.data;
  size_t n = w->copy ? (size_t)w->file.size : w->file.size;
  WMFI_TRY(parse_any(w, d, n, &o));
  if (w->file.mapped && w->file.has_fd) {
    /* tensors are read with pread from now on: a file truncated on disk while open is then an error
     * (WMF_ERR_IO) instead of SIGBUS, and the mapping's pages are not kept beside the model */
    uintptr_t lo = (uintptr_t)w->file.data, hi = lo + w->file.size;
    for (size_t i = 0; i < w->count; i++) {
      wmfi_tensor *t = &w->tensors[i];
      uintptr_t p = (uintptr_t)t->data;
      if (p >= lo && p <= hi) {
        t->offset = p - lo;
        t->data = NULL;
      }
    }
    wmfi_file_unmap(&w->file);
  }
  *out = w;
  w = NULL;
done:
  wmf_weights_destroy(w);
  return st;
}

wmf_status wmf_weights_open(wmf_weights **out, const char *path, const wmf_weights_options *options) {
  WMFI_REQUIRE(out, "wmf_weights_open: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(path, "wmf_weights_open: path is NULL");
  wmf_status st = WMF_OK;
  wmf_weights *w = NULL;
  WMFI_ALLOC(w, wmfi_calloc(1, sizeof *w), "wmf_weights_open");
  WMFI_TRY(wmfi_file_open_fd(&w->file, path)); /* a failed open leaves nothing for destroy to close */
  WMFI_ALLOC(w->origin, wmfi_strdup(path), "wmf_weights_open");
  st = open_common(out, w, "wmf_weights_open", options);
  w = NULL; /* open_common's */
done:
  wmf_weights_destroy(w);
  return st;
}

wmf_status wmf_weights_open_memory(wmf_weights **out, const void *data, size_t size,
                                   const wmf_weights_options *options) {
  WMFI_REQUIRE(out, "wmf_weights_open_memory: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(data || size == 0, "wmf_weights_open_memory: data is NULL");
  wmf_status st = WMF_OK;
  wmf_weights *w = NULL;
  WMFI_ALLOC(w, wmfi_calloc(1, sizeof *w), "wmf_weights_open_memory");
  w->copy = wmfi_malloc(size);
  w->origin = wmfi_strdup("<memory>");
  WMFI_CHECK(w->copy && w->origin, WMF_ERR_OUT_OF_MEMORY, "wmf_weights_open_memory: cannot copy %zu bytes", size);
  if (size) memcpy(w->copy, data, size);
  w->file.size = size; /* the length of `copy`; file.data stays NULL so nothing is unmapped */
  st = open_common(out, w, "wmf_weights_open_memory", options);
  w = NULL; /* open_common's */
done:
  wmf_weights_destroy(w);
  return st;
}

void wmf_weights_destroy(wmf_weights *w) {
  if (!w) return;
  for (size_t i = 0; i < w->count; i++) wmfi_free(w->tensors[i].name);
  wmfi_free(w->tensors);
  wmfi_free(w->sorted);
  for (size_t i = 0; i < w->meta_count; i++) {
    wmfi_free(w->meta[i].key);
    wmfi_free(w->meta[i].value);
  }
  wmfi_free(w->meta);
  if (w->copy)
    wmfi_free(w->copy);
  else
    wmfi_file_close(&w->file);
  wmfi_free((void *)w->origin);
  wmfi_free(w);
}

const char *wmf_weights_format(const wmf_weights *w) { return w && w->format ? w->format : "?"; }

size_t wmf_weights_count(const wmf_weights *w) { return w ? w->count : 0; }

wmf_status wmf_weights_info(const wmf_weights *w, size_t index, wmf_tensor_info *out) {
  WMFI_REQUIRE(w && out, "wmf_weights_info: NULL argument");
  WMFI_REQUIRE(index < w->count, "wmf_weights_info: index %zu out of range (%zu tensors)", index, w->count);
  const wmfi_tensor *t = &w->tensors[index];
  memset(out, 0, sizeof *out);
  out->name = t->name;
  out->dtype = t->dtype;
  out->ndim = t->ndim;
  for (uint32_t i = 0; i < t->ndim; i++) out->shape[i] = t->shape[i];
  out->numel = t->numel;
  return WMF_OK;
}

wmf_status wmf_weights_find(const wmf_weights *w, const char *name, size_t *index) {
  WMFI_REQUIRE(w && name && index, "wmf_weights_find: NULL argument");
  size_t lo = 0, hi = w->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(w->tensors[w->sorted[mid]].name, name);
    if (c == 0) {
      *index = w->sorted[mid];
      return WMF_OK;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return wmfi_fail(WMF_ERR_NOT_FOUND, "%s: no tensor named '%s'", w->origin, name);
}

const char *wmf_weights_metadata(const wmf_weights *w, const char *key) {
  if (!w || !key) return NULL;
  for (size_t i = 0; i < w->meta_count; i++)
    if (strcmp(w->meta[i].key, key) == 0) return w->meta[i].value;
  return NULL;
}

/* Exact widening conversions, done on bit patterns so subnormals, infinities and NaN payloads come
 * out as IEEE 754 defines them. */
static float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    /* inf; or NaN keeping its payload, made quiet as IEEE 754 conversions (and F16C, torch) do */
    bits = sign | 0x7f800000u | man << 13 | (man ? 0x00400000u : 0);
  } else if (exp) {
    bits = sign | (exp + 112) << 23 | man << 13;
  } else if (man == 0) {
    bits = sign;
  } else { /* subnormal half: normalize, every one is a normal float */
    int e = 113;
    while (!(man & 0x400)) {
      man <<= 1;
      e--;
    }
    bits = sign | (uint32_t)e << 23 | (man & 0x3ff) << 13;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static float load_f32(const uint8_t *p, wmf_dtype dt) {
  float f;
  uint32_t bits;
  double d;
  switch (dt) {
  case WMF_DTYPE_F32:
    memcpy(&f, p, 4);
    return f;
  case WMF_DTYPE_F16:
    return f16_to_f32(wmfi_le16(p));
  case WMF_DTYPE_BF16:
    bits = (uint32_t)wmfi_le16(p) << 16;
    memcpy(&f, &bits, 4);
    return f;
  default: /* F64: the C conversion rounds to nearest, as torch's .float() does */
    memcpy(&d, p, 8);
    return (float)d;
  }
}

/* Copies one strided tensor. Dimensions of size 1 are dropped and dimensions that are contiguous
 * with their inner neighbour merged first, so a C-contiguous tensor is one long row (a 1x1 convolution's
 * weight would otherwise be millions of one-element rows); the rows are then walked with an index
 * counter. */
static void convert(const wmfi_tensor *t, float *dst) {
  size_t es = wmfi_weights_dtype_size(t->dtype);
  if (t->numel == 0) return;
  int64_t shape[WMF_MAX_DIMS], stride[WMF_MAX_DIMS];
  int nd = 0;
  for (uint32_t i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 1) continue;
    if (nd && stride[nd - 1] == t->shape[i] * t->stride[i]) { /* merge into the previous dimension */
      shape[nd - 1] *= t->shape[i];
      stride[nd - 1] = t->stride[i];
    } else {
      shape[nd] = t->shape[i];
      stride[nd] = t->stride[i];
      nd++;
    }
  }
  if (nd == 0) { /* a scalar, or only size-1 dimensions */
    dst[0] = load_f32(t->data, t->dtype);
    return;
  }
  int last = nd - 1;
  int64_t inner = shape[last], istride = stride[last] * (int64_t)es;
  int64_t idx[WMF_MAX_DIMS] = {0};
  uint64_t rows = t->numel / (uint64_t)inner;
  for (uint64_t r = 0; r < rows; r++) {
    const uint8_t *p = t->data;
    for (int i = 0; i < last; i++) p += idx[i] * stride[i] * (int64_t)es;
    if (t->dtype == WMF_DTYPE_F32 && istride == 4) {
      memcpy(dst, p, (size_t)inner * 4);
    } else if (t->dtype == WMF_DTYPE_BF16 && istride == 2) {
      for (int64_t j = 0; j < inner; j++) {
        uint32_t b = (uint32_t)wmfi_le16(p + 2 * j) << 16;
        memcpy(dst + j, &b, 4);
      }
    } else {
      for (int64_t j = 0; j < inner; j++) dst[j] = load_f32(p + j * istride, t->dtype);
    }
    dst += inner;
    for (int i = last - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
}

/* The bytes from the first element to the last of a tensor read from the file (strides are
 * non-negative and its extent was checked against its storage when the file was opened). */
static size_t extent_bytes(const wmfi_tensor *t) {
  uint64_t last = 0;
  for (uint32_t d = 0; d < t->ndim; d++) last += (uint64_t)(t->shape[d] - 1) * (uint64_t)t->stride[d];
  return (size_t)((last + 1) * wmfi_weights_dtype_size(t->dtype));
}

static bool c_contiguous(const wmfi_tensor *t) {
  int64_t expect = 1;
  for (uint32_t d = t->ndim; d-- > 0;) {
    if (t->shape[d] != 1 && t->stride[d] != expect) return false;
    expect *= t->shape[d];
  }
  return true;
}

wmf_status wmfi_weights_extent(const wmf_weights *w, const wmfi_tensor *t, const uint8_t **data, uint8_t **owned) {
  *owned = NULL;
  *data = t->data;
  if (t->data || t->numel == 0) return WMF_OK;
  char what[300];
  snprintf(what, sizeof what, "tensor '%.200s'", t->name);
  wmf_status st = WMF_OK;
  size_t n = extent_bytes(t);
  uint8_t *buf = wmfi_malloc(n);
  WMFI_CHECK(buf, WMF_ERR_OUT_OF_MEMORY, "%s: out of memory reading %s (%zu bytes)", w->origin, what, n);
  WMFI_TRY(wmfi_file_pread(&w->file, buf, n, t->offset, w->origin, what));
  *data = *owned = buf;
  buf = NULL;
done:
  wmfi_free(buf);
  return st;
}

/* A tensor of a parsed file: pread straight into dst when it is C-contiguous F32, else its extent
 * into a temporary buffer, converted from there. */
static wmf_status read_from_file(const wmf_weights *w, const wmfi_tensor *t, float *dst) {
  if (t->dtype == WMF_DTYPE_F32 && c_contiguous(t)) {
    char what[300];
    snprintf(what, sizeof what, "tensor '%.200s'", t->name);
    return wmfi_file_pread(&w->file, dst, (size_t)t->numel * 4, t->offset, w->origin, what);
  }
  wmfi_tensor view = *t;
  uint8_t *owned;
  wmf_status st = wmfi_weights_extent(w, t, &view.data, &owned);
  if (st == WMF_OK) convert(&view, dst);
  wmfi_free(owned);
  return st;
}

wmf_status wmf_weights_get_f32(const wmf_weights *w, const char *name, float *dst, size_t capacity) {
  WMFI_REQUIRE(w && name, "wmf_weights_get_f32: NULL argument");
  size_t i;
  wmf_status st = wmf_weights_find(w, name, &i);
  if (st) return st;
  const wmfi_tensor *t = &w->tensors[i];
  if (t->dtype != WMF_DTYPE_F32 && t->dtype != WMF_DTYPE_F16 && t->dtype != WMF_DTYPE_BF16 &&
      t->dtype != WMF_DTYPE_F64)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: tensor '%s' is %s; only F32, F16, BF16 and F64 convert to float",
                     w->origin, name, wmf_dtype_name(t->dtype));
  if (capacity < t->numel)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "%s: tensor '%s' has %llu elements, the buffer holds %zu",
                     w->origin, name, (unsigned long long)t->numel, capacity);
  WMFI_REQUIRE(dst || t->numel == 0, "wmf_weights_get_f32: dst is NULL");
  if (t->numel && !t->data) return read_from_file(w, t, dst);
  convert(t, dst);
  return WMF_OK;
}
