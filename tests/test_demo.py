"""The main job's command, `powerflow demo`, runs end to end (a short version of it): what `make run` runs."""
import json, math, os, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

PF = str(Path(sys.executable).parent/'powerflow')


@pytest.mark.parametrize('logz', ['mlp', 'scalar', 'table', 'group'])
def test_mean_logz_of_every_estimator(logz, tmp_path):
    "The before/after table's log Z' row: the learned estimator's mean over the prompts (NaN for the group estimate)."
    from powerflow_nb.demo import demo_config, mean_logz
    from powerflow_nb.trainer import Trainer
    cfg = demo_config([f'logz={logz}', 'logz_init=0.25', 'logz_warm_start=false', f'out_dir={tmp_path}'])
    tr = Trainer(cfg)
    v = mean_logz(tr, ['12+34=', '5+6='])
    assert math.isnan(v) if logz == 'group' else abs(v - 0.25) < 1e-6, v


def test_mean_logz_of_the_mlp_head_reads_each_prompt(tmp_path):
    "With a head that sees its input, the mean over two prompts is the mean of each prompt's own log Z'."
    import torch
    from powerflow_nb.demo import demo_config, mean_logz
    from powerflow_nb.trainer import Trainer
    tr = Trainer(demo_config(['logz=mlp', 'logz_warm_start=false', f'out_dir={tmp_path}']))
    torch.manual_seed(0)
    with torch.no_grad(): tr.logz.net[-1].weight.normal_()      # the zero-initialised output layer now sees q
    a, b, ab = mean_logz(tr, ['12+34=']), mean_logz(tr, ['5+6=']), mean_logz(tr, ['12+34=', '5+6='])
    assert abs(a - b) > 1e-3 and abs(ab - (a + b) / 2) < 1e-5, (a, b, ab)


def test_demo_command_end_to_end(tmp_path):
    "The real entry point in a subprocess at 2 steps: exit 0, the before/after table, the run folder."
    env = dict(os.environ, OMP_NUM_THREADS='1')
    r = subprocess.run([PF, 'demo', '--eval-n', '4', 'steps=2', 'k=2', 'prompts_per_step=2', 'save_every=0',
                        f'out_dir={tmp_path}/run'], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert '| mean_logz' in r.stdout and '| avg@8' in r.stdout
    s = json.loads((tmp_path/'run'/'summary.json').read_text())
    assert math.isfinite(s['before']['mean_logz']) and math.isfinite(s['after']['mean_logz'])
    assert (tmp_path/'run'/'training.png').exists() and len((tmp_path/'run'/'metrics.jsonl').read_text().splitlines()) == 2
