/* The provenance the wmfeat program records in an audit state (docs/audit.md lists the fields; the
 * Python binding's wmfeat.run_provenance sets the same): what produced the pairs, so that --resume and
 * `wmfeat merge` can refuse states of another run. */
#ifndef WMFEAT_PROVENANCE_H
#define WMFEAT_PROVENANCE_H
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <wmfeat.h>

#include "common.h"
#include "files.h"

typedef struct run_record {
  const wmf_weights *weights;
  const wmf_model *model;
  const wmf_watermark *watermark; /* NULL: no recipe (pre-rendered pairs record their own list) */
  unsigned long seed;
  preprocessing pre;
  bool bf16;
  const char *stage; /* NULL: the penultimate features */
  const char *inputs; /* wmf_list_fingerprint of the whole list (before sharding) */
  size_t shard_i, shard_n;
} run_record;

/* The "inputs" fingerprint of a whole list read from `source` (paths relative to a source folder,
 * labels when `labels`). Returns 0, or EXIT_RUNTIME after printing why. */
int list_fingerprint(char out[48], const file_list *files, const char *source, bool labels);

/* Sets every field of the record on `audit`. Returns 0, or EXIT_RUNTIME after printing why. */
int stamp_run(wmf_audit *audit, const run_record *r);

/* The same fields as a JSON object (for the files beside `wmfeat extract`'s features), or NULL after
 * printing why. */
json_t *run_provenance_json(const run_record *r);

/* Items of shard I/N of a list of `total`: total*(I+1)/N - total*I/N. */
size_t shard_items(size_t total, size_t i, size_t n);

#endif
