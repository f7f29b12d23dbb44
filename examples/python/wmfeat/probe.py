"""wmf_probe: a linear softmax head (L2-regularized, as sklearn's LogisticRegression) on features."""
import ctypes
import warnings
from collections import namedtuple

import numpy as np

from ._lib import (F32P, F64P, I32P, PP, P, Error, Handle, as_exact_f32, as_input, as_output, c_string, getter,
                   fn, last_error as _lib_last_error, path_arg, ptr, raise_for)

_SIZE = ctypes.c_size_t
_ERR_LIMIT = -7


class ConvergenceWarning(UserWarning):
    """Training stopped at the iteration limit before converging (as scikit-learn's ConvergenceWarning);
    the head reached is returned, its training_info says converged False."""


class ProbeOptions(ctypes.Structure):
    """wmf_probe_options, initialized like WMF_PROBE_OPTIONS_INIT; keywords override fields."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("max_iterations", ctypes.c_uint32),
                ("C", ctypes.c_double), ("tolerance", ctypes.c_double), ("history", ctypes.c_uint32),
                ("fit_intercept", ctypes.c_int32), ("ftol", ctypes.c_double),
                ("sklearn_tolerance", ctypes.c_int32)]

    def __init__(self, **fields):
        super().__init__()
        _options_init(ctypes.byref(self), ctypes.sizeof(self))  # the library's defaults, struct_size
        for key, value in fields.items():
            if key == "struct_size" or key not in dict(self._fields_):
                raise TypeError(f"unknown probe option {key!r}")
            setattr(self, key, value)


_options_init = fn("wmf_probe_options_init", [ctypes.POINTER(ProbeOptions), _SIZE])


TrainingInfo = namedtuple("TrainingInfo", "iterations converged objective gradient")

_train = fn("wmf_probe_train", [PP, F32P, I32P, _SIZE, _SIZE, _SIZE, P, ctypes.POINTER(ProbeOptions)],
            check=False)
_destroy = fn("wmf_probe_destroy", [P], None)
_class_count = fn("wmf_probe_class_count", [P], _SIZE)
_feature_count = fn("wmf_probe_feature_count", [P], _SIZE)
# the 1.0 names of the two counts, declared so that calls through `lib` are typed
fn("wmf_probe_num_classes", [P], _SIZE)
fn("wmf_probe_num_features", [P], _SIZE)
_training_info = fn("wmf_probe_training_info",
                    [ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_int),
                     F64P, F64P, P])
_weights = fn("wmf_probe_weights", [F64P, _SIZE, F64P, _SIZE, P])
_predict = fn("wmf_probe_predict", [F32P, I32P, P, F32P, _SIZE])
_accuracy = fn("wmf_probe_accuracy", [F64P, P, F32P, I32P, _SIZE])
_logit_auc = fn("wmf_probe_logit_auc", [F64P, _SIZE, P, F32P, _SIZE, F32P, _SIZE])
_save = fn("wmf_probe_save", [P, ctypes.c_char_p])
_load = fn("wmf_probe_load", [PP, ctypes.c_char_p])
_write_auc_distribution_svg = fn("wmf_probe_write_auc_distribution_svg",
                                 [ctypes.c_char_p, ctypes.c_char_p, F64P, _SIZE, F64P, _SIZE])
_write_curve_svg = fn("wmf_probe_write_curve_svg",
                      [ctypes.c_char_p, ctypes.c_char_p, F64P, F64P, F64P, F64P, ctypes.c_char_p,
                       _SIZE])


def write_curve_svg(path, p, clean_accuracy, wm_accuracy, title="", extra=None, extra_name=None):
    """SVG line chart of accuracy against masked fraction p (Mark My Words' mitigation curve)."""
    p = as_input(p, np.float64, "p", 1)
    arrays = [as_input(a, np.float64, name, 1) if a is not None else None
              for a, name in ((clean_accuracy, "clean_accuracy"), (wm_accuracy, "wm_accuracy"),
                              (extra, "extra"))]
    for a in arrays:
        if a is not None and a.shape != p.shape:
            raise ValueError(f"every curve needs {p.size} points")
    _write_curve_svg(path_arg(path), c_string(title), ptr(p, F64P), *(ptr(a, F64P) for a in arrays),
                     c_string(extra_name), p.size)


def write_auc_distribution_svg(path, p, aucs, title=None):
    """Per masked fraction p, the distribution of a head's logit AUCs (aucs: shape (len(p), classes)) as
    box plots with every AUC as a dot: Mark My Words' second mitigation figure."""
    p = as_input(p, np.float64, "p", 1)
    a = as_input(aucs, np.float64, "aucs", 2)
    if a.shape[0] != p.size:
        raise ValueError(f"aucs: expected {p.size} rows, got {a.shape[0]}")
    _write_auc_distribution_svg(path_arg(path), c_string(title), ptr(p, F64P), p.size, ptr(a, F64P), a.shape[1])


# Mark My Words' masked fractions (notebook "3.1 Cal-Tech256 training", last cell).
PAPER_FRACTIONS = (0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.25, 0.5)


def sweep(train, train_labels, test, test_labels, channel_auc, test_wm=None, test_wm_labels=None,
          fractions=PAPER_FRACTIONS, rule="count", rank=None, num_classes=None, max_iter=1000, tol=None,
          **options):
    """The mitigation sweep of `wmfeat probe --sweep`: for each fraction p a mask of the channels by
    `channel_auc` (rule "count": Mask.top_fraction, "quantile": Mask.quantile; rank an Order, default
    Order.FROM_HALF, or a 1.0 Rank), a head trained on the masked training features (ProbeOptions fields as keywords;
    a head that does not converge is kept; `max_iter` and `tol` as in Probe.train, tol defaulting to
    scikit-learn's 1e-4 as `wmfeat probe` does unless `tolerance` is given), its accuracies on `test` and
    `test_wm` and its logit AUCs between them. Returns a list of dicts with the keys of sweep.json's
    points."""
    if tol is None and "tolerance" not in options:
        tol = 1e-4
    from .audit import Order
    from .mask import Mask
    rank = Order.FROM_HALF if rank is None else rank
    build = {"count": Mask.top_fraction, "quantile": Mask.quantile}[rule]
    points = []
    for p in fractions:
        with build(channel_auc, p, rank) as m:
            head = Probe.train(train, train_labels, num_classes, mask=m, max_iter=max_iter, tol=tol, **options)
            with head:
                info = head.training_info
                pt = {"p": p, "masked": m.masked_count, "threshold": m.threshold_used,
                      "clean_accuracy": head.accuracy(test, test_labels), "watermarked_accuracy": float("nan"),
                      "mean_abs_auc_minus_half": float("nan"), "logit_auc": None,
                      "converged": info.converged, "iterations": info.iterations,
                      "masked_channels": m.indices().tolist()}
                if test_wm is not None:
                    pt["watermarked_accuracy"] = head.accuracy(
                        test_wm, test_labels if test_wm_labels is None else test_wm_labels)
                    aucs = head.logit_auc(test, test_wm)
                    pt["logit_auc"] = aucs.tolist()
                    pt["mean_abs_auc_minus_half"] = float(np.mean(np.abs(aucs - 0.5)))
                    pt["median_auc"] = float(np.median(aucs))
        points.append(pt)
    return points


class Probe(Handle):
    """A trained linear head (wmf_probe). Immutable: predict/accuracy/save may run concurrently."""

    _destroy = _destroy

    @staticmethod
    def train(features, labels, num_classes=None, mask=None, options=None, require_convergence=False,
              max_iter=None, tol=None, **option_fields):
        """Trains on features (n, num_features) and labels (n,) in [0, num_classes) (default: max label
        + 1). `mask` (a Mask) zeroes channels in training and in every later prediction. `options` is a
        ProbeOptions, or give its fields as keywords (C=..., max_iterations=...). `max_iter` and `tol`
        are scikit-learn's LogisticRegression parameters (tol bounds the gradient of the summed
        objective), stopping as its lbfgs solver does. When training stops at the iteration limit the
        head reached is returned with a ConvergenceWarning (training_info.converged is False), or
        Error WMF_ERR_LIMIT is raised if require_convergence is True."""
        x = as_input(features, np.float32, "features", 2)
        y = as_input(labels, np.int32, "labels", 1)
        if y.shape != (x.shape[0],):
            raise ValueError(f"labels: expected shape ({x.shape[0]},), got {y.shape}")
        if num_classes is None:
            num_classes = int(y.max()) + 1 if y.size else 0
        if options is None:
            options = ProbeOptions(**option_fields)
        elif option_fields:
            raise TypeError("give either options or option keywords")
        if max_iter is not None:
            options.max_iterations = max_iter
        if tol is not None:
            options.tolerance, options.sklearn_tolerance = tol, 1
        out = ctypes.c_void_p()
        status = _train(ctypes.byref(out), ptr(x, F32P), ptr(y, I32P), x.shape[0], x.shape[1],
                        num_classes, mask, ctypes.byref(options))
        if status == _ERR_LIMIT and out.value and not require_convergence:
            warnings.warn(ConvergenceWarning(_lib_last_error()), stacklevel=2)
            return Probe(out)
        try:
            raise_for(status)
        except Error:
            _destroy(out)
            raise
        return Probe(out)

    @staticmethod
    def load(path):
        return Probe._make(_load, path_arg(path))

    class_count = getter(_class_count, "Number of classes: wmf_probe_class_count.")
    feature_count = getter(_feature_count, "Number of feature channels: wmf_probe_feature_count.")

    # older names (wmf_probe_num_*), kept
    num_classes = class_count
    num_features = feature_count

    @property
    def training_info(self):
        """TrainingInfo(iterations, converged, objective, gradient) of how training ended."""
        it, conv = ctypes.c_uint32(), ctypes.c_int()
        obj, grad = ctypes.c_double(), ctypes.c_double()
        _training_info(ctypes.byref(it), ctypes.byref(conv), ctypes.byref(obj), ctypes.byref(grad), self)
        return TrainingInfo(it.value, bool(conv.value), obj.value, grad.value)

    def weights(self):
        """(W (num_classes, num_features), b (num_classes,)) as float64; masked channels have W 0."""
        w = np.empty((self.class_count, self.feature_count), np.float64)
        b = np.empty(self.class_count, np.float64)
        _weights(ptr(w, F64P), w.size, ptr(b, F64P), b.size, self)
        return w, b

    def _features(self, features, name="features", exact=False):
        x = as_exact_f32(features, name, 2) if exact else as_input(features, np.float32, name, 2)
        if x.shape[1] != self.feature_count:
            raise ValueError(f"{name}: expected {self.feature_count} columns, got {x.shape[1]}")
        return x

    def predict(self, features, logits=None, classes=None):
        """(logits (n, num_classes) float32, classes (n,) int32) of unmasked features (the head's mask
        is applied); written into `logits` / `classes` when given."""
        x = self._features(features)
        n = x.shape[0]
        if logits is None:
            logits = np.empty((n, self.class_count), np.float32)
        if classes is None:
            classes = np.empty(n, np.int32)
        as_output(logits, np.float32, "logits")
        as_output(classes, np.int32, "classes")
        if logits.size < n * self.class_count or classes.size < n:
            raise ValueError("output arrays too small")
        _predict(ptr(logits, F32P), ptr(classes, I32P), self, ptr(x, F32P), n)
        return logits, classes

    def accuracy(self, features, labels):
        """Top-1 accuracy on labelled features (NO_LABEL rows skipped; NaN if none is labelled)."""
        x = self._features(features)
        y = as_input(labels, np.int32, "labels", 1)
        if y.shape != (x.shape[0],):
            raise ValueError(f"labels: expected shape ({x.shape[0]},), got {y.shape}")
        out = ctypes.c_double()
        _accuracy(ctypes.byref(out), self, ptr(x, F32P), ptr(y, I32P), x.shape[0])
        return out.value

    def logit_auc(self, clean, watermarked):
        """Per-logit ROC-AUC between clean and watermarked feature sets (watermarked = positive). The
        library computes in float32: float64 features float32 cannot hold exactly raise ValueError."""
        c = self._features(clean, "clean", exact=True)
        w = self._features(watermarked, "watermarked", exact=True)
        out = np.empty(self.class_count, np.float64)
        _logit_auc(ptr(out, F64P), out.size, self, ptr(c, F32P), c.shape[0], ptr(w, F32P), w.shape[0])
        return out

    def save(self, path):
        _save(self, path_arg(path))
