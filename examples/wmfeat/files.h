/* Input lists for the wmfeat subcommands: an image file, a folder (searched recursively, sorted), or a
 * text file with one path per line, optionally followed by a tab and a label.
 *
 * Labels come from the input itself:
 *  - a list file's second column: an integer class index, or an ImageNet WordNet id (n01440764);
 *  - a folder's top-level subfolders: when every one is an ImageNet WordNet id (ImageNet's train/ and
 *    val/ layout, or any subset of its 1,000 synsets), the ImageNet class index of that id; otherwise the
 *    subfolder's index in sorted order, as torchvision's ImageFolder numbers them.
 * Image files of formats libwmfeat does not decode (.tif, .webp, ...) are not listed but collected in
 * `unsupported`, so callers can name them. */
#ifndef WMFEAT_FILES_H
#define WMFEAT_FILES_H
#include <stdbool.h>
#include <stddef.h>

typedef enum file_labels {
  FILE_LABELS_NONE = 0, /* no labels: a single image, a list without a second column, a flat folder */
  FILE_LABELS_LIST,     /* the list file's second column */
  FILE_LABELS_WNID,     /* ImageNet class indices of WordNet-id subfolders */
  FILE_LABELS_FOLDERS   /* subfolder index in sorted order (ImageFolder) */
} file_labels;

typedef struct file_list {
  char **paths;
  int *labels; /* -1 where unknown */
  size_t n;
  size_t n_classes;   /* FOLDERS: subfolders; WNID: 1000; LIST: largest label + 1; else 0 */
  file_labels source; /* where the labels come from */
  size_t n_labelled;  /* items with a label */
  char **unsupported; /* image files of formats not decoded, not in paths */
  size_t n_unsupported;
} file_list;

/* Returns 0, or -1 with a message in err (a missing input, a list line with a bad label, no images). */
int file_list_load(file_list *out, const char *source, char *err, size_t errlen);

/* How the labels were obtained, for messages and JSON: "none", "list file", "ImageNet WordNet ids",
 * "sorted subfolders". */
const char *file_list_label_source(const file_list *l);

/* Prints a warning naming each unsupported file (at most `max_named`, then the count). */
void file_list_warn_unsupported(const file_list *l, size_t max_named);

/* Keeps shard i of n: the contiguous items [N*i/n, N*(i+1)/n), so shards merged in order equal one run
 * over the whole list, floating-point sums included. */
void file_list_shard(file_list *l, size_t i, size_t n);

/* Keeps the first `limit` items (0: all). */
void file_list_limit(file_list *l, size_t limit);

void file_list_free(file_list *l);

/* Pairs pre-rendered watermarked images with their clean originals. `clean` was loaded from
 * `clean_source`; `wm_source` is a folder (when clean_source is one: files are paired by their path
 * relative to each folder, so CLEAN/a/x.JPEG goes with WM/a/x.JPEG) or a list file (when clean_source is
 * one: paired line by line, both lists must have the same length). Clean images without a partner are
 * removed from `clean` (labels kept aligned); each file without a partner, on either side, is reported
 * through warn(ctx, path, side) with side "clean" or "watermarked", and counted in *unpaired.
 * On success `wm` holds the partners, wm->paths[i] beside clean->paths[i]. Returns 0, or -1 with a
 * message in err (and nothing allocated in wm). */
typedef void (*file_pair_warn_fn)(void *ctx, const char *path, const char *side);
int file_list_pair(file_list *clean, const char *clean_source, file_list *wm, const char *wm_source,
                   file_pair_warn_fn warn, void *ctx, size_t *unpaired, char *err, size_t errlen);

/* FNV-1a 64 of the paths, each followed by a NUL byte: what a list was, in one number. */
unsigned long long file_list_hash(const file_list *l);

#endif
