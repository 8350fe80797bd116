"""`powerflow plan`: the command line, the Qwen recipe fitting an 80 GB GPU under its accelerate config, and the plan
against real measured memory (a CPU training step of the tiny model, and the committed measurements)."""
import json, os, subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

CFG = ROOT/'configs'
PF = str(Path(sys.executable).parent/'powerflow')     # the installed entry point, run on this checkout


def plan(*args):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}
    return subprocess.run([sys.executable, PF, 'plan', *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_cli_table_and_json():
    r = plan('--config', CFG/'tiny_powerflow.yaml', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    assert 'largest micro-batch that fits' in r.stdout and 'fits' in r.stdout
    r = plan('--config', CFG/'tiny_powerflow.yaml', '--json', 'grad_accum=2')
    d = json.loads(r.stdout)
    assert r.returncode == 0 and d['fits'] and d['micro_batch']['prompts'] == 4 and d['strategy'] == 'single'


@pytest.mark.parametrize('args,msg', [
    (['--config', 'no/such.yaml'], 'does not exist'),
    (['--config', CFG/'tiny_powerflow.yaml', 'model=hf:nobody/unknown-9b'], 'unknown architecture'),
    (['--config', CFG/'tiny_powerflow.yaml', 'prompts_per_step=-8'], 'prompts_per_step must be a positive integer'),
    (['--config', CFG/'tiny_powerflow.yaml', '--gpus', '0'], 'gpus must be a positive integer'),
    (['--config', CFG/'tiny_powerflow.yaml', '--gpu-memory', '-80'], 'positive number of GiB'),
    (['--config', CFG/'tiny_powerflow.yaml', '--prompt-tokens', '-1'], 'must be a positive integer'),
    (['--config', CFG/'tiny_powerflow.yaml', 'model=/no/such/folder'], 'does not exist'),
    (['--config', CFG/'tiny_powerflow.yaml', '--accelerate-config', 'nope.yaml'], 'does not exist'),
])
def test_bad_input_is_one_line_exit_2(args, msg):
    r = plan(*args)
    assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1, (r.returncode, r.stderr)
    assert 'Traceback' not in r.stderr


def test_comparison_config_plans_every_trained_method():
    d = json.loads(plan('--config', CFG/'compare_smollm2.yaml', '--device', 'cpu', '--json').stdout)
    assert set(d['methods']) == {'PowerFlow', 'GRPO', 'TTRL'} and d['lora']
    assert d['method'] == 'PowerFlow'      # needs the base log-probs and the log Z' features: the most memory
    assert d['model'] == 'smollm2' and d['arch']['layers'] == 30   # the comparison's own model, not the default one


def test_qwen_recipe_fits_80gb_per_gpu_with_its_accelerate_config():
    "The shipped recipe on 8 x 80 GB GPUs (DDP, configs/accelerate_multigpu.yaml): fits, with the paper's settings."
    r = plan('--config', CFG/'qwen2.5-math-1.5b_powerflow.yaml', '--accelerate-config', CFG/'accelerate_multigpu.yaml',
             '--gpu-memory', '80', '--json')
    d = json.loads(r.stdout)
    assert r.returncode == 0 and d['fits'] and d['gpus'] == 8 and d['strategy'] == 'DDP', d['warnings']
    assert d['peak_gib'] < 0.8 * 80                 # headroom for the plan's error and the allocator's fragmentation
    assert (d['k'], d['prompt_tokens'], d['response_tokens'], d['lora']) == (7, 512, 2048, False)


def test_plan_within_10_percent_of_a_measured_tiny_step():
    "A real training step of the tiny model on CPU (peak RSS of each phase) against the plan at the same lengths."
    out = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'bench_plan_memory.py'), '--cases', 'tiny'], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(l for l in out.stdout.splitlines() if l.startswith('tiny'))
    measured = float(line.split('update: measured ')[1].split(' MiB')[0])
    planned = float(line.split('update: measured ')[1].split('plan ')[1].split(' MiB')[0])
    assert abs(planned / measured - 1) < 0.10, line


def test_committed_measurements_still_match_the_plan():
    "data/results/plan_check.json: every measured training-phase peak within 25% of today's formulas."
    from powerflow_nb.trainer import TrainConfig
    from powerflow_nb.plan import memory_plan
    sys.path.insert(0, str(ROOT/'benchmarks'))
    from bench_plan_memory import CASES
    check = json.loads((ROOT/'data'/'results'/'plan_check.json').read_text())
    assert {m['case'] for m in check['results']} >= {'tiny', 'smollm2_lora'}
    for m in check['results']:
        path, over = CASES[m['case']]
        cfg = TrainConfig.load(ROOT/path, over + [f'{k}={v}' for k, v in m.get('knobs', {}).items()])
        p = memory_plan(cfg, device='cpu', prompt_tokens=m['prompt_tokens'], response_tokens=m['response_tokens'])
        pred = max(p['phases_gib']['train'], p['phases_gib']['optimizer']) * 1024
        assert abs(pred / m['phases_mib']['update'] - 1) < 0.25, (m['case'], pred, m['phases_mib']['update'])
