/* ShuffleNet-v2 x0.5 / x1.0 / x1.5 / x2.0 (torchvision names). Each stage starts with a stride-2 block
 * (branch1: depthwise 3x3 + 1x1; branch2: 1x1, depthwise 3x3, 1x1) and continues with stride-1 blocks
 * that split the channels in two halves (chunk), keep the first and run branch2 on the second.
 * torch then concatenates the halves and shuffles the channels (groups of 2): out[2i] = first[i],
 * out[2i + 1] = second[i].
 *
 * Here the block outputs are plain (nchw) tensors in torch's channel order, so that a chunk is a view
 * (WMFI_NN_SLICE: a submemory over the same buffer, no copy, read directly by the 1x1 convolution or
 * reordered once by it when oneDNN has no kernel for the view) and the concatenation and shuffle are one
 * step: each half is written by one reorder into every other channel of the output (WMFI_NN_COPY with
 * c_step 2, a strided destination view). That is the data movement torch.cat alone does; the shuffle
 * costs nothing more. Folding the permutation into the next convolution's weights instead would leave
 * the kept half scattered over the channels after each block, so the concatenation could not be a view
 * of contiguous runs in any layout oneDNN's convolutions read. Features: the 1024 (2048 for x2.0)
 * globally average-pooled values of conv5 that fc reads. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

typedef struct shufflenet_cfg {
  const char *name;
  int repeats[3], channels[5];
  int resize; /* the transforms of torchvision's only weights (IMAGENET1K_V1): resize, crop 224 */
} shufflenet_cfg;

static const shufflenet_cfg known[] = {
  {"shufflenet_v2_x0_5", {4, 8, 4}, {24, 48, 96, 192, 1024}, 256},
  {"shufflenet_v2_x1_0", {4, 8, 4}, {24, 116, 232, 464, 1024}, 256},
  {"shufflenet_v2_x1_5", {4, 8, 4}, {24, 176, 352, 704, 1024}, 232},
  {"shufflenet_v2_x2_0", {4, 8, 4}, {24, 244, 488, 976, 2048}, 232},
};

WMFI_NN_DEFINE_KNOWS(shufflenet, known)

int wmfi_nn_shufflenet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "conv1.0.weight") && wmfi_nn_has(p, "stage2.0.branch1.0.weight") &&
         wmfi_nn_has(p, "conv5.0.weight");
}

/* Repeats and widths from the tensor names and shapes; the name of the known configuration they match. */
static wmf_status infer(const wmfi_nn_params *p, shufflenet_cfg *cfg) {
  char name[96];
  memset(cfg, 0, sizeof *cfg);
  wmf_status st = wmfi_nn_dim(p, "conv1.0.weight", 4, 0, WMFI_NN_MAX_CHANNELS, &cfg->channels[0]);
  for (int s = 0; s < 3 && st == WMF_OK; s++) {
    snprintf(name, sizeof name, "stage%d.", s + 2);
    cfg->repeats[s] = wmfi_nn_count_indexed(p, name, ".branch2.0.weight");
    int half;
    snprintf(name, sizeof name, "stage%d.0.branch2.5.weight", s + 2);
    st = wmfi_nn_dim(p, name, 4, 0, WMFI_NN_MAX_CHANNELS / 2, &half);
    cfg->channels[s + 1] = 2 * half;
  }
  if (st == WMF_OK) st = wmfi_nn_dim(p, "conv5.0.weight", 4, 0, WMFI_NN_MAX_CHANNELS, &cfg->channels[4]);
  cfg->name = "shufflenet-custom";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!memcmp(known[i].repeats, cfg->repeats, sizeof cfg->repeats) &&
        !memcmp(known[i].channels, cfg->channels, sizeof cfg->channels))
      *cfg = known[i];
  return st;
}

/* branch2 (stride 1 or 2) of the block `pre` reading x: `half` channels out. */
static int branch2(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int x, int half, int stride, const char *pre) {
  char c[96], b[96];
  snprintf(c, sizeof c, "%s.branch2.0", pre);
  snprintf(b, sizeof b, "%s.branch2.1", pre);
  x = wmfi_nn_conv_bn(m, p, st, x, half, 1, 1, 1, WMFI_NN_ACT_RELU, WMFI_NN_NONE, c, b);
  snprintf(c, sizeof c, "%s.branch2.3", pre);
  snprintf(b, sizeof b, "%s.branch2.4", pre);
  x = wmfi_nn_conv_bn(m, p, st, x, half, 3, stride, half, WMFI_NN_ACT_NONE, WMFI_NN_NONE, c, b);
  snprintf(c, sizeof c, "%s.branch2.5", pre);
  snprintf(b, sizeof b, "%s.branch2.6", pre);
  return wmfi_nn_conv_bn(m, p, st, x, half, 1, 1, 1, WMFI_NN_ACT_RELU, WMFI_NN_NONE, c, b);
}

/* out = shuffle(cat(first, second)): two strided copies into a new plain tensor. */
static wmf_status interleave(wmfi_nn_graph *g, int first, int second, int *out) {
  wmfi_nn_op *op;
  wmf_status st = wmfi_nn_add(g, WMFI_NN_COPY, first, 2 * g->tensors[first].c, NULL, out, &op);
  if (st != WMF_OK) return st;
  op->c_step = 2;
  g->tensors[*out].block = 1;
  if (!(op = wmfi_nn_op_add(g, WMFI_NN_COPY, second)))
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory");
  op->dst = *out;
  op->cin = op->cout = g->tensors[second].c;
  op->c_off = 1;
  op->c_step = 2;
  return WMF_OK;
}

/* The chunk [c_off, c_off + c) of x as a view. */
static wmf_status slice(wmfi_nn_graph *g, int x, int c_off, int c, int *out) {
  wmfi_nn_op *op;
  wmf_status st = wmfi_nn_add(g, WMFI_NN_SLICE, x, c, NULL, out, &op);
  if (st == WMF_OK) op->c_off = c_off;
  return st;
}

wmf_status wmfi_nn_shufflenet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  shufflenet_cfg cfg;
  WMFI_TRY(infer(p, &cfg));
  WMFI_TRY(wmfi_nn_arch_check(arch, "shufflenet", cfg.name, NULL));
  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  char c[96], b[96], pre[48];
  int x = wmfi_nn_conv_bn(m, p, &st, WMFI_NN_INPUT, cfg.channels[0], 3, 2, 1, WMFI_NN_ACT_RELU, WMFI_NN_NONE,
                          "conv1.0", "conv1.1");
  WMFI_TRY(st);
  snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "conv1");
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_MAXPOOL, x, cfg.channels[0], "maxpool", &x, &op));
  op->kh = op->kw = 3;
  op->stride = 2;
  op->pad = 1;
  for (int s = 0; s < 3; s++) {
    int half = cfg.channels[s + 1] / 2;
    WMFI_CHECK(cfg.repeats[s] > 0, WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: ShuffleNet weights without 'stage%d.0'", s + 2);
    for (int i = 0; i < cfg.repeats[s]; i++) {
      snprintf(pre, sizeof pre, "stage%d.%d", s + 2, i);
      int first, second;
      if (i == 0) { /* stride 2: both branches read the whole input */
        int cin = g->tensors[x].c;
        snprintf(c, sizeof c, "%s.branch1.0", pre);
        snprintf(b, sizeof b, "%s.branch1.1", pre);
        first = wmfi_nn_conv_bn(m, p, &st, x, cin, 3, 2, cin, WMFI_NN_ACT_NONE, WMFI_NN_NONE, c, b);
        snprintf(c, sizeof c, "%s.branch1.2", pre);
        snprintf(b, sizeof b, "%s.branch1.3", pre);
        first = wmfi_nn_conv_bn(m, p, &st, first, half, 1, 1, 1, WMFI_NN_ACT_RELU, WMFI_NN_NONE, c, b);
        second = branch2(m, p, &st, x, half, 2, pre);
      } else { /* stride 1: keep the first half, branch2 on the second */
        int x2;
        WMFI_TRY(slice(g, x, 0, half, &first));
        WMFI_TRY(slice(g, x, half, half, &x2));
        second = branch2(m, p, &st, x2, half, 1, pre);
      }
      WMFI_TRY(st);
      WMFI_TRY(interleave(g, first, second, &x));
    }
    snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "stage%d", s + 2);
  }
  x = wmfi_nn_conv_bn(m, p, &st, x, cfg.channels[4], 1, 1, 1, WMFI_NN_ACT_RELU, WMFI_NN_NONE, "conv5.0", "conv5.1");
  WMFI_TRY(st);
  snprintf(g->tensors[x].stage, sizeof g->tensors[x].stage, "conv5");
  int f, classes;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_GAP, x, cfg.channels[4], NULL, &f, &op));
  WMFI_TRY(wmfi_nn_dim(p, "fc.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  WMFI_TRY(wmfi_nn_add_classifier(g, p, f, classes, "fc"));
  snprintf(m->arch, sizeof m->arch, "%s", cfg.name);
  m->default_resize = cfg.resize;
done:
  return st;
}
