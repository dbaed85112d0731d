"""Each experiment script, end to end with --quick on the bundled sample."""
import json
import os
import shutil
import subprocess
import sys

import pytest
from absl import flags
from absl.testing import flagsaver

from configs import au
from experiments import baselines
from experiments import budget
from experiments import common
from experiments import exp7_seed_ensembles
from experiments import exp8_targets
from experiments import folds as folds_lib
from experiments import report

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _quick(script, results_dir, tfds_dir, *flags):
  completed = subprocess.run(
      [sys.executable, "-m", f"experiments.{script}", "--quick",
       f"--results_dir={results_dir}", f"--tfds_dir={tfds_dir}", *flags],
      cwd=REPO, capture_output=True, text=True, timeout=1800)
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
  assert set(numbers) == {"audio", "audio_speech_song", "au", "concat", "concat_lstm",
                          "concat_equalized", "probe", "joint_loss"}
  assert numbers["probe"]["study_test_accuracy"] == 0.91
  # The study's 72 was its audio CNN on speech + song, not on speech alone.
  assert numbers["audio_speech_song"]["study_test_accuracy"] == 0.72
  assert numbers["audio"]["study_test_accuracy"] is None
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
def test_actor_folds_rows_record_each_folds_actors_and_what_chose_it(tmp_path, sample_tfds_dir):
  _quick("exp4_actor_folds", tmp_path, sample_tfds_dir)
  numbers = _read_json(tmp_path / "quick" / "actor_folds.json")
  rows = numbers["rows"]
  assert set(rows) == {"linear_egemaps", "linear_compare", "linear_mfcc", "linear_au",
                       "mlp_compare", "mlp_compare_song_trained", "compare_au",
                       "probe_compare_au", "audio",
                       "audio_log_mel", "audio_test_windows", "audio_train_windows", "au",
                       "concat_au", "concat_lstm_au", "concat_equalized_au", "probe_au",
                       "joint_loss_au", "audio_speech_song", "audio_song_trained",
                       "audio@standardised", "au@standardised",
                       "concat_equalized_au@standardised", "probe_au@standardised",
                       *(f"{network}@{setting}" for network in (
                           "au", "mlp_compare", "compare_au", "probe_compare_au",
                           "concat_equalized_au")
                         for setting in ("enrol4", "enrol8", "enrol16", "enrol_all"))}
  probe = rows["probe_au"]
  assert probe["config"] == "configs/actor_folds/probe_au.py"
  assert rows["probe_au@standardised"]["normalisation"] == "per actor (transductive)"
  assert rows["au@enrol8"]["normalisation"] == "enrolment (8 unlabelled clips of the speaker)"
  for key in ("test_accuracy_mean", "test_accuracy_std", "test_uar_mean", "test_uar_std",
              "audio_probe_test_uar_mean", "au_probe_test_uar_mean"):
    assert 0 <= probe[key] <= 1, key
  (record,) = probe["folds"]
  assert (record["train"], record["val"], record["test"]) == ([5], [1], [2])
  assert record["selected_on"] == [1] and record["selected_epoch"] == 1
  table = _read_json(tmp_path / "quick" / "baselines.json")["rows"]
  assert {entry["normalisation"] for entry in table} == {
      "inductive", "per_actor", "enrol-4", "enrol-8", "enrol-16", "enrol-all"}
  (probe_entry,) = [entry for entry in table if entry["name"] == "probe_au"]
  assert probe_entry["folds"] == probe["folds"]
  assert probe_entry["test_uar_mean"] == probe["test_uar_mean"]
  markdown = (tmp_path / "quick" / "actor_folds.md").read_text()
  assert "python -m emojax.main --config=configs/actor_folds/probe_au.py " in markdown
  # The record stands in for the run: a second report trains nothing.
  shutil.rmtree(tmp_path / "quick" / "runs")
  again = _quick("exp4_actor_folds", tmp_path, sample_tfds_dir)
  assert "Training" not in again.stderr
  assert _read_json(tmp_path / "quick" / "actor_folds.json")["rows"] == rows
  # Without a record, --records_only leaves the row's fold out instead of training it.
  os.remove(tmp_path / "quick" / "records" / "actor_folds" / "au" / "fold0.json")
  partial = _quick("exp4_actor_folds", tmp_path, sample_tfds_dir, "--records_only")
  assert "Training" not in partial.stderr and "1 runs not trained yet: au/fold0" in partial.stderr
  au = _read_json(tmp_path / "quick" / "actor_folds.json")["rows"]["au"]
  assert (au["num_folds"], au["missing_folds"]) == (0, [0])

  _quick("exp5_actor_folds_low_data", tmp_path, sample_tfds_dir)
  low_data = _read_json(tmp_path / "quick" / "actor_folds_low_data.json")["rows"]
  assert set(low_data["probe_au"]) == {"1.0", "0.5", "0.25"}
  assert low_data["probe_au"]["1.0"]["folds"] == probe["folds"]  # Reused, not retrained.


@pytest.mark.slow
def test_tuning_chooses_per_fold_on_that_folds_validation_actors(tmp_path, sample_tfds_dir):
  _quick("exp6_tuning", tmp_path, sample_tfds_dir)
  numbers = _read_json(tmp_path / "quick" / "tuning.json")
  assert set(numbers["grid"]) == {"mlp_compare", "mlp_compare_song_trained", "probe_compare_au",
                                  "audio", "probe_au"}
  # No MFCC CNN to pool or mask.
  assert not {"time_pooling", "specaugment", "attention_pooling"} & set(numbers["grid"]["mlp_compare"])
  for name, by_kind in numbers["tuned"].items():
    inductive = ("study", "adam", "time_pooling", "dropout", "mixup", "specaugment",
                 "attention_pooling")
    if name in ("mlp_compare", "mlp_compare_song_trained", "probe_compare_au"):
      inductive = ("study", "adam", "dropout", "mixup")
    for kind, settings in (("inductive", inductive),
                           ("transductive", ("standardised", "dropout_standardised"))):
      (record,) = by_kind[kind]["folds"]
      assert record["selected_on"] == [1] and record["test"] == [2]
      best = max(numbers["grid"][name][s]["folds"][0]["val_uar"] for s in settings)
      assert numbers["grid"][name][record["setting"]]["folds"][0]["val_uar"] == best


def test_an_ensemble_averages_its_members_probabilities():
  clips, labels = [3, 7, 9], [0, 1, 1]
  sure_wrong = {"clip": clips, "label": labels,
                "probabilities": [[0.9, 0.1], [0.4, 0.6], [0.55, 0.45]]}
  unsure_right = {"clip": clips, "label": labels,
                  "probabilities": [[0.6, 0.4], [0.3, 0.7], [0.3, 0.7]]}
  assert exp7_seed_ensembles.ensemble_metrics([sure_wrong]) == {
      "accuracy": pytest.approx(2 / 3), "uar": pytest.approx(0.75)}
  # Mean of the third clip: (0.425, 0.575), right.
  assert exp7_seed_ensembles.ensemble_metrics([sure_wrong, unsure_right]) == {
      "accuracy": 1.0, "uar": 1.0}
  other_clips = {**unsure_right, "clip": [3, 7, 8]}
  with pytest.raises(ValueError, match="scored different examples"):
    exp7_seed_ensembles.ensemble_metrics([sure_wrong, other_clips])


@pytest.mark.slow
def test_seed_ensembles_use_each_folds_chosen_setting_and_keep_predictions(
    tmp_path, sample_tfds_dir):
  _quick("exp7_seed_ensembles", tmp_path, sample_tfds_dir)
  results = tmp_path / "quick"
  numbers = _read_json(results / "ensembles.json")
  for name in ("mlp_compare", "probe_compare_au"):
    (record,) = numbers["rows"][name]["folds"]
    assert record["selected_on"] == [1] and record["test"] == [2]
    assert [member["seed"] for member in record["members"]] == [1, 2, 3, 4, 5]
    assert 0 <= record["test_uar"] <= 1 and 0 <= record["member_test_uar"] <= 1
    records = results / "records" / "actor_folds"
    member = _read_json(records / f"{name}@{record['setting']}@seed1" / "fold0.json")
    assert len(member["predictions"]["test"]["label"]) == 60  # Actor 02's speech clips.
    ladder = {setting: _read_json(records / (name if setting == "study" else f"{name}@{setting}")
                                  / "fold0.json")["final"]["val/joint_uar"]
              for setting in ("study", "adam", "dropout", "mixup")}
    assert ladder[record["setting"]] == max(ladder.values())


def test_the_choice_per_fold_reads_validation_only_and_waits_for_every_candidate():
  def record(fold, val_uar, test_uar):
    return {"fold": fold, "test": [1], "selected_on": [5], "val_uar": val_uar,
            "test_uar": test_uar}
  candidates = {"simple": [record(0, 0.6, 0.9), record(1, 0.5, 0.5), record(2, 0.7, 0.7)],
                "tuned": [record(0, 0.6, 0.1), record(1, 0.8, 0.2), None]}
  chosen = folds_lib.choose_per_fold(candidates, [0, 1, 2], key="chosen")
  # Fold 0: a tie goes to the candidate named first; fold 1: the better validation
  # UAR wins whatever the test says; fold 2: "tuned" has not run, so no choice yet.
  assert [(r["fold"], r["chosen"], r["test_uar"]) for r in chosen] == [
      (0, "simple", 0.9), (1, "tuned", 0.2)]
  assert chosen[0]["candidates"] == ["simple", "tuned"]


def test_a_record_chosen_on_its_own_test_actors_is_refused(tmp_path):
  honest = {"rows": {"probe_au": {"folds": [
      {"fold": 0, "test": [1, 2], "val": [5, 6], "selected_on": [5, 6], "test_uar": 0.5}]}}}
  common.check_ledger(honest)
  leaky = {"grid": {"folds": [{"fold": 1, "test": [5, 6], "selected_on": [5, 6, 7],
                               "test_uar": 0.6}]}}
  with pytest.raises(ValueError, match=r"fold 1 was chosen on its own test actors \[5, 6\]"):
    common.check_ledger(leaky)
  with pytest.raises(ValueError, match="fold 2 .* does not say which actors chose it"):
    common.check_ledger({"folds": [{"fold": 2, "test": [1], "test_accuracy": 0.4}]})


def test_results_md_tables_are_refreshed_from_the_experiments_files(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  (tmp_path / "results").mkdir()
  (tmp_path / "results" / "tuning.md").write_text("| a |\n|---|\n| 2 |\n")
  text = "Prose.\n<!-- results/tuning.md -->\n| a |\n|---|\n| 1 |\n<!-- end -->\nMore prose.\n"
  assert report.refresh(text) == text.replace("| 1 |", "| 2 |")
  with pytest.raises(FileNotFoundError):
    report.refresh("<!-- results/missing.md -->\n<!-- end -->")


def test_train_only_trains_the_rows_named_and_reads_the_others(tmp_path, monkeypatch):
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  trained = []

  def train(config, workdir):
    trained.append(workdir)
    raise RuntimeError("stops here: what matters is that training was asked for")

  monkeypatch.setattr(common.train, "train_and_evaluate", train)
  with flagsaver.flagsaver(results_dir=str(tmp_path), train_only=["au@enrol8"]):
    assert common.run(au.get_config(), "actor_folds", "au", "fold0") is None
    assert trained == []  # Not named: left out, as with --records_only.
    assert common.run(au.get_config(), "actor_folds", "au@enrol8", "fold0") is None
  assert trained == [str(tmp_path / "runs" / "actor_folds" / "au@enrol8" / "fold0")]


def test_the_budget_sums_each_scripts_runs_and_the_distinct_records(tmp_path):
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
  with flagsaver.flagsaver(results_dir=str(tmp_path)):
    common.write_report("tuning", "table", {"grid": {}}, {
        "a/fold0": common.RunResult({}, {}, [], {}, train_seconds=600.0),
        "b/fold0": None})
    for name, seconds in (("a", 600.0), ("c", 6600.0)):
      (tmp_path / "records" / "actor_folds" / name).mkdir(parents=True)
      with open(tmp_path / "records" / "actor_folds" / name / "fold0.json", "w") as f:
        json.dump({"train_seconds": seconds}, f)
    budget.main([])
  markdown = (tmp_path / "budget.md").read_text()
  assert "| `exp6_tuning` | 1 | 1 | 10 min |" in markdown
  assert "| `exp4_actor_folds` | - | - | - |" in markdown  # Not written yet.
  assert "Distinct runs kept in `results/records/`: 2, 2.0 h of training" in markdown


def test_each_target_weighs_every_inductive_candidate_about_it():
  audio = [row.name for row in exp8_targets.candidate_rows(baselines.TARGETS[0][1])]
  # A tuned network competes with each setting of its ladder, the study's included.
  assert {"mlp_compare", "mlp_compare@mixup", "audio", "audio@attention_pooling",
          "audio_train_windows", "linear_compare"} <= set(audio)
  assert not {"au", "audio@standardised", "audio@enrol8", "audio_speech_song"} & set(audio)
  probe = [row.name for row in exp8_targets.candidate_rows(baselines.TARGETS[2][1])]
  assert {row.split("@")[0] for row in probe} == {"probe_au", "probe_compare_au"}


def test_a_target_is_judged_only_once_every_fold_is_in():
  three_folds = {"num_folds": 3, "test_uar_mean": 0.9}
  assert exp8_targets.verdict(three_folds, 0.7, [0, 1, 2, 3, 4, 5]) == "-"
  assert exp8_targets.verdict(three_folds, 0.7, [0, 1, 2]) == "yes"
  assert exp8_targets.verdict({"num_folds": 6, "test_uar_mean": 0.6}, 0.7, list(range(6))) == "no"
