/* JSON and CSV reports of every score. The library writes files only when asked, never prints. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"

static const char *const score_names[WMF_AUDIT_SCORE_COUNT] = {
    "auc", "d", "mean_diff", "effect_size", "paired_dz", "wilcoxon_z",
    "delta_prob", "delta_top1", "clean_acc", "wm_acc", "acc_gap", "clean_prob", "wm_prob", "delta_prob_labelled"};
static const double thresholds[WMF_AUDIT_D_THRESHOLD_COUNT] = WMF_AUDIT_D_THRESHOLDS;

static json_t *number(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* o[name] = the n numbers of v (null for NaN). Nonzero on failure. */
static int add_array(json_t *o, const char *name, const double *v, size_t n) {
  json_t *arr = json_array();
  if (!arr || json_object_set_new(o, name, arr)) return -1;
  for (size_t i = 0; i < n; i++)
    if (json_array_append_new(arr, number(v[i]))) return -1;
  return 0;
}

/* Counts of significant columns (q < WMF_AUDIT_FDR): all, and among those with d above each threshold. */
static json_t *significance(const wmf_audit *a, int t) {
  size_t n = t ? a->num_features : a->num_classes, all = 0, above[WMF_AUDIT_D_THRESHOLD_COUNT] = {0};
  const double *q = a->q_value[t], *d = t ? a->channel_scores[WMF_SCORE_D] : a->class_scores[WMF_SCORE_D];
  for (size_t i = 0; i < n; i++) {
    if (!(q[i] < WMF_AUDIT_FDR)) continue;
    all++;
    for (int k = 0; k < WMF_AUDIT_D_THRESHOLD_COUNT; k++) above[k] += d[i] > thresholds[k];
  }
  json_t *o = json_object(), *arr = json_array();
  if (!o || !arr) return json_decref(o), json_decref(arr), NULL;
  for (int k = 0; k < WMF_AUDIT_D_THRESHOLD_COUNT; k++) json_array_append_new(arr, json_integer((json_int_t)above[k]));
  json_object_set_new(o, "significant", json_integer((json_int_t)all));
  json_object_set_new(o, "significant_above", arr);
  return o;
}

#define OOM(fn) WMFI_FAIL(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", (fn))

/* {"auc": [...], ...} for one target into *out. */
static wmf_status target_object(json_t **out, wmf_audit *a, wmf_audit_target t) {
  static const char fn[] = "wmf_audit_write_json";
  size_t n = t == WMF_AUDIT_CLASSES ? a->num_classes : a->num_features;
  int scores = t == WMF_AUDIT_CLASSES ? WMF_AUDIT_SCORE_COUNT : WMFI_AUDIT_COLUMN_SCORES;
  wmf_status st = WMF_OK;
  json_t *o = json_object();
  double *v = wmfi_alloc_array(n, sizeof *v);
  if (!o || !v) OOM(fn);
  if (t == WMF_AUDIT_CLASSES && a->names) {
    json_t *names = json_array();
    if (json_object_set_new(o, "name", names)) OOM(fn);
    for (size_t i = 0; i < n; i++) {
      json_t *s = json_string(a->names[i]);
      if (!s) WMFI_TRY(wmfi_utf8_require(fn, "a class name", a->names[i]));
      if (json_array_append_new(names, s)) OOM(fn); /* valid UTF-8: jansson ran out of memory */
    }
  }
  for (int s = 0; s < scores; s++) {
    WMFI_TRY(wmf_audit_scores(v, n, a, t, (wmf_audit_score)s));
    if (add_array(o, score_names[s], v, n)) OOM(fn);
  }
  if (add_array(o, "p_value", a->p_value[t], n) || add_array(o, "q_value", a->q_value[t], n)) OOM(fn);
  if (a->boot_resamples) {
    WMFI_TRY(wmfi_audit_bootstrap(a));
    int which = t == WMF_AUDIT_CHANNELS ? 2 : 0;
    if (add_array(o, "auc_lo", a->interval[which][0], n) || add_array(o, "auc_hi", a->interval[which][1], n)) OOM(fn);
    if (t == WMF_AUDIT_CLASSES &&
        (add_array(o, "delta_prob_lo", a->interval[1][0], n) || add_array(o, "delta_prob_hi", a->interval[1][1], n)))
      OOM(fn);
  }
  *out = o;
  o = NULL;
done:
  wmfi_free(v);
  json_decref(o);
  return st;
}

/* ImageNet-W's metrics of class c under the names its evaluation code prints (eval_watermark_shortcut.py),
 * with "carton" generalized to "class". */
static wmf_status shortcut_object(json_t **out, wmf_audit *a, size_t c) {
  wmf_audit_shortcut m = WMF_AUDIT_SHORTCUT_INIT;
  wmf_status st = wmf_audit_shortcut_metrics(&m, a, c);
  if (st) return st;
  json_t *o = json_pack("{s:I, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                        "class", (json_int_t)c, "name", a->names ? json_string(a->names[c]) : json_null(),
                        "num_labelled", (json_int_t)m.num_labelled, "num_class_labelled",
                        (json_int_t)m.num_class_labelled, "p_clean", number(m.p_clean), "p_wm", number(m.p_wm),
                        "delta_p", number(m.delta_p), "p_clean_labelled", number(m.p_clean_labelled), "p_wm_labelled",
                        number(m.p_wm_labelled), "delta_p_labelled", number(m.delta_p_labelled), "acc_clean",
                        number(m.acc_clean), "acc_wm", number(m.acc_wm), "in_w_gap", number(m.acc_gap),
                        "class_acc_clean", number(m.class_acc_clean), "class_acc_wm", number(m.class_acc_wm),
                        "class_gap", number(m.class_gap));
  if (!o) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_write_json: out of memory");
  *out = o;
  return WMF_OK;
}

/* root[key] = value (taken); nonzero when either is missing or the object cannot grow. */
static int put(json_t *root, const char *key, json_t *value) { return json_object_set_new(root, key, value); }

wmf_status wmf_audit_write_json(wmf_audit *a, const char *path) {
  static const char fn[] = "wmf_audit_write_json";
  WMFI_REQUIRE(a && path, "%s: NULL argument", fn);
  wmf_status st = WMF_OK;
  char *text = NULL;
  json_t *root = json_object(), *th = json_array(), *unc = NULL, *o = NULL;
  WMFI_TRY(wmfi_audit_compute(a));
  for (int i = 0; i < WMF_AUDIT_D_THRESHOLD_COUNT; i++)
    if (json_array_append_new(th, json_real(thresholds[i]))) OOM(fn);
  unc = json_pack("{s:s, s:s, s:f}", "test",
                  "Wilcoxon signed-rank, paired (clean vs watermarked value of each image), two-sided; exact for at "
                  "most 50 pairs with non-zero, untied differences, else normal approximation",
                  "correction", "Benjamini-Hochberg over all classes / all channels", "fdr", WMF_AUDIT_FDR);
  /* put() takes its value; th and unc are added with a reference of their own, dropped at done */
  if (put(root, "format", json_string("wmfeat-audit-report")) || put(root, "version", json_integer(1)) ||
      put(root, "num_pairs", json_integer((json_int_t)a->n)) ||
      put(root, "num_classes", json_integer((json_int_t)a->num_classes)) ||
      put(root, "num_features", json_integer((json_int_t)a->num_features)) ||
      put(root, "num_labelled", json_integer((json_int_t)a->labelled)) ||
      put(root, "accuracy", json_pack("{s:o, s:o, s:o}", "clean", number(a->acc_clean), "watermarked",
                                      number(a->acc_wm), "gap", number(a->acc_wm - a->acc_clean))) ||
      json_object_set(root, "thresholds", th) || json_object_set(root, "significance", unc) ||
      put(root, "bootstrap", a->boot_resamples ? json_pack("{s:I, s:I, s:f, s:s}", "resamples",
                                                           (json_int_t)a->boot_resamples, "seed", (json_int_t)a->boot_seed,
                                                           "level", a->boot_level, "method",
                                                           "percentile; pairs resampled with replacement")
                                               : json_null()))
    OOM(fn);
  if (a->num_classes == WMF_IMAGENET_CLASSES) {
    WMFI_TRY(shortcut_object(&o, a, WMF_IMAGENET_CARTON));
    if (put(root, "imagenet_w", o)) OOM(fn);
  }
  for (int t = 0; t < 2; t++) {
    size_t n = t == 0 ? a->num_classes : a->num_features;
    if (!n) continue;
    json_t *counts = json_array();
    if (put(root, t == 0 ? "classes_above" : "channels_above", counts)) OOM(fn);
    for (int i = 0; i < WMF_AUDIT_D_THRESHOLD_COUNT; i++) {
      size_t c;
      WMFI_TRY(wmf_audit_count_above(&c, a, (wmf_audit_target)t, WMF_SCORE_D, thresholds[i]));
      if (json_array_append_new(counts, json_integer((json_int_t)c))) OOM(fn);
    }
    if (put(unc, t == 0 ? "classes" : "channels", significance(a, t))) OOM(fn);
    WMFI_TRY(target_object(&o, a, (wmf_audit_target)t));
    if (put(root, t == 0 ? "classes" : "channels", o)) OOM(fn);
  }
  WMFI_ALLOC(text, json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17)), fn);
  st = wmfi_write_file_atomic(path, text, strlen(text));
done:
  free(text);
  json_decref(th), json_decref(unc);
  json_decref(root);
  return st;
}

/* ---- CSV ---- */

/* ",value" with 17 significant digits, or an empty field (NaN for pandas and spreadsheets). */
static void csv_number(wmfi_buf *b, double v) {
  if (isfinite(v)) wmfi_buf_printf(b, ",%.17g", v);
  else wmfi_buf_str(b, ",");
}

/* A quoted CSV field; quotes inside are doubled. */
static void csv_string(wmfi_buf *b, const char *s) {
  wmfi_buf_str(b, "\"");
  for (; *s; s++) {
    wmfi_buf_put(b, s, 1);
    if (*s == '"') wmfi_buf_put(b, "\"", 1);
  }
  wmfi_buf_str(b, "\"");
}

wmf_status wmf_audit_write_csv(wmf_audit *a, wmf_audit_target t, const char *path) {
  static const char fn[] = "wmf_audit_write_csv";
  WMFI_REQUIRE(a && path, "%s: NULL argument", fn);
  WMFI_REQUIRE(t == WMF_AUDIT_CLASSES || t == WMF_AUDIT_CHANNELS, "%s: unknown target", fn);
  size_t n = t == WMF_AUDIT_CLASSES ? a->num_classes : a->num_features;
  WMFI_REQUIRE(n, "%s: the audit has no such target", fn);
  int scores = t == WMF_AUDIT_CLASSES ? WMF_AUDIT_SCORE_COUNT : WMFI_AUDIT_COLUMN_SCORES;
  wmf_status st = WMF_OK;
  wmfi_buf b = {0};
  double *all;
  WMFI_ALLOC(all, wmfi_alloc_array(n * (size_t)scores, sizeof(double)), fn);
  for (int s = 0; s < scores; s++) WMFI_TRY(wmf_audit_scores(all + (size_t)s * n, n, a, t, (wmf_audit_score)s));
  const double *extra[6] = {a->p_value[t], a->q_value[t]};
  static const char *const extra_names[6] = {"p_value", "q_value", "auc_lo", "auc_hi", "delta_prob_lo", "delta_prob_hi"};
  int nextra = 2;
  if (a->boot_resamples) {
    WMFI_TRY(wmfi_audit_bootstrap(a));
    int which = t == WMF_AUDIT_CHANNELS ? 2 : 0;
    extra[2] = a->interval[which][0], extra[3] = a->interval[which][1], nextra = 4;
    if (t == WMF_AUDIT_CLASSES) extra[4] = a->interval[1][0], extra[5] = a->interval[1][1], nextra = 6;
  }
  wmfi_buf_str(&b, t == WMF_AUDIT_CLASSES ? "class,name" : "channel");
  for (int s = 0; s < scores; s++) wmfi_buf_printf(&b, ",%s", score_names[s]);
  for (int e = 0; e < nextra; e++) wmfi_buf_printf(&b, ",%s", extra_names[e]);
  wmfi_buf_str(&b, "\n");
  for (size_t i = 0; i < n; i++) {
    wmfi_buf_printf(&b, "%zu", i);
    if (t == WMF_AUDIT_CLASSES) wmfi_buf_str(&b, ","), csv_string(&b, a->names ? a->names[i] : "");
    for (int s = 0; s < scores; s++) csv_number(&b, all[(size_t)s * n + i]);
    for (int e = 0; e < nextra; e++) csv_number(&b, extra[e][i]);
    wmfi_buf_str(&b, "\n");
  }
  st = wmfi_buf_write_file(&b, path, fn);
done:
  wmfi_buf_free(&b);
  wmfi_free(all);
  return st;
}

/* ---- one row per pair ---- */

/* Softmax of one row of logits (double, max-shifted as in class_softmax_stats) and its top-k indices,
 * ties to the lower index as torch.topk on distinct values and argmax do. */
static void row_softmax_topk(const float *z, size_t C, double *p, size_t *top, size_t k) {
  double mx = z[0], sum = 0;
  for (size_t c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
  for (size_t c = 0; c < C; c++) sum += exp((double)z[c] - mx);
  for (size_t c = 0; c < C; c++) p[c] = exp((double)z[c] - mx) / sum;
  for (size_t j = 0; j < k; j++) {
    size_t best = C;
    for (size_t c = 0; c < C; c++) {
      bool taken = false;
      for (size_t q = 0; q < j && !taken; q++) taken = top[q] == c;
      if (!taken && (best == C || z[c] > z[best])) best = c;
    }
    top[j] = best;
  }
}

wmf_status wmf_audit_write_pairs_csv(wmf_audit *a, const char *path, const char *const *paths, const size_t *listed,
                                     size_t num_listed) {
  static const char fn[] = "wmf_audit_write_pairs_csv";
  WMFI_REQUIRE(a && path, "%s: NULL argument", fn);
  WMFI_REQUIRE(listed || !num_listed, "%s: listed is NULL", fn);
  size_t C = a->num_classes, n = a->n;
  WMFI_REQUIRE(C, "%s: the audit has no classes", fn);
  for (size_t j = 0; j < num_listed; j++)
    WMFI_REQUIRE(listed[j] < C, "%s: listed[%zu] = %zu is not below %zu", fn, j, listed[j], C);
  if (!n) return wmfi_fail(WMF_ERR_STATE, "%s: no pairs have been added", fn);
  size_t k = C < 5 ? C : 5;
  wmf_status st = WMF_OK;
  wmfi_buf b = {0};
  float *z = NULL;
  double *p = NULL;
  WMFI_ALLOC(z, wmfi_alloc_array(2 * C, sizeof(float)), fn);
  WMFI_ALLOC(p, wmfi_alloc_array(2 * C, sizeof(double)), fn);
  wmfi_buf_str(&b, "pair,path,label");
  for (int s = 0; s < 2; s++)
    for (size_t j = 0; j < k; j++) wmfi_buf_printf(&b, ",%s_top%zu", s ? "wm" : "clean", j + 1);
  for (size_t j = 0; j < num_listed; j++) wmfi_buf_printf(&b, ",clean_p_%zu,wm_p_%zu", listed[j], listed[j]);
  wmfi_buf_str(&b, "\n");
  for (size_t i = 0; i < n && !b.failed; i++) {
    int32_t label;
    size_t top[2][5];
    wmf_audit_get_pairs(a, i, 1, z, z + C, NULL, NULL, &label);
    row_softmax_topk(z, C, p, top[0], k);
    row_softmax_topk(z + C, C, p + C, top[1], k);
    wmfi_buf_printf(&b, "%zu,", i);
    if (paths && paths[i]) csv_string(&b, paths[i]);
    wmfi_buf_printf(&b, ",%d", (int)label);
    for (int s = 0; s < 2; s++)
      for (size_t j = 0; j < k; j++) wmfi_buf_printf(&b, ",%zu", top[s][j]);
    for (size_t j = 0; j < num_listed; j++) wmfi_buf_printf(&b, ",%.9g,%.9g", p[listed[j]], p[C + listed[j]]);
    wmfi_buf_str(&b, "\n");
  }
  st = wmfi_buf_write_file(&b, path, fn);
done:
  wmfi_buf_free(&b);
  wmfi_free(z), wmfi_free(p);
  return st;
}
