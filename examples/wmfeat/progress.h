/* Progress reporting for long work: a redrawn bar with rate and ETA when stderr is a terminal, plain log
 * lines every few seconds otherwise. */
#ifndef WMFEAT_PROGRESS_H
#define WMFEAT_PROGRESS_H
#include <stdbool.h>
#include <stddef.h>

typedef struct progress {
  const char *label;
  size_t total, done; /* done: items processed, the skipped ones included */
  size_t skipped;     /* items that could not be used (shown apart, so 9/9 never hides them) */
  double start, last_draw;
  bool tty, quiet;
} progress;

void progress_start(progress *p, const char *label, size_t total, bool quiet);
void progress_update(progress *p, size_t done);
void progress_skip(progress *p, size_t n); /* n more items were skipped */
void progress_finish(progress *p);
double now_seconds(void);

#endif
