"""A few PowerFlow training steps on any CUDA machine with a RANDOMLY INITIALISED model of Qwen2.5-1.5B's shape
(config built by hand: no download, no hub). Prints rollout/training tokens/s and peak GPU memory.

    python scripts/smoke_gpu.py [--steps 3] [--lora] [--max-new-tokens 256] [--k 4] [--prompts 2]

Not used by the tests. On a machine without CUDA it exits with a clear message (exit code 3)."""
import argparse, json, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def qwen25_15b_config(vocab_size=151936):
    "Qwen2.5-1.5B's shape (hidden 1536, 28 layers, 12 heads / 2 KV heads, MLP 8960, tied embeddings)."
    from transformers import Qwen2Config
    return Qwen2Config(vocab_size=vocab_size, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                       num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=4096, rope_theta=10000.0,
                       rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0)


def char_tokenizer(vocab_size=151936):
    "A character-level fast tokenizer padded to the model's vocabulary (ids beyond the characters decode as <x_i>)."
    import string
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, Regex
    from transformers import PreTrainedTokenizerFast
    vocab = {t: i for i, t in enumerate(['<pad>', '<s>', '</s>', '<unk>', '\n'] + list(string.printable[:95]))}
    for i in range(len(vocab), vocab_size): vocab[f'<x_{i}>'] = i
    tk = Tokenizer(models.WordLevel(vocab, unk_token='<unk>'))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r'[\s\S]'), behavior='isolated')
    tk.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token='<s>', eos_token='</s>', pad_token='<pad>',
                                   unk_token='<unk>', padding_side='left')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--lora', action='store_true', help='LoRA instead of full fine-tuning')
    p.add_argument('--max-new-tokens', type=int, default=256)
    p.add_argument('--k', type=int, default=4, help='samples per prompt')
    p.add_argument('--prompts', type=int, default=2, help='prompts per step')
    p.add_argument('--engine', default='hf', choices=['hf', 'vllm'])
    a = p.parse_args(argv)
    import torch
    if not torch.cuda.is_available():
        print('smoke_gpu: no CUDA device found (torch.cuda.is_available() is False). This script measures a GPU: '
              'run it on a machine with an NVIDIA GPU and a CUDA build of torch.', file=sys.stderr)
        return 3
    from powerflow_nb.trainer import Trainer, TrainConfig
    torch.manual_seed(0)
    t0 = time.perf_counter()
    model = __import__('transformers').Qwen2ForCausalLM(qwen25_15b_config())
    n_params = sum(p.numel() for p in model.parameters())
    tok = char_tokenizer()
    print(f'random Qwen2.5-1.5B-shaped model: {n_params/1e9:.2f}B parameters, built in {time.perf_counter()-t0:.0f} s',
          flush=True)
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig.load(ROOT/'configs'/'qwen2.5-math-1.5b_powerflow.yaml', [
            f'prompts={ROOT/"data"/"math_sample.jsonl"}', f'steps={a.steps}', f'k={a.k}', f'prompts_per_step={a.prompts}',
            f'max_new_tokens={a.max_new_tokens}', 'grad_accum=1', f'engine={a.engine}', f'lora={str(a.lora).lower()}',
            'lr=1e-6', 'save_every=0', f'out_dir={d}', 'progress=false'])
        tr = Trainer(cfg, model=model, tokenizer=tok, check_answer=lambda t, r: False)
        torch.cuda.reset_peak_memory_stats()
        rows = []
        for step in range(a.steps):
            torch.cuda.synchronize(); t = time.perf_counter()
            m = tr.step(step)
            torch.cuda.synchronize()
            rows.append(m)
            print(f"step {step+1}: {m['time_s']:.2f} s, {m['length_mean']:.0f} tokens/response, "
                  f"{m['tokens_per_s']:.0f} response tokens/s, loss {m['loss']:.3f}, log Z' {m['logz_mean']:.3f}", flush=True)
    peak = torch.cuda.max_memory_allocated() / 2**30
    best = max(r['tokens_per_s'] for r in rows[1:] or rows)
    print(json.dumps({'device': torch.cuda.get_device_name(), 'params_B': round(n_params/1e9, 3), 'lora': a.lora,
                      'prompts_x_k': f'{a.prompts}x{a.k}', 'max_new_tokens': a.max_new_tokens,
                      'tokens_per_s_best': round(best, 1), 'peak_gpu_mem_GiB': round(peak, 2)}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
