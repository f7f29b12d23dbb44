/* Ranking: order-preserving keys, the radix sort, the exact Mann-Whitney AUC and top-k by score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

uint64_t wmfi_float_key(float v) {
  if (v == 0.0f) v = 0.0f; /* -0 and +0 compare equal, so they must share a key */
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return (u & 0x80000000u) ? (uint64_t)(~u) : (uint64_t)(u | 0x80000000u);
}

uint64_t wmfi_double_key(double v) {
  if (v == 0.0) v = 0.0;
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
}

void wmfi_radix_sort(uint64_t *keys, uint64_t *tmp, size_t n) {
  if (n < 2) return;
  size_t count[8][256];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++)
    for (int d = 0; d < 8; d++) count[d][(keys[i] >> (8 * d)) & 0xFF]++;
  uint64_t *src = keys, *dst = tmp;
  for (int d = 0; d < 8; d++) {
    size_t *c = count[d];
    if (c[(src[0] >> (8 * d)) & 0xFF] == n) continue; /* every key has this digit: nothing to do */
    size_t sum = 0;
    for (int b = 0; b < 256; b++) {
      size_t t = c[b];
      c[b] = sum;
      sum += t;
    }
    for (size_t i = 0; i < n; i++) dst[c[(src[i] >> (8 * d)) & 0xFF]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != keys) memcpy(keys, src, n * sizeof *keys);
}

/* The AUC of the keys a (negatives) and b (positives), each sorted here: twice the Mann-Whitney U, where
 * each positive counts 2 per smaller negative and 1 per equal one, so the sum stays an exact integer. */
static double auc_of_keys(uint64_t *a, size_t na, uint64_t *b, size_t nb, uint64_t *tmp) {
  wmfi_radix_sort(a, tmp, na);
  wmfi_radix_sort(b, tmp, nb);
  uint64_t u2 = 0;
  size_t i = 0, j = 0;
  while (j < nb) {
    uint64_t v = b[j];
    size_t cb = 0;
    while (j < nb && b[j] == v) j++, cb++;
    while (i < na && a[i] < v) i++;
    size_t eq = i;
    while (eq < na && a[eq] == v) eq++;
    u2 += (uint64_t)cb * (2 * (uint64_t)i + (uint64_t)(eq - i));
    i = eq;
  }
  return (double)u2 / (2.0 * (double)na * (double)nb);
}

double wmfi_auc(const float *neg, size_t n_neg, const float *pos, size_t n_pos, uint64_t *work) {
  uint64_t *a = work, *b = work + n_neg;
  for (size_t i = 0; i < n_neg; i++) a[i] = wmfi_float_key(neg[i]);
  for (size_t i = 0; i < n_pos; i++) b[i] = wmfi_float_key(pos[i]);
  return auc_of_keys(a, n_neg, b, n_pos, b + n_pos);
}

double wmfi_auc_f64(const double *neg, size_t n_neg, const double *pos, size_t n_pos, uint64_t *work) {
  uint64_t *a = work, *b = work + n_neg;
  for (size_t i = 0; i < n_neg; i++) a[i] = wmfi_double_key(neg[i]);
  for (size_t i = 0; i < n_pos; i++) b[i] = wmfi_double_key(pos[i]);
  return auc_of_keys(a, n_neg, b, n_pos, b + n_pos);
}

typedef struct ranked {
  double key;
  size_t index;
} ranked;

static int cmp_ranked(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  bool na = isnan(a->key), nb = isnan(b->key);
  if (na != nb) return na ? 1 : -1;
  if (!na && a->key != b->key) return a->key > b->key ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

wmf_status wmfi_rank_scores(size_t *out, size_t k, const double *scores, size_t n, wmf_rank_order order) {
  WMFI_REQUIRE(k <= n, "rank: %zu asked of %zu", k, n);
  WMFI_REQUIRE((int)order >= WMF_RANK_DESCENDING && (int)order <= WMF_RANK_FROM_HALF, "rank: unknown order %d",
               (int)order);
  ranked *r = wmfi_alloc_array(n, sizeof *r);
  if (!r) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "rank: out of memory for %zu scores", n);
  for (size_t i = 0; i < n; i++) {
    double s = scores[i];
    r[i].index = i;
    r[i].key = order == WMF_RANK_DESCENDING ? s
             : order == WMF_RANK_ASCENDING  ? -s
             : order == WMF_RANK_ABS        ? fabs(s)
                                            : fabs(s - 0.5);
  }
  qsort(r, n, sizeof *r, cmp_ranked);
  for (size_t i = 0; i < k; i++) out[i] = r[i].index;
  wmfi_free(r);
  return WMF_OK;
}
