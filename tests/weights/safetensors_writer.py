"""A small safetensors writer (Debian has no `safetensors` package).

    import sys; sys.path.insert(0, "<source>/tests/weights")
    from safetensors_writer import save_file
    save_file({"conv1.weight": tensor, ...}, "model.safetensors", metadata={"format": "pt"})

Values may be torch tensors or numpy arrays. Tensors are written C-contiguous, little-endian, in the
order given, with data_offsets tiling the byte buffer exactly (as the format requires).
"""
import json
import struct

import numpy as np

_NUMPY_DTYPES = {
    np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("float64"): "F64",
    np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("int16"): "I16",
    np.dtype("int8"): "I8", np.dtype("uint8"): "U8", np.dtype("bool"): "BOOL",
}


def _dtype_and_bytes(value):
    """(safetensors dtype string, shape list, raw little-endian bytes) of a tensor or array."""
    try:
        import torch
    except ImportError:  # numpy-only use
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        shape = list(t.shape)
        if t.dtype == torch.bfloat16:
            return "BF16", shape, t.view(torch.int16).numpy().astype("<i2").tobytes()
        value = t.numpy()
    a = np.ascontiguousarray(value)
    if a.dtype not in _NUMPY_DTYPES and a.dtype.newbyteorder("=") not in _NUMPY_DTYPES:
        raise TypeError(f"unsupported dtype {a.dtype}")
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return _NUMPY_DTYPES[a.dtype.newbyteorder("=")], list(a.shape), a.tobytes()


def serialize(tensors, metadata=None):
    """The bytes of a safetensors file holding `tensors` (a name -> tensor mapping)."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, value in tensors.items():
        dtype, shape, raw = _dtype_and_bytes(value)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # pad so the data buffer starts 8-byte aligned, as the reference does
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def save_file(tensors, path, metadata=None):
    """Writes `tensors` (name -> torch tensor or numpy array) to `path` as safetensors."""
    with open(path, "wb") as f:
        f.write(serialize(tensors, metadata))
