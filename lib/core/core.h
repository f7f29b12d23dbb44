/* lib/core, the utility layer every module uses (as zstd's lib/common): error reporting, allocation,
 * checked arithmetic, options structs, UTF-8, files (mapping, atomic writing, load-then-parse),
 * little-endian fields, the format checksum and the fingerprint hash, a growing string, SVG writing,
 * quantiles, ranking and the exact AUC, .npy arrays. This header is all that core offers the other
 * modules; core has no struct another module must not see, so it has no core_internal.h. Not
 * installed. */
#ifndef WMF_LIB_CORE_H
#define WMF_LIB_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wmfeat.h"

#if defined(__GNUC__)
#define WMFI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WMFI_PRINTF(f, a)
#endif

/* Records a formatted message as this thread's last error and returns `status`, so a failure reads
 * `return wmfi_fail(WMF_ERR_CORRUPT, "%s: header length %llu exceeds the file", path, n);`. */
wmf_status wmfi_fail(wmf_status status, const char *fmt, ...) WMFI_PRINTF(2, 3);

/* Returns WMF_ERR_INVALID_ARGUMENT with a message when `cond` is false. */
#define WMFI_REQUIRE(cond, ...)                                  \
  do {                                                           \
    if (!(cond)) return wmfi_fail(WMF_ERR_INVALID_ARGUMENT, __VA_ARGS__); \
  } while (0)

/* The one error idiom of lib/ (as zstd's FORWARD_IF_ERROR): a function that owns resources declares
 * `wmf_status st = WMF_OK;`, frees everything after a single `done:` label and returns st. The macros
 * set st and jump there, so no early return leaks:
 *   WMFI_TRY(wmfi_file_open(&f, path));                       forwards a failure (message already set)
 *   WMFI_FAIL(WMF_ERR_CORRUPT, "%s: bad magic", path);        records a message, fails
 *   WMFI_CHECK(n <= max, WMF_ERR_CORRUPT, "%s: n %zu", path, n);  fails unless the condition holds
 *   WMFI_ALLOC(buf, wmfi_malloc(size), "wmf_x_load");         fails with "fn: out of memory" on NULL
 * Functions without resources keep plain `return wmfi_fail(...)`. */
#define WMFI_TRY(expr)                \
  do {                                \
    st = (expr);                      \
    if (st != WMF_OK) goto done;      \
  } while (0)
#define WMFI_FAIL(status, ...)                 \
  do {                                         \
    st = wmfi_fail((status), __VA_ARGS__);     \
    goto done;                                 \
  } while (0)
#define WMFI_CHECK(cond, status, ...)                     \
  do {                                                    \
    if (!(cond)) WMFI_FAIL((status), __VA_ARGS__);        \
  } while (0)
#define WMFI_ALLOC(ptr, expr, fn)                                          \
  do {                                                                     \
    if (!((ptr) = (expr))) WMFI_FAIL(WMF_ERR_OUT_OF_MEMORY, "%s: out of memory", (fn)); \
  } while (0)

/* Allocation through the hooks installed with wmf_set_allocator(). wmfi_alloc_array and wmfi_calloc
 * check n * size for overflow and return NULL on it. */
void *wmfi_malloc(size_t size);
void *wmfi_calloc(size_t n, size_t size);
void *wmfi_alloc_array(size_t n, size_t size);
void *wmfi_realloc(void *ptr, size_t size);
void wmfi_free(void *ptr);
char *wmfi_strdup(const char *s);

/* Checked arithmetic: false on overflow. */
static inline bool wmfi_mul(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool wmfi_add(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

/* Versioned option structs (docs/ABI.md). Every public options struct starts with `uint32_t struct_size`;
 * fields are only appended, each starting at or after the previous version's size. */

/* The size of `type` up to and including `last_field`: a release's struct size, recorded as a constant
 * once (e.g. #define WMFI_SESSION_OPTIONS_SIZE_1_0 WMFI_SIZE_THROUGH(wmf_session_options, stage)). */
#define WMFI_SIZE_THROUGH(type, last_field) (offsetof(type, last_field) + sizeof(((type *)0)->last_field))

/* Reads a caller's options struct `src` (may be NULL) into `dst`, which holds the defaults and is
 * `dst_size` bytes (the current sizeof): refuses a struct_size below `size_1_0` with
 * WMF_ERR_INVALID_ARGUMENT naming `fn` and `type`; copies only the bytes the caller's struct_size covers,
 * so fields appended after the caller's version keep their defaults. */
wmf_status wmfi_options_read(void *dst, size_t dst_size, const void *src, size_t size_1_0, const char *fn,
                             const char *type);

/* The body of every public `*_options_init(options, size)`: zeroes `size` bytes, writes the defaults
 * for the fields this version knows and sets struct_size. WMF_ERR_INVALID_ARGUMENT for NULL or a size
 * below `size_1_0`. */
wmf_status wmfi_options_init(void *dst, size_t size, const void *defaults, size_t cur_size, size_t size_1_0,
                             const char *fn, const char *type);

/* Defines the public `fn(type *options, size_t struct_size)` of a versioned options struct: its body is
 * wmfi_options_init with the defaults of the struct's INIT macro. */
#define WMFI_DEFINE_OPTIONS_INIT(fn, type, init, size_1_0)                                               \
  wmf_status fn(type *options, size_t struct_size) {                                                      \
    static const type defaults = init;                                                                    \
    return wmfi_options_init(options, struct_size, &defaults, sizeof defaults, (size_1_0), #fn, #type);   \
  }

/* Strict UTF-8 (utf8.c), the one check for the whole library: refuses truncated sequences, overlong
 * forms, surrogates (U+D800..U+DFFF), values above U+10FFFF and bytes that cannot start a sequence. */

/* Decodes the sequence at s[0] (n >= 1 bytes available): its length 1..4 and *cp, or 0 and *reason
 * (static text such as "an overlong form"). */
size_t wmfi_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, const char **reason);

/* True when the n bytes are valid UTF-8; otherwise false, *bad_offset and *reason. */
bool wmfi_utf8_check(const char *s, size_t n, size_t *bad_offset, const char **reason);

/* WMF_OK, or WMF_ERR_UTF8 with "fn: what is not valid UTF-8 (reason at byte N)". */
wmf_status wmfi_utf8_require(const char *fn, const char *what, const char *s);

/* Decodes NUL-terminated UTF-8 into a new array of code points (*out from wmfi_malloc, *count).
 * WMF_ERR_UTF8 (message: `fn`, the reason and the byte offset), WMF_ERR_OUT_OF_MEMORY. */
wmf_status wmfi_utf8_decode(const char *fn, const char *s, uint32_t **out, size_t *count);

/* Encodes one code point; returns the bytes written (1..4) into buf (>= 4 bytes). */
size_t wmfi_utf8_encode(uint32_t cp, char *buf);

/* A read-only view of a whole file: memory-mapped, or read into memory where mapping fails. */
typedef struct wmfi_file {
  const uint8_t *data;
  size_t size;
  bool mapped;
  bool has_fd; /* fd is open (wmfi_file_open_fd of a mapped file) */
  int fd;
} wmfi_file;

/* Opens and maps `path`. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO (message names the file
 * and the OS reason), WMF_ERR_OUT_OF_MEMORY. */
wmf_status wmfi_file_open(wmfi_file *file, const char *path);
/* Like wmfi_file_open, and when the file is mapped keeps its descriptor (has_fd), so that after
 * wmfi_file_unmap its bytes are read with wmfi_file_pread. A mapped file that shrinks on disk raises
 * SIGBUS on access; pread turns the same event into an error. */
wmf_status wmfi_file_open_fd(wmfi_file *file, const char *path);
/* Releases the mapping, keeping the descriptor and the size seen at open; data becomes NULL. */
void wmfi_file_unmap(wmfi_file *file);
/* Reads `n` bytes at `offset` through the kept descriptor. WMF_ERR_IO when the read fails or the file
 * now ends before offset + n (it shrank since it was opened): the message names `path` and `what`. */
wmf_status wmfi_file_pread(const wmfi_file *file, void *dst, size_t n, uint64_t offset, const char *path,
                           const char *what);
void wmfi_file_close(wmfi_file *file);

/* Writes `size` bytes to `path` atomically: into a temporary file beside it, then renamed over it, so
 * a failure never leaves a half-written file in place of a good one. */
wmf_status wmfi_write_file_atomic(const char *path, const void *data, size_t size);
/* When `path` exists and is not a regular file (a device such as /dev/null or /dev/full, a FIFO), it is
 * never replaced: the bytes are written into it directly (not atomically). A directory is refused. */

/* Writes the parts, concatenated, to `path` as wmfi_write_file_atomic writes one buffer (so a large
 * array needs no copy behind its header). */
typedef struct wmfi_part {
  const void *data;
  size_t size;
} wmfi_part;
wmf_status wmfi_write_parts_atomic(const char *path, const wmfi_part *parts, size_t count);

/* Load-file-then-parse, the body of every wmf_*_load: checks `out` and `path` (WMF_ERR_INVALID_ARGUMENT
 * naming `fn`), sets the object pointer `out` points to to NULL, maps the file (wmfi_file_open's errors) and returns parse(out, data, size, path). A
 * parser takes its typed output (e.g. wmf_audit **) as `out`, sets *out to NULL first and to the new
 * object on success; it never keeps `data`. */
typedef wmf_status (*wmfi_parser)(void *out, const uint8_t *data, size_t size, const char *path);
wmf_status wmfi_load_file(void *out, const char *path, const char *fn, wmfi_parser parse);

/* ---- little-endian fields of the file formats, from unaligned bytes on any host ---- */
static inline uint16_t wmfi_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t wmfi_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t wmfi_le64(const uint8_t *p) { return wmfi_le32(p) | (uint64_t)wmfi_le32(p + 4) << 32; }
static inline void wmfi_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static inline void wmfi_put_le32(uint8_t *p, uint32_t v) {
  wmfi_put_le16(p, (uint16_t)v), wmfi_put_le16(p + 2, (uint16_t)(v >> 16));
}
static inline void wmfi_put_le64(uint8_t *p, uint64_t v) {
  wmfi_put_le32(p, (uint32_t)v), wmfi_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* ---- hashing (hash.c) ---- */

/* The checksum of every saved binary format (audit states and their shards: docs/audit.md; probe
 * heads: lib/probe/probe_io.c): FNV-1a 64 over the bytes, stored little-endian after them. It detects
 * damage (truncation, flipped bits), not forgery. It stays FNV-1a because the audit (version 2) and
 * probe (version 1) formats already store it; a format whose version moves for another reason may
 * switch to a faster function here, and then every format moves to that one. Masks are JSON and .npy,
 * which carry no checksum. */
uint64_t wmfi_checksum(const void *data, size_t size);

/* ---- the frame of the binary formats (format.c): audit states, probe heads ----
 * offset 0: an 8-byte magic, 8: u32 version, 12: u32 flags (0); the body; end: u64 wmfi_checksum of every
 * byte before it. */
#define WMFI_FORMAT_HEADER 16
void wmfi_format_put_header(uint8_t *data, const char magic[8], uint32_t version);
/* Checks the header of `size` bytes: at least `min_size` bytes and the magic (WMF_ERR_CORRUPT: "fn: 'path'
 * is not <what>"), a version of 1..max_version (WMF_ERR_UNSUPPORTED above it) and flags 0
 * (WMF_ERR_CORRUPT). Sets *version. */
wmf_status wmfi_format_check_header(uint32_t *version, const uint8_t *data, size_t size, size_t min_size,
                                    const char magic[8], uint32_t max_version, const char *fn, const char *path,
                                    const char *what);
/* Stores the checksum of data[0 .. size) at data + size (the buffer holds size + 8 bytes) and writes the
 * size + 8 bytes atomically to `path` (wmfi_write_file_atomic). */
wmf_status wmfi_format_write(const char *path, uint8_t *data, size_t size);
/* True when the last 8 of `size` (>= 8) bytes are the checksum of the bytes before them. */
bool wmfi_format_checksum_ok(const uint8_t *data, size_t size);

/* A streaming 64-bit fingerprint (not cryptographic: it tells runs apart, it does not resist forgery):
 * FNV-1a over little-endian 8-byte words, the length mixed in and finished with the splitmix64
 * finalizer. The same bytes give the same value however they are split across updates. It names
 * contents (weights, input lists, recipes); it is no file checksum. */
typedef struct wmfi_hash {
  uint64_t h, len;
  uint8_t buf[8];
  size_t nbuf;
} wmfi_hash;
void wmfi_hash_init(wmfi_hash *hash);
void wmfi_hash_update(wmfi_hash *hash, const void *data, size_t size);
uint64_t wmfi_hash_final(const wmfi_hash *hash);

/* ---- a growing byte string (buf.c): CSV and SVG text, anything written whole ---- */

/* Zero-initialize (`wmfi_buf b = {0};`). Appends never fail loudly: after an allocation failure the
 * buffer stays `failed` and ignores further appends, and wmfi_buf_write_file reports it once. The text
 * is NUL-terminated once anything was appended. */
typedef struct wmfi_buf {
  char *data;
  size_t len, cap;
  bool failed;
} wmfi_buf;
void wmfi_buf_put(wmfi_buf *b, const void *data, size_t n);
void wmfi_buf_str(wmfi_buf *b, const char *s);
void wmfi_buf_printf(wmfi_buf *b, const char *fmt, ...) WMFI_PRINTF(2, 3);
void wmfi_buf_free(wmfi_buf *b);
/* Writes the contents atomically to `path` and frees the buffer. WMF_ERR_OUT_OF_MEMORY ("fn: out of
 * memory") when an append failed, else wmfi_write_file_atomic's status. */
wmf_status wmfi_buf_write_file(wmfi_buf *b, const char *path, const char *fn);

/* ---- SVG figures on a wmfi_buf (svg.c): plain SVG 1.1, no scripts or external resources ---- */

/* Starts a document of width x height with a white background and `title` centred on top. */
void wmfi_svg_begin(wmfi_buf *s, int width, int height, const char *title);
/* A <text> element; `text` is escaped. `anchor` is start, middle or end. */
void wmfi_svg_text(wmfi_buf *s, double x, double y, const char *anchor, int size, const char *text);
/* A <line> from (x1, y1) to (x2, y2); `attrs` goes into the tag after the coordinates
 * (e.g. "stroke=\"black\""). */
void wmfi_svg_line(wmfi_buf *s, double x1, double y1, double x2, double y2, const char *attrs);
/* Closes the document, writes it atomically to `path` and frees the buffer (wmfi_buf_write_file). */
wmf_status wmfi_svg_finish(wmfi_buf *s, const char *path);
/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target_ticks` ticks over `range`. */
double wmfi_svg_tick(double range, int target_ticks);

/* ---- statistics (stats.c, rank.c) ---- */

/* The q-quantile (0 <= q <= 1) of n >= 1 ascending values, linearly interpolated: position q (n - 1),
 * a = value below (floor), b = above (ceil), weight w = position - below, and the two-sided lerp of
 * numpy and ATen: a + w (b - a) when w < 0.5, else b - (b - a)(1 - w). `fused` rounds each branch
 * once, as torch.quantile does on x86-64 CPUs (ATen's vectorized lerp uses fmadd / fnmadd), so the
 * result equals torch.quantile(x, q) for float64 x bit for bit; unfused it equals numpy.quantile(x, q)
 * (method "linear"). They differ in the last bit in about 2 % of cases. */
double wmfi_quantile_sorted(const double *sorted, size_t n, double q, int fused);

/* Sorts n NaN-free doubles ascending. */
void wmfi_sort_doubles(double *v, size_t n);

/* Order-preserving keys: a < b exactly when key(a) < key(b); equal values (including -0 and +0) get
 * equal keys. NaN-free input. */
uint64_t wmfi_float_key(float v);
uint64_t wmfi_double_key(double v);

/* Sorts n keys ascending (LSD radix); `tmp` holds n more. */
void wmfi_radix_sort(uint64_t *keys, uint64_t *tmp, size_t n);

/* The exact ROC-AUC (Mann-Whitney U / (n_neg n_pos), ties counted one half) of positives against
 * negatives, both non-empty and NaN-free. `work` holds 2 (n_neg + n_pos) values. */
double wmfi_auc(const float *neg, size_t n_neg, const float *pos, size_t n_pos, uint64_t *work);
/* The same on doubles, compared in double. */
double wmfi_auc_f64(const double *neg, size_t n_neg, const double *pos, size_t n_pos, uint64_t *work);

/* Indices of the first k of n scores in `order` into out (NaN last, ties to the lower index).
 * WMF_ERR_INVALID_ARGUMENT for k > n or an unknown order, WMF_ERR_OUT_OF_MEMORY. */
wmf_status wmfi_rank_scores(size_t *out, size_t k, const double *scores, size_t n, wmf_rank_order order);

/* ---- NumPy .npy arrays (npy.c) ---- */

typedef enum wmfi_npy_dtype { WMFI_NPY_F4, WMFI_NPY_F8, WMFI_NPY_U1, WMFI_NPY_B1, WMFI_NPY_I4, WMFI_NPY_I8 } wmfi_npy_dtype;

/* A .npy file parsed in memory; `data` points into the parsed bytes. */
typedef struct wmfi_npy {
  wmfi_npy_dtype dtype;
  size_t item_size;
  size_t ndim;     /* 1 or 2 */
  size_t shape[2]; /* shape[1] is 1 for a 1-D array */
  size_t count;    /* shape[0] * shape[1] */
  size_t offset;   /* of the data in the file */
  const uint8_t *data;
} wmfi_npy;

/* Parses a .npy file (format versions 1 to 3) of a little-endian dtype <f4 <f8 |u1 |b1 <i4 <i8, C order,
 * 1 or 2 dimensions, whose data size matches its shape. Messages start with "fn: 'path': ".
 * WMF_ERR_CORRUPT (not .npy, a bad header or size), WMF_ERR_UNSUPPORTED (another version, dtype, order
 * or rank). */
wmf_status wmfi_npy_parse(wmfi_npy *out, const uint8_t *data, size_t size, const char *path, const char *fn);
/* Element i (< count) of a parsed array as a double. */
double wmfi_npy_value(const wmfi_npy *a, size_t i);
/* Writes shape[0] (ndim 1) or shape[0] x shape[1] (ndim 2) float32 values as a C-order '<f4' .npy
 * file, format 1.0 with the header padded to 64 bytes as numpy pads it, atomically. The values are
 * written as they are in memory: the library builds for little-endian hosts only. */
wmf_status wmfi_npy_write_f32(const char *path, const float *data, size_t ndim, const size_t shape[2], const char *fn);

#endif
