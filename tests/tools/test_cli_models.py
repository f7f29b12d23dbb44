"""`wmfeat info` names each MobileNet and ShuffleNet architecture from a torchvision weight file, and
`wmfeat audit` runs on each (random weights from tests/nn/make_reference.py, three photos, no bootstrap)."""
import json
import os
import pathlib
import shutil

import pytest

from cli_common import PHOTOS, report, run

MODELS = pathlib.Path(os.environ["WMFEAT_TEST_MODELS"])
# name, family, features, file the test loads
CASES = [("mobilenet_v2", "mobilenet", 1280, "pth"), ("mobilenet_v3_large", "mobilenet", 1280, "safetensors"),
         ("mobilenet_v3_small", "mobilenet", 1024, "pth"), ("shufflenet_v2_x0_5", "shufflenet", 1024, "safetensors"),
         ("shufflenet_v2_x1_0", "shufflenet", 1024, "pth"), ("shufflenet_v2_x1_5", "shufflenet", 1024, "safetensors"),
         ("shufflenet_v2_x2_0", "shufflenet", 2048, "safetensors")]


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


@pytest.mark.parametrize("name,family,features,ext", CASES)
def test_audit_runs(name, family, features, ext, images, tmp_path):
    run("audit", MODELS / f"{name}.{ext}", images, "--out", tmp_path / "r", "--quiet", "--bootstrap", "0")
    r = report(tmp_path / "r")
    assert (r["num_pairs"], r["num_classes"], r["num_features"]) == (3, 1000, features)
