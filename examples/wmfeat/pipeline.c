#include "pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { RING = 3, ERRLEN = 256 };

typedef struct slotbuf {
  float *data;
  size_t batch;   /* which batch this buffer is holding or will hold */
  size_t pending; /* items of that batch not yet prepared */
  bool *ok;
  char (*err)[ERRLEN];
  const char **errp;
} slotbuf;

struct pipeline {
  size_t n_items, batch, n_batches, next_item, consumed; /* consumed: batches handed to the caller */
  slotbuf ring[RING];
  bool stopping, holding; /* holding: the caller holds batch consumed-1 */
  bool exclusive;         /* workers pause while the caller holds a batch (pipeline_set_exclusive) */
  int active, cap;        /* workers preparing an item now; at most cap of them (0: no cap) */
  pipeline_prepare_fn prepare;
  void *ctx;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t *threads;
  int n_threads;
};

static size_t batch_size(const pipeline *p, size_t b) {
  size_t first = b * p->batch;
  return p->n_items - first < p->batch ? p->n_items - first : p->batch;
}

static void *worker(void *arg) {
  pipeline *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    /* The next item may start only when its buffer is free: the batch it held was released. */
    while (!p->stopping && p->next_item < p->n_items &&
           (p->ring[(p->next_item / p->batch) % RING].batch != p->next_item / p->batch || (p->exclusive && p->holding) ||
            (p->cap > 0 && p->active >= p->cap)))
      pthread_cond_wait(&p->cv, &p->mu);
    if (p->stopping || p->next_item >= p->n_items) break;
    size_t item = p->next_item++, b = item / p->batch, slot = item % p->batch;
    slotbuf *s = &p->ring[b % RING];
    p->active++;
    pthread_mutex_unlock(&p->mu);
    char err[ERRLEN] = "";
    bool ok = p->prepare(p->ctx, item, s->data, slot, err, sizeof err);
    pthread_mutex_lock(&p->mu);
    p->active--;
    s->ok[slot] = ok;
    memcpy(s->err[slot], err, ERRLEN);
    if (--s->pending == 0 || p->cap > 0) pthread_cond_broadcast(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

pipeline *pipeline_start(size_t n_items, size_t batch, size_t buffer_floats, int workers,
                         pipeline_prepare_fn prepare, void *ctx) {
  if (batch == 0 || workers < 1) return NULL;
  pipeline *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n_items = n_items;
  p->batch = batch;
  p->n_batches = (n_items + batch - 1) / batch;
  p->prepare = prepare;
  p->ctx = ctx;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  for (size_t i = 0; i < RING; i++) {
    slotbuf *s = &p->ring[i];
    s->data = calloc(buffer_floats ? buffer_floats : 1, sizeof(float));
    s->ok = calloc(batch, sizeof(bool));
    s->err = calloc(batch, ERRLEN);
    s->errp = calloc(batch, sizeof(char *));
    if (!s->data || !s->ok || !s->err || !s->errp) goto fail;
    for (size_t j = 0; j < batch; j++) s->errp[j] = s->err[j];
    s->batch = i;
    s->pending = i < p->n_batches ? batch_size(p, i) : 0;
  }
  p->threads = calloc((size_t)workers, sizeof(pthread_t));
  if (!p->threads) goto fail;
  for (int i = 0; i < workers; i++) {
    if (pthread_create(&p->threads[i], NULL, worker, p) != 0) break;
    p->n_threads++;
  }
  if (p->n_threads == 0) goto fail;
  return p;
fail:
  pipeline_free(p);
  return NULL;
}

bool pipeline_next(pipeline *p, pipeline_batch *out) {
  pthread_mutex_lock(&p->mu);
  if (p->holding) { /* release the previous batch's buffer for batch + RING */
    slotbuf *prev = &p->ring[(p->consumed - 1) % RING];
    prev->batch = p->consumed - 1 + RING;
    prev->pending = prev->batch < p->n_batches ? batch_size(p, prev->batch) : 0;
    p->holding = false;
    pthread_cond_broadcast(&p->cv);
  }
  size_t b = p->consumed;
  slotbuf *s = &p->ring[b % RING];
  while (!p->stopping && b < p->n_batches && s->pending > 0) pthread_cond_wait(&p->cv, &p->mu);
  bool have = !p->stopping && b < p->n_batches;
  if (have) {
    *out = (pipeline_batch){s->data, b * p->batch, batch_size(p, b), s->ok, s->errp};
    p->consumed++;
    p->holding = true;
  }
  pthread_mutex_unlock(&p->mu);
  return have;
}

void pipeline_set_exclusive(pipeline *p, bool exclusive) {
  pthread_mutex_lock(&p->mu);
  p->exclusive = exclusive;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void pipeline_set_active(pipeline *p, int n) {
  pthread_mutex_lock(&p->mu);
  p->cap = n > 0 ? n : 0;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void pipeline_stop(pipeline *p) {
  pthread_mutex_lock(&p->mu);
  p->stopping = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void pipeline_free(pipeline *p) {
  if (!p) return;
  if (p->n_threads) pipeline_stop(p);
  for (int i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
  free(p->threads);
  for (size_t i = 0; i < RING; i++) {
    free(p->ring[i].data);
    free(p->ring[i].ok);
    free(p->ring[i].err);
    free(p->ring[i].errp);
  }
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
}
