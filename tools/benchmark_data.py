r"""Measures the data layer: preprocessing clips/s and tf.data examples/s.

  python -m tools.benchmark_data --audio_root=../shared/data/ravdess \
    --video_root=../shared/data/ravdess_facecrops

Featurises every audio clip under --audio_root and every video under
--video_root (separately, into a temporary TFRecord folder, on all cores; leave
--video_root out to time audio alone), then reads the audio records back and
times the train pipeline. Prints a table and, last, one JSON line.
"""
import json
import tempfile
import time

from absl import app
from absl import flags

from configs import common
from emojax.data import pipeline
from emojax.data import ravdess_tfds
from tools import data_speed

_AUDIO_ROOT = flags.DEFINE_string("audio_root", None, "RAVDESS root with audio files.")
_VIDEO_ROOT = flags.DEFINE_string("video_root", None, "RAVDESS root with video files; "
                                  "none: audio alone.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 64, "Train batch size for the pipeline.")
_EPOCHS = flags.DEFINE_integer("epochs", 5, "Epochs of the pipeline to time.")
flags.mark_flag_as_required("audio_root")


def main(argv):
  del argv
  results = {}
  with tempfile.TemporaryDirectory() as tfds_dir:
    roots = {"audio": _AUDIO_ROOT.value, "video": _VIDEO_ROOT.value}
    for modality, root in roots.items():
      if root is None:
        continue
      report, builder = data_speed.featurise(root, tfds_dir)
      results[f"{modality}_clips"] = report["clips_written"]
      results[f"{modality}_seconds"] = report["seconds"]
      results[f"{modality}_clips_per_s"] = report["clips_per_s"]
      if modality == "audio":
        audio_builder = builder

    start = time.perf_counter()
    clips = ravdess_tfds.load_clips(audio_builder, images_per_clip=3)
    results["tfrecord_read_clips_per_s"] = round(len(clips["label"]) / (time.perf_counter() - start), 1)

  data_config = common.get_data_config()
  data_config.vocal_channels = ("speech", "song")
  train = pipeline.split_examples(clips, data_config, ("audio",))["train"]
  results["pipeline_examples_per_s"] = data_speed.pipeline_examples_per_s(
      train, _BATCH_SIZE.value, _EPOCHS.value)

  print(f"{'measure':32s} value")
  for key, value in results.items():
    print(f"{key:32s} {value}")
  print(json.dumps(results))


if __name__ == "__main__":
  app.run(main)
