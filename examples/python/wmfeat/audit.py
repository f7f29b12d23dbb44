"""wmf_audit: per-class and per-feature-channel watermark sensitivity from (clean, watermarked) pairs."""
import ctypes
import enum
import os
import tempfile

import numpy as np

from ._lib import (F32P, F64P, I32P, PP, SIZEP, P, Error, Handle, as_exact_f32, as_input, as_output, getter,
                   c_string, fn, path_arg, ptr, version)
from .image import BICUBIC, BILINEAR, IMAGENET
from .model import ConvAlgorithm, Precision

NO_LABEL = -1
IMAGENET_CLASSES = 1000
# WMF_AUDIT_FDR: the reports count a class or channel as significant when its BH q-value is below it
FDR = 0.05
IMAGENET_CARTON = 478
_SIZE = ctypes.c_size_t


class _Shortcut(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("class_index", _SIZE), ("num_pairs", _SIZE),
                ("num_labelled", _SIZE), ("num_class_labelled", _SIZE)] + \
               [(name, ctypes.c_double) for name in (
                   "p_clean", "p_wm", "delta_p", "p_clean_labelled", "p_wm_labelled", "delta_p_labelled",
                   "acc_clean", "acc_wm", "acc_gap", "class_acc_clean", "class_acc_wm", "class_gap")]


class Target(enum.IntEnum):
    """wmf_audit_target: scores of the output classes (logits) or of the feature channels."""
    CLASSES = 0
    CHANNELS = 1


class Score(enum.IntEnum):
    """wmf_audit_score (definitions in docs/audit.md)."""
    AUC = 0
    D = 1
    MEAN_DIFF = 2
    EFFECT_SIZE = 3
    PAIRED_DZ = 4
    WILCOXON_Z = 5
    DELTA_PROB = 6
    DELTA_TOP1 = 7
    CLEAN_ACC = 8
    WM_ACC = 9
    ACC_GAP = 10
    CLEAN_PROB = 11
    WM_PROB = 12
    DELTA_PROB_LABELLED = 13


class Order(enum.IntEnum):
    """wmf_rank_order for Audit.rank (NaN last, ties to the lower index)."""
    DESCENDING = 0
    ASCENDING = 1
    ABS = 2
    FROM_HALF = 3


# The rankings of `wmfeat audit --rank` as (score, order) for classes and for channels. "abs" ranks by
# |AUC - 0.5|; "auc" by AUC descending (Mark My Words ranks classes so); "delta-p" classes by delta p
# descending (channels have no delta p and keep |AUC - 0.5|).
RANKINGS = {
    "abs": {Target.CLASSES: (Score.AUC, Order.FROM_HALF), Target.CHANNELS: (Score.AUC, Order.FROM_HALF)},
    "auc": {Target.CLASSES: (Score.AUC, Order.DESCENDING), Target.CHANNELS: (Score.AUC, Order.DESCENDING)},
    "delta-p": {Target.CLASSES: (Score.DELTA_PROB, Order.DESCENDING),
                Target.CHANNELS: (Score.AUC, Order.FROM_HALF)},
}

_create = fn("wmf_audit_create", [PP, _SIZE, _SIZE])
_destroy = fn("wmf_audit_destroy", [P], None)
_class_count = fn("wmf_audit_class_count", [P], _SIZE)
_feature_count = fn("wmf_audit_feature_count", [P], _SIZE)
_pair_count = fn("wmf_audit_pair_count", [P], _SIZE)
# the 1.0 names of the three counts, declared so that calls through `lib` are typed
fn("wmf_audit_num_classes", [P], _SIZE)
fn("wmf_audit_num_features", [P], _SIZE)
fn("wmf_audit_num_pairs", [P], _SIZE)
_d_thresholds = fn("wmf_audit_d_thresholds", [SIZEP], ctypes.POINTER(ctypes.c_double))
_add = fn("wmf_audit_add", [P, _SIZE, F32P, F32P, F32P, F32P, I32P])
_scores = fn("wmf_audit_scores", [F64P, _SIZE, P, ctypes.c_int, ctypes.c_int])
_rank = fn("wmf_audit_rank", [SIZEP, _SIZE, P, ctypes.c_int, ctypes.c_int, ctypes.c_int])
_count_above = fn("wmf_audit_count_above", [SIZEP, P, ctypes.c_int, ctypes.c_int, ctypes.c_double])
_accuracy = fn("wmf_audit_accuracy", [F64P, F64P, SIZEP, P])
_class_name = fn("wmf_audit_class_name", [P, _SIZE], ctypes.c_char_p)
_set_class_names = fn("wmf_audit_set_class_names", [P, ctypes.POINTER(ctypes.c_char_p), _SIZE])
_load_class_names = fn("wmf_audit_load_class_names", [P, ctypes.c_char_p])
_imagenet_class_name = fn("wmf_imagenet_class_name", [_SIZE], ctypes.c_char_p)
_save = fn("wmf_audit_save", [P, ctypes.c_char_p])
_load = fn("wmf_audit_load", [PP, ctypes.c_char_p])
_merge = fn("wmf_audit_merge", [P, P])
_auc = fn("wmf_auc", [F64P, F32P, _SIZE, F32P, _SIZE])
_set_bootstrap = fn("wmf_audit_set_bootstrap", [P, _SIZE, ctypes.c_uint64, ctypes.c_double])
_interval = fn("wmf_audit_interval", [F64P, F64P, _SIZE, P, ctypes.c_int, ctypes.c_int])
_p_values = fn("wmf_audit_p_values", [F64P, F64P, _SIZE, P, ctypes.c_int])
_benjamini_hochberg = fn("wmf_benjamini_hochberg", [F64P, F64P, _SIZE])
_write_svg_threshold_counts = fn("wmf_write_svg_threshold_counts",
                                 [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                  ctypes.POINTER(ctypes.c_char_p), F64P, _SIZE])
_set_provenance = fn("wmf_audit_set_provenance", [P, ctypes.c_char_p, ctypes.c_char_p])
_provenance = fn("wmf_audit_provenance", [P, ctypes.c_char_p], ctypes.c_char_p)
_provenance_count = fn("wmf_audit_provenance_count", [P], _SIZE)
_provenance_key = fn("wmf_audit_provenance_key", [P, _SIZE], ctypes.c_char_p)
_provenance_check = fn("wmf_audit_provenance_check", [P, P, ctypes.POINTER(ctypes.c_char_p)])
_set_items_done = fn("wmf_audit_set_items_done", [P, ctypes.c_uint64])
_items_done = fn("wmf_audit_items_done", [P], ctypes.c_uint64)
_merge_shards = fn("wmf_audit_merge_shards", [PP, ctypes.POINTER(P), _SIZE])
_list_fingerprint = fn("wmf_list_fingerprint",
                       [ctypes.c_char_p, _SIZE, ctypes.POINTER(ctypes.c_char_p), I32P, _SIZE])
_auc_f64 = fn("wmf_auc_f64", [F64P, F64P, _SIZE, F64P, _SIZE])
_imagenet_wnid = fn("wmf_imagenet_wnid", [_SIZE], ctypes.c_char_p)
_imagenet_class_from_wnid = fn("wmf_imagenet_class_from_wnid", [SIZEP, ctypes.c_char_p])
_write_json = fn("wmf_audit_write_json", [P, ctypes.c_char_p])
_write_csv = fn("wmf_audit_write_csv", [P, ctypes.c_int, ctypes.c_char_p])
_write_svg_classes = fn("wmf_audit_write_svg_classes",
                        [P, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, _SIZE])
_shortcut_metrics = fn("wmf_audit_shortcut_metrics", [ctypes.POINTER(_Shortcut), P, _SIZE])
_get_pairs = fn("wmf_audit_get_pairs", [P, _SIZE, _SIZE, F32P, F32P, F32P, F32P, I32P])
_write_pairs_csv = fn("wmf_audit_write_pairs_csv",
                      [P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), SIZEP, _SIZE])
_write_svg_histogram = fn("wmf_audit_write_svg_histogram",
                          [P, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, _SIZE])


def _library_d_thresholds():
    n = ctypes.c_size_t()
    t = _d_thresholds(ctypes.byref(n))
    return tuple(t[i] for i in range(n.value))


# WMF_AUDIT_D_THRESHOLDS: Mark My Words' thresholds on d = max(AUC, 1 - AUC) (the reports' counts), read
# from the library (wmf_audit_d_thresholds), so C, the wmfeat program and Python share one definition
D_THRESHOLDS = _library_d_thresholds()


def imagenet_class_name(index):
    """The built-in ImageNet-1k name of class `index` (478 is "carton"), or None."""
    name = _imagenet_class_name(index)
    return None if name is None else name.decode()


def imagenet_wnid(index):
    """The WordNet id of ImageNet-1k class `index` ("n01440764" for 0, the folder name in ImageNet's
    train/ and val/), or None past the last class. The class order is the ids' sorted order."""
    wnid = _imagenet_wnid(index)
    return None if wnid is None else wnid.decode()


def imagenet_index(wnid):
    """The ImageNet-1k class index of a WordNet id ("n02971356" -> 478); KeyError if it is not one of
    the 1,000."""
    out = ctypes.c_size_t()
    try:
        _imagenet_class_from_wnid(ctypes.byref(out), c_string(wnid))
    except Error as e:
        if e.name == "WMF_ERR_NOT_FOUND":
            raise KeyError(wnid) from None
        raise
    return out.value


# dtypes float32 holds exactly: such scores are compared in float32, any other in float64
_F32_EXACT = {np.dtype(t) for t in (np.float32, np.float16, np.int8, np.uint8, np.int16, np.uint16, np.bool_)}


def _scores64(a, name):
    """`a` as float64 for wmf_auc_f64, refusing values float64 would change (int64 beyond 2^53,
    long double)."""
    out = as_input(a, np.float64, name, 1)
    if a.dtype.kind in "iuf" and a.dtype.itemsize > 8 or a.dtype in (np.int64, np.uint64):
        if not np.array_equal(out.astype(a.dtype), a, equal_nan=a.dtype.kind == "f"):
            raise ValueError(f"{name}: {a.dtype} values that float64 cannot hold exactly")
    return out


def auc(neg, pos):
    """Exact tie-aware ROC-AUC of positives `pos` against negatives `neg` (sklearn's roc_auc_score),
    computed in the inputs' precision: float32 (and narrower) scores in float32, float64 and lists
    of Python floats in float64."""
    neg, pos = np.asarray(neg), np.asarray(pos)
    out = ctypes.c_double()
    if neg.dtype in _F32_EXACT and pos.dtype in _F32_EXACT:
        n, p = as_input(neg, np.float32, "neg", 1), as_input(pos, np.float32, "pos", 1)
        _auc(ctypes.byref(out), ptr(n, F32P), n.size, ptr(p, F32P), p.size)
    else:
        n, p = _scores64(neg, "neg"), _scores64(pos, "pos")
        _auc_f64(ctypes.byref(out), ptr(n, F64P), n.size, ptr(p, F64P), p.size)
    return out.value


def benjamini_hochberg(p):
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and is not counted), as R's p.adjust."""
    p = as_input(p, np.float64, "p", 1)
    out = np.empty(p.size, np.float64)
    _benjamini_hochberg(ptr(out, F64P), ptr(p, F64P), p.size)
    return out


def write_svg_threshold_counts(path, labels, values, title=None, y_label=None):
    """Mark My Words' comparison figure: per report (labels), bars of the counts (or shares) above
    each of D_THRESHOLDS drawn inside each other; values has shape (len(labels), len(D_THRESHOLDS))."""
    v = as_input(values, np.float64, "values", 2)
    if v.shape != (len(labels), len(D_THRESHOLDS)):
        raise ValueError(f"values: expected shape ({len(labels)}, {len(D_THRESHOLDS)}), got {v.shape}")
    encoded = (ctypes.c_char_p * len(labels))(*[c_string(x) for x in labels])
    _write_svg_threshold_counts(path_arg(path), c_string(title), c_string(y_label), encoded, ptr(v, F64P),
                                len(labels))


def compare_reports(reports, labels=None):
    """What `wmfeat compare` tabulates: for each report.json (a path, or the folder holding it) a dict
    with "label" (default: its folder), "num_pairs", "num_classes", "classes_above",
    "classes_significant_above" (None when the report has none), "num_features", "channels_above" and
    "channels_percent_above". Reports counted at other thresholds than D_THRESHOLDS raise ValueError
    naming the field. Draw them with write_svg_threshold_counts."""
    import json
    import pathlib
    rows = []
    labels = list(labels) if labels is not None else [None] * len(reports)
    if len(labels) != len(reports):
        raise ValueError(f"{len(labels)} labels for {len(reports)} reports")
    for report, label in zip(reports, labels):
        path = pathlib.Path(report)
        if path.is_dir():
            path = path / "report.json"
        r = json.loads(path.read_text())
        if r.get("format") != "wmfeat-audit-report":
            raise ValueError(f'{path}: field "format" is not "wmfeat-audit-report"')
        if tuple(r.get("thresholds", ())) != D_THRESHOLDS:
            raise ValueError(f'{path}: field "thresholds" is {r.get("thresholds")}, not {list(D_THRESHOLDS)}')
        sig = r.get("significance", {}).get("classes", {}).get("significant_above")
        nf = r.get("num_features", 0)
        ch = r.get("channels_above")
        rows.append({"label": label if label is not None else path.parent.name, "report": str(path),
                     "num_pairs": r["num_pairs"], "num_classes": r["num_classes"],
                     "classes_above": r.get("classes_above"), "classes_significant_above": sig,
                     "num_features": nf, "channels_above": ch,
                     "channels_percent_above": [100.0 * c / nf for c in ch] if ch and nf else None})
    return rows

def list_fingerprint(items, labels=None):
    """The "inputs" provenance field of a list: "COUNT HEX16", hashing each item (str) and its label
    (labels None: all NO_LABEL). Pass paths relative to the input folder (relative_to_input)."""
    encoded = [c_string(x) for x in items]
    array = (ctypes.c_char_p * max(1, len(encoded)))(*encoded)
    lab = None if labels is None else np.ascontiguousarray(labels, np.int32)
    if lab is not None and lab.shape != (len(encoded),):
        raise ValueError(f"labels: expected shape ({len(encoded)},), got {lab.shape}")
    buf = ctypes.create_string_buffer(48)
    _list_fingerprint(buf, 48, array, ptr(lab, I32P), len(encoded))
    return buf.value.decode()


def relative_to_input(path, source):
    """`path` as `wmfeat audit` hashes it: without the input folder `source` in front (so the same
    images found from another working directory match); other paths unchanged."""
    if path.startswith(source):
        rest = path[len(source):]
        if rest.startswith("/") or (source.endswith("/") and rest):
            return rest.lstrip("/")
    return path


def preprocess_description(resize, crop, filter=BILINEAR, norm=None):
    """The "preprocess" provenance field `wmfeat audit` writes: "resize=R crop=C filter=F", then the mean and
    std unless they are ImageNet's (norm None: ImageNet's)."""
    out = f"resize={int(resize)} crop={int(crop)} filter={'bicubic' if filter == BICUBIC else 'bilinear'}"
    if norm is not None and norm != IMAGENET:
        out += " mean={:g},{:g},{:g} std={:g},{:g},{:g}".format(*norm.mean, *norm.std)
    return out


def run_provenance(weights, model, watermark, seed, resize, crop, inputs, shard=(0, 1),
                   precision="fp32", stage=None, conv="auto", filter=BILINEAR, norm=None):
    """The provenance fields `wmfeat audit` records for a run (docs/audit.md), as a dict for
    Audit.provenance: `weights` the opened Weights and `model` the Model built from them, `watermark`
    the recipe (None: no "recipe" field, e.g. pre-rendered pairs), `inputs` the list_fingerprint of the
    whole list (before sharding), `shard` (i, n), `precision` "fp32" or "bf16" (or a Precision) as the
    session runs, `stage` the feature stage (None: the penultimate features), `conv` "auto" or "direct" (or a
    ConvAlgorithm) as the session runs its convolutions, `filter` and `norm` the resize's interpolation and
    Normalize (None: ImageNet's) as audit_files returns them in its info."""
    precision = Precision.of(precision).label
    fields = {"weights": f"{model.arch} {weights.fingerprint()}", "seed": str(int(seed)),
              "preprocess": preprocess_description(resize, crop, filter, norm),
              "precision": precision, "convolution": ConvAlgorithm.of(conv).label, "stage": stage or "penultimate", "inputs": inputs,
              "shard": f"{int(shard[0])}/{int(shard[1])}", "version": version()}
    if watermark is not None:
        fields["recipe"] = watermark.recipe()
    return fields


def _rows(array, n, width, name):
    """A (n, width) float32 C-contiguous view of `array`, copied only if its type or layout differs.
    Shapes are checked here because the C call gets bare pointers."""
    if width == 0:
        if array is not None:
            raise ValueError(f"{name}: the audit has no such columns, pass None")
        return None
    if array is None:
        raise ValueError(f"{name} is required")
    a = as_exact_f32(array, name, 2)
    if a.shape != (n, width):
        raise ValueError(f"{name}: expected shape ({n}, {width}), got {a.shape}")
    return a


class Audit(Handle):
    """Accumulated watermark-sensitivity statistics (wmf_audit). Used by one thread at a time.
    Pickles as its saved state (class names are not kept), so Dask and multiprocessing can ship it."""

    _destroy = _destroy

    @staticmethod
    def create(num_classes, num_features):
        """An empty audit; with 1000 classes the ImageNet-1k names are attached."""
        return Audit._make(_create, num_classes, num_features)

    @staticmethod
    def load(path):
        """Loads a state written by save() (validated: magic, version, checksum, values)."""
        return Audit._make(_load, path_arg(path))

    @staticmethod
    def from_bytes(data):
        """An audit from the bytes of a saved state (to_bytes())."""
        with tempfile.TemporaryDirectory(prefix="wmfeat-") as d:
            path = os.path.join(d, "state.wmfa")
            with open(path, "wb") as f:
                f.write(data)
            return Audit.load(path)

    def to_bytes(self):
        """The saved state (what save() writes) as bytes."""
        with tempfile.TemporaryDirectory(prefix="wmfeat-") as d:
            path = os.path.join(d, "state.wmfa")
            self.save(path)
            with open(path, "rb") as f:
                return f.read()

    def __reduce__(self):
        return Audit.from_bytes, (self.to_bytes(),)

    @staticmethod
    def merge_shards(shards):
        """A new Audit from the shards of one split run (provenance field "shard" = "I/N"): each shard
        exactly once, in any order; pairs in shard order, so it equals one run. A shard given twice or
        missing, or from another run, raises Error (WMF_ERR_MISMATCH) naming the shard and field."""
        shards = list(shards)
        array = (P * len(shards))(*[s._as_parameter_ for s in shards])
        return Audit._make(_merge_shards, array, len(shards))

    @property
    def provenance(self):
        """What produced the pairs (docs/audit.md lists the fields), as a dict; {} for a state written
        by libwmfeat 1.0. Assigning a dict sets its fields (a None value removes one); saved with the
        pairs, compared by check_provenance, merge and merge_shards."""
        keys = [_provenance_key(self, i).decode() for i in range(_provenance_count(self))]
        return {k: _provenance(self, c_string(k)).decode() for k in keys}

    @provenance.setter
    def provenance(self, fields):
        for k, v in fields.items():
            _set_provenance(self, c_string(k), None if v is None else c_string(str(v)))

    def check_provenance(self, now):
        """Raises Error (WMF_ERR_MISMATCH, "FIELD differs (state: ..., now: ...)") unless this saved
        audit comes from the run whose provenance `now` holds (an Audit, or a dict of fields)."""
        if isinstance(now, dict):
            with Audit.create(1, 1) as other:
                other.provenance = now
                return self.check_provenance(other)
        _provenance_check(self, now, None)

    items_done = getter(_items_done, "Input items consumed, skipped ones included (what a resumed run skips); "
                         "saved with the pairs.")

    @items_done.setter
    def items_done(self, value):
        _set_items_done(self, int(value))

    class_count = getter(_class_count, "Number of classes (logits per pair): wmf_audit_class_count.")
    feature_count = getter(_feature_count, "Number of feature channels per pair: wmf_audit_feature_count.")
    pair_count = getter(_pair_count, "Number of pairs added: wmf_audit_pair_count.")

    # older names (wmf_audit_num_*), kept
    num_classes = class_count
    num_features = feature_count
    num_pairs = pair_count

    def __len__(self):
        return self.pair_count

    def add(self, clean_logits=None, wm_logits=None, clean_features=None, wm_features=None, labels=None):
        """Adds n pairs: logits (n, num_classes) and features (n, num_features) of the clean images and
        of their watermarked twins, labels (n,) class indices or NO_LABEL (None: all unknown). float32
        C-contiguous arrays are read in place; others are converted first. All or nothing."""
        given = next((a for a in (clean_logits, clean_features) if a is not None), None)
        if given is None:
            raise ValueError("no arrays given")
        n = np.shape(given)[0]
        nc, nf = self.class_count, self.feature_count
        cl = _rows(clean_logits, n, nc, "clean_logits")
        wl = _rows(wm_logits, n, nc, "wm_logits")
        cf = _rows(clean_features, n, nf, "clean_features")
        wf = _rows(wm_features, n, nf, "wm_features")
        lab = None
        if labels is not None:
            lab = as_input(labels, np.int32, "labels", 1)
            if lab.shape != (n,):
                raise ValueError(f"labels: expected shape ({n},), got {lab.shape}")
        _add(self, n, ptr(cl, F32P), ptr(wl, F32P), ptr(cf, F32P), ptr(wf, F32P), ptr(lab, I32P))

    def _count(self, target):
        return self.class_count if Target(target) == Target.CLASSES else self.feature_count

    def scores(self, target, score, out=None):
        """One score per class or channel as float64 (NaN where undefined), into `out` if given."""
        if out is None:
            out = np.empty(self._count(target), np.float64)
        as_output(out, np.float64)
        _scores(ptr(out, F64P), out.size, self, int(target), int(score))
        return out

    def rank(self, target, score, order, k=None):
        """Indices of the first k (default all) classes or channels ranked by `score` in `order`."""
        k = self._count(target) if k is None else k
        out = np.empty(k, np.uintp)
        _rank(ptr(out, SIZEP), k, self, int(target), int(score), int(order))
        return out

    def count_above(self, target, score, threshold):
        """How many classes or channels have `score` strictly above `threshold` (NaN never counts)."""
        out = ctypes.c_size_t()
        _count_above(ctypes.byref(out), self, int(target), int(score), threshold)
        return out.value

    def top(self, target, rank="abs", k=None):
        """Indices of the first k classes or channels in a named ranking of RANKINGS ("abs", "auc",
        "delta-p"), as `wmfeat audit --rank` orders them."""
        score, order = RANKINGS[rank][Target(target)]
        return self.rank(target, score, order, k)

    def set_bootstrap(self, resamples=1000, seed=0, level=0.95):
        """Turns on percentile bootstrap intervals: `resamples` resamples of the pairs from `seed` at
        confidence `level` (0 resamples turns them off)."""
        _set_bootstrap(self, resamples, seed, level)

    def interval(self, target, score=Score.AUC):
        """(lower, upper) bootstrap interval of AUC (classes, channels) or DELTA_PROB (classes) per
        class or channel, float64 arrays. Needs set_bootstrap first."""
        n = self._count(target)
        lo, hi = np.empty(n, np.float64), np.empty(n, np.float64)
        _interval(ptr(lo, F64P), ptr(hi, F64P), n, self, int(target), int(score))
        return lo, hi

    def p_values(self, target):
        """(p, q): two-sided paired Wilcoxon signed-rank p-values and their Benjamini-Hochberg
        q-values over all classes or channels (NaN where every difference is 0)."""
        n = self._count(target)
        p, q = np.empty(n, np.float64), np.empty(n, np.float64)
        _p_values(ptr(p, F64P), ptr(q, F64P), n, self, int(target))
        return p, q

    def accuracy(self):
        """(clean top-1 accuracy, watermarked top-1 accuracy, number of labelled pairs)."""
        clean, wm, n = ctypes.c_double(), ctypes.c_double(), ctypes.c_size_t()
        _accuracy(ctypes.byref(clean), ctypes.byref(wm), ctypes.byref(n), self)
        return clean.value, wm.value, n.value

    def class_name(self, index):
        """Name of class `index`, or None (no names, out of range)."""
        name = _class_name(self, index)
        return None if name is None else name.decode()

    @property
    def class_names(self):
        """The class names as a list, or None when none are set."""
        names = [self.class_name(i) for i in range(self.class_count)]
        return None if not names or names[0] is None else names

    @class_names.setter
    def class_names(self, names):
        if names is None:
            _set_class_names(self, None, 0)
            return
        encoded = [c_string(n) for n in names]
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        _set_class_names(self, array, len(encoded))

    def load_class_names(self, path):
        """Class names from a UTF-8 text file, one per line."""
        _load_class_names(self, path_arg(path))

    def save(self, path):
        """Saves every pair (not the class names), atomically."""
        _save(self, path_arg(path))

    def merge(self, other):
        """Appends the pairs of `other` after this audit's own (shards merged in order = one run; see
        merge_shards to check every shard is there once). Provenance fields both have must agree
        (except "shard"), else Error (WMF_ERR_MISMATCH) naming the field."""
        _merge(self, other)

    def write_json(self, path):
        _write_json(self, path_arg(path))

    def write_csv(self, target, path):
        _write_csv(self, int(target), path_arg(path))

    def write_svg_classes(self, path, score=Score.AUC, order=Order.FROM_HALF, k=None):
        """Bar chart of the k (default up to 20) classes ranked first by `score` in `order`."""
        k = min(20, self.class_count) if k is None else k
        _write_svg_classes(self, path_arg(path), int(score), int(order), k)

    def write_svg_histogram(self, path, target=Target.CHANNELS, score=Score.AUC, bins=50):
        """Histogram of one score over the channels (or classes)."""
        _write_svg_histogram(self, path_arg(path), int(target), int(score), bins)

    def shortcut_metrics(self, class_index=IMAGENET_CARTON):
        """ImageNet-W's metrics of one class (carton by default) as a dict: p_clean, p_wm, delta_p (over
        all pairs), p_clean_labelled, p_wm_labelled, delta_p_labelled (over the pairs labelled with the
        class), acc_clean, acc_wm, acc_gap (IN-W gap), class_acc_clean, class_acc_wm, class_gap (carton
        gap), and the counts. See wmf_audit_shortcut_metrics."""
        out = _Shortcut()
        out.struct_size = ctypes.sizeof(_Shortcut)
        _shortcut_metrics(ctypes.byref(out), self, class_index)
        return {name: getattr(out, name) for name, _ in _Shortcut._fields_ if name != "struct_size"}

    def pairs(self, first=0, n=None):
        """The stored values of pairs [first, first + n) (default: all from first), as a dict of
        float32 arrays clean_logits, wm_logits (n, num_classes), clean_features, wm_features
        (n, num_features) and int32 labels (n,); arrays of an empty dimension are None."""
        n = self.pair_count - first if n is None else n
        nc, nf = self.class_count, self.feature_count
        out = {"clean_logits": np.empty((n, nc), np.float32) if nc else None,
               "wm_logits": np.empty((n, nc), np.float32) if nc else None,
               "clean_features": np.empty((n, nf), np.float32) if nf else None,
               "wm_features": np.empty((n, nf), np.float32) if nf else None,
               "labels": np.empty(n, np.int32)}
        _get_pairs(self, first, n, *(ptr(out[k], F32P) for k in
                                     ("clean_logits", "wm_logits", "clean_features", "wm_features")),
                   ptr(out["labels"], I32P))
        return out

    def write_pairs_csv(self, path, paths=None, classes=()):
        """One CSV row per pair: its path (from `paths`, one per pair, or empty), label, clean and
        watermarked top-5 and the softmax p of each class in `classes` (clean and watermarked)."""
        if paths is not None and len(paths) != self.pair_count:
            raise ValueError(f"paths: {len(paths)} names for {self.pair_count} pairs")
        names = None
        if paths is not None:
            encoded = [os.fsencode(x) for x in paths]
            names = (ctypes.c_char_p * len(encoded))(*encoded)
        listed = np.ascontiguousarray(np.asarray(classes, dtype=np.uintp).reshape(-1))
        _write_pairs_csv(self, path_arg(path), names, ptr(listed, SIZEP), listed.size)
