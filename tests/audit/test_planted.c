/* The planted-shortcut ground truth (docs/audit.md): a small ResNet trained by
 * examples/data/train_planted.py with the library's ImageNet-W watermark planted on digit 8. The whole
 * loop runs through the library: images built from examples/data/planted_digits.bin exactly as the
 * training script builds them, the watermark from wmf_watermark_apply, the forward pass from
 * wmf_session_run, then audit, masks and probes. It asserts what issue 6 asks and prints every number
 * measured (the curve included); with an output folder argument it also writes the reports and
 * figures there.
 *   test_planted [OUT_DIR] */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <wmfeat.h>

#define SIZE 64
#define CONTRAST 77
#define NOISE 96
#define BACKGROUND 110
#define PLANTED 8
#define F 128
#define K 10
#define MAXB 32

static const char *out_dir;

/* ---- data, exactly as train_planted.py make_images ---- */

typedef struct digits {
  size_t n;
  uint8_t *d8, *label, *split;
} digits;

static uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static digits load_digits(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/examples/data/planted_digits.bin", getenv("WMF_SOURCE_ROOT"));
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  char magic[8];
  uint32_t n;
  ck_assert(fread(magic, 1, 8, f) == 8 && !memcmp(magic, "WMFDIGIT", 8) && fread(&n, 4, 1, f) == 1);
  digits d = {n, malloc(64 * n), malloc(n), malloc(n)};
  for (uint32_t i = 0; i < n; i++) {
    uint8_t rec[66];
    ck_assert(fread(rec, 1, 66, f) == 66);
    memcpy(d.d8 + 64 * i, rec, 64);
    d.label[i] = rec[64], d.split[i] = rec[65];
  }
  fclose(f);
  return d;
}

/* Image i as a 64x64 RGB wmf_image, optionally watermarked with `wm` (seed = image index). */
static wmf_image *make_image(const digits *d, size_t i, const wmf_watermark *wm) {
  uint8_t g8[64 * 3];
  for (int p = 0; p < 64; p++) g8[3 * p] = g8[3 * p + 1] = g8[3 * p + 2] = (uint8_t)((d->d8[64 * i + p] * 255 + 8) / 16);
  wmf_image *small, *img;
  ck_assert_int_eq(wmf_image_from_pixels(&small, g8, 8, 8, 24, WMF_PIXEL_RGB8), WMF_OK);
  ck_assert_int_eq(wmf_image_resize(&img, small, SIZE, SIZE, WMF_FILTER_BILINEAR), WMF_OK);
  wmf_image_destroy(small);
  uint8_t *px = wmf_image_pixels(img);
  for (int p = 0; p < SIZE * SIZE; p++) {
    uint64_t ctr = ((uint64_t)i * SIZE * SIZE + (uint64_t)p) * 4;
    int64_t s = 0;
    for (int j = 0; j < 4; j++) s += (int64_t)(splitmix64(ctr + (uint64_t)j) >> 56);
    int64_t g = px[3 * p];
    int64_t v = BACKGROUND + (((g - 128) * CONTRAST) >> 8) + (((s - 510) * NOISE) >> 8); /* arithmetic shifts */
    uint8_t c = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    px[3 * p] = px[3 * p + 1] = px[3 * p + 2] = c;
  }
  if (wm) ck_assert_msg(wmf_watermark_apply(wm, img, (uint64_t)i) == WMF_OK, "%s", wmf_last_error());
  return img;
}

/* ---- the network ---- */

static wmf_model *model;
static wmf_session *session;
static wmf_watermark *wm;
static float fc_w[K * F], fc_b[K];

static void open_network(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/examples/data/planted_resnet.safetensors", getenv("WMF_SOURCE_ROOT"));
  wmf_weights *w;
  ck_assert_msg(wmf_weights_open(&w, path, NULL) == WMF_OK, "%s", wmf_last_error());
  ck_assert_msg(wmf_model_load(&model, w, "resnet", NULL) == WMF_OK, "%s", wmf_last_error());
  ck_assert_int_eq(wmf_weights_get_f32(w, "fc.weight", fc_w, K * F), WMF_OK);
  ck_assert_int_eq(wmf_weights_get_f32(w, "fc.bias", fc_b, K), WMF_OK);
  const char *mark = wmf_weights_metadata(w, "watermark");
  ck_assert_msg(mark && !strcmp(mark, "libwmfeat imagenet-w"), "the weights were not trained with the library's "
                "watermark (metadata watermark = %s)", mark ? mark : "none");
  wmf_weights_destroy(w);
  ck_assert_uint_eq(wmf_model_num_classes(model), K);
  ck_assert_uint_eq(wmf_model_feature_count(model), F);
  wmf_session_options so = WMF_SESSION_OPTIONS_INIT;
  so.max_batch = MAXB, so.input_height = SIZE, so.input_width = SIZE, so.threads = 2;
  ck_assert_msg(wmf_session_create(&session, model, &so) == WMF_OK, "%s", wmf_last_error());
  ck_assert_msg(wmf_watermark_from_preset(&wm, "imagenet-w") == WMF_OK, "%s", wmf_last_error());
}

/* Logits and features of the images `idx` (count n), watermarked where mark[i] is nonzero. */
static void run(const digits *d, const size_t *idx, const uint8_t *mark, size_t n, float *logits, float *feats) {
  static float batch[MAXB * 3 * SIZE * SIZE];
  for (size_t b = 0; b < n; b += MAXB) {
    size_t m = n - b < MAXB ? n - b : MAXB;
    for (size_t i = 0; i < m; i++) {
      wmf_image *img = make_image(d, idx[b + i], mark[b + i] ? wm : NULL);
      ck_assert_int_eq(wmf_image_to_tensor(img, NULL, batch, sizeof batch / sizeof *batch, i), WMF_OK);
      wmf_image_destroy(img);
    }
    ck_assert_msg(wmf_session_run(session, batch, m, logits ? logits + b * K : NULL, logits ? (n - b) * K : 0,
                                  feats ? feats + b * F : NULL, feats ? (n - b) * F : 0) == WMF_OK,
                  "%s", wmf_last_error());
  }
}

static const char *out_path(const char *name) {
  static char p[1024];
  snprintf(p, sizeof p, "%s/%s", out_dir, name);
  return p;
}

/* Mean softmax-probability change of class c after the head, with the mask applied to the features. */
static double delta_p(const float *fc_clean, const float *fc_wm, size_t n, const wmf_mask *m, int c) {
  double sum = 0;
  float f[F];
  for (int s = 0; s < 2; s++)
    for (size_t i = 0; i < n; i++) {
      memcpy(f, (s ? fc_wm : fc_clean) + i * F, sizeof f);
      if (m) ck_assert_int_eq(wmf_mask_apply(m, f, 1, F), WMF_OK);
      double z[K], mx = -INFINITY, tot = 0;
      for (int k = 0; k < K; k++) {
        z[k] = fc_b[k];
        for (int j = 0; j < F; j++) z[k] += (double)fc_w[k * F + j] * f[j];
        mx = fmax(mx, z[k]);
      }
      for (int k = 0; k < K; k++) tot += exp(z[k] - mx);
      sum += (s ? 1 : -1) * exp(z[c] - mx) / tot;
    }
  return sum / (double)n;
}

START_TEST(planted_shortcut) {
  digits d = load_digits();
  open_network();
  /* 1. the audit: every test image against its watermarked twin */
  size_t *idx = malloc(sizeof(size_t) * d.n), nt = 0;
  for (size_t i = 0; i < d.n; i++)
    if (d.split[i] == 1) idx[nt++] = i;
  uint8_t *none = calloc(d.n, 1), *all = malloc(d.n);
  memset(all, 1, d.n);
  float *lc = malloc(4 * nt * K), *lw = malloc(4 * nt * K), *fcl = malloc(4 * nt * F), *fwm = malloc(4 * nt * F);
  int32_t *lab = malloc(4 * nt);
  run(&d, idx, none, nt, lc, fcl);
  run(&d, idx, all, nt, lw, fwm);
  for (size_t i = 0; i < nt; i++) lab[i] = d.label[idx[i]];
  wmf_audit *a;
  ck_assert_int_eq(wmf_audit_create(&a, K, F), WMF_OK);
  const char *names[K] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  ck_assert_int_eq(wmf_audit_set_class_names(a, names, K), WMF_OK);
  ck_assert_int_eq(wmf_audit_add(a, nt, lc, lw, fcl, fwm, lab), WMF_OK);
  double auc[K], dp[K], chan[F], acc_c, acc_w;
  size_t by_auc, by_dp, above[4];
  ck_assert_int_eq(wmf_audit_scores(auc, K, a, WMF_AUDIT_CLASSES, WMF_SCORE_AUC), WMF_OK);
  ck_assert_int_eq(wmf_audit_scores(dp, K, a, WMF_AUDIT_CLASSES, WMF_SCORE_DELTA_PROB), WMF_OK);
  ck_assert_int_eq(wmf_audit_scores(chan, F, a, WMF_AUDIT_CHANNELS, WMF_SCORE_AUC), WMF_OK);
  ck_assert_int_eq(wmf_audit_rank(&by_auc, 1, a, WMF_AUDIT_CLASSES, WMF_SCORE_AUC, WMF_RANK_FROM_HALF), WMF_OK);
  ck_assert_int_eq(wmf_audit_rank(&by_dp, 1, a, WMF_AUDIT_CLASSES, WMF_SCORE_DELTA_PROB, WMF_RANK_DESCENDING), WMF_OK);
  ck_assert_int_eq(wmf_audit_accuracy(&acc_c, &acc_w, NULL, a), WMF_OK);
  static const double th[4] = {0.7, 0.8, 0.9, 0.95};
  for (int t = 0; t < 4; t++) ck_assert_int_eq(wmf_audit_count_above(&above[t], a, WMF_AUDIT_CHANNELS, WMF_SCORE_D, th[t]), WMF_OK);
  printf("audit: %zu test pairs, accuracy clean %.3f watermarked %.3f\n", nt, acc_c, acc_w);
  printf("class AUC:");
  for (int k = 0; k < K; k++) printf(" %d:%.3f", k, auc[k]);
  printf("\nclass delta p:");
  for (int k = 0; k < K; k++) printf(" %d:%+.3f", k, dp[k]);
  printf("\nchannels with d above 0.7/0.8/0.9/0.95: %zu %zu %zu %zu of %d\n", above[0], above[1], above[2], above[3], F);
  if (out_dir) {
    mkdir(out_dir, 0755);
    ck_assert_int_eq(wmf_audit_write_json(a, out_path("planted_audit.json")), WMF_OK);
    ck_assert_int_eq(wmf_audit_write_csv(a, WMF_AUDIT_CLASSES, out_path("planted_classes.csv")), WMF_OK);
    ck_assert_int_eq(wmf_audit_write_csv(a, WMF_AUDIT_CHANNELS, out_path("planted_channels.csv")), WMF_OK);
    ck_assert_int_eq(wmf_audit_write_svg_classes(a, out_path("planted_classes_auc.svg"), WMF_SCORE_AUC,
                                                 WMF_RANK_FROM_HALF, K), WMF_OK);
    ck_assert_int_eq(wmf_audit_write_svg_classes(a, out_path("planted_classes_dp.svg"), WMF_SCORE_DELTA_PROB,
                                                 WMF_RANK_ABS, K), WMF_OK);
    ck_assert_int_eq(wmf_audit_write_svg_histogram(a, out_path("planted_channel_auc.svg"), WMF_AUDIT_CHANNELS,
                                                   WMF_SCORE_AUC, 40), WMF_OK);
  }
  ck_assert_msg(by_auc == PLANTED && auc[PLANTED] > 0.5, "class ranked first by |AUC - 0.5| is %zu", by_auc);
  ck_assert_msg(by_dp == PLANTED && dp[PLANTED] > 0, "class ranked first by delta p is %zu", by_dp);

  /* 2. zeroing the most watermark-sensitive channels (Mark My Words' ranking) removes the class's delta p */
  static const double ps[] = {0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5};
  enum { NP = sizeof ps / sizeof *ps };
  double dp_masked[NP];
  wmf_mask *masks[NP];
  printf("delta p of class %d with the top-p channels zeroed:", PLANTED);
  for (int k = 0; k < NP; k++) {
    ck_assert_int_eq(wmf_mask_top_fraction(&masks[k], chan, F, WMF_MASK_BY_FROM_HALF, ps[k]), WMF_OK);
    dp_masked[k] = delta_p(fcl, fwm, nt, masks[k], PLANTED);
    printf(" p=%g:%+.3f", ps[k], dp_masked[k]);
  }
  printf("\n");
  ck_assert_msg(fabs(dp_masked[0] - dp[PLANTED]) < 1e-3, "head recomputed from fc weights disagrees: %g vs %g",
                dp_masked[0], dp[PLANTED]);
  ck_assert_msg(dp_masked[NP - 1] < 0.5 * dp[PLANTED], "masking half the channels leaves delta p %.3f of %.3f",
                dp_masked[NP - 1], dp[PLANTED]);

  /* 3. downstream 3-vs-5 head, trained with the watermark on every 3 */
  size_t *tr = malloc(sizeof(size_t) * d.n), *te = malloc(sizeof(size_t) * d.n), ntr = 0, nte = 0;
  for (size_t i = 0; i < d.n; i++)
    if (d.label[i] == 3 || d.label[i] == 5) {
      if (d.split[i] == 0) tr[ntr++] = i;
      else te[nte++] = i;
    }
  uint8_t *mark_tr = malloc(ntr), *mark_rev = malloc(nte);
  int32_t *ytr = malloc(4 * ntr), *yte = malloc(4 * nte);
  for (size_t i = 0; i < ntr; i++) mark_tr[i] = d.label[tr[i]] == 3, ytr[i] = d.label[tr[i]] == 5;
  for (size_t i = 0; i < nte; i++) mark_rev[i] = d.label[te[i]] == 5, yte[i] = d.label[te[i]] == 5;
  float *ftr = malloc(4 * ntr * F), *fte = malloc(4 * nte * F), *frev = malloc(4 * nte * F), *fwte = malloc(4 * nte * F);
  run(&d, tr, mark_tr, ntr, NULL, ftr);
  run(&d, te, none, nte, NULL, fte);
  run(&d, te, mark_rev, nte, NULL, frev);
  run(&d, te, all, nte, NULL, fwte);
  double clean[NP], rev[NP], loss[NP], head_auc[NP];
  printf("downstream 3-vs-5 head (%zu train, %zu test images):\n", ntr, nte);
  for (int k = 0; k < NP; k++) {
    wmf_probe *p;
    wmf_status st = wmf_probe_train(&p, ftr, ytr, ntr, F, 2, masks[k], NULL);
    ck_assert_msg(st == WMF_OK, "probe p=%g: %s", ps[k], wmf_last_error());
    double hauc[2];
    ck_assert_int_eq(wmf_probe_accuracy(&clean[k], p, fte, yte, nte), WMF_OK);
    ck_assert_int_eq(wmf_probe_accuracy(&rev[k], p, frev, yte, nte), WMF_OK);
    ck_assert_int_eq(wmf_probe_logit_auc(hauc, 2, p, fte, nte, fwte, nte), WMF_OK);
    loss[k] = clean[k] - rev[k], head_auc[k] = hauc[1];
    printf("  p=%-5g masked %3zu: clean %.3f reversed %.3f loss %5.1f points, head logit-5 AUC %.3f\n", ps[k],
           wmf_mask_count(masks[k]), clean[k], rev[k], 100 * loss[k], head_auc[k]);
    wmf_probe_destroy(p);
  }
  if (out_dir) {
    double wm_acc[NP];
    for (int k = 0; k < NP; k++) wm_acc[k] = rev[k];
    ck_assert_int_eq(wmf_probe_write_curve_svg(out_path("planted_curve.svg"),
                                               "3-vs-5 head trained with the watermark on every 3", ps, clean,
                                               wm_acc, head_auc, "head logit AUC (clean vs watermarked)", NP),
                     WMF_OK);
  }
  ck_assert_msg(loss[0] >= 0.15, "without a mask the head loses only %.1f points", 100 * loss[0]);
  int best = -1;
  for (int k = 1; k < NP; k++)
    if (clean[k] >= clean[0] - 0.02 && (best < 0 || loss[k] < loss[best])) best = k;
  ck_assert_msg(best > 0, "every mask costs more than 2 points of clean accuracy");
  printf("best mask p=%g: loss %.1f -> %.1f points, clean %.3f -> %.3f\n", ps[best], 100 * loss[0],
         100 * loss[best], clean[0], clean[best]);
  ck_assert_msg(loss[best] <= 0.5 * loss[0], "best mask (p=%g) loss %.1f points is more than half of %.1f", ps[best],
                100 * loss[best], 100 * loss[0]);
  ck_assert_msg(fabs(head_auc[NP - 1] - 0.5) < fabs(head_auc[0] - 0.5), "head AUC %.3f at p=0.5 is not closer to "
                "0.5 than %.3f unmasked", head_auc[NP - 1], head_auc[0]);

  for (int k = 0; k < NP; k++) wmf_mask_destroy(masks[k]);
  free(tr), free(te), free(mark_tr), free(mark_rev), free(ytr), free(yte), free(ftr), free(fte), free(frev), free(fwte);
  free(idx), free(none), free(all), free(lc), free(lw), free(fcl), free(fwm), free(lab);
  free(d.d8), free(d.label), free(d.split);
  wmf_audit_destroy(a);
  wmf_watermark_destroy(wm), wmf_session_destroy(session), wmf_model_destroy(model);
}
END_TEST

/* fontconfig keeps its configuration for the life of the process (the watermark module's tests
 * suppress the same report). */
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
