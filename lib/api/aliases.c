/* The 1.1 names of docs/api-style.md for 1.0 functions whose names drifted or mislead, the mask builder
 * that takes the canonical ranking enum, and the d thresholds for bindings. Each is a thin wrapper
 * over the public function it names (exported in lib/wmfeat.map's WMFEAT_1.1 node), so a program built
 * with a new name binds to the WMFEAT_1.1 version and the old names keep their 1.0 behaviour. */
#include <math.h>

#include "core/core.h"

/* ---------------------------------------------------------------------------------- counts */

size_t wmf_audit_class_count(const wmf_audit *audit) { return wmf_audit_num_classes(audit); }
size_t wmf_audit_feature_count(const wmf_audit *audit) { return wmf_audit_num_features(audit); }
size_t wmf_audit_pair_count(const wmf_audit *audit) { return wmf_audit_num_pairs(audit); }
size_t wmf_mask_feature_count(const wmf_mask *mask) { return wmf_mask_num_features(mask); }
size_t wmf_mask_masked_count(const wmf_mask *mask) { return wmf_mask_count(mask); }
size_t wmf_model_class_count(const wmf_model *model) { return wmf_model_num_classes(model); }
size_t wmf_probe_class_count(const wmf_probe *probe) { return wmf_probe_num_classes(probe); }
size_t wmf_probe_feature_count(const wmf_probe *probe) { return wmf_probe_num_features(probe); }
size_t wmf_session_stage_feature_count(const wmf_session *session) { return wmf_session_stage_count(session); }
size_t wmf_weights_tensor_count(const wmf_weights *weights) { return wmf_weights_count(weights); }

/* ------------------------------------------------------------------------------ constants */

const double *wmf_audit_d_thresholds(size_t *out_count) {
  static const double thresholds[WMF_AUDIT_D_THRESHOLD_COUNT] = WMF_AUDIT_D_THRESHOLDS;
  if (out_count) *out_count = WMF_AUDIT_D_THRESHOLD_COUNT;
  return thresholds;
}

/* ------------------------------------------------------------------------------ ranking */

wmf_status wmf_mask_select(wmf_mask **out, const double *scores, size_t n, wmf_rank_order order,
                           wmf_mask_rule rule, double value) {
  WMFI_REQUIRE(out, "wmf_mask_select: out is NULL");
  *out = NULL;
  wmf_mask_rank key;
  switch (order) {
  case WMF_RANK_DESCENDING: key = WMF_MASK_BY_VALUE; break;
  case WMF_RANK_ABS: key = WMF_MASK_BY_ABS; break;
  case WMF_RANK_FROM_HALF: key = WMF_MASK_BY_FROM_HALF; break;
  case WMF_RANK_ASCENDING:
    return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "wmf_mask_select: WMF_RANK_ASCENDING is not a mask key "
                                               "(masks take the largest keys; negate the scores)");
  default: return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "wmf_mask_select: unknown order %d", (int)order);
  }
  switch (rule) {
  case WMF_MASK_RULE_TOP_K:
    WMFI_REQUIRE(value >= 0 && value <= (double)n && value == floor(value),
                 "wmf_mask_select: k = %g is not a whole number in [0, %zu]", value, n);
    return wmf_mask_top_k(out, scores, n, key, (size_t)value);
  case WMF_MASK_RULE_TOP_FRACTION: return wmf_mask_top_fraction(out, scores, n, key, value);
  case WMF_MASK_RULE_QUANTILE: return wmf_mask_quantile(out, scores, n, key, value);
  case WMF_MASK_RULE_THRESHOLD:
    WMFI_REQUIRE(!isnan(value), "wmf_mask_select: the threshold is NaN");
    return wmf_mask_threshold(out, scores, n, key, value);
  }
  return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "wmf_mask_select: unknown rule %d", (int)rule);
}
