/* Shared by the weights fuzz targets: after a successful open, every tensor is described and read
 * (strided reads over the mapped bytes are where an unchecked extent would show up under ASan). */
#include <stdlib.h>
#include <string.h>

#include <wmfeat.h>

static void read_every_tensor(const wmf_weights *w) {
  size_t n = wmf_weights_count(w);
  for (size_t i = 0; i < n; i++) {
    wmf_tensor_info t;
    if (wmf_weights_info(w, i, &t) != WMF_OK || !t.name) abort();
    size_t j;
    if (wmf_weights_find(w, t.name, &j) != WMF_OK) abort(); /* names are unique */
    if (t.numel > (1u << 22)) continue;                      /* a forged shape over a stride-0 view */
    float *buf = malloc((size_t)t.numel * sizeof(float) + 1);
    if (!buf) continue;
    wmf_status st = wmf_weights_get_f32(w, t.name, buf, (size_t)t.numel);
    if (st != WMF_OK && st != WMF_ERR_UNSUPPORTED) abort();
    free(buf);
  }
}
