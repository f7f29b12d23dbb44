/* Benchmark (not a test): watermark renders per second on one core at 224x224, libwmfeat beside PIL 9.4
 * measured in the same run (bench_render_pil.py with the reference interpreter).
 *
 *   build/tests/watermark/bench_render [seconds per measurement, default 2]
 *
 * imagenet-w: the fixed ImageNet-W recipe (PIL: RGBA layer, ImageDraw.text, Image.alpha_composite).
 * mmw-chinese: 7 random characters at a random position (PIL: draw text, measure it, draw on the image).
 * Each render starts from a fresh copy of a photo crop, in both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmfeat.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double measure(const char *preset, const wmf_image *photo, double seconds) {
  wmf_watermark *wm;
  if (wmf_watermark_from_preset(&wm, preset)) {
    fprintf(stderr, "%s: %s\n", preset, wmf_last_error());
    exit(1);
  }
  wmf_image *im;
  wmf_image_clone(&im, photo);
  size_t n = 224 * 224 * 3;
  wmf_watermark_apply(wm, im, 0); /* warm the font's caches, as PIL's font object is loaded once too */
  long count = 0;
  double t0 = now(), t;
  do {
    for (int i = 0; i < 200; i++, count++) {
      memcpy(wmf_image_pixels(im), wmf_image_pixels((wmf_image *)photo), n);
      if (wmf_watermark_apply(wm, im, (uint64_t)count)) {
        fprintf(stderr, "apply: %s\n", wmf_last_error());
        exit(1);
      }
    }
    t = now() - t0;
  } while (t < seconds);
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
  return count / t;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  const char *root = getenv("WMF_SOURCE_ROOT") ? getenv("WMF_SOURCE_ROOT") : ".";
  const char *py = getenv("REF_PYTHON") ? getenv("REF_PYTHON") : "/usr/bin/python3";
  char path[1024];
  snprintf(path, sizeof path, "%s/examples/data/chelsea.png", root);
  wmf_image *src, *r, *photo;
  if (wmf_image_load(&src, path, NULL) || wmf_image_resize_shorter(&r, src, 224, WMF_FILTER_BILINEAR) ||
      wmf_image_center_crop(&photo, r, 224, 224)) {
    fprintf(stderr, "%s: %s (set WMF_SOURCE_ROOT to the source tree)\n", path, wmf_last_error());
    return 1;
  }
  const char *presets[] = {"imagenet-w", "mmw-chinese"};
  double ours[2];
  for (int i = 0; i < 2; i++) ours[i] = measure(presets[i], photo, seconds);
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s' '%s/tests/watermark/bench_render_pil.py' '%s' %g", py, root, path, seconds);
  FILE *p = popen(cmd, "r");
  double pil[2] = {0, 0};
  if (!p || fscanf(p, "%lf %lf", &pil[0], &pil[1]) != 2) {
    fprintf(stderr, "PIL measurement failed: %s\n", cmd);
    return 1;
  }
  pclose(p);
  printf("%-12s %14s %14s %8s\n", "preset", "wmfeat /s", "PIL /s", "ratio");
  for (int i = 0; i < 2; i++) printf("%-12s %14.0f %14.0f %7.1fx\n", presets[i], ours[i], pil[i], ours[i] / pil[i]);
  wmf_image_destroy(src);
  wmf_image_destroy(r);
  wmf_image_destroy(photo);
  return 0;
}
