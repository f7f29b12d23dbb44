#!/usr/bin/python3
"""Audits pre-rendered (clean, watermarked) pairs twice, with the `wmfeat` program and through the Python
binding, and checks that the two reports are identical: the check of issue 10 on Mark My Words' released
probe set (998 ImageNet images, `dataset/baseline` against `dataset/chinese`, 224 x 224 JPEGs).

    check_prerendered.py DATASET [--script chinese] [--arch resnet18] [--out DIR]

DATASET is the folder holding `baseline/` and the script folders (`chinese/`, `latin/`, `hindi/`,
`arabic_numerals/`). The network is a torchvision architecture with random weights (seeded), saved as a
.pth file, since no pretrained weights can be downloaded here. The images are 224 px already and the
notebook feeds them to the network with ToTensor + Normalize only, so the audit uses --resize 224
--crop 224 (an identity on 224 px images). Prints pairs, time of each run, the files compared and the
largest difference of any number in report.json, and exits 1 if anything differs. Not run in CI (the
dataset's ImageNet images are not part of the repository); tests/python/test_pairs.py runs the same
comparison on generated pairs.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wmfeat  # noqa: E402


def numbers(x, path=""):
    """(path, value) of every number in a JSON document (None for null)."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from numbers(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from numbers(v, f"{path}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool) or x is None:
        yield path, x


def max_difference(a, b):
    """Largest |a - b| over the numbers of two JSON documents of the same shape (inf if shapes differ)."""
    na, nb = list(numbers(a)), list(numbers(b))
    if [p for p, _ in na] != [p for p, _ in nb]:
        return math.inf
    worst = 0.0
    for (_, x), (_, y) in zip(na, nb):
        if x is None or y is None:
            worst = worst if x is y else math.inf
        else:
            worst = max(worst, abs(x - y))
    return worst


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", help="folder with baseline/ and the script folders")
    p.add_argument("--script", default="chinese", help="watermarked folder (default chinese)")
    p.add_argument("--arch", default="resnet18", help="torchvision architecture (default resnet18)")
    p.add_argument("--out", default="check-prerendered", help="work folder (default check-prerendered)")
    p.add_argument("--wmfeat", default=None, help="the wmfeat program (default: the build tree's)")
    p.add_argument("--batch", type=int, default=16)
    a = p.parse_args(argv)

    import torch
    import torchvision
    os.makedirs(a.out, exist_ok=True)
    weights = os.path.join(a.out, f"{a.arch}-random.pth")
    if not os.path.exists(weights):
        torch.manual_seed(0)
        torch.save(torchvision.models.__dict__[a.arch](weights=None).eval().state_dict(), weights)
    program = a.wmfeat or next(
        (os.path.join(b, "examples", "wmfeat") for b in sorted(
            os.path.join(HERE, "..", "..", d) for d in os.listdir(os.path.join(HERE, "..", ".."))
            if d.startswith("build")) if os.path.exists(os.path.join(b, "examples", "wmfeat"))), "wmfeat")
    clean, marked = os.path.join(a.dataset, "baseline"), os.path.join(a.dataset, a.script)
    common = ["--resize", "224", "--crop", "224", "--batch", str(a.batch)]
    cli, py = os.path.join(a.out, "cli"), os.path.join(a.out, "py")

    t0 = time.time()
    run = subprocess.run([program, "audit", weights, clean, "--watermarked", marked, "--out", cli, "--json",
                          "--quiet", "--per-image", os.path.join(cli, "pairs.csv"), *common],
                         capture_output=True, text=True)
    t_cli = time.time() - t0
    if run.returncode != 0:
        print(run.stderr, file=sys.stderr)
        return 1
    summary = json.loads(run.stdout)

    t0 = time.time()
    audit, info = wmfeat.audit_files(weights, clean, marked, resize=224, crop=224, batch=a.batch)
    with audit:
        wmfeat.write_reports(audit, py, info["paths"], per_image=os.path.join(py, "pairs.csv"))
        pairs = audit.num_pairs
    t_py = time.time() - t0

    same = True
    for name in ("report.json", "classes.csv", "channels.csv", "pairs.csv"):
        with open(os.path.join(cli, name), "rb") as f1, open(os.path.join(py, name), "rb") as f2:
            equal = f1.read() == f2.read()
        same &= equal
        print(f"{name}: {'identical' if equal else 'DIFFERENT'}")
    with open(os.path.join(cli, "report.json")) as f1, open(os.path.join(py, "report.json")) as f2:
        diff = max_difference(json.load(f1), json.load(f2))
    w = summary.get("imagenet_w", {})
    print(f"pairs: program {summary['pairs']}, binding {pairs}; unpaired {summary['unpaired']}"
          f" (binding {len(info['unpaired'])}), skipped {len(info['skipped'])}")
    print(f"time: program {t_cli:.1f} s, binding {t_py:.1f} s ({a.arch}, random weights, batch {a.batch})")
    print(f"largest difference of a number in report.json: {diff:g}")
    print(f"delta_p_carton {w.get('delta_p_carton')}, mean p(carton) clean {w.get('p_carton')}")
    return 0 if same and diff == 0 and summary["pairs"] == pairs else 1


if __name__ == "__main__":
    sys.exit(main())
