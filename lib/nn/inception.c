/* GoogLeNet and Inception-v3 (torchvision names). Both are stacks of BasicConv2d (convolution without
 * bias, BatchNorm with eps 0.001 folded into it, ReLU post-op) and Inception modules whose branches are
 * concatenated on channels: each branch's output is copied once into its slice of the module's buffer
 * (a memcpy per image when the layouts agree, as DenseNet's blocks). Widths are read from the weights.
 * The auxiliary classifiers (GoogLeNet's aux1, aux2, Inception-v3's AuxLogits) only run in training:
 * their tensors are accepted and ignored by name. torchvision's transform_input (a per-channel affine
 * map of the normalized input) is a 1x1 depthwise convolution in front of the network, exact at the
 * borders (folding it into the first convolution would not be, as that one pads with zeros). Features
 * are the globally average-pooled channels before dropout and fc (1024, 2048). */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

int wmfi_nn_googlenet_knows(const char *arch) {
  return wmfi_nn_arch_config(arch, "googlenet", NULL, 0, 0) != WMFI_NN_ARCH_UNKNOWN;
}
int wmfi_nn_inception_v3_knows(const char *arch) {
  return wmfi_nn_arch_config(arch, "inception_v3", NULL, 0, 0) != WMFI_NN_ARCH_UNKNOWN;
}

int wmfi_nn_googlenet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "inception3a.branch1.conv.weight") && wmfi_nn_has(p, "fc.weight");
}

int wmfi_nn_inception_v3_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "Mixed_5b.branch1x1.conv.weight") && wmfi_nn_has(p, "fc.weight");
}

/* A builder's state: errors are sticky (nothing is added once st is an error), so a module's layers
 * check once, as resnet.c's conv(). */
typedef struct ctx {
  wmf_model *m;
  wmfi_nn_params *p;
  wmf_status st;
} ctx;

/* BasicConv2d `prefix` (prefix.conv, prefix.bn) reading tensor src: kh x kw kernel, padding (ph, pw);
 * its width is read from the weights. Returns the output tensor (stage name or NULL). */
static int basic(ctx *c, int src, int kh, int kw, int stride, int ph, int pw, const char *prefix, const char *stage) {
  if (c->st != WMF_OK) return WMFI_NN_NONE;
  char a[96], b[96];
  int cout, dst;
  wmfi_nn_op *op;
  snprintf(a, sizeof a, "%s.conv.weight", prefix);
  if ((c->st = wmfi_nn_dim(c->p, a, 4, 0, WMFI_NN_MAX_CHANNELS, &cout)) != WMF_OK) return WMFI_NN_NONE;
  if ((c->st = wmfi_nn_add(&c->m->g, WMFI_NN_CONV, src, cout, stage, &dst, &op)) != WMF_OK) return WMFI_NN_NONE;
  op->kh = kh;
  op->kw = kw;
  op->stride = stride;
  op->pad_h = ph;
  op->pad_w = pw;
  op->relu = 1;
  snprintf(a, sizeof a, "%s.conv", prefix);
  snprintf(b, sizeof b, "%s.bn", prefix);
  c->st = wmfi_nn_load_conv(c->p, op, a, 0, b);
  return c->st == WMF_OK ? dst : WMFI_NN_NONE;
}

/* A square BasicConv2d with the same padding on both axes. */
static int sq(ctx *c, int src, int k, int stride, int pad, const char *pre, const char *name) {
  char full[96];
  snprintf(full, sizeof full, "%s%s%s", pre, pre[0] ? "." : "", name);
  return basic(c, src, k, k, stride, pad, pad, full, pre[0] ? NULL : name);
}

/* A 1xk (wide) or kx1 (tall) BasicConv2d with torch's "same" padding. */
static int strip(ctx *c, int src, int k, int wide, const char *pre, const char *name) {
  char full[96];
  snprintf(full, sizeof full, "%s.%s", pre, name);
  return wide ? basic(c, src, 1, k, 1, 0, k / 2, full, NULL) : basic(c, src, k, 1, 1, k / 2, 0, full, NULL);
}

static int pool(ctx *c, wmfi_nn_kind kind, int src, int k, int stride, int pad, int ceil_mode, const char *stage) {
  if (c->st != WMF_OK) return WMFI_NN_NONE;
  wmfi_nn_op *op;
  int dst;
  if ((c->st = wmfi_nn_add(&c->m->g, kind, src, c->m->g.tensors[src].c, stage, &dst, &op)) != WMF_OK)
    return WMFI_NN_NONE;
  op->kh = op->kw = k;
  op->stride = stride;
  op->pad = pad;
  op->ceil_mode = ceil_mode;
  return dst;
}

/* torch.cat(parts, 1): one buffer (stage `stage`) with each part copied into its channel slice. */
static int concat(ctx *c, const int *parts, int n, const char *stage) {
  if (c->st != WMF_OK) return WMFI_NN_NONE;
  wmfi_nn_graph *g = &c->m->g;
  int64_t total = 0;
  int aligned = 1;
  for (int i = 0; i < n; i++) {
    aligned &= total % 16 == 0;
    total += g->tensors[parts[i]].c;
  }
  if ((c->st = wmfi_nn_check_channels(total, stage)) != WMF_OK) return WMFI_NN_NONE;
  wmfi_nn_op *op;
  int blk, off = 0;
  if ((c->st = wmfi_nn_add(g, WMFI_NN_COPY, parts[0], (int)total, stage, &blk, &op)) != WMF_OK) return WMFI_NN_NONE;
  g->tensors[blk].block = 1;
  g->tensors[blk].block16 = aligned && total % 16 == 0;
  for (int i = 1; i < n; i++) {
    off += g->tensors[parts[i - 1]].c;
    if (!(op = wmfi_nn_op_add(g, WMFI_NN_COPY, parts[i]))) {
      c->st = wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory");
      return WMFI_NN_NONE;
    }
    op->dst = blk;
    op->cin = op->cout = g->tensors[parts[i]].c;
    op->c_off = off;
  }
  return blk;
}

/* The input re-normalization of torchvision's transform_input, when the option asks for it (default
 * on): x_ch * (std_ch / 0.5) + (mean_ch - 0.5) / 0.5. */
static int transform_input(ctx *c) {
  if (c->m->transform_input == WMF_TRANSFORM_INPUT_OFF) return WMFI_NN_INPUT;
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  wmfi_nn_op *op;
  int dst;
  if ((c->st = wmfi_nn_add(&c->m->g, WMFI_NN_CONV, WMFI_NN_INPUT, 3, NULL, &dst, &op)) != WMF_OK) return WMFI_NN_NONE;
  op->groups = 3;
  op->w = wmfi_alloc_array(3, sizeof(float));
  op->b = wmfi_alloc_array(3, sizeof(float));
  if (!op->w || !op->b) {
    c->st = wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory");
    return WMFI_NN_NONE;
  }
  for (int i = 0; i < 3; i++) {
    op->w[i] = (float)(std[i] / 0.5);
    op->b[i] = (float)((mean[i] - 0.5) / 0.5);
  }
  return dst;
}

/* The layers before the first Inception module: BasicConv2d (named) and max pools (a NULL conv name,
 * stage `pool`), torch's ceil_mode for the pools or not. */
typedef struct stem_layer {
  const char *conv, *pool;
  int k, stride, pad;
} stem_layer;

static int stem(ctx *c, const stem_layer *layers, int n, int ceil_mode) {
  c->p->bn_eps = 1e-3; /* BasicConv2d's BatchNorm */
  int x = transform_input(c);
  for (int i = 0; i < n; i++) {
    const stem_layer *l = &layers[i];
    x = l->conv ? sq(c, x, l->k, l->stride, l->pad, "", l->conv)
                : pool(c, WMFI_NN_MAXPOOL, x, l->k, l->stride, l->pad, ceil_mode, l->pool);
  }
  return x;
}

/* The last step of both: global average pool and fc, outputs and the training-only tensors ignored. */
static wmf_status head(ctx *c, int x, const char *const *aux, int n_aux) {
  if (c->st != WMF_OK) return c->st;
  wmfi_nn_op *op;
  int classes, f;
  wmf_status st = wmfi_nn_dim(c->p, "fc.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes);
  if (st == WMF_OK) st = wmfi_nn_add(&c->m->g, WMFI_NN_GAP, x, c->m->g.tensors[x].c, NULL, &f, &op);
  if (st == WMF_OK) st = wmfi_nn_add_classifier(&c->m->g, c->p, f, classes, "fc");
  for (int i = 0; i < n_aux; i++) wmfi_nn_ignore_prefix(c->p, aux[i]);
  return st;
}

/* GoogLeNet's Inception module: 1x1 | 1x1, 3x3 | 1x1, 3x3 (torchvision's "5x5" branch) | 3x3 max pool
 * (stride 1, ceil mode), 1x1. */
static int googlenet_module(ctx *c, int x, const char *pre) {
  int parts[4];
  parts[0] = sq(c, x, 1, 1, 0, pre, "branch1");
  parts[1] = sq(c, sq(c, x, 1, 1, 0, pre, "branch2.0"), 3, 1, 1, pre, "branch2.1");
  parts[2] = sq(c, sq(c, x, 1, 1, 0, pre, "branch3.0"), 3, 1, 1, pre, "branch3.1");
  parts[3] = sq(c, pool(c, WMFI_NN_MAXPOOL, x, 3, 1, 1, 1, NULL), 1, 1, 0, pre, "branch4.1");
  return concat(c, parts, 4, pre);
}

wmf_status wmfi_nn_googlenet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  (void)arch;
  static const stem_layer layers[] = {{"conv1", NULL, 7, 2, 3}, {NULL, "maxpool1", 3, 2, 0}, {"conv2", NULL, 1, 1, 0},
                                      {"conv3", NULL, 3, 1, 1}, {NULL, "maxpool2", 3, 2, 0}};
  ctx c = {m, p, WMF_OK};
  int x = stem(&c, layers, 5, 1);
  x = googlenet_module(&c, x, "inception3a");
  x = googlenet_module(&c, x, "inception3b");
  x = pool(&c, WMFI_NN_MAXPOOL, x, 3, 2, 0, 1, "maxpool3");
  static const char *const four[5] = {"inception4a", "inception4b", "inception4c", "inception4d", "inception4e"};
  for (int i = 0; i < 5; i++) x = googlenet_module(&c, x, four[i]);
  x = pool(&c, WMFI_NN_MAXPOOL, x, 2, 2, 0, 1, "maxpool4");
  x = googlenet_module(&c, x, "inception5a");
  x = googlenet_module(&c, x, "inception5b");
  static const char *const aux[2] = {"aux1.", "aux2."};
  wmf_status st = head(&c, x, aux, 2);
  snprintf(m->arch, sizeof m->arch, "googlenet");
  return st;
}

/* Inception-v3's modules A (Mixed_5*), B (6a), C (6b-6e), D (7a), E (7b, 7c). */
static int mixed_a(ctx *c, int x, const char *pre) {
  int parts[4];
  parts[0] = sq(c, x, 1, 1, 0, pre, "branch1x1");
  parts[1] = sq(c, sq(c, x, 1, 1, 0, pre, "branch5x5_1"), 5, 1, 2, pre, "branch5x5_2");
  int d = sq(c, x, 1, 1, 0, pre, "branch3x3dbl_1");
  parts[2] = sq(c, sq(c, d, 3, 1, 1, pre, "branch3x3dbl_2"), 3, 1, 1, pre, "branch3x3dbl_3");
  parts[3] = sq(c, pool(c, WMFI_NN_AVGPOOL, x, 3, 1, 1, 0, NULL), 1, 1, 0, pre, "branch_pool");
  return concat(c, parts, 4, pre);
}

static int mixed_b(ctx *c, int x, const char *pre) {
  int parts[3];
  parts[0] = sq(c, x, 3, 2, 0, pre, "branch3x3");
  int d = sq(c, sq(c, x, 1, 1, 0, pre, "branch3x3dbl_1"), 3, 1, 1, pre, "branch3x3dbl_2");
  parts[1] = sq(c, d, 3, 2, 0, pre, "branch3x3dbl_3");
  parts[2] = pool(c, WMFI_NN_MAXPOOL, x, 3, 2, 0, 0, NULL);
  return concat(c, parts, 3, pre);
}

static int mixed_c(ctx *c, int x, const char *pre) {
  int parts[4];
  parts[0] = sq(c, x, 1, 1, 0, pre, "branch1x1");
  int b = sq(c, x, 1, 1, 0, pre, "branch7x7_1");
  parts[1] = strip(c, strip(c, b, 7, 1, pre, "branch7x7_2"), 7, 0, pre, "branch7x7_3");
  int d = sq(c, x, 1, 1, 0, pre, "branch7x7dbl_1");
  d = strip(c, strip(c, d, 7, 0, pre, "branch7x7dbl_2"), 7, 1, pre, "branch7x7dbl_3");
  parts[2] = strip(c, strip(c, d, 7, 0, pre, "branch7x7dbl_4"), 7, 1, pre, "branch7x7dbl_5");
  parts[3] = sq(c, pool(c, WMFI_NN_AVGPOOL, x, 3, 1, 1, 0, NULL), 1, 1, 0, pre, "branch_pool");
  return concat(c, parts, 4, pre);
}

static int mixed_d(ctx *c, int x, const char *pre) {
  int parts[3];
  parts[0] = sq(c, sq(c, x, 1, 1, 0, pre, "branch3x3_1"), 3, 2, 0, pre, "branch3x3_2");
  int b = sq(c, x, 1, 1, 0, pre, "branch7x7x3_1");
  b = strip(c, strip(c, b, 7, 1, pre, "branch7x7x3_2"), 7, 0, pre, "branch7x7x3_3");
  parts[1] = sq(c, b, 3, 2, 0, pre, "branch7x7x3_4");
  parts[2] = pool(c, WMFI_NN_MAXPOOL, x, 3, 2, 0, 0, NULL);
  return concat(c, parts, 3, pre);
}

/* E: the two 1x3 / 3x1 pairs are concatenations themselves; flattened, the channel order is the same. */
static int mixed_e(ctx *c, int x, const char *pre) {
  int parts[6];
  parts[0] = sq(c, x, 1, 1, 0, pre, "branch1x1");
  int b = sq(c, x, 1, 1, 0, pre, "branch3x3_1");
  parts[1] = strip(c, b, 3, 1, pre, "branch3x3_2a");
  parts[2] = strip(c, b, 3, 0, pre, "branch3x3_2b");
  int d = sq(c, sq(c, x, 1, 1, 0, pre, "branch3x3dbl_1"), 3, 1, 1, pre, "branch3x3dbl_2");
  parts[3] = strip(c, d, 3, 1, pre, "branch3x3dbl_3a");
  parts[4] = strip(c, d, 3, 0, pre, "branch3x3dbl_3b");
  parts[5] = sq(c, pool(c, WMFI_NN_AVGPOOL, x, 3, 1, 1, 0, NULL), 1, 1, 0, pre, "branch_pool");
  return concat(c, parts, 6, pre);
}

wmf_status wmfi_nn_inception_v3_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  (void)arch;
  static const stem_layer layers[] = {{"Conv2d_1a_3x3", NULL, 3, 2, 0}, {"Conv2d_2a_3x3", NULL, 3, 1, 0},
                                      {"Conv2d_2b_3x3", NULL, 3, 1, 1}, {NULL, "maxpool1", 3, 2, 0},
                                      {"Conv2d_3b_1x1", NULL, 1, 1, 0}, {"Conv2d_4a_3x3", NULL, 3, 1, 0},
                                      {NULL, "maxpool2", 3, 2, 0}};
  ctx c = {m, p, WMF_OK};
  int x = stem(&c, layers, 7, 0);
  x = mixed_a(&c, x, "Mixed_5b");
  x = mixed_a(&c, x, "Mixed_5c");
  x = mixed_a(&c, x, "Mixed_5d");
  x = mixed_b(&c, x, "Mixed_6a");
  static const char *const six[4] = {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"};
  for (int i = 0; i < 4; i++) x = mixed_c(&c, x, six[i]);
  x = mixed_d(&c, x, "Mixed_7a");
  x = mixed_e(&c, x, "Mixed_7b");
  x = mixed_e(&c, x, "Mixed_7c");
  static const char *const aux[1] = {"AuxLogits."};
  wmf_status st = head(&c, x, aux, 1);
  m->default_input = 299;
  m->default_resize = 342;
  snprintf(m->arch, sizeof m->arch, "inception_v3");
  return st;
}
