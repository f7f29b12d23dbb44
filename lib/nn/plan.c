/* A plan: the graph turned into oneDNN primitives (and a few loops) for one batch size, input size and
 * precision. Activations live in a handful of reusable slots: a tensor takes the first free slot when
 * produced and frees it after its last reader, so buffers are assigned identically for every batch
 * size and the session sizes them once, for its maximum batch. A residual convolution writes in place
 * into the slot of the tensor it adds (oneDNN's sum post-op). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

typedef enum step_kind {
  STEP_PRIM, STEP_BNRELU, STEP_GAP, STEP_ADAPTIVE, STEP_COPY, STEP_FC, STEP_MUL, STEP_TOKENS, STEP_CLASS_TOKEN,
  STEP_WINO, STEP_ZERO
} step_kind;

/* Linear layers always run on blocks of FC_ROWS rows (the last one padded): oneDNN's inner product picks
 * its GEMM kernel and weight layout by batch size, so an image's logits would otherwise depend on the
 * batch it ran in, and shards, resumed runs and sessions of other sizes would not agree bit for bit. */
enum { FC_ROWS = 16 };
enum { MAX_ARGS = 6 };

/* plan_arg.tensor other than a tensor id: the memory object is made with the argument (weights, bias,
 * the inner product's row buffers), or it is the session's scratchpad. The input (WMFI_NN_INPUT) gets
 * its data handle at each run. */
enum { ARG_OWN_MEMORY = -1, ARG_SCRATCHPAD = -2 };
/* tstate.slot of a tensor without one; tstate.last_use of a tensor no op reads, and of the outputs,
 * which live to the end. */
enum { NO_SLOT = -1, NOT_READ = -1, READ_TO_END = INT_MAX };

typedef struct plan_arg {
  int arg, tensor; /* tensor >= 0: memory over that tensor's slot with md; else ARG_OWN_MEMORY, ARG_SCRATCHPAD */
  size_t offset;   /* bytes into the tensor's buffer where md starts (attention's k and v of a q|k|v tensor) */
  size_t image_bytes; /* per_image steps: bytes from one image's data to the next (0: the same for all) */
  dnnl_memory_desc_t md;
  dnnl_memory_t mem;
} plan_arg;

typedef struct plan_step {
  step_kind kind;
  dnnl_primitive_t prim;
  int nargs;
  plan_arg args[MAX_ARGS];
  dnnl_exec_arg_t exec[MAX_ARGS];
  const wmfi_nn_op *op;
  int src, dst, c_src, c, h, w, block;
  int bf16; /* the loop's source is bf16 (else fp32) */
  int per_image; /* STEP_PRIM made for one image, run once per image (token ops: then an image's numbers do not
                    depend on the batch, as STEP_FC's fixed row blocks ensure for the heads) */
  int image_group; /* on the first of per_image steps that share a one-image buffer: how many steps run for
                      one image before the next image (attention: scores, softmax, scores V) */
  void *fc_src, *fc_dst; /* STEP_FC: FC_ROWS-row buffers the primitive reads and writes */
  size_t fc_src_row;      /* STEP_FC: bytes of one source row */
  size_t zero_bytes;      /* STEP_ZERO: bytes of dst set to zero */
} plan_step;

typedef struct tstate {
  dnnl_memory_desc_t md;
  int h, w, defined, slot, last_use;
} tstate;

struct wmfi_nn_plan {
  wmf_model *m;
  wmfi_nn_plan_config cfg;
  plan_step *steps;
  int n_steps, cap_steps;
  tstate *t; /* the graph's tensors, then the plan's own: see input_copy, edge_in, edge_out */
  int n_t;
  int *slot_busy;
  int n_slots;
  size_t *slot_need;
  size_t scratch_need;
  void **owned; /* private weights and stage output */
  int n_owned, private_weights, winograd;
  void **ptr;   /* resolved tensor pointers */
  float *stage_out;
  wmfi_nn_op stage_view; /* the scale/shift of a view stage (tensor.view_of), applied before pooling */
  dnnl_data_type_t act;
  wmfi_nn_buffers *buf;
  void *bound_scratch; /* the session's scratchpad this plan's memories point to */
};

/* The plan's tensors beyond the graph's: the bf16 copy of the input, then for op i the reorders around a
 * convolution that has no optimized kernel for its layouts (its source and its destination), or for an
 * attention op its scores (edge_in). */
static int input_copy(const wmfi_nn_plan *p) { return p->m->g.n_tensors; }
static int edge_in(const wmfi_nn_plan *p, int op) { return p->m->g.n_tensors + 1 + 2 * op; }
static int edge_out(const wmfi_nn_plan *p, int op) { return p->m->g.n_tensors + 2 + 2 * op; }
static int plan_tensor_count(const wmf_model *m) { return m->g.n_tensors + 1 + 2 * m->g.n_ops; }

static void *aligned_alloc64(size_t size, void ***list, int *n) {
  void **l = wmfi_realloc(*list, (size_t)(*n + 1) * sizeof *l);
  if (!l) return NULL;
  *list = l;
  void *raw = wmfi_malloc(size + 64);
  if (!raw) return NULL;
  l[(*n)++] = raw;
  return (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
}

static plan_step *new_step(wmfi_nn_plan *p, step_kind kind) {
  plan_step *s = wmfi_nn_reserve(p->steps, p->n_steps, &p->cap_steps, sizeof *s, 128);
  if (!s) return NULL;
  p->steps = s;
  s = &p->steps[p->n_steps++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  return s;
}

static void add_arg_at(plan_step *s, int arg, int tensor, size_t offset, const dnnl_memory_desc_t *md,
                       dnnl_memory_t mem) {
  plan_arg *a = &s->args[s->nargs++];
  a->arg = arg;
  a->tensor = tensor;
  a->offset = offset;
  if (md) a->md = *md;
  a->mem = mem;
}

static void add_arg(plan_step *s, int arg, int tensor, const dnnl_memory_desc_t *md, dnnl_memory_t mem) {
  add_arg_at(s, arg, tensor, 0, md, mem);
}

/* First free slot for tensor t (size from its md). */
static wmf_status take_slot(wmfi_nn_plan *p, int t) {
  int s = 0;
  while (s < p->n_slots && p->slot_busy[s]) s++;
  if (s == p->n_slots) {
    int *b = wmfi_realloc(p->slot_busy, (size_t)(s + 1) * sizeof *b);
    if (b) p->slot_busy = b;
    size_t *z = b ? wmfi_realloc(p->slot_need, (size_t)(s + 1) * sizeof *z) : NULL;
    if (!z) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
    p->slot_need = z;
    z[s] = 0;
    p->n_slots++;
  }
  p->slot_busy[s] = 1;
  size_t need = dnnl_memory_desc_get_size(&p->t[t].md);
  if (need > p->slot_need[s]) p->slot_need[s] = need;
  p->t[t].slot = s;
  return WMF_OK;
}

static void release_after(wmfi_nn_plan *p, int op_index, int transferred) {
  for (int t = WMFI_NN_INPUT + 1; t < p->n_t; t++)
    if (p->t[t].last_use == op_index && p->t[t].slot != NO_SLOT && t != transferred) p->slot_busy[p->t[t].slot] = 0;
}

/* make_pd_ex's `sum`: no residual, the residual added before the activation (a sum post-op: in place, into
 * the destination), or after it (a binary add post-op reading the residual, described by dst_md: oneDNN 2.6
 * runs an eltwise followed by a sum only in its reference convolution). */
enum { SUM_NONE = 0, SUM_THEN_ACT = 1, ACT_THEN_ADD = 2 };

/* The eltwise post-ops of each activation WMFI_NN_ACT_* (at most two, applied in order; an unused one is
 * dnnl_alg_kind_undef): a new activation is one line here. */
static const struct act_step {
  dnnl_alg_kind_t alg;
  float alpha, beta;
} act_steps[][2] = {
  [WMFI_NN_ACT_RELU] = {{dnnl_eltwise_relu, 0.f, 0.f}},
  [WMFI_NN_ACT_RELU6] = {{dnnl_eltwise_clip_v2, 0.f, 6.f}},
  [WMFI_NN_ACT_HARDSWISH] = {{dnnl_eltwise_hardswish, 0.f, 0.f}},
  /* oneDNN 2.6 has no hardsigmoid: clip(x / 6 + 1 / 2, 0, 1) */
  [WMFI_NN_ACT_HARDSIGMOID] = {{dnnl_eltwise_linear, 1.f / 6.f, 0.5f}, {dnnl_eltwise_clip_v2, 0.f, 1.f}},
  [WMFI_NN_ACT_GELU] = {{dnnl_eltwise_gelu_erf, 0.f, 0.f}},
  [WMFI_NN_ACT_SILU] = {{dnnl_eltwise_swish, 1.f, 0.f}}, /* x * sigmoid(alpha x) */
  [WMFI_NN_ACT_SIGMOID] = {{dnnl_eltwise_logistic, 0.f, 0.f}},
};

/* The primitive descriptor of `desc` (a convolution, pooling, inner product, matmul, layer normalization
 * or softmax descriptor), or with desc NULL of a reorder from src_md to dst_md; the scratchpad is the
 * session's, post-ops add the destination (sum: SUM_THEN_ACT or ACT_THEN_ADD) and apply the activation
 * `act` (WMFI_NN_ACT_*);
 * scale > 0 is an output scale. `what` names the step in messages. */
static wmf_status make_pd_ex(wmfi_nn_plan *p, const void *desc, const dnnl_memory_desc_t *src_md,
                             const dnnl_memory_desc_t *dst_md, int sum, int act, float scale,
                             dnnl_primitive_desc_t *pd, const char *what) {
  wmf_status st = WMF_OK;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  *pd = NULL;
  WMFI_DNNL_TRY(dnnl_primitive_attr_create(&attr), "attribute");
  dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
  if (scale > 0) WMFI_DNNL_TRY(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale), "output scale");
  if (sum || act != WMFI_NN_ACT_NONE) {
    WMFI_DNNL_TRY(dnnl_post_ops_create(&po), "post-ops");
    if (sum == SUM_THEN_ACT) dnnl_post_ops_append_sum(po, 1.f);
    const struct act_step *e = act > 0 && (size_t)act < sizeof act_steps / sizeof act_steps[0] ? act_steps[act] : NULL;
    for (int i = 0; e && i < 2 && e[i].alg != dnnl_alg_kind_undef; i++)
      dnnl_post_ops_append_eltwise(po, 1.f, e[i].alg, e[i].alpha, e[i].beta);
    if (sum == ACT_THEN_ADD) WMFI_DNNL_TRY(dnnl_post_ops_append_binary(po, dnnl_binary_add, dst_md), "post-ops");
    WMFI_DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops");
  }
  if (desc)
    WMFI_DNNL_TRY(dnnl_primitive_desc_create(pd, desc, attr, p->m->engine, NULL), what);
  else
    WMFI_DNNL_TRY(dnnl_reorder_primitive_desc_create(pd, src_md, p->m->engine, dst_md, p->m->engine, attr), what);
done:
  if (po) dnnl_post_ops_destroy(po);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return st;
}

static wmf_status make_pd(wmfi_nn_plan *p, const void *desc, const dnnl_memory_desc_t *src_md,
                          const dnnl_memory_desc_t *dst_md, int sum, int act, dnnl_primitive_desc_t *pd,
                          const char *what) {
  return make_pd_ex(p, desc, src_md, dst_md, sum, act, 0.f, pd, what);
}

/* A step of `kind` with its source and destination arguments: a tensor (or ARG_OWN_MEMORY) each. */
static wmf_status new_step2(wmfi_nn_plan *p, step_kind kind, int src_arg, int src, const dnnl_memory_desc_t *src_md,
                            int dst_arg, int dst, const dnnl_memory_desc_t *dst_md, plan_step **out) {
  plan_step *s = *out = new_step(p, kind);
  if (!s) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
  add_arg(s, src_arg, src, src_md, NULL);
  add_arg(s, dst_arg, dst, dst_md, NULL);
  return WMF_OK;
}

/* Creates the primitive of a descriptor (unless only preparing weights) and its scratchpad arg. */
static wmf_status finish_prim(wmfi_nn_plan *p, plan_step *s, dnnl_primitive_desc_t pd) {
  const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  size_t need = sp ? dnnl_memory_desc_get_size(sp) : 0;
  if (need > p->scratch_need) p->scratch_need = need;
  if (need) add_arg(s, DNNL_ARG_SCRATCHPAD, ARG_SCRATCHPAD, sp, NULL);
  if (p->cfg.prepare) return WMF_OK;
  WMFI_DNNL(dnnl_primitive_create(&s->prim, pd), "primitive creation");
  return WMF_OK;
}

/* A STEP_PRIM of descriptor pd reading src and writing dst (tensors, as src_md and dst_md): the step with its
 * primitive (unless only preparing weights) and scratchpad; arguments the primitive needs besides these
 * may be added to *out afterwards. */
static wmf_status prim_step(wmfi_nn_plan *p, dnnl_primitive_desc_t pd, int src_arg, int src,
                            const dnnl_memory_desc_t *src_md, int dst_arg, int dst, const dnnl_memory_desc_t *dst_md,
                            plan_step **out) {
  wmf_status st = new_step2(p, STEP_PRIM, src_arg, src, src_md, dst_arg, dst, dst_md, out);
  return st != WMF_OK ? st : finish_prim(p, *out, pd);
}

static wmf_status reorder_now(wmfi_nn_plan *p, const dnnl_memory_desc_t *src_md, const void *src,
                              const dnnl_memory_desc_t *dst_md, void *dst) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  dnnl_memory_t a = NULL, b = NULL;
  dnnl_stream_t stream = NULL;
  dnnl_engine_t e = p->m->engine;
  const char *what = "weights reorder";
  WMFI_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, src_md, e, dst_md, e, NULL), what);
  WMFI_DNNL_TRY(dnnl_primitive_create(&prim, pd), what);
  WMFI_DNNL_TRY(dnnl_memory_create(&a, src_md, e, (void *)src), what);
  WMFI_DNNL_TRY(dnnl_memory_create(&b, dst_md, e, dst), what);
  WMFI_DNNL_TRY(dnnl_stream_create(&stream, e, dnnl_stream_default_flags), what);
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
  WMFI_DNNL_TRY(dnnl_primitive_execute(prim, stream, 2, args), what);
  WMFI_DNNL_TRY(dnnl_stream_wait(stream), what);
done:
  if (stream) dnnl_stream_destroy(stream);
  if (a) dnnl_memory_destroy(a);
  if (b) dnnl_memory_destroy(b);
  if (prim) dnnl_primitive_destroy(prim);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* Weights: at load, reorder the plain tensor into the layout the primitive chose (kept by the model);
 * in a session, use the model's copy when the layout agrees, else a private reordered copy. */
static wmf_status weights_arg(wmfi_nn_plan *p, plan_step *s, wmfi_nn_op *op, const dnnl_memory_desc_t *want,
                              const dnnl_memory_desc_t *plain) {
  void *data;
  if (p->cfg.prepare) {
    void **raw = &op->w_prepared;
    size_t size = dnnl_memory_desc_get_size(want);
    wmfi_free(*raw);
    *raw = wmfi_malloc(size + 64);
    if (!*raw) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory for weights");
    data = (void *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
    wmf_status st = reorder_now(p, plain, op->w, want, data);
    if (st != WMF_OK) return st;
    op->w_md = *want;
    wmfi_free(op->w);
    op->w = NULL;
    return WMF_OK;
  }
  void *model_data = (void *)(((uintptr_t)op->w_prepared + 63) & ~(uintptr_t)63);
  if (dnnl_memory_desc_equal(want, &op->w_md)) {
    data = model_data;
  } else {
    data = aligned_alloc64(dnnl_memory_desc_get_size(want), &p->owned, &p->n_owned);
    if (!data) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory for weights");
    wmf_status st = reorder_now(p, &op->w_md, model_data, want, data);
    if (st != WMF_OK) return st;
    p->private_weights++;
  }
  dnnl_memory_t mem;
  WMFI_DNNL(dnnl_memory_create(&mem, want, p->m->engine, data), "weights memory");
  add_arg(s, DNNL_ARG_WEIGHTS, ARG_OWN_MEMORY, NULL, mem);
  return WMF_OK;
}

/* Argument `arg` over n fp32 values the model holds (bias, scale, shift), as a 1-D tensor. */
static wmf_status vector_arg(wmfi_nn_plan *p, plan_step *s, int arg, const float *v, int n) {
  dnnl_memory_desc_t md;
  dnnl_dims_t d = {n};
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(&md, 1, d, dnnl_f32, dnnl_a), "vector descriptor");
  dnnl_memory_t mem;
  WMFI_DNNL(dnnl_memory_create(&mem, &md, p->m->engine, (void *)v), "vector memory");
  add_arg(s, arg, ARG_OWN_MEMORY, NULL, mem);
  return WMF_OK;
}

static wmf_status bias_arg(wmfi_nn_plan *p, plan_step *s, const float *b, int n) {
  return vector_arg(p, s, DNNL_ARG_BIAS, b, n);
}

/* Sets tensor t's layout and size, and gives it a slot: the slot of tensor slot_from (a residual the
 * convolution writes into), or with WMFI_NN_NONE a free one. */
static wmf_status define(wmfi_nn_plan *p, int t, const dnnl_memory_desc_t *md, int h, int w, int slot_from) {
  p->t[t].md = *md;
  p->t[t].h = h;
  p->t[t].w = w;
  p->t[t].defined = 1;
  if (slot_from != WMFI_NN_NONE) {
    p->t[t].slot = p->t[slot_from].slot;
    return WMF_OK;
  }
  return p->cfg.prepare ? WMF_OK : take_slot(p, t);
}

/* A reorder step from tensor src into tensor dst seen as dst_md (all of it, or a slice). */
static wmf_status reorder_step(wmfi_nn_plan *p, int src, int dst, const dnnl_memory_desc_t *dst_md, const char *what) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  plan_step *s;
  WMFI_TRY(make_pd(p, NULL, &p->t[src].md, dst_md, 0, 0, &pd, what));
  WMFI_TRY(prim_step(p, pd, DNNL_ARG_FROM, src, &p->t[src].md, DNNL_ARG_TO, dst, dst_md, &s));
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* A new tensor dst of the src's size in layout dst_md, and the reorder into it (a layout or type change
 * at an edge). */
static wmf_status add_reorder(wmfi_nn_plan *p, int src, int dst, const dnnl_memory_desc_t *dst_md, const char *what) {
  wmf_status st = define(p, dst, dst_md, p->t[src].h, p->t[src].w, WMFI_NN_NONE);
  return st != WMF_OK ? st : reorder_step(p, src, dst, dst_md, what);
}

/* Padding of an op along the height (axis 0) or the width (axis 1). */
static int pad_of(const wmfi_nn_op *op, int axis) {
  if (!op->pad_h && !op->pad_w) return op->pad;
  return axis ? op->pad_w : op->pad_h;
}

/* The convolution op from an ih x iw source to oh x ow; with `unpadded`, without padding (the source is an explicitly
 * zero-padded copy: build_conv). */
static wmf_status conv_pd(wmfi_nn_plan *p, const wmfi_nn_op *op, const dnnl_memory_desc_t *src,
                          const dnnl_memory_desc_t *dst, const dnnl_memory_desc_t *wmd, int ih, int iw, int oh,
                          int ow, int unpadded, dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t bmd;
  dnnl_dims_t bd = {op->cout};
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a), "bias descriptor");
  int ph = unpadded ? 0 : pad_of(op, 0), pw = unpadded ? 0 : pad_of(op, 1);
  dnnl_dims_t strides = {op->stride, op->stride}, pad = {ph, pw};
  dnnl_dims_t pad_r = {(oh - 1) * op->stride + op->kh - ih - ph, (ow - 1) * op->stride + op->kw - iw - pw};
  dnnl_convolution_desc_t cd;
  WMFI_DNNL(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, src, wmd, &bmd,
                                               dst, strides, pad, pad_r),
            "convolution descriptor");
  int sum = op->residual == WMFI_NN_NONE ? SUM_NONE : op->act_then_sum ? ACT_THEN_ADD : SUM_THEN_ACT;
  return make_pd(p, &cd, NULL, sum == ACT_THEN_ADD ? dst : NULL, sum, op->relu, pd, "convolution primitive descriptor");
}

static const char *impl_name(dnnl_primitive_desc_t pd) {
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl) return "";
  return impl;
}

static int is_reference_impl(dnnl_primitive_desc_t pd) { return !strncmp(impl_name(pd), "ref", 3); }

/* oneDNN's GEMM-based convolution (im2col and sgemm: "gemm:jit", "x64:gemm:jit"), which it takes where no direct
 * kernel reads the layouts or the padding. Its numbers for one image depend on the batch and the thread count: by
 * batch size, it gives each thread whole images or splits one image's GEMM between the threads, and the two round
 * differently (a 1x1 convolution of 232 channels on 7x7: 130 of 34104 outputs differ between batch 3 and 16 with
 * two threads). The direct kernels compute every output the same way whatever the batch, the image's place in it
 * and the thread count (tests/nn/test_parity.c asserts it for every network of the suite). */
static int is_gemm_impl(dnnl_primitive_desc_t pd) {
  const char *impl = impl_name(pd);
  return !strncmp(impl, "gemm", 4) || !strncmp(impl, "x64:gemm", 8);
}

/* Output length along one axis, as torch computes it: floor((in + 2 pad - k) / stride) + 1, with
 * ceil_mode rounding up instead (a last partial window counts when it starts inside the input or the
 * left padding, even past a input smaller than the kernel). 0 or less: no output. */
static int out_len(int in, int k, int stride, int pad, int ceil_mode) {
  int num = in + 2 * pad - k + (ceil_mode ? stride - 1 : 0);
  int out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  if (ceil_mode && out > 0 && (out - 1) * stride >= in + pad) out--;
  return out;
}

/* Output size of a convolution or pooling op on an h x w source (WMF_ERR_INVALID_ARGUMENT when empty). */
static wmf_status out_size(const wmfi_nn_op *op, int h, int w, int *oh, int *ow) {
  *oh = out_len(h, op->kh, op->stride, pad_of(op, 0), op->ceil_mode);
  *ow = out_len(w, op->kw, op->stride, pad_of(op, 1), op->ceil_mode);
  if (*oh < 1 || *ow < 1) return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "wmf_session_create: input too small for the network");
  return WMF_OK;
}

/* Whether convolution op runs by Winograd in this plan (a fp32 session that allows it, weights made at load,
 * source and residual in the CPU's channel blocks): then *md is its destination's layout. */
static int use_winograd(const wmfi_nn_plan *p, const wmfi_nn_op *op, const tstate *S, dnnl_memory_desc_t *md) {
  if (p->cfg.prepare || p->cfg.bf16 || p->cfg.direct || !op->wino_raw || p->m->g.tensors[op->dst].channels_last)
    return 0;
  int block = wmfi_nn_native_block();
  dnnl_memory_desc_t in;
  if (wmfi_nn_md(&in, p->cfg.n, op->cin, S->h, S->w, dnnl_f32, block) != WMF_OK || !dnnl_memory_desc_equal(&in, &S->md) ||
      wmfi_nn_md(md, p->cfg.n, op->cout, S->h, S->w, dnnl_f32, block) != WMF_OK)
    return 0;
  return op->residual == WMFI_NN_NONE || dnnl_memory_desc_equal(md, &p->t[op->residual].md);
}

static wmf_status build_winograd(wmfi_nn_plan *p, const wmfi_nn_op *op, int src, const dnnl_memory_desc_t *md) {
  tstate *S = &p->t[src];
  wmf_status st = define(p, op->dst, md, S->h, S->w, op->residual);
  if (st != WMF_OK) return st;
  plan_step *s = new_step(p, STEP_WINO);
  if (!s) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
  s->op = op;
  s->src = src;
  s->dst = op->dst;
  s->h = S->h;
  s->w = S->w;
  s->block = wmfi_nn_native_block();
  size_t need = wmfi_nn_wino_scratch(op);
  if (need > p->scratch_need) p->scratch_need = need;
  p->winograd++;
  return WMF_OK;
}

static wmf_status build_conv(wmfi_nn_plan *p, int i, wmfi_nn_op *op, int src) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  tstate *S = &p->t[src];
  int oh, ow;
  WMFI_TRY(out_size(op, S->h, S->w, &oh, &ow));
  if (p->cfg.prepare && op->w && wmfi_nn_wino_eligible(op, wmfi_nn_native_block()) &&
      p->m->wino_floats + wmfi_nn_wino_floats(op) <= WMFI_NN_WINO_MAX_FLOATS) {
    WMFI_TRY(wmfi_nn_wino_prepare(op));
    p->m->wino_floats += wmfi_nn_wino_floats(op);
  }
  dnnl_memory_desc_t wino_md;
  if (use_winograd(p, op, S, &wino_md)) return build_winograd(p, op, src, &wino_md);
  dnnl_memory_desc_t wmd, plain, dmd, any_src;
  int g = op->groups;
  if (g > 1) {
    dnnl_dims_t wd = {g, op->cout / g, op->cin / g, op->kh, op->kw};
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&wmd, 5, wd, p->act, dnnl_format_tag_any), "weights descriptor");
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&plain, 5, wd, dnnl_f32, dnnl_goihw), "weights descriptor");
  } else {
    dnnl_dims_t wd = {op->cout, op->cin, op->kh, op->kw};
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, p->act, dnnl_format_tag_any), "weights descriptor");
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&plain, 4, wd, dnnl_f32, dnnl_oihw), "weights descriptor");
  }
  dnnl_dims_t dd = {p->cfg.n, op->cout, oh, ow}, sd = {p->cfg.n, op->cin, S->h, S->w};
  dnnl_format_tag_t dst_tag = p->m->g.tensors[op->dst].channels_last ? dnnl_acdb : dnnl_format_tag_any;
  if (op->residual != WMFI_NN_NONE) dmd = p->t[op->residual].md;
  else WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, p->act, dst_tag), "dst descriptor");
  WMFI_TRY(conv_pd(p, op, &S->md, &dmd, &wmd, S->h, S->w, oh, ow, 0, &pd));
  int tmp_out = WMFI_NN_NONE, channels_last = p->m->g.tensors[op->dst].channels_last;
  /* a GEMM convolution whose outputs sum more than one product (GoogLeNet's transform_input, one multiply per
   * channel, is exact whichever way it runs) */
  int gemm = is_gemm_impl(pd) && op->cin / g * op->kh * op->kw > 1;
  if ((is_reference_impl(pd) || gemm) && op->residual == WMFI_NN_NONE) {
    /* No optimized direct kernel reads or writes these layouts (e.g. ResNeXt's groups of 4 or 8 channels,
     * ConvNeXt's 3-channel stem into nhwc, channel counts that are not multiples of the CPU's block in plain
     * layout: ShuffleNet x1.0's 116): let oneDNN choose both layouts (a blocked one pads the channels) and
     * reorder around this one convolution. */
    dnnl_primitive_desc_destroy(pd);
    pd = NULL;
    if (channels_last) WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, p->act, dnnl_format_tag_any), "dst descriptor");
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&any_src, 4, sd, p->act, dnnl_format_tag_any), "src descriptor");
    WMFI_TRY(conv_pd(p, op, &any_src, &dmd, &wmd, S->h, S->w, oh, ow, 0, &pd));
    /* Still GEMM: oneDNN 2.6's direct AVX2 kernels refuse some paddings (AlexNet's 11x11 stride 4 with padding 2)
     * that they run unpadded: convolve an explicitly zero-padded copy of the source without padding. */
    int ph = pad_of(op, 0), pw = pad_of(op, 1);
    int ph_r = (oh - 1) * op->stride + op->kh - S->h - ph, pw_r = (ow - 1) * op->stride + op->kw - S->w - pw;
    int padded = 0;
    if (is_gemm_impl(pd) && (ph || pw || ph_r > 0 || pw_r > 0) && ph_r >= 0 && pw_r >= 0) {
      dnnl_primitive_desc_t unpadded = NULL;
      dnnl_dims_t pd_dims = {p->cfg.n, op->cin, S->h + ph + ph_r, S->w + pw + pw_r};
      WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&any_src, 4, pd_dims, p->act, dnnl_format_tag_any), "src descriptor");
      if (conv_pd(p, op, &any_src, &dmd, &wmd, (int)pd_dims[2], (int)pd_dims[3], oh, ow, 1, &unpadded) != WMF_OK)
        wmf_clear_error();
      else if (is_gemm_impl(unpadded) || is_reference_impl(unpadded))
        dnnl_primitive_desc_destroy(unpadded);
      else
        dnnl_primitive_desc_destroy(pd), pd = unpadded, padded = 1;
    }
    const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    if (padded) { /* the padded copy: zeros, then the source into its interior */
      int tmp_in = edge_in(p, i);
      dnnl_memory_desc_t interior;
      dnnl_dims_t dims = {p->cfg.n, op->cin, S->h, S->w}, off = {0, 0, ph, pw};
      p->t[tmp_in].last_use = i;
      WMFI_TRY(define(p, tmp_in, want, (int)want->dims[2], (int)want->dims[3], WMFI_NN_NONE));
      plan_step *z = new_step(p, STEP_ZERO);
      WMFI_CHECK(z, WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
      z->dst = tmp_in;
      z->zero_bytes = dnnl_memory_desc_get_size(want);
      WMFI_DNNL_TRY(dnnl_memory_desc_init_submemory(&interior, want, dims, off), "padded source descriptor");
      WMFI_TRY(reorder_step(p, src, tmp_in, &interior, "padding reorder"));
      src = tmp_in;
      S = &p->t[src];
    } else if (!dnnl_memory_desc_equal(want, &S->md)) {
      int tmp_in = edge_in(p, i);
      p->t[tmp_in].last_use = i;
      WMFI_TRY(add_reorder(p, src, tmp_in, want, "reorder"));
      src = tmp_in;
      S = &p->t[src];
    }
    const dnnl_memory_desc_t *got = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    if (channels_last ? !wmfi_nn_is_nhwc(got) : wmfi_nn_block_of(got) != wmfi_nn_native_block() && op->cout % 16 == 0) {
      tmp_out = edge_out(p, i);
      p->t[tmp_out].last_use = i;
    }
  }
  int out = tmp_out != WMFI_NN_NONE ? tmp_out : op->dst;
  plan_step *s;
  WMFI_TRY(define(p, out, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), oh, ow,
                  op->act_then_sum ? WMFI_NN_NONE : op->residual));
  WMFI_TRY(new_step2(p, STEP_PRIM, DNNL_ARG_SRC, src, &S->md, DNNL_ARG_DST, out, &p->t[out].md, &s));
  if (op->residual != WMFI_NN_NONE && op->act_then_sum) { /* the residual: the last post-op's second source */
    const_dnnl_primitive_attr_t attr;
    const_dnnl_post_ops_t po;
    WMFI_DNNL_TRY(dnnl_primitive_desc_get_attr(pd, &attr), "post-ops");
    WMFI_DNNL_TRY(dnnl_primitive_attr_get_post_ops(attr, &po), "post-ops");
    add_arg(s, DNNL_ARG_ATTR_MULTIPLE_POST_OP(dnnl_post_ops_len(po) - 1) | DNNL_ARG_SRC_1, op->residual,
            &p->t[op->residual].md, NULL);
  }
  WMFI_TRY(weights_arg(p, s, op, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &plain));
  if (!p->cfg.prepare) WMFI_TRY(bias_arg(p, s, op->b, op->cout));
  WMFI_TRY(finish_prim(p, s, pd));
  if (tmp_out != WMFI_NN_NONE) {
    dnnl_memory_desc_t want_out;
    if (channels_last) WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&want_out, 4, dd, p->act, dnnl_acdb), "dst descriptor");
    else WMFI_TRY(wmfi_nn_md(&want_out, p->cfg.n, op->cout, oh, ow, p->act, wmfi_nn_native_block()));
    WMFI_TRY(add_reorder(p, tmp_out, op->dst, &want_out, "reorder"));
  }
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

static wmf_status build_pool(wmfi_nn_plan *p, wmfi_nn_op *op) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  tstate *S = &p->t[op->src];
  int oh, ow;
  WMFI_TRY(out_size(op, S->h, S->w, &oh, &ow));
  dnnl_memory_desc_t dmd;
  dnnl_dims_t dd = {p->cfg.n, op->cout ? op->cout : (int)S->md.dims[1], oh, ow};
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&dmd, 4, dd, p->act, dnnl_format_tag_any), "dst descriptor");
  int ph = pad_of(op, 0), pw = pad_of(op, 1);
  dnnl_dims_t strides = {op->stride, op->stride}, k = {op->kh, op->kw}, dil = {0, 0}, pad = {ph, pw};
  dnnl_dims_t pad_r = {(oh - 1) * op->stride + op->kh - S->h - ph, (ow - 1) * op->stride + op->kw - S->w - pw};
  dnnl_pooling_v2_desc_t pdsc;
  WMFI_DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference,
                                                  op->kind == WMFI_NN_MAXPOOL ? dnnl_pooling_max : dnnl_pooling_avg_include_padding,
                                                  &S->md, &dmd, strides, k, dil, pad, pad_r),
                "pooling descriptor");
  WMFI_TRY(make_pd(p, &pdsc, NULL, NULL, 0, 0, &pd, "pooling primitive descriptor"));
  plan_step *s;
  WMFI_TRY(define(p, op->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), oh, ow, WMFI_NN_NONE));
  WMFI_TRY(prim_step(p, pd, DNNL_ARG_SRC, op->src, &S->md, DNNL_ARG_DST, op->dst, &p->t[op->dst].md, &s));
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* A linear layer cin -> cout on `rows` vectors of plain row-major fp32 as a 1x1 convolution: the vectors are
 * the bytes of a (1, cin, rows, 1) image in channels-last order (nhwc), the weights torch's (cout, cin) as
 * oihw (*plain; oneDNN chooses their layout), bias, then the post-ops (make_pd's sum and act). *src and *dst
 * describe the convolution's source and destination. */
static wmf_status linear_conv_pd(wmfi_nn_plan *p, int64_t cin, int64_t cout, int64_t rows, int sum, int act,
                                 dnnl_memory_desc_t *src, dnnl_memory_desc_t *dst, dnnl_memory_desc_t *plain,
                                 dnnl_primitive_desc_t *pd) {
  dnnl_memory_desc_t wmd, bmd;
  dnnl_dims_t sd = {1, cin, rows, 1}, dd = {1, cout, rows, 1}, wd = {cout, cin, 1, 1}, bd = {cout}, one = {1, 1}, zero = {0, 0};
  const char *what = "linear layer descriptor";
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(src, 4, sd, dnnl_f32, dnnl_acdb), what);
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(dst, 4, dd, dnnl_f32, dnnl_acdb), what);
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_format_tag_any), what);
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(plain, 4, wd, dnnl_f32, dnnl_oihw), what);
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a), what);
  dnnl_convolution_desc_t cd;
  WMFI_DNNL(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, src, &wmd, &bmd,
                                               dst, one, zero, zero),
            what);
  return make_pd(p, &cd, NULL, NULL, sum, act, pd, "linear layer primitive descriptor");
}

/* A linear layer on N x cin rows (a classifier, a head's layers, SE's): run on blocks of FC_ROWS rows. A 4-D
 * source (VGG's and AlexNet's pooled maps) is first reordered to plain nchw, so its rows are torch's
 * flatten order and the weights are torch's (cout, cin) whatever layout the convolutions chose. Each block is
 * a 1x1 convolution over its rows seen as an nhwc image (1, cin, rows, 1), its weights reordered once at load
 * into the layout oneDNN's 1x1 kernel reads; oneDNN's inner product, whose GEMM packs the plain weights again
 * at every call, took 3x the CPU time for AlexNet's 9216 x 4096 on AVX2, and its GEMM rounds a row
 * differently by its place among the rows (the squeeze-and-excitation layers of EfficientNet, RegNet Y and
 * MobileNet-v3 did, on 16-row blocks). The 1x1 kernel computes a row the same way whatever the number of rows
 * (1 to 16), the row's place among them and the thread count (tests/nn/test_parity.c asserts it for every
 * network of the suite), so a batch under FC_ROWS runs on exactly its rows: no padding, a sixteenth of the
 * work at batch 1. Only where oneDNN has no optimized 1x1 kernel for the shapes (none of the supported
 * networks on AVX2), the inner product on FC_ROWS rows, whose rows are then not independent of their place. */
static wmf_status build_fc(wmfi_nn_plan *p, wmfi_nn_op *op) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  int src = op->src;
  tstate *S = &p->t[src];
  int64_t cin = op->cin, cout = op->cout;
  if (S->md.ndims == 4) {
    WMFI_CHECK(S->md.dims[1] * S->h * S->w == cin, WMF_ERR_SHAPE, "wmf_session_create: the head expects %d inputs",
               op->cin);
    if (wmfi_nn_block_of(&S->md) != 1 || S->md.data_type != dnnl_f32) {
      dnnl_memory_desc_t flat;
      int i = (int)(op - p->m->g.ops), tmp = edge_in(p, i);
      WMFI_TRY(wmfi_nn_md(&flat, p->cfg.n, (int)S->md.dims[1], S->h, S->w, dnnl_f32, 1));
      p->t[tmp].last_use = i;
      WMFI_TRY(add_reorder(p, src, tmp, &flat, "head input reorder"));
      src = tmp;
    }
  }
  dnnl_memory_desc_t wmd, plain, bmd, dmd, fsrc, fdst;
  dnnl_dims_t bd = {cout}, dd = {p->cfg.n, cout};
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_a), "bias descriptor");
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab), "dst descriptor");
  int rows = p->cfg.n < FC_ROWS ? p->cfg.n : FC_ROWS;
  WMFI_TRY(linear_conv_pd(p, cin, cout, rows, SUM_NONE, op->relu, &fsrc, &fdst, &plain, &pd));
  if (is_reference_impl(pd)) {
    dnnl_primitive_desc_destroy(pd);
    pd = NULL;
  }
  if (!pd) {
    rows = FC_ROWS;
    dnnl_dims_t sd = {FC_ROWS, cin}, fd = {FC_ROWS, cout}, wd = {cout, cin};
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&fsrc, 2, sd, dnnl_f32, dnnl_ab), "head descriptor");
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&fdst, 2, fd, dnnl_f32, dnnl_ab), "head descriptor");
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dnnl_f32, dnnl_format_tag_any), "weights descriptor");
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&plain, 2, wd, dnnl_f32, dnnl_ab), "weights descriptor");
    dnnl_inner_product_desc_t ipd;
    WMFI_DNNL_TRY(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, &fsrc, &wmd, &bmd, &fdst),
                  "inner product descriptor");
    WMFI_TRY(make_pd(p, &ipd, NULL, NULL, SUM_NONE, op->relu, &pd, "inner product primitive descriptor"));
  }
  plan_step *s = new_step(p, STEP_FC);
  WMFI_CHECK(s, WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
  WMFI_TRY(define(p, op->dst, &dmd, 1, 1, WMFI_NN_NONE));
  if (!p->cfg.prepare) {
    size_t row = (size_t)cin * sizeof(float);
    s->src = src;
    s->dst = op->dst;
    s->c = op->cout;
    s->fc_src_row = row;
    s->fc_src = aligned_alloc64(row * rows, &p->owned, &p->n_owned);
    s->fc_dst = aligned_alloc64((size_t)rows * op->cout * sizeof(float), &p->owned, &p->n_owned);
    WMFI_CHECK(s->fc_src && s->fc_dst, WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
    memset(s->fc_src, 0, row * rows); /* padding rows hold zeros, never uninitialized memory */
    dnnl_memory_t mem;
    WMFI_DNNL_TRY(dnnl_memory_create(&mem, &fsrc, p->m->engine, s->fc_src), "head memory");
    add_arg(s, DNNL_ARG_SRC, ARG_OWN_MEMORY, NULL, mem);
    WMFI_DNNL_TRY(dnnl_memory_create(&mem, &fdst, p->m->engine, s->fc_dst), "head memory");
    add_arg(s, DNNL_ARG_DST, ARG_OWN_MEMORY, NULL, mem);
  }
  WMFI_TRY(weights_arg(p, s, op, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &plain));
  if (!p->cfg.prepare) WMFI_TRY(bias_arg(p, s, op->b, op->cout));
  WMFI_TRY(finish_prim(p, s, pd));
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

static wmf_status need_block(const tstate *S, int *block) {
  *block = wmfi_nn_block_of(&S->md);
  if (!*block) return wmfi_fail(WMF_ERR_BACKEND, "wmf_session_create: oneDNN chose an activation layout this library does not read");
  return WMF_OK;
}

/* A loop step that reads `src` (all channels, or a prefix for BNRELU) into a new tensor. */
static wmf_status build_kernel(wmfi_nn_plan *p, wmfi_nn_op *op, step_kind kind, int src, int dst) {
  tstate *S = &p->t[src];
  int block = WMFI_NN_NHWC;
  /* global average pooling also reads channels-last tensors (ConvNeXt's) */
  wmf_status st = kind == STEP_GAP && wmfi_nn_is_nhwc(&S->md) ? WMF_OK : need_block(S, &block);
  if (st != WMF_OK) return st;
  plan_step *s = new_step(p, kind);
  if (!s) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
  s->op = op;
  s->src = src;
  s->dst = dst;
  s->c_src = (int)S->md.dims[1];
  s->h = S->h;
  s->w = S->w;
  s->block = block;
  s->bf16 = S->md.data_type == dnnl_bf16;
  dnnl_memory_desc_t md;
  int c = kind == STEP_BNRELU ? op->cin : s->c_src;
  s->c = c;
  if (kind == STEP_BNRELU) {
    if (c > s->c_src || c % block) return wmfi_fail(WMF_ERR_SHAPE, "wmf_session_create: BN+ReLU prefix of %d channels", c);
    st = wmfi_nn_md(&md, p->cfg.n, c, S->h, S->w, p->act, block);
    if (st == WMF_OK) st = define(p, dst, &md, S->h, S->w, WMFI_NN_NONE);
  } else if (kind == STEP_MUL) { /* the source's layout, padding included */
    st = define(p, dst, &S->md, S->h, S->w, WMFI_NN_NONE);
  } else if (kind == STEP_ADAPTIVE) {
    st = wmfi_nn_md(&md, p->cfg.n, c, op->out_hw, op->out_hw, dnnl_f32, block);
    if (st == WMF_OK) st = define(p, dst, &md, op->out_hw, op->out_hw, WMFI_NN_NONE);
  } else if (dst != WMFI_NN_NONE) {
    dnnl_dims_t dd = {p->cfg.n, c};
    WMFI_DNNL(dnnl_memory_desc_init_by_tag(&md, 2, dd, dnnl_f32, dnnl_ab), "descriptor");
    st = define(p, dst, &md, 1, 1, WMFI_NN_NONE);
  }
  return st;
}

static wmf_status build_copy(wmfi_nn_plan *p, wmfi_nn_op *op) {
  tstate *S = &p->t[op->src], *D = &p->t[op->dst];
  wmf_status st;
  if (!D->defined) {
    dnnl_memory_desc_t md;
    st = wmfi_nn_md(&md, p->cfg.n, p->m->g.tensors[op->dst].c, S->h, S->w, p->act,
                    p->m->g.tensors[op->dst].block16 ? wmfi_nn_native_block() : 1);
    if (st == WMF_OK) st = define(p, op->dst, &md, S->h, S->w, WMFI_NN_NONE);
    if (st != WMF_OK) return st;
  }
  if (D->h != S->h || D->w != S->w) return wmfi_fail(WMF_ERR_SHAPE, "wmf_session_create: concatenation of different sizes");
  if (op->c_step > 1) { /* every c_step-th channel of a plain destination: a strided view, one reorder */
    if (wmfi_nn_block_of(&D->md) != 1)
      return wmfi_fail(WMF_ERR_BACKEND, "wmf_session_create: a strided channel copy needs a plain destination");
    dnnl_memory_desc_t view;
    dnnl_dim_t hw = (dnnl_dim_t)S->h * S->w;
    dnnl_dims_t dims = {p->cfg.n, S->md.dims[1], S->h, S->w}, strides = {D->md.dims[1] * hw, op->c_step * hw, S->w, 1};
    WMFI_DNNL(dnnl_memory_desc_init_by_strides(&view, 4, dims, D->md.data_type, strides), "strided channel view");
    view.offset0 = op->c_off * hw;
    return reorder_step(p, op->src, op->dst, &view, "channel shuffle reorder");
  }
  int bs = wmfi_nn_block_of(&S->md), bd = wmfi_nn_block_of(&D->md), c = (int)S->md.dims[1];
  if (bs && bs == bd && S->md.data_type == D->md.data_type && c % bs == 0 && op->c_off % bs == 0) {
    /* same layout: the slice is one contiguous run per image, a memcpy */
    plan_step *s = new_step(p, STEP_COPY);
    if (!s) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
    s->op = op;
    s->src = op->src;
    s->dst = op->dst;
    s->c = c;
    s->c_src = (int)D->md.dims[1];
    s->h = S->h;
    s->w = S->w;
    s->block = bs;
    return WMF_OK;
  }
  dnnl_memory_desc_t sub;
  dnnl_dims_t dims = {p->cfg.n, S->md.dims[1], S->h, S->w}, off = {0, op->c_off, 0, 0};
  WMFI_DNNL(dnnl_memory_desc_init_submemory(&sub, &D->md, dims, off), "block slice descriptor");
  return reorder_step(p, op->src, op->dst, &sub, "concatenation reorder");
}

/* A channel slice of a plain tensor: a submemory view over the source's slot. */
static wmf_status build_slice(wmfi_nn_plan *p, wmfi_nn_op *op, int src) {
  tstate *S = &p->t[src];
  if (wmfi_nn_block_of(&S->md) != 1)
    return wmfi_fail(WMF_ERR_BACKEND, "wmf_session_create: a channel slice needs a plain source");
  dnnl_memory_desc_t sub;
  dnnl_dims_t dims = {p->cfg.n, op->cout, S->h, S->w}, off = {0, op->c_off, 0, 0};
  WMFI_DNNL(dnnl_memory_desc_init_submemory(&sub, &S->md, dims, off), "channel slice descriptor");
  return define(p, op->dst, &sub, S->h, S->w, src);
}

/* --- token ops (ViT): plain row-major fp32 tensors (N, T, C), tstate.h = T, w = 1; a plain N x C is
 * a token op's tensor with T = 1 --- */

static wmf_status tokens_md(dnnl_memory_desc_t *md, int n, int t, int c) {
  dnnl_dims_t d = {n, t, c};
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(md, 3, d, dnnl_f32, dnnl_abc), "token descriptor");
  return WMF_OK;
}

/* Makes step s (source and destination arguments first) run once per image, moving those two arguments
 * by src_bytes and dst_bytes per image. */
static void run_per_image(plan_step *s, size_t src_bytes, size_t dst_bytes) {
  s->per_image = 1;
  s->args[0].image_bytes = src_bytes;
  s->args[1].image_bytes = dst_bytes;
}

/* A step of `kind` for a loop over token tensors (the fields run reads). */
static wmf_status token_step(wmfi_nn_plan *p, wmfi_nn_op *op, step_kind kind, int c, int h, int w, int block,
                             int bf16) {
  plan_step *s = new_step(p, kind);
  if (!s) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
  s->op = op;
  s->src = op->src;
  s->dst = op->dst;
  s->c = c;
  s->h = h;
  s->w = w;
  s->block = block;
  s->bf16 = bf16;
  return WMF_OK;
}

/* The patch grid (a convolution's output in any blocked layout) into tokens, class token first. */
static wmf_status build_tokens(wmfi_nn_plan *p, wmfi_nn_op *op) {
  wmf_status st = WMF_OK;
  tstate *S = &p->t[op->src];
  int block, t = S->h * S->w + 1;
  WMFI_TRY(need_block(S, &block));
  WMFI_CHECK(t == op->out_hw, WMF_ERR_INVALID_ARGUMENT, "wmf_session_create: a %dx%d patch grid makes %d tokens, the "
             "position embedding holds %d", S->h, S->w, t, op->out_hw);
  dnnl_memory_desc_t md;
  WMFI_TRY(tokens_md(&md, p->cfg.n, t, op->cout));
  WMFI_TRY(define(p, op->dst, &md, t, 1, WMFI_NN_NONE));
  WMFI_TRY(token_step(p, op, STEP_TOKENS, op->cout, S->h, S->w, block, S->md.data_type == dnnl_bf16));
done:
  return st;
}

static wmf_status build_class_token(wmfi_nn_plan *p, wmfi_nn_op *op) {
  wmf_status st = WMF_OK;
  dnnl_memory_desc_t md;
  dnnl_dims_t d = {p->cfg.n, op->cout};
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&md, 2, d, dnnl_f32, dnnl_ab), "descriptor");
  WMFI_TRY(token_step(p, op, STEP_CLASS_TOKEN, op->cout, p->t[op->src].h, 1, 1, 0));
  WMFI_TRY(define(p, op->dst, &md, 1, 1, WMFI_NN_NONE));
done:
  return st;
}

/* oneDNN's layer normalization over the last axis, with torch's affine weight and bias (eps 1e-6). A token
 * tensor (N, T, C) or a plain N x C normalizes its rows. An image tensor (N, C, H, W) normalizes the
 * channels of each pixel (ConvNeXt's LayerNorm2d and its blocks' channels-last LayerNorm): oneDNN
 * normalizes the last logical dimension, so the tensor must be nhwc (its producer was made to write
 * it so: wmfi_nn_tensor.channels_last) and the primitive sees the same bytes as an (N, H, W, C) tensor
 * in plain order, whose last dimension is the channels: exactly torch's permute, layer_norm, permute,
 * without moving data. The output is again (N, C, H, W) nhwc. */
static wmf_status build_layernorm(wmfi_nn_plan *p, wmfi_nn_op *op) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  int src = op->src;
  tstate *S = &p->t[src];
  dnnl_memory_desc_t view = S->md, out = S->md;
  if (S->md.ndims == 4) {
    dnnl_dims_t nhwc = {p->cfg.n, S->h, S->w, op->cin};
    WMFI_CHECK(wmfi_nn_is_nhwc(&S->md), WMF_ERR_BACKEND,
               "wmf_session_create: a LayerNorm over channels needs a channels-last (nhwc) source");
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&view, 4, nhwc, S->md.data_type, dnnl_abcd), "layer normalization descriptor");
  }
  dnnl_layer_normalization_desc_t ld;
  WMFI_DNNL_TRY(dnnl_layer_normalization_forward_desc_init(&ld, dnnl_forward_inference, &view, NULL, 1e-6f,
                                                           dnnl_use_scale | dnnl_use_shift),
                "layer normalization descriptor");
  WMFI_TRY(make_pd(p, &ld, NULL, NULL, 0, 0, &pd, "layer normalization primitive descriptor"));
  plan_step *s;
  WMFI_TRY(define(p, op->dst, &out, S->h, S->w, WMFI_NN_NONE));
  WMFI_TRY(prim_step(p, pd, DNNL_ARG_SRC, src, &view, DNNL_ARG_DST, op->dst, &view, &s));
  if (!p->cfg.prepare) {
    WMFI_TRY(vector_arg(p, s, DNNL_ARG_SCALE, op->scale, op->cout));
    WMFI_TRY(vector_arg(p, s, DNNL_ARG_SHIFT, op->shift, op->cout));
  }
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* A linear layer on every token, as a 1x1 convolution: the token tensor (N, T, C), plain, holds the same bytes
 * as a (1, C, N x T, 1) image in channels-last order (nhwc), so oneDNN's 1x1 convolution kernels run on it
 * without moving data, on all the batch's tokens at once, with the weights reordered once at load into the
 * layout they want (on AVX2, 10-20 % more per cycle than its GEMM for a 197-row matmul; one image of N x T
 * pixels rather than N images of T: 5-12 % more at batch 16 with 2 threads). Bias, GELU and the residual sum
 * (in place into the residual's buffer) are post-ops. oneDNN's 1x1 kernel computes each pixel (token) the same
 * way whatever the number of pixels and the token's place among them (checked on AVX2 for ViT-B/L/H's shapes,
 * 1 to 3152 rows), so an image's numbers do not depend on the batch (tests/nn/test_parity.c asserts it). */
static wmf_status build_linear(wmfi_nn_plan *p, wmfi_nn_op *op) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  tstate *S = &p->t[op->src];
  int t = S->h;
  dnnl_memory_desc_t src, dst, plain, out;
  int sum = op->residual != WMFI_NN_NONE ? SUM_THEN_ACT : SUM_NONE, act = op->gelu ? WMFI_NN_ACT_GELU : WMFI_NN_ACT_NONE;
  WMFI_TRY(linear_conv_pd(p, op->cin, op->cout, (int64_t)p->cfg.n * t, sum, act, &src, &dst, &plain, &pd));
  if (S->md.ndims == 3) WMFI_TRY(tokens_md(&out, p->cfg.n, t, op->cout));
  else {
    dnnl_dims_t dd = {p->cfg.n, op->cout};
    WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&out, 2, dd, dnnl_f32, dnnl_ab), "linear layer descriptor");
  }
  plan_step *s;
  WMFI_TRY(define(p, op->dst, &out, t, 1, op->residual));
  WMFI_TRY(new_step2(p, STEP_PRIM, DNNL_ARG_SRC, op->src, &src, DNNL_ARG_DST, op->dst, &dst, &s));
  WMFI_TRY(weights_arg(p, s, op, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &plain));
  if (!p->cfg.prepare) WMFI_TRY(bias_arg(p, s, op->b, op->cout));
  WMFI_TRY(finish_prim(p, s, pd));
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* A matmul step batched over images and heads, over strided views (the heads of a q|k|v tensor) with an
 * output scale; with per_image, made for one image and run once per image (a, b, c move by the bytes given). */
static wmf_status attention_matmul(wmfi_nn_plan *p, int per_image, int a, const dnnl_memory_desc_t *a_md,
                                   size_t a_image, int b, size_t b_off, const dnnl_memory_desc_t *b_md, size_t b_image,
                                   int c, const dnnl_memory_desc_t *c_md, size_t c_image, float scale) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_matmul_desc_t md;
  plan_step *s;
  WMFI_DNNL_TRY(dnnl_matmul_desc_init(&md, a_md, b_md, NULL, c_md), "attention matmul descriptor");
  WMFI_TRY(make_pd_ex(p, &md, NULL, NULL, 0, WMFI_NN_ACT_NONE, scale, &pd, "attention matmul primitive descriptor"));
  WMFI_TRY(new_step2(p, STEP_PRIM, DNNL_ARG_SRC, a, a_md, DNNL_ARG_DST, c, c_md, &s));
  add_arg_at(s, DNNL_ARG_WEIGHTS, b, b_off, b_md, NULL);
  if (per_image) {
    run_per_image(s, a_image, c_image);
    s->args[2].image_bytes = b_image;
  }
  WMFI_TRY(finish_prim(p, s, pd));
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* The scores of one image (heads x T x T floats) up to which attention runs on the whole batch at once
 * (three primitives per layer); above it (ViT-H/14 at 518 px: 120 MB), image by image, so the scores
 * tensor holds one image whatever the batch. The choice does not depend on the batch, so the session's
 * buffers, sized for its maximum batch, fit every smaller one. */
#define ATTENTION_BATCH_SCORES ((size_t)16 << 20)

/* Multi-head attention on the q|k|v rows of each token, per head: scores = Q Kt / sqrt(d) (matmul with an
 * output scale, into the plan's scores tensor), softmax over the keys in place, then scores V written
 * straight into the head's columns of the (N, T, C) output. The heads are strided views of the q|k|v
 * tensor: no copies. Each matmul is batched over images and heads (or over one image's heads, run image by
 * image: ATTENTION_BATCH_SCORES); every (image, head) product is one small GEMM with the same shapes either
 * way. */
static wmf_status build_attention(wmfi_nn_plan *p, int i, wmfi_nn_op *op) {
  wmf_status st = WMF_OK;
  dnnl_primitive_desc_t pd = NULL;
  int qkv = op->src, scores = edge_in(p, i);
  int64_t n = p->cfg.n, t = p->t[qkv].h, c = op->cout, h = op->groups, d = c / h;
  int per_image = (size_t)(h * t * t) * sizeof(float) > ATTENTION_BATCH_SCORES && n > 1;
  int64_t imgs = per_image ? 1 : n;
  dnnl_memory_desc_t q_md, k_md, v_md, s_md, o_md, out;
  dnnl_dims_t qd = {imgs, h, t, d}, kd = {imgs, h, d, t}, sd = {imgs, h, t, t};
  dnnl_dims_t q_str = {t * 3 * c, d, 3 * c, 1}, k_str = {t * 3 * c, d, 1, 3 * c}, o_str = {t * c, d, c, 1};
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_strides(&q_md, 4, qd, dnnl_f32, q_str), "attention descriptor");
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_strides(&k_md, 4, kd, dnnl_f32, k_str), "attention descriptor");
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_strides(&v_md, 4, qd, dnnl_f32, q_str), "attention descriptor");
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_strides(&o_md, 4, qd, dnnl_f32, o_str), "attention descriptor");
  WMFI_DNNL_TRY(dnnl_memory_desc_init_by_tag(&s_md, 4, sd, dnnl_f32, dnnl_abcd), "attention descriptor");
  p->t[scores].last_use = i;
  WMFI_TRY(define(p, scores, &s_md, (int)t, (int)t, WMFI_NN_NONE));
  WMFI_TRY(tokens_md(&out, (int)n, (int)t, (int)c));
  WMFI_TRY(define(p, op->dst, &out, (int)t, 1, WMFI_NN_NONE));
  int first = p->n_steps;
  size_t f = sizeof(float), qkv_image = (size_t)(t * 3 * c) * f;
  WMFI_TRY(attention_matmul(p, per_image, qkv, &q_md, qkv_image, qkv, (size_t)c * f, &k_md, qkv_image, scores, &s_md,
                            0, (float)(1.0 / sqrt((double)d))));
  dnnl_softmax_desc_t smd;
  plan_step *s;
  WMFI_DNNL_TRY(dnnl_softmax_forward_desc_init(&smd, dnnl_forward_inference, &s_md, 3), "softmax descriptor");
  WMFI_TRY(make_pd(p, &smd, NULL, NULL, 0, 0, &pd, "softmax primitive descriptor"));
  WMFI_TRY(prim_step(p, pd, DNNL_ARG_SRC, scores, &s_md, DNNL_ARG_DST, scores, &s_md, &s));
  if (per_image) run_per_image(s, 0, 0);
  WMFI_TRY(attention_matmul(p, per_image, scores, &s_md, 0, qkv, 2 * (size_t)c * f, &v_md, qkv_image, op->dst, &o_md,
                            (size_t)(t * c) * f, 0.f));
  if (per_image) p->steps[first].image_group = p->n_steps - first;
done:
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* The bf16 copy of the input, made by a reorder at the edge. */
static wmf_status build_input(wmfi_nn_plan *p) {
  dnnl_memory_desc_t md;
  wmf_status st = wmfi_nn_md(&md, p->cfg.n, 3, p->cfg.h, p->cfg.w, p->act, 1);
  return st != WMF_OK ? st : add_reorder(p, WMFI_NN_INPUT, input_copy(p), &md, "input reorder");
}

static wmf_status build(wmfi_nn_plan *p) {
  wmfi_nn_graph *g = &p->m->g;
  wmf_status st = WMF_OK;
  /* last readers: a tensor frees its slot after them; outputs live to the end */
  for (int t = 0; t < p->n_t; t++) p->t[t].last_use = NOT_READ, p->t[t].slot = NO_SLOT;
  for (int i = 0; i < g->n_ops; i++) {
    const wmfi_nn_op *op = &g->ops[i];
    p->t[op->src].last_use = i;
    if (op->residual != WMFI_NN_NONE) p->t[op->residual].last_use = i;
    if (op->kind == WMFI_NN_COPY) p->t[op->dst].last_use = i;
    if (op->kind == WMFI_NN_MUL) p->t[op->scale_src].last_use = i;
  }
  for (int i = g->n_ops - 1; i >= 0; i--) { /* a slice's buffer is its source's: the source owns it */
    const wmfi_nn_op *op = &g->ops[i];
    if (op->kind != WMFI_NN_SLICE) continue;
    if (p->t[op->dst].last_use > p->t[op->src].last_use) p->t[op->src].last_use = p->t[op->dst].last_use;
    p->t[op->dst].last_use = NOT_READ;
  }
  p->t[g->logits].last_use = p->t[g->features].last_use = READ_TO_END;
  int stage = p->cfg.stage; /* the tensor the stage pools: a view's source */
  if (stage != WMFI_NN_NONE && g->tensors[stage].view_of) {
    const wmfi_nn_tensor *v = &g->tensors[stage];
    p->stage_view.kind = WMFI_NN_GAP;
    p->stage_view.scale = (float *)v->view_scale;
    p->stage_view.shift = (float *)v->view_shift;
    p->stage_view.relu = 0;
    stage = v->view_of;
  }
  if (stage != WMFI_NN_NONE) p->t[stage].last_use = READ_TO_END;

  tstate *in = &p->t[WMFI_NN_INPUT];
  WMFI_TRY(wmfi_nn_md(&in->md, p->cfg.n, 3, p->cfg.h, p->cfg.w, dnnl_f32, 1));
  in->h = p->cfg.h;
  in->w = p->cfg.w;
  in->defined = 1;
  int input = WMFI_NN_INPUT; /* what the first ops read: the input or its bf16 copy */
  if (p->act != dnnl_f32) {
    st = build_input(p);
    input = input_copy(p);
    p->t[input].last_use = in->last_use;
    WMFI_TRY(st);
  }
  for (int i = 0; i < g->n_ops; i++) {
    wmfi_nn_op *op = &g->ops[i];
    int src = op->src == WMFI_NN_INPUT ? input : op->src;
    switch (op->kind) {
      case WMFI_NN_CONV: WMFI_TRY(build_conv(p, i, op, src)); break;
      case WMFI_NN_MAXPOOL:
      case WMFI_NN_AVGPOOL: WMFI_TRY(build_pool(p, op)); break;
      case WMFI_NN_FC: WMFI_TRY(build_fc(p, op)); break;
      case WMFI_NN_COPY: WMFI_TRY(build_copy(p, op)); break;
      case WMFI_NN_BNRELU: WMFI_TRY(build_kernel(p, op, STEP_BNRELU, src, op->dst)); break;
      case WMFI_NN_GAP: WMFI_TRY(build_kernel(p, op, STEP_GAP, src, op->dst)); break;
      case WMFI_NN_ADAPTIVE: WMFI_TRY(build_kernel(p, op, STEP_ADAPTIVE, src, op->dst)); break;
      case WMFI_NN_MUL: WMFI_TRY(build_kernel(p, op, STEP_MUL, src, op->dst)); break;
      case WMFI_NN_SLICE: WMFI_TRY(build_slice(p, op, src)); break;
      case WMFI_NN_TOKENS: WMFI_TRY(build_tokens(p, op)); break;
      case WMFI_NN_LAYERNORM: WMFI_TRY(build_layernorm(p, op)); break;
      case WMFI_NN_LINEAR: WMFI_TRY(build_linear(p, op)); break;
      case WMFI_NN_ATTENTION: WMFI_TRY(build_attention(p, i, op)); break;
      case WMFI_NN_CLASS_TOKEN: WMFI_TRY(build_class_token(p, op)); break;
    }
    if (!p->cfg.prepare) release_after(p, i, op->act_then_sum ? WMFI_NN_NONE : op->residual);
  }
  if (p->cfg.stage != WMFI_NN_NONE && !p->cfg.prepare) {
    WMFI_TRY(build_kernel(p, stage != p->cfg.stage ? &p->stage_view : NULL, STEP_GAP, stage, WMFI_NN_NONE));
    p->stage_out = aligned_alloc64((size_t)p->cfg.n * p->steps[p->n_steps - 1].c * sizeof(float), &p->owned, &p->n_owned);
    WMFI_CHECK(p->stage_out, WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
  }
done:
  return st;
}

/* Gives every tensor argument a memory object over its slot. */
static wmf_status bind(wmfi_nn_plan *p, wmfi_nn_buffers *buf) {
  if (!buf->slot) {
    buf->slot = wmfi_calloc((size_t)p->n_slots + 1, sizeof *buf->slot);
    buf->slot_size = wmfi_calloc((size_t)p->n_slots + 1, sizeof *buf->slot_size);
    if (!buf->slot || !buf->slot_size) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
    buf->n_slots = p->n_slots;
    for (int s = 0; s < p->n_slots; s++) {
      buf->slot[s] = wmfi_malloc(p->slot_need[s] + 64);
      if (!buf->slot[s]) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory for activations");
      buf->slot_size[s] = p->slot_need[s];
    }
    buf->scratch = wmfi_malloc(p->scratch_need + 64);
    if (!buf->scratch) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory for scratchpad");
    buf->scratch_size = p->scratch_need;
  }
  if (p->scratch_need > buf->scratch_size) { /* a smaller batch may pick kernels with a larger scratchpad */
    void *grown = wmfi_malloc(p->scratch_need + 64);
    if (!grown) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_run: out of memory for scratchpad");
    wmfi_free(buf->scratch);
    buf->scratch = grown;
    buf->scratch_size = p->scratch_need;
  }
  p->buf = buf;
  if (p->n_slots > buf->n_slots)
    return wmfi_fail(WMF_ERR_STATE, "wmf_session_run: buffers planned for the maximum batch do not fit (%d > %d slots, scratchpad %zu > %zu)",
                     p->n_slots, buf->n_slots, p->scratch_need, buf->scratch_size);
  for (int s = 0; s < p->n_slots; s++)
    if (p->slot_need[s] > buf->slot_size[s])
      return wmfi_fail(WMF_ERR_STATE, "wmf_session_run: buffers planned for the maximum batch do not fit (slot %d: %zu > %zu)",
                       s, p->slot_need[s], buf->slot_size[s]);
  p->ptr = wmfi_calloc((size_t)p->n_t, sizeof *p->ptr);
  if (!p->ptr) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_session_create: out of memory");
  for (int t = WMFI_NN_INPUT + 1; t < p->n_t; t++)
    if (p->t[t].slot != NO_SLOT) p->ptr[t] = (void *)(((uintptr_t)buf->slot[p->t[t].slot] + 63) & ~(uintptr_t)63);
  void *scratch = (void *)(((uintptr_t)buf->scratch + 63) & ~(uintptr_t)63);
  p->bound_scratch = scratch;
  for (int i = 0; i < p->n_steps; i++) {
    plan_step *s = &p->steps[i];
    for (int a = 0; a < s->nargs; a++) {
      plan_arg *pa = &s->args[a];
      if (pa->tensor >= 0 || pa->tensor == ARG_SCRATCHPAD) { /* the input's handle is set by each run */
        void *h = pa->tensor == ARG_SCRATCHPAD ? scratch : pa->tensor == WMFI_NN_INPUT ? NULL : p->ptr[pa->tensor];
        if (h && pa->offset) h = (char *)h + pa->offset;
        WMFI_DNNL(dnnl_memory_create(&pa->mem, &pa->md, p->m->engine, h), "memory object");
      }
      s->exec[a].arg = pa->arg;
      s->exec[a].memory = pa->mem;
    }
  }
  return WMF_OK;
}

wmf_status wmfi_nn_plan_create(wmfi_nn_plan **out, wmf_model *m, const wmfi_nn_plan_config *cfg,
                               wmfi_nn_buffers *buf) {
  *out = NULL;
  wmf_status st = WMF_OK;
  wmfi_nn_plan *p = NULL;
  WMFI_ALLOC(p, wmfi_calloc(1, sizeof *p), "wmf_session_create");
  p->m = m;
  p->cfg = *cfg;
  p->act = cfg->bf16 ? dnnl_bf16 : dnnl_f32;
  p->n_t = plan_tensor_count(m);
  WMFI_ALLOC(p->t, wmfi_calloc((size_t)p->n_t, sizeof *p->t), "wmf_session_create");
  WMFI_TRY(build(p));
  if (!cfg->prepare) WMFI_TRY(bind(p, buf));
  *out = p;
  p = NULL;
done:
  wmfi_nn_plan_destroy(p);
  return st;
}

/* Runs per-image step s on image b: its arguments that move per image point at that image's data. */
static wmf_status run_image(wmfi_nn_plan *p, plan_step *s, int b, dnnl_stream_t stream) {
  for (int a = 0; a < s->nargs; a++) {
    const plan_arg *pa = &s->args[a];
    if (pa->image_bytes)
      WMFI_DNNL(dnnl_memory_set_data_handle(pa->mem, (char *)p->ptr[pa->tensor] + pa->offset + b * pa->image_bytes),
                "per-image data");
  }
  WMFI_DNNL(dnnl_primitive_execute(s->prim, stream, s->nargs, s->exec), "primitive execution");
  return WMF_OK;
}

wmf_status wmfi_nn_plan_run(wmfi_nn_plan *p, dnnl_stream_t stream, const float *input) {
  void *scratch = (void *)(((uintptr_t)p->buf->scratch + 63) & ~(uintptr_t)63);
  for (int i = 0; i < p->n_steps; i++) {
    plan_step *s = &p->steps[i];
    for (int a = 0; a < s->nargs; a++) {
      if (s->args[a].tensor == WMFI_NN_INPUT)
        WMFI_DNNL(dnnl_memory_set_data_handle(s->args[a].mem, (void *)input), "input");
      if (s->args[a].tensor == ARG_SCRATCHPAD && scratch != p->bound_scratch)
        WMFI_DNNL(dnnl_memory_set_data_handle(s->args[a].mem, scratch), "scratchpad");
    }
  }
  p->bound_scratch = scratch;
  int bf16 = p->act == dnnl_bf16, n = p->cfg.n;
  for (int i = 0; i < p->n_steps; i++) {
    plan_step *s = &p->steps[i];
    const wmfi_nn_op *op = s->op;
    switch (s->kind) {
      case STEP_PRIM:
        if (!s->per_image) {
          WMFI_DNNL(dnnl_primitive_execute(s->prim, stream, s->nargs, s->exec), "primitive execution");
          break;
        }
        {
          int group = s->image_group ? s->image_group : 1; /* steps i .. i + group - 1, image by image */
          for (int b = 0; b < n; b++)
            for (int j = 0; j < group; j++) {
              wmf_status st = run_image(p, &p->steps[i + j], b, stream);
              if (st != WMF_OK) return st;
            }
          i += group - 1;
        }
        break;
      case STEP_FC:
        for (int r = 0; r < n; r += FC_ROWS) {
          int m = n - r < FC_ROWS ? n - r : FC_ROWS;
          memcpy(s->fc_src, (const char *)p->ptr[s->src] + (size_t)r * s->fc_src_row, (size_t)m * s->fc_src_row);
          WMFI_DNNL(dnnl_primitive_execute(s->prim, stream, s->nargs, s->exec), "primitive execution");
          WMFI_DNNL(dnnl_stream_wait(stream), "stream wait");
          memcpy((float *)p->ptr[s->dst] + (size_t)r * s->c, s->fc_dst, (size_t)m * s->c * sizeof(float));
        }
        break;
      case STEP_BNRELU:
        wmfi_nn_bnrelu(p->ptr[s->src], p->ptr[s->dst], s->bf16, n, s->c_src, s->c, s->h * s->w, s->block, op->scale,
                       op->shift);
        break;
      case STEP_GAP:
        wmfi_nn_gap(p->ptr[s->src], s->dst != WMFI_NN_NONE ? p->ptr[s->dst] : p->stage_out, s->bf16, n, s->c, s->h * s->w,
                    s->block, op ? op->scale : NULL, op ? op->shift : NULL, op ? op->relu : 0);
        break;
      case STEP_COPY: {
        size_t esz = bf16 ? 2 : 4, run = (size_t)s->c * s->h * s->w * esz;
        for (int b = 0; b < n; b++)
          memcpy((char *)p->ptr[s->dst] + ((size_t)b * s->c_src + op->c_off) * s->h * s->w * esz,
                 (const char *)p->ptr[s->src] + b * run, run);
        break;
      }
      case STEP_MUL:
        wmfi_nn_scale_channels(p->ptr[s->src], p->ptr[s->dst], s->bf16, n, s->c, s->h * s->w, s->block,
                               p->ptr[op->scale_src]);
        break;
      case STEP_ADAPTIVE:
        wmfi_nn_adaptive(p->ptr[s->src], p->ptr[s->dst], s->bf16, n, s->c, s->h, s->w, op->out_hw, s->block);
        break;
      case STEP_TOKENS:
        wmfi_nn_tokens(p->ptr[s->src], p->ptr[s->dst], s->bf16, n, s->c, s->h * s->w, s->block, op->scale, op->shift);
        break;
      case STEP_WINO:
        wmfi_nn_wino_run(op, p->ptr[s->src], p->ptr[s->dst], n, s->h, s->w, s->block, scratch);
        break;
      case STEP_ZERO:
        memset(p->ptr[s->dst], 0, s->zero_bytes);
        break;
      case STEP_CLASS_TOKEN: /* s->h tokens of s->c values per image: the first one */
        for (int b = 0; b < n; b++)
          memcpy((float *)p->ptr[s->dst] + (size_t)b * s->c, (const float *)p->ptr[s->src] + (size_t)b * s->h * s->c,
                 (size_t)s->c * sizeof(float));
        break;
    }
  }
  WMFI_DNNL(dnnl_stream_wait(stream), "stream wait");
  return WMF_OK;
}

const float *wmfi_nn_plan_output(const wmfi_nn_plan *p, wmfi_nn_output which) {
  switch (which) {
    case WMFI_NN_OUT_LOGITS: return p->ptr[p->m->g.logits];
    case WMFI_NN_OUT_FEATURES: return p->ptr[p->m->g.features];
    case WMFI_NN_OUT_STAGE: return p->stage_out;
  }
  return NULL;
}

int wmfi_nn_plan_private_weights(const wmfi_nn_plan *p) { return p->private_weights; }
int wmfi_nn_plan_winograd_count(const wmfi_nn_plan *p) { return p->winograd; }

void wmfi_nn_plan_destroy(wmfi_nn_plan *p) {
  if (!p) return;
  for (int i = 0; i < p->n_steps; i++) {
    plan_step *s = &p->steps[i];
    for (int a = 0; a < s->nargs; a++)
      if (s->args[a].mem) dnnl_memory_destroy(s->args[a].mem);
    if (s->prim) dnnl_primitive_destroy(s->prim);
  }
  for (int i = 0; i < p->n_owned; i++) wmfi_free(p->owned[i]);
  wmfi_free(p->owned);
  wmfi_free(p->steps);
  wmfi_free(p->t);
  wmfi_free(p->slot_busy);
  wmfi_free(p->slot_need);
  wmfi_free(p->ptr);
  wmfi_free(p);
}
