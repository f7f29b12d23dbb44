/* wmfeat merge: merges audit shard states (from `wmfeat audit --shard I/N`) in the order given, which
 * equals one run over all images, and writes the merged state and its report. */
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
                      COMMON_SPECS(o), {NULL, 0, NULL, NULL}};
  const char *usage = "usage: wmfeat merge [--out merged.wmfa] [--report DIR] SHARD.wmfa...\n"
                      "  give the shards in order (0/N, 1/N, ...): the result then equals a single run";
  static const char *pos[MAX_SHARDS];
  int np, rc = args_parse(argc, argv, specs, usage, pos, MAX_SHARDS, &np);
  if (rc) return rc == 1 ? EXIT_OK : EXIT_USAGE;
  if (np < 1 || top < 0) return fprintf(stderr, "%s\n", usage), EXIT_USAGE;
  report_rank rank;
  if (report_parse_rank(rank_text, &rank)) return EXIT_USAGE;
  if (resamples < 0 || resamples > 100000 || !(level > 0 && level < 1))
    return fprintf(stderr, "error: need 0 <= --bootstrap <= 100000 and 0 < --level < 1\n"), EXIT_USAGE;
  wmf_audit *merged = NULL;
  wmf_status st = wmf_audit_load(&merged, pos[0]);
  if (st) return fail_status(st, pos[0]);
  for (int i = 1; i < np && !rc; i++) {
    wmf_audit *shard = NULL;
    if ((st = wmf_audit_load(&shard, pos[i])) || (st = wmf_audit_merge(merged, shard))) rc = fail_status(st, pos[i]);
    wmf_audit_destroy(shard);
  }
  if (!rc && (st = wmf_audit_save(merged, out))) rc = fail_status(st, out);
  if (!rc && (st = wmf_audit_set_bootstrap(merged, (size_t)resamples, (uint64_t)o.seed, level))) rc = fail_status(st, "--bootstrap");
  if (!rc && report && (st = report_write(merged, report, rank))) rc = fail_status(st, report);
  if (!rc && (st = o.json ? report_print_json(merged, (size_t)top, rank, stdout) : report_print(merged, (size_t)top, rank, stdout)))
    rc = fail_status(st, "summarizing");
  if (!rc && !o.json && !o.quiet) fprintf(stderr, "merged %d shards into %s\n", np, out);
  wmf_audit_destroy(merged);
  return rc;
}
