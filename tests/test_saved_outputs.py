"""The outputs saved in the notebooks are what the documentation site shows, so they must read cleanly.

Every saved output of every notebook (stream text, text/plain, text/html, text/markdown, errors; images are not read)
is scanned for: temporary-directory or developer paths, progress-bar residue, widget placeholders, raw long floats
(a slider or readout printing `0.3010299956639812`), tracebacks, and DataFrames printed as plain text wider than the
text column. A hit names the notebook, the cell id and the offending line; the fix belongs in the notebook (hide the
bar, format the number, show the table with `Markdown(df.to_markdown())`), then re-run the cell and save it."""
import json, re
import pytest
from conftest import NBS

NOTEBOOKS = sorted(p.name for p in NBS.glob('*.ipynb'))
WIDGET = 'application/vnd.jupyter.widget-view+json'
TEXT_TYPES = ('text/plain', 'text/html', 'text/markdown')
MAX_TABLE_WIDTH = 110

# (what is wrong, pattern); the words are built from pieces where this file would otherwise describe itself
RULES = [
    ('a temporary-directory or developer path', re.compile(r'(?<![\w.])/(?:tmp|work|root)/|\.venv/|site-packages')),
    ('progress-bar residue', re.compile(r'\d(?:it/s|s/it)\]|it/s\]|s/it\]|\d%\|[^|\n]*\||Loading weights')),
    ('a widget placeholder', re.compile(r'(?i)interactive widget')),
    ('a raw long float (format it)', re.compile(r'(?<![\w.])-?\d+\.\d{10,}(?![\d])')),
    ('a traceback', re.compile(r'Traceback \(most recent call last\)')),
]


def _text(v): return ''.join(v) if isinstance(v, list) else (v or '')


def _visible_html(html):
    "The text of an HTML output a reader sees: scripts, styles and inline SVG/JSON data removed, tags dropped"
    html = re.sub(r'(?is)<(script|style)\b.*?</\1>', ' ', html)
    html = re.sub(r'(?is)<svg\b.*?</svg>', ' ', html)
    html = re.sub(r'(?s)<[^>]*>', ' ', html)
    return html


def _looks_like_wide_table(text):
    "A plain-text table (DataFrame-style: several lines of columns separated by runs of spaces) with a line too wide"
    columnar = [l for l in text.splitlines() if len(re.findall(r'\S {2,}(?=\S)', l)) >= 2]
    wide = [l for l in columnar if len(l.rstrip()) > MAX_TABLE_WIDTH]
    return wide[0] if wide and len(columnar) >= 3 else None


def output_texts(out):
    "(kind, text) pairs of one saved output that a reader sees"
    ot = out.get('output_type')
    if ot == 'stream': yield 'stream', _text(out.get('text'))
    elif ot == 'error':
        yield 'error', '\n'.join([f"{out.get('ename')}: {out.get('evalue')}", 'Traceback (most recent call last)'] + list(out.get('traceback') or []))
    elif ot in ('execute_result', 'display_data'):
        data = out.get('data') or {}
        for k in TEXT_TYPES:
            if k in data: yield k, _visible_html(_text(data[k])) if k == 'text/html' else _text(data[k])


def output_problems(out):
    "Messages for one saved output (empty when clean)"
    found = []
    data = out.get('data') or {}
    if WIDGET in data and not any(k in ('text/html', 'text/markdown') or k.startswith('image/') for k in data):   # what the site shows
        found.append(('a widget placeholder (widget output without a static fallback)', WIDGET))
    texts = list(output_texts(out))
    for what, rx in RULES:
        for kind, text in texts:
            if m := rx.search(text):
                line = text[text.rfind('\n', 0, m.start()) + 1:].split('\n', 1)[0]
                found.append((what, f'{kind}: {line.strip()[:140]}')); break
    # a plain-text table: printed (stream) or a text/plain result with no HTML rendering next to it
    plain = [t for k, t in texts if k == 'stream' or (k == 'text/plain' and 'text/html' not in data and 'text/markdown' not in data)]
    for t in plain:
        if (line := _looks_like_wide_table(t)) is not None:
            found.append((f'a plain-text table wider than {MAX_TABLE_WIDTH} characters (show it as a table)', line.strip()[:140])); break
    return found


def notebook_problems(nb, name='notebook'):
    "Lines `name cell <id>: <what>: <where>` for every problem in the saved outputs of notebook dict `nb`"
    res = []
    for i, cell in enumerate(nb.get('cells', [])):
        if cell.get('cell_type') != 'code': continue
        cid = cell.get('id', f'#{i}')
        for out in cell.get('outputs', []):
            res += [f'{name} cell {cid}: {what}: {where}' for what, where in output_problems(out)]
    return res


def _nb(*outputs): return {'cells': [{'cell_type': 'code', 'id': 'abc123', 'source': '', 'outputs': list(outputs)}]}
def _stream(s): return {'output_type': 'stream', 'name': 'stdout', 'text': s}
def _data(**d): return {'output_type': 'display_data', 'metadata': {}, 'data': {k.replace('_', '/', 1): v for k, v in d.items()}}


def test_the_scanner_can_fail():
    bad = {
        'path': _stream('wrote /tmp/tmpab12cd/x.json\n'),
        'venv': _data(text_plain="<module 'x' from '/home/a/repo/.venv/lib/python3.11/site-packages/x.py'>"),
        'tqdm': _stream('Loading weights: 100%|██████████| 272/272 [00:00<00:00, 1234.5it/s]\n'),
        'tqdm2': _stream(' 40%|████      | 4/10 [00:02<00:03,  1.90s/it]'),
        'widget': {'output_type': 'display_data', 'metadata': {}, 'data': {WIDGET: {'model_id': 'x'}, 'text/plain': 'HBox()'}},
        'widget_text': _data(text_html='<p>This output is an interactive widget.</p>'),
        'float': _data(text_html='<span>log₁₀ α 0.3010299956639812</span>'),
        'traceback': {'output_type': 'error', 'ename': 'ValueError', 'evalue': 'x', 'traceback': ['...']},
        'traceback_text': _stream('Traceback (most recent call last):\n  File "x", line 1\n'),
        'table': _stream('\n'.join(['    ' + '  '.join(f'column_{j:02d}' for j in range(12))] +
                                   [f'{i}   ' + '  '.join(f'{0.5:9.4f}' for j in range(12)) for i in range(4)])),
    }
    for key, out in bad.items():
        hits = notebook_problems(_nb(out), 'nbs/x.ipynb')
        assert hits, f'{key}: not caught'
        assert hits[0].startswith('nbs/x.ipynb cell abc123: '), hits
    good = [_stream('avg@8 0.729 ± 0.012; log₁₀ α 0.30\n'), _stream('see nbs/05_toy_lab.ipynb and data/toy_sweep/runs.json\n'),
            _data(text_html='<table><tr><td>0.3010</td></tr></table><script>var d=[0.3010299956639812];</script>'),
            _data(text_markdown='| a | b |\n|---|---|\n| 1 | 50% |\n'), _data(**{'image_png': 'iVBOR', 'text_plain': '<Figure>'}),
            _data(text_html='<svg><path d="M0.123456789012 1"/></svg>'), _stream('x' * 200 + '\n'), _stream('a  b  c\n' * 3 + 'a header line that is long ' * 6 + '\n'),
            {'output_type': 'display_data', 'metadata': {}, 'data': {WIDGET: {'model_id': 'x'}, 'text/html': '<b>static</b>'}}]
    for out in good: assert not notebook_problems(_nb(out)), (out, notebook_problems(_nb(out)))


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_saved_outputs_are_clean(name):
    hits = notebook_problems(json.loads((NBS/name).read_text()), f'nbs/{name}')
    assert not hits, 'saved outputs the site would show badly (fix the notebook, re-run the cell, save):\n' + '\n'.join(hits)
