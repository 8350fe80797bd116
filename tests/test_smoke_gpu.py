"""scripts/smoke_gpu.py works without a GPU: on CPU with tiny budgets every objective and baseline trains one step
(hf engine), the kill-and-resume check passes, and ONE table reports them; asking for CUDA without one exits 3."""
import json, os, subprocess, sys
import pytest
from conftest import ROOT

SCRIPT = ROOT/'scripts'/'smoke_gpu.py'
ALL = ['powerflow', 'tb_traj', 'rl_traj', 'tb_token', 'rl_token', 'grpo', 'intuitor', 'empo', 'ttrl']


def _env(): return {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}


def test_smoke_script_on_cpu(tmp_path):
    out = tmp_path/'smoke.json'
    r = subprocess.run([sys.executable, str(SCRIPT), '--device', 'cpu', '--steps', '1', '--k', '2', '--prompts', '2',
                        '--max-new-tokens', '12', '--engines', 'hf', '--json', str(out)],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    d = json.loads(out.read_text())
    assert d['ok'] and d['engines'] == ['hf'] and d['peak_mem_unit'] == 'MiB'
    trained = [x for x in d['rows'] if x['resume'] == '-']
    assert [x['objective'] for x in trained] == ALL
    assert all(x['error'] is None and x['loss'] is not None and x['steps'] == 1 for x in trained)
    resume = [x for x in d['rows'] if x['resume'] != '-']
    assert len(resume) == 1 and resume[0]['resume'] == 'yes (exact)', resume
    # ONE table with every column, one row per run
    table = r.stdout[r.stdout.index('objective  '):]
    assert all(c in table.splitlines()[0] for c in ('engine', 'steps', 'final loss', 'length', 'time (s)',
                                                      'peak mem (MiB)', 'resume ok'))
    assert sum(1 for l in table.splitlines()[2:] if l.split()[:1] and l.split()[0] in ALL) == len(ALL) + 1


def test_smoke_script_refuses_cuda_without_a_gpu():
    import torch
    if torch.cuda.is_available(): pytest.skip('a CUDA device is present')
    r = subprocess.run([sys.executable, str(SCRIPT)], cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert r.returncode == 3 and 'no CUDA device' in r.stderr and '--device cpu' in r.stderr


def test_smoke_script_bad_arguments():
    r = subprocess.run([sys.executable, str(SCRIPT), '--device', 'cpu', '--objectives', 'powerflow,nonsense'],
                       cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert r.returncode == 2 and 'unknown objectives' in r.stderr
