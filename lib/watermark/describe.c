/* wmf_watermark_recipe: every parameter of a recipe as one canonical line of text, recorded in an
 * audit's provenance so that runs with different marks are never mixed. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "watermark/watermark_internal.h"

/* Code points as a quoted UTF-8 string ('"' and '\' escaped). */
static void put_text(wmfi_buf *b, const uint32_t *cps, size_t n) {
  wmfi_buf_str(b, "\"");
  for (size_t i = 0; i < n; i++) {
    char u[8] = {0};
    size_t l = wmfi_utf8_encode(cps[i], u);
    u[l] = 0;
    wmfi_buf_printf(b, "%s%s", (cps[i] == '"' || cps[i] == '\\') ? "\\" : "", u);
  }
  wmfi_buf_str(b, "\"");
}

static void put_rgb(wmfi_buf *b, const char *key, const uint8_t c[3]) { wmfi_buf_printf(b, " %s=%02x%02x%02x", key, c[0], c[1], c[2]); }

wmf_status wmf_watermark_recipe(char *out, size_t capacity, size_t *out_length, const wmf_watermark *wm) {
  WMFI_REQUIRE(wm && (out || capacity == 0), "wmf_watermark_recipe: NULL argument");
  wmfi_buf b = {0};
  if (wm->text) wmfi_buf_printf(&b, "text="), put_text(&b, wm->text, wm->ntext);
  else if (wm->pool) wmfi_buf_printf(&b, "pool="), put_text(&b, wm->pool, wm->npool), wmfi_buf_printf(&b, " draw=%" PRIu32, wm->draw_count);
  else wmfi_buf_printf(&b, "text=none");
  if (wm->font) {
    const char *fam = wmf_font_family(wm->font), *sty = wmf_font_style(wm->font);
    wmfi_buf_printf(&b, " font=\"%s:%s#%d\"", fam ? fam : "", sty ? sty : "", wmf_font_face_index(wm->font));
  } else {
    wmfi_buf_printf(&b, " font=none");
  }
  wmfi_buf_printf(&b, " fallback=%d language=%s script=%08" PRIx32 " direction=%d", wm->fallback ? 1 : 0,
      wm->language[0] ? wm->language : "default", wm->script, wm->direction);
  if (wm->size_inw) wmfi_buf_printf(&b, " size=imagenet-w");
  else if (wm->size_rel > 0) wmfi_buf_printf(&b, " size=%.9g*W", (double)wm->size_rel);
  else wmfi_buf_printf(&b, " size=%.9gpx", (double)wm->size_px);
  wmfi_buf_printf(&b, " reference_size=%" PRIu32 " jpeg=%d metrics=%.9g,%.9g dotted_circle=%d", wm->ref_size, wm->jpeg_quality,
      (double)wm->ascender_em, (double)wm->descender_em, wm->no_dotted_circle ? 0 : 1);
  put_rgb(&b, "color", wm->color);
  wmfi_buf_printf(&b, " opacity=%.9g placement=%d position=%.17g,%.17g anchor=%s", (double)wm->opacity, wm->placement, wm->fx,
      wm->fy, wm->anchor);
  wmfi_buf_printf(&b, " tile=%.9g,%.9g,%.9g rotation=%.9g letter_spacing=%.9g line_spacing=%.9g", (double)wm->tile_angle,
      (double)wm->gap_x, (double)wm->gap_y, (double)wm->rotation, (double)wm->letter_spacing,
      (double)wm->line_spacing);
  wmfi_buf_printf(&b, " outline=%.9g", (double)wm->outline);
  put_rgb(&b, "outline_color", wm->outline_color);
  wmfi_buf_printf(&b, " shadow=%d,%d", wm->shadow_dx, wm->shadow_dy);
  put_rgb(&b, "shadow_color", wm->shadow_color);
  wmfi_buf_printf(&b, " shadow_opacity=%.9g logos=%zu", (double)wm->shadow_opacity, wm->nlogos);
  for (size_t i = 0; i < wm->nlogos; i++) {
    const wmfi_logo *l = &wm->logos[i];
    wmfi_hash h;
    wmfi_hash_init(&h);
    wmfi_hash_update(&h, l->rgba, (size_t)l->w * l->h * 4);
    if (l->native)
      wmfi_buf_printf(&b, " logo%zu=%" PRIu32 "x%" PRIu32 ":%016" PRIx64 ",native,opacity=%.17g,at=%" PRId32 ",%" PRId32, i, l->w,
          l->h, wmfi_hash_final(&h), l->opacity_d, l->px, l->py);
    else
      wmfi_buf_printf(&b, " logo%zu=%" PRIu32 "x%" PRIu32 ":%016" PRIx64 ",scale=%.9g,opacity=%.9g,at=%.17g,%.17g", i, l->w, l->h,
          wmfi_hash_final(&h), (double)l->scale, (double)l->opacity, l->fx, l->fy);
  }
  if (b.failed) {
    wmfi_buf_free(&b);
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "wmf_watermark_recipe: out of memory");
  }
  if (out_length) *out_length = b.len;
  wmf_status st = WMF_OK;
  if (b.len + 1 > capacity)
    st = wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_watermark_recipe: %zu bytes needed, capacity %zu", b.len + 1,
                   capacity);
  else memcpy(out, b.data, b.len + 1);
  wmfi_buf_free(&b);
  return st;
}
