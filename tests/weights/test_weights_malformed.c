/* The malformed-file corpus written by gen_malformed.py: each file fails with its status and message,
 * leaves *out NULL and never crashes (CI runs this under ASan/UBSan); every prefix of the small valid
 * files fails cleanly; the valid ones (zip, ZIP64, legacy, safetensors) read the right values.
 * Argument: the directory gen_malformed.py wrote. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights/weights_internal.h"
#include "../check_run.h"

static const char *dir;

static uint8_t *slurp(const char *name, size_t *n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
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

static void check_values(wmf_weights *w, const char *file) {
  static const float want_w[] = {3, 4, 5, 6}, want_wt[] = {1, 4, 2, 5, 3, 6}, want_b[] = {7, 8};
  float got[6];
  if (strstr(file, ".safetensors")) {
    ck_assert_int_eq(wmf_weights_get_f32(w, "b", got, 2), WMF_OK);
    ck_assert(got[0] == 1.0f && got[1] == -1.0f);
    return;
  }
  ck_assert_int_eq(wmf_weights_get_f32(w, "w", got, 6), WMF_OK);
  ck_assert_int_eq(memcmp(got, want_w, sizeof want_w), 0);
  ck_assert_int_eq(wmf_weights_get_f32(w, "wt", got, 6), WMF_OK);
  ck_assert_int_eq(memcmp(got, want_wt, sizeof want_wt), 0);
  ck_assert_int_eq(wmf_weights_get_f32(w, "b", got, 6), WMF_OK);
  ck_assert_int_eq(memcmp(got, want_b, sizeof want_b), 0);
}

START_TEST(each_malformed_file_fails_with_its_status) {
  char path[4096], line[1024];
  snprintf(path, sizeof path, "%s/expect.txt", dir);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "no %s: did gen_malformed.py run?", path);
  int n = 0, valid = 0;
  while (fgets(line, sizeof line, f)) {
    char file[256], status[64], detail[512] = "";
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "%255s %63s", file, status) != 2) continue;
    const char *d = strstr(line, status) + strlen(status);
    while (*d == ' ') d++;
    snprintf(detail, sizeof detail, "%s", d);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    wmf_weights *w = (wmf_weights *)&n;
    wmf_status st = wmf_weights_open(&w, path, NULL);
    ck_assert_msg(strcmp(wmf_status_name(st), status) == 0, "%s: got %s (%s), want %s", file, wmf_status_name(st),
                  wmf_last_error(), status);
    if (st == WMF_OK) {
      ck_assert_uint_eq(wmf_weights_count(w), (size_t)atoi(detail));
      check_values(w, file);
      wmf_weights_destroy(w);
      valid++;
    } else {
      ck_assert_ptr_null(w);
      ck_assert_msg(strstr(wmf_last_error(), detail) != NULL, "%s: message '%s' lacks '%s'", file, wmf_last_error(),
                    detail);
    }
    n++;
  }
  fclose(f);
  ck_assert_int_ge(n, 90);
  ck_assert_int_eq(valid, 5);
}
END_TEST

START_TEST(state_dict_key_and_options_are_checked) {
  char path[4096];
  snprintf(path, sizeof path, "%s/valid_zip.pth", dir);
  wmf_weights_options o = WMF_WEIGHTS_OPTIONS_INIT;
  o.state_dict_key = "ema";
  wmf_weights *w = NULL;
  ck_assert_int_eq(wmf_weights_open(&w, path, &o), WMF_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "'ema'"));
  ck_assert_ptr_null(w);
  o.state_dict_key = NULL;
  o.struct_size = 4;
  ck_assert_int_eq(wmf_weights_open(&w, path, &o), WMF_ERR_INVALID_ARGUMENT);
  o.struct_size = sizeof o;
  ck_assert_int_eq(wmf_weights_open(&w, path, &o), WMF_OK);
  ck_assert_str_eq(wmf_weights_format(w), "pytorch-zip");
  ck_assert_ptr_null(wmf_weights_metadata(w, "format"));
  wmf_weights_destroy(w);
}
END_TEST

START_TEST(every_prefix_of_a_valid_file_fails_cleanly) {
  char path[4096], line[1024];
  snprintf(path, sizeof path, "%s/prefixes.txt", dir);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  int files = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line) continue;
    size_t n;
    uint8_t *data = slurp(line, &n);
    for (size_t k = 0; k < n; k++) {
      /* an exact-size heap copy, so ASan sees any read past the prefix */
      uint8_t *p = malloc(k ? k : 1);
      memcpy(p, data, k);
      wmf_weights *w;
      wmf_status st = wmf_weights_open_memory(&w, p, k, NULL);
      ck_assert_msg(st == WMF_ERR_CORRUPT || st == WMF_ERR_UNSUPPORTED, "%s cut at %zu: %s (%s)", line, k,
                    wmf_status_name(st), wmf_last_error());
      free(p);
    }
    free(data);
    files++;
  }
  fclose(f);
  ck_assert_int_eq(files, 4);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR (written by gen_malformed.py)\n", argv[0]);
    return EXIT_FAILURE;
  }
  dir = argv[1];
  Suite *s = suite_create("weights_malformed");
  TCase *tc = tcase_create("weights_malformed");
  tcase_add_test(tc, each_malformed_file_fails_with_its_status);
  tcase_add_test(tc, state_dict_key_and_options_are_checked);
  tcase_add_test(tc, every_prefix_of_a_valid_file_fails_cleanly);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
