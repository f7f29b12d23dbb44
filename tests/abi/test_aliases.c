/* The 1.1 names of docs/api-style.md give what the 1.0 names they stand for give, on real objects and
 * on NULL; wmf_mask_select with the canonical ranking enum builds the masks of the 1.0 builders; the d
 * thresholds the library exports are WMF_AUDIT_D_THRESHOLDS. Links the shared library through the public
 * header only, so every name is checked as a program sees it. Argument: the folder of
 * tests/nn/gen_hostile_models.py's files (a tiny ResNet). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../check_run.h"
#include "wmfeat.h"

static const char *model_dir;

START_TEST(test_null_counts) {
  ck_assert_uint_eq(wmf_audit_class_count(NULL), 0);
  ck_assert_uint_eq(wmf_audit_feature_count(NULL), 0);
  ck_assert_uint_eq(wmf_audit_pair_count(NULL), 0);
  ck_assert_uint_eq(wmf_mask_feature_count(NULL), 0);
  ck_assert_uint_eq(wmf_mask_masked_count(NULL), 0);
  ck_assert_uint_eq(wmf_model_class_count(NULL), 0);
  ck_assert_uint_eq(wmf_probe_class_count(NULL), 0);
  ck_assert_uint_eq(wmf_probe_feature_count(NULL), 0);
  ck_assert_uint_eq(wmf_session_stage_feature_count(NULL), 0);
  ck_assert_uint_eq(wmf_weights_tensor_count(NULL), 0);
}
END_TEST

START_TEST(test_audit_counts) {
  wmf_audit *a = NULL;
  ck_assert_int_eq(wmf_audit_create(&a, 3, 5), WMF_OK);
  float cl[2 * 3] = {1, 2, 3, 4, 5, 6}, wl[2 * 3] = {2, 2, 3, 4, 5, 7};
  float cf[2 * 5] = {0}, wf[2 * 5] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  ck_assert_int_eq(wmf_audit_add(a, 2, cl, wl, cf, wf, NULL), WMF_OK);
  ck_assert_uint_eq(wmf_audit_class_count(a), 3);
  ck_assert_uint_eq(wmf_audit_feature_count(a), 5);
  ck_assert_uint_eq(wmf_audit_pair_count(a), 2);
  ck_assert_uint_eq(wmf_audit_class_count(a), wmf_audit_num_classes(a));
  ck_assert_uint_eq(wmf_audit_feature_count(a), wmf_audit_num_features(a));
  ck_assert_uint_eq(wmf_audit_pair_count(a), wmf_audit_num_pairs(a));
  wmf_audit_destroy(a);
}
END_TEST

START_TEST(test_mask_counts) {
  /* 7 channels, 2 masked: the feature count and the masked count differ, as wmf_mask_count's name hides */
  double s[7] = {0.5, 0.9, 0.5, 0.1, 0.6, 0.5, 0.55};
  wmf_mask *m = NULL;
  ck_assert_int_eq(wmf_mask_top_k(&m, s, 7, WMF_MASK_BY_FROM_HALF, 2), WMF_OK);
  ck_assert_uint_eq(wmf_mask_feature_count(m), 7);
  ck_assert_uint_eq(wmf_mask_masked_count(m), 2);
  ck_assert_uint_eq(wmf_mask_feature_count(m), wmf_mask_num_features(m));
  ck_assert_uint_eq(wmf_mask_masked_count(m), wmf_mask_count(m));
  wmf_mask_destroy(m);
}
END_TEST

START_TEST(test_probe_counts) {
  float x[4 * 3] = {1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1};
  int32_t y[4] = {0, 1, 2, 1};
  wmf_probe *p = NULL;
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 3, 3, NULL, NULL), WMF_OK);
  ck_assert_uint_eq(wmf_probe_class_count(p), 3);
  ck_assert_uint_eq(wmf_probe_feature_count(p), 3);
  ck_assert_uint_eq(wmf_probe_class_count(p), wmf_probe_num_classes(p));
  ck_assert_uint_eq(wmf_probe_feature_count(p), wmf_probe_num_features(p));
  wmf_probe_destroy(p);
}
END_TEST

START_TEST(test_weights_model_session_counts) {
  char path[4096];
  snprintf(path, sizeof path, "%s/resnet_basic.safetensors", model_dir);
  wmf_weights *w = NULL;
  ck_assert_msg(wmf_weights_open(&w, path, NULL) == WMF_OK, "%s", wmf_last_error());
  ck_assert_uint_gt(wmf_weights_tensor_count(w), 1);
  ck_assert_uint_eq(wmf_weights_tensor_count(w), wmf_weights_count(w));
  wmf_model *model = NULL;
  ck_assert_msg(wmf_model_load(&model, w, NULL, NULL) == WMF_OK, "%s", wmf_last_error());
  ck_assert_uint_eq(wmf_model_class_count(model), 5);
  ck_assert_uint_eq(wmf_model_class_count(model), wmf_model_num_classes(model));
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.input_height = o.input_width = 32;
  o.stage = "layer1"; /* 4 channels, while the head has 8 features and 5 classes */
  wmf_session *s = NULL;
  ck_assert_msg(wmf_session_create(&s, model, &o) == WMF_OK, "%s", wmf_last_error());
  ck_assert_uint_eq(wmf_session_stage_feature_count(s), 4);
  ck_assert_uint_eq(wmf_session_stage_feature_count(s), wmf_session_stage_count(s));
  wmf_session_destroy(s);
  wmf_model_destroy(model);
  wmf_weights_destroy(w);
}
END_TEST

/* The masked indices of a mask, as a bit string, and its threshold. */
static void describe(char *bits, double *threshold, const wmf_mask *m) {
  size_t n = wmf_mask_feature_count(m);
  for (size_t i = 0; i < n; i++) bits[i] = wmf_mask_is_masked(m, i) ? '1' : '0';
  bits[n] = 0;
  *threshold = wmf_mask_threshold_used(m);
}

START_TEST(test_mask_select_equals_builders) {
  enum { N = 9 };
  const double s[N] = {0.5, 0.91, 0.2, -0.3, 0.62, NAN, 0.05, 0.5, 0.74};
  const wmf_rank_order orders[3] = {WMF_RANK_DESCENDING, WMF_RANK_ABS, WMF_RANK_FROM_HALF};
  const wmf_mask_rank keys[3] = {WMF_MASK_BY_VALUE, WMF_MASK_BY_ABS, WMF_MASK_BY_FROM_HALF};
  const double values[4][3] = {{0, 3, 9}, {0, 0.3, 1}, {0, 0.25, 1}, {0.1, 0.4, 0.7}};
  for (int o = 0; o < 3; o++)
    for (int r = 0; r < 4; r++)
      for (int v = 0; v < 3; v++) {
        double x = values[r][v];
        wmf_mask *a = NULL, *b = NULL;
        ck_assert_msg(wmf_mask_select(&a, s, N, orders[o], (wmf_mask_rule)r, x) == WMF_OK, "%s", wmf_last_error());
        wmf_status st = r == WMF_MASK_RULE_TOP_K          ? wmf_mask_top_k(&b, s, N, keys[o], (size_t)x)
                        : r == WMF_MASK_RULE_TOP_FRACTION ? wmf_mask_top_fraction(&b, s, N, keys[o], x)
                        : r == WMF_MASK_RULE_QUANTILE     ? wmf_mask_quantile(&b, s, N, keys[o], x)
                                                          : wmf_mask_threshold(&b, s, N, keys[o], x);
        ck_assert_int_eq(st, WMF_OK);
        char ba[N + 1], bb[N + 1];
        double ta, tb;
        describe(ba, &ta, a), describe(bb, &tb, b);
        ck_assert_msg(!strcmp(ba, bb), "order %d rule %d value %g: %s vs %s", o, r, x, ba, bb);
        ck_assert(isnan(ta) ? isnan(tb) : ta == tb);
        wmf_mask_destroy(a), wmf_mask_destroy(b);
      }
  /* the canonical values differ from wmf_mask_rank's: WMF_RANK_ABS (2) is |score|, not |score - 0.5| */
  wmf_mask *m = NULL;
  ck_assert_int_eq(wmf_mask_select(&m, s, N, WMF_RANK_ABS, WMF_MASK_RULE_TOP_K, 1), WMF_OK);
  ck_assert(wmf_mask_is_masked(m, 1));
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_select(&m, s, N, WMF_RANK_FROM_HALF, WMF_MASK_RULE_TOP_K, 1), WMF_OK);
  ck_assert(wmf_mask_is_masked(m, 3)); /* |-0.3 - 0.5| = 0.8 */
  wmf_mask_destroy(m);
}
END_TEST

START_TEST(test_mask_select_refuses) {
  const double s[3] = {0.1, 0.5, 0.9};
  wmf_mask *m = (wmf_mask *)&m;
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, WMF_RANK_ASCENDING, WMF_MASK_RULE_TOP_K, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(m);
  ck_assert(strstr(wmf_last_error(), "WMF_RANK_ASCENDING"));
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, (wmf_rank_order)7, WMF_MASK_RULE_TOP_K, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, WMF_RANK_ABS, (wmf_mask_rule)4, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert(strstr(wmf_last_error(), "unknown rule"));
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, WMF_RANK_ABS, WMF_MASK_RULE_TOP_K, 1.5), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, WMF_RANK_ABS, WMF_MASK_RULE_TOP_K, 4), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, WMF_RANK_ABS, WMF_MASK_RULE_TOP_K, -1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, WMF_RANK_ABS, WMF_MASK_RULE_QUANTILE, 1.5), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_select(&m, s, 3, WMF_RANK_ABS, WMF_MASK_RULE_THRESHOLD, NAN), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_select(&m, NULL, 3, WMF_RANK_ABS, WMF_MASK_RULE_THRESHOLD, 0.2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_select(NULL, s, 3, WMF_RANK_ABS, WMF_MASK_RULE_THRESHOLD, 0.2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(m);
}
END_TEST

START_TEST(test_d_thresholds) {
  static const double expected[WMF_AUDIT_D_THRESHOLD_COUNT] = WMF_AUDIT_D_THRESHOLDS;
  size_t n = 0;
  const double *t = wmf_audit_d_thresholds(&n);
  ck_assert_ptr_nonnull(t);
  ck_assert_uint_eq(n, WMF_AUDIT_D_THRESHOLD_COUNT);
  ck_assert_uint_eq(sizeof expected / sizeof *expected, 4);
  for (size_t i = 0; i < n; i++) ck_assert(t[i] == expected[i]);
  ck_assert(t[0] == 0.7 && t[3] == 0.95);
  ck_assert_ptr_eq(wmf_audit_d_thresholds(NULL), t);
}
END_TEST

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_aliases HOSTILE_MODEL_DIR\n");
    return 2;
  }
  model_dir = argv[1];
  Suite *s = suite_create("aliases");
  TCase *t = tcase_create("aliases");
  tcase_add_test(t, test_null_counts);
  tcase_add_test(t, test_audit_counts);
  tcase_add_test(t, test_mask_counts);
  tcase_add_test(t, test_probe_counts);
  tcase_add_test(t, test_weights_model_session_counts);
  tcase_add_test(t, test_mask_select_equals_builders);
  tcase_add_test(t, test_mask_select_refuses);
  tcase_add_test(t, test_d_thresholds);
  suite_add_tcase(s, t);
  return run_suite(s);
}
