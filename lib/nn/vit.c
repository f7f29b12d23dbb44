/* Vision Transformer (torchvision names): a convolution with kernel = stride = patch size makes the
 * patch grid, flattened to tokens behind the class token, plus the position embedding; pre-norm
 * encoder layers (LayerNorm eps 1e-6, multi-head self-attention, residual; LayerNorm, Linear, GELU,
 * Linear, residual); the final LayerNorm `encoder.ln` and the head `heads.head`. Features are the class
 * token after the final LayerNorm. The position embedding fixes the input size: (sqrt(T - 1) * patch). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

typedef struct vit_cfg {
  const char *name;
  int patch, layers, heads, hidden, mlp;
  int v1_resize; /* the resize of the IMAGENET1K_V1 weights (224 px, bilinear); 0: the variant has only SWAG ones */
} vit_cfg;

static const vit_cfg known[] = {
    {"vit_b_16", 16, 12, 12, 768, 3072, 256},  {"vit_b_32", 32, 12, 12, 768, 3072, 256},
    {"vit_l_16", 16, 24, 16, 1024, 4096, 242}, {"vit_l_32", 32, 24, 16, 1024, 4096, 256},
    {"vit_h_14", 14, 32, 16, 1280, 5120, 0},
};

/* Head width of a configuration the weights do not name (the number of heads is not stored in them):
 * every torchvision ViT uses 64. */
enum { HEAD_DIM = 64 };

WMFI_NN_DEFINE_KNOWS(vit, known)

int wmfi_nn_vit_detect(const wmfi_nn_params *p) {
  return wmfi_nn_has(p, "class_token") && wmfi_nn_has(p, "conv_proj.weight") && wmfi_nn_has(p, "encoder.pos_embedding");
}

static void layer_prefix(char *buf, size_t size, int i) { snprintf(buf, size, "encoder.layers.encoder_layer_%d", i); }

/* The MLP's two linear layers: `mlp.0` / `mlp.3` (torchvision >= 0.13) or `mlp.linear_1` / `mlp.linear_2`. */
static void mlp_names(const wmfi_nn_params *p, const char *layer, char *fc1, char *fc2, size_t size) {
  char probe[256];
  snprintf(probe, sizeof probe, "%s.mlp.linear_1.weight", layer);
  int legacy = wmfi_nn_has(p, probe);
  snprintf(fc1, size, "%s.mlp.%s", layer, legacy ? "linear_1" : "0");
  snprintf(fc2, size, "%s.mlp.%s", layer, legacy ? "linear_2" : "3");
}

/* Reads the configuration from the tensor names and shapes. */
static wmf_status infer(const wmfi_nn_params *p, vit_cfg *cfg) {
  wmf_status st = WMF_OK;
  char layer[128], name[320], fc1[256], fc2[256];
  memset(cfg, 0, sizeof *cfg);
  WMFI_TRY(wmfi_nn_dim(p, "conv_proj.weight", 4, 0, WMFI_NN_MAX_CHANNELS, &cfg->hidden));
  WMFI_TRY(wmfi_nn_dim(p, "conv_proj.weight", 4, 2, 1024, &cfg->patch));
  for (;; cfg->layers++) {
    layer_prefix(layer, sizeof layer, cfg->layers);
    snprintf(name, sizeof name, "%s.ln_1.weight", layer);
    if (!wmfi_nn_has(p, name)) break;
  }
  WMFI_CHECK(cfg->layers, WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: ViT weights without 'encoder.layers.encoder_layer_0...'");
  layer_prefix(layer, sizeof layer, 0);
  mlp_names(p, layer, fc1, fc2, sizeof fc1);
  snprintf(name, sizeof name, "%s.weight", fc1);
  WMFI_TRY(wmfi_nn_dim(p, name, 2, 0, WMFI_NN_MAX_CHANNELS, &cfg->mlp));
  cfg->heads = cfg->hidden % HEAD_DIM ? 1 : cfg->hidden / HEAD_DIM;
  cfg->name = "vit-custom";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    const vit_cfg *k = &known[i];
    if (k->patch == cfg->patch && k->layers == cfg->layers && k->hidden == cfg->hidden && k->mlp == cfg->mlp) *cfg = *k;
  }
done:
  return st;
}

/* The input size the position embedding [1, T, C] fixes: T - 1 patches in a square grid. */
static wmf_status input_size(const wmfi_nn_params *p, const vit_cfg *cfg, int *tokens, int *size) {
  wmf_status st = WMF_OK;
  const char *pe = "encoder.pos_embedding";
  /* at most 16385 tokens (torchvision's largest, vit_h_14 at 518 px, has 1370): an image's attention
   * scores are heads x T x T floats */
  WMFI_TRY(wmfi_nn_dim(p, pe, 3, 1, WMFI_NN_MAX_CHANNELS + 1, tokens));
  int grid = (int)lround(sqrt((double)(*tokens - 1)));
  WMFI_CHECK(*tokens > 1 && grid * grid == *tokens - 1 && (int64_t)grid * cfg->patch <= 8192, WMF_ERR_SHAPE,
             "wmf_model_load: tensor '%s' holds %d tokens: not a class token and a square grid of patches of at "
             "most 8192 px", pe, *tokens);
  *size = grid * cfg->patch;
done:
  return st;
}

wmf_status wmfi_nn_vit_build(wmf_model *m, wmfi_nn_params *p, const char *arch) {
  wmf_status st = WMF_OK;
  vit_cfg cfg;
  int k = WMFI_NN_ARCH_CONFIG(arch, "vit", known);
  WMFI_CHECK(k != WMFI_NN_ARCH_UNKNOWN, WMF_ERR_UNKNOWN_ARCH, "wmf_model_load: '%s' is not a ViT", arch);
  if (k == WMFI_NN_ARCH_INFER) WMFI_TRY(infer(p, &cfg));
  else cfg = known[k];
  int tokens = 0, size = 0, classes;
  WMFI_TRY(input_size(p, &cfg, &tokens, &size));
  WMFI_TRY(wmfi_nn_dim(p, "heads.head.weight", 2, 0, WMFI_NN_MAX_CLASSES, &classes));
  wmfi_nn_graph *g = &m->g;
  wmfi_nn_op *op;
  int x;
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CONV, WMFI_NN_INPUT, cfg.hidden, "conv_proj", &x, &op));
  op->kh = op->kw = op->stride = cfg.patch;
  WMFI_TRY(wmfi_nn_load_conv(p, op, "conv_proj", 1, NULL));
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_TOKENS, x, cfg.hidden, NULL, &x, &op));
  op->out_hw = tokens;
  int64_t cls_dims[3] = {1, 1, cfg.hidden}, pos_dims[3] = {1, tokens, cfg.hidden};
  WMFI_TRY(wmfi_nn_get(p, "class_token", 3, cls_dims, &op->scale));
  WMFI_TRY(wmfi_nn_get(p, "encoder.pos_embedding", 3, pos_dims, &op->shift));
  char layer[128], name[256], fc1[256], fc2[256];
  for (int i = 0; i < cfg.layers; i++) {
    int y, h;
    layer_prefix(layer, sizeof layer, i);
    snprintf(name, sizeof name, "%s.ln_1", layer);
    WMFI_TRY(wmfi_nn_add_layernorm(g, p, x, name, &y));
    snprintf(name, sizeof name, "%s.self_attention", layer);
    WMFI_TRY(wmfi_nn_add_self_attention(g, p, y, cfg.heads, name, x, &x));
    snprintf(name, sizeof name, "%s.ln_2", layer);
    WMFI_TRY(wmfi_nn_add_layernorm(g, p, x, name, &y));
    mlp_names(p, layer, fc1, fc2, sizeof fc1);
    WMFI_TRY(wmfi_nn_add_linear(g, p, y, cfg.mlp, fc1, 1, WMFI_NN_NONE, &h));
    WMFI_TRY(wmfi_nn_add_linear(g, p, h, cfg.hidden, fc2, 0, x, &x));
  }
  /* LayerNorm works per token: normalizing the class token alone gives torch's x = ln(x)[:, 0] */
  WMFI_TRY(wmfi_nn_add(g, WMFI_NN_CLASS_TOKEN, x, cfg.hidden, NULL, &x, &op));
  WMFI_TRY(wmfi_nn_add_layernorm(g, p, x, "encoder.ln", &x));
  WMFI_TRY(wmfi_nn_add_classifier(g, p, x, classes, "heads.head"));
  m->fixed_input = size;
  /* the preprocessing of torchvision's weights of this variant and size: IMAGENET1K_V1 at 224 px, else SWAG
   * (E2E at 384, 512 or 518 px, LINEAR at 224 for vit_h_14), bicubic without a margin; another network:
   * bilinear, resize 256 at 224 px, else its size */
  int swag = strcmp(cfg.name, "vit-custom") && (size != WMFI_NN_DEFAULT_INPUT || !cfg.v1_resize);
  if (swag) {
    m->default_resize = size;
    m->default_filter = WMF_FILTER_BICUBIC;
  } else {
    m->default_resize = size != WMFI_NN_DEFAULT_INPUT ? size : cfg.v1_resize ? cfg.v1_resize : 256;
  }
  snprintf(m->arch, sizeof m->arch, "%s", cfg.name);
done:
  return st;
}
