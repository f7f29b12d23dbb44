/* Audit unit tests: argument checks, degenerate statistics, rankings, names, save/load validation,
 * and that sharded-then-merged audits equal one run exactly. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_internal.h"
#include "../check_run.h"

static char tmpdir[64];

static void setup(void) {
  strcpy(tmpdir, "/tmp/wmf_audit_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}
static const char *tmp(const char *name) {
  static char p[4][256];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  return p[k];
}

/* Deterministic pseudo-random data: xorshift. */
static uint64_t rng = 88172645463325252ull;
static double uniform(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

typedef struct data {
  size_t n, C, F;
  float *cl, *wl, *cf, *wf;
  int32_t *labels;
} data;

static data make_data(size_t n, size_t C, size_t F) {
  data d = {n, C, F, malloc(n * C * 4), malloc(n * C * 4), malloc(n * F * 4), malloc(n * F * 4), malloc(n * 4)};
  for (size_t i = 0; i < n * C; i++) {
    d.cl[i] = (float)(4 * uniform() - 2);
    d.wl[i] = d.cl[i] + (float)(((i % C) == 1 ? 1.0 : 0.0) + uniform() - 0.5);
  }
  for (size_t i = 0; i < n * F; i++) {
    d.cf[i] = (float)fmax(0, round(10 * (uniform() - 0.3)) / 10); /* ReLU-like, with ties */
    d.wf[i] = (float)fmax(0, d.cf[i] + round(10 * (uniform() - 0.5 + 0.05 * (double)(i % F))) / 10);
  }
  for (size_t i = 0; i < n; i++) d.labels[i] = (i % 3 == 0) ? WMF_NO_LABEL : (int32_t)(i % C);
  return d;
}
static void free_data(data *d) { free(d->cl), free(d->wl), free(d->cf), free(d->wf), free(d->labels); }

static void add_range(wmf_audit *a, const data *d, size_t from, size_t to, size_t batch) {
  for (size_t i = from; i < to; i += batch) {
    size_t m = to - i < batch ? to - i : batch;
    ck_assert_int_eq(wmf_audit_add(a, m, d->cl + i * d->C, d->wl + i * d->C, d->cf + i * d->F, d->wf + i * d->F,
                                   d->labels + i), WMF_OK);
  }
}

/* Every score, accuracy and count of two audits are bitwise equal. */
static void assert_same_results(wmf_audit *a, wmf_audit *b) {
  size_t C = wmf_audit_num_classes(a), F = wmf_audit_num_features(a);
  ck_assert_uint_eq(C, wmf_audit_num_classes(b));
  ck_assert_uint_eq(F, wmf_audit_num_features(b));
  ck_assert_uint_eq(wmf_audit_num_pairs(a), wmf_audit_num_pairs(b));
  double *va = malloc(8 * (C + F)), *vb = malloc(8 * (C + F));
  for (int s = 0; s < WMF_AUDIT_SCORE_COUNT; s++) {
    ck_assert_int_eq(wmf_audit_scores(va, C, a, WMF_AUDIT_CLASSES, (wmf_audit_score)s), WMF_OK);
    ck_assert_int_eq(wmf_audit_scores(vb, C, b, WMF_AUDIT_CLASSES, (wmf_audit_score)s), WMF_OK);
    ck_assert_msg(!memcmp(va, vb, 8 * C), "class score %d differs", s);
    if (s >= WMFI_AUDIT_COLUMN_SCORES || !F) continue;
    ck_assert_int_eq(wmf_audit_scores(va, F, a, WMF_AUDIT_CHANNELS, (wmf_audit_score)s), WMF_OK);
    ck_assert_int_eq(wmf_audit_scores(vb, F, b, WMF_AUDIT_CHANNELS, (wmf_audit_score)s), WMF_OK);
    ck_assert_msg(!memcmp(va, vb, 8 * F), "channel score %d differs", s);
  }
  double ac[2], aw[2];
  size_t l[2];
  ck_assert_int_eq(wmf_audit_accuracy(&ac[0], &aw[0], &l[0], a), WMF_OK);
  ck_assert_int_eq(wmf_audit_accuracy(&ac[1], &aw[1], &l[1], b), WMF_OK);
  ck_assert(!memcmp(&ac[0], &ac[1], 8) && !memcmp(&aw[0], &aw[1], 8) && l[0] == l[1]);
  free(va), free(vb);
}

START_TEST(create_and_arguments) {
  wmf_audit *a = (wmf_audit *)1;
  ck_assert_int_eq(wmf_audit_create(&a, 0, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(a);
  ck_assert_int_eq(wmf_audit_create(NULL, 3, 3), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_create(&a, (size_t)1 << 30, 1), WMF_ERR_LIMIT);
  ck_assert_int_eq(wmf_audit_create(&a, 3, 2), WMF_OK);
  double v[3];
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, WMF_AUDIT_CLASSES, WMF_SCORE_AUC), WMF_ERR_STATE);
  float cl[6] = {1, 2, 3, 4, 5, 6}, wl[6] = {1, 2, 3, 4, 5, 6}, f[4] = {0, 1, 2, 3};
  int32_t bad[2] = {0, 3};
  ck_assert_int_eq(wmf_audit_add(a, 2, cl, wl, f, f, bad), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_add(a, 2, cl, NULL, f, f, NULL), WMF_ERR_INVALID_ARGUMENT);
  wl[4] = NAN;
  ck_assert_int_eq(wmf_audit_add(a, 2, cl, wl, f, f, NULL), WMF_ERR_NUMERIC);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "wm_logits[1][1]"));
  wl[4] = INFINITY;
  ck_assert_int_eq(wmf_audit_add(a, 2, cl, wl, f, f, NULL), WMF_ERR_NUMERIC);
  ck_assert_uint_eq(wmf_audit_num_pairs(a), 0); /* all or nothing */
  wl[4] = 5;
  ck_assert_int_eq(wmf_audit_add(a, 2, cl, wl, f, f, NULL), WMF_OK);
  ck_assert_int_eq(wmf_audit_scores(v, 2, a, WMF_AUDIT_CLASSES, WMF_SCORE_AUC), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, WMF_AUDIT_CHANNELS, WMF_SCORE_DELTA_PROB), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, WMF_AUDIT_CLASSES, (wmf_audit_score)99), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, (wmf_audit_target)7, WMF_SCORE_AUC), WMF_ERR_INVALID_ARGUMENT);
  /* identical clean and wm values: AUC 0.5, no paired differences, no labels */
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, WMF_AUDIT_CLASSES, WMF_SCORE_AUC), WMF_OK);
  ck_assert(v[0] == 0.5 && v[1] == 0.5 && v[2] == 0.5);
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, WMF_AUDIT_CLASSES, WMF_SCORE_WILCOXON_Z), WMF_OK);
  ck_assert(isnan(v[0]));
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, WMF_AUDIT_CLASSES, WMF_SCORE_PAIRED_DZ), WMF_OK);
  ck_assert(isnan(v[1]));
  ck_assert_int_eq(wmf_audit_scores(v, 3, a, WMF_AUDIT_CLASSES, WMF_SCORE_CLEAN_ACC), WMF_OK);
  ck_assert(isnan(v[0]));
  double acc;
  size_t lab = 9;
  ck_assert_int_eq(wmf_audit_accuracy(&acc, NULL, &lab, a), WMF_OK);
  ck_assert(isnan(acc) && lab == 0);
  wmf_audit_destroy(a);
  wmf_audit_destroy(NULL);
}
END_TEST

START_TEST(auc_degenerate_cases) {
  float a[3] = {1, 2, 3}, b[2] = {2, 2}, nan[1] = {NAN};
  double v = 0;
  ck_assert_int_eq(wmf_auc(&v, a, 0, b, 2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert(isnan(v));
  ck_assert_int_eq(wmf_auc(&v, a, 3, b, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_auc(&v, a, 3, nan, 1), WMF_ERR_NUMERIC);
  ck_assert_int_eq(wmf_auc(&v, a, 3, b, 2), WMF_OK);
  ck_assert(v == 0.5); /* 2 beats 1, ties 2, loses to 3 */
  ck_assert_int_eq(wmf_auc(&v, b, 2, a, 3), WMF_OK);
  ck_assert(v == 0.5);
  float lo[2] = {-1, -0.0f}, hi[2] = {0.0f, 4};
  ck_assert_int_eq(wmf_auc(&v, lo, 2, hi, 2), WMF_OK);
  ck_assert_double_eq(v, 3.5 / 4); /* -0 and +0 tie */
}
END_TEST

/* wmf_auc_f64 compares in double: scores float32 rounds together stay apart (sklearn gives 1.0). */
START_TEST(auc_in_double_precision) {
  double neg[10], pos[10], v = 0;
  float negf[10], posf[10];
  for (int i = 0; i < 10; i++) neg[i] = 1.0, pos[i] = 1.0 + 1e-9, negf[i] = (float)neg[i], posf[i] = (float)pos[i];
  ck_assert_int_eq(wmf_auc_f64(&v, neg, 10, pos, 10), WMF_OK);
  ck_assert_double_eq(v, 1.0);
  ck_assert_int_eq(wmf_auc(&v, negf, 10, posf, 10), WMF_OK);
  ck_assert_double_eq(v, 0.5); /* the float path cannot tell them apart */
  double lo[3] = {-1, -0.0, 1e-300}, hi[2] = {0.0, 2e-300}, nan[1] = {NAN};
  ck_assert_int_eq(wmf_auc_f64(&v, lo, 3, hi, 2), WMF_OK);
  ck_assert_double_eq(v, 4.5 / 6); /* 0 beats -1, ties -0, loses to 1e-300; 2e-300 beats all three */
  ck_assert_int_eq(wmf_auc_f64(&v, lo, 0, hi, 2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert(isnan(v));
  ck_assert_int_eq(wmf_auc_f64(&v, lo, 3, nan, 1), WMF_ERR_NUMERIC);
  ck_assert_int_eq(wmf_auc_f64(&v, NULL, 3, hi, 2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_auc_f64(NULL, lo, 3, hi, 2), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The WordNet ids: sorted (the class order), well formed, and the lookup inverts the list. */
START_TEST(imagenet_wordnet_ids) {
  ck_assert_str_eq(wmf_imagenet_wnid(0), "n01440764");   /* tench */
  ck_assert_str_eq(wmf_imagenet_wnid(478), "n02971356"); /* carton */
  ck_assert_str_eq(wmf_imagenet_wnid(999), "n15075141"); /* toilet tissue */
  ck_assert_ptr_null(wmf_imagenet_wnid(1000));
  for (size_t i = 0; i < WMF_IMAGENET_CLASSES; i++) {
    const char *w = wmf_imagenet_wnid(i);
    ck_assert_uint_eq(strlen(w), 9);
    ck_assert(w[0] == 'n' && strspn(w + 1, "0123456789") == 8);
    if (i) ck_assert_int_lt(strcmp(wmf_imagenet_wnid(i - 1), w), 0);
    size_t k = SIZE_MAX;
    ck_assert_int_eq(wmf_imagenet_class_from_wnid(&k, w), WMF_OK);
    ck_assert_uint_eq(k, i);
  }
  size_t k = 7;
  ck_assert_int_eq(wmf_imagenet_class_from_wnid(&k, "n01440765"), WMF_ERR_NOT_FOUND);
  ck_assert_int_eq(wmf_imagenet_class_from_wnid(&k, "n0144076"), WMF_ERR_NOT_FOUND);
  ck_assert_int_eq(wmf_imagenet_class_from_wnid(&k, ""), WMF_ERR_NOT_FOUND);
  ck_assert_uint_eq(k, 7);
  ck_assert_int_eq(wmf_imagenet_class_from_wnid(NULL, "n01440764"), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_imagenet_class_from_wnid(&k, NULL), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(ranking_and_counts) {
  double s[6] = {0.5, 0.9, 0.05, NAN, 0.9, 0.6};
  size_t r[6];
  ck_assert_int_eq(wmfi_rank_scores(r, 6, s, 6, WMF_RANK_DESCENDING), WMF_OK);
  size_t want_desc[6] = {1, 4, 5, 0, 2, 3};
  ck_assert(!memcmp(r, want_desc, sizeof r));
  ck_assert_int_eq(wmfi_rank_scores(r, 3, s, 6, WMF_RANK_FROM_HALF), WMF_OK);
  ck_assert(r[0] == 2 && r[1] == 1 && r[2] == 4);
  ck_assert_int_eq(wmfi_rank_scores(r, 2, s, 6, WMF_RANK_ASCENDING), WMF_OK);
  ck_assert(r[0] == 2 && r[1] == 0);
  ck_assert_int_eq(wmfi_rank_scores(r, 7, s, 6, WMF_RANK_ABS), WMF_ERR_INVALID_ARGUMENT);

  data d = make_data(500, 4, 6);
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, 4, 6), WMF_OK);
  add_range(a, &d, 0, 500, 64);
  double auc[4], dd[6];
  size_t top[2], cnt;
  ck_assert_int_eq(wmf_audit_scores(auc, 4, a, WMF_AUDIT_CLASSES, WMF_SCORE_AUC), WMF_OK);
  ck_assert_int_eq(wmf_audit_rank(top, 2, a, WMF_AUDIT_CLASSES, WMF_SCORE_D, WMF_RANK_DESCENDING), WMF_OK);
  ck_assert_uint_eq(top[0], 1); /* class 1 is shifted by +1 */
  ck_assert_double_gt(auc[1], 0.7);
  ck_assert_int_eq(wmf_audit_scores(dd, 6, a, WMF_AUDIT_CHANNELS, WMF_SCORE_D), WMF_OK);
  size_t want = 0;
  for (int i = 0; i < 6; i++) want += dd[i] > 0.7;
  ck_assert_int_eq(wmf_audit_count_above(&cnt, a, WMF_AUDIT_CHANNELS, WMF_SCORE_D, 0.7), WMF_OK);
  ck_assert_uint_eq(cnt, want);
  ck_assert_int_eq(wmf_audit_count_above(&cnt, a, WMF_AUDIT_CHANNELS, WMF_SCORE_D, 1.0), WMF_OK);
  ck_assert_uint_eq(cnt, 0);
  wmf_audit_destroy(a);
  free_data(&d);
}
END_TEST

START_TEST(class_names) {
  ck_assert_str_eq(wmf_imagenet_class_name(478), "carton");
  ck_assert_str_eq(wmf_imagenet_class_name(664), "monitor");
  ck_assert_str_eq(wmf_imagenet_class_name(462), "broom");
  ck_assert_str_eq(wmf_imagenet_class_name(411), "apron");
  ck_assert_str_eq(wmf_imagenet_class_name(771), "safe");
  ck_assert_str_eq(wmf_imagenet_class_name(519), "crate");
  ck_assert_str_eq(wmf_imagenet_class_name(549), "envelope");
  ck_assert_str_eq(wmf_imagenet_class_name(692), "packet");
  ck_assert_str_eq(wmf_imagenet_class_name(0), "tench");
  ck_assert_ptr_null(wmf_imagenet_class_name(1000));
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, 1000, 0), WMF_OK);
  ck_assert_str_eq(wmf_audit_class_name(a, 478), "carton");
  wmf_audit_destroy(a);
  ck_assert_int_eq(wmf_audit_create(&a, 3, 0), WMF_OK);
  ck_assert_ptr_null(wmf_audit_class_name(a, 0));
  FILE *f = fopen(tmp("names.txt"), "w");
  fputs("zero\r\nein\xc3\xa9\ntwo, \"quoted\"\n", f);
  fclose(f);
  ck_assert_int_eq(wmf_audit_load_class_names(a, tmp("names.txt")), WMF_OK);
  ck_assert_str_eq(wmf_audit_class_name(a, 0), "zero");
  ck_assert_str_eq(wmf_audit_class_name(a, 1), "ein\xc3\xa9");
  ck_assert_str_eq(wmf_audit_class_name(a, 2), "two, \"quoted\"");
  ck_assert_ptr_null(wmf_audit_class_name(a, 3));
  f = fopen(tmp("short.txt"), "w");
  fputs("a\nb\n", f);
  fclose(f);
  ck_assert_int_eq(wmf_audit_load_class_names(a, tmp("short.txt")), WMF_ERR_SHAPE);
  ck_assert_str_eq(wmf_audit_class_name(a, 0), "zero"); /* unchanged on failure */
  f = fopen(tmp("bad.txt"), "w");
  fputs("a\n\xff\nc\n", f);
  fclose(f);
  ck_assert_int_eq(wmf_audit_load_class_names(a, tmp("bad.txt")), WMF_ERR_UTF8);
  ck_assert_int_eq(wmf_audit_load_class_names(a, tmp("missing.txt")), WMF_ERR_IO);
  const char *two[2] = {"a", "b"};
  ck_assert_int_eq(wmf_audit_set_class_names(a, two, 2), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_set_class_names(a, NULL, 0), WMF_OK);
  ck_assert_ptr_null(wmf_audit_class_name(a, 0));
  wmf_audit_destroy(a);
}
END_TEST

/* Class names pass the library's one strict UTF-8 check (the audit used to keep its own, which let
 * overlong forms and surrogates through; the JSON writer then failed with a false "out of memory"). */
START_TEST(class_names_are_strict_utf8) {
  static const char *const bad[] = {"\xc0\xaf", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xed\xa0\x80",
                                    "\xed\xbf\xbf", "\xf4\x90\x80\x80", "ab\xe6\x8d", "\xf0\x9f\x98"};
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, 2, 0), WMF_OK);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *names[2] = {"ok", bad[i]};
    ck_assert_msg(wmf_audit_set_class_names(a, names, 2) == WMF_ERR_UTF8, "case %zu accepted", i);
    ck_assert_msg(strstr(wmf_last_error(), "name 1 is not valid UTF-8"), "case %zu: %s", i, wmf_last_error());
  }
  const char *good[2] = {"\xf4\x8f\xbf\xbf", "\xed\x9f\xbf \xe6\x8d\xb7"};
  ck_assert_int_eq(wmf_audit_set_class_names(a, good, 2), WMF_OK);
  float lc[2] = {1, 0}, lw[2] = {0, 1};
  ck_assert_int_eq(wmf_audit_add(a, 1, lc, lw, NULL, NULL, NULL), WMF_OK);
  ck_assert_msg(wmf_audit_write_json(a, tmp("names.json")) == WMF_OK, "%s", wmf_last_error());
  wmf_audit_destroy(a);
}
END_TEST

START_TEST(sharded_then_merged_equals_one_run) {
  data d = make_data(5000, 6, 9);
  wmf_audit *whole, *s1, *s2, *s3;
  ck_assert_int_eq(wmf_audit_create(&whole, 6, 9), WMF_OK);
  add_range(whole, &d, 0, 5000, 5000);
  ck_assert_int_eq(wmf_audit_create(&s1, 6, 9), WMF_OK);
  ck_assert_int_eq(wmf_audit_create(&s2, 6, 9), WMF_OK);
  ck_assert_int_eq(wmf_audit_create(&s3, 6, 9), WMF_OK);
  add_range(s1, &d, 0, 1500, 7); /* shard boundaries fall inside storage chunks */
  add_range(s2, &d, 1500, 1501, 1);
  add_range(s3, &d, 1501, 5000, 333);
  /* shards travel through files, as they would between machines */
  ck_assert_int_eq(wmf_audit_save(s2, tmp("s2.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_save(s3, tmp("s3.wmfa")), WMF_OK);
  wmf_audit *l2, *l3;
  ck_assert_int_eq(wmf_audit_load(&l2, tmp("s2.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_load(&l3, tmp("s3.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_merge(s1, l2), WMF_OK);
  ck_assert_int_eq(wmf_audit_merge(s1, l3), WMF_OK);
  assert_same_results(whole, s1);
  /* a merged audit keeps accepting pairs; the cache follows */
  add_range(whole, &d, 0, 10, 10);
  add_range(s1, &d, 0, 10, 3);
  assert_same_results(whole, s1);
  /* save / load of the whole is the same object too */
  ck_assert_int_eq(wmf_audit_save(whole, tmp("whole.wmfa")), WMF_OK);
  wmf_audit *lw;
  ck_assert_int_eq(wmf_audit_load(&lw, tmp("whole.wmfa")), WMF_OK);
  assert_same_results(whole, lw);
  wmf_audit *other;
  ck_assert_int_eq(wmf_audit_create(&other, 6, 8), WMF_OK);
  ck_assert_int_eq(wmf_audit_merge(s1, other), WMF_ERR_SHAPE);
  ck_assert_int_eq(wmf_audit_merge(s1, s1), WMF_ERR_INVALID_ARGUMENT);
  wmf_audit_destroy(other);
  wmf_audit_destroy(lw), wmf_audit_destroy(l2), wmf_audit_destroy(l3);
  wmf_audit_destroy(whole), wmf_audit_destroy(s1), wmf_audit_destroy(s2), wmf_audit_destroy(s3);
  free_data(&d);
}
END_TEST

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*n);
  ck_assert_uint_eq(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}
static void write_all(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  fclose(f);
}

START_TEST(damaged_files_are_refused) {
  data d = make_data(100, 3, 2);
  wmf_audit *a, *b = (wmf_audit *)1;
  ck_assert_int_eq(wmf_audit_create(&a, 3, 2), WMF_OK);
  add_range(a, &d, 0, 100, 100);
  const char *good = tmp("good.wmfa"), *bad = tmp("bad.wmfa");
  ck_assert_int_eq(wmf_audit_save(a, good), WMF_OK);
  size_t n;
  unsigned char *buf = read_all(good, &n);
  ck_assert_uint_eq(n, 56 + 8 + 4 * 100 * (2 * 3 + 2 * 2 + 1) + 8); /* header, empty provenance block */
  size_t flips[] = {0, 9, 17, 40, 49, 56, n / 2, n - 9, n - 1};
  for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
    buf[flips[i]] ^= 0x40;
    write_all(bad, buf, n);
    wmf_status st = wmf_audit_load(&b, bad);
    ck_assert_msg(st == WMF_ERR_CORRUPT || st == WMF_ERR_LIMIT || st == WMF_ERR_UNSUPPORTED,
                  "flip at %zu gave %s", flips[i], wmf_status_name(st));
    ck_assert_ptr_null(b);
    buf[flips[i]] ^= 0x40;
  }
  write_all(bad, buf, n - 1);
  ck_assert_int_eq(wmf_audit_load(&b, bad), WMF_ERR_CORRUPT);
  write_all(bad, buf, 10);
  ck_assert_int_eq(wmf_audit_load(&b, bad), WMF_ERR_CORRUPT);
  buf[8] = 3; /* a newer version */
  write_all(bad, buf, n);
  ck_assert_int_eq(wmf_audit_load(&b, bad), WMF_ERR_UNSUPPORTED);
  ck_assert_int_eq(wmf_audit_load(&b, tmp("none.wmfa")), WMF_ERR_IO);
  /* a failed save leaves the good file; a successful one replaces it and leaves no temporary */
  ck_assert_int_eq(wmf_audit_save(a, tmp("no/such/dir.wmfa")), WMF_ERR_IO);
  add_range(a, &d, 0, 10, 10);
  ck_assert_int_eq(wmf_audit_save(a, good), WMF_OK);
  ck_assert_int_eq(wmf_audit_load(&b, good), WMF_OK);
  ck_assert_uint_eq(wmf_audit_num_pairs(b), 110);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 2", tmpdir); /* good + bad */
  ck_assert_int_eq(system(cmd), 0);
  wmf_audit_destroy(b);
  wmf_audit_destroy(a);
  free(buf);
  free_data(&d);
}
END_TEST

START_TEST(reports_are_written) {
  data d = make_data(300, 4, 5);
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, 4, 5), WMF_OK);
  ck_assert_int_eq(wmf_audit_write_json(a, tmp("r.json")), WMF_ERR_STATE);
  add_range(a, &d, 0, 300, 50);
  const char *names[4] = {"a&b", "<c>", "d,\"e\"", "f"};
  ck_assert_int_eq(wmf_audit_set_class_names(a, names, 4), WMF_OK);
  ck_assert_int_eq(wmf_audit_write_json(a, tmp("r.json")), WMF_OK);
  json_error_t err;
  json_t *j = json_load_file(tmp("r.json"), 0, &err);
  ck_assert_msg(j != NULL, "JSON does not parse: %s", err.text);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "num_pairs")), 300);
  json_t *auc = json_object_get(json_object_get(j, "channels"), "auc");
  ck_assert_uint_eq(json_array_size(auc), 5);
  double v[5];
  ck_assert_int_eq(wmf_audit_scores(v, 5, a, WMF_AUDIT_CHANNELS, WMF_SCORE_AUC), WMF_OK);
  ck_assert_double_eq(json_real_value(json_array_get(auc, 3)), v[3]);
  ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(j, "classes"), "name"), 2)),
                   "d,\"e\"");
  ck_assert_uint_eq(json_array_size(json_object_get(j, "classes_above")), 4);
  json_decref(j);
  ck_assert_int_eq(wmf_audit_write_csv(a, WMF_AUDIT_CLASSES, tmp("c.csv")), WMF_OK);
  ck_assert_int_eq(wmf_audit_write_csv(a, WMF_AUDIT_CHANNELS, tmp("f.csv")), WMF_OK);
  size_t n;
  char *csv = (char *)read_all(tmp("c.csv"), &n);
  ck_assert(!strncmp(csv, "class,name,auc,d,mean_diff", 26));
  ck_assert_ptr_nonnull(memmem(csv, n, "\"d,\"\"e\"\"\"", 9));
  size_t lines = 0;
  for (size_t i = 0; i < n; i++) lines += csv[i] == '\n';
  ck_assert_uint_eq(lines, 5);
  free(csv);
  ck_assert_int_eq(wmf_audit_write_svg_classes(a, tmp("c.svg"), WMF_SCORE_AUC, WMF_RANK_FROM_HALF, 4), WMF_OK);
  ck_assert_int_eq(wmf_audit_write_svg_classes(a, tmp("c.svg"), WMF_SCORE_AUC, WMF_RANK_FROM_HALF, 5),
                   WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_write_svg_histogram(a, tmp("h.svg"), WMF_AUDIT_CHANNELS, WMF_SCORE_AUC, 20), WMF_OK);
  ck_assert_int_eq(wmf_audit_write_svg_histogram(a, tmp("h.svg"), WMF_AUDIT_CHANNELS, WMF_SCORE_DELTA_PROB, 20),
                   WMF_ERR_INVALID_ARGUMENT);
  /* (that a renderer accepts the figures: figures_render, test audit_figures) */
  char *svg = (char *)read_all(tmp("c.svg"), &n);
  ck_assert_ptr_nonnull(memmem(svg, n, "a&amp;b", 7));
  ck_assert_ptr_nonnull(memmem(svg, n, "&lt;c&gt;", 9));
  ck_assert_ptr_nonnull(memmem(svg, n, "</svg>", 6));
  free(svg);
  wmf_audit_destroy(a);
  free_data(&d);
}
END_TEST

/* The figures are well-formed SVG that a renderer (rsvg-convert) accepts: the meson test audit_figures,
 * a skip where rsvg-convert is missing. */
START_TEST(figures_render) {
  data d = make_data(300, 4, 5);
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, 4, 5), WMF_OK);
  add_range(a, &d, 0, 300, 50);
  const char *names[4] = {"a&b", "<c>", "d,\"e\"", "f"};
  ck_assert_int_eq(wmf_audit_set_class_names(a, names, 4), WMF_OK);
  ck_assert_int_eq(wmf_audit_write_svg_classes(a, tmp("c.svg"), WMF_SCORE_AUC, WMF_RANK_FROM_HALF, 4), WMF_OK);
  ck_assert_int_eq(wmf_audit_write_svg_histogram(a, tmp("h.svg"), WMF_AUDIT_CHANNELS, WMF_SCORE_AUC, 20), WMF_OK);
  const char *rsvg = getenv("RSVG_CONVERT");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' '%s' -o '%s' && '%s' '%s' -o '%s'", rsvg, tmp("c.svg"), tmp("c.png"), rsvg,
           tmp("h.svg"), tmp("h.png"));
  ck_assert_msg(system(cmd) == 0, "rsvg-convert refused a figure: %s", cmd);
  size_t n;
  unsigned char *png = read_all(tmp("c.png"), &n);
  ck_assert_uint_gt(n, 8);
  ck_assert(!memcmp(png, "\x89PNG", 4));
  free(png);
  wmf_audit_destroy(a);
  free_data(&d);
}
END_TEST

/* Stamps a run's provenance onto an audit (the fields the wmfeat program sets). */
static void stamp(wmf_audit *a, const char *weights, const char *seed, const char *shard) {
  ck_assert_int_eq(wmf_audit_set_provenance(a, "weights", weights), WMF_OK);
  ck_assert_int_eq(wmf_audit_set_provenance(a, "recipe", "text=\"x\" opacity=0.5"), WMF_OK);
  ck_assert_int_eq(wmf_audit_set_provenance(a, "seed", seed), WMF_OK);
  if (shard) ck_assert_int_eq(wmf_audit_set_provenance(a, "shard", shard), WMF_OK);
}

static uint64_t fnv1a(const unsigned char *p, size_t n) { /* the file checksum (lib/audit/io.c) */
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

START_TEST(provenance_is_saved_and_checked) {
  wmf_audit *a, *b, *now;
  ck_assert_int_eq(wmf_audit_create(&a, 3, 2), WMF_OK);
  ck_assert_ptr_null(wmf_audit_provenance(a, "weights"));
  ck_assert_uint_eq(wmf_audit_provenance_count(a), 0);
  stamp(a, "resnet18 9a3f000000000000", "0", "1/3");
  ck_assert_int_eq(wmf_audit_set_provenance(a, "Bad Key", "x"), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_set_provenance(a, "", "x"), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_audit_set_provenance(a, "k", "\xc0\xaf"), WMF_ERR_UTF8);   /* overlong */
  ck_assert_int_eq(wmf_audit_set_provenance(a, "k", "\xed\xa0\x80"), WMF_ERR_UTF8); /* surrogate */
  ck_assert_int_eq(wmf_audit_set_provenance(a, "tmp", "gone soon"), WMF_OK);
  ck_assert_int_eq(wmf_audit_set_provenance(a, "tmp", NULL), WMF_OK);
  ck_assert_uint_eq(wmf_audit_provenance_count(a), 4);
  ck_assert_str_eq(wmf_audit_provenance_key(a, 0), "recipe"); /* sorted */
  ck_assert_str_eq(wmf_audit_provenance_key(a, 3), "weights");
  ck_assert_ptr_null(wmf_audit_provenance_key(a, 4));
  ck_assert_int_eq(wmf_audit_set_items_done(a, 42), WMF_OK);
  ck_assert_int_eq(wmf_audit_save(a, tmp("p.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_load(&b, tmp("p.wmfa")), WMF_OK);
  ck_assert_uint_eq(wmf_audit_items_done(b), 42);
  ck_assert_uint_eq(wmf_audit_provenance_count(b), 4);
  ck_assert_str_eq(wmf_audit_provenance(b, "weights"), "resnet18 9a3f000000000000");
  ck_assert_str_eq(wmf_audit_provenance(b, "shard"), "1/3");
  /* resuming with other weights, another seed: refused, naming the field and both values */
  const char *key = NULL;
  ck_assert_int_eq(wmf_audit_create(&now, 3, 2), WMF_OK);
  stamp(now, "resnet18 9a3f000000000000", "0", "1/3");
  ck_assert_int_eq(wmf_audit_provenance_check(b, now, &key), WMF_OK);
  ck_assert_ptr_null(key);
  ck_assert_int_eq(wmf_audit_set_provenance(now, "weights", "resnet50 c21b000000000000"), WMF_OK);
  ck_assert_int_eq(wmf_audit_provenance_check(b, now, &key), WMF_ERR_MISMATCH);
  ck_assert_str_eq(key, "weights");
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "weights differs (state: resnet18 9a3f000000000000, now: resnet50 c21b"));
  ck_assert_int_eq(wmf_audit_set_provenance(now, "weights", "resnet18 9a3f000000000000"), WMF_OK);
  ck_assert_int_eq(wmf_audit_set_provenance(now, "seed", "7"), WMF_OK);
  ck_assert_int_eq(wmf_audit_provenance_check(b, now, &key), WMF_ERR_MISMATCH);
  ck_assert_str_eq(key, "seed");
  /* a field only one side has is a difference */
  ck_assert_int_eq(wmf_audit_set_provenance(now, "seed", "0"), WMF_OK);
  ck_assert_int_eq(wmf_audit_set_provenance(now, "stage", "penultimate"), WMF_OK);
  ck_assert_int_eq(wmf_audit_provenance_check(b, now, &key), WMF_ERR_MISMATCH);
  ck_assert_str_eq(key, "stage");
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "(state: (none), now: penultimate)"));
  /* long values (a recipe) are shown from their first differing token */
  char r1[400], r2[420];
  memset(r1, 'a', 300), r1[300] = 0;
  snprintf(r2, sizeof r2, "%s opacity=0.5", r1), snprintf(r1 + 300, 100, " opacity=0.4");
  ck_assert_int_eq(wmf_audit_set_provenance(now, "stage", NULL), WMF_OK);
  ck_assert_int_eq(wmf_audit_set_provenance(b, "recipe", r2), WMF_OK);
  ck_assert_int_eq(wmf_audit_set_provenance(now, "recipe", r1), WMF_OK);
  ck_assert_int_eq(wmf_audit_provenance_check(b, now, &key), WMF_ERR_MISMATCH);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "recipe differs (state: ...opacity=0.5, now: ...opacity=0.4)"));
  wmf_audit_destroy(now), wmf_audit_destroy(b), wmf_audit_destroy(a);
}
END_TEST

START_TEST(format_1_files_load_without_provenance) {
  /* a version-1 file as libwmfeat 1.0 wrote it: 40-byte header, 2 pairs, 1 class, 1 feature */
  unsigned char f[40 + 4 * 2 * 5 + 8] = "WMFAUDIT";
  f[8] = 1;
  f[16] = 1, f[24] = 1, f[32] = 2;
  float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  int32_t lab[2] = {0, -1};
  memcpy(f + 40, v, sizeof v), memcpy(f + 72, lab, sizeof lab);
  uint64_t h = fnv1a(f, 80);
  memcpy(f + 80, &h, 8);
  write_all(tmp("v1.wmfa"), f, sizeof f);
  wmf_audit *a, *now;
  ck_assert_int_eq(wmf_audit_load(&a, tmp("v1.wmfa")), WMF_OK);
  ck_assert_uint_eq(wmf_audit_num_pairs(a), 2);
  ck_assert_uint_eq(wmf_audit_provenance_count(a), 0);
  ck_assert_uint_eq(wmf_audit_items_done(a), 0);
  ck_assert_int_eq(wmf_audit_create(&now, 1, 1), WMF_OK);
  stamp(now, "w", "0", NULL);
  const char *key = NULL;
  ck_assert_int_eq(wmf_audit_provenance_check(a, now, &key), WMF_ERR_MISMATCH);
  ck_assert_str_eq(key, "");
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "no provenance"));
  wmf_audit_destroy(now), wmf_audit_destroy(a);
}
END_TEST

START_TEST(shards_merge_once_each_in_any_order) {
  data d = make_data(300, 4, 3);
  wmf_audit *whole, *sh[3], *m;
  ck_assert_int_eq(wmf_audit_create(&whole, 4, 3), WMF_OK);
  add_range(whole, &d, 0, 300, 300);
  size_t cut[4] = {0, 100, 200, 300};
  for (int i = 0; i < 3; i++) {
    char s[8];
    snprintf(s, sizeof s, "%d/3", i);
    ck_assert_int_eq(wmf_audit_create(&sh[i], 4, 3), WMF_OK);
    add_range(sh[i], &d, cut[i], cut[i + 1], 64);
    stamp(sh[i], "w 1", "0", s);
    ck_assert_int_eq(wmf_audit_set_items_done(sh[i], 101), WMF_OK);
  }
  /* wrong order: the result is still ordered by shard index, equal to one run */
  const wmf_audit *order[3] = {sh[2], sh[0], sh[1]};
  ck_assert_int_eq(wmf_audit_merge_shards(&m, order, 3), WMF_OK);
  assert_same_results(whole, m);
  ck_assert_str_eq(wmf_audit_provenance(m, "shard"), "0/1");
  ck_assert_str_eq(wmf_audit_provenance(m, "weights"), "w 1");
  ck_assert_uint_eq(wmf_audit_items_done(m), 303);
  wmf_audit_destroy(m);
  /* two copies of one shard */
  const wmf_audit *dup[3] = {sh[0], sh[1], sh[1]};
  m = (wmf_audit *)1;
  ck_assert_int_eq(wmf_audit_merge_shards(&m, dup, 3), WMF_ERR_MISMATCH);
  ck_assert_ptr_null(m);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "shard 1/3 is given twice (audits 1 and 2)"));
  /* a missing shard is named, wherever it is */
  const wmf_audit *miss[2] = {sh[2], sh[0]};
  ck_assert_int_eq(wmf_audit_merge_shards(&m, miss, 2), WMF_ERR_MISMATCH);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "shard 1/3 is missing"));
  const wmf_audit *last[2] = {sh[1], sh[0]};
  ck_assert_int_eq(wmf_audit_merge_shards(&m, last, 2), WMF_ERR_MISMATCH);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "shard 2/3 is missing"));
  /* a shard of another run (other seed) is refused, naming the field */
  ck_assert_int_eq(wmf_audit_set_provenance(sh[1], "seed", "5"), WMF_OK);
  ck_assert_int_eq(wmf_audit_merge_shards(&m, order, 3), WMF_ERR_MISMATCH);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "seed differs"));
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "shard 1/3"));
  /* the pairwise merge refuses the same, and a second copy of a shard */
  ck_assert_int_eq(wmf_audit_merge(sh[0], sh[1]), WMF_ERR_MISMATCH);
  ck_assert_int_eq(wmf_audit_set_provenance(sh[1], "seed", "0"), WMF_OK);
  wmf_audit *copy;
  ck_assert_int_eq(wmf_audit_save(sh[1], tmp("s1.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_load(&copy, tmp("s1.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_merge(sh[1], copy), WMF_ERR_MISMATCH);
  ck_assert_uint_eq(wmf_audit_num_pairs(sh[1]), 100);
  /* pairwise merges of different shards: dst no longer claims to be its shard */
  ck_assert_int_eq(wmf_audit_merge(sh[0], sh[1]), WMF_OK);
  ck_assert_ptr_null(wmf_audit_provenance(sh[0], "shard"));
  /* no shard field at all */
  wmf_audit *bare;
  ck_assert_int_eq(wmf_audit_create(&bare, 4, 3), WMF_OK);
  const wmf_audit *one[1] = {bare};
  ck_assert_int_eq(wmf_audit_merge_shards(&m, one, 1), WMF_ERR_MISMATCH);
  wmf_audit_destroy(bare), wmf_audit_destroy(copy);
  for (int i = 0; i < 3; i++) wmf_audit_destroy(sh[i]);
  wmf_audit_destroy(whole);
  free_data(&d);
}
END_TEST

START_TEST(empty_audits_save_load_and_merge) {
  wmf_audit *e[2], *l, *m;
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(wmf_audit_create(&e[i], 5, 4), WMF_OK);
    stamp(e[i], "w", "0", i ? "1/2" : "0/2");
  }
  ck_assert_int_eq(wmf_audit_save(e[1], tmp("empty.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_load(&l, tmp("empty.wmfa")), WMF_OK);
  ck_assert_uint_eq(wmf_audit_num_pairs(l), 0);
  ck_assert_uint_eq(wmf_audit_num_classes(l), 5);
  ck_assert_str_eq(wmf_audit_provenance(l, "shard"), "1/2");
  const wmf_audit *both[2] = {l, e[0]};
  ck_assert_int_eq(wmf_audit_merge_shards(&m, both, 2), WMF_OK);
  ck_assert_uint_eq(wmf_audit_num_pairs(m), 0);
  ck_assert_int_eq(wmf_audit_save(m, tmp("merged.wmfa")), WMF_OK);
  double s[5];
  ck_assert_int_eq(wmf_audit_scores(s, 5, m, WMF_AUDIT_CLASSES, WMF_SCORE_AUC), WMF_ERR_STATE);
  wmf_audit_destroy(m), wmf_audit_destroy(l), wmf_audit_destroy(e[0]), wmf_audit_destroy(e[1]);
}
END_TEST

START_TEST(saving_onto_a_fifo_writes_into_it) {
  /* a target that is not a regular file (a device, a FIFO) is written in place, never replaced */
  const char *fifo = tmp("fifo");
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  int rd = open(fifo, O_RDONLY | O_NONBLOCK);
  ck_assert_int_ge(rd, 0);
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, 1, 1), WMF_OK);
  ck_assert_int_eq(wmf_audit_save(a, fifo), WMF_OK);
  struct stat st;
  ck_assert_int_eq(stat(fifo, &st), 0);
  ck_assert_msg(S_ISFIFO(st.st_mode), "the FIFO was replaced by a regular file");
  unsigned char got[256];
  ck_assert_int_eq(read(rd, got, sizeof got), 56 + 8 + 8);
  ck_assert_int_eq(memcmp(got, "WMFAUDIT", 8), 0);
  close(rd);
  /* a folder is refused */
  ck_assert_int_eq(wmf_audit_save(a, tmpdir), WMF_ERR_IO);
  wmf_audit_destroy(a);
}
END_TEST

/* The whole bytes of a file (malloc'ed) and its size. */
static unsigned char *slurp(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  unsigned char *buf = malloc(1 << 16);
  *size = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

static void spill(const char *path, const unsigned char *bytes, size_t size) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(bytes, 1, size, f), size);
  fclose(f);
}

/* A file written by an earlier build: a fuzzing seed of tests/fuzz/corpus/audit_files without its first
 * byte (which picks the parser), into `out`; its bytes and size. */
static unsigned char *seed_file(const char *name, const char *out, size_t *size) {
  const char *root = getenv("WMF_SOURCE_ROOT");
  ck_assert_ptr_nonnull(root);
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fuzz/corpus/audit_files/%s", root, name);
  unsigned char *d = slurp(path, size);
  memmove(d, d + 1, --*size);
  spill(out, d, *size);
  return d;
}

/* Asserts that the file at `path` holds exactly the n bytes `want`. */
static void assert_file_is(const char *path, const unsigned char *want, size_t n) {
  size_t got_n;
  unsigned char *got = slurp(path, &got_n);
  ck_assert_uint_eq(got_n, n);
  ck_assert_int_eq(memcmp(got, want, n), 0);
  free(got);
}

/* Audit and probe files written by earlier builds load, and save again byte for byte: moving the
 * little-endian fields, the header and the checksum into lib/core left the formats alone. */
START_TEST(files_of_earlier_builds_save_identically) {
  size_t n;
  wmf_audit *a;
  wmf_probe *p;
  unsigned char *old = seed_file("audit_v2_provenance.bin", tmp("old.wmfa"), &n);
  ck_assert_int_eq(wmf_audit_load(&a, tmp("old.wmfa")), WMF_OK);
  ck_assert_int_eq(wmf_audit_save(a, tmp("again.wmfa")), WMF_OK);
  wmf_audit_destroy(a);
  assert_file_is(tmp("again.wmfa"), old, n);
  free(old);
  old = seed_file("probe.bin", tmp("old.probe"), &n);
  ck_assert_int_eq(wmf_probe_load(&p, tmp("old.probe")), WMF_OK);
  ck_assert_int_eq(wmf_probe_save(p, tmp("again.probe")), WMF_OK);
  wmf_probe_destroy(p);
  assert_file_is(tmp("again.probe"), old, n);
  old[n - 12] ^= 1; /* one flipped bit is caught by the checksum */
  spill(tmp("bad.probe"), old, n);
  ck_assert_int_eq(wmf_probe_load(&p, tmp("bad.probe")), WMF_ERR_CORRUPT);
  ck_assert_ptr_null(p);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "checksum"));
  free(old);
}
END_TEST

/* The statistics run in parallel over columns (lib/audit: wmfi_audit_threads): every score, p- and
 * q-value and bootstrap interval is bitwise the same for 1, 2 and 3 OpenMP threads, with n above and below
 * the exact p-value's limit, ties (the ReLU-like features) and a resample count that is not a multiple of
 * the bootstrap's lanes; and the AUC intervals equal a brute-force count over every (pair, pair) of each
 * resample, drawn as docs/audit.md says. */
static uint64_t test_splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The AUC interval of one column (x clean, y watermarked) by counting every pair of pairs. */
static void brute_force_interval(double *lo, double *hi, const float *x, const float *y, size_t n, size_t B,
                                 uint64_t seed, double level) {
  double *v = malloc(B * sizeof *v);
  uint32_t *w = malloc(n * sizeof *w);
  for (size_t b = 0; b < B; b++) {
    memset(w, 0, n * sizeof *w);
    for (size_t k = 0; k < n; k++)
      w[(uint64_t)(((unsigned __int128)test_splitmix64(seed * 0xD1B54A32D192ED03ull + b * n + k) * n) >> 64)]++;
    uint64_t u2 = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < n; k++) u2 += (uint64_t)w[i] * w[k] * (2u * (y[i] > x[k]) + (y[i] == x[k]));
    v[b] = (double)u2 / (2.0 * (double)n * (double)n);
  }
  wmfi_sort_doubles(v, B);
  *lo = wmfi_quantile_sorted(v, B, (1 - level) / 2, 0);
  *hi = wmfi_quantile_sorted(v, B, (1 + level) / 2, 0);
  free(v), free(w);
}

START_TEST(statistics_equal_for_every_thread_count) {
  const size_t C = 40, F = 300, B = 37, sizes[2] = {240, 30};
  const double level = 0.9;
  const uint64_t seed = 5;
  for (int z = 0; z < 2; z++) {
    size_t n = sizes[z], len = C * (WMF_AUDIT_SCORE_COUNT + 6) + F * (WMFI_AUDIT_COLUMN_SCORES + 4);
    data d = make_data(n, C, F);
    double *first = malloc(len * sizeof(double)), *now = malloc(len * sizeof(double));
    int ties = 0;
    for (size_t i = 0; i < n * F && !ties; i++) ties = d.cf[i] == d.wf[(i + F) % (n * F)];
    ck_assert(ties); /* the data have ties for the bootstrap's tie path */
    for (int threads = 1; threads <= 3; threads++) {
      omp_set_num_threads(threads);
      wmf_audit *a;
      ck_assert_int_eq(wmf_audit_create(&a, C, F), WMF_OK);
      add_range(a, &d, 0, n, 64);
      ck_assert_int_eq(wmf_audit_set_bootstrap(a, B, seed, level), WMF_OK);
      double *o = now;
      for (int t = 0; t < 2; t++) {
        wmf_audit_target target = t ? WMF_AUDIT_CHANNELS : WMF_AUDIT_CLASSES;
        size_t cols = t ? F : C, scores = t ? WMFI_AUDIT_COLUMN_SCORES : WMF_AUDIT_SCORE_COUNT;
        for (size_t sc = 0; sc < scores; sc++, o += cols)
          ck_assert_int_eq(wmf_audit_scores(o, cols, a, target, (wmf_audit_score)sc), WMF_OK);
        ck_assert_int_eq(wmf_audit_p_values(o, o + cols, cols, a, target), WMF_OK);
        o += 2 * cols;
        ck_assert_int_eq(wmf_audit_interval(o, o + cols, cols, a, target, WMF_SCORE_AUC), WMF_OK);
        const double *auc_lo = o, *auc_hi = o + cols;
        if (!t) {
          ck_assert_int_eq(wmf_audit_interval(o + 2 * cols, o + 3 * cols, cols, a, target, WMF_SCORE_DELTA_PROB),
                           WMF_OK);
          o += 2 * cols;
        }
        for (size_t c = 0; c < cols; c += 7) { /* every 7th column against the brute-force count */
          float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
          for (size_t i = 0; i < n; i++) {
            x[i] = t ? d.cf[i * F + c] : d.cl[i * C + c];
            y[i] = t ? d.wf[i * F + c] : d.wl[i * C + c];
          }
          double lo, hi;
          brute_force_interval(&lo, &hi, x, y, n, B, seed, level);
          ck_assert_msg(lo == auc_lo[c] && hi == auc_hi[c], "n %zu, %s %zu: interval [%.17g, %.17g], brute force "
                        "[%.17g, %.17g]", n, t ? "channel" : "class", c, auc_lo[c], auc_hi[c], lo, hi);
          free(x), free(y);
        }
        o += 2 * cols;
      }
      ck_assert_uint_eq((size_t)(o - now), len);
      if (threads == 1) memcpy(first, now, len * sizeof(double));
      else ck_assert_msg(!memcmp(first, now, len * sizeof(double)), "n %zu: %d threads differ from 1", n, threads);
      wmf_audit_destroy(a);
    }
    free(first), free(now);
    free_data(&d);
  }
}
END_TEST

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "figures")) { /* test audit_figures */
    const char *rsvg = getenv("RSVG_CONVERT");
    if (!rsvg || !*rsvg || access(rsvg, X_OK) != 0)
      return skip_missing_tool("rsvg-convert", "it renders the audit's SVG figures (Debian librsvg2-bin)");
    Suite *s = suite_create("audit_figures");
    TCase *tf = tcase_create("figures");
    tcase_add_checked_fixture(tf, setup, teardown);
    tcase_add_test(tf, figures_render);
    suite_add_tcase(s, tf);
    return run_suite(s);
  }
  Suite *s = suite_create("audit");
  TCase *tc = tcase_create("audit");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, create_and_arguments);
  tcase_add_test(tc, auc_degenerate_cases);
  tcase_add_test(tc, auc_in_double_precision);
  tcase_add_test(tc, imagenet_wordnet_ids);
  tcase_add_test(tc, ranking_and_counts);
  tcase_add_test(tc, class_names);
  tcase_add_test(tc, class_names_are_strict_utf8);
  tcase_add_test(tc, sharded_then_merged_equals_one_run);
  tcase_add_test(tc, damaged_files_are_refused);
  tcase_add_test(tc, reports_are_written);
  tcase_add_test(tc, provenance_is_saved_and_checked);
  tcase_add_test(tc, format_1_files_load_without_provenance);
  tcase_add_test(tc, shards_merge_once_each_in_any_order);
  tcase_add_test(tc, empty_audits_save_load_and_merge);
  tcase_add_test(tc, saving_onto_a_fifo_writes_into_it);
  tcase_add_test(tc, files_of_earlier_builds_save_identically);
  tcase_add_test(tc, statistics_equal_for_every_thread_count);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
