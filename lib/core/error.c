/* Status names and the thread-local error message. */
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

static _Thread_local char last_error[1024];

const char *wmf_status_name(wmf_status status) {
  switch (status) {
  case WMF_OK: return "WMF_OK";
  case WMF_ERR_INVALID_ARGUMENT: return "WMF_ERR_INVALID_ARGUMENT";
  case WMF_ERR_OUT_OF_MEMORY: return "WMF_ERR_OUT_OF_MEMORY";
  case WMF_ERR_IO: return "WMF_ERR_IO";
  case WMF_ERR_BUFFER_TOO_SMALL: return "WMF_ERR_BUFFER_TOO_SMALL";
  case WMF_ERR_CORRUPT: return "WMF_ERR_CORRUPT";
  case WMF_ERR_UNSUPPORTED: return "WMF_ERR_UNSUPPORTED";
  case WMF_ERR_LIMIT: return "WMF_ERR_LIMIT";
  case WMF_ERR_NOT_FOUND: return "WMF_ERR_NOT_FOUND";
  case WMF_ERR_FORBIDDEN: return "WMF_ERR_FORBIDDEN";
  case WMF_ERR_SHAPE: return "WMF_ERR_SHAPE";
  case WMF_ERR_UNKNOWN_ARCH: return "WMF_ERR_UNKNOWN_ARCH";
  case WMF_ERR_BACKEND: return "WMF_ERR_BACKEND";
  case WMF_ERR_FONT: return "WMF_ERR_FONT";
  case WMF_ERR_UTF8: return "WMF_ERR_UTF8";
  case WMF_ERR_STATE: return "WMF_ERR_STATE";
  case WMF_ERR_NUMERIC: return "WMF_ERR_NUMERIC";
  case WMF_ERR_MISMATCH: return "WMF_ERR_MISMATCH";
  }
  return "WMF_ERR_UNKNOWN_STATUS";
}

const char *wmf_last_error(void) { return last_error; }

void wmf_clear_error(void) { last_error[0] = '\0'; }

wmf_status wmfi_fail(wmf_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}
