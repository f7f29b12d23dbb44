/* A small command-line parser for the wmfeat subcommands: `--name value`, `--name=value`, `-x value`
 * (an option's one-letter short name), flags, repeatable options and positional arguments, with
 * generated --help text. Values are stored as they come; what an option means never depends on where it
 * stands on the command line. */
#ifndef WMFEAT_ARGS_H
#define WMFEAT_ARGS_H
#include <stdbool.h>

typedef enum { ARG_FLAG, ARG_STRING, ARG_INT, ARG_DOUBLE, ARG_LIST } arg_kind;

/* The values of a repeatable option (ARG_LIST), in the order given. */
enum { ARG_LIST_MAX = 64 };
typedef struct arg_list {
  const char *items[ARG_LIST_MAX];
  int n;
} arg_list;

typedef struct arg_spec {
  const char *name; /* without the leading "--"; "output|o" also accepts the short name -o */
  arg_kind kind;
  void *value;      /* bool*, const char**, long*, double*, arg_list* */
  const char *help;
} arg_spec;

/* Parses argv[1..] against specs (terminated by a spec with name NULL). Positional arguments are
 * collected into positional[] (at most max_positional). Returns 0, 1 when --help was printed (the
 * caller exits 0), or 2 on a usage error (message printed to stderr). */
int args_parse(int argc, char **argv, const arg_spec *specs, const char *usage, const char **positional,
               int max_positional, int *n_positional);

void args_print_help(const char *usage, const arg_spec *specs);

/* Length of a spec's long name (the part before '|'). */
int args_name_length(const arg_spec *s);

/* Prints "error: --OPTION expects WANT, got 'GOT'" (the parser's message for a bad value) and returns 2
 * (the usage exit code). */
int args_bad_value(const char *option, const char *want, const char *got);

/* Reads between min and max comma-separated numbers ("1.5,0,0") into v. Returns how many, or -1 when
 * the text is not such a list. */
int args_numbers(const char *text, double *v, int min, int max);

#endif
