/* Internal interface of the text module: fonts (FreeType faces per pixel size, fontconfig lookup and
 * fallback), UTF-8 decoding, layout by libraqm as PIL 9.4 calls it, and coverage rendering as PIL places
 * glyphs. Other modules include only this header. No FreeType / HarfBuzz / raqm type appears here. */
#ifndef WMF_LIB_TEXT_H
#define WMF_LIB_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* PIL's rounding of a 26.6 coordinate to whole pixels (half up). */
#define WMFI_PIXEL(x) ((((x) + 32) & -64) >> 6)

/* UTF-8 decoding and encoding: core.h (wmfi_utf8_decode, wmfi_utf8_encode). */

/* ---- fonts (font.c) ---- */

/* A glyph bitmap as FreeType rendered it (hinted, FT_LOAD_DEFAULT, normal antialiasing). Cached in the
 * font, immutable once made, freed with the font. */
typedef struct wmfi_glyph {
  int32_t left, top;     /* bitmap_left, bitmap_top (y up) */
  uint32_t width, rows;  /* bitmap size; pitch == width */
  uint8_t *pixels;
} wmfi_glyph;

void wmfi_font_ref(wmf_font *font);

/* ---- layout (layout.c) ---- */

typedef struct wmfi_text_style {
  uint32_t size_px;       /* pixel size (FT_Set_Pixel_Sizes(0, size)) */
  int32_t letter_spacing; /* 26.6, added to every advance */
  int32_t line_spacing;   /* pixels, added to the font height between lines */
  int32_t stroke;         /* 26.6 stroker radius; 0 = no outline glyphs */
  bool fallback;          /* resolve missing characters through fontconfig */
  const char *language;   /* BCP 47, or NULL for HarfBuzz's default (the locale's, as raqm) */
  uint32_t script;        /* ISO 15924 tag as HB_TAG, or 0 to itemize by character (raqm); a tag
                             raqm would not detect needs a single left-to-right run (layout.c) */
  int direction;          /* wmf_direction of the paragraph (AUTO = raqm's default) */
  bool no_dotted_circle;  /* HarfBuzz inserts no U+25CC before a mark without a base (as for a font
                             without that glyph) */
} wmfi_text_style;

typedef struct wmfi_placed_glyph {
  const wmfi_glyph *fill;   /* never NULL */
  const wmfi_glyph *stroke; /* NULL unless style.stroke > 0 */
  int32_t x, y;             /* pen + offset in 26.6, y up, relative to the first line's origin */
} wmfi_placed_glyph;

typedef struct wmfi_layout {
  wmfi_placed_glyph *glyphs;
  size_t count, capacity;
  int32_t ascender, descender; /* the primary face's size metrics, 26.6, y up */
  int32_t advance;             /* 26.6 pen advance of the first line (PIL's `position`) */
  /* PIL's text box in whole pixels, y up, origin at the first pen position: glyph boxes plus the pen
   * line from 0 to the advance, as font.getbbox computes it */
  int32_t x_min, x_max, y_min, y_max;
} wmfi_layout;

/* Text extents: a laid-out line or block of lines reaches at most WMFI_TEXT_MAX_PX pixels from its
 * origin (the images' side limit), and a rendered mask holds at most WMFI_TEXT_MAX_AREA pixels (the
 * images' pixel limit). Beyond them WMF_ERR_LIMIT, so 26.6 positions never overflow int32. */
#define WMFI_TEXT_MAX_PX (1 << 20)
#define WMFI_TEXT_MAX_AREA ((int64_t)1 << 30)

/* Lays out code points (lines split at U+000A) with `font` and its fallbacks: each line by libraqm with
 * PIL's arguments (FriBiDi bidi, script itemization, HarfBuzz shaping on FreeType faces, fallback fonts
 * as face ranges), glyph bitmaps from the cache. The font's lock is held inside. Returns WMF_OK,
 * WMF_ERR_FONT (a character missing, naming it and the font), WMF_ERR_UNSUPPORTED (style.script or
 * style.no_dotted_circle needed on a line that is not one left-to-right run of one font), WMF_ERR_LIMIT
 * (a line or the lines reach beyond WMFI_TEXT_MAX_PX), WMF_ERR_BACKEND, WMF_ERR_OUT_OF_MEMORY. */
wmf_status wmfi_layout_text(wmfi_layout *out, wmf_font *font, const uint32_t *cps, size_t count,
                            const wmfi_text_style *style);
void wmfi_layout_free(wmfi_layout *layout);

/* PIL 9.4's FreeTypeFont.getsize(text) (deprecated there, removed in 10): font.getsize's size plus its
 * offset for the default anchor "la", i.e. w = x_max and h = PIXEL(ascender) - y_min of the text box. */
void wmfi_layout_getsize(const wmfi_layout *layout, int32_t *w, int32_t *h);

/* ---- coverage (raster.c) ---- */

/* A coverage canvas: w x h bytes whose top-left pixel is image pixel (x0, y0). */
typedef struct wmfi_canvas {
  int32_t x0, y0, w, h;
  uint8_t *data;
} wmfi_canvas;

/* Parses PIL's anchor ("la", "ls", ...) into x/y anchor offsets in pixels, y up, for `layout`.
 * Returns WMF_OK or WMF_ERR_INVALID_ARGUMENT. */
wmf_status wmfi_anchor_offsets(const wmfi_layout *layout, const char *anchor, int32_t *ax, int32_t *ay);
bool wmfi_anchor_valid(const char *anchor);

/* Renders the layout's glyphs (stroke glyphs when `stroke`) into a new canvas as PIL draws text at the
 * float point (x, y) with `anchor`: whole-pixel part truncated, fraction passed to the glyph origins,
 * each glyph at PIXEL()-rounded positions, overlapping glyphs combined by maximum. */
wmf_status wmfi_render_layout(wmfi_canvas *out, const wmfi_layout *layout, double x, double y,
                              const char *anchor, bool stroke);

/* Rotates a canvas by `degrees` counterclockwise around image point (cx, cy), bilinear. */
wmf_status wmfi_canvas_rotate(wmfi_canvas *out, const wmfi_canvas *in, double degrees, double cx,
                              double cy);
void wmfi_canvas_free(wmfi_canvas *c);

#endif
