"""wmf_weights: safetensors and PyTorch .pth files, read without running any code."""
import ctypes
import enum
from collections import namedtuple

import numpy as np

from ._lib import F32P, PP, P, Error, Handle, as_output, c_string, fn, getter, init_options, path_arg, ptr

MAX_DIMS = 8


class DType(enum.IntEnum):
    """wmf_dtype: element types a weight file can hold."""
    F32 = 0
    F16 = 1
    BF16 = 2
    F64 = 3
    I64 = 4
    I32 = 5
    I16 = 6
    I8 = 7
    U8 = 8
    BOOL = 9


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("ndim", ctypes.c_uint32),
                ("shape", ctypes.c_int64 * MAX_DIMS), ("numel", ctypes.c_uint64)]


class _Options(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("state_dict_key", ctypes.c_char_p)]


TensorInfo = namedtuple("TensorInfo", "name dtype shape numel")
TensorInfo.__doc__ = "One tensor of a weight file: name, DType, shape tuple, element count."

_dtype_name = fn("wmf_dtype_name", [ctypes.c_int], ctypes.c_char_p)
_options_init = fn("wmf_weights_options_init", [ctypes.POINTER(_Options), ctypes.c_size_t])
_open = fn("wmf_weights_open", [PP, ctypes.c_char_p, ctypes.POINTER(_Options)])
_open_memory = fn("wmf_weights_open_memory", [PP, ctypes.c_void_p, ctypes.c_size_t,
                                               ctypes.POINTER(_Options)])
_destroy = fn("wmf_weights_destroy", [P], None)
_format = fn("wmf_weights_format", [P], ctypes.c_char_p)
_tensor_count = fn("wmf_weights_tensor_count", [P], ctypes.c_size_t)
fn("wmf_weights_count", [P], ctypes.c_size_t)  # the 1.0 name, declared so that calls through `lib` are typed
_info = fn("wmf_weights_info", [P, ctypes.c_size_t, ctypes.POINTER(_TensorInfo)])
_find = fn("wmf_weights_find", [P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t)])
_get_f32 = fn("wmf_weights_get_f32", [P, ctypes.c_char_p, F32P, ctypes.c_size_t])
_metadata = fn("wmf_weights_metadata", [P, ctypes.c_char_p], ctypes.c_char_p)
_fingerprint = fn("wmf_weights_fingerprint", [ctypes.c_char_p, ctypes.c_size_t, P])


def dtype_name(dtype):
    """Static name of a dtype ("F32", "BF16", ...)."""
    return _dtype_name(int(dtype)).decode()


def _options(state_dict_key):
    if state_dict_key is None:
        return None
    return ctypes.byref(init_options(_Options, _options_init, state_dict_key=c_string(state_dict_key)))


class Weights(Handle):
    """An opened weight file (wmf_weights): a read-only table of named tensors. Iterating yields
    TensorInfo in file order; `w[name]` is get(name)."""

    _destroy = _destroy

    @staticmethod
    def open(path, state_dict_key=None):
        """Opens safetensors, PyTorch zip or legacy .pth, detected from the content."""
        return Weights._make(_open, path_arg(path), _options(state_dict_key))

    @staticmethod
    def open_memory(data, state_dict_key=None):
        """Like open() on bytes in memory (which the library copies)."""
        data = bytes(data)
        return Weights._make(_open_memory, data, len(data), _options(state_dict_key))

    format = getter(_format, """"safetensors", "pytorch-zip" or "pytorch-legacy".""", convert=bytes.decode)
    tensor_count = getter(_tensor_count, "Number of tensors: wmf_weights_tensor_count (also len(weights)).")

    def __len__(self):
        return self.tensor_count

    def _info_at(self, index):
        raw = _TensorInfo()
        _info(self, index, ctypes.byref(raw))
        return TensorInfo(raw.name.decode(), DType(raw.dtype), tuple(raw.shape[:raw.ndim]), raw.numel)

    def __iter__(self):
        return (self._info_at(i) for i in range(len(self)))

    def names(self):
        return [t.name for t in self]

    def __contains__(self, name):
        index = ctypes.c_size_t()
        try:
            _find(self, c_string(name), ctypes.byref(index))
        except Error as e:
            if e.name == "WMF_ERR_NOT_FOUND":
                return False
            raise
        return True

    def info(self, name):
        """TensorInfo of a tensor by (normalized) name, or by index in file order."""
        if isinstance(name, int):
            return self._info_at(name)
        index = ctypes.c_size_t()
        _find(self, c_string(name), ctypes.byref(index))
        return self._info_at(index.value)

    def get(self, name, out=None):
        """The tensor (F32, F16, BF16 or F64) as a float32 array of its shape, written in place by the
        library into a new array, or into `out` (a C-contiguous float32 array of at least numel)."""
        if out is None:
            out = np.empty(self.info(name).shape, np.float32)
        as_output(out, np.float32)
        _get_f32(self, c_string(name), ptr(out, F32P), out.size)
        return out

    __getitem__ = get

    def fingerprint(self):
        """16 hex digits hashing every tensor's name, dtype, shape and values (container and tensor order
        do not matter): the weights part of an audit's provenance, docs/audit.md."""
        buf = ctypes.create_string_buffer(17)
        _fingerprint(buf, 17, self)
        return buf.value.decode()

    def metadata(self, key):
        """A safetensors `__metadata__` value, or None."""
        value = _metadata(self, c_string(key))
        return None if value is None else value.decode()
