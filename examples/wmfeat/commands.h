/* The wmfeat subcommands; each parses its own arguments (argv[0] is the subcommand's name) and returns
 * an exit code from common.h. */
#ifndef WMFEAT_COMMANDS_H
#define WMFEAT_COMMANDS_H
#include "common.h"

int cmd_classify(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_mask(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
