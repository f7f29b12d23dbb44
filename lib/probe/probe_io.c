/* wmf_probe_save / wmf_probe_load. Format, little-endian:
 *   0  "WMFPROBE", u32 version = 1, u32 flags = 0
 *  16  u64 classes K, u64 features F
 *  32  u32 iterations, u32 converged, f64 objective, f64 max |gradient|
 *  56  f64 W [K][F], f64 b [K], u8 masked [F]
 * end  u64 checksum (wmfi_checksum: FNV-1a 64) of every byte before it */
#include <math.h>
#include <string.h>

#include "probe_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the probe file code copies little-endian doubles in place"
#endif

#define MAGIC "WMFPROBE"
#define VERSION 1u
#define HEADER 56u

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
  memcpy(buf, MAGIC, 8);
  wmfi_put_le32(buf + 8, VERSION);
  wmfi_put_le32(buf + 12, 0);
  wmfi_put_le64(buf + 16, p->K);
  wmfi_put_le64(buf + 24, p->F);
  wmfi_put_le32(buf + 32, p->iterations);
  wmfi_put_le32(buf + 36, (uint32_t)p->converged);
  memcpy(buf + 40, &p->objective, 8);
  memcpy(buf + 48, &p->gradient, 8);
  uint8_t *q = buf + HEADER;
  memcpy(q, p->W, p->K * p->F * 8), q += p->K * p->F * 8;
  memcpy(q, p->b, p->K * 8), q += p->K * 8;
  memcpy(q, p->masked, p->F), q += p->F;
  wmfi_put_le64(q, wmfi_checksum(buf, (size_t)(q - buf)));
  wmf_status st = wmfi_write_file_atomic(path, buf, total);
  wmfi_free(buf);
  return st;
}

wmf_status wmfi_probe_parse(void *out, const uint8_t *d, size_t size, const char *path) {
  wmf_probe **result = out;
  *result = NULL;
  if (size < HEADER + 8 || memcmp(d, MAGIC, 8))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s' is not a probe file (magic at offset 0)", path);
  uint32_t v32[4] = {wmfi_le32(d + 8), wmfi_le32(d + 12), wmfi_le32(d + 32), wmfi_le32(d + 36)};
  uint64_t v64[2] = {wmfi_le64(d + 16), wmfi_le64(d + 24)};
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
  if (wmfi_le64(d + size - 8) != wmfi_checksum(d, size - 8))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': checksum mismatch (offset %zu)", path, size - 8);
  const uint8_t *masked = d + HEADER + (K * F + K) * 8;
  for (size_t j = 0; j < F; j++)
    if (masked[j] > 1)
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': mask byte at offset %zu", path,
                       (size_t)(masked - d) + j);
  wmf_probe *p = NULL;
  wmf_status st = WMF_OK;
  WMFI_TRY(wmfi_probe_new(&p, K, F));
  wmfi_probe_set_masked(p, masked);
  memcpy(p->W, d + HEADER, K * F * 8);
  memcpy(p->b, d + HEADER + K * F * 8, K * 8);
  memcpy(&p->objective, d + 40, 8);
  memcpy(&p->gradient, d + 48, 8);
  p->iterations = v32[2], p->converged = (int)v32[3];
  for (size_t t = 0; t < K * F + K; t++) {
    double v = t < K * F ? p->W[t] : p->b[t - K * F];
    WMFI_CHECK(isfinite(v) && !(t < K * F && p->masked[t % F] && v != 0), WMF_ERR_CORRUPT,
               "wmf_probe_load: '%s': bad weight at offset %zu", path, HEADER + 8 * t);
  }
  *result = p;
  p = NULL;
done:
  wmf_probe_destroy(p);
  return st;
}

wmf_status wmf_probe_load(wmf_probe **out, const char *path) {
  return wmfi_load_file(out, path, "wmf_probe_load", wmfi_probe_parse);
}
