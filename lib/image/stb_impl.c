/* The only file that compiles stb_image and stb_image_write. Everything is static (no stbi_ symbol is
 * exported), restricted to the formats libwmfeat supports, allocating through the library's hooks,
 * never asserting, printing or touching stdio. The module uses the small wrappers at the end. */
#include <limits.h>
#include <setjmp.h>
#include <string.h>

#include "image/image_internal.h"

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
/* The allocator itself failed: stb reports that in some paths as a format error ("unknown image type"
 * when a format's test could not allocate), so the flag, not stb's reason, tells out of memory. */
static _Thread_local bool alloc_failed;

static void *capped_malloc(size_t n) {
  if (alloc_cap && n > alloc_cap) {
    over_cap = true;
    return NULL;
  }
  void *p = wmfi_malloc(n);
  if (!p) alloc_failed = true;
  return p;
}

static void *capped_realloc(void *p, size_t n) {
  if (alloc_cap && n > alloc_cap) {
    over_cap = true;
    return NULL;
  }
  void *q = wmfi_realloc(p, n);
  if (!q) alloc_failed = true;
  return q;
}

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STBIW_ASSERT(x) ((void)0)
/* stb_image_write does not survive a failed allocation: its stretchy buffers (the PNG's zlib stream and
 * hash chains) write through the NULL a failed realloc returns. So its allocations are tracked in a
 * per-call list, and a failure jumps back to the wrapper that started the write (write_guarded), which
 * frees every block stb still held: the write fails cleanly, nothing leaks. */
typedef struct write_block {
  struct write_block *prev, *next;
} write_block; /* 16 bytes on LP64: the blocks handed to stb stay 16-byte aligned */

typedef struct write_guard {
  jmp_buf fail;
  write_block head; /* a circular list of every live block */
} write_guard;

static _Thread_local write_guard guard_storage; /* not automatic: it changes between setjmp and longjmp */
static _Thread_local write_guard *guard;

static void *guard_link(write_block *b) {
  b->next = guard->head.next;
  b->prev = &guard->head;
  b->next->prev = b;
  guard->head.next = b;
  return b + 1;
}

static void guard_unlink(write_block *b) {
  b->prev->next = b->next;
  b->next->prev = b->prev;
}

static void *guard_malloc(size_t size) {
  write_block *b = wmfi_malloc(sizeof *b + size);
  if (!b) longjmp(guard->fail, 1);
  return guard_link(b);
}

static void *guard_realloc(void *p, size_t size) {
  if (!p) return guard_malloc(size);
  write_block *old = (write_block *)p - 1;
  guard_unlink(old);
  write_block *b = wmfi_realloc(old, sizeof *b + size);
  if (!b) {
    guard_link(old); /* still valid (C's realloc contract): freed with the others */
    longjmp(guard->fail, 1);
  }
  return guard_link(b);
}

static void guard_free(void *p) {
  if (!p) return;
  write_block *b = (write_block *)p - 1;
  guard_unlink(b);
  wmfi_free(b);
}

#define STBIW_MALLOC(sz) guard_malloc(sz)
#define STBIW_REALLOC(p, sz) guard_realloc(p, sz)
#define STBIW_FREE(p) guard_free(p)

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
  over_cap = alloc_failed = false;
  int ok = stbi_info_from_memory(data, (int)size, width, height, &comp);
  alloc_cap = 0;
  /* a negative BMP height means rows stored top-down; stb's decoder reads them, its info reports the sign */
  if (ok && *height < 0 && *height != INT_MIN) {
    const char *format = wmfi_image_sniff(data, size);
    if (format && format[0] == 'B') *height = -*height;
  }
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

/* stb reads through callbacks here so that running out of data is seen: from memory, stb 2.27 reads
 * zeros past the end and returns truncated BMP, TGA, GIF and JPEG data as complete images (TGA rows it
 * could not read are left as uninitialized heap). A refill of stb's own buffer past the end, a read
 * (stbi__getn) or a skip beyond it, marks the decode as having run out of data. */
typedef struct reader {
  const uint8_t *data;
  size_t size, pos;
  const stbi__context *s; /* to tell stb's buffer refills (which may come up short) from exact reads */
  bool ran_out;
} reader;

static int reader_read(void *user, char *out, int n) {
  reader *r = user;
  size_t left = r->size - r->pos, k = n > 0 ? (size_t)n : 0;
  if (k > left) {
    /* a refill asks for a whole buffer and takes what is left; it only runs out when nothing is */
    if ((const void *)out != (const void *)r->s->buffer_start || left == 0) r->ran_out = true;
    k = left;
  }
  memcpy(out, r->data + r->pos, k);
  r->pos += k;
  return (int)k;
}

static void reader_skip(void *user, int n) {
  reader *r = user;
  size_t left = r->size - r->pos;
  if (n > 0 && (size_t)n > left) {
    r->ran_out = true;
    r->pos = r->size;
  } else if (n > 0) {
    r->pos += (size_t)n;
  }
}

static int reader_eof(void *user) {
  const reader *r = user;
  return r->pos >= r->size;
}

uint8_t *wmfi_image_stb_decode(const uint8_t *data, size_t size, int *width, int *height, size_t max_alloc,
                               int channels, bool *ran_out) {
  int comp;
  *ran_out = false;
  if (size > INT32_MAX) {
    stbi__err("file too large", "file too large");
    return NULL;
  }
  stbi__g_failure_reason = NULL;
  alloc_cap = max_alloc;
  over_cap = alloc_failed = false;
  stbi__context s;
  reader r = {data, size, 0, &s, false};
  stbi_io_callbacks io = {reader_read, reader_skip, reader_eof};
  stbi__start_callbacks(&s, &io, &r);
  uint8_t *pixels = stbi__load_and_postprocess_8bit(&s, width, height, &comp, channels);
  alloc_cap = 0;
  *ran_out = r.ran_out;
  return pixels;
}

bool wmfi_image_stb_over_cap(void) { return over_cap; }

bool wmfi_image_stb_out_of_memory(void) { return alloc_failed; }

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

/* Runs one stb write with its allocations guarded (see guard_malloc): 0 when an allocation failed. */
static int write_guarded(sink *s, const uint8_t *pixels, int width, int height, int quality) {
  write_guard *g = guard = &guard_storage;
  g->head.next = g->head.prev = &g->head;
  volatile int ok = 0;
  if (setjmp(g->fail) == 0) {
    ok = quality ? stbi_write_jpg_to_func(sink_write, s, width, height, 3, pixels, quality)
                 : stbi_write_png_to_func(sink_write, s, width, height, 3, pixels, width * 3);
  } else {
    s->failed = true;
  }
  while (g->head.next != &g->head) { /* empty after a write that returned; stb's blocks after a jump */
    write_block *b = g->head.next;
    guard_unlink(b);
    wmfi_free(b);
  }
  guard = NULL;
  return ok;
}

int wmfi_image_stb_png(uint8_t **out, size_t *out_size, const uint8_t *pixels, int width, int height) {
  sink s = {0};
  int ok = write_guarded(&s, pixels, width, height, 0);
  return sink_finish(&s, ok, out, out_size);
}

int wmfi_image_stb_jpeg(uint8_t **out, size_t *out_size, const uint8_t *pixels, int width, int height,
                        int quality) {
  sink s = {0};
  int ok = write_guarded(&s, pixels, width, height, quality < 1 ? 1 : quality);
  return sink_finish(&s, ok, out, out_size);
}
