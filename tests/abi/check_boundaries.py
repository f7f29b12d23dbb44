#!/usr/bin/python3
"""Module boundaries of lib/ (docs/README.md, "Source layout"), checked on the sources:
- no file includes another module's `<module>_internal.h`;
- a module includes another module's header only if its meson.build lists that module in `wmf_uses`
  (the per-module boundary link catches calls; this catches reaches into header-only layouts);
- no .c file declares a function prototype or an `extern` object (they belong in a header).
Usage: check_boundaries.py LIB_DIR. Exit 1 naming each violation."""
import os
import re
import sys


def strip(src):
    """The source without comments, string/char literals and preprocessor lines."""
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    src = re.sub(r'"(\\.|[^"\\\n])*"', '""', src)
    src = re.sub(r"'(\\.|[^'\\\n])*'", "''", src)
    return re.sub(r"^\s*#[^\n]*(\\\n[^\n]*)*", " ", src, flags=re.M)


def file_scope_declarations(src):
    """Statements at brace depth 0 that end in ';' and look like a function prototype or an extern."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(src):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                start = i + 1
        elif ch == ";" and depth == 0:
            stmt = " ".join(src[start:i].split())
            start = i + 1
            if not stmt or stmt.startswith(("static ", "typedef ", "_Static_assert", "static_assert")):
                continue
            paren, eq = stmt.find("("), stmt.find("=")
            if stmt.startswith("extern ") or (paren > 0 and (eq < 0 or eq > paren)):
                out.append(stmt)
    return out


def main():
    lib = sys.argv[1]
    modules = sorted(d for d in os.listdir(lib) if os.path.isfile(os.path.join(lib, d, "meson.build")))
    problems = []
    for m in modules:
        build = open(os.path.join(lib, m, "meson.build")).read()
        uses = set(re.findall(r"'(\w+)'", (re.search(r"wmf_uses\s*=\s*\[([^\]]*)\]", build) or [None, ""])[1]))
        for name in sorted(os.listdir(os.path.join(lib, m))):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(lib, m, name)
            src = open(path, encoding="utf-8").read()
            for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', src, flags=re.M):
                other = inc.split("/")[0] if "/" in inc else m
                if other not in modules or other == m:
                    continue
                if inc.endswith("_internal.h"):
                    problems.append(f"{m}/{name}: includes {inc}, another module's internal header")
                elif other not in uses:
                    problems.append(f"{m}/{name}: includes {inc} but lib/{m}/meson.build does not list "
                                    f"'{other}' in wmf_uses")
            if name.endswith(".c"):
                for decl in file_scope_declarations(strip(src)):
                    problems.append(f"{m}/{name}: declares '{decl[:80]}' inside a .c file (put it in a header)")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(modules)} modules checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
