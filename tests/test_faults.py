"""Faults caused for real on training runs: a second process on a busy workdir, a
damaged checkpoint, a model that becomes non-finite, a half-written metrics line."""
import json
import os
import re
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from emojax import checkpoints
from emojax import metrics
from tests import commands

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SAMPLE_CLIP = os.path.join(REPO, "data/sample/ravdess/Actor_05/03-01-03-01-01-02-05.flac")


def _train(workdir, tfds_dir, *args, num_epochs=3):
  return subprocess.run(commands.tiny_probe_training(workdir, tfds_dir, num_epochs) + list(args),
                        cwd=REPO, capture_output=True, text=True, timeout=300)


def _epochs(workdir):
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    return [json.loads(line)["epoch"] for line in f]


@pytest.mark.slow
def test_a_second_training_on_a_busy_workdir_stops_and_the_first_is_unharmed(
    tmp_path, sample_tfds_dir):
  # Started together, they reach the lock within a second or two of each other;
  # training holds it for far longer.
  processes = [subprocess.Popen(commands.tiny_probe_training(tmp_path, sample_tfds_dir, 4),
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
  logs = [process.communicate(timeout=300)[1] for process in processes]
  codes = [process.returncode for process in processes]
  assert sorted(codes) == [0, 1], logs
  winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
  assert f"is in use by process {processes[winner].pid}" in logs[loser]
  assert _epochs(tmp_path) == [1, 2, 3, 4]


def test_a_damaged_newest_checkpoint_is_set_aside_and_the_run_resumes_before_it(
    tmp_path, sample_tfds_dir):
  assert _train(tmp_path, sample_tfds_dir).returncode == 0
  os.remove(tmp_path / "checkpoints" / "3" / "default" / "_METADATA")
  resumed = _train(tmp_path, sample_tfds_dir)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert f"checkpoint {tmp_path}/checkpoints/3 is damaged" in resumed.stderr
  assert "Resuming after epoch 2" in resumed.stderr
  assert (tmp_path / "damaged_checkpoints" / "3").is_dir()
  assert _epochs(tmp_path) == [1, 2, 3]
  assert (tmp_path / "checkpoints" / "3" / "default" / "_METADATA").is_file()

  shutil.rmtree(tmp_path / "checkpoints" / "3" / "default")
  # Eval and predict only read the workdir: they run side by side.
  evaluating = subprocess.Popen(
      commands.tiny_probe_training(tmp_path, sample_tfds_dir, 3) + ["--mode=eval", "--eval_step=3"],
      cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  predicted = subprocess.run(
      [sys.executable, "-m", "emojax.predict", f"--workdir={tmp_path}", "--step=3", _SAMPLE_CLIP],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  _, eval_stderr = evaluating.communicate(timeout=300)
  assert evaluating.returncode != 0
  (line,) = [l for l in eval_stderr.splitlines() if l.startswith("Error:")]
  assert f"{tmp_path}/checkpoints/3 is damaged" in line and re.search(r"intact epochs: \[(1, )?2\]", line)

  assert predicted.returncode == 2
  (line,) = [l for l in predicted.stderr.splitlines() if l.startswith("error:")]
  assert f"{tmp_path}/checkpoints/3 is damaged" in line


def test_a_model_that_becomes_non_finite_is_never_saved_and_the_run_fails(
    tmp_path, sample_tfds_dir):
  result = _train(tmp_path, sample_tfds_dir, "--config.optimizer.learning_rate=1e9",
                  "--config.train.on_nonfinite=skip", num_epochs=2)
  assert result.returncode != 0
  assert "not finite, so they are not saved; no checkpoint was saved" in result.stderr
  assert not (tmp_path / "final_metrics.json").exists()
  assert not (tmp_path / "checkpoints" / "1").exists()


def test_resume_drops_a_half_written_last_metrics_line(tmp_path, caplog):
  path = tmp_path / "metrics.jsonl"
  path.write_text('{"epoch": 1, "val/loss": 2.0}\n{"epoch": 2, "val/loss": 1.5}\n{"epoch": 3, "val/l')
  metrics.MetricLog(str(tmp_path), resume_after_epoch=2)
  assert _epochs(tmp_path) == [1, 2]
  assert f"half-written last line of {path}" in caplog.text


@pytest.mark.slow
def test_predict_refuses_parameters_that_are_not_finite(tmp_path, sample_tfds_dir):
  assert _train(tmp_path, sample_tfds_dir, num_epochs=1).returncode == 0
  manager = checkpoints.manager(str(tmp_path), "val/joint_accuracy", 2)
  state = checkpoints.restore(manager, 1)
  state["params"] = jax.tree.map(lambda x: x * np.nan, state["params"])
  shutil.rmtree(tmp_path / "checkpoints" / "1")
  manager = checkpoints.manager(str(tmp_path), "val/joint_accuracy", 2)
  checkpoints.save(manager, 1, state, {"val/joint_accuracy": 0.5})
  manager.wait_until_finished()
  predicted = subprocess.run(
      [sys.executable, "-m", "emojax.predict", f"--workdir={tmp_path}", _SAMPLE_CLIP],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert predicted.returncode == 2
  assert "parameters of epoch 1" in predicted.stderr and "are not finite" in predicted.stderr
  assert "neutral" not in predicted.stdout
