import threading

import numpy as np
import pytest
import torch
import torchvision

import wmfeat
from wmfeat import Image, Model, Session, Weights

torch.set_num_threads(2)
PHOTO = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    """A randomly initialized torchvision ResNet-18 (eval mode, BN statistics perturbed so folding
    matters), its state_dict written with torch.save."""
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    path = tmp_path_factory.mktemp("nn") / "resnet18.pth"
    torch.save(net.state_dict(), path)
    return net, path


def torch_outputs(net, x):
    feats = {}

    def keep_input(module, inputs, output):
        feats["f"] = inputs[0]
    hook = net.fc.register_forward_hook(keep_input)
    with torch.no_grad():
        logits = net(torch.from_numpy(x))
    hook.remove()
    return logits.numpy(), feats["f"].numpy()


def test_logits_and_features_match_torchvision(resnet18):
    net, path = resnet18
    with Model.open(path) as model:
        assert model.arch == "resnet18" and model.family == "resnet"
        assert (model.num_classes, model.feature_count, model.default_input_size) == (10, 512, 224)
        with Session(model, max_batch=3, input_size=96, threads=2) as s:
            assert s.input_dims == (3, 96, 96)
            assert (s.logit_count, s.feature_count) == (10, 512)
            x = np.random.default_rng(0).normal(size=(3, 3, 96, 96)).astype(np.float32)
            logits, feats = s.run(x)
            ref_logits, ref_feats = torch_outputs(net, x)
            assert logits.shape == (3, 10) and feats.shape == (3, 512)
            assert np.allclose(logits, ref_logits, rtol=1e-4, atol=1e-4)
            assert np.allclose(feats, ref_feats, rtol=1e-4, atol=1e-4)
            # a smaller batch, outputs into caller arrays (no copies), features only
            out = np.full((4, 512), -1, np.float32)
            got_l, got_f = s.run(x[:2], features=out, want_logits=False)
            assert got_l is None and got_f is out
            assert np.allclose(out[:2], ref_feats[:2], rtol=1e-4, atol=1e-4) and np.all(out[2:] == -1)
            # an image's outputs do not depend on its batch or the thread count: shards merge exactly
            assert np.array_equal(out[:2], feats[:2])
            with Session(model, max_batch=1, input_size=96, threads=1) as one:
                l1, f1 = one.run(x[2:3])
            assert np.array_equal(l1, logits[2:3]) and np.array_equal(f1, feats[2:3])


def test_images_through_preprocess_and_a_stage(resnet18):
    net, path = resnet18
    with Weights.open(path) as w:
        model = Model.load(w, "resnet")
    s = model.session(max_batch=2, stage="layer3")
    batch = s.input_batch()
    with Image.load(PHOTO) as img:
        img.preprocess(256, 224, out=batch, slot=0)
        img.preprocess(256, 224, out=batch, slot=1)
    logits, _ = s.run(batch)
    assert np.array_equal(logits[0], logits[1])
    stage = s.stage_features()
    assert stage.shape == (2, s.stage_count) and s.stage_count == 256
    with torch.no_grad():
        t = torch.from_numpy(batch)
        t = net.layer3(net.layer2(net.layer1(net.maxpool(net.relu(net.bn1(net.conv1(t)))))))
        ref = t.mean(dim=(2, 3)).numpy()
    assert np.allclose(stage, ref, rtol=1e-4, atol=1e-4)
    model.close()  # closes the session first
    with pytest.raises((ValueError, Exception), match="closed"):
        s.run(batch)


def test_sessions_in_threads(resnet18):
    _, path = resnet18
    model = Model.open(path)
    x = np.random.default_rng(1).normal(size=(4, 1, 3, 64, 64)).astype(np.float32)
    with Session(model, input_size=64, threads=1) as s:
        expected = [s.run(x[i])[0] for i in range(4)]
    got = [None] * 4

    def work(i):
        with Session(model, input_size=64, threads=1) as own:
            got[i] = own.run(x[i])[0]
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))


def test_errors(resnet18, tmp_path):
    _, path = resnet18
    with pytest.raises(wmfeat.Error) as e:
        Model.open(path, arch="vgg16")
    assert e.value.name in ("WMF_ERR_SHAPE", "WMF_ERR_UNKNOWN_ARCH", "WMF_ERR_NOT_FOUND")
    torch.save({"just.a.tensor": torch.zeros(3)}, tmp_path / "x.pth")
    with pytest.raises(wmfeat.Error) as e:
        Model.open(tmp_path / "x.pth")
    assert e.value.name == "WMF_ERR_UNKNOWN_ARCH"
    model = Model.open(path)
    with pytest.raises(wmfeat.Error) as e:
        Session(model, stage="layer9")
    assert e.value.name == "WMF_ERR_NOT_FOUND"
    s = Session.create(model, max_batch=1, input_size=64)
    with pytest.raises(wmfeat.Error) as e:
        s.run(np.zeros((2, 3, 64, 64), np.float32))
    assert e.value.name == "WMF_ERR_LIMIT"
    with pytest.raises(ValueError):
        s.run(np.zeros((1, 3, 32, 64), np.float32))
    with pytest.raises(wmfeat.Error) as e:
        s.run(np.zeros((1, 3, 64, 64), np.float32), logits=np.zeros(5, np.float32))
    assert e.value.name == "WMF_ERR_BUFFER_TOO_SMALL"
    with pytest.raises(wmfeat.Error) as e:
        s.stage_features()
    assert e.value.name == "WMF_ERR_STATE"
    assert isinstance(wmfeat.isa(), str) and wmfeat.has_bf16() in (True, False)


@pytest.mark.parametrize("shape", [(0, 1, 3, 3), (4, 0, 3, 3)])
def test_zero_group_conv_raises_instead_of_killing_python(tmp_path, shape):
    """Issue 11 item 6: a grouped conv2 with a zero dimension divided by zero in the ResNet builder (SIGFPE
    ended the interpreter); now wmfeat.Error names the tensor and its shape."""
    import sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "tests" / "nn"))
    import numpy
    from gen_hostile_models import resnet_grouped
    from safetensors_writer import serialize

    sd = resnet_grouped()
    sd["layer1.0.conv2.weight"] = numpy.zeros(shape, numpy.float32)
    path = tmp_path / "zero.safetensors"
    path.write_bytes(serialize(sd))
    with pytest.raises(wmfeat.Error) as e:
        Model.open(path)
    assert e.value.name == "WMF_ERR_SHAPE"
    assert "'layer1.0.conv2.weight' has shape [%s]" % ", ".join(map(str, shape)) in str(e.value)


def test_googlenet_transform_input_both_ways(tmp_path):
    """GoogLeNet (aux heads in the file, ignored): transform_input on by default as torchvision's
    pretrained loader sets it, off when asked; the default sizes are torchvision's 256 / 224."""
    torch.manual_seed(0)
    net = torchvision.models.googlenet(weights=None, num_classes=10, aux_logits=True, transform_input=True,
                                       init_weights=True).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "googlenet.pth"
    torch.save(net.state_dict(), path)
    # 64 px, and torchvision's smallest input, 15 px (ceil-mode pools past inputs smaller than the kernel)
    for ti, size in ((None, 64), (True, 64), (False, 64), (None, 15)):
        x = np.random.default_rng(0).normal(size=(2, 3, size, size)).astype(np.float32)
        net.transform_input = ti is not False
        with torch.no_grad():
            want = net(torch.from_numpy(x)).numpy()
        with Model.open(path, transform_input=ti) as model:
            assert (model.arch, model.family, model.feature_count) == ("googlenet", "googlenet", 1024)
            assert (model.default_input_size, model.default_resize_size) == (224, 256)
            with Session(model, max_batch=2, input_size=size, threads=2) as s:
                logits, _ = s.run(x)
            with pytest.raises(wmfeat.Error, match="below the 15 px"):
                Session(model, input_size=14)
        assert np.abs(logits - want).max() <= 1e-4 * np.abs(want).max() + 1e-5, (ti, size)
    with pytest.raises(wmfeat.Error, match="transform_input"):
        Model.open(path, arch="resnet18", transform_input=True)
