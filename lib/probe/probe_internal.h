/* probe module internals: the layout of wmf_probe and what its files share. For lib/probe and its unit
 * tests only: probe offers other modules nothing beyond its public API, so it has no probe.h. */
#ifndef WMF_LIB_PROBE_INTERNAL_H
#define WMF_LIB_PROBE_INTERNAL_H

#include "core/core.h"

#define WMFI_PROBE_MAX_DIM ((size_t)1 << 24)
/* Training's fixed partition (probe.c, evaluate): samples per block of logits, classes and features per
 * tile of the gradient. Independent of the thread count, so results are too. */
#define WMFI_PROBE_BLOCK 256
#define WMFI_PROBE_TILE 256
/* Below this many multiply-adds per product (n (d + 1) K) an evaluation stays on the calling thread. */
#define WMFI_PROBE_PARALLEL_WORK 4e6

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

/* The training problem: X (n x d, the kept channels, double), labels, sizes. Parameters theta hold
 * W (K x d) then b (K) when fitting the intercept. */
typedef struct wmfi_probe_problem {
  const double *X;
  const int32_t *y;
  size_t n, d, K;
  bool intercept;
  double l2;          /* 1 / (C n) */
  double *Z;          /* n x K scratch */
  double *block_loss; /* one partial loss per block of WMFI_PROBE_BLOCK samples */
} wmfi_probe_problem;

/* The training objective at theta (mean cross-entropy + l2 / 2 ||W||^2) returned, its gradient written
 * to grad (K d, then K with the intercept). Uses the calling thread's OpenMP team; the result is
 * bit-identical for every thread count. */
double wmfi_probe_evaluate(const wmfi_probe_problem *pr, const double *theta, double *grad);

/* Parses a probe file held in memory: wmf_probe_load without the I/O (a wmfi_parser, core.h: `out` is
 * a wmf_probe **). */
wmf_status wmfi_probe_parse(void *out, const uint8_t *data, size_t size, const char *path);

#endif
