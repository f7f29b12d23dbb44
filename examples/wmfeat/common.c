#include "common.h"
#include "files.h"

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
  if (o->workers < 0 || o->workers > 256) {
    fprintf(stderr, "error: --workers must be between 0 (automatic) and 256\n");
    return EXIT_USAGE;
  }
  return 0;
}

bool parse_command(int argc, char **argv, const arg_spec *specs, const char *usage, const char **pos, int min_pos,
                   int max_pos, int *np, const common_opts *o, int *exit_code) {
  int rc = args_parse(argc, argv, specs, usage, pos, max_pos, np);
  if (rc) *exit_code = rc == 1 ? EXIT_OK : EXIT_USAGE;
  else if (*np < min_pos) *exit_code = (fprintf(stderr, "%s\n", usage), EXIT_USAGE);
  else *exit_code = check_common(o);
  return rc || *exit_code;
}

const char *network_filter = "default", *network_normalize = "default";

static const char *filter_choice(size_t i) {
  static const char *const names[] = {"default", "bilinear", "bicubic"};
  return i < 3 ? names[i] : NULL;
}

static const char *normalize_choice(size_t i) {
  static const char *const names[] = {"default", "imagenet", "inception"};
  return i < 3 ? names[i] : NULL;
}

int check_resize_crop(long resize, long crop) {
  if (check_choice("--filter", network_filter, filter_choice) ||
      check_choice("--normalize", network_normalize, normalize_choice))
    return EXIT_USAGE;
  if ((!crop || crop >= 32) && (!crop || !resize || crop <= resize) && resize >= 0) return 0;
  fprintf(stderr, "error: need 32 <= --crop <= --resize (got --crop %ld, --resize %ld)\n", crop, resize);
  return EXIT_USAGE;
}

int model_preprocessing(const wmf_model *model, long resize, long crop, preprocessing *pre) {
  static const wmf_normalize imagenet = WMF_NORMALIZE_IMAGENET, inception = {{.5f, .5f, .5f}, {.5f, .5f, .5f}};
  if (!resize && model) resize = (long)wmf_model_default_resize_size(model);
  if (!crop && model) crop = (long)wmf_model_default_input_size(model);
  pre->resize = (unsigned)resize, pre->crop = (unsigned)crop;
  pre->filter = !strcmp(network_filter, "bicubic")    ? WMF_FILTER_BICUBIC
                : !strcmp(network_filter, "bilinear") ? WMF_FILTER_BILINEAR
                                                      : wmf_model_default_filter(model); /* NULL: bilinear */
  pre->norm = !strcmp(network_normalize, "inception") ? inception : imagenet;
  if (!strcmp(network_normalize, "default") && model) wmf_model_default_normalize(model, &pre->norm);
  return check_resize_crop(resize, crop);
}

bool preprocessing_equal(const preprocessing *a, const preprocessing *b) {
  return a->resize == b->resize && a->crop == b->crop && a->filter == b->filter &&
         !memcmp(&a->norm, &b->norm, sizeof a->norm);
}

void preprocessing_describe(char *buf, size_t size, const preprocessing *pre) {
  static const wmf_normalize imagenet = WMF_NORMALIZE_IMAGENET;
  const float *m = pre->norm.mean, *s = pre->norm.std;
  int n = snprintf(buf, size, "resize=%u crop=%u filter=%s", pre->resize, pre->crop,
                   pre->filter == WMF_FILTER_BICUBIC ? "bicubic" : "bilinear");
  /* ImageNet's is left implicit: states saved before the field named it stay comparable */
  if (memcmp(&pre->norm, &imagenet, sizeof imagenet) && n > 0 && (size_t)n < size)
    snprintf(buf + n, size - (size_t)n, " mean=%g,%g,%g std=%g,%g,%g", m[0], m[1], m[2], s[0], s[1], s[2]);
}

const char *preset_choice(size_t i) {
  return i < wmf_watermark_preset_count() ? wmf_watermark_preset_name(i) : NULL;
}

int check_choice(const char *option, const char *value, choice_fn name_at) {
  for (size_t i = 0; name_at(i); i++)
    if (!strcmp(value, name_at(i))) return 0;
  fprintf(stderr, "error: unknown %s '%s' (valid:", option, value);
  for (size_t i = 0; name_at(i); i++) fprintf(stderr, "%s %s", i ? "," : "", name_at(i));
  fprintf(stderr, ")\n");
  return EXIT_USAGE;
}

const char *network_transform_input = "default";

static const char *transform_input_choice(size_t i) {
  static const char *const names[] = {"default", "on", "off"};
  return i < 3 ? names[i] : NULL;
}

const char *network_precision = "fp32";

static const char *precision_choice(size_t i) {
  static const char *const names[] = {"fp32", "bf16"};
  return i < 2 ? names[i] : NULL;
}

const char *network_conv = "auto";

static const char *conv_choice(size_t i) {
  static const char *const names[] = {"auto", "direct"};
  return i < 2 ? names[i] : NULL;
}

/* --conv: 0, or EXIT_USAGE (printed) for a value other than auto and direct. */
static int check_conv(void) { return check_choice("--conv", network_conv, conv_choice); }

const char *precision_name(bool bf16) { return bf16 ? "bf16" : "fp32"; }

int check_precision(bool need_hardware, bool *bf16) {
  *bf16 = false;
  if (check_choice("--precision", network_precision, precision_choice) || check_conv()) return EXIT_USAGE;
  *bf16 = !strcmp(network_precision, "bf16");
  if (*bf16 && need_hardware && !wmf_nn_has_bf16()) {
    fprintf(stderr, "error: --precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX; oneDNN "
                    "dispatches to %s): bf16 is refused, never run as fp32; use --precision fp32\n", wmf_nn_isa());
    return EXIT_RUNTIME;
  }
  return 0;
}

int open_model(const char *path, const char *arch, const char *state_dict_key, wmf_weights **weights,
               wmf_model **model) {
  if (arch && check_choice("--arch", arch, wmf_model_arch_name)) return EXIT_USAGE;
  if (check_choice("--transform-input", network_transform_input, transform_input_choice)) return EXIT_USAGE;
  if (check_conv()) return EXIT_USAGE; /* bench's: the other commands checked it with --precision */
  wmf_model_options mo = WMF_MODEL_OPTIONS_INIT;
  mo.transform_input = !strcmp(network_transform_input, "on")    ? WMF_TRANSFORM_INPUT_ON
                       : !strcmp(network_transform_input, "off") ? WMF_TRANSFORM_INPUT_OFF
                                                                 : WMF_TRANSFORM_INPUT_DEFAULT;
  wmf_weights_options wo = WMF_WEIGHTS_OPTIONS_INIT;
  wo.state_dict_key = state_dict_key;
  wmf_status st = wmf_weights_open(weights, path, &wo);
  if (st) return fail_status(st, path);
  st = wmf_model_load(model, *weights, arch, &mo);
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
  so.conv_algorithm = !strcmp(network_conv, "direct") ? WMF_CONV_DIRECT : WMF_CONV_AUTO;
  wmf_status st = wmf_session_create(session, model, &so);
  return st ? fail_status(st, "creating the inference session") : 0;
}

const int *labels_for_model(const file_list *f, bool asked, size_t num_classes, bool quiet, int *rc) {
  *rc = EXIT_OK;
  if (f->source == FILE_LABELS_NONE || (f->source != FILE_LABELS_LIST && !asked)) {
    if (asked) {
      fprintf(stderr, "error: --labels: the input has no labels (give a folder of class subfolders, or a list "
                      "file with a tab and a label after each path)\n");
      *rc = EXIT_USAGE;
    }
    return NULL;
  }
  if (f->source == FILE_LABELS_FOLDERS && f->n_classes != num_classes) {
    fprintf(stderr, "error: --labels: %zu subfolders (numbered in sorted order) but the model has %zu classes; "
                    "subfolders named by ImageNet WordNet ids (n01440764, ...) map to ImageNet's indices\n",
            f->n_classes, num_classes);
    *rc = EXIT_USAGE;
    return NULL;
  }
  for (size_t i = 0; i < f->n; i++)
    if (f->labels[i] >= 0 && (size_t)f->labels[i] >= num_classes) {
      fprintf(stderr, "error: label %d of '%s' (from %s) is not below the model's %zu classes\n", f->labels[i],
              f->paths[i], file_list_label_source(f), num_classes);
      *rc = f->source == FILE_LABELS_WNID ? EXIT_USAGE : EXIT_RUNTIME;
      return NULL;
    }
  if (!quiet)
    fprintf(stderr, "labels: %s (%zu of %zu images labelled)\n",
            f->source == FILE_LABELS_LIST   ? "from the list file"
            : f->source == FILE_LABELS_WNID ? "ImageNet class indices of the WordNet-id subfolders"
                                            : "subfolder index in sorted order (ImageFolder)",
            f->n_labelled, f->n);
  return f->labels;
}

const char *class_name(size_t num_classes, size_t i, char *buf, size_t buflen) {
  if (num_classes == WMF_IMAGENET_CLASSES) return wmf_imagenet_class_name(i);
  snprintf(buf, buflen, "class %zu", i);
  return buf;
}

int out_file_open(out_file *o, const char *path) {
  memset(o, 0, sizeof *o);
  if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path) return errno = ENAMETOOLONG, -1;
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) { /* a device or FIFO: written in place, never replaced */
    if (S_ISDIR(st.st_mode)) return errno = EISDIR, -1;
    o->direct = true;
    o->f = fopen(path, "wb");
    return o->f ? 0 : -1;
  }
  snprintf(o->tmp, sizeof o->tmp, "%s.tmpXXXXXX", path); /* the library's temporary name (wmf_audit_save) */
  int fd = mkstemp(o->tmp);
  if (fd < 0) return -1;
  if (fchmod(fd, stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644) != 0 || !(o->f = fdopen(fd, "wb"))) {
    int e = errno;
    close(fd), unlink(o->tmp);
    return errno = e, -1;
  }
  return 0;
}

int out_file_commit(out_file *o, bool ok) {
  int e = ok ? 0 : (errno ? errno : EIO);
  if (!e && fflush(o->f) != 0) e = errno;
  if (!e && !o->direct && fsync(fileno(o->f)) != 0) e = errno;
  if (fclose(o->f) != 0 && !e) e = errno;
  o->f = NULL;
  if (!o->direct) {
    if (!e && rename(o->tmp, o->path) != 0) e = errno;
    if (e) unlink(o->tmp);
  }
  return e ? (errno = e, -1) : 0;
}

float *read_npy_f32(const char *path, size_t *rows, size_t *cols) {
  float *data = NULL;
  wmf_status st = wmf_npy_load_f32(NULL, 0, rows, cols, path); /* the shape, then the values */
  if (!st && (!*rows || !*cols)) return fprintf(stderr, "error: '%s' holds no values (%zu x %zu)\n", path, *rows, *cols), NULL;
  if (!st && !(data = malloc(*rows * *cols * sizeof *data))) return fprintf(stderr, "error: out of memory for '%s'\n", path), NULL;
  if (!st) st = wmf_npy_load_f32(data, *rows * *cols, rows, cols, path);
  if (st) {
    fprintf(stderr, "error: %s\n", wmf_last_error());
    free(data);
    return NULL;
  }
  return data;
}

int32_t *read_labels(const char *path, size_t *n) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "error: cannot open '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1024, line_no = 0;
  int32_t *v = malloc(cap * sizeof *v);
  char line[4352];
  const char *why = v ? NULL : "out of memory";
  *n = 0;
  while (!why && fgets(line, sizeof line, f)) {
    line_no++;
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0] || line[0] == '#') continue;
    /* a bare label, or a list file's line: path, tab, label */
    const char *text = strrchr(line, '\t') ? strrchr(line, '\t') + 1 : line;
    char *end;
    long x = strtol(text, &end, 10);
    size_t k;
    if (end != text && *end == '\0' && x >= 0 && x <= 1000000) {
    } else if (wmf_imagenet_class_from_wnid(&k, text) == WMF_OK) {
      x = (long)k;
    } else {
      fprintf(stderr, "error: '%s' line %zu: '%.60s' is not a label (an integer 0..1000000, an ImageNet WordNet id, "
                      "or a list line: path, tab, label)\n", path, line_no, line);
      why = "";
      break;
    }
    if (*n == cap) {
      int32_t *nv = realloc(v, 2 * cap * sizeof *v);
      if (!nv) {
        why = "out of memory";
        break;
      }
      v = nv, cap *= 2;
    }
    v[(*n)++] = (int32_t)x;
  }
  if (!why && *n == 0) why = "no labels (one integer per line, or a list file: path, tab, label)";
  fclose(f);
  if (why) {
    if (*why) fprintf(stderr, "error: '%s': %s\n", path, why);
    free(v);
    return NULL;
  }
  return v;
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

int worker_count(const common_opts *o, bool *exclusive) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1) cores = 1;
  long forward = o->threads > 0 && o->threads < cores ? o->threads : cores;
  long n = o->workers > 0 ? o->workers : forward < cores ? cores - forward : cores;
  *exclusive = forward + n > cores;
  return (int)n;
}
