/* Coverage rendering exactly as PIL 9.4's ImageDraw.text builds its mask (FreeTypeFont.getmask2 and
 * font_render): the mask's top-left is the anchor point plus the text box offset, truncated to whole
 * pixels; the point's fraction moves the pen origin (26.6) and every glyph lands at PIXEL()-rounded
 * positions; glyphs outside the mask are clipped as PIL clips them. */
#include <math.h>
#include <string.h>

#include "text/text.h"

bool wmfi_anchor_valid(const char *a) {
  return a && strlen(a) == 2 && strchr("lmr", a[0]) && strchr("atmsbd", a[1]);
}

wmf_status wmfi_anchor_offsets(const wmfi_layout *l, const char *a, int32_t *ax, int32_t *ay) {
  WMFI_REQUIRE(wmfi_anchor_valid(a), "text: bad anchor '%s' (want [lmr][atmsbd])", a ? a : "(null)");
  *ax = a[0] == 'l' ? 0 : a[0] == 'm' ? WMFI_PIXEL(l->advance / 2) : WMFI_PIXEL(l->advance);
  switch (a[1]) {
    case 'a': *ay = WMFI_PIXEL(l->ascender); break;
    case 't': *ay = l->y_max; break;
    case 'm': *ay = WMFI_PIXEL((l->ascender + l->descender) / 2); break;
    case 's': *ay = 0; break;
    case 'b': *ay = l->y_min; break;
    default: *ay = WMFI_PIXEL(l->descender); break;
  }
  return WMF_OK;
}

static void blit_max(wmfi_canvas *c, const wmfi_glyph *g, int32_t xx, int32_t yy) {
  int32_t x0 = xx < 0 ? -xx : 0, x1 = (int32_t)g->width;
  if (xx + x1 > c->w) x1 = c->w - xx;
  for (uint32_t r = 0; r < g->rows; r++, yy++) {
    if (yy < 0 || yy >= c->h) continue;
    const uint8_t *src = g->pixels + (size_t)r * g->width;
    uint8_t *dst = c->data + (size_t)yy * c->w + xx;
    for (int32_t k = x0; k < x1; k++)
      if (dst[k] < src[k]) dst[k] = src[k];
  }
}

wmf_status wmfi_render_layout(wmfi_canvas *out, const wmfi_layout *l, double x, double y, const char *anchor,
                              bool stroke) {
  memset(out, 0, sizeof *out);
  int32_t ax, ay;
  wmf_status st = wmfi_anchor_offsets(l, anchor, &ax, &ay);
  if (st != WMF_OK) return st;
  /* the outline's extent beyond the glyphs, as PIL adds stroke_width around its mask */
  int32_t s = 0;
  if (stroke)
    for (size_t i = 0; i < l->count; i++) {
      const wmfi_glyph *f = l->glyphs[i].fill, *g = l->glyphs[i].stroke;
      if (!g) continue;
      int32_t d = f->left - g->left;
      if (g->top - f->top > d) d = g->top - f->top;
      if (d > s) s = d;
    }
  double ipart;
  float fx = (float)modf(x, &ipart), fy = (float)modf(y, &ipart);
  int32_t off_x = l->x_min - ax - s, off_y = ay - l->y_max - s;
  out->x0 = (int32_t)(x + off_x);
  out->y0 = (int32_t)(y + off_y);
  out->w = l->x_max - l->x_min + 2 * s + (int32_t)ceilf(fx);
  out->h = l->y_max - l->y_min + 2 * s + (int32_t)ceilf(fy);
  if (out->w <= 0 || out->h <= 0 || l->count == 0) {
    out->w = out->h = 0;
    return WMF_OK;
  }
  if ((int64_t)out->w * out->h > WMFI_TEXT_MAX_AREA) {
    wmf_status e = wmfi_fail(WMF_ERR_LIMIT, "text: its mask would be %dx%d px, over %lld pixels (shorter text or a "
                             "smaller size)", out->w, out->h, (long long)WMFI_TEXT_MAX_AREA);
    out->w = out->h = 0;
    return e;
  }
  out->data = wmfi_calloc((size_t)out->w, (size_t)out->h);
  if (!out->data) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory for a %dx%d mask", out->w, out->h);
  int32_t pen_x = (int32_t)(((float)(-l->x_min + s) + fx) * 64.0f);
  int32_t pen_y = (int32_t)(((float)(-l->y_max - s) - fy) * 64.0f);
  for (size_t i = 0; i < l->count; i++) {
    const wmfi_placed_glyph *p = &l->glyphs[i];
    const wmfi_glyph *g = stroke ? p->stroke : p->fill;
    if (!g || !g->pixels) continue;
    int32_t px = WMFI_PIXEL(pen_x + p->x), py = WMFI_PIXEL(pen_y + p->y);
    blit_max(out, g, px + g->left, -(py + g->top));
  }
  return WMF_OK;
}

wmf_status wmfi_canvas_rotate(wmfi_canvas *out, const wmfi_canvas *in, double degrees, double cx, double cy) {
  memset(out, 0, sizeof *out);
  if (!in->data) return WMF_OK;
  double t = degrees * 3.14159265358979323846 / 180.0, c = cos(t), s = sin(t);
  double xs[4] = {in->x0, in->x0 + in->w, in->x0, in->x0 + in->w};
  double ys[4] = {in->y0, in->y0, in->y0 + in->h, in->y0 + in->h};
  double minx = 1e300, miny = 1e300, maxx = -1e300, maxy = -1e300;
  for (int i = 0; i < 4; i++) { /* counterclockwise on screen (y down) */
    double X = cx + (xs[i] - cx) * c + (ys[i] - cy) * s, Y = cy - (xs[i] - cx) * s + (ys[i] - cy) * c;
    minx = fmin(minx, X); maxx = fmax(maxx, X); miny = fmin(miny, Y); maxy = fmax(maxy, Y);
  }
  out->x0 = (int32_t)floor(minx) - 1;
  out->y0 = (int32_t)floor(miny) - 1;
  out->w = (int32_t)ceil(maxx) + 1 - out->x0;
  out->h = (int32_t)ceil(maxy) + 1 - out->y0;
  if ((int64_t)out->w * out->h > WMFI_TEXT_MAX_AREA) {
    wmf_status e = wmfi_fail(WMF_ERR_LIMIT, "text: the rotated mask would be %dx%d px, over %lld pixels", out->w,
                             out->h, (long long)WMFI_TEXT_MAX_AREA);
    out->w = out->h = 0;
    return e;
  }
  out->data = wmfi_calloc((size_t)out->w, (size_t)out->h);
  if (!out->data) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory rotating a mask");
  for (int32_t v = 0; v < out->h; v++)
    for (int32_t u = 0; u < out->w; u++) {
      double qx = out->x0 + u + 0.5 - cx, qy = out->y0 + v + 0.5 - cy;
      double sx = cx + qx * c - qy * s - in->x0 - 0.5, sy = cy + qx * s + qy * c - in->y0 - 0.5;
      double fx0 = floor(sx), fy0 = floor(sy);
      int32_t ix = (int32_t)fx0, iy = (int32_t)fy0;
      if (ix < -1 || iy < -1 || ix >= in->w || iy >= in->h) continue;
      double ax = sx - fx0, ay = sy - fy0, acc = 0;
      for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
          int32_t X = ix + dx, Y = iy + dy;
          if (X < 0 || Y < 0 || X >= in->w || Y >= in->h) continue;
          acc += (dx ? ax : 1 - ax) * (dy ? ay : 1 - ay) * in->data[(size_t)Y * in->w + X];
        }
      out->data[(size_t)v * out->w + u] = (uint8_t)(acc + 0.5);
    }
  return WMF_OK;
}

void wmfi_canvas_free(wmfi_canvas *c) {
  wmfi_free(c->data);
  memset(c, 0, sizeof *c);
}
