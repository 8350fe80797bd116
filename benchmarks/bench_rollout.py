"""Rollout throughput: Hugging Face `generate` (HFEngine) against in-process vLLM (VLLMEngine), same model, same prompts.

Needs both engines, so it runs in .venv-vllm (`make vllm-env`); started from another environment it re-runs itself
there when .venv-vllm exists, else it measures the HF engine alone and says so.

    .venv-vllm/bin/python benchmarks/bench_rollout.py [--prompts 32] [--k 8] [--max-new-tokens 72] [--repeats 3]
                                                       [--model PATH] [--dtype float32|bfloat16]

Model: --model, else the shipped tiny model data/tinylm, else a random toy Llama (powerflow_nb.rollout.toy_lm).
Both engines sample the same prompts with the same SamplingConfig (temperature 1); tokens/s counts generated tokens
(EOS included), median of --repeats timed runs after one warm-up run each. Prints a table of ratios to HF measured in
this one run, plus the vLLM engine start time and the weight-push time."""
import argparse, importlib.util, os, statistics, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VLLM_PY = ROOT/'.venv-vllm'/'bin'/'python'


def _has_vllm():
    s = importlib.util.find_spec('vllm')
    return s is not None and s.origin is not None


def load(args):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from powerflow_nb.rollout import toy_lm
    path = Path(args.model) if args.model else ROOT/'data'/'tinylm'
    if (path/'config.json').is_file():
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, args.dtype)).eval()
        name = path.name
    else:
        if args.model: raise SystemExit(f'no model at {path} (config.json missing)')
        (model, tok), name = toy_lm(), 'random toy Llama (data/tinylm not found)'
        model = model.to(getattr(torch, args.dtype))
    try:
        from powerflow_nb.tinylm import addition_prompts
        prompts = addition_prompts(args.prompts, seed=99)
    except Exception:
        prompts = [f'{a}+{b}=' for a, b in zip(range(10, 10 + args.prompts), range(77, 77 + args.prompts))]
    return model, tok, prompts, name


def timed_runs(eng, prompts, cfg_fn, repeats):
    eng.generate(prompts, cfg_fn(0))                  # warm-up
    runs = []
    for r in range(repeats):
        t = time.perf_counter(); ro = eng.generate(prompts, cfg_fn(r + 1)); dt = time.perf_counter() - t
        runs.append((int(ro.lengths.sum()) / dt, int(ro.lengths.sum()), dt, ro.lengths.float().mean().item()))
    return sorted(runs)[len(runs) // 2]               # the median run by tokens/s


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--prompts', type=int, default=32)
    p.add_argument('--k', type=int, default=8)
    p.add_argument('--max-new-tokens', type=int, default=72)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--model', default=None)
    p.add_argument('--dtype', choices=['float32', 'bfloat16'], default='float32')
    a = p.parse_args(argv)
    if not _has_vllm() and VLLM_PY.exists() and os.environ.get('POWERFLOW_BENCH_REEXEC') != '1':
        print(f're-running in .venv-vllm ({VLLM_PY})', flush=True)
        env = {**os.environ, 'POWERFLOW_BENCH_REEXEC': '1'}
        os.execve(str(VLLM_PY), [str(VLLM_PY), __file__, *(sys.argv[1:] if argv is None else argv)], env)
    os.environ.setdefault('VLLM_ENABLE_V1_MULTIPROCESSING', '0')
    import torch
    from powerflow_nb.rollout import HFEngine, VLLMEngine, SamplingConfig
    model, tok, prompts, name = load(a)
    threads = torch.get_num_threads()
    cfg = lambda s: SamplingConfig(k=a.k, temperature=1.0, max_new_tokens=a.max_new_tokens, seed=s)
    rows = [('HF generate', *timed_runs(HFEngine(model, tok), prompts, cfg, a.repeats))]
    extra = ''
    if _has_vllm():
        v = VLLMEngine(model, tok, dtype=a.dtype)
        rows.append(('vLLM (in-process)', *timed_runs(v, prompts, cfg, a.repeats)))
        push = statistics.median(v.push_weights(model) for _ in range(3))
        extra = f'vLLM engine start {v.start_seconds:.1f} s; weight push {push * 1000:.0f} ms (median of 3)'
        v.close()
    else:
        extra = 'vLLM not available (make vllm-env): HF engine only'
    n_params = sum(p.numel() for p in model.parameters())
    print(f'\nmodel: {name} ({n_params / 1e6:.2f}M parameters, {a.dtype}); {len(prompts)} prompts x k={a.k}, '
          f'max_new_tokens={a.max_new_tokens}, temperature 1; torch threads {threads}; median of {a.repeats} runs\n')
    print('| engine | tokens/s | ratio to HF | tokens | seconds | mean length |')
    print('|---|---|---|---|---|---|')
    base = rows[0][1]
    for eng, tps, ntok, dt, mlen in rows:
        print(f'| {eng} | {tps:.0f} | {tps / base:.2f} | {ntok} | {dt:.2f} | {mlen:.1f} |')
    print(f'\n{extra}')


if __name__ == '__main__':
    main()
