"""Writes weight files with Debian's torch and, beside them, what torch holds for every tensor.

    gen_ref.py OUTDIR [GROUP ...]      (groups: safetensors zip legacy; default all)

OUTDIR/cases.txt lists one case a line: `weight-file expect-file [state_dict_key]`; OUTDIR/refused.txt
lists files torch writes that must be refused: `weight-file STATUS message-substring`. An expect
file is a sequence of records: u32 name length, name (normalized as the library does), u32 dtype
(wmf_dtype), u32 ndim, i64 shape[ndim], then the tensor converted by torch's .float(), C-contiguous.
"""
import collections
import os
import struct
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_writer import save_file  # noqa: E402

torch.set_num_threads(2)
DTYPES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2, torch.float64: 3, torch.int64: 4,
          torch.int32: 5, torch.int16: 6, torch.int8: 7, torch.uint8: 8, torch.bool: 9}


def model_state(name):
    """A torchvision state_dict with random weights and non-trivial batch-norm statistics."""
    torch.manual_seed(0)
    m = getattr(torchvision.models, name)(weights=None)
    sd = m.state_dict()
    g = torch.Generator().manual_seed(1)
    for k, v in sd.items():
        if k.endswith("running_mean"):
            v.copy_(torch.randn(v.shape, generator=g))
        elif k.endswith("running_var"):
            v.copy_(torch.rand(v.shape, generator=g) + 0.5)
    return sd


def write_expect(path, tensors):
    """`tensors`: (normalized name, tensor) pairs, in any order; num_batches_tracked already dropped."""
    with open(path, "wb") as f:
        for name, t in tensors:
            raw = name.encode()
            f.write(struct.pack("<I", len(raw)) + raw)
            f.write(struct.pack("<II", DTYPES[t.dtype], t.dim()))
            f.write(struct.pack("<%dq" % t.dim(), *t.shape))
            if t.dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
                f.write(t.float().contiguous().numpy().tobytes())


def normalized(sd):
    out = []
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        while k.startswith("module."):
            k = k[len("module."):]
        out.append((k, v))
    return out


def special_values():
    """Halves, bfloat16s and doubles at the edges: subnormals, infinities, NaN, signed zero."""
    h = torch.arange(0, 65536, dtype=torch.int32).to(torch.int16).view(torch.float16)
    b = torch.tensor([1.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-40, 3.0e38],
                     dtype=torch.bfloat16)
    d = torch.tensor([1 / 3, 1e300, -1e300, 1e-320, -0.0, float("nan"), 5e-324, 3.4028235677973366e38],
                     dtype=torch.float64)
    return collections.OrderedDict([("half_all", h), ("bf16_edges", b), ("f64_edges", d)])


def noncontiguous():
    """Views sharing storages: a transpose, a strided slice with an offset, an expanded (stride 0) one,
    and a channels-last convolution weight."""
    base = torch.randn(6, 10, generator=torch.Generator().manual_seed(2))
    w = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(3))
    return collections.OrderedDict([
        ("t", base.t()), ("slice", base[1:, 2::3]), ("base", base),
        ("expand", torch.arange(3.0).view(3, 1).expand(3, 4)),
        ("cl", w.to(memory_format=torch.channels_last)),
        ("half_t", base.half().t()), ("scalar", torch.tensor(2.5)), ("empty", torch.zeros(0, 3)),
    ])


def main():
    out = sys.argv[1]
    groups = set(sys.argv[2:]) or {"safetensors", "zip", "legacy"}
    os.makedirs(out, exist_ok=True)
    cases = []

    def case(fname, expect, tensors, writer, key=None):
        path = os.path.join(out, fname)
        writer(tensors, path)
        cases.append("%s %s%s" % (fname, expect, " " + key if key else ""))

    zsave = lambda obj, p: torch.save(obj, p)  # noqa: E731
    lsave = lambda obj, p: torch.save(obj, p, _use_new_zipfile_serialization=False)  # noqa: E731

    r18 = model_state("resnet18")
    write_expect(os.path.join(out, "resnet18_f32.expect"), normalized(r18))
    r18h = collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in r18.items())
    write_expect(os.path.join(out, "resnet18_f16.expect"), normalized(r18h))
    r18b = collections.OrderedDict((k, v.bfloat16() if v.is_floating_point() else v) for k, v in r18.items())
    write_expect(os.path.join(out, "resnet18_bf16.expect"), normalized(r18b))
    sv = special_values()
    write_expect(os.path.join(out, "special.expect"), normalized(sv))
    # torchvision's legacy DenseNet names and timm's VGG head, expected under torchvision's names
    g = torch.Generator().manual_seed(4)
    old = collections.OrderedDict()
    for layer in ("norm.1", "conv.1", "norm.2", "conv.2"):
        old["features.denseblock2.denselayer11.%s.weight" % layer] = torch.randn(3, generator=g)
    old["pre_logits.fc1.weight"] = torch.randn(8, 4, 7, 7, generator=g)
    old["pre_logits.fc1.bias"] = torch.randn(8, generator=g)
    old["pre_logits.fc2.weight"] = torch.randn(8, 8, 1, 1, generator=g)
    old["head.fc.weight"] = torch.randn(10, 8, generator=g)
    renamed = [(k.replace("norm.1", "norm1").replace("conv.1", "conv1").replace("norm.2", "norm2")
                .replace("conv.2", "conv2").replace("pre_logits.fc1", "classifier.0")
                .replace("pre_logits.fc2", "classifier.3").replace("head.fc", "classifier.6"),
                v.reshape(v.shape[0], -1) if v.dim() == 4 else v) for k, v in old.items()]
    write_expect(os.path.join(out, "renamed.expect"), renamed)

    if "safetensors" in groups:
        case("resnet18.safetensors", "resnet18_f32.expect", r18, save_file)
        case("resnet18_bf16.safetensors", "resnet18_bf16.expect", r18b, save_file)
        case("special.safetensors", "special.expect", sv, save_file)
        case("renamed.safetensors", "renamed.expect", old, save_file)
    if "zip" in groups or "legacy" in groups:
        d121 = model_state("densenet121")
        write_expect(os.path.join(out, "densenet121_f32.expect"), normalized(d121))
        nc = noncontiguous()
        write_expect(os.path.join(out, "noncontiguous.expect"), list(nc.items()))
        wrapped = {"epoch": 7, "arch": "resnet18", "best_acc1": 0.5,
                   "state_dict": collections.OrderedDict(("module." + k, v) for k, v in r18h.items()),
                   "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1]}]}}
        # the standard training script's checkpoint: a tensor (best_acc1) beside the state_dict, which
        # must not be read as a one-tensor state_dict; and a state_dict under an unusual key beside one
        training = {"epoch": 90, "arch": "resnet18", "best_acc1": torch.tensor(71.25),
                    "state_dict": collections.OrderedDict(("module." + k, v) for k, v in r18h.items()),
                    "optimizer": {"state": {0: {"momentum_buffer": torch.ones(3)}},
                                  "param_groups": [{"lr": 0.1, "params": [0]}]}}
        net = {"acc": torch.tensor(93.5), "net": collections.OrderedDict(sv.items()), "epoch": 5}
        ckpt = {"model": collections.OrderedDict(("module." + k, v) for k, v in sv.items()), "step": 3,
                "ema": collections.OrderedDict((k, v) for k, v in sv.items())}
        for fmt, save in (("zip", zsave), ("legacy", lsave)):
            if fmt not in groups:
                continue
            case("resnet18_%s.pth" % fmt, "resnet18_f32.expect", r18, save)
            case("densenet121_%s.pth" % fmt, "densenet121_f32.expect", d121, save)
            case("resnet18_f16_%s.pth" % fmt, "resnet18_f16.expect", r18h, save)
            case("resnet18_bf16_%s.pth" % fmt, "resnet18_bf16.expect", r18b, save)
            case("noncontiguous_%s.pth" % fmt, "noncontiguous.expect", nc, save)
            case("special_%s.pth" % fmt, "special.expect", sv, save)
            case("renamed_%s.pth" % fmt, "renamed.expect", old, save)
            case("wrapped_%s.pth" % fmt, "resnet18_f16.expect", wrapped, save)
            case("checkpoint_%s.pth" % fmt, "special.expect", ckpt, save)
            case("checkpoint_ema_%s.pth" % fmt, "special.expect", ckpt, save, key="ema")
            case("training_%s.pth" % fmt, "resnet18_f16.expect", training, save)
            case("net_%s.pth" % fmt, "special.expect", net, save)
    refused = []
    for fmt, save in (("zip", zsave), ("legacy", lsave)):
        if fmt in groups:  # a whole pickled module names its class: refused, never imported
            save(torch.nn.Sequential(torch.nn.Linear(2, 2)), os.path.join(out, "module_%s.pth" % fmt))
            refused.append("module_%s.pth WMF_ERR_FORBIDDEN 'torch.nn.modules.container.Sequential'" % fmt)
            save(torch.ones(3), os.path.join(out, "bare_tensor_%s.pth" % fmt))
            refused.append("bare_tensor_%s.pth WMF_ERR_UNSUPPORTED neither a state_dict" % fmt)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")
    with open(os.path.join(out, "refused.txt"), "w") as f:
        f.write("\n".join(refused) + "\n")


if __name__ == "__main__":
    main()
