"""Property tests for powerflow_nb.answers: the pass@k and maj@k estimators against brute-force enumeration of
k-subsets, and extraction invariants. Fast (no worker processes, no reasoning-gym import)."""
from itertools import combinations
from math import comb
import numpy as np
from hypothesis import given, settings, strategies as st
from powerflow_nb.answers import (extract_boxed, extract_last_number, majority_vote, maj_at_k, normalize_answer,
                                  pass_at_k, pass_at_k_curve)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_is_the_fraction_of_k_subsets_holding_a_correct_sample(nck):
    n, c, k = nck
    samples = [1] * c + [0] * (n - c)
    subsets = list(combinations(range(n), k))
    brute = sum(any(samples[i] for i in s) for s in subsets) / len(subsets)
    assert abs(pass_at_k(n, c, k) - brute) < 1e-12
    assert abs(pass_at_k(n, c, k) - (1 - comb(n - c, k) / comb(n, k))) < 1e-12


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 1), min_size=6, max_size=6), min_size=1, max_size=5))
def test_pass_curve_is_monotone_and_ends_at_any_correct(grid):
    curve = pass_at_k_curve(grid)
    means = [curve[k].mean for k in range(1, 7)]
    assert all(a <= b + 1e-12 for a, b in zip(means, means[1:]))
    assert abs(means[0] - np.mean(grid)) < 1e-12                          # pass@1 = avg
    assert abs(means[-1] - np.mean([any(r) for r in grid])) < 1e-12       # pass@n = any correct


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(['1', '2', '3', None]), min_size=1, max_size=8))
def test_majority_vote_picks_a_most_common_answer_first_seen(answers):
    win, i = majority_vote(answers)
    voted = [a for a in answers if a is not None]
    if not voted: assert (win, i) == (None, None); return
    counts = {a: voted.count(a) for a in voted}
    top = max(counts.values())
    assert counts[win] == top and answers[i] == win
    assert i == min(answers.index(a) for a in counts if counts[a] == top)   # the documented tie rule


def test_maj_draws_converge_to_exact_subset_average():
    answers, correct = ['6', '5', '5', '6', '7'], [0, 1, 1, 0, 0]
    exact = np.mean([correct[list(s)[majority_vote([answers[j] for j in s])[1]]]
                     for s in combinations(range(5), 3)])
    est = maj_at_k([answers], [correct], k=3, n_draws=5000, seed=0).mean
    assert abs(est - exact) < 0.03, (est, exact)


@settings(max_examples=80, deadline=None)
@given(st.recursive(st.text('abc123+', max_size=4), lambda inner: st.builds(lambda a, b: a + '{' + b + '}', inner, inner),
                    max_leaves=6))
def test_boxed_round_trip_of_balanced_content(content):
    # an empty box is no answer: the earlier \boxed{0} is read instead
    assert extract_boxed(r'noise \boxed{0} more \boxed{' + content + '} tail') == (content.strip() or '0')


@given(st.integers(-10**9, 10**9))
def test_last_number_and_normalisation_of_integers(x):
    assert extract_last_number(f'first 12, then {x}.') == str(x)
    assert normalize_answer(f'{x:,}') == normalize_answer(f'{x}.00') == str(x)


def test_tiny_checker_dispatches_to_the_real_tinylm():
    "The tiny task's marker and checker come from powerflow_nb.tinylm itself (imports torch: in the shared test process)."
    from powerflow_nb.answers import extract_answer, get_checker, sample_metrics, check_grid
    from powerflow_nb.tinylm import addition_problems, check_answer, extract_answer as tiny_extract
    rows = addition_problems(4, seed=0)
    right = [r['solution'] for r in rows]
    wrong = [r['solution'].rsplit('Answer:', 1)[0] + f"Answer: {int(r['answer']) + 1}" for r in rows]
    for text, r in zip(right + wrong, rows + rows):
        assert extract_answer(text, style='tiny') == tiny_extract(text)
        assert get_checker('tiny')(text, r['answer']) == float(check_answer(text, r['answer']))
    ck = check_grid('tiny', [[a, b] for a, b in zip(right, wrong)], [r['answer'] for r in rows])
    assert ck.correct.tolist() == [[1.0, 0.0]] * 4
    assert ck.answers[0] == [rows[0]['answer'], str(int(rows[0]['answer']) + 1)]
    m = sample_metrics(ck.correct, ck.answers)
    assert (m['avg'].mean, m['pass'][2].mean, m['maj'].mean) == (0.5, 1.0, 1.0)   # 1-1 tie: the first sample wins
