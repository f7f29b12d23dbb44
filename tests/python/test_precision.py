"""The precision keyword of the binding (issue 13, item 2): Session and audit_files take precision="fp32"
(default) or "bf16" (or a Precision); bf16 on a CPU without bf16 instructions raises wmfeat.Error naming
them, never runs as fp32 (on a bf16 CPU it runs); run_provenance records the precision, and an audit of
another precision is refused naming the field. On the planted network of examples/data."""
import pathlib

import pytest

import wmfeat
from wmfeat import Audit, Model, Precision, Session

DATA = pathlib.Path(__file__).resolve().parents[2] / "examples" / "data"
PHOTOS = [str(DATA / "chelsea.png"), str(DATA / "coffee.png")]


@pytest.fixture(scope="module")
def model():
    with Model.open(DATA / "planted_resnet.safetensors") as m:
        yield m


def test_precision_names():
    assert Precision.of("fp32") is Precision.FP32 and Precision.of("BF16") is Precision.BF16
    assert Precision.of(1) is Precision.BF16 and Precision.of(Precision.FP32) is Precision.FP32
    assert Precision.BF16.label == "bf16" and Precision.FP32.label == "fp32"
    for bad in ("fp16", "", 2, True, None):
        with pytest.raises(ValueError, match="precision"):
            Precision.of(bad)


def test_session_bf16_follows_the_cpu(model):
    with Session(model, input_size=64, precision="fp32") as s:
        assert s.precision is Precision.FP32
    if wmfeat.has_bf16():
        with Session(model, input_size=64, precision="bf16") as s:
            assert s.precision is Precision.BF16
        return
    with pytest.raises(wmfeat.Error) as e:
        Session(model, input_size=64, precision="bf16")
    assert e.value.name == "WMF_ERR_UNSUPPORTED"
    assert "bf16 needs AVX512-BF16" in str(e.value) and wmfeat.isa() in str(e.value)


def test_audit_files_precision(model):
    audit, info = wmfeat.audit_files(model, PHOTOS, resize=64, crop=64, batch=2)
    assert info["precision"] == "fp32" and audit.num_pairs == 2
    with pytest.raises(ValueError, match="precision 'half'"):
        wmfeat.audit_files(model, PHOTOS, resize=64, crop=64, precision="half")
    if wmfeat.has_bf16():
        audit, info = wmfeat.audit_files(model, PHOTOS, resize=64, crop=64, batch=2, precision="bf16")
        assert info["precision"] == "bf16" and audit.num_pairs == 2
    else:
        with pytest.raises(wmfeat.Error, match="bf16 needs AVX512-BF16"):
            wmfeat.audit_files(model, PHOTOS, resize=64, crop=64, precision="bf16")


def test_provenance_records_and_separates_precisions(model):
    with wmfeat.Weights.open(DATA / "planted_resnet.safetensors") as w:
        args = (w, model, None, 0, 64, 64, wmfeat.list_fingerprint(PHOTOS))
        fp32 = wmfeat.run_provenance(*args)
        bf16 = wmfeat.run_provenance(*args, precision=Precision.BF16)
    assert fp32["precision"] == "fp32" and bf16["precision"] == "bf16"
    assert {k: v for k, v in fp32.items() if k != "precision"} == {k: v for k, v in bf16.items() if k != "precision"}
    audit, _ = wmfeat.audit_files(model, PHOTOS, resize=64, crop=64, batch=2)
    audit.provenance = bf16
    with pytest.raises(wmfeat.Error, match=r"precision differs \(state: bf16, now: fp32\)"):
        audit.check_provenance(fp32)
    other = Audit.from_bytes(audit.to_bytes())
    other.provenance = dict(fp32, shard="1/2")
    audit.provenance = dict(bf16, shard="0/2")
    with pytest.raises(wmfeat.Error, match=r"precision differs \(audit 0: bf16, 1/2: fp32\)"):
        Audit.merge_shards([audit, other])
