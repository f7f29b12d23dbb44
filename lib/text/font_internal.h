/* The wmf_font layout, shared by the text module's files only (FreeType and HarfBuzz types). */
#ifndef WMF_LIB_TEXT_FONT_INTERNAL_H
#define WMF_LIB_TEXT_FONT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb.h>

#include "text/text.h"

/* One pixel size of a face: its own FT_Face (FreeType sizes are per face), the HarfBuzz font made on
 * it as raqm makes it, and the glyph cache (open addressing; entries are never moved or freed before
 * the font, so pointers handed out stay valid). */
typedef struct wmfi_cache_slot {
  uint64_t key; /* glyph index | stroke radius << 32, plus 1 so 0 means empty */
  wmfi_glyph *glyph;
} wmfi_cache_slot;

typedef struct wmfi_sized {
  uint32_t px;
  FT_Face face;
  hb_font_t *hb;
  wmfi_cache_slot *slots;
  size_t nslots, used;
} wmfi_sized;

struct wmf_font {
  atomic_int refs;
  pthread_mutex_t lock; /* guards everything below but the names, and the fallbacks' state */
  FT_Library lib;
  wmfi_file file;
  int index;
  char *path, *family, *style;
  FT_Face base; /* unsized, for character lookup */
  wmfi_sized *sizes;
  size_t nsizes;
  struct wmf_font **fallbacks;
  size_t nfallbacks;
  uint32_t unfound[64]; /* code points no fallback has (a ring), so fontconfig is asked once */
  size_t nunfound;
};

/* With font->lock held: the sized instance for `px` (created on first use). */
wmf_status wmfi_font_sized(wmf_font *font, uint32_t px, wmfi_sized **out);

/* With the owning primary's lock held: the cached bitmap of glyph `gid` (stroked when stroke > 0). */
wmf_status wmfi_font_glyph(wmf_font *font, wmfi_sized *sized, uint32_t gid, int32_t stroke,
                           const wmfi_glyph **out);

/* With font->lock held: a font with a glyph for `cp`: the font itself, a fallback already opened, or a
 * new one fontconfig proposes. *out NULL when none has it. */
wmf_status wmfi_font_for_char(wmf_font *font, uint32_t cp, bool allow_fallback, wmf_font **out);

#endif
