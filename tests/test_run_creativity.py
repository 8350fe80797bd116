"""scripts/run_creativity.sh end to end at toy sizes (SMOKE=1, into temporary folders): the runner's plumbing, not
results. It once exited 1 silently on a clean tree (an assignment failing under `set -e`)."""
import json, os, subprocess
from conftest import ROOT


def test_run_creativity_smoke(tmp_path):
    env = {**os.environ, 'SMOKE': '1', 'OUT': str(tmp_path/'out'), 'RUNS': str(tmp_path/'runs'), 'ALLOW_DIRTY': '1'}
    r = subprocess.run(['bash', str(ROOT/'scripts'/'run_creativity.sh')], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert '== done' in r.stdout
    res = json.loads((tmp_path/'out'/'powerflow.json').read_text())
    assert res and (tmp_path/'out'/'command.txt').read_text().count('run_creativity.sh') >= 1
