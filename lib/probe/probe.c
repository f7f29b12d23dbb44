/* Linear softmax head: full-batch L-BFGS on the L2-regularized multinomial cross-entropy. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <omp.h>

#include "probe_internal.h"

wmf_status wmfi_probe_new(wmf_probe **out, size_t K, size_t F) {
  wmf_status st = WMF_OK;
  wmf_probe *p;
  WMFI_ALLOC(p, wmfi_calloc(1, sizeof *p), "wmf_probe");
  p->K = K, p->F = F;
  p->W = wmfi_calloc(K * F, sizeof(double)); /* K, F <= 2^24 each: checked by callers, calloc checks K*F*8 */
  p->b = wmfi_calloc(K, sizeof(double));
  p->masked = wmfi_calloc(F, 1);
  p->keep = wmfi_alloc_array(F, sizeof(size_t));
  WMFI_CHECK(p->W && p->b && p->masked && p->keep, WMF_ERR_OUT_OF_MEMORY, "wmf_probe: out of memory for %zu x %zu weights",
             K, F);
  wmfi_probe_set_masked(p, p->masked);
  *out = p;
  p = NULL;
done:
  wmf_probe_destroy(p);
  return st;
}

void wmfi_probe_set_masked(wmf_probe *p, const uint8_t *masked) {
  p->num_keep = 0;
  for (size_t j = 0; j < p->F; j++) {
    p->masked[j] = masked[j] != 0;
    if (!p->masked[j]) p->keep[p->num_keep++] = j;
  }
}

void wmf_probe_destroy(wmf_probe *p) {
  if (!p) return;
  wmfi_free(p->W), wmfi_free(p->b), wmfi_free(p->masked), wmfi_free(p->keep);
  wmfi_free(p);
}

size_t wmf_probe_num_classes(const wmf_probe *p) { return p ? p->K : 0; }
size_t wmf_probe_num_features(const wmf_probe *p) { return p ? p->F : 0; }

size_t wmfi_probe_threads(size_t n, size_t d, size_t K) {
  if ((double)n * (double)(d + 1) * (double)K < WMFI_PROBE_PARALLEL_WORK) return 1;
  int t = omp_get_max_threads();
  return t > 1 ? (size_t)t : 1;
}

/* this thread's packing scratch in pr->pack */
static double *pack_of(const wmfi_probe_problem *pr) {
  return pr->pack + (size_t)omp_get_thread_num() * wmfi_probe_gemm_scratch();
}

/* Logits of samples [i0, i1) into Z, their softmax residuals P - Y in place, their summed loss returned. */
static double forward_block(const wmfi_probe_problem *pr, const double *W, const double *b, size_t i0, size_t i1) {
  size_t d = pr->d, K = pr->K;
  double *Z = pr->Z + i0 * K, loss = 0;
  if (d)
    wmfi_probe_gemm(pack_of(pr), i1 - i0, K, d, 1.0, pr->X + i0 * d, d, 1, W, 1, d, Z, K); /* Z = X W^T */
  else
    memset(Z, 0, (i1 - i0) * K * sizeof(double));
  for (size_t i = i0; i < i1; i++, Z += K) {
    double mx = -INFINITY;
    for (size_t k = 0; k < K; k++) {
      if (b) Z[k] += b[k];
      if (Z[k] > mx) mx = Z[k];
    }
    double sum = 0, zy = Z[pr->y[i]];
    for (size_t k = 0; k < K; k++) sum += Z[k] = exp(Z[k] - mx); /* one exp per logit */
    loss += mx + log(sum) - zy;
    double inv = 1.0 / sum;
    for (size_t k = 0; k < K; k++) Z[k] *= inv; /* Z now holds the probabilities */
    Z[pr->y[i]] -= 1.0;                         /* and then the residuals P - Y */
  }
  return loss;
}

/* Bit-identical for any number of OpenMP threads: the logits are computed per block of WMFI_PROBE_BLOCK
 * samples (each block's loss summed alone, then the blocks in order), the gradient per fixed tile of
 * classes x features over all samples, each by one thread. */
double wmfi_probe_evaluate(const wmfi_probe_problem *pr, const double *theta, double *grad) {
  size_t n = pr->n, d = pr->d, K = pr->K;
  const double *W = theta, *b = pr->intercept ? theta + K * d : NULL;
  size_t blocks = (n + WMFI_PROBE_BLOCK - 1) / WMFI_PROBE_BLOCK;
  /* threads only where the products outweigh waking them (wmfi_probe_threads; the result is the same) */
  int T = (int)pr->threads;
#pragma omp parallel for schedule(dynamic, 1) num_threads(T) if (T > 1)
  for (size_t t = 0; t < blocks; t++) {
    size_t i0 = t * WMFI_PROBE_BLOCK, i1 = i0 + WMFI_PROBE_BLOCK < n ? i0 + WMFI_PROBE_BLOCK : n;
    pr->block_loss[t] = forward_block(pr, W, b, i0, i1);
  }
  double loss = 0, inv_n = 1.0 / (double)n;
  for (size_t t = 0; t < blocks; t++) loss += pr->block_loss[t];
  /* grad W = R^T X / n + l2 W, tile by tile: R is n x K (row-major), so R^T has strides (1, K) */
  size_t tk = (K + WMFI_PROBE_TILE - 1) / WMFI_PROBE_TILE, td = (d + WMFI_PROBE_TILE - 1) / WMFI_PROBE_TILE;
#pragma omp parallel for schedule(dynamic, 1) num_threads(T) if (T > 1)
  for (size_t t = 0; t < tk * td; t++) {
    size_t k0 = t / td * WMFI_PROBE_TILE, j0 = t % td * WMFI_PROBE_TILE;
    size_t mk = K - k0 < WMFI_PROBE_TILE ? K - k0 : WMFI_PROBE_TILE, mj = d - j0 < WMFI_PROBE_TILE ? d - j0 : WMFI_PROBE_TILE;
    double *G = grad + k0 * d + j0;
    wmfi_probe_gemm(pack_of(pr), mk, mj, n, inv_n, pr->Z + k0, 1, K, pr->X + j0, d, 1, G, d);
    for (size_t k = 0; k < mk; k++)
      for (size_t j = 0; j < mj; j++) G[k * d + j] += pr->l2 * W[(k0 + k) * d + j0 + j];
  }
  if (b) {
    double *gb = grad + K * d;
    memset(gb, 0, K * sizeof(double));
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < K; k++) gb[k] += pr->Z[i * K + k];
    for (size_t k = 0; k < K; k++) gb[k] *= inv_n;
  }
  double reg = 0;
  for (size_t t = 0; t < K * d; t++) reg += W[t] * W[t];
  return loss * inv_n + 0.5 * pr->l2 * reg;
}

static double dot(const double *a, const double *b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}
static double max_abs(const double *a, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
  return m;
}

typedef struct lbfgs_result {
  uint32_t iterations;
  bool converged;
  double f, gmax;
} lbfgs_result;

/* Minimizes from theta (in place). Memory: m pairs (s, y) of D doubles. */
/* Stopping as scipy's L-BFGS-B stops for scikit-learn: max |g| <= gtol (g of the mean objective, scaled by
 * gscale: n for sklearn's tol on the summed objective), or a relative decrease of the summed objective
 * fscale * f at most ftol in one iteration, or max_iter iterations. */
typedef struct stopping {
  uint32_t max_iter;
  double gtol, gscale, ftol, fscale;
} stopping;

static wmf_status lbfgs(lbfgs_result *res, const wmfi_probe_problem *pr, double *theta, size_t D, const stopping *stop,
                        size_t m) {
  wmf_status st = WMF_OK;
  double *mem = wmfi_alloc_array(D, sizeof(double) * (2 * m + 4));
  double *rho = wmfi_alloc_array(m, sizeof(double)), *alpha = wmfi_alloc_array(m, sizeof(double));
  WMFI_CHECK(mem && rho && alpha, WMF_ERR_OUT_OF_MEMORY, "wmf_probe_train: out of memory for L-BFGS (%zu parameters)", D);
  double *S = mem, *Y = mem + m * D, *g = Y + m * D, *dir = g + D, *x2 = dir + D, *g2 = x2 + D;
  size_t stored = 0, head = 0; /* ring buffer of pairs */
  double f = wmfi_probe_evaluate(pr, theta, g);
  uint32_t it = 0;
  bool converged = false;
  for (;;) {
    double gmax = max_abs(g, D);
    if (gmax * stop->gscale <= stop->gtol) {
      converged = true;
      break;
    }
    if (it >= stop->max_iter) break;
    /* two-loop recursion: dir = -H g */
    for (size_t t = 0; t < D; t++) dir[t] = -g[t];
    for (size_t c = 0; c < stored; c++) {
      size_t k = (head + m - 1 - c) % m;
      alpha[k] = rho[k] * dot(S + k * D, dir, D);
      for (size_t t = 0; t < D; t++) dir[t] -= alpha[k] * Y[k * D + t];
    }
    if (stored) {
      size_t k = (head + m - 1) % m;
      double gamma = 1.0 / (rho[k] * dot(Y + k * D, Y + k * D, D));
      for (size_t t = 0; t < D; t++) dir[t] *= gamma;
    } else {
      double gn = sqrt(dot(g, g, D));
      for (size_t t = 0; t < D; t++) dir[t] /= fmax(1.0, gn); /* a cautious first step */
    }
    for (size_t c = stored; c-- > 0;) {
      size_t k = (head + m - 1 - c) % m;
      double beta = rho[k] * dot(Y + k * D, dir, D);
      for (size_t t = 0; t < D; t++) dir[t] += S[k * D + t] * (alpha[k] - beta);
    }
    double slope = dot(g, dir, D);
    if (!(slope < 0)) { /* not a descent direction: restart from steepest descent */
      if (!stored) break;
      stored = head = 0;
      continue;
    }
    /* backtracking line search with the Armijo condition */
    double step = 1.0, f2 = f;
    bool ok = false;
    for (int ls = 0; ls < 50; ls++) {
      for (size_t t = 0; t < D; t++) x2[t] = theta[t] + step * dir[t];
      f2 = wmfi_probe_evaluate(pr, x2, g2);
      if (f2 < f && f2 <= f + 1e-4 * step * slope) { /* strict: a rounding-level "decrease" is none */
        ok = true;
        break;
      }
      step *= 0.5;
    }
    it++;
    if (!ok) {
      if (!stored) break; /* no decrease even along -g: at the limit of double precision */
      stored = head = 0;
      continue;
    }
    double *s = S + head * D, *y = Y + head * D;
    for (size_t t = 0; t < D; t++) s[t] = x2[t] - theta[t], y[t] = g2[t] - g[t];
    double sy = dot(s, y, D);
    if (sy > 1e-12 * dot(y, y, D)) { /* keep the pair only with positive curvature */
      rho[head] = 1.0 / sy;
      head = (head + 1) % m;
      if (stored < m) stored++;
    }
    memcpy(theta, x2, D * sizeof(double));
    memcpy(g, g2, D * sizeof(double));
    double fs = f * stop->fscale, f2s = f2 * stop->fscale;
    f = f2;
    if (fs - f2s <= stop->ftol * fmax(fmax(fabs(fs), fabs(f2s)), 1.0)) { /* scipy's REL_REDUCTION_OF_F */
      converged = true;
      break;
    }
  }
  res->iterations = it;
  res->converged = converged;
  res->f = f;
  res->gmax = max_abs(g, D);
done:
  wmfi_free(mem), wmfi_free(rho), wmfi_free(alpha);
  return st;
}

#define WMFI_PROBE_OPTIONS_SIZE_1_0 WMFI_SIZE_THROUGH(wmf_probe_options, fit_intercept)

WMFI_DEFINE_OPTIONS_INIT(wmf_probe_options_init, wmf_probe_options, WMF_PROBE_OPTIONS_INIT, WMFI_PROBE_OPTIONS_SIZE_1_0)

wmf_status wmf_probe_train(wmf_probe **out, const float *features, const int32_t *labels, size_t n, size_t F, size_t K,
                           const wmf_mask *mask, const wmf_probe_options *options) {
  WMFI_REQUIRE(out, "wmf_probe_train: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(features && labels && n, "wmf_probe_train: no features or labels");
  WMFI_REQUIRE(K >= 2 && K <= WMFI_PROBE_MAX_DIM && F >= 1 && F <= WMFI_PROBE_MAX_DIM,
               "wmf_probe_train: %zu classes, %zu features (need 2.., 1.. up to 2^24)", K, F);
  wmf_probe_options o = WMF_PROBE_OPTIONS_INIT;
  wmf_status ost = wmfi_options_read(&o, sizeof o, options, WMFI_PROBE_OPTIONS_SIZE_1_0, "wmf_probe_train",
                                     "wmf_probe_options");
  if (ost != WMF_OK) return ost;
  WMFI_REQUIRE(o.C > 0 && isfinite(o.C) && o.tolerance > 0 && o.history >= 1 && o.history <= 100 && o.ftol >= 0 &&
                   o.ftol < 1,
               "wmf_probe_train: bad options (C %g, tolerance %g, history %u, ftol %g)", o.C, o.tolerance, o.history,
               o.ftol);
  if (mask && wmf_mask_num_features(mask) != F)
    return wmfi_fail(WMF_ERR_SHAPE, "wmf_probe_train: mask of %zu channels for %zu features",
                     wmf_mask_num_features(mask), F);
  for (size_t i = 0; i < n; i++)
    WMFI_REQUIRE(labels[i] >= 0 && (size_t)labels[i] < K, "wmf_probe_train: labels[%zu] = %d not in [0, %zu)", i,
                 (int)labels[i], K);
  size_t nF;
  if (!wmfi_mul(n, F, &nF)) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_probe_train: sizes overflow");
  for (size_t t = 0; t < nF; t++)
    if (!isfinite(features[t]))
      return wmfi_fail(WMF_ERR_NUMERIC, "wmf_probe_train: features[%zu][%zu] is not finite", t / F, t % F);
  wmf_probe *p = NULL;
  double *X = NULL, *Z = NULL, *theta = NULL, *block_loss = NULL, *pack = NULL;
  wmf_status st = WMF_OK;
  WMFI_TRY(wmfi_probe_new(&p, K, F));
  for (size_t j = 0; mask && j < F; j++) p->masked[j] = (uint8_t)wmf_mask_is_masked(mask, j);
  wmfi_probe_set_masked(p, p->masked);
  size_t d = p->num_keep, D = K * d + (o.fit_intercept ? K : 0);
  if (D == 0) { /* every channel masked and no bias: the zero head is the only one */
    p->converged = 1;
    p->objective = log((double)K);
    *out = p;
    p = NULL;
    goto done;
  }
  wmfi_probe_problem pr = {NULL, labels, n, d, K, o.fit_intercept != 0, 1.0 / (o.C * (double)n), NULL, NULL, NULL,
                           wmfi_probe_threads(n, d, K)};
  X = wmfi_alloc_array(n, (d ? d : 1) * sizeof(double));
  Z = wmfi_alloc_array(n, K * sizeof(double));
  theta = wmfi_calloc(D, sizeof(double));
  block_loss = wmfi_alloc_array((n + WMFI_PROBE_BLOCK - 1) / WMFI_PROBE_BLOCK, sizeof(double));
  pack = wmfi_alloc_array(pr.threads, wmfi_probe_gemm_scratch() * sizeof(double)); /* once per training */
  WMFI_CHECK(X && Z && theta && block_loss && pack, WMF_ERR_OUT_OF_MEMORY,
             "wmf_probe_train: out of memory for %zu x %zu features", n, d);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++) X[i * d + j] = features[i * F + p->keep[j]];
  pr.X = X, pr.Z = Z, pr.block_loss = block_loss, pr.pack = pack;
  lbfgs_result r = {0};
  stopping stop = {o.max_iterations, o.tolerance, o.sklearn_tolerance ? (double)n : 1.0, o.ftol, (double)n};
  WMFI_TRY(lbfgs(&r, &pr, theta, D, &stop, o.history));
  for (size_t k = 0; k < K; k++) {
    for (size_t j = 0; j < d; j++) p->W[k * F + p->keep[j]] = theta[k * d + j];
    p->b[k] = o.fit_intercept ? theta[K * d + k] : 0;
  }
  p->iterations = r.iterations, p->converged = r.converged, p->objective = r.f, p->gradient = r.gmax;
  *out = p;
  p = NULL;
  if (!r.converged)
    st = wmfi_fail(WMF_ERR_LIMIT,
                   "wmf_probe_train: not converged after %u iterations (max |gradient| %.3g of the %s objective > %.3g); "
                   "the head reached is returned",
                   r.iterations, r.gmax * stop.gscale, o.sklearn_tolerance ? "summed" : "mean", o.tolerance);
done:
  wmfi_free(X), wmfi_free(Z), wmfi_free(theta), wmfi_free(block_loss), wmfi_free(pack);
  wmf_probe_destroy(p);
  return st;
}

wmf_status wmf_probe_training_info(uint32_t *it, int *conv, double *obj, double *grad, const wmf_probe *p) {
  WMFI_REQUIRE(p, "wmf_probe_training_info: probe is NULL");
  if (it) *it = p->iterations;
  if (conv) *conv = p->converged;
  if (obj) *obj = p->objective;
  if (grad) *grad = p->gradient;
  return WMF_OK;
}

wmf_status wmf_probe_weights(double *w, size_t wlen, double *b, size_t blen, const wmf_probe *p) {
  WMFI_REQUIRE(p, "wmf_probe_weights: probe is NULL");
  if ((w && wlen < p->K * p->F) || (b && blen < p->K))
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_probe_weights: buffers of %zu and %zu for %zu x %zu and %zu",
                     wlen, blen, p->K, p->F, p->K);
  if (w) memcpy(w, p->W, p->K * p->F * sizeof(double));
  if (b) memcpy(b, p->b, p->K * sizeof(double));
  return WMF_OK;
}

static size_t argmax(const double *z, size_t K) {
  size_t a = 0;
  for (size_t k = 1; k < K; k++)
    if (z[k] > z[a]) a = k;
  return a;
}

/* Logits (in double over the kept channels, written as float where out_logits) and classes (where
 * out_classes) of n feature vectors: blocks of WMFI_PROBE_BLOCK samples, one product each (gemm.c), the
 * blocks spread over the OpenMP threads (each row's result is the same whichever thread computes it). */
static wmf_status predict_blocks(float *out_logits, int32_t *out_classes, const wmf_probe *p, const float *x, size_t n,
                                 const char *fn) {
  wmf_status st = WMF_OK;
  size_t K = p->K, F = p->F, d = p->num_keep, dd = d ? d : 1, blocks = (n + WMFI_PROBE_BLOCK - 1) / WMFI_PROBE_BLOCK;
  size_t T = wmfi_probe_threads(n, d, K), S = wmfi_probe_gemm_scratch();
  if (T > blocks) T = blocks ? blocks : 1;
  double *Wk = wmfi_alloc_array(K, dd * sizeof(double));
  double *Xb = wmfi_alloc_array(T * WMFI_PROBE_BLOCK, dd * sizeof(double));
  double *Zb = wmfi_alloc_array(T * WMFI_PROBE_BLOCK, K * sizeof(double));
  double *pack = wmfi_alloc_array(T, S * sizeof(double));
  WMFI_CHECK(Wk && Xb && Zb && pack, WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu classes x %zu features", fn, K,
             d);
  for (size_t k = 0; k < K; k++)
    for (size_t j = 0; j < d; j++) Wk[k * d + j] = p->W[k * F + p->keep[j]];
#pragma omp parallel for schedule(dynamic, 1) num_threads((int)T) if (T > 1)
  for (size_t t = 0; t < blocks; t++) {
    size_t i0 = t * WMFI_PROBE_BLOCK, m = n - i0 < WMFI_PROBE_BLOCK ? n - i0 : WMFI_PROBE_BLOCK;
    double *xb = Xb + (size_t)omp_get_thread_num() * WMFI_PROBE_BLOCK * dd;
    double *z = Zb + (size_t)omp_get_thread_num() * WMFI_PROBE_BLOCK * K;
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < d; j++) xb[i * d + j] = x[(i0 + i) * F + p->keep[j]];
    if (d)
      wmfi_probe_gemm(pack + (size_t)omp_get_thread_num() * S, m, K, d, 1.0, xb, d, 1, Wk, 1, d, z, K);
    else
      memset(z, 0, m * K * sizeof(double));
    for (size_t i = 0; i < m; i++, z += K) {
      for (size_t k = 0; k < K; k++) z[k] += p->b[k];
      if (out_logits)
        for (size_t k = 0; k < K; k++) out_logits[(i0 + i) * K + k] = (float)z[k];
      if (out_classes) out_classes[i0 + i] = (int32_t)argmax(z, K);
    }
  }
done:
  wmfi_free(Wk), wmfi_free(Xb), wmfi_free(Zb), wmfi_free(pack);
  return st;
}

wmf_status wmf_probe_predict(float *out_logits, int32_t *out_classes, const wmf_probe *p, const float *x, size_t n) {
  WMFI_REQUIRE(p && (x || !n), "wmf_probe_predict: NULL argument");
  if (!n || (!out_logits && !out_classes)) return WMF_OK;
  return predict_blocks(out_logits, out_classes, p, x, n, "wmf_probe_predict");
}

wmf_status wmf_probe_accuracy(double *out, const wmf_probe *p, const float *x, const int32_t *labels, size_t n) {
  WMFI_REQUIRE(out && p && labels && (x || !n), "wmf_probe_accuracy: NULL argument");
  for (size_t i = 0; i < n; i++)
    WMFI_REQUIRE(labels[i] == WMF_NO_LABEL || (labels[i] >= 0 && (size_t)labels[i] < p->K),
                 "wmf_probe_accuracy: labels[%zu] = %d out of range", i, (int)labels[i]);
  size_t right = 0, total = 0;
  for (size_t i = 0; i < n; i++) total += labels[i] != WMF_NO_LABEL;
  *out = NAN;
  if (!total) return WMF_OK;
  int32_t *cls = wmfi_alloc_array(n, sizeof(int32_t));
  if (!cls) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_probe_accuracy: out of memory for %zu classes", n);
  wmf_status st = predict_blocks(NULL, cls, p, x, n, "wmf_probe_accuracy");
  for (size_t i = 0; st == WMF_OK && i < n; i++) right += labels[i] != WMF_NO_LABEL && cls[i] == labels[i];
  wmfi_free(cls);
  if (st == WMF_OK) *out = (double)right / (double)total;
  return st;
}

wmf_status wmf_probe_logit_auc(double *out, size_t out_len, const wmf_probe *p, const float *clean, size_t nc,
                               const float *wm, size_t nw) {
  WMFI_REQUIRE(out && p && clean && wm, "wmf_probe_logit_auc: NULL argument");
  WMFI_REQUIRE(nc && nw, "wmf_probe_logit_auc: an empty set (%zu clean, %zu watermarked)", nc, nw);
  if (out_len < p->K)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_probe_logit_auc: buffer of %zu for %zu classes", out_len, p->K);
  size_t total = nc + nw;
  float *lc = wmfi_alloc_array(total, p->K * sizeof(float)), *col = wmfi_alloc_array(total, sizeof(float));
  uint64_t *work = wmfi_alloc_array(total, 2 * sizeof(uint64_t));
  wmf_status st = WMF_OK;
  WMFI_CHECK(lc && col && work, WMF_ERR_OUT_OF_MEMORY, "wmf_probe_logit_auc: out of memory");
  WMFI_TRY(wmf_probe_predict(lc, NULL, p, clean, nc));
  WMFI_TRY(wmf_probe_predict(lc + nc * p->K, NULL, p, wm, nw));
  for (size_t k = 0; k < p->K; k++) {
    for (size_t i = 0; i < total; i++) col[i] = lc[i * p->K + k];
    out[k] = wmfi_auc(col, nc, col + nc, nw, work);
  }
done:
  wmfi_free(lc), wmfi_free(col), wmfi_free(work);
  return st;
}
