/* Internal services every module uses: error reporting, allocation, checked arithmetic, file mapping.
 * Not installed. */
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

/* A streaming 64-bit fingerprint (not cryptographic: it tells runs apart, it does not resist forgery):
 * FNV-1a over little-endian 8-byte words, the length mixed in and finished with the splitmix64
 * finalizer. The same bytes give the same value however they are split across updates. */
typedef struct wmfi_hash {
  uint64_t h, len;
  uint8_t buf[8];
  size_t nbuf;
} wmfi_hash;
void wmfi_hash_init(wmfi_hash *hash);
void wmfi_hash_update(wmfi_hash *hash, const void *data, size_t size);
uint64_t wmfi_hash_final(const wmfi_hash *hash);

#endif
