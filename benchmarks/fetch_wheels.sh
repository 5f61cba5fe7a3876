#!/usr/bin/env bash
# Prepare here (with internet) what benchmarks/gpu_check.sh carries to a GPU machine that reaches no package index:
#   .whl/      kornia, kornia_rs and lightning-fabric wheels for the GPU machine's Python (3.12, x86-64, manylinux);
#              torch, torchvision, numpy, scikit-learn, matplotlib and lightning-utilities are already there
#   .gpudata/  Fashion-MNIST (from Debian's dataset-fashion-mnist, if installed) and the plain-torch reference
#              programs of ../shared/bench (a sibling folder of the checkout does not travel)
# Both folders are ignored by git (.git/info/exclude); pass them as `carry` with the GPU run.
# Usage: benchmarks/fetch_wheels.sh   (PYTHON=python3 PY_VERSION=3.12 WHEELS=.whl GPU_DATA=.gpudata to change)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
PYTHON=${PYTHON:-python3}
PY_VERSION=${PY_VERSION:-3.12}
WHEELS=${WHEELS:-.whl}
GPU_DATA=${GPU_DATA:-.gpudata}
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}
REFERENCES=${REFERENCES:-../shared/bench}
PACKAGES=("kornia==0.9.0" "kornia_rs==0.2.0" "lightning-fabric==2.6.6")  # the versions the tests pass with here

exclude="$(git rev-parse --git-common-dir)/info/exclude"
for folder in "$WHEELS" "$GPU_DATA"; do
  grep -qxF "/$folder/" "$exclude" 2>/dev/null || echo "/$folder/" >> "$exclude"
done
mkdir -p "$WHEELS" "$GPU_DATA/fashion-mnist" "$GPU_DATA/references"
platforms=()
for n in 17 24 27 28 31 34 35; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
"$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
  "${platforms[@]}" --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any \
  -d "$WHEELS" "${PACKAGES[@]}"
if compgen -G "$FMNIST/*-ubyte*" > /dev/null; then
  cp "$FMNIST"/*-ubyte* "$GPU_DATA/fashion-mnist/"
else
  echo "fetch_wheels: no Fashion-MNIST at $FMNIST; gpu_check.sh will use generated data of its shape and say so" >&2
fi
cp "$REFERENCES"/gpu_limit_*.py "$GPU_DATA/references/" 2>/dev/null \
  || echo "fetch_wheels: no reference programs in $REFERENCES; gpu_check.sh will skip them and say so" >&2
du -sh "$WHEELS" "$GPU_DATA"
