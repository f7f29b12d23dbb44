/* Internals of the nn module, for its own files and its unit tests only: a small inference graph
 * (tensors + ops) that family builders fill from the weights, and plans that turn it into oneDNN
 * primitives for one batch size and input size. The module reads the weights only through the public
 * wmfeat/weights.h and has no interface to the other modules beyond the public wmfeat/model.h. */
#ifndef WMF_LIB_NN_INTERNAL_H
#define WMF_LIB_NN_INTERNAL_H

#include <dnnl.h>

#include "core/core.h"

/* Operations of the graph. Shapes (H, W) are resolved per plan, channels at build time. */
typedef enum wmfi_nn_kind {
  WMFI_NN_CONV,     /* convolution, BN folded, optional residual sum and ReLU post-ops */
  WMFI_NN_MAXPOOL,  /* k, stride, pad */
  WMFI_NN_AVGPOOL,  /* k, stride, pad (count_include_pad like torch) */
  WMFI_NN_ADAPTIVE, /* adaptive average pool to out_hw x out_hw, output fp32 (VGG head) */
  WMFI_NN_BNRELU,   /* per-channel scale/shift + ReLU of channels [0, cin) of src into a new tensor */
  WMFI_NN_COPY,     /* copy src into channels [c_off, c_off + C) of a block tensor */
  WMFI_NN_GAP,      /* global average pool to a plain N x C fp32 tensor; optional scale/shift (+ReLU
                       with relu) first (DenseNet's norm5) */
  WMFI_NN_FC,       /* linear layer (inner product, or 1x1 convolution for large weights), fp32, optional
                       activation, plain N x cout output */
  WMFI_NN_MUL,      /* src times the plain N x C tensor `scale_src`, broadcast over H x W (squeeze-and-
                       excitation; a loop in kernels.c) */
  WMFI_NN_SLICE,    /* channels [c_off, c_off + cout) of a plain (nchw) src as a view: no copy, the
                       slice shares src's buffer (ShuffleNet's chunk) */
  /* Token ops (ViT): their tensors are plain row-major fp32 (N, T, C), "token-major"; the token count T
   * is resolved per plan (tstate.h), C is the tensor's channels. */
  WMFI_NN_TOKENS,      /* patch grid (N, C, gh, gw) -> (N, 1 + gh * gw, C): class token (scale, C values)
                          prepended, position embedding (shift, out_hw x C values, out_hw = tokens) added */
  WMFI_NN_LAYERNORM,   /* LayerNorm over C of each token (or of each row of a plain N x C): scale, shift,
                          eps 1e-6 */
                       /* (of an image tensor N x C x H x W: over the C channels of each pixel, ConvNeXt's) */
  WMFI_NN_LINEAR,      /* token-wise linear layer cin -> cout (1x1 convolution), optional GELU (gelu), optional
                          residual sum written in place into the residual's buffer */
  WMFI_NN_ATTENTION,   /* multi-head self-attention of (N, T, 3C) q|k|v rows into (N, T, C), groups heads:
                          softmax(Q Kt / sqrt(C / heads)) V per head */
  WMFI_NN_CLASS_TOKEN  /* token 0 of (N, T, C) into a plain N x C */
} wmfi_nn_kind;

/* The activation a CONV or FC applies as a post-op (wmfi_nn_op.relu): 0 none, 1 ReLU, then these (each
 * one line of plan.c's act_steps, its oneDNN eltwise post-ops). */
enum {
  WMFI_NN_ACT_NONE = 0,
  WMFI_NN_ACT_RELU = 1,
  WMFI_NN_ACT_RELU6,       /* clip to [0, 6] */
  WMFI_NN_ACT_HARDSWISH,   /* x * relu6(x + 3) / 6 */
  WMFI_NN_ACT_HARDSIGMOID, /* relu6(x + 3) / 6 */
  WMFI_NN_ACT_GELU,        /* GELU (erf): ViT's MLP, through wmfi_nn_op.gelu on LINEAR ops */
  WMFI_NN_ACT_SILU,        /* x * sigmoid(x) (oneDNN's swish with alpha 1): EfficientNet */
  WMFI_NN_ACT_SIGMOID      /* 1 / (1 + exp(-x)) (oneDNN's logistic): the SE gates of EfficientNet, RegNet Y */
};

/* Tensor ids: the input is tensor 0 of every graph; WMFI_NN_NONE stands for no tensor (an op without
 * residual, a session without stage). */
enum { WMFI_NN_INPUT = 0, WMFI_NN_NONE = -1 };

/* The input size (pixels per side) the networks were trained on and sessions default to. */
#define WMFI_NN_DEFAULT_INPUT 224

typedef struct wmfi_nn_op {
  wmfi_nn_kind kind;
  int src, dst, residual; /* tensor ids; residual: WMFI_NN_NONE, or the tensor the conv adds (it then
                             writes into that tensor's buffer in place) */
  int cin, cout, kh, kw, stride, pad, groups, relu;
  int out_hw;             /* ADAPTIVE */
  int c_off;              /* COPY */
  float *w, *b;           /* CONV/FC: plain weights (goihw / oi[hw]) until prepared, fp32 bias */
  float *scale, *shift;   /* BNRELU / GAP: per channel */
  int pad_h, pad_w;        /* CONV: if either is nonzero, per-axis padding instead of pad (1x7, 7x1) */
  int ceil_mode;           /* MAXPOOL: torch's ceil_mode (a last partial window when it starts inside) */
  dnnl_memory_desc_t w_md; /* layout of the prepared weights */
  void *w_prepared;        /* weights reordered once at load into w_md */
  int scale_src;           /* MUL: the N x C tensor of factors */
  int c_step;              /* COPY into a plain block tensor: src channel k goes to channel c_off + k * c_step
                              (0 or 1: contiguous; 2: ShuffleNet's concatenation and channel shuffle) */
  int gelu;                /* LINEAR: GELU (erf) post-op */
  int act_then_sum;        /* CONV with residual: the activation first, then the residual added (EfficientNet-v2's
                              FusedMBConv without expansion adds its input after the SiLU), reading the residual
                              into a new tensor; 0: the sum, then the activation, in place */
  void *wino_raw;          /* CONV: its Winograd weights (winograd.c), made at model load; NULL when the op is not
                              eligible */
} wmfi_nn_op;

typedef struct wmfi_nn_tensor {
  int c;            /* channels (FC outputs: features) */
  int block;        /* 1: a DenseNet block buffer, written by COPY ops in a layout we choose */
  int block16;      /* block buffer may use the CPU's channel blocks (wmfi_nn_native_block: 8 or 16; all
                     * offsets are multiples of 16, so of either) */
  char stage[48];   /* stage name ("" if none) */
  int view_of;      /* > 0: a stage-only view of tensor view_of through a per-channel scale/shift (no
                       ReLU), never computed by an op: DenseNet's "features.norm5" */
  const float *view_scale, *view_shift; /* borrowed from the op that owns them */
  int channels_last; /* 1: the plan keeps this convolution's output nhwc (ConvNeXt: the layout its layer
                        normalizations and linear layers read) instead of the layout oneDNN prefers */
} wmfi_nn_tensor;

typedef struct wmfi_nn_graph {
  wmfi_nn_tensor *tensors;
  int n_tensors, cap_tensors;
  wmfi_nn_op *ops;
  int n_ops, cap_ops;
  int logits, features; /* tensor ids; tensor WMFI_NN_INPUT is the input */
} wmfi_nn_graph;

struct wmf_model {
  char arch[48];
  const char *family;
  int num_classes, feature_count, min_input;
  int fixed_input; /* > 0: the only input size (ViT: set by its position embedding); 0: any size */
  wmfi_nn_graph g;
  dnnl_engine_t engine;
  int default_input, default_resize; /* set by a builder whose network was trained at another size
                                        (Inception-v3: 299, 342); 0: WMFI_NN_DEFAULT_INPUT, 256 */
  wmf_filter default_filter;          /* the resize of those transforms: bilinear unless a builder says */
  const wmf_normalize *default_norm;  /* their Normalize; NULL: ImageNet's */
  int transform_input;                /* wmf_model_options.transform_input as given (the builder
                                        resolves the default) */
  uint64_t wino_floats;               /* floats of the Winograd weights made at load (WMFI_NN_WINO_MAX_FLOATS) */
};

/* --- graph.c --- */
/* Appends a tensor of `c` channels (stage name or NULL): its id, or WMFI_NN_NONE when out of memory (no
 * message). */
int wmfi_nn_tensor_add(wmfi_nn_graph *g, int c, const char *stage);
/* Appends an op of `kind` reading `src` (no output yet): the op, or NULL when out of memory (no
 * message). The pointer is valid until the next op is added. */
wmfi_nn_op *wmfi_nn_op_add(wmfi_nn_graph *g, wmfi_nn_kind kind, int src);
/* What the builders add: an op of `kind` reading `src` (cin = its channels) into a new tensor of `c`
 * channels (cout = c, stage name or NULL): *id and *op set, or WMF_ERR_OUT_OF_MEMORY naming
 * wmf_model_load. */
wmf_status wmfi_nn_add(wmfi_nn_graph *g, wmfi_nn_kind kind, int src, int c, const char *stage, int *id,
                       wmfi_nn_op **op);
void wmfi_nn_graph_free(wmfi_nn_graph *g);
/* Room for item n of a growing array of `*cap` items of `size` bytes (first capacity `first`, then
 * doubling): the array, possibly moved (and *cap updated), or NULL when out of memory (then `items`
 * is unchanged and still owned by the caller). */
void *wmfi_nn_reserve(void *items, int n, int *cap, size_t size, int first);
/* How every family reads the arch name it is given. `table`: its known configurations, each a struct
 * whose first member is the name (NULL with count 0 for a family with one name, AlexNet's). arch NULL or
 * the family's own name `family`: WMFI_NN_ARCH_INFER (the configuration comes from the weights); a
 * configuration's name: its index in the table; any other name: WMFI_NN_ARCH_UNKNOWN. A family's
 * *_knows(arch) is `!= WMFI_NN_ARCH_UNKNOWN`; its builder takes the named configuration (ResNet,
 * DenseNet, VGG, ViT) or infers it and checks a given name against the inferred one (the others). */
enum { WMFI_NN_ARCH_INFER = -1, WMFI_NN_ARCH_UNKNOWN = -2 };
int wmfi_nn_arch_config(const char *arch, const char *family, const void *table, size_t count, size_t size);
#define WMFI_NN_ARCH_CONFIG(arch, family, table) \
  wmfi_nn_arch_config((arch), (family), (table), sizeof(table) / sizeof((table)[0]), sizeof((table)[0]))
/* The check of a builder that infers its configuration from the weights (MobileNet, ShuffleNet, ConvNeXt,
 * RegNet, EfficientNet): arch NULL, the family's name `family` and `inferred` (the name of the configuration
 * the weights hold; NULL for one no name gives) pass; any other name fails with WMF_ERR_UNKNOWN_ARCH,
 * "wmf_model_load: the weights are <what>, not a <arch>", `what` describing the weights (NULL: "a <inferred>",
 * "an" before a vowel). */
wmf_status wmfi_nn_arch_check(const char *arch, const char *family, const char *inferred, const char *what);
/* Defines wmfi_nn_<f>_knows for family f (also its name) with the configurations of `table`. */
#define WMFI_NN_DEFINE_KNOWS(f, table) \
  int wmfi_nn_##f##_knows(const char *arch) { return WMFI_NN_ARCH_CONFIG(arch, #f, table) != WMFI_NN_ARCH_UNKNOWN; }

/* --- params.c: reading tensors from the weights with checks --- */
/* Limits on what a weight file may ask the builders for (docs/models.md). Real networks use at most
 * 7392 channels and 644M parameters (RegNet Y-128GF); a forged shape (a zero, or a .pth view of 2^32 channels
 * over one stored value) must fail with a message, not divide by zero, overflow an int or allocate terabytes. */
#define WMFI_NN_MAX_CHANNELS 16384         /* channels, widths, growth rate, features */
#define WMFI_NN_MAX_CLASSES (1 << 20)      /* rows of the classifier */
#define WMFI_NN_MAX_TENSOR ((uint64_t)1 << 28)  /* elements of one tensor (1 GiB as float) */
#define WMFI_NN_MAX_PARAMS ((uint64_t)1 << 30)  /* elements of all tensors read (4 GiB as float) */
typedef struct wmfi_nn_params {
  const wmf_weights *w;
  uint8_t *used;
  size_t count;
  uint64_t total; /* elements read so far */
  double bn_eps;  /* BatchNorm epsilon of the network; 0: torch's default 1e-5 (GoogLeNet, Inception-v3: 1e-3) */
} wmfi_nn_params;
wmf_status wmfi_nn_params_init(wmfi_nn_params *p, const wmf_weights *w);
void wmfi_nn_params_free(wmfi_nn_params *p);
/* True if a tensor of that name exists (does not mark it used). */
int wmfi_nn_has(const wmfi_nn_params *p, const char *name);
/* How many consecutive indices i = 0, 1, ... have a tensor named prefix + i + suffix (a stage's blocks,
 * "stage2." 0 ".branch2.0.weight"; does not mark them used). */
int wmfi_nn_count_indexed(const wmfi_nn_params *p, const char *prefix, const char *suffix);
/* Shape of a tensor: ndim and dims (up to 8); 0 dims if absent. */
int wmfi_nn_shape(const wmfi_nn_params *p, const char *name, int64_t shape[8]);
/* A size the builder takes from the weights: dimension `axis` of `name`, which must be an `ndim`-D
 * tensor with no zero dimension, and the value at most `limit`. Fails naming the tensor and its shape:
 * WMF_ERR_NOT_FOUND (absent), WMF_ERR_SHAPE (other rank, a zero dimension), WMF_ERR_LIMIT. */
wmf_status wmfi_nn_dim(const wmfi_nn_params *p, const char *name, int ndim, int axis, int limit, int *out);
/* Checks a channel count the builder computed (e.g. a DenseNet block's total) against the limit;
 * `what` names it in the message. */
wmf_status wmfi_nn_check_channels(int64_t c, const char *what);
/* Reads `name` (allocated fp32 copy in *out), checking its shape (ndim, dims) and finiteness. */
wmf_status wmfi_nn_get(wmfi_nn_params *p, const char *name, int ndim, const int64_t *dims, float **out);
/* Reads a conv (prefix.weight [+ prefix.bias]) and an optional BatchNorm (bn_prefix, may be NULL)
 * and folds the BN into the conv: fills op->w, op->b. */
wmf_status wmfi_nn_load_conv(wmfi_nn_params *p, wmfi_nn_op *op, const char *prefix, int has_bias,
                             const char *bn_prefix);
/* Reads a BatchNorm as scale/shift of `c` channels. */
wmf_status wmfi_nn_load_bn(wmfi_nn_params *p, const char *prefix, int c, float **scale, float **shift);
/* Reads a linear layer (prefix.weight [out, in], prefix.bias [out]) into op->w, op->b. */
wmf_status wmfi_nn_load_fc(wmfi_nn_params *p, wmfi_nn_op *op, const char *prefix);
/* The last step of ResNet and DenseNet: a linear layer `prefix` (prefix.weight, prefix.bias) from the
 * pooled features (tensor `features`) to `classes` logits, both made the graph's outputs. */
wmf_status wmfi_nn_add_classifier(wmfi_nn_graph *g, wmfi_nn_params *p, int features, int classes, const char *prefix);
/* The head of VGG and AlexNet: three linear layers `heads` (hidden, hidden, classes outputs; ReLU after
 * the first two) from tensor x pooled to pooled_hw positions per channel; features are the second
 * ReLU's output. */
wmf_status wmfi_nn_add_mlp_head(wmfi_nn_graph *g, wmfi_nn_params *p, int x, int pooled_hw, const char *const heads[3],
                                int hidden, int classes);
/* Marks every tensor whose name starts with `prefix` as used: parts of torchvision files that eval never
 * runs (GoogLeNet's aux1., aux2., Inception-v3's AuxLogits.). */
void wmfi_nn_ignore_prefix(wmfi_nn_params *p, const char *prefix);
/* Fails naming the first tensor that was not used, unless allowed. */
wmf_status wmfi_nn_params_check_unused(const wmfi_nn_params *p);

/* --- blocks.c: building blocks several families share --- */
/* Adds a convolution (prefix.weight, no bias) with its BatchNorm (bn, folded; NULL for none) reading
 * tensor `src`: k x k, padding k / 2, `groups`, activation `act` (WMFI_NN_ACT_*), and with `residual`
 * other than WMFI_NN_NONE the sum of that tensor (in place). Returns the output tensor id, or
 * WMFI_NN_NONE with the error in *st; nothing is added once *st is an error, so a block checks once. */
int wmfi_nn_conv_bn(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int src, int cout, int k, int stride,
                    int groups, int act, int residual, const char *prefix, const char *bn);
/* Dimension `axis` of the 4-D convolution weight prefix.weight (a width, or the kernel size), checked by
 * wmfi_nn_dim; 0 with the error in *st, and nothing read once *st is an error (as wmfi_nn_conv_bn). */
int wmfi_nn_conv_dim(const wmfi_nn_params *p, wmf_status *st, const char *prefix, int axis);
/* Squeeze-and-excitation as torchvision's SqueezeExcitation: global average pool, prefix.fc1 (1x1
 * convolution with bias) + `inner` (MobileNet-v3: ReLU; EfficientNet: SiLU), prefix.fc2 + `gate`
 * (hardsigmoid; sigmoid), times `src` per channel. Returns the output tensor id, or WMFI_NN_NONE with the
 * error in *st (as wmfi_nn_conv_bn). */
int wmfi_nn_squeeze_excite(wmf_model *m, wmfi_nn_params *p, wmf_status *st, int src, int inner, int gate,
                           const char *prefix);
/* LayerNorm `prefix` (prefix.weight, prefix.bias: C values) of tensor src into a new tensor *out. */
wmf_status wmfi_nn_add_layernorm(wmfi_nn_graph *g, wmfi_nn_params *p, int src, const char *prefix, int *out);
/* Token-wise linear layer `prefix` (prefix.weight [cout, cin], prefix.bias) of src into a new tensor
 * *out of cout channels; gelu: GELU (erf) after it; residual (or WMFI_NN_NONE): a tensor added to it. */
wmf_status wmfi_nn_add_linear(wmfi_nn_graph *g, wmfi_nn_params *p, int src, int cout, const char *prefix, int gelu,
                              int residual, int *out);
/* torch's nn.MultiheadAttention `prefix` (in_proj_weight [3C, C], in_proj_bias, out_proj) as self-attention
 * of src with `heads` heads, its output added to `residual`: the sum in a new tensor *out. */
wmf_status wmfi_nn_add_self_attention(wmfi_nn_graph *g, wmfi_nn_params *p, int src, int heads, const char *prefix,
                                      int residual, int *out);

/* --- the families: each family file (resnet.c, ...) defines whether it knows an arch name, whether it
 * recognizes the weights, and the builder, which infers (arch NULL or a family name) or checks the named
 * architecture; the graph holds the input tensor (WMFI_NN_INPUT, 3 channels) when it is called --- */
#define WMFI_NN_DECLARE_FAMILY(f)                                                                         \
  int wmfi_nn_##f##_knows(const char *arch);                                                               \
  int wmfi_nn_##f##_detect(const wmfi_nn_params *p);                                                       \
  wmf_status wmfi_nn_##f##_build(wmf_model *m, wmfi_nn_params *p, const char *arch)
WMFI_NN_DECLARE_FAMILY(resnet);
WMFI_NN_DECLARE_FAMILY(vgg);
WMFI_NN_DECLARE_FAMILY(densenet);
WMFI_NN_DECLARE_FAMILY(mobilenet);
WMFI_NN_DECLARE_FAMILY(shufflenet);
WMFI_NN_DECLARE_FAMILY(vit);
WMFI_NN_DECLARE_FAMILY(alexnet);
WMFI_NN_DECLARE_FAMILY(googlenet);
WMFI_NN_DECLARE_FAMILY(inception_v3);
WMFI_NN_DECLARE_FAMILY(convnext);
WMFI_NN_DECLARE_FAMILY(regnet);
WMFI_NN_DECLARE_FAMILY(efficientnet);

/* The families, in the order wmf_model_load tries to recognize weights (model.c holds the table). */
typedef enum wmfi_nn_family_id {
  WMFI_NN_RESNET,
  WMFI_NN_VGG,
  WMFI_NN_DENSENET,
  WMFI_NN_MOBILENET,
  WMFI_NN_SHUFFLENET,
  WMFI_NN_VIT,
  WMFI_NN_ALEXNET,
  WMFI_NN_GOOGLENET,
  WMFI_NN_INCEPTION_V3,
  WMFI_NN_CONVNEXT,
  WMFI_NN_REGNET,
  WMFI_NN_EFFICIENTNET,
  WMFI_NN_FAMILY_COUNT
} wmfi_nn_family_id;
typedef struct wmfi_nn_family {
  const char *name; /* wmf_model_family(), also the arch name that infers any configuration */
  int min_input;    /* smallest input side the family's strides and pools accept */
  int (*knows)(const char *arch);
  int (*detect)(const wmfi_nn_params *p);
  wmf_status (*build)(wmf_model *m, wmfi_nn_params *p, const char *arch);
} wmfi_nn_family;

/* --- dnnl helpers (primitives.c) --- */
wmf_status wmfi_nn_dnnl(dnnl_status_t st, const char *what);
#define WMFI_DNNL(call, what)                                \
  do {                                                       \
    dnnl_status_t st_ = (call);                              \
    if (st_ != dnnl_success) return wmfi_nn_dnnl(st_, what); \
  } while (0)
/* The same in a function of the WMFI_TRY idiom (`st`, `done:`). */
#define WMFI_DNNL_TRY(call, what)                              \
  do {                                                         \
    dnnl_status_t st_ = (call);                                \
    if (st_ != dnnl_success) WMFI_TRY(wmfi_nn_dnnl(st_, what)); \
  } while (0)
/* Channel block size of a 4D activation layout: 1 (nchw), 4, 8, 16 (nChwXc), 0 for other layouts. */
int wmfi_nn_block_of(const dnnl_memory_desc_t *md);
wmf_status wmfi_nn_md(dnnl_memory_desc_t *md, int n, int c, int h, int w, dnnl_data_type_t dt,
                      int block);
/* True if md is a 4D activation layout in channels-last order (nhwc). */
int wmfi_nn_is_nhwc(const dnnl_memory_desc_t *md);
/* The channel block of the layouts oneDNN's kernels use on this CPU: 16 with AVX-512, else 8. */
int wmfi_nn_native_block(void);

/* --- plan.c: primitives for one (batch, height, width, precision) --- */
typedef struct wmfi_nn_plan wmfi_nn_plan;
typedef struct wmfi_nn_buffers {
  void **slot;
  size_t *slot_size;
  int n_slots;
  void *scratch;
  size_t scratch_size;
} wmfi_nn_buffers;
typedef struct wmfi_nn_plan_config {
  int n, h, w;
  int bf16;
  int stage;    /* tensor id or WMFI_NN_NONE */
  int prepare;  /* model load: reorder the weights into the layouts the primitives choose, and make the
                   Winograd weights of the eligible convolutions */
  int direct;   /* every convolution direct (WMF_CONV_DIRECT), no Winograd */
} wmfi_nn_plan_config;
/* Builds a plan. With buf->slot == NULL (sizing pass) it only records sizes in buf (slot_size,
 * scratch_size, allocated here). */
wmf_status wmfi_nn_plan_create(wmfi_nn_plan **out, wmf_model *m, const wmfi_nn_plan_config *cfg,
                               wmfi_nn_buffers *buf);
wmf_status wmfi_nn_plan_run(wmfi_nn_plan *plan, dnnl_stream_t stream, const float *input);
/* The outputs a plan keeps, plain fp32 N x C. */
typedef enum wmfi_nn_output { WMFI_NN_OUT_LOGITS, WMFI_NN_OUT_FEATURES, WMFI_NN_OUT_STAGE } wmfi_nn_output;
/* Output `which` of the last run (borrowed; WMFI_NN_OUT_STAGE: NULL without a stage). */
const float *wmfi_nn_plan_output(const wmfi_nn_plan *plan, wmfi_nn_output which);
void wmfi_nn_plan_destroy(wmfi_nn_plan *plan);
/* Number of convolutions this plan runs by Winograd. */
int wmfi_nn_plan_winograd_count(const wmfi_nn_plan *plan);
/* Number of weight tensors this plan had to reorder because its layout differs from the model's. */
int wmfi_nn_plan_private_weights(const wmfi_nn_plan *plan);

/* --- session.c --- */
/* For tests: how many weight tensors the plan of the session's maximum batch reordered privately. */
int wmfi_nn_session_private_weights(const wmf_session *s);
/* For tests: how many convolutions the plan of the session's maximum batch runs by Winograd. */
int wmfi_nn_session_winograd_count(const wmf_session *s);

/* --- kernels.c: the few loops oneDNN has no primitive for --- */
void wmfi_nn_bnrelu(const void *src, void *dst, int bf16, int n, int c_src, int c, int hw, int block,
                    const float *scale, const float *shift);
/* The `block` of a channels-last (nhwc) source for wmfi_nn_gap. */
enum { WMFI_NN_NHWC = -1 };
void wmfi_nn_gap(const void *src, float *dst, int bf16, int n, int c, int hw, int block,
                 const float *scale, const float *shift, int relu);
void wmfi_nn_adaptive(const void *src, float *dst, int bf16, int n, int c, int h, int w, int out,
                      int block);
/* dst = src times factors[image][channel] (plain N x C), both in the layout of `block` (SE's gate:
 * oneDNN 2.6's binary primitive has only its reference kernel for a per-image, per-channel broadcast). */
void wmfi_nn_scale_channels(const void *src, void *dst, int bf16, int n, int c, int hw, int block,
                            const float *factors);
/* ViT's token sequence from the patch grid (src: N x C x hw in layout block, bf16 or fp32) into fp32
 * dst (N, 1 + hw, C): row 0 is cls + pos[0], row 1 + i is patch i + pos[1 + i]. */
void wmfi_nn_tokens(const void *src, float *dst, int bf16, int n, int c, int hw, int block, const float *cls,
                    const float *pos);

/* --- winograd.c: 3x3 stride-1 convolutions as Winograd F(4x4, 3x3), fp32, AVX2 + FMA --- */
/* Bounds on the transformed weights (4x the 3x3 weights), so that a forged weight file cannot make load
 * allocate and compute far beyond what the direct path does: input x output channels of one convolution
 * (real networks: at most 1024 x 1024, Wide ResNet's), and floats of a whole model (VGG-19: 80M); the
 * convolutions past the budget stay direct. */
#define WMFI_NN_WINO_MAX_PAIRS ((int64_t)1 << 20)
#define WMFI_NN_WINO_MAX_FLOATS ((uint64_t)1 << 28)
/* True if this CPU runs the Winograd kernels. */
int wmfi_nn_wino_supported(void);
/* The rule that chooses Winograd for a convolution (with tensors in nChw{block}c): 3x3, stride 1, padding 1, one
 * group, channels multiples of `block`, no activation or ReLU (the residual summed first), on a CPU that has
 * the kernels. */
int wmfi_nn_wino_eligible(const wmfi_nn_op *op, int block);
/* Floats of op's Winograd weights. */
uint64_t wmfi_nn_wino_floats(const wmfi_nn_op *op);
/* Transforms the plain weights op->w (oihw) into op->wino_raw (WMF_ERR_OUT_OF_MEMORY naming wmf_model_load). */
wmf_status wmfi_nn_wino_prepare(wmfi_nn_op *op);
/* Scratch bytes wmfi_nn_wino_run needs for op. */
size_t wmfi_nn_wino_scratch(const wmfi_nn_op *op);
/* dst (n x cout x h x w, nChw{block}c, fp32) = op applied to src (n x cin x h x w, the same layout), with op's
 * bias, its residual (already in dst: in place, as oneDNN's sum post-op) and its ReLU. */
void wmfi_nn_wino_run(const wmfi_nn_op *op, const float *src, float *dst, int n, int h, int w, int block,
                      void *scratch);

/* threads: OpenMP, as Debian's oneDNN uses it */
int wmfi_nn_threads_push(int threads);
void wmfi_nn_threads_pop(int saved);

#endif
