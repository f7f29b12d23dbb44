/* Layout with libraqm, the library PIL lays text out with (ImageFont.Layout.RAQM), called as PIL 9.4's
 * text_layout_raqm calls it: per line (PIL's multiline_text splits at U+000A), the code points, the
 * paragraph direction (raqm's default: detected from the first strong character), the language when
 * one is given, no font features, FreeType's default load flags. raqm runs FriBiDi (explicit
 * embeddings, overrides and isolates, numbers, brackets), resolves scripts, splits runs on level,
 * script and face, shapes each run with HarfBuzz on the FreeType face and returns the glyphs in visual
 * order. PIL gives raqm one face; here each character gets the recipe's font or a fontconfig fallback,
 * passed as face ranges (raqm_set_freetype_face_range). Positions are accumulated in 26.6 as PIL does.
 *
 * A line raqm would lay out as one run (one font, one script, every character at bidi level 0 by
 * FriBiDi's classes) is shaped with the HarfBuzz call raqm would make for it (the same font functions,
 * flags, script, language and direction) on the font's own HarfBuzz font: raqm 0.7 builds a new
 * HarfBuzz face for every call, whose tables cost more than the rest of a short line's rendering. The
 * two settings raqm has no parameter for (a script, HarfBuzz's no-dotted-circle flag) apply on such a
 * line; on any other line that needs them the layout fails with WMF_ERR_UNSUPPORTED. */
#include <string.h>

#include <fribidi.h>
#include <raqm.h>

#include "text/font_internal.h"

#define DOTTED_CIRCLE 0x25ccu

static bool is_ignorable(uint32_t cp) {
  /* characters that select or join rather than show: never looked up on their own */
  return cp < 0x20 || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2060 && cp <= 0x206f) ||
         (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || (cp >= 0xe0100 && cp <= 0xe01ef);
}

/* raqm's weak scripts: they take a neighbour's (unknown, unassigned characters are a script of their own) */
static bool is_weak_script(hb_script_t s) { return s == HB_SCRIPT_COMMON || s == HB_SCRIPT_INHERITED; }

static wmf_status push(wmfi_layout *l, wmfi_placed_glyph g) {
  if (l->count == l->capacity) {
    size_t n = l->capacity ? l->capacity * 2 : 32;
    wmfi_placed_glyph *p = wmfi_realloc(l->glyphs, n * sizeof *p);
    if (!p) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory");
    l->glyphs = p;
    l->capacity = n;
  }
  l->glyphs[l->count++] = g;
  return WMF_OK;
}

/* PIL's bounding_box_and_anchors: glyph boxes at rounded positions plus the pen line. */
static void grow_box(wmfi_layout *l, const wmfi_glyph *g, int32_t x, int32_t y) {
  int32_t px = WMFI_PIXEL(x), py = WMFI_PIXEL(y);
  int32_t x0 = g->left + px, x1 = g->left + (int32_t)g->width + px;
  int32_t y1 = g->top + py, y0 = g->top - (int32_t)g->rows + py;
  if (x0 < l->x_min) l->x_min = x0;
  if (x1 > l->x_max) l->x_max = x1;
  if (y0 < l->y_min) l->y_min = y0;
  if (y1 > l->y_max) l->y_max = y1;
}

/* The font of every character of a line: the recipe's or a fallback; characters that select or join
 * take their neighbour's, so they stay in its run. WMF_ERR_FONT names a character no font has. */
static wmf_status assign_fonts(wmf_font *font, const uint32_t *cps, size_t n, const wmfi_text_style *style,
                               wmf_font **fonts) {
  for (size_t i = 0; i < n; i++) {
    fonts[i] = NULL;
    if (is_ignorable(cps[i])) continue;
    wmf_status s = wmfi_font_for_char(font, cps[i], style->fallback, &fonts[i]);
    if (s != WMF_OK) return s;
    if (!fonts[i]) {
      char u[5] = {0};
      wmfi_utf8_encode(cps[i], u);
      return wmfi_fail(WMF_ERR_FONT, "text: font '%s %s' (%s) has no glyph for U+%04X '%s'%s", font->family,
                       font->style, font->path, cps[i], u,
                       style->fallback ? " and no fallback font from fontconfig has one" : " (fallback disabled)");
    }
  }
  for (size_t i = 1; i < n; i++)
    if (!fonts[i]) fonts[i] = fonts[i - 1];
  for (size_t i = n; i-- > 0;)
    if (!fonts[i]) fonts[i] = i + 1 < n ? fonts[i + 1] : font;
  return WMF_OK;
}

/* True when raqm would lay the line out as one left-to-right run: one font, a paragraph that is not
 * right-to-left, no character FriBiDi puts above level 0 in a left-to-right paragraph (strong
 * right-to-left, Arabic numbers, embeddings, overrides, isolates), and unless a script is given one
 * script besides common and inherited characters. *script: the given one, or the run's as raqm resolves
 * it (that script; with none, the first character's). */
static bool single_ltr_run(const uint32_t *cps, size_t n, wmf_font *const *fonts, const wmfi_text_style *style,
                           hb_script_t *script) {
  hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
  hb_script_t found = HB_SCRIPT_INVALID;
  if (style->direction == WMF_DIRECTION_RTL) return false;
  for (size_t i = 0; i < n; i++) {
    FriBidiCharType t = fribidi_get_bidi_type(cps[i]);
    if (fonts[i] != fonts[0] || FRIBIDI_IS_RTL(t) || FRIBIDI_IS_EXPLICIT(t) || FRIBIDI_IS_ISOLATE(t) ||
        t == FRIBIDI_TYPE_AN)
      return false;
    hb_script_t s = hb_unicode_script(uf, cps[i]);
    if (is_weak_script(s)) continue;
    if (!style->script && found != HB_SCRIPT_INVALID && s != found) return false;
    found = s;
  }
  if (found == HB_SCRIPT_INVALID) found = hb_unicode_script(uf, cps[0]);
  *script = style->script ? hb_script_from_iso15924_tag(style->script) : found;
  return true;
}

/* True when a given script changes nothing raqm does: every character is of that script or common. */
static bool script_as_detected(const uint32_t *cps, size_t n, uint32_t tag) {
  hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
  hb_script_t want = hb_script_from_iso15924_tag(tag);
  bool seen = false;
  for (size_t i = 0; i < n; i++) {
    hb_script_t s = hb_unicode_script(uf, cps[i]);
    if (is_weak_script(s)) continue;
    if (s != want) return false;
    seen = true;
  }
  return seen;
}

/* The line laid out by raqm: *glyphs (owned by *rq, which the caller destroys) and *count. */
static wmf_status layout_raqm(raqm_t **rq_out, const uint32_t *cps, size_t n, wmf_font *const *fonts,
                              const wmfi_text_style *style, raqm_glyph_t **glyphs, size_t *count) {
  raqm_t *rq = raqm_create();
  *rq_out = rq;
  if (!rq) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory (raqm_create)");
  if (!raqm_set_text(rq, cps, n)) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory (raqm_set_text)");
  if (style->language && !raqm_set_language(rq, style->language, 0, n))
    return wmfi_fail(WMF_ERR_BACKEND, "text: raqm refused language '%s'", style->language);
  raqm_direction_t dir = style->direction == WMF_DIRECTION_LTR   ? RAQM_DIRECTION_LTR
                         : style->direction == WMF_DIRECTION_RTL ? RAQM_DIRECTION_RTL
                                                              : RAQM_DIRECTION_DEFAULT;
  if (!raqm_set_par_direction(rq, dir)) return wmfi_fail(WMF_ERR_BACKEND, "text: raqm refused direction %d", (int)dir);
  for (size_t i = 0, e; i < n; i = e) {
    for (e = i + 1; e < n && fonts[e] == fonts[i];) e++;
    wmfi_sized *z;
    wmf_status s = wmfi_font_sized(fonts[i], style->size_px, &z);
    if (s != WMF_OK) return s;
    if (!raqm_set_freetype_face_range(rq, z->face, i, e - i))
      return wmfi_fail(WMF_ERR_BACKEND, "text: raqm refused the face of %s for characters %zu..%zu", fonts[i]->path, i,
                       e - 1);
  }
  if (!raqm_layout(rq))
    return wmfi_fail(WMF_ERR_BACKEND, "text: raqm could not lay out a line of %zu characters (FriBiDi or an "
                     "allocation inside raqm failed)", n);
  *glyphs = raqm_get_glyphs(rq, count);
  if (!*glyphs && *count == 0) return WMF_OK; /* nothing to draw */
  if (!*glyphs) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory (raqm_get_glyphs)");
  return WMF_OK;
}

/* True when HarfBuzz drew more dotted circles than the text has: it inserted one before a mark
 * without a base. */
static bool inserted_dotted_circle(const uint32_t *cps, size_t n, const raqm_glyph_t *g, size_t count) {
  size_t in_text = 0, drawn = 0;
  for (size_t i = 0; i < n; i++) in_text += cps[i] == DOTTED_CIRCLE;
  for (size_t i = 0; i < count; i++) {
    FT_UInt circle = FT_Get_Char_Index(g[i].ftface, DOTTED_CIRCLE);
    drawn += circle && g[i].index == circle;
  }
  return drawn > in_text;
}

/* A single left-to-right run shaped by HarfBuzz as raqm shapes it (its hb_ft font on the same face,
 * flags BOT | EOT, the language raqm would set), with the given script and dotted-circle setting. The
 * glyphs in raqm's form in *out (wmfi_alloc_array, the caller frees). */
static wmf_status shape_single_run(wmf_font *f, const uint32_t *cps, size_t n, hb_script_t script,
                                   const wmfi_text_style *style, raqm_glyph_t **out, size_t *count) {
  wmf_status st = WMF_OK;
  hb_buffer_t *buf = NULL;
  raqm_glyph_t *g = NULL;
  wmfi_sized *z;
  WMFI_TRY(wmfi_font_sized(f, style->size_px, &z));
  buf = hb_buffer_create();
  WMFI_CHECK(hb_buffer_allocation_successful(buf), WMF_ERR_OUT_OF_MEMORY, "text: out of memory (HarfBuzz buffer)");
  hb_buffer_add_utf32(buf, cps, (int)n, 0, (int)n);
  hb_buffer_set_script(buf, script);
  hb_buffer_set_direction(buf, HB_DIRECTION_LTR);
  hb_buffer_set_language(buf, style->language ? hb_language_from_string(style->language, -1)
                                              : hb_language_get_default());
  hb_buffer_set_flags(buf, HB_BUFFER_FLAG_BOT | HB_BUFFER_FLAG_EOT |
                               (style->no_dotted_circle ? HB_BUFFER_FLAG_DO_NOT_INSERT_DOTTED_CIRCLE : 0));
  hb_shape(z->hb, buf, NULL, 0);
  WMFI_CHECK(hb_buffer_allocation_successful(buf), WMF_ERR_OUT_OF_MEMORY, "text: HarfBuzz ran out of memory");
  unsigned len;
  const hb_glyph_info_t *info = hb_buffer_get_glyph_infos(buf, &len);
  const hb_glyph_position_t *pos = hb_buffer_get_glyph_positions(buf, &len);
  WMFI_ALLOC(g, wmfi_alloc_array(len ? len : 1, sizeof *g), "text");
  for (unsigned i = 0; i < len; i++)
    g[i] = (raqm_glyph_t){info[i].codepoint, pos[i].x_advance, pos[i].y_advance, pos[i].x_offset,
                          pos[i].y_offset, info[i].cluster, z->face};
  *out = g;
  *count = len;
  g = NULL;
done:
  wmfi_free(g);
  hb_buffer_destroy(buf);
  return st;
}

/* Adds the glyphs of a line, in visual order, at baseline base_y (26.6, y up). */
static wmf_status place_line(wmfi_layout *l, const raqm_glyph_t *g, size_t count, wmf_font *const *fonts, size_t n,
                             const wmfi_text_style *style, int32_t base_y, bool first_line) {
  const int64_t max_pen = (int64_t)WMFI_TEXT_MAX_PX * 64;
  int64_t pen = 0; /* 26.6; kept within +-max_pen, so every int32 position below is exact */
  for (size_t i = 0; i < count; i++) {
    if (g[i].cluster >= n) return wmfi_fail(WMF_ERR_BACKEND, "text: raqm gave glyph %zu cluster %u of %zu", i,
                                            (unsigned)g[i].cluster, n);
    wmf_font *f = fonts[g[i].cluster];
    wmfi_sized *z;
    wmf_status s = wmfi_font_sized(f, style->size_px, &z);
    if (s != WMF_OK) return s;
    if (z->face != g[i].ftface)
      return wmfi_fail(WMF_ERR_BACKEND, "text: raqm gave glyph %zu a face other than its character's (%s)", i, f->path);
    int64_t gx = pen + g[i].x_offset, gy = (int64_t)base_y + g[i].y_offset,
            next = pen + g[i].x_advance + style->letter_spacing;
    if (gx < -max_pen || gx > max_pen || gy < -max_pen || gy > max_pen || next < -max_pen || next > max_pen)
      return wmfi_fail(WMF_ERR_LIMIT, "text: a line of %zu characters at %g px reaches beyond %d px (glyph %zu)", n,
                       (double)style->size_px, WMFI_TEXT_MAX_PX, i);
    wmfi_placed_glyph p = {NULL, NULL, (int32_t)gx, (int32_t)gy};
    s = wmfi_font_glyph(f, z, g[i].index, 0, &p.fill);
    if (s == WMF_OK && style->stroke > 0) s = wmfi_font_glyph(f, z, g[i].index, style->stroke, &p.stroke);
    if (s != WMF_OK) return s;
    pen = next;
    int32_t adv = (int32_t)WMFI_PIXEL(pen);
    if (adv > l->x_max) l->x_max = adv;
    if (adv < l->x_min) l->x_min = adv;
    grow_box(l, p.fill, p.x, p.y);
    s = push(l, p);
    if (s != WMF_OK) return s;
  }
  if (first_line) l->advance = (int32_t)pen;
  return WMF_OK;
}

static wmf_status layout_line(wmfi_layout *l, wmf_font *font, const uint32_t *cps, size_t n,
                              const wmfi_text_style *style, int32_t base_y, bool first_line, wmf_font **fonts) {
  wmf_status st = WMF_OK;
  raqm_t *rq = NULL;
  raqm_glyph_t *own = NULL, *glyphs = NULL;
  size_t count = 0;
  if (n == 0) { /* PIL lays out no glyphs for an empty line */
    if (first_line) l->advance = 0;
    return WMF_OK;
  }
  WMFI_TRY(assign_fonts(font, cps, n, style, fonts));
  hb_script_t script;
  if (single_ltr_run(cps, n, fonts, style, &script)) {
    WMFI_TRY(shape_single_run(fonts[0], cps, n, script, style, &own, &count));
    glyphs = own;
  } else {
    char name[5] = {0};
    if (style->script && !script_as_detected(cps, n, style->script)) {
      hb_tag_to_string(style->script, name);
      WMFI_FAIL(WMF_ERR_UNSUPPORTED, "text: the given script '%s' cannot be applied to a line of several "
                "directions, scripts or fonts (raqm, PIL's layout, has no script setting; it applies to a line "
                "of one left-to-right run of one font)", name);
    }
    WMFI_TRY(layout_raqm(&rq, cps, n, fonts, style, &glyphs, &count));
    WMFI_CHECK(!style->no_dotted_circle || !inserted_dotted_circle(cps, n, glyphs, count), WMF_ERR_UNSUPPORTED,
               "text: no dotted circle cannot be applied to a line of several directions, scripts or fonts (raqm, "
               "PIL's layout, has no setting for it; it applies to a line of one left-to-right run of one font)");
  }
  WMFI_TRY(place_line(l, glyphs, count, fonts, n, style, base_y, first_line));
done:
  wmfi_free(own);
  if (rq) raqm_destroy(rq);
  return st;
}

wmf_status wmfi_layout_text(wmfi_layout *l, wmf_font *font, const uint32_t *cps, size_t count,
                            const wmfi_text_style *style) {
  wmf_status st = WMF_OK;
  memset(l, 0, sizeof *l);
  wmf_font **fonts = NULL;
  bool locked = false;
  WMFI_ALLOC(fonts, wmfi_alloc_array(count + 1, sizeof *fonts), "text");
  pthread_mutex_lock(&font->lock);
  locked = true;
  wmfi_sized *z;
  WMFI_TRY(wmfi_font_sized(font, style->size_px, &z));
  const FT_Size_Metrics *m = &z->face->size->metrics;
  l->ascender = (int32_t)m->ascender;
  l->descender = (int32_t)m->descender;
  int32_t line_step = WMFI_PIXEL((int32_t)m->height) + style->line_spacing;
  size_t start = 0;
  int line = 0;
  for (size_t i = 0; i <= count; i++)
    if (i == count || cps[i] == '\n') {
      int64_t base_y = -(int64_t)line * line_step * 64;
      WMFI_CHECK(base_y >= -(int64_t)WMFI_TEXT_MAX_PX * 64 && base_y <= (int64_t)WMFI_TEXT_MAX_PX * 64, WMF_ERR_LIMIT,
                 "text: %d lines at %g px reach beyond %d px", line + 1, (double)style->size_px, WMFI_TEXT_MAX_PX);
      WMFI_TRY(layout_line(l, font, cps + start, i - start, style, (int32_t)base_y, line == 0, fonts));
      line++;
      start = i + 1;
    }
done:
  if (locked) pthread_mutex_unlock(&font->lock);
  wmfi_free(fonts);
  if (st != WMF_OK) wmfi_layout_free(l);
  return st;
}

void wmfi_layout_free(wmfi_layout *l) {
  wmfi_free(l->glyphs);
  memset(l, 0, sizeof *l);
}

void wmfi_layout_getsize(const wmfi_layout *l, int32_t *w, int32_t *h) {
  /* getsize: (size[0] + offset[0], size[1] + offset[1]) with size = (x_max - x_min, y_max - y_min) and
   * offset = (x_min - x_anchor, y_anchor - y_max), x_anchor = 0, y_anchor = PIXEL(ascender) */
  *w = l->x_max;
  *h = WMFI_PIXEL(l->ascender) - l->y_min;
}
