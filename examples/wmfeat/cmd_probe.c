/* wmfeat probe: trains a linear softmax head on extracted features with and without a channel mask and
 * compares them: accuracy on a clean test set, on a watermarked one, and how far the head's logits move
 * between the two (Mark My Words' evaluation). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "json_out.h"
#include "sweep.h"

typedef struct eval {
  double clean, wm, auc_dev; /* accuracies; mean |AUC - 0.5| of the head's logits, clean vs watermarked */
} eval;

static wmf_status evaluate(const wmf_probe *p, const float *te, const int32_t *yte, size_t nte, const float *tw,
                           const int32_t *ytw, size_t ntw, eval *e) {
  *e = (eval){NAN, NAN, NAN};
  wmf_status st = wmf_probe_accuracy(&e->clean, p, te, yte, nte);
  if (st || !tw) return st;
  if ((st = wmf_probe_accuracy(&e->wm, p, tw, ytw, ntw))) return st;
  size_t k = wmf_probe_num_classes(p);
  double *auc = malloc(k * sizeof *auc);
  if (!auc) return WMF_ERR_OUT_OF_MEMORY;
  st = wmf_probe_logit_auc(auc, k, p, te, nte, tw, ntw);
  double s = 0;
  for (size_t i = 0; i < k; i++) s += fabs(auc[i] - 0.5);
  e->auc_dev = s / (double)k;
  free(auc);
  return st;
}


/* A head's evaluation and how its training ended, as JSON. */
static json_t *eval_json(const wmf_probe *p, const eval *e) {
  uint32_t it = 0;
  int conv = 0;
  double grad = NAN;
  wmf_probe_training_info(&it, &conv, NULL, &grad, p);
  return json_pack("{s:o, s:o, s:o, s:b, s:I}", "clean", json_out_number(e->clean), "watermarked", json_out_number(e->wm),
                   "auc_deviation", json_out_number(e->auc_dev), "converged", conv, "iterations", (json_int_t)it);
}

/* Trains like wmf_probe_train, but a head that stopped at the iteration limit is kept with a warning (as
 * scikit-learn's ConvergenceWarning): training_info and the JSON output say it did not converge. */
static wmf_status train_head(wmf_probe **out, const float *x, const int32_t *y, size_t n, size_t f, size_t k,
                             const wmf_mask *mask, const wmf_probe_options *po, const char *what) {
  wmf_status st = wmf_probe_train(out, x, y, n, f, k, mask, po);
  if (st == WMF_ERR_LIMIT && *out) {
    fprintf(stderr, "warning: %s: %s; raise --max-iter or --tol, or scale the features\n", what, wmf_last_error());
    return WMF_OK;
  }
  return st;
}

/* The precision `recorded` for `what` (an input of probe) against --precision: 0, or EXIT_RUNTIME after
 * naming the field and both values. NULL (nothing recorded: features of another program) is accepted. */
static int same_precision(const char *option, const char *what, const char *recorded, const char *source) {
  if (!recorded || !strcmp(recorded, network_precision)) return 0;
  fprintf(stderr, "error: %s %s: precision differs (%s: %s, now: %s): features of another precision are not mixed; "
                  "pass --precision %s, or extract them again\n", option, what, source, recorded, network_precision,
          recorded);
  return EXIT_RUNTIME;
}

/* Checks the precision `wmfeat extract` recorded in FEATURES.json beside a features file, if any. */
static int features_precision(const char *option, const char *path) {
  if (!path) return 0;
  char side[4200];
  snprintf(side, sizeof side, "%s.json", path);
  if (access(side, F_OK) != 0) return 0;
  json_error_t jerr;
  json_t *j = json_load_file(side, 0, &jerr);
  const char *p = NULL;
  if (!j || json_unpack(j, "{s:{s:s}}", "provenance", "precision", &p)) {
    fprintf(stderr, "error: %s %s: '%s' is not the provenance file of wmfeat extract (%s)\n", option, path, side,
            j ? "no provenance.precision" : jerr.text);
    json_decref(j);
    return EXIT_RUNTIME;
  }
  int rc = same_precision(option, path, p, side);
  json_decref(j);
  return rc;
}

static wmf_mask *load_mask(const char *path, wmf_status *st) {
  wmf_mask *m = NULL;
  size_t len = strlen(path);
  *st = len > 4 && !strcmp(path + len - 4, ".npy") ? wmf_mask_load_npy(&m, path) : wmf_mask_load_json(&m, path);
  return m;
}

typedef struct sweep_args {
  const float *xtr;
  const int32_t *ytr;
  size_t ntr;
  const float *xte;
  const int32_t *yte;
  size_t nte;
  const float *xtw;
  const int32_t *ytw;
  size_t ntw, f, classes;
  const wmf_probe_options *options; /* C, --max-iter, --tol */
  const char *fractions, *audit, *auc_clean, *auc_wm, *rule, *rank, *out;
  bool has_mask;
  const common_opts *o;
} sweep_args;

/* The channel AUCs of the sweep: from an audit state, or from clean and watermarked features. */
static double *channel_aucs(const sweep_args *a, char *source, size_t len) {
  wmf_audit *audit = NULL;
  wmf_status st = WMF_OK;
  const char *what = a->audit;
  if (a->audit) {
    st = wmf_audit_load(&audit, a->audit);
    if (!st && same_precision("--audit", a->audit, wmf_audit_provenance(audit, "precision"), "state")) {
      wmf_audit_destroy(audit);
      return NULL;
    }
    if (!st && wmf_audit_num_features(audit) != a->f) {
      fprintf(stderr, "error: --audit %s has %zu feature channels, the features %zu\n", a->audit,
              wmf_audit_num_features(audit), a->f);
      wmf_audit_destroy(audit);
      return NULL;
    }
    snprintf(source, len, "audit %s", a->audit);
  } else {
    size_t nc, fc, nw, fw;
    float *c = read_npy_f32(a->auc_clean, &nc, &fc), *w = c ? read_npy_f32(a->auc_wm, &nw, &fw) : NULL;
    if (c && w && (nc != nw || fc != a->f || fw != a->f)) {
      fprintf(stderr, "error: --auc-clean is %zu x %zu, --auc-wm %zu x %zu, the features have %zu channels\n", nc, fc,
              nw, fw, a->f);
      free(c), free(w);
      return NULL;
    }
    if (!c || !w) return free(c), free(w), NULL;
    st = wmf_audit_create(&audit, 0, a->f);
    if (!st) st = wmf_audit_add(audit, nc, NULL, NULL, c, w, NULL);
    free(c), free(w);
    what = a->auc_clean;
    snprintf(source, len, "features %s vs %s", a->auc_clean, a->auc_wm);
  }
  double *auc = malloc(a->f * sizeof *auc);
  if (!st && !auc) st = WMF_ERR_OUT_OF_MEMORY;
  if (!st) st = wmf_audit_scores(auc, a->f, audit, WMF_AUDIT_CHANNELS, WMF_SCORE_AUC);
  wmf_audit_destroy(audit);
  if (st) {
    fail_status(st, what);
    free(auc);
    return NULL;
  }
  return auc;
}

static int probe_sweep(const sweep_args *a) {
  if (a->has_mask || (!a->audit == !(a->auc_clean && a->auc_wm)) || (!a->auc_clean != !a->auc_wm)) {
    fprintf(stderr, "error: --sweep needs --audit STATE or both --auc-clean and --auc-wm (and no --mask)\n");
    return EXIT_USAGE;
  }
  sweep_spec s = {0};
  if (sweep_parse_fractions(&s, a->fractions)) return EXIT_USAGE;
  if (strcmp(a->rule, "count") && strcmp(a->rule, "quantile"))
    return fprintf(stderr, "error: unknown --rule '%s' (count or quantile)\n", a->rule), EXIT_USAGE;
  if (strcmp(a->rank, "abs") && strcmp(a->rank, "auc"))
    return fprintf(stderr, "error: --rank '%s': the sweep ranks channels by abs or auc\n", a->rank), EXIT_USAGE;
  char source[8400];
  double *auc = channel_aucs(a, source, sizeof source);
  if (!auc) return EXIT_RUNTIME;
  s.train = a->xtr, s.train_labels = a->ytr, s.n_train = a->ntr;
  s.test = a->xte, s.test_labels = a->yte, s.n_test = a->nte;
  s.test_wm = a->xtw, s.test_wm_labels = a->ytw, s.n_test_wm = a->ntw;
  s.features = a->f, s.classes = a->classes, s.channel_auc = auc, s.auc_source = source;
  s.rank = strcmp(a->rank, "auc") ? WMF_MASK_BY_FROM_HALF : WMF_MASK_BY_VALUE;
  s.quantile = !strcmp(a->rule, "quantile");
  s.options = a->options, s.out = a->out, s.json = a->o->json, s.quiet = a->o->quiet;
  int rc = sweep_run(&s);
  free(auc);
  return rc;
}

int cmd_probe(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *train = NULL, *train_labels = NULL, *test = NULL, *test_labels = NULL, *test_wm = NULL,
             *test_wm_labels = NULL, *mask_path = NULL, *save = NULL, *fractions = SWEEP_PAPER_FRACTIONS,
             *audit_path = NULL, *auc_clean = NULL, *auc_wm = NULL, *rule = "count", *rank = "abs",
             *sweep_out = "wmfeat-sweep";
  double C = 1.0, tol = 1e-4;
  long max_iter = 1000;
  bool sweep = false;
  arg_spec specs[] = {{"train", ARG_STRING, &train, "training features (.npy from wmfeat extract)"},
                      {"train-labels", ARG_STRING, &train_labels, "training labels, one integer per line"},
                      {"test", ARG_STRING, &test, "clean test features (.npy)"},
                      {"test-labels", ARG_STRING, &test_labels, "test labels"},
                      {"test-wm", ARG_STRING, &test_wm, "watermarked test features (.npy), optional"},
                      {"test-wm-labels", ARG_STRING, &test_wm_labels, "their labels (default: --test-labels)"},
                      {"mask", ARG_STRING, &mask_path, "channel mask (.json or .npy from wmfeat mask)"},
                      {"C", ARG_DOUBLE, &C, "inverse L2 strength, as scikit-learn's C (default 1)"},
                      {"max-iter", ARG_INT, &max_iter, "L-BFGS iterations at most, as scikit-learn's max_iter (default 1000)"},
                      {"tol", ARG_DOUBLE, &tol, "stop when max |gradient| of the summed loss <= tol, as scikit-learn's "
                                                "tol (default 1e-4); also stops as its lbfgs does on a relative "
                                                "decrease of the loss <= 2.2e-9"},
                      {"save", ARG_STRING, &save, "save the masked head (or the unmasked one without --mask)"},
                      {"sweep", ARG_FLAG, &sweep, "mitigation sweep: a head per masked fraction (--fractions), channels ranked by --audit or --auc-clean/--auc-wm"},
                      {"fractions", ARG_STRING, &fractions, "with --sweep: ascending fractions (default Mark My Words' " SWEEP_PAPER_FRACTIONS ")"},
                      {"audit", ARG_STRING, &audit_path, "with --sweep: the audit state whose channel AUCs rank the channels"},
                      {"auc-clean", ARG_STRING, &auc_clean, "with --sweep: clean features (.npy) whose AUCs against --auc-wm rank the channels"},
                      {"auc-wm", ARG_STRING, &auc_wm, "with --sweep: their watermarked twins (.npy, same rows)"},
                      {"rule", ARG_STRING, &rule, "with --sweep: count (floor(p n + 1/2) channels, default) or quantile (Mark My Words: key > torch.quantile(key, 1 - p))"},
                      {"rank", ARG_STRING, &rank, "with --sweep: abs (|AUC - 0.5|, default) or auc (AUC descending)"},
                      {"out", ARG_STRING, &sweep_out, "with --sweep: output folder (default wmfeat-sweep)"},
                      {"precision", ARG_STRING, &network_precision,
                       "fp32|bf16: the precision the features were extracted at (default fp32); features (their "
                       "FILE.json from wmfeat extract) or an --audit state of another precision are refused"},
                      COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat probe --train F.npy --train-labels L.txt --test F.npy --test-labels L.txt\n"
                      "                    [--test-wm F.npy] [--mask mask.json] [--C 1] [--save head.bin]\n"
                      "       wmfeat probe --sweep (--audit STATE.wmfa | --auc-clean F.npy --auc-wm F.npy) --train ... --test ...\n"
                      "                    [--test-wm F.npy] [--fractions 0,0.005,...] [--rule count|quantile] [--out DIR]";
  const char *pos[1];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 0, 0, &np, &o, &rc)) return rc;
  if (!train || !train_labels || !test || !test_labels || !(C > 0)) return fprintf(stderr, "%s\n", usage), EXIT_USAGE;
  if (max_iter < 1 || max_iter > 1000000 || !(tol > 0))
    return fprintf(stderr, "error: need 1 <= --max-iter <= 1000000 and --tol > 0\n"), EXIT_USAGE;
  bool bf16; /* probe runs no network: bf16 needs no bf16 hardware here, only features of that precision */
  if ((rc = check_precision(false, &bf16))) return rc;
  const char *const inputs[][2] = {{"--train", train}, {"--test", test}, {"--test-wm", test_wm},
                                   {"--auc-clean", auc_clean}, {"--auc-wm", auc_wm}};
  for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
    if ((rc = features_precision(inputs[i][0], inputs[i][1]))) return rc;
  size_t ntr, f, nytr, nte, fte, nyte, ntw = 0, ftw = 0, nytw = 0;
  float *xtr = read_npy_f32(train, &ntr, &f), *xte = read_npy_f32(test, &nte, &fte);
  int32_t *ytr = read_labels(train_labels, &nytr), *yte = read_labels(test_labels, &nyte);
  float *xtw = test_wm ? read_npy_f32(test_wm, &ntw, &ftw) : NULL;
  int32_t *ytw = test_wm ? read_labels(test_wm_labels ? test_wm_labels : test_labels, &nytw) : NULL;
  wmf_probe *plain = NULL, *masked = NULL;
  wmf_mask *mask = NULL;
  wmf_status st = WMF_OK;
  if (!xtr || !xte || !ytr || !yte || (test_wm && (!xtw || !ytw))) rc = EXIT_RUNTIME;
  else if (nytr != ntr || nyte != nte || fte != f || (test_wm && (ntw != nytw || ftw != f))) {
    fprintf(stderr, "error: features and labels disagree: train %zu x %zu with %zu labels, test %zu x %zu with %zu labels\n",
            ntr, f, nytr, nte, fte, nyte);
    rc = EXIT_RUNTIME;
  }
  size_t classes = 0;
  for (size_t i = 0; !rc && i < ntr; i++) classes = (size_t)ytr[i] + 1 > classes ? (size_t)ytr[i] + 1 : classes;

  if (!rc && mask_path && (mask = load_mask(mask_path, &st)) == NULL) rc = fail_status(st, mask_path);
  wmf_probe_options po = WMF_PROBE_OPTIONS_INIT;
  po.C = C;
  po.max_iterations = (uint32_t)max_iter;
  po.tolerance = tol;
  po.sklearn_tolerance = 1;
  if (!rc && sweep) { /* the heads of the sweep train with the same options */
    rc = probe_sweep(&(sweep_args){xtr, ytr, ntr, xte, yte, nte, xtw, ytw, ntw, f, classes, &po, fractions, audit_path,
                                   auc_clean, auc_wm, rule, rank, sweep_out, mask_path != NULL, &o});
    free(xtr), free(xte), free(xtw), free(ytr), free(yte), free(ytw);
    wmf_mask_destroy(mask);
    return rc;
  }
  eval e0 = {0}, e1 = {0};
  if (!rc && (st = train_head(&plain, xtr, ytr, ntr, f, classes, NULL, &po, "the head"))) rc = fail_status(st, "training the head");
  if (!rc && (st = evaluate(plain, xte, yte, nte, xtw, ytw, ntw, &e0))) rc = fail_status(st, "evaluating");
  if (!rc && mask && (st = train_head(&masked, xtr, ytr, ntr, f, classes, mask, &po, "the masked head")))
    rc = fail_status(st, "training the masked head");
  if (!rc && mask && (st = evaluate(masked, xte, yte, nte, xtw, ytw, ntw, &e1))) rc = fail_status(st, "evaluating");
  if (!rc && save && (st = wmf_probe_save(mask ? masked : plain, save))) rc = fail_status(st, save);
  if (!rc && o.json) {
    json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:o}", "train", (json_int_t)ntr, "test", (json_int_t)nte, "features",
                          (json_int_t)f, "classes", (json_int_t)classes, "plain", eval_json(plain, &e0));
    if (j && mask) {
      json_t *mj = eval_json(masked, &e1);
      json_object_set_new(mj, "channels", json_integer((json_int_t)wmf_mask_count(mask)));
      json_object_set_new(j, "masked", mj);
    }
    rc = json_out_print(j);
  } else if (!rc) {
    printf("linear head, %zu classes, %zu features, trained on %zu, tested on %zu%s\n", classes, f, ntr, nte,
           test_wm ? " clean + watermarked" : "");
    printf("                      clean acc   watermarked acc   mean |AUC - 0.5| of logits\n");
    printf("  without mask        %8.2f%%   %14.2f%%   %10.3f\n", 100 * e0.clean, 100 * e0.wm, e0.auc_dev);
    if (mask)
      printf("  mask (%4zu masked)  %8.2f%%   %14.2f%%   %10.3f\n", wmf_mask_count(mask), 100 * e1.clean, 100 * e1.wm,
             e1.auc_dev);
  }
  wmf_probe_destroy(plain);
  wmf_probe_destroy(masked);
  wmf_mask_destroy(mask);
  free(xtr), free(xte), free(xtw), free(ytr), free(yte), free(ytw);
  return rc;
}
