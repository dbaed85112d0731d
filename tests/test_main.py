"""The command line: config overrides and their errors."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

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


def test_class_pairing_on_folds_by_actor_fails_before_training(tmp_path):
  result = _main("--config.data.split.protocol=actor_folds", tmp_path=tmp_path)
  assert result.returncode != 0
  assert "config.data.pairing='class'" in result.stderr and "pairing=clip" in result.stderr
  assert not os.path.exists(tmp_path / "checkpoints")


def _tiny_audio_on_folds(workdir, tfds_dir, *args):
  return subprocess.run(
      [sys.executable, "-m", "emojax.main", f"--workdir={workdir}", *args], cwd=REPO,
      capture_output=True, text=True, timeout=300)


def test_eval_of_a_folds_run_scores_its_own_test_actor_and_refuses_a_data_override(
    tmp_path, sample_tfds_dir):
  trained = _tiny_audio_on_folds(
      tmp_path, sample_tfds_dir, "--config=configs/audio.py",
      f"--config.data.tfds_dir={sample_tfds_dir}", "--config.train.num_epochs=1",
      "--config.model.audio_widths=(4, 8)", "--config.model.joint_hidden=(16,)",
      "--config.data.split.protocol=actor_folds",
      "--config.data.split.folds_file=configs/sample_actor_folds.json")
  assert trained.returncode == 0, trained.stderr[-2000:]

  evaluated = _tiny_audio_on_folds(tmp_path, sample_tfds_dir, "--mode=eval")  # No overrides.
  assert evaluated.returncode == 0, evaluated.stderr[-2000:]
  with open(tmp_path / "eval_metrics.json") as f, open(tmp_path / "final_metrics.json") as g:
    assert json.load(f) == json.load(g)
  with open(tmp_path / "eval_confusion.json") as f:
    # Fold 0 tests actor 02's 60 speech clips; the seed split would test 18 of 180.
    assert np.array(json.load(f)["test"]["joint"]).sum() == 60
  with open(tmp_path / "eval_predictions.json") as f, open(tmp_path / "final_metrics.json") as g:
    test, metrics = json.load(f)["test"], json.load(g)
  probabilities = np.array(test["probabilities"])
  assert probabilities.shape == (60, 8) and np.allclose(probabilities.sum(1), 1, atol=1e-3)
  assert test["clip"] == sorted(test["clip"])
  accuracy = np.mean(probabilities.argmax(1) == np.array(test["label"]))
  assert accuracy == pytest.approx(metrics["test/joint_accuracy"], abs=1e-6)

  refused = _tiny_audio_on_folds(tmp_path, sample_tfds_dir, "--mode=eval",
                                 "--config=configs/audio.py", "--config.data.split.fold=1")
  assert refused.returncode != 0
  assert "config.data.split.fold: the run has 0, this command 1" in refused.stderr
