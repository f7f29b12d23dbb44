/* Resizing that reproduces PIL's Image.resize (libImaging/Resample.c, as PIL 9.4 does it) bit for bit:
 * a separable convolution whose filter support is widened by the downscale factor (antialiasing),
 * weights normalized per output pixel then turned into 22-bit fixed point, a horizontal pass into
 * 8-bit rows, then a vertical pass, each result rounded and clipped to 0..255. Being exact matters:
 * networks are evaluated on torchvision's preprocessing, which calls this PIL code. */
#include <math.h>
#include <string.h>

#include "image/image_internal.h"

#define PRECISION_BITS (32 - 8 - 2) /* PIL's choice: 8-bit pixels times weights fit an int32 sum */

static double bilinear(double x) {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

static double bicubic(double x) { /* Keys' cubic convolution, a = -0.5, as PIL */
  const double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

/* Weights of output positions [first, first + count) along one axis. */
typedef struct taps {
  int ksize;      /* stride between the weights of consecutive outputs */
  int *start;     /* first input index of each output */
  int *len;       /* number of inputs of each output */
  int32_t *k;     /* fixed-point weights, count * ksize */
  double *scratch;
} taps;

/* Frees and empties; taps_make's callers free on their way out, also after it failed. */
static void taps_free(taps *t) {
  wmfi_free(t->start);
  wmfi_free(t->len);
  wmfi_free(t->k);
  wmfi_free(t->scratch);
  *t = (taps){0};
}

/* PIL's precompute_coeffs + normalize_coeffs_8bpc, with the same double arithmetic in the same order. */
static wmf_status taps_make(taps *t, uint32_t in_size, uint32_t out_size, uint32_t first, uint32_t count,
                            int filter) {
  *t = (taps){0};
  wmf_status st = WMF_OK;
  double (*f)(double) = filter == WMF_FILTER_BICUBIC ? bicubic : bilinear;
  double support = filter == WMF_FILTER_BICUBIC ? 2.0 : 1.0;
  double scale = (double)((float)in_size - 0.0f) / out_size; /* PIL takes the box as floats */
  double filterscale = scale < 1.0 ? 1.0 : scale;
  support = support * filterscale;
  double ksize_d = ceil(support) * 2 + 1;
  WMFI_CHECK(ksize_d <= (double)(1u << 30), WMF_ERR_LIMIT, "resize: filter of %.0f taps", ksize_d);
  t->ksize = (int)ksize_d;
  t->start = wmfi_alloc_array(count, sizeof *t->start);
  t->len = wmfi_alloc_array(count, sizeof *t->len);
  t->k = wmfi_alloc_array(count, (size_t)t->ksize * sizeof *t->k);
  t->scratch = wmfi_alloc_array((size_t)t->ksize, sizeof *t->scratch);
  WMFI_CHECK(t->start && t->len && t->k && t->scratch, WMF_ERR_OUT_OF_MEMORY,
             "resize: out of memory for %u x %d filter weights", count, t->ksize);
  for (uint32_t i = 0; i < count; i++) {
    int xx = (int)(first + i);
    double center = 0.0f + (xx + 0.5) * scale;
    double ww = 0.0;
    double ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > (int)in_size) xmax = (int)in_size;
    xmax -= xmin;
    double *k = t->scratch;
    for (int x = 0; x < xmax; x++) {
      double w = f((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    int32_t *kk = t->k + (size_t)i * t->ksize;
    for (int x = 0; x < t->ksize; x++) {
      double v = x < xmax ? (ww != 0.0 ? k[x] / ww : k[x]) : 0.0;
      kk[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
    }
    t->start[i] = xmin;
    t->len[i] = xmax;
  }
done:
  return st;
}

static inline uint8_t clip8(int32_t v) {
  if (v <= 0) return 0;
  v >>= PRECISION_BITS;
  return v > 255 ? 255 : (uint8_t)v;
}

/* rows x (t->count outputs) from rows of `src` (3 bytes per pixel, `src_stride` bytes per row). */
static void pass_horizontal(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t src_stride, uint32_t rows,
                            const taps *t, uint32_t count) {
  for (uint32_t y = 0; y < rows; y++) {
    const uint8_t *in = src + y * src_stride;
    uint8_t *out = dst + y * dst_stride;
    for (uint32_t i = 0; i < count; i++) {
      const int32_t *k = t->k + (size_t)i * t->ksize;
      const uint8_t *p = in + (size_t)t->start[i] * 3;
      int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < t->len[i]; x++, p += 3) {
        s0 += p[0] * k[x];
        s1 += p[1] * k[x];
        s2 += p[2] * k[x];
      }
      out[3 * i] = clip8(s0);
      out[3 * i + 1] = clip8(s1);
      out[3 * i + 2] = clip8(s2);
    }
  }
}

/* `count` output rows of `row_bytes` from the rows of `src`; `acc` holds row_bytes int32. Integer sums
 * are exact, so accumulating tap by tap (cache-friendly) gives PIL's result. */
static void pass_vertical(uint8_t *dst, size_t dst_stride, const uint8_t *src, size_t src_stride, int src_first,
                          const taps *t, uint32_t count, size_t row_bytes, int32_t *acc) {
  for (uint32_t i = 0; i < count; i++) {
    const int32_t *k = t->k + (size_t)i * t->ksize;
    for (size_t b = 0; b < row_bytes; b++) acc[b] = 1 << (PRECISION_BITS - 1);
    for (int y = 0; y < t->len[i]; y++) {
      const uint8_t *in = src + (size_t)(t->start[i] + y - src_first) * src_stride;
      int32_t w = k[y];
      for (size_t b = 0; b < row_bytes; b++) acc[b] += in[b] * w;
    }
    uint8_t *out = dst + i * dst_stride;
    for (size_t b = 0; b < row_bytes; b++) out[b] = clip8(acc[b]);
  }
}

wmf_status wmfi_image_resample_window(uint8_t *dst, const wmf_image *src, uint32_t out_w, uint32_t out_h,
                                      uint32_t x0, uint32_t y0, uint32_t win_w, uint32_t win_h, int filter) {
  bool need_h = out_w != src->width, need_v = out_h != src->height;
  size_t src_stride = (size_t)src->width * 3, win_bytes = (size_t)win_w * 3;
  taps th = {0}, tv = {0};
  uint8_t *tmp = NULL;
  int32_t *acc = NULL;
  wmf_status st = WMF_OK;

  /* source rows the window needs */
  uint32_t row_first = y0, row_end = y0 + win_h;
  if (need_v) {
    WMFI_TRY(taps_make(&tv, src->height, out_h, y0, win_h, filter));
    row_first = (uint32_t)tv.start[0];
    row_end = 0;
    for (uint32_t i = 0; i < win_h; i++) {
      if ((uint32_t)tv.start[i] < row_first) row_first = (uint32_t)tv.start[i];
      if ((uint32_t)(tv.start[i] + tv.len[i]) > row_end) row_end = (uint32_t)(tv.start[i] + tv.len[i]);
    }
  }
  /* horizontal pass into tmp (or straight into dst when no vertical pass follows) */
  const uint8_t *rows = src->pixels + (size_t)row_first * src_stride + (size_t)x0 * 3;
  size_t rows_stride = src_stride;
  if (need_h) {
    WMFI_TRY(taps_make(&th, src->width, out_w, x0, win_w, filter));
    uint32_t n = row_end - row_first;
    uint8_t *target = dst;
    if (need_v) {
      tmp = wmfi_alloc_array(n, win_bytes);
      WMFI_CHECK(tmp, WMF_ERR_OUT_OF_MEMORY, "resize: out of memory for %u intermediate rows", n);
      target = tmp;
    }
    pass_horizontal(target, win_bytes, src->pixels + (size_t)row_first * src_stride, src_stride, n, &th, win_w);
    rows = target;
    rows_stride = win_bytes;
  }
  if (need_v) {
    acc = wmfi_alloc_array(win_bytes, sizeof *acc);
    WMFI_CHECK(acc, WMF_ERR_OUT_OF_MEMORY, "resize: out of memory for an accumulator row");
    pass_vertical(dst, win_bytes, rows, rows_stride, (int)row_first, &tv, win_h, win_bytes, acc);
  } else if (!need_h) { /* same size: PIL copies */
    for (uint32_t y = 0; y < win_h; y++) memcpy(dst + y * win_bytes, rows + y * rows_stride, win_bytes);
  }
done:
  taps_free(&th);
  taps_free(&tv);
  wmfi_free(tmp);
  wmfi_free(acc);
  return st;
}

wmf_status wmf_image_resize(wmf_image **out, const wmf_image *image, uint32_t width, uint32_t height,
                            wmf_filter filter) {
  WMFI_REQUIRE(out, "wmf_image_resize: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(image, "wmf_image_resize: image is NULL");
  WMFI_REQUIRE(filter == WMF_FILTER_BILINEAR || filter == WMF_FILTER_BICUBIC,
               "wmf_image_resize: unknown filter %d", (int)filter);
  wmf_status st = WMF_OK;
  wmf_image *img = NULL;
  WMFI_TRY(wmfi_image_new(&img, "wmf_image_resize", width, height));
  WMFI_TRY(wmfi_image_resample_window(img->pixels, image, width, height, 0, 0, width, height, filter));
  *out = img;
  img = NULL;
done:
  wmf_image_destroy(img);
  return st;
}

wmf_status wmfi_image_shorter_size(const char *fn, uint32_t w, uint32_t h, uint32_t size, uint32_t *out_w,
                                   uint32_t *out_h) {
  WMFI_REQUIRE(size > 0, "%s: the shorter side must be positive", fn);
  uint32_t s = w <= h ? w : h, l = w <= h ? h : w;
  /* Python's int(size * long / short): an exact product, a correctly rounded division, truncation */
  double longer = floor((double)((uint64_t)size * l) / (double)s);
  if (longer > (double)WMFI_IMAGE_MAX_SIDE)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: resizing %ux%u to a shorter side of %u gives a side of %.0f, over %u", fn,
                     w, h, size, longer, WMFI_IMAGE_MAX_SIDE);
  *out_w = w <= h ? size : (uint32_t)longer;
  *out_h = w <= h ? (uint32_t)longer : size;
  return wmfi_image_check_size(fn, *out_w, *out_h);
}

wmf_status wmf_image_resize_shorter(wmf_image **out, const wmf_image *image, uint32_t size, wmf_filter filter) {
  WMFI_REQUIRE(out, "wmf_image_resize_shorter: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(image, "wmf_image_resize_shorter: image is NULL");
  uint32_t w, h;
  wmf_status st = wmfi_image_shorter_size("wmf_image_resize_shorter", image->width, image->height, size, &w, &h);
  if (st != WMF_OK) return st;
  return wmf_image_resize(out, image, w, h, filter);
}

uint32_t wmfi_image_center_offset(uint32_t full, uint32_t crop) {
  uint32_t d = full - crop, q = d / 2;
  /* Python's round() of q + 0.5 goes to the even neighbour */
  return (d % 2 == 0 || q % 2 == 0) ? q : q + 1;
}

wmf_status wmf_image_center_crop(wmf_image **out, const wmf_image *image, uint32_t width, uint32_t height) {
  WMFI_REQUIRE(out, "wmf_image_center_crop: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(image, "wmf_image_center_crop: image is NULL");
  WMFI_REQUIRE(width > 0 && height > 0, "wmf_image_center_crop: zero crop size %ux%u", width, height);
  WMFI_REQUIRE(width <= image->width && height <= image->height,
               "wmf_image_center_crop: crop %ux%u is larger than the image %ux%u", width, height, image->width,
               image->height);
  wmf_image *img;
  wmf_status st = wmfi_image_new(&img, "wmf_image_center_crop", width, height);
  if (st != WMF_OK) return st;
  uint32_t x0 = wmfi_image_center_offset(image->width, width), y0 = wmfi_image_center_offset(image->height, height);
  size_t src_stride = (size_t)image->width * 3, row = (size_t)width * 3;
  for (uint32_t y = 0; y < height; y++)
    memcpy(img->pixels + y * row, image->pixels + (y0 + y) * src_stride + (size_t)x0 * 3, row);
  *out = img;
  return WMF_OK;
}
