/* What every wmfeat subcommand shares: the common options, error reporting with the library's message,
 * loading a model, Ctrl-C handling, reading .npy files. */
#ifndef WMFEAT_COMMON_H
#define WMFEAT_COMMON_H
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>
#include <wmfeat.h>

#include "args.h"

/* Exit codes (documented in `wmfeat --help` and docs/cli.md). */
enum {
  EXIT_OK = 0,
  EXIT_RUNTIME = 1,     /* a library call failed (bad file, bad weights, ...): the message says which */
  EXIT_USAGE = 2,       /* wrong arguments */
  EXIT_INTERRUPTED = 130 /* Ctrl-C: work done so far was kept */
};

typedef struct common_opts {
  bool json, quiet;
  long threads, batch, limit, seed;
  const char *shard; /* "i/n" */
  long workers;      /* decode / watermark threads, 0: worker_count() decides */
} common_opts;

/* The options every subcommand accepts: COMMON_SPECS(o) comes last in its specs and ends the list. */
#define COMMON_SPECS(o)                                                                        \
  {"json", ARG_FLAG, &(o).json, "machine-readable JSON on stdout"},                            \
  {"quiet", ARG_FLAG, &(o).quiet, "no progress output"},                                       \
  {"threads", ARG_INT, &(o).threads, "compute threads (default: all cores)"},                  \
  {"workers", ARG_INT, &(o).workers, "threads decoding and watermarking images (default: the cores the " \
                                     "forward pass leaves free, else one per core, in turns with it)"}, \
  {"batch", ARG_INT, &(o).batch, "images per forward pass (default 16)"},                     \
  {"limit", ARG_INT, &(o).limit, "use at most N images (default: all)"},                      \
  {"seed", ARG_INT, &(o).seed, "random seed for watermark placement and text (default 0)"}, \
  {NULL, 0, NULL, NULL}
#define COMMON_DEFAULTS {false, false, 0, 16, 0, 0, NULL, 0}

extern volatile sig_atomic_t g_interrupted;
void install_interrupt_handler(void);

/* Prints "error: <what>: <STATUS>: <library message>" to stderr and returns EXIT_RUNTIME. */
int fail_status(wmf_status st, const char *what);

/* The i-th valid value of an option, NULL past the last. */
typedef const char *(*choice_fn)(size_t i);
const char *preset_choice(size_t i); /* the watermark presets */

/* 0 if `value` is one of the values name_at lists; else prints "error: unknown OPTION 'value' (valid:
 * ...)" and returns EXIT_USAGE. */
int check_choice(const char *option, const char *value, choice_fn name_at);

/* Checks the common options; prints and returns EXIT_USAGE if invalid, else 0. */
int check_common(const common_opts *o);

/* Parses a subcommand's arguments (args_parse), checks that between min_pos and max_pos positional
 * arguments were given (else prints the usage) and the common options `o` (check_common). Returns false
 * with *exit_code EXIT_OK to go on; true when the command must return *exit_code: EXIT_OK after --help,
 * EXIT_USAGE after saying what is wrong. */
bool parse_command(int argc, char **argv, const arg_spec *specs, const char *usage, const char **pos, int min_pos,
                   int max_pos, int *np, const common_opts *o, int *exit_code);

/* How a run turns an image into the network's input, as torchvision's transforms of the weights do:
 * Resize(resize, filter), CenterCrop(crop), ToTensor, Normalize(norm). */
typedef struct preprocessing {
  unsigned resize, crop;
  wmf_filter filter;
  wmf_normalize norm;
} preprocessing;
/* Checks NETWORK_SPECS' --resize and --crop (32 <= crop <= resize; 0 stands for the model's default and
 * is checked by model_preprocessing), --filter and --normalize; prints and returns EXIT_USAGE if invalid,
 * else 0. */
int check_resize_crop(long resize, long crop);
/* The preprocessing of a run on `model`: --resize and --crop, 0 standing for the model's
 * (wmf_model_default_resize_size, _input_size), --filter and --normalize, "default" standing for the model's
 * (wmf_model_default_filter, _normalize); with model NULL (before it loads), bilinear and ImageNet's.
 * Returns 0, or EXIT_USAGE (printed) if the sizes are invalid. */
int model_preprocessing(const wmf_model *model, long resize, long crop, preprocessing *pre);
/* Whether two preprocessings are the same. */
bool preprocessing_equal(const preprocessing *a, const preprocessing *b);
/* "resize=R crop=C filter=F", then " mean=.. std=.." unless ImageNet's: the "preprocess" provenance field. */
void preprocessing_describe(char *buf, size_t size, const preprocessing *pre);
/* --filter and --normalize: "default" (the model's) or a name (model_preprocessing reads them). */
extern const char *network_filter, *network_normalize;
/* --transform-input of the commands that load a network: "default", "on" or "off" (open_model reads it). */
extern const char *network_transform_input;

/* Options several commands share. */
#define ARCH_SPEC(v) {"arch", ARG_STRING, &(v), "architecture (default: inferred from the weights)"}
#define TRANSFORM_INPUT_SPEC                                                                     \
  {"transform-input", ARG_STRING, &network_transform_input,                                      \
   "on|off: torchvision's transform_input of GoogLeNet and Inception-v3 (default: on for those two)"}
/* --precision of the commands that run a network (audit, classify, extract, demo) and of probe, which
 * checks its inputs against it: "fp32" (the default) or "bf16" (check_precision reads it). */
extern const char *network_precision;
#define PRECISION_SPEC                                                                           \
  {"precision", ARG_STRING, &network_precision,                                                  \
   "fp32|bf16: the forward pass's precision (default fp32; bf16 needs a CPU with AVX512-BF16 or AMX)"}
/* --conv of the commands that run a network: "auto" (the default: Winograd where docs/models.md's rule admits
 * it) or "direct" (every convolution direct); open_model checks it, open_session applies it, and the
 * provenance records it as "convolution". */
extern const char *network_conv;
#define CONV_SPEC                                                                                \
  {"conv", ARG_STRING, &network_conv,                                                            \
   "auto|direct: convolution algorithm (default auto: fp32 3x3 stride-1 convolutions by Winograd on AVX2; direct: all by oneDNN's direct kernels)"}
/* Checks --precision (and --conv, which the same commands take): sets *bf16 and returns 0; EXIT_USAGE for a
 * value other than fp32 and bf16 (auto and direct);
 * EXIT_RUNTIME for bf16 when `need_hardware` and the CPU has no bf16 instructions (never a silent
 * fp32 run). Prints why. */
int check_precision(bool need_hardware, bool *bf16);
/* The precision's name as the provenance and the JSON outputs record it: "bf16" or "fp32". */
const char *precision_name(bool bf16);

/* --stage: the pooled output of a stage as the features (audit, extract; docs/models.md). */
#define STAGE_SPEC(v)                                                                            \
  {"stage", ARG_STRING, &(v), "use this stage's pooled output as the features (e.g. features.norm5, the "  \
                              "DenseNet hook of Mark My Words)"}
/* The options of the commands that run a network on image files (audit, classify, extract). */
#define NETWORK_SPECS(arch, resize, crop, state_dict_key)                                        \
  ARCH_SPEC(arch), RESIZE_CROP_SPECS(resize, crop), FILTER_NORMALIZE_SPECS, STATE_DICT_KEY_SPEC(state_dict_key), \
  TRANSFORM_INPUT_SPEC, PRECISION_SPEC, CONV_SPEC
#define FILTER_NORMALIZE_SPECS                                                                   \
  {"filter", ARG_STRING, &network_filter,                                                        \
   "bilinear|bicubic: the resize's interpolation (default: the model's, as torchvision's transforms of its "  \
   "weights: bicubic for EfficientNet B0, B2-B7, V2-L, regnet_y_128gf, SWAG ViTs)"},              \
  {"normalize", ARG_STRING, &network_normalize,                                                  \
   "imagenet|inception: Normalize's mean and std, ImageNet's or 0.5 and 0.5 (default: the model's; inception "  \
   "for efficientnet_v2_l)"}
#define RESIZE_CROP_SPECS(resize, crop)                                                          \
  {"resize", ARG_INT, &(resize), "shorter side before cropping (default: the model's, 256; Inception-v3 342; RegNet 232)"}, \
  {"crop", ARG_INT, &(crop), "center crop, the network's input size (default: the model's, 224; Inception-v3 299)"}

/* The option naming a checkpoint's state_dict key, for every command that loads weights. */
#define STATE_DICT_KEY_SPEC(v)                                                                  \
  {"state-dict-key", ARG_STRING, &(v),                                                          \
   "checkpoint key holding the state_dict (default: chosen by content, docs/weights.md)"}

/* Opens weights (state_dict_key NULL: chosen by content) and builds the model (arch NULL: inferred).
 * Returns 0, EXIT_USAGE for an unknown architecture name (the valid ones are listed), or EXIT_RUNTIME
 * (printed). */
int open_model(const char *path, const char *arch, const char *state_dict_key, wmf_weights **weights,
               wmf_model **model);

/* Creates a session for `batch` images at size x size. Returns 0 or EXIT_RUNTIME (printed). */
int open_session(const wmf_model *model, const common_opts *o, unsigned size, bool bf16, const char *stage,
                 wmf_session **session);

struct file_list;
/* The labels to use for a model of `num_classes` classes: a list file's always, a folder's (WordNet-id
 * or sorted subfolders) only when `asked` (--labels). Says on stderr which mapping was used (unless
 * quiet). Returns the labels (-1 where unknown) or NULL for none, with *rc 0; or NULL with *rc
 * EXIT_USAGE / EXIT_RUNTIME after printing why (no labels to use, a label out of the model's range). */
const int *labels_for_model(const struct file_list *files, bool asked, size_t num_classes, bool quiet, int *rc);

/* Name of class i: ImageNet's when the model has 1000 classes, else "class i". Uses buf. */
const char *class_name(size_t num_classes, size_t i, char *buf, size_t buflen);

/* A file being written the way the library writes (wmfi_write_file_atomic): into PATH.tmpXXXXXX beside
 * it, renamed over it on success, so a failure (a full disk, Ctrl-C) never replaces a good file with a
 * part of one. A `path` that exists and is not a regular file (a device such as /dev/null or /dev/full,
 * a FIFO) is written in place and never replaced; a folder is refused. Every file the wmfeat program
 * writes itself goes through this. */
typedef struct out_file {
  FILE *f; /* write into this */
  char path[4096], tmp[4112];
  bool direct;
} out_file;
/* Returns 0, or -1 with errno set. */
int out_file_open(out_file *o, const char *path);
/* Closes the file; when `ok` (everything was written) and no error occurs, puts it in place. Otherwise
 * removes the temporary. Returns 0, or -1 with errno set. */
int out_file_commit(out_file *o, bool ok);

/* Reads a 2-D float32 .npy file with the library's wmf_npy_load_f32 (files are written with
 * wmf_npy_save_f32). Returns a malloc'ed array, or NULL after printing why. */
float *read_npy_f32(const char *path, size_t *rows, size_t *cols);

/* Reads labels, one per line: an integer, an ImageNet WordNet id, or a list file's line (path, tab,
 * label; the list wmfeat extract read). Returns a malloc'ed array, or NULL after printing why. */
int32_t *read_labels(const char *path, size_t *n);

/* Creates a folder and its parents (like mkdir -p). Returns 0, or -1 after printing why. */
int mkdir_p(const char *path);

/* How the decode / watermark workers share the cores with a forward pass of o->threads threads (0: one
 * per core). When the forward pass leaves cores free, the workers run beside it on those (default: as
 * many workers as free cores). When it takes every core, the workers (default: one per core) are
 * exclusive (*exclusive = true): they run only while the forward pass waits (pipeline_set_exclusive),
 * so they never preempt one of its OpenMP threads, which would keep the others waiting at the next
 * barrier. o->workers > 0 sets the count; *exclusive is then true when the workers and the forward
 * threads together exceed the cores. Returns the number of workers. */
int worker_count(const common_opts *o, bool *exclusive);

#endif
