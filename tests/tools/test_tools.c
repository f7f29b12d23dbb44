/* The wmfeat program's building blocks: the worker pipeline, input lists, argument parsing. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "files.h"
#include "pipeline.h"
#include "../check_run.h"

static bool fill(void *ctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen) {
  if (item % 7 == 3) {
    snprintf(err, errlen, "item %zu is broken", item);
    return false;
  }
  for (int k = 0; k < 4; k++) buffer[slot * 4 + (size_t)k] = (float)(item * 10 + (size_t)k);
  return true;
}

static void run_pipeline(size_t n, size_t batch, int workers, bool exclusive) {
  pipeline *p = pipeline_start(n, batch, batch * 4, workers, fill, NULL);
  ck_assert_ptr_nonnull(p);
  pipeline_set_exclusive(p, exclusive);
  pipeline_batch b;
  size_t seen = 0, failed = 0;
  while (pipeline_next(p, &b)) {
    ck_assert_uint_eq(b.first, seen);
    for (size_t i = 0; i < b.count; i++) {
      size_t item = b.first + i;
      if (item % 7 == 3) {
        ck_assert(!b.ok[i]);
        ck_assert_ptr_nonnull(strstr(b.errors[i], "broken"));
        failed++;
        continue;
      }
      ck_assert(b.ok[i]);
      for (int k = 0; k < 4; k++) ck_assert_float_eq(b.buffer[i * 4 + (size_t)k], (float)(item * 10 + (size_t)k));
    }
    seen += b.count;
  }
  ck_assert_uint_eq(seen, n);
  ck_assert_uint_eq(failed, (n + 3) / 7);
  pipeline_free(p);
}

START_TEST(pipeline_delivers_every_item_in_order) {
  for (int exclusive = 0; exclusive < 2; exclusive++) { /* the same items in the same order either way */
    run_pipeline(0, 4, 2, exclusive);
    run_pipeline(1, 4, 2, exclusive);
    run_pipeline(101, 4, 3, exclusive);
    run_pipeline(64, 16, 2, exclusive);
    run_pipeline(50, 1, 4, exclusive);
  }
}
END_TEST

static atomic_size_t slow_started;

static bool slow_fill(void *ctx, size_t item, float *buffer, size_t slot, char *err, size_t errlen) {
  atomic_fetch_add(&slow_started, 1);
  usleep(50000);
  return fill(ctx, item, buffer, slot, err, errlen);
}

/* Items the workers start while the caller holds the first batch for 0.6 s (each item takes 50 ms). */
static size_t started_while_held(bool exclusive) {
  atomic_store(&slow_started, 0);
  pipeline *p = pipeline_start(40, 4, 16, 2, slow_fill, NULL);
  ck_assert_ptr_nonnull(p);
  pipeline_set_exclusive(p, exclusive);
  pipeline_batch b;
  ck_assert(pipeline_next(p, &b));
  size_t before = atomic_load(&slow_started);
  usleep(600000);
  size_t during = atomic_load(&slow_started) - before;
  size_t seen = b.count;
  while (pipeline_next(p, &b)) seen += b.count; /* and the rest still comes */
  ck_assert_uint_eq(seen, 40);
  pipeline_free(p);
  return during;
}

/* Exclusive workers start nothing while the caller holds a batch (at most the item each one had begun
 * before it was handed over); others fill the free buffers of the next two batches meanwhile. */
START_TEST(pipeline_exclusive_workers_wait_while_a_batch_is_held) {
  ck_assert_uint_le(started_while_held(true), 2);
  ck_assert_uint_ge(started_while_held(false), 6);
}
END_TEST

START_TEST(pipeline_stops_early) {
  pipeline *p = pipeline_start(1000, 8, 32, 2, fill, NULL);
  pipeline_batch b;
  ck_assert(pipeline_next(p, &b));
  pipeline_stop(p);
  ck_assert(!pipeline_next(p, &b));
  pipeline_free(p);
}
END_TEST

/* Creates an empty file root/rel and its folders. */
static void touch(const char *root, const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  char *slash = strrchr(path, '/');
  *slash = 0;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
  ck_assert_int_eq(system(cmd), 0);
  *slash = '/';
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
}

/* Subfolders that are all ImageNet WordNet ids map to ImageNet indices, even a subset; one folder that
 * is not makes them sorted-folder labels again. Unsupported formats are collected, not listed. */
START_TEST(file_lists_wordnet_ids_and_unsupported) {
  char dir[] = "/tmp/wmf_wnid_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  touch(dir, "n02971356/a.jpg"); /* carton, 478 */
  touch(dir, "n01440764/b.png"); /* tench, 0 */
  touch(dir, "n01440764/c.webp");
  touch(dir, "n15075141/d.JPG"); /* toilet tissue, 999 */
  touch(dir, "n15075141/e.tif");
  file_list l;
  char err[256];
  ck_assert_int_eq(file_list_load(&l, dir, err, sizeof err), 0);
  ck_assert_uint_eq(l.n, 3);
  ck_assert_int_eq(l.source, FILE_LABELS_WNID);
  ck_assert_str_eq(file_list_label_source(&l), "ImageNet WordNet ids");
  ck_assert_uint_eq(l.n_classes, 1000);
  ck_assert_int_eq(l.labels[0], 0);
  ck_assert_int_eq(l.labels[1], 478);
  ck_assert_int_eq(l.labels[2], 999);
  ck_assert_uint_eq(l.n_unsupported, 2);
  ck_assert_ptr_nonnull(strstr(l.unsupported[0], "c.webp"));
  ck_assert_ptr_nonnull(strstr(l.unsupported[1], "e.tif"));
  file_list_free(&l);
  touch(dir, "zzz/f.png");
  ck_assert_int_eq(file_list_load(&l, dir, err, sizeof err), 0);
  ck_assert_int_eq(l.source, FILE_LABELS_FOLDERS);
  ck_assert_uint_eq(l.n_classes, 4);
  ck_assert_int_eq(l.labels[0], 0); /* n01440764 is the first folder in sorted order */
  ck_assert_int_eq(l.labels[1], 1);
  ck_assert_int_eq(l.labels[3], 3);
  file_list_free(&l);
  char path[512];
  snprintf(path, sizeof path, "%s/n01440764/c.webp", dir);
  ck_assert_int_eq(file_list_load(&l, path, err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "unsupported image format"));
  snprintf(path, sizeof path, "rm -rf %s", dir);
  ck_assert_int_eq(system(path), 0);
}
END_TEST

/* A list file's second column: integers or WordNet ids; a bad one is named with its line. */
START_TEST(file_lists_labels_from_a_list) {
  char path[] = "/tmp/wmf_list_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("# comment\na.jpg\t3\nb.png\r\nc.png\tn02971356\nd.tif\t1\ne.jpg\t0\n", f);
  fclose(f);
  file_list l;
  char err[256];
  ck_assert_int_eq(file_list_load(&l, path, err, sizeof err), 0);
  ck_assert_uint_eq(l.n, 4);
  ck_assert_int_eq(l.source, FILE_LABELS_LIST);
  ck_assert_uint_eq(l.n_labelled, 3);
  ck_assert_uint_eq(l.n_classes, 479);
  ck_assert_int_eq(l.labels[0], 3);
  ck_assert_int_eq(l.labels[1], -1);
  ck_assert_int_eq(l.labels[2], 478);
  ck_assert_int_eq(l.labels[3], 0);
  ck_assert_uint_eq(l.n_unsupported, 1);
  file_list_limit(&l, 2);
  ck_assert_uint_eq(l.n_labelled, 1);
  file_list_free(&l);
  f = fopen(path, "w");
  fputs("a.jpg\t3\nb.jpg\tthree\n", f);
  fclose(f);
  ck_assert_int_eq(file_list_load(&l, path, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "line 2") && strstr(err, "'three'"), "%s", err);
  unlink(path);
}
END_TEST

START_TEST(file_lists_folders_labels_shards) {
  char dir[] = "/tmp/wmf_files_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[512];
  const char *files[] = {"b/2.png", "a/1.jpg", "a/0.JPEG", "b/notes.txt", "c/x.bmp"};
  for (const char *d = "abc"; *d; d++) {
    snprintf(path, sizeof path, "%s/%c", dir, *d);
    mkdir(path, 0700);
  }
  for (size_t i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    FILE *f = fopen(path, "w");
    fclose(f);
  }
  file_list l;
  char err[256];
  ck_assert_int_eq(file_list_load(&l, dir, err, sizeof err), 0);
  ck_assert_uint_eq(l.n, 4);
  ck_assert_uint_eq(l.n_classes, 3);
  ck_assert_ptr_nonnull(strstr(l.paths[0], "a/0.JPEG"));
  ck_assert_int_eq(l.labels[0], 0);
  ck_assert_int_eq(l.labels[2], 1);
  ck_assert_int_eq(l.labels[3], 2);
  file_list_shard(&l, 1, 2);
  ck_assert_uint_eq(l.n, 2);
  ck_assert_ptr_nonnull(strstr(l.paths[0], "b/2.png"));
  ck_assert_ptr_nonnull(strstr(l.paths[1], "c/x.bmp"));
  ck_assert_int_eq(l.labels[0], 1);
  file_list_free(&l);
  ck_assert_int_eq(file_list_load(&l, "/nonexistent/x", err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x"));
  snprintf(path, sizeof path, "%s/b", dir);
  snprintf(path, sizeof path, "rm -rf %s", dir);
  ck_assert_int_eq(system(path), 0);
}
END_TEST


typedef struct warned {
  char text[1024];
  size_t n;
} warned;

static void note(void *ctx, const char *path, const char *side) {
  warned *w = ctx;
  size_t len = strlen(w->text);
  snprintf(w->text + len, sizeof w->text - len, "%s:%s;", side, strrchr(path, '/') + 1);
  w->n++;
}

/* Pre-rendered pairs: by relative path in nested folders (an order the walk and strcmp disagree on),
 * files without a partner on both sides named and counted, lists by line. */
START_TEST(file_lists_pair_by_relative_path) {
  char dir[] = "/tmp/wmf_pairs_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char clean[600], wm[600], err[512];
  snprintf(clean, sizeof clean, "%s/baseline", dir);
  snprintf(wm, sizeof wm, "%s/chinese/", dir); /* a trailing slash too */
  const char *both[] = {"n1/a.JPEG", "n1-x/b.JPEG", "n1/sub/c.png", "z.JPEG"};
  for (size_t i = 0; i < 4; i++) touch(clean, both[i]), touch(wm, both[i]);
  touch(clean, "n1/only_clean.JPEG");
  touch(wm, "n1/only_wm.JPEG");
  touch(wm, "z.jpg"); /* another extension is another file */
  file_list c, w;
  ck_assert_int_eq(file_list_load(&c, clean, err, sizeof err), 0);
  ck_assert_uint_eq(c.n, 5);
  warned seen = {"", 0};
  size_t unpaired;
  ck_assert_int_eq(file_list_pair(&c, clean, &w, wm, note, &seen, &unpaired, err, sizeof err), 0);
  ck_assert_uint_eq(unpaired, 3);
  ck_assert_uint_eq(seen.n, 3);
  ck_assert_ptr_nonnull(strstr(seen.text, "clean:only_clean.JPEG;"));
  ck_assert_ptr_nonnull(strstr(seen.text, "watermarked:only_wm.JPEG;"));
  ck_assert_ptr_nonnull(strstr(seen.text, "watermarked:z.jpg;"));
  ck_assert_uint_eq(c.n, 4);
  ck_assert_uint_eq(w.n, 4);
  for (size_t i = 0; i < 4; i++) {
    ck_assert_ptr_nonnull(strstr(c.paths[i], "/baseline/"));
    ck_assert_ptr_nonnull(strstr(w.paths[i], "/chinese/"));
    ck_assert_str_eq(strstr(c.paths[i], "/baseline/") + 10, strstr(w.paths[i], "/chinese//") + 10);
  }
  const int want[4] = {0, 0, 1, -1}; /* n1/a, n1/sub/c, n1-x/b, z: labels of the clean side's folders */
  for (size_t i = 0; i < 4; i++) ck_assert_int_eq(c.labels[i], want[i]);
  unsigned long long h = file_list_hash(&w);
  ck_assert(h != file_list_hash(&c));
  file_list_free(&c);
  file_list_free(&w);

  /* lists: by line, equal lengths; a folder against a list is refused */
  char lc[700], lw[700];
  snprintf(lc, sizeof lc, "%s/clean.txt", dir);
  snprintf(lw, sizeof lw, "%s/wm.txt", dir);
  FILE *f = fopen(lc, "w");
  fprintf(f, "%s/z.JPEG\n%s/n1/a.JPEG\n", clean, clean);
  fclose(f);
  f = fopen(lw, "w");
  fprintf(f, "%s/z.JPEG\n", wm);
  fclose(f);
  ck_assert_int_eq(file_list_load(&c, lc, err, sizeof err), 0);
  ck_assert_int_eq(file_list_pair(&c, lc, &w, lw, note, &seen, &unpaired, err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "paired line by line"));
  ck_assert_int_eq(file_list_pair(&c, lc, &w, wm, note, &seen, &unpaired, err, sizeof err), -1);
  ck_assert_ptr_nonnull(strstr(err, "both be folders"));
  f = fopen(lw, "a");
  fprintf(f, "%s/n1/a.JPEG\n", wm);
  fclose(f);
  ck_assert_int_eq(file_list_pair(&c, lc, &w, lw, note, &seen, &unpaired, err, sizeof err), 0);
  ck_assert_uint_eq(w.n, 2);
  ck_assert_ptr_nonnull(strstr(w.paths[1], "chinese//n1/a.JPEG"));
  file_list_free(&c);
  file_list_free(&w);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(args_parse_values_and_errors) {
  bool json = false;
  long batch = 16;
  double p = 0;
  const char *out = NULL;
  arg_spec specs[] = {{"json", ARG_FLAG, &json, "JSON"},
                      {"batch", ARG_INT, &batch, "batch"},
                      {"p", ARG_DOUBLE, &p, "fraction"},
                      {"out", ARG_STRING, &out, "output"},
                      {NULL, 0, NULL, NULL}};
  const char *pos[2];
  int np;
  char *argv1[] = {"x", "in.png", "--json", "--batch", "4", "--p=0.25", "--out", "o.json", NULL};
  ck_assert_int_eq(args_parse(8, argv1, specs, "usage", pos, 2, &np), 0);
  ck_assert(json);
  ck_assert_int_eq(batch, 4);
  ck_assert_double_eq(p, 0.25);
  ck_assert_str_eq(out, "o.json");
  ck_assert_int_eq(np, 1);
  char *argv2[] = {"x", "--batch", "four", NULL};
  ck_assert_int_eq(args_parse(3, argv2, specs, "usage", pos, 2, &np), 2);
  char *argv3[] = {"x", "--nope", NULL};
  ck_assert_int_eq(args_parse(2, argv3, specs, "usage", pos, 2, &np), 2);
  char *argv4[] = {"x", "--out", NULL};
  ck_assert_int_eq(args_parse(2, argv4, specs, "usage", pos, 2, &np), 2);
}
END_TEST

START_TEST(args_short_names_lists_and_numbers) {
  const char *out = NULL;
  arg_list logos = {{NULL}, 0};
  arg_spec specs[] = {{"output|o", ARG_STRING, &out, "output"}, {"logo", ARG_LIST, &logos, "logo"},
                      {NULL, 0, NULL, NULL}};
  const char *pos[2];
  int np;
  char *argv1[] = {"x", "--logo", "a.png", "-o", "o.png", "--logo=b.png", "-5", NULL};
  ck_assert_int_eq(args_parse(7, argv1, specs, "usage", pos, 2, &np), 0);
  ck_assert_str_eq(out, "o.png");
  ck_assert_int_eq(logos.n, 2);
  ck_assert_str_eq(logos.items[0], "a.png");
  ck_assert_str_eq(logos.items[1], "b.png");
  ck_assert_int_eq(np, 1); /* "-5" is no option: a positional argument */
  ck_assert_str_eq(pos[0], "-5");
  char *argv2[] = {"x", "--output", "p.png", NULL};
  ck_assert_int_eq(args_parse(3, argv2, specs, "usage", pos, 2, &np), 0);
  ck_assert_str_eq(out, "p.png");
  char *argv3[] = {"x", "--o", "q.png", NULL}; /* the short name is not a long one */
  ck_assert_int_eq(args_parse(3, argv3, specs, "usage", pos, 2, &np), 2);
  double v[4];
  ck_assert_int_eq(args_numbers("1.5,0,-2", v, 3, 3), 3);
  ck_assert_double_eq(v[0], 1.5);
  ck_assert_double_eq(v[2], -2);
  ck_assert_int_eq(args_numbers("1,2", v, 3, 4), -1);
  ck_assert_int_eq(args_numbers("1,2,3,4,5", v, 3, 4), -1);
  ck_assert_int_eq(args_numbers("1,,2", v, 2, 3), -1);
  ck_assert_int_eq(args_numbers("1,2,x", v, 2, 3), -1);
  ck_assert_int_eq(args_numbers("", v, 1, 3), -1);
  ck_assert_int_eq(args_bad_value("bg|b", "R,G,B", "1,2"), 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("tools");
  TCase *tc = tcase_create("tools");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, pipeline_delivers_every_item_in_order);
  tcase_add_test(tc, pipeline_stops_early);
  tcase_add_test(tc, pipeline_exclusive_workers_wait_while_a_batch_is_held);
  tcase_add_test(tc, file_lists_folders_labels_shards);
  tcase_add_test(tc, file_lists_wordnet_ids_and_unsupported);
  tcase_add_test(tc, file_lists_labels_from_a_list);
  tcase_add_test(tc, file_lists_pair_by_relative_path);
  tcase_add_test(tc, args_parse_values_and_errors);
  tcase_add_test(tc, args_short_names_lists_and_numbers);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
