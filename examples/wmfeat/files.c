#include "files.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <wmfeat.h>

static int has_extension(const char *name, const char *const *ext, size_t n) {
  const char *dot = strrchr(name, '.');
  if (!dot) return 0;
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(dot, ext[i]) == 0) return 1;
  return 0;
}

static int has_image_extension(const char *name) {
  static const char *const ext[] = {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif"};
  return has_extension(name, ext, sizeof ext / sizeof ext[0]);
}

/* Image formats people keep beside their JPEGs that libwmfeat does not decode. */
static int has_unsupported_image_extension(const char *name) {
  static const char *const ext[] = {".tif", ".tiff", ".webp", ".heic", ".heif", ".avif", ".jxl", ".jp2",
                                    ".j2k", ".psd", ".ppm", ".pgm", ".pbm", ".pnm", ".ico", ".exr", ".hdr",
                                    ".dng", ".cr2", ".nef", ".arw", ".svg"};
  return has_extension(name, ext, sizeof ext / sizeof ext[0]);
}

static int push_unsupported(file_list *l, const char *path) {
  char **u = realloc(l->unsupported, (l->n_unsupported + 1) * sizeof *u);
  if (!u) return -1;
  l->unsupported = u;
  return (u[l->n_unsupported] = strdup(path)) ? (l->n_unsupported++, 0) : -1;
}

/* The ImageNet class index of a WordNet id, or -1. */
static int wnid_index(const char *name) {
  size_t k;
  return wmf_imagenet_class_from_wnid(&k, name) == WMF_OK ? (int)k : -1;
}

static int push(file_list *l, size_t *cap, const char *path, int label) {
  if (l->n == *cap) {
    size_t nc = *cap ? *cap * 2 : 256;
    char **p = realloc(l->paths, nc * sizeof *p);
    if (p) l->paths = p;
    int *lb = realloc(l->labels, nc * sizeof *lb);
    if (lb) l->labels = lb;
    if (!p || !lb) return -1;
    *cap = nc;
  }
  if (!(l->paths[l->n] = strdup(path))) return -1;
  l->labels[l->n++] = label;
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names of the entries of `dir`, without . and .. */
static char **sorted_entries(const char *dir, size_t *n) {
  DIR *d = opendir(dir);
  if (!d) return NULL;
  char **names = NULL;
  size_t cap = 0;
  *n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) break;
      names = nn;
    }
    names[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, *n, sizeof *names, cmp_str);
  else names = calloc(1, sizeof *names);
  return names;
}

static int walk(file_list *l, size_t *cap, const char *dir, int label, int depth) {
  size_t n;
  char **names = sorted_entries(dir, &n);
  if (!names) return -1;
  int rc = 0, next_label = 0;
  bool wnids = false;
  if (depth == 0) { /* labels of the top-level subfolders: WordNet ids when every one is one */
    size_t subdirs = 0, ids = 0;
    for (size_t i = 0; i < n; i++) {
      char path[4096];
      struct stat st;
      snprintf(path, sizeof path, "%s/%s", dir, names[i]);
      if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) subdirs++, ids += wnid_index(names[i]) >= 0;
    }
    wnids = subdirs > 0 && ids == subdirs;
    l->source = subdirs == 0 ? FILE_LABELS_NONE : wnids ? FILE_LABELS_WNID : FILE_LABELS_FOLDERS;
  }
  for (size_t i = 0; i < n && rc == 0; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = depth > 0 ? label : wnids ? wnid_index(names[i]) : next_label++;
      rc = walk(l, cap, path, sub, depth + 1);
    } else if (has_image_extension(names[i])) {
      rc = push(l, cap, path, label);
    } else if (has_unsupported_image_extension(names[i])) {
      rc = push_unsupported(l, path);
    }
  }
  if (depth == 0) l->n_classes = wnids ? WMF_IMAGENET_CLASSES : (size_t)next_label;
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  return rc;
}

/* The label after the tab of list line `line_no`: an integer >= 0 or an ImageNet WordNet id. */
static int parse_label(const char *text, const char *source, size_t line_no, int *label, char *err,
                       size_t errlen) {
  char *end;
  long v = strtol(text, &end, 10);
  while (*end == ' ' || *end == '\t') end++;
  if (end != text && *end == '\0' && v >= 0 && v <= 1000000) {
    *label = (int)v;
    return 0;
  }
  if ((*label = wnid_index(text)) >= 0) return 0;
  snprintf(err, errlen, "'%s' line %zu: label '%.40s' is neither an integer 0..1000000 nor an ImageNet WordNet id",
           source, line_no, text);
  return -1;
}

static void count_labelled(file_list *l) {
  l->n_labelled = 0;
  for (size_t i = 0; i < l->n; i++) l->n_labelled += l->labels[i] >= 0;
}

int file_list_load(file_list *out, const char *source, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  size_t cap = 0;
  struct stat st;
  if (stat(source, &st) != 0) {
    snprintf(err, errlen, "cannot read '%s': %s", source, strerror(errno));
    return -1;
  }
  int rc = 0;
  if (S_ISDIR(st.st_mode)) {
    rc = walk(out, &cap, source, -1, 0);
  } else if (has_image_extension(source)) {
    rc = push(out, &cap, source, -1);
  } else if (has_unsupported_image_extension(source)) {
    snprintf(err, errlen, "'%s': unsupported image format (libwmfeat reads .jpg .jpeg .png .bmp .tga .gif)", source);
    return -1;
  } else { /* a list of paths, one per line, optionally followed by a tab and a label */
    FILE *f = fopen(source, "r");
    if (!f) {
      snprintf(err, errlen, "cannot open '%s': %s", source, strerror(errno));
      return -1;
    }
    char line[4096];
    size_t line_no = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
      line_no++;
      line[strcspn(line, "\r\n")] = 0;
      if (!line[0] || line[0] == '#') continue;
      char *tab = strchr(line, '\t');
      int label = -1;
      if (tab) {
        *tab = 0;
        if (parse_label(tab + 1, source, line_no, &label, err, errlen)) {
          fclose(f);
          file_list_free(out);
          return -1;
        }
        out->source = FILE_LABELS_LIST;
        if ((size_t)label + 1 > out->n_classes) out->n_classes = (size_t)label + 1;
      }
      rc = has_unsupported_image_extension(line) ? push_unsupported(out, line) : push(out, &cap, line, label);
    }
    fclose(f);
  }
  if (rc != 0) {
    snprintf(err, errlen, "cannot list '%s': out of memory or unreadable folder", source);
    file_list_free(out);
    return -1;
  }
  if (out->n == 0) {
    snprintf(err, errlen, "no images (.jpg .jpeg .png .bmp .tga .gif) in '%s'%s", source,
             out->n_unsupported ? "; files of unsupported formats (.tif, .webp, ...) are not read" : "");
    file_list_free(out);
    return -1;
  }
  count_labelled(out);
  if (out->n_labelled == 0) out->source = FILE_LABELS_NONE, out->n_classes = 0;
  return 0;
}

const char *file_list_label_source(const file_list *l) {
  switch (l->source) {
  case FILE_LABELS_LIST: return "list file";
  case FILE_LABELS_WNID: return "ImageNet WordNet ids";
  case FILE_LABELS_FOLDERS: return "sorted subfolders";
  default: return "none";
  }
}

void file_list_warn_unsupported(const file_list *l, size_t max_named) {
  for (size_t i = 0; i < l->n_unsupported && i < max_named; i++)
    fprintf(stderr, "warning: unsupported image format, not read: %s\n", l->unsupported[i]);
  if (l->n_unsupported)
    fprintf(stderr, "warning: %zu file%s of unsupported formats skipped%s (libwmfeat reads .jpg .jpeg .png .bmp "
                    ".tga .gif)\n", l->n_unsupported, l->n_unsupported == 1 ? "" : "s",
            l->n_unsupported > max_named ? " (the first named above)" : "");
}

void file_list_shard(file_list *l, size_t i, size_t n) {
  size_t lo = l->n * i / n, hi = l->n * (i + 1) / n;
  for (size_t j = 0; j < l->n; j++)
    if (j < lo || j >= hi) free(l->paths[j]);
  memmove(l->paths, l->paths + lo, (hi - lo) * sizeof *l->paths);
  memmove(l->labels, l->labels + lo, (hi - lo) * sizeof *l->labels);
  l->n = hi - lo;
  count_labelled(l);
}

void file_list_limit(file_list *l, size_t limit) {
  if (!limit || limit >= l->n) return;
  for (size_t j = limit; j < l->n; j++) free(l->paths[j]);
  l->n = limit;
  count_labelled(l);
}

void file_list_free(file_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->paths[i]);
  for (size_t i = 0; i < l->n_unsupported; i++) free(l->unsupported[i]);
  free(l->unsupported);
  free(l->paths);
  free(l->labels);
  memset(l, 0, sizeof *l);
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The part of `path` after `root` and its slash (the walk built path as root + "/" + ...). */
static const char *relative(const char *path, const char *root) {
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/') n--;
  if (strncmp(path, root, n) != 0 || path[n] != '/') return path;
  path += n;
  while (*path == '/') path++; /* a root given with a trailing slash is followed by two */
  return path;
}

typedef struct rel_entry {
  const char *rel;
  size_t index;
} rel_entry;

static int cmp_rel(const void *a, const void *b) {
  return strcmp(((const rel_entry *)a)->rel, ((const rel_entry *)b)->rel);
}

int file_list_pair(file_list *clean, const char *clean_source, file_list *wm, const char *wm_source,
                   file_pair_warn_fn warn, void *ctx, size_t *unpaired, char *err, size_t errlen) {
  memset(wm, 0, sizeof *wm);
  *unpaired = 0;
  int cdir = is_dir(clean_source), wdir = is_dir(wm_source);
  if (cdir != wdir) {
    snprintf(err, errlen, "--watermarked: '%s' and '%s' must both be folders (paired by relative path) or both "
             "lists (paired by line)", clean_source, wm_source);
    return -1;
  }
  file_list all;
  if (file_list_load(&all, wm_source, err, errlen)) return -1;
  if (!cdir) { /* two lists (or two single images): line by line */
    if (all.n != clean->n) {
      snprintf(err, errlen, "--watermarked: '%s' lists %zu images, '%s' %zu; lists are paired line by line",
               wm_source, all.n, clean_source, clean->n);
      file_list_free(&all);
      return -1;
    }
    *wm = all;
    return 0;
  }
  rel_entry *idx = malloc((all.n + 1) * sizeof *idx);
  bool *used = calloc(all.n + 1, sizeof *used);
  char **paths = malloc((clean->n + 1) * sizeof *paths);
  int *labels = malloc((clean->n + 1) * sizeof *labels);
  if (!idx || !used || !paths || !labels) {
    free(idx), free(used), free(paths), free(labels);
    file_list_free(&all);
    snprintf(err, errlen, "--watermarked: out of memory");
    return -1;
  }
  for (size_t i = 0; i < all.n; i++) idx[i] = (rel_entry){relative(all.paths[i], wm_source), i};
  qsort(idx, all.n, sizeof *idx, cmp_rel);
  size_t kept = 0;
  for (size_t i = 0; i < clean->n; i++) {
    rel_entry key = {relative(clean->paths[i], clean_source), 0};
    rel_entry *hit = bsearch(&key, idx, all.n, sizeof *idx, cmp_rel);
    if (!hit) {
      if (warn) warn(ctx, clean->paths[i], "clean");
      ++*unpaired;
      free(clean->paths[i]);
      continue;
    }
    used[hit->index] = true;
    paths[kept] = all.paths[hit->index];
    all.paths[hit->index] = NULL;
    labels[kept] = all.labels[hit->index];
    clean->paths[kept] = clean->paths[i];
    clean->labels[kept] = clean->labels[i];
    kept++;
  }
  clean->n = kept;
  for (size_t i = 0; i < all.n; i++)
    if (!used[i]) {
      if (warn) warn(ctx, all.paths[i], "watermarked");
      ++*unpaired;
    }
  file_list_free(&all); /* frees the unpaired ones; the paired paths moved out */
  free(idx), free(used);
  wm->paths = paths;
  wm->labels = labels;
  wm->n = kept;
  if (kept == 0) {
    snprintf(err, errlen, "--watermarked: no image of '%s' has a partner of the same relative path in '%s'",
             clean_source, wm_source);
    file_list_free(wm);
    return -1;
  }
  return 0;
}

unsigned long long file_list_hash(const file_list *l) {
  unsigned long long h = 1469598103934665603ull;
  for (size_t i = 0; i < l->n; i++)
    for (const unsigned char *p = (const unsigned char *)l->paths[i];; p++) {
      h = (h ^ *p) * 1099511628211ull;
      if (!*p) break;
    }
  return h;
}
