#!/usr/bin/python3
"""Parity reference for lib/nn: builds torchvision models with a fixed seed and randomized BatchNorm
statistics and affine parameters (so no BatchNorm is the identity), saves their weights as safetensors
(and .pth for the small ones), runs them on real photos (scikit-image's data folder) preprocessed by
torchvision's transforms, and stores inputs, logits, features and one pooled stage output in
<out>/<model>.ref.safetensors.

Usage: make_reference.py OUT_DIR MODEL [MODEL...]
Models: torchvision names, plus tiny_efficientnet (four stages of both block kinds), tiny_densenet (growth 8, custom blocks: exercises the unblocked
layout) and tiny_vgg (a one-conv VGG with a small head, used by the error tests) and tiny_vit (a
two-layer ViT: hidden 128, 2 heads, patch 16, 64 px; also saved with the legacy `mlp.linear_1` names)
and tiny_regnet (a two-stage RegNet Y of widths no torchvision variant has, bottleneck multiplier 2: loads
as regnet_y-custom).
ViTs run only at the size their position embedding fixes (SIZES_VIT); their class token and head, which
torchvision initializes to zeros, get random values.
"""
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision import transforms
from skimage import data as skdata

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights"))
from safetensors_writer import save_file  # noqa: E402

torch.set_num_threads(2)

SIZES = [(224, 1), (224, 3), (160, 1), (160, 3)]
SIZES_VIT = {"tiny_vit": [(64, 1), (64, 3)]}
# Networks trained at another size: that size first, then one other it supports.
SIZES_OF = {"inception_v3": [(299, 1), (299, 3), (224, 1), (224, 3)],
            "regnet_y_128gf": [(384, 1), (384, 3), (224, 1), (224, 3)]}
# EfficientNet: size-agnostic; the CI models (b0, v2_s) at 224 and 160 (v2_s's weights are for 384: kept
# small to stay fast), the others at the crop of their weights' transforms and at 160. Their reference
# also holds torchvision's (crop, resize) of the DEFAULT weights ("default_size"), the model's defaults.
EFFICIENTNET_CROP = {"efficientnet_b1": 240, "efficientnet_b2": 288, "efficientnet_b3": 300, "efficientnet_b4": 380,
                     "efficientnet_b5": 456, "efficientnet_b6": 528, "efficientnet_b7": 600, "efficientnet_v2_m": 480,
                     "efficientnet_v2_l": 480}
SIZES_OF.update({k: [(v, 1), (v, 3), (160, 1), (160, 3)] for k, v in EFFICIENTNET_CROP.items()})
# torchvision turns transform_input on when it loads the pretrained weights of these (libwmfeat's
# default too); the reference also holds the first size's outputs with it off ("*_noti_*").
TRANSFORM_INPUT = {"googlenet", "inception_v3"}
# densenet121: norm5 before the ReLU, pooled, as Mark My Words hooks DenseNet (model.features' output).
STAGES = {"resnet": "layer3", "resnext": "layer3", "wide_resnet": "layer3", "densenet": "features.denseblock3",
          "densenet121": "features.norm5",
          "tiny_densenet": "features.denseblock2", "vgg11": "features.14", "vgg16": "features.23", "tiny_vgg": "features.3",
          "mobilenet": "features", "shufflenet": "conv5",
          "alexnet": "features.12", "googlenet": "inception4e", "inception_v3": "Mixed_6e",
          "convnext": "features.5",
          "regnet": "trunk_output.block3", "tiny_regnet": "trunk_output.block1",
          "efficientnet": "features.3", "tiny_efficientnet": "features.2"}
PTH = {"resnet18", "densenet121", "tiny_densenet", "tiny_vgg", "tiny_vit", "vit_b_32", "mobilenet_v2", "mobilenet_v3_large",
       "mobilenet_v3_small", "shufflenet_v2_x1_0", "googlenet", "inception_v3",
       "convnext_tiny",
       "regnet_x_400mf", "regnet_y_400mf", "tiny_regnet",
       "efficientnet_b0", "efficientnet_v2_s", "tiny_efficientnet"}


def write_safetensors(path, tensors):
    """Through the weights module's writer (tests/weights), via a temporary file so a killed run never
    leaves a half-written reference behind."""
    tmp = path + ".tmp"
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, tmp)
    os.replace(tmp, path)


def write_variants(out_dir, sd):
    """Broken copies of tiny_vgg for the error tests."""
    def save(tag, d):
        write_safetensors(os.path.join(out_dir, f"tiny_vgg.{tag}.safetensors"), d)
    save("missing", {k: v for k, v in sd.items() if k != "classifier.3.bias"})
    save("shape", {**sd, "features.0.weight": torch.zeros(8, 3, 5, 5)})
    save("extra", {**sd, "extra.weight": torch.zeros(4)})
    bad = sd["features.1.running_var"].clone()
    bad[3] = float("nan")
    save("nan", {**sd, "features.1.running_var": bad})
    save("inf", {**sd, "classifier.0.weight": sd["classifier.0.weight"].clone().fill_(float("inf"))})
    save("none", {"foo.weight": torch.zeros(3)})


def tiny_vgg():
    m = torchvision.models.vgg.VGG(torchvision.models.vgg.make_layers([8, "M"], batch_norm=True), num_classes=10)
    m.classifier = torch.nn.Sequential(torch.nn.Linear(8 * 49, 16), torch.nn.ReLU(True), torch.nn.Dropout(),
                                       torch.nn.Linear(16, 16), torch.nn.ReLU(True), torch.nn.Dropout(),
                                       torch.nn.Linear(16, 10))
    return m


def tiny_vit():
    return torchvision.models.vision_transformer.VisionTransformer(
        image_size=64, patch_size=16, num_layers=2, num_heads=2, hidden_dim=128, mlp_dim=256, num_classes=10)


def tiny_regnet():
    from torchvision.models.regnet import BlockParams, RegNet
    params = BlockParams(depths=[1, 2], widths=[16, 40], group_widths=[8, 8], bottleneck_multipliers=[2.0, 2.0],
                         strides=[2, 2], se_ratio=0.25)
    return RegNet(params, num_classes=10, stem_width=24)


def tiny_efficientnet():
    """A four-stage EfficientNet of both block kinds: FusedMBConv without expansion (its input added after
    the SiLU) and with it, MBConv with a 5x5 depthwise convolution, strides from torchvision's stage table
    (1, 2, 2, 2); BatchNorm eps 1e-3 as torchvision's v2 builders (the file cannot tell)."""
    from torchvision.models.efficientnet import EfficientNet, FusedMBConvConfig, MBConvConfig
    setting = [FusedMBConvConfig(1, 3, 1, 16, 16, 2), FusedMBConvConfig(4, 3, 2, 16, 24, 1),
               MBConvConfig(4, 5, 2, 24, 32, 2), MBConvConfig(6, 3, 2, 32, 40, 1)]
    return EfficientNet(setting, 0.2, num_classes=10, last_channel=64,
                        norm_layer=lambda c: torch.nn.BatchNorm2d(c, eps=1e-3))


def sizes_of(name):
    if name.startswith("vit_") or name.endswith("_vit"):
        return SIZES_VIT.get(name, [(224, 1), (224, 3)])
    return SIZES_OF.get(name, SIZES)


def legacy_mlp_names(sd):
    """The names torchvision < 0.13 wrote for the ViT MLP (mlp.linear_1 / mlp.linear_2)."""
    out = {}
    for k, v in sd.items():
        out[k.replace(".mlp.0.", ".mlp.linear_1.").replace(".mlp.3.", ".mlp.linear_2.")] = v
    return out


def build(name):
    torch.manual_seed(0)
    if name == "tiny_densenet":
        m = torchvision.models.DenseNet(growth_rate=8, block_config=(2, 1, 1, 1), num_init_features=24, bn_size=2,
                                        num_classes=10)
    elif name == "tiny_vgg":
        m = tiny_vgg()
    elif name == "tiny_vit":
        m = tiny_vit()
    elif name == "tiny_regnet":
        m = tiny_regnet()
    elif name == "tiny_efficientnet":
        m = tiny_efficientnet()
    elif name in TRANSFORM_INPUT:  # with their auxiliary heads, whose tensors the files hold
        # Inception-v3's own initialization (std 0.1 at every depth) with random BatchNorm statistics gives
        # logits around 1e13: torch's default initialization keeps them moderate.
        m = torchvision.models.__dict__[name](weights=None, aux_logits=True, transform_input=True,
                                              init_weights=name == "googlenet")
    else:
        m = torchvision.models.__dict__[name](weights=None)
    if name.startswith("mobilenet_v3"):
        # torchvision draws MobileNet-v3's linear layers from N(0, 0.01): logits and features of about
        # 0.02, where the parity bound's 1e-5 floor would dominate. torch's default Linear init instead.
        for mod in m.modules():
            if isinstance(mod, torch.nn.Linear):
                mod.reset_parameters()
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            c = mod.num_features
            mod.weight.data = torch.rand(c, generator=g) + 0.5
            mod.bias.data = torch.randn(c, generator=g) * 0.1
            mod.running_mean = torch.randn(c, generator=g) * 0.1
            mod.running_var = torch.rand(c, generator=g) + 0.5
    if isinstance(m, torchvision.models.convnext.ConvNeXt):
        # torchvision starts the layer scales at 1e-6 (the blocks would be near identities) and the biases
        # at zero: random values, so every block, LayerNorm and bias (and the folding of the layer scale
        # into block.5) shows in the outputs.
        for mod in m.modules():
            if isinstance(mod, torchvision.models.convnext.CNBlock):
                mod.layer_scale.data = torch.rand(mod.layer_scale.shape, generator=g) * 0.5 + 0.25
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.data = torch.rand(mod.weight.shape, generator=g) + 0.5
                mod.bias.data = torch.randn(mod.bias.shape, generator=g) * 0.1
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                mod.bias.data = torch.randn(mod.bias.shape, generator=g) * 0.02
    if isinstance(m, torchvision.models.vision_transformer.VisionTransformer):
        m.class_token.data = torch.randn(m.class_token.shape, generator=g) * 0.5
        head = m.heads.head
        head.weight.data = torch.randn(head.weight.shape, generator=g) / head.in_features ** 0.5
        head.bias.data = torch.randn(head.bias.shape, generator=g) * 0.1
        for mod in m.modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.weight.data = torch.rand(mod.weight.shape, generator=g) + 0.5
                mod.bias.data = torch.randn(mod.bias.shape, generator=g) * 0.1
    if name in TRANSFORM_INPUT:
        calibrate(m, g, name)
    return m.eval()


def calibrate(m, g, name):
    """BatchNorm statistics measured on the photos, then perturbed. With the fixed random statistics
    above, the activations of these deep BasicConv2d stacks shrink until the BatchNorm biases alone make
    the logits (the input, or transform_input, changed them by 1e-7 of their size); measured ones keep
    every layer's output near unit scale, so the parity test sees what the input does."""
    bns = [mod for mod in m.modules() if isinstance(mod, torch.nn.BatchNorm2d)]
    for mod in bns:
        mod.reset_running_stats()
        mod.momentum = None  # a cumulative average
    m.train()
    size = sizes_of(name)[0][0]
    with torch.no_grad():
        m(photos(size))
    for mod in bns:
        c = mod.num_features
        mod.running_mean += torch.randn(c, generator=g) * 0.1 * mod.running_var.sqrt()
        mod.running_var *= torch.rand(c, generator=g) + 0.5


def photos(size):
    tf = transforms.Compose([transforms.ToPILImage(), transforms.Resize(size * 256 // 224, antialias=True),
                             transforms.CenterCrop(size), transforms.ToTensor(),
                             transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    return torch.stack([tf(skdata.astronaut()), tf(skdata.chelsea()), tf(skdata.coffee())])


def stage_of(name):
    for k in sorted(STAGES, key=len, reverse=True):
        if name.startswith(k):
            return STAGES[k]
    return None


def main():
    out_dir, names = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    for name in names:
        m = build(name)
        sd = {k: v for k, v in m.state_dict().items() if not k.endswith("num_batches_tracked")}
        write_safetensors(os.path.join(out_dir, name + ".safetensors"), sd)
        if name in PTH:
            torch.save(m.state_dict(), os.path.join(out_dir, name + ".pth"))
        last = [mod for mod in m.modules() if isinstance(mod, torch.nn.Linear)][-1]
        grabbed = {}
        last.register_forward_pre_hook(lambda mod, inp: grabbed.__setitem__("features", inp[0].detach().clone()))
        stage = stage_of(name)
        if stage:
            m.get_submodule(stage).register_forward_hook(
                lambda mod, inp, out: grabbed.__setitem__("stage", out.detach().mean(dim=(2, 3))))
        ref = {}
        sizes = sizes_of(name)
        for size, n in sizes:
            x = photos(size)[:n].contiguous()
            with torch.no_grad():
                logits = m(x)
            tag = f"{size}_b{n}"
            ref["input_" + tag] = x
            ref["logits_" + tag] = logits
            ref["features_" + tag] = grabbed["features"]
            if stage:
                ref["stage_" + tag] = grabbed["stage"]
        if name in TRANSFORM_INPUT:
            m.transform_input = False
            size, n = sizes[1]
            tag = f"{size}_b{n}"
            with torch.no_grad():
                ref["logits_noti_" + tag] = m(ref["input_" + tag])
            ref["features_noti_" + tag] = grabbed["features"]
            m.transform_input = True
        if name.startswith("efficientnet"):
            tf = torchvision.models.get_model_weights(name).DEFAULT.transforms()
            ref["default_size"] = torch.tensor([tf.crop_size[0], tf.resize_size[0]], dtype=torch.float32)
        ref["sizes"] = torch.tensor([s for s, n in sizes if n == 1], dtype=torch.float32)
        ref_path = os.path.join(out_dir, name + ".ref.safetensors")
        write_safetensors(ref_path, ref)
        with open(os.path.join(out_dir, name + ".stage"), "w") as f:
            f.write(stage or "")
        if name == "tiny_vgg":
            write_variants(out_dir, sd)
        if name == "tiny_vit":
            write_safetensors(os.path.join(out_dir, name + ".legacy.safetensors"), legacy_mlp_names(sd))
        print(name, "logits max", float(ref[f"logits_{sizes[1][0]}_b3"].abs().max()), "stage", stage)


if __name__ == "__main__":
    main()
