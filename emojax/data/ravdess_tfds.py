"""A TFDS builder that turns local RAVDESS trees into TFRecords of per-clip features.

Each feature setting (and set of roots, and their files' sizes and modification
times) is its own builder config, named by a hash of the setting, so building
twice is a no-op and a changed setting is written beside the old one, never over
it. One process at a time builds a config; the others wait and reuse its records.
"""
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import time
from typing import Any

import ml_collections
import numpy as np
import tensorflow_datasets as tfds
import threadpoolctl

from emojax import locks
from emojax.data import acoustic as acoustic_lib
from emojax.data import action_units
from emojax.data import audio as audio_lib
from emojax.data import features as features_lib
from emojax.data import ravdess
from emojax.data import video as video_lib

SPLIT = "clips"  # Every clip; protocols split them later ("all" is reserved).
REPORT_FILE = "report.json"


class NoClipsError(ValueError):
  """The roots gave no example. `report` (set by `prepare`) lists every skipped file."""
  report: dict[str, Any] | None = None


@dataclasses.dataclass(eq=False, kw_only=True)
class RavdessConfig(tfds.core.BuilderConfig):
  roots: tuple[str, ...] = ()
  action_units: str = ""  # CSV of per-clip action units; "" for none.
  features: features_lib.FeatureConfig | None = None
  num_workers: int = 0  # 0: one per CPU core; 1: in this process.


class RavdessFeatures(tfds.core.GeneratorBasedBuilder):
  """Per-clip MFCCs, acoustic functionals (when asked), face images, action units and
metadata of a local RAVDESS tree.

Action units attach to the clips found in the roots; CSV rows of other clips are
not used.
"""

  VERSION = tfds.core.Version("1.2.0")
  RELEASE_NOTES = {"1.0.0": "MFCCs, side-by-side face images, action units, metadata.",
                   "1.1.0": "Blank (black or flat) video frames replaced by the clip's "
                            "nearest usable frame.",
                   "1.2.0": "Face images by one rule whatever the source: a raw frame's "
                            "area around its face box that a face-crop video shows "
                            "(data.video.face_region), a face crop whole; colour "
                            "normalised per image."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Point manual_dir (and the config's roots) at RAVDESS folders in the "
      "original layout: Actor_XX/ folders of .wav/.flac and .mp4/.avi files.")

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.skipped: list[ravdess.Skipped] = []
    self.clips_read = 0
    self.blank_frames_replaced = 0

  def _info(self) -> tfds.core.DatasetInfo:
    feature_config = self.builder_config.features
    audio_shape = (feature_config.audio.n_mfcc, feature_config.audio.num_frames)
    asked = {}  # Only when asked, as clip_example gives them.
    if feature_config.acoustic:
      asked["acoustic"] = tfds.features.Tensor(
          shape=(acoustic_lib.num_features(feature_config.acoustic, feature_config.audio),),
          dtype=np.float32)
    if feature_config.audio.test_windows > 1:
      asked["mfcc_windows"] = tfds.features.Tensor(
          shape=(feature_config.audio.test_windows, *audio_shape), dtype=np.float32)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "clip_id": tfds.features.Text(),
            "label": tfds.features.ClassLabel(names=ravdess.EMOTIONS),
            "actor": np.int32,
            "vocal_channel": np.int32,
            "intensity": np.int32,
            "statement": np.int32,
            "repetition": np.int32,
            "has_audio": np.bool_,
            "has_video": np.bool_,
            "mfcc": tfds.features.Tensor(shape=audio_shape, dtype=np.float32),
            "images": tfds.features.Tensor(
                shape=(None, *feature_config.image_shape), dtype=np.uint8),
            "faces_found": np.int32,
            "has_au": np.bool_,
            "au": tfds.features.Tensor(shape=(action_units.NUM_ACTION_UNITS,), dtype=np.float32),
            **asked,
        }),
        supervised_keys=None,
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # The roots are in the builder config.
    return {SPLIT: self._generate_examples()}

  def _generate_examples(self):
    config = self.builder_config
    clips, skipped = ravdess.scan(config.roots)
    self.skipped = list(skipped)
    self.clips_read = len(clips)
    if not clips:
      raise NoClipsError(_no_clips_message(config.roots))
    units = {}
    if config.action_units:
      units, bad_rows = action_units.read_action_units(config.action_units)
      self.skipped.extend(bad_rows)
    no_units = np.zeros(action_units.NUM_ACTION_UNITS, np.float32)
    num_workers = config.num_workers or os.cpu_count() or 1
    with contextlib.ExitStack() as stack:
      if num_workers == 1:
        # One BLAS thread, as in the workers: the same features either way.
        stack.enter_context(threadpoolctl.threadpool_limits(1))
        results = map(features_lib.safe_clip_example, clips, [config.features] * len(clips))
      else:
        # spawn, not fork: the parent has TensorFlow's threads running.
        pool = stack.enter_context(concurrent.futures.ProcessPoolExecutor(
            num_workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=features_lib.limit_worker_threads))
        results = pool.map(features_lib.safe_clip_example, clips,
                           [config.features] * len(clips), chunksize=4)
      written = 0
      for clip, (example, bad_file) in zip(clips, results):
        if bad_file is not None:
          self.skipped.append(bad_file)
          continue
        self.blank_frames_replaced += example.pop(features_lib.BLANK_FRAMES_REPLACED)
        example["has_au"] = clip.clip_id in units
        example["au"] = units.get(clip.clip_id, no_units)
        written += 1
        yield clip.clip_id, example
    if not written:
      raise NoClipsError(
          f"None of the {len(clips)} RAVDESS clips found under {', '.join(config.roots)} "
          f"could be read, e.g. {self.skipped[-1].file}: {self.skipped[-1].reason}")


def _no_clips_message(roots: tuple[str, ...]) -> str:
  """Says that `roots` hold no RAVDESS clip, showing two names that are there."""
  names = [os.path.relpath(os.path.join(folder, name), root)
           for root in roots for folder, _, files in sorted(os.walk(root))
           for name in sorted(files)][:2]
  found = f"files there include {', '.join(names)}" if names else "there are no files there"
  return (f"No RAVDESS clips found under {', '.join(roots)}: {found}. A RAVDESS media file is "
          "named MM-VV-EE-II-SS-RR-AA.wav/.flac/.mp4/.avi, e.g. 03-01-05-01-01-01-12.wav.")


def feature_config(data_config: ml_collections.ConfigDict) -> features_lib.FeatureConfig:
  """The builder's settings of `config.data`; fails naming config.data.acoustic if unknown."""
  acoustic_lib.check_feature_set(data_config.acoustic)
  return features_lib.FeatureConfig(
      audio=audio_lib.AudioConfig(**data_config.audio.to_dict()),
      video=video_lib.VideoConfig(**data_config.video.to_dict()),
      acoustic=data_config.acoustic,
  )


def _tree_digest(roots: tuple[str, ...], units: str) -> str:
  """A digest of every file's path, size and modification time (ns) under the roots,
  and of the CSV's: files added, removed, replaced or rewritten in place (even at the
  same size) give new records rather than stale ones. Hashing the content instead
  would read every byte of a full download on every start."""
  listing = []
  for root in roots:
    for folder, _, names in sorted(os.walk(root)):
      for name in sorted(names):
        path = os.path.join(folder, name)
        listing.append((os.path.relpath(path, root), *_size_and_mtime(path)))
  if units:
    listing.append((units, *_size_and_mtime(units)))
  return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:12]


def _size_and_mtime(path: str) -> tuple[int, int]:
  status = os.stat(path)
  return status.st_size, status.st_mtime_ns


def builder_config(data_config: ml_collections.ConfigDict) -> RavdessConfig:
  """The builder config for `data_config`'s roots, their files and feature settings."""
  roots = tuple(os.path.abspath(os.path.expanduser(r)) for r in data_config.roots)
  for root in roots:
    if not os.path.isdir(root):
      raise FileNotFoundError(f"RAVDESS root {root!r} (config.data.roots) is not a directory.")
  features = feature_config(data_config)
  units = data_config.action_units and os.path.abspath(os.path.expanduser(data_config.action_units))
  if units and not os.path.isfile(units):
    raise FileNotFoundError(f"Action-unit CSV {units!r} (config.data.action_units) does not exist.")
  setting = {"roots": roots, "action_units": units, "files": _tree_digest(roots, units),
             **dataclasses.asdict(features)}
  # Unasked, the setting (so the records' name) is that of before these keys
  # existed: existing caches stay valid.
  if not features.acoustic:
    del setting["acoustic"]
  if features.audio.features == "mfcc":
    del setting["audio"]["features"]
  if features.audio.test_windows == 1:
    del setting["audio"]["test_windows"]
  digest = hashlib.sha256(json.dumps(setting, sort_keys=True).encode()).hexdigest()[:12]
  audio, video = features.audio, features.video
  acoustic = f"_{features.acoustic}" if features.acoustic else ""
  frames = "mfcc" if audio.features == "mfcc" else "logmel"
  frames += f"{audio.n_mfcc}x{audio.num_frames}"
  if audio.test_windows > 1:
    frames += f"w{audio.test_windows}"
  return RavdessConfig(
      name=(f"{frames}{acoustic}_face{video.face_size}x"
            f"{video.num_frames}_{digest}"),
      description=json.dumps(setting, sort_keys=True),
      roots=roots,
      action_units=units,
      features=features,
      num_workers=data_config.num_workers,
  )


def prepare(data_config: ml_collections.ConfigDict) -> tuple[RavdessFeatures, dict[str, Any]]:
  """Builds the TFRecords if needed; returns the builder and its build report.

  The report (`clips_read`, `clips_written`, `skipped`: [{file, reason}],
  `blank_frames_replaced`: sampled video frames that were black or flat and
  replaced by their clip's nearest usable frame, `seconds`) is saved beside
  the records and returned again on a no-op build.

  One process at a time builds a feature set (a lock file beside its records):
  another process, or a second host of the same run, waits and then reuses them.

  Raises:
    NoClipsError: naming the roots, if they hold no RAVDESS clip or none could
      be read; its `report` lists every skipped file.
  """
  config = builder_config(data_config)
  data_dir = os.path.expanduser(data_config.tfds_dir)
  lock_path = os.path.join(data_dir, RavdessFeatures.name, f"{config.name}.lock")
  with locks.hold(lock_path, f"the feature build {config.name}", wait=True):
    # Made under the lock, so that it sees a build that finished while we waited.
    builder = RavdessFeatures(config=config, data_dir=data_dir)
    report_path = os.path.join(builder.data_dir, REPORT_FILE)
    if builder.is_prepared() and os.path.exists(report_path):
      with open(report_path) as f:
        return builder, json.load(f)
    start = time.perf_counter()
    try:
      builder.download_and_prepare(
          download_config=tfds.download.DownloadConfig(manual_dir=config.roots[0]))
    except NoClipsError as error:
      error.report = _build_report(builder, 0, start)
      raise
    report = _build_report(builder, builder.info.splits[SPLIT].num_examples, start)
    write_report(report_path, report)
  return builder, report


def _build_report(builder: RavdessFeatures, clips_written: int, start: float) -> dict[str, Any]:
  return {
      "clips_read": builder.clips_read,
      "clips_written": clips_written,
      "skipped": [dataclasses.asdict(s) for s in builder.skipped],
      "blank_frames_replaced": builder.blank_frames_replaced,
      "seconds": round(time.perf_counter() - start, 2),
  }


def write_report(path: str, report: dict[str, Any]) -> None:
  """Writes `report` as JSON, whole or not at all, even with another process at it."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  partial = f"{path}.{os.getpid()}.tmp"
  with open(partial, "w") as f:
    json.dump(report, f, indent=2, allow_nan=False)
  os.replace(partial, path)


def load_clips(builder: RavdessFeatures, images_per_clip: int) -> dict[str, np.ndarray]:
  """Every clip of the built dataset as numpy arrays, in clip_id order.

  Returns: clip_id [N] str, label/actor/vocal_channel/... [N] int32,
  has_audio/has_video/has_au [N] bool, mfcc [N, n_mfcc, frames] float32,
  mfcc_windows [N, test_windows, n_mfcc, frames] float32 (if asked for),
  au [N, 35] float32, acoustic [N, F] float32 (if config.data.acoustic asked for it),
  images [N, images_per_clip, H, 2W, 3] uint8 (zeros where has_video is False).
  """
  rows = list(tfds.as_numpy(builder.as_dataset(split=SPLIT, shuffle_files=False)))
  if not rows:
    raise ValueError(f"The dataset at {builder.data_dir} holds no clips.")
  rows.sort(key=lambda row: row["clip_id"])
  image_shape = builder.builder_config.features.image_shape
  clips = {key: np.stack([row[key] for row in rows])
           for key in rows[0] if key not in ("images", "clip_id")}
  clips["clip_id"] = np.array([row["clip_id"].decode() for row in rows])
  images = np.zeros((len(rows), images_per_clip, *image_shape), np.uint8)
  for i, row in enumerate(rows):
    images[i, :len(row["images"])] = row["images"][:images_per_clip]
  clips["images"] = images
  return clips

