#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const double thresholds[] = {0.7, 0.8, 0.9, 0.95};

wmf_status report_write(wmf_audit *a, const char *dir) {
  if (mkdir_p(dir)) return WMF_ERR_IO;
  char p[4096];
  wmf_status st;
#define OUT(name) (snprintf(p, sizeof p, "%s/%s", dir, name), p)
  if ((st = wmf_audit_write_json(a, OUT("report.json")))) return st;
  if (wmf_audit_num_classes(a)) {
    if ((st = wmf_audit_write_csv(a, WMF_AUDIT_CLASSES, OUT("classes.csv")))) return st;
    size_t k = wmf_audit_num_classes(a) < 20 ? wmf_audit_num_classes(a) : 20;
    if ((st = wmf_audit_write_svg_classes(a, OUT("classes_auc.svg"), WMF_SCORE_AUC, WMF_RANK_FROM_HALF, k))) return st;
    if ((st = wmf_audit_write_svg_classes(a, OUT("classes_delta_p.svg"), WMF_SCORE_DELTA_PROB, WMF_RANK_ABS, k))) return st;
  }
  if (wmf_audit_num_features(a)) {
    if ((st = wmf_audit_write_csv(a, WMF_AUDIT_CHANNELS, OUT("channels.csv")))) return st;
    if ((st = wmf_audit_write_svg_histogram(a, OUT("channels_auc.svg"), WMF_AUDIT_CHANNELS, WMF_SCORE_AUC, 40))) return st;
  }
#undef OUT
  return WMF_OK;
}

typedef struct ranked {
  size_t *idx;
  double *auc, *d, *dp, *dl;
  size_t k;
} ranked;

static void ranked_free(ranked *r) {
  free(r->idx);
  free(r->auc);
  free(r->d);
  free(r->dp);
  free(r->dl);
}

/* The top k by |AUC - 0.5| with their scores. */
static wmf_status rank_target(wmf_audit *a, wmf_audit_target t, size_t k, ranked *r) {
  size_t n = t == WMF_AUDIT_CLASSES ? wmf_audit_num_classes(a) : wmf_audit_num_features(a);
  memset(r, 0, sizeof *r);
  r->k = k < n ? k : n;
  r->idx = calloc(n + 1, sizeof *r->idx);
  r->auc = calloc(n + 1, sizeof(double));
  r->d = calloc(n + 1, sizeof(double));
  r->dp = calloc(n + 1, sizeof(double));
  r->dl = calloc(n + 1, sizeof(double));
  if (!r->idx || !r->auc || !r->d || !r->dp || !r->dl) return WMF_ERR_OUT_OF_MEMORY;
  if (n == 0) return WMF_OK;
  wmf_status st = wmf_audit_rank(r->idx, r->k, a, t, WMF_SCORE_AUC, WMF_RANK_FROM_HALF);
  if (!st) st = wmf_audit_scores(r->auc, n, a, t, WMF_SCORE_AUC);
  if (!st) st = wmf_audit_scores(r->d, n, a, t, WMF_SCORE_D);
  if (!st) st = wmf_audit_scores(r->dl, n, a, t, WMF_SCORE_MEAN_DIFF);
  if (!st && t == WMF_AUDIT_CLASSES) st = wmf_audit_scores(r->dp, n, a, t, WMF_SCORE_DELTA_PROB);
  return st;
}

static const char *name_of(wmf_audit *a, size_t i, char *buf, size_t len) {
  const char *n = wmf_audit_class_name(a, i);
  if (n) return n;
  snprintf(buf, len, "class %zu", i);
  return buf;
}

wmf_status report_print(wmf_audit *a, size_t k, FILE *f) {
  ranked c = {0}, h = {0};
  wmf_status st = rank_target(a, WMF_AUDIT_CLASSES, k, &c);
  if (!st) st = rank_target(a, WMF_AUDIT_CHANNELS, k, &h);
  if (!st) {
    fprintf(f, "%zu image pairs (clean, watermarked)\n", wmf_audit_num_pairs(a));
    if (c.k) {
      fprintf(f, "\nclasses most moved by the watermark (ranked by |AUC - 0.5|):\n"
                 "   rank class  name                           AUC      d   delta p  delta logit\n");
      for (size_t r = 0; r < c.k; r++) {
        size_t i = c.idx[r];
        char buf[32];
        fprintf(f, "  %5zu %5zu  %-28.28s %6.3f %6.3f %+9.4f %+11.3f\n", r + 1, i, name_of(a, i, buf, sizeof buf),
                c.auc[i], c.d[i], c.dp[i], c.dl[i]);
      }
    }
    if (h.k) {
      fprintf(f, "\nfeature channels most moved by the watermark:\n   rank channel    AUC      d  mean diff\n");
      for (size_t r = 0; r < h.k; r++) {
        size_t i = h.idx[r];
        fprintf(f, "  %5zu %7zu %6.3f %6.3f %+10.4f\n", r + 1, i, h.auc[i], h.d[i], h.dl[i]);
      }
    }
    for (int t = 0; t < 2 && !st; t++) {
      wmf_audit_target tg = t ? WMF_AUDIT_CHANNELS : WMF_AUDIT_CLASSES;
      size_t n = t ? wmf_audit_num_features(a) : wmf_audit_num_classes(a);
      if (!n) continue;
      fprintf(f, "%s%s with d above 0.7 / 0.8 / 0.9 / 0.95:", t ? "" : "\n", t ? "channels" : "classes");
      for (size_t q = 0; q < 4 && !st; q++) {
        size_t cnt = 0;
        st = wmf_audit_count_above(&cnt, a, tg, WMF_SCORE_D, thresholds[q]);
        fprintf(f, " %s%zu", q ? "/ " : "", cnt);
      }
      fprintf(f, " of %zu\n", n);
    }
    double ca = NAN, wa = NAN;
    size_t labelled = 0;
    if (!st && wmf_audit_num_classes(a) && !(st = wmf_audit_accuracy(&ca, &wa, &labelled, a)) && labelled)
      fprintf(f, "top-1 accuracy on %zu labelled pairs: clean %.2f%%, watermarked %.2f%% (gap %+.2f points)\n",
              labelled, 100 * ca, 100 * wa, 100 * (wa - ca));
  }
  ranked_free(&c);
  ranked_free(&h);
  return st;
}

static void json_num(FILE *f, double v) {
  if (isfinite(v)) fprintf(f, "%.6g", v);
  else fputs("null", f);
}

wmf_status report_print_json(wmf_audit *a, size_t k, FILE *f) {
  ranked c = {0}, h = {0};
  wmf_status st = rank_target(a, WMF_AUDIT_CLASSES, k, &c);
  if (!st) st = rank_target(a, WMF_AUDIT_CHANNELS, k, &h);
  if (!st) {
    fprintf(f, "{\"pairs\": %zu, \"top_classes\": [", wmf_audit_num_pairs(a));
    for (size_t r = 0; r < c.k; r++) {
      size_t i = c.idx[r];
      char buf[32];
      fprintf(f, "%s{\"class\": %zu, \"name\": ", r ? ", " : "", i);
      print_json_string(f, name_of(a, i, buf, sizeof buf));
      fputs(", \"auc\": ", f), json_num(f, c.auc[i]);
      fputs(", \"d\": ", f), json_num(f, c.d[i]);
      fputs(", \"delta_p\": ", f), json_num(f, c.dp[i]);
      fputs(", \"delta_logit\": ", f), json_num(f, c.dl[i]);
      fputs("}", f);
    }
    fputs("], \"top_channels\": [", f);
    for (size_t r = 0; r < h.k; r++) {
      size_t i = h.idx[r];
      fprintf(f, "%s{\"channel\": %zu, \"auc\": ", r ? ", " : "", i);
      json_num(f, h.auc[i]);
      fputs(", \"d\": ", f), json_num(f, h.d[i]);
      fputs(", \"mean_diff\": ", f), json_num(f, h.dl[i]);
      fputs("}", f);
    }
    fputs("]", f);
    for (int t = 0; t < 2 && !st; t++) {
      wmf_audit_target tg = t ? WMF_AUDIT_CHANNELS : WMF_AUDIT_CLASSES;
      if (!(t ? wmf_audit_num_features(a) : wmf_audit_num_classes(a))) continue;
      fprintf(f, ", \"%s_above\": {", t ? "channels" : "classes");
      for (size_t q = 0; q < 4 && !st; q++) {
        size_t cnt = 0;
        st = wmf_audit_count_above(&cnt, a, tg, WMF_SCORE_D, thresholds[q]);
        fprintf(f, "%s\"%.2g\": %zu", q ? ", " : "", thresholds[q], cnt);
      }
      fputs("}", f);
    }
    fputs("}\n", f);
  }
  ranked_free(&c);
  ranked_free(&h);
  return st;
}
