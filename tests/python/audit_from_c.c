/* The C side of test_audit_c_vs_python.py: runs an audit on arrays written by the Python test and
 * writes its reports, so the test can compare them with the ones the binding writes.
 *   audit_from_c INPUT.bin OUT_DIR BATCH
 * INPUT.bin: little-endian uint64 n, num_classes, num_features, has_labels, then n x num_classes
 * clean logits, n x num_classes watermarked logits, n x num_features clean features, n x
 * num_features watermarked features (float32, row-major) and, if has_labels, n int32 labels.
 * Pairs are added BATCH rows at a time. Writes OUT_DIR/{report.json, classes.csv, channels.csv,
 * state.wmfa, summary.txt}. Exit status 0 on success, 1 with a message otherwise. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wmfeat.h>

#define CHECK(call)                                                                                \
  do {                                                                                             \
    wmf_status st_ = (call);                                                                       \
    if (st_ != WMF_OK) {                                                                           \
      fprintf(stderr, "%s: %s: %s\n", #call, wmf_status_name(st_), wmf_last_error());              \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

static void *read_block(FILE *f, size_t count, size_t size) {
  if (count == 0) return NULL;
  void *p = malloc(count * size);
  if (p && fread(p, size, count, f) != count) {
    free(p);
    return NULL;
  }
  return p;
}

static int out_path(char *buf, size_t cap, const char *dir, const char *name) {
  return snprintf(buf, cap, "%s/%s", dir, name) < (int)cap;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: audit_from_c INPUT.bin OUT_DIR BATCH\n");
    return 1;
  }
  size_t batch = strtoul(argv[3], NULL, 10);
  FILE *f = fopen(argv[1], "rb");
  uint64_t head[4];
  if (!f || fread(head, sizeof head, 1, f) != 1 || batch == 0) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  size_t n = head[0], nc = head[1], nf = head[2];
  float *cl = read_block(f, n * nc, 4), *wl = read_block(f, n * nc, 4);
  float *cf = read_block(f, n * nf, 4), *wf = read_block(f, n * nf, 4);
  int32_t *labels = head[3] ? read_block(f, n, 4) : NULL;
  fclose(f);
  if ((nc && (!cl || !wl)) || (nf && (!cf || !wf)) || (head[3] && !labels)) {
    fprintf(stderr, "%s is truncated\n", argv[1]);
    return 1;
  }

  wmf_audit *audit;
  CHECK(wmf_audit_create(&audit, nc, nf));
  for (size_t at = 0; at < n; at += batch) {
    size_t m = n - at < batch ? n - at : batch;
    CHECK(wmf_audit_add(audit, m, cl ? cl + at * nc : NULL, wl ? wl + at * nc : NULL,
                        cf ? cf + at * nf : NULL, wf ? wf + at * nf : NULL,
                        labels ? labels + at : NULL));
  }

  char path[4096];
  const char *dir = argv[2];
  if (!out_path(path, sizeof path, dir, "report.json")) return 1;
  CHECK(wmf_audit_write_json(audit, path));
  if (nc) {
    if (!out_path(path, sizeof path, dir, "classes.csv")) return 1;
    CHECK(wmf_audit_write_csv(audit, WMF_AUDIT_CLASSES, path));
  }
  if (nf) {
    if (!out_path(path, sizeof path, dir, "channels.csv")) return 1;
    CHECK(wmf_audit_write_csv(audit, WMF_AUDIT_CHANNELS, path));
  }
  if (!out_path(path, sizeof path, dir, "state.wmfa")) return 1;
  CHECK(wmf_audit_save(audit, path));

  /* A few scalar results printed exactly (%.17g), compared with the binding's values. */
  if (!out_path(path, sizeof path, dir, "summary.txt")) return 1;
  FILE *s = fopen(path, "w");
  if (!s) return 1;
  size_t count, top[5];
  CHECK(wmf_audit_count_above(&count, audit, nf ? WMF_AUDIT_CHANNELS : WMF_AUDIT_CLASSES, WMF_SCORE_D,
                              0.7));
  fprintf(s, "count_d_above_0.7 %zu\n", count);
  size_t k = (nf ? nf : nc) < 5 ? (nf ? nf : nc) : 5;
  CHECK(wmf_audit_rank(top, k, audit, nf ? WMF_AUDIT_CHANNELS : WMF_AUDIT_CLASSES, WMF_SCORE_AUC,
                       WMF_RANK_FROM_HALF));
  fprintf(s, "top");
  for (size_t i = 0; i < k; i++) fprintf(s, " %zu", top[i]);
  fprintf(s, "\n");
  if (nc) {
    double acc_clean, acc_wm;
    size_t labelled;
    CHECK(wmf_audit_accuracy(&acc_clean, &acc_wm, &labelled, audit));
    fprintf(s, "accuracy %.17g %.17g %zu\n", acc_clean, acc_wm, labelled);
  }
  fclose(s);
  wmf_audit_destroy(audit);
  free(cl), free(wl), free(cf), free(wf), free(labels);
  return 0;
}
