#!/usr/bin/env bash
# The issue-12 experiments on a 2-core CPU, from a clean commit, resumable:
#   tuned   configs/compare_tuned.yaml   lr grid -> selection -> main stage (about 2.3 h at 2 workers)
#   length  configs/compare_length.yaml  length collapse on data/tinylm_mixed (about 35 min at 2 workers)
#   smollm2 configs/compare_smollm2.yaml SmolLM2-135M-Instruct on 1-digit addition (about 2.8 h at 2 workers); its
#           rollouts and evaluations use vLLM: run it with PF=.venv-vllm/bin/powerflow (make vllm-env)
# Usage: scripts/run_experiment.sh [tuned|length|smollm2|all] (default all: tuned, then length). Rerun the same command after a kill or a reboot:
# finished units are skipped and an interrupted training run resumes from its last checkpoint. Each run prints its cost
# plan first and appends its exact command and git commit to data/results/<name>/command.txt; the console output also
# goes to runs/experiments/<name>.log. Environment: WORKERS (default 2), PF (default .venv/bin/powerflow),
# ALLOW_DIRTY=1 to run with uncommitted library or config changes (the rows then record "+dirty").
set -euo pipefail
source "$(dirname "$0")/experiment_env.sh"
WORKERS=${WORKERS:-2}
which=${1:-all}
if [[ -n "$(git status --porcelain -- powerflow_nb configs nbs)" && "${ALLOW_DIRTY:-0}" != 1 ]]; then
  echo "uncommitted changes in powerflow_nb/, configs/ or nbs/: commit them first (the data must come from a fixed commit)," >&2
  echo "or set ALLOW_DIRTY=1" >&2
  exit 2
fi
mkdir -p runs/experiments
run() {
  local cfg=$1 name
  name=$(basename "$cfg" .yaml)
  echo "== $cfg at $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M:%S UTC')" | tee -a "runs/experiments/$name.log"
  "$PF" compare --config "$cfg" --workers "$WORKERS" 2>&1 | tee -a "runs/experiments/$name.log"
}
case $which in
  tuned)  run configs/compare_tuned.yaml ;;
  length) run configs/compare_length.yaml ;;
  smollm2) run configs/compare_smollm2.yaml ;;
  all)    run configs/compare_tuned.yaml; run configs/compare_length.yaml ;;
  *) echo "usage: $0 [tuned|length|smollm2|all]" >&2; exit 2 ;;
esac
