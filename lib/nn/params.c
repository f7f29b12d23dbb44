/* Reading network parameters through the public weights API, with the checks the loader promises:
 * missing, wrongly shaped, non-finite and unused tensors are errors naming the tensor. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

wmf_status wmfi_nn_params_init(wmfi_nn_params *p, const wmf_weights *w) {
  p->w = w;
  p->total = 0;
  p->count = wmf_weights_count(w);
  p->used = wmfi_calloc(p->count ? p->count : 1, 1);
  if (!p->used) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory");
  return WMF_OK;
}

void wmfi_nn_params_free(wmfi_nn_params *p) {
  wmfi_free(p->used);
  p->used = NULL;
}

int wmfi_nn_has(const wmfi_nn_params *p, const char *name) {
  size_t i;
  return wmf_weights_find(p->w, name, &i) == WMF_OK;
}

int wmfi_nn_count_indexed(const wmfi_nn_params *p, const char *prefix, const char *suffix) {
  char name[256];
  int n = 0;
  for (;; n++) {
    snprintf(name, sizeof name, "%s%d%s", prefix, n, suffix);
    if (!wmfi_nn_has(p, name)) return n;
  }
}

int wmfi_nn_shape(const wmfi_nn_params *p, const char *name, int64_t shape[8]) {
  size_t i;
  wmf_tensor_info info;
  if (wmf_weights_find(p->w, name, &i) != WMF_OK || wmf_weights_info(p->w, i, &info) != WMF_OK) {
    wmf_clear_error();
    return 0;
  }
  for (uint32_t d = 0; d < info.ndim && d < 8; d++) shape[d] = info.shape[d];
  return (int)info.ndim;
}

static void shape_text(char *buf, size_t size, int ndim, const int64_t *dims) {
  size_t len = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < ndim && len < size; d++)
    len += (size_t)snprintf(buf + len, size - len, d ? ", %lld" : "%lld", (long long)dims[d]);
  if (len < size) snprintf(buf + len, size - len, "]");
}

wmf_status wmfi_nn_dim(const wmfi_nn_params *p, const char *name, int ndim, int axis, int limit, int *out) {
  size_t idx;
  wmf_tensor_info info;
  *out = 0;
  if (wmf_weights_find(p->w, name, &idx) != WMF_OK || wmf_weights_info(p->w, idx, &info) != WMF_OK) {
    wmf_clear_error();
    return wmfi_fail(WMF_ERR_NOT_FOUND, "wmf_model_load: tensor '%s' is missing", name);
  }
  char got[160];
  shape_text(got, sizeof got, (int)info.ndim, info.shape);
  if ((int)info.ndim != ndim)
    return wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: tensor '%s' has shape %s, the architecture needs a %d-D tensor",
                     name, got, ndim);
  for (int d = 0; d < ndim; d++)
    if (info.shape[d] <= 0)
      return wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: tensor '%s' has shape %s: dimension %d is %lld, the "
                       "architecture needs at least 1", name, got, d, (long long)info.shape[d]);
  if (info.shape[axis] > limit)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_model_load: tensor '%s' has shape %s: dimension %d (%lld) is over the "
                     "limit of %d", name, got, axis, (long long)info.shape[axis], limit);
  *out = (int)info.shape[axis];
  return WMF_OK;
}

wmf_status wmfi_nn_check_channels(int64_t c, const char *what) {
  if (c < 1 || c > WMFI_NN_MAX_CHANNELS)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_model_load: %s has %lld channels, outside 1..%d", what, (long long)c,
                     WMFI_NN_MAX_CHANNELS);
  return WMF_OK;
}

wmf_status wmfi_nn_get(wmfi_nn_params *p, const char *name, int ndim, const int64_t *dims, float **out) {
  size_t idx;
  wmf_tensor_info info;
  *out = NULL;
  if (wmf_weights_find(p->w, name, &idx) != WMF_OK)
    return wmfi_fail(WMF_ERR_NOT_FOUND, "wmf_model_load: tensor '%s' is missing", name);
  if (wmf_weights_info(p->w, idx, &info) != WMF_OK) return WMF_ERR_CORRUPT;
  int same = (int)info.ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = info.shape[d] == dims[d] && dims[d] > 0;
  if (!same) {
    char want[128], got[128];
    shape_text(want, sizeof want, ndim, dims);
    shape_text(got, sizeof got, (int)info.ndim, info.shape);
    return wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: tensor '%s' has shape %s, the architecture needs %s",
                     name, got, want);
  }
  if (info.numel > WMFI_NN_MAX_TENSOR || info.numel > WMFI_NN_MAX_PARAMS - p->total)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_model_load: tensor '%s' (%llu elements) takes the network over the "
                     "limits (%llu elements per tensor, %llu in all)", name, (unsigned long long)info.numel,
                     (unsigned long long)WMFI_NN_MAX_TENSOR, (unsigned long long)WMFI_NN_MAX_PARAMS);
  p->total += info.numel;
  if (info.dtype != WMF_DTYPE_F32 && info.dtype != WMF_DTYPE_F16 && info.dtype != WMF_DTYPE_BF16 &&
      info.dtype != WMF_DTYPE_F64)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "wmf_model_load: tensor '%s' has dtype %s, not a float type",
                     name, wmf_dtype_name(info.dtype));
  wmf_status st = WMF_OK;
  float *v = wmfi_alloc_array(info.numel ? info.numel : 1, sizeof *v);
  WMFI_CHECK(v, WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory reading '%s'", name);
  WMFI_TRY(wmf_weights_get_f32(p->w, name, v, info.numel));
  for (uint64_t i = 0; i < info.numel; i++)
    WMFI_CHECK(isfinite(v[i]), WMF_ERR_NUMERIC, "wmf_model_load: tensor '%s' holds a non-finite value at element %llu",
               name, (unsigned long long)i);
  p->used[idx] = 1;
  *out = v;
  v = NULL;
done:
  wmfi_free(v);
  return st;
}

wmf_status wmfi_nn_load_bn(wmfi_nn_params *p, const char *prefix, int c, float **scale, float **shift) {
  static const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
  wmf_status st = WMF_OK;
  float *v[4] = {0};
  char name[256];
  int64_t dim = c;
  for (int i = 0; i < 4; i++) {
    snprintf(name, sizeof name, "%s.%s", prefix, parts[i]);
    WMFI_TRY(wmfi_nn_get(p, name, 1, &dim, &v[i]));
  }
  for (int i = 0; i < c; i++) {
    WMFI_CHECK(v[3][i] >= 0, WMF_ERR_NUMERIC, "wmf_model_load: tensor '%s' has a negative variance at %d", name, i);
    double s = v[0][i] / sqrt((double)v[3][i] + (p->bn_eps > 0 ? p->bn_eps : 1e-5));
    v[0][i] = (float)s;                       /* scale */
    v[1][i] = (float)(v[1][i] - v[2][i] * s); /* shift */
  }
  *scale = v[0];
  *shift = v[1];
  v[0] = v[1] = NULL;
done:
  for (int i = 0; i < 4; i++) wmfi_free(v[i]);
  return st;
}

wmf_status wmfi_nn_load_conv(wmfi_nn_params *p, wmfi_nn_op *op, const char *prefix, int has_bias,
                             const char *bn_prefix) {
  if (op->groups < 1) return wmfi_fail(WMF_ERR_SHAPE, "wmf_model_load: '%s': %d groups", prefix, op->groups);
  wmf_status st = WMF_OK;
  float *scale = NULL, *shift = NULL;
  char name[256];
  int64_t dims[4] = {op->cout, op->cin / op->groups, op->kh, op->kw};
  snprintf(name, sizeof name, "%s.weight", prefix);
  WMFI_TRY(wmfi_nn_get(p, name, 4, dims, &op->w));
  if (has_bias) {
    snprintf(name, sizeof name, "%s.bias", prefix);
    WMFI_TRY(wmfi_nn_get(p, name, 1, dims, &op->b));
  } else {
    WMFI_ALLOC(op->b, wmfi_calloc((size_t)op->cout, sizeof(float)), "wmf_model_load");
  }
  if (bn_prefix) { /* fold the BatchNorm into the convolution */
    WMFI_TRY(wmfi_nn_load_bn(p, bn_prefix, op->cout, &scale, &shift));
    size_t per_out = (size_t)(op->cin / op->groups) * op->kh * op->kw;
    for (int o = 0; o < op->cout; o++) {
      for (size_t i = 0; i < per_out; i++) op->w[o * per_out + i] *= scale[o];
      op->b[o] = op->b[o] * scale[o] + shift[o];
    }
  }
done:
  wmfi_free(scale);
  wmfi_free(shift);
  return st;
}

wmf_status wmfi_nn_load_fc(wmfi_nn_params *p, wmfi_nn_op *op, const char *prefix) {
  char name[256];
  int64_t dims[2] = {op->cout, op->cin};
  snprintf(name, sizeof name, "%s.weight", prefix);
  wmf_status st = wmfi_nn_get(p, name, 2, dims, &op->w);
  if (st != WMF_OK) return st;
  snprintf(name, sizeof name, "%s.bias", prefix);
  return wmfi_nn_get(p, name, 1, dims, &op->b);
}

wmf_status wmfi_nn_add_classifier(wmfi_nn_graph *g, wmfi_nn_params *p, int features, int classes, const char *prefix) {
  wmfi_nn_op *op;
  int logits;
  wmf_status st = wmfi_nn_add(g, WMFI_NN_FC, features, classes, NULL, &logits, &op);
  if (st == WMF_OK) st = wmfi_nn_load_fc(p, op, prefix);
  if (st != WMF_OK) return st;
  g->features = features;
  g->logits = logits;
  return WMF_OK;
}

wmf_status wmfi_nn_add_mlp_head(wmfi_nn_graph *g, wmfi_nn_params *p, int x, int pooled_hw, const char *const heads[3],
                                int hidden, int classes) {
  int outs[3] = {hidden, hidden, classes};
  for (int i = 0; i < 3; i++) {
    wmfi_nn_op *op;
    int in_c = g->tensors[x].c * (i == 0 ? pooled_hw : 1);
    wmf_status st = wmfi_nn_add(g, WMFI_NN_FC, x, outs[i], NULL, &x, &op);
    if (st != WMF_OK) return st;
    op->cin = in_c;
    op->relu = i < 2;
    if ((st = wmfi_nn_load_fc(p, op, heads[i])) != WMF_OK) return st;
    if (i == 1) g->features = x;
  }
  g->logits = x;
  return WMF_OK;
}

void wmfi_nn_ignore_prefix(wmfi_nn_params *p, const char *prefix) {
  size_t len = strlen(prefix);
  for (size_t i = 0; i < p->count; i++) {
    wmf_tensor_info info;
    if (wmf_weights_info(p->w, i, &info) == WMF_OK && !strncmp(info.name, prefix, len)) p->used[i] = 1;
  }
}

wmf_status wmfi_nn_params_check_unused(const wmfi_nn_params *p) {
  for (size_t i = 0; i < p->count; i++) {
    if (p->used[i]) continue;
    wmf_tensor_info info;
    if (wmf_weights_info(p->w, i, &info) != WMF_OK) continue;
    if (strstr(info.name, "num_batches_tracked")) continue;
    return wmfi_fail(WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: unexpected tensor '%s' for this architecture",
                     info.name);
  }
  return WMF_OK;
}
