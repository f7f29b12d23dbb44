"""wmf_model / wmf_session: torchvision ResNet, VGG and DenseNet run on oneDNN."""
import ctypes
import enum

import numpy as np

from ._lib import F32P, PP, P, Handle, as_input, as_output, c_string, fn, ptr

U32P = ctypes.POINTER(ctypes.c_uint32)


class Precision(enum.IntEnum):
    """wmf_precision."""
    FP32 = 0
    BF16 = 1


class _ModelOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("allow_unexpected", ctypes.c_uint32)]


class _SessionOptions(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("max_batch", ctypes.c_uint32),
                ("input_height", ctypes.c_uint32), ("input_width", ctypes.c_uint32),
                ("threads", ctypes.c_uint32), ("precision", ctypes.c_int), ("stage", ctypes.c_char_p)]


_load = fn("wmf_model_load", [PP, P, ctypes.c_char_p, ctypes.POINTER(_ModelOptions)])
_model_destroy = fn("wmf_model_destroy", [P], None)
_arch = fn("wmf_model_arch", [P], ctypes.c_char_p)
_family = fn("wmf_model_family", [P], ctypes.c_char_p)
_num_classes = fn("wmf_model_num_classes", [P], ctypes.c_size_t)
_feature_count = fn("wmf_model_feature_count", [P], ctypes.c_size_t)
_default_size = fn("wmf_model_default_input_size", [P], ctypes.c_uint32)
_create = fn("wmf_session_create", [PP, P, ctypes.POINTER(_SessionOptions)])
_session_destroy = fn("wmf_session_destroy", [P], None)
_run = fn("wmf_session_run", [P, F32P, ctypes.c_size_t, F32P, ctypes.c_size_t, F32P, ctypes.c_size_t])
_logit_count = fn("wmf_session_logit_count", [P], ctypes.c_size_t)
_session_feature_count = fn("wmf_session_feature_count", [P], ctypes.c_size_t)
_stage_count = fn("wmf_session_stage_count", [P], ctypes.c_size_t)
_stage_features = fn("wmf_session_stage_features", [P, F32P, ctypes.c_size_t])
_input_dims = fn("wmf_session_input_dims", [P, U32P, U32P, U32P], None)
_isa = fn("wmf_nn_isa", [], ctypes.c_char_p)
_has_bf16 = fn("wmf_nn_has_bf16", [], ctypes.c_int, check=False)


def isa():
    """The instruction set oneDNN dispatches to, e.g. "avx512_core_bf16"."""
    return _isa().decode()


def has_bf16():
    return bool(_has_bf16())


class Model(Handle):
    """An immutable network built from a Weights (wmf_model); share it between threads freely."""

    _destroy = _model_destroy

    @staticmethod
    def load(weights, arch=None, allow_unexpected=False):
        opts = _ModelOptions(ctypes.sizeof(_ModelOptions), int(bool(allow_unexpected)))
        out = ctypes.c_void_p()
        _load(ctypes.byref(out), weights, c_string(arch), ctypes.byref(opts))
        return Model(out)

    arch = property(lambda self: _arch(self).decode())
    family = property(lambda self: _family(self).decode())
    num_classes = property(lambda self: _num_classes(self))
    feature_count = property(lambda self: _feature_count(self))
    default_input_size = property(lambda self: _default_size(self))

    def session(self, **kwargs):
        return Session(self, **kwargs)


class Session(Handle):
    """Per-thread inference state (wmf_session). run() takes an N x 3 x H x W float32 array."""

    _destroy = _session_destroy

    def __init__(self, model, max_batch=1, height=0, width=0, threads=0, precision=Precision.FP32, stage=None):
        opts = _SessionOptions(ctypes.sizeof(_SessionOptions), max_batch, height, width, threads, int(precision),
                               c_string(stage))
        out = ctypes.c_void_p()
        _create(ctypes.byref(out), model, ctypes.byref(opts))
        super().__init__(out)
        self._model = model  # the model must outlive the session

    logit_count = property(lambda self: _logit_count(self))
    feature_count = property(lambda self: _session_feature_count(self))
    stage_count = property(lambda self: _stage_count(self))

    @property
    def input_dims(self):
        b, h, w = ctypes.c_uint32(), ctypes.c_uint32(), ctypes.c_uint32()
        _input_dims(self, ctypes.byref(b), ctypes.byref(h), ctypes.byref(w))
        return b.value, h.value, w.value

    def run(self, images, logits=None, features=None):
        """Returns (logits, features) as N x count float32 arrays (written in place when given)."""
        x = as_input(images, np.float32, "images", ndim=4)
        n = x.shape[0]
        if logits is None:
            logits = np.empty((n, self.logit_count), np.float32)
        if features is None:
            features = np.empty((n, self.feature_count), np.float32)
        as_output(logits, np.float32, "logits")
        as_output(features, np.float32, "features")
        _run(self, ptr(x, F32P), n, ptr(logits, F32P), logits.size, ptr(features, F32P), features.size)
        return logits, features

    def stage_features(self, n):
        out = np.empty((n, self.stage_count), np.float32)
        _stage_features(self, ptr(out, F32P), out.size)
        return out
