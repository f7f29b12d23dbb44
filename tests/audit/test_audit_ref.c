/* The audit statistics against scikit-learn's roc_auc_score, scipy's Wilcoxon test and numpy, on data
 * and expectations written by ref_audit.py (path in argv[1]). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "audit/audit_internal.h"
#include "refdata.h"
#include "../check_run.h"

static const char *ref_path;

static void close_to(double got, double want, double tol, const char *what, int i) {
  if (isnan(want)) {
    ck_assert_msg(isnan(got), "%s[%d]: got %.17g, want NaN", what, i, got);
    return;
  }
  ck_assert_msg(fabs(got - want) <= tol * (1 + fabs(want)), "%s[%d]: got %.17g, want %.17g", what, i, got, want);
}

START_TEST(auc_matches_sklearn) {
  ref_file r = ref_load(ref_path);
  int cases = *(int32_t *)ref_get(&r, "auc_cases", 2, NULL);
  ck_assert_int_ge(cases, 9);
  for (int i = 0; i < cases; i++) {
    char name[64];
    size_t nn, np;
    snprintf(name, sizeof name, "auc%d_neg", i);
    const float *neg = ref_get(&r, name, 0, &nn);
    snprintf(name, sizeof name, "auc%d_pos", i);
    const float *pos = ref_get(&r, name, 0, &np);
    snprintf(name, sizeof name, "auc%d_expect", i);
    double want = *(double *)ref_get(&r, name, 1, NULL), got;
    ck_assert_int_eq(wmf_auc(&got, neg, nn, pos, np), WMF_OK);
    close_to(got, want, 1e-12, "auc case", i); /* exact up to the final division */
  }
  ref_free(&r);
}
END_TEST

static void check_paired(const char *tag, size_t batch) {
  ref_file r = ref_load(ref_path);
  char name[64];
#define GET(suffix, type, code) (snprintf(name, sizeof name, "%s_%s", tag, suffix), (type *)ref_get(&r, name, code, NULL))
  const int32_t *dims = GET("dims", int32_t, 2);
  size_t n = (size_t)dims[0], C = (size_t)dims[1], F = (size_t)dims[2];
  const float *cl = GET("cl", float, 0), *wl = GET("wl", float, 0), *cf = GET("cf", float, 0), *wf = GET("wf", float, 0);
  const int32_t *labels = GET("labels", int32_t, 2);
  const double *class_cols = GET("class_cols", double, 1), *chan_cols = GET("chan_cols", double, 1);
  const double *extra = GET("class_extra", double, 1), *overall = GET("overall", double, 1);
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, C, F), WMF_OK);
  for (size_t i = 0; i < n; i += batch) {
    size_t m = n - i < batch ? n - i : batch;
    ck_assert_int_eq(wmf_audit_add(a, m, cl + i * C, wl + i * C, cf + i * F, wf + i * F, labels + i), WMF_OK);
  }
  ck_assert_uint_eq(wmf_audit_num_pairs(a), n);
  double *v = malloc(sizeof(double) * (C > F ? C : F));
  static const double tol[6] = {1e-12, 1e-12, 1e-9, 1e-9, 1e-9, 1e-9};
  for (int s = 0; s < 6; s++) {
    ck_assert_int_eq(wmf_audit_scores(v, C, a, WMF_AUDIT_CLASSES, (wmf_audit_score)s), WMF_OK);
    for (size_t c = 0; c < C; c++) close_to(v[c], class_cols[c * 6 + s], tol[s], "class score", s * 100 + (int)c);
    ck_assert_int_eq(wmf_audit_scores(v, F, a, WMF_AUDIT_CHANNELS, (wmf_audit_score)s), WMF_OK);
    for (size_t c = 0; c < F; c++) close_to(v[c], chan_cols[c * 6 + s], tol[s], "channel score", s * 100 + (int)c);
  }
  for (int s = 0; s < 5; s++) {
    ck_assert_int_eq(wmf_audit_scores(v, C, a, WMF_AUDIT_CLASSES, (wmf_audit_score)(WMF_SCORE_DELTA_PROB + s)), WMF_OK);
    for (size_t c = 0; c < C; c++) close_to(v[c], extra[c * 5 + s], 1e-9, "class extra", s * 100 + (int)c);
  }
  double acc_c, acc_w;
  size_t lab;
  ck_assert_int_eq(wmf_audit_accuracy(&acc_c, &acc_w, &lab, a), WMF_OK);
  close_to(acc_c, overall[0], 1e-12, "clean accuracy", 0);
  close_to(acc_w, overall[1], 1e-12, "wm accuracy", 0);
  ck_assert_uint_eq(lab, (size_t)overall[2]);
  free(v);
  wmf_audit_destroy(a);
  ref_free(&r);
#undef GET
}

START_TEST(paired_scores_match_numpy_scipy) { check_paired("small", 777); }
END_TEST

START_TEST(paired_scores_large_n) { check_paired("big", 4096); }
END_TEST

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_audit_ref REFERENCE.bin\n");
    return 2;
  }
  ref_path = argv[1];
  Suite *s = suite_create("audit_ref");
  TCase *tc = tcase_create("reference");
  tcase_add_test(tc, auc_matches_sklearn);
  tcase_add_test(tc, paired_scores_match_numpy_scipy);
  tcase_add_test(tc, paired_scores_large_n);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
