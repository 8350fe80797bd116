"""`powerflow train` / `powerflow eval` refuse bad input with a clear message and exit code 2, before any compute."""
import subprocess, sys
from pathlib import Path
import pytest
from conftest import ROOT

PF = str(Path(sys.executable).parent/'powerflow')


@pytest.mark.parametrize('args,msg', [
    (['train', 'alpha=-1'], 'alpha must be a finite number > 0'),
    (['train', 'alpha=.nan'], 'alpha must be a finite number > 0'),
    (['train', 'model=/no/such/dir'], "model path '/no/such/dir' does not exist"),
    (['train', 'max_new_tokens=0'], 'max_new_tokens must be a positive integer'),
    (['train', 'objective=grpoo'], "unknown objective 'grpoo'"),
    (['train', 'alhpa=2'], "unknown config key 'alhpa'"),
    (['train', 'top_p=0.9'], 'top_p must be 1 for training'),
    (['train', 'score_batch=-1'], 'score_batch must be >= 0'),
    (['eval', '--model', '/no/such/dir'], "model path '/no/such/dir' does not exist"),
])
def test_cli_refuses_bad_input(args, msg, tmp_path, capsys):
    from powerflow_nb.cli import main
    rc = main(args + ([f'out_dir={tmp_path}'] if args[0] == 'train' else []))
    err = capsys.readouterr().err
    assert rc == 2 and msg in err, (rc, err)
    assert not any(tmp_path.iterdir())                    # nothing was written


def test_print_config_documents_every_field():
    "The real entry point, in a subprocess: every config field appears with its documentation."
    from dataclasses import fields
    from powerflow_nb.trainer import TrainConfig
    r = subprocess.run([PF, 'train', '--print-config', 'alpha=2'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0
    for f in fields(TrainConfig):
        assert f'\n{f.name}:' in '\n' + r.stdout and f.metadata['help'][:30] in r.stdout, f.name
    assert '\nalpha: 2.0' in r.stdout
