"Property checks of the model-free creativity metrics (powerflow_nb.creativity); no model is loaded here."
import math
from hypothesis import given, settings, strategies as st
import pytest
from powerflow_nb.creativity import distinct_n, self_bleu, frontier, load_prompts, quality_score, repetition, words, KINDS

word = st.sampled_from(['a', 'b', 'c', 'cat', 'moon', '.', 'the'])
text = st.lists(word, min_size=0, max_size=12).map(' '.join)
texts = st.lists(text, min_size=2, max_size=5)
pt = st.tuples(st.floats(0, 100), st.floats(0, 100))


@settings(max_examples=60, deadline=None)
@given(texts, st.integers(1, 4))
def test_distinct_in_unit_interval_and_order_free(ts, n):
    d = distinct_n(ts, n)
    assert 0 <= d <= 1
    assert d == distinct_n(list(reversed(ts)), n)


@settings(max_examples=40, deadline=None)
@given(texts)
def test_self_bleu_bounds_and_copies(ts):
    assert 0 <= self_bleu(ts) <= 100 + 1e-9
    # copies score 100 once a text has >= 4 words (BLEU-4 of a shorter text has no 4-gram to match)
    if len(words(ts[0])) >= 4: assert math.isclose(self_bleu([ts[0]] * 3), 100)


@settings(max_examples=80, deadline=None)
@given(st.lists(pt, min_size=1, max_size=6), pt)
def test_frontier_matches_brute_force(temps, m):
    T = [dict(temperature=0.5 + i / 10, diversity=d, quality=q) for i, (d, q) in enumerate(temps)]
    res = frontier(T + [dict(method='m', diversity=m[0], quality=m[1])])
    reached = any(t['diversity'] >= m[0] and t['quality'] >= m[1] for t in T)
    assert res['points'][0]['beyond_frontier'] == (not reached)
    for t in T:  # every temperature point is reached by itself, never beyond
        assert not frontier(T + [dict(method='t', diversity=t['diversity'], quality=t['quality'])])['points'][0]['beyond_frontier']
    # Pareto points are mutually non-dominated
    P = res['pareto']
    assert all(not (a['diversity'] >= b['diversity'] and a['quality'] >= b['quality'] and a is not b and
                    (a['diversity'], a['quality']) != (b['diversity'], b['quality'])) for a in P for b in P)


def test_shipped_prompts_are_valid_and_one_line():
    rows = load_prompts()
    assert len(rows) == 60 and {r['kind'] for r in rows} == set(KINDS)
    assert len({r['prompt'] for r in rows}) == 60  # no duplicate prompt text


def test_quality_components():
    assert quality_score(0, 0, 0) == 0 and quality_score(1, 1, 0) == 100 and quality_score(1, 1, 1) == 0
    assert repetition('a b c d a b c d') == pytest.approx(1 - 4 / 5)
