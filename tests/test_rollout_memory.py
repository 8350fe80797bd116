"""Scoring memory is bounded by the chunk, not by the rollout (rows x response tokens).

How it is measured: a subprocess (this file run as a script) builds a randomly initialised Llama with Qwen2.5's
151 936-token vocabulary and a tiny hidden size (32), so that full-vocabulary logits are the only large tensors, and
scores rollouts of random tokens. For each measurement it resets Linux's peak-RSS counter (writing 5 to
/proc/self/clear_refs sets VmHWM to the current RSS) and reads VmHWM - VmRSS after scoring: the peak extra memory
touched. glibc's malloc is told to serve every block above 64 KiB with mmap (MALLOC_MMAP_THRESHOLD_), which also
returns it to the system when freed; otherwise freed heap memory is reused without showing in the peak, and the
dynamic mmap threshold makes that depend on earlier allocations. torch does not cache CPU memory. Checked with plain
tensors: allocating 2 x N MiB shows a peak of 2 x N MiB to 0.1 MiB. Where /proc/self/clear_refs is not writable,
each measurement runs in a fresh process instead (the peak then starts at that process's high-water mark).

What must hold (no grad, and forward + backward):
- batch_size=4, logit_chunk=16: the peak stays flat when the rollout grows 4x in rows or in response tokens;
- it grows with the chunk (logit_chunk=64 vs 16);
- the unchunked path (logit_chunk=None, all rows at once) grows with rows and with tokens, so the test can fail."""
import json, os, subprocess, sys
from pathlib import Path
import pytest

V, D = 151_936, 32
BS, CHUNK = 4, 16
#        name                  rows  tokens  batch_size  logit_chunk  grad
CASES = [('chunked',             8,   64,    BS,   CHUNK, False),
         ('chunked, 4x rows',   32,   64,    BS,   CHUNK, False),
         ('chunked, 4x tokens',  8,  256,    BS,   CHUNK, False),
         ('chunk 64',            8,   64,    BS,      64, False),
         ('unchunked',           4,   64,  None,    None, False),
         ('unchunked, 2x rows',  8,   64,  None,    None, False),
         ('unchunked, 2x tokens', 4, 128,  None,    None, False),
         ('grad chunked',        8,   64,    BS,   CHUNK, True),
         ('grad chunked, 4x rows', 32, 64,   BS,   CHUNK, True),
         ('grad unchunked',      4,   64,  None,    None, True),
         ('grad unchunked, 2x rows', 8, 64, None,   None, True)]


def _kib(key):
    for line in open('/proc/self/status'):
        if line.startswith(key): return int(line.split()[1])


def _measure(cases):
    "Run in the subprocess: peak extra MiB of each case"
    import gc, torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from powerflow_nb.rollout import Rollout, response_logprobs, base_logprobs
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=V, hidden_size=D, intermediate_size=2 * D, num_hidden_layers=1, num_attention_heads=2,
                      num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg).float()
    g = torch.Generator().manual_seed(1)
    def rollout(n, t):
        return Rollout([''] * n, torch.arange(n), [torch.randint(V, (8,), generator=g).tolist() for _ in range(n)],
                       [torch.randint(V, (t,), generator=g).tolist() for _ in range(n)], [''] * n,
                       torch.full((n,), t), torch.zeros(n, dtype=torch.bool))
    def score(n, t, bs, ch, grad):
        ro = rollout(n, t)
        if grad:
            model.zero_grad(set_to_none=True)
            response_logprobs(model, ro, batch_size=bs, logit_chunk=ch)[0].sum().backward()
        else: base_logprobs(model, ro, batch_size=bs, logit_chunk=ch)
    score(2, 8, None, None, True)   # warm-up: lazy initialisations, gradient buffers
    out = {}
    for name, n, t, bs, ch, grad in cases:
        model.zero_grad(set_to_none=False)   # the parameter gradients exist before the measurement
        gc.collect()
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        base = _kib('VmRSS')
        score(n, t, bs, ch, grad)
        out[name] = (_kib('VmHWM') - base) / 1024
    return out


def _run(cases):
    env = {**os.environ, 'MALLOC_MMAP_THRESHOLD_': '65536', 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
           'PYTHONPATH': str(Path(__file__).resolve().parents[1])}
    r = subprocess.run([sys.executable, __file__, json.dumps(cases)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _clear_refs_works():
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except OSError: return False


def test_scoring_memory_is_bounded_by_the_chunk():
    if not Path('/proc/self/status').exists(): pytest.skip('needs Linux /proc')
    if _clear_refs_works(): peak = _run(CASES)
    else:
        peak = {}
        for c in CASES: peak.update(_run([c]))
    unit = BS * CHUNK * V * 4 / 2**20   # MiB of one fp32 (batch_size, logit_chunk, vocab) logits block
    print(f'\none fp32 logits block of {BS} rows x {CHUNK} positions x {V} = {unit:.0f} MiB')
    for name, n, t, bs, ch, grad in CASES:
        full = n * t * V * 4 / 2**20
        print(f'{name:>24}: {n:3d} rows x {t:3d} tokens (all logits {full:5.0f} MiB) -> peak +{peak[name]:6.0f} MiB')
    for mode in ('', 'grad '):
        c = peak[mode + 'chunked']
        assert c < 6 * unit, 'chunked scoring holds a few logits blocks at most'
        assert peak[mode + 'chunked, 4x rows'] < 1.25 * c + 10, f'{mode}chunked peak grows with the rows'
        u, u2 = peak[mode + 'unchunked'], peak[mode + 'unchunked, 2x rows']
        assert u2 > 1.6 * u, f'{mode}unchunked peak should grow with the rows'
        assert u > 2 * c
    assert peak['chunked, 4x tokens'] < 1.25 * peak['chunked'] + 10, 'chunked peak grows with the response length'
    assert peak['chunk 64'] > 2.5 * peak['chunked'], 'the peak should grow with the chunk'
    assert peak['unchunked, 2x tokens'] > 1.6 * peak['unchunked']


if __name__ == '__main__':
    print(json.dumps(_measure(json.loads(sys.argv[1]))))
