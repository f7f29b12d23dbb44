/* The loops oneDNN has no primitive for: DenseNet's BN+ReLU of a channel prefix of a block buffer,
 * global average pooling (optionally after BN+ReLU) into plain N x C, and torch's adaptive average
 * pooling. Layouts are N, C/B, H, W, B with B in {1, 4, 8, 16}; for such a layout the first c
 * channels of one image are one contiguous run, which is what lets the block buffers work. Global
 * average pooling also reads channels-last (nhwc) tensors, block WMFI_NN_NHWC (ConvNeXt's). */
#include <string.h>

#include "nn/nn_internal.h"

static inline float ld(const void *p, size_t i, int bf16) {
  if (!bf16) return ((const float *)p)[i];
  uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static inline void st(void *p, size_t i, float f, int bf16) {
  if (!bf16) {
    ((float *)p)[i] = f;
    return;
  }
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1); /* round to nearest even; inputs here are finite */
  ((uint16_t *)p)[i] = (uint16_t)(u >> 16);
}

/* Element e of one image's run belongs to channel (e / (hw * B)) * B + e % B. */
static void bnrelu_f32(const float *restrict s, float *restrict d, size_t cb, size_t hw, int block,
                       const float *scale, const float *shift) {
  if (block == 1) {
    for (size_t c = 0; c < cb; c++)
      for (size_t i = 0; i < hw; i++) {
        float v = s[c * hw + i] * scale[c] + shift[c];
        d[c * hw + i] = v > 0 ? v : 0;
      }
    return;
  }
  for (size_t c = 0; c < cb; c++) {
    const float *sc = scale + c * block, *sh = shift + c * block;
    for (size_t i = 0; i < hw; i++) {
      const float *x = s + (c * hw + i) * block;
      float *y = d + (c * hw + i) * block;
      for (int k = 0; k < block; k++) {
        float v = x[k] * sc[k] + sh[k];
        y[k] = v > 0 ? v : 0;
      }
    }
  }
}

/* The common case, 16-channel blocks: fixed-width inner loops the compiler vectorizes, built for
 * AVX-512 and for the baseline and picked at load time (GCC target_clones). */
__attribute__((target_clones("avx512f", "default"))) static void bnrelu16_f32(const float *restrict s, float *restrict d,
                                                                             size_t hw, const float *sc, const float *sh) {
  for (size_t i = 0; i < hw; i++)
    for (int k = 0; k < 16; k++) {
      float v = s[i * 16 + k] * sc[k] + sh[k];
      d[i * 16 + k] = v > 0 ? v : 0;
    }
}

__attribute__((target_clones("avx512f", "default"))) static void bnrelu16_bf16(const uint16_t *restrict s,
                                                                              uint16_t *restrict d, size_t hw,
                                                                              const float *sc, const float *sh) {
  for (size_t i = 0; i < hw; i++)
    for (int k = 0; k < 16; k++) {
      union { uint32_t u; float f; } x = {(uint32_t)s[i * 16 + k] << 16};
      x.f = x.f * sc[k] + sh[k];
      x.f = x.f > 0 ? x.f : 0;
      d[i * 16 + k] = (uint16_t)((x.u + 0x7fffu + ((x.u >> 16) & 1u)) >> 16);
    }
}

void wmfi_nn_bnrelu(const void *src, void *dst, int bf16, int n, int c_src, int c, int hw, int block,
                    const float *scale, const float *shift) {
  if (block == 16) {
    int cb = c / 16;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < n; b++)
      for (int k = 0; k < cb; k++) {
        size_t so = ((size_t)b * c_src + (size_t)k * 16) * hw, doff = ((size_t)b * c + (size_t)k * 16) * hw;
        if (bf16)
          bnrelu16_bf16((const uint16_t *)src + so, (uint16_t *)dst + doff, (size_t)hw, scale + k * 16, shift + k * 16);
        else
          bnrelu16_f32((const float *)src + so, (float *)dst + doff, (size_t)hw, scale + k * 16, shift + k * 16);
      }
    return;
  }
  int cb = c / block;
  size_t esz = bf16 ? 2 : 4;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int k = 0; k < cb; k++) {
      size_t so = ((size_t)b * c_src + (size_t)k * block) * hw, doff = ((size_t)b * c + (size_t)k * block) * hw;
      if (!bf16) {
        bnrelu_f32((const float *)src + so, (float *)dst + doff, 1, (size_t)hw, block, scale + k * block,
                   shift + k * block);
        continue;
      }
      for (size_t i = 0; i < (size_t)hw * block; i++) {
        int ch = block == 1 ? 0 : (int)(i % (size_t)block);
        float v = ld((const char *)src + so * esz, i, 1) * scale[k * block + ch] + shift[k * block + ch];
        st((char *)dst + doff * esz, i, v > 0 ? v : 0, 1);
      }
    }
}

void wmfi_nn_gap(const void *src, float *dst, int bf16, int n, int c, int hw, int block, const float *scale,
                 const float *shift, int relu) {
  if (block == WMFI_NN_NHWC) { /* channel ch of pixel i of image b at (b * hw + i) * c + ch; 16 channels a task */
    int cb = (c + 15) / 16;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < n; b++)
      for (int k = 0; k < cb; k++) {
        double acc[16] = {0};
        int c0 = k * 16, m = c - c0 < 16 ? c - c0 : 16;
        for (size_t i = 0; i < (size_t)hw; i++) {
          size_t row = ((size_t)b * hw + i) * c + c0;
          for (int j = 0; j < m; j++) {
            float v = ld(src, row + j, bf16);
            if (scale) {
              v = v * scale[c0 + j] + shift[c0 + j];
              if (relu) v = v > 0 ? v : 0;
            }
            acc[j] += v;
          }
        }
        for (int j = 0; j < m; j++) dst[(size_t)b * c + c0 + j] = (float)(acc[j] / hw);
      }
    return;
  }
  int cb = (c + block - 1) / block;
  size_t c_pad = (size_t)cb * block, esz = bf16 ? 2 : 4;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int k = 0; k < cb; k++) {
      const char *s = (const char *)src + ((size_t)b * c_pad + (size_t)k * block) * hw * esz;
      double acc[16] = {0};
      for (size_t i = 0; i < (size_t)hw; i++)
        for (int j = 0; j < block; j++) {
          float v = ld(s, i * block + j, bf16);
          int ch = k * block + j;
          if (scale && ch < c) {
            v = v * scale[ch] + shift[ch];
            if (relu) v = v > 0 ? v : 0;
          }
          acc[j] += v;
        }
      for (int j = 0; j < block && k * block + j < c; j++) dst[(size_t)b * c + k * block + j] = (float)(acc[j] / hw);
    }
}

void wmfi_nn_adaptive(const void *src, float *dst, int bf16, int n, int c, int h, int w, int out, int block) {
  int cb = (c + block - 1) / block;
  size_t c_pad = (size_t)cb * block, esz = bf16 ? 2 : 4;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int k = 0; k < cb; k++) {
      const char *s = (const char *)src + ((size_t)b * c_pad + (size_t)k * block) * h * w * esz;
      float *d = dst + ((size_t)b * c_pad + (size_t)k * block) * out * out;
      for (int oy = 0; oy < out; oy++) {
        int y0 = oy * h / out, y1 = ((oy + 1) * h + out - 1) / out;
        for (int ox = 0; ox < out; ox++) {
          int x0 = ox * w / out, x1 = ((ox + 1) * w + out - 1) / out;
          for (int j = 0; j < block; j++) {
            float acc = 0;
            for (int y = y0; y < y1; y++)
              for (int x = x0; x < x1; x++) acc += ld(s, ((size_t)y * w + x) * block + j, bf16);
            d[((size_t)oy * out + ox) * block + j] = acc / (float)((y1 - y0) * (x1 - x0));
          }
        }
      }
    }
}

void wmfi_nn_scale_channels(const void *src, void *dst, int bf16, int n, int c, int hw, int block,
                            const float *factors) {
  int cb = (c + block - 1) / block;
  size_t c_pad = (size_t)cb * block;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int k = 0; k < cb; k++) {
      size_t off = ((size_t)b * c_pad + (size_t)k * block) * hw;
      float f[16];
      for (int j = 0; j < block; j++) f[j] = k * block + j < c ? factors[(size_t)b * c + k * block + j] : 0.f;
      if (!bf16) {
        const float *restrict s = (const float *)src + off;
        float *restrict d = (float *)dst + off;
        for (size_t i = 0; i < (size_t)hw; i++)
          for (int j = 0; j < block; j++) d[i * block + j] = s[i * block + j] * f[j];
        continue;
      }
      for (size_t i = 0; i < (size_t)hw * block; i++)
        st((uint16_t *)dst + off, i, ld((const uint16_t *)src + off, i, 1) * f[i % (size_t)block], 1);
  }
}

void wmfi_nn_tokens(const void *src, float *dst, int bf16, int n, int c, int hw, int block, const float *cls,
                    const float *pos) {
  size_t t = (size_t)hw + 1;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int i = 0; i < hw + 1; i++) {
      float *row = dst + ((size_t)b * t + (size_t)i) * c;
      const float *pe = pos + (size_t)i * c;
      if (!i) {
        for (int k = 0; k < c; k++) row[k] = cls[k] + pe[k];
        continue;
      }
      /* channel k of patch i - 1 in layout N, C/B, HW, B */
      size_t padded = (size_t)(c + block - 1) / block * block;
      size_t base = (size_t)b * padded * hw + (size_t)(i - 1) * block;
      for (int k = 0; k < c; k++)
        row[k] = ld(src, base + (size_t)(k / block) * hw * block + (size_t)(k % block), bf16) + pe[k];
    }
}
