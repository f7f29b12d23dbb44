/* wmf_model: picks the family (from the name, or from the tensor names), lets its builder read and
 * fold the weights into a graph, then reorders every weight once into the layout oneDNN chooses. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

static const wmfi_nn_family families[WMFI_NN_FAMILY_COUNT] = {
  [WMFI_NN_RESNET] = {"resnet", 32, wmfi_nn_resnet_knows, wmfi_nn_resnet_detect, wmfi_nn_resnet_build},
  [WMFI_NN_VGG] = {"vgg", 32, wmfi_nn_vgg_knows, wmfi_nn_vgg_detect, wmfi_nn_vgg_build},
  [WMFI_NN_DENSENET] = {"densenet", 32, wmfi_nn_densenet_knows, wmfi_nn_densenet_detect, wmfi_nn_densenet_build},
  [WMFI_NN_MOBILENET] = {"mobilenet", 32, wmfi_nn_mobilenet_knows, wmfi_nn_mobilenet_detect, wmfi_nn_mobilenet_build},
  [WMFI_NN_SHUFFLENET] = {"shufflenet", 32, wmfi_nn_shufflenet_knows, wmfi_nn_shufflenet_detect, wmfi_nn_shufflenet_build},
  [WMFI_NN_VIT] = {"vit", 1, wmfi_nn_vit_knows, wmfi_nn_vit_detect, wmfi_nn_vit_build},
  [WMFI_NN_ALEXNET] = {"alexnet", 63, wmfi_nn_alexnet_knows, wmfi_nn_alexnet_detect, wmfi_nn_alexnet_build},
  [WMFI_NN_GOOGLENET] = {"googlenet", 15, wmfi_nn_googlenet_knows, wmfi_nn_googlenet_detect, wmfi_nn_googlenet_build},
  [WMFI_NN_INCEPTION_V3] = {"inception_v3", 75, wmfi_nn_inception_v3_knows, wmfi_nn_inception_v3_detect,
                            wmfi_nn_inception_v3_build},
  [WMFI_NN_CONVNEXT] = {"convnext", 32, wmfi_nn_convnext_knows, wmfi_nn_convnext_detect, wmfi_nn_convnext_build},
  [WMFI_NN_REGNET] = {"regnet", 32, wmfi_nn_regnet_knows, wmfi_nn_regnet_detect, wmfi_nn_regnet_build},
  [WMFI_NN_EFFICIENTNET] = {"efficientnet", 1, wmfi_nn_efficientnet_knows, wmfi_nn_efficientnet_detect,
                            wmfi_nn_efficientnet_build},
};

static size_t known_arch_count(void);

/* The family that knows `arch` (a name) or, with arch NULL, recognizes the weights; NULL if none. */
static const wmfi_nn_family *find_family(const char *arch, const wmfi_nn_params *p) {
  for (int f = 0; f < WMFI_NN_FAMILY_COUNT; f++)
    if (arch ? families[f].knows(arch) : families[f].detect(p)) return &families[f];
  return NULL;
}

/* The model's input size: the only one it accepts (ViT), else the one its builder set (Inception-v3:
 * 299), else 224. */
static int default_input(const wmf_model *m) {
  return m->fixed_input ? m->fixed_input : m->default_input ? m->default_input : WMFI_NN_DEFAULT_INPUT;
}

/* Builds the plan of one image at the default size once, with `prepare`: every weight is reordered into
 * the layout oneDNN chooses there and kept by the model. */
static wmf_status prepare_weights(wmf_model *m) {
  wmfi_nn_plan_config cfg = {.n = 1, .h = default_input(m), .w = default_input(m), .bf16 = 0,
                             .stage = WMFI_NN_NONE, .prepare = 1};
  wmfi_nn_plan *plan;
  int saved = wmfi_nn_threads_push(0);
  wmf_status st = wmfi_nn_plan_create(&plan, m, &cfg, NULL);
  wmfi_nn_threads_pop(saved);
  wmfi_nn_plan_destroy(plan);
  return st;
}

#define WMFI_MODEL_OPTIONS_SIZE_1_0 WMFI_SIZE_THROUGH(wmf_model_options, allow_unexpected)

WMFI_DEFINE_OPTIONS_INIT(wmf_model_options_init, wmf_model_options, WMF_MODEL_OPTIONS_INIT, WMFI_MODEL_OPTIONS_SIZE_1_0)

wmf_status wmf_model_load(wmf_model **out, const wmf_weights *weights, const char *arch,
                          const wmf_model_options *options) {
  WMFI_REQUIRE(out, "wmf_model_load: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(weights, "wmf_model_load: weights is NULL");
  wmf_status st = WMF_OK;
  wmf_model *m = NULL;
  wmfi_nn_params p = {0};
  wmf_model_options o = WMF_MODEL_OPTIONS_INIT;
  WMFI_TRY(wmfi_options_read(&o, sizeof o, options, WMFI_MODEL_OPTIONS_SIZE_1_0, "wmf_model_load",
                             "wmf_model_options"));
  WMFI_TRY(wmfi_nn_params_init(&p, weights));
  const wmfi_nn_family *family = find_family(arch, &p);
  if (!family && arch) {
    char families_known[256] = "";
    for (int f = 0, n = 0; f < WMFI_NN_FAMILY_COUNT && n >= 0 && (size_t)n < sizeof families_known; f++)
      n += snprintf(families_known + n, sizeof families_known - (size_t)n, "%s%s", f ? ", " : "", families[f].name);
    WMFI_FAIL(WMF_ERR_UNKNOWN_ARCH,
              "wmf_model_load: unknown architecture '%s' (known: resnet18, resnet50, vgg16_bn, densenet121, vit_b_16, "
              "...: %zu names, wmf_model_arch_name lists them; the families: %s)",
              arch, known_arch_count(), families_known);
  }
  WMFI_CHECK(family, WMF_ERR_UNKNOWN_ARCH,
             "wmf_model_load: the weights match no supported architecture (no family recognizes their tensor "
             "names, e.g. ResNet's 'layer1.0.conv1.weight' or VGG's 'features.0.weight' + 'classifier.0.weight'; "
             "docs/models.md lists what each family looks for)");
  WMFI_ALLOC(m, wmfi_calloc(1, sizeof *m), "wmf_model_load");
  WMFI_DNNL_TRY(dnnl_engine_create(&m->engine, dnnl_cpu, 0), "engine creation");
  WMFI_CHECK(wmfi_nn_tensor_add(&m->g, 3, NULL) == WMFI_NN_INPUT, WMF_ERR_OUT_OF_MEMORY,
             "wmf_model_load: out of memory");
  WMFI_CHECK(o.transform_input == WMF_TRANSFORM_INPUT_DEFAULT || o.transform_input == WMF_TRANSFORM_INPUT_ON ||
                 o.transform_input == WMF_TRANSFORM_INPUT_OFF,
             WMF_ERR_INVALID_ARGUMENT, "wmf_model_load: transform_input %d is not a wmf_transform_input value",
             (int)o.transform_input);
  WMFI_CHECK(o.transform_input != WMF_TRANSFORM_INPUT_ON || family == &families[WMFI_NN_GOOGLENET] ||
                 family == &families[WMFI_NN_INCEPTION_V3],
             WMF_ERR_UNSUPPORTED, "wmf_model_load: transform_input is only defined for googlenet and inception_v3, "
             "not %s", family->name);
  m->transform_input = o.transform_input;
  WMFI_TRY(family->build(m, &p, arch));
  m->family = family->name;
  m->min_input = family->min_input;
  if (!o.allow_unexpected) WMFI_TRY(wmfi_nn_params_check_unused(&p));
  m->num_classes = m->g.tensors[m->g.logits].c;
  m->feature_count = m->g.tensors[m->g.features].c;
  WMFI_TRY(prepare_weights(m));
  *out = m;
  m = NULL;
done:
  wmfi_nn_params_free(&p);
  wmf_model_destroy(m);
  return st;
}

void wmf_model_destroy(wmf_model *model) {
  if (!model) return;
  wmfi_nn_graph_free(&model->g);
  if (model->engine) dnnl_engine_destroy(model->engine);
  wmfi_free(model);
}

wmf_filter wmf_model_default_filter(const wmf_model *model) {
  return model ? model->default_filter : WMF_FILTER_BILINEAR;
}

wmf_status wmf_model_default_normalize(const wmf_model *model, wmf_normalize *out) {
  static const wmf_normalize imagenet = WMF_NORMALIZE_IMAGENET;
  WMFI_REQUIRE(model, "wmf_model_default_normalize: model is NULL");
  WMFI_REQUIRE(out, "wmf_model_default_normalize: out is NULL");
  *out = model->default_norm ? *model->default_norm : imagenet;
  return WMF_OK;
}

/* Every name the builders' *_knows accept (tests/nn checks that both agree). */
static const char *const arch_names[] = {
  "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
  "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
  "vgg16_bn", "vgg19", "vgg19_bn", "densenet121", "densenet161", "densenet169", "densenet201", "resnet", "vgg",
  "densenet",
  "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mobilenet", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
  "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "shufflenet",
  "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14", "vit",
  "alexnet", "googlenet", "inception_v3",
  "convnext_tiny", "convnext_small", "convnext_base", "convnext_large", "convnext",
  "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf", "regnet_x_16gf",
  "regnet_x_32gf", "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf",
  "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf", "regnet",
  "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
  "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l", "efficientnet",
};

static size_t known_arch_count(void) { return sizeof arch_names / sizeof arch_names[0]; }

const char *wmf_model_arch_name(size_t index) { return index < known_arch_count() ? arch_names[index] : NULL; }

const char *wmf_model_arch(const wmf_model *model) { return model ? model->arch : ""; }
const char *wmf_model_family(const wmf_model *model) { return model && model->family ? model->family : ""; }
size_t wmf_model_num_classes(const wmf_model *model) { return model ? (size_t)model->num_classes : 0; }
size_t wmf_model_feature_count(const wmf_model *model) { return model ? (size_t)model->feature_count : 0; }
uint32_t wmf_model_default_input_size(const wmf_model *model) { return model ? (uint32_t)default_input(model) : 0; }
uint32_t wmf_model_default_resize_size(const wmf_model *model) {
  if (!model) return 0;
  if (model->default_resize) return (uint32_t)model->default_resize;
  /* a ViT fixed at another size: torchvision's SWAG E2E transforms resize to the crop */
  return model->fixed_input && model->fixed_input != WMFI_NN_DEFAULT_INPUT ? (uint32_t)model->fixed_input : 256;
}
