"""Two CPU processes (gloo DDP through `accelerate launch --multi_gpu --num_processes 2`): for every objective and
baseline, the two ranks see different rollouts, yet after the backward pass both hold the same gradient, equal to the
gradient of ONE process on the concatenation of both rollouts (the average of the two halves), and so the same
parameters. And the learning-rate schedule, written in optimizer steps, runs at the same pace with two processes as
with one (a scheduler prepared by accelerate would advance once per process and step)."""
import os, pickle, socket, subprocess, sys
from pathlib import Path
import pytest
import torch
from conftest import ROOT

OBJECTIVES = ('powerflow', 'tb_traj', 'rl_traj', 'tb_token', 'rl_token', 'grpo', 'intuitor', 'empo', 'ttrl')
REWARD = ('grpo', 'intuitor', 'empo', 'ttrl')
ARGS = ['model=tinylm', 'prompts=addition', 'n_prompts=16', 'max_digits=2', 'prompts_per_step=2', 'k=4',
        'max_new_tokens=40', 'logz=mlp', 'lr=1e-3', 'grad_clip=0', 'logz_grad_clip=0', 'threads=1',
        'progress=false', 'seed=5']
LR_ARGS = ['model=tinylm', 'prompts=addition', 'n_prompts=16', 'max_digits=1', 'prompts_per_step=1', 'k=2',
           'max_new_tokens=8', 'logz=scalar', 'lr=1e-3', 'logz_lr=1e-2', 'scheduler=linear', 'warmup_steps=2',
           'steps=6', 'save_every=0', 'threads=1', 'progress=false', 'seed=5']


def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def launched(tmp_path_factory):
    "One `accelerate launch` of tests/ddp_worker.py: every objective, then the learning-rate trace."
    out = tmp_path_factory.mktemp('ddp')
    accelerate = Path(sys.executable).parent/'accelerate'
    cmd = [str(accelerate), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
           '--mixed_precision', 'no', '--dynamo_backend', 'no', '--main_process_port', str(_free_port()),
           str(ROOT/'tests'/'ddp_worker.py'), str(out), *ARGS, '--lr-trace', *LR_ARGS]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONHASHSEED': '0'}
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-4000:]
    return out


@pytest.mark.parametrize('objective', OBJECTIVES)
def test_two_process_ddp_averages_gradients(launched, objective, tmp_path):
    r0, r1 = (pickle.load(open(launched/f'{objective}_rank{r}.pkl', 'rb')) for r in (0, 1))
    assert r0['world'] == r1['world'] == 2                      # really two processes, not two independent runs
    assert r0['idx'] != r1['idx']                                # ... that saw different prompts
    assert r0['grads'].keys() == r1['grads'].keys()
    assert any(k.startswith('logz.') for k in r0['grads']) == (objective not in REWARD)
    for k in r0['grads']:                                        # all-reduced: bit-identical on both ranks
        assert torch.equal(r0['grads'][k], r1['grads'][k]), k
        assert torch.equal(r0['params'][k], r1['params'][k]), k

    # one process, the concatenated batch: same gradient up to float rounding (padding differs)
    from powerflow_nb.trainer import Trainer, TrainConfig, concat_rollouts
    tr = Trainer(TrainConfig.load(None, ARGS + [f'objective={objective}', f'out_dir={tmp_path/"ref"}']))
    params = {'policy.' + n: p for n, p in tr.model.named_parameters() if p.requires_grad}
    if tr.logz is not None: params.update({'logz.' + n: p for n, p in tr.logz.named_parameters()})

    def grads(ro, idx):
        s = tr.score(ro, idx)
        tr.opt.zero_grad(set_to_none=True)
        tr.model.train()
        tr.loss(ro, s, torch.arange(len(ro.texts)))[0].backward()
        return {n: p.grad.detach().clone() for n, p in params.items()}

    full = grads(concat_rollouts([r0['rollout'], r1['rollout']]), r0['idx'] + r1['idx'])
    half = grads(r0['rollout'], r0['idx'])
    assert full.keys() == r0['grads'].keys()
    num = sum(float((full[k] - r0['grads'][k]).norm()**2) for k in full) ** 0.5
    den = sum(float(full[k].norm()**2) for k in full) ** 0.5
    off = sum(float((half[k] - r0['grads'][k]).norm()**2) for k in full) ** 0.5
    assert den > 0, 'no gradient at all: the check below would be vacuous'
    assert num / den < 1e-4, (num, den)                          # DDP gradient == full-batch gradient
    assert off / den > 1e-2                                      # and not just rank 0's own half


def test_two_process_lr_schedule_runs_at_one_process_pace(launched, tmp_path):
    r0, r1 = (pickle.load(open(launched/f'lr_rank{r}.pkl', 'rb')) for r in (0, 1))
    assert r0['world'] == 2 and r0['lrs'] == r1['lrs']
    from powerflow_nb.trainer import Trainer, TrainConfig
    tr = Trainer(TrainConfig.load(None, LR_ARGS + [f'out_dir={tmp_path/"ref"}']))
    ref = []
    for i in range(tr.cfg.steps):
        m = tr.step(i)
        ref.append((m['lr'], [g['lr'] for g in tr.opt.param_groups]))
    assert r0['lrs'] == ref, (r0['lrs'], ref)
    assert ref[-1][0] == 0 and ref[-2][0] > 0                    # linear to 0 at the last of the 6 steps
