"""Property tests (hypothesis) of the α-power target and the exact toy: normalisation, α = 1 is the identity,
rankings kept, entropy falls as α rises, π* normalised with the sign of λ fixed by α, bad inputs rejected."""
import math
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

from powerflow_nb.target import check_alpha, power_logp, entropy, ranking_preserved
from powerflow_nb.toy import (ToyLM, enumerate_sequences, seq_logp, pi_star, kl, token_target_logp, expected_length,
                              inversion_rate)

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
alphas = st.floats(0.05, 50, allow_nan=False, allow_infinity=False)
# log-probabilities as unnormalised log-weights: some very negative, some exactly -inf (zero mass)
log_weights = st.lists(st.one_of(st.floats(-1e4, 0, allow_nan=False), st.just(-math.inf)), min_size=1, max_size=40
                       ).filter(lambda xs: any(x > -math.inf for x in xs)).map(lambda xs: torch.tensor(xs, dtype=torch.float64))


@SETTINGS
@given(log_weights, alphas)
def test_power_is_normalised(logw, alpha):
    lp = power_logp(logw, alpha)
    assert torch.isfinite(lp[torch.isfinite(logw)]).all()
    assert abs(torch.logsumexp(lp, 0).item()) < 1e-12
    assert (lp[logw == -math.inf] == -math.inf).all()          # zero mass stays zero


@SETTINGS
@given(log_weights)
def test_alpha_one_is_identity(logw):
    normalised = logw - torch.logsumexp(logw, 0)
    lp = power_logp(logw, 1.0)
    finite = torch.isfinite(normalised)
    assert torch.allclose(lp[finite], normalised[finite], atol=1e-12, rtol=0)


@SETTINGS
@given(log_weights, alphas)
def test_rankings_kept(logw, alpha):
    assert ranking_preserved(logw, power_logp(logw, alpha))


@SETTINGS
@given(log_weights, alphas, alphas)
def test_entropy_falls_as_alpha_rises(logw, a1, a2):
    lo, hi = sorted((a1, a2))
    assert entropy(power_logp(logw, hi)).item() <= entropy(power_logp(logw, lo)).item() + 1e-9


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 6), st.integers(0, 10_000), alphas)
def test_pi_star_normalised_and_lambda_sign(V, L, seed, alpha):
    """π* is normalised; λ = 0 at α = 1, and its sign is fixed by α: summing p_base^α over sequences gives
    Z_α < 1 for α > 1 (mass lost) and > 1 for α < 1, and -λ|y| must give it back, so λ < 0 for α > 1, λ > 0 for α < 1
    (whenever the base is not a point mass)."""
    model = ToyLM.random(V, L, seed=seed, concentration=0.5)
    seqs = enumerate_sequences(V, L)
    logp = seq_logp(model.log_probs(), seqs)
    logp_star, lam = pi_star(logp, seqs.lengths, alpha)
    assert abs(torch.logsumexp(logp_star, 0).item()) < 1e-10
    z_alpha = torch.logsumexp(alpha * logp, 0).item()                     # log Σ p_base^α
    if abs(z_alpha) > 1e-9: assert np.sign(lam) == np.sign(z_alpha)
    else: assert abs(lam) < 1e-6
    if logp.exp().max() < 1 - 1e-9:
        assert (lam < 0) == (alpha > 1) or abs(alpha - 1) < 1e-9
    # the fixed point is exactly the tilt of p_α: KL >= 0, zero at α = 1
    assert kl(logp_star, power_logp(logp, alpha)).item() >= -1e-12


@SETTINGS
@given(st.integers(1, 3), st.integers(2, 6), st.integers(0, 10_000), alphas)
def test_token_target_normalised(V, L, seed, alpha):
    model = ToyLM.random(V, L, seed=seed)
    seqs = enumerate_sequences(V, L)
    tok = token_target_logp(seq_logp(model.log_probs(), seqs), seqs.lengths, alpha)
    assert abs(torch.logsumexp(tok, 0).item()) < 1e-10
    assert 1 <= expected_length(tok, seqs.lengths).item() <= L + 1e-9


@SETTINGS
@given(st.lists(st.integers(0, 5), min_size=2, max_size=40), st.data())
def test_inversion_rate_matches_pair_count(a, data):
    b = data.draw(st.lists(st.integers(0, 5), min_size=len(a), max_size=len(a)))
    a, b = np.array(a, float), np.array(b, float)
    da, db = np.sign(a[:, None] - a[None]), np.sign(b[:, None] - b[None])
    iu = np.triu_indices(len(a), 1)
    comparable = ((da != 0) & (db != 0))[iu].sum()
    expected = (da * db < 0)[iu].sum() / comparable if comparable else 0.0
    assert abs(inversion_rate(torch.tensor(a), torch.tensor(b)) - expected) < 1e-12


@pytest.mark.parametrize('bad', [0, -1.0, float('nan'), float('inf'), -float('inf'), None, '2', True])
def test_bad_alpha_raises(bad):
    with pytest.raises(ValueError, match='alpha'): check_alpha(bad)
    with pytest.raises(ValueError, match='alpha'): power_logp(torch.zeros(3), bad)


@pytest.mark.parametrize('bad, msg', [([], 'empty'), ([-math.inf, -math.inf], '-inf everywhere'),
                                      ([0.0, math.nan], 'NaN'), ([0.0, math.inf], r'\+inf')])
def test_bad_support_raises(bad, msg):
    with pytest.raises(ValueError, match=msg): power_logp(torch.tensor(bad, dtype=torch.float64), 2.0)
    with pytest.raises(ValueError, match=msg): entropy(torch.tensor(bad, dtype=torch.float64))
