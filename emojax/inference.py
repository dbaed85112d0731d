"""A trained run applied to anyone's media: emotion probabilities from every head.

`Predictor.from_workdir` restores a run's checkpoint and reads its preprocessing
from the run's config.json. A clip is cut into windows as long as the training
crop (one, centred, for a clip of training length; half-overlapping ones for a
longer clip); each window gives MFCCs and face images exactly as
`emojax.data.features` makes them for training, every head the inputs allow
classifies them, and the windows' probabilities are averaged.
"""
import contextlib
import dataclasses
import functools
import json
import os
import time
from typing import Callable

import av
import cv2
import jax
import librosa
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from emojax import checkpoints
from emojax.data import action_units
from emojax.data import audio as audio_lib
from emojax.data import features as features_lib
from emojax.data import ravdess
from emojax.data import video as video_lib
from emojax.models import fusion

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov")
# Written by emojax.train (train.CONFIG_FILE); not imported from there, since
# emojax.train loads TensorFlow, which would add seconds to every start.
CONFIG_FILE = "config.json"
# A track whose peak stays below -80 dBFS (3 steps of 16-bit audio) holds no
# sound; RAVDESS video-only files carry an all-zero track.
_SILENT_PEAK = 1e-4
_AU_NOTE = ("the network's visual input is facial action units, which cannot be extracted "
            "from video here (they come from OpenFace); the au heads are skipped")


class WorkdirError(Exception):
  """The run directory cannot be used: no config, no checkpoint, or a mismatch."""


class InputError(Exception):
  """One input cannot be predicted; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Window:
  """One window of a clip: its span and each head's emotion probabilities."""
  start_s: float
  end_s: float
  heads: dict[str, dict[str, float]]


@dataclasses.dataclass(frozen=True)
class Prediction:
  """What a run says about one clip.

  Attributes:
    file: the input's path; None for arrays.
    emotion: the most probable emotion of `head`.
    head: the first head of the network's that the inputs allow ("joint" when
      every modality is there, else that modality's probe or classifier).
    heads: head -> {emotion: probability}, averaged over the windows.
    windows: each window's span and probabilities.
    modalities: the inputs the heads read, e.g. ("audio", "image").
    notes: why a modality was left out or only partly found, for humans.
    stage_seconds: time spent in "decode", "face detection", "features" and
      "model".
  """
  file: str | None
  emotion: str
  head: str
  heads: dict[str, dict[str, float]]
  windows: tuple[Window, ...]
  modalities: tuple[str, ...]
  notes: tuple[str, ...]
  stage_seconds: dict[str, float]


def window_offsets(length: float, window: float) -> np.ndarray:
  """Where the windows covering a clip sit, as offsets of their centres from the clip's.

  A clip shorter than 1.5 windows gets one window at its centre: the training
  crop. A longer one gets windows half a window apart, centred as a group, so
  that less than a quarter of a window at each end is left out.

  Args:
    length: the clip's length; `window` the window's, in the same unit.
  Returns:
    [count] float offsets, in that unit, in time order.
  """
  stride = window / 2
  count = 1 + int(max(0.0, length - window) // stride)
  return (np.arange(count) - (count - 1) / 2) * stride


def audio_windows(mfcc: np.ndarray, config: audio_lib.AudioConfig) -> np.ndarray:
  """A clip's MFCCs cut into the windows of `window_offsets`, as training made them.

  One window is `fix_length` of the whole clip (padded if short); several are
  plain slices. Each is normalised on its own if the config says so.

  Args:
    mfcc: [n_mfcc, frames] float32 of the whole clip.
  Returns:
    [windows, n_mfcc, num_frames] float32.
  """
  length, size = mfcc.shape[1], config.num_frames
  offsets = window_offsets(length, size)
  if len(offsets) == 1:
    windows = [audio_lib.fix_length(mfcc, size, config.crop)]
  else:
    starts = (length - size) // 2 + np.round(offsets).astype(int)
    windows = [mfcc[:, start:start + size] for start in starts]
  if config.normalise:
    windows = [audio_lib.normalise_utterance(window) for window in windows]
  return np.stack(windows).astype(np.float32)


def frame_times(centres_s: np.ndarray, duration_s: float,
                config: video_lib.VideoConfig) -> np.ndarray:
  """Times of the frames sampled in each window: `video_lib.sample_times` about each centre.

  Returns:
    [windows, num_frames] float seconds, clamped to [0, duration_s].
  """
  spacing = (np.arange(config.num_frames) - (config.num_frames - 1) / 2) * config.interval_s
  return np.clip(np.asarray(centres_s)[:, None] + spacing, 0.0, duration_s)


def face_pairs(frames: np.ndarray, boxes: list, config: video_lib.VideoConfig) -> np.ndarray:
  """Face crops of each window's frames, consecutive frames side by side as in training.

  Args:
    frames: [windows * num_frames, height, width, 3] uint8 RGB, window by window.
    boxes: per frame, a `FaceDetector.detect` box or None (the centre square).
  Returns:
    [windows, num_frames // 2, face_size, 2 * face_size, 3] uint8.
  """
  size = config.face_size
  faces = np.stack([video_lib.crop_face(frame, box, size, config.face_margin)
                    for frame, box in zip(frames, boxes)])
  pairs = faces.reshape(-1, config.num_frames // 2, 2, size, size, 3)
  # [windows, pairs, 2, h, w, 3] -> [windows, pairs, h, 2 * w, 3].
  return pairs.transpose(0, 1, 3, 2, 4, 5).reshape(-1, config.num_frames // 2, size, 2 * size, 3)


@dataclasses.dataclass(frozen=True)
class _Video:
  """A video to sample: its length and how to get the frames shown at given times."""
  duration_s: float
  read: Callable[[np.ndarray], np.ndarray]  # [n] seconds -> [n, h, w, 3] uint8 RGB.


class _StageClock:
  """Seconds spent per named stage, summed over every `with clock(stage)`."""

  def __init__(self):
    self.seconds: dict[str, float] = {}

  @contextlib.contextmanager
  def __call__(self, stage: str):
    start = time.perf_counter()
    try:
      yield
    finally:
      self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def _head_probabilities(params, audio, image, *, model: fusion.FusionNetwork) -> dict:
  """{head: [batch, classes] softmax} for every head the given inputs (None: absent) allow."""
  logits = model.apply({"params": params}, audio=audio, image=image)["logits"]
  return {head: jax.nn.softmax(values, axis=-1) for head, values in logits.items()}


class Predictor:
  """A restored network with its run's preprocessing; see the module docstring."""

  def __init__(self, model: fusion.FusionNetwork, params, features: features_lib.FeatureConfig):
    self.model = model
    self.features = features
    self._params = params
    self._detector = video_lib.FaceDetector()
    self._apply = jax.jit(functools.partial(_head_probabilities, model=model))

  @classmethod
  def from_workdir(cls, workdir: str, step: int | None = None) -> "Predictor":
    """The network of `<workdir>/config.json` with the checkpoint selected on validation.

    Args:
      workdir: a run directory of `python -m emojax.main`.
      step: the epoch whose checkpoint to use instead.
    Raises:
      WorkdirError: naming the directory, if it has no config or checkpoint,
        the checkpoint's parameters do not fit the config's network, the
        network reads only action units (which cannot be made from media), or
        it was trained on audio standardised per actor (one clip has no actor's
        statistics).
    """
    config = _load_config(workdir)
    try:
      model = fusion.build_model(config.model)
      features = features_lib.FeatureConfig(
          audio=audio_lib.AudioConfig(**config.data.audio.to_dict()),
          video=video_lib.VideoConfig(**config.data.video.to_dict()))
    except (ValueError, TypeError, AttributeError) as error:
      raise WorkdirError(f"{workdir}/{CONFIG_FILE} does not describe a network emojax can "
                         f"build: {error}") from error
    if not {"audio", "image"} & set(model.modalities):
      raise WorkdirError(
          f"The network of {workdir} reads {model.modalities} only; facial action units "
          "cannot be extracted from media here (they come from OpenFace), so it cannot "
          "predict on files.")
    if "audio" in config.data.get("standardise_per_actor", ()):
      raise WorkdirError(
          f"The network of {workdir} was trained on MFCCs standardised by each actor's own "
          "clips (config.data.standardise_per_actor); a clip on its own has no actor "
          "statistics to standardise it by, so it cannot predict on files.")
    params = _restore_params(workdir, config, step)
    _check_params(workdir, params, model, features)
    return cls(model, params, features)

  def predict(self, path: str) -> Prediction:
    """Predicts one audio or video file.

    A video's audio track feeds the audio heads unless it is missing or
    silent; its frames feed the image heads unless no face is found in them.
    Raises:
      InputError: naming `path`, if it is missing, empty, of an unsupported
        type, corrupt, or gives nothing the network reads.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in AUDIO_EXTENSIONS + VIDEO_EXTENSIONS:
      raise InputError(f"{path}: unsupported file type {extension or '(no extension)'!r}; "
                       f"expected one of {' '.join(AUDIO_EXTENSIONS + VIDEO_EXTENSIONS)}.")
    if not os.path.isfile(path):
      raise InputError(f"{path}: no such file.")
    if os.path.getsize(path) == 0:
      raise InputError(f"{path}: the file is empty.")
    clock, notes = _StageClock(), []
    try:
      with clock("decode"):
        tracks = _track_types(path) if extension in VIDEO_EXTENSIONS else {"audio"}
      waveform = None
      if "audio" in self.model.modalities and "audio" in tracks:
        with clock("decode"):
          waveform = audio_lib.load_audio(path, self.features.audio.sample_rate)
      elif "audio" in self.model.modalities:
        notes.append("the file has no audio track; the audio heads are skipped")
      video = None
      if "image" in self.model.modalities and "video" in tracks:
        with clock("decode"):
          video = _Video(_video_duration(path), functools.partial(video_lib.read_frames, path))
      elif "image" in self.model.modalities and extension in VIDEO_EXTENSIONS:
        notes.append("the file has no video track; the image heads are skipped")
      elif "video" in tracks and self.model.visual == "au":
        notes.append(_AU_NOTE)
      return self._predict(path, waveform, video, clock, notes)
    except (audio_lib.AudioError, video_lib.VideoError) as error:
      raise InputError(str(error)) from error

  def predict_arrays(self, audio: np.ndarray | None = None, frames: np.ndarray | None = None,
                     *, sample_rate: int | None = None, fps: float | None = None) -> Prediction:
    """Predicts a clip given as arrays, with the same preprocessing as `predict`.

    Args:
      audio: [samples] or [samples, channels] float waveform in [-1, 1], or None.
      frames: [frames, height, width, 3] uint8 RGB video frames, or None.
      sample_rate: Hz of `audio`; fps: frames per second of `frames`.
    Raises:
      ValueError: if neither input is given or a rate is missing.
      InputError: if the inputs give nothing the network reads.
    """
    if audio is None and frames is None:
      raise ValueError("predict_arrays needs audio, frames or both.")
    if (audio is not None and not sample_rate) or (frames is not None and not fps):
      raise ValueError("predict_arrays needs sample_rate with audio and fps with frames.")
    if audio is not None and (np.ndim(audio) not in (1, 2) or not len(audio)):
      raise ValueError("audio must be [samples] or [samples, channels] with at least one "
                       f"sample; got shape {np.shape(audio)}.")
    if frames is not None and (np.ndim(frames) != 4 or np.shape(frames)[-1] != 3
                               or not len(frames)):
      raise ValueError("frames must be [frames, height, width, 3] RGB with at least one "
                       f"frame; got shape {np.shape(frames)}.")
    clock, notes = _StageClock(), []
    waveform = None
    if audio is not None and "audio" in self.model.modalities:
      with clock("decode"):
        # As audio_lib.load_audio does for a file: downmix, then soxr resampling.
        mono = librosa.to_mono(np.asarray(audio, np.float32).T)
        waveform = librosa.resample(mono, orig_sr=sample_rate,
                                    target_sr=self.features.audio.sample_rate,
                                    res_type="soxr_vhq").astype(np.float32)
    video = None
    if frames is not None and "image" in self.model.modalities:
      frames = np.asarray(frames)
      video = _Video(len(frames) / fps,
                     lambda times: frames[_frame_indices(times, fps, len(frames))])
    elif frames is not None and self.model.visual == "au":
      notes.append(_AU_NOTE)
    return self._predict(None, waveform, video, clock, notes)

  def _predict(self, file: str | None, waveform: np.ndarray | None, video: _Video | None,
               clock: _StageClock, notes: list[str]) -> Prediction:
    """Windows -> features -> heads, for whichever of audio and video are given."""
    name = file or "the arrays"
    if waveform is not None and np.abs(waveform).max(initial=0.0) < _SILENT_PEAK:
      notes.append("the audio is silent; the audio heads are skipped")
      waveform = None
    audio = images = None
    if waveform is not None:
      with clock("features"):
        audio, offsets_s = self._audio_windows(waveform)
      duration_s = len(waveform) / self.features.audio.sample_rate
    if video is not None:
      if waveform is None:  # Else the video is sampled in the audio's windows.
        duration_s = video.duration_s
        offsets_s = window_offsets(duration_s, self._window_s)
      images = self._face_images(video, offsets_s, clock, notes)
    if audio is None and images is None:
      raise InputError(f"{name}: nothing this network reads ({', '.join(self.model.modalities)})"
                       f"; {'; '.join(notes) or 'no input given'}.")

    with clock("model"):
      windows = self._window_probabilities(audio, images)
    if not windows:
      given = "audio" if images is None else "images"
      raise InputError(f"{name}: every head of this network ({', '.join(self.model.heads)}) "
                       f"needs {' and '.join(self.model.modalities)}; the input gives only "
                       f"{given} ({'; '.join(notes) or 'one modality'}).")
    heads = [head for head in self.model.heads if head in windows]
    clip = {head: windows[head].mean(axis=0) for head in heads}
    centres_s = duration_s / 2 + offsets_s
    return Prediction(
        file=file,
        emotion=ravdess.EMOTIONS[int(np.argmax(clip[heads[0]]))],
        head=heads[0],
        heads={head: _by_emotion(clip[head]) for head in heads},
        windows=tuple(
            Window(start_s=max(0.0, float(centre - self._window_s / 2)),
                   end_s=min(duration_s, float(centre + self._window_s / 2)),
                   heads={head: _by_emotion(windows[head][i]) for head in heads})
            for i, centre in enumerate(centres_s)),
        modalities=tuple(m for m, x in (("audio", audio), ("image", images)) if x is not None),
        notes=tuple(notes),
        stage_seconds=dict(clock.seconds))

  @property
  def _window_s(self) -> float:
    """Seconds of a window: the training crop of num_frames MFCC frames."""
    config = self.features.audio
    return config.num_frames * config.hop_length / config.sample_rate

  def _audio_windows(self, waveform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[windows, n_mfcc, num_frames] MFCCs and [windows] centre offsets in seconds."""
    config = self.features.audio
    mfcc = audio_lib.mfcc(waveform, config)
    offsets = window_offsets(mfcc.shape[1], config.num_frames)
    return audio_windows(mfcc, config), offsets * config.hop_length / config.sample_rate

  def _face_images(self, video: _Video, offsets_s: np.ndarray, clock: _StageClock,
                   notes: list[str]) -> np.ndarray | None:
    """[windows, pairs, face_size, 2 * face_size, 3] uint8, or None if no face is found."""
    config = self.features.video
    times = frame_times(video.duration_s / 2 + offsets_s, video.duration_s, config)
    with clock("decode"):
      frames = video.read(times.ravel())
    with clock("face detection"):
      boxes = [self._detector.detect(frame) for frame in frames]
    found = sum(box is not None for box in boxes)
    if not found:
      notes.append(f"no face found in the {len(boxes)} sampled frames; the image heads are "
                   "skipped")
      return None
    if found < len(boxes):
      notes.append(f"a face was found in {found} of {len(boxes)} sampled frames; the others "
                   "use the frame's centre square, as training did")
    with clock("features"):
      return face_pairs(frames, boxes, config)

  def _window_probabilities(self, audio: np.ndarray | None,
                            images: np.ndarray | None) -> dict[str, np.ndarray]:
    """{head: [windows, classes]}: each window's probabilities, averaged over its image pairs.

    Args:
      audio: [windows, n_mfcc, num_frames] or None.
      images: [windows, pairs, face_size, 2 * face_size, 3] or None.
    """
    if images is not None:
      count, pairs = images.shape[:2]
      images = images.reshape(count * pairs, *images.shape[2:])
      # The study pairs each face image with one audio clip: each image pair
      # of a window reads that window's audio.
      audio = None if audio is None else np.repeat(audio, pairs, axis=0)
    else:
      count, pairs = len(audio), 1
    outputs = self._apply(self._params, _pad_to_power_of_two(audio), _pad_to_power_of_two(images))
    return {head: np.asarray(values)[:count * pairs].reshape(count, pairs, -1).mean(axis=1)
            for head, values in outputs.items()}


def _by_emotion(probabilities: np.ndarray) -> dict[str, float]:
  return {emotion: float(p) for emotion, p in zip(ravdess.EMOTIONS, probabilities)}


def _pad_to_power_of_two(batch: np.ndarray | None) -> np.ndarray | None:
  """Zero-pads the batch axis to a power of two: jit then compiles once per size
  class rather than once per window count."""
  if batch is None:
    return None
  size = 1 << (len(batch) - 1).bit_length()
  return np.concatenate([batch, np.zeros((size - len(batch), *batch.shape[1:]), batch.dtype)])


def _frame_indices(times_s: np.ndarray, fps: float, frame_count: int) -> np.ndarray:
  """The frame shown at each time: round(t * fps), clamped, as video_lib.read_frames picks."""
  indices = np.floor(np.asarray(times_s) * fps + 0.5).astype(np.int64)
  return np.clip(indices, 0, frame_count - 1)


def _track_types(path: str) -> set[str]:
  """The kinds of track ("audio", "video") a container holds."""
  try:
    with av.open(path) as container:
      types = {stream.type for stream in container.streams} & {"audio", "video"}
  except (av.FFmpegError, OSError) as error:
    raise InputError(f"{path}: cannot open the file: {error}") from error
  if not types:
    raise InputError(f"{path}: the file holds no audio or video track; it may be truncated "
                     "or corrupt.")
  return types


def _video_duration(path: str) -> float:
  """Seconds of video, from the frame count and rate OpenCV reads it with."""
  capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
  try:
    fps = capture.get(cv2.CAP_PROP_FPS)
    frame_count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
  finally:
    capture.release()
  if not (fps > 0 and frame_count > 0):
    raise InputError(f"{path}: cannot read the video: it reports no frames (frame rate "
                     f"{fps:g}, {frame_count:g} frames); it may be truncated or corrupt.")
  return frame_count / fps


def _load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    raise WorkdirError(f"No {CONFIG_FILE} in {workdir!r}: expected the run directory "
                       "(--workdir) of a training run of python -m emojax.main.")
  try:
    with open(path) as f:
      return ml_collections.ConfigDict(json.load(f))
  except ValueError as error:
    raise WorkdirError(f"{path} is not valid JSON: {error}") from error


def _restore_params(workdir: str, config: ml_collections.ConfigDict, step: int | None):
  """The parameters saved at `step` (default: the epoch selected on validation)."""
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise WorkdirError(f"No checkpoints in {workdir!r}: the run has not finished an epoch; "
                       "train first.")
  manager = checkpoints.manager(workdir, config.train.select_metric, config.train.keep_checkpoints)
  saved = manager.all_steps()
  if step is None:
    step = manager.best_step() or manager.latest_step()
  if step is None or step not in saved:
    raise WorkdirError(f"No checkpoint{'' if step is None else f' of epoch {step}'} in "
                       f"{manager.directory}; there are {list(saved)}.")
  # Onto this process's first device, whatever devices the run trained on.
  device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  state = manager.restore(step, args=ocp.args.StandardRestore(fallback_sharding=device))
  return state["params"]


def _check_params(workdir: str, params, model: fusion.FusionNetwork,
                  features: features_lib.FeatureConfig) -> None:
  """Fails naming the first differences if `params` are not those of `model` on `features`."""
  inputs = {"audio": np.zeros((1, features.audio.n_mfcc, features.audio.num_frames), np.float32),
            "image": np.zeros((1, features.video.face_size, 2 * features.video.face_size, 3),
                              np.uint8),
            "au": np.zeros((1, action_units.NUM_ACTION_UNITS), np.float32)}
  expected = jax.eval_shape(lambda: model.init(
      jax.random.key(0), **{m: inputs[m] for m in model.modalities}))
  shapes = {jax.tree_util.keystr(path): tuple(leaf.shape)
            for path, leaf in jax.tree_util.tree_leaves_with_path(expected["params"])}
  found = {jax.tree_util.keystr(path): tuple(leaf.shape)
           for path, leaf in jax.tree_util.tree_leaves_with_path(params)}
  differences = [f"{key}: config {shapes.get(key)}, checkpoint {found.get(key)}"
                 for key in sorted(shapes.keys() | found.keys())
                 if shapes.get(key) != found.get(key)]
  if differences:
    raise WorkdirError(
        f"The checkpoint in {workdir} does not match the network of its {CONFIG_FILE} "
        f"({len(differences)} parameters differ, e.g. {'; '.join(differences[:3])}); was "
        "the config edited, or the checkpoints copied from another run?")
