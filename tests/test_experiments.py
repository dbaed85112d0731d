"""Each experiment script, end to end with --quick on the bundled sample."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _quick(script, results_dir, tfds_dir, *flags):
  completed = subprocess.run(
      [sys.executable, "-m", f"experiments.{script}", "--quick",
       f"--results_dir={results_dir}", f"--tfds_dir={tfds_dir}", *flags],
      cwd=REPO, capture_output=True, text=True, timeout=600)
  assert completed.returncode == 0, completed.stderr[-3000:]
  return completed


def _read_json(path):
  with open(path) as f:
    return json.load(f)


def test_probe_curves_are_written_and_a_finished_run_is_skipped(tmp_path, sample_tfds_dir):
  _quick("exp3_probe_curves", tmp_path, sample_tfds_dir)
  results = tmp_path / "quick"
  numbers = _read_json(results / "exp3_image.json")
  assert set(numbers["val_accuracy"]) == {"joint", "audio_probe", "image_probe"}
  assert all(len(curve) == 1 and 0 <= curve[0] <= 1
             for curve in numbers["val_accuracy"].values())
  assert (results / "exp3_image.md").read_text().count("\n| 1 |") == 1
  assert (results / "figures" / "exp3_image_probe_curves.png").stat().st_size > 10_000

  again = _quick("exp3_probe_curves", tmp_path, sample_tfds_dir)
  assert "Training" not in again.stderr
  assert _read_json(results / "exp3_image.json")["val_accuracy"] == numbers["val_accuracy"]


@pytest.mark.slow
def test_architectures_table_has_every_network_beside_the_study(tmp_path, sample_tfds_dir):
  _quick("exp1_architectures", tmp_path, sample_tfds_dir, "--visual=au")
  numbers = _read_json(tmp_path / "quick" / "exp1_au.json")["networks"]
  assert set(numbers) == {"audio", "au", "concat", "concat_lstm", "concat_equalized", "probe",
                          "joint_loss"}
  assert numbers["probe"]["study_test_accuracy"] == 0.91
  for network in numbers.values():
    assert 0 <= network["test_accuracy"] <= 1 and network["selected_epoch"] == 1
  assert (tmp_path / "quick" / "figures" / "exp1_au_confusion.png").exists()


@pytest.mark.slow
def test_low_data_runs_every_share(tmp_path, sample_tfds_dir):
  _quick("exp2_low_data", tmp_path, sample_tfds_dir)
  numbers = _read_json(tmp_path / "quick" / "exp2_image.json")["networks"]
  assert set(numbers) == {"concat", "concat_equalized", "probe"}
  assert all(set(shares) == {"0.8", "0.5", "0.25"} for shares in numbers.values())
  only_seed = numbers["probe"]["0.25"]
  assert [run["seed"] for run in only_seed["seeds"]] == [0]
  assert only_seed["test_accuracy"] == only_seed["seeds"][0]["accuracy"]
  assert only_seed["test_accuracy_std"] == 0


@pytest.mark.slow
def test_actor_folds_summary_has_mean_std_actors_and_epochs(tmp_path, sample_tfds_dir):
  _quick("exp4_actor_folds", tmp_path, sample_tfds_dir)
  summary = _read_json(tmp_path / "quick" / "actor_folds.json")["networks"]
  assert set(summary) == {"audio", "au", "concat", "concat_lstm", "concat_equalized", "probe",
                          "joint_loss", "audio_speech_song", "audio_standardised",
                          "au_standardised", "concat_equalized_standardised",
                          "probe_standardised"}
  probe = summary["probe"]
  for key in ("test_accuracy_mean", "test_accuracy_std", "test_uar_mean", "test_uar_std",
              "audio_probe_test_uar_mean", "au_probe_test_uar_mean"):
    assert 0 <= probe[key] <= 1, key
  assert probe["folds"][0]["test"] == [2] and probe["folds"][0]["train"] == [5]
  assert probe["folds"][0]["selected_epoch"] == 1

  _quick("exp5_actor_folds_low_data", tmp_path, sample_tfds_dir)
  low_data = _read_json(tmp_path / "quick" / "actor_folds_low_data.json")["networks"]
  assert set(low_data["probe"]) == {"1.0", "0.5", "0.25"}
  assert low_data["probe"]["1.0"] == summary["probe"]  # Reused, not retrained.


@pytest.mark.slow
def test_tuning_chooses_on_validation_and_reports_the_choice_over_folds(tmp_path, sample_tfds_dir):
  _quick("exp6_tuning", tmp_path, sample_tfds_dir)
  numbers = _read_json(tmp_path / "quick" / "tuning.json")
  assert set(numbers["grid"]) == {"audio", "probe"}
  for key, by_setting in numbers["grid"].items():
    assert set(by_setting) == set(numbers["settings"])
    best_uar = max(values["val_uar"] for values in by_setting.values())
    assert by_setting[numbers["tuned"][key]["setting"]]["val_uar"] == best_uar
    assert 0 <= numbers["tuned"][key]["test_uar_mean"] <= 1
  assert numbers["tuned"]["audio"]["target_uar"] == 0.6
  # A grid row per setting, then the tuned row.
  rows = len(numbers["settings"]) + 1
  assert (tmp_path / "quick" / "tuning.md").read_text().count("| 4: probe |") == rows
