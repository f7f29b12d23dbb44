/* Internals of the weights module, for its own files and its unit tests only: the tensor table every
 * format parser fills, and the parsers' entry points. Other modules use only the public
 * wmfeat/weights.h (the module has no other interface). */
#ifndef WMF_LIB_WEIGHTS_INTERNAL_H
#define WMF_LIB_WEIGHTS_INTERNAL_H

#include "core/core.h"

/* One tensor of the table: a strided view into bytes owned by the wmf_weights (the mapped file while
 * it is parsed, the copy made by open_memory). Once a mapped file is parsed, its mapping is released:
 * `data` becomes NULL and `offset` says where the first element is in the file, read with pread. */
typedef struct wmfi_tensor {
  char *name; /* owned, NUL-terminated, normalized */
  wmf_dtype dtype;
  uint32_t ndim;
  int64_t shape[WMF_MAX_DIMS];
  int64_t stride[WMF_MAX_DIMS]; /* in elements; C-contiguous unless the file said otherwise */
  uint64_t numel;
  const uint8_t *data; /* the first element; the strided extent was checked against its storage */
  uint64_t offset;     /* when data is NULL: the first element's byte offset in the file */
} wmfi_tensor;

typedef struct wmfi_meta {
  char *key, *value;
} wmfi_meta;

struct wmf_weights {
  const char *format; /* static */
  wmfi_file file;     /* the file (wmf_weights_open): mapped while parsed, then read with pread */
  uint8_t *copy;      /* the caller's bytes (wmf_weights_open_memory) */
  wmfi_tensor *tensors;
  size_t count, cap;
  size_t *sorted; /* indices ordered by name, for wmf_weights_find */
  wmfi_meta *meta;
  size_t meta_count;
  const char *origin; /* file name for messages ("<memory>") */
};

/* Bytes per element of `dtype` (0 for an invalid value). */
size_t wmfi_weights_dtype_size(wmf_dtype dtype);

/* The bytes of tensor `t` from its first element on (its strided extent): t->data when the file is
 * still mapped, else read with pread into *owned (free it with wmfi_free; NULL when nothing was
 * read). Returns WMF_OK, WMF_ERR_IO (the file shrank), WMF_ERR_OUT_OF_MEMORY. */
wmf_status wmfi_weights_extent(const wmf_weights *w, const wmfi_tensor *t, const uint8_t **data, uint8_t **owned);

/* Appends a tensor named by `name` (`len` bytes, not NUL-terminated). `stride` NULL means
 * C-contiguous. The caller has checked the extent against the storage. */
wmf_status wmfi_weights_add(wmf_weights *w, const char *name, size_t len, wmf_dtype dtype, uint32_t ndim,
                            const int64_t *shape, const int64_t *stride, const uint8_t *data);

/* Parsers: fill `w` from `data` (`size` bytes, living as long as `w`). */
wmf_status wmfi_weights_parse_safetensors(wmf_weights *w, const uint8_t *data, size_t size);
wmf_status wmfi_weights_parse_zip(wmf_weights *w, const uint8_t *data, size_t size,
                                  const wmf_weights_options *opt);
wmf_status wmfi_weights_parse_legacy(wmf_weights *w, const uint8_t *data, size_t size,
                                     const wmf_weights_options *opt);

/* ---- restricted unpickler (pickle.c) ----
 * A stack machine over protocol-2 opcodes that builds only None, bools, ints, floats, strings, tuples,
 * lists, dicts, storage references (persistent ids) and tensor descriptors. Globals other than
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _rebuild_parameter and torch.*Storage are
 * refused (WMF_ERR_FORBIDDEN); nothing is ever called or imported. It never recurses. */
typedef enum wmfi_pv_kind {
  WMFI_PV_NONE, WMFI_PV_BOOL, WMFI_PV_INT, WMFI_PV_BIGINT, WMFI_PV_FLOAT, WMFI_PV_STR, WMFI_PV_TUPLE,
  WMFI_PV_LIST, WMFI_PV_DICT, WMFI_PV_GLOBAL, WMFI_PV_STORAGE, WMFI_PV_TENSOR
} wmfi_pv_kind;

typedef struct wmfi_pv wmfi_pv;
typedef struct wmfi_pk_tensor {
  size_t storage; /* index into the storages */
  int64_t offset;
  uint32_t ndim;
  int64_t shape[WMF_MAX_DIMS], stride[WMF_MAX_DIMS];
} wmfi_pk_tensor;

struct wmfi_pv {
  wmfi_pv_kind kind;
  union {
    int64_t i;    /* INT, BOOL */
    double f;     /* FLOAT */
    struct {      /* STR (UTF-8) and BIGINT (little-endian two's complement bytes): into the pickle */
      const char *s;
      size_t len;
    } str;
    struct {      /* TUPLE, LIST; DICT holds key, value, key, value, ... (n counts items, not pairs) */
      wmfi_pv **items;
      size_t n, cap;
    } seq;
    int global;   /* GLOBAL: which allowed callable */
    size_t storage;
    wmfi_pk_tensor *tensor;
  } u;
};

/* A storage named by a persistent id: ('storage', torch.XStorage, key, location, numel[, view]).
 * `data` is filled in by the format (zip entry, legacy raw block); NULL until then. */
typedef struct wmfi_pk_storage {
  const char *key;
  size_t key_len;
  wmf_dtype dtype;
  uint64_t numel;
  const uint8_t *data;
  bool resolved;
} wmfi_pk_storage;

typedef struct wmfi_pickle wmfi_pickle;

/* A context holding every value and storage of the pickles run on it; `origin` names the file. */
wmf_status wmfi_pickle_create(wmfi_pickle **out, const char *origin);
void wmfi_pickle_destroy(wmfi_pickle *pk);
/* Runs one pickle starting at data[0] (`size` bytes available, `what` names it in messages, e.g.
 * "archive/data.pkl"). On success *root is its value and *used the bytes up to and including STOP. */
wmf_status wmfi_pickle_run(wmfi_pickle *pk, const uint8_t *data, size_t size, const char *what,
                           const wmfi_pv **root, size_t *used);
size_t wmfi_pickle_storage_count(const wmfi_pickle *pk);
wmfi_pk_storage *wmfi_pickle_storage(wmfi_pickle *pk, size_t index);
/* The storage named `key`, or NULL. */
wmfi_pk_storage *wmfi_pickle_find_storage(wmfi_pickle *pk, const char *key, size_t len);
/* dict[key] for a string key, or NULL. */
const wmfi_pv *wmfi_pv_get(const wmfi_pv *dict, const char *key);
/* Finds the state_dict in `root` (`opt->state_dict_key`; else by content: the root itself, or the dict
 * value holding more tensors than the root holds directly, see find_state_dict), checks every tensor's extent against its storage and adds
 * the tensors to `w`. Every storage a tensor uses must be resolved. */
wmf_status wmfi_pickle_collect(wmfi_pickle *pk, const wmfi_pv *root, wmf_weights *w,
                               const wmf_weights_options *opt);

/* Renames (module. prefixes, DenseNet legacy names, timm VGG head), drops num_batches_tracked, then
 * rejects duplicate names and builds the sorted index. */
wmf_status wmfi_weights_normalize(wmf_weights *w);

/* ---- name index (index.c): hash lookups, so opening a file is linear in its entries and storages ----
 * The index maps a name's hash to item numbers; callers keep the names and compare each candidate:
 *   for (size_t c = SIZE_MAX, i; (i = wmfi_index_next(&ix, h, &c)) != SIZE_MAX;) if (same(i)) ...  */
typedef struct wmfi_index_slot {
  uint64_t hash;
  size_t item; /* item + 1; 0: empty */
} wmfi_index_slot;
typedef struct wmfi_index {
  wmfi_index_slot *slots;
  size_t cap, count; /* cap: 0 or a power of two, at most half full */
} wmfi_index;
uint64_t wmfi_index_hash(const void *key, size_t len);
/* The hash of the concatenation of a and b (without building it). */
uint64_t wmfi_index_hash2(const void *a, size_t alen, const void *b, size_t blen);
/* Adds `item` under `hash`; false when out of memory. */
bool wmfi_index_add(wmfi_index *ix, uint64_t hash, size_t item);
/* The next item added under `hash` (`*cursor` starts at SIZE_MAX), or SIZE_MAX when there is none. */
size_t wmfi_index_next(const wmfi_index *ix, uint64_t hash, size_t *cursor);
void wmfi_index_free(wmfi_index *ix);

#endif
