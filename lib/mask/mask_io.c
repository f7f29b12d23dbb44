/* Masks as JSON (indices and the scores used) and as NumPy .npy multiplier vectors. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask_internal.h"

#define JSON_FORMAT "wmfeat-mask"
#define JSON_VERSION 1

static wmf_status oom(const char *fn) { return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", fn); }

/* The "rule" object of a mask built by a rule: its name, its parameter and the quantile threshold. */
static json_t *rule_object(const wmf_mask *m) {
  bool top_k = !strcmp(m->rule, "top_k");
  const char *param = top_k ? "k" : !strcmp(m->rule, "threshold") ? "threshold" : "fraction";
  json_t *rule = json_object();
  if (!rule || json_object_set_new(rule, "name", json_string(m->rule)) ||
      json_object_set_new(rule, param, top_k ? json_integer((json_int_t)m->param) : json_real(m->param)) ||
      (!strcmp(m->rule, "quantile") &&
       json_object_set_new(rule, "threshold", isfinite(m->threshold) ? json_real(m->threshold) : json_null())))
    return json_decref(rule), NULL;
  return rule;
}

wmf_status wmf_mask_save_json(const wmf_mask *m, const char *path) {
  static const char fn[] = "wmf_mask_save_json";
  WMFI_REQUIRE(m && path, "%s: NULL argument", fn);
  wmf_status st = WMF_OK;
  char *text = NULL;
  json_t *root = json_object(), *idx = NULL, *sc = NULL; /* idx and sc belong to root once set */
  const char *rank = wmfi_mask_rank_name(m->rank);
  WMFI_CHECK(root && !json_object_set_new(root, "format", json_string(JSON_FORMAT)) &&
                 !json_object_set_new(root, "version", json_integer(JSON_VERSION)) &&
                 !json_object_set_new(root, "num_features", json_integer((json_int_t)m->n)) &&
                 !json_object_set_new(root, "rank", rank ? json_string(rank) : json_null()) &&
                 (!m->rule || !json_object_set_new(root, "rule", rule_object(m))) &&
                 !json_object_set_new(root, "masked", idx = json_array()) &&
                 !json_object_set_new(root, "scores", sc = m->scores ? json_array() : json_null()),
             WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  for (size_t i = 0; i < m->n; i++)
    WMFI_CHECK(!m->masked[i] || !json_array_append_new(idx, json_integer((json_int_t)i)), WMF_ERR_OUT_OF_MEMORY,
               "%s: out of memory", fn);
  for (size_t i = 0; m->scores && i < m->n; i++)
    WMFI_CHECK(!json_array_append_new(sc, isfinite(m->scores[i]) ? json_real(m->scores[i]) : json_null()),
               WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  WMFI_ALLOC(text, json_dumps(root, JSON_REAL_PRECISION(17)), fn);
  st = wmfi_write_file_atomic(path, text, strlen(text));
done:
  free(text);
  json_decref(root);
  return st;
}

static wmf_status corrupt(const char *path, const char *what) {
  return wmfi_fail(WMF_ERR_CORRUPT, "wmf_mask_load_json: '%s': %s", path, what);
}

static wmf_status parse_json(wmf_mask **out, json_t *root, const char *path) {
  json_t *fmt = json_object_get(root, "format"), *ver = json_object_get(root, "version");
  json_t *nf = json_object_get(root, "num_features"), *idx = json_object_get(root, "masked");
  json_t *sc = json_object_get(root, "scores"), *rank = json_object_get(root, "rank");
  if (!json_is_string(fmt) || strcmp(json_string_value(fmt), JSON_FORMAT)) return corrupt(path, "not a wmfeat mask (\"format\")");
  if (!json_is_integer(ver) || json_integer_value(ver) < 1) return corrupt(path, "bad \"version\"");
  if (json_integer_value(ver) > JSON_VERSION)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "wmf_mask_load_json: '%s' has version %lld, this library reads %d", path,
                     (long long)json_integer_value(ver), JSON_VERSION);
  if (!json_is_integer(nf) || json_integer_value(nf) < 1) return corrupt(path, "bad \"num_features\"");
  if ((uint64_t)json_integer_value(nf) > WMFI_MASK_MAX)
    return wmfi_fail(WMF_ERR_LIMIT, "wmf_mask_load_json: '%s': %lld channels exceed the limit", path,
                     (long long)json_integer_value(nf));
  if (!json_is_array(idx)) return corrupt(path, "\"masked\" is not an array");
  if (!json_is_null(sc) && !json_is_array(sc)) return corrupt(path, "\"scores\" is neither null nor an array");
  size_t n = (size_t)json_integer_value(nf);
  if (json_is_array(sc) && json_array_size(sc) != n) return corrupt(path, "\"scores\" has the wrong length");
  int r = -1;
  if (json_is_string(rank)) {
    for (int k = 0; k < 3; k++)
      if (!strcmp(json_string_value(rank), wmfi_mask_rank_name(k))) r = k;
    if (r < 0) return corrupt(path, "unknown \"rank\"");
  } else if (!json_is_null(rank) && rank) return corrupt(path, "bad \"rank\"");
  wmf_mask *m = NULL;
  wmf_status st = WMF_OK;
  WMFI_TRY(wmfi_mask_new(&m, n));
  for (size_t i = 0; i < json_array_size(idx); i++) {
    json_t *v = json_array_get(idx, i);
    WMFI_CHECK(json_is_integer(v) && json_integer_value(v) >= 0 && (uint64_t)json_integer_value(v) < n &&
                   !m->masked[json_integer_value(v)],
               WMF_ERR_CORRUPT, "wmf_mask_load_json: '%s': \"masked\"[%zu] is not a new index below %zu", path, i, n);
    m->masked[json_integer_value(v)] = 1;
    m->count++;
  }
  if (json_is_array(sc)) {
    WMFI_ALLOC(m->scores, wmfi_alloc_array(n, sizeof(double)), "wmf_mask_load_json");
    for (size_t i = 0; i < n; i++) {
      json_t *v = json_array_get(sc, i);
      WMFI_CHECK(json_is_number(v) || json_is_null(v), WMF_ERR_CORRUPT,
                 "wmf_mask_load_json: '%s': \"scores\"[%zu] is not a number", path, i);
      m->scores[i] = json_is_null(v) ? NAN : json_number_value(v);
    }
    m->rank = r;
  }
  *out = m;
done:
  if (st) wmf_mask_destroy(m);
  return st;
}

wmf_status wmf_mask_load_json(wmf_mask **out, const char *path) {
  return wmfi_load_file(out, path, "wmf_mask_load_json", wmfi_mask_parse_json);
}

wmf_status wmfi_mask_parse_json(void *out, const uint8_t *data, size_t size, const char *path) {
  wmf_mask **result = out;
  *result = NULL;
  json_error_t err;
  json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_mask_load_json: '%s': not a JSON object (%s at line %d, byte %d)", path,
                     root ? "wrong type" : err.text, err.line, err.position);
  }
  wmf_status st = parse_json(result, root, path);
  json_decref(root);
  return st;
}

/* ---- .npy: a float32 multiplier vector (0 = masked), lib/core's reader and writer ---- */

wmf_status wmf_mask_save_npy(const wmf_mask *m, const char *path) {
  WMFI_REQUIRE(m && path, "wmf_mask_save_npy: NULL argument");
  float *v = wmfi_alloc_array(m->n, sizeof *v);
  if (!v) return oom("wmf_mask_save_npy");
  wmf_mask_multiplier(v, m->n, m); /* cannot fail: the sizes match */
  size_t shape[2] = {m->n, 1};
  wmf_status st = wmfi_npy_write_f32(path, v, 1, shape, "wmf_mask_save_npy");
  wmfi_free(v);
  return st;
}

wmf_status wmf_mask_load_npy(wmf_mask **out, const char *path) {
  return wmfi_load_file(out, path, "wmf_mask_load_npy", wmfi_mask_parse_npy);
}

wmf_status wmfi_mask_parse_npy(void *out, const uint8_t *d, size_t size, const char *path) {
  static const char fn[] = "wmf_mask_load_npy";
  wmf_mask **result = out;
  *result = NULL;
  wmfi_npy a;
  wmf_status st = wmfi_npy_parse(&a, d, size, path, fn);
  if (st) return st;
  if (a.ndim != 1) return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: '%s': shape is not 1-D", fn, path);
  if (a.count == 0) return wmfi_fail(WMF_ERR_CORRUPT, "%s: '%s': empty vector", fn, path);
  if (a.count > WMFI_MASK_MAX)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: '%s': %zu channels exceed the limit", fn, path, a.count);
  wmf_mask *m = NULL;
  WMFI_TRY(wmfi_mask_new(&m, a.count));
  for (size_t i = 0; i < a.count; i++) {
    double v = wmfi_npy_value(&a, i);
    WMFI_CHECK(v == 0 || v == 1, WMF_ERR_CORRUPT, "%s: '%s': value %g at index %zu (byte offset %zu) is neither 0 nor 1",
               fn, path, v, i, a.offset + i * a.item_size);
    m->masked[i] = v == 0; /* the vector is a multiplier: 0 = masked */
    m->count += m->masked[i];
  }
  *result = m;
done:
  if (st) wmf_mask_destroy(m);
  return st;
}
