#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void args_print_help(const char *usage, const arg_spec *specs) {
  printf("%s\n\nOptions:\n", usage);
  for (const arg_spec *s = specs; s->name; s++) {
    const char *meta = s->kind == ARG_FLAG ? "" : s->kind == ARG_STRING ? " VALUE" : " N";
    printf("  --%s%s\n      %s\n", s->name, meta, s->help);
  }
  printf("  --help\n      show this help\n");
}

static int set_value(const arg_spec *s, const char *text) {
  char *end = NULL;
  errno = 0;
  switch (s->kind) {
  case ARG_STRING: *(const char **)s->value = text; return 0;
  case ARG_INT: *(long *)s->value = strtol(text, &end, 10); break;
  case ARG_DOUBLE: *(double *)s->value = strtod(text, &end); break;
  case ARG_FLAG: return 0;
  }
  if (errno || !end || *end || end == text) {
    fprintf(stderr, "error: --%s expects a number, got '%s'\n", s->name, text);
    return 2;
  }
  return 0;
}

int args_parse(int argc, char **argv, const arg_spec *specs, const char *usage, const char **positional,
               int max_positional, int *n_positional) {
  *n_positional = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      args_print_help(usage, specs);
      return 1;
    }
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
      if (*n_positional >= max_positional) {
        fprintf(stderr, "error: unexpected argument '%s'\n%s\n", a, usage);
        return 2;
      }
      positional[(*n_positional)++] = a;
      continue;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const arg_spec *s = specs;
    while (s->name && !(strlen(s->name) == len && strncmp(s->name, name, len) == 0)) s++;
    if (!s->name) {
      fprintf(stderr, "error: unknown option '%s' (see --help)\n", a);
      return 2;
    }
    if (s->kind == ARG_FLAG) {
      if (eq) {
        fprintf(stderr, "error: --%s takes no value\n", s->name);
        return 2;
      }
      *(bool *)s->value = true;
      continue;
    }
    const char *text = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!text) {
      fprintf(stderr, "error: --%s needs a value\n", s->name);
      return 2;
    }
    if (set_value(s, text)) return 2;
  }
  return 0;
}
