#!/usr/bin/python3
"""Benchmark driver: libwmfeat (bench_models, built by meson) against PyTorch measured in the same run,
2 threads each. PyTorch's best of eager, channels_last and
torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(...))) in fp32; bf16 through
torch.autocast("cpu", torch.bfloat16) in eager and channels_last.

Usage: bench_models.py BUILD_DIR WORK_DIR [MODELS...]
Prints a markdown table (ms per image, ratios) ready for docs/benchmarks.md.
"""
import os
import re
import subprocess
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import build, write_safetensors  # noqa: E402

torch.set_num_threads(2)
GFLOP = {"resnet18": 3.64, "resnet50": 8.18, "vgg16": 30.95, "densenet121": 5.72}  # 2 x MACs at 224 px


def c_bench(build_dir, *args):
    env = dict(os.environ, OMP_NUM_THREADS="2")
    out = subprocess.run([os.path.join(build_dir, "tests", "nn", "bench_models"), *map(str, args)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return {k: (float(v) if re.match(r"^[\d.]+$", v) else v) for k, v in re.findall(r"^(\w+) (\S+)$", out, re.M)}


def best_ms(fn, x, reps):
    with torch.no_grad():
        for _ in range(2):
            fn(x)
        best = 1e30
        for _ in range(reps):
            t0 = time.perf_counter()
            fn(x)
            best = min(best, time.perf_counter() - t0)
    return best * 1e3 / x.shape[0]


def torch_times(m, batch, reps):
    x = torch.randn(batch, 3, 224, 224)
    res = {"eager": best_ms(m, x, reps)}
    mc = m.to(memory_format=torch.channels_last)
    xc = x.to(memory_format=torch.channels_last)
    res["channels_last"] = best_ms(mc, xc, reps)
    m.to(memory_format=torch.contiguous_format)
    with torch.no_grad():
        jit = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(m, x)))
    res["jit"] = best_ms(jit, x, reps)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        res["bf16_eager"] = best_ms(m, x, reps)
        res["bf16_channels_last"] = best_ms(mc.to(memory_format=torch.channels_last), xc, reps)
    m.to(memory_format=torch.contiguous_format)
    return res


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
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main():
    build_dir, work = sys.argv[1], sys.argv[2]
    models = sys.argv[3:] or ["resnet18", "resnet50", "vgg16", "densenet121"]
    os.makedirs(work, exist_ok=True)
    peak = c_bench(build_dir, "peak")
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
            reps = 10 if batch == 1 else 3
            if name == "vgg16":
                reps = max(2, reps // 2)
            ours = {p: c_bench(build_dir, "time", path, batch, p, reps)["ms_per_image"] for p in ("fp32", "bf16")}
            t = torch_times(m, batch, reps)
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
