"""examples/python/dask_audit.py: an audit spread over a Dask LocalCluster (2 workers) merges into
exactly the single-process audit."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch
import torchvision

import dask_audit
import wmfeat
from wmfeat import Audit, Score, Target

torch.set_num_threads(2)
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg",
          "hubble_deep_field.jpg", "coins.png", "camera.png", "horse.png", "logo.png", "color.png"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask")
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=12).eval()
    torch.save(net.state_dict(), d / "r18.pth")
    # two class folders, so images get labels 0 and 1; one undecodable file is skipped
    for k, name in enumerate(PHOTOS):
        folder = d / "images" / ("a" if k % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(SKIMAGE + name, folder / name)
    (d / "images" / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    return d


# batch 1: on some CPUs (oneDNN's AVX2 kernels) an image's outputs depend in the last bits on the batch
# size, and shards cut the batches elsewhere than a single run does
OPTIONS = dict(arch=None, preset="imagenet-w", batch=1, threads=1, resize=73, crop=64, seed=11)


def test_list_and_shards(setup):
    paths, labels = dask_audit.list_images(str(setup / "images"))
    assert len(paths) == len(PHOTOS) + 1 and paths == sorted(paths)
    assert set(labels) == {0, 1}
    blocks = [dask_audit.shard_bounds(12, i, 5) for i in range(5)]
    assert blocks[0][0] == 0 and blocks[-1][1] == 12
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    assert {b - a for a, b in blocks} <= {2, 3}


def test_cluster_merge_equals_single_process(setup, tmp_path):
    from distributed import Client, LocalCluster
    weights = str(setup / "r18.pth")
    paths, labels = dask_audit.list_images(str(setup / "images"))

    single, skipped_single = dask_audit.audit_images(weights, paths, labels, 0, OPTIONS)
    prov = dask_audit.provenance(weights, paths, labels, OPTIONS)
    dask_audit.stamp(single, prov, 0, 1, len(paths))  # what one run records
    assert single.num_pairs == len(PHOTOS) and len(skipped_single) == 1
    assert "broken.png" in skipped_single[0]
    assert (single.num_classes, single.num_features) == (12, 512)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        assert len(client.nthreads()) == 2
        logs = []
        merged, skipped = dask_audit.run_on_cluster(client, weights, paths, labels, OPTIONS, shards=4,
                                                    log=logs.append)
        assert len(logs) == 4 and skipped == skipped_single
        # the same with the states in a shared folder, and a different shard count
        by_path, _ = dask_audit.run_on_cluster(client, weights, paths, labels, OPTIONS, shards=3,
                                               state_dir=str(tmp_path), log=lambda s: None)
        # resuming: shard 1's state is lost, only it runs again
        (tmp_path / "shard_0001.wmfa").unlink()
        logs = []
        resumed, _ = dask_audit.run_on_cluster(client, weights, paths, labels, OPTIONS, shards=3,
                                               state_dir=str(tmp_path), log=logs.append, resume=True)
        assert sum("reused" in line for line in logs) == 2 and sum("done" in line for line in logs) == 1
        # a state of another run (another seed) in the folder is refused, naming the field
        with pytest.raises(wmfeat.Error, match=r"cannot reuse .*shard_000[0-2].wmfa: .*seed differs \(state: 11, now: 12\)"):
            dask_audit.run_on_cluster(client, weights, paths, labels, dict(OPTIONS, seed=12), shards=3,
                                      state_dir=str(tmp_path), log=lambda s: None, resume=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard_0000.wmfa", "shard_0001.wmfa",
                                                          "shard_0002.wmfa"]

    state = single.to_bytes()
    assert merged.to_bytes() == state
    assert by_path.to_bytes() == state
    assert resumed.to_bytes() == state
    for score in Score:
        assert np.array_equal(merged.scores(Target.CLASSES, score), single.scores(Target.CLASSES, score),
                              equal_nan=True)
    assert np.array_equal(merged.scores(Target.CHANNELS, Score.AUC), single.scores(Target.CHANNELS, Score.AUC))
    # the watermark moved something: not every logit AUC is 0.5
    assert np.any(single.scores(Target.CLASSES, Score.AUC) != 0.5)

    out = tmp_path / "report"
    dask_audit.write_reports(merged, str(out), log=lambda s: None)
    single.write_json(tmp_path / "single.json")
    assert (out / "report.json").read_bytes() == (tmp_path / "single.json").read_bytes()
    assert json.loads((out / "report.json").read_text())["num_labelled"] == len(PHOTOS)
    assert Audit.load(out / "audit.wmfa").to_bytes() == state
    for name in ("classes.csv", "channels.csv", "classes.svg", "channels.svg"):
        assert (out / name).stat().st_size > 0


def test_shard_states_equal_the_wmfeat_program(setup, tmp_path):
    """dask_audit's shard states are the files `wmfeat audit --shard I/N` writes, byte for byte, and
    `wmfeat merge` of them equals the single-process audit."""
    exe = os.environ.get("WMF_WMFEAT")
    assert exe and os.access(exe, os.X_OK), "WMF_WMFEAT is not set: run via meson test"
    weights = str(setup / "r18.pth")
    paths, _ = dask_audit.list_images(str(setup / "images"))
    labels = [-1] * len(paths)  # wmfeat audit without --labels
    # the provenance as the driver computes it: the list hashed relative to the input folder
    options = dict(OPTIONS, provenance=dask_audit.provenance(weights, paths, labels, OPTIONS,
                                                             str(setup / "images")))
    single, _ = dask_audit.audit_images(weights, paths, labels, 0, options)
    dask_audit.stamp(single, options["provenance"], 0, 1, len(paths))
    states = []
    for i in range(3):
        state = tmp_path / f"shard_{i:04d}.wmfa"
        subprocess.run([exe, "audit", weights, str(setup / "images"), "--preset", "imagenet-w",
                        "--shard", f"{i}/3", "--state", str(state), "--out", str(tmp_path / f"out{i}"),
                        "--resize", "73", "--crop", "64", "--seed", "11", "--batch", "1",
                        "--threads", "1", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        lo, hi = dask_audit.shard_bounds(len(paths), i, 3)
        data, _, _ = dask_audit.audit_shard(weights, paths[lo:hi], labels[lo:hi], lo, options, None, i, 3)
        assert Audit.load(state).provenance == Audit.from_bytes(data).provenance, f"shard {i}"
        assert state.read_bytes() == data, f"shard {i}"
        states.append(str(state))
    # any order: the result is ordered by shard
    subprocess.run([exe, "merge", "--out", str(tmp_path / "merged.wmfa"), "--quiet"] + states[::-1],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)
    assert (tmp_path / "merged.wmfa").read_bytes() == single.to_bytes()
    assert Audit.load(tmp_path / "merged.wmfa").provenance["shard"] == "0/1"
    # and the Python merge of the same states
    assert dask_audit.merge_states(states[::-1]).to_bytes() == single.to_bytes()
    with pytest.raises(wmfeat.Error, match="shard 1/3 is given twice"):
        dask_audit.merge_states([states[0], states[1], states[1]])


def test_precision_is_recorded_and_never_falls_back(setup, tmp_path):
    """--precision of the Dask example: the shard states record it, bf16 on a CPU without bf16 instructions
    fails naming them (the driver before starting a cluster, a task when run), and states of another
    precision do not merge."""
    weights = str(setup / "r18.pth")
    paths, labels = dask_audit.list_images(str(setup / "images"))
    bf16_options = dict(OPTIONS, precision="bf16")
    assert dask_audit.provenance(weights, paths, labels, OPTIONS)["precision"] == "fp32"
    assert dask_audit.provenance(weights, paths, labels, bf16_options)["precision"] == "bf16"
    if not wmfeat.has_bf16():
        with pytest.raises(SystemExit, match="--precision bf16: this CPU has no bf16 instructions"):
            dask_audit.main([weights, str(setup / "images"), "--precision", "bf16", "--out-dir", str(tmp_path)])
        with pytest.raises(wmfeat.Error, match="bf16 needs AVX512-BF16"):
            dask_audit.audit_images(weights, paths[:2], labels[:2], 0, bf16_options)
    options = dict(OPTIONS, provenance=dask_audit.provenance(weights, paths, labels, OPTIONS))
    states = [dask_audit.audit_shard(weights, paths[lo:hi], labels[lo:hi], lo, options, None, i, 2)[0]
              for i, (lo, hi) in enumerate(dask_audit.shard_bounds(len(paths), i, 2) for i in range(2))]
    with Audit.from_bytes(states[1]) as other:  # shard 1 as a bf16 run would have recorded it
        other.provenance = dict(other.provenance, precision="bf16")
        states[1] = other.to_bytes()
    with pytest.raises(wmfeat.Error, match=r"precision differs \(audit 0: fp32, 1/2: bf16\)"):
        dask_audit.merge_states(states)
