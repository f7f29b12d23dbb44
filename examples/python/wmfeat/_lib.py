"""Loading libwmfeat and turning statuses into exceptions.

The library is found through, in order: the WMFEAT_LIBRARY environment variable (a path to
libwmfeat.so.1); for an installed package, the library installed with it (_paths.py, written by
`meson install` or by pip's build); in the source tree, the build directories (build*/lib/); then the
system's search path.
ctypes.CDLL releases the GIL around every call, so long calls (forward passes, audits) let other
Python threads run.
"""
import ctypes
import ctypes.util
import inspect
import os
import pathlib

import numpy as np

_HERE = pathlib.Path(__file__).resolve().parent


def _candidates():
    env = os.environ.get("WMFEAT_LIBRARY")
    if env:
        yield env
        return
    try:
        from . import _paths  # only in an installed copy
    except ImportError:
        _paths = None
    if _paths is not None:
        if _paths.PACKAGE_DIR:  # where meson installed it, relative to here (works under DESTDIR)
            rel = os.path.relpath(_paths.LIBDIR, _paths.PACKAGE_DIR)
            yield os.path.normpath(os.path.join(_HERE, rel, _paths.LIBRARY))
        yield os.path.join(_paths.LIBDIR, _paths.LIBRARY)
    else:
        root = _HERE.parents[2]  # examples/python/wmfeat -> repository root
        for build in sorted(root.glob("build*/lib/libwmfeat.so.1")):
            yield str(build)
    found = ctypes.util.find_library("wmfeat")
    if found:
        yield found
    yield "libwmfeat.so.1"


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("libwmfeat not found; set WMFEAT_LIBRARY to libwmfeat.so.1 ("
                      + "; ".join(errors) + ")")


lib = _load()


class Error(Exception):
    """A libwmfeat call failed. `status` is the negative wmf_status, `name` its name."""

    def __init__(self, status, name, message):
        super().__init__(f"{name}: {message}")
        self.status = status
        self.name = name
        self.message = message


# Every function the binding declares, by name (tests compare this with the headers' WMF_API list).
declared = {}


def raise_for(status):
    """Raises Error for a negative status with this thread's wmf_last_error()."""
    if status < 0:
        raise Error(status, lib.wmf_status_name(status).decode(),
                    lib.wmf_last_error().decode("utf-8", "replace"))
    return status


def _errcheck(result, func, args):
    return raise_for(result)


def fn(name, argtypes, restype=ctypes.c_int, check=True):
    """Declares a library function. Functions returning wmf_status (restype c_int) raise Error on a
    negative status unless check is False (then the caller inspects the status itself)."""
    f = getattr(lib, name)
    f.argtypes = argtypes
    f.restype = restype
    if restype is ctypes.c_int and check:
        f.errcheck = _errcheck
    declared[name] = f
    return f


def init_options(struct, init, **fields):
    """A ctypes options struct (a wmf_*_options) filled by its C `*_options_init(options, size)`: the
    library's defaults and struct_size for this struct's size, so the binding never hard-codes either.
    Keyword arguments then set fields; struct_size and unknown names raise TypeError."""
    options = struct()
    init(ctypes.byref(options), ctypes.sizeof(options))
    names = {f[0] for f in struct._fields_}
    for key, value in fields.items():
        if key == "struct_size" or key not in names:
            raise TypeError(f"unknown {struct.__name__} field {key!r}")
        setattr(options, key, value)
    return options


_status_name = fn("wmf_status_name", [ctypes.c_int], ctypes.c_char_p)
_last_error = fn("wmf_last_error", [], ctypes.c_char_p)
clear_error = fn("wmf_clear_error", [], None)
# Allocator hooks are not exposed to Python (Python callbacks would run inside every allocation);
# declared so that a call through `lib` still gets the right types.
_set_allocator = fn("wmf_set_allocator", [ctypes.c_void_p])
_version = fn("wmf_version", [], ctypes.c_char_p)
_version_number = fn("wmf_version_number", [], ctypes.c_uint32)

def version():
    """The library's version string, e.g. "1.0.0"."""
    return _version().decode()


def version_number():
    """The library's version as major * 10000 + minor * 100 + patch."""
    return _version_number()


def status_name(status):
    """The static name of a status code, e.g. "WMF_ERR_CORRUPT"."""
    return _status_name(status).decode()


def last_error():
    """This thread's message of the most recent failed call ("" if none)."""
    return _last_error().decode("utf-8", "replace")


# ---- numpy arrays passed without copies -------------------------------------------------------------

P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
F32P = ctypes.POINTER(ctypes.c_float)
F64P = ctypes.POINTER(ctypes.c_double)
I32P = ctypes.POINTER(ctypes.c_int32)
U8P = ctypes.POINTER(ctypes.c_uint8)
SIZEP = ctypes.POINTER(ctypes.c_size_t)
_NP_SIZE = np.dtype(np.uintp)  # size_t


def as_input(array, dtype, name="array", ndim=None):
    """`array` as a C-contiguous numpy array of `dtype`, converted only when it is not one already (a
    float32 C-contiguous array is passed as it is). The caller keeps the result alive during the call."""
    a = np.asarray(array)
    if a.dtype != dtype and not np.can_cast(a.dtype, dtype, casting="same_kind"):
        raise TypeError(f"{name}: cannot use {a.dtype} as {np.dtype(dtype)}")
    a = np.ascontiguousarray(a, dtype=dtype)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {a.shape}")
    return a


def as_exact_f32(array, name="array", ndim=None):
    """`array` as a C-contiguous float32 array like as_input, for scores the library keeps in float32:
    a wider input (float64, int64, ...) is accepted only when float32 holds every value exactly, else
    ValueError names the first value that would change (AUCs of values float32 cannot tell apart would
    silently differ from sklearn's)."""
    a = np.asarray(array)
    out = as_input(a, np.float32, name, ndim)
    if a.dtype != np.float32 and a.dtype.kind in "fiub":
        back = out.astype(np.result_type(a.dtype, np.float64)) if a.dtype.kind != "b" else out.astype(bool)
        same = (back == a) | (np.isnan(back) & np.isnan(a) if a.dtype.kind == "f" else False)
        if not np.all(same):
            where = np.unravel_index(int(np.argmin(same)), a.shape) if a.ndim else ()
            raise ValueError(f"{name}: {a.dtype} value {a[where]!r} at {tuple(int(i) for i in where)} is not exact "
                             f"in float32, which this call computes in; round it yourself "
                             f"(np.asarray(x, np.float32)) to accept that")
    return out


def as_output(array, dtype, name="out"):
    """Checks that a caller's output array can be written in place by the library."""
    if not isinstance(array, np.ndarray) or array.dtype != dtype or not array.flags.c_contiguous \
            or not array.flags.writeable:
        raise ValueError(f"{name}: expected a writable C-contiguous {np.dtype(dtype)} numpy array")
    return array


def ptr(array, ctype):
    """A ctypes pointer of type `ctype` to a numpy array's data (None for None)."""
    return None if array is None else array.ctypes.data_as(ctype)


def path_arg(path):
    return os.fsencode(path)


# ---- .npy files: the library's reader and writer (wmf_npy_save_f32 / wmf_npy_load_f32) ----------------

_npy_save = fn("wmf_npy_save_f32", [ctypes.c_char_p, F32P, ctypes.c_size_t, ctypes.c_size_t])
_npy_load = fn("wmf_npy_load_f32", [F32P, ctypes.c_size_t, SIZEP, SIZEP, ctypes.c_char_p])


def save_npy(path, array):
    """Writes a 2-D float32 array (converted when it is another real type) as a .npy file, atomically,
    as wmfeat extract writes feature matrices; numpy.load reads it back."""
    a = as_input(array, np.float32, "array", 2)
    _npy_save(path_arg(path), ptr(a, F32P), a.shape[0], a.shape[1])


def load_npy(path):
    """Reads a 2-D float32 .npy file (as wmfeat probe reads feature matrices) into a new array."""
    rows, cols = ctypes.c_size_t(), ctypes.c_size_t()
    _npy_load(None, 0, ctypes.byref(rows), ctypes.byref(cols), path_arg(path))
    out = np.empty((rows.value, cols.value), np.float32)
    _npy_load(ptr(out, F32P), out.size, ctypes.byref(rows), ctypes.byref(cols), path_arg(path))
    return out


def getter(f, doc=None, convert=None):
    """A read-only property (a setter may be added with @name.setter) returning the C getter f(handle),
    passed through convert when given (bytes.decode for a C string)."""
    if convert is None:
        return property(lambda self: f(self), doc=doc)
    return property(lambda self: convert(f(self)), doc=doc)


def chained(f, *params, doc=None):
    """A setter method: its arguments, named by `params` (a name, or (name, default)), go to the C setter
    f(handle, ...) in that order, and it returns the handle so that calls chain. Positional and keyword
    calls bind as they would on a method written out (inspect.signature shows the parameters)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    sig = inspect.Signature([inspect.Parameter("self", kind)] + [
        inspect.Parameter(p[0], kind, default=p[1]) if isinstance(p, tuple) else inspect.Parameter(p, kind)
        for p in params])

    def method(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        f(*bound.args)
        return self

    method.__signature__ = sig
    method.__doc__ = doc
    return method


def c_string(value):
    return None if value is None else (value.encode() if isinstance(value, str) else bytes(value))


class Handle:
    """Base of every object wrapping an opaque handle: a context manager, freed on close() or when
    garbage-collected."""

    _destroy = None  # set by subclasses: the wmf_*_destroy function

    def __init__(self, ptr):
        self._ptr = ptr

    @classmethod
    def _make(cls, ctor, *args):
        """Calls a C constructor `ctor(&out, *args)` (it raises on failure) and wraps the new handle."""
        out = ctypes.c_void_p()
        ctor(ctypes.byref(out), *args)
        return cls(out)

    @property
    def _as_parameter_(self):
        if not self._ptr:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._ptr

    def close(self):
        if getattr(self, "_ptr", None):
            type(self)._destroy(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()
