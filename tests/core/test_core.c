/* Core: status names, thread-local errors, allocator hooks, version, file helpers. */
#include <check.h>
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

int main(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, status_names_are_distinct);
  tcase_add_test(tc, errors_are_thread_local);
  tcase_add_test(tc, long_messages_are_truncated_not_overflowed);
  tcase_add_test(tc, allocator_hooks_are_used);
  tcase_add_test(tc, version_agrees_with_headers);
  tcase_add_test(tc, file_round_trip_and_errors);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
