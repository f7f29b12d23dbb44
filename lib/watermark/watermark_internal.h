/* Internals of the watermark module, for its own files and its unit tests only: the recipe layout,
 * shared by recipe.c (setters, presets), apply.c (placement, compositing, logos) and describe.c. The
 * module has no interface to the other modules of the library beyond the public wmfeat/watermark.h. */
#ifndef WMF_LIB_WATERMARK_INTERNAL_H
#define WMF_LIB_WATERMARK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "core/core.h"
#include "text/text.h"

#define WMFI_MAX_LOGOS 8
#define WMFI_MAX_LOGO_SIDE 4096          /* pixels per side of a logo as given */
#define WMFI_MAX_SCALED_LOGO_SIDE 8192   /* pixels per side of a logo scaled to the image */
#define WMFI_MAX_POOL 4096               /* characters of a pool */
#define WMFI_MAX_DRAWN 256               /* characters of one draw from the pool, or of an explicit draw */
#define WMFI_MAX_CANVAS_SIDE (1u << 20)  /* image or mask side the recipe is applied to (the image module's cap) */
#define WMFI_LAYOUT_CACHE 8

typedef struct wmfi_logo {
  uint8_t *rgba; /* w * h * 4, straight alpha */
  uint32_t w, h;
  float scale, opacity;
  double fx, fy;
  /* CH_datasets' PastePoisoner (add_logo_at / add_logo_file): native size, top-left at pixel (px, py),
   * alpha already multiplied (int(a * opacity)), pasted with PIL's paste(mask) arithmetic */
  bool native;
  int32_t px, py;
  double opacity_d; /* the opacity as given (int(a * opacity) needs Python's double) */
} wmfi_logo;

typedef struct wmfi_cached_layout {
  uint32_t px;
  wmfi_layout layout;
} wmfi_cached_layout;

struct wmf_watermark {
  uint32_t *text; /* fixed text, or NULL */
  size_t ntext;
  uint32_t *pool; /* character pool, or NULL */
  size_t npool;
  uint32_t draw_count;
  wmf_font *font;
  bool fallback;
  char language[36];  /* "" = default */
  uint32_t script;    /* 0 = itemize */
  int direction;      /* wmf_direction */
  float size_px, size_rel; /* exactly one is > 0, unless size_inw */
  bool size_inw;           /* ImageNet-W's font size table (AddWatermark(image_size)) */
  uint32_t ref_size;       /* the size relative rules use; 0 = each image's shorter side */
  int jpeg_quality;        /* re-save as JPEG at this quality after drawing; 0 = off */
  float ascender_em, descender_em; /* metric override (em), 0 = the font's */
  bool no_dotted_circle;           /* wmf_watermark_set_dotted_circle(wm, 0) */
  uint8_t color[3];
  float opacity;
  int placement; /* wmf_placement */
  double fx, fy;
  char anchor[3];
  float tile_angle, gap_x, gap_y;
  float rotation, letter_spacing, line_spacing;
  float outline;
  uint8_t outline_color[3];
  int shadow_dx, shadow_dy;
  uint8_t shadow_color[3];
  float shadow_opacity;
  wmfi_logo logos[WMFI_MAX_LOGOS];
  size_t nlogos;
  /* layouts of the fixed text per pixel size: filled by apply under the lock, entries never change
   * once published, dropped by setters (which must not run concurrently with apply) */
  pthread_mutex_t cache_lock;
  wmfi_cached_layout cache[WMFI_LAYOUT_CACHE];
  size_t ncache;
};

/* Drops the cached layouts (after any setter that changes them). */
void wmfi_watermark_clear_cache(wmf_watermark *wm);

#endif
