/* wmfeat render: write a watermarked image, from a preset or from flags.
 *
 *   wmfeat render --list
 *   wmfeat render -p imagenet-w -i photo.jpg --fit 224 -o out.png [--seed N] [--coverage mask.png]
 *   wmfeat render --font "Noto Naskh Arabic" --text "مرحبا" --size 28 --pos 0.5,0.5,mm -s 224x224 -o out.png
 *   wmfeat render -p mmw-hindi -i img.png --text "कमल" --at 20,60 -o out.png     (an explicit draw)
 *   wmfeat render -p ch-logo -i img.png --fit 224 --logo carton_logo4.png --logo alibaba_logo2.png -o out.png
 *
 * Without -i the background is a flat color (-s WxH, --bg r,g,b). Flags given beside -p change the
 * preset (e.g. -p mmw-latin --size 40), whatever their order: the options are parsed first, then applied
 * to the recipe in one fixed order (render_recipe). --coverage also writes the mark's coverage as a gray
 * image. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_out.h"

int logo_option(wmf_watermark *w, const char *value, size_t *next_slot, const char *prefix) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", value);
  for (char *item = buf, *next; item; item = next) {
    next = strchr(item, ':');
    if (next) *next++ = 0;
    char *at = strrchr(item, '@');
    wmf_status st;
    if (at) {
      *at = 0;
      double v[3] = {0, 0, 0.9};
      int n = 0;
      char *end, *q = at + 1;
      while (n < 3) {
        v[n++] = strtod(q, &end);
        if (end == q) { n = 0; break; }
        if (*end != ',') break;
        q = end + 1;
      }
      if (n < 2 || *end) {
        fprintf(stderr, "%s: --logo '%s': want FILE@X,Y[,OPACITY]\n", prefix, value);
        return 1;
      }
      st = wmf_watermark_add_logo_file(w, item, (int32_t)v[0], (int32_t)v[1], v[2]);
    } else st = wmf_watermark_set_logo_file(w, (*next_slot)++, item);
    if (st) {
      fprintf(stderr, "%s: --logo: %s (%s)\n", prefix, wmf_last_error(), wmf_status_name(st));
      return 1;
    }
  }
  return 0;
}


typedef struct render_opts {
  const char *preset, *input, *output, *coverage, *canvas, *bg, *font, *font_file, *text, *pool, *anchor, *at;
  const char *color, *pos, *tile, *outline, *shadow;
  long fit, count, jpeg, reference_size;                /* -1: not given */
  double size, size_rel, opacity, rotate, spacing, line_spacing; /* NAN: not given */
  bool list, random, no_fallback, size_imagenet_w;
  arg_list logos;
} render_opts;

static const char *const render_usage =
  "usage: wmfeat render [-p PRESET] [-i IMAGE [--fit N]] [-s WxH] [--bg R,G,B] -o OUT.png [options]\n"
  "       wmfeat render --list\n"
  "  options may come in any order; flags beside -p change the preset. Exclusive: --text / --pool,\n"
  "  --size / --size-rel / --size-imagenet-w, --pos / --random / --tile, --font / --font-file";

/* "s" with "\n" turned into new lines (--text). */
static char *unescape(const char *s) {
  char *o = malloc(strlen(s) + 1), *p = o;
  for (; o && *s; s++) {
    if (s[0] == '\\' && s[1] == 'n') {
      *p++ = '\n';
      s++;
    } else *p++ = *s;
  }
  if (o) *p = 0;
  return o;
}

/* At most one of the n options named in `names` was given (given[i]); else prints which and returns
 * EXIT_USAGE. */
static int exclusive(const char *names, const bool *given, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += given[i];
  if (k <= 1) return 0;
  fprintf(stderr, "error: %s exclude each other: give one\n", names);
  return EXIT_USAGE;
}

/* "W" "x" "H", both positive (-s). */
static int parse_canvas(const char *text, unsigned *w, unsigned *h) {
  char *end;
  long a = strtol(text, &end, 10), b = 0;
  if (end != text && *end == 'x') {
    const char *q = end + 1;
    b = strtol(q, &end, 10);
    if (end == q) b = 0;
  }
  if (*end || a < 1 || b < 1 || a > 65535 || b > 65535) return args_bad_value("image-size", "WxH (e.g. 224x224)", text);
  *w = (unsigned)a, *h = (unsigned)b;
  return 0;
}

/* The numbers of --pos FX,FY[,ANCHOR] into v; returns the anchor ("la" when not given), or NULL when the
 * numbers are not two. */
static const char *pos_xy(const char *text, double *v) {
  const char *c2 = strchr(text, ','), *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
  char xy[256];
  snprintf(xy, sizeof xy, "%.*s", c3 ? (int)(c3 - text) : (int)strlen(text), text);
  return args_numbers(xy, v, 2, 2) < 0 ? NULL : c3 ? c3 + 1 : "la";
}

/* The parser's error for a number out of range. */
static int bad_number(const char *option, const char *want, long value) {
  char got[32];
  snprintf(got, sizeof got, "%ld", value);
  return args_bad_value(option, want, got);
}

/* Checks the values and the options that exclude each other, before anything is drawn. */
static int check_render_opts(const render_opts *r, double at[2]) {
  if (!r->output) return fprintf(stderr, "error: -o/--output is missing\n%s\n", render_usage), EXIT_USAGE;
  bool sizes[3] = {!isnan(r->size), !isnan(r->size_rel), r->size_imagenet_w};
  bool places[3] = {r->pos != NULL, r->random, r->tile != NULL};
  bool texts[2] = {r->text != NULL, r->pool != NULL}, fonts[2] = {r->font != NULL, r->font_file != NULL};
  int rc = exclusive("--text and --pool", texts, 2);
  if (!rc) rc = exclusive("--size, --size-rel and --size-imagenet-w", sizes, 3);
  if (!rc) rc = exclusive("--pos, --random and --tile", places, 3);
  if (!rc) rc = exclusive("--font and --font-file", fonts, 2);
  if (rc) return rc;
  if (r->count != -1 && !r->pool) return fprintf(stderr, "error: --count needs --pool\n"), EXIT_USAGE;
  if (r->count != -1 && (r->count < 1 || r->count > 4096)) return bad_number("count", "a count 1..4096", r->count);
  if (r->fit < 0 || r->fit > 65535) return bad_number("fit", "a size in pixels (0: off)", r->fit);
  if (r->reference_size < -1 || r->reference_size > (1L << 20))
    return bad_number("reference-size", "a size in pixels", r->reference_size);
  if (r->jpeg < -1 || r->jpeg > 100) return bad_number("jpeg", "a quality 0..100 (0: off)", r->jpeg);
  double v[4];
  if (r->bg && args_numbers(r->bg, v, 3, 3) < 0) return args_bad_value("bg", "R,G,B", r->bg);
  if (r->color && args_numbers(r->color, v, 3, 3) < 0) return args_bad_value("color", "R,G,B", r->color);
  if (r->tile && args_numbers(r->tile, v, 3, 3) < 0) return args_bad_value("tile", "ANGLE,GAPX,GAPY", r->tile);
  if (r->outline && args_numbers(r->outline, v, 4, 4) < 0) return args_bad_value("outline", "W,R,G,B", r->outline);
  if (r->shadow && args_numbers(r->shadow, v, 3, 3) < 0) return args_bad_value("shadow", "DX,DY,OPACITY", r->shadow);
  if (r->at && args_numbers(r->at, at, 2, 2) < 0) return args_bad_value("at", "X,Y", r->at);
  if (r->pos && !pos_xy(r->pos, v)) return args_bad_value("pos", "FX,FY[,ANCHOR]", r->pos);
  unsigned w, h;
  if (!r->input && r->canvas && parse_canvas(r->canvas, &w, &h)) return EXIT_USAGE;
  return 0;
}

/* The font of --font PATTERN or --font-file PATH[:INDEX] into the recipe. */
static wmf_status set_font(wmf_watermark *wm, const render_opts *r) {
  wmf_font *f = NULL;
  wmf_status st;
  if (r->font) st = wmf_font_find(&f, r->font);
  else {
    char path[4096];
    snprintf(path, sizeof path, "%s", r->font_file);
    char *colon = strrchr(path, ':'), *end = NULL;
    long index = colon ? strtol(colon + 1, &end, 10) : 0;
    if (colon && end != colon + 1 && !*end && index >= 0) *colon = 0; /* PATH:INDEX */
    else index = 0;
    st = wmf_font_open(&f, path, (int)index);
  }
  if (!st) st = wmf_watermark_set_font(wm, f);
  wmf_font_destroy(f);
  return st;
}

/* Applies the options to the recipe in one fixed order: font, text, size, color, placement, effects,
 * JPEG step, logos (in the order given). Returns 0 or an exit code after printing why. */
static int render_recipe(wmf_watermark *wm, const render_opts *r, char *draw_text) {
  double v[4];
  wmf_status st = WMF_OK;
  const char *what = "the recipe";
#define APPLY(cond, name, call) \
  if (!st && (cond)) st = (what = (name), (call))
  APPLY(r->font || r->font_file, r->font ? r->font : r->font_file, set_font(wm, r));
  APPLY(r->no_fallback, "--no-fallback", wmf_watermark_set_fallback(wm, 0));
  APPLY(draw_text, "--text", wmf_watermark_set_text(wm, draw_text));
  APPLY(r->pool, "--pool", wmf_watermark_set_pool(wm, r->pool, (uint32_t)(r->count == -1 ? 7 : r->count)));
  APPLY(!isnan(r->size), "--size", wmf_watermark_set_size(wm, (float)r->size));
  APPLY(!isnan(r->size_rel), "--size-rel", wmf_watermark_set_size_relative(wm, (float)r->size_rel));
  APPLY(r->size_imagenet_w, "--size-imagenet-w", wmf_watermark_set_size_imagenet_w(wm));
  APPLY(r->reference_size >= 0, "--reference-size", wmf_watermark_set_reference_size(wm, (uint32_t)r->reference_size));
  APPLY(r->color && args_numbers(r->color, v, 3, 3) == 3, "--color",
        wmf_watermark_set_color(wm, (uint8_t)v[0], (uint8_t)v[1], (uint8_t)v[2]));
  APPLY(!isnan(r->opacity), "--opacity", wmf_watermark_set_opacity(wm, (float)r->opacity));
  const char *pos_anchor = r->pos ? pos_xy(r->pos, v) : NULL;
  APPLY(pos_anchor, "--pos", wmf_watermark_set_position(wm, v[0], v[1], pos_anchor));
  APPLY(r->random, "--random", wmf_watermark_set_random_position(wm));
  APPLY(r->tile && args_numbers(r->tile, v, 3, 3) == 3, "--tile",
        wmf_watermark_set_tiled(wm, (float)v[0], (float)v[1], (float)v[2]));
  APPLY(r->anchor, "--anchor", wmf_watermark_set_anchor(wm, r->anchor));
  APPLY(!isnan(r->rotate), "--rotate", wmf_watermark_set_rotation(wm, (float)r->rotate));
  APPLY(!isnan(r->spacing), "--spacing", wmf_watermark_set_letter_spacing(wm, (float)r->spacing));
  APPLY(!isnan(r->line_spacing), "--line-spacing", wmf_watermark_set_line_spacing(wm, (float)r->line_spacing));
  APPLY(r->outline && args_numbers(r->outline, v, 4, 4) == 4, "--outline",
        wmf_watermark_set_outline(wm, (float)v[0], (uint8_t)v[1], (uint8_t)v[2], (uint8_t)v[3]));
  APPLY(r->shadow && args_numbers(r->shadow, v, 3, 3) == 3, "--shadow",
        wmf_watermark_set_shadow(wm, (int)v[0], (int)v[1], 0, 0, 0, (float)v[2]));
  APPLY(r->jpeg >= 0, "--jpeg", wmf_watermark_set_jpeg_quality(wm, (int)r->jpeg));
#undef APPLY
  if (st) return fail_status(st, what);
  size_t slot = 0;
  for (int i = 0; i < r->logos.n; i++)
    if (logo_option(wm, r->logos.items[i], &slot, "error")) return EXIT_RUNTIME;
  return 0;
}

/* The image drawn on: the input (resized and cropped by --fit) or a flat background. */
static int render_canvas(wmf_image **im, const render_opts *r) {
  wmf_status st;
  if (!r->input) {
    unsigned w = 224, h = 224;
    double bg[3] = {0, 0, 0};
    if (r->canvas && parse_canvas(r->canvas, &w, &h)) return EXIT_USAGE;
    if (r->bg) args_numbers(r->bg, bg, 3, 3);
    st = wmf_image_create(im, w, h, (uint8_t)bg[0], (uint8_t)bg[1], (uint8_t)bg[2]);
    return st ? fail_status(st, "background") : 0;
  }
  if ((st = wmf_image_load(im, r->input, NULL))) return fail_status(st, r->input);
  if (!r->fit) return 0;
  wmf_image *resized = NULL, *cropped = NULL;
  st = wmf_image_resize_shorter(&resized, *im, (uint32_t)r->fit, WMF_FILTER_BILINEAR);
  if (!st) st = wmf_image_center_crop(&cropped, resized, (uint32_t)r->fit, (uint32_t)r->fit);
  wmf_image_destroy(resized);
  if (st) return fail_status(st, "--fit");
  wmf_image_destroy(*im);
  *im = cropped;
  return 0;
}

static int write_coverage(const wmf_watermark *wm, const wmf_image *im, uint64_t seed, const char *path) {
  uint32_t w = wmf_image_width(im), h = wmf_image_height(im);
  uint8_t *m = malloc((size_t)w * h);
  wmf_image *g = NULL;
  wmf_status st = m ? wmf_watermark_coverage(wm, w, h, seed, m, (size_t)w * h) : WMF_ERR_OUT_OF_MEMORY;
  if (!st) st = wmf_image_from_pixels(&g, m, w, h, w, WMF_PIXEL_GRAY8);
  if (!st) st = wmf_image_save(g, path, 92);
  wmf_image_destroy(g);
  free(m);
  return st ? fail_status(st, path) : 0;
}

int cmd_render(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  render_opts r = {.fit = 0, .count = -1, .jpeg = -1, .reference_size = -1, .size = NAN, .size_rel = NAN,
                   .opacity = NAN, .rotate = NAN, .spacing = NAN, .line_spacing = NAN};
  arg_spec specs[] = {
    {"list", ARG_FLAG, &r.list, "list the presets and exit"},
    {"preset|p", ARG_STRING, &r.preset, "start from a preset (see --list); the other options change it"},
    {"input|i", ARG_STRING, &r.input, "draw on this photo (default: a flat background)"},
    {"fit", ARG_INT, &r.fit, "with -i: resize the shorter side to N and center-crop N x N (0: off)"},
    {"output|o", ARG_STRING, &r.output, "the watermarked image (PNG, or JPEG by extension)"},
    {"image-size|s", ARG_STRING, &r.canvas, "WxH of the flat background (default 224x224)"},
    {"bg", ARG_STRING, &r.bg, "R,G,B of the flat background (default 0,0,0)"},
    {"coverage", ARG_STRING, &r.coverage, "also write the coverage mask (gray PNG)"},
    {"font", ARG_STRING, &r.font, "fontconfig pattern"},
    {"font-file", ARG_STRING, &r.font_file, "PATH[:INDEX] of a font file"},
    {"no-fallback", ARG_FLAG, &r.no_fallback, "fail on characters the font lacks instead of using a fallback font"},
    {"text", ARG_STRING, &r.text, "fixed text (\\n = new line)"},
    {"pool", ARG_STRING, &r.pool, "draw --count characters from these"},
    {"count", ARG_INT, &r.count, "with --pool: characters drawn (default 7)"},
    {"size", ARG_DOUBLE, &r.size, "font size in pixels"},
    {"size-rel", ARG_DOUBLE, &r.size_rel, "font size as a fraction F of the reference size S"},
    {"size-imagenet-w", ARG_FLAG, &r.size_imagenet_w, "ImageNet-W's font size table of S"},
    {"reference-size", ARG_INT, &r.reference_size,
     "the crop size S relative sizes use (default: each image's shorter side)"},
    {"color", ARG_STRING, &r.color, "R,G,B of the text"},
    {"opacity", ARG_DOUBLE, &r.opacity, "opacity 0..1"},
    {"pos", ARG_STRING, &r.pos, "FX,FY[,ANCHOR]: fixed position as fractions of the image, PIL anchor (default la)"},
    {"random", ARG_FLAG, &r.random, "random position (seeded by --seed)"},
    {"tile", ARG_STRING, &r.tile, "ANGLE,GAPX,GAPY: tile the text over the image"},
    {"anchor", ARG_STRING, &r.anchor, "PIL anchor (la, ls, mm, ...) of fixed and random placement"},
    {"at", ARG_STRING, &r.at, "X,Y: explicit draw of the text (--text, else the seed's draw) anchored at pixel (X, Y)"},
    {"rotate", ARG_DOUBLE, &r.rotate, "rotation in degrees"},
    {"outline", ARG_STRING, &r.outline, "W,R,G,B: outline width and color"},
    {"shadow", ARG_STRING, &r.shadow, "DX,DY,OPACITY: a black shadow"},
    {"spacing", ARG_DOUBLE, &r.spacing, "letter spacing in pixels"},
    {"line-spacing", ARG_DOUBLE, &r.line_spacing, "line spacing in pixels"},
    {"jpeg", ARG_INT, &r.jpeg, "re-save as JPEG quality Q after drawing (0 = off; Mark My Words presets: 75)"},
    {"logo", ARG_LIST, &r.logos, "FILE replaces the preset's next logo (ch-logo: carton, then alibaba); "
                                 "FILE@X,Y[,OPACITY] adds one at pixel (X, Y), own size, opacity default 0.9"},
    COMMON_SPECS(o)};
  const char *pos[1];
  int np, rc;
  if (parse_command(argc, argv, specs, render_usage, pos, 0, 0, &np, &o, &rc)) return rc;
  if (r.list) {
    for (size_t k = 0; k < wmf_watermark_preset_count(); k++)
      printf("%-14s %s\n", wmf_watermark_preset_name(k), wmf_watermark_preset_describe(wmf_watermark_preset_name(k)));
    return EXIT_OK;
  }
  double at[2] = {0, 0};
  if ((rc = check_render_opts(&r, at))) return rc;
  if (r.preset && (rc = check_choice("--preset", r.preset, preset_choice))) return rc;
  wmf_watermark *wm = NULL;
  wmf_image *im = NULL;
  char *draw_text = r.text ? unescape(r.text) : NULL;
  uint64_t seed = (uint64_t)o.seed;
  wmf_status st = r.text && !draw_text ? WMF_ERR_OUT_OF_MEMORY
                  : r.preset          ? wmf_watermark_from_preset(&wm, r.preset)
                                      : wmf_watermark_create(&wm);
  if (st) rc = fail_status(st, r.preset ? r.preset : "creating the recipe");
  if (!rc) rc = render_recipe(wm, &r, draw_text);
  if (!rc) rc = render_canvas(&im, &r);
  char text[1024] = "";
  float size = 0;
  double x = 0, y = 0;
  bool described = false;
  if (!rc) {
    described = wmf_watermark_describe_draw(wm, wmf_image_width(im), wmf_image_height(im), seed, text, sizeof text,
                                            &size, &x, &y) == WMF_OK;
    if (r.at) { /* the text given, else the seed's draw; the point given */
      st = wmf_watermark_apply_draw(wm, im, draw_text || !described ? NULL : text, at[0], at[1]);
      x = at[0], y = at[1];
    } else st = wmf_watermark_apply(wm, im, seed);
    if (st) rc = fail_status(st, r.at ? "--at" : "drawing");
  }
  if (!rc && (st = wmf_image_save(im, r.output, 92))) rc = fail_status(st, r.output);
  if (!rc && r.coverage) rc = write_coverage(wm, im, seed, r.coverage);
  if (!rc && o.json) {
    json_t *j = json_pack("{s:o, s:o, s:o, s:I, s:i, s:i}", "output", json_out_string(r.output), "input",
                          json_out_string(r.input), "coverage", json_out_string(r.coverage), "seed", (json_int_t)seed,
                          "width", (int)wmf_image_width(im), "height", (int)wmf_image_height(im));
    if (j && described)
      json_object_update_new(j, json_pack("{s:o, s:f, s:f, s:f}", "text", json_out_string(text), "size", (double)size,
                                          "x", x, "y", y));
    rc = json_out_print(j);
  } else if (!rc && !o.quiet) {
    if (described) printf("%s: \"%s\" %.0f px at (%.2f, %.2f)\n", r.output, text, size, x, y);
    else printf("%s\n", r.output);
  }
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
  free(draw_text);
  return rc;
}
