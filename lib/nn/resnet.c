/* ResNet family (torchvision names): BasicBlock or Bottleneck, any stage depths, grouped and wide
 * bottlenecks (ResNeXt, Wide ResNet). BatchNorm folds into each convolution; the residual addition
 * and the ReLU after it are post-ops of the block's last convolution. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

typedef struct resnet_cfg {
  const char *name;
  int bottleneck, depth[4], groups, base_width;
} resnet_cfg;

static const resnet_cfg known[] = {
    {"resnet18", 0, {2, 2, 2, 2}, 1, 64},          {"resnet34", 0, {3, 4, 6, 3}, 1, 64},
    {"resnet50", 1, {3, 4, 6, 3}, 1, 64},          {"resnet101", 1, {3, 4, 23, 3}, 1, 64},
    {"resnet152", 1, {3, 8, 36, 3}, 1, 64},        {"resnext50_32x4d", 1, {3, 4, 6, 3}, 32, 4},
    {"resnext101_32x8d", 1, {3, 4, 23, 3}, 32, 8}, {"resnext101_64x4d", 1, {3, 4, 23, 3}, 64, 4},
    {"wide_resnet50_2", 1, {3, 4, 6, 3}, 1, 128},  {"wide_resnet101_2", 1, {3, 4, 23, 3}, 1, 128},
};

WMFI_NN_DEFINE_KNOWS(resnet, known)

int wmfi_nn_resnet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "layer1.0.conv1.weight") && wmfi_nn_has(p, "fc.weight");
}

/* Reads the configuration from the tensor names and shapes. */
static wmf_status infer(const wmfi_nn_params *p, resnet_cfg *cfg) {
  char name[96];
  int64_t s[8];
  memset(cfg, 0, sizeof *cfg);
  cfg->bottleneck = wmfi_nn_has(p, "layer1.0.conv3.weight");
  for (int l = 0; l < 4; l++) {
    for (;;) {
      snprintf(name, sizeof name, "layer%d.%d.conv1.weight", l + 1, cfg->depth[l]);
      if (!wmfi_nn_has(p, name)) break;
      cfg->depth[l]++;
    }
    if (!cfg->depth[l])
      return wmfi_fail(WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: ResNet weights without 'layer%d.0.conv1.weight'", l + 1);
  }
  cfg->groups = 1;
  cfg->base_width = 64;
  if (cfg->bottleneck) { /* a grouped 3x3 convolution: [out, out / groups, 3, 3] */
    int out, per_group;
    const char *c2 = "layer1.0.conv2.weight";
    wmf_status st = wmfi_nn_dim(p, c2, 4, 0, WMFI_NN_MAX_CHANNELS, &out);
    if (st == WMF_OK) st = wmfi_nn_dim(p, c2, 4, 1, WMFI_NN_MAX_CHANNELS, &per_group);
    if (st != WMF_OK) return st;
    if (out % per_group) {
      wmfi_nn_shape(p, c2, s);
      return wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: tensor '%s' has shape [%lld, %lld, %lld, %lld]: %d output "
                       "channels do not split into groups of %d input channels", c2, (long long)s[0],
                       (long long)s[1], (long long)s[2], (long long)s[3], out, per_group);
    }
    cfg->groups = out / per_group;
    cfg->base_width = per_group;
  }
  cfg->name = "resnet-custom";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    const resnet_cfg *k = &known[i];
    if (k->bottleneck == cfg->bottleneck && !memcmp(k->depth, cfg->depth, sizeof k->depth) &&
        k->groups == cfg->groups && k->base_width == cfg->base_width)
      cfg->name = k->name;
  }
  return WMF_OK;
}

/* Convolution `i` of the block `pre` ("layer2.0"): weights "pre.conv<i>", BatchNorm "pre.bn<i>"; the
 * other arguments as wmfi_nn_conv_bn's. */
static int block_conv(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int src, const char *pre, int i, int cout,
                      int k, int stride, int groups, int residual) {
  char w[64], bn[64];
  snprintf(w, sizeof w, "%s.conv%d", pre, i);
  snprintf(bn, sizeof bn, "%s.bn%d", pre, i);
  return wmfi_nn_conv_bn(m, p, st, src, cout, k, stride, groups, WMFI_NN_ACT_RELU, residual, w, bn);
}

wmf_status wmfi_nn_resnet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  resnet_cfg cfg;
  int k = WMFI_NN_ARCH_CONFIG(arch, "resnet", known);
  WMFI_CHECK(k != WMFI_NN_ARCH_UNKNOWN, WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: '%s' is not a ResNet", arch);
  bool custom = k == WMFI_NN_ARCH_INFER;
  if (custom) WMFI_TRY(infer(p, &cfg));
  else cfg = known[k];
  int classes, stem = 64;
  WMFI_TRY(wmfi_nn_dim(p, "fc.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  if (custom) WMFI_TRY(wmfi_nn_dim(p, "conv1.weight", 4, 0, WMFI_NN_MAX_CHANNELS, &stem));
  char a[96], b[96];

  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  int x = wmfi_nn_conv_bn(m, p, &st, WMFI_NN_INPUT, stem, 7, 2, 1, WMFI_NN_ACT_RELU, WMFI_NN_NONE, "conv1", "bn1");
  WMFI_TRY(st);
  snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "conv1");
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_MAXPOOL, x, stem, "maxpool", &x, &op));
  op->kh = op->kw = 3;
  op->stride = 2;
  op->pad = 1;

  for (int l = 0; l < 4; l++) {
    int planes = 64 << l;
    int width = cfg.bottleneck ? planes * cfg.base_width / 64 * cfg.groups : planes;
    int out = cfg.bottleneck ? planes * 4 : planes;
    if (custom) { /* widths read from the weights: small or re-widened ResNets with torchvision's names */
      snprintf(a, sizeof a, "layer%d.0.conv1.weight", l + 1);
      snprintf(b, sizeof b, "layer%d.0.conv%d.weight", l + 1, cfg.bottleneck ? 3 : 2);
      WMFI_TRY(wmfi_nn_dim(p, a, 4, 0, WMFI_NN_MAX_CHANNELS, &width));
      WMFI_TRY(wmfi_nn_dim(p, b, 4, 0, WMFI_NN_MAX_CHANNELS, &out));
      planes = width;
    }
    for (int i = 0; i < cfg.depth[l]; i++) {
      int stride = (l > 0 && i == 0) ? 2 : 1;
      char pre[48];
      snprintf(pre, sizeof pre, "layer%d.%d", l + 1, i);
      int identity = x;
      snprintf(a, sizeof a, "%s.downsample.0.weight", pre);
      if (wmfi_nn_has(p, a) || stride != 1 || g->tensors[x].c != out) {
        snprintf(a, sizeof a, "%s.downsample.0", pre);
        snprintf(b, sizeof b, "%s.downsample.1", pre);
        identity = wmfi_nn_conv_bn(m, p, &st, x, out, 1, stride, 1, WMFI_NN_ACT_NONE, WMFI_NN_NONE, a, b);
      }
      if (cfg.bottleneck) {
        int c1 = block_conv(m, p, &st, x, pre, 1, width, 1, 1, 1, WMFI_NN_NONE);
        int c2 = block_conv(m, p, &st, c1, pre, 2, width, 3, stride, cfg.groups, WMFI_NN_NONE);
        x = block_conv(m, p, &st, c2, pre, 3, out, 1, 1, 1, identity);
      } else {
        int c1 = block_conv(m, p, &st, x, pre, 1, planes, 3, stride, 1, WMFI_NN_NONE);
        x = block_conv(m, p, &st, c1, pre, 2, out, 3, 1, 1, identity);
      }
      WMFI_TRY(st);
    }
    snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "layer%d", l + 1);
  }

  int f;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_GAP, x, g->tensors[x].c, NULL, &f, &op));
  WMFI_TRY(wmfi_nn_add_classifier(g, p, f, classes, "fc"));
  snprintf(m->arch, sizeof m->arch, "%s", cfg.name);
done:
  return st;
}
