"""`wmfeat info` names each MobileNet, ShuffleNet, ConvNeXt (tiny), RegNet and EfficientNet architecture from a torchvision weight file, and
`wmfeat audit` runs on each (random weights from tests/nn/make_reference.py, three photos, no bootstrap)."""
import json
import os
import pathlib
import shutil
import struct
import sys

import numpy as np
import pytest

from cli_common import PHOTOS, report, run

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "weights"))
from safetensors_writer import save_file  # noqa: E402

MODELS = pathlib.Path(os.environ["WMFEAT_TEST_MODELS"])
# name, family, features, file the test loads
CASES = [("mobilenet_v2", "mobilenet", 1280, "pth"), ("mobilenet_v3_large", "mobilenet", 1280, "safetensors"),
         ("mobilenet_v3_small", "mobilenet", 1024, "pth"), ("shufflenet_v2_x0_5", "shufflenet", 1024, "safetensors"),
         ("shufflenet_v2_x1_0", "shufflenet", 1024, "pth"), ("shufflenet_v2_x1_5", "shufflenet", 1024, "safetensors"),
         ("shufflenet_v2_x2_0", "shufflenet", 2048, "safetensors"),
         ("convnext_tiny", "convnext", 768, "pth")]
CASES += [("regnet_x_400mf", "regnet", 400, "safetensors"), ("regnet_y_400mf", "regnet", 440, "pth")]
CASES += [("efficientnet_b0", "efficientnet", 1280, "pth"), ("efficientnet_v2_s", "efficientnet", 1280, "safetensors")]
# the crop and resize of torchvision's DEFAULT weights transforms, the defaults of `wmfeat audit`
DEFAULT_SIZES = {"efficientnet_b0": (224, 256), "efficientnet_v2_s": (384, 384)}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    for name in ["astronaut.png", "coffee.png", "chelsea.png"]:
        shutil.copy(PHOTOS / name, d / name)
    return d


@pytest.mark.parametrize("name,family,features,ext", CASES)
def test_info_names_the_architecture(name, family, features, ext):
    info = json.loads(run("info", MODELS / f"{name}.{ext}", "--json").stdout)["weights"]
    assert (info["arch"], info["family"], info["classes"], info["features"]) == (name, family, 1000, features)


@pytest.mark.parametrize("name", ["regnet_x_400mf", "regnet_y_400mf"])
def test_regnet_preprocessing_defaults(name, images, tmp_path):
    """torchvision's DEFAULT RegNet weights (IMAGENET1K_V2) resize to 232 and crop 224; audit follows."""
    info = json.loads(run("info", MODELS / f"{name}.safetensors", "--json").stdout)["weights"]
    assert (info["resize"], info["crop"]) == (232, 224)
    run("audit", MODELS / f"{name}.safetensors", images, "--out", tmp_path / "r", "--quiet", "--bootstrap", "0")
    assert b"resize=232 crop=224" in (tmp_path / "r" / "audit.wmfa").read_bytes()
@pytest.mark.parametrize("name", sorted(DEFAULT_SIZES))
def test_info_gives_the_default_sizes(name):
    info = json.loads(run("info", MODELS / f"{name}.safetensors", "--json").stdout)["weights"]
    assert (info["crop"], info["resize"]) == DEFAULT_SIZES[name]


@pytest.mark.parametrize("name,family,features,ext", CASES)
def test_audit_runs(name, family, features, ext, images, tmp_path):
    run("audit", MODELS / f"{name}.{ext}", images, "--out", tmp_path / "r", "--quiet", "--bootstrap", "0")
    r = report(tmp_path / "r")
    assert (r["num_pairs"], r["num_classes"], r["num_features"]) == (3, 1000, features)


def test_convnext_preprocessing_follows_torchvision():
    """ConvNeXt-T's weights transforms: resize 236, crop 224 (bilinear)."""
    w = json.loads(run("info", MODELS / "convnext_tiny.safetensors", "--json").stdout)["weights"]
    assert (w["resize"], w["crop"]) == (236, 224)


def read_safetensors(path):
    b = path.read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    head = json.loads(b[8:8 + n])
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype=np.float32)
            .reshape(v["shape"]) for k, v in head.items() if k != "__metadata__"}


@pytest.mark.parametrize("name,drop,message", [
    ("mobilenet_v2", "features.5.conv.1.0.weight", "tensor 'features.5.conv.1.0.weight' is missing"),
    ("mobilenet_v2", "features.17.", "MobileNet-v2 weights with 16 inverted residual blocks"),
    ("mobilenet_v3_small", "features.4.block.2.fc2.bias", "tensor 'features.4.block.2.fc2.bias' is missing"),
    ("shufflenet_v2_x0_5", "stage3.", "tensor 'stage3.0.branch2.5.weight' is missing"),
    ("convnext_tiny", "features.5.3.block.3.bias", "tensor 'features.5.3.block.3.bias' is missing"),
    ("regnet_y_400mf", "trunk_output.block2.block2-1.f.se.fc2.weight",
     "tensor 'trunk_output.block2.block2-1.f.se.fc2.weight' is missing"),
    ("regnet_x_400mf", "trunk_output.block3.block3-0.proj.",
     "tensor 'trunk_output.block3.block3-0.proj.0.weight' is missing"),
    ("efficientnet_b0", "features.3.1.block.3.", "tensor 'features.3.1.block.3.0.weight' is missing"),
    ("efficientnet_v2_s", "features.7.", "tensor 'features.7.0.weight' is missing"),
    ("efficientnet_v2_s", "features.4.0.block.2.fc2.", "tensor 'features.4.0.block.2.fc2.weight' is missing"),
])
def test_broken_weights_are_named(name, drop, message, tmp_path):
    """The first problem is the one reported (not a later lookup's), exit 1, never a signal."""
    sd = {k: v for k, v in read_safetensors(MODELS / f"{name}.safetensors").items() if not k.startswith(drop)}
    save_file(sd, str(tmp_path / "broken.safetensors"))
    p = run("info", tmp_path / "broken.safetensors", code=1)
    assert message in p.stderr, p.stderr
