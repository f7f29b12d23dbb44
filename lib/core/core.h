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

/* A read-only view of a whole file: memory-mapped, or read into memory where mapping fails. */
typedef struct wmfi_file {
  const uint8_t *data;
  size_t size;
  bool mapped;
} wmfi_file;

/* Opens and maps `path`. Returns WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_IO (message names the file
 * and the OS reason), WMF_ERR_OUT_OF_MEMORY. */
wmf_status wmfi_file_open(wmfi_file *file, const char *path);
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
