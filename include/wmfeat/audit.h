/* libwmfeat audit API. Include <wmfeat.h>. Not yet public: this header declares nothing so far. */
#ifndef WMFEAT_AUDIT_H
#define WMFEAT_AUDIT_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/audit.h>."
#endif
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
