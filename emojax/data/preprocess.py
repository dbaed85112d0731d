"""Decoded media -> the network's inputs, in windows: the one preprocessing path.

Training (`emojax.data.audio.audio_features`, `emojax.data.video.face_images`)
and inference (`emojax.inference`) both call these functions. Training is the
single centred window (`CENTRED`); inference cuts a long clip into several
windows of the training crop's length. Arrays only: reading files is
audio.py's and video.py's job.
"""
from typing import Callable, Iterable, Iterator

import cv2
import librosa
import numpy as np
import soxr

# Window offsets of the training crop: one window, at the clip's centre.
CENTRED = np.zeros(1)
# Each face crop's channels are rescaled to this standard deviation around 128:
# about 2.5 standard deviations each side fit in uint8.
_FACE_STD = 50.0


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


def covering_offsets(length: int, size: int, count: int) -> np.ndarray:
  """Offsets (frames, from the clip's centre, as `window_starts` reads them) of `count`
  windows of `size` frames spread evenly from a clip's first frame to its last; all
  zero for a clip no longer than a window, which `audio_windows` pads as in training.

  Returns:
    [count] int offsets.
  """
  if length <= size:
    return np.zeros(count, np.int64)
  starts = np.round(np.linspace(0, length - size, count)).astype(np.int64)
  return starts - (length - size) // 2


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
  short); several (from `window_offsets` or `covering_offsets`, in MFCC frames)
  are plain slices, or that crop repeated for a clip no longer than a window.
  Each is normalised on its own if the config says so.

  Args:
    mfcc: [n_mfcc, frames] float32 of the whole clip.
    config: an `emojax.data.audio.AudioConfig`.
    offsets: [windows] centre offsets in MFCC frames; by default the training crop.
  Returns:
    [windows, n_mfcc, num_frames] float32.
  """
  size = config.num_frames
  if len(offsets) == 1 or mfcc.shape[1] <= size:
    windows = [fix_length(mfcc, size, config.crop)] * len(offsets)
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


def _mel_bands(config) -> int:
  """Mel bands: librosa.feature.mfcc's default 128 under MFCCs, else the log-mel rows."""
  return 128 if config.features == "mfcc" else config.n_mfcc


def _mel_power(frames: np.ndarray, config) -> np.ndarray:
  """[n_mels, frames] mel power of the uncentred frames of `frames`, as in
  `emojax.data.audio.frame_features`."""
  return librosa.feature.melspectrogram(y=frames, sr=config.sample_rate, n_fft=config.n_fft,
                                        hop_length=config.hop_length, center=False,
                                        n_mels=_mel_bands(config))


def streamed_audio_windows(mel_power: Iterable[np.ndarray], loudest: float, frames: int,
                           config, offsets: np.ndarray) -> Iterator[np.ndarray]:
  """`audio_windows` of a clip's MFCCs (or log-mel bands) made from its mel power
  frames as they come.

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
      rows = librosa.feature.mfcc(S=db, n_mfcc=config.n_mfcc) if config.features == "mfcc" else db
      held = np.concatenate([held, rows.astype(np.float32)], axis=1)
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


def face_area(frame: np.ndarray, box: tuple[int, int, int, int] | None,
              region: tuple[float, float, float, float]) -> np.ndarray:
  """The part of a raw frame that a face image shows: `region` of the face box.

  `region` is (x offset, y offset, width, height) of the area's centre and size
  from the box's centre, in units of the box's side (RAVDESS's face crops show
  (0.02, 0.03, 0.83, 1.13): `python -m tools.face_sources --register`). Where
  the area leaves the frame, the frame's edge pixels are repeated rather than
  the area shrunk or moved. With no box it is the largest centred square:
  RAVDESS's framing (one actor, facing the camera, mid-frame) puts the face at
  the centre.

  Returns:
    [height, width, 3], of `frame`'s dtype.
  """
  frame_height, frame_width = frame.shape[:2]
  if box is None:
    width = height = min(frame_height, frame_width)
    centre_x, centre_y = frame_width / 2, frame_height / 2
  else:
    x, y, w, h = box
    side = max(w, h)
    dx, dy, region_width, region_height = region
    centre_x, centre_y = x + w / 2 + dx * side, y + h / 2 + dy * side
    width, height = max(1, round(region_width * side)), max(1, round(region_height * side))
  left, top = round(centre_x - width / 2), round(centre_y - height / 2)
  pad = max(0, -left, -top, left + width - frame_width, top + height - frame_height)
  if pad:
    frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
  return frame[top + pad:top + pad + height, left + pad:left + pad + width]


def face_image(area: np.ndarray, face_size: int) -> np.ndarray:
  """A face area (`face_area`, or a face-crop video's whole frame) as the network's
  [face_size, face_size, 3] uint8 image: resized (squeezed to a square, as the
  face crops are) and `normalise_colour`ed."""
  # INTER_AREA averages source pixels, which avoids aliasing when shrinking;
  # it is not meant for enlarging.
  interpolation = cv2.INTER_AREA if min(area.shape[:2]) >= face_size else cv2.INTER_LINEAR
  return normalise_colour(cv2.resize(area, (face_size, face_size), interpolation=interpolation))


def normalise_colour(face: np.ndarray) -> np.ndarray:
  """Each colour channel of a [h, w, 3] uint8 image to mean 128 and standard deviation
  `_FACE_STD`, clipped to uint8.

  Lighting, exposure and white balance differ between sources (RAVDESS's face
  crops average RGB (113, 70, 64), Haar crops of its raw frames (161, 126,
  116)); per image and channel, what is left is the face's own contrast.
  """
  pixels = face.astype(np.float32)
  mean = pixels.mean(axis=(0, 1))
  std = pixels.std(axis=(0, 1))
  # A flat channel stays flat, at 128.
  scaled = (pixels - mean) * (_FACE_STD / np.maximum(std, 1.0))
  return np.clip(np.round(scaled + 128.0), 0, 255).astype(np.uint8)


def faces(frames: np.ndarray, detect: Callable[[np.ndarray], tuple | None], config,
          face_crop: bool) -> tuple[np.ndarray, int]:
  """Sampled frames -> the network's face images, consecutive frames side by side.

  The same face geometry from a raw frame and from a face-crop video: a raw
  frame's image is `face_area` around its largest face, which is the area a
  face-crop video's frame already shows, whole.

  Args:
    frames: [windows * num_frames, height, width, 3] uint8 RGB, window by
      window, as sampled at `frame_times`.
    detect: a frame -> its largest face box or None
      (`emojax.data.video.FaceDetector.detect`); not called on face crops.
    config: an `emojax.data.video.VideoConfig`.
    face_crop: whether the frames are a face-crop video's (`video.is_face_crop`).
  Returns:
    [windows, num_frames // 2, face_size, 2 * face_size, 3] uint8, image j of
    a window holding its frame 2j on the left and 2j + 1 on the right; and in
    how many frames a face was found (every face-crop frame counts).
  """
  if face_crop:
    areas, found = list(frames), len(frames)
  else:
    boxes = [detect(frame) for frame in frames]
    areas = [face_area(frame, box, config.face_region) for frame, box in zip(frames, boxes)]
    found = sum(box is not None for box in boxes)
  return pairs_side_by_side(np.stack([face_image(area, config.face_size) for area in areas]),
                            config), found


def pairs_side_by_side(images: np.ndarray, config) -> np.ndarray:
  """[windows * num_frames, size, size, 3] face images -> [windows, num_frames // 2,
  size, 2 * size, 3], image j of a window holding its frame 2j on the left and
  2j + 1 on the right."""
  size, pairs = config.face_size, config.num_frames // 2
  # [windows, pairs, 2, h, w, 3] -> [windows, pairs, h, 2 * w, 3].
  return images.reshape(-1, pairs, 2, size, size, 3).transpose(0, 1, 3, 2, 4, 5).reshape(
      -1, pairs, size, 2 * size, 3)
