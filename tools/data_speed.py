"""Speed of the data layer: featurising clips and the train pipeline's batches.

Shared by tools/benchmark_data.py and tools/benchmark.py; no flags, so that
both can import it.
"""
import time

from configs import common
from emojax.data import pipeline
from emojax.data import ravdess_tfds


def featurise(root: str, tfds_dir: str) -> tuple[dict, ravdess_tfds.RavdessFeatures]:
  """Featurises every clip under the RAVDESS folder `root` (alone, on all
  cores) into `tfds_dir`; returns the build report, with `clips_per_s`, and the builder."""
  config = common.get_data_config()
  config.roots = (root,)
  config.action_units = ""
  config.tfds_dir = tfds_dir
  builder, report = ravdess_tfds.prepare(config)
  report["clips_per_s"] = round(report["clips_written"] / report["seconds"], 1)
  return report, builder


def pipeline_examples_per_s(examples: pipeline.Examples, batch_size: int, epochs: int) -> float:
  """Examples per second that pipeline.train_batches delivers over `epochs` epochs."""
  seen = 0
  start = time.perf_counter()
  for epoch in range(epochs):
    for batch in pipeline.train_batches(examples, batch_size, seed=0, epoch=epoch):
      seen += len(batch["label"])
  return round(seen / (time.perf_counter() - start), 1)
