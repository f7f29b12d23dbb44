/* The probe's matrix products: a small double-precision GEMM of our own, C = alpha A B.
 *
 * Why not BLIS or a BLAS: they allocate their packing buffers behind wmf_set_allocator's back and BLIS
 * aborts the process when that allocation fails; the library must never abort and must allocate only
 * through wmfi_malloc. Why not oneDNN's matmul (already a dependency): oneDNN 2.6 has no f64 data type,
 * and in fp32 the gradient cannot reach the 1e-8 tolerance of the scikit-learn agreement test.
 *
 * The layout is the usual one of BLIS / GotoBLAS: B is packed per block of WMFI_GEMM_KC x WMFI_GEMM_NC
 * into panels of WMFI_GEMM_NR columns, A per block of WMFI_GEMM_MC x WMFI_GEMM_KC into panels of
 * WMFI_GEMM_MR rows (both zero-padded), and a register-blocked micro-kernel computes one MR x NR tile of
 * C per call. The packing buffers come from the caller (wmfi_probe_gemm_scratch doubles per thread):
 * nothing here allocates.
 *
 * The summation order is fixed: each element of C is one running sum over k in increasing order, kept in
 * C between blocks of k, and multiplied by alpha once at the end. So the result is bit for bit the plain
 * loop `acc = 0; for (p = 0; p < k; p++) acc = fma(A[i][p], B[p][j], acc); C[i][j] = alpha * acc`
 * (without fma: acc + A B rounded twice, on machines without FMA), whatever the blocking, the kernel,
 * the shape of the call or the thread that runs it. One call runs on the calling thread only.
 *
 * Two kernels with the same tile: AVX2 + FMA (12 accumulators of 4 doubles) and portable C; the AVX2 one
 * is chosen at run time where the CPU has it (__builtin_cpu_supports, as GCC's target_clones dispatch in
 * lib/nn/kernels.c does, but here the two bodies differ: intrinsics against plain C). */
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WMFI_GEMM_X86 1
#endif

#include "probe_internal.h"

#define MR WMFI_GEMM_MR
#define NR WMFI_GEMM_NR
#define MC WMFI_GEMM_MC
#define KC WMFI_GEMM_KC
#define NC WMFI_GEMM_NC

size_t wmfi_probe_gemm_scratch(void) { return (size_t)KC * (MC + NC); }

/* one MR x NR tile: c (row stride ldc) = scale * (c if load, else 0) + sum over kc of a-panel b-panel */
typedef void (*micro_kernel)(size_t kc, const double *a, const double *b, double *c, size_t ldc, int load,
                             double scale);

static void kernel_generic(size_t kc, const double *restrict a, const double *restrict b, double *restrict c,
                           size_t ldc, int load, double scale) {
  double acc[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = load ? c[i * ldc + j] : 0.0;
  for (size_t p = 0; p < kc; p++, a += MR, b += NR)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) c[i * ldc + j] = acc[i][j] * scale;
}

#ifdef WMFI_GEMM_X86
/* 6 x 8: 12 ymm accumulators, 2 for the row of B, 1 for the broadcast element of A */
__attribute__((target("avx2,fma"))) static void kernel_avx2(size_t kc, const double *restrict a,
                                                            const double *restrict b, double *restrict c, size_t ldc,
                                                            int load, double scale) {
  __m256d c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  if (load) {
    c00 = _mm256_loadu_pd(c), c01 = _mm256_loadu_pd(c + 4);
    c10 = _mm256_loadu_pd(c + ldc), c11 = _mm256_loadu_pd(c + ldc + 4);
    c20 = _mm256_loadu_pd(c + 2 * ldc), c21 = _mm256_loadu_pd(c + 2 * ldc + 4);
    c30 = _mm256_loadu_pd(c + 3 * ldc), c31 = _mm256_loadu_pd(c + 3 * ldc + 4);
    c40 = _mm256_loadu_pd(c + 4 * ldc), c41 = _mm256_loadu_pd(c + 4 * ldc + 4);
    c50 = _mm256_loadu_pd(c + 5 * ldc), c51 = _mm256_loadu_pd(c + 5 * ldc + 4);
  } else {
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_pd();
  }
  for (size_t p = 0; p < kc; p++, a += MR, b += NR) {
    __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4), x;
    x = _mm256_broadcast_sd(a), c00 = _mm256_fmadd_pd(x, b0, c00), c01 = _mm256_fmadd_pd(x, b1, c01);
    x = _mm256_broadcast_sd(a + 1), c10 = _mm256_fmadd_pd(x, b0, c10), c11 = _mm256_fmadd_pd(x, b1, c11);
    x = _mm256_broadcast_sd(a + 2), c20 = _mm256_fmadd_pd(x, b0, c20), c21 = _mm256_fmadd_pd(x, b1, c21);
    x = _mm256_broadcast_sd(a + 3), c30 = _mm256_fmadd_pd(x, b0, c30), c31 = _mm256_fmadd_pd(x, b1, c31);
    x = _mm256_broadcast_sd(a + 4), c40 = _mm256_fmadd_pd(x, b0, c40), c41 = _mm256_fmadd_pd(x, b1, c41);
    x = _mm256_broadcast_sd(a + 5), c50 = _mm256_fmadd_pd(x, b0, c50), c51 = _mm256_fmadd_pd(x, b1, c51);
  }
  __m256d s = _mm256_set1_pd(scale);
  _mm256_storeu_pd(c, _mm256_mul_pd(c00, s)), _mm256_storeu_pd(c + 4, _mm256_mul_pd(c01, s));
  _mm256_storeu_pd(c + ldc, _mm256_mul_pd(c10, s)), _mm256_storeu_pd(c + ldc + 4, _mm256_mul_pd(c11, s));
  _mm256_storeu_pd(c + 2 * ldc, _mm256_mul_pd(c20, s)), _mm256_storeu_pd(c + 2 * ldc + 4, _mm256_mul_pd(c21, s));
  _mm256_storeu_pd(c + 3 * ldc, _mm256_mul_pd(c30, s)), _mm256_storeu_pd(c + 3 * ldc + 4, _mm256_mul_pd(c31, s));
  _mm256_storeu_pd(c + 4 * ldc, _mm256_mul_pd(c40, s)), _mm256_storeu_pd(c + 4 * ldc + 4, _mm256_mul_pd(c41, s));
  _mm256_storeu_pd(c + 5 * ldc, _mm256_mul_pd(c50, s)), _mm256_storeu_pd(c + 5 * ldc + 4, _mm256_mul_pd(c51, s));
}
#endif

int wmfi_probe_gemm_has_fma(void) {
#ifdef WMFI_GEMM_X86
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

/* A (m x kc, element (i, p) at A[i rsa + p csa]) into panels of MR rows: panel r holds rows r MR ..,
 * element (i, p) at p MR + i, rows past m zero. A is read along its contiguous direction: row by row when
 * its rows are contiguous (csa 1), else k by k across all the panels. */
static void pack_a(double *restrict dst, size_t m, size_t kc, const double *A, size_t rsa, size_t csa) {
  size_t panels = (m + MR - 1) / MR;
  if (csa == 1) {
    for (size_t i = 0; i < m; i++) {
      double *d = dst + i / MR * MR * kc + i % MR;
      for (size_t p = 0; p < kc; p++) d[p * MR] = A[i * rsa + p];
    }
  } else {
    for (size_t p = 0; p < kc; p++)
      for (size_t r = 0; r < panels; r++) {
        double *d = dst + r * MR * kc + p * MR;
        const double *src = A + r * MR * rsa + p * csa;
        size_t mr = m - r * MR < MR ? m - r * MR : MR;
        for (size_t i = 0; i < mr; i++) d[i] = src[i * rsa];
      }
  }
  for (size_t i = m; i < panels * MR; i++) /* the last panel's missing rows */
    for (size_t p = 0; p < kc; p++) dst[i / MR * MR * kc + p * MR + i % MR] = 0.0;
}

/* B (kc x n, element (p, j) at B[p rsb + j csb]) into panels of NR columns, element (p, j) at p NR + j,
 * columns past n zero; read column by column when its columns are contiguous (rsb 1), else k by k. */
static void pack_b(double *restrict dst, size_t kc, size_t n, const double *B, size_t rsb, size_t csb) {
  size_t panels = (n + NR - 1) / NR;
  if (rsb == 1) {
    for (size_t j = 0; j < n; j++) {
      double *d = dst + j / NR * NR * kc + j % NR;
      for (size_t p = 0; p < kc; p++) d[p * NR] = B[j * csb + p];
    }
  } else {
    for (size_t p = 0; p < kc; p++)
      for (size_t c = 0; c < panels; c++) {
        double *d = dst + c * NR * kc + p * NR;
        const double *src = B + p * rsb + c * NR * csb;
        size_t nr = n - c * NR < NR ? n - c * NR : NR;
        for (size_t j = 0; j < nr; j++) d[j] = src[j * csb];
      }
  }
  for (size_t j = n; j < panels * NR; j++)
    for (size_t p = 0; p < kc; p++) dst[j / NR * NR * kc + p * NR + j % NR] = 0.0;
}

void wmfi_probe_gemm_ex(int kernel, double *scratch, size_t m, size_t n, size_t k, double alpha, const double *A,
                        size_t rsa, size_t csa, const double *B, size_t rsb, size_t csb, double *C, size_t ldc) {
  micro_kernel run = kernel_generic;
#ifdef WMFI_GEMM_X86
  if (kernel == WMFI_GEMM_FMA || (kernel == WMFI_GEMM_AUTO && wmfi_probe_gemm_has_fma())) run = kernel_avx2;
#else
  (void)kernel;
#endif
  if (!k) { /* an empty sum */
    for (size_t i = 0; i < m; i++) memset(C + i * ldc, 0, n * sizeof(double));
    return;
  }
  double *pa = scratch, *pb = scratch + (size_t)MC * KC, edge[MR * NR] = {0};
  for (size_t jc = 0; jc < n; jc += NC) {
    size_t nc = n - jc < NC ? n - jc : NC;
    for (size_t pc = 0; pc < k; pc += KC) {
      size_t kc = k - pc < KC ? k - pc : KC;
      int load = pc > 0;
      double scale = pc + kc == k ? alpha : 1.0; /* alpha once, on the finished sum */
      pack_b(pb, kc, nc, B + pc * rsb + jc * csb, rsb, csb);
      for (size_t ic = 0; ic < m; ic += MC) {
        size_t mc = m - ic < MC ? m - ic : MC;
        pack_a(pa, mc, kc, A + ic * rsa + pc * csa, rsa, csa);
        for (size_t jr = 0; jr < nc; jr += NR) {
          size_t nr = nc - jr < NR ? nc - jr : NR;
          const double *b = pb + jr * kc;
          for (size_t ir = 0; ir < mc; ir += MR) {
            size_t mr = mc - ir < MR ? mc - ir : MR;
            const double *a = pa + ir * kc;
            double *c = C + (ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR) {
              run(kc, a, b, c, ldc, load, scale);
              continue;
            }
            /* a partial tile goes through a full one on the stack */
            for (size_t i = 0; i < mr && load; i++) memcpy(edge + i * NR, c + i * ldc, nr * sizeof(double));
            run(kc, a, b, edge, NR, load, scale);
            for (size_t i = 0; i < mr; i++) memcpy(c + i * ldc, edge + i * NR, nr * sizeof(double));
          }
        }
      }
    }
  }
}

void wmfi_probe_gemm(double *scratch, size_t m, size_t n, size_t k, double alpha, const double *A, size_t rsa,
                     size_t csa, const double *B, size_t rsb, size_t csb, double *C, size_t ldc) {
  wmfi_probe_gemm_ex(WMFI_GEMM_AUTO, scratch, m, n, k, alpha, A, rsa, csa, B, rsb, csb, C, ldc);
}
