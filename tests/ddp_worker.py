"""Run by tests/test_ddp.py under `accelerate launch --multi_gpu --num_processes 2` (gloo, Accelerator(cpu=True)):
one rollout batch and one update per rank; saves the rank's rollout and the gradients the optimizer saw."""
import pickle, sys
from pathlib import Path
import torch
from powerflow_nb.trainer import Trainer, TrainConfig

out = Path(sys.argv[1]); args = sys.argv[2:]
tr = Trainer(TrainConfig.load(None, args + [f'out_dir={out}', 'cpu=true']))
params = {'policy.' + n: p for n, p in tr.acc.unwrap_model(tr.model).named_parameters() if p.requires_grad}
if tr.logz.module is not None:
    params.update({'logz.' + n: p for n, p in tr.acc.unwrap_model(tr.logz.module).named_parameters()})
seen = {}
step = tr.opt.step
def record_then_step(*a, **kw):
    seen.update({n: p.grad.detach().clone() for n, p in params.items() if p.grad is not None})
    return step(*a, **kw)
tr.opt.step = record_then_step
ro, idx = tr.make_rollout(0)
s = tr.score(ro, idx)
tr.update(ro, s)
after = {n: p.detach().clone() for n, p in params.items()}
with open(out/f'rank{tr.rank}.pkl', 'wb') as f:
    pickle.dump({'rollout': ro, 'idx': idx, 'grads': seen, 'params': after, 'world': tr.world}, f)
