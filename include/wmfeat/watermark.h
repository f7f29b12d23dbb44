/* libwmfeat watermarks: fonts (FreeType + HarfBuzz + fontconfig), text and logo recipes, the published
 * presets (ImageNet-W, Mark My Words, CH_datasets-style logos, stock-photo tiles). Include <wmfeat.h>.
 *
 * Rendering follows PIL 9.4 with raqm layout: HarfBuzz positions (unhinted advances), hinted FreeType
 * glyph bitmaps placed at rounded pixel positions, PIL's anchors ("la", "ls", ...), and compositing
 * equal to drawing on an RGBA layer (255,255,255,0) then Image.alpha_composite, 8-bit rounding included.
 *
 * Thread safety: a wmf_font may be shared by threads (shaping and glyph-cache misses take an internal
 * lock; cache hits do not rasterize again). A wmf_watermark may be applied from several threads at once
 * (each call on its own image); its set_* functions must not run concurrently with any other use of the
 * same recipe. Results depend only on the recipe, the image size and the seed, never on threads.
 */
#ifndef WMFEAT_WATERMARK_H
#define WMFEAT_WATERMARK_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/watermark.h>."
#endif
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------ fonts */

/** Opens face `face_index` of a font file (TrueType, OpenType, collections .ttc/.otc).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, negative index), WMF_ERR_IO (cannot read the file),
 *  WMF_ERR_FONT (not a font, or no such face; the message names the file and index),
 *  WMF_ERR_OUT_OF_MEMORY. *out is owned by the caller (wmf_font_destroy). Thread-safe. */
WMF_API wmf_status wmf_font_open(wmf_font **out, const char *path, int face_index);

/** Finds a font with a fontconfig pattern, e.g. "Noto Serif CJK SC:style=ExtraLight" or
 *  "Noto Sans Devanagari". fontconfig always proposes something; this call refuses a proposal whose
 *  family differs from the family asked for (and whose style differs, when one is asked), so a missing
 *  font is an error, never a silent substitute.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, unparsable pattern), WMF_ERR_FONT (no such font:
 *  the message names the pattern and what fontconfig offered), WMF_ERR_IO, WMF_ERR_OUT_OF_MEMORY.
 *  Thread-safe. */
WMF_API wmf_status wmf_font_find(wmf_font **out, const char *pattern);

/** Releases the caller's reference; recipes holding the font keep it alive. NULL is accepted. */
WMF_API void wmf_font_destroy(wmf_font *font);

/** The face's family and style names as FreeType reports them ("Noto Serif CJK SC", "ExtraLight"),
 *  and the file it came from. Borrowed, valid while the font lives; "" for NULL. */
WMF_API const char *wmf_font_family(const wmf_font *font);
WMF_API const char *wmf_font_style(const wmf_font *font);
WMF_API const char *wmf_font_path(const wmf_font *font);

/** The face index inside the font file (0 for single-face files and for NULL). */
WMF_API int wmf_font_face_index(const wmf_font *font);

/* ---------------------------------------------------------------------------------------- recipes */

/** Where the mark goes. */
typedef enum wmf_placement {
  WMF_PLACE_FIXED = 0,  /**< anchor at (fx * W, fy * H), see wmf_watermark_set_position() */
  WMF_PLACE_RANDOM = 1, /**< Mark My Words: anchor x in [0, W - w), y in [h, H - h), integers drawn
                             from the seed; (w, h) = PIL's font.getsize(text) */
  WMF_PLACE_TILED = 2   /**< repeated over the whole image, see wmf_watermark_set_tiled() */
} wmf_placement;

/** A new recipe with defaults: no text, no font, 30 px, white, opacity 1, fixed placement at (0, 0)
 *  with anchor "la", no rotation, outline, shadow or logo, fallback fonts allowed.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_watermark_create(wmf_watermark **out);

/** A recipe from a preset name (see wmf_watermark_preset_name()); fonts are looked up by fontconfig.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_NOT_FOUND (unknown name), WMF_ERR_FONT (the
 *  preset's font is not installed; the message names it), WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_watermark_from_preset(wmf_watermark **out, const char *name);

/** Frees a recipe (and its references to fonts and logos). NULL is accepted. */
WMF_API void wmf_watermark_destroy(wmf_watermark *wm);

/** Presets: count, names by index (NULL past the end), and a static one-paragraph description of a
 *  named preset listing its parameters (NULL for an unknown name). Static strings; thread-safe. */
WMF_API size_t wmf_watermark_preset_count(void);
WMF_API const char *wmf_watermark_preset_name(size_t index);
WMF_API const char *wmf_watermark_preset_describe(const char *name);

/* All setters return WMF_OK, or WMF_ERR_INVALID_ARGUMENT (NULL recipe, a value out of its range, a
 * non-finite number; the recipe is then unchanged), plus the statuses listed per function. */

/** Fixed text, UTF-8; "\n" starts a new line. Also WMF_ERR_UTF8 (the message gives the byte offset),
 *  WMF_ERR_OUT_OF_MEMORY. Clears any character pool. */
WMF_API wmf_status wmf_watermark_set_text(wmf_watermark *wm, const char *utf8);

/** Random text: `count` (1..256) characters drawn with replacement from the characters of `pool`
 *  (UTF-8, 1..4096 characters) by the seed given to apply. Also WMF_ERR_UTF8, WMF_ERR_OUT_OF_MEMORY.
 *  Clears any fixed text. */
WMF_API wmf_status wmf_watermark_set_pool(wmf_watermark *wm, const char *pool_utf8, uint32_t count);

/** The font (the recipe takes its own reference; the caller may destroy its handle afterwards). */
WMF_API wmf_status wmf_watermark_set_font(wmf_watermark *wm, wmf_font *font);

/** Allow (1, default) or refuse (0) fallback fonts found by fontconfig for characters the font lacks.
 *  Refused, such a character makes apply fail with WMF_ERR_FONT naming it (never an empty box). */
WMF_API wmf_status wmf_watermark_set_fallback(wmf_watermark *wm, int allow);

/** Writing direction of a paragraph: detected from its first strong character, or given. */
typedef enum wmf_direction {
  WMF_DIRECTION_AUTO = 0,
  WMF_DIRECTION_LTR = 1,
  WMF_DIRECTION_RTL = 2
} wmf_direction;

/** Shaping parameters, each detected when not given: `language` a BCP 47 tag ("hi", "zh-Hans", "ar";
 *  NULL = the process locale's, as raqm uses), `script` an ISO 15924 tag ("Deva", "Hani", "Arab";
 *  NULL = itemize by the characters' scripts), `direction` the paragraph direction (text is laid out
 *  by libraqm as PIL does: FriBiDi's Unicode bidi algorithm, explicit embeddings and isolates included).
 *  raqm has no script setting: a script other than the detected one applies only to a line of one
 *  left-to-right run of one font; on any other line apply fails with WMF_ERR_UNSUPPORTED.
 *  Also WMF_ERR_INVALID_ARGUMENT for a malformed tag or direction. */
WMF_API wmf_status wmf_watermark_set_shaping(wmf_watermark *wm, const char *language, const char *script,
                                             wmf_direction direction);

/** Size in pixels (1..2048) or, with a fraction in (0, 4], size = round(fraction * S) at apply time,
 *  S the reference size (wmf_watermark_set_reference_size) or, when none is set, min(W, H).
 *  The last of set_size, set_size_relative and set_size_imagenet_w wins. */
WMF_API wmf_status wmf_watermark_set_size(wmf_watermark *wm, float pixels);
WMF_API wmf_status wmf_watermark_set_size_relative(wmf_watermark *wm, float fraction);

/** Text color and opacity in [0, 1]; the drawing alpha is round(255 * opacity) with halves to even, as
 *  Python's round() (ImageNet-W: round(0.5 * 255) = 128; for an exact alpha A pass A / 255.0f). The
 *  shadow's opacity follows the same rule. (Before 1.1 the alpha was int(255 * opacity).) Partly covered
 *  pixels keep the color, with the coverage as alpha, as PIL draws on a transparent layer (before 1.1 the
 *  library blended the color with white there). */
WMF_API wmf_status wmf_watermark_set_color(wmf_watermark *wm, uint8_t r, uint8_t g, uint8_t b);
WMF_API wmf_status wmf_watermark_set_opacity(wmf_watermark *wm, float opacity);

/** Fixed placement: the anchor point is (fx * W, fy * H) (fractions in [-1, 2]); `anchor` is PIL's
 *  two-letter code for horizontal text: first letter l/m/r (left, middle, right), second a/t/m/s/b/d
 *  (ascender, top, middle, baseline, bottom, descender). ImageNet-W is (0.01, 0.4, "la").
 *  Selects WMF_PLACE_FIXED. */
WMF_API wmf_status wmf_watermark_set_position(wmf_watermark *wm, double fx, double fy, const char *anchor);

/** Mark My Words placement (WMF_PLACE_RANDOM): (w, h) = PIL 9.4's font.getsize(text) (w = the right
 *  end of the text box, h = the ascender minus the box's bottom), x an integer in [0, W - w) and y an
 *  integer in [h, H - h) drawn from the seed (x = 0 or y = h where the range is empty). Sets the anchor
 *  to "ls" (the notebook's draw.text(..., anchor='ls')); wmf_watermark_set_anchor() changes it. */
WMF_API wmf_status wmf_watermark_set_random_position(wmf_watermark *wm);

/** The anchor used by fixed and random placement (PIL's two-letter code, see set_position), keeping
 *  the placement. Also WMF_ERR_INVALID_ARGUMENT for a bad code. Since 1.1. */
WMF_API wmf_status wmf_watermark_set_anchor(wmf_watermark *wm, const char *anchor);

/** Overrides the font's ascender and descender (in em; FreeType's rounding: ceil and floor to whole
 *  pixels) where the layout uses them: the anchors ("la", "ld", "lm", ...) and font.getsize's height in
 *  random placement; glyphs are unchanged. Lets a stand-in font be placed as the original font would
 *  be (mmw-chinese: SongTi's ascender, see docs/watermarks.md). (0, 0) = the font's own; ascender in
 *  (0, 4], descender in [-4, 0]. Since 1.1. */
WMF_API wmf_status wmf_watermark_set_font_metrics(wmf_watermark *wm, float ascender_em, float descender_em);

/** Whether HarfBuzz shows a combining mark that has no base (a Devanagari vowel sign drawn first) on a
 *  dotted circle U+25CC (1, the default, as PIL/raqm with a font that has that glyph) or alone (0, as
 *  with a font without it: mmw-hindi, whose original NirmalaB.ttf shows none in the released images).
 *  raqm has no such setting: 0 applies to a line of one left-to-right run of one font; a dotted circle
 *  on any other line makes apply fail with WMF_ERR_UNSUPPORTED. Since 1.1. */
WMF_API wmf_status wmf_watermark_set_dotted_circle(wmf_watermark *wm, int insert);

/** ImageNet-W's font size rule (AddWatermark(image_size) in Whac-A-Mole's watermark_transform.py):
 *  {224: 36, 384: 62, 512: 82, 518: 84}[S], else int(S / 6.22), S the reference size or, when none is
 *  set, each image's shorter side. The last of the set_size* calls wins. Since 1.1. */
WMF_API wmf_status wmf_watermark_set_size_imagenet_w(wmf_watermark *wm);

/** The reference size S that relative sizes use instead of each image's shorter side: the crop size
 *  the pipeline gives the transform (AddWatermark(crop_size)); `wmfeat audit` sets it to its --crop.
 *  0 (default) = each image's shorter side. Also WMF_ERR_INVALID_ARGUMENT over 2^20. Since 1.1. */
WMF_API wmf_status wmf_watermark_set_reference_size(wmf_watermark *wm, uint32_t size);
/** The reference size set (0 = none, and for NULL). Since 1.1. */
WMF_API uint32_t wmf_watermark_reference_size(const wmf_watermark *wm);

/** Re-saves the result as JPEG at `quality` (1..100; 0 = off, the default) as the last step of apply:
 *  the image module's encoder (stb_image_write: libjpeg's quantization tables scaled for the quality,
 *  4:2:0 chroma below quality 91) and decoder, in memory. The Mark My Words presets set 75 (the released
 *  images were saved by PIL at its default quality 75, 4:2:0). Coverage and describe_draw ignore it.
 *  Also WMF_ERR_INVALID_ARGUMENT outside 0..100. Since 1.1. */
WMF_API wmf_status wmf_watermark_set_jpeg_quality(wmf_watermark *wm, int quality);
/** The JPEG quality set (0 = off, and for NULL). Since 1.1. */
WMF_API int wmf_watermark_jpeg_quality(const wmf_watermark *wm);

/** Tiled placement (WMF_PLACE_TILED): the text block rotated by `angle_degrees` is repeated over the
 *  whole image on a grid whose steps are the rotated block's size times (1 + gap_x) and (1 + gap_y)
 *  (gaps in [0, 10]); odd rows are shifted by half a step. */
WMF_API wmf_status wmf_watermark_set_tiled(wmf_watermark *wm, float angle_degrees, float gap_x,
                                           float gap_y);

/** Rotation of the text around its anchor point, in degrees counterclockwise (any finite angle). */
WMF_API wmf_status wmf_watermark_set_rotation(wmf_watermark *wm, float degrees);

/** Extra space added after each character, in pixels (may be negative, >= -100 and <= 1000). */
WMF_API wmf_status wmf_watermark_set_letter_spacing(wmf_watermark *wm, float pixels);

/** Extra space between lines, in pixels ([-100, 1000]); lines are the font's height apart plus this. */
WMF_API wmf_status wmf_watermark_set_line_spacing(wmf_watermark *wm, float pixels);

/** Outline drawn under the text: FreeType stroker of radius `width` pixels (0 removes it; at most 64),
 *  in the given color, with the text's opacity; drawn as PIL 9.4's draw.text(..., stroke_width,
 *  stroke_fill) draws it: one layer with the text drawn over its outline (so below opacity 1 the outline
 *  does not show through the text), identical to PIL for whole-pixel widths (since 1.1). */
WMF_API wmf_status wmf_watermark_set_outline(wmf_watermark *wm, float width, uint8_t r, uint8_t g,
                                             uint8_t b);

/** Shadow: the text (with its outline, if any) moved by (dx, dy) pixels (|d| <= 256), drawn first in
 *  the given color and opacity (0 removes it), on a layer of its own composited under the text's, as
 *  PIL 9.4 draws text on a transparent layer and Image.alpha_composite composites it. */
WMF_API wmf_status wmf_watermark_set_shadow(wmf_watermark *wm, int dx, int dy, uint8_t r, uint8_t g,
                                            uint8_t b, float opacity);

/** Adds a logo (at most 8 per recipe) scaled to the image: RGBA pixels (`height` rows of
 *  `stride` bytes, copied), scaled to `scale` * W pixels wide (keeping its aspect ratio; scale in
 *  (0, 4]), its top-left corner at (fx * W, fy * H) (fractions in [-1, 2]), its alpha multiplied by
 *  `opacity`, composited over the image after the text. Also WMF_ERR_LIMIT (too many logos, a side
 *  over 4096), WMF_ERR_OUT_OF_MEMORY. A recipe may hold logos and no text. */
WMF_API wmf_status wmf_watermark_add_logo(wmf_watermark *wm, const uint8_t *rgba, uint32_t width,
                                          uint32_t height, size_t stride, float scale, double fx,
                                          double fy, float opacity);

/** Every parameter of the recipe as one canonical line of UTF-8 text ("text=\"...\" font=\"family:style#face\"
 *  fallback=1 ... size=... color=ffffff opacity=0.5 placement=0 position=... logos=0"; floats printed
 *  so they round-trip, logos by size and pixel hash), written into `out` with its NUL when it fits; its
 *  length (without the NUL) goes to *out_length (may be NULL). Two recipes that draw differently give
 *  different lines. Used for the "recipe" field of an audit's provenance (docs/audit.md). Pass out NULL
 *  and capacity 0 to ask for the length.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_BUFFER_TOO_SMALL (*out_length still set),
 *  WMF_ERR_OUT_OF_MEMORY. Safe to call concurrently with apply on the same recipe, not with setters. */
WMF_API wmf_status wmf_watermark_recipe(char *out, size_t capacity, size_t *out_length, const wmf_watermark *wm);

/** Adds a logo (at most 8 per recipe) as CH_datasets' PastePoisoner pastes one: at its own size, its
 *  top-left corner at pixel (x, y) (|x|, |y| <= 2^20; clipped to the image), its alpha replaced by
 *  int(alpha * opacity) (opacity in [0, 1], a double as Python's), then every channel blended as PIL's
 *  paste(logo, (x, y), logo): DIV255(image * (255 - a) + logo * a). RGBA pixels, `height` rows of
 *  `stride` bytes, straight alpha, copied. Also WMF_ERR_LIMIT (too many logos, a side over 4096),
 *  WMF_ERR_OUT_OF_MEMORY. Since 1.1. */
WMF_API wmf_status wmf_watermark_add_logo_at(wmf_watermark *wm, const uint8_t *rgba, uint32_t width,
                                             uint32_t height, size_t stride, int32_t x, int32_t y,
                                             double opacity);

/** wmf_watermark_add_logo_at() with the pixels of an image file (PNG with its alpha channel, or any
 *  format wmf_image_load reads; without alpha the logo is opaque). Also the statuses of wmf_image_load
 *  (WMF_ERR_IO, WMF_ERR_CORRUPT, WMF_ERR_UNSUPPORTED, WMF_ERR_LIMIT), the message naming the file.
 *  Since 1.1. */
WMF_API wmf_status wmf_watermark_add_logo_file(wmf_watermark *wm, const char *path, int32_t x, int32_t y,
                                               double opacity);

/** Replaces the pixels of logo `index` (in the order added; the ch-logo preset's stand-ins are 0 and 1)
 *  by an image file's, keeping its placement and opacity. Also WMF_ERR_NOT_FOUND (no such logo) and
 *  the statuses of wmf_watermark_add_logo_file. Since 1.1. */
WMF_API wmf_status wmf_watermark_set_logo_file(wmf_watermark *wm, size_t index, const char *path);

/** The number of logos in the recipe (0 for NULL). Since 1.1. */
WMF_API size_t wmf_watermark_logo_count(const wmf_watermark *wm);

/* ------------------------------------------------------------------------------------------ apply */

/** Draws the recipe onto an image in place. Deterministic: the same recipe, image size and seed give
 *  the same pixels, whatever thread or thread count.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL), WMF_ERR_STATE (no text, pool or logo; text without
 *  a font), WMF_ERR_FONT (a character no font has, or fallback refused), WMF_ERR_UNSUPPORTED (a given
 *  script or no dotted circle on a line raqm cannot shape with it, see wmf_watermark_set_shaping and
 *  wmf_watermark_set_dotted_circle), WMF_ERR_BACKEND (FreeType, raqm or HarfBuzz failed),
 *  WMF_ERR_OUT_OF_MEMORY. The image is unchanged on failure. */
WMF_API wmf_status wmf_watermark_apply(const wmf_watermark *wm, wmf_image *image, uint64_t seed);

/** Draws the recipe once with an explicit text and position instead of the seeded draw: `text` (UTF-8;
 *  NULL = the recipe's fixed text) with the recipe's anchor at the point (x, y) in pixels (fractions
 *  kept, as PIL's draw.text((x, y), ...)); font, size rule, color, opacity, outline, shadow, rotation,
 *  logos and the JPEG step as apply. A Mark My Words draw (text, x, y) of the notebook is reproduced
 *  with the preset's recipe, and apply(seed) equals apply_draw with describe_draw's text and point.
 *  Returns the statuses of apply, plus WMF_ERR_UTF8, WMF_ERR_LIMIT (over 256 characters),
 *  WMF_ERR_INVALID_ARGUMENT (a point not finite or beyond 2^24), WMF_ERR_STATE (no font, or no text
 *  given and none fixed). The image is unchanged on failure. Since 1.1. */
WMF_API wmf_status wmf_watermark_apply_draw(const wmf_watermark *wm, wmf_image *image, const char *text,
                                            double x, double y);

/** The coverage of the mark alone, for analysis: the alpha (0..255) each pixel of a width x height
 *  image receives from the text, its outline and shadow and the logos (the largest of them), written
 *  into `mask` (capacity bytes, row-major, width * height needed). Same seed rule as apply.
 *  Returns the statuses of apply, plus WMF_ERR_BUFFER_TOO_SMALL. */
WMF_API wmf_status wmf_watermark_coverage(const wmf_watermark *wm, uint32_t width, uint32_t height,
                                          uint64_t seed, uint8_t *mask, size_t capacity);

/** What apply draws for this size and seed: the text (UTF-8, NUL-terminated, into `text` of
 *  `text_capacity` bytes; may be NULL with capacity 0), the font size in pixels and the anchor point
 *  (first copy for tiled marks). Lets a caller reproduce a draw with another renderer.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_STATE, WMF_ERR_BUFFER_TOO_SMALL (text too long),
 *  WMF_ERR_FONT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_watermark_describe_draw(const wmf_watermark *wm, uint32_t width, uint32_t height,
                                               uint64_t seed, char *text, size_t text_capacity,
                                               float *size_px, double *x, double *y);

#ifdef __cplusplus
}
#endif
#endif
