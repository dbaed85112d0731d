"""tools.prepare_data: RAVDESS roots -> TFRecords and report.json."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

from configs import probe
from emojax.data import ravdess_tfds
from tests import bad_media

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _prepare_data(*roots, out_dir, flags=()):
  return subprocess.run(
      [sys.executable, "-m", "tools.prepare_data", *[f"--data_dir={root}" for root in roots],
       f"--out_dir={out_dir}", "--config.data.num_workers=1", *flags],
      cwd=REPO, capture_output=True, text=True, timeout=300)


def test_prepare_data_writes_records_and_reports_a_bad_file(sample_dir, tmp_path):
  audio = tmp_path / "audio" / "Actor_05"
  video = tmp_path / "video" / "Actor_05"
  audio.mkdir(parents=True)
  video.mkdir(parents=True)
  shutil.copy(sample_dir / "ravdess" / "Actor_05" / "03-01-03-01-01-02-05.flac", audio)
  shutil.copy(sample_dir / "ravdess_facecrops" / "Actor_05" / "01-01-03-01-01-02-05.avi", video)
  (video / "01-01-04-01-01-01-05.avi").write_bytes(b"")  # Empty: reported, skipped.
  out_dir = tmp_path / "records"
  result = subprocess.run(
      [sys.executable, "-m", "tools.prepare_data", f"--data_dir={audio.parent}",
       f"--data_dir={video.parent}", f"--out_dir={out_dir}",
       f"--action_units={sample_dir / 'ravdess_openface_au.csv'}",
       "--config.data.num_workers=1"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr
  report = json.loads((out_dir / "report.json").read_text())
  assert report["clips_read"] == 2
  assert report["clips_written"] == 1
  assert [s["file"] for s in report["skipped"]] == [str(video / "01-01-04-01-01-01-05.avi")]
  assert report["seconds"] > 0
  assert "1 written, 1 skipped" in result.stdout
  records = [f for _, _, files in os.walk(out_dir) for f in files if ".tfrecord" in f]
  assert records


def test_prepare_data_reports_and_skips_nan_and_all_zero_audio(sample_dir, tmp_path):
  actor = tmp_path / "audio" / "Actor_05"
  actor.mkdir(parents=True)
  good = shutil.copy(sample_dir / "ravdess/Actor_05/03-01-03-01-01-02-05.flac", actor)
  nan, silent = actor / "03-01-04-01-01-01-05.wav", actor / "03-01-05-01-01-01-05.wav"
  bad_media.samples_overwritten(sample_dir / "ravdess/Actor_05/03-01-04-01-01-01-05.flac", nan,
                                np.nan)
  bad_media.samples_overwritten(sample_dir / "ravdess/Actor_05/03-01-05-01-01-01-05.flac", silent,
                                0.0)
  out_dir = tmp_path / "records"
  result = _prepare_data(actor.parent, out_dir=out_dir)
  assert result.returncode == 0, result.stderr[-2000:]
  report = json.loads((out_dir / "report.json").read_text())
  assert (report["clips_read"], report["clips_written"]) == (3, 1)
  reasons = {s["file"]: s["reason"] for s in report["skipped"]}
  assert str(good) not in reasons
  assert "not finite (NaN or infinity)" in reasons[str(nan)]
  assert "every audio sample is zero" in reasons[str(silent)]
  assert f"skipped {nan}: {nan}: " in result.stdout
  assert f"skipped {silent}: {silent}: every audio sample is zero" in result.stdout


def test_prepare_data_on_a_folder_without_ravdess_names_writes_the_report_and_fails(
    sample_dir, tmp_path):
  crema = tmp_path / "crema"
  crema.mkdir()
  for name in ("1001_DFA_ANG_XX.wav", "1001_DFA_DIS_XX.wav"):
    shutil.copy(sample_dir / "ravdess_original_samples/Actor_01/03-01-02-01-01-02-01.wav",
                crema / name)
  out_dir = tmp_path / "records"
  result = _prepare_data(crema, out_dir=out_dir)
  assert result.returncode == 1
  assert (f"error: No RAVDESS clips found under {crema}: files there include "
          "1001_DFA_ANG_XX.wav, 1001_DFA_DIS_XX.wav.") in result.stderr
  assert "AssertionError" not in result.stderr
  report = json.loads((out_dir / "report.json").read_text())
  assert report["clips_written"] == 0
  assert [s["file"] for s in report["skipped"]] == [str(crema / "1001_DFA_ANG_XX.wav"),
                                                   str(crema / "1001_DFA_DIS_XX.wav")]
  assert "expected a RAVDESS name" in report["skipped"][0]["reason"]


def test_prepare_data_on_an_empty_folder_writes_the_report_and_fails(tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  out_dir = tmp_path / "records"
  result = _prepare_data(empty, out_dir=out_dir)
  assert result.returncode == 1
  assert f"error: No RAVDESS clips found under {empty}: there are no files there." in result.stderr
  report = json.loads((out_dir / "report.json").read_text())
  assert (report["clips_read"], report["clips_written"], report["skipped"]) == (0, 0, [])


def test_training_after_prepare_data_reuses_its_records(sample_dir, tmp_path):
  actor = tmp_path / "audio" / "Actor_05"
  actor.mkdir(parents=True)
  shutil.copy(sample_dir / "ravdess/Actor_05/03-01-03-01-01-02-05.flac", actor)
  out_dir = tmp_path / "records"
  # The README's steps: prepare_data with a root, then training with that root and
  # --config.data.tfds_dir; emojax.train hands config.data to prepare, as here.
  assert _prepare_data(actor.parent, out_dir=out_dir).returncode == 0
  prepared = json.loads((out_dir / "report.json").read_text())
  data_config = probe.get_config().data
  data_config.roots = (str(actor.parent),)
  data_config.tfds_dir = str(out_dir)
  builder, report = ravdess_tfds.prepare(data_config)
  assert report == prepared  # Read back, not built again (its build time too).
  name = os.path.basename(os.path.dirname(builder.data_dir))
  assert sorted(os.listdir(out_dir / "ravdess_features")) == [name, f"{name}.lock"]


def test_training_on_a_folder_without_ravdess_clips_fails_saying_so(tmp_path):
  empty = tmp_path / "empty"
  empty.mkdir()
  result = subprocess.run(
      [sys.executable, "-m", "emojax.main", "--config=configs/probe.py",
       f"--workdir={tmp_path / 'run'}", f"--config.data.roots=('{empty}',)",
       f"--config.data.tfds_dir={tmp_path / 'records'}"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert result.returncode != 0
  assert f"No RAVDESS clips found under {empty}: there are no files there." in result.stderr
