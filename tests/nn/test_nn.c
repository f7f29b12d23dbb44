/* nn API and error handling: unknown / mismatched architectures, missing, unexpected, wrongly shaped
 * and non-finite tensors (named in the message), session limits and buffers, stages, weight sharing,
 * sessions in threads, and bf16 against the fp32 reference. Data: make_reference.py's directory. */
#include <pthread.h>

#include "parity.h"
#include "nn/nn_internal.h"
#include "../check_run.h"
#include "../st_build.h"

static const char *dir;

static wmf_weights *open_ref(const char *file) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  wmf_weights *w;
  ck_assert_msg(wmf_weights_open(&w, path, NULL) == WMF_OK, "%s: %s", path, wmf_last_error());
  return w;
}

static void expect_load_error(const char *file, const char *arch, wmf_status want, const char *needle) {
  wmf_weights *w = open_ref(file);
  wmf_model *m = (wmf_model *)1;
  wmf_status st = wmf_model_load(&m, w, arch, NULL);
  ck_assert_msg(st == want, "%s as %s: got %s (%s), want %s", file, arch ? arch : "NULL", wmf_status_name(st),
                wmf_last_error(), wmf_status_name(want));
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(wmf_last_error(), needle), "%s: message '%s' lacks '%s'", file, wmf_last_error(), needle);
  wmf_weights_destroy(w);
}

/* How many families' builders accept `a`. */
static int families_knowing(const char *a) {
  return wmfi_nn_resnet_knows(a) + wmfi_nn_vgg_knows(a) + wmfi_nn_densenet_knows(a) + wmfi_nn_mobilenet_knows(a) +
         wmfi_nn_shufflenet_knows(a) + wmfi_nn_vit_knows(a) + wmfi_nn_alexnet_knows(a) + wmfi_nn_googlenet_knows(a) +
         wmfi_nn_inception_v3_knows(a) +
         wmfi_nn_convnext_knows(a) + wmfi_nn_regnet_knows(a) + wmfi_nn_efficientnet_knows(a);
}

/* wmf_model_arch_name lists exactly the names the builders accept: each is known to its family, none
 * twice, and the unknown-name message lists the valid ones. */
START_TEST(arch_names_are_the_accepted_ones) {
  size_t n = 0;
  for (const char *a; (a = wmf_model_arch_name(n)); n++) {
    ck_assert_msg(families_knowing(a) == 1, "%s", a);
    for (size_t j = 0; j < n; j++) ck_assert_str_ne(a, wmf_model_arch_name(j));
  }
  ck_assert_uint_eq(n, 43 + 5 /* ConvNeXt */ + 16 /* RegNet */ + 12 /* EfficientNet */);
  ck_assert_ptr_null(wmf_model_arch_name(SIZE_MAX));
  const char *unknown[] = {"resnet9", "vgg16_bnx", "densenet", "VGG16", "", "mobilenet_v3", "mobilenet_v1", "shufflenet_v2_x1_25", "vit_b_8",
                           "convnext_xlarge", "convnext_t", "regnet_x_600mf", "regnet_y", "regnet_x-custom",
                           "efficientnet_b8", "efficientnet_v2_xl", "efficientnet_v1"};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
    bool listed = false;
    for (size_t j = 0; j < n; j++) listed |= !strcmp(unknown[i], wmf_model_arch_name(j));
    ck_assert_int_eq(listed, families_knowing(unknown[i]));
  }
  expect_load_error("tiny_vgg.safetensors", "resnet9", WMF_ERR_UNKNOWN_ARCH, "known: resnet18");
}
END_TEST

/* The families that read their variant from the weights (RegNet, MobileNet, ShuffleNet, EfficientNet): the
 * variant's own name and the family's name load the file as that variant, with the preprocessing defaults of
 * torchvision's DEFAULT weights for it; another variant's name is refused naming both; another family's name
 * fails on the first tensor it misses. */
static const struct arch_name_case {
  const char *file, *family, *arch; /* the weights, their family, the variant they hold */
  size_t features;
  uint32_t input, resize;
  const char *other, *message; /* another variant of the family, and what loading the file as it says */
} arch_name_cases[] = {
  {"regnet_x_400mf.safetensors", "regnet", "regnet_x_400mf", 400, 224, 232, "regnet_y_400mf",
   "the weights are a regnet_x_400mf, not a regnet_y_400mf"},
  {"regnet_y_400mf.pth", "regnet", "regnet_y_400mf", 440, 224, 232, "regnet_y_800mf",
   "the weights are a regnet_y_400mf, not a regnet_y_800mf"},
  {"mobilenet_v2.safetensors", "mobilenet", "mobilenet_v2", 1280, 224, 256, "mobilenet_v3_small",
   "the weights are a mobilenet_v2, not a mobilenet_v3_small"},
  {"mobilenet_v3_small.safetensors", "mobilenet", "mobilenet_v3_small", 1024, 224, 256, "mobilenet_v3_large",
   "the weights are a mobilenet_v3_small, not a mobilenet_v3_large"},
  {"shufflenet_v2_x1_0.safetensors", "shufflenet", "shufflenet_v2_x1_0", 1024, 224, 256, "shufflenet_v2_x2_0",
   "the weights are a shufflenet_v2_x1_0, not a shufflenet_v2_x2_0"},
  {"efficientnet_b0.safetensors", "efficientnet", "efficientnet_b0", 1280, 224, 256, "efficientnet_b1",
   "the weights are an efficientnet_b0, not a efficientnet_b1"},
  {"efficientnet_b0.safetensors", "efficientnet", "efficientnet_b0", 1280, 224, 256, "efficientnet_v2_s",
   "the weights are an efficientnet_b0, not a efficientnet_v2_s"},
};

START_TEST(arch_names_must_match_the_weights) {
  const struct arch_name_case *c = &arch_name_cases[_i];
  expect_load_error(c->file, c->other, WMF_ERR_UNKNOWN_ARCH, c->message);
  expect_load_error(c->file, "resnet18", WMF_ERR_NOT_FOUND, "is missing");
  const char *names[] = {c->family, c->arch};
  for (size_t i = 0; i < 2; i++) {
    wmf_weights *w = open_ref(c->file);
    wmf_model *m;
    ck_assert_msg(wmf_model_load(&m, w, names[i], NULL) == WMF_OK, "%s as %s: %s", c->file, names[i], wmf_last_error());
    ck_assert_str_eq(wmf_model_arch(m), c->arch);
    ck_assert_str_eq(wmf_model_family(m), c->family);
    ck_assert_uint_eq(wmf_model_feature_count(m), c->features);
    ck_assert_uint_eq(wmf_model_default_input_size(m), c->input);
    ck_assert_uint_eq(wmf_model_default_resize_size(m), c->resize);
    wmf_model_destroy(m);
    wmf_weights_destroy(w);
  }
}
END_TEST

/* act(v) through a graph made here: a 1x1 identity convolution (3 channels) with activation `act` as its
 * post-op, then the global average pool, on an 8x8 image whose channel c is v[c] everywhere. */
static void run_activation(int act, const float v[3], float out[3]) {
  wmf_model *m = wmfi_calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(dnnl_engine_create(&m->engine, dnnl_cpu, 0), dnnl_success);
  wmfi_nn_graph *g = &m->g;
  ck_assert_int_eq(wmfi_nn_tensor_add(g, 3, NULL), WMFI_NN_INPUT);
  wmfi_nn_op *op;
  int x, f;
  ck_assert_int_eq(wmfi_nn_add(g, WMFI_NN_CONV, WMFI_NN_INPUT, 3, NULL, &x, &op), WMF_OK);
  op->kh = op->kw = op->stride = 1;
  op->relu = act;
  op->w = wmfi_calloc(9, sizeof(float));
  op->b = wmfi_calloc(3, sizeof(float));
  ck_assert(op->w && op->b);
  for (int i = 0; i < 3; i++) op->w[4 * i] = 1.f;
  ck_assert_int_eq(wmfi_nn_add(g, WMFI_NN_GAP, x, 3, NULL, &f, &op), WMF_OK);
  g->logits = g->features = f;
  m->num_classes = m->feature_count = 3;
  m->min_input = 1;
  snprintf(m->arch, sizeof m->arch, "activation-%d", act);
  wmfi_nn_plan *plan; /* as wmf_model_load: the weights reordered once */
  wmfi_nn_plan_config pc = {.n = 1, .h = 8, .w = 8, .stage = WMFI_NN_NONE, .prepare = 1};
  ck_assert_msg(wmfi_nn_plan_create(&plan, m, &pc, NULL) == WMF_OK, "%s", wmf_last_error());
  wmfi_nn_plan_destroy(plan);
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.input_height = o.input_width = 8;
  wmf_session *s;
  ck_assert_msg(wmf_session_create(&s, m, &o) == WMF_OK, "%s", wmf_last_error());
  float in[3 * 64];
  for (int i = 0; i < 3 * 64; i++) in[i] = v[i / 64];
  ck_assert_int_eq(wmf_session_run(s, in, 1, out, 3, NULL, 0), WMF_OK);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
}

static double sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double relu6(double x) { return fmin(fmax(x, 0), 6); }

/* Every activation post-op (plan.c's act_steps) against its formula, on both sides of its bends: ReLU6's
 * clip at 6, hardsigmoid's at 0 and 1 (oneDNN 2.6 has none: a linear step and a clip), hardswish. */
START_TEST(activation_post_ops) {
  static const float v[3] = {-4.f, 0.7f, 8.f};
  for (int act = WMFI_NN_ACT_RELU; act <= WMFI_NN_ACT_SIGMOID; act++) {
    float out[3];
    run_activation(act, v, out);
    for (int c = 0; c < 3; c++) {
      double x = v[c], want = act == WMFI_NN_ACT_RELU          ? fmax(x, 0)
                             : act == WMFI_NN_ACT_RELU6        ? relu6(x)
                             : act == WMFI_NN_ACT_HARDSWISH    ? x * relu6(x + 3) / 6
                             : act == WMFI_NN_ACT_HARDSIGMOID  ? relu6(x + 3) / 6
                             : act == WMFI_NN_ACT_GELU         ? 0.5 * x * (1 + erf(x / sqrt(2)))
                             : act == WMFI_NN_ACT_SILU         ? x * sigmoid(x)
                                                               : sigmoid(x);
      ck_assert_msg(fabs(out[c] - want) <= 1e-5 * fmax(1, fabs(want)), "activation %d of %g: %g, want %g", act, x,
                    out[c], want);
    }
  }
}
END_TEST

START_TEST(bad_weights_are_named) {
  expect_load_error("tiny_vgg.missing.safetensors", NULL, WMF_ERR_NOT_FOUND, "'classifier.3.bias'");
  expect_load_error("tiny_vgg.shape.safetensors", NULL, WMF_ERR_SHAPE, "'features.0.weight'");
  expect_load_error("tiny_vgg.extra.safetensors", NULL, WMF_ERR_UNKNOWN_ARCH, "'extra.weight'");
  expect_load_error("tiny_vgg.nan.safetensors", NULL, WMF_ERR_NUMERIC, "'features.1.running_var'");
  expect_load_error("tiny_vgg.inf.safetensors", NULL, WMF_ERR_NUMERIC, "'classifier.0.weight'");
  expect_load_error("tiny_vgg.none.safetensors", NULL, WMF_ERR_UNKNOWN_ARCH, "no supported architecture");
  expect_load_error("tiny_vgg.safetensors", "resnet9", WMF_ERR_UNKNOWN_ARCH, "'resnet9'");
  expect_load_error("tiny_vgg.safetensors", "vgg11_bn", WMF_ERR_SHAPE, "'features.0.weight'");
  expect_load_error("tiny_vgg.safetensors", "resnet18", WMF_ERR_NOT_FOUND, "'fc.weight'");
  expect_load_error("tiny_densenet.safetensors", "densenet121", WMF_ERR_SHAPE, "'features.conv0.weight'");
  expect_load_error("resnet18.safetensors", "resnet34", WMF_ERR_NOT_FOUND, "'layer1.2.conv1.weight'");
  expect_load_error("resnet18.safetensors", "resnet50", WMF_ERR_NOT_FOUND, "'layer1.0.downsample.0.weight'");

  wmf_weights *w = open_ref("tiny_vgg.extra.safetensors");
  wmf_model_options mo = WMF_MODEL_OPTIONS_INIT;
  mo.allow_unexpected = 1;
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, &mo), WMF_OK);
  ck_assert_str_eq(wmf_model_arch(m), "vgg-custom");
  ck_assert_str_eq(wmf_model_family(m), "vgg");
  ck_assert_uint_eq(wmf_model_num_classes(m), 10);
  ck_assert_uint_eq(wmf_model_feature_count(m), 16);
  wmf_model_destroy(m);
  ck_assert_int_eq(wmf_model_load(NULL, w, NULL, NULL), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_model_load(&m, NULL, NULL, NULL), WMF_ERR_INVALID_ARGUMENT);
  wmf_weights_destroy(w);
  wmf_model_destroy(NULL);
  wmf_session_destroy(NULL);
}
END_TEST

/* DenseNet channel counts read from crafted shapes: a huge growth rate overflowed int (UBSan) before.
 * Every dimension must now be at least 1 and every channel count within WMFI_NN_MAX_CHANNELS, so the
 * sums cannot overflow; each refusal names the tensor or block. Shapes are text; a tensor's data is
 * zeros, sized from its shape (none when a dimension is 0). */
static wmf_status load_crafted(const char *conv2_shape, const char *conv1_shape) {
  const char *names[] = {"features.conv0.weight", "features.denseblock1.denselayer1.conv2.weight",
                         "features.denseblock1.denselayer1.conv1.weight", "features.denseblock2.denselayer1.conv1.weight",
                         "features.denseblock3.denselayer1.conv1.weight", "features.denseblock4.denselayer1.conv1.weight",
                         "classifier.weight", "features.norm0.weight", "features.norm0.bias",
                         "features.norm0.running_mean", "features.norm0.running_var"};
  const char *shapes[] = {"[64,3,7,7]", conv2_shape, conv1_shape, "[1,1,1,1]", "[1,1,1,1]", "[1,1,1,1]", "[10,1]",
                          "[64]", "[64]", "[64]", "[64]"};
  char json[4096];
  size_t len = 0, off = 0;
  json[len++] = '{';
  for (size_t t = 0; t < sizeof names / sizeof names[0]; t++) {
    size_t bytes = 4; /* the product of the dimensions, 0 if one is 0 */
    for (const char *c = shapes[t] + 1; *c; c++) {
      bytes *= strtoull(c, NULL, 10);
      c += strcspn(c, ",]");
      if (*c == ']') break;
    }
    len += (size_t)snprintf(json + len, sizeof json - len,
                            "%s\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}", t ? "," : "",
                            names[t], shapes[t], off, off + bytes);
    off += bytes;
  }
  snprintf(json + len, sizeof json - len, "}");
  uint8_t *data = calloc(off ? off : 1, 1);
  size_t n;
  uint8_t *f = st_build(json, data, off, &n);
  free(data);
  wmf_weights *w;
  wmf_status st = wmf_weights_open_memory(&w, f, n, NULL);
  free(f);
  ck_assert_msg(st == WMF_OK, "%s", wmf_last_error());
  wmf_model *m = (wmf_model *)1;
  st = wmf_model_load(&m, w, NULL, NULL);
  ck_assert_ptr_null(m);
  wmf_weights_destroy(w);
  return st;
}

START_TEST(densenet_huge_growth_is_refused) {
  ck_assert_int_eq(load_crafted("[1073741824,0,3,3]", "[128,1,1,1]"), WMF_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "'features.denseblock1.denselayer1.conv2.weight'"));
  ck_assert_int_eq(load_crafted("[4294967328,0,3,3]", "[128,1,1,1]"), WMF_ERR_SHAPE); /* 2^32 + 32 */
  ck_assert_int_eq(load_crafted("[32,1,1,1]", "[4294967296,0,1,1]"), WMF_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "'features.denseblock1.denselayer1.conv1.weight'"));
  /* a growth rate over the channel limit */
  ck_assert_int_eq(load_crafted("[20000,1,1,1]", "[128,1,1,1]"), WMF_ERR_LIMIT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "'features.denseblock1.denselayer1.conv2.weight'"));
  /* growth within the limit, but the block's total is not */
  ck_assert_int_eq(load_crafted("[16384,1,1,1]", "[128,1,1,1]"), WMF_ERR_LIMIT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "features.denseblock1 has"));
}
END_TEST

/* A ViT's input size is the one its position embedding fixes: the model's default, what sessions take
 * without a size, and the only one they accept; the name of another ViT is refused by shape. */
START_TEST(vit_input_size_is_fixed) {
  wmf_weights *w = open_ref("tiny_vit.safetensors");
  wmf_model *m;
  ck_assert_msg(wmf_model_load(&m, w, NULL, NULL) == WMF_OK, "%s", wmf_last_error());
  ck_assert_str_eq(wmf_model_arch(m), "vit-custom");
  ck_assert_str_eq(wmf_model_family(m), "vit");
  ck_assert_uint_eq(wmf_model_default_input_size(m), 64); /* 16 patches of 16 px + the class token */
  ck_assert_uint_eq(wmf_model_feature_count(m), 128);
  wmf_session *s;
  ck_assert_msg(wmf_session_create(&s, m, NULL) == WMF_OK, "%s", wmf_last_error());
  uint32_t h, wd;
  wmf_session_input_dims(s, NULL, &h, &wd);
  ck_assert_uint_eq(h, 64);
  ck_assert_uint_eq(wd, 64);
  wmf_session_destroy(s);
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.input_height = 64;
  o.input_width = 80;
  s = (wmf_session *)1;
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(s);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "input size is fixed at 64 px by its position embedding"));
  wmf_model_destroy(m);
  ck_assert_int_eq(wmf_model_load(&m, w, "vit_b_16", NULL), WMF_ERR_SHAPE);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "conv_proj.weight"));
  wmf_weights_destroy(w);
}
END_TEST

/* wmf_model_options.transform_input: a value outside the enum is refused, and "on" only exists for
 * GoogLeNet and Inception-v3 (their parity tests check both settings against torchvision). */
START_TEST(transform_input_option) {
  wmf_weights *w = open_ref("tiny_vgg.safetensors");
  wmf_model *m = (wmf_model *)1;
  wmf_model_options mo = WMF_MODEL_OPTIONS_INIT;
  mo.transform_input = 7;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, &mo), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(m);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "transform_input 7"));
  mo.transform_input = WMF_TRANSFORM_INPUT_ON;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, &mo), WMF_ERR_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "googlenet and inception_v3"));
  mo.transform_input = WMF_TRANSFORM_INPUT_OFF; /* off is what every other network does anyway */
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, &mo), WMF_OK);
  wmf_model_destroy(m);
  wmf_weights_destroy(w);
}
END_TEST

START_TEST(session_limits) {
  wmf_weights *w = open_ref("tiny_densenet.safetensors");
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, "densenet", NULL), WMF_OK);
  wmf_weights_destroy(w);
  ck_assert_str_eq(wmf_model_arch(m), "densenet-custom");
  ck_assert_uint_eq(wmf_model_default_input_size(m), 224);
  ck_assert_uint_eq(wmf_model_default_resize_size(m), 256);
  ck_assert_uint_eq(wmf_model_default_resize_size(NULL), 0);
  /* a custom network: bilinear and ImageNet's Normalize (torchvision's own are in tests/tools' cli_preprocessing) */
  ck_assert_int_eq(wmf_model_default_filter(m), WMF_FILTER_BILINEAR);
  ck_assert_int_eq(wmf_model_default_filter(NULL), WMF_FILTER_BILINEAR);
  wmf_normalize norm = {{0}, {0}}, imagenet = WMF_NORMALIZE_IMAGENET;
  ck_assert_int_eq(wmf_model_default_normalize(m, &norm), WMF_OK);
  ck_assert_mem_eq(&norm, &imagenet, sizeof norm);
  ck_assert_int_eq(wmf_model_default_normalize(NULL, &norm), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_model_default_normalize(m, NULL), WMF_ERR_INVALID_ARGUMENT);
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  wmf_session *s = (wmf_session *)1;
  o.input_height = 16;
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(s);
  o.input_height = 64;
  o.stage = "layer9";
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "layer9"));
  o.stage = NULL;
  o.struct_size = 4;
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_ERR_INVALID_ARGUMENT);
  o.struct_size = sizeof o;
  o.max_batch = 2;
  o.input_width = 48;
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_OK);
  uint32_t mb, h, wd;
  wmf_session_input_dims(s, &mb, &h, &wd);
  ck_assert_uint_eq(mb, 2);
  ck_assert_uint_eq(h, 64);
  ck_assert_uint_eq(wd, 48);
  size_t nl = wmf_session_logit_count(s), nf = wmf_session_feature_count(s);
  ck_assert_uint_eq(nl, 10);
  ck_assert_uint_eq(wmf_session_stage_count(s), 0);
  float *x = calloc(3 * 3 * 64 * 48, sizeof *x), l[30], f[3 * 64];
  for (size_t i = 0; i < 3 * 3 * 64 * 48; i++) x[i] = (float)((i * 7919) % 113) / 113.f - 0.5f;
  ck_assert_int_eq(wmf_session_run(s, x, 3, l, 30, NULL, 0), WMF_ERR_LIMIT);
  ck_assert_int_eq(wmf_session_run(s, x, 0, l, 30, NULL, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_session_run(s, NULL, 1, l, 30, NULL, 0), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_session_run(s, x, 2, l, 19, NULL, 0), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_session_run(s, x, 2, l, 20, f, 2 * nf - 1), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert_int_eq(wmf_session_stage_features(s, f, 100), WMF_ERR_STATE);
  ck_assert_int_eq(wmf_session_run(s, x, 2, l, 20, f, 2 * nf), WMF_OK);
  /* batch 1 (a second plan) gives the same numbers as the first image of batch 2 */
  float l1[10];
  ck_assert_int_eq(wmf_session_run(s, x, 1, l1, 10, NULL, 0), WMF_OK);
  compare("batch 1 vs batch 2", l1, l, 10, 1e-5, 1e-6);
  wmf_session_destroy(s);
  free(x);
  wmf_model_destroy(m);
}
END_TEST

START_TEST(weights_are_shared_with_sessions) {
  wmf_weights *w = open_ref("resnet18.safetensors");
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, NULL), WMF_OK);
  wmf_weights_destroy(w);
  wmf_session *s;
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_OK);
  ck_assert_int_eq(wmfi_nn_session_private_weights(s), 0);
  wmf_session_destroy(s);
  o.stage = "layer2";
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_OK);
  ck_assert_uint_eq(wmf_session_stage_count(s), 128);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  ck_assert_str_ne(wmf_nn_isa(), "");
}
END_TEST

/* conv_algorithm: an unknown value is refused naming it; AUTO runs ResNet-18's 13 eligible convolutions (3x3,
 * stride 1) by Winograd where the CPU has AVX2 + FMA and DIRECT none; at sizes whose maps end in partial 4x4
 * tiles (45 px: 12, 6, 3, 2 px maps) both give the same numbers within 1e-5 of the largest logit, and an
 * image's Winograd outputs do not depend on its batch, bit for bit. */
START_TEST(conv_algorithm_option) {
  wmf_weights *w = open_ref("resnet18.safetensors");
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, NULL), WMF_OK);
  wmf_weights_destroy(w);
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  wmf_session *s = NULL;
  o.conv_algorithm = 7;
  ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "unknown conv_algorithm 7"));
  enum { N = 3, SIZE = 45 };
  float *x = malloc(N * 3 * SIZE * SIZE * sizeof *x), l[2][N * 1000], one[1000];
  for (size_t i = 0; i < N * 3 * SIZE * SIZE; i++) x[i] = (float)((i * 7919) % 113) / 113.f * 4.f - 2.f;
  for (int a = 0; a < 2; a++) {
    o.conv_algorithm = a ? WMF_CONV_DIRECT : WMF_CONV_AUTO;
    o.max_batch = N;
    o.input_height = o.input_width = SIZE;
    ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_OK);
    ck_assert_int_eq(wmfi_nn_session_winograd_count(s), a || !wmfi_nn_wino_supported() ? 0 : 13);
    ck_assert_int_eq(wmf_session_run(s, x, N, l[a], N * 1000, NULL, 0), WMF_OK);
    ck_assert_int_eq(wmf_session_run(s, x + 3 * SIZE * SIZE, 1, one, 1000, NULL, 0), WMF_OK);
    ck_assert_msg(!memcmp(one, l[a] + 1000, sizeof one), "image 1 alone differs from image 1 in a batch of 3");
    wmf_session_destroy(s);
  }
  double dev = compare("Winograd vs direct, 45 px", l[0], l[1], N * 1000, 1e-5, 0);
  printf("resnet18 45 px: Winograd vs direct, relative max deviation %.2e\n", dev);
  free(x);
  wmf_model_destroy(m);
}
END_TEST

/* The rule that admits a convolution to Winograd (docs/models.md), shape by shape. */
START_TEST(winograd_rule) {
  if (!wmfi_nn_wino_supported()) {
    wmfi_nn_op op = {.kind = WMFI_NN_CONV, .cin = 64, .cout = 64, .kh = 3, .kw = 3, .stride = 1, .pad = 1, .groups = 1};
    ck_assert(!wmfi_nn_wino_eligible(&op, 8)); /* no AVX2 + FMA: never */
    return;
  }
  const struct {
    int cin, cout, k, stride, pad, pad_h, pad_w, groups, act, act_then_sum, block, want;
  } cases[] = {
      {64, 64, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 8, 1},
      {128, 32, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_NONE, 0, 8, 1},   /* DenseNet's */
      {64, 96, 3, 1, 0, 1, 1, 1, WMFI_NN_ACT_RELU, 0, 8, 1},    /* Inception's per-axis padding 1, 1 */
      {64, 96, 3, 1, 0, 0, 1, 1, WMFI_NN_ACT_RELU, 0, 8, 0},    /* 0, 1 */
      {1024, 1024, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 8, 1}, /* Wide ResNet's: the largest admitted */
      {1032, 1024, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 8, 0}, /* over 2^20 channel pairs */
      {3, 64, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 8, 0},     /* a stem */
      {64, 64, 3, 2, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 8, 0},    /* strided */
      {64, 64, 3, 1, 1, 0, 0, 2, WMFI_NN_ACT_RELU, 0, 8, 0},    /* grouped */
      {64, 64, 1, 1, 0, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 8, 0},    /* 1x1 */
      {64, 64, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_SILU, 0, 8, 0},    /* another activation */
      {64, 64, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 1, 8, 0},    /* the sum after the activation */
      {24, 24, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 8, 1},
      {24, 24, 3, 1, 1, 0, 0, 1, WMFI_NN_ACT_RELU, 0, 16, 0},   /* not a multiple of AVX-512's 16-channel block */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wmfi_nn_op op = {.kind = WMFI_NN_CONV, .cin = cases[i].cin, .cout = cases[i].cout, .kh = cases[i].k, .kw = cases[i].k,
                     .stride = cases[i].stride, .pad = cases[i].pad, .pad_h = cases[i].pad_h, .pad_w = cases[i].pad_w,
                     .groups = cases[i].groups, .relu = cases[i].act, .act_then_sum = cases[i].act_then_sum};
    ck_assert_msg(wmfi_nn_wino_eligible(&op, cases[i].block) == cases[i].want, "case %zu", i);
  }
}
END_TEST

typedef struct job {
  const wmf_model *m;
  const float *x;
  float logits[3 * 1000];
  wmf_status st;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  wmf_session *s;
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.max_batch = 3;
  o.threads = 1;
  j->st = wmf_session_create(&s, j->m, &o);
  if (j->st == WMF_OK) j->st = wmf_session_run(s, j->x, 3, j->logits, 3000, NULL, 0);
  wmf_session_destroy(s);
  return NULL;
}

START_TEST(sessions_in_threads_share_a_model) {
  wmf_weights *w = open_ref("resnet18.safetensors"), *ref = open_ref("resnet18.ref.safetensors");
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, "resnet18", NULL), WMF_OK);
  wmf_weights_destroy(w);
  float *x = ref_get(ref, "input_224_b3", NULL), *want = ref_get(ref, "logits_224_b3", NULL);
  job jobs[2] = {{m, x, {0}, 0}, {m, x, {0}, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, run_job, &jobs[i]), 0);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ck_assert_int_eq(jobs[i].st, WMF_OK);
    compare("threaded logits", jobs[i].logits, want, 3000, 1e-4, 1e-5);
  }
  free(x), free(want);
  wmf_weights_destroy(ref);
  wmf_model_destroy(m);
}
END_TEST

/* bf16 against the fp32 torch reference: the deviation is printed for docs/models.md and bounded. */
static void bf16_case(const char *name, double bound) {
  char file[256];
  snprintf(file, sizeof file, "%s.safetensors", name);
  wmf_weights *w = open_ref(file);
  snprintf(file, sizeof file, "%s.ref.safetensors", name);
  wmf_weights *ref = open_ref(file);
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, NULL), WMF_OK);
  wmf_weights_destroy(w);
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.max_batch = 3;
  o.precision = WMF_PRECISION_BF16;
  wmf_session *s;
  wmf_status st = wmf_session_create(&s, m, &o);
  ck_assert_msg(st == WMF_OK, "%s", wmf_last_error());
  size_t nl = wmf_session_logit_count(s), nf = wmf_session_feature_count(s);
  float *x = ref_get(ref, "input_224_b3", NULL), *wl = ref_get(ref, "logits_224_b3", NULL),
        *wf = ref_get(ref, "features_224_b3", NULL);
  float *l = malloc(3 * nl * sizeof *l), *f = malloc(3 * nf * sizeof *f);
  ck_assert_int_eq(wmf_session_run(s, x, 3, l, 3 * nl, f, 3 * nf), WMF_OK);
  double dl = compare("bf16 logits", l, wl, 3 * nl, bound, 0);
  double df = compare("bf16 features", f, wf, 3 * nf, bound, 0);
  size_t a[5], b[5];
  int top1 = 0;
  for (int i = 0; i < 3; i++) {
    top5(l + i * nl, nl, a);
    top5(wl + i * nl, nl, b);
    top1 += a[0] == b[0];
  }
  printf("bf16 %s 224 px batch 3 vs fp32 torch: relative max deviation logits %.2e features %.2e, top-1 agrees %d/3\n",
         name, dl, df, top1);
  free(x), free(wl), free(wf), free(l), free(f);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  wmf_weights_destroy(ref);
}

/* A stage read from an fp32 tensor inside a bf16 session (VGG's adaptive pool output). */
static void bf16_fp32_stage(void) {
  wmf_weights *w = open_ref("tiny_vgg.safetensors"), *ref = open_ref("tiny_vgg.ref.safetensors");
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, NULL), WMF_OK);
  wmf_weights_destroy(w);
  float *x = ref_get(ref, "input_224_b1", NULL), st[2][8];
  for (int prec = 0; prec < 2; prec++) {
    wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
    o.precision = prec ? WMF_PRECISION_BF16 : WMF_PRECISION_FP32;
    o.stage = "avgpool";
    wmf_session *s;
    ck_assert_int_eq(wmf_session_create(&s, m, &o), WMF_OK);
    ck_assert_uint_eq(wmf_session_stage_count(s), 8);
    ck_assert_int_eq(wmf_session_run(s, x, 1, NULL, 0, NULL, 0), WMF_OK);
    ck_assert_int_eq(wmf_session_stage_features(s, st[prec], 8), WMF_OK);
    wmf_session_destroy(s);
  }
  compare("bf16 avgpool stage", st[1], st[0], 8, 0.03, 0);
  free(x);
  wmf_weights_destroy(ref);
  wmf_model_destroy(m);
}

/* Run by the test nn-bf16 only, which is a skip on a CPU without bf16. */
START_TEST(bf16_stays_close) {
  bf16_fp32_stage();
  bf16_case("resnet18", 0.03);
  bf16_case("tiny_densenet", 0.03);
  bf16_case("densenet121", 0.03);
  bf16_case("tiny_vgg", 0.03);
  bf16_case("convnext_tiny", 0.03);
  bf16_case("regnet_y_400mf", 0.03);
  bf16_case("efficientnet_b0", 0.03); /* SiLU, SE and depthwise convolutions in bf16 (not measured yet: the
                                        machines of these tests have no bf16) */
}
END_TEST

/* A bf16 session is created exactly where the CPU has bf16, and refused with WMF_ERR_UNSUPPORTED where not. */
START_TEST(bf16_session_follows_the_cpu) {
  wmf_weights *w = open_ref("tiny_vgg.safetensors");
  wmf_model *m;
  ck_assert_int_eq(wmf_model_load(&m, w, NULL, NULL), WMF_OK);
  wmf_weights_destroy(w);
  wmf_session_options o = WMF_SESSION_OPTIONS_INIT;
  o.precision = WMF_PRECISION_BF16;
  wmf_session *s = NULL;
  wmf_status st = wmf_session_create(&s, m, &o);
  if (wmf_nn_has_bf16()) {
    ck_assert_msg(st == WMF_OK, "%s", wmf_last_error());
  } else {
    ck_assert_int_eq(st, WMF_ERR_UNSUPPORTED);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(wmf_last_error(), "bf16"));
  }
  wmf_session_destroy(s);
  wmf_model_destroy(m);
}
END_TEST

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "bf16"))) {
    fprintf(stderr, "usage: test_nn REF_DIR [bf16]\n");
    return 2;
  }
  dir = argv[1];
  if (argc == 3) { /* test nn-bf16 */
    if (!wmf_nn_has_bf16())
      return skip_no_hardware("this CPU has no bf16 instructions (avx512_bf16 or AMX): bf16 sessions are refused "
                              "(asserted by nn-api), their accuracy cannot be measured");
    Suite *s = suite_create("nn-bf16");
    TCase *tc = tcase_create("bf16");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, bf16_stays_close);
    suite_add_tcase(s, tc);
    return run_suite(s);
  }
  Suite *s = suite_create("nn");
  TCase *tc = tcase_create("api");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, densenet_huge_growth_is_refused);
  tcase_add_test(tc, bad_weights_are_named);
  tcase_add_test(tc, activation_post_ops);
  tcase_add_test(tc, arch_names_are_the_accepted_ones);
  tcase_add_loop_test(tc, arch_names_must_match_the_weights, 0, sizeof arch_name_cases / sizeof arch_name_cases[0]);
  tcase_add_test(tc, transform_input_option);
  tcase_add_test(tc, session_limits);
  tcase_add_test(tc, conv_algorithm_option);
  tcase_add_test(tc, winograd_rule);
  tcase_add_test(tc, vit_input_size_is_fixed);
  tcase_add_test(tc, weights_are_shared_with_sessions);
  tcase_add_test(tc, sessions_in_threads_share_a_model);
  tcase_add_test(tc, bf16_session_follows_the_cpu);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
