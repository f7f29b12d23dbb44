/* Recipes: creation, setters (each validates and leaves the recipe unchanged on error) and the named
 * presets reproducing the published watermark definitions. */
#include <math.h>
#include <string.h>

#include "watermark/watermark.h"

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

WMF_API wmf_status wmf_watermark_set_text(wmf_watermark *wm, const char *utf8) {
  NEED_WM("wmf_watermark_set_text");
  WMFI_REQUIRE(utf8, "wmf_watermark_set_text: text must not be NULL");
  uint32_t *cps;
  size_t n;
  wmf_status st = wmfi_utf8_decode("wmf_watermark_set_text", utf8, &cps, &n);
  if (st != WMF_OK) return st;
  wmfi_free(wm->text);
  wmfi_free(wm->pool);
  wm->pool = NULL;
  wm->npool = 0;
  wm->text = cps;
  wm->ntext = n;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_pool(wmf_watermark *wm, const char *pool, uint32_t count) {
  NEED_WM("wmf_watermark_set_pool");
  WMFI_REQUIRE(pool, "wmf_watermark_set_pool: pool must not be NULL");
  WMFI_REQUIRE(count >= 1 && count <= 256, "wmf_watermark_set_pool: count %u not in 1..256", count);
  uint32_t *cps;
  size_t n;
  wmf_status st = wmfi_utf8_decode("wmf_watermark_set_pool", pool, &cps, &n);
  if (st != WMF_OK) return st;
  if (n == 0 || n > 4096) {
    wmfi_free(cps);
    return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "wmf_watermark_set_pool: pool has %zu characters, want 1..4096", n);
  }
  wmfi_free(wm->pool);
  wmfi_free(wm->text);
  wm->text = NULL;
  wm->ntext = 0;
  wm->pool = cps;
  wm->npool = n;
  wm->draw_count = count;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
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
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_size_relative(wmf_watermark *wm, float fraction) {
  NEED_WM("wmf_watermark_set_size_relative");
  WMFI_REQUIRE(FINITE_IN(fraction, 1e-6f, 4) , "wmf_watermark_set_size_relative: %g not in (0, 4]", (double)fraction);
  wm->size_rel = fraction;
  wm->size_px = 0;
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_color(wmf_watermark *wm, uint8_t r, uint8_t g, uint8_t b) {
  NEED_WM("wmf_watermark_set_color");
  wm->color[0] = r;
  wm->color[1] = g;
  wm->color[2] = b;
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
  WMFI_REQUIRE(FINITE_IN(px, -100, 1000), "wmf_watermark_set_letter_spacing: %g not in [-100, 1000]", (double)px);
  wm->letter_spacing = px;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_line_spacing(wmf_watermark *wm, float px) {
  NEED_WM("wmf_watermark_set_line_spacing");
  WMFI_REQUIRE(FINITE_IN(px, -100, 1000), "wmf_watermark_set_line_spacing: %g not in [-100, 1000]", (double)px);
  wm->line_spacing = px;
  wmfi_watermark_clear_cache(wm);
  return WMF_OK;
}

WMF_API wmf_status wmf_watermark_set_outline(wmf_watermark *wm, float width, uint8_t r, uint8_t g, uint8_t b) {
  NEED_WM("wmf_watermark_set_outline");
  WMFI_REQUIRE(FINITE_IN(width, 0, 64), "wmf_watermark_set_outline: width %g not in [0, 64]", (double)width);
  wm->outline = width;
  wm->outline_color[0] = r;
  wm->outline_color[1] = g;
  wm->outline_color[2] = b;
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
  wm->shadow_color[0] = r;
  wm->shadow_color[1] = g;
  wm->shadow_color[2] = b;
  wm->shadow_opacity = opacity;
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
  if (width > 4096 || height > 4096)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_watermark_add_logo: logo %ux%u exceeds 4096 px", width, height);
  uint8_t *copy = wmfi_alloc_array((size_t)width * height, 4);
  if (!copy) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_watermark_add_logo: out of memory");
  for (uint32_t y = 0; y < height; y++) memcpy(copy + (size_t)y * width * 4, rgba + y * stride, (size_t)width * 4);
  wm->logos[wm->nlogos++] = (wmfi_logo){copy, width, height, scale, opacity, fx, fy};
  return WMF_OK;
}

/* ---------------------------------------------------------------------------------------- presets */

typedef struct preset {
  const char *name, *font, *text, *pool, *description;
} preset;

/* Mark My Words' 20 Devanagari letters: the most frequent consonants of Hindi text (क र न स त म ह ल
 * य द प ब ग ज व च ट) and the vowels अ आ ए, each a single code point so drawn strings need no
 * conjunct rules to be valid text. */
static const preset presets[] = {
    {"imagenet-w", "Noto Serif CJK SC:style=ExtraLight", "捷径捷径捷径", NULL,
     "ImageNet-W (Li et al., CVPR 2023): text 捷径捷径捷径 in Noto Serif CJK SC ExtraLight (Source Han Serif SC "
     "ExtraLight), size round(min(W,H) / 6.22) px (36 at 224, 62 at 384, 82 at 512), white, opacity 0.5, "
     "top-left of the text box (PIL anchor 'la') at (0.01 W, 0.4 H), composited like PIL's alpha_composite"},
    {"mmw-chinese", "Noto Sans CJK SC", NULL, "的一是不了在人有我他这个们中来上大为和国",
     "Mark My Words (Bykov et al., 2023), Chinese: 7 characters drawn with replacement from 的一是不了在人有我他这个们中来上大为和国, "
     "Noto Sans CJK SC 30 px, opaque white, x in [0, W-w), baseline y in [h, H-h), anchor 'ls'"},
    {"mmw-latin", "Liberation Sans", NULL, "IEAUTSRNOMCLPDBQGVFH",
     "Mark My Words, Latin: 7 capitals drawn with replacement from IEAUTSRNOMCLPDBQGVFH, Liberation Sans 30 px, "
     "opaque white, random position as mmw-chinese"},
    {"mmw-hindi", "Noto Sans Devanagari", NULL, "करनसतमहलयदपबगजवचटअआए",
     "Mark My Words, Devanagari: 7 letters drawn with replacement from 20 frequent Hindi letters "
     "करनसतमहलयदपबगजवचटअआए, Noto Sans Devanagari 30 px, opaque white, random position as mmw-chinese"},
    {"mmw-numerals", "Liberation Sans", NULL, "0123456789",
     "Mark My Words, numerals: 7 digits drawn with replacement from 0-9, Liberation Sans 30 px, opaque white, "
     "random position as mmw-chinese"},
    {"stock-tiled", "Liberation Sans:style=Bold", "© stock photo", NULL,
     "Stock-photo style: '© stock photo' in Liberation Sans Bold, size 0.08 min(W,H), white at opacity 0.5 with a "
     "black shadow (1, 1) at opacity 0.35, tiled over the image at 30 degrees on a grid of the rotated text "
     "block's size (no extra gap, odd rows shifted by half a step), grid phase drawn from the seed"},
    {"ch-logo", NULL, NULL, NULL,
     "CH_datasets style (Linhardt et al., 2023): a generated 64x64 RGBA badge (red ring, translucent white disc, "
     "red triangle) scaled to 0.2 W and pasted with its top-left at (0.76 W, 0.04 H) with opacity 0.9"},
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

/* A 64x64 RGBA badge, antialiased by 4x4 supersampling: drawn, not shipped, so no binary asset. */
static void make_badge(uint8_t *px) {
  for (int y = 0; y < 64; y++)
    for (int x = 0; x < 64; x++) {
      int ring = 0, disc = 0, tri = 0;
      for (int sy = 0; sy < 4; sy++)
        for (int sx = 0; sx < 4; sx++) {
          double u = x + (sx + 0.5) / 4 - 32, v = y + (sy + 0.5) / 4 - 32, r = sqrt(u * u + v * v);
          if (r <= 30 && r >= 24) ring++;
          else if (r < 24) {
            if (u >= -9 && u <= 13 && fabs(v) <= (13 - u) * 0.6) tri++;
            else disc++;
          }
        }
      uint8_t *p = px + (y * 64 + x) * 4;
      double a_ring = ring / 16.0, a_tri = tri / 16.0, a_disc = disc / 16.0 * 0.55;
      double a = a_ring + a_tri + a_disc;
      if (a <= 0) {
        p[0] = p[1] = p[2] = p[3] = 0;
        continue;
      }
      double r = (a_ring * 220 + a_tri * 220 + a_disc * 255) / a, g = (a_ring * 30 + a_tri * 30 + a_disc * 255) / a,
             b = (a_ring * 40 + a_tri * 40 + a_disc * 255) / a;
      p[0] = (uint8_t)(r + 0.5);
      p[1] = (uint8_t)(g + 0.5);
      p[2] = (uint8_t)(b + 0.5);
      p[3] = (uint8_t)(fmin(a, 1) * 255 + 0.5);
    }
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
      wmf_watermark_set_size_relative(wm, 1.0f / 6.22f);
      wmf_watermark_set_opacity(wm, 0.5f);
      wmf_watermark_set_position(wm, 0.01, 0.4, "la");
    } else if (strncmp(name, "mmw-", 4) == 0) {
      wmf_watermark_set_size(wm, 30);
      wmf_watermark_set_random_position(wm);
    } else if (strcmp(name, "stock-tiled") == 0) {
      wmf_watermark_set_size_relative(wm, 0.08f);
      wmf_watermark_set_opacity(wm, 0.5f);
      wmf_watermark_set_shadow(wm, 1, 1, 0, 0, 0, 0.35f);
      wmf_watermark_set_tiled(wm, 30, 0.0f, 0.0f);
    } else if (strcmp(name, "ch-logo") == 0) {
      uint8_t *badge = wmfi_malloc(64 * 64 * 4);
      if (!badge) st = wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_watermark_from_preset: out of memory");
      else {
        make_badge(badge);
        st = wmf_watermark_add_logo(wm, badge, 64, 64, 256, 0.2f, 0.76, 0.04, 0.9f);
        wmfi_free(badge);
      }
    }
  }
  if (st != WMF_OK) {
    wmf_watermark_destroy(wm);
    return st;
  }
  *out = wm;
  return WMF_OK;
}
