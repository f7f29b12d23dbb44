"""The statistics options of the wmfeat program (issue 10): --rank, --bootstrap and the significance
summary of `audit` and `merge`, the quantile rule and --rank of `mask`, `compare`, and `probe --sweep`.
Audits run on a small random-weight ResNet-18 and real photos, as test_cli.py does."""
import json
import shutil

import numpy as np
import pytest
import torch

from test_cli import PHOTOS, WEIGHTS, run  # the same program, weights and photos as test_cli.py


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


def report(folder):
    return json.loads((folder / "report.json").read_text())


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
