/* Layout: per line, characters are given a font (the recipe's, or a fontconfig fallback), itemized by
 * script, shaped run by run with HarfBuzz on FreeType font functions (as raqm 0.7 does for PIL), runs
 * put in visual order (reversed for right-to-left paragraphs), and positions accumulated in 26.6. */
#include <stdio.h>
#include <string.h>

#include "text/font_internal.h"

static bool is_ignorable(uint32_t cp) {
  /* characters that select or join rather than show: never looked up on their own */
  return cp < 0x20 || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2060 && cp <= 0x206f) ||
         (cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || (cp >= 0xe0100 && cp <= 0xe01ef);
}

static bool is_weak_script(hb_script_t s) {
  return s == HB_SCRIPT_COMMON || s == HB_SCRIPT_INHERITED || s == HB_SCRIPT_UNKNOWN;
}

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

typedef struct run {
  size_t start, len;
  wmf_font *font;
  hb_script_t script;
  uint8_t level; /* bidi embedding level: odd = right to left */
} run;

/* A simplified Unicode bidi algorithm, enough for words, numbers and punctuation mixed across
 * directions (no explicit embeddings, brackets or separators between numbers): classes from the script
 * (strong L or R, Arabic letters as AL), digits EN (AN after AL, L after L, rule W2 and W7), Arabic-Indic
 * digits AN, combining marks as the character before; neutrals take the direction around them when
 * both sides agree (numbers count as R, N1) or the paragraph's (N2); implicit levels (I1, I2). */
enum { B_L, B_R, B_AL, B_EN, B_AN, B_N };

static int bidi_class(uint32_t cp, hb_script_t sc) {
  if (cp >= '0' && cp <= '9') return B_EN;
  if ((cp >= 0x660 && cp <= 0x669) || (cp >= 0x6f0 && cp <= 0x6f9)) return B_AN;
  if (sc == HB_SCRIPT_COMMON || sc == HB_SCRIPT_UNKNOWN || sc == HB_SCRIPT_INHERITED) return B_N;
  if (hb_script_get_horizontal_direction(sc) != HB_DIRECTION_RTL) return B_L;
  return sc == HB_SCRIPT_ARABIC || sc == HB_SCRIPT_SYRIAC || sc == HB_SCRIPT_THAANA ? B_AL : B_R;
}

static void bidi_levels(const uint32_t *cps, const hb_script_t *scripts, size_t n, int direction, uint8_t *levels) {
  uint8_t *cls = levels; /* classes first, then levels in place */
  int para = direction == 2 ? 1 : 0;
  bool found = direction != 0;
  for (size_t i = 0; i < n; i++) {
    cls[i] = (uint8_t)bidi_class(cps[i], scripts[i]);
    if (scripts[i] == HB_SCRIPT_INHERITED && i) cls[i] = cls[i - 1]; /* W1: marks follow their base */
    if (!found && (cls[i] == B_L || cls[i] == B_R || cls[i] == B_AL)) {
      para = cls[i] != B_L;
      found = true;
    }
  }
  int strong = para ? B_R : B_L;
  for (size_t i = 0; i < n; i++) { /* W2, W3, W7 */
    if (cls[i] == B_L || cls[i] == B_R || cls[i] == B_AL) strong = cls[i];
    if (cls[i] == B_AL) cls[i] = B_R;
    if (cls[i] == B_EN) cls[i] = strong == B_AL ? B_AN : strong == B_L ? B_L : B_EN;
  }
  for (size_t i = 0; i < n;) { /* N1, N2 */
    if (cls[i] != B_N) {
      i++;
      continue;
    }
    size_t e = i;
    while (e < n && cls[e] == B_N) e++;
    int before = i ? (cls[i - 1] == B_L ? B_L : B_R) : (para ? B_R : B_L);
    int after = e < n ? (cls[e] == B_L ? B_L : B_R) : (para ? B_R : B_L);
    int d = before == after ? before : (para ? B_R : B_L);
    for (size_t k = i; k < e; k++) cls[k] = (uint8_t)d;
    i = e;
  }
  for (size_t i = 0; i < n; i++) { /* I1, I2 */
    int c = cls[i];
    levels[i] = para == 0 ? (c == B_L ? 0 : c == B_R ? 1 : 2) : (c == B_R ? 1 : 2);
  }
}

static wmf_status layout_line(wmfi_layout *l, wmf_font *font, const uint32_t *cps, size_t n,
                              const wmfi_text_style *st, int32_t base_y, bool first_line, wmf_font **fonts,
                              hb_script_t *scripts, run *runs, uint8_t *levels) {
  hb_unicode_funcs_t *uf = hb_unicode_funcs_get_default();
  /* fonts per character; ignorable ones follow their neighbour */
  for (size_t i = 0; i < n; i++) {
    fonts[i] = NULL;
    if (is_ignorable(cps[i])) continue;
    wmf_status s = wmfi_font_for_char(font, cps[i], st->fallback, &fonts[i]);
    if (s != WMF_OK) return s;
    if (!fonts[i]) {
      char u[5] = {0};
      wmfi_utf8_encode(cps[i], u);
      return wmfi_fail(WMF_ERR_FONT, "text: font '%s %s' (%s) has no glyph for U+%04X '%s'%s", font->family,
                       font->style, font->path, cps[i], u,
                       st->fallback ? " and no fallback font from fontconfig has one" : " (fallback disabled)");
    }
  }
  for (size_t i = 0; i < n; i++)
    if (!fonts[i]) fonts[i] = i ? fonts[i - 1] : NULL;
  for (size_t i = n; i-- > 0;)
    if (!fonts[i]) fonts[i] = i + 1 < n ? fonts[i + 1] : font;
  /* scripts: weak characters take the script before them (or after, at the start); a given script
   * applies to every character */
  for (size_t i = 0; i < n; i++) scripts[i] = hb_unicode_script(uf, cps[i]);
  bidi_levels(cps, scripts, n, st->direction, levels);
  if (st->script) {
    hb_script_t forced = hb_script_from_iso15924_tag(st->script);
    for (size_t i = 0; i < n; i++) scripts[i] = forced;
  }
  for (size_t i = 1; i < n; i++)
    if (is_weak_script(scripts[i])) scripts[i] = scripts[i - 1];
  for (size_t i = n; i-- > 1;)
    if (is_weak_script(scripts[i - 1])) scripts[i - 1] = scripts[i];
  size_t nruns = 0;
  for (size_t i = 0; i < n; i++) {
    run *last = nruns ? &runs[nruns - 1] : NULL;
    if (last && last->font == fonts[i] && last->script == scripts[i] && last->level == levels[i]) last->len++;
    else runs[nruns++] = (run){i, 1, fonts[i], scripts[i], levels[i]};
  }
  /* visual order (rule L2): from the highest level down to 1, reverse every stretch of runs at that
   * level or above */
  uint8_t top = 0;
  for (size_t r = 0; r < nruns; r++)
    if (runs[r].level > top) top = runs[r].level;
  for (uint8_t lv = top; lv >= 1; lv--)
    for (size_t r = 0; r < nruns;) {
      if (runs[r].level < lv) {
        r++;
        continue;
      }
      size_t e = r;
      while (e < nruns && runs[e].level >= lv) e++;
      for (size_t a = r, b = e - 1; a < b; a++, b--) {
        run t = runs[a];
        runs[a] = runs[b];
        runs[b] = t;
      }
      r = e;
    }
  hb_language_t lang = st->language ? hb_language_from_string(st->language, -1) : hb_language_get_default();
  hb_buffer_t *buf = hb_buffer_create();
  if (!hb_buffer_allocation_successful(buf)) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory");
  const int64_t max_pen = (int64_t)WMFI_TEXT_MAX_PX * 64;
  int64_t pen = 0; /* 26.6; kept within +-max_pen, so every int32 position below is exact */
  wmf_status status = WMF_OK;
  for (size_t k = 0; k < nruns && status == WMF_OK; k++) {
    const run *r = &runs[k];
    wmfi_sized *z;
    status = wmfi_font_sized(r->font, st->size_px, &z);
    if (status != WMF_OK) break;
    hb_buffer_clear_contents(buf);
    hb_buffer_add_utf32(buf, cps, (int)n, (unsigned)r->start, (int)r->len);
    hb_buffer_set_script(buf, r->script);
    hb_buffer_set_direction(buf, (r->level & 1) ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
    hb_buffer_set_language(buf, lang);
    hb_buffer_set_flags(buf, HB_BUFFER_FLAG_BOT | HB_BUFFER_FLAG_EOT |
                                 (st->no_dotted_circle ? HB_BUFFER_FLAG_DO_NOT_INSERT_DOTTED_CIRCLE : 0));
    hb_shape(z->hb, buf, NULL, 0);
    if (!hb_buffer_allocation_successful(buf)) {
      status = wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: HarfBuzz ran out of memory");
      break;
    }
    unsigned len;
    hb_glyph_info_t *info = hb_buffer_get_glyph_infos(buf, &len);
    hb_glyph_position_t *pos = hb_buffer_get_glyph_positions(buf, &len);
    for (unsigned i = 0; i < len && status == WMF_OK; i++) {
      int64_t gx = pen + pos[i].x_offset, gy = (int64_t)base_y + pos[i].y_offset,
              next = pen + pos[i].x_advance + st->letter_spacing;
      if (gx < -max_pen || gx > max_pen || gy < -max_pen || gy > max_pen || next < -max_pen || next > max_pen) {
        status = wmfi_fail(WMF_ERR_LIMIT, "text: a line of %zu characters at %g px reaches beyond %d px (glyph %u)", n,
                           (double)st->size_px, WMFI_TEXT_MAX_PX, i);
        break;
      }
      wmfi_placed_glyph g = {NULL, NULL, (int32_t)gx, (int32_t)gy};
      status = wmfi_font_glyph(r->font, z, info[i].codepoint, 0, &g.fill);
      if (status == WMF_OK && st->stroke > 0) status = wmfi_font_glyph(r->font, z, info[i].codepoint, st->stroke, &g.stroke);
      if (status != WMF_OK) break;
      pen = next;
      int32_t adv = (int32_t)WMFI_PIXEL(pen);
      if (adv > l->x_max) l->x_max = adv;
      if (adv < l->x_min) l->x_min = adv;
      grow_box(l, g.fill, g.x, g.y);
      status = push(l, g);
    }
  }
  hb_buffer_destroy(buf);
  if (first_line) l->advance = (int32_t)pen;
  return status;
}

wmf_status wmfi_layout_text(wmfi_layout *l, wmf_font *font, const uint32_t *cps, size_t count,
                            const wmfi_text_style *st) {
  memset(l, 0, sizeof *l);
  wmf_font **fonts = wmfi_alloc_array(count + 1, sizeof *fonts);
  hb_script_t *scripts = wmfi_alloc_array(count + 1, sizeof *scripts);
  run *runs = wmfi_alloc_array(count + 1, sizeof *runs);
  uint8_t *levels = wmfi_malloc(count + 1);
  if (!fonts || !scripts || !runs || !levels) {
    wmfi_free(levels);
    wmfi_free(fonts);
    wmfi_free(scripts);
    wmfi_free(runs);
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory");
  }
  pthread_mutex_lock(&font->lock);
  wmfi_sized *z;
  wmf_status status = wmfi_font_sized(font, st->size_px, &z);
  if (status == WMF_OK) {
    const FT_Size_Metrics *m = &z->face->size->metrics;
    l->ascender = (int32_t)m->ascender;
    l->descender = (int32_t)m->descender;
    int32_t line_step = WMFI_PIXEL((int32_t)m->height) + st->line_spacing;
    size_t start = 0;
    int line = 0;
    for (size_t i = 0; i <= count && status == WMF_OK; i++)
      if (i == count || cps[i] == '\n') {
        int64_t base_y = -(int64_t)line * line_step * 64;
        if (base_y < -(int64_t)WMFI_TEXT_MAX_PX * 64 || base_y > (int64_t)WMFI_TEXT_MAX_PX * 64) {
          status = wmfi_fail(WMF_ERR_LIMIT, "text: %d lines at %g px reach beyond %d px", line + 1,
                             (double)st->size_px, WMFI_TEXT_MAX_PX);
          break;
        }
        status = layout_line(l, font, cps + start, i - start, st, (int32_t)base_y, line == 0, fonts, scripts, runs,
                             levels);
        line++;
        start = i + 1;
      }
  }
  pthread_mutex_unlock(&font->lock);
  wmfi_free(fonts);
  wmfi_free(scripts);
  wmfi_free(runs);
  wmfi_free(levels);
  if (status != WMF_OK) wmfi_layout_free(l);
  return status;
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
