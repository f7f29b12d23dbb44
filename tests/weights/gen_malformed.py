"""Writes the malformed-file corpus (and small valid files it is derived from) into OUTDIR.

    gen_malformed.py OUTDIR [--seeds FUZZ_CORPUS_DIR]
    gen_malformed.py --many N FILE [--legacy]


OUTDIR/expect.txt: `file STATUS [substring]` a line: opening the file must fail with STATUS (a
wmf_status name) and, if given, a message containing substring; STATUS WMF_OK lines give the tensor
count instead of a substring. OUTDIR/prefixes.txt lists valid files whose every prefix must fail
cleanly. Files are built by hand (pickle opcodes, zip records) so each defect is exactly one; only the
standard library is needed. --seeds also writes the small valid files as fuzzing seeds.
"""
import json
import os
import struct
import sys
import zlib

# ---- pickles, opcode by opcode (protocol 2, as torch.save writes them) ----


def X(s):
    b = s.encode() if isinstance(s, str) else s
    return b"X" + struct.pack("<I", len(b)) + b


def J(i):
    if -(1 << 31) <= i < (1 << 31):
        return b"J" + struct.pack("<i", i)
    return b"\x8a\x08" + struct.pack("<q", i)  # LONG1


def tup(vals):
    return b"(" + b"".join(J(v) for v in vals) + b"t"


def G(mod, name):
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


ODICT = G("collections", "OrderedDict")


def tensor_pk(key, numel, offset, shape, stride, storage=("torch", "FloatStorage"), legacy=False,
              rebuild=("torch._utils", "_rebuild_tensor_v2")):
    pid = b"(" + X("storage") + G(*storage) + X(key) + X("cpu") + J(numel) + (b"N" if legacy else b"") + b"t"
    return (G(*rebuild) + b"(" + pid + b"Q" + J(offset) + tup(shape) + tup(stride) + b"\x89" + ODICT + b")R"
            + b"tR")


def state_dict_pk(tensors, legacy=False, **kw):
    """tensors: (name, key, numel, offset, shape, stride) tuples."""
    body = b"".join(X(n) + tensor_pk(k, c, o, s, st, legacy=legacy, **kw) for n, k, c, o, s, st in tensors)
    return b"\x80\x02" + ODICT + b")R(" + body + b"u."


def f32(vals):
    return struct.pack("<%df" % len(vals), *vals)


# ---- zip files, record by record ----


def zip_file(entries, zip64=False, align=64, method=0, bad_offset=None, sizes=None):
    """entries: (name, bytes). Stored, with the local extra field padding data to `align` bytes as
    torch does. bad_offset / sizes override a central-directory entry: {index: value}."""
    out, central = bytearray(), []
    for i, (name, data) in enumerate(entries):
        name = name.encode()
        hdr = len(out)
        pad = (-(hdr + 30 + len(name) + 4)) % align
        extra = struct.pack("<HH", 0xCAFE, pad) + b"\0" * pad  # torch pads with a private extra field
        crc = zlib.crc32(data)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), len(data),
                           len(name), len(extra)) + name + extra
        out += data
        central.append((name, hdr, len(data), crc))
    cd = bytearray()
    for i, (name, hdr, size, crc) in enumerate(central):
        if bad_offset and i in bad_offset:
            hdr = bad_offset[i]
        if sizes and i in sizes:
            size = sizes[i]
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, size, size, hdr)
            fields = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra, fields = b"", (size, size, hdr)
        cd += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, method, 0, 0, crc, fields[0],
                          fields[1], len(name), len(extra), 0, 0, 0, 0, fields[2]) + name + extra
    cd_off = len(out)
    out += cd
    n = len(central)
    if zip64:
        z = len(out)
        out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(cd), cd_off)
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, z, 1)
        out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        out += struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n, n, len(cd), cd_off, 0)
    return bytes(out)


def torch_zip(pkl, storages, extra=(), **kw):
    """A PyTorch zip archive: archive/data.pkl, archive/data/<key>, archive/version, then `extra` entries."""
    entries = [("archive/data.pkl", pkl)] + [("archive/data/" + k, v) for k, v in storages]
    entries.append(("archive/version", b"3\n"))
    entries += list(extra)
    return zip_file(entries, **kw)


# ---- legacy files ----

LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
LEGACY_PROTO = b"\x80\x02M\xe9\x03."


def sys_info(little=True):
    return (b"\x80\x02}(" + X("protocol_version") + b"M\xe9\x03" + X("little_endian") + (b"\x88" if little else b"\x89")
            + X("type_sizes") + b"}(" + X("short") + b"K\x02" + X("int") + b"K\x04" + X("long") + b"K\x04" + b"uu.")


def legacy_file(pkl, storages, little=True, keys=None, counts=None):
    keys = [k for k, _ in storages] if keys is None else keys
    out = bytearray(LEGACY_MAGIC + LEGACY_PROTO + sys_info(little) + pkl)
    out += b"\x80\x02](" + b"".join(X(k) for k in keys) + b"e."
    for i, (k, data) in enumerate(storages):
        count = len(data) // 4 if counts is None else counts[i]
        out += struct.pack("<q", count) + data
    return bytes(out)


def safetensors(header, data, hlen=None):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h) if hlen is None else hlen) + h + data


def many_storages(n, legacy=False):
    """A state_dict of n one-element tensors "t<i>" (value i), each in its own storage "<i>": the file
    shape that made opening quadratic in the number of storages (issue 11, item 10)."""
    tensors = [("t%d" % i, str(i), 1, 0, (1,), (1,)) for i in range(n)]
    stor = [(str(i), f32([float(i)])) for i in range(n)]
    pkl = state_dict_pk(tensors, legacy=legacy)
    return legacy_file(pkl, stor) if legacy else torch_zip(pkl, stor, zip64=n >= 0xFFFF)


def main():
    if sys.argv[1] == "--many":
        with open(sys.argv[3], "wb") as f:
            f.write(many_storages(int(sys.argv[2]), legacy="--legacy" in sys.argv))
        return
    out = sys.argv[1]
    seeds = sys.argv[sys.argv.index("--seeds") + 1] if "--seeds" in sys.argv else None
    os.makedirs(out, exist_ok=True)
    expect, prefixes, seed_files = [], [], {}

    def put(name, data, status, detail=""):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        expect.append("%s %s %s" % (name, status, detail))

    # two tensors sharing one 6-float storage: a 2x2 view at offset 2 and a transposed 3x2 view
    two = [("w", "0", 6, 2, (2, 2), (2, 1)), ("wt", "0", 6, 0, (3, 2), (1, 3)), ("b", "1", 2, 0, (2,), (1,))]
    stor = [("0", f32([1, 2, 3, 4, 5, 6])), ("1", f32([7, 8]))]
    good_zip = torch_zip(state_dict_pk(two), stor)
    good_zip64 = torch_zip(state_dict_pk(two), stor, zip64=True)
    good_legacy = legacy_file(state_dict_pk(two, legacy=True), stor)
    good_st = safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                           "b": {"dtype": "F16", "shape": [2, 1], "data_offsets": [8, 12]}}, f32([1, 2]) + b"\0<\0\xbc")
    for name, data in (("valid_zip.pth", good_zip), ("valid_zip64.pth", good_zip64),
                       ("valid_legacy.pth", good_legacy), ("valid.safetensors", good_st)):
        put(name, data, "WMF_OK", "2" if name.endswith("safetensors") else "3")
        prefixes.append(name)
    seed_files = {"safetensors": [("valid.safetensors", good_st)],
                  "pytorch_zip": [("valid_zip.pth", good_zip), ("valid_zip64.pth", good_zip64)],
                  "pickle": [("valid_legacy.pth", good_legacy)]}

    # -- safetensors --
    hdr = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    put("st_huge_header.safetensors", safetensors(hdr, f32([1, 2]), hlen=(1 << 64) - 1), "WMF_ERR_LIMIT", "header length")
    put("st_header_past_end.safetensors", safetensors(hdr, f32([1, 2]), hlen=1000), "WMF_ERR_CORRUPT", "exceeds the file")
    put("st_overlap.safetensors", safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12),
        "WMF_ERR_CORRUPT", "overlap")
    put("st_out_of_range.safetensors", safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
        "WMF_ERR_CORRUPT", "beyond")
    put("st_wrong_dtype.safetensors", safetensors({"a": {"dtype": "float32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
        "WMF_ERR_CORRUPT", "unknown dtype")
    put("st_duplicate_key.safetensors", safetensors(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                                    b'"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
        "WMF_ERR_CORRUPT", "duplicate")
    st_end = 8 + len(json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                 "b": {"dtype": "F16", "shape": [2, 1], "data_offsets": [8, 12]}}).encode())
    for cut in (0, 4, 8, 9, st_end - 1, st_end, st_end + 4, st_end + 8, st_end + 11):
        put("st_truncated_%d.safetensors" % cut, good_st[:cut],
            "WMF_ERR_UNSUPPORTED" if cut < 9 else "WMF_ERR_CORRUPT")

    # -- zip --
    pkl = state_dict_pk(two)
    put("zip_entry_outside_file.pth", torch_zip(pkl, stor, bad_offset={1: 1 << 30}), "WMF_ERR_CORRUPT", "outside the file")
    put("zip64_entry_outside_file.pth", torch_zip(pkl, stor, zip64=True, bad_offset={1: 1 << 40}), "WMF_ERR_CORRUPT",
        "outside the file")
    put("zip_size_past_directory.pth", torch_zip(pkl, stor, sizes={1: 1 << 20}), "WMF_ERR_CORRUPT", "past the central")
    put("zip_overlapping_entries.pth", torch_zip(pkl, stor, sizes={0: len(pkl) + 100}), "WMF_ERR_CORRUPT", "overlap")
    put("zip_wrong_local_header.pth", torch_zip(pkl, stor, bad_offset={1: 0}), "WMF_ERR_CORRUPT", "names another")
    put("zip_compressed.pth", torch_zip(pkl, stor, method=8), "WMF_ERR_UNSUPPORTED", "compressed")
    put("zip_no_data_pkl.pth", zip_file([("archive/other.pkl", pkl)]), "WMF_ERR_UNSUPPORTED", "data.pkl")
    put("zip_missing_storage.pth", torch_zip(pkl, stor[:1]), "WMF_ERR_CORRUPT", "no zip entry")
    put("zip_storage_entry_short.pth", torch_zip(pkl, [("0", f32([1, 2, 3])), stor[1]]), "WMF_ERR_CORRUPT", "entry holds")
    put("zip_storage_too_small.pth", torch_zip(state_dict_pk([("w", "0", 6, 3, (2, 2), (2, 1))]), stor[:1]),
        "WMF_ERR_CORRUPT", "reaches element")
    put("zip_huge_stride.pth", torch_zip(state_dict_pk([("w", "0", 6, 0, (8, 2), (1 << 62, 1))]), stor[:1]),
        "WMF_ERR_CORRUPT", "overflows")
    # a zero dimension beside huge ones: the element count is 0, the other dimensions' strides overflow
    put("zip_zero_dim_beside_huge.pth",
        torch_zip(state_dict_pk([("w", "0", 6, 0, (0, 1 << 40, 1 << 40), (1, 1, 1))]), stor[:1]),
        "WMF_ERR_LIMIT", "overflow 64 bits")
    # a key that is not UTF-8: a lone surrogate, as Python's pickle writes one (surrogatepass)
    put("zip_key_not_utf8.pth",
        torch_zip(b"\x80\x02" + ODICT + b")R(" + X(b"w\xed\xb2\x80") + tensor_pk("0", 6, 0, (6,), (1,)) + b"u.",
                  stor[:1]),
        "WMF_ERR_CORRUPT", "surrogate")
    put("zip_big_endian.pth", zip_file([("archive/data.pkl", pkl), ("archive/byteorder", b"big")]
                                       + [("archive/data/" + k, v) for k, v in stor]), "WMF_ERR_UNSUPPORTED", "byteorder")
    put("zip_wrong_dtype_storage.pth", torch_zip(state_dict_pk(two, storage=("torch", "ComplexFloatStorage")), stor),
        "WMF_ERR_UNSUPPORTED", "torch.ComplexFloatStorage")
    put("zip_cuda_storage.pth", torch_zip(state_dict_pk(two, storage=("torch.cuda", "FloatStorage")), stor),
        "WMF_OK", "3")  # old GPU checkpoints: the storage class is only a name
    put("zip_cuda_rebuild.pth", torch_zip(state_dict_pk(two, rebuild=("torch.cuda._utils", "_rebuild_tensor_v2")), stor),
        "WMF_ERR_FORBIDDEN", "'torch.cuda._utils._rebuild_tensor_v2'")
    put("zip_torch_tensor.pth", torch_zip(state_dict_pk(two, rebuild=("torch", "Tensor")), stor),
        "WMF_ERR_FORBIDDEN", "'torch.Tensor'")
    put("zip_no_eocd.pth", good_zip[:-22], "WMF_ERR_CORRUPT", "end-of-central-directory")
    # one name twice: torch.load reads the last entry, a reader that stops at the first sees other data
    put("zip_duplicate_storage.pth", torch_zip(pkl, stor + [("0", f32([9, 9, 9, 9, 9, 9]))]), "WMF_ERR_CORRUPT",
        "two entries named 'archive/data/0'")
    put("zip_duplicate_data_pkl.pth", torch_zip(pkl, stor, extra=[("archive/data.pkl", pkl)]), "WMF_ERR_CORRUPT",
        "two entries named 'archive/data.pkl'")
    # truncated at every section boundary: each local header, each data start, the directory, the end
    bounds, at = [], 0
    while True:
        at = good_zip.find(b"PK", at + 1)
        if at < 0:
            break
        bounds.append(at)
    for cut in sorted(c for c in set(bounds + [b + 30 for b in bounds] + [len(good_zip) - 1]) if c < len(good_zip)):
        put("zip_truncated_%d.pth" % cut, good_zip[:cut], "WMF_ERR_CORRUPT")

    # -- pickles: forbidden globals, nesting, memo, opcodes --
    def call(mod, name, arg=b"X\x02\x00\x00\x00ls"):
        return b"\x80\x02" + G(mod, name) + b"(" + arg + b"tR."
    for mod, name in (("os", "system"), ("builtins", "eval"), ("subprocess", "Popen"), ("posix", "system"),
                      ("__builtin__", "exec"), ("torch", "load"), ("collections", "defaultdict")):
        put("pkl_%s_%s.pth" % (mod, name), torch_zip(call(mod, name), []), "WMF_ERR_FORBIDDEN", "'%s.%s'" % (mod, name))
        put("legacy_%s_%s.pth" % (mod, name), legacy_file(call(mod, name), []), "WMF_ERR_FORBIDDEN", "'%s.%s'" % (mod, name))
    # the forbidden global hidden inside a tensor's rebuild call, after valid entries
    put("pkl_nested_eval.pth", torch_zip(state_dict_pk(two, rebuild=("builtins", "eval")), stor), "WMF_ERR_FORBIDDEN",
        "'builtins.eval' in archive/data.pkl at byte")
    put("pkl_deep_marks.pth", torch_zip(b"\x80\x02" + b"(" * 100000 + b"t" * 100000 + b".", []), "WMF_ERR_LIMIT", "MARK")
    put("pkl_deep_lists.pth", torch_zip(b"\x80\x02" + b"]" * 200000 + b"a" * 199999 + b".", []), "WMF_ERR_UNSUPPORTED",
        "neither a state_dict")
    put("pkl_deep_tuples.pth", torch_zip(b"\x80\x02N" + b"\x85" * 200000 + b".", []), "WMF_ERR_UNSUPPORTED",
        "neither a state_dict")
    put("pkl_self_reference.pth", torch_zip(b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.", []), "WMF_ERR_UNSUPPORTED",
        "neither a state_dict")
    put("pkl_memo_huge_index.pth", torch_zip(b"\x80\x02Nr\xff\xff\xff\xff.", []), "WMF_ERR_CORRUPT", "memo")
    put("pkl_memo_unset.pth", torch_zip(b"\x80\x02h\x05.", []), "WMF_ERR_CORRUPT", "memo")
    put("pkl_stack_global.pth", torch_zip(b"\x80\x04" + X("os") + X("system") + b"\x93.", []), "WMF_ERR_UNSUPPORTED",
        "opcode 0x93")
    put("pkl_inst.pth", torch_zip(b"\x80\x02(ios\nsystem\n.", []), "WMF_ERR_UNSUPPORTED", "opcode 0x69")
    put("pkl_underflow.pth", torch_zip(b"\x80\x02s.", []), "WMF_ERR_CORRUPT", "underflow")
    put("pkl_no_stop.pth", torch_zip(b"\x80\x02}", []), "WMF_ERR_CORRUPT", "no STOP")
    put("pkl_string_past_end.pth", torch_zip(b"\x80\x02X\xff\xff\xff\x7fab.", []), "WMF_ERR_CORRUPT", "truncated")
    put("pkl_two_values.pth", torch_zip(b"\x80\x02NN.", []), "WMF_ERR_CORRUPT", "STOP")
    put("pkl_reduce_storage.pth", torch_zip(b"\x80\x02" + G("torch", "FloatStorage") + b")R.", []), "WMF_ERR_CORRUPT",
        "storage type called")
    put("pkl_bad_persid.pth", torch_zip(b"\x80\x02(X\x06\x00\x00\x00moduleNtQ.", []), "WMF_ERR_CORRUPT", "persistent id")
    put("pkl_too_many_dims.pth", torch_zip(state_dict_pk([("w", "0", 1, 0, (1,) * 9, (1,) * 9)]), stor[:1]),
        "WMF_ERR_LIMIT", "dimensions")
    put("pkl_negative_offset.pth", torch_zip(state_dict_pk([("w", "0", 6, -1, (2,), (1,))]), stor[:1]),
        "WMF_ERR_CORRUPT", "offset")
    put("pkl_stride_length.pth", torch_zip(state_dict_pk([("w", "0", 6, 0, (2, 3), (1,))]), stor[:1]),
        "WMF_ERR_CORRUPT", "stride differ")

    # -- legacy --
    lpkl = state_dict_pk(two, legacy=True)
    put("legacy_big_endian.pth", legacy_file(lpkl, stor, little=False), "WMF_ERR_UNSUPPORTED", "big-endian")
    put("legacy_count_mismatch.pth", legacy_file(lpkl, stor, counts=[7, 2]), "WMF_ERR_CORRUPT", "holds 7 elements")
    put("legacy_unknown_key.pth", legacy_file(lpkl, stor, keys=["0", "9"]), "WMF_ERR_CORRUPT", "not named")
    put("legacy_missing_storage.pth", legacy_file(lpkl, stor[:1]), "WMF_ERR_CORRUPT", "missing")
    put("legacy_storage_view.pth", legacy_file(state_dict_pk(two, legacy=True).replace(b"NtQ", b"J\x00\x00\x00\x00tQ"), stor),
        "WMF_ERR_UNSUPPORTED", "storage views")
    put("legacy_protocol.pth", LEGACY_MAGIC + b"\x80\x02M\xe8\x03." + good_legacy[len(LEGACY_MAGIC) + len(LEGACY_PROTO):],
        "WMF_ERR_UNSUPPORTED", "1001")
    cuts, at = [], 0
    for part in (LEGACY_MAGIC, LEGACY_PROTO, sys_info(), lpkl):
        at += len(part)
        cuts.append(at)
    keys_end = good_legacy.find(b"e.", at) + 2
    cuts += [at + 5, keys_end, keys_end + 4, keys_end + 8, keys_end + 8 + 12, keys_end + 8 + 24 + 8 + 4]
    for cut in cuts:
        put("legacy_truncated_%d.pth" % cut, good_legacy[:cut], "WMF_ERR_CORRUPT")

    with open(os.path.join(out, "expect.txt"), "w") as f:
        f.write("\n".join(expect) + "\n")
    with open(os.path.join(out, "prefixes.txt"), "w") as f:
        f.write("\n".join(prefixes) + "\n")
    if seeds:
        for target, files in seed_files.items():
            os.makedirs(os.path.join(seeds, target), exist_ok=True)
            for name, data in files:
                with open(os.path.join(seeds, target, name), "wb") as f:
                    f.write(data)


if __name__ == "__main__":
    main()
