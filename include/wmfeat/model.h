/* libwmfeat networks: ResNet / ResNeXt / Wide ResNet, VGG, DenseNet, MobileNet-v2/v3, ShuffleNet-v2,
 * ViT, AlexNet, GoogLeNet, Inception-v3, ConvNeXt, EfficientNet (B0-B7, v2 S/M/L) and RegNet X and Y,
 * built from torchvision weights and run on oneDNN. Include
 * <wmfeat.h>.
 *
 * Thread safety: a loaded wmf_model is immutable; any number of threads may create sessions from it
 * and run them at once. A wmf_session is used by one thread at a time (distinct sessions in distinct
 * threads are fine). Destroy a model only after every session made from it.
 */
#ifndef WMFEAT_MODEL_H
#define WMFEAT_MODEL_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/model.h>."
#endif
#include "core.h"
#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Values of wmf_model_options.transform_input (since 1.1). torchvision's GoogLeNet and Inception-v3
 *  have a `transform_input` flag that re-normalizes the ImageNet-normalized input channel by channel,
 *  x * (std / 0.5) + (mean - 0.5) / 0.5 with torchvision's mean (0.485, 0.456, 0.406) and std (0.229,
 *  0.224, 0.225), i.e. from ImageNet normalization to the [-1, 1] scale the original weights were
 *  trained on. torchvision turns it on when it loads its pretrained weights, and a weight file does not
 *  record it. */
typedef enum wmf_transform_input {
  WMF_TRANSFORM_INPUT_DEFAULT = 0, /**< the family's default: on for googlenet and inception_v3 (as
                                        torchvision runs its pretrained weights), off for the others */
  WMF_TRANSFORM_INPUT_ON = 1,      /**< on; only googlenet and inception_v3 accept it */
  WMF_TRANSFORM_INPUT_OFF = 2      /**< off (torchvision's models built with transform_input=False) */
} wmf_transform_input;

/** Options for wmf_model_load(). */
typedef struct wmf_model_options {
  uint32_t struct_size;      /**< sizeof(wmf_model_options), set by WMF_MODEL_OPTIONS_INIT */
  uint32_t allow_unexpected; /**< nonzero: ignore tensors the architecture does not use (default 0:
                                  such a tensor is an error naming it) */
  int32_t transform_input;   /**< a wmf_transform_input value (default WMF_TRANSFORM_INPUT_DEFAULT).
                                  Since 1.1. */
} wmf_model_options;
#define WMF_MODEL_OPTIONS_INIT {sizeof(wmf_model_options), 0, WMF_TRANSFORM_INPUT_DEFAULT}

/** Fills `*options` with the defaults (as WMF_MODEL_OPTIONS_INIT) and sets its struct_size, for callers that cannot
 *  use the macro (bindings). `struct_size` is the size of the caller's struct, sizeof(wmf_model_options) of the
 *  header it was built with: any size from the 1.0 size up is accepted, only the fields that size
 *  covers are written, and bytes beyond the fields this version knows are zeroed.
 *  Returns WMF_OK, or WMF_ERR_INVALID_ARGUMENT (NULL, or a size below the 1.0 size). Thread-safe.
 *  Since 1.1. */
WMF_API wmf_status wmf_model_options_init(wmf_model_options *options, size_t struct_size);

/** Builds a network from opened weights (torchvision state_dict names). `arch` is NULL to infer the
 *  architecture from tensor names and shapes, or one of "resnet18", "resnet34", "resnet50",
 *  "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
 *  "wide_resnet50_2", "wide_resnet101_2", "vgg11", "vgg13", "vgg16", "vgg19" (each also with "_bn"),
 *  "densenet121", "densenet161", "densenet169", "densenet201", and (since 1.1) "mobilenet_v2",
 *  "mobilenet_v3_large", "mobilenet_v3_small", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0",
 *  "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32",
 *  "vit_h_14", "alexnet", "googlenet", "inception_v3", and (1.1, later) the ConvNeXt, EfficientNet and
 *  RegNet names ("convnext_tiny", "efficientnet_b0", "efficientnet_v2_s", "regnet_y_400mf", ...: every
 *  torchvision name, wmf_model_arch_name() lists them all and docs/models.md describes each), checked
 *  against the weights; the family names "resnet", "vgg", "densenet", "mobilenet", "shufflenet", "vit",
 *  "convnext", "efficientnet", "regnet" accept any configuration of that family. The number of
 *  classes comes from the
 *  head. BatchNorm is folded into the preceding convolution and weights are reordered for oneDNN here,
 *  once. `weights` is only read during the call and may be destroyed afterwards. `options` may be NULL.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_UNKNOWN_ARCH (unknown name, weights of no
 *  supported family, or an unexpected tensor: the message names it), WMF_ERR_NOT_FOUND (a missing
 *  tensor, named), WMF_ERR_SHAPE (a tensor of the wrong shape, named, or weights that disagree with
 *  `arch`), WMF_ERR_UNSUPPORTED (a dtype that is not a float type; transform_input
 *  WMF_TRANSFORM_INPUT_ON for a network without it), WMF_ERR_NUMERIC (a non-finite
 *  value, tensor named), WMF_ERR_BACKEND (oneDNN failed), WMF_ERR_OUT_OF_MEMORY.
 *  *out is owned by the caller. Thread-safe. */
WMF_API wmf_status wmf_model_load(wmf_model **out, const wmf_weights *weights, const char *arch,
                                  const wmf_model_options *options);

/** Frees a model; NULL is accepted. Every session made from it must be destroyed first. */
WMF_API void wmf_model_destroy(wmf_model *model);

/** The architecture names wmf_model_load() accepts, one per index: for index 0, 1, ... the static name
 *  ("resnet18", ..., "vgg16_bn", ..., "densenet201", then the family names "resnet", "vgg",
 *  "densenet" that accept any configuration; then "mobilenet_v2", ..., "mobilenet",
 *  "shufflenet_v2_x0_5", ..., "shufflenet", "vit_b_16", ..., "vit_h_14", "vit", "alexnet", "googlenet",
 *  "inception_v3", then the ConvNeXt, EfficientNet and RegNet names, each family's list ending with its
 *  family name), NULL past the last. For
 *  listing the valid values in a
 *  message or a menu. Thread-safe. Since 1.1. */
WMF_API const char *wmf_model_arch_name(size_t index);

/** The architecture name, e.g. "resnet50", "vgg16_bn", "densenet121", "vit_b_16", or "resnet-custom",
 *  "vgg-custom", "densenet-custom", "vit-custom", "convnext-custom", "efficientnet-custom",
 *  "regnet_x-custom", "regnet_y-custom" for other configurations. Borrowed, lives as long as the model. */
WMF_API const char *wmf_model_arch(const wmf_model *model);

/** The family: "resnet", "vgg", "densenet", or (since 1.1) "mobilenet", "shufflenet", "vit",
 *  "alexnet", "googlenet", "inception_v3",
 *  "convnext", "efficientnet", "regnet". Static. */
WMF_API const char *wmf_model_family(const wmf_model *model);

/** Number of output classes (logits per image); 0 for NULL. Thread-safe. Since 1.1. */
WMF_API size_t wmf_model_class_count(const wmf_model *model);

/** Older name of wmf_model_class_count, kept for 1.0. */
WMF_API size_t wmf_model_num_classes(const wmf_model *model);

/** Number of features per image: the input of the last linear layer (ResNet, DenseNet, MobileNet-v2,
 *  ShuffleNet-v2,
 *  RegNet: the globally average-pooled channels; VGG: the 4096 values after classifier[:-1];
 *  MobileNet-v3: the output of classifier.0 after hardswish; ViT: the class token after the final
 *  LayerNorm; EfficientNet: the globally average-pooled output of its last 1x1 convolution); 0 for NULL. */
WMF_API size_t wmf_model_feature_count(const wmf_model *model);

/** The input size (height = width) the torchvision weights were trained at, the crop of their
 *  preprocessing: 224, 299 for Inception-v3, or for a ViT the only size it accepts, fixed by its
 *  position embedding (e.g. 518 for vit_h_14's SWAG E2E weights),
 *  384 for regnet_y_128gf (its DEFAULT weights, SWAG E2E); 0 for NULL. Sessions default to it. */
WMF_API uint32_t wmf_model_default_input_size(const wmf_model *model);

/** The size torchvision's preprocessing of the model's weights resizes the shorter side to before the
 *  center crop of wmf_model_default_input_size(): 256, 342 for Inception-v3, a ViT fixed at another size
 *  than 224 its own size (SWAG E2E), 242 for vit_l_16, 224 for vit_h_14 at 224 (SWAG LINEAR),
 *  232 for the RegNets (torchvision's DEFAULT weights, IMAGENET1K_V2) but 384 for regnet_y_128gf, 232 for
 *  shufflenet_v2_x1_5 and x2_0, EfficientNet its DEFAULT weights' (docs/models.md); 0 for NULL.
 *  Thread-safe. Since 1.1. */
WMF_API uint32_t wmf_model_default_resize_size(const wmf_model *model);

/** The interpolation of that resize in torchvision's transforms of the model's weights (docs/models.md):
 *  WMF_FILTER_BICUBIC for efficientnet_b0 and b2 to b7, efficientnet_v2_l, regnet_y_128gf and the ViTs of
 *  SWAG weights (vit_h_14, and a ViT fixed at another size than 224); WMF_FILTER_BILINEAR for every other
 *  network and for NULL. Thread-safe. Since 1.1. */
WMF_API wmf_filter wmf_model_default_filter(const wmf_model *model);

/** Writes into *out the Normalize of those transforms: mean and std 0.5 for efficientnet_v2_l, ImageNet's
 *  (WMF_NORMALIZE_IMAGENET) for every other network. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL model
 *  or out). Thread-safe. Since 1.1. */
WMF_API wmf_status wmf_model_default_normalize(const wmf_model *model, wmf_normalize *out);

/** Numeric precision of a session. */
typedef enum wmf_precision {
  WMF_PRECISION_FP32 = 0, /**< float32 everywhere (default); matches torchvision to ~1e-5 relative */
  WMF_PRECISION_BF16 = 1  /**< bfloat16 convolutions with fp32 accumulation, input, head and outputs;
                               needs a CPU with AVX512-BF16 (see wmf_nn_has_bf16()) */
} wmf_precision;

/** How a session runs its convolutions. Since 1.1. */
typedef enum wmf_conv_algorithm {
  WMF_CONV_AUTO = 0,  /**< default: fp32 3x3 stride-1 convolutions by Winograd F(4x4, 3x3) where the CPU has
                           AVX2 + FMA and the rule of docs/models.md ("Winograd") admits them, the rest direct;
                           a fixed rule, so the same session computes the same numbers every run */
  WMF_CONV_DIRECT = 1 /**< every convolution direct (oneDNN's), as in libwmfeat 1.0 */
} wmf_conv_algorithm;

/** Options for wmf_session_create(). */
typedef struct wmf_session_options {
  uint32_t struct_size;    /**< sizeof(wmf_session_options), set by WMF_SESSION_OPTIONS_INIT */
  uint32_t max_batch;      /**< largest batch passed to wmf_session_run (0 means 1) */
  uint32_t input_height;   /**< input height in pixels; 0: wmf_model_default_input_size() */
  uint32_t input_width;    /**< input width in pixels; 0: wmf_model_default_input_size() */
  uint32_t threads;        /**< compute threads; 0: oneDNN's default (all cores) */
  wmf_precision precision; /**< WMF_PRECISION_FP32 or WMF_PRECISION_BF16 */
  const char *stage;       /**< NULL, or an intermediate stage whose globally average-pooled output
                                is kept: "conv1", "layer1".."layer4" (ResNet); "features.N" for a
                                module index N of a ReLU or MaxPool (VGG);
                                "features.denseblockK", "features.transitionK", and (since 1.1)
                                "features.norm5": norm5 before the ReLU, Mark My Words' hook (DenseNet);
                                "features" (MobileNet); "conv1", "maxpool", "stage2".."stage4",
                                "conv5" (ShuffleNet-v2); AlexNet's as VGG's, GoogLeNet's
                                "inception3a".."inception5b", Inception-v3's "Mixed_5b".."Mixed_7c",
                                ConvNeXt's "features.1".."features.7", "stem",
                                "trunk_output.block1".."block4" (RegNet),
                                EfficientNet's "features.0".."features.8"
                                (docs/models.md lists all) */
  int32_t conv_algorithm;  /**< a wmf_conv_algorithm value (default WMF_CONV_AUTO). Since 1.1. */
} wmf_session_options;
#define WMF_SESSION_OPTIONS_INIT {sizeof(wmf_session_options), 1, 0, 0, 0, WMF_PRECISION_FP32, NULL, WMF_CONV_AUTO}

/** Fills `*options` with the defaults (as WMF_SESSION_OPTIONS_INIT) and sets its struct_size, for callers that cannot
 *  use the macro (bindings). `struct_size` is the size of the caller's struct, sizeof(wmf_session_options) of the
 *  header it was built with: any size from the 1.0 size up is accepted, only the fields that size
 *  covers are written, and bytes beyond the fields this version knows are zeroed.
 *  Returns WMF_OK, or WMF_ERR_INVALID_ARGUMENT (NULL, or a size below the 1.0 size). Thread-safe.
 *  Since 1.1. */
WMF_API wmf_status wmf_session_options_init(wmf_session_options *options, size_t struct_size);

/** Creates an inference session: oneDNN primitives for the model at the session's input size, its
 *  own stream, activation buffers and scratchpad. Primitives for batches below max_batch are made on
 *  first use. The model must outlive the session. `options` may be NULL (batch 1, the model's default
 *  input size, fp32).
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (zero or too large sizes, an input too small for the
 *  network: ResNet, VGG, DenseNet, MobileNet, ShuffleNet, ConvNeXt and RegNet need 32 px, AlexNet 63 px, GoogLeNet 15 px,
 *  Inception-v3 75 px, EfficientNet 1 px; a ViT accepts only the size its position embedding fixes), WMF_ERR_NOT_FOUND
 *  (unknown stage name),
 *  WMF_ERR_UNSUPPORTED (bf16 on a CPU without it), WMF_ERR_BACKEND, WMF_ERR_OUT_OF_MEMORY; an unknown
 *  conv_algorithm or precision is WMF_ERR_INVALID_ARGUMENT.
 *  *out is owned by the caller. Thread-safe with respect to the model. */
WMF_API wmf_status wmf_session_create(wmf_session **out, const wmf_model *model,
                                      const wmf_session_options *options);

/** Frees a session; NULL is accepted. */
WMF_API void wmf_session_destroy(wmf_session *session);

/** Runs the network on `n` images (1 <= n <= max_batch). `input_nchw` holds n * 3 * height * width
 *  floats, preprocessed (normalized) and laid out N, C, H, W. `logits_out` receives n *
 *  wmf_session_logit_count() floats and `features_out` n * wmf_session_feature_count() floats, row by
 *  row; either may be NULL when not wanted; `*_capacity` are their sizes in floats.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT (NULL input, n == 0), WMF_ERR_LIMIT (n above max_batch),
 *  WMF_ERR_BUFFER_TOO_SMALL (an output capacity below what n images need), WMF_ERR_BACKEND,
 *  WMF_ERR_OUT_OF_MEMORY (primitives for a new batch size). Not thread-safe for one session. */
WMF_API wmf_status wmf_session_run(wmf_session *session, const float *input_nchw, size_t n,
                                   float *logits_out, size_t logits_capacity, float *features_out,
                                   size_t features_capacity);

/** Logits per image (the model's number of classes); 0 for NULL. */
WMF_API size_t wmf_session_logit_count(const wmf_session *session);

/** Features per image (see wmf_model_feature_count()); 0 for NULL. */
WMF_API size_t wmf_session_feature_count(const wmf_session *session);

/** Channels of the session's stage output, i.e. features per image of wmf_session_stage_features (0
 *  when no stage was asked for, or for NULL). Since 1.1. */
WMF_API size_t wmf_session_stage_feature_count(const wmf_session *session);

/** Older name of wmf_session_stage_feature_count, kept for 1.0. It counts the stage's channels, not
 *  stages (a session has at most one). */
WMF_API size_t wmf_session_stage_count(const wmf_session *session);

/** Copies the globally average-pooled stage output of the last wmf_session_run(): n *
 *  wmf_session_stage_feature_count() floats for the n images of that run.
 *  Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_STATE (no stage asked for, or no run yet),
 *  WMF_ERR_BUFFER_TOO_SMALL. */
WMF_API wmf_status wmf_session_stage_features(const wmf_session *session, float *out, size_t capacity);

/** The session's input geometry; any pointer may be NULL. */
WMF_API void wmf_session_input_dims(const wmf_session *session, uint32_t *max_batch, uint32_t *height,
                                    uint32_t *width);

/** Name of the instruction set oneDNN dispatches to on this CPU, e.g. "avx512_core_bf16". Static.
 *  Thread-safe. */
WMF_API const char *wmf_nn_isa(void);

/** 1 if bf16 sessions are available on this CPU (AVX512-BF16 or AMX), else 0. Thread-safe. */
WMF_API int wmf_nn_has_bf16(void);

#ifdef __cplusplus
}
#endif
#endif
