/* libwmfeat images: decode, wrap, resize, crop, normalize, encode. Include <wmfeat.h>.
 *
 * A wmf_image always holds 8-bit RGB pixels, rows tightly packed (stride = 3 * width). Any image the
 * library creates has sides of at most 1,048,576 (2^20) pixels and at most 2^30 pixels in all; larger
 * requests return WMF_ERR_LIMIT.
 * Thread safety: functions taking a const wmf_image may run concurrently on the same image; an image
 * being modified (watermark applied, pixels written) must not be read by another thread at that time.
 */
#ifndef WMFEAT_IMAGE_H
#define WMFEAT_IMAGE_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/image.h>."
#endif
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Pixel layouts accepted by wmf_image_from_pixels(); the value is the bytes per pixel. */
typedef enum wmf_pixel_format {
  WMF_PIXEL_GRAY8 = 1,
  WMF_PIXEL_RGB8 = 3,
  WMF_PIXEL_RGBA8 = 4 /**< alpha is dropped (not composited) */
} wmf_pixel_format;

/** Limits checked on the image header before any pixel is decoded. */
typedef struct wmf_decode_options {
  uint32_t struct_size; /**< sizeof(wmf_decode_options), set by WMF_DECODE_OPTIONS_INIT */
  uint32_t max_width;   /**< widest accepted image, default 16384 */
  uint32_t max_height;  /**< tallest accepted image, default 16384 */
  uint64_t max_pixels;  /**< largest width * height, default 64 Mpx */
} wmf_decode_options;
#define WMF_DECODE_OPTIONS_INIT {sizeof(wmf_decode_options), 16384u, 16384u, 64u * 1024u * 1024u}

/** Fills `*options` with the defaults (as WMF_DECODE_OPTIONS_INIT) and sets its struct_size, for callers that cannot
 *  use the macro (bindings). `struct_size` is the size of the caller's struct, sizeof(wmf_decode_options) of the
 *  header it was built with: any size from the 1.0 size up is accepted, only the fields that size
 *  covers are written, and bytes beyond the fields this version knows are zeroed.
 *  Returns WMF_OK, or WMF_ERR_INVALID_ARGUMENT (NULL, or a size below the 1.0 size). Thread-safe.
 *  Since 1.1. */
WMF_API wmf_status wmf_decode_options_init(wmf_decode_options *options, size_t struct_size);

/** Decodes a JPEG, PNG, BMP, TGA or GIF (first frame) file into RGB. `options` may be NULL (defaults).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO (cannot read the file), WMF_ERR_CORRUPT
 *  (malformed or truncated data; the message names the file and the decoder's reason),
 *  WMF_ERR_UNSUPPORTED (unknown format), WMF_ERR_LIMIT (over a limit), WMF_ERR_OUT_OF_MEMORY.
 *  *out is owned by the caller. Thread-safe. */
WMF_API wmf_status wmf_image_load(wmf_image **out, const char *path, const wmf_decode_options *options);

/** Like wmf_image_load() from `size` bytes in memory (not retained). Same statuses, less WMF_ERR_IO. */
WMF_API wmf_status wmf_image_decode(wmf_image **out, const void *data, size_t size,
                                    const wmf_decode_options *options);

/** Copies a caller's pixel buffer of `height` rows of `stride` bytes (stride >= width * bytes per
 *  pixel) into a new RGB image; gray is replicated, RGBA's alpha dropped.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, zero size, stride too small, unknown format),
 *  WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. Thread-safe. */
WMF_API wmf_status wmf_image_from_pixels(wmf_image **out, const void *pixels, uint32_t width,
                                         uint32_t height, size_t stride, wmf_pixel_format format);

/** A new width x height image filled with one color (r, g, b).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL out, a zero side), WMF_ERR_LIMIT,
 *  WMF_ERR_OUT_OF_MEMORY. *out is owned by the caller. Thread-safe. */
WMF_API wmf_status wmf_image_create(wmf_image **out, uint32_t width, uint32_t height, uint8_t r,
                                    uint8_t g, uint8_t b);

/** A deep copy. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_OUT_OF_MEMORY. Thread-safe. */
WMF_API wmf_status wmf_image_clone(wmf_image **out, const wmf_image *image);

/** Frees an image; NULL is accepted. */
WMF_API void wmf_image_destroy(wmf_image *image);

/** Width and height in pixels (0 for NULL). */
WMF_API uint32_t wmf_image_width(const wmf_image *image);
WMF_API uint32_t wmf_image_height(const wmf_image *image);

/** The RGB8 pixels, height rows of 3 * width bytes, borrowed from the image and writable.
 *  NULL for NULL. */
WMF_API uint8_t *wmf_image_pixels(wmf_image *image);

/** Resampling filters; both antialias when shrinking, as PIL and torchvision (antialias=True) do. */
typedef enum wmf_filter {
  WMF_FILTER_BILINEAR = 0,
  WMF_FILTER_BICUBIC = 1
} wmf_filter;

/** Resizes to exactly width x height, matching PIL's Image.resize (and torchvision's Resize on PIL
 *  images) bit for bit: same filter supports, antialiasing and fixed-point rounding.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, a zero side, unknown filter), WMF_ERR_LIMIT,
 *  WMF_ERR_OUT_OF_MEMORY. *out is owned by the caller. Thread-safe. */
WMF_API wmf_status wmf_image_resize(wmf_image **out, const wmf_image *image, uint32_t width,
                                    uint32_t height, wmf_filter filter);

/** Resizes so the shorter side is `size` (> 0) and the aspect ratio is kept, exactly as torchvision's
 *  Resize(size) computes the longer side: int(size * long / short). Same statuses as
 *  wmf_image_resize(). */
WMF_API wmf_status wmf_image_resize_shorter(wmf_image **out, const wmf_image *image, uint32_t size,
                                            wmf_filter filter);

/** Crops the centered width x height window, placed as torchvision's CenterCrop places it (offset
 *  int(round((H - h) / 2.0)), halves rounded to even as Python does); a window larger than the image
 *  is an error (WMF_ERR_INVALID_ARGUMENT), not padding.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_OUT_OF_MEMORY. Thread-safe. */
WMF_API wmf_status wmf_image_center_crop(wmf_image **out, const wmf_image *image, uint32_t width,
                                         uint32_t height);

/** Per-channel normalization: value = (pixel / 255 - mean[c]) / std[c]. */
typedef struct wmf_normalize {
  float mean[3];
  float std[3];
} wmf_normalize;
/** ImageNet's mean and std, the default wherever a wmf_normalize pointer may be NULL. */
#define WMF_NORMALIZE_IMAGENET {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}}

/** Writes the image as planar float (C x H x W, C = 3) into slot `slot` of a caller's NCHW batch buffer
 *  of `capacity` floats: values go to batch[slot * 3 * H * W ...], computed in float32 exactly as
 *  torchvision's ToTensor + Normalize. `norm` may be NULL (ImageNet).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL image or batch, a non-finite mean or std, a zero
 *  std), WMF_ERR_BUFFER_TOO_SMALL (slot does not fit). Thread-safe for distinct slots. */
WMF_API wmf_status wmf_image_to_tensor(const wmf_image *image, const wmf_normalize *norm, float *batch,
                                       size_t capacity, size_t slot);

/** torchvision's evaluation preprocessing in one call: Resize(resize) (bilinear, antialiased),
 *  CenterCrop(crop), ToTensor, Normalize(norm), written into slot `slot` of `batch` (capacity in
 *  floats; the slot holds 3 * crop * crop floats). Only the crop window of the resized image is
 *  computed; the result is identical to the separate calls. ResNet-style weights use resize 256,
 *  crop 224 (torchvision's ResNet-50 V2 weights: 232, 224). For bicubic weights use
 *  wmf_image_resize_shorter(), wmf_image_center_crop() and wmf_image_to_tensor().
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, zero resize or crop, crop larger than the resized
 *  image, bad norm), WMF_ERR_BUFFER_TOO_SMALL, WMF_ERR_LIMIT (resized image over the caps),
 *  WMF_ERR_OUT_OF_MEMORY. Thread-safe for distinct slots. */
WMF_API wmf_status wmf_preprocess(const wmf_image *image, uint32_t resize, uint32_t crop,
                                  const wmf_normalize *norm, float *batch, size_t capacity,
                                  size_t slot);

/** Writes the image as PNG or JPEG, chosen by the extension (.png, .jpg, .jpeg; case-insensitive).
 *  `jpeg_quality` is 1..100 (ignored for PNG). The file is written beside its final name and renamed,
 *  so a failure never leaves a partial file. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT,
 *  WMF_ERR_UNSUPPORTED (other extension), WMF_ERR_LIMIT (over 2^30 bytes of pixels, stb's limit),
 *  WMF_ERR_OUT_OF_MEMORY, WMF_ERR_IO. Thread-safe. */
WMF_API wmf_status wmf_image_save(const wmf_image *image, const char *path, int jpeg_quality);

#ifdef __cplusplus
}
#endif
#endif
