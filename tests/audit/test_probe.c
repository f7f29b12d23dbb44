/* Probe: training against scikit-learn's LogisticRegression (reference file in argv[1], from
 * ref_probe.py), determinism, masks, evaluation, save / load, the curve figure, argument checks.
 * `test_probe --blocks` runs what needs no reference file: the blocked objective against plain loops,
 * bit-identical results for 1 to 4 threads, argument checks. */
#include <stddef.h>
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <unistd.h>

#include "mask/mask_internal.h"
#include "probe/probe_internal.h"
#include "refdata.h"
#include "../check_run.h"

static const char *ref_path;

typedef struct prob {
  size_t K, F, n, nt;
  double C;
  const float *X, *Xt;
  const int32_t *y, *yt, *masked;
  size_t num_masked;
  const double *W, *b, *acc, *obj;
} prob;

static prob get(const ref_file *r, const char *tag) {
  char name[64];
  prob p;
#define G(s, code, cnt) (snprintf(name, sizeof name, "%s_%s", tag, s), ref_get(r, name, code, cnt))
  const int32_t *d = G("dims", 2, NULL);
  p.K = (size_t)d[0], p.F = (size_t)d[1], p.n = (size_t)d[2], p.nt = (size_t)d[3];
  p.C = *(const double *)G("C", 1, NULL);
  p.masked = G("masked", 2, &p.num_masked);
  p.X = G("X", 0, NULL), p.y = G("y", 2, NULL), p.Xt = G("Xt", 0, NULL), p.yt = G("yt", 2, NULL);
  p.W = G("W", 1, NULL), p.b = G("b", 1, NULL), p.acc = G("acc", 1, NULL), p.obj = G("objective", 1, NULL);
#undef G
  return p;
}

static void against_sklearn(const char *tag) {
  ref_file r = ref_load(ref_path);
  prob pb = get(&r, tag);
  wmf_mask *m = NULL;
  if (pb.num_masked) {
    ck_assert_int_eq(wmf_mask_create(&m, pb.F), WMF_OK);
    for (size_t i = 0; i < pb.num_masked; i++) wmf_mask_set(m, (size_t)pb.masked[i], 1);
  }
  wmf_probe_options o = WMF_PROBE_OPTIONS_INIT;
  o.C = pb.C;
  o.tolerance = 1e-8;
  o.ftol = 0; /* the gradient test alone: a tighter solution than sklearn's stopping gives */
  wmf_probe *p;
  ck_assert_msg(wmf_probe_train(&p, pb.X, pb.y, pb.n, pb.F, pb.K, m, &o) == WMF_OK, "%s", wmf_last_error());
  uint32_t it;
  int conv;
  double obj, grad;
  ck_assert_int_eq(wmf_probe_training_info(&it, &conv, &obj, &grad, p), WMF_OK);
  ck_assert(conv && grad <= 1e-8 && it > 0);
  ck_assert_msg(obj <= pb.obj[0] + 1e-12, "%s objective %.17g above sklearn's %.17g", tag, obj, pb.obj[0]);
  double *W = malloc(8 * pb.K * pb.F), b[16], wmax = 0, bmean = 0;
  ck_assert_int_eq(wmf_probe_weights(W, pb.K * pb.F, b, 16, p), WMF_OK);
  for (size_t k = 0; k < pb.K; k++) bmean += b[k] / (double)pb.K;
  for (size_t t = 0; t < pb.K * pb.F; t++) wmax = fmax(wmax, fabs(pb.W[t]));
  for (size_t t = 0; t < pb.K * pb.F; t++)
    ck_assert_msg(fabs(W[t] - pb.W[t]) <= 1e-4 * wmax, "%s W[%zu]: %.9g vs sklearn %.9g", tag, t, W[t], pb.W[t]);
  /* sklearn stops on its relative-decrease test with max |gradient| near 4e-6 (ours <= 1e-8, and its objective
   * is not below ours), which leaves the unpenalized biases less settled than the weights */
  for (size_t k = 0; k < pb.K; k++)
    ck_assert_msg(fabs(b[k] - bmean - pb.b[k]) <= 1e-3 * (1 + fabs(pb.b[k])), "%s b[%zu]: %.9g vs sklearn %.9g", tag, k, b[k] - bmean, pb.b[k]);
  for (size_t i = 0; i < pb.num_masked; i++)
    for (size_t k = 0; k < pb.K; k++) ck_assert(W[k * pb.F + (size_t)pb.masked[i]] == 0);
  double acc, acct;
  ck_assert_int_eq(wmf_probe_accuracy(&acc, p, pb.X, pb.y, pb.n), WMF_OK);
  ck_assert_int_eq(wmf_probe_accuracy(&acct, p, pb.Xt, pb.yt, pb.nt), WMF_OK);
  ck_assert_msg(fabs(acc - pb.acc[0]) <= 1.0 / (double)pb.n + 1e-12, "%s train accuracy %g vs %g", tag, acc, pb.acc[0]);
  ck_assert_msg(fabs(acct - pb.acc[1]) <= 1.0 / (double)pb.nt + 1e-12, "%s test accuracy %g vs %g", tag, acct, pb.acc[1]);
  /* determinism: a second run is bitwise equal */
  wmf_probe *q;
  ck_assert_int_eq(wmf_probe_train(&q, pb.X, pb.y, pb.n, pb.F, pb.K, m, &o), WMF_OK);
  double *W2 = malloc(8 * pb.K * pb.F);
  ck_assert_int_eq(wmf_probe_weights(W2, pb.K * pb.F, NULL, 0, q), WMF_OK);
  ck_assert(!memcmp(W, W2, 8 * pb.K * pb.F));
  free(W), free(W2);
  wmf_probe_destroy(q), wmf_probe_destroy(p), wmf_mask_destroy(m);
  ref_free(&r);
}

START_TEST(multiclass_matches_sklearn) { against_sklearn("multi"); }
END_TEST
START_TEST(masked_matches_sklearn) { against_sklearn("masked"); }
END_TEST
START_TEST(binary_matches_sklearn) { against_sklearn("binary"); }
END_TEST

START_TEST(evaluate_save_load) {
  ref_file r = ref_load(ref_path);
  prob pb = get(&r, "multi");
  wmf_probe *p, *q;
  ck_assert_int_eq(wmf_probe_train(&p, pb.X, pb.y, pb.n, pb.F, pb.K, NULL, NULL), WMF_OK);
  /* logit AUC: a shifted copy of the test set raises the logits that weigh the shifted channel */
  size_t nt = pb.nt, F = pb.F;
  float *shift = malloc(4 * nt * F);
  memcpy(shift, pb.Xt, 4 * nt * F);
  double w[80], auc[4], same[4];
  ck_assert_int_eq(wmf_probe_weights(w, 80, NULL, 0, p), WMF_OK);
  size_t kmax = 0;
  for (size_t k = 1; k < 4; k++) kmax = w[k * F] > w[kmax * F] ? k : kmax;
  for (size_t i = 0; i < nt; i++) shift[i * F] += 5;
  ck_assert_int_eq(wmf_probe_logit_auc(auc, 4, p, pb.Xt, nt, shift, nt), WMF_OK);
  ck_assert_double_gt(auc[kmax], 0.6);
  ck_assert_int_eq(wmf_probe_logit_auc(same, 4, p, pb.Xt, nt, pb.Xt, nt), WMF_OK);
  for (int k = 0; k < 4; k++) ck_assert(same[k] == 0.5);
  ck_assert_int_eq(wmf_probe_logit_auc(same, 3, p, pb.Xt, nt, pb.Xt, nt), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_probe_logit_auc(same, 4, p, pb.Xt, 0, pb.Xt, nt), WMF_ERR_INVALID_ARGUMENT);
  /* save / load gives the same predictions */
  char path[64] = "/tmp/wmf_probe_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  ck_assert_int_eq(wmf_probe_save(p, path), WMF_OK);
  ck_assert_int_eq(wmf_probe_load(&q, path), WMF_OK);
  float *l1 = malloc(4 * nt * 4), *l2 = malloc(4 * nt * 4);
  int32_t *c1 = malloc(4 * nt), *c2 = malloc(4 * nt);
  ck_assert_int_eq(wmf_probe_predict(l1, c1, p, pb.Xt, nt), WMF_OK);
  ck_assert_int_eq(wmf_probe_predict(l2, c2, q, pb.Xt, nt), WMF_OK);
  ck_assert(!memcmp(l1, l2, 16 * nt) && !memcmp(c1, c2, 4 * nt));
  /* damage is detected */
  FILE *f = fopen(path, "r+b");
  fseek(f, 100, SEEK_SET);
  fputc(0x55, f);
  fclose(f);
  wmf_probe_destroy(q);
  ck_assert_int_eq(wmf_probe_load(&q, path), WMF_ERR_CORRUPT);
  ck_assert_ptr_null(q);
  unlink(path);
  /* the curve figure */
  double pp[3] = {0, 0.1, 0.5}, ca[3] = {0.9, 0.88, 0.8}, wa[3] = {0.6, 0.8, 0.79}, ex[3] = {0.9, 0.7, 0.55};
  strcat(path, ".svg");
  ck_assert_int_eq(wmf_probe_write_curve_svg(path, "t", pp, ca, wa, ex, "head AUC", 3), WMF_OK);
  unlink(path);
  double bad[3] = {0, 0.5, 0.1};
  ck_assert_int_eq(wmf_probe_write_curve_svg(path, "t", bad, ca, wa, NULL, NULL, 3), WMF_ERR_INVALID_ARGUMENT);
  free(shift), free(l1), free(l2), free(c1), free(c2);
  wmf_probe_destroy(p);
  ref_free(&r);
}
END_TEST

START_TEST(arguments_and_non_convergence) {
  float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  int32_t y[4] = {0, 1, 0, 1}, bad[4] = {0, 1, 2, 0};
  wmf_probe *p = (wmf_probe *)1;
  ck_assert_int_eq(wmf_probe_train(&p, x, bad, 4, 2, 2, NULL, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 2, 1, NULL, NULL), WMF_ERR_INVALID_ARGUMENT);
  wmf_probe_options o = WMF_PROBE_OPTIONS_INIT;
  o.C = -1;
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 2, 2, NULL, &o), WMF_ERR_INVALID_ARGUMENT);
  wmf_mask *m;
  ck_assert_int_eq(wmf_mask_create(&m, 3), WMF_OK);
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 2, 2, m, NULL), WMF_ERR_SHAPE);
  wmf_mask_destroy(m);
  x[3] = NAN;
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 2, 2, NULL, NULL), WMF_ERR_NUMERIC);
  x[3] = 3;
  /* separable data with almost no regularization: the iteration limit is reported, the head returned */
  float sx[4] = {-1, -2, 1, 2};
  int32_t sy[4] = {0, 0, 1, 1};
  o = (wmf_probe_options)WMF_PROBE_OPTIONS_INIT;
  o.C = 1e12;
  o.max_iterations = 5;
  ck_assert_int_eq(wmf_probe_train(&p, sx, sy, 4, 1, 2, NULL, &o), WMF_ERR_LIMIT);
  ck_assert_ptr_nonnull(p);
  int conv = 1;
  uint32_t it;
  ck_assert_int_eq(wmf_probe_training_info(&it, &conv, NULL, NULL, p), WMF_OK);
  ck_assert(!conv && it == 5);
  double acc;
  ck_assert_int_eq(wmf_probe_accuracy(&acc, p, sx, sy, 4), WMF_OK);
  ck_assert(acc == 1.0);
  wmf_probe_destroy(p);
  wmf_probe_destroy(NULL);
  /* a 1.0 caller's options end at fit_intercept: accepted, the 1.1 fields after it read as their
   * defaults (whatever lies there in memory), a shorter struct refused */
  o = (wmf_probe_options)WMF_PROBE_OPTIONS_INIT;
  o.struct_size = (uint32_t)offsetof(wmf_probe_options, ftol);
  o.ftol = -1, o.sklearn_tolerance = 7;
  ck_assert_msg(wmf_probe_train(&p, x, y, 4, 2, 2, NULL, &o) == WMF_OK, "%s", wmf_last_error());
  wmf_probe_destroy(p);
  o.struct_size = (uint32_t)offsetof(wmf_probe_options, fit_intercept);
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 2, 2, NULL, &o), WMF_ERR_INVALID_ARGUMENT);
  o = (wmf_probe_options)WMF_PROBE_OPTIONS_INIT;
  o.ftol = -1;
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 2, 2, NULL, &o), WMF_ERR_INVALID_ARGUMENT);
  /* every channel masked: with a bias the head learns the class frequencies, without one it is zero */
  ck_assert_int_eq(wmf_mask_create(&m, 1), WMF_OK);
  ck_assert_int_eq(wmf_mask_set(m, 0, 1), WMF_OK);
  int32_t sk[4] = {0, 1, 1, 1};
  ck_assert_int_eq(wmf_probe_train(&p, sx, sk, 4, 1, 2, m, NULL), WMF_OK);
  double b[2];
  ck_assert_int_eq(wmf_probe_weights(NULL, 0, b, 2, p), WMF_OK);
  ck_assert_double_eq_tol(b[1] - b[0], log(3.0), 1e-5);
  wmf_probe_destroy(p);
  o = (wmf_probe_options)WMF_PROBE_OPTIONS_INIT;
  o.fit_intercept = 0;
  ck_assert_int_eq(wmf_probe_train(&p, sx, sk, 4, 1, 2, m, &o), WMF_OK);
  ck_assert_int_eq(wmf_probe_predict(NULL, sk, p, sx, 1), WMF_OK);
  wmf_probe_destroy(p);
  wmf_mask_destroy(m);
}
END_TEST

/* ---- the blocked objective (no reference file needed) ---- */

static uint64_t lcg_state;
static double lcg(void) { /* uniform in [-1, 1) */
  lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
  return (double)(lcg_state >> 11) * 0x1p-52 - 1.0;
}

/* n samples of d features (ReLU-like, around K class centres) and their labels; caller frees */
static void synthetic(float **x, int32_t **y, size_t n, size_t d, size_t K, uint64_t seed) {
  lcg_state = seed;
  *x = malloc(n * d * sizeof(float)), *y = malloc(n * sizeof(int32_t));
  for (size_t i = 0; i < n; i++) {
    (*y)[i] = (int32_t)((lcg() + 1) * 0.5 * (double)K);
    for (size_t j = 0; j < d; j++) {
      double v = 0.8 * (double)(((size_t)(*y)[i] * 31 + j * 17) % 7) / 7 + lcg() + 0.3;
      (*x)[i * d + j] = (float)(v > 0 ? v : 0);
    }
  }
}

/* The objective and gradient written as plain loops: what the blocked matrix products must equal. */
static double loops_objective(const wmfi_probe_problem *pr, const double *theta, double *grad) {
  size_t n = pr->n, d = pr->d, K = pr->K, D = K * d + (pr->intercept ? K : 0);
  const double *W = theta, *b = pr->intercept ? theta + K * d : NULL;
  double loss = 0, reg = 0, *z = malloc(K * sizeof(double));
  memset(grad, 0, D * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    const double *x = pr->X + i * d;
    double mx = -INFINITY, sum = 0;
    for (size_t k = 0; k < K; k++) {
      z[k] = b ? b[k] : 0;
      for (size_t j = 0; j < d; j++) z[k] += W[k * d + j] * x[j];
      mx = fmax(mx, z[k]);
    }
    for (size_t k = 0; k < K; k++) sum += exp(z[k] - mx);
    loss += mx + log(sum) - z[pr->y[i]];
    for (size_t k = 0; k < K; k++) {
      double r = (exp(z[k] - mx) / sum - (pr->y[i] == (int32_t)k)) / (double)n;
      for (size_t j = 0; j < d; j++) grad[k * d + j] += r * x[j];
      if (b) grad[K * d + k] += r;
    }
  }
  for (size_t t = 0; t < K * d; t++) reg += W[t] * W[t], grad[t] += pr->l2 * W[t];
  free(z);
  return loss / (double)n + 0.5 * pr->l2 * reg;
}

/* One evaluation of wmfi_probe_evaluate on a problem of several sample blocks and gradient tiles (and
 * partial ones), with `threads` OpenMP threads; returns the objective, the gradient in grad. */
static double blocked_objective(double *grad, const float *x, const int32_t *y, size_t n, size_t d, size_t K,
                                bool intercept, const double *theta, int threads) {
  double *X = malloc((n * d + 1) * sizeof(double)), *Z = malloc(n * K * sizeof(double));
  double *bl = malloc((n / WMFI_PROBE_BLOCK + 1) * sizeof(double));
  for (size_t t = 0; t < n * d; t++) X[t] = x[t];
  omp_set_num_threads(threads);
  size_t T = wmfi_probe_threads(n, d, K);
  double *pack = malloc(T * wmfi_probe_gemm_scratch() * sizeof(double));
  wmfi_probe_problem pr = {X, y, n, d, K, intercept, 0.01, Z, bl, pack, T};
  double f = wmfi_probe_evaluate(&pr, theta, grad);
  free(X), free(Z), free(bl), free(pack);
  return f;
}

START_TEST(blocked_objective_equals_loops) {
  /* more classes and features than a tile, more samples than a block, none a multiple of them */
  size_t n = 2 * WMFI_PROBE_BLOCK + 37, d = WMFI_PROBE_TILE + 19, K = WMFI_PROBE_TILE + 5;
  float *x;
  int32_t *y;
  synthetic(&x, &y, n, d, K, 11);
  for (int intercept = 0; intercept < 2; intercept++)
    for (size_t dd = 0; dd <= d; dd += d) { /* also no feature at all (every channel masked) */
      size_t D = K * dd + (intercept ? K : 0);
      double *theta = malloc((D + 1) * sizeof(double)), *g = malloc((D + 1) * sizeof(double));
      double *gl = malloc((D + 1) * sizeof(double)), *X = malloc((n * dd + 1) * sizeof(double));
      for (size_t t = 0; t < D; t++) theta[t] = 0.05 * lcg();
      for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dd; j++) X[i * dd + j] = x[i * d + j];
      float *xs = malloc((n * dd + 1) * sizeof(float));
      for (size_t t = 0; t < n * dd; t++) xs[t] = (float)X[t];
      double f = blocked_objective(g, xs, y, n, dd, K, intercept, theta, 2);
      wmfi_probe_problem pr = {X, y, n, dd, K, intercept, 0.01, NULL, NULL, NULL, 0};
      double fl = loops_objective(&pr, theta, gl), gmax = 0;
      ck_assert_msg(fabs(f - fl) <= 1e-12 * fabs(fl), "objective %.17g vs loops %.17g", f, fl);
      for (size_t t = 0; t < D; t++) gmax = fmax(gmax, fabs(gl[t]));
      for (size_t t = 0; t < D; t++)
        ck_assert_msg(fabs(g[t] - gl[t]) <= 1e-12 * gmax, "d %zu, intercept %d: gradient[%zu] %.17g vs loops %.17g", dd,
                      intercept, t, g[t], gl[t]);
      free(theta), free(g), free(gl), free(X), free(xs);
    }
  free(x), free(y);
}
END_TEST

START_TEST(bit_identical_across_threads) {
  size_t n = 5 * WMFI_PROBE_BLOCK + 3, d = 2 * WMFI_PROBE_TILE + 7, K = 12;
  float *x;
  int32_t *y;
  ck_assert((double)n * (double)(d + 1) * (double)K >= WMFI_PROBE_PARALLEL_WORK); /* big enough for threads */
  synthetic(&x, &y, n, d, K, 5);
  /* the objective alone, 1 to 4 threads */
  size_t D = K * d + K;
  double *theta = malloc(D * sizeof(double)), *g1 = malloc(D * sizeof(double)), *g = malloc(D * sizeof(double));
  for (size_t t = 0; t < D; t++) theta[t] = 0.05 * lcg();
  double f1 = blocked_objective(g1, x, y, n, d, K, true, theta, 1);
  for (int threads = 1; threads <= 4; threads++) {
    double f = blocked_objective(g, x, y, n, d, K, true, theta, threads);
    ck_assert_msg(f == f1 && !memcmp(g, g1, D * sizeof(double)), "%d threads differ from 1", threads);
  }
  /* whole trainings: 1 thread, 2 threads, 2 threads again */
  wmf_probe_options o = WMF_PROBE_OPTIONS_INIT;
  o.max_iterations = 15;
  double *W[3], obj[3], b[3][12];
  int threads[3] = {1, 2, 2};
  for (int r = 0; r < 3; r++) {
    wmf_probe *p;
    omp_set_num_threads(threads[r]);
    wmf_status st = wmf_probe_train(&p, x, y, n, d, K, NULL, &o);
    ck_assert_msg(st == WMF_OK || st == WMF_ERR_LIMIT, "%s", wmf_last_error());
    W[r] = malloc(K * d * sizeof(double));
    ck_assert_int_eq(wmf_probe_weights(W[r], K * d, b[r], K, p), WMF_OK);
    ck_assert_int_eq(wmf_probe_training_info(NULL, NULL, &obj[r], NULL, p), WMF_OK);
    wmf_probe_destroy(p);
  }
  for (int r = 1; r < 3; r++)
    ck_assert_msg(obj[r] == obj[0] && !memcmp(W[r], W[0], K * d * sizeof(double)) && !memcmp(b[r], b[0], sizeof b[0]),
                  "training %d (%d threads) differs from 1 thread: objective %.17g vs %.17g", r, threads[r], obj[r],
                  obj[0]);
  for (int r = 0; r < 3; r++) free(W[r]);
  free(theta), free(g1), free(g), free(x), free(y);
}
END_TEST

/* gemm.c: C = alpha A B is bit for bit one running sum per element over k in increasing order (fused
 * where the kernel is the FMA one), for shapes that cross every blocking edge (MR, NR, MC, KC, NC), with
 * transposed strides, whichever kernel runs. */
START_TEST(gemm_equals_sequential_loop) {
  static const size_t shapes[][3] = {{1, 1, 1},    {5, 7, 3},    {6, 8, WMFI_GEMM_KC},     {13, 17, 2 * WMFI_GEMM_KC + 9},
                                     {WMFI_GEMM_MC + 7, WMFI_GEMM_NC + 11, 5}, {2 * WMFI_GEMM_MC + 1, 9, WMFI_GEMM_KC + 1},
                                     {4, 3, 0}};
  double *scratch = malloc(wmfi_probe_gemm_scratch() * sizeof(double));
  lcg_state = 21;
  for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
    for (int transposed = 0; transposed < 2; transposed++)
      for (int kernel = WMFI_GEMM_GENERIC; kernel <= WMFI_GEMM_FMA; kernel++) {
        if (kernel == WMFI_GEMM_FMA && !wmfi_probe_gemm_has_fma()) continue;
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        double *A = malloc((m * k + 1) * sizeof(double)), *B = malloc((k * n + 1) * sizeof(double));
        double *C = malloc(m * (n + 3) * sizeof(double)), alpha = 0.37;
        for (size_t t = 0; t < m * k; t++) A[t] = lcg();
        for (size_t t = 0; t < k * n; t++) B[t] = lcg();
        for (size_t t = 0; t < m * (n + 3); t++) C[t] = NAN; /* overwritten, never read */
        /* transposed: A stored k x m and B stored n x k, read through swapped strides */
        size_t rsa = transposed ? 1 : k, csa = transposed ? m : 1, rsb = transposed ? 1 : n, csb = transposed ? k : 1;
        wmfi_probe_gemm_ex(kernel, scratch, m, n, k, alpha, A, rsa, csa, B, rsb, csb, C, n + 3);
        for (size_t i = 0; i < m; i++)
          for (size_t j = 0; j < n; j++) {
            double acc = 0;
            for (size_t p = 0; p < k; p++) {
              double a = A[i * rsa + p * csa], b = B[p * rsb + j * csb];
              if (kernel == WMFI_GEMM_FMA)
                acc = fma(a, b, acc);
              else {
                double ab = a * b; /* rounded: the generic kernel does not fuse */
                acc = acc + ab;
              }
            }
            acc *= alpha;
            ck_assert_msg(!memcmp(&acc, &C[i * (n + 3) + j], sizeof acc),
                          "kernel %d, %zu x %zu x %zu%s: C[%zu][%zu] = %.17g, the sequential loop %.17g", kernel, m, n,
                          k, transposed ? " (transposed)" : "", i, j, C[i * (n + 3) + j], acc);
          }
        free(A), free(B), free(C);
      }
  free(scratch);
}
END_TEST

START_TEST(blocked_predictions_equal_loops) {
  size_t n = 2 * WMFI_PROBE_BLOCK + 5, F = 70, K = 300;
  float *x;
  int32_t *y;
  synthetic(&x, &y, n, F, K, 3);
  wmf_probe *p;
  ck_assert_int_eq(wmfi_probe_new(&p, K, F), WMF_OK);
  for (size_t t = 0; t < K * F; t++) p->W[t] = 0.1 * lcg();
  for (size_t k = 0; k < K; k++) p->b[k] = lcg();
  uint8_t masked[70] = {0};
  masked[0] = masked[13] = masked[69] = 1; /* the weights there are not zero: masked channels must be skipped */
  wmfi_probe_set_masked(p, masked);
  float *logits = malloc(n * K * sizeof(float));
  int32_t *cls = malloc(n * sizeof(int32_t)), *cls2 = malloc(n * sizeof(int32_t));
  omp_set_num_threads(2);
  ck_assert_int_eq(wmf_probe_predict(logits, cls, p, x, n), WMF_OK);
  ck_assert_int_eq(wmf_probe_predict(NULL, cls2, p, x, n), WMF_OK);
  ck_assert(!memcmp(cls, cls2, n * sizeof(int32_t)));
  size_t right = 0;
  for (size_t i = 0; i < n; i++) {
    double best = -INFINITY;
    size_t arg = 0;
    for (size_t k = 0; k < K; k++) {
      double z = p->b[k];
      for (size_t j = 0; j < F; j++) z += masked[j] ? 0 : p->W[k * F + j] * x[i * F + j];
      ck_assert_msg(fabs(logits[i * K + k] - z) <= 1e-5 * (1 + fabs(z)), "logit %zu,%zu: %g vs loops %g", i, k,
                    (double)logits[i * K + k], z);
      if (z > best) best = z, arg = k;
    }
    ck_assert_msg((size_t)cls[i] == arg || fabs(logits[i * K + arg] - logits[i * K + (size_t)cls[i]]) <= 1e-5,
                  "sample %zu: class %d vs loops %zu", i, (int)cls[i], arg);
    right += i != 1 && cls[i] == y[i];
  }
  double acc;
  y[1] = WMF_NO_LABEL; /* skipped by the accuracy */
  ck_assert_int_eq(wmf_probe_accuracy(&acc, p, x, y, n), WMF_OK);
  ck_assert_msg(acc == (double)right / (double)(n - 1), "accuracy %g vs %g", acc, (double)right / (double)(n - 1));
  free(logits), free(cls), free(cls2), free(x), free(y);
  wmf_probe_destroy(p);
}
END_TEST

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--blocks")) { /* the tests that need no reference file */
    Suite *s = suite_create("probe_blocks");
    TCase *tc = tcase_create("probe_blocks");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, gemm_equals_sequential_loop);
    tcase_add_test(tc, blocked_objective_equals_loops);
    tcase_add_test(tc, bit_identical_across_threads);
    tcase_add_test(tc, blocked_predictions_equal_loops);
    tcase_add_test(tc, arguments_and_non_convergence);
    suite_add_tcase(s, tc);
    return run_suite(s);
  }
  if (argc < 2) {
    fprintf(stderr, "usage: test_probe REFERENCE.bin | --blocks\n");
    return 2;
  }
  ref_path = argv[1];
  Suite *s = suite_create("probe");
  TCase *tc = tcase_create("probe");
  tcase_add_test(tc, multiclass_matches_sklearn);
  tcase_add_test(tc, masked_matches_sklearn);
  tcase_add_test(tc, binary_matches_sklearn);
  tcase_add_test(tc, evaluate_save_load);
  tcase_add_test(tc, arguments_and_non_convergence);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
