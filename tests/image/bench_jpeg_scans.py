"""Benchmark (not a test): decode time of a progressive JPEG padded with empty scans (issue 11 item 10).

    WMFEAT_LIBRARY=build/lib/libwmfeat.so /usr/bin/python3 tests/image/bench_jpeg_scans.py [W H EXTRA]

Writes a W x H (default 512 x 512) progressive JPEG with PIL, appends EXTRA (default 10,000) copies of its
first scan header with no entropy data, and times wmfeat.Image.decode on it. Prints one line.
"""
import io
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python"))
import wmfeat  # noqa: E402

w, h, extra = (int(a) for a in sys.argv[1:4]) if len(sys.argv) >= 4 else (512, 512, 10000)
rng = np.random.default_rng(3)
buf = io.BytesIO()
Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, "JPEG", quality=90, progressive=True)
data = buf.getvalue()
sos = data.index(b"\xff\xda")
header = data[sos:sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")]
forged = data[:-2] + header * extra + b"\xff\xd9"
t = time.perf_counter()
try:
    wmfeat.Image.decode(forged).close()
    result = "WMF_OK"
except wmfeat.Error as e:
    result = e.name
print("%dx%d, %d scans, %d bytes: %s in %.3f s" % (w, h, forged.count(b"\xff\xda"), len(forged), result,
                                                   time.perf_counter() - t))
