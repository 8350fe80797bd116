"""Which reasoning task can SmolLM2-135M-Instruct partly do? The base model's avg@k (temperature 1, chat template,
the training sampler) on candidate reasoning-gym tasks and difficulty settings, with and without a one-line answer
instruction appended to the question.

    python scripts/probe_smollm2_tasks.py [--n 48] [--k 4] [--max-new-tokens 96] [--engine hf|vllm] [--only NAME ...]
                                          [--out data/results/smollm2_task_probe]

The probe's problems come from their own data seed (PROBE_SEED), never the training, tuning or held-out seeds, so
picking a task here does not select on the numbers the comparison reports. Resumable: one JSON line per candidate in
<out>/probe.jsonl (a rerun skips candidates already measured with the same n, k and token budget); <out>/command.txt
records each command with its commit. The rule that picks the task (`pick`): base avg@k between 0.25 and 0.60 and
a mean response under 100 tokens; among those, the one whose avg@k is closest to 0.40 (room to gain and to lose).
`python scripts/probe_smollm2_tasks.py --pick` prints the table and the pick without measuring anything."""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE_SEED = 424_242
NUMBER_ONLY = ' Answer with only the number.'
BOXED = ' Put the final answer in \\boxed{}.'
ONE_DIGIT = "min_terms=2,max_terms=2,max_digits=1,allow_parentheses=false,allow_negation=false"
# name -> (reasoning-gym task with its options, instruction appended to every question)
CANDIDATES = {
    'add1':             (f"basic_arithmetic:{ONE_DIGIT},operators=['+']", ''),
    'add1-number':      (f"basic_arithmetic:{ONE_DIGIT},operators=['+']", NUMBER_ONLY),
    'add1-boxed':       (f"basic_arithmetic:{ONE_DIGIT},operators=['+']", BOXED),
    'addsub1-number':   (f"basic_arithmetic:{ONE_DIGIT},operators=['+','-']", NUMBER_ONLY),
    'add2-number':      ("basic_arithmetic:min_terms=2,max_terms=2,max_digits=2,allow_parentheses=false,"
                         "allow_negation=false,operators=['+']", NUMBER_ONLY),
    'addsub1x3-number': ("basic_arithmetic:min_terms=3,max_terms=3,max_digits=1,allow_parentheses=false,"
                         "allow_negation=false,operators=['+','-']", NUMBER_ONLY),
    'mul1-number':      ("products:min_terms=2,max_terms=2,min_digits=1,max_digits=1", NUMBER_ONLY),
    'chain2':           ("chain_sum:min_terms=2,max_terms=2,min_digits=1,max_digits=1", ''),
    'legs1-number':     ("leg_counting:min_animals=1,max_animals=1,min_instances=1,max_instances=3", NUMBER_ONLY),
    'gcd2-number':      ("gcd:min_value=1,max_value=20", NUMBER_ONLY),
}


def probe_rows(task, instruction, n, seed=PROBE_SEED):
    "n problems of `task` (reasoning-gym, its own seed) with `instruction` appended to each question."
    from powerflow_nb.eval import eval_rows
    return [{**r, 'prompt': r['prompt'] + instruction} for r in eval_rows(task, n, seed)]


def measure(name, model, tok, a):
    "One candidate's line: avg@k with its standard error, pass@k, length, finished fraction, examples, seconds."
    import numpy as np
    from powerflow_nb.eval import evaluate, default_check
    from powerflow_nb.prompts import apply_chat_template
    from powerflow_nb.answers import avg_at_k
    task, instruction = CANDIDATES[name]
    rows = apply_chat_template(probe_rows(task, instruction, a.n), tok)
    m = evaluate(model, tok, rows, a.k, default_check(task), max_new_tokens=a.max_new_tokens, seed=0,
                 engine=a.engine_obj)
    g = m.pop('grids')
    st = avg_at_k(g['correct'])
    return {'name': name, 'task': task, 'instruction': instruction, 'n': a.n, 'k': a.k,
            'max_new_tokens': a.max_new_tokens, 'data_seed': PROBE_SEED, 'engine': a.engine,
            f'avg@{a.k}': m[f'avg@{a.k}'], f'avg@{a.k}_se': st.se, f'pass@{a.k}': m[f'pass@{a.k}'],
            'mean_length': m['mean_length'], 'finished': m['finished'], 'seconds': m['seconds'],
            'examples': [{'question': rows[i]['prompt'].split('<|im_start|>user\n')[-1].split('<|im_end|>')[0],
                          'answer': rows[i]['answer'], 'response': g['texts'][i][0],
                          'correct': bool(g['correct'][i][0])} for i in range(3)]}


def pick(lines, lo=0.25, hi=0.60, max_len=100, target=0.40):
    "The candidate the rule picks (see the module docstring), or None."
    ok = [l for l in lines if lo <= l[f"avg@{l['k']}"] <= hi and l['mean_length'] < max_len]
    return min(ok, key=lambda l: abs(l[f"avg@{l['k']}"] - target)) if ok else None


def table(lines) -> str:
    out = ['| candidate | task | instruction | avg@k (%) | ± se | pass@k (%) | mean length | finished | s |',
           '|---|---|---|---|---|---|---|---|---|']
    for l in lines:
        k = l['k']
        out.append(f"| {l['name']} | `{l['task']}` | {l['instruction'].strip() or '–'} | {100 * l[f'avg@{k}']:.1f} | "
                   f"{100 * l[f'avg@{k}_se']:.1f} | {100 * l[f'pass@{k}']:.1f} | {l['mean_length']:.1f} | "
                   f"{l['finished']:.2f} | {l['seconds']:.0f} |")
    return '\n'.join(out)


def read_lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n', type=int, default=48, help='problems per candidate')
    p.add_argument('--k', type=int, default=4, help='samples per problem')
    p.add_argument('--max-new-tokens', type=int, default=96)
    p.add_argument('--engine', choices=['hf', 'vllm'], default='hf')
    p.add_argument('--only', nargs='*', default=None, help=f'candidates to measure (default all: {", ".join(CANDIDATES)})')
    p.add_argument('--out', default='data/results/smollm2_task_probe')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--pick', action='store_true', help='print the table and the pick; measure nothing')
    a = p.parse_args(argv)
    bad = [c for c in (a.only or []) if c not in CANDIDATES]
    if bad: p.error(f'unknown candidate(s) {bad}; choose from {list(CANDIDATES)}')
    if min(a.n, a.k, a.max_new_tokens) < 1: p.error('--n, --k and --max-new-tokens must be >= 1')
    out = ROOT/a.out if not Path(a.out).is_absolute() else Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    f = out/'probe.jsonl'
    if not a.pick:
        todo = [c for c in (a.only or CANDIDATES) if not any(l['name'] == c and (l['n'], l['k'], l['max_new_tokens'])
                                                             == (a.n, a.k, a.max_new_tokens) for l in read_lines(f))]
        commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        with open(out/'command.txt', 'a') as fh:
            fh.write(f"python scripts/probe_smollm2_tasks.py {' '.join(sys.argv[1:] if argv is None else argv)}\n"
                     f"# git {commit}, started {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
                     f"{a.threads} torch thread(s)\n")
        if todo:
            if a.engine == 'vllm': os.environ.setdefault('VLLM_ENABLE_V1_MULTIPROCESSING', '0')
            import torch
            torch.set_num_threads(a.threads)
            from powerflow_nb.smollm import load_smollm2
            from powerflow_nb.rollout import make_engine
            model, tok = load_smollm2()
            a.engine_obj = make_engine(a.engine, model, tok)
            for c in todo:
                line = measure(c, model, tok, a)
                with open(f, 'a') as fh: fh.write(json.dumps(line) + '\n')     # one finished candidate per line
                print(f"{c:<18} avg@{a.k} {line[f'avg@{a.k}']:.3f} ± {line[f'avg@{a.k}_se']:.3f}  length "
                      f"{line['mean_length']:.1f}  finished {line['finished']:.2f}  {line['seconds']:.0f} s", flush=True)
    lines = read_lines(f)
    print(table(lines))
    best = pick(lines)
    print(f"\npick: {best['name']} ({best['task']}{' + ' + repr(best['instruction'].strip()) if best['instruction'] else ''})"
          if best else '\npick: none in range')
    return 0


if __name__ == '__main__':
    sys.exit(main())
