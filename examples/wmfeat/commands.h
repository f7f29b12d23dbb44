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

/* Applies one --logo value to a recipe (cmd_render.c): "FILE" replaces the recipe's next logo slot
 * (*next_slot, counted from 0; the ch-logo preset's stand-ins are slots 0 and 1) by the file's pixels;
 * "FILE@X,Y[,OPACITY]" adds the file as a native-size logo with its top-left at pixel (X, Y) (opacity
 * default 0.9), as CH_datasets pastes. Several values may be joined by ':' (audit's single --logo).
 * Returns 0, or 1 after printing "PREFIX: error" on stderr. */
int logo_option(wmf_watermark *wm, const char *value, size_t *next_slot, const char *prefix);

#endif
