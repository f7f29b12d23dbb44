/* Masks as JSON (indices and the scores used) and as NumPy .npy multiplier vectors. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"

#define JSON_FORMAT "wmfeat-mask"
#define JSON_VERSION 1

static wmf_status oom(const char *fn) { return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", fn); }

wmf_status wmf_mask_save_json(const wmf_mask *m, const char *path) {
  WMFI_REQUIRE(m && path, "wmf_mask_save_json: NULL argument");
  json_t *root = json_object(), *idx = json_array(), *sc = m->scores ? json_array() : json_null();
  if (!root || !idx || !sc) goto fail;
  const char *rank = wmfi_mask_rank_name(m->rank);
  if (json_object_set_new(root, "format", json_string(JSON_FORMAT)) ||
      json_object_set_new(root, "version", json_integer(JSON_VERSION)) ||
      json_object_set_new(root, "num_features", json_integer((json_int_t)m->n)) ||
      json_object_set_new(root, "rank", rank ? json_string(rank) : json_null()))
    goto fail;
  if (m->rule) {
    json_t *rule = json_object();
    const char *param = !strcmp(m->rule, "top_k") ? "k" : !strcmp(m->rule, "threshold") ? "threshold" : "fraction";
    if (!rule || json_object_set_new(root, "rule", rule) || json_object_set_new(rule, "name", json_string(m->rule)) ||
        json_object_set_new(rule, param, !strcmp(m->rule, "top_k") ? json_integer((json_int_t)m->param)
                                                                   : json_real(m->param)) ||
        (!strcmp(m->rule, "quantile") &&
         json_object_set_new(rule, "threshold", isfinite(m->threshold) ? json_real(m->threshold) : json_null())))
      goto fail;
  }
  for (size_t i = 0; i < m->n; i++)
    if (m->masked[i] && json_array_append_new(idx, json_integer((json_int_t)i))) goto fail;
  for (size_t i = 0; m->scores && i < m->n; i++)
    if (json_array_append_new(sc, isfinite(m->scores[i]) ? json_real(m->scores[i]) : json_null())) goto fail;
  json_object_set_new(root, "masked", idx);
  json_object_set_new(root, "scores", sc);
  idx = sc = NULL;
  char *text = json_dumps(root, JSON_REAL_PRECISION(17));
  json_decref(root);
  if (!text) return oom("wmf_mask_save_json");
  wmf_status st = wmfi_write_file_atomic(path, text, strlen(text));
  free(text);
  return st;
fail:
  json_decref(root), json_decref(idx), json_decref(sc);
  return oom("wmf_mask_save_json");
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
  wmf_mask *m;
  wmf_status st = wmfi_mask_new(&m, n);
  if (st) return st;
  for (size_t i = 0; i < json_array_size(idx); i++) {
    json_t *v = json_array_get(idx, i);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) >= n ||
        m->masked[json_integer_value(v)]) {
      wmf_mask_destroy(m);
      return wmfi_fail(WMF_ERR_CORRUPT, "wmf_mask_load_json: '%s': \"masked\"[%zu] is not a new index below %zu", path,
                       i, n);
    }
    m->masked[json_integer_value(v)] = 1;
    m->count++;
  }
  if (json_is_array(sc)) {
    m->scores = wmfi_alloc_array(n, sizeof(double));
    if (!m->scores) {
      wmf_mask_destroy(m);
      return oom("wmf_mask_load_json");
    }
    for (size_t i = 0; i < n; i++) {
      json_t *v = json_array_get(sc, i);
      if (!json_is_number(v) && !json_is_null(v)) {
        wmf_mask_destroy(m);
        return wmfi_fail(WMF_ERR_CORRUPT, "wmf_mask_load_json: '%s': \"scores\"[%zu] is not a number", path, i);
      }
      m->scores[i] = json_is_null(v) ? NAN : json_number_value(v);
    }
    m->rank = r;
  }
  *out = m;
  return WMF_OK;
}

wmf_status wmfi_mask_parse_json(wmf_mask **out, const uint8_t *data, size_t size, const char *path) {
  *out = NULL;
  json_error_t err;
  json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return wmfi_fail(WMF_ERR_CORRUPT, "wmf_mask_load_json: '%s': not a JSON object (%s at line %d, byte %d)", path,
                     root ? "wrong type" : err.text, err.line, err.position);
  }
  wmf_status st = parse_json(out, root, path);
  json_decref(root);
  return st;
}

wmf_status wmf_mask_load_json(wmf_mask **out, const char *path) {
  WMFI_REQUIRE(out && path, "wmf_mask_load_json: NULL argument");
  *out = NULL;
  wmfi_file f;
  wmf_status st = wmfi_file_open(&f, path);
  if (st) return st;
  st = wmfi_mask_parse_json(out, f.data, f.size, path);
  wmfi_file_close(&f);
  return st;
}

/* ---- .npy ---- */

wmf_status wmf_mask_save_npy(const wmf_mask *m, const char *path) {
  WMFI_REQUIRE(m && path, "wmf_mask_save_npy: NULL argument");
  char dict[128];
  int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", m->n);
  size_t header = 10 + (size_t)dl + 1, pad = (64 - header % 64) % 64; /* total header a multiple of 64 */
  size_t hlen = (size_t)dl + pad + 1, total = 10 + hlen + 4 * m->n;
  uint8_t *buf = wmfi_malloc(total);
  if (!buf) return oom("wmf_mask_save_npy");
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (uint8_t)(hlen & 0xFF), buf[9] = (uint8_t)(hlen >> 8);
  memcpy(buf + 10, dict, (size_t)dl);
  memset(buf + 10 + dl, ' ', pad);
  buf[10 + hlen - 1] = '\n';
  for (size_t i = 0; i < m->n; i++) {
    float v = m->masked[i] ? 0.0f : 1.0f;
    memcpy(buf + 10 + hlen + 4 * i, &v, 4); /* little-endian host, as the format code of the audit assumes */
  }
  wmf_status st = wmfi_write_file_atomic(path, buf, total);
  wmfi_free(buf);
  return st;
}

/* The text after `key` in a .npy header dict, or NULL. */
static const char *dict_value(const char *h, const char *key) {
  const char *p = strstr(h, key);
  if (!p) return NULL;
  p += strlen(key);
  while (*p == ' ') p++;
  if (*p != ':') return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

wmf_status wmfi_mask_parse_npy(wmf_mask **out, const uint8_t *d, size_t size, const char *path) {
#define BAD(st, ...) return wmfi_fail(st, "wmf_mask_load_npy: '%s': " __VA_ARGS__)
  if (size < 10 || memcmp(d, "\x93NUMPY", 6)) BAD(WMF_ERR_CORRUPT, "not a .npy file (magic at offset 0)", path);
  size_t hlen, off;
  if (d[6] == 1) hlen = d[8] | (size_t)d[9] << 8, off = 10;
  else if ((d[6] == 2 || d[6] == 3) && size >= 12)
    hlen = d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24, off = 12;
  else BAD(WMF_ERR_UNSUPPORTED, ".npy format version %u", path, d[6]);
  if (hlen > 65536 || off + hlen > size) BAD(WMF_ERR_CORRUPT, "header length %zu exceeds the file", path, hlen);
  char h[65537];
  memcpy(h, d + off, hlen);
  h[hlen] = 0;
  const char *descr = dict_value(h, "'descr'"), *fo = dict_value(h, "'fortran_order'"), *shape = dict_value(h, "'shape'");
  if (!descr || !fo || !shape) BAD(WMF_ERR_CORRUPT, "header lacks descr, fortran_order or shape", path);
  static const struct { const char *name; size_t size; } types[] = {
      {"'<f4'", 4}, {"'<f8'", 8}, {"'|u1'", 1}, {"'|b1'", 1}, {"'<i4'", 4}, {"'<i8'", 8}};
  int t = -1;
  for (int i = 0; i < 6; i++)
    if (!strncmp(descr, types[i].name, strlen(types[i].name))) t = i;
  if (t < 0) BAD(WMF_ERR_UNSUPPORTED, "dtype %.12s is not one of <f4 <f8 |u1 |b1 <i4 <i8", path, descr);
  if (strncmp(fo, "False", 5)) BAD(WMF_ERR_UNSUPPORTED, "Fortran order", path);
  char *end;
  if (*shape != '(') BAD(WMF_ERR_CORRUPT, "bad shape", path);
  unsigned long long n = strtoull(shape + 1, &end, 10);
  if (end == shape + 1 || (*end != ',' && *end != ')')) BAD(WMF_ERR_UNSUPPORTED, "shape is not 1-D", path);
  if (*end == ',') {
    end++;
    while (*end == ' ') end++;
  }
  if (*end != ')') BAD(WMF_ERR_UNSUPPORTED, "shape is not 1-D", path);
  if (n == 0) BAD(WMF_ERR_CORRUPT, "empty vector", path);
  if (n > WMFI_MASK_MAX) BAD(WMF_ERR_LIMIT, "%llu channels exceed the limit", path, n);
  size_t isz = types[t].size, data = off + hlen;
  if (size - data != n * isz) BAD(WMF_ERR_CORRUPT, "%zu data bytes for %llu values of %zu bytes", path, size - data, n, isz);
  wmf_mask *m;
  wmf_status st = wmfi_mask_new(&m, (size_t)n);
  if (st) return st;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = d + data + i * isz;
    double v;
    if (t == 0) { float f; memcpy(&f, p, 4); v = f; }
    else if (t == 1) memcpy(&v, p, 8);
    else if (t <= 3) v = *p;
    else if (t == 4) { int32_t k; memcpy(&k, p, 4); v = k; }
    else { int64_t k; memcpy(&k, p, 8); v = (double)k; }
    if (v != 0 && v != 1) {
      wmf_mask_destroy(m);
      BAD(WMF_ERR_CORRUPT, "value %g at index %zu (byte offset %zu) is neither 0 nor 1", path, v, i, data + i * isz);
    }
    m->masked[i] = v == 0; /* the vector is a multiplier: 0 = masked */
    m->count += m->masked[i];
  }
  *out = m;
  return WMF_OK;
#undef BAD
}

wmf_status wmf_mask_load_npy(wmf_mask **out, const char *path) {
  WMFI_REQUIRE(out && path, "wmf_mask_load_npy: NULL argument");
  *out = NULL;
  wmfi_file f;
  wmf_status st = wmfi_file_open(&f, path);
  if (st) return st;
  st = wmfi_mask_parse_npy(out, f.data, f.size, path);
  wmfi_file_close(&f);
  return st;
}
