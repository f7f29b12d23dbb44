/* The planted-shortcut experiment (docs/audit.md): a small ResNet trained by
 * examples/data/train_planted.py with the library's ImageNet-W watermark planted on digit 8, audited,
 * masked and probed entirely through the library. `wmfeat demo` prints it; tests/audit/test_planted.c
 * asserts on it. */
#ifndef WMFEAT_PLANTED_H
#define WMFEAT_PLANTED_H
#include <stddef.h>
#include <stdint.h>

#include <wmfeat.h>

enum { PLANTED_CLASS = 8, PLANTED_K = 10, PLANTED_F = 128, PLANTED_SIZE = 64, PLANTED_NP = 10 };

/* The 8x8 digits, labels and train/test split the images are rebuilt from. */
typedef struct planted_digits {
  size_t n;
  uint8_t *d8, *label, *split;
} planted_digits;

typedef struct planted_result {
  size_t n_test;                      /* test images audited against their watermarked twins */
  double acc_clean, acc_wm;           /* the network's accuracy on them */
  double auc[PLANTED_K], dp[PLANTED_K];
  size_t rank_auc, rank_dp;           /* class ranked first by |AUC - 0.5| and by delta p */
  size_t above[WMF_AUDIT_D_THRESHOLD_COUNT]; /* channels with d above each of WMF_AUDIT_D_THRESHOLDS */
  size_t top_channels[5];             /* channels ranked first by |AUC - 0.5| */
  double channel_auc[PLANTED_F];
  double ps[PLANTED_NP];              /* masked fractions */
  size_t masked[PLANTED_NP];          /* channels masked at each p */
  double dp_masked[PLANTED_NP];       /* the planted class's delta p with those channels zeroed */
  size_t n_head_train, n_head_test;   /* the downstream 3-vs-5 head */
  double head_clean[PLANTED_NP], head_reversed[PLANTED_NP], head_loss[PLANTED_NP], head_auc[PLANTED_NP];
  int best;                           /* p index with the least loss costing at most 2 points clean */
} planted_result;

/* Loads examples/data/planted_digits.bin. Returns WMF_OK, WMF_ERR_IO or WMF_ERR_CORRUPT (message set). */
wmf_status planted_load_digits(planted_digits *d, const char *path);
void planted_free_digits(planted_digits *d);

/* Image i (64x64 RGB), built exactly as train_planted.py builds it, watermarked when wm is not NULL
 * (seed = image index). */
wmf_status planted_image(wmf_image **out, const planted_digits *d, size_t i, const wmf_watermark *wm);

/* The message of the last failure of planted_load_digits() or planted_run(). */
const char *planted_error(void);

/* Runs the whole experiment on the files in `data_dir` (planted_resnet.safetensors,
 * planted_digits.bin) with `threads` compute threads in sessions of `precision` (WMF_PRECISION_BF16
 * fails with WMF_ERR_UNSUPPORTED on a CPU without bf16). With `report_dir`, also writes the audit report
 * (JSON, CSV) and the figures (SVG) there. `log` (may be NULL) receives progress lines. */
wmf_status planted_run(planted_result *r, const char *data_dir, const char *report_dir, unsigned threads,
                       wmf_precision precision, void (*log)(const char *line));

#endif
