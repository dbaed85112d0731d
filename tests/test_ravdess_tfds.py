"""The TFDS builder writes what the feature functions compute, once per setting."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import threadpoolctl

from configs import common
from emojax.data import features
from emojax.data import ravdess
from emojax.data import ravdess_tfds

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
