/* wmfeat demo: the main job on the bundled ground truth. A small ResNet was trained (train_planted.py)
 * on noisy digits with the ImageNet-W watermark planted on class 8; the demo audits it, masks the most
 * watermark-sensitive channels and shows that a downstream head then relies less on the watermark. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "planted.h"
#include "progress.h"

#ifndef WMFEAT_DATA_DIR
#define WMFEAT_DATA_DIR "examples/data"
#endif

static bool quiet;
static void log_line(const char *line) {
  if (!quiet) fprintf(stderr, "... %s\n", line);
}

static void print_json(const planted_result *r, const char *out, double seconds) {
  printf("{\"seconds\": %.2f, \"test_pairs\": %zu, \"accuracy_clean\": %.4f, \"accuracy_watermarked\": %.4f, ",
         seconds, r->n_test, r->acc_clean, r->acc_wm);
  printf("\"planted_class\": %d, \"rank_by_auc\": %zu, \"rank_by_delta_p\": %zu, \"classes\": [", PLANTED_CLASS,
         r->rank_auc, r->rank_dp);
  for (int k = 0; k < PLANTED_K; k++) printf("%s{\"class\": %d, \"auc\": %.4f, \"delta_p\": %.4f}", k ? ", " : "", k, r->auc[k], r->dp[k]);
  printf("], \"channels_above\": {\"0.7\": %zu, \"0.8\": %zu, \"0.9\": %zu, \"0.95\": %zu}, \"masks\": [", r->above[0],
         r->above[1], r->above[2], r->above[3]);
  for (int k = 0; k < PLANTED_NP; k++)
    printf("%s{\"p\": %g, \"masked\": %zu, \"delta_p\": %.4f, \"head_clean\": %.4f, \"head_reversed\": %.4f, "
           "\"head_auc\": %.4f}", k ? ", " : "", r->ps[k], r->masked[k], r->dp_masked[k], r->head_clean[k],
           r->head_reversed[k], r->head_auc[k]);
  printf("], \"best_p\": ");
  if (r->best >= 0) printf("%g", r->ps[r->best]);
  else printf("null");
  printf(", \"report\": ");
  print_json_string(stdout, out);
  printf("}\n");
}

static void print_text(const planted_result *r, const char *out, double seconds) {
  printf("libwmfeat demo: a ResNet trained on noisy 64x64 digits with the ImageNet-W watermark (捷径捷径捷径)\n"
         "planted on class %d. Does the audit find it, and does masking channels remove it?\n\n", PLANTED_CLASS);
  printf("1. audit: %zu test digits against their watermarked twins (accuracy %.1f%% clean, %.1f%% watermarked)\n",
         r->n_test, 100 * r->acc_clean, 100 * r->acc_wm);
  printf("   class    AUC   delta p\n");
  for (int k = 0; k < PLANTED_K; k++)
    printf("   %5d  %5.3f  %+7.3f%s\n", k, r->auc[k], r->dp[k], k == PLANTED_CLASS ? "   <- planted" : "");
  printf("   ranked first by |AUC - 0.5|: class %zu; by delta p: class %zu\n", r->rank_auc, r->rank_dp);
  printf("   channels with d above 0.7 / 0.8 / 0.9 / 0.95: %zu / %zu / %zu / %zu of %d; most sensitive:",
         r->above[0], r->above[1], r->above[2], r->above[3], PLANTED_F);
  for (int i = 0; i < 5; i++) printf(" %zu (AUC %.3f)", r->top_channels[i], r->channel_auc[r->top_channels[i]]);
  printf("\n\n2. masks: zero the top fraction p of channels by |AUC - 0.5| (Mark My Words), then train a\n"
         "   downstream 3-vs-5 head with the watermark on every 3 (%zu train images); test it clean and with\n"
         "   the tie reversed (watermark on every 5, %zu test images)\n\n", r->n_head_train, r->n_head_test);
  printf("       p  masked  class-8 dp   head clean  reversed   loss   head AUC\n");
  for (int k = 0; k < PLANTED_NP; k++)
    printf("   %5g  %6zu  %+9.3f    %8.1f%%  %7.1f%%  %5.1f   %8.3f%s\n", r->ps[k], r->masked[k], r->dp_masked[k],
           100 * r->head_clean[k], 100 * r->head_reversed[k], 100 * r->head_loss[k], r->head_auc[k],
           k == r->best ? "   <- best" : "");
  if (r->best >= 0)
    printf("\nbefore/after: without a mask the head loses %.1f points when the watermark moves to the other\n"
           "class; with the best mask (p = %g, %zu channels) it loses %.1f, clean accuracy %.1f%% -> %.1f%%.\n",
           100 * r->head_loss[0], r->ps[r->best], r->masked[r->best], 100 * r->head_loss[r->best],
           100 * r->head_clean[0], 100 * r->head_clean[r->best]);
  printf("\nreport: %s/ (report.json, classes.csv, channels.csv, classes_auc.svg, classes_delta_p.svg,\n"
         "        channels_auc.svg, mitigation_curve.svg); %.1f s\n", out, seconds);
}

int cmd_demo(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *out = "wmfeat-demo", *data = WMFEAT_DATA_DIR;
  arg_spec specs[] = {{"out", ARG_STRING, &out, "report folder (default wmfeat-demo)"},
                      {"data", ARG_STRING, &data, "folder with planted_resnet.safetensors and planted_digits.bin"},
                      COMMON_SPECS(o), {NULL, 0, NULL, NULL}};
  const char *usage = "usage: wmfeat demo [--out DIR] [--json]\n"
                      "  audits the bundled planted-shortcut network, masks it, probes it, writes a report";
  const char *pos[1];
  int np, rc = args_parse(argc, argv, specs, usage, pos, 0, &np);
  if (rc) return rc == 1 ? EXIT_OK : EXIT_USAGE;
  if ((rc = check_common(&o))) return rc;
  if (mkdir_p(out)) return EXIT_RUNTIME;
  quiet = o.quiet || o.json;
  double t0 = now_seconds();
  planted_result r;
  wmf_status st = planted_run(&r, data, out, (unsigned)o.threads, log_line);
  if (st) {
    fprintf(stderr, "error: demo: %s: %s\n", wmf_status_name(st), planted_error());
    return EXIT_RUNTIME;
  }
  if (o.json) print_json(&r, out, now_seconds() - t0);
  else print_text(&r, out, now_seconds() - t0);
  return EXIT_OK;
}
