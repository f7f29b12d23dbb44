/* probe module internals: the layout of wmf_probe and what its files share. For lib/probe and its unit
 * tests only: probe offers other modules nothing beyond its public API, so it has no probe.h. */
#ifndef WMF_LIB_PROBE_INTERNAL_H
#define WMF_LIB_PROBE_INTERNAL_H

#include "core/core.h"

#define WMFI_PROBE_MAX_DIM ((size_t)1 << 24)
/* Training's fixed partition (probe.c, evaluate): samples per block of logits, classes and features per
 * tile of the gradient. Independent of the thread count, so results are too. */
#define WMFI_PROBE_BLOCK 512
#define WMFI_PROBE_TILE 512
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
  double *pack;       /* packing scratch: wmfi_probe_gemm_scratch() doubles per thread */
  size_t threads;     /* threads the scratch is for: an evaluation uses at most this many */
} wmfi_probe_problem;

/* Threads an evaluation or a prediction of n samples, d kept channels and K classes uses: 1 below
 * WMFI_PROBE_PARALLEL_WORK, else the calling thread's OpenMP team (omp_get_max_threads()). */
size_t wmfi_probe_threads(size_t n, size_t d, size_t K);

/* The training objective at theta (mean cross-entropy + l2 / 2 ||W||^2) returned, its gradient written
 * to grad (K d, then K with the intercept). Uses up to pr->threads threads of the calling thread's OpenMP
 * team (pr->pack holds scratch for that many); the result is bit-identical for every thread count. */
double wmfi_probe_evaluate(const wmfi_probe_problem *pr, const double *theta, double *grad);

/* gemm.c: C = alpha A B in double, on the calling thread, bit for bit the plain loop over k in increasing
 * order with one running sum per element (fused multiply-adds where the CPU has FMA), whatever the shapes.
 * A is m x k with element (i, p) at A[i rsa + p csa], B is k x n with (p, j) at B[p rsb + j csb] (so a
 * transpose is a swap of strides), C is m x n row-major with row stride ldc and is overwritten. scratch
 * holds wmfi_probe_gemm_scratch() doubles for the packed panels (the caller allocates it; nothing in
 * gemm.c allocates). */
#define WMFI_GEMM_MR 6    /* rows of the micro-kernel's tile */
#define WMFI_GEMM_NR 8    /* its columns */
#define WMFI_GEMM_MC 144  /* rows of A per packed block (L2) */
#define WMFI_GEMM_KC 256  /* depth per packed block (a panel of A and one of B in L1) */
#define WMFI_GEMM_NC 1024 /* columns of B per packed block (L3) */
size_t wmfi_probe_gemm_scratch(void);
void wmfi_probe_gemm(double *scratch, size_t m, size_t n, size_t k, double alpha, const double *A, size_t rsa,
                     size_t csa, const double *B, size_t rsb, size_t csb, double *C, size_t ldc);
/* The same with a chosen micro-kernel (for the tests): WMFI_GEMM_AUTO (the fastest the CPU has),
 * WMFI_GEMM_GENERIC (portable C, separate multiply and add) or WMFI_GEMM_FMA (AVX2 + FMA: only where
 * wmfi_probe_gemm_has_fma() returns 1). */
enum { WMFI_GEMM_AUTO, WMFI_GEMM_GENERIC, WMFI_GEMM_FMA };
void wmfi_probe_gemm_ex(int kernel, double *scratch, size_t m, size_t n, size_t k, double alpha, const double *A,
                        size_t rsa, size_t csa, const double *B, size_t rsb, size_t csb, double *C, size_t ldc);
int wmfi_probe_gemm_has_fma(void);

/* Parses a probe file held in memory: wmf_probe_load without the I/O (a wmfi_parser, core.h: `out` is
 * a wmf_probe **). */
wmf_status wmfi_probe_parse(void *out, const uint8_t *data, size_t size, const char *path);

#endif
