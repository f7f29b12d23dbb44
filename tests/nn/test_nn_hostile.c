/* Hostile weight files (gen_hostile_models.py, issue 11 item 6): each variant of a tiny valid network
 * (a zero, huge, wrong-rank or inconsistent shape, safetensors or a .pth stride-0 view) fails
 * wmf_model_load with its status and a message naming the tensor and both shapes, leaves *out NULL and
 * never crashes (before, a [0, 1, 3, 3] conv2 killed the process with SIGFPE). The valid ones load, and
 * run on one 32x32 input (or the side their line gives) to finite outputs. Argument: the directory the
 * generator wrote. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmfeat.h>

#include "../check_run.h"

static const char *dir;

static void run_once(wmf_model *m, const char *file, int side) {
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.input_height = o.input_width = (uint32_t)side;
  wmf_session *s = NULL;
  ck_assert_msg(wmf_session_create(&s, m, &o) == WMF_OK, "%s: session: %s", file, wmf_last_error());
  float *in = malloc(3 * (size_t)side * (size_t)side * sizeof *in);
  for (int i = 0; i < 3 * side * side; i++) in[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  size_t nl = wmf_session_logit_count(s), nf = wmf_session_feature_count(s);
  float *logits = malloc(nl * sizeof *logits), *feats = malloc(nf * sizeof *feats);
  ck_assert_msg(wmf_session_run(s, in, 1, logits, nl, feats, nf) == WMF_OK, "%s: run: %s", file, wmf_last_error());
  for (size_t i = 0; i < nl; i++) ck_assert_msg(isfinite(logits[i]), "%s: logit %zu", file, i);
  for (size_t i = 0; i < nf; i++) ck_assert_msg(isfinite(feats[i]), "%s: feature %zu", file, i);
  free(logits);
  free(feats);
  free(in);
  wmf_session_destroy(s);
}

START_TEST(each_hostile_model_fails_with_its_status) {
  char path[4096], line[1024];
  snprintf(path, sizeof path, "%s/expect.txt", dir);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "no %s: did gen_hostile_models.py run?", path);
  int n = 0, valid = 0;
  while (fgets(line, sizeof line, f)) {
    char file[256], arch[64], status[64];
    int used = 0;
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "%255s %63s %63s %n", file, arch, status, &used) != 3) continue;
    const char *detail = line + used;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    wmf_weights *w = NULL;
    ck_assert_msg(wmf_weights_open(&w, path, NULL) == WMF_OK, "%s: %s", file, wmf_last_error());
    wmf_model *m = (wmf_model *)&n;
    wmf_status st = wmf_model_load(&m, w, strcmp(arch, "-") ? arch : NULL, NULL);
    wmf_weights_destroy(w);
    ck_assert_msg(strcmp(wmf_status_name(st), status) == 0, "%s: got %s (%s), want %s", file, wmf_status_name(st),
                  st ? wmf_last_error() : "", status);
    if (st == WMF_OK) {
      int classes = 0, side = 32;
      sscanf(detail, "%d %d", &classes, &side);
      ck_assert_uint_eq(wmf_model_num_classes(m), (size_t)classes);
      run_once(m, file, side);
      wmf_model_destroy(m);
      valid++;
    } else {
      ck_assert_ptr_null(m);
      ck_assert_msg(strcmp(detail, "-") == 0 || strstr(wmf_last_error(), detail) != NULL,
                    "%s: message '%s' lacks '%s'", file, wmf_last_error(), detail);
    }
    n++;
  }
  fclose(f);
  ck_assert_int_ge(n, 40);
  ck_assert_int_eq(valid, 14 + 3 /* ConvNeXt */ + 3 /* RegNet: .safetensors, .pth, named "regnet" */ + 3 /* EfficientNet */ +
                              7 * 2 + 4 /* MobileNet v2, v3 large, v3 small, ShuffleNet, AlexNet, GoogLeNet, Inception-v3;
                                           named mobilenet_v2, "mobilenet", googlenet, inception_v3 */);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  dir = argv[1];
  Suite *s = suite_create("nn_hostile");
  TCase *tc = tcase_create("files");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, each_hostile_model_fails_with_its_status);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
