/* probe module internals: the layout of wmf_probe and what its files share. For lib/probe and its unit
 * tests only: probe offers other modules nothing beyond its public API, so it has no probe.h. */
#ifndef WMF_LIB_PROBE_INTERNAL_H
#define WMF_LIB_PROBE_INTERNAL_H

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

/* An untrained head (zero weights) of K classes and F channels with no channel masked. */
wmf_status wmfi_probe_new(wmf_probe **out, size_t K, size_t F);
/* Marks channel j masked where masked[j] (F flags) is nonzero and recomputes the kept channels. */
void wmfi_probe_set_masked(wmf_probe *p, const uint8_t *masked);

/* Parses a probe file held in memory: wmf_probe_load without the I/O (a wmfi_parser, core.h: `out` is
 * a wmf_probe **). */
wmf_status wmfi_probe_parse(void *out, const uint8_t *data, size_t size, const char *path);

#endif
