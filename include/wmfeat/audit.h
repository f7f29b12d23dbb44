/* libwmfeat audit API: per-class and per-feature-channel watermark sensitivity. Include <wmfeat.h>.
 *
 * A wmf_audit accumulates pairs (clean image, its watermarked twin): the logits, the penultimate
 * features and optionally the label of each pair. All raw values are kept, so every score is exact
 * (the ROC-AUC is the tie-aware Mann-Whitney statistic) and shards merge into exactly the result of one
 * run. Scores are computed on the first query after a change and cached. See docs/audit.md for the
 * definitions and their sources (Mark My Words, ImageNet-W).
 *
 * Thread safety: a wmf_audit is used by one thread at a time (queries fill a cache, so even queries
 * must not run concurrently on the same audit). Different audits are independent. */
#ifndef WMFEAT_AUDIT_H
#define WMFEAT_AUDIT_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/audit.h>."
#endif
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Label value of a pair whose true class is unknown. */
#define WMF_NO_LABEL (-1)

/** Number of classes of ImageNet-1k, whose names are built in. */
#define WMF_IMAGENET_CLASSES 1000

/** What a score is about: the output classes (logits) or the penultimate feature channels. */
typedef enum wmf_audit_target {
  WMF_AUDIT_CLASSES = 0,
  WMF_AUDIT_CHANNELS = 1
} wmf_audit_target;

/** The scores. "wm" is the watermarked set, "clean" the clean one; positive changes mean the
 *  watermark raises the value. Definitions and sources in docs/audit.md. */
typedef enum wmf_audit_score {
  WMF_SCORE_AUC = 0,         /**< ROC-AUC, watermarked = positive: P(wm > clean) + P(tie)/2 (Mann-Whitney) */
  WMF_SCORE_D = 1,           /**< sensitivity d = max(AUC, 1 - AUC) (Mark My Words) */
  WMF_SCORE_MEAN_DIFF = 2,   /**< mean(wm) - mean(clean); for classes the mean delta-logit */
  WMF_SCORE_EFFECT_SIZE = 3, /**< Cohen's d: mean difference / pooled sd (sd with n - 1) */
  WMF_SCORE_PAIRED_DZ = 4,   /**< paired: mean(wm_i - clean_i) / sd(wm_i - clean_i) (Cohen's d_z) */
  WMF_SCORE_WILCOXON_Z = 5,  /**< paired: Wilcoxon signed-rank z (zeros dropped, tie-corrected, no continuity correction), sign of wm - clean */
  WMF_SCORE_DELTA_PROB = 6,  /**< classes only: mean softmax p(wm) - mean p(clean) (ImageNet-W delta p) */
  WMF_SCORE_DELTA_TOP1 = 7,  /**< classes only: share of top-1 predictions going to the class, wm - clean */
  WMF_SCORE_CLEAN_ACC = 8,   /**< classes only, labels: accuracy on clean images of the class (NaN if none) */
  WMF_SCORE_WM_ACC = 9,      /**< classes only, labels: accuracy on watermarked images of the class */
  WMF_SCORE_ACC_GAP = 10,    /**< classes only, labels: per-class accuracy wm - clean (ImageNet-W gap) */
  WMF_SCORE_CLEAN_PROB = 11, /**< classes only: mean softmax p(class) of the clean images (since 1.1) */
  WMF_SCORE_WM_PROB = 12,    /**< classes only: mean softmax p(class) of the watermarked images (since 1.1) */
  WMF_SCORE_DELTA_PROB_LABELLED = 13 /**< classes only, labels: delta p of the class over the pairs labelled
                                          with it (ImageNet-W delta_p_carton_cond_carton); NaN if none (since 1.1) */
} wmf_audit_score;

/** Number of wmf_audit_score values (for loops over all scores). 11 in 1.0; a 1.0 library refuses the
 *  newer scores with WMF_ERR_INVALID_ARGUMENT. */
#define WMF_AUDIT_SCORE_COUNT 14

/** ImageNet-1k index of "carton", the class ImageNet-W's watermark shortcut favours. */
#define WMF_IMAGENET_CARTON 478

/** Mark My Words' sensitivity thresholds: classes and channels are counted with d = max(AUC, 1 - AUC)
 *  strictly above each (the report's "thresholds", "classes_above", "channels_above"). An initializer:
 *  `static const double t[WMF_AUDIT_D_THRESHOLD_COUNT] = WMF_AUDIT_D_THRESHOLDS;`. The library, the
 *  `wmfeat` program and the Python binding (through wmf_audit_d_thresholds) all use this definition.
 *  Since 1.1. */
#define WMF_AUDIT_D_THRESHOLD_COUNT 4
#define WMF_AUDIT_D_THRESHOLDS {0.7, 0.8, 0.9, 0.95}

/** WMF_AUDIT_D_THRESHOLDS as the library was built with them, for bindings that cannot read macros:
 *  returns the static array, ascending, and its length (WMF_AUDIT_D_THRESHOLD_COUNT) in *out_count
 *  (may be NULL). Never NULL. Thread-safe. Since 1.1. */
WMF_API const double *wmf_audit_d_thresholds(size_t *out_count);

/** The false discovery rate at which the reports count classes and channels as significant: a
 *  Benjamini-Hochberg q-value below it (wmf_audit_p_values). Since 1.1. */
#define WMF_AUDIT_FDR 0.05

/** Ranking order: the one ranking enum of the API (docs/api-style.md), taken by wmf_audit_rank,
 *  wmf_audit_write_svg_classes and, since 1.1, wmf_mask_select. NaN scores always come last; ties go
 *  to the lower index. wmf_mask_rank (mask.h) is the 1.0 mask builders' older enum for three of these
 *  keys, with OTHER values: never pass one enum where the other is expected (C converts silently). */
typedef enum wmf_rank_order {
  WMF_RANK_DESCENDING = 0, /**< largest first */
  WMF_RANK_ASCENDING = 1,  /**< smallest first */
  WMF_RANK_ABS = 2,        /**< largest |score| first */
  WMF_RANK_FROM_HALF = 3   /**< largest |score - 0.5| first (AUCs, as Mark My Words ranks them) */
} wmf_rank_order;

/** Creates an empty audit for a network with `num_classes` logits and `num_features` penultimate
 *  channels (either may be 0, not both). If num_classes is 1000 the ImageNet-1k names are attached.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL out, both sizes 0), WMF_ERR_LIMIT (a size above
 *  2^24), WMF_ERR_OUT_OF_MEMORY. Free with wmf_audit_destroy(). */
WMF_API wmf_status wmf_audit_create(wmf_audit **out, size_t num_classes, size_t num_features);

/** Frees an audit. Accepts NULL. */
WMF_API void wmf_audit_destroy(wmf_audit *audit);

/** Number of classes (logits) / feature channels / pairs added so far. 0 for NULL. Thread-safe with
 *  respect to other queries. Since 1.1 (the names of docs/api-style.md: counts end in _count). */
WMF_API size_t wmf_audit_class_count(const wmf_audit *audit);
WMF_API size_t wmf_audit_feature_count(const wmf_audit *audit);
WMF_API size_t wmf_audit_pair_count(const wmf_audit *audit);

/** Older names of wmf_audit_class_count, wmf_audit_feature_count and wmf_audit_pair_count, kept for
 *  1.0: the same values. */
WMF_API size_t wmf_audit_num_classes(const wmf_audit *audit);
WMF_API size_t wmf_audit_num_features(const wmf_audit *audit);
WMF_API size_t wmf_audit_num_pairs(const wmf_audit *audit);

/** Adds `n` pairs. Arrays are row-major, one row per pair: `clean_logits` and `wm_logits` are
 *  n x num_classes (NULL if num_classes is 0), `clean_features` and `wm_features` n x num_features
 *  (NULL if num_features is 0); `labels` holds n class indices or WMF_NO_LABEL, or is NULL (all
 *  unknown). Values are copied. Either the whole batch is added or nothing.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (a needed array NULL, a label out of range),
 *  WMF_ERR_NUMERIC (a NaN or infinite value; the message names the row and column),
 *  WMF_ERR_LIMIT (more than 2^31 pairs), WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_add(wmf_audit *audit, size_t n, const float *clean_logits,
                                 const float *wm_logits, const float *clean_features,
                                 const float *wm_features, const int32_t *labels);

/** Writes one score for every class (out_len >= num_classes) or channel (>= num_features) into `out`.
 *  Scores that cannot be defined are NaN (a constant column gives AUC 0.5 and effect sizes NaN;
 *  per-class accuracies without labelled images of that class are NaN).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, a class-only score asked for channels, an unknown
 *  score), WMF_ERR_BUFFER_TOO_SMALL, WMF_ERR_STATE (no pairs added yet), WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_scores(double *out, size_t out_len, wmf_audit *audit,
                                    wmf_audit_target target, wmf_audit_score score);

/** Writes into `out` the indices of the first `k` classes or channels ranked by `score` in `order`
 *  (k may not exceed the count). Errors as wmf_audit_scores. */
WMF_API wmf_status wmf_audit_rank(size_t *out, size_t k, wmf_audit *audit, wmf_audit_target target,
                                  wmf_audit_score score, wmf_rank_order order);

/** Counts the classes or channels whose `score` is strictly above `threshold` (Mark My Words counts
 *  d above each of WMF_AUDIT_D_THRESHOLDS: 0.7, 0.8, 0.9 and 0.95). NaN never counts. Errors as wmf_audit_scores. */
WMF_API wmf_status wmf_audit_count_above(size_t *out_count, wmf_audit *audit, wmf_audit_target target,
                                         wmf_audit_score score, double threshold);

/** Turns on bootstrap confidence intervals (wmf_audit_interval and the reports): `resamples` B
 *  resamples of the pairs (a pair's clean and watermarked values stay together: image i drawn k times
 *  counts k times on both sides), drawn from `seed` (resample b, draw k: pair floor(u n / 2^64) of
 *  u = splitmix64(seed * 0xD1B54A32D192ED03 + b n + k), wrapping 64-bit arithmetic; docs/audit.md), and the
 *  percentile interval at confidence `level`: the linearly interpolated (1 - level)/2 and
 *  (1 + level)/2 quantiles of the B resampled scores (numpy.quantile's default). B = 0 turns the
 *  intervals off (the default). Settings are not saved with the audit. Cost: O(B n) per class and
 *  channel, computed on the first wmf_audit_interval after a change.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, B > 100000, level not in (0, 1)). Since 1.1. */
WMF_API wmf_status wmf_audit_set_bootstrap(wmf_audit *audit, size_t resamples, uint64_t seed, double level);

/** Bootstrap percentile confidence interval of `score` for every class or channel: lower bounds into
 *  `out_lo`, upper into `out_hi` (either may be NULL; out_len >= the count). `score` is WMF_SCORE_AUC
 *  (classes and channels) or WMF_SCORE_DELTA_PROB (classes).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL audit, another score, a target without columns),
 *  WMF_ERR_BUFFER_TOO_SMALL, WMF_ERR_STATE (no pairs, or no bootstrap set with
 *  wmf_audit_set_bootstrap), WMF_ERR_LIMIT (2^30 pairs or more), WMF_ERR_OUT_OF_MEMORY. Since 1.1. */
WMF_API wmf_status wmf_audit_interval(double *out_lo, double *out_hi, size_t out_len, wmf_audit *audit,
                                      wmf_audit_target target, wmf_audit_score score);

/** Two-sided p-values of the paired Wilcoxon signed-rank test of every class or channel (clean vs
 *  watermarked value of each image) into `out_p`: exact (the null distribution of W+, as
 *  scipy.stats.wilcoxon(method="exact")) for at most 50 pairs whose differences are all non-zero with
 *  distinct magnitudes; otherwise the normal approximation of WMF_SCORE_WILCOXON_Z, p = erfc(|z| /
 *  sqrt 2). Their Benjamini-Hochberg adjusted values over all classes (or all channels) go into `out_q`
 *  (either pointer may be NULL; out_len >= the count). p is NaN where every difference is 0 (no test);
 *  such columns are left out of the correction (m counts the defined p). docs/audit.md.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_BUFFER_TOO_SMALL, WMF_ERR_STATE (no pairs),
 *  WMF_ERR_OUT_OF_MEMORY. Since 1.1. */
WMF_API wmf_status wmf_audit_p_values(double *out_p, double *out_q, size_t out_len, wmf_audit *audit,
                                      wmf_audit_target target);

/** Benjamini-Hochberg adjusted p-values (q-values) of `n` p-values: q_(i) = min over j >= i of
 *  min(1, p_(j) m / j) in ascending order of p, m the number of non-NaN p; NaN stays NaN (as R's
 *  p.adjust(p, "BH")). `out_q` may equal `p`. Thread-safe.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, a p outside [0, 1]), WMF_ERR_OUT_OF_MEMORY.
 *  Since 1.1. */
WMF_API wmf_status wmf_benjamini_hochberg(double *out_q, const double *p, size_t n);

/** Top-1 accuracy over the labelled pairs, clean and watermarked (either pointer may be NULL), and the
 *  number of labelled pairs (may be NULL). Accuracies are NaN when no pair is labelled (still WMF_OK).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (no classes), WMF_ERR_STATE (no pairs),
 *  WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_accuracy(double *out_clean, double *out_wm, size_t *out_labelled,
                                      wmf_audit *audit);

/** ImageNet-W's metrics for one class, as its evaluation code (Whac-A-Mole,
 *  eval_shortcuts/eval_watermark_shortcut.py, `eval` and `_eval_model`) computes them for carton. Set
 *  struct_size (WMF_AUDIT_SHORTCUT_INIT) before the call; fields past struct_size are not written.
 *  Probabilities are softmax of the logits; accuracies are top-1 (ties to the lower index). */
typedef struct wmf_audit_shortcut {
  uint32_t struct_size;      /**< sizeof(wmf_audit_shortcut), set by WMF_AUDIT_SHORTCUT_INIT */
  size_t class_index;        /**< the class asked for (478, carton, for ImageNet-W) */
  size_t num_pairs;          /**< pairs in the audit */
  size_t num_labelled;       /**< pairs with a label */
  size_t num_class_labelled; /**< pairs labelled with class_index */
  double p_clean;            /**< mean p(class) over all clean images ("p_carton") */
  double p_wm;               /**< mean p(class) over all watermarked images */
  double delta_p;            /**< p_wm - p_clean ("delta_p_carton") */
  double p_clean_labelled;   /**< mean p(class) over the clean images labelled class; NaN if none */
  double p_wm_labelled;      /**< the same over their watermarked twins */
  double delta_p_labelled;   /**< p_wm_labelled - p_clean_labelled ("delta_p_carton_cond_carton") */
  double acc_clean;          /**< top-1 accuracy of the labelled clean images ("in_1k_acc"); NaN if none */
  double acc_wm;             /**< the same of their watermarked twins */
  double acc_gap;            /**< acc_wm - acc_clean ("in_w_gap") */
  double class_acc_clean;    /**< accuracy on the clean images labelled class; NaN if none */
  double class_acc_wm;       /**< the same on their watermarked twins */
  double class_gap;          /**< class_acc_wm - class_acc_clean ("carton_gap") */
} wmf_audit_shortcut;
#define WMF_AUDIT_SHORTCUT_INIT {sizeof(wmf_audit_shortcut), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** Fills `out` with ImageNet-W's metrics of class `class_index` (WMF_IMAGENET_CARTON for the paper's).
 *  The original divides its accuracies by every image (all are labelled there); here they are over the
 *  labelled pairs, which is the same when every pair is labelled. Since 1.1.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, struct_size below the 1.1 size, no classes,
 *  class_index out of range), WMF_ERR_STATE (no pairs), WMF_ERR_OUT_OF_MEMORY. Not thread-safe on the
 *  same audit (fills its cache). */
WMF_API wmf_status wmf_audit_shortcut_metrics(wmf_audit_shortcut *out, wmf_audit *audit, size_t class_index);

/** Copies the stored values of pairs [first, first + n) in the order they were added: any of the row-major
 *  outputs may be NULL (not wanted); `clean_logits`, `wm_logits` hold n * num_classes floats,
 *  `clean_features`, `wm_features` n * num_features, `labels` n. Since 1.1.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL audit, first + n beyond the pairs).
 *  Not thread-safe on the same audit while it is being changed. */
WMF_API wmf_status wmf_audit_get_pairs(const wmf_audit *audit, size_t first, size_t n, float *clean_logits,
                                       float *wm_logits, float *clean_features, float *wm_features,
                                       int32_t *labels);

/** Writes a CSV table with one row per pair (in the order added): `pair,path,label`, the clean and the
 *  watermarked top-5 classes (`clean_top1..5`, `wm_top1..5`; fewer with fewer classes), then for each of
 *  the `num_listed` classes in `listed` the softmax probability `clean_p_<c>,wm_p_<c>`. `paths` holds
 *  num_pairs strings naming the pairs (NULL: the column is empty). Probabilities are printed with 9
 *  significant digits, labels as -1 when unknown. Since 1.1.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, no classes, a listed class out of range),
 *  WMF_ERR_STATE (no pairs), WMF_ERR_IO, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_write_pairs_csv(wmf_audit *audit, const char *path, const char *const *paths,
                                             const size_t *listed, size_t num_listed);

/** The name of class `index`: borrowed, valid until the names change or the audit is destroyed; NULL
 *  when no names are set or index is out of range. */
WMF_API const char *wmf_audit_class_name(const wmf_audit *audit, size_t index);

/** Replaces the class names with a copy of `names` (exactly num_classes strings, UTF-8, none NULL), or
 *  removes them with names == NULL. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (count differs from
 *  num_classes, a NULL name), WMF_ERR_UTF8, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_set_class_names(wmf_audit *audit, const char *const *names, size_t count);

/** Loads class names from a UTF-8 text file, one per line (trailing "\r" and an empty last line are
 *  ignored); the file must have exactly num_classes names.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_SHAPE (wrong count), WMF_ERR_UTF8,
 *  WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_load_class_names(wmf_audit *audit, const char *path);

/** The built-in ImageNet-1k class name of `index` in torchvision's order (478 is "carton"), static;
 *  NULL when index >= WMF_IMAGENET_CLASSES. Thread-safe. */
WMF_API const char *wmf_imagenet_class_name(size_t index);

/** The WordNet id of ImageNet-1k class `index` ("n01440764" for 0, "n02971356" for 478 carton), the
 *  name of its folder in ImageNet's train/ and val/; static; NULL when index >= WMF_IMAGENET_CLASSES.
 *  The class order is the sorted order of the ids (torchvision's). Thread-safe. Since 1.1. */
WMF_API const char *wmf_imagenet_wnid(size_t index);

/** The ImageNet-1k class index of WordNet id `wnid` (exact, e.g. "n01440764" -> 0) into *out_index.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL), WMF_ERR_NOT_FOUND (not one of the 1,000 ids;
 *  *out_index untouched). Thread-safe. Since 1.1. */
WMF_API wmf_status wmf_imagenet_class_from_wnid(size_t *out_index, const char *wnid);

/** Saves every pair of the audit, its provenance and items_done (not the class names) to `path` in
 *  the versioned binary format of docs/audit.md (format 2); an audit without pairs can be saved. The
 *  file is written beside `path` (PATH.tmpXXXXXX) and renamed over it, so a failure never replaces a
 *  good file with a half-written one; a `path` that exists and is not a regular file (a device, a
 *  FIFO) is written in place, never replaced. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO,
 *  WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_save(const wmf_audit *audit, const char *path);

/** Loads an audit saved with wmf_audit_save. The file is validated (magic, version, sizes, checksum,
 *  finite values, labels in range, provenance entries). Format-1 files (libwmfeat 1.0) load with no
 *  provenance and items_done 0. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO,
 *  WMF_ERR_CORRUPT (damaged or truncated; the message gives the byte offset), WMF_ERR_UNSUPPORTED (a
 *  newer format version), WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. Free with wmf_audit_destroy(). */
WMF_API wmf_status wmf_audit_load(wmf_audit **out, const char *path);

/** Appends all pairs of `src` to `dst` (after dst's own) and adds src's items_done to dst's. Merging
 *  shards in their order gives exactly the scores of one run over all pairs (wmf_audit_merge_shards
 *  also checks that every shard is there once). Provenance fields present in both audits must agree,
 *  except "shard"; two copies of the same shard "I/N" (N > 1) are refused; when the shards differ, dst
 *  loses its "shard" field. `src` is unchanged. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT,
 *  WMF_ERR_SHAPE (different class or channel counts), WMF_ERR_MISMATCH (the message names the field),
 *  WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_audit_merge(wmf_audit *dst, const wmf_audit *src);

/* ------------------------------------------------------------------------------------ provenance */

/** Sets provenance field `key` of the audit to `value` (a copy), or removes it with value == NULL.
 *  The provenance records what produced the pairs (weights, watermark recipe, seed, preprocessing,
 *  inputs, shard, library version: the fields of docs/audit.md); it is saved with the pairs, and
 *  resuming (wmf_audit_provenance_check) and merging (wmf_audit_merge, wmf_audit_merge_shards) refuse
 *  audits whose provenance differs, naming the field. Keys have 1 to 64 bytes of a-z 0-9 . _ -, values
 *  are UTF-8 of at most 64 KiB; at most 64 keys. Removing never fails (beyond a NULL audit or key).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, a bad key), WMF_ERR_UTF8, WMF_ERR_LIMIT,
 *  WMF_ERR_OUT_OF_MEMORY. Not thread-safe on the same audit. */
WMF_API wmf_status wmf_audit_set_provenance(wmf_audit *audit, const char *key, const char *value);

/** The value of provenance field `key`, or NULL when absent (an audit loaded from a format-1 file has
 *  no provenance). Borrowed: valid until the field changes or the audit is destroyed. */
WMF_API const char *wmf_audit_provenance(const wmf_audit *audit, const char *key);

/** Number of provenance fields (0 for NULL). */
WMF_API size_t wmf_audit_provenance_count(const wmf_audit *audit);

/** Key of provenance field `index` (keys are sorted), or NULL when out of range. Borrowed. */
WMF_API const char *wmf_audit_provenance_key(const wmf_audit *audit, size_t index);

/** Checks that a saved audit (`saved`, e.g. a state being resumed) comes from the run described by
 *  `now` (an audit holding the provenance of the current run, usually still empty): every field of
 *  either must be present in both with the same value. On a difference *out_key (may be NULL) is set to
 *  the first differing key (borrowed from either audit; "" when `saved` has no provenance at all) and
 *  the message reads "KEY differs (state: ..., now: ...)". Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT,
 *  WMF_ERR_MISMATCH. */
WMF_API wmf_status wmf_audit_provenance_check(const wmf_audit *saved, const wmf_audit *now,
                                              const char **out_key);

/** Number of input items the audit has consumed, skipped (undecodable) ones included: what a resumed
 *  run skips. Saved with the pairs (so a state and its progress cannot disagree), summed by merges.
 *  Set by the program that feeds the audit; 0 until then. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT. */
WMF_API wmf_status wmf_audit_set_items_done(wmf_audit *audit, uint64_t items);
WMF_API uint64_t wmf_audit_items_done(const wmf_audit *audit);

/** Merges the shards of one split run into a new audit *out: each audit must have a provenance field
 *  "shard" = "I/N" (same N), every I from 0 to N-1 exactly once, in any order, and all other fields
 *  equal. The pairs are appended in shard order, so the result equals one run over all items; its
 *  provenance is the shards' with "shard" = "0/1", its items_done their sum, its class names those of
 *  the first. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, count 0), WMF_ERR_MISMATCH (no or bad
 *  shard field, another N, a shard given twice or missing, another run: the message names the shard
 *  and the field), WMF_ERR_SHAPE, WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. The shards are unchanged.
 *  Free *out with wmf_audit_destroy(). */
WMF_API wmf_status wmf_audit_merge_shards(wmf_audit **out, const wmf_audit *const *shards, size_t count);

/** Fingerprint of an input list, for the "inputs" provenance field: "COUNT HEX16" into `out`
 *  (capacity >= 38 bytes), a 64-bit hash of each item's bytes and its label (labels NULL: all
 *  WMF_NO_LABEL). Items are hashed as given: callers pass paths relative to the input folder (see
 *  docs/audit.md) so the same images found from another working directory match. Thread-safe.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL out or items with count > 0, a NULL item),
 *  WMF_ERR_BUFFER_TOO_SMALL. */
WMF_API wmf_status wmf_list_fingerprint(char *out, size_t capacity, const char *const *items,
                                        const int32_t *labels, size_t count);

/** Exact ROC-AUC of two samples, positives `pos` against negatives `neg`, ties counting one half: the
 *  Mann-Whitney U / (n_neg n_pos), what scikit-learn's roc_auc_score gives with labels 1 for `pos`.
 *  O((n_neg + n_pos) log) time, O(n_neg + n_pos) memory. Thread-safe.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL; an empty sample: the AUC is undefined, *out is set
 *  to NaN), WMF_ERR_NUMERIC (a NaN value), WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_auc(double *out, const float *neg, size_t n_neg, const float *pos, size_t n_pos);

/** wmf_auc() on double-precision scores, compared in double (values float32 cannot tell apart stay
 *  apart). Same statuses. Thread-safe. Since 1.1. */
WMF_API wmf_status wmf_auc_f64(double *out, const double *neg, size_t n_neg, const double *pos, size_t n_pos);

/** Writes a JSON report of every score of every class and channel, the accuracies and the threshold
 *  counts, the p- and q-values and significance counts at WMF_AUDIT_FDR, and with a bootstrap set
 *  (wmf_audit_set_bootstrap) the intervals and their settings (layout in docs/audit.md). Returns WMF_OK or an error of wmf_audit_scores, WMF_ERR_IO. */
WMF_API wmf_status wmf_audit_write_json(wmf_audit *audit, const char *path);

/** Writes a CSV table, one row per class or channel, one column per score that applies (header row
 *  first; classes also get their name), then p_value and q_value, then with a bootstrap set auc_lo,
 *  auc_hi (and for classes delta_prob_lo, delta_prob_hi). Returns WMF_OK or an error of wmf_audit_scores, WMF_ERR_IO. */
WMF_API wmf_status wmf_audit_write_csv(wmf_audit *audit, wmf_audit_target target, const char *path);

/** Writes an SVG bar chart of the `k` classes (1 <= k <= min(100, num_classes)) ranked first by
 *  `score` in `order` (e.g. WMF_SCORE_AUC with WMF_RANK_FROM_HALF, or WMF_SCORE_DELTA_PROB with
 *  WMF_RANK_ABS), labelled with class names; bars start at 0.5 for AUC and d, at 0 otherwise.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, an error of wmf_audit_rank, WMF_ERR_IO. */
WMF_API wmf_status wmf_audit_write_svg_classes(wmf_audit *audit, const char *path, wmf_audit_score score,
                                               wmf_rank_order order, size_t k);

/** Writes an SVG histogram of one channel (or class) score, e.g. the channel AUCs, with `bins` bins
 *  (1..1000) over [0, 1] for AUC, [0.5, 1] for d, otherwise a range rounded outwards from 0 and every
 *  finite value; the WMF_AUDIT_D_THRESHOLDS of d are marked (for AUC on both sides of 0.5).
 *  Returns as wmf_audit_write_svg_classes. */
WMF_API wmf_status wmf_audit_write_svg_histogram(wmf_audit *audit, const char *path,
                                                 wmf_audit_target target, wmf_audit_score score,
                                                 size_t bins);

/** Writes Mark My Words' comparison figure as SVG: for each of `n` reports (1..200; models, scripts)
 *  a bar per threshold of WMF_AUDIT_D_THRESHOLDS, drawn inside each other (d > 0.7 widest and lightest,
 *  d > 0.95 darkest), its d > 0.7 value printed above. `values` holds n rows of
 *  WMF_AUDIT_D_THRESHOLD_COUNT numbers (counts of classes, or shares of channels in percent), `labels`
 *  n UTF-8 names, `title` and `y_label` the texts (NULL for defaults). Reports keep the given order.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, n out of range, a negative or non-finite value),
 *  WMF_ERR_IO, WMF_ERR_OUT_OF_MEMORY. Thread-safe. Since 1.1. */
WMF_API wmf_status wmf_write_svg_threshold_counts(const char *path, const char *title, const char *y_label,
                                                  const char *const *labels, const double *values, size_t n);

#ifdef __cplusplus
}
#endif
#endif
