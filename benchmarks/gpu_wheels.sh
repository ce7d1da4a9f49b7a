#!/usr/bin/env bash
# Fetch, on a machine with package access, the wheels RecTools 0.19 needs on an offline GPU
# machine with Python 3.12 that already has torch, numpy 2, scipy and pytorch-lightning
# (the lent H100/H200 image). They go to .whl/ (git-ignored through .git/info/exclude) and are
# installed by benchmarks/gpu_check.sh. The versions are the bench venv's; numpy stays the
# machine's own (its scipy needs numpy 2). pm-implicit is repacked without its CUDA 12
# extension, which RecTools' SASRec never uses (12 MiB -> 1 MiB).
set -euo pipefail
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64
           --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
fetch() { python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "${PLATFORMS[@]}" -d "$1" "${@:2}"; }
fetch .whl rectools==0.19.0 pytorch-lightning==2.5.2 pandas==2.3.3 pytz tzdata attrs==23.2.0 pydantic==2.14.4 \
  pydantic-core==2.50.5 typeguard fastrlock threadpoolctl typing-extensions annotated-types typing-inspection
tmp=$(mktemp -d)
fetch "$tmp" pm-implicit==0.7.3
python3 - "$tmp"/pm_implicit-*.whl .whl <<'PY'
"""Repack pm-implicit without the CUDA extension and the bundled CUTLASS headers."""
import os, sys, zipfile
src, outdir = sys.argv[1], sys.argv[2]
name, ver, rest = os.path.basename(src).split("-", 2)
dst = os.path.join(outdir, f"{name}-{ver}-0cpu-{rest}")
drop = lambda n: n.startswith("implicit/gpu/_cuda") or ".data/" in n  # noqa: E731
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zo:
    for info in zi.infolist():
        if drop(info.filename):
            continue
        data = zi.read(info)
        if info.filename.endswith(".dist-info/RECORD"):
            data = ("\n".join(l for l in data.decode().splitlines() if not drop(l.split(",")[0])) + "\n").encode()
        elif info.filename.endswith(".dist-info/WHEEL"):
            data = data.decode().rstrip("\n").encode() + b"\nBuild: 0cpu\n"
        zo.writestr(info, data)
print(dst)
PY
rm -rf "$tmp"
du -sh .whl
