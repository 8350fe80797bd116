"""Run by tests/test_ddp.py under `accelerate launch --multi_gpu --num_processes 2` (gloo, Accelerator(cpu=True)).

`ddp_worker.py OUT [config overrides] --lr-trace [overrides]`: for every objective and baseline, one rollout batch and
one update per rank, saving the rank's rollout and the gradients the optimizer saw (OUT/NAME_rankR.pkl); then a short
run with the overrides after `--lr-trace`, saving the learning rate of every parameter group after each step
(OUT/lr_rankR.pkl). One launch for all of it: starting the two processes costs more than the work."""
import pickle, sys
from pathlib import Path
import torch
from powerflow_nb.trainer import Trainer, TrainConfig

OBJECTIVES = ('powerflow', 'tb_traj', 'rl_traj', 'tb_token', 'rl_token', 'grpo', 'intuitor', 'empo', 'ttrl')

out = Path(sys.argv[1]); rest = sys.argv[2:]
cut = rest.index('--lr-trace')
args, lr_args = rest[:cut], rest[cut + 1:]

for name in OBJECTIVES:
    tr = Trainer(TrainConfig.load(None, args + [f'objective={name}', f'out_dir={out/name}', 'cpu=true']))
    params = {'policy.' + n: p for n, p in tr.acc.unwrap_model(tr.model).named_parameters() if p.requires_grad}
    if tr.logz is not None:
        params.update({'logz.' + n: p for n, p in tr.acc.unwrap_model(tr.logz).named_parameters()})
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
    with open(out/f'{name}_rank{tr.rank}.pkl', 'wb') as f:
        pickle.dump({'rollout': ro, 'idx': idx, 'grads': seen, 'params': after, 'world': tr.world}, f)

tr = Trainer(TrainConfig.load(None, lr_args + [f'out_dir={out/"lr"}', 'cpu=true']))
lrs = []
for i in range(tr.cfg.steps):
    m = tr.step(i)
    lrs.append((m['lr'], [g['lr'] for g in tr.opt.param_groups]))
with open(out/f'lr_rank{tr.rank}.pkl', 'wb') as f: pickle.dump({'lrs': lrs, 'world': tr.world}, f)
