"""tools.prepare_data: RAVDESS roots -> TFRecords and report.json."""
import json
import os
import shutil
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
