#include "core.h"

const char *wmf_version(void) { return WMF_VERSION_STRING; }

uint32_t wmf_version_number(void) { return WMF_VERSION_NUMBER; }
