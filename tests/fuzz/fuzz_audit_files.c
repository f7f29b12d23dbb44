/* libFuzzer target: the audit module's file parsers (audit state, mask JSON and .npy, probe head) on
 * arbitrary bytes; the first byte picks the parser, so one corpus covers all four. Whatever the input,
 * a parser returns a status (no crash, leak, sanitizer report); what it accepts must then be usable:
 * scores computed, masks applied, heads evaluated, and the saved form reloaded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "audit/audit_internal.h"
#include "mask/mask_internal.h"
#include "probe/probe_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use_audit(wmf_audit *a) {
  for (size_t i = 0; i < wmf_audit_provenance_count(a); i++) /* every loaded field reads back */
    if (!wmf_audit_provenance(a, wmf_audit_provenance_key(a, i))) abort();
  size_t C = wmf_audit_num_classes(a), F = wmf_audit_num_features(a);
  if (!wmf_audit_num_pairs(a) || C > 4096 || F > 4096 || wmf_audit_num_pairs(a) > 4096) return;
  double v[4096];
  if (C && wmf_audit_scores(v, C, a, WMF_AUDIT_CLASSES, WMF_SCORE_DELTA_PROB) != WMF_OK) abort();
  if (F && wmf_audit_scores(v, F, a, WMF_AUDIT_CHANNELS, WMF_SCORE_WILCOXON_Z) != WMF_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int which = data[0] & 3;
  data++, size--;
  if (which == 0) {
    wmf_audit *a = NULL;
    if (wmfi_audit_parse(&a, data, size, "fuzz") == WMF_OK) {
      if (!a) abort();
      use_audit(a);
    } else if (a) abort();
    wmf_audit_destroy(a);
  } else if (which == 1 || which == 2) {
    wmf_mask *m = NULL;
    wmf_status st = which == 1 ? wmfi_mask_parse_json(&m, data, size, "fuzz") : wmfi_mask_parse_npy(&m, data, size, "fuzz");
    if (st == WMF_OK) {
      size_t n = wmf_mask_num_features(m), count = 0;
      if (!m || n == 0) abort();
      for (size_t i = 0; i < n; i++) count += (size_t)wmf_mask_is_masked(m, i);
      if (count != wmf_mask_count(m)) abort();
      if (n <= 4096) {
        float f[4096];
        for (size_t i = 0; i < n; i++) f[i] = 1;
        if (wmf_mask_apply(m, f, 1, n) != WMF_OK) abort();
        for (size_t i = 0; i < n; i++)
          if ((f[i] == 0) != (wmf_mask_is_masked(m, i) != 0)) abort();
      }
    } else if (m) abort();
    wmf_mask_destroy(m);
  } else {
    wmf_probe *p = NULL;
    if (wmfi_probe_parse(&p, data, size, "fuzz") == WMF_OK) {
      size_t F = wmf_probe_num_features(p), K = wmf_probe_num_classes(p);
      if (!p || K < 2 || F < 1) abort();
      if (F <= 4096 && K <= 4096) {
        float x[4096] = {0};
        int32_t c;
        if (wmf_probe_predict(NULL, &c, p, x, 1) != WMF_OK || c < 0 || (size_t)c >= K) abort();
      }
    } else if (p) abort();
    wmf_probe_destroy(p);
  }
  return 0;
}
