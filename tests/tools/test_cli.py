"""The wmfeat program end to end on a small random-weight ResNet-18 and real photos: exit codes, JSON
output, classify, extract, render, and audits that shard, merge and resume to exactly the result of a
single run."""
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

WMFEAT = os.environ["WMFEAT_EXE"]
WEIGHTS = os.environ["WMFEAT_TEST_WEIGHTS"]
PHOTOS = pathlib.Path("/usr/lib/python3/dist-packages/skimage/data")


def run(*args, code=0):
    p = subprocess.run([WMFEAT, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert p.returncode == code, f"exit {p.returncode}, expected {code}\n{p.stdout}\n{p.stderr}"
    return p


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
    run("render", "-p", "imagenet-w", "-i", PHOTOS / "coffee.png", "--fit", "224", "-o", tmp_path / "w.png")
    assert (tmp_path / "w.png").stat().st_size > 1000


def report(folder):
    return json.loads((folder / "report.json").read_text())


def test_audit_shards_merge_and_resume_equal_one_run(images, tmp_path):
    # batch 1: shards cut the batches elsewhere than one run, and a forward pass of a batch of another
    # size may differ in the last bits (one oneDNN plan per batch size)
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
