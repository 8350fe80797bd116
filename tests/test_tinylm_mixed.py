"The second tiny base model (data/tinylm_mixed): solution styles of different lengths, the short one less accurate."
import hashlib, json, random
import pytest, torch
from powerflow_nb.tinylm import (SOLUTION_STYLES, TINYLM_MIXED_DIR, addition_problems, check_answer, evaluate_tinylm,
                                 load_tinylm, parse_mix, pretrain_main, response_style, solution_text, style_stats,
                                 worked_solution)


def test_default_pretraining_data_unchanged():
    "Without a mixture, the 600 pretraining batches of data/tinylm are exactly those it was trained on."
    batches = [addition_problems(32, seed=f'pretrain-0-{s}') for s in range(600)]
    h = hashlib.sha256(json.dumps(batches).encode()).hexdigest()
    assert h == '8cd2434adbdf026fa3349b06c2d3aba0d4d4c1d62f1c22f444f8ec024bd46c2f'


@pytest.mark.parametrize('mix', ['worked_swap=0.5,direct=0.5', 'worked=0.6,direct=0.4', 'worked=1,partial=1,direct=2'])
def test_mixture_proportions(mix):
    "The generator draws every style at its requested rate, on the same problems as the unmixed set."
    rows = addition_problems(6000, seed=3, mix=mix)
    want = parse_mix(mix)
    for s in SOLUTION_STYLES:
        got = sum(r['style'] == s for r in rows) / len(rows)
        assert abs(got - want.get(s, 0.0)) < 0.025, (s, got, want)
    plain = addition_problems(6000, seed=3)
    assert [(r['prompt'], r['answer']) for r in rows] == [(r['prompt'], r['answer']) for r in plain]
    for r in rows:   # every style is graded by the same checker and recognised from its text
        assert check_answer(r['solution'], r['answer'])
        assert response_style(r['solution'], r['prompt']) == r['style'].split('_')[0] or \
            (r['style'] == 'partial' and response_style(r['solution'], r['prompt']) == 'direct')  # 1-column partial


def test_swap_keeps_length_and_answer():
    for a, b in [(345, 78), (99999, 1), (7, 8), (12345, 67890)]:
        w = worked_solution(a, b)
        outs = {solution_text(a, b, 'worked_swap', random.Random(i)) for i in range(400)}
        assert all(len(o) == len(w) and check_answer(o, a + b) for o in outs)
        assert len(outs) == 2 ** sum(l[0] != l[2] for l in w.split('\n')[:-1])   # a coin per line with distinct digits


def test_bad_mix_is_one_line_cli_error(capsys):
    assert pretrain_main(['--mix', 'worked=1,long=1', '--out', '/nonexistent']) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith('powerflow pretrain-tiny: error: --mix: unknown style') and 'Traceback' not in err


@pytest.fixture(scope='module')
def mixed():
    torch.set_num_threads(1)
    return load_tinylm(TINYLM_MIXED_DIR)


def test_shipped_mixed_model_loads(mixed):
    model, tok = mixed
    assert type(model).__name__ == 'LlamaForCausalLM'
    assert sum(p.numel() for p in model.parameters()) == 1_790_400
    card = (TINYLM_MIXED_DIR/'README.md').read_text()
    stats = json.loads((TINYLM_MIXED_DIR/'train_stats.json').read_text())
    assert stats['mix'] and f"{stats['steps']} steps" in card and '--mix' in card


def test_shipped_mixed_model_uses_both_styles(mixed):
    "At temperature 1 on held-out problems the model writes both styles, and the short one is less accurate."
    model, tok = mixed
    held = addition_problems(120, seed=10**9)
    acc, outs = evaluate_tinylm(model, tok, held, temperature=1.0, seed=0)
    st = style_stats(held, outs)
    assert 0.15 < st['worked']['frequency'] < 0.85 and 0.15 < st['direct']['frequency'] < 0.85, st
    assert st['direct']['mean_length'] * 2.5 < st['worked']['mean_length'], st
    assert st['worked']['accuracy'] > st['direct']['accuracy'] + 0.2, st
    card = json.loads((TINYLM_MIXED_DIR/'train_stats.json').read_text())['styles']['t1']
    for s in ('worked', 'direct'):   # agrees with the model card (500 problems) within sampling error
        assert abs(st[s]['frequency'] - card[s]['frequency']) < 0.15, (s, st[s], card[s])


def test_bad_steps_is_one_line_cli_error(capsys):
    assert pretrain_main(['--steps', '0', '--out', '/nonexistent']) == 2 and capsys.readouterr().err.strip().splitlines()[-1].endswith('--steps must be >= 1, got 0')
