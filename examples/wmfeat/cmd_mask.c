/* wmfeat mask: a feature-channel mask from an audit state, ranked as Mark My Words ranks channels
 * (|AUC - 0.5|) or by another score; saved as JSON (indices and scores) and/or .npy (a 0/1 multiplier). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_out.h"

static const struct {
  const char *name;
  wmf_audit_score score;
  wmf_mask_rank rank;
} scores[] = {
  {"auc", WMF_SCORE_AUC, WMF_MASK_BY_FROM_HALF},     {"d", WMF_SCORE_D, WMF_MASK_BY_VALUE},
  {"mean-diff", WMF_SCORE_MEAN_DIFF, WMF_MASK_BY_ABS}, {"effect-size", WMF_SCORE_EFFECT_SIZE, WMF_MASK_BY_ABS},
  {"paired-dz", WMF_SCORE_PAIRED_DZ, WMF_MASK_BY_ABS}, {"wilcoxon-z", WMF_SCORE_WILCOXON_Z, WMF_MASK_BY_ABS},
};

static const char *score_choice(size_t i) { return i < sizeof scores / sizeof scores[0] ? scores[i].name : NULL; }

/* A report (report.json, a .csv) given where the audit state belongs: say which file to pass. */
static int refuse_report(const char *path) {
  FILE *f = fopen(path, "rb");
  int c = ' ';
  while (f && (c = fgetc(f)) != EOF && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {}
  if (f) fclose(f);
  size_t len = strlen(path);
  bool text = c == '{' || c == '[' || (len >= 5 && (!strcmp(path + len - 5, ".json") || !strcmp(path + len - 4, ".csv")));
  if (!text) return 0;
  const char *slash = strrchr(path, '/');
  int dir = slash ? (int)(slash - path) : 1;
  fprintf(stderr, "error: '%s' is a report, not an audit state: wmfeat mask reads the state that wmfeat audit "
                  "saves beside the report, %.*s/audit.wmfa\n", path, dir, slash ? path : ".");
  return EXIT_USAGE;
}

int cmd_mask(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *score = "auc", *json = NULL, *npy = NULL, *rule = "count", *rank = "abs";
  double fraction = -1, threshold = -1;
  long top_k = -1;
  arg_spec specs[] = {{"fraction", ARG_DOUBLE, &fraction, "mask the top fraction p of channels (0..1)"},
                      {"top-k", ARG_INT, &top_k, "mask the top k channels"},
                      {"threshold", ARG_DOUBLE, &threshold, "mask channels whose ranked score is above this"},
                      {"score", ARG_STRING, &score, "auc (by |AUC - 0.5|, default), d, mean-diff, effect-size, paired-dz, wilcoxon-z"},
                      {"rank", ARG_STRING, &rank, "abs: by |AUC - 0.5| (|score| for differences; default); auc: by AUC, descending (--score auc)"},
                      {"rule", ARG_STRING, &rule, "with --fraction: count (floor(p n + 1/2) channels, default) or quantile (Mark My Words: key > torch.quantile(key, 1 - p))"},
                      {"out", ARG_STRING, &json, "mask as JSON (indices and scores)"},
                      {"npy", ARG_STRING, &npy, "mask as .npy: a float32 0/1 multiplier, features * mask"},
                      COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat mask STATE.wmfa (--fraction P | --top-k K | --threshold T) [--out mask.json] [--npy mask.npy]\n"
                      "  STATE.wmfa: the audit state `wmfeat audit` writes (OUT/audit.wmfa)";
  const char *pos[1];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 0, 1, &np, &o, &rc)) return rc;
  int given = (fraction >= 0) + (top_k >= 0) + (threshold >= 0);
  if (np != 1 || given != 1 || (!json && !npy)) {
    fprintf(stderr, "%s\n  (exactly one of --fraction, --top-k, --threshold; at least one of --out, --npy)\n", usage);
    return EXIT_USAGE;
  }
  if (check_choice("--score", score, score_choice)) return EXIT_USAGE;
  size_t which = 0;
  while (strcmp(scores[which].name, score)) which++;
  bool quantile = !strcmp(rule, "quantile");
  if (!quantile && strcmp(rule, "count")) return fprintf(stderr, "error: unknown --rule '%s' (count or quantile)\n", rule), EXIT_USAGE;
  if (quantile && fraction < 0) return fprintf(stderr, "error: --rule quantile needs --fraction\n"), EXIT_USAGE;
  wmf_mask_rank mrank = scores[which].rank;
  const char *rank_text = scores[which].rank == WMF_MASK_BY_FROM_HALF ? "|AUC - 0.5|" : scores[which].rank == WMF_MASK_BY_ABS ? "|score|" : "score";
  if (!strcmp(rank, "auc")) {
    if (scores[which].score != WMF_SCORE_AUC) return fprintf(stderr, "error: --rank auc needs --score auc\n"), EXIT_USAGE;
    mrank = WMF_MASK_BY_VALUE, rank_text = "AUC, descending";
  } else if (!strcmp(rank, "delta-p")) {
    return fprintf(stderr, "error: --rank delta-p ranks classes; feature channels have no delta p (use abs or auc)\n"), EXIT_USAGE;
  } else if (strcmp(rank, "abs")) {
    return fprintf(stderr, "error: unknown --rank '%s' (abs or auc)\n", rank), EXIT_USAGE;
  }
  if (fraction > 1) return fprintf(stderr, "error: --fraction %g is not between 0 and 1\n", fraction), EXIT_USAGE;
  if ((rc = refuse_report(pos[0]))) return rc;
  wmf_audit *a = NULL;
  wmf_mask *m = NULL;
  double *v = NULL;
  wmf_status st = wmf_audit_load(&a, pos[0]);
  if (st) return fail_status(st, pos[0]);
  size_t n = wmf_audit_num_features(a);
  if (top_k > 0 && (size_t)top_k > n) {
    fprintf(stderr, "error: --top-k %ld is above the %zu channels of '%s' (valid: 0..%zu)\n", top_k, n, pos[0], n);
    wmf_audit_destroy(a);
    return EXIT_USAGE;
  }
  v = malloc((n ? n : 1) * sizeof *v);
  if (!v) st = WMF_ERR_OUT_OF_MEMORY;
  if (!st) st = wmf_audit_scores(v, n, a, WMF_AUDIT_CHANNELS, scores[which].score);
  if (!st) {
    if (fraction >= 0 && quantile) st = wmf_mask_quantile(&m, v, n, mrank, fraction);
    else if (fraction >= 0) st = wmf_mask_top_fraction(&m, v, n, mrank, fraction);
    else if (top_k >= 0) st = wmf_mask_top_k(&m, v, n, mrank, (size_t)top_k);
    else st = wmf_mask_threshold(&m, v, n, mrank, threshold);
  }
  if (!st && json) st = wmf_mask_save_json(m, json);
  if (!st && npy) st = wmf_mask_save_npy(m, npy);
  if (st) rc = fail_status(st, "building the mask");
  else if (o.json) {
    json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s}", "channels", (json_int_t)n, "masked", (json_int_t)wmf_mask_count(m),
                          "score", score, "rank", rank_text, "rule", fraction >= 0 ? rule : top_k >= 0 ? "top-k" : "threshold");
    if (j && quantile) json_object_set_new(j, "threshold", json_real(wmf_mask_threshold_used(m)));
    rc = json_out_print(j);
  } else {
    printf("masked %zu of %zu channels (ranked by %s%s)%s%s%s%s\n", wmf_mask_count(m), n, rank_text,
           quantile ? ", key > quantile" : "", json ? ": " : "", json ? json : "", npy ? " " : "", npy ? npy : "");
    if (quantile) printf("quantile threshold of the key: %.17g\n", wmf_mask_threshold_used(m));
  }
  free(v);
  wmf_mask_destroy(m);
  wmf_audit_destroy(a);
  return rc;
}
