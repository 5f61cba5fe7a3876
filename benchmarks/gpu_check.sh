#!/usr/bin/env bash
# The prepared GPU check of the speed work (docs/scaling.md, "Speed settings"): one script, under 8 minutes on one
# H100/H200, installing nothing from the internet. It prints and writes to results/bench/gpu-check-<device>-<commit>.md:
#   1. `simvae train` views/s on the paper's FMNIST config (configs/fashion-mnist.yaml, 3 epochs), and the eval time
#      (`simvae eval --device cuda`), then train.compile=default and reduce-overhead (1 epoch each, compile included);
#   2. `simvae bench` rows: simvae/vae/simclr/vicreg MLP (Fashion-MNIST) and simvae/simclr ResNet-18 (shapes, 3x64x64)
#      at 64 and 256 images per step, 32-true (TF32 on and off) and bf16-mixed, with aten operator counts;
#   3. the plain-torch references of ../shared/bench in the same bench calls, and simvae's ratio to them.
# Carried (see benchmarks/fetch_wheels.sh): WHEELS (.whl: kornia, kornia_rs, lightning-fabric), GPU_DATA (.gpudata:
# fashion-mnist/ and references/). Without Fashion-MNIST it trains on generated data of its shape and says so.
# GPU_CHECK_SMOKE=1: a CPU dry run with tiny settings (a minute or two), to check the script itself.
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=${WHEELS:-.whl}
GPU_DATA=${GPU_DATA:-.gpudata}
REFERENCES=${REFERENCES:-$GPU_DATA/references}
[ -d "$REFERENCES" ] || REFERENCES=../shared/bench
PYTHON=${PYTHON:-python3}
SMOKE=${GPU_CHECK_SMOKE:-0}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if compgen -G "$WHEELS/*.whl" > /dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" \
    "$WHEELS"/*.whl || { echo "gpu_check: installing the carried wheels failed" >&2; exit 1; }
  export PYTHONPATH="$WORK/site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1
simvae() { "$PYTHON" -m simvae.cli.main "$@"; }

if [ "$SMOKE" = 1 ]; then
  ACC=cpu; EPOCHS=1; BENCH=(--steps 2 --warmup 1); BATCHES=(8); LIMIT=(data.limit_train=512)
  EVAL=(eval.probe_epochs=2 eval.gmm_n_init=1 eval.max_train=512 eval.figures=false); COMPILE_MODES=(default)
  MLP_METHODS=simvae,vae; RESNET_METHODS=simclr
else
  ACC=cuda; EPOCHS=3; BENCH=(--steps 30 --warmup 5); BATCHES=(64 256); LIMIT=(); EVAL=()
  COMPILE_MODES=(default reduce-overhead); MLP_METHODS=simvae,vae,simclr,vicreg; RESNET_METHODS=simvae,simclr
fi

DEVICE=$("$PYTHON" -c "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')")
TORCH=$("$PYTHON" -c "import torch; print(torch.__version__)")
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p results/bench
SLUG=$(echo "$DEVICE" | tr -cs 'A-Za-z0-9' '-' | sed 's/-$//')
REPORT=results/bench/gpu-check-$SLUG-$COMMIT$([ "$SMOKE" = 1 ] && echo -smoke).md
exec > >(tee "$REPORT") 2>&1

echo "# simvae GPU check"
echo
echo "device: $DEVICE; torch $TORCH; commit $COMMIT; $(date -u +%Y-%m-%dT%H:%M:%SZ)$([ "$SMOKE" = 1 ] && echo '; SMOKE (CPU dry run, tiny settings: no figure here means anything)')"
if [ -f "$GPU_DATA/fashion-mnist/train-images-idx3-ubyte.gz" ] || [ -f "$GPU_DATA/fashion-mnist/train-images-idx3-ubyte" ]; then
  DATA=(data.root="$GPU_DATA"); BENCH_DATA=(--data fashion-mnist --root "$GPU_DATA")
  echo "data: real Fashion-MNIST from $GPU_DATA"
else
  "$PYTHON" - "$WORK/fmnist.npz" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
np.savez(sys.argv[1], images=rng.integers(0, 256, (70000, 28, 28), dtype=np.uint8), content=rng.integers(0, 10, 70000))
PY
  DATA=(data.name=npz data.root="$WORK/fmnist.npz"); BENCH_DATA=(--data npz --root "$WORK/fmnist.npz")
  echo "data: GENERATED Fashion-MNIST-shaped noise (70,000 x 1x28x28; real Fashion-MNIST was not carried): speeds hold, accuracies mean nothing"
fi

views_per_s() {  # run dir -> training views/s from the checkpoint (steps x batch x views / wall time)
  "$PYTHON" -c "import sys, torch; s = torch.load(sys.argv[1] + '/checkpoint.pt', map_location='cpu', weights_only=False); \
c = s['config']; v = s['step'] * c['train']['batch_size'] * c['augment']['views'] / s['wall_time']; \
print(f\"{s['step']} steps in {s['wall_time']:.1f} s = {v:,.0f} views/s\")" "$1"
}

echo; echo "## 1. simvae train, configs/fashion-mnist.yaml, $EPOCHS epoch(s), train.accelerator=$ACC"; echo
RUN=$WORK/eager
simvae train --config configs/fashion-mnist.yaml --out "$RUN" --no-eval train.accelerator=$ACC train.epochs=$EPOCHS \
  "${DATA[@]}" "${LIMIT[@]}" "${EVAL[@]}" > "$WORK/train.log" 2>&1 || { tail -5 "$WORK/train.log"; }
echo "- eager: $(views_per_s "$RUN")"
start=$(date +%s%N)
simvae eval "$RUN" --device $ACC > "$WORK/eval.log" 2>&1 || tail -5 "$WORK/eval.log"
echo "- eval (embed + linear/MLP/kNN probes on $ACC, GMM on CPU, figures): $(( ($(date +%s%N) - start) / 1000000 )) ms"
grep -m1 "| content |" "$WORK/eval.log" | sed 's/^/  content accuracy: /'
for mode in "${COMPILE_MODES[@]}"; do
  simvae train --config configs/fashion-mnist.yaml --out "$WORK/compile-$mode" --no-eval train.accelerator=$ACC \
    train.epochs=1 train.compile=$mode "${DATA[@]}" "${LIMIT[@]}" > "$WORK/compile-$mode.log" 2>&1 || tail -3 "$WORK/compile-$mode.log"
  echo "- train.compile=$mode, 1 epoch (compilation included): $(views_per_s "$WORK/compile-$mode")"
  grep "is unavailable here" "$WORK/compile-$mode.log" | sed 's/^/  /'
done

echo; echo "## 2-3. simvae bench (+ plain-torch references from $REFERENCES)"
for batch in "${BATCHES[@]}"; do
  echo; echo "### MLP, $batch images per step"; echo
  simvae bench --methods $MLP_METHODS --backbone mlp "${BENCH_DATA[@]}" --batch-size "$batch" "${BENCH[@]}" \
    --precision 32-true,bf16-mixed --tf32 on,off --accelerator $ACC --references "$REFERENCES" \
    --json "$WORK/bench-mlp-$batch.json" 2>/dev/null | grep -v "^written to"
  echo; echo "### ResNet-18 (the official SimVAE code's), shapes 3x64x64, $batch images per step"; echo
  simvae bench --methods $RESNET_METHODS --backbone resnet18 --data shapes --batch-size "$batch" "${BENCH[@]}" \
    --precision 32-true,bf16-mixed --tf32 on,off --accelerator $ACC --references "$REFERENCES" \
    --json "$WORK/bench-resnet-$batch.json" 2>/dev/null | grep -v "^written to"
done
echo; echo "written to $REPORT"
[ -n "${OUT:-}" ] && cp "$REPORT" "$OUT/" 2>/dev/null
exit 0
