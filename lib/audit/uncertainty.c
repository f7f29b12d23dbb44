/* Uncertainty of the audit's scores: p-values of the paired Wilcoxon signed-rank test with a
 * Benjamini-Hochberg correction, and percentile bootstrap intervals of AUCs and delta p with pairs
 * resampled. Definitions in docs/audit.md. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

#define MAX_RESAMPLES 100000
#define BLOCK 32 /* columns whose sort orders are kept while the resamples run over them */

void wmfi_audit_free_uncertainty(wmf_audit *a) {
  for (int t = 0; t < 2; t++) {
    wmfi_free(a->p_value[t]), wmfi_free(a->q_value[t]);
    a->p_value[t] = a->q_value[t] = NULL;
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 2; j++) wmfi_free(a->interval[i][j]), a->interval[i][j] = NULL;
}

/* ---- Benjamini-Hochberg ---- */

typedef struct pv {
  double p;
  size_t index;
} pv;

static int cmp_pv(const void *pa, const void *pb) {
  const pv *a = pa, *b = pb;
  if (a->p != b->p) return a->p < b->p ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

wmf_status wmf_benjamini_hochberg(double *q, const double *p, size_t n) {
  WMFI_REQUIRE(q && p, "wmf_benjamini_hochberg: NULL argument");
  for (size_t i = 0; i < n; i++)
    WMFI_REQUIRE(isnan(p[i]) || (p[i] >= 0 && p[i] <= 1), "wmf_benjamini_hochberg: p[%zu] = %g is not in [0, 1]",
                 i, p[i]);
  pv *v = wmfi_alloc_array(n ? n : 1, sizeof *v);
  if (!v) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_benjamini_hochberg: out of memory for %zu p-values", n);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!isnan(p[i])) v[m].p = p[i], v[m].index = i, m++;
  qsort(v, m, sizeof *v, cmp_pv);
  for (size_t i = 0; i < n; i++)
    if (isnan(p[i])) q[i] = NAN;
  double run = 1.0; /* running minimum from the largest p down */
  for (size_t r = m; r-- > 0;) {
    double adj = v[r].p * (double)m / (double)(r + 1);
    if (adj < run) run = adj;
    v[r].p = run;
  }
  for (size_t r = 0; r < m; r++) q[v[r].index] = v[r].p;
  wmfi_free(v);
  return WMF_OK;
}

/* The exact two-sided p-value of the signed-rank statistic of n <= WMFI_EXACT_MAX pairs whose
 * differences are all non-zero and have distinct magnitudes, as scipy.stats.wilcoxon(method="exact")
 * computes it: W+ = sum of the ranks of the positive differences, cnt[k] = number of subsets of
 * {1..n} summing to k (exact in double up to 2^53), p = 2 min(P(W <= W+), P(W >= W+)), or 1 at the
 * centre (n(n+1)/2) / 2. NaN when the exact distribution does not apply (a zero or a tie). */
#define WMFI_EXACT_MAX 50
static double exact_p(const float *x, const float *y, size_t n, const double *cnt) {
  double d[WMFI_EXACT_MAX], mag[WMFI_EXACT_MAX];
  for (size_t i = 0; i < n; i++) {
    d[i] = (double)y[i] - (double)x[i];
    if (d[i] == 0) return NAN;
    mag[i] = fabs(d[i]);
  }
  wmfi_sort_doubles(mag, n);
  for (size_t i = 1; i < n; i++)
    if (mag[i] == mag[i - 1]) return NAN;
  size_t w = 0; /* W+: the rank of |d_i| among the sorted magnitudes, summed over d_i > 0 */
  for (size_t i = 0; i < n; i++)
    if (d[i] > 0) {
      size_t r = 0;
      while (mag[r] != d[i]) r++;
      w += r + 1;
    }
  size_t top = n * (n + 1) / 2;
  if (w == top / 2) return 1.0;
  double less = 0, greater = 0, total = ldexp(1.0, (int)n);
  for (size_t k = 0; k <= top; k++) {
    if (k <= w) less += cnt[k];
    if (k >= w) greater += cnt[k];
  }
  double p = 2 * fmin(less, greater) / total;
  return p < 1 ? p : 1;
}

wmf_status wmfi_audit_p_values(wmf_audit *a) {
  size_t n = a->n, top = n * (n + 1) / 2;
  double cnt[WMFI_EXACT_MAX * (WMFI_EXACT_MAX + 1) / 2 + 1];
  float xy[2 * WMFI_EXACT_MAX];
  if (n <= WMFI_EXACT_MAX) { /* subsets of {1..n} by their sum */
    memset(cnt, 0, sizeof cnt);
    cnt[0] = 1;
    for (size_t r = 1; r <= n; r++)
      for (size_t k = top; k >= r; k--) cnt[k] += cnt[k - r];
  }
  for (int t = 0; t < 2; t++) {
    size_t cols = t ? a->num_features : a->num_classes;
    if (!cols) continue;
    if (!a->p_value[t] && !(a->p_value[t] = wmfi_alloc_array(cols, sizeof(double))))
      return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit: out of memory for p-values");
    if (!a->q_value[t] && !(a->q_value[t] = wmfi_alloc_array(cols, sizeof(double))))
      return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit: out of memory for q-values");
    const double *z = t ? a->channel_scores[WMF_SCORE_WILCOXON_Z] : a->class_scores[WMF_SCORE_WILCOXON_Z];
    double *p_out = a->p_value[t];
    int T = n <= WMFI_EXACT_MAX ? wmfi_audit_threads(cols, n * n) : 1; /* the exact p walks n^2 / 2 counts */
#pragma omp parallel for schedule(dynamic, 16) num_threads(T) if (T > 1) private(xy)
    for (size_t i = 0; i < cols; i++) {
      double p = NAN;
      if (n <= WMFI_EXACT_MAX) {
        wmfi_audit_gather(a, t, i, xy, xy + n);
        p = exact_p(xy, xy + n, n, cnt);
      }
      p_out[i] = !isnan(p) ? p : isnan(z[i]) ? NAN : erfc(fabs(z[i]) / sqrt(2.0));
    }
    wmf_status st = wmf_benjamini_hochberg(a->q_value[t], a->p_value[t], cols);
    if (st) return st;
  }
  return WMF_OK;
}

static wmf_status check_target(wmf_audit *a, wmf_audit_target t, size_t out_len, const char *fn, size_t *count) {
  WMFI_REQUIRE(a, "%s: audit is NULL", fn);
  WMFI_REQUIRE(t == WMF_AUDIT_CLASSES || t == WMF_AUDIT_CHANNELS, "%s: unknown target %d", fn, (int)t);
  size_t n = t == WMF_AUDIT_CLASSES ? a->num_classes : a->num_features;
  WMFI_REQUIRE(n, "%s: the audit has no %s", fn, t == WMF_AUDIT_CLASSES ? "classes" : "feature channels");
  if (out_len < n) return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "%s: buffer of %zu for %zu values", fn, out_len, n);
  *count = n;
  return wmfi_audit_compute(a);
}

wmf_status wmf_audit_p_values(double *out_p, double *out_q, size_t out_len, wmf_audit *a, wmf_audit_target t) {
  size_t n;
  wmf_status st = check_target(a, t, out_len, "wmf_audit_p_values", &n);
  if (st) return st;
  if (out_p) memcpy(out_p, a->p_value[t], n * sizeof(double));
  if (out_q) memcpy(out_q, a->q_value[t], n * sizeof(double));
  return WMF_OK;
}

/* ---- bootstrap ---- */

wmf_status wmf_audit_set_bootstrap(wmf_audit *a, size_t resamples, uint64_t seed, double level) {
  WMFI_REQUIRE(a, "wmf_audit_set_bootstrap: audit is NULL");
  WMFI_REQUIRE(resamples <= MAX_RESAMPLES, "wmf_audit_set_bootstrap: %zu resamples exceed %d", resamples,
               MAX_RESAMPLES);
  WMFI_REQUIRE(level > 0 && level < 1, "wmf_audit_set_bootstrap: level %g is not in (0, 1)", level);
  if (a->boot_resamples != resamples || a->boot_seed != seed || a->boot_level != level) a->boot_valid = false;
  a->boot_resamples = resamples, a->boot_seed = seed, a->boot_level = level;
  return WMF_OK;
}

static inline uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* How often each pair is drawn in resample b: draw k is pair floor(u n / 2^64) of
 * u = splitmix64(seed * 0xD1B54A32D192ED03 + b n + k). */
static void resample_counts(uint32_t *w, size_t n, uint64_t seed, size_t b) {
  memset(w, 0, n * sizeof *w);
  uint64_t base = seed * 0xD1B54A32D192ED03ull + (uint64_t)b * (uint64_t)n;
  for (size_t k = 0; k < n; k++) w[(uint64_t)(((unsigned __int128)splitmix64(base + k) * n) >> 64)]++;
}

/* The 2n values of a column in ascending order, each as (pair << 2) | (watermarked << 1) | last, where
 * `last` marks the end of a group of equal values. `packed` holds 2n more values for the sort. Returns
 * whether two values are equal. */
static bool column_order(uint32_t *order, uint64_t *packed, uint64_t *tmp, const float *x, const float *y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    packed[2 * i] = wmfi_float_key(x[i]) << 32 | (uint64_t)i << 1;
    packed[2 * i + 1] = wmfi_float_key(y[i]) << 32 | (uint64_t)i << 1 | 1;
  }
  wmfi_radix_sort(packed, tmp, 2 * n);
  bool ties = false;
  for (size_t j = 0; j < 2 * n; j++) {
    bool last = j + 1 == 2 * n || packed[j + 1] >> 32 != packed[j] >> 32;
    order[j] = (uint32_t)packed[j] << 1 | last;
    ties |= !last;
  }
  return ties;
}

/* The AUC of the resample with pair counts w: twice its Mann-Whitney U counted exactly in integers, as
 * wmfi_auc does for the sample itself. Branch-free over the sorted values. */
static double weighted_auc(const uint32_t *order, size_t n, const uint32_t *w) {
  uint64_t u2 = 0, below = 0, wn = 0, wp = 0;
  for (size_t j = 0; j < 2 * n; j++) {
    uint32_t e = order[j];
    uint64_t c = w[e >> 2], pos = -(uint64_t)(e >> 1 & 1), last = -(uint64_t)(e & 1);
    wp += c & pos, wn += c & ~pos;
    u2 += (wp * (2 * below + wn)) & last;
    below += wn & last;
    wp &= ~last, wn &= ~last;
  }
  return (double)u2 / (2.0 * (double)n * (double)n);
}

/* Softmax probability of class c for every pair, clean and watermarked: row maxima and sums first. */
typedef struct softmax_rows {
  double *mx[2], *sum[2];
} softmax_rows;

static void softmax_prepare(const wmf_audit *a, softmax_rows *s) {
  size_t C = a->num_classes, at = 0;
  for (size_t k = 0; k < a->num_chunks; k++) {
    const wmfi_audit_chunk *ch = &a->chunks[k];
    const float *mat[2] = {ch->cl, ch->wl};
    for (int t = 0; t < 2; t++)
      for (size_t i = 0; i < ch->rows; i++) {
        double mx = mat[t][i], sum = 0;
        for (size_t c = 1; c < C; c++) mx = fmax(mx, mat[t][c * WMFI_AUDIT_CHUNK + i]);
        for (size_t c = 0; c < C; c++) sum += exp((double)mat[t][c * WMFI_AUDIT_CHUNK + i] - mx);
        s->mx[t][at + i] = mx, s->sum[t][at + i] = sum;
      }
    at += ch->rows;
  }
}

/* Resamples computed together, one per lane: the pair counts of LANES resamples are interleaved
 * (wd[i * LANES + r]) and each column's walk over its sorted values serves all of them. */
#define LANES 8
/* Up to this many pairs, the lanes' sums of counts (at most 3 n^2) are exact in double. */
#define LANES_MAX_PAIRS ((size_t)1 << 25)

/* weighted_auc of LANES resamples at once, in doubles that hold the same integers exactly (n <=
 * LANES_MAX_PAIRS): the same values, bit for bit. */
static void weighted_auc_lanes(double out[LANES], const uint32_t *order, size_t n, bool ties, const double *wd) {
  double u2[LANES] = {0}, below[LANES] = {0}, wp[LANES] = {0}, wn[LANES] = {0};
  if (!ties) { /* every group is one value: a positive adds twice its count times the negatives below it */
    for (size_t j = 0; j < 2 * n; j++) {
      uint32_t e = order[j];
      const double *c = wd + (size_t)(e >> 2) * LANES;
      double pos = (double)(e >> 1 & 1), neg = 1.0 - pos;
#pragma omp simd
      for (int r = 0; r < LANES; r++) u2[r] += c[r] * below[r] * pos, below[r] += c[r] * neg;
    }
    for (int r = 0; r < LANES; r++) out[r] = 2 * u2[r] / (2.0 * (double)n * (double)n);
    return;
  }
  for (size_t j = 0; j < 2 * n; j++) {
    uint32_t e = order[j];
    const double *c = wd + (size_t)(e >> 2) * LANES;
    double pos = (double)(e >> 1 & 1), neg = 1.0 - pos;
#pragma omp simd
    for (int r = 0; r < LANES; r++) wp[r] += c[r] * pos, wn[r] += c[r] * neg;
    if (e & 1) {
#pragma omp simd
      for (int r = 0; r < LANES; r++) {
        u2[r] += wp[r] * (2 * below[r] + wn[r]);
        below[r] += wn[r];
        wp[r] = wn[r] = 0;
      }
    }
  }
  for (int r = 0; r < LANES; r++) out[r] = u2[r] / (2.0 * (double)n * (double)n);
}

/* One thread's scratch for the blocks of columns it takes. */
typedef struct boot_scratch {
  float *xy;        /* 2n: a column, clean then watermarked */
  uint32_t *order;  /* BLOCK * 2n: the block's sort orders */
  uint64_t *packed; /* 2n */
  uint64_t *tmp;    /* 2n */
  uint32_t *w;      /* n: one resample's pair counts */
  double *wd;       /* LANES n: LANES resamples' pair counts, interleaved */
  double *vals;     /* 2 BLOCK B: AUC and delta p per column and resample */
  double *diff;     /* BLOCK n: p_w - p_c per column and pair (classes) */
  bool ties[BLOCK]; /* the block's columns with equal values */
} boot_scratch;

/* The intervals of columns [c0, c0 + nb) of the logits (select 0) or the features (select 1). */
static void bootstrap_block(wmf_audit *a, const softmax_rows *sr, boot_scratch *k, int select, size_t c0,
                            size_t nb) {
  size_t n = a->n, B = a->boot_resamples;
  double qlo = (1.0 - a->boot_level) / 2, qhi = (1.0 + a->boot_level) / 2;
  for (size_t j = 0; j < nb; j++) {
    float *x = k->xy, *y = k->xy + n;
    wmfi_audit_gather(a, select, c0 + j, x, y);
    k->ties[j] = column_order(k->order + j * 2 * n, k->packed, k->tmp, x, y, n);
    if (!select) {
      double *d = k->diff + j * n;
      for (size_t i = 0; i < n; i++)
        d[i] = exp((double)y[i] - sr->mx[1][i]) / sr->sum[1][i] - exp((double)x[i] - sr->mx[0][i]) / sr->sum[0][i];
    }
  }
  if (n <= LANES_MAX_PAIRS) {
    for (size_t b0 = 0; b0 < B; b0 += LANES) {
      size_t nr = B - b0 < LANES ? B - b0 : LANES;
      for (size_t r = 0; r < LANES; r++) { /* lanes past the last resample count nothing */
        if (r < nr) resample_counts(k->w, n, a->boot_seed, b0 + r);
        for (size_t i = 0; i < n; i++) k->wd[i * LANES + r] = r < nr ? (double)k->w[i] : 0;
      }
      for (size_t j = 0; j < nb; j++) {
        double auc[LANES];
        weighted_auc_lanes(auc, k->order + j * 2 * n, n, k->ties[j], k->wd);
        for (size_t r = 0; r < nr; r++) k->vals[(2 * j) * B + b0 + r] = auc[r];
        if (!select) { /* the same sum, term by term in pair order, as the one-resample loop below */
          const double *d = k->diff + j * n;
          double s[LANES] = {0};
          for (size_t i = 0; i < n; i++)
#pragma omp simd
            for (int r = 0; r < LANES; r++) s[r] += k->wd[i * LANES + (size_t)r] * d[i];
          for (size_t r = 0; r < nr; r++) k->vals[(2 * j + 1) * B + b0 + r] = s[r] / (double)n;
        }
      }
    }
  } else {
    for (size_t b = 0; b < B; b++) {
      resample_counts(k->w, n, a->boot_seed, b);
      for (size_t j = 0; j < nb; j++) {
        k->vals[(2 * j) * B + b] = weighted_auc(k->order + j * 2 * n, n, k->w);
        if (!select) {
          const double *d = k->diff + j * n;
          double s = 0;
          for (size_t i = 0; i < n; i++) s += (double)k->w[i] * d[i];
          k->vals[(2 * j + 1) * B + b] = s / (double)n;
        }
      }
    }
  }
  for (size_t j = 0; j < nb; j++)
    for (int s = 0; s < (select ? 1 : 2); s++) {
      double *v = k->vals + (2 * j + (size_t)s) * B;
      wmfi_sort_doubles(v, B);
      int which = select ? 2 : s;
      a->interval[which][0][c0 + j] = wmfi_quantile_sorted(v, B, qlo, 0);
      a->interval[which][1][c0 + j] = wmfi_quantile_sorted(v, B, qhi, 0);
    }
}

/* Scratch of all threads together stays below this (the resamples' values dominate: 2 BLOCK B doubles). */
#define BOOT_SCRATCH_BUDGET ((size_t)256 << 20)

/* Blocks of BLOCK columns, classes first, spread over OpenMP threads; each block is computed by one thread
 * with its own scratch, so the intervals are bitwise equal for any thread count. */
static wmf_status bootstrap(wmf_audit *a) {
  size_t n = a->n, B = a->boot_resamples, C = a->num_classes, F = a->num_features;
  if (n >= (size_t)1 << 30)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_audit_interval: the bootstrap takes at most 2^30 pairs, the audit has %zu", n);
  for (int i = 0; i < 3; i++) {
    size_t len = i < 2 ? C : F;
    for (int j = 0; j < 2 && len; j++)
      if (!a->interval[i][j] && !(a->interval[i][j] = wmfi_alloc_array(len, sizeof(double))))
        return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_interval: out of memory");
  }
  size_t class_blocks = (C + BLOCK - 1) / BLOCK, blocks = class_blocks + (F + BLOCK - 1) / BLOCK;
  size_t per_thread = 2 * n * sizeof(float) + BLOCK * 2 * n * sizeof(uint32_t) + 4 * n * sizeof(uint64_t) +
                      n * sizeof(uint32_t) + LANES * n * sizeof(double) + 2 * BLOCK * B * sizeof(double) + (C ? BLOCK * n * sizeof(double) : 0);
  int T = wmfi_audit_threads(C + F, n * (B ? B : 1));
  if ((size_t)T > blocks) T = blocks ? (int)blocks : 1;
  while (T > 1 && (size_t)T * per_thread > BOOT_SCRATCH_BUDGET) T--;
  boot_scratch *ks = wmfi_calloc((size_t)T, sizeof *ks);
  double *rows = C ? wmfi_alloc_array(4 * n, sizeof(double)) : NULL;
  wmf_status st = WMF_OK;
  WMFI_CHECK(ks && (!C || rows), WMF_ERR_OUT_OF_MEMORY, "wmf_audit_interval: out of memory for %zu pairs", n);
  for (int t = 0; t < T; t++) {
    boot_scratch *k = &ks[t];
    k->xy = wmfi_alloc_array(2 * n, sizeof(float));
    k->order = wmfi_alloc_array(BLOCK * 2 * n, sizeof(uint32_t));
    k->packed = wmfi_alloc_array(2 * n, sizeof(uint64_t));
    k->tmp = wmfi_alloc_array(2 * n, sizeof(uint64_t));
    k->w = wmfi_alloc_array(n, sizeof(uint32_t));
    k->wd = n <= LANES_MAX_PAIRS ? wmfi_alloc_array(LANES * n, sizeof(double)) : NULL;
    k->vals = wmfi_alloc_array(2 * BLOCK * (B ? B : 1), sizeof(double));
    k->diff = C ? wmfi_alloc_array(BLOCK * n, sizeof(double)) : NULL;
    WMFI_CHECK(k->xy && k->order && k->packed && k->tmp && k->w && (n > LANES_MAX_PAIRS || k->wd) && k->vals && (!C || k->diff), WMF_ERR_OUT_OF_MEMORY,
               "wmf_audit_interval: out of memory for %zu pairs", n);
  }
  softmax_rows sr = {{rows, rows ? rows + n : NULL}, {rows ? rows + 2 * n : NULL, rows ? rows + 3 * n : NULL}};
  if (C) softmax_prepare(a, &sr);
#pragma omp parallel for schedule(dynamic, 1) num_threads(T) if (T > 1)
  for (size_t q = 0; q < blocks; q++) {
    int select = q >= class_blocks;
    size_t cols = select ? F : C, c0 = (select ? q - class_blocks : q) * BLOCK;
    bootstrap_block(a, &sr, &ks[omp_get_thread_num()], select, c0, cols - c0 < BLOCK ? cols - c0 : BLOCK);
  }
  a->boot_valid = true;
done:
  for (int t = 0; ks && t < T; t++) {
    boot_scratch *k = &ks[t];
    wmfi_free(k->xy), wmfi_free(k->order), wmfi_free(k->packed), wmfi_free(k->tmp), wmfi_free(k->w), wmfi_free(k->wd);
    wmfi_free(k->vals), wmfi_free(k->diff);
  }
  wmfi_free(ks), wmfi_free(rows);
  return st;
}

wmf_status wmfi_audit_bootstrap(wmf_audit *a) {
  wmf_status st = wmfi_audit_compute(a);
  if (st) return st;
  if (!a->boot_resamples)
    return wmfi_fail(WMF_ERR_STATE, "wmf_audit_interval: no bootstrap set (wmf_audit_set_bootstrap)");
  return a->boot_valid ? WMF_OK : bootstrap(a);
}

wmf_status wmf_audit_interval(double *lo, double *hi, size_t out_len, wmf_audit *a, wmf_audit_target t,
                              wmf_audit_score score) {
  size_t n;
  WMFI_REQUIRE(score == WMF_SCORE_AUC || (score == WMF_SCORE_DELTA_PROB && t == WMF_AUDIT_CLASSES),
               "wmf_audit_interval: intervals exist for AUC (classes, channels) and delta p (classes), not score %d",
               (int)score);
  wmf_status st = check_target(a, t, out_len, "wmf_audit_interval", &n);
  if (st || (st = wmfi_audit_bootstrap(a))) return st;
  int which = t == WMF_AUDIT_CHANNELS ? 2 : score == WMF_SCORE_AUC ? 0 : 1;
  if (lo) memcpy(lo, a->interval[which][0], n * sizeof(double));
  if (hi) memcpy(hi, a->interval[which][1], n * sizeof(double));
  return WMF_OK;
}
