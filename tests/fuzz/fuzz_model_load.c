/* libFuzzer target: wmf_model_load on weights built from the fuzz bytes (issue 11 item 6). Mutating a
 * safetensors header byte by byte mostly breaks its JSON, so the input describes the tensors instead
 * and this target writes the file:
 *   byte 0           the architecture: NULL, "resnet", "vgg", "densenet", "resnet18", "resnet50",
 *                    "vgg11", "vgg11_bn", "densenet121", "vit", "convnext", "regnet", "efficientnet",
 *                    "mobilenet", "shufflenet", "alexnet", "googlenet", "inception_v3" (modulo 18)
 *   then records     name length (1 byte), name (bytes outside [A-Za-z0-9._-] are mapped into it;
 *                    '-' for RegNet's "block1-0"),
 *                    ndim (1 byte, modulo 5), ndim dimensions (u16 little-endian each)
 * Every tensor is F32 filled with 0.25 (a valid BatchNorm variance). Seeds (corpus/model_load) are
 * tiny valid networks of each family written by tests/nn/gen_hostile_models.py --seeds. Whatever the
 * shapes, the load must return a status (no crash, division by zero, overflow, leak); a model that
 * loads must have classes and features. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wmfeat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ELEMENTS (1u << 20) /* all tensors together: keeps each input fast */

static const char *const archs[] = {NULL, "resnet", "vgg", "densenet", "resnet18", "resnet50", "vgg11", "vgg11_bn",
                                    "densenet121", "vit", "convnext", "regnet", "efficientnet", "mobilenet",
                                    "shufflenet", "alexnet", "googlenet", "inception_v3"};

static char name_char(uint8_t b) {
  static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '.' || b == '_' || b == '-')
    return (char)b;
  return set[b % (sizeof set - 1)];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *arch = archs[data[0] % (sizeof archs / sizeof *archs)];
  size_t at = 1, hcap = 64 + size * 48, hlen = 0, total = 0;
  char *header = malloc(hcap);
  if (!header) return 0;
  hlen += (size_t)snprintf(header, hcap, "{");
  int n = 0;
  while (at < size) {
    size_t nl = data[at++];
    if (nl == 0 || nl > size - at) break;
    char name[256];
    for (size_t i = 0; i < nl; i++) name[i] = name_char(data[at + i]);
    name[nl] = 0;
    at += nl;
    if (at >= size) break;
    unsigned nd = data[at++] % 5;
    if (2 * nd > size - at) break;
    size_t numel = 1;
    char shape[64];
    size_t sl = (size_t)snprintf(shape, sizeof shape, "[");
    for (unsigned d = 0; d < nd; d++, at += 2) {
      unsigned v = data[at] | (unsigned)data[at + 1] << 8;
      numel = v && numel > MAX_ELEMENTS / v ? MAX_ELEMENTS + 1 : numel * v;
      sl += (size_t)snprintf(shape + sl, sizeof shape - sl, d ? ",%u" : "%u", v);
    }
    snprintf(shape + sl, sizeof shape - sl, "]");
    if (numel > MAX_ELEMENTS - total) goto done;
    hlen += (size_t)snprintf(header + hlen, hcap - hlen, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                             n ? "," : "", name, shape, total * 4, (total + numel) * 4);
    total += numel;
    n++;
  }
  hlen += (size_t)snprintf(header + hlen, hcap - hlen, "}");
  size_t file_size = 8 + hlen + total * 4;
  uint8_t *file = malloc(file_size);
  if (!file) goto done;
  for (int i = 0; i < 8; i++) file[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  memcpy(file + 8, header, hlen);
  float quarter = 0.25f;
  for (size_t i = 0; i < total; i++) memcpy(file + 8 + hlen + 4 * i, &quarter, 4);
  wmf_weights *w = NULL;
  if (wmf_weights_open_memory(&w, file, file_size, NULL) == WMF_OK) {
    wmf_model *m = NULL;
    wmf_model_options o = WMF_MODEL_OPTIONS_INIT;
    o.allow_unexpected = data[0] >= 128;
    if (wmf_model_load(&m, w, arch, &o) == WMF_OK) {
      if (!m || wmf_model_num_classes(m) == 0 || wmf_model_feature_count(m) == 0) abort();
      wmf_model_destroy(m);
    } else if (m) {
      abort();
    }
    wmf_weights_destroy(w);
  }
  free(file);
done:
  free(header);
  return 0;
}
