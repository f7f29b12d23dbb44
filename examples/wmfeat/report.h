/* The audit report the wmfeat program writes and prints: files in a folder (JSON, CSV, SVG) and a
 * summary of the most affected classes and channels. Shared by `audit`, `merge` and `demo`. */
#ifndef WMFEAT_REPORT_H
#define WMFEAT_REPORT_H
#include <stdbool.h>
#include <stdio.h>

#include <wmfeat.h>

/* Writes report.json, classes.csv, channels.csv, classes_auc.svg, classes_delta_p.svg and
 * channels_auc.svg into `dir` (created if missing). Returns WMF_OK or the failing call's status. */
wmf_status report_write(wmf_audit *audit, const char *dir);

/* Prints the top-k classes (by AUC distance from 0.5, with d, delta p and delta logit) and channels, the
 * threshold counts and, with labels, the accuracies. */
wmf_status report_print(wmf_audit *audit, size_t k, FILE *f);

/* Prints the same summary as one JSON object. */
wmf_status report_print_json(wmf_audit *audit, size_t k, FILE *f);

#endif
