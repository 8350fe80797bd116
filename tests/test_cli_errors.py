"""Every `powerflow` command turns bad input into one line on stderr and a non-zero exit status, never a traceback.

Each case runs the real entry point in a subprocess (as a user would), with an argument that is wrong in a way only
the command itself can tell (a value out of range, a missing file, a malformed YAML), plus malformed YAML; an unknown
option per command is checked in process (the shared `command.Parser`). The cases are chosen so that each fails before any model is loaded or trained."""
import os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
import pytest
from conftest import ROOT

ENTRY = 'import sys; from powerflow_nb.cli import main; sys.exit(main())'

BAD = {  # command: arguments that are wrong in a way argparse alone cannot tell
    'demo':             ['steps=0'],
    'toy-demo':         ['--alphas', '-1'],
    'toy-sweep':        ['--alphas', '-1'],
    'docs':             ['--out', 'README.md'],
    'creativity-sweep': ['--k', '0'],
    'creativity-eval':  ['no-label-here'],
    'train':            ['--config', 'no/such/file.yaml'],
    'eval':             ['--k', '0'],
    'sample':           ['--prompt', '12+34=', '--k', '0'],
    'pretrain-tiny':    ['--steps', '0'],
    'compare':          ['--config', 'no/such/file.yaml'],
    'references':       ['sample', '--k', '0'],
    'plan':             ['--config', 'no/such/file.yaml'],
}

def run(args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS='1', POWERFLOW_TRACEBACK='')
    return subprocess.run([sys.executable, '-c', ENTRY, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

def check_one_line(args, r):
    assert r.returncode not in (0, None), (args, r.returncode, r.stdout[-500:])
    assert 'Traceback' not in r.stderr, (args, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'powerflow {args[0]}: error: '), (args, r.stderr[-2000:])

def test_every_command_has_a_case():
    from powerflow_nb.cli import COMMANDS
    assert set(BAD) == set(COMMANDS)

def test_bad_values_are_one_line():
    cases = list(BAD.items())
    with ThreadPoolExecutor(2) as ex: results = list(ex.map(lambda c: run([c[0], *c[1]]), cases))
    for (cmd, args), r in zip(cases, results): check_one_line([cmd, *args], r)

def test_malformed_yaml(tmp_path):
    bad = tmp_path/'bad.yaml'; bad.write_text('alpha: [4\nsteps: 3\n')
    cases = [[c, '--config', str(bad)] for c in ('train', 'plan', 'compare')]
    with ThreadPoolExecutor(2) as ex: results = list(ex.map(run, cases))
    for args, r in zip(cases, results): check_one_line(args, r)

@pytest.mark.parametrize('cmd', sorted(BAD))
def test_unknown_option(cmd, capsys):
    "In process (the parser is shared, so no subprocess is needed): one line, exit status 2."
    from powerflow_nb.cli import main
    rc = main([cmd, '--no-such-option'])
    err = capsys.readouterr().err
    assert rc == 2 and err.count('\n') == 1 and err.startswith(f'powerflow {cmd}: error: '), (rc, err)

def test_help_still_works():
    r = run(['sample', '--help'])
    assert r.returncode == 0 and r.stdout.startswith('usage: powerflow sample') and r.stderr == ''

def test_unknown_command():
    r = run(['no-such-command'])
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'invalid choice' in r.stderr

@pytest.mark.parametrize('cmd', sorted(BAD))
def test_every_command_keeps_help(cmd, capsys):
    from powerflow_nb.cli import main
    with pytest.raises(SystemExit) as e: main([cmd, '--help'])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith(f'usage: powerflow {cmd}'), out[:200]
