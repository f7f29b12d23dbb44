/* AlexNet (torchvision names): five convolutions with bias and ReLU post-ops, three 3x3 stride-2 max
 * pools, adaptive average pool to 6x6, then the three linear layers (classifier.1, .4, .6; the
 * dropouts are identities in eval). Features are the 4096 values after classifier[:-1] (the second
 * ReLU), as for VGG. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

/* features.N of each convolution: kernel, stride, pad, torchvision's width, and a max pool after it */
static const struct {
  int idx, k, stride, pad, width, pool;
} convs[5] = {{0, 11, 4, 2, 64, 1}, {3, 5, 1, 2, 192, 1}, {6, 3, 1, 1, 384, 0}, {8, 3, 1, 1, 256, 0}, {10, 3, 1, 1, 256, 1}};

int wmfi_nn_alexnet_knows(const char *arch) {
  return wmfi_nn_arch_config(arch, "alexnet", NULL, 0, 0) != WMFI_NN_ARCH_UNKNOWN;
}

int wmfi_nn_alexnet_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "features.0.weight") && wmfi_nn_has(p, "features.10.weight") &&
         wmfi_nn_has(p, "classifier.1.weight") && wmfi_nn_has(p, "classifier.4.weight") &&
         wmfi_nn_has(p, "classifier.6.weight");
}

wmf_status wmfi_nn_alexnet_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  int named = arch != NULL, custom = 0;
  int hidden = 4096, classes;
  char name[64], stage[48];
  /* inferred: every width read from the weights (checked below by each layer's shapes) */
  int width[5];
  for (int i = 0; i < 5; i++) {
    width[i] = convs[i].width;
    snprintf(name, sizeof name, "features.%d.weight", convs[i].idx);
    if (!named) WMFI_TRY(wmfi_nn_dim(p, name, 4, 0, WMFI_NN_MAX_CHANNELS, &width[i]));
    custom |= width[i] != convs[i].width;
  }
  if (!named) WMFI_TRY(wmfi_nn_dim(p, "classifier.1.weight", 2, 0, WMFI_NN_MAX_CHANNELS, &hidden));
  custom |= hidden != 4096;
  WMFI_TRY(wmfi_nn_dim(p, "classifier.6.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  int x = WMFI_NN_INPUT;
  for (int i = 0; i < 5; i++) {
    snprintf(stage, sizeof stage, "features.%d", convs[i].idx + 1);
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, x, width[i], stage, &x, &op));
    op->kh = op->kw = convs[i].k;
    op->stride = convs[i].stride;
    op->pad = convs[i].pad;
    op->relu = 1;
    snprintf(name, sizeof name, "features.%d", convs[i].idx);
    WMFI_TRY(wmfi_nn_load_conv(p, op, name, 1, NULL));
    if (!convs[i].pool) continue;
    snprintf(stage, sizeof stage, "features.%d", convs[i].idx + 2);
    WMFI_TRY(wmfi_nn_add(g, WMFI_NN_MAXPOOL, x, width[i], stage, &x, &op));
    op->kh = op->kw = 3;
    op->stride = 2;
  }
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_ADAPTIVE, x, g->tensors[x].c, "avgpool", &x, &op));
  op->out_hw = 6;
  static const char *const heads[3] = {"classifier.1", "classifier.4", "classifier.6"};
  WMFI_TRY(wmfi_nn_add_mlp_head(g, p, x, 36, heads, hidden, classes));
  snprintf(m->arch, sizeof m->arch, "%s", custom ? "alexnet-custom" : "alexnet");
done:
  return st;
}
