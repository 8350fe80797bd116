"""The notebooks read in order: each one imports only modules of lower-numbered notebooks, and reads only shipped
data that a lower-numbered notebook (or itself) writes.

Order: by the notebook's file name, where a letter suffix sorts after its parent (`06_` < `06a_` < `07_`).
Imports are read from every code cell (exported or not, module level or inside functions), with the AST, so an
import written in a string (a subprocess's `-c` code) is not counted."""
import ast, json, re
from pathlib import Path
import pytest
from conftest import ROOT

NBS = ROOT/'nbs'
PKG = 'powerflow_nb'


def order_key(name):
    "Sort key of a notebook file name: (number, letter suffix), so that 06_ < 06a_ < 07_; unnumbered ones last"
    m = re.match(r'^(\d+)([a-z]*)_', name)
    return (int(m.group(1)), m.group(2)) if m else (10**9, name)


def code_cells(nb_path):
    "The source of every code cell of a notebook, IPython magics and shell escapes turned into plain Python"
    from IPython.core.inputtransformer2 import TransformerManager
    tm = TransformerManager()
    for c in json.loads(Path(nb_path).read_text())['cells']:
        if c['cell_type'] == 'code': yield tm.transform_cell(''.join(c['source']))


def notebooks():
    "{notebook file name: module it exports (or None)}, in reading order"
    out = {}
    for p in sorted(NBS.glob('*.ipynb'), key=lambda p: order_key(p.name)):
        mod = next((m.group(1) for s in code_cells(p) for m in [re.search(r'^#\|\s*default_exp\s+(\S+)', s, re.M)] if m), None)
        out[p.name] = mod
    return out


def imported_modules(source):
    "Project modules that a piece of code imports (`from powerflow_nb.X import`, `from .X import`, `import powerflow_nb.X`)"
    mods = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module: mods.add(node.module.split('.')[0])
            elif node.level == 0 and node.module == PKG: mods.update(a.name for a in node.names)
            elif node.level == 0 and node.module and node.module.startswith(PKG + '.'): mods.add(node.module.split('.')[1])
        elif isinstance(node, ast.Import):
            mods.update(a.name.split('.')[1] for a in node.names if a.name.startswith(PKG + '.'))
    return mods


def test_order_key():
    names = ['07_x.ipynb', '06a_y.ipynb', '10_z.ipynb', '06_w.ipynb', 'index.ipynb', '98_docs.ipynb']
    assert sorted(names, key=order_key) == ['06_w.ipynb', '06a_y.ipynb', '07_x.ipynb', '10_z.ipynb', '98_docs.ipynb', 'index.ipynb']


def test_imported_modules():
    src = ('from powerflow_nb.toy import ToyLM\nfrom .target import check_alpha\nimport powerflow_nb.lab as lab\n'
           'from powerflow_nb import charts\ndef f():\n    from powerflow_nb.eval import x\n'
           "code = 'from powerflow_nb.cli import main'\nimport numpy")
    assert imported_modules(src) == {'toy', 'target', 'lab', 'charts', 'eval'}


# imports that still run backwards, each owned by another change (none today: eval reads prompts from 07_prompts now)
KNOWN_BACKWARD = {}

NB_MODULES = notebooks()
MODULE_NB = {m: nb for nb, m in NB_MODULES.items() if m}
CASES = [(nb, mod) for nb in NB_MODULES for mod in sorted(set().union(*[imported_modules(s) for s in code_cells(NBS/nb)]))]


def test_every_module_has_a_notebook():
    "every module a notebook imports is exported by some notebook (or is the package's own `_modidx`)"
    unknown = {(nb, m) for nb, m in CASES if m not in MODULE_NB and not m.startswith('_')}
    assert not unknown, f'imports of modules no notebook exports: {sorted(unknown)}'


@pytest.mark.parametrize('nb,mod', [pytest.param(nb, mod, marks=pytest.mark.xfail(reason=KNOWN_BACKWARD[(nb, mod)], strict=False))
                                    if (nb, mod) in KNOWN_BACKWARD else (nb, mod) for nb, mod in CASES if mod in MODULE_NB])
def test_imports_only_earlier_notebooks(nb, mod):
    src_nb = MODULE_NB[mod]
    assert order_key(src_nb) <= order_key(nb), f'{nb} imports {mod}, which {src_nb} defines: a later notebook'


# Shipped data and the notebook that writes it ('input': shipped as given, written by no notebook). Every entry
# under data/ must be listed, so that new data gets an owner.
DATA_WRITERS = {
    'data/toy_sweep': '05_toy_lab.ipynb',
    'data/tinylm': '06_tinylm.ipynb', 'data/tinylm_mixed': '06_tinylm.ipynb',
    'data/results/references_tiny.json': '12_references.ipynb', 'data/results/inversion_rate_tiny.json': '12_references.ipynb',
    'data/results/demo': '11a_demo.ipynb',
    'data/results/compare': '13_compare.ipynb', 'data/results/length_targets.json': '13_compare.ipynb',
    'data/results/smollm2_task_probe': '13_compare.ipynb',
    'data/creative/prompts.jsonl': 'input', 'data/creative/train_prompts.jsonl': 'input', 'data/creative/README.md': 'input',
    'data/creative': '14_creativity.ipynb',
    'data/creative/knobs/train_prompts.jsonl': 'input', 'data/creative/knobs': '14_creativity.ipynb',
    'data/results/plan_check.json': '15_scale.ipynb',
    'data/results/main_job_h200': '11a_demo.ipynb',       # the demo command, run on a GPU machine
    **{f'data/results/smoke_gpu_h200.{x}': '15_scale.ipynb' for x in ('json', 'md', 'txt')},   # scripts/smoke_gpu.py there
    'data/math_sample.jsonl': 'input',
}
_re_data = [re.compile(r'data/((?:[\w.{}-]+/?)+)'),                                   # 'data/results/x.json'
            re.compile(r"""['"]data['"]\s*/\s*f?['"]([\w.{}-]+)['"](?:\s*/\s*f?['"]([\w.{}-]+)['"])?""")]  # 'data'/'results'/'x'


def writer_of(path):
    "The notebook that writes the shipped data at `path` (longest listed prefix), or None if unlisted"
    keys = [k for k in DATA_WRITERS if path == k or path.startswith(k + '/') or path.startswith(k + '_')]
    return DATA_WRITERS[max(keys, key=len)] if keys else None


def data_paths(source):
    "The data/... paths a piece of code mentions"
    out = set()
    for m in _re_data[0].finditer(source): out.add('data/' + m.group(1).rstrip('/'))
    for m in _re_data[1].finditer(source): out.add('/'.join(['data'] + [g for g in m.groups() if g]))
    return {p for p in out if p != 'data/'}


def test_data_paths():
    assert data_paths("Path('../data/toy_sweep/sweep.jsonl'); ROOT/'data'/'results'/'compare_tiny'") == \
        {'data/toy_sweep/sweep.jsonl', 'data/results/compare_tiny'}
    assert writer_of('data/results/compare_tiny/summary.json') == '13_compare.ipynb'
    assert writer_of('data/creative/prompts.jsonl') == 'input' and writer_of('data/nothing') is None


def test_every_shipped_data_entry_has_a_writer():
    entries = [p.relative_to(ROOT).as_posix() for d in (ROOT/'data').iterdir() for p in ([d] if d.is_file() else d.iterdir())]
    unlisted = [e for e in entries if writer_of(e) is None]
    assert not unlisted, f'shipped data without a writing notebook in DATA_WRITERS: {unlisted}'


# data read before the notebook that writes it, owned by another change (none today)
KNOWN_LATER_DATA = {}


@pytest.mark.parametrize('nb', [pytest.param(nb, marks=pytest.mark.xfail(reason=KNOWN_LATER_DATA[nb], strict=False))
                                if nb in KNOWN_LATER_DATA else nb for nb in NB_MODULES])
def test_reads_only_data_of_earlier_notebooks(nb):
    later = {}
    for s in code_cells(NBS/nb):
        for p in data_paths(s):
            w = writer_of(p)
            if w and w != 'input' and order_key(w) > order_key(nb): later[p] = w
    assert not later, f'{nb} reads data written by later notebooks: {later}'
