"""`powerflow compare`: the smoke comparison runs end to end, writes one results line per (method, seed) with metrics
in range, and a rerun (or a rerun with one more method) only computes what is missing; the shipped configs validate
and their cost comments match the plan the runner prints."""
import json, subprocess, sys, time
from pathlib import Path
import pytest
import yaml
from conftest import ROOT

PF = str(Path(sys.executable).parent/'powerflow')

CONFIG = dict(name='smoke_test', seeds=[3, 4], train={'threads': 1, 'prompts_per_step': 4},
              eval={'n': 16, 'k': 8}, baseline='GRPO',
              methods=[{'name': 'base', 'kind': 'base'},
                       {'name': 'PowerFlow', 'train': {'objective': 'powerflow', 'alpha': 4.0}},
                       {'name': 'GRPO', 'train': {'objective': 'grpo'}},
                       {'name': 'T=1/alpha', 'kind': 'temperature', 'alpha': 4.0}],
              smoke_methods=['base', 'PowerFlow'])


def _lines(p): return [json.loads(l) for l in Path(p).read_text().splitlines()]


def test_smoke_compare_runs_and_resumes(tmp_path):
    from powerflow_nb.compare import compare_main
    cfg, out = tmp_path/'c.yaml', tmp_path/'out'
    cfg.write_text(yaml.safe_dump(CONFIG))
    t0 = time.perf_counter()
    assert compare_main(['--config', str(cfg), '--smoke', '--out', str(out), '--no-progress']) == 0
    first_s = time.perf_counter() - t0
    lines = _lines(out/'results.jsonl')
    # smoke = the two smoke methods, the first 2 seeds (seed-major), 2 steps, 8 problems x 4 samples
    assert [(l['method'], l['seed']) for l in lines] == [('base', 3), ('PowerFlow', 3), ('base', 4), ('PowerFlow', 4)]
    assert all(l['stage'] == 'main' for l in lines) and lines[1]['lr'] == 2e-4 and lines[0]['lr'] is None
    for l in lines:
        m = l['metrics']
        assert len(m['correct']) == 8 and all(len(r) == 4 for r in m['correct'])
        assert 0 <= m['avg@4'] <= 1 and abs(m['pass@1'] - m['avg@4']) < 1e-9          # pass@1 is avg@k
        assert m['pass@1'] <= m['pass@2'] <= m['pass@3'] <= m['pass@4'] <= 1             # pass@k grows with k
        assert abs(m['avg@4'] - sum(map(sum, m['correct'])) / 32) < 1e-9                  # from the saved grid
        assert 0 <= m['maj@4'] <= 1 and m['mean_length'] > 5
    pf = lines[1]
    assert [c['step'] for c in pf['curve']] == [1, 2] and all(0 <= c['accuracy'] <= 1 for c in pf['curve'])
    assert (Path(pf['run_dir'])/'final'/'config.json').exists()
    assert 'powerflow compare --config' in (out/'command.txt').read_text()
    assert '| PowerFlow |' in (out/'summary.md').read_text()

    # a rerun finds both lines and computes nothing
    mtime = (Path(pf['run_dir'])/'metrics.jsonl').stat().st_mtime
    assert compare_main(['--config', str(cfg), '--smoke', '--out', str(out), '--no-progress']) == 0
    assert _lines(out/'results.jsonl') == lines
    assert (out/'command.txt').read_text().count('powerflow compare --config') == 2      # every command is kept
    assert (Path(pf['run_dir'])/'metrics.jsonl').stat().st_mtime == mtime

    # one more method joins: only it runs, the earlier lines stay as they were
    CONFIG2 = {**CONFIG, 'smoke_methods': ['base', 'PowerFlow', 'T=1/alpha']}
    cfg.write_text(yaml.safe_dump(CONFIG2))
    assert compare_main(['--config', str(cfg), '--smoke', '--out', str(out), '--no-progress']) == 0
    new = _lines(out/'results.jsonl')
    assert new[:4] == lines and [(l['method'], l['seed']) for l in new[4:]] == [('T=1/alpha', 3), ('T=1/alpha', 4)]
    assert new[4]['metrics']['temperature'] == 0.25
    # same problems and sampling seed as base, sampled colder: shorter-or-equal spread of answers per problem
    assert new[4]['metrics']['distinct_answers'] <= lines[0]['metrics']['distinct_answers']

    # a changed method under the same name is refused, not mixed in
    CONFIG3 = {**CONFIG2, 'methods': [{**CONFIG['methods'][0]}, {'name': 'PowerFlow', 'train': {'objective': 'powerflow', 'alpha': 2.0}},
                                      *CONFIG['methods'][2:]]}
    cfg.write_text(yaml.safe_dump(CONFIG3))
    assert compare_main(['--config', str(cfg), '--smoke', '--out', str(out), '--no-progress']) == 2
    assert first_s < 150, first_s


def test_help_and_shipped_configs_validate():
    r = subprocess.run([PF, 'compare', '--help'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0 and '--smoke' in r.stdout and 'budget' in r.stdout and 'kind' in r.stdout
    from powerflow_nb.compare import load_compare
    cc = load_compare(ROOT/'configs'/'compare_tiny.yaml')
    assert len(cc.seeds) >= 3 and cc.baseline == 'GRPO'
    assert {'powerflow', 'grpo', 'intuitor', 'empo', 'ttrl', 'tb_traj', 'tb_token'} <= \
           {m.train.get('objective') for m in cc.methods if m.kind == 'train'}
    sm = load_compare(ROOT/'configs'/'compare_smollm2.yaml')     # writes its reasoning-gym prompt file under runs/
    from powerflow_nb.compare import method_train_config
    pf = method_train_config(sm, next(m for m in sm.methods if m.name == 'PowerFlow'), 0)
    assert (pf.model, pf.lora, pf.chat_template, pf.alpha, pf.check) == ('smollm2', True, True, 2.0, 'rg:basic_arithmetic')
    rows = [json.loads(l) for l in Path(ROOT/pf.prompts).read_text().splitlines()]
    assert len(rows) == pf.n_prompts and all(r['prompt'].startswith('Calculate') and r['answer'] for r in rows)


def test_tuned_and_length_configs():
    "The issue-12 configs validate, the grid is the same for every trained method, and their cost comments match the plan."
    from powerflow_nb.compare import load_compare, all_units, cost_plan, base_train_config, smoke_config
    import re
    cc = load_compare(ROOT/'configs'/'compare_tuned.yaml')
    trained = [m for m in cc.methods if m.kind == 'train']
    assert {m.train['objective'] for m in trained} == {'powerflow', 'grpo', 'intuitor', 'empo', 'ttrl', 'tb_traj', 'tb_token'}
    assert not any('lr' in m.train for m in trained) and len(cc.tune.lrs) >= 3 and max(cc.tune.lrs) / min(cc.tune.lrs) >= 10
    assert cc.tune.data_seed != cc.eval.data_seed and not set(cc.tune.seeds) & set(cc.seeds)
    assert (base_train_config(cc).steps, base_train_config(cc).prompts_per_step, base_train_config(cc).k, len(cc.seeds)) == (200, 8, 8, 3)
    assert ['PowerFlow', 'GRPO'] in cc.pairs and ['PowerFlow', 'T=1/alpha'] in cc.pairs and ['PowerFlow', 'base'] in cc.pairs
    ln = load_compare(ROOT/'configs'/'compare_length.yaml')
    assert {m.train.get('objective') for m in ln.methods if m.kind == 'train'} == {'powerflow', 'tb_traj', 'tb_token'}
    assert base_train_config(smoke_config(ln)).model == 'data/tinylm_mixed'
    text = (ROOT/'configs'/'compare_tuned.yaml').read_text() + (ROOT/'configs'/'compare_length.yaml').read_text()
    total = 0
    for c in (cc, ln):
        plan = cost_plan(c, all_units(c), [], workers=2)
        for st in plan['stages'].values(): assert f"= {st['total_s']:.0f} s" in text, (c.name, st)
        total += plan['total_s']
    # about three hours of this machine at 2 workers (3.2 h at the assumed 2.7 s/step; steps measured on an idle machine
    # cost 1.8-2.3 s)
    assert f"total {total:.0f} s" in text and total / 2 / 3600 < 3.25


def test_length_experiment_smoke(tmp_path):
    "The length experiment's smoke run on the real mixed-length model: every smoke unit, its curve and the summary."
    from powerflow_nb.compare import compare_main
    out = tmp_path/'out'
    assert compare_main(['--config', str(ROOT/'configs'/'compare_length.yaml'), '--smoke', '--out', str(out), '--no-progress',
                         '--runs-root', str(tmp_path/'runs')]) == 0
    lines = _lines(out/'results.jsonl')
    assert sorted((l['method'], l['seed']) for l in lines) == sorted((m, s) for m in ('base', 'PowerFlow', 'TB-traj') for s in (0, 1))
    for l in lines:
        assert l['metrics']['mean_length'] > 5
        if l['method'] != 'base': assert [c['step'] for c in l['curve']] == [1, 2] and l['lr'] == 2e-4
    assert yaml.safe_load((out/'config.yaml').read_text())['model'] == 'data/tinylm_mixed'
    assert '| PowerFlow − TB-traj |' in (out/'summary.md').read_text()


def test_smollm2_experiment_smoke(tmp_path):
    """The SmolLM2 comparison's smoke run on the real model, with the HF engine (vLLM lives in .venv-vllm) and a short
    token budget: the grid (base + PowerFlow at 2 lrs), the selection, then base and PowerFlow at 2 seeds; the runs are
    LoRA runs, evaluated with reasoning-gym's scorer on the chat-templated held-out problems."""
    from powerflow_nb.compare import compare_main
    out = tmp_path/'out'
    assert compare_main(['--config', str(ROOT/'configs'/'compare_smollm2.yaml'), '--smoke', '--out', str(out), '--no-progress',
                         '--runs-root', str(tmp_path/'runs'), '--set', 'train.engine=hf', 'train.max_new_tokens=12',
                         'eval.max_new_tokens=12']) == 0
    grid, lines = _lines(out/'lr_grid.jsonl'), _lines(out/'results.jsonl')
    assert sorted((l['method'], l.get('lr')) for l in grid) == [('PowerFlow', 1e-4), ('PowerFlow', 3e-4), ('base', None)]
    assert sorted((l['method'], l['seed']) for l in lines) == sorted((m, s) for m in ('base', 'PowerFlow') for s in (0, 1))
    sel = json.loads((out/'lr_selection.json').read_text())
    pf = [l for l in lines if l['method'] == 'PowerFlow']
    assert all(l['lr'] in (1e-4, 3e-4) and l['lr'] == pf[0]['lr'] for l in pf) and 'PowerFlow' in json.dumps(sel)
    for l in lines:
        assert l['metrics']['n_problems'] == 8 and l['metrics']['k'] == 4 and 0 < l['metrics']['mean_length'] <= 12
        assert l['metrics']['example'].startswith('<|im_start|>system')       # the chat template reached the evaluation
    run = yaml.safe_load((Path(pf[0]['run_dir'])/'config.yaml').read_text())
    assert (run['model'], run['lora'], run['alpha'], run['check']) == ('smollm2', True, 2.0, 'rg:basic_arithmetic')
