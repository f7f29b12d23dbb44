/* wmfeat compare: several audit reports (models, watermark scripts) side by side, as Mark My Words'
 * figure: how many classes have d above each threshold, per report (and the share of channels), in
 * CSV, JSON and SVG. */
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "json_out.h"

enum { T = WMF_AUDIT_D_THRESHOLD_COUNT, MAX_REPORTS = 200 };
static const double thresholds[T] = WMF_AUDIT_D_THRESHOLDS;

typedef struct entry {
  char path[4096], label[256];
  json_int_t pairs, classes, features;
  double cls[T], cls_sig[T], ch[T], ch_pct[T];
  bool has_sig;
} entry;

/* Reads n integers of array `key` of `o` into v. -1 when missing or malformed. */
static int read_counts(json_t *o, const char *key, double *v) {
  json_t *a = json_object_get(o, key);
  if (!json_is_array(a) || json_array_size(a) != T) return -1;
  for (size_t i = 0; i < T; i++) {
    json_t *x = json_array_get(a, i);
    if (!json_is_integer(x) || json_integer_value(x) < 0) return -1;
    v[i] = (double)json_integer_value(x);
  }
  return 0;
}

static int bad(const char *path, const char *what) {
  fprintf(stderr, "error: %s: %s\n", path, what);
  return EXIT_RUNTIME;
}

static int load_entry(entry *e, const char *arg) {
  struct stat st;
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(e->path, sizeof e->path, "%s/report.json", arg);
  else snprintf(e->path, sizeof e->path, "%s", arg);
  json_error_t err;
  json_t *root = json_load_file(e->path, JSON_REJECT_DUPLICATES, &err);
  if (!root) {
    fprintf(stderr, "error: %s: %s (line %d)\n", e->path, err.text, err.line);
    return EXIT_RUNTIME;
  }
  int rc = EXIT_OK;
  json_t *fmt = json_object_get(root, "format"), *th = json_object_get(root, "thresholds");
  if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "wmfeat-audit-report"))
    rc = bad(e->path, "field \"format\" is not \"wmfeat-audit-report\" (give the report.json of wmfeat audit or merge)");
  else if (!json_is_array(th) || json_array_size(th) != T)
    rc = bad(e->path, "field \"thresholds\" is not an array of 4 thresholds");
  for (size_t i = 0; !rc && i < T; i++)
    if (json_number_value(json_array_get(th, i)) != thresholds[i]) {
      fprintf(stderr, "error: %s: field \"thresholds\"[%zu] is %g, this program compares counts at d above 0.7, "
                      "0.8, 0.9, 0.95\n", e->path, i, json_number_value(json_array_get(th, i)));
      rc = EXIT_RUNTIME;
    }
  if (!rc) {
    e->pairs = json_integer_value(json_object_get(root, "num_pairs"));
    e->classes = json_integer_value(json_object_get(root, "num_classes"));
    e->features = json_integer_value(json_object_get(root, "num_features"));
    for (int t = 0; t < T; t++) e->cls[t] = e->ch[t] = e->ch_pct[t] = e->cls_sig[t] = NAN;
    if (e->classes && read_counts(root, "classes_above", e->cls)) rc = bad(e->path, "field \"classes_above\" is malformed");
    if (!rc && e->features && read_counts(root, "channels_above", e->ch)) rc = bad(e->path, "field \"channels_above\" is malformed");
    for (int t = 0; t < T && e->features; t++) e->ch_pct[t] = 100.0 * e->ch[t] / (double)e->features;
    json_t *sig = json_object_get(json_object_get(root, "significance"), "classes");
    e->has_sig = sig && !read_counts(sig, "significant_above", e->cls_sig);
  }
  if (!rc && !e->label[0]) { /* the folder holding report.json */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", e->path);
    snprintf(e->label, sizeof e->label, "%s", basename(dirname(tmp)));
  }
  json_decref(root);
  return rc;
}

static json_t *numbers(const double *v, bool integers) {
  json_t *a = json_array();
  for (int t = 0; a && t < T; t++)
    json_array_append_new(a, integers && isfinite(v[t]) ? json_integer((json_int_t)v[t]) : json_out_number(v[t]));
  return a;
}

static void csv_numbers(FILE *f, const double *v) {
  for (int t = 0; t < T; t++)
    if (isfinite(v[t])) fprintf(f, ",%.10g", v[t]);
    else fputs(",", f);
}

int cmd_compare(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *out = "wmfeat-compare", *labels = NULL, *title = NULL;
  arg_spec specs[] = {{"out", ARG_STRING, &out, "output folder (default wmfeat-compare)"},
                      {"labels", ARG_STRING, &labels, "comma-separated names of the reports (default: their folders)"},
                      {"title", ARG_STRING, &title, "figure title"},
                      COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat compare REPORT... [--labels a,b,...] [--out DIR]\n"
                      "  REPORT: report.json of wmfeat audit / merge, or its folder; one per model or script.\n"
                      "  Writes compare.csv, compare.json, compare_classes.svg and compare_channels.svg";
  static const char *pos[MAX_REPORTS];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 1, MAX_REPORTS, &np, &o, &rc)) return rc;
  entry *e = calloc((size_t)np, sizeof *e);
  if (!e) return fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME;
  if (labels) {
    char *copy = strdup(labels), *save = NULL;
    int i = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), i++)
      if (i < np) snprintf(e[i].label, sizeof e[i].label, "%s", tok);
    free(copy);
    if (i != np) {
      fprintf(stderr, "error: --labels has %d names for %d reports\n", i, np);
      free(e);
      return EXIT_USAGE;
    }
  }
  for (int i = 0; i < np && !rc; i++) rc = load_entry(&e[i], pos[i]);
  bool all_classes = true, all_features = true;
  for (int i = 0; i < np && !rc; i++) {
    all_classes &= e[i].classes > 0, all_features &= e[i].features > 0;
    if (e[i].classes != e[0].classes)
      fprintf(stderr, "warning: %s has %lld classes, %s %lld: the class counts compare different sets\n", e[i].path,
              (long long)e[i].classes, e[0].path, (long long)e[0].classes);
  }
  if (!rc && mkdir_p(out)) rc = EXIT_RUNTIME;
  char path[4200];
  if (!rc) { /* CSV */
    snprintf(path, sizeof path, "%s/compare.csv", out);
    FILE *f = fopen(path, "w");
    if (!f) rc = bad(path, "cannot write");
    else {
      fputs("label,report,num_pairs,num_classes", f);
      for (int t = 0; t < T; t++) fprintf(f, ",classes_above_%g", thresholds[t]);
      for (int t = 0; t < T; t++) fprintf(f, ",classes_significant_above_%g", thresholds[t]);
      fputs(",num_features", f);
      for (int t = 0; t < T; t++) fprintf(f, ",channels_above_%g", thresholds[t]);
      for (int t = 0; t < T; t++) fprintf(f, ",channels_percent_above_%g", thresholds[t]);
      fputs("\n", f);
      for (int i = 0; i < np; i++) {
        fputc('"', f);
        for (const char *c = e[i].label; *c; c++) fprintf(f, *c == '"' ? "\"\"" : "%c", *c);
        fputs("\",\"", f);
        for (const char *c = e[i].path; *c; c++) fprintf(f, *c == '"' ? "\"\"" : "%c", *c);
        fprintf(f, "\",%lld,%lld", (long long)e[i].pairs, (long long)e[i].classes);
        csv_numbers(f, e[i].cls), csv_numbers(f, e[i].cls_sig);
        fprintf(f, ",%lld", (long long)e[i].features);
        csv_numbers(f, e[i].ch), csv_numbers(f, e[i].ch_pct);
        fputs("\n", f);
      }
      if (fclose(f)) rc = bad(path, "cannot write");
    }
  }
  json_t *root = NULL;
  if (!rc) { /* JSON */
    json_t *reports = json_array(), *th = json_array();
    for (int t = 0; th && t < T; t++) json_array_append_new(th, json_real(thresholds[t]));
    root = json_pack("{s:s, s:i, s:o, s:o}", "format", "wmfeat-compare", "version", 1, "thresholds", th, "reports", reports);
    for (int i = 0; root && i < np; i++)
      json_array_append_new(reports, json_pack("{s:o, s:o, s:I, s:I, s:o, s:o, s:I, s:o, s:o}", "label", json_out_string(e[i].label),
                                               "report", json_out_string(e[i].path), "num_pairs", e[i].pairs, "num_classes", e[i].classes,
                                               "classes_above", numbers(e[i].cls, true), "classes_significant_above",
                                               e[i].has_sig ? numbers(e[i].cls_sig, true) : json_null(), "num_features",
                                               e[i].features, "channels_above", numbers(e[i].ch, true),
                                               "channels_percent_above", numbers(e[i].ch_pct, false)));
    snprintf(path, sizeof path, "%s/compare.json", out);
    rc = json_out_write(json_incref(root), path);
  }
  const char **names = calloc((size_t)np, sizeof *names);
  double *v = calloc((size_t)np * T, sizeof *v);
  if (!rc && (!names || !v)) rc = (fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME);
  for (int fig = 0; fig < 2 && !rc; fig++) { /* SVG: classes (counts), channels (percent) */
    if (fig ? !all_features : !all_classes) continue;
    for (int i = 0; i < np; i++) {
      names[i] = e[i].label;
      for (int t = 0; t < T; t++) v[i * T + t] = fig ? e[i].ch_pct[t] : e[i].cls[t];
    }
    snprintf(path, sizeof path, "%s/compare_%s.svg", out, fig ? "channels" : "classes");
    char deftitle[128];
    snprintf(deftitle, sizeof deftitle, "Watermark-sensitive %s (d = max(AUC, 1 - AUC))", fig ? "feature channels" : "classes");
    wmf_status st = wmf_write_svg_threshold_counts(path, title ? title : deftitle,
                                                   fig ? "share of feature channels, %" : "number of classes", names, v,
                                                   (size_t)np);
    if (st) rc = fail_status(st, path);
  }
  if (!rc && o.json) rc = json_out_print(json_incref(root));
  else if (!rc && !o.quiet) {
    printf("%-24s %7s  classes with d above 0.7 / 0.8 / 0.9 / 0.95   channels above (%%)\n", "report", "pairs");
    for (int i = 0; i < np; i++) {
      printf("%-24.24s %7lld ", e[i].label, (long long)e[i].pairs);
      for (int t = 0; t < T; t++) printf(" %6.0f", e[i].cls[t]);
      printf("                 ");
      for (int t = 0; t < T; t++) printf(" %5.1f", e[i].ch_pct[t]);
      printf("\n");
    }
    printf("\nwrote %s/compare.csv, compare.json, compare_classes.svg, compare_channels.svg\n", out);
  }
  json_decref(root);
  free(names), free(v), free(e);
  return rc;
}
