r"""Measures the latency of predicting one clip with a trained run, stage by stage.

  python -m emojax.main --config=configs/probe.py --workdir=/tmp/emojax_probe
  python -m tools.benchmark_predict --workdir=/tmp/emojax_probe

Loads the run, predicts the clip once to compile and warm up (librosa and the
jitted network), then --predictions times, and reports the median seconds of the
whole `Predictor.predict` call and of each stage, timed here by running
emojax.inference's pieces one by one as `Predictor` runs them: decode (the
audio track, the video's length and the sampled frames), faces (detection,
crop and colour of the face images), features (MFCC windows) and model. The
target is under 1 s in total on 2 CPU cores. Prints a table and, last, one JSON line.
"""
import collections
import contextlib
import json
import os
import time

import numpy as np
from absl import app
from absl import flags
from absl import logging

from emojax import inference
from emojax.data import preprocess
from emojax.inference import windows

_DEFAULT_CLIP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                             "sample", "ravdess_video", "Actor_05", "01-01-03-01-01-02-05.mp4")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory of python -m emojax.main.")
_CLIP = flags.DEFINE_string("clip", _DEFAULT_CLIP, "The clip to predict (default: a raw "
                            "1280x720 RAVDESS video with audio).")
_PREDICTIONS = flags.DEFINE_integer("predictions", 10, "Timed predictions after the warm-up.")
flags.mark_flag_as_required("workdir")
STAGES = ("decode", "faces", "features", "model")


def stage_seconds(predictor: inference.Predictor, path: str) -> dict[str, float]:
  """{stage: seconds} of one prediction of `path`, made stage by stage as
  `Predictor.predict` makes it (windows.clip_windows, then the network)."""
  seconds = collections.defaultdict(float)

  @contextlib.contextmanager
  def stage(name):
    start = time.perf_counter()
    yield
    seconds[name] += time.perf_counter() - start

  features = predictor.features
  with stage("decode"):
    media = predictor.media(path)
  layout = windows.window_layout(media, features.audio)
  audio = images = None
  if layout.frames:
    with stage("features"):
      audio = np.stack(list(windows.audio_windows(media, features.audio, layout.frames,
                                                  layout.offsets)))
  if media.video is not None:
    with stage("decode"):
      frames = list(media.video.read(preprocess.frame_times(media.video.duration_s,
                                                            features.video, layout.offsets_s)))
    with stage("faces"):
      images = np.stack([preprocess.faces(window, predictor.detector.detect, features.video,
                                          media.video.face_crop)[0][0] for window in frames])
  with stage("model"):
    predictor.network.window_probabilities(audio, images)
  return dict(seconds)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  start = time.perf_counter()
  predictor = inference.Predictor.from_workdir(_WORKDIR.value)
  load_s = time.perf_counter() - start
  start = time.perf_counter()
  predictor.predict(_CLIP.value)
  first_s = time.perf_counter() - start

  stages, totals = [], []
  for _ in range(_PREDICTIONS.value):
    start = time.perf_counter()
    prediction = predictor.predict(_CLIP.value)
    totals.append(time.perf_counter() - start)
    stages.append(stage_seconds(predictor, _CLIP.value))

  results = {"clip": os.path.basename(_CLIP.value),
             "modalities": "+".join(prediction.modalities),
             "cpus": len(os.sched_getaffinity(0)),
             "load_s": round(load_s, 3),
             "first_predict_s": round(first_s, 3)}
  for stage in STAGES:
    results[f"{stage.replace(' ', '_')}_s"] = round(
        float(np.median([seconds.get(stage, 0.0) for seconds in stages])), 4)
  results["total_s"] = round(float(np.median(totals)), 4)
  results["target_met"] = results["total_s"] < 1.0

  print(f"{f'measure (median of {_PREDICTIONS.value})':32s} value")
  for key, value in results.items():
    print(f"{key:32s} {value}")
  print(json.dumps(results))


if __name__ == "__main__":
  app.run(main)
