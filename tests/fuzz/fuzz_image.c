/* libFuzzer target: wmf_image_decode on arbitrary bytes, with small limits so a forged header cannot
 * ask for a huge allocation. Whatever the input, the call must return a status (no crash, leak,
 * sanitizer report); a decoded image must have the size its header announced, within the limits. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <wmfeat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wmf_decode_options o = WMF_DECODE_OPTIONS_INIT;
  o.max_width = 2048;
  o.max_height = 2048;
  o.max_pixels = 1u << 20;
  wmf_image *img = NULL;
  wmf_status st = wmf_image_decode(&img, data, size, &o);
  if (st == WMF_OK) {
    uint32_t w = wmf_image_width(img), h = wmf_image_height(img);
    if (!img || w == 0 || h == 0 || w > o.max_width || h > o.max_height || (uint64_t)w * h > o.max_pixels) abort();
    /* touch every pixel so reads of uninitialized or freed memory show up */
    const uint8_t *p = wmf_image_pixels(img);
    unsigned sum = 0;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) sum += p[i];
    (void)sum;
    /* and exercise the resampler on what came out */
    wmf_image *small = NULL;
    if (wmf_image_resize(&small, img, 1 + w / 3, 1 + h / 2, (wmf_filter)(size & 1)) != WMF_OK) abort();
    wmf_image_destroy(small);
  } else if (img != NULL) {
    abort();
  }
  wmf_image_destroy(img);
  return 0;
}
