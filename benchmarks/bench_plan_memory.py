"""Measured CPU memory of real training steps against `powerflow plan`'s prediction for the same config.

    python benchmarks/bench_plan_memory.py                     # every case below, ~5 minutes at one thread
    python benchmarks/bench_plan_memory.py --cases tiny        # one case
    python benchmarks/bench_plan_memory.py --out data/results/plan_check.json
    python benchmarks/bench_plan_memory.py --replan data/results/plan_check.json   # new formulas, same measurements

Each case runs in a fresh subprocess with one torch thread and `MALLOC_MMAP_THRESHOLD_=65536` (large tensors are
mmapped and handed back to the kernel when freed, so the resident set follows torch's live tensors). The worker builds
the `Trainer`, runs one warm-up step (imports, AdamW states, log Z' warm start), then runs step 1 phase by phase:
before each phase it resets the kernel's peak-RSS counter (`/proc/self/clear_refs` <- 5) and after it reads `VmHWM`,
so each phase's transient peak is `VmHWM - VmRSS before the phase`. The plan is then evaluated for the same config
at the realised prompt and response lengths of step 1 (`memory_plan(..., device='cpu', prompt_tokens=,
response_tokens=)`), and the JSON written holds both numbers per phase.
"""
import argparse, dataclasses, gc, json, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20

# name: (config file, overrides); small budgets so that a case takes about a minute at one thread
SMOL = ['k=4', 'prompts_per_step=2', 'max_new_tokens=48']
CASES = {
    'tiny': ('configs/tiny_powerflow.yaml', []),
    'tiny_bf16': ('configs/tiny_powerflow.yaml', ['bf16=true']),
    'tiny_accum2': ('configs/tiny_powerflow.yaml', ['grad_accum=2']),
    'tiny_ckpt': ('configs/tiny_powerflow.yaml', ['gradient_checkpointing=true']),
    'smollm2_lora': ('configs/creative_smollm2_powerflow.yaml', SMOL),
    'smollm2_lora_ckpt': ('configs/creative_smollm2_powerflow.yaml', SMOL + ['gradient_checkpointing=true']),
}
# trainers with the memory knobs: score every sequence in one forward with all logits at once (what a trainer
# without them does, so every case measures the same computation); gradient checkpointing as the case says
UNSPLIT = ['score_batch=0', 'logit_chunk=0']
# fields whose existence depends on the trainer version: recorded when present
KNOBS = ('score_batch', 'logit_chunk', 'gradient_checkpointing')


def _status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key): return int(line.split()[1]) * 1024
    raise KeyError(key)

def rss(): gc.collect(); return _status('VmRSS')
def reset_peak(): open('/proc/self/clear_refs', 'w').write('5')   # resets VmHWM to the current RSS (Linux >= 4.0)
def peak(): return _status('VmHWM')


def worker(case):
    "Measure one case; print one JSON line."
    import torch, transformers, peft, accelerate   # noqa: F401  (imported before the baseline RSS)
    from powerflow_nb.trainer import Trainer, TrainConfig
    import powerflow_nb.rollout, powerflow_nb.objectives, powerflow_nb.answers, powerflow_nb.eval  # noqa: F401
    path, over = CASES[case]
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    over = [o for o in UNSPLIT if o.split('=')[0] in fields] + over
    if any(o.split('=')[0] not in fields for o in over):
        raise SystemExit(f'{case}: this trainer has no {[o for o in over if o.split("=")[0] not in fields]}')
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig.load(ROOT/path, over + [f'out_dir={d}', 'save_every=0', 'progress=false', 'threads=1',
                                                  'steps=2'])
        r0 = rss()
        t0 = time.time()
        tr = Trainer(cfg)
        r_loaded = rss()
        tr.step(0)                                  # warm-up: AdamW states exist from here on
        r_warm = rss()
        out = {'case': case, 'config': path, 'overrides': over, 'rss_start_mib': r0 / MiB,
               'loaded_mib': (r_loaded - r0) / MiB, 'after_warmup_mib': (r_warm - r0) / MiB}
        ph = {}
        before = rss(); reset_peak()
        ro, idx = tr.make_rollout(1)
        ph['rollout'] = (peak() - before) / MiB
        before = rss(); reset_peak()
        s = tr.score(ro, idx)
        ph['score'] = (peak() - before) / MiB
        before = rss(); reset_peak()
        tr.update(ro, s)
        ph['update'] = (peak() - before) / MiB
        out['phases_mib'] = ph
        out['after_step_mib'] = (rss() - r0) / MiB
        out['prompt_tokens'] = max(len(p) for p in ro.prompt_ids)
        out['response_tokens'] = max(len(r) for r in ro.response_ids)
        out['sequences'] = len(ro)
        out['knobs'] = {k: getattr(cfg, k) for k in KNOBS if hasattr(cfg, k)}
        import inspect, powerflow_nb.rollout as rl
        out['rollout_reads_last_hidden'] = 'logit_chunk' in inspect.signature(rl.base_scores).parameters
        out['seconds'] = time.time() - t0
        out['torch'] = torch.__version__; out['transformers'] = transformers.__version__
    print('RESULT ' + json.dumps(out), flush=True)


def predict(m):
    "The plan's numbers (MiB) for a measured case, at its realised lengths, CPU variant."
    from powerflow_nb.trainer import TrainConfig
    from powerflow_nb.plan import memory_plan
    path, over = CASES[m['case']]
    cfg = TrainConfig.load(ROOT/path, over + [f'{k}={v}' for k, v in m.get('knobs', {}).items()])
    p = memory_plan(cfg, device='cpu', prompt_tokens=m['prompt_tokens'], response_tokens=m['response_tokens'])
    g = lambda x: x * 1024   # GiB -> MiB
    return {'static_mib': g(p['static_gib']), 'rollout_mib': g(p['phases_gib']['rollout']),
            'score_mib': g(p['phases_gib']['score']),
            'update_mib': g(max(p['phases_gib']['train'], p['phases_gib']['optimizer'])),
            'rows': [{**r, 'mib': g(r['gib'])} for r in p['rows']]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cases', default=','.join(CASES), help=f'comma list of {list(CASES)}')
    ap.add_argument('--out', default=None, help='write the JSON here (default: print only)')
    ap.add_argument('--replan', default=None, metavar='JSON',
                    help='recompute the plan columns of an earlier result file in place (no new measurement)')
    ap.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker: return worker(a.worker)
    if a.replan:
        doc = json.loads(Path(a.replan).read_text())
        for m in doc['results']: m['plan'] = predict(m)
        Path(a.replan).write_text(json.dumps(doc, indent=1) + '\n')
        return 0
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'MALLOC_MMAP_THRESHOLD_': '65536',
           'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    results = []
    for case in a.cases.split(','):
        if case not in CASES: print(f'unknown case {case!r}; choose from {list(CASES)}', file=sys.stderr); return 2
        r = subprocess.run([sys.executable, __file__, '--worker', case], env=env, cwd=ROOT, capture_output=True, text=True)
        line = next((l for l in r.stdout.splitlines() if l.startswith('RESULT ')), None)
        if r.returncode or line is None:
            print(f'{case}: worker failed\n{r.stderr[-3000:]}', file=sys.stderr); return 1
        if a.out: print(f'{case}: measured', file=sys.stderr)
        m = json.loads(line[7:])
        m['plan'] = predict(m)
        results.append(m)
        print(f"{case:14s} {m['sequences']} seq, {m['prompt_tokens']}+{m['response_tokens']} tokens, {m['seconds']:.0f} s | "
              + ' | '.join(f"{k}: measured {m['phases_mib'][k]:.0f} MiB, plan {m['plan'][k + '_mib']:.0f} MiB"
                           for k in ('rollout', 'score', 'update')), flush=True)
    doc = {'what': 'per-phase transient peak RSS (MiB) of training step 1 on CPU vs the memory plan at the same lengths',
           'method': 'subprocess per case, 1 thread, MALLOC_MMAP_THRESHOLD_=65536, /proc/self/clear_refs + VmHWM',
           'results': results}
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(doc, indent=1) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
