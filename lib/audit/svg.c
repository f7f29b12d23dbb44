/* The audit's figures: a bar chart of the most affected classes, a histogram of a score, the threshold
 * counts of several reports. Written with lib/core's SVG pieces (plain SVG 1.1, no scripts or external
 * resources, so browsers and rsvg-convert show it). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"

/* The natural axis and baseline of a score. */
static void score_axis(wmf_audit_score sc, const double *v, size_t n, double *lo, double *hi, double *base) {
  if (sc == WMF_SCORE_AUC) { *lo = 0, *hi = 1, *base = 0.5; return; }
  if (sc == WMF_SCORE_D) { *lo = 0.5, *hi = 1, *base = 0.5; return; }
  double mn = 0, mx = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) mn = v[i] < mn ? v[i] : mn, mx = v[i] > mx ? v[i] : mx;
  if (mx == mn) mx = mn + 1;
  double t = wmfi_svg_tick(mx - mn, 5);
  *lo = floor(mn / t) * t, *hi = ceil(mx / t) * t, *base = 0;
}

static const char *score_title(wmf_audit_score s) {
  static const char *const t[WMF_AUDIT_SCORE_COUNT] = {
      "ROC-AUC (watermarked vs clean)", "sensitivity d = max(AUC, 1 - AUC)", "mean difference (wm - clean)",
      "effect size (Cohen's d)", "paired d_z", "Wilcoxon signed-rank z", "delta softmax probability (wm - clean)",
      "delta share of top-1 predictions", "clean accuracy", "watermarked accuracy", "accuracy gap (wm - clean)",
      "mean softmax probability, clean", "mean softmax probability, watermarked",
      "delta softmax probability over the images labelled with the class"};
  return t[s];
}

void wmfi_audit_order_text(char *buf, size_t len, wmf_audit_score sc, wmf_rank_order order) {
  static const char *const short_names[WMF_AUDIT_SCORE_COUNT] = {
      "AUC", "d", "mean difference", "effect size", "d_z", "Wilcoxon z", "delta p", "delta top-1 share",
      "clean accuracy", "watermarked accuracy", "accuracy gap"};
  const char *name = (int)sc >= 0 && (int)sc < WMF_AUDIT_SCORE_COUNT ? short_names[sc] : "?";
  switch (order) {
  case WMF_RANK_DESCENDING: snprintf(buf, len, "%s, descending", name); break;
  case WMF_RANK_ASCENDING: snprintf(buf, len, "%s, ascending", name); break;
  case WMF_RANK_ABS: snprintf(buf, len, "|%s|", name); break;
  default: snprintf(buf, len, "|%s - 0.5|", name); break;
  }
}

static void x_axis(wmfi_buf *s, double x0, double x1, double y, double lo, double hi, double y_top) {
  double t = wmfi_svg_tick(hi - lo, 5);
  wmfi_svg_line(s, x0, y, x1, y, "stroke=\"black\"");
  for (double v = ceil(lo / t - 1e-9) * t; v <= hi + 1e-9 * t; v += t) {
    double x = x0 + (v - lo) / (hi - lo) * (x1 - x0);
    char lab[32];
    snprintf(lab, sizeof lab, "%g", fabs(v) < 1e-12 ? 0.0 : v);
    wmfi_svg_line(s, x, y_top, x, y, "stroke=\"#ddd\"");
    wmfi_svg_text(s, x, y + 16, "middle", 11, lab);
  }
}

wmf_status wmf_audit_write_svg_classes(wmf_audit *a, const char *path, wmf_audit_score score, wmf_rank_order order,
                                       size_t k) {
  WMFI_REQUIRE(a && path, "wmf_audit_write_svg_classes: NULL argument");
  WMFI_REQUIRE(k >= 1 && k <= 100 && k <= a->num_classes, "wmf_audit_write_svg_classes: k = %zu not in 1..min(100, %zu)",
               k, a->num_classes);
  size_t C = a->num_classes, idx[100];
  wmf_status st = WMF_OK;
  double *v;
  WMFI_ALLOC(v, wmfi_alloc_array(C, sizeof *v), "wmf_audit_write_svg_classes");
  WMFI_TRY(wmf_audit_scores(v, C, a, WMF_AUDIT_CLASSES, score));
  WMFI_TRY(wmf_audit_rank(idx, k, a, WMF_AUDIT_CLASSES, score, order));
  double lo, hi, base;
  score_axis(score, v, C, &lo, &hi, &base);
  int W = 760, row = 22, top = 50, H = top + (int)k * row + 50;
  double x0 = 230, x1 = W - 70;
  wmfi_buf s;
  char title[160];
  char ranking[64];
  wmfi_audit_order_text(ranking, sizeof ranking, score, order);
  snprintf(title, sizeof title, "Top %zu classes ranked by %s (%zu pairs)", k, ranking, a->n);
  wmfi_svg_begin(&s, W, H, title);
  double yb = top + k * row + 6;
  x_axis(&s, x0, x1, yb, lo, hi, top - 4);
  double xb = x0 + (base - lo) / (hi - lo) * (x1 - x0);
  for (size_t r = 0; r < k; r++) {
    size_t c = idx[r];
    double val = v[c], y = top + r * row;
    double xv = isfinite(val) ? x0 + (fmin(fmax(val, lo), hi) - lo) / (hi - lo) * (x1 - x0) : xb;
    const char *fill = val >= base ? "#c0392b" : "#2e6da4";
    wmfi_buf_printf(&s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", fmin(xb, xv),
                    y + 3, fabs(xv - xb), row - 6, fill);
    char lab[200], num[40];
    const char *name = wmf_audit_class_name(a, c);
    snprintf(lab, sizeof lab, "%zu", c);
    if (name && strcmp(name, lab)) snprintf(lab, sizeof lab, "%zu %s", c, name); /* no "8 8" for digit names */
    wmfi_svg_text(&s, x0 - 6, y + row - 7, "end", 12, lab);
    snprintf(num, sizeof num, score == WMF_SCORE_AUC || score == WMF_SCORE_D ? "%.3f" : "%+.3g", val);
    wmfi_svg_text(&s, x1 + 6, y + row - 7, "start", 11, num);
  }
  wmfi_svg_line(&s, xb, top - 4, xb, yb, "stroke=\"black\"");
  wmfi_svg_text(&s, (x0 + x1) / 2, H - 10, "middle", 12, score_title(score));
  st = wmfi_svg_finish(&s, path);
done:
  wmfi_free(v);
  return st;
}

wmf_status wmf_audit_write_svg_histogram(wmf_audit *a, const char *path, wmf_audit_target target,
                                         wmf_audit_score score, size_t bins) {
  WMFI_REQUIRE(a && path, "wmf_audit_write_svg_histogram: NULL argument");
  WMFI_REQUIRE(bins >= 1 && bins <= 1000, "wmf_audit_write_svg_histogram: %zu bins not in 1..1000", bins);
  size_t n = target == WMF_AUDIT_CHANNELS ? a->num_features : a->num_classes;
  wmf_status st = WMF_OK;
  double *v = NULL;
  size_t *count = NULL;
  WMFI_ALLOC(v, wmfi_alloc_array(n ? n : 1, sizeof *v), "wmf_audit_write_svg_histogram");
  WMFI_ALLOC(count, wmfi_calloc(bins, sizeof *count), "wmf_audit_write_svg_histogram");
  WMFI_TRY(wmf_audit_scores(v, n, a, target, score));
  double lo, hi, base;
  score_axis(score, v, n, &lo, &hi, &base);
  size_t maxc = 1, finite = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(v[i])) continue;
    finite++;
    size_t b = (size_t)((v[i] - lo) / (hi - lo) * (double)bins);
    if (b >= bins) b = bins - 1;
    if (++count[b] > maxc) maxc = count[b];
  }
  int W = 760, H = 420;
  double x0 = 70, x1 = W - 30, y0 = 50, y1 = H - 60;
  wmfi_buf s;
  char title[200];
  snprintf(title, sizeof title, "%s of %zu %s (%zu pairs)", score_title(score), finite,
           target == WMF_AUDIT_CHANNELS ? "feature channels" : "classes", a->n);
  wmfi_svg_begin(&s, W, H, title);
  x_axis(&s, x0, x1, y1, lo, hi, y0);
  double yt = wmfi_svg_tick((double)maxc, 5);
  for (double c = 0; c <= maxc + 1e-9; c += yt) {
    double y = y1 - c / (double)maxc * (y1 - y0);
    char lab[32];
    snprintf(lab, sizeof lab, "%g", c);
    wmfi_svg_text(&s, x0 - 6, y + 4, "end", 11, lab);
    wmfi_svg_line(&s, x0, y, x1, y, "stroke=\"#eee\"");
  }
  double bw = (x1 - x0) / (double)bins;
  for (size_t b = 0; b < bins; b++) {
    if (!count[b]) continue;
    double h = (double)count[b] / (double)maxc * (y1 - y0);
    wmfi_buf_printf(&s, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#2e6da4\" stroke=\"white\" "
                        "stroke-width=\"0.5\"/>\n", x0 + b * bw, y1 - h, bw, h);
  }
  if (score == WMF_SCORE_AUC || score == WMF_SCORE_D) { /* Mark My Words' thresholds on d */
    static const double th[WMF_AUDIT_D_THRESHOLD_COUNT] = WMF_AUDIT_D_THRESHOLDS;
    for (int i = 0; i < WMF_AUDIT_D_THRESHOLD_COUNT; i++)
      for (int side = 0; side < (score == WMF_SCORE_AUC ? 2 : 1); side++) {
        double t = side ? 1 - th[i] : th[i], x = x0 + (t - lo) / (hi - lo) * (x1 - x0);
        char lab[16];
        snprintf(lab, sizeof lab, "%g", t);
        wmfi_svg_line(&s, x, y0, x, y1, "stroke=\"#c0392b\" "
                            "stroke-dasharray=\"4 3\"");
        wmfi_svg_text(&s, x, y0 - 4, "middle", 10, lab);
      }
  }
  wmfi_svg_text(&s, (x0 + x1) / 2, H - 20, "middle", 12, score_title(score));
  wmfi_buf_printf(&s, "<text x=\"18\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
                      "transform=\"rotate(-90 18 %.1f)\">count</text>\n", (y0 + y1) / 2, (y0 + y1) / 2);
  st = wmfi_svg_finish(&s, path);
done:
  wmfi_free(v), wmfi_free(count);
  return st;
}

wmf_status wmf_write_svg_threshold_counts(const char *path, const char *title, const char *y_label,
                                          const char *const *labels, const double *values, size_t n) {
  enum { T = WMF_AUDIT_D_THRESHOLD_COUNT };
  WMFI_REQUIRE(path && labels && values, "wmf_write_svg_threshold_counts: NULL argument");
  WMFI_REQUIRE(n >= 1 && n <= 200, "wmf_write_svg_threshold_counts: %zu reports not in 1..200", n);
  double vmax = 0;
  for (size_t i = 0; i < n; i++) {
    WMFI_REQUIRE(labels[i], "wmf_write_svg_threshold_counts: labels[%zu] is NULL", i);
    for (int t = 0; t < T; t++) {
      double v = values[i * T + t];
      WMFI_REQUIRE(isfinite(v) && v >= 0, "wmf_write_svg_threshold_counts: values[%zu][%d] = %g", i, t, v);
      vmax = fmax(vmax, v);
    }
  }
  static const double th[T] = WMF_AUDIT_D_THRESHOLDS;
  static const char *const fill[4] = {"#e6e6fa", "#b0c4de", "#6495ed", "#191970"}; /* the paper's colours */
  double step = wmfi_svg_tick(vmax > 0 ? vmax : 1, 5), top = ceil((vmax > 0 ? vmax * 1.08 : 1) / step) * step;
  int W = 120 + (int)n * 46 + 40, H = 440;
  if (W < 560) W = 560;
  double x0 = 80, y0 = 60, y1 = H - 120, slot = (W - x0 - 40) / (double)n, bw = fmin(slot * 0.62, 60);
  wmfi_buf s;
  wmfi_svg_begin(&s, W, H, title ? title : "Watermark-sensitive classes per model");
  for (double v = 0; v <= top + 1e-9 * step; v += step) {
    double y = y1 - v / top * (y1 - y0);
    char lab[32];
    snprintf(lab, sizeof lab, "%g", v);
    wmfi_svg_line(&s, x0, y, x0 + (double)n * slot, y, "stroke=\"#ddd\"");
    wmfi_svg_text(&s, x0 - 6, y + 4, "end", 11, lab);
  }
  for (size_t i = 0; i < n; i++) {
    double xc = x0 + ((double)i + 0.5) * slot;
    for (int t = 0; t < T; t++) {
      double v = values[i * T + t], h = v / top * (y1 - y0);
      wmfi_buf_printf(&s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" stroke=\"black\" "
                          "stroke-width=\"0.8\"><title>d &gt; %g: %g</title></rect>\n",
                      xc - bw / 2, y1 - h, bw, h, fill[t], th[t], v);
    }
    char num[32];
    snprintf(num, sizeof num, "%g", values[i * T]);
    wmfi_svg_text(&s, xc, y1 - values[i * T] / top * (y1 - y0) - 4, "middle", 10, num);
    wmfi_buf_printf(&s, "<g transform=\"translate(%.1f %.1f) rotate(-35)\">", xc + 4, y1 + 12);
    wmfi_svg_text(&s, 0, 0, "end", 11, labels[i]);
    wmfi_buf_printf(&s, "</g>\n");
  }
  wmfi_svg_line(&s, x0, y1, x0 + (double)n * slot, y1, "stroke=\"black\"");
  wmfi_buf_printf(&s, "<g transform=\"rotate(-90 20 %.1f)\">", (y0 + y1) / 2);
  wmfi_svg_text(&s, 20, (y0 + y1) / 2, "middle", 12, y_label ? y_label : "number of classes");
  wmfi_buf_printf(&s, "</g>\n");
  double lx = x0;
  for (int t = 0; t < T; t++) {
    char lab[32];
    snprintf(lab, sizeof lab, "d > %g", th[t]);
    wmfi_buf_printf(&s, "<rect x=\"%.1f\" y=\"40\" width=\"14\" height=\"10\" fill=\"%s\" stroke=\"black\" "
                        "stroke-width=\"0.8\"/>\n", lx, fill[t]);
    wmfi_svg_text(&s, lx + 18, 49, "start", 11, lab);
    lx += 90;
  }
  return wmfi_svg_finish(&s, path);
}
