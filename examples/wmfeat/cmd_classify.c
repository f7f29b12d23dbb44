/* wmfeat classify: top-k classes with names for each image. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_out.h"
#include "files.h"
#include "run.h"

typedef struct classify_ctx {
  char **paths;
  const int *labels; /* NULL: none */
  long top;
  json_t *json; /* --json: the images' results, printed at the end; NULL: text as they come */
  size_t labelled, right1, rightk;
} classify_ctx;

static int print_batch(void *vctx, const pipeline_batch *b, const run_outputs *out) {
  classify_ctx *c = vctx;
  for (size_t i = 0; i < b->count; i++) {
    if (!b->ok[i]) continue;
    const float *z = out->logits[0] + i * out->num_classes;
    /* softmax for probabilities, then a partial selection of the top k */
    float zmax = z[0];
    for (size_t j = 1; j < out->num_classes; j++) zmax = z[j] > zmax ? z[j] : zmax;
    double sum = 0;
    for (size_t j = 0; j < out->num_classes; j++) sum += exp((double)(z[j] - zmax));
    size_t k = (size_t)c->top < out->num_classes ? (size_t)c->top : out->num_classes;
    size_t best[64];
    for (size_t r = 0; r < k; r++) {
      size_t arg = SIZE_MAX;
      for (size_t j = 0; j < out->num_classes; j++) {
        bool taken = false;
        for (size_t q = 0; q < r; q++) taken |= best[q] == j;
        if (!taken && (arg == SIZE_MAX || z[j] > z[arg])) arg = j;
      }
      best[r] = arg;
    }
    const char *path = c->paths[b->first + i];
    int label = c->labels ? c->labels[b->first + i] : -1;
    if (label >= 0) {
      c->labelled++;
      c->right1 += best[0] == (size_t)label;
      for (size_t r = 0; r < k; r++) c->rightk += best[r] == (size_t)label;
    }
    char buf[32];
    if (c->json) {
      json_t *top = json_array();
      for (size_t r = 0; r < k; r++)
        json_array_append_new(top, json_pack("{s:I, s:o, s:f, s:f}", "class", (json_int_t)best[r], "name",
                                             json_out_string(class_name(out->num_classes, best[r], buf, sizeof buf)),
                                             "logit", (double)z[best[r]], "probability",
                                             exp((double)(z[best[r]] - zmax)) / sum));
      json_t *o = json_pack("{s:o, s:o}", "image", json_out_string(path), "top", top);
      if (o && c->labels) json_object_set_new(o, "label", label >= 0 ? json_integer(label) : json_null());
      if (!o || json_array_append_new(c->json, o)) return fprintf(stderr, "error: out of memory\n"), EXIT_RUNTIME;
    } else {
      printf("%s", path);
      if (label >= 0) printf("  (label %d %s)", label, class_name(out->num_classes, (size_t)label, buf, sizeof buf));
      printf("\n");
      for (size_t r = 0; r < k; r++)
        printf("  %5.1f%%  %4zu  %s\n", 100.0 * exp((double)(z[best[r]] - zmax)) / sum, best[r],
               class_name(out->num_classes, best[r], buf, sizeof buf));
    }
  }
  return EXIT_OK;
}

int cmd_classify(int argc, char **argv) {
  common_opts o = COMMON_DEFAULTS;
  const char *arch = NULL, *sd_key = NULL;
  long top = 5, resize = 0, crop = 0; /* 0: the model's */
  bool labels = false, bf16 = false;
  arg_spec specs[] = {{"top", ARG_INT, &top, "classes to show per image (default 5, at most 64)"},
                      {"labels", ARG_FLAG, &labels, "labels from subfolders (as audit --labels; a list file's "
                                                     "labels are always used): shows them and the accuracy"},
                      NETWORK_SPECS(arch, resize, crop, sd_key), COMMON_SPECS(o)};
  const char *usage = "usage: wmfeat classify WEIGHTS INPUT [options]\n"
                      "  INPUT: an image, a folder (recursive) or a text file listing images";
  const char *pos[2];
  int np, rc;
  if (parse_command(argc, argv, specs, usage, pos, 2, 2, &np, &o, &rc)) return rc;
  if ((rc = check_precision(true, &bf16))) return rc;
  if ((rc = check_resize_crop(resize, crop))) return rc;
  if (top < 1 || top > 64) return fprintf(stderr, "error: need 1 <= --top <= 64\n"), EXIT_USAGE;
  file_list files;
  char err[512];
  if (file_list_load(&files, pos[1], err, sizeof err)) {
    fprintf(stderr, "error: %s\n", err);
    return EXIT_RUNTIME;
  }
  file_list_limit(&files, (size_t)o.limit);
  file_list_warn_unsupported(&files, 20);
  wmf_weights *w = NULL;
  wmf_model *m = NULL;
  wmf_session *s = NULL;
  rc = open_model(pos[0], arch, sd_key, &w, &m);
  preprocessing pre;
  if (!rc) rc = model_preprocessing(m, resize, crop, &pre);
  const int *use_labels = NULL;
  if (!rc) use_labels = labels_for_model(&files, labels, wmf_model_num_classes(m), o.quiet || o.json, &rc);
  if (!rc) rc = open_session(m, &o, pre.crop, bf16, NULL, &s);
  if (!rc) {
    install_interrupt_handler();
    run_files_ctx fc = {files.paths, pre};
    classify_ctx cc = {files.paths, use_labels, top, o.json ? json_array() : NULL, 0, 0, 0};
    run_spec spec = {s, files.n, false, pre.crop, prepare_image_file, &fc, print_batch, &cc, "classify", NULL};
    rc = run_images(&spec, &o);
    if (o.json) { /* also after Ctrl-C (exit 130): the images done */
      int prc = json_out_print(cc.json);
      if (!rc) rc = prc;
    }
    if (cc.labelled && !o.json)
      printf("accuracy on %zu labelled images: top-1 %.2f%%, top-%ld %.2f%%\n", cc.labelled,
             100.0 * (double)cc.right1 / (double)cc.labelled, top, 100.0 * (double)cc.rightk / (double)cc.labelled);
  }
  wmf_session_destroy(s);
  wmf_model_destroy(m);
  wmf_weights_destroy(w);
  file_list_free(&files);
  return rc;
}
