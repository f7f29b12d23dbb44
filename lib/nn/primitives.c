/* oneDNN helpers: status translation, memory descriptors, threads, ISA queries. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "nn/nn_internal.h"

static const char *dnnl_status_text(dnnl_status_t st) {
  switch (st) {
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "no implementation for these shapes/types";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown error";
  }
}

wmf_status wmfi_nn_dnnl(dnnl_status_t st, const char *what) {
  return wmfi_fail(WMF_ERR_BACKEND, "oneDNN: %s failed: %s (status %d)", what, dnnl_status_text(st), (int)st);
}

wmf_status wmfi_nn_md(dnnl_memory_desc_t *md, int n, int c, int h, int w, dnnl_data_type_t dt, int block) {
  dnnl_dims_t dims = {n, c, h, w};
  dnnl_format_tag_t tag = block == 16 ? dnnl_nChw16c : block == 8 ? dnnl_nChw8c : block == 4 ? dnnl_nChw4c : dnnl_nchw;
  WMFI_DNNL(dnnl_memory_desc_init_by_tag(md, 4, dims, dt, tag), "memory descriptor");
  return WMF_OK;
}

int wmfi_nn_block_of(const dnnl_memory_desc_t *md) {
  static const int blocks[4] = {1, 4, 8, 16};
  if (md->ndims != 4) return 0;
  for (int i = 0; i < 4; i++) {
    dnnl_memory_desc_t ref;
    if (wmfi_nn_md(&ref, (int)md->dims[0], (int)md->dims[1], (int)md->dims[2], (int)md->dims[3], md->data_type,
                   blocks[i]) != WMF_OK) {
      wmf_clear_error();
      continue;
    }
    if (dnnl_memory_desc_equal(&ref, md)) return blocks[i];
  }
  return 0;
}

int wmfi_nn_is_nhwc(const dnnl_memory_desc_t *md) {
  dnnl_memory_desc_t ref;
  if (md->ndims != 4) return 0;
  dnnl_dims_t dims = {md->dims[0], md->dims[1], md->dims[2], md->dims[3]};
  if (dnnl_memory_desc_init_by_tag(&ref, 4, dims, md->data_type, dnnl_acdb) != dnnl_success) return 0;
  return dnnl_memory_desc_equal(&ref, md);
}

int wmfi_nn_threads_push(int threads) {
  int saved = omp_get_max_threads();
  if (threads > 0) omp_set_num_threads(threads);
  return saved;
}

void wmfi_nn_threads_pop(int saved) { omp_set_num_threads(saved); }

int wmfi_nn_native_block(void) {
  /* AVX-512 kernels read and write 16-channel blocks, AVX2 ones 8: a buffer we lay out ourselves (a
   * concatenation, a reference kernel's output) in the other size costs a reorder on each side and sends
   * oneDNN 2.6's pooling to its reference code. */
  return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core ? 16 : 8;
}

const char *wmf_nn_isa(void) {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
  }
}

int wmf_nn_has_bf16(void) {
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}
