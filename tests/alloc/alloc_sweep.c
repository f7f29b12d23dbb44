/* Allocation-failure sweep. For every public workload, an allocator installed with wmf_set_allocator
 * fails the k-th allocation of the library, for k = 1, 2, ... until the workload runs to the end without
 * reaching k. Each run must (1) not crash (ASan/UBSan builds abort on a double free, a use after free or
 * an invalid read), (2) return a clean error: WMF_ERR_OUT_OF_MEMORY, or another status whose message
 * says memory ran out (a run that copes and still succeeds is counted, not failed), and (3) leak nothing:
 * every block the library allocated during the run is freed when the workload has destroyed what it
 * made (checked here with a block count, and by LeakSanitizer in the ASan build).
 * Only the library's own allocations go through the hooks: oneDNN, fontconfig, FreeType, HarfBuzz,
 * jansson and stb allocate with their own allocators.
 *
 *   alloc_sweep WEIGHTS_DIR NN_DIR TMP_DIR [WORKLOAD]
 * WEIGHTS_DIR holds gen_malformed.py's valid files, NN_DIR make_reference.py's tiny models. Prints one
 * line per workload (allocations, runs, statuses); exit status 1 if any check failed. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmfeat.h>

const char *__lsan_default_suppressions(void);
/* fontconfig 2.14 leaks a few bytes while parsing its configuration, once per process */
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

/* ---- the counting, failing allocator ---- */

typedef struct header {
  size_t size;
  size_t pad; /* keeps the user block 16-byte aligned */
} header;

static long fail_at;   /* the allocation number that fails (0: none) */
static long count;     /* allocations attempted in this run */
static long live;      /* blocks allocated and not yet freed */
static int failed_one; /* the run reached fail_at */

static void *hook_malloc(void *user, size_t size) {
  (void)user;
  if (++count == fail_at) {
    failed_one = 1;
    return NULL;
  }
  header *h = malloc(sizeof *h + size);
  if (!h) return NULL;
  h->size = size;
  live++;
  return h + 1;
}

static void *hook_realloc(void *user, void *ptr, size_t size) {
  if (!ptr) return hook_malloc(user, size);
  if (++count == fail_at) {
    failed_one = 1;
    return NULL; /* C's contract: ptr is left as it was */
  }
  header *h = realloc((header *)ptr - 1, sizeof *h + size);
  if (!h) return NULL;
  h->size = size;
  return h + 1;
}

static void hook_free(void *user, void *ptr) {
  (void)user;
  if (!ptr) return;
  live--;
  free((header *)ptr - 1);
}

/* ---- workloads: each creates, uses and destroys; returns the first failing status ---- */

static const char *weights_dir, *nn_dir, *tmp_dir;

static char *path_in(const char *dir, const char *name) {
  static char buf[4][4096];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "%s/%s", dir, name);
  return p;
}

#define TRY(call)                  \
  do {                             \
    if ((st = (call)) != WMF_OK) { \
      goto out;                    \
    }                              \
  } while (0)

static wmf_status w_image(void) {
  wmf_status st;
  wmf_image *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
  float *t = malloc(3 * 24 * 24 * sizeof *t);
  TRY(wmf_image_load(&a, path_in(tmp_dir, "in.png"), NULL));
  TRY(wmf_image_load(&b, path_in(tmp_dir, "in.jpg"), NULL));
  TRY(wmf_image_resize(&c, a, 23, 17, WMF_FILTER_BILINEAR));
  TRY(wmf_image_resize_shorter(&d, b, 29, WMF_FILTER_BICUBIC));
  TRY(wmf_image_center_crop(&e, d, 20, 20));
  TRY(wmf_preprocess(a, 28, 24, NULL, t, 3 * 24 * 24, 0));
  TRY(wmf_image_to_tensor(e, NULL, t, 3 * 24 * 24, 0));
  wmf_image_destroy(a);
  a = NULL;
  TRY(wmf_image_clone(&a, c));
  TRY(wmf_image_save(c, path_in(tmp_dir, "out.png"), 0));
  TRY(wmf_image_save(e, path_in(tmp_dir, "out.jpg"), 90));
out:
  wmf_image_destroy(a), wmf_image_destroy(b), wmf_image_destroy(c), wmf_image_destroy(d), wmf_image_destroy(e);
  free(t);
  return st;
}

static wmf_status read_all(const char *file) {
  wmf_status st;
  wmf_weights *w = NULL;
  float buf[64];
  TRY(wmf_weights_open(&w, path_in(weights_dir, file), NULL));
  for (size_t i = 0; i < wmf_weights_count(w); i++) {
    wmf_tensor_info info;
    TRY(wmf_weights_info(w, i, &info));
    TRY(wmf_weights_get_f32(w, info.name, buf, 64));
  }
out:
  wmf_weights_destroy(w);
  return st;
}

static wmf_status w_weights_safetensors(void) { return read_all("valid.safetensors"); }
static wmf_status w_weights_zip(void) { return read_all("valid_zip.pth"); }
static wmf_status w_weights_zip64(void) { return read_all("valid_zip64.pth"); }
static wmf_status w_weights_legacy(void) { return read_all("valid_legacy.pth"); }

static wmf_status model_run_path(const char *path) {
  wmf_status st;
  wmf_weights *w = NULL;
  wmf_model *m = NULL;
  wmf_session *s = NULL;
  float *in = calloc(2 * 3 * 32 * 32, sizeof *in), logits[2 * 16], feats[2 * 64];
  TRY(wmf_weights_open(&w, path, NULL));
  TRY(wmf_model_load(&m, w, NULL, NULL));
  wmf_weights_destroy(w);
  w = NULL;
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.max_batch = 2;
  o.input_height = o.input_width = 32;
  o.threads = 1;
  TRY(wmf_session_create(&s, m, &o));
  size_t nl = wmf_session_logit_count(s), nf = wmf_session_feature_count(s);
  if (nl > 16 || nf > 64) {
    st = WMF_ERR_LIMIT;
    goto out;
  }
  TRY(wmf_session_run(s, in, 2, logits, 2 * nl, feats, 2 * nf));
  TRY(wmf_session_run(s, in, 1, logits, nl, feats, nf)); /* a new batch size: new primitives */
out:
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  wmf_weights_destroy(w);
  free(in);
  return st;
}

static wmf_status model_run(const char *file) { return model_run_path(path_in(nn_dir, file)); }

static wmf_status w_model_vgg(void) { return model_run("tiny_vgg.safetensors"); }
/* gen_hostile_models.py's tiny ResNet: three of its convolutions (8 -> 8 channels, 3x3, stride 1) run by
 * Winograd, whose weights are made at load */
static wmf_status w_model_winograd(void) {
  static char path[1024];
  const char *root = getenv("WMF_BUILD_ROOT");
  snprintf(path, sizeof path, "%s/tests/nn/hostile/resnet_basic.safetensors", root ? root : ".");
  return model_run_path(path);
}
static wmf_status w_model_densenet(void) { return model_run("tiny_densenet.safetensors"); }

static wmf_status w_watermark_text(void) {
  wmf_status st;
  wmf_font *f = NULL;
  wmf_watermark *wm = NULL;
  wmf_image *img = NULL;
  uint8_t logo[4 * 4 * 4];
  memset(logo, 200, sizeof logo);
  TRY(wmf_image_create(&img, 64, 48, 10, 20, 30));
  TRY(wmf_font_find(&f, "Liberation Sans"));
  TRY(wmf_watermark_create(&wm));
  TRY(wmf_watermark_set_font(wm, f));
  TRY(wmf_watermark_set_text(wm, "ab 捷径\nx"));
  TRY(wmf_watermark_set_size(wm, 12));
  TRY(wmf_watermark_set_outline(wm, 1, 0, 0, 0));
  TRY(wmf_watermark_set_shadow(wm, 1, 1, 0, 0, 0, 0.5f));
  TRY(wmf_watermark_set_rotation(wm, 30));
  TRY(wmf_watermark_add_logo(wm, logo, 4, 4, 16, 2.0f, 0.5, 0.5, 0.9f));
  TRY(wmf_watermark_apply(wm, img, 1));
  TRY(wmf_watermark_set_tiled(wm, 20, 0.3f, 0.3f));
  TRY(wmf_watermark_apply(wm, img, 2));
  TRY(wmf_watermark_set_pool(wm, "abcdefg", 4));
  TRY(wmf_watermark_set_random_position(wm));
  char text[64];
  float px;
  double x, y;
  TRY(wmf_watermark_describe_draw(wm, 64, 48, 3, text, sizeof text, &px, &x, &y));
  TRY(wmf_watermark_apply(wm, img, 3));
out:
  wmf_watermark_destroy(wm);
  wmf_font_destroy(f);
  wmf_image_destroy(img);
  return st;
}

static wmf_status w_watermark_presets(void) {
  wmf_status st = WMF_OK;
  wmf_image *img = NULL;
  wmf_watermark *wm = NULL;
  TRY(wmf_image_create(&img, 64, 64, 90, 90, 90));
  for (size_t i = 0; i < wmf_watermark_preset_count(); i++) {
    TRY(wmf_watermark_from_preset(&wm, wmf_watermark_preset_name(i)));
    TRY(wmf_watermark_apply(wm, img, i));
    wmf_watermark_destroy(wm);
    wm = NULL;
  }
out:
  wmf_watermark_destroy(wm);
  wmf_image_destroy(img);
  return st;
}

static void fill(float *x, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    x[i] = (float)((seed >> 8) % 1000) / 1000.0f;
  }
}

static wmf_status w_audit(void) {
  enum { N = 12, K = 5, F = 7 };
  wmf_status st;
  wmf_audit *a = NULL, *b = NULL, *c = NULL;
  float cl[N * K], wl[N * K], cf[N * F], wf[N * F];
  int32_t labels[N];
  fill(cl, N * K, 1), fill(wl, N * K, 2), fill(cf, N * F, 3), fill(wf, N * F, 4);
  for (int i = 0; i < N; i++) labels[i] = i % K;
  const char *names[K] = {"zero", "one", "two", "three", "four"};
  double scores[F];
  size_t rank[3], cnt;
  TRY(wmf_audit_create(&a, K, F));
  TRY(wmf_audit_set_class_names(a, names, K));
  TRY(wmf_audit_add(a, N / 2, cl, wl, cf, wf, labels));
  TRY(wmf_audit_create(&b, K, F));
  TRY(wmf_audit_add(b, N / 2, cl + N / 2 * K, wl + N / 2 * K, cf + N / 2 * F, wf + N / 2 * F, labels + N / 2));
  TRY(wmf_audit_save(b, path_in(tmp_dir, "b.wmfa")));
  TRY(wmf_audit_load(&c, path_in(tmp_dir, "b.wmfa")));
  TRY(wmf_audit_merge(a, c));
  TRY(wmf_audit_scores(scores, F, a, WMF_AUDIT_CHANNELS, WMF_SCORE_AUC));
  TRY(wmf_audit_rank(rank, 3, a, WMF_AUDIT_CLASSES, WMF_SCORE_AUC, WMF_RANK_FROM_HALF));
  TRY(wmf_audit_count_above(&cnt, a, WMF_AUDIT_CHANNELS, WMF_SCORE_D, 0.7));
  TRY(wmf_audit_write_json(a, path_in(tmp_dir, "a.json")));
  TRY(wmf_audit_write_csv(a, WMF_AUDIT_CLASSES, path_in(tmp_dir, "a.csv")));
  TRY(wmf_audit_write_svg_classes(a, path_in(tmp_dir, "a.svg"), WMF_SCORE_AUC, WMF_RANK_FROM_HALF, 3));
  TRY(wmf_audit_write_svg_histogram(a, path_in(tmp_dir, "h.svg"), WMF_AUDIT_CHANNELS, WMF_SCORE_AUC, 5));
  TRY(wmf_audit_save(a, path_in(tmp_dir, "a.wmfa")));
out:
  wmf_audit_destroy(a), wmf_audit_destroy(b), wmf_audit_destroy(c);
  return st;
}

static wmf_status w_mask(void) {
  wmf_status st;
  wmf_mask *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL;
  double scores[10] = {0.5, 0.9, 0.1, 0.6, 0.55, 0.45, 0.99, 0.3, 0.7, 0.52};
  float feats[2 * 10];
  fill(feats, 20, 5);
  size_t idx[10];
  TRY(wmf_mask_top_k(&a, scores, 10, WMF_MASK_BY_FROM_HALF, 3));
  TRY(wmf_mask_top_fraction(&b, scores, 10, WMF_MASK_BY_VALUE, 0.25));
  TRY(wmf_mask_threshold(&c, scores, 10, WMF_MASK_BY_VALUE, 0.6));
  TRY(wmf_mask_union(&d, a, b));
  TRY(wmf_mask_intersection(&e, d, c));
  TRY(wmf_mask_indices(idx, 10, d));
  TRY(wmf_mask_apply(d, feats, 2, 10));
  TRY(wmf_mask_save_json(d, path_in(tmp_dir, "m.json")));
  TRY(wmf_mask_load_json(&f, path_in(tmp_dir, "m.json")));
  TRY(wmf_mask_save_npy(f, path_in(tmp_dir, "m.npy")));
  TRY(wmf_mask_load_npy(&g, path_in(tmp_dir, "m.npy")));
out:
  wmf_mask_destroy(a), wmf_mask_destroy(b), wmf_mask_destroy(c), wmf_mask_destroy(d);
  wmf_mask_destroy(e), wmf_mask_destroy(f), wmf_mask_destroy(g);
  return st;
}

static wmf_status w_probe(void) {
  enum { N = 30, F = 4, K = 3 };
  wmf_status st;
  wmf_probe *p = NULL, *q = NULL;
  wmf_mask *m = NULL;
  float x[N * F], logits[N * K];
  int32_t y[N], cls[N];
  fill(x, N * F, 9);
  for (int i = 0; i < N; i++) {
    y[i] = i % K;
    x[i * F + y[i]] += 2.0f;
  }
  double acc, auc[K], pp[2] = {0, 0.5}, ca[2] = {0.9, 0.8}, wa[2] = {0.7, 0.8};
  TRY(wmf_mask_create(&m, F));
  TRY(wmf_mask_set(m, 3, 1));
  TRY(wmf_probe_train(&p, x, y, N, F, K, m, NULL));
  TRY(wmf_probe_save(p, path_in(tmp_dir, "p.wmfp")));
  TRY(wmf_probe_load(&q, path_in(tmp_dir, "p.wmfp")));
  TRY(wmf_probe_predict(logits, cls, q, x, N));
  TRY(wmf_probe_accuracy(&acc, q, x, y, N));
  TRY(wmf_probe_logit_auc(auc, K, q, x, N / 2, x + N / 2 * F, N / 2));
  TRY(wmf_probe_write_curve_svg(path_in(tmp_dir, "c.svg"), "curve", pp, ca, wa, NULL, NULL, 2));
out:
  wmf_probe_destroy(p), wmf_probe_destroy(q);
  wmf_mask_destroy(m);
  return st;
}

static const struct {
  const char *name;
  wmf_status (*run)(void);
} workloads[] = {
    {"image", w_image},
    {"weights-safetensors", w_weights_safetensors},
    {"weights-zip", w_weights_zip},
    {"weights-zip64", w_weights_zip64},
    {"weights-legacy", w_weights_legacy},
    {"model-vgg", w_model_vgg},
    {"model-densenet", w_model_densenet},
    {"model-winograd", w_model_winograd},
    {"watermark-text", w_watermark_text},
    {"watermark-presets", w_watermark_presets},
    {"audit", w_audit},
    {"mask", w_mask},
    {"probe", w_probe},
};

/* ---- the sweep ---- */

static int problems;
static const char *current = "setup";

/* A crash (without ASan, which reports its own) names the workload and the failing allocation. */
static void on_crash(int sig) {
  fprintf(stderr, "CRASH (signal %d) in workload %s with allocation %ld failing\n", sig, current, fail_at);
  signal(sig, SIG_DFL);
  raise(sig);
}

static void problem(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("FAIL ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  va_end(ap);
  problems++;
}

static int mentions_memory(const char *msg) { return strstr(msg, "out of memory") || strstr(msg, "memory"); }

static void sweep(const char *name, wmf_status (*run)(void)) {
  /* a first run without failures: lazily initialized statics and files are made, and it must pass */
  fail_at = 0, count = 0, failed_one = 0;
  long before = live;
  wmf_status st = run();
  if (st != WMF_OK) {
    problem("%s: fails without any allocation failure: %s: %s", name, wmf_status_name(st), wmf_last_error());
    return;
  }
  long total = count, runs = 0, ok_after_failure = 0, other = 0;
  current = name;
  before = live;
  for (long k = 1;; k++) {
    fail_at = k, count = 0, failed_one = 0;
    wmf_clear_error();
    st = run();
    runs++;
    if (live != before) {
      problem("%s: allocation %ld failed (%s: %s) and %ld blocks leaked", name, k, wmf_status_name(st),
              wmf_last_error(), live - before);
      before = live;
    }
    if (!failed_one) {
      if (st != WMF_OK) problem("%s: run %ld did not fail an allocation but returned %s", name, k, wmf_status_name(st));
      total = count;
      break;
    }
    if (st == WMF_OK) {
      ok_after_failure++;
      printf("note %s: allocation %ld failed and the workload still succeeded\n", name, k);
    } else if (st != WMF_ERR_OUT_OF_MEMORY) {
      if (!mentions_memory(wmf_last_error()))
        problem("%s: allocation %ld failed and the call returned %s with '%s' (not an out-of-memory error)", name, k,
                wmf_status_name(st), wmf_last_error());
      else
        other++;
    } else if (!wmf_last_error()[0]) {
      problem("%s: allocation %ld failed: WMF_ERR_OUT_OF_MEMORY without a message", name, k);
    }
  }
  printf("%-20s %6ld allocations, %6ld runs: %ld succeeded despite a failed allocation, %ld other statuses "
         "naming memory\n",
         name, total, runs, ok_after_failure, other);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s WEIGHTS_DIR NN_DIR TMP_DIR [WORKLOAD]\n", argv[0]);
    return 2;
  }
  weights_dir = argv[1], nn_dir = argv[2], tmp_dir = argv[3];
  /* inputs made with the C library's allocator */
  wmf_image *img;
  if (wmf_image_create(&img, 37, 31, 200, 100, 50) != WMF_OK) return 1;
  uint8_t *px = wmf_image_pixels(img);
  for (size_t i = 0; i < 37 * 31 * 3; i++) px[i] = (uint8_t)(i * 7);
  if (wmf_image_save(img, path_in(tmp_dir, "in.png"), 0) || wmf_image_save(img, path_in(tmp_dir, "in.jpg"), 85)) {
    fprintf(stderr, "cannot write inputs in %s: %s\n", tmp_dir, wmf_last_error());
    return 1;
  }
  wmf_image_destroy(img);

  signal(SIGSEGV, on_crash);
  signal(SIGABRT, on_crash);
  signal(SIGBUS, on_crash);
  signal(SIGFPE, on_crash);
  wmf_allocator hooks = {hook_malloc, hook_realloc, hook_free, NULL};
  if (wmf_set_allocator(&hooks) != WMF_OK) return 1;
  int ran = 0;
  for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++) {
    if (argc > 4 && strcmp(argv[4], workloads[i].name)) continue;
    sweep(workloads[i].name, workloads[i].run);
    ran++;
  }
  if (!ran) {
    fprintf(stderr, "no workload named %s\n", argv[4]);
    return 2;
  }
  printf("%d problem(s)\n", problems);
  return problems ? 1 : 0;
}
