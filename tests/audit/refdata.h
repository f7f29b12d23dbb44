/* Reads the named-array files written by the reference scripts (ref_*.py): u32 name length, name,
 * u32 dtype (0 f32, 1 f64, 2 i32), u64 count, data. Test code: aborts loudly on a malformed file. */
#ifndef WMF_TEST_REFDATA_H
#define WMF_TEST_REFDATA_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_array {
  char name[64];
  uint32_t dtype;
  uint64_t count;
  void *data;
} ref_array;

typedef struct ref_file {
  ref_array *arr;
  size_t n;
} ref_file;

static inline ref_file ref_load(const char *path) {
  ref_file r = {0};
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open reference file %s\n", path);
    exit(2);
  }
  for (;;) {
    uint32_t len;
    if (fread(&len, 4, 1, f) != 1) break;
    ref_array a = {0};
    if (len >= sizeof a.name || fread(a.name, 1, len, f) != len || fread(&a.dtype, 4, 1, f) != 1 ||
        fread(&a.count, 8, 1, f) != 1 || a.dtype > 2) {
      fprintf(stderr, "malformed reference file %s\n", path);
      exit(2);
    }
    size_t bytes = a.count * (a.dtype == 1 ? 8 : 4);
    a.data = malloc(bytes ? bytes : 1);
    if (!a.data || fread(a.data, 1, bytes, f) != bytes) {
      fprintf(stderr, "truncated reference file %s at %s\n", path, a.name);
      exit(2);
    }
    r.arr = realloc(r.arr, (r.n + 1) * sizeof *r.arr);
    r.arr[r.n++] = a;
  }
  fclose(f);
  return r;
}

/* The array called `name` (exits if absent or of another type); its element count in *count. */
static inline void *ref_get(const ref_file *r, const char *name, uint32_t dtype, size_t *count) {
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->arr[i].name, name)) {
      if (r->arr[i].dtype != dtype) break;
      if (count) *count = r->arr[i].count;
      return r->arr[i].data;
    }
  fprintf(stderr, "reference array %s missing or of another type\n", name);
  exit(2);
}

static inline void ref_free(ref_file *r) {
  for (size_t i = 0; i < r->n; i++) free(r->arr[i].data);
  free(r->arr);
  *r = (ref_file){0};
}
#endif
