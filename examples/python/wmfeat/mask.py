"""wmf_mask: which feature channels to zero before training a head."""
import ctypes
import enum

import numpy as np

from ._lib import F32P, F64P, PP, SIZEP, P, Handle, as_input, as_output, fn, getter, path_arg, ptr
from .audit import Order

_SIZE = ctypes.c_size_t


class Rank(enum.IntEnum):
    """wmf_mask_rank, the 1.0 mask key enum, kept. The builders take the canonical wmfeat.Order
    (DESCENDING = the score, ABS = |score|, FROM_HALF = |score - 0.5|) as well; the values of the two
    enums differ, and the binding tells them apart by their type (a plain int is a Rank)."""
    BY_VALUE = 0      # the score itself (e.g. d); Order.DESCENDING
    BY_ABS = 1        # |score| (mean differences, effect sizes, z); Order.ABS
    BY_FROM_HALF = 2  # |score - 0.5| (AUCs, as Mark My Words ranks them); Order.FROM_HALF


class Rule(enum.IntEnum):
    """wmf_mask_rule: how Mask.select builds a mask, and what its value is."""
    TOP_K = 0         # value = k
    TOP_FRACTION = 1  # value = p: floor(p n + 0.5) channels
    QUANTILE = 2      # value = p: key > torch.quantile(key, 1 - p) (Mark My Words)
    THRESHOLD = 3     # value = the threshold on the key


_create = fn("wmf_mask_create", [PP, _SIZE])
_destroy = fn("wmf_mask_destroy", [P], None)
_top_k = fn("wmf_mask_top_k", [PP, F64P, _SIZE, ctypes.c_int, _SIZE])
_top_fraction = fn("wmf_mask_top_fraction", [PP, F64P, _SIZE, ctypes.c_int, ctypes.c_double])
_threshold = fn("wmf_mask_threshold", [PP, F64P, _SIZE, ctypes.c_int, ctypes.c_double])
_quantile = fn("wmf_mask_quantile", [PP, F64P, _SIZE, ctypes.c_int, ctypes.c_double])
_threshold_used = fn("wmf_mask_threshold_used", [P], ctypes.c_double, check=False)
_select = fn("wmf_mask_select", [PP, F64P, _SIZE, ctypes.c_int, ctypes.c_int, ctypes.c_double])
_feature_count = fn("wmf_mask_feature_count", [P], _SIZE)
_masked_count = fn("wmf_mask_masked_count", [P], _SIZE)
# the 1.0 names of the two counts, declared so that calls through `lib` are typed
fn("wmf_mask_num_features", [P], _SIZE)
fn("wmf_mask_count", [P], _SIZE)
_is_masked = fn("wmf_mask_is_masked", [P, _SIZE], ctypes.c_int, check=False)
_set = fn("wmf_mask_set", [P, _SIZE, ctypes.c_int])
_indices = fn("wmf_mask_indices", [SIZEP, _SIZE, P])
_multiplier = fn("wmf_mask_multiplier", [F32P, _SIZE, P])
_apply = fn("wmf_mask_apply", [P, F32P, _SIZE, _SIZE])
_union = fn("wmf_mask_union", [PP, P, P])
_intersection = fn("wmf_mask_intersection", [PP, P, P])
_save_json = fn("wmf_mask_save_json", [P, ctypes.c_char_p])
_load_json = fn("wmf_mask_load_json", [PP, ctypes.c_char_p])
_save_npy = fn("wmf_mask_save_npy", [P, ctypes.c_char_p])
_load_npy = fn("wmf_mask_load_npy", [PP, ctypes.c_char_p])


# the key of each 1.0 Rank as the canonical Order
_ORDER_OF_RANK = {Rank.BY_VALUE: Order.DESCENDING, Rank.BY_ABS: Order.ABS, Rank.BY_FROM_HALF: Order.FROM_HALF}


def _from_scores(rule, scores, rank, value):
    """A mask by `rule`: through wmf_mask_select for an Order, through the 1.0 builder for a Rank (or an
    int, a wmf_mask_rank value)."""
    s = as_input(scores, np.float64, "scores", 1)
    if isinstance(rank, Order):
        return Mask._make(_select, ptr(s, F64P), s.size, int(rank), int(rule), value)
    ctor = {Rule.TOP_K: _top_k, Rule.TOP_FRACTION: _top_fraction, Rule.QUANTILE: _quantile,
            Rule.THRESHOLD: _threshold}[rule]
    return Mask._make(ctor, ptr(s, F64P), s.size, int(rank), value)


class Mask(Handle):
    """A set of masked (zeroed) feature channels (wmf_mask). Reads may run concurrently."""

    _destroy = _destroy

    @staticmethod
    def create(num_features):
        """A mask of num_features channels with nothing masked."""
        return Mask._make(_create, num_features)

    @staticmethod
    def select(scores, rule, value, order=Order.FROM_HALF):
        """wmf_mask_select: a mask by `rule` (a Rule) with `value` (k, p or a threshold), the channels
        ranked by `order` (Order.DESCENDING, ABS or FROM_HALF; the key's largest come first; a Rank is
        taken as the Order of its key, a plain int as an Order value)."""
        order = _ORDER_OF_RANK[order] if isinstance(order, Rank) else Order(order)
        s = as_input(scores, np.float64, "scores", 1)
        return Mask._make(_select, ptr(s, F64P), s.size, int(order), int(Rule(rule)), value)

    # The builders take `rank` as an Order (canonical) or a Rank (1.0); the defaults rank by |AUC - 0.5|.
    @staticmethod
    def top_k(scores, k, rank=Order.FROM_HALF):
        """Masks the k channels with the largest key (NaN scores never masked, ties to lower index)."""
        return _from_scores(Rule.TOP_K, scores, rank, k)

    @staticmethod
    def top_fraction(scores, p, rank=Order.FROM_HALF):
        """Masks floor(p * n + 0.5) channels, as top_k."""
        return _from_scores(Rule.TOP_FRACTION, scores, rank, p)

    @staticmethod
    def quantile(scores, p, rank=Order.FROM_HALF):
        """Mark My Words' rule: masks the channels whose key is strictly above
        torch.quantile(key, 1 - p) (linear interpolation; NaN scores left out and never masked)."""
        return _from_scores(Rule.QUANTILE, scores, rank, p)

    @staticmethod
    def threshold(scores, threshold, rank=Order.FROM_HALF):
        """Masks every channel whose key is strictly above `threshold`."""
        return _from_scores(Rule.THRESHOLD, scores, rank, threshold)

    @staticmethod
    def load_json(path):
        return Mask._make(_load_json, path_arg(path))

    @staticmethod
    def load_npy(path):
        """From a 1-D .npy vector of 0/1 multipliers (1 = kept)."""
        return Mask._make(_load_npy, path_arg(path))

    feature_count = getter(_feature_count, "Number of channels (the feature vector's length): wmf_mask_feature_count.")

    def __len__(self):
        return self.feature_count

    threshold_used = getter(_threshold_used,
                            "The key threshold the mask was built with (quantile or threshold rule), else NaN.")
    masked_count = getter(_masked_count, "Number of masked channels: wmf_mask_masked_count.")

    # older names (wmf_mask_num_features, wmf_mask_count), kept; `count` is the MASKED channels
    num_features = feature_count
    count = masked_count

    def is_masked(self, index):
        return bool(_is_masked(self, index))

    __contains__ = is_masked

    def set(self, index, masked=True):
        """Masks or unmasks one channel by hand (not while other threads use the mask)."""
        _set(self, index, 1 if masked else 0)

    def indices(self):
        """The masked channels, ascending."""
        out = np.empty(self.masked_count, np.uintp)
        _indices(ptr(out, SIZEP), out.size, self)
        return out

    def multiplier(self):
        """float32 vector: 1 = kept, 0 = masked."""
        out = np.empty(self.feature_count, np.float32)
        _multiplier(ptr(out, F32P), out.size, self)
        return out

    def apply(self, features):
        """Zeroes the masked channels of features (num_features,) or (n, num_features) in place; the
        array must be float32, C-contiguous and writable. Returns it."""
        as_output(features, np.float32, "features")
        if features.ndim not in (1, 2):
            raise ValueError(f"features: expected 1 or 2 dimensions, got shape {features.shape}")
        rows = 1 if features.ndim == 1 else features.shape[0]
        _apply(self, ptr(features, F32P), rows, features.shape[-1])
        return features

    def union(self, other):
        return Mask._make(_union, self, other)

    def intersection(self, other):
        return Mask._make(_intersection, self, other)

    __or__ = union
    __and__ = intersection

    def save_json(self, path):
        _save_json(self, path_arg(path))

    def save_npy(self, path):
        """The multiplier vector as .npy ('<f4'): `features * np.load(path)` applies the mask."""
        _save_npy(self, path_arg(path))
