"""Writes tiny valid networks of each family and hostile variants of them (issue 11, item 6).

    gen_hostile_models.py OUTDIR [--seeds FUZZ_CORPUS_DIR]

OUTDIR/expect.txt: `file arch STATUS substring` a line (arch `-` = infer): wmf_model_load on the opened
file must give STATUS (a wmf_status name) with a message holding the substring (`-` = none; WMF_OK lines
give the class count, then the input side to run it at where 32 px is too small). Each variant changes one thing of a valid model: a zero dimension, a shape that
does not fit the layers around it, a wrong rank, a size over the builders' limits. The .pth variants are
views with stride 0 over one stored value, so a 2^32-channel tensor costs 4 bytes on disk.
--seeds writes the valid models as seeds of tests/fuzz/fuzz_model_load.c in its input format (see
there): a byte choosing the architecture name, then (name, dims) records.
Needs numpy (and the writers in tests/weights).
"""
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "weights"))
from gen_malformed import state_dict_pk, torch_zip, f32  # noqa: E402
from safetensors_writer import serialize  # noqa: E402

RNG = np.random.default_rng(0)


def conv(cout, cin, k, bias=False, kw=None):
    """cout x cin x k x k weights (k x kw with kw), and a bias with bias."""
    d = {"weight": RNG.standard_normal((cout, cin, k, kw or k)).astype(np.float32) * 0.1}
    if bias:
        d["bias"] = RNG.standard_normal(cout).astype(np.float32) * 0.1
    return d


def bn(c):
    return {"weight": np.ones(c, np.float32), "bias": np.zeros(c, np.float32),
            "running_mean": RNG.standard_normal(c).astype(np.float32) * 0.1,
            "running_var": (RNG.random(c) + 0.5).astype(np.float32)}


def linear(out, inp):
    return {"weight": RNG.standard_normal((out, inp)).astype(np.float32) * 0.1,
            "bias": RNG.standard_normal(out).astype(np.float32) * 0.1}


def put(sd, prefix, params):
    for k, v in params.items():
        sd[prefix + "." + k] = v


def conv_bn(sd, conv_name, bn_name, cout, cin, k, kw=None):
    """A convolution without bias (cout x cin x k x k, or k x kw) and the BatchNorm of its cout outputs."""
    put(sd, conv_name, conv(cout, cin, k, kw=kw))
    put(sd, bn_name, bn(cout))


def resnet_basic():
    sd = {}
    conv_bn(sd, "conv1", "bn1", 4, 3, 7)
    cin = 4
    for layer, w in enumerate((4, 8, 8, 8), 1):
        pre = "layer%d.0" % layer
        conv_bn(sd, pre + ".conv1", pre + ".bn1", w, cin, 3)
        conv_bn(sd, pre + ".conv2", pre + ".bn2", w, w, 3)
        if layer > 1:
            conv_bn(sd, pre + ".downsample.0", pre + ".downsample.1", w, cin, 1)
        cin = w
    put(sd, "fc", linear(5, 8))
    return sd


def resnet_grouped():
    """Bottleneck blocks, 2 groups of 2 channels in the 3x3 convolutions (a tiny ResNeXt)."""
    sd = {}
    conv_bn(sd, "conv1", "bn1", 4, 3, 7)
    cin = 4
    for layer in range(1, 5):
        pre = "layer%d.0" % layer
        conv_bn(sd, pre + ".conv1", pre + ".bn1", 4, cin, 1)
        conv_bn(sd, pre + ".conv2", pre + ".bn2", 4, 2, 3)
        conv_bn(sd, pre + ".conv3", pre + ".bn3", 8, 4, 1)
        conv_bn(sd, pre + ".downsample.0", pre + ".downsample.1", 8, cin, 1)
        cin = 8
    put(sd, "fc", linear(5, 8))
    return sd


def vgg(with_bn):
    """Layers [4, M, 8, M]; the head 8*7*7 -> 6 -> 6 -> 5."""
    sd = {}
    step = 3 if with_bn else 2
    put(sd, "features.0", conv(4, 3, 3, bias=True))
    if with_bn:
        put(sd, "features.1", bn(4))
    put(sd, "features.%d" % (step + 1), conv(8, 4, 3, bias=True))
    if with_bn:
        put(sd, "features.%d" % (step + 2), bn(8))
    put(sd, "classifier.0", linear(6, 8 * 49))
    put(sd, "classifier.3", linear(6, 6))
    put(sd, "classifier.6", linear(5, 6))
    return sd


def densenet():
    """Initial width 4, growth 4, bottleneck 8, one layer per block, transitions halve."""
    sd = {}
    put(sd, "features.conv0", conv(4, 3, 7))
    put(sd, "features.norm0", bn(4))
    c = 4
    for k in range(1, 5):
        pre = "features.denseblock%d.denselayer1" % k
        put(sd, pre + ".norm1", bn(c))
        put(sd, pre + ".conv1", conv(8, c, 1))
        put(sd, pre + ".norm2", bn(8))
        put(sd, pre + ".conv2", conv(4, 8, 3))
        c += 4
        if k < 4:
            put(sd, "features.transition%d.norm" % k, bn(c))
            put(sd, "features.transition%d.conv" % k, conv(c // 2, c, 1))
            c //= 2
    put(sd, "features.norm5", bn(c))
    put(sd, "classifier", linear(5, c))
    return sd


def vit():
    """A one-layer ViT at 32 px: patch 8 (4 x 4 patches + the class token), hidden 64 (one head), MLP 32."""
    sd = {"class_token": RNG.standard_normal((1, 1, 64)).astype(np.float32),
          "encoder.pos_embedding": RNG.standard_normal((1, 17, 64)).astype(np.float32) * 0.1}
    put(sd, "conv_proj", conv(64, 3, 8, bias=True))
    pre = "encoder.layers.encoder_layer_0"
    for ln in ("ln_1", "ln_2"):
        put(sd, pre + "." + ln, {"weight": np.ones(64, np.float32), "bias": np.zeros(64, np.float32)})
    put(sd, pre + ".self_attention", {"in_proj_weight": linear(192, 64)["weight"], "in_proj_bias": zeros(192)})
    put(sd, pre + ".self_attention.out_proj", linear(64, 64))
    put(sd, pre + ".mlp.0", linear(32, 64))
    put(sd, pre + ".mlp.3", linear(64, 32))
    put(sd, "encoder.ln", {"weight": np.ones(64, np.float32), "bias": np.zeros(64, np.float32)})
    put(sd, "heads.head", linear(5, 64))
    return sd


def convnext():
    """A ConvNeXt of one CNBlock per stage, widths 4, 8, 8, 8 (min input 32 px)."""
    sd = {}

    def ln(c):
        return {"weight": np.ones(c, np.float32), "bias": np.zeros(c, np.float32)}
    put(sd, "features.0.0", conv(4, 3, 4, bias=True))
    put(sd, "features.0.1", ln(4))
    cin = 4
    for s, c in enumerate((4, 8, 8, 8)):
        if s:
            put(sd, "features.%d.0" % (2 * s), ln(cin))
            put(sd, "features.%d.1" % (2 * s), conv(c, cin, 2, bias=True))
        pre = "features.%d.0" % (2 * s + 1)
        sd[pre + ".layer_scale"] = np.full((c, 1, 1), 0.5, np.float32)
        put(sd, pre + ".block.0", conv(c, 1, 7, bias=True))
        put(sd, pre + ".block.2", ln(c))
        put(sd, pre + ".block.3", linear(4 * c, c))
        put(sd, pre + ".block.5", linear(c, 4 * c))
        cin = c
    put(sd, "classifier.0", ln(8))
    put(sd, "classifier.2", linear(5, 8))
    return sd


def regnet():
    """A RegNet Y: stem 8, two stages of one block (widths 8 and 16, group width 4, SE squeezing to 2)."""
    sd = {}
    conv_bn(sd, "stem.0", "stem.1", 8, 3, 3)
    cin = 8
    for s, w in enumerate((8, 16), 1):
        pre = "trunk_output.block%d.block%d-0" % (s, s)
        conv_bn(sd, pre + ".proj.0", pre + ".proj.1", w, cin, 1)
        conv_bn(sd, pre + ".f.a.0", pre + ".f.a.1", w, cin, 1)
        conv_bn(sd, pre + ".f.b.0", pre + ".f.b.1", w, 4, 3)
        put(sd, pre + ".f.se.fc1", conv(2, w, 1, bias=True))
        put(sd, pre + ".f.se.fc2", conv(w, 2, 1, bias=True))
        conv_bn(sd, pre + ".f.c.0", pre + ".f.c.1", w, w, 1)
        cin = w
    put(sd, "fc", linear(5, 16))
    return sd


def efficientnet():
    """An EfficientNet-v2-like network: stem 8; a FusedMBConv without expansion (adds its input); one with
    expansion (8 -> 32 -> 16, stride 2); an MBConv (16 -> 64, depthwise 5x5, SE 64 -> 4 -> 64, -> 24, stride
    2); the 1x1 head convolution to 32; classifier.1 32 -> 5."""
    sd = {}
    conv_bn(sd, "features.0.0", "features.0.1", 8, 3, 3)
    conv_bn(sd, "features.1.0.block.0.0", "features.1.0.block.0.1", 8, 8, 3)
    pre = "features.2.0.block"
    conv_bn(sd, pre + ".0.0", pre + ".0.1", 32, 8, 3)
    conv_bn(sd, pre + ".1.0", pre + ".1.1", 16, 32, 1)
    pre = "features.3.0.block"
    conv_bn(sd, pre + ".0.0", pre + ".0.1", 64, 16, 1)
    conv_bn(sd, pre + ".1.0", pre + ".1.1", 64, 1, 5)
    put(sd, pre + ".2.fc1", conv(4, 64, 1, bias=True))
    put(sd, pre + ".2.fc2", conv(64, 4, 1, bias=True))
    conv_bn(sd, pre + ".3.0", pre + ".3.1", 24, 64, 1)
    conv_bn(sd, "features.4.0", "features.4.1", 32, 24, 1)
    put(sd, "classifier.1", linear(5, 32))
    return sd


# MobileNet-v3's blocks as torchvision's _mobilenet_v3_conf: depthwise kernel and squeeze-and-excitation
MOBILENET_V3 = {15: [(3, 0), (3, 0), (3, 0), (5, 1), (5, 1), (5, 1), (3, 0), (3, 0), (3, 0), (3, 0), (3, 1), (3, 1),
                     (5, 1), (5, 1), (5, 1)],
                11: [(3, 1), (3, 0), (3, 0), (5, 1), (5, 1), (5, 1), (5, 1), (5, 1), (5, 1), (5, 1), (5, 1)]}


def mobilenet(version, blocks):
    """MobileNet-v2 (version 2: torchvision's 17 blocks) or v3 (15 blocks: large, 11: small): the builder
    takes the strides from torchvision's tables, so the block count is theirs; the widths are 4 then 8.
    Block 1 is depthwise only, the others expand 1x1 to twice their input first; then the depthwise
    convolution (v2 3x3; v3 torchvision's kernel, and SE squeezing to 2 where torchvision has it) and the
    1x1 projection (v2: a bare convolution and its BatchNorm as two modules). Head: 1x1 to 16; v2
    classifier.1 16 -> 5; v3 classifier.0 16 -> 12, classifier.3 12 -> 5."""
    sd = {}
    inner = "conv" if version == 2 else "block"
    conv_bn(sd, "features.0.0", "features.0.1", 4, 3, 3)
    cin = 4
    for i in range(1, blocks + 1):
        pre = "features.%d.%s." % (i, inner)
        cout, hidden, j = (4 if i < 6 else 8), (cin if i == 1 else 2 * cin), 0
        if i > 1:
            conv_bn(sd, pre + "0.0", pre + "0.1", hidden, cin, 1)
            j = 1
        kernel, se = MOBILENET_V3[blocks][i - 1] if version == 3 else (3, 0)
        conv_bn(sd, pre + "%d.0" % j, pre + "%d.1" % j, hidden, 1, kernel)
        if se:
            j += 1
            put(sd, pre + "%d.fc1" % j, conv(2, hidden, 1, bias=True))
            put(sd, pre + "%d.fc2" % j, conv(hidden, 2, 1, bias=True))
        if version == 2:
            conv_bn(sd, pre + "%d" % (j + 1), pre + "%d" % (j + 2), cout, hidden, 1)
        else:
            conv_bn(sd, pre + "%d.0" % (j + 1), pre + "%d.1" % (j + 1), cout, hidden, 1)
        cin = cout
    conv_bn(sd, "features.%d.0" % (blocks + 1), "features.%d.1" % (blocks + 1), 16, cin, 1)
    if version == 2:
        put(sd, "classifier.1", linear(5, 16))
    else:
        put(sd, "classifier.0", linear(12, 16))
        put(sd, "classifier.3", linear(5, 12))
    return sd


def shufflenet():
    """ShuffleNet-v2: stem 4; stages 2, 3, 4 of widths 8, 16, 16 and 2, 1, 1 blocks (the first of each
    with branch1, depthwise 3x3 and 1x1); conv5 to 16; fc 16 -> 5."""
    sd = {}
    conv_bn(sd, "conv1.0", "conv1.1", 4, 3, 3)
    cin = 4
    for s, (c, repeats) in enumerate(((8, 2), (16, 1), (16, 1)), 2):
        half = c // 2
        for i in range(repeats):
            pre = "stage%d.%d." % (s, i)
            if i == 0:
                conv_bn(sd, pre + "branch1.0", pre + "branch1.1", cin, 1, 3)
                conv_bn(sd, pre + "branch1.2", pre + "branch1.3", half, cin, 1)
            conv_bn(sd, pre + "branch2.0", pre + "branch2.1", half, cin if i == 0 else half, 1)
            conv_bn(sd, pre + "branch2.3", pre + "branch2.4", half, 1, 3)
            conv_bn(sd, pre + "branch2.5", pre + "branch2.6", half, half, 1)
        cin = c
    conv_bn(sd, "conv5.0", "conv5.1", 16, cin, 1)
    put(sd, "fc", linear(5, 16))
    return sd


def alexnet():
    """AlexNet at widths 4, 4, 8, 8, 8 (torchvision's kernels) and a head 8*36 -> 6 -> 6 -> 5."""
    sd = {}
    cin = 3
    for idx, c, k in ((0, 4, 11), (3, 4, 5), (6, 8, 3), (8, 8, 3), (10, 8, 3)):
        put(sd, "features.%d" % idx, conv(c, cin, k, bias=True))
        cin = c
    put(sd, "classifier.1", linear(6, 8 * 36))
    put(sd, "classifier.4", linear(6, 6))
    put(sd, "classifier.6", linear(5, 6))
    return sd


def basic_conv(sd, name, cout, cin, k, kw=None):
    """torchvision's BasicConv2d `name`: name.conv (no bias) and name.bn."""
    conv_bn(sd, name + ".conv", name + ".bn", cout, cin, k, kw)


def googlenet():
    """GoogLeNet: stem 4, 4, 4; every Inception module 2 channels a branch (8 out); aux1 and aux2 (training
    only: ignored by name) with one convolution and their linear layers; fc 8 -> 5."""
    sd = {}
    for name, cin, k in (("conv1", 3, 7), ("conv2", 4, 1), ("conv3", 4, 3)):
        basic_conv(sd, name, 4, cin, k)
    cin = 4
    for m in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"):
        for name, c_in, k in (("branch1", cin, 1), ("branch2.0", cin, 1), ("branch2.1", 2, 3), ("branch3.0", cin, 1),
                              ("branch3.1", 2, 3), ("branch4.1", cin, 1)):
            basic_conv(sd, "inception%s.%s" % (m, name), 2, c_in, k)
        cin = 8
    for aux in ("aux1", "aux2"):
        basic_conv(sd, aux + ".conv", 2, 8, 1)
        put(sd, aux + ".fc1", linear(4, 32))
        put(sd, aux + ".fc2", linear(5, 4))
    put(sd, "fc", linear(5, 8))
    return sd


def inception_v3():
    """Inception-v3: stem of width 4; every branch convolution 2 wide, so modules A (Mixed_5b-d) and C
    (6b-e) give 8 channels, B (6a) and D (7a) 4 plus their input, E (7b, 7c) 12; the 1x7 / 7x1 and 1x3 / 3x1
    strips as torchvision's; AuxLogits (ignored by name) with its two convolutions and fc; fc 12 -> 5."""
    sd = {}
    cin = 3
    for name, k in (("Conv2d_1a_3x3", 3), ("Conv2d_2a_3x3", 3), ("Conv2d_2b_3x3", 3), ("Conv2d_3b_1x1", 1),
                    ("Conv2d_4a_3x3", 3)):
        basic_conv(sd, name, 4, cin, k)
        cin = 4

    def branches(m, cin, layers):
        """Module m's convolutions (name, k, kw): a branch's first one (a name without a _N suffix, or _1)
        reads the module's cin channels, the others the 2 of the convolution before them."""
        for name, k, kw in layers:
            suffix = name.rsplit("_", 1)[-1]
            basic_conv(sd, "%s.%s" % (m, name), 2, cin if suffix == "1" or not suffix[0].isdigit() else 2, k, kw)

    for m in ("Mixed_5b", "Mixed_5c", "Mixed_5d"):
        branches(m, cin, (("branch1x1", 1, 1), ("branch5x5_1", 1, 1), ("branch5x5_2", 5, 5), ("branch3x3dbl_1", 1, 1),
                          ("branch3x3dbl_2", 3, 3), ("branch3x3dbl_3", 3, 3), ("branch_pool", 1, 1)))
        cin = 8
    branches("Mixed_6a", cin, (("branch3x3", 3, 3), ("branch3x3dbl_1", 1, 1), ("branch3x3dbl_2", 3, 3),
                               ("branch3x3dbl_3", 3, 3)))
    cin += 4
    for m in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"):
        branches(m, cin, (("branch1x1", 1, 1), ("branch7x7_1", 1, 1), ("branch7x7_2", 1, 7), ("branch7x7_3", 7, 1),
                          ("branch7x7dbl_1", 1, 1), ("branch7x7dbl_2", 7, 1), ("branch7x7dbl_3", 1, 7),
                          ("branch7x7dbl_4", 7, 1), ("branch7x7dbl_5", 1, 7), ("branch_pool", 1, 1)))
        cin = 8
    branches("Mixed_7a", cin, (("branch3x3_1", 1, 1), ("branch3x3_2", 3, 3), ("branch7x7x3_1", 1, 1),
                               ("branch7x7x3_2", 1, 7), ("branch7x7x3_3", 7, 1), ("branch7x7x3_4", 3, 3)))
    cin += 4
    for m in ("Mixed_7b", "Mixed_7c"):
        branches(m, cin, (("branch1x1", 1, 1), ("branch3x3_1", 1, 1), ("branch3x3_2a", 1, 3), ("branch3x3_2b", 3, 1),
                          ("branch3x3dbl_1", 1, 1), ("branch3x3dbl_2", 3, 3), ("branch3x3dbl_3a", 1, 3),
                          ("branch3x3dbl_3b", 3, 1), ("branch_pool", 1, 1)))
        cin = 12
    basic_conv(sd, "AuxLogits.conv0", 2, 12, 1)
    basic_conv(sd, "AuxLogits.conv1", 4, 2, 5)
    put(sd, "AuxLogits.fc", linear(5, 4))
    put(sd, "fc", linear(5, cin))
    return sd


class View:
    """A .pth tensor of `shape` whose strides are all 0: every element is the one stored value."""

    def __init__(self, shape, value=0.5):
        self.shape, self.value = tuple(shape), value


def pth(sd):
    """A PyTorch zip file of `sd`: one storage per tensor; View entries store one value."""
    tensors, stor = [], []
    for i, (name, v) in enumerate(sd.items()):
        if isinstance(v, View):
            tensors.append((name, str(i), 1, 0, v.shape, (0,) * len(v.shape)))
            stor.append((str(i), f32([v.value])))
        else:
            a = np.ascontiguousarray(v, np.float32)
            strides = tuple(s // 4 for s in a.strides) if a.ndim else ()
            tensors.append((name, str(i), max(a.size, 1), 0, a.shape, strides))
            stor.append((str(i), a.tobytes() if a.size else f32([0])))
    return torch_zip(state_dict_pk(tensors), stor)


def zeros(*shape):
    return np.zeros(shape, np.float32)


ARCHS = ["-", "resnet", "vgg", "densenet", "resnet18", "resnet50", "vgg11", "vgg11_bn", "densenet121", "vit",
         "convnext", "regnet", "efficientnet", "mobilenet", "shufflenet", "alexnet", "googlenet", "inception_v3"]


def seed_bytes(sd, arch):
    """fuzz_model_load's input: arch index, then per tensor: name length, name, ndim, dims (u16)."""
    out = bytearray([ARCHS.index(arch)])
    for name, v in sd.items():
        out += bytes([len(name)]) + name.encode() + bytes([v.ndim]) + b"".join(struct.pack("<H", d) for d in v.shape)
    return bytes(out)


def main():
    out = sys.argv[1]
    seeds = sys.argv[sys.argv.index("--seeds") + 1] if "--seeds" in sys.argv else None
    os.makedirs(out, exist_ok=True)
    expect = []

    def write(name, data, arch, status, detail="-"):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        expect.append("%s %s %s %s" % (name, arch, status, detail))

    def st(name, sd, arch, status, detail="-"):
        write(name, serialize(sd), arch, status, detail)

    valid = {"resnet_basic": resnet_basic(), "resnet_grouped": resnet_grouped(), "vgg": vgg(False),
             "vgg_bn": vgg(True), "densenet": densenet(), "vit": vit(),
             "convnext": convnext(),
             "regnet": regnet(),
             "efficientnet": efficientnet(),
             "mobilenet_v2": mobilenet(2, 17), "mobilenet_v3_large": mobilenet(3, 15),
             "mobilenet_v3_small": mobilenet(3, 11), "shufflenet": shufflenet(), "alexnet": alexnet(),
             "googlenet": googlenet(), "inception_v3": inception_v3()}
    for name, sd in valid.items():
        ok = "5 80" if name in ("alexnet", "inception_v3") else "5"  # their smallest input: 63, 75 px
        st(name + ".safetensors", sd, "-", "WMF_OK", ok)
        write(name + ".pth", pth(sd), "-", "WMF_OK", ok)
    st("resnet_basic_family.safetensors", valid["resnet_basic"], "resnet", "WMF_OK", "5")
    st("densenet_family.safetensors", valid["densenet"], "densenet", "WMF_OK", "5")

    def variant(base, **changes):
        sd = dict(valid[base])
        for k, v in changes.items():
            k = k.replace("__", ".")
            if v is None:
                del sd[k]
            else:
                sd[k] = v
        return sd

    # ---- ResNet ----
    # the file: a grouped conv2 of shape [0, 1, 3, 3] divided by a zero group count (SIGFPE)
    st("resnet_conv2_zero.safetensors", variant("resnet_grouped", layer1__0__conv2__weight=zeros(0, 1, 3, 3)),
       "-", "WMF_ERR_SHAPE", "'layer1.0.conv2.weight' has shape [0, 1, 3, 3]: dimension 0 is 0")
    st("resnet_conv2_zero_in.safetensors", variant("resnet_grouped", layer1__0__conv2__weight=zeros(4, 0, 3, 3)),
       "-", "WMF_ERR_SHAPE", "'layer1.0.conv2.weight' has shape [4, 0, 3, 3]: dimension 1 is 0")
    st("resnet_conv2_groups_uneven.safetensors", variant("resnet_grouped", layer1__0__conv2__weight=zeros(4, 3, 3, 3)),
       "-", "WMF_ERR_SHAPE", "do not split into groups of 3")
    st("resnet_conv2_rank.safetensors", variant("resnet_grouped", layer1__0__conv2__weight=zeros(4, 2, 9)),
       "-", "WMF_ERR_SHAPE", "'layer1.0.conv2.weight' has shape [4, 2, 9], the architecture needs a 4-D tensor")
    st("resnet_stem_zero.safetensors", variant("resnet_basic", conv1__weight=zeros(0, 3, 7, 7)),
       "-", "WMF_ERR_SHAPE", "'conv1.weight' has shape [0, 3, 7, 7]")
    st("resnet_width_zero.safetensors", variant("resnet_basic", layer2__0__conv1__weight=zeros(0, 4, 3, 3)),
       "-", "WMF_ERR_SHAPE", "'layer2.0.conv1.weight' has shape [0, 4, 3, 3]")
    st("resnet_fc_zero.safetensors", variant("resnet_basic", fc__weight=zeros(0, 8), fc__bias=zeros(0)),
       "-", "WMF_ERR_SHAPE", "'fc.weight' has shape [0, 8]")
    st("resnet_fc_zero_named.safetensors", variant("resnet_basic", fc__weight=zeros(0, 8), fc__bias=zeros(0)),
       "resnet18", "WMF_ERR_SHAPE", "'fc.weight' has shape [0, 8]")
    st("resnet_fc_rank.safetensors", variant("resnet_basic", fc__weight=zeros(5, 8, 1)),
       "-", "WMF_ERR_SHAPE", "'fc.weight' has shape [5, 8, 1], the architecture needs a 2-D tensor")
    st("resnet_fc_features.safetensors", variant("resnet_basic", fc__weight=zeros(5, 7)),
       "-", "WMF_ERR_SHAPE", "'fc.weight' has shape [5, 7], the architecture needs [5, 8]")
    st("resnet_inconsistent.safetensors", variant("resnet_basic", layer1__0__conv2__weight=zeros(4, 3, 3, 3)),
       "-", "WMF_ERR_SHAPE", "'layer1.0.conv2.weight' has shape [4, 3, 3, 3], the architecture needs [4, 4, 3, 3]")
    st("resnet_kernel.safetensors", variant("resnet_basic", layer1__0__conv1__weight=zeros(4, 4, 5, 5)),
       "-", "WMF_ERR_SHAPE", "needs [4, 4, 3, 3]")
    st("resnet_bn_size.safetensors", variant("resnet_basic", layer1__0__bn1__running_var=np.ones(3, np.float32)),
       "-", "WMF_ERR_SHAPE", "'layer1.0.bn1.running_var' has shape [3], the architecture needs [4]")
    st("resnet_no_conv1.safetensors", variant("resnet_basic", conv1__weight=None), "-", "WMF_ERR_NOT_FOUND",
       "'conv1.weight' is missing")
    # .pth views: 2^32 channels over one stored value (the int cast made 0 channels), limits
    write("resnet_view_2p32.pth", pth(variant("resnet_basic", conv1__weight=View((1 << 32, 3, 7, 7)))), "-",
          "WMF_ERR_LIMIT", "'conv1.weight' has shape [4294967296, 3, 7, 7]: dimension 0 (4294967296) is over the limit")
    write("resnet_view_2p32_fc.pth", pth(variant("resnet_basic", fc__weight=View((1 << 32, 8)))), "-",
          "WMF_ERR_LIMIT", "'fc.weight' has shape [4294967296, 8]")
    write("resnet_view_2p31_groups.pth", pth(variant("resnet_grouped", layer1__0__conv2__weight=View((1 << 31, 1, 3, 3)))),
          "-", "WMF_ERR_LIMIT", "'layer1.0.conv2.weight'")
    write("resnet_view_channels.pth", pth(variant("resnet_basic", layer4__0__conv2__weight=View((16385, 8, 3, 3)))),
          "-", "WMF_ERR_LIMIT", "dimension 0 (16385) is over the limit of 16384")
    # ---- VGG ----
    st("vgg_conv_zero.safetensors", variant("vgg", features__0__weight=zeros(0, 3, 3, 3)), "-", "WMF_ERR_SHAPE",
       "'features.0.weight' has shape [0, 3, 3, 3]")
    st("vgg_hidden_zero.safetensors", variant("vgg", classifier__0__weight=zeros(0, 392)), "-", "WMF_ERR_SHAPE",
       "'classifier.0.weight' has shape [0, 392]")
    st("vgg_classes_zero.safetensors", variant("vgg", classifier__6__weight=zeros(0, 6)), "-", "WMF_ERR_SHAPE",
       "'classifier.6.weight' has shape [0, 6]")
    st("vgg_classes_zero_named.safetensors", variant("vgg", classifier__6__weight=zeros(0, 6)), "vgg11",
       "WMF_ERR_SHAPE", "'classifier.6.weight' has shape [0, 6]")
    st("vgg_head_rank.safetensors", variant("vgg", classifier__6__weight=zeros(30)), "-", "WMF_ERR_SHAPE",
       "'classifier.6.weight' has shape [30], the architecture needs a 2-D tensor")
    st("vgg_head_inconsistent.safetensors", variant("vgg", classifier__0__weight=zeros(6, 391)), "-", "WMF_ERR_SHAPE",
       "'classifier.0.weight' has shape [6, 391], the architecture needs [6, 392]")
    st("vgg_conv_inconsistent.safetensors", variant("vgg", features__3__weight=zeros(8, 5, 3, 3)), "-",
       "WMF_ERR_SHAPE", "'features.3.weight' has shape [8, 5, 3, 3], the architecture needs [8, 4, 3, 3]")
    write("vgg_view_2p32.pth", pth(variant("vgg", features__0__weight=View((1 << 32, 3, 3, 3)))), "-",
          "WMF_ERR_LIMIT", "'features.0.weight' has shape [4294967296, 3, 3, 3]")
    # a consistent network whose one tensor is over the element limit (16384 x 16384 x 3 x 3 from 4 bytes)
    big = variant("vgg", features__0__weight=View((16384, 3, 3, 3)), features__0__bias=View((16384,)),
                  features__3__weight=View((16384, 16384, 3, 3)), features__3__bias=View((16384,)))
    write("vgg_view_tensor_limit.pth", pth(big), "-", "WMF_ERR_LIMIT",
          "'features.3.weight' (2415919104 elements) takes the network over the limits")
    # ---- DenseNet ----
    st("densenet_conv0_zero.safetensors", variant("densenet", features__conv0__weight=zeros(0, 3, 7, 7)), "-",
       "WMF_ERR_SHAPE", "'features.conv0.weight' has shape [0, 3, 7, 7]")
    st("densenet_growth_zero.safetensors",
       variant("densenet", features__denseblock1__denselayer1__conv2__weight=zeros(0, 8, 3, 3)), "-",
       "WMF_ERR_SHAPE", "'features.denseblock1.denselayer1.conv2.weight' has shape [0, 8, 3, 3]")
    st("densenet_inner_zero.safetensors",
       variant("densenet", features__denseblock1__denselayer1__conv1__weight=zeros(0, 4, 1, 1)), "-",
       "WMF_ERR_SHAPE", "'features.denseblock1.denselayer1.conv1.weight' has shape [0, 4, 1, 1]")
    st("densenet_transition_zero.safetensors", variant("densenet", features__transition2__conv__weight=zeros(0, 8, 1, 1)),
       "-", "WMF_ERR_SHAPE", "'features.transition2.conv.weight' has shape [0, 8, 1, 1]")
    st("densenet_classes_zero.safetensors", variant("densenet", classifier__weight=zeros(0, 8)), "-", "WMF_ERR_SHAPE",
       "'classifier.weight' has shape [0, 8]")
    st("densenet_classes_zero_named.safetensors", variant("densenet", classifier__weight=zeros(0, 8)), "densenet121",
       "WMF_ERR_SHAPE", "'classifier.weight' has shape [0, 8]")
    st("densenet_growth_inconsistent.safetensors",
       variant("densenet", features__denseblock2__denselayer1__conv2__weight=zeros(5, 8, 3, 3)), "-",
       "WMF_ERR_SHAPE", "'features.denseblock2.denselayer1.conv2.weight' has shape [5, 8, 3, 3], the architecture needs [4, 8, 3, 3]")
    st("densenet_conv0_rank.safetensors", variant("densenet", features__conv0__weight=zeros(4, 3, 7)), "-",
       "WMF_ERR_SHAPE", "'features.conv0.weight' has shape [4, 3, 7], the architecture needs a 4-D tensor")
    # a growth rate whose block total overflows what a layer may hold: 4 + 1 * 16384 channels
    write("densenet_view_growth.pth",
          pth(variant("densenet", features__denseblock1__denselayer1__conv2__weight=View((16384, 8, 3, 3)))), "-",
          "WMF_ERR_LIMIT", "features.denseblock1 has 16388 channels, outside 1..16384")
    write("densenet_view_2p32.pth",
          pth(variant("densenet", features__denseblock1__denselayer1__conv2__weight=View((1 << 32, 8, 3, 3)))), "-",
          "WMF_ERR_LIMIT", "dimension 0 (4294967296) is over the limit")
    # ---- ViT ----
    st("vit_patch_zero.safetensors", variant("vit", conv_proj__weight=zeros(64, 3, 0, 0)), "-", "WMF_ERR_SHAPE",
       "'conv_proj.weight' has shape [64, 3, 0, 0]: dimension 2 is 0")
    st("vit_patch_rect.safetensors", variant("vit", conv_proj__weight=zeros(64, 3, 8, 4)), "-", "WMF_ERR_SHAPE",
       "'conv_proj.weight' has shape [64, 3, 8, 4], the architecture needs [64, 3, 8, 8]")
    st("vit_tokens_not_square.safetensors", variant("vit", encoder__pos_embedding=zeros(1, 18, 64)), "-",
       "WMF_ERR_SHAPE", "'encoder.pos_embedding' holds 18 tokens")
    st("vit_class_token.safetensors", variant("vit", class_token=zeros(1, 1, 63)), "-", "WMF_ERR_SHAPE",
       "'class_token' has shape [1, 1, 63], the architecture needs [1, 1, 64]")
    st("vit_mlp_zero.safetensors", variant("vit", encoder__layers__encoder_layer_0__mlp__0__weight=zeros(0, 64)), "-",
       "WMF_ERR_SHAPE", "'encoder.layers.encoder_layer_0.mlp.0.weight' has shape [0, 64]")
    st("vit_named.safetensors", valid["vit"], "vit_b_16", "WMF_ERR_SHAPE",
       "'conv_proj.weight' has shape [64, 3, 8, 8], the architecture needs [768, 3, 16, 16]")
    write("vit_view_tokens.pth", pth(variant("vit", encoder__pos_embedding=View((1, 1 << 31, 64)))), "-",
          "WMF_ERR_LIMIT", "'encoder.pos_embedding' has shape [1, 2147483648, 64]: dimension 1 (2147483648) is over")
    write("vit_view_hidden.pth", pth(variant("vit", conv_proj__weight=View((1 << 32, 3, 8, 8)))), "-",
          "WMF_ERR_LIMIT", "'conv_proj.weight' has shape [4294967296, 3, 8, 8]")
    # ---- ConvNeXt ----
    st("convnext_width_zero.safetensors", variant("convnext", features__1__0__block__0__weight=zeros(0, 1, 7, 7)), "-",
       "WMF_ERR_SHAPE", "'features.1.0.block.0.weight' has shape [0, 1, 7, 7]: dimension 0 is 0")
    st("convnext_dw_kernel.safetensors", variant("convnext", features__3__0__block__0__weight=zeros(8, 1, 3, 3)), "-",
       "WMF_ERR_SHAPE", "'features.3.0.block.0.weight' has shape [8, 1, 3, 3], the architecture needs [8, 1, 7, 7]")
    st("convnext_layer_scale.safetensors", variant("convnext", features__5__0__layer_scale=zeros(7, 1, 1)), "-",
       "WMF_ERR_SHAPE", "'features.5.0.layer_scale' has shape [7, 1, 1], the architecture needs [8, 1, 1]")
    st("convnext_downsample.safetensors", variant("convnext", features__4__1__weight=zeros(8, 4, 2, 2)), "-",
       "WMF_ERR_SHAPE", "'features.4.1.weight' has shape [8, 4, 2, 2], the architecture needs [8, 8, 2, 2]")
    st("convnext_no_stage.safetensors", variant("convnext", features__7__0__layer_scale=None), "-",
       "WMF_ERR_UNKNOWN_ARCH", "ConvNeXt weights without 'features.7.0...'")
    st("convnext_named.safetensors", valid["convnext"], "convnext_tiny", "WMF_ERR_UNKNOWN_ARCH",
       "the weights are a convnext-custom")
    st("convnext_family.safetensors", valid["convnext"], "convnext", "WMF_OK", "5")
    write("convnext_view_width.pth", pth(variant("convnext", features__1__0__block__0__weight=View((1 << 32, 1, 7, 7)))),
          "-", "WMF_ERR_LIMIT", "'features.1.0.block.0.weight' has shape [4294967296, 1, 7, 7]: dimension 0 (4294967296) is over")
    # ---- RegNet ---- (its tensor names hold '-': no keyword arguments)
    b1, b2 = "trunk_output.block1.block1-0.", "trunk_output.block2.block2-0."

    def regnet_with(**changes):
        sd = dict(valid["regnet"])
        for k, v in changes.items():
            k = k.replace("__", ".").replace("B1.", b1).replace("B2.", b2)
            if v is None:
                del sd[k]
            else:
                sd[k] = v
        return sd
    st("regnet_family.safetensors", valid["regnet"], "regnet", "WMF_OK", "5")
    st("regnet_groups_uneven.safetensors", regnet_with(B1__f__b__0__weight=zeros(8, 3, 3, 3)), "-", "WMF_ERR_SHAPE",
       "8 output channels do not split into groups of 3 input channels")
    st("regnet_group_zero.safetensors", regnet_with(B1__f__b__0__weight=zeros(8, 0, 3, 3)), "-", "WMF_ERR_SHAPE",
       "'%sf.b.0.weight' has shape [8, 0, 3, 3]: dimension 1 is 0" % b1)
    st("regnet_se_width.safetensors", regnet_with(B2__f__se__fc2__weight=zeros(15, 2, 1, 1),
                                                  B2__f__se__fc2__bias=zeros(15)), "-", "WMF_ERR_SHAPE",
       "has 15 outputs for 16 channels")
    st("regnet_no_proj.safetensors", regnet_with(B2__proj__0__weight=None), "-", "WMF_ERR_NOT_FOUND",
       "'%sproj.0.weight'" % b2)
    st("regnet_named.safetensors", valid["regnet"], "regnet_y_400mf", "WMF_ERR_UNKNOWN_ARCH",
       "the weights are a regnet_y-custom, not a regnet_y_400mf")
    write("regnet_view_width.pth", pth(regnet_with(B2__f__c__0__weight=View((1 << 32, 16, 1, 1)))), "-",
          "WMF_ERR_LIMIT", "'%sf.c.0.weight' has shape [4294967296, 16, 1, 1]" % b2)
    # ---- EfficientNet ----
    st("efficientnet_family.safetensors", valid["efficientnet"], "efficientnet", "WMF_OK", "5")
    st("efficientnet_even_kernel.safetensors", variant("efficientnet", features__3__0__block__1__0__weight=zeros(64, 1, 4, 4)),
       "-", "WMF_ERR_SHAPE", "'features.3.0.block.1.0.weight' has an even kernel size 4")
    st("efficientnet_depthwise_inconsistent.safetensors",
       variant("efficientnet", features__3__0__block__1__0__weight=zeros(64, 2, 5, 5)), "-", "WMF_ERR_SHAPE",
       "'features.3.0.block.1.0.weight' has shape [64, 2, 5, 5], the architecture needs [64, 1, 5, 5]")
    st("efficientnet_se_zero.safetensors", variant("efficientnet", features__3__0__block__2__fc1__weight=zeros(0, 64, 1, 1)),
       "-", "WMF_ERR_SHAPE", "'features.3.0.block.2.fc1.weight' has shape [0, 64, 1, 1]: dimension 0 is 0")
    st("efficientnet_se_inconsistent.safetensors",
       variant("efficientnet", features__3__0__block__2__fc2__weight=zeros(63, 4, 1, 1),
               features__3__0__block__2__fc2__bias=zeros(63)), "-", "WMF_ERR_SHAPE", "has 63 outputs for 64 channels")
    st("efficientnet_named.safetensors", valid["efficientnet"], "efficientnet_b0", "WMF_ERR_UNKNOWN_ARCH",
       "the weights are a custom EfficientNet, not a efficientnet_b0")
    write("efficientnet_view_2p32.pth", pth(variant("efficientnet", features__0__0__weight=View((1 << 32, 3, 3, 3)))),
          "-", "WMF_ERR_LIMIT", "'features.0.0.weight' has shape [4294967296, 3, 3, 3]")

    # ---- MobileNet, ShuffleNet, AlexNet, GoogLeNet, Inception-v3: the tiny networks by name ----
    st("mobilenet_v2_named.safetensors", valid["mobilenet_v2"], "mobilenet_v2", "WMF_OK", "5")
    st("mobilenet_v3_small_family.safetensors", valid["mobilenet_v3_small"], "mobilenet", "WMF_OK", "5")
    st("mobilenet_v3_named.safetensors", valid["mobilenet_v3_small"], "mobilenet_v3_large", "WMF_ERR_UNKNOWN_ARCH",
       "the weights are a mobilenet_v3_small, not a mobilenet_v3_large")
    st("shufflenet_named.safetensors", valid["shufflenet"], "shufflenet_v2_x1_0", "WMF_ERR_UNKNOWN_ARCH",
       "the weights are a shufflenet-custom, not a shufflenet_v2_x1_0")
    st("alexnet_named.safetensors", valid["alexnet"], "alexnet", "WMF_ERR_SHAPE",
       "'features.0.weight' has shape [4, 3, 11, 11], the architecture needs [64, 3, 11, 11]")
    st("googlenet_named.safetensors", valid["googlenet"], "googlenet", "WMF_OK", "5")
    st("inception_v3_named.safetensors", valid["inception_v3"], "inception_v3", "WMF_OK", "5 80")

    with open(os.path.join(out, "expect.txt"), "w") as f:
        f.write("\n".join(expect) + "\n")
    if seeds:
        os.makedirs(seeds, exist_ok=True)
        for name, sd in valid.items():
            with open(os.path.join(seeds, name + ".bin"), "wb") as f:
                f.write(seed_bytes(sd, "-"))
        with open(os.path.join(seeds, "resnet_grouped_named.bin"), "wb") as f:
            f.write(seed_bytes(valid["resnet_grouped"], "resnet"))


if __name__ == "__main__":
    main()
