/* Benchmark (not a test): the audit's share of an end-to-end audit of a network.
 *   build/tests/audit/bench_audit_e2e WEIGHTS.safetensors IMAGE [pairs=100] [batch=8]
 * For every pair: resize 256 / crop 224, the ImageNet-W watermark on a copy, ToTensor + Normalize,
 * one forward pass per image (wmf_session_run), wmf_audit_add. Then every score, masks at 7 fractions and
 * a 2-class probe on the clean features. Prints the time of each part and the audit's share. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <wmfeat.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
#define CHECK(x) do { wmf_status st_ = (x); if (st_ && st_ != WMF_ERR_LIMIT) { fprintf(stderr, "%s: %s\n", #x, wmf_last_error()); return 1; } } while (0)

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s WEIGHTS IMAGE [pairs] [batch]\n", argv[0]);
    return 2;
  }
  size_t pairs = argc > 3 ? strtoul(argv[3], NULL, 10) : 100, B = argc > 4 ? strtoul(argv[4], NULL, 10) : 8;
  wmf_weights *w;
  wmf_model *m;
  wmf_session *s;
  wmf_watermark *wm;
  wmf_image *img, *r, *crop;
  CHECK(wmf_weights_open(&w, argv[1], NULL));
  CHECK(wmf_model_load(&m, w, NULL, NULL));
  wmf_weights_destroy(w);
  wmf_session_options so = WMF_SESSION_OPTIONS_INIT;
  so.max_batch = (uint32_t)(2 * B);
  CHECK(wmf_session_create(&s, m, &so));
  size_t C = wmf_session_logit_count(s), F = wmf_session_feature_count(s), px = 3 * 224 * 224;
  CHECK(wmf_watermark_from_preset(&wm, "imagenet-w"));
  CHECK(wmf_image_load(&img, argv[2], NULL));
  CHECK(wmf_image_resize_shorter(&r, img, 256, WMF_FILTER_BILINEAR));
  CHECK(wmf_image_center_crop(&crop, r, 224, 224));
  float *in = malloc(4 * 2 * B * px), *logits = malloc(4 * 2 * B * C), *feats = malloc(4 * 2 * B * F);
  float *all_cf = malloc(4 * pairs * F);
  wmf_audit *a;
  CHECK(wmf_audit_create(&a, C, F));
  double t_prep = 0, t_fwd = 0, t_add = 0, t0;
  for (size_t done = 0; done < pairs; done += B) {
    size_t n = pairs - done < B ? pairs - done : B;
    t0 = now();
    for (size_t i = 0; i < n; i++) {
      wmf_image *twin;
      CHECK(wmf_image_clone(&twin, crop));
      CHECK(wmf_watermark_apply(wm, twin, done + i));
      CHECK(wmf_image_to_tensor(crop, NULL, in, 2 * B * px, i));
      CHECK(wmf_image_to_tensor(twin, NULL, in, 2 * B * px, n + i));
      wmf_image_destroy(twin);
    }
    t_prep += now() - (t0);
    t0 = now();
    CHECK(wmf_session_run(s, in, 2 * n, logits, 2 * B * C, feats, 2 * B * F));
    t_fwd += now() - t0;
    t0 = now();
    CHECK(wmf_audit_add(a, n, logits, logits + n * C, feats, feats + n * F, NULL));
    t_add += now() - t0;
    for (size_t i = 0; i < n * F; i++) all_cf[done * F + i] = feats[i];
  }
  double *auc = malloc(8 * F);
  t0 = now();
  CHECK(wmf_audit_scores(auc, F, a, WMF_AUDIT_CHANNELS, WMF_SCORE_AUC));
  double t_scores = now() - t0;
  static const double ps[] = {0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5};
  wmf_mask *mask = NULL;
  t0 = now();
  for (int k = 0; k < 7; k++) {
    wmf_mask_destroy(mask);
    CHECK(wmf_mask_top_fraction(&mask, auc, F, WMF_MASK_BY_FROM_HALF, ps[k]));
  }
  double t_mask = now() - t0;
  int32_t *y = malloc(4 * pairs);
  for (size_t i = 0; i < pairs; i++) y[i] = (int32_t)(i & 1);
  wmf_probe *p;
  t0 = now();
  CHECK(wmf_probe_train(&p, all_cf, y, pairs, F, 2, mask, NULL));
  double t_probe = now() - t0;
  double audit = t_add + t_scores + t_mask + t_probe, total = t_prep + t_fwd + audit;
  printf("%zu pairs, %zu logits, %zu features, batch %zu pairs\n", pairs, C, F, B);
  printf("preprocess + watermark: %8.2f ms per pair\n", 1e3 * t_prep / pairs);
  printf("forward (2 images):     %8.2f ms per pair\n", 1e3 * t_fwd / pairs);
  printf("audit add:              %8.3f ms per pair\n", 1e3 * t_add / pairs);
  printf("audit scores:           %8.3f ms per pair\n", 1e3 * t_scores / pairs);
  printf("masks (7 fractions):    %8.3f ms total\n", 1e3 * t_mask);
  printf("probe (%zu x %zu):      %8.1f ms total\n", pairs, F, 1e3 * t_probe);
  printf("audit share of the end-to-end time: %.2f %%\n", 100 * audit / total);
  return 0;
}
