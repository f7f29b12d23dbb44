/* RegNet X and Y (torchvision names). A stem (3x3 stride-2 convolution + BN + ReLU), then stages of
 * ResBottleneckBlocks: a 1x1 convolution, a grouped 3x3 (the stage's group width channels per group;
 * stride 2 in a stage's first block), in RegNet Y a squeeze-and-excitation (ReLU, sigmoid gate), and a
 * 1x1 convolution whose BatchNorm folds in and whose residual sum and the ReLU after it are post-ops; the
 * shortcut is a strided 1x1 projection + BN where the shape changes (each stage's first block). Every
 * width, depth and group count is read from the weights (groups = the 3x3's output channels / its
 * weight's input dimension); the torchvision variant they match names the model, any other RegNet loads
 * as regnet_x-custom / regnet_y-custom. Features: the globally average-pooled output of the last stage,
 * the input of `fc`. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

enum { MAX_STAGES = 8 };

typedef struct regnet_cfg {
  const char *name;
  int se, stages, depth[MAX_STAGES], width[MAX_STAGES], group_width[MAX_STAGES];
  int input, resize, bicubic; /* the default weights' transforms (DEFAULT in torchvision) */
} regnet_cfg;

/* torchvision's BlockParams.from_init_params for each variant, evaluated (bottleneck multiplier 1). The
 * DEFAULT weights are IMAGENET1K_V2 (resize 232, crop 224), regnet_y_128gf's IMAGENET1K_SWAG_E2E_V1
 * (bicubic, resize and crop 384). */
static const regnet_cfg known[] = {
  {"regnet_x_400mf", 0, 4, {1, 2, 7, 12}, {32, 64, 160, 400}, {16, 16, 16, 16}, 224, 232, 0},
  {"regnet_x_800mf", 0, 4, {1, 3, 7, 5}, {64, 128, 288, 672}, {16, 16, 16, 16}, 224, 232, 0},
  {"regnet_x_1_6gf", 0, 4, {2, 4, 10, 2}, {72, 168, 408, 912}, {24, 24, 24, 24}, 224, 232, 0},
  {"regnet_x_3_2gf", 0, 4, {2, 6, 15, 2}, {96, 192, 432, 1008}, {48, 48, 48, 48}, 224, 232, 0},
  {"regnet_x_8gf", 0, 4, {2, 5, 15, 1}, {80, 240, 720, 1920}, {80, 120, 120, 120}, 224, 232, 0},
  {"regnet_x_16gf", 0, 4, {2, 6, 13, 1}, {256, 512, 896, 2048}, {128, 128, 128, 128}, 224, 232, 0},
  {"regnet_x_32gf", 0, 4, {2, 7, 13, 1}, {336, 672, 1344, 2520}, {168, 168, 168, 168}, 224, 232, 0},
  {"regnet_y_400mf", 1, 4, {1, 3, 6, 6}, {48, 104, 208, 440}, {8, 8, 8, 8}, 224, 232, 0},
  {"regnet_y_800mf", 1, 4, {1, 3, 8, 2}, {64, 144, 320, 784}, {16, 16, 16, 16}, 224, 232, 0},
  {"regnet_y_1_6gf", 1, 4, {2, 6, 17, 2}, {48, 120, 336, 888}, {24, 24, 24, 24}, 224, 232, 0},
  {"regnet_y_3_2gf", 1, 4, {2, 5, 13, 1}, {72, 216, 576, 1512}, {24, 24, 24, 24}, 224, 232, 0},
  {"regnet_y_8gf", 1, 4, {2, 4, 10, 1}, {224, 448, 896, 2016}, {56, 56, 56, 56}, 224, 232, 0},
  {"regnet_y_16gf", 1, 4, {2, 4, 11, 1}, {224, 448, 1232, 3024}, {112, 112, 112, 112}, 224, 232, 0},
  {"regnet_y_32gf", 1, 4, {2, 5, 12, 1}, {232, 696, 1392, 3712}, {232, 232, 232, 232}, 224, 232, 0},
  {"regnet_y_128gf", 1, 4, {2, 7, 17, 1}, {528, 1056, 2904, 7392}, {264, 264, 264, 264}, 384, 384, 1},
};

WMFI_NN_DEFINE_KNOWS(regnet, known)

int wmfi_nn_regnet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "stem.0.weight") && wmfi_nn_has(p, "trunk_output.block1.block1-0.f.a.0.weight") &&
         wmfi_nn_has(p, "fc.weight");
}

/* "trunk_output.block<s>.block<s>-<i>.<rest>" (s, i from 1 and 0 as torchvision counts them). */
static void block_name(char *out, size_t size, int s, int i, const char *rest) {
  snprintf(out, size, "trunk_output.block%d.block%d-%d.%s", s + 1, s + 1, i, rest);
}

/* Stages, depths, widths and group widths from the tensor names and shapes; the name of the known
 * configuration they match. */
static wmf_status infer(const wmfi_nn_params *p, regnet_cfg *cfg) {
  wmf_status st = WMF_OK;
  char name[128];
  memset(cfg, 0, sizeof *cfg);
  block_name(name, sizeof name, 0, 0, "f.se.fc1.weight");
  cfg->se = wmfi_nn_has(p, name);
  for (;;) {
    block_name(name, sizeof name, cfg->stages, 0, "f.a.0.weight");
    if (!wmfi_nn_has(p, name)) break;
    WMFI_CHECK(cfg->stages < MAX_STAGES, WMF_ERR_LIMIT, "wmf_model_load: RegNet weights with more than %d stages",
               MAX_STAGES);
    int s = cfg->stages++, b;
    for (;;) {
      block_name(name, sizeof name, s, cfg->depth[s], "f.a.0.weight");
      if (!wmfi_nn_has(p, name)) break;
      cfg->depth[s]++;
    }
    block_name(name, sizeof name, s, 0, "f.c.0.weight");
    WMFI_TRY(wmfi_nn_dim(p, name, 4, 0, WMFI_NN_MAX_CHANNELS, &cfg->width[s]));
    block_name(name, sizeof name, s, 0, "f.b.0.weight");
    WMFI_TRY(wmfi_nn_dim(p, name, 4, 1, WMFI_NN_MAX_CHANNELS, &cfg->group_width[s]));
    WMFI_TRY(wmfi_nn_dim(p, name, 4, 0, WMFI_NN_MAX_CHANNELS, &b));
    if (b != cfg->width[s]) cfg->group_width[s] = 0; /* a bottleneck multiplier other than 1: custom */
  }
  cfg->name = cfg->se ? "regnet_y-custom" : "regnet_x-custom";
  for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
    if (known[k].se == cfg->se && known[k].stages == cfg->stages && !memcmp(known[k].depth, cfg->depth, sizeof cfg->depth) &&
        !memcmp(known[k].width, cfg->width, sizeof cfg->width) &&
        !memcmp(known[k].group_width, cfg->group_width, sizeof cfg->group_width))
      *cfg = known[k];
done:
  return st;
}

/* Output channels (axis 0) or input channels per group (axis 1) of the convolution weight `name`. */
static int dim_of(const wmfi_nn_params *p, wmf_status *st, const char *name, int axis) {
  int v = 0;
  if (*st == WMF_OK) *st = wmfi_nn_dim(p, name, 4, axis, WMFI_NN_MAX_CHANNELS, &v);
  return v;
}

/* Block i of stage s reading x: ResBottleneckBlock with `out` channels. */
static int res_bottleneck(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int x, int s, int i, int out, int se) {
  char c[128], b[128];
  int stride = i == 0 ? 2 : 1, identity = x;
  block_name(c, sizeof c, s, i, "proj.0.weight");
  if (*st == WMF_OK && (wmfi_nn_has(p, c) || stride != 1 || m->g.tensors[x].c != out)) {
    block_name(c, sizeof c, s, i, "proj.0");
    block_name(b, sizeof b, s, i, "proj.1");
    identity = wmfi_nn_conv_bn(m, p, st, x, out, 1, stride, 1, WMFI_NN_ACT_NONE, WMFI_NN_NONE, c, b);
  }
  block_name(c, sizeof c, s, i, "f.b.0.weight");
  int w_b = dim_of(p, st, c, 0), group_width = dim_of(p, st, c, 1);
  if (*st == WMF_OK && w_b % group_width) {
    *st = wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: '%s': %d output channels do not split into groups of %d input "
                    "channels", c, w_b, group_width);
    return WMFI_NN_NONE;
  }
  block_name(c, sizeof c, s, i, "f.a.0");
  block_name(b, sizeof b, s, i, "f.a.1");
  int t = wmfi_nn_conv_bn(m, p, st, x, w_b, 1, 1, 1, WMFI_NN_ACT_RELU, WMFI_NN_NONE, c, b);
  block_name(c, sizeof c, s, i, "f.b.0");
  block_name(b, sizeof b, s, i, "f.b.1");
  t = wmfi_nn_conv_bn(m, p, st, t, w_b, 3, stride, group_width ? w_b / group_width : 0, WMFI_NN_ACT_RELU, WMFI_NN_NONE,
                      c, b);
  if (se) {
    block_name(c, sizeof c, s, i, "f.se");
    t = wmfi_nn_squeeze_excite(m, p, st, t, WMFI_NN_ACT_RELU, WMFI_NN_ACT_SIGMOID, c);
  }
  block_name(c, sizeof c, s, i, "f.c.0");
  block_name(b, sizeof b, s, i, "f.c.1");
  return wmfi_nn_conv_bn(m, p, st, t, out, 1, 1, 1, WMFI_NN_ACT_RELU, identity, c, b);
}

wmf_status wmfi_nn_regnet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  regnet_cfg cfg;
  WMFI_TRY(infer(p, &cfg));
  WMFI_CHECK(cfg.stages > 0, WMF_ERR_UNKNOWN_ARCH,
             "wmf_model_load: RegNet weights without 'trunk_output.block1.block1-0.f.a.0.weight'");
  int k = WMFI_NN_ARCH_CONFIG(arch, "regnet", known);
  WMFI_CHECK(k != WMFI_NN_ARCH_UNKNOWN, WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: '%s' is not a RegNet", arch);
  WMFI_TRY(wmfi_nn_arch_check(arch, "regnet", cfg.name, NULL));
  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  int x = wmfi_nn_conv_bn(m, p, &st, WMFI_NN_INPUT, dim_of(p, &st, "stem.0.weight", 0), 3, 2, 1, WMFI_NN_ACT_RELU,
                          WMFI_NN_NONE, "stem.0", "stem.1");
  WMFI_TRY(st);
  snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "stem");
  for (int s = 0; s < cfg.stages; s++) {
    for (int i = 0; i < cfg.depth[s]; i++) x = res_bottleneck(m, p, &st, x, s, i, cfg.width[s], cfg.se);
    WMFI_TRY(st);
    snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "trunk_output.block%d", s + 1);
  }
  int f, classes;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_GAP, x, g->tensors[x].c, NULL, &f, &op));
  WMFI_TRY(wmfi_nn_dim(p, "fc.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  WMFI_TRY(wmfi_nn_add_classifier(g, p, f, classes, "fc"));
  snprintf(m->arch, sizeof m->arch, "%s", cfg.name);
  if (cfg.input && cfg.input != WMFI_NN_DEFAULT_INPUT) m->default_input = cfg.input;
  if (cfg.resize) m->default_resize = cfg.resize;
  if (cfg.bicubic) m->default_filter = WMF_FILTER_BICUBIC;
done:
  return st;
}
