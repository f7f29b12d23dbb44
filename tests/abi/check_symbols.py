"""The exported symbols, the linker map and the WMF_API declarations of the headers must be one set,
every name starting with wmf_. Usage: check_symbols.py LIB.so MAP INCLUDE_DIR"""
import pathlib, re, subprocess, sys

lib, mapfile, inc = sys.argv[1:4]
out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True, capture_output=True, text=True).stdout
exported = {line.split()[-1].split("@")[0] for line in out.splitlines()
            if line.split() and line.split()[-2] in "TDBRVW" and not line.split()[-1].startswith("WMFEAT_")}

text = re.sub(r"/\*.*?\*/", "", pathlib.Path(mapfile).read_text(), flags=re.S)
mapped = set()
for node in re.finditer(r"global:(.*?)(?:local:|\})", text, flags=re.S):
    mapped |= {s.strip() for s in node.group(1).split(";") if s.strip()}

declared = set()
for h in pathlib.Path(inc).rglob("*.h"):
    src = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
    declared |= set(re.findall(r"WMF_API\b[^;(]*?\b(wmf_\w+)\s*\(", src))

ok = True
for name, a, b in (("exported but not in the map", exported, mapped),
                   ("in the map but not exported", mapped, exported),
                   ("exported but not declared WMF_API in a header", exported, declared),
                   ("declared WMF_API but not exported", declared, exported)):
    if a - b:
        ok = False
        print(f"FAIL: {name}: {sorted(a - b)}")
bad = sorted(s for s in exported | mapped if not s.startswith("wmf_"))
if bad:
    ok = False
    print(f"FAIL: symbols without the wmf_ prefix: {bad}")
print(f"{len(exported)} exported, {len(mapped)} in the map, {len(declared)} declared")
sys.exit(0 if ok else 1)
