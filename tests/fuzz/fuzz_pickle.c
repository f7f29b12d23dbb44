/* libFuzzer target: the restricted unpickler. The bytes run as one pickle (every storage it names backed
 * by zeros, then the state_dict collected and read), and as a whole file (seeds are legacy .pth files,
 * five pickles and raw storages back to back). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_weights_common.h"
#include "weights/weights_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void as_one_pickle(const uint8_t *data, size_t size) {
  wmfi_pickle *pk;
  if (wmfi_pickle_create(&pk, "fuzz") != WMF_OK) return;
  const wmfi_pv *root;
  size_t used;
  uint8_t *zeros = NULL;
  if (wmfi_pickle_run(pk, data, size, "data.pkl", &root, &used) == WMF_OK) {
    if (used > size) abort();
    size_t total = 0, n = wmfi_pickle_storage_count(pk);
    for (size_t i = 0; i < n; i++) {
      wmfi_pk_storage *s = wmfi_pickle_storage(pk, i);
      uint64_t b = s->numel * 8;
      if (s->numel > (1u << 20) || total + b > (16u << 20)) continue; /* stays unresolved */
      total += (size_t)b;
    }
    zeros = calloc(total + 1, 1);
    wmf_weights *w = calloc(1, sizeof *w);
    if (zeros && w) {
      for (size_t i = 0; i < n; i++) {
        wmfi_pk_storage *s = wmfi_pickle_storage(pk, i);
        if (s->numel <= (1u << 20)) {
          s->data = zeros;
          s->resolved = true;
        }
      }
      w->origin = "fuzz";
      w->format = "pickle";
      if (wmfi_pickle_collect(pk, root, w, NULL) == WMF_OK && wmfi_weights_normalize(w) == WMF_OK)
        read_every_tensor(w);
      w->origin = NULL; /* static: not freed by destroy */
      wmf_weights_destroy(w);
    } else {
      free(w);
    }
  }
  free(zeros);
  wmfi_pickle_destroy(pk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  as_one_pickle(data, size);
  wmf_weights *w = NULL;
  if (wmf_weights_open_memory(&w, data, size, NULL) == WMF_OK) {
    read_every_tensor(w);
    wmf_weights_destroy(w);
  }
  return 0;
}
