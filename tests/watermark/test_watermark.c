/* Watermark API: fonts, UTF-8, fallback, argument errors, presets, determinism across threads,
 * coverage, rotation / outline / shadow / spacing / lines / tiles, logos. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watermark/watermark_internal.h"
#include "../check_run.h"

#define CJK_TTC "/usr/share/fonts/opentype/noto/NotoSerifCJK-ExtraLight.ttc"

static wmf_font *find(const char *pattern) {
  wmf_font *f;
  ck_assert_msg(wmf_font_find(&f, pattern) == WMF_OK, "%s: %s", pattern, wmf_last_error());
  return f;
}

static wmf_watermark *text_recipe(const char *font, const char *text, float size) {
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
  wmf_font *f = find(font);
  ck_assert_int_eq(wmf_watermark_set_font(wm, f), WMF_OK);
  wmf_font_destroy(f); /* the recipe keeps its own reference */
  ck_assert_msg(wmf_watermark_set_text(wm, text) == WMF_OK, "%s", wmf_last_error());
  ck_assert_int_eq(wmf_watermark_set_size(wm, size), WMF_OK);
  return wm;
}

typedef struct box { int x0, y0, x1, y1; long count; } box;

static box ink(const uint8_t *m, uint32_t w, uint32_t h) {
  box b = {1 << 30, 1 << 30, -1, -1, 0};
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++)
      if (m[(size_t)y * w + x]) {
        b.count++;
        if ((int)x < b.x0) b.x0 = (int)x;
        if ((int)y < b.y0) b.y0 = (int)y;
        if ((int)x > b.x1) b.x1 = (int)x;
        if ((int)y > b.y1) b.y1 = (int)y;
      }
  return b;
}

static box coverage_box(const wmf_watermark *wm, uint32_t w, uint32_t h, uint64_t seed) {
  uint8_t *m = malloc((size_t)w * h);
  ck_assert_msg(wmf_watermark_coverage(wm, w, h, seed, m, (size_t)w * h) == WMF_OK, "%s", wmf_last_error());
  box b = ink(m, w, h);
  free(m);
  return b;
}

START_TEST(font_open_and_find) {
  wmf_font *f;
  ck_assert_int_eq(wmf_font_open(&f, CJK_TTC, 2), WMF_OK);
  ck_assert_str_eq(wmf_font_family(f), "Noto Serif CJK SC");
  ck_assert_str_eq(wmf_font_style(f), "ExtraLight");
  ck_assert_int_eq(wmf_font_face_index(f), 2);
  wmf_font_destroy(f);
  f = find("Noto Serif CJK SC:style=ExtraLight");
  ck_assert_str_eq(wmf_font_path(f), CJK_TTC);
  ck_assert_int_eq(wmf_font_face_index(f), 2);
  wmf_font_destroy(f);
  wmf_font_destroy(NULL);
  ck_assert_str_eq(wmf_font_family(NULL), "");
}
END_TEST

START_TEST(missing_fonts_are_named) {
  wmf_font *f = (wmf_font *)1;
  ck_assert_int_eq(wmf_font_find(&f, "No Such Family Anywhere:style=Bold"), WMF_ERR_FONT);
  ck_assert_ptr_null(f);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "No Such Family Anywhere"));
  ck_assert_int_eq(wmf_font_find(&f, "Noto Serif CJK SC:style=Ultrablack"), WMF_ERR_FONT);
  ck_assert_int_eq(wmf_font_open(&f, "/nonexistent/font.ttf", 0), WMF_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "/nonexistent/font.ttf"));
  ck_assert_int_eq(wmf_font_open(&f, CJK_TTC, 40), WMF_ERR_FONT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "face 40"));
  char path[512];
  snprintf(path, sizeof path, "%s/tests/watermark/pil_ref.py", getenv("WMF_SOURCE_ROOT"));
  ck_assert_int_eq(wmf_font_open(&f, path, 0), WMF_ERR_FONT);
  ck_assert_int_eq(wmf_font_open(NULL, CJK_TTC, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_font_open(&f, NULL, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_font_open(&f, CJK_TTC, -1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_font_find(&f, NULL), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(bad_utf8_is_refused) {
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
  const char *bad[] = {"ab\xff", "\xe6\x8d", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "x\x80y", "\xe6\x8d" "A"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(wmf_watermark_set_text(wm, bad[i]), WMF_ERR_UTF8);
    ck_assert_ptr_nonnull(strstr(wmf_last_error(), "byte"));
    ck_assert_int_eq(wmf_watermark_set_pool(wm, bad[i], 3), WMF_ERR_UTF8);
  }
  ck_assert_int_eq(wmf_watermark_set_text(wm, "捷径 ok"), WMF_OK);
  wmf_watermark_destroy(wm);
}
END_TEST

/* The strict check (lib/core/utf8.c): overlong forms, surrogates, values above U+10FFFF and truncated
 * sequences are refused with the reason and the byte offset; the largest valid forms pass. */
START_TEST(strict_utf8_reasons) {
  static const struct {
    const char *text, *reason;
    int at;
  } bad[] = {
      {"a\xc0\xaf", "overlong", 1},          {"\xe0\x80\xaf", "overlong", 0},
      {"ab\xf0\x80\x80\xaf", "overlong", 2}, {"\xc1\xbf", "overlong", 0},
      {"\xed\xa0\x80", "surrogate", 0},      {"x\xed\xbf\xbf", "surrogate", 1},
      {"\xf4\x90\x80\x80", "above U+10FFFF", 0}, {"\xf7\xbf\xbf\xbf", "above U+10FFFF", 0},
      {"\xf8\x88\x80\x80\x80", "never occurs", 0}, {"\xff", "never occurs", 0},
      {"abc\xe6\x8d", "truncated", 3},        {"\xf0\x9f\x98", "truncated", 0},
      {"\xe6\x8d" "A", "truncated", 0},          {"\x80", "continuation", 0},
  };
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(wmf_watermark_set_text(wm, bad[i].text), WMF_ERR_UTF8);
    char at[32];
    snprintf(at, sizeof at, "at byte %d", bad[i].at);
    ck_assert_msg(strstr(wmf_last_error(), bad[i].reason) && strstr(wmf_last_error(), at), "case %zu: '%s'", i,
                  wmf_last_error());
  }
  ck_assert_int_eq(wmf_watermark_set_text(wm, "\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80"), WMF_OK);
  wmf_watermark_destroy(wm);
}
END_TEST

/* Very long text at a large size: the pen position used to overflow int32 (UBSan) and the mask then
 * failed as a false "out of memory"; now an honest WMF_ERR_LIMIT. */
START_TEST(very_long_text_is_a_limit_not_out_of_memory) {
  size_t n = 20000;
  char *text = malloc(n + 1);
  memset(text, 'W', n);
  text[n] = 0;
  wmf_watermark *wm = text_recipe("Liberation Sans", text, 2048);
  uint8_t m[64 * 64];
  wmf_status st = wmf_watermark_coverage(wm, 64, 64, 0, m, sizeof m);
  ck_assert_msg(st == WMF_ERR_LIMIT, "%s: %s", wmf_status_name(st), wmf_last_error());
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "px"));
  wmf_watermark_destroy(wm);
  /* many lines */
  for (size_t i = 0; i < n; i++) text[i] = i % 2 ? '\n' : 'W';
  wm = text_recipe("Liberation Sans", text, 2048);
  st = wmf_watermark_coverage(wm, 64, 64, 0, m, sizeof m);
  ck_assert_msg(st == WMF_ERR_LIMIT, "%s: %s", wmf_status_name(st), wmf_last_error());
  wmf_watermark_destroy(wm);
  /* a mask larger than any image: a limit too */
  text[400] = 0; /* 400 x 1933 px wide, 2048+ px high */
  memset(text, 'W', 400);
  wm = text_recipe("Liberation Sans", text, 2048);
  st = wmf_watermark_coverage(wm, 64, 64, 0, m, sizeof m);
  ck_assert_msg(st == WMF_ERR_LIMIT, "%s: %s", wmf_status_name(st), wmf_last_error());
  wmf_watermark_destroy(wm);
  free(text);
}
END_TEST

START_TEST(missing_characters_use_fallback_or_fail) {
  /* Liberation Sans has no CJK: with fallback the CJK characters are inked, without it an error names them */
  wmf_watermark *latin = text_recipe("Liberation Sans", "ab", 24), *mixed = text_recipe("Liberation Sans", "ab捷径", 24);
  box a = coverage_box(latin, 200, 60, 0), b = coverage_box(mixed, 200, 60, 0);
  ck_assert_int_gt(b.x1, a.x1 + 30);
  ck_assert_int_gt(b.count, a.count + 100);
  ck_assert_int_eq(wmf_watermark_set_fallback(mixed, 0), WMF_OK);
  uint8_t m[200 * 60];
  ck_assert_int_eq(wmf_watermark_coverage(mixed, 200, 60, 0, m, sizeof m), WMF_ERR_FONT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "U+6377"));
  /* a code point no installed font has fails even with fallback */
  ck_assert_int_eq(wmf_watermark_set_fallback(mixed, 1), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_text(mixed, "a\xf4\x8f\xbf\xbd"), WMF_OK);
  ck_assert_int_eq(wmf_watermark_coverage(mixed, 200, 60, 0, m, sizeof m), WMF_ERR_FONT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "U+10FFFD"));
  wmf_watermark_destroy(latin);
  wmf_watermark_destroy(mixed);
}
END_TEST

START_TEST(argument_and_state_errors) {
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_create(NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
  wmf_image *im;
  ck_assert_int_eq(wmf_image_create(&im, 64, 64, 0, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply(wm, im, 0), WMF_ERR_STATE); /* nothing to draw */
  ck_assert_int_eq(wmf_watermark_set_text(wm, "x"), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply(wm, im, 0), WMF_ERR_STATE); /* no font */
  ck_assert_int_eq(wmf_watermark_apply(NULL, im, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_apply(wm, NULL, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_size(wm, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_size(wm, NAN), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_size(wm, 5000), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_size_relative(wm, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_opacity(wm, 1.5f), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_position(wm, 0.5, 0.5, "xx"), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_position(wm, 0.5, 0.5, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_position(wm, INFINITY, 0.5, "la"), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_pool(wm, "abc", 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_pool(wm, "", 3), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_tiled(wm, 30, -1, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_rotation(wm, NAN), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_outline(wm, 100, 0, 0, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_shadow(wm, 1000, 0, 0, 0, 0, 0.5f), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_font(wm, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_text(NULL, "x"), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_text(wm, NULL), WMF_ERR_INVALID_ARGUMENT);
  uint8_t logo[16] = {0};
  ck_assert_int_eq(wmf_watermark_add_logo(wm, logo, 2, 2, 4, 0.1f, 0, 0, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_add_logo(wm, NULL, 2, 2, 8, 0.1f, 0, 0, 1), WMF_ERR_INVALID_ARGUMENT);
  for (int i = 0; i < 8; i++) ck_assert_int_eq(wmf_watermark_add_logo(wm, logo, 2, 2, 8, 0.1f, 0, 0, 1), WMF_OK);
  ck_assert_int_eq(wmf_watermark_add_logo(wm, logo, 2, 2, 8, 0.1f, 0, 0, 1), WMF_ERR_LIMIT);
  wmf_watermark_destroy(wm);
  wmf_watermark_destroy(NULL);

  wm = text_recipe("Liberation Sans", "hello", 20);
  uint8_t m[10];
  ck_assert_int_eq(wmf_watermark_coverage(wm, 64, 64, 0, m, sizeof m), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_watermark_coverage(wm, 0, 64, 0, m, sizeof m), WMF_ERR_INVALID_ARGUMENT);
  char small[3];
  ck_assert_int_eq(wmf_watermark_describe_draw(wm, 64, 64, 0, small, sizeof small, NULL, NULL, NULL),
                   WMF_ERR_BUFFER_TOO_SMALL);
  char text[16];
  float size;
  double x, y;
  ck_assert_int_eq(wmf_watermark_describe_draw(wm, 64, 64, 0, text, sizeof text, &size, &x, &y), WMF_OK);
  ck_assert_str_eq(text, "hello");
  ck_assert_float_eq(size, 20);
  ck_assert_int_eq(wmf_watermark_describe_draw(wm, 64, 64, 0, NULL, 0, &size, &x, &y), WMF_OK);
  wmf_watermark_destroy(wm);
  wmf_image_destroy(im);
}
END_TEST

START_TEST(shaping_can_be_given) {
  wmf_watermark *wm = text_recipe("DejaVu Sans:style=Book", "abc 123", 24);
  ck_assert_int_eq(wmf_watermark_set_shaping(wm, "x_y", NULL, WMF_DIRECTION_AUTO), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_shaping(wm, "", NULL, WMF_DIRECTION_AUTO), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_shaping(wm, NULL, "Dev", WMF_DIRECTION_AUTO), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_shaping(wm, NULL, NULL, (wmf_direction)7), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_shaping(NULL, NULL, NULL, WMF_DIRECTION_AUTO), WMF_ERR_INVALID_ARGUMENT);
  box ltr = coverage_box(wm, 200, 60, 0);
  ck_assert_int_eq(wmf_watermark_set_shaping(wm, "en", "Latn", WMF_DIRECTION_LTR), WMF_OK);
  box given = coverage_box(wm, 200, 60, 0);
  ck_assert_int_eq(ltr.count, given.count);
  ck_assert_int_eq(ltr.x0, given.x0);
  /* a right-to-left paragraph of Hebrew and a number: the number stays in reading order, left of the
   * letters that precede it logically, so the ink differs from a left-to-right paragraph */
  ck_assert_int_eq(wmf_watermark_set_text(wm, "שלום 12 ab"), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_shaping(wm, NULL, NULL, WMF_DIRECTION_RTL), WMF_OK);
  uint8_t a[200 * 60], b[200 * 60];
  ck_assert_int_eq(wmf_watermark_coverage(wm, 200, 60, 0, a, sizeof a), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_shaping(wm, NULL, NULL, WMF_DIRECTION_LTR), WMF_OK);
  ck_assert_int_eq(wmf_watermark_coverage(wm, 200, 60, 0, b, sizeof b), WMF_OK);
  ck_assert_int_ne(memcmp(a, b, sizeof a), 0);
  wmf_watermark_destroy(wm);
}
END_TEST

START_TEST(presets_are_listed_and_work) {
  size_t n = wmf_watermark_preset_count();
  ck_assert_uint_ge(n, 7);
  const char *want[] = {"imagenet-w", "mmw-chinese", "mmw-latin", "mmw-hindi", "mmw-numerals", "stock-tiled", "ch-logo"};
  for (size_t k = 0; k < 7; k++) {
    bool found = false;
    for (size_t i = 0; i < n; i++) found |= strcmp(wmf_watermark_preset_name(i), want[k]) == 0;
    ck_assert_msg(found, "preset %s missing", want[k]);
    ck_assert_ptr_nonnull(wmf_watermark_preset_describe(want[k]));
  }
  ck_assert_ptr_null(wmf_watermark_preset_name(n));
  ck_assert_ptr_null(wmf_watermark_preset_describe("nope"));
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_from_preset(&wm, "nope"), WMF_ERR_NOT_FOUND);
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_eq(wmf_watermark_from_preset(&wm, wmf_watermark_preset_name(i)), WMF_OK);
    box b = coverage_box(wm, 224, 224, 7);
    ck_assert_msg(b.count > 100, "preset %s inks only %ld pixels", wmf_watermark_preset_name(i), b.count);
    wmf_image *im;
    ck_assert_int_eq(wmf_image_create(&im, 224, 224, 10, 20, 30), WMF_OK);
    ck_assert_int_eq(wmf_watermark_apply(wm, im, 7), WMF_OK);
    wmf_image_destroy(im);
    wmf_watermark_destroy(wm);
  }
  /* ImageNet-W sizes: 36 at 224, 62 at 384, 82 at 512 */
  ck_assert_int_eq(wmf_watermark_from_preset(&wm, "imagenet-w"), WMF_OK);
  const uint32_t side[] = {224, 384, 512};
  const float px[] = {36, 62, 82};
  for (int i = 0; i < 3; i++) {
    float size;
    double x, y;
    char text[64];
    ck_assert_int_eq(wmf_watermark_describe_draw(wm, side[i], side[i], 0, text, sizeof text, &size, &x, &y), WMF_OK);
    ck_assert_float_eq(size, px[i]);
    ck_assert_str_eq(text, "捷径捷径捷径");
    ck_assert_double_eq_tol(x, 0.01 * side[i], 1e-9);
    ck_assert_double_eq_tol(y, 0.4 * side[i], 1e-9);
  }
  /* coverage is the layer's alpha: round(255 * 0.5) = 128 at full ink (AddWatermark's
   * round(opacity * 255)), and equals the result on black */
  uint8_t *m = malloc(224 * 224);
  ck_assert_int_eq(wmf_watermark_coverage(wm, 224, 224, 0, m, 224 * 224), WMF_OK);
  wmf_image *im;
  ck_assert_int_eq(wmf_image_create(&im, 224, 224, 0, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply(wm, im, 0), WMF_OK);
  int maxm = 0;
  for (size_t i = 0; i < 224 * 224; i++) {
    if (m[i] > maxm) maxm = m[i];
    ck_assert_int_le(abs(m[i] - wmf_image_pixels(im)[i * 3]), 1);
  }
  ck_assert_int_eq(maxm, 128);
  free(m);
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
}
END_TEST

/* ---- determinism across threads ---- */
static wmf_watermark *shared;
static uint64_t sums[64];

static uint64_t checksum(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static void *render_range(void *arg) {
  int t = *(int *)arg;
  for (int seed = t; seed < 64; seed += 4) {
    wmf_image *im;
    if (wmf_image_create(&im, 224, 224, 50, 60, 70) != WMF_OK) return NULL;
    if (wmf_watermark_apply(shared, im, (uint64_t)seed) == WMF_OK) sums[seed] = checksum(wmf_image_pixels(im), 224 * 224 * 3);
    wmf_image_destroy(im);
  }
  return NULL;
}

START_TEST(deterministic_across_threads) {
  const char *names[] = {"mmw-chinese", "mmw-hindi", "stock-tiled"};
  for (int p = 0; p < 3; p++) {
    uint64_t serial[64];
    ck_assert_int_eq(wmf_watermark_from_preset(&shared, names[p]), WMF_OK);
    for (int seed = 0; seed < 64; seed++) {
      wmf_image *im;
      ck_assert_int_eq(wmf_image_create(&im, 224, 224, 50, 60, 70), WMF_OK);
      ck_assert_int_eq(wmf_watermark_apply(shared, im, (uint64_t)seed), WMF_OK);
      serial[seed] = checksum(wmf_image_pixels(im), 224 * 224 * 3);
      wmf_image_destroy(im);
    }
    wmf_watermark_destroy(shared);
    /* a fresh recipe (cold caches) used by four threads at once */
    ck_assert_int_eq(wmf_watermark_from_preset(&shared, names[p]), WMF_OK);
    memset(sums, 0, sizeof sums);
    pthread_t th[4];
    int ids[4] = {0, 1, 2, 3};
    for (int t = 0; t < 4; t++) ck_assert_int_eq(pthread_create(&th[t], NULL, render_range, &ids[t]), 0);
    for (int t = 0; t < 4; t++) pthread_join(th[t], NULL);
    int distinct = 0;
    for (int seed = 0; seed < 64; seed++) {
      ck_assert_msg(sums[seed] == serial[seed], "%s seed %d differs between threads and serial", names[p], seed);
      distinct += seed && serial[seed] != serial[seed - 1];
    }
    ck_assert_int_gt(distinct, 50); /* seeds matter */
    wmf_watermark_destroy(shared);
  }
}
END_TEST

START_TEST(effects_change_the_mark) {
  wmf_watermark *wm = text_recipe("Liberation Sans", "Watermark", 30);
  ck_assert_int_eq(wmf_watermark_set_position(wm, 0.5, 0.5, "mm"), WMF_OK);
  box plain = coverage_box(wm, 300, 300, 0);
  ck_assert_int_gt(plain.x1 - plain.x0, 2 * (plain.y1 - plain.y0));
  ck_assert_int_le(abs((plain.x0 + plain.x1) / 2 - 150), 3); /* "mm" centers it */
  ck_assert_int_eq(wmf_watermark_set_rotation(wm, 90), WMF_OK);
  box rot = coverage_box(wm, 300, 300, 0);
  ck_assert_int_gt(rot.y1 - rot.y0, 2 * (rot.x1 - rot.x0));
  ck_assert_int_le(labs(rot.count - plain.count), plain.count / 5);
  ck_assert_int_eq(wmf_watermark_set_rotation(wm, 33), WMF_OK);
  box r33 = coverage_box(wm, 300, 300, 0);
  ck_assert_int_gt(r33.y1 - r33.y0, plain.y1 - plain.y0 + 40);
  ck_assert_int_eq(wmf_watermark_set_rotation(wm, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_outline(wm, 2, 0, 0, 0), WMF_OK);
  box outl = coverage_box(wm, 300, 300, 0);
  ck_assert_int_gt(outl.count, plain.count + plain.count / 4);
  ck_assert_int_le(outl.x0, plain.x0 - 1);
  ck_assert_int_eq(wmf_watermark_set_outline(wm, 0, 0, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_shadow(wm, 4, 5, 0, 0, 0, 0.5f), WMF_OK);
  box sh = coverage_box(wm, 300, 300, 0);
  ck_assert_int_ge(sh.x1, plain.x1 + 3);
  ck_assert_int_ge(sh.y1, plain.y1 + 4);
  ck_assert_int_eq(wmf_watermark_set_shadow(wm, 0, 0, 0, 0, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_letter_spacing(wm, 5), WMF_OK);
  box sp = coverage_box(wm, 300, 300, 0);
  ck_assert_int_ge((sp.x1 - sp.x0) - (plain.x1 - plain.x0), 8 * 5 - 2);
  ck_assert_int_eq(wmf_watermark_set_letter_spacing(wm, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_text(wm, "Water\nmark\nthree"), WMF_OK);
  box lines = coverage_box(wm, 300, 300, 0);
  ck_assert_int_gt(lines.y1 - lines.y0, 3 * (plain.y1 - plain.y0));
  ck_assert_int_eq(wmf_watermark_set_tiled(wm, 30, 0.3f, 0.5f), WMF_OK);
  uint8_t *m = malloc(300 * 300);
  ck_assert_int_eq(wmf_watermark_coverage(wm, 300, 300, 1, m, 300 * 300), WMF_OK);
  for (int q = 0; q < 4; q++) { /* every quadrant is inked */
    long c = 0;
    for (int y = (q / 2) * 150; y < (q / 2) * 150 + 150; y++)
      for (int x = (q % 2) * 150; x < (q % 2) * 150 + 150; x++) c += m[y * 300 + x] > 0;
    ck_assert_int_gt(c, 500);
  }
  free(m);
  wmf_watermark_destroy(wm);
}
END_TEST

START_TEST(logos_are_pasted_with_opacity) {
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
  uint8_t logo[20 * 20 * 4];
  for (int i = 0; i < 400; i++) {
    logo[i * 4] = 255;
    logo[i * 4 + 1] = logo[i * 4 + 2] = 0;
    logo[i * 4 + 3] = 255;
  }
  ck_assert_int_eq(wmf_watermark_add_logo(wm, logo, 20, 20, 80, 0.25f, 0.5, 0.5, 0.9f), WMF_OK);
  wmf_image *im;
  ck_assert_int_eq(wmf_image_create(&im, 100, 80, 0, 0, 100), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply(wm, im, 0), WMF_OK);
  const uint8_t *p = wmf_image_pixels(im);
  /* 25 px wide at (50, 40); alpha = 0.9 * 255 -> 230: red 255 * 230 / 255, blue 100 * 25 / 255 */
  const uint8_t *c = p + ((size_t)52 * 100 + 62) * 3;
  ck_assert_int_eq(c[0], 230);
  ck_assert_int_eq(c[1], 0);
  ck_assert_int_le(abs(c[2] - 10), 1);
  ck_assert_int_eq(p[((size_t)39 * 100 + 49) * 3 + 0], 0); /* outside untouched */
  ck_assert_int_eq(p[((size_t)(40 + 25) * 100 + 50) * 3 + 0], 0);
  box b = coverage_box(wm, 100, 80, 0);
  ck_assert_int_eq(b.x0, 50);
  ck_assert_int_eq(b.y0, 40);
  ck_assert_int_eq(b.x1, 74);
  ck_assert_int_eq(b.y1, 64);
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
}
END_TEST

/* ImageNet-W's size table and int(S / 6.22) (off by one from round() at 97, 240, 260, 333 and 518),
 * from the reference size when set, else from the image's shorter side. */
START_TEST(imagenet_w_size_rule) {
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_from_preset(&wm, "imagenet-w"), WMF_OK);
  const uint32_t side[] = {97, 224, 240, 260, 333, 384, 512, 518, 64, 768};
  const float want[] = {15, 36, 38, 41, 53, 62, 82, 84, 10, 123};
  for (int i = 0; i < 10; i++) {
    float size;
    ck_assert_int_eq(wmf_watermark_describe_draw(wm, side[i], side[i], 0, NULL, 0, &size, NULL, NULL), WMF_OK);
    ck_assert_msg(size == want[i], "%u px: size %g, want %g", side[i], (double)size, (double)want[i]);
  }
  /* the reference size wins over the image's: AddWatermark(224) on a 300 x 200 image draws 36 px at
   * (3, 80) */
  ck_assert_int_eq(wmf_watermark_reference_size(wm), 0);
  ck_assert_int_eq(wmf_watermark_set_reference_size(wm, 224), WMF_OK);
  ck_assert_int_eq(wmf_watermark_reference_size(wm), 224);
  float size;
  double x, y;
  ck_assert_int_eq(wmf_watermark_describe_draw(wm, 300, 200, 0, NULL, 0, &size, &x, &y), WMF_OK);
  ck_assert_float_eq(size, 36);
  ck_assert_double_eq_tol(x, 3.0, 1e-12);
  ck_assert_double_eq_tol(y, 80.0, 1e-12);
  ck_assert_int_eq(wmf_watermark_set_reference_size(wm, (1u << 20) + 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_reference_size(wm), 224);
  /* relative sizes use it too; set_size leaves the table rule */
  ck_assert_int_eq(wmf_watermark_set_size_relative(wm, 0.5f), WMF_OK);
  ck_assert_int_eq(wmf_watermark_describe_draw(wm, 300, 200, 0, NULL, 0, &size, NULL, NULL), WMF_OK);
  ck_assert_float_eq(size, 112);
  ck_assert_int_eq(wmf_watermark_set_size_imagenet_w(NULL), WMF_ERR_INVALID_ARGUMENT);
  wmf_watermark_destroy(wm);
}
END_TEST

/* The 1.1 recipe steps: anchor, JPEG re-save, explicit draws, native-size logos. */
START_TEST(anchor_jpeg_and_explicit_draws) {
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_from_preset(&wm, "mmw-latin"), WMF_OK);
  ck_assert_int_eq(wmf_watermark_jpeg_quality(wm), 75);
  ck_assert_int_eq(wmf_watermark_set_jpeg_quality(wm, 101), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_jpeg_quality(wm, -1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_jpeg_quality(wm), 75);
  ck_assert_int_eq(wmf_watermark_set_anchor(wm, "xx"), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_anchor(wm, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(wm->anchor, "ls");
  ck_assert_int_eq(wm->placement, WMF_PLACE_RANDOM);
  /* every 1.1 setting changes the recipe line an audit's provenance records */
  char line0[4096], line1[4096];
  ck_assert_int_eq(wmf_watermark_recipe(line0, sizeof line0, NULL, wm), WMF_OK);
  ck_assert_ptr_nonnull(strstr(line0, " jpeg=75 "));
  ck_assert_int_eq(wmf_watermark_set_reference_size(wm, 224), WMF_OK);
  ck_assert_int_eq(wmf_watermark_recipe(line1, sizeof line1, NULL, wm), WMF_OK);
  ck_assert_str_ne(line0, line1);
  ck_assert_int_eq(wmf_watermark_set_dotted_circle(wm, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_recipe(line0, sizeof line0, NULL, wm), WMF_OK);
  ck_assert_str_ne(line0, line1);
  ck_assert_int_eq(wmf_watermark_set_font_metrics(wm, 0.8f, -0.2f), WMF_OK);
  ck_assert_int_eq(wmf_watermark_recipe(line1, sizeof line1, NULL, wm), WMF_OK);
  ck_assert_str_ne(line0, line1);
  ck_assert_int_eq(wmf_watermark_set_font_metrics(wm, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_dotted_circle(wm, 1), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_reference_size(wm, 0), WMF_OK);
  ck_assert_int_eq(wmf_watermark_set_font_metrics(wm, 0.5f, 0.1f), WMF_ERR_INVALID_ARGUMENT);
  /* an explicit draw is the seeded one for describe_draw's text and point, JPEG step included */
  char text[64];
  float size;
  double x, y;
  ck_assert_int_eq(wmf_watermark_describe_draw(wm, 224, 224, 5, text, sizeof text, &size, &x, &y), WMF_OK);
  wmf_image *a, *b;
  ck_assert_int_eq(wmf_image_create(&a, 224, 224, 40, 90, 140), WMF_OK);
  ck_assert_int_eq(wmf_image_create(&b, 224, 224, 40, 90, 140), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply(wm, a, 5), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply_draw(wm, b, text, x, y), WMF_OK);
  ck_assert_mem_eq(wmf_image_pixels(a), wmf_image_pixels(b), 224 * 224 * 3);
  /* with the JPEG step off the result differs from the re-saved one */
  ck_assert_int_eq(wmf_watermark_set_jpeg_quality(wm, 0), WMF_OK);
  wmf_image_destroy(b);
  ck_assert_int_eq(wmf_image_create(&b, 224, 224, 40, 90, 140), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply_draw(wm, b, text, x, y), WMF_OK);
  long changed_far = 0;
  for (size_t i = 0; i < 224 * 224 * 3; i++) changed_far += wmf_image_pixels(b)[i] != wmf_image_pixels(a)[i];
  ck_assert_int_gt(changed_far, 0);
  /* errors leave the image unchanged */
  wmf_image_destroy(b);
  ck_assert_int_eq(wmf_image_create(&b, 32, 32, 1, 2, 3), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply_draw(wm, b, "\xff", 1, 1), WMF_ERR_UTF8);
  ck_assert_int_eq(wmf_watermark_apply_draw(wm, b, NULL, 1, 1), WMF_ERR_STATE); /* a pool, no fixed text */
  ck_assert_int_eq(wmf_watermark_apply_draw(wm, b, "A", NAN, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_apply_draw(NULL, b, "A", 1, 1), WMF_ERR_INVALID_ARGUMENT);
  for (size_t i = 0; i < 32 * 32 * 3; i++) ck_assert_int_eq(wmf_image_pixels(b)[i], i % 3 + 1);
  wmf_image_destroy(a);
  wmf_image_destroy(b);
  wmf_watermark_destroy(wm);
}
END_TEST

/* CH_datasets' paste: int(a * 0.9) as Python computes it (a double 0.9: int(10 * 0.9) = 9, where a float
 * 0.9f would give 8), DIV255 blending, clipping at every edge. */
START_TEST(native_logos_paste_as_pil) {
  wmf_watermark *wm;
  ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
  uint8_t logo[3 * 2 * 4] = {200, 10, 0, 10, 0, 255, 0, 255, 9, 9, 9, 0, 100, 100, 100, 128, 1, 2, 3, 1, 7, 7, 7, 254};
  ck_assert_int_eq(wmf_watermark_add_logo_at(wm, logo, 3, 2, 12, 1, 1, 0.9), WMF_OK);
  ck_assert_int_eq(wmf_watermark_add_logo_at(wm, logo, 3, 2, 12, -2, -1, 0.9), WMF_OK); /* clipped */
  ck_assert_int_eq(wmf_watermark_logo_count(wm), 2);
  wmf_image *im;
  ck_assert_int_eq(wmf_image_create(&im, 4, 3, 50, 60, 70), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply(wm, im, 0), WMF_OK);
  const uint8_t *p = wmf_image_pixels(im);
  /* pixel (1, 1) gets logo (0, 0): a = int(10 * 0.9) = 9, red DIV255(50 * 246 + 200 * 9) = 55 */
  ck_assert_int_eq(p[(1 * 4 + 1) * 3 + 0], 55);
  /* pixel (2, 1) gets logo (1, 0): a = int(255 * 0.9) = 229, green DIV255(60 * 26 + 255 * 229) = 235 */
  ck_assert_int_eq(p[(1 * 4 + 2) * 3 + 1], 235);
  /* pixel (0, 0) gets logo (2, 1) of the clipped copy: a = int(254 * 0.9) = 228 */
  ck_assert_int_eq(p[0], (50 * 27 + 7 * 228 + 128 + ((50 * 27 + 7 * 228 + 128) >> 8)) >> 8);
  ck_assert_int_eq(p[(2 * 4 + 0) * 3], 50); /* untouched */
  uint8_t rgba[4] = {0};
  ck_assert_int_eq(wmf_watermark_add_logo_at(wm, rgba, 1, 1, 4, 0, 0, 1.5), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_add_logo_at(wm, rgba, 1, 1, 3, 0, 0, 0.5), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_watermark_set_logo_file(wm, 5, "x.png"), WMF_ERR_NOT_FOUND);
  ck_assert_int_eq(wmf_watermark_add_logo_file(wm, "/nonexistent/logo.png", 0, 0, 0.9), WMF_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "/nonexistent/logo.png"));
  ck_assert_int_eq(wmf_watermark_logo_count(wm), 2);
  /* a file logo keeps its alpha: written as a PNG through the image module's RGBA path */
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
  /* the ch-logo preset: two stand-ins at (10, 110) and (142, 208), 210 x 18 and 80 x 12 */
  ck_assert_int_eq(wmf_watermark_from_preset(&wm, "ch-logo"), WMF_OK);
  ck_assert_int_eq(wmf_watermark_logo_count(wm), 2);
  box b = coverage_box(wm, 224, 224, 0);
  ck_assert_int_ge(b.x0, 10);
  ck_assert_int_ge(b.y0, 110);
  ck_assert_int_le(b.x1, 142 + 79);
  ck_assert_int_le(b.y1, 208 + 11);
  ck_assert_int_le(b.x0, 14);
  ck_assert_int_ge(b.y1, 210);
  wmf_watermark_destroy(wm);
}
END_TEST

START_TEST(failed_apply_leaves_image_unchanged) {
  wmf_watermark *wm = text_recipe("Liberation Sans", "ok \xf4\x8f\xbf\xbd", 20);
  wmf_image *im;
  ck_assert_int_eq(wmf_image_create(&im, 64, 64, 9, 9, 9), WMF_OK);
  ck_assert_int_eq(wmf_watermark_apply(wm, im, 0), WMF_ERR_FONT);
  for (size_t i = 0; i < 64 * 64 * 3; i++) ck_assert_int_eq(wmf_image_pixels(im)[i], 9);
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
}
END_TEST

/* fontconfig 2.14 leaks a few bytes while parsing its XML configuration, once per process (not ours) */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

int main(void) {
  Suite *s = suite_create("watermark");
  TCase *tc = tcase_create("api");
  tcase_add_test(tc, font_open_and_find);
  tcase_add_test(tc, missing_fonts_are_named);
  tcase_add_test(tc, bad_utf8_is_refused);
  tcase_add_test(tc, strict_utf8_reasons);
  tcase_add_test(tc, very_long_text_is_a_limit_not_out_of_memory);
  tcase_add_test(tc, missing_characters_use_fallback_or_fail);
  tcase_add_test(tc, argument_and_state_errors);
  tcase_add_test(tc, shaping_can_be_given);
  tcase_add_test(tc, presets_are_listed_and_work);
  tcase_add_test(tc, deterministic_across_threads);
  tcase_add_test(tc, effects_change_the_mark);
  tcase_add_test(tc, logos_are_pasted_with_opacity);
  tcase_add_test(tc, failed_apply_leaves_image_unchanged);
  tcase_add_test(tc, imagenet_w_size_rule);
  tcase_add_test(tc, anchor_jpeg_and_explicit_draws);
  tcase_add_test(tc, native_logos_paste_as_pil);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
