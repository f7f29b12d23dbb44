/* Parity with torchvision: runs one model (argv[2]) from the reference directory (argv[1]) written by
 * make_reference.py, at 224 and 160 px (Inception-v3: 299 and 224; a ViT: at the one size its position
 * embedding fixes, and another size must be refused), batch 1 and 3, and checks logits, features and the
 * pooled stage output against torch: max|delta| <= 1e-4 * max|value| + 1e-5, and the same top-5 order. It also
 * checks, bit for bit, that an image's logits, features and stage output do not depend on the batch it runs in
 * (batch 1 and 3 at every size; at the first size its place in a batch of 16), the session's max_batch or its
 * thread count (check_batch_place; docs/models.md). */
#include "parity.h"
#include "nn/nn_internal.h"
#include "../check_run.h"

static const char *dir, *name;

/* The input sizes the reference holds: its "sizes" (make_reference.py writes them), else 224 and 160, or
 * for a network trained at another size that size first (Inception-v3: 299, 224; regnet_y_128gf: 384, 224). */
static int ref_sizes(const wmf_weights *ref, int sizes[2]) {
  static const int candidates[] = {384, 299, 224, 160};
  int n = 0;
  size_t idx;
  char key[64];
  if (wmf_weights_find(ref, "sizes", &idx) == WMF_OK) {
    size_t cnt;
    float *v = ref_get(ref, "sizes", &cnt);
    for (size_t i = 0; i < cnt && n < 2; i++) sizes[n++] = (int)v[i];
    free(v);
    return n;
  }
  for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && n < 2; i++) {
    snprintf(key, sizeof key, "input_%d_b1", candidates[i]);
    if (wmf_weights_find(ref, key, &idx) == WMF_OK) sizes[n++] = candidates[i];
  }
  return n;
}

/* torchvision's transform_input off (GoogLeNet, Inception-v3): the reference's "*_noti_*" outputs (of
 * one size, batch 3), against the same weights loaded with WMF_TRANSFORM_INPUT_OFF; the default
 * (on) must differ from them. */
static void check_transform_off(const wmf_weights *w, const wmf_weights *ref, int size) {
  char key[64];
  size_t idx, cnt;
  snprintf(key, sizeof key, "logits_noti_%d_b3", size);
  if (wmf_weights_find(ref, key, &idx) != WMF_OK) return;
  float *want_l = ref_get(ref, key, &cnt);
  snprintf(key, sizeof key, "features_noti_%d_b3", size);
  float *want_f = ref_get(ref, key, NULL);
  snprintf(key, sizeof key, "input_%d_b3", size);
  float *x = ref_get(ref, key, NULL);
  wmf_model_options mo = WMF_MODEL_OPTIONS_INIT;
  mo.transform_input = WMF_TRANSFORM_INPUT_OFF;
  wmf_model *m;
  ck_assert_msg(wmf_model_load(&m, w, NULL, &mo) == WMF_OK, "load without transform_input: %s", wmf_last_error());
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.max_batch = 3;
  o.input_height = o.input_width = (uint32_t)size;
  o.threads = 2;
  wmf_session *s;
  ck_assert_msg(wmf_session_create(&s, m, &o) == WMF_OK, "session: %s", wmf_last_error());
  size_t nl = wmf_session_logit_count(s), nf = wmf_session_feature_count(s);
  ck_assert_uint_eq(cnt, 3 * nl);
  float *l = malloc(3 * nl * sizeof *l), *f = malloc(3 * nf * sizeof *f);
  ck_assert_msg(wmf_session_run(s, x, 3, l, 3 * nl, f, 3 * nf) == WMF_OK, "run: %s", wmf_last_error());
  snprintf(key, sizeof key, "%s logits without transform_input", name);
  double dl = compare(key, l, want_l, 3 * nl, 1e-4, 1e-5);
  snprintf(key, sizeof key, "%s features without transform_input", name);
  double df = compare(key, f, want_f, 3 * nf, 1e-4, 1e-5);
  printf("%s %d px batch 3, transform_input off: relative max deviation logits %.2e features %.2e\n", name, size, dl, df);
  /* the reference with it on differs: the option is what made the difference */
  snprintf(key, sizeof key, "logits_%d_b3", size);
  float *on = ref_get(ref, key, NULL);
  double diff = 0, top = 0;
  for (size_t i = 0; i < 3 * nl; i++) diff = fmax(diff, fabs((double)on[i] - want_l[i])), top = fmax(top, fabs(on[i]));
  ck_assert_msg(diff > 1e-2 * top, "transform_input changes the reference's logits by only %g of %g", diff, top);
  free(on), free(x), free(l), free(f), free(want_l), free(want_f);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
}

/* Rows of `count` values: `rows` of got against the same rows of want, bit for bit; the message names the
 * first differing row and value and how far apart they are. */
static void same_rows(const char *what, const char *where, const float *got, const float *want, int rows, size_t count) {
  for (int r = 0; r < rows; r++) {
    if (!memcmp(got + r * count, want + r * count, count * sizeof *got)) continue;
    size_t i = 0;
    while (!memcmp(&got[r * count + i], &want[r * count + i], sizeof *got)) i++;
    ck_abort_msg("%s: %s of image %d differ between the batch of 3 and %s: [%zu] %.9g vs %.9g", name, what, r, where, i,
                 (double)got[r * count + i], (double)want[r * count + i]);
  }
}

/* Batch independence (docs/models.md): the three reference images of the batch of 3 (`out3`: their logits, their
 * features, then their pooled `stage` outputs if stage is not "", from a session of max_batch 3 and 2 threads)
 * as rows 5, 6, 7 of a batch of 16 in a session of max_batch 16, every other row other data (the images negated
 * and shifted); then the batch of 3 again in a session of max_batch 16 with one thread. Every output bit for bit
 * the same. */
static void check_batch_place(const wmf_model *m, const wmf_weights *ref, const char *stage, int size,
                              const float *out3) {
  enum { BATCH = 16, AT = 5 };
  char key[64];
  snprintf(key, sizeof key, "input_%d_b3", size);
  size_t cnt;
  float *x3 = ref_get(ref, key, &cnt), *x = malloc(BATCH * cnt / 3 * sizeof *x);
  size_t img = cnt / 3;
  for (int r = 0; r < BATCH; r++)
    for (size_t i = 0; i < img; i++) /* other rows: image r % 3, shifted by 7r values and negated on odd rows */
      x[r * img + i] = r >= AT && r < AT + 3 ? x3[(r - AT) * img + i]
                                             : (r & 1 ? -1.f : 1.f) * x3[(r % 3) * img + (i + 7 * (size_t)r) % img];
  int threads[2] = {2, 1}, batches[2] = {BATCH, 3};
  for (int k = 0; k < 2; k++) {
    wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
    o.max_batch = BATCH;
    o.input_height = o.input_width = (uint32_t)size;
    o.threads = (uint32_t)threads[k];
    o.stage = stage[0] ? stage : NULL;
    wmf_session *s;
    ck_assert_msg(wmf_session_create(&s, m, &o) == WMF_OK, "session: %s", wmf_last_error());
    size_t nl = wmf_session_logit_count(s), nf = wmf_session_feature_count(s), ns = wmf_session_stage_count(s);
    int n = batches[k], at = n == BATCH ? AT : 0;
    float *l = malloc(n * nl * sizeof *l), *f = malloc(n * nf * sizeof *f);
    ck_assert_msg(wmf_session_run(s, n == BATCH ? x : x3, n, l, n * nl, f, n * nf) == WMF_OK, "run: %s",
                  wmf_last_error());
    if (n == BATCH) snprintf(key, sizeof key, "rows %d-%d of a batch of %d", AT, AT + 2, BATCH);
    else snprintf(key, sizeof key, "a batch of 3 with 1 thread and max_batch %d", BATCH);
    same_rows("logits", key, l + at * nl, out3, 3, nl);
    same_rows("features", key, f + at * nf, out3 + 3 * nl, 3, nf);
    if (ns) {
      float *sv = malloc(n * ns * sizeof *sv);
      ck_assert_int_eq(wmf_session_stage_features(s, sv, n * ns), WMF_OK);
      same_rows("stage outputs", key, sv + at * ns, out3 + 3 * (nl + nf), 3, ns);
      free(sv);
    }
    printf("%s %d px: the batch of 3's outputs bit for bit as %s\n", name, size, key);
    free(l), free(f);
    wmf_session_destroy(s);
  }
  free(x), free(x3);
}

/* Runs the model at `size` with convolution algorithm `algo` against the reference; returns how many
 * convolutions ran by Winograd. With `out3` non-NULL, *out3 receives the batch of 3's outputs (its 3 x nl
 * logits, its 3 x nf features, then its 3 x ns stage outputs; the caller frees it). */
static int run_size_as(const wmf_model *m, const wmf_weights *ref, const char *stage, int size, wmf_conv_algorithm algo,
                       float **out3) {
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.max_batch = 3;
  o.conv_algorithm = algo;
  o.input_height = o.input_width = (uint32_t)size;
  o.threads = 2;
  o.stage = stage[0] ? stage : NULL;
  wmf_session *s;
  ck_assert_msg(wmf_session_create(&s, m, &o) == WMF_OK, "session %d: %s", size, wmf_last_error());
  size_t nl = wmf_session_logit_count(s), nf = wmf_session_feature_count(s), ns = wmf_session_stage_count(s);
  int wino = wmfi_nn_session_winograd_count(s);
  if (algo == WMF_CONV_DIRECT) ck_assert_int_eq(wino, 0);
  int batches[2] = {3, 1};
  float *first = malloc((nl + nf + ns) * sizeof *first); /* image 0's outputs in the batch of 3 */
  if (out3) *out3 = malloc(3 * (nl + nf + ns) * sizeof **out3);
  for (int bi = 0; bi < 2; bi++) {
    int n = batches[bi];
    char key[64];
    snprintf(key, sizeof key, "input_%d_b%d", size, n);
    float *x = ref_get(ref, key, NULL);
    snprintf(key, sizeof key, "logits_%d_b%d", size, n);
    size_t cnt;
    float *want_l = ref_get(ref, key, &cnt);
    ck_assert_uint_eq(cnt, n * nl);
    snprintf(key, sizeof key, "features_%d_b%d", size, n);
    float *want_f = ref_get(ref, key, &cnt);
    ck_assert_uint_eq(cnt, n * nf);
    float *l = malloc(n * nl * sizeof *l), *f = malloc(n * nf * sizeof *f);
    ck_assert_msg(wmf_session_run(s, x, n, l, n * nl, f, n * nf) == WMF_OK, "run: %s", wmf_last_error());
    if (n == 3) {
      memcpy(first, l, nl * sizeof *l);
      memcpy(first + nl, f, nf * sizeof *f);
      if (out3) {
        memcpy(*out3, l, 3 * nl * sizeof *l);
        memcpy(*out3 + 3 * nl, f, 3 * nf * sizeof *f);
      }
    } else {
      /* an image's outputs do not depend on the batch it runs in, bit for bit (docs/models.md) */
      same_rows("logits", "batch 1", l, first, 1, nl);
      same_rows("features", "batch 1", f, first + nl, 1, nf);
    }
    snprintf(key, sizeof key, "%s logits %d px batch %d", name, size, n);
    double dl = compare(key, l, want_l, n * nl, 1e-4, 1e-5);
    snprintf(key, sizeof key, "%s features %d px batch %d", name, size, n);
    double df = compare(key, f, want_f, n * nf, 1e-4, 1e-5);
    for (int i = 0; i < n; i++) {
      size_t a[5], b[5];
      top5(l + i * nl, nl, a);
      top5(want_l + i * nl, nl, b);
      for (int k = 0; k < 5; k++) ck_assert_msg(a[k] == b[k], "%s: top-5 order differs for image %d", name, i);
    }
    double ds = 0;
    if (ns) {
      snprintf(key, sizeof key, "stage_%d_b%d", size, n);
      float *want_s = ref_get(ref, key, &cnt);
      ck_assert_uint_eq(cnt, n * ns);
      float *sv = malloc(n * ns * sizeof *sv);
      ck_assert_int_eq(wmf_session_stage_features(s, sv, n * ns), WMF_OK);
      snprintf(key, sizeof key, "%s stage %s %d px batch %d", name, stage, size, n);
      ds = compare(key, sv, want_s, n * ns, 1e-4, 1e-5);
      if (n == 3) {
        memcpy(first + nl + nf, sv, ns * sizeof *sv);
        if (out3) memcpy(*out3 + 3 * (nl + nf), sv, 3 * ns * sizeof *sv);
      } else {
        same_rows("stage outputs", "batch 1", sv, first + nl + nf, 1, ns);
      }
      free(sv);
      free(want_s);
    }
    printf("%s %d px batch %d (%s, %d Winograd convolutions): relative max deviation logits %.2e features %.2e stage %.2e\n",
           name, size, n, algo == WMF_CONV_DIRECT ? "direct" : "auto", wino, dl, df, ds);
    free(x), free(l), free(f), free(want_l), free(want_f);
  }
  free(first);
  wmf_session_destroy(s);
  return wino;
}

/* The default algorithms at `size` (the first size of each network), with the batch-independence checks of
 * check_batch_place; where some convolutions ran by Winograd, also every convolution direct, so that both are
 * held to the bound and the log shows each one's deviation (docs/models.md). */
static void run_size(const wmf_model *m, const wmf_weights *ref, const char *stage, int size) {
  float *out3;
  int wino = run_size_as(m, ref, stage, size, WMF_CONV_AUTO, &out3);
  check_batch_place(m, ref, stage, size, out3);
  free(out3);
  if (wino) run_size_as(m, ref, stage, size, WMF_CONV_DIRECT, NULL);
}

/* A network with a fixed input size refuses another one, saying why. */
static void refuses_size(const wmf_model *m, int fixed, int size) {
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.input_height = o.input_width = (uint32_t)size;
  wmf_session *s = NULL;
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(s);
  char want[96];
  snprintf(want, sizeof want, "input size is fixed at %d px by its position embedding", fixed);
  ck_assert_msg(strstr(wmf_last_error(), want), "message: %s", wmf_last_error());
}

/* Loads `file` of the reference directory (inferring the architecture) and runs it at `size`. */
static void run_file(const wmf_weights *ref, const char *stage, const char *file, int size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "rb");
  if (!f) return;
  fclose(f);
  wmf_weights *w;
  wmf_model *m;
  ck_assert_msg(wmf_weights_open(&w, path, NULL) == WMF_OK, "%s", wmf_last_error());
  ck_assert_msg(wmf_model_load(&m, w, NULL, NULL) == WMF_OK, "load %s: %s", path, wmf_last_error());
  wmf_weights_destroy(w);
  run_size_as(m, ref, stage, size, WMF_CONV_AUTO, NULL);
  wmf_model_destroy(m);
}

START_TEST(matches_torchvision) {
  char path[1024], stage[64] = "";
  snprintf(path, sizeof path, "%s/%s.stage", dir, name);
  FILE *fs = fopen(path, "r");
  ck_assert_ptr_nonnull(fs);
  if (!fgets(stage, sizeof stage, fs)) stage[0] = 0;
  fclose(fs);
  wmf_weights *w, *ref;
  snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
  ck_assert_msg(wmf_weights_open(&w, path, NULL) == WMF_OK, "%s", wmf_last_error());
  snprintf(path, sizeof path, "%s/%s.ref.safetensors", dir, name);
  ck_assert_msg(wmf_weights_open(&ref, path, NULL) == WMF_OK, "%s", wmf_last_error());
  wmf_model *m;
  ck_assert_msg(wmf_model_load(&m, w, NULL, NULL) == WMF_OK, "load %s: %s", name, wmf_last_error());
  if (strncmp(name, "tiny_", 5)) {
    ck_assert_str_eq(wmf_model_arch(m), name); /* inferred from names and shapes */
    wmf_model *named;
    ck_assert_msg(wmf_model_load(&named, w, name, NULL) == WMF_OK, "load as %s: %s", name, wmf_last_error());
    ck_assert_str_eq(wmf_model_arch(named), name);
    wmf_model_destroy(named);
  } else {
    ck_assert_ptr_nonnull(strstr(wmf_model_arch(m), "-custom"));
  }
  int sizes[2], nsizes = ref_sizes(ref, sizes); /* two sizes, or none of these: a ViT's own */
  size_t idx;
  if (wmf_weights_find(ref, "default_size", &idx) == WMF_OK) { /* torchvision's weights transforms: crop, resize */
    float *d = ref_get(ref, "default_size", NULL);
    ck_assert_uint_eq(wmf_model_default_input_size(m), (uint32_t)d[0]);
    ck_assert_uint_eq(wmf_model_default_resize_size(m), (uint32_t)d[1]);
    free(d);
  } else if (nsizes == 2) {
    ck_assert_uint_eq(wmf_model_default_input_size(m), sizes[0]);
  }
  for (int i = 0; i < nsizes; i++) check_transform_off(w, ref, sizes[i]);
  wmf_weights_destroy(w);
  int first;
  if (nsizes == 2) {
    first = sizes[0];
    run_size(m, ref, stage, sizes[0]);
    run_size_as(m, ref, stage, sizes[1], WMF_CONV_AUTO, NULL);
  } else { /* a ViT: only the size of its position embedding, which is the model's default */
    first = (int)wmf_model_default_input_size(m);
    run_size(m, ref, stage, first);
    refuses_size(m, first, first + 32);
    refuses_size(m, first, first / 2);
  }
  wmf_model_destroy(m);
  /* the same weights saved by torch.save (PyTorch zip) give the same network, and so do older names */
  snprintf(path, sizeof path, "%s.pth", name);
  run_file(ref, stage, path, first);
  snprintf(path, sizeof path, "%s.legacy.safetensors", name);
  run_file(ref, stage, path, first);
  wmf_weights_destroy(ref);
}
END_TEST

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: test_parity REF_DIR MODEL\n");
    return 2;
  }
  dir = argv[1];
  name = argv[2];
  Suite *s = suite_create("nn-parity");
  TCase *tc = tcase_create("parity");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, matches_torchvision);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
