"""wmfeat.save_npy / load_npy: the library's .npy reader and writer (wmf_npy_save_f32 / wmf_npy_load_f32)
agree with numpy's."""
import numpy as np
import pytest

import wmfeat


def test_roundtrip_with_numpy(tmp_path):
    a = np.random.default_rng(3).standard_normal((7, 5)).astype(np.float32)
    wmfeat.save_npy(tmp_path / "a.npy", a)
    b = np.load(tmp_path / "a.npy")
    assert b.dtype == np.float32 and b.shape == (7, 5) and np.array_equal(a, b)
    with open(tmp_path / "a.npy", "rb") as f:
        head = f.read(128)
    assert (head.index(b"\n") + 1) % 64 == 0  # data aligned to 64 bytes, as numpy writes it
    np.save(tmp_path / "n.npy", a * 2)
    assert np.array_equal(wmfeat.load_npy(tmp_path / "n.npy"), a * 2)
    np.save(tmp_path / "v2.npy", a, allow_pickle=False)
    assert np.array_equal(wmfeat.load_npy(tmp_path / "v2.npy"), a)


def test_refusals(tmp_path):
    np.save(tmp_path / "f8.npy", np.zeros((2, 3)))
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.load_npy(tmp_path / "f8.npy")
    assert e.value.name == "WMF_ERR_UNSUPPORTED" and "'<f8'" in e.value.message
    np.save(tmp_path / "v.npy", np.zeros(4, np.float32))
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.load_npy(tmp_path / "v.npy")
    assert e.value.name == "WMF_ERR_UNSUPPORTED" and "1-D" in e.value.message
    np.save(tmp_path / "fo.npy", np.asfortranarray(np.zeros((2, 3), np.float32)))
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.load_npy(tmp_path / "fo.npy")
    assert e.value.name == "WMF_ERR_UNSUPPORTED" and "Fortran" in e.value.message
    data = (tmp_path / "a.npy")
    wmfeat.save_npy(data, np.ones((3, 3)))
    (tmp_path / "cut.npy").write_bytes(data.read_bytes()[:-1])
    with pytest.raises(wmfeat.Error) as e:
        wmfeat.load_npy(tmp_path / "cut.npy")
    assert e.value.name == "WMF_ERR_CORRUPT"
    with pytest.raises(ValueError):
        wmfeat.save_npy(tmp_path / "x.npy", np.zeros(3, np.float32))
