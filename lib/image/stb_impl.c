/* The only file that compiles stb_image and stb_image_write. Everything is static (no stbi_ symbol is
 * exported), restricted to the formats libwmfeat supports, allocating through the library's hooks,
 * never asserting, printing or touching stdio. The module uses the small wrappers at the end. */
#include <string.h>

#include "image/image.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
#define STBI_ONLY_GIF
#define STBI_ASSERT(x) ((void)0)
#define STBI_MALLOC(sz) capped_malloc(sz)
#define STBI_REALLOC(p, sz) capped_realloc(p, sz)
#define STBI_FREE(p) wmfi_free(p)
/* The failure reason must be per thread: decoding runs on worker threads. */
#define STBI_THREAD_LOCAL _Thread_local

/* stb grows some buffers as the data asks (zlib output in PNG grows without bound: a few MB of
 * compressed zeros inflate to GB). Each allocation of a decode is capped at what an image of the
 * header's size can need; over it, stb sees an allocation failure and the decode is refused. */
static _Thread_local size_t alloc_cap;  /* 0: no cap (encoding) */
static _Thread_local bool over_cap;

static void *capped_malloc(size_t n) {
  if (alloc_cap && n > alloc_cap) {
    over_cap = true;
    return NULL;
  }
  return wmfi_malloc(n);
}

static void *capped_realloc(void *p, size_t n) {
  if (alloc_cap && n > alloc_cap) {
    over_cap = true;
    return NULL;
  }
  return wmfi_realloc(p, n);
}

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STBIW_ASSERT(x) ((void)0)
#define STBIW_MALLOC(sz) wmfi_malloc(sz)
#define STBIW_REALLOC(p, sz) wmfi_realloc(p, sz)
#define STBIW_FREE(p) wmfi_free(p)

#if defined(__GNUC__)
/* unused-function stays off for the whole file: stb declares functions it never defines when formats
 * are disabled, and the compiler reports those at the end of the file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wold-style-declaration"
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

const char *wmfi_image_sniff(const uint8_t *data, size_t size) {
  /* stb takes any run of 0xFF bytes then 0xD8 (SOI) as the start of a JPEG */
  size_t i = 0;
  while (i < size && data[i] == 0xFF) i++;
  if (i > 0 && i < size && data[i] == 0xD8) return "JPEG";
  if (size >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) return "PNG";
  if (size >= 6 && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0)) return "GIF";
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return "BMP";
  return NULL;
}

/* Reading a header needs only the parsers' own state (tens of KB). */
#define INFO_ALLOC_CAP ((size_t)1 << 20)

int wmfi_image_stb_info(const uint8_t *data, size_t size, int *width, int *height) {
  int comp;
  if (size > INT32_MAX) return stbi__err("file too large", "file too large");
  alloc_cap = INFO_ALLOC_CAP;
  over_cap = false;
  int ok = stbi_info_from_memory(data, (int)size, width, height, &comp);
  alloc_cap = 0;
  if (ok) return 1;
  /* stbi_info tries every format and ends with "unknown image type"; for data whose signature names a
   * format, ask that format's parser alone so the reason says what is wrong with it. */
  const char *format = wmfi_image_sniff(data, size);
  if (!format) return 0;
  stbi__context s;
  stbi__start_mem(&s, data, (int)size);
  alloc_cap = INFO_ALLOC_CAP;
  switch (format[0]) {
  case 'J': stbi__jpeg_info(&s, width, height, &comp); break;
  case 'P': stbi__png_info(&s, width, height, &comp); break;
  case 'G': stbi__gif_info(&s, width, height, &comp); break;
  default: stbi__bmp_info(&s, width, height, &comp); break;
  }
  alloc_cap = 0;
  return 0;
}

uint8_t *wmfi_image_stb_decode(const uint8_t *data, size_t size, int *width, int *height, size_t max_alloc,
                               int channels) {
  int comp;
  if (size > INT32_MAX) {
    stbi__err("file too large", "file too large");
    return NULL;
  }
  stbi__g_failure_reason = NULL;
  alloc_cap = max_alloc;
  over_cap = false;
  uint8_t *pixels = stbi_load_from_memory(data, (int)size, width, height, &comp, channels);
  alloc_cap = 0;
  return pixels;
}

bool wmfi_image_stb_over_cap(void) { return over_cap; }

const char *wmfi_image_stb_reason(void) {
  const char *r = stbi_failure_reason();
  return r ? r : "unknown failure";
}

/* Encoded bytes go to a growing buffer; a failed growth is remembered and reported at the end. */
typedef struct sink {
  uint8_t *data;
  size_t size, cap;
  bool failed;
} sink;

static void sink_write(void *context, void *bytes, int n) {
  sink *s = context;
  if (s->failed || n <= 0) return;
  if (s->size + (size_t)n > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->size + (size_t)n) cap *= 2;
    uint8_t *p = wmfi_realloc(s->data, cap);
    if (!p) {
      s->failed = true;
      return;
    }
    s->data = p;
    s->cap = cap;
  }
  memcpy(s->data + s->size, bytes, (size_t)n);
  s->size += (size_t)n;
}

static int sink_finish(sink *s, int ok, uint8_t **out, size_t *out_size) {
  if (!ok || s->failed) {
    wmfi_free(s->data);
    return 0;
  }
  *out = s->data;
  *out_size = s->size;
  return 1;
}

int wmfi_image_stb_png(uint8_t **out, size_t *out_size, const uint8_t *pixels, int width, int height) {
  sink s = {0};
  int ok = stbi_write_png_to_func(sink_write, &s, width, height, 3, pixels, width * 3);
  return sink_finish(&s, ok, out, out_size);
}

int wmfi_image_stb_jpeg(uint8_t **out, size_t *out_size, const uint8_t *pixels, int width, int height,
                        int quality) {
  sink s = {0};
  int ok = stbi_write_jpg_to_func(sink_write, &s, width, height, 3, pixels, quality);
  return sink_finish(&s, ok, out, out_size);
}
