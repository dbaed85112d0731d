r"""Featurises RAVDESS trees into TFRecords, through the TFDS builder, and reports.

  python -m tools.prepare_data --data_dir=/data/RAVDESS --out_dir=/data/emojax_tfds

Several roots (earlier roots win where two hold the same modality of a clip):

  python -m tools.prepare_data --data_dir=../shared/data/ravdess \
    --data_dir=../shared/data/ravdess_facecrops \
    --action_units=../shared/data/ravdess_openface_au.csv --out_dir=/tmp/emojax_tfds

Feature settings come from --config's data section (default configs/probe.py)
and its overrides, e.g. --config.data.audio.n_mfcc=20; --action_units too
defaults to the config's. Train with the same records by passing
--config.data.tfds_dir=OUT_DIR and the same roots (and --action_units as
--config.data.action_units, if given). Writes <out_dir>/report.json:
clips_read, clips_written, skipped [{file, reason}], seconds; exits 1, still
writing it, if the roots hold no RAVDESS clip or none could be read.
"""
import os
import sys

from absl import app
from absl import flags
from ml_collections import config_flags

from emojax.data import ravdess_tfds

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/probe.py", "Config whose data section sets the features.")
_DATA_DIRS = flags.DEFINE_multi_string("data_dir", None, "RAVDESS root; repeat for several.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Where the TFRecords and report.json go.")
_ACTION_UNITS = flags.DEFINE_string(
    "action_units", None, "CSV of per-clip facial action units; empty for none. Default: "
    "the config's (config.data.action_units), as training reads it.")
flags.mark_flags_as_required(["data_dir", "out_dir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  data_config = _CONFIG.value.data.copy_and_resolve_references()
  data_config.roots = tuple(_DATA_DIRS.value)
  if _ACTION_UNITS.value is not None:
    data_config.action_units = _ACTION_UNITS.value
  data_config.tfds_dir = _OUT_DIR.value
  report_path = os.path.join(_OUT_DIR.value, ravdess_tfds.REPORT_FILE)
  try:
    builder, report = ravdess_tfds.prepare(data_config)
  except ravdess_tfds.NoClipsError as error:
    ravdess_tfds.write_report(report_path, error.report)
    _print_skipped(error.report)
    print(f"error: {error}", file=sys.stderr)
    return 1
  ravdess_tfds.write_report(report_path, report)
  print(f"Records: {builder.data_dir}")
  print(f"{report['clips_read']} clips read, {report['clips_written']} written, "
        f"{len(report['skipped'])} skipped, in {report['seconds']} s.")
  _print_skipped(report)
  return 0


def _print_skipped(report) -> None:
  for skipped in report["skipped"]:
    print(f"skipped {skipped['file']}: {skipped['reason']}")


if __name__ == "__main__":
  app.run(main)
