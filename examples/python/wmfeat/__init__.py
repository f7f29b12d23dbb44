"""Python binding of libwmfeat through ctypes. Classes mirror the C API; every failing call raises
wmfeat.Error carrying wmf_last_error()."""
from ._lib import Error, version
from .image import BICUBIC, BILINEAR, IMAGENET, Image, Normalize

__all__ = ["Error", "version", "Image", "Normalize", "IMAGENET", "BILINEAR", "BICUBIC"]
