"""Clips -> split and paired examples -> tf.data batches for the train and eval steps.

An example is a dict of arrays: `audio` [n_mfcc, frames] float32, `image`
[H, 2W, 3] uint8 (two face frames side by side), `label` int32, and where
they came from, `audio_clip` and `image_clip` (int32 index into the clips). RAVDESS
features fit in memory, so splitting and pairing work on indices in numpy and
tf.data shuffles, batches and prefetches.
"""
from typing import Iterator, Sequence

import ml_collections
import numpy as np
import tensorflow as tf

from emojax.data import pairing
from emojax.data import splits as splits_lib

VOCAL_CHANNELS = {"speech": 1, "song": 2}
Examples = dict[str, np.ndarray]


def _vocal_channel_codes(names: Sequence[str]) -> list[int]:
  unknown = set(names) - set(VOCAL_CHANNELS)
  if unknown:
    raise ValueError(f"config.data.vocal_channels has {sorted(unknown)}; "
                     f"expected some of {sorted(VOCAL_CHANNELS)}.")
  return [VOCAL_CHANNELS[name] for name in names]


def split_examples(clips: dict[str, np.ndarray], data_config: ml_collections.ConfigDict,
                   modalities: Sequence[str]) -> dict[str, Examples]:
  """Splits and pairs clips into train/val/test examples of the given modalities.

  Args:
    clips: arrays from `ravdess_tfds.load_clips`.
    data_config: `config.data` (vocal_channels, split, pairing).
    modalities: the inputs the network reads, some of ("audio", "image").
  Returns:
    {"train"|"val"|"test": Examples}.
  """
  if data_config.split.protocol != "seed":
    raise ValueError(f"Unknown config.data.split.protocol {data_config.split.protocol!r}; "
                     "expected 'seed'.")
  if data_config.pairing not in ("class", "clip"):
    raise ValueError(f"Unknown config.data.pairing {data_config.pairing!r}; "
                     "expected 'class' or 'clip'.")
  fractions, seed = data_config.split.fractions, data_config.split.seed
  wanted = np.isin(clips["vocal_channel"], _vocal_channel_codes(data_config.vocal_channels))
  labels = clips["label"].astype(np.int32)

  audio_clips = np.flatnonzero(wanted & clips["has_audio"])
  if "image" not in modalities:
    parts = splits_lib.stratified_split(labels[audio_clips], fractions, seed)
    return {name: {"audio": clips["mfcc"][audio_clips[part]], "label": labels[audio_clips[part]],
                   "audio_clip": audio_clips[part].astype(np.int32)}
            for name, part in zip(splits_lib.SPLITS, parts)}

  # One image example per (clip, slot): the study split these, not clips.
  video = wanted & clips["has_video"]
  if "audio" in modalities and data_config.pairing == "clip":
    video &= clips["has_audio"]
  images_per_clip = clips["images"].shape[1]
  image_clip = np.repeat(np.flatnonzero(video), images_per_clip)
  image_slot = np.tile(np.arange(images_per_clip), int(video.sum()))
  image_parts = splits_lib.stratified_split(labels[image_clip], fractions, seed)
  audio_parts = splits_lib.stratified_split(labels[audio_clips], fractions, seed + 1)

  examples = {}
  for i, name in enumerate(splits_lib.SPLITS):
    clip, slot = image_clip[image_parts[i]], image_slot[image_parts[i]]
    split = {"image": clips["images"][clip, slot], "label": labels[clip],
             "image_clip": clip.astype(np.int32)}
    if "audio" in modalities:
      if data_config.pairing == "clip":
        audio_clip = clip
      else:
        pool = audio_clips[audio_parts[i]]
        audio_clip = pool[pairing.pair_by_class(labels[clip], labels[pool], seed + i)]
      split["audio"] = clips["mfcc"][audio_clip]
      split["audio_clip"] = audio_clip.astype(np.int32)
    examples[name] = split
  return examples


def num_examples(examples: Examples) -> int:
  return len(examples["label"])


def train_batches(examples: Examples, batch_size: int, seed: int,
                  epoch: int) -> Iterator[Examples]:
  """One epoch of shuffled batches (partial last batch dropped).

  The order depends only on (seed, epoch), so a resumed run sees the same data.
  """
  if num_examples(examples) < batch_size:
    raise ValueError(f"The train split has {num_examples(examples)} examples, "
                     f"fewer than one batch of {batch_size}.")
  dataset = tf.data.Dataset.from_tensor_slices(examples)
  dataset = dataset.shuffle(num_examples(examples), seed=seed * 100_003 + epoch)
  dataset = dataset.batch(batch_size, drop_remainder=True)
  return dataset.prefetch(tf.data.AUTOTUNE).as_numpy_iterator()


def eval_batches(examples: Examples, batch_size: int) -> Iterator[Examples]:
  """Every example exactly once, in order; the last batch is padded.

  Each batch carries `mask` [batch] float32: 1 for real examples, 0 for padding.
  """
  count = num_examples(examples)
  if count == 0:
    raise ValueError("Cannot evaluate on a split with no examples.")
  padding = -count % batch_size
  padded = {key: np.concatenate([value, np.zeros((padding, *value.shape[1:]), value.dtype)])
            for key, value in examples.items()}
  padded["mask"] = np.concatenate([np.ones(count, np.float32), np.zeros(padding, np.float32)])
  dataset = tf.data.Dataset.from_tensor_slices(padded).batch(batch_size)
  return dataset.prefetch(tf.data.AUTOTUNE).as_numpy_iterator()
