/* Benchmark (not a test): opens a weight file and converts every tensor to float, as a model builder
 * does, into one reused buffer. Prints "ms=<open+read> open_ms=<open> rss_kb=<peak RSS> tensors=<n>".
 * Run by bench_weights.py beside torch.load, each in its own process so peak RSS is its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wmfeat.h>

/* Peak RSS of this process image. Not getrusage: its ru_maxrss survives exec, so a child forked from a
 * big Python process would report the parent's size. */
static long peak_rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s WEIGHT-FILE\n", argv[0]);
    return 2;
  }
  double t0 = now_ms();
  wmf_weights *w;
  wmf_status st = wmf_weights_open(&w, argv[1], NULL);
  if (st) {
    fprintf(stderr, "%s: %s\n", wmf_status_name(st), wmf_last_error());
    return 1;
  }
  double t1 = now_ms();
  size_t n = wmf_weights_count(w), cap = 0;
  for (size_t i = 0; i < n; i++) {
    wmf_tensor_info t;
    wmf_weights_info(w, i, &t);
    if (t.numel > cap) cap = (size_t)t.numel;
  }
  float *buf = malloc(cap * sizeof *buf + 4);
  double checksum = 0;
  for (size_t i = 0; i < n; i++) {
    wmf_tensor_info t;
    wmf_weights_info(w, i, &t);
    if (t.dtype > WMF_DTYPE_F64) continue;
    if ((st = wmf_weights_get_f32(w, t.name, buf, cap))) {
      fprintf(stderr, "%s: %s\n", wmf_status_name(st), wmf_last_error());
      return 1;
    }
    checksum += buf[t.numel / 2];
  }
  double t2 = now_ms();
  printf("ms=%.1f open_ms=%.1f rss_kb=%ld tensors=%zu checksum=%g format=%s\n", t2 - t0, t1 - t0, peak_rss_kb(), n,
         checksum, wmf_weights_format(w));
  free(buf);
  wmf_weights_destroy(w);
  return 0;
}
