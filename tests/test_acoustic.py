"""Standard acoustic functionals (openSMILE's eGeMAPS and ComParE, MFCC statistics) as a
feature set, and the linear baseline on any feature set: builder, pipeline, networks,
training and Predictor, on the bundled sample's audio."""
import json
import os
import re
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import soundfile

from configs import common
from configs import linear
from configs import probe
from emojax import inference
from emojax import train
from emojax.data import acoustic
from emojax.data import audio as audio_lib
from emojax.data import pipeline
from emojax.data import ravdess_tfds
from emojax.models import fusion

FLAC = "ravdess/Actor_05/03-01-05-02-01-01-05.flac"  # Angry, strong.
AUDIO = audio_lib.AudioConfig()


def _audio_only(config, sample_dir, tfds_dir):
  """`config` on the sample's 180 speech audio clips (actors 01, 02, 05), no video to decode."""
  config.data.roots = (str(sample_dir / "ravdess"),)
  config.data.tfds_dir = tfds_dir
  return config


@pytest.fixture(scope="module")
def egemaps_clips(sample_dir, sample_tfds_dir):
  config = _audio_only(linear.get_config("egemaps"), sample_dir, sample_tfds_dir)
  builder, report = ravdess_tfds.prepare(config.data)
  assert (report["clips_written"], report["skipped"]) == (180, [])
  return ravdess_tfds.load_clips(builder, 3)


@pytest.mark.parametrize("name, size", [("egemaps", 88), ("compare", 6373), ("mfcc", 80)])
def test_functionals_of_a_clip_have_each_sets_size_and_are_finite(sample_dir, name, size):
  waveform = audio_lib.clip_waveform(str(sample_dir / FLAC), AUDIO)
  values = acoustic.functionals(waveform, AUDIO, name, FLAC)
  assert values.shape == (size,) == (acoustic.num_features(name, AUDIO),)
  assert values.dtype == np.float32 and np.isfinite(values).all()
  if name == "mfcc":  # The standard vector: each coefficient's mean, then its std, over time.
    mfcc = audio_lib.mfcc(waveform, AUDIO)
    np.testing.assert_array_equal(values, np.concatenate([mfcc.mean(1), mfcc.std(1)]))


def test_an_unknown_feature_set_fails_naming_the_key():
  config = common.get_data_config()
  config.acoustic = "gemaps"
  with pytest.raises(ValueError, match=r"config.data.acoustic 'gemaps'; expected '' \(none\)"):
    ravdess_tfds.builder_config(config)


def test_unasked_functionals_leave_the_records_name_and_setting_as_before():
  default = ravdess_tfds.builder_config(common.get_data_config())
  assert set(json.loads(default.description)) == {"roots", "action_units", "files", "audio",
                                                  "video"}
  assert re.fullmatch(r"mfcc40x128_face64x6_[0-9a-f]{12}", default.name)
  config = common.get_data_config()
  config.acoustic = "egemaps"
  asked = ravdess_tfds.builder_config(config)
  assert json.loads(asked.description)["acoustic"] == "egemaps"
  assert asked.name.startswith("mfcc40x128_egemaps_face64x6_")
  config = common.get_data_config()
  config.audio.features = "log_mel"
  log_mel = ravdess_tfds.builder_config(config)
  assert json.loads(log_mel.description)["audio"]["features"] == "log_mel"
  assert log_mel.name.startswith("logmel40x128_face64x6_")
  assert log_mel.name[-12:] != default.name[-12:]


def test_records_hold_the_functionals_and_a_clip_too_short_for_them_is_skipped(
    tmp_path, sample_dir):
  actor = tmp_path / "ravdess" / "Actor_05"
  actor.mkdir(parents=True)
  shutil.copy(sample_dir / FLAC, actor)
  samples, rate = soundfile.read(sample_dir / FLAC, dtype="float32")
  short = actor / "03-01-03-01-01-01-05.wav"  # The clip's middle 50 ms: real, but too short.
  soundfile.write(short, samples[len(samples) // 2:][:rate // 20], rate)
  config = linear.get_config("egemaps").data
  config.update(roots=(str(tmp_path / "ravdess"),), tfds_dir=str(tmp_path / "tfds"),
                num_workers=1)
  builder, report = ravdess_tfds.prepare(config)
  assert (report["clips_read"], report["clips_written"]) == (2, 1)
  [skipped] = report["skipped"]
  assert skipped["file"] == str(short)
  assert skipped["reason"] == (f"{short}: 88 of 88 egemaps functionals are not finite (NaN or "
                               "infinity); the audio (0.05 s) is too short or broken for them.")
  stored = ravdess_tfds.load_clips(builder, 3)["acoustic"]
  waveform = audio_lib.clip_waveform(str(actor / os.path.basename(FLAC)), AUDIO)
  np.testing.assert_array_equal(stored, [acoustic.functionals(waveform, AUDIO, "egemaps", "")])


def test_functionals_are_standardised_by_the_training_clips_alone(egemaps_clips):
  data = linear.get_config("egemaps").data
  examples, statistics = pipeline.standardise_acoustic(
      pipeline.split_examples(egemaps_clips, data, ("acoustic",)))
  raw = egemaps_clips["acoustic"]
  train_clips = np.unique(examples["train"]["audio_clip"])
  np.testing.assert_allclose(statistics["mean"], raw[train_clips].mean(0), rtol=1e-5)
  np.testing.assert_allclose(statistics["std"], raw[train_clips].std(0), rtol=1e-5)
  # Not the statistics of every clip: validation and test never enter them.
  assert not np.allclose(statistics["mean"], raw.mean(0), rtol=1e-3)
  for split in examples.values():
    np.testing.assert_allclose(
        split["acoustic"], (raw[split["audio_clip"]] - statistics["mean"]) / statistics["std"],
        rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(examples["train"]["acoustic"].mean(0), 0, atol=1e-4)
  np.testing.assert_allclose(examples["train"]["acoustic"].std(0), 1, rtol=1e-3)


def test_a_network_reading_functionals_the_records_lack_fails_naming_the_key(sample_clips):
  with pytest.raises(ValueError, match=r"set config.data.acoustic to one of \('egemaps'"):
    pipeline.split_examples(sample_clips, common.get_data_config(), ("acoustic",))


@pytest.mark.parametrize("features, count", [("egemaps", 88), ("compare", 6373), ("mfcc", 80),
                                             ("au", 35)])
def test_linear_baseline_has_features_plus_one_times_eight_parameters(features, count):
  model = fusion.build_model(linear.get_config(features).model)
  modality = "au" if features == "au" else "acoustic"
  shapes = jax.eval_shape(model.init, jax.random.key(0), **{modality: jnp.zeros((1, count))})
  assert sum(leaf.size for leaf in jax.tree.leaves(shapes)) == (count + 1) * 8


def test_linear_baseline_on_egemaps_trains_and_its_loss_falls(egemaps_clips, sample_dir,
                                                                sample_tfds_dir):
  config = _audio_only(linear.get_config("egemaps"), sample_dir, sample_tfds_dir)
  run = train.build_run(config)
  state = run.init_state()
  assert sum(leaf.size for leaf in jax.tree.leaves(state["params"])) == 89 * 8
  epoch_losses = []
  for epoch in (1, 2, 3, 4):  # 8 steps of 16 clips each.
    losses = []
    for batch in run.train_batches(epoch):
      state, step_metrics = run.train_step(state, run.shard(batch))
      losses.append(float(step_metrics["loss"]))
    epoch_losses.append(np.mean(losses))
  assert len(losses) == run.steps_per_epoch == 8
  assert epoch_losses[-1] < 0.7 * epoch_losses[0], epoch_losses


@pytest.mark.parametrize("audio_encoder, heads", [
    ("", {"joint", "acoustic_probe", "au_probe"}),
    ("cnn", {"joint", "audio_probe", "acoustic_probe", "au_probe"})])
def test_probe_network_fuses_functionals_with_action_units_and_mfccs(
    egemaps_clips, sample_dir, sample_tfds_dir, audio_encoder, heads):
  config = _audio_only(probe.get_config("au"), sample_dir, sample_tfds_dir)
  config.data.acoustic = "egemaps"
  config.model.update(audio_encoder=audio_encoder, acoustic_encoder="mlp", acoustic_widths=(16,),
                      audio_widths=(4, 8), au_widths=(8,), embed_dim=16)
  config.loss.terms = {f"{head}_ce": 1.0 for head in heads}
  run = train.build_run(config)
  assert run.model.modalities == (("audio",) if audio_encoder else ()) + ("acoustic", "au")
  train_split = run.examples["train"]
  # Class pairing: functionals and MFCCs of one recording, action units of another clip.
  np.testing.assert_allclose(
      train_split["acoustic"],
      acoustic.standardise(egemaps_clips["acoustic"][train_split["audio_clip"]],
                           run.acoustic_statistics), rtol=1e-6)
  state, step_metrics = run.train_step(run.init_state(), run.shard(next(run.train_batches(1))))
  assert np.isfinite(float(step_metrics["loss"]))
  assert set(step_metrics["confusion"]) == heads


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory, egemaps_clips, sample_dir, sample_tfds_dir):
  """The linear baseline on eGeMAPS, trained one short epoch."""
  workdir = str(tmp_path_factory.mktemp("linear") / "run")
  config = _audio_only(linear.get_config("egemaps"), sample_dir, sample_tfds_dir)
  config.train.num_steps = 3
  train.train_and_evaluate(config, workdir)
  return workdir


def test_predictor_computes_a_clips_stored_functionals_and_standardises_them_as_training(
    linear_run, egemaps_clips, sample_dir):
  predictor = inference.Predictor.from_workdir(linear_run)
  inputs = predictor.inputs(predictor.media(str(sample_dir / FLAC)))
  row = list(egemaps_clips["clip_id"]).index("01-01-05-02-01-01-05")
  np.testing.assert_array_equal(inputs.acoustic, egemaps_clips["acoustic"][row:row + 1])

  prediction = predictor.predict(str(sample_dir / FLAC))
  assert prediction.modalities == ("acoustic",) and prediction.head == "joint"
  statistics = acoustic.load_statistics(linear_run)
  params = inference.model.restore(linear_run)[1]
  logits = predictor.model.apply({"params": params}, acoustic=acoustic.standardise(
      egemaps_clips["acoustic"][row:row + 1], statistics))["logits"]["joint"]
  np.testing.assert_allclose(list(prediction.heads["joint"].values()),
                             jax.nn.softmax(logits)[0], rtol=1e-5, atol=1e-6)


def test_predictor_refuses_a_run_without_its_statistics_naming_the_file(linear_run, tmp_path):
  copy = tmp_path / "run"
  shutil.copytree(linear_run, copy)
  (copy / acoustic.STATISTICS_FILE).unlink()
  with pytest.raises(inference.WorkdirError,
                     match=f"{copy}/{acoustic.STATISTICS_FILE} is missing"):
    inference.Predictor.from_workdir(str(copy))
