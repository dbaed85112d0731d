import numpy as np
import pytest

from emojax.data import action_units


def test_bundled_csv_has_35_units_for_every_sample_speech_clip(sample_dir):
  units, skipped = action_units.read_action_units(str(sample_dir / "ravdess_openface_au.csv"))
  assert skipped == []
  assert len(units) == 180
  values = units["01-01-01-01-01-01-01"]
  assert values.shape == (35,) and values.dtype == np.float32
  np.testing.assert_allclose(values[:3], [0.0, 0.0, 0.93051])


def test_bad_rows_are_reported_with_their_line(sample_dir, tmp_path):
  lines = (sample_dir / "ravdess_openface_au.csv").read_text().splitlines()
  lines[2] = "not-a-clip," + lines[2].split(",", 1)[1]
  lines[3] = lines[3].rsplit(",", 1)[0]  # One value short.
  lines[4] = lines[4].rsplit(",", 1)[0] + ",nan"
  path = tmp_path / "au.csv"
  path.write_text("\n".join(lines) + "\n")
  units, skipped = action_units.read_action_units(str(path))
  assert len(units) == 177
  assert [s.file for s in skipped] == [f"{path}:{line}" for line in (3, 4, 5)]
  assert "RAVDESS name" in skipped[0].reason


def test_wrong_header_fails_naming_the_file(tmp_path):
  path = tmp_path / "au.csv"
  path.write_text("clip,AU01_r\n")
  with pytest.raises(ValueError, match="au.csv"):
    action_units.read_action_units(str(path))
