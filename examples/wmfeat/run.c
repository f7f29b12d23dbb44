#include "run.h"

#include <stdlib.h>
#include <string.h>

#include "progress.h"

bool prepare_image_file(void *ctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen) {
  const run_files_ctx *c = ctx;
  size_t per = (size_t)3 * c->crop * c->crop;
  wmf_image *img = NULL;
  wmf_status st = wmf_image_load(&img, c->paths[item], NULL);
  if (!st) st = wmf_preprocess(img, c->resize, c->crop, NULL, buffer, per * (slot + 1), slot);
  wmf_image_destroy(img);
  if (st) snprintf(err, errlen, "%s: %s", wmf_status_name(st), wmf_last_error());
  return st == WMF_OK;
}

int run_images(const run_spec *s, const common_opts *o) {
  size_t batch = (size_t)o->batch, copies = s->pairs ? 2 : 1;
  size_t per = (size_t)3 * s->crop * s->crop;
  size_t nc = wmf_session_logit_count(s->session), nf = wmf_session_feature_count(s->session);
  float *logits = malloc(copies * batch * nc * sizeof(float));
  float *features = malloc(copies * batch * nf * sizeof(float));
  pipeline *p = pipeline_start(s->n_items, batch, copies * batch * per, worker_count(), s->prepare,
                               s->prepare_ctx);
  if (!logits || !features || !p) {
    free(logits);
    free(features);
    pipeline_free(p);
    fprintf(stderr, "error: out of memory for batches of %zu\n", batch);
    return EXIT_RUNTIME;
  }
  progress bar;
  progress_start(&bar, s->label, s->n_items, o->quiet || o->json);
  int rc = EXIT_OK;
  pipeline_batch b;
  while (rc == EXIT_OK && !g_interrupted && pipeline_next(p, &b)) {
    for (size_t i = 0; i < b.count; i++)
      if (!b.ok[i]) {
        fprintf(stderr, "%swarning: skipped %zu: %s\n", bar.tty ? "\n" : "", b.first + i, b.errors[i]);
        progress_skip(&bar, 1);
      }
    run_outputs out = {{logits, logits + batch * nc}, {features, features + batch * nf}, nc, nf};
    for (size_t c = 0; c < copies && rc == EXIT_OK; c++) {
      wmf_status st = wmf_session_run(s->session, b.buffer + c * batch * per, b.count,
                                      (float *)out.logits[c], batch * nc, (float *)out.features[c], batch * nf);
      if (st) rc = fail_status(st, "forward pass");
    }
    if (rc == EXIT_OK) rc = s->on_batch(s->ctx, &b, &out);
    progress_update(&bar, b.first + b.count);
  }
  progress_finish(&bar);
  if (bar.skipped)
    fprintf(stderr, "warning: %zu of %zu images skipped (named above), %zu done\n", bar.skipped, bar.done,
            bar.done - bar.skipped);
  pipeline_free(p);
  free(logits);
  free(features);
  if (rc == EXIT_OK && g_interrupted) {
    fprintf(stderr, "interrupted: stopped after %zu of %zu images; results so far are kept\n", bar.done,
            s->n_items);
    rc = EXIT_INTERRUPTED;
  }
  return rc;
}
