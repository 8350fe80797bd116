"""Smoke test of the whole training path on one device: every objective and baseline on the shipped tiny model for a
few steps (both rollout engines when vLLM is importable), then a kill-and-resume check; ONE table at the end.

    python scripts/smoke_gpu.py                     # one CUDA GPU: 9 objectives x 3 steps + resume check, ~2-3 minutes
    python scripts/smoke_gpu.py --device cpu --steps 1 --k 2 --prompts 2 --max-new-tokens 12   # the CPU check, ~1 minute

Columns: objective, engine, steps, final loss, mean response length, wall time, peak memory (CUDA: max allocated GiB;
CPU: growth of the peak resident set, MiB) and, for the kill-and-resume row, whether the resumed run ends with the
weights and metrics of an uninterrupted one. The resume check trains `--resume-steps` steps with a checkpoint every 2
in a subprocess, kills it with SIGKILL after step 3, resumes it, and compares with an uninterrupted run of the same
seed (CPU: bit-identical; CUDA: equal within 1e-5, since some CUDA reductions are not deterministic).

Exit status: 0 all good, 1 a run failed or the resumed run differs, 3 `--device cuda` without a CUDA device."""
import argparse, json, math, os, signal, subprocess, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVES = ('powerflow', 'tb_traj', 'rl_traj', 'tb_token', 'rl_token')
BASELINES = ('grpo', 'intuitor', 'empo', 'ttrl')
TIMING = ('tokens_per_s', 'time_s')     # metrics that differ between identical runs


def vllm_importable() -> bool:
    import importlib.util
    s = importlib.util.find_spec('vllm')
    return s is not None and s.origin is not None


def _status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key): return int(line.split()[1]) * 1024
    return 0

class PeakMemory:
    "Peak memory of a block: CUDA max allocated (GiB), or on CPU the growth of the peak resident set (MiB, Linux)."
    def __init__(self, device): self.device = device
    def __enter__(self):
        import torch
        if self.device == 'cuda': torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        else:
            self.start = _status('VmRSS')
            try: open('/proc/self/clear_refs', 'w').write('5')   # reset the peak resident set to the current one
            except OSError: pass
        return self
    def __exit__(self, *exc):
        import torch
        if self.device == 'cuda': torch.cuda.synchronize(); self.value = torch.cuda.max_memory_allocated() / 2**30
        else: self.value = (_status('VmHWM') - self.start) / 2**20

    @property
    def unit(self): return 'GiB' if self.device == 'cuda' else 'MiB'


def base_overrides(a, device):
    "TrainConfig keys shared by every run: the tiny model on generated additions, this script's budgets."
    bf16 = a.bf16 if a.bf16 is not None else device == 'cuda'
    return ['model=tinylm', 'prompts=addition', 'n_prompts=256', 'max_digits=3', f'k={a.k}',
            f'prompts_per_step={a.prompts}', f'max_new_tokens={a.max_new_tokens}', 'lr=1e-4', 'seed=0',
            f'bf16={str(bf16).lower()}', f'cpu={str(device == "cpu").lower()}', 'progress=false']


def run_one(objective, engine, a, device, tmp) -> dict:
    "Train `objective` with `engine` for a.steps steps in this process; one table row."
    import torch
    from powerflow_nb.trainer import Trainer, TrainConfig
    row = {'objective': objective, 'engine': engine, 'steps': a.steps, 'loss': None, 'length': None, 'time_s': None,
           'peak_mem': None, 'resume': '-', 'error': None}
    t0 = time.perf_counter()
    tr = None
    try:
        cfg = TrainConfig.load(None, base_overrides(a, device) + [
            f'objective={objective}', f'engine={engine}', f'steps={a.steps}', 'save_every=0',
            f'out_dir={Path(tmp)/f"{objective}-{engine}"}'])
        with PeakMemory(device) as pm:
            tr = Trainer(cfg)
            m = tr.fit()
        row.update(loss=m['loss'], length=m['length_mean'], peak_mem=pm.value)
        if not math.isfinite(m['loss']): row['error'] = f"loss is {m['loss']}"
    except Exception as e:   # one failing objective must not hide the others: report it in the table
        row['error'] = f'{type(e).__name__}: {e}'.splitlines()[0][:200]
        if a.verbose: traceback.print_exc()
    finally:
        if tr is not None and hasattr(tr.engine, 'close'): tr.engine.close()
        del tr
        if device == 'cuda': torch.cuda.empty_cache()
    row['time_s'] = time.perf_counter() - t0
    return row


def _metrics(out):
    return [{k: v for k, v in json.loads(l).items() if k not in TIMING}
            for l in (Path(out)/'metrics.jsonl').read_text().splitlines()]

def _same(x, y, tol):
    if isinstance(x, float) and isinstance(y, float): return x == y or abs(x - y) <= tol * max(1.0, abs(x))
    return x == y

def resume_check(objective, a, device, tmp) -> dict:
    "Uninterrupted run vs. a run killed with SIGKILL after step 3 and resumed; one table row."
    import torch
    from safetensors.torch import load_file
    steps = a.resume_steps
    args = base_overrides(a, device) + [f'objective={objective}', 'engine=hf', f'steps={steps}', 'save_every=2',
                                        'updates_per_batch=2', f'grad_accum={2 if a.prompts % 2 == 0 else 1}',
                                        'lr=1e-3', 'seed=3']
    cmd = lambda out: [sys.executable, '-m', 'powerflow_nb.trainer', *args, f'out_dir={out}']
    env = {**os.environ, 'PYTHONHASHSEED': '0', 'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    ref, killed = Path(tmp)/'resume-ref', Path(tmp)/'resume-killed'
    row = {'objective': objective, 'engine': 'hf', 'steps': steps, 'loss': None, 'length': None, 'time_s': None,
           'peak_mem': None, 'resume': 'FAIL', 'error': None}
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd(ref), cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode: raise RuntimeError(f'uninterrupted run failed: {r.stderr.strip().splitlines()[-1:]}')
        p = subprocess.Popen(cmd(killed), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mfile, t1 = killed/'metrics.jsonl', time.time()
        while not (mfile.exists() and len(mfile.read_text().splitlines()) >= 3):   # step 3 logged: checkpoint 2 exists
            if p.poll() is not None or time.time() - t1 > 600:
                p.kill(); raise RuntimeError('the run ended or stalled before it could be killed')
            time.sleep(0.02)
        os.kill(p.pid, signal.SIGKILL); p.wait()
        if (killed/'final').exists(): raise RuntimeError('the run finished before the kill landed')
        r = subprocess.run(cmd(killed), cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode: raise RuntimeError(f'resumed run failed: {r.stderr.strip().splitlines()[-1:]}')
        tol = 0.0 if device == 'cpu' else 1e-5
        wa, wb = load_file(ref/'final'/'model.safetensors'), load_file(killed/'final'/'model.safetensors')
        dw = max(float((wa[k].double() - wb[k].double()).abs().max()) for k in wa) if wa.keys() == wb.keys() else math.inf
        ma, mb = _metrics(ref), _metrics(killed)
        same_metrics = len(ma) == len(mb) == steps and all(
            x.keys() == y.keys() and all(_same(x[k], y[k], tol) for k in x) for x, y in zip(ma, mb))
        row.update(loss=mb[-1]['loss'], length=mb[-1]['length_mean'])
        if dw == 0 and same_metrics: row['resume'] = 'yes (exact)'
        elif dw <= tol and same_metrics: row['resume'] = f'yes (|dw| <= {dw:.1e})'
        else: row['error'] = f'resumed run differs: max |dw| = {dw:.2e}, metrics equal: {same_metrics}'
    except Exception as e:
        row['error'] = f'{type(e).__name__}: {e}'[:200]
    row['time_s'] = time.perf_counter() - t0
    return row


def format_table(rows, unit) -> str:
    head = ['objective', 'engine', 'steps', 'final loss', 'length', 'time (s)', f'peak mem ({unit})', 'resume ok']
    f = lambda v, fmt: '-' if v is None else format(v, fmt)
    body = [[r['objective'], r['engine'], str(r['steps']), 'FAILED' if r['error'] and r['loss'] is None else f(r['loss'], '.4g'),
             f(r['length'], '.1f'), f(r['time_s'], '.1f'), f(r['peak_mem'], '.2f' if unit == 'GiB' else '.0f'), r['resume']]
            for r in rows]
    w = [max(len(x) for x in col) for col in zip(head, *body)]
    line = lambda cells: '  '.join(c.ljust(n) for c, n in zip(cells, w))
    out = [line(head), line(['-' * n for n in w])] + [line(b) for b in body]
    out += [f"  {r['objective']}/{r['engine']}: {r['error']}" for r in rows if r['error']]
    return '\n'.join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    p.add_argument('--steps', type=int, default=3, help='training steps per objective (default 3)')
    p.add_argument('--k', type=int, default=4, help='samples per prompt (default 4)')
    p.add_argument('--prompts', type=int, default=4, help='prompts per step (default 4)')
    p.add_argument('--max-new-tokens', type=int, default=48, help='response budget (default 48)')
    p.add_argument('--objectives', default=','.join(OBJECTIVES + BASELINES), help='comma list (default: all nine)')
    p.add_argument('--engines', default='auto', help="'auto' (hf, plus vllm when importable), 'hf', 'vllm' or 'hf,vllm'")
    p.add_argument('--bf16', default=None, type=lambda s: s.lower() in ('1', 'true', 'yes'),
                   help='bf16 autocast (default: on for CUDA, off for CPU)')
    p.add_argument('--resume-objective', default='powerflow', help="objective of the kill-and-resume check ('none': skip)")
    p.add_argument('--resume-steps', type=int, default=6, help='steps of the kill-and-resume runs (>= 4; default 6)')
    p.add_argument('--json', default=None, help='also write the rows as JSON to this file')
    p.add_argument('--verbose', action='store_true', help='print tracebacks of failing runs')
    a = p.parse_args(argv)
    for n in ('steps', 'k', 'prompts', 'max_new_tokens'):
        if getattr(a, n) <= 0: p.error(f'--{n.replace("_", "-")} must be a positive integer')
    if a.resume_steps < 4: p.error('--resume-steps must be >= 4 (checkpoint at 2, kill after 3)')
    import logging, torch
    if a.device == 'cuda' and not torch.cuda.is_available():
        print('smoke_gpu: no CUDA device found (torch.cuda.is_available() is False). Run it on a machine with an NVIDIA '
              'GPU and a CUDA build of torch, or pass --device cpu for the CPU check.', file=sys.stderr)
        return 3
    objectives = [o.strip() for o in a.objectives.split(',') if o.strip()]
    bad = [o for o in objectives if o not in OBJECTIVES + BASELINES]
    if bad: p.error(f'unknown objectives {bad}; choose from {list(OBJECTIVES + BASELINES)}')
    has_vllm = vllm_importable()
    engines = (['hf'] + (['vllm'] if has_vllm else [])) if a.engines == 'auto' else \
              [e.strip() for e in a.engines.split(',') if e.strip()]
    if any(e not in ('hf', 'vllm') for e in engines): p.error(f"engines must be hf and/or vllm, got {engines}")
    if 'vllm' in engines and not has_vllm: p.error('vllm is not importable in this environment: use --engines hf')
    # imports and logging before the first timed run (its time and memory are the training's, not the imports')
    import transformers, peft, accelerate  # noqa: F401
    import powerflow_nb.trainer, powerflow_nb.rollout, powerflow_nb.objectives, powerflow_nb.answers, powerflow_nb.eval  # noqa: F401
    transformers.utils.logging.disable_progress_bar(); transformers.utils.logging.set_verbosity_error()
    logging.getLogger('accelerate').setLevel(logging.ERROR)
    dev_name = torch.cuda.get_device_name() if a.device == 'cuda' else 'CPU'
    print(f"smoke test on {dev_name}: torch {torch.__version__}, {len(objectives)} objectives x engines {engines} x "
          f"{a.steps} steps ({a.prompts} prompts x {a.k} samples, {a.max_new_tokens} tokens)"
          + ('' if has_vllm else '; vLLM not importable: hf engine only'), flush=True)
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix='smoke-') as tmp:
        for eng in engines:
            for obj in objectives:
                rows.append(run_one(obj, eng, a, a.device, tmp))
                r = rows[-1]
                print(f"  {obj}/{eng}: {'ERROR ' + r['error'] if r['error'] else 'loss %.4g' % r['loss']} "
                      f"({r['time_s']:.1f} s)", flush=True)
        if a.resume_objective != 'none':
            rows.append(resume_check(a.resume_objective, a, a.device, tmp))
            print(f"  kill-and-resume ({a.resume_objective}): {rows[-1]['resume']} ({rows[-1]['time_s']:.1f} s)", flush=True)
    unit = 'GiB' if a.device == 'cuda' else 'MiB'
    print()
    print(format_table(rows, unit))
    total = time.perf_counter() - t0
    ok = all(r['error'] is None for r in rows)
    print(f"\n{'all checks passed' if ok else 'SOME CHECKS FAILED'} in {total:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps({'device': dev_name, 'vllm': has_vllm, 'engines': engines, 'seconds': total,
                                            'peak_mem_unit': unit, 'ok': ok, 'rows': rows}, indent=1) + '\n')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
