#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

size_t shard_items(size_t total, size_t i, size_t n) { return total * (i + 1) / n - total * i / n; }

int list_fingerprint(char out[48], const file_list *files, const char *source, bool labels) {
  const char **rel = malloc((files->n ? files->n : 1) * sizeof *rel);
  if (!rel) return fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME;
  size_t sl = strlen(source);
  for (size_t i = 0; i < files->n; i++) { /* relative to the input folder: another cwd still matches */
    const char *p = files->paths[i];
    if (strncmp(p, source, sl) == 0 && p[sl] == '/') {
      p += sl;
      while (*p == '/') p++;
    }
    rel[i] = p;
  }
  wmf_status st = wmf_list_fingerprint(out, 48, rel, labels ? (const int32_t *)files->labels : NULL, files->n);
  free(rel);
  return st ? fail_status(st, "fingerprinting the input list") : 0;
}

int stamp_run(wmf_audit *a, const run_record *r) {
  char weights[128], fp[24], seed[32], pre[96], shard[48];
  wmf_status st = wmf_weights_fingerprint(fp, sizeof fp, r->weights);
  snprintf(weights, sizeof weights, "%s %s", wmf_model_arch(r->model), fp);
  snprintf(seed, sizeof seed, "%lu", r->seed);
  snprintf(pre, sizeof pre, "resize=%u crop=%u filter=bilinear", r->resize, r->crop);
  snprintf(shard, sizeof shard, "%zu/%zu", r->shard_i, r->shard_n);
  char *recipe = NULL;
  size_t len = 0;
  if (!st && r->watermark && (st = wmf_watermark_recipe(NULL, 0, &len, r->watermark)) == WMF_ERR_BUFFER_TOO_SMALL) {
    recipe = malloc(len + 1);
    st = recipe ? wmf_watermark_recipe(recipe, len + 1, NULL, r->watermark) : WMF_ERR_OUT_OF_MEMORY;
  }
  const char *fields[][2] = {{"weights", weights},
                             {"recipe", recipe},
                             {"seed", seed},
                             {"preprocess", pre},
                             {"precision", r->bf16 ? "bf16" : "fp32"},
                             {"stage", r->stage ? r->stage : "penultimate"},
                             {"inputs", r->inputs},
                             {"shard", shard},
                             {"version", wmf_version()}};
  for (size_t i = 0; !st && i < sizeof fields / sizeof *fields; i++)
    if (fields[i][1]) st = wmf_audit_set_provenance(a, fields[i][0], fields[i][1]);
  free(recipe);
  return st ? fail_status(st, "recording the audit's provenance") : 0;
}
