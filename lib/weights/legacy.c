/* PyTorch legacy format (torch.save before 1.6). */
#include "weights.h"

wmf_status wmfi_weights_parse_legacy(wmf_weights *w, const uint8_t *data, size_t size,
                                     const wmf_weights_options *opt) {
  return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: legacy PyTorch files are not read yet", w->origin);
}
