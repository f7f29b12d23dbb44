/* Tensor names as the model builders expect them (torchvision's): DataParallel's "module." prefixes
 * stripped, num_batches_tracked dropped, torchvision's legacy DenseNet names and timm's VGG head names
 * mapped. Duplicates after renaming are refused: which one to keep would be a guess. */
#include <stdlib.h>
#include <string.h>

#include "weights/weights_internal.h"

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* "...denselayer12.norm.1.weight" -> "...denselayer12.norm1.weight" (also conv.1, norm.2, conv.2,
 * relu.1, relu.2), exactly the pattern torchvision's loader rewrites. In place: the name shrinks. */
static void densenet_legacy(char *name) {
  for (char *p = strstr(name, "denselayer"); p; p = strstr(p + 1, "denselayer")) {
    char *q = p + 10;
    if (*q < '0' || *q > '9') continue;
    while (*q >= '0' && *q <= '9') q++;
    if (*q != '.') continue;
    q++;
    if ((strncmp(q, "norm.", 5) == 0 || strncmp(q, "conv.", 5) == 0 || strncmp(q, "relu.", 5) == 0) &&
        (q[5] == '1' || q[5] == '2') && q[6] == '.' &&
        (strcmp(q + 7, "weight") == 0 || strcmp(q + 7, "bias") == 0 || strcmp(q + 7, "running_mean") == 0 ||
         strcmp(q + 7, "running_var") == 0)) {
      memmove(q + 4, q + 5, strlen(q + 5) + 1);
      return;
    }
  }
}

/* timm's VGG keeps the classifier as convolutions: pre_logits.fc1 (4096x512x7x7), pre_logits.fc2
 * (4096x4096x1x1), head.fc (1000x4096). torchvision's are Linear layers classifier.0/3/6 over the
 * flattened NCHW features, so a contiguous 4-D weight is the same bytes seen as 2-D. */
static wmf_status timm_vgg(wmfi_tensor *t) {
  static const struct {
    const char *from, *to;
  } map[] = {{"pre_logits.fc1.", "classifier.0."}, {"pre_logits.fc2.", "classifier.3."}, {"head.fc.", "classifier.6."}};
  for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
    size_t n = strlen(map[i].from);
    if (strncmp(t->name, map[i].from, n) != 0) continue;
    const char *rest = t->name + n;
    bool weight = strcmp(rest, "weight") == 0;
    if (!weight && strcmp(rest, "bias") != 0) continue;
    char *nn = wmfi_malloc(strlen(map[i].to) + strlen(rest) + 1);
    if (!nn) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "out of memory renaming '%s'", t->name);
    strcpy(nn, map[i].to);
    strcat(nn, rest);
    wmfi_free(t->name); /* `rest` pointed into it: not used below */
    t->name = nn;
    if (t->ndim == 4 && weight && t->numel > 0) { /* numel > 0: no overflow below */
      int64_t inner = t->shape[1] * t->shape[2] * t->shape[3];
      bool contiguous = t->stride[3] == 1 && t->stride[2] == t->shape[3] &&
                        t->stride[1] == t->shape[2] * t->shape[3] && t->stride[0] == inner;
      if (contiguous) {
        t->ndim = 2;
        t->shape[1] = inner;
        t->stride[0] = inner;
        t->stride[1] = 1;
      }
    }
    return WMF_OK;
  }
  return WMF_OK;
}

static int by_name(const void *a, const void *b, void *ctx) {
  const wmfi_tensor *t = ctx;
  return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

/* qsort_r is a GNU extension; a small merge-free shell sort keeps this portable and allocation-free. */
static void sort_indices(size_t *idx, size_t n, const wmfi_tensor *t) {
  static const size_t gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
  for (size_t g = 0; g < sizeof gaps / sizeof *gaps; g++) {
    size_t gap = gaps[g];
    for (size_t i = gap; i < n; i++) {
      size_t v = idx[i], j = i;
      while (j >= gap && by_name(&idx[j - gap], &v, (void *)t) > 0) {
        idx[j] = idx[j - gap];
        j -= gap;
      }
      idx[j] = v;
    }
  }
}

wmf_status wmfi_weights_normalize(wmf_weights *w) {
  bool timm_vgg_head = false; /* head.fc is common in timm; rename it only beside VGG's pre_logits */
  for (size_t i = 0; i < w->count; i++) {
    const char *n = w->tensors[i].name;
    while (strncmp(n, "module.", 7) == 0) n += 7;
    if (strcmp(n, "pre_logits.fc1.weight") == 0) timm_vgg_head = true;
  }
  size_t kept = 0;
  for (size_t i = 0; i < w->count; i++) {
    wmfi_tensor t = w->tensors[i];
    if (strcmp(t.name, "num_batches_tracked") == 0 || ends_with(t.name, ".num_batches_tracked")) {
      wmfi_free(t.name);
      continue;
    }
    size_t skip = 0;
    while (strncmp(t.name + skip, "module.", 7) == 0) skip += 7;
    if (skip) memmove(t.name, t.name + skip, strlen(t.name + skip) + 1);
    densenet_legacy(t.name);
    w->tensors[kept++] = t;
    wmf_status st = timm_vgg_head ? timm_vgg(&w->tensors[kept - 1]) : WMF_OK;
    if (st) {
      for (size_t j = i + 1; j < w->count; j++) wmfi_free(w->tensors[j].name);
      w->count = kept;
      return st;
    }
  }
  w->count = kept;
  w->sorted = wmfi_alloc_array(w->count + 1, sizeof *w->sorted);
  if (!w->sorted) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for the name index", w->origin);
  for (size_t i = 0; i < w->count; i++) w->sorted[i] = i;
  sort_indices(w->sorted, w->count, w->tensors);
  for (size_t i = 1; i < w->count; i++)
    if (strcmp(w->tensors[w->sorted[i - 1]].name, w->tensors[w->sorted[i]].name) == 0)
      return wmfi_fail(WMF_ERR_CORRUPT, "%s: two tensors are named '%s' (after normalizing names)", w->origin,
                       w->tensors[w->sorted[i]].name);
  return WMF_OK;
}
