#include "json_out.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int json_out_print(json_t *value) { return json_out_fprint(value, stdout); }

int json_out_fprint(json_t *value, FILE *f) {
  int rc = value && json_dumpf(value, f, JSON_OUT_FLAGS) == 0 && fputc('\n', f) != EOF && fflush(f) == 0
               ? EXIT_OK
               : EXIT_RUNTIME;
  json_decref(value);
  if (rc) fprintf(stderr, "error: cannot print the JSON output%s\n", value ? "" : " (out of memory)");
  return rc;
}

int json_out_write(json_t *value, const char *path) {
  out_file of;
  bool ok = value && out_file_open(&of, path) == 0;
  if (ok) {
    bool written = json_dumpf(value, of.f, JSON_OUT_FLAGS) == 0 && fputc('\n', of.f) != EOF;
    ok = out_file_commit(&of, written) == 0;
  }
  json_decref(value);
  if (!ok) {
    fprintf(stderr, "error: cannot write '%s': %s\n", path, value ? strerror(errno) : "out of memory");
    return EXIT_RUNTIME;
  }
  return EXIT_OK;
}

json_t *json_out_number(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *json_out_string(const char *s) {
  if (!s) return json_null();
  json_t *j = json_string(s);
  if (j) return j;
  /* not valid UTF-8: replace each byte that does not start a valid sequence */
  size_t n = strlen(s);
  char *fixed = malloc(3 * n + 1), *o = fixed;
  if (!fixed) return NULL;
  for (size_t i = 0; i < n;) {
    size_t len = 1;
    unsigned char c = (unsigned char)s[i];
    if (c >= 0xc2 && c <= 0xf4) len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    json_t *valid = len > 1 && i + len <= n ? json_stringn(s + i, len) : NULL; /* jansson checks the sequence */
    if (valid) {
      json_decref(valid);
      memcpy(o, s + i, len), o += len, i += len;
    } else if (c < 0x80) {
      *o++ = (char)c, i++;
    } else {
      memcpy(o, "\xef\xbf\xbd", 3), o += 3, i++;
    }
  }
  *o = '\0';
  j = json_string(fixed);
  free(fixed);
  return j;
}
