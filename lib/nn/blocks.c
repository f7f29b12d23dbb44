/* Building blocks several families share: a convolution with its folded BatchNorm and activation
 * (optionally adding a residual in place), squeeze-and-excitation; LayerNorm, token-wise linear layers
 * and multi-head self-attention (torch's nn.MultiheadAttention) over token-major (N, T, C) tensors. */
#include <stdio.h>

#include "nn/nn_internal.h"

int wmfi_nn_conv_bn(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int src, int cout, int k, int stride,
                    int groups, int act, int residual, const char *prefix, const char *bn) {
  if (*st != WMF_OK) return WMFI_NN_NONE;
  wmfi_nn_op *op;
  int dst;
  if ((*st = wmfi_nn_add(&m->g, WMFI_NN_CONV, src, cout, NULL, &dst, &op)) != WMF_OK) return WMFI_NN_NONE;
  int cin = op->cin;
  op->kh = op->kw = k;
  op->stride = stride;
  op->pad = k / 2;
  op->groups = groups;
  op->relu = act;
  op->residual = residual;
  if (groups < 1 || cin % groups || cout % groups) {
    *st = wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: '%s.weight': %d input / %d output channels do not split into %d groups",
                    prefix, cin, cout, groups);
    return WMFI_NN_NONE;
  }
  *st = wmfi_nn_load_conv(p, op, prefix, 0, bn);
  return *st == WMF_OK ? dst : WMFI_NN_NONE;
}

int wmfi_nn_conv_dim(const wmfi_nn_params *p, wmf_status *st, const char *prefix, int axis) {
  char name[160];
  int v = 0;
  snprintf(name, sizeof name, "%s.weight", prefix);
  if (*st == WMF_OK) *st = wmfi_nn_dim(p, name, 4, axis, WMFI_NN_MAX_CHANNELS, &v);
  return v;
}

/* A 1x1 convolution with bias on pooled N x C values, as a linear layer: prefix.weight [out, in, 1, 1]. */
static int pooled_conv(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int src, int act, const char *prefix) {
  if (*st != WMF_OK) return WMFI_NN_NONE;
  char name[256];
  int cout, dst;
  wmfi_nn_op *op;
  snprintf(name, sizeof name, "%s.weight", prefix);
  if ((*st = wmfi_nn_dim(p, name, 4, 0, WMFI_NN_MAX_CHANNELS, &cout)) != WMF_OK) return WMFI_NN_NONE;
  if ((*st = wmfi_nn_add(&m->g, WMFI_NN_FC, src, cout, NULL, &dst, &op)) != WMF_OK) return WMFI_NN_NONE;
  op->relu = act;
  int64_t dims[4] = {cout, op->cin, 1, 1};
  if ((*st = wmfi_nn_get(p, name, 4, dims, &op->w)) != WMF_OK) return WMFI_NN_NONE;
  snprintf(name, sizeof name, "%s.bias", prefix);
  if ((*st = wmfi_nn_get(p, name, 1, dims, &op->b)) != WMF_OK) return WMFI_NN_NONE;
  return dst;
}

int wmfi_nn_squeeze_excite(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int src, int inner, int gate,
                           const char *prefix) {
  if (*st != WMF_OK) return WMFI_NN_NONE;
  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  int c = g->tensors[src].c, pooled, dst;
  char name[128];
  if ((*st = wmfi_nn_add(g, WMFI_NN_GAP, src, c, NULL, &pooled, &op)) != WMF_OK) return WMFI_NN_NONE;
  snprintf(name, sizeof name, "%s.fc1", prefix);
  int squeezed = pooled_conv(m, p, st, pooled, inner, name);
  snprintf(name, sizeof name, "%s.fc2", prefix);
  int factors = pooled_conv(m, p, st, squeezed, gate, name);
  if (*st != WMF_OK) return WMFI_NN_NONE;
  if (g->tensors[factors].c != c) {
    *st = wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: '%s.weight' has %d outputs for %d channels", name, g->tensors[factors].c, c);
    return WMFI_NN_NONE;
  }
  if ((*st = wmfi_nn_add(g, WMFI_NN_MUL, src, c, NULL, &dst, &op)) != WMF_OK) return WMFI_NN_NONE;
  op->scale_src = factors;
  return dst;
}

wmf_status wmfi_nn_add_layernorm(wmfi_nn_graph *g, wmfi_nn_params *p, int src, const char *prefix, int *out) {
  wmf_status st = WMF_OK;
  wmfi_nn_op *op;
  char name[256];
  int64_t c = g->tensors[src].c;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_LAYERNORM, src, (int)c, NULL, out, &op));
  snprintf(name, sizeof name, "%s.weight", prefix);
  WMFI_TRY(wmfi_nn_get(p, name, 1, &c, &op->scale));
  snprintf(name, sizeof name, "%s.bias", prefix);
  WMFI_TRY(wmfi_nn_get(p, name, 1, &c, &op->shift));
done:
  return st;
}

/* A LINEAR op reading src into a new tensor of cout channels, its weight and bias read from the tensors
 * named `weight` and `bias`. */
static wmf_status add_linear(wmfi_nn_graph *g, wmfi_nn_params *p, int src, int cout, const char *weight,
                             const char *bias, int gelu, int residual, int *out) {
  wmf_status st = WMF_OK;
  wmfi_nn_op *op;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_LINEAR, src, cout, NULL, out, &op));
  op->gelu = gelu;
  op->residual = residual;
  int64_t dims[2] = {cout, op->cin};
  WMFI_TRY(wmfi_nn_get(p, weight, 2, dims, &op->w));
  WMFI_TRY(wmfi_nn_get(p, bias, 1, dims, &op->b));
done:
  return st;
}

wmf_status wmfi_nn_add_linear(wmfi_nn_graph *g, wmfi_nn_params *p, int src, int cout, const char *prefix, int gelu,
                              int residual, int *out) {
  char w[320], b[320];
  snprintf(w, sizeof w, "%s.weight", prefix);
  snprintf(b, sizeof b, "%s.bias", prefix);
  return add_linear(g, p, src, cout, w, b, gelu, residual, out);
}

wmf_status wmfi_nn_add_self_attention(wmfi_nn_graph *g, wmfi_nn_params *p, int src, int heads, const char *prefix,
                                      int residual, int *out) {
  wmf_status st = WMF_OK;
  int c = g->tensors[src].c, qkv, att;
  char w[256], b[256];
  WMFI_CHECK(heads > 0 && c % heads == 0, WMF_ERR_SHAPE, "wmf_model_load: '%s': %d channels do not split into %d heads",
             prefix, c, heads);
  WMFI_TRY(wmfi_nn_check_channels(3 * (int64_t)c, "the attention's q|k|v projection"));
  snprintf(w, sizeof w, "%s.in_proj_weight", prefix);
  snprintf(b, sizeof b, "%s.in_proj_bias", prefix);
  WMFI_TRY(add_linear(g, p, src, 3 * c, w, b, 0, WMFI_NN_NONE, &qkv));
  wmfi_nn_op *op;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_ATTENTION, qkv, c, NULL, &att, &op));
  op->groups = heads;
  snprintf(w, sizeof w, "%s.out_proj", prefix);
  WMFI_TRY(wmfi_nn_add_linear(g, p, att, c, w, 0, residual, out));
done:
  return st;
}
