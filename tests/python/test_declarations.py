"""Every WMF_API function of the public headers is declared in the binding, with argtypes and restype
that match the C prototype (parsed from the headers), and status-returning functions raise."""
import ctypes
import pathlib
import re

import wmfeat
from wmfeat import _lib

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = ROOT / "include"

# Functions whose wmf_status the binding inspects itself (the status alone does not mean failure).
UNCHECKED = {"wmf_probe_train"}

SCALARS = {
    "size_t": ctypes.c_size_t, "uint32_t": ctypes.c_uint32, "int32_t": ctypes.c_int32,
    "uint64_t": ctypes.c_uint64, "int64_t": ctypes.c_int64, "uint8_t": ctypes.c_uint8,
    "int": ctypes.c_int, "double": ctypes.c_double, "float": ctypes.c_float,
}


def prototypes():
    """{name: (return type, [parameter types])} of every WMF_API function in include/."""
    found = {}
    for header in INCLUDE.rglob("*.h"):
        text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
        text = re.sub(r"//[^\n]*", "", text)
        for m in re.finditer(r"WMF_API\s+([^;(]*?)\b(wmf_\w+)\s*\(([^)]*)\)\s*;", text):
            params = [p.strip() for p in m.group(3).split(",")]
            if params == ["void"]:
                params = []
            found[m.group(2)] = (m.group(1).strip(), [_strip_name(p) for p in params])
    return found


def _strip_name(param):
    """The type of a parameter declaration: drops the trailing identifier."""
    return re.sub(r"\b\w+$", "", param.strip()).strip()


def _is_pointer_type(t):
    return t in (ctypes.c_void_p, ctypes.c_char_p) or (isinstance(t, type) and issubclass(t, ctypes._Pointer))


def expected_ok(ctype_text, actual, is_return=False):
    """True if the ctypes type `actual` fits the C type text."""
    stars = ctype_text.count("*")
    base = re.sub(r"\bconst\b|\*", " ", ctype_text).split()
    base = " ".join(base)
    if stars == 0:
        if base == "void":
            return is_return and actual is None
        if base in SCALARS:
            return actual is SCALARS[base]
        if base.startswith("wmf_"):  # wmf_status and the enums
            return actual is ctypes.c_int
        return False
    if not _is_pointer_type(actual):
        return False
    if stars >= 2:
        return actual is ctypes.POINTER(ctypes.c_void_p) or actual is ctypes.POINTER(ctypes.c_char_p)
    if base == "char":
        return actual is ctypes.c_char_p
    if base in SCALARS:
        return actual is ctypes.POINTER(SCALARS[base])
    if base == "void":  # c_char_p: read-only bytes input
        return actual is ctypes.c_void_p or (actual is ctypes.c_char_p and "const" in ctype_text)
    if base.startswith("wmf_"):  # handles and option / info structs
        return actual is ctypes.c_void_p or issubclass(actual._type_, ctypes.Structure)
    return False


def test_headers_parse():
    protos = prototypes()
    assert len(protos) > 80
    assert protos["wmf_audit_add"][1] == ["wmf_audit *", "size_t", "const float *", "const float *",
                                          "const float *", "const float *", "const int32_t *"]
    assert protos["wmf_version"] == ("const char *", [])


def test_every_function_is_declared():
    missing = sorted(set(prototypes()) - set(_lib.declared))
    assert not missing, f"WMF_API functions without a binding: {missing}"
    unknown = sorted(set(_lib.declared) - set(prototypes()))
    assert not unknown, f"bound functions not declared in the headers: {unknown}"


def test_types_match_the_prototypes():
    bad = []
    for name, (ret, params) in sorted(prototypes().items()):
        f = _lib.declared.get(name)
        if f is None:
            continue
        if len(f.argtypes) != len(params):
            bad.append(f"{name}: {len(f.argtypes)} argtypes for {len(params)} parameters")
            continue
        for i, (text, actual) in enumerate(zip(params, f.argtypes)):
            if not expected_ok(text, actual):
                bad.append(f"{name}: parameter {i} is {text!r}, bound as {actual}")
        if not expected_ok(ret, f.restype, is_return=True):
            bad.append(f"{name}: returns {ret!r}, bound as {f.restype}")
        if ret == "wmf_status" and name not in UNCHECKED and f.errcheck is None:
            bad.append(f"{name}: returns wmf_status but does not raise on failure")
    assert not bad, "\n".join(bad)


def test_version_and_status_names():
    assert wmfeat.version().count(".") == 2
    major, minor, patch = map(int, wmfeat.version().split("."))
    assert wmfeat.version_number() == major * 10000 + minor * 100 + patch
    assert wmfeat.status_name(-5) == "WMF_ERR_CORRUPT"
    assert wmfeat.status_name(0) == "WMF_OK"


def test_error_message_is_thread_local_and_clearable(tmp_path):
    import threading
    try:
        wmfeat.Image.load(tmp_path / "missing.png")
    except wmfeat.Error as e:
        assert "missing.png" in e.message
    assert "missing.png" in wmfeat.last_error()
    seen = []
    t = threading.Thread(target=lambda: seen.append(wmfeat.last_error()))
    t.start()
    t.join()
    assert seen == [""]
    wmfeat.clear_error()
    assert wmfeat.last_error() == ""
