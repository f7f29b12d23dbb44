import sys

import numpy as np
import pytest
import torch

import wmfeat
from wmfeat import DType

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "weights"))
from safetensors_writer import save_file  # noqa: E402

torch.set_num_threads(2)


def _state():
    g = torch.Generator().manual_seed(0)
    return {
        "conv1.weight": torch.randn(8, 3, 3, 3, generator=g),
        "bn1.running_var": torch.rand(8, generator=g),
        "fc.weight": torch.randn(10, 8, generator=g).t(),  # non-contiguous
        "half": torch.randn(5, 4, generator=g).half(),
        "brain": torch.randn(3, 7, generator=g).bfloat16(),
        "double": torch.randn(6, generator=g).double(),
        "steps": torch.arange(4),
    }


@pytest.mark.parametrize("legacy", [False, True])
def test_get_matches_torch_load(tmp_path, legacy):
    path = tmp_path / "m.pth"
    torch.save(_state(), path, _use_new_zipfile_serialization=not legacy)
    ref = torch.load(path)
    with wmfeat.Weights.open(path) as w:
        assert w.format == ("pytorch-legacy" if legacy else "pytorch-zip")
        assert len(w) == len(ref)
        assert w.names() == list(ref)
        for info in w:
            assert info.shape == tuple(ref[info.name].shape)
            assert info.numel == ref[info.name].numel()
        assert w.info("half").dtype == DType.F16 and w.info("brain").dtype == DType.BF16
        assert w.info("steps").dtype == DType.I64
        for name in ("conv1.weight", "bn1.running_var", "fc.weight", "half", "brain", "double"):
            got = w.get(name)
            assert got.dtype == np.float32 and got.shape == tuple(ref[name].shape)
            assert np.array_equal(got, ref[name].float().numpy()), name
        assert "fc.weight" in w and "nope" not in w


def test_get_writes_into_caller_array(tmp_path):
    path = tmp_path / "m.pth"
    state = _state()
    torch.save(state, path)
    out = np.zeros(8 * 27 + 5, np.float32)
    with wmfeat.Weights.open(path) as w:
        got = w.get("conv1.weight", out=out)
        assert got is out
        assert np.array_equal(out[:216].reshape(8, 3, 3, 3), state["conv1.weight"].numpy())
        assert np.all(out[216:] == 0)
        with pytest.raises(wmfeat.Error) as e:
            w.get("conv1.weight", out=np.zeros(10, np.float32))
        assert e.value.name == "WMF_ERR_BUFFER_TOO_SMALL"
        with pytest.raises(ValueError):
            w.get("conv1.weight", out=np.zeros(216, np.float64))


def test_safetensors_memory_and_metadata(tmp_path):
    state = {"a.weight": np.arange(12, dtype=np.float32).reshape(3, 4),
             "b": np.linspace(-1, 1, 5).astype(np.float16)}
    path = tmp_path / "m.safetensors"
    save_file(state, path, metadata={"format": "pt", "who": "test"})
    data = path.read_bytes()
    for w in (wmfeat.Weights.open(path), wmfeat.Weights.open_memory(data)):
        with w:
            assert w.format == "safetensors"
            assert w.metadata("format") == "pt" and w.metadata("who") == "test"
            assert w.metadata("missing") is None
            assert np.array_equal(w["a.weight"], state["a.weight"])
            assert np.array_equal(w.get("b"), state["b"].astype(np.float32))
            assert w.info(1).name == "b"


def test_state_dict_key_and_name_normalization(tmp_path):
    path = tmp_path / "ckpt.pth"
    sd = {"module.fc.weight": torch.ones(2, 3), "module.fc.bias": torch.zeros(2)}
    torch.save({"epoch": 3, "weights": sd}, path)
    with wmfeat.Weights.open(path, state_dict_key="weights") as w:
        assert w.names() == ["fc.weight", "fc.bias"]
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Weights.open(path, state_dict_key="absent")
    assert e.value.name == "WMF_ERR_NOT_FOUND"


def test_errors(tmp_path):
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Weights.open(tmp_path / "missing.pth")
    assert e.value.name == "WMF_ERR_IO" and "missing.pth" in str(e.value)
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Weights.open_memory(b"this is not a weight file at all")
    assert e.value.name in ("WMF_ERR_UNSUPPORTED", "WMF_ERR_CORRUPT")
    path = tmp_path / "m.pth"
    torch.save(_state(), path)
    with wmfeat.Weights.open(path) as w:
        with pytest.raises(wmfeat.Error) as e:
            w.get("steps")
        assert e.value.name == "WMF_ERR_UNSUPPORTED" and "steps" in e.value.message
        with pytest.raises(wmfeat.Error) as e:
            w.info("nope")
        assert e.value.name == "WMF_ERR_NOT_FOUND"
    assert wmfeat.dtype_name(DType.BF16) == "BF16"


def test_forbidden_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("never",))
    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, path)
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.Weights.open(path)
    assert e.value.name == "WMF_ERR_FORBIDDEN"


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_tensors_read_again_after_their_pages_were_released(tmp_path, suffix):
    # wmf_weights_get_f32 drops the mapped pages a tensor filled once it is read (to keep a model load's
    # peak memory low); tensors spanning many pages must read back identically.
    g = torch.Generator().manual_seed(1)
    state = {f"layer{i}.weight": torch.randn(64, 64, 3, 3, generator=g) for i in range(4)}
    path = tmp_path / f"big{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        save_file(state, path)
    with wmfeat.Weights.open(path) as w:
        for name, t in state.items():
            first = w.get(name).copy()
            assert np.array_equal(first, t.numpy()) and np.array_equal(w.get(name), first)


def test_fingerprint_ignores_container_and_order_not_values(tmp_path):
    state = {k: v for k, v in _state().items() if k != "brain"}  # numpy has no bfloat16
    torch.save(state, tmp_path / "a.pth")
    # the same tensors, contiguous, in another order, in another container
    save_file({k: state[k].contiguous().numpy() for k in reversed(list(state))}, tmp_path / "a.safetensors")
    with wmfeat.Weights.open(tmp_path / "a.pth") as a, wmfeat.Weights.open(tmp_path / "a.safetensors") as b:
        fp = a.fingerprint()
        assert len(fp) == 16 and int(fp, 16) >= 0
        assert fp == b.fingerprint()
    state["fc.weight"] = state["fc.weight"].clone()
    state["fc.weight"][3, 2] += 1e-6  # one value changes
    torch.save(state, tmp_path / "b.pth")
    with wmfeat.Weights.open(tmp_path / "b.pth") as c:
        changed = c.fingerprint()
        assert changed != fp
    state["fc.weight"] = state["fc.weight"].reshape(10, 8)  # same values, another shape
    torch.save(state, tmp_path / "c.pth")
    with wmfeat.Weights.open(tmp_path / "c.pth") as d:
        assert d.fingerprint() not in (fp, changed)
