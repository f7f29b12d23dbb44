/* wmf_auc, the Wilcoxon signed-rank z and the moment-based effect sizes of one paired column (the keys,
 * the radix sort and the exact AUC are lib/core's). */
#include <math.h>
#include <string.h>

#include "audit_internal.h"

/* wmf_auc and wmf_auc_f64: the checks, then the exact AUC of either precision. */
static wmf_status auc_any(double *out, const float *nf, const double *nd, size_t n_neg, const float *pf,
                          const double *pd, size_t n_pos, const char *fn) {
  WMFI_REQUIRE(out, "%s: out is NULL", fn);
  *out = NAN;
  bool have_neg = nf || nd, have_pos = pf || pd;
  WMFI_REQUIRE((have_neg || !n_neg) && (have_pos || !n_pos), "%s: NULL sample", fn);
  WMFI_REQUIRE(n_neg && n_pos, "%s: the AUC is undefined with an empty sample (%zu negatives, %zu positives)", fn,
               n_neg, n_pos);
  for (size_t i = 0; i < n_neg; i++)
    if (nf ? isnan(nf[i]) : isnan(nd[i])) return wmfi_fail(WMF_ERR_NUMERIC, "%s: neg[%zu] is NaN", fn, i);
  for (size_t i = 0; i < n_pos; i++)
    if (pf ? isnan(pf[i]) : isnan(pd[i])) return wmfi_fail(WMF_ERR_NUMERIC, "%s: pos[%zu] is NaN", fn, i);
  size_t total;
  if (!wmfi_add(n_neg, n_pos, &total) || !wmfi_add(total, total, &total))
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: sizes overflow", fn);
  uint64_t *work = wmfi_alloc_array(total, sizeof *work);
  if (!work) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu values", fn, total);
  *out = nf ? wmfi_auc(nf, n_neg, pf, n_pos, work) : wmfi_auc_f64(nd, n_neg, pd, n_pos, work);
  wmfi_free(work);
  return WMF_OK;
}

wmf_status wmf_auc(double *out, const float *neg, size_t n_neg, const float *pos, size_t n_pos) {
  return auc_any(out, neg, NULL, n_neg, pos, NULL, n_pos, "wmf_auc");
}

wmf_status wmf_auc_f64(double *out, const double *neg, size_t n_neg, const double *pos, size_t n_pos) {
  return auc_any(out, NULL, neg, n_neg, NULL, pos, n_pos, "wmf_auc_f64");
}

/* Wilcoxon signed-rank z of the differences y - x (zeros dropped, mid-ranks for ties, tie-corrected
 * variance, no continuity correction: scipy.stats.wilcoxon(y, x, zero_method="wilcox",
 * correction=False, method="approx")), signed so that positive means y > x. */
static double wilcoxon_z(const float *x, const float *y, size_t n, uint64_t *work) {
  uint64_t *p = work, *m;
  size_t np = 0, nm = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)y[i] - (double)x[i];
    if (d > 0) p[np++] = wmfi_double_key(d);
  }
  m = p + np;
  for (size_t i = 0; i < n; i++) {
    double d = (double)y[i] - (double)x[i];
    if (d < 0) m[nm++] = wmfi_double_key(-d);
  }
  size_t nr = np + nm;
  if (nr == 0) return NAN;
  uint64_t *tmp = m + nm;
  wmfi_radix_sort(p, tmp, np);
  wmfi_radix_sort(m, tmp, nm);
  /* walk both sorted lists in value order, group ties, give each group its mid-rank */
  double w_plus2 = 0, ties = 0; /* twice W+, sum of t^3 - t */
  size_t i = 0, j = 0, rank = 0;
  while (i < np || j < nm) {
    uint64_t v = (j >= nm || (i < np && p[i] <= m[j])) ? p[i] : m[j];
    size_t cp = 0, cm = 0;
    while (i < np && p[i] == v) i++, cp++;
    while (j < nm && m[j] == v) j++, cm++;
    double t = (double)(cp + cm);
    w_plus2 += (double)cp * (2.0 * (double)rank + t + 1.0); /* cp * 2 * mid-rank */
    ties += t * t * t - t;
    rank += cp + cm;
  }
  double dn = (double)nr;
  double mean = dn * (dn + 1) / 4, var = dn * (dn + 1) * (2 * dn + 1) / 24 - ties / 48;
  if (!(var > 0)) return NAN;
  return (w_plus2 / 2 - mean) / sqrt(var);
}

wmf_status wmfi_audit_column_stats(double out[WMFI_AUDIT_COLUMN_SCORES], const float *x, const float *y,
                                   size_t n, uint64_t *work) {
  double sx = 0, sy = 0;
  for (size_t i = 0; i < n; i++) sx += x[i], sy += y[i];
  double mx = sx / (double)n, my = sy / (double)n, md = 0;
  for (size_t i = 0; i < n; i++) md += (double)y[i] - (double)x[i];
  md /= (double)n;
  double vx = 0, vy = 0, vd = 0;
  for (size_t i = 0; i < n; i++) {
    double a = x[i] - mx, b = y[i] - my, d = ((double)y[i] - (double)x[i]) - md;
    vx += a * a, vy += b * b, vd += d * d;
  }
  double dof = (double)n - 1;
  double pooled = n > 1 ? sqrt((vx / dof + vy / dof) / 2) : NAN;
  double sd_d = n > 1 ? sqrt(vd / dof) : NAN;
  double auc = wmfi_auc(x, n, y, n, work);
  out[WMF_SCORE_AUC] = auc;
  out[WMF_SCORE_D] = auc > 0.5 ? auc : 1 - auc;
  out[WMF_SCORE_MEAN_DIFF] = my - mx;
  out[WMF_SCORE_EFFECT_SIZE] = pooled > 0 ? (my - mx) / pooled : NAN;
  out[WMF_SCORE_PAIRED_DZ] = sd_d > 0 ? md / sd_d : NAN;
  out[WMF_SCORE_WILCOXON_Z] = wilcoxon_z(x, y, n, work);
  return WMF_OK;
}
