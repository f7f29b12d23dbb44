#!/usr/bin/python3
"""Benchmark driver (not a test): libwmfeat's forward pass against PyTorch and ONNX Runtime, measured in
turns in one run, same threads, same weights, same input.

For each model and batch the candidates run in turns (so the load of a shared machine falls on all of
them alike), in a new shuffled order each turn (ONNX Runtime's threads spin on after its run and slow
whatever runs next: a fixed order penalized the candidate after it), and the best time of each is kept:
  - libwmfeat fp32 and bf16, through the Python binding (arrays passed without copies);
  - PyTorch eager, channels_last, and torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(..)))
    in fp32; eager and channels_last under torch.autocast("cpu", torch.bfloat16);
  - ONNX Runtime's CPU provider (npm onnxruntime-node, run by bench_ort.js in a node subprocess that
    answers one "run" per turn) on the same torchvision module exported with torch.onnx.export.
bf16 runs only where the CPU has bf16 instructions (wmf_nn_has_bf16). The weights come from
make_reference.build (torchvision's initialization, BatchNorm statistics randomized), written as
safetensors for libwmfeat; the input size is the library's default for the model
(wmf_model_default_input_size: 299 for Inception-v3, a ViT's fixed size). Every candidate's logits are
checked against eager PyTorch's before timing (a wrong export or a broken network must not look fast).

Usage:
  bench_models.py BUILD_DIR WORK_DIR [--models a,b,c] [--batches 1,16] [--threads N]
                  [--reps-1 N] [--reps-n N] [--budget SECONDS] [--ort-dir DIR] [--prepare]
  bench_models.py BUILD_DIR WORK_DIR --rss        (peak RSS of ResNet-50 batch 1: libwmfeat vs PyTorch)
Models: every architecture name the library knows (wmfeat.arch_names()) that torchvision can build.
WORK_DIR caches the weight files and ONNX exports, named by model and by a hash of make_reference.py (the
weights' recipe), so a changed recipe is never timed against stale files.
Prints a markdown table (ms per image and ratios) with geometric means, and the load average.
"""
import argparse
import copy
import gc
import hashlib
import inspect
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_reference import build, write_safetensors  # noqa: E402

ORT_VERSION = "1.30.0"
ONNX_OPSET = 17  # the newest torch 1.13 exports (LayerNormalization is an ONNX op from 17 on)
AGREE = 1e-3     # largest |logit - eager logit| / largest |eager logit| a candidate may have


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_dir")
    p.add_argument("work_dir")
    p.add_argument("--models", default="resnet18,resnet50,vgg16,densenet121", help="comma-separated names")
    p.add_argument("--batches", default="1,16", help="comma-separated batch sizes")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of every runner (the cores)")
    p.add_argument("--reps-1", type=int, default=8, help="most timed turns at batch 1")
    p.add_argument("--reps-n", type=int, default=3, help="most timed turns at larger batches")
    p.add_argument("--budget", type=float, default=60.0,
                   help="seconds of timed turns per model and batch: fewer turns (at least 2) for big models")
    p.add_argument("--ort-dir", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                     "wmfeat", f"onnxruntime-node-{ORT_VERSION}"),
                   help="npm prefix holding onnxruntime-node (installed there if absent)")
    p.add_argument("--prepare", action="store_true", help="only write the weight files and ONNX exports")
    p.add_argument("--rss", action="store_true", help="only the ResNet-50 peak RSS comparison")
    a = p.parse_args()
    a.models = [m for m in a.models.split(",") if m]
    a.batches = [int(b) for b in a.batches.split(",") if b]
    if not a.models or not a.batches or min(a.batches) < 1 or a.threads < 1:
        p.error("--models and --batches need at least one entry, batches and threads at least 1")
    return a


def load_binding(build_dir):
    os.environ.setdefault("WMFEAT_LIBRARY", os.path.join(os.path.abspath(build_dir), "lib", "libwmfeat.so.1"))
    sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "python"))
    import wmfeat
    return wmfeat


def check_models(wmfeat, names):
    """The names the library knows and torchvision builds (a builder function, not a family module)."""
    known = [n for n in wmfeat.arch_names() if inspect.isfunction(torchvision.models.__dict__.get(n))]
    bad = [n for n in names if n not in known]
    if bad:
        sys.exit(f"bench_models.py: unknown model {', '.join(bad)}; known to both libwmfeat and "
                 f"torchvision {torchvision.__version__}: {', '.join(known)}")


def ensure_ort(ort_dir):
    """onnxruntime-node in ort_dir, installed with npm if absent; the node binary."""
    node = shutil.which("node")
    if not node:
        sys.exit("bench_models.py: node is not on the PATH: ONNX Runtime runs through onnxruntime-node")
    pkg = os.path.join(ort_dir, "node_modules", "onnxruntime-node", "package.json")
    if not os.path.exists(pkg):
        npm = shutil.which("npm")
        if not npm:
            sys.exit(f"bench_models.py: npm is not on the PATH; it is needed once to install "
                     f"onnxruntime-node@{ORT_VERSION} into {ort_dir}")
        print(f"bench_models.py: installing onnxruntime-node@{ORT_VERSION} into {ort_dir} (npm, once)",
              file=sys.stderr, flush=True)
        os.makedirs(ort_dir, exist_ok=True)
        subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", ort_dir,
                        f"onnxruntime-node@{ORT_VERSION}"], check=True, stdout=sys.stderr)
    return node


class OrtRunner:
    """bench_ort.js in a node subprocess, loaded once per model and batch; run() is one timed turn."""

    def __init__(self, node, ort_dir, onnx_path, x, threads, work):
        self.input = os.path.join(work, "ort_input.f32")
        np.ascontiguousarray(x.numpy(), np.float32).tofile(self.input)
        b, _, h, w = x.shape
        self.p = subprocess.Popen([node, os.path.join(HERE, "bench_ort.js"), ort_dir, onnx_path, self.input,
                                   str(b), str(h), str(w), str(threads)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._expect("ready")

    def _ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def _expect(self, what):
        got = self.p.stdout.readline().strip()
        if got != what:
            raise RuntimeError(f"bench_ort.js: expected {what!r}, got {got!r} (exit {self.p.poll()})")

    def run_ms(self):
        got = self._ask("run")
        if not re.match(r"^[\d.]+$", got):
            raise RuntimeError(f"bench_ort.js: expected a time, got {got!r} (exit {self.p.poll()})")
        return float(got)

    def logits(self, shape, work):
        path = os.path.join(work, "ort_output.f32")
        if self._ask("dump " + path) != "ok":
            raise RuntimeError(f"bench_ort.js: dump failed (exit {self.p.poll()})")
        return np.fromfile(path, np.float32).reshape(shape)

    def close(self):
        self.p.stdin.close()
        self.p.wait()
        os.unlink(self.input)


def cache_stem(work, name):
    """work/NAME-RECIPE: RECIPE hashes make_reference.py, which makes the weights (a file written by
    another version of it holds other weights, which would be timed as if they were these)."""
    import make_reference
    with open(make_reference.__file__, "rb") as f:
        recipe = hashlib.sha256(f.read()).hexdigest()[:12]
    return os.path.join(work, f"{name}-{recipe}")


def export_onnx(m, name, size, work):
    """The same module exported once per model, batch dimension dynamic."""
    path = cache_stem(work, name) + ".onnx"
    if not os.path.exists(path):
        tmp = path + ".tmp"
        # With gradients on: under no_grad, nn.MultiheadAttention (ViT) takes its fused fast path,
        # aten::_native_multi_head_attention, which torch 1.13 cannot export.
        with torch.enable_grad():
            torch.onnx.export(m, torch.randn(1, 3, size, size), tmp, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=ONNX_OPSET)
        os.replace(tmp, path)
    return path


def timed(f):
    def run(x):
        t0 = time.perf_counter()
        f(x)
        return (time.perf_counter() - t0) * 1e3
    return run


def logits_only(session):
    """A libwmfeat session run as the others run: logits only, into a preallocated array."""
    out = {}

    def run(x):
        if out.get("n") != len(x):
            out["n"], out["logits"] = len(x), np.empty((len(x), session.logit_count), np.float32)
        return session.run(x, logits=out["logits"], want_features=False)
    return run


def bf16(f):
    def run(v):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return f(v)
    return run


def interleaved(cands, batch, max_reps, budget):
    """Best ms per image of each candidate ({label: (callable returning ms, input)}), in turns: two
    warm-up turns, then as many timed turns as the budget allows (the second warm-up turn's total as the
    estimate), at least 2 and at most max_reps. Returns (best, turns)."""
    best = {k: math.inf for k in cands}
    with torch.no_grad():
        for _ in range(2):
            turn = sum(f(x) for f, x in cands.values())
        reps = max(2, min(max_reps, int(budget * 1e3 / turn)))
        labels, order = list(cands), random.Random(batch)
        for _ in range(reps):
            # a new order each turn (shuffled, not rotated: a rotation keeps who follows whom), so that no
            # candidate always runs right after the same one, e.g. after ONNX Runtime, whose threads go on
            # spinning after its run
            order.shuffle(labels)
            for k in labels:
                f, x = cands[k]
                best[k] = min(best[k], f(x) / batch)
    return best, reps


def max_rel_diff(got, ref):
    ref = np.asarray(ref, np.float64)
    return float(np.abs(np.asarray(got, np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30))


def measure(wmfeat, m, model, batch, args, node, onnx_path, has_bf16):
    size = model.default_input_size
    g = torch.Generator().manual_seed(batch)
    x = torch.randn(batch, 3, size, size, generator=g)
    xn = x.numpy()
    xc = x.to(memory_format=torch.channels_last)
    mc = copy.deepcopy(m).to(memory_format=torch.channels_last)
    s32 = model.session(max_batch=batch, threads=args.threads)
    s32d = model.session(max_batch=batch, threads=args.threads, conv="direct")  # issue 13 item 1: Winograd's gain
    with torch.no_grad():
        jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(copy.deepcopy(m), x)))
        ref = m(x).numpy()
        outputs = {"wmfeat fp32": s32.run(xn, want_features=False)[0],
                   "wmfeat fp32 direct": s32d.run(xn, want_features=False)[0], "channels_last": mc(xc).numpy(),
                   "jit": jit(x).numpy()}
    ort = OrtRunner(node, args.ort_dir, onnx_path, x, args.threads, args.work_dir)
    sessions = [s32, s32d]
    try:
        outputs["ORT"] = ort.logits(ref.shape, args.work_dir)
        diffs = {k: max_rel_diff(v, ref) for k, v in outputs.items()}
        wrong = {k: d for k, d in diffs.items() if not d <= AGREE}
        if wrong:
            raise RuntimeError(f"{model.arch} batch {batch}: logits differ from eager PyTorch's by more than "
                               f"{AGREE} of the largest: {wrong}")
        cands = {"ours_fp32": (timed(logits_only(s32)), xn), "ours_direct": (timed(logits_only(s32d)), xn), "eager": (timed(m), x), "channels_last": (timed(mc), xc),
                 "jit": (timed(jit), x), "ort": (lambda _: ort.run_ms(), None)}
        if has_bf16:
            s16 = model.session(max_batch=batch, threads=args.threads, precision=wmfeat.Precision.BF16)
            sessions.append(s16)
            cands.update({"ours_bf16": (timed(logits_only(s16)), xn), "bf16_eager": (timed(bf16(m)), x),
                          "bf16_channels_last": (timed(bf16(mc)), xc)})
        best, reps = interleaved(cands, batch, args.reps_1 if batch == 1 else args.reps_n, args.budget)
    finally:
        ort.close()
        for s in sessions:
            s.close()
    return best, reps, size, diffs


def prepare(wmfeat, name, work):
    """The module, libwmfeat's model of the same weights (safetensors) and the ONNX export, the files
    cached in work."""
    m = build(name)
    path = cache_stem(work, name) + ".safetensors"
    if not os.path.exists(path):
        write_safetensors(path, {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")})
    model = wmfeat.Model.open(path)
    return m, model, export_onnx(m, name, model.default_input_size, work)


def fmt_ratio(r):
    return f"**{r:.2f}×**"


def geomean(v):
    return math.exp(sum(map(math.log, v)) / len(v)) if v else float("nan")


def bench(args):
    wmfeat = load_binding(args.build_dir)
    check_models(wmfeat, args.models)
    node = ensure_ort(args.ort_dir)
    has_bf16 = wmfeat.has_bf16()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    load0, t0 = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"start {t0}, load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; isa {wmfeat.isa()}, "
          f"bf16 {'yes' if has_bf16 else 'no'}; {args.threads} threads; torch {torch.__version__}, "
          f"torchvision {torchvision.__version__}, onnxruntime-node {ORT_VERSION} (opset {ONNX_OPSET}); "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}", flush=True)
    rows, ratios, worst = [], {"torch": {}, "ort": {}, "bf16": {}}, {}
    for name in args.models:
        m, model, onnx_path = prepare(wmfeat, name, args.work_dir)
        if args.prepare:
            print(f"{name}: {onnx_path}", flush=True)
            model.close()
            continue
        for batch in args.batches:
            t, reps, size, diffs = measure(wmfeat, m, model, batch, args, node, onnx_path, has_bf16)
            for k, d in diffs.items():
                worst[k] = max(worst.get(k, 0.0), d)
            ours = t["ours_fp32"]
            tbest = min(t["eager"], t["channels_last"], t["jit"])
            ratios["torch"].setdefault(batch, []).append(tbest / ours)
            ratios["ort"].setdefault(batch, []).append(t["ort"] / ours)
            if has_bf16:
                t16 = min(t["bf16_eager"], t["bf16_channels_last"])
                ratios["bf16"].setdefault(batch, []).append(t16 / t["ours_bf16"])
                b16 = (f"{t['ours_bf16']:.2f} | {t['bf16_eager']:.2f} / {t['bf16_channels_last']:.2f} | "
                       f"{fmt_ratio(t16 / t['ours_bf16'])}")
            else:
                b16 = "n/a, no bf16 | n/a, no bf16 | n/a"
            rows.append(f"| {name} | {batch} | {size} | {reps} | {ours:.2f} | {t['ours_direct']:.2f} | "
                        f"{t['ours_direct'] / ours:.2f}× | {t['eager']:.2f} / "
                        f"{t['channels_last']:.2f} / {t['jit']:.2f} | {tbest:.2f} | {t['ort']:.2f} | "
                        f"{fmt_ratio(tbest / ours)} | {fmt_ratio(t['ort'] / ours)} | {b16} |")
            print(rows[-1], flush=True)
        model.close()
        del m, model
        gc.collect()
    if args.prepare:
        return
    load1, t1 = os.getloadavg(), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\nRun {t0} – {t1}; load average (1, 5, 15 min) at start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"at end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}.\n")
    print("| model | batch | px | timed turns | wmfeat fp32 ms/img | wmfeat fp32 --conv direct | Winograd's gain | "
          "torch fp32 eager / channels_last / jit | "
          "torch best | ORT | wmfeat vs torch best | wmfeat vs ORT | wmfeat bf16 | torch bf16 autocast eager / "
          "channels_last | bf16 vs torch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    print("\n".join(rows))
    print("\nGeometric means of the ratios (speed-up of libwmfeat; > 1: libwmfeat faster):\n")
    print("| batch | models | vs torch best fp32 | vs ORT fp32 | bf16 vs torch bf16 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for batch in args.batches + ["all"]:
        pick = (lambda k: ratios[k].get(batch, [])) if batch != "all" else \
            (lambda k: [r for v in ratios[k].values() for r in v])
        b16 = f"{geomean(pick('bf16')):.2f}×" if has_bf16 else "n/a, no bf16"
        print(f"| {batch} | {len(pick('torch'))} | {geomean(pick('torch')):.2f}× | {geomean(pick('ort')):.2f}× | {b16} |")
    print("\nLogits checked against eager PyTorch's before timing, largest |difference| / largest |logit|: "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))


TORCH_RSS = """
import resource, sys, torch, torchvision
torch.set_num_threads(int(sys.argv[2]))
m = torchvision.models.resnet50(weights=None)
m.load_state_dict(torch.load(sys.argv[1]))
m.eval()
x = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    for _ in range(5):
        m(x)
# ru_maxrss would carry the parent's high-water mark over fork + exec; VmHWM is this process's own
print(int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
"""


def rss(args):
    """Peak RSS of ResNet-50 at batch 1: bench_models rss (C) against PyTorch, each in its own process."""
    os.makedirs(args.work_dir, exist_ok=True)
    st, pth = (os.path.join(args.work_dir, "resnet50" + e) for e in (".safetensors", ".pth"))
    m = build("resnet50")
    if not os.path.exists(st):
        write_safetensors(st, {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")})
    if not os.path.exists(pth):
        torch.save(m.state_dict(), pth)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run([os.path.join(args.build_dir, "tests", "nn", "bench_models"), "rss", st],
                         check=True, capture_output=True, text=True, env=env).stdout
    ours = {k: float(v) for k, v in re.findall(r"^(\w+) ([\d.]+)$", out, re.M)}
    theirs = float(subprocess.run([sys.executable, "-c", TORCH_RSS, pth, str(args.threads)],
                                  check=True, capture_output=True, text=True).stdout.split()[-1])
    print(f"ResNet-50 batch 1 peak RSS: wmfeat {ours['peak_rss_mib']:.0f} MiB (during load "
          f"{ours['peak_during_load_mib']:.0f}, steady after closing the weights file "
          f"{ours['steady_rss_mib']:.0f}); PyTorch {theirs:.0f} MiB")


if __name__ == "__main__":
    a = parse_args()
    rss(a) if a.rss else bench(a)
