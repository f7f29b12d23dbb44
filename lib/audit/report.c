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

static wmf_status oom(const char *fn) { return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", fn); }

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

/* {"auc": [...], ...} for one target; NULL and a recorded error on failure. */
static json_t *target_object(wmf_audit *a, wmf_audit_target t, wmf_status *st) {
  size_t n = t == WMF_AUDIT_CLASSES ? a->num_classes : a->num_features;
  int scores = t == WMF_AUDIT_CLASSES ? WMF_AUDIT_SCORE_COUNT : WMFI_AUDIT_COLUMN_SCORES;
  json_t *o = json_object();
  double *v = wmfi_alloc_array(n, sizeof *v);
  if (!o || !v) goto fail;
  if (t == WMF_AUDIT_CLASSES && a->names) {
    json_t *names = json_array();
    if (!names || json_object_set_new(o, "name", names)) goto fail;
    for (size_t i = 0; i < n; i++) {
      json_t *s = json_string(a->names[i]);
      if (!s && (*st = wmfi_utf8_require("wmf_audit_write_json", "a class name", a->names[i]))) goto out;
      if (!s || json_array_append_new(names, s)) goto fail; /* valid UTF-8: jansson ran out of memory */
    }
  }
  for (int s = 0; s < scores; s++) {
    if ((*st = wmf_audit_scores(v, n, a, t, (wmf_audit_score)s))) goto out;
    if (add_array(o, score_names[s], v, n)) goto fail;
  }
  if (add_array(o, "p_value", a->p_value[t], n) || add_array(o, "q_value", a->q_value[t], n)) goto fail;
  if (a->boot_resamples) {
    if ((*st = wmfi_audit_bootstrap(a))) goto out;
    int which = t == WMF_AUDIT_CHANNELS ? 2 : 0;
    if (add_array(o, "auc_lo", a->interval[which][0], n) || add_array(o, "auc_hi", a->interval[which][1], n)) goto fail;
    if (t == WMF_AUDIT_CLASSES &&
        (add_array(o, "delta_prob_lo", a->interval[1][0], n) || add_array(o, "delta_prob_hi", a->interval[1][1], n)))
      goto fail;
  }
  wmfi_free(v);
  return o;
fail:
  *st = oom("wmf_audit_write_json");
out:
  wmfi_free(v);
  json_decref(o);
  return NULL;
}

/* ImageNet-W's metrics of class c under the names its evaluation code prints (eval_watermark_shortcut.py),
 * with "carton" generalized to "class". */
static json_t *shortcut_object(wmf_audit *a, size_t c, wmf_status *st) {
  wmf_audit_shortcut m = WMF_AUDIT_SHORTCUT_INIT;
  if ((*st = wmf_audit_shortcut_metrics(&m, a, c))) return NULL;
  json_t *o = json_object();
  if (!o) {
    *st = oom("wmf_audit_write_json");
    return NULL;
  }
  json_object_set_new(o, "class", json_integer((json_int_t)c));
  json_object_set_new(o, "name", a->names ? json_string(a->names[c]) : json_null());
  json_object_set_new(o, "num_labelled", json_integer((json_int_t)m.num_labelled));
  json_object_set_new(o, "num_class_labelled", json_integer((json_int_t)m.num_class_labelled));
  json_object_set_new(o, "p_clean", number(m.p_clean));
  json_object_set_new(o, "p_wm", number(m.p_wm));
  json_object_set_new(o, "delta_p", number(m.delta_p));
  json_object_set_new(o, "p_clean_labelled", number(m.p_clean_labelled));
  json_object_set_new(o, "p_wm_labelled", number(m.p_wm_labelled));
  json_object_set_new(o, "delta_p_labelled", number(m.delta_p_labelled));
  json_object_set_new(o, "acc_clean", number(m.acc_clean));
  json_object_set_new(o, "acc_wm", number(m.acc_wm));
  json_object_set_new(o, "in_w_gap", number(m.acc_gap));
  json_object_set_new(o, "class_acc_clean", number(m.class_acc_clean));
  json_object_set_new(o, "class_acc_wm", number(m.class_acc_wm));
  json_object_set_new(o, "class_gap", number(m.class_gap));
  return o;
}

wmf_status wmf_audit_write_json(wmf_audit *a, const char *path) {
  WMFI_REQUIRE(a && path, "wmf_audit_write_json: NULL argument");
  wmf_status st = wmfi_audit_compute(a);
  if (st) return st;
  json_t *root = json_object(), *th = json_array(), *acc = json_object();
  if (!root || !th || !acc) goto fail;
  for (int i = 0; i < WMF_AUDIT_D_THRESHOLD_COUNT; i++) json_array_append_new(th, json_real(thresholds[i]));
  json_object_set_new(root, "format", json_string("wmfeat-audit-report"));
  json_object_set_new(root, "version", json_integer(1));
  json_object_set_new(root, "num_pairs", json_integer((json_int_t)a->n));
  json_object_set_new(root, "num_classes", json_integer((json_int_t)a->num_classes));
  json_object_set_new(root, "num_features", json_integer((json_int_t)a->num_features));
  json_object_set_new(root, "num_labelled", json_integer((json_int_t)a->labelled));
  json_object_set_new(acc, "clean", number(a->acc_clean));
  json_object_set_new(acc, "watermarked", number(a->acc_wm));
  json_object_set_new(acc, "gap", number(a->acc_wm - a->acc_clean));
  json_object_set_new(root, "accuracy", acc);
  acc = NULL;
  json_object_set_new(root, "thresholds", th);
  th = NULL;
  json_t *unc = json_pack("{s:s, s:s, s:f}", "test",
                          "Wilcoxon signed-rank, paired (clean vs watermarked value of each image), two-sided; exact for at "
                          "most 50 pairs with non-zero, untied differences, else normal approximation",
                          "correction", "Benjamini-Hochberg over all classes / all channels", "fdr", WMF_AUDIT_FDR);
  if (!unc) goto fail;
  json_object_set_new(root, "significance", unc);
  json_object_set_new(root, "bootstrap",
                      a->boot_resamples ? json_pack("{s:I, s:I, s:f, s:s}", "resamples", (json_int_t)a->boot_resamples,
                                                    "seed", (json_int_t)a->boot_seed, "level", a->boot_level, "method",
                                                    "percentile; pairs resampled with replacement")
                                        : json_null());
  if (a->num_classes == WMF_IMAGENET_CLASSES) {
    json_t *w = shortcut_object(a, WMF_IMAGENET_CARTON, &st);
    if (!w) goto out;
    json_object_set_new(root, "imagenet_w", w);
  }
  for (int t = 0; t < 2; t++) {
    size_t n = t == 0 ? a->num_classes : a->num_features;
    if (!n) continue;
    json_t *counts = json_array();
    if (!counts) goto fail;
    json_object_set_new(root, t == 0 ? "classes_above" : "channels_above", counts);
    for (int i = 0; i < WMF_AUDIT_D_THRESHOLD_COUNT; i++) {
      size_t c;
      if ((st = wmf_audit_count_above(&c, a, (wmf_audit_target)t, WMF_SCORE_D, thresholds[i]))) goto out;
      json_array_append_new(counts, json_integer((json_int_t)c));
    }
    json_t *sig = significance(a, t);
    if (!sig) goto fail;
    json_object_set_new(unc, t == 0 ? "classes" : "channels", sig);
    json_t *o = target_object(a, (wmf_audit_target)t, &st);
    if (!o) goto out;
    json_object_set_new(root, t == 0 ? "classes" : "channels", o);
  }
  char *text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
  if (!text) goto fail;
  st = wmfi_write_file_atomic(path, text, strlen(text));
  free(text);
  json_decref(root);
  return st;
fail:
  st = oom("wmf_audit_write_json");
out:
  json_decref(root);
  json_decref(th);
  json_decref(acc);
  return st;
}

/* ---- CSV ---- */

typedef struct sbuf {
  char *p;
  size_t len, cap;
  bool failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = wmfi_realloc(b->p, cap);
    if (!p) {
      b->failed = true;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_num(sbuf *b, double v) {
  char t[40];
  if (isfinite(v)) sb_put(b, t, (size_t)snprintf(t, sizeof t, ",%.17g", v));
  else sb_str(b, ","); /* an empty field: NaN for pandas and spreadsheets */
}

wmf_status wmf_audit_write_csv(wmf_audit *a, wmf_audit_target t, const char *path) {
  WMFI_REQUIRE(a && path, "wmf_audit_write_csv: NULL argument");
  WMFI_REQUIRE(t == WMF_AUDIT_CLASSES || t == WMF_AUDIT_CHANNELS, "wmf_audit_write_csv: unknown target");
  size_t n = t == WMF_AUDIT_CLASSES ? a->num_classes : a->num_features;
  int scores = t == WMF_AUDIT_CLASSES ? WMF_AUDIT_SCORE_COUNT : WMFI_AUDIT_COLUMN_SCORES;
  const double *v[WMF_AUDIT_SCORE_COUNT];
  double *all = n ? wmfi_alloc_array(n * (size_t)scores, sizeof(double)) : NULL;
  if (n && !all) return oom("wmf_audit_write_csv");
  wmf_status st = WMF_OK;
  for (int s = 0; s < scores && !st; s++) {
    st = wmf_audit_scores(all + (size_t)s * n, n, a, t, (wmf_audit_score)s);
    v[s] = all + (size_t)s * n;
  }
  if (st || !n) {
    wmfi_free(all);
    return st ? st : wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "wmf_audit_write_csv: the audit has no such target");
  }
  const double *extra[6] = {a->p_value[t], a->q_value[t]};
  static const char *const extra_names[6] = {"p_value", "q_value", "auc_lo", "auc_hi", "delta_prob_lo", "delta_prob_hi"};
  int nextra = 2;
  if (a->boot_resamples) {
    if ((st = wmfi_audit_bootstrap(a))) {
      wmfi_free(all);
      return st;
    }
    int which = t == WMF_AUDIT_CHANNELS ? 2 : 0;
    extra[2] = a->interval[which][0], extra[3] = a->interval[which][1], nextra = 4;
    if (t == WMF_AUDIT_CLASSES) extra[4] = a->interval[1][0], extra[5] = a->interval[1][1], nextra = 6;
  }
  sbuf b = {0};
  sb_str(&b, t == WMF_AUDIT_CLASSES ? "class,name" : "channel");
  for (int s = 0; s < scores; s++) sb_str(&b, ","), sb_str(&b, score_names[s]);
  for (int e = 0; e < nextra; e++) sb_str(&b, ","), sb_str(&b, extra_names[e]);
  sb_str(&b, "\n");
  for (size_t i = 0; i < n; i++) {
    char idx[32];
    sb_put(&b, idx, (size_t)snprintf(idx, sizeof idx, "%zu", i));
    if (t == WMF_AUDIT_CLASSES) {
      sb_str(&b, ",\"");
      for (const char *c = a->names ? a->names[i] : ""; *c; c++) {
        sb_put(&b, c, 1);
        if (*c == '"') sb_put(&b, "\"", 1); /* CSV doubles quotes inside quoted fields */
      }
      sb_str(&b, "\"");
    }
    for (int s = 0; s < scores; s++) sb_num(&b, v[s][i]);
    for (int e = 0; e < nextra; e++) sb_num(&b, extra[e][i]);
    sb_str(&b, "\n");
  }
  wmfi_free(all);
  if (b.failed) {
    wmfi_free(b.p);
    return oom("wmf_audit_write_csv");
  }
  st = wmfi_write_file_atomic(path, b.p, b.len);
  wmfi_free(b.p);
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

static void sb_csv_string(sbuf *b, const char *s) {
  sb_str(b, "\"");
  for (; *s; s++) {
    sb_put(b, s, 1);
    if (*s == '"') sb_put(b, "\"", 1);
  }
  sb_str(b, "\"");
}

wmf_status wmf_audit_write_pairs_csv(wmf_audit *a, const char *path, const char *const *paths, const size_t *listed,
                                     size_t num_listed) {
  WMFI_REQUIRE(a && path, "wmf_audit_write_pairs_csv: NULL argument");
  WMFI_REQUIRE(listed || !num_listed, "wmf_audit_write_pairs_csv: listed is NULL");
  size_t C = a->num_classes, n = a->n;
  WMFI_REQUIRE(C, "wmf_audit_write_pairs_csv: the audit has no classes");
  for (size_t j = 0; j < num_listed; j++)
    WMFI_REQUIRE(listed[j] < C, "wmf_audit_write_pairs_csv: listed[%zu] = %zu is not below %zu", j, listed[j], C);
  if (!n) return wmfi_fail(WMF_ERR_STATE, "wmf_audit_write_pairs_csv: no pairs have been added");
  size_t k = C < 5 ? C : 5;
  float *z = wmfi_alloc_array(2 * C, sizeof(float));
  double *p = wmfi_alloc_array(2 * C, sizeof(double));
  if (!z || !p) {
    wmfi_free(z), wmfi_free(p);
    return oom("wmf_audit_write_pairs_csv");
  }
  sbuf b = {0};
  char t[64];
  sb_str(&b, "pair,path,label");
  for (int s = 0; s < 2; s++)
    for (size_t j = 0; j < k; j++) sb_put(&b, t, (size_t)snprintf(t, sizeof t, ",%s_top%zu", s ? "wm" : "clean", j + 1));
  for (size_t j = 0; j < num_listed; j++)
    sb_put(&b, t, (size_t)snprintf(t, sizeof t, ",clean_p_%zu,wm_p_%zu", listed[j], listed[j]));
  sb_str(&b, "\n");
  for (size_t i = 0; i < n && !b.failed; i++) {
    int32_t label;
    size_t top[2][5];
    wmf_audit_get_pairs(a, i, 1, z, z + C, NULL, NULL, &label);
    row_softmax_topk(z, C, p, top[0], k);
    row_softmax_topk(z + C, C, p + C, top[1], k);
    sb_put(&b, t, (size_t)snprintf(t, sizeof t, "%zu,", i));
    if (paths && paths[i]) sb_csv_string(&b, paths[i]);
    sb_put(&b, t, (size_t)snprintf(t, sizeof t, ",%d", (int)label));
    for (int s = 0; s < 2; s++)
      for (size_t j = 0; j < k; j++) sb_put(&b, t, (size_t)snprintf(t, sizeof t, ",%zu", top[s][j]));
    for (size_t j = 0; j < num_listed; j++)
      sb_put(&b, t, (size_t)snprintf(t, sizeof t, ",%.9g,%.9g", p[listed[j]], p[C + listed[j]]));
    sb_str(&b, "\n");
  }
  wmfi_free(z), wmfi_free(p);
  if (b.failed) {
    wmfi_free(b.p);
    return oom("wmf_audit_write_pairs_csv");
  }
  wmf_status st = wmfi_write_file_atomic(path, b.p, b.len);
  wmfi_free(b.p);
  return st;
}
