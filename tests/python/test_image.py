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
def _small_images():
    """Small valid files of each format stb decodes, written by PIL: (name, bytes)."""
    import io
    rng = np.random.default_rng(1)
    rgb = PILImage.fromarray(rng.integers(0, 256, (13, 11, 3), dtype=np.uint8))
    out = []
    for name, fmt, kw in (("rgb.bmp", "BMP", {}), ("palette.bmp", "BMP", {"mode": "P"}),
                          ("rgb.tga", "TGA", {}), ("rle.tga", "TGA", {"compression": "tga_rle"}),
                          ("rgb.gif", "GIF", {"mode": "P"}), ("rgb.png", "PNG", {}),
                          ("rgb.jpg", "JPEG", {"quality": 90}), ("prog.jpg", "JPEG", {"progressive": True})):
        mode = kw.pop("mode", None)
        im = rgb.convert(mode) if mode else rgb
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        out.append((name, b.getvalue()))
    return out


def _pil_rgb(data):
    """PIL's pixels, or None when PIL (LOAD_TRUNCATED_IMAGES off, its default) refuses the data."""
    import io
    from PIL import ImageFile
    assert not ImageFile.LOAD_TRUNCATED_IMAGES
    try:
        with PILImage.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except Exception:
        return None


@pytest.mark.parametrize("name,data", _small_images(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_truncation_fails_or_matches_pil(name, data):
    """Issue 11 item 8: truncated BMP, TGA and GIF files loaded as WMF_OK, some with uninitialized heap
    bytes as pixels. Every prefix of a small valid file must now fail with WMF_ERR_CORRUPT (or be
    unrecognizable: WMF_ERR_UNSUPPORTED) unless PIL loads it too, and then the pixels must agree."""
    full = _pil_rgb(data)
    with wmfeat.Image.decode(data) as img:  # the whole file loads, like PIL
        got = img.to_array()
    tol = 0 if name.endswith((".bmp", ".tga", ".gif", ".png")) else 3
    assert got.shape == full.shape and np.abs(got.astype(int) - full).max() <= tol
    for cut in range(1, len(data)):
        ref = _pil_rgb(data[:cut])
        try:
            with wmfeat.Image.decode(data[:cut]) as img:
                got = img.to_array()
        except wmfeat.Error as e:
            assert e.name in ("WMF_ERR_CORRUPT", "WMF_ERR_UNSUPPORTED"), (cut, str(e))
            continue
        assert ref is not None, "%s cut at %d of %d bytes loads, PIL refuses it" % (name, cut, len(data))
        assert got.shape == ref.shape and np.abs(got.astype(int) - ref).max() <= tol, (name, cut)


def test_top_down_bmp_matches_pil():
    """A BMP with a negative height stores its rows top-down; PIL reads it, and so must we."""
    import struct
    rng = np.random.default_rng(2)
    w, h = 5, 3
    px = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    stride = (w * 3 + 3) & ~3
    rows = b"".join(px[y, :, ::-1].tobytes() + b"\0" * (stride - w * 3) for y in range(h))  # BGR, top row first
    info = struct.pack("<IiiHHIIiiII", 40, w, -h, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
    data = b"BM" + struct.pack("<IHHI", 14 + 40 + len(rows), 0, 0, 14 + 40) + info + rows
    ref = _pil_rgb(data)
    assert ref is not None and np.array_equal(ref, px)
    with wmfeat.Image.decode(data) as img:
        assert np.array_equal(img.to_array(), px)


def _jpeg(progressive, size=(64, 48)):
    import io
    rng = np.random.default_rng(3)
    b = io.BytesIO()
    PILImage.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
        b, "JPEG", quality=90, progressive=progressive)
    return b.getvalue()


def _segments(data):
    """(marker, start, end) of each marker segment up to the first scan's header; entropy data not split."""
    out, pos = [], 2
    while pos < len(data):
        m = data[pos + 1]
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        out.append((m, pos, pos + 2 + length))
        if m == 0xDA:
            break
        pos += 2 + length
    return out


def test_jpeg_without_a_scan_is_corrupt():
    """Issue 11 item 8: tables and a frame header but no scan (SOS) decoded as WMF_OK from never-written
    (uninitialized) sample buffers. PIL refuses it too."""
    data = _jpeg(False)
    sos = [s for s in _segments(data) if s[0] == 0xDA][0]
    no_scan = data[:sos[1]] + b"\xff\xd9"
    assert _pil_rgb(no_scan) is None
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Image.decode(no_scan)
    assert e.value.name == "WMF_ERR_CORRUPT" and "no scan" in str(e.value)


def test_jpeg_scan_limit():
    """Issue 11 item 10: every scan is a pass over the image, and stb has no bound (a 121 KB file of
    thousands of empty scans took a minute). Up to 256 scans decode; more are WMF_ERR_LIMIT."""
    data = _jpeg(True)
    segs = _segments(data)
    first_scan = segs[-1]
    # a progressive file's own scans decode (PIL writes 10 for colour)
    with wmfeat.Image.decode(data) as img:
        assert img.to_array().shape == (48, 64, 3)
    # the first DC scan header again with no entropy data: each copy is one more (empty) scan
    dc_header = data[first_scan[1]:first_scan[2]]
    assert dc_header[:2] == b"\xff\xda"
    n_scans = data.count(b"\xff\xda")
    for extra, ok in ((256 - n_scans, True), (257 - n_scans, False), (3000, False)):
        forged = data[:-2] + dc_header * extra + b"\xff\xd9"
        if ok:
            with wmfeat.Image.decode(forged):
                pass
        else:
            with pytest.raises(wmfeat.Error) as e:
                wmfeat.Image.decode(forged)
            assert e.value.name == "WMF_ERR_LIMIT" and "more than 256 scans" in str(e.value)
