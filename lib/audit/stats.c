/* Exact rank statistics: radix sort of order-preserving keys, Mann-Whitney AUC, Wilcoxon signed-rank,
 * and the moment-based effect sizes of one paired column. */
#include <math.h>
#include <string.h>

#include "audit.h"

uint64_t wmfi_audit_float_key(float v) {
  if (v == 0.0f) v = 0.0f; /* -0 and +0 compare equal, so they must share a key */
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return (u & 0x80000000u) ? (uint64_t)(~u) : (uint64_t)(u | 0x80000000u);
}

uint64_t wmfi_audit_double_key(double v) {
  if (v == 0.0) v = 0.0;
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}

void wmfi_audit_radix_sort(uint64_t *keys, uint64_t *tmp, size_t n) {
  if (n < 2) return;
  size_t count[8][256];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < 8; d++) count[d][(keys[i] >> (8 * d)) & 0xFF]++;
  uint64_t *src = keys, *dst = tmp;
  for (int d = 0; d < 8; d++) {
    size_t *c = count[d];
    if (c[(src[0] >> (8 * d)) & 0xFF] == n) continue; /* every key has this digit: nothing to do */
    size_t sum = 0;
    for (int b = 0; b < 256; b++) {
      size_t t = c[b];
      c[b] = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; i++) dst[c[(src[i] >> (8 * d)) & 0xFF]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != keys) memcpy(keys, src, n * sizeof *keys);
}

/* Twice the Mann-Whitney U of sorted b (positives) against sorted a (negatives): each positive counts
 * 2 per smaller negative and 1 per equal one, so the sum stays an exact integer. */
static uint64_t twice_u(const uint64_t *a, size_t na, const uint64_t *b, size_t nb) {
  uint64_t u2 = 0;
  size_t i = 0, j = 0;
  while (j < nb) {
    uint64_t v = b[j];
    size_t cb = 0;
    while (j < nb && b[j] == v) j++, cb++;
    while (i < na && a[i] < v) i++;
    size_t eq = i;
    while (eq < na && a[eq] == v) eq++;
    u2 += (uint64_t)cb * (2 * (uint64_t)i + (uint64_t)(eq - i));
    i = eq;
  }
  return u2;
}

double wmfi_audit_auc(const float *neg, size_t n_neg, const float *pos, size_t n_pos, uint64_t *work) {
  uint64_t *a = work, *b = work + n_neg, *tmp = work + n_neg + n_pos;
  for (size_t i = 0; i < n_neg; i++) a[i] = wmfi_audit_float_key(neg[i]);
  for (size_t i = 0; i < n_pos; i++) b[i] = wmfi_audit_float_key(pos[i]);
  wmfi_audit_radix_sort(a, tmp, n_neg);
  wmfi_audit_radix_sort(b, tmp, n_pos);
  return (double)twice_u(a, n_neg, b, n_pos) / (2.0 * (double)n_neg * (double)n_pos);
}

/* wmf_auc and wmf_auc_f64: the checks, then the sort of the keys of either precision. */
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
  if (nf) {
    *out = wmfi_audit_auc(nf, n_neg, pf, n_pos, work);
  } else {
    uint64_t *a = work, *b = work + n_neg, *tmp = work + n_neg + n_pos;
    for (size_t i = 0; i < n_neg; i++) a[i] = wmfi_audit_double_key(nd[i]);
    for (size_t i = 0; i < n_pos; i++) b[i] = wmfi_audit_double_key(pd[i]);
    wmfi_audit_radix_sort(a, tmp, n_neg);
    wmfi_audit_radix_sort(b, tmp, n_pos);
    *out = (double)twice_u(a, n_neg, b, n_pos) / (2.0 * (double)n_neg * (double)n_pos);
  }
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
    if (d > 0) p[np++] = wmfi_audit_double_key(d);
  }
  m = p + np;
  for (size_t i = 0; i < n; i++) {
    double d = (double)y[i] - (double)x[i];
    if (d < 0) m[nm++] = wmfi_audit_double_key(-d);
  }
  size_t nr = np + nm;
  if (nr == 0) return NAN;
  uint64_t *tmp = m + nm;
  wmfi_audit_radix_sort(p, tmp, np);
  wmfi_audit_radix_sort(m, tmp, nm);
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
  double auc = wmfi_audit_auc(x, n, y, n, work);
  out[WMF_SCORE_AUC] = auc;
  out[WMF_SCORE_D] = auc > 0.5 ? auc : 1 - auc;
  out[WMF_SCORE_MEAN_DIFF] = my - mx;
  out[WMF_SCORE_EFFECT_SIZE] = pooled > 0 ? (my - mx) / pooled : NAN;
  out[WMF_SCORE_PAIRED_DZ] = sd_d > 0 ? md / sd_d : NAN;
  out[WMF_SCORE_WILCOXON_Z] = wilcoxon_z(x, y, n, work);
  return WMF_OK;
}
