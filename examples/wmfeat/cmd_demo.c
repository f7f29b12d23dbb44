/* wmfeat demo: the main job on the bundled ground truth. A small ResNet was trained (train_planted.py)
 * on noisy digits with the ImageNet-W watermark planted on class 8; the demo audits it, masks the most
 * watermark-sensitive channels and shows that a downstream head then relies less on the watermark. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "planted.h"
#include "progress.h"
#include "report.h"
#include "json_out.h"

/* Where an installed program finds its data, relative to its own folder (meson: bindir to
 * datadir/wmfeat). The build tree keeps a copy in the program's folder, `data/`. */
#ifndef WMFEAT_DATA_REL
#define WMFEAT_DATA_REL "../share/wmfeat"
#endif

static const char *const demo_files[] = {"planted_resnet.safetensors", "planted_digits.bin"};

static bool has_demo_files(const char *dir) {
  for (size_t i = 0; i < sizeof demo_files / sizeof demo_files[0]; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, demo_files[i]);
    if (access(path, R_OK) != 0) return false;
  }
  return true;
}

/* The folder of the demo data into dir: --data DIR, else $WMFEAT_DATA, else beside the program (the
 * installed copy, <program's folder>/WMFEAT_DATA_REL, then the build tree's, <program's folder>/data).
 * --data and WMFEAT_DATA are used as given. Returns 0, or EXIT_RUNTIME after naming every place looked. */
static int find_demo_data(const char *given, char *dir, size_t len) {
  const char *env = getenv("WMFEAT_DATA");
  char tried[3][4096] = {"", "", ""}, exe[3800];
  int n = 0;
  if (given || (env && *env)) {
    snprintf(tried[n++], sizeof tried[0], "%s (%s)", given ? given : env, given ? "--data" : "WMFEAT_DATA");
    snprintf(dir, len, "%s", given ? given : env);
    if (has_demo_files(dir)) return 0;
  } else {
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
      exe[k] = '\0';
      char *slash = strrchr(exe, '/');
      if (slash) *slash = '\0';
      const char *rel[2] = {WMFEAT_DATA_REL, "data"};
      for (int i = 0; i < 2; i++) {
        char base[3800];
        const char *r = rel[i];
        snprintf(base, sizeof base, "%s", exe);
        for (char *up; !strncmp(r, "../", 3) && (up = strrchr(base, '/')) && up != base; r += 3) *up = '\0';
        snprintf(dir, len, "%s/%s", base, r);
        snprintf(tried[n++], sizeof tried[0], "%s", dir);
        if (has_demo_files(dir)) return 0;
      }
    } else snprintf(tried[n++], sizeof tried[0], "beside the program: /proc/self/exe unreadable");
  }
  fprintf(stderr, "error: demo: the demo data (");
  for (size_t i = 0; i < sizeof demo_files / sizeof demo_files[0]; i++) fprintf(stderr, "%s%s", i ? ", " : "", demo_files[i]);
  fprintf(stderr, ") is not in");
  for (int i = 0; i < n; i++) fprintf(stderr, "%s %s", i ? " nor" : "", tried[i]);
  fprintf(stderr, "\n       give its folder with --data DIR or WMFEAT_DATA=DIR (the source tree's examples/data, or\n"
                  "       PREFIX/share/wmfeat after meson install)\n");
  return EXIT_RUNTIME;
}

static bool quiet;
static void log_line(const char *line) {
  if (!quiet) fprintf(stderr, "... %s\n", line);
}

static int print_json(const planted_result *r, const char *out, const char *precision, double seconds) {
  json_t *classes = json_array(), *masks = json_array();
  for (int k = 0; classes && k < PLANTED_K; k++)
    json_array_append_new(classes, json_pack("{s:i, s:f, s:f}", "class", k, "auc", r->auc[k], "delta_p", r->dp[k]));
  for (int k = 0; masks && k < PLANTED_NP; k++)
    json_array_append_new(masks, json_pack("{s:f, s:I, s:f, s:f, s:f, s:f}", "p", r->ps[k], "masked",
                                           (json_int_t)r->masked[k], "delta_p", r->dp_masked[k], "head_clean",
                                           r->head_clean[k], "head_reversed", r->head_reversed[k], "head_auc",
                                           r->head_auc[k]));
  return json_out_print(json_pack(
    "{s:f, s:s, s:I, s:f, s:f, s:i, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "seconds", seconds, "precision", precision,
    "test_pairs",
    (json_int_t)r->n_test, "accuracy_clean", r->acc_clean, "accuracy_watermarked", r->acc_wm, "planted_class",
    PLANTED_CLASS, "rank_by_auc", (json_int_t)r->rank_auc, "rank_by_delta_p", (json_int_t)r->rank_dp, "classes",
    classes, "channels_above", report_counts_json(r->above), "masks", masks, "best_p",
    r->best >= 0 ? json_real(r->ps[r->best]) : json_null(), "report", json_out_string(out)));
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
  printf("   channels with d above %s: ", report_thresholds_text());
  report_print_counts(stdout, r->above);
  printf(" of %d; most sensitive:", PLANTED_F);
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
  const char *out = "wmfeat-demo", *data = NULL;
  arg_spec specs[] = {{"out", ARG_STRING, &out, "report folder (default wmfeat-demo)"},
                      {"data", ARG_STRING, &data, "folder with planted_resnet.safetensors and planted_digits.bin (default: "
                                                   "$WMFEAT_DATA, else the copy installed with the program)"},
                      PRECISION_SPEC, COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat demo [--out DIR] [--precision fp32|bf16] [--json]\n"
                      "  audits the bundled planted-shortcut network, masks it, probes it, writes a report";
  const char *pos[1];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 0, 0, &np, &o, &rc)) return rc;
  bool bf16;
  if ((rc = check_precision(true, &bf16))) return rc;
  char data_dir[4096];
  if ((rc = find_demo_data(data, data_dir, sizeof data_dir))) return rc;
  if (mkdir_p(out)) return EXIT_RUNTIME;
  quiet = o.quiet || o.json;
  double t0 = now_seconds();
  planted_result r;
  wmf_status st = planted_run(&r, data_dir, out, (unsigned)o.threads, bf16 ? WMF_PRECISION_BF16 : WMF_PRECISION_FP32,
                              log_line);
  if (st) {
    fprintf(stderr, "error: demo: %s: %s\n", wmf_status_name(st), planted_error());
    return EXIT_RUNTIME;
  }
  if (o.json) return print_json(&r, out, precision_name(bf16), now_seconds() - t0);
  print_text(&r, out, now_seconds() - t0);
  return EXIT_OK;
}
