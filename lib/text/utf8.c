/* Strict UTF-8 decoding: the text path's only entry for caller strings. */
#include "text/text.h"

wmf_status wmfi_utf8_decode(const char *fn, const char *s, uint32_t **out, size_t *count) {
  *out = NULL;
  *count = 0;
  const uint8_t *p = (const uint8_t *)s;
  size_t len = 0;
  while (p[len]) len++;
  uint32_t *cps = wmfi_alloc_array(len + 1, sizeof *cps);
  if (!cps) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t c = p[i], cp, min;
    size_t k;
    if (c < 0x80) { cp = c; k = 0; min = 0; }
    else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; k = 1; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; k = 2; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; k = 3; min = 0x10000; }
    else {
      wmfi_free(cps);
      return wmfi_fail(WMF_ERR_UTF8, "%s: invalid UTF-8 lead byte 0x%02x at byte %zu", fn, c, i);
    }
    for (size_t j = 1; j <= k; j++) {
      if (i + j >= len || (p[i + j] & 0xc0) != 0x80) {
        wmfi_free(cps);
        return wmfi_fail(WMF_ERR_UTF8, "%s: truncated UTF-8 sequence at byte %zu", fn, i);
      }
      cp = cp << 6 | (p[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      wmfi_free(cps);
      return wmfi_fail(WMF_ERR_UTF8, "%s: overlong, surrogate or out-of-range UTF-8 at byte %zu", fn, i);
    }
    cps[n++] = cp;
    i += k + 1;
  }
  *out = cps;
  *count = n;
  return WMF_OK;
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
