"""One inversion rate. `toy.inversion_rate` (O(N log N)) against a brute-force O(N^2) pair count for every variant
(unweighted or weighted pairs, one set or within groups pooled / averaged, ties dropped or counted half), its precision
when one weight dwarfs the others, and the three places that report an inversion rate (the toy's π* table and
`powerflow toy-demo`, the toy lab's `inversion` metric, the references' inversion study) giving the same number for
the same variant on the same inputs."""
import math
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from powerflow_nb.toy import inversion_counts, inversion_rate

torch.set_num_threads(1)


def brute(a, b, weights=None, groups=None, ties='drop', average='pooled'):
    "The definition, pair by pair: discordant / comparable pairs i < j of the same group, each weighted w_i*w_j."
    n = len(a)
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    g = [0] * n if groups is None else list(groups)
    d, c = {}, {}
    for i in range(n):
        for j in range(i + 1, n):
            if g[i] != g[j]: continue
            s = np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
            pw = w[i] * w[j]
            if s != 0: d.setdefault(g[i], []).append(pw if s < 0 else 0.0); c.setdefault(g[i], []).append(pw)
            elif ties == 'half': d.setdefault(g[i], []).append(pw / 2); c.setdefault(g[i], []).append(pw)
    D = {k: math.fsum(v) for k, v in d.items()}; C = {k: math.fsum(v) for k, v in c.items()}
    keep = [k for k in C if C[k] > 0]
    if not keep: return 0.0
    if average == 'pooled': return math.fsum(D[k] for k in keep) / math.fsum(C[k] for k in keep)
    return float(np.mean([D[k] / C[k] for k in keep]))


@st.composite
def cases(draw):
    n = draw(st.integers(0, 24))
    ints = st.lists(st.integers(0, 4), min_size=n, max_size=n)     # few values: many ties in a, in b, in both
    a, b = np.array(draw(ints), float), np.array(draw(ints), float)
    w = draw(st.none() | st.lists(st.floats(0, 3), min_size=n, max_size=n).map(np.array))
    g = draw(st.none() | st.lists(st.integers(0, 3), min_size=n, max_size=n).map(np.array))
    return a, b, w, g, draw(st.sampled_from(['drop', 'half'])), draw(st.sampled_from(['pooled', 'mean']))


@settings(max_examples=300, deadline=None)
@given(cases())
def test_fast_matches_brute_force_for_every_variant(case):
    a, b, w, g, ties, average = case
    fast = inversion_rate(a, b, weights=w, groups=g, ties=ties, average=average)
    assert abs(fast - brute(a, b, w, g, ties, average)) < 1e-12
    assert 0.0 <= fast <= 1.0
    assert inversion_rate(b, a, weights=w, groups=g, ties=ties, average=average) == pytest.approx(fast, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(cases())
def test_counts_are_per_group_and_sum_to_the_pooled_rate(case):
    a, b, w, g, ties, _ = case
    d, c = inversion_counts(a, b, weights=w, groups=g, ties=ties)
    assert len(d) == len(c) == (len(np.unique(g)) if g is not None else 1)
    assert (d >= 0).all() and (d <= c + 1e-12).all()
    pooled = d.sum() / c.sum() if c.sum() > 0 else 0.0
    assert abs(pooled - inversion_rate(a, b, weights=w, groups=g, ties=ties)) < 1e-12


@pytest.mark.parametrize('eps', [1e-6, 1e-10, 1e-14])
def test_weighted_rate_keeps_precision_next_to_a_dominant_weight(eps):
    "A nearly deterministic policy: one sequence holds 1 - eps, the rest share eps. No total may be subtracted."
    rng = np.random.default_rng(0)
    n = 120
    a = rng.normal(size=n); b = a + 0.5 * rng.normal(size=n)
    w = np.full(n, eps / (n - 1)); w[0] = 1 - eps
    assert inversion_rate(a, b, weights=w) == pytest.approx(brute(a, b, w), rel=1e-9)


def test_named_variants_and_errors():
    a, b = np.array([1., 2., 3., 3.]), np.array([3., 2., 1., 0.])
    assert inversion_rate(a, b) == 1.0                           # 5 comparable pairs (3-3 tied in a), all discordant
    assert inversion_rate(a, b, ties='half') == pytest.approx((5 + 0.5) / 6)
    assert inversion_rate(a, a) == 0.0 and inversion_rate([1., 1.], [2., 3.]) == 0.0   # nothing comparable: 0
    g = np.array(['p', 'p', 'q', 'q'])
    assert inversion_rate(a, b, groups=g) == 1.0 and inversion_counts(a, b, groups=g)[1].tolist() == [1.0, 0.0]
    for kw, msg in [(dict(ties='random'), 'ties'), (dict(average='median'), 'average'), (dict(weights=[1., -1., 1., 1.]), 'weights'),
                    (dict(groups=[0, 1]), 'groups'), (dict(weights=[1., float('nan'), 1., 1.]), 'weights')]:
        with pytest.raises(ValueError, match=msg): inversion_rate(a, b, **kw)
    with pytest.raises(ValueError, match='NaN'): inversion_rate([1., float('nan')], [1., 2.])


def test_the_three_reports_agree_on_the_same_variant():
    from powerflow_nb.toy import ToyLM, ToyWorld
    from powerflow_nb.lab import ToyTask
    from powerflow_nb.references import inversion_summary
    base, alpha = ToyLM.random(3, 6, seed=2), 4.0
    toy, lab = ToyWorld(base), ToyTask(base, alpha)
    a, logp_star = alpha * toy.logp_base, toy.at(alpha)['pi_star']['logp']
    # pairs weighted by π*(y)π*(y'): the toy's π* table and the lab's metric of π*
    weighted = toy.star_inversion_rate(alpha, weighted=True)
    assert weighted == pytest.approx(lab.metrics(lab.logp_pi_star)['inversion'], abs=1e-12)
    assert weighted == pytest.approx(brute(a.numpy(), logp_star.numpy(), logp_star.exp().numpy()), abs=1e-12)
    # unweighted pairs: the toy's table / toy-demo, and the references' summary with every sequence as the distinct
    # samples of one prompt
    unweighted = toy.star_inversion_rate(alpha)
    summary = inversion_summary(a.numpy(), logp_star.numpy(), groups=np.zeros(len(a), int))
    assert unweighted == pytest.approx(summary['ir'], abs=1e-12) and summary['ir'] == summary['ir_mean_over_groups']
    assert unweighted == pytest.approx(brute(a.numpy(), logp_star.numpy()), abs=1e-12)
    assert abs(weighted - unweighted) > 0.01                     # the variants differ: which one is reported matters
    # several prompts: pooled and per-prompt mean, as the references report them
    rng = np.random.default_rng(3)
    g = rng.integers(0, 5, len(a))
    s = inversion_summary(a.numpy(), logp_star.numpy(), groups=g)
    assert s['ir'] == pytest.approx(brute(a.numpy(), logp_star.numpy(), groups=g), abs=1e-12)
    assert s['ir_mean_over_groups'] == pytest.approx(brute(a.numpy(), logp_star.numpy(), groups=g, average='mean'), abs=1e-12)
    assert s['comparable_pairs'] == sum(1 for i in range(len(a)) for j in range(i + 1, len(a)) if g[i] == g[j]
                                        and a[i] != a[j] and logp_star[i] != logp_star[j])
