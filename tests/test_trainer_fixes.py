"""Regression tests of the trainer on the tiny model (one thread, tiny budgets): the importance weight's pi_old, the
per-parameter-set gradient clipping, the engine push after a resume, the off-policy refusal of top_p < 1 and the
memory knobs (score_batch, logit_chunk, gradient_checkpointing)."""
import math
import pytest
import torch
from powerflow_nb import trainer as T
from powerflow_nb.prompts import apply_chat_template
from powerflow_nb.trainer import Trainer, TrainConfig
from conftest import ROOT

SMALL = dict(model='tinylm', prompts='addition', n_prompts=16, max_digits=2, prompts_per_step=2, k=4,
             max_new_tokens=40, lr=1e-3, save_every=0, progress=False, seed=1)


def _cfg(tmp_path, **kw): return TrainConfig(**{**SMALL, 'out_dir': str(tmp_path/'run'), **kw})


def _all(ro): return torch.arange(len(ro))


def _policy_params(tr): return {n: p for n, p in tr.policy.named_parameters() if p.requires_grad}


def _logz_params(tr): return dict(tr.acc.unwrap_model(tr.logz).named_parameters())


def _spy_weights(monkeypatch):
    "Record every importance weight the trainer computes (the module-level function its loss calls)."
    seen = []
    real = T.importance_weights
    def spy(*a, **kw):
        w = real(*a, **kw); seen.append(w.detach().clone()); return w
    monkeypatch.setattr(T, 'importance_weights', spy)
    return seen


# ---- pi_old is the engine's own log-prob of what it sampled
def test_importance_weight_uses_the_engines_logprobs(tmp_path, monkeypatch):
    "A rollout whose sample_logp differs from the policy's teacher forcing gets exactly the weight it predicts."
    from powerflow_nb.rollout import response_logprobs
    tr = Trainer(_cfg(tmp_path, clip_eps=0.5))
    ro, idx = tr.make_rollout(0)
    ro.sample_logp = ro.sample_logp - 0.05 * ro.lengths.float()   # the sampler found each token e^0.05 less likely
    s = tr.score(ro, idx)
    seen = _spy_weights(monkeypatch)
    tr.model.train()
    tr.loss(ro, s, _all(ro))
    with torch.no_grad(): tf = response_logprobs(tr.policy, ro, tr.tok.pad_token_id)[0]
    from powerflow_nb.objectives import importance_weights
    want = importance_weights(tf, ro.sample_logp, ro.lengths, mode='token_mean', eps=0.5)
    torch.testing.assert_close(seen[-1], want, rtol=0, atol=1e-5)
    assert (seen[-1] - math.exp(0.05)).abs().max() < 1e-4          # ~e^{+0.05} per token, not 1


def test_score_spends_no_policy_forward(tmp_path):
    "pi_old comes from the rollout: scoring runs the frozen base only, also when the batch is reused."
    tr = Trainer(_cfg(tmp_path, updates_per_batch=2, logz='scalar'))
    ro, idx = tr.make_rollout(0)
    calls = []
    h = tr.policy.register_forward_hook(lambda *a: calls.append(1))
    s = tr.score(ro, idx)
    h.remove()
    assert calls == [] and torch.equal(s.old_logp, ro.sample_logp.float())


# ---- gradient clipping: the policy and log Z' each on their own
def test_logz_gradient_does_not_shrink_the_policy_step(tmp_path):
    "log Z' far from the batch's constant has a huge gradient; the policy's clipped gradient must not feel it."
    tr = Trainer(_cfg(tmp_path, logz='scalar', logz_init=30.0, logz_warm_start=False, grad_clip=1.0))
    ro, idx = tr.make_rollout(0)
    s = tr.score(ro, idx)
    P, Z = _policy_params(tr), _logz_params(tr)
    tr.model.train(); tr.opt.zero_grad(set_to_none=True)
    tr.loss(ro, s, _all(ro))[0].backward()
    raw_p = {n: p.grad.clone() for n, p in P.items()}; raw_z = {n: p.grad.clone() for n, p in Z.items()}
    tr.opt.zero_grad(set_to_none=True)
    seen = {}
    step = tr.opt.step
    def record(*a, **kw):
        seen.update({n: p.grad.clone() for n, p in {**P, **{'z.' + k: v for k, v in Z.items()}}.items()})
        return step(*a, **kw)
    tr.opt.step = record
    tr.update(ro, s)
    norm = lambda g: math.sqrt(sum(float(v.double().norm()**2) for v in g.values()))
    n_p, n_z = norm(raw_p), norm(raw_z)
    assert n_z > 10 * n_p > 10                                       # the setting: log Z' dominates a joint norm
    for n, g in raw_p.items():                                       # the policy alone was scaled to norm 1
        torch.testing.assert_close(seen[n], g * min(1., 1. / (n_p + 1e-6)), rtol=1e-5, atol=1e-9)
    for n, g in raw_z.items():                                       # and log Z' by its own norm
        torch.testing.assert_close(seen['z.' + n], g * min(1., 1. / (n_z + 1e-6)), rtol=1e-5, atol=1e-9)


# ---- resume pushes the restored weights into the engine
def test_resume_pushes_restored_weights(tmp_path, monkeypatch):
    from powerflow_nb import rollout
    from powerflow_nb.tinylm import load_tinylm
    cfg = _cfg(tmp_path, steps=2, save_every=1, lr=1e-2, logz='scalar', prompts_per_step=1, k=2, max_new_tokens=24)
    Trainer(cfg).fit()
    pushed = []
    monkeypatch.setattr(rollout.HFEngine, 'push_weights',
                        lambda self, model=None: pushed.append({k: v.clone() for k, v in rollout.hf_state_dict(model).items()}))
    tr = Trainer(cfg)                                                # resumes from step 2
    assert tr.start_step == 2 and len(pushed) == 1, (tr.start_step, len(pushed))
    restored = tr.policy.state_dict()
    fresh = load_tinylm()[0].state_dict()
    assert pushed[0].keys() <= restored.keys()
    for k, v in pushed[0].items(): assert torch.equal(v, restored[k]), k
    assert any(not torch.equal(v, fresh[k]) for k, v in pushed[0].items())   # the trained weights, not the pretrained


# ---- top_p < 1 cannot be corrected
@pytest.mark.parametrize('objective', ['powerflow', 'tb_traj', 'rl_traj', 'tb_token', 'rl_token', 'grpo', 'intuitor',
                                       'empo', 'ttrl'])
def test_top_p_below_one_is_refused(objective):
    with pytest.raises(ValueError, match='top_p must be 1 for training'):
        T.validate(TrainConfig(objective=objective, top_p=0.95, out_dir='/nonexistent/run'))


# ---- memory knobs
def test_score_batch_gives_the_same_scores(tmp_path):
    a = Trainer(_cfg(tmp_path/'a', logz='scalar', score_batch=0))
    b = Trainer(_cfg(tmp_path/'b', logz='scalar', score_batch=3))
    ro, idx = a.make_rollout(0)
    sa, sb = a.score(ro, idx), b.score(ro, idx)
    torch.testing.assert_close(sa.base_logp, sb.base_logp, rtol=0, atol=1e-4)
    ia = Trainer(_cfg(tmp_path/'c', objective='intuitor', score_batch=0))
    ib = Trainer(_cfg(tmp_path/'d', objective='intuitor', score_batch=3))
    torch.testing.assert_close(ia.score(ro, idx).reward, ib.score(ro, idx).reward, rtol=0, atol=1e-5)


@pytest.mark.parametrize('lora', [False, True])
def test_gradient_checkpointing_same_gradient(tmp_path, lora):
    grads = []
    for gc in (False, True):
        tr = Trainer(_cfg(tmp_path/str(gc), logz='scalar', gradient_checkpointing=gc, lora=lora, lora_r=4))
        base = tr.policy.get_base_model() if lora else tr.policy
        assert base.is_gradient_checkpointing == gc
        if lora: assert all(not p.requires_grad for n, p in tr.policy.named_parameters() if 'lora_' not in n)
        ro, idx = tr.make_rollout(0)
        s = tr.score(ro, idx)
        tr.model.train(); tr.opt.zero_grad(set_to_none=True)
        tr.loss(ro, s, _all(ro))[0].backward()
        grads.append({n: p.grad.clone() for n, p in _policy_params(tr).items()})
    assert grads[0].keys() == grads[1].keys()
    for n in grads[0]: torch.testing.assert_close(grads[0][n], grads[1][n], rtol=1e-4, atol=1e-7)


def test_memory_fields_are_documented_and_checked():
    cfg = TrainConfig()
    assert (cfg.score_batch, cfg.logit_chunk, cfg.gradient_checkpointing) == (16, 256, False)
    assert cfg.hash() == TrainConfig(score_batch=2, logit_chunk=0, gradient_checkpointing=True).hash()
    for name in ('score_batch', 'logit_chunk'):
        with pytest.raises(ValueError, match=f'{name} must be >= 0'):
            T.validate(TrainConfig(out_dir='/nonexistent/run', **{name: -1}))


# ---- temperature != 1: the weight corrects towards the policy, and the clipped share is logged
def test_temperature_is_corrected_by_the_importance_weight(tmp_path, monkeypatch):
    "At T=2 the sampler is not the policy: w = clip(pi/pi_T) exactly, some weights clip, and the metric counts them."
    from powerflow_nb.rollout import response_logprobs
    from powerflow_nb.objectives import importance_weights
    tr = Trainer(_cfg(tmp_path, temperature=2.0, logz='scalar'))
    ro, idx = tr.make_rollout(0)
    with torch.no_grad(): tf = response_logprobs(tr.policy, ro, tr.tok.pad_token_id)[0]
    assert (tf - ro.sample_logp).abs().max() > 0.1                  # the tempered sampler's log-probs are not the policy's
    seen = _spy_weights(monkeypatch)
    tr.make_rollout = lambda step: (ro, idx)
    m = tr.step(0)
    w = seen[0]
    torch.testing.assert_close(w, importance_weights(tf, ro.sample_logp, ro.lengths, eps=0.2), rtol=0, atol=1e-5)
    clipped = ((w <= 0.8) | (w >= 1.2)).float().mean().item()
    assert 0 < clipped and (w - 1).abs().max() > 0.01
    assert m['iw_clipped_frac'] == pytest.approx(clipped)


# ---- logit_chunk: the same loss and gradient, chunked
def test_logit_chunk_same_loss_and_gradient(tmp_path):
    out = []
    for chunk in (0, 5):
        tr = Trainer(_cfg(tmp_path/str(chunk), logz='mlp', logit_chunk=chunk, score_batch=3))
        ro, idx = tr.make_rollout(0)
        s = tr.score(ro, idx)
        tr.model.train(); tr.opt.zero_grad(set_to_none=True)
        loss = tr.loss(ro, s, _all(ro))[0]
        loss.backward()
        out.append((loss.detach(), s.base_logp, s.hidden, {n: p.grad.clone() for n, p in _policy_params(tr).items()}))
    (la, ba, ha, ga), (lb, bb, hb, gb) = out
    torch.testing.assert_close(la, lb, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(ba, bb, rtol=0, atol=1e-4)
    torch.testing.assert_close(ha, hb, rtol=1e-5, atol=1e-5)
    for n in ga: torch.testing.assert_close(ga[n], gb[n], rtol=1e-4, atol=1e-7)


# ---- chat templates that write their own BOS: the length check counts what the engines feed the model
def test_prompt_lengths_count_one_bos():
    from powerflow_nb.rollout import toy_tokenizer, encode_prompts
    tok = toy_tokenizer()                                            # adds <bos> when tokenizing, like Llama 3
    tok.chat_template = ("{{ bos_token }}{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}a:{% endif %}")   # ... whose template writes <bos> too
    rows = apply_chat_template([{'prompt': '12+3=', 'answer': '15'}, {'prompt': '7+7=', 'answer': '14'}], tok)
    bos = tok.bos_token_id
    assert tok(rows[0]['prompt']).input_ids[:2] == [bos, bos]        # the naive count has two
    lens = T.check_prompt_lengths(rows, tok, 100, 10, 1000)
    ids = encode_prompts(tok, [r['prompt'] for r in rows])
    assert lens == [len(x) for x in ids] == [len(tok(r['prompt']).input_ids) - 1 for r in rows]
    assert all(x[0] == bos and x[1] != bos for x in ids)


def test_vllm_memory_fraction_is_a_checked_config_field():
    "engine=vllm on a GPU needs its memory share set (vLLM's default 0.9 leaves no room for training); the plan reads it"
    from powerflow_nb.trainer import TrainConfig, validate
    from powerflow_nb.plan import memory_plan
    with pytest.raises(ValueError, match='vllm_gpu_memory_utilization'):
        validate(TrainConfig.load(None, ['vllm_gpu_memory_utilization=1.5']))
    cfg = TrainConfig.load(ROOT/'configs'/'qwen2.5-math-1.5b_powerflow.yaml', ['vllm_gpu_memory_utilization=0.25'])
    assert cfg.engine == 'vllm'                                   # the paper's engine, in the shipped recipe
    rows = [r for r in memory_plan(cfg, gpus=8)['rows'] if 'vLLM' in r['component']]
    assert rows and 'vllm_gpu_memory_utilization' in rows[0]['note'] and rows[0]['gib'] == 0.25 * 80


# ---- LoRA checkpoints hold the adapters, not the frozen base
def test_lora_checkpoint_holds_trainable_weights_and_resumes_exactly(tmp_path):
    """A LoRA checkpoint used to hold the whole model (557 MB per SmolLM2 checkpoint, the frozen base included: 6.5 GB
    in one smoke test, which filled CI's disk); it holds the trainable weights only, and a resume from it ends with
    exactly the weights of the run that was not interrupted."""
    import json, shutil
    from safetensors import safe_open
    from safetensors.torch import load_file
    a, b = tmp_path/'a', tmp_path/'b'
    cfg = _cfg(a, steps=4, save_every=2, lora=True, lora_r=4, logz='scalar', lr=1e-2, prompts_per_step=1, k=2,
               max_new_tokens=24)
    tr = Trainer(cfg); tr.fit()
    ck = a/'run'/'checkpoints'/'step_000002'
    with safe_open(str(ck/'model.safetensors'), 'pt') as f: saved = set(f.keys())
    trainable = {n for n, p in tr.model.named_parameters() if p.requires_grad}
    assert saved == trainable and all('lora_' in n for n in saved), sorted(saved - trainable)[:3]
    shutil.copytree(a/'run', b/'run')                                # the same run, stopped after step 2
    shutil.rmtree(b/'run'/'checkpoints'/'step_000004'); shutil.rmtree(b/'run'/'final')
    r = Trainer(TrainConfig(**{**cfg.to_dict(), 'out_dir': str(b/'run')}))
    assert r.start_step == 2
    r.fit()
    wa, wb = load_file(a/'run'/'final'/'model.safetensors'), load_file(b/'run'/'final'/'model.safetensors')
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    drop = lambda p: [{k: v for k, v in json.loads(l).items() if k not in ('tokens_per_s', 'time_s')}
                      for l in p.read_text().splitlines()]
    assert drop(a/'run'/'metrics.jsonl') == drop(b/'run'/'metrics.jsonl')


def test_checkpoint_missing_trainable_weights_is_refused(tmp_path):
    "A checkpoint whose weights do not cover the trainable parameters is refused in one line, not half-loaded."
    from safetensors.torch import load_file, save_file
    cfg = _cfg(tmp_path, steps=2, save_every=2, lora=True, lora_r=4, logz='scalar', prompts_per_step=1, k=2,
               max_new_tokens=24)
    Trainer(cfg).fit()
    f = tmp_path/'run'/'checkpoints'/'step_000002'/'model.safetensors'
    w = load_file(f); w.pop(sorted(w)[0]); save_file(w, f)
    with pytest.raises(ValueError, match='lacks 1 trainable weight'): Trainer(cfg)
