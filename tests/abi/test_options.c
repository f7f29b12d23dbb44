/* Options structs keep the ABI (docs/ABI.md): a program built against the 1.0 headers passes its 1.0
 * struct sizes, and every options struct is read only as far as the caller's struct_size goes; a size
 * below the 1.0 size is refused with a message naming the struct. The 1.0 layouts are re-typed here on
 * purpose (what a 1.0 program was compiled with); they must never change. Each 1.0 struct is put in a
 * heap block of exactly its size, so an ASan build catches a read past it.
 * Argument: the nn reference directory (tiny_vgg*.safetensors). */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wmfeat.h"
#include "core/core.h"
#include "../check_run.h"

/* The 1.0 layouts. */
typedef struct {
  uint32_t struct_size, max_width, max_height;
  uint64_t max_pixels;
} decode_options_1_0;
typedef struct {
  uint32_t struct_size, allow_unexpected;
} model_options_1_0;
typedef struct {
  uint32_t struct_size, max_batch, input_height, input_width, threads;
  int precision;
  const char *stage;
} session_options_1_0;
typedef struct {
  uint32_t struct_size;
  const char *state_dict_key;
} weights_options_1_0;
typedef struct {
  uint32_t struct_size, max_iterations;
  double C, tolerance;
  uint32_t history;
  int32_t fit_intercept;
} probe_options_1_0;

#if defined(__x86_64__) || defined(__aarch64__)
/* the 1.0 sizes on LP64 */
_Static_assert(sizeof(decode_options_1_0) == 24, "1.0 wmf_decode_options is 24 bytes");
_Static_assert(sizeof(model_options_1_0) == 8, "1.0 wmf_model_options is 8 bytes");
_Static_assert(sizeof(session_options_1_0) == 32, "1.0 wmf_session_options is 32 bytes");
_Static_assert(sizeof(weights_options_1_0) == 16, "1.0 wmf_weights_options is 16 bytes");
_Static_assert(sizeof(probe_options_1_0) == 32, "1.0 wmf_probe_options is 32 bytes");
#endif

static const char *dir;

static void *exact_copy(const void *src, size_t n) {
  void *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  memcpy(p, src, n);
  return p;
}

static wmf_weights *open_ref(const char *file, const void *options) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  wmf_weights *w = NULL;
  wmf_status st = wmf_weights_open(&w, path, options);
  ck_assert_msg(st == WMF_OK, "%s: %s", path, wmf_last_error());
  return w;
}

static void expect_too_small(wmf_status st, const char *type) {
  ck_assert_int_eq(st, WMF_ERR_INVALID_ARGUMENT);
  char want[128];
  snprintf(want, sizeof want, "of a 1.0 %s", type);
  ck_assert_msg(strstr(wmf_last_error(), want) && strstr(wmf_last_error(), "struct_size"),
                "message '%s' lacks '%s'", wmf_last_error(), want);
}

START_TEST(decode_options_1_0_size) {
  wmf_image *img = NULL;
  ck_assert_int_eq(wmf_image_create(&img, 6, 4, 10, 20, 30), WMF_OK);
  char path[] = "/tmp/wmf_options_XXXXXX.png";
  int fd = mkstemps(path, 4);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(wmf_image_save(img, path, 90), WMF_OK);
  wmf_image_destroy(img);

  decode_options_1_0 o10 = {sizeof(decode_options_1_0), 5, 100, 1000};
  decode_options_1_0 *p = exact_copy(&o10, sizeof o10);
  ck_assert_int_eq(wmf_image_load(&img, path, (const wmf_decode_options *)p), WMF_ERR_LIMIT); /* max_width read */
  p->max_width = 6;
  ck_assert_int_eq(wmf_image_load(&img, path, (const wmf_decode_options *)p), WMF_OK);
  wmf_image_destroy(img);
  p->max_pixels = 23;
  ck_assert_int_eq(wmf_image_load(&img, path, (const wmf_decode_options *)p), WMF_ERR_LIMIT); /* the last field */
  p->struct_size = sizeof o10 - 1;
  expect_too_small(wmf_image_load(&img, path, (const wmf_decode_options *)p), "wmf_decode_options");
  p->struct_size = 4;
  expect_too_small(wmf_image_decode(&img, "x", 1, (const wmf_decode_options *)p), "wmf_decode_options");
  free(p);
  unlink(path);
  close(fd);
}
END_TEST

START_TEST(weights_and_model_options_1_0_size) {
  weights_options_1_0 w10 = {sizeof(weights_options_1_0), NULL};
  weights_options_1_0 *wp = exact_copy(&w10, sizeof w10);
  wmf_weights *w = open_ref("tiny_vgg.extra.safetensors", wp);

  model_options_1_0 m10 = {sizeof(model_options_1_0), 1};
  model_options_1_0 *mp = exact_copy(&m10, sizeof m10);
  wmf_model *m = NULL;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, NULL), WMF_ERR_UNKNOWN_ARCH);
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, (const wmf_model_options *)mp), WMF_OK); /* allow_unexpected read */
  wmf_model_destroy(m);
  mp->struct_size = 7;
  expect_too_small(wmf_model_load(&m, w, NULL, (const wmf_model_options *)mp), "wmf_model_options");
  ck_assert_ptr_null(m);
  wmf_weights_destroy(w);

  char path[1024];
  snprintf(path, sizeof path, "%s/tiny_vgg.safetensors", dir);
  wp->struct_size = sizeof w10 - 1;
  expect_too_small(wmf_weights_open(&w, path, (const wmf_weights_options *)wp), "wmf_weights_options");
  ck_assert_ptr_null(w);
  free(wp);
  free(mp);
}
END_TEST

START_TEST(session_options_1_0_size) {
  wmf_weights *w = open_ref("tiny_vgg.safetensors", NULL);
  wmf_model *m = NULL;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, NULL), WMF_OK);
  wmf_weights_destroy(w);
  session_options_1_0 s10 = {sizeof(session_options_1_0), 2, 64, 48, 1, 0, NULL};
  session_options_1_0 *sp = exact_copy(&s10, sizeof s10);
  wmf_session *s = NULL;
  ck_assert_msg(wmf_session_create(&s, m, (const wmf_session_options *)sp) == WMF_OK, "%s", wmf_last_error());
  uint32_t mb, h, wd;
  wmf_session_input_dims(s, &mb, &h, &wd);
  ck_assert_uint_eq(mb, 2);
  ck_assert_uint_eq(h, 64);
  ck_assert_uint_eq(wd, 48);
  wmf_session_destroy(s);
  sp->stage = "no-such-stage"; /* the last 1.0 field is read */
  ck_assert_int_eq(wmf_session_create(&s, m, (const wmf_session_options *)sp), WMF_ERR_NOT_FOUND);
  sp->struct_size = sizeof s10 - 1;
  expect_too_small(wmf_session_create(&s, m, (const wmf_session_options *)sp), "wmf_session_options");
  ck_assert_ptr_null(s);
  free(sp);
  wmf_model_destroy(m);
}
END_TEST

START_TEST(probe_options_1_0_size) {
  float x[8] = {0, 1, 1, 0, 0.2f, 0.9f, 0.8f, 0.1f};
  int32_t y[4] = {0, 1, 0, 1};
  probe_options_1_0 p10 = {sizeof(probe_options_1_0), 1, 1.0, 1e-12, 10, 1};
  probe_options_1_0 *pp = exact_copy(&p10, sizeof p10);
  wmf_probe *p = NULL;
  /* max_iterations 1 and an unreachable tolerance: the options were read */
  wmf_status st = wmf_probe_train(&p, x, y, 4, 2, 2, NULL, (const wmf_probe_options *)pp);
  ck_assert_msg(st == WMF_ERR_LIMIT || st == WMF_OK, "%s", wmf_last_error()); /* stopped early: a head */
  ck_assert_ptr_nonnull(p);
  uint32_t it = 0;
  ck_assert_int_eq(wmf_probe_training_info(&it, NULL, NULL, NULL, p), WMF_OK);
  ck_assert_uint_eq(it, 1);
  wmf_probe_destroy(p);
  pp->fit_intercept = 0;
  pp->max_iterations = 1000;
  pp->tolerance = 1e-6;
  ck_assert_int_eq(wmf_probe_train(&p, x, y, 4, 2, 2, NULL, (const wmf_probe_options *)pp), WMF_OK);
  double wts[4], bias[2] = {9, 9};
  ck_assert_int_eq(wmf_probe_weights(wts, 4, bias, 2, p), WMF_OK);
  ck_assert(bias[0] == 0 && bias[1] == 0); /* fit_intercept, the last 1.0 field, was read */
  wmf_probe_destroy(p);
  pp->struct_size = sizeof p10 - 4;
  expect_too_small(wmf_probe_train(&p, x, y, 4, 2, 2, NULL, (const wmf_probe_options *)pp), "wmf_probe_options");
  ck_assert_ptr_null(p);
  free(pp);
}
END_TEST

/* *_options_init fills the defaults the INIT macros give, for the caller's size. */
START_TEST(options_init_functions) {
  wmf_decode_options d, dd = WMF_DECODE_OPTIONS_INIT;
  memset(&d, 0xab, sizeof d);
  ck_assert_int_eq(wmf_decode_options_init(&d, sizeof d), WMF_OK);
  ck_assert(d.struct_size == dd.struct_size && d.max_width == dd.max_width && d.max_height == dd.max_height &&
            d.max_pixels == dd.max_pixels); /* field by field: the macro leaves the padding undefined */
  wmf_model_options m, md = WMF_MODEL_OPTIONS_INIT;
  memset(&m, 0xab, sizeof m);
  ck_assert_int_eq(wmf_model_options_init(&m, sizeof m), WMF_OK);
  ck_assert_mem_eq(&m, &md, sizeof m);
  wmf_session_options s, sd = WMF_SESSION_OPTIONS_INIT;
  memset(&s, 0xab, sizeof s);
  ck_assert_int_eq(wmf_session_options_init(&s, sizeof s), WMF_OK);
  ck_assert_uint_eq(s.struct_size, sizeof s);
  ck_assert(s.max_batch == sd.max_batch && s.input_height == 0 && s.input_width == 0 && s.threads == 0 &&
            s.precision == WMF_PRECISION_FP32 && s.stage == NULL);
  wmf_weights_options w;
  memset(&w, 0xab, sizeof w);
  ck_assert_int_eq(wmf_weights_options_init(&w, sizeof w), WMF_OK);
  ck_assert(w.struct_size == sizeof w && w.state_dict_key == NULL);
  wmf_probe_options p, pd = WMF_PROBE_OPTIONS_INIT;
  memset(&p, 0xab, sizeof p);
  ck_assert_int_eq(wmf_probe_options_init(&p, sizeof p), WMF_OK);
  /* field by field: the INIT macro leaves the trailing padding undefined */
  ck_assert(p.struct_size == sizeof p && p.max_iterations == pd.max_iterations && p.C == pd.C &&
            p.tolerance == pd.tolerance && p.history == pd.history && p.fit_intercept == pd.fit_intercept &&
            p.ftol == pd.ftol && p.sklearn_tolerance == pd.sklearn_tolerance);

  /* a 1.0 caller's size, exactly allocated */
  session_options_1_0 *s10 = malloc(sizeof *s10);
  ck_assert_int_eq(wmf_session_options_init((wmf_session_options *)s10, sizeof *s10), WMF_OK);
  ck_assert_uint_eq(s10->struct_size, sizeof *s10);
  ck_assert_uint_eq(s10->max_batch, 1);
  free(s10);
  /* a newer caller's larger struct: what this version knows, the rest zeroed */
  unsigned char big[sizeof(wmf_probe_options) + 16];
  memset(big, 0xab, sizeof big);
  ck_assert_int_eq(wmf_probe_options_init((wmf_probe_options *)big, sizeof big), WMF_OK);
  /* up to the last field: pd's trailing padding is undefined */
  size_t known = offsetof(wmf_probe_options, sklearn_tolerance) + sizeof pd.sklearn_tolerance;
  ck_assert_mem_eq(big + sizeof(uint32_t), (const char *)&pd + sizeof(uint32_t), known - sizeof(uint32_t));
  for (size_t i = sizeof pd; i < sizeof big; i++) ck_assert_uint_eq(big[i], 0);

  ck_assert_int_eq(wmf_session_options_init(NULL, sizeof s), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_weights_options_init(&w, 4), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "wmf_weights_options"));
  ck_assert_int_eq(wmf_model_options_init(&m, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_decode_options_init(&d, sizeof d - 1), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_probe_options_init(&p, 8), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

/* The mechanism itself, on a struct that grew after 1.0: an older caller's size keeps the new field's
 * default, a newer caller's extra bytes are ignored. */
typedef struct {
  uint32_t struct_size, a;
  double b;
} fake_1_0;
typedef struct {
  uint32_t struct_size, a;
  double b;
  uint64_t appended;
} fake_1_1;

START_TEST(mechanism_defaults_appended_fields) {
  const fake_1_1 defaults = {sizeof(fake_1_1), 1, 2.0, 77};
  fake_1_0 *old = malloc(sizeof *old);
  *old = (fake_1_0){sizeof(fake_1_0), 5, 6.0};
  fake_1_1 got = defaults;
  ck_assert_int_eq(wmfi_options_read(&got, sizeof got, old, WMFI_SIZE_THROUGH(fake_1_0, b), "fn", "fake"), WMF_OK);
  ck_assert(got.a == 5 && got.b == 6.0 && got.appended == 77 && got.struct_size == sizeof got);
  free(old);
  fake_1_1 cur = {sizeof(fake_1_1), 8, 9.0, 10};
  got = defaults;
  ck_assert_int_eq(wmfi_options_read(&got, sizeof got, &cur, sizeof(fake_1_0), "fn", "fake"), WMF_OK);
  ck_assert(got.a == 8 && got.b == 9.0 && got.appended == 10);
  got = defaults;
  ck_assert_int_eq(wmfi_options_read(&got, sizeof got, NULL, sizeof(fake_1_0), "fn", "fake"), WMF_OK);
  ck_assert(got.a == 1 && got.appended == 77);
  cur.struct_size = sizeof(fake_1_0) - 1;
  ck_assert_int_eq(wmfi_options_read(&got, sizeof got, &cur, sizeof(fake_1_0), "fn", "fake"),
                   WMF_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(wmf_last_error(), "fn: options.struct_size is 15, below the 16 bytes of a 1.0 fake (initialize "
                                     "it with fake_init() or its *_INIT macro)");
  /* init for an older caller writes only its fields */
  unsigned char buf[sizeof(fake_1_0) + 8];
  memset(buf, 0xcd, sizeof buf);
  ck_assert_int_eq(wmfi_options_init(buf, sizeof(fake_1_0), &defaults, sizeof defaults, sizeof(fake_1_0), "fn", "fake"),
                   WMF_OK);
  ck_assert_uint_eq(((fake_1_0 *)buf)->struct_size, sizeof(fake_1_0));
  ck_assert_uint_eq(((fake_1_0 *)buf)->a, 1);
  for (size_t i = sizeof(fake_1_0); i < sizeof buf; i++) ck_assert_uint_eq(buf[i], 0xcd);
}
END_TEST

int main(int argc, char **argv) {
  dir = argc > 1 ? argv[1] : ".";
  Suite *s = suite_create("options");
  TCase *tc = tcase_create("options");
  tcase_add_test(tc, decode_options_1_0_size);
  tcase_add_test(tc, weights_and_model_options_1_0_size);
  tcase_add_test(tc, session_options_1_0_size);
  tcase_add_test(tc, probe_options_1_0_size);
  tcase_add_test(tc, options_init_functions);
  tcase_add_test(tc, mechanism_defaults_appended_fields);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
