/* audit module internals: the layout of wmf_audit and the functions its files share. For lib/audit and
 * its unit tests only: the audit module offers other modules nothing beyond its public API
 * (include/wmfeat/audit.h), so it has no audit.h; the ranking, AUC and SVG pieces it shares live in
 * lib/core. */
#ifndef WMF_LIB_AUDIT_INTERNAL_H
#define WMF_LIB_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/core.h"

#define WMFI_AUDIT_IMAGENET_CLASSES 1000
extern const char *const wmfi_audit_imagenet_names[WMFI_AUDIT_IMAGENET_CLASSES];
extern const char wmfi_audit_imagenet_wnids[WMFI_AUDIT_IMAGENET_CLASSES][10]; /* sorted */

/* Pairs are kept in chunks of WMFI_AUDIT_CHUNK rows; inside a chunk each matrix is column-major
 * (column c of clean logits is cl[c * WMFI_AUDIT_CHUNK .. + rows)), so a column is read contiguously
 * and adding never moves old data. The layout depends only on the order of the rows, so shards
 * merged in order are the same object as one run. */
#define WMFI_AUDIT_CHUNK 1024
#define WMFI_AUDIT_MAX_DIM ((size_t)1 << 24)
#define WMFI_AUDIT_MAX_PAIRS ((size_t)1 << 31)
#define WMFI_AUDIT_COLUMN_SCORES 6 /* AUC .. WILCOXON_Z apply to classes and channels */

typedef struct wmfi_audit_chunk {
  float *cl, *wl, *cf, *wf; /* column-major, WMFI_AUDIT_CHUNK rows each */
  int32_t *labels;
  size_t rows;
} wmfi_audit_chunk;

struct wmf_audit {
  size_t num_classes, num_features, n;
  wmfi_audit_chunk *chunks;
  size_t num_chunks, chunk_cap;
  char **names; /* num_classes strings or NULL */
  /* provenance: what produced the pairs (provenance.c), sorted by key; saved with the pairs */
  char **prov_keys, **prov_values;
  size_t prov_count;
  uint64_t items_done; /* input items consumed, skipped ones included (resume) */
  /* cache, valid until the next change */
  bool valid;
  double *class_scores[WMF_AUDIT_SCORE_COUNT];
  double *channel_scores[WMFI_AUDIT_COLUMN_SCORES];
  double acc_clean, acc_wm;
  size_t labelled;
  /* uncertainty: p-values and BH q-values (filled with the scores), bootstrap intervals (filled on
   * request; valid while `valid` and boot_valid) */
  double *p_value[2], *q_value[2]; /* [target] */
  size_t boot_resamples;           /* 0: no intervals */
  uint64_t boot_seed;
  double boot_level;
  bool boot_valid;
  double *interval[3][2];          /* class AUC, class delta p, channel AUC; [lo, hi] */
  double *prob_labelled[2]; /* mean p(c) over the clean / wm images labelled c (NaN if none) */
  size_t *class_labelled;   /* pairs labelled c */
};

/* Gathers column `col` of the clean and watermarked matrices (select 0 = logits, 1 = features) over all
 * pairs into x and y. */
void wmfi_audit_gather(const wmf_audit *a, int select, size_t col, float *x, float *y);

/* OpenMP threads for a loop over `columns` columns of n pairs each: 1 when the work is too small to pay for
 * waking a team, else omp_get_max_threads(). Every such loop computes each column on one thread with the
 * same arithmetic, so the results are bitwise equal for any thread count. */
int wmfi_audit_threads(size_t columns, size_t n);

/* Fills p_value / q_value from the Wilcoxon z of the cache (called by wmfi_audit_compute). */
wmf_status wmfi_audit_p_values(wmf_audit *a);

/* Fills the bootstrap intervals if needed (after wmfi_audit_compute). WMF_ERR_STATE without a bootstrap
 * set. */
wmf_status wmfi_audit_bootstrap(wmf_audit *a);

/* Frees the uncertainty arrays (wmf_audit_destroy). */
void wmfi_audit_free_uncertainty(wmf_audit *a);

/* Statistics of one paired column x (clean) / y (watermarked), n >= 1. out[score] for the first
 * WMFI_AUDIT_COLUMN_SCORES scores. `work` holds 4n values. */
wmf_status wmfi_audit_column_stats(double out[WMFI_AUDIT_COLUMN_SCORES], const float *x, const float *y,
                                   size_t n, uint64_t *work);

/* Parses an audit file held in memory (`path` names it in messages): wmf_audit_load without the I/O.
 * `out` is a wmf_audit ** (a wmfi_parser, core.h). */
wmf_status wmfi_audit_parse(void *out, const uint8_t *data, size_t size, const char *path);

/* Appends n pairs given as column-major matrices over all n rows (the file layout): wmf_audit_load. */
wmf_status wmfi_audit_append_columns(wmf_audit *a, size_t n, const float *cl, const float *wl, const float *cf,
                                     const float *wf, const int32_t *labels);

/* Provenance (provenance.c). */
#define WMFI_AUDIT_MAX_PROVENANCE 64       /* keys */
#define WMFI_AUDIT_MAX_PROVENANCE_KEY 64   /* bytes */
#define WMFI_AUDIT_MAX_PROVENANCE_VALUE 65536
void wmfi_audit_free_provenance(wmf_audit *audit);
/* Checks a key (1..64 bytes of a-z 0-9 . _ -) and a value (valid UTF-8, at most 64 KiB); messages
 * start with `fn`. */
wmf_status wmfi_audit_check_provenance_entry(const char *fn, const char *key, size_t key_len, const char *value,
                                             size_t value_len);
/* Takes ownership of the key/value strings (sorted, unique keys, already checked): used by the loader. */
void wmfi_audit_adopt_provenance(wmf_audit *audit, char **keys, char **values, size_t count);
/* Refuses merging src into dst when their provenance differs (keys on both sides, except "shard")
 * or both are the same shard of a split run. WMF_ERR_MISMATCH names the key. */
wmf_status wmfi_audit_merge_check(const wmf_audit *dst, const wmf_audit *src);

/* Fills the cache if needed. WMF_ERR_STATE without pairs. */
wmf_status wmfi_audit_compute(wmf_audit *audit);

/* "AUC, descending", "|AUC - 0.5|", "|delta p|", ...: how a ranking reads in figure titles. */
void wmfi_audit_order_text(char *buf, size_t len, wmf_audit_score score, wmf_rank_order order);

#endif
