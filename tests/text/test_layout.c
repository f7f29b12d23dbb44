/* The text module's layout (lib/text/layout.c, libraqm as PIL uses it): bidi controls reorder as
 * FriBiDi orders them, fallback fonts are passed to raqm per character range, empty lines, and the two
 * settings raqm has no parameter for (a given script, no dotted circle), which apply to a line of one
 * left-to-right run of one font and are refused with WMF_ERR_UNSUPPORTED elsewhere. Pixel parity with
 * PIL is tests/text/test_layout_parity.py. */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <raqm.h>

#include "text/text.h"
#include "../check_run.h"

/* raqm's failures, injected: the test is linked with -Wl,--wrap=raqm_create,--wrap=raqm_layout */
static bool fail_create, fail_layout;
raqm_t *__real_raqm_create(void);
raqm_t *__wrap_raqm_create(void);
raqm_t *__wrap_raqm_create(void) { return fail_create ? NULL : __real_raqm_create(); }
bool __real_raqm_layout(raqm_t *rq);
bool __wrap_raqm_layout(raqm_t *rq);
bool __wrap_raqm_layout(raqm_t *rq) { return fail_layout ? false : __real_raqm_layout(rq); }

#define TAG(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static wmf_font *find(const char *pattern) {
  wmf_font *f;
  ck_assert_msg(wmf_font_find(&f, pattern) == WMF_OK, "%s", wmf_last_error());
  return f;
}

static wmfi_text_style style(uint32_t px) {
  wmfi_text_style s;
  memset(&s, 0, sizeof s);
  s.size_px = px;
  s.fallback = true;
  return s;
}

/* Lays out UTF-8 `text`; returns the status, *out filled on WMF_OK. */
static wmf_status lay(wmfi_layout *out, wmf_font *f, const char *text, const wmfi_text_style *s) {
  uint32_t *cps;
  size_t n;
  ck_assert_int_eq(wmfi_utf8_decode("test", text, &cps, &n), WMF_OK);
  wmf_status st = wmfi_layout_text(out, f, cps, n, s);
  wmfi_free(cps);
  return st;
}

/* The cached bitmap of the one visible glyph of `text` (the glyph cache hands out the same pointer). */
static const wmfi_glyph *glyph_of(wmf_font *f, const char *text, const wmfi_text_style *s) {
  wmfi_layout l;
  ck_assert_int_eq(lay(&l, f, text, s), WMF_OK);
  ck_assert_uint_eq(l.count, 1);
  const wmfi_glyph *g = l.glyphs[0].fill;
  wmfi_layout_free(&l);
  return g;
}

static size_t index_of(const wmfi_layout *l, const wmfi_glyph *g) {
  for (size_t i = 0; i < l->count; i++)
    if (l->glyphs[i].fill == g) return i;
  ck_abort_msg("glyph not in the layout");
  return 0;
}

START_TEST(override_reverses_latin) {
  /* U+202E RLO ... U+202C PDF: FriBiDi puts "ab" right to left (b before a); a left-to-right
   * paragraph without it keeps a before b */
  wmf_font *f = find("DejaVu Sans:style=Book");
  wmfi_text_style s = style(24);
  const wmfi_glyph *a = glyph_of(f, "a", &s), *b = glyph_of(f, "b", &s);
  wmfi_layout l;
  ck_assert_int_eq(lay(&l, f, "x \u202eab\u202c y", &s), WMF_OK);
  ck_assert_uint_lt(index_of(&l, b), index_of(&l, a));
  ck_assert_int_lt(l.glyphs[index_of(&l, b)].x, l.glyphs[index_of(&l, a)].x);
  wmfi_layout_free(&l);
  ck_assert_int_eq(lay(&l, f, "x ab y", &s), WMF_OK);
  ck_assert_uint_lt(index_of(&l, a), index_of(&l, b));
  wmfi_layout_free(&l);
  /* an isolate of left-to-right text in a right-to-left paragraph stays in reading order inside */
  ck_assert_int_eq(lay(&l, f, "\u2067ab\u2069", &s), WMF_OK);
  ck_assert_uint_lt(index_of(&l, a), index_of(&l, b));
  wmfi_layout_free(&l);
  wmf_font_destroy(f);
}
END_TEST

START_TEST(fallback_faces_per_range) {
  /* DejaVu Sans has no CJK: fontconfig's font draws 捷径 inside the same raqm layout */
  wmf_font *f = find("DejaVu Sans:style=Book");
  wmfi_text_style s = style(24);
  wmfi_layout l;
  ck_assert_int_eq(lay(&l, f, "ab 捷径 cd", &s), WMF_OK);
  ck_assert_uint_eq(l.count, 8);
  for (size_t i = 1; i < l.count; i++) ck_assert_int_gt(l.glyphs[i].x, l.glyphs[i - 1].x);
  ck_assert_int_gt(l.advance, 0);
  wmfi_layout_free(&l);
  s.fallback = false;
  ck_assert_int_eq(lay(&l, f, "ab 捷径 cd", &s), WMF_ERR_FONT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "U+6377"));
  wmf_font_destroy(f);
}
END_TEST

START_TEST(empty_lines) {
  wmf_font *f = find("DejaVu Sans:style=Book");
  wmfi_text_style s = style(20);
  wmfi_layout l;
  ck_assert_int_eq(lay(&l, f, "", &s), WMF_OK);
  ck_assert_uint_eq(l.count, 0);
  ck_assert_int_eq(l.advance, 0);
  wmfi_layout_free(&l);
  ck_assert_int_eq(lay(&l, f, "\n\nab\n", &s), WMF_OK);
  ck_assert_uint_eq(l.count, 2);
  ck_assert_int_eq(l.advance, 0);          /* the first line is empty */
  ck_assert_int_lt(l.glyphs[0].y, -2 * 64); /* "ab" two lines down */
  wmfi_layout_free(&l);
  wmf_font_destroy(f);
}
END_TEST

START_TEST(given_script) {
  wmf_font *f = find("DejaVu Sans:style=Book");
  wmfi_text_style s = style(24);
  wmfi_layout auto_, given;
  /* the detected script: raqm's layout, unchanged */
  ck_assert_int_eq(lay(&auto_, f, "abc 123", &s), WMF_OK);
  s.script = TAG('L', 'a', 't', 'n');
  ck_assert_int_eq(lay(&given, f, "abc 123", &s), WMF_OK);
  ck_assert_uint_eq(auto_.count, given.count);
  for (size_t i = 0; i < given.count; i++) {
    ck_assert_ptr_eq(auto_.glyphs[i].fill, given.glyphs[i].fill);
    ck_assert_int_eq(auto_.glyphs[i].x, given.glyphs[i].x);
  }
  wmfi_layout_free(&given);
  /* another script on one left-to-right run of one font: shaped with it */
  s.script = TAG('D', 'e', 'v', 'a');
  ck_assert_int_eq(lay(&given, f, "abc 123", &s), WMF_OK);
  ck_assert_uint_eq(given.count, auto_.count);
  wmfi_layout_free(&given);
  wmfi_layout_free(&auto_);
  /* on text of two directions raqm cannot take it: refused, naming the script */
  s.script = TAG('A', 'r', 'a', 'b');
  ck_assert_int_eq(lay(&given, f, "abc مرحبا", &s), WMF_ERR_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "'Arab'"));
  /* nor with a right-to-left paragraph */
  s.script = TAG('C', 'y', 'r', 'l');
  s.direction = WMF_DIRECTION_RTL;
  ck_assert_int_eq(lay(&given, f, "abc", &s), WMF_ERR_UNSUPPORTED);
  wmf_font_destroy(f);
}
END_TEST

START_TEST(dotted_circle) {
  /* U+093E (vowel sign AA) without a consonant: HarfBuzz draws it on a dotted circle unless refused */
  wmf_font *f = find("Noto Sans Devanagari:style=Regular");
  wmfi_text_style s = style(30);
  wmfi_layout with, without;
  ck_assert_int_eq(lay(&with, f, "\u093eक", &s), WMF_OK);
  s.no_dotted_circle = true;
  ck_assert_int_eq(lay(&without, f, "\u093eक", &s), WMF_OK);
  ck_assert_uint_eq(with.count, 3);
  ck_assert_uint_eq(without.count, 2);
  ck_assert_ptr_eq(with.glyphs[1].fill, without.glyphs[0].fill);
  ck_assert_ptr_eq(with.glyphs[2].fill, without.glyphs[1].fill);
  ck_assert_int_lt(without.advance, with.advance);
  wmfi_layout_free(&with);
  wmfi_layout_free(&without);
  /* no circle to refuse: raqm's layout, also with other scripts and fonts in the line */
  ck_assert_int_eq(lay(&without, f, "कि مرحبا", &s), WMF_OK);
  wmfi_layout_free(&without);
  /* a circle in a line of two directions and fonts: refused */
  ck_assert_int_eq(lay(&without, f, "\u093eक مرحبا", &s), WMF_ERR_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "dotted circle"));
  wmf_font_destroy(f);
}
END_TEST

START_TEST(raqm_failures) {
  /* a line of two directions goes through raqm: its failures become statuses, the layout is empty and
   * the font usable afterwards */
  wmf_font *f = find("DejaVu Sans:style=Book");
  wmfi_text_style s = style(24);
  wmfi_layout l;
  fail_create = true;
  ck_assert_int_eq(lay(&l, f, "abc مرحبا", &s), WMF_ERR_OUT_OF_MEMORY);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "raqm_create"));
  ck_assert_ptr_null(l.glyphs);
  ck_assert_uint_eq(l.count, 0);
  fail_create = false;
  fail_layout = true;
  ck_assert_int_eq(lay(&l, f, "ab\nabc مرحبا", &s), WMF_ERR_BACKEND);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "raqm could not lay out a line of 9 characters"));
  ck_assert_ptr_null(l.glyphs);
  /* a line of one run does not need raqm */
  ck_assert_int_eq(lay(&l, f, "abc", &s), WMF_OK);
  wmfi_layout_free(&l);
  fail_layout = false;
  ck_assert_int_eq(lay(&l, f, "abc مرحبا", &s), WMF_OK);
  ck_assert_uint_eq(l.count, 9);
  wmfi_layout_free(&l);
  wmf_font_destroy(f);
}
END_TEST

/* fontconfig 2.14 leaks a few bytes while parsing its XML configuration, once per process (not ours) */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

int main(void) {
  Suite *s = suite_create("text_layout");
  TCase *tc = tcase_create("layout");
  tcase_add_test(tc, override_reverses_latin);
  tcase_add_test(tc, fallback_faces_per_range);
  tcase_add_test(tc, empty_lines);
  tcase_add_test(tc, given_script);
  tcase_add_test(tc, dotted_circle);
  tcase_add_test(tc, raqm_failures);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
