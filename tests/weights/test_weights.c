/* weights: the tensor table, float conversions, safetensors validation (built in memory here). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weights/weights_internal.h"
#include "../check_run.h"
#include "../st_build.h"

static wmf_status st_open(wmf_weights **w, const char *json, const void *buf, size_t nbuf) {
  size_t n;
  uint8_t *f = st_build(json, buf, nbuf, &n);
  wmf_status st = wmf_weights_open_memory(w, f, n, NULL);
  free(f);
  return st;
}

static uint32_t bits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

START_TEST(f16_conversion_is_exact_for_every_value) {
  /* Every one of the 65536 halves: compare against a reference built from the definition. */
  uint16_t *h = malloc(65536 * 2);
  for (uint32_t i = 0; i < 65536; i++) h[i] = (uint16_t)i;
  wmf_weights *w;
  ck_assert_int_eq(st_open(&w, "{\"h\":{\"dtype\":\"F16\",\"shape\":[65536],\"data_offsets\":[0,131072]}}", h, 131072), WMF_OK);
  float *out = malloc(65536 * 4);
  ck_assert_int_eq(wmf_weights_get_f32(w, "h", out, 65536), WMF_OK);
  for (uint32_t i = 0; i < 65536; i++) {
    int e = (i >> 10) & 31, m = i & 1023;
    double s = (i & 0x8000) ? -1 : 1, v;
    if (e == 31) {
      if (m == 0) {
        ck_assert(isinf(out[i]) && (out[i] < 0) == (s < 0));
      } else { /* NaN: payload carried over, made quiet (as F16C and torch do) */
        ck_assert(isnan(out[i]));
        ck_assert_uint_eq(bits(out[i]), ((i & 0x8000u) << 16) | 0x7fc00000u | ((uint32_t)m << 13));
      }
      continue;
    }
    v = e ? ldexp(1.0 + m / 1024.0, e - 15) : ldexp(m / 1024.0, -14);
    ck_assert_uint_eq(bits(out[i]), bits((float)(s * v)));
  }
  /* subnormal smallest and signed zero spelled out */
  ck_assert_uint_eq(bits(out[1]), bits(ldexpf(1, -24)));
  ck_assert_uint_eq(bits(out[0x8000]), 0x80000000u);
  wmf_weights_destroy(w);
  free(out);
  free(h);
}
END_TEST

START_TEST(bf16_f64_and_f32_convert) {
  /* bf16: 1.0, -inf, NaN, the smallest subnormal; f64: 1/3, 1e300 (-> inf), -0, 1e-320 (-> 0), NaN;
   * f32 at an unaligned offset (data starts 3 bytes into the buffer). */
  uint8_t buf[2 * 4 + 8 * 5 + 4 * 2];
  uint16_t bf[4] = {0x3f80, 0xff80, 0x7fc1, 0x0001};
  double d[5] = {1.0 / 3, 1e300, -0.0, 1e-320, NAN};
  float f[2] = {1.5f, -2.25f};
  memcpy(buf, bf, 8);
  memcpy(buf + 8, d, 40);
  memcpy(buf + 48, f, 8);
  wmf_weights *w;
  ck_assert_int_eq(st_open(&w,
                           "{\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                           "\"d\":{\"dtype\":\"F64\",\"shape\":[5],\"data_offsets\":[8,48]},"
                           "\"f\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[48,56]},"
                           "\"__metadata__\":{\"format\":\"pt\"}}",
                           buf, sizeof buf),
                   WMF_OK);
  ck_assert_str_eq(wmf_weights_format(w), "safetensors");
  ck_assert_uint_eq(wmf_weights_count(w), 3);
  ck_assert_str_eq(wmf_weights_metadata(w, "format"), "pt");
  ck_assert_ptr_null(wmf_weights_metadata(w, "nope"));
  float o[5];
  ck_assert_int_eq(wmf_weights_get_f32(w, "b", o, 4), WMF_OK);
  ck_assert_uint_eq(bits(o[0]), 0x3f800000u);
  ck_assert_uint_eq(bits(o[1]), 0xff800000u);
  ck_assert_uint_eq(bits(o[2]), 0x7fc10000u);
  ck_assert_uint_eq(bits(o[3]), 0x00010000u);
  ck_assert_int_eq(wmf_weights_get_f32(w, "d", o, 5), WMF_OK);
  ck_assert_uint_eq(bits(o[0]), bits((float)(1.0 / 3)));
  ck_assert(isinf(o[1]));
  ck_assert_uint_eq(bits(o[2]), 0x80000000u);
  ck_assert_uint_eq(bits(o[3]), 0);
  ck_assert(isnan(o[4]));
  ck_assert_int_eq(wmf_weights_get_f32(w, "f", o, 2), WMF_OK);
  ck_assert(o[0] == 1.5f && o[1] == -2.25f);
  ck_assert_int_eq(wmf_weights_get_f32(w, "f", o, 1), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_weights_get_f32(w, "missing", o, 5), WMF_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "missing"));
  size_t i;
  wmf_tensor_info info;
  ck_assert_int_eq(wmf_weights_find(w, "d", &i), WMF_OK);
  ck_assert_int_eq(wmf_weights_info(w, i, &info), WMF_OK);
  ck_assert_str_eq(info.name, "d");
  ck_assert_int_eq(info.dtype, WMF_DTYPE_F64);
  ck_assert_uint_eq(info.ndim, 1);
  ck_assert_int_eq(info.shape[0], 5);
  ck_assert_uint_eq(info.numel, 5);
  ck_assert_int_eq(wmf_weights_info(w, 3, &info), WMF_ERR_INVALID_ARGUMENT);
  wmf_weights_destroy(w);
  wmf_weights_destroy(NULL);
  ck_assert_uint_eq(wmf_weights_count(NULL), 0);
  ck_assert_str_eq(wmf_dtype_name(WMF_DTYPE_BF16), "BF16");
  ck_assert_str_eq(wmf_dtype_name((wmf_dtype)99), "?");
}
END_TEST

START_TEST(integer_tensors_are_listed_but_not_converted) {
  int64_t v[2] = {1, 2};
  wmf_weights *w;
  ck_assert_int_eq(st_open(&w, "{\"n\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                               "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[16,16]}}", v, 16),
                   WMF_ERR_CORRUPT); /* a scalar is one element: 4 bytes, not 0 */
  uint8_t buf[20] = {0};
  memcpy(buf, v, 16);
  ck_assert_int_eq(st_open(&w, "{\"n\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                               "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[16,20]},"
                               "\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[20,20]}}", buf, 20),
                   WMF_OK);
  float o[2];
  ck_assert_int_eq(wmf_weights_get_f32(w, "n", o, 2), WMF_ERR_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "'n'"));
  ck_assert_int_eq(wmf_weights_get_f32(w, "s", o, 1), WMF_OK);
  ck_assert(o[0] == 0.0f);
  ck_assert_int_eq(wmf_weights_get_f32(w, "z", NULL, 0), WMF_OK);
  wmf_weights_destroy(w);
}
END_TEST

START_TEST(names_are_normalized) {
  float b[4] = {1, 2, 3, 4};
  wmf_weights *w;
  ck_assert_int_eq(st_open(&w,
      "{\"module.features.denseblock1.denselayer12.norm.1.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"module.features.denseblock1.denselayer12.conv.2.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
      "\"module.bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}", b, 16), WMF_OK);
  size_t i;
  ck_assert_uint_eq(wmf_weights_count(w), 2);
  ck_assert_int_eq(wmf_weights_find(w, "features.denseblock1.denselayer12.norm1.weight", &i), WMF_OK);
  ck_assert_int_eq(wmf_weights_find(w, "features.denseblock1.denselayer12.conv2.weight", &i), WMF_OK);
  ck_assert_int_eq(wmf_weights_find(w, "bn.num_batches_tracked", &i), WMF_ERR_NOT_FOUND);
  wmf_weights_destroy(w);
  /* timm VGG head: 4-D convolution weights become torchvision's 2-D Linear weights */
  float v[2 * 3 * 2 * 2 + 2];
  for (int k = 0; k < 26; k++) v[k] = (float)k;
  ck_assert_int_eq(st_open(&w,
      "{\"pre_logits.fc1.weight\":{\"dtype\":\"F32\",\"shape\":[2,3,2,2],\"data_offsets\":[0,96]},"
      "\"pre_logits.fc1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[96,104]}}", v, 104), WMF_OK);
  wmf_tensor_info info;
  ck_assert_int_eq(wmf_weights_find(w, "classifier.0.weight", &i), WMF_OK);
  ck_assert_int_eq(wmf_weights_info(w, i, &info), WMF_OK);
  ck_assert_uint_eq(info.ndim, 2);
  ck_assert_int_eq(info.shape[0], 2);
  ck_assert_int_eq(info.shape[1], 12);
  float o[24];
  ck_assert_int_eq(wmf_weights_get_f32(w, "classifier.0.weight", o, 24), WMF_OK);
  for (int k = 0; k < 24; k++) ck_assert(o[k] == (float)k);
  ck_assert_int_eq(wmf_weights_find(w, "classifier.0.bias", &i), WMF_OK);
  wmf_weights_destroy(w);
  /* a name that becomes a duplicate */
  ck_assert_int_eq(st_open(&w, "{\"module.a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", b, 8), WMF_ERR_CORRUPT);
}
END_TEST

/* Malformed safetensors: each fails with its status, never crashes (this suite runs under ASan). */
START_TEST(malformed_safetensors_are_refused) {
  static const struct {
    const char *json;
    size_t nbuf;
    wmf_status want;
  } cases[] = {
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, WMF_ERR_CORRUPT}, /* duplicate key */
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, WMF_ERR_CORRUPT}, /* overlap */
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, WMF_ERR_CORRUPT}, /* gap */
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, WMF_ERR_CORRUPT},   /* buffer not covered */
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, WMF_ERR_CORRUPT},  /* out of range */
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, WMF_ERR_CORRUPT},   /* size mismatch */
      {"{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, WMF_ERR_CORRUPT},   /* wrong dtype */
      {"{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[8],\"data_offsets\":[0,8]}}", 8, WMF_ERR_UNSUPPORTED},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0, WMF_ERR_CORRUPT}, /* overflow */
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, WMF_ERR_CORRUPT},
      /* a zero dimension beside huge ones: 0 elements, but the other strides overflow int64 (UBSan) */
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0,4294967296,4294967296],\"data_offsets\":[0,0]}}", 0, WMF_ERR_LIMIT},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,0,4294967296],\"data_offsets\":[0,0]}}", 0, WMF_ERR_LIMIT},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, WMF_ERR_CORRUPT},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, WMF_ERR_LIMIT},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, WMF_ERR_CORRUPT},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, WMF_ERR_CORRUPT},
      {"{\"__metadata__\":{\"k\":1}}", 0, WMF_ERR_CORRUPT},
      {"{\"a\":[1]}", 0, WMF_ERR_CORRUPT},
      {"[1,2]", 0, WMF_ERR_UNSUPPORTED}, /* not detected as safetensors: byte 8 is not '{' */
      {"{\"a\":", 0, WMF_ERR_CORRUPT},
  };
  uint8_t buf[16] = {0};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    wmf_weights *w = (wmf_weights *)1;
    wmf_status st = st_open(&w, cases[i].json, buf, cases[i].nbuf);
    ck_assert_msg(st == cases[i].want, "case %zu: %s (%s)", i, wmf_status_name(st), wmf_last_error());
    ck_assert_ptr_null(w);
  }
  /* huge header length, and a length past the end of the file */
  uint8_t f[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
  wmf_weights *w;
  ck_assert_int_eq(wmf_weights_open_memory(&w, f, 10, NULL), WMF_ERR_LIMIT);
  f[0] = 100, memset(f + 1, 0, 7);
  ck_assert_int_eq(wmf_weights_open_memory(&w, f, 10, NULL), WMF_ERR_CORRUPT);
  /* truncated at every byte of a valid file */
  size_t n;
  float v[2] = {1, 2};
  uint8_t *good = st_build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", v, 8, &n);
  ck_assert_int_eq(wmf_weights_open_memory(&w, good, n, NULL), WMF_OK);
  wmf_weights_destroy(w);
  for (size_t k = 0; k < n; k++) {
    wmf_status st = wmf_weights_open_memory(&w, good, k, NULL);
    ck_assert_msg(st == WMF_ERR_CORRUPT || st == WMF_ERR_UNSUPPORTED, "truncated at %zu: %s", k, wmf_status_name(st));
  }
  free(good);
  ck_assert_int_eq(wmf_weights_open(&w, "/nonexistent/x.safetensors", NULL), WMF_ERR_IO);
  ck_assert_int_eq(wmf_weights_open(NULL, "x", NULL), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(unaligned_data_is_read_at_every_alignment) {
  /* header padding moves the data buffer through all 8 alignments; loads never assume alignment */
  double d[3] = {1.25, -3.5, 1e-3};
  float f[2] = {0.5f, 7.0f};
  uint8_t buf[32];
  memcpy(buf, d, 24);
  memcpy(buf + 24, f, 8);
  for (int pad = 0; pad < 8; pad++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},"
             "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}%*s", pad, "");
    wmf_weights *w;
    ck_assert_int_eq(st_open(&w, json, buf, 32), WMF_OK);
    float o[3];
    ck_assert_int_eq(wmf_weights_get_f32(w, "d", o, 3), WMF_OK);
    ck_assert(o[0] == 1.25f && o[1] == -3.5f && o[2] == (float)1e-3);
    ck_assert_int_eq(wmf_weights_get_f32(w, "f", o, 2), WMF_OK);
    ck_assert(o[0] == 0.5f && o[1] == 7.0f);
    wmf_weights_destroy(w);
  }
}
END_TEST

static void *read_many(void *arg) {
  const wmf_weights *w = arg;
  float *o = malloc(4096 * 4);
  long bad = 0;
  for (int k = 0; k < 200; k++) {
    if (wmf_weights_get_f32(w, "x", o, 4096) != WMF_OK) bad++;
    for (int i = 0; i < 4096; i++) bad += o[i] != (float)i;
    if (wmf_weights_get_f32(w, "nope", o, 4096) != WMF_ERR_NOT_FOUND) bad++;
  }
  free(o);
  return (void *)bad;
}

/* A weight file truncated on disk while it is open: reading a tensor past the new end is a clean
 * WMF_ERR_IO naming the file and the tensor (it used to be SIGBUS from the mapping); the tensors
 * still in the file read as before, in every read path (F32 straight into the buffer, BF16 and a
 * strided view through a temporary buffer). */
START_TEST(file_truncated_while_open_is_an_error) {
  enum { N = 1 << 18 }; /* 1 MiB of F32 per tensor */
  float *a = malloc(N * sizeof *a);
  for (int i = 0; i < N; i++) a[i] = (float)i;
  uint16_t *b = malloc(N * sizeof *b);
  for (int i = 0; i < N; i++) b[i] = 0x3f80; /* bf16 1.0 */
  size_t nb = 2 * N * 4 + N * 2;
  uint8_t *data = malloc(nb);
  memcpy(data, a, N * 4);
  memcpy(data + N * 4, a, N * 4);
  memcpy(data + 2 * N * 4, b, N * 2);
  char json[512];
  snprintf(json, sizeof json,
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[0,%d]},"
           "\"late\":{\"dtype\":\"F32\",\"shape\":[512,512],\"data_offsets\":[%d,%d]},"
           "\"late_bf16\":{\"dtype\":\"BF16\",\"shape\":[%d],\"data_offsets\":[%d,%zu]}}",
           N, N * 4, N * 4, 2 * N * 4, N, 2 * N * 4, nb);
  size_t n;
  uint8_t *file = st_build(json, data, nb, &n);
  char path[] = "/tmp/wmf_truncated_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, file, n), (ssize_t)n);
  wmf_weights *w;
  ck_assert_int_eq(wmf_weights_open(&w, path, NULL), WMF_OK);
  float *out = malloc(N * sizeof *out);
  ck_assert_int_eq(wmf_weights_get_f32(w, "late", out, N), WMF_OK);
  ck_assert(out[N - 1] == (float)(N - 1));
  ck_assert_int_eq(ftruncate(fd, (off_t)(n - nb + N * 4 + 100)), 0); /* keeps 'a' and 100 bytes of 'late' */
  wmf_status st = wmf_weights_get_f32(w, "late", out, N);
  ck_assert_msg(st == WMF_ERR_IO, "%s: %s", wmf_status_name(st), wmf_last_error());
  ck_assert_msg(strstr(wmf_last_error(), "shrank while open") && strstr(wmf_last_error(), "'late'") &&
                    strstr(wmf_last_error(), path),
                "%s", wmf_last_error());
  ck_assert_int_eq(wmf_weights_get_f32(w, "late_bf16", out, N), WMF_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "'late_bf16'"));
  memset(out, 0, N * sizeof *out);
  ck_assert_int_eq(wmf_weights_get_f32(w, "a", out, N), WMF_OK); /* still in the file */
  ck_assert(out[N - 1] == (float)(N - 1));
  ck_assert_int_eq(ftruncate(fd, 0), 0);
  ck_assert_int_eq(wmf_weights_get_f32(w, "a", out, N), WMF_ERR_IO);
  /* the table itself stays readable */
  wmf_tensor_info info;
  ck_assert_int_eq(wmf_weights_info(w, 1, &info), WMF_OK);
  ck_assert_str_eq(info.name, "late");
  wmf_weights_destroy(w);
  close(fd);
  unlink(path);
  free(out), free(file), free(data), free(a), free(b);
}
END_TEST

START_TEST(threads_read_one_weights_at_once) {
  float *v = malloc(4096 * 4);
  for (int i = 0; i < 4096; i++) v[i] = (float)i;
  wmf_weights *w;
  ck_assert_int_eq(st_open(&w, "{\"x\":{\"dtype\":\"F32\",\"shape\":[64,64],\"data_offsets\":[0,16384]}}", v, 16384),
                   WMF_OK);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, read_many, w), 0);
  for (int i = 0; i < 4; i++) {
    void *bad;
    ck_assert_int_eq(pthread_join(t[i], &bad), 0);
    ck_assert_int_eq((long)bad, 0);
  }
  wmf_weights_destroy(w);
  free(v);
}
END_TEST

int main(void) {
  Suite *s = suite_create("weights");
  TCase *tc = tcase_create("weights");
  tcase_add_test(tc, f16_conversion_is_exact_for_every_value);
  tcase_add_test(tc, bf16_f64_and_f32_convert);
  tcase_add_test(tc, integer_tensors_are_listed_but_not_converted);
  tcase_add_test(tc, names_are_normalized);
  tcase_add_test(tc, malformed_safetensors_are_refused);
  tcase_add_test(tc, unaligned_data_is_read_at_every_alignment);
  tcase_add_test(tc, threads_read_one_weights_at_once);
  tcase_add_test(tc, file_truncated_while_open_is_an_error);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
