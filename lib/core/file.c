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

wmf_status wmfi_file_open(wmfi_file *file, const char *path) {
  WMFI_REQUIRE(file && path, "file open: NULL argument");
  *file = (wmfi_file){0};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return wmfi_fail(WMF_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return wmfi_fail(WMF_ERR_IO, "'%s' is not a readable regular file", path);
  }
  file->size = (size_t)st.st_size;
  if (file->size == 0) { /* mmap refuses zero lengths; an empty buffer is a valid view */
    close(fd);
    file->data = (const uint8_t *)"";
    return WMF_OK;
  }
  void *p = mmap(NULL, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p != MAP_FAILED) {
    close(fd);
    file->data = p;
    file->mapped = true;
    return WMF_OK;
  }
  uint8_t *buf = wmfi_malloc(file->size);
  if (!buf) {
    close(fd);
    return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes to read '%s'", file->size, path);
  }
  size_t got = 0;
  while (got < file->size) {
    ssize_t n = read(fd, buf + got, file->size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      wmfi_free(buf);
      return wmfi_fail(WMF_ERR_IO, "cannot read '%s': %s", path, n == 0 ? "file shrank" : strerror(e));
    }
    got += (size_t)n;
  }
  close(fd);
  file->data = buf;
  return WMF_OK;
}

void wmfi_file_close(wmfi_file *file) {
  if (!file || !file->data) return;
  if (file->mapped)
    munmap((void *)file->data, file->size);
  else if (file->size)
    wmfi_free((void *)file->data);
  *file = (wmfi_file){0};
}

/* Writes all of `data` to fd; 0 or an errno value. */
static int write_all(int fd, const uint8_t *p, size_t left) {
  while (left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return errno ? errno : EIO;
    p += w;
    left -= (size_t)w;
  }
  return 0;
}

/* The target exists and is not a regular file (a device, a FIFO): renaming over it would replace the
 * node itself (as root, /dev/full became a regular file), so the bytes go into it directly. */
static wmf_status write_into_special(const char *path, const void *data, size_t size, mode_t mode) {
  if (S_ISDIR(mode)) return wmfi_fail(WMF_ERR_IO, "cannot write '%s': it is a directory", path);
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return wmfi_fail(WMF_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(errno));
  int err = write_all(fd, data, size);
  if (close(fd) != 0 && !err) err = errno;
  if (err) return wmfi_fail(WMF_ERR_IO, "cannot write '%s' (not a regular file, written in place): %s", path,
                            strerror(err));
  return WMF_OK;
}

wmf_status wmfi_write_file_atomic(const char *path, const void *data, size_t size) {
  WMFI_REQUIRE(path && (data || size == 0), "write file: NULL argument");
  struct stat target;
  if (stat(path, &target) == 0 && !S_ISREG(target.st_mode)) return write_into_special(path, data, size, target.st_mode);
  size_t n = strlen(path) + 16;
  char *tmp = wmfi_malloc(n);
  if (!tmp) return wmfi_fail(WMF_ERR_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  snprintf(tmp, n, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    wmf_status st = wmfi_fail(WMF_ERR_IO, "cannot create a file beside '%s': %s", path, strerror(errno));
    wmfi_free(tmp);
    return st;
  }
  /* mkstemp makes the file 0600: give it the mode of the file it replaces, or 0644 */
  struct stat old;
  int err = fchmod(fd, stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644) != 0 ? errno : 0;
  if (!err) err = write_all(fd, data, size);
  if (!err && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) {
    unlink(tmp);
    wmfi_free(tmp);
    return wmfi_fail(WMF_ERR_IO, "cannot write '%s': %s", path, strerror(err));
  }
  wmfi_free(tmp);
  return WMF_OK;
}
