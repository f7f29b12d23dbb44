/* VGG (torchvision names): 3x3 convolutions with bias, optional BatchNorm (folded), ReLU post-ops,
 * 2x2 max pools, adaptive average pool to 7x7, then the three linear layers. Features are the 4096
 * values after classifier[:-1] (the second ReLU). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define M_ -1 /* a max pool in a configuration */
typedef struct vgg_cfg {
  const char *name;
  int n;
  int layers[24];
} vgg_cfg;

static const vgg_cfg known[] = {
    {"vgg11", 13, {64, M_, 128, M_, 256, 256, M_, 512, 512, M_, 512, 512, M_}},
    {"vgg13", 15, {64, 64, M_, 128, 128, M_, 256, 256, M_, 512, 512, M_, 512, 512, M_}},
    {"vgg16", 18, {64, 64, M_, 128, 128, M_, 256, 256, 256, M_, 512, 512, 512, M_, 512, 512, 512, M_}},
    {"vgg19", 21, {64, 64, M_, 128, 128, M_, 256, 256, 256, 256, M_, 512, 512, 512, 512, M_, 512, 512, 512, 512, M_}},
};

/* WMFI_NN_ARCH_CONFIG of a VGG name, where a configuration's name may end in "_bn" (*bn set then). */
static int vgg_config(const char *arch, int *bn) {
  size_t len = arch ? strlen(arch) : 0;
  char base[16];
  *bn = len > 3 && len - 3 < sizeof base && !strcmp(arch + len - 3, "_bn");
  if (!*bn) return WMFI_NN_ARCH_CONFIG(arch, "vgg", known);
  memcpy(base, arch, len - 3);
  base[len - 3] = 0;
  int k = WMFI_NN_ARCH_CONFIG(base, "vgg", known);
  return k >= 0 ? k : WMFI_NN_ARCH_UNKNOWN; /* "vgg_bn" is no name */
}

int wmfi_nn_vgg_knows(const char *arch) {
  int bn;
  return vgg_config(arch, &bn) != WMFI_NN_ARCH_UNKNOWN;
}

int wmfi_nn_vgg_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "features.0.weight") && wmfi_nn_has(p, "classifier.0.weight") &&
         wmfi_nn_has(p, "classifier.6.weight");
}

/* Reads the layer list from features.N: a 4-D weight is a conv (followed by a BN when N+1 has running
 * statistics, then a ReLU), an index without tensors a max pool; the last pool has no tensors. */
static wmf_status infer(const wmfi_nn_params *p, vgg_cfg *cfg, int *bn) {
  int max_index = -1;
  for (size_t i = 0; i < p->count; i++) {
    wmf_tensor_info info;
    if (wmf_weights_info(p->w, i, &info) != WMF_OK || strncmp(info.name, "features.", 9)) continue;
    int idx = atoi(info.name + 9);
    if (idx > max_index) max_index = idx;
  }
  memset(cfg, 0, sizeof *cfg);
  *bn = wmfi_nn_has(p, "features.1.running_mean");
  char name[64];
  int64_t s[8];
  for (int idx = 0; idx <= max_index;) {
    if (cfg->n >= 23) return wmfi_fail(WMF_ERR_UNSUPPORTED, "wmf_model_load: VGG with more than 23 layers");
    snprintf(name, sizeof name, "features.%d.weight", idx);
    if (wmfi_nn_shape(p, name, s) == 4) {
      wmf_status st = wmfi_nn_dim(p, name, 4, 0, WMFI_NN_MAX_CHANNELS, &cfg->layers[cfg->n++]);
      if (st != WMF_OK) return st;
      idx += *bn ? 3 : 2;
    } else {
      cfg->layers[cfg->n++] = M_;
      idx += 1;
    }
  }
  cfg->layers[cfg->n++] = M_;
  cfg->name = "vgg-custom";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (known[i].n == cfg->n && !memcmp(known[i].layers, cfg->layers, sizeof cfg->layers)) cfg->name = known[i].name;
  return WMF_OK;
}

wmf_status wmfi_nn_vgg_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  vgg_cfg cfg;
  int bn, k = vgg_config(arch, &bn);
  WMFI_CHECK(k != WMFI_NN_ARCH_UNKNOWN, WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: '%s' is not a VGG", arch);
  if (k == WMFI_NN_ARCH_INFER) WMFI_TRY(infer(p, &cfg, &bn));
  else cfg = known[k];
  /* every size read from the weights is checked before anything is built */
  int hidden, classes;
  WMFI_TRY(wmfi_nn_dim(p, "classifier.0.weight", 2, 0, WMFI_NN_MAX_CHANNELS, &hidden));
  WMFI_TRY(wmfi_nn_dim(p, "classifier.6.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  char a[64], b[64], stage[48];
  int x = WMFI_NN_INPUT, idx = 0;
  for (int i = 0; i < cfg.n; i++) {
    int v = cfg.layers[i];
    if (v == M_) {
      snprintf(stage, sizeof stage, "features.%d", idx);
      WMFI_TRY(wmfi_nn_add(g, WMFI_NN_MAXPOOL, x, g->tensors[x].c, stage, &x, &op));
      op->kh = op->kw = op->stride = 2;
      idx += 1;
      continue;
    }
    snprintf(stage, sizeof stage, "features.%d", idx + (bn ? 2 : 1));
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, x, v, stage, &x, &op));
    op->kh = op->kw = 3;
    op->pad = 1;
    op->relu = 1;
    snprintf(a, sizeof a, "features.%d", idx);
    snprintf(b, sizeof b, "features.%d", idx + 1);
    WMFI_TRY(wmfi_nn_load_conv(p, op, a, 1, bn ? b : NULL));
    idx += bn ? 3 : 2;
  }
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_ADAPTIVE, x, g->tensors[x].c, "avgpool", &x, &op));
  op->out_hw = 7;
  static const char *const heads[3] = {"classifier.0", "classifier.3", "classifier.6"};
  WMFI_TRY(wmfi_nn_add_mlp_head(g, p, x, 49, heads, hidden, classes));
  snprintf(m->arch, sizeof m->arch, "%s%s", cfg.name, bn && strcmp(cfg.name, "vgg-custom") ? "_bn" : "");
done:
  return st;
}
