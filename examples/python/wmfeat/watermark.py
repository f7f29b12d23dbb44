"""wmf_font and wmf_watermark: fonts, watermark recipes, the published presets, drawing onto images."""
import ctypes
import enum
from collections import namedtuple

import numpy as np

from ._lib import PP, U8P, P, Error, Handle, as_input, c_string, fn, path_arg, ptr

_SIZE = ctypes.c_size_t
_U8 = ctypes.c_uint8
_F = ctypes.c_float
_D = ctypes.c_double


class Placement(enum.IntEnum):
    """wmf_placement: where the mark goes."""
    FIXED = 0
    RANDOM = 1
    TILED = 2


Draw = namedtuple("Draw", "text size x y")
Draw.__doc__ = "What apply draws for a size and seed: text, font size in pixels, anchor point."

_font_open = fn("wmf_font_open", [PP, ctypes.c_char_p, ctypes.c_int])
_font_find = fn("wmf_font_find", [PP, ctypes.c_char_p])
_font_destroy = fn("wmf_font_destroy", [P], None)
_font_family = fn("wmf_font_family", [P], ctypes.c_char_p)
_font_style = fn("wmf_font_style", [P], ctypes.c_char_p)
_font_path = fn("wmf_font_path", [P], ctypes.c_char_p)
_font_face_index = fn("wmf_font_face_index", [P], ctypes.c_int, check=False)

_create = fn("wmf_watermark_create", [PP])
_from_preset = fn("wmf_watermark_from_preset", [PP, ctypes.c_char_p])
_destroy = fn("wmf_watermark_destroy", [P], None)
_preset_count = fn("wmf_watermark_preset_count", [], _SIZE)
_preset_name = fn("wmf_watermark_preset_name", [_SIZE], ctypes.c_char_p)
_preset_describe = fn("wmf_watermark_preset_describe", [ctypes.c_char_p], ctypes.c_char_p)
_set_text = fn("wmf_watermark_set_text", [P, ctypes.c_char_p])
_set_pool = fn("wmf_watermark_set_pool", [P, ctypes.c_char_p, ctypes.c_uint32])
_set_font = fn("wmf_watermark_set_font", [P, P])
_set_fallback = fn("wmf_watermark_set_fallback", [P, ctypes.c_int])
_set_shaping = fn("wmf_watermark_set_shaping", [P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int])
_set_size = fn("wmf_watermark_set_size", [P, _F])
_set_size_relative = fn("wmf_watermark_set_size_relative", [P, _F])
_set_color = fn("wmf_watermark_set_color", [P, _U8, _U8, _U8])
_set_opacity = fn("wmf_watermark_set_opacity", [P, _F])
_set_position = fn("wmf_watermark_set_position", [P, _D, _D, ctypes.c_char_p])
_set_random_position = fn("wmf_watermark_set_random_position", [P])
_set_tiled = fn("wmf_watermark_set_tiled", [P, _F, _F, _F])
_set_rotation = fn("wmf_watermark_set_rotation", [P, _F])
_set_letter_spacing = fn("wmf_watermark_set_letter_spacing", [P, _F])
_set_line_spacing = fn("wmf_watermark_set_line_spacing", [P, _F])
_set_outline = fn("wmf_watermark_set_outline", [P, _F, _U8, _U8, _U8])
_set_shadow = fn("wmf_watermark_set_shadow", [P, ctypes.c_int, ctypes.c_int, _U8, _U8, _U8, _F])
_add_logo = fn("wmf_watermark_add_logo",
               [P, U8P, ctypes.c_uint32, ctypes.c_uint32, _SIZE, _F, _D, _D, _F])
_apply = fn("wmf_watermark_apply", [P, P, ctypes.c_uint64])
_recipe = fn("wmf_watermark_recipe", [ctypes.c_char_p, _SIZE, ctypes.POINTER(_SIZE), P])
_coverage = fn("wmf_watermark_coverage", [P, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint64, U8P, _SIZE])
_describe_draw = fn("wmf_watermark_describe_draw",
                    [P, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_char_p, _SIZE,
                     ctypes.POINTER(_F), ctypes.POINTER(_D), ctypes.POINTER(_D)])


def _text(value):
    return "" if value is None else value.decode("utf-8", "replace")


class Font(Handle):
    """A font face (wmf_font); may be shared by threads. Recipes keep their own reference."""

    _destroy = _font_destroy

    @staticmethod
    def open(path, face_index=0):
        """Face `face_index` of a font file (.ttf, .otf, .ttc)."""
        return Font._make(_font_open, path_arg(path), face_index)

    @staticmethod
    def find(pattern):
        """A font by fontconfig pattern, e.g. "Noto Serif CJK SC:style=ExtraLight"; never a substitute."""
        return Font._make(_font_find, c_string(pattern))

    @property
    def family(self):
        return _text(_font_family(self))

    @property
    def style(self):
        return _text(_font_style(self))

    @property
    def path(self):
        return _text(_font_path(self))

    @property
    def face_index(self):
        return _font_face_index(self)


def presets():
    """Names of the built-in presets ("imagenet-w", "mmw-chinese", ...)."""
    return [_preset_name(i).decode() for i in range(_preset_count())]


def describe_preset(name):
    """A paragraph listing a preset's parameters, or None for an unknown name."""
    text = _preset_describe(c_string(name))
    return None if text is None else text.decode()


class Watermark(Handle):
    """A watermark recipe (wmf_watermark). Setters return the recipe, so calls chain; they must not
    run while other threads apply it. apply() may run from several threads at once."""

    _destroy = _destroy

    @staticmethod
    def create():
        """An empty recipe: 30 px white text, opacity 1, fixed at (0, 0); set text and font."""
        return Watermark._make(_create)

    @staticmethod
    def from_preset(name):
        """A recipe from a preset name (see presets()); its fonts are found by fontconfig."""
        return Watermark._make(_from_preset, c_string(name))

    def set_text(self, text):
        _set_text(self, c_string(text))
        return self

    def set_pool(self, pool, count):
        """Random text: `count` characters drawn from `pool` by the seed."""
        _set_pool(self, c_string(pool), count)
        return self

    def set_font(self, font):
        _set_font(self, font)
        return self

    def set_fallback(self, allow):
        _set_fallback(self, 1 if allow else 0)
        return self

    def set_shaping(self, language=None, script=None, direction="auto"):
        """Language (BCP 47), script (ISO 15924) and paragraph direction ("auto", "ltr", "rtl");
        None / "auto" = detected."""
        d = {"auto": 0, "ltr": 1, "rtl": 2}[direction]
        _set_shaping(self, None if language is None else c_string(language),
                     None if script is None else c_string(script), d)
        return self

    def set_size(self, pixels):
        _set_size(self, pixels)
        return self

    def set_size_relative(self, fraction):
        """Size = round(fraction * min(W, H)) at apply time (ImageNet-W: 1 / 6.22)."""
        _set_size_relative(self, fraction)
        return self

    def set_color(self, r, g, b):
        _set_color(self, r, g, b)
        return self

    def set_opacity(self, opacity):
        _set_opacity(self, opacity)
        return self

    def set_position(self, fx, fy, anchor="la"):
        """Fixed placement: anchor point (fx * W, fy * H) with PIL's two-letter anchor."""
        _set_position(self, fx, fy, c_string(anchor))
        return self

    def set_random_position(self):
        """Mark My Words placement, drawn from the seed."""
        _set_random_position(self)
        return self

    def set_tiled(self, angle_degrees=0.0, gap_x=0.5, gap_y=0.5):
        _set_tiled(self, angle_degrees, gap_x, gap_y)
        return self

    def set_rotation(self, degrees):
        _set_rotation(self, degrees)
        return self

    def set_letter_spacing(self, pixels):
        _set_letter_spacing(self, pixels)
        return self

    def set_line_spacing(self, pixels):
        _set_line_spacing(self, pixels)
        return self

    def set_outline(self, width, r=0, g=0, b=0):
        _set_outline(self, width, r, g, b)
        return self

    def set_shadow(self, dx, dy, r=0, g=0, b=0, opacity=0.5):
        _set_shadow(self, dx, dy, r, g, b, opacity)
        return self

    def add_logo(self, rgba, scale, fx, fy, opacity=0.9):
        """Adds an RGBA logo, a uint8 (H, W, 4) array (copied by the library), scale * W pixels wide,
        top-left at (fx * W, fy * H), alpha times `opacity`."""
        a = as_input(rgba, np.uint8, "rgba", 3)
        if a.shape[2] != 4:
            raise ValueError(f"rgba: expected shape (H, W, 4), got {a.shape}")
        _add_logo(self, ptr(a, U8P), a.shape[1], a.shape[0], a.strides[0], scale, fx, fy, opacity)
        return self

    def apply(self, image, seed=0):
        """Draws the mark onto `image` (an Image) in place; deterministic in (recipe, size, seed).
        Returns the image."""
        _apply(self, image, seed)
        return image

    def coverage(self, width, height, seed=0):
        """The mark's alpha (0..255) per pixel of a width x height image, as a uint8 (H, W) array."""
        out = np.empty((height, width), np.uint8)
        _coverage(self, width, height, seed, ptr(out, U8P), out.size)
        return out

    def recipe(self):
        """Every parameter of the recipe as one canonical line (the "recipe" provenance field of an
        audit, docs/audit.md): recipes that draw differently give different lines."""
        length = _SIZE()
        try:
            _recipe(None, 0, ctypes.byref(length), self)  # asks for the length
        except Error as e:
            if e.name != "WMF_ERR_BUFFER_TOO_SMALL":
                raise
        buf = ctypes.create_string_buffer(length.value + 1)
        _recipe(buf, length.value + 1, None, self)
        return buf.value.decode()

    def describe_draw(self, width, height, seed=0):
        """Draw(text, size, x, y): what apply draws for this size and seed."""
        size, x, y = _F(), _D(), _D()
        capacity = 1024
        while True:
            buf = ctypes.create_string_buffer(capacity)
            try:
                _describe_draw(self, width, height, seed, buf, capacity, ctypes.byref(size),
                               ctypes.byref(x), ctypes.byref(y))
                return Draw(buf.value.decode(), size.value, x.value, y.value)
            except Error as e:
                if e.name != "WMF_ERR_BUFFER_TOO_SMALL" or capacity >= 1 << 20:
                    raise
                capacity *= 16
