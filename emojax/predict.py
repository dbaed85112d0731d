r"""Predicts the emotion of audio and video files with a trained run.

  python -m emojax.predict --workdir=/tmp/emojax_probe clip.mp4 speech.wav folder/
  python -m emojax.predict --workdir=/tmp/emojax_probe --format=json folder/
  python -m emojax.predict --workdir=/tmp/audio_enrol8 --enrol=speaker_clips/ clip.wav

Prints, per input, the probability of every emotion from each head the inputs
allow, and the top emotion; a folder is searched for media files, with a
progress bar. An input that cannot be read gets one error line and the others
go on; the exit status is then 1 (2 if the run directory or the enrolment
clips cannot be used).
The work is done by emojax.inference.Predictor.
"""
import json
import os
import sys

import tqdm
from absl import app
from absl import flags
from absl import logging

from emojax import inference
from emojax.data import ravdess
from emojax.models import conv_backend

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory of python -m emojax.main.")
_FORMAT = flags.DEFINE_enum("format", "table", ["table", "json"],
                            "table: readable; json: one JSON object per input and line.")
_STEP = flags.DEFINE_integer("step", None, "The epoch whose checkpoint to use (default: the "
                             "one selected on validation).")
_ENROL = flags.DEFINE_string(
    "enrol", None, "A folder (or file) of a few unlabelled clips of the speaker of every "
    "input: their MFCC statistics standardise the inputs, as a run trained on MFCCs "
    "standardised per actor (configs/actor_folds/*.py:enrol8, ...) needs.")
_CONV_IMPL = flags.DEFINE_enum("conv_impl", None, conv_backend.CHOICES, conv_backend.FLAG_HELP)
flags.mark_flag_as_required("workdir")


def media_files(inputs: list[str]) -> tuple[list[str], list[str]]:
  """The inputs, each folder replaced by the media files under it (sorted); and
  the folders holding none.

  Files named directly are kept whatever their type, so that an unsupported one
  is reported rather than silently dropped.
  """
  extensions = inference.AUDIO_EXTENSIONS + inference.VIDEO_EXTENSIONS
  files, empty_folders = [], []
  for path in inputs:
    if not os.path.isdir(path):
      files.append(path)
      continue
    found = sorted(os.path.join(folder, name) for folder, _, names in os.walk(path)
                   for name in names if name.lower().endswith(extensions))
    files.extend(found)
    if not found:
      empty_folders.append(path)
  return files, empty_folders


def as_json(prediction: inference.Prediction) -> str:
  return json.dumps({
      "file": prediction.file,
      "emotion": prediction.emotion,
      "head": prediction.head,
      "heads": prediction.heads,
      "modalities": list(prediction.modalities),
      "notes": list(prediction.notes),
      "windows": [{"start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3), "heads": w.heads}
                  for w in prediction.windows],
  })


def as_table(prediction: inference.Prediction) -> str:
  windows = len(prediction.windows)
  lines = [f"{prediction.file}: {prediction.emotion} ({prediction.head} head; "
           f"{' + '.join(prediction.modalities)}; {windows} window{'s' * (windows > 1)})",
           f"  {'head':12s}" + "".join(f"{emotion:>10s}" for emotion in ravdess.EMOTIONS)]
  for head, probabilities in prediction.heads.items():
    lines.append(f"  {head:12s}" + "".join(f"{p:10.3f}" for p in probabilities.values()))
  lines.extend(f"  note: {note}" for note in prediction.notes)
  return "\n".join(lines)


def _report_error(path: str, message: str) -> None:
  """One line per failed input: a JSON object on stdout, or a line on stderr."""
  if _FORMAT.value == "json":
    tqdm.tqdm.write(json.dumps({"file": path, "error": message}), file=sys.stdout)
  else:
    tqdm.tqdm.write(f"error: {message}", file=sys.stderr)


def main(argv):
  inputs = argv[1:]
  if not inputs:
    raise app.UsageError("Name at least one audio or video file or folder.")
  logging.set_verbosity(logging.WARNING)  # Orbax and JAX log every restore at INFO.
  if _CONV_IMPL.value:
    conv_backend.select(_CONV_IMPL.value)
  enrol = []
  if _ENROL.value:
    enrol, _ = media_files([_ENROL.value])
    if not enrol:
      print(f"error: --enrol {_ENROL.value}: no audio or video file in this folder.",
            file=sys.stderr)
      return 2
  try:
    predictor = inference.Predictor.from_workdir(_WORKDIR.value, _STEP.value, enrol)
  except (inference.WorkdirError, inference.InputError) as error:
    print(f"error: {error}", file=sys.stderr)
    return 2
  files, empty_folders = media_files(inputs)
  extensions = " ".join(inference.AUDIO_EXTENSIONS + inference.VIDEO_EXTENSIONS)
  for folder in empty_folders:
    _report_error(folder, f"{folder}: no audio or video file ({extensions}) in this folder.")
  failed = len(empty_folders)
  for path in tqdm.tqdm(files, desc="predict", unit="file", file=sys.stderr,
                        disable=len(files) < 2):
    try:
      prediction = predictor.predict(path)
    except inference.InputError as error:
      _report_error(path, str(error))
      failed += 1
      continue
    tqdm.tqdm.write(as_json(prediction) if _FORMAT.value == "json" else as_table(prediction),
                    file=sys.stdout)
  if failed:
    print(f"{failed} of {len(files) + len(empty_folders)} inputs failed.", file=sys.stderr)
  return 1 if failed else 0


if __name__ == "__main__":
  app.run(main)
