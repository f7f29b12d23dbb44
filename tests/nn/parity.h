/* Shared by the nn tests: reading reference tensors and comparing with the tolerance. */
#ifndef WMF_TESTS_NN_PARITY_H
#define WMF_TESTS_NN_PARITY_H
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wmfeat.h"

static inline float *ref_get(const wmf_weights *w, const char *name, size_t *count) {
  size_t idx;
  wmf_tensor_info info;
  ck_assert_msg(wmf_weights_find(w, name, &idx) == WMF_OK, "reference tensor %s missing", name);
  ck_assert_int_eq(wmf_weights_info(w, idx, &info), WMF_OK);
  float *v = malloc(info.numel * sizeof *v);
  ck_assert_int_eq(wmf_weights_get_f32(w, name, v, info.numel), WMF_OK);
  if (count) *count = info.numel;
  return v;
}

/* max|got - want| <= rel * max|want| + abs; returns the relative deviation max|d| / max|want|. */
static inline double compare(const char *what, const float *got, const float *want, size_t n, double rel,
                             double abs_tol) {
  double dmax = 0, vmax = 0;
  for (size_t i = 0; i < n; i++) {
    ck_assert_msg(isfinite(got[i]), "%s[%zu] is not finite", what, i);
    double d = fabs((double)got[i] - want[i]);
    if (d > dmax) dmax = d;
    if (fabs(want[i]) > vmax) vmax = fabs(want[i]);
  }
  ck_assert_msg(dmax <= rel * vmax + abs_tol, "%s: max|delta| %.3g > %.1g * max|value| %.3g + %.1g", what, dmax, rel,
                vmax, abs_tol);
  return vmax > 0 ? dmax / vmax : dmax;
}

static inline void top5(const float *v, size_t n, size_t out[5]) {
  for (int k = 0; k < 5; k++) {
    size_t best = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
      int taken = 0;
      for (int j = 0; j < k; j++) taken |= out[j] == i;
      if (!taken && (best == (size_t)-1 || v[i] > v[best])) best = i;
    }
    out[k] = best;
  }
}
#endif
