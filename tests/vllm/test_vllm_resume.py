"""Exact resume with the vLLM engine, for real: runs INSIDE .venv-vllm (the main suite runs tests/vllm through
tests/test_vllm.py). The engine is built from the pretrained weights before the checkpoint is read, so a resume must
push the restored weights into it: then the first rollout after the resume is token for token the uninterrupted
run's, and so are the metrics and the final weights."""
import os
os.environ.setdefault('VLLM_ENABLE_V1_MULTIPROCESSING', '0')   # in-process engine: no spawn, no __main__ guard needed
import json, shutil
import pytest
import torch

pytest.importorskip('vllm', reason='runs inside .venv-vllm (make vllm-env)')
from safetensors.torch import load_file
from powerflow_nb.trainer import Trainer, TrainConfig

ARGS = dict(model='tinylm', engine='vllm', prompts='addition', n_prompts=16, max_digits=2, prompts_per_step=2, k=4,
            max_new_tokens=40, steps=3, save_every=2, lr=1e-2, logz='scalar', progress=False, seed=4)
TIMING = ('tokens_per_s', 'time_s')


def _metrics(out): return [{k: v for k, v in json.loads(l).items() if k not in TIMING}
                           for l in (out/'metrics.jsonl').read_text().splitlines()]


def test_vllm_resume_is_exact(tmp_path):
    a = Trainer(TrainConfig(**ARGS, out_dir=str(tmp_path/'a')))
    rollouts, make = {}, a.make_rollout
    def record(step):
        rollouts[step] = make(step); return rollouts[step]
    a.make_rollout = record
    a.fit()                                                          # steps 1..3, checkpoints after 2 and 3
    a.engine.close()
    # a run folder that holds only the checkpoint after step 2, as if the run had been killed during step 3
    shutil.copytree(tmp_path/'a'/'checkpoints'/'step_000002', tmp_path/'b'/'checkpoints'/'step_000002')
    b = Trainer(TrainConfig(**ARGS, out_dir=str(tmp_path/'b')))
    assert b.start_step == 2
    ro, idx = b.make_rollout(2)                                      # the first rollout after the resume
    ref, ref_idx = rollouts[2]
    assert idx == ref_idx and ro.response_ids == ref.response_ids
    torch.testing.assert_close(ro.sample_logp, ref.sample_logp, rtol=0, atol=1e-5)
    assert torch.equal(b.score(ro, idx).old_logp, ro.sample_logp.float())   # pi_old: vLLM's own log-probs
    b.fit()
    b.engine.close()
    assert _metrics(tmp_path/'b') == _metrics(tmp_path/'a')[2:]
    wa, wb = load_file(tmp_path/'a'/'final'/'model.safetensors'), load_file(tmp_path/'b'/'final'/'model.safetensors')
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
