/* JSON output of the wmfeat program. Every JSON document it prints (--json) or writes itself
 * (compare.json, sweep.json) is built as a jansson value and dumped here, with one set of flags: keys in
 * the order they were added, two-space indent, reals with 17 significant digits (they read back to the
 * same double), strings escaped by jansson (quotes, backslashes, control characters; other characters
 * stay UTF-8). */
#ifndef WMFEAT_JSON_OUT_H
#define WMFEAT_JSON_OUT_H
#include <stdio.h>

#include <jansson.h>

/* The dump flags of every JSON document of the program. */
#define JSON_OUT_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

/* Prints `value` and a newline to f and releases it (the reference is stolen). NULL (a failed json_pack
 * or allocation) and a failed write print an error. Returns EXIT_OK or EXIT_RUNTIME. */
int json_out_fprint(json_t *value, FILE *f);
/* json_out_fprint to stdout. */
int json_out_print(json_t *value);

/* Writes `value` and a newline to `path` atomically (out_file) and releases it. NULL and a failed write
 * print an error naming the path. Returns EXIT_OK or EXIT_RUNTIME. */
int json_out_write(json_t *value, const char *path);

/* A JSON number of v, or null when v is NaN or infinite (JSON has no such numbers). */
json_t *json_out_number(double v);

/* A JSON string of s; NULL gives null. Text that is not valid UTF-8 (a path of a Latin-1 file system)
 * is kept: each invalid byte becomes U+FFFD, so the output stays valid JSON. */
json_t *json_out_string(const char *s);

#endif
