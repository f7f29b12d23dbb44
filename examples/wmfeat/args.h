/* A small command-line parser for the wmfeat subcommands: `--name value`, `--name=value`, flags and
 * positional arguments, with generated --help text. */
#ifndef WMFEAT_ARGS_H
#define WMFEAT_ARGS_H
#include <stdbool.h>

typedef enum { ARG_FLAG, ARG_STRING, ARG_INT, ARG_DOUBLE } arg_kind;

typedef struct arg_spec {
  const char *name; /* without the leading "--" */
  arg_kind kind;
  void *value;      /* bool*, const char**, long*, double* */
  const char *help;
} arg_spec;

/* Parses argv[1..] against specs (terminated by a spec with name NULL). Positional arguments are
 * collected into positional[] (at most max_positional). Returns 0, 1 when --help was printed (the
 * caller exits 0), or 2 on a usage error (message printed to stderr). */
int args_parse(int argc, char **argv, const arg_spec *specs, const char *usage, const char **positional,
               int max_positional, int *n_positional);

void args_print_help(const char *usage, const arg_spec *specs);

#endif
