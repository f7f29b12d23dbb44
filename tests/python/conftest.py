import os
import pathlib
import sys

# The binding lives in examples/python; meson sets WMFEAT_LIBRARY to the freshly built library.
ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "python"))
if "WMFEAT_LIBRARY" not in os.environ:
    raise RuntimeError("WMFEAT_LIBRARY is not set: run these tests through `meson test`")
