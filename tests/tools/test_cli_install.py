"""`meson install` puts the demo data under DATADIR/wmfeat and the installed `wmfeat demo` finds it
there, relative to itself, with no path of the source or build tree compiled into the program (issue
14). Installs the build tree into a temporary DESTDIR."""
import json
import os
import pathlib
import subprocess

import pytest

from cli_common import WMFEAT

SOURCE = os.environ["WMF_SOURCE_ROOT"]
BUILD = os.environ["MESON_BUILD_ROOT"]
MESON = [os.environ["WMF_MESON"]]


def stripped(path, tmp_path):
    """The program without its debug information (DWARF names the sources; nothing reads it at run time)."""
    out = tmp_path / (pathlib.Path(path).name + ".stripped")
    subprocess.run(["objcopy", "--strip-debug", str(path), str(out)], check=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    p = subprocess.run([*MESON, "install", "-C", BUILD, "--destdir", str(dest), "--no-rebuild", "--quiet"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    exe = [f for f in dest.rglob("wmfeat") if f.is_file() and f.parent.name == "bin"]
    libs = list(dest.rglob("libwmfeat.so.*"))
    assert len(exe) == 1 and libs, sorted(str(f) for f in dest.rglob("*"))
    return dest, exe[0], libs[0].parent


def test_demo_data_is_installed_under_datadir(installed):
    dest, exe, _ = installed
    data = exe.parent.parent / "share" / "wmfeat"  # default bindir and datadir
    for name in ["planted_resnet.safetensors", "planted_digits.bin", "chelsea.png", "coffee.png", "README.md"]:
        assert (data / name).stat().st_size > 0, name


def test_installed_demo_finds_the_installed_data(installed, tmp_path):
    dest, exe, libdir = installed
    env = {k: v for k, v in os.environ.items() if k != "WMFEAT_DATA"}
    env["LD_LIBRARY_PATH"] = str(libdir)
    p = subprocess.run([str(exe), "demo", "--json", "--out", str(tmp_path / "demo")], capture_output=True, text=True,
                       timeout=600, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["rank_by_auc"] == out["planted_class"] == 8 and out["report"] == str(tmp_path / "demo")


@pytest.mark.parametrize("which", ["build", "installed"])
def test_no_source_or_build_path_in_the_program(installed, tmp_path, which):
    exe = installed[1] if which == "installed" else WMFEAT
    body = stripped(exe, tmp_path)
    for tree in {SOURCE, os.path.realpath(SOURCE), BUILD, os.path.realpath(BUILD)}:
        assert tree.encode() not in body, f"{exe} holds {tree}"
