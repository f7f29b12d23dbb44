"""Weight-file benchmark: libwmfeat (bench_weights) against torch.load, measured in the same run.

    /usr/bin/python3 tests/weights/bench_weights.py build/tests/weights/bench_weights [WORKDIR]

Writes a random torchvision ResNet-50 state_dict (about 100 MB) as PyTorch zip, PyTorch legacy and
safetensors, then for each format runs, in separate processes (so each peak RSS is its own),
bench_weights (open + convert every tensor to float) and torch.load (load + touch every tensor). Each
measurement is the best of REPEATS runs with the file in the page cache. Prints a Markdown table.
"""
import os
import subprocess
import sys
import tempfile

REPEATS = 3

TORCH_LOAD = r"""
import sys, time, torch
torch.set_num_threads(2)
def hwm():  # peak RSS of this process image (ru_maxrss would include the forking parent's)
    return int([l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1])
rss0 = hwm()
t0 = time.perf_counter()
sd = torch.load(sys.argv[1], map_location="cpu")
s = 0.0
for v in sd.values():
    if v.is_floating_point():
        s += float(v.float().view(-1)[v.numel() // 2])
t1 = time.perf_counter()
print("ms=%.1f rss_kb=%d base_kb=%d" % ((t1 - t0) * 1e3, hwm(), rss0))
"""



def parse(line):
    return {k: v for k, v in (kv.split("=", 1) for kv in line.split())}


def best(cmd):
    runs = []
    for _ in range(REPEATS):
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        runs.append(parse(out))
    return min(runs, key=lambda r: float(r["ms"])), max(int(r["rss_kb"]) for r in runs)


def main():
    bench = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="wmf_bench_")
    os.makedirs(work, exist_ok=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch
    import torchvision
    from safetensors_writer import save_file
    torch.manual_seed(0)
    sd = torchvision.models.resnet50(weights=None).state_dict()
    files = {"pytorch-zip": os.path.join(work, "resnet50_zip.pth"),
             "pytorch-legacy": os.path.join(work, "resnet50_legacy.pth"),
             "safetensors": os.path.join(work, "resnet50.safetensors")}
    torch.save(sd, files["pytorch-zip"])
    torch.save(sd, files["pytorch-legacy"], _use_new_zipfile_serialization=False)
    save_file(sd, files["safetensors"])
    print("| format | file MB | libwmfeat ms | torch.load ms | time ratio (torch/wmf) | libwmfeat peak RSS MB "
          "(x file) | torch peak RSS MB (after import: +MB) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    zip_ref = None
    for fmt, path in files.items():
        with open(path, "rb") as f:  # into the page cache, so both sides read from memory
            while f.read(1 << 24):
                pass
        size_mb = os.path.getsize(path) / 2**20
        w, w_rss = best([bench, path])
        if fmt == "safetensors":  # Debian has no safetensors reader: torch.load of the zip file instead
            t, t_rss = zip_ref
        else:
            t, t_rss = best([sys.executable, "-c", TORCH_LOAD, path])
            if fmt == "pytorch-zip":
                zip_ref = (t, t_rss)
        tbase = int(t["base_kb"])
        wm = float(w["ms"])
        row = "| %s | %.1f | %.1f | %s | %s | %.1f (%.2fx) | %s |" % (
            fmt, size_mb, wm, "%.1f%s" % (float(t["ms"]), " (zip)" if fmt == "safetensors" else ""),
            "%.2f" % (float(t["ms"]) / wm), w_rss / 1024, w_rss / 1024 / size_mb,
            "%.1f (+%.1f)" % (t_rss / 1024, (t_rss - tbase) / 1024))
        print(row)


if __name__ == "__main__":
    main()
