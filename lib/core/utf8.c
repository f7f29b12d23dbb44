/* Strict UTF-8 (RFC 3629), the library's only decoder: every string that enters from a caller or a file
 * and is kept as text goes through it. Refused: bytes that cannot start a sequence (0x80..0xC1,
 * 0xF5..0xFF), truncated sequences, overlong forms, surrogates (U+D800..U+DFFF) and values above
 * U+10FFFF. */
#include <string.h>

#include "core.h"

size_t wmfi_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, const char **reason) {
  static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
  uint32_t c = s[0], v;
  size_t k;
  if (c < 0x80) { *cp = c; return 1; }
  if ((c & 0xe0) == 0xc0) { v = c & 0x1f; k = 1; }
  else if ((c & 0xf0) == 0xe0) { v = c & 0x0f; k = 2; }
  else if ((c & 0xf8) == 0xf0) { v = c & 0x07; k = 3; }
  else {
    *reason = (c & 0xc0) == 0x80 ? "a continuation byte without a lead byte" : "a byte that never occurs in UTF-8";
    return 0;
  }
  for (size_t j = 1; j <= k; j++) {
    if (j >= n || (s[j] & 0xc0) != 0x80) {
      *reason = "a truncated sequence";
      return 0;
    }
    v = v << 6 | (s[j] & 0x3f);
  }
  if (v < min[k]) *reason = "an overlong form";
  else if (v >= 0xd800 && v <= 0xdfff) *reason = "a surrogate (U+D800..U+DFFF)";
  else if (v > 0x10ffff) *reason = "a code point above U+10FFFF";
  else {
    *cp = v;
    return k + 1;
  }
  return 0;
}

bool wmfi_utf8_check(const char *s, size_t n, size_t *bad_offset, const char **reason) {
  const uint8_t *p = (const uint8_t *)s;
  uint32_t cp;
  for (size_t i = 0; i < n;) {
    size_t k = wmfi_utf8_next(p + i, n - i, &cp, reason);
    if (!k) {
      *bad_offset = i;
      return false;
    }
    i += k;
  }
  return true;
}

wmf_status wmfi_utf8_require(const char *fn, const char *what, const char *s) {
  size_t at;
  const char *why;
  if (wmfi_utf8_check(s, strlen(s), &at, &why)) return WMF_OK;
  return wmfi_fail(WMF_ERR_UTF8, "%s: %s is not valid UTF-8 (%s at byte %zu)", fn, what, why, at);
}

wmf_status wmfi_utf8_decode(const char *fn, const char *s, uint32_t **out, size_t *count) {
  *out = NULL;
  *count = 0;
  size_t len = strlen(s), n = 0;
  wmf_status st = WMF_OK;
  uint32_t *cps;
  WMFI_ALLOC(cps, wmfi_alloc_array(len + 1, sizeof *cps), fn);
  for (size_t i = 0, k; i < len; i += k, n++) {
    const char *why;
    k = wmfi_utf8_next((const uint8_t *)s + i, len - i, &cps[n], &why);
    WMFI_CHECK(k, WMF_ERR_UTF8, "%s: text is not valid UTF-8 (%s at byte %zu)", fn, why, i);
  }
  *out = cps, *count = n;
  cps = NULL;
done:
  wmfi_free(cps);
  return st;
}

size_t wmfi_utf8_encode(uint32_t cp, char *b) {
  if (cp < 0x80) { b[0] = (char)cp; return 1; }
  if (cp < 0x800) { b[0] = (char)(0xc0 | cp >> 6); b[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
  if (cp < 0x10000) {
    b[0] = (char)(0xe0 | cp >> 12); b[1] = (char)(0x80 | (cp >> 6 & 0x3f)); b[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  b[0] = (char)(0xf0 | cp >> 18); b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
  b[2] = (char)(0x80 | (cp >> 6 & 0x3f)); b[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}
