/* libwmfeat: find and remove watermark shortcuts in ImageNet-pretrained networks.
 *
 * This is the only header a user includes. It is C99 and C++ compatible and exposes no type of any
 * dependency (oneDNN, FreeType, HarfBuzz, fontconfig, jansson, stb).
 *
 * Conventions (the full rules: docs/api-style.md; also docs/errors.md, docs/threading.md, docs/ABI.md):
 *  - every fallible call returns a wmf_status: WMF_OK (0) or a negative code; wmf_last_error() then
 *    holds a thread-local message saying what went wrong and where;
 *  - output parameters come first; objects returned through `**out` are owned by the caller and freed
 *    with the matching *_destroy(), which accepts NULL; pointers returned directly are borrowed;
 *  - counts are wmf_<object>_<thing>_count() (size_t, 0 for NULL); getters are wmf_<object>_<property>()
 *    without "get_" and never fail; setters are wmf_<object>_set_<property>() returning a wmf_status;
 *  - booleans are int in calls (0 false, nonzero true; returned as 0 or 1) and int32_t in option structs;
 *  - rankings use one enum, wmf_rank_order; options go in versioned structs (struct_size first,
 *    *_INIT macro, *_options_init()) or set_* calls, never varargs;
 *  - names added in 1.1 for 1.0 names that drifted (wmf_mask_masked_count for wmf_mask_count, ...) are
 *    exported functions of the WMFEAT_1.1 version; the old names stay, documented as "Older name of X";
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
