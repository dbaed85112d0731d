"""Training on the bundled sample, with a small network so that it runs in seconds."""
import functools
import json
import os

import chex
import jax
import numpy as np
import pytest

from configs import probe
from emojax import checkpoints
from emojax import run_dir
from emojax import train
from emojax.data import pipeline


@pytest.fixture(scope="module")
def config(sample_tfds_dir):
  config = probe.get_config()
  config.data.tfds_dir = sample_tfds_dir
  config.model.audio_widths = (4, 8)
  config.model.image_widths = (4, 8)
  config.model.embed_dim = 16
  config.model.joint_hidden = (16, 16)
  config.model.probe_hidden = (16,)
  config.train.num_epochs = 3
  return config


@pytest.fixture(scope="module")
def run(config):
  return train.build_run(config)


def _first_train_batch(run):
  return next(pipeline.train_batches(run.examples["train"], run.config.train.batch_size,
                                     seed=0, epoch=1))


def test_train_step_lowers_loss_on_a_fixed_batch(run):
  state = run.init_state()
  batch = run.shard(_first_train_batch(run))
  losses = []
  for _ in range(5):
    state, step_metrics = run.train_step(state, batch)
    losses.append(float(step_metrics["loss"]))
  assert int(state["step"]) == 5
  assert losses[-1] < losses[0]


def test_train_step_reports_every_loss_term_and_a_confusion_matrix_per_head(run):
  batch = _first_train_batch(run)
  _, step_metrics = run.train_step(run.init_state(), run.shard(batch))
  assert set(step_metrics) == {"loss", "joint_ce", "audio_probe_ce", "image_probe_ce",
                               "confusion", "nonfinite"}
  np.testing.assert_allclose(
      step_metrics["loss"],
      step_metrics["joint_ce"] + step_metrics["audio_probe_ce"] + step_metrics["image_probe_ce"],
      rtol=1e-5)
  assert set(step_metrics["confusion"]) == {"joint", "audio_probe", "image_probe"}
  assert step_metrics["confusion"]["joint"].sum() == len(batch["label"])
  assert step_metrics["nonfinite"] == 0


def _diverging(config):
  config = config.copy_and_resolve_references()
  config.optimizer.learning_rate = 1e30
  config.train.num_epochs = 2
  return config


def test_a_nonfinite_loss_stops_naming_the_step_and_checkpoint(config, tmp_path):
  with pytest.raises(FloatingPointError, match=r"non-finite at step \d+ \(epoch 1\).*"
                     "no checkpoint was saved"):
    train.train_and_evaluate(_diverging(config), str(tmp_path))


def test_skipping_nonfinite_steps_keeps_the_parameters_finite(config, tmp_path):
  diverging = _diverging(config)
  diverging.train.on_nonfinite = "skip"
  run = train.build_run(diverging)
  state = run.init_state()
  for batch in run.train_batches(epoch=1):
    state, step_metrics = run.train_step(state, run.shard(batch))
  chex.assert_tree_all_finite(state["params"])


def test_early_stopping_ends_when_validation_stops_improving(config, tmp_path):
  patient = config.copy_and_resolve_references()
  patient.optimizer.learning_rate = 0.0  # Nothing changes: epoch 1 stays the best.
  patient.train.early_stopping_patience = 2
  patient.train.num_epochs = 10
  final = train.train_and_evaluate(patient, str(tmp_path))
  with open(tmp_path / "metrics.jsonl") as f:
    assert [json.loads(line)["epoch"] for line in f] == [1, 2, 3]
  assert final["selected_epoch"] == 1


def test_two_devices_train_to_the_same_parameters_as_one(config, run):
  assert len(run.mesh.devices) == 2
  one_device = train.build_run(config, devices=jax.devices()[:1])
  batch = _first_train_batch(run)
  params = []
  for each in (one_device, run):
    state = each.init_state()
    for _ in range(3):
      state, _ = each.train_step(state, each.shard(batch))
    params.append(jax.device_get(state["params"]))
  chex.assert_trees_all_close(params[0], params[1], atol=1e-5)


def test_only_several_devices_reduce_gradients_across_devices(config, run):
  one_device = train.build_run(config, devices=jax.devices()[:1])
  batch = _first_train_batch(run)
  for each, reduces in ((one_device, False), (run, True)):
    lowered = jax.jit(each.train_step).lower(each.init_state(), each.shard(batch)).as_text()
    assert ("all_reduce" in lowered) == reduces


def test_checkpoint_restore_gives_identical_parameters(run, tmp_path):
  state, _ = run.train_step(run.init_state(), run.shard(_first_train_batch(run)))
  expected = jax.device_get(state)
  manager = checkpoints.manager(str(tmp_path), "val/joint_accuracy", keep=1)
  checkpoints.save(manager, 1, state, {"val/joint_accuracy": 0.5})
  manager.wait_until_finished()
  restored = checkpoints.restore(manager, 1, run.init_state())
  chex.assert_trees_all_equal(jax.device_get(restored), expected)


def test_audio_windows_are_scored_as_the_mean_of_each_windows_outputs(run):
  batch = {key: value[:4] for key, value in run.examples["test"].items()}
  rng = np.random.default_rng(0)
  windows = rng.normal(size=(4, 3, *batch["audio"].shape[1:])).astype(np.float32)
  params = run.init_state()["params"]
  forward = functools.partial(train.forward, params, {}, model=run.model, teacher_models={})
  averaged = forward({**batch, "audio": windows})
  each = [forward({**batch, "audio": windows[:, w]}) for w in range(3)]
  chex.assert_trees_all_close(averaged, jax.tree.map(lambda *xs: np.mean(xs, 0), *each),
                              atol=1e-5)


def test_training_windows_initialise_the_same_parameters_as_one_window(run):
  example = {key: value[:2] for key, value in run.examples["train"].items()}
  windows = {**example, "audio": np.stack([example["audio"]] * 3, axis=1)}
  one, three = (train.create_train_state(run.model, run.optimizer, e, seed=0)["params"]
                for e in (example, windows))
  chex.assert_trees_all_equal(one, three)


@pytest.mark.slow
def test_a_run_trained_on_random_windows_is_scored_on_all_of_them(config, tmp_path):
  windows = config.copy_and_resolve_references()
  windows.data.audio.test_windows = 3
  windows.data.train_on_windows = True
  windows.train.num_epochs = 1
  windows_run = train.build_run(windows)
  for split in ("train", "val", "test"):
    assert windows_run.examples[split]["audio"].shape[1:] == (3, 40, 128)
  final = train.train_and_evaluate(windows, str(tmp_path / "run"))
  assert 0 <= final["test/joint_uar"] <= 1 and np.isfinite(final["val/joint_ce"])


def test_evaluation_sees_every_example_once(run):
  results, confusion = train.evaluate_split(run, run.init_state()["params"], "test")
  assert confusion["joint"].sum() == pipeline.num_examples(run.examples["test"])
  assert 0.0 <= results["test/joint_accuracy"] <= 1.0


def test_eval_mode_reproduces_the_training_runs_final_metrics(config, tmp_path):
  workdir = str(tmp_path / "run")
  final = train.train_and_evaluate(config, workdir)
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    logged = [json.loads(line) for line in f]
  assert [entry["epoch"] for entry in logged] == [1, 2, 3]
  for split in ("train", "val", "test"):
    assert {f"{split}/joint_accuracy", f"{split}/image_probe_uar"} <= logged[0].keys()
  selected = logged[final["selected_epoch"] - 1]
  assert selected["test/joint_accuracy"] == pytest.approx(final["test/joint_accuracy"])
  assert any(f.startswith("events.out.tfevents") for f in os.listdir(f"{workdir}/tensorboard"))
  assert final["selected_epoch"] in (1, 2, 3)
  evaluated = train.evaluate(config, workdir)
  assert evaluated == final
  with open(os.path.join(workdir, "eval_metrics.json")) as f:
    assert json.load(f) == final
  for head in ("joint", "audio_probe", "image_probe"):
    assert f"test/{head}_accuracy" in final


def test_eval_mode_evaluates_a_named_epoch_on_any_split(config, tmp_path):
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(config, workdir)
  evaluated = train.evaluate(config, workdir, step=3, splits=("train",))
  assert evaluated["selected_epoch"] == 3
  assert "train/joint_uar" in evaluated and "test/joint_accuracy" not in evaluated
  with open(os.path.join(workdir, "eval_confusion.json")) as f:
    confusion = np.array(json.load(f)["train"]["joint"])
  assert confusion.sum() == pipeline.num_examples(train.build_run(config).examples["train"])
  with pytest.raises(run_dir.RunDirError, match="No checkpoint of epoch 99"):
    train.evaluate(config, workdir, step=99)


def test_eval_mode_rejects_checkpoints_of_another_network(config, tmp_path):
  workdir = str(tmp_path / "run")
  train.train_and_evaluate(config, workdir)
  other = config.copy_and_resolve_references()
  other.model.embed_dim = 32
  with pytest.raises(ValueError, match="config.model"):
    train.evaluate(other, workdir)


def test_the_same_config_and_seed_train_to_the_same_metrics_by_steps(config, run, tmp_path):
  by_steps = config.copy_and_resolve_references()
  by_steps.train.num_steps = run.steps_per_epoch + 2  # One epoch and two steps of the next.
  logs = []
  for name in ("first", "second"):
    workdir = tmp_path / name
    train.train_and_evaluate(by_steps, str(workdir))
    with open(workdir / "metrics.jsonl") as f:
      logs.append([json.loads(line) for line in f])
    manager = checkpoints.manager(str(workdir), "val/joint_accuracy", keep=1)
    state = checkpoints.restore(manager, manager.latest_step(), run.init_state())
    assert int(state["step"]) == by_steps.train.num_steps
  assert [entry["epoch"] for entry in logs[0]] == [1, 2]
  assert logs[0] == logs[1]


def test_a_missing_data_root_or_an_empty_split_fails_before_training(config):
  missing = config.copy_and_resolve_references()
  missing.data.roots = ("/no/such/ravdess",)
  with pytest.raises(FileNotFoundError, match="/no/such/ravdess"):
    train.build_run(missing)
  song_only = config.copy_and_resolve_references()
  song_only.data.vocal_channels = ("song",)  # The sample has speech only.
  with pytest.raises(ValueError, match="split has no examples|no audio"):
    train.build_run(song_only)


def test_dropout_and_masks_change_the_step_and_repeat_exactly(config, run):
  regularised = config.copy_and_resolve_references()
  regularised.model.dropout = 0.3
  regularised.augment.update(time_masks=2, mfcc_masks=2)
  regularised_run = train.build_run(regularised)
  batch = _first_train_batch(run)

  def losses(each):
    state, values = each.init_state(), []
    for _ in range(3):
      state, step_metrics = each.train_step(state, each.shard(batch))
      values.append(float(step_metrics["loss"]))
    return values

  plain, first, second = losses(run), losses(regularised_run), losses(regularised_run)
  assert first == second  # Keys come from the seed and the step.
  assert plain[0] != first[0]  # Same parameters, other inputs and activations.
  assert np.isfinite(first).all()


def test_without_test_curves_the_selected_checkpoint_is_still_tested(config, tmp_path):
  quiet = config.copy_and_resolve_references()
  quiet.train.num_epochs = 1
  quiet.train.log_test_metrics = False
  workdir = str(tmp_path / "run")
  final = train.train_and_evaluate(quiet, workdir)
  with open(os.path.join(workdir, "metrics.jsonl")) as f:
    (logged,) = [json.loads(line) for line in f]
  assert "val/joint_accuracy" in logged
  assert not [key for key in logged if key.startswith("test/")]
  assert 0.0 <= final["test/joint_accuracy"] <= 1.0


@pytest.mark.parametrize("key, value, message", [
    ("batch_size", 0, r"config.train.batch_size=0: expected a positive multiple of the 2"),
    ("eval_batch_size", 0, r"config.train.eval_batch_size=0: expected a positive multiple"),
    ("batch_size", 3, r"config.train.batch_size=3: expected a positive multiple of the 2"),
    ("batch_size", 10_000, r"config.train.batch_size=10000 is larger than the training split "
                           r"\(\d+ examples\)"),
])
def test_bad_batch_sizes_fail_before_anything_is_compiled(config, key, value, message):
  bad = config.copy_and_resolve_references()
  bad.train[key] = value
  with pytest.raises(ValueError, match=message):
    train.build_run(bad)
