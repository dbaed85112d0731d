"""Clips -> split and paired examples -> tf.data batches for the train and eval steps.

An example is a dict of arrays: `audio` [n_mfcc, frames] float32 and/or
`acoustic` [F] float32 (functionals of the same recording), `image` [H, 2W, 3]
uint8 (two face frames side by side) or `au` [35] float32 (facial action units),
`label` int32, and where they came from, `audio_clip` and `image_clip` /
`au_clip` (int32 index into the clips). RAVDESS
features fit in memory, so splitting and pairing work on indices in numpy and
tf.data shuffles, batches and prefetches.
"""
from typing import Iterator, Sequence

import ml_collections
import numpy as np
import tensorflow as tf

from emojax.data import acoustic as acoustic_lib
from emojax.data import pairing
from emojax.data import splits as splits_lib

VOCAL_CHANNELS = {"speech": 1, "song": 2}
VISUAL = ("image", "au")  # The visual modalities: face images or action units.
# The modalities read from a clip's audio: MFCCs and acoustic functionals, always of
# one recording (`audio_clip`).
AUDIO = ("audio", "acoustic")
_HAS = {"image": "has_video", "au": "has_au"}
# The modalities config.data.standardise_per_actor takes, and their arrays in the clips.
STANDARDISABLE = {"audio": ("mfcc", "has_audio"), "au": ("au", "has_au"),
                  "acoustic": ("acoustic", "has_audio")}
Examples = dict[str, np.ndarray]


def _vocal_channel_codes(names: Sequence[str]) -> list[int]:
  unknown = set(names) - set(VOCAL_CHANNELS)
  if unknown:
    raise ValueError(f"config.data.vocal_channels has {sorted(unknown)}; "
                     f"expected some of {sorted(VOCAL_CHANNELS)}.")
  return [VOCAL_CHANNELS[name] for name in names]


# Values standardised by an enrolment are clipped to +- this: a feature nearly
# constant in a few clips (one of ComParE's 6,373 over 8 enrolment clips) would
# otherwise be blown up to overflow.
ENROLMENT_LIMIT = 10.0


def standardise_per_actor(values: np.ndarray, actors: np.ndarray,
                          present: np.ndarray) -> np.ndarray:
  """Each actor's rows of `values` [N, F, ...] standardised, feature by feature
  (axis 1), by the mean and std over that actor's present rows (and any axes
  after the features: an MFCC's frames). Rows not present are left as they are.
  """
  standardised = values.astype(np.float32, copy=True)
  axes = tuple(axis for axis in range(values.ndim) if axis != 1)
  for actor in np.unique(actors[present]):
    rows = present & (actors == actor)
    actor_values = values[rows]
    mean = actor_values.mean(axis=axes, keepdims=True)
    std = actor_values.std(axis=axes, keepdims=True)
    # A feature constant for an actor is centred, not divided by 0.
    standardised[rows] = (actor_values - mean) / np.where(std > 0, std, 1.0)
  return standardised


def standardise_by_enrolment(values: np.ndarray, actors: np.ndarray, present: np.ndarray,
                             enrol_clips: int, seed: int) -> np.ndarray:
  """As `standardise_per_actor`, but each present row by the mean and std of
  `enrol_clips` other present rows of its actor, drawn at random (all the others
  where it has fewer): a speaker's few unlabelled enrolment clips, as deployment
  has them, never the clip being standardised; clipped to +- `ENROLMENT_LIMIT`."""
  standardised = values.astype(np.float32, copy=True)
  axes = tuple(axis for axis in range(values.ndim) if axis != 1)
  rng = np.random.default_rng(seed)
  for actor in np.unique(actors[present]):
    rows = np.flatnonzero(present & (actors == actor))
    for row in rows:
      others = rows[rows != row]
      if len(others) > enrol_clips:
        others = rng.choice(others, enrol_clips, replace=False)
      enrolment = values[np.sort(others)]
      standardised[row] = standardise_by(values[row], enrolment.mean(axis=axes, keepdims=True)[0],
                                         enrolment.std(axis=axes, keepdims=True)[0])
  return standardised


def standardise_by(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
  """`values` standardised by an enrolment's `mean` and `std` (a constant feature
  centred, not divided by 0), clipped to +- `ENROLMENT_LIMIT`; training and
  Predictor's `--enrol` both use it."""
  return np.clip((values - mean) / np.where(std > 0, std, 1.0), -ENROLMENT_LIMIT,
                 ENROLMENT_LIMIT).astype(np.float32)


def _standardised(clips: dict[str, np.ndarray], to_standardise: Sequence[str],
                  modalities: Sequence[str], wanted: np.ndarray, enrol_clips: int,
                  seed: int) -> dict[str, np.ndarray]:
  """The clips with the network's `to_standardise` modalities standardised per actor:
  by all its clips (`enrol_clips` 0), or each clip by `enrol_clips` others."""
  unknown = set(to_standardise) - set(STANDARDISABLE)
  if unknown:
    raise ValueError(f"config.data.standardise_per_actor has {sorted(unknown)}; "
                     f"expected some of {sorted(STANDARDISABLE)}.")
  clips = dict(clips)
  for modality in set(to_standardise) & set(modalities):  # Not the arrays it never reads.
    key, has = STANDARDISABLE[modality]
    present = wanted & clips[has]
    if enrol_clips:
      clips[key] = standardise_by_enrolment(clips[key], clips["actor"], present, enrol_clips,
                                            seed)
    else:
      clips[key] = standardise_per_actor(clips[key], clips["actor"], present)
  return clips


def _split(labels: np.ndarray, actors: np.ndarray, split_config: ml_collections.ConfigDict,
           salt: int) -> list[np.ndarray]:
  """Index arrays (train, val, test) of the examples, by the configured protocol."""
  if split_config.protocol == "seed":
    return splits_lib.stratified_split(labels, split_config.fractions, split_config.seed + salt)
  if split_config.protocol == "actor_folds":
    folds = splits_lib.load_actor_folds(split_config.folds_file)
    if not 0 <= split_config.fold < len(folds):
      raise ValueError(f"config.data.split.fold={split_config.fold}, but "
                       f"{split_config.folds_file} has {len(folds)} folds.")
    fold = splits_lib.fewer_train_actors(folds[split_config.fold], split_config.train_fraction)
    return splits_lib.actor_split(actors, fold)
  raise ValueError(f"Unknown config.data.split.protocol {split_config.protocol!r}; "
                   "expected 'seed' or 'actor_folds'.")


def check_pairing(data_config: ml_collections.ConfigDict, modalities: Sequence[str]) -> None:
  """Refuses `class` pairing on folds by actor, where it leaks labels."""
  if data_config.pairing not in ("class", "clip"):
    raise ValueError(f"Unknown config.data.pairing {data_config.pairing!r}; "
                     "expected 'class' or 'clip'.")
  fused = set(modalities) & set(AUDIO) and set(modalities) & set(VISUAL)
  if fused and data_config.split.protocol == "actor_folds" and data_config.pairing == "class":
    raise ValueError(
        "config.data.pairing='class' gives every example a partner of its own emotion, "
        "which on config.data.split.protocol='actor_folds' hands each test example its "
        "label; pair audio and visual examples of the same recording with "
        "--config.data.pairing=clip.")


def split_examples(clips: dict[str, np.ndarray], data_config: ml_collections.ConfigDict,
                   modalities: Sequence[str]) -> dict[str, Examples]:
  """Splits and pairs clips into train/val/test examples of the given modalities.

  A visual example is one image slot of a clip ("image": the study split these,
  not clips) or one clip's action units ("au"). With audio and a visual
  modality, `clip` pairing takes both from one recording; `class` pairing
  gives each example of the larger modality a random partner of its class from
  the other modality in the same split, so that no example goes unused.
  `standardise_per_actor` modalities are standardised by each actor's own
  clips (of the wanted vocal channels), test actors' included: no labels, but
  transductive, as speaker normalisation is; with `enrol_clips` k, each clip by
  k other clips of its actor instead (enrolment: the scored clip is never
  among them).

  Args:
    clips: arrays from `ravdess_tfds.load_clips`.
    data_config: `config.data` (vocal_channels, standardise_per_actor, split, pairing).
    modalities: the inputs the network reads: some of AUDIO and/or one of VISUAL.
  Returns:
    {"train"|"val"|"test": Examples}; acoustic functionals as in the clips
    (`standardise_acoustic` standardises them).
  """
  visual = [m for m in modalities if m in VISUAL]
  if len(visual) > 1 or set(modalities) - {*AUDIO, *VISUAL}:
    raise ValueError(f"Unsupported modalities {tuple(modalities)}: expected some of {AUDIO} "
                     f"and/or one of {VISUAL}.")
  if data_config.audio.test_windows > 1 and "audio" in data_config.standardise_per_actor:
    raise ValueError("config.data.audio.test_windows > 1 with 'audio' in "
                     "config.data.standardise_per_actor: the evaluation windows are not "
                     "standardised per actor; use one or the other.")
  if data_config.get("train_on_windows") and data_config.audio.test_windows < 2:
    raise ValueError("config.data.train_on_windows=True draws training windows among "
                     "config.data.audio.test_windows, which is "
                     f"{data_config.audio.test_windows}; set it to 2 or more.")
  if "acoustic" in modalities and "acoustic" not in clips:
    raise ValueError("The network reads acoustic functionals (config.model.acoustic_encoder), "
                     "but the features hold none: set config.data.acoustic to one of "
                     f"{acoustic_lib.FEATURE_SETS}.")
  visual = visual[0] if visual else None
  audio_side = [m for m in modalities if m in AUDIO]
  check_pairing(data_config, modalities)
  wanted = np.isin(clips["vocal_channel"], _vocal_channel_codes(data_config.vocal_channels))
  if set(data_config.eval_vocal_channels) - set(data_config.vocal_channels):
    raise ValueError(f"config.data.eval_vocal_channels={data_config.eval_vocal_channels} "
                     "names channels not in config.data.vocal_channels="
                     f"{data_config.vocal_channels}; validation and test are kept to some of "
                     "those.")
  clips = _standardised(clips, data_config.standardise_per_actor, modalities, wanted,
                        data_config.enrol_clips, data_config.split.seed)
  labels, actors = clips["label"].astype(np.int32), clips["actor"]
  by_clip = audio_side and visual and data_config.pairing == "clip"

  if visual:
    has_visual = wanted & clips[_HAS[visual]]
    if by_clip:
      has_visual &= clips["has_audio"]
    per_clip = clips["images"].shape[1] if visual == "image" else 1
    visual_clip = np.repeat(np.flatnonzero(has_visual), per_clip)
    visual_slot = np.tile(np.arange(per_clip), int(has_visual.sum()))
    visual_parts = _split(labels[visual_clip], actors[visual_clip], data_config.split, salt=0)
  if audio_side:
    audio_clips = np.flatnonzero(wanted & clips["has_audio"])
    audio_parts = _split(labels[audio_clips], actors[audio_clips], data_config.split, salt=1)

  examples = {}
  for i, name in enumerate(splits_lib.SPLITS):
    split = {}
    if visual:
      visual_examples = visual_parts[i]  # Indices into visual_clip and visual_slot.
    if audio_side:
      if not visual:
        audio_clip = audio_clips[audio_parts[i]]
      elif by_clip:
        audio_clip = visual_clip[visual_examples]
      else:
        visual_examples, audio_clip = _pair_by_class(
            visual_examples, visual_clip, audio_clips[audio_parts[i]], labels,
            data_config.split.seed + i)
      for modality in audio_side:
        split[modality] = clips["mfcc" if modality == "audio" else "acoustic"][audio_clip]
      # Evaluated on every window; trained on one drawn per step if train_on_windows.
      if "audio" in audio_side and data_config.audio.test_windows > 1 and (
          name != "train" or data_config.get("train_on_windows")):
        split["audio"] = clips["mfcc_windows"][audio_clip]
      split["audio_clip"] = audio_clip.astype(np.int32)
      split["label"] = labels[audio_clip]
    if visual:
      clip = visual_clip[visual_examples]
      split[visual] = (clips["images"][clip, visual_slot[visual_examples]]
                       if visual == "image" else clips["au"][clip])
      split[f"{visual}_clip"] = clip.astype(np.int32)
      split["label"] = labels[clip]
    examples[name] = split
  if data_config.eval_vocal_channels:
    examples = _evaluated_on(examples, clips["vocal_channel"], data_config.eval_vocal_channels)
  return examples


def example_clips(examples: Examples) -> np.ndarray:
  """[N] the clip each example comes from: its audio's, else its visual modality's."""
  return examples["audio_clip" if "audio_clip" in examples else next(
      key for key in sorted(examples) if key.endswith("_clip"))]


def _evaluated_on(examples: dict[str, Examples], vocal_channel: np.ndarray,
                  channels: Sequence[str]) -> dict[str, Examples]:
  """The examples with validation and test kept to the clips of `channels`."""
  codes = _vocal_channel_codes(channels)
  kept = dict(examples)
  for name in ("val", "test"):
    split = examples[name]
    clip = example_clips(split)
    keep = np.isin(vocal_channel[clip], codes)
    kept[name] = {key: values[keep] for key, values in split.items()}
  return kept


def standardise_acoustic(examples: dict[str, Examples]
                         ) -> tuple[dict[str, Examples], dict[str, np.ndarray]]:
  """Every split's acoustic functionals standardised by the training split's clips
  (each counted once however often pairing repeats it): inductive, no validation or
  test statistics. Functionals span orders of magnitude (ComParE's up to 1e12).

  Returns:
    (the examples, {"mean", "std": [F] float32}); unchanged and {} without acoustic.
  """
  train = examples["train"]
  if "acoustic" not in train:
    return examples, {}
  _, first = np.unique(train["audio_clip"], return_index=True)
  statistics = acoustic_lib.training_statistics(train["acoustic"][first])
  return ({name: {**split, "acoustic": acoustic_lib.standardise(split["acoustic"], statistics)}
           for name, split in examples.items()}, statistics)


def _pair_by_class(visual_examples: np.ndarray, visual_clip: np.ndarray, audio_pool: np.ndarray,
                   labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """Class pairing driven by the larger modality: each of its examples appears once,
  each with a random partner of its class from the other, whose examples repeat evenly.

  Returns (visual example indices, audio clip indices), one per paired example.
  """
  visual_labels = labels[visual_clip[visual_examples]]
  if len(audio_pool) > len(visual_examples):
    partner = pairing.pair_by_class(labels[audio_pool], visual_labels, seed)
    return visual_examples[partner], audio_pool
  partner = pairing.pair_by_class(visual_labels, labels[audio_pool], seed)
  return visual_examples, audio_pool[partner]


def num_examples(examples: Examples) -> int:
  return len(examples["label"])


def train_batches(examples: Examples, batch_size: int, seed: int, epoch: int,
                  process_index: int = 0, process_count: int = 1) -> Iterator[Examples]:
  """This process's share of one epoch of shuffled batches (partial batches dropped).

  Every process shuffles alike, then takes every process_count-th example, so
  the processes' batches of `batch_size / process_count` examples together
  form one global batch. The order depends only on (seed, epoch), so a resumed
  run sees the same data. Batches stay flat ([batch, ...]): the train step is
  a shard_map over the 'data' mesh axis, which splits them across devices.
  """
  if batch_size % process_count:
    raise ValueError(f"Batch size {batch_size} is not divisible by {process_count} processes.")
  if num_examples(examples) < batch_size:
    raise ValueError(f"The train split has {num_examples(examples)} examples, "
                     f"fewer than one batch of {batch_size}.")
  dataset = tf.data.Dataset.from_tensor_slices(examples)
  dataset = dataset.shuffle(num_examples(examples), seed=seed * 100_003 + epoch)
  # Whole global batches only, so that every process makes the same number of steps.
  dataset = dataset.take(num_examples(examples) // batch_size * batch_size)
  dataset = dataset.shard(process_count, process_index)
  dataset = dataset.batch(batch_size // process_count, drop_remainder=True)
  return dataset.prefetch(tf.data.AUTOTUNE).as_numpy_iterator()


def eval_batches(examples: Examples, batch_size: int, process_index: int = 0,
                 process_count: int = 1) -> Iterator[Examples]:
  """This process's share of every example exactly once; the last batch is padded.

  Each batch carries `mask` [batch] float32: 1 for real examples, 0 for padding.
  With one process the examples come in order.
  """
  count = num_examples(examples)
  if count == 0:
    raise ValueError("Cannot evaluate on a split with no examples.")
  if batch_size % process_count:
    raise ValueError(f"Batch size {batch_size} is not divisible by {process_count} processes.")
  padding = -count % batch_size
  padded = {key: np.concatenate([value, np.zeros((padding, *value.shape[1:]), value.dtype)])
            for key, value in examples.items()}
  padded["mask"] = np.concatenate([np.ones(count, np.float32), np.zeros(padding, np.float32)])
  dataset = tf.data.Dataset.from_tensor_slices(padded).shard(process_count, process_index)
  dataset = dataset.batch(batch_size // process_count)
  return dataset.prefetch(tf.data.AUTOTUNE).as_numpy_iterator()
