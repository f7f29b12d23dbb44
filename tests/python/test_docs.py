"""The end-to-end example of docs/python.md runs as written, on a small network and a few photos."""
import re
import shutil

import torch
import torchvision

from conftest import ROOT

torch.set_num_threads(2)
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"


def example_block():
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    found = [b for b in blocks if "WEIGHTS = " in b]
    assert len(found) == 1, "docs/python.md should hold one end-to-end example"
    return found[0]


def test_end_to_end_example_runs(tmp_path, monkeypatch, capsys):
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    torch.save(net.state_dict(), tmp_path / "r18.pth")
    for k, names in enumerate((["astronaut.png", "coffee.png", "rocket.jpg"],
                               ["chelsea.png", "motorcycle_left.png", "horse.png"])):
        folder = tmp_path / "val" / f"class{k}"
        folder.mkdir(parents=True)
        for name in names:
            shutil.copy(SKIMAGE + name, folder / name)
    code = example_block()
    for name, value in (("WEIGHTS", repr(str(tmp_path / "r18.pth"))), ("VAL", repr(str(tmp_path / "val"))),
                        ("BATCH", "4")):
        code, count = re.subn(rf"^{name} = .*$", f"{name} = {value}", code, flags=re.M)
        assert count == 1, name
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/python.md", "exec"), {})
    out = capsys.readouterr().out
    assert "6 pairs; top-1 clean" in out
    assert "channels with d > 0.7:" in out
    assert out.count("accuracy clean") == 2
    for name in ("report.json", "classes.svg", "mask.npy"):
        assert (tmp_path / name).stat().st_size > 0
