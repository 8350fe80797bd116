"Power sampling's kernel is exactly p_base^alpha-invariant across alpha, block size and proposal temperature; sampler invariants."
import json
import numpy as np
import pytest
import torch
from powerflow_nb.references import (enumerable_lm, enumerate_responses, token_logps_at, exact_mh_kernel, power_chains,
                                     power_sample, low_temperature_sample, references_main, tv)

torch.set_num_threads(1)


def _exact(alpha, T, V=2, L=4, seed=1):
    model, tok = enumerable_lm(V, seed=seed)
    ys = enumerate_responses(V, L)
    lp, lq = token_logps_at(model, [[0]] * len(ys), ys, T, pad_id=V)
    logp = np.array([x.sum() for x in lp])
    p_alpha = np.exp(alpha * logp - np.logaddexp.reduce(alpha * logp))
    return model, tok, ys, lp, lq, p_alpha, np.exp([x.sum() for x in lq])


@pytest.mark.parametrize('alpha,block,T', [(4.0, 3, 0.25), (0.5, 1, 2.0), (3.0, 2, 0.7)])
def test_kernel_leaves_p_alpha_invariant(alpha, block, T):
    "Any alpha (sharpening or flattening), any block size, any proposal temperature: p_alpha K = p_alpha, K stochastic."
    *_, ys, lp, lq, p_alpha, q = _exact(alpha, T)
    K = exact_mh_kernel(lp, lq, ys, alpha, block)
    np.testing.assert_allclose(K.sum(1), 1, atol=1e-12)
    assert (K >= -1e-15).all()
    np.testing.assert_allclose(p_alpha @ K, p_alpha, atol=1e-12)
    mu = q.copy()                              # started from the proposal, the chain approaches p_alpha
    for _ in range(60): mu = mu @ K
    assert tv(mu, p_alpha) < tv(q, p_alpha) and tv(mu, p_alpha) < 0.05


def test_chains_respect_budget_and_eos():
    "Every state is a response within the budget: ends with EOS (finished) or has exactly max_new_tokens tokens (cut)."
    model, tok = enumerable_lm(2, seed=1)
    resp, fin, stats, trace = power_chains(model, tok, [[0]] * 300, 4.0, 3, steps=4, block_size=1, seed=3)
    for r, f in zip(resp, fin):
        assert 1 <= len(r) <= 3 and (2 in r) == f
        if f: assert r.index(2) == len(r) - 1
        else: assert len(r) == 3
    assert 0 < stats['accept_rate'] <= 1 and len(trace) == 5
    assert stats['tokens_generated_per_sample'] >= stats['mean_length']


def test_low_temperature_is_sample_grid_at_inverse_alpha():
    from powerflow_nb.rollout import toy_lm
    from powerflow_nb.eval import sample_grid
    m, tok = toy_lm(seed=0)
    a = low_temperature_sample(m, tok, ['1+1=', '2+3='], 4.0, k=3, max_new_tokens=8, seed=5)
    b = sample_grid(m, tok, ['1+1=', '2+3='], 3, 0.25, 1.0, 8, 5)
    assert a[0] == b[0] and (a[1] == b[1]).all() and (a[2] == b[2]).all()
    c = sample_grid(m, tok, ['1+1=', '2+3='], 3, 1.0, 1.0, 8, 5)
    assert a[0] != c[0]


@pytest.mark.slow
def test_references_cli_smoke(tmp_path):
    out = tmp_path/'r.json'
    assert references_main(['sample', '--n-problems', '4', '--k', '2', '--sweeps', '0.4', '--out', str(out)]) == 0
    d = json.loads(out.read_text())
    assert {'base', 'low_temperature', 'power_sampling', 'command'} <= set(d)
    assert 0 <= d['power_sampling']['avg@2'] <= 1 and d['power_sampling']['steps'] == 2
