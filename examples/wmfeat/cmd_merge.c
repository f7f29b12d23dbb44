/* wmfeat merge: merges the audit states of the shards of one run (from `wmfeat audit --shard I/N`) into
 * the state of the whole run and writes it and its report. Every shard must be given exactly once, in
 * any order (the result is ordered by shard index), and all must come from the same run: their
 * provenance (weights, recipe, seed, preprocessing, inputs, ...) is compared and a difference is
 * refused, naming the field. States without provenance (wmfeat 1.0) are merged in the order given. */
#include <stdlib.h>

#include "commands.h"
#include "report.h"

enum { MAX_SHARDS = 4096 };

int cmd_merge(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *out = "merged.wmfa", *report = NULL, *rank_text = "abs";
  long top = 10, resamples = 200;
  double level = 0.95;
  arg_spec specs[] = {{"out", ARG_STRING, &out, "merged state file (default merged.wmfa)"},
                      {"report", ARG_STRING, &report, "also write the report (JSON, CSV, SVG) into this folder"},
                      {"top", ARG_INT, &top, "classes and channels to print (default 10)"},
                      {"rank", ARG_STRING, &rank_text, "ranking of the summary and class figures: " REPORT_RANK_HELP},
                      {"bootstrap", ARG_INT, &resamples, "bootstrap resamples of the pairs for confidence intervals (default 200, about 4 ms of CPU per pair at ResNet-50 sizes; 2000 for intervals you publish; 0: none; seeded by --seed)"},
                      {"level", ARG_DOUBLE, &level, "confidence level of the bootstrap intervals (default 0.95)"},
                      COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat merge [--out merged.wmfa] [--report DIR] SHARD.wmfa...\n"
                      "  give every shard I/N of one run exactly once, in any order: the result equals a single run";
  static const char *pos[MAX_SHARDS];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 1, MAX_SHARDS, &np, &o, &rc)) return rc;
  if (top < 0) return fprintf(stderr, "%s\n", usage), EXIT_USAGE;
  report_rank rank;
  if (report_parse_rank(rank_text, &rank)) return EXIT_USAGE;
  if (resamples < 0 || resamples > 100000 || !(level > 0 && level < 1))
    return fprintf(stderr, "error: need 0 <= --bootstrap <= 100000 and 0 < --level < 1\n"), EXIT_USAGE;
  wmf_audit **shards = calloc((size_t)np, sizeof *shards), *merged = NULL;
  if (!shards) return fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME;
  wmf_status st = WMF_OK;
  size_t with_provenance = 0;
  for (int i = 0; i < np && !rc; i++) {
    if ((st = wmf_audit_load(&shards[i], pos[i]))) rc = fail_status(st, pos[i]);
    else with_provenance += wmf_audit_provenance_count(shards[i]) > 0;
  }
  if (!rc && with_provenance) {
    if ((st = wmf_audit_merge_shards(&merged, (const wmf_audit *const *)shards, (size_t)np))) {
      rc = fail_status(st, "merging");
      fprintf(stderr, "  (audits are numbered in the order given:");
      for (int i = 0; i < np && i < 64; i++) fprintf(stderr, " %d = %s%s", i, pos[i], i + 1 < np ? "," : ")\n");
      if (np > 64) fprintf(stderr, " ...)\n");
    }
  } else if (!rc) { /* wmfeat 1.0 states: nothing to check, merged in the order given */
    if (!o.quiet) fprintf(stderr, "warning: the states have no provenance (wmfeat 1.0): merged in the order given, "
                                  "unchecked\n");
    merged = shards[0], shards[0] = NULL;
    for (int i = 1; i < np && !rc; i++)
      if ((st = wmf_audit_merge(merged, shards[i]))) rc = fail_status(st, pos[i]);
  }
  for (int i = 0; i < np; i++) wmf_audit_destroy(shards[i]);
  free(shards);
  if (!rc && (st = wmf_audit_save(merged, out))) rc = fail_status(st, out);
  if (!rc && wmf_audit_num_pairs(merged) == 0) {
    if (!o.quiet) fprintf(stderr, "merged %d shards into %s: no pairs, so no report\n", np, out);
  } else {
    if (!rc && (st = wmf_audit_set_bootstrap(merged, (size_t)resamples, (uint64_t)o.seed, level))) rc = fail_status(st, "--bootstrap");
    if (!rc && report && (st = report_write(merged, report, rank))) rc = fail_status(st, report);
    if (!rc && (st = o.json ? report_print_json(merged, (size_t)top, rank, NULL, stdout) : report_print(merged, (size_t)top, rank, NULL, stdout)))
      rc = fail_status(st, "summarizing");
    if (!rc && !o.json && !o.quiet) fprintf(stderr, "merged %d shards into %s\n", np, out);
  }
  wmf_audit_destroy(merged);
  return rc;
}
