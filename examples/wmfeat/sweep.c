#include "sweep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json_out.h"

int sweep_parse_fractions(sweep_spec *s, const char *text) {
  s->n_p = 0;
  const char *c = text;
  while (*c) {
    char *end;
    double v = strtod(c, &end);
    if (end == c || !(v >= 0 && v <= 1) || (s->n_p && v <= s->p[s->n_p - 1]) || s->n_p == SWEEP_MAX_P) {
      fprintf(stderr, "error: --fractions: '%s' is not an ascending list of at most %d fractions in [0, 1]\n", text,
              SWEEP_MAX_P);
      return -1;
    }
    s->p[s->n_p++] = v;
    c = *end == ',' ? end + 1 : end;
    if (*end && *end != ',') return fprintf(stderr, "error: --fractions: unexpected '%s'\n", end), -1;
  }
  if (!s->n_p) return fprintf(stderr, "error: --fractions is empty\n"), -1;
  return 0;
}

typedef struct point {
  size_t masked;
  double threshold, clean, wm, auc_dev, auc_median;
  bool converged;
  uint32_t iterations;
  double *aucs;   /* classes */
  size_t *masked_idx;
} point;

static double median_of(const double *v, size_t n) {
  double *t = malloc(n * sizeof *t);
  if (!t) return NAN;
  memcpy(t, v, n * sizeof *t);
  for (size_t i = 1; i < n; i++) /* insertion sort: n is the number of classes */
    for (size_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
      double x = t[j];
      t[j] = t[j - 1], t[j - 1] = x;
    }
  double m = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
  free(t);
  return m;
}

/* One point of the sweep. */
static wmf_status run_point(const sweep_spec *s, double p, point *pt) {
  wmf_mask *mask = NULL;
  wmf_probe *head = NULL;
  wmf_status st = s->quantile ? wmf_mask_quantile(&mask, s->channel_auc, s->features, s->rank, p)
                              : wmf_mask_top_fraction(&mask, s->channel_auc, s->features, s->rank, p);
  if (st) return st;
  pt->masked = wmf_mask_count(mask);
  pt->threshold = wmf_mask_threshold_used(mask);
  pt->masked_idx = malloc((pt->masked + 1) * sizeof(size_t));
  pt->aucs = malloc(s->classes * sizeof(double));
  if (!pt->masked_idx || !pt->aucs) st = WMF_ERR_OUT_OF_MEMORY;
  if (!st) st = wmf_mask_indices(pt->masked_idx, pt->masked, mask);
  if (!st) {
    st = wmf_probe_train(&head, s->train, s->train_labels, s->n_train, s->features, s->classes, mask, s->options);
    if (st == WMF_ERR_LIMIT && head) { /* not converged: keep the head reached, say so */
      fprintf(stderr, "warning: p = %g: %s\n", p, wmf_last_error());
      st = WMF_OK;
    }
  }
  int conv = 0;
  if (!st) st = wmf_probe_training_info(&pt->iterations, &conv, NULL, NULL, head);
  pt->converged = conv;
  if (!st) st = wmf_probe_accuracy(&pt->clean, head, s->test, s->test_labels, s->n_test);
  pt->wm = pt->auc_dev = pt->auc_median = NAN;
  for (size_t k = 0; k < s->classes && pt->aucs; k++) pt->aucs[k] = NAN;
  if (!st && s->test_wm) {
    st = wmf_probe_accuracy(&pt->wm, head, s->test_wm, s->test_wm_labels, s->n_test_wm);
    if (!st) st = wmf_probe_logit_auc(pt->aucs, s->classes, head, s->test, s->n_test, s->test_wm, s->n_test_wm);
    if (!st) {
      double dev = 0;
      for (size_t k = 0; k < s->classes; k++) dev += fabs(pt->aucs[k] - 0.5);
      pt->auc_dev = dev / (double)s->classes;
      pt->auc_median = median_of(pt->aucs, s->classes);
    }
  }
  wmf_probe_destroy(head);
  wmf_mask_destroy(mask);
  return st;
}

int sweep_run(const sweep_spec *s) {
  point *pts = calloc(s->n_p, sizeof *pts);
  if (!pts || mkdir_p(s->out)) return free(pts), EXIT_RUNTIME;
  int rc = EXIT_OK;
  for (size_t i = 0; i < s->n_p && !rc; i++) {
    if (!s->quiet && !s->json) fprintf(stderr, "... p = %g\n", s->p[i]);
    wmf_status st = run_point(s, s->p[i], &pts[i]);
    if (st) {
      char what[64];
      snprintf(what, sizeof what, "sweep at p = %g", s->p[i]);
      rc = fail_status(st, what);
    }
  }
  char path[4200];
  const char *rule = s->quantile ? "quantile" : "count";
  if (!rc) { /* sweep.csv and sweep_aucs.csv */
    snprintf(path, sizeof path, "%s/sweep.csv", s->out);
    FILE *f = fopen(path, "w");
    if (f) {
      fprintf(f, "p,masked,threshold,clean_accuracy,watermarked_accuracy,mean_abs_auc_minus_half,median_auc,converged,iterations\n");
      for (size_t i = 0; i < s->n_p; i++) {
        point *q = &pts[i];
        fprintf(f, "%.17g,%zu,", s->p[i], q->masked);
        double v[5] = {q->threshold, q->clean, q->wm, q->auc_dev, q->auc_median};
        for (int j = 0; j < 5; j++) isfinite(v[j]) ? fprintf(f, "%.17g,", v[j]) : fprintf(f, ",");
        fprintf(f, "%d,%u\n", q->converged, q->iterations);
      }
    }
    if (!f || fclose(f)) rc = (fprintf(stderr, "error: cannot write '%s'\n", path), EXIT_RUNTIME);
  }
  if (!rc && s->test_wm) {
    snprintf(path, sizeof path, "%s/sweep_aucs.csv", s->out);
    FILE *f = fopen(path, "w");
    if (f) {
      fprintf(f, "p,logit,auc\n");
      for (size_t i = 0; i < s->n_p; i++)
        for (size_t k = 0; k < s->classes; k++) fprintf(f, "%.17g,%zu,%.17g\n", s->p[i], k, pts[i].aucs[k]);
    }
    if (!f || fclose(f)) rc = (fprintf(stderr, "error: cannot write '%s'\n", path), EXIT_RUNTIME);
  }
  json_t *root = NULL;
  if (!rc) {
    json_t *points = json_array();
    root = json_pack("{s:s, s:i, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:o}", "format", "wmfeat-sweep", "version", 1,
                     "rule", rule, "rank", s->rank == WMF_MASK_BY_VALUE ? "auc" : "abs", "channel_aucs", json_out_string(s->auc_source),
                     "train", (json_int_t)s->n_train, "test", (json_int_t)s->n_test, "test_watermarked",
                     (json_int_t)s->n_test_wm, "features", (json_int_t)s->features, "classes", (json_int_t)s->classes,
                     "points", points);
    for (size_t i = 0; root && i < s->n_p; i++) {
      point *q = &pts[i];
      json_t *idx = json_array(), *aucs = json_array();
      for (size_t j = 0; idx && j < q->masked; j++) json_array_append_new(idx, json_integer((json_int_t)q->masked_idx[j]));
      for (size_t k = 0; aucs && s->test_wm && k < s->classes; k++) json_array_append_new(aucs, json_out_number(q->aucs[k]));
      json_array_append_new(points, json_pack("{s:f, s:I, s:o, s:o, s:o, s:o, s:o, s:b, s:I, s:o, s:o}", "p", s->p[i],
                                              "masked", (json_int_t)q->masked, "threshold", json_out_number(q->threshold),
                                              "clean_accuracy", json_out_number(q->clean), "watermarked_accuracy", json_out_number(q->wm),
                                              "mean_abs_auc_minus_half", json_out_number(q->auc_dev), "median_auc",
                                              json_out_number(q->auc_median), "converged", q->converged, "iterations",
                                              (json_int_t)q->iterations, "logit_auc", s->test_wm ? aucs : json_null(),
                                              "masked_channels", idx));
      if (!s->test_wm) json_decref(aucs);
    }
    snprintf(path, sizeof path, "%s/sweep.json", s->out);
    rc = json_out_write(json_incref(root), path);
  }
  if (!rc) { /* figures */
    double clean[SWEEP_MAX_P], wm[SWEEP_MAX_P], dev[SWEEP_MAX_P];
    for (size_t i = 0; i < s->n_p; i++) clean[i] = pts[i].clean, wm[i] = pts[i].wm, dev[i] = pts[i].auc_dev;
    char title[160];
    snprintf(title, sizeof title, "Linear head on features with the top p masked (%s rule, by %s)", rule,
             s->rank == WMF_MASK_BY_VALUE ? "AUC" : "|AUC - 0.5|");
    snprintf(path, sizeof path, "%s/sweep_curve.svg", s->out);
    wmf_status st = wmf_probe_write_curve_svg(path, title, s->p, clean, wm, s->test_wm ? dev : NULL,
                                              "mean |AUC - 0.5| of the head's logits", s->n_p);
    if (!st && s->test_wm) {
      double *all = malloc(s->n_p * s->classes * sizeof *all);
      if (!all) st = WMF_ERR_OUT_OF_MEMORY;
      for (size_t i = 0; all && i < s->n_p; i++) memcpy(all + i * s->classes, pts[i].aucs, s->classes * sizeof *all);
      snprintf(path, sizeof path, "%s/sweep_auc_distribution.svg", s->out);
      if (!st) st = wmf_probe_write_auc_distribution_svg(path, NULL, s->p, s->n_p, all, s->classes);
      free(all);
    }
    if (st) rc = fail_status(st, path);
  }
  if (!rc && s->json) rc = json_out_print(json_incref(root));
  else if (!rc && !s->quiet) {
    printf("mitigation sweep: %zu classes, %zu features; channels ranked by %s from %s, %s rule\n", s->classes,
           s->features, s->rank == WMF_MASK_BY_VALUE ? "AUC" : "|AUC - 0.5|", s->auc_source, rule);
    printf("        p  masked   clean acc   watermarked acc   mean |AUC - 0.5|   median AUC\n");
    for (size_t i = 0; i < s->n_p; i++)
      printf("  %7.3g  %6zu   %8.2f%%   %14.2f%%   %16.3f   %10.3f%s\n", s->p[i], pts[i].masked, 100 * pts[i].clean,
             100 * pts[i].wm, pts[i].auc_dev, pts[i].auc_median, pts[i].converged ? "" : "  (not converged)");
    printf("\nwrote %s/sweep.csv, sweep.json, sweep_aucs.csv, sweep_curve.svg, sweep_auc_distribution.svg\n", s->out);
  }
  json_decref(root);
  for (size_t i = 0; i < s->n_p; i++) free(pts[i].aucs), free(pts[i].masked_idx);
  free(pts);
  return rc;
}
