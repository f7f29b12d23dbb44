/* Building blocks shared by families: LayerNorm, token-wise linear layers and multi-head
 * self-attention (torch's nn.MultiheadAttention), as graph ops over token-major (N, T, C) tensors. */
#include <stdio.h>

#include "nn/nn_internal.h"

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
