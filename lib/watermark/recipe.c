/* Recipes: creation, setters (each validates and leaves the recipe unchanged on error) and the named
 * presets reproducing the published watermark definitions. */
#include <math.h>
#include <string.h>

#include "image/image.h"
#include "watermark/watermark_internal.h"

WMF_API wmf_status wmf_watermark_create(wmf_watermark **out) {
  WMFI_REQUIRE(out, "wmf_watermark_create: out must not be NULL");
  wmf_watermark *wm = wmfi_calloc(1, sizeof *wm);
  *out = NULL;
  if (!wm) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_watermark_create: out of memory");
  wm->fallback = true;
  wm->size_px = 30;
  memset(wm->color, 255, 3);
  wm->opacity = 1;
  wm->placement = WMF_PLACE_FIXED;
  strcpy(wm->anchor, "la");
  pthread_mutex_init(&wm->cache_lock, NULL);
  *out = wm;
  return WMF_OK;
}

void wmfi_watermark_clear_cache(wmf_watermark *wm) {
  for (size_t i = 0; i < wm->ncache; i++) wmfi_layout_free(&wm->cache[i].layout);
  wm->ncache = 0;
}

WMF_API void wmf_watermark_destroy(wmf_watermark *wm) {
  if (!wm) return;
  wmfi_watermark_clear_cache(wm);
  wmfi_free(wm->text);
  wmfi_free(wm->pool);
  wmf_font_destroy(wm->font);
  for (size_t i = 0; i < wm->nlogos; i++) wmfi_free(wm->logos[i].rgba);
  pthread_mutex_destroy(&wm->cache_lock);
  wmfi_free(wm);
}

#define NEED_WM(fn) WMFI_REQUIRE(wm, fn ": recipe must not be NULL")
#define FINITE_IN(v, lo, hi) (isfinite(v) && (v) >= (lo) && (v) <= (hi))

static void set_rgb(uint8_t rgb[3], uint8_t r, uint8_t g, uint8_t b) {
  rgb[0] = r;
  rgb[1] = g;
  rgb[2] = b;
}

/* Letter and line spacing (`*field` of wm): px in [-100, 1000]; both change the layout. */
static wmf_status set_spacing(wmf_watermark *wm, float *field, float px, const char *fn) {
  WMFI_REQUIRE(FINITE_IN(px, -100, 1000), "%s: %g not in [-100, 1000]", fn, (double)px);
  *field = px;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

/* Makes `cps` (n code points, ownership taken) the recipe's fixed text, or with count > 0 its pool with
 * `count` characters drawn at a time; the other one is dropped. */
static void set_chars(wmf_watermark *wm, uint32_t *cps, size_t n, uint32_t count) {
  wmfi_free(wm->text);
  wmfi_free(wm->pool);
  wm->text = count ? NULL : cps;
  wm->ntext = count ? 0 : n;
  wm->pool = count ? cps : NULL;
  wm->npool = count ? n : 0;
  if (count) wm->draw_count = count;
  wmfi_watermark_clear_cache(wm);
}

WMF_API wmf_status wmf_watermark_set_text(wmf_watermark *wm, const char *utf8) {
  NEED_WM("wmf_watermark_set_text");
  WMFI_REQUIRE(utf8, "wmf_watermark_set_text: text must not be NULL");
  uint32_t *cps;
  size_t n;
  wmf_status st = wmfi_utf8_decode("wmf_watermark_set_text", utf8, &cps, &n);
  if (st == WMF_OK) set_chars(wm, cps, n, 0);
  return st;
}

WMF_API wmf_status wmf_watermark_set_pool(wmf_watermark *wm, const char *pool, uint32_t count) {
  NEED_WM("wmf_watermark_set_pool");
  WMFI_REQUIRE(pool, "wmf_watermark_set_pool: pool must not be NULL");
  WMFI_REQUIRE(count >= 1 && count <= WMFI_MAX_DRAWN, "wmf_watermark_set_pool: count %u not in 1..%d", count,
               WMFI_MAX_DRAWN);
  wmf_status st = WMF_OK;
  uint32_t *cps = NULL;
  size_t n;
  WMFI_TRY(wmfi_utf8_decode("wmf_watermark_set_pool", pool, &cps, &n));
  WMFI_CHECK(n >= 1 && n <= WMFI_MAX_POOL, WMF_ERR_INVALID_ARGUMENT,
             "wmf_watermark_set_pool: pool has %zu characters, want 1..%d", n, WMFI_MAX_POOL);
  set_chars(wm, cps, n, count);
  cps = NULL;
done:
  wmfi_free(cps);
  return st;
}

WMF_API wmf_status wmf_watermark_set_font(wmf_watermark *wm, wmf_font *font) {
  NEED_WM("wmf_watermark_set_font");
  WMFI_REQUIRE(font, "wmf_watermark_set_font: font must not be NULL");
  wmfi_font_ref(font);
  wmf_font_destroy(wm->font);
  wm->font = font;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_fallback(wmf_watermark *wm, int allow) {
  NEED_WM("wmf_watermark_set_fallback");
  wm->fallback = allow != 0;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_shaping(wmf_watermark *wm, const char *language, const char *script,
                                             wmf_direction direction) {
  NEED_WM("wmf_watermark_set_shaping");
  size_t n = language ? strlen(language) : 0;
  bool ok = n < sizeof wm->language;
  for (size_t i = 0; ok && i < n; i++) {
    char c = language[i];
    ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c == '-' && i > 0);
  }
  WMFI_REQUIRE(ok && (!language || n > 0), "wmf_watermark_set_shaping: '%s' is not a BCP 47 language tag", language);
  ok = !script || strlen(script) == 4;
  for (int i = 0; ok && script && i < 4; i++)
    ok = (script[i] >= 'a' && script[i] <= 'z') || (script[i] >= 'A' && script[i] <= 'Z');
  WMFI_REQUIRE(ok, "wmf_watermark_set_shaping: '%s' is not an ISO 15924 script tag", script);
  WMFI_REQUIRE(direction >= WMF_DIRECTION_AUTO && direction <= WMF_DIRECTION_RTL,
               "wmf_watermark_set_shaping: direction %d unknown", (int)direction);
  memcpy(wm->language, language ? language : "", n + 1);
  /* ISO 15924 capitalisation (Deva), the form HarfBuzz's tags use */
  wm->script = script ? ((uint32_t)(script[0] & ~0x20) << 24 | (uint32_t)(script[1] | 0x20) << 16 |
                         (uint32_t)(script[2] | 0x20) << 8 | (uint32_t)(script[3] | 0x20))
                      : 0;
  wm->direction = direction;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_size(wmf_watermark *wm, float px) {
  NEED_WM("wmf_watermark_set_size");
  WMFI_REQUIRE(FINITE_IN(px, 1, 2048), "wmf_watermark_set_size: %g px not in 1..2048", (double)px);
  wm->size_px = px;
  wm->size_rel = 0;
  wm->size_inw = false;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_size_relative(wmf_watermark *wm, float fraction) {
  NEED_WM("wmf_watermark_set_size_relative");
  WMFI_REQUIRE(FINITE_IN(fraction, 1e-6f, 4) , "wmf_watermark_set_size_relative: %g not in (0, 4]", (double)fraction);
  wm->size_rel = fraction;
  wm->size_px = 0;
  wm->size_inw = false;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_size_imagenet_w(wmf_watermark *wm) {
  NEED_WM("wmf_watermark_set_size_imagenet_w");
  wm->size_inw = true;
  wm->size_px = wm->size_rel = 0;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_reference_size(wmf_watermark *wm, uint32_t size) {
  NEED_WM("wmf_watermark_set_reference_size");
  WMFI_REQUIRE(size <= WMFI_MAX_CANVAS_SIDE, "wmf_watermark_set_reference_size: %u px over 2^20", size);
  wm->ref_size = size;
  return WMF_OK;
}

WMF_API uint32_t wmf_watermark_reference_size(const wmf_watermark *wm) { return wm ? wm->ref_size : 0; }

WMF_API wmf_status wmf_watermark_set_jpeg_quality(wmf_watermark *wm, int quality) {
  NEED_WM("wmf_watermark_set_jpeg_quality");
  WMFI_REQUIRE(quality >= 0 && quality <= 100, "wmf_watermark_set_jpeg_quality: %d not in 0..100", quality);
  wm->jpeg_quality = quality;
  return WMF_OK;
}

WMF_API int wmf_watermark_jpeg_quality(const wmf_watermark *wm) { return wm ? wm->jpeg_quality : 0; }

WMF_API wmf_status wmf_watermark_set_font_metrics(wmf_watermark *wm, float ascender_em, float descender_em) {
  NEED_WM("wmf_watermark_set_font_metrics");
  WMFI_REQUIRE(FINITE_IN(ascender_em, 0, 4) && FINITE_IN(descender_em, -4, 0) && (ascender_em > 0 || descender_em == 0),
               "wmf_watermark_set_font_metrics: ascender %g not in (0, 4] or descender %g not in [-4, 0]",
               (double)ascender_em, (double)descender_em);
  wm->ascender_em = ascender_em;
  wm->descender_em = descender_em;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_dotted_circle(wmf_watermark *wm, int insert) {
  NEED_WM("wmf_watermark_set_dotted_circle");
  wm->no_dotted_circle = insert == 0;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_anchor(wmf_watermark *wm, const char *anchor) {
  NEED_WM("wmf_watermark_set_anchor");
  WMFI_REQUIRE(wmfi_anchor_valid(anchor), "wmf_watermark_set_anchor: bad anchor '%s' (want [lmr][atmsbd])",
               anchor ? anchor : "(null)");
  memcpy(wm->anchor, anchor, 3);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_color(wmf_watermark *wm, uint8_t r, uint8_t g, uint8_t b) {
  NEED_WM("wmf_watermark_set_color");
  set_rgb(wm->color, r, g, b);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_opacity(wmf_watermark *wm, float opacity) {
  NEED_WM("wmf_watermark_set_opacity");
  WMFI_REQUIRE(FINITE_IN(opacity, 0, 1), "wmf_watermark_set_opacity: %g not in [0, 1]", (double)opacity);
  wm->opacity = opacity;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_position(wmf_watermark *wm, double fx, double fy, const char *anchor) {
  NEED_WM("wmf_watermark_set_position");
  WMFI_REQUIRE(FINITE_IN(fx, -1, 2) && FINITE_IN(fy, -1, 2), "wmf_watermark_set_position: (%g, %g) not in [-1, 2]",
               fx, fy);
  WMFI_REQUIRE(wmfi_anchor_valid(anchor), "wmf_watermark_set_position: bad anchor '%s' (want [lmr][atmsbd])",
               anchor ? anchor : "(null)");
  wm->fx = fx;
  wm->fy = fy;
  memcpy(wm->anchor, anchor, 3);
  wm->placement = WMF_PLACE_FIXED;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_random_position(wmf_watermark *wm) {
  NEED_WM("wmf_watermark_set_random_position");
  wm->placement = WMF_PLACE_RANDOM;
  strcpy(wm->anchor, "ls");
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_tiled(wmf_watermark *wm, float angle, float gap_x, float gap_y) {
  NEED_WM("wmf_watermark_set_tiled");
  WMFI_REQUIRE(isfinite(angle) && FINITE_IN(gap_x, 0, 10) && FINITE_IN(gap_y, 0, 10),
               "wmf_watermark_set_tiled: angle must be finite and gaps in [0, 10]");
  wm->tile_angle = angle;
  wm->gap_x = gap_x;
  wm->gap_y = gap_y;
  wm->placement = WMF_PLACE_TILED;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_rotation(wmf_watermark *wm, float degrees) {
  NEED_WM("wmf_watermark_set_rotation");
  WMFI_REQUIRE(isfinite(degrees), "wmf_watermark_set_rotation: angle must be finite");
  wm->rotation = fmodf(degrees, 360.0f);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_letter_spacing(wmf_watermark *wm, float px) {
  NEED_WM("wmf_watermark_set_letter_spacing");
  return set_spacing(wm, &wm->letter_spacing, px, "wmf_watermark_set_letter_spacing");
}

WMF_API wmf_status wmf_watermark_set_line_spacing(wmf_watermark *wm, float px) {
  NEED_WM("wmf_watermark_set_line_spacing");
  return set_spacing(wm, &wm->line_spacing, px, "wmf_watermark_set_line_spacing");
}

WMF_API wmf_status wmf_watermark_set_outline(wmf_watermark *wm, float width, uint8_t r, uint8_t g, uint8_t b) {
  NEED_WM("wmf_watermark_set_outline");
  WMFI_REQUIRE(FINITE_IN(width, 0, 64), "wmf_watermark_set_outline: width %g not in [0, 64]", (double)width);
  wm->outline = width;
  set_rgb(wm->outline_color, r, g, b);
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_shadow(wmf_watermark *wm, int dx, int dy, uint8_t r, uint8_t g, uint8_t b,
                                            float opacity) {
  NEED_WM("wmf_watermark_set_shadow");
  WMFI_REQUIRE(dx >= -256 && dx <= 256 && dy >= -256 && dy <= 256 && FINITE_IN(opacity, 0, 1),
               "wmf_watermark_set_shadow: offset beyond 256 px or opacity not in [0, 1]");
  wm->shadow_dx = dx;
  wm->shadow_dy = dy;
  set_rgb(wm->shadow_color, r, g, b);
  wm->shadow_opacity = opacity;
  return WMF_OK;
}

/* A copy of a logo's rows (`stride` bytes apart) as packed RGBA, its alpha multiplied by `opacity` as
 * int(a * opacity) when below 1; at most WMFI_MAX_LOGO_SIDE per side. Messages start with `fn`. */
static wmf_status copy_logo(uint8_t **out, const char *fn, const uint8_t *rgba, uint32_t width, uint32_t height,
                            size_t stride, double opacity) {
  *out = NULL;
  if (width > WMFI_MAX_LOGO_SIDE || height > WMFI_MAX_LOGO_SIDE)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: logo %ux%u exceeds %d px", fn, width, height, WMFI_MAX_LOGO_SIDE);
  uint8_t *copy = wmfi_alloc_array((size_t)width * height, 4);
  if (!copy) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  for (uint32_t y = 0; y < height; y++) {
    uint8_t *d = copy + (size_t)y * width * 4;
    memcpy(d, rgba + y * stride, (size_t)width * 4);
    if (opacity < 1)
      for (uint32_t x = 0; x < width; x++) d[x * 4 + 3] = (uint8_t)(int)(d[x * 4 + 3] * opacity);
  }
  *out = copy;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_add_logo(wmf_watermark *wm, const uint8_t *rgba, uint32_t width, uint32_t height,
                                          size_t stride, float scale, double fx, double fy, float opacity) {
  NEED_WM("wmf_watermark_add_logo");
  WMFI_REQUIRE(rgba && width && height, "wmf_watermark_add_logo: NULL pixels or a zero size");
  WMFI_REQUIRE(stride >= (size_t)width * 4, "wmf_watermark_add_logo: stride %zu < 4 * width %u", stride, width);
  WMFI_REQUIRE(FINITE_IN(scale, 1e-6f, 4) && FINITE_IN(fx, -1, 2) && FINITE_IN(fy, -1, 2) &&
                   FINITE_IN(opacity, 0, 1),
               "wmf_watermark_add_logo: scale not in (0, 4], position not in [-1, 2] or opacity not in [0, 1]");
  if (wm->nlogos >= WMFI_MAX_LOGOS)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_watermark_add_logo: at most %d logos per recipe", WMFI_MAX_LOGOS);
  uint8_t *copy;
  wmf_status st = copy_logo(&copy, "wmf_watermark_add_logo", rgba, width, height, stride, 1);
  if (st != WMF_OK) return st;
  wm->logos[wm->nlogos++] = (wmfi_logo){copy, width, height, scale, opacity, fx, fy, false, 0, 0, opacity};
  return WMF_OK;
}

/* A native-size logo (CH_datasets' PastePoisoner): the pixels copied with their alpha multiplied as
 * PastePoisoner.__init__ does (alpha.point(lambda p: int(p * opacity))), opacity a double as Python's. */
static wmf_status native_logo(wmfi_logo *lg, const char *fn, const uint8_t *rgba, uint32_t width, uint32_t height,
                              size_t stride, double opacity) {
  uint8_t *copy;
  wmf_status st = copy_logo(&copy, fn, rgba, width, height, stride, opacity);
  if (st != WMF_OK) return st;
  wmfi_free(lg->rgba);
  lg->rgba = copy;
  lg->w = width;
  lg->h = height;
  lg->opacity = (float)opacity;
  lg->opacity_d = opacity;
  lg->native = true;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_add_logo_at(wmf_watermark *wm, const uint8_t *rgba, uint32_t width, uint32_t height,
                                             size_t stride, int32_t x, int32_t y, double opacity) {
  NEED_WM("wmf_watermark_add_logo_at");
  WMFI_REQUIRE(rgba && width && height, "wmf_watermark_add_logo_at: NULL pixels or a zero size");
  WMFI_REQUIRE(stride >= (size_t)width * 4, "wmf_watermark_add_logo_at: stride %zu < 4 * width %u", stride, width);
  WMFI_REQUIRE(FINITE_IN(opacity, 0, 1), "wmf_watermark_add_logo_at: opacity %g not in [0, 1]", opacity);
  WMFI_REQUIRE(x >= -(1 << 20) && x <= (1 << 20) && y >= -(1 << 20) && y <= (1 << 20),
               "wmf_watermark_add_logo_at: position (%d, %d) beyond 2^20", x, y);
  if (wm->nlogos >= WMFI_MAX_LOGOS)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_watermark_add_logo_at: at most %d logos per recipe", WMFI_MAX_LOGOS);
  wmfi_logo lg = {0};
  wmf_status st = native_logo(&lg, "wmf_watermark_add_logo_at", rgba, width, height, stride, opacity);
  if (st != WMF_OK) return st;
  lg.px = x;
  lg.py = y;
  wm->logos[wm->nlogos++] = lg;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_add_logo_file(wmf_watermark *wm, const char *path, int32_t x, int32_t y,
                                               double opacity) {
  NEED_WM("wmf_watermark_add_logo_file");
  WMFI_REQUIRE(path, "wmf_watermark_add_logo_file: path must not be NULL");
  wmf_status st = WMF_OK;
  uint8_t *rgba = NULL;
  uint32_t w, h;
  WMFI_TRY(wmfi_image_load_rgba("wmf_watermark_add_logo_file", path, &rgba, &w, &h));
  st = wmf_watermark_add_logo_at(wm, rgba, w, h, (size_t)w * 4, x, y, opacity);
  WMFI_CHECK(st == WMF_OK, st, "wmf_watermark_add_logo_file: '%s': %s", path, wmf_last_error());
done:
  wmfi_free(rgba);
  return st;
}

WMF_API wmf_status wmf_watermark_set_logo_file(wmf_watermark *wm, size_t index, const char *path) {
  NEED_WM("wmf_watermark_set_logo_file");
  WMFI_REQUIRE(path, "wmf_watermark_set_logo_file: path must not be NULL");
  if (index >= wm->nlogos)
    return wmfi_fail(WMF_ERR_NOT_FOUND, "wmf_watermark_set_logo_file: logo %zu: the recipe has %zu logos", index,
                     wm->nlogos);
  wmf_status st = WMF_OK;
  uint8_t *rgba = NULL;
  uint32_t w, h;
  WMFI_TRY(wmfi_image_load_rgba("wmf_watermark_set_logo_file", path, &rgba, &w, &h));
  wmfi_logo *lg = &wm->logos[index];
  if (lg->native) {
    WMFI_TRY(native_logo(lg, "wmf_watermark_set_logo_file", rgba, w, h, (size_t)w * 4, lg->opacity_d));
  } else {
    WMFI_CHECK(w <= WMFI_MAX_LOGO_SIDE && h <= WMFI_MAX_LOGO_SIDE, WMF_ERR_LIMIT,
               "wmf_watermark_set_logo_file: '%s': logo %ux%u exceeds %d px", path, w, h, WMFI_MAX_LOGO_SIDE);
    wmfi_free(lg->rgba);
    lg->rgba = rgba;
    rgba = NULL;
    lg->w = w;
    lg->h = h;
  }
done:
  wmfi_free(rgba);
  return st;
}

WMF_API size_t wmf_watermark_logo_count(const wmf_watermark *wm) { return wm ? wm->nlogos : 0; }

/* ---------------------------------------------------------------------------------------- presets */

typedef struct preset {
  const char *name, *font, *text, *pool, *description;
} preset;

/* Mark My Words' pools are the notebook's lists ("1. Dataset generation and Collection of
 * Activations.ipynb", characters_CH, characters_lat, characters_hindi, characters_numbers), in its
 * order; the Hindi one holds vowel signs, the virama and the anusvara, drawn as single code points. */
static const preset presets[] = {
    {"imagenet-w", "Noto Serif CJK SC:style=ExtraLight", "捷径捷径捷径", NULL,
     "ImageNet-W (Li et al., CVPR 2023; Whac-A-Mole imagenet_w/watermark_transform.py AddWatermark): text 捷径捷径捷径 "
     "in Noto Serif CJK SC ExtraLight (Source Han Serif SC ExtraLight), font size from the crop size given to the "
     "transform ({224: 36, 384: 62, 512: 82, 518: 84}, else int(size / 6.22); the reference size, or each image's "
     "shorter side), white with alpha round(0.5 * 255) = 128 on a transparent layer, PIL's default anchor 'la' at "
     "(0.01 W, 0.4 H), Image.alpha_composite"},
    {"mmw-chinese", "Noto Serif CJK SC:style=Medium", NULL, "的一是不了在人有我他这个们中来上大为和国",
     "Mark My Words (Bykov et al., 2023), Chinese: 7 characters drawn with replacement from 的一是不了在人有我他这个们中来上大为和国, "
     "Noto Serif CJK SC Medium 30 px (for SongTi.ttf; its ascender taken as 0.83 em, fitted to the released images), "
     "white, (w, h) = PIL's font.getsize(text), x in [0, W-w), y in [h, H-h), PIL's default anchor 'la' (top-left, "
     "as the released Chinese images show), then re-saved as JPEG quality 75 (4:2:0)"},
    {"mmw-latin", "Liberation Serif:style=Regular", NULL, "IEAUTSRNOMCLPDBQGVFH",
     "Mark My Words, Latin: 7 capitals drawn with replacement from IEAUTSRNOMCLPDBQGVFH, Liberation Serif 30 px (for "
     "times.ttf), white, x in [0, W-w), y in [h, H-h) with (w, h) = font.getsize(text), anchor 'ls' (baseline), "
     "re-saved as JPEG quality 75"},
    {"mmw-hindi", "Noto Sans Devanagari:style=Bold", NULL, "ाकेरहसनींमि्तपलोयैबद",
     "Mark My Words, Devanagari: 7 characters drawn with replacement from the notebook's 20 (ा क े र ह स न ी ं म ि ् त "
     "प ल ो य ै ब द, vowel signs included), Noto Sans Devanagari Bold 30 px (for NirmalaB.ttf), white, no dotted "
     "circle under a mark without a base (NirmalaB has none), placement as mmw-latin (anchor 'ls'), re-saved as "
     "JPEG quality 75"},
    {"mmw-numerals", "Liberation Serif:style=Regular", NULL, "1234567890",
     "Mark My Words, numerals: 7 digits drawn with replacement from 1234567890, Liberation Serif 30 px (the notebook "
     "draws them with times.ttf), white, placement as mmw-latin (anchor 'ls'), re-saved as JPEG quality 75"},
    {"stock-tiled", "Liberation Sans:style=Bold", "© stock photo", NULL,
     "Stock-photo style: '© stock photo' in Liberation Sans Bold, size 0.08 min(W,H), white at opacity 0.5 with a "
     "black shadow (1, 1) at opacity 0.35, tiled over the image at 30 degrees on a grid of the rotated text "
     "block's size (no extra gap, odd rows shifted by half a step), grid phase drawn from the seed"},
    {"ch-logo", NULL, NULL, NULL,
     "CH_datasets (Linhardt et al., 2023; CH_datasets/scenario_examples.py CartonPoisoner): two RGBA logos pasted at "
     "their own size with their top-left at pixels (10, 110) and (142, 208) of the 224x224 crop, alpha multiplied "
     "by 0.9 (int(a * 0.9)), PIL's paste with the alpha as mask. The original logos (artifacts/carton_logo4.png, "
     "210x18, and alibaba_logo2.png, 80x12) are not shipped: stand-ins of the same size are drawn (grey CJK text, "
     "orange Latin text); load the originals with wmf_watermark_set_logo_file (wmfeat --logo FILE)"},
};
#define NPRESETS (sizeof presets / sizeof presets[0])

WMF_API size_t wmf_watermark_preset_count(void) { return NPRESETS; }

WMF_API const char *wmf_watermark_preset_name(size_t i) { return i < NPRESETS ? presets[i].name : NULL; }

static const preset *find_preset(const char *name) {
  for (size_t i = 0; name && i < NPRESETS; i++)
    if (strcmp(presets[i].name, name) == 0) return &presets[i];
  return NULL;
}

WMF_API const char *wmf_watermark_preset_describe(const char *name) {
  const preset *p = find_preset(name);
  return p ? p->description : NULL;
}

/* A stand-in logo: `text` in the font of `pattern` at `px` pixels, in one color, its coverage as alpha,
 * on a transparent w x h canvas (the text's left end at x = 0, its vertical middle at h / 2). */
static wmf_status text_logo(wmf_watermark *wm, const char *pattern, const char *text, uint32_t px, const uint8_t col[3],
                            uint32_t w, uint32_t h, int32_t x, int32_t y) {
  wmf_font *f;
  wmf_status st = wmf_font_find(&f, pattern);
  if (st != WMF_OK) return wmfi_fail(st, "preset 'ch-logo' needs font '%s': %s", pattern, wmf_last_error());
  uint32_t *cps = NULL;
  size_t n = 0;
  wmfi_layout l = {0};
  wmfi_canvas c = {0};
  uint8_t *rgba = wmfi_calloc((size_t)w * h, 4);
  wmfi_text_style ts = {px, 0, 0, 0, true, NULL, 0, 0, false};
  if (!rgba) st = wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_watermark_from_preset: out of memory");
  if (st == WMF_OK) st = wmfi_utf8_decode("wmf_watermark_from_preset", text, &cps, &n);
  if (st == WMF_OK) st = wmfi_layout_text(&l, f, cps, n, &ts);
  if (st == WMF_OK) st = wmfi_render_layout(&c, &l, 0, h / 2.0, "lm", false);
  if (st == WMF_OK) {
    for (int32_t v = 0; v < c.h; v++)
      for (int32_t u = 0; u < c.w; u++) {
        int32_t X = c.x0 + u, Y = c.y0 + v;
        if (X < 0 || Y < 0 || X >= (int32_t)w || Y >= (int32_t)h) continue;
        uint8_t *p = rgba + ((size_t)Y * w + X) * 4;
        memcpy(p, col, 3);
        p[3] = c.data[(size_t)v * c.w + u];
      }
    st = wmf_watermark_add_logo_at(wm, rgba, w, h, (size_t)w * 4, x, y, 0.9);
  }
  wmfi_canvas_free(&c);
  wmfi_layout_free(&l);
  wmfi_free(cps);
  wmfi_free(rgba);
  wmf_font_destroy(f);
  return st;
}

WMF_API wmf_status wmf_watermark_from_preset(wmf_watermark **out, const char *name) {
  WMFI_REQUIRE(out && name, "wmf_watermark_from_preset: out and name must not be NULL");
  *out = NULL;
  const preset *p = find_preset(name);
  if (!p) return wmfi_fail(WMF_ERR_NOT_FOUND, "wmf_watermark_from_preset: no preset named '%s'", name);
  wmf_watermark *wm;
  wmf_status st = wmf_watermark_create(&wm);
  if (st != WMF_OK) return st;
  if (p->font) {
    wmf_font *f;
    st = wmf_font_find(&f, p->font);
    if (st != WMF_OK) {
      wmf_watermark_destroy(wm);
      return wmfi_fail(st, "preset '%s' needs font '%s': %s", name, p->font, wmf_last_error());
    }
    wmf_watermark_set_font(wm, f);
    wmf_font_destroy(f);
  }
  if (p->text) st = wmf_watermark_set_text(wm, p->text);
  if (p->pool && st == WMF_OK) st = wmf_watermark_set_pool(wm, p->pool, 7);
  if (st == WMF_OK) {
    if (strcmp(name, "imagenet-w") == 0) {
      wmf_watermark_set_size_imagenet_w(wm);
      wmf_watermark_set_opacity(wm, 0.5f);
      wmf_watermark_set_position(wm, 0.01, 0.4, "la");
    } else if (strncmp(name, "mmw-", 4) == 0) {
      wmf_watermark_set_size(wm, 30);
      wmf_watermark_set_random_position(wm);
      if (strcmp(name, "mmw-chinese") == 0) {
        /* the Chinese set was drawn without anchor= (PIL's 'la'), with a font whose ascender is about
         * 25 px at 30 px (the released ink tops span rows 31..194: h = 30); Noto Serif CJK's is 35 */
        wmf_watermark_set_anchor(wm, "la");
        wmf_watermark_set_font_metrics(wm, 0.83f, -0.14f);
      }
      if (strcmp(name, "mmw-hindi") == 0) wmf_watermark_set_dotted_circle(wm, 0);
      wmf_watermark_set_jpeg_quality(wm, 75);
    } else if (strcmp(name, "stock-tiled") == 0) {
      wmf_watermark_set_size_relative(wm, 0.08f);
      wmf_watermark_set_opacity(wm, 0.5f);
      wmf_watermark_set_shadow(wm, 1, 1, 0, 0, 0, 0.35f);
      wmf_watermark_set_tiled(wm, 30, 0.0f, 0.0f);
    } else if (strcmp(name, "ch-logo") == 0) {
      static const uint8_t grey[3] = {146, 146, 146}, orange[3] = {255, 102, 16};
      st = text_logo(wm, "Noto Sans CJK SC:style=Regular", "慈溪市横河镇创新纸箱厂", 17, grey, 210, 18, 10, 110);
      if (st == WMF_OK) st = text_logo(wm, "Liberation Sans:style=Bold", "alibaba.com.cn", 11, orange, 80, 12, 142, 208);
    }
  }
  if (st != WMF_OK) {
    wmf_watermark_destroy(wm);
    return st;
  }
  *out = wm;
  return WMF_OK;
}
