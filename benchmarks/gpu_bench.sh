#!/usr/bin/env bash
# The whole GPU measurement of issue 6 in one go (a few minutes on one H100): for each preset at
# its official batch size and resolution, the reference mode (the official op sequence, fp32),
# the fast mode in fp32, the fast mode in bf16 + channels_last with and without torch.compile
# (and with CUDA graphs when GRAPHS=1), the training step fed by the real input pipeline
# (synthetic data, recommended workers), and that pipeline alone. One JSON line per
# measurement goes to stdout and to $OUT/gpu_bench.jsonl (OUT defaults to ./bench_out).
#
#   bash benchmarks/gpu_bench.sh                  # everything
#   PRESETS="pose" STEPS=20 GRAPHS=1 bash benchmarks/gpu_bench.sh
#
# Budget: about 1-2 minutes per preset plus torch.compile time (the Inductor cache makes repeats
# faster); every run is capped at 300 s.
#
# A failing measurement (e.g. a compile error) is recorded as {"error": ...} and the rest go on.
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python
OUT=${OUT:-bench_out}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
PRESETS=${PRESETS:-"pose depth_x8 texture"}
mkdir -p "$OUT"
LOG="$OUT/gpu_bench.jsonl"
: > "$LOG"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt" >&2

bench() {  # bench LABEL ARGS...
  local label=$1; shift
  local line
  if line=$(timeout 300 "$PY" -m guided_pix2pix.cli bench --device cuda "$@" 2> "$OUT/$label.err" | tail -n 1) \
     && [ -n "$line" ]; then
    echo "{\"label\": \"$label\", \"result\": $line}" | tee -a "$LOG"
  else
    echo "{\"label\": \"$label\", \"error\": \"$(tail -n 1 "$OUT/$label.err" | tr -d '"\\')\"}" | tee -a "$LOG"
  fi
}

for p in $PRESETS; do
  common=(--preset "$p" --steps "$STEPS" --warmup "$WARMUP" --data random)
  bench "$p.reference.fp32" "${common[@]}" --mode reference --precision fp32 --channels-last off
  bench "$p.fast.fp32" "${common[@]}" --mode fast --precision fp32
  bench "$p.fast.bf16.compile" "${common[@]}" --mode fast --precision bf16 --compile
  bench "$p.fast.bf16" "${common[@]}" --mode fast --precision bf16
  if [ "${GRAPHS:-0}" = 1 ]; then
    bench "$p.fast.bf16.compile.graphs" "${common[@]}" --mode fast --precision bf16 --compile --cuda-graphs
  fi
  bench "$p.fast.bf16.synthetic" --preset "$p" --steps "$STEPS" --warmup "$WARMUP" --data synthetic \
    --mode fast --precision bf16
  bench "$p.loader" --preset "$p" --loader-only --steps $((STEPS * 2)) --warmup "$WARMUP"
done
echo "wrote $LOG" >&2
