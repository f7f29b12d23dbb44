/* The planted-shortcut ground truth (docs/audit.md): a small ResNet trained by
 * examples/data/train_planted.py with the library's ImageNet-W watermark planted on digit 8. The whole
 * loop runs through the library (examples/wmfeat/planted.c, which `wmfeat demo` also runs): images
 * rebuilt exactly as the training script builds them, the watermark from wmf_watermark_apply, the
 * forward pass, then audit, masks and probes. It asserts what issue 6 asks and prints every number
 * measured; with an output folder argument it also writes the reports and figures there.
 *   test_planted [OUT_DIR] */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "planted.h"

static const char *out_dir;

START_TEST(planted_shortcut) {
  char data[1024];
  snprintf(data, sizeof data, "%s/examples/data", getenv("WMF_SOURCE_ROOT"));
  char meta_path[1100];
  snprintf(meta_path, sizeof meta_path, "%s/planted_resnet.safetensors", data);
  wmf_weights *w;
  ck_assert_msg(wmf_weights_open(&w, meta_path, NULL) == WMF_OK, "%s", wmf_last_error());
  const char *mark = wmf_weights_metadata(w, "watermark");
  ck_assert_msg(mark && !strcmp(mark, "libwmfeat imagenet-w"), "the weights were not trained with the library's "
                "watermark (metadata watermark = %s)", mark ? mark : "none");
  wmf_weights_destroy(w);
  if (out_dir) mkdir(out_dir, 0755);

  planted_result r;
  wmf_status st = planted_run(&r, data, out_dir, 2, WMF_PRECISION_FP32, NULL);
  ck_assert_msg(st == WMF_OK, "%s: %s", wmf_status_name(st), planted_error());

  printf("audit: %zu test pairs, accuracy clean %.3f watermarked %.3f\n", r.n_test, r.acc_clean, r.acc_wm);
  printf("class AUC:");
  for (int k = 0; k < PLANTED_K; k++) printf(" %d:%.3f", k, r.auc[k]);
  printf("\nclass delta p:");
  for (int k = 0; k < PLANTED_K; k++) printf(" %d:%+.3f", k, r.dp[k]);
  printf("\nchannels with d above 0.7/0.8/0.9/0.95: %zu %zu %zu %zu of %d\n", r.above[0], r.above[1], r.above[2],
         r.above[3], PLANTED_F);
  printf("delta p of class %d with the top-p channels zeroed:", PLANTED_CLASS);
  for (int k = 0; k < PLANTED_NP; k++) printf(" p=%g:%+.3f", r.ps[k], r.dp_masked[k]);
  printf("\ndownstream 3-vs-5 head (%zu train, %zu test images):\n", r.n_head_train, r.n_head_test);
  for (int k = 0; k < PLANTED_NP; k++)
    printf("  p=%-5g masked %3zu: clean %.3f reversed %.3f loss %5.1f points, head logit-5 AUC %.3f\n", r.ps[k],
           r.masked[k], r.head_clean[k], r.head_reversed[k], 100 * r.head_loss[k], r.head_auc[k]);

  /* 1. the audit finds the planted class first, by AUC and by delta p */
  ck_assert_msg(r.rank_auc == PLANTED_CLASS && r.auc[PLANTED_CLASS] > 0.5, "class ranked first by |AUC - 0.5| is %zu",
                r.rank_auc);
  ck_assert_msg(r.rank_dp == PLANTED_CLASS && r.dp[PLANTED_CLASS] > 0, "class ranked first by delta p is %zu", r.rank_dp);
  /* 2. zeroing the most sensitive channels removes most of the class's delta p; p = 0 recomputes the
   *    audit's own delta p from the head's weights */
  ck_assert_msg(fabs(r.dp_masked[0] - r.dp[PLANTED_CLASS]) < 1e-3, "head recomputed from fc weights disagrees: %g vs %g",
                r.dp_masked[0], r.dp[PLANTED_CLASS]);
  ck_assert_msg(r.dp_masked[PLANTED_NP - 1] < 0.5 * r.dp[PLANTED_CLASS], "masking half the channels leaves delta p %.3f of %.3f",
                r.dp_masked[PLANTED_NP - 1], r.dp[PLANTED_CLASS]);
  /* 3. the downstream head relies on the watermark, and the best mask at least halves that */
  ck_assert_msg(r.head_loss[0] >= 0.15, "without a mask the head loses only %.1f points", 100 * r.head_loss[0]);
  ck_assert_msg(r.best > 0, "every mask costs more than 2 points of clean accuracy");
  printf("best mask p=%g: loss %.1f -> %.1f points, clean %.3f -> %.3f\n", r.ps[r.best], 100 * r.head_loss[0],
         100 * r.head_loss[r.best], r.head_clean[0], r.head_clean[r.best]);
  ck_assert_msg(r.head_loss[r.best] <= 0.5 * r.head_loss[0], "best mask (p=%g) loss %.1f points is more than half of %.1f",
                r.ps[r.best], 100 * r.head_loss[r.best], 100 * r.head_loss[0]);
  /* 4. the head's logit AUC between clean and watermarked inputs moves toward 0.5 as p grows */
  ck_assert_msg(fabs(r.head_auc[PLANTED_NP - 1] - 0.5) < fabs(r.head_auc[0] - 0.5),
                "head AUC %.3f at p=0.5 is not closer to 0.5 than %.3f unmasked", r.head_auc[PLANTED_NP - 1], r.head_auc[0]);
}
END_TEST

/* fontconfig keeps its parsed configuration for the life of the process. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

int main(int argc, char **argv) {
  out_dir = argc > 1 ? argv[1] : NULL;
  Suite *s = suite_create("planted");
  TCase *tc = tcase_create("planted");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, planted_shortcut);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK); /* prints go straight to the log, in order */
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
