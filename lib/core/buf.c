/* wmfi_buf: a growing byte string for text written whole (CSV, SVG). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

/* Makes room for n more bytes and the NUL; false (and `failed`) when that cannot be had. */
static bool reserve(wmfi_buf *b, size_t n) {
  size_t need;
  if (b->failed || !wmfi_add(b->len, n, &need) || !wmfi_add(need, 1, &need)) return b->failed = true, false;
  if (need <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = wmfi_realloc(b->data, cap);
  if (!p) return b->failed = true, false;
  b->data = p, b->cap = cap;
  return true;
}

void wmfi_buf_put(wmfi_buf *b, const void *data, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = 0;
}

void wmfi_buf_str(wmfi_buf *b, const char *s) { wmfi_buf_put(b, s, strlen(s)); }

void wmfi_buf_printf(wmfi_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) b->failed = true;
  if (n < 0 || !reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void wmfi_buf_free(wmfi_buf *b) {
  wmfi_free(b->data);
  *b = (wmfi_buf){0};
}

wmf_status wmfi_buf_write_file(wmfi_buf *b, const char *path, const char *fn) {
  wmf_status st = b->failed ? wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory writing '%s'", fn, path)
                            : wmfi_write_file_atomic(path, b->data ? b->data : "", b->len);
  wmfi_buf_free(b);
  return st;
}
