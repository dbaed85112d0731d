"""The command line: config overrides and their errors."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _main(*args, tmp_path):
  return subprocess.run(
      [sys.executable, "-m", "emojax.main", "--config=configs/probe.py",
       f"--workdir={tmp_path}", *args],
      cwd=REPO, capture_output=True, text=True, timeout=120)


def test_unknown_config_key_fails_naming_it(tmp_path):
  result = _main("--config.train.num_epoch=2", tmp_path=tmp_path)
  assert result.returncode != 0
  assert "Unknown config key 'num_epoch' in --config.train.num_epoch" in result.stderr
  assert 'Did you mean "num_epochs"' in result.stderr
  assert not os.path.exists(tmp_path / "checkpoints")


def test_eval_without_checkpoints_fails_naming_the_workdir(tmp_path):
  result = _main("--mode=eval", tmp_path=tmp_path)
  assert result.returncode != 0
  assert f"No checkpoints in {tmp_path}" in result.stderr
