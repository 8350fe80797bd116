"""The project stands on its own: no tracked file points to a document that is not in the repository.

The paper, its formulas and notation, its reported numbers and the facts about the machines live in
`nbs/00_paper.ipynb`; a page cites that (or states the fact), never an internal design document. The words are
built from pieces so that this file does not match itself."""
import re, shutil, subprocess
import pytest
from conftest import ROOT

WORD = 'S' + 'PEC'
# the bare word (not TORCH_..., VLLM_... or SPECIAL_TOKENS), a section sign after the word in any case, or the file name
PATTERNS = [re.compile(rf'\b{WORD}\b'), re.compile(rf'(?i)\b{WORD}\s*§'), re.compile(rf'(?i)\b{WORD}\.md\b')]


def tracked_text_files():
    "(path, text) of every file git tracks that is text (no NUL byte in its first 8 kB)"
    out = subprocess.run(['git', 'ls-files', '-z'], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, out.decode().split('\0')):
        p = ROOT/name
        if not p.is_file(): continue            # deleted in the work tree, or a submodule
        data = p.read_bytes()
        if b'\0' in data[:8192]: continue
        yield name, data.decode('utf-8', errors='replace')


def mentions(text):
    "Line numbers and lines of `text` that cite the internal document"
    return [(i, line.strip()[:160]) for i, line in enumerate(text.splitlines(), 1) if any(p.search(line) for p in PATTERNS)]


def test_patterns():
    assert mentions(f'see {WORD} §3') and mentions(f'({WORD.lower()} §7)') and mentions(f'{WORD}.md') and mentions(WORD)
    assert not mentions('TORCH_' + WORD + ' ?= torch') and not mentions(WORD + 'IAL_TOKENS') and not mentions(WORD + 'S OF')
    assert not mentions('a Vega-Lite spec') and not mentions('importlib.util.find_spec')


@pytest.mark.skipif(not (ROOT/'.git').exists() or not shutil.which('git'), reason='needs a git checkout')
def test_no_internal_document():
    found = {name: hits for name, text in tracked_text_files() if (hits := mentions(text))}
    assert not found, ('tracked files cite a document that is not in the repository: cite nbs/00_paper.ipynb '
                       f'or state the fact instead:\n' + '\n'.join(f'{n}:{i}: {l}' for n, hs in found.items() for i, l in hs))
