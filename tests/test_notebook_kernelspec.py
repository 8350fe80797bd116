"""Every notebook opens in JupyterLab on the project's Python kernel without a "Select Kernel" dialog: it carries a
kernelspec, and the kernelspec survives `nbdev-clean` (which keeps `kernelspec` among the notebook metadata keys)."""
import json
import pytest
from conftest import NBS

KERNELSPEC = {'display_name': 'python3', 'language': 'python', 'name': 'python3'}   # the form nbdev-clean leaves
NOTEBOOKS = sorted(p.name for p in NBS.glob('*.ipynb'))


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_notebook_has_kernelspec(name):
    meta = json.loads((NBS/name).read_text())['metadata']
    assert meta.get('kernelspec') == KERNELSPEC, (f'{name}: metadata.kernelspec is {meta.get("kernelspec")!r}; JupyterLab will ask '
                                                  f'for a kernel. Set it to {KERNELSPEC}')


def test_kernelspec_survives_nbdev_clean():
    from nbdev.clean import clean_nb
    nb = json.loads((NBS/NOTEBOOKS[0]).read_text())
    nb['metadata'] = {'kernelspec': dict(KERNELSPEC, display_name='Python 3'), 'language_info': {'name': 'python'}}   # as JupyterLab saves it
    clean_nb(nb)
    assert nb['metadata'] == {'kernelspec': KERNELSPEC}
