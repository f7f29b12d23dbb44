/* Internal header of the weights module: the tensor table every format parser fills, and the parsers'
 * entry points. Other modules use only the public wmfeat/weights.h. */
#ifndef WMF_LIB_WEIGHTS_H
#define WMF_LIB_WEIGHTS_H

#include "core/core.h"

/* One tensor of the table: a strided view into bytes owned by the wmf_weights (the mapped file, the
 * copy made by open_memory, or a buffer in `blobs`). */
typedef struct wmfi_tensor {
  char *name; /* owned, NUL-terminated, normalized */
  wmf_dtype dtype;
  uint32_t ndim;
  int64_t shape[WMF_MAX_DIMS];
  int64_t stride[WMF_MAX_DIMS]; /* in elements; C-contiguous unless the file said otherwise */
  uint64_t numel;
  const uint8_t *data; /* the first element; the strided extent was checked against its storage */
} wmfi_tensor;

typedef struct wmfi_meta {
  char *key, *value;
} wmfi_meta;

struct wmf_weights {
  const char *format; /* static */
  wmfi_file file;     /* the mapped file (wmf_weights_open) */
  uint8_t *copy;      /* the caller's bytes (wmf_weights_open_memory) */
  wmfi_tensor *tensors;
  size_t count, cap;
  size_t *sorted; /* indices ordered by name, for wmf_weights_find */
  wmfi_meta *meta;
  size_t meta_count;
  const char *origin; /* file name for messages ("<memory>") */
};

/* Bytes per element of `dtype` (0 for an invalid value). */
size_t wmfi_weights_dtype_size(wmf_dtype dtype);

/* Appends a tensor named by `name` (`len` bytes, not NUL-terminated). `stride` NULL means
 * C-contiguous. The caller has checked the extent against the storage. */
wmf_status wmfi_weights_add(wmf_weights *w, const char *name, size_t len, wmf_dtype dtype, uint32_t ndim,
                            const int64_t *shape, const int64_t *stride, const uint8_t *data);

/* Parsers: fill `w` from `data` (`size` bytes, living as long as `w`). */
wmf_status wmfi_weights_parse_safetensors(wmf_weights *w, const uint8_t *data, size_t size);
wmf_status wmfi_weights_parse_zip(wmf_weights *w, const uint8_t *data, size_t size,
                                  const wmf_weights_options *opt);
wmf_status wmfi_weights_parse_legacy(wmf_weights *w, const uint8_t *data, size_t size,
                                     const wmf_weights_options *opt);

/* Renames (module. prefixes, DenseNet legacy names, timm VGG head), drops num_batches_tracked, then
 * rejects duplicate names and builds the sorted index. */
wmf_status wmfi_weights_normalize(wmf_weights *w);

/* Reads little-endian integers from unaligned bytes. */
static inline uint16_t wmfi_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t wmfi_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t wmfi_le64(const uint8_t *p) { return wmfi_le32(p) | (uint64_t)wmfi_le32(p + 4) << 32; }

#endif
