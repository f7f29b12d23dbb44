/* wmfeat: the command-line front end of libwmfeat. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
  {"demo", cmd_demo, "the whole loop on the bundled planted-shortcut network, in under a minute"},
  {"audit", cmd_audit, "which classes and channels respond to a watermark: report, figures, state"},
  {"merge", cmd_merge, "merge audit shard states (--shard I/N) into one result"},
  {"mask", cmd_mask, "a channel mask from an audit state (top-k, top fraction, threshold)"},
  {"probe", cmd_probe, "train and evaluate a linear head on features, with and without a mask"},
  {"compare", cmd_compare, "several audit reports side by side: classes with d above each threshold"},
  {"render", cmd_render, "watermarked images, by preset or by flags (--list shows the presets)"},
  {"classify", cmd_classify, "top-k classes with names for images"},
  {"extract", cmd_extract, "penultimate features (and logits) to .npy"},
  {"bench", cmd_bench, "forward-pass speed on this machine"},
  {"info", cmd_info, "library, CPU, and a weight file's format, tensors and architecture"},
};

static void usage(FILE *f) {
  fprintf(f, "usage: wmfeat COMMAND [options]   (wmfeat COMMAND --help for its options)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\nevery command takes --json, --quiet, --threads N, --batch N, --limit N, --seed N\n"
             "exit codes: 0 ok, 1 a file or library error (the message names it), 2 wrong arguments,\n"
             "            130 interrupted (Ctrl-C; work finished so far is kept)\n");
}

/* fontconfig 2.14 leaks a little while parsing its configuration; not ours to fix (sanitizer builds). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libfontconfig.so\n"; }

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("wmfeat %s\n", wmf_version());
    return EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return EXIT_USAGE;
}
