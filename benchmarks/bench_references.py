"""Power sampling's cost on the shipped tiny model: where the time goes (batched `generate` of the proposals vs the
teacher-forced scoring of the MH ratio), against plain T = 1/alpha sampling of the same prompts.

    .venv/bin/python benchmarks/bench_references.py [--problems 16] [--k 8] [--steps 5] [--block-size 16] [--threads 1]

Prints one table: wall seconds and tokens for T = 1/alpha sampling and for power sampling, split into proposal
generation and scoring, plus the acceptance rate. Same held-out prompts as the measurement in nbs/12_references.ipynb."""
import argparse, time
import torch


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--problems', type=int, default=16); p.add_argument('--k', type=int, default=8)
    p.add_argument('--steps', type=int, default=5); p.add_argument('--block-size', type=int, default=16)
    p.add_argument('--alpha', type=float, default=4.0); p.add_argument('--max-new-tokens', type=int, default=72)
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    import powerflow_nb.references as R
    from powerflow_nb.tinylm import load_tinylm
    from powerflow_nb.eval import eval_rows
    model, tok = load_tinylm()
    prompts = [r['prompt'] for r in eval_rows('addition', a.problems)]
    t0 = time.perf_counter()
    _, lens, _ = R.low_temperature_sample(model, tok, prompts, a.alpha, a.k, a.max_new_tokens, seed=0)
    t_low = time.perf_counter() - t0
    spent = {'propose': 0.0, 'score': 0.0}
    def timed(name, f):
        def g(*args, **kw):
            s = time.perf_counter(); out = f(*args, **kw); spent[name] += time.perf_counter() - s; return out
        return g
    orig = R._propose, R.token_logps_at
    R._propose, R.token_logps_at = timed('propose', R._propose), timed('score', R.token_logps_at)
    try: ps = R.power_sample(model, tok, prompts, a.alpha, a.k, a.max_new_tokens, seed=0, block_size=a.block_size, steps=a.steps)
    finally: R._propose, R.token_logps_at = orig
    st = ps.stats
    print(f'{a.problems} problems x {a.k} samples, alpha {a.alpha}, {a.threads} thread(s)')
    print(f'{"":28}{"seconds":>9}{"tokens/sample":>15}')
    print(f'{"T = 1/alpha sampling":28}{t_low:9.1f}{lens.mean():15.1f}')
    print(f'{"power sampling, total":28}{st["seconds"]:9.1f}{st["tokens_generated_per_sample"]:15.1f}')
    print(f'{"  proposals (generate)":28}{spent["propose"]:9.1f}')
    print(f'{"  MH scoring (teacher f.)":28}{spent["score"]:9.1f}{st["tokens_scored_per_sample"]:15.1f}')
    print(f'{"  other":28}{st["seconds"] - spent["propose"] - spent["score"]:9.1f}')
    print(f'acceptance {st["accept_rate"]:.3f} over {st["steps"]} steps; wall-time ratio {st["seconds"] / t_low:.1f}x')


if __name__ == '__main__':
    main()
