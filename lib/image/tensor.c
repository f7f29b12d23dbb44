/* Images to normalized float tensors, and torchvision's evaluation preprocessing in one call. */
#include <math.h>
#include <string.h>

#include "image/image_internal.h"

static const wmf_normalize imagenet = WMF_NORMALIZE_IMAGENET;

static wmf_status check_norm(const char *fn, const wmf_normalize *n) {
  for (int c = 0; c < 3; c++)
    WMFI_REQUIRE(isfinite(n->mean[c]) && isfinite(n->std[c]) && n->std[c] != 0.0f,
                 "%s: channel %d has mean %g, std %g (finite values and a nonzero std are needed)", fn, c,
                 (double)n->mean[c], (double)n->std[c]);
  return WMF_OK;
}

/* Where slot `slot` of a batch of 3 x h x w tensors starts, if it fits in `capacity` floats. */
static wmf_status slot_offset(const char *fn, uint32_t w, uint32_t h, size_t capacity, size_t slot, size_t *offset) {
  size_t per = (size_t)w * h * 3, end;
  if (!wmfi_mul(per, slot, offset) || !wmfi_add(*offset, per, &end) || end > capacity)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL,
                     "%s: slot %zu of 3x%ux%u floats needs a batch of %zu floats or more, capacity is %zu", fn, slot, h,
                     w, per, capacity);
  return WMF_OK;
}

/* Same float operations as torchvision: ToTensor divides by 255 in float32, Normalize subtracts the
 * float32 mean and divides by the float32 std. A table per channel gives exactly those values. */
static void write_planes(float *dst, const uint8_t *pixels, uint32_t w, uint32_t h, const wmf_normalize *n) {
  float lut[3][256];
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++) {
      float x = (float)v / 255.0f;
      lut[c][v] = (x - n->mean[c]) / n->std[c];
    }
  size_t plane = (size_t)w * h;
  float *r = dst, *g = dst + plane, *b = dst + 2 * plane;
  for (size_t i = 0; i < plane; i++, pixels += 3) {
    r[i] = lut[0][pixels[0]];
    g[i] = lut[1][pixels[1]];
    b[i] = lut[2][pixels[2]];
  }
}

wmf_status wmf_image_to_tensor(const wmf_image *image, const wmf_normalize *norm, float *batch, size_t capacity,
                               size_t slot) {
  WMFI_REQUIRE(image && batch, "wmf_image_to_tensor: %s is NULL", image ? "batch" : "image");
  const wmf_normalize *n = norm ? norm : &imagenet;
  wmf_status st = check_norm("wmf_image_to_tensor", n);
  if (st != WMF_OK) return st;
  size_t offset;
  st = slot_offset("wmf_image_to_tensor", image->width, image->height, capacity, slot, &offset);
  if (st != WMF_OK) return st;
  write_planes(batch + offset, image->pixels, image->width, image->height, n);
  return WMF_OK;
}

wmf_status wmf_preprocess(const wmf_image *image, uint32_t resize, uint32_t crop, const wmf_normalize *norm,
                          float *batch, size_t capacity, size_t slot) {
  const char *fn = "wmf_preprocess";
  WMFI_REQUIRE(image && batch, "%s: %s is NULL", fn, image ? "batch" : "image");
  WMFI_REQUIRE(resize > 0 && crop > 0, "%s: resize %u and crop %u must be positive", fn, resize, crop);
  const wmf_normalize *n = norm ? norm : &imagenet;
  wmf_status st = WMF_OK;
  wmf_image *win = NULL;
  WMFI_TRY(check_norm(fn, n));
  uint32_t w, h;
  WMFI_TRY(wmfi_image_shorter_size(fn, image->width, image->height, resize, &w, &h));
  WMFI_CHECK(crop <= w && crop <= h, WMF_ERR_INVALID_ARGUMENT,
             "%s: crop %u is larger than the %ux%u resized image (resize %u)", fn, crop, w, h, resize);
  size_t offset;
  WMFI_TRY(slot_offset(fn, crop, crop, capacity, slot, &offset));
  /* Only the crop window of the resized image is computed: same pixels, less work. */
  WMFI_TRY(wmfi_image_new(&win, fn, crop, crop));
  WMFI_TRY(wmfi_image_resample_window(win->pixels, image, w, h, wmfi_image_center_offset(w, crop),
                                      wmfi_image_center_offset(h, crop), crop, crop, WMF_FILTER_BILINEAR));
  write_planes(batch + offset, win->pixels, crop, crop, n);
done:
  wmf_image_destroy(win);
  return st;
}
