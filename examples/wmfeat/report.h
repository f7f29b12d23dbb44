/* The audit report the wmfeat program writes and prints: files in a folder (JSON, CSV, SVG) and a
 * summary of the most affected classes and channels. Shared by `audit`, `merge` and `demo`. */
#ifndef WMFEAT_REPORT_H
#define WMFEAT_REPORT_H
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>
#include <wmfeat.h>

/* How classes and channels are ranked in the summary and the class figures (--rank):
 *   abs      |AUC - 0.5| (both directions; the default)
 *   auc      AUC, descending (Mark My Words ranks classes this way: the ones the watermark raises)
 *   delta-p  classes by delta p, descending (ImageNet-W's change of mean softmax probability);
 *            channels, which have no delta p, by |AUC - 0.5| */
typedef enum report_rank { REPORT_RANK_ABS = 0, REPORT_RANK_AUC = 1, REPORT_RANK_DELTA_P = 2 } report_rank;

#define REPORT_RANK_HELP "abs (|AUC - 0.5|, default), auc (AUC descending, as Mark My Words), delta-p (delta p descending)"

/* Parses "abs", "auc" or "delta-p". Returns 0, or -1 after printing an error. */
int report_parse_rank(const char *text, report_rank *out);
/* "abs", "auc", "delta-p". */
const char *report_rank_name(report_rank rank);

/* The score and order a ranking uses for classes or channels, and its text ("AUC, descending"). */
void report_rank_order(report_rank rank, wmf_audit_target target, wmf_audit_score *score, wmf_rank_order *order);
const char *report_rank_text(report_rank rank, wmf_audit_target target);

/* The d thresholds (WMF_AUDIT_D_THRESHOLDS) as text: "0.7 / 0.8 / 0.9 / 0.95". */
const char *report_thresholds_text(void);
/* Prints one count per d threshold: "3 / 2 / 0 / 0". */
void report_print_counts(FILE *f, const size_t counts[WMF_AUDIT_D_THRESHOLD_COUNT]);
/* One count per d threshold as a JSON object keyed by the threshold: {"0.7": 3, "0.8": 2, ...}. */
json_t *report_counts_json(const size_t counts[WMF_AUDIT_D_THRESHOLD_COUNT]);

/* What the audit knows beyond the audit object: how its watermarked images were made. */
typedef struct report_info {
  bool prerendered; /* --watermarked: read from files, not drawn */
  size_t unpaired;  /* files without a partner, skipped */
} report_info;

/* Writes report.json, classes.csv, channels.csv, classes_auc.svg, classes_delta_p.svg,
 * channels_auc.svg and, for 1000 classes, imagenet_w.csv (ImageNet-W's metrics of carton, one per row)
 * into `dir` (created if missing); the class figures are ranked by `rank` where it applies to their
 * score. Returns WMF_OK or the failing call's status. */
wmf_status report_write(wmf_audit *audit, const char *dir, report_rank rank);

/* Prints the top-k classes (ranked by `rank`, with AUC, d, delta p and delta logit) and channels, the
 * threshold counts, with labels the accuracies, for 1000 classes ImageNet-W's carton metrics, and what
 * `info` (may be NULL) says. */
wmf_status report_print(wmf_audit *audit, size_t k, report_rank rank, const report_info *info, FILE *f);

/* Prints the same summary as one JSON object (through jansson). */
wmf_status report_print_json(wmf_audit *audit, size_t k, report_rank rank, const report_info *info, FILE *f);

#endif
