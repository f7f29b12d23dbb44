/* ConvNeXt tiny / small / base / large (torchvision names). features.0: a 4x4 stride-4 convolution with
 * bias and a LayerNorm2d (LayerNorm over the channels of each pixel, eps 1e-6); then four stages
 * features.1, .3, .5, .7 of CNBlocks, with a downsampling features.2, .4, .6 between them (LayerNorm2d,
 * then a 2x2 stride-2 convolution with bias). A CNBlock `b`: b.block.0, a depthwise 7x7 convolution with
 * bias; b.block.2, LayerNorm over the channels (eps 1e-6); b.block.3, Linear C -> 4C; GELU (erf);
 * b.block.5, Linear 4C -> C; times b.layer_scale (per channel) plus the block's input. Stochastic depth
 * is the identity in eval mode. Head: global average pool, classifier.0 (LayerNorm2d on the pooled
 * 1x1 map), classifier.2 (Linear). Features: the input of classifier.2 (the pooled values after
 * classifier.0).
 *
 * Layout: every image tensor of the network is kept channels-last (nhwc; wmfi_nn_tensor.channels_last),
 * so that the depthwise convolution, the LayerNorm and both linear layers read and write one layout with
 * no reorder between them (the only activation reorder is the stem's output, whose 3-channel convolution
 * has no nhwc kernel). A LayerNorm over the channels of a pixel is then oneDNN's layer normalization of the
 * same bytes seen as an (N, H, W, C) tensor: it normalizes the last logical dimension (plan.c,
 * build_layernorm). The linear layers are 1x1 convolutions on nhwc, GELU and the residual sum being their
 * post-ops: measured against per-image matmuls on the same rows (oneDNN 2.6, AVX2, one thread, best of
 * 150 alternating runs, ConvNeXt-T's eight shapes) the 1x1 convolution (jit_1x1) took 2.7 to 6.9 ms
 * where the matmul (gemm:jit) took 2.9 to 10.4 ms, slowest with GELU; never slower. The layer scale
 * folds into the second linear layer's rows and bias (gamma * (W x + b) = (gamma W) x + gamma b, exact
 * up to rounding). The stage widths
 * and depths come from the weights; the block settings of torchvision's four variants name them. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

enum { STAGES = 4 };

typedef struct convnext_cfg {
  const char *name;
  int depths[STAGES], widths[STAGES];
  int resize; /* torchvision's weights transforms: resize_size (crop 224, bilinear) */
} convnext_cfg;

static const convnext_cfg known[] = {
  {"convnext_tiny", {3, 3, 9, 3}, {96, 192, 384, 768}, 236},
  {"convnext_small", {3, 3, 27, 3}, {96, 192, 384, 768}, 230},
  {"convnext_base", {3, 3, 27, 3}, {128, 256, 512, 1024}, 232},
  {"convnext_large", {3, 3, 27, 3}, {192, 384, 768, 1536}, 232},
};

WMFI_NN_DEFINE_KNOWS(convnext, known)

int wmfi_nn_convnext_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "features.0.0.weight") && wmfi_nn_has(p, "features.1.0.layer_scale") &&
         wmfi_nn_has(p, "features.1.0.block.0.weight");
}

/* Depths and widths from the tensor names and shapes (stage s is features.(2 s + 1), its width the
 * depthwise convolution's channels); the name of the known configuration they match. */
static wmf_status infer(const wmfi_nn_params *p, convnext_cfg *cfg) {
  wmf_status st = WMF_OK;
  char name[96];
  memset(cfg, 0, sizeof *cfg);
  for (int s = 0; s < STAGES; s++) {
    snprintf(name, sizeof name, "features.%d.", 2 * s + 1);
    cfg->depths[s] = wmfi_nn_count_indexed(p, name, ".layer_scale");
    WMFI_CHECK(cfg->depths[s], WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: ConvNeXt weights without 'features.%d.0...' "
               "(four stages of CNBlocks)", 2 * s + 1);
    snprintf(name, sizeof name, "features.%d.0.block.0.weight", 2 * s + 1);
    WMFI_TRY(wmfi_nn_dim(p, name, 4, 0, WMFI_NN_MAX_CHANNELS / 4, &cfg->widths[s]));
  }
  cfg->name = "convnext-custom";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!memcmp(known[i].depths, cfg->depths, sizeof cfg->depths) &&
        !memcmp(known[i].widths, cfg->widths, sizeof cfg->widths))
      *cfg = known[i];
done:
  return st;
}

/* A convolution `prefix` (weight and bias) of k x k, stride, padding and groups, into a new channels-last
 * tensor of cout channels. */
static wmf_status conv(wmfi_nn_graph *g, wmfi_nn_params *p, int src, int cout, int k, int stride, int pad, int groups,
                       const char *prefix, int *out) {
  wmf_status st = WMF_OK;
  wmfi_nn_op *op;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, src, cout, NULL, out, &op));
  op->kh = op->kw = k;
  op->stride = stride;
  op->pad = pad;
  op->groups = groups;
  g->tensors[*out].channels_last = 1;
  WMFI_TRY(wmfi_nn_load_conv(p, op, prefix, 1, NULL));
done:
  return st;
}

/* Linear layer `prefix` (weight [cout, cin], bias) on every pixel of src as a 1x1 convolution into a new
 * channels-last tensor, with activation `act` and the sum of `residual` (or WMFI_NN_NONE) as post-ops. */
static wmf_status pointwise(wmfi_nn_graph *g, wmfi_nn_params *p, int src, int cout, const char *prefix, int act,
                            int residual, int *out) {
  wmf_status st = WMF_OK;
  wmfi_nn_op *op;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, src, cout, NULL, out, &op));
  op->relu = act;
  op->residual = residual;
  g->tensors[*out].channels_last = 1;
  WMFI_TRY(wmfi_nn_load_fc(p, op, prefix)); /* [cout, cin] is the 1x1 convolution's oihw */
done:
  return st;
}

/* CNBlock `prefix` on x: the sum, in x's buffer, as a new tensor *out. */
static wmf_status cn_block(wmf_model *m, wmfi_nn_params *p, int x, const char *prefix, int *out) {
  wmf_status st = WMF_OK;
  wmfi_nn_graph *g = &m->g;
  char name[128];
  int c = g->tensors[x].c, y;
  float *gamma = NULL;
  snprintf(name, sizeof name, "%s.block.0", prefix);
  WMFI_TRY(conv(g, p, x, c, 7, 1, 3, c, name, &y));
  snprintf(name, sizeof name, "%s.block.2", prefix);
  WMFI_TRY(wmfi_nn_add_layernorm(g, p, y, name, &y));
  snprintf(name, sizeof name, "%s.block.3", prefix);
  WMFI_TRY(pointwise(g, p, y, 4 * c, name, WMFI_NN_ACT_GELU, WMFI_NN_NONE, &y));
  snprintf(name, sizeof name, "%s.block.5", prefix);
  WMFI_TRY(pointwise(g, p, y, c, name, WMFI_NN_ACT_NONE, x, out));
  snprintf(name, sizeof name, "%s.layer_scale", prefix);
  int64_t dims[3] = {c, 1, 1};
  WMFI_TRY(wmfi_nn_get(p, name, 3, dims, &gamma));
  wmfi_nn_op *fc2 = &g->ops[g->n_ops - 1]; /* fold the layer scale into block.5's rows and bias */
  for (int o = 0; o < c; o++) {
    for (int i = 0; i < 4 * c; i++) fc2->w[(size_t)o * 4 * c + i] *= gamma[o];
    fc2->b[o] *= gamma[o];
  }
done:
  wmfi_free(gamma);
  return st;
}

wmf_status wmfi_nn_convnext_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  convnext_cfg cfg;
  WMFI_TRY(infer(p, &cfg));
  char what[160];
  snprintf(what, sizeof what, "a %s (stage depths %d, %d, %d, %d, widths %d, %d, %d, %d)", cfg.name, cfg.depths[0],
           cfg.depths[1], cfg.depths[2], cfg.depths[3], cfg.widths[0], cfg.widths[1], cfg.widths[2], cfg.widths[3]);
  WMFI_TRY(wmfi_nn_arch_check(arch, "convnext", cfg.name, what));
  wmfi_nn_graph *g = &m->g;
  char name[64], prefix[64];
  int x, classes;
  WMFI_TRY(conv(g, p, WMFI_NN_INPUT, cfg.widths[0], 4, 4, 0, 1, "features.0.0", &x));
  WMFI_TRY(wmfi_nn_add_layernorm(g, p, x, "features.0.1", &x));
  for (int s = 0; s < STAGES; s++) {
    if (s) { /* features.(2 s): LayerNorm2d and the 2x2 stride-2 convolution to this stage's width */
      snprintf(name, sizeof name, "features.%d.0", 2 * s);
      WMFI_TRY(wmfi_nn_add_layernorm(g, p, x, name, &x));
      snprintf(name, sizeof name, "features.%d.1", 2 * s);
      WMFI_TRY(conv(g, p, x, cfg.widths[s], 2, 2, 0, 1, name, &x));
    }
    for (int b = 0; b < cfg.depths[s]; b++) {
      snprintf(prefix, sizeof prefix, "features.%d.%d", 2 * s + 1, b);
      WMFI_TRY(cn_block(m, p, x, prefix, &x));
    }
    /* the stage's output, a session stage under torchvision's module name */
    snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "features.%d", 2 * s + 1);
  }
  /* avgpool, then classifier.0 (LayerNorm2d of a 1x1 map: a LayerNorm of the pooled row) */
  wmfi_nn_op *op;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_GAP, x, g->tensors[x].c, NULL, &x, &op));
  WMFI_TRY(wmfi_nn_add_layernorm(g, p, x, "classifier.0", &x));
  WMFI_TRY(wmfi_nn_dim(p, "classifier.2.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  WMFI_TRY(wmfi_nn_add_classifier(g, p, x, classes, "classifier.2"));
  m->default_resize = cfg.resize;
  snprintf(m->arch, sizeof m->arch, "%s", cfg.name);
done:
  return st;
}
