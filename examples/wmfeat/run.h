/* Runs a session over many images: worker threads decode and preprocess (and watermark) the next
 * batches while the forward pass runs on the current one; results are handed to a callback batch by
 * batch. Each item is one image, or a (clean, watermarked) pair when `pairs` is set: then the buffer
 * holds the clean images in slots [0, batch) and their twins in [batch, 2*batch). */
#ifndef WMFEAT_RUN_H
#define WMFEAT_RUN_H
#include "common.h"
#include "pipeline.h"

typedef struct run_outputs {
  const float *logits[2];   /* [0]: clean (or the only) images, [1]: watermarked twins */
  const float *features[2];
  size_t num_classes, num_features;
} run_outputs;

/* Called after each forward pass; returns 0 to go on, or an exit code to stop. */
typedef int (*run_batch_fn)(void *ctx, const pipeline_batch *batch, const run_outputs *out);

typedef struct run_spec {
  wmf_session *session;
  size_t n_items;
  bool pairs;
  unsigned crop; /* the session's input size */
  pipeline_prepare_fn prepare;
  void *prepare_ctx;
  run_batch_fn on_batch;
  void *ctx;
  const char *label; /* progress label */
} run_spec;

/* Returns EXIT_OK, EXIT_RUNTIME (printed), or EXIT_INTERRUPTED after the batches finished so far. */
int run_images(const run_spec *spec, const common_opts *o);

/* A prepare function for plain image files: `ctx` is a run_files_ctx. */
typedef struct run_files_ctx {
  char **paths;
  unsigned resize, crop;
} run_files_ctx;
bool prepare_image_file(void *ctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen);

#endif
