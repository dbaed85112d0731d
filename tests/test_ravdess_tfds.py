"""The TFDS builder writes what the feature functions compute, once per setting."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import threadpoolctl

from configs import common
from emojax.data import features
from emojax.data import ravdess
from emojax.data import ravdess_tfds
from emojax.data import video
from tests import bad_media

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CLIPS = ("01-01-03-01-01-02-05", "01-01-05-02-01-01-05")


@pytest.fixture()
def root(tmp_path, sample_dir):
  """Two actor-05 clips (audio + face video) in the original layout."""
  actor = tmp_path / "ravdess" / "Actor_05"
  actor.mkdir(parents=True)
  for clip_id in CLIPS:
    shutil.copy(sample_dir / "ravdess" / "Actor_05" / f"03{clip_id[2:]}.flac", actor)
    shutil.copy(sample_dir / "ravdess_facecrops" / "Actor_05" / f"{clip_id}.avi", actor)
  return actor.parent


def _data_config(root, tmp_path):
  config = common.get_data_config()
  config.roots = (str(root),)
  config.tfds_dir = str(tmp_path / "tfds")
  config.num_workers = 1  # Two clips: a process pool would cost more than it saves.
  return config


def test_records_round_trip_to_the_computed_features(root, tmp_path):
  config = _data_config(root, tmp_path)
  builder, report = ravdess_tfds.prepare(config)
  clips = ravdess_tfds.load_clips(builder, images_per_clip=3)
  assert report["clips_read"] == report["clips_written"] == 2
  assert report["skipped"] == []
  found, _ = ravdess.scan(config.roots)
  for i, clip in enumerate(found):
    with threadpoolctl.threadpool_limits(1):  # As the builder computes them.
      expected = features.clip_example(clip, ravdess_tfds.feature_config(config))
    assert clips["clip_id"][i] == clip.clip_id
    np.testing.assert_array_equal(clips["mfcc"][i], expected["mfcc"])
    np.testing.assert_array_equal(clips["images"][i], expected["images"])
    assert clips["label"][i] == clip.name.emotion
    assert clips["actor"][i] == 5
    assert clips["has_audio"][i] and clips["has_video"][i]


def test_the_report_counts_black_frames_replaced_and_no_stored_face_is_blank(root, tmp_path):
  # Both clips' face crops end in a black frame (14 of 15), which training samples.
  builder, report = ravdess_tfds.prepare(_data_config(root, tmp_path))
  assert report["blank_frames_replaced"] == 2
  images = ravdess_tfds.load_clips(builder, images_per_clip=3)["images"]
  faces = images.reshape(2, 3, 64, 2, 64, 3).transpose(0, 1, 3, 2, 4, 5).reshape(-1, 64, 64, 3)
  assert not any(video.is_blank(face) for face in faces)


def test_building_twice_is_a_no_op(root, tmp_path):
  config = _data_config(root, tmp_path)
  builder, report = ravdess_tfds.prepare(config)
  written = {f: os.path.getmtime(os.path.join(builder.data_dir, f))
             for f in os.listdir(builder.data_dir)}
  again, report_again = ravdess_tfds.prepare(config)
  assert again.data_dir == builder.data_dir
  assert report_again == report
  assert {f: os.path.getmtime(os.path.join(builder.data_dir, f))
          for f in os.listdir(builder.data_dir)} == written


def test_a_changed_setting_builds_beside_the_old_one(root, tmp_path):
  config = _data_config(root, tmp_path)
  builder, _ = ravdess_tfds.prepare(config)
  config.audio.n_mfcc = 20
  other, _ = ravdess_tfds.prepare(config)
  assert other.data_dir != builder.data_dir
  assert os.path.isdir(builder.data_dir)
  assert ravdess_tfds.load_clips(other, images_per_clip=3)["mfcc"].shape == (2, 20, 128)


def test_a_file_added_to_a_root_builds_new_records(root, tmp_path, sample_dir):
  config = _data_config(root, tmp_path)
  builder, _ = ravdess_tfds.prepare(config)
  shutil.copy(sample_dir / "ravdess" / "Actor_05" / "03-01-01-01-01-01-05.flac",
              root / "Actor_05")
  grown, _ = ravdess_tfds.prepare(config)
  assert grown.data_dir != builder.data_dir
  assert len(ravdess_tfds.load_clips(grown, images_per_clip=3)["clip_id"]) == 3


def test_a_corrupt_file_is_reported_and_skipped(root, tmp_path):
  bad = root / "Actor_05" / "03-01-01-01-01-01-05.flac"
  bad.write_bytes(b"not audio at all" * 64)
  builder, report = ravdess_tfds.prepare(_data_config(root, tmp_path))
  assert report["clips_read"] == 3
  assert report["clips_written"] == 2
  assert [s["file"] for s in report["skipped"]] == [str(bad)]
  assert "cannot read audio" in report["skipped"][0]["reason"]
  assert list(ravdess_tfds.load_clips(builder, 3)["clip_id"]) == sorted(CLIPS)


def test_nan_and_all_zero_audio_are_reported_and_skipped(root, tmp_path, sample_dir):
  nan = root / "Actor_05" / "03-01-01-01-01-01-05.wav"
  silent = root / "Actor_05" / "03-01-02-01-01-01-05.wav"
  bad_media.samples_overwritten(sample_dir / "ravdess/Actor_05/03-01-01-01-01-01-05.flac", nan,
                                np.nan)
  bad_media.samples_overwritten(sample_dir / "ravdess/Actor_05/03-01-02-01-01-01-05.flac", silent,
                                0.0)
  builder, report = ravdess_tfds.prepare(_data_config(root, tmp_path))
  assert (report["clips_read"], report["clips_written"]) == (4, 2)
  reasons = {s["file"]: s["reason"] for s in report["skipped"]}
  assert reasons.keys() == {str(nan), str(silent)}
  assert reasons[str(nan)].startswith(f"{nan}: ")
  assert reasons[str(nan)].endswith("audio samples are not finite (NaN or infinity); the file "
                                    "is corrupt.")
  assert reasons[str(silent)] == (f"{silent}: every audio sample is zero (digital silence); "
                                  "there is no sound to read.")
  assert list(ravdess_tfds.load_clips(builder, 3)["clip_id"]) == sorted(CLIPS)


def test_a_duplicate_file_is_reported_naming_the_one_used(root, tmp_path):
  flac = root / "Actor_05" / f"03{CLIPS[0][2:]}.flac"
  wav = flac.with_suffix(".wav")
  soundfile.write(wav, *soundfile.read(flac))
  _, report = ravdess_tfds.prepare(_data_config(root, tmp_path))
  assert report["clips_written"] == 2
  assert report["skipped"] == [{"file": str(wav), "reason": f"a duplicate of {flac}"}]


@pytest.mark.parametrize("names, found", [
    ((), "there are no files there"),
    (("1001_DFA_ANG_XX.wav", "1001_DFA_DIS_XX.wav", "1001_DFA_FEA_XX.wav"),
     "files there include 1001_DFA_ANG_XX.wav, 1001_DFA_DIS_XX.wav"),
])
def test_a_root_without_ravdess_names_fails_saying_so(tmp_path, sample_dir, names, found):
  # CREMA-D's names: actor_sentence_emotion_level; real RAVDESS audio inside.
  crema = tmp_path / "crema"
  crema.mkdir()
  for name in names:
    shutil.copy(sample_dir / "ravdess/Actor_05/03-01-05-01-01-01-05.flac", crema / name)
  with pytest.raises(ravdess_tfds.NoClipsError) as error:
    ravdess_tfds.prepare(_data_config(crema, tmp_path))
  assert str(error.value).startswith(f"No RAVDESS clips found under {crema}: {found}.")
  assert error.value.report["clips_written"] == 0
  assert [s["file"] for s in error.value.report["skipped"]] == [str(crema / n) for n in names]


def test_clips_none_of_which_can_be_read_fail_with_the_report(tmp_path, sample_dir):
  nan = tmp_path / "ravdess" / "Actor_05" / "03-01-05-01-01-01-05.wav"
  nan.parent.mkdir(parents=True)
  bad_media.samples_overwritten(sample_dir / "ravdess/Actor_05/03-01-05-01-01-01-05.flac", nan,
                                np.nan)
  with pytest.raises(ravdess_tfds.NoClipsError,
                     match=f"None of the 1 RAVDESS clips found under .* could be read, e.g. "
                     f"{nan}: {nan}: .* not finite"):
    ravdess_tfds.prepare(_data_config(nan.parent.parent, tmp_path))


def _rewrite_with_other_samples(path, source):
  """Overwrites the WAV `path` with the start of `source`'s audio: same length, format and size."""
  length = soundfile.info(path).frames
  samples, rate = soundfile.read(source, frames=length, dtype="int16")
  soundfile.write(path, samples, rate, subtype="PCM_16")


def test_a_file_rewritten_at_the_same_size_builds_new_features(root, tmp_path, sample_dir):
  flac = root / "Actor_05" / f"03{CLIPS[0][2:]}.flac"
  wav = flac.with_suffix(".wav")
  soundfile.write(wav, *soundfile.read(flac), subtype="PCM_16")
  flac.unlink()
  config = _data_config(root, tmp_path)
  builder, _ = ravdess_tfds.prepare(config)
  before = ravdess_tfds.load_clips(builder, 3)["mfcc"][0]
  size = os.path.getsize(wav)
  _rewrite_with_other_samples(wav, sample_dir / "ravdess/Actor_01/03-01-05-02-01-01-01.flac")
  assert os.path.getsize(wav) == size
  rebuilt, report = ravdess_tfds.prepare(config)
  assert rebuilt.data_dir != builder.data_dir
  assert report["clips_written"] == 2
  after = ravdess_tfds.load_clips(rebuilt, 3)["mfcc"][0]
  with threadpoolctl.threadpool_limits(1):
    expected = features.clip_example(ravdess.scan(config.roots)[0][0],
                                     ravdess_tfds.feature_config(config))["mfcc"]
  np.testing.assert_array_equal(after, expected)
  assert np.abs(after - before).max() > 0.5


def test_records_asked_for_test_windows_hold_them_beside_the_training_window(root, tmp_path):
  config = _data_config(root, tmp_path)
  config.audio.test_windows = 3
  builder, _ = ravdess_tfds.prepare(config)
  assert os.path.basename(os.path.dirname(builder.data_dir)).startswith("mfcc40x128w3_face")
  clips = ravdess_tfds.load_clips(builder, images_per_clip=3)
  assert clips["mfcc_windows"].shape == (2, 3, 40, 128)
  with threadpoolctl.threadpool_limits(1):
    expected = features.clip_example(ravdess.scan(config.roots)[0][0],
                                     ravdess_tfds.feature_config(config))
  np.testing.assert_array_equal(clips["mfcc_windows"][0], expected["mfcc_windows"])
  np.testing.assert_array_equal(clips["mfcc"][0], expected["mfcc"])
  assert not np.allclose(clips["mfcc_windows"][0, 0], clips["mfcc_windows"][0, 2])


def _prepare_data(root, out_dir):
  return subprocess.Popen(
      [sys.executable, "-m", "tools.prepare_data", f"--data_dir={root}", f"--out_dir={out_dir}",
       "--config.data.num_workers=1"],
      cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_on_one_tfds_dir_build_once_and_share_the_records(root, tmp_path):
  out_dir = tmp_path / "records"
  processes = [_prepare_data(root, out_dir) for _ in range(2)]
  outputs = [process.communicate(timeout=300) for process in processes]
  for process, (_, stderr) in zip(processes, outputs):
    assert process.returncode == 0, stderr[-2000:]
  # Built once: one process built and the other waited, then printed the same
  # records and report (the build's time included).
  stdouts = [stdout for stdout, _ in outputs]
  assert sum("Downloading and preparing" in stdout for stdout in stdouts) == 1
  assert any("Waiting for process" in stderr for _, stderr in outputs)
  assert stdouts[0].splitlines()[-2:] == stdouts[1].splitlines()[-2:]
  config_dirs = [entry for entry in os.scandir(out_dir / "ravdess_features") if entry.is_dir()]
  assert len(config_dirs) == 1
  records = os.path.join(config_dirs[0].path, str(ravdess_tfds.RavdessFeatures.VERSION))
  shards = [f for f in os.listdir(records) if ".tfrecord" in f]
  assert len(shards) == 1


def test_a_missing_root_fails_naming_it(tmp_path):
  config = _data_config(tmp_path / "nowhere", tmp_path)
  with pytest.raises(FileNotFoundError, match="nowhere"):
    ravdess_tfds.prepare(config)


def test_feature_workers_run_one_blas_thread_each():
  # In a fresh process: the limit would slow the rest of the test session.
  check = ("import threadpoolctl; from emojax.data import features;"
           "features.limit_worker_threads(); import librosa, scipy.fft;"
           "print({p['num_threads'] for p in threadpoolctl.threadpool_info()"
           " if p['user_api'] == 'blas'})")
  done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True,
                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  assert done.stdout.strip() == "{1}"


def test_worker_processes_and_one_process_write_the_same_features(root, tmp_path):
  clips = {}
  for workers in (1, 2):
    config = _data_config(root, tmp_path / str(workers))
    config.num_workers = workers
    builder, _ = ravdess_tfds.prepare(config)
    clips[workers] = ravdess_tfds.load_clips(builder, images_per_clip=3)
  for key in ("mfcc", "images", "label"):
    np.testing.assert_array_equal(clips[1][key], clips[2][key])
