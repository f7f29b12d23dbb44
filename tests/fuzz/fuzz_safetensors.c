/* libFuzzer target: wmf_weights_open_memory on arbitrary bytes (seeds: small safetensors files). Any input
 * must give a status, never a crash, leak or sanitizer report; what opens must read back. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_weights_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wmf_weights *w = NULL;
  if (wmf_weights_open_memory(&w, data, size, NULL) == WMF_OK) {
    read_every_tensor(w);
    wmf_weights_destroy(w);
  } else if (w) {
    abort();
  }
  return 0;
}
