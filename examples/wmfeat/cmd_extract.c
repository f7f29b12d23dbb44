/* wmfeat extract: penultimate features (and optionally logits) of every image to .npy files. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "commands.h"
#include "json_out.h"
#include "files.h"
#include "provenance.h"
#include "run.h"

typedef struct extract_ctx {
  float *features, *logits;
  size_t nf, nc, done;
} extract_ctx;

static int keep_batch(void *vctx, const pipeline_batch *b, const run_outputs *out) {
  extract_ctx *c = vctx;
  memcpy(c->features + b->first * c->nf, out->features[0], b->count * c->nf * sizeof(float));
  if (c->logits) memcpy(c->logits + b->first * c->nc, out->logits[0], b->count * c->nc * sizeof(float));
  /* failed images get NaN rows in both files (their slots hold whatever an earlier batch left), so rows
   * stay aligned with paths and nothing stale is written */
  for (size_t i = 0; i < b->count; i++)
    if (!b->ok[i]) {
      for (size_t j = 0; j < c->nf; j++) c->features[(b->first + i) * c->nf + j] = NAN;
      for (size_t j = 0; c->logits && j < c->nc; j++) c->logits[(b->first + i) * c->nc + j] = NAN;
    }
  c->done = b->first + b->count;
  return EXIT_OK;
}

/* OUT.json beside the features OUT (a regular file, or one to be created: not beside a FIFO or a device):
 * what produced the rows, with the provenance fields of an audit state (precision among them), so that
 * `wmfeat probe` can refuse features of another precision. Returns 0 or EXIT_RUNTIME (printed). */
static int write_sidecar(const char *out, const char *logits, const run_record *r, size_t rows, size_t cols) {
  struct stat sb;
  if (stat(out, &sb) == 0 && !S_ISREG(sb.st_mode)) return 0;
  char path[4200];
  if (snprintf(path, sizeof path, "%s.json", out) >= (int)sizeof path)
    return fprintf(stderr, "error: '%s': path too long\n", out), EXIT_RUNTIME;
  json_t *prov = run_provenance_json(r);
  if (!prov) return EXIT_RUNTIME;
  return json_out_write(json_pack("{s:s, s:o, s:I, s:I, s:o, s:o}", "format", "wmfeat-extract", "features",
                                  json_out_string(out), "rows", (json_int_t)rows, "columns", (json_int_t)cols,
                                  "logits", json_out_string(logits), "provenance", prov),
                        path);
}

/* One label per line: the input's subfolder index, or -1 where unknown. */
static int write_labels(const char *path, const int *labels, size_t n) {
  out_file of;
  bool ok = out_file_open(&of, path) == 0;
  for (size_t i = 0; ok && i < n; i++) ok = fprintf(of.f, "%d\n", labels[i]) > 0;
  if (of.f && out_file_commit(&of, ok) != 0) ok = false;
  if (!ok) fprintf(stderr, "error: cannot write '%s': %s\n", path, strerror(errno));
  return ok ? 0 : -1;
}

int cmd_extract(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *arch = NULL, *sd_key = NULL, *out = "features.npy", *logits_out = NULL, *labels_out = NULL;
  const char *preset = NULL, *stage = NULL;
  long resize = 0, crop = 0; /* 0: the model's */
  arg_spec specs[] = {{"out", ARG_STRING, &out, "features file (.npy, float32, images x features)"},
                      {"logits", ARG_STRING, &logits_out, "also write the logits to this .npy file"},
                      {"labels-out", ARG_STRING, &labels_out, "write each row's label here, one per line (-1: none): "
                                                              "the list file's, the ImageNet index of a WordNet-id "
                                                              "subfolder, else the subfolder's sorted index"},
                      STAGE_SPEC(stage),
                      {"preset", ARG_STRING, &preset,
                       "features of the watermarked images: drawn as `wmfeat audit --preset` draws them (same crop, same --seed)"},
                      NETWORK_SPECS(arch, resize, crop, sd_key), COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat extract WEIGHTS INPUT [--out features.npy] [options]\n"
                      "  rows follow the input order; an image that cannot be read gets a row of NaN\n"
                      "  --preset P: the watermarked twins' features, equal to the rows of `wmfeat audit --preset P`";
  const char *pos[2];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 2, 2, &np, &o, &rc)) return rc;
  bool bf16;
  if ((rc = check_precision(true, &bf16))) return rc;
  if ((rc = check_resize_crop(resize, crop))) return rc;
  file_list files;
  char err[512];
  if (file_list_load(&files, pos[1], err, sizeof err)) return fprintf(stderr, "error: %s\n", err), EXIT_RUNTIME;
  file_list_limit(&files, (size_t)o.limit);
  file_list_warn_unsupported(&files, 20);
  wmf_weights *w = NULL;
  wmf_model *m = NULL;
  wmf_session *s = NULL;
  wmf_watermark *wm = NULL;
  extract_ctx ec = {0};
  char inputs_fp[48];
  rc = list_fingerprint(inputs_fp, &files, pos[1], files.source == FILE_LABELS_LIST);
  wmf_status st = rc || !preset ? WMF_OK : wmf_watermark_from_preset(&wm, preset);
  if (!rc) rc = st ? fail_status(st, preset) : open_model(pos[0], arch, sd_key, &w, &m);
  preprocessing pre;
  if (!rc) rc = model_preprocessing(m, resize, crop, &pre);
  /* as `wmfeat audit --preset` draws it: the preset's sizes follow the crop (ImageNet-W's AddWatermark(crop)) */
  if (!rc && wm && (st = wmf_watermark_set_reference_size(wm, pre.crop))) rc = fail_status(st, "--crop");
  if (!rc) rc = open_session(m, &o, pre.crop, bf16, stage, &s);
  if (!rc) {
    ec.nf = session_features(s);
    ec.nc = wmf_session_logit_count(s);
    ec.features = malloc(files.n * ec.nf * sizeof(float));
    ec.logits = logits_out ? malloc(files.n * ec.nc * sizeof(float)) : NULL;
    if (!ec.features || (logits_out && !ec.logits)) rc = (fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME);
  }
  if (!rc) {
    install_interrupt_handler();
    /* the audit's own preparation, so clean and watermarked rows come from the same crop as its pairs */
    marked_ctx mc = {files.paths, NULL, wm, 0, pre, (size_t)o.batch, (uint64_t)o.seed,
                     wm ? MARKED_WM : MARKED_CLEAN, NULL, 0};
    run_spec spec = {s, files.n, false, pre.crop, prepare_marked, &mc, keep_batch, &ec, "extract", NULL};
    rc = run_images(&spec, &o);
    if ((rc == EXIT_OK || rc == EXIT_INTERRUPTED) && ec.done) { /* keep what is done */
      const char *failed = wmf_npy_save_f32(out, ec.features, ec.done, ec.nf) ? out
                           : logits_out && wmf_npy_save_f32(logits_out, ec.logits, ec.done, ec.nc) ? logits_out
                                                                                                   : NULL;
      if (failed) {
        fprintf(stderr, "error: %s (a previous file there is kept)\n", wmf_last_error());
        rc = EXIT_RUNTIME;
      } else if (labels_out && write_labels(labels_out, files.labels, ec.done)) {
        rc = EXIT_RUNTIME;
      } else if (write_sidecar(out, logits_out,
                               &(run_record){w, m, wm, (unsigned long)o.seed, pre, bf16, stage, inputs_fp, 0, 1},
                               ec.done, ec.nf)) {
        rc = EXIT_RUNTIME;
      } else if (o.json) {
        rc = json_out_print(json_pack("{s:I, s:I, s:o, s:o, s:o, s:s, s:s}", "images", (json_int_t)ec.done, "features",
                                      (json_int_t)ec.nf, "out", json_out_string(out), "logits",
                                      json_out_string(logits_out), "labels_out", json_out_string(labels_out), "labels",
                                      file_list_label_source(&files), "precision", precision_name(bf16)));
      } else if (!o.quiet) {
        fprintf(stderr, "wrote %s (%zu x %zu, %s)%s%s", out, ec.done, ec.nf, precision_name(bf16),
                logits_out ? " and " : "", logits_out ? logits_out : "");
        if (labels_out) fprintf(stderr, ", labels (%s) to %s", file_list_label_source(&files), labels_out);
        fputc('\n', stderr);
      }
    }
  }
  free(ec.features);
  free(ec.logits);
  wmf_watermark_destroy(wm);
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  wmf_weights_destroy(w);
  file_list_free(&files);
  return rc;
}
