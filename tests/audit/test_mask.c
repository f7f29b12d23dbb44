/* Masks: construction by top-k / fraction / threshold, NaN handling, apply, union / intersection,
 * JSON and .npy files. With arguments `roundtrip IN.npy OUT.npy OUT.json` it converts a file for
 * check_mask_numpy.py, which checks the files with numpy. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask/mask_internal.h"
#include "../check_run.h"

static char dir[64];
static void setup(void) {
  strcpy(dir, "/tmp/wmf_mask_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
static const char *tmp(const char *name) {
  static char p[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static const double auc[8] = {0.5, 0.95, 0.1, NAN, 0.62, 0.45, 0.8, 0.5};

START_TEST(build_by_rank) {
  wmf_mask *m;
  size_t idx[8];
  ck_assert_int_eq(wmf_mask_top_k(&m, auc, 8, WMF_MASK_BY_FROM_HALF, 3), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 3);
  ck_assert_int_eq(wmf_mask_indices(idx, 8, m), WMF_OK);
  ck_assert(idx[0] == 1 && idx[1] == 2 && idx[2] == 6); /* |AUC - 0.5| = .45, .4, .3 */
  ck_assert_int_eq(wmf_mask_indices(idx, 2, m), WMF_ERR_BUFFER_TOO_SMALL);
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_top_k(&m, auc, 8, WMF_MASK_BY_VALUE, 2), WMF_OK);
  ck_assert(wmf_mask_is_masked(m, 1) && wmf_mask_is_masked(m, 6) && !wmf_mask_is_masked(m, 2));
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_top_k(&m, auc, 8, WMF_MASK_BY_FROM_HALF, 8), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 7); /* the NaN channel is never masked */
  ck_assert(!wmf_mask_is_masked(m, 3));
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_top_fraction(&m, auc, 8, WMF_MASK_BY_FROM_HALF, 0.25), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 2);
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_top_fraction(&m, auc, 8, WMF_MASK_BY_FROM_HALF, 0.0), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 0);
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_threshold(&m, auc, 8, WMF_MASK_BY_FROM_HALF, 0.2), WMF_OK); /* d > 0.7 */
  ck_assert_uint_eq(wmf_mask_count(m), 3);
  wmf_mask_destroy(m);
  double z[4] = {-3, 1, 2.5, -0.5};
  ck_assert_int_eq(wmf_mask_top_k(&m, z, 4, WMF_MASK_BY_ABS, 2), WMF_OK);
  ck_assert(wmf_mask_is_masked(m, 0) && wmf_mask_is_masked(m, 2));
  ck_assert_int_eq(wmf_mask_set(m, 0, 0), WMF_OK);
  ck_assert_int_eq(wmf_mask_set(m, 3, 1), WMF_OK);
  ck_assert_int_eq(wmf_mask_set(m, 3, 1), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 2);
  ck_assert_int_eq(wmf_mask_set(m, 4, 1), WMF_ERR_INVALID_ARGUMENT);
  wmf_mask_destroy(m);
  m = (wmf_mask *)1;
  ck_assert_int_eq(wmf_mask_top_k(&m, auc, 8, WMF_MASK_BY_VALUE, 9), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(m);
  ck_assert_int_eq(wmf_mask_top_fraction(&m, auc, 8, WMF_MASK_BY_VALUE, 1.5), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_top_fraction(&m, auc, 8, WMF_MASK_BY_VALUE, NAN), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_top_k(&m, auc, 0, WMF_MASK_BY_VALUE, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_top_k(&m, auc, 8, (wmf_mask_rank)9, 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_mask_create(&m, 0), WMF_ERR_INVALID_ARGUMENT);
  wmf_mask_destroy(NULL);
}
END_TEST

/* Mark My Words' rule, key > torch.quantile(key, 1 - p): worked by hand. */
START_TEST(quantile_rule) {
  wmf_mask *m;
  /* sorted keys 0 0 .05 .12 .3 .4 .45 (the NaN left out): 1 - p = 0.75 sits at position 0.75 * 6 = 4.5,
   * between .3 and .4: 0.35; above it .4 and .45 */
  ck_assert_int_eq(wmf_mask_quantile(&m, auc, 8, WMF_MASK_BY_FROM_HALF, 0.25), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 2);
  ck_assert(wmf_mask_is_masked(m, 1) && wmf_mask_is_masked(m, 2) && !wmf_mask_is_masked(m, 6));
  ck_assert_double_eq_tol(wmf_mask_threshold_used(m), 0.35, 1e-15);
  wmf_mask_destroy(m);
  /* ties with the quantile are never masked: four equal keys, nothing is above their quantile, where
   * the count rule masks two */
  const double tied[4] = {0.9, 0.1, 0.9, 0.1};
  ck_assert_int_eq(wmf_mask_quantile(&m, tied, 4, WMF_MASK_BY_FROM_HALF, 0.5), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 0);
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_top_fraction(&m, tied, 4, WMF_MASK_BY_FROM_HALF, 0.5), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(m), 2);
  ck_assert(isnan(wmf_mask_threshold_used(m)));
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_quantile(&m, auc, 8, WMF_MASK_BY_FROM_HALF, 0.0), WMF_OK); /* p = 0: nothing */
  ck_assert_uint_eq(wmf_mask_count(m), 0);
  wmf_mask_destroy(m);
  ck_assert_int_eq(wmf_mask_quantile(&m, auc, 8, WMF_MASK_BY_FROM_HALF, -0.1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(m);
  ck_assert(isnan(wmf_mask_threshold_used(NULL)));
}
END_TEST

START_TEST(apply_and_combine) {
  wmf_mask *a, *b, *u, *i;
  ck_assert_int_eq(wmf_mask_top_k(&a, auc, 8, WMF_MASK_BY_FROM_HALF, 2), WMF_OK); /* 1, 2 */
  ck_assert_int_eq(wmf_mask_create(&b, 8), WMF_OK);
  wmf_mask_set(b, 2, 1), wmf_mask_set(b, 7, 1);
  ck_assert_int_eq(wmf_mask_union(&u, a, b), WMF_OK);
  ck_assert_int_eq(wmf_mask_intersection(&i, a, b), WMF_OK);
  ck_assert_uint_eq(wmf_mask_count(u), 3);
  ck_assert_uint_eq(wmf_mask_count(i), 1);
  ck_assert(wmf_mask_is_masked(i, 2));
  float f[16], mult[8];
  for (int k = 0; k < 16; k++) f[k] = (float)(k + 1);
  ck_assert_int_eq(wmf_mask_apply(u, f, 2, 8), WMF_OK);
  for (int k = 0; k < 16; k++) ck_assert(f[k] == ((k % 8 == 1 || k % 8 == 2 || k % 8 == 7) ? 0.0f : (float)(k + 1)));
  ck_assert_int_eq(wmf_mask_apply(u, f, 2, 7), WMF_ERR_SHAPE);
  ck_assert_int_eq(wmf_mask_multiplier(mult, 8, u), WMF_OK);
  ck_assert(mult[1] == 0 && mult[0] == 1 && mult[7] == 0);
  wmf_mask *c;
  ck_assert_int_eq(wmf_mask_create(&c, 9), WMF_OK);
  wmf_mask_destroy(u);
  ck_assert_int_eq(wmf_mask_union(&u, a, c), WMF_ERR_SHAPE); /* *out is NULL on error */
  ck_assert_ptr_null(u);
  wmf_mask_destroy(a), wmf_mask_destroy(b), wmf_mask_destroy(c), wmf_mask_destroy(i);
}
END_TEST

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

START_TEST(json_roundtrip_and_validation) {
  wmf_mask *a, *b;
  ck_assert_int_eq(wmf_mask_top_k(&a, auc, 8, WMF_MASK_BY_FROM_HALF, 3), WMF_OK);
  ck_assert_int_eq(wmf_mask_save_json(a, tmp("m.json")), WMF_OK);
  ck_assert_int_eq(wmf_mask_load_json(&b, tmp("m.json")), WMF_OK);
  ck_assert_uint_eq(wmf_mask_num_features(b), 8);
  for (size_t k = 0; k < 8; k++) ck_assert_int_eq(wmf_mask_is_masked(a, k), wmf_mask_is_masked(b, k));
  ck_assert(b->rank == WMF_MASK_BY_FROM_HALF && b->scores && isnan(b->scores[3]) && b->scores[1] == 0.95);
  wmf_mask_destroy(b);
  static const char *bad[] = {
      "[]", "{\"format\": \"x\"}",
      "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":4,\"masked\":[4],\"scores\":null}",
      "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":4,\"masked\":[1,1],\"scores\":null}",
      "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":4,\"masked\":[1],\"scores\":[1,2]}",
      "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":0,\"masked\":[],\"scores\":null}",
      "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":4,\"masked\":[-1],\"scores\":null}",
      "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":4,\"masked\":[1],\"scores\":null,\"rank\":\"x\"}",
      "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":4,\"masked\":[1] truncated"};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    write_file(tmp("bad.json"), bad[k]);
    b = (wmf_mask *)1;
    ck_assert_msg(wmf_mask_load_json(&b, tmp("bad.json")) == WMF_ERR_CORRUPT, "accepted %s", bad[k]);
    ck_assert_ptr_null(b);
  }
  write_file(tmp("new.json"), "{\"format\":\"wmfeat-mask\",\"version\":2,\"num_features\":4,\"masked\":[]}");
  ck_assert_int_eq(wmf_mask_load_json(&b, tmp("new.json")), WMF_ERR_UNSUPPORTED);
  write_file(tmp("ok.json"), "{\"format\":\"wmfeat-mask\",\"version\":1,\"num_features\":4,\"masked\":[3,0],\"scores\":null}");
  ck_assert_int_eq(wmf_mask_load_json(&b, tmp("ok.json")), WMF_OK);
  ck_assert(wmf_mask_count(b) == 2 && wmf_mask_is_masked(b, 0) && wmf_mask_is_masked(b, 3) && !b->scores);
  wmf_mask_destroy(b);
  wmf_mask_destroy(a);
}
END_TEST

START_TEST(npy_roundtrip_and_validation) {
  wmf_mask *a, *b;
  ck_assert_int_eq(wmf_mask_top_k(&a, auc, 8, WMF_MASK_BY_FROM_HALF, 3), WMF_OK);
  ck_assert_int_eq(wmf_mask_save_npy(a, tmp("m.npy")), WMF_OK);
  ck_assert_int_eq(wmf_mask_load_npy(&b, tmp("m.npy")), WMF_OK);
  for (size_t k = 0; k < 8; k++) ck_assert_int_eq(wmf_mask_is_masked(a, k), wmf_mask_is_masked(b, k));
  wmf_mask_destroy(b);
  FILE *f = fopen(tmp("m.npy"), "rb");
  unsigned char buf[256];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert_uint_eq(n, 128 + 32);
  buf[128 + 4] = 0x40; /* 2.0 is not a multiplier */
  f = fopen(tmp("bad.npy"), "wb");
  fwrite(buf, 1, n, f);
  fclose(f);
  ck_assert_int_eq(wmf_mask_load_npy(&b, tmp("bad.npy")), WMF_ERR_CORRUPT);
  f = fopen(tmp("short.npy"), "wb");
  fwrite(buf, 1, n - 1, f);
  fclose(f);
  ck_assert_int_eq(wmf_mask_load_npy(&b, tmp("short.npy")), WMF_ERR_CORRUPT);
  write_file(tmp("text.npy"), "hello");
  ck_assert_int_eq(wmf_mask_load_npy(&b, tmp("text.npy")), WMF_ERR_CORRUPT);
  wmf_mask_destroy(a);
}
END_TEST

/* For check_mask_numpy.py: load IN.npy (written by numpy), save it as OUT.npy and OUT.json. */
static int roundtrip(const char *in, const char *out_npy, const char *out_json) {
  wmf_mask *m;
  if (wmf_mask_load_npy(&m, in) || wmf_mask_save_npy(m, out_npy) || wmf_mask_save_json(m, out_json)) {
    fprintf(stderr, "roundtrip: %s\n", wmf_last_error());
    return 1;
  }
  wmf_mask_destroy(m);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "roundtrip")) return roundtrip(argv[2], argv[3], argv[4]);
  Suite *s = suite_create("mask");
  TCase *tc = tcase_create("mask");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, build_by_rank);
  tcase_add_test(tc, quantile_rule);
  tcase_add_test(tc, apply_and_combine);
  tcase_add_test(tc, json_roundtrip_and_validation);
  tcase_add_test(tc, npy_roundtrip_and_validation);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
