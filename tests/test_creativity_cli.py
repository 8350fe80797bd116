"""`powerflow creativity-sweep` and `powerflow creativity-eval`: input checks (no model is loaded: every such case fails
before that), the per-knob frontier and margins on made-up points, and a smoke run of the sweep on the real SmolLM2
at toy sizes (about a minute on one thread)."""
import json, math
import numpy as np
import pytest
from powerflow_nb.creativity import (creativity_eval_main, creativity_sweep_main, load_policy, check_decoding, sample_responses,
                                     frontier, chord_margin, bootstrap_margins, group_means, verdict, knob_of, decoding,
                                     read_knob_results, knob_points, knob_verdicts, pick_prompts, KNOBS_DIR, KNOBS_PER_KIND,
                                     load_prompts, setting_name)


def test_eval_needs_label_and_run_dir(capsys):
    assert creativity_eval_main(['runs/creative_powerflow']) == 2 and 'LABEL=RUN_DIR' in capsys.readouterr().err


def test_eval_refuses_unfinished_run(tmp_path, capsys):
    (tmp_path/'checkpoints').mkdir()  # a run folder without final/: training did not finish
    assert creativity_eval_main([f'pf={tmp_path}']) == 2 and 'no final/ model' in capsys.readouterr().err


def test_eval_needs_something_to_evaluate(capsys):
    assert creativity_eval_main(['--no-base']) == 2 and 'nothing to evaluate' in capsys.readouterr().err


def test_load_policy_names_the_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match='training finished'): load_policy(tmp_path)


# --- top_p / min_p validation

@pytest.mark.parametrize('kw,msg', [(dict(top_p=0), 'top_p must lie in (0, 1]'), (dict(top_p=1.01), 'top_p must lie in (0, 1]'),
                                    (dict(top_p=-0.5), 'top_p'), (dict(top_p=float('nan')), 'top_p'),
                                    (dict(min_p=1.0), 'min_p must lie in [0, 1)'), (dict(min_p=-0.01), 'min_p'),
                                    (dict(min_p=True), 'min_p'), (dict(temperature=0), 'temperature must be > 0')])
def test_check_decoding_refuses(kw, msg):
    with pytest.raises(ValueError) as e: check_decoding(**kw)
    assert msg in str(e.value)


@pytest.mark.parametrize('kw', [dict(), dict(top_p=1.0), dict(top_p=1e-9), dict(min_p=0.0), dict(min_p=0.999), dict(temperature=1.5, min_p=0.1)])
def test_check_decoding_accepts(kw):
    check_decoding(**kw)


def test_sample_responses_validates_before_the_model():
    for kw in (dict(top_p=0.0), dict(min_p=1.5)):  # model None: a check after any model call would raise AttributeError
        with pytest.raises(ValueError): sample_responses(None, None, [], 1.0, **kw)


@pytest.mark.parametrize('argv,msg', [
    (['--knob', 'top_p', '--values', '0.9', '1.2'], 'top_p must lie in (0, 1], got 1.2.'),
    (['--knob', 'top_p', '--values', '0'], 'top_p must lie in (0, 1], got 0.0.'),
    (['--knob', 'min_p', '--values', '0.05', '1'], 'min_p must lie in [0, 1), got 1.0.'),
    (['--knob', 'min_p', '--temperature', '0'], 'temperature must be > 0'),
    (['--knob', 'temperature', '--values', '1', '-1'], 'temperature must be > 0'),
    (['--temperature', '1.5'], 'no fixed temperature'),
    (['--knob', 'top_k'], "invalid choice: 'top_k'"),
    (['--knob', 'min_p', '--values', '0.1', '0.1'], 'the values repeat'),
    (['--knob', 'min_p', '--temperatures', '1'], 'give one of the two'),
    (['--knob', 'top_p', '--k', '1'], 'k must be >= 2'),
])
def test_sweep_cli_refuses_in_one_line(argv, msg, capsys, tmp_path):
    assert creativity_sweep_main(argv + ['--out', str(tmp_path/'s.json')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('powerflow creativity-sweep: error: ') and msg in err and err.count('\n') == 1, err
    assert not (tmp_path/'s.json').exists()


def test_decoding_pairs_truncation_with_the_sweep_temperature():
    assert decoding('top_p', 0.9) == dict(temperature=1.5, top_p=0.9, min_p=0.0)
    assert decoding('min_p', 0.05, temperature=2.0) == dict(temperature=2.0, top_p=1.0, min_p=0.05)
    assert decoding('temperature', 1.2) == dict(temperature=1.2, top_p=1.0, min_p=0.0)
    assert [setting_name(k, v) for k, v in [('temperature', 1.0), ('top_p', 0.95), ('min_p', 0.0)]] == ['T=1', 'top_p=0.95', 'min_p=0']


# --- the frontier and margins of any knob, on made-up points

TEMPS = [dict(temperature=t, diversity=d, quality=q) for t, d, q in [(0.6, 10, 80), (1.0, 20, 70), (1.2, 30, 50)]]
TOP_P = [dict(knob='top_p', top_p=v, temperature=1.5, diversity=d, quality=q) for v, d, q in [(0.5, 12, 60), (0.9, 22, 58), (1.0, 32, 40)]]
MIN_P = [dict(knob='min_p', min_p=v, temperature=1.5, diversity=d, quality=q) for v, d, q in [(0.2, 15, 85), (0.05, 25, 75), (0.0, 35, 45)]]
METHOD = dict(method='m', diversity=21, quality=65)


def test_frontier_per_knob():
    pts = TEMPS + TOP_P + MIN_P + [METHOD]
    assert [knob_of(p) for p in (TEMPS[0], TOP_P[0], MIN_P[0], METHOD)] == ['temperature', 'top_p', 'min_p', None]
    # (21, 65): under T=1.0's (20, 70)? no, T=1.0 has less diversity; T=1.2 has less quality: beyond the temperature frontier
    got = {k: frontier(pts, knob=k)['points'][0]['beyond_frontier'] for k in ('temperature', 'top_p', 'min_p')}
    assert got == {'temperature': True, 'top_p': True, 'min_p': False}
    assert frontier(pts, knob='min_p')['points'][0]['dominated_by'] == [0.05]
    assert [p['top_p'] for p in frontier(pts, knob='top_p')['pareto']] == [0.5, 0.9, 1.0]
    assert len(frontier(pts, knob='temperature')['points']) == 1     # other knobs' points are neither sweep nor method
    with pytest.raises(ValueError, match='at least one min_p point'): frontier(TEMPS + [METHOD], knob='min_p')


def test_chord_margin_per_knob():
    # top-p chord between (12, 60) and (22, 58) at diversity 21: 60 - 0.2 * 9 = 58.2
    assert chord_margin(TOP_P, METHOD) == pytest.approx(65 - 58.2)
    # min-p chord between (15, 85) and (25, 75) at 21: 79
    assert chord_margin(MIN_P, METHOD) == pytest.approx(65 - 79)
    assert math.isnan(chord_margin(TOP_P, dict(diversity=40, quality=1)))


def _table(rows, n=16, seed=0):
    rng = np.random.default_rng(seed)
    return {name: {f'p{i}': (q + sd * rng.standard_normal(), d) for i in range(n)} for name, (d, q, sd) in rows.items()}


def test_bootstrap_margins_and_verdicts():
    tab = _table({'a': (10, 90, 0.3), 'b': (30, 70, 0.3), 'c': (50, 30, 0.3),          # the sweep
                  'above': (20, 86, 1.0), 'under': (40, 44, 1.0), 'wide': (20, 80, 25.0), 'far': (60, 20, 1.0)})
    bm = bootstrap_margins(tab, ['a', 'b', 'c'], n_boot=400)
    assert {st: verdict(m['margin'], m['lo'], m['hi']) for st, m in bm.items()} == \
        {'above': 'beyond', 'under': 'below', 'wide': 'on', 'far': 'outside'}
    assert bm['above']['margin'] == pytest.approx(6, abs=1) and bm['under']['margin'] == pytest.approx(-6, abs=1)
    assert bm['above']['lo'] <= bm['above']['margin'] <= bm['above']['hi']
    assert bm['far']['outside'] == 1.0 and bm['above']['outside'] == 0.0


def test_group_means_average_seeds_per_prompt():
    tab = _table({'s': (10, 50, 0.0), 'seed0': (20, 40, 0.0), 'seed1': (30, 60, 0.0)})
    g = group_means(tab, {'mean': ['seed0', 'seed1']})
    assert g['mean']['p3'] == pytest.approx((50.0, 25.0))
    with pytest.raises(ValueError, match='no samples of'): group_means(tab, {'mean': ['seed0', 'seed9']})
    with pytest.raises(ValueError, match='name of a setting'): group_means(tab, {'s': ['seed0']})


def test_verdict_words():
    assert [verdict(*x) for x in [(2, 0.1, 4), (-2, -4, -0.1), (0.5, -1, 2), (0, 0, 0), (float('nan'),) * 3]] == \
        ['beyond', 'below', 'on', 'on', 'outside']


def test_knob_split_is_disjoint_from_its_training_prompts():
    train = {r['id'] for r in load_prompts(KNOBS_DIR/'train_prompts.jsonl')}
    held = {p['id'] for p in pick_prompts(KNOBS_PER_KIND)}
    assert len(held) == 24 and len(train) == 36 and not (train & held)
    assert train | held == {r['id'] for r in load_prompts()}


# --- smoke: the sweep CLI on the real SmolLM2, toy sizes

def test_sweep_cli_smoke(tmp_path, capsys):
    "Every knob, 2 values, 1 prompt per kind, k=2, 8 new tokens; then a rerun that has nothing left to do (success: None)."
    tiny = ['--per-kind', '1', '--k', '2', '--max-new-tokens', '8', '--threads', '1']
    grids = {'temperature': (['0.8', '1.2'], []), 'top_p': (['0.5', '1'], []), 'min_p': (['0', '0.1'], ['--temperature', '1.5'])}
    for knob, (values, extra) in grids.items():
        assert creativity_sweep_main(['--knob', knob, '--values', *values, *extra, *tiny, '--out', str(tmp_path/f'{knob}_sweep.json')]) in (None, 0)
    for knob, (values, _) in grids.items():
        res = json.loads((tmp_path/f'{knob}_sweep.json').read_text())
        c = res['config']
        assert (c['knob'], c['values'], c['k'], c['max_new_tokens']) == (knob, [float(v) for v in values], 2, 8)
        assert c['temperature'] == (None if knob == 'temperature' else 1.5) and len(c['prompt_ids']) == 3
        assert [p['setting'] for p in res['points']] == [setting_name(knob, float(v)) for v in values]
        for p, v in zip(res['points'], values):
            assert p['knob'] == knob and p[knob] == float(v) and p['value'] == float(v)
            assert 0 <= p['quality'] <= 100 and 0 <= p['diversity'] <= 100 and p['n_prompts'] == 3
            assert p['temperature'] == (float(v) if knob == 'temperature' else 1.5)
        assert len(res['samples']) == 2 * 3 * 2 and all(s['n_tokens'] <= 8 for s in res['samples'])
        assert {(s['setting'], s['top_p'], s['min_p']) for s in res['samples']} == \
            {(setting_name(knob, float(v)), float(v) if knob == 'top_p' else 1.0, float(v) if knob == 'min_p' else 0.0) for v in values}
        assert set(res['seconds']) == {setting_name(knob, float(v)) for v in values}
        assert len(res['commands']) == 1 and res['commands'][0]['command'].startswith(f'powerflow creativity-sweep --knob {knob}')
    # a rerun: every setting is there, nothing is sampled again, the command is recorded
    before = json.loads((tmp_path/'top_p_sweep.json').read_text())
    capsys.readouterr()
    assert creativity_sweep_main(['--knob', 'top_p', '--values', '0.5', '1', *tiny, '--out', str(tmp_path/'top_p_sweep.json')]) in (None, 0)
    assert '2 of its 2 settings were there already' in capsys.readouterr().out
    after = json.loads((tmp_path/'top_p_sweep.json').read_text())
    assert after['samples'] == before['samples'] and len(after['commands']) == 2
    # another config into the same file is refused, in one line
    assert creativity_sweep_main(['--knob', 'top_p', '--values', '0.5', '1', *tiny[:-2], '--k', '3', '--out', str(tmp_path/'top_p_sweep.json')]) == 2
    assert "differs in ['k']" in capsys.readouterr().err
    # the page's reading of a finished experiment, here with the base model alone as the method
    assert creativity_eval_main([*tiny, '--out', str(tmp_path/'powerflow.json'), '--sweep', str(tmp_path/'temperature_sweep.json')]) in (None, 0)
    kr = read_knob_results(tmp_path)
    assert kr['missing'] == [] and set(kr['sweeps']) == {'temperature', 'top_p', 'min_p'}
    assert [p['setting'] for p in kr['eval']['points']] == ['base T=1 (seed 0)'] and 'temperature' not in kr['eval']['samples'][0]
    rows = knob_verdicts(kr, n_boot=50)
    assert [(r['knob'], r['setting']) for r in rows] == [(k, 'base T=1 (seed 0)') for k in ('temperature', 'top_p', 'min_p')]
    assert all(r['verdict'] in ('beyond', 'on', 'below', 'outside') for r in rows)
    assert len(knob_points(kr)) == 2 * 3 + 1
