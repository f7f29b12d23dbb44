"""wmf_image: decode, wrap numpy arrays, resize, crop, preprocess like torchvision, save."""
import ctypes
import os

import numpy as np

from ._lib import Handle, fn, getter, init_options

_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_F32P = ctypes.POINTER(ctypes.c_float)


class Normalize(ctypes.Structure):
    _fields_ = [("mean", ctypes.c_float * 3), ("std", ctypes.c_float * 3)]

    def __eq__(self, other):
        return isinstance(other, Normalize) and list(self.mean) == list(other.mean) and list(self.std) == list(other.std)

    def __repr__(self):
        return f"Normalize(mean={tuple(self.mean)}, std={tuple(self.std)})"


IMAGENET = Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
INCEPTION = Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # efficientnet_v2_l's torchvision transforms
BILINEAR, BICUBIC = 0, 1
_GRAY8, _RGB8, _RGBA8 = 1, 3, 4

class DecodeOptions(ctypes.Structure):
    """wmf_decode_options: limits checked on the image header before any pixel is decoded."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("max_width", ctypes.c_uint32),
                ("max_height", ctypes.c_uint32), ("max_pixels", ctypes.c_uint64)]


_decode_options_init = fn("wmf_decode_options_init", [ctypes.POINTER(DecodeOptions), ctypes.c_size_t])
_load = fn("wmf_image_load", [_PP, ctypes.c_char_p, ctypes.POINTER(DecodeOptions)])
_decode = fn("wmf_image_decode", [_PP, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(DecodeOptions)])
_from_pixels = fn("wmf_image_from_pixels",
                  [_PP, _P, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_size_t, ctypes.c_int])
_create = fn("wmf_image_create",
             [_PP, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint8, ctypes.c_uint8, ctypes.c_uint8])
_clone = fn("wmf_image_clone", [_PP, _P])
_destroy = fn("wmf_image_destroy", [_P], None)
_width = fn("wmf_image_width", [_P], ctypes.c_uint32)
_height = fn("wmf_image_height", [_P], ctypes.c_uint32)
_pixels = fn("wmf_image_pixels", [_P], ctypes.POINTER(ctypes.c_uint8))
_resize = fn("wmf_image_resize", [_PP, _P, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_int])
_resize_shorter = fn("wmf_image_resize_shorter", [_PP, _P, ctypes.c_uint32, ctypes.c_int])
_center_crop = fn("wmf_image_center_crop", [_PP, _P, ctypes.c_uint32, ctypes.c_uint32])
_to_tensor = fn("wmf_image_to_tensor",
                [_P, ctypes.POINTER(Normalize), _F32P, ctypes.c_size_t, ctypes.c_size_t])
_preprocess = fn("wmf_preprocess", [_P, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(Normalize),
                                    _F32P, ctypes.c_size_t, ctypes.c_size_t])
_save = fn("wmf_image_save", [_P, ctypes.c_char_p, ctypes.c_int])


def _decode_options(limits):
    if not limits:
        return None
    return ctypes.byref(init_options(DecodeOptions, _decode_options_init, **limits))


def float_buffer(array):
    """(pointer, capacity in floats) of a C-contiguous float32 numpy array, without copying."""
    if array.dtype != np.float32 or not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError("expected a writable C-contiguous float32 array")
    return array.ctypes.data_as(_F32P), array.size


class Image(Handle):
    """An RGB8 image (wmf_image)."""

    _destroy = _destroy

    @staticmethod
    def load(path, **limits):
        """Decodes a JPEG, PNG, BMP, TGA or GIF file. `limits`: max_width, max_height, max_pixels
        (wmf_decode_options; the library's defaults otherwise)."""
        return Image._make(_load, os.fsencode(path), _decode_options(limits))

    @staticmethod
    def decode(data, **limits):
        """Like load() from bytes in memory."""
        data = bytes(data)
        return Image._make(_decode, data, len(data), _decode_options(limits))

    @staticmethod
    def create(width, height, color=(0, 0, 0)):
        return Image._make(_create, width, height, *color)

    @staticmethod
    def from_array(array):
        """From a uint8 array of shape (H, W), (H, W, 3) or (H, W, 4) (alpha dropped); copied."""
        a = np.asarray(array)
        if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
            raise ValueError("expected uint8 (H, W), (H, W, 3) or (H, W, 4)")
        a = np.ascontiguousarray(a)
        fmt = _GRAY8 if a.ndim == 2 else (_RGB8 if a.shape[2] == 3 else _RGBA8)
        return Image._make(_from_pixels, a.ctypes.data, a.shape[1], a.shape[0], a.strides[0], fmt)

    width = getter(_width)
    height = getter(_height)

    def to_array(self):
        """A copy of the pixels as a (H, W, 3) uint8 array."""
        n = self.height * self.width * 3
        buf = ctypes.cast(_pixels(self), ctypes.POINTER(ctypes.c_uint8 * n)).contents
        return np.frombuffer(buf, dtype=np.uint8).reshape(self.height, self.width, 3).copy()

    def clone(self):
        return Image._make(_clone, self)

    def resize(self, width, height, filter=BILINEAR):
        return Image._make(_resize, self, width, height, filter)

    def resize_shorter(self, size, filter=BILINEAR):
        return Image._make(_resize_shorter, self, size, filter)

    def center_crop(self, width, height):
        return Image._make(_center_crop, self, width, height)

    def to_tensor(self, out=None, slot=0, norm=IMAGENET):
        """Planar float (3, H, W) normalized; written into slot `slot` of `out` (N, 3, H, W) if given."""
        if out is None:
            out = np.empty((1, 3, self.height, self.width), np.float32)
        ptr, cap = float_buffer(out)
        _to_tensor(self, ctypes.byref(norm), ptr, cap, slot)
        return out

    def preprocess(self, resize=256, crop=224, out=None, slot=0, norm=IMAGENET):
        """torchvision's Resize(resize), CenterCrop(crop), ToTensor, Normalize into `out`[slot]."""
        if out is None:
            out = np.empty((1, 3, crop, crop), np.float32)
        ptr, cap = float_buffer(out)
        _preprocess(self, resize, crop, ctypes.byref(norm), ptr, cap, slot)
        return out

    def save(self, path, jpeg_quality=95):
        _save(self, os.fsencode(path), jpeg_quality)
