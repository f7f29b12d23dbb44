/* Internals of the image module, for its own files and its unit tests only: the wmf_image layout,
 * allocation with the hard size caps, the stb_image / stb_image_write wrappers (stb itself is compiled
 * only in stb_impl.c, as static functions, so no stbi_ symbol leaves the library), the JPEG guard and
 * the resampler. Other modules include image/image.h. */
#ifndef WMF_LIB_IMAGE_INTERNAL_H
#define WMF_LIB_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

struct wmf_image {
  uint32_t width, height;
  uint8_t *pixels; /* height rows of 3 * width bytes, from wmfi_malloc */
};

/* Hard caps for any image the library creates (decode limits come on top): a side of at most 2^20
 * pixels and at most 2^30 pixels in all, so 3 * width * height and stb's int sizes never overflow. */
#define WMFI_IMAGE_MAX_SIDE (1u << 20)
#define WMFI_IMAGE_MAX_PIXELS (1ull << 30)

/* Checks width and height against the caps: WMF_OK, WMF_ERR_INVALID_ARGUMENT (a zero side) or
 * WMF_ERR_LIMIT, the message starting with `fn`. */
wmf_status wmfi_image_check_size(const char *fn, uint32_t width, uint32_t height);

/* A new image with uninitialized pixels; size checked as above. */
wmf_status wmfi_image_new(wmf_image **out, const char *fn, uint32_t width, uint32_t height);

/* Wraps `pixels` (width * height * 3 bytes from wmfi_malloc, ownership taken even on failure). */
wmf_status wmfi_image_adopt(wmf_image **out, uint8_t *pixels, uint32_t width, uint32_t height);

/* --- stb wrappers (stb_impl.c) --- */

/* "JPEG", "PNG", "GIF" or "BMP" when the data starts with that format's signature as stb_image
 * recognizes it, else NULL (TGA has no signature). */
const char *wmfi_image_sniff(const uint8_t *data, size_t size);

/* Reads the header: 1 with width and height set, 0 if the data is not a supported image (then
 * wmfi_image_stb_reason() says why, from the parser of the format the signature names). */
int wmfi_image_stb_info(const uint8_t *data, size_t size, int *width, int *height);

/* Decodes to RGB8 (channels 3) or RGBA8 (channels 4; opaque alpha for formats without one) allocated
 * with wmfi_malloc; NULL on failure. No single allocation of the decoder may exceed `max_alloc` bytes
 * (0: no cap); wmfi_image_stb_over_cap() then tells that this was the reason of the failure. *ran_out is set when the data ended before the decoder had what it needed. */
uint8_t *wmfi_image_stb_decode(const uint8_t *data, size_t size, int *width, int *height, size_t max_alloc,
                               int channels, bool *ran_out);
bool wmfi_image_stb_over_cap(void);
/* The last wmfi_image_stb_info or wmfi_image_stb_decode failed an allocation of the library's allocator
 * (whatever reason stb then gave). */
bool wmfi_image_stb_out_of_memory(void);

/* stb's reason for this thread's last failure (static text, never NULL). */
const char *wmfi_image_stb_reason(void);

/* Encodes RGB8 pixels into a new wmfi_malloc buffer (*out, *out_size). 0 on failure (out of memory
 * or refused sizes), 1 on success. */
int wmfi_image_stb_png(uint8_t **out, size_t *out_size, const uint8_t *pixels, int width, int height);
int wmfi_image_stb_jpeg(uint8_t **out, size_t *out_size, const uint8_t *pixels, int width, int height,
                        int quality);

/* Scans a JPEG may hold: a progressive file has about 10 (libjpeg's default script), every scan costs a
 * pass over the whole image, and stb has no bound (thousands of empty scans took a minute). */
#define WMFI_JPEG_MAX_SCANS 256
/* Checks JPEG data for what stb_image 2.27 cannot parse safely or quickly (jpeg_guard.c): NULL if stb
 * may decode it, else the reason to refuse it, with *status WMF_ERR_CORRUPT or WMF_ERR_LIMIT. */
const char *wmfi_image_jpeg_guard(const uint8_t *data, size_t size, wmf_status *status);

/* --- resampling (resample.c) --- */

/* Resizes `src` to out_w x out_h as PIL's Image.resize does, but computes only the window
 * [x0, x0 + win_w) x [y0, y0 + win_h) of that result, into `dst` (win_h rows of 3 * win_w bytes).
 * The window must lie inside out_w x out_h. Returns WMF_OK or WMF_ERR_OUT_OF_MEMORY. */
wmf_status wmfi_image_resample_window(uint8_t *dst, const wmf_image *src, uint32_t out_w, uint32_t out_h,
                                      uint32_t x0, uint32_t y0, uint32_t win_w, uint32_t win_h,
                                      int filter);

/* torchvision's Resize(size) output size for a w x h image (shorter side = size, longer truncated). */
wmf_status wmfi_image_shorter_size(const char *fn, uint32_t w, uint32_t h, uint32_t size, uint32_t *out_w,
                                   uint32_t *out_h);

/* torchvision's CenterCrop offset of a `crop` window in `full` (round half to even, as Python). */
uint32_t wmfi_image_center_offset(uint32_t full, uint32_t crop);

#endif
