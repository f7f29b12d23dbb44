"""The wmfeat program on what users hit (issue 11, items 15-20): training checkpoints and
--state-dict-key, exit codes for wrong arguments, render --json / --quiet, info on an unknown network,
skipped and unsupported files, mask given a report, list-file and WordNet-id labels, probe stopping."""
import json
import shutil

import numpy as np
import pytest
import torch

from cli_common import PHOTOS, WEIGHTS, run


@pytest.fixture(scope="module")
def state_dict():
    return torch.load(WEIGHTS)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    for name in ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"]:
        shutil.copy(PHOTOS / name, d / name)
    return d


# ---- 16: checkpoints ------------------------------------------------------------------------------------

def test_training_checkpoint_reads_its_state_dict(state_dict, tmp_path):
    """The standard training script's checkpoint: a tensor (best_acc1) beside the state_dict."""
    ckpt = tmp_path / "checkpoint.pth.tar"
    torch.save({"epoch": 90, "arch": "resnet18", "state_dict": state_dict, "best_acc1": torch.tensor(69.76),
                "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}}, ckpt)
    info = json.loads(run("info", ckpt, "--json").stdout)
    plain = json.loads(run("info", WEIGHTS, "--json").stdout)
    assert info["weights"]["arch"] == "resnet18" and info["weights"]["tensors"] == plain["weights"]["tensors"]
    # a state_dict under a key no list of names has, beside a tensor
    other = tmp_path / "net.pth"
    torch.save({"acc": torch.tensor(93.5), "weights_v2": state_dict, "epoch": 3}, other)
    assert json.loads(run("info", other, "--json").stdout)["weights"]["arch"] == "resnet18"


def test_state_dict_key_in_every_command_that_loads_weights(state_dict, images, tmp_path):
    for cmd in ["audit", "classify", "extract", "bench", "info"]:
        assert "--state-dict-key" in run(cmd, "--help").stdout, cmd
    ckpt = tmp_path / "ema.pth"
    ema = {k: (v * 0 if k == "fc.bias" else v) for k, v in state_dict.items()}
    torch.save({"model": state_dict, "model_ema": ema}, ckpt)
    base = json.loads(run("classify", WEIGHTS, images / "coffee.png", "--json", "--top", "1").stdout)
    first = json.loads(run("classify", ckpt, images / "coffee.png", "--json", "--top", "1").stdout)
    chosen = json.loads(run("classify", ckpt, images / "coffee.png", "--json", "--top", "1",
                            "--state-dict-key", "model_ema").stdout)
    assert first[0]["top"][0]["logit"] == base[0]["top"][0]["logit"]  # equal counts: "model" comes first
    assert chosen[0]["top"][0]["logit"] != base[0]["top"][0]["logit"]
    p = run("extract", ckpt, images, "--state-dict-key", "absent", "--out", tmp_path / "f.npy", code=1)
    assert "absent" in p.stderr and "WMF_ERR_NOT_FOUND" in p.stderr
    run("info", ckpt, "--state-dict-key", "absent", code=1)


# ---- 18: exit codes ---------------------------------------------------------------------------------------

def test_wrong_arguments_exit_2_listing_the_valid_values(images, tmp_path):
    p = run("audit", WEIGHTS, images, "--preset", "no-such-preset", "--out", tmp_path / "a", code=2)
    assert "no-such-preset" in p.stderr and "imagenet-w" in p.stderr and "mmw-latin" in p.stderr
    assert not (tmp_path / "a").exists()
    p = run("render", "-p", "no-such-preset", "-o", tmp_path / "x.png", code=2)
    assert "imagenet-w" in p.stderr
    for cmd, out in [("classify", []), ("extract", ["--out", tmp_path / "f.npy"]), ("audit", ["--out", tmp_path / "o"])]:
        p = run(cmd, WEIGHTS, images, "--arch", "resnet9", *out, code=2)
        assert "resnet9" in p.stderr and "resnet18" in p.stderr and "densenet121" in p.stderr, cmd
    p = run("bench", WEIGHTS, "--arch", "vgg16bn", code=2)
    assert "vgg16_bn" in p.stderr


def test_mask_arguments_and_reports(images, tmp_path):
    run("audit", WEIGHTS, images, "--out", tmp_path / "a", "--quiet", "--batch", "4")
    state = tmp_path / "a" / "audit.wmfa"
    p = run("mask", state, "--fraction", "5", "--out", tmp_path / "m.json", code=2)
    assert "--fraction" in p.stderr and "between 0 and 1" in p.stderr
    p = run("mask", state, "--top-k", "513", "--out", tmp_path / "m.json", code=2)
    assert "512 channels" in p.stderr
    run("mask", state, "--top-k", "512", "--out", tmp_path / "m.json")
    p = run("mask", state, "--top-k", "5", "--score", "auroc", "--out", tmp_path / "m.json", code=2)
    assert "auroc" in p.stderr and "wilcoxon-z" in p.stderr
    # 20: a report where the state belongs
    p = run("mask", tmp_path / "a" / "report.json", "--top-k", "5", "--out", tmp_path / "m.json", code=2)
    assert "audit.wmfa" in p.stderr and "report" in p.stderr
    copy = tmp_path / "renamed.bin"
    shutil.copy(tmp_path / "a" / "report.json", copy)
    assert "audit.wmfa" in run("mask", copy, "--top-k", "5", "--out", tmp_path / "m.json", code=2).stderr


def test_render_json_and_quiet(tmp_path):
    out = json.loads(run("render", "-p", "imagenet-w", "-o", tmp_path / "w.png", "--json", "--seed", "3").stdout)
    assert out["output"] == str(tmp_path / "w.png") and out["text"] == "捷径捷径捷径" and out["size"] == 36
    assert out["width"] == out["height"] == 224 and out["seed"] == 3 and out["coverage"] is None
    p = run("render", "-p", "imagenet-w", "-o", tmp_path / "q.png", "--quiet")
    assert p.stdout == "" and p.stderr == "" and (tmp_path / "q.png").stat().st_size > 0
    assert "--json" in run("render", "--help").stdout


def test_info_on_an_unsupported_network_exits_1(tmp_path):
    net = tmp_path / "mlp.pth"
    torch.save({"layer.weight": torch.ones(4, 3), "layer.bias": torch.zeros(4)}, net)
    p = run("info", net, code=1)
    assert "supported families" in p.stderr and "ResNet" in p.stderr and "VGG" in p.stderr \
        and "DenseNet" in p.stderr
    out = json.loads(run("info", net, "--json", code=1).stdout)
    assert out["weights"]["arch"] is None and "WMF_ERR_UNKNOWN_ARCH" in out["weights"]["arch_error"]
    run("info")  # no weights: the library and CPU only


# ---- 20: skipped and unsupported files ---------------------------------------------------------------------

def test_skipped_files_are_counted_apart(images, tmp_path):
    d = tmp_path / "mixed"
    shutil.copytree(images, d)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (d / "empty.jpg").write_bytes(b"")
    p = run("extract", WEIGHTS, d, "--out", tmp_path / "f.npy")
    last = [l for l in p.stderr.splitlines() if l.startswith("extract:")][-1]
    assert "6/6 (100%)" in last and "4 done, 2 skipped" in last, p.stderr
    assert "2 of 6 images skipped" in p.stderr


def test_unsupported_formats_are_named_and_counted(images, tmp_path):
    d = tmp_path / "formats"
    shutil.copytree(images, d)
    (d / "scan.tif").write_bytes(b"II*\x00")
    (d / "sub").mkdir()
    (d / "sub" / "photo.webp").write_bytes(b"RIFF\x00\x00\x00\x00WEBP")
    p = run("extract", WEIGHTS, d, "--out", tmp_path / "f.npy", "--quiet")
    assert "unsupported image format, not read: " + str(d / "scan.tif") in p.stderr
    assert str(d / "sub" / "photo.webp") in p.stderr and "2 files of unsupported formats" in p.stderr
    assert np.load(tmp_path / "f.npy").shape == (4, 512)
    p = run("classify", WEIGHTS, d / "scan.tif", code=1)
    assert "unsupported image format" in p.stderr


# ---- 15: labels ---------------------------------------------------------------------------------------------

def test_list_file_labels_are_used(images, tmp_path):
    paths = sorted(images.iterdir())
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"{p}\t{lab}\n" for p, lab in zip(paths, [478, 0, "n02971356", 7])))
    run("audit", WEIGHTS, lst, "--out", tmp_path / "a", "--quiet", "--batch", "3")
    assert json.loads((tmp_path / "a" / "report.json").read_text())["num_labelled"] == 4  # was 0
    run("audit", WEIGHTS, lst, "--out", tmp_path / "b", "--labels", "--batch", "3")  # was: --labels fails
    p = run("audit", WEIGHTS, lst, "--out", tmp_path / "c", "--batch", "3")
    assert "labels: from the list file (4 of 4 images labelled)" in p.stderr
    run("extract", WEIGHTS, lst, "--out", tmp_path / "f.npy", "--labels-out", tmp_path / "y.txt", "--quiet")
    assert (tmp_path / "y.txt").read_text().split() == ["478", "0", "478", "7"]
    out = json.loads(run("classify", WEIGHTS, lst, "--json", "--top", "2").stdout)
    assert [r["label"] for r in out] == [478, 0, 478, 7]
    assert "accuracy on 4 labelled images" in run("classify", WEIGHTS, lst).stdout
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{paths[0]}\t1000\n")
    p = run("audit", WEIGHTS, bad, "--out", tmp_path / "d", code=1)
    assert "label 1000" in p.stderr and "1000 classes" in p.stderr
    bad.write_text(f"{paths[0]}\tcarton\n")
    assert "line 1" in run("extract", WEIGHTS, bad, "--out", tmp_path / "g.npy", code=1).stderr


def test_wordnet_id_folders_map_to_imagenet_indices(images, tmp_path):
    """A subset of ImageNet's synset folders: labels by WordNet id, not by folder position."""
    d = tmp_path / "val"
    paths = sorted(images.iterdir())
    for wnid, p in zip(["n02971356", "n02971356", "n03642806", "n15075141"], paths):  # carton, laptop, toilet tissue
        (d / wnid).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, d / wnid / p.name)
    p = run("extract", WEIGHTS, d, "--out", tmp_path / "f.npy", "--labels-out", tmp_path / "y.txt")
    assert (tmp_path / "y.txt").read_text().split() == ["478", "478", "620", "999"]
    assert "ImageNet WordNet ids" in p.stderr
    assert json.loads(run("extract", WEIGHTS, d, "--out", tmp_path / "f.npy", "--json").stdout)["labels"] == \
        "ImageNet WordNet ids"
    p = run("audit", WEIGHTS, d, "--labels", "--out", tmp_path / "a", "--batch", "4")
    assert "ImageNet class indices of the WordNet-id subfolders" in p.stderr
    out = json.loads(run("classify", WEIGHTS, d, "--labels", "--json").stdout)
    assert [r["label"] for r in out] == [478, 478, 620, 999]
    # one folder that is not a WordNet id: sorted-folder numbering, which a 1000-class model refuses
    (d / "extra").mkdir()
    shutil.copy(paths[0], d / "extra" / "x.png")
    p = run("extract", WEIGHTS, d, "--out", tmp_path / "f.npy", "--labels-out", tmp_path / "y.txt")
    assert (tmp_path / "y.txt").read_text().split() == ["0", "1", "1", "2", "3"]  # extra/ sorts first
    assert "sorted subfolders" in p.stderr
    p = run("audit", WEIGHTS, d, "--labels", "--out", tmp_path / "b", code=2)
    assert "4 subfolders" in p.stderr and "WordNet" in p.stderr


# ---- 17: probe stopping ------------------------------------------------------------------------------------

def test_probe_converges_as_sklearn_and_warns_when_stopped(tmp_path):
    rng = np.random.default_rng(0)  # the data of tests/python/test_probe_stopping.py: sklearn needs 864 iterations
    centers = rng.normal(0, 1, (4, 64))
    y = rng.integers(0, 4, 600)
    x = (np.maximum(centers[y] + rng.normal(0, 2.0, (600, 64)), 0) * np.exp(rng.normal(0, 1.0, 64)) * 8.0)
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    (tmp_path / "y.txt").write_text("".join(f"{v}\n" for v in y))
    args = ["probe", "--train", tmp_path / "x.npy", "--train-labels", tmp_path / "y.txt", "--test",
            tmp_path / "x.npy", "--test-labels", tmp_path / "y.txt", "--json"]
    p = run(*args)  # was: exit 1, "not converged"
    out = json.loads(p.stdout)
    assert out["plain"]["converged"] and out["plain"]["iterations"] <= 1000 and "warning" not in p.stderr
    p = run(*args, "--max-iter", "20")
    out = json.loads(p.stdout)
    assert not out["plain"]["converged"] and out["plain"]["iterations"] == 20
    assert "not converged after 20 iterations" in p.stderr and out["plain"]["clean"] > 0.5
    for flag in ["--max-iter", "--tol"]:
        assert flag in run("probe", "--help").stdout
    run(*args, "--max-iter", "0", code=2)
    run(*args, "--tol", "-1", code=2)
