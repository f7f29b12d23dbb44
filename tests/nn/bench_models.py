#!/usr/bin/python3
"""Benchmark driver: libwmfeat (bench_models, built by meson) against PyTorch measured in the same run,
2 threads each, all candidates run in turns in one process (libwmfeat through its Python binding,
which passes the numpy arrays without copies) and the best time of each is kept. PyTorch's best of eager, channels_last and
torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(...))) in fp32; bf16 through
torch.autocast("cpu", torch.bfloat16) in eager and channels_last.

Usage: bench_models.py BUILD_DIR WORK_DIR [MODELS...]
Prints a markdown table (ms per image, ratios) ready for docs/benchmarks.md.
"""
import copy
import os
import re
import subprocess
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import build, write_safetensors  # noqa: E402

if len(sys.argv) > 1:
    os.environ.setdefault("WMFEAT_LIBRARY", os.path.join(os.path.abspath(sys.argv[1]), "lib", "libwmfeat.so.1"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python"))
import wmfeat  # noqa: E402

torch.set_num_threads(2)
GFLOP = {"resnet18": 3.64, "resnet50": 8.18, "vgg16": 30.95, "densenet121": 5.72}  # 2 x MACs at 224 px


def c_bench(build_dir, *args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    out = subprocess.run([os.path.join(build_dir, "tests", "nn", "bench_models"), *map(str, args)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return {k: (float(v) if re.match(r"^[\d.]+$", v) else v) for k, v in re.findall(r"^(\w+) (\S+)$", out, re.M)}


def interleaved(fns, reps):
    """Best time (ms per image) of each candidate, running them in turns so that the load of a shared
    machine falls on all of them alike. fns: {label: (callable, input)}."""
    best = {k: 1e30 for k in fns}
    with torch.no_grad():
        for f, x in fns.values():
            f(x), f(x)
        for _ in range(reps):
            for k, (f, x) in fns.items():
                t0 = time.perf_counter()
                f(x)
                best[k] = min(best[k], (time.perf_counter() - t0) * 1e3 / len(x))
    return best


def measure(m, weights_path, batch, reps):
    """Ours (through the Python binding, same process) and PyTorch's variants, interleaved."""
    w = wmfeat.Weights.open(weights_path)
    model = wmfeat.Model.load(w)
    w.close()
    x = torch.randn(batch, 3, 224, 224)
    xn = x.numpy()
    s32 = model.session(max_batch=batch, threads=2)
    s16 = model.session(max_batch=batch, threads=2, precision=wmfeat.Precision.BF16)
    xc = x.to(memory_format=torch.channels_last)
    mc = copy.deepcopy(m).to(memory_format=torch.channels_last)
    with torch.no_grad():
        jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(copy.deepcopy(m), x)))

    def bf16(f):
        def run(v):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return f(v)
        return run

    return interleaved({"ours_fp32": (s32.run, xn), "ours_bf16": (s16.run, xn), "eager": (m, x),
                        "channels_last": (mc, xc), "jit": (jit, x), "bf16_eager": (bf16(m), x),
                        "bf16_channels_last": (bf16(mc), xc)}, reps)


TORCH_RSS = """
import resource, sys, torch, torchvision
torch.set_num_threads(2)
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


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    models = sys.argv[3:] or ["resnet18", "resnet50", "vgg16", "densenet121"]
    rss_only = models == ["rss"]
    if rss_only:
        models = []
    os.makedirs(work, exist_ok=True)
    peak = c_bench(build_dir, "peak") if not rss_only else {}
    if not rss_only:
        print(f"machine: isa {peak['isa']}, fp32 FMA peak {peak['fp32_gflops']:.0f} GFLOP/s, "
              f"bf16 dot-product peak {peak.get('bf16_gflops', 0):.0f} GFLOP/s (2 threads)\n")
    rows = []
    for name in models:
        m = build(name)
        path = os.path.join(work, name + ".safetensors")
        if not os.path.exists(path):
            write_safetensors(path, {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")})
        if name == "resnet50" and not os.path.exists(os.path.join(work, "resnet50.pth")):
            torch.save(m.state_dict(), os.path.join(work, "resnet50.pth"))
        for batch in (1, 16):
            reps = 8 if batch == 1 else 3
            if name == "vgg16":
                reps = 4 if batch == 1 else 2
            t = measure(m, path, batch, reps)
            ours = {"fp32": t["ours_fp32"], "bf16": t["ours_bf16"]}
            t32 = min(t["eager"], t["channels_last"], t["jit"])
            t16 = min(t["bf16_eager"], t["bf16_channels_last"])
            eff = GFLOP[name] / ours["fp32"] * 1e3 / peak["fp32_gflops"] * 100
            rows.append(f"| {name} | {batch} | {ours['fp32']:.1f} | {t['eager']:.1f} / {t['channels_last']:.1f} / "
                        f"{t['jit']:.1f} | **{t32 / ours['fp32']:.2f}x** | {eff:.0f}% | {ours['bf16']:.1f} | "
                        f"{t['bf16_eager']:.1f} / {t['bf16_channels_last']:.1f} | **{t16 / ours['bf16']:.2f}x** |")
            print(rows[-1], flush=True)
    ours_rss = c_bench(build_dir, "rss", os.path.join(work, "resnet50.safetensors"))
    torch_rss = float(subprocess.run([sys.executable, "-c", TORCH_RSS, os.path.join(work, "resnet50.pth")],
                                     check=True, capture_output=True, text=True).stdout.split()[-1])
    print("\n| model | batch | wmfeat fp32 ms/img | torch fp32 eager / channels_last / jit | speed-up vs best "
          "| of fp32 peak | wmfeat bf16 | torch bf16 eager / channels_last | speed-up |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    print(f"\nResNet-50 batch 1 peak RSS: wmfeat {ours_rss['peak_rss_mib']:.0f} MiB (during load "
          f"{ours_rss['peak_during_load_mib']:.0f}, steady after closing the weights file "
          f"{ours_rss['steady_rss_mib']:.0f}); PyTorch {torch_rss:.0f} MiB")


if __name__ == "__main__":
    main()
