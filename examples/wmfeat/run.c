#include "run.h"

#include <stdlib.h>
#include <string.h>

#include "progress.h"

/* Resizes (shorter side) and crops one image. */
static wmf_status resize_crop(wmf_image **out, const wmf_image *img, const preprocessing *pre) {
  wmf_image *resized = NULL;
  wmf_status st = wmf_image_resize_shorter(&resized, img, pre->resize, pre->filter);
  if (!st) st = wmf_image_center_crop(out, resized, pre->crop, pre->crop);
  wmf_image_destroy(resized);
  return st;
}

bool prepare_image_file(void *ctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen) {
  const run_files_ctx *c = ctx;
  const preprocessing *pre = &c->pre;
  size_t per = (size_t)3 * pre->crop * pre->crop;
  wmf_image *img = NULL, *crop = NULL;
  wmf_status st = wmf_image_load(&img, c->paths[item], NULL);
  if (!st && pre->filter == WMF_FILTER_BILINEAR) /* one call that resizes only the crop's window */
    st = wmf_preprocess(img, pre->resize, pre->crop, &pre->norm, buffer, per * (slot + 1), slot);
  else if (!st) {
    st = resize_crop(&crop, img, pre);
    if (!st) st = wmf_image_to_tensor(crop, &pre->norm, buffer, per * (slot + 1), slot);
  }
  wmf_image_destroy(img);
  wmf_image_destroy(crop);
  if (st) snprintf(err, errlen, "%s: %s", wmf_status_name(st), wmf_last_error());
  return st == WMF_OK;
}

size_t session_features(const wmf_session *s) {
  return wmf_session_stage_count(s) ? wmf_session_stage_count(s) : wmf_session_feature_count(s);
}

uint64_t watermark_seed(uint64_t seed, size_t index) { return seed * 1000003u + index; }

/* Loads, resizes and crops one image. */
static wmf_status load_crop(wmf_image **out, const char *path, const preprocessing *pre) {
  wmf_image *img = NULL;
  *out = NULL;
  wmf_status st = wmf_image_load(&img, path, NULL);
  if (!st) st = resize_crop(out, img, pre);
  wmf_image_destroy(img);
  return st;
}

bool prepare_marked(void *vctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen) {
  const marked_ctx *c = vctx;
  size_t copies = c->want == MARKED_PAIR ? 2 : 1, cap = copies * c->batch * 3 * (size_t)c->pre.crop * c->pre.crop;
  size_t wm_slot = c->want == MARKED_PAIR ? c->batch + slot : slot, global = c->first_global + item;
  const char *failed = c->paths[item];
  char path[4200];
  wmf_image *crop = NULL, *twin = NULL;
  wmf_status st = load_crop(&crop, c->paths[item], &c->pre);
  if (!st && (c->want & MARKED_CLEAN)) st = wmf_image_to_tensor(crop, &c->pre.norm, buffer, cap, slot);
  if (!st && (c->want & MARKED_WM)) {
    if (c->wm_paths) {
      failed = c->wm_paths[item];
      st = load_crop(&twin, c->wm_paths[item], &c->pre);
    } else {
      st = wmf_watermark_apply(c->wm, crop, watermark_seed(c->seed, global));
    }
    wmf_image *marked = twin ? twin : crop;
    if (!st) st = wmf_image_to_tensor(marked, &c->pre.norm, buffer, cap, wm_slot);
    if (!st && c->examples_dir && global < c->examples) {
      const char *base = strrchr(c->paths[item], '/');
      base = base ? base + 1 : c->paths[item];
      snprintf(path, sizeof path, "%s/%06zu_%.*s.png", c->examples_dir, global,
               (int)(strrchr(base, '.') ? (size_t)(strrchr(base, '.') - base) : strlen(base)), base);
      if ((st = wmf_image_save(marked, path, 95))) failed = path;
    }
  }
  if (st) snprintf(err, errlen, "%s: %s: %s", failed, wmf_status_name(st), wmf_last_error());
  wmf_image_destroy(crop);
  wmf_image_destroy(twin);
  return st == WMF_OK;
}

pipeline *run_start_workers(const run_spec *s, const common_opts *o) {
  size_t batch = (size_t)o->batch, copies = s->pairs ? 2 : 1, per = (size_t)3 * s->crop * s->crop;
  bool exclusive;
  int workers = worker_count(o, &exclusive);
  pipeline *p = pipeline_start(s->n_items, batch, copies * batch * per, workers, s->prepare, s->prepare_ctx);
  if (p) pipeline_set_exclusive(p, exclusive);
  else fprintf(stderr, "error: out of memory for batches of %zu\n", batch);
  return p;
}

int run_images(const run_spec *s, const common_opts *o) {
  size_t batch = (size_t)o->batch, copies = s->pairs ? 2 : 1;
  size_t per = (size_t)3 * s->crop * s->crop;
  /* a session with a stage (--stage) hands out the stage's pooled output as its features */
  size_t nc = wmf_session_logit_count(s->session), nf = session_features(s->session);
  float *logits = malloc(copies * batch * nc * sizeof(float));
  float *features = malloc(copies * batch * nf * sizeof(float));
  pipeline *p = s->started ? s->started : run_start_workers(s, o);
  if (!p) return free(logits), free(features), EXIT_RUNTIME;
  if (!logits || !features) {
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
      bool stage = wmf_session_stage_count(s->session) > 0;
      wmf_status st = wmf_session_run(s->session, b.buffer + c * batch * per, b.count, (float *)out.logits[c],
                                      batch * nc, stage ? NULL : (float *)out.features[c], batch * nf);
      if (!st && stage) st = wmf_session_stage_features(s->session, (float *)out.features[c], batch * nf);
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
