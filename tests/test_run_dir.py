"""A run directory's config.json is the truth for resume and eval; overrides may
change only run-time keys."""
import json

import pytest

from configs import au
from configs import probe
from emojax import run_dir
from emojax import train


def _saved(tmp_path, **split):
  config = probe.get_config("au")
  config.data.split.update(protocol="actor_folds", **split)
  config.data.pairing = "clip"
  run_dir.write_config(str(tmp_path), config)
  return config


def test_the_saved_config_wins_over_the_command_lines_config_file(tmp_path):
  _saved(tmp_path, fold=3)
  given = probe.get_config("au")  # The file's defaults: the seed split, class pairing.
  resolved = run_dir.resolve_config(str(tmp_path), given, {})
  assert resolved.data.split.protocol == "actor_folds" and resolved.data.split.fold == 3
  assert resolved.data.pairing == "clip"
  assert resolved.model.audio_widths == (16, 32)  # Tuples, as the configs make them.


def test_without_a_config_file_the_saved_config_is_used(tmp_path):
  saved = _saved(tmp_path, fold=2)
  assert run_dir.changed_keys(saved, run_dir.resolve_config(str(tmp_path), None, {})) == []


def test_run_time_overrides_apply_and_others_are_refused_naming_the_keys(tmp_path):
  _saved(tmp_path, fold=3)
  given = probe.get_config("au")
  resolved = run_dir.resolve_config(
      str(tmp_path), given, {"train.num_epochs": 40, "data.tfds_dir": "/elsewhere"})
  assert resolved.train.num_epochs == 40 and resolved.data.tfds_dir == "/elsewhere"
  with pytest.raises(run_dir.RunDirError, match=r"config\.data\.split\.fold: the run has 3, "
                     r"this command 0; config\.optimizer\.learning_rate"):
    run_dir.resolve_config(str(tmp_path), given,
                           {"data.split.fold": 0, "optimizer.learning_rate": 0.5})
  # Repeating the run's own value is no change.
  run_dir.resolve_config(str(tmp_path), given, {"data.split.fold": 3})


def test_a_new_workdir_needs_a_config(tmp_path):
  with pytest.raises(run_dir.RunDirError, match="pass --config"):
    run_dir.resolve_config(str(tmp_path), None, {})


def test_resuming_with_other_data_is_refused_before_anything_is_built(tmp_path):
  saved = _saved(tmp_path, fold=3)
  other = saved.copy_and_resolve_references()
  other.data.vocal_channels = ("speech", "song")
  with pytest.raises(run_dir.RunDirError, match=r"config\.data\.vocal_channels"):
    train.train_and_evaluate(other, str(tmp_path))
  with pytest.raises(run_dir.RunDirError, match=r"config\.model\.audio_encoder"):
    train.evaluate(au.get_config(), str(tmp_path))


def test_a_run_saved_before_a_key_was_added_is_still_the_same_run(tmp_path):
  saved = _saved(tmp_path, fold=1)
  with open(tmp_path / run_dir.CONFIG_FILE) as f:
    old = json.load(f)
  del old["data"]["acoustic"], old["model"]["acoustic_widths"]
  with open(tmp_path / run_dir.CONFIG_FILE, "w") as f:
    json.dump(old, f)
  assert run_dir.changed_keys(old, saved) == []
  assert run_dir.read_config(str(tmp_path)).model.acoustic_widths == (64, 64)
  run_dir.check_same_run(str(tmp_path), saved)


def test_a_key_removed_since_is_dropped_from_an_old_run(tmp_path):
  saved = _saved(tmp_path, fold=1)
  with open(tmp_path / run_dir.CONFIG_FILE) as f:
    old = json.load(f)
  old["data"]["video"]["face_margin"] = 0.1
  with open(tmp_path / run_dir.CONFIG_FILE, "w") as f:
    json.dump(old, f)
  assert run_dir.changed_keys(old, saved) == []
  assert "face_margin" not in run_dir.read_config(str(tmp_path)).data.video


def test_video_settings_matter_only_to_a_network_that_reads_images():
  with_units, with_images = probe.get_config("au"), probe.get_config("image")
  other_units, other_images = with_units.copy_and_resolve_references(), \
      with_images.copy_and_resolve_references()
  for config in (other_units, other_images):
    config.data.video.face_size = 32
  assert run_dir.changed_keys(with_units, other_units) == []
  assert run_dir.changed_keys(with_images, other_images) == ["data.video.face_size"]
  # Between an image run and an action-unit run, the video settings still count.
  assert "data.video.face_size" in run_dir.changed_keys(with_images, other_units)
