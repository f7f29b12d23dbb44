/* Decoding (stb_image) with limits checked on the header first, and encoding (stb_image_write). */
#include <string.h>
#include <strings.h>

#include "image/image_internal.h"

#define WMFI_DECODE_OPTIONS_SIZE_1_0 WMFI_SIZE_THROUGH(wmf_decode_options, max_pixels)

WMFI_DEFINE_OPTIONS_INIT(wmf_decode_options_init, wmf_decode_options, WMF_DECODE_OPTIONS_INIT, WMFI_DECODE_OPTIONS_SIZE_1_0)

/* The caller's options (NULL: defaults) read into *o and checked. */
static wmf_status check_options(const char *fn, const wmf_decode_options *options, wmf_decode_options *o) {
  *o = (wmf_decode_options)WMF_DECODE_OPTIONS_INIT;
  wmf_status st = wmfi_options_read(o, sizeof *o, options, WMFI_DECODE_OPTIONS_SIZE_1_0, fn, "wmf_decode_options");
  if (st != WMF_OK) return st;
  WMFI_REQUIRE(o->max_width > 0 && o->max_height > 0 && o->max_pixels > 0,
               "%s: decode limits must be positive (max_width %u, max_height %u, max_pixels %llu)", fn,
               o->max_width, o->max_height, (unsigned long long)o->max_pixels);
  return WMF_OK;
}

/* `name` is the file name, or "<memory>", for the messages. Decodes to `channels` (3 or 4) bytes per
 * pixel into *pixels_out (with *w_out, *h_out). */
static wmf_status decode_raw(uint8_t **pixels_out, uint32_t *w_out, uint32_t *h_out, int channels, const char *fn,
                             const char *name, const uint8_t *data, size_t size, const wmf_decode_options *options) {
  wmf_status st = WMF_OK;
  uint8_t *pixels = NULL;
  wmf_decode_options opts;
  const wmf_decode_options *o = &opts;
  WMFI_TRY(check_options(fn, options, &opts));
  WMFI_CHECK(size != 0, WMF_ERR_CORRUPT, "%s: '%s' is empty", fn, name);
  WMFI_CHECK(size <= INT32_MAX, WMF_ERR_LIMIT, "%s: '%s' has %zu bytes, over the decoder's 2 GiB", fn, name, size);

  int w = 0, h = 0;
  const char *format = wmfi_image_sniff(data, size);
  wmf_status guard = WMF_OK;
  const char *unsafe = format && format[0] == 'J' ? wmfi_image_jpeg_guard(data, size, &guard) : NULL;
  WMFI_CHECK(!unsafe, guard, "%s: '%s': %s JPEG data (%s)", fn, name, guard == WMF_ERR_LIMIT ? "refused" : "corrupt",
             unsafe);
  if (!wmfi_image_stb_info(data, size, &w, &h)) {
    WMFI_CHECK(!wmfi_image_stb_out_of_memory(), WMF_ERR_OUT_OF_MEMORY, "%s: out of memory reading the header of '%s'",
               fn, name);
    WMFI_CHECK(format, WMF_ERR_UNSUPPORTED, "%s: '%s' is not a JPEG, PNG, BMP, TGA or GIF image", fn, name);
    /* "too large": the header asks for more than stb decodes */
    WMFI_CHECK(strcmp(wmfi_image_stb_reason(), "too large") != 0, WMF_ERR_LIMIT,
               "%s: '%s': %s header gives a size over the decoder's limit", fn, name, format);
    WMFI_FAIL(WMF_ERR_CORRUPT, "%s: '%s': bad %s header (%s)", fn, name, format, wmfi_image_stb_reason());
  }
  if (!format) format = "TGA";
  WMFI_CHECK(w > 0 && h > 0, WMF_ERR_CORRUPT, "%s: '%s': %s header gives size %dx%d", fn, name, format, w, h);
  WMFI_CHECK((uint32_t)w <= o->max_width && (uint32_t)h <= o->max_height && (uint64_t)w * (uint64_t)h <= o->max_pixels,
             WMF_ERR_LIMIT, "%s: '%s': %s of %dx%d exceeds the limits (max %ux%u, %llu pixels)", fn, name, format, w,
             h, o->max_width, o->max_height, (unsigned long long)o->max_pixels);
  WMFI_TRY(wmfi_image_check_size(fn, (uint32_t)w, (uint32_t)h));

  int dw = 0, dh = 0;
  /* generous for every format (16-bit RGBA PNG rows, JPEG planes padded to whole blocks), small
   * enough that a decompression bomb in a small image is refused */
  size_t max_alloc = (size_t)w * (size_t)h * 16 + ((size_t)1 << 20);
  bool ran_out;
  pixels = wmfi_image_stb_decode(data, size, &dw, &dh, max_alloc, channels, &ran_out);
  /* ran out: stb would have filled the rest with zeros or left it uninitialized */
  WMFI_CHECK(!ran_out, WMF_ERR_CORRUPT, "%s: '%s': truncated %s data (the decoder needs more than the %zu bytes)", fn,
             name, format, size);
  if (!pixels) {
    const char *why = wmfi_image_stb_reason();
    WMFI_CHECK(!wmfi_image_stb_over_cap(), WMF_ERR_CORRUPT,
               "%s: '%s': %s data expands beyond what a %dx%d image needs (%zu bytes)", fn, name, format, w, h,
               max_alloc);
    WMFI_CHECK(strcmp(why, "outofmem") != 0 && !wmfi_image_stb_out_of_memory(), WMF_ERR_OUT_OF_MEMORY,
               "%s: out of memory decoding '%s' (%dx%d)", fn, name, w, h);
    WMFI_FAIL(WMF_ERR_CORRUPT, "%s: '%s': corrupt or truncated %s data (%s)", fn, name, format, why);
  }
  /* The header was checked; a decoder that disagrees with its own header is not trusted. */
  WMFI_CHECK(dw == w && dh == h, WMF_ERR_CORRUPT, "%s: '%s': %s decoded as %dx%d but its header says %dx%d", fn, name,
             format, dw, dh, w, h);
  *pixels_out = pixels;
  *w_out = (uint32_t)w;
  *h_out = (uint32_t)h;
  pixels = NULL;
done:
  wmfi_free(pixels);
  return st;
}

static wmf_status decode(wmf_image **out, const char *fn, const char *name, const uint8_t *data, size_t size,
                         const wmf_decode_options *options) {
  uint8_t *pixels;
  uint32_t w, h;
  wmf_status st = decode_raw(&pixels, &w, &h, 3, fn, name, data, size, options);
  return st != WMF_OK ? st : wmfi_image_adopt(out, pixels, w, h);
}

wmf_status wmfi_image_load_rgba(const char *fn, const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height) {
  *rgba = NULL;
  wmfi_file f;
  wmf_status st = wmfi_file_open(&f, path);
  if (st != WMF_OK) return st;
  st = decode_raw(rgba, width, height, 4, fn, path, f.data, f.size, NULL);
  wmfi_file_close(&f);
  return st;
}

wmf_status wmf_image_decode(wmf_image **out, const void *data, size_t size, const wmf_decode_options *options) {
  WMFI_REQUIRE(out, "wmf_image_decode: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(data || size == 0, "wmf_image_decode: data is NULL");
  return decode(out, "wmf_image_decode", "<memory>", data, size, options);
}

wmf_status wmf_image_load(wmf_image **out, const char *path, const wmf_decode_options *options) {
  WMFI_REQUIRE(out, "wmf_image_load: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(path, "wmf_image_load: path is NULL");
  wmf_decode_options o;
  wmf_status st = check_options("wmf_image_load", options, &o);
  if (st != WMF_OK) return st;
  wmfi_file f;
  st = wmfi_file_open(&f, path);
  if (st != WMF_OK) return st;
  st = decode(out, "wmf_image_load", path, f.data, f.size, &o);
  wmfi_file_close(&f);
  return st;
}

static bool has_suffix(const char *path, const char *suffix) {
  size_t n = strlen(path), m = strlen(suffix);
  return n >= m && strcasecmp(path + n - m, suffix) == 0;
}

wmf_status wmf_image_save(const wmf_image *image, const char *path, int jpeg_quality) {
  WMFI_REQUIRE(image && path, "wmf_image_save: %s is NULL", image ? "path" : "image");
  bool png = has_suffix(path, ".png");
  bool jpeg = has_suffix(path, ".jpg") || has_suffix(path, ".jpeg");
  if (!png && !jpeg)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "wmf_image_save: '%s': extension is not .png, .jpg or .jpeg", path);
  WMFI_REQUIRE(png || (jpeg_quality >= 1 && jpeg_quality <= 100),
               "wmf_image_save: '%s': JPEG quality %d is outside 1..100", path, jpeg_quality);
  /* stb_image_write computes sizes in int */
  if ((uint64_t)image->width * image->height * 3 > (1u << 30))
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_image_save: '%s': %ux%u is too large to encode", path, image->width,
                     image->height);
  uint8_t *bytes = NULL;
  size_t n = 0;
  int ok = png ? wmfi_image_stb_png(&bytes, &n, image->pixels, (int)image->width, (int)image->height)
               : wmfi_image_stb_jpeg(&bytes, &n, image->pixels, (int)image->width, (int)image->height,
                                     jpeg_quality);
  if (!ok)
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_image_save: '%s': out of memory encoding %ux%u %s", path,
                     image->width, image->height, png ? "PNG" : "JPEG");
  wmf_status st = wmfi_write_file_atomic(path, bytes, n);
  wmfi_free(bytes);
  return st;
}

wmf_status wmfi_image_jpeg_roundtrip(const char *fn, uint8_t *rgb, uint32_t width, uint32_t height, int quality) {
  wmf_status st = WMF_OK;
  uint8_t *bytes = NULL, *back = NULL;
  size_t n = 0;
  int w = (int)width, h = (int)height, dw = 0, dh = 0;
  bool ran_out = false;
  WMFI_CHECK(wmfi_image_stb_jpeg(&bytes, &n, rgb, w, h, quality), WMF_ERR_OUT_OF_MEMORY,
             "%s: JPEG re-save of a %dx%d image failed (out of memory)", fn, w, h);
  back = wmfi_image_stb_decode(bytes, n, &dw, &dh, 0, 3, &ran_out);
  WMFI_CHECK(back || !wmfi_image_stb_out_of_memory(), WMF_ERR_OUT_OF_MEMORY,
             "%s: out of memory decoding the JPEG re-save of a %dx%d image", fn, w, h);
  WMFI_CHECK(back && dw == w && dh == h, WMF_ERR_BACKEND,
             "%s: JPEG re-save of a %dx%d image could not be decoded (%s)", fn, w, h, wmfi_image_stb_reason());
  memcpy(rgb, back, (size_t)w * h * 3);
done:
  wmfi_free(bytes);
  wmfi_free(back);
  return st;
}
