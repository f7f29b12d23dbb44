/* The provenance of an audit (what produced its pairs: weights, recipe, seed, preprocessing, inputs,
 * shard, library version) and the items consumed, both saved with the pairs; the checks that keep
 * resumed and merged runs from mixing; merging a complete set of shards. The fields the wmfeat
 * program, the Python binding and the Dask script set are listed in docs/audit.md. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

void wmfi_audit_free_provenance(wmf_audit *a) {
  for (size_t i = 0; i < a->prov_count; i++) wmfi_free(a->prov_keys[i]), wmfi_free(a->prov_values[i]);
  wmfi_free(a->prov_keys);
  wmfi_free(a->prov_values);
  a->prov_keys = a->prov_values = NULL;
  a->prov_count = 0;
}

void wmfi_audit_adopt_provenance(wmf_audit *a, char **keys, char **values, size_t count) {
  wmfi_audit_free_provenance(a);
  a->prov_keys = keys, a->prov_values = values, a->prov_count = count;
}

wmf_status wmfi_audit_check_provenance_entry(const char *fn, const char *key, size_t key_len, const char *value,
                                             size_t value_len) {
  if (key_len == 0 || key_len > WMFI_AUDIT_MAX_PROVENANCE_KEY)
    return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "%s: a provenance key must have 1 to %d bytes (has %zu)", fn,
                     WMFI_AUDIT_MAX_PROVENANCE_KEY, key_len);
  for (size_t i = 0; i < key_len; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return wmfi_fail(WMF_ERR_INVALID_ARGUMENT,
                       "%s: provenance key '%.*s': byte %zu is not one of a-z 0-9 . _ -", fn, (int)key_len, key, i);
  }
  if (value_len > WMFI_AUDIT_MAX_PROVENANCE_VALUE)
    return wmfi_fail(WMF_ERR_LIMIT, "%s: provenance value of '%.*s' has %zu bytes, the limit is %d", fn,
                     (int)key_len, key, value_len, WMFI_AUDIT_MAX_PROVENANCE_VALUE);
  size_t bad;
  const char *why;
  if (memchr(value, 0, value_len))
    return wmfi_fail(WMF_ERR_UTF8, "%s: provenance value of '%.*s' holds a NUL byte", fn, (int)key_len, key);
  if (!wmfi_utf8_check(value, value_len, &bad, &why)) /* the library's one strict check (lib/core/utf8.c) */
    return wmfi_fail(WMF_ERR_UTF8, "%s: provenance value of '%.*s' is not valid UTF-8 (%s at byte %zu)", fn,
                     (int)key_len, key, why, bad);
  return WMF_OK;
}

/* Index of `key`, or where it would be inserted (*found false). */
static size_t find(const wmf_audit *a, const char *key, bool *found) {
  size_t lo = 0, hi = a->prov_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(a->prov_keys[mid], key);
    if (c == 0) return *found = true, mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  *found = false;
  return lo;
}

const char *wmf_audit_provenance(const wmf_audit *a, const char *key) {
  if (!a || !key) return NULL;
  bool found;
  size_t i = find(a, key, &found);
  return found ? a->prov_values[i] : NULL;
}

size_t wmf_audit_provenance_count(const wmf_audit *a) { return a ? a->prov_count : 0; }

const char *wmf_audit_provenance_key(const wmf_audit *a, size_t index) {
  return a && index < a->prov_count ? a->prov_keys[index] : NULL;
}

wmf_status wmf_audit_set_provenance(wmf_audit *a, const char *key, const char *value) {
  static const char fn[] = "wmf_audit_set_provenance";
  WMFI_REQUIRE(a && key, "%s: NULL audit or key", fn);
  wmf_status st = wmfi_audit_check_provenance_entry(fn, key, strlen(key), value ? value : "", value ? strlen(value) : 0);
  if (st) return st;
  bool found;
  size_t i = find(a, key, &found);
  if (!value) { /* removal: never allocates, never fails */
    if (!found) return WMF_OK;
    wmfi_free(a->prov_keys[i]), wmfi_free(a->prov_values[i]);
    memmove(a->prov_keys + i, a->prov_keys + i + 1, (a->prov_count - i - 1) * sizeof *a->prov_keys);
    memmove(a->prov_values + i, a->prov_values + i + 1, (a->prov_count - i - 1) * sizeof *a->prov_values);
    a->prov_count--;
    return WMF_OK;
  }
  char *k = NULL, *v = NULL, **keys = NULL, **values = NULL;
  WMFI_CHECK(found || a->prov_count < WMFI_AUDIT_MAX_PROVENANCE, WMF_ERR_LIMIT, "%s: more than %d provenance keys", fn,
             WMFI_AUDIT_MAX_PROVENANCE);
  WMFI_ALLOC(v, wmfi_strdup(value), fn);
  if (found) {
    wmfi_free(a->prov_values[i]);
    a->prov_values[i] = v;
    return WMF_OK;
  }
  k = wmfi_strdup(key);
  keys = wmfi_alloc_array(a->prov_count + 1, sizeof *keys);
  values = wmfi_alloc_array(a->prov_count + 1, sizeof *values);
  WMFI_CHECK(k && keys && values, WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for '%s'", fn, key);
  if (a->prov_count) {
    memcpy(keys, a->prov_keys, i * sizeof *keys);
    memcpy(values, a->prov_values, i * sizeof *values);
    memcpy(keys + i + 1, a->prov_keys + i, (a->prov_count - i) * sizeof *keys);
    memcpy(values + i + 1, a->prov_values + i, (a->prov_count - i) * sizeof *values);
  }
  keys[i] = k, values[i] = v;
  wmfi_free(a->prov_keys), wmfi_free(a->prov_values);
  a->prov_keys = keys, a->prov_values = values;
  a->prov_count++;
  k = v = NULL, keys = values = NULL;
done:
  wmfi_free(k), wmfi_free(v), wmfi_free(keys), wmfi_free(values);
  return st;
}

/* Writes "KEY differs (state: A, now: B)" into the error message; long values (a recipe) are shown
 * from their first differing space-separated token. */
static wmf_status differs(const char *prefix, const char *key, const char *a, const char *b, const char *what_a,
                          const char *what_b) {
  if (!a) a = "(none)";
  if (!b) b = "(none)";
  size_t la = strlen(a), lb = strlen(b), skip = 0;
  if (la > 120 || lb > 120) { /* skip the shared leading tokens */
    for (size_t i = 0; a[i] && a[i] == b[i]; i++)
      if (a[i] == ' ') skip = i + 1;
  }
  return wmfi_fail(WMF_ERR_MISMATCH, "%s: %s differs (%s: %s%.160s%s, %s: %s%.160s%s)", prefix, key, what_a,
                   skip ? "..." : "", a + skip, strlen(a + skip) > 160 ? "..." : "", what_b, skip ? "..." : "",
                   b + skip, strlen(b + skip) > 160 ? "..." : "");
}

/* Compares every key of either audit except `ignore` (may be NULL); with `both_only`, keys missing on
 * one side are not compared. Sets *out_key to the first differing key (sorted order). */
static wmf_status compare(const char *prefix, const wmf_audit *a, const wmf_audit *b, const char *ignore,
                          bool both_only, const char *what_a, const char *what_b, const char **out_key) {
  size_t i = 0, j = 0;
  while (i < a->prov_count || j < b->prov_count) {
    int c = i == a->prov_count ? 1 : j == b->prov_count ? -1 : strcmp(a->prov_keys[i], b->prov_keys[j]);
    const char *key = c <= 0 ? a->prov_keys[i] : b->prov_keys[j];
    const char *va = c <= 0 ? a->prov_values[i] : NULL, *vb = c >= 0 ? b->prov_values[j] : NULL;
    if (c <= 0) i++;
    if (c >= 0) j++;
    if ((ignore && strcmp(key, ignore) == 0) || (both_only && (!va || !vb))) continue;
    if (!va || !vb || strcmp(va, vb) != 0) {
      if (out_key) *out_key = key;
      return differs(prefix, key, va, vb, what_a, what_b);
    }
  }
  return WMF_OK;
}

wmf_status wmf_audit_provenance_check(const wmf_audit *saved, const wmf_audit *now, const char **out_key) {
  static const char fn[] = "wmf_audit_provenance_check";
  if (out_key) *out_key = NULL;
  WMFI_REQUIRE(saved && now, "%s: NULL audit", fn);
  if (saved->prov_count == 0 && now->prov_count != 0) {
    if (out_key) *out_key = "";
    return wmfi_fail(WMF_ERR_MISMATCH, "%s: the saved audit has no provenance (written by libwmfeat 1.0): "
                     "what produced it cannot be checked", fn);
  }
  return compare(fn, saved, now, NULL, false, "state", "now", out_key);
}

/* "I/N" with I < N; false otherwise. */
static bool parse_shard(const char *s, uint64_t *i, uint64_t *n) {
  if (!s) return false;
  char *end;
  if (*s < '0' || *s > '9') return false;
  unsigned long long a = strtoull(s, &end, 10);
  if (*end != '/' || end[1] < '0' || end[1] > '9') return false;
  unsigned long long b = strtoull(end + 1, &end, 10);
  if (*end || b == 0 || a >= b) return false;
  *i = a, *n = b;
  return true;
}

wmf_status wmfi_audit_merge_check(const wmf_audit *dst, const wmf_audit *src) {
  static const char fn[] = "wmf_audit_merge";
  const char *ds = wmf_audit_provenance(dst, "shard"), *ss = wmf_audit_provenance(src, "shard");
  uint64_t i, n;
  if (ds && ss && strcmp(ds, ss) == 0 && parse_shard(ds, &i, &n) && n > 1)
    return wmfi_fail(WMF_ERR_MISMATCH, "%s: both audits are shard %s: a shard may be merged only once", fn, ds);
  return compare(fn, dst, src, "shard", true, "into", "from", NULL);
}

wmf_status wmf_audit_set_items_done(wmf_audit *a, uint64_t items) {
  WMFI_REQUIRE(a, "wmf_audit_set_items_done: audit is NULL");
  a->items_done = items;
  return WMF_OK;
}

uint64_t wmf_audit_items_done(const wmf_audit *a) { return a ? a->items_done : 0; }

typedef struct shard_pos {
  uint64_t index;
  size_t arg;
} shard_pos;

static int by_index(const void *a, const void *b) {
  const shard_pos *x = a, *y = b;
  return x->index != y->index ? (x->index < y->index ? -1 : 1) : (x->arg < y->arg ? -1 : x->arg > y->arg);
}

wmf_status wmf_audit_merge_shards(wmf_audit **out, const wmf_audit *const *shards, size_t count) {
  static const char fn[] = "wmf_audit_merge_shards";
  WMFI_REQUIRE(out, "%s: out is NULL", fn);
  *out = NULL;
  WMFI_REQUIRE(shards && count, "%s: no shards", fn);
  for (size_t k = 0; k < count; k++) WMFI_REQUIRE(shards[k], "%s: shard %zu is NULL", fn, k);
  shard_pos *pos = wmfi_alloc_array(count, sizeof *pos);
  if (!pos) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for %zu shards", fn, count);
  uint64_t n0 = 0, n;
  wmf_status st = WMF_OK;
  for (size_t k = 0; k < count && !st; k++) {
    const char *s = wmf_audit_provenance(shards[k], "shard");
    pos[k].arg = k;
    if (!parse_shard(s, &pos[k].index, &n)) {
      st = wmfi_fail(WMF_ERR_MISMATCH, "%s: audit %zu has %s shard field in its provenance (\"I/N\" needed)", fn, k,
                     s ? "a malformed" : "no");
    } else if (k == 0) {
      n0 = n;
    } else if (n != n0) {
      st = wmfi_fail(WMF_ERR_MISMATCH, "%s: audit %zu is shard %s, audit 0 is one of %" PRIu64 " shards", fn, k, s, n0);
    } else if (shards[k]->num_classes != shards[0]->num_classes || shards[k]->num_features != shards[0]->num_features) {
      st = wmfi_fail(WMF_ERR_SHAPE, "%s: audit %zu has %zu classes, %zu features; audit 0 %zu, %zu", fn, k,
                     shards[k]->num_classes, shards[k]->num_features, shards[0]->num_classes, shards[0]->num_features);
    } else {
      char prefix[128];
      snprintf(prefix, sizeof prefix, "%s: audit %zu (shard %s) is not from the run of audit 0", fn, k, s);
      st = compare(prefix, shards[0], shards[k], "shard", false, "audit 0", s, NULL);
    }
  }
  if (!st) {
    qsort(pos, count, sizeof *pos, by_index);
    uint64_t expected = 0;
    for (size_t r = 0; r < count && !st; r++) {
      if (r && pos[r].index == pos[r - 1].index)
        st = wmfi_fail(WMF_ERR_MISMATCH, "%s: shard %" PRIu64 "/%" PRIu64 " is given twice (audits %zu and %zu)", fn,
                       pos[r].index, n0, pos[r - 1].arg, pos[r].arg);
      else if (pos[r].index != expected)
        st = wmfi_fail(WMF_ERR_MISMATCH, "%s: shard %" PRIu64 "/%" PRIu64 " is missing", fn, expected, n0);
      else expected++;
    }
    if (!st && expected != n0)
      st = wmfi_fail(WMF_ERR_MISMATCH, "%s: shard %" PRIu64 "/%" PRIu64 " is missing (%zu of %" PRIu64 " given)", fn,
                     expected, n0, count, n0);
  }
  wmf_audit *m = NULL;
  const wmf_audit *first = shards[0];
  if (!st) st = wmf_audit_create(&m, first->num_classes, first->num_features);
  if (!st && first->names) st = wmf_audit_set_class_names(m, (const char *const *)first->names, m->num_classes);
  for (size_t k = 0; k < first->prov_count && !st; k++)
    if (strcmp(first->prov_keys[k], "shard") != 0) st = wmf_audit_set_provenance(m, first->prov_keys[k], first->prov_values[k]);
  for (size_t r = 0; r < count && !st; r++) st = wmf_audit_merge(m, shards[pos[r].arg]);
  if (!st) st = wmf_audit_set_provenance(m, "shard", "0/1"); /* all shards: the result is the whole run */
  wmfi_free(pos);
  if (st) {
    wmf_audit_destroy(m);
    return st;
  }
  *out = m;
  return WMF_OK;
}

wmf_status wmf_list_fingerprint(char *out, size_t capacity, const char *const *items, const int32_t *labels,
                                size_t count) {
  WMFI_REQUIRE(out && (items || count == 0), "wmf_list_fingerprint: NULL argument");
  wmfi_hash h;
  wmfi_hash_init(&h);
  for (size_t i = 0; i < count; i++) {
    WMFI_REQUIRE(items[i], "wmf_list_fingerprint: item %zu is NULL", i);
    uint8_t head[8], lab[4];
    uint64_t len = strlen(items[i]);
    int32_t label = labels ? labels[i] : WMF_NO_LABEL;
    for (int b = 0; b < 8; b++) head[b] = (uint8_t)(len >> (8 * b));
    for (int b = 0; b < 4; b++) lab[b] = (uint8_t)((uint32_t)label >> (8 * b));
    wmfi_hash_update(&h, head, 8);
    wmfi_hash_update(&h, items[i], (size_t)len);
    wmfi_hash_update(&h, lab, 4);
  }
  char buf[48];
  int n = snprintf(buf, sizeof buf, "%zu %016" PRIx64, count, wmfi_hash_final(&h));
  if ((size_t)n >= capacity)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_list_fingerprint: %d bytes needed, capacity %zu", n + 1, capacity);
  memcpy(out, buf, (size_t)n + 1);
  return WMF_OK;
}
