/* Benchmark (not a test): the audit's own cost per image pair at ResNet-50 sizes (1000 logits, 2048
 * features): adding pairs, computing every score, building masks, and training a probe.
 *   build/tests/audit/bench_audit [pairs=10000] [bootstrap resamples=1000]
 * Prints milliseconds per pair; docs/benchmarks.md relates them to the forward pass. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <wmfeat.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
static uint64_t s = 1;
static float rnd(void) {
  s ^= s << 13, s ^= s >> 7, s ^= s << 17;
  return (float)((s >> 11) * (1.0 / 9007199254740992.0));
}
#define CHECK(x) do { wmf_status st_ = (x); if (st_ && st_ != WMF_ERR_LIMIT) { fprintf(stderr, "%s: %s\n", #x, wmf_last_error()); return 1; } } while (0)

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000, C = 1000, F = 2048, B = 16;
  float *cl = malloc(4 * B * C), *wl = malloc(4 * B * C), *cf = malloc(4 * B * F), *wf = malloc(4 * B * F);
  int32_t *lab = malloc(4 * B);
  wmf_audit *a;
  CHECK(wmf_audit_create(&a, C, F));
  double t_add = 0;
  for (size_t done = 0; done < n; done += B) {
    for (size_t i = 0; i < B * C; i++) cl[i] = 8 * rnd() - 4, wl[i] = cl[i] + rnd() - 0.5f;
    for (size_t i = 0; i < B * F; i++) cf[i] = fmaxf(0, 2 * rnd() - 1), wf[i] = fmaxf(0, cf[i] + rnd() - 0.45f);
    for (size_t i = 0; i < B; i++) lab[i] = (int32_t)((done + i) % C);
    double t0 = now();
    CHECK(wmf_audit_add(a, B, cl, wl, cf, wf, lab));
    t_add += now() - t0;
  }
  n = wmf_audit_num_pairs(a);
  double t0 = now(), *auc = malloc(8 * F);
  CHECK(wmf_audit_scores(auc, F, a, WMF_AUDIT_CHANNELS, WMF_SCORE_AUC)); /* computes every score */
  double t_scores = now() - t0;
  t0 = now();
  static const double ps[] = {0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5};
  for (int k = 0; k < 7; k++) {
    wmf_mask *m;
    CHECK(wmf_mask_top_fraction(&m, auc, F, WMF_MASK_BY_FROM_HALF, ps[k]));
    wmf_mask_destroy(m);
  }
  double t_mask = now() - t0;
  /* bootstrap intervals: resamples from the second argument (default 1000) */
  size_t boot = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
  double *lo = malloc(8 * F);
  CHECK(wmf_audit_set_bootstrap(a, boot, 1, 0.95));
  t0 = now();
  clock_t c0 = clock();
  CHECK(wmf_audit_interval(lo, NULL, F, a, WMF_AUDIT_CHANNELS, WMF_SCORE_AUC)); /* computes every interval */
  double t_boot = now() - t0, cpu_boot = (double)(clock() - c0) / CLOCKS_PER_SEC;
  free(lo);
  /* a probe: 10 classes on 2,000 feature vectors, one mask */
  size_t pn = 2000, K = 10;
  float *x = malloc(4 * pn * F);
  int32_t *y = malloc(4 * pn);
  for (size_t i = 0; i < pn; i++) {
    y[i] = (int32_t)(i % K);
    for (size_t j = 0; j < F; j++) x[i * F + j] = fmaxf(0, rnd() - 0.5f + (j % K == (size_t)y[i] ? 0.3f : 0));
  }
  wmf_mask *m;
  CHECK(wmf_mask_top_fraction(&m, auc, F, WMF_MASK_BY_FROM_HALF, 0.1));
  wmf_probe *p;
  t0 = now();
  CHECK(wmf_probe_train(&p, x, y, pn, F, K, m, NULL));
  double t_probe = now() - t0;
  uint32_t it;
  CHECK(wmf_probe_training_info(&it, NULL, NULL, NULL, p));
  printf("pairs %zu (1000 logits, 2048 features)\n", n);
  printf("add:    %8.4f ms per pair\n", 1e3 * t_add / n);
  printf("scores: %8.4f ms per pair (%.2f s for all 3048 columns)\n", 1e3 * t_scores / n, t_scores);
  printf("masks:  %8.4f ms for 7 fractions\n", 1e3 * t_mask);
  printf("bootstrap: %.4f ms per pair (%zu resamples, %.2f s for all 3048 columns; %.2f s CPU time)\n",
         1e3 * t_boot / n, boot, t_boot, cpu_boot);
  printf("probe:  %8.1f ms (2000 x 2048 features, 10 classes, %u L-BFGS iterations)\n", 1e3 * t_probe, it);
  printf("audit statistics total: %.4f ms per pair\n", 1e3 * (t_add + t_scores + t_mask) / n);
  wmf_probe_destroy(p), wmf_mask_destroy(m), wmf_audit_destroy(a);
  free(cl), free(wl), free(cf), free(wf), free(lab), free(auc), free(x), free(y);
  return 0;
}
