"""Audit states that cannot be mixed (issue 11, items 1-4 and 14): `wmfeat audit --resume` and `wmfeat
merge` refuse states of another run naming the field, merge needs every shard once in any order, an
interrupted audit resumes to exactly the uninterrupted run and says how, crash leftovers cannot
duplicate pairs, partial states are not overwritten silently, empty shards merge; `extract` writes
NaN logits for skipped images and its .npy files atomically, never replacing a FIFO or device."""
import os
import pty
import re
import resource
import select
import shutil
import signal
import stat
import subprocess
import threading
import time

import numpy as np
import pytest

from cli_common import PHOTOS, WEIGHTS, WMFEAT, report, run

NAMES = ["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png", "camera.png",
         "retina.jpg"]
# batch 1: a forward pass of a batch of another size may differ in the last bits (one oneDNN plan per batch
# size), so runs are compared image by image
COMMON = ["--batch", "1", "--quiet"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    for name in NAMES:
        shutil.copy(PHOTOS / name, d / name)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return d


@pytest.fixture(scope="module")
def long_list(images, tmp_path_factory):
    """A list of 30 images (the photos repeated): long enough to interrupt with --batch 1."""
    f = tmp_path_factory.mktemp("list") / "list.txt"
    f.write_text("".join(f"{images / NAMES[i % len(NAMES)]}\n" for i in range(30)))
    return f


@pytest.fixture(scope="module")
def full_long(long_list, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    run("audit", WEIGHTS, long_list, "--out", out, "--batch", "1", "--quiet")
    return report(out)


def interrupt(args):
    """Runs wmfeat with stderr on a terminal (so progress is drawn at once), sends Ctrl-C (SIGINT) once
    at least one image is done, and returns (exit code, everything printed on stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([WMFEAT, *map(str, args)], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out, sent, deadline = b"", False, time.time() + 300
    while time.time() < deadline:
        if not select.select([master], [], [], 1)[0]:
            if p.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the program ended
            break
        if not chunk:
            break
        out += chunk
        if not sent and re.search(rb" ([1-9][0-9]*)/[0-9]+ ", out):
            p.send_signal(signal.SIGINT)
            sent = True
    os.close(master)
    assert sent, f"no progress seen:\n{out.decode(errors='replace')}"
    return p.wait(timeout=300), out.decode(errors="replace")


def test_interrupted_audit_says_how_to_continue_and_resumes_to_one_run(long_list, full_long, tmp_path):
    out = tmp_path / "r"
    code, err = interrupt(["audit", WEIGHTS, long_list, "--out", out, "--batch", "1"])
    assert code == 130, err
    assert "to continue, run the same command with --resume" in err and str(out / "audit.wmfa") in err
    # re-running without --resume does not overwrite the partial state
    p = run("audit", WEIGHTS, long_list, "--out", out, "--batch", "1", "--quiet", code=2)
    assert "partial audit" in p.stderr and "--resume" in p.stderr and "--force" in p.stderr
    assert not (out / "report.json").exists()
    # a crash of wmfeat 1.0 between writing the state and its progress file left a progress file
    # behind the state: it must not decide where the resumed run starts (it would duplicate pairs)
    (out / "audit.wmfa.progress").write_text('{"items_done": 0, "pairs": 0}\n')
    # a crash in the middle of a save leaves a full-size temporary: removed by the next run
    stale = out / "audit.wmfa.tmpAbC123"
    stale.write_bytes(b"\0" * 1000000)
    p = run("audit", WEIGHTS, long_list, "--out", out, "--batch", "1", "--resume")
    assert not stale.exists() and "audit.wmfa.tmpAbC123" in p.stderr
    assert report(out) == full_long
    # --force starts over
    run("audit", WEIGHTS, long_list, "--out", out, "--batch", "1", "--quiet", "--force", "--limit", "2")
    assert report(out)["num_pairs"] == 2


@pytest.fixture(scope="module")
def small_state(images, tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    run("audit", WEIGHTS, images, "--out", out, "--limit", "3", *COMMON)
    return out


@pytest.fixture(scope="module")
def other_weights(tmp_path_factory):
    """The test network with one weight changed."""
    import torch
    sd = torch.load(WEIGHTS, map_location="cpu")
    sd = sd.get("state_dict", sd)
    sd["fc.bias"][0] += 1.0
    path = tmp_path_factory.mktemp("w") / "other.pth"
    torch.save(sd, path)
    return path


@pytest.mark.parametrize("change, field", [("weights", "weights"), (["--preset", "mmw-latin"], "recipe"),
                                           (["--seed", "3"], "seed"), (["--crop", "200"], "preprocess"),
                                           (["--resize", "300"], "preprocess"), (["--limit", "2"], "inputs")])
def test_resume_refuses_another_run_naming_the_field(images, small_state, other_weights, change, field):
    weights, extra = (other_weights, []) if change == "weights" else (WEIGHTS, change)
    out = small_state.parent / f"copy-{field}-{len(extra)}"
    shutil.copytree(small_state, out, dirs_exist_ok=True)
    args = ["--limit", "3"] if "--limit" not in extra else []
    p = run("audit", weights, images, "--out", out, *args, *COMMON, "--resume", *extra, code=1)
    assert f"cannot resume '{out / 'audit.wmfa'}': {field} differs (state: " in p.stderr, p.stderr
    if field == "weights":
        assert re.search(r"state: resnet18 [0-9a-f]{16}, now: resnet18 [0-9a-f]{16}\)", p.stderr)
    # the state is untouched
    assert (out / "audit.wmfa").read_bytes() == (small_state / "audit.wmfa").read_bytes()
    # the same run resumes (nothing left to do)
    run("audit", WEIGHTS, images, "--out", out, "--limit", "3", *COMMON, "--resume")


@pytest.fixture(scope="module")
def shards(images, tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    run("audit", WEIGHTS, images, "--out", d / "full", *COMMON)
    for i in range(3):
        run("audit", WEIGHTS, images, "--shard", f"{i}/3", "--out", d / f"s{i}", *COMMON)
    run("audit", WEIGHTS, images, "--shard", "1/3", "--seed", "9", "--out", d / "seed9", *COMMON)
    return d


def test_merge_takes_each_shard_once_in_any_order(shards, tmp_path):
    s = [shards / f"s{i}" / "audit.wmfa" for i in range(3)]
    run("merge", "--out", tmp_path / "m.wmfa", "--report", tmp_path / "m", "--quiet", s[2], s[0], s[1])
    assert report(tmp_path / "m") == report(shards / "full")
    # the merged state is the state of one run
    run("merge", "--out", tmp_path / "again.wmfa", "--quiet", tmp_path / "m.wmfa")
    p = run("merge", "--out", tmp_path / "x.wmfa", s[0], s[1], s[1], code=1)
    assert "shard 1/3 is given twice (audits 1 and 2)" in p.stderr and str(s[1]) in p.stderr
    p = run("merge", "--out", tmp_path / "x.wmfa", s[2], s[0], code=1)
    assert "shard 1/3 is missing" in p.stderr
    p = run("merge", "--out", tmp_path / "x.wmfa", s[0], shards / "seed9" / "audit.wmfa", s[2], code=1)
    assert "seed differs (audit 0: 0, 1/3: 9)" in p.stderr
    assert not (tmp_path / "x.wmfa").exists()


def test_empty_shard_saves_and_merges(images, tmp_path):
    # one image in two shards: shard 0/2 is empty
    run("audit", WEIGHTS, images, "--limit", "1", "--out", tmp_path / "full", *COMMON)
    p = run("audit", WEIGHTS, images, "--limit", "1", "--shard", "0/2", "--out", tmp_path / "s0", "--batch", "3")
    assert "no images" in p.stderr and (tmp_path / "s0" / "audit.wmfa").exists()
    run("audit", WEIGHTS, images, "--limit", "1", "--shard", "1/2", "--out", tmp_path / "s1", *COMMON)
    run("merge", "--out", tmp_path / "m.wmfa", "--report", tmp_path / "m", "--quiet",
        tmp_path / "s1" / "audit.wmfa", tmp_path / "s0" / "audit.wmfa")
    assert report(tmp_path / "m") == report(tmp_path / "full")
    p = run("merge", "--out", tmp_path / "e.wmfa", "--quiet", tmp_path / "s0" / "audit.wmfa", code=1)
    assert "shard 1/2 is missing" in p.stderr


def test_extract_skipped_rows_are_nan_in_features_and_logits(images, tmp_path):
    # batch 4: the broken image's slot held an image of the previous batch
    run("extract", WEIGHTS, images, "--out", tmp_path / "f.npy", "--logits", tmp_path / "l.npy", "--batch", "4",
        "--quiet")
    f, l = np.load(tmp_path / "f.npy"), np.load(tmp_path / "l.npy")
    broken = sorted(p.name for p in images.iterdir()).index("broken.png")
    assert np.isnan(f[broken]).all() and np.isnan(l[broken]).all()
    assert np.isfinite(np.delete(l, broken, axis=0)).all()


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (10000, 10000))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG


def test_extract_write_failure_keeps_the_previous_file(images, tmp_path):
    good = tmp_path / "f.npy"
    run("extract", WEIGHTS, images, "--out", good, "--limit", "2", "--quiet")
    before, side = good.read_bytes(), (tmp_path / "f.npy.json").read_bytes()
    # 8 x 512 floats do not fit in 10000 bytes: the write fails like a full disk
    p = run("extract", WEIGHTS, images, "--out", good, "--quiet", code=1, preexec_fn=_limit_file_size)
    assert str(good) in p.stderr
    assert good.read_bytes() == before
    # no temporary left; the features' provenance (FEATURES.json) still describes the kept file
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.npy", "f.npy.json"]
    assert (tmp_path / "f.npy.json").read_bytes() == side


def test_extract_into_a_fifo_writes_into_it(images, tmp_path):
    fifo = tmp_path / "out.npy"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    run("extract", WEIGHTS, images, "--out", fifo, "--limit", "2", "--quiet")
    reader.join(60)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert got and got[0].startswith(b"\x93NUMPY") and len(got[0]) == 128 + 2 * 512 * 4
