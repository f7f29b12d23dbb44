"""`--precision fp32|bf16` of audit, extract, classify, probe and demo (issue 13, item 2), on the planted
network of examples/data (no reference data needed): on a CPU without bf16 (AVX512-BF16 or AMX) bf16 is
refused before any work with an error naming the missing instructions, never run as fp32 (on a bf16 CPU
the same runs succeed and record bf16); the audit state, its shards and extract's FEATURES.json record the
precision used; resuming or merging a state of another precision, and probing features of another
precision, are refused naming the field. A bf16-labelled state is written through the Python binding
(Audit.provenance), which needs no bf16 hardware."""
import json
import os
import pathlib
import shutil
import sys

import numpy as np
import pytest

from cli_common import planted_images, WMFEAT, run

ROOT = pathlib.Path(os.environ["WMF_SOURCE_ROOT"])
DATA = ROOT / "examples" / "data"
WEIGHTS = DATA / "planted_resnet.safetensors"
sys.path.insert(0, str(ROOT / "examples" / "python"))
import wmfeat  # noqa: E402  (WMFEAT_LIBRARY: the library just built)

HAS_BF16 = json.loads(run("info", "--json").stdout)["bf16"]
# the planted network's 64 px input; batch 1 so that runs compare image by image
SMALL = ["--resize", "64", "--crop", "64", "--batch", "1", "--quiet"]
NO_BF16 = "--precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX; oneDNN dispatches to "


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return planted_images(tmp_path_factory.mktemp("imgs"))


def state_precision(path):
    with wmfeat.Audit.load(path) as a:
        return a.provenance.get("precision")


def relabel(src, dst, precision):
    """A copy of the state at src whose provenance says it was computed at `precision`."""
    with wmfeat.Audit.load(src) as a:
        a.provenance = dict(a.provenance, precision=precision)
        a.save(dst)


@pytest.mark.parametrize("command", ["audit", "extract", "classify", "demo"])
def test_bf16_is_refused_without_the_hardware_or_runs_with_it(command, images, tmp_path):
    out = tmp_path / "out"
    args = {"audit": ["audit", WEIGHTS, images, "--out", out, *SMALL],
            "extract": ["extract", WEIGHTS, images, "--out", out / "f.npy", *SMALL],
            "classify": ["classify", WEIGHTS, images, *SMALL],
            "demo": ["demo", "--data", DATA, "--out", out, "--quiet"]}[command]
    out.mkdir()
    if HAS_BF16:
        run(*args, "--precision", "bf16")
        if command == "audit":
            assert state_precision(out / "audit.wmfa") == "bf16"
        if command == "extract":
            assert json.loads((out / "f.npy.json").read_text())["provenance"]["precision"] == "bf16"
        return
    p = run(*args, "--precision", "bf16", code=1)
    assert NO_BF16 + wmfeat.isa() in p.stderr and "never run as fp32" in p.stderr, p.stderr
    assert p.stdout == "" and list(out.iterdir()) == []  # refused before any work: nothing written


@pytest.mark.parametrize("command", ["audit", "extract", "classify", "probe", "demo"])
def test_unknown_precision_is_a_usage_error(command, tmp_path):
    given = {"audit": ["w", "in"], "extract": ["w", "in"], "classify": ["w", "in"], "demo": [],
             "probe": ["--train", "a", "--train-labels", "b", "--test", "c", "--test-labels", "d"]}[command]
    p = run(command, *given, "--precision", "fp16", code=2)
    assert "unknown --precision 'fp16' (valid: fp32, bf16)" in p.stderr
    assert "--precision" in run(command, "--help").stdout


@pytest.fixture(scope="module")
def fp32_run(images, tmp_path_factory):
    """An fp32 audit, its two shards, and extracted features (default precision: fp32)."""
    d = tmp_path_factory.mktemp("fp32")
    run("audit", WEIGHTS, images, "--out", d / "full", *SMALL)
    for i in range(2):
        run("audit", WEIGHTS, images, "--out", d / f"s{i}", "--shard", f"{i}/2", "--precision", "fp32", *SMALL)
    run("extract", WEIGHTS, images, "--out", d / "f.npy", "--labels-out", d / "y.txt", *SMALL)
    run("extract", WEIGHTS, images, "--out", d / "w.npy", "--preset", "imagenet-w", *SMALL)
    return d


def test_states_and_features_record_the_precision(fp32_run):
    assert state_precision(fp32_run / "full" / "audit.wmfa") == "fp32"
    assert [state_precision(fp32_run / f"s{i}" / "audit.wmfa") for i in range(2)] == ["fp32", "fp32"]
    side = json.loads((fp32_run / "f.npy.json").read_text())
    assert side["format"] == "wmfeat-extract" and side["rows"] == 4 and side["columns"] == 128
    # the same fields as the audit state's, but for the recipe (clean features) and the shard
    with wmfeat.Audit.load(fp32_run / "full" / "audit.wmfa") as a:
        state = a.provenance
    assert side["provenance"] == {k: v for k, v in state.items() if k != "recipe"}
    # extract --preset draws the audit's watermark (its sizes follow --crop, as the audit's do)
    assert json.loads((fp32_run / "w.npy.json").read_text())["provenance"]["recipe"] == state["recipe"]
    p = run("extract", WEIGHTS, fp32_run / "..", "--out", "/dev/null", "--json", *SMALL, "--limit", "1")
    assert json.loads(p.stdout)["precision"] == "fp32" and not pathlib.Path("/dev/null.json").exists()


def test_resume_refuses_a_state_of_another_precision(images, fp32_run, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    relabel(fp32_run / "full" / "audit.wmfa", out / "audit.wmfa", "bf16")
    before = (out / "audit.wmfa").read_bytes()
    p = run("audit", WEIGHTS, images, "--out", out, "--resume", *SMALL, code=1)
    assert f"cannot resume '{out / 'audit.wmfa'}': precision differs (state: bf16, now: fp32)" in p.stderr, p.stderr
    assert (out / "audit.wmfa").read_bytes() == before
    # the fp32 state itself resumes (nothing left to do)
    relabel(fp32_run / "full" / "audit.wmfa", out / "audit.wmfa", "fp32")
    run("audit", WEIGHTS, images, "--out", out, "--resume", "--precision", "fp32", *SMALL)


def test_merge_refuses_shards_of_another_precision(fp32_run, tmp_path):
    s0, s1 = fp32_run / "s0" / "audit.wmfa", tmp_path / "s1_bf16.wmfa"
    relabel(fp32_run / "s1" / "audit.wmfa", s1, "bf16")
    p = run("merge", "--out", tmp_path / "m.wmfa", s0, s1, code=1)
    assert "precision differs (audit 0: fp32, 1/2: bf16)" in p.stderr, p.stderr
    assert not (tmp_path / "m.wmfa").exists()
    # the fp32 shards merge
    run("merge", "--out", tmp_path / "ok.wmfa", "--quiet", s0, fp32_run / "s1" / "audit.wmfa")


def test_probe_refuses_features_or_an_audit_of_another_precision(fp32_run, tmp_path):
    f, y, w = fp32_run / "f.npy", fp32_run / "y.txt", fp32_run / "w.npy"
    (tmp_path / "y.txt").write_text("0\n1\n0\n1\n")  # two classes for the head
    base = ["probe", "--train", f, "--train-labels", tmp_path / "y.txt", "--test", f, "--test-labels",
            tmp_path / "y.txt", "--json"]
    assert json.loads(run(*base).stdout)["train"] == 4  # fp32 features, --precision fp32 by default
    p = run(*base, "--precision", "bf16", code=1)
    assert f"--train {f}: precision differs ({f}.json: fp32, now: bf16)" in p.stderr, p.stderr
    # probe runs no network: --precision bf16 needs no bf16 hardware, only bf16 features
    shutil.copy(f, tmp_path / "b.npy")
    side = json.loads((fp32_run / "f.npy.json").read_text())
    side["provenance"]["precision"] = "bf16"
    (tmp_path / "b.npy.json").write_text(json.dumps(side))
    p = run(*base[:5], "--test", tmp_path / "b.npy", *base[7:], code=1)
    assert f"--test {tmp_path / 'b.npy'}: precision differs" in p.stderr and "(" + str(tmp_path / "b.npy.json") + ": bf16, now: fp32)" in p.stderr
    run("probe", "--train", tmp_path / "b.npy", "--train-labels", tmp_path / "y.txt", "--test", tmp_path / "b.npy",
        "--test-labels", tmp_path / "y.txt", "--precision", "bf16", "--quiet")
    # the sweep's audit state
    relabel(fp32_run / "full" / "audit.wmfa", tmp_path / "a.wmfa", "bf16")
    sweep = [*base, "--sweep", "--test-wm", w, "--fractions", "0,0.5", "--out", tmp_path / "sweep"]
    p = run(*sweep, "--audit", tmp_path / "a.wmfa", code=1)
    assert f"--audit {tmp_path / 'a.wmfa'}: precision differs (state: bf16, now: fp32)" in p.stderr, p.stderr
    run(*sweep, "--audit", fp32_run / "full" / "audit.wmfa")
    # features without FEATURES.json (another program's) are taken as they are
    np.save(tmp_path / "plain.npy", np.load(f))
    run("probe", "--train", tmp_path / "plain.npy", "--train-labels", tmp_path / "y.txt", "--test",
        tmp_path / "plain.npy", "--test-labels", tmp_path / "y.txt", "--precision", "bf16", "--quiet")
