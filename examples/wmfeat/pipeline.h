/* A small worker pipeline so decoding and preprocessing overlap the forward pass: worker threads fill
 * the slots of upcoming batches while the caller consumes the current one. Items are processed in
 * order of index; batch b holds items [b*batch, (b+1)*batch). */
#ifndef WMFEAT_PIPELINE_H
#define WMFEAT_PIPELINE_H
#include <stdbool.h>
#include <stddef.h>

/* Fills slot `slot` of `buffer` with item `item`. Returns true on success; on failure writes a message
 * to err (the item is then marked failed and skipped by the consumer). Called from worker threads. */
typedef bool (*pipeline_prepare_fn)(void *ctx, size_t item, float *buffer, size_t slot, char *err,
                                    size_t errlen);

typedef struct pipeline pipeline;

typedef struct pipeline_batch {
  float *buffer;    /* the filled buffer */
  size_t first;     /* index of the batch's first item */
  size_t count;     /* items in this batch (the last one may be short) */
  const bool *ok;   /* ok[i]: item first+i was prepared */
  const char *const *errors; /* errors[i]: message for a failed item, else "" */
} pipeline_batch;

/* Starts `workers` threads over `n_items` items, in batches of `batch`, each buffer holding
 * `buffer_floats` floats. Returns NULL when out of memory or threads cannot start. */
pipeline *pipeline_start(size_t n_items, size_t batch, size_t buffer_floats, int workers,
                         pipeline_prepare_fn prepare, void *ctx);

/* Waits for the next batch; false when all batches were consumed or the pipeline was stopped. The
 * batch stays valid until the next pipeline_next() call. */
bool pipeline_next(pipeline *p, pipeline_batch *out);

/* Exclusive (default false): the workers prepare items only while the caller does not hold a batch,
 * i.e. from the pipeline_next() that releases one until the next batch is handed over; a worker busy
 * with an item when a batch is handed over finishes that item first. For a caller whose computation
 * occupies every core: the workers then never preempt it (with OpenMP, a preempted thread keeps the
 * others waiting at the next barrier), and preparing a batch takes the cores in turn with it. */
void pipeline_set_exclusive(pipeline *p, bool exclusive);

/* At most `n` workers prepare items at once (n <= 0: all of them; the default), e.g. fewer while the
 * caller does other work on some of the cores, such as loading the model before its first batch. A
 * worker busy with an item when the cap falls finishes that item. */
void pipeline_set_active(pipeline *p, int n);

/* Asks workers to stop after their current item (e.g. on Ctrl-C). */
void pipeline_stop(pipeline *p);

/* Stops, joins the workers and frees everything. NULL is accepted. */
void pipeline_free(pipeline *p);

#endif
