import ctypes

import numpy as np
import pytest
from PIL import Image as PILImage

import wmfeat

PHOTO = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"


def test_load_matches_pil():
    with wmfeat.Image.load(PHOTO) as img:
        ref = np.asarray(PILImage.open(PHOTO).convert("RGB"))
        assert (img.height, img.width) == ref.shape[:2]
        assert np.array_equal(img.to_array(), ref)


def test_from_array_gray_rgba_and_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    with wmfeat.Image.from_array(rgb) as img:
        assert np.array_equal(img.to_array(), rgb)
        img.save(tmp_path / "x.png")
    with wmfeat.Image.load(tmp_path / "x.png") as back:
        assert np.array_equal(back.to_array(), rgb)
    gray = rgb[..., 0].copy()
    with wmfeat.Image.from_array(gray) as img:
        assert np.array_equal(img.to_array(), np.repeat(gray[..., None], 3, axis=2))
    rgba = np.concatenate([rgb, np.full((17, 23, 1), 7, np.uint8)], axis=2)
    with wmfeat.Image.from_array(rgba) as img:
        assert np.array_equal(img.to_array(), rgb)


def test_preprocess_writes_into_a_batch_slot_without_copy():
    batch = np.zeros((3, 3, 224, 224), np.float32)
    with wmfeat.Image.load(PHOTO) as img:
        out = img.preprocess(256, 224, out=batch, slot=1)
    assert out is batch
    assert np.all(batch[0] == 0) and np.all(batch[2] == 0)
    assert np.abs(batch[1]).mean() > 0.1


def test_errors_raise_with_message(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Image.load(bad)
    assert e.value.name == "WMF_ERR_CORRUPT" and "bad.png" in str(e.value)
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Image.load(tmp_path / "missing.png")
    assert e.value.name == "WMF_ERR_IO"
    with wmfeat.Image.create(8, 8) as img:
        with pytest.raises(wmfeat.Error) as e:
            img.preprocess(8, 8, out=np.zeros((1, 3, 4, 4), np.float32))
        assert e.value.name == "WMF_ERR_BUFFER_TOO_SMALL"
    img = wmfeat.Image.create(4, 4)
    img.close()
    # ctypes wraps the binding's ValueError when it converts the closed handle
    with pytest.raises((ValueError, ctypes.ArgumentError), match="closed"):
        img.width


def test_decode_limits_through_options_init(tmp_path):
    """Image.load/decode take wmf_decode_options limits; the struct is filled by
    wmf_decode_options_init (the library's defaults and struct_size), not by hand."""
    opts = wmfeat.DecodeOptions()
    wmfeat.image._decode_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
    assert (opts.struct_size, opts.max_width, opts.max_height, opts.max_pixels) == \
        (ctypes.sizeof(opts), 16384, 16384, 64 * 1024 * 1024)
    with wmfeat.Image.create(6, 4) as img:
        img.save(tmp_path / "x.png")
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Image.load(tmp_path / "x.png", max_width=5)
    assert e.value.name == "WMF_ERR_LIMIT"
    with wmfeat.Image.load(tmp_path / "x.png", max_width=6, max_pixels=24) as img:
        assert img.width == 6
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Image.decode((tmp_path / "x.png").read_bytes(), max_pixels=23)
    assert e.value.name == "WMF_ERR_LIMIT"
    with pytest.raises(TypeError):
        wmfeat.Image.load(tmp_path / "x.png", struct_size=4)
