"The exported library must be exactly what `nbdev-export` makes of the notebooks (no hand edits)."
import shutil, subprocess, sys, filecmp
from pathlib import Path
from conftest import ROOT


def test_library_matches_notebooks(tmp_path):
    copy = tmp_path/'proj'
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns('.venv*', '.git', '_proc', '_docs', 'runs', '*.egg-info',
                                                               '__pycache__', 'data', 'screenshots', '.pytest_cache', '_build',
                                                               'jupyter_execute', '.hypothesis'))
    exp = Path(sys.executable).parent/'nbdev-export'
    subprocess.run([str(exp)], cwd=copy, check=True, capture_output=True)
    cmp = filecmp.dircmp(ROOT/'powerflow_nb', copy/'powerflow_nb', ignore=['__pycache__'])
    def diffs(c): return c.diff_files + c.left_only + c.right_only + [f for s in c.subdirs.values() for f in diffs(s)]
    assert diffs(cmp) == [], f'library out of sync with notebooks, run `make export`: {diffs(cmp)}'


def test_readme_matches_index(tmp_path):
    "README.md is generated from nbs/index.ipynb (`make readme`, i.e. scripts/readme.py)"
    subprocess.run([sys.executable, str(ROOT/'scripts'/'readme.py'), str(tmp_path)], check=True, capture_output=True)
    assert (tmp_path/'README.md').read_text() == (ROOT/'README.md').read_text(), 'README.md is stale: run `make readme`'
