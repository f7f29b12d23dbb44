/* DenseNet (torchvision names). Each dense block has one preallocated buffer holding all its
 * channels; a layer's new channels are copied once into their slice, so the growing map is never
 * concatenated again. The pre-activation BN+ReLU of a layer reads the prefix of the buffer it needs
 * (a contiguous run per image in the N, C/16, H, W, 16 layout) into a scratch tensor; norm2 folds
 * into conv1 with its ReLU as a post-op. Transitions pool before their 1x1 convolution (the two are
 * linear and commute, so the convolution runs on a quarter of the pixels). norm5 + ReLU are fused into
 * the global average pool; the stage "features.norm5" pools norm5's output without the ReLU. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

typedef struct densenet_cfg {
  const char *name;
  int growth, blocks[4], init;
} densenet_cfg;

static const densenet_cfg known[] = {
    {"densenet121", 32, {6, 12, 24, 16}, 64},
    {"densenet161", 48, {6, 12, 36, 24}, 96},
    {"densenet169", 32, {6, 12, 32, 32}, 64},
    {"densenet201", 32, {6, 12, 48, 32}, 64},
};

WMFI_NN_DEFINE_KNOWS(densenet, known)

int wmfi_nn_densenet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "features.conv0.weight") && wmfi_nn_has(p, "features.denseblock1.denselayer1.conv1.weight");
}

wmf_status wmfi_nn_densenet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  densenet_cfg cfg = {"densenet-custom", 0, {0}, 0};
  char a[96], b[96];
  int named = WMFI_NN_ARCH_CONFIG(arch, "densenet", known);
  WMFI_CHECK(named != WMFI_NN_ARCH_UNKNOWN, WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: '%s' is not a DenseNet", arch);
  int inferred = named == WMFI_NN_ARCH_INFER;
  if (!inferred) {
    cfg = known[named];
  } else {
    WMFI_TRY(wmfi_nn_dim(p, "features.conv0.weight", 4, 0, WMFI_NN_MAX_CHANNELS, &cfg.init));
    WMFI_TRY(wmfi_nn_dim(p, "features.denseblock1.denselayer1.conv2.weight", 4, 0, WMFI_NN_MAX_CHANNELS,
                         &cfg.growth));
    for (int k = 0; k < 4; k++) {
      for (;;) {
        snprintf(a, sizeof a, "features.denseblock%d.denselayer%d.conv1.weight", k + 1, cfg.blocks[k] + 1);
        if (!wmfi_nn_has(p, a)) break;
        cfg.blocks[k]++;
      }
      WMFI_CHECK(cfg.blocks[k], WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: DenseNet weights without 'features.denseblock%d'",
                 k + 1);
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
      if (known[i].growth == cfg.growth && known[i].init == cfg.init && !memcmp(known[i].blocks, cfg.blocks, sizeof cfg.blocks))
        cfg.name = known[i].name;
  }
  int classes;
  WMFI_TRY(wmfi_nn_dim(p, "classifier.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  /* bottleneck width: bn_size * growth, read from the first layer's conv1 */
  int inner = 4 * cfg.growth;
  if (inferred)
    WMFI_TRY(wmfi_nn_dim(p, "features.denseblock1.denselayer1.conv1.weight", 4, 0, WMFI_NN_MAX_CHANNELS, &inner));

  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  int x, t;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, WMFI_NN_INPUT, cfg.init, "features.relu0", &x, &op));
  op->kh = op->kw = 7;
  op->stride = 2;
  op->pad = 3;
  op->relu = 1;
  WMFI_TRY(wmfi_nn_load_conv(p, op, "features.conv0", 0, "features.norm0"));
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_MAXPOOL, x, cfg.init, "features.pool0", &x, &op));
  op->kh = op->kw = 3;
  op->stride = 2;
  op->pad = 1;

  int c = cfg.init;
  for (int k = 0; k < 4; k++) {
    snprintf(a, sizeof a, "features.denseblock%d", k + 1);
    /* in int64: a forged growth rate times the layer count must not overflow */
    WMFI_TRY(wmfi_nn_check_channels(c + (int64_t)cfg.blocks[k] * cfg.growth, a));
    int total = c + cfg.blocks[k] * cfg.growth;
    /* the block buffer: a COPY of the block's input, then one COPY per layer (below) */
    int blk;
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_COPY, x, total, a, &blk, &op));
    g->tensors[blk].block = 1;
    g->tensors[blk].block16 = c % 16 == 0 && cfg.growth % 16 == 0;
    op->c_off = 0;
    for (int l = 0; l < cfg.blocks[k]; l++) {
      char pre[80];
      snprintf(pre, sizeof pre, "features.denseblock%d.denselayer%d", k + 1, l + 1);
      int cin = c + l * cfg.growth;
      WMFI_TRY(wmfi_nn_add(g, WMFI_NN_BNRELU, blk, cin, NULL, &t, &op));
      op->cin = cin;
      snprintf(a, sizeof a, "%s.norm1", pre);
      WMFI_TRY(wmfi_nn_load_bn(p, a, cin, &op->scale, &op->shift));
      WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, t, inner, NULL, &t, &op));
      op->relu = 1;
      snprintf(a, sizeof a, "%s.conv1", pre);
      snprintf(b, sizeof b, "%s.norm2", pre);
      WMFI_TRY(wmfi_nn_load_conv(p, op, a, 0, b));
      WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, t, cfg.growth, NULL, &t, &op));
      op->kh = op->kw = 3;
      op->pad = 1;
      snprintf(a, sizeof a, "%s.conv2", pre);
      WMFI_TRY(wmfi_nn_load_conv(p, op, a, 0, NULL));
      WMFI_CHECK(op = wmfi_nn_op_add(g, WMFI_NN_COPY, t), WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory");
      op->dst = blk;
      op->c_off = cin;
    }
    c = total;
    x = blk;
    if (k == 3) break;
    /* transition: BN+ReLU, then average pool, then the 1x1 convolution (commuted, see above) */
    snprintf(a, sizeof a, "features.transition%d.norm", k + 1);
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_BNRELU, blk, c, NULL, &t, &op));
    WMFI_TRY(wmfi_nn_load_bn(p, a, c, &op->scale, &op->shift));
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_AVGPOOL, t, c, NULL, &t, &op));
    op->kh = op->kw = op->stride = 2;
    snprintf(a, sizeof a, "features.transition%d", k + 1);
    int half = c / 2;
    snprintf(b, sizeof b, "features.transition%d.conv.weight", k + 1);
    if (inferred) WMFI_TRY(wmfi_nn_dim(p, b, 4, 0, WMFI_NN_MAX_CHANNELS, &half));
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, t, half, a, &x, &op));
    snprintf(b, sizeof b, "features.transition%d.conv", k + 1);
    WMFI_TRY(wmfi_nn_load_conv(p, op, b, 0, NULL));
    c = half;
  }
  /* norm5 + ReLU + global average pool, then the classifier */
  int f;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_GAP, x, c, NULL, &f, &op));
  op->relu = 1;
  WMFI_TRY(wmfi_nn_load_bn(p, "features.norm5", c, &op->scale, &op->shift));
  /* The stage "features.norm5": norm5's output before the ReLU, pooled, as Mark My Words hooks
   * model.features (whose last module is norm5; the ReLU is applied in DenseNet.forward). */
  const float *n5_scale = op->scale, *n5_shift = op->shift;
  int v = wmfi_nn_tensor_add(g, c, "features.norm5");
  WMFI_CHECK(v != WMFI_NN_NONE, WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory");
  g->tensors[v].view_of = x;
  g->tensors[v].view_scale = n5_scale;
  g->tensors[v].view_shift = n5_shift;
  WMFI_TRY(wmfi_nn_add_classifier(g, p, f, classes, "classifier"));
  snprintf(m->arch, sizeof m->arch, "%s", cfg.name);
done:
  return st;
}
