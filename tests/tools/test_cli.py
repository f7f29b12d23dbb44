"""The wmfeat program end to end on a small random-weight ResNet-18 and real photos: exit codes, JSON
output, classify, extract, render, and audits that shard, merge and resume to exactly the result of a
single run."""
import json
import shutil

import numpy as np
import pytest

from cli_common import PHOTOS, WEIGHTS, report, run


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    for name in ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
                 "camera.png", "retina.jpg"]:
        shutil.copy(PHOTOS / name, d / name)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return d


def test_usage_and_exit_codes():
    assert "audit" in run("--help").stdout
    run(code=2)
    run("no-such-command", code=2)
    run("classify", "--batch", "zero", WEIGHTS, "x", code=2)
    run("audit", "--help")
    p = run("classify", "/nonexistent.pth", str(PHOTOS / "coffee.png"), code=1)
    assert "/nonexistent.pth" in p.stderr and "WMF_ERR_IO" in p.stderr


def test_info_json():
    info = json.loads(run("info", WEIGHTS, "--json").stdout)
    assert info["weights"]["arch"] == "resnet18"
    assert info["weights"]["classes"] == 1000 and info["weights"]["features"] == 512


def test_classify_json_skips_broken_images(images):
    p = run("classify", WEIGHTS, images, "--json", "--top", "3", "--batch", "3")
    out = json.loads(p.stdout)
    assert len(out) == 7 and all(len(r["top"]) == 3 for r in out)
    assert "broken.png" in p.stderr
    probs = [t["probability"] for t in out[0]["top"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1


def test_extract_rows_follow_input_order(images, tmp_path):
    run("extract", WEIGHTS, images, "--out", tmp_path / "f.npy", "--logits", tmp_path / "l.npy", "--batch", "4")
    f, l = np.load(tmp_path / "f.npy"), np.load(tmp_path / "l.npy")
    assert f.shape == (8, 512) and l.shape == (8, 1000)
    broken = sorted(p.name for p in images.iterdir()).index("broken.png")
    assert np.isnan(f[broken]).all()
    assert np.isfinite(np.delete(f, broken, axis=0)).all() and (np.delete(f, broken, axis=0) >= 0).all()


def test_render_preset(tmp_path):
    """The ImageNet-W mark on a photo, pixel by pixel: white at the coverage's alpha over the clean crop
    inside the mark, the clean crop untouched everywhere else, the same pixels on a rerun."""
    from PIL import Image
    src = PHOTOS / "coffee.png"
    p = run("render", "-p", "imagenet-w", "-i", src, "--fit", "224", "--seed", "3", "-o", tmp_path / "w.png",
            "--coverage", tmp_path / "cov.png")
    assert "36 px at (2.24, 89.60)" in p.stdout
    run("render", "-p", "imagenet-w", "-i", src, "--fit", "224", "--seed", "3", "-o", tmp_path / "again.png")
    # the clean crop: a mark drawn outside the image
    run("render", "-i", src, "--fit", "224", "--font", "Liberation Serif", "--text", "X", "--at", "0,-100",
        "-o", tmp_path / "clean.png")
    w, again, clean = (np.asarray(Image.open(tmp_path / f)).astype(int) for f in ["w.png", "again.png", "clean.png"])
    cov = np.asarray(Image.open(tmp_path / "cov.png").convert("L")).astype(int)
    assert w.shape == clean.shape == (224, 224, 3) and np.array_equal(w, again)
    assert cov.max() == 128  # ImageNet-W: alpha round(0.5 * 255)
    ys, xs = np.nonzero(cov)
    # the text's box: from x = 0.01 * 224, below y = 0.4 * 224, six characters of 36 px
    assert 2 <= xs.min() <= 5 and 200 <= xs.max() <= 224 and 89 <= ys.min() <= 105 and ys.max() <= 140
    changed = (w != clean).any(axis=2)
    assert not changed[cov == 0].any()  # nothing outside the mark
    assert changed[cov > 0].mean() > 0.95  # (the rest: pixels already near white)
    assert changed[ys.min():ys.max() + 1, xs.min():xs.max() + 1].sum() > 1500
    expected = clean + (255 - clean) * cov[..., None] / 255  # white over the photo at the mark's alpha
    assert np.abs(w - expected).max() <= 0.5 + 1e-9


def test_render_explicit_draw_jpeg_logo_options(tmp_path):
    from PIL import Image
    src = PHOTOS / "coffee.png"
    # --at: the seed's draw at a given point equals the seeded render with that point's draw
    seeded = run("render", "-p", "mmw-latin", "-i", src, "--fit", "224", "--seed", "4", "-o", tmp_path / "a.png")
    text = seeded.stdout.split('"')[1]
    x, y = seeded.stdout.rsplit("(", 1)[1].rstrip(")\n").split(", ")
    run("render", "-p", "mmw-latin", "-i", src, "--fit", "224", "--text", text, "--at", f"{x},{y}",
        "-o", tmp_path / "b.png")
    a, b = np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(tmp_path / "b.png"))
    assert np.array_equal(a, b)
    # --jpeg 0 turns the preset's JPEG step off: the untouched pixels stay exact
    run("render", "-p", "mmw-latin", "-i", src, "--fit", "224", "--seed", "4", "--jpeg", "0", "-o", tmp_path / "c.png")
    run("render", "-i", src, "--fit", "224", "--font", "Liberation Serif", "--text", "X", "--at", "0,-100",
        "-o", tmp_path / "clean.png")
    c, clean = np.asarray(Image.open(tmp_path / "c.png")), np.asarray(Image.open(tmp_path / "clean.png"))
    assert (c != clean).any(axis=2).mean() < 0.05 and (a != clean).any(axis=2).mean() > 0.2
    run("render", "-p", "mmw-latin", "-s", "64x64", "--jpeg", "x", "-o", tmp_path / "d.png", code=2)
    # --reference-size, --size-imagenet-w, --anchor
    p = run("render", "-p", "imagenet-w", "-s", "300x200", "--reference-size", "224", "-o", tmp_path / "e.png")
    assert "36 px at (3.00, 80.00)" in p.stdout
    p = run("render", "--font", "Liberation Serif", "--text", "A", "--size-imagenet-w", "--anchor", "mm",
            "-s", "97x97", "-o", tmp_path / "f.png")
    assert "15 px" in p.stdout
    run("render", "--font", "Liberation Serif", "--text", "A", "--anchor", "zz", "-o", tmp_path / "g.png", code=1)
    # --logo: replace the preset's logo slots, add one at a pixel position; a missing file is named
    logo = np.zeros((4, 6, 4), np.uint8)
    logo[..., 1] = 255
    logo[..., 3] = 200
    Image.fromarray(logo, "RGBA").save(tmp_path / "logo.png")
    run("render", "-p", "ch-logo", "-s", "224x224", "--logo", tmp_path / "logo.png",
        "--logo", f"{tmp_path / 'logo.png'}@100,5,1", "-o", tmp_path / "h.png")
    h = np.asarray(Image.open(tmp_path / "h.png"))
    assert (h[110, 10] == [0, 180, 0]).all()  # alpha int(200 * 0.9) = 180
    assert h[5, 100, 1] == 200 and h[5, 99, 1] == 0
    p = run("render", "-p", "ch-logo", "-s", "224x224", "--logo", tmp_path / "none.png", "-o", tmp_path / "i.png",
            code=1)
    assert "none.png" in p.stderr


def test_audit_logo_option(images, tmp_path):
    from PIL import Image
    logo = np.full((8, 8, 4), 255, np.uint8)
    Image.fromarray(logo, "RGBA").save(tmp_path / "logo.png")
    p = run("audit", WEIGHTS, images, "--out", tmp_path / "r", "--preset", "ch-logo", "--quiet",
            "--logo", f"{tmp_path / 'logo.png'}:{tmp_path / 'logo.png'}", "--limit", "2")
    assert (tmp_path / "r" / "report.json").exists()
    p = run("audit", WEIGHTS, images, "--out", tmp_path / "r2", "--preset", "ch-logo", "--quiet",
            "--logo", tmp_path / "missing.png", code=2)
    assert "missing.png" in p.stderr


def test_vit_info_and_audit(images, tmp_path):
    """A ViT (tests/nn's tiny_vit, 64 px fixed by its position embedding): info names it, an audit at its
    size runs, another crop is refused with the reason."""
    import pathlib
    vit = pathlib.Path(WEIGHTS).parent / "tiny_vit.pth"
    info = json.loads(run("info", vit, "--json").stdout)
    assert info["weights"]["arch"] == "vit-custom" and info["weights"]["features"] == 128
    run("audit", vit, images, "--out", tmp_path / "r", "--crop", "64", "--resize", "73", "--bootstrap", "0",
        "--quiet", "--limit", "3")
    assert report(tmp_path / "r")
    # without --crop / --resize they follow the model (wmf_model_default_*_size: 64 and 64)
    run("audit", vit, images, "--out", tmp_path / "r1", "--bootstrap", "0", "--quiet", "--limit", "3")
    assert report(tmp_path / "r1")
    p = run("audit", vit, images, "--out", tmp_path / "r2", "--crop", "96", "--resize", "110", "--quiet", code=1)
    assert "fixed at 64 px by its position embedding" in p.stderr


def test_audit_shards_merge_and_resume_equal_one_run(images, tmp_path):
    # batch 1: shards cut the batches elsewhere than one run; an image's outputs do not depend on its batch
    # (tests/nn/test_parity.c asserts it), so the states must still be the same bytes
    common = ["--batch", "1", "--preset", "imagenet-w", "--quiet"]
    full = run("audit", WEIGHTS, images, "--out", tmp_path / "full", "--json", *common)
    summary = json.loads(full.stdout)
    assert summary["pairs"] == 7 and len(summary["top_classes"]) == 10
    for f in ["report.json", "classes.csv", "channels.csv", "classes_auc.svg", "channels_auc.svg"]:
        assert (tmp_path / "full" / f).stat().st_size > 0
    for i in range(3):
        run("audit", WEIGHTS, images, "--shard", f"{i}/3", "--out", tmp_path / f"s{i}", *common)
    run("merge", "--out", tmp_path / "merged.wmfa", "--report", tmp_path / "merged",
        *[tmp_path / f"s{i}" / "audit.wmfa" for i in range(3)])
    assert report(tmp_path / "merged") == report(tmp_path / "full")
    # interrupted audits resume to the uninterrupted run: test_cli_state.py
    run("audit", WEIGHTS, images, "--resume", "--out", tmp_path / "nothing", *common, code=1)
    run("audit", WEIGHTS, images, "--shard", "3/3", code=2)


def test_demo_finds_the_planted_class(tmp_path):
    out = json.loads(run("demo", "--json", "--out", tmp_path / "demo").stdout)
    assert out["rank_by_auc"] == out["planted_class"] == 8 and out["rank_by_delta_p"] == 8
    assert out["best_p"] is not None
    for f in ["report.json", "classes_auc.svg", "channels_auc.svg", "mitigation_curve.svg"]:
        assert (tmp_path / "demo" / f).stat().st_size > 0


def test_mask_and_probe_from_an_audit(images, tmp_path):
    # two classes: the photos in two subfolders
    data = tmp_path / "data"
    for i, p in enumerate(sorted(q for q in images.iterdir() if q.name != "broken.png")):
        (data / f"c{i % 2}").mkdir(parents=True, exist_ok=True)
        shutil.copy(p, data / f"c{i % 2}" / p.name)
    run("audit", WEIGHTS, data, "--out", tmp_path / "a", "--quiet", "--batch", "4")
    run("mask", tmp_path / "a" / "audit.wmfa", "--fraction", "0.25", "--out", tmp_path / "m.json",
        "--npy", tmp_path / "m.npy")
    m = np.load(tmp_path / "m.npy")
    assert m.shape == (512,) and int((m == 0).sum()) == 128
    run("mask", tmp_path / "a" / "audit.wmfa", code=2)
    run("extract", WEIGHTS, data, "--out", tmp_path / "f.npy", "--labels-out", tmp_path / "y.txt", "--quiet")
    y = [int(v) for v in (tmp_path / "y.txt").read_text().split()]
    assert y == [0, 0, 0, 0, 1, 1, 1]
    out = json.loads(run("probe", "--train", tmp_path / "f.npy", "--train-labels", tmp_path / "y.txt",
                         "--test", tmp_path / "f.npy", "--test-labels", tmp_path / "y.txt",
                         "--test-wm", tmp_path / "f.npy", "--mask", tmp_path / "m.json", "--json").stdout)
    assert out["classes"] == 2 and out["plain"]["clean"] == 1.0  # 7 points in 512 dimensions separate
    assert out["masked"]["channels"] == 128 and out["plain"]["auc_deviation"] == 0.0
    p = run("probe", "--train", tmp_path / "f.npy", "--train-labels", tmp_path / "m.json",
            "--test", tmp_path / "f.npy", "--test-labels", tmp_path / "y.txt", code=1)
    assert "m.json" in p.stderr
