"""Which audio example goes with which image example."""
import numpy as np


def pair_by_class(image_labels: np.ndarray, audio_labels: np.ndarray,
                  seed: int) -> np.ndarray:
  """The study's pairing: each image with an audio example of the same class.

  Within a class, the audio examples are shuffled and repeated to match the
  number of images, so every audio example is used about equally often.

  Args:
    image_labels: [n_images] int class of each image example.
    audio_labels: [n_audio] int class of each audio example.
  Returns:
    [n_images] int index into the audio examples, with
    audio_labels[result] == image_labels.
  """
  rng = np.random.default_rng(seed)
  paired = np.empty(len(image_labels), np.int64)
  for label in np.unique(image_labels):
    images = np.flatnonzero(image_labels == label)
    audio = np.flatnonzero(audio_labels == label)
    if len(audio) == 0:
      raise ValueError(
          f"Class {label} has {len(images)} image examples but no audio example "
          "to pair them with; use more data or data.pairing='clip'.")
    repeats = -(-len(images) // len(audio))
    cycle = np.concatenate([rng.permutation(audio) for _ in range(repeats)])
    paired[images] = cycle[:len(images)]
  return paired
