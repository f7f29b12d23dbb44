"""Placement and ink statistics of the Mark My Words presets against the released dataset.

    /usr/bin/python3 tests/watermark/mmw_distribution.py DATASET [--seeds K] [--threshold T] [--lib PATH]

DATASET is the `dataset/` folder of github lapalap/mark-my-words (998 ImageNet images in baseline/,
chinese/, latin/, hindi/, arabic_numerals/; not shipped here: ImageNet images). Not a CI test.

Ink: the pixels of a watermarked image whose largest channel difference from its baseline image exceeds
T (default 48; re-saving a baseline image as JPEG q75 changes no pixel by more than 38 on this set).
Both sides are measured the same way: the released images against baseline/ (both decoded by PIL), and
the library's renders (the preset applied to the PIL-decoded baseline pixels, JPEG step included, K
seeds per image) against the same baseline pixels. Per image: the ink box's top and bottom row, its
height and width, and the ink area (pixels). Printed: the medians per script, their relative
difference (library / released - 1), and the sampling error of the released medians (the standard
deviation of the median over 1000 bootstrap resamples of the 998 images: the released set is one
unseeded draw per image, so its medians are known only to this precision). Markdown with --markdown.
"""
import argparse
import os
import sys

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))

SETS = {"mmw-chinese": "chinese", "mmw-latin": "latin", "mmw-hindi": "hindi", "mmw-numerals": "arabic_numerals"}
FIELDS = ("top", "bottom", "height", "width", "area")


def ink_stats(marked, base, threshold):
    ink = np.abs(marked.astype(np.int16) - base.astype(np.int16)).max(axis=2) > threshold
    ys, xs = np.nonzero(ink)
    if len(ys) == 0:
        return None
    return (ys.min(), ys.max(), ys.max() - ys.min() + 1, xs.max() - xs.min() + 1, int(ink.sum()))


def main():
    ap = argparse.ArgumentParser(description="MMW presets vs the released dataset (ink box medians)")
    ap.add_argument("dataset")
    ap.add_argument("--seeds", type=int, default=3, help="renders per image (default 3)")
    ap.add_argument("--threshold", type=int, default=48)
    ap.add_argument("--lib", help="libwmfeat.so (default: $WMFEAT_LIBRARY or build/lib/libwmfeat.so)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("WMFEAT_LIBRARY", args.lib or os.path.join(ROOT, "build", "lib", "libwmfeat.so"))
    import wmfeat

    names = sorted(os.listdir(os.path.join(args.dataset, "baseline")))
    bases = [np.asarray(Image.open(os.path.join(args.dataset, "baseline", n)).convert("RGB")) for n in names]
    rows = []
    for preset, folder in SETS.items():
        released, ours = [], []
        missed_r = missed_o = 0
        for n, base in zip(names, bases):
            marked = np.asarray(Image.open(os.path.join(args.dataset, folder, n)).convert("RGB"))
            s = ink_stats(marked, base, args.threshold)
            if s is None:
                missed_r += 1
            else:
                released.append(s)
        with wmfeat.Watermark.from_preset(preset) as wm:
            for i, base in enumerate(bases):
                for k in range(args.seeds):
                    with wmfeat.Image.from_array(base) as img:
                        out = wm.apply(img, seed=1 + i * args.seeds + k).to_array()
                    s = ink_stats(out, base, args.threshold)
                    if s is None:
                        missed_o += 1
                    else:
                        ours.append(s)
        r = np.array(released, float)
        mr, mo = np.median(r, 0), np.median(np.array(ours, float), 0)
        rng = np.random.default_rng(0)
        boot = np.array([np.median(r[rng.integers(0, len(r), len(r))], 0) for _ in range(1000)])
        rows.append((preset, folder, mr, mo, missed_r, missed_o, len(released), len(ours), boot.std(0)))

    worst = 0.0
    if args.markdown:
        print("| preset | " + " | ".join(f"{f}: released / ours" for f in FIELDS) + " |")
        print("| --- |" + " --- |" * len(FIELDS))
    for preset, folder, mr, mo, missed_r, missed_o, nr, no, se in rows:
        rel = mo / mr - 1
        worst = max(worst, float(np.abs(rel).max()))
        cells = [f"{a:g} ± {e:.1f} / {b:g} ({100 * r:+.1f} %)" for a, b, r, e in zip(mr, mo, rel, se)]
        if args.markdown:
            print(f"| `{preset}` | " + " | ".join(cells) + " |")
        else:
            print(f"{preset:13s} ({folder}: {nr} images with ink, {missed_r} without; ours {no} renders, "
                  f"{missed_o} without)")
            for f, c in zip(FIELDS, cells):
                print(f"    {f:7s} {c}")
    print(f"largest relative difference of a median: {100 * worst:.1f} % (threshold {args.threshold}, "
          f"{args.seeds} seeds per image)")


if __name__ == "__main__":
    main()
