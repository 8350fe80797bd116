"""Step time of a PowerFlow step against a GRPO-style step (same trainer, same rollout batch, same model).

GRPO-style = group-normalised advantage policy gradient on a label reward, with NO reference/base-model forward.
PowerFlow needs one extra no-grad forward of the base model (full fine-tuning: a frozen copy; LoRA: the same
network inside `disable_adapter()`). Both variants are timed on one fixed rollout batch, interleaved
(A B A B ...), median of `--repeats`; the rollout itself is timed separately, because a real step also pays it.

    python benchmarks/bench_trainer.py [--repeats 7] [--prompts 8] [--k 8] [--threads 2]

Prints a table of ratios measured in this one run. Target: PowerFlow / GRPO <= 1.10 for the full step."""
import argparse, statistics, sys, tempfile, time
import torch


def timed(fn):
    t = time.perf_counter(); fn(); return time.perf_counter() - t


def bench(lora, args):
    from powerflow_nb.trainer import Trainer, TrainConfig
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig.load(None, [f'out_dir={d}', f'lora={str(lora).lower()}', f'prompts_per_step={args.prompts}',
                                      f'k={args.k}', f'max_new_tokens={args.max_new_tokens}', 'logz=mlp',
                                      'progress=false', f'threads={args.threads}', 'lr=1e-5'])
        tr = Trainer(cfg)
        ro, idx = tr.make_rollout(0)
        t_roll = statistics.median(timed(lambda: tr.make_rollout(0)) for _ in range(max(1, args.repeats // 2)))

        def step(objective):
            tr.cfg.objective, tr.needs_base = objective, objective != 'grpo'
            s = tr.score(ro, idx)
            tr.update(ro, s)
        step('powerflow'); step('grpo')                                   # warm-up
        t = {'powerflow': [], 'grpo': []}
        for _ in range(args.repeats):
            for name in ('grpo', 'powerflow'): t[name].append(timed(lambda: step(name)))
        pf, gr = statistics.median(t['powerflow']), statistics.median(t['grpo'])
        tokens = int(ro.lengths.sum())
        return {'mode': 'LoRA' if lora else 'full', 'rollout_s': t_roll, 'grpo_update_s': gr, 'pf_update_s': pf,
                'update_ratio': pf / gr, 'step_ratio': (t_roll + pf) / (t_roll + gr), 'tokens': tokens}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeats', type=int, default=7)
    p.add_argument('--prompts', type=int, default=8, help='prompts per step')
    p.add_argument('--k', type=int, default=8, help='samples per prompt')
    p.add_argument('--max-new-tokens', type=int, default=72)
    p.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    a = p.parse_args(argv)
    rows = [bench(False, a), bench(True, a)]
    print(f"\ntinylm, {a.prompts} prompts x {a.k} samples per step, median of {a.repeats}, torch threads "
          f"{torch.get_num_threads()}\n")
    print('| mode | rollout s | GRPO update s | PowerFlow update s | update ratio | full-step ratio (with rollout) |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        print(f"| {r['mode']} | {r['rollout_s']:.3f} | {r['grpo_update_s']:.3f} | {r['pf_update_s']:.3f} | "
              f"{r['update_ratio']:.3f} | {r['step_ratio']:.3f} |")
    worst = max(r['step_ratio'] for r in rows)
    print(f"\nPowerFlow overhead over a GRPO-style step (with rollout): {100*(worst-1):+.1f}% (target <= +10%)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
