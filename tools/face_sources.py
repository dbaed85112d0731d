r"""Does a run's image head depend on where a face came from? The same clips,
classified from their raw video and from their face-crop video.

  python -m tools.face_sources --workdir=/tmp/emojax_probe \
      --videos=../shared/data/ravdess/Actor_05 \
      --facecrops=../shared/data/ravdess_facecrops/Actor_05
  python -m tools.face_sources --register \
      --videos=../shared/data/ravdess/Actor_05 \
      --facecrops=../shared/data/ravdess_facecrops/Actor_05

  python -m tools.face_sources --hold_out --workdir=/tmp/emojax_heldout \
      --videos=../shared/data/ravdess/Actor_05 \
      --facecrops=../shared/data/ravdess_facecrops/Actor_05

--hold_out scores each clip with a run that never saw it: the compared
recordings are dealt into two halves (alternately within each emotion), and for
each half the main command's network (configs/probe.py) is trained, under
--workdir, on the files of --videos and --facecrops (one actor's: RAVDESS's
audio files beside its videos) less that half's recordings (every file of
theirs); finished runs there are reused.

For each video of --videos with a face-crop video of the same name under
--facecrops, both are predicted from their images alone (the face crops carry
no audio; the raw video's audio track is ignored). Prints, per source and
image head, accuracy against the file name's emotion and how many different
emotions the head answers; --output writes the same and each clip's answers
as JSON.

--register measures instead the region of the raw frame that each face-crop
frame shows (OpenCV's ECC alignment, affine, of 3 frames per clip), relative to
the raw frame's face box: `data.video.face_region`.
"""
import collections
import dataclasses
import json
import os

import cv2
import numpy as np
from absl import app
from absl import flags

from configs import probe
from emojax import inference
from emojax import train
from emojax.data import ravdess
from emojax.data import video as video_lib

_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory of python -m emojax.main.")
_VIDEOS = flags.DEFINE_string("videos", None, "Folder of raw RAVDESS videos (.mp4).")
_FACECROPS = flags.DEFINE_string("facecrops", None, "Folder of the same clips' face-crop videos.")
_OUTPUT = flags.DEFINE_string("output", None, "Optional JSON file for the measurements.")
_REGISTER = flags.DEFINE_bool("register", False, "Measure the face crops' region instead.")
_HOLD_OUT = flags.DEFINE_bool("hold_out", False, "Train on the folders' other recordings "
                              "first.")
flags.mark_flags_as_required(["videos", "facecrops"])
# A face-crop video shows the central 3 s of its clip (the data's README).
_FACECROP_SECONDS = 3.0


def pairs(videos: str, facecrops: str) -> list[tuple[str, str]]:
  """(raw video, face-crop video) of each clip found in both folders, by file stem."""
  crops = {os.path.splitext(name)[0]: os.path.join(facecrops, name)
           for name in os.listdir(facecrops) if name.lower().endswith(inference.VIDEO_EXTENSIONS)}
  found = []
  for name in sorted(os.listdir(videos)):
    stem = os.path.splitext(name)[0]
    if name.lower().endswith(inference.VIDEO_EXTENSIONS) and stem in crops:
      found.append((os.path.join(videos, name), crops[stem]))
  return found


def image_heads(predictor: inference.Predictor, path: str) -> dict[str, str]:
  """{head: top emotion} of the heads that read images alone."""
  images_only = dataclasses.replace(predictor.media(path), waveform=None, stream=None)
  prediction = predictor.classify(path, predictor.windows(images_only))
  return {head: max(probabilities, key=probabilities.get)
          for head, probabilities in prediction.heads.items()}


def summary(answers: list[dict[str, str]], truths: list[str]) -> dict:
  """Per head: accuracy and the emotions answered, with counts."""
  result = {}
  for head in answers[0]:
    said = [answer[head] for answer in answers]
    result[head] = {"accuracy": sum(s == t for s, t in zip(said, truths)) / len(truths),
                    "answered": dict(collections.Counter(said).most_common())}
  return result


def registered_region(raw: str, crop: str, time_s: float,
                      detector: video_lib.FaceDetector) -> np.ndarray | None:
  """The region of the raw frame at `time_s` that `crop`'s frame shows, as
  `preprocess.face_area` takes it: (x offset, y offset, width, height) from the
  raw frame's face box, in box sides. By affine ECC alignment started from the
  face box; None without a face or if it does not converge."""
  offset = (video_lib.duration_s(raw) - _FACECROP_SECONDS) / 2
  raw_frame = video_lib.read_frames(raw, np.array([time_s + offset]))[0]
  crop_frame = video_lib.read_frames(crop, np.array([time_s]))[0]
  raw_gray, crop_gray = (cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
                         for frame in (raw_frame, crop_frame))
  box = detector.detect(raw_frame)
  if box is None:
    return None
  x, y, w, h = box
  crop_height, crop_width = crop_gray.shape
  scale = 0.8 * w / crop_width  # Start: the face crop as the inner 80% of the face box.
  warp = np.array([[scale, 0, x + w / 2 - scale * crop_width / 2],
                   [0, scale, y + h / 2 - scale * crop_height / 2]], np.float32)
  criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 200, 1e-6)
  try:
    _, warp = cv2.findTransformECC(crop_gray, raw_gray, warp, cv2.MOTION_AFFINE, criteria,
                                   None, 5)
  except cv2.error:
    return None
  centre = warp @ np.array([crop_width / 2, crop_height / 2, 1.0])
  size = np.array([np.hypot(*warp[:, 0]) * crop_width, np.hypot(*warp[:, 1]) * crop_height])
  box_centre, side = np.array([x + w / 2, y + h / 2]), max(w, h)
  return np.concatenate([(centre - box_centre) / side, size / side])


def register(clips: list[tuple[str, str]]) -> None:
  detector = video_lib.FaceDetector()
  regions = np.array([region for raw, crop in clips for time_s in (1.0, 1.5, 2.0)
                      if (region := registered_region(raw, crop, time_s, detector)) is not None])
  median = ", ".join(f"{value:.3f}" for value in np.median(regions, axis=0))
  spread = ", ".join(f"{value:.3f}" for value in regions.std(axis=0))
  print(f"{len(regions)} frames of {len(clips)} clips aligned: the face crops show the "
        f"region ({median}) of the face box (x offset, y offset, width, height in box "
        f"sides; median), std ({spread}): data.video.face_region")


def train_without(recordings: set[str], folders: tuple[str, ...], workdir: str) -> None:
  """Trains configs/probe.py into `workdir` on every clip of `folders` (one actor's, as
  Actor_XX), speech and song, none of `recordings` (clip ids) included; nothing if a
  run finished there."""
  if os.path.exists(os.path.join(workdir, "final_metrics.json")):
    return
  roots = []
  for i, folder in enumerate(folders):
    root = os.path.join(workdir, "data", str(i))
    actor = os.path.join(root, os.path.basename(os.path.normpath(folder)))
    os.makedirs(actor, exist_ok=True)
    for name in os.listdir(folder):
      link = os.path.join(actor, name)
      if ravdess.parse_name(name).clip_id not in recordings and not os.path.lexists(link):
        os.symlink(os.path.abspath(os.path.join(folder, name)), link)
    roots.append(root)
  config = probe.get_config()
  config.data.roots = tuple(roots)
  config.data.action_units = ""
  config.data.vocal_channels = ("speech", "song")
  # Few clips of a class are left: audio and faces from one recording, so that
  # every split holds both.
  config.data.pairing = "clip"
  train.train_and_evaluate(config, workdir)


def halves(clips: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
  """`clips` in two halves, each emotion's recordings dealt alternately between them
  (both files of a recording, as 01- and 02-, in one half)."""
  by_emotion = collections.defaultdict(list)
  for raw, crop in clips:
    name = ravdess.parse_name(raw)
    if name.clip_id not in by_emotion[name.emotion]:
      by_emotion[name.emotion].append(name.clip_id)
  half_of = {clip_id: i % 2 for recordings in by_emotion.values()
             for i, clip_id in enumerate(sorted(recordings))}
  return [[clip for clip in clips if half_of[ravdess.parse_name(clip[0]).clip_id] == half]
          for half in (0, 1)]


def main(argv):
  del argv
  clips = pairs(_VIDEOS.value, _FACECROPS.value)
  if not clips:
    raise app.UsageError(f"No video of {_VIDEOS.value} has a face crop of the same name "
                         f"in {_FACECROPS.value}.")
  if _REGISTER.value:
    register(clips)
    return
  if not _WORKDIR.value:
    raise app.UsageError("--workdir is required unless --register.")
  if _HOLD_OUT.value:
    # Each half is scored by a run trained without it.
    runs = [(os.path.join(_WORKDIR.value, f"without_half{i}"), half)
            for i, half in enumerate(halves(clips))]
    for workdir, half in runs:
      train_without({ravdess.parse_name(raw).clip_id for raw, _ in half},
                    (_VIDEOS.value, _FACECROPS.value), workdir)
  else:
    runs = [(_WORKDIR.value, clips)]
  clips, raw_answers, crop_answers = [], [], []
  for workdir, run_clips in runs:
    predictor = inference.Predictor.from_workdir(workdir)
    clips += run_clips
    raw_answers += [image_heads(predictor, raw) for raw, _ in run_clips]
    crop_answers += [image_heads(predictor, crop) for _, crop in run_clips]
  truths = [ravdess.parse_name(raw).emotion_name for raw, _ in clips]
  result = {"workdir": _WORKDIR.value, "clips": len(clips),
            "raw": summary(raw_answers, truths), "facecrops": summary(crop_answers, truths),
            "per_clip": [{"raw": raw, "facecrop": crop, "emotion": truth,
                          "raw_answers": r, "facecrop_answers": c}
                         for (raw, crop), truth, r, c in zip(clips, truths, raw_answers,
                                                             crop_answers)]}
  for source in ("raw", "facecrops"):
    for head, values in result[source].items():
      print(f"{source:9s} {head:12s} accuracy {values['accuracy']:.3f} on {len(clips)} clips; "
            f"answers {values['answered']}")
  if _OUTPUT.value:
    with open(_OUTPUT.value, "w") as f:
      json.dump(result, f, indent=1)


if __name__ == "__main__":
  app.run(main)
