"""Splitting, pairing and batching the bundled sample's clips."""
import json

import numpy as np
import pytest

from configs import common
from emojax.data import pipeline
from emojax.data import splits


def _data_config(**overrides):
  config = common.get_data_config()
  config.update(overrides)
  return config


def test_sample_has_actor_05_with_both_modalities_and_actors_01_02_audio_only(sample_clips):
  assert len(sample_clips["clip_id"]) == 180
  both = sample_clips["has_audio"] & sample_clips["has_video"]
  assert set(sample_clips["actor"][both]) == {5} and both.sum() == 60
  assert set(sample_clips["actor"][~sample_clips["has_video"]]) == {1, 2}
  assert sample_clips["images"].shape == (180, 3, 64, 128, 3)


def test_class_pairing_always_pairs_equal_labels(sample_clips):
  examples = pipeline.split_examples(sample_clips, _data_config(pairing="class"),
                                     ("audio", "image"))
  for split in examples.values():
    np.testing.assert_array_equal(sample_clips["label"][split["audio_clip"]], split["label"])
    np.testing.assert_array_equal(sample_clips["label"][split["image_clip"]], split["label"])
  # The study's pairing draws audio from the other actors too, not only the image's clip.
  assert set(sample_clips["actor"][examples["train"]["audio_clip"]]) == {1, 2, 5}


def test_class_pairing_uses_every_example_of_the_larger_modality_once(sample_clips):
  fewer_videos = dict(sample_clips, has_video=sample_clips["has_video"].copy())
  fewer_videos["has_video"][np.flatnonzero(fewer_videos["has_video"])[::2]] = False
  assert fewer_videos["has_video"].sum() * 3 < sample_clips["has_audio"].sum()
  config = _data_config(pairing="class")
  config.split.fractions = (0.6, 0.2, 0.2)  # Every class keeps images in every split.
  examples = pipeline.split_examples(fewer_videos, config, ("audio", "image"))
  audio_clips = np.concatenate([split["audio_clip"] for split in examples.values()])
  np.testing.assert_array_equal(np.sort(audio_clips), np.flatnonzero(sample_clips["has_audio"]))
  for split in examples.values():
    np.testing.assert_array_equal(sample_clips["label"][split["image_clip"]], split["label"])
    assert fewer_videos["has_video"][split["image_clip"]].all()


def test_clip_pairing_takes_audio_and_image_from_one_recording(sample_clips):
  examples = pipeline.split_examples(sample_clips, _data_config(pairing="clip"),
                                     ("audio", "image"))
  for split in examples.values():
    np.testing.assert_array_equal(split["audio_clip"], split["image_clip"])
    np.testing.assert_array_equal(split["audio"], sample_clips["mfcc"][split["audio_clip"]])


def test_seed_split_uses_every_image_example_once(sample_clips):
  examples = pipeline.split_examples(sample_clips, _data_config(), ("audio", "image"))
  sizes = {name: pipeline.num_examples(split) for name, split in examples.items()}
  assert sum(sizes.values()) == 60 * 3
  assert sizes["train"] > 4 * sizes["val"]
  images = np.concatenate([split["image"] for split in examples.values()])
  assert len(np.unique(images.reshape(len(images), -1), axis=0)) == 180


def test_audio_only_examples_cover_every_actor(sample_clips):
  examples = pipeline.split_examples(sample_clips, _data_config(), ("audio",))
  assert set(examples["train"]) == {"audio", "label", "audio_clip"}
  assert sum(pipeline.num_examples(s) for s in examples.values()) == 180


def test_unknown_vocal_channel_is_named(sample_clips):
  with pytest.raises(ValueError, match="whisper"):
    pipeline.split_examples(sample_clips, _data_config(vocal_channels=("whisper",)), ("audio",))


def test_eval_batches_see_every_example_exactly_once(sample_clips):
  examples = pipeline.split_examples(sample_clips, _data_config(), ("audio", "image"))["val"]
  batches = list(pipeline.eval_batches(examples, batch_size=8))
  assert all(len(b["label"]) == 8 for b in batches)
  real = np.concatenate([b["mask"] for b in batches]).astype(bool)
  assert real.sum() == pipeline.num_examples(examples)
  np.testing.assert_array_equal(np.concatenate([b["image"] for b in batches])[real],
                                examples["image"])


def test_train_batches_are_full_and_depend_on_seed_and_epoch(sample_clips):
  examples = pipeline.split_examples(sample_clips, _data_config(), ("audio", "image"))["train"]
  order = lambda seed, epoch: np.concatenate(
      [b["image_clip"] for b in pipeline.train_batches(examples, 16, seed, epoch)])
  batches = list(pipeline.train_batches(examples, 16, seed=0, epoch=1))
  assert len(batches) == pipeline.num_examples(examples) // 16
  assert all(b["audio"].shape == (16, 40, 128) for b in batches)
  np.testing.assert_array_equal(order(0, 1), order(0, 1))
  assert not np.array_equal(order(0, 1), order(0, 2))


def _actor_folds_config(tmp_path, fold):
  folds = tmp_path / "folds.json"
  folds.write_text(json.dumps({"folds": [fold]}))
  config = _data_config(pairing="clip")
  config.split.protocol = "actor_folds"
  config.split.folds_file = str(folds)
  return config


def test_actor_folds_keep_each_actor_in_one_split(sample_clips, tmp_path):
  config = _actor_folds_config(tmp_path, {"train": [1], "val": [], "test": [5]})
  examples = pipeline.split_examples(sample_clips, config, ("audio",))
  assert set(sample_clips["actor"][examples["train"]["audio_clip"]]) == {1}
  assert set(sample_clips["actor"][examples["test"]["audio_clip"]]) == {5}
  assert pipeline.num_examples(examples["val"]) == 0


def test_test_windows_reach_validation_and_test_only(sample_clips, tmp_path):
  config = _actor_folds_config(tmp_path, {"train": [1], "val": [2], "test": [5]})
  config.audio.test_windows = 3
  windows = np.stack([sample_clips["mfcc"] + shift for shift in (-1.0, 0.0, 1.0)], axis=1)
  examples = pipeline.split_examples({**sample_clips, "mfcc_windows": windows}, config, ("audio",))
  assert examples["train"]["audio"].shape[1:] == (40, 128)
  for name in ("val", "test"):
    split = examples[name]
    np.testing.assert_array_equal(split["audio"], windows[split["audio_clip"]])
  config.train_on_windows = True  # Training then draws among the same windows.
  train = pipeline.split_examples({**sample_clips, "mfcc_windows": windows}, config, ("audio",))
  np.testing.assert_array_equal(train["train"]["audio"], windows[train["train"]["audio_clip"]])
  config.audio.test_windows = 1
  with pytest.raises(ValueError, match="config.data.train_on_windows=True draws training windows "
                     "among config.data.audio.test_windows, which is 1"):
    pipeline.split_examples(sample_clips, config, ("audio",))
  config.audio.test_windows, config.train_on_windows = 3, False
  config.standardise_per_actor = ("audio",)
  with pytest.raises(ValueError, match="test_windows > 1 with 'audio' in "
                     "config.data.standardise_per_actor"):
    pipeline.split_examples(sample_clips, config, ("audio",))


def test_actor_folds_file_with_an_actor_in_two_splits_is_rejected(sample_clips, tmp_path):
  config = _actor_folds_config(tmp_path, {"train": [1, 5], "val": [], "test": [5]})
  with pytest.raises(ValueError, match="more than one split"):
    pipeline.split_examples(sample_clips, config, ("audio",))


def test_committed_actor_folds_cover_all_actors_disjointly():
  folds = splits.load_actor_folds(common.get_data_config().split.folds_file)
  assert len(folds) == 6
  for fold in folds:
    assert sorted(fold["train"] + fold["val"] + fold["test"]) == list(range(1, 25))
  assert sorted(a for fold in folds for a in fold["test"]) == list(range(1, 25))


def test_action_units_pair_by_clip_with_audio(sample_clips):
  examples = pipeline.split_examples(sample_clips, _data_config(pairing="clip"), ("audio", "au"))
  total = sum(pipeline.num_examples(s) for s in examples.values())
  assert total == 180  # One example per clip, every actor.
  for split in examples.values():
    np.testing.assert_array_equal(split["au_clip"], split["audio_clip"])
    np.testing.assert_array_equal(split["au"], sample_clips["au"][split["au_clip"]])


def _with_index(examples):
  return dict(examples, index=np.arange(pipeline.num_examples(examples)))


def test_two_processes_split_each_train_batch_without_overlap(sample_clips):
  examples = _with_index(pipeline.split_examples(
      sample_clips, _data_config(), ("audio", "image"))["train"])
  single = [b["index"] for b in pipeline.train_batches(examples, 16, seed=0, epoch=1)]
  shares = [[b["index"] for b in pipeline.train_batches(examples, 16, 0, 1, process, 2)]
            for process in (0, 1)]
  assert len(shares[0]) == len(shares[1]) == len(single)
  for batch, first, second in zip(single, *shares):
    assert len(first) == len(second) == 8
    assert sorted(np.concatenate([first, second])) == sorted(batch)


def test_two_processes_evaluate_every_example_once(sample_clips):
  examples = _with_index(pipeline.split_examples(
      sample_clips, _data_config(), ("audio", "image"))["val"])
  seen = np.concatenate([b["index"][b["mask"] == 1] for process in (0, 1)
                         for b in pipeline.eval_batches(examples, 8, process, 2)])
  np.testing.assert_array_equal(np.sort(seen), np.arange(pipeline.num_examples(examples)))


def test_standardise_per_actor_centres_and_scales_each_actors_features():
  actors = np.array([1, 1, 1, 2, 2, 3])
  present = np.array([True, True, True, True, True, False])
  values = np.array([[0., 10.], [2., 10.], [4., 10.], [100., -1.], [300., 1.], [7., 7.]])
  standardised = pipeline.standardise_per_actor(values, actors, present)
  scale = np.sqrt(8 / 3)  # The std of 0, 2, 4.
  np.testing.assert_allclose(standardised[:3], [[-2 / scale, 0.], [0., 0.], [2 / scale, 0.]],
                             rtol=1e-6)  # Constant for actor 1: centred, not divided by 0.
  np.testing.assert_allclose(standardised[3:5], [[-1., -1.], [1., 1.]])
  np.testing.assert_array_equal(standardised[5], values[5])  # Not present: left alone.


def test_enrolment_standardises_each_clip_by_other_clips_of_its_actor_only():
  actors = np.array([1, 1, 1, 1, 2, 2, 2])
  present = np.array([True, True, True, True, True, True, False])
  values = np.array([[0.], [2.], [4.], [6.], [10.], [15.], [7.]])
  # More clips asked for than an actor has: all the others (leave one out).
  standardised = pipeline.standardise_by_enrolment(values, actors, present, 99, seed=0)
  others = values[[0, 1, 2], 0]
  np.testing.assert_allclose(standardised[3], (6 - others.mean()) / others.std(), rtol=1e-6)
  # An actor's only other clip: centred on it, its std 0 not divided by.
  np.testing.assert_allclose(standardised[4:6, 0], [-5., 5.])
  np.testing.assert_array_equal(standardised[6], values[6])  # Not present: left alone.


def test_enrolment_clips_what_a_nearly_constant_feature_blows_up():
  actors = np.zeros(3, int)
  values = np.array([[1.0], [1.0 + 1e-9], [2.0]])
  standardised = pipeline.standardise_by_enrolment(values, actors, np.ones(3, bool), 2, 0)
  assert standardised[2, 0] == pipeline.ENROLMENT_LIMIT


def test_enrolment_draws_k_clips_at_random_from_the_seed():
  actors = np.zeros(40, int)
  values = np.random.default_rng(0).normal(size=(40, 3, 5))
  present = np.ones(40, bool)
  first = pipeline.standardise_by_enrolment(values, actors, present, 4, seed=0)
  np.testing.assert_array_equal(first, pipeline.standardise_by_enrolment(
      values, actors, present, 4, seed=0))
  assert not np.allclose(first, pipeline.standardise_by_enrolment(
      values, actors, present, 4, seed=1))
  # Each clip is standardised by 4 clips' statistics, not by all 40 clips'.
  assert not np.allclose(first, pipeline.standardise_per_actor(values, actors, present))


def test_enrolment_reaches_the_examples_of_every_split(sample_clips):
  config = _data_config(pairing="clip", standardise_per_actor=("au",), enrol_clips=4)
  examples = pipeline.split_examples(sample_clips, config, ("audio", "au"))
  present = sample_clips["has_au"] & (sample_clips["vocal_channel"] == 1)
  expected = pipeline.standardise_by_enrolment(sample_clips["au"], sample_clips["actor"],
                                               present, 4, config.split.seed)
  for split in examples.values():
    np.testing.assert_array_equal(split["au"], expected[split["au_clip"]])
    # The audio, not named in standardise_per_actor, is as stored.
    np.testing.assert_array_equal(split["audio"], sample_clips["mfcc"][split["audio_clip"]])


def test_standardise_per_actor_reaches_the_examples_of_every_split(sample_clips):
  config = _data_config(pairing="clip", standardise_per_actor=("audio", "au"))
  examples = pipeline.split_examples(sample_clips, config, ("audio", "au"))
  clip = np.concatenate([split["audio_clip"] for split in examples.values()])
  audio = np.concatenate([split["audio"] for split in examples.values()])
  au = np.concatenate([split["au"] for split in examples.values()])
  actors = sample_clips["actor"][clip]
  assert set(actors) == {1, 2, 5}
  for actor in (1, 2, 5):
    mine = actors == actor
    np.testing.assert_allclose(au[mine].mean(axis=0), 0, atol=1e-5)
    au_std = au[mine].std(axis=0)
    np.testing.assert_allclose(au_std[au_std > 0], 1, rtol=1e-4)  # Constant units stay 0.
    np.testing.assert_allclose(audio[mine].mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(audio[mine].std(axis=(0, 2)), 1, rtol=1e-3)
  assert not np.allclose(audio, sample_clips["mfcc"][clip])


def test_an_unknown_modality_to_standardise_is_named():
  config = _data_config(standardise_per_actor=("image",))
  with pytest.raises(ValueError, match=r"config.data.standardise_per_actor has \['image'\]"):
    pipeline.split_examples({"vocal_channel": np.ones(1), "label": np.zeros(1),
                             "actor": np.ones(1)}, config, ("audio",))


def _speech_and_song_clips():
  """Audio-only clips, 10 per emotion and vocal channel, mfcc holding the clip's index."""
  count = 160
  return {"mfcc": np.arange(count, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3)),
          "label": np.tile(np.arange(8), 20), "actor": np.ones(count, int),
          "vocal_channel": np.repeat([1, 2], 80), "has_audio": np.ones(count, bool)}


def test_training_on_speech_and_song_can_be_evaluated_on_speech_alone():
  clips = _speech_and_song_clips()
  config = _data_config(vocal_channels=("speech", "song"), eval_vocal_channels=("speech",))
  examples = pipeline.split_examples(clips, config, ("audio",))
  assert set(clips["vocal_channel"][examples["train"]["audio_clip"]]) == {1, 2}
  for name in ("val", "test"):
    split = examples[name]
    assert len(split["label"]) and set(clips["vocal_channel"][split["audio_clip"]]) == {1}
    np.testing.assert_array_equal(split["audio"][:, 0, 0], split["audio_clip"])
  # The same split otherwise: speech examples of val and test are all kept.
  both = pipeline.split_examples(clips, _data_config(vocal_channels=("speech", "song")),
                                 ("audio",))
  speech = both["test"]["audio_clip"][clips["vocal_channel"][both["test"]["audio_clip"]] == 1]
  np.testing.assert_array_equal(examples["test"]["audio_clip"], speech)


def test_evaluating_on_a_channel_not_trained_on_is_refused():
  config = _data_config(eval_vocal_channels=("song",))
  with pytest.raises(ValueError, match="config.data.eval_vocal_channels"):
    pipeline.split_examples(_speech_and_song_clips(), config, ("audio",))
