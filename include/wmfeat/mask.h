/* libwmfeat mask API. Include <wmfeat.h>. Not yet public: this header declares nothing so far. */
#ifndef WMFEAT_MASK_H
#define WMFEAT_MASK_H
#if !defined(WMFEAT_H_INSIDE) && !defined(WMF_BUILDING)
#error "Include <wmfeat.h>, not <wmfeat/mask.h>."
#endif
#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
