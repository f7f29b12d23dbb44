/* libwmfeat mask API: which feature channels to zero before training a head. Include <wmfeat.h>.
 *
 * A wmf_mask is a set of masked (zeroed) channels of a feature vector of fixed length, built from any
 * score vector (usually the channel AUCs of a wmf_audit) by top-k, top fraction or threshold, and the
 * scores it was built from. Mark My Words ranks channels by |AUC - 0.5| (WMF_MASK_BY_FROM_HALF).
 *
 * Thread safety: a mask is immutable once built except through wmf_mask_set; concurrent reads
 * (apply, queries, save) of one mask are safe; wmf_mask_set must not run concurrently with anything
 * else on that mask. */
#ifndef WMFEAT_MASK_H
#define WMFEAT_MASK_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/mask.h>."
#endif
#include "core.h"
#include "audit.h" /* wmf_rank_order */

#ifdef __cplusplus
extern "C" {
#endif

/** How channels are ranked: the key by which the most watermark-sensitive come first. The 1.0 enum of
 *  the four builders below, kept for 1.0; the API's canonical ranking enum is wmf_rank_order
 *  (audit.h), whose WMF_RANK_DESCENDING, WMF_RANK_ABS and WMF_RANK_FROM_HALF are these three keys
 *  with DIFFERENT values (0, 2, 3). New code builds masks with wmf_mask_select, which takes
 *  wmf_rank_order. */
typedef enum wmf_mask_rank {
  WMF_MASK_BY_VALUE = 0,     /**< key = score (larger = more sensitive; e.g. d); WMF_RANK_DESCENDING */
  WMF_MASK_BY_ABS = 1,       /**< key = |score| (mean differences, effect sizes, z); WMF_RANK_ABS */
  WMF_MASK_BY_FROM_HALF = 2  /**< key = |score - 0.5| (AUCs, as Mark My Words ranks them); WMF_RANK_FROM_HALF */
} wmf_mask_rank;

/** The rule wmf_mask_select builds a mask with, and what its `value` is. Since 1.1. */
typedef enum wmf_mask_rule {
  WMF_MASK_RULE_TOP_K = 0,        /**< value = k, a whole number in [0, n]: as wmf_mask_top_k */
  WMF_MASK_RULE_TOP_FRACTION = 1, /**< value = p in [0, 1]: as wmf_mask_top_fraction */
  WMF_MASK_RULE_QUANTILE = 2,     /**< value = p in [0, 1]: as wmf_mask_quantile (Mark My Words' rule) */
  WMF_MASK_RULE_THRESHOLD = 3     /**< value = the threshold on the key: as wmf_mask_threshold */
} wmf_mask_rule;

/** Builds a mask from `n` scores by `rule` with the channels ranked by `order`, the canonical ranking
 *  enum: WMF_RANK_DESCENDING (key = score), WMF_RANK_ABS (|score|) or WMF_RANK_FROM_HALF
 *  (|score - 0.5|); the key's largest come first. The same mask, rule and saved JSON as the 1.0
 *  builder the rule names (wmf_mask_select(&m, s, n, WMF_RANK_FROM_HALF, WMF_MASK_RULE_QUANTILE, 0.1)
 *  equals wmf_mask_quantile(&m, s, n, WMF_MASK_BY_FROM_HALF, 0.1)).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, n 0, an unknown rule or order, WMF_RANK_ASCENDING
 *  (masks keep the most sensitive channels by a key; rank by -score instead), a value out of the
 *  rule's range, k not a whole number), WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. *out is owned by the
 *  caller (wmf_mask_destroy). Thread-safe. Since 1.1. */
WMF_API wmf_status wmf_mask_select(wmf_mask **out, const double *scores, size_t n, wmf_rank_order order,
                                   wmf_mask_rule rule, double value);

/** Creates a mask of `num_features` channels with nothing masked and no scores.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL out, 0 features), WMF_ERR_LIMIT (above 2^24),
 *  WMF_ERR_OUT_OF_MEMORY. Free with wmf_mask_destroy(). */
WMF_API wmf_status wmf_mask_create(wmf_mask **out, size_t num_features);

/** Frees a mask. Accepts NULL. */
WMF_API void wmf_mask_destroy(wmf_mask *mask);

/** Masks the `k` channels with the largest key (0 <= k <= n). NaN scores are never masked (so fewer
 *  than k may be masked when scores are NaN); ties go to the lower index. The scores are kept (saved
 *  in JSON). Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, n 0, k > n, unknown rank),
 *  WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_mask_top_k(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank,
                                  size_t k);

/** Masks the top fraction `p` (0 <= p <= 1) of channels: k = floor(p * n + 0.5) channels, as
 *  wmf_mask_top_k. Errors as wmf_mask_top_k (p outside [0, 1] or NaN is WMF_ERR_INVALID_ARGUMENT). */
WMF_API wmf_status wmf_mask_top_fraction(wmf_mask **out, const double *scores, size_t n,
                                         wmf_mask_rank rank, double p);

/** Masks the channels whose key is strictly above the linearly interpolated (1 - p)-quantile of all
 *  keys, 0 <= p <= 1: Mark My Words' rule, `key > torch.quantile(key, 1 - p)` (notebook "3.1 Cal-Tech256
 *  training", class DenseNet161). With distinct keys this masks about p n channels, but not always
 *  the floor(p n + 0.5) of wmf_mask_top_fraction (e.g. 12 rather than 11 of 2,208 at p = 0.005), and
 *  channels tied with the quantile are never masked. p = 0 masks nothing. NaN scores are left out of
 *  the quantile and never masked (torch.quantile would return NaN and mask nothing). The threshold is
 *  computed in double precision (the notebook's AUC tensor was float32; docs/audit.md).
 *  Errors as wmf_mask_top_fraction. Since 1.1. */
WMF_API wmf_status wmf_mask_quantile(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank,
                                     double p);

/** The threshold a mask was built with: the quantile of wmf_mask_quantile, the threshold of
 *  wmf_mask_threshold, NaN for other masks. Returns it (NaN for NULL). Since 1.1. */
WMF_API double wmf_mask_threshold_used(const wmf_mask *mask);

/** Masks every channel whose key is strictly above `threshold` (e.g. WMF_MASK_BY_VALUE on d with 0.7,
 *  or WMF_MASK_BY_FROM_HALF on AUC with 0.2). Errors as wmf_mask_top_k. */
WMF_API wmf_status wmf_mask_threshold(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank,
                                      double threshold);

/** Number of channels (the feature vector's length), and number of masked (zeroed) channels. 0 for
 *  NULL. Since 1.1. */
WMF_API size_t wmf_mask_feature_count(const wmf_mask *mask);
WMF_API size_t wmf_mask_masked_count(const wmf_mask *mask);

/** Older names of wmf_mask_feature_count and wmf_mask_masked_count, kept for 1.0. Beware:
 *  wmf_mask_count counts the MASKED channels, not all of them (unlike wmf_weights_count). */
WMF_API size_t wmf_mask_num_features(const wmf_mask *mask);
WMF_API size_t wmf_mask_count(const wmf_mask *mask);

/** 1 if channel `index` is masked, 0 if kept or out of range. */
WMF_API int wmf_mask_is_masked(const wmf_mask *mask, size_t index);

/** Masks (masked != 0) or unmasks channel `index` by hand. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT. */
WMF_API wmf_status wmf_mask_set(wmf_mask *mask, size_t index, int masked);

/** Writes the masked indices in ascending order into `out` (out_len >= wmf_mask_masked_count()).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_BUFFER_TOO_SMALL. */
WMF_API wmf_status wmf_mask_indices(size_t *out, size_t out_len, const wmf_mask *mask);

/** Writes the 0/1 multiplier vector (1 = kept, 0 = masked) into `out` (out_len >= num_features).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_BUFFER_TOO_SMALL. */
WMF_API wmf_status wmf_mask_multiplier(float *out, size_t out_len, const wmf_mask *mask);

/** Zeroes the masked channels of `n` row-major feature vectors of `num_features` floats, in place.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL), WMF_ERR_SHAPE (num_features differs). */
WMF_API wmf_status wmf_mask_apply(const wmf_mask *mask, float *features, size_t n, size_t num_features);

/** A new mask holding the channels masked in `a` or in `b` (union) / in both (intersection). Scores are
 *  kept where both masks have the same ones, else dropped. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT,
 *  WMF_ERR_SHAPE (different lengths), WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_mask_union(wmf_mask **out, const wmf_mask *a, const wmf_mask *b);
WMF_API wmf_status wmf_mask_intersection(wmf_mask **out, const wmf_mask *a, const wmf_mask *b);

/** Saves as JSON: {"format": "wmfeat-mask", "version": 1, "num_features": n, "rank": "from_half",
 *  "rule": {"name": "top_k" | "top_fraction" | "quantile" | "threshold", "k" | "fraction" | "threshold"}
 *  (how it was built; absent for masks made otherwise), "masked": [ascending indices], "scores": [n
 *  numbers, null for NaN] or null}. Written atomically.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_mask_save_json(const wmf_mask *mask, const char *path);

/** Loads a JSON mask written by wmf_mask_save_json (validated: format, version, indices in range and
 *  unique, score count). Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_CORRUPT,
 *  WMF_ERR_UNSUPPORTED (newer version), WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_mask_load_json(wmf_mask **out, const char *path);

/** Saves the multiplier vector (1 = kept, 0 = masked) as a NumPy .npy file (format 1.0, '<f4', shape
 *  (n,)), so `features * np.load(path)` or `torch.from_numpy(np.load(path))` applies the mask.
 *  Written atomically. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_mask_save_npy(const wmf_mask *mask, const char *path);

/** Loads a 1-D .npy vector of 0/1 multipliers ('<f4', '<f8', '|u1', '|b1' or '<i4'/'<i8'; C order),
 *  as written by wmf_mask_save_npy or numpy.save. Values other than 0 and 1 are WMF_ERR_CORRUPT. No
 *  scores. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_CORRUPT,
 *  WMF_ERR_UNSUPPORTED (another dtype, Fortran order, more dimensions), WMF_ERR_LIMIT,
 *  WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_mask_load_npy(wmf_mask **out, const char *path);

#ifdef __cplusplus
}
#endif
#endif
