"""Audio file -> fixed-size MFCC (or log-mel) matrix, the input of the audio network.

Audio files (.wav, .flac, .ogg) are read with soundfile; any other container
(.mp4, .mov, .avi, .mp3, .m4a, ...) has its audio track decoded with PyAV,
whose wheels bundle FFmpeg's libraries.
"""
import dataclasses
import os
from typing import Iterator

import av
import librosa
import numpy as np
import soundfile

from emojax.data import preprocess

# Read with soundfile (libsndfile); every other extension goes through PyAV.
_SOUNDFILE_EXTENSIONS = (".wav", ".flac", ".ogg")
# What a frame's rows hold: MFCCs (the study's), or log-mel band energies (dB).
FRAME_FEATURES = ("mfcc", "log_mel")


@dataclasses.dataclass(frozen=True)
class AudioConfig:
  """How a clip becomes MFCCs (or log-mel bands).

  Attributes:
    sample_rate: Hz the waveform is resampled to before the MFCCs.
    n_mfcc: MFCC coefficients per frame, or mel bands with `features="log_mel"`.
    n_fft: STFT window length in samples.
    hop_length: samples between MFCC frames.
    num_frames: MFCC frames kept per clip (128 frames at 22,050 Hz and hop 512
      are 2.97 s).
    crop: "centre" or "start": which frames `preprocess.fix_length` keeps or pads.
    normalise: whether each coefficient is standardised over the clip.
    features: "mfcc", or "log_mel": the mel power in dB (floored 80 dB below the
      clip's loudest, as librosa's MFCCs are), before the MFCCs' DCT.
    test_windows: windows a clip is evaluated on: 1, the training crop; k > 1, k
      windows of `num_frames` spread from the clip's start to its end
      (`preprocess.covering_offsets`), the network's outputs averaged over them.
  """
  sample_rate: int = 22050
  n_mfcc: int = 40
  n_fft: int = 2048
  hop_length: int = 512
  num_frames: int = 128
  crop: str = "centre"
  normalise: bool = False
  features: str = "mfcc"
  test_windows: int = 1

  def __post_init__(self):
    if self.features not in FRAME_FEATURES:
      raise ValueError(f"Unknown config.data.audio.features {self.features!r}; expected one "
                       f"of {FRAME_FEATURES}.")
    if self.test_windows < 1:
      raise ValueError(f"config.data.audio.test_windows={self.test_windows}: expected 1 (the "
                       "training crop) or more windows.")


class AudioError(Exception):
  """An audio file could not be read; the message names the file."""


def load_audio(path: str, sample_rate: int) -> np.ndarray:
  """Reads an audio file, or a video's audio track, as a mono waveform.

  .wav/.flac/.ogg are read with soundfile; other containers (.mp4, .mov, .avi,
  .mp3, .m4a, ...) have their first audio track decoded with PyAV. Either way
  the channels are downmixed by averaging and the rate is converted to
  `sample_rate` with soxr's very-high-quality resampler, as librosa.load does.
  A video's all-zero track is returned as zeros, not rejected: RAVDESS's
  video-only files carry one. An audio file of only zeros holds nothing.

  Args:
    path: the audio or video file.
    sample_rate: Hz of the returned waveform.
  Returns:
    [samples] float32 in [-1, 1].
  Raises:
    AudioError: naming `path`, if the file is missing, empty, unreadable,
      corrupt or truncated, has no audio track, its audio holds no samples or
      a non-finite one (NaN, inf), or it is an audio file of only zeros.
  """
  if os.path.isfile(path) and os.path.getsize(path) == 0:
    raise AudioError(f"{path}: the file is empty (0 bytes).")
  if os.path.splitext(path)[1].lower() in _SOUNDFILE_EXTENSIONS:
    samples, file_rate = _read_with_soundfile(path)
    holds_video = False
  else:
    samples, file_rate, holds_video = _decode_with_pyav(path)
  if samples.shape[1] == 0:
    raise AudioError(f"{path}: the file holds no audio samples.")
  _require_finite(path, samples)
  if not holds_video:
    require_sound(path, samples)
  return preprocess.to_mono_at_rate(samples, file_rate, sample_rate)


def _require_finite(path: str, samples: np.ndarray) -> None:
  """Raises AudioError naming `path` if a sample is NaN or infinite.

  Such a file is corrupt, and librosa would stop the whole run on it.
  """
  bad = np.size(samples) - np.count_nonzero(np.isfinite(samples))
  if bad:
    raise non_finite_error(path, bad, np.size(samples))


def non_finite_error(path: str, bad: int, total: int) -> AudioError:
  return AudioError(f"{path}: {bad} of {total} audio samples are not finite (NaN or "
                    "infinity); the file is corrupt.")


def require_sound(path: str, samples: np.ndarray) -> None:
  """Raises AudioError naming `path` if every sample is zero: digital silence,
  whose MFCCs are one constant and say nothing of an emotion."""
  if not np.any(samples):
    raise AudioError(f"{path}: every audio sample is zero (digital silence); there is "
                     "no sound to read.")


def _read_with_soundfile(path: str) -> tuple[np.ndarray, int]:
  """An audio file's samples at its own rate.

  Returns:
    ([channels, samples] float32, Hz).
  Raises:
    AudioError: naming `path`, if soundfile cannot open or decode it.
  """
  # soundfile directly rather than librosa.load: on a bad file librosa falls
  # back to the deprecated audioread, whose errors do not say what is wrong.
  try:
    samples, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
  except (soundfile.SoundFileError, OSError) as error:
    raise AudioError(f"{path}: cannot read audio: {error}") from error
  return samples.T, file_rate


def _decode_with_pyav(path: str) -> tuple[np.ndarray, int, bool]:
  """A container's first audio track, decoded at the track's own rate.

  Returns:
    ([channels, samples] float32, Hz, whether the container holds video);
    [1, 0] samples if the track decodes to nothing.
  Raises:
    AudioError: naming `path`, if the file cannot be opened or decoded, or has
      no audio track.
  """
  try:
    with av.open(path) as container:
      if not container.streams.audio:
        raise _missing_audio_error(path, container)
      samples, rate = _decode_track(container, container.streams.audio[0])
      return samples, rate, bool(container.streams.video)
  except (av.FFmpegError, OSError) as error:
    raise AudioError(f"{path}: cannot read audio: {error}") from error


def _missing_audio_error(path: str,
                         container: av.container.InputContainer) -> AudioError:
  """Why a container lists no audio stream: none recorded, or a cut header."""
  # An mp4 cut inside its header opens without error, listing only the
  # streams described before the cut and no media data: that is a broken
  # file, not a video without sound.
  if not any(packet.size for packet in container.demux()):
    return AudioError(f"{path}: cannot read audio: the container holds no "
                      "media data; it is truncated or corrupt.")
  kinds = ", ".join(stream.type for stream in container.streams)
  return AudioError(f"{path}: the file has no audio track (its streams: "
                    f"{kinds}).")


def _decode_track(container: av.container.InputContainer,
                  stream: av.audio.stream.AudioStream
                  ) -> tuple[np.ndarray, int]:
  """Decodes every frame of one audio stream to planar float32.

  Returns:
    ([channels, samples] float32, Hz); rate 0 and no samples if no frame
    decodes.
  """
  chunks = list(_track_chunks(container, stream))
  if not chunks:
    return np.zeros((1, 0), np.float32), 0
  return np.concatenate(chunks, axis=1), stream.rate


def _track_chunks(container: av.container.InputContainer,
                  stream: av.audio.stream.AudioStream) -> Iterator[np.ndarray]:
  """The stream's samples, decoded frame by frame: [channels, samples] float32 at its rate."""
  # Converts only the sample format (int16, packed, ...) to planar float; the
  # rate is left alone so that soxr in load_audio is the one resampler.
  to_float = av.AudioResampler(format="fltp")
  decoded = False
  for frame in container.decode(stream):
    decoded = True
    yield from (part.to_ndarray() for part in to_float.resample(frame))
  if decoded:
    yield from (part.to_ndarray() for part in to_float.resample(None))


def track_seconds(path: str) -> float | None:
  """The audio track's length as its header says, or None if it does not say.

  Raises:
    AudioError: naming `path`, if the file cannot be opened or has no audio track.
  """
  try:
    if os.path.splitext(path)[1].lower() in _SOUNDFILE_EXTENSIONS:
      info = soundfile.info(path)
      return info.frames / info.samplerate
    with av.open(path) as container:
      if not container.streams.audio:
        raise _missing_audio_error(path, container)
      stream = container.streams.audio[0]
      if stream.duration is not None:
        return float(stream.duration * stream.time_base)
      return None if container.duration is None else container.duration / av.time_base
  except (soundfile.SoundFileError, av.FFmpegError, OSError) as error:
    raise AudioError(f"{path}: cannot read audio: {error}") from error


def read_blocks(path: str) -> tuple[int, Iterator[np.ndarray]]:
  """The audio track block by block, not held whole: `load_audio`'s samples before
  downmixing and resampling, in order.

  Returns:
    The track's rate in Hz, and its [channels, samples] float32 blocks (a few
    seconds each).
  Raises:
    AudioError: naming `path`, if the file cannot be opened or decoded (while
      iterating, if decoding fails part-way), or has no audio track.
  """
  try:
    if os.path.splitext(path)[1].lower() in _SOUNDFILE_EXTENSIONS:
      rate = soundfile.info(path).samplerate
    else:
      with av.open(path) as container:
        if not container.streams.audio:
          raise _missing_audio_error(path, container)
        rate = container.streams.audio[0].rate
  except (soundfile.SoundFileError, av.FFmpegError, OSError) as error:
    raise AudioError(f"{path}: cannot read audio: {error}") from error
  return rate, _blocks(path)


# Samples per block of `read_blocks`: 2.7 s at 48 kHz. Decoded frames are
# joined up to this, since each block costs a mel filter bank downstream.
_BLOCK_SAMPLES = 1 << 17


def _blocks(path: str) -> Iterator[np.ndarray]:
  try:
    if os.path.splitext(path)[1].lower() in _SOUNDFILE_EXTENSIONS:
      for block in soundfile.blocks(path, blocksize=_BLOCK_SAMPLES, dtype="float32",
                                    always_2d=True):
        yield block.T
      return
    with av.open(path) as container:
      chunks, samples = [], 0
      for chunk in _track_chunks(container, container.streams.audio[0]):
        chunks.append(chunk)
        samples += chunk.shape[1]
        if samples >= _BLOCK_SAMPLES:
          yield np.concatenate(chunks, axis=1)
          chunks, samples = [], 0
      if chunks:
        yield np.concatenate(chunks, axis=1)
  except (soundfile.SoundFileError, av.FFmpegError, OSError) as error:
    raise AudioError(f"{path}: cannot read audio: {error}") from error


def mfcc(waveform: np.ndarray, config: AudioConfig) -> np.ndarray:
  """MFCCs of a waveform at `config.sample_rate`.

  Args:
    waveform: [samples] float32.
    config: the MFCC settings.
  Returns:
    [n_mfcc, frames] float32, frames = 1 + samples // hop_length.
  """
  features = librosa.feature.mfcc(
      y=waveform, sr=config.sample_rate, n_mfcc=config.n_mfcc,
      n_fft=config.n_fft, hop_length=config.hop_length)
  return features.astype(np.float32)


def frame_features(waveform: np.ndarray, config: AudioConfig) -> np.ndarray:
  """The audio network's input per frame, as `config.features` says.

  Returns:
    [n_mfcc, frames] float32: MFCCs (`mfcc`) or log-mel bands, frames = 1 + samples // hop_length.
  """
  if config.features == "mfcc":
    return mfcc(waveform, config)
  power = librosa.feature.melspectrogram(
      y=waveform, sr=config.sample_rate, n_fft=config.n_fft, hop_length=config.hop_length,
      n_mels=config.n_mfcc)
  return librosa.power_to_db(power).astype(np.float32)


def clip_waveform(path: str, config: AudioConfig) -> np.ndarray:
  """A training clip's waveform: `load_audio` at `config.sample_rate`, refused if silent.

  Raises:
    AudioError: naming `path`, if the file cannot be read or its audio (a
      video's track too) is all zeros.
  """
  waveform = load_audio(path, config.sample_rate)
  require_sound(path, waveform)  # A video's silent track is no training clip.
  return waveform


def training_window(features: np.ndarray, config: AudioConfig) -> np.ndarray:
  """[n_mfcc, num_frames] float32: the training window (`preprocess.CENTRED`) of a
  clip's `frame_features` [n_mfcc, frames]."""
  return preprocess.audio_windows(features, config)[0]


def test_windows(features: np.ndarray, config: AudioConfig) -> np.ndarray:
  """[test_windows, n_mfcc, num_frames] float32: the windows a clip's `frame_features`
  [n_mfcc, frames] are evaluated on, from its start to its end."""
  offsets = preprocess.covering_offsets(features.shape[1], config.num_frames,
                                        config.test_windows)
  return preprocess.audio_windows(features, config, offsets)


def audio_features(path: str, config: AudioConfig) -> np.ndarray:
  """The clip's MFCC matrix: load, MFCC, then the training window.

  Returns:
    [n_mfcc, num_frames] float32.
  Raises:
    AudioError: as `clip_waveform`.
  """
  return training_window(frame_features(clip_waveform(path, config), config), config)
