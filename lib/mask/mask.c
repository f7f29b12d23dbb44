/* Building masks from scores, applying and combining them. */
#include <math.h>
#include <string.h>

#include "mask_internal.h"

wmf_status wmfi_mask_new(wmf_mask **out, size_t n) {
  wmf_status st = WMF_OK;
  wmf_mask *m = wmfi_calloc(1, sizeof *m);
  WMFI_CHECK(m && (m->masked = wmfi_calloc(n, 1)), WMF_ERR_OUT_OF_MEMORY, "wmf_mask: out of memory for %zu channels",
             n);
  m->n = n;
  m->rank = -1;
  m->threshold = NAN;
  *out = m;
  m = NULL;
done:
  wmf_mask_destroy(m);
  return st;
}

const char *wmfi_mask_rank_name(int rank) {
  return rank == WMF_MASK_BY_VALUE ? "value" : rank == WMF_MASK_BY_ABS ? "abs" : rank == WMF_MASK_BY_FROM_HALF ? "from_half" : NULL;
}

static wmf_status check_size(size_t n, const char *fn) {
  WMFI_REQUIRE(n, "%s: 0 channels", fn);
  if (n > WMFI_MASK_MAX) return wmfi_fail(WMF_ERR_LIMIT, "%s: %zu channels exceed the limit %zu", fn, n, WMFI_MASK_MAX);
  return WMF_OK;
}

wmf_status wmf_mask_create(wmf_mask **out, size_t n) {
  WMFI_REQUIRE(out, "wmf_mask_create: out is NULL");
  *out = NULL;
  wmf_status st = check_size(n, "wmf_mask_create");
  return st ? st : wmfi_mask_new(out, n);
}

void wmf_mask_destroy(wmf_mask *m) {
  if (!m) return;
  wmfi_free(m->masked);
  wmfi_free(m->scores);
  wmfi_free(m);
}

static double key_of(double s, wmf_mask_rank rank) {
  return rank == WMF_MASK_BY_VALUE ? s : rank == WMF_MASK_BY_ABS ? fabs(s) : fabs(s - 0.5);
}

/* A mask carrying a copy of the scores; `rank` validated. */
static wmf_status with_scores(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank, const char *fn) {
  WMFI_REQUIRE(out, "%s: out is NULL", fn);
  *out = NULL;
  WMFI_REQUIRE(scores, "%s: scores is NULL", fn);
  WMFI_REQUIRE(wmfi_mask_rank_name((int)rank), "%s: unknown rank %d", fn, (int)rank);
  wmf_status st = WMF_OK;
  wmf_mask *m = NULL;
  WMFI_TRY(check_size(n, fn));
  WMFI_TRY(wmfi_mask_new(&m, n));
  WMFI_ALLOC(m->scores, wmfi_alloc_array(n, sizeof(double)), fn);
  memcpy(m->scores, scores, n * sizeof(double));
  m->rank = (int)rank;
  *out = m;
  m = NULL;
done:
  wmf_mask_destroy(m);
  return st;
}

wmf_status wmf_mask_top_k(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank, size_t k) {
  WMFI_REQUIRE(out, "wmf_mask_top_k: out is NULL");
  *out = NULL;
  wmf_mask *m = NULL;
  size_t *order = NULL;
  wmf_status st = WMF_OK;
  WMFI_TRY(with_scores(&m, scores, n, rank, "wmf_mask_top_k"));
  WMFI_CHECK(k <= n, WMF_ERR_INVALID_ARGUMENT, "wmf_mask_top_k: k = %zu of %zu channels", k, n);
  if (k) {
    wmf_rank_order o = rank == WMF_MASK_BY_VALUE ? WMF_RANK_DESCENDING : rank == WMF_MASK_BY_ABS ? WMF_RANK_ABS
                                                                                                : WMF_RANK_FROM_HALF;
    WMFI_ALLOC(order, wmfi_alloc_array(k, sizeof *order), "wmf_mask_top_k");
    WMFI_TRY(wmfi_rank_scores(order, k, scores, n, o));
    for (size_t i = 0; i < k; i++)
      if (!isnan(scores[order[i]])) m->masked[order[i]] = 1, m->count++;
  }
  m->rule = "top_k", m->param = (double)k;
  *out = m;
  m = NULL;
done:
  wmfi_free(order);
  wmf_mask_destroy(m);
  return st;
}

wmf_status wmf_mask_top_fraction(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank, double p) {
  WMFI_REQUIRE(out, "wmf_mask_top_fraction: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(p >= 0 && p <= 1, "wmf_mask_top_fraction: p = %g is not in [0, 1]", p);
  wmf_status st = wmf_mask_top_k(out, scores, n, rank, (size_t)floor(p * (double)n + 0.5));
  if (!st) (*out)->rule = "top_fraction", (*out)->param = p;
  return st;
}

wmf_status wmf_mask_quantile(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank, double p) {
  WMFI_REQUIRE(out, "wmf_mask_quantile: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(p >= 0 && p <= 1, "wmf_mask_quantile: p = %g is not in [0, 1]", p);
  wmf_mask *m = NULL;
  double *keys = NULL;
  wmf_status st = WMF_OK;
  WMFI_TRY(with_scores(&m, scores, n, rank, "wmf_mask_quantile"));
  WMFI_ALLOC(keys, wmfi_alloc_array(n, sizeof *keys), "wmf_mask_quantile");
  size_t finite = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(scores[i])) keys[finite++] = key_of(scores[i], rank);
  m->rule = "quantile", m->param = p;
  if (finite) {
    wmfi_sort_doubles(keys, finite);
    /* torch.quantile(keys, 1 - p): q = 1 - p in double, as Python computes it before the call */
    double t = wmfi_quantile_sorted(keys, finite, 1.0 - p, 1);
    m->threshold = t;
    for (size_t i = 0; i < n; i++)
      if (!isnan(scores[i]) && key_of(scores[i], rank) > t) m->masked[i] = 1, m->count++;
  }
  *out = m;
  m = NULL;
done:
  wmfi_free(keys);
  wmf_mask_destroy(m);
  return st;
}

double wmf_mask_threshold_used(const wmf_mask *m) { return m ? m->threshold : NAN; }

wmf_status wmf_mask_threshold(wmf_mask **out, const double *scores, size_t n, wmf_mask_rank rank, double threshold) {
  wmf_status st = with_scores(out, scores, n, rank, "wmf_mask_threshold");
  if (st) return st;
  for (size_t i = 0; i < n; i++)
    if (key_of(scores[i], rank) > threshold) (*out)->masked[i] = 1, (*out)->count++;
  (*out)->rule = "threshold", (*out)->param = threshold, (*out)->threshold = threshold;
  return WMF_OK;
}

size_t wmf_mask_num_features(const wmf_mask *m) { return m ? m->n : 0; }
size_t wmf_mask_count(const wmf_mask *m) { return m ? m->count : 0; }
int wmf_mask_is_masked(const wmf_mask *m, size_t i) { return m && i < m->n && m->masked[i]; }

wmf_status wmf_mask_set(wmf_mask *m, size_t i, int masked) {
  WMFI_REQUIRE(m && i < m->n, "wmf_mask_set: NULL mask or channel %zu out of range", i);
  uint8_t v = masked != 0;
  m->count = m->count - m->masked[i] + v;
  m->masked[i] = v;
  return WMF_OK;
}

wmf_status wmf_mask_indices(size_t *out, size_t out_len, const wmf_mask *m) {
  WMFI_REQUIRE(m && (out || !m->count), "wmf_mask_indices: NULL argument");
  if (out_len < m->count)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_mask_indices: buffer of %zu for %zu indices", out_len, m->count);
  for (size_t i = 0, j = 0; i < m->n; i++)
    if (m->masked[i]) out[j++] = i;
  return WMF_OK;
}

wmf_status wmf_mask_multiplier(float *out, size_t out_len, const wmf_mask *m) {
  WMFI_REQUIRE(m && out, "wmf_mask_multiplier: NULL argument");
  if (out_len < m->n)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_mask_multiplier: buffer of %zu for %zu channels", out_len, m->n);
  for (size_t i = 0; i < m->n; i++) out[i] = m->masked[i] ? 0.0f : 1.0f;
  return WMF_OK;
}

wmf_status wmf_mask_apply(const wmf_mask *m, float *features, size_t n, size_t num_features) {
  WMFI_REQUIRE(m && (features || !n), "wmf_mask_apply: NULL argument");
  if (num_features != m->n)
    return wmfi_fail(WMF_ERR_SHAPE, "wmf_mask_apply: features have %zu channels, the mask %zu", num_features, m->n);
  if (!m->count) return WMF_OK;
  for (size_t r = 0; r < n; r++) {
    float *f = features + r * num_features;
    for (size_t i = 0; i < num_features; i++)
      if (m->masked[i]) f[i] = 0.0f;
  }
  return WMF_OK;
}

static wmf_status combine(wmf_mask **out, const wmf_mask *a, const wmf_mask *b, bool both, const char *fn) {
  WMFI_REQUIRE(out, "%s: out is NULL", fn);
  *out = NULL;
  WMFI_REQUIRE(a && b, "%s: NULL mask", fn);
  if (a->n != b->n) return wmfi_fail(WMF_ERR_SHAPE, "%s: masks of %zu and %zu channels", fn, a->n, b->n);
  wmf_mask *m = NULL;
  wmf_status st = WMF_OK;
  bool same_scores = a->scores && b->scores && a->rank == b->rank && !memcmp(a->scores, b->scores, a->n * sizeof(double));
  WMFI_TRY(wmfi_mask_new(&m, a->n));
  if (same_scores) {
    WMFI_ALLOC(m->scores, wmfi_alloc_array(a->n, sizeof(double)), fn);
    memcpy(m->scores, a->scores, a->n * sizeof(double));
    m->rank = a->rank;
  }
  for (size_t i = 0; i < a->n; i++) {
    m->masked[i] = both ? (a->masked[i] & b->masked[i]) : (a->masked[i] | b->masked[i]);
    m->count += m->masked[i];
  }
  *out = m;
  m = NULL;
done:
  wmf_mask_destroy(m);
  return st;
}

wmf_status wmf_mask_union(wmf_mask **out, const wmf_mask *a, const wmf_mask *b) {
  return combine(out, a, b, false, "wmf_mask_union");
}
wmf_status wmf_mask_intersection(wmf_mask **out, const wmf_mask *a, const wmf_mask *b) {
  return combine(out, a, b, true, "wmf_mask_intersection");
}
