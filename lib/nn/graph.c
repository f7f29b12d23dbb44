/* The inference graph: growable arrays of tensors and ops that the family builders fill. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

void *wmfi_nn_reserve(void *items, int n, int *cap, size_t size, int first) {
  if (n < *cap) return items;
  int grown_cap = *cap ? 2 * *cap : first;
  void *grown = wmfi_realloc(items, (size_t)grown_cap * size);
  if (grown) *cap = grown_cap;
  return grown;
}

int wmfi_nn_tensor_add(wmfi_nn_graph *g, int c, const char *stage) {
  wmfi_nn_tensor *t = wmfi_nn_reserve(g->tensors, g->n_tensors, &g->cap_tensors, sizeof *t, 64);
  if (!t) return WMFI_NN_NONE;
  g->tensors = t;
  t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  t->c = c;
  if (stage) snprintf(t->stage, sizeof t->stage, "%s", stage);
  return g->n_tensors++;
}

wmfi_nn_op *wmfi_nn_op_add(wmfi_nn_graph *g, wmfi_nn_kind kind, int src) {
  wmfi_nn_op *op = wmfi_nn_reserve(g->ops, g->n_ops, &g->cap_ops, sizeof *op, 64);
  if (!op) return NULL;
  g->ops = op;
  op = &g->ops[g->n_ops++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  op->src = src;
  op->dst = WMFI_NN_NONE;
  op->residual = WMFI_NN_NONE;
  op->stride = 1;
  op->groups = 1;
  op->kh = op->kw = 1;
  return op;
}

wmf_status wmfi_nn_add(wmfi_nn_graph *g, wmfi_nn_kind kind, int src, int c, const char *stage, int *id,
                       wmfi_nn_op **op) {
  *op = wmfi_nn_op_add(g, kind, src);
  *id = *op ? wmfi_nn_tensor_add(g, c, stage) : WMFI_NN_NONE;
  if (*id == WMFI_NN_NONE) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory");
  (*op)->dst = *id;
  (*op)->cin = g->tensors[src].c;
  (*op)->cout = c;
  return WMF_OK;
}

int wmfi_nn_arch_config(const char *arch, const char *family, const void *table, size_t count, size_t size) {
  if (!arch || !strcmp(arch, family)) return WMFI_NN_ARCH_INFER;
  for (size_t i = 0; i < count; i++) {
    const char *name = *(const char *const *)((const char *)table + i * size);
    if (!strcmp(arch, name)) return (int)i;
  }
  return WMFI_NN_ARCH_UNKNOWN;
}

wmf_status wmfi_nn_arch_check(const char *arch, const char *family, const char *inferred, const char *what) {
  if (wmfi_nn_arch_config(arch, family, NULL, 0, 0) == WMFI_NN_ARCH_INFER || (inferred && !strcmp(arch, inferred)))
    return WMF_OK;
  if (what) return wmfi_fail(WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: the weights are %s, not a %s", what, arch);
  return wmfi_fail(WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: the weights are %s %s, not a %s",
                   inferred[0] && strchr("aeiou", inferred[0]) ? "an" : "a", inferred, arch);
}

void wmfi_nn_graph_free(wmfi_nn_graph *g) {
  for (int i = 0; i < g->n_ops; i++) {
    wmfi_nn_op *op = &g->ops[i];
    wmfi_free(op->w);
    wmfi_free(op->b);
    wmfi_free(op->scale);
    wmfi_free(op->shift);
    wmfi_free(op->w_prepared);
    wmfi_free(op->wino_raw);
  }
  wmfi_free(g->ops);
  wmfi_free(g->tensors);
  memset(g, 0, sizeof *g);
}
