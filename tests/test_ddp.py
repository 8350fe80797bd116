"""Two CPU processes (gloo DDP through `accelerate launch --multi_gpu --num_processes 2`, SPEC §7): the two ranks
see different rollouts, yet after the backward pass both hold the same gradient, equal to the gradient of ONE
process on the concatenation of both rollouts (the average of the two halves), and so the same parameters."""
import os, pickle, socket, subprocess, sys
from pathlib import Path
import pytest
import torch
from conftest import ROOT

ARGS = ['model=tinylm', 'prompts=addition', 'n_prompts=16', 'max_digits=2', 'prompts_per_step=2', 'k=4',
        'max_new_tokens=40', 'logz=mlp', 'lr=1e-3', 'grad_clip=0', 'threads=1', 'progress=false', 'seed=5']


def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def test_two_process_ddp_averages_gradients(tmp_path):
    accelerate = Path(sys.executable).parent/'accelerate'
    cmd = [str(accelerate), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
           '--mixed_precision', 'no', '--dynamo_backend', 'no', '--main_process_port', str(_free_port()),
           str(ROOT/'tests'/'ddp_worker.py'), str(tmp_path), *ARGS]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONHASHSEED': '0'}
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-4000:]
    r0, r1 = (pickle.load(open(tmp_path/f'rank{r}.pkl', 'rb')) for r in (0, 1))
    assert r0['world'] == r1['world'] == 2                      # really two processes, not two independent runs
    assert r0['idx'] != r1['idx']                                # ... that saw different prompts
    assert r0['grads'].keys() == r1['grads'].keys() and any(k.startswith('logz.') for k in r0['grads'])
    for k in r0['grads']:                                        # all-reduced: bit-identical on both ranks
        assert torch.equal(r0['grads'][k], r1['grads'][k]), k
        assert torch.equal(r0['params'][k], r1['params'][k]), k

    # one process, the concatenated batch: same gradient up to float rounding (padding differs)
    from powerflow_nb.trainer import Trainer, TrainConfig, concat_rollouts
    tr = Trainer(TrainConfig.load(None, ARGS + [f'out_dir={tmp_path/"ref"}']))
    params = {'policy.' + n: p for n, p in tr.model.named_parameters() if p.requires_grad}
    params.update({'logz.' + n: p for n, p in tr.logz.module.named_parameters()})

    def grads(ro, idx):
        s = tr.score(ro, idx)
        tr.opt.zero_grad(set_to_none=True)
        tr.model.train()
        loss, _, _ = tr.loss(ro, s, torch.arange(len(ro.texts)))
        loss.backward()
        return {n: p.grad.detach().clone() for n, p in params.items()}

    full = grads(concat_rollouts([r0['rollout'], r1['rollout']]), r0['idx'] + r1['idx'])
    half = grads(r0['rollout'], r0['idx'])
    num = sum(float((full[k] - r0['grads'][k]).norm()**2) for k in full) ** 0.5
    den = sum(float(full[k].norm()**2) for k in full) ** 0.5
    off = sum(float((half[k] - r0['grads'][k]).norm()**2) for k in full) ** 0.5
    assert num / den < 1e-4, (num, den)                          # DDP gradient == full-batch gradient
    assert off / den > 1e-2                                      # and not just rank 0's own half
