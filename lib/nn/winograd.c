/* 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms
 * for Convolutional Neural Networks", 2016), fp32, AVX2 + FMA.
 *
 * Why our own: oneDNN 2.6 has Winograd only for AVX-512 (jit_wino_4x3); on an AVX2 CPU every convolution is
 * direct. F(4x4, 3x3) computes a 4x4 output tile from a 6x6 input tile with 36 multiplications per input and
 * output channel pair instead of 144: the convolution becomes 36 independent matrix products
 *   M[xi] (tiles x cout) = V[xi] (tiles x cin) . U[xi] (cin x cout),   xi = one of the 6x6 positions,
 * between an input transform (V = B^T d B per tile and channel) and an output transform (Y = A^T M A, then
 * bias, the residual sum and ReLU: the post-ops the direct convolution would run).
 *
 * U = G g G^T is computed once at model load, in double, and kept by the op, packed in panels of NR output
 * channels for the micro-kernel. Tiles run in chunks whose V and M fit the scratchpad and whose V[xi] slice
 * stays in L2 while the micro-kernel sweeps the panels of U[xi].
 *
 * Determinism: every element of M is one running FMA sum over the input channels in increasing order, so
 * an image's outputs do not depend on the batch it runs in, the chunking, or the thread count. The
 * algorithm choice is a fixed rule (wmfi_nn_wino_eligible), not a timing, so a session computes the same
 * numbers every time. Its error against the direct convolution is measured per network by the parity tests
 * (docs/models.md). */
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WINO_X86 1
#endif

#include "nn/nn_internal.h"

enum { ALPHA = 6, NPOS = ALPHA * ALPHA, OUT_TILE = 4, MR = 6, NR = 16, GROUP = 8 };
/* Tiles per chunk, between these bounds: few channels want a chunk whose V and M stay in L2, many want U
 * (36 cin x cout floats, read once per chunk) reused over more tiles. Measured on VGG's and ResNet's shapes
 * (docs/benchmarks.md, "Winograd"). */
enum { CHUNK_MIN_TILES = 48, CHUNK_MAX_TILES = 240 };

int wmfi_nn_wino_supported(void) {
#ifdef WINO_X86
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return 0;
#endif
}

int wmfi_nn_wino_eligible(const wmfi_nn_op *op, int block) {
  int per_axis = op->pad_h || op->pad_w; /* Inception's convolutions give their padding per axis */
  int ph = per_axis ? op->pad_h : op->pad, pw = per_axis ? op->pad_w : op->pad;
  return op->kind == WMFI_NN_CONV && op->kh == 3 && op->kw == 3 && op->stride == 1 && op->groups == 1 &&
         ph == 1 && pw == 1 && op->cin % block == 0 && op->cout % block == 0 &&
         (int64_t)op->cin * op->cout <= WMFI_NN_WINO_MAX_PAIRS &&
         (op->relu == WMFI_NN_ACT_NONE || op->relu == WMFI_NN_ACT_RELU) && !op->act_then_sum &&
         wmfi_nn_wino_supported();
}

static int padded_cout(int cout) { return (cout + NR - 1) / NR * NR; }

/* Tiles per chunk: a multiple of MR growing with the size of U. */
static int chunk_tiles(int cin, int cout) {
  long t = (long)cin * cout / 512 / MR * MR;
  return t < CHUNK_MIN_TILES ? CHUNK_MIN_TILES : t > CHUNK_MAX_TILES ? CHUNK_MAX_TILES : (int)t;
}

size_t wmfi_nn_wino_scratch(const wmfi_nn_op *op) {
  return (size_t)NPOS * chunk_tiles(op->cin, op->cout) * (op->cin + padded_cout(op->cout)) * sizeof(float) + 64;
}

/* G of F(4x4, 3x3): U = G g G^T for each 3x3 kernel g. */
static const double G[ALPHA][3] = {{1.0 / 4, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                   {0, 0, 1}};

uint64_t wmfi_nn_wino_floats(const wmfi_nn_op *op) { return (uint64_t)NPOS * op->cin * padded_cout(op->cout); }

wmf_status wmfi_nn_wino_prepare(wmfi_nn_op *op) {
  int cin = op->cin, cout = op->cout, cp = padded_cout(cout);
  wmfi_free(op->wino_raw);
  op->wino_raw = wmfi_calloc((size_t)NPOS * cin * cp + 16, sizeof(float));
  if (!op->wino_raw) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_model_load: out of memory for Winograd weights");
  float *u = (float *)(((uintptr_t)op->wino_raw + 63) & ~(uintptr_t)63);
  /* U[xi][panel][ci][lane]: panel = co / NR, lane = co % NR */
  for (int co = 0; co < cout; co++)
    for (int ci = 0; ci < cin; ci++) {
      const float *g = op->w + ((size_t)co * cin + ci) * 9;
      double gg[ALPHA][3]; /* G g */
      for (int a = 0; a < ALPHA; a++)
        for (int s = 0; s < 3; s++) gg[a][s] = G[a][0] * g[s] + G[a][1] * g[3 + s] + G[a][2] * g[6 + s];
      for (int a = 0; a < ALPHA; a++)
        for (int b = 0; b < ALPHA; b++) {
          double v = gg[a][0] * G[b][0] + gg[a][1] * G[b][1] + gg[a][2] * G[b][2];
          u[(((size_t)(a * ALPHA + b) * (cp / NR) + co / NR) * cin + ci) * NR + co % NR] = (float)v;
        }
    }
  return WMF_OK;
}

#ifdef WINO_X86
#define TARGET __attribute__((target("avx2,fma")))

/* Offset in floats of (image n, channel c, row 0, column 0) in nChw{block}c with C channels: pixel (y, x) is
 * (y * w + x) * block further. */
static inline size_t plane(int n, int c, int C, int h, int w, int block) {
  return ((size_t)n * (C / block) + c / block) * h * w * block + c % block;
}

/* B^T x over 6 values (rows or columns of a tile), 8 channels each. */
TARGET static inline void bt6(const __m256 x[6], __m256 o[6]) {
  const __m256 four = _mm256_set1_ps(4.f), five = _mm256_set1_ps(5.f), two = _mm256_set1_ps(2.f);
  __m256 t0 = _mm256_sub_ps(x[4], x[2]);                             /* d4 - d2 */
  __m256 t1 = _mm256_sub_ps(x[3], x[1]);                             /* d3 - d1 */
  __m256 t2 = _mm256_fnmadd_ps(four, x[2], x[4]);                    /* d4 - 4 d2 */
  __m256 t3 = _mm256_fnmadd_ps(four, x[1], x[3]);                    /* d3 - 4 d1 */
  o[0] = _mm256_fmadd_ps(four, x[0], _mm256_fnmadd_ps(five, x[2], x[4]));
  o[1] = _mm256_add_ps(t2, t3);
  o[2] = _mm256_sub_ps(t2, t3);
  o[3] = _mm256_fmadd_ps(two, t1, t0);
  o[4] = _mm256_fnmadd_ps(two, t1, t0);
  o[5] = _mm256_fmadd_ps(four, x[1], _mm256_fnmadd_ps(five, x[3], x[5]));
}

/* A^T x over 6 values into 4. */
TARGET static inline void at6(const __m256 x[6], __m256 o[4]) {
  const __m256 two = _mm256_set1_ps(2.f), four = _mm256_set1_ps(4.f), eight = _mm256_set1_ps(8.f);
  __m256 s12 = _mm256_add_ps(x[1], x[2]), d12 = _mm256_sub_ps(x[1], x[2]);
  __m256 s34 = _mm256_add_ps(x[3], x[4]), d34 = _mm256_sub_ps(x[3], x[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(x[0], s12), s34);
  o[1] = _mm256_fmadd_ps(two, d34, d12);
  o[2] = _mm256_fmadd_ps(four, s34, s12);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, d34, d12), x[5]);
}

/* The 6x6 input tile of tile `t` (image, tile row, tile column), channels [c, c + 8), into V[row][xi]. */
TARGET static void input_tile(const float *src, float *v, int row, int cin, int c, int t, int th, int tw, int h,
                              int w, int block) {
  int n = t / (th * tw), y0 = (t / tw) % th * OUT_TILE - 1, x0 = t % tw * OUT_TILE - 1;
  __m256 d[ALPHA][ALPHA], r[ALPHA][ALPHA];
  const float *base = src + plane(n, c, cin, h, w, block);
  if (y0 >= 0 && x0 >= 0 && y0 + ALPHA <= h && x0 + ALPHA <= w) { /* inside: no checks */
    for (int i = 0; i < ALPHA; i++)
      for (int j = 0; j < ALPHA; j++) d[i][j] = _mm256_loadu_ps(base + ((size_t)(y0 + i) * w + x0 + j) * block);
  } else {
    for (int i = 0; i < ALPHA; i++)
      for (int j = 0; j < ALPHA; j++) {
        int y = y0 + i, x = x0 + j;
        d[i][j] = y >= 0 && y < h && x >= 0 && x < w ? _mm256_loadu_ps(base + ((size_t)y * w + x) * block)
                                                     : _mm256_setzero_ps();
      }
  }
  for (int j = 0; j < ALPHA; j++) { /* columns: B^T d */
    __m256 col[ALPHA], o[ALPHA];
    for (int i = 0; i < ALPHA; i++) col[i] = d[i][j];
    bt6(col, o);
    for (int i = 0; i < ALPHA; i++) r[i][j] = o[i];
  }
  float *dst = v + (size_t)row * NPOS * cin + c;
  for (int i = 0; i < ALPHA; i++) { /* rows: (B^T d) B */
    __m256 o[ALPHA];
    bt6(r[i], o);
    for (int j = 0; j < ALPHA; j++) _mm256_store_ps(dst + (size_t)(i * ALPHA + j) * cin, o[j]);
  }
}

/* The 4x4 output tile of tile `t`, channels [c, c + 8), from M[row][xi]: bias, the residual already in dst
 * (sum), ReLU (relu), stored where it falls inside the output. */
TARGET static void output_tile(const float *m, int row, int cp, float *dst, int cout, int c, int t, int th, int tw,
                               int h, int w, int block, const float *bias, int sum, int relu) {
  int n = t / (th * tw), y0 = (t / tw) % th * OUT_TILE, x0 = t % tw * OUT_TILE;
  const float *src = m + (size_t)row * NPOS * cp + c;
  __m256 r[OUT_TILE][ALPHA];
  for (int j = 0; j < ALPHA; j++) { /* columns: A^T M */
    __m256 col[ALPHA], o[OUT_TILE];
    for (int i = 0; i < ALPHA; i++) col[i] = _mm256_load_ps(src + (size_t)(i * ALPHA + j) * cp);
    at6(col, o);
    for (int i = 0; i < OUT_TILE; i++) r[i][j] = o[i];
  }
  __m256 b = _mm256_loadu_ps(bias + c), zero = _mm256_setzero_ps();
  float *base = dst + plane(n, c, cout, h, w, block);
  for (int i = 0; i < OUT_TILE; i++) { /* rows: (A^T M) A */
    int y = y0 + i;
    if (y >= h) break;
    __m256 o[OUT_TILE];
    at6(r[i], o);
    for (int j = 0; j < OUT_TILE && x0 + j < w; j++) {
      float *p = base + ((size_t)y * w + x0 + j) * block;
      __m256 v = _mm256_add_ps(o[j], b);
      if (sum) v = _mm256_add_ps(v, _mm256_loadu_ps(p));
      if (relu) v = _mm256_max_ps(v, zero);
      _mm256_storeu_ps(p, v);
    }
  }
}

/* c[MR][NR] (row stride ldc) = a[MR][k] (row stride lda) . b[k][NR]: one running FMA sum per element, k
 * increasing. 12 accumulators, 2 registers of b, 1 broadcast. */
TARGET static void kernel_6x16(int k, const float *a, size_t lda, const float *b, float *c, size_t ldc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda, *a4 = a + 4 * lda, *a5 = a + 5 * lda;
  for (int p = 0; p < k; p++, b += NR) {
    __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), x;
    x = _mm256_broadcast_ss(a0 + p), c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a1 + p), c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a2 + p), c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a3 + p), c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a4 + p), c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a5 + p), c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  _mm256_store_ps(c, c00), _mm256_store_ps(c + 8, c01), c += ldc;
  _mm256_store_ps(c, c10), _mm256_store_ps(c + 8, c11), c += ldc;
  _mm256_store_ps(c, c20), _mm256_store_ps(c + 8, c21), c += ldc;
  _mm256_store_ps(c, c30), _mm256_store_ps(c + 8, c31), c += ldc;
  _mm256_store_ps(c, c40), _mm256_store_ps(c + 8, c41), c += ldc;
  _mm256_store_ps(c, c50), _mm256_store_ps(c + 8, c51);
}

TARGET void wmfi_nn_wino_run(const wmfi_nn_op *op, const float *src, float *dst, int n, int h, int w, int block,
                             void *scratch) {
  const int cin = op->cin, cout = op->cout, cp = padded_cout(cout), panels = cp / NR;
  const int th = (h + OUT_TILE - 1) / OUT_TILE, tw = (w + OUT_TILE - 1) / OUT_TILE, tiles = n * th * tw;
  const int tc = chunk_tiles(cin, cout), sum = op->residual != WMFI_NN_NONE, relu = op->relu == WMFI_NN_ACT_RELU;
  const float *u = (const float *)(((uintptr_t)op->wino_raw + 63) & ~(uintptr_t)63);
  float *v = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  float *m = v + (size_t)NPOS * tc * cin;
  const size_t lda = (size_t)NPOS * cin, ldc = (size_t)NPOS * cp; /* V[row][xi][cin], M[row][xi][cp]: a tile's
                                                                       transforms are contiguous */
  /* no vector type in this region: clang outlines it into a function without the avx2 target */
#pragma omp parallel
  for (int t0 = 0; t0 < tiles; t0 += tc) {
    int count = tiles - t0 < tc ? tiles - t0 : tc, rows = (count + MR - 1) / MR * MR;
#pragma omp for collapse(2) schedule(static)
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cin; c += GROUP) {
        if (r < count) {
          input_tile(src, v, r, cin, c, t0 + r, th, tw, h, w, block);
        } else { /* the rows that pad the last panel: zeros, whose products are never stored */
          for (int xi = 0; xi < NPOS; xi++) memset(v + r * lda + (size_t)xi * cin + c, 0, GROUP * sizeof(float));
        }
      }
#pragma omp for collapse(2) schedule(static)
    for (int xi = 0; xi < NPOS; xi++)
      for (int j = 0; j < panels; j++) {
        const float *uj = u + ((size_t)xi * panels + j) * cin * NR;
        for (int r = 0; r < rows; r += MR)
          kernel_6x16(cin, v + r * lda + (size_t)xi * cin, lda, uj, m + r * ldc + (size_t)xi * cp + j * NR, ldc);
      }
#pragma omp for collapse(2) schedule(static)
    for (int r = 0; r < count; r++)
      for (int c = 0; c < cout; c += GROUP)
        output_tile(m, r, cp, dst, cout, c, t0 + r, th, tw, h, w, block, op->b, sum, relu);
  }
}
#else
void wmfi_nn_wino_run(const wmfi_nn_op *op, const float *src, float *dst, int n, int h, int w, int block,
                      void *scratch) {
  (void)op, (void)src, (void)dst, (void)n, (void)h, (void)w, (void)block, (void)scratch; /* never eligible */
}
#endif
