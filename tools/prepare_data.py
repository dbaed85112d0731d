r"""Featurises RAVDESS trees into TFRecords, through the TFDS builder, and reports.

  python -m tools.prepare_data --data_dir=/data/RAVDESS --out_dir=/data/emojax_tfds

Several roots (earlier roots win where two hold the same modality of a clip):

  python -m tools.prepare_data --data_dir=../shared/data/ravdess \
    --data_dir=../shared/data/ravdess_facecrops \
    --action_units=../shared/data/ravdess_openface_au.csv --out_dir=/tmp/emojax_tfds

Feature settings come from --config's data section (default configs/probe.py)
and its overrides, e.g. --config.data.audio.n_mfcc=20. Train with the same
records by passing --config.data.tfds_dir=OUT_DIR and the same roots. Writes
<out_dir>/report.json: clips_read, clips_written, skipped [{file, reason}],
seconds.
"""
import json
import os

from absl import app
from absl import flags
from ml_collections import config_flags

from emojax.data import ravdess_tfds

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/probe.py", "Config whose data section sets the features.")
_DATA_DIRS = flags.DEFINE_multi_string("data_dir", None, "RAVDESS root; repeat for several.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where the TFRecords and report.json go.")
_ACTION_UNITS = flags.DEFINE_string(
    "action_units", "", "CSV of per-clip facial action units; empty for none.")
flags.mark_flags_as_required(["data_dir", "out_dir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  data_config = _CONFIG.value.data.copy_and_resolve_references()
  data_config.roots = tuple(_DATA_DIRS.value)
  data_config.action_units = _ACTION_UNITS.value
  data_config.tfds_dir = _OUT_DIR.value
  builder, report = ravdess_tfds.prepare(data_config)
  os.makedirs(_OUT_DIR.value, exist_ok=True)
  with open(os.path.join(_OUT_DIR.value, "report.json"), "w") as f:
    json.dump(report, f, indent=2)
  print(f"Records: {builder.data_dir}")
  print(f"{report['clips_read']} clips read, {report['clips_written']} written, "
        f"{len(report['skipped'])} skipped, in {report['seconds']} s.")
  for skipped in report["skipped"]:
    print(f"skipped {skipped['file']}: {skipped['reason']}")


if __name__ == "__main__":
  app.run(main)
