#!/usr/bin/env bash
# chainrule's GPU checks, for a machine with an NVIDIA GPU, CuPy and NumPy and no network.
#
#   benchmarks/gpu_check.sh OUT_DIR [WHEEL_DIR]
#
# 1. installs chainrule's pure-Python dependencies from WHEEL_DIR (default: wheels/ in the
#    repository) into a private folder (no index, no network; chainrule itself runs from src/);
# 2. runs the `gpu` test suite: every op (forward, backward, gradcheck, second derivatives),
#    the engine, the optimizers and schedules, a training run and the Trainer on CuPy,
#    compared with NumPy;
# 3. runs `benchmarks/train_step.py --device cuda`: chainrule eager on CuPy against PyTorch
#    CUDA eager (when PyTorch is there) on the same networks, plus 3072-1024-1024-10 at
#    batch 1024.
# Everything it prints also goes to OUT_DIR (summary.txt, gpu-tests.txt, train_step_cuda.txt,
# train_step_cuda.json, environment.txt). It takes under 10 minutes.
#
# Make WHEEL_DIR once, on any machine with a network (the wheels are pure Python):
#   python3 -m pip download --no-deps --only-binary=:all: -d wheels array-api-compat
# CuPy (chainrule[cuda12] or chainrule[cuda13]), NumPy and pytest must already be on the GPU
# machine; PyTorch is optional (without it the table has chainrule's column only).
set -uo pipefail

OUT=${1:?usage: benchmarks/gpu_check.sh OUT_DIR [WHEEL_DIR]}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEELS=${2:-$ROOT/wheels}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SITE=$(mktemp -d)
trap 'rm -rf "$SITE"' EXIT
cd "$ROOT"

log() { echo "$*" | tee -a "$OUT/summary.txt"; }
: > "$OUT/summary.txt"
log "chainrule GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

# 1. dependencies, from the wheel folder only
shopt -s nullglob
wheels=("$WHEELS"/*.whl)
if ((${#wheels[@]})); then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" \
    "${wheels[@]}" || { log "FAILED: installing the wheels of $WHEELS"; exit 1; }
fi
export PYTHONPATH="$SITE:$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
if ! "$PY" -c "import array_api_compat, chainrule" 2> "$OUT/import-error.txt"; then
  log "FAILED: chainrule does not import (array-api-compat missing from $WHEELS?):"
  tee -a "$OUT/summary.txt" < "$OUT/import-error.txt"
  exit 1
fi
{
  nvidia-smi 2>&1 || echo "nvidia-smi: not found"
  "$PY" - <<'EOF'
import platform
import numpy
import chainrule as cr
print("python", platform.python_version(), "| numpy", numpy.__version__, "| chainrule",
      cr.__version__)
try:
    import cupy
    print("cupy", cupy.__version__, "| GPUs:", cr.cuda.device_count())
except ImportError:
    print("cupy: not installed")
try:
    import torch
    print("torch", torch.__version__, "| cuda:", torch.cuda.is_available())
except ImportError:
    print("torch: not installed")
EOF
} > "$OUT/environment.txt" 2>&1
tail -n 3 "$OUT/environment.txt" | tee -a "$OUT/summary.txt"
if ! "$PY" -c "import chainrule as cr, sys; sys.exit(0 if cr.cuda.is_available() else 1)"; then
  log "FAILED: no usable GPU (CuPy and a CUDA GPU are needed); see environment.txt"
  exit 1
fi

# 2. the gpu suite (each test once on cuda:0, compared with NumPy)
timeout 330 "$PY" -m pytest tests/portability -m gpu -q -p no:cacheprovider -o addopts="" \
  -rfE > "$OUT/gpu-tests.txt" 2>&1
tests=$?
log "gpu tests: $(tail -n 1 "$OUT/gpu-tests.txt") (exit $tests)"

# 3. the benchmark (about 2 minutes)
timeout 210 "$PY" benchmarks/train_step.py --device cuda --rounds 7 --seconds 4 --json \
  > "$OUT/train_step_cuda.json" 2> "$OUT/train_step_cuda.err"
bench=$?
if ((bench == 0)); then
  "$PY" - "$OUT/train_step_cuda.json" > "$OUT/train_step_cuda.txt" <<'EOF'
import json, sys
sys.path.insert(0, "benchmarks")
import train_step_gpu
train_step_gpu.print_table(json.load(open(sys.argv[1])))
EOF
  tee -a "$OUT/summary.txt" < "$OUT/train_step_cuda.txt"
else
  log "FAILED: benchmarks/train_step.py --device cuda (exit $bench); see train_step_cuda.err"
fi
exit $(( tests != 0 || bench != 0 ))
