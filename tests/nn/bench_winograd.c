/* Benchmark of one convolution layer (a program, not a test): libwmfeat's Winograd F(4x4, 3x3) kernels
 * (lib/nn/winograd.c) against oneDNN's direct convolution on the same shape, nChw8c, fp32, bias + ReLU,
 * best of REPS runs each, in turns, CPU time of the calling thread (run with OMP_NUM_THREADS=1: a shared
 * machine's other load then inflates both alike).
 *   bench_winograd N CIN COUT HW [REPS]   -> one line: ms per run of each, GFLOP/s of the direct
 *                                            convolution's arithmetic, and the ratio
 * docs/benchmarks.md ("Winograd") has the shapes of VGG-16 and ResNet-50 and how the rule was chosen. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nn/nn_internal.h"

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *aligned(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

#define CHECK(call)                                                      \
  do {                                                                   \
    if ((call) != dnnl_success) {                                        \
      fprintf(stderr, "bench_winograd: oneDNN call failed: %s\n", #call); \
      exit(1);                                                           \
    }                                                                    \
  } while (0)

/* oneDNN's direct convolution of the shape: best CPU seconds of `reps` runs (after one warm-up). */
static double direct(int n, int cin, int cout, int hw, int reps) {
  dnnl_engine_t e;
  dnnl_stream_t st;
  CHECK(dnnl_engine_create(&e, dnnl_cpu, 0));
  CHECK(dnnl_stream_create(&st, e, dnnl_stream_default_flags));
  dnnl_memory_desc_t src, dst, w, b;
  dnnl_dims_t sd = {n, cin, hw, hw}, dd = {n, cout, hw, hw}, wd = {cout, cin, 3, 3}, bd = {cout}, one = {1, 1};
  CHECK(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, dnnl_nChw8c));
  CHECK(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dnnl_nChw8c));
  CHECK(dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_f32, dnnl_format_tag_any));
  CHECK(dnnl_memory_desc_init_by_tag(&b, 1, bd, dnnl_f32, dnnl_a));
  dnnl_convolution_desc_t cd;
  CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src, &w, &b, &dst,
                                           one, one, one));
  dnnl_primitive_attr_t attr;
  dnnl_post_ops_t po;
  CHECK(dnnl_primitive_attr_create(&attr));
  CHECK(dnnl_post_ops_create(&po));
  CHECK(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f));
  CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t p;
  CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, e, NULL));
  CHECK(dnnl_primitive_create(&p, pd));
  dnnl_memory_t m[4];
  const dnnl_memory_desc_t *mds[4] = {&src, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), &b, &dst};
  for (int i = 0; i < 4; i++) CHECK(dnnl_memory_create(&m[i], mds[i], e, DNNL_MEMORY_ALLOCATE));
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[1]}, {DNNL_ARG_BIAS, m[2]}, {DNNL_ARG_DST, m[3]}};
  double best = 1e30;
  for (int r = 0; r <= reps; r++) {
    double t0 = cpu_now();
    CHECK(dnnl_primitive_execute(p, st, 4, args));
    CHECK(dnnl_stream_wait(st));
    double t = cpu_now() - t0;
    if (r && t < best) best = t;
  }
  for (int i = 0; i < 4; i++) dnnl_memory_destroy(m[i]);
  dnnl_primitive_destroy(p);
  dnnl_primitive_desc_destroy(pd);
  dnnl_post_ops_destroy(po);
  dnnl_primitive_attr_destroy(attr);
  dnnl_stream_destroy(st);
  dnnl_engine_destroy(e);
  return best;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: bench_winograd N CIN COUT HW [REPS]\n");
    return 2;
  }
  int n = atoi(argv[1]), cin = atoi(argv[2]), cout = atoi(argv[3]), hw = atoi(argv[4]);
  int reps = argc > 5 ? atoi(argv[5]) : 5;
  wmfi_nn_op op = {.kind = WMFI_NN_CONV, .cin = cin, .cout = cout, .kh = 3, .kw = 3, .stride = 1, .pad = 1, .groups = 1,
                   .relu = WMFI_NN_ACT_RELU, .residual = WMFI_NN_NONE};
  if (n < 1 || hw < 1 || reps < 1 || !wmfi_nn_wino_eligible(&op, 8)) {
    fprintf(stderr, "bench_winograd: the shape is not one Winograd runs here (channels multiples of 8, a CPU with "
                    "AVX2 and FMA)\n");
    return 2;
  }
  op.w = malloc(sizeof(float) * cin * cout * 9);
  op.b = calloc((size_t)cout, sizeof(float));
  for (long i = 0; i < (long)cin * cout * 9; i++) op.w[i] = (float)(rand() / (double)RAND_MAX) - 0.5f;
  if (wmfi_nn_wino_prepare(&op) != WMF_OK) return fprintf(stderr, "bench_winograd: out of memory\n"), 1;
  size_t in = (size_t)n * cin * hw * hw, out = (size_t)n * cout * hw * hw;
  float *x = aligned(in * sizeof *x), *y = aligned(out * sizeof *y);
  void *scratch = aligned(wmfi_nn_wino_scratch(&op));
  for (size_t i = 0; i < in; i++) x[i] = (float)(rand() / (double)RAND_MAX);
  double wino = 1e30;
  for (int r = 0; r <= reps; r++) {
    double t0 = cpu_now();
    wmfi_nn_wino_run(&op, x, y, n, hw, hw, 8, scratch);
    double t = cpu_now() - t0;
    if (r && t < wino) wino = t;
  }
  double d = direct(n, cin, cout, hw, reps), flops = 2.0 * n * hw * hw * cin * cout * 9;
  printf("batch %d, %d -> %d channels, %d px: Winograd %.2f ms (%.0f GFLOP/s of direct arithmetic), direct %.2f ms "
         "(%.0f GFLOP/s): %.2fx\n",
         n, cin, cout, hw, wino * 1e3, flops / wino * 1e-9, d * 1e3, flops / d * 1e-9, d / wino);
  free(op.w), free(op.b), free(x), free(y), free(scratch);
  wmfi_free(op.wino_raw);
  return 0;
}
