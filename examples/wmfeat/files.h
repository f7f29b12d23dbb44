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

#endif
