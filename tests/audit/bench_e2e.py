#!/usr/bin/python3
"""End-to-end audit benchmark (issue 13, item 4): `wmfeat audit` against the script a researcher writes
(tests/audit/bench_e2e_reference.py: torchvision + PIL + sklearn), on the same folder of images with the
same safetensors weights (a torchvision-initialized ResNet-50 with random BatchNorm statistics, written
once into WORK_DIR), batch 16, 2 threads each.

Each run is its own subprocess; the driver measures its wall time, pairs per second (images / wall) and
its peak RSS (ru_maxrss of os.wait4 on that child) and CPU time (user + system, of the best round). The candidates run in turns, ROUNDS rounds (default
2), and the best wall time of each is kept (with the peak RSS of that run). bf16 is run when the CPU
has it (`wmfeat info` says "bf16: yes"), else its row says "n/a, no bf16".

Usage: bench_e2e.py BUILD_DIR FOLDER WORK_DIR [--rounds 2] [--baseline WMFEAT] [--no-reference] [--passive]
--baseline: another build of the wmfeat program (e.g. of main), run in the same turns as a row of its own
(fp32); --no-reference leaves the script out (then the ratios are against the first row); --passive runs
every candidate with OMP_WAIT_POLICY=PASSIVE (both sides use GNU OpenMP, whose threads otherwise spin at
barriers: on an oversubscribed machine a spinning thread waits for a peer that has no core; leave it off
on an idle machine).
Prints a markdown table for docs/benchmarks.md. The driver itself imports neither torch nor numpy, so
the RSS it hands down to its children through fork (which ru_maxrss counts) stays small; it is printed.
"""
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"
EXTENSIONS = (".jpg", ".jpeg", ".png")


def run(cmd, log, env=None):
    """(wall seconds, peak RSS in MiB, CPU seconds user + system) of one child; raises when it fails."""
    with open(log, "w") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}); see {log}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def weights(work):
    path = os.path.join(work, "resnet50.safetensors")
    if not os.path.exists(path):
        code = ("import sys; sys.path.insert(0, %r); from make_reference import build, write_safetensors; "
                "write_safetensors(%r, build('resnet50').state_dict())") % (os.path.join(HERE, "..", "nn"), path)
        subprocess.run([PYTHON, "-c", code], check=True)
    return path


def has_bf16(wmfeat, w):
    out = subprocess.run([wmfeat, "info", w], capture_output=True, text=True, check=True).stdout
    return re.search(r"bf16: yes", out) is not None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("folder")
    ap.add_argument("work")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", help="another wmfeat program, run as an extra fp32 row")
    ap.add_argument("--no-reference", action="store_true", help="leave the researcher's script out")
    ap.add_argument("--passive", action="store_true", help="OMP_WAIT_POLICY=PASSIVE for every candidate")
    a = ap.parse_args()
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE") if a.passive else None
    os.makedirs(a.work, exist_ok=True)
    wmfeat = os.path.join(os.path.abspath(a.build), "examples", "wmfeat")
    w = weights(a.work)
    n = sum(f.lower().endswith(EXTENSIONS) for _, _, fs in os.walk(a.folder) for f in fs)
    bf16 = has_bf16(wmfeat, w)

    def audit(precision, program=wmfeat):
        out = os.path.join(a.work, "report-" + precision + ("-baseline" if program != wmfeat else ""))
        cmd = [program, "audit", w, a.folder, "--resize", "256", "--crop", "224", "--batch", "16", "--threads", "2",
               "--out", out, "--quiet"]
        return cmd + (["--precision", "bf16"] if precision == "bf16" else []), out

    candidates = {"wmfeat audit fp32": audit("fp32")}
    if bf16:
        candidates["wmfeat audit bf16"] = audit("bf16")
    if a.baseline:
        candidates["wmfeat audit fp32, baseline"] = audit("fp32", os.path.abspath(a.baseline))
    if not a.no_reference:
        candidates["reference script fp32"] = ([PYTHON, os.path.join(HERE, "bench_e2e_reference.py"), w, a.folder,
                                            "--batch", "16", "--threads", "2"], None)
    best = {}
    load = [os.getloadavg()[0]]
    for r in range(a.rounds):
        for name, (cmd, out) in candidates.items():
            if out:
                shutil.rmtree(out, ignore_errors=True)
            wall, rss, cpu = run(cmd, os.path.join(a.work, re.sub(r"\W+", "_", name) + ".log"), env)
            print(f"round {r + 1}: {name}: {wall:.2f} s, CPU {cpu:.2f} s, peak RSS {rss:.0f} MiB, load average "
                  f"{os.getloadavg()[0]:.1f}", file=sys.stderr)
            if name not in best or wall < best[name][0]:
                best[name] = (wall, rss, cpu)
            load.append(os.getloadavg()[0])

    ref = "reference script fp32" if not a.no_reference else "wmfeat audit fp32"
    ref_wall, ref_rss, _ = best[ref]
    print(f"{n} images ({n} pairs), ResNet-50, batch 16, 2 threads, best of {a.rounds} rounds run in turns; "
          f"{'OMP_WAIT_POLICY=PASSIVE; ' if a.passive else ''}"
          f"load average (1 min) {min(load):.1f}-{max(load):.1f}; driver's own peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (a floor of every child's)\n")
    vs = "script" if not a.no_reference else "first row"
    print(f"| run | wall s | pairs/s | pairs/s vs {vs} | peak RSS MiB | RSS vs {vs} | CPU s (user + sys) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in ("wmfeat audit fp32", "wmfeat audit bf16", "wmfeat audit fp32, baseline", "reference script fp32"):
        if name not in best and name != "wmfeat audit bf16":
            continue
        if name not in best:
            print(f"| {name} | n/a, no bf16 | | | | | |")
            continue
        wall, rss, cpu = best[name]
        print(f"| {name} | {wall:.2f} | {n / wall:.2f} | {ref_wall / wall:.2f}x | {rss:.0f} | {rss / ref_rss:.2f}x | "
              f"{cpu:.2f} |")


if __name__ == "__main__":
    main()
