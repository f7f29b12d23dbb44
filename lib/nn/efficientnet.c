/* EfficientNet B0-B7 and EfficientNet-v2 S/M/L (torchvision names). features.0 is the stem (3x3 stride-2
 * convolution + BatchNorm + SiLU), features.1 .. features.S the stages of blocks features.s.b, features.S+1
 * a 1x1 convolution + BatchNorm + SiLU, then a global average pool and classifier.1 (classifier.0 is a
 * dropout: the identity at inference). A block is an MBConv (a 1x1 expansion when the block widens, a
 * depthwise k x k convolution, squeeze-and-excitation with SiLU inside and a sigmoid gate, a linear 1x1
 * projection) or, in v2's first stages, a FusedMBConv (a k x k convolution, then a linear 1x1 projection
 * when it widens); it adds its input (stochastic depth is the identity at inference) when its stride is 1
 * and its width does not change. SiLU, the sigmoid and the residual sums are post-ops of the convolutions
 * and inner products; every BatchNorm folds into its convolution.
 * What the weights hold: the widths, the block counts, the kernel sizes and the block kinds (an MBConv has
 * SE tensors, a FusedMBConv none). What they do not: the strides, which are torchvision's per stage
 * (2 at the first block of stages 2, 3, 4 and 6, in v1 and v2 alike), and the BatchNorm epsilon: 1e-5 for
 * B0-B4, 1e-3 for B5-B7 and for every v2 (torchvision's norm_layer of each). Features: the 1280 ... 2560
 * pooled values the classifier's linear layer reads. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

enum { MAX_STAGES = 7 };
/* the stride of each stage's first block (torchvision's _efficientnet_conf: v1 and v2 agree) */
static const int stage_stride[MAX_STAGES + 1] = {0, 1, 2, 2, 2, 1, 2, 1};

typedef struct efficientnet_cfg {
  const char *name;
  int v2, stem, stages, blocks[MAX_STAGES], last;
  double bn_eps;
  int input, resize;         /* the DEFAULT weights' transforms: crop, resize, */
  wmf_filter filter;          /* interpolation */
  const wmf_normalize *norm;  /* and Normalize (NULL: ImageNet's) */
} efficientnet_cfg;

/* torchvision's transforms of efficientnet_v2_l's weights: inputs scaled to [-1, 1] */
static const wmf_normalize half = {{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
#define BL WMF_FILTER_BILINEAR
#define BC WMF_FILTER_BICUBIC

static const efficientnet_cfg known[] = {
  {"efficientnet_b0", 0, 32, 7, {1, 2, 2, 3, 3, 4, 1}, 1280, 1e-5, 224, 256, BC, NULL},
  {"efficientnet_b1", 0, 32, 7, {2, 3, 3, 4, 4, 5, 2}, 1280, 1e-5, 240, 255, BL, NULL},
  {"efficientnet_b2", 0, 32, 7, {2, 3, 3, 4, 4, 5, 2}, 1408, 1e-5, 288, 288, BC, NULL},
  {"efficientnet_b3", 0, 40, 7, {2, 3, 3, 5, 5, 6, 2}, 1536, 1e-5, 300, 320, BC, NULL},
  {"efficientnet_b4", 0, 48, 7, {2, 4, 4, 6, 6, 8, 2}, 1792, 1e-5, 380, 384, BC, NULL},
  {"efficientnet_b5", 0, 48, 7, {3, 5, 5, 7, 7, 9, 3}, 2048, 1e-3, 456, 456, BC, NULL},
  {"efficientnet_b6", 0, 56, 7, {3, 6, 6, 8, 8, 11, 3}, 2304, 1e-3, 528, 528, BC, NULL},
  {"efficientnet_b7", 0, 64, 7, {4, 7, 7, 10, 10, 13, 4}, 2560, 1e-3, 600, 600, BC, NULL},
  {"efficientnet_v2_s", 1, 24, 6, {2, 4, 4, 6, 9, 15}, 1280, 1e-3, 384, 384, BL, NULL},
  {"efficientnet_v2_m", 1, 24, 7, {3, 5, 5, 7, 14, 18, 5}, 1280, 1e-3, 480, 480, BL, NULL},
  {"efficientnet_v2_l", 1, 32, 7, {4, 7, 7, 10, 19, 25, 7}, 1280, 1e-3, 480, 480, BC, &half},
};
#undef BL
#undef BC

WMFI_NN_DEFINE_KNOWS(efficientnet, known)

int wmfi_nn_efficientnet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "features.0.0.weight") && wmfi_nn_has(p, "features.1.0.block.0.0.weight") &&
         wmfi_nn_has(p, "classifier.1.weight");
}

/* The kernel size of prefix.weight, which must be odd (torch pads (k - 1) / 2 on each side). */
static int kernel_of(const wmfi_nn_params *p, wmf_status *st, const char *prefix) {
  int k = wmfi_nn_conv_dim(p, st, prefix, 2);
  if (*st == WMF_OK && k % 2 == 0)
    *st = wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: '%s.weight' has an even kernel size %d (EfficientNet's are odd)",
                    prefix, k);
  return k;
}

/* Conv2dNormActivation `pre`.`j` (its convolution pre.j.0, BatchNorm pre.j.1) reading x. */
static int conv_norm(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int x, const char *pre, int j, int cout,
                     int k, int stride, int groups, int act, int residual) {
  char c[96], b[96];
  snprintf(c, sizeof c, "%s.%d.0", pre, j);
  snprintf(b, sizeof b, "%s.%d.1", pre, j);
  return wmfi_nn_conv_bn(m, p, st, x, cout, k, stride, groups, act, residual, c, b);
}

/* Block features.s.b reading x with the given stride: an MBConv when its SE tensors exist (pre.1 without
 * expansion, pre.2 with), else a FusedMBConv. */
static int block(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int x, int s, int b, int stride) {
  if (*st != WMF_OK) return WMFI_NN_NONE;
  char pre[64], name[128];
  int cin = m->g.tensors[x].c, t = x, j = 0, last, cout;
  snprintf(pre, sizeof pre, "features.%d.%d.block", s, b);
  snprintf(name, sizeof name, "%s.2.fc1.weight", pre);
  int expand = wmfi_nn_has(p, name);
  snprintf(name, sizeof name, "%s.1.fc1.weight", pre);
  if (expand || wmfi_nn_has(p, name)) { /* MBConv */
    snprintf(name, sizeof name, "%s.0.0", pre);
    if (expand) /* the 1x1 expansion */
      t = conv_norm(m, p, st, t, pre, j++, wmfi_nn_conv_dim(p, st, name, 0), 1, 1, 1, WMFI_NN_ACT_SILU, WMFI_NN_NONE);
    snprintf(name, sizeof name, "%s.%d.0", pre, j);
    int hidden = wmfi_nn_conv_dim(p, st, name, 0);
    t = conv_norm(m, p, st, t, pre, j++, hidden, kernel_of(p, st, name), stride, hidden, WMFI_NN_ACT_SILU,
                  WMFI_NN_NONE);
    snprintf(name, sizeof name, "%s.%d", pre, j++);
    t = wmfi_nn_squeeze_excite(m, p, st, t, WMFI_NN_ACT_SILU, WMFI_NN_ACT_SIGMOID, name);
    last = j;
    snprintf(name, sizeof name, "%s.%d.0", pre, last);
    cout = wmfi_nn_conv_dim(p, st, name, 0);
    return conv_norm(m, p, st, t, pre, last, cout, 1, 1, 1, WMFI_NN_ACT_NONE,
                     stride == 1 && cin == cout ? x : WMFI_NN_NONE);
  }
  snprintf(name, sizeof name, "%s.1.0.weight", pre);
  char first[96];
  snprintf(first, sizeof first, "%s.0.0", pre);
  if (wmfi_nn_has(p, name)) { /* FusedMBConv with expansion: k x k convolution + SiLU, linear 1x1 projection */
    int hidden = wmfi_nn_conv_dim(p, st, first, 0);
    t = conv_norm(m, p, st, t, pre, 0, hidden, kernel_of(p, st, first), stride, 1, WMFI_NN_ACT_SILU, WMFI_NN_NONE);
    snprintf(name, sizeof name, "%s.1.0", pre);
    cout = wmfi_nn_conv_dim(p, st, name, 0);
    return conv_norm(m, p, st, t, pre, 1, cout, 1, 1, 1, WMFI_NN_ACT_NONE,
                     stride == 1 && cin == cout ? x : WMFI_NN_NONE);
  }
  /* FusedMBConv without expansion: one k x k convolution + SiLU, the input added after the SiLU */
  cout = wmfi_nn_conv_dim(p, st, first, 0);
  int residual = stride == 1 && cin == cout ? x : WMFI_NN_NONE;
  t = conv_norm(m, p, st, t, pre, 0, cout, kernel_of(p, st, first), stride, 1, WMFI_NN_ACT_SILU, residual);
  if (*st == WMF_OK) m->g.ops[m->g.n_ops - 1].act_then_sum = 1;
  return t;
}

/* Number of entries features.<s>.<i>... named by `fmt` (with s and i) from i = 0 (s = -1: one index). */
static int count(const wmfi_nn_params *p, const char *fmt, int s, int from) {
  char name[96];
  int n = 0;
  for (;;) {
    if (s < 0) snprintf(name, sizeof name, fmt, from + n);
    else snprintf(name, sizeof name, fmt, s, from + n);
    if (!wmfi_nn_has(p, name)) return n;
    n++;
  }
}

/* Names tensor t's stage "features.<s>". */
static void name_stage(wmf_model *m, int t, int s) {
  snprintf(m->g.tensors[t].stage, sizeof m->g.tensors[t].stage, "features.%d", s);
}

wmf_status wmfi_nn_efficientnet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  wmfi_nn_graph *g = &m->g;
  int stages = count(p, "features.%d.0.block.0.0.weight", -1, 1), blocks[MAX_STAGES] = {0};
  WMFI_CHECK(stages <= MAX_STAGES, WMF_ERR_UNKNOWN_ARCH,
             "wmf_model_load: EfficientNet weights with %d stages (torchvision's have at most %d; the strides are not in "
             "the weights)", stages, MAX_STAGES);
  for (int s = 1; s <= stages; s++) blocks[s - 1] = count(p, "features.%d.%d.block.0.0.weight", s, 0);
  int v2 = !wmfi_nn_has(p, "features.1.0.block.1.fc1.weight") && !wmfi_nn_has(p, "features.1.0.block.2.fc1.weight");
  char last[32];
  snprintf(last, sizeof last, "features.%d.0", stages + 1);
  int stem = wmfi_nn_conv_dim(p, &st, "features.0.0", 0), head = wmfi_nn_conv_dim(p, &st, last, 0);
  WMFI_TRY(st);
  const efficientnet_cfg *cfg = NULL;
  for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
    if (known[k].v2 == v2 && known[k].stem == stem && known[k].stages == stages && known[k].last == head &&
        !memcmp(known[k].blocks, blocks, sizeof blocks))
      cfg = &known[k];
  WMFI_TRY(wmfi_nn_arch_check(arch, "efficientnet", cfg ? cfg->name : NULL, cfg ? NULL : "a custom EfficientNet"));
  /* torchvision's BatchNorm: 1e-3 for B5-B7 and v2; a custom network the default of its class (1e-5 in
   * v1's EfficientNet, v2 always builds with 1e-3) */
  p->bn_eps = cfg ? cfg->bn_eps : v2 ? 1e-3 : 1e-5;
  int x = wmfi_nn_conv_bn(m, p, &st, WMFI_NN_INPUT, stem, 3, 2, 1, WMFI_NN_ACT_SILU, WMFI_NN_NONE, "features.0.0",
                          "features.0.1");
  WMFI_TRY(st);
  name_stage(m, x, 0);
  for (int s = 1; s <= stages; s++) {
    for (int b = 0; b < blocks[s - 1]; b++) x = block(m, p, &st, x, s, b, b ? 1 : stage_stride[s]);
    WMFI_TRY(st);
    name_stage(m, x, s);
  }
  char bn[32];
  snprintf(bn, sizeof bn, "features.%d.1", stages + 1);
  x = wmfi_nn_conv_bn(m, p, &st, x, head, 1, 1, 1, WMFI_NN_ACT_SILU, WMFI_NN_NONE, last, bn);
  WMFI_TRY(st);
  name_stage(m, x, stages + 1);
  /* a projection that adds its block's input writes into that tensor's buffer (a sum post-op): such a
   * tensor cannot be kept as a stage (none of torchvision's are; an addition after the SiLU only reads it) */
  for (int i = 0; i < g->n_ops; i++)
    if (g->ops[i].residual != WMFI_NN_NONE && !g->ops[i].act_then_sum) g->tensors[g->ops[i].residual].stage[0] = 0;
  wmfi_nn_op *op;
  int f, classes;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_GAP, x, head, NULL, &f, &op));
  WMFI_TRY(wmfi_nn_dim(p, "classifier.1.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  WMFI_TRY(wmfi_nn_add_classifier(g, p, f, classes, "classifier.1"));
  if (cfg) {
    snprintf(m->arch, sizeof m->arch, "%s", cfg->name);
    m->default_input = cfg->input;
    m->default_resize = cfg->resize;
    m->default_filter = cfg->filter;
    m->default_norm = cfg->norm;
  } else {
    snprintf(m->arch, sizeof m->arch, "efficientnet-custom");
  }
done:
  return st;
}
