/* mask module internals: the layout of wmf_mask and what its files share. For lib/mask and its unit
 * tests only: other modules (probe) use the public wmf_mask_* API, so mask has no mask.h. */
#ifndef WMF_LIB_MASK_INTERNAL_H
#define WMF_LIB_MASK_INTERNAL_H

#include <stdbool.h>

#include "core/core.h"

#define WMFI_MASK_MAX ((size_t)1 << 24)

struct wmf_mask {
  size_t n, count;
  uint8_t *masked; /* n flags */
  double *scores;  /* n scores the mask was built from, or NULL */
  int rank;        /* wmf_mask_rank of the scores, -1 when unknown */
  /* how it was built (saved in JSON): rule name (static) or NULL, and its parameter */
  const char *rule;
  double param;     /* k, fraction p or threshold */
  double threshold; /* the key threshold used (quantile, threshold rules), else NaN */
};

/* An empty mask of n channels (n validated by the caller). */
wmf_status wmfi_mask_new(wmf_mask **out, size_t n);
const char *wmfi_mask_rank_name(int rank);

/* Parse mask files held in memory: the loaders without the I/O (wmfi_parsers, core.h: `out` is a
 * wmf_mask **). */
wmf_status wmfi_mask_parse_json(void *out, const uint8_t *data, size_t size, const char *path);
wmf_status wmfi_mask_parse_npy(void *out, const uint8_t *data, size_t size, const char *path);

#endif
