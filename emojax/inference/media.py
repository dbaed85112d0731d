"""What an input holds: a file or arrays -> a mono waveform and a video to sample.

Decoding is emojax.data's (`audio.load_audio`, `video.read_frames`), as in
training; this module decides which tracks there are, which the network reads,
and says why one is left out.
"""
import dataclasses
import functools
import os
from typing import Callable, Iterator

import av
import numpy as np

from emojax.data import audio as audio_lib
from emojax.data import preprocess
from emojax.data import video as video_lib

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov")
# A track whose peak stays below -80 dBFS (3 steps of 16-bit audio) holds no
# sound; RAVDESS video-only files carry an all-zero track.
_SILENT_PEAK = 1e-4
# A track longer than this is streamed (`AudioStream`) rather than loaded: a
# whole hour's waveform and STFT take gigabytes. Every RAVDESS clip is shorter,
# so training's clips take the loading path, bit for bit.
_WHOLE_TRACK_S = 60.0
_AU_NOTE = ("the network's visual input is facial action units, which cannot be extracted "
            "from video here (they come from OpenFace); the au heads are skipped")


def _reads_audio(modalities: tuple[str, ...]) -> bool:
  """Whether the network reads the waveform: its MFCCs or its acoustic functionals."""
  return bool({"audio", "acoustic"} & set(modalities))


class InputError(Exception):
  """One input cannot be predicted; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Video:
  """A video to sample: its length and how to get the frames shown at given times."""
  duration_s: float
  # [windows, n] seconds -> per window, [n, h, w, 3] uint8 RGB, as they are decoded.
  read: Callable[[np.ndarray], Iterator[np.ndarray]]
  face_crop: bool = False  # A face-crop video (emojax.data.video.is_face_crop).


@dataclasses.dataclass(frozen=True)
class AudioStream:
  """A long audio track, read again block by block at each use instead of held whole.

  Attributes:
    blocks: gives a fresh iterator over the track as `audio.load_audio` would give
      it (mono, at the network's rate), as [samples] float32 blocks in order.
    samples: how many samples the blocks hold in all.
    peak: the largest absolute sample.
    loudest: the largest mel power of any MFCC frame, which floors the whole
      clip's log-mel power (`preprocess.streamed_audio_windows`).
  """
  blocks: Callable[[], Iterator[np.ndarray]]
  samples: int
  peak: float
  loudest: float


@dataclasses.dataclass(frozen=True)
class Media:
  """The inputs of one clip that a network reads.

  Attributes:
    file: the input's path; None for arrays.
    waveform: [samples] float32 mono at the network's rate, or None (no audio
      track, silent, not read by the network, or streamed).
    stream: the audio track instead of `waveform` if it is longer than a minute.
    video: the frames to sample, or None.
    notes: why a modality was left out, for humans.
  """
  file: str | None
  waveform: np.ndarray | None
  video: Video | None
  notes: tuple[str, ...]
  stream: AudioStream | None = None


def from_file(path: str, audio_config: audio_lib.AudioConfig,
              modalities: tuple[str, ...]) -> Media:
  """The audio track (resampled to the config's rate; streamed if long) and video of
  `path` that `modalities` read.

  Raises:
    InputError: naming `path`, if it is missing, empty, of an unsupported type,
      or corrupt.
  """
  extension = os.path.splitext(path)[1].lower()
  if extension not in AUDIO_EXTENSIONS + VIDEO_EXTENSIONS:
    raise InputError(f"{path}: unsupported file type {extension or '(no extension)'!r}; "
                     f"expected one of {' '.join(AUDIO_EXTENSIONS + VIDEO_EXTENSIONS)}.")
  if not os.path.isfile(path):
    raise InputError(f"{path}: no such file.")
  if os.path.getsize(path) == 0:
    raise InputError(f"{path}: the file is empty.")
  notes = []
  try:
    tracks = _track_types(path) if extension in VIDEO_EXTENSIONS else {"audio"}
    waveform = stream = None
    if _reads_audio(modalities) and "audio" in tracks:
      seconds = audio_lib.track_seconds(path)
      if seconds is not None and seconds <= _WHOLE_TRACK_S:
        waveform = audio_lib.load_audio(path, audio_config.sample_rate)
      else:
        stream = _scan(path, audio_config, holds_video="video" in tracks)
    elif _reads_audio(modalities):
      notes.append("the file has no audio track; the audio heads are skipped")
    video = None
    if "image" in modalities and "video" in tracks:
      video = Video(video_lib.duration_s(path), functools.partial(_read_frames, path),
                    video_lib.is_face_crop(path))
    elif "image" in modalities and extension in VIDEO_EXTENSIONS:
      notes.append("the file has no video track; the image heads are skipped")
    elif "video" in tracks and "au" in modalities:
      notes.append(_AU_NOTE)
  except (audio_lib.AudioError, video_lib.VideoError) as error:
    raise InputError(str(error)) from error
  return _without_silence(Media(path, waveform, video, tuple(notes), stream))


def _scan(path: str, config: audio_lib.AudioConfig, holds_video: bool) -> AudioStream:
  """A long track as an `AudioStream`, read through once to measure it, with
  `audio_lib.load_audio`'s checks.

  Raises:
    AudioError: as `audio_lib.load_audio` does.
  """
  file_rate, _ = audio_lib.read_blocks(path)
  counts = {"file samples": 0, "finite": 0, "nonzero": 0, "samples": 0, "peak": 0.0}

  def checked(blocks):  # load_audio's checks, counted as the blocks go by.
    for block in blocks:
      counts["file samples"] += block.size
      counts["finite"] += np.count_nonzero(np.isfinite(block))
      counts["nonzero"] += np.count_nonzero(block)
      yield block

  def measured(waveform):
    for block in waveform:
      counts["samples"] += len(block)
      counts["peak"] = max(counts["peak"], float(np.abs(block).max(initial=0.0)))
      yield block

  def blocks():
    return preprocess.resampled_stream(audio_lib.read_blocks(path)[1], file_rate,
                                       config.sample_rate)

  waveform = measured(preprocess.resampled_stream(checked(audio_lib.read_blocks(path)[1]),
                                                  file_rate, config.sample_rate))
  loudest = max(float(power.max()) for power in preprocess.mel_power_frames(waveform, config))
  if not counts["file samples"]:
    raise audio_lib.AudioError(f"{path}: the file holds no audio samples.")
  if counts["finite"] < counts["file samples"]:
    raise audio_lib.non_finite_error(path, counts["file samples"] - counts["finite"],
                                     counts["file samples"])
  if not holds_video:
    audio_lib.require_sound(path, np.array([counts["nonzero"]]))  # Raises if that is 0.
  return AudioStream(blocks, counts["samples"], counts["peak"], loudest)


def from_arrays(audio: np.ndarray | None, frames: np.ndarray | None, sample_rate: int | None,
                fps: float | None, target_rate: int, modalities: tuple[str, ...],
                face_crop: bool = False) -> Media:
  """`from_file` for arrays: the audio downmixed and resampled as `audio_lib.load_audio` does.

  Args:
    audio: [samples] or [samples, channels] float waveform in [-1, 1], or None.
    frames: [frames, height, width, 3] uint8 RGB video frames, or None.
    sample_rate: Hz of `audio`; fps: frames per second of `frames`.
    target_rate: Hz the network's MFCCs are computed at.
    face_crop: whether `frames` are a face-crop video's, used whole, rather than
      frames in which to find the face.
  Raises:
    ValueError: if neither input is given, a rate is missing, or a shape is wrong.
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
  notes = []
  waveform = None
  if audio is not None and _reads_audio(modalities):
    waveform = preprocess.to_mono_at_rate(np.asarray(audio, np.float32).T, sample_rate,
                                          target_rate)
  video = None
  if frames is not None and "image" in modalities:
    frames = np.asarray(frames)
    video = Video(len(frames) / fps, functools.partial(_frames_at, frames, fps), face_crop)
  elif frames is not None and "au" in modalities:
    notes.append(_AU_NOTE)
  return _without_silence(Media(None, waveform, video, tuple(notes)))


def _without_silence(media: Media) -> Media:
  """`media` without its audio if that is silent, saying so."""
  if media.stream is not None:
    peak = media.stream.peak
  elif media.waveform is not None:
    peak = np.abs(media.waveform).max(initial=0.0)
  else:
    return media
  if peak >= _SILENT_PEAK:
    return media
  return dataclasses.replace(
      media, waveform=None, stream=None,
      notes=media.notes + ("the audio is silent; the audio heads are skipped",))


def _read_frames(path: str, times_s: np.ndarray) -> Iterator[np.ndarray]:
  """Each window's frames at `times_s` [windows, n] as training reads them
  (`video_lib.usable_frames`), its errors as InputError: frames are read after `from_file`."""
  try:
    yield from video_lib.usable_frames_by_window(path, times_s)
  except video_lib.VideoError as error:
    raise InputError(str(error)) from error


def _frames_at(frames: np.ndarray, fps: float, times_s: np.ndarray) -> Iterator[np.ndarray]:
  """`_read_frames` for [frames, h, w, 3] arrays at `fps`."""
  usable = functools.cache(lambda: np.array([not video_lib.is_blank(f) for f in frames]))
  for indices in preprocess.frame_indices(times_s, fps, len(frames)):
    yield video_lib.replace_blank_frames(frames[indices], indices, usable,
                                         lambda replacements: frames[replacements])[0]


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
