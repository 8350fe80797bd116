"""The tuned comparison end to end at a seconds-long budget: lr grid -> automatic selection -> main stage -> summary
with paired confidence intervals, run by `--workers 2`, killed in the middle (only the runner: its workers must die
with it), and finished by two `--shard` invocations side by side. Every unit must end up exactly once, finished rows
must survive untouched, the interrupted training run must resume from its checkpoint, and a last rerun computes
nothing."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
import yaml
from conftest import ROOT

CODE = 'import sys; from powerflow_nb.compare import compare_main; sys.exit(compare_main(sys.argv[1:]))'

CONFIG = dict(name='tuned_test', seeds=[0, 1],
              train={'threads': 1, 'prompts_per_step': 2, 'k': 4, 'steps': 2, 'save_every': 1},
              eval={'n': 8, 'k': 4},
              tune={'lrs': [1.0e-4, 1.0e-3], 'steps': 2, 'seeds': [5], 'n': 8, 'k': 4},
              baseline='GRPO', pairs=[['PowerFlow', 'GRPO'], ['PowerFlow', 'base']],
              methods=[{'name': 'base', 'kind': 'base'},
                       {'name': 'PowerFlow', 'train': {'objective': 'powerflow', 'alpha': 4.0}},
                       {'name': 'GRPO', 'train': {'objective': 'grpo'}}])


def _env():
    return {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def _live_claim_pids(out):
    from powerflow_nb.compare import _proc_start
    d = Path(out)/'.claims'
    cs = [json.loads(p.read_text()) for p in d.glob('*.json')] if d.exists() else []
    return [c['pid'] for c in cs if c.get('start') is not None and _proc_start(c['pid']) == c['start']]


def test_tuned_pipeline_kill_resume_parallel(tmp_path):
    from powerflow_nb.compare import read_results, line_key, compare_main
    cfg, out, runs = tmp_path/'c.yaml', tmp_path/'out', tmp_path/'runs'
    cfg.write_text(yaml.safe_dump(CONFIG))
    base = [sys.executable, '-c', CODE, '--config', str(cfg), '--out', str(out), '--runs-root', str(runs), '--no-progress']
    t0 = time.perf_counter()

    # 1. --workers 2, killed once a grid row is written and some training run is mid-way (checkpoint, no final model)
    log = open(tmp_path/'run1.log', 'wb')
    p = subprocess.Popen(base + ['--workers', '2'], cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    mid = []
    try:
        while time.perf_counter() - t0 < 150 and p.poll() is None:
            mid = [d.parent for d in runs.rglob('checkpoints') if any(d.glob('step_*')) and not (d.parent/'final').exists()]
            if read_results(out/'lr_grid.jsonl') and mid: break
            time.sleep(0.05)
        assert p.poll() is None, f"the runner ended before it could be killed:\n{(tmp_path/'run1.log').read_text()[-3000:]}"
        os.kill(p.pid, signal.SIGKILL); p.wait()
        deadline = time.time() + 15                  # the workers die with their runner (no orphan keeps writing rows)
        while _live_claim_pids(out) and time.time() < deadline: time.sleep(0.1)
        assert not _live_claim_pids(out), 'workers outlived their killed runner'
    finally:
        try: os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError: pass
    killed_s = time.perf_counter() - t0
    before = {f: (out/f).read_text() if (out/f).exists() else '' for f in ('lr_grid.jsonl', 'results.jsonl')}
    n_before = sum(len(read_results(out/f)) for f in before)
    assert 1 <= n_before < 10

    # 2. finished by two shards side by side (a shard waits for grid rows the other one computes)
    ps = [subprocess.Popen(base + ['--shard', f'{i}/2'], cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT) for i in range(2)]
    logs = [q.communicate(timeout=300)[0].decode() for q in ps]
    assert [q.returncode for q in ps] == [0, 0], '\n'.join(l[-3000:] for l in logs)
    assert 'cost plan for tuned_test' in logs[0]

    grid, main = read_results(out/'lr_grid.jsonl'), read_results(out/'results.jsonl')
    # every unit exactly once
    assert sorted(line_key(l) for l in grid) == sorted([('grid', m, f'{lr:.6g}', 5) for m in ('PowerFlow', 'GRPO')
                                                        for lr in (1e-4, 1e-3)] + [('grid', 'base', '', 5)])
    assert sorted(line_key(l) for l in main) == sorted(('main', m, s) for m in ('base', 'PowerFlow', 'GRPO') for s in (0, 1))
    # rows finished before the kill are kept as they were (a torn last line, if any, is dropped)
    for f, txt in before.items():
        whole = [l for l in txt.splitlines() if l.endswith('}')]
        assert (out/f).read_text().startswith(''.join(l + '\n' for l in whole))
    # the selection follows the stated rule, from the grid rows, and the main stage trained at the chosen lr
    sel = json.loads((out/'lr_selection.json').read_text())
    for m in ('PowerFlow', 'GRPO'):
        scores = {l['lr']: l['metrics']['avg@4'] for l in grid if l['method'] == m}
        best = max(scores.values())
        assert sel['chosen'][m] == min(lr for lr, v in scores.items() if v == best)
        for l in main:
            if l['method'] == m:
                assert l['lr'] == sel['chosen'][m] and f"lr{sel['chosen'][m]:.6g}" in l['run_dir'] and l['steps'] == 2
                assert [c['step'] for c in l['curve']] == [1, 2]
    # the run that was killed mid-way resumed from its checkpoint
    rows_by_dir = {Path(l['run_dir']): l for l in grid + main if l.get('run_dir')}
    for d in mid: assert rows_by_dir[d]['resumed_from_step'] >= 1, (d, rows_by_dir[d].get('resumed_from_step'))
    # two processes really ran side by side: the --workers run (w0, w1) and the shards
    spans = [(l['started_at'], l['started_at'] + l['seconds'], l['pid']) for l in grid + main]
    assert any(a0 < b1 and b0 < a1 and pa != pb for a0, a1, pa in spans for b0, b1, pb in spans)
    assert {l['worker'] for l in grid + main} >= {'shard0/2', 'shard1/2'} and all(l['threads'] == 1 for l in grid + main)
    # the summary: the grid, the rule, the main table, paired differences with both intervals
    s = (out/'summary.md').read_text()
    assert '## Learning-rate grid' in s and 'the smallest of them wins' in s and '| PowerFlow − GRPO |' in s
    row = next(l for l in s.splitlines() if l.startswith('| PowerFlow − base |'))
    assert row.count('[') == 2, row                  # seed interval (2 seeds) and problem bootstrap interval
    cmds = (out/'command.txt').read_text()
    assert cmds.count('--workers 2') == 1 and cmds.count('--shard') == 2 and cmds.count('# git ') == 3
    assert not (out/'.claims').exists()

    # 3. a rerun finds everything finished (fingerprints computed by the workers match this process's) and runs nothing
    rows = {f: (out/f).read_text() for f in ('lr_grid.jsonl', 'results.jsonl')}
    assert compare_main(['--config', str(cfg), '--out', str(out), '--runs-root', str(runs), '--no-progress']) == 0
    assert rows == {f: (out/f).read_text() for f in rows}
    total = time.perf_counter() - t0
    print(f'killed after {killed_s:.0f} s with {n_before} rows; whole test {total:.0f} s')
    assert total < 240, total


def test_plan_only_and_bad_flags(tmp_path, capsys):
    from powerflow_nb.compare import compare_main
    cfg = tmp_path/'c.yaml'; cfg.write_text(yaml.safe_dump(CONFIG))
    assert compare_main(['--config', str(cfg), '--out', str(tmp_path/'o'), '--plan', '--workers', '2']) == 0
    out = capsys.readouterr().out
    assert 'cost plan for tuned_test: 5 grid units, 6 main units left' in out and 'with 2 worker(s)' in out
    assert not (tmp_path/'o').exists()               # a plan writes nothing
    for bad, msg in ((['--shard', '2/2'], '0 <= I < N'), (['--workers', '0'], '--workers must be >= 1'),
                     (['--stage', 'main'], 'lr grid is not complete')):
        assert compare_main(['--config', str(cfg), '--out', str(tmp_path/'o'), *bad]) == 2
        assert msg in capsys.readouterr().err
