"""The format penalty ψ and the grader's boxed-answer extraction decide "has a boxed answer" with one parser:
ψ(text) = -0.5 exactly when `extract_boxed(text)` is None. Tricky inputs where the two used to disagree, and a
property test over random strings built from the characters that matter."""
import pytest
from hypothesis import given, settings, strategies as st
from powerflow_nb.objectives import FORMAT_PENALTIES, boxed_format_penalty
from powerflow_nb.answers import extract_answer, extract_boxed


def psi(text): return float(FORMAT_PENALTIES['boxed']([text])[0])


# (response, the boxed answer that grading reads, or None)
TRICKY = [
    (r'the answer is \fbox{5}', '5'),                  # \fbox: ψ used to see no box, grading read 5
    (r'\boxed{}', None),                               # empty box: grading used to read '' (an answer), ψ penalised
    (r'\boxed{   }', None),
    (r'\fbox{}', None),
    (r'\boxed{a\{b}', r'a\{b'),                        # escaped brace inside: ψ used to count it and never close the box
    (r'\boxed{\{}', r'\{'),
    (r'\boxed{x\}', None),                             # an escaped brace does not close the box: ψ used to see one
    (r'so \boxed{5}, and later \boxed{}', '5'),        # an empty last box does not erase an earlier answer
    (r'\boxed{7} then a truncated \boxed{8', '7'),     # an unclosed box (cut response) is skipped
    (r'\boxed{12', None),
    (r'\boxed{\frac{1}{2}}', r'\frac{1}{2}'),          # nested braces
    (r'\boxed{\{1, 2\}}', r'\{1, 2\}'),                # a set: escaped braces inside
    (r'\boxed {7}', '7'),                              # space before the brace
    (r'\boxed{a} or \boxed{b}', 'b'),                  # the last box wins
    (r'\boxed 5', None),                               # no brace group: not a boxed answer
    (r'\boxed{\\}', r'\\'),
    ('no box here 12', None),
]


@pytest.mark.parametrize('text,answer', TRICKY)
def test_psi_and_extraction_agree_on_tricky_inputs(text, answer):
    assert extract_boxed(text) == answer
    assert psi(text) == (-0.5 if answer is None else 0.0)


def test_auto_extraction_falls_back_when_the_box_is_empty():
    "An empty box is no answer: 'auto' goes on to the <answer> tag / last number, like for a response without a box."
    assert extract_answer(r'x = 41 + 1 = 42. \boxed{}', 'auto') == '42'


PIECES = [r'\boxed', r'\fbox', '{', '}', r'\{', r'\}', '\\', '\\\\', ' ', 'x', '7', r'\frac', '$', 'boxed']


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map(''.join))
def test_psi_is_minus_half_iff_no_boxed_answer(text):
    ans = extract_boxed(text)
    assert (psi(text) == -0.5) == (ans is None)
    assert ans is None or (ans and ans == ans.strip())     # an answer is never empty and comes stripped


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=10).map(''.join), min_size=1, max_size=6))
def test_batched_psi_matches_extraction(texts):
    assert boxed_format_penalty(texts, penalty=-0.5).tolist() == [-0.5 if extract_boxed(t) is None else 0.0 for t in texts]
