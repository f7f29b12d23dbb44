/* Files written by Debian's torch (gen_ref.py) read back bit-exactly: every tensor's name, dtype, shape
 * and float values against what torch holds. Argument: the directory gen_ref.py wrote. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights/weights_internal.h"
#include "../check_run.h"

static const char *dir;

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n + 1);
  ck_assert_uint_eq(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static const char *expected_format(const char *file) {
  if (strstr(file, ".safetensors")) return "safetensors";
  if (strstr(file, "_zip.")) return "pytorch-zip";
  return "pytorch-legacy";
}

/* Compares one case; returns the number of tensors checked. */
static size_t check_case(const char *file, const char *expect, const char *key) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  wmf_weights *w;
  wmf_weights_options opt = WMF_WEIGHTS_OPTIONS_INIT;
  opt.state_dict_key = key;
  wmf_status st = wmf_weights_open(&w, path, &opt);
  ck_assert_msg(st == WMF_OK, "%s: %s: %s", file, wmf_status_name(st), wmf_last_error());
  ck_assert_str_eq(wmf_weights_format(w), expected_format(file));
  snprintf(path, sizeof path, "%s/%s", dir, expect);
  size_t n, at = 0, count = 0;
  uint8_t *e = slurp(path, &n);
  while (at < n) {
    uint32_t len, dtype, ndim;
    memcpy(&len, e + at, 4);
    char name[512];
    ck_assert_uint_lt(len, sizeof name);
    memcpy(name, e + at + 4, len);
    name[len] = 0;
    at += 4 + len;
    memcpy(&dtype, e + at, 4);
    memcpy(&ndim, e + at + 4, 4);
    at += 8;
    int64_t shape[WMF_MAX_DIMS];
    uint64_t numel = 1;
    memcpy(shape, e + at, 8 * ndim);
    at += 8 * ndim;
    for (uint32_t i = 0; i < ndim; i++) numel *= (uint64_t)shape[i];
    size_t idx;
    st = wmf_weights_find(w, name, &idx);
    ck_assert_msg(st == WMF_OK, "%s: tensor %s: %s", file, name, wmf_last_error());
    wmf_tensor_info info;
    ck_assert_int_eq(wmf_weights_info(w, idx, &info), WMF_OK);
    ck_assert_msg(info.dtype == (wmf_dtype)dtype, "%s: %s dtype %s", file, name, wmf_dtype_name(info.dtype));
    ck_assert_uint_eq(info.ndim, ndim);
    for (uint32_t i = 0; i < ndim; i++) ck_assert_int_eq(info.shape[i], shape[i]);
    ck_assert_uint_eq(info.numel, numel);
    if (dtype <= WMF_DTYPE_F64) {
      float *got = malloc(numel * 4 + 4);
      ck_assert_int_eq(wmf_weights_get_f32(w, name, got, numel), WMF_OK);
      ck_assert_msg(memcmp(got, e + at, numel * 4) == 0, "%s: tensor %s differs from torch", file, name);
      free(got);
      at += numel * 4;
    }
    count++;
  }
  ck_assert_msg(count == wmf_weights_count(w), "%s: %zu tensors expected, %zu found", file, count,
                wmf_weights_count(w));
  free(e);
  wmf_weights_destroy(w);
  return count;
}

START_TEST(files_written_by_torch_read_bit_exactly) {
  char path[4096], line[1024];
  snprintf(path, sizeof path, "%s/cases.txt", dir);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "no %s: did gen_ref.py run?", path);
  int cases = 0;
  while (fgets(line, sizeof line, f)) {
    char file[256], expect[256], key[256];
    int k = sscanf(line, "%255s %255s %255s", file, expect, key);
    if (k < 2) continue;
    size_t n = check_case(file, expect, k == 3 ? key : NULL);
    ck_assert_uint_gt(n, 0);
    cases++;
  }
  fclose(f);
  ck_assert_int_ge(cases, 24); /* 4 safetensors + 10 zip + 10 legacy */
}
END_TEST

START_TEST(modules_and_bare_tensors_written_by_torch_are_refused) {
  char path[4096], line[1024];
  snprintf(path, sizeof path, "%s/refused.txt", dir);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    char file[256], status[64];
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "%255s %63s", file, status) != 2) continue;
    const char *detail = strstr(line, status) + strlen(status) + 1;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    wmf_weights *w;
    wmf_status st = wmf_weights_open(&w, path, NULL);
    ck_assert_msg(strcmp(wmf_status_name(st), status) == 0, "%s: %s (%s)", file, wmf_status_name(st), wmf_last_error());
    ck_assert_msg(strstr(wmf_last_error(), detail) != NULL, "%s: '%s' lacks '%s'", file, wmf_last_error(), detail);
    n++;
  }
  fclose(f);
  ck_assert_int_eq(n, 4);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR (written by gen_ref.py)\n", argv[0]);
    return EXIT_FAILURE;
  }
  dir = argv[1];
  Suite *s = suite_create("weights_ref");
  TCase *tc = tcase_create("weights_ref");
  tcase_add_test(tc, files_written_by_torch_read_bit_exactly);
  tcase_add_test(tc, modules_and_bare_tensors_written_by_torch_are_refused);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
