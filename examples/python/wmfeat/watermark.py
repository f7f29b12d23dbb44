"""wmf_font and wmf_watermark: fonts, watermark recipes, the published presets, drawing onto images."""
import ctypes
import enum
from collections import namedtuple

import numpy as np

from ._lib import PP, U8P, P, Error, Handle, as_input, c_string, chained, fn, getter, path_arg, ptr

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
_add_logo_at = fn("wmf_watermark_add_logo_at",
                  [P, U8P, ctypes.c_uint32, ctypes.c_uint32, _SIZE, ctypes.c_int32, ctypes.c_int32, _D])
_add_logo_file = fn("wmf_watermark_add_logo_file", [P, ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32, _D])
_set_logo_file = fn("wmf_watermark_set_logo_file", [P, _SIZE, ctypes.c_char_p])
_logo_count = fn("wmf_watermark_logo_count", [P], _SIZE, check=False)
_set_anchor = fn("wmf_watermark_set_anchor", [P, ctypes.c_char_p])
_set_dotted_circle = fn("wmf_watermark_set_dotted_circle", [P, ctypes.c_int])
_set_font_metrics = fn("wmf_watermark_set_font_metrics", [P, _F, _F])
_set_size_imagenet_w = fn("wmf_watermark_set_size_imagenet_w", [P])
_set_reference_size = fn("wmf_watermark_set_reference_size", [P, ctypes.c_uint32])
_reference_size = fn("wmf_watermark_reference_size", [P], ctypes.c_uint32, check=False)
_set_jpeg_quality = fn("wmf_watermark_set_jpeg_quality", [P, ctypes.c_int])
_jpeg_quality = fn("wmf_watermark_jpeg_quality", [P], ctypes.c_int, check=False)
_apply_draw = fn("wmf_watermark_apply_draw", [P, P, ctypes.c_char_p, _D, _D])
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

    family = getter(_font_family, convert=_text)
    style = getter(_font_style, convert=_text)
    path = getter(_font_path, convert=_text)
    face_index = getter(_font_face_index)


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

    set_font = chained(_set_font, "font")

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

    set_size = chained(_set_size, "pixels")
    set_size_relative = chained(_set_size_relative, "fraction",
                                doc="Size = round(fraction * S) at apply time, S the reference size or min(W, H).")
    set_size_imagenet_w = chained(_set_size_imagenet_w,
                                  doc="ImageNet-W's AddWatermark(S) font size: {224: 36, 384: 62, 512: 82, "
                                      "518: 84}[S], else int(S / 6.22), S the reference size or each image's "
                                      "shorter side.")

    reference_size = getter(_reference_size, "The crop size relative sizes use (0 = each image's shorter side); set it "
                            "to the crop of your pipeline (AddWatermark(crop_size)).")

    @reference_size.setter
    def reference_size(self, size):
        _set_reference_size(self, size)

    set_reference_size = chained(_set_reference_size, "size")

    jpeg_quality = getter(_jpeg_quality, "JPEG re-save after drawing (0 = off; the Mark My Words presets use 75).")

    @jpeg_quality.setter
    def jpeg_quality(self, quality):
        _set_jpeg_quality(self, quality)

    set_jpeg_quality = chained(_set_jpeg_quality, "quality")

    def set_dotted_circle(self, insert):
        """Show a mark without a base on U+25CC (True, PIL with such a font) or alone (False)."""
        _set_dotted_circle(self, 1 if insert else 0)
        return self

    set_font_metrics = chained(_set_font_metrics, "ascender_em", "descender_em",
                               doc="Override the font's ascender / descender (em) for anchors and getsize; "
                                   "(0, 0) = the font's.")

    def set_anchor(self, anchor):
        """PIL's two-letter anchor for fixed and random placement, keeping the placement."""
        _set_anchor(self, c_string(anchor))
        return self

    set_color = chained(_set_color, "r", "g", "b")
    set_opacity = chained(_set_opacity, "opacity")

    def set_position(self, fx, fy, anchor="la"):
        """Fixed placement: anchor point (fx * W, fy * H) with PIL's two-letter anchor."""
        _set_position(self, fx, fy, c_string(anchor))
        return self

    set_random_position = chained(_set_random_position, doc="Mark My Words placement, drawn from the seed.")
    set_tiled = chained(_set_tiled, ("angle_degrees", 0.0), ("gap_x", 0.5), ("gap_y", 0.5))
    set_rotation = chained(_set_rotation, "degrees")
    set_letter_spacing = chained(_set_letter_spacing, "pixels")
    set_line_spacing = chained(_set_line_spacing, "pixels")
    set_outline = chained(_set_outline, "width", ("r", 0), ("g", 0), ("b", 0))
    set_shadow = chained(_set_shadow, "dx", "dy", ("r", 0), ("g", 0), ("b", 0), ("opacity", 0.5))

    def add_logo(self, rgba, scale, fx, fy, opacity=0.9):
        """Adds an RGBA logo, a uint8 (H, W, 4) array (copied by the library), scale * W pixels wide,
        top-left at (fx * W, fy * H), alpha times `opacity`."""
        a = as_input(rgba, np.uint8, "rgba", 3)
        if a.shape[2] != 4:
            raise ValueError(f"rgba: expected shape (H, W, 4), got {a.shape}")
        _add_logo(self, ptr(a, U8P), a.shape[1], a.shape[0], a.strides[0], scale, fx, fy, opacity)
        return self

    def add_logo_at(self, rgba, x, y, opacity=0.9):
        """Adds an RGBA logo (uint8 (H, W, 4) array, copied) pasted at its own size with its top-left at
        pixel (x, y), alpha int(a * opacity), as CH_datasets' PastePoisoner."""
        a = as_input(rgba, np.uint8, "rgba", 3)
        if a.shape[2] != 4:
            raise ValueError(f"rgba: expected shape (H, W, 4), got {a.shape}")
        _add_logo_at(self, ptr(a, U8P), a.shape[1], a.shape[0], a.strides[0], x, y, opacity)
        return self

    def add_logo_file(self, path, x, y, opacity=0.9):
        """add_logo_at() with a PNG file's pixels and alpha."""
        _add_logo_file(self, path_arg(path), x, y, opacity)
        return self

    def set_logo_file(self, index, path):
        """Replaces logo `index`'s pixels by a file's (ch-logo: 0 = carton_logo4.png, 1 = alibaba_logo2.png)."""
        _set_logo_file(self, index, path_arg(path))
        return self

    logo_count = getter(_logo_count)

    def apply_draw(self, image, text, x, y):
        """Draws the recipe once with `text` (None = the fixed text) anchored at pixel (x, y) instead of
        the seeded draw (all else as apply, JPEG step included). Returns the image."""
        _apply_draw(self, image, None if text is None else c_string(text), x, y)
        return image

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
