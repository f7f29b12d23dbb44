/* Benchmark of the nn module (a program, not a test; driven by bench_models.py, which measures
 * PyTorch in the same run):
 *   bench_models time WEIGHTS BATCH PRECISION(fp32|bf16) REPS  -> "ms_per_image <best>"
 *   bench_models rss WEIGHTS                                   -> peak and steady RSS, batch 1
 *   bench_models peak                                          -> fp32 FMA (AVX-512, else AVX2) and bf16
 *                                                                 dot-product peaks
 * Threads: 2 (the machine's cores), set through the session options and OpenMP. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wmfeat.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static long status_kib(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, field, strlen(field))) v = atol(line + strlen(field) + 1);
  if (f) fclose(f);
  return v;
}

static int die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, wmf_last_error());
  return 1;
}

static int time_model(const char *path, int batch, int bf16, int reps) {
  wmf_weights *w;
  wmf_model *m;
  wmf_session *s;
  if (wmf_weights_open(&w, path, NULL)) return die("open");
  if (wmf_model_load(&m, w, NULL, NULL)) return die("load");
  wmf_weights_destroy(w);
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.max_batch = (uint32_t)batch;
  o.threads = 2;
  o.precision = bf16 ? WMF_PRECISION_BF16 : WMF_PRECISION_FP32;
  if (wmf_session_create(&s, m, &o)) return die("session");
  size_t n = (size_t)batch * 3 * 224 * 224;
  float *x = malloc(n * sizeof *x), *l = malloc((size_t)batch * wmf_session_logit_count(s) * sizeof *l);
  for (size_t i = 0; i < n; i++) x[i] = (float)((i * 2654435761u) % 1000) / 500.f - 1.f;
  double best = 1e30;
  for (int r = 0; r < reps + 2; r++) { /* two warm-up runs */
    double t0 = now();
    if (wmf_session_run(s, x, (size_t)batch, l, (size_t)batch * wmf_session_logit_count(s), NULL, 0)) return die("run");
    double dt = now() - t0;
    if (r >= 2 && dt < best) best = dt;
  }
  printf("ms_per_image %.3f\n", best * 1e3 / batch);
  free(x), free(l);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  return 0;
}

static int rss(const char *path) {
  wmf_weights *w;
  wmf_model *m;
  wmf_session *s;
  if (wmf_weights_open(&w, path, NULL)) return die("open");
  if (wmf_model_load(&m, w, NULL, NULL)) return die("load");
  wmf_weights_destroy(w);
  long after_load = status_kib("VmHWM:");
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.threads = 2;
  if (wmf_session_create(&s, m, &o)) return die("session");
  float *x = calloc(3 * 224 * 224, sizeof *x), l[1000];
  for (int r = 0; r < 5; r++)
    if (wmf_session_run(s, x, 1, l, 1000, NULL, 0)) return die("run");
  printf("peak_rss_mib %.1f\nsteady_rss_mib %.1f\npeak_during_load_mib %.1f\n", status_kib("VmHWM:") / 1024.0,
         status_kib("VmRSS:") / 1024.0, after_load / 1024.0);
  free(x);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  return 0;
}

/* 12 independent accumulators (registers) per thread hide the FMA latency; 2 threads. LANES: the
 * products one instruction makes per accumulator (multiply + add: 2 flops each). GCC's vector extensions
 * give `+` and `[]` on every vector type. */
#define ACC_ONE(x, OP) { __typeof__(x) A = x; x = OP; }
#define ACC_STEP(OP) ACC_ONE(a0, OP) ACC_ONE(a1, OP) ACC_ONE(a2, OP) ACC_ONE(a3, OP) ACC_ONE(a4, OP) ACC_ONE(a5, OP) \
  ACC_ONE(a6, OP) ACC_ONE(a7, OP) ACC_ONE(a8, OP) ACC_ONE(a9, OP) ACC_ONE(a10, OP) ACC_ONE(a11, OP)
#define PEAK_BODY(VEC, ONE, B, C, OP, LANES) \
  const long iters = 100000000; \
  double t0 = now(); \
  _Pragma("omp parallel num_threads(2)") { \
    __typeof__(B) b = B, c = C; \
    VEC a0 = ONE, a1 = ONE, a2 = ONE, a3 = ONE, a4 = ONE, a5 = ONE, a6 = ONE, a7 = ONE, a8 = ONE, a9 = ONE, \
        a10 = ONE, a11 = ONE; \
    for (long i = 0; i < iters; i++) { \
      ACC_STEP(OP) \
    } \
    VEC sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11; \
    if (sum[0] == 42.f) printf("#"); \
  } \
  return 2.0 * iters * 12 * (LANES) * 2 / (now() - t0) / 1e9;

__attribute__((target("avx512f"))) static double fma_peak(void) {
  PEAK_BODY(__m512, _mm512_set1_ps(1.f), _mm512_set1_ps(0.999999f), _mm512_set1_ps(1e-7f),
            _mm512_fmadd_ps(A, b, c), 16)
}

/* For CPUs without AVX-512, where fma_peak would fault. */
__attribute__((target("avx2,fma"))) static double fma_peak_avx2(void) {
  PEAK_BODY(__m256, _mm256_set1_ps(1.f), _mm256_set1_ps(0.999999f), _mm256_set1_ps(1e-7f),
            _mm256_fmadd_ps(A, b, c), 8)
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16_peak(void) {
  PEAK_BODY(__m512, _mm512_set1_ps(1.f), (__m512bh)_mm512_set1_epi16(0x3f80), (__m512bh)_mm512_set1_epi16(0x3300),
            _mm512_dpbf16_ps(A, b, c), 32) /* 32 bf16 products per accumulator */
}

int main(int argc, char **argv) {
  if (argc >= 6 && !strcmp(argv[1], "time")) return time_model(argv[2], atoi(argv[3]), !strcmp(argv[4], "bf16"), atoi(argv[5]));
  if (argc == 3 && !strcmp(argv[1], "rss")) return rss(argv[2]);
  if (argc == 2 && !strcmp(argv[1], "peak")) {
    printf("fp32_gflops %.1f\n", __builtin_cpu_supports("avx512f") ? fma_peak() : fma_peak_avx2());
    if (wmf_nn_has_bf16()) printf("bf16_gflops %.1f\n", bf16_peak());
    printf("isa %s\n", wmf_nn_isa());
    return 0;
  }
  fprintf(stderr, "usage: bench_models time WEIGHTS BATCH fp32|bf16 REPS | rss WEIGHTS | peak\n");
  return 2;
}
