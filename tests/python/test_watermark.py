import inspect
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
    ImageDraw.Draw(layer).text((0.01 * 224, 0.4 * 224), "捷径捷径捷径", fill=(255, 255, 255, 128),
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
        wm.jpeg_quality = 0  # compared before the JPEG step
        wm.apply(img, seed=5)
    f = Font.find("Liberation Serif:style=Regular")
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
        assert cov.max() == 128  # round(0.5 * 255)


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


# ---- each setter's own effect: one setter changed from a baseline recipe, the result compared ------------

W = H = 200
GREY = (100, 100, 100)


def baseline(text="HIHIHI"):
    """Liberation Sans 20 px, white, opaque, centred ("mm") on a 200 x 200 image."""
    return (Watermark.create().set_text(text).set_font(Font.find("Liberation Sans")).set_size(20)
            .set_position(0.5, 0.5, "mm"))


def ink_box(mask):
    """(x0, y0, x1, y1) of the True / nonzero pixels, inclusive."""
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing drawn"
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def size_of(box):
    return box[2] - box[0] + 1, box[3] - box[1] + 1


def on_grey(wm, seed=0):
    return wm.apply(Image.create(W, H, GREY), seed).to_array().astype(int)


def test_setter_text_and_font_change_what_is_drawn():
    base = baseline()
    cov = base.coverage(W, H)
    other = baseline("AVAVAV")
    assert other.describe_draw(W, H).text == "AVAVAV" and 'text="AVAVAV"' in other.recipe()
    assert not np.array_equal(other.coverage(W, H), cov)
    serif = baseline().set_font(Font.find("Liberation Serif"))
    assert 'font="Liberation Serif:Regular#0"' in serif.recipe() and 'font="Liberation Sans:Regular#0"' in base.recipe()
    assert serif.describe_draw(W, H).size == 20
    assert not np.array_equal(serif.coverage(W, H), cov)


def test_setter_size_scales_the_text_about_its_anchor():
    small, big = ink_box(baseline().coverage(W, H)), ink_box(baseline().set_size(40).coverage(W, H))
    (ws, hs), (wb, hb) = size_of(small), size_of(big)
    assert 1.9 <= wb / ws <= 2.1 and 1.9 <= hb / hs <= 2.1, (small, big)
    for a, b in ((0, 2), (1, 3)):  # anchored in the middle: the centre stays within a pixel
        assert abs((small[a] + small[b]) - (big[a] + big[b])) <= 2, (small, big)


def test_setter_position_moves_the_box():
    at_centre = baseline()
    moved = baseline().set_position(0.2, 0.3, "mm")
    d = moved.describe_draw(W, H)
    assert (d.x, d.y) == (0.2 * W, 0.3 * H)
    a, b = ink_box(at_centre.coverage(W, H)), ink_box(moved.coverage(W, H))
    assert b == (a[0] - 60, a[1] - 40, a[2] - 60, a[3] - 40)  # (0.5 - 0.2) * 200, (0.5 - 0.3) * 200
    assert np.array_equal(np.roll(moved.coverage(W, H), (40, 60), axis=(0, 1)), at_centre.coverage(W, H))


def test_setter_rotation_turns_the_box():
    flat, turned = ink_box(baseline().coverage(W, H)), ink_box(baseline().set_rotation(90).coverage(W, H))
    (wf, hf), (wt, ht) = size_of(flat), size_of(turned)
    assert abs(wt - hf) <= 1 and abs(ht - wf) <= 1, (flat, turned)  # width and height swap
    assert abs((flat[0] + flat[2]) - (turned[0] + turned[2])) <= 2  # about the anchor
    assert abs((flat[1] + flat[3]) - (turned[1] + turned[3])) <= 2
    assert "rotation=90" in baseline().set_rotation(90).recipe()


def test_setter_opacity_scales_alpha():
    cov = baseline().coverage(W, H).astype(int)
    assert cov.max() == 255
    for opacity in (0.8, 0.5, 0.25):
        scaled = baseline().set_opacity(opacity).coverage(W, H).astype(int)
        assert np.array_equal(scaled, np.round(cov * opacity).astype(int)), opacity
    assert not baseline().set_opacity(0).coverage(W, H).any()


def test_setter_color_paints_the_covered_pixels():
    cov = baseline().coverage(W, H)
    for color in ((255, 0, 0), (0, 128, 255)):
        got = baseline().set_color(*color).apply(Image.create(W, H, (30, 60, 90))).to_array()
        assert np.array_equal(got[cov == 255], np.broadcast_to(color, ((cov == 255).sum(), 3)))
        assert np.array_equal(got[cov == 0], np.broadcast_to((30, 60, 90), ((cov == 0).sum(), 3)))
        assert "color=%02x%02x%02x" % color in baseline().set_color(*color).recipe()


@pytest.mark.parametrize("color, opacity", [((255, 0, 0), 1.0), ((0, 128, 255), 0.6)])
def test_setter_color_edges_as_pil_draws_them(color, opacity):
    # PIL 9.4 keeps the ink colour on partly covered pixels of the transparent layer (until 1.1 the
    # library blended it with the layer's white: up to 64 levels apart for red, 38 for this blue at 0.6)
    wm = baseline().set_color(*color).set_opacity(opacity)
    d = wm.describe_draw(W, H)
    got = wm.apply(Image.create(W, H, (30, 60, 90))).to_array()
    f = Font.find("Liberation Sans")
    layer = PILImage.new("RGBA", (W, H), (255, 255, 255, 0))
    ImageDraw.Draw(layer).text((d.x, d.y), d.text, fill=color + (round(255 * opacity),), anchor="mm",
                               font=ImageFont.truetype(f.path, 20, index=f.face_index))
    ref = PILImage.alpha_composite(PILImage.new("RGBA", (W, H), (30, 60, 90, 255)), layer).convert("RGB")
    cov = wm.coverage(W, H)
    assert ((cov > 0) & (cov < round(255 * opacity))).sum() > 20  # there are partly covered pixels
    assert np.array_equal(got, np.asarray(ref))


def test_setter_outline_rings_the_glyphs():
    plain, outlined = baseline(), baseline().set_outline(2, 0, 0, 0)
    a, b = ink_box(plain.coverage(W, H)), ink_box(outlined.coverage(W, H))
    assert b == (a[0] - 2, a[1] - 2, a[2] + 2, a[3] + 2)
    assert on_grey(plain).min() == 100  # white text only brightens
    px = on_grey(outlined)
    dark = (px < 100).any(axis=2)
    assert px.min() == 0 and not (dark & (plain.coverage(W, H) == 255)).any()  # black ring, glyphs still white
    assert all(abs(p - q) <= 1 for p, q in zip(ink_box(dark), b))  # (the faintest edge rounds to grey)


def test_setter_shadow_offsets_a_darker_copy():
    plain, shadowed = baseline(), baseline().set_shadow(2, 2)  # black, opacity 0.5
    a, b = ink_box(plain.coverage(W, H)), ink_box(shadowed.coverage(W, H))
    assert b == (a[0], a[1], a[2] + 2, a[3] + 2)
    px = on_grey(shadowed)
    dark = (px < 100).any(axis=2)
    s = ink_box(dark)
    assert s[2:] == (a[2] + 2, a[3] + 2) and s[0] >= a[0] + 2 and s[1] >= a[1] + 2
    assert px.min() == 50  # 100 * (1 - 0.5)
    assert on_grey(baseline().set_shadow(2, 2, opacity=1.0)).min() == 0


def test_setter_letter_and_line_spacing_open_the_text():
    a = ink_box(baseline().coverage(W, H))
    spaced = ink_box(baseline().set_letter_spacing(5).coverage(W, H))
    assert size_of(spaced) == (size_of(a)[0] + 5 * 5, size_of(a)[1])  # 5 px between each of 6 letters
    two = ink_box(baseline("HIHIHI\nHIHIHI").coverage(W, H))
    apart = ink_box(baseline("HIHIHI\nHIHIHI").set_line_spacing(10).coverage(W, H))
    assert size_of(apart) == (size_of(two)[0], size_of(two)[1] + 10)
    assert size_of(two)[1] > 2 * size_of(a)[1]


def test_setter_fallback_decides_about_missing_glyphs():
    with_fallback = baseline("H中H")
    only_h = ink_box(baseline("HH").coverage(W, H))
    assert size_of(ink_box(with_fallback.coverage(W, H)))[0] > size_of(only_h)[0] + 10  # 中 from another font
    with pytest.raises(wmfeat.Error) as e:
        baseline("H中H").set_fallback(False).coverage(W, H)
    assert e.value.name == "WMF_ERR_FONT" and "U+4E2D" in e.value.message


def test_seed_decides_text_and_place_and_nothing_else():
    wm = Watermark.create().set_pool("AB", 5).set_font(Font.find("Liberation Sans")).set_random_position()
    draws = {seed: wm.describe_draw(W, H, seed) for seed in (1, 2, 3)}
    assert len({d.text for d in draws.values()}) == 3 and len({(d.x, d.y) for d in draws.values()}) == 3
    for seed, d in draws.items():
        cov = wm.coverage(W, H, seed)
        assert np.array_equal(cov, wm.coverage(W, H, seed))
        px = wm.apply(Image.create(W, H), seed).to_array()
        assert np.array_equal(px.any(axis=2), cov > 0)
        same = wm.apply_draw(Image.create(W, H), d.text, d.x, d.y).to_array()
        assert np.array_equal(px, same)
    fixed = baseline()
    assert np.array_equal(fixed.coverage(W, H, 1), fixed.coverage(W, H, 2))  # fixed text and place


def test_setter_tiled_and_relative_size():
    def inked(gap):
        return (Watermark.create().set_text("©").set_font(Font.find("Liberation Sans")).set_tiled(0, gap, gap)
                .coverage(W, H) > 0).mean()
    assert inked(0.2) > 1.5 * inked(1.0) > 0
    rel = Watermark.create().set_size_relative(0.25).set_text("x").set_font(Font.find("Liberation Sans"))
    assert rel.describe_draw(200, 100).size == 25 and rel.describe_draw(400, 300).size == 75


def test_reference_size_jpeg_anchor_and_explicit_draw():
    with Watermark.from_preset("imagenet-w") as wm:
        assert wm.reference_size == 0 and wm.describe_draw(97, 97).size == 15  # int(97 / 6.22)
        wm.reference_size = 224
        assert wm.reference_size == 224 and wm.describe_draw(300, 200).size == 36
        assert wm.set_reference_size(0).describe_draw(518, 518).size == 84
    with Watermark.from_preset("mmw-numerals") as wm:
        assert wm.jpeg_quality == 75
        d = wm.describe_draw(224, 224, seed=3)
        a = wm.apply(Image.create(224, 224, (10, 60, 90)), seed=3).to_array()
        b = wm.apply_draw(Image.create(224, 224, (10, 60, 90)), d.text, d.x, d.y).to_array()
        assert np.array_equal(a, b)
        c = wm.set_anchor("la").apply_draw(Image.create(224, 224, (10, 60, 90)), d.text, d.x, d.y).to_array()
        assert not np.array_equal(a, c)
        with pytest.raises(wmfeat.Error) as e:
            wm.set_jpeg_quality(101)
        assert e.value.name == "WMF_ERR_INVALID_ARGUMENT"
        with pytest.raises(wmfeat.Error):
            wm.apply_draw(Image.create(8, 8), None, 0, 0)  # a pool, no fixed text
    wm = Watermark.create().set_text("ि").set_font(Font.find("Noto Sans Devanagari:style=Bold")).set_size(30)
    with_circle = wm.coverage(60, 60).sum()
    assert wm.set_dotted_circle(False).coverage(60, 60).sum() < with_circle
    assert wm.set_font_metrics(0.5, -0.1).describe_draw(60, 60).size == 30


def test_logos_at_pixels_and_from_files(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = [[10, 255, 0], [128, 1, 254]]
    path = tmp_path / "logo.png"
    PILImage.fromarray(rgba, "RGBA").save(path)
    base = np.full((5, 6, 3), 50, np.uint8)
    ref = PILImage.fromarray(base).convert("RGBA")
    art = PILImage.fromarray(rgba, "RGBA")
    r, g, b, a = art.split()
    art = PILImage.merge("RGBA", (r, g, b, a.point(lambda p: int(p * 0.9))))
    ref.paste(art, (2, 1), art)
    ref = np.asarray(ref.convert("RGB"))
    for wm in (Watermark.create().add_logo_at(rgba, 2, 1, 0.9), Watermark.create().add_logo_file(path, 2, 1, 0.9)):
        assert wm.logo_count == 1
        assert np.array_equal(wm.apply(Image.from_array(base)).to_array(), ref)
    with Watermark.from_preset("ch-logo") as wm:
        assert wm.logo_count == 2
        wm.set_logo_file(1, path)
        with pytest.raises(wmfeat.Error) as e:
            wm.set_logo_file(2, path)
        assert e.value.name == "WMF_ERR_NOT_FOUND"
        with pytest.raises(wmfeat.Error) as e:
            wm.add_logo_file(tmp_path / "missing.png", 0, 0)
        assert e.value.name == "WMF_ERR_IO" and "missing.png" in str(e.value)


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


def test_setters_bind_arguments_as_written_out_methods():
    # the binding's chaining setters (examples/python/wmfeat/_lib.py chained) keep their parameter names
    # and defaults: keyword calls, defaults and wrong arguments behave as on methods written out
    params = inspect.signature(Watermark.set_shadow).parameters
    assert list(params) == ["self", "dx", "dy", "r", "g", "b", "opacity"] and params["opacity"].default == 0.5
    by_keyword = baseline().set_shadow(dy=2, dx=2, opacity=1.0)
    assert by_keyword.recipe() == baseline().set_shadow(2, 2, 0, 0, 0, 1.0).recipe()
    assert baseline().set_shadow(2, 2).recipe() == baseline().set_shadow(2, 2, 0, 0, 0, 0.5).recipe()
    with pytest.raises(TypeError):
        baseline().set_size(20, pixels=20)
    with pytest.raises(TypeError):
        baseline().set_color(1, 2)
    wm = baseline()
    assert wm.set_opacity(opacity=0.25) is wm
    with pytest.raises(AttributeError):
        wm.logo_count = 3  # getters stay read-only
