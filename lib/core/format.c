/* The frame every binary file format of the library shares (core.h): magic, version, flags, checksum. */
#include <string.h>

#include "core.h"

void wmfi_format_put_header(uint8_t *data, const char magic[8], uint32_t version) {
  memcpy(data, magic, 8);
  wmfi_put_le32(data + 8, version);
  wmfi_put_le32(data + 12, 0);
}

wmf_status wmfi_format_check_header(uint32_t *version, const uint8_t *d, size_t size, size_t min_size,
                                    const char magic[8], uint32_t max_version, const char *fn, const char *path,
                                    const char *what) {
  if (size < min_size || size < WMFI_FORMAT_HEADER || memcmp(d, magic, 8) != 0)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: '%s' is not %s (magic at offset 0)", fn, path, what);
  uint32_t v = wmfi_le32(d + 8), flags = wmfi_le32(d + 12);
  if (v > max_version)
    return wmfi_fail(WMF_ERR_UNSUPPORTED, "%s: '%s' has format version %u, this library reads %u", fn, path, v,
                     max_version);
  if (v == 0 || flags != 0)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: '%s': bad version %u or flags %u (offset 8)", fn, path, v, flags);
  *version = v;
  return WMF_OK;
}

wmf_status wmfi_format_write(const char *path, uint8_t *data, size_t size) {
  wmfi_put_le64(data + size, wmfi_checksum(data, size));
  return wmfi_write_file_atomic(path, data, size + 8);
}

bool wmfi_format_checksum_ok(const uint8_t *data, size_t size) {
  return wmfi_le64(data + size - 8) == wmfi_checksum(data, size - 8);
}
