/* wmfeat mask: a feature-channel mask from an audit state, ranked as Mark My Words ranks channels
 * (|AUC - 0.5|) or by another score; saved as JSON (indices and scores) and/or .npy (a 0/1 multiplier). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static const struct {
  const char *name;
  wmf_audit_score score;
  wmf_mask_rank rank;
} scores[] = {
  {"auc", WMF_SCORE_AUC, WMF_MASK_BY_FROM_HALF},     {"d", WMF_SCORE_D, WMF_MASK_BY_VALUE},
  {"mean-diff", WMF_SCORE_MEAN_DIFF, WMF_MASK_BY_ABS}, {"effect-size", WMF_SCORE_EFFECT_SIZE, WMF_MASK_BY_ABS},
  {"paired-dz", WMF_SCORE_PAIRED_DZ, WMF_MASK_BY_ABS}, {"wilcoxon-z", WMF_SCORE_WILCOXON_Z, WMF_MASK_BY_ABS},
};

int cmd_mask(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *score = "auc", *json = NULL, *npy = NULL;
  double fraction = -1, threshold = -1;
  long top_k = -1;
  arg_spec specs[] = {{"fraction", ARG_DOUBLE, &fraction, "mask the top fraction p of channels (0..1)"},
                      {"top-k", ARG_INT, &top_k, "mask the top k channels"},
                      {"threshold", ARG_DOUBLE, &threshold, "mask channels whose ranked score is above this"},
                      {"score", ARG_STRING, &score, "auc (by |AUC - 0.5|, default), d, mean-diff, effect-size, paired-dz, wilcoxon-z"},
                      {"out", ARG_STRING, &json, "mask as JSON (indices and scores)"},
                      {"npy", ARG_STRING, &npy, "mask as .npy: a float32 0/1 multiplier, features * mask"},
                      COMMON_SPECS(o), {NULL, 0, NULL, NULL}};
  const char *usage = "usage: wmfeat mask STATE.wmfa (--fraction P | --top-k K | --threshold T) [--out mask.json] [--npy mask.npy]\n"
                      "  STATE.wmfa: the audit state `wmfeat audit` writes (OUT/audit.wmfa)";
  const char *pos[1];
  int np, rc = args_parse(argc, argv, specs, usage, pos, 1, &np);
  if (rc) return rc == 1 ? EXIT_OK : EXIT_USAGE;
  int given = (fraction >= 0) + (top_k >= 0) + (threshold >= 0);
  if (np != 1 || given != 1 || (!json && !npy)) {
    fprintf(stderr, "%s\n  (exactly one of --fraction, --top-k, --threshold; at least one of --out, --npy)\n", usage);
    return EXIT_USAGE;
  }
  size_t which = 0;
  while (which < sizeof scores / sizeof scores[0] && strcmp(scores[which].name, score)) which++;
  if (which == sizeof scores / sizeof scores[0]) return fprintf(stderr, "error: unknown --score '%s'\n", score), EXIT_USAGE;
  wmf_audit *a = NULL;
  wmf_mask *m = NULL;
  double *v = NULL;
  wmf_status st = wmf_audit_load(&a, pos[0]);
  if (st) return fail_status(st, pos[0]);
  size_t n = wmf_audit_num_features(a);
  v = malloc((n ? n : 1) * sizeof *v);
  if (!v) st = WMF_ERR_OUT_OF_MEMORY;
  if (!st) st = wmf_audit_scores(v, n, a, WMF_AUDIT_CHANNELS, scores[which].score);
  if (!st) {
    if (fraction >= 0) st = wmf_mask_top_fraction(&m, v, n, scores[which].rank, fraction);
    else if (top_k >= 0) st = wmf_mask_top_k(&m, v, n, scores[which].rank, (size_t)top_k);
    else st = wmf_mask_threshold(&m, v, n, scores[which].rank, threshold);
  }
  if (!st && json) st = wmf_mask_save_json(m, json);
  if (!st && npy) st = wmf_mask_save_npy(m, npy);
  if (st) rc = fail_status(st, "building the mask");
  else if (o.json) printf("{\"channels\": %zu, \"masked\": %zu, \"score\": \"%s\"}\n", n, wmf_mask_count(m), score);
  else printf("masked %zu of %zu channels (ranked by %s)%s%s%s%s\n", wmf_mask_count(m), n, score, json ? ": " : "",
              json ? json : "", npy ? " " : "", npy ? npy : "");
  free(v);
  wmf_mask_destroy(m);
  wmf_audit_destroy(a);
  return rc;
}
