/* wmfeat audit: runs a network on clean images and their watermarked twins and reports which classes
 * and feature channels respond. Resumable: the audit state (pairs, the number of images done and the
 * run's provenance, one atomic file) is saved every minute and on Ctrl-C; --resume continues it after
 * checking that it comes from the same run. */
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "files.h"
#include "progress.h"
#include "provenance.h"
#include "report.h"
#include "run.h"

typedef struct audit_ctx {
  wmf_audit *audit;
  const int *labels; /* NULL: unknown */
  size_t offset;     /* items done before this run (resume) */
  const char *state;
  double last_save;
  float *rows;       /* scratch for compacting away failed items */
  int32_t *lab;
  size_t done;
  char **item_paths;  /* the items of this run, for --per-image */
  const char **row_paths; /* path of each pair added in this run (borrowed from item_paths) */
  size_t n_rows;
} audit_ctx;

/* The pairs and the number of images done go into one file, written atomically: a crash leaves either
 * the previous state or the new one, never a state and a progress count that disagree. */
static int save_state(audit_ctx *c) {
  wmf_status st = wmf_audit_set_items_done(c->audit, c->done);
  if (!st) st = wmf_audit_save(c->audit, c->state);
  return st ? fail_status(st, c->state) : EXIT_OK;
}

/* Removes what an interrupted save leaves beside the state: temporaries of wmf_audit_save
 * (STATE.tmpXXXXXX) and of the progress file of wmfeat 1.0 (STATE.progress.tmp). */
static void remove_stale_temporaries(const char *state, bool quiet) {
  char pattern[4200];
  glob_t g;
  snprintf(pattern, sizeof pattern, "%s.tmp??????", state);
  if (glob(pattern, GLOB_NOSORT, NULL, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; i++)
      if (unlink(g.gl_pathv[i]) == 0 && !quiet)
        fprintf(stderr, "note: removed '%s', left by an interrupted save\n", g.gl_pathv[i]);
    globfree(&g);
  }
  snprintf(pattern, sizeof pattern, "%s.progress.tmp", state);
  if (unlink(pattern) == 0 && !quiet) fprintf(stderr, "note: removed '%s', left by an interrupted save\n", pattern);
}

/* "I/N" (--shard, and the state's "shard" provenance) into *i and *n, I < N; NULL is 0/1. Returns 0 or -1. */
static int parse_shard(const char *s, size_t *i, size_t *n) {
  if (!s) return *i = 0, *n = 1, 0;
  char *end;
  unsigned long a = strtoul(s, &end, 10);
  if (*end != '/') return -1;
  unsigned long b = strtoul(end + 1, &end, 10);
  if (*end || b == 0 || a >= b) return -1;
  *i = a, *n = b;
  return 0;
}

/* A state already at `state` that this run would overwrite without --resume: refused unless it is a
 * complete audit (then re-running replaces it) or --force is given. Returns 0 or EXIT_USAGE (printed). */
static int refuse_overwrite(const char *state) {
  if (access(state, F_OK) != 0) return 0;
  wmf_audit *old = NULL;
  char what[160] = "an audit state that cannot be read";
  if (wmf_audit_load(&old, state) == WMF_OK) {
    const char *inputs = wmf_audit_provenance(old, "inputs"), *shard = wmf_audit_provenance(old, "shard");
    char *end = NULL;
    unsigned long long total = inputs ? strtoull(inputs, &end, 10) : 0; /* "COUNT HEX16" */
    size_t si, sn;
    if (inputs && shard && end != inputs && *end == ' ' && parse_shard(shard, &si, &sn) == 0) {
      size_t items = shard_items((size_t)total, si, sn);
      if (wmf_audit_items_done(old) >= items) return wmf_audit_destroy(old), 0; /* complete: a re-run replaces it */
      snprintf(what, sizeof what, "a partial audit (%llu of %zu images)", (unsigned long long)wmf_audit_items_done(old),
               items);
    } else {
      snprintf(what, sizeof what, "an audit state without provenance (%zu pairs)", wmf_audit_num_pairs(old));
    }
    wmf_audit_destroy(old);
  }
  fprintf(stderr, "error: '%s' holds %s: pass --resume to continue it, or --force to start over\n", state, what);
  return EXIT_USAGE;
}

static int add_batch(void *vctx, const pipeline_batch *b, const run_outputs *o) {
  audit_ctx *c = vctx;
  size_t nc = o->num_classes, nf = o->num_features, n = 0;
  float *cl = c->rows, *wl = cl + b->count * nc, *cf = wl + b->count * nc, *wf = cf + b->count * nf;
  for (size_t i = 0; i < b->count; i++) { /* keep only the pairs that were prepared */
    if (!b->ok[i]) continue;
    memcpy(cl + n * nc, o->logits[0] + i * nc, nc * sizeof(float));
    memcpy(wl + n * nc, o->logits[1] + i * nc, nc * sizeof(float));
    memcpy(cf + n * nf, o->features[0] + i * nf, nf * sizeof(float));
    memcpy(wf + n * nf, o->features[1] + i * nf, nf * sizeof(float));
    c->lab[n++] = c->labels ? c->labels[b->first + i] : WMF_NO_LABEL;
    if (c->row_paths) c->row_paths[c->n_rows++] = c->item_paths[b->first + i];
  }
  wmf_status st = n ? wmf_audit_add(c->audit, n, cl, wl, cf, wf, c->lab) : WMF_OK;
  if (st) return fail_status(st, "adding to the audit");
  c->done = c->offset + b->first + b->count;
  if (now_seconds() - c->last_save > 60) {
    c->last_save = now_seconds();
    return save_state(c);
  }
  return EXIT_OK;
}

/* --per-image: one row per pair, with p of the --top classes of the printed ranking (--rank). */
static int write_per_image(wmf_audit *audit, const char *path, const char **row_paths, size_t top, report_rank rank) {
  if (!path) return EXIT_OK;
  size_t nc = wmf_audit_num_classes(audit), k = top < nc ? top : nc;
  size_t *listed = calloc(k + 1, sizeof *listed);
  if (!listed) return fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME;
  wmf_audit_score score;
  wmf_rank_order order;
  report_rank_order(rank, WMF_AUDIT_CLASSES, &score, &order);
  wmf_status st = wmf_audit_rank(listed, k, audit, WMF_AUDIT_CLASSES, score, order);
  if (!st) st = wmf_audit_write_pairs_csv(audit, path, row_paths, listed, k);
  free(listed);
  return st ? fail_status(st, path) : EXIT_OK;
}

/* The items of this run, after `offset` done before it (--resume): pairs, each image and its watermarked
 * twin (drawn with `wm`, or read from wm_files), as `extract` sees them. */
static void audit_inputs(marked_ctx *pc, run_spec *spec, const file_list *files, const file_list *wm_files,
                         const wmf_watermark *wm, size_t first_global, size_t offset, const preprocessing *pre,
                         const common_opts *o, const char *examples_dir, long examples, audit_ctx *ac) {
  *pc = (marked_ctx){files->paths + offset, wm_files ? wm_files->paths + offset : NULL, wm, first_global + offset,
                     *pre, (size_t)o->batch, (uint64_t)o->seed, MARKED_PAIR,
                     examples_dir, (size_t)examples};
  *spec = (run_spec){NULL, files->n - offset, true, pre->crop, prepare_marked, pc, add_batch, ac, "audit", NULL};
}

static void warn_unpaired(void *ctx, const char *path, const char *side) {
  (void)ctx;
  fprintf(stderr, "warning: %s image '%s' has no partner of the same relative path; skipped\n", side, path);
}

int cmd_audit(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *arch = NULL, *sd_key = NULL, *preset = NULL, *out = "wmfeat-report", *state = NULL, *watermarked = NULL;
  const char *logo = NULL, *per_image = NULL, *examples_dir_opt = NULL, *stage = NULL, *rank_text = "abs";
  long resize = 0, crop = 0, top = 10, /* resize, crop 0: the model's */ examples = 0, resamples = 200;
  double level = 0.95;
  bool labels = false, resume = false, force = false, bf16 = false;
  arg_spec specs[] = {{"preset", ARG_STRING, &preset, "watermark preset (default imagenet-w; see wmfeat render --list)"},
                      {"logo", ARG_STRING, &logo, "FILE[:FILE] replace the preset's logos (ch-logo: carton, alibaba); FILE@X,Y[,OPACITY] adds one"},
                      {"watermarked", ARG_STRING, &watermarked,
                       "pre-rendered twins: a folder paired with INPUT by relative path, or a list paired by line"},
                      {"out", ARG_STRING, &out, "report folder (default wmfeat-report)"},
                      {"state", ARG_STRING, &state, "audit state file (default OUT/audit.wmfa)"},
                      {"shard", ARG_STRING, &o.shard, "I/N: audit only shard I of N (merge with wmfeat merge)"},
                      {"resume", ARG_FLAG, &resume, "continue an interrupted audit from its state file (same run only)"},
                      {"force", ARG_FLAG, &force, "start over, replacing a partial state left in the state file"},
                      {"labels", ARG_FLAG, &labels, "labels from subfolders: ImageNet indices when all are WordNet ids "
                                                     "(n01440764...), else sorted order like ImageFolder (a list "
                                                     "file's labels are always used)"},
                      {"top", ARG_INT, &top, "classes and channels to print (default 10)"},
                      {"rank", ARG_STRING, &rank_text, "ranking of the summary and class figures: " REPORT_RANK_HELP},
                      {"bootstrap", ARG_INT, &resamples, "bootstrap resamples of the pairs for confidence intervals (default 200, about 4 ms of CPU per pair at ResNet-50 sizes; 2000 for intervals you publish; 0: none; seeded by --seed)"},
                      {"level", ARG_DOUBLE, &level, "confidence level of the bootstrap intervals (default 0.95)"},
                      {"per-image", ARG_STRING, &per_image,
                       "CSV: each pair's path, label, clean and watermarked top-5, p of the --top classes"},
                      {"save-examples", ARG_INT, &examples,
                       "save the first N watermarked inputs as the network saw them (PNG, before normalization)"},
                      {"examples-dir", ARG_STRING, &examples_dir_opt, "folder for --save-examples (default OUT/examples)"},
                      STAGE_SPEC(stage),
                      NETWORK_SPECS(arch, resize, crop, sd_key), COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat audit WEIGHTS INPUT [--preset imagenet-w | --watermarked WM] [--out DIR] [options]\n"
                      "  INPUT: an image folder (recursive), an image, or a text file listing images\n"
                      "  --watermarked: audit pre-rendered pairs (no watermark is drawn)";
  const char *pos[2];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 2, 2, &np, &o, &rc)) return rc;
  if ((rc = check_precision(true, &bf16))) return rc; /* before any work: bf16 is never run as fp32 */
  size_t shard_i, shard_n;
  if (parse_shard(o.shard, &shard_i, &shard_n)) return fprintf(stderr, "error: --shard expects I/N with I < N\n"), EXIT_USAGE;
  if ((rc = check_resize_crop(resize, crop))) return rc;
  if (top < 0) return fprintf(stderr, "error: --top must not be negative\n"), EXIT_USAGE;
  report_rank rank;
  if (report_parse_rank(rank_text, &rank)) return EXIT_USAGE;
  if (resamples < 0 || resamples > 100000 || !(level > 0 && level < 1))
    return fprintf(stderr, "error: need 0 <= --bootstrap <= 100000 and 0 < --level < 1\n"), EXIT_USAGE;
  if ((preset || logo) && watermarked)
    return fprintf(stderr, "error: --preset and --logo draw the watermark, --watermarked reads it from files: give one\n"),
           EXIT_USAGE;
  if (examples < 0) return fprintf(stderr, "error: --save-examples must not be negative\n"), EXIT_USAGE;
  if (per_image && resume)
    return fprintf(stderr, "error: --per-image needs the path of every pair; run it without --resume\n"), EXIT_USAGE;
  if (!preset) preset = "imagenet-w";
  if ((rc = check_choice("--preset", preset, preset_choice))) return rc;
  if (mkdir_p(out)) return EXIT_RUNTIME;
  if (resume && force) return fprintf(stderr, "error: --resume and --force exclude each other\n"), EXIT_USAGE;
  char state_buf[4096];
  if (!state) snprintf(state_buf, sizeof state_buf, "%s/audit.wmfa", out), state = state_buf;
  remove_stale_temporaries(state, o.quiet);
  if (!resume && !force && (rc = refuse_overwrite(state))) return rc;
  char examples_buf[4200];
  const char *examples_dir = examples_dir_opt;
  if (examples && !examples_dir) snprintf(examples_buf, sizeof examples_buf, "%s/examples", out), examples_dir = examples_buf;
  if (examples && mkdir_p(examples_dir)) return EXIT_RUNTIME;

  file_list files, wm_files = {0};
  char err[512];
  size_t unpaired = 0;
  if (file_list_load(&files, pos[1], err, sizeof err)) return fprintf(stderr, "error: %s\n", err), EXIT_RUNTIME;
  if (watermarked && file_list_pair(&files, pos[1], &wm_files, watermarked, warn_unpaired, NULL, &unpaired, err, sizeof err)) {
    file_list_free(&files);
    return fprintf(stderr, "error: %s\n", err), EXIT_RUNTIME;
  }
  if (unpaired) fprintf(stderr, "warning: %zu images without a partner were skipped\n", unpaired);
  file_list_limit(&files, (size_t)o.limit);
  size_t total = files.n;
  char inputs_fp[48];
  if ((rc = list_fingerprint(inputs_fp, &files, pos[1], labels || files.source == FILE_LABELS_LIST))) return file_list_free(&files), rc;
  char wm_fp[48] = ""; /* pre-rendered: the watermarked list's fingerprint, recorded as "watermarked" */
  if (watermarked) {
    file_list_limit(&wm_files, (size_t)o.limit);
    if ((rc = list_fingerprint(wm_fp, &wm_files, watermarked, false)))
      return file_list_free(&files), file_list_free(&wm_files), rc;
  }
  file_list_shard(&files, shard_i, shard_n);
  if (watermarked) file_list_shard(&wm_files, shard_i, shard_n);
  file_list_warn_unsupported(&files, 20);
  size_t first_global = total * shard_i / shard_n;

  wmf_weights *w = NULL;
  wmf_model *m = NULL;
  wmf_session *s = NULL;
  wmf_watermark *wm = NULL;
  wmf_audit *audit = NULL, *now = NULL;
  audit_ctx ac = {0};
  marked_ctx pc;
  run_spec spec;
  pipeline *started = NULL;
  size_t batch = (size_t)o.batch;
  wmf_status st = watermarked ? WMF_OK : wmf_watermark_from_preset(&wm, preset);
  if (st) rc = fail_status(st, preset);
  /* With --resize and --crop given and no --resume, the workers need nothing from the model: they start
   * before it loads and prepare the first batches (decode, resize, watermark) on the cores the load
   * leaves idle. Otherwise the sizes (the model's defaults) or the first image (the state's) come first. */
  bool early = !resume && resize && crop;
  preprocessing pre;
  if (!rc && !early) rc = open_model(pos[0], arch, sd_key, &w, &m);
  /* early: the filter and normalization given, else bilinear and ImageNet's until the model says */
  if (!rc) rc = model_preprocessing(m, resize, crop, &pre);
  /* the preset's sizes follow the crop given to the transform (ImageNet-W's AddWatermark(crop_size)) */
  if (!rc && wm && (st = wmf_watermark_set_reference_size(wm, pre.crop))) rc = fail_status(st, "--crop");
  size_t logo_slot = 0;
  if (!rc && logo && logo_option(wm, logo, &logo_slot, "error")) rc = EXIT_USAGE;
  if (!rc && early) {
    audit_inputs(&pc, &spec, &files, watermarked ? &wm_files : NULL, wm, first_global, 0, &pre, &o,
                 examples ? examples_dir : NULL, examples, &ac);
    if (!(started = run_start_workers(&spec, &o))) rc = EXIT_RUNTIME;
    /* the load keeps one core busy (reading, building the graph): the workers take the others */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (started) pipeline_set_active(started, cores > 2 ? (int)cores - 1 : 1);
    if (!rc) rc = open_model(pos[0], arch, sd_key, &w, &m);
    preprocessing model_pre;
    if (!rc) rc = model_preprocessing(m, resize, crop, &model_pre);
    if (started) pipeline_set_active(started, 0);
    if (!rc && !preprocessing_equal(&pre, &model_pre)) { /* the model's filter or Normalize: start again */
      pipeline_free(started);
      pre = model_pre;
      audit_inputs(&pc, &spec, &files, watermarked ? &wm_files : NULL, wm, first_global, 0, &pre, &o,
                   examples ? examples_dir : NULL, examples, &ac);
      if (!(started = run_start_workers(&spec, &o))) rc = EXIT_RUNTIME;
    }
  }
  const int *use_labels = NULL;
  if (!rc) use_labels = labels_for_model(&files, labels, wmf_model_num_classes(m), o.quiet, &rc);
  if (!rc) rc = open_session(m, &o, pre.crop, bf16, stage, &s);
  /* the provenance of this run: a new state records it, a resumed one must match it */
  if (!rc && (st = wmf_audit_create(&now, wmf_model_num_classes(m), session_features(s))))
    rc = fail_status(st, "creating the audit");
  run_record rec = {w, m, wm, (unsigned long)o.seed, pre, bf16, stage, inputs_fp, shard_i, shard_n};
  if (!rc) rc = stamp_run(now, &rec);
  if (!rc && watermarked && (st = wmf_audit_set_provenance(now, "watermarked", wm_fp)))
    rc = fail_status(st, "recording the watermarked list");
  if (!rc && resume) {
    if ((st = wmf_audit_load(&audit, state))) {
      rc = fail_status(st, state);
    } else if ((st = wmf_audit_provenance_check(audit, now, NULL))) {
      fprintf(stderr, "error: cannot resume '%s': %s\n", state, strchr(wmf_last_error(), ' ') + 1);
      rc = EXIT_RUNTIME;
    } else if (wmf_audit_items_done(audit) > files.n) {
      fprintf(stderr, "error: cannot resume '%s': it has done %llu images, the shard has %zu\n", state,
              (unsigned long long)wmf_audit_items_done(audit), files.n);
      rc = EXIT_RUNTIME;
    } else {
      ac.offset = (size_t)wmf_audit_items_done(audit);
      if (!o.quiet) fprintf(stderr, "resuming after %zu images (%zu pairs)\n", ac.offset, wmf_audit_num_pairs(audit));
    }
  } else if (!rc) {
    audit = now, now = NULL;
  }
  size_t nc = wmf_model_num_classes(m), nf = session_features(s);
  if (!rc && (wmf_audit_num_classes(audit) != nc || wmf_audit_num_features(audit) != nf)) {
    fprintf(stderr, "error: --resume: the state '%s' has %zu classes and %zu features, this network %zu and %zu%s\n",
            state, wmf_audit_num_classes(audit), wmf_audit_num_features(audit), nc, nf,
            stage ? " (with --stage)" : "");
    rc = EXIT_RUNTIME;
  }
  if (!rc) {
    ac.rows = malloc(2 * batch * (nc + nf) * sizeof(float));
    ac.lab = malloc(batch * sizeof(int32_t));
    ac.row_paths = per_image ? calloc(files.n + 1, sizeof *ac.row_paths) : NULL;
    if (!ac.rows || !ac.lab || (per_image && !ac.row_paths)) rc = (fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME);
  }
  if (!rc) {
    install_interrupt_handler();
    ac.audit = audit;
    ac.labels = use_labels ? use_labels + ac.offset : NULL;
    ac.state = state;
    ac.last_save = now_seconds();
    ac.done = ac.offset;
    ac.item_paths = files.paths + ac.offset;
    if (!early)
      audit_inputs(&pc, &spec, &files, watermarked ? &wm_files : NULL, wm, first_global, ac.offset, &pre, &o,
                   examples ? examples_dir : NULL, examples, &ac);
    spec.session = s;
    spec.started = started, started = NULL; /* run_images frees it */
    rc = run_images(&spec, &o);
    if (rc == EXIT_OK || rc == EXIT_INTERRUPTED) {
      int src = save_state(&ac);
      if (src) rc = src;
      else if (rc == EXIT_INTERRUPTED)
        fprintf(stderr, "state saved to '%s' (%zu of %zu images done); to continue, run the same command with "
                        "--resume\n", state, ac.done, files.n);
    }
    bool empty_shard = files.n == 0; /* e.g. more shards than images: a valid state of 0 pairs */
    if (rc == EXIT_OK && empty_shard) {
      fprintf(stderr, "note: shard %zu/%zu has no images: its state '%s' holds no pairs (merge it with the others)\n",
              shard_i, shard_n, state);
    } else if (rc == EXIT_OK && wmf_audit_num_pairs(audit) == 0) {
      fprintf(stderr, "error: no image could be audited\n");
      rc = EXIT_RUNTIME;
    }
    if (rc == EXIT_OK && !empty_shard && (st = wmf_audit_set_bootstrap(audit, (size_t)resamples, (uint64_t)o.seed, level)))
      rc = fail_status(st, "--bootstrap");
    if (rc == EXIT_OK && !empty_shard) rc = write_per_image(audit, per_image, ac.row_paths, (size_t)top, rank);
    if (rc == EXIT_OK && !empty_shard) {
      report_info info = {watermarked != NULL, unpaired};
      if ((st = report_write(audit, out, rank))) rc = fail_status(st, "writing the report");
      else if ((st = o.json ? report_print_json(audit, (size_t)top, rank, &info, stdout)
                            : report_print(audit, (size_t)top, rank, &info, stdout)))
        rc = fail_status(st, "summarizing");
      else if (!o.json && !o.quiet)
        printf("\nreport: %s/report.json, classes.csv, channels.csv, *.svg; state: %s\n", out, state);
    }
  }
  pipeline_free(started); /* workers started before an error (joined after their current item) */
  free(ac.rows);
  free(ac.lab);
  free(ac.row_paths);
  wmf_audit_destroy(audit);
  wmf_audit_destroy(now);
  wmf_watermark_destroy(wm);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  wmf_weights_destroy(w);
  file_list_free(&files);
  file_list_free(&wm_files);
  return rc;
}
