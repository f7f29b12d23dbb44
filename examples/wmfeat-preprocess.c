/* wmfeat-preprocess: load a photo, preprocess it as torchvision does for ImageNet networks, and print
 * what the network would see.
 *
 *   wmfeat-preprocess IMAGE [--resize 256] [--crop 224] [--bicubic] [--save out.png] [--json]
 *
 * Prints the image size, the resized size, the crop, and the mean / std of each channel of the
 * normalized tensor; --save writes the resized and cropped image (PNG or JPEG by extension). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmfeat.h>

static void usage(FILE *f) {
  fprintf(f, "usage: wmfeat-preprocess IMAGE [--resize N] [--crop N] [--bicubic] [--save OUT.png|.jpg] [--json]\n"
             "  --resize N   resize the shorter side to N (default 256; ResNet-50 V2 weights use 232)\n"
             "  --crop N     center-crop N x N (default 224)\n"
             "  --bicubic    bicubic instead of bilinear resampling\n"
             "  --save OUT   also write the resized, cropped image\n"
             "  --json       print one JSON object instead of text\n");
}

static int fail(const char *what, wmf_status st) {
  fprintf(stderr, "wmfeat-preprocess: %s: %s (%s)\n", what, wmf_last_error(), wmf_status_name(st));
  return 1;
}

static int parse_size(const char *s, unsigned *out) {
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v == 0 || v > 65535) return 0;
  *out = (unsigned)v;
  return 1;
}

/* A JSON string literal (quotes, backslashes and control characters escaped). */
static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  const char *input = NULL, *save = NULL;
  unsigned resize = 256, crop = 224;
  int bicubic = 0, json = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--resize") == 0 && i + 1 < argc) {
      if (!parse_size(argv[++i], &resize)) return usage(stderr), 2;
    } else if (strcmp(a, "--crop") == 0 && i + 1 < argc) {
      if (!parse_size(argv[++i], &crop)) return usage(stderr), 2;
    } else if (strcmp(a, "--save") == 0 && i + 1 < argc) {
      save = argv[++i];
    } else if (strcmp(a, "--bicubic") == 0) {
      bicubic = 1;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (a[0] != '-' && !input) {
      input = a;
    } else {
      fprintf(stderr, "wmfeat-preprocess: unexpected argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
  }
  if (!input) {
    usage(stderr);
    return 2;
  }

  wmf_image *img = NULL, *resized = NULL, *cropped = NULL;
  wmf_status st;
  if ((st = wmf_image_load(&img, input, NULL)) != WMF_OK) return fail(input, st);
  size_t n = 3 * (size_t)crop * crop;
  float *tensor = malloc(n * sizeof *tensor);
  if (!tensor) return fprintf(stderr, "wmfeat-preprocess: out of memory\n"), 1;

  double t0 = now_ms();
  /* bilinear: the one-call path (what a pipeline uses); bicubic, or saving: the separate steps */
  if (!bicubic && (st = wmf_preprocess(img, resize, crop, NULL, tensor, n, 0)) != WMF_OK)
    return fail("preprocess", st);
  double t1 = now_ms();
  wmf_filter filter = bicubic ? WMF_FILTER_BICUBIC : WMF_FILTER_BILINEAR;
  if ((st = wmf_image_resize_shorter(&resized, img, resize, filter)) != WMF_OK) return fail("resize", st);
  if ((st = wmf_image_center_crop(&cropped, resized, crop, crop)) != WMF_OK) return fail("crop", st);
  if (bicubic) {
    if ((st = wmf_image_to_tensor(cropped, NULL, tensor, n, 0)) != WMF_OK) return fail("to_tensor", st);
    t1 = now_ms();
  }
  if (save && (st = wmf_image_save(cropped, save, 95)) != WMF_OK) return fail(save, st);

  double mean[3], sd[3];
  size_t plane = (size_t)crop * crop;
  for (int c = 0; c < 3; c++) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < plane; i++) {
      double v = tensor[c * plane + i];
      s += v;
      s2 += v * v;
    }
    mean[c] = s / plane;
    sd[c] = sqrt(fmax(0.0, s2 / plane - mean[c] * mean[c]));
  }

  const char *fname = bicubic ? "bicubic" : "bilinear";
  if (json) {
    printf("{\"image\": ");
    json_string(input);
    printf(", \"width\": %u, \"height\": %u, \"resized\": [%u, %u], \"crop\": %u, \"filter\": \"%s\", "
           "\"tensor_shape\": [3, %u, %u], \"mean\": [%.6f, %.6f, %.6f], \"std\": [%.6f, %.6f, %.6f], "
           "\"preprocess_ms\": %.3f",
           wmf_image_width(img), wmf_image_height(img), wmf_image_width(resized), wmf_image_height(resized), crop,
           fname, crop, crop, mean[0], mean[1], mean[2], sd[0], sd[1], sd[2], t1 - t0);
    if (save) {
      printf(", \"saved\": ");
      json_string(save);
    }
    printf("}\n");
  } else {
    printf("%s: %ux%u RGB\n", input, wmf_image_width(img), wmf_image_height(img));
    printf("resize shorter side to %u (%s): %ux%u, center crop %ux%u -> tensor 3x%ux%u (%.2f ms)\n", resize, fname,
           wmf_image_width(resized), wmf_image_height(resized), crop, crop, crop, crop, t1 - t0);
    static const char *names[3] = {"R", "G", "B"};
    for (int c = 0; c < 3; c++)
      printf("  %s: mean %+.4f  std %.4f   (pixels: mean %.1f / 255)\n", names[c], mean[c], sd[c],
             (mean[c] * (double)(c == 0 ? 0.229f : c == 1 ? 0.224f : 0.225f) +
              (double)(c == 0 ? 0.485f : c == 1 ? 0.456f : 0.406f)) * 255.0);
    if (save) printf("saved the %ux%u crop to %s\n", crop, crop, save);
  }
  free(tensor);
  wmf_image_destroy(cropped);
  wmf_image_destroy(resized);
  wmf_image_destroy(img);
  return 0;
}
