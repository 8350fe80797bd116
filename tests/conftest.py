"Shared pytest set-up: the `--runslow` flag, and paths every test file uses."
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False,
                     help='also run tests marked slow (long experiments), and notebook cells flagged `#| slow`')


def pytest_collection_modifyitems(config, items):
    if config.getoption('--runslow'): return
    skip = pytest.mark.skip(reason='slow: run with --runslow')
    for item in items:
        if 'slow' in item.keywords: item.add_marker(skip)


@pytest.fixture(scope='session')
def root(): return ROOT


# tests/vllm runs only inside .venv-vllm (vllm is not importable in the main environment); the main suite reaches it
# through tests/test_vllm.py, which runs it there in a subprocess.
# (tests/vllm itself looks like a namespace package `vllm` from here, hence the origin check.)
import importlib.util as _ilu
_vllm = _ilu.find_spec('vllm')
collect_ignore = [] if _vllm is not None and _vllm.origin is not None else ['vllm']
