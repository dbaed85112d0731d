"""Facial action units per clip (OpenFace 2), the visual modality for every actor.

The CSV has a `clip_id` column (the audio+video id, `01-...`) and one column per
action unit: 17 intensities `AUxx_r` and 18 presences `AUxx_c`, each aggregated
over the clip.
"""
import csv

import numpy as np

from emojax.data import ravdess

NUM_ACTION_UNITS = 35


def read_action_units(path: str) -> tuple[dict[str, np.ndarray], list[ravdess.Skipped]]:
  """Reads the action-unit CSV.

  Returns:
    {clip_id: [35] float32} and the rows skipped (file `path:line`, reason):
    a malformed clip id, a wrong number of values, a non-numeric or non-finite value.
  Raises:
    FileNotFoundError: if `path` does not exist.
    ValueError: naming `path`, if the header is not clip_id + 35 action units.
  """
  with open(path, newline="") as f:
    rows = csv.reader(f)
    header = next(rows, [])
    if len(header) != NUM_ACTION_UNITS + 1 or header[0] != "clip_id" or not all(
        name.startswith("AU") for name in header[1:]):
      raise ValueError(f"{path}: expected a header 'clip_id' + {NUM_ACTION_UNITS} AUxx "
                       f"columns, got {len(header)} columns starting {header[:3]}.")
    units, skipped = {}, []
    for line, row in enumerate(rows, start=2):
      where = f"{path}:{line}"
      try:
        ravdess.parse_name(row[0] if row else "")
        values = np.array(row[1:], dtype=np.float32)
      except ValueError as error:
        skipped.append(ravdess.Skipped(where, str(error)))
        continue
      if len(values) != NUM_ACTION_UNITS or not np.all(np.isfinite(values)):
        skipped.append(ravdess.Skipped(
            where, f"expected {NUM_ACTION_UNITS} finite values, got {row[1:]}"))
        continue
      units[row[0]] = values
  return units, skipped
