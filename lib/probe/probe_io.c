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
  wmfi_format_put_header(buf, MAGIC, VERSION);
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
  wmf_status st = wmfi_format_write(path, buf, (size_t)(q - buf));
  wmfi_free(buf);
  return st;
}

wmf_status wmf_probe_load(wmf_probe **out, const char *path) {
  return wmfi_load_file(out, path, "wmf_probe_load", wmfi_probe_parse);
}

wmf_status wmfi_probe_parse(void *out, const uint8_t *d, size_t size, const char *path) {
  wmf_probe **result = out;
  *result = NULL;
  uint32_t version, iterations = 0, converged = 0;
  wmf_status st = wmfi_format_check_header(&version, d, size, HEADER + 8, MAGIC, VERSION, "wmf_probe_load", path,
                                           "a probe file");
  if (st) return st;
  iterations = wmfi_le32(d + 32), converged = wmfi_le32(d + 36);
  if (converged > 1)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': converged field %u (offset 36)", path, converged);
  uint64_t K = wmfi_le64(d + 16), F = wmfi_le64(d + 24);
  if (K < 2 || F < 1 || K > WMFI_PROBE_MAX_DIM || F > WMFI_PROBE_MAX_DIM)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_probe_load: '%s': %llu classes, %llu features (offset 16)", path,
                     (unsigned long long)K, (unsigned long long)F);
  size_t want = file_size(K, F);
  if (!want || want != size)
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s' has %zu bytes, its header implies %zu", path, size, want);
  if (!wmfi_format_checksum_ok(d, size))
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': checksum mismatch (offset %zu)", path, size - 8);
  const uint8_t *masked = d + HEADER + (K * F + K) * 8;
  for (size_t j = 0; j < F; j++)
    if (masked[j] > 1)
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_probe_load: '%s': mask byte at offset %zu", path,
                       (size_t)(masked - d) + j);
  wmf_probe *p = NULL;
  WMFI_TRY(wmfi_probe_new(&p, K, F));
  wmfi_probe_set_masked(p, masked);
  memcpy(p->W, d + HEADER, K * F * 8);
  memcpy(p->b, d + HEADER + K * F * 8, K * 8);
  memcpy(&p->objective, d + 40, 8);
  memcpy(&p->gradient, d + 48, 8);
  p->iterations = iterations, p->converged = (int)converged;
  for (size_t t = 0; t < K * F + K; t++) {
    double v = t < K * F ? p->W[t] : p->b[t - K * F];
    WMFI_CHECK(isfinite(v) && !(t < K * F && p->masked[t % F] && v != 0), WMF_ERR_CORRUPT,
               "wmf_probe_load: '%s': bad weight at offset %zu", path, HEADER + 8 * t);
  }
  *result = p;
done:
  if (st) wmf_probe_destroy(p);
  return st;
}
