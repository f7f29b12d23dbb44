/* Core: status names, thread-local errors, allocator hooks, version, file helpers, and the utility layer
 * (little-endian fields, checksum, wmfi_buf, ranking and AUC, .npy, load-file-then-parse). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "../check_run.h"

START_TEST(status_names_are_distinct) {
  static const wmf_status all[] = {WMF_OK, WMF_ERR_INVALID_ARGUMENT, WMF_ERR_OUT_OF_MEMORY, WMF_ERR_IO,
                                   WMF_ERR_BUFFER_TOO_SMALL, WMF_ERR_CORRUPT, WMF_ERR_UNSUPPORTED,
                                   WMF_ERR_LIMIT, WMF_ERR_NOT_FOUND, WMF_ERR_FORBIDDEN, WMF_ERR_SHAPE,
                                   WMF_ERR_UNKNOWN_ARCH, WMF_ERR_BACKEND, WMF_ERR_FONT, WMF_ERR_UTF8,
                                   WMF_ERR_STATE, WMF_ERR_NUMERIC};
  size_t n = sizeof all / sizeof all[0];
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_ne(wmf_status_name(all[i]), "WMF_ERR_UNKNOWN_STATUS");
    for (size_t j = i + 1; j < n; j++) ck_assert_str_ne(wmf_status_name(all[i]), wmf_status_name(all[j]));
  }
  ck_assert_str_eq(wmf_status_name(WMF_OK), "WMF_OK");
  ck_assert_str_eq(wmf_status_name((wmf_status)-9999), "WMF_ERR_UNKNOWN_STATUS");
}
END_TEST

static void *fail_in_thread(void *arg) {
  wmfi_fail(WMF_ERR_CORRUPT, "thread %d", *(int *)arg);
  return strdup(wmf_last_error());
}

START_TEST(errors_are_thread_local) {
  wmf_clear_error();
  ck_assert_str_eq(wmf_last_error(), "");
  ck_assert_int_eq(wmfi_fail(WMF_ERR_IO, "main %s", "here"), WMF_ERR_IO);
  int id = 7;
  pthread_t t;
  char *other;
  ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, &id), 0);
  ck_assert_int_eq(pthread_join(t, (void **)&other), 0);
  ck_assert_str_eq(other, "thread 7");
  ck_assert_str_eq(wmf_last_error(), "main here");
  free(other);
}
END_TEST

START_TEST(long_messages_are_truncated_not_overflowed) {
  char big[5000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  wmfi_fail(WMF_ERR_IO, "%s", big);
  ck_assert_uint_lt(strlen(wmf_last_error()), sizeof big - 1);
  ck_assert_uint_gt(strlen(wmf_last_error()), 100);
}
END_TEST

static int n_malloc, n_free;
static void *count_malloc(void *u, size_t s) { n_malloc++; return malloc(s); }
static void *count_realloc(void *u, void *p, size_t s) { return realloc(p, s); }
static void count_free(void *u, void *p) { n_free++; free(p); }

START_TEST(allocator_hooks_are_used) {
  wmf_allocator a = {count_malloc, count_realloc, count_free, NULL};
  ck_assert_int_eq(wmf_set_allocator(&a), WMF_OK);
  char *s = wmfi_strdup("hello");
  ck_assert_str_eq(s, "hello");
  wmfi_free(s);
  ck_assert_int_eq(n_malloc, 1);
  ck_assert_int_eq(n_free, 1);
  ck_assert_int_eq(wmf_set_allocator(NULL), WMF_OK);
  wmf_allocator bad = {count_malloc, NULL, count_free, NULL};
  ck_assert_int_eq(wmf_set_allocator(&bad), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(wmfi_alloc_array(SIZE_MAX / 2, 4));
  ck_assert_ptr_null(wmfi_calloc(SIZE_MAX / 2, 4));
}
END_TEST

START_TEST(version_agrees_with_headers) {
  ck_assert_str_eq(wmf_version(), WMF_VERSION_STRING);
  ck_assert_uint_eq(wmf_version_number(), WMF_VERSION_NUMBER);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", WMF_VERSION_MAJOR, WMF_VERSION_MINOR, WMF_VERSION_PATCH);
  ck_assert_str_eq(buf, wmf_version());
}
END_TEST

START_TEST(file_round_trip_and_errors) {
  char path[] = "/tmp/wmf_core_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(wmfi_write_file_atomic(path, "abc", 3), WMF_OK);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0600); /* the mode of the file replaced (mkstemp's) is kept */
  unlink(path);
  ck_assert_int_eq(wmfi_write_file_atomic(path, "abc", 3), WMF_OK);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0644); /* a new file is readable by others, not 0600 */
  wmfi_file f;
  ck_assert_int_eq(wmfi_file_open(&f, path), WMF_OK);
  ck_assert_uint_eq(f.size, 3);
  ck_assert_int_eq(memcmp(f.data, "abc", 3), 0);
  wmfi_file_close(&f);
  unlink(path);
  ck_assert_int_eq(wmfi_file_open(&f, path), WMF_ERR_IO);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), path));
  ck_assert_int_eq(wmfi_file_open(&f, "/tmp"), WMF_ERR_IO);
  ck_assert_int_eq(wmfi_write_file_atomic("/nonexistent-dir/x", "a", 1), WMF_ERR_IO);
}
END_TEST

static char *tmp_path(const char *name) {
  static char buf[4][256];
  static int k;
  char *p = buf[k++ % 4];
  snprintf(p, 256, "/tmp/wmf_core_%d_%s", (int)getpid(), name);
  return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  fclose(f);
}

START_TEST(le_fields_and_checksum) {
  uint8_t b[8];
  wmfi_put_le64(b, 0x0102030405060708ull);
  ck_assert_uint_eq(b[0], 8);
  ck_assert_uint_eq(b[7], 1);
  ck_assert_uint_eq(wmfi_le64(b), 0x0102030405060708ull);
  ck_assert_uint_eq(wmfi_le32(b + 1), 0x04050607u);
  ck_assert_uint_eq(wmfi_le16(b + 6), 0x0102u);
  wmfi_put_le32(b, 0xA1B2C3D4u);
  ck_assert_uint_eq(b[0], 0xD4);
  ck_assert_uint_eq(wmfi_le32(b), 0xA1B2C3D4u);
  /* the checksum of the audit and probe formats is FNV-1a 64: published test vectors */
  ck_assert_uint_eq(wmfi_checksum("", 0), 0xcbf29ce484222325ull);
  ck_assert_uint_eq(wmfi_checksum("a", 1), 0xaf63dc4c8601ec8cull);
  ck_assert_uint_eq(wmfi_checksum("foobar", 6), 0x85944171f73967e8ull);
}
END_TEST

/* wmfi_hash as its definition reads (core.h): the input as little-endian 64-bit words, the last one
 * zero-padded, each xored in and multiplied by the FNV prime, then the length and the splitmix64
 * finalizer. The streaming version gives the same value for every way of splitting the input and
 * every alignment of it in memory (it reads whole words where it can). */
static uint64_t reference_hash(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = 0;
    for (size_t k = 8; k-- > 0;) v = v << 8 | (i + k < n ? p[i + k] : 0);
    h = (h ^ v) * 0x100000001b3ull;
  }
  h ^= n;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

START_TEST(hash_is_independent_of_splits_and_alignment) {
  uint8_t data[1000 + 8];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 37 + 11);
  const size_t pieces[] = {1, 3, 7, 8, 13, 64, 1000};
  for (size_t off = 0; off < 8; off++)
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++)
      for (size_t n = 0; n <= 1000; n += 333) {
        wmfi_hash h;
        wmfi_hash_init(&h);
        for (size_t at = 0; at < n; at += pieces[k])
          wmfi_hash_update(&h, data + off + at, n - at < pieces[k] ? n - at : pieces[k]);
        ck_assert_uint_eq(wmfi_hash_final(&h), reference_hash(data + off, n));
      }
}
END_TEST

static int fail_realloc;
static void *maybe_realloc(void *u, void *p, size_t s) { return fail_realloc ? NULL : realloc(p, s); }
static void *plain_malloc(void *u, size_t s) { return malloc(s); }
static void plain_free(void *u, void *p) { free(p); }

START_TEST(buf_grows_and_reports_failure) {
  wmfi_buf b = {0};
  for (int i = 0; i < 2000; i++) wmfi_buf_printf(&b, "%d,", i % 10);
  wmfi_buf_str(&b, "end");
  wmfi_buf_put(&b, "!", 1);
  ck_assert(!b.failed);
  ck_assert_uint_eq(b.len, 4004);
  ck_assert_uint_eq(strlen(b.data), 4004);
  ck_assert_int_eq(memcmp(b.data, "0,1,2,", 6), 0);
  ck_assert_str_eq(b.data + 4000, "end!");
  const char *path = tmp_path("buf.txt");
  ck_assert_int_eq(wmfi_buf_write_file(&b, path, "test"), WMF_OK);
  ck_assert_ptr_null(b.data); /* freed */
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_size, 4004);
  unlink(path);
  /* an allocation failure sticks and is reported once, at the write, which writes nothing */
  wmf_allocator a = {plain_malloc, maybe_realloc, plain_free, NULL};
  ck_assert_int_eq(wmf_set_allocator(&a), WMF_OK);
  wmfi_buf_str(&b, "x");
  fail_realloc = 1;
  for (int i = 0; i < 5000; i++) wmfi_buf_str(&b, "more");
  fail_realloc = 0;
  wmfi_buf_str(&b, "y");
  ck_assert(b.failed);
  ck_assert_int_eq(wmfi_buf_write_file(&b, path, "test"), WMF_ERR_OUT_OF_MEMORY);
  ck_assert_ptr_nonnull(strstr(wmf_last_error(), "test: out of memory"));
  ck_assert_int_ne(stat(path, &st), 0);
  ck_assert_int_eq(wmf_set_allocator(NULL), WMF_OK);
  /* SVG text is escaped */
  wmfi_svg_text(&b, 1, 2, "middle", 10, "a<b & \"c\">");
  ck_assert_str_eq(b.data, "<text x=\"1.0\" y=\"2.0\" text-anchor=\"middle\" font-size=\"10\">a&lt;b &amp; &quot;c&quot;&gt;</text>\n");
  wmfi_buf_free(&b);
}
END_TEST

START_TEST(rank_and_auc) {
  uint64_t work[16];
  const float neg[] = {1, 2, 3}, pos[] = {2, 3, 4};
  ck_assert_double_eq(wmfi_auc(neg, 3, pos, 3, work), 7.0 / 9.0); /* ties count one half */
  const double dneg[] = {0.1, 0.2}, dpos[] = {0.1 + 1e-12, 0.3};
  ck_assert_double_eq(wmfi_auc_f64(dneg, 2, dpos, 2, work), 3.0 / 4.0); /* compared in double */
  const float zeros[] = {-0.0f}, zero[] = {0.0f};
  ck_assert_double_eq(wmfi_auc(zeros, 1, zero, 1, work), 0.5); /* -0 == +0 */
  ck_assert(wmfi_float_key(-1.5f) < wmfi_float_key(-0.0f) && wmfi_float_key(0.0f) < wmfi_float_key(1e-30f));
  ck_assert(wmfi_double_key(-INFINITY) < wmfi_double_key(-1e300) && wmfi_double_key(1e300) < wmfi_double_key(INFINITY));
  uint64_t keys[5] = {5, 1, 1ull << 40, 3, 0}, tmp[5];
  wmfi_radix_sort(keys, tmp, 5);
  ck_assert(keys[0] == 0 && keys[1] == 1 && keys[2] == 3 && keys[3] == 5 && keys[4] == 1ull << 40);
  const double s[] = {0.2, NAN, 0.9, 0.5, 0.9};
  size_t r[5];
  ck_assert_int_eq(wmfi_rank_scores(r, 5, s, 5, WMF_RANK_DESCENDING), WMF_OK);
  ck_assert(r[0] == 2 && r[1] == 4 && r[2] == 3 && r[3] == 0 && r[4] == 1); /* ties to the lower index, NaN last */
  ck_assert_int_eq(wmfi_rank_scores(r, 2, s, 5, WMF_RANK_FROM_HALF), WMF_OK);
  ck_assert(r[0] == 2 && r[1] == 4);
  ck_assert_int_eq(wmfi_rank_scores(r, 6, s, 5, WMF_RANK_ABS), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmfi_rank_scores(r, 1, s, 5, (wmf_rank_order)99), WMF_ERR_INVALID_ARGUMENT);
}
END_TEST

/* A .npy file of format `version` with the given header dict and `data_bytes` bytes of value 1.0f. */
static void write_npy(const char *path, int version, const char *dict, size_t data_bytes) {
  uint8_t buf[512] = {0};
  size_t pre = version == 1 ? 10 : 12, dl = strlen(dict), hlen = (pre + dl + 1 + 63) / 64 * 64 - pre;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (uint8_t)version;
  buf[8] = (uint8_t)hlen;
  memcpy(buf + pre, dict, dl);
  memset(buf + pre + dl, ' ', hlen - dl - 1);
  buf[pre + hlen - 1] = '\n';
  for (size_t i = 0; i + 4 <= data_bytes; i += 4) memcpy(buf + pre + hlen + i, &(float){1.0f}, 4);
  write_bytes(path, buf, pre + hlen + data_bytes);
}

START_TEST(npy_public_api) {
  const char *path = tmp_path("a.npy");
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {0};
  size_t rows = 9, cols = 9;
  ck_assert_int_eq(wmf_npy_save_f32(path, a, 2, 3), WMF_OK);
  ck_assert_int_eq(wmf_npy_load_f32(NULL, 0, &rows, &cols, path), WMF_OK);
  ck_assert(rows == 2 && cols == 3);
  ck_assert_int_eq(wmf_npy_load_f32(b, 5, &rows, &cols, path), WMF_ERR_BUFFER_TOO_SMALL);
  ck_assert(rows == 2 && cols == 3);
  ck_assert_int_eq(wmf_npy_load_f32(b, 6, &rows, &cols, path), WMF_OK);
  ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
  wmfi_file f;
  ck_assert_int_eq(wmfi_file_open(&f, path), WMF_OK);
  ck_assert_uint_eq(f.size, 128 + 24); /* header padded to a multiple of 64 bytes */
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ck_assert_int_eq(memcmp(f.data + 10, dict, strlen(dict)), 0);
  wmfi_file_close(&f);
  ck_assert_int_eq(wmf_npy_save_f32(NULL, a, 2, 3), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_npy_save_f32(path, NULL, 2, 3), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(wmf_npy_save_f32(path, a, SIZE_MAX / 2, 3), WMF_ERR_LIMIT);
  ck_assert_int_eq(wmf_npy_load_f32(b, 6, NULL, &cols, path), WMF_ERR_INVALID_ARGUMENT);
  /* format 2.0 headers, and the refusals */
  write_npy(path, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", 24);
  ck_assert_int_eq(wmf_npy_load_f32(b, 6, &rows, &cols, path), WMF_OK);
  ck_assert(rows == 3 && cols == 2 && b[5] == 1.0f);
  static const struct {
    int version;
    const char *dict;
    size_t bytes;
    wmf_status want;
    const char *says;
  } bad[] = {
      {1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 1), }", 24, WMF_ERR_UNSUPPORTED, "'<f8'"},
      {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3, 1), }", 12, WMF_ERR_UNSUPPORTED, "dtype"},
      {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 1), }", 12, WMF_ERR_UNSUPPORTED, "Fortran"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 12, WMF_ERR_UNSUPPORTED, "1-D"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 1), }", 12, WMF_ERR_UNSUPPORTED, "dimensions"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), }", 8, WMF_ERR_CORRUPT, "data bytes"},
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, x), }", 12, WMF_ERR_CORRUPT, "bad shape"},
      {1, "{'descr': '<f4', 'fortran_order': False}", 12, WMF_ERR_CORRUPT, "lacks"},
      {4, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), }", 12, WMF_ERR_UNSUPPORTED, "version 4"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    write_npy(path, bad[i].version, bad[i].dict, bad[i].bytes);
    ck_assert_int_eq(wmf_npy_load_f32(NULL, 0, &rows, &cols, path), bad[i].want);
    ck_assert_msg(strstr(wmf_last_error(), bad[i].says), "case %zu: %s", i, wmf_last_error());
  }
  write_bytes(path, "\x93NUMPY\x01\x00\xff\xff", 10);
  ck_assert_int_eq(wmf_npy_load_f32(NULL, 0, &rows, &cols, path), WMF_ERR_CORRUPT); /* header past the end */
  write_bytes(path, "hello", 5);
  ck_assert_int_eq(wmf_npy_load_f32(NULL, 0, &rows, &cols, path), WMF_ERR_CORRUPT);
  unlink(path);
  ck_assert_int_eq(wmf_npy_load_f32(NULL, 0, &rows, &cols, path), WMF_ERR_IO);
  ck_assert(rows == 0 && cols == 0);
}
END_TEST

static wmf_status parse_count(void *out, const uint8_t *data, size_t size, const char *path) {
  size_t **result = out;
  static size_t n;
  n = size;
  *result = &n;
  return data ? WMF_OK : WMF_ERR_CORRUPT;
}

START_TEST(load_file_then_parse) {
  const char *path = tmp_path("load.bin");
  write_bytes(path, "12345", 5);
  size_t *got = (size_t *)&got;
  ck_assert_int_eq(wmfi_load_file(&got, path, "test_load", parse_count), WMF_OK);
  ck_assert_uint_eq(*got, 5);
  unlink(path);
  ck_assert_int_eq(wmfi_load_file(&got, path, "test_load", parse_count), WMF_ERR_IO);
  ck_assert_ptr_null(got); /* set to NULL before the file is opened */
  ck_assert_int_eq(wmfi_load_file(NULL, path, "test_load", parse_count), WMF_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(wmf_last_error(), "test_load: NULL argument");
  wmfi_part parts[3] = {{"ab", 2}, {NULL, 0}, {"cde", 3}};
  ck_assert_int_eq(wmfi_write_parts_atomic(path, parts, 3), WMF_OK);
  wmfi_file f;
  ck_assert_int_eq(wmfi_file_open(&f, path), WMF_OK);
  ck_assert(f.size == 5 && !memcmp(f.data, "abcde", 5));
  wmfi_file_close(&f);
  unlink(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, status_names_are_distinct);
  tcase_add_test(tc, errors_are_thread_local);
  tcase_add_test(tc, long_messages_are_truncated_not_overflowed);
  tcase_add_test(tc, allocator_hooks_are_used);
  tcase_add_test(tc, version_agrees_with_headers);
  tcase_add_test(tc, file_round_trip_and_errors);
  tcase_add_test(tc, le_fields_and_checksum);
  tcase_add_test(tc, buf_grows_and_reports_failure);
  tcase_add_test(tc, hash_is_independent_of_splits_and_alignment);
  tcase_add_test(tc, rank_and_auc);
  tcase_add_test(tc, npy_public_api);
  tcase_add_test(tc, load_file_then_parse);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
