"""Audio file -> fixed-size MFCC matrix, the input of the audio network."""
import dataclasses
import os

import librosa
import numpy as np
import soundfile

_CONTAINER_EXTENSIONS = (".mp4", ".mov", ".avi")


@dataclasses.dataclass(frozen=True)
class AudioConfig:
  """How a clip becomes MFCCs.

  Attributes:
    sample_rate: Hz the waveform is resampled to before the MFCCs.
    n_mfcc: MFCC coefficients per frame.
    n_fft: STFT window length in samples.
    hop_length: samples between MFCC frames.
    num_frames: MFCC frames kept per clip (128 frames at 22,050 Hz and hop 512
      are 2.97 s).
    crop: "centre" or "start": which frames `fix_length` keeps or pads.
    normalise: whether each coefficient is standardised over the clip.
  """
  sample_rate: int = 22050
  n_mfcc: int = 40
  n_fft: int = 2048
  hop_length: int = 512
  num_frames: int = 128
  crop: str = "centre"
  normalise: bool = False


class AudioError(Exception):
  """An audio file could not be read; the message names the file."""


def load_audio(path: str, sample_rate: int) -> np.ndarray:
  """Reads an audio file as a mono waveform at `sample_rate`.

  Stereo is downmixed by averaging the channels and the rate is converted with
  soxr's very-high-quality resampler, as librosa.load does.

  Returns:
    [samples] float32 in [-1, 1].
  Raises:
    AudioError: naming `path`, if the file is missing, unreadable, corrupt or
      holds no samples, or is a video container (.mp4: decoding its audio
      track needs ffmpeg or PyAV, neither of which emojax installs yet).
  """
  if os.path.splitext(path)[1].lower() in _CONTAINER_EXTENSIONS:
    raise AudioError(
        f"{path}: cannot decode the audio track of a video container: that "
        "needs ffmpeg or PyAV, which are not installed. Use the clip's 03- "
        ".wav/.flac audio file instead.")
  # soundfile directly rather than librosa.load: on a bad file librosa falls
  # back to the deprecated audioread, whose errors do not say what is wrong.
  try:
    samples, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
  except (soundfile.SoundFileError, OSError) as error:
    raise AudioError(f"{path}: cannot read audio: {error}") from error
  if samples.shape[0] == 0:
    raise AudioError(f"{path}: the file holds no audio samples.")
  waveform = librosa.to_mono(samples.T)
  return librosa.resample(waveform, orig_sr=file_rate, target_sr=sample_rate,
                          res_type="soxr_vhq").astype(np.float32)


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


def audio_features(path: str, config: AudioConfig) -> np.ndarray:
  """The clip's MFCC matrix: load, MFCC, fix length, optionally normalise.

  Returns:
    [n_mfcc, num_frames] float32.
  Raises:
    AudioError: naming `path`, if the file cannot be read.
  """
  waveform = load_audio(path, config.sample_rate)
  features = fix_length(mfcc(waveform, config), config.num_frames, config.crop)
  if config.normalise:
    features = normalise_utterance(features)
  return features
