/* The image module's interface to the other modules of the library (which otherwise use only the
 * public wmfeat/image.h): loading logos as RGBA and the JPEG re-save of the Mark My Words recipe. The
 * wmf_image layout and the stb wrappers stay in image/image_internal.h. */
#ifndef WMF_LIB_IMAGE_H
#define WMF_LIB_IMAGE_H

#include <stdint.h>

#include "core/core.h"

/* Loads an image file as RGBA8 (straight alpha; opaque for formats without alpha) with the default
 * decode limits and the checks of wmf_image_load (codec.c): *rgba from wmfi_malloc, width * height * 4
 * bytes. Same statuses as wmf_image_load, messages starting with `fn`. */
wmf_status wmfi_image_load_rgba(const char *fn, const char *path, uint8_t **rgba, uint32_t *width,
                                uint32_t *height);

/* Encodes `rgb` (height rows of 3 * width bytes) as a JPEG of `quality` (1..100; stb's 4:2:0) and
 * decodes it back into `rgb`, in memory: what saving and reloading a .jpg does to the pixels. On
 * failure `rgb` is unchanged: WMF_ERR_OUT_OF_MEMORY, WMF_ERR_BACKEND (the encoder's output did not
 * decode to the same size); messages start with `fn`. */
wmf_status wmfi_image_jpeg_roundtrip(const char *fn, uint8_t *rgb, uint32_t width, uint32_t height, int quality);

#endif
