/* Runs a Check suite and turns its result into the process exit status, for every suite's main(); and
 * the two ways a test that cannot run here says so (meson reports exit 77 as SKIP). */
#ifndef WMF_TESTS_CHECK_RUN_H
#define WMF_TESTS_CHECK_RUN_H
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int run_suite(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* The exit status meson reads as a skip. */
#define WMF_TEST_SKIP 77

/* This CPU lacks what the test checks (e.g. bf16): always a skip, in CI too. Returns the exit status. */
static inline int skip_no_hardware(const char *why) {
  fprintf(stderr, "SKIP (no hardware support): %s\n", why);
  return WMF_TEST_SKIP;
}

/* A tool the test needs is not installed: a skip for a user, a failure where WMF_REQUIRE_ALL_TOOLS=1
 * (.ci/run sets it: CI installs every tool, so a missing one is a broken CI). Returns the exit status. */
static inline int skip_missing_tool(const char *tool, const char *why) {
  const char *req = getenv("WMF_REQUIRE_ALL_TOOLS");
  if (req && strcmp(req, "1") == 0) {
    fprintf(stderr, "FAIL: %s is missing (%s) and WMF_REQUIRE_ALL_TOOLS=1\n", tool, why);
    return EXIT_FAILURE;
  }
  fprintf(stderr, "SKIP (missing tool): %s: %s\n", tool, why);
  return WMF_TEST_SKIP;
}

#endif
