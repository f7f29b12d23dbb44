"""Audits the way the papers ran them: ImageNet-W's metrics against a re-typed copy of its evaluation
code, the per-pair table, audits of pre-rendered pairs (the wmfeat program and the binding give the same
report), and `wmfeat extract --preset` giving exactly the audit's rows."""
import csv
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch

import wmfeat
from wmfeat import Audit, Image, Score, Target, Watermark

WMFEAT = os.environ.get("WMF_WMFEAT")
PHOTOS = "/usr/lib/python3/dist-packages/skimage/data"
CARTON = 478


# ---- ImageNet-W's metrics ---------------------------------------------------------------------------
# Re-typed from facebookresearch/Whac-A-Mole, eval_shortcuts/eval_watermark_shortcut.py:
# WatermarkShortcutEvaluator._eval_model (per loader) and .eval (the differences). Only the model call
# and the loader are replaced by the logits and labels given.
def _eval_model(output, target):
    pred = output.argmax(dim=1)
    prob = torch.softmax(output, dim=1)
    carton_prob = prob[:, CARTON]
    total_pred, total_label, total_carton_prob = pred.cpu(), target, carton_prob.cpu()

    p_carton = total_carton_prob.mean()
    gt_carton_mask = total_label == CARTON
    p_carton_cond_carton = total_carton_prob[gt_carton_mask].mean()

    total_pred = total_pred.numpy()
    total_label = total_label.numpy()
    acc = ((total_pred == total_label).sum() / len(total_label)).item()
    carton_class_mask = total_label == CARTON
    carton_pred = total_pred[carton_class_mask]
    carton_acc = (carton_pred == CARTON).mean()
    return acc, p_carton, carton_acc, p_carton_cond_carton


def reference_eval(clean_logits, wm_logits, labels):
    in_1k_acc, in_1k_p_carton, in_1k_carton_acc, in_1k_p_carton_cond_carton = _eval_model(clean_logits, labels)
    in_w_acc, in_w_p_carton, in_w_carton_acc, in_w_p_carton_cond_carton = _eval_model(wm_logits, labels)
    return {"in_1k_acc": in_1k_acc, "p_carton": float(in_1k_p_carton), "in_w_acc": in_w_acc,
            "p_carton_wm": float(in_w_p_carton),
            "in_w_gap": in_w_acc - in_1k_acc,
            "delta_p_carton": float(in_w_p_carton - in_1k_p_carton),
            "carton_gap": float(in_w_carton_acc - in_1k_carton_acc),
            "delta_p_carton_cond_carton": float(in_w_p_carton_cond_carton - in_1k_p_carton_cond_carton)}


def synthetic(n=400, seed=3):
    rng = np.random.default_rng(seed)
    cl = rng.normal(0, 2, (n, 1000)).astype(np.float32)
    labels = rng.integers(0, 1000, n).astype(np.int32)
    labels[::9] = CARTON                       # some carton images
    cl[np.arange(n)[::2], labels[::2]] += 6.0  # about half predicted right
    wl = cl + rng.normal(0, 0.5, cl.shape).astype(np.float32)
    wl[:, CARTON] += rng.uniform(0, 6, n).astype(np.float32)  # the shortcut
    return cl, wl, labels


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_shortcut_metrics_equal_the_whac_a_mole_code(tmp_path, dtype):
    cl, wl, labels = synthetic()
    ref = reference_eval(torch.from_numpy(cl).to(dtype), torch.from_numpy(wl).to(dtype),
                         torch.from_numpy(labels).long())
    assert ref["delta_p_carton"] > 0.02 and ref["in_w_gap"] < 0  # the synthetic shortcut works
    with Audit.create(1000, 0) as a:
        a.add(cl, wl, labels=labels)
        m = a.shortcut_metrics()
        # float64: the same arithmetic up to summation order; float32: torch's own rounding
        tol = 1e-12 if dtype == torch.float64 else 2e-6
        assert m["acc_clean"] == pytest.approx(ref["in_1k_acc"], abs=1e-15)
        assert m["acc_wm"] == pytest.approx(ref["in_w_acc"], abs=1e-15)
        assert m["acc_gap"] == pytest.approx(ref["in_w_gap"], abs=1e-15)
        assert m["class_gap"] == pytest.approx(ref["carton_gap"], abs=1e-15)
        assert m["p_clean"] == pytest.approx(ref["p_carton"], abs=tol)
        assert m["p_wm"] == pytest.approx(ref["p_carton_wm"], abs=tol)
        assert m["delta_p"] == pytest.approx(ref["delta_p_carton"], abs=tol)
        assert m["delta_p_labelled"] == pytest.approx(ref["delta_p_carton_cond_carton"], abs=tol)
        assert m["num_class_labelled"] == int((labels == CARTON).sum())
        assert m["num_labelled"] == m["num_pairs"] == len(labels)
        # the same numbers in the report and the class table
        a.write_json(tmp_path / "r.json")
        a.write_csv(Target.CLASSES, tmp_path / "c.csv")
        w = json.loads((tmp_path / "r.json").read_text())["imagenet_w"]
        assert w["class"] == CARTON and w["name"] == "carton"
        for key, field in [("delta_p", "delta_p"), ("delta_p_labelled", "delta_p_labelled"),
                           ("in_w_gap", "acc_gap"), ("class_gap", "class_gap"), ("p_clean", "p_clean"),
                           ("p_wm", "p_wm")]:
            assert w[key] == m[field], key
        row = list(csv.DictReader(open(tmp_path / "c.csv")))[CARTON]
        assert float(row["delta_prob_labelled"]) == m["delta_p_labelled"]
        assert float(row["clean_prob"]) == m["p_clean"] and float(row["wm_prob"]) == m["p_wm"]
        assert a.scores(Target.CLASSES, Score.DELTA_PROB)[CARTON] == m["delta_p"]


def test_shortcut_metrics_without_labels_and_errors():
    cl, wl, _ = synthetic(50)
    with Audit.create(1000, 0) as a:
        with pytest.raises(wmfeat.Error, match="WMF_ERR_STATE"):
            a.shortcut_metrics()
        a.add(cl, wl)
        m = a.shortcut_metrics()
        assert m["num_labelled"] == 0 and m["num_class_labelled"] == 0
        assert np.isnan(m["acc_gap"]) and np.isnan(m["class_gap"]) and np.isnan(m["delta_p_labelled"])
        assert m["delta_p"] > 0
        with pytest.raises(wmfeat.Error, match="class 1000 is not below 1000"):
            a.shortcut_metrics(1000)
        assert a.shortcut_metrics(7)["class_index"] == 7


def test_pairs_and_per_pair_table(tmp_path):
    cl, wl, labels = synthetic(70)
    labels[5] = -1
    rng = np.random.default_rng(1)
    cf, wf = rng.normal(size=(70, 6)).astype(np.float32), rng.normal(size=(70, 6)).astype(np.float32)
    with Audit.create(1000, 6) as a:
        a.add(cl[:30], wl[:30], cf[:30], wf[:30], labels[:30])
        a.add(cl[30:], wl[30:], cf[30:], wf[30:], labels[30:])
        got = a.pairs()
        for k, v in [("clean_logits", cl), ("wm_logits", wl), ("clean_features", cf), ("wm_features", wf),
                     ("labels", labels)]:
            assert np.array_equal(got[k], v), k
        assert np.array_equal(a.pairs(60, 5)["wm_features"], wf[60:65])
        with pytest.raises(wmfeat.Error, match="beyond the 70 stored"):
            a.pairs(68, 3)
        paths = [f"img,{i}\".png" for i in range(70)]  # quotes and commas survive
        a.write_pairs_csv(tmp_path / "p.csv", paths, [CARTON, 3])
    rows = list(csv.DictReader(open(tmp_path / "p.csv", newline="")))
    assert len(rows) == 70 and rows[12]["path"] == paths[12] and rows[5]["label"] == "-1"
    for name, z in [("clean", cl), ("wm", wl)]:
        p = np.exp(z.astype(np.float64) - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        top5 = np.argsort(-z, axis=1, kind="stable")[:, :5]
        for i in (0, 33, 69):
            assert [int(rows[i][f"{name}_top{j + 1}"]) for j in range(5)] == top5[i].tolist()
            assert float(rows[i][f"{name}_p_{CARTON}"]) == pytest.approx(p[i, CARTON], rel=1e-8, abs=1e-15)
            assert float(rows[i][f"{name}_p_3"]) == pytest.approx(p[i, 3], rel=1e-8, abs=1e-15)


# ---- pre-rendered pairs through the program and through the binding ----------------------------------

@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path_factory.mktemp("net") / "resnet18.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Clean photos in two subfolders and pre-rendered twins (mmw-chinese drawn by the library, saved as
    JPEG q75 as the released Mark My Words images are), plus one file without a partner on each side."""
    root = tmp_path_factory.mktemp("pairs")
    clean, wm = root / "baseline", root / "chinese"
    names = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "camera.png",
             "retina.jpg"]
    for i, name in enumerate(names):
        sub = f"c{i % 2}"
        (clean / sub).mkdir(parents=True, exist_ok=True)
        (wm / sub).mkdir(parents=True, exist_ok=True)
        stem = os.path.splitext(name)[0]
        with Image.load(os.path.join(PHOTOS, name)) as img, img.resize_shorter(224) as small, \
                small.center_crop(224, 224) as c, Watermark.from_preset("mmw-chinese") as mark:
            c.save(clean / sub / f"{stem}.JPEG", 95)
            with c.clone() as m:
                mark.apply(m, i)
                m.save(wm / sub / f"{stem}.JPEG", 75)
    (clean / "c0" / "astronaut.JPEG").rename(clean / "c0" / "only_clean.JPEG")  # both sides lose a partner
    return clean, wm


def run(*args, code=0):
    p = subprocess.run([WMFEAT, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert p.returncode == code, f"exit {p.returncode}, expected {code}\n{p.stdout}\n{p.stderr}"
    return p


def test_prerendered_audit_program_equals_binding(weights, pairs, tmp_path):
    assert WMFEAT and os.access(WMFEAT, os.X_OK), "WMF_WMFEAT is not set: run via meson test"
    clean, wm = pairs
    out = tmp_path / "cli"
    p = run("audit", weights, clean, "--watermarked", wm, "--out", out, "--json", "--batch", "4",
            "--per-image", out / "pairs.csv", "--save-examples", "3", "--top", "4", "--resize", "224")
    summary = json.loads(p.stdout)
    assert summary["pairs"] == 6 and summary["prerendered"] is True and summary["unpaired"] == 2
    assert set(summary["imagenet_w"]) >= {"delta_p_carton", "delta_p_carton_cond_carton", "in_w_gap",
                                          "carton_gap", "p_carton", "p_carton_watermarked"}
    # each file without a partner is named
    assert "only_clean.JPEG" in p.stderr and "astronaut.JPEG" in p.stderr and "2 images without a partner" in p.stderr

    audit, info = wmfeat.audit_files(weights, clean, wm, batch=4, resize=224,
                                     save_examples=3, examples_dir=tmp_path / "ex")
    assert sorted(s for s, _ in [(os.path.basename(x), y) for x, y in info["unpaired"]]) == \
        ["astronaut.JPEG", "only_clean.JPEG"]
    py = tmp_path / "py"
    wmfeat.write_reports(audit, py, info["paths"], top=4, per_image=py / "pairs.csv")
    for name in ("report.json", "classes.csv", "channels.csv", "pairs.csv"):
        assert (py / name).read_bytes() == (out / name).read_bytes(), name
    rows = list(csv.DictReader(open(out / "pairs.csv")))
    assert len(rows) == 6 and all(r["label"] == "-1" for r in rows)
    assert rows[0]["path"].endswith("c0/chelsea.JPEG")
    assert sum(k.startswith("clean_p_") for k in rows[0]) == 4
    # the examples are the watermarked inputs as the network saw them: the pre-rendered twin's crop
    shots = sorted(os.listdir(out / "examples"))
    assert shots == sorted(os.listdir(tmp_path / "ex")) and len(shots) == 3
    for s in shots:
        assert (out / "examples" / s).read_bytes() == (tmp_path / "ex" / s).read_bytes()
    with Image.load(out / "examples" / shots[0]) as a, Image.load(wm / "c0" / "chelsea.JPEG") as b:
        assert np.array_equal(a.to_array(), b.to_array())  # 224 px: resize 224 and crop 224 keep it
    # the watermark is not drawn again: equal folders give a zero shift
    same = run("audit", weights, clean, "--watermarked", clean, "--out", tmp_path / "same", "--json", "--quiet")
    assert json.loads(same.stdout)["imagenet_w"]["delta_p_carton"] == 0


def test_prerendered_audit_arguments(weights, pairs, tmp_path):
    clean, wm = pairs
    run("audit", weights, clean, "--watermarked", wm, "--preset", "imagenet-w", code=2)
    run("audit", weights, clean, "--watermarked", wm, "--per-image", tmp_path / "x.csv", "--resume", code=2)
    lst = tmp_path / "list.txt"
    lst.write_text(str(clean / "c1" / "coffee.JPEG") + "\n")
    p = run("audit", weights, clean, "--watermarked", lst, "--out", tmp_path / "o", code=1)
    assert "both be folders" in p.stderr
    empty = tmp_path / "empty"
    (empty / "x").mkdir(parents=True)
    shutil.copy(clean / "c1" / "coffee.JPEG", empty / "x" / "other.JPEG")
    p = run("audit", weights, clean, "--watermarked", empty, "--out", tmp_path / "o", code=1)
    assert "no image of" in p.stderr
    # two lists pair line by line
    lw = tmp_path / "wm.txt"
    lw.write_text(str(wm / "c1" / "coffee.JPEG") + "\n")
    p = run("audit", weights, lst, "--watermarked", lw, "--out", tmp_path / "l", "--json", "--quiet")
    assert json.loads(p.stdout)["pairs"] == 1
    for option in ("--watermarked", "--per-image", "--save-examples", "--stage"):
        assert option in run("audit", "--help").stdout


def test_extract_preset_rows_equal_the_audit(weights, pairs, tmp_path):
    clean, _ = pairs
    common = ["--batch", "3", "--seed", "5", "--quiet", "--resize", "240", "--crop", "224"]
    run("audit", weights, clean, "--preset", "mmw-latin", "--out", tmp_path / "a", *common)
    run("extract", weights, clean, "--out", tmp_path / "c.npy", "--logits", tmp_path / "cl.npy", *common)
    run("extract", weights, clean, "--preset", "mmw-latin", "--out", tmp_path / "w.npy",
        "--logits", tmp_path / "wl.npy", *common)
    with Audit.load(tmp_path / "a" / "audit.wmfa") as a:
        rows = a.pairs()
    assert np.array_equal(np.load(tmp_path / "c.npy"), rows["clean_features"])
    assert np.array_equal(np.load(tmp_path / "w.npy"), rows["wm_features"])
    assert np.array_equal(np.load(tmp_path / "cl.npy"), rows["clean_logits"])
    assert np.array_equal(np.load(tmp_path / "wl.npy"), rows["wm_logits"])
    assert not np.array_equal(rows["clean_features"], rows["wm_features"])
    # the binding's audit of the same images draws the same marks
    audit, _ = wmfeat.audit_files(weights, clean, preset="mmw-latin", seed=5, batch=3, resize=240)
    with audit:
        assert np.array_equal(audit.pairs()["wm_features"], rows["wm_features"])
    assert "--preset" in run("extract", "--help").stdout
