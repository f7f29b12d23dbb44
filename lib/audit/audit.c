/* wmf_audit: storage of the paired values (chunks), adding, merging, class names. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"

static void invalidate(wmf_audit *a) { a->valid = false, a->boot_valid = false; }

static void free_names(wmf_audit *a) {
  if (!a->names) return;
  for (size_t i = 0; i < a->num_classes; i++) wmfi_free(a->names[i]);
  wmfi_free(a->names);
  a->names = NULL;
}

void wmf_audit_destroy(wmf_audit *a) {
  if (!a) return;
  for (size_t k = 0; k < a->num_chunks; k++) {
    wmfi_audit_chunk *c = &a->chunks[k];
    wmfi_free(c->cl);
    wmfi_free(c->wl);
    wmfi_free(c->cf);
    wmfi_free(c->wf);
    wmfi_free(c->labels);
  }
  wmfi_free(a->chunks);
  free_names(a);
  wmfi_audit_free_provenance(a);
  for (int s = 0; s < WMF_AUDIT_SCORE_COUNT; s++) wmfi_free(a->class_scores[s]);
  for (int s = 0; s < WMFI_AUDIT_COLUMN_SCORES; s++) wmfi_free(a->channel_scores[s]);
  wmfi_audit_free_uncertainty(a);
  wmfi_free(a->prob_labelled[0]);
  wmfi_free(a->prob_labelled[1]);
  wmfi_free(a->class_labelled);
  wmfi_free(a);
}

wmf_status wmf_audit_create(wmf_audit **out, size_t num_classes, size_t num_features) {
  WMFI_REQUIRE(out, "wmf_audit_create: out is NULL");
  *out = NULL;
  WMFI_REQUIRE(num_classes || num_features, "wmf_audit_create: num_classes and num_features are both 0");
  if (num_classes > WMFI_AUDIT_MAX_DIM || num_features > WMFI_AUDIT_MAX_DIM)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_audit_create: %zu classes, %zu features exceed the limit %zu",
                     num_classes, num_features, WMFI_AUDIT_MAX_DIM);
  wmf_audit *a = wmfi_calloc(1, sizeof *a);
  if (!a) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit_create: out of memory");
  a->num_classes = num_classes;
  a->num_features = num_features;
  if (num_classes == WMFI_AUDIT_IMAGENET_CLASSES) {
    wmf_status st = wmf_audit_set_class_names(a, wmfi_audit_imagenet_names, num_classes);
    if (st != WMF_OK) {
      wmf_audit_destroy(a);
      return st;
    }
  }
  *out = a;
  return WMF_OK;
}

size_t wmf_audit_num_classes(const wmf_audit *a) { return a ? a->num_classes : 0; }
size_t wmf_audit_num_features(const wmf_audit *a) { return a ? a->num_features : 0; }
size_t wmf_audit_num_pairs(const wmf_audit *a) { return a ? a->n : 0; }

/* Makes room for `extra` more rows: allocates the chunks they need. */
static wmf_status reserve(wmf_audit *a, size_t extra) {
  if (extra > WMFI_AUDIT_MAX_PAIRS - a->n)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_audit: more than %zu pairs", WMFI_AUDIT_MAX_PAIRS);
  size_t need = (a->n + extra + WMFI_AUDIT_CHUNK - 1) / WMFI_AUDIT_CHUNK;
  if (need > a->chunk_cap) {
    size_t cap = a->chunk_cap ? a->chunk_cap : 8;
    while (cap < need) cap *= 2;
    wmfi_audit_chunk *c = wmfi_alloc_array(cap, sizeof *c);
    if (!c) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_audit: out of memory for %zu chunks", cap);
    if (a->num_chunks) memcpy(c, a->chunks, a->num_chunks * sizeof *c);
    wmfi_free(a->chunks);
    a->chunks = c;
    a->chunk_cap = cap;
  }
  wmf_status st = WMF_OK;
  wmfi_audit_chunk c = {0};
  while (a->num_chunks < need) {
    size_t B = WMFI_AUDIT_CHUNK;
    if (a->num_classes) {
      c.cl = wmfi_alloc_array(a->num_classes * B, sizeof(float));
      c.wl = wmfi_alloc_array(a->num_classes * B, sizeof(float));
    }
    if (a->num_features) {
      c.cf = wmfi_alloc_array(a->num_features * B, sizeof(float));
      c.wf = wmfi_alloc_array(a->num_features * B, sizeof(float));
    }
    c.labels = wmfi_alloc_array(B, sizeof(int32_t));
    WMFI_CHECK(c.labels && (!a->num_classes || (c.cl && c.wl)) && (!a->num_features || (c.cf && c.wf)),
               WMF_ERR_OUT_OF_MEMORY, "wmf_audit: out of memory for %zu more pairs", extra);
    a->chunks[a->num_chunks++] = c;
    c = (wmfi_audit_chunk){0};
  }
done:
  wmfi_free(c.cl), wmfi_free(c.wl), wmfi_free(c.cf), wmfi_free(c.wf), wmfi_free(c.labels);
  return st;
}

/* Copies a (rows x cols) block whose element (i, j) is src[i * rs + j * cs] into the chunk matrix
 * `dst` starting at row `r0`. */
static void copy_block(float *dst, size_t r0, const float *src, size_t rows, size_t cols, size_t rs,
                       size_t cs) {
  for (size_t j = 0; j < cols; j++) {
    float *d = dst + j * WMFI_AUDIT_CHUNK + r0;
    const float *s = src + j * cs;
    if (rs == 1) memcpy(d, s, rows * sizeof(float));
    else
      for (size_t i = 0; i < rows; i++) d[i] = s[i * rs];
  }
}

/* Appends n validated rows; element (i, j) of each matrix is at base[i * rs + j * cs]. Room must be
 * reserved. */
static void append_rows(wmf_audit *a, size_t n, const float *cl, const float *wl, size_t lrs, size_t lcs,
                        const float *cf, const float *wf, size_t frs, size_t fcs, const int32_t *labels) {
  size_t done = 0;
  while (done < n) {
    wmfi_audit_chunk *c = &a->chunks[a->n / WMFI_AUDIT_CHUNK];
    size_t r0 = c->rows, take = WMFI_AUDIT_CHUNK - r0;
    if (take > n - done) take = n - done;
    if (a->num_classes) {
      copy_block(c->cl, r0, cl + done * lrs, take, a->num_classes, lrs, lcs);
      copy_block(c->wl, r0, wl + done * lrs, take, a->num_classes, lrs, lcs);
    }
    if (a->num_features) {
      copy_block(c->cf, r0, cf + done * frs, take, a->num_features, frs, fcs);
      copy_block(c->wf, r0, wf + done * frs, take, a->num_features, frs, fcs);
    }
    for (size_t i = 0; i < take; i++) c->labels[r0 + i] = labels ? labels[done + i] : WMF_NO_LABEL;
    c->rows += take;
    a->n += take;
    done += take;
  }
  invalidate(a);
}

static wmf_status check_finite(const float *v, size_t rows, size_t cols, const char *what) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++)
      if (!isfinite(v[i * cols + j]))
        return wmfi_fail(WMF_ERR_NUMERIC, "wmf_audit_add: %s[%zu][%zu] is not finite", what, i, j);
  return WMF_OK;
}

wmf_status wmf_audit_add(wmf_audit *a, size_t n, const float *cl, const float *wl, const float *cf,
                         const float *wf, const int32_t *labels) {
  WMFI_REQUIRE(a, "wmf_audit_add: audit is NULL");
  if (n == 0) return WMF_OK;
  WMFI_REQUIRE(!a->num_classes || (cl && wl), "wmf_audit_add: clean_logits or wm_logits is NULL");
  WMFI_REQUIRE(!a->num_features || (cf && wf), "wmf_audit_add: clean_features or wm_features is NULL");
  wmf_status st;
  if ((st = check_finite(cl, a->num_classes ? n : 0, a->num_classes, "clean_logits")) ||
      (st = check_finite(wl, a->num_classes ? n : 0, a->num_classes, "wm_logits")) ||
      (st = check_finite(cf, a->num_features ? n : 0, a->num_features, "clean_features")) ||
      (st = check_finite(wf, a->num_features ? n : 0, a->num_features, "wm_features")))
    return st;
  for (size_t i = 0; labels && i < n; i++)
    WMFI_REQUIRE(labels[i] == WMF_NO_LABEL || (labels[i] >= 0 && (size_t)labels[i] < a->num_classes),
                 "wmf_audit_add: labels[%zu] = %d is neither WMF_NO_LABEL nor a class below %zu", i,
                 (int)labels[i], a->num_classes);
  if ((st = reserve(a, n))) return st;
  append_rows(a, n, cl, wl, a->num_classes, 1, cf, wf, a->num_features, 1, labels);
  return WMF_OK;
}

wmf_status wmfi_audit_append_columns(wmf_audit *a, size_t n, const float *cl, const float *wl,
                                     const float *cf, const float *wf, const int32_t *labels) {
  wmf_status st = reserve(a, n);
  if (st) return st;
  append_rows(a, n, cl, wl, 1, n, cf, wf, 1, n, labels);
  return WMF_OK;
}

wmf_status wmf_audit_merge(wmf_audit *dst, const wmf_audit *src) {
  WMFI_REQUIRE(dst && src, "wmf_audit_merge: NULL audit");
  WMFI_REQUIRE(dst != src, "wmf_audit_merge: an audit cannot be merged into itself");
  if (dst->num_classes != src->num_classes || dst->num_features != src->num_features)
    return wmfi_fail(WMF_ERR_SHAPE, "wmf_audit_merge: shapes differ (%zu classes, %zu features vs %zu, %zu)",
                     dst->num_classes, dst->num_features, src->num_classes, src->num_features);
  wmf_status st = wmfi_audit_merge_check(dst, src);
  if (st) return st;
  if (src->items_done > UINT64_MAX - dst->items_done)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_audit_merge: items_done overflows");
  if ((st = reserve(dst, src->n))) return st;
  dst->items_done += src->items_done;
  /* dst now holds more than its own shard: it no longer is that shard */
  const char *ds = wmf_audit_provenance(dst, "shard"), *ss = wmf_audit_provenance(src, "shard");
  if (ds && (!ss || strcmp(ds, ss) != 0)) wmf_audit_set_provenance(dst, "shard", NULL); /* removal never fails */
  for (size_t k = 0; k < src->num_chunks; k++) {
    const wmfi_audit_chunk *c = &src->chunks[k];
    append_rows(dst, c->rows, c->cl, c->wl, 1, WMFI_AUDIT_CHUNK, c->cf, c->wf, 1, WMFI_AUDIT_CHUNK,
                c->labels);
  }
  return WMF_OK;
}

/* ---- class names ---- */

wmf_status wmf_audit_set_class_names(wmf_audit *a, const char *const *names, size_t count) {
  WMFI_REQUIRE(a, "wmf_audit_set_class_names: audit is NULL");
  if (!names) {
    free_names(a);
    return WMF_OK;
  }
  WMFI_REQUIRE(count == a->num_classes, "wmf_audit_set_class_names: %zu names for %zu classes", count,
               a->num_classes);
  for (size_t i = 0; i < count; i++) {
    WMFI_REQUIRE(names[i], "wmf_audit_set_class_names: name %zu is NULL", i);
    char what[40];
    snprintf(what, sizeof what, "name %zu", i);
    wmf_status st = wmfi_utf8_require("wmf_audit_set_class_names", what, names[i]);
    if (st) return st;
  }
  wmf_status st = WMF_OK;
  char **copy;
  WMFI_ALLOC(copy, wmfi_calloc(count, sizeof *copy), "wmf_audit_set_class_names");
  for (size_t i = 0; i < count; i++) WMFI_ALLOC(copy[i], wmfi_strdup(names[i]), "wmf_audit_set_class_names");
  free_names(a);
  a->names = copy;
  copy = NULL;
done:
  for (size_t i = 0; copy && i < count; i++) wmfi_free(copy[i]);
  wmfi_free(copy);
  return st;
}

wmf_status wmf_audit_load_class_names(wmf_audit *a, const char *path) {
  static const char fn[] = "wmf_audit_load_class_names";
  WMFI_REQUIRE(a && path, "%s: NULL argument", fn);
  wmfi_file f = {0};
  char *text = NULL;
  const char **names = NULL;
  wmf_status st = WMF_OK;
  WMFI_TRY(wmfi_file_open(&f, path));
  size_t count = 0, len = f.size;
  WMFI_CHECK((text = wmfi_malloc(len + 1)) && (names = wmfi_calloc(a->num_classes + 1, sizeof *names)),
             WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for '%s'", fn, path);
  memcpy(text, f.data, len);
  text[len] = 0;
  if (len && text[len - 1] == '\n') text[--len] = 0; /* a final newline ends the last line */
  WMFI_CHECK(!memchr(text, 0, len), WMF_ERR_UTF8, "%s: '%s' holds a NUL byte", fn, path);
  for (char *p = text, *nl = p; nl; p = nl + 1) {
    nl = strchr(p, '\n');
    if (nl) *nl = 0;
    size_t l = strlen(p);
    if (l && p[l - 1] == '\r') p[l - 1] = 0;
    if (count < a->num_classes) names[count] = p;
    count++;
  }
  WMFI_CHECK(len && count == a->num_classes, WMF_ERR_SHAPE, "%s: '%s' has %zu names, the audit %zu classes", fn, path,
             len ? count : 0, a->num_classes);
  st = wmf_audit_set_class_names(a, names, count); /* its message names the bad line */
done:
  wmfi_file_close(&f);
  wmfi_free(text);
  wmfi_free(names);
  return st;
}

const char *wmf_audit_class_name(const wmf_audit *a, size_t index) {
  if (!a || !a->names || index >= a->num_classes) return NULL;
  return a->names[index];
}

const char *wmf_imagenet_class_name(size_t index) {
  return index < WMFI_AUDIT_IMAGENET_CLASSES ? wmfi_audit_imagenet_names[index] : NULL;
}

const char *wmf_imagenet_wnid(size_t index) {
  return index < WMFI_AUDIT_IMAGENET_CLASSES ? wmfi_audit_imagenet_wnids[index] : NULL;
}

wmf_status wmf_imagenet_class_from_wnid(size_t *out_index, const char *wnid) {
  WMFI_REQUIRE(out_index && wnid, "wmf_imagenet_class_from_wnid: NULL argument");
  size_t lo = 0, hi = WMFI_AUDIT_IMAGENET_CLASSES; /* the ids are sorted: binary search */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(wmfi_audit_imagenet_wnids[mid], wnid);
    if (c == 0) {
      *out_index = mid;
      return WMF_OK;
    }
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return wmfi_fail(WMF_ERR_NOT_FOUND, "wmf_imagenet_class_from_wnid: '%.40s' is not an ImageNet-1k WordNet id", wnid);
}
