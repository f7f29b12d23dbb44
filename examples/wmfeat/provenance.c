#include "provenance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json_out.h"

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

/* The provenance fields of a run, in the order they are recorded; a NULL value is not recorded.
 * `recipe` receives the watermark's recipe (malloc'ed, the caller frees it). */
enum { RUN_FIELDS = 10 };
typedef struct run_fields {
  const char *kv[RUN_FIELDS][2];
  char weights[128], seed[32], pre[96], shard[48];
  char *recipe;
} run_fields;

static wmf_status fill_fields(run_fields *f, const run_record *r) {
  char fp[24];
  memset(f, 0, sizeof *f);
  wmf_status st = wmf_weights_fingerprint(fp, sizeof fp, r->weights);
  snprintf(f->weights, sizeof f->weights, "%s %s", wmf_model_arch(r->model), fp);
  snprintf(f->seed, sizeof f->seed, "%lu", r->seed);
  preprocessing_describe(f->pre, sizeof f->pre, &r->pre);
  snprintf(f->shard, sizeof f->shard, "%zu/%zu", r->shard_i, r->shard_n);
  size_t len = 0;
  if (!st && r->watermark && (st = wmf_watermark_recipe(NULL, 0, &len, r->watermark)) == WMF_ERR_BUFFER_TOO_SMALL) {
    f->recipe = malloc(len + 1);
    st = f->recipe ? wmf_watermark_recipe(f->recipe, len + 1, NULL, r->watermark) : WMF_ERR_OUT_OF_MEMORY;
  }
  const char *kv[RUN_FIELDS][2] = {{"weights", f->weights},
                                   {"recipe", f->recipe},
                                   {"seed", f->seed},
                                   {"preprocess", f->pre},
                                   {"precision", precision_name(r->bf16)},
                                   {"convolution", network_conv},
                                   {"stage", r->stage ? r->stage : "penultimate"},
                                   {"inputs", r->inputs},
                                   {"shard", f->shard},
                                   {"version", wmf_version()}};
  memcpy(f->kv, kv, sizeof kv);
  return st;
}

int stamp_run(wmf_audit *a, const run_record *r) {
  run_fields f;
  wmf_status st = fill_fields(&f, r);
  for (size_t i = 0; !st && i < RUN_FIELDS; i++)
    if (f.kv[i][1]) st = wmf_audit_set_provenance(a, f.kv[i][0], f.kv[i][1]);
  free(f.recipe);
  return st ? fail_status(st, "recording the audit's provenance") : 0;
}

json_t *run_provenance_json(const run_record *r) {
  run_fields f;
  wmf_status st = fill_fields(&f, r);
  json_t *o = st ? NULL : json_object();
  for (size_t i = 0; o && i < RUN_FIELDS; i++)
    if (f.kv[i][1] && json_object_set_new(o, f.kv[i][0], json_out_string(f.kv[i][1]))) json_decref(o), o = NULL;
  free(f.recipe);
  if (st) fail_status(st, "recording the run's provenance");
  return o;
}
