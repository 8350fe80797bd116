"""How long the exact toy computations take for about a million sequences, and one α-slider update.

Every timing is the median of `--repeat` runs (wall clock and process CPU time), with its ratio to a baseline
measured in the same run on the same machine: `torch.logsumexp` over as many float64 numbers as there are
sequences (for the tensor work) and `numpy.sort` of as many float64 numbers (for the sorting work). Targets:
each exact computation under 2 s, one slider update under 200 ms (on 2 cores). The ratios are what to compare
across machines and loads; the absolute numbers move with whatever else the machine is doing.

    .venv/bin/python benchmarks/bench_toy.py [--V 4 --L 11 --repeat 3]
"""
import argparse, os, statistics, time
import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from powerflow_nb.target import power_logp, entropy
from powerflow_nb.toy import (ToyLM, ToyWorld, alpha_explorer, enumerate_sequences, seq_logp, pi_star, kl, length_dist,
                              token_target_logp, inversion_rate, repetition_rate, sample)


def timed(fn, repeat):
    "median (wall s, cpu s) over `repeat` calls, and the last result"
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w); cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--V', type=int, default=4, help='ordinary tokens (default 4)')
    p.add_argument('--L', type=int, default=11, help='maximum length (default 11: 1,398,101 sequences)')
    p.add_argument('--alpha', type=float, default=4.0)
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--slider-moves', type=int, default=12)
    p.add_argument('--threads', type=int, default=0, help='torch intra-op threads (default: torch chooses)')
    args = p.parse_args(argv)
    if args.threads: torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    N = (args.V ** args.L - 1) // (args.V - 1) if args.V > 1 else args.L
    console = Console()
    console.print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, '
                  f'load average {os.getloadavg()[0]:.1f}; V={args.V}, L={args.L}: {N:,} sequences')

    x = torch.randn(N, dtype=torch.float64)
    xn = x.numpy().copy()
    base_lse = timed(lambda: torch.logsumexp(x, 0), args.repeat)
    base_sort = timed(lambda: np.sort(xn), args.repeat)

    rows = []
    def add(name, res, baseline, target=2.0):
        rows.append((name, res[0], res[1], res[0] / baseline[0], target))
        return res[2]

    seqs = add('enumerate_sequences', timed(lambda: enumerate_sequences(args.V, args.L), args.repeat), base_lse)
    model = ToyLM.length_biased(V=args.V, L=args.L, p_eos=0.25, noise=1.0, seed=1, min_len=3)
    table = model.log_probs()
    logp = add('seq_logp (prefix-tree walk)', timed(lambda: seq_logp(table, seqs), args.repeat), base_lse)
    general = seqs[torch.arange(len(seqs))]            # same sequences, but the general gather path
    add('seq_logp (gather, first call)', timed(lambda: seq_logp(table, general), 1), base_lse)
    add('seq_logp (gather, cached index)', timed(lambda: seq_logp(table, general), args.repeat), base_lse)
    tab = table.clone().requires_grad_()
    add('seq_logp + backward (tree walk)', timed(lambda: seq_logp(tab, seqs).exp().sum().backward(), args.repeat), base_lse)
    logp_a = add('power_logp (p_α)', timed(lambda: power_logp(logp, args.alpha), args.repeat), base_lse)
    logp_s, lam = add('pi_star (π*, λ by brentq)', timed(lambda: pi_star(logp, seqs.lengths, args.alpha), args.repeat), base_lse)
    add('kl(π* ‖ p_α)', timed(lambda: kl(logp_s, logp_a), args.repeat), base_lse)
    add('entropy(p_α)', timed(lambda: entropy(logp_a), args.repeat), base_lse)
    add('length_dist(π*)', timed(lambda: length_dist(logp_s, seqs.lengths, args.L), args.repeat), base_lse)
    add('token_target_logp', timed(lambda: token_target_logp(logp, seqs.lengths, args.alpha), args.repeat), base_lse)
    add('repetition_rate (first call)', timed(lambda: repetition_rate(logp, seqs), 1), base_lse)
    add('inversion_rate (unweighted)', timed(lambda: inversion_rate(args.alpha * logp, logp_s), args.repeat), base_sort)
    add('inversion_rate (weighted by π*)', timed(lambda: inversion_rate(args.alpha * logp, logp_s, logp_s.exp()), args.repeat), base_sort)
    add('sample 100k (ancestral)', timed(lambda: sample(table, 100_000, torch.Generator().manual_seed(0)), args.repeat), base_lse)

    # one slider update of the α explorer (default toy, 29,524 sequences), every α new (no cache hits)
    ui = alpha_explorer(alpha=1.0)
    alphas = np.geomspace(0.1, 10, args.slider_moves) * (1 + 1e-4 * np.arange(args.slider_moves))
    walls, cpus = [], []
    for a in alphas:
        w, c = time.perf_counter(), time.process_time()
        ui.slider.value = float(a)
        walls.append(time.perf_counter() - w); cpus.append(time.process_time() - c)
    rows.append(('α-slider update (29,524 seqs, SVG)', statistics.median(walls), statistics.median(cpus),
                 statistics.median(walls) / base_lse[0], 0.2))
    svg_w, svg_c, _ = timed(lambda: ui.renderer.svg(3.3), args.repeat)
    rows.append(('  of which: chart render (vl-convert)', svg_w, svg_c, svg_w / base_lse[0], 0.2))

    t = Table(title=f'Exact toy computations, {N:,} sequences (median of {args.repeat}; ratio = wall / baseline wall)')
    for col in ['computation', 'wall', 'cpu', 'ratio', 'target', 'ok (wall)', 'ok (cpu)']:
        t.add_column(col, justify='left' if col == 'computation' else 'right')
    t.add_row('baseline: torch.logsumexp over N float64', f'{base_lse[0]*1e3:.1f} ms', f'{base_lse[1]*1e3:.1f} ms', '1.0', '', '', '')
    t.add_row('baseline: numpy sort of N float64', f'{base_sort[0]*1e3:.1f} ms', f'{base_sort[1]*1e3:.1f} ms',
              f'{base_sort[0] / base_lse[0]:.1f} (vs logsumexp)', '', '', '')
    for name, w, c, r, target in rows:
        t.add_row(name, f'{w*1e3:.1f} ms', f'{c*1e3:.1f} ms', f'{r:.1f}', f'< {target*1e3:.0f} ms', '✓' if w < target else '✗',
                  '✓' if c < target else '✗')
    t.caption = ('cpu = process CPU time (all threads); on a loaded machine wall >> cpu, and cpu is the better guide to an idle '
                 'machine for single-threaded work. Inversion rates are compared with the numpy-sort baseline.')
    console.print(t)
    console.print(f'λ at α={args.alpha}: {lam:.4f}; KL(π*‖p_α) = {kl(logp_s, logp_a).item():.4f}; '
                  f'slider update wall: min {min(walls)*1e3:.0f} ms, max {max(walls)*1e3:.0f} ms')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
