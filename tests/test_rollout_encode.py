"""Prompt encoding never yields two BOS tokens, with the chat templates of the instruct models our recipes and configs
name: SmolLM2-135M-Instruct (the real tokenizer, offline via powerflow_nb.smollm), Llama-3.2-Instruct and
Qwen2.5-Math-1.5B (small stand-in tokenizers with the real special tokens and chat templates, tests/fixtures/tokenizers)."""
from pathlib import Path
import pytest
from transformers import AutoTokenizer
from powerflow_nb.rollout import HFEngine, toy_lm, toy_tokenizer

FIX = Path(__file__).resolve().parent/'fixtures'/'tokenizers'
MSG = [{'role': 'user', 'content': 'What is 12+34?'}]


def _chat(tok): return tok.apply_chat_template(MSG, tokenize=False, add_generation_prompt=True)


def _smollm_tokenizer():
    from powerflow_nb.smollm import smollm_cache_dir, find_smollm_gguf
    d = smollm_cache_dir()
    if (d/'tokenizer.json').is_file(): return AutoTokenizer.from_pretrained(d)
    try: g = find_smollm_gguf()
    except FileNotFoundError as e: pytest.skip(str(e))
    pytest.importorskip('gguf')
    return AutoTokenizer.from_pretrained(g.parent, gguf_file=g.name)   # tokenizer only: seconds, no model conversion


@pytest.fixture(scope='module')
def toks():
    return {'llama3.2-instruct': AutoTokenizer.from_pretrained(FIX/'llama3_2_instruct'),
            'qwen2.5-math': AutoTokenizer.from_pretrained(FIX/'qwen2_5_math'),
            'smollm2-instruct': _smollm_tokenizer()}


def _n_leading_bos(tok, ids):
    n = 0
    while n < len(ids) and tok.bos_token_id is not None and ids[n] == tok.bos_token_id: n += 1
    return n


def test_fixtures_reproduce_the_trap(toks):
    "The Llama 3 fixture is faithful: its template writes BOS and its tokenizer adds another (the bug being fixed)"
    t = toks['llama3.2-instruct']
    s = _chat(t)
    assert s.startswith('<|begin_of_text|><|start_header_id|>system<|end_header_id|>')
    assert _n_leading_bos(t, t(s).input_ids) == 2          # plain tokenizer call: two BOS
    assert _n_leading_bos(t, t('hi').input_ids) == 1       # raw text: the tokenizer adds one
    q = toks['qwen2.5-math']
    assert q.bos_token is None and _chat(q).startswith('<|im_start|>system\nPlease reason step by step')


@pytest.mark.parametrize('name', ['llama3.2-instruct', 'qwen2.5-math', 'smollm2-instruct'])
def test_engine_encode_chat_prompt_has_one_bos(toks, name):
    tok = toks[name]
    model, _ = toy_lm()
    ids = HFEngine(model, tok).encode([_chat(tok)])[0]
    plain = tok(_chat(tok), add_special_tokens=False).input_ids
    assert ids == plain, 'a templated prompt already holds every special token it needs'
    if tok.bos_token_id is not None and plain[0] == tok.bos_token_id:
        assert _n_leading_bos(tok, ids) == 1
    if name == 'llama3.2-instruct': assert tok.convert_ids_to_tokens(ids[:2]) == ['<|begin_of_text|>', '<|start_header_id|>']
    if name == 'smollm2-instruct': assert tok.convert_ids_to_tokens(ids[:2]) == ['<|im_start|>', 'system']
    if name == 'qwen2.5-math': assert tok.convert_ids_to_tokens(ids[:2]) == ['<|im_start|>', 's']


def test_encode_prompts_raw_text_keeps_the_tokenizers_bos(toks):
    from powerflow_nb.rollout import encode_prompts
    t = toks['llama3.2-instruct']
    raw = encode_prompts(t, ['What is 12+34?', _chat(t)])
    assert _n_leading_bos(t, raw[0]) == 1 and _n_leading_bos(t, raw[1]) == 1
    assert raw[0] == t('What is 12+34?').input_ids
    tt = toy_tokenizer()     # the toy/tiny tokenizers add <bos>: raw prompts still get it, written-out ones not twice
    assert encode_prompts(tt, ['12+3', '<bos>12+3']) == [[1, 5, 6, 14, 7]] * 2
    q = toks['qwen2.5-math']
    assert encode_prompts(q, 'hi') == [q('hi').input_ids]
