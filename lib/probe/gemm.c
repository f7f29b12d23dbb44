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

/* Packs the m x kc matrix S (element (i, p) at S[i rs + p cs]) into panels of w rows: panel r holds rows
 * r w .. r w + w - 1, element (i, p) at p w + i, the last panel's missing rows zero. A is packed as it is
 * (w = MR), B as its transpose (w = NR, strides swapped). S is read along its contiguous direction: row
 * by row when its rows are contiguous (cs 1), else p by p across all the panels. */
static void pack(double *restrict dst, size_t m, size_t kc, size_t w, const double *S, size_t rs, size_t cs) {
  size_t panels = (m + w - 1) / w;
  if (cs == 1) {
    for (size_t i = 0; i < m; i++) {
      double *d = dst + i / w * w * kc + i % w;
      for (size_t p = 0; p < kc; p++) d[p * w] = S[i * rs + p];
    }
  } else {
    for (size_t p = 0; p < kc; p++)
      for (size_t r = 0; r < panels; r++) {
        double *d = dst + r * w * kc + p * w;
        const double *src = S + r * w * rs + p * cs;
        size_t rows = m - r * w < w ? m - r * w : w;
        for (size_t i = 0; i < rows; i++) d[i] = src[i * rs];
      }
  }
  for (size_t i = m; i < panels * w; i++)
    for (size_t p = 0; p < kc; p++) dst[i / w * w * kc + p * w + i % w] = 0.0;
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
      pack(pb, nc, kc, NR, B + pc * rsb + jc * csb, csb, rsb); /* B^T: nc x kc */
      for (size_t ic = 0; ic < m; ic += MC) {
        size_t mc = m - ic < MC ? m - ic : MC;
        pack(pa, mc, kc, MR, A + ic * rsa + pc * csa, rsa, csa);
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
