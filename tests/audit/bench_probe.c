/* Benchmark program (not a test): the probe's objective + gradient on a large head, the library's blocked
 * gemm.c code against the plain loops it replaced ("reference loops", kept here only as the baseline), in
 * the same run, then a short L-BFGS fit through the public API.
 *
 *   build/tests/audit/bench_probe [n=50000] [features=2048] [classes=1000] [threads=2] [iterations=2]
 *
 * Random ReLU-like features around class centres (fixed seed). One evaluation costs 4 n d K flops (the
 * logits X W^T and the gradient R^T X). Figures: docs/benchmarks.md, "Probe training". */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "probe/probe_internal.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_now(void) { /* CPU time of the calling thread: what it got of a shared core */
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static double uniform(void) { /* xorshift64*, in [0, 1) */
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717u) >> 11) * 0x1p-53;
}
static double gauss(void) { return sqrt(-2 * log(1 - uniform())) * cos(6.283185307179586 * uniform()); }

/* ---- reference loops: lib/probe/probe.c's objective and gradient before the BLIS rewrite ---- */
static double dot8(const double *a, const double *b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    s0 += a[j] * b[j], s1 += a[j + 1] * b[j + 1], s2 += a[j + 2] * b[j + 2], s3 += a[j + 3] * b[j + 3];
    s4 += a[j + 4] * b[j + 4], s5 += a[j + 5] * b[j + 5], s6 += a[j + 6] * b[j + 6], s7 += a[j + 7] * b[j + 7];
  }
  double s = ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7));
  for (; j < n; j++) s += a[j] * b[j];
  return s;
}

static double reference_loops(const wmfi_probe_problem *pr, const double *theta, double *grad) {
  size_t n = pr->n, d = pr->d, K = pr->K;
  const double *W = theta, *b = pr->intercept ? theta + K * d : NULL;
  double loss = 0;
  for (size_t i = 0; i < n; i++) {
    const double *x = pr->X + i * d;
    double *z = pr->Z + i * K, mx = -INFINITY;
    for (size_t k = 0; k < K; k++) {
      double s = (b ? b[k] : 0) + dot8(W + k * d, x, d);
      z[k] = s;
      if (s > mx) mx = s;
    }
    double sum = 0;
    for (size_t k = 0; k < K; k++) sum += exp(z[k] - mx);
    double lse = mx + log(sum);
    loss += lse - z[pr->y[i]];
    for (size_t k = 0; k < K; k++) z[k] = exp(z[k] - lse);
    z[pr->y[i]] -= 1.0;
  }
  double reg = 0;
  for (size_t t = 0; t < K * d; t++) reg += W[t] * W[t];
  memset(grad, 0, (K * d + (b ? K : 0)) * sizeof(double));
  double inv_n = 1.0 / (double)n;
  for (size_t i = 0; i < n; i++) {
    const double *x = pr->X + i * d, *r = pr->Z + i * K;
    for (size_t k = 0; k < K; k++) {
      double c = r[k] * inv_n;
      double *g = grad + k * d;
      size_t j = 0;
      for (; j + 8 <= d; j += 8)
        for (int u = 0; u < 8; u++) g[j + u] += c * x[j + u];
      for (; j < d; j++) g[j] += c * x[j];
      if (b) grad[K * d + k] += c;
    }
  }
  for (size_t t = 0; t < K * d; t++) grad[t] += pr->l2 * W[t];
  return loss * inv_n + 0.5 * pr->l2 * reg;
}
/* ---- end of the reference loops ---- */

static size_t arg(int argc, char **argv, int i, size_t def) { return argc > i ? (size_t)strtoull(argv[i], NULL, 10) : def; }

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress shows when redirected to a file */
  size_t n = arg(argc, argv, 1, 50000), d = arg(argc, argv, 2, 2048), K = arg(argc, argv, 3, 1000);
  int threads = (int)arg(argc, argv, 4, 2);
  uint32_t iters = (uint32_t)arg(argc, argv, 5, 2);
  size_t D = K * d + K, blocks = (n + WMFI_PROBE_BLOCK - 1) / WMFI_PROBE_BLOCK;
  float *feat = malloc(n * d * sizeof(float)), *centres = malloc(K * d * sizeof(float));
  int32_t *y = malloc(n * sizeof(int32_t));
  double *X = malloc(n * d * sizeof(double)), *Z = malloc(n * K * sizeof(double)), *theta = malloc(D * sizeof(double));
  double *g1 = malloc(D * sizeof(double)), *g2 = malloc(D * sizeof(double)), *bl = malloc(blocks * sizeof(double));
  if (!feat || !centres || !y || !X || !Z || !theta || !g1 || !g2 || !bl) {
    fprintf(stderr, "bench_probe: out of memory\n");
    return 1;
  }
  for (size_t t = 0; t < K * d; t++) centres[t] = (float)gauss();
  for (size_t i = 0; i < n; i++) {
    y[i] = (int32_t)(uniform() * (double)K);
    for (size_t j = 0; j < d; j++) {
      float v = centres[(size_t)y[i] * d + j] + (float)(1.5 * gauss()) + 0.5f;
      feat[i * d + j] = v > 0 ? v : 0;
      X[i * d + j] = feat[i * d + j];
    }
  }
  for (size_t t = 0; t < D; t++) theta[t] = 0.01 * gauss();
  omp_set_num_threads(threads);
  size_t T = wmfi_probe_threads(n, d, K);
  double *pack = malloc(T * wmfi_probe_gemm_scratch() * sizeof(double));
  if (!pack) {
    fprintf(stderr, "bench_probe: out of memory\n");
    return 1;
  }
  wmfi_probe_problem pr = {X, y, n, d, K, true, 1.0 / (1.0 * (double)n), Z, bl, pack, T};
  double flops = 4.0 * (double)n * (double)d * (double)K;

  /* the kernel in isolation: one product of the logits' shape (a block of samples x features x classes),
   * repeated on one thread */
  {
    size_t m = 256;
    double g = 2.0 * (double)m * (double)K * (double)d * 1e-9, tbest = INFINITY, cbest = INFINITY;
    for (int r = 0; r < 10; r++) {
      double t0 = now(), c0 = cpu_now();
      wmfi_probe_gemm(pack, m, K, d, 1.0, X, d, 1, theta, 1, d, Z, K);
      double t = now() - t0, c = cpu_now() - c0;
      if (t < tbest) tbest = t;
      if (c < cbest) cbest = c;
    }
    printf("gemm.c alone (%s kernel, 1 thread): %zu x %zu x %zu in %.4f s, %.1f GFLOP/s; per second of this "
           "thread's CPU time %.1f GFLOP/s (best of 10)\n",
           wmfi_probe_gemm_has_fma() ? "AVX2+FMA" : "generic", m, K, d, tbest, g / tbest, g / cbest);
  }
  printf("probe objective + gradient: n %zu, features %zu, classes %zu (%.1f GFLOP per evaluation)\n", n, d, K,
         flops * 1e-9);

  double best[3] = {INFINITY, INFINITY, INFINITY}, f_new = 0;
  int team[2] = {threads, 1};
  for (int c = 0; c < 2; c++) {
    omp_set_num_threads(team[c]);
    pr.threads = (size_t)team[c] < T ? (size_t)team[c] : T;
    for (int r = 0; r < (c ? 1 : 2); r++) {
      double t0 = now();
      double f = wmfi_probe_evaluate(&pr, theta, g1);
      double t = now() - t0;
      if (c == 0) f_new = f;
      else if (f != f_new) printf("  WARNING: %d and %d threads differ (%.17g vs %.17g)\n", team[0], team[1], f_new, f);
      if (t < best[c]) best[c] = t;
    }
    printf("blocked gemm.c, %d thread(s): %.3f s per evaluation, %.1f GFLOP/s (best of %d)\n", team[c], best[c],
           flops / best[c] * 1e-9, c ? 1 : 2);
  }
  omp_set_num_threads(threads);
  double t0 = now();
  double f_ref = reference_loops(&pr, theta, g2);
  best[2] = now() - t0;
  printf("reference loops (1 thread, as before): %.3f s per evaluation, %.1f GFLOP/s\n", best[2],
         flops / best[2] * 1e-9);
  double gdiff = 0, gmax = 0;
  for (size_t t = 0; t < D; t++) gdiff = fmax(gdiff, fabs(g1[t] - g2[t])), gmax = fmax(gmax, fabs(g2[t]));
  printf("agreement: objective %.17g vs %.17g, max |gradient difference| %.3g (max |gradient| %.3g)\n", f_new, f_ref,
         gdiff, gmax);
  printf("speed-up: %.1fx with %d threads, %.1fx with 1 thread\n", best[2] / best[0], threads, best[2] / best[1]);
  free(X), free(Z), free(g1), free(g2), free(bl), free(theta), free(centres), free(pack);

  /* a short fit through the public API (its own copies of the features) */
  wmf_probe_options o = WMF_PROBE_OPTIONS_INIT;
  o.max_iterations = iters;
  wmf_probe *p = NULL;
  t0 = now();
  wmf_status st = wmf_probe_train(&p, feat, y, n, d, K, NULL, &o);
  double tf = now() - t0;
  uint32_t it = 0;
  double obj = 0, grad = 0;
  if (p) wmf_probe_training_info(&it, NULL, &obj, &grad, p);
  printf("wmf_probe_train, %u L-BFGS iterations, %d threads: %.1f s (status %s, objective %.6g, max |gradient| %.3g)\n",
         it, threads, tf, wmf_status_name(st), obj, grad);
  wmf_probe_destroy(p);
  free(feat), free(y);
  return 0;
}
