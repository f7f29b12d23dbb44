/* The wmf_image object: creation, wrapping a caller's pixels, copies, accessors. */
#include <string.h>

#include "image/image_internal.h"

wmf_status wmfi_image_check_size(const char *fn, uint32_t width, uint32_t height) {
  WMFI_REQUIRE(width > 0 && height > 0, "%s: zero image size %ux%u", fn, width, height);
  if (width > WMFI_IMAGE_MAX_SIDE || height > WMFI_IMAGE_MAX_SIDE ||
      (uint64_t)width * height > WMFI_IMAGE_MAX_PIXELS)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: image size %ux%u exceeds the library's limit (side %u, %llu pixels)",
                     fn, width, height, WMFI_IMAGE_MAX_SIDE, (unsigned long long)WMFI_IMAGE_MAX_PIXELS);
  return WMF_OK;
}

wmf_status wmfi_image_adopt(wmf_image **out, uint8_t *pixels, uint32_t width, uint32_t height) {
  wmf_image *img = wmfi_malloc(sizeof *img);
  if (!img) {
    wmfi_free(pixels);
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "out of memory for an image object");
  }
  *img = (wmf_image){width, height, pixels};
  *out = img;
  return WMF_OK;
}

wmf_status wmfi_image_new(wmf_image **out, const char *fn, uint32_t width, uint32_t height) {
  wmf_status st = wmfi_image_check_size(fn, width, height);
  if (st != WMF_OK) return st;
  size_t bytes = (size_t)width * height * 3; /* cannot overflow under the caps */
  uint8_t *pixels = wmfi_malloc(bytes);
  if (!pixels) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes for %ux%u pixels", fn,
                                bytes, width, height);
  return wmfi_image_adopt(out, pixels, width, height);
}

wmf_status wmf_image_create(wmf_image **out, uint32_t width, uint32_t height, uint8_t r, uint8_t g,
                            uint8_t b) {
  WMFI_REQUIRE(out, "wmf_image_create: out is NULL");
  *out = NULL;
  wmf_image *img;
  wmf_status st = wmfi_image_new(&img, "wmf_image_create", width, height);
  if (st != WMF_OK) return st;
  uint8_t *p = img->pixels;
  size_t n = (size_t)width * height;
  if (r == g && g == b) {
    memset(p, r, n * 3);
  } else {
    for (size_t i = 0; i < n; i++, p += 3) {
      p[0] = r;
      p[1] = g;
      p[2] = b;
    }
  }
  *out = img;
  return WMF_OK;
}

wmf_status wmf_image_from_pixels(wmf_image **out, const void *pixels, uint32_t width, uint32_t height,
                                 size_t stride, wmf_pixel_format format) {
  WMFI_REQUIRE(out, "wmf_image_from_pixels: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(pixels, "wmf_image_from_pixels: pixels is NULL");
  WMFI_REQUIRE(format == WMF_PIXEL_GRAY8 || format == WMF_PIXEL_RGB8 || format == WMF_PIXEL_RGBA8,
               "wmf_image_from_pixels: unknown pixel format %d", (int)format);
  wmf_status st = wmfi_image_check_size("wmf_image_from_pixels", width, height);
  if (st != WMF_OK) return st;
  size_t bpp = (size_t)format;
  WMFI_REQUIRE(stride >= (size_t)width * bpp,
               "wmf_image_from_pixels: stride %zu is less than width %u x %zu bytes per pixel", stride, width,
               bpp);
  /* the last row only needs width * bpp bytes, but the whole buffer must be addressable */
  size_t span;
  WMFI_REQUIRE(wmfi_mul(stride, height - 1, &span) && wmfi_add(span, (size_t)width * bpp, &span),
               "wmf_image_from_pixels: stride %zu x height %u overflows", stride, height);
  wmf_image *img;
  st = wmfi_image_new(&img, "wmf_image_from_pixels", width, height);
  if (st != WMF_OK) return st;
  const uint8_t *src = pixels;
  uint8_t *dst = img->pixels;
  for (uint32_t y = 0; y < height; y++, src += stride, dst += (size_t)width * 3) {
    if (format == WMF_PIXEL_RGB8) {
      memcpy(dst, src, (size_t)width * 3);
    } else if (format == WMF_PIXEL_RGBA8) {
      for (uint32_t x = 0; x < width; x++) memcpy(dst + 3 * (size_t)x, src + 4 * (size_t)x, 3);
    } else {
      for (uint32_t x = 0; x < width; x++) memset(dst + 3 * (size_t)x, src[x], 3);
    }
  }
  *out = img;
  return WMF_OK;
}

wmf_status wmf_image_clone(wmf_image **out, const wmf_image *image) {
  WMFI_REQUIRE(out, "wmf_image_clone: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(image, "wmf_image_clone: image is NULL");
  wmf_image *img;
  wmf_status st = wmfi_image_new(&img, "wmf_image_clone", image->width, image->height);
  if (st != WMF_OK) return st;
  memcpy(img->pixels, image->pixels, (size_t)image->width * image->height * 3);
  *out = img;
  return WMF_OK;
}

void wmf_image_destroy(wmf_image *image) {
  if (!image) return;
  wmfi_free(image->pixels);
  wmfi_free(image);
}

uint32_t wmf_image_width(const wmf_image *image) { return image ? image->width : 0; }
uint32_t wmf_image_height(const wmf_image *image) { return image ? image->height : 0; }
uint8_t *wmf_image_pixels(wmf_image *image) { return image ? image->pixels : NULL; }
