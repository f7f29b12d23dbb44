/* Benchmark: decode, resize and the whole preprocessing, libwmfeat against PIL / torchvision measured in
 * the same run (the reference timings come from /usr/bin/python3, one thread). Prints the best of
 * REPEATS runs in ms (on a shared machine the minimum is the stable figure; medians swing with other
 * processes) and the ratio reference / libwmfeat (> 1: libwmfeat faster).
 *   build/tests/image/bench_preprocess [REPEATS]      (default 30) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmfeat.h>

#define DATA "/usr/lib/python3/dist-packages/skimage/data/"
static const char *photos[] = {"astronaut.png", "coffee.png", "rocket.jpg", "retina.jpg"};
enum { N_PHOTOS = 4, N_OPS = 4 };
static const char *ops[N_OPS] = {"decode", "resize256_bilinear", "resize256_bicubic", "preprocess_256_224"};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double best(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[0];
}

static void check(wmf_status st) {
  if (st != WMF_OK) {
    fprintf(stderr, "bench_preprocess: %s\n", wmf_last_error());
    exit(1);
  }
}

static double run(const char *path, int op, int repeats) {
  wmf_image *img, *out;
  check(wmf_image_load(&img, path, NULL));
  static float tensor[3 * 224 * 224];
  double *t = malloc(sizeof(double) * (size_t)repeats);
  for (int r = 0; r < repeats; r++) {
    double t0 = now_ms();
    switch (op) {
    case 0: check(wmf_image_load(&out, path, NULL)); wmf_image_destroy(out); break;
    case 1: check(wmf_image_resize_shorter(&out, img, 256, WMF_FILTER_BILINEAR)); wmf_image_destroy(out); break;
    case 2: check(wmf_image_resize_shorter(&out, img, 256, WMF_FILTER_BICUBIC)); wmf_image_destroy(out); break;
    default: check(wmf_preprocess(img, 256, 224, NULL, tensor, 3 * 224 * 224, 0)); break;
    }
    t[r] = now_ms() - t0;
  }
  double m = best(t, repeats);
  free(t);
  wmf_image_destroy(img);
  return m;
}

static const char *python =
    "import sys, time, torch\n"
    "from PIL import Image\n"
    "from torchvision import transforms as T\n"
    "torch.set_num_threads(1)\n"
    "reps = int(sys.argv[1])\n"
    "tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),\n"
    "                T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])\n"
    "def size(im):\n"
    "    w, h = im.size\n"
    "    return (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)\n"
    "for name in sys.argv[2:]:\n"
    "    path = '" DATA "' + name\n"
    "    im = Image.open(path).convert('RGB')\n"
    "    fns = [lambda: Image.open(path).convert('RGB'), lambda: im.resize(size(im), Image.BILINEAR),\n"
    "           lambda: im.resize(size(im), Image.BICUBIC), lambda: tf(im)]\n"
    "    for fn in fns:\n"
    "        t = []\n"
    "        for r in range(reps):\n"
    "            t0 = time.perf_counter(); fn(); t.append((time.perf_counter() - t0) * 1e3)\n"
    "        print(min(t))\n";

int main(int argc, char **argv) {
  int repeats = argc > 1 ? atoi(argv[1]) : 30;
  if (repeats < 1) repeats = 1;
  char script[] = "/tmp/wmf_bench_XXXXXX";
  int fd = mkstemp(script);
  FILE *s = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!s) return perror("mkstemp"), 1;
  fputs(python, s);
  fclose(s);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %d", script, repeats);
  for (int i = 0; i < N_PHOTOS; i++) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", photos[i]);
  FILE *p = popen(cmd, "r");
  double ref[N_PHOTOS][N_OPS];
  for (int i = 0; i < N_PHOTOS; i++)
    for (int j = 0; j < N_OPS; j++)
      if (!p || fscanf(p, "%lf", &ref[i][j]) != 1) {
        fprintf(stderr, "bench_preprocess: the Python reference did not run (%s)\n", cmd);
        return 1;
      }
  pclose(p);
  remove(script);
  printf("%-14s %-20s %12s %12s %8s\n", "photo", "operation", "libwmfeat ms", "PIL/tv ms", "ratio");
  for (int i = 0; i < N_PHOTOS; i++) {
    char path[512];
    snprintf(path, sizeof path, DATA "%s", photos[i]);
    for (int j = 0; j < N_OPS; j++) {
      double ours = run(path, j, repeats);
      printf("%-14s %-20s %12.3f %12.3f %8.2f\n", photos[i], ops[j], ours, ref[i][j], ref[i][j] / ours);
    }
  }
  return 0;
}
