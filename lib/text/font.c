/* Fonts: opening faces (each wmf_font owns its FreeType library, so fonts never share FreeType state
 * across threads), fontconfig lookup that refuses silent substitutes, per-size faces, the glyph cache
 * and fontconfig fallback for missing characters. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <fontconfig/fontconfig.h>
#include <hb-ft.h>
#include FT_GLYPH_H
#include FT_STROKER_H
#include FT_BITMAP_H

#include "text/font_internal.h"

static pthread_once_t fc_once = PTHREAD_ONCE_INIT;
static bool fc_ok;
static pthread_mutex_t fc_lock = PTHREAD_MUTEX_INITIALIZER; /* fontconfig's config is shared */
static void fc_init(void) { fc_ok = FcInit() == FcTrue; }

WMF_API wmf_status wmf_font_open(wmf_font **out, const char *path, int face_index) {
  WMFI_REQUIRE(out && path, "wmf_font_open: out and path must not be NULL");
  *out = NULL;
  WMFI_REQUIRE(face_index >= 0 && face_index < 65536, "wmf_font_open: face index %d out of range",
               face_index);
  wmf_status st = WMF_OK;
  wmf_font *f = NULL;
  WMFI_ALLOC(f, wmfi_calloc(1, sizeof *f), "wmf_font_open");
  atomic_init(&f->refs, 1);
  pthread_mutex_init(&f->lock, NULL);
  f->index = face_index;
  WMFI_TRY(wmfi_file_open(&f->file, path));
  WMFI_CHECK(FT_Init_FreeType(&f->lib) == 0, WMF_ERR_BACKEND, "wmf_font_open: FreeType could not start");
  FT_Error e = FT_New_Memory_Face(f->lib, f->file.data, (FT_Long)f->file.size, face_index, &f->base);
  if (e) f->base = NULL;
  WMFI_CHECK(!e, WMF_ERR_FONT, "wmf_font_open: %s face %d: not a font or no such face (FreeType error %d)", path,
             face_index, e);
  f->path = wmfi_strdup(path);
  f->family = wmfi_strdup(f->base->family_name ? f->base->family_name : "");
  f->style = wmfi_strdup(f->base->style_name ? f->base->style_name : "");
  WMFI_CHECK(f->path && f->family && f->style, WMF_ERR_OUT_OF_MEMORY, "wmf_font_open: out of memory");
  *out = f;
  f = NULL;
done:
  wmf_font_destroy(f);
  return st;
}

static bool fc_has_string(FcPattern *p, const char *object, const char *want) {
  FcChar8 *s;
  for (int i = 0; FcPatternGetString(p, object, i, &s) == FcResultMatch; i++)
    if (strcasecmp((const char *)s, want) == 0) return true;
  return false;
}

WMF_API wmf_status wmf_font_find(wmf_font **out, const char *pattern) {
  WMFI_REQUIRE(out && pattern, "wmf_font_find: out and pattern must not be NULL");
  *out = NULL;
  pthread_once(&fc_once, fc_init);
  if (!fc_ok) return wmfi_fail(WMF_ERR_BACKEND, "wmf_font_find: fontconfig could not start");
  pthread_mutex_lock(&fc_lock);
  FcPattern *pat = FcNameParse((const FcChar8 *)pattern);
  if (!pat) {
    pthread_mutex_unlock(&fc_lock);
    return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, "wmf_font_find: cannot parse fontconfig pattern '%s'", pattern);
  }
  char family[256] = "", style[128] = "";
  FcChar8 *s;
  if (FcPatternGetString(pat, FC_FAMILY, 0, &s) == FcResultMatch) snprintf(family, sizeof family, "%s", s);
  if (FcPatternGetString(pat, FC_STYLE, 0, &s) == FcResultMatch) snprintf(style, sizeof style, "%s", s);
  FcConfigSubstitute(NULL, pat, FcMatchPattern);
  FcDefaultSubstitute(pat);
  FcResult res;
  FcPattern *m = FcFontMatch(NULL, pat, &res);
  FcPatternDestroy(pat);
  char file[4096] = "", offered[300] = "(nothing)";
  int index = 0;
  bool ok = false;
  if (m) {
    FcChar8 *fam = NULL, *sty = NULL;
    FcPatternGetString(m, FC_FAMILY, 0, &fam);
    FcPatternGetString(m, FC_STYLE, 0, &sty);
    snprintf(offered, sizeof offered, "%s:style=%s", fam ? (char *)fam : "?", sty ? (char *)sty : "?");
    ok = (!family[0] || fc_has_string(m, FC_FAMILY, family)) && (!style[0] || fc_has_string(m, FC_STYLE, style));
    if (FcPatternGetString(m, FC_FILE, 0, &s) == FcResultMatch) snprintf(file, sizeof file, "%s", s);
    else ok = false;
    if (FcPatternGetInteger(m, FC_INDEX, 0, &index) != FcResultMatch) index = 0;
    FcPatternDestroy(m);
  }
  pthread_mutex_unlock(&fc_lock);
  if (!ok)
    return wmfi_fail(WMF_ERR_FONT, "wmf_font_find: no installed font matches '%s' (fontconfig offered '%s')",
                     pattern, offered);
  return wmf_font_open(out, file, index & 0xffff);
}

void wmfi_font_ref(wmf_font *font) { atomic_fetch_add(&font->refs, 1); }

WMF_API void wmf_font_destroy(wmf_font *f) {
  if (!f || atomic_fetch_sub(&f->refs, 1) != 1) return;
  for (size_t i = 0; i < f->nfallbacks; i++) wmf_font_destroy(f->fallbacks[i]);
  wmfi_free(f->fallbacks);
  for (size_t i = 0; i < f->nsizes; i++) {
    wmfi_sized *z = &f->sizes[i];
    for (size_t k = 0; k < z->nslots; k++)
      if (z->slots[k].glyph) {
        wmfi_free(z->slots[k].glyph->pixels);
        wmfi_free(z->slots[k].glyph);
      }
    wmfi_free(z->slots);
    hb_font_destroy(z->hb);
    FT_Done_Face(z->face);
  }
  wmfi_free(f->sizes);
  if (f->base) FT_Done_Face(f->base);
  if (f->lib) FT_Done_FreeType(f->lib);
  wmfi_file_close(&f->file);
  wmfi_free(f->path);
  wmfi_free(f->family);
  wmfi_free(f->style);
  pthread_mutex_destroy(&f->lock);
  wmfi_free(f);
}

WMF_API const char *wmf_font_family(const wmf_font *f) { return f && f->family ? f->family : ""; }
WMF_API const char *wmf_font_style(const wmf_font *f) { return f && f->style ? f->style : ""; }
WMF_API const char *wmf_font_path(const wmf_font *f) { return f && f->path ? f->path : ""; }
WMF_API int wmf_font_face_index(const wmf_font *f) { return f ? f->index : 0; }

wmf_status wmfi_font_sized(wmf_font *f, uint32_t px, wmfi_sized **out) {
  for (size_t i = 0; i < f->nsizes; i++)
    if (f->sizes[i].px == px) {
      *out = &f->sizes[i];
      return WMF_OK;
    }
  wmf_status st = WMF_OK;
  wmfi_sized z = {.px = px};
  /* sizes are kept until the font dies: glyph pointers handed to layouts must stay valid */
  wmfi_sized *grown;
  WMFI_ALLOC(grown, wmfi_realloc(f->sizes, (f->nsizes + 1) * sizeof *grown), "text");
  f->sizes = grown;
  if (FT_New_Memory_Face(f->lib, f->file.data, (FT_Long)f->file.size, f->index, &z.face)) {
    z.face = NULL;
    WMFI_FAIL(WMF_ERR_BACKEND, "text: FreeType cannot reopen %s face %d", f->path, f->index);
  }
  WMFI_CHECK(FT_Set_Pixel_Sizes(z.face, 0, px) == 0, WMF_ERR_FONT, "text: %s cannot be set to %u px", f->path, px);
  /* the HarfBuzz font raqm makes on a face (default load flags), for the lines shaped without raqm */
  z.hb = hb_ft_font_create_referenced(z.face);
  z.nslots = 64;
  WMFI_ALLOC(z.slots, wmfi_calloc(z.nslots, sizeof *z.slots), "text");
  f->sizes[f->nsizes] = z;
  *out = &f->sizes[f->nsizes++];
  z.hb = NULL;
  z.face = NULL;
done:
  hb_font_destroy(z.hb);
  if (z.face) FT_Done_Face(z.face);
  return st;
}

/* Copies a FreeType bitmap (gray or mono) into a packed 8-bit glyph. */
static wmf_status glyph_from_bitmap(const FT_Bitmap *bm, int left, int top, wmfi_glyph **out) {
  wmf_status st = WMF_OK;
  wmfi_glyph *g = NULL;
  WMFI_CHECK(bm->pixel_mode == FT_PIXEL_MODE_GRAY || bm->pixel_mode == FT_PIXEL_MODE_MONO, WMF_ERR_UNSUPPORTED,
             "text: glyph bitmap pixel mode %d not supported", bm->pixel_mode);
  WMFI_ALLOC(g, wmfi_calloc(1, sizeof *g), "text");
  g->left = left;
  g->top = top;
  g->width = bm->width;
  g->rows = bm->rows;
  if (g->width && g->rows) {
    WMFI_ALLOC(g->pixels, wmfi_alloc_array((size_t)g->width, g->rows), "text");
    for (uint32_t r = 0; r < g->rows; r++) {
      const uint8_t *src = bm->buffer + (ptrdiff_t)r * bm->pitch;
      uint8_t *dst = g->pixels + (size_t)r * g->width;
      if (bm->pixel_mode == FT_PIXEL_MODE_GRAY) memcpy(dst, src, g->width);
      else
        for (uint32_t c = 0; c < g->width; c++) dst[c] = (src[c >> 3] >> (7 - (c & 7))) & 1 ? 255 : 0;
    }
  }
  *out = g;
  g = NULL;
done:
  if (g) wmfi_free(g->pixels);
  wmfi_free(g);
  return st;
}

static wmf_status rasterize(wmf_font *f, FT_Face face, uint32_t gid, int32_t stroke, wmfi_glyph **out) {
  wmf_status st = WMF_OK;
  FT_Glyph glyph = NULL;
  FT_Stroker stroker = NULL;
  FT_Error e;
  if (stroke == 0) {
    /* PIL: FT_Load_Glyph(face, index, FT_LOAD_DEFAULT | FT_LOAD_RENDER) */
    e = FT_Load_Glyph(face, gid, FT_LOAD_DEFAULT | FT_LOAD_RENDER);
    WMFI_CHECK(!e, WMF_ERR_BACKEND, "text: FreeType cannot render glyph %u of %s (error %d)", gid, f->path, e);
    WMFI_TRY(glyph_from_bitmap(&face->glyph->bitmap, face->glyph->bitmap_left, face->glyph->bitmap_top, out));
    goto done;
  }
  e = FT_Load_Glyph(face, gid, FT_LOAD_DEFAULT | FT_LOAD_NO_BITMAP);
  if (!e) e = FT_Get_Glyph(face->glyph, &glyph);
  if (!e) e = FT_Stroker_New(f->lib, &stroker);
  if (!e) {
    FT_Stroker_Set(stroker, stroke, FT_STROKER_LINECAP_ROUND, FT_STROKER_LINEJOIN_ROUND, 0);
    if (glyph->format == FT_GLYPH_FORMAT_OUTLINE) e = FT_Glyph_Stroke(&glyph, stroker, 1);
  }
  if (!e) e = FT_Glyph_To_Bitmap(&glyph, FT_RENDER_MODE_NORMAL, NULL, 1);
  WMFI_CHECK(!e, WMF_ERR_BACKEND, "text: FreeType cannot stroke glyph %u of %s (error %d)", gid, f->path, e);
  FT_BitmapGlyph bg = (FT_BitmapGlyph)glyph;
  WMFI_TRY(glyph_from_bitmap(&bg->bitmap, bg->left, bg->top, out));
done:
  if (stroker) FT_Stroker_Done(stroker);
  if (glyph) FT_Done_Glyph(glyph);
  return st;
}

static size_t hash_key(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return (size_t)k;
}

wmf_status wmfi_font_glyph(wmf_font *f, wmfi_sized *z, uint32_t gid, int32_t stroke, const wmfi_glyph **out) {
  uint64_t key = ((uint64_t)(uint32_t)stroke << 32 | gid) + 1;
  size_t mask = z->nslots - 1;
  for (size_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
    if (z->slots[i].key == key) {
      *out = z->slots[i].glyph;
      return WMF_OK;
    }
    if (!z->slots[i].key) break;
  }
  if ((z->used + 1) * 2 > z->nslots) { /* grow to keep probes short */
    size_t n = z->nslots * 2;
    wmfi_cache_slot *s = wmfi_calloc(n, sizeof *s);
    if (!s) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "text: out of memory");
    for (size_t k = 0; k < z->nslots; k++)
      if (z->slots[k].key) {
        size_t j = hash_key(z->slots[k].key) & (n - 1);
        while (s[j].key) j = (j + 1) & (n - 1);
        s[j] = z->slots[k];
      }
    wmfi_free(z->slots);
    z->slots = s;
    z->nslots = n;
    mask = n - 1;
  }
  wmfi_glyph *g;
  wmf_status st = rasterize(f, z->face, gid, stroke, &g);
  if (st != WMF_OK) return st;
  size_t i = hash_key(key) & mask;
  while (z->slots[i].key) i = (i + 1) & mask;
  z->slots[i].key = key;
  z->slots[i].glyph = g;
  z->used++;
  *out = g;
  return WMF_OK;
}

/* Asks fontconfig for the best font holding `cp` and opens it. *out NULL when none does. */
static wmf_status fc_fallback(uint32_t cp, wmf_font **out) {
  *out = NULL;
  pthread_once(&fc_once, fc_init);
  if (!fc_ok) return wmfi_fail(WMF_ERR_BACKEND, "text: fontconfig could not start");
  pthread_mutex_lock(&fc_lock);
  FcPattern *pat = FcPatternCreate();
  FcCharSet *cs = FcCharSetCreate();
  char file[4096] = "";
  int index = 0;
  if (pat && cs && FcCharSetAddChar(cs, cp) && FcPatternAddCharSet(pat, FC_CHARSET, cs)) {
    FcConfigSubstitute(NULL, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult res;
    FcFontSet *set = FcFontSort(NULL, pat, FcFalse, NULL, &res);
    for (int i = 0; set && i < set->nfont && !file[0]; i++) {
      FcCharSet *have;
      FcChar8 *s;
      if (FcPatternGetCharSet(set->fonts[i], FC_CHARSET, 0, &have) == FcResultMatch && FcCharSetHasChar(have, cp) &&
          FcPatternGetString(set->fonts[i], FC_FILE, 0, &s) == FcResultMatch) {
        snprintf(file, sizeof file, "%s", s);
        if (FcPatternGetInteger(set->fonts[i], FC_INDEX, 0, &index) != FcResultMatch) index = 0;
      }
    }
    if (set) FcFontSetDestroy(set);
  }
  if (cs) FcCharSetDestroy(cs);
  if (pat) FcPatternDestroy(pat);
  pthread_mutex_unlock(&fc_lock);
  if (!file[0]) return WMF_OK;
  wmf_status st = WMF_OK;
  wmf_font *fb = NULL;
  WMFI_TRY(wmf_font_open(&fb, file, index & 0xffff));
  if (FT_Get_Char_Index(fb->base, cp)) { /* fontconfig's charset may promise more than the face has */
    *out = fb;
    fb = NULL;
  }
done:
  wmf_font_destroy(fb);
  return st;
}

wmf_status wmfi_font_for_char(wmf_font *f, uint32_t cp, bool allow_fallback, wmf_font **out) {
  *out = NULL;
  if (FT_Get_Char_Index(f->base, cp)) {
    *out = f;
    return WMF_OK;
  }
  if (!allow_fallback) return WMF_OK;
  for (size_t i = 0; i < f->nfallbacks; i++)
    if (FT_Get_Char_Index(f->fallbacks[i]->base, cp)) {
      *out = f->fallbacks[i];
      return WMF_OK;
    }
  if (f->nfallbacks >= 64) return WMF_OK; /* bound the work a hostile text can cause */
  size_t known = f->nunfound < 64 ? f->nunfound : 64;
  for (size_t i = 0; i < known; i++)
    if (f->unfound[i] == cp) return WMF_OK;
  wmf_status st = WMF_OK;
  wmf_font *fb = NULL;
  WMFI_TRY(fc_fallback(cp, &fb));
  if (!fb) {
    f->unfound[f->nunfound++ % 64] = cp;
    goto done;
  }
  wmf_font **grown;
  WMFI_ALLOC(grown, wmfi_realloc(f->fallbacks, (f->nfallbacks + 1) * sizeof *grown), "text");
  f->fallbacks = grown;
  f->fallbacks[f->nfallbacks++] = fb;
  *out = fb;
  fb = NULL;
done:
  wmf_font_destroy(fb);
  return st;
}
