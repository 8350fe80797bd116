#!/usr/bin/env bash
# The creativity experiment against three decoding knobs (nbs/14_creativity.ipynb, "Three knobs, three seeds"):
#   1. PowerFlow alpha = 0.5 (configs/creative_smollm2_knobs.yaml), seeds 0 1 2   -> $RUNS/powerflow_seed<N>/
#   2. SmolLM2-135M-Instruct swept over temperature, top-p and min-p on the 24 held-out prompts
#                                                                                 -> $OUT/<knob>_sweep.json
#   3. the three trained seeds and a re-sample of the base model, evaluated alike  -> $OUT/powerflow.json
# Usage: scripts/run_creativity.sh   (OUT=data/creative/knobs, RUNS=runs/creative_knobs by default)
# Resumable: rerun the same command after a kill or a reboot. A finished training run is only re-saved (powerflow train
# resumes from its last checkpoint, which is the end) and an interrupted one continues from its last checkpoint; a sweep
# setting or an evaluated run already in its JSON file is skipped (the file must have been measured with the same
# config, or the command stops with one line saying what differs). Every invocation appends its command and git commit
# to $OUT/command.txt, and each JSON file keeps the commands that fed it. Console output: $RUNS/log.txt.
# Environment: WORKERS=2 runs the sweeps beside the training (one thread each: the machine's two cores);
# PF (default .venv/bin/powerflow); ALLOW_DIRTY=1 to run with uncommitted library, config or script changes (the
# recorded commit then says "+dirty"); SMOKE=1 runs the same pipeline at toy sizes in a few minutes (plumbing, not
# results: it needs OUT and RUNS outside data/creative/knobs).
# Cost (measured numbers, configs/creative_smollm2_knobs.yaml): ~7,800 s (2.2 h) at WORKERS=1, ~4,900 s at WORKERS=2.
set -euo pipefail
source "$(dirname "$0")/experiment_env.sh"
WORKERS=${WORKERS:-1}
OUT=${OUT:-data/creative/knobs}
RUNS=${RUNS:-runs/creative_knobs}
CONFIG=configs/creative_smollm2_knobs.yaml
SEEDS=(0 1 2)
PER_KIND=8                  # held-out prompts per kind: pick_prompts(8), disjoint from the config's training prompts
K=4                         # samples per prompt
TOKENS=64                   # new tokens per sample (the training samples 48)
TEMPS="0.6 0.8 1 1.1 1.2 1.3 1.4 1.6"      # dense around T = 1-1.3, where the first experiment's trained points landed
TOP_PS="0.5 0.7 0.8 0.9 0.95 1"            # at --temperature 1.5 (nbs/14_creativity.ipynb: why)
MIN_PS="0 0.02 0.05 0.1 0.2"               # at --temperature 1.5
TRAIN_SET=()
if [[ "${SMOKE:-0}" == 1 ]]; then
  if [[ "$OUT" == data/creative/knobs* || "$RUNS" == runs/creative_knobs* ]]; then
    echo "SMOKE=1 writes toy numbers: set OUT and RUNS to other folders" >&2; exit 2
  fi
  SEEDS=(0 1); PER_KIND=1; K=2; TOKENS=8; TEMPS="0.8 1.2"; TOP_PS="0.5 1"; MIN_PS="0 0.1"
  TRAIN_SET=(steps=1 prompts_per_step=2 k=2 max_new_tokens=8 save_every=0)
fi
if [[ -n "$(git status --porcelain -- powerflow_nb configs scripts/run_creativity.sh)" && "${ALLOW_DIRTY:-0}" != 1 ]]; then
  echo "uncommitted changes in powerflow_nb/, configs/ or scripts/run_creativity.sh: commit them first (the data must" >&2
  echo "come from a fixed commit), or set ALLOW_DIRTY=1" >&2
  exit 2
fi
mkdir -p "$OUT" "$RUNS"
commit="$(git rev-parse --short HEAD)$([[ -n "$(git status --porcelain -- powerflow_nb configs scripts/run_creativity.sh)" ]] && echo +dirty || true)"
echo "WORKERS=$WORKERS SMOKE=${SMOKE:-0} OUT=$OUT RUNS=$RUNS $0 $*  # git $commit, started $(date -u '+%Y-%m-%d %H:%M:%S UTC')" >> "$OUT/command.txt"
exec > >(tee -a "$RUNS/log.txt") 2>&1
echo "== scripts/run_creativity.sh at git $commit, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"

train() {
  for s in "${SEEDS[@]}"; do
    echo "== train seed $s"
    "$PF" train --config "$CONFIG" "seed=$s" "out_dir=$RUNS/powerflow_seed$s" progress=false ${TRAIN_SET[@]+"${TRAIN_SET[@]}"}
  done
}
sweep() {   # knob values [--temperature T]
  local knob=$1 values=$2; shift 2
  echo "== sweep $knob"
  # shellcheck disable=SC2086  # the values are words
  "$PF" creativity-sweep --knob "$knob" --values $values "$@" --per-kind "$PER_KIND" --k "$K" --max-new-tokens "$TOKENS" \
    --seed 0 --threads 1 --out "$OUT/${knob}_sweep.json"
}
sweeps() {
  sweep temperature "$TEMPS"
  sweep top_p "$TOP_PS" --temperature 1.5
  sweep min_p "$MIN_PS" --temperature 1.5
}
evaluate() {
  local runs=()
  for s in "${SEEDS[@]}"; do runs+=("PowerFlow α=0.5 seed $s=$RUNS/powerflow_seed$s"); done
  echo "== evaluate"
  "$PF" creativity-eval --per-kind "$PER_KIND" --k "$K" --max-new-tokens "$TOKENS" --seed 0 --threads 1 \
    --sweep "$OUT/temperature_sweep.json" --out "$OUT/powerflow.json" \
    --command "powerflow train --config $CONFIG seed=N out_dir=$RUNS/powerflow_seedN progress=false ${TRAIN_SET[*]+${TRAIN_SET[*]}} (N in ${SEEDS[*]})" \
    "${runs[@]}"
}

if (( WORKERS >= 2 )); then
  echo "== the sweeps run beside the training; their log: $RUNS/sweeps.log"
  sweeps > "$RUNS/sweeps.log" 2>&1 &
  sweeps_pid=$!
  train
  if ! wait "$sweeps_pid"; then echo "the sweeps failed: see $RUNS/sweeps.log" >&2; exit 1; fi
else
  train
  sweeps
fi
evaluate
echo "== done: $OUT"
