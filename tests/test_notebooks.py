"""Every notebook, run top to bottom through nbdev's own runner (`nbdev-test`), one pytest test each.

Cells flagged `#| notest` never run here; cells flagged `#| slow` run only with `pytest --runslow`."""
import os, subprocess, sys
from pathlib import Path
import pytest
from conftest import NBS, ROOT

NOTEBOOKS = sorted(p.name for p in NBS.glob('*.ipynb'))


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_notebook(name, request):
    nbdev_test = Path(sys.executable).parent/'nbdev-test'
    cmd = [str(nbdev_test), str(NBS/name), '--do-print']
    if request.config.getoption('--runslow'): cmd += ['--flags', 'slow']
    env = {**os.environ, 'PYTHONHASHSEED': '0'}
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    assert res.returncode == 0, f'{name} failed under nbdev-test:\n{res.stdout[-4000:]}\n{res.stderr[-8000:]}'
