/* Parity with PIL 9.4 (raqm): the same draws rendered by libwmfeat and by tests/watermark/pil_ref.py
 * (run here with REF_PYTHON), on skimage photos and flat backgrounds; every one of the 71 cases must be
 * identical (maximum absolute difference 0 in every channel of every pixel, and PIL inked pixels; the
 * measured figures are in docs/watermarks.md):
 *  - imagenet-w as PIL draws it (RGBA layer, alpha 128, alpha_composite);
 *  - the Mark My Words presets for the drawn text and point (JPEG step, Chinese ascender and Hindi
 *    dotted circles as PIL with the stand-in fonts: the presets' settings are checked in test_mmw.py);
 *  - Devanagari (conjuncts, vowel signs), Arabic (joining, right to left), kerned Latin and
 *    mixed-direction text against raqm's shaping;
 *  - colored marks at opacity 1 and below, with a colored outline (PIL's stroke_fill) and a colored
 *    shadow (its own layer, composited first).
 * The presets' own parameters are checked against the original code in test_imagenet_w.py and
 * test_mmw.py; this test checks the renderer on more scripts and backgrounds. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "watermark/watermark_internal.h"
#include "../check_run.h"

static char dir[512];
static FILE *spec;
static int ncases;

typedef struct kase {
  char in[600], mine[600], ref[600];
  const char *kind; /* "imagenet-w", "mmw", "script", "color" */
  char label[160];
} kase;
static kase cases[128];

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static wmf_image *photo(const char *name, uint32_t size) {
  char path[512];
  snprintf(path, sizeof path, "/usr/lib/python3/dist-packages/skimage/data/%s", name);
  wmf_image *im, *r;
  ck_assert_msg(wmf_image_load(&im, path, NULL) == WMF_OK, "%s: %s", path, wmf_last_error());
  uint32_t w = wmf_image_width(im), h = wmf_image_height(im);
  ck_assert_uint_ge(w, size);
  ck_assert_uint_ge(h, size);
  /* a centered crop (the image module's resize is not needed for parity) */
  const uint8_t *p = wmf_image_pixels(im) + ((size_t)(h - size) / 2 * w + (w - size) / 2) * 3;
  ck_assert_int_eq(wmf_image_from_pixels(&r, p, size, size, (size_t)w * 3, WMF_PIXEL_RGB8), WMF_OK);
  wmf_image_destroy(im);
  return r;
}

/* Adds a case: saves the input, renders ours, writes the spec line for PIL. */
static void add_case_with(const char *kind, const char *label, wmf_image *im, const wmf_watermark *wm, uint64_t seed,
                          bool layer, const char *anchor, const uint8_t fill[4], bool relative, const char *extra) {
  kase *k = &cases[ncases];
  k->kind = kind;
  snprintf(k->label, sizeof k->label, "%s", label);
  snprintf(k->in, sizeof k->in, "%s/in%d.png", dir, ncases);
  snprintf(k->mine, sizeof k->mine, "%s/mine%d.png", dir, ncases);
  snprintf(k->ref, sizeof k->ref, "%s/ref%d.png", dir, ncases);
  ck_assert_int_eq(wmf_image_save(im, k->in, 0), WMF_OK);
  char text[2048];
  float size;
  double x, y;
  uint32_t w = wmf_image_width(im), h = wmf_image_height(im);
  ck_assert_msg(wmf_watermark_describe_draw(wm, w, h, seed, text, sizeof text, &size, &x, &y) == WMF_OK, "%s",
                wmf_last_error());
  ck_assert_msg(wmf_watermark_apply(wm, im, seed) == WMF_OK, "%s", wmf_last_error());
  ck_assert_int_eq(wmf_image_save(im, k->mine, 0), WMF_OK);
  fprintf(spec, "{\"in\": ");
  json_str(spec, k->in);
  fprintf(spec, ", \"out\": ");
  json_str(spec, k->ref);
  fprintf(spec, ", \"font\": ");
  json_str(spec, wmf_font_path(wm->font));
  fprintf(spec, ", \"index\": %d, \"size\": %d, \"text\": ", wmf_font_face_index(wm->font), (int)size);
  json_str(spec, text);
  if (relative) fprintf(spec, ", \"rel\": [%.17g, %.17g]", wm->fx, wm->fy);
  else fprintf(spec, ", \"xy\": [%.17g, %.17g]", x, y);
  fprintf(spec, ", \"anchor\": \"%s\", \"fill\": [%d, %d, %d, %d], \"layer\": %s%s}\n", anchor, fill[0], fill[1],
          fill[2], fill[3], layer ? "true" : "false", extra);
  ncases++;
}

static void add_case(const char *kind, const char *label, wmf_image *im, const wmf_watermark *wm, uint64_t seed,
                     bool layer, const char *anchor, const uint8_t fill[4], bool relative) {
  add_case_with(kind, label, im, wm, seed, layer, anchor, fill, relative, "");
}

typedef struct stats {
  double mean_abs, iou;
  int max_abs;    /* largest |ours - PIL| over every channel of every pixel */
  long differing; /* pixels with any channel different */
  long ink_ref;   /* pixels PIL changed */
  int box_mine[4], box_ref[4]; /* x0, y0, x1, y1 of inked pixels */
} stats;

static void compare(const kase *k, stats *s) {
  s->differing = 0;
  s->max_abs = 0;
  s->ink_ref = 0;
  wmf_image *in, *a, *b;
  ck_assert_int_eq(wmf_image_load(&in, k->in, NULL), WMF_OK);
  ck_assert_int_eq(wmf_image_load(&a, k->mine, NULL), WMF_OK);
  ck_assert_msg(wmf_image_load(&b, k->ref, NULL) == WMF_OK, "PIL output missing: %s", k->ref);
  uint32_t w = wmf_image_width(in), h = wmf_image_height(in);
  ck_assert(wmf_image_width(a) == w && wmf_image_height(a) == h && wmf_image_width(b) == w && wmf_image_height(b) == h);
  const uint8_t *pi = wmf_image_pixels(in), *pa = wmf_image_pixels(a), *pb = wmf_image_pixels(b);
  double sum = 0;
  long inter = 0, uni = 0;
  int bm[4] = {1 << 30, 1 << 30, -1, -1}, br[4] = {1 << 30, 1 << 30, -1, -1};
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++) {
      size_t i = ((size_t)y * w + x) * 3;
      bool ia = false, ib = false, d = false;
      for (int c = 0; c < 3; c++) {
        int ad = abs(pa[i + c] - pb[i + c]);
        d |= ad != 0;
        sum += ad;
        if (ad > s->max_abs) s->max_abs = ad;
        ia |= pa[i + c] != pi[i + c];
        ib |= pb[i + c] != pi[i + c];
      }
      s->differing += d;
      s->ink_ref += ib;
      inter += ia && ib;
      uni += ia || ib;
      int *bx[2] = {ia ? bm : NULL, ib ? br : NULL};
      for (int q = 0; q < 2; q++)
        if (bx[q]) {
          if ((int)x < bx[q][0]) bx[q][0] = (int)x;
          if ((int)y < bx[q][1]) bx[q][1] = (int)y;
          if ((int)x > bx[q][2]) bx[q][2] = (int)x;
          if ((int)y > bx[q][3]) bx[q][3] = (int)y;
        }
    }
  s->mean_abs = sum / ((double)w * h * 3);
  s->iou = uni ? (double)inter / uni : 1.0;
  memcpy(s->box_mine, bm, sizeof bm);
  memcpy(s->box_ref, br, sizeof br);
  wmf_image_destroy(in);
  wmf_image_destroy(a);
  wmf_image_destroy(b);
}

static wmf_watermark *preset(const char *name) {
  wmf_watermark *wm;
  ck_assert_msg(wmf_watermark_from_preset(&wm, name) == WMF_OK, "%s: %s", name, wmf_last_error());
  return wm;
}

START_TEST(parity_with_pil) {
  const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(dir, sizeof dir, "%s/wmf_parity_XXXXXX", tmp);
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char spec_path[600];
  snprintf(spec_path, sizeof spec_path, "%s/spec.jsonl", dir);
  spec = fopen(spec_path, "w");
  ck_assert_ptr_nonnull(spec);

  /* ImageNet-W on photos and flat backgrounds, at the three table sizes and two others */
  wmf_watermark *inw = preset("imagenet-w");
  const uint8_t half_white[4] = {255, 255, 255, 128}, white[4] = {255, 255, 255, 255};
  const char *photos[] = {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "camera.png", "brick.png"};
  for (size_t i = 0; i < sizeof photos / sizeof *photos; i++) {
    wmf_image *im = photo(photos[i], 224);
    add_case("imagenet-w", photos[i], im, inw, 0, true, "la", half_white, true);
    wmf_image_destroy(im);
  }
  const uint32_t sizes[] = {224, 384, 512, 300, 97};
  const uint8_t flats[][3] = {{0, 0, 0}, {128, 128, 128}, {20, 60, 200}, {250, 250, 250}};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    for (size_t j = 0; j < sizeof flats / sizeof *flats; j++) {
      wmf_image *im;
      ck_assert_int_eq(wmf_image_create(&im, sizes[i], sizes[i], flats[j][0], flats[j][1], flats[j][2]), WMF_OK);
      char label[64];
      snprintf(label, sizeof label, "flat %u (%d,%d,%d)", sizes[i], flats[j][0], flats[j][1], flats[j][2]);
      add_case("imagenet-w", label, im, inw, 0, true, "la", half_white, true);
      wmf_image_destroy(im);
    }
  wmf_watermark_destroy(inw);

  /* Mark My Words presets: PIL draws the text we drew, where we put it */
  const char *mmw[] = {"mmw-chinese", "mmw-latin", "mmw-hindi", "mmw-numerals"};
  for (size_t p = 0; p < 4; p++) {
    wmf_watermark *wm = preset(mmw[p]);
    /* the renderer as PIL runs it with the stand-in fonts: the JPEG step, mmw-chinese's SongTi ascender
     * and mmw-hindi's missing dotted circle are checked against the notebook in test_mmw.py */
    ck_assert_int_eq(wmf_watermark_set_jpeg_quality(wm, 0), WMF_OK);
    ck_assert_int_eq(wmf_watermark_set_font_metrics(wm, 0, 0), WMF_OK);
    ck_assert_int_eq(wmf_watermark_set_dotted_circle(wm, 1), WMF_OK);
    for (uint64_t seed = 1; seed <= 6; seed++) {
      wmf_image *im = seed <= 4 ? NULL : photo(seed == 5 ? "coffee.png" : "astronaut.png", 224);
      if (!im) ck_assert_int_eq(wmf_image_create(&im, 224, 224, 40, 40 + 30 * (uint8_t)seed, 90), WMF_OK);
      char label[64];
      snprintf(label, sizeof label, "%s seed %llu", mmw[p], (unsigned long long)seed);
      add_case("mmw", label, im, wm, seed, false, wm->anchor, white, false);
      wmf_image_destroy(im);
    }
    wmf_watermark_destroy(wm);
  }

  /* complex scripts against raqm: fixed text drawn opaque at a fixed point */
  /* (fallback off: PIL has none, so every character must come from the font) */
  struct { const char *font, *text; } scripts[] = {
      {"Noto Sans Devanagari", "क्षत्रिय हिन्दी कृष्ण"},
      {"Noto Naskh Arabic", "مرحبا بالعالم"},
      {"Liberation Sans", "AVATAR Wave, Today"},
      {"DejaVu Sans:style=Book", "عدد 123 كتاب"},      /* digits inside right-to-left text */
      {"DejaVu Sans:style=Book", "Hello مرحبا world"}, /* Arabic inside left-to-right text */
      {"DejaVu Sans:style=Book", "שלום עולם 2024!"},   /* Hebrew, number, trailing neutral */
      {"DejaVu Sans:style=Book", "رقم ٣٤٥ (ok)"},      /* Arabic-Indic digits, Latin, brackets */
  };
  for (size_t p = 0; p < sizeof scripts / sizeof *scripts; p++) {
    wmf_watermark *wm;
    wmf_font *f;
    ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
    ck_assert_msg(wmf_font_find(&f, scripts[p].font) == WMF_OK, "%s", wmf_last_error());
    ck_assert_int_eq(wmf_watermark_set_font(wm, f), WMF_OK);
    wmf_font_destroy(f);
    ck_assert_int_eq(wmf_watermark_set_text(wm, scripts[p].text), WMF_OK);
    ck_assert_int_eq(wmf_watermark_set_fallback(wm, 0), WMF_OK);
    ck_assert_int_eq(wmf_watermark_set_size(wm, 28), WMF_OK);
    ck_assert_int_eq(wmf_watermark_set_position(wm, 0.05, 0.5, "ls"), WMF_OK);
    wmf_image *im;
    ck_assert_int_eq(wmf_image_create(&im, 320, 96, 30, 30, 30), WMF_OK);
    char label[128];
    snprintf(label, sizeof label, "%s %zu", scripts[p].font, p);
    add_case("script", label, im, wm, 0, false, "ls", white, false);
    wmf_image_destroy(im);
    wmf_watermark_destroy(wm);
  }

  /* colored marks (the ink color kept at any coverage, as PIL's fill_mask_L on a transparent layer), at
   * opacity 1 and below, with a colored outline (PIL's stroke_width / stroke_fill in the same draw) and a
   * colored shadow (the text drawn again at the offset on a layer of its own, composited first), on a
   * photo and a flat background */
  struct {
    const char *label;
    uint8_t color[3];
    float opacity;
    bool layer;         /* false: drawn directly on the RGB image (opaque only) */
    int outline;        /* stroke width in pixels, 0 = none */
    uint8_t outline_color[3];
    int shadow_dx, shadow_dy; /* both 0 = no shadow */
    uint8_t shadow_color[3];
    float shadow_opacity;
  } colored[] = {
      {"red 1", {255, 0, 0}, 1.0f, true, 0, {0}, 0, 0, {0}, 0},
      {"red 1 direct", {255, 0, 0}, 1.0f, false, 0, {0}, 0, 0, {0}, 0},
      {"blue 0.6", {0, 128, 255}, 0.6f, true, 0, {0}, 0, 0, {0}, 0},
      {"yellow 0.8 outline", {255, 220, 0}, 0.8f, true, 2, {0, 0, 160}, 0, 0, {0}, 0},
      {"green 1 outline", {0, 200, 60}, 1.0f, true, 1, {90, 0, 90}, 0, 0, {0}, 0},
      {"blue 1 shadow", {0, 128, 255}, 1.0f, true, 0, {0}, 3, 2, {200, 0, 0}, 0.5f},
      {"orange 0.6 outline shadow", {255, 140, 0}, 0.6f, true, 2, {20, 20, 120}, -2, 3, {0, 90, 0}, 0.7f},
  };
  for (size_t p = 0; p < sizeof colored / sizeof *colored; p++)
    for (int bg = 0; bg < 2; bg++) {
      wmf_watermark *wm;
      wmf_font *f;
      ck_assert_int_eq(wmf_watermark_create(&wm), WMF_OK);
      ck_assert_msg(wmf_font_find(&f, "Liberation Sans") == WMF_OK, "%s", wmf_last_error());
      ck_assert_int_eq(wmf_watermark_set_font(wm, f), WMF_OK);
      wmf_font_destroy(f);
      ck_assert_int_eq(wmf_watermark_set_text(wm, "Colour Mark 42"), WMF_OK);
      ck_assert_int_eq(wmf_watermark_set_size(wm, 30), WMF_OK);
      ck_assert_int_eq(wmf_watermark_set_position(wm, 0.04, 0.55, "ls"), WMF_OK);
      ck_assert_int_eq(wmf_watermark_set_color(wm, colored[p].color[0], colored[p].color[1], colored[p].color[2]),
                       WMF_OK);
      ck_assert_int_eq(wmf_watermark_set_opacity(wm, colored[p].opacity), WMF_OK);
      const uint8_t *oc = colored[p].outline_color, *sc = colored[p].shadow_color;
      if (colored[p].outline)
        ck_assert_int_eq(wmf_watermark_set_outline(wm, (float)colored[p].outline, oc[0], oc[1], oc[2]), WMF_OK);
      if (colored[p].shadow_opacity > 0)
        ck_assert_int_eq(wmf_watermark_set_shadow(wm, colored[p].shadow_dx, colored[p].shadow_dy, sc[0], sc[1], sc[2],
                                                  colored[p].shadow_opacity),
                         WMF_OK);
      /* PIL's alphas: round(255 * opacity) (0.6 -> 153, 0.8 -> 204, 0.7 -> 178) */
      uint8_t a = (uint8_t)lround(255.0 * colored[p].opacity), sa = (uint8_t)lround(255.0 * colored[p].shadow_opacity);
      uint8_t fill[4] = {colored[p].color[0], colored[p].color[1], colored[p].color[2], a};
      char extra[256] = "";
      size_t used = 0;
      if (colored[p].outline)
        used += (size_t)snprintf(extra + used, sizeof extra - used, ", \"stroke\": [%d, %d, %d, %d, %d]",
                                 colored[p].outline, oc[0], oc[1], oc[2], a);
      if (colored[p].shadow_opacity > 0)
        snprintf(extra + used, sizeof extra - used, ", \"shadow\": [%d, %d, %d, %d, %d, %d]", colored[p].shadow_dx,
                 colored[p].shadow_dy, sc[0], sc[1], sc[2], sa);
      wmf_image *im = bg ? photo("coffee.png", 224) : NULL;
      if (!im) ck_assert_int_eq(wmf_image_create(&im, 224, 224, 30, 60, 90), WMF_OK);
      char label[128];
      snprintf(label, sizeof label, "%s on %s", colored[p].label, bg ? "coffee" : "(30,60,90)");
      add_case_with("color", label, im, wm, 0, colored[p].layer, "ls", fill, false, extra);
      wmf_image_destroy(im);
      wmf_watermark_destroy(wm);
    }
  fclose(spec);

  const char *py = getenv("REF_PYTHON"), *root = getenv("WMF_SOURCE_ROOT");
  ck_assert_msg(py && root, "REF_PYTHON and WMF_SOURCE_ROOT must be set (meson test sets them)");
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/watermark/pil_ref.py' '%s'", py, root, spec_path);
  ck_assert_msg(system(cmd) == 0, "reference script failed: %s", cmd);

  /* docs/watermarks.md states the number of cases */
  ck_assert_int_eq(ncases, 71);
  int failures = 0;
  for (int i = 0; i < ncases; i++) {
    stats s;
    compare(&cases[i], &s);
    bool ok = s.max_abs == 0 && s.ink_ref > 0;
    fprintf(stderr, "%-4s %-10s %-28s max|d| %d differing %ld of %ld inked, mean|d| %.4f IoU %.4f box %d,%d,%d,%d vs PIL %d,%d,%d,%d\n",
            ok ? "ok" : "FAIL", cases[i].kind, cases[i].label, s.max_abs, s.differing, s.ink_ref, s.mean_abs, s.iou,
            s.box_mine[0], s.box_mine[1], s.box_mine[2],
            s.box_mine[3], s.box_ref[0], s.box_ref[1], s.box_ref[2], s.box_ref[3]);
    failures += !ok;
  }
  ck_assert_msg(failures == 0, "%d of %d cases differ from PIL (files in %s)", failures, ncases, dir);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* fontconfig 2.14 leaks a few bytes while parsing its XML configuration, once per process (not ours) */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

int main(void) {
  /* PIL without raqm (libraqm, libfribidi) lays complex scripts out otherwise: the reference cannot be made */
  const char *py = getenv("REF_PYTHON");
  if (py && *py) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "'%s' -c 'import sys; from PIL import features; sys.exit(0 if features.check(\"raqm\") else 3)'", py);
    int st = system(cmd);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
      return skip_missing_tool("PIL's raqm", "the reference renders need PIL with libraqm (Debian libraqm0)");
  }
  Suite *s = suite_create("watermark_parity");
  TCase *tc = tcase_create("pil");
  tcase_add_test(tc, parity_with_pil);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
