/* libwmfeat weight files: safetensors and PyTorch .pth (zip and legacy), read without running any code.
 * Include <wmfeat.h>.
 *
 * Thread safety: an opened wmf_weights is read-only; any number of threads may query it and read
 * tensors from it at once. Destroy it only when no thread uses it (a wmf_model keeps no reference).
 */
#ifndef WMFEAT_WEIGHTS_H
#define WMFEAT_WEIGHTS_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/weights.h>."
#endif
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Element types a weight file can hold. */
typedef enum wmf_dtype {
  WMF_DTYPE_F32 = 0,
  WMF_DTYPE_F16 = 1,
  WMF_DTYPE_BF16 = 2,
  WMF_DTYPE_F64 = 3,
  WMF_DTYPE_I64 = 4,
  WMF_DTYPE_I32 = 5,
  WMF_DTYPE_I16 = 6,
  WMF_DTYPE_I8 = 7,
  WMF_DTYPE_U8 = 8,
  WMF_DTYPE_BOOL = 9
} wmf_dtype;

/** Static name of a dtype ("F32", "BF16", ...; "?" for an unknown value). */
WMF_API const char *wmf_dtype_name(wmf_dtype dtype);

#define WMF_MAX_DIMS 8

/** Description of one tensor. `name` is borrowed from the wmf_weights and lives as long as it. */
typedef struct wmf_tensor_info {
  const char *name;
  wmf_dtype dtype;
  uint32_t ndim;
  int64_t shape[WMF_MAX_DIMS];
  uint64_t numel; /**< product of the shape (1 for a scalar) */
} wmf_tensor_info;

/** Options for wmf_weights_open(). */
typedef struct wmf_weights_options {
  uint32_t struct_size;       /**< sizeof(wmf_weights_options), set by WMF_WEIGHTS_OPTIONS_INIT */
  const char *state_dict_key; /**< checkpoint key holding the state_dict; NULL: chosen by content: the
                                   pickled dict itself when it holds tensors, unless one of its values is a
                                   dict holding more tensors (a training checkpoint such as {"state_dict":
                                   ..., "best_acc1": tensor, "epoch": 90}): then the value holding the
                                   most; equal counts prefer "state_dict", "model", "model_state_dict",
                                   "net", "network", "module", then file order */
} wmf_weights_options;
#define WMF_WEIGHTS_OPTIONS_INIT {sizeof(wmf_weights_options), NULL}

/** Fills `*options` with the defaults (as WMF_WEIGHTS_OPTIONS_INIT) and sets its struct_size, for callers that cannot
 *  use the macro (bindings). `struct_size` is the size of the caller's struct, sizeof(wmf_weights_options) of the
 *  header it was built with: any size from the 1.0 size up is accepted, only the fields that size
 *  covers are written, and bytes beyond the fields this version knows are zeroed.
 *  Returns WMF_OK, or WMF_ERR_INVALID_ARGUMENT (NULL, or a size below the 1.0 size). Thread-safe.
 *  Since 1.1. */
WMF_API wmf_status wmf_weights_options_init(wmf_weights_options *options, size_t struct_size);

/** Opens a weight file, detecting its format from the content: safetensors, PyTorch zip (torch.save
 *  since 1.6) or PyTorch legacy (before 1.6). Pickles are read by a restricted unpickler that executes
 *  nothing. Tensor names are normalized (DataParallel's "module." stripped, torchvision's legacy
 *  DenseNet names and timm's VGG head names mapped to torchvision's; "num_batches_tracked" dropped;
 *  see docs/weights.md). `options` may be NULL.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_CORRUPT (malformed, truncated,
 *  out-of-range offsets; the message gives the byte offset or tensor), WMF_ERR_UNSUPPORTED (unknown
 *  format, big-endian, an opcode outside the accepted set), WMF_ERR_FORBIDDEN (a pickle global outside
 *  the allowed list; the message names it), WMF_ERR_LIMIT, WMF_ERR_NOT_FOUND (state_dict_key absent),
 *  WMF_ERR_OUT_OF_MEMORY. *out is owned by the caller. Thread-safe. */
WMF_API wmf_status wmf_weights_open(wmf_weights **out, const char *path,
                                    const wmf_weights_options *options);

/** Like wmf_weights_open() on `size` bytes in memory, which are copied. Same statuses less WMF_ERR_IO. */
WMF_API wmf_status wmf_weights_open_memory(wmf_weights **out, const void *data, size_t size,
                                           const wmf_weights_options *options);

/** Frees the weights and unmaps the file; NULL is accepted. */
WMF_API void wmf_weights_destroy(wmf_weights *weights);

/** Static name of the detected format: "safetensors", "pytorch-zip" or "pytorch-legacy". */
WMF_API const char *wmf_weights_format(const wmf_weights *weights);

/** Number of tensors (0 for NULL). Thread-safe. Since 1.1. */
WMF_API size_t wmf_weights_tensor_count(const wmf_weights *weights);

/** Older name of wmf_weights_tensor_count, kept for 1.0. */
WMF_API size_t wmf_weights_count(const wmf_weights *weights);

/** Describes tensor `index` (0 <= index < wmf_weights_tensor_count()) in file order.
 *  Returns WMF_OK or WMF_ERR_INVALID_ARGUMENT. */
WMF_API wmf_status wmf_weights_info(const wmf_weights *weights, size_t index, wmf_tensor_info *out);

/** Finds a tensor by (normalized) name. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_NOT_FOUND. */
WMF_API wmf_status wmf_weights_find(const wmf_weights *weights, const char *name, size_t *index);

/** Converts tensor `name` (F32, F16, BF16 or F64) to float into `dst`, C-contiguous in its shape.
 *  `capacity` is dst's size in floats and must be at least numel.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_NOT_FOUND, WMF_ERR_BUFFER_TOO_SMALL,
 *  WMF_ERR_UNSUPPORTED (another dtype; the message names the tensor). Thread-safe. */
WMF_API wmf_status wmf_weights_get_f32(const wmf_weights *weights, const char *name, float *dst,
                                       size_t capacity);

/** The value of `key` in a safetensors file's `__metadata__` (e.g. "format"), or NULL if absent, for
 *  other formats, or for NULL arguments. Borrowed: lives as long as `weights`. Thread-safe. */
WMF_API const char *wmf_weights_metadata(const wmf_weights *weights, const char *key);

/** A fingerprint of the tensors: 16 lowercase hex digits (a 64-bit hash, not cryptographic) of every
 *  tensor's normalized name, dtype, shape and element bytes, in name order, written into `out`
 *  (capacity >= 17). The same state_dict gives the same value whatever the container (safetensors,
 *  PyTorch zip or legacy) or tensor order; any changed value, dtype or shape changes it. Used for the
 *  "weights" field of an audit's provenance (docs/audit.md). Reads every byte of the tensors (0.08 s
 *  for ResNet-18's 47 MB on a loaded 2-core machine, so about 0.2 s for ResNet-50). Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, capacity < 17), WMF_ERR_IO (the file
 *  shrank on disk), WMF_ERR_OUT_OF_MEMORY. Thread-safe. */
WMF_API wmf_status wmf_weights_fingerprint(char *out, size_t capacity, const wmf_weights *weights);

#ifdef __cplusplus
}
#endif
#endif
