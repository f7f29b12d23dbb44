/* The mitigation curve: accuracy (and optionally the head's watermark AUC) against masked fraction. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "probe_internal.h"

static void polyline(wmfi_buf *s, const double *p, const double *v, size_t n, double x0, double x1, double y0,
                     double y1, double pmax, const char *color, const char *dash) {
  wmfi_buf_printf(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" points=\"", color,
                  dash);
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i])) wmfi_buf_printf(s, "%.1f,%.1f ", x0 + p[i] / pmax * (x1 - x0), y1 - v[i] * (y1 - y0));
  wmfi_buf_printf(s, "\"/>\n");
  for (size_t i = 0; i < n; i++)
    if (isfinite(v[i]))
      wmfi_buf_printf(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x0 + p[i] / pmax * (x1 - x0),
                      y1 - v[i] * (y1 - y0), color);
}

/* Checks that the n fractions ascend within [0, 1]. */
static wmf_status check_fractions(const double *p, size_t n, const char *fn) {
  for (size_t i = 0; i < n; i++)
    WMFI_REQUIRE(p[i] >= 0 && p[i] <= 1 && (i == 0 || p[i] >= p[i - 1]),
                 "%s: fractions must ascend within [0, 1] (p[%zu] = %g)", fn, i, p[i]);
  return WMF_OK;
}

/* The horizontal grid of a [0, 1] axis from y1 (0) up to y0 (1), labelled every 0.1; `mark_half` draws
 * the 0.5 line (chance for an AUC) dashed red. */
static void unit_grid(wmfi_buf *s, double x0, double x1, double y0, double y1, bool mark_half) {
  for (int i = 0; i <= 10; i++) {
    double y = y1 - i / 10.0 * (y1 - y0);
    char lab[16];
    snprintf(lab, sizeof lab, "%.1f", i / 10.0);
    wmfi_svg_line(s, x0, y, x1, y, mark_half && i == 5 ? "stroke=\"#c0392b\" stroke-dasharray=\"6 4\"" : "stroke=\"#eee\"");
    wmfi_svg_text(s, x0 - 6, y + 4, "end", 11, lab);
  }
}

wmf_status wmf_probe_write_curve_svg(const char *path, const char *title, const double *p, const double *clean,
                                     const double *wm, const double *extra, const char *extra_name, size_t n) {
  WMFI_REQUIRE(path && p && clean && wm && (!extra || extra_name), "wmf_probe_write_curve_svg: NULL argument");
  WMFI_REQUIRE(n >= 1 && n <= 1000, "wmf_probe_write_curve_svg: %zu points not in 1..1000", n);
  wmf_status st = check_fractions(p, n, "wmf_probe_write_curve_svg");
  if (st) return st;
  int W = 760, H = 460;
  double x0 = 70, x1 = W - 30, y0 = 50, y1 = H - 90;
  double pmax = p[n - 1] > 0 ? p[n - 1] : 1;
  wmfi_buf s;
  wmfi_svg_begin(&s, W, H, title ? title : "Accuracy against masked fraction");
  unit_grid(&s, x0, x1, y0, y1, false);
  double t = wmfi_svg_tick(pmax, 6);
  for (double v = 0; v <= pmax + 1e-9; v += t) {
    double x = x0 + v / pmax * (x1 - x0);
    char lab[16];
    snprintf(lab, sizeof lab, "%g", v);
    wmfi_svg_line(&s, x, y0, x, y1, "stroke=\"#eee\"");
    wmfi_svg_text(&s, x, y1 + 16, "middle", 11, lab);
  }
  wmfi_buf_printf(&s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n", x0,
                  y0, x1 - x0, y1 - y0);
  polyline(&s, p, clean, n, x0, x1, y0, y1, pmax, "#2e6da4", "none");
  polyline(&s, p, wm, n, x0, x1, y0, y1, pmax, "#c0392b", "none");
  if (extra) polyline(&s, p, extra, n, x0, x1, y0, y1, pmax, "#555555", "6 4");
  wmfi_svg_text(&s, (x0 + x1) / 2, y1 + 36, "middle", 12, "fraction of feature channels masked (p)");
  double ly = H - 22, lx = x0;
  const char *names[3] = {"clean accuracy", "watermarked accuracy", extra_name};
  const char *colors[3] = {"#2e6da4", "#c0392b", "#555555"};
  for (int i = 0; i < (extra ? 3 : 2); i++) {
    char attrs[96];
    snprintf(attrs, sizeof attrs, "stroke=\"%s\" stroke-width=\"2\"%s", colors[i], i == 2 ? " stroke-dasharray=\"6 4\"" : "");
    wmfi_svg_line(&s, lx, ly - 4, lx + 24, ly - 4, attrs);
    wmfi_svg_text(&s, lx + 30, ly, "start", 12, names[i]);
    lx += 50 + 6.8 * (double)strlen(names[i]); /* about the advance of 12 px sans text */
  }
  return wmfi_svg_finish(&s, path);
}

wmf_status wmf_probe_write_auc_distribution_svg(const char *path, const char *title, const double *p, size_t n,
                                                const double *aucs, size_t K) {
  WMFI_REQUIRE(path && p && aucs, "wmf_probe_write_auc_distribution_svg: NULL argument");
  WMFI_REQUIRE(n >= 1 && n <= 200 && K >= 1 && K <= WMFI_PROBE_MAX_DIM,
               "wmf_probe_write_auc_distribution_svg: %zu fractions (1..200), %zu logits", n, K);
  wmf_status st = check_fractions(p, n, "wmf_probe_write_auc_distribution_svg");
  if (st) return st;
  double *v = wmfi_alloc_array(K, sizeof *v);
  if (!v) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_probe_write_auc_distribution_svg: out of memory");
  int slot = 64, W = 100 + (int)n * slot + 30, H = 460;
  if (W < 560) W = 560;
  double x0 = 70, y0 = 50, y1 = H - 80, bw = slot * 0.5;
  wmfi_buf s;
  wmfi_svg_begin(&s, W, H, title ? title : "Head logit AUCs (clean vs watermarked) per masked fraction");
  unit_grid(&s, x0, x0 + (double)n * slot, y0, y1, true);
  for (size_t i = 0; i < n; i++) {
    size_t m = 0;
    for (size_t k = 0; k < K; k++)
      if (!isnan(aucs[i * K + k])) v[m++] = aucs[i * K + k];
    double xc = x0 + ((double)i + 0.5) * slot;
    char lab[32];
    snprintf(lab, sizeof lab, "%g", p[i]);
    wmfi_svg_text(&s, xc, y1 + 16, "middle", 11, lab);
    if (!m) continue;
    wmfi_sort_doubles(v, m);
    double q[5] = {v[0], wmfi_quantile_sorted(v, m, 0.25, 0), wmfi_quantile_sorted(v, m, 0.5, 0),
                   wmfi_quantile_sorted(v, m, 0.75, 0), v[m - 1]};
#define Y(a) (y1 - (a) * (y1 - y0))
    wmfi_svg_line(&s, xc, Y(q[0]), xc, Y(q[4]), "stroke=\"black\"");
    wmfi_buf_printf(&s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#b0c4de\" stroke=\"black\">"
                        "<title>p = %g: median %.3f, quartiles %.3f, %.3f</title></rect>\n",
                    xc - bw / 2, Y(q[3]), bw, Y(q[1]) - Y(q[3]), p[i], q[2], q[1], q[3]);
    wmfi_svg_line(&s, xc - bw / 2, Y(q[2]), xc + bw / 2, Y(q[2]), "stroke=\"black\" stroke-width=\"2\"");
    for (size_t k = 0; k < m; k++) /* every AUC as a dot, spread sideways by its rank */
      wmfi_buf_printf(&s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#333\" fill-opacity=\"0.6\"/>\n",
                      xc - bw / 2 + bw * ((double)k + 0.5) / (double)m, Y(v[k]));
#undef Y
  }
  wmfi_svg_text(&s, x0 + (double)n * slot / 2, y1 + 40, "middle", 12, "fraction of feature channels masked (p)");
  wmfi_buf_printf(&s, "<g transform=\"rotate(-90 20 %.1f)\">", (y0 + y1) / 2);
  wmfi_svg_text(&s, 20, (y0 + y1) / 2, "middle", 12, "head logit AUC, clean vs watermarked");
  wmfi_buf_printf(&s, "</g>\n");
  wmfi_free(v);
  return wmfi_svg_finish(&s, path);
}
