/* `wmfeat probe --sweep`: Mark My Words' mitigation experiment. For each masked fraction p, a mask of the
 * channels most sensitive to the watermark (by their AUCs, count or quantile rule), a linear head trained
 * on the masked training features, its accuracy on clean and watermarked test features and the AUCs of
 * its logits between the two. Writes the curve (CSV, JSON, SVG) and the per-p AUC distributions. */
#ifndef WMFEAT_SWEEP_H
#define WMFEAT_SWEEP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wmfeat.h>

#define SWEEP_MAX_P 64
/* Mark My Words' fractions (notebook "3.1 Cal-Tech256 training", last cell). */
#define SWEEP_PAPER_FRACTIONS "0,0.005,0.01,0.02,0.03,0.05,0.1,0.15,0.25,0.5"

typedef struct sweep_spec {
  const float *train, *test, *test_wm;  /* row-major features; test_wm may be NULL */
  const int32_t *train_labels, *test_labels, *test_wm_labels;
  size_t n_train, n_test, n_test_wm, features, classes;
  const double *channel_auc;           /* features AUCs that rank the channels */
  const char *auc_source;              /* where they came from (recorded in the outputs) */
  wmf_mask_rank rank;
  bool quantile;                       /* the quantile rule, else the count rule */
  double p[SWEEP_MAX_P];
  size_t n_p;
  const wmf_probe_options *options;
  const char *out;                     /* output folder */
  bool json, quiet;
} sweep_spec;

/* Parses "0,0.005,..." (ascending, in [0, 1]) into spec->p. Returns 0 or -1 after printing why. */
int sweep_parse_fractions(sweep_spec *spec, const char *text);

/* Runs the sweep and writes OUT/sweep.csv, sweep.json, sweep_aucs.csv, sweep_curve.svg and
 * sweep_auc_distribution.svg; prints a table (or the JSON with --json). Returns an exit code. */
int sweep_run(const sweep_spec *spec);

#endif
