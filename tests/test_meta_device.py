"""Every loss, reward, advantage and metric function runs on tensors of any device. The `meta` device (shapes and dtypes,
no data) catches on CPU what would be a device-mismatch error on a GPU: a tensor allocated on the default device and
mixed with the inputs, a `.item()`/`.tolist()`/`bool()` on a tensor that was meant to stay on the accelerator.

Functions whose work is data-dependent by nature take their data on the CPU and put the result on the device they are
told: `consensus_reward` (groups answers: its `device=` argument, default the prompt index's device) and the format
penalties (they read texts: CPU result, the trainer moves it)."""
import math
import pytest
import torch

META = torch.device('meta')
B, K = 8, 4


def _batch(dtype=torch.float32):
    "A PowerFlow batch of B samples (two prompts of K) on the meta device."
    g = torch.Generator().manual_seed(0)
    logp = (-torch.rand(B, generator=g) * 20).to(dtype)
    lengths = torch.randint(1, 30, (B,), generator=g)
    base = (-torch.rand(B, generator=g) * 20).to(dtype)
    return {k: v.to(META) for k, v in dict(logp=logp, lengths=lengths, base=base,
                                            psi=torch.zeros(B, dtype=dtype), w=torch.ones(B, dtype=dtype),
                                            prompt_index=torch.arange(B // K).repeat_interleave(K)).items()}


def _meta(t, shape=None):
    assert t.device.type == 'meta', t.device
    if shape is not None: assert tuple(t.shape) == tuple(shape), t.shape


@pytest.mark.parametrize('name', ['powerflow', 'tb_traj', 'tb_token', 'rl_traj', 'rl_token'])
@pytest.mark.parametrize('log_z', ['tensor', 'group', 'number'])
def test_objective_losses_on_meta(name, log_z):
    from powerflow_nb.objectives import get_objective, residual, group_log_z, log_reward
    b = _batch()
    lz = {'tensor': torch.zeros(B, device=META), 'group': 'group', 'number': 0.5}[log_z]
    loss = get_objective(name)(b['logp'], b['lengths'], b['base'], lz, alpha=4., weights=b['w'], psi=b['psi'],
                               group_size=K)
    _meta(loss, ())
    none = get_objective(name)(b['logp'], b['lengths'], b['base'], lz, alpha=4., group_size=K, reduction='none')
    _meta(none, (B,))
    r = residual(name, b['logp'], b['lengths'], b['base'], 0., alpha=4., psi=b['psi'])
    _meta(r, (B,)); _meta(group_log_z(r, K), (B,))
    _meta(log_reward(b['base'], b['lengths'], 4., b['psi']), (B,))


@pytest.mark.parametrize('mode', ['sequence', 'token_mean'])
def test_importance_weights_on_meta(mode):
    from powerflow_nb.objectives import importance_weights
    b = _batch()
    _meta(importance_weights(b['logp'], b['base'], b['lengths'], mode=mode), (B,))


def test_log_z_heads_on_meta():
    from powerflow_nb.objectives import ScalarLogZ, TableLogZ, MLPLogZ
    with META:
        heads = ScalarLogZ(init=1.), TableLogZ(5), MLPLogZ(d_model=16)
    idx = torch.tensor([0, 3, 3, 1], device=META)
    _meta(heads[0](idx), (4,)); _meta(heads[1](idx), (4,))
    _meta(heads[2](hidden=torch.zeros(4, 7, 16, device=META), mask=torch.ones(4, 7, device=META)), (4,))


def test_trainer_logz_wrapper_on_meta():
    "The trainer's sample_log_z routes the scores' tensors to the log Z' estimator's device."
    from powerflow_nb.objectives import ScalarLogZ, TableLogZ, MLPLogZ
    from powerflow_nb.trainer import sample_log_z
    s = {'prompt_row': torch.tensor([4, 4, 9, 9]), 'sample_prompt': torch.tensor([0, 0, 1, 1]),
         'hidden': torch.zeros(2, 16)}
    sel = torch.tensor([0, 2, 3])
    with META:
        mods = {'scalar': ScalarLogZ(), 'table': TableLogZ(12), 'mlp': MLPLogZ(d_model=16)}
    for kind, mod in mods.items():
        _meta(sample_log_z(mod, s['prompt_row'][sel], s['hidden'][s['sample_prompt'][sel]] if kind == 'mlp' else None), (3,))
    assert sample_log_z(None, s['prompt_row'][sel]) == 'group'


def test_group_normalised_and_grpo_on_meta():
    "CPU-allocated group statistics mixed with device inputs failed here (a device mismatch on a GPU)."
    from powerflow_nb.trainer import group_normalised, grpo_loss
    b = _batch()
    reward = torch.zeros(B, device=META)
    _meta(group_normalised(reward, b['prompt_index']), (B,))
    assert group_normalised(reward.double(), b['prompt_index']).dtype == torch.float64
    _meta(grpo_loss(b['logp'], b['lengths'], reward, b['prompt_index'], b['w']), ())


def test_group_normalised_keeps_values():
    "The device fix keeps the numbers (CPU reference)."
    from powerflow_nb.trainer import group_normalised
    x, idx = torch.tensor([1., 0, 0, 1, 1, 1]), torch.tensor([0, 0, 1, 1, 2, 2])
    torch.testing.assert_close(group_normalised(x, idx), torch.tensor([1., -1, -1, 1, 0, 0]), atol=1e-4, rtol=0)
    torch.testing.assert_close(group_normalised(x.double(), idx), torch.tensor([1., -1, -1, 1, 0, 0]).double(),
                               atol=1e-4, rtol=0)


def test_consensus_reward_device():
    "Grouping answers needs their values (CPU); the reward lands on `device` (default: the prompt index's)."
    from powerflow_nb.trainer import consensus_reward
    idx = torch.tensor([0, 0, 1, 1])
    for kind in ('empo', 'ttrl'):
        r = consensus_reward(['1', '1', '2', None], idx, kind, device=META)
        _meta(r, (4,))
        assert consensus_reward(['1', '1', '2', None], idx, kind).device.type == 'cpu'


def test_self_certainty_on_meta():
    "Intuitor's reward on a model that lives on the meta device."
    from transformers import LlamaConfig, LlamaForCausalLM
    from powerflow_nb.rollout import Rollout
    from powerflow_nb.rollout import self_certainty
    cfg = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=2, max_position_embeddings=64,
                      attn_implementation='eager')   # sdpa's mask shortcut reads the mask's values: not on meta
    with META: model = LlamaForCausalLM(cfg)
    ro = Rollout(prompts=['a'], prompt_index=torch.tensor([0, 0]), prompt_ids=[[1, 2], [1, 2]],
                 response_ids=[[3, 4, 5], [6]], texts=['', ''], lengths=torch.tensor([3, 1]),
                 finished=torch.tensor([True, True]), sample_logp=torch.zeros(2))
    _meta(self_certainty(model, ro), (2,))


def test_step_metrics_on_meta():
    "The per-step metric reduction is tensor arithmetic on the inputs' device (no .item() before the reduce)."
    from powerflow_nb.trainer import metric_sums, metrics_from_sums
    b = _batch()
    sums = metric_sums(loss=torch.zeros((), device=META), loss_last=torch.zeros((), device=META),
                       lengths=b['lengths'], logp=b['logp'], logz=torch.zeros(B, device=META),
                       finished=torch.ones(B, dtype=torch.bool, device=META), correct=torch.zeros(B, device=META),
                       base_logp=b['base'], reward=torch.zeros(B, device=META),
                       iw_clipped=torch.zeros(2 * B, dtype=torch.bool, device=META))
    _meta(sums)
    m = metrics_from_sums(sums, b['lengths'].max(), world=2)
    for k, v in m.items(): _meta(v, ())


def test_step_metrics_values():
    "The same reduction on CPU gives the documented means."
    from powerflow_nb.trainer import metric_sums, metrics_from_sums
    L = torch.tensor([2, 4]); logp = torch.tensor([-2., -6.])
    sums = metric_sums(loss=torch.tensor(1.5), loss_last=torch.tensor(0.5), lengths=L, logp=logp,
                       logz=torch.tensor([0.1, 0.3]), finished=torch.tensor([True, False]),
                       correct=torch.tensor([1., 0.]), base_logp=torch.tensor([-4., -4.]), reward=None,
                       iw_clipped=torch.tensor([True, False, False, False]))
    m = {k: float(v) for k, v in metrics_from_sums(sums, L.max(), world=1).items()}
    assert m['loss'] == 1.5 and m['loss_last_update'] == 0.5 and m['length_mean'] == 3 and m['length_max'] == 4
    assert m['entropy'] == pytest.approx(8 / 6) and m['finished_frac'] == 0.5 and m['accuracy'] == 0.5
    assert m['logz_mean'] == pytest.approx(0.2) and m['base_logp_per_token'] == pytest.approx(-1.5)
    assert m['iw_clipped_frac'] == 0.25 and m['reward'] == 0
