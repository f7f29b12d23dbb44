/* wmfeat render: write a watermarked image, from a preset or from flags.
 *
 *   wmfeat render --list
 *   wmfeat render -p imagenet-w -i photo.jpg --fit 224 -o out.png [--seed N] [--coverage mask.png]
 *   wmfeat render --font "Noto Naskh Arabic" --text "مرحبا" --size 28 --pos 0.5,0.5,mm -s 224x224 -o out.png
 *
 * Without -i the background is a flat color (-s WxH, --bg r,g,b). Flags given after -p change the
 * preset (e.g. -p mmw-latin --size 40). --coverage also writes the mark's coverage as a gray image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <wmfeat.h>

#include "commands.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: wmfeat render [-p PRESET] [-i IMAGE [--fit N]] [-s WxH] [--bg R,G,B] -o OUT.png [options]\n"
          "       wmfeat render --list\n"
          "  -p NAME            start from a preset (see --list)\n"
          "  -i IMAGE [--fit N] draw on a photo; --fit resizes the shorter side to N and center-crops N x N\n"
          "  -s WxH, --bg R,G,B flat background (default 224x224, 0,0,0)\n"
          "  --seed N           seed for drawn characters, random positions, tile phase (default 0)\n"
          "  --font PATTERN     fontconfig pattern;  --font-file PATH[:INDEX]\n"
          "  --text T | --pool CHARS [--count K]   fixed text (\\n = new line) or K characters drawn from CHARS\n"
          "  --size PX | --size-rel F             pixel size, or F * min(W, H)\n"
          "  --color R,G,B  --opacity A  --pos FX,FY[,ANCHOR]  --random  --tile ANGLE,GAPX,GAPY\n"
          "  --rotate DEG  --outline W,R,G,B  --shadow DX,DY,OPACITY  --spacing PX  --line-spacing PX\n"
          "  --no-fallback      fail on characters the font lacks instead of using a fallback font\n"
          "  --coverage MASK    also write the coverage mask (gray PNG)\n"
          "  --json             print what was drawn as JSON;  --quiet  print nothing\n");
}

static int fail(const char *what, wmf_status st) {
  fprintf(stderr, "wmfeat render: %s: %s (%s)\n", what, wmf_last_error(), wmf_status_name(st));
  return 1;
}

static int nums(const char *s, double *v, int n) {
  int k = 0;
  char *end;
  while (k < n) {
    v[k++] = strtod(s, &end);
    if (end == s) return 0;
    if (*end != ',') break;
    s = end + 1;
  }
  return k;
}

static char *unescape(const char *s) {
  char *o = malloc(strlen(s) + 1), *p = o;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] == 'n') {
      *p++ = '\n';
      s++;
    } else *p++ = *s;
  }
  *p = 0;
  return o;
}

/* Under LeakSanitizer: fontconfig 2.14 leaks a few bytes parsing its configuration, once per process. */

/* The recipe and the image being drawn; cmd_render frees them whatever path render() leaves by. */
static wmf_watermark *wm;
static wmf_image *im;

static int render(int argc, char **argv) {
  const char *preset = NULL, *input = NULL, *output = NULL, *coverage = NULL;
  bool json = false, quiet = false;
  unsigned fit = 0, w = 224, h = 224;
  double bg[3] = {0, 0, 0};
  unsigned long long seed = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--list")) {
      for (size_t k = 0; k < wmf_watermark_preset_count(); k++)
        printf("%-14s %s\n", wmf_watermark_preset_name(k), wmf_watermark_preset_describe(wmf_watermark_preset_name(k)));
      return 0;
    }
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(argv[i], "-p") && i + 1 < argc) preset = argv[++i];
    else if (!strcmp(argv[i], "--json")) json = true;
    else if (!strcmp(argv[i], "--quiet")) quiet = true;
  }
  if (preset && check_choice("preset", preset, preset_choice)) return EXIT_USAGE;
  wmf_status st = preset ? wmf_watermark_from_preset(&wm, preset) : wmf_watermark_create(&wm);
  if (st) return fail(preset ? preset : "create", st);
  int count = 7;
  const char *pool = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    double n[4];
    st = WMF_OK;
    if (!strcmp(a, "-p")) { i++; continue; }
    if (!strcmp(a, "--json") || !strcmp(a, "--quiet")) continue;
    if (!strcmp(a, "--random")) { st = wmf_watermark_set_random_position(wm); goto check; }
    if (!strcmp(a, "--no-fallback")) { st = wmf_watermark_set_fallback(wm, 0); goto check; }
    if (!v) {
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "-i")) input = v;
    else if (!strcmp(a, "-o")) output = v;
    else if (!strcmp(a, "--coverage")) coverage = v;
    else if (!strcmp(a, "--fit")) fit = (unsigned)atoi(v);
    else if (!strcmp(a, "-s")) {
      if (sscanf(v, "%ux%u", &w, &h) != 2 || !w || !h) { usage(stderr); return 2; }
    } else if (!strcmp(a, "--bg")) {
      if (nums(v, bg, 3) != 3) { usage(stderr); return 2; }
    } else if (!strcmp(a, "--seed")) seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--font") || !strcmp(a, "--font-file")) {
      wmf_font *f;
      if (!strcmp(a, "--font")) st = wmf_font_find(&f, v);
      else {
        char path[4096];
        int index = 0;
        snprintf(path, sizeof path, "%s", v);
        char *colon = strrchr(path, ':');
        if (colon) { index = atoi(colon + 1); *colon = 0; }
        st = wmf_font_open(&f, path, index);
      }
      if (st) return fail(v, st);
      st = wmf_watermark_set_font(wm, f);
      wmf_font_destroy(f);
    } else if (!strcmp(a, "--text")) {
      char *t = unescape(v);
      st = wmf_watermark_set_text(wm, t);
      free(t);
    } else if (!strcmp(a, "--pool")) st = wmf_watermark_set_pool(wm, v, (uint32_t)count);
    else if (!strcmp(a, "--count")) count = atoi(v);
    else if (!strcmp(a, "--size")) st = wmf_watermark_set_size(wm, (float)atof(v));
    else if (!strcmp(a, "--size-rel")) st = wmf_watermark_set_size_relative(wm, (float)atof(v));
    else if (!strcmp(a, "--opacity")) st = wmf_watermark_set_opacity(wm, (float)atof(v));
    else if (!strcmp(a, "--rotate")) st = wmf_watermark_set_rotation(wm, (float)atof(v));
    else if (!strcmp(a, "--spacing")) st = wmf_watermark_set_letter_spacing(wm, (float)atof(v));
    else if (!strcmp(a, "--line-spacing")) st = wmf_watermark_set_line_spacing(wm, (float)atof(v));
    else if (!strcmp(a, "--color")) {
      if (nums(v, n, 3) != 3) { usage(stderr); return 2; }
      st = wmf_watermark_set_color(wm, (uint8_t)n[0], (uint8_t)n[1], (uint8_t)n[2]);
    } else if (!strcmp(a, "--pos")) {
      const char *anchor = "la", *c2 = strchr(v, ',');
      const char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
      if (c3) anchor = c3 + 1;
      if (nums(v, n, 2) < 2) { usage(stderr); return 2; }
      st = wmf_watermark_set_position(wm, n[0], n[1], anchor);
    } else if (!strcmp(a, "--tile")) {
      if (nums(v, n, 3) != 3) { usage(stderr); return 2; }
      st = wmf_watermark_set_tiled(wm, (float)n[0], (float)n[1], (float)n[2]);
    } else if (!strcmp(a, "--outline")) {
      if (nums(v, n, 4) != 4) { usage(stderr); return 2; }
      st = wmf_watermark_set_outline(wm, (float)n[0], (uint8_t)n[1], (uint8_t)n[2], (uint8_t)n[3]);
    } else if (!strcmp(a, "--shadow")) {
      if (nums(v, n, 3) != 3) { usage(stderr); return 2; }
      st = wmf_watermark_set_shadow(wm, (int)n[0], (int)n[1], 0, 0, 0, (float)n[2]);
    } else {
      fprintf(stderr, "wmfeat render: unknown option %s\n", a);
      usage(stderr);
      return 2;
    }
  check:
    if (st) return fail(a, st);
  }
  if (pool && (st = wmf_watermark_set_pool(wm, pool, (uint32_t)count))) return fail("--pool", st);
  if (!output) {
    usage(stderr);
    return 2;
  }
  if (input) {
    st = wmf_image_load(&im, input, NULL);
    if (st) return fail(input, st);
    if (fit) {
      wmf_image *r, *c;
      st = wmf_image_resize_shorter(&r, im, fit, WMF_FILTER_BILINEAR);
      if (st) return fail("resize", st);
      st = wmf_image_center_crop(&c, r, fit, fit);
      wmf_image_destroy(r);
      if (st) return fail("crop", st);
      wmf_image_destroy(im);
      im = c;
    }
  } else {
    st = wmf_image_create(&im, w, h, (uint8_t)bg[0], (uint8_t)bg[1], (uint8_t)bg[2]);
    if (st) return fail("background", st);
  }
  st = wmf_watermark_apply(wm, im, seed);
  if (st) return fail("apply", st);
  st = wmf_image_save(im, output, 92);
  if (st) return fail(output, st);
  if (coverage) {
    uint32_t W = wmf_image_width(im), H = wmf_image_height(im);
    uint8_t *m = malloc((size_t)W * H);
    wmf_image *g = NULL;
    st = m ? wmf_watermark_coverage(wm, W, H, seed, m, (size_t)W * H) : WMF_ERR_OUT_OF_MEMORY;
    if (!st) st = wmf_image_from_pixels(&g, m, W, H, W, WMF_PIXEL_GRAY8);
    if (!st) st = wmf_image_save(g, coverage, 92);
    wmf_image_destroy(g);
    free(m);
    if (st) return fail(coverage, st);
  }
  char text[1024] = "";
  float size = 0;
  double x = 0, y = 0;
  bool described = wmf_watermark_describe_draw(wm, wmf_image_width(im), wmf_image_height(im), seed, text,
                                               sizeof text, &size, &x, &y) == WMF_OK;
  if (json) {
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:I, s:i, s:i}", "output", output, "input", input, "coverage", coverage,
                          "seed", (json_int_t)seed, "width", (int)wmf_image_width(im), "height",
                          (int)wmf_image_height(im));
    if (o && described)
      json_object_update_new(o, json_pack("{s:s, s:f, s:f, s:f}", "text", text, "size", (double)size, "x", x, "y", y));
    if (!o || json_dumpf(o, stdout, JSON_COMPACT) != 0) {
      json_decref(o);
      fprintf(stderr, "wmfeat render: cannot print the JSON summary\n");
      return 1;
    }
    json_decref(o);
    putchar('\n');
  } else if (!quiet) {
    if (described) printf("%s: \"%s\" %.0f px at (%.2f, %.2f)\n", output, text, size, x, y);
    else printf("%s\n", output);
  }
  return 0;
}

int cmd_render(int argc, char **argv) {
  int rc = render(argc, argv);
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
  im = NULL, wm = NULL;
  return rc;
}
