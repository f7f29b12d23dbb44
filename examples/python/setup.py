"""pip's build of the wmfeat package (configuration in pyproject.toml). Besides the package as it is, it
writes wmfeat/_paths.py naming the installed libwmfeat's directory: WMFEAT_LIBDIR if set, else
`pkg-config --variable=libdir wmfeat`. Without either the package looks for libwmfeat.so.1 on the
system's search path (ldconfig, LD_LIBRARY_PATH) at import."""
import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py


def pkg_config(*args):
    try:
        r = subprocess.run(["pkg-config", *args, "wmfeat"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return r.stdout.strip() or None


class BuildPyWithPaths(build_py):
    def run(self):
        super().run()
        libdir = os.environ.get("WMFEAT_LIBDIR") or pkg_config("--variable=libdir")
        if not libdir:
            print("wmfeat: libwmfeat not found by pkg-config (set WMFEAT_LIBDIR): "
                  "the package will search the system's library path")
            return
        major = (pkg_config("--modversion") or "1").split(".")[0]
        path = os.path.join(self.build_lib, "wmfeat", "_paths.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write('"""Where the library this package loads was installed (written by pip\'s build, setup.py)."""\n'
                    f"LIBDIR = {os.path.abspath(libdir)!r}\nPACKAGE_DIR = None\nLIBRARY = 'libwmfeat.so.{major}'\n")


setup(cmdclass={"build_py": BuildPyWithPaths})
