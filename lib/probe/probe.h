/* probe module internals. */
#ifndef WMF_LIB_PROBE_H
#define WMF_LIB_PROBE_H

#include "core/core.h"

#define WMFI_PROBE_MAX_DIM ((size_t)1 << 24)

struct wmf_probe {
  size_t K, F;      /* classes, channels */
  double *W;        /* K x F, zero in masked channels */
  double *b;        /* K */
  uint8_t *masked;  /* F flags */
  size_t *keep;     /* indices of the unmasked channels */
  size_t num_keep;
  uint32_t iterations;
  int converged;
  double objective, gradient;
};

/* An untrained head (zero weights) of K classes and F channels with the given mask flags (NULL = none). */
wmf_status wmfi_probe_new(wmf_probe **out, size_t K, size_t F, const uint8_t *masked);

/* Parses a probe file held in memory: wmf_probe_load without the I/O. */
wmf_status wmfi_probe_parse(wmf_probe **out, const uint8_t *data, size_t size, const char *path);

#endif
