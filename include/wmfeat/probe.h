/* libwmfeat probe API: a linear softmax head trained on (masked) features. Include <wmfeat.h>.
 *
 * The head minimizes the multinomial cross-entropy with an L2 penalty on the weights (the bias is not
 * penalized), the objective of scikit-learn's LogisticRegression(multi_class="multinomial", C=C):
 *     mean_i CE(W x_i + b, y_i) + ||W||^2 / (2 C n).
 * It is strictly convex in W, and full-batch L-BFGS from zero weights converges to its minimum. Training
 * stops as scikit-learn's lbfgs solver (scipy's L-BFGS-B) does: converged when max |gradient| <=
 * tolerance, or when one iteration lowers the objective by a relative ftol or less; otherwise at
 * max_iterations, returning the head reached with WMF_ERR_LIMIT. No randomness is used: equal inputs
 * give bitwise equal heads.
 *
 * Thread safety: a trained wmf_probe is immutable; predict / evaluate / save may run concurrently on
 * one probe. Training runs on the calling thread. */
#ifndef WMFEAT_PROBE_H
#define WMFEAT_PROBE_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/probe.h>."
#endif
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Training options. Initialize with WMF_PROBE_OPTIONS_INIT, then change fields. */
typedef struct wmf_probe_options {
  uint32_t struct_size;    /**< sizeof(wmf_probe_options), set by WMF_PROBE_OPTIONS_INIT */
  uint32_t max_iterations; /**< L-BFGS iterations before giving up (default 1000) */
  double C;                /**< inverse L2 strength, as scikit-learn's C (default 1.0), > 0 */
  double tolerance;        /**< converged when max |gradient| of the objective <= tolerance (default 1e-6) */
  uint32_t history;        /**< L-BFGS memory, pairs kept (default 10, 1..100) */
  int32_t fit_intercept;   /**< nonzero (default): learn an unpenalized bias per class */
  /* Since 1.1. A struct_size that ends before a field gives it its default. */
  double ftol;             /**< also converged when an iteration's relative decrease of the summed objective,
                                (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) with f = n * objective (the sum
                                scikit-learn minimizes), is <= ftol: scipy L-BFGS-B's ftol. Default
                                2.220446049250313e-09, scipy's default, which LogisticRegression uses; 0: off */
  int32_t sklearn_tolerance; /**< nonzero: `tolerance` is scikit-learn's `tol`, a bound on max |gradient| of the
                                  summed objective n * objective (e.g. 1e-4, its default); 0 (default): of the
                                  mean objective above */
} wmf_probe_options;

#define WMF_PROBE_OPTIONS_INIT {sizeof(wmf_probe_options), 1000, 1.0, 1e-6, 10, 1, 2.220446049250313e-09, 0}

/** Fills `*options` with the defaults (as WMF_PROBE_OPTIONS_INIT) and sets its struct_size, for callers that cannot
 *  use the macro (bindings). `struct_size` is the size of the caller's struct, sizeof(wmf_probe_options) of the
 *  header it was built with: any size from the 1.0 size up is accepted, only the fields that size
 *  covers are written, and bytes beyond the fields this version knows are zeroed.
 *  Returns WMF_OK, or WMF_ERR_INVALID_ARGUMENT (NULL, or a size below the 1.0 size). Thread-safe.
 *  Since 1.1. */
WMF_API wmf_status wmf_probe_options_init(wmf_probe_options *options, size_t struct_size);

/** Trains a head on `n` row-major feature vectors of `num_features` floats with labels in
 *  [0, num_classes), num_classes >= 2. If `mask` is not NULL (its length must be num_features) the
 *  masked channels are zeroed, in training and in every later prediction: their weights are 0. The
 *  features are not modified. `options` may be NULL for the defaults.
 *  Returns WMF_OK when converged (by tolerance or ftol); WMF_ERR_LIMIT when training stopped early,
 *  max_iterations passed (or the line search could not decrease the objective) before either test was
 *  met: the head reached is STILL returned in *out, owned by the caller, usable like a converged one
 *  (callers may treat this as a warning, as scikit-learn's ConvergenceWarning), with
 *  wmf_probe_training_info telling iterations and converged = 0;
 *  WMF_ERR_INVALID_ARGUMENT (NULL, n 0, a label out of range, bad options; *out NULL), WMF_ERR_SHAPE
 *  (mask length), WMF_ERR_NUMERIC (a non-finite feature), WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_probe_train(wmf_probe **out, const float *features, const int32_t *labels, size_t n,
                                   size_t num_features, size_t num_classes, const wmf_mask *mask,
                                   const wmf_probe_options *options);

/** Frees a head. Accepts NULL. */
WMF_API void wmf_probe_destroy(wmf_probe *probe);

/** Number of classes / feature channels of the head. 0 for NULL. Thread-safe. Since 1.1. */
WMF_API size_t wmf_probe_class_count(const wmf_probe *probe);
WMF_API size_t wmf_probe_feature_count(const wmf_probe *probe);

/** Older names of wmf_probe_class_count and wmf_probe_feature_count, kept for 1.0. */
WMF_API size_t wmf_probe_num_classes(const wmf_probe *probe);
WMF_API size_t wmf_probe_num_features(const wmf_probe *probe);

/** How training ended; any pointer may be NULL: iterations done, 1 if converged, the final objective
 *  and max |gradient|. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT. */
WMF_API wmf_status wmf_probe_training_info(uint32_t *out_iterations, int *out_converged, double *out_objective,
                                           double *out_gradient, const wmf_probe *probe);

/** Copies the weights (num_classes x num_features, row-major, 0 for masked channels) and the biases
 *  (num_classes); either buffer may be NULL. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT,
 *  WMF_ERR_BUFFER_TOO_SMALL. */
WMF_API wmf_status wmf_probe_weights(double *out_weights, size_t weights_len, double *out_bias, size_t bias_len,
                                     const wmf_probe *probe);

/** Predicts `n` feature vectors (num_features floats each, unmasked: the head's mask is applied):
 *  logits into `out_logits` (n x num_classes, may be NULL) and argmax classes into `out_classes` (n,
 *  may be NULL). Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT. Thread-safe. */
WMF_API wmf_status wmf_probe_predict(float *out_logits, int32_t *out_classes, const wmf_probe *probe,
                                     const float *features, size_t n);

/** Top-1 accuracy of the head on `n` labelled feature vectors (labels in range; WMF_NO_LABEL rows are
 *  skipped; NaN if none is labelled). Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_probe_accuracy(double *out, const wmf_probe *probe, const float *features,
                                      const int32_t *labels, size_t n);

/** Per-logit ROC-AUC of the head between a clean set and a watermarked set (watermarked = positive;
 *  Mark My Words' evaluation of fine-tuned heads): out_len >= num_classes. The sets need not be paired.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, an empty set), WMF_ERR_BUFFER_TOO_SMALL,
 *  WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_probe_logit_auc(double *out, size_t out_len, const wmf_probe *probe, const float *clean,
                                       size_t n_clean, const float *watermarked, size_t n_watermarked);

/** Saves the head (weights, biases, mask, training info) in a versioned binary format with a checksum,
 *  atomically. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_probe_save(const wmf_probe *probe, const char *path);

/** Loads a head saved by wmf_probe_save. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO,
 *  WMF_ERR_CORRUPT (damaged; the message gives the offset), WMF_ERR_UNSUPPORTED (newer version),
 *  WMF_ERR_LIMIT, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_probe_load(wmf_probe **out, const char *path);

/** Writes an SVG line chart of accuracy against masked fraction (Mark My Words' mitigation curve):
 *  `n` points (1..1000) at fractions `p` (in [0, 1], ascending), clean and watermarked accuracy, and
 *  optionally (NULL to omit) a third curve such as the head's watermark logit AUC, named `extra_name`.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO, WMF_ERR_OUT_OF_MEMORY. */
WMF_API wmf_status wmf_probe_write_curve_svg(const char *path, const char *title, const double *p,
                                             const double *clean_accuracy, const double *wm_accuracy,
                                             const double *extra, const char *extra_name, size_t n);

/** Writes Mark My Words' second mitigation figure as SVG: for each of `n` masked fractions `p` (1..200,
 *  ascending in [0, 1]) the distribution of the head's `num_logits` logit AUCs, clean vs watermarked
 *  (wmf_probe_logit_auc of the head trained at that p; `aucs` holds n rows of num_logits values): a box
 *  (quartiles, median; whiskers to min and max; numpy.quantile's linear interpolation) with every AUC
 *  as a dot, and a line at 0.5 where a head that ignores the watermark lies. NaN values are skipped.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL, sizes, fractions), WMF_ERR_IO,
 *  WMF_ERR_OUT_OF_MEMORY. Thread-safe. Since 1.1. */
WMF_API wmf_status wmf_probe_write_auc_distribution_svg(const char *path, const char *title, const double *p,
                                                        size_t n, const double *aucs, size_t num_logits);

#ifdef __cplusplus
}
#endif
#endif
