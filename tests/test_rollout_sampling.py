"""`Rollout.sample_logp` of the HF engine is the log-prob under the distribution `generate` actually sampled from:
temperature applied (and, at top_p < 1, the truncated and renormalised nucleus), checked against teacher forcing."""
import copy
import pytest
import torch
from powerflow_nb.rollout import HFEngine, SamplingConfig, response_logprobs, toy_lm

PROMPTS = ['12+34=', '7+8=', '100+1=', '5+55=']


def _nucleus(logits, top_p):
    "Hugging Face's TopPLogitsWarper rule: drop the smallest tokens whose total mass is <= 1 - top_p (keep >= 1)"
    s, idx = logits.sort(-1)
    drop = s.softmax(-1).cumsum(-1) <= 1 - top_p
    drop[..., -1] = False
    return logits.masked_fill(drop.scatter(-1, idx, drop), float('-inf'))


@torch.no_grad()
def sampling_logp(model, ro, temperature, top_p=1.0):
    "Teacher-forced sum of log softmax(nucleus(logits / T)) of each response, each sequence alone, fp32"
    out = []
    for p, r in zip(ro.prompt_ids, ro.response_ids):
        lg = model(torch.tensor([p + r])).logits[0, len(p) - 1:-1].float() / temperature
        if top_p < 1: lg = _nucleus(lg, top_p)
        out.append(lg.log_softmax(-1).gather(-1, torch.tensor(r)[:, None]).sum())
    return torch.stack(out)


@pytest.fixture(scope='module')
def toy():
    model, tok = toy_lm()
    return model, tok, HFEngine(model, tok)


def _errs(a, b, n): return (a - b).abs().max().item(), ((a - b).abs() / n).max().item()


@pytest.mark.parametrize('T', [0.5, 1.5])
def test_sample_logp_is_tempered(toy, T):
    model, tok, eng = toy
    ro = eng.generate(PROMPTS, SamplingConfig(k=4, temperature=T, max_new_tokens=24, seed=3))
    ref = sampling_logp(model, ro, T)
    tot, tok_err = _errs(ro.sample_logp, ref, ro.lengths.clamp(min=1))
    print(f'T={T}: |sample_logp - teacher forcing of log_softmax(logits/T)| max {tot:.1e}, {tok_err:.1e} per token')
    assert tot < 3e-4 and tok_err < 1e-5   # fp32; this toy's logits reach +-16 (+-32 at T=0.5)
    t1 = response_logprobs(model, ro)[0].detach()          # the temperature-1 value it used to record
    assert (ro.sample_logp - t1).abs().max() > 0.5


def test_sample_logp_top_p_is_the_renormalised_nucleus(toy):
    model, tok, eng = toy
    ro = eng.generate(PROMPTS, SamplingConfig(k=4, temperature=0.7, top_p=0.8, max_new_tokens=24, seed=5))
    ref = sampling_logp(model, ro, 0.7, 0.8)
    tot, tok_err = _errs(ro.sample_logp, ref, ro.lengths.clamp(min=1))
    print(f'T=0.7 top_p=0.8: |sample_logp - teacher forcing of the renormalised nucleus| max {tot:.1e}, {tok_err:.1e}/token')
    assert tot < 3e-4 and tok_err < 1e-5   # fp32; this toy's logits reach +-16 (+-32 at T=0.5)
    assert (ro.sample_logp - sampling_logp(model, ro, 0.7)).abs().max() > 1e-3   # truncation changes the numbers


def test_greedy_records_temperature_one(toy):
    model, tok, eng = toy
    ro = eng.generate(PROMPTS, SamplingConfig(k=1, temperature=0, max_new_tokens=16))
    assert (ro.sample_logp - response_logprobs(model, ro)[0].detach()).abs().max() < 1e-4


def test_model_generation_defaults_cannot_slip_in(toy):
    "A model whose generation_config sets its own sampling knobs samples and records exactly what we ask"
    model, tok, eng = toy
    m2 = copy.deepcopy(model)
    m2.generation_config.temperature, m2.generation_config.top_k, m2.generation_config.top_p = 0.3, 3, 0.5
    m2.generation_config.min_p, m2.generation_config.typical_p = 0.2, 0.5
    cfg = SamplingConfig(k=4, temperature=1.0, max_new_tokens=24, seed=9)
    a, b = eng.generate(PROMPTS, cfg), HFEngine(m2, tok).generate(PROMPTS, cfg)
    assert a.response_ids == b.response_ids
    assert torch.allclose(a.sample_logp, b.sample_logp)
