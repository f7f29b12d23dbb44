/* image module: objects, decoding (all formats, limits, corrupt data), encoding, argument checks. */
#include <check.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image_internal.h"
#include "../check_run.h"

/* The 8x6 pattern the seed files in tests/fuzz/corpus/image hold (written by PIL). */
static void pattern(uint8_t *p, uint32_t x, uint32_t y) {
  p[0] = (uint8_t)(x * 30);
  p[1] = (uint8_t)(y * 40);
  p[2] = (uint8_t)(100 + x + y);
}

static char *seed_path(const char *name) {
  const char *root = getenv("WMF_SOURCE_ROOT");
  ck_assert_msg(root != NULL, "WMF_SOURCE_ROOT is not set");
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/tests/fuzz/corpus/image/%s", root, name);
  return buf;
}

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *size = (size_t)n;
  return buf;
}

/* Largest per-channel difference between an image and the pattern. */
static int pattern_error(wmf_image *img) {
  ck_assert_uint_eq(wmf_image_width(img), 8);
  ck_assert_uint_eq(wmf_image_height(img), 6);
  const uint8_t *p = wmf_image_pixels(img);
  int worst = 0;
  for (uint32_t y = 0; y < 6; y++)
    for (uint32_t x = 0; x < 8; x++) {
      uint8_t want[3];
      pattern(want, x, y);
      for (int c = 0; c < 3; c++) {
        int d = abs((int)p[(y * 8 + x) * 3 + c] - want[c]);
        if (d > worst) worst = d;
      }
    }
  return worst;
}

START_TEST(create_fills_and_reports_size) {
  wmf_image *img = NULL;
  ck_assert_int_eq(wmf_image_create(&img, 5, 3, 10, 20, 30), WMF_OK);
  ck_assert_uint_eq(wmf_image_width(img), 5);
  ck_assert_uint_eq(wmf_image_height(img), 3);
  const uint8_t *p = wmf_image_pixels(img);
  for (int i = 0; i < 15; i++) {
    ck_assert_uint_eq(p[3 * i], 10);
    ck_assert_uint_eq(p[3 * i + 1], 20);
    ck_assert_uint_eq(p[3 * i + 2], 30);
  }
  wmf_image_destroy(img);
  ck_assert_int_eq(wmf_image_create(&img, 2, 2, 7, 7, 7), WMF_OK);
  ck_assert_uint_eq(wmf_image_pixels(img)[11], 7);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(create_rejects_bad_sizes) {
  wmf_image *img = (wmf_image *)1;
  ck_assert_int_eq(wmf_image_create(&img, 0, 3, 0, 0, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(img);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "wmf_image_create"));
  ck_assert_int_eq(wmf_image_create(&img, 3, 0, 0, 0, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_create(NULL, 3, 3, 0, 0, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_create(&img, UINT32_MAX, 2, 0, 0, 0), WMF_ERR_LIMIT);
  ck_assert_int_eq(wmf_image_create(&img, 1u << 20, 1u << 20, 0, 0, 0), WMF_ERR_LIMIT);
  ck_assert_ptr_null(img);
}
END_TEST

START_TEST(null_handles_are_harmless) {
  wmf_image_destroy(NULL);
  ck_assert_uint_eq(wmf_image_width(NULL), 0);
  ck_assert_uint_eq(wmf_image_height(NULL), 0);
  ck_assert_ptr_null(wmf_image_pixels(NULL));
}
END_TEST

START_TEST(from_pixels_converts_formats_with_stride) {
  /* 2x2, stride with padding */
  const uint8_t gray[2 * 5] = {1, 2, 99, 99, 99, 3, 4, 99, 99, 99};
  const uint8_t rgb[2 * 8] = {1, 2, 3, 4, 5, 6, 99, 99, 7, 8, 9, 10, 11, 12, 99, 99};
  const uint8_t rgba[2 * 8] = {1, 2, 3, 200, 4, 5, 6, 201, 7, 8, 9, 202, 10, 11, 12, 203};
  wmf_image *img;
  ck_assert_int_eq(wmf_image_from_pixels(&img, gray, 2, 2, 5, WMF_PIXEL_GRAY8), WMF_OK);
  const uint8_t want_gray[12] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
  ck_assert_mem_eq(wmf_image_pixels(img), want_gray, 12);
  wmf_image_destroy(img);
  const uint8_t want_rgb[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  ck_assert_int_eq(wmf_image_from_pixels(&img, rgb, 2, 2, 8, WMF_PIXEL_RGB8), WMF_OK);
  ck_assert_mem_eq(wmf_image_pixels(img), want_rgb, 12);
  wmf_image_destroy(img);
  ck_assert_int_eq(wmf_image_from_pixels(&img, rgba, 2, 2, 8, WMF_PIXEL_RGBA8), WMF_OK);
  ck_assert_mem_eq(wmf_image_pixels(img), want_rgb, 12);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(from_pixels_rejects_bad_arguments) {
  uint8_t buf[64] = {0};
  wmf_image *img = (wmf_image *)1;
  ck_assert_int_eq(wmf_image_from_pixels(&img, buf, 4, 2, 11, WMF_PIXEL_RGB8), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(img);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "stride"));
  ck_assert_int_eq(wmf_image_from_pixels(&img, buf, 4, 2, 15, WMF_PIXEL_RGBA8), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_from_pixels(&img, NULL, 4, 2, 12, WMF_PIXEL_RGB8), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_from_pixels(NULL, buf, 4, 2, 12, WMF_PIXEL_RGB8), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_from_pixels(&img, buf, 0, 2, 12, WMF_PIXEL_RGB8), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_from_pixels(&img, buf, 4, 0, 12, WMF_PIXEL_RGB8), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_from_pixels(&img, buf, 4, 2, 12, (wmf_pixel_format)2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_from_pixels(&img, buf, 4, 2, SIZE_MAX, WMF_PIXEL_RGB8), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_from_pixels(&img, buf, 1u << 21, 1, SIZE_MAX, WMF_PIXEL_RGB8), WMF_ERR_LIMIT);
  ck_assert_ptr_null(img);
}
END_TEST

START_TEST(clone_is_deep) {
  wmf_image *a, *b;
  ck_assert_int_eq(wmf_image_create(&a, 4, 4, 1, 2, 3), WMF_OK);
  ck_assert_int_eq(wmf_image_clone(&b, a), WMF_OK);
  ck_assert_ptr_ne(wmf_image_pixels(a), wmf_image_pixels(b));
  ck_assert_mem_eq(wmf_image_pixels(a), wmf_image_pixels(b), 48);
  wmf_image_pixels(b)[0] = 77;
  ck_assert_uint_eq(wmf_image_pixels(a)[0], 1);
  wmf_image_destroy(a);
  wmf_image_destroy(b);
  ck_assert_int_eq(wmf_image_clone(&b, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(wmf_image_clone(NULL, a), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

/* Every seed file decodes to the 8x6 pattern: exactly for the lossless ones. */
START_TEST(decodes_every_format) {
  static const struct {
    const char *file;
    int tolerance;
  } cases[] = {{"rgb.png", 0},  {"rgba.png", 0},     {"palette.png", 0},        {"rgb.bmp", 0},
               {"rgb.tga", 0},  {"rgb_rle.tga", 0},  {"rgb.gif", 0},            {"anim.gif", 0},
               {"rgb.jpg", 32}, {"palette.bmp", 0},  {"rgb_progressive.jpg", 32}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wmf_image *img = NULL;
    wmf_status st = wmf_image_load(&img, seed_path(cases[i].file), NULL);
    ck_assert_msg(st == WMF_OK, "%s: %s", cases[i].file, wmf_last_error());
    int err = pattern_error(img);
    ck_assert_msg(err <= cases[i].tolerance, "%s differs by %d", cases[i].file, err);
    wmf_image_destroy(img);
  }
}
END_TEST

START_TEST(gray_is_replicated) {
  static const char *files[] = {"gray.png", "gray16.png"};
  for (int i = 0; i < 2; i++) {
    wmf_image *img;
    ck_assert_int_eq(wmf_image_load(&img, seed_path(files[i]), NULL), WMF_OK);
    const uint8_t *p = wmf_image_pixels(img);
    for (int j = 0; j < 48; j++) {
      ck_assert_uint_eq(p[3 * j], p[3 * j + 1]);
      ck_assert_uint_eq(p[3 * j], p[3 * j + 2]);
    }
    ck_assert_uint_eq(p[3 * 7], i == 0 ? 75 : 210); /* gray.png is L of the pattern, gray16 its red*257 */
    wmf_image_destroy(img);
  }
}
END_TEST

START_TEST(decode_from_memory_equals_load) {
  size_t n;
  uint8_t *bytes = read_all(seed_path("rgb.png"), &n);
  wmf_image *a, *b;
  ck_assert_int_eq(wmf_image_decode(&a, bytes, n, NULL), WMF_OK);
  ck_assert_int_eq(wmf_image_load(&b, seed_path("rgb.png"), NULL), WMF_OK);
  ck_assert_mem_eq(wmf_image_pixels(a), wmf_image_pixels(b), 8 * 6 * 3);
  wmf_image_destroy(a);
  wmf_image_destroy(b);
  free(bytes);
}
END_TEST

START_TEST(limits_are_checked_before_decoding) {
  wmf_decode_options o = WMF_DECODE_OPTIONS_INIT;
  wmf_image *img = (wmf_image *)1;
  o.max_width = 7;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.png"), &o), WMF_ERR_LIMIT);
  ck_assert_ptr_null(img);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "rgb.png"));
  o = (wmf_decode_options)WMF_DECODE_OPTIONS_INIT;
  o.max_height = 5;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.jpg"), &o), WMF_ERR_LIMIT);
  o = (wmf_decode_options)WMF_DECODE_OPTIONS_INIT;
  o.max_pixels = 47;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.gif"), &o), WMF_ERR_LIMIT);
  o.max_pixels = 48;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.gif"), &o), WMF_OK);
  wmf_image_destroy(img);
  o.struct_size = 4;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.gif"), &o), WMF_ERR_INVALID_ARGUMENT);
  o = (wmf_decode_options)WMF_DECODE_OPTIONS_INIT;
  o.max_width = 0;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.gif"), &o), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

/* A PNG header claiming 100000 x 100000 is refused from its header (no allocation is attempted). */
START_TEST(huge_header_is_refused) {
  size_t n;
  uint8_t *bytes = read_all(seed_path("rgb.png"), &n);
  /* IHDR width/height at bytes 16..23, big-endian; the CRC no longer matches but stb does not check it */
  const uint8_t huge[8] = {0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0};
  memcpy(bytes + 16, huge, 8);
  wmf_image *img = (wmf_image *)1;
  ck_assert_int_eq(wmf_image_decode(&img, bytes, n, NULL), WMF_ERR_LIMIT);
  ck_assert_ptr_null(img);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "PNG"));
  free(bytes);
}
END_TEST

START_TEST(corrupt_data_names_file_and_reason) {
  static const char *files[] = {"rgb.png", "rgb.jpg", "rgb.gif", "rgb.bmp", "rgb_progressive.jpg"};
  char tmp[] = "/tmp/wmf_trunc_XXXXXX";
  int fd = mkstemp(tmp);
  ck_assert_int_ge(fd, 0);
  close(fd);
  for (int i = 0; i < 5; i++) {
    size_t n;
    uint8_t *bytes = read_all(seed_path(files[i]), &n);
    /* truncations at several points: all fail cleanly, naming the file */
    size_t cuts[] = {n / 2, n - 8, 20, 4};
    for (int c = 0; c < 4; c++) {
      FILE *f = fopen(tmp, "wb");
      fwrite(bytes, 1, cuts[c], f);
      fclose(f);
      wmf_image *img = (wmf_image *)1;
      wmf_status st = wmf_image_load(&img, tmp, NULL);
      if (st == WMF_OK) { /* a few formats legitimately decode a cut tail (BMP pads, stb fills) */
        wmf_image_destroy(img);
        continue;
      }
      ck_assert_msg(st == WMF_ERR_CORRUPT || st == WMF_ERR_UNSUPPORTED, "%s cut at %zu: %s", files[i], cuts[c],
                    wmf_status_name(st));
      ck_assert_ptr_null(img);
      ck_assert_msg(strstr(wmf_last_error(), tmp) != NULL, "message lacks the file: %s", wmf_last_error());
    }
    free(bytes);
  }
  /* a PNG cut in its pixel data is corrupt, and stb's reason is in the message */
  size_t n;
  uint8_t *bytes = read_all(seed_path("rgb.png"), &n);
  wmf_image *img;
  ck_assert_int_eq(wmf_image_decode(&img, bytes, n - 20, NULL), WMF_ERR_CORRUPT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "PNG"));
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "("));
  /* a PNG whose header is damaged is corrupt (signature recognized), not unsupported */
  ck_assert_int_eq(wmf_image_decode(&img, bytes, 12, NULL), WMF_ERR_CORRUPT);
  free(bytes);
  unlink(tmp);
}
END_TEST

/* Found by the fuzzer: stb_image 2.27 writes past its Huffman arrays on this file (DHT counts sum to
 * more than 256); the guard refuses it first. Under UBSan/ASan builds an unguarded decode is reported. */
START_TEST(oversized_huffman_table_is_refused) {
  /* the second file starts with extra 0xFF fill bytes before SOI, which stb accepts */
  /* the third: a progressive AC scan decoding with a table no DHT defined (stb reads uninitialized tables
   * and indexes outside them; found by fuzz_image in CI) */
  static const char *bad[] = {"dht_overflow.jpg", "dht_overflow_fill.jpg", "undefined_huffman_table.jpg"};
  for (int i = 0; i < 3; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/image/data/%s", getenv("WMF_SOURCE_ROOT"), bad[i]);
    wmf_image *img = (wmf_image *)1;
    ck_assert_int_eq(wmf_image_load(&img, path, NULL), WMF_ERR_CORRUPT);
    ck_assert_ptr_null(img);
    ck_assert_ptr_nonnull(strstr(wmf_last_error(), "Huffman"));
  }
  /* the same table in a valid file's place: every seed JPEG still passes the guard */
  static const char *ok[] = {"rgb.jpg", "gray.jpg", "rgb_progressive.jpg"};
  for (int i = 0; i < 3; i++) {
    size_t n;
    uint8_t *bytes = read_all(seed_path(ok[i]), &n);
    wmf_status st;
    ck_assert_ptr_null(wmfi_image_jpeg_guard(bytes, n, &st));
    free(bytes);
  }
}
END_TEST

/* An 8x6 PNG whose compressed data inflates to 8 MiB: stb would grow its buffer for all of it; the
 * allocation cap refuses it. */
START_TEST(decompression_bomb_is_refused) {
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/image/data/zlib_bomb.png", getenv("WMF_SOURCE_ROOT"));
  wmf_image *img = (wmf_image *)1;
  ck_assert_int_eq(wmf_image_load(&img, path, NULL), WMF_ERR_CORRUPT);
  ck_assert_ptr_null(img);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "expands beyond"));
  /* the cap is per decode: a normal decode right after still works */
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.png"), NULL), WMF_OK);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(unknown_and_empty_data) {
  wmf_image *img = (wmf_image *)1;
  const char junk[] = "this is not an image at all, just some text";
  ck_assert_int_eq(wmf_image_decode(&img, junk, sizeof junk, NULL), WMF_ERR_UNSUPPORTED);
  ck_assert_ptr_null(img);
  ck_assert_int_eq(wmf_image_decode(&img, junk, 0, NULL), WMF_ERR_CORRUPT);
  ck_assert_int_eq(wmf_image_decode(&img, NULL, 0, NULL), WMF_ERR_CORRUPT);
  ck_assert_int_eq(wmf_image_decode(&img, NULL, 10, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_decode(NULL, junk, sizeof junk, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_load(&img, "/nonexistent/x.png", NULL), WMF_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "/nonexistent/x.png"));
  ck_assert_int_eq(wmf_image_load(&img, "/tmp", NULL), WMF_ERR_IO);
  ck_assert_int_eq(wmf_image_load(&img, NULL, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_load(NULL, "x.png", NULL), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(save_png_round_trips_exactly) {
  wmf_image *img, *back;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.png"), NULL), WMF_OK);
  char dir[] = "/tmp/wmf_save_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/out.PNG", dir);
  ck_assert_int_eq(wmf_image_save(img, path, 0), WMF_OK);
  ck_assert_int_eq(wmf_image_load(&back, path, NULL), WMF_OK);
  ck_assert_int_eq(pattern_error(back), 0);
  wmf_image_destroy(back);
  unlink(path);
  snprintf(path, sizeof path, "%s/out.jpeg", dir);
  ck_assert_int_eq(wmf_image_save(img, path, 95), WMF_OK);
  ck_assert_int_eq(wmf_image_load(&back, path, NULL), WMF_OK);
  ck_assert_int_le(pattern_error(back), 40);
  wmf_image_destroy(back);
  unlink(path);
  snprintf(path, sizeof path, "%s/out.jpg", dir);
  ck_assert_int_eq(wmf_image_save(img, path, 1), WMF_OK);
  unlink(path);
  wmf_image_destroy(img);
  rmdir(dir);
}
END_TEST

START_TEST(save_rejects_bad_arguments) {
  wmf_image *img;
  ck_assert_int_eq(wmf_image_create(&img, 4, 4, 0, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_image_save(img, "/tmp/x.gif", 90), WMF_ERR_UNSUPPORTED);
  ck_assert_int_eq(wmf_image_save(img, "/tmp/png", 90), WMF_ERR_UNSUPPORTED);
  ck_assert_int_eq(wmf_image_save(img, "/tmp/wmf_q.jpg", 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_save(img, "/tmp/wmf_q.jpg", 101), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_save(img, NULL, 90), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_save(NULL, "/tmp/wmf_q.jpg", 90), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_save(img, "/nonexistent-dir/x.png", 90), WMF_ERR_IO);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(bundled_photo_loads) {
  const char *root = getenv("WMF_SOURCE_ROOT");
  char path[4096];
  snprintf(path, sizeof path, "%s/examples/data/chelsea.png", root);
  wmf_image *img;
  ck_assert_msg(wmf_image_load(&img, path, NULL) == WMF_OK, "%s", wmf_last_error());
  ck_assert_uint_eq(wmf_image_width(img), 451);
  ck_assert_uint_eq(wmf_image_height(img), 300);
  wmf_image_destroy(img);
}
END_TEST


/* ---- resize, crop, tensors ---- */

static wmf_image *load_bundled(const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/examples/data/%s", getenv("WMF_SOURCE_ROOT"), name);
  wmf_image *img;
  ck_assert_msg(wmf_image_load(&img, path, NULL) == WMF_OK, "%s", wmf_last_error());
  return img;
}

/* PIL's numbers for a 2-pixel row [0, 255] enlarged to 4 (worked by hand from its algorithm). */
START_TEST(resize_matches_pil_on_a_small_case) {
  const uint8_t row[6] = {0, 0, 0, 255, 255, 255};
  wmf_image *img, *r;
  ck_assert_int_eq(wmf_image_from_pixels(&img, row, 2, 1, 6, WMF_PIXEL_RGB8), WMF_OK);
  ck_assert_int_eq(wmf_image_resize(&r, img, 4, 1, WMF_FILTER_BILINEAR), WMF_OK);
  const uint8_t want[4] = {0, 64, 191, 255};
  for (int i = 0; i < 4; i++) ck_assert_uint_eq(wmf_image_pixels(r)[3 * i + 1], want[i]);
  wmf_image_destroy(r);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(resize_keeps_constant_images_constant) {
  wmf_image *img, *r;
  ck_assert_int_eq(wmf_image_create(&img, 37, 23, 200, 3, 99), WMF_OK);
  const uint32_t sizes[][2] = {{5, 4}, {100, 80}, {37, 7}, {1, 1}, {300, 23}};
  for (int f = 0; f < 2; f++)
    for (int i = 0; i < 5; i++) {
      ck_assert_int_eq(wmf_image_resize(&r, img, sizes[i][0], sizes[i][1], (wmf_filter)f), WMF_OK);
      ck_assert_uint_eq(wmf_image_width(r), sizes[i][0]);
      ck_assert_uint_eq(wmf_image_height(r), sizes[i][1]);
      const uint8_t *p = wmf_image_pixels(r);
      for (size_t j = 0; j < (size_t)sizes[i][0] * sizes[i][1]; j++) {
        ck_assert_uint_eq(p[3 * j], 200);
        ck_assert_uint_eq(p[3 * j + 1], 3);
        ck_assert_uint_eq(p[3 * j + 2], 99);
      }
      wmf_image_destroy(r);
    }
  /* same size is a copy */
  wmf_image_pixels(img)[5] = 1;
  ck_assert_int_eq(wmf_image_resize(&r, img, 37, 23, WMF_FILTER_BICUBIC), WMF_OK);
  ck_assert_mem_eq(wmf_image_pixels(r), wmf_image_pixels(img), 37 * 23 * 3);
  wmf_image_destroy(r);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(resize_rejects_bad_arguments) {
  wmf_image *img, *r = (wmf_image *)1;
  ck_assert_int_eq(wmf_image_create(&img, 8, 8, 0, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_image_resize(&r, img, 0, 4, WMF_FILTER_BILINEAR), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(wmf_image_resize(&r, img, 4, 0, WMF_FILTER_BILINEAR), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_resize(&r, img, 4, 4, (wmf_filter)7), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_resize(&r, NULL, 4, 4, WMF_FILTER_BILINEAR), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_resize(NULL, img, 4, 4, WMF_FILTER_BILINEAR), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_resize(&r, img, UINT32_MAX, 4, WMF_FILTER_BILINEAR), WMF_ERR_LIMIT);
  ck_assert_int_eq(wmf_image_resize(&r, img, 1u << 16, 1u << 16, WMF_FILTER_BILINEAR), WMF_ERR_LIMIT);
  ck_assert_int_eq(wmf_image_resize_shorter(&r, img, 0, WMF_FILTER_BILINEAR), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_resize_shorter(&r, NULL, 4, WMF_FILTER_BILINEAR), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_resize_shorter(NULL, img, 4, WMF_FILTER_BILINEAR), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_resize_shorter(&r, img, 4, (wmf_filter)-1), WMF_ERR_INVALID_ARGUMENT);
  wmf_image_destroy(img);
  /* a thin image whose longer side would pass the cap */
  ck_assert_int_eq(wmf_image_create(&img, 1, 1000, 0, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_image_resize_shorter(&r, img, 2000, WMF_FILTER_BILINEAR), WMF_ERR_LIMIT);
  ck_assert_ptr_null(r);
  wmf_image_destroy(img);
}
END_TEST

/* torchvision: the longer side is int(size * long / short), truncated. */
START_TEST(resize_shorter_sizes_like_torchvision) {
  static const uint32_t cases[][5] = {/* w, h, size -> w, h */
                                      {451, 300, 256, 384, 256}, {300, 451, 256, 256, 384}, {600, 400, 256, 384, 256},
                                      {640, 427, 232, 347, 232}, {512, 512, 224, 224, 224}, {3, 1, 1, 3, 1},
                                      {1000, 872, 256, 293, 256}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wmf_image *img, *r;
    ck_assert_int_eq(wmf_image_create(&img, cases[i][0], cases[i][1], 1, 2, 3), WMF_OK);
    ck_assert_int_eq(wmf_image_resize_shorter(&r, img, cases[i][2], WMF_FILTER_BILINEAR), WMF_OK);
    ck_assert_uint_eq(wmf_image_width(r), cases[i][3]);
    ck_assert_uint_eq(wmf_image_height(r), cases[i][4]);
    wmf_image_destroy(r);
    wmf_image_destroy(img);
  }
}
END_TEST

/* CenterCrop's offset is int(round(d / 2.0)) and Python rounds halves to even. */
START_TEST(center_crop_places_like_torchvision) {
  uint8_t px[12 * 3];
  for (int x = 0; x < 12; x++) px[3 * x] = px[3 * x + 1] = px[3 * x + 2] = (uint8_t)x;
  wmf_image *img, *c;
  ck_assert_int_eq(wmf_image_from_pixels(&img, px, 12, 1, sizeof px, WMF_PIXEL_RGB8), WMF_OK);
  static const uint32_t cases[][2] = {/* crop width -> first column */
                                      {11, 0}, {9, 2}, {7, 2}, {5, 4}, {3, 4}, {1, 6}, {12, 0}, {10, 1}, {4, 4}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ck_assert_int_eq(wmf_image_center_crop(&c, img, cases[i][0], 1), WMF_OK);
    ck_assert_uint_eq(wmf_image_width(c), cases[i][0]);
    ck_assert_msg(wmf_image_pixels(c)[0] == cases[i][1], "crop %u starts at %u, not %u", cases[i][0],
                  wmf_image_pixels(c)[0], cases[i][1]);
    wmf_image_destroy(c);
  }
  c = (wmf_image *)1;
  ck_assert_int_eq(wmf_image_center_crop(&c, img, 13, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(c);
  ck_assert_int_eq(wmf_image_center_crop(&c, img, 4, 2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_center_crop(&c, img, 0, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_center_crop(&c, NULL, 1, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_center_crop(NULL, img, 1, 1), WMF_ERR_INVALID_ARGUMENT);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(to_tensor_fills_one_slot) {
  wmf_image *img;
  ck_assert_int_eq(wmf_image_create(&img, 3, 2, 255, 0, 128), WMF_OK);
  float batch[3 * 36];
  for (int i = 0; i < 108; i++) batch[i] = -99.0f;
  ck_assert_int_eq(wmf_image_to_tensor(img, NULL, batch, 108, 1), WMF_OK);
  for (int i = 0; i < 18; i++) ck_assert_float_eq(batch[i], -99.0f);  /* slot 0 untouched */
  for (int i = 36; i < 108; i++) ck_assert_float_eq(batch[i], -99.0f); /* slot 2 untouched */
  for (int i = 0; i < 6; i++) {
    ck_assert_float_eq(batch[18 + i], (1.0f - 0.485f) / 0.229f);
    ck_assert_float_eq(batch[24 + i], (0.0f - 0.456f) / 0.224f);
    ck_assert_float_eq(batch[30 + i], (128.0f / 255.0f - 0.406f) / 0.225f);
  }
  wmf_normalize unit = {{0, 0, 0}, {1, 1, 1}};
  ck_assert_int_eq(wmf_image_to_tensor(img, &unit, batch, 18, 0), WMF_OK);
  ck_assert_float_eq(batch[0], 1.0f);
  ck_assert_float_eq(batch[6], 0.0f);
  ck_assert_float_eq(batch[12], 128.0f / 255.0f);
  wmf_image_destroy(img);
}
END_TEST

START_TEST(to_tensor_rejects_bad_arguments) {
  wmf_image *img;
  ck_assert_int_eq(wmf_image_create(&img, 3, 2, 1, 2, 3), WMF_OK);
  float batch[36];
  ck_assert_int_eq(wmf_image_to_tensor(img, NULL, batch, 17, 0), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_image_to_tensor(img, NULL, batch, 35, 1), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "slot 1"));
  ck_assert_int_eq(wmf_image_to_tensor(img, NULL, batch, 36, SIZE_MAX / 4), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_image_to_tensor(img, NULL, batch, SIZE_MAX, SIZE_MAX), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_image_to_tensor(img, NULL, NULL, 36, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_image_to_tensor(NULL, NULL, batch, 36, 0), WMF_ERR_INVALID_ARGUMENT);
  wmf_normalize zero_std = {{0, 0, 0}, {1, 0, 1}};
  ck_assert_int_eq(wmf_image_to_tensor(img, &zero_std, batch, 36, 0), WMF_ERR_INVALID_ARGUMENT);
  wmf_normalize nan_mean = {{0, 0, NAN}, {1, 1, 1}};
  ck_assert_int_eq(wmf_image_to_tensor(img, &nan_mean, batch, 36, 0), WMF_ERR_INVALID_ARGUMENT);
  wmf_image_destroy(img);
}
END_TEST

/* The one-call path computes only the crop window; it must equal resize + crop + to_tensor. */
START_TEST(preprocess_equals_the_separate_steps) {
  wmf_image *img = load_bundled("chelsea.png");
  const uint32_t cfg[][2] = {{256, 224}, {232, 224}, {300, 200}, {400, 400}, {64, 7}};
  for (int i = 0; i < 5; i++) {
    uint32_t c = cfg[i][1];
    size_t n = 3 * (size_t)c * c;
    float *a = malloc(2 * n * sizeof(float)), *b = malloc(n * sizeof(float));
    ck_assert_int_eq(wmf_preprocess(img, cfg[i][0], c, NULL, a, 2 * n, 1), WMF_OK);
    wmf_image *r, *cr;
    ck_assert_int_eq(wmf_image_resize_shorter(&r, img, cfg[i][0], WMF_FILTER_BILINEAR), WMF_OK);
    ck_assert_int_eq(wmf_image_center_crop(&cr, r, c, c), WMF_OK);
    ck_assert_int_eq(wmf_image_to_tensor(cr, NULL, b, n, 0), WMF_OK);
    ck_assert_mem_eq(a + n, b, n * sizeof(float));
    wmf_image_destroy(r);
    wmf_image_destroy(cr);
    free(a);
    free(b);
  }
  wmf_image_destroy(img);
}
END_TEST

START_TEST(preprocess_rejects_bad_arguments) {
  wmf_image *img;
  ck_assert_int_eq(wmf_image_create(&img, 40, 30, 1, 2, 3), WMF_OK);
  size_t n = 3 * 24 * 24;
  float *buf = malloc(n * sizeof(float));
  ck_assert_int_eq(wmf_preprocess(img, 32, 24, NULL, buf, n, 0), WMF_OK);
  ck_assert_int_eq(wmf_preprocess(img, 32, 24, NULL, buf, n - 1, 0), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_preprocess(img, 32, 24, NULL, buf, n, 1), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_preprocess(img, 20, 24, NULL, buf, n, 0), WMF_ERR_INVALID_ARGUMENT); /* crop > resized */
  ck_assert_int_eq(wmf_preprocess(img, 0, 24, NULL, buf, n, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_preprocess(img, 32, 0, NULL, buf, n, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_preprocess(img, 32, 24, NULL, NULL, n, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_preprocess(NULL, 32, 24, NULL, buf, n, 0), WMF_ERR_INVALID_ARGUMENT);
  wmf_normalize bad = {{0, 0, 0}, {0, 1, 1}};
  ck_assert_int_eq(wmf_preprocess(img, 32, 24, &bad, buf, n, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_preprocess(img, UINT32_MAX, 24, NULL, buf, n, 0), WMF_ERR_LIMIT);
  free(buf);
  wmf_image_destroy(img);
}
END_TEST

/* ---- threads and allocator hooks ---- */

typedef struct job {
  const char *file;
  int ok;
  char error[256];
} job;

static void *decode_many(void *arg) {
  job *j = arg;
  j->ok = 1;
  for (int i = 0; i < 50; i++) {
    wmf_image *img;
    if (wmf_image_load(&img, j->file, NULL) != WMF_OK || pattern_error(img) > 32) j->ok = 0;
    wmf_image_destroy(img);
    /* each thread's failure message is its own */
    if (wmf_image_load(&img, "/nonexistent/thread.png", NULL) != WMF_ERR_IO) j->ok = 0;
    snprintf(j->error, sizeof j->error, "%s", wmf_last_error());
  }
  return NULL;
}

START_TEST(decoding_is_thread_safe) {
  static const char *files[] = {"rgb.png", "rgb.jpg", "rgb_progressive.jpg", "rgb.gif"};
  char paths[4][4096];
  job jobs[4];
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    snprintf(paths[i], sizeof paths[i], "%s", seed_path(files[i]));
    jobs[i] = (job){paths[i], 0, ""};
    ck_assert_int_eq(pthread_create(&t[i], NULL, decode_many, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_msg(jobs[i].ok, "thread decoding %s failed", files[i]);
    ck_assert_ptr_nonnull(strstr(jobs[i].error, "thread.png"));
  }
}
END_TEST

static long live_blocks;
static void *hook_malloc(void *u, size_t n) { live_blocks++; return malloc(n); }
static void *hook_realloc(void *u, void *p, size_t n) {
  if (!p) live_blocks++;
  return realloc(p, n);
}
static void hook_free(void *u, void *p) { live_blocks--; free(p); }

/* stb allocates through the library's hooks, and every block is given back. */
START_TEST(decoder_uses_the_allocator_hooks) {
  wmf_allocator a = {hook_malloc, hook_realloc, hook_free, NULL};
  ck_assert_int_eq(wmf_set_allocator(&a), WMF_OK);
  live_blocks = 0;
  static const char *files[] = {"rgb.png", "rgb.jpg", "rgb_progressive.jpg", "anim.gif", "rgb_rle.tga", "rgb.bmp"};
  for (int i = 0; i < 6; i++) {
    wmf_image *img, *r;
    ck_assert_int_eq(wmf_image_load(&img, seed_path(files[i]), NULL), WMF_OK);
    ck_assert_int_gt(live_blocks, 0);
    ck_assert_int_eq(wmf_image_resize(&r, img, 5, 3, WMF_FILTER_BICUBIC), WMF_OK);
    wmf_image_destroy(r);
    wmf_image_destroy(img);
    ck_assert_int_eq(live_blocks, 0);
  }
  /* failures free what they allocated too */
  size_t n;
  uint8_t *bytes = read_all(seed_path("rgb_progressive.jpg"), &n);
  wmf_image *img;
  ck_assert_int_ne(wmf_image_decode(&img, bytes, n / 2, NULL), WMF_OK);
  ck_assert_int_eq(live_blocks, 0);
  free(bytes);
  char dir[] = "/tmp/wmf_hooks_XXXXXX", path[256];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/x.jpg", dir);
  ck_assert_int_eq(wmf_image_create(&img, 9, 9, 1, 2, 3), WMF_OK);
  ck_assert_int_eq(wmf_image_save(img, path, 80), WMF_OK);
  wmf_image_destroy(img);
  ck_assert_int_eq(live_blocks, 0);
  unlink(path);
  rmdir(dir);
  ck_assert_int_eq(wmf_set_allocator(NULL), WMF_OK);
}
END_TEST

/* The module interface the watermark's JPEG step uses: the pixels of saving as .jpg and loading back,
 * in place; when an allocation fails the pixels are unchanged and the message names the caller. */
static long fail_at, calls;
static void *failing_malloc(void *u, size_t n) { return ++calls == fail_at ? NULL : malloc(n); }
static void *failing_realloc(void *u, void *p, size_t n) { return ++calls == fail_at ? NULL : realloc(p, n); }
static void failing_free(void *u, void *p) { free(p); }

START_TEST(jpeg_roundtrip_equals_save_and_load) {
  wmf_image *img, *back;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.png"), NULL), WMF_OK);
  uint32_t w = wmf_image_width(img), h = wmf_image_height(img);
  size_t n = (size_t)w * h * 3;
  uint8_t *buf = malloc(n);
  memcpy(buf, wmf_image_pixels(img), n);
  ck_assert_int_eq(wmfi_image_jpeg_roundtrip("test", buf, w, h, 75), WMF_OK);
  ck_assert_int_ne(memcmp(buf, wmf_image_pixels(img), n), 0); /* lossy */
  char dir[] = "/tmp/wmf_roundtrip_XXXXXX", path[256];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/x.jpg", dir);
  ck_assert_int_eq(wmf_image_save(img, path, 75), WMF_OK);
  ck_assert_int_eq(wmf_image_load(&back, path, NULL), WMF_OK);
  ck_assert_int_eq(memcmp(buf, wmf_image_pixels(back), n), 0);
  wmf_image_destroy(back);
  unlink(path);
  rmdir(dir);
  wmf_allocator a = {failing_malloc, failing_realloc, failing_free, NULL};
  wmf_status st = WMF_ERR_OUT_OF_MEMORY;
  for (fail_at = 1; st != WMF_OK; fail_at++) {
    memcpy(buf, wmf_image_pixels(img), n);
    calls = 0;
    ck_assert_int_eq(wmf_set_allocator(&a), WMF_OK);
    st = wmfi_image_jpeg_roundtrip("test", buf, w, h, 75);
    ck_assert_int_eq(wmf_set_allocator(NULL), WMF_OK);
    if (st == WMF_OK) break;
    ck_assert_int_eq(st, WMF_ERR_OUT_OF_MEMORY);
    ck_assert_int_eq(memcmp(buf, wmf_image_pixels(img), n), 0);
    ck_assert_msg(strncmp(wmf_last_error(), "test: ", 6) == 0, "%s", wmf_last_error());
  }
  ck_assert_int_gt(fail_at, 2); /* the encoder and the decoder both allocate */
  free(buf);
  wmf_image_destroy(img);
}
END_TEST

/* A resize whose allocations fail one by one: each failure is WMF_ERR_OUT_OF_MEMORY with no image and
 * a message with the real numbers (the filter weights' message once read a size cleared before it). */
START_TEST(resize_fails_cleanly_without_memory) {
  wmf_image *img, *r;
  ck_assert_int_eq(wmf_image_load(&img, seed_path("rgb.png"), NULL), WMF_OK);
  wmf_allocator a = {failing_malloc, failing_realloc, failing_free, NULL};
  wmf_status st = WMF_ERR_OUT_OF_MEMORY;
  int filter_failures = 0;
  for (fail_at = 1; st != WMF_OK; fail_at++) {
    calls = 0;
    r = (wmf_image *)1;
    ck_assert_int_eq(wmf_set_allocator(&a), WMF_OK);
    st = wmf_image_resize(&r, img, 5, 3, WMF_FILTER_BICUBIC);
    ck_assert_int_eq(wmf_set_allocator(NULL), WMF_OK);
    if (st == WMF_OK) break;
    ck_assert_int_eq(st, WMF_ERR_OUT_OF_MEMORY);
    ck_assert_ptr_null(r);
    if (strstr(wmf_last_error(), "filter weights")) {
      filter_failures++;
      ck_assert_msg(!strstr(wmf_last_error(), " x 0 "), "%s", wmf_last_error());
    }
  }
  ck_assert_int_gt(filter_failures, 0);
  wmf_image_destroy(r);
  wmf_image_destroy(img);
}
END_TEST

static Suite *image_suite(void) {
  Suite *s = suite_create("image");
  TCase *t = tcase_create("objects");
  tcase_add_test(t, create_fills_and_reports_size);
  tcase_add_test(t, create_rejects_bad_sizes);
  tcase_add_test(t, null_handles_are_harmless);
  tcase_add_test(t, from_pixels_converts_formats_with_stride);
  tcase_add_test(t, from_pixels_rejects_bad_arguments);
  tcase_add_test(t, clone_is_deep);
  suite_add_tcase(s, t);
  t = tcase_create("codec");
  tcase_add_test(t, decodes_every_format);
  tcase_add_test(t, gray_is_replicated);
  tcase_add_test(t, decode_from_memory_equals_load);
  tcase_add_test(t, limits_are_checked_before_decoding);
  tcase_add_test(t, huge_header_is_refused);
  tcase_add_test(t, corrupt_data_names_file_and_reason);
  tcase_add_test(t, oversized_huffman_table_is_refused);
  tcase_add_test(t, decompression_bomb_is_refused);
  tcase_add_test(t, unknown_and_empty_data);
  tcase_add_test(t, save_png_round_trips_exactly);
  tcase_add_test(t, save_rejects_bad_arguments);
  tcase_add_test(t, jpeg_roundtrip_equals_save_and_load);
  tcase_add_test(t, bundled_photo_loads);
  suite_add_tcase(s, t);
  t = tcase_create("resample");
  tcase_add_test(t, resize_matches_pil_on_a_small_case);
  tcase_add_test(t, resize_keeps_constant_images_constant);
  tcase_add_test(t, resize_rejects_bad_arguments);
  tcase_add_test(t, resize_fails_cleanly_without_memory);
  tcase_add_test(t, resize_shorter_sizes_like_torchvision);
  tcase_add_test(t, center_crop_places_like_torchvision);
  tcase_add_test(t, to_tensor_fills_one_slot);
  tcase_add_test(t, to_tensor_rejects_bad_arguments);
  tcase_add_test(t, preprocess_equals_the_separate_steps);
  tcase_add_test(t, preprocess_rejects_bad_arguments);
  suite_add_tcase(s, t);
  t = tcase_create("threads_and_hooks");
  tcase_add_test(t, decoding_is_thread_safe);
  tcase_add_test(t, decoder_uses_the_allocator_hooks);
  suite_add_tcase(s, t);
  return s;
}

int main(void) { return run_suite(image_suite()); }
