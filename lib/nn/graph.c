/* The inference graph: growable arrays of tensors and ops that the family builders fill. */
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

int wmfi_nn_tensor_add(wmfi_nn_graph *g, int c, const char *stage) {
  if (g->n_tensors == g->cap_tensors) {
    int cap = g->cap_tensors ? 2 * g->cap_tensors : 64;
    wmfi_nn_tensor *t = wmfi_realloc(g->tensors, (size_t)cap * sizeof *t);
    if (!t) return -1;
    g->tensors = t;
    g->cap_tensors = cap;
  }
  wmfi_nn_tensor *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  t->c = c;
  if (stage) snprintf(t->stage, sizeof t->stage, "%s", stage);
  return g->n_tensors++;
}

wmfi_nn_op *wmfi_nn_op_add(wmfi_nn_graph *g, wmfi_nn_kind kind, int src) {
  if (g->n_ops == g->cap_ops) {
    int cap = g->cap_ops ? 2 * g->cap_ops : 64;
    wmfi_nn_op *o = wmfi_realloc(g->ops, (size_t)cap * sizeof *o);
    if (!o) return NULL;
    g->ops = o;
    g->cap_ops = cap;
  }
  wmfi_nn_op *op = &g->ops[g->n_ops++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  op->src = src;
  op->dst = -1;
  op->residual = -1;
  op->stride = 1;
  op->groups = 1;
  op->kh = op->kw = 1;
  return op;
}

void wmfi_nn_graph_free(wmfi_nn_graph *g) {
  for (int i = 0; i < g->n_ops; i++) {
    wmfi_nn_op *op = &g->ops[i];
    wmfi_free(op->w);
    wmfi_free(op->b);
    wmfi_free(op->scale);
    wmfi_free(op->shift);
    wmfi_free(op->w_prepared);
  }
  wmfi_free(g->ops);
  wmfi_free(g->tensors);
  memset(g, 0, sizeof *g);
}
