/* Compares libwmfeat's preprocessing with torchvision's (outputs written by preprocess_ref.py).
 * Usage: preprocess_check MANIFEST
 * For each case it measures two paths: "same pixels" (libwmfeat resamples the pixels PIL decoded: the
 * resize / crop / normalize parity) and "from file" (libwmfeat decodes the file itself with stb_image,
 * so JPEG decoder differences are included). Differences are reported in 8-bit pixel units (the std
 * scaling undone). Fails if any mean |diff| exceeds 0.5/255 (per image, both paths), or if a
 * same-pixels result is not bit-identical to torchvision / PIL (the implementation reproduces PIL's
 * fixed-point arithmetic, so anything else is a regression). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmfeat.h>

static const float STD[3] = {0.229f, 0.224f, 0.225f};

static void *read_file(const char *path, size_t want) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  void *buf = malloc(want ? want : 1);
  size_t got = fread(buf, 1, want, f);
  int extra = fgetc(f);
  fclose(f);
  if (got != want || extra != EOF) {
    fprintf(stderr, "%s: expected %zu bytes\n", path, want);
    exit(2);
  }
  return buf;
}

typedef struct stats {
  double mean, max;  /* |diff| in pixel units */
  size_t differing;  /* values not bit-identical */
} stats;

static stats compare_tensor(const float *got, const float *want, size_t plane) {
  stats s = {0, 0, 0};
  for (size_t i = 0; i < 3 * plane; i++) {
    double d = fabs((double)got[i] - want[i]) * STD[i / plane] * 255.0;
    s.mean += d;
    if (d > s.max) s.max = d;
    if (got[i] != want[i]) s.differing++;
  }
  s.mean /= 3.0 * plane;
  return s;
}

static stats compare_bytes(const uint8_t *got, const uint8_t *want, size_t n) {
  stats s = {0, 0, 0};
  for (size_t i = 0; i < n; i++) {
    double d = abs((int)got[i] - (int)want[i]);
    s.mean += d;
    if (d > s.max) s.max = d;
    if (d) s.differing++;
  }
  s.mean /= (double)n;
  return s;
}

static void must(wmf_status st, const char *what) {
  if (st != WMF_OK) {
    fprintf(stderr, "%s: %s: %s\n", what, wmf_status_name(st), wmf_last_error());
    exit(2);
  }
}

/* Bilinear goes through wmf_preprocess (the one-call path); bicubic through the separate calls. */
static void preprocess(const wmf_image *img, const char *filter, uint32_t resize, uint32_t crop, float *out) {
  size_t n = 3 * (size_t)crop * crop;
  if (strcmp(filter, "bilinear") == 0) {
    must(wmf_preprocess(img, resize, crop, NULL, out, n, 0), "wmf_preprocess");
    return;
  }
  wmf_image *r, *c;
  must(wmf_image_resize_shorter(&r, img, resize, WMF_FILTER_BICUBIC), "wmf_image_resize_shorter");
  must(wmf_image_center_crop(&c, r, crop, crop), "wmf_image_center_crop");
  must(wmf_image_to_tensor(c, NULL, out, n, 0), "wmf_image_to_tensor");
  wmf_image_destroy(r);
  wmf_image_destroy(c);
}

static const char *base(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MANIFEST\n", argv[0]);
    return 2;
  }
  FILE *m = fopen(argv[1], "r");
  if (!m) {
    fprintf(stderr, "cannot open %s\n", argv[1]);
    return 2;
  }
  const double limit = 0.5; /* mean |diff| in pixel units, i.e. 0.5/255 on the [0, 1] scale */
  char kind[16], image[1024], pixels[1024], filter[16], expected[1024];
  unsigned w, h, a, b;
  int failures = 0, cases = 0;
  double worst_same = 0, worst_file = 0;
  printf("%-6s %-22s %-8s %9s | same pixels: %-9s %-6s %-9s | from file: %-9s %-6s\n", "kind", "photo", "filter",
         "size", "mean|d|", "max|d|", "differing", "mean|d|", "max|d|");
  while (fscanf(m, "%15s %1023s %1023s %u %u %15s %u %u %1023s", kind, image, pixels, &w, &h, filter, &a, &b,
                expected) == 9) {
    cases++;
    uint8_t *rgb = read_file(pixels, (size_t)w * h * 3);
    wmf_image *same, *file;
    must(wmf_image_from_pixels(&same, rgb, w, h, (size_t)w * 3, WMF_PIXEL_RGB8), "wmf_image_from_pixels");
    must(wmf_image_load(&file, image, NULL), image);
    stats s1, s2;
    if (strcmp(kind, "pre") == 0) {
      size_t n = 3 * (size_t)b * b;
      float *want = read_file(expected, n * sizeof(float));
      float *got = malloc(n * sizeof(float));
      preprocess(same, filter, a, b, got);
      s1 = compare_tensor(got, want, (size_t)b * b);
      preprocess(file, filter, a, b, got);
      s2 = compare_tensor(got, want, (size_t)b * b);
      free(got);
      free(want);
    } else {
      size_t n = 3 * (size_t)a * b;
      uint8_t *want = read_file(expected, n);
      wmf_image *r;
      must(wmf_image_resize(&r, same, a, b, strcmp(filter, "bicubic") == 0 ? WMF_FILTER_BICUBIC : WMF_FILTER_BILINEAR),
           "wmf_image_resize");
      s1 = compare_bytes(wmf_image_pixels(r), want, n);
      wmf_image_destroy(r);
      must(wmf_image_resize(&r, file, a, b, strcmp(filter, "bicubic") == 0 ? WMF_FILTER_BICUBIC : WMF_FILTER_BILINEAR),
           "wmf_image_resize");
      s2 = compare_bytes(wmf_image_pixels(r), want, n);
      wmf_image_destroy(r);
      free(want);
    }
    bool bad = s1.mean > limit || s2.mean > limit || s1.differing != 0;
    failures += bad;
    if (s1.mean > worst_same) worst_same = s1.mean;
    if (s2.mean > worst_file) worst_file = s2.mean;
    printf("%-6s %-22s %-8s %4ux%-4u | %12.6f %6.3f %9zu | %19.6f %6.3f%s\n", kind, base(image), filter, a, b,
           s1.mean, s1.max, s1.differing, s2.mean, s2.max, bad ? "  FAIL" : "");
    wmf_image_destroy(same);
    wmf_image_destroy(file);
    free(rgb);
  }
  fclose(m);
  printf("%d cases; worst mean |diff| (pixel units): same pixels %.6f, from file %.6f; limit %.2f\n", cases,
         worst_same, worst_file, limit);
  if (cases < 6) {
    printf("FAIL: too few cases read from %s\n", argv[1]);
    return 1;
  }
  return failures ? 1 : 0;
}
