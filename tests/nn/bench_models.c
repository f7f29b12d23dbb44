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

/* 12 independent accumulators (registers) per thread hide the FMA latency. */
#define ACC_DECL(v) __m512 a0 = v, a1 = v, a2 = v, a3 = v, a4 = v, a5 = v, a6 = v, a7 = v, a8 = v, a9 = v, a10 = v, a11 = v;
#define ACC_ONE(x, OP) { __typeof__(x) A = x; x = OP; }
#define ACC_STEP(OP) ACC_ONE(a0, OP) ACC_ONE(a1, OP) ACC_ONE(a2, OP) ACC_ONE(a3, OP) ACC_ONE(a4, OP) ACC_ONE(a5, OP) \
  ACC_ONE(a6, OP) ACC_ONE(a7, OP) ACC_ONE(a8, OP) ACC_ONE(a9, OP) ACC_ONE(a10, OP) ACC_ONE(a11, OP)
#define ACC_SUM _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)), \
  _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)), _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11))))
__attribute__((target("avx512f"))) static double fma_peak(void) {
  const long iters = 100000000;
  double t0 = now();
#pragma omp parallel num_threads(2)
  {
    __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    ACC_DECL(_mm512_set1_ps(1.f))
    for (long i = 0; i < iters; i++) {
      ACC_STEP(_mm512_fmadd_ps(A, b, c))
    }
    float sink = _mm512_reduce_add_ps(ACC_SUM);
    if (sink == 42.f) printf("#");
  }
  return 2.0 * iters * 12 * 16 * 2 / (now() - t0) / 1e9;
}

/* The same with 8-lane AVX2 FMAs, for CPUs without AVX-512 (where fma_peak would fault). */
#define ACC_DECL8(v) __m256 a0 = v, a1 = v, a2 = v, a3 = v, a4 = v, a5 = v, a6 = v, a7 = v, a8 = v, a9 = v, a10 = v, a11 = v;
#define ACC_SUM8 _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)), \
  _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)), _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11))))
__attribute__((target("avx2,fma"))) static double fma_peak_avx2(void) {
  const long iters = 100000000;
  double t0 = now();
#pragma omp parallel num_threads(2)
  {
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    ACC_DECL8(_mm256_set1_ps(1.f))
    for (long i = 0; i < iters; i++) {
      ACC_STEP(_mm256_fmadd_ps(A, b, c))
    }
    float v[8];
    _mm256_storeu_ps(v, ACC_SUM8);
    if (v[0] == 42.f) printf("#");
  }
  return 2.0 * iters * 12 * 8 * 2 / (now() - t0) / 1e9;
}

__attribute__((target("avx512f,avx512bf16"))) static double bf16_peak(void) {
  const long iters = 100000000;
  double t0 = now();
#pragma omp parallel num_threads(2)
  {
    __m512bh b = (__m512bh)_mm512_set1_epi16(0x3f80), c = (__m512bh)_mm512_set1_epi16(0x3300);
    ACC_DECL(_mm512_set1_ps(1.f))
    for (long i = 0; i < iters; i++) {
      ACC_STEP(_mm512_dpbf16_ps(A, b, c))
    }
    float sink = _mm512_reduce_add_ps(ACC_SUM);
    if (sink == 42.f) printf("#");
  }
  return 2.0 * iters * 12 * 32 * 2 / (now() - t0) / 1e9; /* 32 bf16 products per lane set */
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
