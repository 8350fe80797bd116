# Sourced by the experiment runners (run_experiment.sh, run_creativity.sh): run from the repository root, one torch
# thread per process, this checkout's library first (also in a git worktree whose .venv is shared with another
# checkout through an editable install), and the powerflow command in $PF.
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PF=${PF:-.venv/bin/powerflow}
