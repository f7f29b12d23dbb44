/* Applying a recipe: text drawn (seeded), laid out (cached for fixed text), placed, rendered to coverage,
 * rotated or tiled, then composited as PIL composites an RGBA text layer, and logos pasted. The same
 * code produces the coverage mask for analysis, writing alphas instead of blending colors. */
#include <math.h>
#include <string.h>

#include "image/image.h"
#include "watermark/watermark_internal.h"

/* splitmix64: small, fast, and the same on every platform */
static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
static uint32_t uniform(uint64_t *s, uint32_t n) { return (uint32_t)(((next_u64(s) >> 32) * n) >> 32); }

/* PIL's rounding division by 255 (DIV255 / SHIFTFORDIV255) */
static inline uint32_t div255(uint32_t v) {
  v += 128;
  return ((v >> 8) + v) >> 8;
}

/* Where the result goes: an image (blend colors) or a coverage mask (keep the largest alpha). */
typedef struct sink {
  uint8_t *rgb;  /* or NULL */
  uint8_t *mask; /* or NULL */
  int32_t w, h;
} sink;

/* The pixels of an image as a sink (through the image module's public accessors). */
static sink image_sink(wmf_image *image) {
  return (sink){wmf_image_pixels(image), NULL, (int32_t)wmf_image_width(image), (int32_t)wmf_image_height(image)};
}

/* Everything a draw needs, prepared before the image is touched, so a failure leaves it unchanged
 * without copying it. */
typedef struct plan {
  wmfi_canvas fill, stroke;
  float *logo[WMFI_MAX_LOGOS]; /* premultiplied RGBA, scaled */
  int32_t logo_w[WMFI_MAX_LOGOS], logo_h[WMFI_MAX_LOGOS], logo_x[WMFI_MAX_LOGOS], logo_y[WMFI_MAX_LOGOS];
} plan;

static void plan_free(plan *p) {
  wmfi_canvas_free(&p->fill);
  wmfi_canvas_free(&p->stroke);
  for (int i = 0; i < WMFI_MAX_LOGOS; i++) wmfi_free(p->logo[i]);
  memset(p, 0, sizeof *p);
}

/* Puts a layer pixel of color `col` and alpha `al` (> 0) at pixel `idx` of the sink: into a mask, the
 * largest alpha; into an image, Image.alpha_composite's integer arithmetic over the opaque pixel (7 bits
 * of precision, SHIFTFORDIV255 rounding; with the destination's alpha 255, coef1 = al * 128). */
static inline void put_pixel(const sink *s, size_t idx, uint32_t al, const uint32_t col[3]) {
  if (s->mask) {
    if (s->mask[idx] < al) s->mask[idx] = (uint8_t)al;
    return;
  }
  uint8_t *p = s->rgb + idx * 3;
  uint32_t coef1 = al * 128, coef2 = 255 * 128 - coef1;
  for (int k = 0; k < 3; k++) {
    uint32_t t = col[k] * coef1 + p[k] * coef2 + (0x80 << 7);
    p[k] = (uint8_t)((((t >> 8) + t) >> 8) >> 7);
  }
}

/* The value of canvas `c` (shifted by dx, dy) at image point (x, y): 0 outside it. */
static inline uint32_t canvas_at(const wmfi_canvas *c, int32_t x, int32_t y) {
  int32_t u = x - c->x0, v = y - c->y0;
  if (!c->data || u < 0 || v < 0 || u >= c->w || v >= c->h) return 0;
  return c->data[(size_t)v * c->w + u];
}

/* Widens [*x0, *x1) x [*y0, *y1) to hold canvas `c` moved by (dx, dy). */
static void grow_box(const wmfi_canvas *c, int32_t dx, int32_t dy, int32_t *x0, int32_t *y0, int32_t *x1,
                     int32_t *y1) {
  if (!c->data) return;
  if (c->x0 + dx < *x0) *x0 = c->x0 + dx;
  if (c->y0 + dy < *y0) *y0 = c->y0 + dy;
  if (c->x0 + dx + c->w > *x1) *x1 = c->x0 + dx + c->w;
  if (c->y0 + dy + c->h > *y1) *y1 = c->y0 + dy + c->h;
}

/* One text layer as PIL 9.4 draws it and composites it: draw.text(xy, text, fill=col + (a,),
 * stroke_width=..., stroke_fill=under_col + (a,)) on a (255,255,255,0) RGBA layer, then
 * Image.alpha_composite over the opaque image. PIL's fill_mask_L draws the stroke coverage `under`
 * (may be empty), then the fill coverage `over` on top; for each channel it BLENDs with the coverage m,
 * except that a color channel over a pixel of alpha 0 takes the ink whole wherever m > 0. So a pixel
 * keeps the ink color at any coverage (red at coverage 92 is (255, 0, 0, 92)), the alpha is
 * BLEND(m, alpha, a), and where the fill covers the stroke the color is BLEND(m, stroke color, color);
 * then alpha_composite (put_pixel). Both canvases are moved by (dx, dy). */
static void composite(const sink *s, const wmfi_canvas *under, const uint8_t under_col[3], const wmfi_canvas *over,
                      const uint8_t col[3], int32_t dx, int32_t dy, uint32_t a) {
  if ((!under->data && !over->data) || a == 0) return;
  int32_t x0 = INT32_MAX, y0 = INT32_MAX, x1 = INT32_MIN, y1 = INT32_MIN;
  grow_box(under, dx, dy, &x0, &y0, &x1, &y1);
  grow_box(over, dx, dy, &x0, &y0, &x1, &y1);
  if (x0 < 0) x0 = 0;
  if (y0 < 0) y0 = 0;
  if (x1 > s->w) x1 = s->w;
  if (y1 > s->h) y1 = s->h;
  for (int32_t y = y0; y < y1; y++)
    for (int32_t x = x0; x < x1; x++) {
      uint32_t ms = canvas_at(under, x - dx, y - dy), mf = canvas_at(over, x - dx, y - dy);
      uint32_t la = 0, lc[3] = {255, 255, 255};
      if (ms) { /* on the transparent layer: the stroke's color whole, alpha BLEND(ms, 0, a) */
        la = div255(ms * a);
        for (int k = 0; k < 3; k++) lc[k] = under_col[k];
      }
      if (mf) {
        for (int k = 0; k < 3; k++) lc[k] = la ? div255(lc[k] * (255 - mf) + col[k] * mf) : col[k];
        la = div255(la * (255 - mf) + a * mf);
      }
      if (la) put_pixel(s, (size_t)y * s->w + x, la, lc);
    }
}

/* Pixel size for an image of w x h: fixed, relative to the reference size (or the image's shorter
 * side), or ImageNet-W's table (AddWatermark.__init__: {224: 36, 384: 62, 512: 82, 518: 84}, else
 * int(image_size / 6.22)). */
static uint32_t size_for(const wmf_watermark *wm, uint32_t w, uint32_t h) {
  uint32_t ref = wm->ref_size ? wm->ref_size : (w < h ? w : h);
  double px;
  if (wm->size_inw) {
    switch (ref) {
      case 224: px = 36; break;
      case 384: px = 62; break;
      case 512: px = 82; break;
      case 518: px = 84; break;
      default: px = floor((double)ref / 6.22); break;
    }
  } else px = wm->size_rel > 0 ? round((double)wm->size_rel * ref) : round(wm->size_px);
  return px < 1 ? 1 : px > 4096 ? 4096 : (uint32_t)px;
}

/* The drawing alpha of an opacity: round(255 * opacity) with halves to even, as Python's round()
 * (ImageNet-W: round(0.5 * 255) = 128). */
static uint32_t alpha_of(float opacity) {
  /* spelled out: nearbyint() follows the thread's rounding mode, which worker threads may change */
  double v = (double)opacity * 255.0, f = floor(v), d = v - f;
  return (uint32_t)(d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0) ? f + 1 : f);
}

static wmf_status check_ready(const wmf_watermark *wm, const char *fn) {
  if (!wm->text && !wm->pool && !wm->nlogos)
    return wmfi_fail(WMF_ERR_STATE, "%s: the recipe has no text, character pool or logo", fn);
  if ((wm->text || wm->pool) && !wm->font) return wmfi_fail(WMF_ERR_STATE, "%s: the recipe has text but no font", fn);
  return WMF_OK;
}

static wmfi_text_style style_for(const wmf_watermark *wm, uint32_t px) {
  wmfi_text_style st = {px, (int32_t)lround(wm->letter_spacing * 64.0), (int32_t)lround(wm->line_spacing),
                        (int32_t)lround(wm->outline * 64.0), wm->fallback,
                        wm->language[0] ? wm->language : NULL, wm->script, wm->direction, wm->no_dotted_circle};
  return st;
}

/* Lays out text and applies the recipe's metric override (wmf_watermark_set_font_metrics): the ascender
 * and descender as FreeType sizes them for a scalable font (ceil and floor to whole pixels, 26.6). */
static wmf_status layout(const wmf_watermark *wm, wmfi_layout *out, const uint32_t *cps, size_t n,
                         const wmfi_text_style *st) {
  wmf_status s = wmfi_layout_text(out, wm->font, cps, n, st);
  if (s == WMF_OK && wm->ascender_em != 0) {
    out->ascender = (int32_t)ceil((double)wm->ascender_em * st->size_px) * 64;
    out->descender = (int32_t)floor((double)wm->descender_em * st->size_px) * 64;
  }
  return s;
}

/* The layout to draw: the cached one for fixed text (shared, read-only), or a fresh one in *own. */
static wmf_status get_layout(const wmf_watermark *cwm, uint32_t px, const uint32_t *drawn, size_t ndrawn,
                             wmfi_layout *own, const wmfi_layout **out) {
  wmf_watermark *wm = (wmf_watermark *)cwm; /* the cache is the only state apply changes, under its lock */
  wmfi_text_style st = style_for(wm, px);
  if (drawn) {
    *out = own;
    return layout(wm, own, drawn, ndrawn, &st);
  }
  pthread_mutex_lock(&wm->cache_lock);
  for (size_t i = 0; i < wm->ncache; i++)
    if (wm->cache[i].px == px) {
      *out = &wm->cache[i].layout;
      pthread_mutex_unlock(&wm->cache_lock);
      return WMF_OK;
    }
  wmf_status s;
  if (wm->ncache < WMFI_LAYOUT_CACHE) {
    s = layout(wm, &wm->cache[wm->ncache].layout, wm->text, wm->ntext, &st);
    if (s == WMF_OK) {
      wm->cache[wm->ncache].px = px;
      *out = &wm->cache[wm->ncache++].layout;
    }
  } else {
    s = layout(wm, own, wm->text, wm->ntext, &st);
    *out = own;
  }
  pthread_mutex_unlock(&wm->cache_lock);
  return s;
}

/* Stamps `tile` (placed around image point 0,0) over a full-image canvas on the tiling grid. */
static wmf_status tile_canvas(wmfi_canvas *full, const wmfi_canvas *tile, int32_t W, int32_t H, double step_x,
                              double step_y, double phase_x, double phase_y) {
  memset(full, 0, sizeof *full);
  full->w = W;
  full->h = H;
  full->data = wmfi_calloc((size_t)W, (size_t)H);
  if (!full->data) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "watermark: out of memory");
  if (!tile->data) return WMF_OK;
  long rows = (long)ceil((H + tile->h) / step_y) + 2, cols = (long)ceil((W + tile->w) / step_x) + 2;
  for (long r = -1; r < rows; r++)
    for (long k = -1; k < cols; k++) {
      double cx = phase_x + k * step_x + ((r & 1) ? step_x / 2 : 0), cy = phase_y + r * step_y;
      int32_t ox = (int32_t)lround(cx) + tile->x0, oy = (int32_t)lround(cy) + tile->y0;
      for (int32_t v = 0; v < tile->h; v++) {
        int32_t y = oy + v;
        if (y < 0 || y >= H) continue;
        const uint8_t *src = tile->data + (size_t)v * tile->w;
        uint8_t *dst = full->data + (size_t)y * W;
        for (int32_t u = 0; u < tile->w; u++) {
          int32_t x = ox + u;
          if (x >= 0 && x < W && dst[x] < src[u]) dst[x] = src[u];
        }
      }
    }
  return WMF_OK;
}

/* Rotates canvas *c by `degrees` around (cx, cy), in place (on failure *c holds what was made, freed with
 * the plan). */
static wmf_status rotate_in_place(wmfi_canvas *c, double degrees, double cx, double cy) {
  wmfi_canvas out = {0};
  wmf_status st = wmfi_canvas_rotate(&out, c, degrees, cx, cy);
  wmfi_canvas_free(c);
  *c = out;
  return st;
}

/* Replaces the tile *c by a W x H canvas of it stamped on the grid (tile_canvas), as rotate_in_place. */
static wmf_status tile_in_place(wmfi_canvas *c, int32_t W, int32_t H, double step_x, double step_y, double phase_x,
                                double phase_y) {
  wmfi_canvas out = {0};
  wmf_status st = tile_canvas(&out, c, W, H, step_x, step_y, phase_x, phase_y);
  wmfi_canvas_free(c);
  *c = out;
  return st;
}

/* An explicit draw (wmf_watermark_apply_draw): this text (or the recipe's fixed text when cps is NULL)
 * with the anchor at (x, y), instead of the seeded draw. */
typedef struct forced {
  const uint32_t *cps;
  size_t n;
  double x, y;
} forced;

/* Draws the text part. Fills `text_out`, `x_out`, `y_out` when asked (describe_draw). */
static wmf_status draw_text(const wmf_watermark *wm, const sink *s, uint64_t *rng, const forced *force, bool describe,
                            char *text_out, size_t text_cap, float *size_out, double *x_out, double *y_out,
                            plan *pl) {
  uint32_t px = size_for(wm, (uint32_t)s->w, (uint32_t)s->h);
  uint32_t drawn[WMFI_MAX_DRAWN];
  size_t ndrawn = 0;
  if (force && force->cps) {
    if (force->n > WMFI_MAX_DRAWN)
      return wmfi_fail(WMF_ERR_LIMIT, "wmf_watermark_apply_draw: %zu characters, at most %d", force->n, WMFI_MAX_DRAWN);
    ndrawn = force->n;
    memcpy(drawn, force->cps, ndrawn * sizeof *drawn);
  } else if (!force && wm->pool) {
    ndrawn = wm->draw_count;
    for (size_t i = 0; i < ndrawn; i++) drawn[i] = wm->pool[uniform(rng, (uint32_t)wm->npool)];
  }
  bool own_text = (force && force->cps) || (!force && wm->pool);
  const uint32_t *cps = own_text ? drawn : wm->text;
  size_t ncps = own_text ? ndrawn : wm->ntext;
  if (!cps) return wmfi_fail(WMF_ERR_STATE, "wmf_watermark_apply_draw: no text given and the recipe has no fixed text");
  if (text_out) {
    size_t used = 0;
    for (size_t i = 0; i < ncps; i++) {
      char b[4];
      size_t k = wmfi_utf8_encode(cps[i], b);
      if (used + k + 1 > text_cap)
        return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_watermark_describe_draw: text needs more than %zu bytes", text_cap);
      memcpy(text_out + used, b, k);
      used += k;
    }
    if (used + 1 > text_cap)
      return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_watermark_describe_draw: text needs more than %zu bytes", text_cap);
    text_out[used] = 0;
  }
  wmf_status st = WMF_OK;
  wmfi_layout own = {0};
  const wmfi_layout *l;
  WMFI_TRY(get_layout(wm, px, own_text ? drawn : NULL, ndrawn, &own, &l));
  double x = 0, y = 0;
  const char *anchor = wm->anchor;
  if (force) {
    x = force->x;
    y = force->y;
    if (wm->placement == WMF_PLACE_TILED) anchor = "mm";
  } else if (wm->placement == WMF_PLACE_FIXED) {
    x = wm->fx * s->w;
    y = wm->fy * s->h;
  } else if (wm->placement == WMF_PLACE_RANDOM) {
    /* Mark My Words: (w, h) = font.getsize(msg); x = randint(0, W - w), y = randint(h, H - h) */
    int32_t w, h;
    wmfi_layout_getsize(l, &w, &h);
    x = s->w > w ? (double)uniform(rng, (uint32_t)(s->w - w)) : 0.0;
    y = s->h - h > h ? (double)h + uniform(rng, (uint32_t)(s->h - 2 * h)) : (double)h;
  } else {
    anchor = "mm";
  }
  if (size_out) *size_out = (float)px;
  if (x_out) *x_out = x;
  if (y_out) *y_out = y;
  if (describe) goto done; /* nothing is drawn */
  WMFI_TRY(wmfi_render_layout(&pl->fill, l, x, y, anchor, false));
  if (wm->outline > 0) WMFI_TRY(wmfi_render_layout(&pl->stroke, l, x, y, anchor, true));
  double angle = wm->placement == WMF_PLACE_TILED ? wm->tile_angle : wm->rotation;
  if (angle != 0) {
    WMFI_TRY(rotate_in_place(&pl->fill, angle, x, y));
    if (pl->stroke.data) WMFI_TRY(rotate_in_place(&pl->stroke, angle, x, y));
  }
  if (wm->placement == WMF_PLACE_TILED && pl->fill.data) {
    double step_x = pl->fill.w * (1.0 + wm->gap_x), step_y = pl->fill.h * (1.0 + wm->gap_y);
    double phase_x = uniform(rng, (uint32_t)step_x + 1), phase_y = uniform(rng, (uint32_t)step_y + 1);
    WMFI_TRY(tile_in_place(&pl->fill, s->w, s->h, step_x, step_y, phase_x, phase_y));
    if (pl->stroke.data) WMFI_TRY(tile_in_place(&pl->stroke, s->w, s->h, step_x, step_y, phase_x, phase_y));
  }
done:
  wmfi_layout_free(&own);
  if (st != WMF_OK) plan_free(pl);
  return st;
}

static void paint_text(const wmf_watermark *wm, const plan *pl, const sink *s) {
  uint32_t a = alpha_of(wm->opacity);
  /* the shadow: the text as drawn (with its outline) in the shadow's color, on a layer of its own
   * composited first */
  if (wm->shadow_opacity > 0)
    composite(s, &pl->stroke, wm->shadow_color, &pl->fill, wm->shadow_color, wm->shadow_dx, wm->shadow_dy,
              alpha_of(wm->shadow_opacity));
  composite(s, &pl->stroke, wm->outline_color, &pl->fill, wm->color, 0, 0, a);
}

/* Resamples premultiplied RGBA (floats) along one axis with a triangle filter widened when shrinking
 * (antialiased, as PIL's bilinear resize). */
static void resample_axis(const float *src, int n_in, int n_out, int count, size_t in_step, size_t in_stride,
                          size_t out_step, size_t out_stride, float *dst) {
  double scale = (double)n_in / n_out, support = scale > 1 ? scale : 1;
  for (int o = 0; o < n_out; o++) {
    double center = (o + 0.5) * scale;
    int lo = (int)floor(center - support), hi = (int)ceil(center + support);
    for (int c = 0; c < count; c++) {
      double acc[4] = {0}, wsum = 0;
      for (int i = lo < 0 ? 0 : lo; i < (hi > n_in ? n_in : hi); i++) {
        double w = 1 - fabs((i + 0.5 - center) / support);
        if (w <= 0) continue;
        const float *p = src + (size_t)c * in_stride + (size_t)i * in_step;
        for (int k = 0; k < 4; k++) acc[k] += w * p[k];
        wsum += w;
      }
      float *q = dst + (size_t)c * out_stride + (size_t)o * out_step;
      for (int k = 0; k < 4; k++) q[k] = wsum > 0 ? (float)(acc[k] / wsum) : 0;
    }
  }
}

static wmf_status scale_logo(const wmfi_logo *lg, const sink *s, plan *pl, size_t k) {
  if (lg->native) return WMF_OK; /* pasted as it is (paste_native) */
  int tw = (int)lround(lg->scale * s->w);
  if (tw < 1) tw = 1;
  int th = (int)lround((double)lg->h * tw / lg->w);
  if (th < 1) th = 1;
  if (tw > WMFI_MAX_SCALED_LOGO_SIDE || th > WMFI_MAX_SCALED_LOGO_SIDE)
    return wmfi_fail(WMF_ERR_LIMIT, "watermark: logo scaled to %dx%d is too large", tw, th);
  wmf_status st = WMF_OK;
  float *pre = wmfi_alloc_array((size_t)lg->w * lg->h, 4 * sizeof(float));
  float *mid = wmfi_alloc_array((size_t)tw * lg->h, 4 * sizeof(float));
  float *fin = wmfi_alloc_array((size_t)tw * th, 4 * sizeof(float));
  WMFI_CHECK(pre && mid && fin, WMF_ERR_OUT_OF_MEMORY, "watermark: out of memory scaling a logo");
  for (size_t i = 0; i < (size_t)lg->w * lg->h; i++) {
    float a = lg->rgba[i * 4 + 3] / 255.0f;
    for (int c = 0; c < 3; c++) pre[i * 4 + c] = lg->rgba[i * 4 + c] * a;
    pre[i * 4 + 3] = a;
  }
  resample_axis(pre, (int)lg->w, tw, (int)lg->h, 4, (size_t)lg->w * 4, 4, (size_t)tw * 4, mid);
  resample_axis(mid, (int)lg->h, th, tw, (size_t)tw * 4, 4, (size_t)tw * 4, 4, fin);
  pl->logo[k] = fin;
  fin = NULL;
  pl->logo_w[k] = tw;
  pl->logo_h[k] = th;
  pl->logo_x[k] = (int32_t)floor(lg->fx * s->w);
  pl->logo_y[k] = (int32_t)floor(lg->fy * s->h);
done:
  wmfi_free(pre);
  wmfi_free(mid);
  wmfi_free(fin);
  return st;
}

/* CH_datasets' PastePoisoner._paste: img.convert("RGBA").paste(artifact, position, artifact) then
 * convert("RGB"): PIL's paste_mask_RGBA, every channel BLEND(a, out, in) = DIV255(out * (255 - a) +
 * in * a), with a the artifact's alpha already multiplied by the opacity; clipped to the image. */
static void paste_native(const wmfi_logo *lg, const sink *s) {
  for (uint32_t v = 0; v < lg->h; v++) {
    int64_t y = (int64_t)lg->py + v;
    if (y < 0 || y >= s->h) continue;
    for (uint32_t u = 0; u < lg->w; u++) {
      int64_t x = (int64_t)lg->px + u;
      if (x < 0 || x >= s->w) continue;
      const uint8_t *p = lg->rgba + ((size_t)v * lg->w + u) * 4;
      uint32_t a = p[3];
      size_t idx = (size_t)y * (size_t)s->w + (size_t)x;
      if (s->mask) {
        if (s->mask[idx] < a) s->mask[idx] = (uint8_t)a;
        continue;
      }
      uint8_t *q = s->rgb + idx * 3;
      for (int c = 0; c < 3; c++) q[c] = (uint8_t)div255(q[c] * (255 - a) + p[c] * a);
    }
  }
}

/* Pastes a scaled logo: its alpha times the opacity, alpha_composite arithmetic as for text. */
static void paste_logo(const wmfi_logo *lg, const plan *pl, size_t k, const sink *s) {
  if (lg->native) {
    paste_native(lg, s);
    return;
  }
  int tw = pl->logo_w[k], th = pl->logo_h[k];
  uint32_t op = (uint32_t)lroundf(lg->opacity * 255.0f);
  for (int v = 0; v < th; v++) {
    int32_t y = pl->logo_y[k] + v;
    if (y < 0 || y >= s->h) continue;
    for (int u = 0; u < tw; u++) {
      int32_t x = pl->logo_x[k] + u;
      if (x < 0 || x >= s->w) continue;
      const float *p = pl->logo[k] + ((size_t)v * tw + u) * 4;
      uint32_t al = div255((uint32_t)lroundf(p[3] * 255.0f) * op);
      if (!al) continue;
      uint32_t col[3];
      for (int c = 0; c < 3; c++) {
        float f = p[3] > 0 ? p[c] / p[3] : 0;
        col[c] = f <= 0 ? 0 : f >= 255 ? 255 : (uint32_t)lroundf(f);
      }
      put_pixel(s, (size_t)y * s->w + x, al, col);
    }
  }
}

/* Prepares everything (the only step that can fail), then paints (which cannot), then the JPEG step
 * (on a copy, so a failure leaves the image unchanged). */
static wmf_status run(const wmf_watermark *wm, const sink *s0, uint64_t seed, const forced *force) {
  uint64_t rng = seed;
  plan pl;
  memset(&pl, 0, sizeof pl);
  wmf_status st = WMF_OK;
  sink s = *s0;
  uint8_t *copy = NULL;
  bool jpeg = s.rgb && wm->jpeg_quality > 0;
  if (wm->text || wm->pool || force) st = draw_text(wm, &s, &rng, force, false, NULL, 0, NULL, NULL, NULL, &pl);
  for (size_t i = 0; i < wm->nlogos && st == WMF_OK; i++) st = scale_logo(&wm->logos[i], &s, &pl, i);
  if (st == WMF_OK && jpeg) {
    copy = wmfi_alloc_array((size_t)s.w * s.h, 3);
    if (!copy) st = wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "watermark: out of memory for the JPEG step");
    else {
      memcpy(copy, s.rgb, (size_t)s.w * s.h * 3);
      s.rgb = copy;
    }
  }
  if (st == WMF_OK) {
    if (wm->text || wm->pool || force) paint_text(wm, &pl, &s);
    for (size_t i = 0; i < wm->nlogos; i++) paste_logo(&wm->logos[i], &pl, i, &s);
  }
  if (st == WMF_OK && jpeg) {
    /* the re-save the Mark My Words images went through (PIL's image.save(path) of a .JPEG: quality 75,
     * 4:2:0), on the copy */
    st = wmfi_image_jpeg_roundtrip("watermark", copy, (uint32_t)s.w, (uint32_t)s.h, wm->jpeg_quality);
    if (st == WMF_OK) memcpy(s0->rgb, copy, (size_t)s.w * s.h * 3);
  }
  wmfi_free(copy);
  plan_free(&pl);
  return st;
}

WMF_API wmf_status wmf_watermark_apply(const wmf_watermark *wm, wmf_image *image, uint64_t seed) {
  WMFI_REQUIRE(wm && image, "wmf_watermark_apply: recipe and image must not be NULL");
  wmf_status st = check_ready(wm, "wmf_watermark_apply");
  if (st != WMF_OK) return st;
  sink s = image_sink(image);
  return run(wm, &s, seed, NULL);
}

WMF_API wmf_status wmf_watermark_apply_draw(const wmf_watermark *wm, wmf_image *image, const char *text, double x,
                                            double y) {
  WMFI_REQUIRE(wm && image, "wmf_watermark_apply_draw: recipe and image must not be NULL");
  WMFI_REQUIRE(isfinite(x) && isfinite(y) && fabs(x) <= (1 << 24) && fabs(y) <= (1 << 24),
               "wmf_watermark_apply_draw: point (%g, %g) not finite or beyond 2^24", x, y);
  if (!wm->font) return wmfi_fail(WMF_ERR_STATE, "wmf_watermark_apply_draw: the recipe has no font");
  forced f = {NULL, 0, x, y};
  uint32_t *cps = NULL;
  if (text) {
    wmf_status st = wmfi_utf8_decode("wmf_watermark_apply_draw", text, &cps, &f.n);
    if (st != WMF_OK) return st;
    f.cps = cps;
  } else if (!wm->text)
    return wmfi_fail(WMF_ERR_STATE, "wmf_watermark_apply_draw: no text given and the recipe has no fixed text");
  sink s = image_sink(image);
  wmf_status st = run(wm, &s, 0, &f);
  wmfi_free(cps);
  return st;
}

WMF_API wmf_status wmf_watermark_coverage(const wmf_watermark *wm, uint32_t width, uint32_t height, uint64_t seed,
                                          uint8_t *mask, size_t capacity) {
  WMFI_REQUIRE(wm && mask, "wmf_watermark_coverage: recipe and mask must not be NULL");
  WMFI_REQUIRE(width && height && width <= WMFI_MAX_CANVAS_SIDE && height <= WMFI_MAX_CANVAS_SIDE,
               "wmf_watermark_coverage: size %ux%u out of range", width, height);
  size_t need;
  if (!wmfi_mul(width, height, &need) || capacity < need)
    return wmfi_fail(WMF_ERR_BUFFER_TOO_SMALL, "wmf_watermark_coverage: mask of %zu bytes, %ux%u needed", capacity,
                     width, height);
  wmf_status st = check_ready(wm, "wmf_watermark_coverage");
  if (st != WMF_OK) return st;
  memset(mask, 0, need);
  sink s = {NULL, mask, (int32_t)width, (int32_t)height};
  return run(wm, &s, seed, NULL);
}

WMF_API wmf_status wmf_watermark_describe_draw(const wmf_watermark *wm, uint32_t width, uint32_t height, uint64_t seed,
                                               char *text, size_t text_capacity, float *size_px, double *x,
                                               double *y) {
  WMFI_REQUIRE(wm && (text || text_capacity == 0), "wmf_watermark_describe_draw: NULL recipe or text buffer");
  WMFI_REQUIRE(width && height && width <= WMFI_MAX_CANVAS_SIDE && height <= WMFI_MAX_CANVAS_SIDE,
               "wmf_watermark_describe_draw: size %ux%u out of range", width, height);
  if (!wm->text && !wm->pool) return wmfi_fail(WMF_ERR_STATE, "wmf_watermark_describe_draw: the recipe draws no text");
  wmf_status st = check_ready(wm, "wmf_watermark_describe_draw");
  if (st != WMF_OK) return st;
  sink s = {NULL, NULL, (int32_t)width, (int32_t)height};
  uint64_t rng = seed;
  plan pl;
  memset(&pl, 0, sizeof pl);
  return draw_text(wm, &s, &rng, NULL, true, text, text_capacity, size_px, x, y, &pl);
}
