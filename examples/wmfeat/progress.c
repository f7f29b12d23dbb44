#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void progress_start(progress *p, const char *label, size_t total, bool quiet) {
  *p = (progress){.label = label, .total = total, .start = now_seconds(), .tty = isatty(2), .quiet = quiet};
  p->last_draw = p->start;
}

static void draw(progress *p, bool final) {
  double t = now_seconds() - p->start;
  double rate = t > 0 ? (double)p->done / t : 0;
  double eta = rate > 0 && p->total > p->done ? (double)(p->total - p->done) / rate : 0;
  int pct = p->total ? (int)(100.0 * (double)p->done / (double)p->total) : 100;
  if (p->tty) {
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r%s [%s] %3d%% %zu/%zu (%zu done, %zu skipped)  %.1f/s  ETA %02d:%02d ", p->label, bar, pct,
            p->done, p->total, p->done - p->skipped, p->skipped, rate, (int)eta / 60, (int)eta % 60);
    if (final) fputc('\n', stderr);
  } else {
    fprintf(stderr, "%s: %zu/%zu (%d%%): %zu done, %zu skipped, %.1f/s, %.0f s elapsed\n", p->label, p->done,
            p->total, pct, p->done - p->skipped, p->skipped, rate, t);
  }
  fflush(stderr);
}

void progress_update(progress *p, size_t done) {
  p->done = done;
  if (p->quiet) return;
  double t = now_seconds();
  if (t - p->last_draw < (p->tty ? 0.1 : 5.0)) return;
  p->last_draw = t;
  draw(p, false);
}

void progress_skip(progress *p, size_t n) { p->skipped += n; }

void progress_finish(progress *p) {
  if (!p->quiet) draw(p, true);
}
