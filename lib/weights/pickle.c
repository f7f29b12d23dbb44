/* The restricted unpickler: a stack machine over the protocol-2 opcodes torch.save emits for a
 * state_dict. It builds plain values and tensor descriptors only; the few accepted globals are matched
 * by name and never imported or called. Memory is bounded by the pickle's size, the memo by its index
 * range, MARK nesting by MAX_MARKS, and nothing recurses. */
#include <stdio.h>
#include <string.h>

#include "weights/weights_internal.h"

#define MAX_MARKS 100           /* a state_dict pickle nests 3 deep; checkpoints a few more */
#define ARENA_CHUNK (64 << 10)
#define ARENA_PER_BYTE 64       /* values allocated per pickle byte, at most (each opcode is >= 1 byte) */

enum { G_ORDEREDDICT, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE_BASE /* + wmf_dtype */ };

typedef struct chunk {
  struct chunk *next;
  size_t used, size;
  max_align_t data[];
} chunk;

struct wmfi_pickle {
  const char *origin;
  chunk *arena;
  size_t arena_bytes, arena_cap;
  size_t consumed; /* pickle bytes run so far: the arena may hold ARENA_PER_BYTE times that */
  wmfi_pk_storage *storages;
  size_t nstorages, storages_cap;
  wmfi_index storage_index; /* by key */
  /* per run */
  const char *what;
  wmfi_pv **stack;
  size_t sp, stack_cap;
  size_t marks[MAX_MARKS];
  size_t nmarks;
  wmfi_pv **memo;
  size_t memo_cap, memo_limit;
};

static void *arena_alloc(wmfi_pickle *pk, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size > pk->arena_cap - pk->arena_bytes) return NULL;
  chunk *c = pk->arena;
  if (!c || c->size - c->used < size) {
    size_t n = size > ARENA_CHUNK ? size : ARENA_CHUNK;
    c = wmfi_malloc(sizeof(chunk) + n);
    if (!c) return NULL;
    c->next = pk->arena;
    c->used = 0;
    c->size = n;
    pk->arena = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  pk->arena_bytes += size;
  memset(p, 0, size);
  return p;
}

wmf_status wmfi_pickle_create(wmfi_pickle **out, const char *origin) {
  wmf_status st = WMF_OK;
  wmfi_pickle *pk = wmfi_calloc(1, sizeof *pk);
  *out = NULL;
  WMFI_CHECK(pk, WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for the unpickler", origin);
  pk->origin = origin;
  pk->stack = wmfi_alloc_array(256, sizeof(wmfi_pv *)); /* never NULL: pops take pointers into it */
  WMFI_CHECK(pk->stack, WMF_ERR_OUT_OF_MEMORY, "%s: out of memory for the unpickler", origin);
  pk->stack_cap = 256;
  *out = pk;
  pk = NULL;
done:
  wmfi_pickle_destroy(pk);
  return st;
}

void wmfi_pickle_destroy(wmfi_pickle *pk) {
  if (!pk) return;
  for (chunk *c = pk->arena, *n; c; c = n) {
    n = c->next;
    wmfi_free(c);
  }
  wmfi_free(pk->storages);
  wmfi_index_free(&pk->storage_index);
  wmfi_free(pk->stack);
  wmfi_free(pk->memo);
  wmfi_free(pk);
}

size_t wmfi_pickle_storage_count(const wmfi_pickle *pk) { return pk->nstorages; }
wmfi_pk_storage *wmfi_pickle_storage(wmfi_pickle *pk, size_t i) { return &pk->storages[i]; }

wmfi_pk_storage *wmfi_pickle_find_storage(wmfi_pickle *pk, const char *key, size_t len) {
  uint64_t h = wmfi_index_hash(key, len);
  for (size_t c = SIZE_MAX, i; (i = wmfi_index_next(&pk->storage_index, h, &c)) != SIZE_MAX;)
    if (pk->storages[i].key_len == len && memcmp(pk->storages[i].key, key, len) == 0) return &pk->storages[i];
  return NULL;
}

static bool str_is(const wmfi_pv *v, const char *s) {
  return v && v->kind == WMFI_PV_STR && v->u.str.len == strlen(s) && memcmp(v->u.str.s, s, v->u.str.len) == 0;
}

const wmfi_pv *wmfi_pv_get(const wmfi_pv *d, const char *key) {
  if (!d || d->kind != WMFI_PV_DICT) return NULL;
  for (size_t i = 0; i + 1 < d->u.seq.n; i += 2)
    if (str_is(d->u.seq.items[i], key)) return d->u.seq.items[i + 1];
  return NULL;
}

/* ---- the machine ---- */

typedef struct run {
  wmfi_pickle *pk;
  const uint8_t *d;
  size_t n, at, op_at;
} run;

#define FAIL(st, ...) return wmfi_fail(st, __VA_ARGS__)
#define OOM(r) FAIL(WMF_ERR_OUT_OF_MEMORY, "%s: %s: out of memory (or over the unpickler's limit) at byte %zu", \
                    (r)->pk->origin, (r)->pk->what, (r)->op_at)
#define BAD(r, msg) FAIL(WMF_ERR_CORRUPT, "%s: %s: %s at byte %zu", (r)->pk->origin, (r)->pk->what, msg, (r)->op_at)

static wmf_status need(run *r, size_t k) {
  if (r->n - r->at < k)
    FAIL(WMF_ERR_CORRUPT, "%s: %s: truncated at byte %zu (opcode at %zu)", r->pk->origin, r->pk->what, r->n, r->op_at);
  return WMF_OK;
}

static wmfi_pv *new_value(run *r, wmfi_pv_kind kind) {
  wmfi_pv *v = arena_alloc(r->pk, sizeof *v);
  if (v) v->kind = kind;
  return v;
}

static wmf_status push(run *r, wmfi_pv *v) {
  wmfi_pickle *pk = r->pk;
  if (!v) OOM(r);
  if (pk->sp == pk->stack_cap) {
    size_t cap = pk->stack_cap ? pk->stack_cap * 2 : 256;
    wmfi_pv **s = wmfi_realloc(pk->stack, cap * sizeof *s);
    if (!s) OOM(r);
    pk->stack = s;
    pk->stack_cap = cap;
  }
  pk->stack[pk->sp++] = v;
  return WMF_OK;
}

/* The stack bottom for pops: values below the innermost mark belong to the enclosing frame. */
static size_t floor_of(const wmfi_pickle *pk) { return pk->nmarks ? pk->marks[pk->nmarks - 1] : 0; }

static wmf_status pop(run *r, wmfi_pv **v) {
  if (r->pk->sp <= floor_of(r->pk)) BAD(r, "stack underflow");
  *v = r->pk->stack[--r->pk->sp];
  return WMF_OK;
}

static wmf_status top(run *r, wmfi_pv **v) {
  if (r->pk->sp <= floor_of(r->pk)) BAD(r, "stack underflow");
  *v = r->pk->stack[r->pk->sp - 1];
  return WMF_OK;
}

/* Pops to the innermost mark: *items points at the popped values (still in the stack array). */
static wmf_status pop_mark(run *r, wmfi_pv ***items, size_t *count) {
  wmfi_pickle *pk = r->pk;
  if (!pk->nmarks) BAD(r, "no MARK for this opcode");
  size_t m = pk->marks[--pk->nmarks];
  *items = pk->stack + m;
  *count = pk->sp - m;
  pk->sp = m;
  return WMF_OK;
}

static wmf_status seq_append(run *r, wmfi_pv *seq, wmfi_pv *const *items, size_t k) {
  if (seq->u.seq.cap - seq->u.seq.n < k) {
    size_t cap = seq->u.seq.cap ? seq->u.seq.cap : 4;
    while (cap - seq->u.seq.n < k) {
      if (cap > SIZE_MAX / 4 / sizeof(wmfi_pv *)) OOM(r);
      cap *= 2;
    }
    wmfi_pv **n = arena_alloc(r->pk, cap * sizeof *n);
    if (!n) OOM(r);
    if (seq->u.seq.n) memcpy(n, seq->u.seq.items, seq->u.seq.n * sizeof *n);
    seq->u.seq.items = n; /* the old array stays in the arena until the end */
    seq->u.seq.cap = cap;
  }
  if (k) memcpy(seq->u.seq.items + seq->u.seq.n, items, k * sizeof *items);
  seq->u.seq.n += k;
  return WMF_OK;
}

static wmf_status make_tuple(run *r, wmfi_pv *const *items, size_t k) {
  wmfi_pv *t = new_value(r, WMFI_PV_TUPLE);
  if (!t) OOM(r);
  wmf_status st = seq_append(r, t, items, k);
  return st ? st : push(r, t);
}

static wmf_status read_line(run *r, const char **s, size_t *len) {
  const uint8_t *nl = memchr(r->d + r->at, '\n', r->n - r->at > 256 ? 256 : r->n - r->at);
  if (!nl) BAD(r, "GLOBAL name without a newline within 256 bytes");
  *s = (const char *)r->d + r->at;
  *len = (size_t)(nl - (r->d + r->at));
  r->at += *len + 1;
  return WMF_OK;
}

static wmf_status op_global(run *r) {
  static const struct {
    const char *name;
    int id;
  } allowed[] = {
      {"collections.OrderedDict", G_ORDEREDDICT},
      {"torch._utils._rebuild_tensor_v2", G_REBUILD_TENSOR_V2},
      {"torch._utils._rebuild_parameter", G_REBUILD_PARAMETER},
      {"torch.FloatStorage", G_STORAGE_BASE + WMF_DTYPE_F32},
      {"torch.HalfStorage", G_STORAGE_BASE + WMF_DTYPE_F16},
      {"torch.BFloat16Storage", G_STORAGE_BASE + WMF_DTYPE_BF16},
      {"torch.DoubleStorage", G_STORAGE_BASE + WMF_DTYPE_F64},
      {"torch.LongStorage", G_STORAGE_BASE + WMF_DTYPE_I64},
      {"torch.IntStorage", G_STORAGE_BASE + WMF_DTYPE_I32},
      {"torch.ShortStorage", G_STORAGE_BASE + WMF_DTYPE_I16},
      {"torch.CharStorage", G_STORAGE_BASE + WMF_DTYPE_I8},
      {"torch.ByteStorage", G_STORAGE_BASE + WMF_DTYPE_U8},
      {"torch.BoolStorage", G_STORAGE_BASE + WMF_DTYPE_BOOL},
  };
  const char *mod, *name;
  size_t ml, nl;
  wmf_status st = read_line(r, &mod, &ml);
  if (!st) st = read_line(r, &name, &nl);
  if (st) return st;
  char full[520];
  snprintf(full, sizeof full, "%.*s.%.*s", (int)ml, mod, (int)nl, name);
  for (size_t i = 0; i < strlen(full); i++)
    if ((unsigned char)full[i] < 0x20 || (unsigned char)full[i] >= 0x7f) full[i] = '?'; /* for the message */
  /* files saved from the GPU by old torch name torch.cuda.XStorage: the same bytes on disk */
  char cuda_alias[300];
  bool cuda = ml == 10 && memcmp(mod, "torch.cuda", 10) == 0;
  snprintf(cuda_alias, sizeof cuda_alias, "torch.%.*s", (int)nl, name);
  const char *cmp = cuda ? cuda_alias : full;
  size_t cl = cuda ? 6 + nl : ml + 1 + nl;
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
    if (cl == strlen(allowed[i].name) && strcmp(cmp, allowed[i].name) == 0 &&
        (cmp == full || allowed[i].id >= G_STORAGE_BASE)) {
      wmfi_pv *v = new_value(r, WMFI_PV_GLOBAL);
      if (!v) OOM(r);
      v->u.global = allowed[i].id;
      return push(r, v);
    }
  size_t fl = strlen(full);
  if (ml == 5 && memcmp(mod, "torch", 5) == 0 && fl > 13 && strcmp(full + fl - 7, "Storage") == 0)
    FAIL(WMF_ERR_UNSUPPORTED, "%s: %s: storage type '%s' at byte %zu is not supported", r->pk->origin, r->pk->what,
         full, r->op_at);
  FAIL(WMF_ERR_FORBIDDEN, "forbidden pickle global '%s' in %s at byte %zu (%s)", full, r->pk->what, r->op_at,
       r->pk->origin);
}

static bool as_int(const wmfi_pv *v, int64_t *out) {
  if (!v || v->kind != WMFI_PV_INT) return false;
  *out = v->u.i;
  return true;
}

/* ('storage', torch.XStorage, key, location, numel[, view_metadata None]) -> a storage reference. */
static wmf_status op_persid(run *r) {
  wmfi_pv *pid;
  wmf_status st = pop(r, &pid);
  if (st) return st;
  if (pid->kind != WMFI_PV_TUPLE || pid->u.seq.n < 5 || pid->u.seq.n > 6 || !str_is(pid->u.seq.items[0], "storage"))
    BAD(r, "persistent id is not ('storage', type, key, location, numel)");
  wmfi_pv **it = pid->u.seq.items;
  int64_t numel;
  if (it[1]->kind != WMFI_PV_GLOBAL || it[1]->u.global < G_STORAGE_BASE || it[2]->kind != WMFI_PV_STR ||
      it[3]->kind != WMFI_PV_STR || !as_int(it[4], &numel) || numel < 0)
    BAD(r, "malformed storage persistent id (type, key, location or numel)");
  if (pid->u.seq.n == 6 && it[5]->kind != WMFI_PV_NONE)
    FAIL(WMF_ERR_UNSUPPORTED, "%s: %s: storage views (files of torch before 1.0) are not supported, at byte %zu; "
         "load and re-save the file with a recent torch", r->pk->origin, r->pk->what, r->op_at);
  wmf_dtype dt = (wmf_dtype)(it[1]->u.global - G_STORAGE_BASE);
  wmfi_pickle *pk = r->pk;
  wmfi_pk_storage *s = wmfi_pickle_find_storage(pk, it[2]->u.str.s, it[2]->u.str.len);
  if (s) {
    if (s->dtype != dt || s->numel != (uint64_t)numel) BAD(r, "one storage key named with two types or sizes");
  } else {
    if (pk->nstorages == pk->storages_cap) {
      size_t cap = pk->storages_cap ? pk->storages_cap * 2 : 64;
      wmfi_pk_storage *n = wmfi_realloc(pk->storages, cap * sizeof *n);
      if (!n) OOM(r);
      pk->storages = n;
      pk->storages_cap = cap;
    }
    if (!wmfi_index_add(&pk->storage_index, wmfi_index_hash(it[2]->u.str.s, it[2]->u.str.len), pk->nstorages))
      OOM(r);
    s = &pk->storages[pk->nstorages++];
    *s = (wmfi_pk_storage){.key = it[2]->u.str.s, .key_len = it[2]->u.str.len, .dtype = dt, .numel = (uint64_t)numel};
  }
  wmfi_pv *v = new_value(r, WMFI_PV_STORAGE);
  if (!v) OOM(r);
  v->u.storage = (size_t)(s - pk->storages);
  return push(r, v);
}

static wmf_status int_tuple(run *r, const wmfi_pv *t, int64_t *out, uint32_t *n, const char *what) {
  if (t->kind != WMFI_PV_TUPLE) FAIL(WMF_ERR_CORRUPT, "%s: %s: tensor %s is not a tuple at byte %zu", r->pk->origin, r->pk->what, what, r->op_at);
  if (t->u.seq.n > WMF_MAX_DIMS)
    FAIL(WMF_ERR_LIMIT, "%s: %s: tensor with %zu dimensions at byte %zu (at most %d)", r->pk->origin, r->pk->what,
         t->u.seq.n, r->op_at, WMF_MAX_DIMS);
  for (size_t i = 0; i < t->u.seq.n; i++)
    if (!as_int(t->u.seq.items[i], &out[i]) || out[i] < 0)
      FAIL(WMF_ERR_CORRUPT, "%s: %s: tensor %s holds a negative or non-integer value at byte %zu", r->pk->origin,
           r->pk->what, what, r->op_at);
  *n = (uint32_t)t->u.seq.n;
  return WMF_OK;
}

static wmf_status op_reduce(run *r) {
  wmfi_pv *args, *fn;
  wmf_status st = pop(r, &args);
  if (!st) st = pop(r, &fn);
  if (st) return st;
  if (fn->kind != WMFI_PV_GLOBAL || args->kind != WMFI_PV_TUPLE) BAD(r, "REDUCE on something other than an accepted global");
  wmfi_pv **a = args->u.seq.items;
  size_t n = args->u.seq.n;
  switch (fn->u.global) {
  case G_ORDEREDDICT:
    if (n != 0) BAD(r, "OrderedDict() with arguments");
    return push(r, new_value(r, WMFI_PV_DICT));
  case G_REBUILD_PARAMETER: /* (tensor, requires_grad, backward_hooks) -> the tensor */
    if (n != 3 || a[0]->kind != WMFI_PV_TENSOR) BAD(r, "_rebuild_parameter without a tensor");
    return push(r, a[0]);
  case G_REBUILD_TENSOR_V2: { /* (storage, offset, size, stride, requires_grad, hooks[, metadata]) */
    if ((n != 6 && n != 7) || a[0]->kind != WMFI_PV_STORAGE) BAD(r, "_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)");
    wmfi_pv *v = new_value(r, WMFI_PV_TENSOR);
    wmfi_pk_tensor *t = v ? arena_alloc(r->pk, sizeof *t) : NULL;
    if (!t) OOM(r);
    v->u.tensor = t;
    t->storage = a[0]->u.storage;
    uint32_t ns;
    if (!as_int(a[1], &t->offset) || t->offset < 0) BAD(r, "tensor storage offset is not a non-negative int");
    if ((st = int_tuple(r, a[2], t->shape, &t->ndim, "size")) || (st = int_tuple(r, a[3], t->stride, &ns, "stride")))
      return st;
    if (ns != t->ndim) BAD(r, "tensor size and stride differ in length");
    return push(r, v);
  }
  default:
    BAD(r, "a storage type called as a function");
  }
}

static wmf_status op_memo(run *r, size_t idx, bool put) {
  wmfi_pickle *pk = r->pk;
  if (put) {
    /* the pickler numbers memo entries from 0, one per BINPUT: an index beyond the pickle's length is
     * not one it wrote, and refusing it bounds the memo's size */
    if (idx >= pk->memo_limit) BAD(r, "memo index beyond the pickle's size");
    if (idx >= pk->memo_cap) {
      size_t cap = pk->memo_cap ? pk->memo_cap : 256;
      while (cap <= idx) cap *= 2;
      wmfi_pv **m = wmfi_realloc(pk->memo, cap * sizeof *m);
      if (!m) OOM(r);
      memset(m + pk->memo_cap, 0, (cap - pk->memo_cap) * sizeof *m);
      pk->memo = m;
      pk->memo_cap = cap;
    }
    return top(r, &pk->memo[idx]);
  }
  if (idx >= pk->memo_cap || !pk->memo[idx]) BAD(r, "BINGET of an unset memo entry");
  return push(r, pk->memo[idx]);
}

static wmf_status step(run *r, uint8_t op, bool *stop) {
  wmfi_pickle *pk = r->pk;
  wmf_status st;
  wmfi_pv *v, *k, *c, **items;
  size_t n;
  switch (op) {
  case 0x80: /* PROTO */
    if ((st = need(r, 1))) return st;
    if (r->d[r->at++] > 5) BAD(r, "pickle protocol above 5");
    return WMF_OK;
  case 'c': return op_global(r);
  case 'Q': return op_persid(r);
  case 'R': return op_reduce(r);
  case 'b': /* BUILD: object state (an OrderedDict's _metadata) is dropped, nothing is set or called */
    if ((st = pop(r, &v))) return st;
    return top(r, &v);
  case '(':
    if (pk->nmarks == MAX_MARKS)
      FAIL(WMF_ERR_LIMIT, "%s: %s: pickle nested deeper than %d MARKs at byte %zu", pk->origin, pk->what, MAX_MARKS, r->op_at);
    pk->marks[pk->nmarks++] = pk->sp;
    return WMF_OK;
  case 't':
    if ((st = pop_mark(r, &items, &n))) return st;
    return make_tuple(r, items, n);
  case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
    n = (size_t)(op - 0x84);
    if (pk->sp - floor_of(pk) < n) BAD(r, "stack underflow");
    pk->sp -= n;
    return make_tuple(r, pk->stack + pk->sp, n);
  case ')': return make_tuple(r, NULL, 0);
  case '}': return push(r, new_value(r, WMFI_PV_DICT));
  case ']': return push(r, new_value(r, WMFI_PV_LIST));
  case 's': /* SETITEM */
    if ((st = pop(r, &v)) || (st = pop(r, &k)) || (st = top(r, &c))) return st;
    if (c->kind != WMFI_PV_DICT) BAD(r, "SETITEM on a non-dict");
    return seq_append(r, c, (wmfi_pv *[]){k, v}, 2);
  case 'u': /* SETITEMS */
    if ((st = pop_mark(r, &items, &n)) || (st = top(r, &c))) return st;
    if (c->kind != WMFI_PV_DICT || n % 2) BAD(r, "SETITEMS on a non-dict or with an odd count");
    return seq_append(r, c, items, n);
  case 'a': /* APPEND */
    if ((st = pop(r, &v)) || (st = top(r, &c))) return st;
    if (c->kind != WMFI_PV_LIST) BAD(r, "APPEND on a non-list");
    return seq_append(r, c, &v, 1);
  case 'e': /* APPENDS */
    if ((st = pop_mark(r, &items, &n)) || (st = top(r, &c))) return st;
    if (c->kind != WMFI_PV_LIST) BAD(r, "APPENDS on a non-list");
    return seq_append(r, c, items, n);
  case 'X': case 0x8c: { /* BINUNICODE, SHORT_BINUNICODE */
    size_t hl = op == 'X' ? 4 : 1;
    if ((st = need(r, hl))) return st;
    n = op == 'X' ? wmfi_le32(r->d + r->at) : r->d[r->at];
    r->at += hl;
    if ((st = need(r, n))) return st;
    if (!(v = new_value(r, WMFI_PV_STR))) OOM(r);
    v->u.str.s = (const char *)r->d + r->at;
    v->u.str.len = n;
    r->at += n;
    return push(r, v);
  }
  case 'J': case 'K': case 'M': { /* BININT (4, signed), BININT1, BININT2 */
    size_t w = op == 'J' ? 4 : op == 'K' ? 1 : 2;
    if ((st = need(r, w))) return st;
    if (!(v = new_value(r, WMFI_PV_INT))) OOM(r);
    const uint8_t *p = r->d + r->at;
    v->u.i = op == 'J' ? (int64_t)(int32_t)wmfi_le32(p) : op == 'K' ? p[0] : wmfi_le16(p);
    r->at += w;
    return push(r, v);
  }
  case 0x8a: { /* LONG1: little-endian two's complement; wider than 8 bytes kept as bytes */
    if ((st = need(r, 1))) return st;
    n = r->d[r->at++];
    if ((st = need(r, n))) return st;
    const uint8_t *p = r->d + r->at;
    r->at += n;
    if (n > 8) {
      if (!(v = new_value(r, WMFI_PV_BIGINT))) OOM(r);
      v->u.str.s = (const char *)p;
      v->u.str.len = n;
      return push(r, v);
    }
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++) u |= (uint64_t)p[i] << (8 * i);
    if (n && n < 8 && (p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n); /* sign-extend */
    if (!(v = new_value(r, WMFI_PV_INT))) OOM(r);
    memcpy(&v->u.i, &u, 8);
    return push(r, v);
  }
  case 0x88: case 0x89: /* NEWTRUE, NEWFALSE */
    if (!(v = new_value(r, WMFI_PV_BOOL))) OOM(r);
    v->u.i = op == 0x88;
    return push(r, v);
  case 'N': return push(r, new_value(r, WMFI_PV_NONE));
  case 'G': { /* BINFLOAT: big-endian double */
    if ((st = need(r, 8))) return st;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = u << 8 | r->d[r->at + i];
    r->at += 8;
    if (!(v = new_value(r, WMFI_PV_FLOAT))) OOM(r);
    memcpy(&v->u.f, &u, 8);
    return push(r, v);
  }
  case 'q': case 'h': /* BINPUT, BINGET */
    if ((st = need(r, 1))) return st;
    return op_memo(r, r->d[r->at++], op == 'q');
  case 'r': case 'j': /* LONG_BINPUT, LONG_BINGET */
    if ((st = need(r, 4))) return st;
    r->at += 4;
    return op_memo(r, wmfi_le32(r->d + r->at - 4), op == 'r');
  case '.':
    if (pk->nmarks || pk->sp != 1) BAD(r, "STOP with open MARKs or more than one value on the stack");
    *stop = true;
    return WMF_OK;
  default:
    FAIL(WMF_ERR_UNSUPPORTED, "%s: %s: pickle opcode 0x%02x at byte %zu is not accepted", pk->origin, pk->what, op,
         r->op_at);
  }
}

wmf_status wmfi_pickle_run(wmfi_pickle *pk, const uint8_t *data, size_t size, const char *what,
                           const wmfi_pv **root, size_t *used) {
  run r = {pk, data, size, 0, 0};
  pk->what = what;
  pk->sp = pk->nmarks = 0;
  pk->memo_limit = size < ((size_t)1 << 22) ? size : ((size_t)1 << 22); /* 4M entries: 32 MB at most */
  for (size_t i = 0; i < pk->memo_cap; i++) pk->memo[i] = NULL;
  bool stop = false;
  while (!stop) {
    if (r.at >= r.n)
      return wmfi_fail(WMF_ERR_CORRUPT, "%s: %s: truncated at byte %zu (no STOP)", pk->origin, what, r.n);
    r.op_at = r.at;
    pk->arena_cap = ((size_t)1 << 20) + ARENA_PER_BYTE * (pk->consumed + r.at + 1);
    wmf_status st = step(&r, data[r.at++], &stop);
    if (st) return st;
  }
  *root = pk->stack[0];
  *used = r.at;
  pk->consumed += r.at;
  return WMF_OK;
}

/* ---- from the unpickled object to the tensor table ---- */

static size_t count_tensors(const wmfi_pv *d) {
  size_t n = 0;
  if (!d || d->kind != WMFI_PV_DICT) return 0;
  for (size_t i = 1; i < d->u.seq.n; i += 2) n += d->u.seq.items[i]->kind == WMFI_PV_TENSOR;
  return n;
}

/* Where the state_dict is when no key is named: chosen by content. A training checkpoint holds its
 * state_dict as one value among others, some of which may be tensors too ({'state_dict': ...,
 * 'best_acc1': tensor(71.3), 'epoch': 90}); the dict value holding the most tensors wins over the
 * root's own tensors when it holds more of them. Between values holding equally many (a model and its
 * EMA copy), the conventional names come first, then file order. */
static const wmfi_pv *find_state_dict(const wmfi_pv *root) {
  static const char *const preferred[] = {"state_dict", "model", "model_state_dict", "net", "network", "module"};
  if (!root || root->kind != WMFI_PV_DICT) return NULL;
  const wmfi_pv *best = NULL;
  size_t best_n = 0, best_rank = SIZE_MAX;
  for (size_t i = 0; i + 1 < root->u.seq.n; i += 2) {
    const wmfi_pv *key = root->u.seq.items[i], *v = root->u.seq.items[i + 1];
    size_t n = count_tensors(v), rank = sizeof preferred / sizeof preferred[0];
    for (size_t r = 0; key->kind == WMFI_PV_STR && r < rank; r++)
      if (key->u.str.len == strlen(preferred[r]) && !memcmp(key->u.str.s, preferred[r], key->u.str.len)) rank = r;
    if (n > best_n || (n && n == best_n && rank < best_rank)) best = v, best_n = n, best_rank = rank;
  }
  size_t own = count_tensors(root);
  if (best && best_n > own) return best;
  return own || root->u.seq.n == 0 ? root : NULL;
}

static wmf_status add_tensor(wmfi_pickle *pk, wmf_weights *w, const wmfi_pv *key, const wmfi_pk_tensor *t) {
  if (key->kind != WMFI_PV_STR) return wmfi_fail(WMF_ERR_CORRUPT, "%s: a state_dict key is not a string", pk->origin);
  const char *name = key->u.str.s;
  int nl = key->u.str.len > 200 ? 200 : (int)key->u.str.len;
  const wmfi_pk_storage *s = &pk->storages[t->storage];
  if (!s->resolved)
    return wmfi_fail(WMF_ERR_CORRUPT, "%s: tensor '%.*s': storage '%.*s' is missing from the file", pk->origin, nl, name,
                     (int)(s->key_len > 64 ? 64 : s->key_len), s->key);
  /* the last element's index: offset + sum((size - 1) * stride), all checked for overflow */
  uint64_t last = (uint64_t)t->offset, numel = 1;
  for (uint32_t i = 0; i < t->ndim; i++)
    if (__builtin_mul_overflow(numel, (uint64_t)t->shape[i], &numel))
      return wmfi_fail(WMF_ERR_CORRUPT, "%s: tensor '%.*s': element count overflows", pk->origin, nl, name);
  size_t bytes;
  if (numel > SIZE_MAX || !wmfi_mul((size_t)numel, sizeof(float), &bytes))
    return wmfi_fail(WMF_ERR_LIMIT, "%s: tensor '%.*s' is too large", pk->origin, nl, name);
  const uint8_t *data = s->data;
  if (numel) {
    for (uint32_t i = 0; i < t->ndim; i++) {
      uint64_t step;
      if (__builtin_mul_overflow((uint64_t)(t->shape[i] - 1), (uint64_t)t->stride[i], &step) ||
          __builtin_add_overflow(last, step, &last))
        return wmfi_fail(WMF_ERR_CORRUPT, "%s: tensor '%.*s': strided extent overflows", pk->origin, nl, name);
    }
    if (last >= s->numel)
      return wmfi_fail(WMF_ERR_CORRUPT,
                       "%s: tensor '%.*s' reaches element %llu of storage '%.*s', which holds %llu", pk->origin, nl,
                       name, (unsigned long long)last, (int)(s->key_len > 64 ? 64 : s->key_len), s->key,
                       (unsigned long long)s->numel);
    data += (size_t)t->offset * wmfi_weights_dtype_size(s->dtype);
  } else if (!data) {
    data = (const uint8_t *)""; /* never read */
  }
  return wmfi_weights_add(w, name, key->u.str.len, s->dtype, t->ndim, t->shape, t->stride, data);
}

wmf_status wmfi_pickle_collect(wmfi_pickle *pk, const wmfi_pv *root, wmf_weights *w, const wmf_weights_options *opt) {
  const wmfi_pv *sd = NULL;
  if (opt && opt->state_dict_key) {
    sd = wmfi_pv_get(root, opt->state_dict_key);
    if (!sd || sd->kind != WMFI_PV_DICT)
      return wmfi_fail(WMF_ERR_NOT_FOUND, "%s: the checkpoint has no dict under '%s'", pk->origin, opt->state_dict_key);
  } else if (!(sd = find_state_dict(root))) {
    return wmfi_fail(WMF_ERR_UNSUPPORTED,
                     "%s: the pickled object is neither a state_dict nor a checkpoint holding one as a value "
                     "(name its key in the options)", pk->origin);
  }
  for (size_t i = 0; i + 1 < sd->u.seq.n; i += 2) {
    const wmfi_pv *v = sd->u.seq.items[i + 1];
    if (v->kind != WMFI_PV_TENSOR) continue; /* ints, strings and nested dicts beside the tensors */
    wmf_status st = add_tensor(pk, w, sd->u.seq.items[i], v->u.tensor);
    if (st) return st;
  }
  return WMF_OK;
}
