r"""Measures the latency of predicting one clip with a trained run, stage by stage.

  python -m emojax.main --config=configs/probe.py --workdir=/tmp/emojax_probe
  python -m tools.benchmark_predict --workdir=/tmp/emojax_probe

Loads the run, predicts the clip once to compile and warm up (librosa and the
jitted network), then --repeats times, and reports the median seconds of each
stage of emojax.inference (decode, face detection, features, model) and of the
whole call; the target is under 1 s in total on 2 CPU cores. Prints a table
and, last, one JSON line.
"""
import json
import os
import time

import numpy as np
from absl import app
from absl import flags
from absl import logging

from emojax import inference

_DEFAULT_CLIP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                             "sample", "ravdess_video", "Actor_05", "01-01-03-01-01-02-05.mp4")
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory of python -m emojax.main.")
_CLIP = flags.DEFINE_string("clip", _DEFAULT_CLIP, "The clip to predict (default: a raw "
                            "1280x720 RAVDESS video with audio).")
_REPEATS = flags.DEFINE_integer("repeats", 10, "Timed predictions after the warm-up.")
flags.mark_flag_as_required("workdir")
STAGES = ("decode", "face detection", "features", "model")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  start = time.perf_counter()
  predictor = inference.Predictor.from_workdir(_WORKDIR.value)
  load_s = time.perf_counter() - start
  start = time.perf_counter()
  predictor.predict(_CLIP.value)
  first_s = time.perf_counter() - start

  stage_seconds, totals = [], []
  for _ in range(_REPEATS.value):
    start = time.perf_counter()
    prediction = predictor.predict(_CLIP.value)
    totals.append(time.perf_counter() - start)
    stage_seconds.append(prediction.stage_seconds)

  results = {"clip": os.path.basename(_CLIP.value),
             "modalities": "+".join(prediction.modalities),
             "cpus": len(os.sched_getaffinity(0)),
             "load_s": round(load_s, 3),
             "first_predict_s": round(first_s, 3)}
  for stage in STAGES:
    results[f"{stage.replace(' ', '_')}_s"] = round(
        float(np.median([seconds.get(stage, 0.0) for seconds in stage_seconds])), 4)
  results["total_s"] = round(float(np.median(totals)), 4)
  results["target_met"] = results["total_s"] < 1.0

  print(f"{f'measure (median of {_REPEATS.value})':32s} value")
  for key, value in results.items():
    print(f"{key:32s} {value}")
  print(json.dumps(results))


if __name__ == "__main__":
  app.run(main)
