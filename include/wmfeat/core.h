/* libwmfeat core: status codes, error messages, allocator hooks, version. Include <wmfeat.h>. */
#ifndef WMFEAT_CORE_H
#define WMFEAT_CORE_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/core.h>."
#endif

#include <stddef.h>
#include <stdint.h>

#if defined(WMF_BUILDING) && defined(__GNUC__)
#define WMF_API __attribute__((visibility("default")))
#else
#define WMF_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define WMF_VERSION_MAJOR 1
#define WMF_VERSION_MINOR 0
#define WMF_VERSION_PATCH 0
/** The version as one number, major * 10000 + minor * 100 + patch. */
#define WMF_VERSION_NUMBER (WMF_VERSION_MAJOR * 10000 + WMF_VERSION_MINOR * 100 + WMF_VERSION_PATCH)
#define WMF_VERSION_STRING "1.0.0"

/** Result of every fallible call. 0 is success, errors are negative; numbers are never reused. */
typedef enum wmf_status {
  WMF_OK = 0,
  WMF_ERR_INVALID_ARGUMENT = -1, /**< NULL where a value is needed, a zero or out-of-range size */
  WMF_ERR_OUT_OF_MEMORY = -2,    /**< an allocation failed */
  WMF_ERR_IO = -3,               /**< a file could not be opened, read, mapped or written */
  WMF_ERR_BUFFER_TOO_SMALL = -4, /**< a caller's buffer is smaller than the result */
  WMF_ERR_CORRUPT = -5,          /**< input data is malformed or truncated */
  WMF_ERR_UNSUPPORTED = -6,      /**< valid input that this version does not handle */
  WMF_ERR_LIMIT = -7,            /**< input exceeds a configured limit (dimensions, sizes) */
  WMF_ERR_NOT_FOUND = -8,        /**< a named item (tensor, preset, class) does not exist */
  WMF_ERR_FORBIDDEN = -9,        /**< a weight file asks for something refused (an unsafe pickle global) */
  WMF_ERR_SHAPE = -10,           /**< tensors or buffers have inconsistent shapes */
  WMF_ERR_UNKNOWN_ARCH = -11,    /**< the weights match no supported architecture */
  WMF_ERR_BACKEND = -12,         /**< oneDNN, FreeType, HarfBuzz or fontconfig reported a failure */
  WMF_ERR_FONT = -13,            /**< a font is missing or lacks the characters asked for */
  WMF_ERR_UTF8 = -14,            /**< text is not valid UTF-8 */
  WMF_ERR_STATE = -15,           /**< the call is not valid in the object's current state */
  WMF_ERR_NUMERIC = -16,         /**< non-finite numbers where finite ones are required */
  WMF_ERR_MISMATCH = -17         /**< saved work comes from another run (weights, recipe, inputs, shard...):
                                      resuming or merging it would mix runs; the message names the field */
} wmf_status;

/** Static, never-NULL name of a status, e.g. "WMF_ERR_CORRUPT"; "WMF_ERR_UNKNOWN_STATUS" otherwise.
 *  Thread-safe. */
WMF_API const char *wmf_status_name(wmf_status status);

/** The message of the most recent failed call on this thread ("" if none). Borrowed: valid until the
 *  next libwmfeat call on the same thread. Thread-safe (the message is thread-local). */
WMF_API const char *wmf_last_error(void);

/** Clears this thread's error message. */
WMF_API void wmf_clear_error(void);

/** Allocator hooks. All three functions must be set; `user` is passed back unchanged. realloc follows
 *  C's contract. */
typedef struct wmf_allocator {
  void *(*malloc_fn)(void *user, size_t size);
  void *(*realloc_fn)(void *user, void *ptr, size_t size);
  void (*free_fn)(void *user, void *ptr);
  void *user;
} wmf_allocator;

/** Installs allocator hooks for the library's own allocations (dependencies keep their own), or restores
 *  the C library's with NULL. Call it before creating any object and never while objects exist: memory
 *  is freed through the hooks that were in force when the call is made.
 *  Returns WMF_OK, or WMF_ERR_INVALID_ARGUMENT if a function pointer is missing. Not thread-safe. */
WMF_API wmf_status wmf_set_allocator(const wmf_allocator *allocator);

/** The library's version string, e.g. "1.0.0" (may differ from WMF_VERSION_STRING of the headers used
 *  at compile time). Static. */
WMF_API const char *wmf_version(void);

/** The library's version as WMF_VERSION_NUMBER computes it. */
WMF_API uint32_t wmf_version_number(void);

/* ---- NumPy .npy files (since 1.1) ----
 * The feature matrices of `wmfeat extract` and `wmfeat probe`: 2-D, float32, C order, little-endian,
 * as numpy.save writes a float32 array and numpy.load reads it. */

/** Writes `rows` x `cols` float32 values (row-major: element (i, j) at data[i * cols + j]) to `path` as
 *  a .npy file (format 1.0, dtype '<f4', shape (rows, cols), header padded to 64 bytes as numpy pads
 *  it). The file is written atomically: into a temporary file beside it, then renamed over `path`, so
 *  a failure leaves any previous file in place; a device or FIFO at `path` is written into directly.
 *  `data` may be NULL when rows or cols is 0. `data` stays the caller's.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL path, or NULL data for a non-empty array),
 *  WMF_ERR_LIMIT (rows x cols overflows), WMF_ERR_OUT_OF_MEMORY, WMF_ERR_IO (the message names the
 *  file and the reason). Thread-safe (different paths). */
WMF_API wmf_status wmf_npy_save_f32(const char *path, const float *data, size_t rows, size_t cols);

/** Reads a 2-D float32 .npy file (format 1.0, 2.0 or 3.0; dtype '<f4'; C order). Sets *out_rows and
 *  *out_cols to its shape, then copies its rows x cols values (row-major) into `out` when `out` is not
 *  NULL: call it once with out = NULL to learn the size, allocate, and call again.
 *  `out_len` is the number of floats `out` holds.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL out_rows, out_cols or path), WMF_ERR_IO (cannot
 *  open or read the file), WMF_ERR_CORRUPT (not a .npy file, a malformed header, a data size that does
 *  not match the shape), WMF_ERR_UNSUPPORTED (another dtype, Fortran order, not 2-D, a newer format
 *  version), WMF_ERR_BUFFER_TOO_SMALL (out_len < rows x cols; the shape is still set),
 *  WMF_ERR_OUT_OF_MEMORY. On failure *out_rows and *out_cols are 0 unless the shape was read. The
 *  buffer stays the caller's. Thread-safe. */
WMF_API wmf_status wmf_npy_load_f32(float *out, size_t out_len, size_t *out_rows, size_t *out_cols, const char *path);

/* Opaque handles. Each has a create/open/load function and a *_destroy() that accepts NULL. */
typedef struct wmf_image wmf_image;         /**< an RGB8 image (image.h) */
typedef struct wmf_font wmf_font;           /**< a font face (watermark.h) */
typedef struct wmf_watermark wmf_watermark; /**< a watermark recipe (watermark.h) */
typedef struct wmf_weights wmf_weights;     /**< an opened weight file (weights.h) */
typedef struct wmf_model wmf_model;         /**< an immutable loaded network (model.h) */
typedef struct wmf_session wmf_session;     /**< per-thread inference state (model.h) */
typedef struct wmf_audit wmf_audit;         /**< accumulated watermark-sensitivity statistics (audit.h) */
typedef struct wmf_mask wmf_mask;           /**< a feature-channel mask (mask.h) */
typedef struct wmf_probe wmf_probe;         /**< a linear head on features (probe.h) */

#ifdef __cplusplus
}
#endif
#endif
