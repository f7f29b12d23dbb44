#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_name_length(const arg_spec *s) { return (int)strcspn(s->name, "|"); }

/* The one-letter short name of a spec ("output|o": 'o'), or 0. */
static char short_name(const arg_spec *s) {
  const char *bar = strchr(s->name, '|');
  return bar && bar[1] && !bar[2] ? bar[1] : 0;
}

void args_print_help(const char *usage, const arg_spec *specs) {
  printf("%s\n\nOptions:\n", usage);
  for (const arg_spec *s = specs; s->name; s++) {
    const char *meta = s->kind == ARG_FLAG ? "" : s->kind == ARG_INT || s->kind == ARG_DOUBLE ? " N" : " VALUE";
    if (short_name(s)) printf("  -%c, --%.*s%s\n", short_name(s), args_name_length(s), s->name, meta);
    else printf("  --%.*s%s\n", args_name_length(s), s->name, meta);
    printf("      %s%s\n", s->help, s->kind == ARG_LIST ? " (repeatable)" : "");
  }
  printf("  -h, --help\n      show this help\n");
}

int args_bad_value(const char *option, const char *want, const char *got) {
  fprintf(stderr, "error: --%.*s expects %s, got '%s'\n", (int)strcspn(option, "|"), option, want, got);
  return 2;
}

int args_numbers(const char *text, double *v, int min, int max) {
  int k = 0;
  const char *s = text;
  for (;;) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || errno || k == max) return -1;
    v[k++] = x;
    if (*end == '\0') break;
    if (*end != ',') return -1;
    s = end + 1;
  }
  return k >= min ? k : -1;
}

static int set_value(const arg_spec *s, const char *text) {
  char *end = NULL;
  errno = 0;
  switch (s->kind) {
  case ARG_STRING: *(const char **)s->value = text; return 0;
  case ARG_LIST: {
    arg_list *l = s->value;
    if (l->n == ARG_LIST_MAX) {
      fprintf(stderr, "error: --%.*s given more than %d times\n", args_name_length(s), s->name, ARG_LIST_MAX);
      return 2;
    }
    l->items[l->n++] = text;
    return 0;
  }
  case ARG_INT: *(long *)s->value = strtol(text, &end, 10); break;
  case ARG_DOUBLE: *(double *)s->value = strtod(text, &end); break;
  case ARG_FLAG: return 0;
  }
  if (errno || !end || *end || end == text) return args_bad_value(s->name, "a number", text);
  return 0;
}

/* The spec an argument names: "--name", "--name=value" or "-x"; NULL for a positional argument.
 * *bad is set for an option no spec has. */
static const arg_spec *find_spec(const char *a, const arg_spec *specs, const char **eq, bool *bad) {
  *eq = NULL, *bad = false;
  if (a[0] != '-' || a[1] == '\0') return NULL;
  if (a[1] != '-') { /* -x: a short name; anything else (-5, -) stays positional */
    for (const arg_spec *s = specs; s->name; s++)
      if (short_name(s) && a[1] == short_name(s) && a[2] == '\0') return s;
    return NULL;
  }
  if (a[2] == '\0') return NULL;
  const char *name = a + 2;
  *eq = strchr(name, '=');
  size_t len = *eq ? (size_t)(*eq - name) : strlen(name);
  for (const arg_spec *s = specs; s->name; s++)
    if ((size_t)args_name_length(s) == len && strncmp(s->name, name, len) == 0) return s;
  *bad = true;
  return NULL;
}

int args_parse(int argc, char **argv, const arg_spec *specs, const char *usage, const char **positional,
               int max_positional, int *n_positional) {
  *n_positional = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *eq;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      args_print_help(usage, specs);
      return 1;
    }
    bool bad;
    const arg_spec *s = find_spec(a, specs, &eq, &bad);
    if (bad) {
      fprintf(stderr, "error: unknown option '%s' (see --help)\n", a);
      return 2;
    }
    if (!s) {
      if (*n_positional >= max_positional) {
        fprintf(stderr, "error: unexpected argument '%s'\n%s\n", a, usage);
        return 2;
      }
      positional[(*n_positional)++] = a;
      continue;
    }
    if (s->kind == ARG_FLAG) {
      if (eq) {
        fprintf(stderr, "error: --%.*s takes no value\n", args_name_length(s), s->name);
        return 2;
      }
      *(bool *)s->value = true;
      continue;
    }
    const char *text = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!text) {
      fprintf(stderr, "error: --%.*s needs a value\n", args_name_length(s), s->name);
      return 2;
    }
    if (set_value(s, text)) return 2;
  }
  return 0;
}
