/* wmf_watermark_recipe: every parameter of a recipe as one canonical line of text, recorded in an
 * audit's provenance so that runs with different marks are never mixed. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "watermark/watermark_internal.h"

typedef struct sbuf {
  char *p;
  size_t len, cap;
  bool failed;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) WMFI_PRINTF(2, 3);
static void put(sbuf *b, const char *fmt, ...) {
  if (b->failed) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if (b->len + (size_t)n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *q = wmfi_realloc(b->p, cap);
    if (!q) {
      b->failed = true;
      return;
    }
    b->p = q, b->cap = cap;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

/* Code points as a quoted UTF-8 string ('"' and '\' escaped). */
static void put_text(sbuf *b, const uint32_t *cps, size_t n) {
  put(b, "\"");
  for (size_t i = 0; i < n; i++) {
    char u[8] = {0};
    size_t l = wmfi_utf8_encode(cps[i], u);
    u[l] = 0;
    put(b, "%s%s", (cps[i] == '"' || cps[i] == '\\') ? "\\" : "", u);
  }
  put(b, "\"");
}

static void put_rgb(sbuf *b, const char *key, const uint8_t c[3]) { put(b, " %s=%02x%02x%02x", key, c[0], c[1], c[2]); }

wmf_status wmf_watermark_recipe(char *out, size_t capacity, size_t *out_length, const wmf_watermark *wm) {
  WMFI_REQUIRE(wm && (out || capacity == 0), "wmf_watermark_recipe: NULL argument");
  sbuf b = {0};
  if (wm->text) put(&b, "text="), put_text(&b, wm->text, wm->ntext);
  else if (wm->pool) put(&b, "pool="), put_text(&b, wm->pool, wm->npool), put(&b, " draw=%" PRIu32, wm->draw_count);
  else put(&b, "text=none");
  if (wm->font) {
    const char *fam = wmf_font_family(wm->font), *sty = wmf_font_style(wm->font);
    put(&b, " font=\"%s:%s#%d\"", fam ? fam : "", sty ? sty : "", wmf_font_face_index(wm->font));
  } else {
    put(&b, " font=none");
  }
  put(&b, " fallback=%d language=%s script=%08" PRIx32 " direction=%d", wm->fallback ? 1 : 0,
      wm->language[0] ? wm->language : "default", wm->script, wm->direction);
  if (wm->size_inw) put(&b, " size=imagenet-w");
  else if (wm->size_rel > 0) put(&b, " size=%.9g*W", (double)wm->size_rel);
  else put(&b, " size=%.9gpx", (double)wm->size_px);
  put(&b, " reference_size=%" PRIu32 " jpeg=%d metrics=%.9g,%.9g dotted_circle=%d", wm->ref_size, wm->jpeg_quality,
      (double)wm->ascender_em, (double)wm->descender_em, wm->no_dotted_circle ? 0 : 1);
  put_rgb(&b, "color", wm->color);
  put(&b, " opacity=%.9g placement=%d position=%.17g,%.17g anchor=%s", (double)wm->opacity, wm->placement, wm->fx,
      wm->fy, wm->anchor);
  put(&b, " tile=%.9g,%.9g,%.9g rotation=%.9g letter_spacing=%.9g line_spacing=%.9g", (double)wm->tile_angle,
      (double)wm->gap_x, (double)wm->gap_y, (double)wm->rotation, (double)wm->letter_spacing,
      (double)wm->line_spacing);
  put(&b, " outline=%.9g", (double)wm->outline);
  put_rgb(&b, "outline_color", wm->outline_color);
  put(&b, " shadow=%d,%d", wm->shadow_dx, wm->shadow_dy);
  put_rgb(&b, "shadow_color", wm->shadow_color);
  put(&b, " shadow_opacity=%.9g logos=%zu", (double)wm->shadow_opacity, wm->nlogos);
  for (size_t i = 0; i < wm->nlogos; i++) {
    const wmfi_logo *l = &wm->logos[i];
    wmfi_hash h;
    wmfi_hash_init(&h);
    wmfi_hash_update(&h, l->rgba, (size_t)l->w * l->h * 4);
    if (l->native)
      put(&b, " logo%zu=%" PRIu32 "x%" PRIu32 ":%016" PRIx64 ",native,opacity=%.17g,at=%" PRId32 ",%" PRId32, i, l->w,
          l->h, wmfi_hash_final(&h), l->opacity_d, l->px, l->py);
    else
      put(&b, " logo%zu=%" PRIu32 "x%" PRIu32 ":%016" PRIx64 ",scale=%.9g,opacity=%.9g,at=%.17g,%.17g", i, l->w, l->h,
          wmfi_hash_final(&h), (double)l->scale, (double)l->opacity, l->fx, l->fy);
  }
  if (b.failed) {
    wmfi_free(b.p);
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_watermark_recipe: out of memory");
  }
  if (out_length) *out_length = b.len;
  wmf_status st = WMF_OK;
  if (b.len + 1 > capacity)
    st = wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_watermark_recipe: %zu bytes needed, capacity %zu", b.len + 1,
                   capacity);
  else memcpy(out, b.p, b.len + 1);
  wmfi_free(b.p);
  return st;
}
