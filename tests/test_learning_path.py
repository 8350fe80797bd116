"The home page's learning path: its picture is what scripts/learning_path.py draws, and it shows every notebook."
import importlib.util, re
from conftest import ROOT, NBS

_spec = importlib.util.spec_from_file_location('learning_path', ROOT/'scripts'/'learning_path.py')
lp = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(lp)


def test_picture_is_fresh():
    assert lp.OUT.read_text(encoding='utf-8') == lp.learning_path_svg(), 'run `python scripts/learning_path.py`'


def test_every_notebook_on_the_path():
    shown = {num for _, _, _, items in lp.STAGES + [lp.INFRA] for num, _, _ in items}
    numbered = {re.match(r'(\d+[a-z]?)_', p.name).group(1) for p in NBS.glob('[0-9]*.ipynb')}
    assert numbered <= shown, f'notebooks missing from the learning path picture: {sorted(numbered - shown)}'
    index = (NBS/'index.ipynb').read_text(encoding='utf-8')
    missing = [p.name for p in NBS.glob('[0-9]*.ipynb') if f'({p.name})' not in index.replace('\\n', '')]
    assert not missing, f'the home page does not link {missing}'
    assert '(learning_path.svg)' in index
