"""Inference on anyone's media: emojax.inference (the API) and emojax.predict (the command).

The run directories here hold a small probe network saved at initialisation, as
training saves it (config.json, an Orbax checkpoint replicated over the
devices): predictions of an untrained network still show which heads ran, that
probabilities sum to one and that windows average. The slow test trains.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import av
import cv2
import jax
import numpy as np
import pytest
import soundfile
import soxr
from jax.sharding import NamedSharding, PartitionSpec as P

from configs import audio as audio_config
from configs import concat
from configs import probe
from emojax import checkpoints
from emojax import inference
from emojax import run_dir
from emojax import train
from emojax.data import audio as audio_lib
from emojax.data import preprocess
from emojax.data import ravdess
from emojax.data import video as video_lib
from emojax.inference import media
from emojax.inference import windows as inference_windows
from emojax.models import fusion
from tests import bad_media
from tools import benchmark_predict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One recording of actor 05 (happy) as release video with audio, as the
# video-only file (a silent audio track), and as stored audio; and an
# original 48 kHz stereo wav of actor 01.
MP4 = "ravdess_video/Actor_05/01-01-03-01-01-02-05.mp4"
SILENT_MP4 = "ravdess_video/Actor_05/02-01-03-01-01-02-05.mp4"
FLAC = "ravdess/Actor_05/03-01-03-01-01-02-05.flac"
WAV = "ravdess_original_samples/Actor_01/03-01-02-01-01-02-01.wav"
# The same recording's face crops: 15 frames, 224x224, 5 fps, no audio.
FACECROP_AVI = "ravdess_facecrops/Actor_05/01-01-03-01-01-02-05.avi"
ALL_HEADS = {"joint", "audio_probe", "image_probe"}
# Four other clips of actor 05, unlabelled enrolment for FLAC's speaker.
ENROL_FLACS = ("03-01-01-01-01-01-05.flac", "03-01-02-01-01-01-05.flac",
               "03-01-04-01-01-01-05.flac", "03-01-05-01-01-01-05.flac")


def _small(config):
  config.model.audio_widths = (4, 8)
  config.model.image_widths = (4, 8)
  config.model.embed_dim = 16 if config.model.embed_dim else 0
  config.model.joint_hidden = (16,)
  config.model.probe_hidden = (16,)
  return config


def _write_run(workdir, config):
  """A run directory as train_and_evaluate leaves it, with the initial state as epoch 1."""
  os.makedirs(workdir)
  model = fusion.build_model(config.model)
  example = {"audio": np.zeros((1, 40, 128), np.float32),
             "image": np.zeros((1, 64, 128, 3), np.uint8),
             "au": np.zeros((1, 35), np.float32)}
  state = train.create_train_state(model, train.create_optimizer(config.optimizer, 1, 1),
                                   example, config.seed)
  mesh = jax.sharding.Mesh(np.array(jax.devices()), ("data",))
  state = jax.device_put(state, NamedSharding(mesh, P()))
  with open(os.path.join(workdir, run_dir.CONFIG_FILE), "w") as f:
    f.write(config.to_json_best_effort(indent=2))
  manager = checkpoints.manager(workdir, config.train.select_metric, config.train.keep_checkpoints)
  checkpoints.save(manager, 1, state, {config.train.select_metric: 0.5})
  manager.wait_until_finished()
  return str(workdir)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
  return _write_run(tmp_path_factory.mktemp("probe") / "run", _small(probe.get_config()))


@pytest.fixture(scope="module")
def predictor(workdir):
  return inference.Predictor.from_workdir(workdir)


@pytest.fixture(scope="module")
def pixelated_mp4(sample_dir, tmp_path_factory):
  """The audio+video clip with its frames pixelated beyond recognition, audio kept."""
  path = tmp_path_factory.mktemp("no_face") / "pixelated.mp4"
  _rewrite_pixelated(sample_dir / MP4, path, keep_audio=True)
  return str(path)


def _rewrite_pixelated(source, destination, keep_audio):
  """Re-encodes `source` with each frame shrunk to 16x9 pixels and blown up again."""
  with av.open(str(source)) as reader, av.open(str(destination), "w") as writer:
    video_in = reader.streams.video[0]
    video_out = writer.add_stream("mpeg4", rate=video_in.average_rate)
    video_out.width, video_out.height = video_in.width, video_in.height
    video_out.pix_fmt = "yuv420p"
    audio_out = writer.add_stream_from_template(reader.streams.audio[0]) if keep_audio else None
    for packet in reader.demux():
      if packet.stream.type == "audio" and audio_out is not None and packet.dts is not None:
        packet.stream = audio_out
        writer.mux(packet)
      elif packet.stream.type == "video":
        for frame in packet.decode():
          rgb = frame.to_ndarray(format="rgb24")
          tiny = cv2.resize(rgb, (16, 9), interpolation=cv2.INTER_AREA)
          blocky = cv2.resize(tiny, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST)
          writer.mux(video_out.encode(av.VideoFrame.from_ndarray(blocky, format="rgb24")))
    writer.mux(video_out.encode(None))


def _assert_probabilities(heads):
  for probabilities in heads.values():
    assert list(probabilities) == list(ravdess.EMOTIONS)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())
    np.testing.assert_allclose(sum(probabilities.values()), 1.0, rtol=1e-5)


def _argmax(probabilities):
  return max(probabilities, key=probabilities.get)


# Windows and features: the training transforms, windowed (see also test_preprocess.py).

def test_a_training_length_clip_gets_exactly_the_training_mfccs(sample_dir):
  config = audio_lib.AudioConfig(normalise=True)
  path = str(sample_dir / FLAC)
  clip = media.from_file(path, config, ("audio",))
  layout = inference_windows.window_layout(clip, config)
  windows = np.stack(list(inference_windows.audio_windows(clip, config, layout.frames,
                                                          layout.offsets)))
  assert windows.shape == (1, 40, 128)
  np.testing.assert_array_equal(layout.offsets_s, [0.0])
  np.testing.assert_array_equal(windows[0], audio_lib.audio_features(path, config))


def test_a_run_scored_on_test_windows_predicts_a_training_length_clip_on_them(sample_dir):
  config = audio_lib.AudioConfig(normalise=True, test_windows=3)
  clip = media.from_file(str(sample_dir / FLAC), config, ("audio",))
  layout = inference_windows.window_layout(clip, config)
  windows = np.stack(list(inference_windows.audio_windows(clip, config, layout.frames,
                                                          layout.offsets)))
  whole = audio_lib.frame_features(clip.waveform, config)
  np.testing.assert_array_equal(windows, audio_lib.test_windows(whole, config))


def test_one_window_gives_exactly_the_training_face_images(sample_dir):
  config = video_lib.VideoConfig()
  detector = video_lib.FaceDetector()
  path = str(sample_dir / FACECROP_AVI)
  video = media.Video(3.0, lambda times: video_lib.usable_frames_by_window(path, times),
                      face_crop=video_lib.is_face_crop(path))
  [(images, found)] = inference_windows.face_windows(video, preprocess.CENTRED, config, detector)
  expected, expected_found, _ = video_lib.face_images(path, config, detector)
  assert images.shape == (3, 64, 128, 3) and found == expected_found
  np.testing.assert_array_equal(images, expected)


# The API on real clips.

def test_audio_video_clip_reads_every_head(predictor, sample_dir):
  prediction = predictor.predict(str(sample_dir / MP4))
  assert set(prediction.heads) == ALL_HEADS
  assert prediction.modalities == ("audio", "image")
  assert prediction.head == "joint"
  assert prediction.emotion == _argmax(prediction.heads["joint"])
  assert prediction.notes == ()
  _assert_probabilities(prediction.heads)


def test_video_only_file_with_a_silent_track_reads_the_image_head_only(predictor, sample_dir):
  prediction = predictor.predict(str(sample_dir / SILENT_MP4))
  assert set(prediction.heads) == {"image_probe"}
  assert prediction.modalities == ("image",)
  assert prediction.emotion == _argmax(prediction.heads["image_probe"])
  assert any("silent" in note for note in prediction.notes)


@pytest.mark.parametrize("name", [FLAC, WAV])
def test_audio_file_reads_the_audio_head_only(predictor, sample_dir, name):
  prediction = predictor.predict(str(sample_dir / name))
  assert set(prediction.heads) == {"audio_probe"}
  assert prediction.modalities == ("audio",)
  assert prediction.emotion == _argmax(prediction.heads["audio_probe"])
  _assert_probabilities(prediction.heads)


def test_a_clip_of_training_length_is_one_window(predictor, sample_dir):
  prediction = predictor.predict(str(sample_dir / MP4))  # 3.24 s; a window is 2.97 s.
  [window] = prediction.windows
  assert window.heads == prediction.heads
  assert 0.1 < window.start_s < 0.2 and 3.0 < window.end_s < 3.2


def test_a_long_clip_averages_half_overlapping_windows(predictor, sample_dir):
  waveform, rate = soundfile.read(str(sample_dir / FLAC), dtype="float32")
  frames = video_lib.read_frames(str(sample_dir / FACECROP_AVI), np.arange(15) / 5)
  # The recording three times over: 9.7 s of audio, 9 s of video.
  prediction = predictor.predict_arrays(np.tile(waveform, 3), np.tile(frames, (3, 1, 1, 1)),
                                        sample_rate=rate, fps=5)
  assert len(prediction.windows) == 5
  starts = [window.start_s for window in prediction.windows]
  np.testing.assert_allclose(np.diff(starts), 64 * 512 / 22050)
  for head in ALL_HEADS:
    mean = np.mean([list(w.heads[head].values()) for w in prediction.windows], axis=0)
    np.testing.assert_allclose(list(prediction.heads[head].values()), mean, rtol=1e-6)
    _assert_probabilities({window: w.heads[head] for window, w in enumerate(prediction.windows)})


def test_a_short_clip_is_padded_into_one_window(predictor, sample_dir):
  waveform, rate = soundfile.read(str(sample_dir / FLAC), dtype="float32")
  prediction = predictor.predict_arrays(waveform[rate:2 * rate], sample_rate=rate)  # 1 s.
  [window] = prediction.windows
  assert (window.start_s, window.end_s) == (0.0, 1.0)
  assert set(prediction.heads) == {"audio_probe"}


def test_arrays_at_any_rate_and_channel_count_match_the_file(predictor, sample_dir):
  waveform, rate = soundfile.read(str(sample_dir / WAV), dtype="float32")
  assert waveform.shape[1] == 2 and rate == 48000
  from_arrays = predictor.predict_arrays(waveform, sample_rate=rate)
  from_file = predictor.predict(str(sample_dir / WAV))
  assert from_arrays.heads == from_file.heads
  assert from_arrays.file is None


def _write_long_wav(sample_dir, path, seconds):
  """A 48 kHz stereo WAV of real speech: actor 01's clips one after another on the
  left, actor 05's on the right, brought to 48 kHz and repeated to `seconds`."""
  sides = [np.concatenate([soundfile.read(f, dtype="float32")[0]
                           for f in sorted((sample_dir / "ravdess" / actor).glob("*.flac"))])
           for actor in ("Actor_01", "Actor_05")]
  length = min(map(len, sides))
  speech = soxr.resample(np.stack([side[:length] for side in sides], axis=1), 22050, 48000,
                         quality="VHQ")
  wanted = int(seconds * 48000)
  with soundfile.SoundFile(str(path), "w", 48000, 2, subtype="PCM_16") as f:
    for start in range(0, wanted, len(speech)):  # Written piece by piece: bounded here too.
      f.write(speech[:wanted - start])
  return str(path)


@pytest.mark.parametrize("features", ["mfcc", "log_mel"])
def test_a_long_clip_is_streamed_with_the_whole_clips_mfccs(sample_dir, tmp_path, features):
  path = _write_long_wav(sample_dir, tmp_path / "long.wav", 75)
  config = audio_lib.AudioConfig(features=features)
  long_media = media.from_file(path, config, ("audio",))
  assert long_media.waveform is None and long_media.stream.samples == 75 * 22050
  layout = inference_windows.window_layout(long_media, config)
  streamed = np.stack(list(inference_windows.audio_windows(long_media, config, layout.frames,
                                                           layout.offsets)))
  whole = preprocess.audio_windows(
      audio_lib.frame_features(audio_lib.load_audio(path, 22050), config), config, layout.offsets)
  assert streamed.shape == whole.shape == (49, 40, 128)  # 3231 MFCC frames.
  np.testing.assert_allclose(streamed, whole, rtol=0, atol=1e-4)


def test_no_face_falls_back_to_the_audio_head(predictor, pixelated_mp4):
  prediction = predictor.predict(pixelated_mp4)
  assert set(prediction.heads) == {"audio_probe"}
  assert any(note.startswith("no face found in the 6 sampled frames") for note in prediction.notes)


def test_no_face_and_no_sound_is_an_error_naming_the_file(predictor, sample_dir, tmp_path):
  path = tmp_path / "pixelated_silent.mp4"
  _rewrite_pixelated(sample_dir / SILENT_MP4, path, keep_audio=True)
  with pytest.raises(inference.InputError, match=f"{re.escape(str(path))}: nothing this "
                     "network reads.*silent.*no face found"):
    predictor.predict(str(path))


def _garbage(source, destination):
  del source
  destination.write_bytes(np.random.default_rng(0).bytes(5000))


def _first_fifth(source, destination):
  data = source.read_bytes()
  destination.write_bytes(data[:len(data) // 5])


def _header_only(source, destination):
  destination.write_bytes(source.read_bytes()[:100])


def _empty(source, destination):
  destination.write_bytes(b"")


@pytest.mark.parametrize("source, make, name, reason", [
    (MP4, _garbage, "garbage.mp4", "cannot open the file"),
    (MP4, _first_fifth, "truncated.mp4", "truncated"),
    (FLAC, _header_only, "truncated.flac", "cannot read audio"),
    (WAV, _garbage, "garbage.wav", "cannot read audio"),
    (FLAC, _empty, "empty.flac", "the file is empty"),
    (FLAC, shutil.copyfile, "clip.txt", "unsupported file type '.txt'"),
])
def test_a_bad_file_is_an_error_naming_it(predictor, sample_dir, tmp_path, source, make, name,
                                          reason):
  path = tmp_path / name
  make(sample_dir / source, path)
  with pytest.raises(inference.InputError, match=f"{re.escape(str(path))}: .*{reason}"):
    predictor.predict(str(path))


def test_an_action_unit_network_reads_the_audio_of_a_video(tmp_path, sample_dir):
  workdir = _write_run(tmp_path / "au", _small(probe.get_config("au")))
  prediction = inference.Predictor.from_workdir(workdir).predict(str(sample_dir / MP4))
  assert set(prediction.heads) == {"audio_probe"}
  assert any("action units" in note for note in prediction.notes)


def test_a_network_whose_heads_need_both_modalities_rejects_audio_alone(tmp_path, sample_dir):
  workdir = _write_run(tmp_path / "concat", _small(concat.get_config()))
  predictor = inference.Predictor.from_workdir(workdir)
  with pytest.raises(inference.InputError, match="every head of this network \\(joint\\) "
                     "needs audio and image; the input gives only audio"):
    predictor.predict(str(sample_dir / FLAC))
  assert set(predictor.predict(str(sample_dir / MP4)).heads) == {"joint"}


# The run directory.

def test_a_folder_without_config_is_rejected(tmp_path):
  with pytest.raises(inference.WorkdirError, match="No config.json in"):
    inference.Predictor.from_workdir(str(tmp_path))


def test_a_run_without_checkpoint_is_rejected(tmp_path, workdir):
  shutil.copy(os.path.join(workdir, "config.json"), tmp_path)
  with pytest.raises(inference.WorkdirError, match="No checkpoints in .*train first"):
    inference.Predictor.from_workdir(str(tmp_path))
  assert os.listdir(tmp_path) == ["config.json"]


def test_a_checkpoint_not_matching_the_config_is_rejected(tmp_path, workdir):
  copy = shutil.copytree(workdir, tmp_path / "run")
  with open(copy / "config.json") as f:
    config = json.load(f)
  config["model"]["embed_dim"] = 32
  with open(copy / "config.json", "w") as f:
    json.dump(config, f)
  with pytest.raises(inference.WorkdirError, match=r"does not match the network of its "
                     r"config.json .*\['audio_equaliser'\]\['Dense_0'\]\['bias'\]: config "
                     r"\(32,\), checkpoint \(16,\)"):
    inference.Predictor.from_workdir(str(copy))


def test_an_action_unit_only_network_is_rejected(tmp_path):
  config = _small(probe.get_config("au"))
  config.model.audio_encoder = ""
  config.model.probes = False
  with pytest.raises(inference.WorkdirError, match="action units"):
    inference.Predictor.from_workdir(_write_run(tmp_path / "au_only", config))


def _per_speaker_run(tmp_path):
  config = _small(audio_config.get_config())
  config.data.standardise_per_actor = ("audio",)
  config.data.audio.normalise = False
  config.data.enrol_clips = 8
  return _write_run(tmp_path / "per_speaker", config)


def test_a_network_trained_on_audio_standardised_per_actor_needs_enrolment(tmp_path):
  with pytest.raises(inference.WorkdirError, match=r"give a few clips of the same speaker "
                     r"\(--enrol\)"):
    inference.Predictor.from_workdir(_per_speaker_run(tmp_path))


def test_enrolment_is_refused_for_a_run_of_clips_on_their_own(tmp_path, sample_dir):
  run = _write_run(tmp_path / "plain", _small(audio_config.get_config()))
  with pytest.raises(inference.WorkdirError, match="applies only to runs standardised"):
    inference.Predictor.from_workdir(run, enrol=[str(sample_dir / FLAC)])


def test_enrolment_clips_standardise_every_input_by_the_speakers_statistics(tmp_path,
                                                                           sample_dir):
  enrol = [str(sample_dir / "ravdess/Actor_05" / name) for name in ENROL_FLACS]
  predictor = inference.Predictor.from_workdir(_per_speaker_run(tmp_path), enrol=enrol)
  windows = np.concatenate([predictor.inputs(predictor.media(path)).audio for path in enrol])
  mean, std = predictor.network.speaker_statistics
  assert mean.shape == std.shape == (40, 1)
  np.testing.assert_allclose(mean[:, 0], windows.mean(axis=(0, 2)), rtol=1e-5)
  np.testing.assert_allclose(std[:, 0], windows.std(axis=(0, 2)), rtol=1e-5)
  # A clip predicted is its MFCCs standardised by those statistics, then the network.
  clip = predictor.inputs(predictor.media(str(sample_dir / FLAC))).audio
  predicted = predictor.predict(str(sample_dir / FLAC)).heads["joint"]
  predictor.network.speaker_statistics = None
  by_hand = predictor.network.window_probabilities(np.clip((clip - mean) / std, -10, 10),
                                                   None)["joint"][0]
  np.testing.assert_allclose(list(predicted.values()), by_hand, rtol=1e-5)


def test_a_run_on_functionals_standardised_per_speaker_is_refused(tmp_path):
  config = _small(audio_config.get_config())
  config.model.audio_encoder = ""
  config.model.acoustic_encoder = "mlp"
  config.data.acoustic = "egemaps"
  config.data.standardise_per_actor = ("audio", "au", "acoustic")
  run_dir.write_config(str(tmp_path), config)  # Refused before any checkpoint is read.
  with pytest.raises(inference.WorkdirError, match="acoustic functionals standardised"):
    inference.Predictor.from_workdir(str(tmp_path), enrol=["unused.wav"])


def test_an_enrolment_clip_without_audio_is_named(tmp_path, sample_dir):
  with pytest.raises(inference.InputError, match="02-01-03-01-01-02-05.mp4: an enrolment clip "
                     "needs audio"):
    inference.Predictor.from_workdir(_per_speaker_run(tmp_path),
                                     enrol=[str(sample_dir / SILENT_MP4)])


# The command.

def _predict_command(workdir, *inputs, output_format="json", extra=()):
  return subprocess.run(
      [sys.executable, "-m", "emojax.predict", f"--workdir={workdir}", f"--format={output_format}",
       *extra, *map(str, inputs)],
      cwd=REPO, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def command_on_a_folder(workdir, sample_dir, tmp_path_factory):
  """The command in JSON on a folder of good and bad files: {file: object}, and the process."""
  folder = tmp_path_factory.mktemp("inputs")
  for name in (MP4, SILENT_MP4, FLAC, WAV):
    shutil.copy(sample_dir / name, folder)
  _garbage(None, folder / "garbage.mp4")
  _first_fifth(sample_dir / MP4, folder / "truncated.mp4")
  bad_media.samples_overwritten(sample_dir / WAV, folder / "00_nan.wav", np.nan)
  bad_media.samples_overwritten(sample_dir / WAV, folder / "00_silent.wav", 0.0)
  (folder / "README.txt").write_text("not media; skipped in a folder")
  result = _predict_command(workdir, folder)
  objects = [json.loads(line) for line in result.stdout.splitlines()]
  return {os.path.basename(o["file"]): o for o in objects}, result


def test_command_writes_one_json_object_per_media_file_of_a_folder(command_on_a_folder):
  objects, _ = command_on_a_folder
  assert sorted(objects) == sorted([os.path.basename(name) for name in (MP4, SILENT_MP4, FLAC, WAV)]
                                   + ["garbage.mp4", "truncated.mp4", "00_nan.wav", "00_silent.wav"])


def test_command_reports_each_heads_probabilities_and_the_top_emotion(command_on_a_folder):
  objects, _ = command_on_a_folder
  expected_heads = {MP4: ALL_HEADS, SILENT_MP4: {"image_probe"}, FLAC: {"audio_probe"},
                    WAV: {"audio_probe"}}
  for name, heads in expected_heads.items():
    result = objects[os.path.basename(name)]
    assert set(result["heads"]) == heads
    _assert_probabilities(result["heads"])
    assert result["emotion"] == _argmax(result["heads"][result["head"]])
    assert [set(window["heads"]) for window in result["windows"]] == [heads]


def test_command_gives_the_same_numbers_as_the_api(command_on_a_folder, predictor, sample_dir):
  objects, _ = command_on_a_folder
  expected = predictor.predict(str(sample_dir / MP4)).heads
  for head, probabilities in objects[os.path.basename(MP4)]["heads"].items():
    np.testing.assert_allclose(list(probabilities.values()), list(expected[head].values()),
                               rtol=1e-5)


def test_command_reports_bad_files_and_exits_with_failure(command_on_a_folder):
  objects, result = command_on_a_folder
  assert set(objects["garbage.mp4"]) == {"file", "error"}
  assert objects["garbage.mp4"]["error"].startswith(objects["garbage.mp4"]["file"])
  assert "truncated" in objects["truncated.mp4"]["error"]
  assert "4 of 8 inputs failed." in result.stderr
  assert result.returncode == 1


def test_command_reports_nan_and_all_zero_audio_and_goes_on(command_on_a_folder):
  objects, _ = command_on_a_folder
  nan, silent = objects["00_nan.wav"], objects["00_silent.wav"]
  assert set(nan) == set(silent) == {"file", "error"}
  assert re.fullmatch(f"{re.escape(nan['file'])}: ([0-9]+) of \\1 audio samples are not "
                      "finite \\(NaN or infinity\\); the file is corrupt\\.", nan["error"])
  assert silent["error"] == (f"{silent['file']}: every audio sample is zero (digital silence); "
                             "there is no sound to read.")
  # They sort first; every good file after them was still predicted.
  assert all("heads" in objects[os.path.basename(name)] for name in (MP4, SILENT_MP4, FLAC, WAV))


def test_command_shows_progress_over_a_folder(command_on_a_folder):
  _, result = command_on_a_folder
  assert "predict: 100%" in result.stderr and "8/8" in result.stderr


def test_command_table_lists_every_head_and_exits_with_success(workdir, sample_dir):
  result = _predict_command(workdir, sample_dir / MP4, output_format="table")
  assert result.returncode == 0, result.stderr[-2000:]
  header, columns, *rows = result.stdout.splitlines()
  assert header.startswith(f"{sample_dir / MP4}: ")
  assert "(joint head; audio + image; 1 window)" in header
  assert columns.split() == ["head", *ravdess.EMOTIONS]
  assert [row.split()[0] for row in rows] == ["joint", "audio_probe", "image_probe"]
  joint = [float(p) for p in rows[0].split()[1:]]
  assert header.split()[1] == ravdess.EMOTIONS[int(np.argmax(joint))]


def test_command_rejects_a_run_without_checkpoint_before_reading_media(tmp_path, workdir):
  shutil.copy(os.path.join(workdir, "config.json"), tmp_path)
  _garbage(None, tmp_path / "garbage.mp4")
  result = _predict_command(tmp_path, tmp_path / "garbage.mp4")
  assert result.returncode == 2
  assert "No checkpoints in" in result.stderr
  assert "garbage.mp4" not in result.stderr + result.stdout


@pytest.mark.slow
def test_command_predicts_with_a_trained_run(tmp_path, sample_tfds_dir, sample_dir):
  config = _small(probe.get_config())
  config.data.tfds_dir = sample_tfds_dir
  config.train.num_epochs = 1
  train.train_and_evaluate(config, str(tmp_path))
  result = _predict_command(tmp_path, sample_dir / MP4, sample_dir / FLAC)
  assert result.returncode == 0, result.stderr[-2000:]
  objects = [json.loads(line) for line in result.stdout.splitlines()]
  assert [set(o["heads"]) for o in objects] == [ALL_HEADS, {"audio_probe"}]


@pytest.mark.slow
def test_command_streams_a_30_minute_clip_in_bounded_memory(workdir, sample_dir, tmp_path):
  path = _write_long_wav(sample_dir, tmp_path / "long.wav", 30 * 60)
  with open(tmp_path / "out.json", "w") as out:
    child = subprocess.Popen([sys.executable, "-m", "emojax.predict", f"--workdir={workdir}",
                              "--format=json", path], cwd=REPO, stdout=out,
                             stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # This child's own peak, not other tests'.
  assert os.waitstatus_to_exitcode(status) == 0
  assert usage.ru_maxrss * 1024 < 2 * 2**30  # Linux reports KiB.
  [prediction] = [json.loads(line) for line in open(tmp_path / "out.json")]
  frames = 1 + 30 * 60 * 22050 // 512
  assert len(prediction["windows"]) == 1 + (frames - 128) // 64
  assert prediction["windows"][-1]["end_s"] > 30 * 60 - 2.97 / 4  # Less than a quarter left out.


def test_benchmark_times_each_stage_of_a_prediction_itself(predictor, sample_dir):
  seconds = benchmark_predict.stage_seconds(predictor, str(sample_dir / MP4))
  assert set(seconds) == set(benchmark_predict.STAGES)
  assert all(value > 0 for value in seconds.values())


def test_frames_given_as_arrays_give_the_files_face_images(predictor, sample_dir):
  path = str(sample_dir / FACECROP_AVI)
  frames = video_lib.read_frames(path, np.arange(15) / 5)  # Every frame; the last is black.
  from_arrays = predictor.inputs(media.from_arrays(None, frames, None, 5, 22050,
                                                   predictor.model.modalities, face_crop=True))
  np.testing.assert_array_equal(from_arrays.images, predictor.inputs(predictor.media(path)).images)


def test_command_enrols_a_speaker_from_a_folder(tmp_path, sample_dir):
  run = _per_speaker_run(tmp_path)
  speaker = tmp_path / "speaker"
  speaker.mkdir()
  for name in ENROL_FLACS:
    shutil.copy(sample_dir / "ravdess/Actor_05" / name, speaker)
  enrolled = _predict_command(run, sample_dir / FLAC, extra=(f"--enrol={speaker}",))
  assert enrolled.returncode == 0, enrolled.stderr
  assert json.loads(enrolled.stdout)["modalities"] == ["audio"]
  (tmp_path / "empty").mkdir()
  empty = _predict_command(run, sample_dir / FLAC, extra=(f"--enrol={tmp_path / 'empty'}",))
  assert empty.returncode == 2 and "no audio or video file in this folder" in empty.stderr
