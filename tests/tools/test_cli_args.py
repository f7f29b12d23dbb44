"""The wmfeat program's arguments and JSON output, without the reference data (issue 14): `render` goes
through the shared parser (any option order, the common options, the same errors as every command),
every --json output is JSON that escapes quotes, backslashes and non-ASCII text correctly, and `demo`
finds its data through --data, WMFEAT_DATA or the copy beside the program."""
import json
import os
import pathlib
import shutil

import numpy as np
import pytest
from PIL import Image

from cli_common import WMFEAT, run

DATA = pathlib.Path(os.environ["WMF_SOURCE_ROOT"]) / "examples" / "data"
# a name with a quote, a backslash, a CJK character, a space and a tab: each needs its own JSON escape
HOSTILE = 'we"ird\\ 捷\tname'


def pixels(path):
    return np.asarray(Image.open(path))


# ---- render: one parser ------------------------------------------------------------------------------

def test_render_pool_and_count_in_any_order(tmp_path):
    """--count used to apply only when given before --pool."""
    a = json.loads(run("render", "--font", "Liberation Serif", "--pool", "ABCDEFG", "--count", "3", "--size", "20",
                       "--pos", "0.1,0.5", "-s", "96x48", "--seed", "5", "-o", tmp_path / "a.png", "--json").stdout)
    b = json.loads(run("render", "--json", "-o", tmp_path / "b.png", "--seed", "5", "-s", "96x48", "--pos", "0.1,0.5",
                       "--size", "20", "--count", "3", "--pool", "ABCDEFG", "--font", "Liberation Serif").stdout)
    assert len(a["text"]) == 3 and a["text"] == b["text"] and set(a["text"]) <= set("ABCDEFG")
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))
    p = run("render", "--count", "3", "-o", tmp_path / "c.png", code=2)
    assert "--count needs --pool" in p.stderr


def test_render_preset_and_flags_in_any_order(tmp_path):
    first = run("render", "-p", "mmw-latin", "--size", "40", "--seed", "2", "-s", "128x128", "-o", tmp_path / "a.png")
    last = run("render", "--size=40", "-s", "128x128", "--seed=2", "-o", tmp_path / "b.png", "--preset", "mmw-latin")
    assert " 40 px " in first.stdout and first.stdout.split(":", 1)[1] == last.stdout.split(":", 1)[1]
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))
    # long names of the short options
    run("render", "--preset", "imagenet-w", "--image-size", "64x64", "--output", tmp_path / "c.png", "--quiet")
    assert pixels(tmp_path / "c.png").shape == (64, 64, 3)


def test_render_takes_the_common_options(tmp_path):
    help_text = run("render", "--help").stdout
    for option in ["--json", "--quiet", "--threads", "--batch", "--limit", "--seed", "-p, --preset", "-o, --output",
                   "--pool", "--count", "--logo", "--list"]:
        assert option in help_text, option
    p = run("render", "-p", "imagenet-w", "-o", tmp_path / "a.png", "--threads", "2", "--batch", "4", "--limit", "1",
            "--quiet")
    assert p.stdout == ""
    # the same errors as every other command
    for args, message in [(["--batch", "0"], "--batch must be between 1 and 4096"),
                          (["--seed", "-1"], "must not be negative"),
                          (["--threads", "two"], "--threads expects a number, got 'two'"),
                          (["--fit", "abc"], "--fit expects a number, got 'abc'"),
                          (["--size", "big"], "--size expects a number, got 'big'"),
                          (["--no-such-option"], "unknown option '--no-such-option'"),
                          (["--json=yes"], "--json takes no value"),
                          (["--text"], "--text needs a value")]:
        p = run("render", "-p", "imagenet-w", "-o", tmp_path / "x.png", *args, code=2)
        assert message in p.stderr, (args, p.stderr)
        if args[0] in ("--batch", "--seed", "--threads"):  # word for word as another command says it
            assert message in run("classify", "weights.pth", "in.png", *args, code=2).stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args, message", [
    (["--text", "a", "--pool", "b"], "--text and --pool exclude each other"),
    (["--size", "20", "--size-rel", "0.1"], "--size, --size-rel and --size-imagenet-w exclude each other"),
    (["--random", "--pos", "0.5,0.5"], "--pos, --random and --tile exclude each other"),
    (["--font", "Liberation Serif", "--font-file", "/x.ttf"], "--font and --font-file exclude each other"),
    (["-s", "64"], "--image-size expects WxH"),
    (["--bg", "1,2"], "--bg expects R,G,B, got '1,2'"),
    (["--color", "1,2,3,4"], "--color expects R,G,B"),
    (["--pos", "0.5"], "--pos expects FX,FY[,ANCHOR]"),
    (["--at", "1,x"], "--at expects X,Y"),
    (["--jpeg", "101"], "--jpeg expects a quality 0..100"),
    ([], "-o/--output is missing"),
])
def test_render_bad_values_exit_2(tmp_path, args, message):
    out = [] if message.startswith("-o/") else ["-o", tmp_path / "x.png"]
    p = run("render", "-p", "mmw-latin", *out, *args, code=2)
    assert message in p.stderr and p.stderr.startswith("error: ")


def test_render_repeated_logos_keep_their_order(tmp_path):
    red, green = np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8)
    red[..., 0] = red[..., 3] = 255
    green[..., 1] = green[..., 3] = 255
    Image.fromarray(red, "RGBA").save(tmp_path / "red.png")
    Image.fromarray(green, "RGBA").save(tmp_path / "green.png")
    run("render", "-s", "32x32", "--logo", f"{tmp_path / 'red.png'}@10,10,1", "--logo",
        f"{tmp_path / 'green.png'}@12,12,1", "-o", tmp_path / "a.png")
    a = pixels(tmp_path / "a.png")
    assert (a[10, 10] == [255, 0, 0]).all() and (a[13, 13] == [0, 255, 0]).all()  # the later one on top


# ---- JSON ---------------------------------------------------------------------------------------------

def test_json_escapes_quotes_backslashes_and_cjk_in_paths(tmp_path):
    folder = tmp_path / HOSTILE
    folder.mkdir()
    weights = folder / f"{HOSTILE}.safetensors"
    shutil.copy(DATA / "planted_resnet.safetensors", weights)
    image = folder / f"{HOSTILE}.png"
    shutil.copy(DATA / "coffee.png", image)
    # render: output, input, coverage
    out = json.loads(run("render", "-p", "imagenet-w", "-i", image, "--fit", "64", "-o", folder / "o.png",
                         "--coverage", folder / "c.png", "--json").stdout)
    assert out["output"] == str(folder / "o.png") and out["input"] == str(image)
    assert out["coverage"] == str(folder / "c.png") and out["text"] == "捷径捷径捷径"
    # info: the weights' path and the tensor names
    info = json.loads(run("info", weights, "--json", "--tensors").stdout)
    assert info["weights"]["path"] == str(weights) and info["weights"]["classes"] == 10
    assert info["weights"]["tensors"] == len(info["weights"]["tensor_list"]) > 0
    # classify: the image's path, class names
    top = json.loads(run("classify", weights, image, "--resize", "64", "--crop", "64", "--top", "2", "--json").stdout)
    assert top[0]["image"] == str(image) and top[0]["top"][0]["name"].startswith("class ")
    # extract: the output paths
    ex = json.loads(run("extract", weights, image, "--resize", "64", "--crop", "64", "--out", folder / "f.npy",
                        "--logits", folder / "l.npy", "--json", "--quiet").stdout)
    assert ex["out"] == str(folder / "f.npy") and ex["logits"] == str(folder / "l.npy") and ex["labels_out"] is None
    # bench: every field, numbers and null
    bench = json.loads(run("bench", weights, "--size", "64", "--iters", "1", "--batch", "1", "--json").stdout)
    assert bench["arch"] and bench["batch"] == 1 and bench["size"] == 64 and bench["fp32_ms_per_image"] > 0
    assert "bf16_ms_per_image" in bench and bench["bf16_ms_per_image"] is None


def test_json_keeps_text_that_is_not_utf8(tmp_path):
    """A path of a Latin-1 file system: still JSON, the invalid byte replaced."""
    name = os.fsencode(tmp_path) + b"/caf\xe9.png"
    p = run("render", "-p", "imagenet-w", "-s", "32x32", "-o", os.fsdecode(name), "--json")
    assert json.loads(p.stdout)["output"].endswith("caf\ufffd.png")


# ---- demo data ------------------------------------------------------------------------------------------

def test_demo_data_found_beside_the_program_and_named_when_missing(tmp_path):
    """The build tree's copy beside the program (no source path compiled in); --data and WMFEAT_DATA as
    given; every place looked named when it is nowhere."""
    env = {k: v for k, v in os.environ.items() if k != "WMFEAT_DATA"}
    env["LD_LIBRARY_PATH"] = str(pathlib.Path(os.environ["WMFEAT_LIBRARY"]).parent)  # for the copy of the program
    exe_dir = pathlib.Path(WMFEAT).resolve().parent
    assert (exe_dir / "data" / "planted_resnet.safetensors").exists()
    lonely = tmp_path / "bin" / "wmfeat"
    lonely.parent.mkdir()
    shutil.copy(WMFEAT, lonely)  # the program alone, no data beside it
    p = run("demo", "--out", tmp_path / "d", code=1, env=env, executable=lonely)
    assert "planted_resnet.safetensors" in p.stderr and str(tmp_path / "bin" / "data") in p.stderr
    assert str(tmp_path / "share" / "wmfeat") in p.stderr and "--data" in p.stderr and "WMFEAT_DATA" in p.stderr
    p = run("demo", "--data", tmp_path / "nowhere", code=1, env=env)
    assert str(tmp_path / "nowhere") in p.stderr
    p = run("demo", code=1, env={**env, "WMFEAT_DATA": str(tmp_path / "elsewhere")})
    assert str(tmp_path / "elsewhere") in p.stderr and "WMFEAT_DATA" in p.stderr
    # the data installed beside a copy of the program (PREFIX/bin and PREFIX/share/wmfeat)
    shutil.copytree(DATA, tmp_path / "share" / "wmfeat")
    out = json.loads(run("demo", "--json", "--out", tmp_path / "d", env=env, executable=lonely).stdout)
    assert out["rank_by_auc"] == out["planted_class"] == 8
    assert set(out["channels_above"]) == {"0.7", "0.8", "0.9", "0.95"}


# ---- decode workers -------------------------------------------------------------------------------------

def test_audit_state_does_not_depend_on_the_workers(tmp_path):
    """The planted network audited with one decode worker beside one forward thread (the workers run
    beside it), with three or five (they take turns with it: more threads than cores on a 2-core
    machine) and with the automatic choice: the audit state is the same file byte for byte. Photos of
    different sizes and a broken file, so that workers finish their items out of order."""
    images = tmp_path / "images"
    images.mkdir()
    for i in range(7):
        shutil.copy(DATA / ("chelsea.png" if i % 2 else "coffee.png"), images / f"{i}.png")
    Image.open(DATA / "coffee.png").resize((97, 61)).save(images / "7.png")
    (images / "8.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    states = {}
    for workers in ("1", "3", "5", "0"):
        out = tmp_path / f"w{workers}"
        p = run("audit", DATA / "planted_resnet.safetensors", images, "--out", out, "--batch", "3", "--threads", "1",
                "--workers", workers, "--bootstrap", "20", "--quiet")
        assert "skipped" in p.stderr
        states[workers] = (out / "audit.wmfa").read_bytes()
    assert json.loads((tmp_path / "w0" / "report.json").read_text())["num_pairs"] == 8
    assert all(s == states["0"] for s in states.values())
    p = run("audit", DATA / "planted_resnet.safetensors", images, "--workers", "-1", code=2)
    assert "--workers must be between 0 (automatic) and 256" in p.stderr


def test_audit_outputs_do_not_depend_on_threads_workers_or_early_start(tmp_path):
    """Every file an audit writes (state, report.json, the CSVs, the figures) is the same byte for byte
    whether the model loads before the workers start (sizes from the model) or after (--resize and --crop
    given: the workers prepare the first batches while it loads), with 1, 2 or 3 OpenMP threads for the
    statistics (OMP_NUM_THREADS; the forward pass keeps --threads 1) and any number of workers."""
    images = tmp_path / "images"
    images.mkdir()
    for i in range(9):
        shutil.copy(DATA / ("chelsea.png" if i % 3 else "coffee.png"), images / f"{i}.png")
    (images / "9.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    outs = {}
    for name, omp, workers, sizes in (("late", "1", "1", []), ("early2", "2", "3", ["--resize", "256", "--crop", "224"]),
                                      ("early3", "3", "0", ["--resize", "256", "--crop", "224"])):
        out = tmp_path / name
        run("audit", DATA / "planted_resnet.safetensors", images, "--out", out, "--batch", "4", "--threads", "1",
            "--workers", workers, "--bootstrap", "30", "--quiet", *sizes,
            env={**os.environ, "OMP_NUM_THREADS": omp})
        outs[name] = {f.relative_to(out): f.read_bytes() for f in sorted(out.rglob("*")) if f.is_file()}
    assert {str(f) for f in outs["late"]} >= {"audit.wmfa", "report.json", "classes.csv", "channels.csv"}
    for name in ("early2", "early3"):
        assert outs[name].keys() == outs["late"].keys()
        for f in outs["late"]:
            assert outs[name][f] == outs["late"][f], f"{f} differs between 'late' and '{name}'"
