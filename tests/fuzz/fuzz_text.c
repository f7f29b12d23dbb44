/* libFuzzer target: the text path (UTF-8 validation, font choice and fallback, HarfBuzz shaping, glyph
 * rendering, placement, rotation, outline, tiles, compositing) on arbitrary bytes. Byte 0 chooses the
 * options, byte 1 the size, the rest is the text (or the character pool). Every call must return a
 * status; WMF_ERR_UTF8 exactly when the bytes are not UTF-8 (checked by an independent decoder). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wmfeat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
/* fontconfig 2.14 leaks a few bytes while parsing its configuration, once per process */
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

static bool valid_utf8(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 9;
    if (k == 9 || i + k >= n) return false;
    uint32_t cp = k == 0 ? c : k == 1 ? c & 0x1f : k == 2 ? c & 0x0f : c & 0x07;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += k + 1;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static wmf_font *font;
  if (!font && wmf_font_find(&font, "Liberation Sans") != WMF_OK) abort();
  if (size < 2) return 0;
  uint8_t flags = data[0];
  float px = 4 + data[1] % 64;
  size_t n = size - 2 > 200 ? 200 : size - 2;
  char text[201];
  memcpy(text, data + 2, n);
  text[n] = 0;
  n = strlen(text); /* the API takes NUL-terminated text */
  wmf_watermark *wm;
  if (wmf_watermark_create(&wm) != WMF_OK) abort();
  wmf_watermark_set_font(wm, font);
  wmf_watermark_set_size(wm, px);
  wmf_watermark_set_fallback(wm, (flags & 1) && n < 16);
  wmf_status st = (flags & 2) ? wmf_watermark_set_pool(wm, text, 1 + flags % 9) : wmf_watermark_set_text(wm, text);
  bool ok8 = valid_utf8((const uint8_t *)text, n);
  if ((st == WMF_ERR_UTF8) == ok8) abort();
  if (flags & 4) wmf_watermark_set_rotation(wm, (float)(data[1] * 7));
  if (flags & 8) wmf_watermark_set_outline(wm, 1.5f, 0, 0, 0);
  if (flags & 16) wmf_watermark_set_shadow(wm, 2, -3, 0, 0, 0, 0.5f);
  if ((flags & 96) == 32) wmf_watermark_set_random_position(wm);
  else if ((flags & 96) == 64) wmf_watermark_set_tiled(wm, 25, 0.2f, 0.2f);
  else wmf_watermark_set_position(wm, 0.1, 0.5, (flags & 128) ? "mm" : "la");
  wmf_image *im;
  if (wmf_image_create(&im, 48, 40, 10, 20, 30) != WMF_OK) abort();
  st = wmf_watermark_apply(wm, im, size);
  if (st != WMF_OK && st != WMF_ERR_FONT && st != WMF_ERR_STATE) abort();
  uint8_t mask[48 * 40];
  wmf_status st2 = wmf_watermark_coverage(wm, 48, 40, size, mask, sizeof mask);
  if (st2 != st) abort(); /* the same recipe and seed succeed or fail alike */
  wmf_image_destroy(im);
  wmf_watermark_destroy(wm);
  return 0;
}
