"""What an input holds: a file or arrays -> a mono waveform and a video to sample.

Decoding is emojax.data's (`audio.load_audio`, `video.read_frames`), as in
training; this module decides which tracks there are, which the network reads,
and says why one is left out.
"""
import dataclasses
import functools
import os
from typing import Callable

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
_AU_NOTE = ("the network's visual input is facial action units, which cannot be extracted "
            "from video here (they come from OpenFace); the au heads are skipped")


class InputError(Exception):
  """One input cannot be predicted; the message names the file."""


@dataclasses.dataclass(frozen=True)
class Video:
  """A video to sample: its length and how to get the frames shown at given times."""
  duration_s: float
  read: Callable[[np.ndarray], np.ndarray]  # [n] seconds -> [n, h, w, 3] uint8 RGB.


@dataclasses.dataclass(frozen=True)
class Media:
  """The inputs of one clip that a network reads.

  Attributes:
    file: the input's path; None for arrays.
    waveform: [samples] float32 mono at the network's rate, or None (no audio
      track, silent, or not read by the network).
    video: the frames to sample, or None.
    notes: why a modality was left out, for humans.
  """
  file: str | None
  waveform: np.ndarray | None
  video: Video | None
  notes: tuple[str, ...]


def from_file(path: str, sample_rate: int, modalities: tuple[str, ...]) -> Media:
  """The audio track (resampled to `sample_rate`) and video of `path` that `modalities` read.

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
    waveform = None
    if "audio" in modalities and "audio" in tracks:
      waveform = audio_lib.load_audio(path, sample_rate)
    elif "audio" in modalities:
      notes.append("the file has no audio track; the audio heads are skipped")
    video = None
    if "image" in modalities and "video" in tracks:
      video = Video(video_lib.duration_s(path), functools.partial(_read_frames, path))
    elif "image" in modalities and extension in VIDEO_EXTENSIONS:
      notes.append("the file has no video track; the image heads are skipped")
    elif "video" in tracks and "au" in modalities:
      notes.append(_AU_NOTE)
  except (audio_lib.AudioError, video_lib.VideoError) as error:
    raise InputError(str(error)) from error
  return _without_silence(Media(path, waveform, video, tuple(notes)))


def from_arrays(audio: np.ndarray | None, frames: np.ndarray | None, sample_rate: int | None,
                fps: float | None, target_rate: int, modalities: tuple[str, ...]) -> Media:
  """`from_file` for arrays: the audio downmixed and resampled as `audio_lib.load_audio` does.

  Args:
    audio: [samples] or [samples, channels] float waveform in [-1, 1], or None.
    frames: [frames, height, width, 3] uint8 RGB video frames, or None.
    sample_rate: Hz of `audio`; fps: frames per second of `frames`.
    target_rate: Hz the network's MFCCs are computed at.
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
  if audio is not None and "audio" in modalities:
    waveform = preprocess.to_mono_at_rate(np.asarray(audio, np.float32).T, sample_rate,
                                          target_rate)
  video = None
  if frames is not None and "image" in modalities:
    frames = np.asarray(frames)
    video = Video(len(frames) / fps, functools.partial(_frames_at, frames, fps))
  elif frames is not None and "au" in modalities:
    notes.append(_AU_NOTE)
  return _without_silence(Media(None, waveform, video, tuple(notes)))


def _without_silence(media: Media) -> Media:
  """`media` without its waveform if that is silent, saying so."""
  if media.waveform is None or np.abs(media.waveform).max(initial=0.0) >= _SILENT_PEAK:
    return media
  return dataclasses.replace(
      media, waveform=None,
      notes=media.notes + ("the audio is silent; the audio heads are skipped",))


def _read_frames(path: str, times_s: np.ndarray) -> np.ndarray:
  """The frames at `times_s` as training reads them (`video_lib.usable_frames`), its errors
  as InputError: frames are read after `from_file`."""
  try:
    return video_lib.usable_frames(path, times_s)[0]
  except video_lib.VideoError as error:
    raise InputError(str(error)) from error


def _frames_at(frames: np.ndarray, fps: float, times_s: np.ndarray) -> np.ndarray:
  """`_read_frames` for [frames, h, w, 3] arrays at `fps`."""
  indices = preprocess.frame_indices(times_s, fps, len(frames))
  return video_lib.replace_blank_frames(
      frames[indices], indices, lambda: np.array([not video_lib.is_blank(f) for f in frames]),
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
