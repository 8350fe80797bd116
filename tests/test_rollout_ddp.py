"""The chunked training forward under DDP (two gloo processes): the forward goes through the wrapped model's own
__call__ and the output head is applied to the captured hidden state outside it, under checkpointing; the gradients
must still be all-reduced: both ranks hold the same gradient, equal to one process's gradient on the whole batch."""
import os, pickle, socket, subprocess, sys
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _rollout():
    from powerflow_nb.rollout import HFEngine, SamplingConfig
    from powerflow_nb.tinylm import load_tinylm, addition_problems
    model, tok = load_tinylm()
    return HFEngine(model, tok).generate([p['prompt'] for p in addition_problems(4, seed=7)],
                                         SamplingConfig(k=3, temperature=1.5, max_new_tokens=40, seed=1))


def _rows(ro, prompts):
    "The sub-rollout of the given prompts (what scoring reads: token ids and lengths)"
    from powerflow_nb.rollout import Rollout
    keep = [b for b, p in enumerate(ro.prompt_index.tolist()) if p in prompts]
    pick = lambda xs: [xs[b] for b in keep]
    return Rollout([ro.prompts[p] for p in prompts], torch.tensor([prompts.index(int(ro.prompt_index[b])) for b in keep]),
                   pick(ro.prompt_ids), pick(ro.response_ids), pick(ro.texts), ro.lengths[keep], ro.finished[keep])


def _loss(model, ro, **kw):
    from powerflow_nb.rollout import response_logprobs
    lp, n = response_logprobs(model, ro, **kw)
    return (lp / n).mean()


def _worker(rank, world, port, folder):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    from powerflow_nb.tinylm import load_tinylm
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    ro = pickle.load(open(Path(folder)/'rollout.pkl', 'rb'))
    half = _rows(ro, [0, 1] if rank == 0 else [2, 3])
    model, _ = load_tinylm()
    ddp = DDP(model)
    _loss(ddp, half, batch_size=4, logit_chunk=5).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    pickle.dump(grads, open(Path(folder)/f'rank{rank}.pkl', 'wb'))
    dist.destroy_process_group()


def test_ddp_gradients_are_all_reduced(tmp_path):
    from powerflow_nb.tinylm import load_tinylm
    ro = _rollout()
    pickle.dump(ro, open(tmp_path/'rollout.pkl', 'wb'))
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT)}
    r = subprocess.run([sys.executable, __file__, str(tmp_path), str(_free_port())], env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    g0, g1 = (pickle.load(open(tmp_path/f'rank{i}.pkl', 'rb')) for i in (0, 1))
    model, _ = load_tinylm()
    _loss(model, ro).backward()                       # one process, the whole batch, unchunked
    full = {n: p.grad for n, p in model.named_parameters()}
    model.zero_grad(); _loss(model, _rows(ro, [0, 1])).backward()
    own = {n: p.grad for n, p in model.named_parameters()}
    norm = lambda d: sum(float(v.norm() ** 2) for v in d.values()) ** 0.5
    assert g0.keys() == g1.keys() == full.keys()
    for k in g0: assert torch.equal(g0[k], g1[k]), k   # all-reduced: identical on both ranks
    assert norm({k: g0[k] - full[k] for k in full}) / norm(full) < 1e-5
    assert norm({k: own[k] - full[k] for k in full}) / norm(full) > 1e-2   # and not rank 0's own half


if __name__ == '__main__':
    import torch.multiprocessing as mp
    mp.spawn(_worker, args=(2, int(sys.argv[2]), sys.argv[1]), nprocs=2, join=True)
