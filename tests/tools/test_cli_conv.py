"""`--conv auto|direct` (issue 13, item 1: the session option that forces direct convolution), on the planted
network of examples/data: an unknown value is a usage error; the audit state, its shards and extract's
FEATURES.npy.json record the algorithm as "convolution"; resuming or merging a state of the other algorithm
is refused naming the field; the binding's Session(conv=), audit_files(conv=) and run_provenance(conv=) give
the same record, and audit_files equals `wmfeat audit --conv direct` byte for byte."""
import json
import os
import pathlib
import shutil
import sys

import pytest

from cli_common import planted_images, run

ROOT = pathlib.Path(os.environ["WMF_SOURCE_ROOT"])
DATA = ROOT / "examples" / "data"
WEIGHTS = DATA / "planted_resnet.safetensors"
sys.path.insert(0, str(ROOT / "examples" / "python"))
import wmfeat  # noqa: E402  (WMFEAT_LIBRARY: the library just built)

SMALL = ["--resize", "64", "--crop", "64", "--batch", "2", "--quiet"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return planted_images(tmp_path_factory.mktemp("imgs"))


def convolution(path):
    with wmfeat.Audit.load(path) as a:
        return a.provenance.get("convolution")


@pytest.mark.parametrize("command", ["audit", "extract", "classify", "bench"])
def test_unknown_conv_is_a_usage_error(command):
    given = ["w"] if command == "bench" else ["w", "in"]
    p = run(command, *given, "--conv", "fft", code=2)
    assert "unknown --conv 'fft' (valid: auto, direct)" in p.stderr, p.stderr
    assert "--conv" in run(command, "--help").stdout


@pytest.fixture(scope="module")
def runs(images, tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    run("audit", WEIGHTS, images, "--out", d / "auto", *SMALL)
    run("audit", WEIGHTS, images, "--out", d / "direct", "--conv", "direct", *SMALL)
    for i in range(2):
        run("audit", WEIGHTS, images, "--out", d / f"a{i}", "--shard", f"{i}/2", *SMALL)
        run("audit", WEIGHTS, images, "--out", d / f"d{i}", "--shard", f"{i}/2", "--conv", "direct", *SMALL)
    run("extract", WEIGHTS, images, "--out", d / "f.npy", "--conv", "direct", *SMALL)
    return d


def test_states_and_features_record_the_algorithm(runs):
    assert convolution(runs / "auto" / "audit.wmfa") == "auto"
    assert convolution(runs / "direct" / "audit.wmfa") == "direct"
    assert [convolution(runs / f"d{i}" / "audit.wmfa") for i in range(2)] == ["direct", "direct"]
    side = json.loads((runs / "f.npy.json").read_text())
    assert side["provenance"]["convolution"] == "direct"


def test_resume_refuses_a_state_of_the_other_algorithm(images, runs, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    shutil.copy(runs / "direct" / "audit.wmfa", out / "audit.wmfa")
    before = (out / "audit.wmfa").read_bytes()
    p = run("audit", WEIGHTS, images, "--out", out, "--resume", *SMALL, code=1)
    assert f"cannot resume '{out / 'audit.wmfa'}': convolution differs (state: direct, now: auto)" in p.stderr, p.stderr
    assert (out / "audit.wmfa").read_bytes() == before
    run("audit", WEIGHTS, images, "--out", out, "--resume", "--conv", "direct", *SMALL)


def test_merge_refuses_shards_of_the_other_algorithm(runs, tmp_path):
    p = run("merge", "--out", tmp_path / "m.wmfa", runs / "a0" / "audit.wmfa", runs / "d1" / "audit.wmfa", code=1)
    assert "convolution differs (audit 0: auto, 1/2: direct)" in p.stderr, p.stderr
    assert not (tmp_path / "m.wmfa").exists()
    run("merge", "--out", tmp_path / "ok.wmfa", "--quiet", runs / "d0" / "audit.wmfa", runs / "d1" / "audit.wmfa")
    assert convolution(tmp_path / "ok.wmfa") == "direct"


def test_the_binding_takes_and_records_the_algorithm(images, runs, tmp_path):
    with pytest.raises(ValueError, match="conv 'fft'"):
        wmfeat.ConvAlgorithm.of("fft")
    assert wmfeat.ConvAlgorithm.of("DIRECT") == wmfeat.ConvAlgorithm.DIRECT and wmfeat.ConvAlgorithm.AUTO.label == "auto"
    with wmfeat.Model.open(WEIGHTS) as model:
        with wmfeat.Session(model, input_size=64, conv="direct") as s:
            assert s.conv == wmfeat.ConvAlgorithm.DIRECT
        with pytest.raises(ValueError):
            wmfeat.audit_files(model, images, resize=64, crop=64, conv="winograd")
        audit, info = wmfeat.audit_files(model, images, resize=64, crop=64, batch=2, conv="direct")
        assert info["convolution"] == "direct"
        with wmfeat.Weights.open(WEIGHTS) as w, wmfeat.Watermark.from_preset("imagenet-w") as wm:
            wm.reference_size = 64
            paths = sorted(p.name for p in images.iterdir())
            fields = wmfeat.run_provenance(w, model, wm, 0, 64, 64, wmfeat.list_fingerprint(paths, None),
                                           conv=info["convolution"])
        assert fields["convolution"] == "direct"
        audit.provenance = fields
        audit.items_done = 4
        audit.save(tmp_path / "py.wmfa")
        audit.close()
    # the binding's state is the CLI's, byte for byte
    assert (tmp_path / "py.wmfa").read_bytes() == (runs / "direct" / "audit.wmfa").read_bytes()
