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

/* One step of an Inception module, the modules being tables of these in torchvision's order: a
 * BasicConv2d `name` (kh x kw, stride; torch's "same" padding at stride 1, none at stride 2) reading the
 * module's input (IN), the input after a 3x3 stride-1 pool (AVG: average, padding 1; MAX: max, padding 1,
 * ceil mode, GoogLeNet's) or the output of the module's step `from`; with `part`, its output is the next of
 * the parts concatenated on channels. A step without a name is the part Inception-v3's B and D modules take
 * from their input directly: a 3x3 stride-2 max pool. */
typedef struct module_step {
  const char *name;
  int kh, kw, stride, from, part;
} module_step;
enum { IN = -1, AVG = -2, MAX = -3, MAX_STEPS = 10 };

static int module(ctx *c, int x, const char *pre, const module_step *steps, int n) {
  int out[MAX_STEPS], parts[MAX_STEPS], n_parts = 0;
  char full[96];
  for (int i = 0; i < n; i++) {
    const module_step *s = &steps[i];
    if (!s->name) {
      out[i] = pool(c, WMFI_NN_MAXPOOL, x, 3, 2, 0, 0, NULL);
    } else {
      int src = s->from >= 0 ? out[s->from] : x, same = s->stride == 1;
      if (s->from == AVG || s->from == MAX)
        src = pool(c, s->from == AVG ? WMFI_NN_AVGPOOL : WMFI_NN_MAXPOOL, x, 3, 1, 1, s->from == MAX, NULL);
      snprintf(full, sizeof full, "%s.%s", pre, s->name);
      out[i] = basic(c, src, s->kh, s->kw, s->stride, same ? s->kh / 2 : 0, same ? s->kw / 2 : 0, full, NULL);
    }
    if (s->part) parts[n_parts++] = out[i];
  }
  return concat(c, parts, n_parts, pre);
}
#define MODULE(c, x, pre, steps) module((c), (x), (pre), (steps), (int)(sizeof(steps) / sizeof((steps)[0])))

/* GoogLeNet's Inception module: 1x1 | 1x1, 3x3 | 1x1, 3x3 (torchvision's "5x5" branch) | 3x3 max pool
 * (stride 1, ceil mode), 1x1. */
static const module_step googlenet_module[] = {
  {"branch1", 1, 1, 1, IN, 1},   {"branch2.0", 1, 1, 1, IN, 0}, {"branch2.1", 3, 3, 1, 1, 1},
  {"branch3.0", 1, 1, 1, IN, 0}, {"branch3.1", 3, 3, 1, 3, 1}, {"branch4.1", 1, 1, 1, MAX, 1},
};

wmf_status wmfi_nn_googlenet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  (void)arch;
  static const stem_layer layers[] = {{"conv1", NULL, 7, 2, 3}, {NULL, "maxpool1", 3, 2, 0}, {"conv2", NULL, 1, 1, 0},
                                      {"conv3", NULL, 3, 1, 1}, {NULL, "maxpool2", 3, 2, 0}};
  ctx c = {m, p, WMF_OK};
  int x = stem(&c, layers, 5, 1);
  x = MODULE(&c, x, "inception3a", googlenet_module);
  x = MODULE(&c, x, "inception3b", googlenet_module);
  x = pool(&c, WMFI_NN_MAXPOOL, x, 3, 2, 0, 1, "maxpool3");
  static const char *const four[5] = {"inception4a", "inception4b", "inception4c", "inception4d", "inception4e"};
  for (int i = 0; i < 5; i++) x = MODULE(&c, x, four[i], googlenet_module);
  x = pool(&c, WMFI_NN_MAXPOOL, x, 2, 2, 0, 1, "maxpool4");
  x = MODULE(&c, x, "inception5a", googlenet_module);
  x = MODULE(&c, x, "inception5b", googlenet_module);
  static const char *const aux[2] = {"aux1.", "aux2."};
  wmf_status st = head(&c, x, aux, 2);
  snprintf(m->arch, sizeof m->arch, "googlenet");
  return st;
}

/* Inception-v3's modules A (Mixed_5*), B (6a), C (6b-6e), D (7a), E (7b, 7c). E's two 1x3 / 3x1 pairs are
 * concatenations themselves; flattened, the channel order is the same. */
static const module_step mixed_a[] = {
  {"branch1x1", 1, 1, 1, IN, 1},      {"branch5x5_1", 1, 1, 1, IN, 0},    {"branch5x5_2", 5, 5, 1, 1, 1},
  {"branch3x3dbl_1", 1, 1, 1, IN, 0}, {"branch3x3dbl_2", 3, 3, 1, 3, 0},  {"branch3x3dbl_3", 3, 3, 1, 4, 1},
  {"branch_pool", 1, 1, 1, AVG, 1},
};
static const module_step mixed_b[] = {
  {"branch3x3", 3, 3, 2, IN, 1},      {"branch3x3dbl_1", 1, 1, 1, IN, 0}, {"branch3x3dbl_2", 3, 3, 1, 1, 0},
  {"branch3x3dbl_3", 3, 3, 2, 2, 1},  {NULL, 0, 0, 0, IN, 1},
};
static const module_step mixed_c[] = {
  {"branch1x1", 1, 1, 1, IN, 1},      {"branch7x7_1", 1, 1, 1, IN, 0},    {"branch7x7_2", 1, 7, 1, 1, 0},
  {"branch7x7_3", 7, 1, 1, 2, 1},     {"branch7x7dbl_1", 1, 1, 1, IN, 0}, {"branch7x7dbl_2", 7, 1, 1, 4, 0},
  {"branch7x7dbl_3", 1, 7, 1, 5, 0},  {"branch7x7dbl_4", 7, 1, 1, 6, 0},  {"branch7x7dbl_5", 1, 7, 1, 7, 1},
  {"branch_pool", 1, 1, 1, AVG, 1},
};
static const module_step mixed_d[] = {
  {"branch3x3_1", 1, 1, 1, IN, 0},    {"branch3x3_2", 3, 3, 2, 0, 1},     {"branch7x7x3_1", 1, 1, 1, IN, 0},
  {"branch7x7x3_2", 1, 7, 1, 2, 0},   {"branch7x7x3_3", 7, 1, 1, 3, 0},   {"branch7x7x3_4", 3, 3, 2, 4, 1},
  {NULL, 0, 0, 0, IN, 1},
};
static const module_step mixed_e[] = {
  {"branch1x1", 1, 1, 1, IN, 1},      {"branch3x3_1", 1, 1, 1, IN, 0},    {"branch3x3_2a", 1, 3, 1, 1, 1},
  {"branch3x3_2b", 3, 1, 1, 1, 1},    {"branch3x3dbl_1", 1, 1, 1, IN, 0}, {"branch3x3dbl_2", 3, 3, 1, 4, 0},
  {"branch3x3dbl_3a", 1, 3, 1, 5, 1}, {"branch3x3dbl_3b", 3, 1, 1, 5, 1}, {"branch_pool", 1, 1, 1, AVG, 1},
};

wmf_status wmfi_nn_inception_v3_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  (void)arch;
  static const stem_layer layers[] = {{"Conv2d_1a_3x3", NULL, 3, 2, 0}, {"Conv2d_2a_3x3", NULL, 3, 1, 0},
                                      {"Conv2d_2b_3x3", NULL, 3, 1, 1}, {NULL, "maxpool1", 3, 2, 0},
                                      {"Conv2d_3b_1x1", NULL, 1, 1, 0}, {"Conv2d_4a_3x3", NULL, 3, 1, 0},
                                      {NULL, "maxpool2", 3, 2, 0}};
  ctx c = {m, p, WMF_OK};
  int x = stem(&c, layers, 7, 0);
  x = MODULE(&c, x, "Mixed_5b", mixed_a);
  x = MODULE(&c, x, "Mixed_5c", mixed_a);
  x = MODULE(&c, x, "Mixed_5d", mixed_a);
  x = MODULE(&c, x, "Mixed_6a", mixed_b);
  static const char *const six[4] = {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"};
  for (int i = 0; i < 4; i++) x = MODULE(&c, x, six[i], mixed_c);
  x = MODULE(&c, x, "Mixed_7a", mixed_d);
  x = MODULE(&c, x, "Mixed_7b", mixed_e);
  x = MODULE(&c, x, "Mixed_7c", mixed_e);
  static const char *const aux[1] = {"AuxLogits."};
  wmf_status st = head(&c, x, aux, 1);
  m->default_input = 299;
  m->default_resize = 342;
  snprintf(m->arch, sizeof m->arch, "inception_v3");
  return st;
}
