"""Chunked scoring: any (batch_size, logit_chunk) gives the old unchunked numbers and gradients, on the trained tiny
model and on a LoRA (PEFT) model with adapters on and off; self-certainty equals its direct definition; the captured
last hidden state is the one the output head reads (tinylm and SmolLM2 in the installed transformers)."""
import copy, math
import pytest
import torch
from powerflow_nb.rollout import (HFEngine, SamplingConfig, Rollout, response_logprobs, base_logprobs, base_scores,
                                  prompt_hidden, self_certainty, _hidden_forward)
from powerflow_nb.tinylm import load_tinylm, addition_problems

pytestmark = pytest.mark.filterwarnings("ignore:Model has .tie_word_embeddings=True")
CHUNKINGS = [(None, 1), (None, 7), (5, 3), (1, 1000), (3, 16), (32, 32)]


@pytest.fixture(scope='module')
def tiny():
    model, tok = load_tinylm()
    ro = HFEngine(model, tok).generate([p['prompt'] for p in addition_problems(6, seed=11)],
                                      SamplingConfig(k=4, temperature=1.5, max_new_tokens=48, seed=2))
    assert ro.lengths.min() < ro.lengths.max(), 'want ragged responses'
    return model, tok, ro


@pytest.fixture(scope='module')
def lora(tiny):
    from peft import LoraConfig, get_peft_model
    model, tok, ro = tiny
    pm = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, lora_alpha=8, target_modules=['q_proj', 'v_proj', 'lm_head'],
                                                         lora_dropout=0.0))
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if 'lora_B' in n: p.normal_(0, 0.05)
    return pm


def _close(a, b, per_token, lengths):
    return ((a - b).abs() / lengths.clamp(min=1)).max().item() < per_token


def test_chunked_equals_unchunked_plain_and_lora(tiny, lora):
    model, tok, ro = tiny
    n = ro.lengths
    ref = response_logprobs(model, ro)[0].detach()
    ref_lora = response_logprobs(lora, ro)[0].detach()
    ref_base, ref_h = base_scores(model, ro)
    assert (ref_lora - ref).abs().max() > 0.1, 'the adapters (incl. one on the output head) must matter'
    for bs, ch in CHUNKINGS:
        assert _close(response_logprobs(model, ro, batch_size=bs, logit_chunk=ch)[0].detach(), ref, 1e-6, n)
        assert _close(response_logprobs(lora, ro, batch_size=bs, logit_chunk=ch)[0].detach(), ref_lora, 1e-6, n)
        lp, h = base_scores(lora, ro, batch_size=bs, logit_chunk=ch)     # adapters off: the plain model
        assert _close(lp, ref_base, 1e-6, n) and (h - ref_h).abs().max() < 1e-5
        assert _close(base_logprobs(lora, ro, batch_size=bs, logit_chunk=ch), ref_base, 1e-6, n)
    assert (prompt_hidden(model, ro) - ref_h).abs().max() < 1e-5


def test_chunked_gradients_equal(tiny, lora):
    model, tok, ro = tiny
    for m in (model, lora):
        def grads(**kw):
            m.zero_grad(set_to_none=True)
            lp, n = response_logprobs(m, ro, **kw)
            (lp / n).mean().backward()
            return {k: p.grad.clone() for k, p in m.named_parameters() if p.grad is not None}
        g0, g1 = grads(), grads(batch_size=5, logit_chunk=6)
        m.zero_grad(set_to_none=True)
        assert g0.keys() == g1.keys() and len(g0) > 0
        for k in g0: assert (g1[k] - g0[k]).abs().max() <= 1e-5 * (1 + g0[k].abs().max()), k


def test_bf16_autocast_chunked_equals_unchunked(tiny):
    model, tok, ro = tiny
    with torch.autocast('cpu', dtype=torch.bfloat16):
        a = response_logprobs(model, ro)[0].detach()
        b = response_logprobs(model, ro, batch_size=7, logit_chunk=5)[0].detach()
    assert a.dtype == b.dtype == torch.float32
    assert _close(a, b, 2e-3, ro.lengths)   # the same bf16 products, in other slices


def _certainty_direct(model, ro):
    "The definition the trainer used: per position -log V - mean_j log_softmax_j, averaged over the response"
    out = []
    with torch.no_grad():
        for p, r in zip(ro.prompt_ids, ro.response_ids):
            lp = model(torch.tensor([p + r])).logits[0, len(p) - 1:-1].float().log_softmax(-1)
            out.append((-math.log(lp.shape[-1]) - lp.mean(-1)).mean())
    return torch.stack(out)


def test_self_certainty(tiny, lora):
    model, tok, ro = tiny
    ref = _certainty_direct(model, ro)
    assert (ref > 0).all()
    for bs, ch in [(None, None)] + CHUNKINGS:
        assert (self_certainty(model, ro, batch_size=bs, logit_chunk=ch) - ref).abs().max() < 1e-5
    with lora.disable_adapter(): ref_b = _certainty_direct(lora, ro)
    with torch.no_grad(): ref_l = _certainty_direct(lora, ro)
    assert (ref_l - ref_b).abs().max() > 1e-3
    assert (self_certainty(lora, ro, batch_size=5, logit_chunk=4) - ref_l).abs().max() < 1e-5


def _smollm2():
    from powerflow_nb.smollm import smollm_cache_dir
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
    d = smollm_cache_dir()
    if (d/'config.json').is_file(): return AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    # not converted here: the same architecture, randomly initialised (what is checked does not depend on the weights)
    cfg = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                      num_attention_heads=9, num_key_value_heads=3, head_dim=64, tie_word_embeddings=True,
                      rms_norm_eps=1e-5, max_position_embeddings=8192)
    torch.manual_seed(0)
    return LlamaForCausalLM(cfg).eval()


@pytest.mark.parametrize('which', ['tinylm', 'smollm2'])
def test_last_hidden_state_is_after_the_final_norm(tiny, which):
    "hidden_states[-1] (and our hook's capture) is post-norm: head(h) reproduces the model's logits"
    model = tiny[0] if which == 'tinylm' else _smollm2()
    ids = torch.tensor([[1, 5, 6, 14, 7, 16, 9, 10, 11, 4]])
    with torch.no_grad():
        out = model(ids, output_hidden_states=True)
        _, h = _hidden_forward(model, dict(input_ids=ids), 1)
        assert torch.equal(h, out.hidden_states[-1])
        assert torch.equal(model.get_output_embeddings()(h), out.logits)
        pre = out.hidden_states[-2]   # a layer output before the norm: visibly different
        assert not torch.allclose(model.get_output_embeddings()(pre), out.logits, atol=1e-3)
    if which == 'smollm2':   # chunked scoring of the real vocabulary size on a short rollout
        ro = Rollout(['x'], torch.zeros(2, dtype=torch.long), [[1, 2, 3], [4, 5]], [[6, 7, 8, 9], [10, 11]],
                     ['', ''], torch.tensor([4, 2]), torch.zeros(2, dtype=torch.bool))
        with torch.no_grad():
            a, b = response_logprobs(model, ro)[0], response_logprobs(model, ro, batch_size=1, logit_chunk=3)[0]
        assert (a - b).abs().max() < 1e-4


def test_bad_sizes_fail_with_one_line(tiny):
    model, tok, ro = tiny
    for f in (response_logprobs, base_logprobs, base_scores, self_certainty):
        with pytest.raises(ValueError, match='logit_chunk must be a positive integer'): f(model, ro, logit_chunk=0)
        with pytest.raises(ValueError, match='batch_size must be a positive integer'): f(model, ro, batch_size=-1)
