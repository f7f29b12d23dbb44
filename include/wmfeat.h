/* libwmfeat: find and remove watermark shortcuts in ImageNet-pretrained networks.
 *
 * This is the only header a user includes. It is C99 and C++ compatible and exposes no type of any
 * dependency (oneDNN, FreeType, HarfBuzz, fontconfig, jansson, stb).
 *
 * Conventions (see docs/errors.md and docs/threading.md):
 *  - every fallible call returns a wmf_status: WMF_OK (0) or a negative code; wmf_last_error() then
 *    holds a thread-local message saying what went wrong and where;
 *  - output parameters come first; objects returned through `**out` are owned by the caller and freed
 *    with the matching *_destroy(), which accepts NULL; pointers returned directly are borrowed;
 *  - the library never prints, exits or aborts.
 */
#ifndef WMFEAT_H
#define WMFEAT_H

#define WMFEAT_H_INSIDE
#include "wmfeat/core.h"
#include "wmfeat/image.h"
#include "wmfeat/watermark.h"
#include "wmfeat/weights.h"
#include "wmfeat/model.h"
#include "wmfeat/audit.h"
#include "wmfeat/mask.h"
#include "wmfeat/probe.h"
#undef WMFEAT_H_INSIDE

#endif
