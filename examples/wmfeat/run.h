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
  pipeline *started; /* NULL, or run_start_workers' pipeline for these items: run_images takes it over */
} run_spec;

/* Starts the workers of `spec` (n_items, pairs, crop, prepare; the session is not needed yet) before
 * run_images, e.g. while the model loads: they prepare the first batches (as many as the pipeline holds)
 * meanwhile. Put the result in spec->started; free it with pipeline_free if run_images is never called.
 * NULL when out of memory (printed). */
pipeline *run_start_workers(const run_spec *spec, const common_opts *o);

/* Returns EXIT_OK, EXIT_RUNTIME (printed), or EXIT_INTERRUPTED after the batches finished so far. */
int run_images(const run_spec *spec, const common_opts *o);

/* A prepare function for plain image files: `ctx` is a run_files_ctx. */
typedef struct run_files_ctx {
  char **paths;
  preprocessing pre;
} run_files_ctx;
bool prepare_image_file(void *ctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen);

/* The audit's inputs, shared by `audit` and `extract` so both see the same crop: each image is resized
 * (shorter side, pre.filter) and center-cropped; the watermark is drawn on the crop before normalization (pre.norm), as
 * ImageNet-W does, with the seed watermark_seed(seed, first_global + item), or the twin is read from
 * wm_paths[item] (pre-rendered) and goes through the same resize and crop. `want` says which tensors
 * are written: MARKED_PAIR puts the clean one in slot `slot` and the watermarked one in batch + slot;
 * MARKED_CLEAN or MARKED_WM put that one in `slot`. The first `examples` watermarked crops (global
 * index) are saved as PNG into examples_dir, as the network saw them before normalization. */
enum { MARKED_CLEAN = 1, MARKED_WM = 2, MARKED_PAIR = 3 };
typedef struct marked_ctx {
  char **paths;
  char **wm_paths;          /* pre-rendered twins, or NULL */
  const wmf_watermark *wm;  /* the recipe when wm_paths is NULL */
  size_t first_global;      /* global index of paths[0]: seeds depend on it, so shards equal one run */
  preprocessing pre;
  size_t batch;
  uint64_t seed;
  int want;
  const char *examples_dir; /* NULL: none saved */
  size_t examples;
} marked_ctx;
bool prepare_marked(void *ctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen);

/* Features per image a run hands out: the stage's channels when the session has one, else the model's. */
size_t session_features(const wmf_session *session);

/* The watermark seed of the image at `index` of the whole input list (after --limit). */
uint64_t watermark_seed(uint64_t seed, size_t index);

#endif
