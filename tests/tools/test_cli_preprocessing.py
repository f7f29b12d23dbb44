"""The wmfeat program and the Python binding preprocess as torchvision's transforms of the weights
(`weights.transforms()`): `info` reports the resize, crop, interpolation and Normalize of every torchvision
network of tests/nn as torchvision's weight metadata gives them; `extract`'s input of efficientnet_b0
(bicubic) is torchvision's transforms, and --filter and --normalize change it as they say; the audit state
records the preprocessing and --resume refuses another; the binding's audit_files and run_provenance agree."""
import json
import os
import pathlib
import shutil
import sys

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms._presets import ImageClassification

from cli_common import PHOTOS, run

sys.path.insert(0, str(pathlib.Path(os.environ["WMF_SOURCE_ROOT"]) / "examples" / "python"))
import wmfeat  # noqa: E402

MODELS = pathlib.Path(os.environ["WMFEAT_TEST_MODELS"])
# every network tests/nn made (the large ones with -Dlarge_models=true); tiny_* are not torchvision's
NAMES = [n for n in os.environ["WMFEAT_PREPROCESS_MODELS"].split(",") if not n.startswith("tiny_")]
# The weights whose transforms the defaults follow (docs/models.md): torchvision's DEFAULT, but the ResNet
# family and MobileNet-v2 / v3-large keep IMAGENET1K_V1's (resize 256), the files most users have.
V1 = ("resnet", "resnext", "wide_resnet", "mobilenet_v2", "mobilenet_v3_large")
PHOTO_NAMES = ["chelsea.png", "coffee.png"]


def torchvision_weights(name, crop):
    if name == "vit_h_14":  # SWAG only: E2E at 518 px, LINEAR at 224
        return "IMAGENET1K_SWAG_E2E_V1" if crop == 518 else "IMAGENET1K_SWAG_LINEAR_V1"
    return "IMAGENET1K_V1" if name.startswith(V1) else "DEFAULT"


@pytest.mark.parametrize("name", NAMES)
def test_info_is_torchvision_weights_transforms(name):
    info = json.loads(run("info", MODELS / f"{name}.safetensors", "--json").stdout)["weights"]
    t = torchvision.models.get_model_weights(name)[torchvision_weights(name, info["crop"])].transforms()
    assert (info["resize"], info["crop"], info["filter"]) == (t.resize_size[0], t.crop_size[0], t.interpolation.value)
    assert info["mean"] == pytest.approx(list(t.mean)) and info["std"] == pytest.approx(list(t.std))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    for n in PHOTO_NAMES:
        shutil.copy(PHOTOS / n, d / n)
    return d


@pytest.fixture(scope="module")
def b0():
    """efficientnet_b0 of tests/nn, and torch's pooled output of its `features.1` (an early stage: the random
    network's last features hardly depend on the input's fine detail) for a given transform."""
    m = torchvision.models.efficientnet_b0()
    m.load_state_dict(torch.load(MODELS / "efficientnet_b0.pth"))
    m.eval()

    def stage(transform):
        x = torch.stack([transform(Image.open(PHOTOS / n).convert("RGB")) for n in PHOTO_NAMES])
        with torch.no_grad():
            return m.features[:2](x).mean((2, 3)).numpy()
    return stage


def extract(photos, tmp_path, *options):
    out = tmp_path / f"f{len(list(tmp_path.iterdir()))}.npy"
    run("extract", MODELS / "efficientnet_b0.pth", photos, "--out", out, "--stage", "features.1", "--quiet", *options)
    return np.load(out), json.loads(pathlib.Path(f"{out}.json").read_text())["provenance"]["preprocess"]


def relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_extract_input_is_torchvision_transforms(b0, photos, tmp_path):
    bicubic = b0(torchvision.models.EfficientNet_B0_Weights.DEFAULT.transforms())
    bilinear = b0(ImageClassification(crop_size=224, resize_size=256, interpolation=InterpolationMode.BILINEAR))
    inception = b0(ImageClassification(crop_size=224, resize_size=256, interpolation=InterpolationMode.BICUBIC,
                                       mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)))
    assert relative(bilinear, bicubic) > 1e-4  # the stage tells the two apart
    got, pre = extract(photos, tmp_path)
    assert relative(got, bicubic) < 1e-5 and pre == "resize=256 crop=224 filter=bicubic"
    got, pre = extract(photos, tmp_path, "--filter", "bilinear")
    assert relative(got, bilinear) < 1e-5 and pre == "resize=256 crop=224 filter=bilinear"
    got, pre = extract(photos, tmp_path, "--normalize", "inception")
    assert relative(got, inception) < 1e-5
    assert pre == "resize=256 crop=224 filter=bicubic mean=0.5,0.5,0.5 std=0.5,0.5,0.5"
    p = run("extract", MODELS / "efficientnet_b0.pth", photos, "--out", tmp_path / "x.npy", "--filter", "nearest",
            code=2)
    assert "--filter" in p.stderr and "bicubic" in p.stderr
    p = run("extract", MODELS / "efficientnet_b0.pth", photos, "--out", tmp_path / "x.npy", "--normalize", "none",
            code=2)
    assert "--normalize" in p.stderr and "inception" in p.stderr


def test_audit_records_preprocessing_and_resume_checks_it(photos, tmp_path):
    weights = MODELS / "efficientnet_b0.pth"
    run("audit", weights, photos, "--out", tmp_path / "a", "--bootstrap", "0", "--quiet")
    state = tmp_path / "a" / "audit.wmfa"
    assert b"resize=256 crop=224 filter=bicubic" in state.read_bytes()
    # --resize and --crop given: the workers start before the model loads, bilinear until it says bicubic; the
    # batches they made are made again, so the pairs are those of the run above
    run("audit", weights, photos, "--out", tmp_path / "b", "--bootstrap", "0", "--quiet", "--resize", "256",
        "--crop", "224")
    assert (tmp_path / "b" / "audit.wmfa").read_bytes() == state.read_bytes()
    p = run("audit", weights, photos, "--out", tmp_path / "a", "--bootstrap", "0", "--quiet", "--resume",
            "--filter", "bilinear", code=1)
    assert "preprocess" in p.stderr
    run("audit", weights, photos, "--out", tmp_path / "c", "--bootstrap", "0", "--quiet", "--normalize", "inception")
    assert b"filter=bicubic mean=0.5,0.5,0.5 std=0.5,0.5,0.5" in (tmp_path / "c" / "audit.wmfa").read_bytes()


def test_binding_defaults_and_provenance(photos, tmp_path):
    with wmfeat.Model.open(str(MODELS / "efficientnet_b0.pth")) as model:
        assert model.default_filter == wmfeat.BICUBIC and model.default_normalize == wmfeat.IMAGENET
        audit, info = wmfeat.audit_files(model, str(photos), batch=2, threads=2)
        assert info["filter"] == wmfeat.BICUBIC and info["norm"] == wmfeat.IMAGENET
        with wmfeat.Weights.open(str(MODELS / "efficientnet_b0.pth")) as w:
            fields = wmfeat.run_provenance(w, model, None, 0, 256, 224, "x", filter=info["filter"], norm=info["norm"])
        assert fields["preprocess"] == "resize=256 crop=224 filter=bicubic"
        assert wmfeat.preprocess_description(256, 224, wmfeat.BILINEAR, wmfeat.INCEPTION) == \
            "resize=256 crop=224 filter=bilinear mean=0.5,0.5,0.5 std=0.5,0.5,0.5"
        # the same pairs as the program's audit of the same photos
        run("audit", MODELS / "efficientnet_b0.pth", photos, "--out", tmp_path / "a", "--bootstrap", "0", "--quiet",
            "--batch", "2", "--threads", "2")
        program = wmfeat.Audit.load(str(tmp_path / "a" / "audit.wmfa")).pairs()
        for key in ("clean_features", "wm_features"):
            assert np.array_equal(program[key], audit.pairs()[key])
    with wmfeat.Model.open(str(MODELS / "resnet18.pth")) as model:
        assert model.default_filter == wmfeat.BILINEAR and model.default_normalize == wmfeat.IMAGENET


def test_classify_input_is_extracts(photos, tmp_path):
    """classify's own preparation (one call for bilinear, resize + crop + normalize for bicubic) gives the logits
    of extract's, which the test above holds to torchvision's transforms."""
    weights, image = MODELS / "efficientnet_b0.pth", photos / PHOTO_NAMES[0]
    seen = []
    for options in ([], ["--filter", "bilinear"], ["--normalize", "inception"], ["--filter", "bilinear",
                                                                              "--normalize", "inception"]):
        top = json.loads(run("classify", weights, image, "--json", "--top", "5", *options).stdout)[0]["top"]
        out = tmp_path / f"l{len(seen)}.npy"
        run("extract", weights, image, "--out", tmp_path / "f.npy", "--logits", out, "--quiet", *options)
        logits = np.load(out)[0]
        assert [t["logit"] for t in top] == [float(logits[t["class"]]) for t in top]
        seen.append([t["logit"] for t in top])
    assert len({tuple(s) for s in seen}) == 4  # each option changes the input
