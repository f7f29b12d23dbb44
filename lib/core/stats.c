/* Quantiles and sorting of doubles (core.h). */
#include "core.h"

#include <math.h>
#include <stdlib.h>

double wmfi_quantile_sorted(const double *v, size_t n, double q, int fused) {
  double pos = q * (double)(n - 1);
  size_t below = (size_t)pos; /* truncation = floor for pos >= 0, as torch's toType(kLong) */
  size_t above = (size_t)ceil(pos);
  if (above > n - 1) above = n - 1;
  if (below > above) below = above;
  double w = pos - (double)below, a = v[below], b = v[above];
  double diff = b - a;
  if (fused) return fabs(w) < 0.5 ? fma(w, diff, a) : fma(-diff, 1.0 - w, b);
  return fabs(w) < 0.5 ? a + w * diff : b - diff * (1.0 - w);
}

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

void wmfi_sort_doubles(double *v, size_t n) {
  if (n > 1) qsort(v, n, sizeof *v, cmp_double);
}
