"""Loading libwmfeat and turning statuses into exceptions.

The library is found through, in order: the WMFEAT_LIBRARY environment variable (a path to
libwmfeat.so.1), the build tree this file sits in (build*/lib/), and the system's search path.
ctypes.CDLL releases the GIL around every call, so long calls (forward passes, audits) let other
Python threads run.
"""
import ctypes
import ctypes.util
import os
import pathlib

_HERE = pathlib.Path(__file__).resolve().parent


def _candidates():
    env = os.environ.get("WMFEAT_LIBRARY")
    if env:
        yield env
        return
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


lib.wmf_status_name.argtypes = [ctypes.c_int]
lib.wmf_status_name.restype = ctypes.c_char_p
lib.wmf_last_error.argtypes = []
lib.wmf_last_error.restype = ctypes.c_char_p
lib.wmf_version.argtypes = []
lib.wmf_version.restype = ctypes.c_char_p


def _errcheck(result, func, args):
    if result < 0:
        raise Error(result, lib.wmf_status_name(result).decode(),
                    lib.wmf_last_error().decode("utf-8", "replace"))
    return result


def fn(name, argtypes, restype=ctypes.c_int):
    """Declares a library function; functions returning wmf_status raise Error on failure."""
    f = getattr(lib, name)
    f.argtypes = argtypes
    f.restype = restype
    if restype is ctypes.c_int:
        f.errcheck = _errcheck
    return f


def version():
    return lib.wmf_version().decode()


class Handle:
    """Base of every object wrapping an opaque handle: a context manager, freed on close() or when
    garbage-collected."""

    _destroy = None  # set by subclasses: the wmf_*_destroy function

    def __init__(self, ptr):
        self._ptr = ptr

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
