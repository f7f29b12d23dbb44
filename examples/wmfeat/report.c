#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json_out.h"

static const double thresholds[WMF_AUDIT_D_THRESHOLD_COUNT] = WMF_AUDIT_D_THRESHOLDS;
static const char *const rank_names[] = {"abs", "auc", "delta-p"};

const char *report_thresholds_text(void) {
  static char text[64];
  if (!text[0])
    for (int q = 0, n = 0; q < WMF_AUDIT_D_THRESHOLD_COUNT; q++)
      n += snprintf(text + n, sizeof text - (size_t)n, "%s%g", q ? " / " : "", thresholds[q]);
  return text;
}

void report_print_counts(FILE *f, const size_t counts[WMF_AUDIT_D_THRESHOLD_COUNT]) {
  for (int q = 0; q < WMF_AUDIT_D_THRESHOLD_COUNT; q++) fprintf(f, "%s%zu", q ? " / " : "", counts[q]);
}

json_t *report_counts_json(const size_t counts[WMF_AUDIT_D_THRESHOLD_COUNT]) {
  json_t *o = json_object();
  for (int q = 0; o && q < WMF_AUDIT_D_THRESHOLD_COUNT; q++) {
    char key[16];
    snprintf(key, sizeof key, "%g", thresholds[q]);
    json_object_set_new(o, key, json_integer((json_int_t)counts[q]));
  }
  return o;
}

/* ImageNet-W's metrics of carton, named as its eval_watermark_shortcut.py names them. */
typedef struct inw_row {
  const char *name;
  double value;
} inw_row;
enum { INW_ROWS = 9 };
static void inw_rows(const wmf_audit_shortcut *m, inw_row r[INW_ROWS]) {
  inw_row rows[INW_ROWS] = {{"p_carton", m->p_clean},
                            {"p_carton_watermarked", m->p_wm},
                            {"delta_p_carton", m->delta_p},
                            {"delta_p_carton_cond_carton", m->delta_p_labelled},
                            {"in_1k_acc", m->acc_clean},
                            {"in_w_acc", m->acc_wm},
                            {"in_w_gap", m->acc_gap},
                            {"carton_gap", m->class_gap},
                            {"carton_labelled", (double)m->num_class_labelled}};
  memcpy(r, rows, sizeof rows);
}

static wmf_status inw_metrics(wmf_audit *a, wmf_audit_shortcut *m) {
  *m = (wmf_audit_shortcut)WMF_AUDIT_SHORTCUT_INIT;
  return wmf_audit_shortcut_metrics(m, a, WMF_IMAGENET_CARTON);
}

static wmf_status write_inw_csv(wmf_audit *a, const char *path) {
  wmf_audit_shortcut m;
  wmf_status st = inw_metrics(a, &m);
  if (st) return st;
  inw_row r[INW_ROWS];
  inw_rows(&m, r);
  FILE *f = fopen(path, "w");
  bool ok = f && fprintf(f, "metric,value\n") > 0;
  for (int i = 0; ok && i < INW_ROWS; i++)
    ok = (isfinite(r[i].value) ? fprintf(f, "%s,%.17g\n", r[i].name, r[i].value) : fprintf(f, "%s,\n", r[i].name)) > 0;
  if (f && fclose(f) != 0) ok = false;
  if (!ok) fprintf(stderr, "error: cannot write '%s'\n", path);
  return ok ? WMF_OK : WMF_ERR_IO;
}

int report_parse_rank(const char *text, report_rank *out) {
  for (int r = 0; r < 3; r++)
    if (!strcmp(text, rank_names[r])) return *out = (report_rank)r, 0;
  fprintf(stderr, "error: unknown --rank '%s' (abs, auc or delta-p)\n", text);
  return -1;
}

const char *report_rank_name(report_rank rank) { return rank_names[rank]; }

void report_rank_order(report_rank rank, wmf_audit_target t, wmf_audit_score *score, wmf_rank_order *order) {
  *score = WMF_SCORE_AUC, *order = WMF_RANK_FROM_HALF;
  if (rank == REPORT_RANK_AUC) *order = WMF_RANK_DESCENDING;
  else if (rank == REPORT_RANK_DELTA_P && t == WMF_AUDIT_CLASSES) *score = WMF_SCORE_DELTA_PROB, *order = WMF_RANK_DESCENDING;
}

const char *report_rank_text(report_rank rank, wmf_audit_target t) {
  if (rank == REPORT_RANK_AUC) return "AUC, descending (Mark My Words)";
  if (rank == REPORT_RANK_DELTA_P && t == WMF_AUDIT_CLASSES) return "delta p, descending (ImageNet-W)";
  return "|AUC - 0.5|";
}

wmf_status report_write(wmf_audit *a, const char *dir, report_rank rank) {
  if (mkdir_p(dir)) return WMF_ERR_IO;
  char p[4096];
  wmf_status st;
#define OUT(name) (snprintf(p, sizeof p, "%s/%s", dir, name), p)
  if ((st = wmf_audit_write_json(a, OUT("report.json")))) return st;
  if (wmf_audit_num_classes(a)) {
    if ((st = wmf_audit_write_csv(a, WMF_AUDIT_CLASSES, OUT("classes.csv")))) return st;
    size_t k = wmf_audit_num_classes(a) < 20 ? wmf_audit_num_classes(a) : 20;
    wmf_rank_order auc_order = rank == REPORT_RANK_AUC ? WMF_RANK_DESCENDING : WMF_RANK_FROM_HALF;
    wmf_rank_order dp_order = rank == REPORT_RANK_DELTA_P ? WMF_RANK_DESCENDING : WMF_RANK_ABS;
    if ((st = wmf_audit_write_svg_classes(a, OUT("classes_auc.svg"), WMF_SCORE_AUC, auc_order, k))) return st;
    if ((st = wmf_audit_write_svg_classes(a, OUT("classes_delta_p.svg"), WMF_SCORE_DELTA_PROB, dp_order, k))) return st;
    if (wmf_audit_num_classes(a) == WMF_IMAGENET_CLASSES && (st = write_inw_csv(a, OUT("imagenet_w.csv")))) return st;
  }
  if (wmf_audit_num_features(a)) {
    if ((st = wmf_audit_write_csv(a, WMF_AUDIT_CHANNELS, OUT("channels.csv")))) return st;
    if ((st = wmf_audit_write_svg_histogram(a, OUT("channels_auc.svg"), WMF_AUDIT_CHANNELS, WMF_SCORE_AUC, 40))) return st;
  }
#undef OUT
  return WMF_OK;
}

/* Everything the summaries show of one target. */
typedef struct summary {
  size_t n, k, *idx;
  double *auc, *d, *dp, *dl, *q, *lo, *hi;
  bool intervals;
  size_t above[WMF_AUDIT_D_THRESHOLD_COUNT], sig_above[WMF_AUDIT_D_THRESHOLD_COUNT], significant;
} summary;

static void summary_free(summary *s) {
  free(s->idx), free(s->auc), free(s->d), free(s->dp), free(s->dl), free(s->q), free(s->lo), free(s->hi);
}

/* Bootstrap intervals are shown when the audit has a bootstrap set. */
static wmf_status summarize(wmf_audit *a, wmf_audit_target t, size_t k, report_rank rank, summary *s) {
  size_t n = t == WMF_AUDIT_CLASSES ? wmf_audit_num_classes(a) : wmf_audit_num_features(a);
  memset(s, 0, sizeof *s);
  s->n = n, s->k = k < n ? k : n;
  double **arrays[] = {&s->auc, &s->d, &s->dp, &s->dl, &s->q, &s->lo, &s->hi};
  s->idx = calloc(n + 1, sizeof *s->idx);
  for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
    if (!(*arrays[i] = calloc(n + 1, sizeof(double)))) return WMF_ERR_OUT_OF_MEMORY;
  if (!s->idx) return WMF_ERR_OUT_OF_MEMORY;
  if (n == 0) return WMF_OK;
  wmf_audit_score score;
  wmf_rank_order order;
  report_rank_order(rank, t, &score, &order);
  wmf_status st = wmf_audit_rank(s->idx, s->k, a, t, score, order);
  if (!st) st = wmf_audit_scores(s->auc, n, a, t, WMF_SCORE_AUC);
  if (!st) st = wmf_audit_scores(s->d, n, a, t, WMF_SCORE_D);
  if (!st) st = wmf_audit_scores(s->dl, n, a, t, WMF_SCORE_MEAN_DIFF);
  if (!st && t == WMF_AUDIT_CLASSES) st = wmf_audit_scores(s->dp, n, a, t, WMF_SCORE_DELTA_PROB);
  if (!st) st = wmf_audit_p_values(NULL, s->q, n, a, t);
  if (!st) {
    st = wmf_audit_interval(s->lo, s->hi, n, a, t, WMF_SCORE_AUC);
    s->intervals = st == WMF_OK;
    if (st == WMF_ERR_STATE) st = WMF_OK; /* no bootstrap set */
  }
  for (size_t i = 0; !st && i < n; i++) {
    bool sig = s->q[i] < WMF_AUDIT_FDR;
    s->significant += sig;
    for (int q = 0; q < WMF_AUDIT_D_THRESHOLD_COUNT; q++) {
      s->above[q] += s->d[i] > thresholds[q];
      s->sig_above[q] += sig && s->d[i] > thresholds[q];
    }
  }
  return st;
}

static const char *name_of(wmf_audit *a, size_t i, char *buf, size_t len) {
  const char *n = wmf_audit_class_name(a, i);
  if (n) return n;
  snprintf(buf, len, "class %zu", i);
  return buf;
}

/* The summary's table of the top classes or channels (nothing when there are none). */
static void print_top(FILE *f, wmf_audit *a, const summary *s, wmf_audit_target t, report_rank rank) {
  bool cls = t == WMF_AUDIT_CLASSES;
  if (!s->k) return;
  fprintf(f, "\n%s most moved by the watermark (ranked by %s):\n   rank %s AUC %s     d %s  q (BH)\n",
          cls ? "classes" : "feature channels", report_rank_text(rank, t),
          cls ? "class  name                          " : "channel   ", s->intervals ? "  [bootstrap CI]" : "",
          cls ? "  delta p  delta logit" : " mean diff");
  for (size_t r = 0; r < s->k; r++) {
    size_t i = s->idx[r];
    char buf[32], ci[32] = "";
    if (s->intervals) snprintf(ci, sizeof ci, " [%5.3f, %5.3f]", s->lo[i], s->hi[i]);
    if (cls) fprintf(f, "  %5zu %5zu  %-28.28s", r + 1, i, name_of(a, i, buf, sizeof buf));
    else fprintf(f, "  %5zu %7zu", r + 1, i);
    fprintf(f, " %6.3f%s %6.3f", s->auc[i], ci, s->d[i]);
    if (cls) fprintf(f, " %+9.4f %+11.3f", s->dp[i], s->dl[i]);
    else fprintf(f, " %+10.4f", s->dl[i]);
    fprintf(f, "  %7.2g\n", s->q[i]);
  }
}

/* With few pairs, large d arises by chance: the standard deviation of an AUC under no effect (Mann-Whitney,
 * two independent samples of n: var = (2n + 1) / (12 n^2)) and the share of columns expected above d = 0.7
 * by chance alone (normal approximation). A warning is due when that share exceeds 1 %. */
static double chance_share(size_t pairs, double *sd) {
  double n = (double)pairs;
  *sd = sqrt((2 * n + 1) / (12 * n * n));
  return erfc((thresholds[0] - 0.5) / *sd / sqrt(2.0));
}

wmf_status report_print(wmf_audit *a, size_t k, report_rank rank, const report_info *info, FILE *f) {
  summary c = {0}, h = {0};
  wmf_status st = summarize(a, WMF_AUDIT_CLASSES, k, rank, &c);
  if (!st) st = summarize(a, WMF_AUDIT_CHANNELS, k, rank, &h);
  size_t pairs = wmf_audit_num_pairs(a);
  if (!st) {
    fprintf(f, "%zu image pairs (clean, watermarked)", pairs);
    if (info && info->prerendered)
      fprintf(f, ", pre-rendered (--watermarked); %zu files without a partner skipped", info->unpaired);
    fputc('\n', f);
    print_top(f, a, &c, WMF_AUDIT_CLASSES, rank);
    print_top(f, a, &h, WMF_AUDIT_CHANNELS, rank);
    fprintf(f, "\n");
    for (int t = 0; t < 2; t++) {
      summary *s = t ? &h : &c;
      if (!s->n) continue;
      fprintf(f, "%s with d above %s: ", t ? "channels" : "classes", report_thresholds_text());
      report_print_counts(f, s->above);
      fprintf(f, " of %zu\n  of these significant (Benjamini-Hochberg q < %g, paired Wilcoxon signed-rank): ", s->n,
              WMF_AUDIT_FDR);
      report_print_counts(f, s->sig_above);
      fputc('\n', f);
    }
    double sd, share = chance_share(pairs, &sd);
    if (share > 0.01)
      fprintf(f, "warning: only %zu pairs: with no watermark effect at all an AUC varies with sd %.3f, and about %.0f%% of\n"
                 "         classes and channels would still show d > %g by chance. Read the significant counts and\n"
                 "         the bootstrap intervals, not the d counts alone.\n",
              pairs, sd, 100 * share, thresholds[0]);
    double ca = NAN, wa = NAN;
    size_t labelled = 0;
    if (!st && wmf_audit_num_classes(a) && !(st = wmf_audit_accuracy(&ca, &wa, &labelled, a)) && labelled)
      fprintf(f, "top-1 accuracy on %zu labelled pairs: clean %.2f%%, watermarked %.2f%% (gap %+.2f points)\n",
              labelled, 100 * ca, 100 * wa, 100 * (wa - ca));
    wmf_audit_shortcut m;
    if (!st && wmf_audit_num_classes(a) == WMF_IMAGENET_CLASSES && !(st = inw_metrics(a, &m))) {
      fprintf(f, "\nImageNet-W metrics (carton, class 478; as eval_watermark_shortcut.py reports them):\n"
                 "  mean p(carton): clean %.6f, watermarked %.6f; delta_p_carton %+.6f over %zu pairs\n",
              m.p_clean, m.p_wm, m.delta_p, m.num_pairs);
      if (m.num_class_labelled)
        fprintf(f, "  delta_p_carton_cond_carton %+.6f, carton_gap %+.4f over %zu pairs labelled carton\n",
                m.delta_p_labelled, m.class_gap, m.num_class_labelled);
      else
        fprintf(f, "  delta_p_carton_cond_carton, carton_gap: no pair is labelled carton\n");
      if (m.num_labelled) fprintf(f, "  in_w_gap %+.4f over %zu labelled pairs\n", m.acc_gap, m.num_labelled);
      else fprintf(f, "  in_w_gap: no labelled pairs\n");
    }
  }
  summary_free(&c);
  summary_free(&h);
  return st;
}

wmf_status report_print_json(wmf_audit *a, size_t k, report_rank rank, const report_info *info, FILE *f) {
  summary c = {0}, h = {0};
  wmf_status st = summarize(a, WMF_AUDIT_CLASSES, k, rank, &c);
  if (!st) st = summarize(a, WMF_AUDIT_CHANNELS, k, rank, &h);
  if (!st) {
    size_t pairs = wmf_audit_num_pairs(a);
    json_t *root = json_pack("{s:I, s:s}", "pairs", (json_int_t)pairs, "rank", report_rank_name(rank));
    json_t *tc = json_array(), *th = json_array();
    if (!root || !tc || !th) st = WMF_ERR_OUT_OF_MEMORY;
    json_object_set_new(root, "top_classes", tc);
    json_object_set_new(root, "top_channels", th);
    for (size_t r = 0; !st && r < c.k; r++) {
      size_t i = c.idx[r];
      char buf[32];
      json_t *e = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "class", (json_int_t)i, "name",
                            json_out_string(name_of(a, i, buf, sizeof buf)), "auc", json_out_number(c.auc[i]), "d", json_out_number(c.d[i]), "delta_p",
                            json_out_number(c.dp[i]), "delta_logit", json_out_number(c.dl[i]), "q_value", json_out_number(c.q[i]));
      if (e && c.intervals) json_object_set_new(e, "auc_ci", json_pack("[o, o]", json_out_number(c.lo[i]), json_out_number(c.hi[i])));
      json_array_append_new(tc, e);
    }
    for (size_t r = 0; !st && r < h.k; r++) {
      size_t i = h.idx[r];
      json_t *e = json_pack("{s:I, s:o, s:o, s:o, s:o}", "channel", (json_int_t)i, "auc", json_out_number(h.auc[i]), "d",
                            json_out_number(h.d[i]), "mean_diff", json_out_number(h.dl[i]), "q_value", json_out_number(h.q[i]));
      if (e && h.intervals) json_object_set_new(e, "auc_ci", json_pack("[o, o]", json_out_number(h.lo[i]), json_out_number(h.hi[i])));
      json_array_append_new(th, e);
    }
    for (int t = 0; !st && t < 2; t++) {
      summary *s = t ? &h : &c;
      if (!s->n) continue;
      json_object_set_new(root, t ? "channels_above" : "classes_above", report_counts_json(s->above));
      json_object_set_new(root, t ? "channels_significant_above" : "classes_significant_above", report_counts_json(s->sig_above));
    }
    if (info) {
      json_object_set_new(root, "prerendered", json_boolean(info->prerendered));
      json_object_set_new(root, "unpaired", json_integer((json_int_t)info->unpaired));
    }
    wmf_audit_shortcut m;
    if (!st && wmf_audit_num_classes(a) == WMF_IMAGENET_CLASSES && !(st = inw_metrics(a, &m))) {
      json_t *w = json_object();
      inw_row r[INW_ROWS];
      inw_rows(&m, r);
      for (int i = 0; w && i < INW_ROWS; i++) json_object_set_new(w, r[i].name, json_out_number(r[i].value));
      json_object_set_new(root, "imagenet_w", w);
    }
    double sd, share = chance_share(pairs, &sd);
    char key[48];
    snprintf(key, sizeof key, "chance_share_above_%g", thresholds[0]);
    json_object_set_new(root, key, json_out_number(share));
    if (share > 0.01)
      json_object_set_new(root, "warning", json_string("few pairs: d counts are dominated by chance; read the "
                                                       "significant counts and the bootstrap intervals"));
    if (!st && json_out_fprint(json_incref(root), f)) st = WMF_ERR_IO;
    json_decref(root);
  }
  summary_free(&c);
  summary_free(&h);
  return st;
}
