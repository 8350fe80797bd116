"Input checks of `powerflow creativity-eval` and `load_policy` (no model is loaded: every case fails before that)."
import pytest
from powerflow_nb.creativity import creativity_eval_main, load_policy


def test_eval_needs_label_and_run_dir(capsys):
    assert creativity_eval_main(['runs/creative_powerflow']) == 2 and 'LABEL=RUN_DIR' in capsys.readouterr().err


def test_eval_refuses_unfinished_run(tmp_path, capsys):
    (tmp_path/'checkpoints').mkdir()  # a run folder without final/: training did not finish
    assert creativity_eval_main([f'pf={tmp_path}']) == 2 and 'no final/ model' in capsys.readouterr().err


def test_load_policy_names_the_missing_model(tmp_path):
    with pytest.raises(FileNotFoundError, match='training finished'): load_policy(tmp_path)
