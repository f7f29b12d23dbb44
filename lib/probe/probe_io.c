/* wmf_probe_save / wmf_probe_load. Format, little-endian:
 *   0  "WMFPROBE", u32 version = 1, u32 flags = 0
 *  16  u64 classes K, u64 features F
 *  32  u32 iterations, u32 converged, f64 objective, f64 max |gradient|
 *  56  f64 W [K][F], f64 b [K], u8 masked [F]
 * end  u64 FNV-1a 64 of every byte before it */
#include <math.h>
#include <string.h>

#include "probe.h"

#define MAGIC "WMFPROBE"
#define VERSION 1u
#define HEADER 56u

static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

static size_t file_size(uint64_t K, uint64_t F) {
  size_t kf, t, total;
  if (!wmfi_mul(K, F, &kf) || !wmfi_add(kf, K, &t) || !wmfi_mul(t, 8, &t) || !wmfi_add(t, F, &t) ||
      !wmfi_add(t, HEADER + 8, &total))
    return 0;
  return total;
}

wmf_status wmf_probe_save(const wmf_probe *p, const char *path) {
  WMFI_REQUIRE(p && path, "wmf_probe_save: NULL argument");
  size_t total = file_size(p->K, p->F);
  uint8_t *buf = total ? wmfi_malloc(total) : NULL;
  if (!buf) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_probe_save: out of memory");
  uint32_t v32[4] = {VERSION, 0, p->iterations, (uint32_t)p->converged};
  uint64_t v64[2] = {p->K, p->F};
  memcpy(buf, MAGIC, 8);
  memcpy(buf + 8, v32, 8);
  memcpy(buf + 16, v64, 16);
  memcpy(buf + 32, v32 + 2, 8);
  memcpy(buf + 40, &p->objective, 8);
  memcpy(buf + 48, &p->gradient, 8);
  uint8_t *q = buf + HEADER;
  memcpy(q, p->W, p->K * p->F * 8), q += p->K * p->F * 8;
  memcpy(q, p->b, p->K * 8), q += p->K * 8;
  memcpy(q, p->masked, p->F), q += p->F;
  uint64_t h = fnv1a(buf, (size_t)(q - buf));
  memcpy(q, &h, 8);
  wmf_status st = wmfi_write_file_atomic(path, buf, total);
  wmfi_free(buf);
  return st;
}

wmf_status wmfi_probe_parse(wmf_probe **out, const uint8_t *d, size_t size, const char *path) {
  if (size < HEADER + 8 || memcmp(d, MAGIC, 8))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s' is not a probe file (magic at offset 0)", path);
  uint32_t v32[4];
  uint64_t v64[2];
  memcpy(v32, d + 8, 8), memcpy(v64, d + 16, 16), memcpy(v32 + 2, d + 32, 8);
  if (v32[0] > VERSION)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "wmf_probe_load: '%s' has version %u, this library reads %u", path, v32[0],
                     VERSION);
  if (v32[0] == 0 || v32[1] != 0 || v32[3] > 1)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': bad version, flags or converged field", path);
  uint64_t K = v64[0], F = v64[1];
  if (K < 2 || F < 1 || K > WMFI_PROBE_MAX_DIM || F > WMFI_PROBE_MAX_DIM)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_probe_load: '%s': %llu classes, %llu features (offset 16)", path,
                     (unsigned long long)K, (unsigned long long)F);
  size_t want = file_size(K, F);
  if (!want || want != size)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s' has %zu bytes, its header implies %zu", path, size, want);
  uint64_t h;
  memcpy(&h, d + size - 8, 8);
  if (h != fnv1a(d, size - 8))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': checksum mismatch (offset %zu)", path, size - 8);
  const uint8_t *masked = d + HEADER + (K * F + K) * 8;
  for (size_t j = 0; j < F; j++)
    if (masked[j] > 1)
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': mask byte at offset %zu", path,
                       (size_t)(masked - d) + j);
  wmf_probe *p;
  wmf_status st = wmfi_probe_new(&p, K, F, masked);
  if (st) return st;
  memcpy(p->W, d + HEADER, K * F * 8);
  memcpy(p->b, d + HEADER + K * F * 8, K * 8);
  memcpy(&p->objective, d + 40, 8);
  memcpy(&p->gradient, d + 48, 8);
  p->iterations = v32[2], p->converged = (int)v32[3];
  for (size_t t = 0; t < K * F + K; t++) {
    double v = t < K * F ? p->W[t] : p->b[t - K * F];
    if (!isfinite(v) || (t < K * F && p->masked[t % F] && v != 0)) {
      wmf_probe_destroy(p);
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': bad weight at offset %zu", path, HEADER + 8 * t);
    }
  }
  *out = p;
  return WMF_OK;
}

wmf_status wmf_probe_load(wmf_probe **out, const char *path) {
  WMFI_REQUIRE(out && path, "wmf_probe_load: NULL argument");
  *out = NULL;
  wmfi_file f;
  wmf_status st = wmfi_file_open(&f, path);
  if (st) return st;
  st = wmfi_probe_parse(out, f.data, f.size, path);
  wmfi_file_close(&f);
  return st;
}
