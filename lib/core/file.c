/* Whole-file access: mapping for reading, temp-file-and-rename for writing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

static wmf_status file_open(wmfi_file *file, const char *path, bool keep_fd) {
  WMFI_REQUIRE(file && path, "file open: NULL argument");
  *file = (wmfi_file){0};
  wmf_status st = WMF_OK;
  uint8_t *buf = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  WMFI_CHECK(fd >= 0, WMF_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat info;
  WMFI_CHECK(fstat(fd, &info) == 0 && S_ISREG(info.st_mode), WMF_ERR_IO, "'%s' is not a readable regular file", path);
  file->size = (size_t)info.st_size;
  if (file->size == 0) { /* mmap refuses zero lengths; an empty buffer is a valid view */
    file->data = (const uint8_t *)"";
    goto done;
  }
  void *p = mmap(NULL, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p != MAP_FAILED) {
    file->data = p;
    file->mapped = true;
    if (keep_fd) file->fd = fd, file->has_fd = true, fd = -1; /* kept: not closed below */
    goto done;
  }
  buf = wmfi_malloc(file->size);
  WMFI_CHECK(buf, WMF_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes to read '%s'", file->size, path);
  for (size_t got = 0; got < file->size;) {
    ssize_t n = read(fd, buf + got, file->size - got);
    if (n < 0 && errno == EINTR) continue;
    WMFI_CHECK(n > 0, WMF_ERR_IO, "cannot read '%s': %s", path, n == 0 ? "file shrank" : strerror(errno));
    got += (size_t)n;
  }
  file->data = buf;
  buf = NULL;
done:
  if (fd >= 0) close(fd);
  wmfi_free(buf);
  if (st) *file = (wmfi_file){0};
  return st;
}

wmf_status wmfi_file_open(wmfi_file *file, const char *path) { return file_open(file, path, false); }

wmf_status wmfi_file_open_fd(wmfi_file *file, const char *path) { return file_open(file, path, true); }

void wmfi_file_unmap(wmfi_file *file) {
  if (!file->mapped) return;
  munmap((void *)file->data, file->size);
  file->data = NULL;
  file->mapped = false;
}

wmf_status wmfi_file_pread(const wmfi_file *file, void *dst, size_t n, uint64_t offset, const char *path,
                           const char *what) {
  WMFI_REQUIRE(file->has_fd, "file read: '%s' has no open descriptor", path);
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(file->fd, (uint8_t *)dst + got, n - got, (off_t)(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return wmfi_fail(WMF_ERR_IO, "cannot read %s from '%s': %s", what, path, strerror(errno));
    if (r == 0) {
      struct stat st;
      long long now = fstat(file->fd, &st) == 0 ? (long long)st.st_size : -1;
      return wmfi_fail(WMF_ERR_IO,
                       "'%s' shrank while open: %s needs bytes %llu..%llu, the file now has %lld (it had %zu when "
                       "opened)",
                       path, what, (unsigned long long)offset, (unsigned long long)(offset + n), now, file->size);
    }
    got += (size_t)r;
  }
  return WMF_OK;
}

void wmfi_file_close(wmfi_file *file) {
  if (!file) return;
  if (file->has_fd) close(file->fd);
  if (file->mapped)
    munmap((void *)file->data, file->size);
  else if (file->data && file->size)
    wmfi_free((void *)file->data);
  *file = (wmfi_file){0};
}

/* Writes the parts to fd; 0 or an errno value. */
static int write_all(int fd, const wmfi_part *parts, size_t count) {
  for (size_t i = 0; i < count; i++) {
    const uint8_t *p = parts[i].data;
    size_t left = parts[i].size;
    while (left) {
      ssize_t w = write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return errno ? errno : EIO;
      p += w;
      left -= (size_t)w;
    }
  }
  return 0;
}

/* The target exists and is not a regular file (a device, a FIFO): renaming over it would replace the
 * node itself (as root, /dev/full became a regular file), so the bytes go into it directly. */
static wmf_status write_into_special(const char *path, const wmfi_part *parts, size_t count, mode_t mode) {
  if (S_ISDIR(mode)) return wmfi_fail(WMF_ERR_IO, "cannot write '%s': it is a directory", path);
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return wmfi_fail(WMF_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(errno));
  int err = write_all(fd, parts, count);
  if (close(fd) != 0 && !err) err = errno;
  if (err) return wmfi_fail(WMF_ERR_IO, "cannot write '%s' (not a regular file, written in place): %s", path,
                            strerror(err));
  return WMF_OK;
}

wmf_status wmfi_write_parts_atomic(const char *path, const wmfi_part *parts, size_t count) {
  WMFI_REQUIRE(path && (parts || !count), "write file: NULL argument");
  for (size_t i = 0; i < count; i++) WMFI_REQUIRE(parts[i].data || !parts[i].size, "write file: NULL data");
  struct stat target;
  if (stat(path, &target) == 0 && !S_ISREG(target.st_mode)) return write_into_special(path, parts, count, target.st_mode);
  wmf_status st = WMF_OK;
  size_t n = strlen(path) + 16;
  char *tmp = wmfi_malloc(n);
  WMFI_CHECK(tmp, WMF_ERR_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  snprintf(tmp, n, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  WMFI_CHECK(fd >= 0, WMF_ERR_IO, "cannot create a file beside '%s': %s", path, strerror(errno));
  /* mkstemp makes the file 0600: give it the mode of the file it replaces, or 0644 */
  struct stat old;
  int err = fchmod(fd, stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644) != 0 ? errno : 0;
  if (!err) err = write_all(fd, parts, count);
  if (!err && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) unlink(tmp);
  WMFI_CHECK(!err, WMF_ERR_IO, "cannot write '%s': %s", path, strerror(err));
done:
  wmfi_free(tmp);
  return st;
}

wmf_status wmfi_write_file_atomic(const char *path, const void *data, size_t size) {
  wmfi_part part = {data, size};
  return wmfi_write_parts_atomic(path, &part, 1);
}

wmf_status wmfi_load_file(void *out, const char *path, const char *fn, wmfi_parser parse) {
  WMFI_REQUIRE(out && path, "%s: NULL argument", fn);
  memset(out, 0, sizeof(void *)); /* *out = NULL for the object pointer `out` points to */
  wmfi_file f;
  wmf_status st = wmfi_file_open(&f, path);
  if (st) return st;
  st = parse(out, f.data, f.size, path);
  wmfi_file_close(&f);
  return st;
}
