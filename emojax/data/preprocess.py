"""Decoded media -> the network's inputs, in windows: the one preprocessing path.

Training (`emojax.data.audio.audio_features`, `emojax.data.video.face_images`)
and inference (`emojax.inference`) both call these functions. Training is the
single centred window (`CENTRED`); inference cuts a long clip into several
windows of the training crop's length. Arrays only: reading files is
audio.py's and video.py's job.
"""
from typing import Iterable, Iterator

import cv2
import librosa
import numpy as np
import soxr

# Window offsets of the training crop: one window, at the clip's centre.
CENTRED = np.zeros(1)


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


def window_seconds(audio_config) -> float:
  """Seconds of a window: the training crop of `num_frames` MFCC frames (2.97 s by default).

  Args:
    audio_config: an `emojax.data.audio.AudioConfig`.
  """
  return audio_config.num_frames * audio_config.hop_length / audio_config.sample_rate


# Audio.

def to_mono_at_rate(samples: np.ndarray, file_rate: int, sample_rate: int) -> np.ndarray:
  """Downmixes by averaging the channels and resamples with soxr's very-high-quality
  resampler, as librosa.load does.

  Args:
    samples: [channels, samples] or [samples] float32.
  Returns:
    [samples'] float32 at `sample_rate`.
  """
  waveform = librosa.to_mono(samples)
  return librosa.resample(waveform, orig_sr=file_rate, target_sr=sample_rate,
                          res_type="soxr_vhq").astype(np.float32)


def fix_length(features: np.ndarray, num_frames: int, crop: str) -> np.ndarray:
  """Zero-pads or crops features along time to exactly `num_frames`.

  Args:
    features: [n_mfcc, frames].
    num_frames: frames wanted.
    crop: "centre" pads or crops equally at both ends (one more at the end
      when the difference is odd); "start" keeps the beginning and pads or
      crops at the end.
  Returns:
    [n_mfcc, num_frames], same dtype; padded frames are 0.
  Raises:
    ValueError: for an unknown `crop`.
  """
  if crop not in ("centre", "start"):
    raise ValueError(f"crop must be 'centre' or 'start', got {crop!r}.")
  frames = features.shape[1]
  excess = frames - num_frames
  if excess >= 0:
    begin = excess // 2 if crop == "centre" else 0
    return features[:, begin:begin + num_frames]
  before = -excess // 2 if crop == "centre" else 0
  after = -excess - before
  return np.pad(features, ((0, 0), (before, after)))


def normalise_utterance(features: np.ndarray) -> np.ndarray:
  """Standardises each coefficient to zero mean and unit variance over time.

  Args:
    features: [n_mfcc, frames] float.
  Returns:
    [n_mfcc, frames] float32; a constant coefficient becomes all zeros.
  """
  mean = features.mean(axis=1, keepdims=True)
  std = features.std(axis=1, keepdims=True)
  # A constant row (e.g. all padding) has std 0: centre it, do not divide by 0.
  std = np.where(std > 0, std, 1.0)
  return ((features - mean) / std).astype(np.float32)


def audio_windows(mfcc: np.ndarray, config, offsets: np.ndarray = CENTRED) -> np.ndarray:
  """A clip's MFCCs cut into windows of `config.num_frames` frames.

  One window is the training crop, `fix_length` of the whole clip (padded if
  short); several (from `window_offsets`, in MFCC frames) are plain slices.
  Each is normalised on its own if the config says so.

  Args:
    mfcc: [n_mfcc, frames] float32 of the whole clip.
    config: an `emojax.data.audio.AudioConfig`.
    offsets: [windows] centre offsets in MFCC frames; by default the training crop.
  Returns:
    [windows, n_mfcc, num_frames] float32.
  """
  size = config.num_frames
  if len(offsets) == 1:
    windows = [fix_length(mfcc, size, config.crop)]
  else:
    windows = [mfcc[:, start:start + size] for start in window_starts(mfcc.shape[1], size, offsets)]
  if config.normalise:
    windows = [normalise_utterance(window) for window in windows]
  return np.stack(windows).astype(np.float32)


def window_starts(length: int, size: int, offsets: np.ndarray) -> np.ndarray:
  """[windows] int first frames of windows of `size` frames centred at `offsets` (frames)
  from the centre of `length` frames."""
  return (length - size) // 2 + np.round(offsets).astype(int)


# Audio, streamed: a long clip's windows without its whole waveform or STFT in
# memory, equal to `audio_windows` of `audio.mfcc` of the whole clip.

# librosa.feature.mfcc (training's MFCCs) floors the log-mel power at the
# clip's loudest value minus power_to_db's default top_db: a window's MFCCs
# depend on the whole clip's loudest frame, so streaming takes two passes.
_TOP_DB = 80.0


def resampled_stream(blocks: Iterable[np.ndarray], file_rate: int,
                     sample_rate: int) -> Iterator[np.ndarray]:
  """`to_mono_at_rate` of the concatenated blocks, block by block.

  soxr's stream is its one-shot resampler fed in pieces (the same samples), and
  the total length is cut or padded to ceil(samples * ratio) as librosa.resample does.

  Args:
    blocks: [channels, samples] float32 at `file_rate`, in order.
  Yields:
    [samples'] float32 at `sample_rate`.
  """
  if file_rate == sample_rate:  # librosa.resample returns such a waveform unchanged.
    yield from (librosa.to_mono(block) for block in blocks)
    return
  stream = soxr.ResampleStream(file_rate, sample_rate, 1, dtype="float32", quality="VHQ")
  samples = emitted = 0
  # One block is held back so that the flush can be cut to the exact length.
  held = np.zeros(0, np.float32)
  for block in blocks:
    mono = librosa.to_mono(block)
    samples += mono.shape[-1]
    if len(held):
      yield held
      emitted += len(held)
    held = stream.resample_chunk(mono)
  tail = np.concatenate([held, stream.resample_chunk(np.zeros(0, np.float32), last=True)])
  size = int(np.ceil(samples * float(sample_rate) / file_rate)) - emitted
  yield librosa.util.fix_length(tail, size=size).astype(np.float32)


def mel_power_frames(waveform: Iterable[np.ndarray], config) -> Iterator[np.ndarray]:
  """The mel power spectrogram of a waveform given in blocks, as librosa.feature.mfcc
  frames the whole waveform: centred frames, zero-padded at both ends,
  1 + samples // hop_length of them.

  Args:
    waveform: [samples] float32 blocks at `config.sample_rate`, in order.
    config: an `emojax.data.audio.AudioConfig`.
  Yields:
    [n_mels, frames] float32 power of the next frames.
  """
  half, hop = config.n_fft // 2, config.hop_length
  pending = np.zeros(half, np.float32)  # Samples of frames not yet made, after the centring pad.
  samples = made = 0
  for block in waveform:
    samples += len(block)
    pending = np.concatenate([pending, block])
    count = max(0, 1 + (len(pending) - config.n_fft) // hop)
    if count:
      yield _mel_power(pending[:(count - 1) * hop + config.n_fft], config)
      pending, made = pending[count * hop:], made + count
  count = 1 + samples // hop - made
  pending = np.concatenate([pending, np.zeros(half, np.float32)])
  yield _mel_power(pending[:(count - 1) * hop + config.n_fft], config)


def _mel_power(frames: np.ndarray, config) -> np.ndarray:
  """[n_mels, frames] mel power of the uncentred frames of `frames`, as in librosa.feature.mfcc."""
  return librosa.feature.melspectrogram(y=frames, sr=config.sample_rate, n_fft=config.n_fft,
                                        hop_length=config.hop_length, center=False)


def streamed_audio_windows(mel_power: Iterable[np.ndarray], loudest: float, frames: int,
                           config, offsets: np.ndarray) -> Iterator[np.ndarray]:
  """`audio_windows` of a clip's MFCCs made from its mel power frames as they come.

  Args:
    mel_power: [n_mels, k] float32 chunks of the clip's `frames` mel power frames
      (`mel_power_frames`), in order.
    loudest: the largest mel power of the clip: the dB floor's reference.
    frames: the clip's MFCC frame count.
    config: an `emojax.data.audio.AudioConfig`.
    offsets: [windows] centre offsets in MFCC frames, at least two, increasing.
  Yields:
    [n_mfcc, num_frames] float32 per window, in order; only the frames of
    windows not yet given are held.
  """
  floor = librosa.power_to_db(np.array([loudest], np.float32), top_db=None)[0] - _TOP_DB
  size = config.num_frames
  held, first = np.zeros((config.n_mfcc, 0), np.float32), 0  # MFCC frames from frame `first`.
  chunks = iter(mel_power)
  for start in window_starts(frames, size, offsets):
    while first + held.shape[1] < start + size:
      power = next(chunks)
      db = np.maximum(librosa.power_to_db(power, top_db=None), floor)
      mfcc = librosa.feature.mfcc(S=db, n_mfcc=config.n_mfcc).astype(np.float32)
      held = np.concatenate([held, mfcc], axis=1)
    window = held[:, start - first:start - first + size]
    yield normalise_utterance(window) if config.normalise else window.copy()
    held, first = held[:, start - first:], start


# Video.

def frame_times(duration_s: float, config, offsets_s: np.ndarray = CENTRED) -> np.ndarray:
  """Times of the frames sampled in each window: `config.num_frames`, `config.interval_s`
  apart, centred on the window.

  Times outside the clip are clamped to [0, duration_s], so a clip shorter
  than the span repeats its first and last frames.

  Args:
    duration_s: the clip's length.
    config: an `emojax.data.video.VideoConfig`.
    offsets_s: [windows] window centres' offsets from the clip's, in seconds;
      by default the training crop.
  Returns:
    [windows, num_frames] float64 seconds, non-decreasing along each row.
  """
  spacing = (np.arange(config.num_frames) - (config.num_frames - 1) / 2) * config.interval_s
  centres = duration_s / 2 + np.asarray(offsets_s, np.float64)
  return np.clip(centres[:, None] + spacing, 0.0, duration_s)


def frame_indices(times_s: np.ndarray, fps: float, frame_count: int) -> np.ndarray:
  """[n] int indices of the frames shown at `times_s`: round(t * fps), halves up,
  clamped to the last frame."""
  indices = np.floor(np.asarray(times_s) * fps + 0.5).astype(np.int64)
  return np.clip(indices, 0, frame_count - 1)


def crop_face(frame: np.ndarray, box: tuple[int, int, int, int] | None,
              face_size: int, margin: float) -> np.ndarray:
  """A square face crop resized to face_size x face_size.

  The square is centred on the box, its side the box's longer side plus
  `margin` of it on each side, shrunk to fit the frame and shifted inside it.
  With no box, it falls back to the largest centred square: the face crops
  and RAVDESS's framing (one actor, facing the camera, mid-frame) put the face
  at the centre.

  Args:
    frame: [height, width, 3] uint8.
    box: (x, y, w, h) from `emojax.data.video.FaceDetector.detect`, or None.
    face_size: output side in pixels.
    margin: fraction of the box's side added on each side.
  Returns:
    [face_size, face_size, 3] uint8.
  """
  height, width = frame.shape[:2]
  if box is None:
    side = min(height, width)
    centre_x, centre_y = width / 2, height / 2
  else:
    x, y, w, h = box
    side = min(round(max(w, h) * (1 + 2 * margin)), height, width)
    centre_x, centre_y = x + w / 2, y + h / 2
  left = int(np.clip(round(centre_x - side / 2), 0, width - side))
  top = int(np.clip(round(centre_y - side / 2), 0, height - side))
  square = frame[top:top + side, left:left + side]
  # INTER_AREA averages source pixels, which avoids aliasing when shrinking;
  # it is not meant for enlarging.
  interpolation = cv2.INTER_AREA if side >= face_size else cv2.INTER_LINEAR
  return cv2.resize(square, (face_size, face_size), interpolation=interpolation)


def face_pairs(frames: np.ndarray, boxes: list, config) -> np.ndarray:
  """Face crops of each window's frames, consecutive frames side by side.

  Args:
    frames: [windows * num_frames, height, width, 3] uint8 RGB, window by
      window, as sampled at `frame_times`.
    boxes: per frame, a face box or None (the centre square).
    config: an `emojax.data.video.VideoConfig`.
  Returns:
    [windows, num_frames // 2, face_size, 2 * face_size, 3] uint8, image j of
    a window holding its frame 2j on the left and 2j + 1 on the right.
  """
  size, pairs = config.face_size, config.num_frames // 2
  faces = np.stack([crop_face(frame, box, size, config.face_margin)
                    for frame, box in zip(frames, boxes)])
  # [windows, pairs, 2, h, w, 3] -> [windows, pairs, h, 2 * w, 3].
  return faces.reshape(-1, pairs, 2, size, size, 3).transpose(0, 1, 3, 2, 4, 5).reshape(
      -1, pairs, size, 2 * size, 3)
