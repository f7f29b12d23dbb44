/* Input lists for the wmfeat subcommands: an image file, a folder (searched recursively, sorted), or a
 * text file with one path per line. With folder labels, an image's label is the index of its
 * top-level subfolder in sorted order, as torchvision's ImageFolder numbers ImageNet's val/<wnid>/. */
#ifndef WMFEAT_FILES_H
#define WMFEAT_FILES_H
#include <stddef.h>

typedef struct file_list {
  char **paths;
  int *labels; /* -1 where unknown */
  size_t n;
  size_t n_classes; /* subfolders seen (folder input), else 0 */
} file_list;

/* Returns 0, or -1 with a message in err. */
int file_list_load(file_list *out, const char *source, char *err, size_t errlen);

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
