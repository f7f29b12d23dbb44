"""The statistics options of the wmfeat program (issue 10): --rank, --bootstrap and the significance
summary of `audit` and `merge`, the quantile rule and --rank of `mask`, `compare`, and `probe --sweep`.
Audits run on a small random-weight ResNet-18 and real photos, as test_cli.py does."""
import csv
import json
import os
import pathlib
import shutil
import sys

import numpy as np
import pytest
import torch

from cli_common import PHOTOS, WEIGHTS, report, run  # the same program, weights and photos as test_cli.py

sys.path.insert(0, str(pathlib.Path(os.environ["WMF_SOURCE_ROOT"]) / "examples" / "python"))


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    d = tmp_path_factory.mktemp("stats")
    imgs = d / "imgs"
    imgs.mkdir()
    for name in ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
                 "camera.png", "retina.jpg", "hubble_deep_field.jpg"]:
        shutil.copy(PHOTOS / name, imgs / name)
    p = run("audit", WEIGHTS, imgs, "--out", d / "a", "--quiet", "--batch", "4", "--bootstrap", "200",
            "--seed", "3")
    return d, imgs, p.stdout



def test_summary_warns_about_few_pairs_and_counts_significant_classes(audited):
    d, _, text = audited
    assert "8 image pairs" in text
    assert "ranked by |AUC - 0.5|" in text and "[bootstrap CI]" in text
    assert "of these significant (Benjamini-Hochberg q < 0.05, paired Wilcoxon signed-rank)" in text
    assert "warning: only 8 pairs" in text
    r = report(d / "a")
    assert r["bootstrap"]["resamples"] == 200 and r["bootstrap"]["seed"] == 3
    sig = r["significance"]["classes"]
    q = np.array([np.nan if v is None else v for v in r["classes"]["q_value"]])
    assert sig["significant"] == int(np.sum(q < 0.05))
    for f in ("classes.csv", "channels.csv"):
        header = (d / "a" / f).read_text().splitlines()[0]
        assert "p_value,q_value,auc_lo,auc_hi" in header


def test_rank_options_order_the_summary_and_name_it(audited):
    d, _, _ = audited
    state = d / "a" / "audit.wmfa"
    r = report(d / "a")
    auc = np.array(r["classes"]["auc"])
    dp = np.array(r["classes"]["delta_prob"])
    for rank, key in (("abs", -np.abs(auc - 0.5)), ("auc", -auc), ("delta-p", -dp)):
        out = json.loads(run("merge", "--out", d / f"m_{rank}.wmfa", "--report", d / f"m_{rank}", "--rank", rank,
                             "--json", "--top", "5", "--bootstrap", "0", state).stdout)
        assert out["rank"] == rank
        assert [c["class"] for c in out["top_classes"]] == np.argsort(key, kind="stable")[:5].tolist()
        text = run("merge", "--out", d / "x.wmfa", "--rank", rank, "--bootstrap", "0", state).stdout
        title = (d / f"m_{rank}" / "classes_auc.svg").read_text()
        if rank == "auc":
            assert "ranked by AUC, descending (Mark My Words)" in text
            assert "ranked by AUC, descending" in title
        elif rank == "delta-p":
            assert "ranked by delta p, descending (ImageNet-W)" in text
            assert "ranked by delta p, descending" in (d / f"m_{rank}" / "classes_delta_p.svg").read_text()
        else:
            assert "ranked by |AUC - 0.5|" in title
    run("merge", "--out", d / "x.wmfa", "--rank", "nope", state, code=2)


def test_mask_quantile_rule_and_rank(audited):
    d, _, _ = audited
    state = d / "a" / "audit.wmfa"
    aucs = torch.tensor(report(d / "a")["channels"]["auc"], dtype=torch.float64)
    for p in (0.005, 0.05, 0.25):
        out = json.loads(run("mask", state, "--fraction", p, "--rule", "quantile", "--out", d / "q.json",
                             "--json").stdout)
        key = (aucs - 0.5).abs()
        want = (key > torch.quantile(key, 1 - p)).nonzero().reshape(-1).tolist()
        assert json.loads((d / "q.json").read_text())["masked"] == want
        assert out["masked"] == len(want) and out["rule"] == "quantile"
    run("mask", state, "--fraction", 0.1, "--rank", "auc", "--out", d / "a.json")
    m = json.loads((d / "a.json").read_text())
    top = np.argsort(-aucs.numpy(), kind="stable")[:51]
    assert m["masked"] == sorted(top.tolist()) and m["rank"] == "value"
    run("mask", state, "--fraction", 0.1, "--rank", "delta-p", "--out", d / "x.json", code=2)
    run("mask", state, "--top-k", 3, "--rule", "quantile", "--out", d / "x.json", code=2)
    run("mask", state, "--fraction", 0.1, "--rule", "median", "--out", d / "x.json", code=2)


def fake_report(path, classes_above, channels_above, features=512, thresholds=(0.7, 0.8, 0.9, 0.95)):
    path.mkdir(parents=True, exist_ok=True)
    (path / "report.json").write_text(json.dumps({
        "format": "wmfeat-audit-report", "version": 1, "num_pairs": 998, "num_classes": 1000,
        "num_features": features, "thresholds": list(thresholds), "classes_above": classes_above,
        "channels_above": channels_above}))
    return path


def test_compare_reports_side_by_side(audited, tmp_path):
    d, _, _ = audited
    a = fake_report(tmp_path / "resnet50-chinese", [251, 120, 31, 9], [410, 205, 51, 12], features=2048)
    b = fake_report(tmp_path / "vgg16-latin", [3, 0, 0, 0], [40, 4, 0, 0], features=4096)
    out = json.loads(run("compare", d / "a", a / "report.json", b, "--out", tmp_path / "cmp", "--json").stdout)
    assert out["thresholds"] == [0.7, 0.8, 0.9, 0.95]
    real = report(d / "a")
    labels = [r["label"] for r in out["reports"]]
    assert labels == ["a", "resnet50-chinese", "vgg16-latin"]
    assert out["reports"][0]["classes_above"] == real["classes_above"]
    assert out["reports"][0]["classes_significant_above"] == real["significance"]["classes"]["significant_above"]
    assert out["reports"][1]["classes_above"] == [251, 120, 31, 9]
    assert out["reports"][1]["classes_significant_above"] is None
    assert out["reports"][1]["channels_percent_above"] == pytest.approx([100 * c / 2048 for c in [410, 205, 51, 12]])
    rows = list(csv.DictReader((tmp_path / "cmp" / "compare.csv").open()))
    assert [r["label"] for r in rows] == labels
    assert [int(rows[2][f"classes_above_{t}"]) for t in (0.7, 0.8, 0.9, 0.95)] == [3, 0, 0, 0]
    assert json.loads((tmp_path / "cmp" / "compare.json").read_text()) == out
    svg = (tmp_path / "cmp" / "compare_classes.svg").read_text()
    assert svg.count("<title>d &gt; 0.7: ") == 3 and "resnet50-chinese" in svg and "d &gt; 0.95: 9<" in svg
    assert "share of feature channels" in (tmp_path / "cmp" / "compare_channels.svg").read_text()
    import wmfeat  # the Python binding tabulates the same
    py = wmfeat.compare_reports([d / "a", a / "report.json", b])
    for x, y in zip(py, out["reports"]):
        for k in ("label", "num_pairs", "classes_above", "classes_significant_above", "channels_above"):
            assert x[k] == y[k], k
        assert x["channels_percent_above"] == pytest.approx(y["channels_percent_above"])
    with pytest.raises(ValueError, match="thresholds"):
        wmfeat.compare_reports([fake_report(tmp_path / "odd2", [1] * 4, [1] * 4, thresholds=(0.6, 0.8, 0.9, 0.95))])
    text = run("compare", a, b, "--labels", "R50 zh,VGG la", "--out", tmp_path / "cmp2").stdout
    assert "R50 zh" in text and "VGG la" in text
    # reports counted at other thresholds are refused, naming the field
    c = fake_report(tmp_path / "odd", [1, 1, 1, 1], [1, 1, 1, 1], thresholds=(0.6, 0.8, 0.9, 0.95))
    p = run("compare", a, c, "--out", tmp_path / "cmp3", code=1)
    assert '"thresholds"[0] is 0.6' in p.stderr and "odd/report.json" in p.stderr
    run("compare", a, b, "--labels", "only-one", code=2)
    p = run("compare", d / "a" / "classes.csv", code=1)
    assert "classes.csv" in p.stderr


@pytest.fixture(scope="module")
def planted_features(tmp_path_factory):
    """Features of the planted demo (examples/data): the 3s and 5s of its digits, made by `wmfeat extract`
    from PNGs built as train_planted.py builds them; training images with the watermark on every 3
    (the demo's downstream head), test images clean and all watermarked."""
    data = pathlib.Path(os.environ["WMFEAT_DATA"])
    sys.path.insert(0, str(data))
    import train_planted
    import wmfeat
    raw = (data / "planted_digits.bin").read_bytes()
    assert raw[:8] == b"WMFDIGIT"
    n = int.from_bytes(raw[8:12], "little")
    rec = np.frombuffer(raw[12:12 + 66 * n], np.uint8).reshape(n, 66)
    digits, label, split = rec[:, :64].reshape(n, 8, 8), rec[:, 64], rec[:, 65]
    d = tmp_path_factory.mktemp("planted")
    wm = wmfeat.Watermark.from_preset("imagenet-w")
    sets = {"train": np.flatnonzero(((label == 3) | (label == 5)) & (split == 0)),
            "test": np.flatnonzero(((label == 3) | (label == 5)) & (split == 1))}
    sets["test_wm"] = sets["test"]
    for name, idx in sets.items():
        imgs = train_planted.make_images(digits[idx], idx)
        (d / name).mkdir()
        for j, (i, px) in enumerate(zip(idx, imgs)):
            img = wmfeat.Image.from_array(px)
            if name == "test_wm" or (name == "train" and label[i] == 3):
                wm.apply(img, seed=int(i))  # the seed planted.c gives image i
            img.save(d / name / f"{j:04d}.png")
        (d / f"{name}.txt").write_text("".join(f"{int(label[i] == 5)}\n" for i in idx))
        run("extract", data / "planted_resnet.safetensors", d / name, "--resize", 64, "--crop", 64,
            "--out", d / f"{name}.npy", "--quiet")
    return d


def test_probe_sweep_on_the_planted_demo(planted_features, tmp_path):
    d = planted_features
    common = ["--train", d / "train.npy", "--train-labels", d / "train.txt", "--test", d / "test.npy",
              "--test-labels", d / "test.txt", "--test-wm", d / "test_wm.npy"]
    plain = json.loads(run("probe", *common, "--json").stdout)["plain"]
    for rule in ("count", "quantile"):
        out = json.loads(run("probe", *common, "--sweep", "--auc-clean", d / "test.npy", "--auc-wm",
                             d / "test_wm.npy", "--rule", rule, "--out", tmp_path / rule, "--json").stdout)
        pts = out["points"]
        assert [q["p"] for q in pts] == [0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.25, 0.5]
        assert out["rule"] == rule and out["features"] == 128 and out["classes"] == 2
        # p = 0 is the unmasked head of `wmfeat probe` (which prints 6 decimals)
        assert pts[0]["masked"] == 0
        assert pts[0]["clean_accuracy"] == pytest.approx(plain["clean"], abs=5e-7)
        assert pts[0]["watermarked_accuracy"] == pytest.approx(plain["watermarked"], abs=5e-7)
        assert pts[0]["mean_abs_auc_minus_half"] == pytest.approx(plain["auc_deviation"], abs=5e-7)
        # monotone where it must be: more channels masked at larger p, each mask containing the last,
        # the quantile threshold never rising
        for a, b in zip(pts, pts[1:]):
            assert a["masked"] <= b["masked"]
            assert set(a["masked_channels"]) <= set(b["masked_channels"])
            if rule == "quantile" and a["threshold"] is not None:
                assert b["threshold"] <= a["threshold"]
        assert pts[-1]["masked"] in (63, 64)
        if rule == "count":
            assert [q["masked"] for q in pts] == [int(np.floor(p * 128 + 0.5)) for p in [q["p"] for q in pts]]
        # the shortcut: unmasked, the head reads the watermark on 3s (its logits separate clean from
        # watermarked); the files carry the same numbers
        assert pts[0]["mean_abs_auc_minus_half"] > 0.1
        rows = list(csv.DictReader((tmp_path / rule / "sweep.csv").open()))
        assert [int(r["masked"]) for r in rows] == [q["masked"] for q in pts]
        aucs = list(csv.DictReader((tmp_path / rule / "sweep_aucs.csv").open()))
        assert len(aucs) == 20 and float(aucs[3]["auc"]) == pts[1]["logit_auc"][1]
        for f in ("sweep_curve.svg", "sweep_auc_distribution.svg"):
            assert "</svg>" in (tmp_path / rule / f).read_text()
        # the Python binding's sweep gives the same points
        import wmfeat
        labels = {k: np.loadtxt(d / f"{k}.txt", dtype=np.int32) for k in ("train", "test")}
        py = wmfeat.sweep(np.load(d / "train.npy"), labels["train"], np.load(d / "test.npy"), labels["test"],
                          report_aucs(d), test_wm=np.load(d / "test_wm.npy"), rule=rule)
        for a, b in zip(py, pts):
            for k in ("masked", "masked_channels", "clean_accuracy", "watermarked_accuracy", "logit_auc"):
                assert a[k] == b[k], (rule, a["p"], k)
            assert a["mean_abs_auc_minus_half"] == pytest.approx(b["mean_abs_auc_minus_half"], rel=1e-12)
    # the quantile rule's masks are torch's
    auc = torch.tensor(report_aucs(d), dtype=torch.float64)
    q = json.loads((tmp_path / "quantile" / "sweep.json").read_text())["points"]
    for pt in q[1:]:
        key = (auc - 0.5).abs()
        assert pt["masked_channels"] == (key > torch.quantile(key, 1 - pt["p"])).nonzero().reshape(-1).tolist()
    run("probe", *common, "--sweep", code=2)  # no channel AUCs
    run("probe", *common, "--sweep", "--auc-clean", d / "test.npy", "--auc-wm", d / "test_wm.npy",
        "--fractions", "0.1,0.05", code=2)


def report_aucs(d):
    """The channel AUCs of test vs test_wm features, through the Python binding."""
    import wmfeat
    a = wmfeat.Audit.create(0, 128)
    a.add(clean_features=np.load(d / "test.npy"), wm_features=np.load(d / "test_wm.npy"))
    return a.scores(wmfeat.Target.CHANNELS, wmfeat.Score.AUC).tolist()
