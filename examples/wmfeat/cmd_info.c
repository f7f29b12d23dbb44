/* wmfeat info: the library, the CPU, and (given a weight file) its format, tensors and architecture. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_out.h"

#define SUPPORTED_FAMILIES                                                                                \
  "ResNet (resnet18..152, ResNeXt, Wide ResNet), VGG (vgg11..19, with or without batch norm), DenseNet "  \
  "(densenet121..201), MobileNet (mobilenet_v2, mobilenet_v3_large/small), ShuffleNet-v2 (x0_5..x2_0), "  \
  "ViT (vit_b_16..vit_h_14), AlexNet, GoogLeNet, Inception-v3, ConvNeXt (convnext_tiny/small/base/large), "  \
  "RegNet (regnet_x_400mf..regnet_x_32gf, regnet_y_400mf..regnet_y_128gf), "                              \
  "EfficientNet (efficientnet_b0..b7, efficientnet_v2_s/m/l), "                                          \
  "with torchvision's tensor names"

/* v as "%g" prints it, as a double: 0.485, not the float's 0.48500001430511475 in JSON. */
static double shortest(float v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g", v);
  return strtod(buf, NULL);
}

int cmd_info(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  bool tensors = false;
  const char *sd_key = NULL;
  arg_spec specs[] = {{"tensors", ARG_FLAG, &tensors, "list every tensor (name, dtype, shape)"},
                      STATE_DICT_KEY_SPEC(sd_key), COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat info [WEIGHTS] [--tensors] [--json]\n"
                      "  exits 1 when the weights are of no supported network family";
  const char *pos[1];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 0, 1, &np, &o, &rc)) return rc;
  wmf_weights *w = NULL;
  wmf_model *m = NULL;
  wmf_status mst = WMF_OK;
  uint64_t params = 0;
  if (np == 1) {
    wmf_weights_options wo = WMF_WEIGHTS_OPTIONS_INIT;
    wo.state_dict_key = sd_key;
    wmf_status st = wmf_weights_open(&w, pos[0], &wo);
    if (st) return fail_status(st, pos[0]);
    for (size_t i = 0; i < wmf_weights_count(w); i++) {
      wmf_tensor_info ti;
      if (wmf_weights_info(w, i, &ti) == WMF_OK) params += ti.numel;
    }
    mst = wmf_model_load(&m, w, NULL, NULL);
  }
  char arch_error[1024] = "";
  if (w && !m) snprintf(arch_error, sizeof arch_error, "%s: %s", wmf_status_name(mst), wmf_last_error());
  const char *arch = m ? wmf_model_arch(m) : NULL;
  preprocessing pre = {0};
  if (m) model_preprocessing(m, 0, 0, &pre); /* the model's: info has no --filter or --normalize */
  const char *filter = pre.filter == WMF_FILTER_BICUBIC ? "bicubic" : "bilinear";
  double mean[3], sd[3];
  for (int c = 0; c < 3; c++) mean[c] = shortest(pre.norm.mean[c]), sd[c] = shortest(pre.norm.std[c]);
  if (o.json) {
    json_t *j = json_pack("{s:s, s:s, s:b}", "version", wmf_version(), "isa", wmf_nn_isa(), "bf16", wmf_nn_has_bf16());
    if (j && w) {
      json_t *wj = json_pack("{s:o, s:s, s:I, s:I}", "path", json_out_string(pos[0]), "format", wmf_weights_format(w),
                             "tensors", (json_int_t)wmf_weights_count(w), "parameters", (json_int_t)params);
      if (wj && m)
        json_object_update_new(wj, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:[f,f,f], s:[f,f,f]}", "arch", arch,
                                             "family", wmf_model_family(m), "classes",
                                             (json_int_t)wmf_model_num_classes(m), "features",
                                             (json_int_t)wmf_model_feature_count(m), "resize", (json_int_t)pre.resize,
                                             "crop", (json_int_t)pre.crop, "filter", filter, "mean", mean[0], mean[1],
                                             mean[2], "std", sd[0], sd[1], sd[2]));
      else if (wj)
        json_object_update_new(wj, json_pack("{s:n, s:o}", "arch", "arch_error", json_out_string(arch_error)));
      json_t *list = tensors ? json_array() : NULL;
      for (size_t i = 0; list && i < wmf_weights_count(w); i++) {
        wmf_tensor_info ti;
        if (wmf_weights_info(w, i, &ti)) continue;
        json_t *shape = json_array();
        for (uint32_t d = 0; shape && d < ti.ndim; d++) json_array_append_new(shape, json_integer((json_int_t)ti.shape[d]));
        json_array_append_new(list, json_pack("{s:o, s:s, s:o}", "name", json_out_string(ti.name), "dtype",
                                              wmf_dtype_name(ti.dtype), "shape", shape));
      }
      if (list) json_object_set_new(wj, "tensor_list", list); /* steals list even when wj is NULL */
      json_object_set_new(j, "weights", wj);
    }
    rc = json_out_print(j);
  } else {
    printf("libwmfeat %s\nCPU ISA (oneDNN): %s, bf16: %s\n", wmf_version(), wmf_nn_isa(),
           wmf_nn_has_bf16() ? "yes" : "no");
    if (w) {
      printf("%s: %s, %zu tensors, %.2f M parameters\n", pos[0], wmf_weights_format(w), wmf_weights_count(w),
             (double)params / 1e6);
      if (m)
        printf("architecture: %s (%s), %zu classes, %zu features\ninput: resize %u %s, crop %u, mean %g %g %g, std "
               "%g %g %g (torchvision's)\n", arch, wmf_model_family(m), wmf_model_num_classes(m),
               wmf_model_feature_count(m), pre.resize, filter, pre.crop, mean[0], mean[1], mean[2], sd[0], sd[1], sd[2]);
      else
        printf("architecture: not recognized: %s\n", arch_error);
      for (size_t i = 0; tensors && i < wmf_weights_count(w); i++) {
        wmf_tensor_info ti;
        if (wmf_weights_info(w, i, &ti)) continue;
        printf("  %-50s %-5s [", ti.name, wmf_dtype_name(ti.dtype));
        for (uint32_t d = 0; d < ti.ndim; d++) printf("%s%lld", d ? ", " : "", (long long)ti.shape[d]);
        printf("]\n");
      }
    }
  }
  if (w && !m) /* the tensors were listed; the weights still cannot be used */
    fprintf(stderr, "error: %s: %s\nsupported families: %s\n", pos[0], arch_error, SUPPORTED_FAMILIES);
  if (!rc) rc = w && !m ? EXIT_RUNTIME : EXIT_OK;
  wmf_model_destroy(m);
  wmf_weights_destroy(w);
  return rc;
}
