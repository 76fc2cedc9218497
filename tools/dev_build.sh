#!/usr/bin/env bash
# Incremental developer build: compiles the core into build/dev-<NAME> and assembles an
# importable package at build/dev-<NAME>/pkg/fastmlp (symlinks to python/fastmlp + _core).
# Usage: tools/dev_build.sh NAME [cmake -D options...]; then
#        PYTHONPATH=build/dev-NAME/pkg python -m pytest tests/...
set -euo pipefail
name=${1:?name}; shift || true
top=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python}
bdir="$top/build/dev-$name"
pybind_dir=$($py -c "import pybind11; print(pybind11.get_cmake_dir())")
if [ ! -f "$bdir/build.ninja" ]; then
  cmake -S "$top" -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -Dpybind11_DIR="$pybind_dir" \
    -DPython_EXECUTABLE="$(command -v $py)" -DSKBUILD_PROJECT_VERSION=0.1.0 "$@" >/dev/null
fi
cmake --build "$bdir" -j 2
pkg="$bdir/pkg/fastmlp"
rm -rf "$pkg" && mkdir -p "$pkg"
for f in "$top"/python/fastmlp/*; do ln -s "$f" "$pkg/"; done
ln -sf "$bdir"/_core*.so "$pkg/"
echo "PYTHONPATH=$bdir/pkg"
