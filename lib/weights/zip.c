/* PyTorch zip format (torch.save since 1.6). */
#include "weights.h"

wmf_status wmfi_weights_parse_zip(wmf_weights *w, const uint8_t *data, size_t size,
                                  const wmf_weights_options *opt) {
  return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: PyTorch zip files are not read yet", w->origin);
}
