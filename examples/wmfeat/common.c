#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

volatile sig_atomic_t g_interrupted = 0;

static void on_sigint(int sig) {
  (void)sig;
  if (g_interrupted) _exit(EXIT_INTERRUPTED); /* a second Ctrl-C: stop at once */
  g_interrupted = 1;
}

void install_interrupt_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int fail_status(wmf_status st, const char *what) {
  fprintf(stderr, "error: %s: %s: %s\n", what, wmf_status_name(st), wmf_last_error());
  return EXIT_RUNTIME;
}

int check_common(const common_opts *o) {
  if (o->batch < 1 || o->batch > 4096) {
    fprintf(stderr, "error: --batch must be between 1 and 4096\n");
    return EXIT_USAGE;
  }
  if (o->threads < 0 || o->limit < 0 || o->seed < 0) {
    fprintf(stderr, "error: --threads, --limit and --seed must not be negative\n");
    return EXIT_USAGE;
  }
  return 0;
}

int open_model(const char *path, const char *arch, wmf_weights **weights, wmf_model **model) {
  wmf_status st = wmf_weights_open(weights, path, NULL);
  if (st) return fail_status(st, path);
  st = wmf_model_load(model, *weights, arch, NULL);
  if (st) {
    wmf_weights_destroy(*weights);
    *weights = NULL;
    return fail_status(st, path);
  }
  return 0;
}

int open_session(const wmf_model *model, const common_opts *o, unsigned size, bool bf16, const char *stage,
                 wmf_session **session) {
  wmf_session_options so = WMF_SESSION_OPTIONS_INIT;
  so.max_batch = (uint32_t)o->batch;
  so.input_height = so.input_width = size;
  so.threads = (uint32_t)o->threads;
  so.precision = bf16 ? WMF_PRECISION_BF16 : WMF_PRECISION_FP32;
  so.stage = stage;
  wmf_status st = wmf_session_create(session, model, &so);
  return st ? fail_status(st, "creating the inference session") : 0;
}

const char *class_name(size_t num_classes, size_t i, char *buf, size_t buflen) {
  if (num_classes == WMF_IMAGENET_CLASSES) return wmf_imagenet_class_name(i);
  snprintf(buf, buflen, "class %zu", i);
  return buf;
}

int write_npy_f32(const char *path, const float *data, size_t rows, size_t cols) {
  char header[128];
  int len = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                     rows, cols);
  int total = 10 + len + 1, pad = (64 - total % 64) % 64; /* header block padded to 64 bytes */
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  unsigned short hlen = (unsigned short)(len + pad + 1);
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  fputc(hlen & 0xff, f);
  fputc(hlen >> 8, f);
  fwrite(header, 1, (size_t)len, f);
  for (int i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  size_t n = rows * cols;
  bool ok = fwrite(data, sizeof(float), n, f) == n;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

int mkdir_p(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1;; p++) {
    bool end = *p == '\0';
    if (*p == '/' || end) {
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "error: cannot create '%s': %s\n", buf, strerror(errno));
        return -1;
      }
      if (end) return 0;
      *p = '/';
    }
  }
}

int worker_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 1 ? (int)n : 1;
}

void print_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}
