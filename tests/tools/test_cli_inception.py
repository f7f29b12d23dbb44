"""The wmfeat program on AlexNet, GoogLeNet and Inception-v3 files (tests/nn's random-weight
torchvision networks): `info` names them, the preprocessing defaults follow the model (Inception-v3:
resize 342, crop 299), --transform-input is checked, and an audit runs."""
import json
import pathlib

from cli_common import PHOTOS, WEIGHTS, run

REF = pathlib.Path(WEIGHTS).parent


def test_info_names_the_architecture():
    for name, features, resize, crop in [("alexnet", 4096, 256, 224), ("googlenet", 1024, 256, 224),
                                         ("inception_v3", 2048, 342, 299)]:
        w = json.loads(run("info", REF / f"{name}.safetensors", "--json").stdout)["weights"]
        assert (w["arch"], w["family"], w["features"]) == (name, name, features)
        assert (w["resize"], w["crop"]) == (resize, crop)


def test_transform_input_option():
    p = run("classify", WEIGHTS, PHOTOS / "astronaut.png", "--transform-input", "sideways", code=2)
    assert "--transform-input" in p.stderr
    p = run("classify", WEIGHTS, PHOTOS / "astronaut.png", "--transform-input", "on", code=1)
    assert "googlenet and inception_v3" in p.stderr
    on = run("classify", REF / "googlenet.safetensors", PHOTOS / "astronaut.png", "--json").stdout
    off = run("classify", REF / "googlenet.safetensors", PHOTOS / "astronaut.png", "--json",
              "--transform-input", "off").stdout
    assert on == run("classify", REF / "googlenet.safetensors", PHOTOS / "astronaut.png", "--json",
                     "--transform-input", "on").stdout
    assert json.loads(on)[0]["top"] != json.loads(off)[0]["top"]


def test_audit_inception_v3_at_its_own_size(tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    for name in ("astronaut.png", "coffee.png"):
        (images / name).write_bytes((PHOTOS / name).read_bytes())
    run("audit", REF / "inception_v3.safetensors", images, "--out", tmp_path / "out", "--bootstrap", "0",
        "--threads", "2")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["num_pairs"] == 2 and report["num_features"] == 2048
    # the run's provenance, recorded in the audit state, has the model's preprocessing
    assert b"resize=342 crop=299" in (tmp_path / "out" / "audit.wmfa").read_bytes()
