/* Turning the stored pairs into scores (cached until the next change), and querying them. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

static bool class_only(wmf_audit_score s) { return s >= WMFI_AUDIT_COLUMN_SCORES; }

/* Softmax probabilities, argmax and label counts, streaming chunk by chunk through the column-major
 * logits. Sums run in row order, so the result depends only on the sequence of pairs. */
static wmf_status class_softmax_stats(wmf_audit *a) {
  size_t C = a->num_classes, B = WMFI_AUDIT_CHUNK;
  wmf_status st = WMF_OK;
  double *row = wmfi_alloc_array(4 * B, sizeof(double)); /* max and sum for clean and wm */
  size_t *arg = wmfi_alloc_array(2 * B, sizeof(size_t));
  double *sum_pc = wmfi_calloc(C, sizeof(double)), *sum_pw = wmfi_calloc(C, sizeof(double));
  double *lab_pc = a->prob_labelled[0], *lab_pw = a->prob_labelled[1]; /* sums, then means */
  memset(lab_pc, 0, C * sizeof *lab_pc);
  memset(lab_pw, 0, C * sizeof *lab_pw);
  size_t *cnt = wmfi_calloc(5 * C, sizeof(size_t)); /* top1 clean, top1 wm, labelled, correct c/w */
  double *prob = wmfi_alloc_array(2 * B, sizeof(double));
  WMFI_CHECK(row && arg && sum_pc && sum_pw && cnt && prob, WMF_ERR_OUT_OF_MEMORY,
             "wmf_audit: out of memory computing class scores");
  size_t *top_c = cnt, *top_w = cnt + C, *lab = cnt + 2 * C, *ok_c = cnt + 3 * C, *ok_w = cnt + 4 * C;
  size_t labelled = 0, right_c = 0, right_w = 0;
  for (size_t k = 0; k < a->num_chunks; k++) {
    const wmfi_audit_chunk *ch = &a->chunks[k];
    size_t R = ch->rows;
    const float *mat[2] = {ch->cl, ch->wl};
    for (int s = 0; s < 2; s++) {
      double *mx = row + 2 * s * B, *sm = mx + B;
      size_t *am = arg + s * B;
      for (size_t i = 0; i < R; i++) mx[i] = mat[s][i], am[i] = 0, sm[i] = 0;
      for (size_t c = 1; c < C; c++)
        for (size_t i = 0; i < R; i++)
          if (mat[s][c * B + i] > mx[i]) mx[i] = mat[s][c * B + i], am[i] = c;
      for (size_t c = 0; c < C; c++)
        for (size_t i = 0; i < R; i++) sm[i] += exp((double)mat[s][c * B + i] - mx[i]);
    }
    for (size_t c = 0; c < C; c++) {
      for (int s = 0; s < 2; s++) {
        double *mx = row + 2 * s * B, *sm = mx + B, *p = prob + s * B;
        for (size_t i = 0; i < R; i++) p[i] = exp((double)mat[s][c * B + i] - mx[i]) / sm[i];
      }
      double pc = sum_pc[c], pw = sum_pw[c];
      for (size_t i = 0; i < R; i++) pc += prob[i], pw += prob[B + i];
      sum_pc[c] = pc, sum_pw[c] = pw;
      for (size_t i = 0; i < R; i++) /* p(c) of the images labelled c (ImageNet-W's "cond carton") */
        if (ch->labels[i] == (int32_t)c) lab_pc[c] += prob[i], lab_pw[c] += prob[B + i];
    }
    for (size_t i = 0; i < R; i++) {
      size_t ac = arg[i], aw = arg[B + i];
      top_c[ac]++, top_w[aw]++;
      int32_t l = ch->labels[i];
      if (l == WMF_NO_LABEL) continue;
      labelled++, lab[l]++;
      if ((size_t)l == ac) ok_c[l]++, right_c++;
      if ((size_t)l == aw) ok_w[l]++, right_w++;
    }
  }
  double n = (double)a->n;
  double **S = a->class_scores;
  for (size_t c = 0; c < C; c++) {
    S[WMF_SCORE_DELTA_PROB][c] = sum_pw[c] / n - sum_pc[c] / n;
    S[WMF_SCORE_DELTA_TOP1][c] = (double)top_w[c] / n - (double)top_c[c] / n;
    double acc_c = lab[c] ? (double)ok_c[c] / (double)lab[c] : NAN;
    double acc_w = lab[c] ? (double)ok_w[c] / (double)lab[c] : NAN;
    S[WMF_SCORE_CLEAN_ACC][c] = acc_c;
    S[WMF_SCORE_WM_ACC][c] = acc_w;
    S[WMF_SCORE_ACC_GAP][c] = acc_w - acc_c;
    S[WMF_SCORE_CLEAN_PROB][c] = sum_pc[c] / n;
    S[WMF_SCORE_WM_PROB][c] = sum_pw[c] / n;
    lab_pc[c] = lab[c] ? lab_pc[c] / (double)lab[c] : NAN;
    lab_pw[c] = lab[c] ? lab_pw[c] / (double)lab[c] : NAN;
    S[WMF_SCORE_DELTA_PROB_LABELLED][c] = lab_pw[c] - lab_pc[c];
    a->class_labelled[c] = lab[c];
  }
  a->labelled = labelled;
  a->acc_clean = labelled ? (double)right_c / (double)labelled : NAN;
  a->acc_wm = labelled ? (double)right_w / (double)labelled : NAN;
done:
  wmfi_free(row), wmfi_free(arg), wmfi_free(sum_pc), wmfi_free(sum_pw), wmfi_free(cnt), wmfi_free(prob);
  return st;
}

/* Gathers column `col` of the clean and wm matrices (select 0 = logits, 1 = features) into x, y. */
void wmfi_audit_gather(const wmf_audit *a, int select, size_t col, float *x, float *y) {
  size_t at = 0;
  for (size_t k = 0; k < a->num_chunks; k++) {
    const wmfi_audit_chunk *ch = &a->chunks[k];
    const float *cx = select ? ch->cf : ch->cl, *cy = select ? ch->wf : ch->wl;
    memcpy(x + at, cx + col * WMFI_AUDIT_CHUNK, ch->rows * sizeof(float));
    memcpy(y + at, cy + col * WMFI_AUDIT_CHUNK, ch->rows * sizeof(float));
    at += ch->rows;
  }
}

/* Below this many column values (columns x pairs) the statistics run on the calling thread alone. */
#define WMFI_AUDIT_PARALLEL_WORK 65536

int wmfi_audit_threads(size_t columns, size_t n) {
  if ((double)columns * (double)n < WMFI_AUDIT_PARALLEL_WORK) return 1;
  int t = omp_get_max_threads();
  return t > 1 ? t : 1;
}

wmf_status wmfi_audit_compute(wmf_audit *a) {
  if (a->n == 0) return wmfi_fail(WMF_ERR_STATE, "wmf_audit: no pairs have been added");
  if (a->valid) return WMF_OK;
  size_t C = a->num_classes, F = a->num_features, n = a->n;
  wmf_status st = WMF_OK;
  float *x = NULL;
  uint64_t *work = NULL;
  for (int s = 0; s < WMF_AUDIT_SCORE_COUNT && C; s++)
    if (!a->class_scores[s]) WMFI_ALLOC(a->class_scores[s], wmfi_alloc_array(C, sizeof(double)), "wmf_audit");
  for (int s = 0; s < 2 && C; s++)
    if (!a->prob_labelled[s]) WMFI_ALLOC(a->prob_labelled[s], wmfi_alloc_array(C, sizeof(double)), "wmf_audit");
  if (C && !a->class_labelled) WMFI_ALLOC(a->class_labelled, wmfi_alloc_array(C, sizeof(size_t)), "wmf_audit");
  for (int s = 0; s < WMFI_AUDIT_COLUMN_SCORES && F; s++)
    if (!a->channel_scores[s]) WMFI_ALLOC(a->channel_scores[s], wmfi_alloc_array(F, sizeof(double)), "wmf_audit");
  /* each thread its own scratch; a column's scores do not depend on the thread that computes them */
  int T = wmfi_audit_threads(C + F, n);
  WMFI_ALLOC(x, wmfi_alloc_array((size_t)T * 2 * n, sizeof(float)), "wmf_audit");
  WMFI_ALLOC(work, wmfi_alloc_array((size_t)T * 4 * n, sizeof(uint64_t)), "wmf_audit");
  for (int select = 0; select < 2; select++) {
    size_t cols = select ? F : C;
    double **dst = select ? a->channel_scores : a->class_scores;
#pragma omp parallel for schedule(dynamic, 16) num_threads(T) if (T > 1)
    for (size_t c = 0; c < cols; c++) {
      double r[WMFI_AUDIT_COLUMN_SCORES];
      float *xt = x + (size_t)omp_get_thread_num() * 2 * n;
      wmfi_audit_gather(a, select, c, xt, xt + n);
      wmfi_audit_column_stats(r, xt, xt + n, n, work + (size_t)omp_get_thread_num() * 4 * n);
      for (int s = 0; s < WMFI_AUDIT_COLUMN_SCORES; s++) dst[s][c] = r[s];
    }
  }
  if (C) WMFI_TRY(class_softmax_stats(a));
  else a->labelled = 0, a->acc_clean = a->acc_wm = NAN;
  WMFI_TRY(wmfi_audit_p_values(a));
  a->valid = true;
done:
  wmfi_free(x), wmfi_free(work);
  return st;
}

/* Checks the arguments of a query (`out_ok`: its output pointer is usable) and returns the cached score
 * vector. */
static wmf_status score_vector(const double **out, size_t *count, wmf_audit *a, wmf_audit_target target,
                               wmf_audit_score score, bool out_ok, const char *fn) {
  WMFI_REQUIRE(out_ok, "%s: out is NULL", fn);
  WMFI_REQUIRE(a, "%s: audit is NULL", fn);
  WMFI_REQUIRE(target == WMF_AUDIT_CLASSES || target == WMF_AUDIT_CHANNELS, "%s: unknown target %d", fn,
               (int)target);
  WMFI_REQUIRE((int)score >= 0 && (int)score < WMF_AUDIT_SCORE_COUNT, "%s: unknown score %d", fn, (int)score);
  WMFI_REQUIRE(target == WMF_AUDIT_CLASSES || !class_only(score), "%s: score %d applies to classes only", fn,
               (int)score);
  size_t n = target == WMF_AUDIT_CLASSES ? a->num_classes : a->num_features;
  WMFI_REQUIRE(n, "%s: the audit has no %s", fn, target == WMF_AUDIT_CLASSES ? "classes" : "feature channels");
  wmf_status st = wmfi_audit_compute(a);
  if (st) return st;
  *out = target == WMF_AUDIT_CLASSES ? a->class_scores[score] : a->channel_scores[score];
  *count = n;
  return WMF_OK;
}

wmf_status wmf_audit_scores(double *out, size_t out_len, wmf_audit *a, wmf_audit_target target,
                            wmf_audit_score score) {
  const double *v;
  size_t n;
  wmf_status st = score_vector(&v, &n, a, target, score, out != NULL, "wmf_audit_scores");
  if (st) return st;
  if (out_len < n)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_audit_scores: buffer of %zu for %zu scores", out_len, n);
  memcpy(out, v, n * sizeof *out);
  return WMF_OK;
}

wmf_status wmf_audit_rank(size_t *out, size_t k, wmf_audit *a, wmf_audit_target target, wmf_audit_score score,
                          wmf_rank_order order) {
  const double *v;
  size_t n;
  wmf_status st = score_vector(&v, &n, a, target, score, out || k == 0, "wmf_audit_rank");
  return st ? st : wmfi_rank_scores(out, k, v, n, order);
}

wmf_status wmf_audit_count_above(size_t *out_count, wmf_audit *a, wmf_audit_target target, wmf_audit_score score,
                                 double threshold) {
  const double *v;
  size_t n;
  wmf_status st = score_vector(&v, &n, a, target, score, out_count != NULL, "wmf_audit_count_above");
  if (st) return st;
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += v[i] > threshold;
  *out_count = c;
  return WMF_OK;
}

wmf_status wmf_audit_accuracy(double *out_clean, double *out_wm, size_t *out_labelled, wmf_audit *a) {
  WMFI_REQUIRE(a, "wmf_audit_accuracy: audit is NULL");
  WMFI_REQUIRE(a->num_classes, "wmf_audit_accuracy: the audit has no classes");
  wmf_status st = wmfi_audit_compute(a);
  if (st) return st;
  if (out_clean) *out_clean = a->acc_clean;
  if (out_wm) *out_wm = a->acc_wm;
  if (out_labelled) *out_labelled = a->labelled;
  return WMF_OK;
}

wmf_status wmf_audit_shortcut_metrics(wmf_audit_shortcut *out, wmf_audit *a, size_t c) {
  WMFI_REQUIRE(out && a, "wmf_audit_shortcut_metrics: NULL argument");
  WMFI_REQUIRE(out->struct_size >= sizeof *out,
               "wmf_audit_shortcut_metrics: out->struct_size %u is below %zu (use WMF_AUDIT_SHORTCUT_INIT)",
               (unsigned)out->struct_size, sizeof *out);
  WMFI_REQUIRE(a->num_classes, "wmf_audit_shortcut_metrics: the audit has no classes");
  WMFI_REQUIRE(c < a->num_classes, "wmf_audit_shortcut_metrics: class %zu is not below %zu", c, a->num_classes);
  wmf_status st = wmfi_audit_compute(a);
  if (st) return st;
  double **S = a->class_scores;
  wmf_audit_shortcut r = {.struct_size = (uint32_t)sizeof r};
  r.class_index = c;
  r.num_pairs = a->n;
  r.num_labelled = a->labelled;
  r.num_class_labelled = a->class_labelled[c];
  r.p_clean = S[WMF_SCORE_CLEAN_PROB][c];
  r.p_wm = S[WMF_SCORE_WM_PROB][c];
  r.delta_p = S[WMF_SCORE_DELTA_PROB][c];
  r.p_clean_labelled = a->prob_labelled[0][c];
  r.p_wm_labelled = a->prob_labelled[1][c];
  r.delta_p_labelled = S[WMF_SCORE_DELTA_PROB_LABELLED][c];
  r.acc_clean = a->acc_clean;
  r.acc_wm = a->acc_wm;
  r.acc_gap = a->acc_wm - a->acc_clean;
  r.class_acc_clean = S[WMF_SCORE_CLEAN_ACC][c];
  r.class_acc_wm = S[WMF_SCORE_WM_ACC][c];
  r.class_gap = S[WMF_SCORE_ACC_GAP][c];
  *out = r;
  return WMF_OK;
}

wmf_status wmf_audit_get_pairs(const wmf_audit *a, size_t first, size_t n, float *cl, float *wl, float *cf, float *wf,
                               int32_t *labels) {
  WMFI_REQUIRE(a, "wmf_audit_get_pairs: audit is NULL");
  WMFI_REQUIRE(first <= a->n && n <= a->n - first, "wmf_audit_get_pairs: pairs [%zu, %zu + %zu) beyond the %zu stored",
               first, first, n, a->n);
  size_t C = a->num_classes, F = a->num_features;
  for (size_t i = 0; i < n; i++) {
    size_t r = first + i;
    const wmfi_audit_chunk *ch = &a->chunks[r / WMFI_AUDIT_CHUNK];
    size_t k = r % WMFI_AUDIT_CHUNK;
    for (size_t c = 0; c < C; c++) {
      if (cl) cl[i * C + c] = ch->cl[c * WMFI_AUDIT_CHUNK + k];
      if (wl) wl[i * C + c] = ch->wl[c * WMFI_AUDIT_CHUNK + k];
    }
    for (size_t f = 0; f < F; f++) {
      if (cf) cf[i * F + f] = ch->cf[f * WMFI_AUDIT_CHUNK + k];
      if (wf) wf[i * F + f] = ch->wf[f * WMFI_AUDIT_CHUNK + k];
    }
    if (labels) labels[i] = ch->labels[k];
  }
  return WMF_OK;
}
