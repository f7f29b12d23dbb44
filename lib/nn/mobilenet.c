/* MobileNet-v2 and MobileNet-v3 large/small (torchvision names). Inverted residual blocks: a 1x1
 * expansion, a depthwise k x k convolution (groups = channels), in v3 optionally squeeze-and-excitation
 * with a hardsigmoid gate, and a linear 1x1 projection whose BatchNorm folds in and whose residual sum is
 * a post-op; ReLU6 (v2) and ReLU or hardswish (v3) are post-ops of the convolutions. The strides and the
 * activation of each block are not in the weights: they come from torchvision's configuration tables
 * (the block count tells v3 large from small). Features: v2 the 1280 pooled values before the classifier;
 * v3 the input of the last linear layer (1280 or 1024 values after classifier.0 and hardswish). */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

enum { V2_BLOCKS = 17, V3_LARGE_BLOCKS = 15, V3_SMALL_BLOCKS = 11 };
/* blocks of the first stride of each group of torchvision's inverted_residual_setting */
static const int v2_stride[V2_BLOCKS + 1] = {0, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1};
/* v3: per block, stride and hardswish (else ReLU), from _mobilenet_v3_conf */
static const int v3_large_stride[V3_LARGE_BLOCKS + 1] = {0, 1, 2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1};
static const int v3_large_hs[V3_LARGE_BLOCKS + 1] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const int v3_small_stride[V3_SMALL_BLOCKS + 1] = {0, 2, 2, 1, 2, 1, 1, 1, 1, 2, 1, 1};
static const int v3_small_hs[V3_SMALL_BLOCKS + 1] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

typedef struct mobilenet_cfg {
  const char *name;
  int version, blocks;
} mobilenet_cfg;

static const mobilenet_cfg known[] = {
  {"mobilenet_v2", 2, V2_BLOCKS},
  {"mobilenet_v3_large", 3, V3_LARGE_BLOCKS},
  {"mobilenet_v3_small", 3, V3_SMALL_BLOCKS},
};

WMFI_NN_DEFINE_KNOWS(mobilenet, known)

int wmfi_nn_mobilenet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "features.0.0.weight") &&
         ((wmfi_nn_has(p, "features.1.conv.0.0.weight") && wmfi_nn_has(p, "classifier.1.weight")) ||
          (wmfi_nn_has(p, "features.1.block.0.0.weight") && wmfi_nn_has(p, "classifier.3.weight")));
}

/* Number of blocks features.1 .. features.N named features.N.<inner>.0.0.weight. */
static int count_blocks(const wmfi_nn_params *p, const char *inner) {
  char name[96];
  int n = 0;
  for (;;) {
    snprintf(name, sizeof name, "features.%d.%s.0.0.weight", n + 1, inner);
    if (!wmfi_nn_has(p, name)) return n;
    n++;
  }
}

/* One inverted residual block features.`i`: `inner` is "conv" (v2) or "block" (v3). */
static int inverted_residual(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int x, int i, const char *inner,
                             int stride, int act) {
  if (*st != WMF_OK) return WMFI_NN_NONE;
  char c[96], b[96], pre[48];
  int j = 0, t = x, cin = m->g.tensors[x].c;
  snprintf(pre, sizeof pre, "features.%d.%s", i, inner);
  snprintf(c, sizeof c, "%s.0.0", pre);
  if (wmfi_nn_conv_dim(p, st, c, 1) != 1) { /* not depthwise: the 1x1 expansion */
    snprintf(b, sizeof b, "%s.0.1", pre);
    t = wmfi_nn_conv_bn(m, p, st, t, wmfi_nn_conv_dim(p, st, c, 0), 1, 1, 1, act, WMFI_NN_NONE, c, b);
    j = 1;
  }
  snprintf(c, sizeof c, "%s.%d.0", pre, j);
  snprintf(b, sizeof b, "%s.%d.1", pre, j);
  int hidden = wmfi_nn_conv_dim(p, st, c, 0);
  t = wmfi_nn_conv_bn(m, p, st, t, hidden, wmfi_nn_conv_dim(p, st, c, 2), stride, hidden, act, WMFI_NN_NONE, c, b);
  j++;
  snprintf(c, sizeof c, "%s.%d.fc1.weight", pre, j);
  if (*st == WMF_OK && wmfi_nn_has(p, c)) {
    snprintf(c, sizeof c, "%s.%d", pre, j);
    t = wmfi_nn_squeeze_excite(m, p, st, t, WMFI_NN_ACT_RELU, WMFI_NN_ACT_HARDSIGMOID, c);
    j++;
  }
  if (!strcmp(inner, "conv")) { /* v2: a bare convolution, then its BatchNorm */
    snprintf(c, sizeof c, "%s.%d", pre, j);
    snprintf(b, sizeof b, "%s.%d", pre, j + 1);
  } else {
    snprintf(c, sizeof c, "%s.%d.0", pre, j);
    snprintf(b, sizeof b, "%s.%d.1", pre, j);
  }
  int cout = wmfi_nn_conv_dim(p, st, c, 0);
  int residual = stride == 1 && cin == cout ? x : WMFI_NN_NONE;
  return wmfi_nn_conv_bn(m, p, st, t, cout, 1, 1, 1, WMFI_NN_ACT_NONE, residual, c, b);
}

wmf_status wmfi_nn_mobilenet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  int v2 = wmfi_nn_has(p, "features.1.conv.0.0.weight");
  int blocks = count_blocks(p, v2 ? "conv" : "block");
  const mobilenet_cfg *cfg = NULL;
  for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
    if ((known[k].version == 2) == v2 && known[k].blocks == blocks) cfg = &known[k];
  WMFI_CHECK(cfg, WMF_ERR_UNKNOWN_ARCH,
             "wmf_model_load: MobileNet-%s weights with %d inverted residual blocks (torchvision's have %s; the "
             "strides are not in the weights)", v2 ? "v2" : "v3", blocks, v2 ? "17" : "15 (large) or 11 (small)");
  WMFI_TRY(wmfi_nn_arch_check(arch, "mobilenet", cfg->name, NULL));
  int large = cfg->blocks == V3_LARGE_BLOCKS;
  if (!v2) p->bn_eps = 1e-3; /* torchvision's MobileNetV3 BatchNorm */
  int act_hs = v2 ? WMFI_NN_ACT_RELU6 : WMFI_NN_ACT_HARDSWISH;
  char c[64], b[64];
  int x = wmfi_nn_conv_bn(m, p, &st, WMFI_NN_INPUT, wmfi_nn_conv_dim(p, &st, "features.0.0", 0), 3, 2, 1, act_hs,
                          WMFI_NN_NONE, "features.0.0", "features.0.1");
  for (int i = 1; i <= blocks; i++) {
    int stride = v2 ? v2_stride[i] : large ? v3_large_stride[i] : v3_small_stride[i];
    int act = v2 ? WMFI_NN_ACT_RELU6 : (large ? v3_large_hs[i] : v3_small_hs[i]) ? WMFI_NN_ACT_HARDSWISH : WMFI_NN_ACT_RELU;
    x = inverted_residual(m, p, &st, x, i, v2 ? "conv" : "block", stride, act);
  }
  snprintf(c, sizeof c, "features.%d.0", blocks + 1);
  snprintf(b, sizeof b, "features.%d.1", blocks + 1);
  x = wmfi_nn_conv_bn(m, p, &st, x, wmfi_nn_conv_dim(p, &st, c, 0), 1, 1, 1, act_hs, WMFI_NN_NONE, c, b);
  WMFI_TRY(st);
  wmfi_nn_graph *g = &m->g;
  snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "features");
  wmfi_nn_op *op;
  int f, classes;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_GAP, x, g->tensors[x].c, NULL, &f, &op));
  if (!v2) { /* classifier.0 (Linear) + hardswish: the features are its output */
    int hidden;
    WMFI_TRY(wmfi_nn_dim(p, "classifier.0.weight", 2, 0, WMFI_NN_MAX_CHANNELS, &hidden));
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_FC, f, hidden, NULL, &f, &op));
    op->relu = WMFI_NN_ACT_HARDSWISH;
    WMFI_TRY(wmfi_nn_load_fc(p, op, "classifier.0"));
  }
  const char *last = v2 ? "classifier.1" : "classifier.3";
  snprintf(c, sizeof c, "%s.weight", last);
  WMFI_TRY(wmfi_nn_dim(p, c, 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  WMFI_TRY(wmfi_nn_add_classifier(g, p, f, classes, last));
  snprintf(m->arch, sizeof m->arch, "%s", cfg->name);
done:
  return st;
}
