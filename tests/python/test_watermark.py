import threading

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

import wmfeat
from wmfeat import Font, Image, Watermark

PHOTO = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"


def crop224():
    with Image.load(PHOTO) as img, img.resize_shorter(256) as r:
        return r.center_crop(224, 224)


def test_presets_and_fonts():
    names = wmfeat.presets()
    assert "imagenet-w" in names and "mmw-latin" in names
    assert "6.22" in wmfeat.describe_preset("imagenet-w")
    assert wmfeat.describe_preset("nope") is None
    with Font.find("Noto Serif CJK SC:style=ExtraLight") as f:
        assert f.family == "Noto Serif CJK SC" and f.style == "ExtraLight"
        assert f.path.endswith(".ttc") and f.face_index >= 0
        with Font.open(f.path, f.face_index) as g:
            assert g.family == f.family


def test_imagenet_w_matches_pil():
    img = crop224()
    before = img.to_array()
    with Watermark.from_preset("imagenet-w") as wm:
        draw = wm.describe_draw(224, 224)
        assert draw.text == "捷径捷径捷径" and draw.size == 36
        assert wm.apply(img) is img
    font_file = Font.find("Noto Serif CJK SC:style=ExtraLight")
    font = ImageFont.truetype(font_file.path, 36, index=font_file.face_index)
    base = PILImage.fromarray(before).convert("RGBA")
    layer = PILImage.new("RGBA", base.size, (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((0.01 * 224, 0.4 * 224), "捷径捷径捷径", fill=(255, 255, 255, 127),
                               font=font, anchor="la")
    ref = np.asarray(PILImage.alpha_composite(base, layer).convert("RGB"))
    got = img.to_array()
    assert not np.array_equal(got, before)
    assert np.array_equal(got, ref)


def test_mark_my_words_draw_reproduces_with_pil_and_seed_decides():
    with Watermark.from_preset("mmw-latin") as wm:
        a = wm.describe_draw(224, 224, seed=5)
        assert a == wm.describe_draw(224, 224, seed=5)
        assert a != wm.describe_draw(224, 224, seed=6)
        assert len(a.text) == 7 and set(a.text) <= set("IEAUTSRNOMCLPDBQGVFH")
        img = Image.create(224, 224, (20, 40, 60))
        wm.apply(img, seed=5)
    f = Font.find("Liberation Sans")
    ref = PILImage.new("RGB", (224, 224), (20, 40, 60))
    ImageDraw.Draw(ref).text((a.x, a.y), a.text, fill=(255, 255, 255),
                             font=ImageFont.truetype(f.path, int(a.size), index=f.face_index), anchor="ls")
    assert np.array_equal(img.to_array(), np.asarray(ref))


def test_coverage_marks_the_changed_pixels():
    with Watermark.from_preset("imagenet-w") as wm:
        cov = wm.coverage(224, 224)
        assert cov.dtype == np.uint8 and cov.shape == (224, 224)
        img = Image.create(224, 224)
        wm.apply(img)
        changed = img.to_array().any(axis=2)
        assert np.array_equal(changed, cov > 0)
        assert cov.max() <= 127


def test_recipe_setters_chain_and_logo():
    logo = np.zeros((8, 8, 4), np.uint8)
    logo[..., 0] = 255
    logo[..., 3] = 255
    wm = Watermark.create().add_logo(logo, 0.25, 0.0, 0.0, opacity=1.0)
    img = wm.apply(Image.create(64, 64, (0, 0, 255)))
    px = img.to_array()
    assert np.array_equal(px[:16, :16], np.broadcast_to([255, 0, 0], (16, 16, 3)))
    assert np.array_equal(px[20:, 20:], np.broadcast_to([0, 0, 255], (44, 44, 3)))
    f = Font.find("Liberation Sans")
    wm2 = (Watermark.create().set_text("Hi\nthere").set_font(f).set_size(20).set_color(255, 0, 0)
           .set_opacity(0.8).set_position(0.5, 0.5, "mm").set_rotation(15).set_outline(1, 0, 0, 0)
           .set_shadow(2, 2).set_letter_spacing(1).set_line_spacing(2).set_fallback(False))
    f.close()  # the recipe keeps its own reference
    assert wm2.coverage(100, 100).sum() > 0
    tiled = Watermark.create().set_text("©").set_font(Font.find("Liberation Sans")).set_tiled(30, 0.5, 0.5)
    assert (tiled.coverage(100, 100) > 0).mean() > 0.02
    pool = Watermark.create().set_pool("AB", 5).set_font(Font.find("Liberation Sans")).set_random_position()
    assert set(pool.describe_draw(100, 100, 1).text) <= {"A", "B"}
    assert Watermark.create().set_size_relative(0.25).set_text("x").set_font(Font.find("Liberation Sans")) \
        .describe_draw(200, 100).size == 25


def test_apply_from_threads_equals_sequential():
    wm = Watermark.from_preset("mmw-chinese")
    seq = []
    for seed in range(8):
        img = Image.create(96, 96)
        seq.append(wm.apply(img, seed).to_array())
    results = [None] * 8

    def work(seed):
        img = Image.create(96, 96)
        results[seed] = wm.apply(img, seed).to_array()
    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(a, b) for a, b in zip(seq, results))


def test_errors():
    with pytest.raises(wmfeat.Error) as e:
        Watermark.from_preset("no-such-preset")
    assert e.value.name == "WMF_ERR_NOT_FOUND" and "no-such-preset" in e.value.message
    with pytest.raises(wmfeat.Error) as e:
        Font.find("No Such Font Family Anywhere")
    assert e.value.name == "WMF_ERR_FONT"
    with pytest.raises(wmfeat.Error) as e:
        Watermark.create().apply(Image.create(8, 8))
    assert e.value.name == "WMF_ERR_STATE"
    with pytest.raises(wmfeat.Error) as e:
        Watermark.create().set_opacity(2.0)
    assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
    with pytest.raises(wmfeat.Error) as e:
        Watermark.create().set_text(b"\xff\xfe")
    assert e.value.name == "WMF_ERR_UTF8"
    with pytest.raises(ValueError):
        Watermark.create().add_logo(np.zeros((4, 4, 3), np.uint8), 0.5, 0, 0)


def test_recipe_names_every_parameter():
    with Watermark.from_preset("imagenet-w") as wm:
        r = wm.recipe()
        assert r.startswith('text="捷径捷径捷径"') and "opacity=0.5" in r and "color=ffffff" in r
        assert "font=\"Noto Serif CJK SC:ExtraLight#" in r
        wm.set_opacity(0.4)
        r2 = wm.recipe()
        assert "opacity=0.4" in r2 and r2 != r
    names = wmfeat.presets()
    recipes = set()
    for name in names:
        with Watermark.from_preset(name) as wm:
            recipes.add(wm.recipe())
    assert len(recipes) == len(names)  # every preset draws differently, so every recipe differs
