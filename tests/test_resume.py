"""A run killed with SIGKILL resumes from its last checkpoint and ends with exactly the weights and metrics of an
uninterrupted run with the same seed (CPU). The kill is real: a subprocess run, `kill -9` mid-training."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from safetensors.torch import load_file
from conftest import ROOT

# small but complete: LoRA off, MLP log Z' head, 2 updates per rollout batch (importance weights), 2 micro-batches
ARGS = ['model=tinylm', 'prompts=addition', 'n_prompts=32', 'max_digits=2', 'prompts_per_step=2', 'k=4',
        'max_new_tokens=40', 'steps=6', 'save_every=2', 'updates_per_batch=2', 'grad_accum=2', 'logz=mlp',
        'lr=1e-3', 'threads=1', 'progress=false', 'seed=3']
TIMING = ('tokens_per_s', 'time_s')   # wall-clock fields: the only ones allowed to differ


def _cmd(out): return [sys.executable, '-m', 'powerflow_nb.trainer', *ARGS, f'out_dir={out}']

def _env(): return {**os.environ, 'PYTHONHASHSEED': '0', 'OMP_NUM_THREADS': '1'}

def _metrics(out): return [{k: v for k, v in json.loads(l).items() if k not in TIMING}
                           for l in (out/'metrics.jsonl').read_text().splitlines()]


def test_sigkill_resume_is_exact(tmp_path):
    ref, killed = tmp_path/'ref', tmp_path/'killed'
    subprocess.run(_cmd(ref), cwd=ROOT, env=_env(), check=True, capture_output=True)
    p = subprocess.Popen(_cmd(killed), cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    m = killed/'metrics.jsonl'
    t0 = time.time()
    while not (m.exists() and len(m.read_text().splitlines()) >= 3):   # step 3 logged: checkpoint 2 exists, 4 doesn't
        assert p.poll() is None and time.time() - t0 < 300, 'the run ended or stalled before it could be killed'
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert p.returncode == -signal.SIGKILL and not (killed/'final').exists()
    assert [c.name for c in sorted((killed/'checkpoints').glob('step_*'))][-1] in ('step_000002', 'step_000004')
    res = subprocess.run(_cmd(killed), cwd=ROOT, env=_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = load_file(ref/'final'/'model.safetensors'), load_file(killed/'final'/'model.safetensors')
    assert a.keys() == b.keys()
    for k in a: assert torch.equal(a[k], b[k]), k
    la, lb = load_file(ref/'final'/'logz.safetensors'), load_file(killed/'final'/'logz.safetensors')
    for k in la: assert torch.equal(la[k], lb[k]), k
    assert _metrics(ref) == _metrics(killed) and len(_metrics(ref)) == 6
    from powerflow_nb.tinylm import load_tinylm
    base = load_tinylm()[0].state_dict()                     # and training did move the weights
    assert any(not torch.equal(a[k], base[k]) for k in a)


def test_resume_refuses_other_config(tmp_path):
    from powerflow_nb.trainer import TrainConfig, validate
    out = tmp_path/'run'
    subprocess.run(_cmd(out)[:-1] + ['steps=2', f'out_dir={out}'], cwd=ROOT, env=_env(), check=True, capture_output=True)
    cfg = TrainConfig.load(None, ARGS + ['steps=2', f'out_dir={out}', 'alpha=2'])
    with pytest.raises(ValueError, match='different config'): validate(cfg)
